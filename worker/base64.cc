#include "base64.h"

#include <cstdint>

namespace kv {
namespace {

constexpr char kAlphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int SextetOf(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

}  // namespace

void AppendBase64(std::string_view bytes, std::string* out) {
  size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const uint32_t group = (uint8_t(bytes[i]) << 16) |
                           (uint8_t(bytes[i + 1]) << 8) | uint8_t(bytes[i + 2]);
    for (int shift = 18; shift >= 0; shift -= 6) {
      out->push_back(kAlphabet[(group >> shift) & 63]);
    }
  }
  const size_t rest = bytes.size() - i;
  if (rest == 0) return;
  uint32_t group = uint8_t(bytes[i]) << 16;
  if (rest == 2) group |= uint8_t(bytes[i + 1]) << 8;
  out->push_back(kAlphabet[(group >> 18) & 63]);
  out->push_back(kAlphabet[(group >> 12) & 63]);
  out->push_back(rest == 2 ? kAlphabet[(group >> 6) & 63] : '=');
  out->push_back('=');
}

bool DecodeBase64(std::string_view text, std::string* bytes) {
  if (text.size() % 4 != 0) return false;
  bytes->clear();
  for (size_t i = 0; i < text.size(); i += 4) {
    const bool last = i + 4 == text.size();
    const int padding = last ? (text[i + 3] == '=') + (text[i + 2] == '=') : 0;
    if (padding == 1 && text[i + 2] == '=') return false;  // "x=y=" form
    uint32_t group = 0;
    for (int j = 0; j < 4; ++j) {
      const int sextet = j >= 4 - padding ? 0 : SextetOf(text[i + j]);
      if (sextet < 0) return false;
      group = (group << 6) | static_cast<uint32_t>(sextet);
    }
    const int emitted = 3 - padding;
    // Bits below the emitted bytes must be zero to be canonical.
    if ((group & ((1u << (8 * padding)) - 1)) != 0) return false;
    for (int j = 0; j < emitted; ++j) {
      bytes->push_back(static_cast<char>(group >> (16 - 8 * j)));
    }
  }
  return true;
}

void AppendHex(std::string_view bytes, std::string* out) {
  static constexpr char kDigits[] = "0123456789abcdef";
  out->reserve(out->size() + bytes.size() * 2);
  for (unsigned char byte : bytes) {
    out->push_back(kDigits[byte >> 4]);
    out->push_back(kDigits[byte & 15]);
  }
}

}  // namespace kv
