// KV Connect's operations through Handle, on native SQLite: the protobuf
// built and read with protozero, as Deno's clients would send it, and the
// same store read back through the JSON API.

#include "kv_connect.h"

#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <protozero/pbf_reader.hpp>
#include <protozero/pbf_writer.hpp>

#include "base64.h"
#include "service.h"
#include "sqlite_storage.h"
#include "stored_value.h"

namespace kv {
namespace {

using nlohmann::json;
using protozero::pbf_reader;
using protozero::pbf_writer;

// V8-serialized values (docs/design/kv-connect.md section 13).
const std::string kV8Hi("\xff\x0f\x22\x02hi", 6);  // "hi"
const std::string kV8ObjectA1("\xff\x0f\x6f\x22\x01\x61\x49\x02\x7b\x01",
                              10);                               // {a:1}
const std::string kV8Date0("\xff\x0f\x44\0\0\0\0\0\0\0\0", 11);  // Date(0)
// ["k"] and ["k", 1n] encoded (docs/key-encoding.md).
const std::string kKeyK("\x02k\x00", 3);

std::string Le64(uint64_t value) {
  std::string bytes(8, '\0');
  for (int i = 0; i < 8; ++i) bytes[i] = static_cast<char>(value >> (8 * i));
  return bytes;
}

// A Mutation message.
std::string MutationOf(const std::string& key, int type,
                       const std::string& data = "", int encoding = 0,
                       int64_t expire_at_ms = 0) {
  std::string out;
  pbf_writer mutation(out);
  mutation.add_bytes(1, key);
  if (encoding != 0) {
    pbf_writer value(mutation, 2);
    value.add_bytes(1, data);
    value.add_enum(2, encoding);
  }
  mutation.add_enum(3, type);
  if (expire_at_ms != 0) mutation.add_int64(4, expire_at_ms);
  return out;
}

// An Enqueue message (deadline 0: absent), its schedule packed or one
// field per interval.
std::string EnqueueOf(const std::string& payload, int64_t deadline_ms = 0,
                      const std::vector<std::string>& keys = {},
                      const std::vector<uint32_t>& schedule = {},
                      bool packed = true) {
  std::string out;
  pbf_writer enqueue(out);
  enqueue.add_bytes(1, payload);
  if (deadline_ms != 0) enqueue.add_int64(2, deadline_ms);
  for (const std::string& key : keys) enqueue.add_bytes(3, key);
  if (packed) {
    enqueue.add_packed_uint32(4, schedule.begin(), schedule.end());
  } else {
    for (const uint32_t ms : schedule) enqueue.add_uint32(4, ms);
  }
  return out;
}

// An AtomicWrite of `mutations`, checks (key, versionstamp bytes) and
// enqueues (Enqueue messages).
std::string WriteOf(
    const std::vector<std::string>& mutations,
    const std::vector<std::pair<std::string, std::string>>& checks = {},
    const std::vector<std::string>& enqueues = {}) {
  std::string out;
  pbf_writer write(out);
  for (const auto& [key, stamp] : checks) {
    pbf_writer check(write, 1);
    check.add_bytes(1, key);
    if (!stamp.empty()) check.add_bytes(2, stamp);
  }
  for (const std::string& mutation : mutations) write.add_message(2, mutation);
  for (const std::string& enqueue : enqueues) write.add_message(3, enqueue);
  return out;
}

// A V8-serialized one-byte string of `length` x's.
std::string V8String(size_t length) {
  std::string out("\xff\x0f\x22", 3);
  for (uint64_t rest = length;; rest >>= 7) {
    if (rest < 0x80) {
      out += static_cast<char>(rest);
      break;
    }
    out += static_cast<char>(0x80 | (rest & 0x7f));
  }
  return out + std::string(length, 'x');
}

std::string ReadOf(const std::string& start, const std::string& end,
                   int64_t limit, bool reverse = false) {
  std::string out;
  pbf_writer read(out);
  pbf_writer range(read, 1);
  range.add_bytes(1, start);
  range.add_bytes(2, end);
  range.add_int64(3, limit);
  if (reverse) range.add_bool(4, true);
  return out;
}

struct Entry {
  std::string key, value, versionstamp;
  int encoding = 0;
};

Entry ParseEntry(pbf_reader entry) {
  Entry out;
  while (entry.next()) {
    switch (entry.tag()) {
      case 1:
        out.key = entry.get_string();
        break;
      case 2:
        out.value = entry.get_string();
        break;
      case 3:
        out.encoding = entry.get_enum();
        break;
      case 4:
        out.versionstamp = entry.get_string();
        break;
      default:
        entry.skip();
    }
  }
  return out;
}

class KvConnectTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(SqliteStorage::Open(":memory:", &storage_).ok());
    store_ = std::make_unique<Store>(storage_.get());
    ASSERT_TRUE(store_->Migrate().ok());
    Call("create", json{{"credential", std::string(64, 'f')}}.dump());
    ASSERT_EQ(last_status_, 200);
  }

