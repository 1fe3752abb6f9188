#include "key_codec.h"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>

#include "base64.h"
#include "kv_limits.h"

namespace kv {
namespace {

nlohmann::json LoadVectors() {
  std::ifstream file(KV_TEST_VECTORS);
  return nlohmann::json::parse(file);
}

std::string Hex(std::string_view bytes) {
  std::string hex;
  AppendHex(bytes, &hex);
  return hex;
}

Status Encode(std::string_view key_json, std::string* out) {
  out->clear();
  return EncodeKey(boost::json::parse(key_json), "key", out);
}

std::string MustEncode(std::string_view key_json) {
  std::string out;
  const Status status = Encode(key_json, &out);
  EXPECT_TRUE(status.ok()) << key_json << ": " << status.message();
  return out;
}

std::string MustDecode(std::string_view encoded) {
  std::string json;
  const Status status = AppendKeyJson(encoded, &json);
  EXPECT_TRUE(status.ok()) << status.message();
  return json;
}

TEST(KeyCodecTest, EncodesGoldenVectors) {
  const nlohmann::json vectors = LoadVectors();  // outlives the loop
  for (const auto& vector : vectors["vectors"]) {
    const std::string key = vector["key"].dump();
    EXPECT_EQ(Hex(MustEncode(key)), vector["hex"].get<std::string>()) << key;
  }
}

TEST(KeyCodecTest, DecodesGoldenVectorsToKeysThatEncodeTheSame) {
  const nlohmann::json vectors = LoadVectors();  // outlives the loop
  for (const auto& vector : vectors["vectors"]) {
    const std::string encoded = MustEncode(vector["key"].dump());
    const std::string decoded = MustDecode(encoded);
    EXPECT_EQ(MustEncode(decoded), encoded) << decoded;
  }
}

TEST(KeyCodecTest, ByteOrderIsKeyOrder) {
  const auto ordered = LoadVectors()["ordered"];
  ASSERT_GT(ordered.size(), 10u);
  for (size_t i = 1; i < ordered.size(); ++i) {
    EXPECT_LT(MustEncode(ordered[i - 1].dump()), MustEncode(ordered[i].dump()))
        << ordered[i - 1].dump() << " should sort before " << ordered[i].dump();
  }
}

TEST(KeyCodecTest, SeparatorsInsidePartsNeverCollide) {
  EXPECT_NE(MustEncode(R"(["a/b"])"), MustEncode(R"(["a","b"])"));
  EXPECT_NE(MustEncode(R"(["a:b"])"), MustEncode(R"(["a",":b"])"));
  EXPECT_NE(MustEncode(R"(["a\u0000","b"])"), MustEncode(R"(["a","\u0000b"])"));
  EXPECT_NE(MustEncode(R"(["1"])"), MustEncode(R"([1])"));
  EXPECT_NE(MustEncode(R"([1])"), MustEncode(R"([{"bigint":"1"}])"));
  EXPECT_NE(MustEncode(R"(["true"])"), MustEncode(R"([true])"));
}

TEST(KeyCodecTest, NumbersAreNormalized) {
  EXPECT_EQ(MustEncode("[-0.0]"), MustEncode("[0]"));
  EXPECT_EQ(MustEncode("[1.0]"), MustEncode("[1]"));
  EXPECT_EQ(MustDecode(MustEncode("[1.0, -2, 0.1, 1e300]")),
            "[1,-2,0.1,1e+300]");
}

TEST(KeyCodecTest, RefusesMalformedKeys) {
  const char* bad[] = {
      "[]",
      "{}",
      "\"users\"",
      "[null]",
      "[[1]]",
      R"([{"bytes":"AQ="}])",
      R"([{"bytes":"AR=="}])",
      R"([{"bytes":1}])",
      R"([{"bigint":"01"}])",
      R"([{"bigint":"-0"}])",
      R"([{"bigint":"1.5"}])",
      R"([{"bigint":""}])",
      R"([{"number":"nan"}])",
      R"([{"date":"2024"}])",
      R"([{"bytes":"","bigint":"1"}])",
  };
  for (const char* key : bad) {
    std::string out;
    const Status status = Encode(key, &out);
    EXPECT_EQ(status.code(), Code::kInvalidKey) << key;
    EXPECT_FALSE(status.message().empty());
  }
}

TEST(KeyCodecTest, ErrorNamesThePart) {
  std::string out;
  const Status status =
      EncodeKey(boost::json::parse(R"(["users", null])"), "keys[3]", &out);
  EXPECT_EQ(status.code(), Code::kInvalidKey);
  EXPECT_NE(status.message().find("keys[3][1] is null"), std::string::npos)
      << status.message();
}

TEST(KeyCodecTest, LimitsEncodedKeyBytes) {
  // A string part costs its bytes plus a type code and a terminator.
  const std::string fits(kMaxKeyBytes - 2, 'k');
  const std::string over(kMaxKeyBytes - 1, 'k');
  std::string out;
  EXPECT_TRUE(Encode("[\"" + fits + "\"]", &out).ok());
  EXPECT_EQ(out.size(), kMaxKeyBytes);
  const Status status = Encode("[\"" + over + "\"]", &out);
  EXPECT_EQ(status.code(), Code::kKeyTooLarge);
  EXPECT_NE(status.message().find("2048"), std::string::npos);
}

TEST(KeyCodecTest, BigIntMagnitudeIsLimited) {
  std::string out;
  const std::string largest = "1" + std::string(613, '0');  // ~ 2^2036
  EXPECT_TRUE(Encode(R"([{"bigint":")" + largest + R"("}])", &out).ok());
  const std::string too_large = "1" + std::string(620, '0');  // > 255 bytes
  EXPECT_EQ(Encode(R"([{"bigint":")" + too_large + R"("}])", &out).code(),
            Code::kInvalidKey);
}

TEST(KeyCodecTest, RandomKeysRoundTripAndKeepOrder) {
  std::mt19937_64 random(42);
  auto random_part = [&]() -> boost::json::value {
    switch (random() % 6) {
      case 0: {
        std::string bytes(random() % 5, '\0');
        for (char& c : bytes) c = static_cast<char>(random() % 3);
        std::string text;
        AppendBase64(bytes, &text);
        return boost::json::object{{"bytes", text}};
      }
      case 1:
        return boost::json::string(
            std::string(random() % 3, "a\0b"[random() % 3]));
      case 2: {
        const int64_t n = static_cast<int64_t>(random() % 2000) - 1000;
        return boost::json::object{{"bigint", std::to_string(n * n * n)}};
      }
      case 3:
        return static_cast<double>(static_cast<int64_t>(random() % 2001) -
                                   1000) /
               8;
      default:
        return random() % 2 == 0;
    }
  };
  for (int i = 0; i < 2000; ++i) {
    boost::json::array key;
    for (size_t n = 1 + random() % 4; n > 0; --n) key.push_back(random_part());
    const std::string json = boost::json::serialize(key);
    const std::string encoded = MustEncode(json);
    EXPECT_EQ(MustEncode(MustDecode(encoded)), encoded) << json;
  }
}

TEST(Base64Test, RoundTripsAndRefusesNonCanonical) {
  for (size_t size = 0; size < 8; ++size) {
    std::string bytes;
    for (size_t i = 0; i < size; ++i)
      bytes.push_back(static_cast<char>(i * 77));
    std::string text;
    AppendBase64(bytes, &text);
    std::string decoded;
    ASSERT_TRUE(DecodeBase64(text, &decoded)) << text;
    EXPECT_EQ(decoded, bytes);
  }
  std::string ignored;
  for (const char* bad :
       {"A", "AB=", "A===", "AB=C", "AR==", "AQI=x", "A*==", "=AAA"}) {
    EXPECT_FALSE(DecodeBase64(bad, &ignored)) << bad;
  }
}

}  // namespace
}  // namespace kv
