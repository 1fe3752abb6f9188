// Fuzzes the commit path end to end in the core: kv::Handle (service.h) on
// a fresh in-memory SQLite store, each request inside one
// SqliteStorage::Transaction as the Durable Object host runs it.
//
// The input is a sequence of requests separated by NUL bytes (NUL never
// appears in JSON text, so the fuzzer can mutate bodies freely). A request's
// first byte picks the operation and the credential it is sent with; the
// rest is the body. A model of the store (a map of entries, the commit
// counter) predicts every response: status and error code of refusals,
// failed check indexes, versions, deleted flags and the entries a get
// returns. Afterwards every key the requests named is read back through the
// Store and compared with the model.

#include <algorithm>
#include <map>
#include <memory>
#include <set>

#include "fuzz_support.h"
#include "json_request.h"
#include "service.h"
#include "sqlite_storage.h"

namespace kv::fuzz {
namespace {

namespace json = boost::json;

constexpr size_t kMaxRequests = 32;
// The clock stands still during one input, so no entry expires meanwhile.
constexpr int64_t kNowMs = 1767225600000;  // 2026-01-01T00:00:00Z
const std::string kStoreCredential(32, '\xab');
const std::string kOtherCredential(32, '\xcd');

struct ModelEntry {
  std::string value;  // compact JSON
  Version version;
  std::optional<int64_t> expires_at_ms;
};

class Harness {
 public:
  Harness() {
    KV_FUZZ_REQUIRE(SqliteStorage::Open(":memory:", &storage_).ok(), "open");
    store_ = std::make_unique<Store>(storage_.get());
    KV_FUZZ_REQUIRE(store_->Migrate().ok(), "migrate");
    // Unlimited, so that quotas never refuse what the model expects.
    const std::string create = "{\"credential\":\"" + Hex(kStoreCredential) +
                               "\",\"limits\":{\"opsPerMonth\":null,"
                               "\"storageBytes\":null}}";
    const Response created = Call("create", "", create);
    KV_FUZZ_REQUIRE(created.http_status == 200, "create: " + created.body);
  }

  // One request, in its own transaction; never a 5xx on healthy storage.
  Response Call(std::string_view operation, std::string_view credential,
                std::string_view body) {
    Response response;
    const Status status = storage_->Transaction([&] {
      response = Handle(store_.get(), Request{operation, credential, body, kNowMs});
      return response.http_status < 500;
    });
    KV_FUZZ_REQUIRE(status.ok(), "transaction: " + status.message());
    KV_FUZZ_REQUIRE(response.http_status < 500,
                    "a " + std::to_string(response.http_status) + " for " +
                        std::string(operation) + " " +
                        std::string(body.substr(0, 200)) + ": " + response.body);
    return response;
  }

  void Run(uint8_t selector, std::string_view body) {
    static const char* const kOperations[] = {"get", "set", "delete", "atomic",
                                              "no_such_operation"};
    const std::string operation = kOperations[(selector & 0x0F) % 5];
    const std::string credential = (selector & 0x40)   ? ""
                                   : (selector & 0x20) ? kOtherCredential
                                                       : kStoreCredential;
    const Response response = Call(operation, credential, body);
    const json::value answer = MustParse(response.body, "a response");
    const std::string what = operation + " " + std::string(body.substr(0, 200)) +
                             " -> " + response.body.substr(0, 300);

    if (operation == "no_such_operation") {
      return ExpectRefusal(response, answer, 404, "not_found", what);
    }
    if (credential != kStoreCredential) {
      return ExpectRefusal(response, answer, 401, "invalid_token", what);
    }
    if (operation == "get") return ExpectGet(body, response, answer, what);
    CommitRequest request;
    const Status decoded = operation == "set"      ? DecodeSet(body, &request)
                           : operation == "delete" ? DecodeDelete(body, &request)
                                                   : DecodeAtomic(body, &request);
    if (!decoded.ok()) {
      return ExpectRefusal(response, answer, decoded.http_status(),
                           decoded.error_code(), what);
    }
    ExpectCommit(request, operation == "delete", response, answer, what);
  }

  // Every key the requests named reads back as the model says.
  void CheckFinalState() {
    for (const std::string& key : keys_named_) {
      ReadRequest read{{key}};
      bool visited = false;
      const Status status = storage_->Transaction([&] {
        return store_->Begin(kNowMs).ok() &&
               store_->Read(read, [&](const EntryView& entry) {
                        visited = true;
                        auto it = entries_.find(key);
                        KV_FUZZ_REQUIRE(entry.found == (it != entries_.end()),
                                        "presence of " + Hex(key));
                        if (!entry.found) return;
                        KV_FUZZ_REQUIRE(entry.value == it->second.value &&
                                            entry.version == it->second.version,
                                        "entry of " + Hex(key));
                      }).ok() &&
               store_->End().ok();
      });
      KV_FUZZ_REQUIRE(status.ok() && visited, "final read of " + Hex(key));
    }
  }