  std::string Call(const std::string& operation, const std::string& body) {
    Response response;
    EXPECT_TRUE(storage_
                    ->Transaction([&] {
                      response = Handle(store_.get(),
                                        {operation, std::string(32, '\xff'),
                                         body, now_ms_, deferred_, state_row_});
                      return !response.failed;
                    })
                    .ok());
    if (!response.failed) deferred_ = response.deferred_operations;
    state_row_ = response.failed ? std::string() : response.state_row;
    last_status_ = response.http_status;
    return response.body;
  }

  // Writes and returns AtomicWriteOutput's (status, versionstamp).
  std::pair<int, std::string> Write(const std::string& body) {
    const std::string out = Call("kvc_atomic_write", body);
    EXPECT_EQ(last_status_, 200) << out;
    std::pair<int, std::string> result{0, ""};
    pbf_reader output(out);
    while (output.next()) {
      if (output.tag() == 1)
        result.first = output.get_enum();
      else if (output.tag() == 2)
        result.second = output.get_string();
      else
        output.skip();
    }
    return result;
  }

  // Reads one range; checks the output's status fields.
  std::vector<Entry> Read(const std::string& body) {
    const std::string out = Call("kvc_snapshot_read", body);
    EXPECT_EQ(last_status_, 200) << out;
    std::vector<Entry> entries;
    bool strong = false;
    int status = 0;
    int ranges = 0;
    pbf_reader output(out);
    while (output.next()) {
      if (output.tag() == 1) {
        ++ranges;
        pbf_reader range = output.get_message();
        while (range.next(1))
          entries.push_back(ParseEntry(range.get_message()));
      } else if (output.tag() == 4) {
        strong = output.get_bool();
      } else if (output.tag() == 8) {
        status = output.get_enum();
      } else {
        output.skip();
      }
    }
    EXPECT_TRUE(strong);
    EXPECT_EQ(status, 1);
    EXPECT_EQ(ranges, 1);  // one range asked, one answered, even empty
    return entries;
  }

  json Json(const std::string& operation, const json& body) {
    return json::parse(Call(operation, body.dump()));
  }

  std::unique_ptr<SqliteStorage> storage_;
  std::unique_ptr<Store> store_;
  int last_status_ = 0;
  uint64_t deferred_ = 0;
  std::string state_row_;
  int64_t now_ms_ = int64_t{1795694400} * 1000;
};

TEST_F(KvConnectTest, SetAndReadBackInEachEncoding) {
  const auto [status, stamp] =
      Write(WriteOf({MutationOf(kKeyK, 1, kV8ObjectA1, 1)}));
  EXPECT_EQ(status, 1);
  ASSERT_EQ(stamp.size(), 10u);
  std::vector<Entry> entries = Read(ReadOf(kKeyK, kKeyK + '\0', 1));
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(entries[0].key, kKeyK);
  EXPECT_EQ(entries[0].encoding, 1);
  EXPECT_EQ(entries[0].value, kV8ObjectA1);
  EXPECT_EQ(entries[0].versionstamp, stamp);

  // The JSON API reads the same entry, with the same version.
  const json got = Json("get", {{"keys", {{"k"}}}});
  EXPECT_EQ(got["entries"][0]["value"], json::parse(R"({"a":1})"));
  std::string hex;
  AppendHex(stamp, &hex);
  EXPECT_EQ(got["entries"][0]["version"], hex);

  // A KvU64, raw bytes and a Date (no JSON form) round-trip exactly.
  for (const auto& [data, encoding] : std::vector<std::pair<std::string, int>>{
           {Le64(42), 2}, {std::string("\x00\xff\x01", 3), 3}, {kV8Date0, 1}}) {
    Write(WriteOf({MutationOf(kKeyK, 1, data, encoding)}));
    entries = Read(ReadOf(kKeyK, kKeyK + '\0', 1));
    ASSERT_EQ(entries.size(), 1u);
    EXPECT_EQ(entries[0].value, data);
    EXPECT_EQ(entries[0].encoding, encoding);
  }
  // The JSON API shows the Date's bytes losslessly.
  const json date = Json("get", {{"keys", {{"k"}}}})["entries"][0];
  EXPECT_EQ(date["valueType"], "v8");
  EXPECT_EQ(date["value"], "/w9EAAAAAAAAAAA=");
}

