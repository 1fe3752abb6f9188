// Regression tests for faults the fuzzers (fuzz/) found. Each names the
// fuzz target and the saved input in fuzz/regressions/ that found it.

#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

#include "json_request.h"
#include "key_codec.h"

namespace kv {
namespace {

// The number a JSON number text means, correctly rounded (glibc's strtod).
double ExactValueOf(const std::string& text) {
  return std::strtod(text.c_str(), nullptr);
}

std::string EncodedKeyOf(const std::string& key_json) {
  ReadRequest request;
  const Status status = DecodeGet("{\"keys\":[" + key_json + "]}", &request);
  EXPECT_TRUE(status.ok()) << key_json << ": " << status.message();
  return status.ok() ? request.keys[0] : "";
}

// request_fuzzer, fuzz/regressions/request_fuzzer/value-number-not-exact.json:
// Boost.JSON 1.81 does not round every decimal number to the nearest
// double, so a value's number is stored as a neighbouring double and comes
// back changed (-3e-96 as -2.9999999999999997e-96).
TEST(RegressionTest, NumbersInValuesAreStoredExactly) {
  for (const std::string number :
       {"-3e-96", "940.4473437908067", "8.713814574989431e-14",
        "1.0000000000000001e+23", "2.2250738585072011e-308"}) {
    CommitRequest request;
    ASSERT_TRUE(
        DecodeSet("{\"key\":[\"k\"],\"value\":" + number + "}", &request).ok());
    EXPECT_EQ(ExactValueOf(request.mutations[0].value), ExactValueOf(number))
        << number << " was stored as " << request.mutations[0].value;
  }
}

// The same fault in keys: two different numbers become one key, so writing
// one overwrites the other (1e23 and 1.0000000000000001e+23 are different
// doubles, as in JavaScript).
TEST(RegressionTest, DifferentNumbersAreDifferentKeys) {
  ASSERT_NE(ExactValueOf("1e23"), ExactValueOf("1.0000000000000001e+23"));
  EXPECT_NE(EncodedKeyOf("[1e23]"), EncodedKeyOf("[1.0000000000000001e+23]"));
  EXPECT_EQ(EncodedKeyOf("[940.4473437908067]"),
            EncodedKeyOf("[9.404473437908067e2]"));
}

// key_codec_fuzzer, fuzz/regressions/key_codec_fuzzer/number-key-round-trip
// (and request_fuzzer, .../request_fuzzer/number-key-round-trip.json):
// the JSON that AppendKeyJson writes for a number key (17 significant
// digits, exact under strtod) is read back as another double, so the key
// in a response names a different key than the one stored.
TEST(RegressionTest, NumberKeysRoundTripThroughTheirJson) {
  const std::string encoded("\x21\xc3\xe8\xd6\x33\xce\xfc\x80\x17", 9);
  std::string json;
  ASSERT_TRUE(AppendKeyJson(encoded, &json).ok());
  EXPECT_EQ(EncodedKeyOf(json), encoded) << json;
}

}  // namespace
}  // namespace kv
