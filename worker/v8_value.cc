#include "v8_value.h"

#include <algorithm>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "kv_limits.h"

namespace kv {
namespace {

// Tags of V8's SerializationTag (src/objects/value-serializer.cc).
constexpr uint8_t kVersion = 0xFF;
constexpr uint8_t kPadding = 0x00;
constexpr uint8_t kVerifyObjectCount = '?';
constexpr uint8_t kTheHole = '-';
constexpr uint8_t kUndefined = '_';
constexpr uint8_t kNull = '0';
constexpr uint8_t kTrue = 'T';
constexpr uint8_t kFalse = 'F';
constexpr uint8_t kInt32 = 'I';
constexpr uint8_t kUint32 = 'U';
constexpr uint8_t kDouble = 'N';
constexpr uint8_t kBigInt = 'Z';
constexpr uint8_t kUtf8String = 'S';
constexpr uint8_t kOneByteString = '"';
constexpr uint8_t kTwoByteString = 'c';
constexpr uint8_t kObjectReference = '^';
constexpr uint8_t kBeginJSObject = 'o';
constexpr uint8_t kEndJSObject = '{';
constexpr uint8_t kBeginSparseJSArray = 'a';
constexpr uint8_t kEndSparseJSArray = '@';
constexpr uint8_t kBeginDenseJSArray = 'A';
constexpr uint8_t kEndDenseJSArray = '$';
constexpr uint8_t kDate = 'D';
constexpr uint8_t kTrueObject = 'y';
constexpr uint8_t kFalseObject = 'x';
constexpr uint8_t kNumberObject = 'n';
constexpr uint8_t kBigIntObject = 'z';
constexpr uint8_t kStringObject = 's';
constexpr uint8_t kRegExp = 'R';
constexpr uint8_t kBeginJSMap = ';';
constexpr uint8_t kEndJSMap = ':';
constexpr uint8_t kBeginJSSet = '\'';
constexpr uint8_t kEndJSSet = ',';
constexpr uint8_t kArrayBuffer = 'B';
constexpr uint8_t kResizableArrayBuffer = '~';
constexpr uint8_t kArrayBufferTransfer = 't';
constexpr uint8_t kArrayBufferView = 'V';
constexpr uint8_t kSharedArrayBuffer = 'u';
constexpr uint8_t kSharedObject = 'p';
constexpr uint8_t kWasmModuleTransfer = 'w';
constexpr uint8_t kHostObject = '\\';
constexpr uint8_t kWasmMemoryTransfer = 'm';
constexpr uint8_t kError = 'r';

// Fields of an error (V8's ErrorTag).
constexpr uint8_t kErrorMessage = 'm';
constexpr uint8_t kErrorCause = 'c';
constexpr uint8_t kErrorStack = 's';
constexpr uint8_t kErrorEnd = '.';

constexpr uint32_t kOldestVersion = 13;  // the first with kHostObject
// Deno 2.9's V8 writes version 16 (seen from the deno CLI in
// tests/e2e/kv_connect.test.js); what V8 16 adds is no JSON, and the tags
// read here are the same. The writer keeps 15, which every V8 reads.
constexpr uint32_t kLatestVersion = 16;
constexpr uint32_t kWrittenVersion = 15;
constexpr uint32_t kFirstVersionWithViewFlags = 14;
// Version 16 writes ArrayBuffers' and views' lengths and offsets as 64-bit
// varints (a resizable buffer's maximum may pass 4 GiB).
constexpr uint32_t kFirstVersionWith64BitSizes = 16;

// The largest array index: 2^32 - 2.
constexpr uint32_t kMaxArrayIndex = 4294967294u;

std::string Hex(uint8_t byte) {
  static const char kDigits[] = "0123456789ABCDEF";
  return std::string("0x") + kDigits[byte >> 4] + kDigits[byte & 15];
}

// ---- Numbers as JavaScript writes them ------------------------------------

// Appends String(d) for a finite d, as Number.prototype.toString writes it
// (ECMA-262 Number::toString): the shortest digits that read back as d, in
// plain notation from 1e-6 up to 1e21 and as d.ddde+x past those. -0 gives
// "0".
void AppendJsNumber(double d, std::string* out) {
  if (d == 0) {
    out->push_back('0');
    return;
  }
  if (d < 0) {
    out->push_back('-');
    d = -d;
  }
  if (d < 9007199254740992.0 && d == std::floor(d)) {
    out->append(std::to_string(static_cast<uint64_t>(d)));
    return;
  }
  // Boost.JSON writes a double's shortest round-trip digits (Ryu), as
  // D[.DDD]E[-]X; its digits and exponent are all that is used.
  const std::string text = boost::json::serialize(boost::json::value(d));
  std::string digits;
  int point = 0;  // d = 0.digits * 10^point
  bool fraction = false;
  size_t i = 0;
  for (; i < text.size() && text[i] != 'e' && text[i] != 'E'; ++i) {
    const char c = text[i];
    if (c == '.') {
      fraction = true;
    } else if (c >= '0' && c <= '9') {
      if (digits.empty() && c == '0') {
        if (fraction) --point;  // a leading zero after the point
        continue;
      }
      digits.push_back(c);
      if (!fraction) ++point;
    }
  }
  if (i < text.size()) point += std::atoi(text.c_str() + i + 1);
  while (!digits.empty() && digits.back() == '0') digits.pop_back();
  if (digits.empty()) {  // not reached for d != 0
    out->push_back('0');
    return;
  }
  const int k = static_cast<int>(digits.size());
  const int n = point;
  if (k <= n && n <= 21) {
    out->append(digits);
    out->append(static_cast<size_t>(n - k), '0');
  } else if (0 < n && n <= 21) {
    out->append(digits, 0, n);
    out->push_back('.');
    out->append(digits, n, std::string::npos);
  } else if (-6 < n && n <= 0) {
    out->append("0.");
    out->append(static_cast<size_t>(-n), '0');
    out->append(digits);
  } else {
    out->push_back(digits[0]);
    if (k > 1) {
      out->push_back('.');
      out->append(digits, 1, std::string::npos);
    }
    out->push_back('e');
    out->push_back(n - 1 >= 0 ? '+' : '-');
    out->append(std::to_string(std::abs(n - 1)));
  }
}

// True when `text` is an array index: the canonical decimal text of an
// integer from 0 to 2^32 - 2.
bool IsArrayIndex(std::string_view text, uint32_t* index) {
  if (text.empty() || text.size() > 10) return false;
  if (text.size() > 1 && text[0] == '0') return false;
  uint64_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
    value = value * 10 + static_cast<uint64_t>(c - '0');
  }
  if (value > kMaxArrayIndex) return false;
  *index = static_cast<uint32_t>(value);
  return true;
}

// ---- JSON strings ----------------------------------------------------------

// Appends code point `c` of a string as JSON.stringify writes it.
void AppendJsonChar(uint32_t c, std::string* out) {
  static const char kHex[] = "0123456789abcdef";
  if (c < 0x80) {
    switch (c) {
      case '"':
        out->append("\\\"");
        return;
      case '\\':
        out->append("\\\\");
        return;
      case '\b':
        out->append("\\b");
        return;
      case '\f':
        out->append("\\f");
        return;
      case '\n':
        out->append("\\n");
        return;
      case '\r':
        out->append("\\r");
        return;
      case '\t':
        out->append("\\t");
        return;
      default:
        if (c < 0x20) {
          out->append("\\u00");
          out->push_back(kHex[c >> 4]);
          out->push_back(kHex[c & 15]);
        } else {
          out->push_back(static_cast<char>(c));
        }
        return;
    }
  }
  if (c < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (c >> 6)));
  } else if (c < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (c >> 12)));
    out->push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (c >> 18)));
    out->push_back(static_cast<char>(0x80 | ((c >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
  }
  out->push_back(static_cast<char>(0x80 | (c & 0x3F)));
}

void AppendLatin1Json(const uint8_t* data, size_t n, std::string* out) {
  out->push_back('"');
  for (size_t i = 0; i < n; ++i) AppendJsonChar(data[i], out);
  out->push_back('"');
}

// False (with *out partly written) at a lone surrogate.
bool AppendUtf16Json(const uint8_t* data, size_t units, std::string* out) {
  out->push_back('"');
  for (size_t i = 0; i < units; ++i) {
    uint32_t c = data[2 * i] | (static_cast<uint32_t>(data[2 * i + 1]) << 8);
    if (c >= 0xD800 && c <= 0xDFFF) {
      if (c >= 0xDC00 || i + 1 == units) return false;
      const uint32_t low =
          data[2 * i + 2] | (static_cast<uint32_t>(data[2 * i + 3]) << 8);
      if (low < 0xDC00 || low > 0xDFFF) return false;
      c = 0x10000 + ((c - 0xD800) << 10) + (low - 0xDC00);
      ++i;
    }
    AppendJsonChar(c, out);
  }
  out->push_back('"');
  return true;
}

// Decodes one UTF-8 sequence of data[*i..n) into *c; false when it is not
// valid UTF-8 (overlong, a surrogate, past U+10FFFF, cut short).
bool DecodeUtf8(const uint8_t* data, size_t n, size_t* i, uint32_t* c) {
  const uint8_t lead = data[*i];
  int more;
  uint32_t min;
  if (lead < 0x80) {
    *c = lead;
    ++*i;
    return true;
  } else if ((lead & 0xE0) == 0xC0) {
    more = 1, min = 0x80, *c = lead & 0x1F;
  } else if ((lead & 0xF0) == 0xE0) {
    more = 2, min = 0x800, *c = lead & 0x0F;
  } else if ((lead & 0xF8) == 0xF0) {
    more = 3, min = 0x10000, *c = lead & 0x07;
  } else {
    return false;
  }
  if (n - *i <= static_cast<size_t>(more)) return false;
  for (int k = 1; k <= more; ++k) {
    const uint8_t next = data[*i + k];
    if ((next & 0xC0) != 0x80) return false;
    *c = (*c << 6) | (next & 0x3F);
  }
  if (*c < min || *c > 0x10FFFF || (*c >= 0xD800 && *c <= 0xDFFF)) {
    return false;
  }
  *i += 1 + more;
  return true;
}

// False (with *out partly written) when `data` is not valid UTF-8.
bool AppendUtf8Json(const uint8_t* data, size_t n, std::string* out) {
  out->push_back('"');
  size_t i = 0;
  while (i < n) {
    uint32_t c;
    if (!DecodeUtf8(data, n, &i, &c)) return false;
    AppendJsonChar(c, out);
  }
  out->push_back('"');
  return true;
}

// ---- V8 bytes to JSON ------------------------------------------------------

class V8Reader {
 public:
  explicit V8Reader(std::string_view bytes)
      : begin_(reinterpret_cast<const uint8_t*>(bytes.data())),
        p_(begin_),
        end_(begin_ + bytes.size()) {}

  Status Read(std::string* json, bool* is_json) {
    if (p_ == end_ || *p_ != kVersion) {
      return Invalid(
          "bad header: the bytes must start with 0xFF (V8's version tag)");
    }
    ++p_;
    KV_RETURN_IF_ERROR(ReadVarint(&version_, "the format version"));
    if (version_ < kOldestVersion || version_ > kLatestVersion) {
      return Invalid("bad header: format version " + std::to_string(version_) +
                     "; versions " + std::to_string(kOldestVersion) + " to " +
                     std::to_string(kLatestVersion) + " are read");
    }
    KV_RETURN_IF_ERROR(ReadValue(0));
    while (p_ != end_ && *p_ == kPadding) ++p_;
    if (p_ != end_) {
      return Invalid("trailing bytes after the value, from byte " +
                     std::to_string(Offset()));
    }
    *is_json = json_;
    if (json_) *json = std::move(out_);
    return Status::OK();
  }

 private:
  // What an object key read says about itself.
  struct Key {
    bool json;      // it has a JSON form (no lone surrogate)
    bool is_index;  // it is an array index, `index`
    uint32_t index;
  };

  // A member of an object being written as JSON: out_[begin, end) holds
  // "key":value, out_[begin, key_end) the key.
  struct Member {
    size_t begin;
    size_t key_end;
    size_t end;
    bool is_index;
    uint32_t index;
  };

  // An ArrayBuffer read, which a view may follow.
  struct Buffer {
    uint32_t id;
    uint64_t length;
    bool resizable;
  };

  size_t Offset() const { return static_cast<size_t>(p_ - begin_); }
  size_t Left() const { return static_cast<size_t>(end_ - p_); }

  Status Invalid(std::string what) const {
    return Status::Error(Code::kInvalidRequest, std::move(what));
  }

  Status Truncated(std::string_view what) const {
    return Invalid("truncated: " + std::string(what) + " at byte " +
                   std::to_string(Offset()) + " runs past the end");
  }

  Status TooDeep() const {
    return Status::Error(
        Code::kNestingTooDeep,
        "arrays, objects, maps, sets or errors nested deeper than " +
            std::to_string(kMaxJsonDepth) + " levels (at byte " +
            std::to_string(Offset()) + ")");
  }

  // The value is valid but has no JSON form: stop writing JSON.
  void NotJson() {
    json_ = false;
    out_.clear();
  }

  void Put(char c) {
    if (json_) out_.push_back(c);
  }
  void Put(std::string_view s) {
    if (json_) out_.append(s);
  }

  Status ReadVarint(uint32_t* value, std::string_view what) {
    uint32_t result = 0;
    for (int shift = 0; shift < 35; shift += 7) {
      if (p_ == end_) return Truncated(what);
      const uint8_t byte = *p_++;
      result |= static_cast<uint32_t>(byte & 0x7F) << shift;
      if (!(byte & 0x80)) {
        *value = result;
        return Status::OK();
      }
    }
    return Invalid(std::string(what) + " ending at byte " +
                   std::to_string(Offset()) +
                   " is a varint longer than 5 bytes");
  }

  Status ReadVarint64(uint64_t* value, std::string_view what) {
    uint64_t result = 0;
    for (int shift = 0; shift < 70; shift += 7) {
      if (p_ == end_) return Truncated(what);
      const uint8_t byte = *p_++;
      result |= static_cast<uint64_t>(byte & 0x7F) << shift;
      if (!(byte & 0x80)) {
        *value = result;
        return Status::OK();
      }
    }
    return Invalid(std::string(what) + " ending at byte " +
                   std::to_string(Offset()) +
                   " is a varint longer than 10 bytes");
  }

  // An ArrayBuffer's or a view's length or offset: 32 bits before version
  // 16, 64 since.
  Status ReadSize(uint64_t* value, std::string_view what) {
    if (version_ >= kFirstVersionWith64BitSizes) {
      return ReadVarint64(value, what);
    }
    uint32_t narrow;
    KV_RETURN_IF_ERROR(ReadVarint(&narrow, what));
    *value = narrow;
    return Status::OK();
  }

  Status ReadDouble(double* value) {
    if (Left() < 8) return Truncated("a double");
    uint64_t bits = 0;
    for (int i = 7; i >= 0; --i) bits = (bits << 8) | p_[i];
    p_ += 8;
    std::memcpy(value, &bits, sizeof bits);
    return Status::OK();
  }

  // Takes `n` bytes, which a length at byte `at` declared.
  Status Take(uint64_t n, size_t at, std::string_view what,
              const uint8_t** data) {
    if (n > Left()) {
      return Invalid(std::string(what) + " " + std::to_string(n) + " at byte " +
                     std::to_string(at) + " is more than the " +
                     std::to_string(Left()) + " bytes left");
    }
    *data = p_;
    p_ += n;
    return Status::OK();
  }

  // Skips padding; false at the end.
  bool SkipPadding() {
    while (p_ != end_ && *p_ == kPadding) ++p_;
    return p_ != end_;
  }

  // Consumes `tag` (after any padding) if it comes next.
  bool ConsumeIf(uint8_t tag) {
    if (!SkipPadding() || *p_ != tag) return false;
    ++p_;
    return true;
  }

  // Reads the tag of the next value: skips padding and object-count hints.
  Status ReadValueTag(uint8_t* tag) {
    for (;;) {
      if (!SkipPadding()) return Truncated("a value");
      *tag = *p_++;
      if (*tag != kVerifyObjectCount) return Status::OK();
      uint32_t ignored;
      KV_RETURN_IF_ERROR(ReadVarint(&ignored, "an object count"));
    }
  }

  uint32_t NewId() { return next_id_++; }

  static bool IsStringTag(uint8_t tag) {
    return tag == kOneByteString || tag == kTwoByteString || tag == kUtf8String;
  }

  // Reads the rest of a string item of `tag`. When `out` is not null,
  // appends its JSON text there and sets *json to whether it has one.
  Status ReadStringBody(uint8_t tag, std::string* out, bool* json) {
    const size_t at = Offset();
    uint32_t n;
    KV_RETURN_IF_ERROR(ReadVarint(&n, "a string's length"));
    if (tag == kTwoByteString && n % 2 != 0) {
      return Invalid("a two-byte string at byte " + std::to_string(at) +
                     " has an odd byte length " + std::to_string(n));
    }
    const uint8_t* data;
    KV_RETURN_IF_ERROR(Take(n, at, "string length", &data));
    if (out == nullptr) return Status::OK();
    if (tag == kOneByteString) {
      AppendLatin1Json(data, n, out);
      *json = true;
    } else if (tag == kTwoByteString) {
      *json = AppendUtf16Json(data, n / 2, out);
    } else {
      *json = AppendUtf8Json(data, n, out);
    }
    return Status::OK();
  }

  // Reads a value that must be a string (a RegExp's source, a String
  // object's, an error's message or stack): skipped, not written.
  Status SkipString() {
    const size_t at = Offset();
    uint8_t tag;
    KV_RETURN_IF_ERROR(ReadValueTag(&tag));
    if (!IsStringTag(tag)) {
      return Invalid("a string expected at byte " + std::to_string(at) +
                     ", found tag " + Hex(tag));
    }
    return ReadStringBody(tag, nullptr, nullptr);
  }

  // Reads an object key (V8 takes a number or a string) into *text as a JSON
  // string.
  Status ReadKey(std::string* text, Key* key) {
    const size_t at = Offset();
    uint8_t tag;
    KV_RETURN_IF_ERROR(ReadValueTag(&tag));
    text->clear();
    key->json = true;
    if (tag == kInt32 || tag == kUint32) {
      uint32_t raw;
      KV_RETURN_IF_ERROR(ReadVarint(&raw, "an integer key"));
      const int64_t value =
          tag == kUint32 ? int64_t{raw}
                         : static_cast<int64_t>(raw >> 1) ^ -int64_t{raw & 1};
      *text = '"' + std::to_string(value) + '"';
    } else if (tag == kDouble) {
      double d;
      KV_RETURN_IF_ERROR(ReadDouble(&d));
      text->push_back('"');
      if (std::isnan(d)) {
        text->append("NaN");
      } else if (std::isinf(d)) {
        text->append(d > 0 ? "Infinity" : "-Infinity");
      } else {
        AppendJsNumber(d, text);
      }
      text->push_back('"');
    } else if (IsStringTag(tag)) {
      KV_RETURN_IF_ERROR(ReadStringBody(tag, text, &key->json));
    } else {
      return Invalid("an object key at byte " + std::to_string(at) +
                     " has tag " + Hex(tag) + "; keys are numbers or strings");
    }
    key->is_index =
        key->json && text->size() >= 2 &&
        IsArrayIndex(std::string_view(*text).substr(1, text->size() - 2),
                     &key->index);
    return Status::OK();
  }

  Status ReadValue(int depth) {
    const size_t at = Offset();
    uint8_t tag;
    KV_RETURN_IF_ERROR(ReadValueTag(&tag));
    const Buffer* buffer = nullptr;
    switch (tag) {
      case kNull:
        Put("null");
        break;
      case kTrue:
        Put("true");
        break;
      case kFalse:
        Put("false");
        break;
      case kUndefined:
        NotJson();
        break;
      case kInt32: {
        uint32_t raw;
        KV_RETURN_IF_ERROR(ReadVarint(&raw, "an int32"));
        const int64_t value =
            static_cast<int64_t>(raw >> 1) ^ -static_cast<int64_t>(raw & 1);
        Put(std::to_string(value));
        break;
      }
      case kUint32: {
        uint32_t value;
        KV_RETURN_IF_ERROR(ReadVarint(&value, "a uint32"));
        Put(std::to_string(value));
        break;
      }
      case kDouble: {
        double d;
        KV_RETURN_IF_ERROR(ReadDouble(&d));
        if (!std::isfinite(d)) {
          NotJson();
        } else if (json_) {
          if (d == 0 && std::signbit(d)) out_.push_back('-');
          AppendJsNumber(d, &out_);
        }
        break;
      }
      case kBigInt:
        NotJson();
        KV_RETURN_IF_ERROR(ReadBigInt());
        break;
      case kOneByteString:
      case kTwoByteString:
      case kUtf8String: {
        bool json = false;
        KV_RETURN_IF_ERROR(ReadStringBody(tag, json_ ? &out_ : nullptr, &json));
        if (!json) NotJson();
        break;
      }
      case kObjectReference: {
        NotJson();
        uint32_t id;
        KV_RETURN_IF_ERROR(ReadVarint(&id, "an object reference"));
        if (id >= next_id_) {
          return Invalid("the reference at byte " + std::to_string(at) +
                         " names object " + std::to_string(id) + " of " +
                         std::to_string(next_id_) + " read so far");
        }
        buffer = FindBuffer(id);
        break;
      }
      case kBeginJSObject:
        KV_RETURN_IF_ERROR(ReadObject(depth + 1));
        break;
      case kBeginDenseJSArray:
        KV_RETURN_IF_ERROR(ReadDenseArray(depth + 1));
        break;
      case kBeginSparseJSArray:
        KV_RETURN_IF_ERROR(ReadSparseArray(depth + 1));
        break;
      case kDate:
      case kNumberObject: {
        NotJson();
        NewId();
        double ignored;
        KV_RETURN_IF_ERROR(ReadDouble(&ignored));
        break;
      }
      case kTrueObject:
      case kFalseObject:
        NotJson();
        NewId();
        break;
      case kBigIntObject:
        NotJson();
        NewId();
        KV_RETURN_IF_ERROR(ReadBigInt());
        break;
      case kStringObject:
        NotJson();
        NewId();
        KV_RETURN_IF_ERROR(SkipString());
        break;
      case kRegExp: {
        NotJson();
        NewId();
        KV_RETURN_IF_ERROR(SkipString());
        uint32_t flags;
        KV_RETURN_IF_ERROR(ReadVarint(&flags, "a RegExp's flags"));
        break;
      }
      case kBeginJSMap:
        KV_RETURN_IF_ERROR(ReadCollection(depth + 1, kEndJSMap, 2));
        break;
      case kBeginJSSet:
        KV_RETURN_IF_ERROR(ReadCollection(depth + 1, kEndJSSet, 1));
        break;
      case kArrayBuffer:
      case kResizableArrayBuffer: {
        NotJson();
        const uint32_t id = NewId();
        const size_t length_at = Offset();
        uint64_t length;
        KV_RETURN_IF_ERROR(ReadSize(&length, "an ArrayBuffer's length"));
        if (tag == kResizableArrayBuffer) {
          uint64_t max_length;
          KV_RETURN_IF_ERROR(
              ReadSize(&max_length, "an ArrayBuffer's maximum length"));
          if (length > max_length) {
            return Invalid("the resizable ArrayBuffer at byte " +
                           std::to_string(at) + " is longer than its maximum");
          }
        }
        const uint8_t* data;
        KV_RETURN_IF_ERROR(
            Take(length, length_at, "ArrayBuffer length", &data));
        buffers_.push_back({id, length, tag == kResizableArrayBuffer});
        buffer = &buffers_.back();
        break;
      }
      case kError:
        KV_RETURN_IF_ERROR(ReadError(depth + 1));
        break;
      case kHostObject: {
        // Node's layout (lib/v8.js DefaultSerializer): a typed array or
        // Buffer as its type's index, its byte length and its bytes.
        NotJson();
        NewId();
        uint32_t type;
        KV_RETURN_IF_ERROR(ReadVarint(&type, "a host object's type"));
        const size_t length_at = Offset();
        uint32_t length;
        KV_RETURN_IF_ERROR(ReadVarint(&length, "a host object's length"));
        const uint8_t* data;
        KV_RETURN_IF_ERROR(
            Take(length, length_at, "host object length", &data));
        break;
      }
      case kArrayBufferTransfer:
      case kSharedArrayBuffer:
      case kSharedObject:
      case kWasmModuleTransfer:
      case kWasmMemoryTransfer:
        return Invalid("tag " + Hex(tag) + " at byte " + std::to_string(at) +
                       " is a transferred or shared object, which cannot be "
                       "stored");
      default:
        return Invalid("unknown tag " + Hex(tag) + " at byte " +
                       std::to_string(at));
    }
    // A view follows its buffer (or a reference to it), as in V8's
    // ReadObject.
    if (buffer != nullptr && ConsumeIf(kArrayBufferView)) {
      const Buffer copy = *buffer;  // ReadView may grow buffers_
      KV_RETURN_IF_ERROR(ReadView(copy));
    }
    return Status::OK();
  }

  Status ReadBigInt() {
    const size_t at = Offset();
    uint32_t bitfield;
    KV_RETURN_IF_ERROR(ReadVarint(&bitfield, "a bigint's bitfield"));
    const uint32_t length = (bitfield >> 1) & ((uint32_t{1} << 30) - 1);
    const uint8_t* digits;
    return Take(length, at, "bigint byte length", &digits);
  }

  const Buffer* FindBuffer(uint32_t id) const {
    const auto it =
        std::lower_bound(buffers_.begin(), buffers_.end(), id,
                         [](const Buffer& b, uint32_t i) { return b.id < i; });
    return it != buffers_.end() && it->id == id ? &*it : nullptr;
  }

  Status ReadView(const Buffer& buffer) {
    const size_t at = Offset() - 1;
    NewId();
    uint32_t subtag, flags = 0;
    uint64_t offset, length;
    KV_RETURN_IF_ERROR(ReadVarint(&subtag, "a view's type"));
    KV_RETURN_IF_ERROR(ReadSize(&offset, "a view's byte offset"));
    KV_RETURN_IF_ERROR(ReadSize(&length, "a view's byte length"));
    if (version_ >= kFirstVersionWithViewFlags) {
      KV_RETURN_IF_ERROR(ReadVarint(&flags, "a view's flags"));
    }
    uint32_t size = 0;  // of an element
    switch (subtag) {
      case 'b':  // Int8Array
      case 'B':  // Uint8Array
      case 'C':  // Uint8ClampedArray
      case '?':  // DataView
        size = 1;
        break;
      case 'w':  // Int16Array
      case 'W':  // Uint16Array
      case 'h':  // Float16Array
        size = 2;
        break;
      case 'd':  // Int32Array
      case 'D':  // Uint32Array
      case 'f':  // Float32Array
        size = 4;
        break;
      case 'F':  // Float64Array
      case 'q':  // BigInt64Array
      case 'Q':  // BigUint64Array
        size = 8;
        break;
      default:
        return Invalid("the view at byte " + std::to_string(at) +
                       " has an unknown type " + std::to_string(subtag));
    }
    if (offset > buffer.length || length > buffer.length - offset ||
        offset % size != 0 || length % size != 0) {
      return Invalid("the view at byte " + std::to_string(at) + " (offset " +
                     std::to_string(offset) + ", length " +
                     std::to_string(length) + ") does not fit its buffer of " +
                     std::to_string(buffer.length) + " bytes");
    }
    // V8's ValidateJSArrayBufferViewFlags: bit 0 length-tracking, bit 1
    // backed by a resizable buffer, which must match the buffer.
    const bool length_tracking = flags & 1;
    const bool backed_by_resizable = flags & 2;
    if (backed_by_resizable != buffer.resizable ||
        (length_tracking && !buffer.resizable)) {
      return Invalid("the view at byte " + std::to_string(at) + " has flags " +
                     std::to_string(flags) + " that do not match its buffer");
    }
    return Status::OK();
  }

  // Reads an object's members, after its 'o'.
  Status ReadObject(int depth) {
    NewId();
    if (depth > kMaxJsonDepth) return TooDeep();
    const size_t begin = out_.size();
    Put('{');
    std::vector<Member> members;
    std::string key_text;
    uint64_t count = 0;
    while (!ConsumeIf(kEndJSObject)) {
      Key key{};
      KV_RETURN_IF_ERROR(ReadKey(&key_text, &key));
      if (!key.json) NotJson();
      Member member{};
      if (json_) {
        if (count != 0) out_.push_back(',');
        member = {out_.size(), 0, 0, key.is_index, key.index};
        out_.append(key_text);
        member.key_end = out_.size();
        out_.push_back(':');
      }
      KV_RETURN_IF_ERROR(ReadValue(depth));
      if (json_) {
        member.end = out_.size();
        members.push_back(member);
      }
      ++count;
    }
    KV_RETURN_IF_ERROR(ReadCount(count, "an object's property count"));
    Put('}');
    if (json_ && members.size() > 1) PutInJsOrder(begin, &members);
    return Status::OK();
  }

  // Reads the varint count that ends a container, which must be `count`.
  Status ReadCount(uint64_t count, std::string_view what) {
    const size_t at = Offset();
    uint32_t declared;
    KV_RETURN_IF_ERROR(ReadVarint(&declared, what));
    if (declared != count) {
      return Invalid(std::string(what) + " at byte " + std::to_string(at) +
                     " is " + std::to_string(declared) + " where " +
                     std::to_string(count) + " were read");
    }
    return Status::OK();
  }

  // The object just written at out_[begin..] as JavaScript holds it: a
  // repeated key has no JSON form here (V8 never writes one), and array
  // indices come first, ascending.
  void PutInJsOrder(size_t begin, std::vector<Member>* members) {
    std::vector<std::string_view> keys;
    keys.reserve(members->size());
    for (const Member& m : *members) {
      keys.emplace_back(out_.data() + m.begin, m.key_end - m.begin);
    }
    std::sort(keys.begin(), keys.end());
    if (std::adjacent_find(keys.begin(), keys.end()) != keys.end()) {
      NotJson();
      return;
    }
    const auto before = [](const Member& a, const Member& b) {
      if (a.is_index != b.is_index) return a.is_index;
      return a.is_index && a.index < b.index;
    };
    if (std::is_sorted(members->begin(), members->end(), before)) return;
    std::stable_sort(members->begin(), members->end(), before);
    std::string object = "{";
    for (const Member& m : *members) {
      if (object.size() > 1) object.push_back(',');
      object.append(out_, m.begin, m.end - m.begin);
    }
    object.push_back('}');
    out_.resize(begin);
    out_.append(object);
  }

  // Reads a dense array, after its 'A'.
  Status ReadDenseArray(int depth) {
    NewId();
    if (depth > kMaxJsonDepth) return TooDeep();
    const size_t at = Offset();
    uint32_t length;
    KV_RETURN_IF_ERROR(ReadVarint(&length, "an array's length"));
    if (length > Left()) {  // each element takes a byte at least
      return Invalid("array length " + std::to_string(length) + " at byte " +
                     std::to_string(at) + " is more than the " +
                     std::to_string(Left()) + " bytes left");
    }
    Put('[');
    for (uint32_t i = 0; i < length; ++i) {
      if (ConsumeIf(kTheHole)) {
        NotJson();
        continue;
      }
      if (i != 0) Put(',');
      KV_RETURN_IF_ERROR(ReadValue(depth));
    }
    uint64_t properties = 0;
    std::string key_text;
    while (!ConsumeIf(kEndDenseJSArray)) {
      NotJson();  // JSON has no array properties
      Key key{};
      KV_RETURN_IF_ERROR(ReadKey(&key_text, &key));
      KV_RETURN_IF_ERROR(ReadValue(depth));
      ++properties;
    }
    KV_RETURN_IF_ERROR(ReadCount(properties, "an array's property count"));
    KV_RETURN_IF_ERROR(ReadCount(length, "an array's closing length"));
    Put(']');
    return Status::OK();
  }

  // Reads a sparse array, after its 'a': JSON when its keys are 0 .. n-1.
  Status ReadSparseArray(int depth) {
    NewId();
    if (depth > kMaxJsonDepth) return TooDeep();
    uint32_t length;
    KV_RETURN_IF_ERROR(ReadVarint(&length, "an array's length"));
    Put('[');
    uint64_t properties = 0;
    std::string key_text;
    while (!ConsumeIf(kEndSparseJSArray)) {
      Key key{};
      KV_RETURN_IF_ERROR(ReadKey(&key_text, &key));
      if (!key.json || !key.is_index || key.index != properties) NotJson();
      if (properties != 0) Put(',');
      KV_RETURN_IF_ERROR(ReadValue(depth));
      ++properties;
    }
    KV_RETURN_IF_ERROR(
        ReadCount(properties, "a sparse array's property count"));
    KV_RETURN_IF_ERROR(ReadCount(length, "a sparse array's closing length"));
    if (properties != length) NotJson();  // holes
    Put(']');
    return Status::OK();
  }

  // Reads a Map (`per_entry` 2) or a Set (1), after its begin tag.
  Status ReadCollection(int depth, uint8_t end_tag, int per_entry) {
    NotJson();
    NewId();
    if (depth > kMaxJsonDepth) return TooDeep();
    uint64_t items = 0;
    while (!ConsumeIf(end_tag)) {
      for (int i = 0; i < per_entry; ++i) {
        KV_RETURN_IF_ERROR(ReadValue(depth));
      }
      items += per_entry;
    }
    return ReadCount(
        items, per_entry == 2 ? "a Map's item count" : "a Set's item count");
  }

  // Reads an Error's fields, after its 'r'.
  Status ReadError(int depth) {
    NotJson();
    NewId();
    if (depth > kMaxJsonDepth) return TooDeep();
    for (;;) {
      const size_t at = Offset();
      if (!SkipPadding()) return Truncated("an Error's fields");
      const uint8_t tag = *p_++;
      switch (tag) {
        case 'E':  // prototypes: EvalError
        case 'R':  // RangeError
        case 'F':  // ReferenceError
        case 'S':  // SyntaxError
        case 'T':  // TypeError
        case 'U':  // URIError
          break;
        case kErrorMessage:
        case kErrorStack:
          KV_RETURN_IF_ERROR(SkipString());
          break;
        case kErrorCause:
          KV_RETURN_IF_ERROR(ReadValue(depth));
          break;
        case kErrorEnd:
          return Status::OK();
        default:
          return Invalid("unknown Error field tag " + Hex(tag) + " at byte " +
                         std::to_string(at));
      }
    }
  }

  const uint8_t* const begin_;
  const uint8_t* p_;
  const uint8_t* const end_;
  uint32_t version_ = 0;
  uint32_t next_id_ = 0;  // V8's object ids, for references
  std::vector<Buffer> buffers_;
  bool json_ = true;
  std::string out_;
};

// ---- JSON text to V8 bytes -------------------------------------------------

// A JSON value parsed into nodes in document order; a container's subtree
// is nodes (i, end), an object's as key and value pairs.
struct Node {
  enum Type : uint8_t {
    kNull,
    kFalse,
    kTrue,
    kNumber,
    kString,
    kArray,
    kObject
  };
  Type type;
  size_t end = 0;    // one past this node's subtree
  size_t count = 0;  // elements, or members
  size_t text = 0;   // a string's code units in the pool
  size_t size = 0;
  double number = 0;
};

class JsonReader {
 public:
  explicit JsonReader(std::string_view text) : text_(text) {}

  Status Parse() {
    KV_RETURN_IF_ERROR(ParseValue(0));
    SkipSpace();
    if (p_ != text_.size()) return Fail("text after the value");
    return Status::OK();
  }

  const std::vector<Node>& nodes() const { return nodes_; }
  std::u16string_view Units(const Node& node) const {
    return std::u16string_view(pool_).substr(node.text, node.size);
  }

 private:
  Status Fail(std::string_view what) const {
    return Status::Error(
        Code::kInvalidJson,
        "not JSON: " + std::string(what) + " at byte " + std::to_string(p_));
  }

  void SkipSpace() {
    while (p_ < text_.size() && (text_[p_] == ' ' || text_[p_] == '\t' ||
                                 text_[p_] == '\n' || text_[p_] == '\r')) {
      ++p_;
    }
  }

  bool Next(char c) {
    SkipSpace();
    if (p_ < text_.size() && text_[p_] == c) {
      ++p_;
      return true;
    }
    return false;
  }

  Status ParseValue(int depth) {
    SkipSpace();
    if (p_ == text_.size()) return Fail("a value expected");
    const char c = text_[p_];
    if (c == '{' || c == '[') {
      if (depth + 1 > kMaxJsonDepth) {
        return Status::Error(Code::kNestingTooDeep,
                             "arrays or objects nested deeper than " +
                                 std::to_string(kMaxJsonDepth) +
                                 " levels (at byte " + std::to_string(p_) +
                                 ")");
      }
      ++p_;
      const size_t index = nodes_.size();
      nodes_.push_back({c == '{' ? Node::kObject : Node::kArray});
      const char close = c == '{' ? '}' : ']';
      size_t count = 0;
      if (!Next(close)) {
        do {
          if (c == '{') {
            SkipSpace();
            if (p_ == text_.size() || text_[p_] != '"') {
              return Fail("a key expected");
            }
            KV_RETURN_IF_ERROR(ParseString());
            if (!Next(':')) return Fail("':' expected");
          }
          KV_RETURN_IF_ERROR(ParseValue(depth + 1));
          ++count;
        } while (Next(','));
        if (!Next(close)) return Fail("',' or the end of a container expected");
      }
      nodes_[index].count = count;
      nodes_[index].end = nodes_.size();
      return Status::OK();
    }
    if (c == '"') return ParseString();
    if (c == '-' || (c >= '0' && c <= '9')) return ParseNumber();
    for (const auto& [word, type] :
         {std::pair<std::string_view, Node::Type>{"null", Node::kNull},
          {"true", Node::kTrue},
          {"false", Node::kFalse}}) {
      if (text_.substr(p_, word.size()) == word) {
        p_ += word.size();
        nodes_.push_back({type});
        nodes_.back().end = nodes_.size();
        return Status::OK();
      }
    }
    return Fail("unexpected character");
  }

  bool Digits() {
    const size_t start = p_;
    while (p_ < text_.size() && text_[p_] >= '0' && text_[p_] <= '9') ++p_;
    return p_ != start;
  }

  Status ParseNumber() {
    const size_t start = p_;
    if (text_[p_] == '-') ++p_;
    if (p_ < text_.size() && text_[p_] == '0') {
      ++p_;
    } else if (!Digits()) {
      return Fail("a digit expected");
    }
    const bool integer_part_only =
        p_ == text_.size() ||
        (text_[p_] != '.' && text_[p_] != 'e' && text_[p_] != 'E');
    if (p_ < text_.size() && text_[p_] == '.') {
      ++p_;
      if (!Digits()) return Fail("a digit expected");
    }
    if (p_ < text_.size() && (text_[p_] == 'e' || text_[p_] == 'E')) {
      ++p_;
      if (p_ < text_.size() && (text_[p_] == '+' || text_[p_] == '-')) ++p_;
      if (!Digits()) return Fail("a digit expected");
    }
    const std::string literal(text_.substr(start, p_ - start));
    double value;
    const bool negative = literal[0] == '-';
    if (integer_part_only && literal.size() - negative <= 15) {
      int64_t magnitude = 0;  // exact: at most 15 digits
      for (size_t i = negative; i < literal.size(); ++i) {
        magnitude = magnitude * 10 + (literal[i] - '0');
      }
      value = static_cast<double>(magnitude);
      if (negative) value = -value;  // "-0" is -0
    } else {
      value = std::strtod(literal.c_str(), nullptr);  // correctly rounded
      if (!std::isfinite(value)) {
        return Status::Error(
            Code::kInvalidJson,
            "not JSON: the number " + literal + " is past binary64's range");
      }
    }
    nodes_.push_back({Node::kNumber});
    nodes_.back().end = nodes_.size();
    nodes_.back().number = value;
    return Status::OK();
  }

  static int HexValue(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  }

  // Parses a string (at its '"') into the pool as UTF-16 code units.
  Status ParseString() {
    ++p_;
    Node node{Node::kString};
    node.text = pool_.size();
    const auto* data = reinterpret_cast<const uint8_t*>(text_.data());
    for (;;) {
      if (p_ == text_.size()) return Fail("an unterminated string");
      const uint8_t c = data[p_];
      if (c == '"') {
        ++p_;
        break;
      }
      if (c < 0x20) return Fail("a control character in a string");
      if (c == '\\') {
        if (p_ + 1 == text_.size()) return Fail("an unterminated string");
        const char e = text_[p_ + 1];
        p_ += 2;
        switch (e) {
          case '"':
          case '\\':
          case '/':
            pool_.push_back(static_cast<char16_t>(e));
            break;
          case 'b':
            pool_.push_back(u'\b');
            break;
          case 'f':
            pool_.push_back(u'\f');
            break;
          case 'n':
            pool_.push_back(u'\n');
            break;
          case 'r':
            pool_.push_back(u'\r');
            break;
          case 't':
            pool_.push_back(u'\t');
            break;
          case 'u': {
            uint32_t unit = 0;
            for (int i = 0; i < 4; ++i) {
              const int h = p_ < text_.size() ? HexValue(text_[p_]) : -1;
              if (h < 0) return Fail("a bad \\u escape");
              unit = unit * 16 + static_cast<uint32_t>(h);
              ++p_;
            }
            pool_.push_back(static_cast<char16_t>(unit));  // even a lone
            break;                                         // surrogate
          }
          default:
            return Fail("a bad escape");
        }
        continue;
      }
      uint32_t code_point;
      size_t i = p_;
      if (!DecodeUtf8(data, text_.size(), &i, &code_point)) {
        return Fail("invalid UTF-8");
      }
      p_ = i;
      if (code_point >= 0x10000) {
        code_point -= 0x10000;
        pool_.push_back(static_cast<char16_t>(0xD800 + (code_point >> 10)));
        pool_.push_back(static_cast<char16_t>(0xDC00 + (code_point & 0x3FF)));
      } else {
        pool_.push_back(static_cast<char16_t>(code_point));
      }
    }
    node.size = pool_.size() - node.text;
    node.end = nodes_.size() + 1;
    nodes_.push_back(node);
    return Status::OK();
  }

  std::string_view text_;
  size_t p_ = 0;
  std::vector<Node> nodes_;
  std::u16string pool_;
};

class V8Writer {
 public:
  V8Writer(const JsonReader& reader, std::string* out)
      : reader_(reader),
        nodes_(reader.nodes()),
        out_(out),
        start_(out->size()) {}

  void Write() {
    out_->push_back(static_cast<char>(kVersion));
    out_->push_back(static_cast<char>(kWrittenVersion));
    WriteValue(0, false);
  }

 private:
  void Tag(uint8_t tag) { out_->push_back(static_cast<char>(tag)); }

  void Varint(uint64_t value) {
    while (value >= 0x80) {
      out_->push_back(static_cast<char>(0x80 | (value & 0x7F)));
      value >>= 7;
    }
    out_->push_back(static_cast<char>(value));
  }

  static bool IsSmi(double d) {
    return d >= -2147483648.0 && d <= 2147483647.0 &&
           d == static_cast<double>(static_cast<int32_t>(d)) &&
           !(d == 0 && std::signbit(d));
  }

  void Int32(int32_t n) {
    Tag(kInt32);
    const uint32_t u = static_cast<uint32_t>(n);
    Varint((u << 1) ^ (n < 0 ? 0xFFFFFFFFu : 0u));
  }

  void Double(double d) {
    Tag(kDouble);
    uint64_t bits;
    std::memcpy(&bits, &d, sizeof bits);
    for (int i = 0; i < 8; ++i) {
      out_->push_back(static_cast<char>(bits >> (8 * i)));
    }
  }

  // V8's WriteString: one-byte when it can, else two-byte with its code
  // units at an even offset from the header.
  void String(std::u16string_view units) {
    const bool one_byte = std::all_of(units.begin(), units.end(),
                                      [](char16_t u) { return u <= 0xFF; });
    if (one_byte) {
      Tag(kOneByteString);
      Varint(units.size());
      for (char16_t u : units) out_->push_back(static_cast<char>(u));
      return;
    }
    const uint64_t bytes = uint64_t{2} * units.size();
    size_t varint_size = 1;
    for (uint64_t v = bytes; v >= 0x80; v >>= 7) ++varint_size;
    if ((out_->size() - start_ + 1 + varint_size) % 2 != 0) Tag(kPadding);
    Tag(kTwoByteString);
    Varint(bytes);
    for (char16_t u : units) {
      out_->push_back(static_cast<char>(u & 0xFF));
      out_->push_back(static_cast<char>(u >> 8));
    }
  }

  // Writes node `i`; `in_double_array` when it is an element of an array V8
  // holds as doubles.
  void WriteValue(size_t i, bool in_double_array) {
    const Node& node = nodes_[i];
    switch (node.type) {
      case Node::kNull:
        Tag(kNull);
        return;
      case Node::kTrue:
        Tag(kTrue);
        return;
      case Node::kFalse:
        Tag(kFalse);
        return;
      case Node::kNumber:
        if (!in_double_array && IsSmi(node.number)) {
          Int32(static_cast<int32_t>(node.number));
        } else {
          Double(node.number);
        }
        return;
      case Node::kString:
        String(reader_.Units(node));
        return;
      case Node::kArray:
        WriteArray(i);
        return;
      case Node::kObject:
        WriteObject(i);
        return;
    }
  }

  // An array as JSON.parse makes it: PACKED_DOUBLE_ELEMENTS (every element
  // written as a double) when it holds only numbers and one is not a Smi.
  void WriteArray(size_t i) {
    const Node& node = nodes_[i];
    bool numbers = node.count > 0, all_smi = true;
    for (size_t e = i + 1; e < node.end; e = nodes_[e].end) {
      if (nodes_[e].type != Node::kNumber) {
        numbers = false;
        break;
      }
      all_smi = all_smi && IsSmi(nodes_[e].number);
    }
    const bool doubles = numbers && !all_smi;
    Tag(kBeginDenseJSArray);
    Varint(node.count);
    for (size_t e = i + 1; e < node.end; e = nodes_[e].end) {
      WriteValue(e, doubles);
    }
    Tag(kEndDenseJSArray);
    Varint(0);
    Varint(node.count);
  }

  struct Member {
    std::u16string_view key;
    size_t value;
    size_t place;  // of the key's first appearance
    bool is_index;
    uint32_t index;
  };

  static bool IsIndexKey(std::u16string_view key, uint32_t* index) {
    if (key.empty() || key.size() > 10) return false;
    std::string ascii;
    for (char16_t u : key) {
      if (u > 0x7F) return false;
      ascii.push_back(static_cast<char>(u));
    }
    return IsArrayIndex(ascii, index);
  }

  // An object as JSON.parse makes it: a repeated key keeps its first place
  // and takes its last value; array indices come first, ascending, and are
  // written as numbers.
  void WriteObject(size_t i) {
    const Node& node = nodes_[i];
    std::vector<Member> members;
    members.reserve(node.count);
    for (size_t k = i + 1; k < node.end;) {
      const size_t v = nodes_[k].end;
      Member m{reader_.Units(nodes_[k]), v, members.size(), false, 0};
      m.is_index = IsIndexKey(m.key, &m.index);
      members.push_back(m);
      k = nodes_[v].end;
    }
    std::stable_sort(
        members.begin(), members.end(),
        [](const Member& a, const Member& b) { return a.key < b.key; });
    std::vector<Member> unique;
    unique.reserve(members.size());
    for (const Member& m : members) {
      if (!unique.empty() && unique.back().key == m.key) {
        unique.back().value = m.value;  // the last value, the first place
      } else {
        unique.push_back(m);
      }
    }
    std::sort(unique.begin(), unique.end(),
              [](const Member& a, const Member& b) {
                if (a.is_index != b.is_index) return a.is_index;
                if (a.is_index) return a.index < b.index;
                return a.place < b.place;
              });
    Tag(kBeginJSObject);
    for (const Member& m : unique) {
      if (!m.is_index) {
        String(m.key);
      } else if (m.index <= 2147483647u) {
        Int32(static_cast<int32_t>(m.index));
      } else {
        Double(m.index);
      }
      WriteValue(m.value, false);
    }
    Tag(kEndJSObject);
    Varint(unique.size());
  }

  const JsonReader& reader_;
  const std::vector<Node>& nodes_;
  std::string* const out_;
  const size_t start_;  // where the serialization begins in *out_
};

}  // namespace

Status V8ToJson(std::string_view bytes, std::string* json, bool* is_json) {
  json->clear();
  *is_json = false;
  return V8Reader(bytes).Read(json, is_json);
}

Status JsonToV8(std::string_view json, std::string* bytes) {
  JsonReader reader(json);
  KV_RETURN_IF_ERROR(reader.Parse());
  V8Writer(reader, bytes).Write();
  return Status::OK();
}

}  // namespace kv