TEST_F(KvConnectTest, CountersAreSharedWithTheJsonApi) {
  Json("set", {{"key", {"k"}}, {"value", "5"}, {"valueType", "u64"}});
  Write(WriteOf({MutationOf(kKeyK, 3, Le64(2), 2)}));  // sum
  EXPECT_EQ(Json("get", {{"keys", {{"k"}}}})["entries"][0]["value"], "7");
  Write(WriteOf({MutationOf(kKeyK, 4, Le64(9), 2)}));  // max
  const std::vector<Entry> entries = Read(ReadOf(kKeyK, kKeyK + '\0', 1));
  EXPECT_EQ(entries.at(0).value, Le64(9));
  EXPECT_EQ(entries.at(0).encoding, 2);
}

TEST_F(KvConnectTest, ChecksCompareVersionstamps) {
  const std::string stamp =
      Write(WriteOf({MutationOf(kKeyK, 1, kV8Hi, 1)})).second;
  // Must not exist: fails, and reports the check.
  std::string out =
      Call("kvc_atomic_write", WriteOf({MutationOf(kKeyK, 2)}, {{kKeyK, ""}}));
  pbf_reader output(out);
  ASSERT_TRUE(output.next(1));
  EXPECT_EQ(output.get_enum(), 2);
  ASSERT_TRUE(output.next(4));
  const auto failed = output.get_packed_uint32();
  EXPECT_EQ(std::vector<uint32_t>(failed.begin(), failed.end()),
            std::vector<uint32_t>{0});
  // The right versionstamp: applies.
  EXPECT_EQ(Write(WriteOf({MutationOf(kKeyK, 2)}, {{kKeyK, stamp}})).first, 1);
  EXPECT_TRUE(Read(ReadOf(kKeyK, kKeyK + '\0', 1)).empty());
}

TEST_F(KvConnectTest, RangesReadInEitherDirection) {
  std::vector<std::string> mutations;
  for (char c = 'a'; c <= 'e'; ++c) {
    mutations.push_back(
        MutationOf(std::string("\x02") + c + '\0', 1, kV8Hi, 1));
  }
  Write(WriteOf(mutations));
  const std::vector<Entry> forward = Read(ReadOf("\x02", "\x03", 3));
  ASSERT_EQ(forward.size(), 3u);
  EXPECT_EQ(forward[2].key, std::string("\x02"
                                        "c\0",
                                        3));
  const std::vector<Entry> reverse = Read(ReadOf("\x02", "\x03", 2, true));
  ASSERT_EQ(reverse.size(), 2u);
  EXPECT_EQ(reverse[0].key, std::string("\x02"
                                        "e\0",
                                        3));
}

TEST_F(KvConnectTest, VersionstampedKeysGainTheCommitsVersion) {
  const std::string stamp =
      Write(WriteOf({MutationOf(kKeyK, 9, kV8Hi, 1)})).second;
  const json listed = Json("list", {{"prefix", {"k"}}});
  ASSERT_EQ(listed["entries"].size(), 1u);
  const json key = listed["entries"][0]["key"];
  ASSERT_EQ(key.size(), 2u);
  EXPECT_EQ(key[1], listed["entries"][0]["version"]);
  EXPECT_EQ(stamp.size(), 10u);
}

TEST_F(KvConnectTest, ExpiryIsAnAbsoluteDeadline) {
  Write(WriteOf({MutationOf(kKeyK, 1, kV8Hi, 1, now_ms_ + 1000)}));
  EXPECT_EQ(Json("get", {{"keys", {{"k"}}}})["entries"][0]["expiresAt"],
            now_ms_ + 1000);
  now_ms_ += 1000;
  EXPECT_TRUE(Read(ReadOf(kKeyK, kKeyK + '\0', 1)).empty());
}

