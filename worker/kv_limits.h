// Every limit the store enforces, in one place.
//
// Each limit is checked once, where a request is decoded (json_request.cc or
// kv_connect.cc), and
// each has its own error code (status.h) whose message states the limit and
// the size seen. docs/http-api.md lists them for users.

#ifndef KV_WORKER_KV_LIMITS_H_
#define KV_WORKER_KV_LIMITS_H_

#include <array>
#include <cstddef>
#include <cstdint>

namespace kv {

// Bytes of one request body.
constexpr size_t kMaxRequestBytes = 2 * 1024 * 1024;
// Levels of array/object nesting in one request body.
constexpr int kMaxJsonDepth = 64;
// Bytes of one encoded key (docs/key-encoding.md).
constexpr size_t kMaxKeyBytes = 2048;
// Bytes of one bigint key part's magnitude (the encoding has a 1-byte length).
constexpr size_t kMaxBigIntBytes = 255;
// Bytes of one value as compact UTF-8 JSON.
constexpr size_t kMaxValueBytes = 16 * 1024;
// Keys read by one get.
constexpr size_t kMaxKeysPerGet = 100;
// Keys of one watch.
constexpr size_t kMaxKeysPerWatch = 10;
// Open watches of one store. A store has one access token at a time and the
// watches of a rotated token end at once, so this is also the per-token cap.
constexpr size_t kMaxWatchesPerStore = 64;
// A watch stream is closed after this long; the client reconnects.
constexpr int64_t kWatchLifetimeMs = 15 * 60 * 1000;
// A watcher that has not taken its pending event for this long is dropped.
constexpr int64_t kWatchStallMs = 15 * 1000;
// An idle watch is sent a keep-alive comment this often: the runtime learns
// that a client went away only by writing to it, so a dead watcher is gone
// within kWatchHeartbeatMs + kWatchStallMs.
constexpr int64_t kWatchHeartbeatMs = 10 * 1000;
// Checks in one atomic commit.
constexpr size_t kMaxChecksPerCommit = 100;
// Mutations in one atomic commit.
constexpr size_t kMaxMutationsPerCommit = 1000;
// Key and value bytes of all checks and mutations of one commit.
constexpr size_t kMaxCommitBytes = 800 * 1024;
// Key bytes of the mutations of one commit that write a value (Deno KV's
// "total key size").
constexpr size_t kMaxCommitKeyBytes = 80 * 1024;
// KV Connect's snapshot read: ranges in one read, entries over all of its
// ranges (Deno KV's limits), key and value bytes over all of them as stored,
// and bytes of its answer (V8's form of a value can take 4.5 times its JSON:
// [0.5,0,0,...] is all doubles): its ranges have no cursors, so a read past
// either is refused, never cut short.
constexpr size_t kMaxReadRanges = 10;
constexpr size_t kMaxReadEntries = 1000;
constexpr size_t kMaxSnapshotReadBytes = 3 * 1024 * 1024;
constexpr size_t kMaxSnapshotReadAnswerBytes = 10 * 1024 * 1024;
// Bytes of a range bound: a key plus the 0x00 or 0xFF a selector appends.
constexpr size_t kMaxRangeKeyBytes = kMaxKeyBytes + 1;
// Entries returned by one list request, and the default.
constexpr size_t kMaxListLimit = 1000;
constexpr size_t kDefaultListLimit = 100;
// Key and value bytes of one list page: a page ends with the entry that
// brings it to this many (it holds at least one entry, whatever its size),
// and carries a cursor to the rest.
constexpr size_t kMaxListPageBytes = 1024 * 1024;
// Entries one count request scans; past them it answers with a cursor, so
// one request never holds the store's object for long.
constexpr size_t kMaxCountScanEntries = 100000;
// Bytes of any response the core builds. The page bounds above keep every
// response far below it (a list page is at most about 8 MiB with 2 KiB keys
// of control characters, and a snapshot read's answer is bounded on its
// own); a response past it is a bug, refused as one.
constexpr size_t kMaxResponseBytes = 12 * 1024 * 1024;
// Expired entries deleted by one purge transaction, and purge transactions
// run by one alarm before it yields to requests and wakes itself again.
constexpr size_t kPurgeBatchEntries = 500;
constexpr int kPurgeBatchesPerAlarm = 20;
// Delay before an alarm whose purge failed tries again.
constexpr int64_t kPurgeRetryMs = 10 * 1000;
// Lifetime given by expireIn, in milliseconds: about 100 years.
constexpr int64_t kMaxExpireInMs = int64_t{36525} * 24 * 3600 * 1000;
// The largest integer JSON clients (JavaScript) read exactly: 2^53 - 1.
constexpr int64_t kMaxSafeInteger = (int64_t{1} << 53) - 1;

// Idempotent writes (the Idempotency-Key header): how long and how many
// outcomes a store keeps, and a key's length (characters of
// [A-Za-z0-9_-]). A retry within both bounds is answered the first
// outcome; past them it would be applied again.
constexpr int64_t kIdempotencyWindowMs = 24 * 3600 * 1000;
constexpr int64_t kMaxIdempotencyKeys = 10000;
constexpr size_t kMaxIdempotencyKeyBytes = 64;

// Queues (docs/queues.md). Deno KV's limits: a message's delay, and its
// backoff schedule's intervals and their length; and Deno's default
// schedule. Ours: messages per commit, keysIfUndelivered per message,
// messages a store holds, a listener's window and visibility timeout, and
// listeners per store.
constexpr int64_t kMaxQueueDelayMs = int64_t{30} * 24 * 3600 * 1000;
constexpr size_t kMaxBackoffIntervals = 5;
constexpr uint32_t kMaxBackoffIntervalMs = 3600 * 1000;
constexpr std::array<uint32_t, 5> kDefaultBackoffSchedule = {100, 1000, 5000,
                                                             30000, 60000};
constexpr size_t kMaxEnqueuesPerCommit = 100;
constexpr size_t kMaxUndeliveredKeys = 10;
constexpr uint64_t kMaxQueuedMessages = 100000;
constexpr size_t kMaxQueueConcurrency = 64;
constexpr size_t kDefaultQueueConcurrency = 8;
constexpr int64_t kMinVisibilityTimeoutMs = 1000;
constexpr int64_t kMaxVisibilityTimeoutMs = 15 * 60 * 1000;
constexpr int64_t kDefaultVisibilityTimeoutMs = 30 * 1000;
constexpr size_t kMaxQueueListenersPerStore = 32;
// Messages settled by one settle request.
constexpr size_t kMaxSettlesPerRequest = 64;
// Expired leases one lease call turns into retries or dead letters before
// it leases anything (the rest wait for the next call).
constexpr size_t kLeaseExpiryBatch = 100;

// Quotas of a new store: the free tier. Operators raise them per store.
constexpr uint64_t kFreeTierOpsPerMonth = 10000;
constexpr uint64_t kFreeTierStorageBytes = 10 * 1024 * 1024;
// A count costs one operation per this many entries counted (at least one).
constexpr uint64_t kEntriesPerCountOperation = 1000;
// What a request the store refuses for a client mistake (bad JSON, a key too
// large, a failed decode) costs: decoding it took the store's time. A
// refusal for the quota itself costs nothing.
constexpr uint64_t kRefusedRequestOperations = 1;
// Reads write nothing: their operations are counted in the store object's
// memory and written by the next write, or by a fold at most this long
// after the first one not yet written (an alarm). It bounds what a killed
// object can lose: the reads of one interval (docs/reliability.md).
constexpr int64_t kUsageFoldIntervalMs = 10 * 1000;

// Daily usage: the days `usage` reports (today included), and the days of
// rows kept, enough to find the row before the first reported day in its
// month (a day's operations are its month's count less that row's).
constexpr int64_t kDailyUsageDays = 30;
constexpr int64_t kDailyUsageDaysKept = 62;

// The Worker's authentication caches, per isolate: token hashes remembered
// (known and unknown), how long an unknown one is remembered, and how long
// an address told 429 is refused without a look-up. The rates themselves are
// wrangler.toml's rate-limit bindings (AUTH_FAILURES, DIRECTORY_LOOKUPS).
constexpr size_t kAuthCachedTokens = 10000;
constexpr int64_t kUnknownTokenTtlMs = 60 * 1000;
constexpr int64_t kAuthBlockMs = 60 * 1000;

}  // namespace kv

#endif  // KV_WORKER_KV_LIMITS_H_
