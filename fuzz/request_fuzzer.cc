// Fuzzes request decoding (worker/request.h): arbitrary bytes as the body
// of every route. Each decoder must return a Status, never crash, hang,
// leak or overflow, and a request it accepts must be one the store can
// take as it is: every limit of kv_limits.h holds, keys are canonical
// encodings, values are compact JSON, versions are 20 lowercase hex digits.

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "fuzz_support.h"
#include "json_request.h"

namespace kv::fuzz {
namespace {

// True when `text` has whitespace outside its strings.
bool HasLooseWhitespace(std::string_view text) {
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') ++i;
      in_string = c != '"';
    } else if (c == '"') {
      in_string = true;
    } else if (c == ' ' || c == '\n' || c == '\r' || c == '\t') {
      return true;
    }
  }
  return false;
}

// A stored value is compact JSON that reads back as the value the request
// sent (numbers are stored as written, so compare what they parse to).
void CheckValue(std::string_view value, const boost::json::value& sent) {
  KV_FUZZ_REQUIRE(value.size() <= kMaxValueBytes,
                  "value of " + std::to_string(value.size()) + " bytes");
  KV_FUZZ_REQUIRE(
      !HasLooseWhitespace(value),
      "stored value " + std::string(value.substr(0, 200)) + " is not compact");
  const std::string stored =
      boost::json::serialize(MustParse(value, "a stored value"));
  const std::string expected = boost::json::serialize(sent);
  KV_FUZZ_REQUIRE(stored == expected,
                  "stored value " + std::string(value.substr(0, 200)) +
                      " reads back as " + stored.substr(0, 200) +
                      ", not as the value sent, " + expected.substr(0, 200));
}

// CheckValue for the object of a set mutation or an enqueue: its "value"
// as sent, when it is JSON (bytes and V8 values are checked by
// kv_connect_fuzzer's value readers and the base64 tests).
void CheckSentValue(std::string_view value, const boost::json::object& sent) {
  const boost::json::value* type = sent.if_contains("valueType");
  if (type != nullptr && *type != "json") return;
  CheckValue(value, sent.at("value"));
}

// The one-pass split of a body (ParseJsonWithValues, for set: the field
// "value" of the body) agrees with Boost.JSON's parse (ParseJson): both
// accept, or both refuse for the same kind of reason; and the value it
// writes, put back in place of its index, gives the same document.
void CheckSplitAgreesWithParse(std::string_view body) {
  namespace json = boost::json;
  auto kind = [](const json::error_code& error) {
    return !error                                    ? 0
           : error == json::error::too_deep          ? 1
           : error == json::error::exponent_overflow ? 2
                                                     : 3;
  };
  json::error_code parse_error;
  const json::value parsed = ParseJson(body, kMaxJsonDepth, {}, parse_error);
  json::error_code split_error;
  std::vector<std::string> values;
  json::value split =
      ParseJsonWithValues(body, kMaxJsonDepth, 1, {}, &values, split_error);
  KV_FUZZ_REQUIRE(kind(parse_error) == kind(split_error),
                  "ParseJson: " + parse_error.message() +
                      "; ParseJsonWithValues: " + split_error.message());
  if (parse_error) return;
  if (json::object* object = split.if_object()) {
    for (auto& field : *object) {
      if (field.key() != "value" || field.value().is_string()) continue;
      KV_FUZZ_REQUIRE(
          field.value().is_int64() && field.value().get_int64() >= 0 &&
              static_cast<size_t>(field.value().get_int64()) < values.size(),
          "a stored value's index is " + json::serialize(field.value()));
      const std::string& value = values[field.value().get_int64()];
      CheckValue(value, parsed.as_object().at("value"));
      field.value() = MustParse(value, "a stored value");
    }
  }
  KV_FUZZ_REQUIRE(json::serialize(split) == json::serialize(parsed),
                  "the split document " +
                      json::serialize(split).substr(0, 200) +
                      " is not the parsed one");
}

