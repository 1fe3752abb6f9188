// Grammar of the encoding (docs/key-encoding.md explains each type code):
//
//   key     := part+
//   part    := bytes | string | bigint | number | false | true
//   bytes   := 0x01 escaped 0x00
//   string  := 0x02 escaped 0x00            (escaped UTF-8)
//   escaped := (0x00 0xFF | any byte but 0x00)*
//   bigint  := 0x14                          (zero)
//            | (0x14 + n) magnitude[n]       (positive, 1 <= n <= 8)
//            | (0x14 - n) ~magnitude[n]      (negative, 1 <= n <= 8)
//            | 0x1D n magnitude[n]           (positive, 9 <= n <= 255)
//            | 0x0B (n ^ 0xFF) ~magnitude[n] (negative, 9 <= n <= 255)
//   number  := 0x21 sortable[8]
//   false   := 0x26
//   true    := 0x27
//
// magnitude is big-endian without leading zero bytes; ~ is the one's
// complement. sortable is the IEEE-754 binary64 big-endian with the sign bit
// flipped for positive numbers and every bit flipped for negative ones; NaN
// is canonical (0x7FF8000000000000) and -0 is written as +0.

#include "key_codec.h"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <vector>

#include "base64.h"
#include "json_parse.h"
#include "kv_limits.h"

