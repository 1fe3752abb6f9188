// Service: one HTTP-level request in, one response out.
//
// The Worker shim routes `/v1/<operation>` (and KV Connect's data path) to
// the store's Durable Object, which hands the operation, the caller's
// credential, the body and the time to Handle. Handle authenticates, decodes
// with the operation's wire format (json_request.h or kv_connect.h, both to
// model.h), runs the operation on the Store and encodes the answer in the
// same format: the JSON of docs/http-api.md, or KV Connect's protobuf with
// plain-text errors (docs/kv-connect.md).

#ifndef KV_WORKER_SERVICE_H_
#define KV_WORKER_SERVICE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "store.h"

namespace kv {

struct Request {
  // Store operations, authenticated by `credential`: "get", "set",
  // "delete", "atomic", "list", "count", "usage", "watch", and "peek" (the
  // store object re-reading a watch's keys, uncharged); KV Connect's
  // "kvc_snapshot_read", "kvc_atomic_write", "kvc_watch" and "kvc_peek".
  // Operations of the Worker itself, never routed from outside: "create",
  // "configure", "rotate", "retire", "stats", "purge", and "fold" (the store
  // object writing its deferred operations, store.h).
  std::string_view operation;
  std::string_view credential;  // SHA-256 of the caller's access token
  std::string_view body;        // JSON, or protobuf for KV Connect
  int64_t now_ms;               // the host's clock: expiry and usage months
  // Operations charged since the last fold, held by the host (store.h).
  uint64_t deferred_operations = 0;
  // The state row the host holds from its last committed request, or empty
  // to read it from storage (Store::Begin).
  std::string_view state_row;
  // The client's Idempotency-Key, or empty: a write ("set", "delete",
  // "atomic") with a key is applied once; a retry with the same key and
  // body gets the first answer (docs/http-api.md).
  std::string_view idempotency_key;
};

struct Response {
  int http_status = 200;
  std::string body;  // as the operation's wire format (see above)
  // Storage (or the core) failed: the host must roll the transaction back.
  bool failed = false;
  // For the RateLimit-* headers of an authenticated request to a limited
  // store.
  std::optional<QuotaReport> quota;
  // When set, the host should wake the store at this time (an alarm) to
  // purge expired entries.
  std::optional<int64_t> wake_at_ms;
  // The answer is the kept outcome of an earlier request with the same
  // Idempotency-Key: nothing was applied.
  bool replayed = false;
  // What the host holds from now on, once its transaction has committed:
  // operations charged and not yet written to the state row.
  uint64_t deferred_operations = 0;
  // What the host holds from now on, once its transaction has committed:
  // the state row as storage then holds it (Store::state_row), or empty
  // when the request got no further than loading it.
  std::string state_row;
};

// When the response is `failed`, the host must roll back.
Response Handle(Store* store, const Request& request);

}  // namespace kv

#endif  // KV_WORKER_SERVICE_H_
