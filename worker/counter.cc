#include "counter.h"

namespace kv {

constexpr size_t kCounterBytes = 9;

std::string EncodeCounter(uint64_t value) {
  std::string stored(1, '\0');
  for (int shift = 56; shift >= 0; shift -= 8) {
    stored.push_back(static_cast<char>(value >> shift));
  }
  return stored;
}

bool DecodeCounter(std::string_view stored, uint64_t* value) {
  if (stored.size() != kCounterBytes || stored[0] != '\0') return false;
  *value = 0;
  for (size_t i = 1; i < kCounterBytes; ++i) {
    *value = *value << 8 | static_cast<uint8_t>(stored[i]);
  }
  return true;
}

bool ParseU64(std::string_view text, uint64_t* value) {
  if (text.empty() || text.size() > 20 || (text[0] == '0' && text.size() > 1)) {
    return false;
  }
  *value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
    const uint64_t digit = static_cast<uint64_t>(c - '0');
    if (*value > (UINT64_MAX - digit) / 10) return false;  // overflow
    *value = *value * 10 + digit;
  }
  return true;
}

}  // namespace kv
