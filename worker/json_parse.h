// JSON parsing for request bodies: Boost.JSON's parser, except that numbers
// with a fraction or exponent are converted with strtod, which rounds
// correctly. Boost.JSON 1.81's own conversion can land on a neighbouring
// double (-3e-96 became -2.9999999999999997e-96), which would change stored
// values and merge distinct number keys (worker/regression_test.cc).

#ifndef KV_WORKER_JSON_PARSE_H_
#define KV_WORKER_JSON_PARSE_H_

#include <boost/json/error.hpp>
#include <boost/json/storage_ptr.hpp>
#include <boost/json/value.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace kv {

// Parses `text` as one JSON document nested at most `max_depth` levels,
// into memory from `storage`. On failure sets `error` (too_deep when the
// nesting is the problem, exponent_overflow for a number beyond binary64's
// range or an integer past 64 bits that names no double, as below) and
// returns null.
boost::json::value ParseJson(std::string_view text, int max_depth,
                             boost::json::storage_ptr storage,
                             boost::json::error_code& error);

// Parses a request body like ParseJson, except for the values it stores:
// each field "value" of an object `value_level` levels deep (1: the body
// object itself) that is not a string. Such a value is not built: one pass
// over the text validates it and writes it to `values` as compact JSON,
// strings escaped as boost::json::serialize escapes them and numbers as
// written (JSON.parse reads them back as the same doubles; only a literal
// that may be past binary64's range or past 64 bits is converted, to refuse
// it as above). In its place the result holds the index of its text in
// `values`, an integer. Strings stay in the result: a counter's operand is
// one.
boost::json::value ParseJsonWithValues(std::string_view text, int max_depth,
                                       int value_level,
                                       boost::json::storage_ptr storage,
                                       std::vector<std::string>* values,
                                       boost::json::error_code& error);

// True when the integer literal `literal` (an optional '-' and digits)
// names the double `value` the way a binary64 reader and writer would: it
// is the double's exact value, or the shortest decimal that reads back as it
// (JavaScript writes 2^64 as 18446744073709552000). 9007199254740993 names
// no double: it reads as 2^53, whose shortest form is 9007199254740992.
bool IntegerLiteralNames(std::string_view literal, double value);

}  // namespace kv

#endif  // KV_WORKER_JSON_PARSE_H_
