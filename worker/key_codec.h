// Key codec: between a key's JSON wire form and its binary encoding.
//
// A key is a non-empty array of parts (docs/http-api.md gives the JSON form
// of each part type). The binary encoding is the FoundationDB tuple-layer
// subset that Deno KV uses; docs/key-encoding.md owns the type codes. It is
// injective and order-preserving: two keys are equal exactly when their
// encodings are, and byte order of encodings is key order.

#ifndef KV_WORKER_KEY_CODEC_H_
#define KV_WORKER_KEY_CODEC_H_

#include <boost/json/value.hpp>
#include <string>
#include <string_view>

#include "status.h"

namespace kv {

// Appends the encoding of `key` (a JSON array of parts) to `*out`.
// `what` names the key in error messages, e.g. "mutations[2].key".
// Fails with kInvalidKey or kKeyTooLarge; *out is then unspecified.
Status EncodeKey(const boost::json::value& key, std::string_view what,
                 std::string* out);

// Like EncodeKey, but also accepts the empty key: a list prefix of [] selects
// the whole store.
Status EncodeKeyPrefix(const boost::json::value& prefix, std::string_view what,
                       std::string* out);

// Appends the JSON wire form of the encoded key `encoded` to `*json`.
// Fails with kInternalError on bytes that EncodeKey cannot have produced.
Status AppendKeyJson(std::string_view encoded, std::string* json);

// OK when `encoded` is a key EncodeKey produces (KV Connect's clients send
// keys already encoded): a non-empty, canonical encoding within
// kMaxKeyBytes. Fails with kInvalidKey or kKeyTooLarge naming `what`.
Status CheckEncodedKey(std::string_view encoded, std::string_view what);

}  // namespace kv

#endif  // KV_WORKER_KEY_CODEC_H_
