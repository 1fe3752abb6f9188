// The neutral request model: what every wire format decodes into.
//
// The JSON API (json_request.h) and KV Connect's protobuf (kv_connect.h) are
// decoders at the edge of the core; each turns its bytes into these types,
// validated against kv_limits.h, and Store (store.h) runs them knowing
// neither format. Keys are encoded (docs/key-encoding.md); values are in
// their stored form (stored_value.h).

#ifndef KV_WORKER_MODEL_H_
#define KV_WORKER_MODEL_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kv_limits.h"
#include "status.h"

namespace kv {

struct ReadRequest {
  std::vector<std::string> keys;  // encoded
};

struct Check {
  std::string key;                     // encoded
  std::optional<std::string> version;  // 20 hex digits; nullopt: no entry
};

struct Mutation {
  // kSum, kMin and kMax apply a u64 operand to a counter (counter.h).
  enum class Type { kSet, kDelete, kSum, kMin, kMax };
  Type type;
  std::string key;    // encoded
  std::string value;  // stored form (stored_value.h): the value, or operand
  // For kSet: lifetime from the request's time, if limited. 0 or less: the
  // entry is written already expired (KV Connect's past deadlines).
  std::optional<int64_t> expire_in_ms;
  // For kSet: the key written is `key` plus one string part, the commit's
  // version (kVersionstampSuffixBytes more bytes), as Deno KV's versionstamped
  // keys are.
  bool versionstamped_key = false;
};

// A message for the store's queue (queue.h), enqueued only if its commit
// succeeds.
struct Enqueue {
  std::string value;     // stored form (stored_value.h): JSON, bytes or V8
  int64_t delay_ms = 0;  // 0 to kMaxQueueDelayMs
  std::vector<std::string> keys_if_undelivered;  // encoded
  // Milliseconds before each retry; its length is the number of retries.
  std::vector<uint32_t> backoff_schedule{kDefaultBackoffSchedule.begin(),
                                         kDefaultBackoffSchedule.end()};
};

struct CommitRequest {
  std::vector<Check> checks;
  std::vector<Mutation> mutations;
  std::vector<Enqueue> enqueues;
};

// Bytes a versionstamped key gains: a string part of 20 hex digits
// (0x02, the digits, 0x00).
constexpr size_t kVersionstampSuffixBytes = 22;

// Checks the limits every commit shares, whichever format it came in:
// kMaxCommitBytes over all keys and values, kMaxCommitKeyBytes over the keys
// of valued mutations. (Counts and per-key limits are checked as decoded.)
// Enqueued values and their keysIfUndelivered count toward kMaxCommitBytes.
Status CheckCommitLimits(const CommitRequest& request);

// A queue listener's window: the messages it holds unsettled at once, and
// how long it has to settle each (its visibility timeout).
struct ListenRequest {
  size_t concurrency = kDefaultQueueConcurrency;
  int64_t visibility_ms = kDefaultVisibilityTimeoutMs;
};

// A listener's answer for delivery `delivery` of message `id`.
struct Settle {
  int64_t id = 0;
  int64_t delivery = 0;
  bool ok = false;
};

// Checks an enqueue's options against Deno KV's limits (kv_limits.h):
// the delay, the backoff schedule's length and intervals, and the count of
// keysIfUndelivered. `what` names the enqueue in errors ("enqueues[2]").
// (Its value and keys are checked as decoded.)
Status CheckEnqueue(const Enqueue& enqueue, std::string_view what);

// A key range: encoded keys k with lower <= k < upper. `tag` identifies the
// selector as the user gave it, so a cursor can be tied to it (cursor.h).
struct Selector {
  std::string lower;
  std::string upper;
  uint32_t tag = 0;
};

// A count of `selector`, resumed after the key `after` when it is set.
struct CountRequest {
  Selector selector;
  std::optional<std::string> after;  // the last key counted before
};

struct ListRequest {
  Selector selector;
  size_t limit = 0;
  bool reverse = false;
  bool keys_only = false;
  std::optional<std::string> after;  // the last key returned before
  // Key and value bytes after which a page ends early (with a resume key).
  size_t max_page_bytes = kMaxListPageBytes;
  // For formats without cursors (KV Connect's ranges): a page that the
  // quota or max_page_bytes would end early is refused instead, since a
  // short page would read as the end of the range.
  bool whole_page = false;
};

// Limits of a store; nullopt means unlimited.
struct Limits {
  std::optional<uint64_t> ops_per_month;
  std::optional<uint64_t> storage_bytes;
};

// Settings the Worker gives a store (internal operations). Each field that
// is absent stays as it is.
struct SettingsRequest {
  std::optional<std::string> credential;  // raw SHA-256 bytes
  std::optional<std::optional<uint64_t>> ops_per_month;
  std::optional<std::optional<uint64_t>> storage_bytes;
};

}  // namespace kv

#endif  // KV_WORKER_MODEL_H_
