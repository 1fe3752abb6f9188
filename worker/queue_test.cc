// The queue on native SQLite (queue.cc): enqueues in commits, leases,
// settlements, retries and dead letters, with the test's clock.

#include "queue.h"

#include <gtest/gtest.h>

#include <map>
#include <random>

#include "kv_limits.h"
#include "store_test_fixture.h"

namespace kv {
namespace {

Enqueue Message(const std::string& value, int64_t delay_ms = 0,
                std::vector<uint32_t> backoff = {100, 1000}) {
  Enqueue enqueue;
  enqueue.value = value;
  enqueue.delay_ms = delay_ms;
  enqueue.backoff_schedule = std::move(backoff);
  return enqueue;
}

class QueueTest : public StoreTest {
 protected:
  void SetUp() override {
    StoreTest::SetUp();
    SetLimits(std::nullopt, std::nullopt);
  }

  void MustEnqueue(std::vector<Enqueue> enqueues) {
    CommitRequest commit;
    commit.enqueues = std::move(enqueues);
    ASSERT_TRUE(MustCommit(std::move(commit)).ok);
  }

  Store::LeaseResult Lease(size_t max, int64_t visibility_ms = 30000) {
    Store::LeaseResult result;
    const Status status = Request(
        [&] { return store_->LeaseMessages(max, visibility_ms, &result); });
    EXPECT_TRUE(status.ok()) << status.message();
    return result;
  }
  std::vector<std::string> LeasedValues(size_t max) {
    std::vector<std::string> values;
    for (const auto& message : Lease(max).messages) {
      values.push_back(message.value);
    }
    return values;
  }

  Store::Settlement Settle(const Store::LeasedMessage& message, bool ok) {
    Store::Settlement settlement;
    std::optional<int64_t> next_wake;
    const Status status = Request([&] {
      return store_->SettleMessage(message.id, message.delivery, ok,
                                   &settlement, &next_wake);
    });
    EXPECT_TRUE(status.ok()) << status.message();
    return settlement;
  }

