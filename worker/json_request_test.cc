#include "json_request.h"

#include <gtest/gtest.h>

#include "cursor.h"
#include "kv_limits.h"

namespace kv {
namespace {

// A JSON string literal whose compact JSON is exactly `bytes` bytes long,
// built from `unit` (ASCII or multi-byte UTF-8) and ASCII padding.
std::string StringValueOfBytes(size_t bytes, const std::string& unit) {
  std::string content;
  while (content.size() + unit.size() + 2 <= bytes) content += unit;
  content.append(bytes - 2 - content.size(), 'x');
  return "\"" + content + "\"";
}

Status DecodeSetBody(const std::string& body) {
  CommitRequest request;
  return DecodeSet(body, &request);
}

Status DecodeAtomicBody(const std::string& body) {
  CommitRequest request;
  return DecodeAtomic(body, &request);
}

TEST(RequestTest, ValueLimitIsExactForAsciiAndMultiByteText) {
  for (const std::string unit :
       {"a", "\xc3\xa9", "\xe4\xb8\xad", "\xf0\x9f\x98\x80"}) {
    const std::string fits = StringValueOfBytes(kMaxValueBytes, unit);
    const std::string over = StringValueOfBytes(kMaxValueBytes + 1, unit);
    ASSERT_EQ(fits.size(), kMaxValueBytes);
    CommitRequest request;
    ASSERT_TRUE(
        DecodeSet(R"({"key":["k"],"value":)" + fits + "}", &request).ok());
    EXPECT_EQ(request.mutations[0].value.size(), kMaxValueBytes);
    const Status status =
        DecodeSetBody(R"({"key":["k"],"value":)" + over + "}");
    EXPECT_EQ(status.code(), Code::kValueTooLarge);
    EXPECT_EQ(status.http_status(), 413);
    EXPECT_NE(status.message().find("16385 bytes"), std::string::npos)
        << status.message();
    EXPECT_NE(status.message().find("16384"), std::string::npos);
  }
}

TEST(RequestTest, ValuesAreStoredAsCompactJson) {
  CommitRequest request;
  ASSERT_TRUE(
      DecodeSet(R"({"key":["k"], "value": { "a" : [ 1 , true , null ] } })",
                &request)
          .ok());
  EXPECT_EQ(request.mutations[0].value, R"({"a":[1,true,null]})");
}

TEST(RequestTest, RefusesEachLimitWithItsOwnCode) {
  std::string many_keys = R"({"keys":[)";
  for (size_t i = 0; i <= kMaxKeysPerGet; ++i)
    many_keys += (i ? ",[1]" : "[1]");
  many_keys += "]}";
  ReadRequest read;
  EXPECT_EQ(DecodeGet(many_keys, &read).code(), Code::kTooManyKeys);
  EXPECT_EQ(DecodeGet(R"({"keys":[]})", &read).code(), Code::kTooManyKeys);

  std::string many_checks = R"({"checks":[)";
  for (size_t i = 0; i <= kMaxChecksPerCommit; ++i) {
    many_checks +=
        std::string(i ? "," : "") + R"({"key":["k"],"version":null})";
  }
  EXPECT_EQ(DecodeAtomicBody(many_checks + "]}").code(), Code::kTooManyChecks);

  std::string many_mutations = R"({"mutations":[)";
  for (size_t i = 0; i <= kMaxMutationsPerCommit; ++i) {
    many_mutations +=
        std::string(i ? "," : "") + R"({"type":"delete","key":["k"]})";
  }
  EXPECT_EQ(DecodeAtomicBody(many_mutations + "]}").code(),
            Code::kTooManyMutations);

  // 60 values of 14,000 bytes: each fits, together over 800 KiB.
  std::string large_commit = R"({"mutations":[)";
  for (int i = 0; i < 60; ++i) {
    large_commit += std::string(i ? "," : "") + R"({"type":"set","key":[)" +
                    std::to_string(i) + R"(],"value":)" +
                    StringValueOfBytes(14000, "a") + "}";
  }
  const Status too_large = DecodeAtomicBody(large_commit + "]}");
  EXPECT_EQ(too_large.code(), Code::kCommitTooLarge);
  EXPECT_NE(too_large.message().find("819200"), std::string::npos);

  const std::string huge(kMaxRequestBytes + 1, ' ');
  EXPECT_EQ(DecodeSetBody(huge).code(), Code::kRequestTooLarge);
}

TEST(RequestTest, NestingIsLimited) {
  const int depth = 10000;
  const std::string deep = std::string(depth, '[') + std::string(depth, ']');
  EXPECT_EQ(DecodeSetBody(R"({"key":["k"],"value":)" + deep + "}").code(),
            Code::kNestingTooDeep);
  const int allowed = kMaxJsonDepth - 1;  // the body object is one level
  const std::string fits =
      std::string(allowed, '[') + std::string(allowed, ']');
  EXPECT_TRUE(DecodeSetBody(R"({"key":["k"],"value":)" + fits + "}").ok());
}

TEST(RequestTest, RefusesMalformedBodies) {
  EXPECT_EQ(DecodeSetBody("{").code(), Code::kInvalidJson);
  EXPECT_EQ(DecodeSetBody("{\"key\":[\"\xff\"],\"value\":1}").code(),
            Code::kInvalidJson);
  EXPECT_EQ(DecodeSetBody("[]").code(), Code::kInvalidRequest);
  EXPECT_EQ(DecodeSetBody(R"({"key":["k"]})").code(), Code::kInvalidRequest);
  EXPECT_EQ(DecodeSetBody(R"({"key":["k"],"value":1,"expire":5})").code(),
            Code::kInvalidRequest);
  EXPECT_EQ(DecodeSetBody(R"({"key":"k","value":1})").code(),
            Code::kInvalidKey);
  EXPECT_EQ(DecodeAtomicBody(R"({"checks":{}})").code(), Code::kInvalidRequest);
  EXPECT_EQ(
      DecodeAtomicBody(R"({"mutations":[{"type":"sum","key":["k"]}]})").code(),
      Code::kInvalidRequest);
  EXPECT_EQ(
      DecodeAtomicBody(R"({"mutations":[{"type":"set","key":["k"]}]})").code(),
      Code::kInvalidRequest);
  EXPECT_EQ(DecodeAtomicBody(
                R"({"mutations":[{"type":"delete","key":["k"],"value":1}]})")
                .code(),
            Code::kInvalidRequest);
}

TEST(RequestTest, ChecksNeedAWellFormedVersion) {
  EXPECT_TRUE(
      DecodeAtomicBody(R"({"checks":[{"key":["k"],"version":null}]})").ok());
  EXPECT_TRUE(
      DecodeAtomicBody(
          R"({"checks":[{"key":["k"],"version":"00000000000000010000"}]})")
          .ok());
  for (const char* version : {R"("1")", R"("0000000000000001000G")",
                              R"("0000000000000001000A")", "1", "true"}) {
    const Status status = DecodeAtomicBody(
        std::string(R"({"checks":[{"key":["k"],"version":)") + version + "}]}");
    EXPECT_EQ(status.code(), Code::kInvalidVersion) << version;
    EXPECT_NE(status.message().find("checks[0].version"), std::string::npos);
  }
  // A check without a version is an error, never "must not exist".
  EXPECT_EQ(DecodeAtomicBody(R"({"checks":[{"key":["k"]}]})").code(),
            Code::kInvalidRequest);
}

TEST(RequestTest, AnInvalidLaterMutationFailsTheWholeDecode) {
  const Status status = DecodeAtomicBody(
      R"({"mutations":[{"type":"set","key":["a"],"value":1},)"
      R"({"type":"set","key":["b"],"value":2},{"type":"set","key":[null],"value":3}]})");
  EXPECT_EQ(status.code(), Code::kInvalidKey);
  EXPECT_NE(status.message().find("mutations[2].key[0]"), std::string::npos)
      << status.message();
}

TEST(RequestTest, DecodesSettings) {
  SettingsRequest request;
  ASSERT_TRUE(
      DecodeSettings(R"({"credential":")" + std::string(64, 'a') +
                         R"(","limits":{"opsPerMonth":5,"storageBytes":null}})",
                     &request)
          .ok());
  EXPECT_EQ(*request.credential, std::string(32, '\xaa'));
  EXPECT_EQ(*request.ops_per_month, std::optional<uint64_t>(5));
  EXPECT_EQ(*request.storage_bytes, std::nullopt);  // unlimited
  for (const char* bad :
       {R"({"credential":"+f"})", R"({"limits":{"opsPerMonth":-1}})",
        R"({"limits":{"opsPerMonth":1.5}})", R"({"limits":{"ops":1}})"}) {
    SettingsRequest ignored;
    EXPECT_EQ(DecodeSettings(bad, &ignored).code(), Code::kInvalidRequest)
        << bad;
  }
}

