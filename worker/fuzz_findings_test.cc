// Regression tests for faults the fuzzers (fuzz/) found after those in
// regression_test.cc. Each names the fuzz target and the saved input in
// fuzz/regressions/ that found it; each fails until its fault is fixed.

#include <gtest/gtest.h>

#include <string>

#include "json_request.h"

namespace kv {
namespace {

// request_fuzzer,
// fuzz/regressions/request_fuzzer/value-number-out-of-range.json: a number
// beyond binary64's range (1e400, -1e999) parses to an infinity, which
// Boost.JSON serializes as `Infinity` / `-Infinity`: not JSON. The set was
// accepted and stored that way, and from then on every get, getMany or list
// that includes the entry answered invalid JSON (the client throws http_200). A
// value must come back as the JSON it was, so such a number has to be refused
// (a 4xx, nothing stored).
TEST(FuzzFindingsTest, NumbersOutOfRangeInValuesAreRefused) {
  for (const std::string value :
       {"1e400", "-1e999", "[1,{\"n\":1e309}]", "123456789e999"}) {
    CommitRequest set;
    const Status status =
        DecodeSet("{\"key\":[\"k\"],\"value\":" + value + "}", &set);
    EXPECT_FALSE(status.ok())
        << value << " was accepted and stored as "
        << (set.mutations.empty() ? std::string("nothing")
                                  : set.mutations[0].value);
    if (!status.ok()) EXPECT_EQ(status.http_status() / 100, 4) << value;

    CommitRequest atomic;
    EXPECT_FALSE(
        DecodeAtomic("{\"mutations\":[{\"type\":\"set\",\"key\":[\"k\"],"
                     "\"value\":" +
                         value + "}]}",
                     &atomic)
            .ok())
        << value;
  }
}

// The boundary: the largest finite doubles are values like any other.
TEST(FuzzFindingsTest, TheLargestFiniteNumbersAreStillValues) {
  for (const std::string value :
       {"1.7976931348623157e308", "-1.7976931348623157e308", "5e-324"}) {
    CommitRequest set;
    const Status status =
        DecodeSet("{\"key\":[\"k\"],\"value\":" + value + "}", &set);
    EXPECT_TRUE(status.ok()) << value << ": " << status.message();
  }
}

}  // namespace
}  // namespace kv
