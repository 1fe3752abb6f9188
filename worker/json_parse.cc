#include "json_parse.h"

#include <algorithm>
#include <boost/json/basic_parser_impl.hpp>
#include <boost/json/value_stack.hpp>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <utility>

namespace kv {
namespace {

namespace json = boost::json;

// Converts the number literal `text` correctly rounded into `*value`; false
// when it names no binary64 double: past its range (1e400 would become an
// infinity, which JSON cannot write back), or an integer written without
// fraction or exponent but too long for 64 bits that would be stored as
// some other integer (123456789012345678901234567890).
bool ConvertLiteral(const std::string& text, double* value) {
  *value = std::strtod(text.c_str(), nullptr);
  if (std::isinf(*value)) return false;
  return text.find_first_of(".eE") != std::string::npos ||
         IntegerLiteralNames(text, *value);
}

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
    double value;
    const bool held = ConvertLiteral(number, &value);
    number.clear();
    if (!held) {
      error = json::error::exponent_overflow;
      return false;
    }
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

// Compact JSON text as it is written. Appends are inline (std::string's are
// calls into the library, a fifth of a parse's time); the buffer starts at
// the input's size, which the compact form never exceeds, so it grows only
// if that ever stops being true.
class Text {
 public:
  explicit Text(size_t capacity)
      : data_(new char[capacity]), capacity_(capacity) {}

  size_t size() const { return size_; }
  std::string_view view(size_t from, size_t to) const {
    return {data_.get() + from, to - from};
  }

  void push_back(char c) {
    if (size_ == capacity_) Grow(1);
    data_[size_++] = c;
  }
  void append(const char* s, size_t n) {
    if (n > capacity_ - size_) Grow(n);
    std::memcpy(data_.get() + size_, s, n);
    size_ += n;
  }

 private:
  void Grow(size_t n) {
    capacity_ = std::max(2 * capacity_, size_ + n);
    std::unique_ptr<char[]> data(new char[capacity_]);
    std::memcpy(data.get(), data_.get(), size_);
    data_ = std::move(data);
  }

  std::unique_ptr<char[]> data_;
  size_t size_ = 0;
  size_t capacity_;
};

// The bytes of the little-endian word `v` that end a run of plain string
// bytes: a control character, '"', '\\' or a byte of a multi-byte UTF-8
// sequence (checked apart), each marked by its high bit. Bits above the
// lowest may be false alarms (borrows), the lowest is exact. Bit tricks
// rather than SIMD, so that wasm without SIMD gets them too.
uint64_t SpecialBytes(uint64_t v) {
  constexpr uint64_t kOnes = 0x0101010101010101;
  constexpr uint64_t kHigh = 0x8080808080808080;
  auto zero_bytes = [](uint64_t x) { return (x - kOnes) & ~x & kHigh; };
  return ((v - kOnes * 0x20) & ~v & kHigh) | zero_bytes(v ^ (kOnes * '"')) |
         zero_bytes(v ^ (kOnes * '\\')) | (v & kHigh);
}

bool IsPlain(char c) {
  const unsigned char u = static_cast<unsigned char>(c);
  return u >= 0x20 && u < 0x80 && c != '"' && c != '\\';
}

bool IsSpace(char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; }

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// True when the digits of the integer literal `digits` (no sign) exceed
// those of `limit`, a number of as many or fewer digits.
bool Exceeds(std::string_view digits, std::string_view limit) {
  return digits.size() != limit.size() ? digits.size() > limit.size()
                                       : digits > limit;
}

// Validates a JSON document and writes it compact, in one pass over its
// bytes, noting where the stored values are (ParseJsonWithValues). It
// accepts what Boost.JSON's parser accepts, with the same error codes, and
// writes strings as boost::json::serialize does; numbers are copied as
// written and converted only when they may name no double. Input that is
// already compact is copied in runs, between the whitespace and escapes
// that change: most bodies (JSON.stringify's) in one.
class Splitter {
 public:
  Splitter(std::string_view text, int max_depth, int value_level)
      : p_(text.data()),
        end_(text.data() + text.size()),
        kept_(text.data()),
        max_depth_(max_depth),
        value_level_(value_level),
        out_(text.size()) {}

