// The queue on native SQLite (queue.cc): enqueues in commits, leases,
// settlements, retries and dead letters, with the test's clock.

#include "queue.h"

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace kv
