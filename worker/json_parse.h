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
#include <string_view>

namespace kv {

// Parses `text` as one JSON document nested at most `max_depth` levels,
// into memory from `storage`. On failure sets `error` (too_deep when the
// nesting is the problem, exponent_overflow for a number beyond binary64's
// range) and returns null.
boost::json::value ParseJson(std::string_view text, int max_depth,
                             boost::json::storage_ptr storage,
                             boost::json::error_code& error);

}  // namespace kv

#endif  // KV_WORKER_JSON_PARSE_H_
