// Cursors: the opaque strings that resume a list or count of the JSON API.
//
//   cursor := base64url-unpadded( tag (4 bytes, big-endian) last_key )
//
// `tag` is the selector's (SelectorTag), so a cursor resumes only the
// selector it came from; `last_key` is the encoded key it resumes after.
// Store knows nothing of them: it returns the last key, and the JSON layer
// mints the cursor.

#ifndef KV_WORKER_CURSOR_H_
#define KV_WORKER_CURSOR_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "model.h"

namespace kv {

// Identifies the range [lower, upper) of a selector as the user gave it.
uint32_t SelectorTag(std::string_view lower, std::string_view upper);

// The cursor that resumes `selector` after the key `last`.
std::string MakeCursor(const Selector& selector, std::string_view last);

// Reads a cursor of MakeCursor into *last; true when it belongs to
// `selector` and its key lies inside the selector's range.
bool ParseCursor(std::string_view cursor, const Selector& selector,
                 std::string* last);

}  // namespace kv

#endif  // KV_WORKER_CURSOR_H_
