// Requests through Handle, as the wasm module serves them, on native SQLite.

#include "service.h"

#include <gtest/gtest.h>

#include <memory>
#include <nlohmann/json.hpp>

#include "kv_limits.h"
#include "sqlite_storage.h"

namespace kv {
namespace {

using nlohmann::json;

class ServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(SqliteStorage::Open(":memory:", &storage_).ok());
    store_ = std::make_unique<Store>(storage_.get());
    ASSERT_TRUE(store_->Migrate().ok());
    const json set = Call("create", {{"credential", std::string(64, 'f')}});
    ASSERT_EQ(last_status_, 200) << set;
    EXPECT_EQ(set["limits"],
              json::parse(R"({"opsPerMonth":10000,"storageBytes":10485760})"));
  }

  // Runs one request in a transaction, with the deferred operations and the
  // state row the host holds, as the Durable Object does; returns the
  // response JSON and sets last_status_.
  json Call(const std::string& operation, const json& body,
            const std::string& credential = std::string(32, '\xff'),
            const std::string& idempotency_key = "") {
    Response response;
    EXPECT_TRUE(storage_
                    ->Transaction([&] {
                      const std::string text = body.dump();
                      response =
                          Handle(store_.get(),
                                 {operation, credential, text, now_ms_,
                                  deferred_, state_row_, idempotency_key});
                      return !response.failed;
                    })
                    .ok());
    if (!response.failed) deferred_ = response.deferred_operations;
    state_row_ = response.failed ? std::string() : response.state_row;
    last_status_ = response.http_status;
    last_response_ = response;
    return json::parse(response.body);
  }

  // The value stored at `key` (a JSON array), or null; asserts the read worked.
  json ValueAt(const char* key) {
    const json response =
        Call("get", json::parse(std::string(R"({"keys":[)") + key + "]}"));
    EXPECT_EQ(last_status_, 200) << response;
    return response.at("entries").at(0).at("value");
  }

  std::unique_ptr<SqliteStorage> storage_;
  std::unique_ptr<Store> store_;
  int last_status_ = 0;
  Response last_response_;
  uint64_t deferred_ = 0;  // what the host holds between requests
  std::string state_row_;  // likewise
  int64_t now_ms_ = int64_t{1795694400} * 1000;  // 2026-11-26T12:00:00Z
};

TEST_F(ServiceTest, GetOfAMissingKey) {
  const json response = Call("get", json::parse(R"({"keys":[["users","1"]]})"));
  EXPECT_EQ(last_status_, 200);
  EXPECT_EQ(
      response,
      json::parse(
          R"({"entries":[{"key":["users","1"],"value":null,"version":null}]})"));
}

TEST_F(ServiceTest, SetGetDeleteRoundTrip) {
  const json value = {{"name", "GhostZero"}, {"email", "example@example.com"}};
  const json set = Call("set", {{"key", {"users", "1"}}, {"value", value}});
  ASSERT_EQ(last_status_, 200);
  EXPECT_EQ(set["ok"], true);
  const std::string version = set["version"];
  EXPECT_EQ(version.size(), 20u);

  const json got = Call(
      "get",
      json::parse(R"({"keys":[["users","1"],["users","2"],["users","1"]]})"));
  ASSERT_EQ(got["entries"].size(), 3u);
  EXPECT_EQ(got["entries"][0]["value"], value);
  EXPECT_EQ(got["entries"][0]["version"], version);
  EXPECT_EQ(got["entries"][1]["value"], nullptr);
  EXPECT_EQ(got["entries"][2]["key"], json({"users", "1"}));

  EXPECT_EQ(Call("delete", {{"key", {"users", "1"}}})["deleted"], true);
  EXPECT_EQ(Call("delete", {{"key", {"users", "1"}}})["deleted"], false);
}

