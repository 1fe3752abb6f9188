// The store's limits, as worker/kv_limits.h sets them (docs/http-api.md lists
// them): the one place this client knows them.

export const MAX_KEYS_PER_GET = 100; // kMaxKeysPerGet
export const MAX_LIST_BATCH = 1000; // kMaxListLimit
export const MAX_KEYS_PER_WATCH = 10; // kMaxKeysPerWatch
export const MAX_MUTATIONS = 1000; // kMaxMutationsPerCommit
export const MAX_CHECKS = 100; // kMaxChecksPerCommit
export const MAX_REQUEST_BYTES = 2 * 1024 * 1024; // kMaxRequestBytes: one request body
export const MAX_KEY_BYTES = 2048; // kMaxKeyBytes: one encoded key (encodedKeyLength)
export const MAX_VALUE_BYTES = 16 * 1024; // kMaxValueBytes: one value as the core stores it (storedValueLength)
// kMaxCommitBytes: encoded key bytes plus stored value bytes of all checks and
// mutations of one commit (worker/model.cc, CheckCommitLimits).
export const MAX_COMMIT_BYTES = 800 * 1024;
// kMaxCommitKeyBytes: encoded key bytes of the mutations of one commit that
// write a value (set, sum, min, max), Deno KV's "total key size"
// (worker/model.cc, CheckCommitLimits). A versionstamped key counts without
// the part the store adds.
export const MAX_COMMIT_KEY_BYTES = 80 * 1024;
// A u64 counter is stored in 9 bytes (worker/counter.cc, EncodeCounter).
export const COUNTER_BYTES = 9;
// A Uint8Array or V8 value is stored as its bytes after 2 tag bytes
// (worker/stored_value.h, opaque := 0x01 encoding data).
export const OPAQUE_VALUE_OVERHEAD = 2;
// The largest counter value.
export const MAX_U64 = 2n ** 64n - 1n;
// Queues (docs/queues.md). The delay and backoff bounds are Deno KV's.
export const MAX_ENQUEUES = 100; // kMaxEnqueuesPerCommit
export const MAX_UNDELIVERED_KEYS = 10; // kMaxUndeliveredKeys: keysIfUndelivered of one message
export const MAX_QUEUE_DELAY_MS = 30 * 24 * 60 * 60 * 1000; // kMaxQueueDelayMs: 30 days
export const MAX_BACKOFF_INTERVALS = 5; // kMaxBackoffIntervals
export const MAX_BACKOFF_INTERVAL_MS = 60 * 60 * 1000; // kMaxBackoffIntervalMs: 1 hour
export const MAX_SETTLES = 64; // kMaxSettlesPerRequest
export const MAX_LISTEN_CONCURRENCY = 64; // kMaxQueueConcurrency
export const MIN_VISIBILITY_TIMEOUT_MS = 1_000; // kMinVisibilityTimeoutMs
export const MAX_VISIBILITY_TIMEOUT_MS = 900_000; // kMaxVisibilityTimeoutMs: 15 minutes
