#include "json_parse.h"

#include <boost/json/basic_parser_impl.hpp>
#include <boost/json/value_stack.hpp>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

namespace kv {
namespace {

namespace json = boost::json;

// A basic_parser handler that builds a value on a value_stack, as Boost's
// own parser does, but converts doubles from their text with strtod.
struct PreciseHandler {
  static constexpr std::size_t max_object_size = json::object::max_size();
  static constexpr std::size_t max_array_size = json::array::max_size();
  static constexpr std::size_t max_key_size = json::string::max_size();
  static constexpr std::size_t max_string_size = json::string::max_size();

  PreciseHandler() : stack(json::storage_ptr()) {}

  bool on_document_begin(json::error_code&) { return true; }
  bool on_document_end(json::error_code&) { return true; }
  bool on_object_begin(json::error_code&) { return true; }
  bool on_object_end(std::size_t n, json::error_code&) {
    stack.push_object(n);
    return true;
  }
  bool on_array_begin(json::error_code&) { return true; }
  bool on_array_end(std::size_t n, json::error_code&) {
    stack.push_array(n);
    return true;
  }
  bool on_key_part(json::string_view s, std::size_t, json::error_code&) {
    stack.push_chars(s);
    return true;
  }
  bool on_key(json::string_view s, std::size_t, json::error_code&) {
    stack.push_key(s);
    return true;
  }
  bool on_string_part(json::string_view s, std::size_t, json::error_code&) {
    stack.push_chars(s);
    return true;
  }
  bool on_string(json::string_view s, std::size_t, json::error_code&) {
    stack.push_string(s);
    return true;
  }
  bool on_number_part(json::string_view s, json::error_code&) {
    number.append(s.data(), s.size());
    return true;
  }
  bool on_int64(std::int64_t i, json::string_view, json::error_code&) {
    number.clear();
    stack.push_int64(i);
    return true;
  }
  bool on_uint64(std::uint64_t u, json::string_view, json::error_code&) {
    number.clear();
    stack.push_uint64(u);
    return true;
  }
  bool on_double(double, json::string_view s, json::error_code& error) {
    number.append(s.data(), s.size());
    const double value = std::strtod(number.c_str(), nullptr);
    // 1e400 would become an infinity, which JSON cannot write back.
    if (std::isinf(value)) {
      error = json::error::exponent_overflow;
      return false;
    }
    // An integer written without fraction or exponent but too long for
    // 64 bits (123456789012345678901234567890) would be stored as some
    // other integer: refuse it unless it names its double.
    if (number.find_first_of(".eE") == std::string::npos &&
        !IntegerLiteralNames(number, value)) {
      error = json::error::exponent_overflow;
      number.clear();
      return false;
    }
    number.clear();
    stack.push_double(value);
    return true;
  }
  bool on_bool(bool b, json::error_code&) {
    stack.push_bool(b);
    return true;
  }
  bool on_null(json::error_code&) {
    stack.push_null();
    return true;
  }
  bool on_comment_part(json::string_view, json::error_code&) { return true; }
  bool on_comment(json::string_view, json::error_code&) { return true; }

  json::value_stack stack;
  std::string number;  // the text of the number being parsed
};

}  // namespace

bool IntegerLiteralNames(std::string_view literal, double value) {
  if (!literal.empty() && literal[0] == '-') literal.remove_prefix(1);
  const double magnitude = std::fabs(value);
  char text[400];  // %.0f of DBL_MAX has 309 digits
  std::snprintf(text, sizeof text, "%.0f", magnitude);  // the exact value
  if (literal == text) return true;
  for (int digits = 1; digits <= 17; ++digits) {
    std::snprintf(text, sizeof text, "%.*e", digits - 1, magnitude);
    if (std::strtod(text, nullptr) != magnitude) continue;
    // text is d[.ddd]e±XX: the shortest digits, then zeros to the exponent.
    std::string shortest;
    const char* exponent = std::strchr(text, 'e');
    for (const char* c = text; c != exponent; ++c) {
      if (*c != '.') shortest.push_back(*c);
    }
    const int places = std::atoi(exponent + 1) + 1;
    if (places < static_cast<int>(shortest.size())) return false;
    shortest.append(places - shortest.size(), '0');
    return literal == shortest;
  }
  return false;
}

json::value ParseJson(std::string_view text, int max_depth,
                      json::storage_ptr storage, json::error_code& error) {
  json::parse_options options;
  options.max_depth = max_depth;
  json::basic_parser<PreciseHandler> parser(options);
  // The stack's own scratch memory is the heap; the value's is `storage`.
  parser.handler().stack.reset(std::move(storage));
  const std::size_t used =
      parser.write_some(false, text.data(), text.size(), error);
  if (!error && used < text.size()) error = json::error::extra_data;
  if (error) return nullptr;
  return parser.handler().stack.release();
}

}  // namespace kv
