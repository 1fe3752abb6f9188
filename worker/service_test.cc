// Requests through Handle, as the wasm module serves them, on native SQLite.

#include "service.h"

#include <gtest/gtest.h>

#include <memory>
#include <nlohmann/json.hpp>

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
    const json set =
        Call("set_credential", {{"credential", std::string(64, 'f')}});
    ASSERT_EQ(set, json({{"ok", true}}));
  }

  // Runs one request in a transaction; returns the response JSON and sets
  // last_status_.
  json Call(const std::string& operation, const json& body,
            const std::string& credential = std::string(32, '\xff')) {
    Response response;
    EXPECT_TRUE(storage_
                    ->Transaction([&] {
                      response = Handle(store_.get(), operation, credential,
                                        body.dump());
                      return response.http_status < 500;
                    })
                    .ok());
    last_status_ = response.http_status;
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

}  // namespace
}  // namespace kv