namespace kv {
namespace {

constexpr uint8_t kBytesCode = 0x01;
constexpr uint8_t kStringCode = 0x02;
constexpr uint8_t kNegativeBigIntCode = 0x0B;
constexpr uint8_t kZeroBigIntCode = 0x14;
constexpr uint8_t kPositiveBigIntCode = 0x1D;
constexpr uint8_t kNumberCode = 0x21;
constexpr uint8_t kFalseCode = 0x26;
constexpr uint8_t kTrueCode = 0x27;
constexpr int kMaxShortBigIntBytes = 8;

Status InvalidPart(std::string_view what, size_t index, std::string_view why) {
  return Status::Error(
      Code::kInvalidKey,
      std::string(what) + "[" + std::to_string(index) + "] " +
          std::string(why) +
          "; a key part is a string, a number, a boolean, "
          "{\"number\": \"NaN\"|\"Infinity\"|\"-Infinity\"}, "
          "{\"bigint\": \"<decimal>\"} or {\"bytes\": \"<base64>\"}");
}

// Appends in runs between NUL bytes, not byte by byte: a byte-wise append
// is a call per byte in wasm.
void AppendEscaped(uint8_t code, std::string_view data, std::string* out) {
  out->push_back(static_cast<char>(code));
  for (;;) {
    const size_t zero = data.find('\0');
    if (zero == std::string_view::npos) break;
    out->append(data.data(), zero + 1);
    out->push_back(static_cast<char>(0xFF));
    data.remove_prefix(zero + 1);
  }
  out->append(data.data(), data.size());
  out->push_back('\0');
}

void AppendNumber(double d, std::string* out) {
  if (std::isnan(d)) d = std::numeric_limits<double>::quiet_NaN();
  if (d == 0) d = 0;  // -0 is the same key as 0
  uint64_t bits;
  std::memcpy(&bits, &d, sizeof bits);
  bits = (bits >> 63) ? ~bits : bits ^ (uint64_t{1} << 63);
  char encoded[9] = {static_cast<char>(kNumberCode)};
  for (int i = 0; i < 8; ++i) {
    encoded[1 + i] = static_cast<char>(bits >> (56 - 8 * i));
  }
  out->append(encoded, sizeof encoded);
}

// Parses a canonical decimal integer (-?(0|[1-9][0-9]*), no "-0") into a
// big-endian magnitude without leading zero bytes.
bool ParseDecimal(std::string_view text, bool* negative,
                  std::vector<uint8_t>* magnitude) {
  *negative = !text.empty() && text[0] == '-';
  if (*negative) text.remove_prefix(1);
  if (text.empty() || (text[0] == '0' && (text.size() > 1 || *negative))) {
    return false;
  }
  magnitude->clear();
  for (char c : text) {
    if (c < '0' || c > '9') return false;
    unsigned carry = static_cast<unsigned>(c - '0');
    for (auto it = magnitude->rbegin(); it != magnitude->rend(); ++it) {
      unsigned product = *it * 10u + carry;
      *it = static_cast<uint8_t>(product);
      carry = product >> 8;
    }
    if (carry)
      magnitude->insert(magnitude->begin(), static_cast<uint8_t>(carry));
    // Bail out early so a huge string costs no more than the limit allows.
    if (magnitude->size() > kMaxBigIntBytes) return false;
  }
  return true;
}

void AppendBigInt(bool negative, const std::vector<uint8_t>& magnitude,
                  std::string* out) {
  const size_t n = magnitude.size();
  if (n <= kMaxShortBigIntBytes) {
    out->push_back(static_cast<char>(negative ? kZeroBigIntCode - n
                                              : kZeroBigIntCode + n));
  } else {
    out->push_back(static_cast<char>(negative ? kNegativeBigIntCode
                                              : kPositiveBigIntCode));
    out->push_back(static_cast<char>(negative ? n ^ 0xFF : n));
  }
  for (uint8_t byte : magnitude) {
    out->push_back(static_cast<char>(negative ? ~byte : byte));
  }
}

Status EncodeTypedPart(const boost::json::object& part, std::string_view what,
                       size_t index, std::string* out) {
  if (part.size() != 1) {
    return InvalidPart(what, index, "is an object with other than one field");
  }
  const auto& [type, payload] = *part.begin();
  const boost::json::string* text = payload.if_string();
  if (text == nullptr) {
    return InvalidPart(what, index,
                       "has a non-string \"" + std::string(type) + "\" field");
  }
  if (type == "bytes") {
    std::string bytes;
    if (!DecodeBase64(*text, &bytes)) {
      return InvalidPart(what, index, "is not valid padded base64 bytes");
    }
    AppendEscaped(kBytesCode, bytes, out);
  } else if (type == "bigint") {
    bool negative;
    std::vector<uint8_t> magnitude;
    if (!ParseDecimal(*text, &negative, &magnitude)) {
      return InvalidPart(what, index,
                         "is not a canonical decimal bigint of at most 255 "
                         "magnitude bytes");
    }
    AppendBigInt(negative, magnitude, out);
  } else if (type == "number") {
    if (*text == "NaN") {
      AppendNumber(std::numeric_limits<double>::quiet_NaN(), out);
    } else if (*text == "Infinity") {
      AppendNumber(HUGE_VAL, out);
    } else if (*text == "-Infinity") {
      AppendNumber(-HUGE_VAL, out);
    } else {
      return InvalidPart(what, index,
                         "is a {\"number\"} other than NaN, Infinity or "
                         "-Infinity");
    }
  } else {
    return InvalidPart(
        what, index,
        "is an object of unknown type \"" + std::string(type) + "\"");
  }
  return Status::OK();
}

Status EncodePart(const boost::json::value& part, std::string_view what,
                  size_t index, std::string* out) {
  switch (part.kind()) {
    case boost::json::kind::string:
      AppendEscaped(kStringCode, part.get_string(), out);
      return Status::OK();
    case boost::json::kind::int64:
    case boost::json::kind::uint64: {
      // A number part is a binary64 double. An integer that names no
      // double (9007199254740993) would silently become its neighbour and
      // merge two keys: refuse it.
      const double d = part.to_number<double>();
      // Every integer within 2^53 is a double: only the rest is checked.
      constexpr int64_t kExact = int64_t{1} << 53;
      const bool exact = part.is_int64() ? part.get_int64() >= -kExact &&
                                               part.get_int64() <= kExact
                                         : part.get_uint64() <= kExact;
      if (!exact && !IntegerLiteralNames(
                        part.is_int64() ? std::to_string(part.get_int64())
                                        : std::to_string(part.get_uint64()),
                        d)) {
        return InvalidPart(what, index,
                           "is an integer no number part can hold (past "
                           "2^53 only some integers are doubles); send it "
                           "as a {\"bigint\": \"<decimal>\"}");
      }
      AppendNumber(d, out);
      return Status::OK();
    }
    case boost::json::kind::double_:
      AppendNumber(part.get_double(), out);
      return Status::OK();
    case boost::json::kind::bool_:
      out->push_back(
          static_cast<char>(part.get_bool() ? kTrueCode : kFalseCode));
      return Status::OK();
    case boost::json::kind::object:
      return EncodeTypedPart(part.get_object(), what, index, out);
    case boost::json::kind::null:
      return InvalidPart(what, index, "is null");
    case boost::json::kind::array:
      return InvalidPart(what, index, "is an array");
  }
  return InvalidPart(what, index, "has an unknown JSON type");
}

// Reads an escaped run up to its terminator; advances *pos past it.
bool ReadEscaped(std::string_view in, size_t* pos, std::string* data) {
  data->clear();
  while (*pos < in.size()) {
    char c = in[(*pos)++];
    if (c != '\0') {
      data->push_back(c);
    } else if (*pos < in.size() && static_cast<uint8_t>(in[*pos]) == 0xFF) {
      data->push_back('\0');
      ++*pos;
    } else {
      return true;
    }
  }
  return false;
}

void AppendDecimal(bool negative, std::vector<uint8_t> magnitude,
                   std::string* json) {
  std::string digits;
  while (!magnitude.empty()) {
    unsigned remainder = 0;
    for (uint8_t& byte : magnitude) {
      unsigned current = (remainder << 8) | byte;
      byte = static_cast<uint8_t>(current / 10);
      remainder = current % 10;
    }
    digits.push_back(static_cast<char>('0' + remainder));
    while (!magnitude.empty() && magnitude.front() == 0) {
      magnitude.erase(magnitude.begin());
    }
  }
  if (digits.empty()) digits = "0";
  json->append("{\"bigint\":\"");
  if (negative) json->push_back('-');
  json->append(digits.rbegin(), digits.rend());
  json->append("\"}");
}

// Writes a number the way JavaScript would read it back exactly: integers
// without a fraction, others with the fewest digits that round-trip.
void AppendNumberJson(double d, std::string* json) {
  if (std::isnan(d)) {
    json->append("{\"number\":\"NaN\"}");
  } else if (std::isinf(d)) {
    json->append(d > 0 ? "{\"number\":\"Infinity\"}"
                       : "{\"number\":\"-Infinity\"}");
  } else {
    char buffer[32];
    for (int precision = 15; precision <= 17; ++precision) {
      std::snprintf(buffer, sizeof buffer, "%.*g", precision, d);
      if (std::strtod(buffer, nullptr) == d) break;
    }
    json->append(buffer);
  }
}

Status EncodeParts(const boost::json::array& parts, std::string_view what,
                   std::string* out) {
  const size_t start = out->size();
  for (size_t i = 0; i < parts.size(); ++i) {
    KV_RETURN_IF_ERROR(EncodePart(parts[i], what, i, out));
    if (out->size() - start > kMaxKeyBytes) break;
  }
  const size_t size = out->size() - start;
  if (size > kMaxKeyBytes) {
    return Status::Error(Code::kKeyTooLarge,
                         std::string(what) + " encodes to more than " +
                             std::to_string(kMaxKeyBytes) +
                             " bytes (at least " + std::to_string(size) +
                             "); the limit is " + std::to_string(kMaxKeyBytes) +
                             " bytes");
  }
  return Status::OK();
}

}  // namespace

Status EncodeKey(const boost::json::value& key, std::string_view what,
                 std::string* out) {
  const boost::json::array* parts = key.if_array();
  if (parts == nullptr || parts->empty()) {
    return Status::Error(
        Code::kInvalidKey,
        std::string(what) + " must be a non-empty array of key parts");
  }
  return EncodeParts(*parts, what, out);
}

Status EncodeKeyPrefix(const boost::json::value& prefix, std::string_view what,
                       std::string* out) {
  const boost::json::array* parts = prefix.if_array();
  if (parts == nullptr) {
    return Status::Error(Code::kInvalidKey,
                         std::string(what) + " must be an array of key parts");
  }
  return EncodeParts(*parts, what, out);
}

Status AppendKeyJson(std::string_view encoded, std::string* json) {
  const Status corrupt =
      Status::Error(Code::kInternalError, "stored key is not a valid encoding");
  json->push_back('[');
  size_t pos = 0;
  std::string data;
  while (pos < encoded.size()) {
    if (pos > 0) json->push_back(',');
    const uint8_t code = static_cast<uint8_t>(encoded[pos++]);
    if (code == kBytesCode || code == kStringCode) {
      if (!ReadEscaped(encoded, &pos, &data)) return corrupt;
      if (code == kStringCode) {
        json->append(boost::json::serialize(boost::json::string_view(data)));
      } else {
        json->append("{\"bytes\":\"");
        AppendBase64(data, json);
        json->append("\"}");
      }
    } else if (code >= kNegativeBigIntCode && code <= kPositiveBigIntCode) {
      const bool negative = code < kZeroBigIntCode;
      size_t n;
      if (code == kNegativeBigIntCode || code == kPositiveBigIntCode) {
        if (pos >= encoded.size()) return corrupt;
        n = static_cast<uint8_t>(encoded[pos++]);
        if (negative) n ^= 0xFF;
      } else {
        n = negative ? kZeroBigIntCode - code : code - kZeroBigIntCode;
      }
      if (encoded.size() - pos < n) return corrupt;
      std::vector<uint8_t> magnitude(n);
      for (size_t i = 0; i < n; ++i) {
        const uint8_t byte = static_cast<uint8_t>(encoded[pos++]);
        magnitude[i] = negative ? static_cast<uint8_t>(~byte) : byte;
      }
      AppendDecimal(negative, std::move(magnitude), json);
    } else if (code == kNumberCode) {
      if (encoded.size() - pos < 8) return corrupt;
      uint64_t bits = 0;
      for (int i = 0; i < 8; ++i) {
        bits = (bits << 8) | static_cast<uint8_t>(encoded[pos++]);
      }
      bits = (bits >> 63) ? bits ^ (uint64_t{1} << 63) : ~bits;
      double d;
      std::memcpy(&d, &bits, sizeof d);
      AppendNumberJson(d, json);
    } else if (code == kFalseCode || code == kTrueCode) {
      json->append(code == kTrueCode ? "true" : "false");
    } else {
      return corrupt;
    }
  }
  json->push_back(']');
  return Status::OK();
}

Status CheckEncodedKey(std::string_view encoded, std::string_view what) {
  if (encoded.empty()) {
    return Status::Error(Code::kInvalidKey,
                         std::string(what) +
                             " is empty; a key has 1 or more "
                             "parts");
  }
  if (encoded.size() > kMaxKeyBytes) {
    return Status::Error(
        Code::kKeyTooLarge,
        std::string(what) + " is " + std::to_string(encoded.size()) +
            " bytes; the limit is " + std::to_string(kMaxKeyBytes) + " bytes");
  }
  // Canonical exactly when decoding and encoding again gives it back.
  std::string json;
  boost::json::value parsed;
  std::string again;
  if (AppendKeyJson(encoded, &json).ok()) {
    boost::system::error_code error;
    parsed = boost::json::parse(json, error);
    if (!error && EncodeKey(parsed, what, &again).ok() && again == encoded) {
      return Status::OK();
    }
  }
  return Status::Error(Code::kInvalidKey,
                       std::string(what) +
                           " is not a key in Deno KV's encoding as this store "
                           "writes it (docs/key-encoding.md: parts of bytes, "
                           "string, bigint, number or boolean; -0 is written "
                           "as 0 and NaN has one form)");
}

}  // namespace kv