TEST(RequestTest, ExpireInIsAPositiveWholeNumberOfMilliseconds) {
  CommitRequest request;
  ASSERT_TRUE(
      DecodeSet(R"({"key":["k"],"value":1,"expireIn":1000})", &request).ok());
  EXPECT_EQ(request.mutations[0].expire_in_ms, 1000);
  for (const char* expire :
       {"0", "-5", "1.5", "\"10\"", "true", "99999999999999999"}) {
    const Status status = DecodeSetBody(
        std::string(R"({"key":["k"],"value":1,"expireIn":)") + expire + "}");
    EXPECT_EQ(status.code(), Code::kInvalidExpiry) << expire;
  }
  EXPECT_EQ(
      DecodeAtomicBody(
          R"({"mutations":[{"type":"set","key":["k"],"value":1,"expireIn":0}]})")
          .code(),
      Code::kInvalidExpiry);
}

TEST(RequestTest, DecodesEnqueuesWithDenoDefaults) {
  CommitRequest request;
  ASSERT_TRUE(DecodeAtomic(R"({"enqueues":[{"value":{"a":[1,2]}},)"
                           R"({"value":"x","delay":2592000000,)"
                           R"("keysIfUndelivered":[["dead",1]],)"
                           R"("backoffSchedule":[]}]})",
                           &request)
                  .ok());
  ASSERT_EQ(request.enqueues.size(), 2u);
  EXPECT_EQ(request.enqueues[0].value, R"({"a":[1,2]})");
  EXPECT_EQ(request.enqueues[0].delay_ms, 0);
  EXPECT_TRUE(request.enqueues[0].keys_if_undelivered.empty());
  EXPECT_EQ(request.enqueues[0].backoff_schedule,
            (std::vector<uint32_t>{100, 1000, 5000, 30000, 60000}));
  EXPECT_EQ(request.enqueues[1].delay_ms, kMaxQueueDelayMs);
  ASSERT_EQ(request.enqueues[1].keys_if_undelivered.size(), 1u);
  EXPECT_TRUE(request.enqueues[1].backoff_schedule.empty());
}

