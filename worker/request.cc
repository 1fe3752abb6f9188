#include "request.h"

#include <boost/json/monotonic_resource.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <initializer_list>

#include "key_codec.h"
#include "kv_limits.h"

namespace kv {
namespace {

namespace json = boost::json;

constexpr size_t kVersionDigits = 20;
constexpr size_t kCredentialBytes = 32;

std::string Str(std::string_view s) { return std::string(s); }

Status InvalidRequest(std::string message) {
  return Status::Error(Code::kInvalidRequest, std::move(message));
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
// `*body_json` uses `resource` for its memory.
Status ParseBody(std::string_view body, json::monotonic_resource* resource,
                 std::initializer_list<std::string_view> fields,
                 json::value* body_json) {
  if (body.size() > kMaxRequestBytes) {
    return Status::Error(Code::kRequestTooLarge,
                         "the request body is " + std::to_string(body.size()) +
                             " bytes; the limit is " +
                             std::to_string(kMaxRequestBytes) +
                             " bytes (2 MiB)");
  }
  json::parse_options options;
  options.max_depth = kMaxJsonDepth;
  json::error_code error;
  *body_json = json::parse(json::string_view(body.data(), body.size()), error,
                           resource, options);
  if (error == json::error::too_deep) {
    return Status::Error(Code::kNestingTooDeep,
                         "the request body nests arrays and objects deeper "
                         "than the limit of " +
                             std::to_string(kMaxJsonDepth) + " levels");
  }
  if (error) {
    return Status::Error(
        Code::kInvalidJson,
        "the request body is not valid UTF-8 JSON: " + error.message());
  }
  if (!body_json->is_object()) {
    return InvalidRequest("the request body must be a JSON object");
  }
  return OnlyFields(body_json->get_object(), fields, "the request body");
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

Status SerializeValue(const json::value& value, std::string_view what,
                      std::string* out) {
  *out = json::serialize(value);
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

Status DecodeMutation(const json::value& value, std::string_view what,
                      Mutation* mutation) {
  const json::object* object;
  KV_RETURN_IF_ERROR(AsObject(value, what, &object));
  const json::value* type;
  const json::value* key;
  KV_RETURN_IF_ERROR(Require(*object, "type", what, &type));
  KV_RETURN_IF_ERROR(Require(*object, "key", what, &key));
  if (*type == "set") {
    mutation->type = Mutation::Type::kSet;
    KV_RETURN_IF_ERROR(OnlyFields(*object, {"type", "key", "value"}, what));
    const json::value* item;
    KV_RETURN_IF_ERROR(Require(*object, "value", what, &item));
    KV_RETURN_IF_ERROR(
        SerializeValue(*item, Str(what) + ".value", &mutation->value));
  } else if (*type == "delete") {
    mutation->type = Mutation::Type::kDelete;
    KV_RETURN_IF_ERROR(OnlyFields(*object, {"type", "key"}, what));
  } else {
    return InvalidRequest(Str(what) + ".type must be \"set\" or \"delete\"");
  }
  return EncodeKey(*key, Str(what) + ".key", &mutation->key);
}

Status CheckCommitSize(const CommitRequest& request) {
  size_t bytes = 0;
  for (const Check& check : request.checks) bytes += check.key.size();
  for (const Mutation& mutation : request.mutations) {
    bytes += mutation.key.size() + mutation.value.size();
  }
  if (bytes > kMaxCommitBytes) {
    return Status::Error(Code::kCommitTooLarge,
                         "the commit's keys and values are " +
                             std::to_string(bytes) + " bytes; the limit is " +
                             std::to_string(kMaxCommitBytes) +
                             " bytes (800 KiB)");
  }
  return Status::OK();
}

// Decodes the body of a one-key route: {"key": Key} plus `extra` fields.
Status DecodeKeyBody(std::string_view body, json::monotonic_resource* resource,
                     std::initializer_list<std::string_view> fields,
                     json::value* body_json, std::string* key) {
  KV_RETURN_IF_ERROR(ParseBody(body, resource, fields, body_json));
  const json::object& object = body_json->get_object();
  const json::value* key_json;
  KV_RETURN_IF_ERROR(Require(object, "key", "the request body", &key_json));
  return EncodeKey(*key_json, "key", key);
}

}  // namespace

Status DecodeGet(std::string_view body, ReadRequest* request) {
  json::monotonic_resource resource;
  json::value body_json;
  KV_RETURN_IF_ERROR(ParseBody(body, &resource, {"keys"}, &body_json));
  const json::object& object = body_json.get_object();
  const json::value* keys_json;
  KV_RETURN_IF_ERROR(Require(object, "keys", "the request body", &keys_json));
  const json::array* keys;
  KV_RETURN_IF_ERROR(
      BoundedArray(object, "keys", kMaxKeysPerGet, Code::kTooManyKeys, &keys));
  if (keys->empty()) {
    return Status::Error(Code::kTooManyKeys,
                         "keys is empty; a get reads 1 to " +
                             std::to_string(kMaxKeysPerGet) + " keys");
  }
  request->keys.resize(keys->size());
  for (size_t i = 0; i < keys->size(); ++i) {
    KV_RETURN_IF_ERROR(
        EncodeKey((*keys)[i], Indexed("keys", i), &request->keys[i]));
  }
  return Status::OK();
}

Status DecodeSet(std::string_view body, CommitRequest* request) {
  json::monotonic_resource resource;
  json::value body_json;
  Mutation mutation{Mutation::Type::kSet, {}, {}};
  KV_RETURN_IF_ERROR(DecodeKeyBody(body, &resource, {"key", "value"},
                                   &body_json, &mutation.key));
  const json::value* value;
  KV_RETURN_IF_ERROR(
      Require(body_json.get_object(), "value", "the request body", &value));
  KV_RETURN_IF_ERROR(SerializeValue(*value, "value", &mutation.value));
  request->mutations.push_back(std::move(mutation));
  return Status::OK();
}

Status DecodeDelete(std::string_view body, CommitRequest* request) {
  json::monotonic_resource resource;
  json::value body_json;
  Mutation mutation{Mutation::Type::kDelete, {}, {}};
  KV_RETURN_IF_ERROR(
      DecodeKeyBody(body, &resource, {"key"}, &body_json, &mutation.key));
  request->mutations.push_back(std::move(mutation));
  return Status::OK();
}

Status DecodeAtomic(std::string_view body, CommitRequest* request) {
  json::monotonic_resource resource;
  json::value body_json;
  KV_RETURN_IF_ERROR(
      ParseBody(body, &resource, {"checks", "mutations"}, &body_json));
  const json::object& object = body_json.get_object();
  const json::array* checks;
  const json::array* mutations;
  KV_RETURN_IF_ERROR(BoundedArray(object, "checks", kMaxChecksPerCommit,
                                  Code::kTooManyChecks, &checks));
  KV_RETURN_IF_ERROR(BoundedArray(object, "mutations", kMaxMutationsPerCommit,
                                  Code::kTooManyMutations, &mutations));
  request->checks.resize(checks->size());
  for (size_t i = 0; i < checks->size(); ++i) {
    KV_RETURN_IF_ERROR(
        DecodeCheck((*checks)[i], Indexed("checks", i), &request->checks[i]));
  }
  request->mutations.resize(mutations->size());
  for (size_t i = 0; i < mutations->size(); ++i) {
    KV_RETURN_IF_ERROR(DecodeMutation((*mutations)[i], Indexed("mutations", i),
                                      &request->mutations[i]));
  }
  return CheckCommitSize(*request);
}

Status DecodeSetCredential(std::string_view body, CredentialRequest* request) {
  json::monotonic_resource resource;
  json::value body_json;
  KV_RETURN_IF_ERROR(ParseBody(body, &resource, {"credential"}, &body_json));
  const json::object& object = body_json.get_object();
  const json::value* credential;
  KV_RETURN_IF_ERROR(
      Require(object, "credential", "the request body", &credential));
  const json::string* hex = credential->if_string();
  if (hex == nullptr || hex->size() != 2 * kCredentialBytes) {
    return InvalidRequest("credential must be 64 lowercase hex digits");
  }
  auto nibble = [](char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  request->credential.clear();
  for (size_t i = 0; i < hex->size(); i += 2) {
    const int high = nibble((*hex)[i]);
    const int low = nibble((*hex)[i + 1]);
    if (high < 0 || low < 0) {
      return InvalidRequest("credential must be 64 lowercase hex digits");
    }
    request->credential.push_back(static_cast<char>(high << 4 | low));
  }
  return Status::OK();
}

}  // namespace kv