  // On success, `values` gets the stored values and `envelope` the rest,
  // each stored value replaced by its index in `values`.
  bool Run(std::string* envelope, std::vector<std::string>* values,
           json::error_code& error) {
    if (!Document()) {
      error = error_;
      return false;
    }
    size_t from = 0;
    for (const auto& [begin, end] : cuts_) {
      const std::string_view before = out_.view(from, begin);
      envelope->append(before.data(), before.size());
      envelope->append(std::to_string(values->size()));
      values->emplace_back(out_.view(begin, end));
      from = end;
    }
    const std::string_view rest = out_.view(from, out_.size());
    envelope->append(rest.data(), rest.size());
    return true;
  }

 private:
  bool Fail(json::error error) {
    error_ = error;
    return false;
  }

  // Copies the input from kept_ to p_, which is written as it is.
  void Flush() {
    out_.append(kept_, p_ - kept_);
    kept_ = p_;
  }

  // The size of the output so far, including what is not copied yet.
  size_t written() const { return out_.size() + (p_ - kept_); }

  void SkipWhitespace() {
    if (p_ == end_ || !IsSpace(*p_)) return;
    Flush();
    while (p_ != end_ && IsSpace(*p_)) ++p_;
    kept_ = p_;
  }

  size_t depth() const { return open_.size(); }

  bool Document() {
    for (;;) {
      // A value begins.
      SkipWhitespace();
      if (p_ == end_) return Fail(json::error::incomplete);
      if (pending_ && *p_ != '"') {
        cut_begin_ = written();
        cut_depth_ = depth();
        cutting_ = true;
      }
      pending_ = false;
      bool opened = false;
      switch (*p_) {
        case '{':
        case '[':
          if (!Open(&opened)) return false;
          break;
        case '"':
          if (!String()) return false;
          break;
        case 't':
          if (!Literal("true")) return false;
          break;
        case 'f':
          if (!Literal("false")) return false;
          break;
        case 'n':
          if (!Literal("null")) return false;
          break;
        default:
          if (!Number()) return false;
      }
      if (opened) continue;  // its first value comes next
      // A value has ended: close what it ends, up to the next value.
      for (;;) {
        if (cutting_ && depth() == cut_depth_) {
          cuts_.emplace_back(cut_begin_, written());
          cutting_ = false;
        }
        SkipWhitespace();
        if (depth() == 0) {
          if (p_ != end_) return Fail(json::error::extra_data);
          Flush();
          return true;
        }
        if (p_ == end_) return Fail(json::error::incomplete);
        const char c = *p_++;
        const bool in_object = open_.back() == '{';
        if (c == (in_object ? '}' : ']')) {
          open_.pop_back();
          continue;
        }
        if (c != ',') return Fail(json::error::syntax);
        if (in_object && !Key()) return false;
        break;
      }
    }
  }

  // At '{' or '[': sets *opened when a first value follows (not "{}").
  bool Open(bool* opened) {
    if (depth() >= static_cast<size_t>(max_depth_)) {
      return Fail(json::error::too_deep);
    }
    const char open = *p_++;
    const char close = open == '{' ? '}' : ']';
    SkipWhitespace();
    if (p_ != end_ && *p_ == close) {
      ++p_;
      return true;
    }
    open_.push_back(open);
    *opened = true;
    return open == '[' || Key();
  }

  // A key and its ':'. Notes whether the value that follows is stored.
  bool Key() {
    SkipWhitespace();
    if (p_ == end_) return Fail(json::error::incomplete);
    if (*p_ != '"') return Fail(json::error::syntax);
    // Keys at the level of stored values are few: flushed to be compared.
    const bool at_level = static_cast<int>(depth()) == value_level_;
    if (at_level) Flush();
    const size_t begin = out_.size();
    if (!String()) return false;
    if (at_level) {
      Flush();
      pending_ = out_.view(begin, out_.size()) == "\"value\"";
    }
    SkipWhitespace();
    if (p_ == end_) return Fail(json::error::incomplete);
    if (*p_++ != ':') return Fail(json::error::syntax);
    return true;
  }

  bool Literal(std::string_view word) {
    const size_t n = std::min(word.size(), static_cast<size_t>(end_ - p_));
    if (std::string_view(p_, n) != word.substr(0, n)) {
      return Fail(json::error::syntax);
    }
    if (n < word.size()) return Fail(json::error::incomplete);
    p_ += n;
    return true;
  }

  bool Digits(bool* any) {
    const char* const begin = p_;
    while (p_ != end_ && IsDigit(*p_)) ++p_;
    *any = p_ != begin;
    return *any ||
           Fail(p_ == end_ ? json::error::incomplete : json::error::syntax);
  }