TEST_F(ServiceTest, KeysComeBackCanonical) {
  const json key = json::parse(R"([{"bytes":"AAE="}, "s", 1.0, -0.5,
      {"bigint":"-12345678901234567890123"}, {"number":"NaN"}, true])");
  Call("set", {{"key", key}, {"value", 1}});
  const json got = Call("get", {{"keys", json::array({key})}});
  ASSERT_EQ(last_status_, 200) << got;
  EXPECT_EQ(got["entries"][0]["key"], json::parse(R"([{"bytes":"AAE="}, "s", 1,
      -0.5, {"bigint":"-12345678901234567890123"}, {"number":"NaN"}, true])"));
  EXPECT_EQ(got["entries"][0]["value"], 1);
}

TEST_F(ServiceTest, AtomicIsAllOrNothingWhenALaterMutationIsInvalid) {
  json mutations = json::array();
  for (int i = 0; i < 999; ++i) {
    mutations.push_back({{"type", "set"}, {"key", {"k", i}}, {"value", i}});
  }
  mutations.push_back({{"type", "set"}, {"key", {"k", nullptr}}, {"value", 1}});
  const json response = Call("atomic", {{"mutations", mutations}});
  EXPECT_EQ(last_status_, 400);
  EXPECT_EQ(response["error"]["code"], "invalid_key");
  EXPECT_EQ(ValueAt(R"(["k",0])"), nullptr);
  EXPECT_EQ(ValueAt(R"(["k",998])"), nullptr);
}

TEST_F(ServiceTest, FailedCheckNamesItAndWritesNothing) {
  const std::string version =
      Call("set", {{"key", {"a"}}, {"value", 1}})["version"];
  const json response =
      Call("atomic",
           {{"checks",
             {{{"key", {"a"}}, {"version", version}},
              {{"key", {"a"}}, {"version", nullptr}}}},
            {"mutations", {{{"type", "set"}, {"key", {"b"}}, {"value", 2}}}}});
  EXPECT_EQ(last_status_, 200);
  EXPECT_EQ(response, json::parse(R"({"ok":false,"failedChecks":[1]})"));
  EXPECT_EQ(ValueAt(R"(["b"])"), nullptr);
  EXPECT_EQ(ValueAt(R"(["a"])"), 1);
}

TEST_F(ServiceTest, RefusesAWrongCredentialBeforeReadingTheBody) {
  const json response =
      Call("get", "not even an object", std::string(32, '\x01'));
  EXPECT_EQ(last_status_, 401);
  EXPECT_EQ(response["error"]["code"], "invalid_token");
}

TEST_F(ServiceTest, ErrorsAreJsonWithCodeAndMessage) {
  const json response = Call("set", {{"key", {"a"}}});
  EXPECT_EQ(last_status_, 400);
  EXPECT_EQ(response["error"]["code"], "invalid_request");
  EXPECT_EQ(response["error"]["message"],
            "the request body is missing the field \"value\"");
  Call("nope", json::object());
  EXPECT_EQ(last_status_, 404);
}

TEST_F(ServiceTest, UsageReportsLimitsAndCounts) {
  Call("set", {{"key", {"a"}}, {"value", "xyz"}});
  json usage = Call("usage", json::object());
  EXPECT_EQ(last_status_, 200);
  EXPECT_EQ(usage["daily"].size(), 30u);
  usage.erase("daily");
  EXPECT_EQ(usage, json::parse(R"({"limits":{"opsPerMonth":10000,
      "storageBytes":10485760},"usage":{"month":"2026-11","operations":1,
      "storageBytes":8,"resetsAt":"2026-12-01T00:00:00Z"}})"));
  ASSERT_TRUE(last_response_.quota.has_value());
  EXPECT_EQ(last_response_.quota->limit, 10000u);
  EXPECT_EQ(last_response_.quota->remaining, 9999u);
}

