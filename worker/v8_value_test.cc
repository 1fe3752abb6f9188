#include "v8_value.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "base64.h"
#include "kv_limits.h"

namespace kv {
namespace {

// Golden vectors: bytes Node's V8 wrote (scripts/gen_v8_vectors.js).
const nlohmann::json& Vectors() {
  static const nlohmann::json* vectors = [] {
    std::ifstream file(KV_V8_VECTORS);
    return new nlohmann::json(nlohmann::json::parse(file));
  }();
  return *vectors;
}

std::string FromHex(std::string_view hex) {
  std::string bytes;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) {
    bytes.push_back(static_cast<char>(
        std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
  }
  return bytes;
}

std::string Hex(std::string_view bytes) {
  std::string hex;
  AppendHex(bytes, &hex);
  return hex;
}

// Two JSON texts name the same value: same structure and key order, strings
// equal, numbers equal as doubles.
bool SameValue(const nlohmann::ordered_json& a,
               const nlohmann::ordered_json& b) {
  if (a.is_number() && b.is_number()) {
    return a.get<double>() == b.get<double>();
  }
  if (a.type() != b.type()) return false;
  if (a.is_array()) {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i) {
      if (!SameValue(a[i], b[i])) return false;
    }
    return true;
  }
  if (a.is_object()) {
    if (a.size() != b.size()) return false;
    auto i = a.begin();
    auto j = b.begin();
    for (; i != a.end(); ++i, ++j) {
      if (i.key() != j.key() || !SameValue(i.value(), j.value())) return false;
    }
    return true;
  }
  return a == b;
}

bool SameJson(const std::string& a, const std::string& b) {
  if (a == b) return true;
  return SameValue(nlohmann::ordered_json::parse(a),
                   nlohmann::ordered_json::parse(b));
}

struct Converted {
  Status status;
  std::string json;
  bool is_json = false;
};

Converted ToJson(std::string_view bytes) {
  Converted c;
  c.json = "(untouched)";
  c.is_json = true;
  c.status = V8ToJson(bytes, &c.json, &c.is_json);
  return c;
}

std::string MustToV8(std::string_view json) {
  std::string bytes;
  const Status status = JsonToV8(json, &bytes);
  EXPECT_TRUE(status.ok()) << json << ": " << status.message();
  return bytes;
}

// Checks the contract's invariants on a result, whatever the input.
void ExpectConsistent(const Converted& c, std::string_view bytes) {
  if (!c.status.ok()) {
    EXPECT_FALSE(c.is_json) << Hex(bytes);
    EXPECT_TRUE(c.json.empty()) << Hex(bytes);
    EXPECT_EQ(c.status.http_status(), 400) << Hex(bytes);
    EXPECT_FALSE(c.status.message().empty());
  } else if (!c.is_json) {
    EXPECT_TRUE(c.json.empty()) << Hex(bytes);
  }
}

TEST(V8ValueTest, VectorsAreLoaded) {
  EXPECT_GT(Vectors()["vectors"].size(), 100u);
  EXPECT_GT(Vectors()["numbers"].size(), 300u);
}

TEST(V8ValueTest, GoldenVectorsConvertToTheirJson) {
  for (const auto& vector : Vectors()["vectors"]) {
    const std::string name = vector["name"];
    const Converted c = ToJson(FromHex(vector["hex"].get<std::string>()));
    ASSERT_TRUE(c.status.ok()) << name << ": " << c.status.message();
    if (vector["json"].is_null()) {
      EXPECT_FALSE(c.is_json) << name << " gave " << c.json;
      EXPECT_TRUE(c.json.empty()) << name;
    } else {
      const std::string expected = vector["json"];
      EXPECT_TRUE(c.is_json) << name;
      EXPECT_TRUE(SameJson(c.json, expected))
          << name << ": " << c.json << " vs " << expected;
    }
  }
}

// Beyond the same value: the same text, as JavaScript writes it (numbers
// as String(x), escapes as JSON.stringify's).
TEST(V8ValueTest, GoldenVectorsGiveJsonStringifysText) {
  for (const auto& vector : Vectors()["vectors"]) {
    if (vector["json"].is_null()) continue;
    const Converted c = ToJson(FromHex(vector["hex"].get<std::string>()));
    EXPECT_EQ(c.json, vector["json"].get<std::string>()) << vector["name"];
  }
}

TEST(V8ValueTest, NumbersAreWrittenAsJavaScriptWritesThem) {
  for (const auto& number : Vectors()["numbers"]) {
    const std::string bytes = FromHex(number["hex"].get<std::string>());
    const Converted c = ToJson(bytes);
    ASSERT_TRUE(c.status.ok()) << number;
    EXPECT_TRUE(c.is_json);
    EXPECT_EQ(c.json, number["text"].get<std::string>()) << number["hex"];
    // And back: the same bytes (a top-level number is a Smi or a double).
    EXPECT_EQ(Hex(MustToV8(c.json)), number["hex"].get<std::string>())
        << c.json;
  }
}

TEST(V8ValueTest, JsonToV8ReproducesNodesBytes) {
  int checked = 0;
  for (const auto& vector : Vectors()["vectors"]) {
    if (!vector.value("canonical", false)) continue;
    const std::string name = vector["name"];
    const std::string hex = vector["hex"];
    EXPECT_EQ(Hex(MustToV8(vector["json"].get<std::string>())), hex) << name;
    if (vector.contains("source")) {
      EXPECT_EQ(Hex(MustToV8(vector["source"].get<std::string>())), hex)
          << name << " from its source";
    }
    ++checked;
  }
  EXPECT_GT(checked, 60);
}

TEST(V8ValueTest, JsonToV8RoundTripsThroughV8ToJson) {
  for (const auto& vector : Vectors()["vectors"]) {
    if (vector["json"].is_null()) continue;
    const std::string json = vector["json"];
    const Converted c = ToJson(MustToV8(json));
    ASSERT_TRUE(c.status.ok()) << json << ": " << c.status.message();
    EXPECT_TRUE(c.is_json) << json;
    EXPECT_EQ(c.json, json);
  }
}

// docs/design/kv-connect.md section 13's worked examples.
TEST(V8ValueTest, DesignDocExamples) {
  const std::pair<const char*, const char*> kExamples[] = {
      {"null", "ff0f30"},
      {"true", "ff0f54"},
      {"1", "ff0f4902"},
      {"-1", "ff0f4901"},
      {"300", "ff0f49d804"},
      {"1.5", "ff0f4e000000000000f83f"},
      {"\"hi\"", "ff0f22026869"},
      {"\"\xE2\x82\xAC\"", "ff0f6302ac20"},
      {"{\"a\":1}", "ff0f6f22016149027b01"},
      {"[1,2]", "ff0f410249024904240002"},
  };
  for (const auto& [json, hex] : kExamples) {
    EXPECT_EQ(Hex(MustToV8(json)), hex) << json;
    const Converted c = ToJson(FromHex(hex));
    EXPECT_TRUE(c.status.ok() && c.is_json) << hex;
    EXPECT_EQ(c.json, json);
  }
  // [,5]: holey, so no JSON form; new Date(0): none either.
  EXPECT_FALSE(ToJson(FromHex("ff0f61024902490a400102")).is_json);
  EXPECT_TRUE(ToJson(FromHex("ff0f61024902490a400102")).status.ok());
  EXPECT_FALSE(ToJson(FromHex("ff0f440000000000000000")).is_json);
}

// Forms V8 reads but does not write, or writes rarely.
TEST(V8ValueTest, ReadsEveryFormOfTheJsonSubset) {
  const std::pair<const char*, const char*> kCases[] = {
      // Integral doubles (V8 writes them so in double arrays, and for
      // numbers it computed).
      {"ff0f4e00000000a0c4e7c0", "-48677"},
      {"ff0f4e000000000000f03f", "1"},
      // 'U' uint32.
      {"ff0f55ffffffff0f", "4294967295"},
      // 'S' UTF-8 string.
      {"ff0f5303e282ac", "\"\xE2\x82\xAC\""},
      {"ff0f5304f09f9880", "\"\xF0\x9F\x98\x80\""},
      // Padding before tags and after the value; object-count hints.
      {"ff0f0000410200490200003f0349040000240002000000", "[1,2]"},
      {"ff0f3f0030", "null"},
      // Versions 13, 14 and 16 (Deno 2.9's).
      {"ff0d30", "null"},
      {"ff0e54", "true"},
      {"ff10410249024904240002", "[1,2]"},
      // A two-byte string whose code units all fit one byte.
      {"ff0f63046100e900", "\"a\xC3\xA9\""},
      // Keys as 'U', as 'N' (integral, fractional, -0) and as strings.
      {"ff0f6f550549022201314904 7b02", "{\"1\":2,\"5\":1}"},
      {"ff0f6f4e000000000000f83f49027b01", "{\"1.5\":1}"},
      {"ff0f6f4e000000000000008049027b01", "{\"0\":1}"},
      {"ff0f6f4e000000000000f87f49027b01", "{\"NaN\":1}"},
      {"ff0f6f4e000000000000f07f49027b01", "{\"Infinity\":1}"},
      {"ff0f6f4e50efe2d6e41a4b4449027b01", "{\"1e+21\":1}"},
      {"ff0f6f490149022201624904490349037b03", "{\"-1\":1,\"b\":2,\"-2\":-2}"},
      // Keys out of JavaScript's order: indices first, ascending.
      {"ff0f6f22016249024904490649024908220161490a7b04",
       "{\"1\":4,\"2\":3,\"b\":1,\"a\":5}"},
      // A sparse array with every index, in order.
      {"ff0f6102490054490230400202", "[true,null]"},
  };
  for (const auto& [hex, json] : kCases) {
    std::string clean = hex;
    clean.erase(std::remove(clean.begin(), clean.end(), ' '), clean.end());
    const Converted c = ToJson(FromHex(clean));
    ASSERT_TRUE(c.status.ok()) << hex << ": " << c.status.message();
    EXPECT_TRUE(c.is_json) << hex;
    EXPECT_EQ(c.json, json) << hex;
  }
  // An empty sparse array is [].
  EXPECT_EQ(ToJson(FromHex("ff0f6100400000")).json, "[]");
}

TEST(V8ValueTest, ValidValuesWithNoJsonForm) {
  const char* const kCases[] = {
      // Duplicate keys (V8 never writes them; JavaScript keeps one).
      "ff0f6f220161490222016149047b02",
      "ff0f6f490249022201314904 7b02",
      // A sparse array with keys out of order, or a key that is no index.
      "ff0f6102490254490030400202",
      "ff0f61012201784902400101",
      // A sparse array of length 2^32 - 1 with no elements.
      "ff0f61ffffffff0f4000ffffffff0f",
      // Invalid UTF-8 in an 'S' string (V8 reads U+FFFD for it).
      "ff0f5301ff",
      "ff0f5303eda080",
      // A lone surrogate in a key.
      "ff0f6f630200d849027b01",
      // A hole in a dense array.
      "ff0f41022d4902240002",
      // A reference to an object, and a view through one.
      "ff0f41026f7b005e01240002",
      "ff0f41024202000056420001005e015642010100240002",
      // A host object in Node's layout.
      "ff0f5c0103010203",
  };
  for (std::string hex : kCases) {
    hex.erase(std::remove(hex.begin(), hex.end(), ' '), hex.end());
    const Converted c = ToJson(FromHex(hex));
    EXPECT_TRUE(c.status.ok()) << hex << ": " << c.status.message();
    EXPECT_FALSE(c.is_json) << hex << " gave " << c.json;
    EXPECT_TRUE(c.json.empty());
  }
}

// Version 16 writes ArrayBuffers' and views' sizes as 64-bit varints; before
// it they are 32-bit.
TEST(V8ValueTest, ReadsVersion16SizesAs64Bits) {
  // A resizable buffer of 4 bytes and at most 2^33, and a length-tracking
  // view of it.
  const std::string big_max = "7e04808080802000000000";
  const std::string view = "5642000003";
  for (const std::string& hex : {"ff10" + big_max, "ff10" + big_max + view}) {
    const Converted c = ToJson(FromHex(hex));
    EXPECT_TRUE(c.status.ok()) << hex << ": " << c.status.message();
    EXPECT_FALSE(c.is_json);
  }
  // Version 15 reads 32 bits of that maximum: 0, less than the length.
  const Converted v15 = ToJson(FromHex("ff0f" + big_max));
  EXPECT_FALSE(v15.status.ok());
  ExpectConsistent(v15, FromHex("ff0f" + big_max));
  // Offsets and lengths past 4 GiB are still checked against the buffer.
  for (const char* hex : {"ff104202010256428080808010000000",
                          "ff104202010256420080808080100000"}) {
    const Converted c = ToJson(FromHex(hex));
    EXPECT_FALSE(c.status.ok()) << hex;
    ExpectConsistent(c, FromHex(hex));
  }
}

TEST(V8ValueTest, RefusesBadHeaders) {
  const char* const kCases[] = {
      "",                    // nothing
      "30",                  // no header
      "fe0f30",              // not the version tag
      "ff",                  // no version
      "ff0c30",              // version 12
      "ff1130",              // version 17
      "ff8080808080800f30",  // an endless varint
      "ff0f",                // no value
  };
  for (const char* hex : kCases) {
    const Converted c = ToJson(FromHex(hex));
    EXPECT_FALSE(c.status.ok()) << hex;
    EXPECT_EQ(c.status.code(), Code::kInvalidRequest) << hex;
    ExpectConsistent(c, FromHex(hex));
  }
  EXPECT_NE(ToJson(FromHex("ff0c30")).status.message().find("version 12"),
            std::string::npos);
}

TEST(V8ValueTest, RefusesTrailingBytesButNotPadding) {
  EXPECT_TRUE(ToJson(FromHex("ff0f30000000")).status.ok());
  for (const char* hex :
       {"ff0f3030", "ff0f30ff", "ff0f300001", "ff0f49024902"}) {
    const Converted c = ToJson(FromHex(hex));
    EXPECT_FALSE(c.status.ok()) << hex;
    EXPECT_NE(c.status.message().find("trailing"), std::string::npos)
        << c.status.message();
    ExpectConsistent(c, FromHex(hex));
  }
}

TEST(V8ValueTest, RefusesMalformedValues) {
  const char* const kCases[] = {
      "ff0f01",                     // unknown tag
      "ff0f2d",                     // a hole outside an array
      "ff0f7b00",                   // an end tag with no object
      "ff0f5600",                   // a view with no buffer
      "ff0f6301ac",                 // a two-byte string of odd length
      "ff0f6f22016149027b02",       // an object declaring 2 properties, has 1
      "ff0f410149022400 02",        // closing length differs
      "ff0f41014902240101",         // property count differs
      "ff0f6f5f49027b01",           // undefined as a key
      "ff0f6f6f7b004902 7b01",      // an object as a key
      "ff0f5e00",                   // a reference to nothing
      "ff0f41015e01240001",         // a reference to an object not read yet
      "ff0f3b49023a01",             // a Map with half an entry
      "ff0f3b4902 49043a04",        // a Map's count differs
      "ff0f27 49022c02",            // a Set's count differs
      "ff0f4202010256420003 00",    // a view past its buffer
      "ff0f420301020356770003 00",  // an Int16Array of odd length
      "ff0f4202010256 5a000100",    // an unknown view type
      "ff0f420201025642000202",     // flags of a resizable buffer's view
      "ff0f7e0402000000",           // a resizable buffer longer than its max
      "ff0f72 6d220178 41",         // an unknown error field
      "ff0f74 00",                  // a transferred ArrayBuffer
      "ff0f75 00",                  // a SharedArrayBuffer
      "ff0f70 00",                  // a shared object
      "ff0f77 00",                  // a wasm module
      "ff0f6d 00",                  // wasm memory
      "ff0f52 4902 00",             // a RegExp whose source is not a string
  };
  for (std::string hex : kCases) {
    hex.erase(std::remove(hex.begin(), hex.end(), ' '), hex.end());
    const Converted c = ToJson(FromHex(hex));
    EXPECT_FALSE(c.status.ok()) << hex << " gave " << c.json;
    ExpectConsistent(c, FromHex(hex));
  }
}

TEST(V8ValueTest, RefusesLengthsPastTheEnd) {
  const char* const kCases[] = {
      "ff0f22ffffffff0f41",          // a one-byte string of 4 GiB
      "ff0f63feffffff0f4100",        // a two-byte string of 4 GiB
      "ff0f53ffffffff0f41",          // a UTF-8 string of 4 GiB
      "ff0f2205616263",              // 5 declared, 3 there
      "ff0f41ffffffff0f30",          // a dense array of 2^32 - 1 elements
      "ff0f4103303030",              // 3 elements, then nothing
      "ff0f42ffffffff0f00",          // an ArrayBuffer of 4 GiB
      "ff0f7effffffff0fffffffff0f",  // a resizable one
      "ff0f5afeffffff0f00",          // a bigint of 2^30 - 1 bytes
      "ff0f5c01ffffffff0f00",        // a host object of 4 GiB
  };
  for (const char* hex : kCases) {
    const Converted c = ToJson(FromHex(hex));
    EXPECT_FALSE(c.status.ok()) << hex;
    EXPECT_EQ(c.status.code(), Code::kInvalidRequest) << hex;
    ExpectConsistent(c, FromHex(hex));
  }
}

// Every proper prefix of a value V8 wrote is cut short: an error, never a
// crash or a read past the end (the sanitizer build checks the latter).
TEST(V8ValueTest, EveryTruncationIsAnError) {
  for (const auto& vector : Vectors()["vectors"]) {
    const std::string bytes = FromHex(vector["hex"].get<std::string>());
    for (size_t n = 0; n < bytes.size(); ++n) {
      // A copy of exactly n bytes, so that a read past it is caught.
      const std::string prefix = bytes.substr(0, n);
      const Converted c = ToJson(prefix);
      ExpectConsistent(c, prefix);
      // The one valid prefix: a buffer whose view is cut off.
      if (bytes[n] == 'V' && vector.value("writer", "") == "v8.Serializer") {
        continue;
      }
      EXPECT_FALSE(c.status.ok())
          << vector["name"] << " cut to " << n << " bytes: " << c.json;
    }
  }
}

std::string Repeat(std::string_view s, int n) {
  std::string out;
  for (int i = 0; i < n; ++i) out.append(s);
  return out;
}

// Arrays `n` deep around null, in V8's format.
std::string NestedArrays(int n) {
  return FromHex("ff0f") + Repeat("A\x01", n) + "0" +
         Repeat(std::string("$\x00\x01", 3), n);
}

TEST(V8ValueTest, NestingIsBounded) {
  const Converted deepest = ToJson(NestedArrays(kMaxJsonDepth));
  ASSERT_TRUE(deepest.status.ok()) << deepest.status.message();
  EXPECT_EQ(deepest.json,
            Repeat("[", kMaxJsonDepth) + "null" + Repeat("]", kMaxJsonDepth));
  for (int n : {kMaxJsonDepth + 1, 10000}) {
    const Converted c = ToJson(NestedArrays(n));
    EXPECT_EQ(c.status.code(), Code::kNestingTooDeep) << n;
    ExpectConsistent(c, NestedArrays(n));
  }
  // Objects, sparse arrays, maps, sets and errors count too, and the limit
  // holds with the closing bytes missing.
  const std::string kOpeners[] = {std::string("o\x22\x01k", 4),
                                  std::string("a\x01\x49\x00", 4), ";", "'",
                                  std::string("r\x63", 2)};
  for (const std::string& opener : kOpeners) {
    const std::string bytes = FromHex("ff0f") + Repeat(opener, 10000);
    const Converted c = ToJson(bytes);
    EXPECT_EQ(c.status.code(), Code::kNestingTooDeep) << Hex(opener);
  }
}

TEST(V8ValueTest, JsonToV8NestingIsBounded) {
  const std::string deepest =
      Repeat("[", kMaxJsonDepth) + "1" + Repeat("]", kMaxJsonDepth);
  const Converted c = ToJson(MustToV8(deepest));
  EXPECT_EQ(c.json, deepest);
  for (const std::string& json :
       {Repeat("[", kMaxJsonDepth + 1) + Repeat("]", kMaxJsonDepth + 1),
        Repeat("[", 10000) + Repeat("]", 10000),
        Repeat("{\"a\":", 10000) + "1" + Repeat("}", 10000)}) {
    std::string bytes = "kept";
    const Status status = JsonToV8(json, &bytes);
    EXPECT_EQ(status.code(), Code::kNestingTooDeep);
    EXPECT_EQ(bytes, "kept");
  }
}

TEST(V8ValueTest, JsonToV8RefusesWhatIsNotJson) {
  const char* const kCases[] = {
      "",
      "[",
      "{\"a\"}",
      "{\"a\":1,}",
      "[1,]",
      "01",
      "1.",
      "-",
      ".5",
      "1e",
      "+1",
      "\"\\x\"",
      "\"\\u12\"",
      "\"a",
      "\"\x01\"",
      "\"\xff\"",
      "\"\xed\xa0\x80\"",
      "1 2",
      "nul",
      "1e400",
      "-1e400",
      "{1:2}",
      "[1]x",
      "tru",
  };
  for (const char* json : kCases) {
    std::string bytes = "kept";
    const Status status = JsonToV8(json, &bytes);
    EXPECT_FALSE(status.ok()) << json;
    EXPECT_EQ(status.code(), Code::kInvalidJson) << json;
    EXPECT_EQ(bytes, "kept") << json;
  }
}

TEST(V8ValueTest, JsonToV8AppendsAndPadsFromItsOwnStart) {
  // "€" after "abc" in an array needs a pad in V8's buffer; appended after
  // other bytes, the pad still counts from the header.
  const std::string alone = MustToV8("[\"abc\",\"\xE2\x82\xAC\"]");
  EXPECT_EQ(Hex(alone), "ff0f41022203616263006302ac20240002");
  for (const std::string prefix : {"x", "xy"}) {
    std::string bytes = prefix;
    ASSERT_TRUE(JsonToV8("[\"abc\",\"\xE2\x82\xAC\"]", &bytes).ok());
    EXPECT_EQ(bytes, prefix + alone);
  }
}

TEST(V8ValueTest, JsonToV8KeepsLoneSurrogateEscapes) {
  // JSON.parse("\"\\ud800\"") is a string V8 writes as 'c' 00 d8; it has
  // no JSON form coming back.
  const std::string bytes = MustToV8("\"\\ud800\"");
  EXPECT_EQ(Hex(bytes), "ff0f630200d8");
  EXPECT_FALSE(ToJson(bytes).is_json);
  // A pair written as escapes is the character.
  EXPECT_EQ(ToJson(MustToV8("\"\\ud83d\\ude00\"")).json,
            "\"\xF0\x9F\x98\x80\"");
}

// Random damage to valid values: never a crash; what parses as JSON converts
// back to bytes that give the same JSON.
TEST(V8ValueTest, DamagedValuesNeverCrash) {
  std::mt19937 random(42);
  std::vector<std::string> inputs;
  for (const auto& vector : Vectors()["vectors"]) {
    inputs.push_back(FromHex(vector["hex"].get<std::string>()));
  }
  int json_results = 0;
  for (int round = 0; round < 50000; ++round) {
    std::string bytes = inputs[random() % inputs.size()];
    const int edits = 1 + random() % 4;
    for (int e = 0; e < edits && !bytes.empty(); ++e) {
      const size_t at = random() % bytes.size();
      switch (random() % 4) {
        case 0:
          bytes[at] = static_cast<char>(random());
          break;
        case 1:
          bytes[at] ^= static_cast<char>(1 << (random() % 8));
          break;
        case 2:
          bytes.erase(at, 1);
          break;
        default:
          bytes.insert(at, 1, static_cast<char>(random()));
          break;
      }
    }
    const Converted c = ToJson(bytes);
    ExpectConsistent(c, bytes);
    if (c.status.ok() && c.is_json) {
      ++json_results;
      const Converted again = ToJson(MustToV8(c.json));
      EXPECT_TRUE(again.status.ok() && again.is_json) << Hex(bytes);
      EXPECT_EQ(again.json, c.json) << Hex(bytes);
    }
  }
  EXPECT_GT(json_results, 100);
}

// JsonToV8 writes at most about three bytes per byte of JSON (-0 is 2
// bytes of text and 9 of V8's), plus the header.
TEST(V8ValueTest, JsonToV8OutputIsBounded) {
  for (const std::string json :
       {std::string("-0"), "[" + Repeat("-0,", 1000) + "-0]",
        "[" + Repeat("[],", 1000) + "[]]", Repeat("[", 64) + Repeat("]", 64),
        "\"\xE2\x82\xAC" + std::string(1000, 'a') + "\""}) {
    EXPECT_LE(MustToV8(json).size(), 3 * json.size() + 16) << json.size();
  }
}

}  // namespace
}  // namespace kv
