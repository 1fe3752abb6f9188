// Stored values: the bytes of an entry's value column, one form for every
// wire format.
//
//   value    := json | counter | opaque
//   json     := compact UTF-8 JSON text (never starts with 0x00 or 0x01)
//   counter  := 0x00 uint64 (8 bytes, big-endian)        see counter.h
//   opaque   := 0x01 encoding data
//   encoding := 0x01 (V8: a V8-serialized value with no JSON form)
//             | 0x03 (bytes: a Uint8Array's raw bytes)
//
// The first byte tells the forms apart. A value Deno writes in V8's format
// is stored as JSON when it has a JSON form (v8_value.h), so both protocols
// read the same entry; only values with none (Date, Map, bigint, ...) keep
// their V8 bytes. kMaxValueBytes bounds the JSON text, or an opaque value's
// data.

#ifndef KV_WORKER_STORED_VALUE_H_
#define KV_WORKER_STORED_VALUE_H_

#include <string>
#include <string_view>

#include "status.h"

namespace kv {

enum class ValueForm { kJson, kCounter, kV8, kBytes };

// The form of a stored value (kJson for anything not tagged otherwise).
ValueForm FormOf(std::string_view stored);

// The stored form of opaque `data` (form kV8 or kBytes).
std::string EncodeOpaque(ValueForm form, std::string_view data);

// The data of a stored value of form kV8 or kBytes.
std::string_view OpaqueData(std::string_view stored);

// The stored form of a value Deno wrote in V8's format: its JSON text when
// it has a JSON form, else the bytes as they are. Refuses bytes that do not
// parse (kInvalidRequest) and a value past kMaxValueBytes; `what` names the
// value in errors.
Status StoreV8Value(std::string_view v8, std::string_view what,
                    std::string* stored);
// The stored form of raw bytes (a Uint8Array), refused past kMaxValueBytes.
Status StoreBytesValue(std::string_view bytes, std::string_view what,
                       std::string* stored);

}  // namespace kv

#endif  // KV_WORKER_STORED_VALUE_H_