// Daily usage: each day's operations and its last storage, for 30 days.
TEST_F(ServiceTest, UsageReportsTheLastThirtyDays) {
  const auto daily = [&] { return Call("usage", json::object())["daily"]; };
  now_ms_ = int64_t{1795910400} * 1000 - 1000;      // 2026-11-28T23:59:59Z
  Call("set", {{"key", {"a"}}, {"value", "xyz"}});  // 1 op, 8 bytes
  Call("get", {{"keys", {{"a"}}}});                 // 1 op, deferred
  json days = daily();  // today counts what is deferred too
  EXPECT_EQ(days.back(), json::parse(R"({"date":"2026-11-28",
      "operations":2,"storageBytes":8})"));
  now_ms_ += 2 * 24 * 3600 * 1000;  // 2026-11-30: a day with nothing between
  Call("set", {{"key", {"bb"}}, {"value", 1}});  // folds the get: 2 ops now
  days = daily();
  ASSERT_EQ(days.size(), 30u);
  EXPECT_EQ(days[27], json::parse(R"({"date":"2026-11-28","operations":1,
      "storageBytes":8})"));
  EXPECT_EQ(days[28], json::parse(R"({"date":"2026-11-29","operations":0,
      "storageBytes":8})"));
  EXPECT_EQ(days[29], json::parse(R"({"date":"2026-11-30","operations":2,
      "storageBytes":13})"));
  // A new month starts its count anew; days go back 30 from today.
  now_ms_ += 24 * 3600 * 1000;  // 2026-12-01
  Call("set", {{"key", {"c"}}, {"value", 2}});
  days = daily();
  EXPECT_EQ(days.front()["date"], "2026-11-02");
  EXPECT_EQ(days.back(), json::parse(R"({"date":"2026-12-01",
      "operations":1,"storageBytes":17})"));
  EXPECT_EQ(days[28]["operations"], 2);  // 2026-11-30 as it was
  // The operator's view (stats) carries the same days.
  EXPECT_EQ(Call("stats", json::object(), std::string())["daily"], days);
}

TEST_F(ServiceTest, InternalOperationsNeedNoCredentialAndPublicOnesDo) {
  Call("configure", json::parse(R"({"limits":{"opsPerMonth":null}})"),
       std::string());
  EXPECT_EQ(last_status_, 200);
  Call("usage", json::object(), std::string());
  EXPECT_EQ(last_status_, 401);
  const json stats = Call("stats", json::object(), std::string());
  EXPECT_EQ(stats["limits"]["opsPerMonth"], nullptr);
  Call("get", json::parse(R"({"keys":[["a"]]})"));
  EXPECT_FALSE(last_response_.quota.has_value());  // unlimited: no headers
}

TEST_F(ServiceTest, ListPagesThroughAPrefixWithCursors) {
  json mutations = json::array();
  for (int i = 0; i < 25; ++i) {
    mutations.push_back({{"type", "set"}, {"key", {"items", i}}, {"value", i}});
  }
  mutations.push_back({{"type", "set"}, {"key", {"other"}}, {"value", 0}});
  Call("atomic", {{"mutations", mutations}});
  json seen = json::array();
  json body = json::parse(R"({"prefix":["items"],"limit":10})");
  for (;;) {
    const json page = Call("list", body);
    ASSERT_EQ(last_status_, 200) << page;
    for (const json& entry : page["entries"]) seen.push_back(entry["value"]);
    if (page["cursor"].is_null()) break;
    body["cursor"] = page["cursor"];
  }
  ASSERT_EQ(seen.size(), 25u);
  for (int i = 0; i < 25; ++i) EXPECT_EQ(seen[i], i);
  EXPECT_EQ(Call("count", json::parse(R"({"prefix":["items"]})")),
            json::parse(R"({"count":25,"cursor":null})"));
  const json keys_only = Call(
      "list",
      json::parse(
          R"({"prefix":["items"],"limit":1,"keysOnly":true,"reverse":true})"));
  EXPECT_EQ(keys_only["entries"][0]["key"], json::parse(R"(["items",24])"));
  EXPECT_FALSE(keys_only["entries"][0].contains("value"));
}

TEST_F(ServiceTest, ExpiryAsksTheHostToWakeTheStore) {
  Call("set", json::parse(R"({"key":["t"],"value":1,"expireIn":5000})"));
  ASSERT_TRUE(last_response_.wake_at_ms.has_value());
  EXPECT_EQ(*last_response_.wake_at_ms, now_ms_ + 5000);
  const json entry = Call("get", json::parse(R"({"keys":[["t"]]})"));
  EXPECT_EQ(entry["entries"][0]["expiresAt"], now_ms_ + 5000);
  now_ms_ += 5000;
  const json purge = Call("purge", json::object(), std::string());
  EXPECT_EQ(purge,
            json::parse(R"({"purged":1,"more":false,"nextExpiry":null})"));
}

