// The JSON API's decoders: from a request body (docs/http-api.md) to the
// neutral request model (model.h), checked against kv_limits.h.
//
// A decoded request holds encoded keys and stored values, ready for Store;
// anything wrong anywhere in the body fails the whole decode, so a bad
// request never reaches storage. KV Connect's decoders (kv_connect.h)
// produce the same types.

#ifndef KV_WORKER_JSON_REQUEST_H_
#define KV_WORKER_JSON_REQUEST_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "model.h"
#include "status.h"

namespace kv {

// Each decoder parses `body` (JSON text) for one route.
Status DecodeGet(std::string_view body, ReadRequest* request);
Status DecodeWatch(std::string_view body, ReadRequest* request);
Status DecodeSet(std::string_view body, CommitRequest* request);
Status DecodeDelete(std::string_view body, CommitRequest* request);
Status DecodeAtomic(std::string_view body, CommitRequest* request);
Status DecodeList(std::string_view body, ListRequest* request);
Status DecodeCount(std::string_view body, CountRequest* request);
Status DecodeSettings(std::string_view body, SettingsRequest* request);
// The queue's routes (docs/queues.md); DecodeLease reads the host's own
// lease request, {"max": 0 to kMaxQueueConcurrency, "visibilityTimeout"}.
Status DecodeListen(std::string_view body, ListenRequest* request);
Status DecodeLease(std::string_view body, ListenRequest* request);
Status DecodeSettle(std::string_view body, std::vector<Settle>* request);

}  // namespace kv

#endif  // KV_WORKER_JSON_REQUEST_H_
