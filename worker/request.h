// Request decoding: from an HTTP body to a validated, encoded request.
//
// This is the one place where requests are checked against kv_limits.h. A
// decoded request holds encoded keys and compact JSON values, ready for
// Store; anything wrong anywhere in the body fails the whole decode, so a
// bad request never reaches storage.

#ifndef KV_WORKER_REQUEST_H_
#define KV_WORKER_REQUEST_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

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
  std::string value;  // stored form (counter.h): the value, or the operand
  std::optional<int64_t> expire_in_ms;  // for kSet: lifetime, if limited
};

struct CommitRequest {
  std::vector<Check> checks;
  std::vector<Mutation> mutations;
};

// A key range: encoded keys k with lower <= k < upper. `tag` identifies the
// selector as the user gave it, so a cursor can be tied to it.
struct Selector {
  std::string lower;
  std::string upper;
  uint32_t tag = 0;
};

// A count of `selector`, resumed after the key `after` when it is set.
struct CountRequest {
  Selector selector;
  std::optional<std::string> after;  // from a cursor: the last key counted
};

struct ListRequest {
  Selector selector;
  size_t limit = 0;
  bool reverse = false;
  bool keys_only = false;
  std::optional<std::string> after;  // from a cursor: the last key returned
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

// Each decoder parses `body` (JSON text) for one route.
Status DecodeGet(std::string_view body, ReadRequest* request);
Status DecodeWatch(std::string_view body, ReadRequest* request);
Status DecodeSet(std::string_view body, CommitRequest* request);
Status DecodeDelete(std::string_view body, CommitRequest* request);
Status DecodeAtomic(std::string_view body, CommitRequest* request);
Status DecodeList(std::string_view body, ListRequest* request);
Status DecodeCount(std::string_view body, CountRequest* request);
Status DecodeSettings(std::string_view body, SettingsRequest* request);

// The opaque cursor that resumes `selector` after the key `last`.
std::string MakeCursor(const Selector& selector, std::string_view last);

}  // namespace kv

#endif  // KV_WORKER_REQUEST_H_