// ---- Hardening (issue 10) ----

TEST_F(ServiceTest, ARefusedRequestCostsOneOperationAQuotaRefusalNone) {
  Call("configure", json::parse(R"({"limits":{"opsPerMonth":3}})"),
       std::string());
  Call("get", json::parse(R"({"keys":[["a"]],"extra":1})"));
  EXPECT_EQ(last_status_, 400);
  Call("set", {{"key", {std::string(3000, 'k')}}, {"value", 1}});
  EXPECT_EQ(last_status_, 400);  // key_too_large
  EXPECT_EQ(Call("usage", json::object())["usage"]["operations"], 2);
  Call("get", json::parse(R"({"keys":[["a"]]})"));
  EXPECT_EQ(last_status_, 200);  // the third and last operation
  Call("get", json::parse(R"({"keys":[["a"]]})"));
  EXPECT_EQ(last_status_, 429);
  Call("get", json::parse(R"({"keys":"bad"})"));  // no operation left to pay
  EXPECT_EQ(last_status_, 400);
  EXPECT_EQ(Call("usage", json::object())["usage"]["operations"], 3);
}

// ---- Reads write nothing (issue 11) ----

TEST_F(ServiceTest, ReadsAreDeferredUsageReportsThemAndFoldWritesThem) {
  Call("set", json::parse(R"({"key":["a"],"value":1})"));
  EXPECT_EQ(deferred_, 0u);
  Call("get", json::parse(R"({"keys":[["a"],["b"]]})"));
  EXPECT_EQ(last_status_, 200);
  EXPECT_EQ(deferred_, 2u);
  EXPECT_EQ(last_response_.quota->remaining, 10000u - 3);
  const json usage = Call("stats", json::object(), std::string());
  EXPECT_EQ(usage["usage"]["operations"], 3);  // the live count
  EXPECT_EQ(Call("fold", json::object(), std::string()),
            json::parse(R"({"folded":2})"));
  EXPECT_EQ(deferred_, 0u);
  EXPECT_EQ(store_->state().usage_ops, 3u);
  EXPECT_EQ(Call("fold", json::object(), std::string()),
            json::parse(R"({"folded":0})"));
}

TEST_F(ServiceTest, RotateReplacesTheCredentialAndReportsTheOneItReplaced) {
  const json rotated =
      Call("rotate", {{"credential", std::string(64, 'a')}}, std::string());
  ASSERT_EQ(last_status_, 200) << rotated;
  EXPECT_EQ(rotated,
            json({{"previous", std::string(64, 'f')}, {"generation", 2}}));
  Call("get", json::parse(R"({"keys":[["a"]]})"));
  EXPECT_EQ(last_status_, 401);  // the old credential
  Call("get", json::parse(R"({"keys":[["a"]]})"), std::string(32, '\xaa'));
  EXPECT_EQ(last_status_, 200);
  Call("configure", {{"credential", std::string(64, 'b')}}, std::string());
  EXPECT_EQ(last_status_, 400);  // only rotate changes it
  Call("retire", json::object(), std::string());
  EXPECT_EQ(last_status_, 200);
  for (const char* operation : {"rotate", "configure", "stats"}) {
    const json refused = Call(operation,
                              std::string(operation) == "rotate"
                                  ? json{{"credential", std::string(64, 'c')}}
                                  : json::object(),
                              std::string());
    EXPECT_EQ(last_status_, 404) << operation;
    EXPECT_EQ(refused["error"]["code"], "store_not_found");
  }
}