  bool Number() {
    const char* const begin = p_;
    const bool negative = *p_ == '-';
    if (negative) ++p_;
    if (p_ == end_) return Fail(json::error::incomplete);
    const char* const integer = p_;
    bool any;
    if (*p_ == '0') {
      ++p_;
    } else if (!Digits(&any)) {
      return false;
    }
    const std::string_view digits(integer, p_ - integer);
    bool whole = true;
    if (p_ != end_ && *p_ == '.') {
      whole = false;
      ++p_;
      if (!Digits(&any)) return false;
    }
    int64_t exponent = 0;
    if (p_ != end_ && (*p_ == 'e' || *p_ == 'E')) {
      whole = false;
      ++p_;
      const bool minus = p_ != end_ && *p_ == '-';
      if (p_ != end_ && (*p_ == '-' || *p_ == '+')) ++p_;
      const char* const exponent_digits = p_;
      if (!Digits(&any)) return false;
      for (const char* d = exponent_digits; d != p_; ++d) {
        exponent = exponent * 10 + (*d - '0');
        // Boost.JSON refuses an exponent past INT_MAX.
        if (exponent > 2147483647) return Fail(json::error::exponent_overflow);
      }
      if (minus) exponent = -exponent;
    }
    // Boost.JSON keeps integers within int64 (negative) or uint64 exactly;
    // past those, and for numbers that may be past binary64's range, the
    // literal must name a double.
    const bool check =
        whole ? Exceeds(digits, negative ? "9223372036854775808"
                                         : "18446744073709551615")
              : static_cast<int64_t>(digits.size()) + exponent > 300;
    double value;
    if (check && !ConvertLiteral(std::string(begin, p_), &value)) {
      return Fail(json::error::exponent_overflow);
    }
    return true;
  }

  bool String() {
    ++p_;  // the opening quote
    for (;;) {
      while (end_ - p_ >= 8) {
        uint64_t eight;
        std::memcpy(&eight, p_, 8);
        const uint64_t special = SpecialBytes(eight);
        if (special != 0) {
          p_ += __builtin_ctzll(special) / 8;  // the first special byte
          break;
        }
        p_ += 8;
      }
      while (p_ != end_ && IsPlain(*p_)) ++p_;
      if (p_ == end_) return Fail(json::error::incomplete);
      const unsigned char c = static_cast<unsigned char>(*p_);
      if (c == '"') {
        ++p_;
        return true;
      }
      if (c == '\\') {
        if (!Escape()) return false;
      } else if (c < 0x20) {
        return Fail(json::error::syntax);
      } else if (!Utf8()) {
        return false;
      }
    }
  }

  // One UTF-8 sequence of 2 to 4 bytes, checked as the Unicode standard's
  // table of well-formed sequences does (no overlong forms, no surrogates).
  bool Utf8() {
    const unsigned char c = static_cast<unsigned char>(*p_);
    int n;
    unsigned char low = 0x80;
    unsigned char high = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) {
      n = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
      n = 3;
      if (c == 0xE0) low = 0xA0;
      if (c == 0xED) high = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      n = 4;
      if (c == 0xF0) low = 0x90;
      if (c == 0xF4) high = 0x8F;
    } else {
      return Fail(json::error::syntax);
    }
    for (int i = 1; i < n; ++i) {
      if (end_ - p_ <= i) return Fail(json::error::incomplete);
      const unsigned char next = static_cast<unsigned char>(p_[i]);
      if (next < (i == 1 ? low : 0x80) || next > (i == 1 ? high : 0xBF)) {
        return Fail(json::error::syntax);
      }
    }
    p_ += n;
    return true;
  }

  bool Hex4(unsigned* unit) {
    if (end_ - p_ < 4) return Fail(json::error::incomplete);
    *unit = 0;
    for (int i = 0; i < 4; ++i) {
      const char c = *p_++;
      const int digit = IsDigit(c)             ? c - '0'
                        : c >= 'a' && c <= 'f' ? c - 'a' + 10
                        : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                               : -1;
      if (digit < 0) return Fail(json::error::expected_hex_digit);
      *unit = *unit << 4 | digit;
    }
    return true;
  }

