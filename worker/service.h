// Service: one HTTP-level request in, one response out.
//
// The Worker shim routes `POST /v1/<operation>` to the store's Durable
// Object, which hands the operation name, the caller's credential and the
// body to Handle. Handle authenticates, decodes (request.h), runs the
// operation on the Store and writes the JSON response of docs/http-api.md.

#ifndef KV_WORKER_SERVICE_H_
#define KV_WORKER_SERVICE_H_

#include <string>
#include <string_view>

#include "store.h"

namespace kv {

struct Response {
  int http_status;
  std::string body;  // JSON
};

// Operations: "get", "set", "delete", "atomic" (authenticated by
// `credential`, the SHA-256 of the caller's access token) and
// "set_credential" (internal: the Worker sets a store's token hash; it is
// never routed from outside).
// A 5xx response means storage failed: the host must roll back.
Response Handle(Store* store, std::string_view operation,
                std::string_view credential, std::string_view body);

}  // namespace kv

#endif  // KV_WORKER_SERVICE_H_