TEST_F(ServiceTest, IntegersNoDoubleHoldsAreRefusedNotRounded) {
  // 2^53 + 1 would become 2^53 and name another key.
  Call("set", json::parse(R"({"key":[9007199254740993],"value":1})"));
  EXPECT_EQ(last_status_, 400);
  json refused =
      Call("set", json::parse(R"({"key":[9007199254740993],"value":1})"));
  EXPECT_EQ(refused["error"]["code"], "invalid_key");
  EXPECT_NE(refused["error"]["message"].get<std::string>().find("bigint"),
            std::string::npos);
  Call("set", json::parse(R"({"key":[18446744073709551615],"value":1})"));
  EXPECT_EQ(last_status_, 400);
  // Integers a double holds exactly are numbers as before, and so are the
  // shortest forms JavaScript writes (2^62 + 1024 as ...389000).
  Call("set", json::parse(R"({"key":[9007199254740992],"value":1})"));
  EXPECT_EQ(last_status_, 200);
  Call("set", json::parse(R"({"key":[1152921504606846976],"value":2})"));
  EXPECT_EQ(last_status_, 200);
  Call("set", json::parse(R"({"key":[4611686018427389000],"value":3})"));
  EXPECT_EQ(last_status_, 200);
  EXPECT_EQ(ValueAt("[4611686018427388928]"), 3);  // the same double
  // Past 64 bits the literal reaches the double parser: same rule. 1e20
  // and 2^64 as JavaScript writes them are doubles; the others are not.
  const std::pair<const char*, int> kNumbers[] = {
      {"123456789012345678901234567890", 400},
      {"-100000000000000000000001", 400},
      {"-1e400000", 400},
      {"100000000000000000000", 200},
      {"18446744073709552000", 200}};
  for (const auto& number_and_status : kNumbers) {
    // Named copies: clang 14 cannot capture structured bindings.
    const char* number = number_and_status.first;
    const int status = number_and_status.second;
    Response response;
    ASSERT_TRUE(storage_
                    ->Transaction([&] {
                      response =
                          Handle(store_.get(),
                                 {"set", std::string(32, '\xff'),
                                  std::string(R"({"key":["v"],"value":)") +
                                      number + "}",
                                  now_ms_});
                      return true;
                    })
                    .ok());
    EXPECT_EQ(response.http_status, status) << number;
    if (status == 400) {
      EXPECT_NE(response.body.find("invalid_json"), std::string::npos);
    }
  }
}

TEST_F(ServiceTest, TheWorstListPageStaysWithinTheResponseBound) {
  Call("configure",
       json::parse(R"({"limits":{"opsPerMonth":null,"storageBytes":null}})"),
       std::string());
  // Control characters are six bytes each in JSON, and the cursor repeats
  // the key: the largest rendering a key can have.
  json mutations = json::array();
  for (int i = 0; i < 1000; ++i) {
    std::string part(2030, '\x01');
    part.replace(0, 4, std::to_string(1000 + i));
    mutations.push_back({{"type", "set"}, {"key", {part}}, {"value", 0}});
    // 30 keys of 2 KiB: within kMaxCommitKeyBytes.
    if (mutations.size() == 30 || i == 999) {
      Call("atomic", {{"mutations", mutations}});
      ASSERT_EQ(last_status_, 200);
      mutations = json::array();
    }
  }
  for (bool keys_only : {true, false}) {
    json body = {
        {"prefix", json::array()}, {"limit", 1000}, {"keysOnly", keys_only}};
    size_t seen = 0;
    for (;;) {
      const json page = Call("list", body);
      ASSERT_EQ(last_status_, 200);
      EXPECT_LT(last_response_.body.size(), kMaxResponseBytes);
      seen += page["entries"].size();
      if (page["cursor"].is_null()) break;
      body["cursor"] = page["cursor"];
    }
    EXPECT_EQ(seen, 1000u);
  }
}

