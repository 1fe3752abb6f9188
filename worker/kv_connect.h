// KV Connect's data path: Deno's own protocol for remote KV databases
// (denoland/denokv proto/kv-connect.md, protocol versions 1 to 3), one wire
// format at the edge of the core beside the JSON API.
//
// Each operation decodes its protobuf body (com.deno.kv.datapath, parsed
// with protozero) into the neutral model (model.h), runs it on the Store,
// and encodes the answer in protobuf. Values cross in Deno's encodings:
// VE_V8 (V8-serialized; a value with a JSON form is stored as JSON, see
// v8_value.h), VE_LE64 (a KvU64: the store's counter) and VE_BYTES (a
// Uint8Array). docs/kv-connect.md lists what differs from Deno Deploy.
//
// Errors are Status values like the JSON API's; the service answers them
// in plain text, as the protocol asks.

#ifndef KV_WORKER_KV_CONNECT_H_
#define KV_WORKER_KV_CONNECT_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "model.h"
#include "status.h"
#include "store.h"

namespace kv {
namespace kv_connect {

// SnapshotRead: one list request per range, each a whole page (model.h).
Status DecodeSnapshotRead(std::string_view body,
                          std::vector<ListRequest>* ranges);
// AtomicWrite: checks, mutations and enqueues; `now_ms` turns an absolute
// expire_at_ms into a lifetime, and an enqueue's deadline_ms into a delay.
Status DecodeAtomicWrite(std::string_view body, int64_t now_ms,
                         CommitRequest* request);
// Watch: 1 to kMaxKeysPerWatch keys.
Status DecodeWatch(std::string_view body, ReadRequest* request);

// The operations: each decodes `body` and appends its answer to *out. A
// snapshot read answers SnapshotReadOutput, an atomic write
// AtomicWriteOutput, and a watch one frame of its stream: a 4-byte
// little-endian length, then a WatchOutput reporting every key as changed
// (the host sends a frame only when it differs from the last one sent).
Status SnapshotRead(Store* store, std::string_view body, std::string* out);
Status AtomicWrite(Store* store, std::string_view body, int64_t now_ms,
                   std::string* out, CommitResult* result);
Status Watch(Store* store, std::string_view body, bool charge,
             std::string* out);

}  // namespace kv_connect
}  // namespace kv

#endif  // KV_WORKER_KV_CONNECT_H_