TEST(RequestTest, RefusesEachBadEnqueueWithItsOwnCode) {
  const std::pair<std::string, Code> cases[] = {
      {R"({"value":1,"delay":-1})", Code::kInvalidDelay},
      {R"({"value":1,"delay":2592000001})", Code::kInvalidDelay},
      {R"({"value":1,"delay":0.5})", Code::kInvalidDelay},
      {R"({"value":1,"backoffSchedule":[1,2,3,4,5,6]})",
       Code::kInvalidBackoffSchedule},
      {R"({"value":1,"backoffSchedule":[3600001]})",
       Code::kInvalidBackoffSchedule},
      {R"({"value":1,"backoffSchedule":{}})", Code::kInvalidBackoffSchedule},
      {R"({"value":1,"keysIfUndelivered":[[1],[2],[3],[4],[5],[6],[7],[8],)"
       R"([9],[10],[11]]})",
       Code::kTooManyUndeliveredKeys},
      {R"({"value":1,"keysIfUndelivered":[[]]})", Code::kInvalidKey},
      {R"({"value":"1","valueType":"u64"})", Code::kInvalidRequest},
      {R"({"delay":1})", Code::kInvalidRequest},
  };
  for (const auto& [enqueue, code] : cases) {
    const Status status = DecodeAtomicBody(R"({"enqueues":[)" + enqueue + "]}");
    EXPECT_EQ(status.code(), code) << enqueue << ": " << status.message();
    EXPECT_NE(status.message().find("enqueues[0]"), std::string::npos)
        << status.message();
  }
  std::string many = R"({"enqueues":[)";
  for (size_t i = 0; i <= kMaxEnqueuesPerCommit; ++i) {
    many += std::string(i > 0 ? "," : "") + R"({"value":1})";
  }
  EXPECT_EQ(DecodeAtomicBody(many + "]}").code(), Code::kTooManyEnqueues);
}