TEST_F(KvConnectTest, WatchFramesReportEveryKey) {
  Write(WriteOf({MutationOf(kKeyK, 1, kV8Hi, 1)}));
  std::string body;
  {
    pbf_writer watch(body);
    for (const std::string& key : {kKeyK, std::string("\x02z\0", 3)}) {
      pbf_writer watch_key(watch, 1);
      watch_key.add_bytes(1, key);
    }
  }
  const std::string frame = Call("kvc_watch", body);
  ASSERT_EQ(last_status_, 200) << frame;
  ASSERT_GE(frame.size(), 4u);
  uint32_t length = 0;
  for (int i = 3; i >= 0; --i) length = length << 8 | uint8_t(frame[i]);
  ASSERT_EQ(length, frame.size() - 4);
  pbf_reader output(frame.data() + 4, frame.size() - 4);
  ASSERT_TRUE(output.next(1));
  EXPECT_EQ(output.get_enum(), 1);
  std::vector<std::pair<bool, bool>> keys;  // (changed, has entry)
  while (output.next(2)) {
    pbf_reader key = output.get_message();
    std::pair<bool, bool> seen{false, false};
    while (key.next()) {
      if (key.tag() == 1)
        seen.first = key.get_bool();
      else if (key.tag() == 2) {
        seen.second = true;
        key.skip();
      } else
        key.skip();
    }
    keys.push_back(seen);
  }
  EXPECT_EQ(keys,
            (std::vector<std::pair<bool, bool>>{{true, true}, {true, false}}));
}

// Each bad request gets a 4xx with a plain-text reason, and writes nothing.
TEST_F(KvConnectTest, BadRequestsAreRefusedWhole) {
  const std::string good = MutationOf(kKeyK, 1, kV8Hi, 1);
  std::string wrong_wire_type;
  {
    pbf_writer write(wrong_wire_type);
    write.add_uint32(2, 7);  // mutations as a varint
  }
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"truncated", WriteOf({good}).substr(0, 5)},
      {"length past the body", std::string("\x12\x7f\x0a", 3)},
      {"wrong wire type", wrong_wire_type},
      {"unknown mutation type",
       WriteOf({good, MutationOf(kKeyK, 6, kV8Hi, 1)})},
      {"V8 bytes that do not parse",
       WriteOf({MutationOf(kKeyK, 1, "\xff\x0f\xee", 1)})},
      {"unknown encoding", WriteOf({MutationOf(kKeyK, 1, kV8Hi, 7)})},
      {"KvU64 of 7 bytes", WriteOf({MutationOf(kKeyK, 1, "1234567", 2)})},
      {"sum of a V8 number", WriteOf({MutationOf(kKeyK, 3, kV8Hi, 1)})},
      {"set without a value", WriteOf({MutationOf(kKeyK, 1)})},
      {"key not canonical", WriteOf({MutationOf("\x02k", 1, kV8Hi, 1)})},
      {"empty key", WriteOf({MutationOf("", 1, kV8Hi, 1)})},
      {"key past the limit",
       WriteOf(
           {MutationOf("\x02" + std::string(2048, 'k') + '\0', 1, kV8Hi, 1)})},
      {"value past 16 KiB",
       WriteOf({MutationOf(kKeyK, 1, std::string(16385, 'x'), 3)})},
      {"bad check versionstamp", WriteOf({good}, {{kKeyK, "short"}})},
      {"negative deadline", WriteOf({MutationOf(kKeyK, 1, kV8Hi, 1, -5)})},
      {"enqueue of V8 bytes that do not parse",
       WriteOf({good}, {}, {EnqueueOf("\xff\x0f\xee")})},
  };
  for (const auto& [name, body] : cases) {
    const std::string out = Call("kvc_atomic_write", body);
    EXPECT_GE(last_status_, 400) << name;
    EXPECT_LT(last_status_, 500) << name;
    EXPECT_FALSE(out.empty()) << name;
    EXPECT_EQ(out.find('{'), std::string::npos) << name << ": " << out;
  }
  EXPECT_TRUE(Read(ReadOf(kKeyK, kKeyK + '\0', 1)).empty());

  for (const std::string& body :
       {ReadOf(kKeyK, kKeyK + '\0', 0), ReadOf(kKeyK, kKeyK + '\0', 1001),
        std::string("\x0a\x05\x08", 3),
        // A bool's tag at the end of its range (a fuzzer's find).
        std::string("\x0a\x03\x18\x43\x20", 5)}) {
    Call("kvc_snapshot_read", body);
    EXPECT_EQ(last_status_, 400);
  }
  Call("kvc_watch", "");
  EXPECT_EQ(last_status_, 400);  // no keys
}

