// Standard base64 (RFC 4648, section 4) with padding: the JSON form of a
// bytes key part.

#ifndef KV_WORKER_BASE64_H_
#define KV_WORKER_BASE64_H_

#include <string>
#include <string_view>

namespace kv {

void AppendBase64(std::string_view bytes, std::string* out);

// Decodes padded base64 into *bytes. Returns false on any other input,
// including non-canonical trailing bits, so that each byte string has
// exactly one accepted spelling.
bool DecodeBase64(std::string_view text, std::string* bytes);

}  // namespace kv

#endif  // KV_WORKER_BASE64_H_
