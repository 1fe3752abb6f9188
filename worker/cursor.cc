#include "cursor.h"

#include "base64.h"

namespace kv {

uint32_t SelectorTag(std::string_view lower, std::string_view upper) {
  uint32_t hash = 2166136261u;  // FNV-1a
  auto mix = [&hash](std::string_view bytes) {
    for (char c : bytes) {
      hash = (hash ^ static_cast<uint8_t>(c)) * 16777619u;
    }
  };
  mix(lower);
  mix(std::string_view("\xff\xff", 2));  // cannot occur inside a key
  mix(upper);
  return hash;
}

std::string MakeCursor(const Selector& selector, std::string_view last) {
  std::string raw;
  for (int shift = 24; shift >= 0; shift -= 8) {
    raw.push_back(static_cast<char>(selector.tag >> shift));
  }
  raw.append(last);
  std::string cursor;
  AppendBase64(raw, &cursor);
  // URL-safe and unpadded, so it can sit in a query string as it is.
  while (!cursor.empty() && cursor.back() == '=') cursor.pop_back();
  for (char& c : cursor) c = c == '+' ? '-' : c == '/' ? '_' : c;
  return cursor;
}

bool ParseCursor(std::string_view cursor, const Selector& selector,
                 std::string* last) {
  std::string text(cursor);
  for (char& c : text) {
    if (c == '+' || c == '/' || c == '=') return false;
    c = c == '-' ? '+' : c == '_' ? '/' : c;
  }
  text.append((4 - text.size() % 4) % 4, '=');
  std::string raw;
  if (!DecodeBase64(text, &raw) || raw.size() < 5) return false;
  uint32_t tag = 0;
  for (int i = 0; i < 4; ++i) tag = tag << 8 | static_cast<uint8_t>(raw[i]);
  *last = raw.substr(4);
  return tag == selector.tag && *last >= selector.lower &&
         *last < selector.upper;
}

}  // namespace kv