// Each operation costs what its JSON twin costs (docs/kv-connect.md).
TEST_F(KvConnectTest, OperationsCostWhatTheirJsonTwinsCost) {
  const auto used = [&] {
    return Json("usage", json::object())["usage"]["operations"].get<int>();
  };
  const int start = used();
  // A write of one check and two mutations: 3, as an atomic commit.
  Write(WriteOf({MutationOf(kKeyK, 1, kV8Hi, 1),
                 MutationOf(std::string("\x02m\0", 3), 1, kV8Hi, 1)},
                {{kKeyK, ""}}));
  EXPECT_EQ(used(), start + 3);
  // A read of two entries: 2, as a list; an empty range: 1.
  Read(ReadOf("\x02", "\x03", 10));
  EXPECT_EQ(used(), start + 5);
  Read(ReadOf("\x05", "\x06", 10));
  EXPECT_EQ(used(), start + 6);
  // A watch of one key: 1, as a watch.
  std::string watch;
  {
    pbf_writer message(watch);
    pbf_writer key(message, 1);
    key.add_bytes(1, kKeyK);
  }
  Call("kvc_watch", watch);
  EXPECT_EQ(used(), start + 7);
  // A write of a mutation and two enqueues: 3, as an atomic commit.
  Write(WriteOf({MutationOf(kKeyK, 2)}, {},
                {EnqueueOf(kV8Hi), EnqueueOf(kV8ObjectA1)}));
  EXPECT_EQ(used(), start + 10);
  // A refused request: 1, as a refused JSON request.
  Call("kvc_atomic_write", "\x12\x7f");
  EXPECT_EQ(used(), start + 11);
}

TEST_F(KvConnectTest, ANegativeZeroKeyPartIsRefusedAsNotCanonical) {
  // [-0] as Deno encodes it: 0x21 and the double's bits, sign flipped.
  const std::string negative_zero("\x21\x7f\xff\xff\xff\xff\xff\xff\xff", 9);
  const std::string zero("\x21\x80\0\0\0\0\0\0\0", 9);
  const std::string refused = Call(
      "kvc_atomic_write", WriteOf({MutationOf(negative_zero, 1, kV8Hi, 1)}));
  EXPECT_EQ(last_status_, 400);
  EXPECT_NE(refused.find("invalid_key"), std::string::npos) << refused;
  EXPECT_EQ(Write(WriteOf({MutationOf(zero, 1, kV8Hi, 1)})).first, 1);
}

// V8's form of [0.5,0,0,...] is all doubles: 4.5 times its JSON. A read of
// such values is refused by its answer's bound (400), not answered 500
// (which Deno's client would retry forever).
TEST_F(KvConnectTest, AReadWhoseAnswerPassesItsBoundIsRefused) {
  Json("configure",
       {{"limits", {{"opsPerMonth", nullptr}, {"storageBytes", nullptr}}}});
  std::string doubles = "[0.5";
  while (doubles.size() < 16380) doubles += ",0";
  doubles += "]";
  for (int batch = 0; batch < 4; ++batch) {
    json mutations = json::array();
    for (int i = 0; i < 48; ++i) {
      mutations.push_back({{"type", "set"},
                           {"key", {"d", batch * 100 + i}},
                           {"value", json::parse(doubles)}});
    }
    Json("atomic", {{"mutations", mutations}});
    ASSERT_EQ(last_status_, 200);
  }
  const std::string prefix(
      "\x02"
      "d\0",
      3);
  const std::string refused =
      Call("kvc_snapshot_read", ReadOf(prefix, prefix + '\xff', 1000));
  EXPECT_EQ(last_status_, 400);
  EXPECT_NE(refused.find("read_too_large"), std::string::npos) << refused;
  EXPECT_EQ(Read(ReadOf(prefix, prefix + '\xff', 100)).size(), 100u);
}

