// Bytes as text: standard base64 (RFC 4648, section 4) with padding, the
// JSON form of a bytes key part and of bytes values; and lowercase hex, the
// form of versions and token hashes.

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

// Appends two lowercase hex digits per byte.
void AppendHex(std::string_view bytes, std::string* out);

}  // namespace kv

#endif  // KV_WORKER_BASE64_H_