TEST_F(ServiceTest, ValuesBeyondJsonTravelAsBase64WithTheirType) {
  // Raw bytes come back as they went.
  Call("set", {{"key", {"b"}}, {"value", "AP8B"}, {"valueType", "bytes"}});
  ASSERT_EQ(last_status_, 200);
  json entry = Call("get", {{"keys", {{"b"}}}})["entries"][0];
  EXPECT_EQ(entry["value"], "AP8B");
  EXPECT_EQ(entry["valueType"], "bytes");
  // V8 bytes with a JSON form are stored as JSON ("hi"); others as bytes.
  Call("set", {{"key", {"s"}}, {"value", "/w8iAmhp"}, {"valueType", "v8"}});
  ASSERT_EQ(last_status_, 200);
  EXPECT_EQ(ValueAt(R"(["s"])"), "hi");
  Call("set",
       {{"key", {"d"}}, {"value", "/w9EAAAAAAAAAAA="}, {"valueType", "v8"}});
  entry = Call("get", {{"keys", {{"d"}}}})["entries"][0];
  EXPECT_EQ(entry["value"], "/w9EAAAAAAAAAAA=");
  EXPECT_EQ(entry["valueType"], "v8");
  // Bytes that do not parse, or base64 that is not, write nothing.
  for (const json& bad :
       {json{{"value", "/w/u"}, {"valueType", "v8"}},
        json{{"value", "not base64!"}, {"valueType", "bytes"}},
        json{{"value", 1}, {"valueType", "bytes"}},
        json{{"value", "x"}, {"valueType", "date"}}}) {
    json body = bad;
    body["key"] = {"bad"};
    const json refused = Call("set", body);
    EXPECT_EQ(last_status_, 400) << refused;
  }
  EXPECT_TRUE(ValueAt(R"(["bad"])").is_null());
  // A sum needs a counter, not bytes.
  Call("atomic",
       {{"mutations", {{{"type", "sum"}, {"key", {"b"}}, {"value", "1"}}}}});
  EXPECT_EQ(last_status_, 400);
}

TEST_F(ServiceTest, AVersionstampedKeyGainsTheCommitsVersion) {
  const json set = Call("atomic", {{"mutations",
                                    {{{"type", "set"},
                                      {"key", {"log"}},
                                      {"value", 1},
                                      {"versionstampedKey", true}}}}});
  ASSERT_EQ(last_status_, 200) << set;
  const json listed = Call("list", {{"prefix", {"log"}}});
  ASSERT_EQ(listed["entries"].size(), 1u);
  EXPECT_EQ(listed["entries"][0]["key"], json({"log", set["version"]}));
  // The key with its 22 more bytes must fit the key limit.
  Call("set", {{"key", {std::string(2030, 'k')}},
               {"value", 1},
               {"versionstampedKey", true}});
  EXPECT_EQ(last_status_, 400);
}

TEST_F(ServiceTest, ACommitsKeysAreBoundedAsDenoKvBoundsThem) {
  json mutations = json::array();
  for (int i = 0; i < 41; ++i) {  // 41 keys of 2 KiB: past 80 KiB
    std::string part(2000, 'k');
    part.replace(0, 2, std::to_string(10 + i));
    mutations.push_back({{"type", "set"}, {"key", {part}}, {"value", 0}});
  }
  const json refused = Call("atomic", {{"mutations", mutations}});
  EXPECT_EQ(last_status_, 413);
  EXPECT_EQ(refused["error"]["code"], "commit_too_large");
  mutations.erase(mutations.begin());
  Call("atomic", {{"mutations", mutations}});
  EXPECT_EQ(last_status_, 200);
}

// A write sent with an Idempotency-Key is applied once: a retry gets the
// first answer, for kIdempotencyWindowMs and kMaxIdempotencyKeys.
class IdempotencyTest : public ServiceTest {
 protected:
  json Sum(const std::string& key, const char* by = "1") {
    return Call(
        "atomic",
        {{"mutations", {{{"type", "sum"}, {"key", {"n"}}, {"value", by}}}}},
        std::string(32, '\xff'), key);
  }
  json Counter() { return ValueAt(R"(["n"])"); }
  const std::string kCredential = std::string(32, '\xff');
};