// A read refused partway (its second range past the quota) costs only the
// refusal, not the first range it had read.
TEST_F(KvConnectTest, AReadRefusedPartwayCostsNothingForItsRanges) {
  std::vector<std::string> mutations;
  for (char c = 'a'; c <= 'l'; ++c) {
    mutations.push_back(
        MutationOf(std::string("\x02") + c + '\0', 1, kV8Hi, 1));
  }
  Write(WriteOf(mutations));
  const auto used = [&] {
    return Json("usage", json::object())["usage"]["operations"].get<int>();
  };
  const int first = used();
  const int usage_cost = used() - first;  // what reading usage costs
  // Two ranges of 5 and 10 entries, with 8 operations left: the first
  // range reads, the second is cut by the quota, so the read is refused.
  Json("configure", {{"limits", {{"opsPerMonth", used() + usage_cost + 8}}}});
  std::string read;
  {
    pbf_writer message(read);
    for (int64_t limit : {5, 10}) {
      pbf_writer range(message, 1);
      range.add_bytes(1, "\x02");
      range.add_bytes(2, "\x03");
      range.add_int64(3, limit);
    }
  }
  const int before = used();
  const std::string refused = Call("kvc_snapshot_read", read);
  EXPECT_EQ(last_status_, 429) << refused;
  EXPECT_NE(refused.find("10"), std::string::npos) << refused;
  // Nothing: not the first range's five (and a quota refusal is free).
  EXPECT_EQ(used(), before + usage_cost);
}

TEST_F(KvConnectTest, AReadPastItsByteBoundIsRefusedNotCut) {
  // 300 entries of 16 KB: 4.8 MB, past kMaxSnapshotReadBytes (3 MiB).
  for (int batch = 0; batch < 3; ++batch) {
    std::vector<std::string> mutations;
    for (int i = 0; i < 100; ++i) {
      const int n = batch * 100 + i;
      std::string key = "\x02" + std::to_string(1000 + n) + '\0';
      mutations.push_back(MutationOf(key, 1, std::string(16000, 'v'), 3));
    }
    // Two commits of 800 KB, under kMaxCommitBytes.
    Write(WriteOf({mutations.begin(), mutations.begin() + 50}));
    Write(WriteOf({mutations.begin() + 50, mutations.end()}));
  }
  Call("kvc_snapshot_read", ReadOf("\x02", "\x03", 300));
  EXPECT_EQ(last_status_, 400);
  EXPECT_EQ(Read(ReadOf("\x02", "\x03", 150)).size(), 150u);
}

// Enqueues, decoded (the store's queue has tests of its own).

constexpr int64_t kNow = int64_t{1795694400} * 1000;

// Decodes an AtomicWrite of `enqueues` (Enqueue messages) at kNow,
// expecting it accepted.
CommitRequest Decoded(const std::vector<std::string>& enqueues) {
  CommitRequest request;
  const Status status =
      kv_connect::DecodeAtomicWrite(WriteOf({}, {}, enqueues), kNow, &request);
  EXPECT_TRUE(status.ok()) << status.message();
  return request;
}

// The decoded form of one Enqueue message.
Enqueue DecodedEnqueue(const std::string& enqueue) {
  CommitRequest request = Decoded({enqueue});
  if (request.enqueues.size() != 1) {
    ADD_FAILURE() << request.enqueues.size() << " enqueues";
    return Enqueue();
  }
  return request.enqueues[0];
}

// "code: message" of the refusal of an AtomicWrite of `body`.
std::string RefusalOf(const std::string& body) {
  CommitRequest request;
  const Status status = kv_connect::DecodeAtomicWrite(body, kNow, &request);
  return std::string(status.error_code()) + ": " + status.message();
}

TEST(KvConnectEnqueueTest, DecodesPayloadDelayKeysAndSchedule) {
  const std::string key_m("\x02m\0", 3);
  const CommitRequest request = Decoded(
      {EnqueueOf(kV8ObjectA1, kNow + 5000, {kKeyK, key_m}, {1000, 0, 3600000}),
       EnqueueOf(kV8Date0)});
  ASSERT_EQ(request.enqueues.size(), 2u);
  const Enqueue& first = request.enqueues[0];
  EXPECT_EQ(first.value, R"({"a":1})");  // a JSON form is stored as JSON
  EXPECT_EQ(first.delay_ms, 5000);
  EXPECT_EQ(first.keys_if_undelivered,
            (std::vector<std::string>{kKeyK, key_m}));
  EXPECT_EQ(first.backoff_schedule, (std::vector<uint32_t>{1000, 0, 3600000}));
  // A value with no JSON form keeps its V8 bytes, as a set's does.
  const Enqueue& date = request.enqueues[1];
  EXPECT_EQ(date.value, EncodeOpaque(ValueForm::kV8, kV8Date0));
  EXPECT_EQ(date.delay_ms, 0);
  EXPECT_TRUE(date.keys_if_undelivered.empty());
}

