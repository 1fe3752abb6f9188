// Commit semantics on native SQLite, run the way the Durable Object host
// runs them: each request inside one transaction, rolled back on failure.

#include "store.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <memory>

#include "sqlite_storage.h"

namespace kv {
namespace {

std::string Key(const std::string& name) {
  return std::string("\x02", 1) + name + '\0';
}

Mutation Set(const std::string& key, const std::string& value) {
  return {Mutation::Type::kSet, Key(key), value};
}
Mutation Delete(const std::string& key) {
  return {Mutation::Type::kDelete, Key(key), {}};
}

// Storage that fails its Nth statement: a fault injected in front of real
// SQLite, to show that a failed commit leaves nothing behind.
class FailingStorage : public Storage {
 public:
  FailingStorage(Storage* inner, int fail_at)
      : inner_(inner), fail_at_(fail_at) {}
  Status Execute(Statement statement, std::initializer_list<SqlValue> params,
                 Rows* rows) override {
    if (++calls_ == fail_at_)
      return Status::Error(Code::kStorageError, "injected");
    return inner_->Execute(statement, params, rows);
  }

 private:
  Storage* inner_;
  int fail_at_;
  int calls_ = 0;
};

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(SqliteStorage::Open(":memory:", &storage_).ok());
    store_ = std::make_unique<Store>(storage_.get());
    ASSERT_TRUE(store_->Migrate().ok());
  }

  CommitResult MustCommit(CommitRequest request) {
    CommitResult result;
    Status status;
    EXPECT_TRUE(storage_
                    ->Transaction([&] {
                      status = store_->Commit(request, &result);
                      return status.ok();
                    })
                    .ok());
    EXPECT_TRUE(status.ok()) << status.message();
    return result;
  }

  // The entry of `key`, as {found, value, version}.
  struct Entry {
    bool found;
    std::string value;
    Version version;
  };
  Entry Read(const std::string& key) {
    Entry entry{};
    EXPECT_TRUE(
        store_
            ->Read(
                ReadRequest{{Key(key)}},
                [&](const EntryView& view) {
                  entry = {view.found, std::string(view.value), view.version};
                })
            .ok());
    return entry;
  }

  std::unique_ptr<SqliteStorage> storage_;
  std::unique_ptr<Store> store_;
};

TEST(VersionTest, FormatsTwentyLowercaseHexDigitsInOrder) {
  EXPECT_EQ(FormatVersion(1), "00000000000000010000");
  EXPECT_EQ(FormatVersion(0xabcdef), "0000000000abcdef0000");
  EXPECT_LT(FormatVersion(9), FormatVersion(10));
  EXPECT_LT(FormatVersion(0xffff), FormatVersion(0x10000));
}

TEST_F(StoreTest, MissingKeyIsNotFound) { EXPECT_FALSE(Read("nothing").found); }

TEST_F(StoreTest, SetThenGetAndVersionsIncrease) {
  const CommitResult first = MustCommit({{}, {Set("a", "1")}});
  const CommitResult second = MustCommit({{}, {Set("a", "2"), Set("b", "3")}});
  ASSERT_TRUE(first.ok && second.ok);
  EXPECT_GT(second.version, first.version);
  const Entry a = Read("a");
  EXPECT_TRUE(a.found);
  EXPECT_EQ(a.value, "2");
  EXPECT_EQ(a.version, second.version);
  EXPECT_EQ(Read("b").version, second.version);  // one version per commit
}

TEST_F(StoreTest, DeleteReportsWhetherTheEntryExisted) {
  MustCommit({{}, {Set("a", "1")}});
  EXPECT_EQ(MustCommit({{}, {Delete("a")}}).entries_deleted, 1u);
  EXPECT_EQ(MustCommit({{}, {Delete("a")}}).entries_deleted, 0u);
  EXPECT_FALSE(Read("a").found);
}

