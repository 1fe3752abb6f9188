// Fuzzes the key codec (worker/key_codec.h) against a small model of keys
// written from docs/key-encoding.md, independently of key_codec.cc.
//
// The input describes two keys, part by part (FuzzedDataProvider). For each
// key the model predicts whether EncodeKey accepts it and how long the
// encoding is; an accepted key must decode (AppendKeyJson) to JSON that
// means the same key and encodes back to the same bytes. Then the byte
// order of the two encodings must agree with the model's key order, so
// equal encodings mean equal keys (injective) and order is preserved.

#include <fuzzer/FuzzedDataProvider.h>

#include <cmath>
#include <cstring>
#include <optional>
#include <vector>

#include "base64.h"
#include "fuzz_support.h"
#include "json_parse.h"

namespace kv::fuzz {
namespace {

namespace json = boost::json;

// Type ranks in key order: bytes < string < bigint < number < false < true.
enum class Rank { kBytes, kString, kBigInt, kNumber, kFalse, kTrue };

struct Part {
  Rank rank;
  std::string data;       // bytes, or a string's UTF-8
  bool negative = false;  // bigint
  std::string magnitude;  // bigint: big-endian, no leading zero bytes
  double number = 0;
};

using Key = std::vector<Part>;

int Sign(int v) { return (v > 0) - (v < 0); }

int CompareBytes(std::string_view a, std::string_view b) {
  // std::string_view::compare compares char_traits<char>, i.e. unsigned.
  return Sign(a.compare(b));
}

int CompareBigInts(const Part& a, const Part& b) {
  const int sign_a = a.magnitude.empty() ? 0 : a.negative ? -1 : 1;
  const int sign_b = b.magnitude.empty() ? 0 : b.negative ? -1 : 1;
  if (sign_a != sign_b) return Sign(sign_a - sign_b);
  int by_magnitude = a.magnitude.size() != b.magnitude.size()
                         ? (a.magnitude.size() < b.magnitude.size() ? -1 : 1)
                         : CompareBytes(a.magnitude, b.magnitude);
  return sign_a < 0 ? -by_magnitude : by_magnitude;
}

int CompareNumbers(double a, double b) {
  // NaN is one value, above Infinity; -0 equals 0.
  if (std::isnan(a) || std::isnan(b)) return std::isnan(a) - std::isnan(b);
  return (a > b) - (a < b);
}

int CompareParts(const Part& a, const Part& b) {
  if (a.rank != b.rank) return a.rank < b.rank ? -1 : 1;
  switch (a.rank) {
    case Rank::kBytes:
    case Rank::kString:
      return CompareBytes(a.data, b.data);
    case Rank::kBigInt:
      return CompareBigInts(a, b);
    case Rank::kNumber:
      return CompareNumbers(a.number, b.number);
    default:
      return 0;
  }
}

// Part by part; a proper prefix sorts first.
int CompareKeys(const Key& a, const Key& b) {
  for (size_t i = 0; i < a.size() && i < b.size(); ++i) {
    if (int c = CompareParts(a[i], b[i])) return c;
  }
  return (a.size() > b.size()) - (a.size() < b.size());
}

// Encoded size of a part, from the grammar.
size_t EncodedSize(const Part& part) {
  switch (part.rank) {
    case Rank::kBytes:
    case Rank::kString: {
      size_t zeros = 0;
      for (char c : part.data) zeros += c == '\0';
      return 2 + part.data.size() + zeros;
    }
    case Rank::kBigInt:
      return part.magnitude.empty() ? 1
             : part.magnitude.size() <= 8 ? 1 + part.magnitude.size()
                                          : 2 + part.magnitude.size();
    case Rank::kNumber:
      return 9;
    default:
      return 1;
  }
}

std::string StripLeadingZeros(std::string magnitude) {
  size_t first = 0;
  while (first < magnitude.size() && magnitude[first] == '\0') ++first;
  return magnitude.substr(first);
}

std::string DecimalOf(std::string magnitude) {
  std::string digits;
  while (!magnitude.empty()) {
    unsigned remainder = 0;
    for (char& byte : magnitude) {
      const unsigned current = (remainder << 8) | static_cast<uint8_t>(byte);
      byte = static_cast<char>(current / 10);
      remainder = current % 10;
    }
    digits.insert(digits.begin(), static_cast<char>('0' + remainder));
    magnitude = StripLeadingZeros(magnitude);
  }
  return digits.empty() ? "0" : digits;
}

// The magnitude of a canonical decimal -?(0|[1-9][0-9]*) without "-0";
// false for any other text.
bool ParseCanonicalDecimal(std::string_view text, bool* negative,
                           std::string* magnitude) {
  *negative = !text.empty() && text[0] == '-';
  if (*negative) text.remove_prefix(1);
  if (text.empty() || (text[0] == '0' && (text.size() > 1 || *negative))) {
    return false;
  }
  std::string bytes;  // little-endian while building
  for (char c : text) {
    if (c < '0' || c > '9') return false;
    unsigned carry = static_cast<unsigned>(c - '0');
    for (char& byte : bytes) {
      const unsigned product = static_cast<uint8_t>(byte) * 10u + carry;
      byte = static_cast<char>(product & 0xFF);
      carry = product >> 8;
    }
    if (carry) bytes.push_back(static_cast<char>(carry));
  }
  *magnitude = StripLeadingZeros(std::string(bytes.rbegin(), bytes.rend()));
  return true;
}

void AppendUtf8(uint32_t code_point, std::string* out) {
  if (code_point < 0x80) {
    out->push_back(static_cast<char>(code_point));
  } else if (code_point < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (code_point >> 6)));
    out->push_back(static_cast<char>(0x80 | (code_point & 0x3F)));
  } else if (code_point < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (code_point >> 12)));
    out->push_back(static_cast<char>(0x80 | ((code_point >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (code_point & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (code_point >> 18)));
    out->push_back(static_cast<char>(0x80 | ((code_point >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((code_point >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (code_point & 0x3F)));
  }
}

json::value NumberJson(double d) {
  if (std::isnan(d)) return json::object{{"number", "NaN"}};
  if (std::isinf(d)) return json::object{{"number", d > 0 ? "Infinity" : "-Infinity"}};
  return json::value(d);
}

// One generated part: its wire JSON, and its model (nullopt: EncodeKey must
// refuse it as invalid_key).
struct Generated {
  json::value wire;
  std::optional<Part> part;
};

Generated GeneratePart(FuzzedDataProvider& in) {
  switch (in.ConsumeIntegralInRange<int>(0, 9)) {
    case 0: {
      Part part{Rank::kBytes, in.ConsumeRandomLengthString(64)};
      std::string base64;
      AppendBase64(part.data, &base64);
      return {json::object{{"bytes", base64}}, part};
    }
    case 1: {
      Part part{Rank::kString};
      for (int n = in.ConsumeIntegralInRange(0, 16); n > 0; --n) {
        uint32_t code_point = in.ConsumeBool()
                                  ? in.ConsumeIntegralInRange<uint32_t>(0, 0x7F)
                                  : in.ConsumeIntegralInRange<uint32_t>(0, 0x10FFFF);
        if (code_point >= 0xD800 && code_point <= 0xDFFF) code_point += 0x800;
        AppendUtf8(code_point, &part.data);
      }
      return {json::string(part.data), part};
    }
    case 2: {  // a bigint from its magnitude: canonical by construction
      Part part{Rank::kBigInt};
      part.negative = in.ConsumeBool();
      const size_t length = in.ConsumeBool() ? in.ConsumeIntegralInRange(0, 12)
                                             : in.ConsumeIntegralInRange(0, 260);
      part.magnitude = StripLeadingZeros(in.ConsumeBytesAsString(length));
      if (part.magnitude.empty()) part.negative = false;
      const std::string text = (part.negative ? "-" : "") + DecimalOf(part.magnitude);
      json::value wire = json::object{{"bigint", text}};
      if (part.magnitude.size() > kMaxBigIntBytes) return {wire, std::nullopt};
      return {wire, part};
    }
    case 3: {  // a bigint from arbitrary text: refused unless canonical
      const std::string text = in.ConsumeRandomLengthString(24);
      Part part{Rank::kBigInt};
      json::value wire = json::object{{"bigint", text}};
      if (!ParseCanonicalDecimal(text, &part.negative, &part.magnitude)) {
        return {wire, std::nullopt};
      }
      return {wire, part};
    }
    case 4: {  // any binary64 bit pattern: NaNs, -0, infinities, subnormals
      const uint64_t bits = in.ConsumeIntegral<uint64_t>();
      Part part{Rank::kNumber};
      std::memcpy(&part.number, &bits, sizeof part.number);
      return {NumberJson(part.number), part};
    }
    case 5: {
      const int64_t value = in.ConsumeIntegral<int64_t>();
      Part part{Rank::kNumber};
      part.number = static_cast<double>(value);
      // An integer that names no double is refused (key-encoding.md);
      // which ones do is worker/service_test.cc's to pin down.
      if (!IntegerLiteralNames(std::to_string(value), part.number)) {
        return {json::value(value), std::nullopt};
      }
      return {json::value(value), part};
    }
    case 6: {
      const uint64_t value = in.ConsumeIntegral<uint64_t>();
      Part part{Rank::kNumber};
      part.number = static_cast<double>(value);
      if (!IntegerLiteralNames(std::to_string(value), part.number)) {
        return {json::value(value), std::nullopt};
      }
      return {json::value(value), part};
    }
    case 7:
      return {json::value(false), Part{Rank::kFalse}};
    case 8:
      return {json::value(true), Part{Rank::kTrue}};
    default: {  // a {"number": ...} part with any text
      const std::string text = in.ConsumeRandomLengthString(12);
      Part part{Rank::kNumber};
      json::value wire = json::object{{"number", text}};
      if (text == "NaN") part.number = NAN;
      else if (text == "Infinity") part.number = INFINITY;
      else if (text == "-Infinity") part.number = -INFINITY;
      else return {wire, std::nullopt};
      return {wire, part};
    }
  }
}

// The model of a decoded key's JSON (the core's own output), or aborts.
Part ModelOfJson(const json::value& wire) {
  if (wire.is_string()) {
    return Part{Rank::kString, std::string(wire.get_string())};
  }
  if (wire.is_bool()) return Part{wire.get_bool() ? Rank::kTrue : Rank::kFalse};
  if (wire.is_number()) {
    Part part{Rank::kNumber};
    part.number = wire.to_number<double>();
    return part;
  }
  const json::object* object = wire.if_object();
  KV_FUZZ_REQUIRE(object != nullptr && object->size() == 1 &&
                      object->begin()->value().is_string(),
                  "decoded part " + json::serialize(wire));
  const std::string_view type = object->begin()->key();
  const std::string text(object->begin()->value().get_string());
  if (type == "bytes") {
    Part part{Rank::kBytes};
    KV_FUZZ_REQUIRE(DecodeBase64(text, &part.data), "decoded bytes " + text);
    return part;
  }
  if (type == "bigint") {
    Part part{Rank::kBigInt};
    KV_FUZZ_REQUIRE(ParseCanonicalDecimal(text, &part.negative, &part.magnitude),
                    "decoded bigint " + text);
    return part;
  }
  KV_FUZZ_REQUIRE(type == "number", "decoded part type " + std::string(type));
  Part part{Rank::kNumber};
  if (text == "NaN") part.number = NAN;
  else if (text == "Infinity") part.number = INFINITY;
  else if (text == "-Infinity") part.number = -INFINITY;
  else Fail(__FILE__, __LINE__, "number name", text);
  return part;
}

// Generates one key and encodes it. Returns false when the model says
// EncodeKey must refuse it (and checks that it does, with the right code).
bool GenerateKey(FuzzedDataProvider& in, Key* key, std::string* encoded) {
  json::array wire;
  bool valid = true;
  size_t size = 0;
  for (int n = in.ConsumeIntegralInRange(1, 8); n > 0; --n) {
    Generated generated = GeneratePart(in);
    wire.push_back(generated.wire);
    if (!generated.part) {
      valid = false;
      break;  // EncodeKey stops at the first invalid part
    }
    size += EncodedSize(*generated.part);
    key->push_back(*generated.part);
  }
  const Status status = EncodeKey(wire, "key", encoded);
  const std::string what = json::serialize(wire).substr(0, 300);
  if (!valid) {
    // A key that is already too large before the bad part may say so first.
    KV_FUZZ_REQUIRE(status.code() == Code::kInvalidKey ||
                        (status.code() == Code::kKeyTooLarge && size > kMaxKeyBytes),
                    "invalid key not refused as invalid_key: " + what);
    return false;
  }
  if (size > kMaxKeyBytes) {
    KV_FUZZ_REQUIRE(status.code() == Code::kKeyTooLarge,
                    "a key of " + std::to_string(size) + " bytes: " + what);
    return false;
  }
  KV_FUZZ_REQUIRE(status.ok(), "valid key refused: " + what + ": " + status.message());
  KV_FUZZ_REQUIRE(encoded->size() == size,
                  "encoded size " + std::to_string(encoded->size()) +
                      ", expected " + std::to_string(size) + ": " + what);
  return true;
}

void CheckDecodesToSameKey(const Key& key, const std::string& encoded) {
  CheckEncodedKey(encoded);  // canonical round trip
  std::string decoded;
  (void)AppendKeyJson(encoded, &decoded);
  const json::value parsed = MustParse(decoded, "decoded key");
  KV_FUZZ_REQUIRE(parsed.is_array(), decoded);
  Key model;
  for (const json::value& part : parsed.get_array()) model.push_back(ModelOfJson(part));
  KV_FUZZ_REQUIRE(CompareKeys(model, key) == 0 && model.size() == key.size(),
                  "decoded to another key: " + decoded + " from " + Hex(encoded));
}

}  // namespace
}  // namespace kv::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace kv::fuzz;
  FuzzedDataProvider in(data, size);
  Key a, b;
  std::string encoded_a, encoded_b;
  if (!GenerateKey(in, &a, &encoded_a)) return 0;
  CheckDecodesToSameKey(a, encoded_a);
  if (!GenerateKey(in, &b, &encoded_b)) return 0;
  CheckDecodesToSameKey(b, encoded_b);
  const int by_bytes = CompareBytes(encoded_a, encoded_b);
  const int by_model = CompareKeys(a, b);
  KV_FUZZ_REQUIRE(by_bytes == by_model,
                  "byte order " + std::to_string(by_bytes) + " but key order " +
                      std::to_string(by_model) + ": " + Hex(encoded_a) + " vs " +
                      Hex(encoded_b));
  return 0;
}
