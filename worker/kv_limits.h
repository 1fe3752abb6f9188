// Every limit the store enforces, in one place.
//
// Each limit is checked once, where a request is decoded (request.cc), and
// each has its own error code (status.h) whose message states the limit and
// the size seen. docs/http-api.md lists them for users.

#ifndef KV_WORKER_KV_LIMITS_H_
#define KV_WORKER_KV_LIMITS_H_

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
// Checks in one atomic commit.
constexpr size_t kMaxChecksPerCommit = 100;
// Mutations in one atomic commit.
constexpr size_t kMaxMutationsPerCommit = 1000;
// Key and value bytes of all checks and mutations of one commit.
constexpr size_t kMaxCommitBytes = 800 * 1024;
// Entries returned by one list request, and the default.
constexpr size_t kMaxListLimit = 1000;
constexpr size_t kDefaultListLimit = 100;
// Lifetime given by expireIn, in milliseconds: about 100 years.
constexpr int64_t kMaxExpireInMs = int64_t{36525} * 24 * 3600 * 1000;
// The largest integer JSON clients (JavaScript) read exactly: 2^53 - 1.
constexpr int64_t kMaxSafeInteger = (int64_t{1} << 53) - 1;

// Quotas of a new store: the free tier. Operators raise them per store.
constexpr uint64_t kFreeTierOpsPerMonth = 10000;
constexpr uint64_t kFreeTierStorageBytes = 10 * 1024 * 1024;
// A count costs one operation per this many entries counted (at least one).
constexpr uint64_t kEntriesPerCountOperation = 1000;

}  // namespace kv

#endif  // KV_WORKER_KV_LIMITS_H_
