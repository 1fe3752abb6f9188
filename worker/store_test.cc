// Store semantics on native SQLite, run the way the Durable Object host runs
// them: each request inside one transaction (Begin, calls, End), rolled back
// when storage fails. The clock is the test's: requests carry now_ms_.

#include "store.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <memory>

#include "counter.h"
#include "kv_limits.h"
#include "sqlite_storage.h"
#include "store_test_fixture.h"

namespace kv {
namespace {

TEST(VersionTest, FormatsTwentyLowercaseHexDigitsInOrder) {
  EXPECT_EQ(FormatVersion(1), "00000000000000010000");
  EXPECT_EQ(FormatVersion(0xabcdef), "0000000000abcdef0000");
  EXPECT_LT(FormatVersion(9), FormatVersion(10));
  EXPECT_LT(FormatVersion(0xffff), FormatVersion(0x10000));
}

TEST(CalendarTest, MonthsAreUtcCalendarMonths) {
  EXPECT_EQ(MonthOf(kNov26), 202611u);
  EXPECT_EQ(MonthOf(0), 197001u);
  EXPECT_EQ(FormatUtcMidnight(StartOfNextMonthMs(202611)),
            "2026-12-01T00:00:00Z");
  EXPECT_EQ(FormatUtcMidnight(StartOfNextMonthMs(202612)),
            "2027-01-01T00:00:00Z");
  EXPECT_EQ(FormatUtcMidnight(StartOfNextMonthMs(202802)),
            "2028-03-01T00:00:00Z");  // leap year
  const int64_t december = StartOfNextMonthMs(202611);
  EXPECT_EQ(MonthOf(december - 1), 202611u);
  EXPECT_EQ(MonthOf(december), 202612u);
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
  EXPECT_TRUE(
      MustCommit({{{Key("a"), FormatVersion(v1)}}, {Set("a", "2")}}).ok);
  EXPECT_FALSE(
      MustCommit({{{Key("a"), FormatVersion(v1)}}, {Set("a", "3")}}).ok);
  EXPECT_EQ(Read("a").value, "2");
}

TEST_F(StoreTest, LaterMutationOfTheSameKeyWins) {
  MustCommit({{}, {Set("a", "1"), Delete("a"), Set("a", "3")}});
  EXPECT_EQ(Read("a").value, "3");
  MustCommit({{}, {Set("a", "4"), Delete("a")}});
  EXPECT_FALSE(Read("a").found);
  EXPECT_EQ(State().storage_bytes, 0u);
}

TEST_F(StoreTest, StorageFailureMidCommitRollsBackEverything) {
  MustCommit({{}, {Set("a", "1")}});
  const StoreState before = State();
  // Statements: read state, size a, size b, set a, set b, write state.
  for (int fail_at = 1; fail_at <= 6; ++fail_at) {
    ForgetStateRow();  // so that the state row is read, statement 1
    FailingStorage failing(storage_.get(), fail_at);
    Store store(&failing);
    CommitResult result;
    const Status status = Request(&store, [&] {
      return store.Commit({{}, {Set("a", "2"), Set("b", "2")}}, &result);
    });
    EXPECT_EQ(status.code(), Code::kStorageError) << fail_at;
    EXPECT_EQ(Read("a").value, "1") << fail_at;
    EXPECT_FALSE(Read("b").found) << fail_at;
    EXPECT_EQ(State().version, before.version);
    EXPECT_EQ(State().storage_bytes, before.storage_bytes);
  }
}

TEST_F(StoreTest, CredentialIsComparedExactly) {
  EXPECT_TRUE(Request([&] { return store_->Authenticate(""); }).ok());
  SettingsRequest create;
  create.credential = std::string(32, '\x01');
  ASSERT_TRUE(Request([&] { return store_->Create(create); }).ok());
  EXPECT_EQ(Request([&] { return store_->Create(create); }).code(),
            Code::kStoreExists);
  EXPECT_TRUE(Request([&] {
                return store_->Authenticate(std::string(32, '\x01'));
              }).ok());
  EXPECT_EQ(Request([&] { return store_->Authenticate(""); }).code(),
            Code::kInvalidToken);
  std::string other(32, '\x01');
  other[31] = '\x02';
  EXPECT_EQ(Request([&] { return store_->Authenticate(other); }).code(),
            Code::kInvalidToken);
  // A new store starts on the free tier.
  EXPECT_EQ(State().limits.ops_per_month, kFreeTierOpsPerMonth);
  EXPECT_EQ(State().limits.storage_bytes, kFreeTierStorageBytes);
}

TEST_F(StoreTest, OperationsLimitIsExactAtItsBoundary) {
  SetLimits(10, std::nullopt);
  for (int i = 0; i < 9; ++i) Read("a");
  EXPECT_EQ(Used(), 9u);
  // The 10th operation is allowed, the 11th refused and not written.
  EXPECT_TRUE(MustCommit({{}, {Set("a", "1")}}).ok);
  CommitResult result;
  const Status refused = TryCommit({{}, {Set("b", "2")}}, &result);
  EXPECT_EQ(refused.code(), Code::kQuotaExceeded);
  EXPECT_EQ(refused.http_status(), 429);
  EXPECT_NE(refused.message().find("10 of its 10"), std::string::npos)
      << refused.message();
  EXPECT_NE(refused.message().find("2026-12-01T00:00:00Z"), std::string::npos);
  EXPECT_EQ(Used(), 10u);       // a refused request costs nothing
  SetLimits(11, std::nullopt);  // raising the limit lets it through
  EXPECT_TRUE(MustCommit({{}, {Set("b", "2")}}).ok);
  EXPECT_EQ(Used(), 11u);
}

TEST_F(StoreTest, CountingRules) {
  SetLimits(1000, std::nullopt);
  MustCommit({{}, {Set("a", "1"), Set("b", "2")}});  // 2 mutations
  EXPECT_EQ(Used(), 2u);
  const Version v = Read("a").version;  // 1 read
  MustCommit({{{Key("a"), FormatVersion(v)}, {Key("b"), std::nullopt}},
              {Set("c", "3")}});  // check fails: 2 checks, no mutation
  EXPECT_EQ(Used(), 5u);
  std::optional<std::string> resume_after;
  ListRequest list;
  list.selector = {std::string(1, '\0'), std::string(1, '\xff'), 0};
  list.limit = 10;
  EXPECT_EQ(ListKeys(list, &resume_after).size(), 2u);  // 2 entries
  EXPECT_EQ(Used(), 7u);
  uint64_t count;
  ASSERT_TRUE(Request([&] {
                return store_->Count({list.selector, std::nullopt}, &count,
                                     &resume_after);
              }).ok());
  EXPECT_EQ(resume_after, std::nullopt);
  EXPECT_EQ(count, 2u);
  EXPECT_EQ(Used(), 8u);  // a count of up to 1,000 costs one
}

TEST_F(StoreTest, AnEmptyCommitCostsOneOperation) {
  SetLimits(1, std::nullopt);
  EXPECT_TRUE(MustCommit({{}, {}}).ok);
  CommitResult result;
  EXPECT_EQ(TryCommit({{}, {}}, &result).code(), Code::kQuotaExceeded);
}

TEST_F(StoreTest, AHeldStateRowIsNotReadAgainAndStaysWhatStorageHolds) {
  SetLimits(100, std::nullopt);
  StateRowCounter counter(storage_.get());
  Store store(&counter);
  ReadRequest read;
  read.keys = {Key("a")};
  const auto get = [&] {
    return Request(&store,
                   [&] { return store.Read(read, [](const EntryView&) {}); });
  };
  ASSERT_TRUE(get().ok());
  ASSERT_TRUE(get().ok());
  EXPECT_EQ(counter.reads(), 0);  // the row held since SetLimits
  CommitResult result;
  ASSERT_TRUE(Request(&store, [&] {
                return store.Commit({{}, {Set("a", "1")}}, &result);
              }).ok());
  EXPECT_EQ(counter.reads(), 0);
  EXPECT_EQ(counter.writes(), 1);  // Request checks the row held is this one
  // A rotation hands on the new credential: the old one is refused at once.
  std::string previous;
  uint64_t generation = 0;
  ASSERT_TRUE(Request(&store, [&] {
                return store.Rotate(std::string(32, '\x09'), &previous,
                                    &generation);
              }).ok());
  EXPECT_EQ(
      Request(&store, [&] { return store.Authenticate(previous); }).code(),
      Code::kInvalidToken);
  EXPECT_EQ(counter.reads(), 0);
  // A new object reads it once.
  ForgetStateRow();
  ASSERT_TRUE(get().ok());
  ASSERT_TRUE(get().ok());
  EXPECT_EQ(counter.reads(), 1);
}

TEST_F(StoreTest, ReadsWriteNothingAndTheNextWriteFoldsTheirOperations) {
  SetLimits(100, std::nullopt);
  MustCommit({{}, {Set("a", "1")}});
  ASSERT_EQ(deferred_, 0u);  // a write counts in its own transaction
  StateRowCounter counter(storage_.get());
  Store store(&counter);
  ASSERT_TRUE(Request(&store, [&] {
                return store.Read(ReadRequest{{Key("a"), Key("b")}},
                                  [&](const EntryView&) {});
              }).ok());
  std::optional<std::string> resume_after;
  ListRequest list;
  list.selector = {std::string(1, '\0'), std::string(1, '\xff'), 0};
  list.limit = 10;
  ASSERT_TRUE(Request(&store, [&] {
                return store.List(
                    list, [](const EntryView&) {}, &resume_after);
              }).ok());
  EXPECT_EQ(counter.writes(), 0);
  EXPECT_EQ(deferred_, 3u);  // 2 keys read, 1 entry listed
  EXPECT_EQ(State().usage_ops, 1u);
  EXPECT_EQ(Used(), 4u);
  CommitResult result;
  ASSERT_TRUE(Request(&store, [&] {
                return store.Commit({{}, {Set("b", "2")}}, &result);
              }).ok());
  EXPECT_EQ(counter.writes(), 1);
  EXPECT_EQ(deferred_, 0u);
  EXPECT_EQ(State().usage_ops, 5u);
}

TEST_F(StoreTest, QuotaChecksCountDeferredOperations) {
  SetLimits(3, std::nullopt);
  for (int i = 0; i < 3; ++i) Read("a");
  EXPECT_EQ(State().usage_ops, 0u);
  const Status refused = Request([&] {
    return store_->Read(ReadRequest{{Key("a")}}, [](const EntryView&) {});
  });
  EXPECT_EQ(refused.code(), Code::kQuotaExceeded);
  EXPECT_NE(refused.message().find("used 3 of its 3"), std::string::npos)
      << refused.message();
  EXPECT_EQ(store_->Quota()->remaining, 0u);
}

TEST_F(StoreTest, FoldWritesDeferredOperationsOnce) {
  SetLimits(100, std::nullopt);
  Read("a");
  Read("a");
  StateRowCounter counter(storage_.get());
  Store store(&counter);
  const auto fold = [&] {
    return Request(&store, [&] {
      store.Fold();
      return Status::OK();
    });
  };
  ASSERT_TRUE(fold().ok());
  EXPECT_EQ(counter.writes(), 1);
  EXPECT_EQ(deferred_, 0u);
  EXPECT_EQ(State().usage_ops, 2u);
  ASSERT_TRUE(fold().ok());  // nothing deferred: nothing written
  EXPECT_EQ(counter.writes(), 1);
  EXPECT_EQ(State().usage_ops, 2u);
}

TEST_F(StoreTest, ARolledBackRequestLeavesTheDeferredCount) {
  SetLimits(100, std::nullopt);
  Read("a");
  Read("a");
  // The commit's last statement, the state row write, fails.
  ForgetStateRow();  // so that the state row is read, statement 1
  FailingStorage failing(storage_.get(), 4);
  Store store(&failing);
  CommitResult result;
  EXPECT_EQ(Request(&store,
                    [&] {
                      return store.Commit({{}, {Set("a", "1")}}, &result);
                    })
                .code(),
            Code::kStorageError);
  EXPECT_EQ(deferred_, 2u);
  EXPECT_EQ(State().usage_ops, 0u);
  EXPECT_FALSE(Read("a").found);
}

TEST_F(StoreTest, ANewMonthDropsTheLastMonthsDeferredOperations) {
  SetLimits(100, std::nullopt);
  Read("a");
  Read("a");
  now_ms_ = StartOfNextMonthMs(MonthOf(kNov26));
  Read("a");
  EXPECT_EQ(State().usage_month, 202612u);
  EXPECT_EQ(Used(), 1u);
}

TEST_F(StoreTest, UsageRestartsEachUtcMonth) {
  SetLimits(2, std::nullopt);
  Read("a");
  Read("a");
  CommitResult result;
  EXPECT_EQ(TryCommit({{}, {Set("a", "1")}}, &result).code(),
            Code::kQuotaExceeded);
  now_ms_ = StartOfNextMonthMs(MonthOf(kNov26)) - 1;  // still November
  EXPECT_EQ(TryCommit({{}, {Set("a", "1")}}, &result).code(),
            Code::kQuotaExceeded);
  now_ms_ += 1;  // 2026-12-01T00:00:00Z
  EXPECT_TRUE(MustCommit({{}, {Set("a", "1")}}).ok);
  EXPECT_EQ(State().usage_month, 202612u);
  EXPECT_EQ(Used(), 1u);
}

TEST_F(StoreTest, StorageIsKeyPlusValueBytesAndItsLimitIsExact) {
  // Key("ab") is 4 bytes; each value below is 6 bytes: 10 bytes an entry.
  SetLimits(std::nullopt, 20);
  MustCommit({{}, {Set("ab", "\"1234\""), Set("cd", "\"1234\"")}});
  EXPECT_EQ(State().storage_bytes, 20u);
  MustCommit({{}, {Set("ab", "\"abcd\"")}});  // same size: allowed at limit
  CommitResult result;
  const Status over = TryCommit({{}, {Set("ef", "1")}}, &result);
  EXPECT_EQ(over.code(), Code::kStorageLimitExceeded);
  EXPECT_EQ(over.http_status(), 507);
  EXPECT_NE(over.message().find("25 bytes, past its limit of 20"),
            std::string::npos)
      << over.message();
  EXPECT_FALSE(Read("ef").found);
  SetLimits(std::nullopt, 5);  // lowered below what the store holds
  EXPECT_EQ(MustCommit({{}, {Delete("ab")}}).entries_deleted, 1u);
  EXPECT_EQ(State().storage_bytes, 10u);
}

TEST_F(StoreTest, ExpiredEntriesVanishAtTheirExpiryAndPurgeFreesThem) {
  const CommitResult set =
      MustCommit({{}, {Set("a", "1", 1000), Set("b", "2")}});
  EXPECT_EQ(set.earliest_expiry_ms, kNov26 + 1000);
  EXPECT_EQ(Read("a").expires_at_ms, kNov26 + 1000);
  now_ms_ = kNov26 + 999;
  EXPECT_TRUE(Read("a").found);
  now_ms_ = kNov26 + 1000;
  EXPECT_FALSE(Read("a").found);
  // A check for "no entry" holds for an expired one.
  EXPECT_TRUE(MustCommit({{{Key("a"), std::nullopt}}, {}}).ok);
  EXPECT_EQ(State().storage_bytes, 2 * (3 + 1u));  // not purged yet
  uint64_t purged;
  bool more;
  std::optional<int64_t> next;
  ASSERT_TRUE(Request([&] {
                return store_->PurgeExpired(&purged, &more, &next);
              }).ok());
  EXPECT_EQ(purged, 1u);
  EXPECT_FALSE(more);
  EXPECT_EQ(next, std::nullopt);
  EXPECT_EQ(State().storage_bytes, 3 + 1u);
  // Deleting an expired entry reports that nothing was there.
  MustCommit({{}, {Set("c", "3", 10)}});
  now_ms_ += 10;
  EXPECT_EQ(MustCommit({{}, {Delete("c")}}).entries_deleted, 0u);
}

TEST_F(StoreTest, ListsInKeyOrderAndResumesFromCursors) {
  std::vector<Mutation> mutations;
  for (char c = 'a'; c <= 'j'; ++c) {
    mutations.push_back(Set(std::string("p") + c, "1"));
  }
  mutations.push_back(Set("q", "1"));
  MustCommit({{}, mutations});
  ListRequest request;
  request.selector = {Key("pa"), Key("q"), 7};
  request.limit = 4;
  for (bool reverse : {false, true}) {
    request.reverse = reverse;
    request.after.reset();
    std::vector<std::string> all;
    std::optional<std::string> resume_after;
    do {
      const std::vector<std::string> page = ListKeys(request, &resume_after);
      all.insert(all.end(), page.begin(), page.end());
      // The resume key is the last key returned.
      if (resume_after) {
        EXPECT_EQ(*resume_after, all.back());
        request.after = resume_after;
      }
    } while (resume_after);
    ASSERT_EQ(all.size(), 10u) << reverse;
    for (size_t i = 1; i < all.size(); ++i) {
      EXPECT_EQ(all[i - 1] < all[i], !reverse);
    }
  }
  request.keys_only = true;
  request.after.reset();
  std::optional<std::string> resume_after;
  EXPECT_EQ(ListKeys(request, &resume_after).size(), 4u);
}

Mutation Counter(Mutation::Type type, const std::string& key,
                 uint64_t operand) {
  return {type, Key(key), EncodeCounter(operand), std::nullopt};
}

TEST_F(StoreTest, CountersSumWrapMinAndMaxExactly) {
  using Type = Mutation::Type;
  const uint64_t big = (uint64_t{1} << 53) + 1;  // not exact in a double
  MustCommit(
      {{}, {Counter(Type::kSum, "n", big), Counter(Type::kSum, "n", 2)}});
  uint64_t value;
  ASSERT_TRUE(DecodeCounter(Read("n").value, &value));
  EXPECT_EQ(value, big + 2);
  MustCommit({{}, {Counter(Type::kSum, "n", UINT64_MAX)}});  // + (2^64 - 1)
  ASSERT_TRUE(DecodeCounter(Read("n").value, &value));
  EXPECT_EQ(value, big + 1);  // wrapped modulo 2^64
  MustCommit({{},
              {Counter(Type::kMin, "lo", 7), Counter(Type::kMin, "lo", 3),
               Counter(Type::kMax, "hi", 3), Counter(Type::kMax, "hi", 7)}});
  ASSERT_TRUE(DecodeCounter(Read("lo").value, &value));
  EXPECT_EQ(value, 3u);
  ASSERT_TRUE(DecodeCounter(Read("hi").value, &value));
  EXPECT_EQ(value, 7u);
  EXPECT_EQ(State().storage_bytes, (3 + 9u) + 2 * (4 + 9u));  // n, lo, hi
}

TEST_F(StoreTest, ACounterMutationOnJsonRejectsTheWholeCommit) {
  MustCommit({{}, {Set("json", "5")}});
  CommitResult result;
  const Status status = TryCommit(
      {{}, {Set("other", "1"), Counter(Mutation::Type::kSum, "json", 1)}},
      &result);
  EXPECT_EQ(status.code(), Code::kNotACounter);
  EXPECT_NE(status.message().find("mutations[1]"), std::string::npos);
  EXPECT_FALSE(Read("other").found);
  EXPECT_EQ(Read("json").value, "5");
}

// ---- Hardening (issue 10): lifecycle, bounded pages and scans, purge ----

TEST_F(StoreTest, OnlyCreateBringsAStoreToLifeAndNothingBringsItBack) {
  std::string previous;
  uint64_t generation;
  const std::string first(32, '\x01');
  const std::string second(32, '\x02');
  // A rotation or a limit change of a store that is not live finds none.
  const auto expect_not_live = [&](const char* when) {
    EXPECT_EQ(Request([&] {
                return store_->Rotate(second, &previous, &generation);
              }).code(),
              Code::kStoreNotFound)
        << when;
    EXPECT_EQ(Request([&] { return store_->Configure({}); }).code(),
              Code::kStoreNotFound)
        << when;
  };
  expect_not_live("before it is created");
  SettingsRequest create;
  create.credential = first;
  ASSERT_TRUE(Request([&] { return store_->Create(create); }).ok());
  EXPECT_EQ(State().credential_generation, 1u);
  ASSERT_TRUE(Request([&] {
                return store_->Rotate(second, &previous, &generation);
              }).ok());
  EXPECT_EQ(previous, first);
  EXPECT_EQ(generation, 2u);
  EXPECT_TRUE(Request([&] { return store_->Authenticate(second); }).ok());
  EXPECT_EQ(Request([&] { return store_->Authenticate(first); }).code(),
            Code::kInvalidToken);
  // Deleted: every setting is refused, the credential is gone, and the
  // store cannot be created again under the same name.
  ASSERT_TRUE(Request([&] { return store_->Retire(); }).ok());
  expect_not_live("after it is deleted");
  EXPECT_EQ(Request([&] { return store_->Create(create); }).code(),
            Code::kStoreExists);
  EXPECT_EQ(Request([&] { return store_->Authenticate(second); }).code(),
            Code::kInvalidToken);
  EXPECT_EQ(State().lifecycle, Lifecycle::kDeleted);
}

TEST_F(StoreTest, AListPageStopsAtItsByteBoundAndResumesExactly) {
  SetLimits(std::nullopt, std::nullopt);
  const std::string value = LargeValue();
  constexpr int kEntries = 200;  // 3.2 MiB of values
  SetLargeEntries(kEntries);
  ListRequest request;
  request.selector = {std::string(1, '\0'), std::string(1, '\xff'), 0};
  request.limit = kMaxListLimit;
  for (bool reverse : {false, true}) {
    request.reverse = reverse;
    request.after.reset();
    std::vector<std::string> all;
    std::optional<std::string> resume_after;
    do {
      size_t page_bytes = 0;
      size_t page_entries = 0;
      const Status status = Request([&] {
        return store_->List(
            request,
            [&](const EntryView& entry) {
              all.push_back(std::string(entry.key));
              page_bytes += entry.key.size() + entry.value.size();
              ++page_entries;
            },
            &resume_after);
      });
      ASSERT_TRUE(status.ok()) << status.message();
      // The page ends with the entry that reaches the bound.
      EXPECT_LT(page_bytes - (value.size() + Key("k000").size()),
                kMaxListPageBytes);
      if (resume_after) {
        EXPECT_GE(page_bytes, kMaxListPageBytes);
        request.after = all.back();
      }
      EXPECT_GT(page_entries, 0u);
    } while (resume_after);
    ASSERT_EQ(all.size(), static_cast<size_t>(kEntries)) << reverse;
    for (size_t i = 1; i < all.size(); ++i) {
      EXPECT_EQ(all[i - 1] < all[i], !reverse);
    }
  }
  // Without values the same entries fit one page.
  request.keys_only = true;
  request.after.reset();
  std::optional<std::string> resume_after;
  EXPECT_EQ(ListKeys(request, &resume_after).size(),
            static_cast<size_t>(kEntries));
  EXPECT_EQ(resume_after, std::nullopt);
}

TEST_F(StoreTest, APageThatEndsTheRangeAtItsByteBoundHasNoCursor) {
  SetLimits(std::nullopt, std::nullopt);
  SetLargeEntries(120);
  ListRequest request;
  request.selector = {std::string(1, '\0'), std::string(1, '\xff'), 0};
  request.limit = kMaxListLimit;
  for (bool reverse : {false, true}) {
    request.reverse = reverse;
    std::optional<std::string> resume_after;
    const size_t page = ListKeys(request, &resume_after).size();
    ASSERT_NE(resume_after, std::nullopt);  // 120 entries of 16 KiB pass 1 MiB
    // Left with exactly the first page's entries, the range ends where the
    // page's bytes do: no resume key to an empty page.
    CommitRequest trim;
    for (size_t j = page; j < 120; ++j) {
      trim.mutations.push_back(Delete(LargeName(
          reverse ? static_cast<int>(119 - j) : static_cast<int>(j))));
    }
    MustCommit(std::move(trim));
    EXPECT_EQ(ListKeys(request, &resume_after).size(), page) << reverse;
    EXPECT_EQ(resume_after, std::nullopt) << reverse;
    SetLargeEntries(120);  // again, for the other direction
  }
}

TEST_F(StoreTest, ListAndCountNeverScanMoreThanTheQuotaPaysFor) {
  SetLimits(std::nullopt, std::nullopt);
  CommitRequest commit;
  for (int i = 0; i < 1500; ++i) {
    commit.mutations.push_back(Set("k" + std::to_string(10000 + i), "1"));
    if (commit.mutations.size() == kMaxMutationsPerCommit) {
      MustCommit(std::move(commit));
      commit = {};
    }
  }
  MustCommit(std::move(commit));
  const Selector all{std::string(1, '\0'), std::string(1, '\xff'), 0};
  // Three operations left: a list of 10 gets a page of 3 and a resume key.
  SetLimits(Used() + 3, std::nullopt);
  ListRequest list;
  list.selector = all;
  list.limit = 10;
  std::optional<std::string> resume_after;
  EXPECT_EQ(ListKeys(list, &resume_after).size(), 3u);
  EXPECT_NE(resume_after, std::nullopt);
  EXPECT_EQ(Request([&] {
              return store_->List(
                  list, [](auto&) {}, &resume_after);
            }).code(),
            Code::kQuotaExceeded);
  // One operation left pays for counting 1,000 entries: the count stops
  // there with a resume key, and resumes from it once the limit is raised.
  SetLimits(Used() + 1, std::nullopt);
  uint64_t count = 0;
  ASSERT_TRUE(
      Request([&] {
        return store_->Count({all, std::nullopt}, &count, &resume_after);
      }).ok());
  EXPECT_EQ(count, 1000u);
  ASSERT_NE(resume_after, std::nullopt);
  EXPECT_EQ(Used(), *State().limits.ops_per_month);
  SetLimits(std::nullopt, std::nullopt);
  CountRequest rest{all, Key("k" + std::to_string(10000 + 999))};
  ASSERT_TRUE(
      Request([&] { return store_->Count(rest, &count, &resume_after); }).ok());
  EXPECT_EQ(count, 500u);
  EXPECT_EQ(resume_after, std::nullopt);
}

TEST_F(StoreTest, PurgeDeletesInBoundedBatches) {
  SetLimits(std::nullopt, std::nullopt);
  constexpr size_t kExpired = 2 * kPurgeBatchEntries + 7;
  CommitRequest commit;
  for (size_t i = 0; i < kExpired; ++i) {
    commit.mutations.push_back(Set("e" + std::to_string(i), "1", 10));
    if (commit.mutations.size() == kMaxMutationsPerCommit) {
      MustCommit(std::move(commit));
      commit = {};
    }
  }
  commit.mutations.push_back(Set("later", "1", 60000));
  MustCommit(std::move(commit));
  const uint64_t stored = State().storage_bytes;
  now_ms_ += 10;
  std::vector<uint64_t> batches;
  bool more = true;
  std::optional<int64_t> next;
  while (more) {
    uint64_t purged;
    ASSERT_TRUE(Request([&] {
                  return store_->PurgeExpired(&purged, &more, &next);
                }).ok());
    batches.push_back(purged);
  }
  EXPECT_EQ(batches,
            (std::vector<uint64_t>{kPurgeBatchEntries, kPurgeBatchEntries, 7}));
  EXPECT_EQ(next, kNov26 + 60000);
  EXPECT_EQ(State().storage_bytes, Key("later").size() + 1);
  EXPECT_LT(State().storage_bytes, stored);
}

TEST(SqliteStorageTest, DataSurvivesReopening) {
  // mkstemp replaces the six trailing template characters.
  std::string path = "/tmp/kv_store_test_" + std::string(6, 'X');
  const int fd = mkstemp(path.data());
  ASSERT_GE(fd, 0);
  close(fd);
  for (int round = 0; round < 2; ++round) {
    std::unique_ptr<SqliteStorage> storage;
    ASSERT_TRUE(SqliteStorage::Open(path, &storage).ok());
    Store store(storage.get());
    ASSERT_TRUE(store.Migrate().ok());
    ASSERT_TRUE(store.Begin(kNov26).ok());
    if (round == 0) {
      CommitResult result;
      ASSERT_TRUE(store.Commit({{}, {Set("a", "\"kept\"")}}, &result).ok());
      ASSERT_TRUE(store.End().ok());
    } else {
      std::string value;
      ASSERT_TRUE(
          store
              .Read(ReadRequest{{Key("a")}},
                    [&](const EntryView& e) { value = std::string(e.value); })
              .ok());
      EXPECT_EQ(value, "\"kept\"");
      EXPECT_EQ(store.state().version, 1u);
    }
  }
  std::remove(path.c_str());
}

}  // namespace
}  // namespace kv