TEST(KvConnectEnqueueTest, EnqueuesComeWithChecksAndMutations) {
  CommitRequest request;
  ASSERT_TRUE(kv_connect::DecodeAtomicWrite(
                  WriteOf({MutationOf(kKeyK, 1, kV8Hi, 1)}, {{kKeyK, ""}},
                          {EnqueueOf(kV8Hi), EnqueueOf(kV8Hi)}),
                  kNow, &request)
                  .ok());
  EXPECT_EQ(request.checks.size(), 1u);
  EXPECT_EQ(request.mutations.size(), 1u);
  EXPECT_EQ(request.enqueues.size(), 2u);
}

TEST(KvConnectEnqueueTest, SchedulesArePackedOrNot) {
  const std::vector<uint32_t> schedule = {7, 3600000, 0, 100, 1};
  EXPECT_EQ(
      DecodedEnqueue(EnqueueOf(kV8Hi, 0, {}, schedule, true)).backoff_schedule,
      schedule);
  EXPECT_EQ(
      DecodedEnqueue(EnqueueOf(kV8Hi, 0, {}, schedule, false)).backoff_schedule,
      schedule);
  // Both in one message: the intervals in order, as proto3 merges them.
  std::string mixed = EnqueueOf(kV8Hi, 0, {}, {1, 2}, true);
  {
    pbf_writer enqueue(mixed);
    enqueue.add_uint32(4, 3);
  }
  EXPECT_EQ(DecodedEnqueue(mixed).backoff_schedule,
            (std::vector<uint32_t>{1, 2, 3}));
}

// The protocol cannot tell an empty schedule from none: both are Deno's
// default, as denokv reads them.
TEST(KvConnectEnqueueTest, AnEmptyScheduleIsDenosDefault) {
  const std::vector<uint32_t> standard(kDefaultBackoffSchedule.begin(),
                                       kDefaultBackoffSchedule.end());
  EXPECT_EQ(DecodedEnqueue(EnqueueOf(kV8Hi)).backoff_schedule, standard);
  std::string empty_packed = EnqueueOf(kV8Hi);
  {
    pbf_writer enqueue(empty_packed);
    enqueue.add_bytes(4, "");
  }
  EXPECT_EQ(DecodedEnqueue(empty_packed).backoff_schedule, standard);
}

TEST(KvConnectEnqueueTest, DeadlinesBecomeDelays) {
  const auto delay = [](int64_t deadline_ms) {
    return DecodedEnqueue(EnqueueOf(kV8Hi, deadline_ms)).delay_ms;
  };
  EXPECT_EQ(delay(kNow + 1), 1);
  EXPECT_EQ(delay(kNow - 1000), 0);  // past: due now
  EXPECT_EQ(delay(1), 0);
  EXPECT_EQ(delay(kNow + kMaxQueueDelayMs), kMaxQueueDelayMs);
  // Up to a minute past the longest delay: the client's clock, clamped.
  EXPECT_EQ(delay(kNow + kMaxQueueDelayMs + 60000), kMaxQueueDelayMs);
  const std::string far = RefusalOf(
      WriteOf({}, {}, {EnqueueOf(kV8Hi, kNow + kMaxQueueDelayMs + 60001)}));
  EXPECT_EQ(far.rfind("invalid_delay: enqueues[0].deadline_ms is 2592060001 ms "
                      "from now",
                      0),
            0u)
      << far;
  const std::string negative =
      RefusalOf(WriteOf({}, {}, {EnqueueOf(kV8Hi, -1)}));
  EXPECT_EQ(negative.rfind("invalid_delay: enqueues[0].deadline_ms is -1", 0),
            0u)
      << negative;
}