TEST_F(StoreTest, FailedChecksAreNamedAndNothingIsWritten) {
  const Version v1 = MustCommit({{}, {Set("a", "1")}}).version;
  const CommitResult result =
      MustCommit({{{Key("a"), FormatVersion(v1)},  // holds
                   {Key("b"), FormatVersion(v1)},  // b has no entry
                   {Key("a"), std::nullopt},       // a exists
                   {Key("c"), std::nullopt}},      // holds
                  {Set("a", "2"), Set("c", "3")}});
  EXPECT_FALSE(result.ok);
  EXPECT_EQ(result.failed_checks, (std::vector<size_t>{1, 2}));
  EXPECT_EQ(Read("a").value, "1");
  EXPECT_FALSE(Read("c").found);
  // The failed commit took no version.
  EXPECT_EQ(MustCommit({{}, {Set("d", "4")}}).version, v1 + 1);
}

TEST_F(StoreTest, CheckAndSetSucceedsOnTheCurrentVersion) {
  const Version v1 =
      MustCommit({{{Key("a"), std::nullopt}}, {Set("a", "1")}}).version;
  const CommitResult result =
      MustCommit({{{Key("a"), FormatVersion(v1)}}, {Set("a", "2")}});
  EXPECT_TRUE(result.ok);
  EXPECT_FALSE(
      MustCommit({{{Key("a"), FormatVersion(v1)}}, {Set("a", "3")}}).ok);
  EXPECT_EQ(Read("a").value, "2");
}

TEST_F(StoreTest, LaterMutationOfTheSameKeyWins) {
  MustCommit({{}, {Set("a", "1"), Delete("a"), Set("a", "3")}});
  EXPECT_EQ(Read("a").value, "3");
  MustCommit({{}, {Set("a", "4"), Delete("a")}});
  EXPECT_FALSE(Read("a").found);
}

TEST_F(StoreTest, StorageFailureMidCommitRollsBackEverything) {
  MustCommit({{}, {Set("a", "1")}});
  // Statements of this commit: read counter, set a, set b, write counter.
  for (int fail_at = 1; fail_at <= 4; ++fail_at) {
    FailingStorage failing(storage_.get(), fail_at);
    Store store(&failing);
    CommitResult result;
    Status status;
    ASSERT_TRUE(storage_
                    ->Transaction([&] {
                      status = store.Commit(
                          {{}, {Set("a", "2"), Set("b", "2")}}, &result);
                      return status.ok();
                    })
                    .ok());
    EXPECT_EQ(status.code(), Code::kStorageError);
    EXPECT_EQ(Read("a").value, "1") << fail_at;
    EXPECT_FALSE(Read("b").found) << fail_at;
  }
}

TEST_F(StoreTest, CredentialIsComparedExactly) {
  EXPECT_TRUE(store_->Authenticate("").ok());  // a store without credential
  ASSERT_TRUE(store_->SetCredential(std::string(32, '\x01')).ok());
  EXPECT_TRUE(store_->Authenticate(std::string(32, '\x01')).ok());
  EXPECT_EQ(store_->Authenticate("").code(), Code::kInvalidToken);
  std::string other(32, '\x01');
  other[31] = '\x02';
  EXPECT_EQ(store_->Authenticate(other).code(), Code::kInvalidToken);
}

TEST(SqliteStorageTest, DataSurvivesReopening) {
  char path[] = "/tmp/kv_store_test_XXXXXX";
  const int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  close(fd);
  {
    std::unique_ptr<SqliteStorage> storage;
    ASSERT_TRUE(SqliteStorage::Open(path, &storage).ok());
    Store store(storage.get());
    ASSERT_TRUE(store.Migrate().ok());
    CommitResult result;
    ASSERT_TRUE(store.Commit({{}, {Set("a", "\"kept\"")}}, &result).ok());
  }
  std::unique_ptr<SqliteStorage> storage;
  ASSERT_TRUE(SqliteStorage::Open(path, &storage).ok());
  Store store(storage.get());
  ASSERT_TRUE(store.Migrate().ok());
  std::string value;
  ASSERT_TRUE(store
                  .Read(ReadRequest{{Key("a")}},
                        [&](const EntryView& entry) {
                          value = std::string(entry.value);
                        })
                  .ok());
  EXPECT_EQ(value, "\"kept\"");
  std::remove(path);
}

}  // namespace
}  // namespace kv