void CheckVersion(const std::optional<std::string>& version) {
  if (!version) return;
  bool lower_hex = version->size() == 20;
  for (char c : *version) {
    lower_hex = lower_hex && ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'));
  }
  KV_FUZZ_REQUIRE(lower_hex, "check version " + *version);
}

// `body`, an accepted set or atomic body, holds the value of mutation
// `index` at `body.value` (set) or `body.mutations[index].value` (atomic).
void CheckCommit(const CommitRequest& request, std::string_view body) {
  const boost::json::value sent = MustParse(body, "an accepted body");
  KV_FUZZ_REQUIRE(request.checks.size() <= kMaxChecksPerCommit,
                  "too many checks");
  KV_FUZZ_REQUIRE(request.mutations.size() <= kMaxMutationsPerCommit,
                  "too many mutations");
  size_t bytes = 0;
  for (const Check& check : request.checks) {
    CheckEncodedKey(check.key);
    CheckVersion(check.version);
    bytes += check.key.size();
  }
  for (const Mutation& mutation : request.mutations) {
    CheckEncodedKey(mutation.key);
    if (mutation.type == Mutation::Type::kSet) {
      const size_t index = &mutation - request.mutations.data();
      const boost::json::object& object = sent.as_object();
      CheckSentValue(mutation.value,
                     object.contains("mutations")
                         ? object.at("mutations").at(index).as_object()
                         : object);
    } else {
      KV_FUZZ_REQUIRE(mutation.value.empty(), "a delete carries a value");
    }
    bytes += mutation.key.size() + mutation.value.size();
  }
  KV_FUZZ_REQUIRE(request.enqueues.size() <= kMaxEnqueuesPerCommit,
                  "too many enqueues");
  for (size_t i = 0; i < request.enqueues.size(); ++i) {
    const Enqueue& enqueue = request.enqueues[i];
    KV_FUZZ_REQUIRE(CheckEnqueue(enqueue, "enqueue").ok(),
                    "an enqueue accepted past its limits");
    for (const std::string& key : enqueue.keys_if_undelivered) {
      CheckEncodedKey(key);
      bytes += key.size();
    }
    CheckSentValue(enqueue.value,
                   sent.as_object().at("enqueues").at(i).as_object());
    bytes += enqueue.value.size();
  }
  KV_FUZZ_REQUIRE(bytes <= kMaxCommitBytes,
                  "commit of " + std::to_string(bytes) + " bytes");
}

void CheckOneMutation(const CommitRequest& request, std::string_view body,
                      Mutation::Type type) {
  KV_FUZZ_REQUIRE(request.checks.empty() && request.mutations.size() == 1 &&
                      request.mutations[0].type == type,
                  "a one-key route decoded to another shape");
  CheckCommit(request, body);
}

}  // namespace
}  // namespace kv::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace kv;
  using namespace kv::fuzz;
  const std::string_view body(reinterpret_cast<const char*>(data), size);

  CheckSplitAgreesWithParse(body);

  ReadRequest read;
  const Status get = DecodeGet(body, &read);
  if (get.ok()) {
    KV_FUZZ_REQUIRE(!read.keys.empty() && read.keys.size() <= kMaxKeysPerGet,
                    "get of " + std::to_string(read.keys.size()) + " keys");
    for (const std::string& key : read.keys) CheckEncodedKey(key);
  } else {
    CheckRefusal(get);
  }

  CommitRequest set;
  const Status set_status = DecodeSet(body, &set);
  if (set_status.ok()) {
    CheckOneMutation(set, body, Mutation::Type::kSet);
  } else {
    CheckRefusal(set_status);
  }

  CommitRequest del;
  const Status delete_status = DecodeDelete(body, &del);
  if (delete_status.ok()) {
    CheckOneMutation(del, body, Mutation::Type::kDelete);
  } else {
    CheckRefusal(delete_status);
  }

  CommitRequest atomic;
  const Status atomic_status = DecodeAtomic(body, &atomic);
  if (atomic_status.ok()) {
    CheckCommit(atomic, body);
  } else {
    CheckRefusal(atomic_status);
  }

  return 0;
}