  Store::QueueStats Stats() {
    Store::QueueStats stats;
    EXPECT_TRUE(Request([&] { return store_->ReadQueueStats(&stats); }).ok());
    return stats;
  }
};

TEST(QueueFormsTest, RoundTripAndRefuseTruncation) {
  const std::vector<std::string> keys = {Key("a"), std::string(2048, 'k'), ""};
  std::vector<std::string> decoded;
  ASSERT_TRUE(DecodeUndelivered(EncodeUndelivered(keys), &decoded));
  EXPECT_EQ(decoded, keys);
  EXPECT_FALSE(DecodeUndelivered(EncodeUndelivered(keys).substr(1), &decoded));
  const std::vector<uint32_t> schedule = {0, 100, 3600000};
  std::vector<uint32_t> intervals;
  ASSERT_TRUE(DecodeBackoff(EncodeBackoff(schedule), &intervals));
  EXPECT_EQ(intervals, schedule);
  EXPECT_FALSE(DecodeBackoff("abc", &intervals));
}

TEST_F(QueueTest, AFailedCheckEnqueuesNothing) {
  MustCommit({{}, {Set("order", "1")}, {}});
  CommitRequest commit;
  commit.checks.push_back({Key("order"), std::nullopt});  // fails: it exists
  commit.mutations.push_back(Set("order", "2"));
  commit.enqueues.push_back(Message("\"receipt\""));
  EXPECT_FALSE(MustCommit(std::move(commit)).ok);
  EXPECT_EQ(Stats().depth, 0u);
  EXPECT_TRUE(Lease(10).messages.empty());
}

TEST_F(QueueTest, DueMessagesAreLeasedInOrderAndDelayedOnesWait) {
  MustEnqueue({Message("1"), Message("2", 5000), Message("3")});
  MustEnqueue({Message("4")});
  EXPECT_EQ(LeasedValues(10), (std::vector<std::string>{"1", "3", "4"}));
  const Store::QueueStats stats = Stats();
  EXPECT_EQ(stats.depth, 4u);
  EXPECT_EQ(stats.in_flight, 3u);
  EXPECT_EQ(stats.delayed, 1u);
  EXPECT_EQ(stats.oldest_enqueued_at_ms, now_ms_);
  now_ms_ += 4999;
  EXPECT_TRUE(LeasedValues(10).empty());
  now_ms_ += 1;
  EXPECT_EQ(LeasedValues(10), (std::vector<std::string>{"2"}));
}

TEST_F(QueueTest, EachMessageIsLeasedToOneListenerAtATime) {
  MustEnqueue({Message("1"), Message("2"), Message("3")});
  EXPECT_EQ(LeasedValues(2), (std::vector<std::string>{"1", "2"}));
  EXPECT_EQ(LeasedValues(2), (std::vector<std::string>{"3"}));
  EXPECT_TRUE(LeasedValues(2).empty());
}

TEST_F(QueueTest, AnAcknowledgedMessageIsGoneAndFreesItsStorage) {
  const uint64_t before = State().storage_bytes;
  MustEnqueue({Message("\"hello\"")});
  EXPECT_EQ(State().storage_bytes, before + MessageBytes(Message("\"hello\"")));
  const auto leased = Lease(1).messages;
  ASSERT_EQ(leased.size(), 1u);
  EXPECT_EQ(leased[0].delivery, 1);
  EXPECT_EQ(leased[0].failures, 0);
  EXPECT_EQ(Settle(leased[0], true), Store::Settlement::kAcked);
  EXPECT_EQ(State().storage_bytes, before);
  EXPECT_EQ(Stats().depth, 0u);
  EXPECT_EQ(Stats().delivered, 1u);
  // Settling it again changes nothing.
  EXPECT_EQ(Settle(leased[0], true), Store::Settlement::kStale);
  EXPECT_EQ(Stats().delivered, 1u);
}

TEST_F(QueueTest, FailuresFollowTheScheduleThenWriteTheDeadLetter) {
  Enqueue enqueue = Message("{\"job\":7}", 0, {100, 1000});
  enqueue.keys_if_undelivered = {Key("failed-a"), Key("failed-b")};
  MustEnqueue({enqueue});
  auto leased = Lease(1).messages;
  EXPECT_EQ(Settle(leased.at(0), false), Store::Settlement::kRetrying);
  now_ms_ += 99;
  EXPECT_TRUE(Lease(1).messages.empty());
  now_ms_ += 1;
  leased = Lease(1).messages;
  ASSERT_EQ(leased.size(), 1u);
  EXPECT_EQ(leased[0].delivery, 2);
  EXPECT_EQ(leased[0].failures, 1);
  EXPECT_EQ(Settle(leased[0], false), Store::Settlement::kRetrying);
  now_ms_ += 1000;
  leased = Lease(1).messages;
  EXPECT_FALSE(Read("failed-a").found);
  EXPECT_EQ(Settle(leased.at(0), false), Store::Settlement::kDeadLettered);
  EXPECT_EQ(Read("failed-a").value, "{\"job\":7}");
  EXPECT_EQ(Read("failed-b").version, Read("failed-a").version);
  const Store::QueueStats stats = Stats();
  EXPECT_EQ(stats.depth, 0u);
  EXPECT_EQ(stats.retried, 2u);
  EXPECT_EQ(stats.dead_lettered, 1u);
}

TEST_F(QueueTest, AnExpiredLeaseIsAFailedDeliveryAndItsLateAnswerIsStale) {
  MustEnqueue({Message("1", 0, {0})});
  const auto first = Lease(1, 1000).messages.at(0);
  now_ms_ += 999;
  EXPECT_TRUE(Lease(1).messages.empty());  // still leased
  now_ms_ += 1;
  const auto second = Lease(1, 1000).messages.at(0);
  EXPECT_EQ(second.id, first.id);
  EXPECT_EQ(second.delivery, 2);
  EXPECT_EQ(Settle(first, true), Store::Settlement::kStale);
  EXPECT_EQ(Settle(second, true), Store::Settlement::kAcked);
  EXPECT_EQ(Stats().retried, 1u);
}

TEST_F(QueueTest, ExpiredLeasesAreProcessedWithNoListener) {
  Enqueue enqueue = Message("\"x\"", 0, {});
  enqueue.keys_if_undelivered = {Key("dead")};
  MustEnqueue({enqueue});
  Lease(1, 1000);
  now_ms_ += 1000;
  const Store::LeaseResult result = Lease(0);
  EXPECT_EQ(result.dead_lettered, 1u);
  EXPECT_EQ(Read("dead").value, "\"x\"");
}

TEST_F(QueueTest, TheNextWakeIsTheEarliestDelayOrLeaseDeadline) {
  MustEnqueue({Message("1"), Message("2", 60000)});
  EXPECT_EQ(Lease(1, 5000).next_wake_ms, now_ms_ + 5000);
  EXPECT_EQ(Lease(0).next_wake_ms, now_ms_ + 5000);
}

TEST_F(QueueTest, EnqueuesCountTowardOperationsAndStorage) {
  SetLimits(5, std::nullopt);
  const uint64_t used = Used();
  MustEnqueue({Message("1"), Message("2")});
  EXPECT_EQ(Used(), used + 2);
  // Leasing and settling are paid for by the enqueue.
  const auto leased = Lease(2).messages;
  Settle(leased.at(0), true);
  Settle(leased.at(1), false);
  EXPECT_EQ(Used(), used + 2);

  SetLimits(std::nullopt, State().storage_bytes + 10);
  CommitRequest big;
  big.enqueues.push_back(Message("\"" + std::string(100, 'x') + "\""));
  CommitResult result;
  EXPECT_EQ(TryCommit(std::move(big), &result).code(),
            Code::kStorageLimitExceeded);
}

TEST_F(QueueTest, ADeadLetterIsWrittenEvenPastTheStorageLimit) {
  Enqueue enqueue = Message("\"" + std::string(1000, 'v') + "\"", 0, {});
  for (int i = 0; i < 10; ++i) {
    enqueue.keys_if_undelivered.push_back(Key("dead" + std::to_string(i)));
  }
  MustEnqueue({enqueue});
  SetLimits(std::nullopt, State().storage_bytes);
  const auto leased = Lease(1).messages;
  EXPECT_EQ(Settle(leased.at(0), false), Store::Settlement::kDeadLettered);
  EXPECT_TRUE(Read("dead9").found);
}

TEST_F(QueueTest, IdsAreNeverReusedSoALateSettleNamesNoNewerMessage) {
  MustEnqueue({Message("1")});
  const auto first = Lease(1).messages.at(0);
  EXPECT_EQ(Settle(first, true), Store::Settlement::kAcked);
  MustEnqueue({Message("2")});
  const auto second = Lease(1).messages.at(0);
  EXPECT_NE(second.id, first.id);
  // A retried settle of the first (its answer lost) changes nothing.
  EXPECT_EQ(Settle(first, true), Store::Settlement::kStale);
  EXPECT_EQ(Stats().depth, 1u);
}

TEST_F(QueueTest, ADeadLetterIsWrittenPastALoweredOperationsLimit) {
  Enqueue enqueue = Message("\"x\"", 0, {});
  enqueue.keys_if_undelivered = {Key("dead")};
  MustEnqueue({enqueue, Message("2")});
  SetLimits(1, std::nullopt);  // below what the store has used
  const auto leased = Lease(2).messages;
  ASSERT_EQ(leased.size(), 2u);
  EXPECT_EQ(Settle(leased[0], false), Store::Settlement::kDeadLettered);
  SetLimits(std::nullopt, std::nullopt);  // to read it back
  EXPECT_EQ(Read("dead").value, "\"x\"");
}

TEST_F(QueueTest, ACommitRefusedForAFullQueueCostsNothing) {
  for (uint64_t held = 0; held < kMaxQueuedMessages;
       held += kMaxEnqueuesPerCommit) {
    MustEnqueue(std::vector<Enqueue>(kMaxEnqueuesPerCommit, Message("1")));
  }
  const uint64_t used = Used();
  CommitRequest more;
  more.enqueues.push_back(Message("1"));
  CommitResult result;
  EXPECT_EQ(TryCommit(std::move(more), &result).code(), Code::kQueueFull);
  EXPECT_EQ(Used(), used);
}

TEST_F(QueueTest, AFullQueueRefusesMoreWhole) {
  for (uint64_t held = 0; held < kMaxQueuedMessages;
       held += kMaxEnqueuesPerCommit) {
    MustEnqueue(std::vector<Enqueue>(kMaxEnqueuesPerCommit, Message("1")));
  }
  CommitRequest more;
  more.mutations.push_back(Set("k", "1"));
  more.enqueues.push_back(Message("1"));
  CommitResult result;
  EXPECT_EQ(TryCommit(std::move(more), &result).code(), Code::kQueueFull);
  EXPECT_FALSE(Read("k").found);
  EXPECT_EQ(Stats().depth, kMaxQueuedMessages);
}

// Thousands of random enqueues, leases, settles and clock steps against a
// model of the queue: every lease, settlement and figure as predicted, every
// dead letter written, and the storage back to the entries' alone at the end.
TEST_F(QueueTest, RandomOperationsMatchAModel) {
  struct Held {
    int64_t ready_at;  // or the lease's deadline
    bool leased = false;
    int64_t delivery = 0, failures = 0;
    std::vector<uint32_t> schedule;
    std::string dead_key, value;
  };
  std::map<int64_t, Held> model;
  int64_t next_id = 1;
  uint64_t delivered = 0, retried = 0, dead_lettered = 0;
  std::map<std::string, std::string> letters;  // dead key -> value
  std::vector<Store::LeasedMessage> leases;    // handed out, maybe stale
  std::mt19937 random(20261202);
  auto pick = [&](int n) { return static_cast<int>(random() % n); };
  const uint64_t base_bytes = State().storage_bytes;
  const auto fail = [&](int64_t id, Held& held) {
    if (static_cast<size_t>(held.failures) < held.schedule.size()) {
      held.ready_at = now_ms_ + held.schedule[held.failures];
      held.leased = false;
      ++held.failures;
      ++retried;
      return Store::Settlement::kRetrying;
    }
    if (!held.dead_key.empty()) letters[held.dead_key] = held.value;
    model.erase(id);
    ++dead_lettered;
    return Store::Settlement::kDeadLettered;
  };
  // A lease first fails the leases past their deadline, oldest first.
  const auto expire = [&] {
    std::vector<std::pair<int64_t, int64_t>> expired;
    for (const auto& [id, held] : model) {
      if (held.leased && held.ready_at <= now_ms_) {
        expired.push_back({held.ready_at, id});
      }
    }
    std::sort(expired.begin(), expired.end());
    for (const auto& [deadline, id] : expired) fail(id, model.at(id));
  };
  for (int step = 0; step < 3000; ++step) {
    const int op = pick(10);
    if (op < 3) {
      std::vector<Enqueue> enqueues;
      for (int i = 0, n = 1 + pick(3); i < n; ++i) {
        const int64_t id = next_id++;
        Held held;
        held.ready_at = now_ms_ + std::vector<int64_t>{0, 0, 50, 500}[pick(4)];
        for (int j = 0, k = pick(4); j < k; ++j) {
          held.schedule.push_back(std::vector<uint32_t>{0, 10, 100}[pick(3)]);
        }
        held.value = std::to_string(id);
        if (pick(2)) held.dead_key = "dead" + std::to_string(id);
        Enqueue enqueue =
            Message(held.value, held.ready_at - now_ms_, held.schedule);
        if (!held.dead_key.empty()) {
          enqueue.keys_if_undelivered = {Key(held.dead_key)};
        }
        enqueues.push_back(std::move(enqueue));
        model[id] = std::move(held);
      }
      MustEnqueue(std::move(enqueues));
    } else if (op < 6) {
      const size_t max = pick(5);
      const int64_t visibility = pick(2) ? 100 : 1000;
      // Expected: expired leases fail first, then due messages in order.
      expire();
      std::vector<std::pair<int64_t, int64_t>> due;
      for (const auto& [id, held] : model) {
        if (!held.leased && held.ready_at <= now_ms_) {
          due.push_back({held.ready_at, id});
        }
      }
      std::sort(due.begin(), due.end());
      if (due.size() > max) due.resize(max);
      const auto leased = Lease(max, visibility).messages;
      ASSERT_EQ(leased.size(), due.size()) << "step " << step;
      for (size_t i = 0; i < due.size(); ++i) {
        Held& held = model.at(due[i].second);
        held.leased = true;
        held.ready_at = now_ms_ + visibility;
        ++held.delivery;
        ASSERT_EQ(leased[i].id, due[i].second) << "step " << step;
        ASSERT_EQ(leased[i].delivery, held.delivery);
        ASSERT_EQ(leased[i].failures, held.failures);
        ASSERT_EQ(leased[i].value, held.value);
        leases.push_back(leased[i]);
      }
    } else if (op < 8 && !leases.empty()) {
      const size_t index = pick(static_cast<int>(leases.size()));
      const Store::LeasedMessage lease = leases[index];
      const bool ok = pick(3) > 0;
      auto it = model.find(lease.id);
      Store::Settlement expected = Store::Settlement::kStale;
      if (it != model.end() && it->second.leased &&
          it->second.delivery == lease.delivery) {
        if (ok) {
          expected = Store::Settlement::kAcked;
          model.erase(it);
          ++delivered;
        } else {
          expected = fail(lease.id, it->second);
        }
      }
      ASSERT_EQ(Settle(lease, ok), expected) << "step " << step;
    } else {
      now_ms_ += std::vector<int64_t>{0, 10, 100, 600}[pick(4)];
    }
    if (step % 100 == 0) {
      const Store::QueueStats stats = Stats();
      ASSERT_EQ(stats.depth, model.size());
      ASSERT_EQ(stats.delivered, delivered);
      ASSERT_EQ(stats.retried, retried);
      ASSERT_EQ(stats.dead_lettered, dead_lettered);
      uint64_t in_flight = 0;
      for (const auto& [id, held] : model) in_flight += held.leased;
      ASSERT_EQ(stats.in_flight, in_flight);
    }
  }
  // Drain: every message acknowledged (failed leases and retries included).
  while (!model.empty()) {
    now_ms_ += 1000;
    expire();
    for (const auto& lease : Lease(kMaxQueueConcurrency).messages) {
      ASSERT_EQ(Settle(lease, true), Store::Settlement::kAcked);
      model.erase(lease.id);
    }
  }
  uint64_t letter_bytes = 0;
  for (const auto& [key, value] : letters) {
    EXPECT_EQ(Read(key).value, value);
    letter_bytes += Key(key).size() + value.size();
  }
  EXPECT_GT(letters.size(), 0u);
  EXPECT_EQ(State().storage_bytes, base_bytes + letter_bytes);
  EXPECT_EQ(Stats().depth, 0u);
}

}  // namespace
}  // namespace kv