TEST_F(IdempotencyTest, ARetryGetsTheFirstAnswerAndAppliesNothing) {
  const json first = Sum("retry-1");
  ASSERT_EQ(last_status_, 200) << first;
  EXPECT_FALSE(last_response_.replayed);
  const json again = Sum("retry-1");
  EXPECT_EQ(last_status_, 200);
  EXPECT_TRUE(last_response_.replayed);
  EXPECT_EQ(again, first);  // the same version
  EXPECT_EQ(Counter(), "1");
  // Another key is another request.
  Sum("retry-2");
  EXPECT_EQ(Counter(), "2");
  // A failed check is an answer too: its retry fails the same way, even
  // once the check would hold.
  const json check = {
      {"checks", {{{"key", {"c"}}, {"version", "00000000000000010000"}}}},
      {"mutations", json::array()}};
  const json failed = Call("atomic", check, kCredential, "check-1");
  EXPECT_EQ(failed["ok"], false);
  EXPECT_EQ(Call("atomic", check, kCredential, "check-1"), failed);
  EXPECT_TRUE(last_response_.replayed);
}

TEST_F(IdempotencyTest, AKeyReusedForAnotherRequestIsRefused) {
  Sum("reuse");
  const json refused = Sum("reuse", "2");
  EXPECT_EQ(last_status_, 422);
  EXPECT_EQ(refused["error"]["code"], "idempotency_key_reused");
  Call("set", {{"key", {"n"}}, {"value", 5}}, kCredential, "reuse");
  EXPECT_EQ(last_status_, 422);  // another route
  EXPECT_EQ(Counter(), "1");
}

TEST_F(IdempotencyTest, ARefusedRequestKeepsNoOutcome) {
  // A value past its limit: refused, and refused again on retry (nothing
  // was kept, so nothing is replayed).
  const json large = {{"key", {"big"}}, {"value", std::string(20000, 'x')}};
  Call("set", large, kCredential, "big");
  EXPECT_EQ(last_status_, 413);
  Call("set", large, kCredential, "big");
  EXPECT_EQ(last_status_, 413);
  EXPECT_FALSE(last_response_.replayed);
}

// A retry whose write used the month's last operation still gets its
// answer: a 429 would say nothing was applied.
TEST_F(IdempotencyTest, AReplayIsNeverRefusedForTheQuota) {
  const json first = Sum("last-op");
  const int used = Call("usage", json::object())["usage"]["operations"];
  Call("configure", {{"limits", {{"opsPerMonth", used}}}}, std::string());
  EXPECT_EQ(Sum("last-op"), first);
  EXPECT_EQ(last_status_, 200);
  EXPECT_TRUE(last_response_.replayed);
  Sum("new-key");
  EXPECT_EQ(last_status_, 429);  // a new write is refused
}

TEST_F(IdempotencyTest, KeysAreCheckedAndOnlyWritesTakeThem) {
  for (const std::string& bad :
       {std::string(65, 'k'), std::string("with space"), std::string("ü")}) {
    const json refused = Sum(bad);
    EXPECT_EQ(last_status_, 400) << bad;
    EXPECT_EQ(refused["error"]["code"], "invalid_idempotency_key");
  }
  EXPECT_TRUE(Sum(std::string(64, 'k'))["ok"]);
  Call("get", {{"keys", {{"n"}}}}, kCredential, "a-read");
  EXPECT_EQ(last_status_, 400);
}

TEST_F(IdempotencyTest, OutcomesAreKeptForADayAndTheNewestTenThousand) {
  Sum("old");
  now_ms_ += kIdempotencyWindowMs - 1;
  Sum("old");
  EXPECT_TRUE(last_response_.replayed);
  now_ms_ += 1;  // past the window: a new request
  Sum("old");
  EXPECT_FALSE(last_response_.replayed);
  EXPECT_EQ(Counter(), "2");

  Call("configure",
       json::parse(R"({"limits":{"opsPerMonth":null,"storageBytes":null}})"),
       std::string());
  Sum("first");
  for (int64_t i = 0; i < kMaxIdempotencyKeys - 1; ++i) {
    Call("set", {{"key", {"k"}}, {"value", i}}, kCredential,
         "fill-" + std::to_string(i));
  }
  Sum("first");  // still among the newest 10,000
  EXPECT_TRUE(last_response_.replayed);
  Call("set", {{"key", {"k"}}, {"value", -1}}, kCredential, "one-more");
  Sum("first");  // pushed out: applied again
  EXPECT_FALSE(last_response_.replayed);
}

}  // namespace
}  // namespace kv
