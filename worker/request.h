// Request decoding: from an HTTP body to a validated, encoded request.
//
// This is the one place where requests are checked against kv_limits.h. A
// decoded request holds encoded keys and compact JSON values, ready for
// Store; anything wrong anywhere in the body fails the whole decode, so a
// bad request never reaches storage.

#ifndef KV_WORKER_REQUEST_H_
#define KV_WORKER_REQUEST_H_

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
  enum class Type { kSet, kDelete };
  Type type;
  std::string key;    // encoded
  std::string value;  // compact JSON, for kSet
};

struct CommitRequest {
  std::vector<Check> checks;
  std::vector<Mutation> mutations;
};

// Credential configuration of a store (an internal request from the Worker).
struct CredentialRequest {
  std::string credential;  // raw bytes of the access token's SHA-256
};

// Each decoder parses `body` (JSON text) for one route.
Status DecodeGet(std::string_view body, ReadRequest* request);
Status DecodeSet(std::string_view body, CommitRequest* request);
Status DecodeDelete(std::string_view body, CommitRequest* request);
Status DecodeAtomic(std::string_view body, CommitRequest* request);
Status DecodeSetCredential(std::string_view body, CredentialRequest* request);

}  // namespace kv

#endif  // KV_WORKER_REQUEST_H_