// Each bad enqueue refuses the write with its error code, naming the field.
TEST(KvConnectEnqueueTest, BadEnqueuesAreRefused) {
  const auto write = [](const std::string& enqueue) {
    return WriteOf({}, {}, {enqueue});
  };
  // An enqueue of "hi" and one more field.
  const auto with_field = [&](const std::function<void(pbf_writer*)>& add) {
    std::string enqueue = EnqueueOf(kV8Hi);
    {
      pbf_writer writer(enqueue);
      add(&writer);
    }
    return write(enqueue);
  };
  std::vector<std::string> eleven_keys;
  for (char c = 'a'; c <= 'k'; ++c) {
    eleven_keys.push_back(std::string("\x02") + c + '\0');
  }
  std::string enqueues_as_varint;
  {
    pbf_writer writer(enqueues_as_varint);
    writer.add_uint32(3, 1);
  }
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"invalid_key: enqueues[0].keys_if_undelivered[1]",
       write(EnqueueOf(kV8Hi, 0, {kKeyK, "\x02k"}))},
      {"invalid_key: enqueues[0].keys_if_undelivered[0] is empty",
       write(EnqueueOf(kV8Hi, 0, {""}))},
      {"key_too_large: enqueues[0].keys_if_undelivered[0]",
       write(EnqueueOf(kV8Hi, 0, {"\x02" + std::string(2048, 'k') + '\0'}))},
      {"too_many_undelivered_keys: enqueues[0]",
       write(EnqueueOf(kV8Hi, 0, eleven_keys))},
      {"invalid_backoff_schedule: enqueues[0]",
       write(EnqueueOf(kV8Hi, 0, {}, {1, 2, 3, 4, 5, 6}, true))},
      {"invalid_backoff_schedule: enqueues[0]",
       write(EnqueueOf(kV8Hi, 0, {}, {1, 2, 3, 4, 5, 6}, false))},
      {"invalid_backoff_schedule: enqueues[0].backoffSchedule[1] is 3600001",
       write(EnqueueOf(kV8Hi, 0, {}, {1, 3600001}))},
      // Past uint32: refused, not truncated to 5.
      {"invalid_backoff_schedule: enqueues[0].backoffSchedule[0] is "
       "4294967295",
       with_field([](pbf_writer* enqueue) {
         enqueue->add_uint64(4, (uint64_t{1} << 32) + 5);
       })},
      {"value_too_large: enqueues[0].payload",
       write(EnqueueOf(V8String(16385)))},
      {"invalid_request: enqueues[0].payload", write(EnqueueOf(""))},
      {"invalid_request: enqueues[0].payload",
       write(EnqueueOf("\xff\x0f\xee"))},
      {"invalid_protobuf: enqueues[0].payload has wire type 0",
       with_field([](pbf_writer* enqueue) { enqueue->add_uint32(1, 1); })},
      {"invalid_protobuf: enqueues[0].deadline_ms has wire type 2",
       with_field([](pbf_writer* enqueue) { enqueue->add_bytes(2, "1"); })},
      {"invalid_protobuf: enqueues[0].keys_if_undelivered[0] has wire type 0",
       with_field([](pbf_writer* enqueue) { enqueue->add_uint32(3, 1); })},
      {"invalid_protobuf: enqueues[0].backoff_schedule has wire type 5",
       with_field([](pbf_writer* enqueue) { enqueue->add_fixed32(4, 1); })},
      // A packed varint cut short.
      {"invalid_protobuf: the AtomicWrite is not valid protobuf",
       with_field([](pbf_writer* enqueue) { enqueue->add_bytes(4, "\x80"); })},
      {"invalid_protobuf: enqueues[0] has wire type 0", enqueues_as_varint},
      {"too_many_enqueues: the write has more than 100 enqueues",
       WriteOf({}, {},
               std::vector<std::string>(kMaxEnqueuesPerCommit + 1,
                                        EnqueueOf(kV8Hi)))},
      // Enqueued values count toward the commit's bytes.
      {"commit_too_large: ",
       WriteOf({}, {},
               std::vector<std::string>(60, EnqueueOf(V8String(14000))))},
  };
  for (const auto& [expected, body] : cases) {
    const std::string refusal = RefusalOf(body);
    EXPECT_EQ(refusal.rfind(expected, 0), 0u) << refusal;
  }
  // The limits themselves are accepted.
  EXPECT_EQ(
      DecodedEnqueue(
          EnqueueOf(kV8Hi, 0, {eleven_keys.begin(), eleven_keys.begin() + 10}))
          .keys_if_undelivered.size(),
      10u);
  EXPECT_EQ(
      Decoded(std::vector<std::string>(kMaxEnqueuesPerCommit, EnqueueOf(kV8Hi)))
          .enqueues.size(),
      kMaxEnqueuesPerCommit);
  // 16382 x's are 16384 bytes of JSON: the value limit.
  EXPECT_EQ(DecodedEnqueue(EnqueueOf(V8String(16382))).value.size(), 16384u);
}

}  // namespace
}  // namespace kv
