#include "json_request.h"

#include <boost/json/monotonic_resource.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <initializer_list>
#include <utility>

#include "base64.h"
#include "counter.h"
#include "cursor.h"
#include "json_parse.h"
#include "key_codec.h"
#include "kv_limits.h"
#include "stored_value.h"

namespace kv {
namespace {

namespace json = boost::json;

constexpr size_t kVersionDigits = 20;
constexpr size_t kCredentialBytes = 32;
constexpr std::string_view kTopLevel = "the request body";

std::string Str(std::string_view s) { return std::string(s); }

Status InvalidRequest(std::string message) {
  return Status::Error(Code::kInvalidRequest, std::move(message));
}

// The path of `field` in `what`: "mutations[2].value", or "value" at the top.
std::string FieldPath(std::string_view what, std::string_view field) {
  return what == kTopLevel ? Str(field) : Str(what) + "." + Str(field);
}

std::string Indexed(std::string_view name, size_t index) {
  return Str(name) + "[" + std::to_string(index) + "]";
}

// Refuses fields of `object` other than `allowed`, so a misspelt field is an
// error rather than silently ignored.
Status OnlyFields(const json::object& object,
                  std::initializer_list<std::string_view> allowed,
                  std::string_view what) {
  for (const auto& field : object) {
    bool known = false;
    for (std::string_view name : allowed) known = known || field.key() == name;
    if (known) continue;
    std::string list;
    for (std::string_view name : allowed) {
      list += (list.empty() ? "\"" : ", \"") + Str(name) + "\"";
    }
    return InvalidRequest(Str(what) + " has an unknown field \"" +
                          Str(field.key()) + "\"; its fields are " + list);
  }
  return Status::OK();
}

// Parses a request body: a JSON object with no fields but `fields`.
// `*body_json` uses `resource` for its memory. With `values`, the stored
// values at `value_level` are not built but written there as compact JSON
// (ParseJsonWithValues).
Status ParseBody(std::string_view body, json::monotonic_resource* resource,
                 std::initializer_list<std::string_view> fields,
                 json::value* body_json, int value_level = 0,
                 std::vector<std::string>* values = nullptr) {
  if (body.size() > kMaxRequestBytes) {
    return Status::Error(Code::kRequestTooLarge,
                         "the request body is " + std::to_string(body.size()) +
                             " bytes; the limit is " +
                             std::to_string(kMaxRequestBytes) +
                             " bytes (2 MiB)");
  }
  json::error_code error;
  *body_json = ParseJsonWithValues(body, kMaxJsonDepth, value_level, resource,
                                   values, error);
  if (error == json::error::too_deep) {
    return Status::Error(Code::kNestingTooDeep,
                         "the request body nests arrays and objects deeper "
                         "than the limit of " +
                             std::to_string(kMaxJsonDepth) + " levels");
  }
  if (error == json::error::exponent_overflow) {
    // json_parse.cc reports both with this code.
    return Status::Error(
        Code::kInvalidJson,
        "the request body has a number no binary64 double holds: past its "
        "range (1e400), or an integer of more than 64 bits that is not "
        "exactly a double; send such integers as strings or bigint key "
        "parts");
  }
  if (error) {
    return Status::Error(
        Code::kInvalidJson,
        "the request body is not valid UTF-8 JSON: " + error.message());
  }
  if (!body_json->is_object()) {
    return InvalidRequest("the request body must be a JSON object");
  }
  return OnlyFields(body_json->get_object(), fields, kTopLevel);
}

Status Require(const json::object& object, std::string_view name,
               std::string_view what, const json::value** value) {
  auto it = object.find(json::string_view(name.data(), name.size()));
  if (it == object.end()) {
    return InvalidRequest(Str(what) + " is missing the field \"" + Str(name) +
                          "\"");
  }
  *value = &it->value();
  return Status::OK();
}

Status AsObject(const json::value& value, std::string_view what,
                const json::object** object) {
  *object = value.if_object();
  if (*object == nullptr)
    return InvalidRequest(Str(what) + " must be an object");
  return Status::OK();
}

// Reads the array `name` of `object` (absent means empty) and checks its
// length against `limit`, failing with `too_many`.
Status BoundedArray(const json::object& object, std::string_view name,
                    size_t limit, Code too_many, const json::array** array) {
  static const json::array kEmpty;
  auto it = object.find(json::string_view(name.data(), name.size()));
  if (it == object.end()) {
    *array = &kEmpty;
    return Status::OK();
  }
  *array = it->value().if_array();
  if (*array == nullptr) return InvalidRequest(Str(name) + " must be an array");
  if ((*array)->size() > limit) {
    return Status::Error(
        too_many, Str(name) + " has " + std::to_string((*array)->size()) +
                      " items; the limit is " + std::to_string(limit));
  }
  return Status::OK();
}

// Stores `value` as compact JSON: a string serialized here, any other value
// as its parse wrote it (its index in `values`).
Status SerializeValue(const json::value& value, std::string_view what,
                      std::vector<std::string>* values, std::string* out) {
  if (value.is_string()) {
    *out = json::serialize(value);
  } else {
    *out = std::move((*values)[value.get_int64()]);
  }
  if (out->size() > kMaxValueBytes) {
    return Status::Error(Code::kValueTooLarge,
                         Str(what) + " is " + std::to_string(out->size()) +
                             " bytes as compact JSON; the limit is " +
                             std::to_string(kMaxValueBytes) +
                             " bytes (16 KiB)");
  }
  return Status::OK();
}

Status DecodeVersion(const json::value& value, std::string_view what,
                     std::optional<std::string>* version) {
  if (value.is_null()) {
    version->reset();
    return Status::OK();
  }
  const json::string* text = value.if_string();
  bool valid = text != nullptr && text->size() == kVersionDigits;
  for (size_t i = 0; valid && i < kVersionDigits; ++i) {
    const char c = (*text)[i];
    valid = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
  }
  if (!valid) {
    return Status::Error(Code::kInvalidVersion,
                         Str(what) +
                             " must be null (no entry) or a version of 20 "
                             "lowercase hex digits, as returned by the store");
  }
  *version = Str(*text);
  return Status::OK();
}

// Reads the optional "expireIn" of `object`: a whole number of milliseconds.
Status DecodeExpireIn(const json::object& object, std::string_view what,
                      std::optional<int64_t>* expire_in_ms) {
  auto it = object.find("expireIn");
  if (it == object.end()) return Status::OK();
  const json::value& value = it->value();
  if (value.is_int64() && value.get_int64() > 0 &&
      value.get_int64() <= kMaxExpireInMs) {
    *expire_in_ms = value.get_int64();
    return Status::OK();
  }
  return Status::Error(
      Code::kInvalidExpiry,
      Str(what) +
          ".expireIn must be a whole number of milliseconds from 1 to " +
          std::to_string(kMaxExpireInMs) + " (about 100 years)");
}

Status DecodeCheck(const json::value& value, std::string_view what,
                   Check* check) {
  const json::object* object;
  KV_RETURN_IF_ERROR(AsObject(value, what, &object));
  KV_RETURN_IF_ERROR(OnlyFields(*object, {"key", "version"}, what));
  const json::value* key;
  const json::value* version;
  KV_RETURN_IF_ERROR(Require(*object, "key", what, &key));
  // Required, so that a misspelt version never means "must not exist".
  KV_RETURN_IF_ERROR(Require(*object, "version", what, &version));
  KV_RETURN_IF_ERROR(EncodeKey(*key, Str(what) + ".key", &check->key));
  return DecodeVersion(*version, Str(what) + ".version", &check->version);
}

Status DecodeCounterText(const json::value& value, std::string_view what,
                         std::string* stored) {
  const json::string* text = value.if_string();
  uint64_t counter;
  if (text == nullptr || !ParseU64(*text, &counter)) {
    return InvalidRequest(Str(what) +
                          " must be a u64: a decimal string from \"0\" to "
                          "\"18446744073709551615\"");
  }
  *stored = EncodeCounter(counter);
  return Status::OK();
}

// Reads a base64 "value" of valueType "bytes" or "v8" into *data.
Status DecodeBase64Value(const json::value& value, std::string_view what,
                         std::string* data) {
  const json::string* text = value.if_string();
  if (text == nullptr || !DecodeBase64(*text, data)) {
    return InvalidRequest(Str(what) +
                          " must be a base64 string (standard alphabet, "
                          "padded) for valueType \"bytes\" or \"v8\"");
  }
  return Status::OK();
}

// Reads the "value" (and "valueType") of a set into its stored form
// (stored_value.h). `values` holds the texts of the non-string values
// (ParseJsonWithValues).
Status DecodeStoredValue(const json::object& object, std::string_view what,
                         std::vector<std::string>* values,
                         std::string* stored) {
  const json::value* value;
  KV_RETURN_IF_ERROR(Require(object, "value", what, &value));
  const std::string value_what = FieldPath(what, "value");
  auto type = object.find("valueType");
  if (type == object.end() || type->value() == "json") {
    return SerializeValue(*value, value_what, values, stored);
  }
  if (type->value() == "u64") {
    return DecodeCounterText(*value, value_what, stored);
  }
  const bool bytes = type->value() == "bytes";
  if (bytes || type->value() == "v8") {
    std::string data;
    KV_RETURN_IF_ERROR(DecodeBase64Value(*value, value_what, &data));
    return bytes ? StoreBytesValue(data, value_what, stored)
                 : StoreV8Value(data, value_what, stored);
  }
  return InvalidRequest(Str(what) +
                        ": valueType must be \"json\" (the default), "
                        "\"u64\", \"bytes\" or \"v8\"");
}

// Reads the optional "versionstampedKey" of a set: the key then gains the
// commit's version as one more part, which must still fit kMaxKeyBytes.
Status DecodeVersionstampedKey(const json::object& object,
                               std::string_view what, Mutation* mutation) {
  auto it = object.find("versionstampedKey");
  if (it == object.end()) return Status::OK();
  const bool* flag = it->value().if_bool();
  if (flag == nullptr) {
    return InvalidRequest(FieldPath(what, "versionstampedKey") +
                          " must be true or false");
  }
  mutation->versionstamped_key = *flag;
  if (*flag && mutation->key.size() + kVersionstampSuffixBytes > kMaxKeyBytes) {
    return Status::Error(Code::kKeyTooLarge,
                         FieldPath(what, "key") + " is " +
                             std::to_string(mutation->key.size()) +
                             " bytes encoded; with the versionstamp part (" +
                             std::to_string(kVersionstampSuffixBytes) +
                             " bytes) it must fit the key limit of " +
                             std::to_string(kMaxKeyBytes) + " bytes");
  }
  return Status::OK();
}

Status DecodeMutation(const json::value& value, std::string_view what,
                      std::vector<std::string>* values, Mutation* mutation) {
  const json::object* object;
  KV_RETURN_IF_ERROR(AsObject(value, what, &object));
  const json::value* type;
  const json::value* key;
  KV_RETURN_IF_ERROR(Require(*object, "type", what, &type));
  KV_RETURN_IF_ERROR(Require(*object, "key", what, &key));
  if (*type == "set") {
    mutation->type = Mutation::Type::kSet;
    KV_RETURN_IF_ERROR(OnlyFields(
        *object,
        {"type", "key", "value", "valueType", "expireIn", "versionstampedKey"},
        what));
    KV_RETURN_IF_ERROR(
        DecodeStoredValue(*object, what, values, &mutation->value));
    KV_RETURN_IF_ERROR(DecodeExpireIn(*object, what, &mutation->expire_in_ms));
  } else if (*type == "delete") {
    mutation->type = Mutation::Type::kDelete;
    KV_RETURN_IF_ERROR(OnlyFields(*object, {"type", "key"}, what));
  } else if (*type == "sum" || *type == "min" || *type == "max") {
    mutation->type = *type == "sum"   ? Mutation::Type::kSum
                     : *type == "min" ? Mutation::Type::kMin
                                      : Mutation::Type::kMax;
    KV_RETURN_IF_ERROR(OnlyFields(*object, {"type", "key", "value"}, what));
    const json::value* operand;
    KV_RETURN_IF_ERROR(Require(*object, "value", what, &operand));
    KV_RETURN_IF_ERROR(
        DecodeCounterText(*operand, Str(what) + ".value", &mutation->value));
  } else {
    return InvalidRequest(Str(what) +
                          ".type must be \"set\", \"delete\", \"sum\", "
                          "\"min\" or \"max\"");
  }
  KV_RETURN_IF_ERROR(EncodeKey(*key, Str(what) + ".key", &mutation->key));
  return mutation->type == Mutation::Type::kSet
             ? DecodeVersionstampedKey(*object, what, mutation)
             : Status::OK();
}

// Reads an optional whole number from `min` to `max` into *out; anything
// else fails with `code`, naming `what` and the range (`unit` after it).
Status DecodeBoundedInteger(const json::object& object, std::string_view field,
                            std::string_view what, int64_t min, int64_t max,
                            std::string_view unit, Code code, int64_t* out) {
  auto it = object.find(json::string_view(field.data(), field.size()));
  if (it == object.end()) return Status::OK();
  const json::value& value = it->value();
  if (value.is_int64() && value.get_int64() >= min &&
      value.get_int64() <= max) {
    *out = value.get_int64();
    return Status::OK();
  }
  return Status::Error(
      code, FieldPath(what, field) + " must be a whole number from " +
                std::to_string(min) + " to " + std::to_string(max) + Str(unit));
}

// Reads an optional array of keys into encoded keys, refusing more than
// kMaxUndeliveredKeys before encoding any.
Status DecodeUndeliveredKeys(const json::object& object, std::string_view what,
                             std::vector<std::string>* keys) {
  const json::array* array;
  const std::string name = FieldPath(what, "keysIfUndelivered");
  auto it = object.find("keysIfUndelivered");
  if (it == object.end()) return Status::OK();
  array = it->value().if_array();
  if (array == nullptr)
    return InvalidRequest(name + " must be an array of keys");
  if (array->size() > kMaxUndeliveredKeys) {
    return Status::Error(
        Code::kTooManyUndeliveredKeys,
        name + " has " + std::to_string(array->size()) + " keys; at most " +
            std::to_string(kMaxUndeliveredKeys) + " are allowed");
  }
  keys->resize(array->size());
  for (size_t i = 0; i < array->size(); ++i) {
    KV_RETURN_IF_ERROR(EncodeKey((*array)[i], Indexed(name, i), &(*keys)[i]));
  }
  return Status::OK();
}

Status DecodeBackoffSchedule(const json::object& object, std::string_view what,
                             std::vector<uint32_t>* schedule) {
  auto it = object.find("backoffSchedule");
  if (it == object.end()) return Status::OK();
  const std::string name = FieldPath(what, "backoffSchedule");
  const json::array* array = it->value().if_array();
  if (array == nullptr || array->size() > kMaxBackoffIntervals) {
    return Status::Error(Code::kInvalidBackoffSchedule,
                         name + " must be an array of at most " +
                             std::to_string(kMaxBackoffIntervals) +
                             " intervals");
  }
  schedule->clear();
  for (size_t i = 0; i < array->size(); ++i) {
    const json::value& interval = (*array)[i];
    if (!interval.is_int64() || interval.get_int64() < 0 ||
        interval.get_int64() > kMaxBackoffIntervalMs) {
      return Status::Error(Code::kInvalidBackoffSchedule,
                           Indexed(name, i) +
                               " must be a whole number of milliseconds from "
                               "0 to " +
                               std::to_string(kMaxBackoffIntervalMs) +
                               " (1 hour)");
    }
    schedule->push_back(static_cast<uint32_t>(interval.get_int64()));
  }
  return Status::OK();
}

Status DecodeEnqueue(const json::value& value, std::string_view what,
                     std::vector<std::string>* values, Enqueue* enqueue) {
  const json::object* object;
  KV_RETURN_IF_ERROR(AsObject(value, what, &object));
  KV_RETURN_IF_ERROR(OnlyFields(
      *object,
      {"value", "valueType", "delay", "keysIfUndelivered", "backoffSchedule"},
      what));
  auto type = object->find("valueType");
  if (type != object->end() && type->value() == "u64") {
    return InvalidRequest(FieldPath(what, "valueType") +
                          " must be \"json\" (the default), \"bytes\" or "
                          "\"v8\": a message cannot be a u64 counter");
  }
  KV_RETURN_IF_ERROR(DecodeStoredValue(*object, what, values, &enqueue->value));
  KV_RETURN_IF_ERROR(DecodeBoundedInteger(
      *object, "delay", what, 0, kMaxQueueDelayMs, " milliseconds (30 days)",
      Code::kInvalidDelay, &enqueue->delay_ms));
  KV_RETURN_IF_ERROR(
      DecodeUndeliveredKeys(*object, what, &enqueue->keys_if_undelivered));
  KV_RETURN_IF_ERROR(
      DecodeBackoffSchedule(*object, what, &enqueue->backoff_schedule));
  return CheckEnqueue(*enqueue, what);
}

// Decodes the body of a one-key route: {"key": Key} plus `extra` fields,
// its stored value, if any, into `values`.
Status DecodeKeyBody(std::string_view body, json::monotonic_resource* resource,
                     std::initializer_list<std::string_view> fields,
                     json::value* body_json, std::string* key,
                     std::vector<std::string>* values = nullptr) {
  KV_RETURN_IF_ERROR(ParseBody(body, resource, fields, body_json,
                               values == nullptr ? 0 : 1, values));
  const json::object& object = body_json->get_object();
  const json::value* key_json;
  KV_RETURN_IF_ERROR(Require(object, "key", kTopLevel, &key_json));
  return EncodeKey(*key_json, "key", key);
}

bool DecodeHex(std::string_view hex, std::string* bytes) {
  auto nibble = [](char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  if (hex.size() % 2 != 0) return false;
  bytes->clear();
  for (size_t i = 0; i < hex.size(); i += 2) {
    const int high = nibble(hex[i]);
    const int low = nibble(hex[i + 1]);
    if (high < 0 || low < 0) return false;
    bytes->push_back(static_cast<char>(high << 4 | low));
  }
  return true;
}

Status DecodeFlag(const json::object& object, std::string_view name,
                  bool* flag) {
  auto it = object.find(json::string_view(name.data(), name.size()));
  if (it == object.end()) return Status::OK();
  if (!it->value().is_bool())
    return InvalidRequest(Str(name) + " must be a boolean");
  *flag = it->value().get_bool();
  return Status::OK();
}

// Reads limit `name`: absent (unchanged), null (unlimited) or a whole number.
Status DecodeLimit(const json::object& limits, std::string_view name,
                   std::optional<std::optional<uint64_t>>* limit) {
  auto it = limits.find(json::string_view(name.data(), name.size()));
  if (it == limits.end()) return Status::OK();
  const json::value& value = it->value();
  if (value.is_null()) {
    *limit = std::optional<uint64_t>();
  } else if (value.is_int64() && value.get_int64() >= 0 &&
             value.get_int64() <= kMaxSafeInteger) {
    *limit = static_cast<uint64_t>(value.get_int64());
  } else {
    return InvalidRequest("limits." + Str(name) +
                          " must be null (unlimited) or a whole number from 0 "
                          "to 2^53 - 1");
  }
  return Status::OK();
}

Status InvalidSelector(std::string why) {
  return Status::Error(
      Code::kInvalidSelector,
      why +
          "; a selector is {prefix}, {start, end}, {prefix, start} or "
          "{prefix, end}, where start and end lie inside the prefix");
}

// Decodes the selector fields of a list or count body into a key range.
// Keys under a prefix P encode as P followed by parts, which begin with a
// type code from 0x01 to 0x27: so they lie in [P 0x00, P 0xFF).
Status DecodeSelector(const json::object& object, Selector* selector) {
  const auto prefix_it = object.find("prefix");
  const auto start_it = object.find("start");
  const auto end_it = object.find("end");
  const bool has_prefix = prefix_it != object.end();
  const bool has_start = start_it != object.end();
  const bool has_end = end_it != object.end();
  if (!has_prefix && !(has_start && has_end)) {
    return InvalidSelector("give a prefix, or both start and end");
  }
  if (has_prefix && has_start && has_end) {
    return InvalidSelector("give start or end with a prefix, not both");
  }
  std::string prefix;
  if (has_prefix) {
    KV_RETURN_IF_ERROR(EncodeKeyPrefix(prefix_it->value(), "prefix", &prefix));
    selector->lower = prefix + '\x00';
    selector->upper = prefix + '\xff';
  }
  auto bound = [&](const json::value& key, std::string_view name,
                   std::string* out) {
    out->clear();
    KV_RETURN_IF_ERROR(EncodeKey(key, name, out));
    if (has_prefix && (out->size() <= prefix.size() ||
                       out->compare(0, prefix.size(), prefix) != 0)) {
      return InvalidSelector(Str(name) + " is not inside the prefix");
    }
    return Status::OK();
  };
  if (has_start)
    KV_RETURN_IF_ERROR(bound(start_it->value(), "start", &selector->lower));
  if (has_end)
    KV_RETURN_IF_ERROR(bound(end_it->value(), "end", &selector->upper));
  selector->tag = SelectorTag(selector->lower, selector->upper);
  return Status::OK();
}

// Reads the optional "cursor" of a list or count body into *after.
Status DecodeCursor(const json::object& object, const Selector& selector,
                    std::optional<std::string>* after) {
  auto it = object.find("cursor");
  if (it == object.end() || it->value().is_null()) return Status::OK();
  const json::string* cursor = it->value().if_string();
  std::string last;
  if (cursor == nullptr || !ParseCursor(*cursor, selector, &last)) {
    return Status::Error(Code::kInvalidCursor,
                         "cursor is not one this selector returned; pass "
                         "the cursor of a request with the same prefix, "
                         "start and end");
  }
  *after = std::move(last);
  return Status::OK();
}
}  // namespace

Status DecodeKeys(std::string_view body, size_t limit, std::string_view verb,
                  ReadRequest* request) {
  json::monotonic_resource resource;
  json::value body_json;
  KV_RETURN_IF_ERROR(ParseBody(body, &resource, {"keys"}, &body_json));
  const json::object& object = body_json.get_object();
  const json::value* keys_json;
  KV_RETURN_IF_ERROR(Require(object, "keys", kTopLevel, &keys_json));
  const json::array* keys;
  KV_RETURN_IF_ERROR(
      BoundedArray(object, "keys", limit, Code::kTooManyKeys, &keys));
  if (keys->empty()) {
    return Status::Error(Code::kTooManyKeys,
                         "keys is empty; a " + Str(verb) + " takes 1 to " +
                             std::to_string(limit) + " keys");
  }
  request->keys.resize(keys->size());
  for (size_t i = 0; i < keys->size(); ++i) {
    KV_RETURN_IF_ERROR(
        EncodeKey((*keys)[i], Indexed("keys", i), &request->keys[i]));
  }
  return Status::OK();
}

Status DecodeGet(std::string_view body, ReadRequest* request) {
  return DecodeKeys(body, kMaxKeysPerGet, "get", request);
}

Status DecodeWatch(std::string_view body, ReadRequest* request) {
  return DecodeKeys(body, kMaxKeysPerWatch, "watch", request);
}

Status DecodeSet(std::string_view body, CommitRequest* request) {
  json::monotonic_resource resource;
  json::value body_json;
  std::vector<std::string> values;
  Mutation mutation{Mutation::Type::kSet, {}, {}, std::nullopt};
  KV_RETURN_IF_ERROR(DecodeKeyBody(
      body, &resource,
      {"key", "value", "valueType", "expireIn", "versionstampedKey"},
      &body_json, &mutation.key, &values));
  const json::object& object = body_json.get_object();
  KV_RETURN_IF_ERROR(
      DecodeStoredValue(object, kTopLevel, &values, &mutation.value));
  KV_RETURN_IF_ERROR(DecodeExpireIn(object, kTopLevel, &mutation.expire_in_ms));
  KV_RETURN_IF_ERROR(DecodeVersionstampedKey(object, kTopLevel, &mutation));
  request->mutations.push_back(std::move(mutation));
  return Status::OK();
}

Status DecodeDelete(std::string_view body, CommitRequest* request) {
  json::monotonic_resource resource;
  json::value body_json;
  Mutation mutation{Mutation::Type::kDelete, {}, {}, std::nullopt};
  KV_RETURN_IF_ERROR(
      DecodeKeyBody(body, &resource, {"key"}, &body_json, &mutation.key));
  request->mutations.push_back(std::move(mutation));
  return Status::OK();
}

Status DecodeAtomic(std::string_view body, CommitRequest* request) {
  json::monotonic_resource resource;
  json::value body_json;
  std::vector<std::string> values;
  // Stored values are fields of the items of "mutations" and "enqueues":
  // level 3.
  KV_RETURN_IF_ERROR(ParseBody(body, &resource,
                               {"checks", "mutations", "enqueues"}, &body_json,
                               3, &values));
  const json::object& object = body_json.get_object();
  const json::array* checks;
  const json::array* mutations;
  const json::array* enqueues;
  KV_RETURN_IF_ERROR(BoundedArray(object, "checks", kMaxChecksPerCommit,
                                  Code::kTooManyChecks, &checks));
  KV_RETURN_IF_ERROR(BoundedArray(object, "mutations", kMaxMutationsPerCommit,
                                  Code::kTooManyMutations, &mutations));
  KV_RETURN_IF_ERROR(BoundedArray(object, "enqueues", kMaxEnqueuesPerCommit,
                                  Code::kTooManyEnqueues, &enqueues));
  request->checks.resize(checks->size());
  for (size_t i = 0; i < checks->size(); ++i) {
    KV_RETURN_IF_ERROR(
        DecodeCheck((*checks)[i], Indexed("checks", i), &request->checks[i]));
  }
  request->mutations.resize(mutations->size());
  for (size_t i = 0; i < mutations->size(); ++i) {
    KV_RETURN_IF_ERROR(DecodeMutation((*mutations)[i], Indexed("mutations", i),
                                      &values, &request->mutations[i]));
  }
  request->enqueues.resize(enqueues->size());
  for (size_t i = 0; i < enqueues->size(); ++i) {
    KV_RETURN_IF_ERROR(DecodeEnqueue((*enqueues)[i], Indexed("enqueues", i),
                                     &values, &request->enqueues[i]));
  }
  return CheckCommitLimits(*request);
}

namespace {

// {"<count_field>": n, "visibilityTimeout": ms}, both optional, n from
// `min_count` to kMaxQueueConcurrency.
Status DecodeQueueWindow(std::string_view body, std::string_view count_field,
                         int64_t min_count, ListenRequest* request) {
  json::monotonic_resource resource;
  json::value body_json;
  KV_RETURN_IF_ERROR(ParseBody(body, &resource,
                               {count_field, "visibilityTimeout"}, &body_json));
  const json::object& object = body_json.get_object();
  int64_t count = static_cast<int64_t>(request->concurrency);
  KV_RETURN_IF_ERROR(
      DecodeBoundedInteger(object, count_field, kTopLevel, min_count,
                           static_cast<int64_t>(kMaxQueueConcurrency),
                           " messages", Code::kInvalidQueueOption, &count));
  request->concurrency = static_cast<size_t>(count);
  return DecodeBoundedInteger(object, "visibilityTimeout", kTopLevel,
                              kMinVisibilityTimeoutMs, kMaxVisibilityTimeoutMs,
                              " milliseconds", Code::kInvalidQueueOption,
                              &request->visibility_ms);
}

}  // namespace

Status DecodeListen(std::string_view body, ListenRequest* request) {
  return DecodeQueueWindow(body, "concurrency", 1, request);
}

Status DecodeLease(std::string_view body, ListenRequest* request) {
  return DecodeQueueWindow(body, "max", 0, request);
}

Status DecodeSettle(std::string_view body, std::vector<Settle>* request) {
  json::monotonic_resource resource;
  json::value body_json;
  KV_RETURN_IF_ERROR(ParseBody(body, &resource, {"messages"}, &body_json));
  const json::array* messages;
  KV_RETURN_IF_ERROR(BoundedArray(body_json.get_object(), "messages",
                                  kMaxSettlesPerRequest,
                                  Code::kInvalidQueueOption, &messages));
  if (messages->empty()) {
    return Status::Error(Code::kInvalidQueueOption,
                         "messages is empty; a settle takes 1 to " +
                             std::to_string(kMaxSettlesPerRequest));
  }
  request->resize(messages->size());
  for (size_t i = 0; i < messages->size(); ++i) {
    const std::string what = Indexed("messages", i);
    const json::object* object;
    KV_RETURN_IF_ERROR(AsObject((*messages)[i], what, &object));
    KV_RETURN_IF_ERROR(OnlyFields(*object, {"id", "delivery", "ok"}, what));
    Settle& settle = (*request)[i];
    for (auto [field, out] : {std::pair{"id", &settle.id},
                              std::pair{"delivery", &settle.delivery}}) {
      if (object->find(field) == object->end()) {
        return InvalidRequest(FieldPath(what, field) + " is required");
      }
      KV_RETURN_IF_ERROR(DecodeBoundedInteger(*object, field, what, 1,
                                              kMaxSafeInteger, "",
                                              Code::kInvalidQueueOption, out));
    }
    auto ok = object->find("ok");
    if (ok == object->end() || !ok->value().is_bool()) {
      return InvalidRequest(FieldPath(what, "ok") +
                            " must be true (handled) or false (failed)");
    }
    settle.ok = ok->value().get_bool();
  }
  return Status::OK();
}

Status DecodeList(std::string_view body, ListRequest* request) {
  json::monotonic_resource resource;
  json::value body_json;
  KV_RETURN_IF_ERROR(ParseBody(
      body, &resource,
      {"prefix", "start", "end", "limit", "reverse", "keysOnly", "cursor"},
      &body_json));
  const json::object& object = body_json.get_object();
  KV_RETURN_IF_ERROR(DecodeSelector(object, &request->selector));
  request->limit = kDefaultListLimit;
  if (auto it = object.find("limit"); it != object.end()) {
    const json::value& limit = it->value();
    if (!limit.is_int64() || limit.get_int64() < 1 ||
        static_cast<uint64_t>(limit.get_int64()) > kMaxListLimit) {
      return InvalidRequest("limit must be a whole number from 1 to " +
                            std::to_string(kMaxListLimit));
    }
    request->limit = static_cast<size_t>(limit.get_int64());
  }
  KV_RETURN_IF_ERROR(DecodeFlag(object, "reverse", &request->reverse));
  KV_RETURN_IF_ERROR(DecodeFlag(object, "keysOnly", &request->keys_only));
  return DecodeCursor(object, request->selector, &request->after);
}

Status DecodeCount(std::string_view body, CountRequest* request) {
  json::monotonic_resource resource;
  json::value body_json;
  KV_RETURN_IF_ERROR(ParseBody(
      body, &resource, {"prefix", "start", "end", "cursor"}, &body_json));
  const json::object& object = body_json.get_object();
  KV_RETURN_IF_ERROR(DecodeSelector(object, &request->selector));
  return DecodeCursor(object, request->selector, &request->after);
}

Status DecodeSettings(std::string_view body, SettingsRequest* request) {
  json::monotonic_resource resource;
  json::value body_json;
  KV_RETURN_IF_ERROR(
      ParseBody(body, &resource, {"credential", "limits"}, &body_json));
  const json::object& object = body_json.get_object();
  if (auto it = object.find("credential"); it != object.end()) {
    std::string credential;
    const json::string* hex = it->value().if_string();
    if (hex == nullptr || !DecodeHex(*hex, &credential) ||
        credential.size() != kCredentialBytes) {
      return InvalidRequest("credential must be 64 lowercase hex digits");
    }
    request->credential = std::move(credential);
  }
  if (auto it = object.find("limits"); it != object.end()) {
    const json::object* limits;
    KV_RETURN_IF_ERROR(AsObject(it->value(), "limits", &limits));
    KV_RETURN_IF_ERROR(
        OnlyFields(*limits, {"opsPerMonth", "storageBytes"}, "limits"));
    KV_RETURN_IF_ERROR(
        DecodeLimit(*limits, "opsPerMonth", &request->ops_per_month));
    KV_RETURN_IF_ERROR(
        DecodeLimit(*limits, "storageBytes", &request->storage_bytes));
  }
  return Status::OK();
}

}  // namespace kv