TEST(RequestTest, DecodesListenAndSettle) {
  ListenRequest listen;
  ASSERT_TRUE(DecodeListen("{}", &listen).ok());
  EXPECT_EQ(listen.concurrency, kDefaultQueueConcurrency);
  EXPECT_EQ(listen.visibility_ms, kDefaultVisibilityTimeoutMs);
  EXPECT_EQ(DecodeListen(R"({"concurrency":0})", &listen).code(),
            Code::kInvalidQueueOption);
  ListenRequest lease;
  ASSERT_TRUE(DecodeLease(R"({"max":0})", &lease).ok());
  EXPECT_EQ(lease.concurrency, 0u);
  std::vector<Settle> settles;
  ASSERT_TRUE(DecodeSettle(R"({"messages":[{"id":3,"delivery":2,"ok":false}]})",
                           &settles)
                  .ok());
  ASSERT_EQ(settles.size(), 1u);
  EXPECT_EQ(settles[0].id, 3);
  EXPECT_EQ(settles[0].delivery, 2);
  EXPECT_FALSE(settles[0].ok);
  EXPECT_EQ(DecodeSettle(R"({"messages":[{"id":0,"delivery":1,"ok":true}]})",
                         &settles)
                .code(),
            Code::kInvalidQueueOption);
}

TEST(RequestTest, SelectorsBecomeKeyRanges) {
  ListRequest request;
  ASSERT_TRUE(DecodeList(R"({"prefix":["a"]})", &request).ok());
  EXPECT_EQ(request.selector.lower, std::string("\x02"
                                                "a\0\0",
                                                4));
  EXPECT_EQ(request.selector.upper, std::string("\x02"
                                                "a\0\xff",
                                                4));
  EXPECT_EQ(request.limit, kDefaultListLimit);
  ASSERT_TRUE(DecodeList(R"({"prefix":[]})", &request).ok());  // everything
  EXPECT_EQ(request.selector.lower, std::string(1, '\0'));
  ASSERT_TRUE(DecodeList(R"({"prefix":["a"],"start":["a","m"],"limit":1000,)"
                         R"("reverse":true,"keysOnly":true})",
                         &request)
                  .ok());
  EXPECT_EQ(request.selector.lower, std::string("\x02"
                                                "a\0\x02m\0",
                                                6));
  EXPECT_TRUE(request.reverse && request.keys_only);

  const std::pair<const char*, Code> bad[] = {
      {R"({})", Code::kInvalidSelector},
      {R"({"start":["a"]})", Code::kInvalidSelector},
      {R"({"prefix":["a"],"start":["b"]})", Code::kInvalidSelector},
      {R"({"prefix":["a"],"end":["a"]})", Code::kInvalidSelector},
      {R"({"prefix":["a"],"start":["a","b"],"end":["a","c"]})",
       Code::kInvalidSelector},
      {R"({"prefix":["a"],"limit":0})", Code::kInvalidRequest},
      {R"({"prefix":["a"],"limit":1001})", Code::kInvalidRequest},
      {R"({"prefix":["a"],"reverse":1})", Code::kInvalidRequest},
      {R"({"prefix":["a"],"cursor":"AAAA"})", Code::kInvalidCursor},
  };
  for (const auto& [body, code] : bad) {
    ListRequest ignored;
    EXPECT_EQ(DecodeList(body, &ignored).code(), code) << body;
  }
}

TEST(RequestTest, CursorsBelongToTheirSelector) {
  ListRequest a;
  ListRequest b;
  ASSERT_TRUE(DecodeList(R"({"prefix":["a"]})", &a).ok());
  ASSERT_TRUE(DecodeList(R"({"prefix":["b"]})", &b).ok());
  const std::string last(
      "\x02"
      "a\0\x02x\0",
      6);
  const std::string cursor = MakeCursor(a.selector, last);
  EXPECT_EQ(cursor.find_first_of("+/="), std::string::npos);  // URL-safe
  ListRequest resumed;
  ASSERT_TRUE(
      DecodeList(R"({"prefix":["a"],"cursor":")" + cursor + "\"}", &resumed)
          .ok());
  EXPECT_EQ(*resumed.after, last);
  EXPECT_EQ(
      DecodeList(R"({"prefix":["b"],"cursor":")" + cursor + "\"}", &resumed)
          .code(),
      Code::kInvalidCursor);
  CountRequest count;
  EXPECT_TRUE(DecodeCount(R"({"start":["a"],"end":["b"]})", &count).ok());
  EXPECT_EQ(DecodeCount(R"({"prefix":["a"],"limit":5})", &count).code(),
            Code::kInvalidRequest);
}

}  // namespace
}  // namespace kv