  bool Escape() {
    if (end_ - p_ < 2) return Fail(json::error::incomplete);
    const char e = p_[1];
    p_ += 2;
    switch (e) {
      case '"':
      case '\\':
      case 'b':
      case 'f':
      case 'n':
      case 'r':
      case 't':
        return true;  // written as it is
      case '/':
        p_ -= 2;
        Flush();
        p_ += 2;
        kept_ = p_;
        out_.push_back('/');
        return true;
      case 'u':
        break;
      default:
        return Fail(json::error::syntax);
    }
    // Written anew, from the decoded code point.
    p_ -= 2;
    Flush();
    p_ += 2;
    unsigned code;
    if (!Hex4(&code)) return false;
    if (code >= 0xDC00 && code <= 0xDFFF) {
      return Fail(json::error::illegal_leading_surrogate);
    }
    if (code >= 0xD800 && code <= 0xDBFF) {
      if (end_ - p_ < 2) return Fail(json::error::incomplete);
      if (p_[0] != '\\' || p_[1] != 'u') {
        return Fail(json::error::syntax);
      }
      p_ += 2;
      unsigned low;
      if (!Hex4(&low)) return false;
      if (low < 0xDC00 || low > 0xDFFF) {
        return Fail(json::error::illegal_trailing_surrogate);
      }
      code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00);
    }
    AppendCodePoint(code);
    kept_ = p_;
    return true;
  }

  // As boost::json::serialize writes it, so that sizes stay as they were.
  void AppendCodePoint(unsigned code) {
    static constexpr char kHex[] = "0123456789abcdef";
    const char* const short_form = code == '"'    ? "\\\""
                                   : code == '\\' ? "\\\\"
                                   : code == '\b' ? "\\b"
                                   : code == '\t' ? "\\t"
                                   : code == '\n' ? "\\n"
                                   : code == '\f' ? "\\f"
                                   : code == '\r' ? "\\r"
                                                  : nullptr;
    if (short_form != nullptr) {
      out_.append(short_form, 2);
    } else if (code < 0x20) {
      const char unicode[] = {'\\',           'u', '0', '0', kHex[code >> 4],
                              kHex[code & 15]};
      out_.append(unicode, sizeof unicode);
    } else if (code < 0x80) {
      out_.push_back(static_cast<char>(code));
    } else if (code < 0x800) {
      const char utf8[] = {static_cast<char>(0xC0 | code >> 6),
                           static_cast<char>(0x80 | (code & 0x3F))};
      out_.append(utf8, 2);
    } else if (code < 0x10000) {
      const char utf8[] = {static_cast<char>(0xE0 | code >> 12),
                           static_cast<char>(0x80 | (code >> 6 & 0x3F)),
                           static_cast<char>(0x80 | (code & 0x3F))};
      out_.append(utf8, 3);
    } else {
      const char utf8[] = {static_cast<char>(0xF0 | code >> 18),
                           static_cast<char>(0x80 | (code >> 12 & 0x3F)),
                           static_cast<char>(0x80 | (code >> 6 & 0x3F)),
                           static_cast<char>(0x80 | (code & 0x3F))};
      out_.append(utf8, 4);
    }
  }

  const char* p_;
  const char* const end_;
  const char* kept_;  // input from here to p_ is output not copied yet
  const int max_depth_;
  const int value_level_;
  Text out_;
  std::string open_;  // '{' or '[' per open container
  json::error error_;
  bool pending_ = false;  // the next value is a stored value, if no string
  bool cutting_ = false;  // a stored value is being written
  size_t cut_begin_ = 0;
  size_t cut_depth_ = 0;
  std::vector<std::pair<size_t, size_t>> cuts_;  // stored values in out_
};

}  // namespace

bool IntegerLiteralNames(std::string_view literal, double value) {
  if (!literal.empty() && literal[0] == '-') literal.remove_prefix(1);
  const double magnitude = std::fabs(value);
  // Below 10^15 < 2^53 every integer is a double: compare exactly, without
  // the formatting below, which is slow in wasm (printf works in 128-bit
  // long double there).
  if (!literal.empty() && literal.size() <= 15) {
    uint64_t integer = 0;
    for (char c : literal) integer = integer * 10 + (c - '0');
    return static_cast<double>(integer) == magnitude;
  }
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

json::value ParseJsonWithValues(std::string_view text, int max_depth,
                                int value_level, json::storage_ptr storage,
                                std::vector<std::string>* values,
                                json::error_code& error) {
  std::string envelope;
  if (!Splitter(text, max_depth, value_level).Run(&envelope, values, error)) {
    return nullptr;
  }
  return ParseJson(envelope, max_depth, std::move(storage), error);
}

}  // namespace kv
