#include "request.h"

#include <gtest/gtest.h>

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

TEST(RequestTest, DecodesCredentials) {
  CredentialRequest request;
  ASSERT_TRUE(DecodeSetCredential(
                  R"({"credential":")" + std::string(64, 'a') + "\"}", &request)
                  .ok());
  EXPECT_EQ(request.credential, std::string(32, '\xaa'));
  EXPECT_EQ(DecodeSetCredential(R"({"credential":"+f"})", &request).code(),
            Code::kInvalidRequest);
}

}  // namespace
}  // namespace kv