 private:
  static void ExpectRefusal(const Response& response, const json::value& answer,
                            int http_status, std::string_view code,
                            const std::string& what) {
    KV_FUZZ_REQUIRE(response.http_status == http_status, what);
    const json::object* object = answer.if_object();
    const json::value* error = object ? object->if_contains("error") : nullptr;
    const json::object* fields = error ? error->if_object() : nullptr;
    KV_FUZZ_REQUIRE(fields && fields->if_contains("code") &&
                        fields->at("code") == json::string_view(code.data(), code.size()) &&
                        fields->if_contains("message") &&
                        fields->at("message").is_string(),
                    what);
  }

  void ExpectGet(std::string_view body, const Response& response,
                 const json::value& answer, const std::string& what) {
    ReadRequest request;
    const Status decoded = DecodeGet(body, &request);
    if (!decoded.ok()) {
      return ExpectRefusal(response, answer, decoded.http_status(),
                           decoded.error_code(), what);
    }
    KV_FUZZ_REQUIRE(response.http_status == 200, what);
    const json::array& entries = answer.at("entries").as_array();
    KV_FUZZ_REQUIRE(entries.size() == request.keys.size(), what);
    for (size_t i = 0; i < entries.size(); ++i) {
      const std::string& key = request.keys[i];
      const std::string at = "entry " + std::to_string(i) + ": " + what;
      keys_named_.insert(key);
      std::string key_again;
      KV_FUZZ_REQUIRE(EncodeKey(entries[i].at("key"), "key", &key_again).ok() &&
                          key_again == key,
                      at);
      auto it = entries_.find(key);
      json::object expected{{"key", entries[i].at("key")}};
      if (it == entries_.end()) {
        expected["value"] = nullptr;
        expected["version"] = nullptr;
      } else {
        expected["value"] = MustParse(it->second.value, "a model value");
        expected["version"] = FormatVersion(it->second.version);
        if (it->second.expires_at_ms) expected["expiresAt"] = *it->second.expires_at_ms;
      }
      KV_FUZZ_REQUIRE(entries[i] == json::value(expected),
                      "expected " + json::serialize(expected) + " at " + at);
    }
  }

  void ExpectCommit(const CommitRequest& request, bool reports_deleted,
                    const Response& response, const json::value& answer,
                    const std::string& what) {
    KV_FUZZ_REQUIRE(response.http_status == 200, what);
    json::array failed;
    for (size_t i = 0; i < request.checks.size(); ++i) {
      const Check& check = request.checks[i];
      keys_named_.insert(check.key);
      auto it = entries_.find(check.key);
      const bool holds = it == entries_.end()
                             ? !check.version.has_value()
                             : check.version == FormatVersion(it->second.version);
      if (!holds) failed.push_back(i);
    }
    if (!failed.empty()) {
      const json::value expected = json::object{{"ok", false}, {"failedChecks", failed}};
      KV_FUZZ_REQUIRE(answer == expected,
                      "expected " + json::serialize(expected) + ": " + what);
      return;
    }
    const Version version = ++commits_;
    bool deleted = false;
    for (const Mutation& mutation : request.mutations) {
      keys_named_.insert(mutation.key);
      if (mutation.type == Mutation::Type::kSet) {
        std::optional<int64_t> expires_at;
        if (mutation.expire_in_ms) expires_at = kNowMs + *mutation.expire_in_ms;
        entries_[mutation.key] = ModelEntry{mutation.value, version, expires_at};
      } else {
        deleted = entries_.erase(mutation.key) > 0 || deleted;
      }
    }
    json::object expected{{"ok", true}, {"version", FormatVersion(version)}};
    if (reports_deleted) expected["deleted"] = deleted;
    KV_FUZZ_REQUIRE(answer == json::value(expected),
                    "expected " + json::serialize(expected) + ": " + what);
  }

  std::unique_ptr<SqliteStorage> storage_;
  std::unique_ptr<Store> store_;
  std::map<std::string, ModelEntry> entries_;  // by encoded key
  std::set<std::string> keys_named_;
  Version commits_ = 0;
};

}  // namespace
}  // namespace kv::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  kv::fuzz::Harness harness;
  std::string_view input(reinterpret_cast<const char*>(data), size);
  for (size_t n = 0; n < kv::fuzz::kMaxRequests && !input.empty(); ++n) {
    const size_t end = std::min(input.find('\0'), input.size());
    const std::string_view request = input.substr(0, end);
    input.remove_prefix(std::min(end + 1, input.size()));
    if (request.empty()) continue;
    harness.Run(static_cast<uint8_t>(request[0]), request.substr(1));
  }
  harness.CheckFinalState();
  return 0;
}
