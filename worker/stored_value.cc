#include "stored_value.h"

#include "counter.h"
#include "kv_limits.h"
#include "v8_value.h"

namespace kv {
namespace {

constexpr char kOpaqueTag = 0x01;
constexpr char kV8Encoding = 0x01;
constexpr char kBytesEncoding = 0x03;

Status CheckSize(size_t size, std::string_view form, std::string_view what) {
  if (size <= kMaxValueBytes) return Status::OK();
  return Status::Error(Code::kValueTooLarge,
                       std::string(what) + " is " + std::to_string(size) +
                           " bytes " + std::string(form) + "; the limit is " +
                           std::to_string(kMaxValueBytes) + " bytes (16 KiB)");
}

}  // namespace

ValueForm FormOf(std::string_view stored) {
  uint64_t counter;
  if (DecodeCounter(stored, &counter)) return ValueForm::kCounter;
  if (stored.size() >= 2 && stored[0] == kOpaqueTag) {
    if (stored[1] == kV8Encoding) return ValueForm::kV8;
    if (stored[1] == kBytesEncoding) return ValueForm::kBytes;
  }
  return ValueForm::kJson;
}

std::string EncodeOpaque(ValueForm form, std::string_view data) {
  std::string stored;
  stored.reserve(data.size() + 2);
  stored.push_back(kOpaqueTag);
  stored.push_back(form == ValueForm::kV8 ? kV8Encoding : kBytesEncoding);
  stored.append(data);
  return stored;
}

std::string_view OpaqueData(std::string_view stored) {
  return stored.substr(2);
}

Status StoreV8Value(std::string_view v8, std::string_view what,
                    std::string* stored) {
  bool is_json = false;
  stored->clear();
  Status parsed = V8ToJson(v8, stored, &is_json);
  if (!parsed.ok()) {
    return Status::Error(parsed.code(), std::string(what) +
                                            " is not a V8-serialized value: " +
                                            parsed.message());
  }
  if (is_json) return CheckSize(stored->size(), "as compact JSON", what);
  KV_RETURN_IF_ERROR(CheckSize(v8.size(), "in V8's format", what));
  *stored = EncodeOpaque(ValueForm::kV8, v8);
  return Status::OK();
}

Status StoreBytesValue(std::string_view bytes, std::string_view what,
                       std::string* stored) {
  KV_RETURN_IF_ERROR(CheckSize(bytes.size(), "of bytes", what));
  *stored = EncodeOpaque(ValueForm::kBytes, bytes);
  return Status::OK();
}

}  // namespace kv
