// The fixture of the Store tests (store_test.cc, queue_test.cc): a Store on
// native in-memory SQLite, each request run the way the Durable Object host
// runs it (Begin, calls, End in one transaction, rolled back when storage
// fails), with the test's clock.

#ifndef KV_WORKER_STORE_TEST_FIXTURE_H_
#define KV_WORKER_STORE_TEST_FIXTURE_H_

#include <gtest/gtest.h>

#include <cstdio>
#include <functional>
#include <memory>
#include <string>

#include "sqlite_storage.h"
#include "store.h"

namespace kv {

// 2026-11-26T12:00:00Z
constexpr int64_t kNov26 = int64_t{1795694400} * 1000;

inline std::string Key(const std::string& name) {
  return std::string("\x02", 1) + name + '\0';
}

inline Mutation Set(const std::string& key, const std::string& value,
                    std::optional<int64_t> expire_in_ms = std::nullopt) {
  return {Mutation::Type::kSet, Key(key), value, expire_in_ms};
}
inline Mutation Delete(const std::string& key) {
  return {Mutation::Type::kDelete, Key(key), {}, std::nullopt};
}

// Storage that fails its Nth statement: a fault injected in front of real
// SQLite, to show that a failed commit leaves nothing behind.
class FailingStorage : public Storage {
 public:
  FailingStorage(Storage* inner, int fail_at)
      : inner_(inner), fail_at_(fail_at) {}
  Status Execute(Statement statement, const std::vector<SqlValue>& params,
                 Rows* rows) override {
    if (++calls_ == fail_at_) {
      return Status::Error(Code::kStorageError, "injected");
    }
    return inner_->Execute(statement, params, rows);
  }

 private:
  Storage* inner_;
  int fail_at_;
  int calls_ = 0;
};

// Storage that counts the state row reads and writes passing through to
// real SQLite.
class StateRowCounter : public Storage {
 public:
  explicit StateRowCounter(Storage* inner) : inner_(inner) {}
  Status Execute(Statement statement, const std::vector<SqlValue>& params,
                 Rows* rows) override {
    if (statement == Statement::kSelectState) ++reads_;
    if (statement == Statement::kUpdateState) ++writes_;
    return inner_->Execute(statement, params, rows);
  }
  int reads() const { return reads_; }
  int writes() const { return writes_; }

 private:
  Storage* inner_;
  int reads_ = 0;
  int writes_ = 0;
};

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(SqliteStorage::Open(":memory:", &storage_).ok());
    store_ = std::make_unique<Store>(storage_.get());
    ASSERT_TRUE(store_->Migrate().ok());
  }

  // Runs `body` as one request on `store`, as the host does: with the
  // deferred operations it holds, which it replaces once the transaction
  // committed.
  // Runs `body` as the host does: in a transaction, with the deferred
  // count and the state row held from the last committed request, adopting
  // both only once this one committed. After each commit, the state row
  // held must be the one storage holds.
  Status Request(Store* store, const std::function<Status()>& body) {
    Status status;
    bool committed = false;
    EXPECT_TRUE(storage_
                    ->Transaction([&] {
                      status = store->Begin(now_ms_, deferred_, state_row_);
                      if (!status.ok()) return false;
                      status = body();
                      const Status end = store->End();
                      if (status.ok()) status = end;
                      committed = status.code() != Code::kStorageError;
                      return committed;
                    })
                    .ok());
    if (committed) {
      deferred_ = store->deferred_operations();
      state_row_ = store->state_row();
      EXPECT_EQ(state_row_, StoredStateRow());
    } else {
      state_row_.clear();
    }
    return status;
  }

  // The key name of large entry `i`: "k000", "k001", ...
  static std::string LargeName(int i) {
    char name[8];
    std::snprintf(name, sizeof name, "k%03d", i);
    return name;
  }
  // A value of exactly 16 KiB stored.
  static std::string LargeValue() {
    return "\"" + std::string(16 * 1024 - 2, 'v') + "\"";
  }
  // Sets large entries 0 to count - 1, 40 to a commit (640 KiB).
  void SetLargeEntries(int count) {
    for (int i = 0; i < count; i += 40) {
      CommitRequest commit;
      for (int j = i; j < std::min(i + 40, count); ++j) {
        commit.mutations.push_back(Set(LargeName(j), LargeValue()));
      }
      MustCommit(std::move(commit));
    }
  }

  // As a new host object: the next request reads the state row.
  void ForgetStateRow() { state_row_.clear(); }

  // The state row as storage holds it, read by a store of its own.
  std::string StoredStateRow() {
    Store reader(storage_.get());
    std::string row;
    EXPECT_TRUE(storage_
                    ->Transaction([&] {
                      // The row as loaded, before any new month.
                      EXPECT_TRUE(reader.Begin(now_ms_).ok());
                      row = reader.state_row();
                      return false;  // read only
                    })
                    .ok());
    return row;
  }
  Status Request(const std::function<Status()>& body) {
    return Request(store_.get(), body);
  }

  Status TryCommit(CommitRequest request, CommitResult* result) {
    return Request([&] { return store_->Commit(request, result); });
  }
  CommitResult MustCommit(CommitRequest request) {
    CommitResult result;
    const Status status = TryCommit(std::move(request), &result);
    EXPECT_TRUE(status.ok()) << status.message();
    return result;
  }

  struct Entry {
    bool found;
    std::string value;
    Version version;
    std::optional<int64_t> expires_at_ms;
  };
  Entry Read(const std::string& key) {
    Entry entry{};
    const Status status = Request([&] {
      return store_->Read(ReadRequest{{Key(key)}}, [&](const EntryView& view) {
        entry = {view.found, std::string(view.value), view.version,
                 view.expires_at_ms};
      });
    });
    EXPECT_TRUE(status.ok()) << status.message();
    return entry;
  }

  // Creates the store with these limits, or changes them once it exists.
  void SetLimits(std::optional<uint64_t> ops, std::optional<uint64_t> bytes) {
    SettingsRequest settings;
    settings.ops_per_month = ops;
    settings.storage_bytes = bytes;
    if (State().lifecycle == Lifecycle::kNew) {
      settings.credential = std::string(32, '\x07');
      ASSERT_TRUE(Request([&] { return store_->Create(settings); }).ok());
    } else {
      ASSERT_TRUE(Request([&] { return store_->Configure(settings); }).ok());
    }
  }

  StoreState State() {
    StoreState state;
    EXPECT_TRUE(Request([&] {
                  state = store_->state();
                  return Status::OK();
                }).ok());
    return state;
  }
  // Operations used this month: written plus deferred.
  uint64_t Used() { return State().usage_ops + deferred_; }

  std::vector<std::string> ListKeys(ListRequest request,
                                    std::optional<std::string>* resume_after) {
    std::vector<std::string> keys;
    const Status status = Request([&] {
      return store_->List(
          request,
          [&](const EntryView& entry) {
            keys.push_back(std::string(entry.key));
            EXPECT_EQ(entry.value.empty(), request.keys_only);
          },
          resume_after);
    });
    EXPECT_TRUE(status.ok()) << status.message();
    return keys;
  }

  std::unique_ptr<SqliteStorage> storage_;
  std::unique_ptr<Store> store_;
  int64_t now_ms_ = kNov26;
  uint64_t deferred_ = 0;  // what the host holds between requests
  std::string state_row_;  // likewise
};

}  // namespace kv

#endif  // KV_WORKER_STORE_TEST_FIXTURE_H_
