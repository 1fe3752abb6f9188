#include "model.h"

namespace kv {

Status CheckCommitLimits(const CommitRequest& request) {
  size_t bytes = 0;
  size_t key_bytes = 0;
  for (const Check& check : request.checks) bytes += check.key.size();
  for (const Mutation& mutation : request.mutations) {
    bytes += mutation.key.size() + mutation.value.size();
    if (mutation.type != Mutation::Type::kDelete) {
      key_bytes += mutation.key.size();
    }
  }
  for (const Enqueue& enqueue : request.enqueues) {
    bytes += enqueue.value.size();
    for (const std::string& key : enqueue.keys_if_undelivered) {
      bytes += key.size();
    }
  }
  if (bytes > kMaxCommitBytes) {
    return Status::Error(
        Code::kCommitTooLarge,
        "the commit's keys and values (enqueued ones too) are " +
            std::to_string(bytes) + " bytes; the limit is " +
            std::to_string(kMaxCommitBytes) + " bytes (800 KiB)");
  }
  if (key_bytes > kMaxCommitKeyBytes) {
    return Status::Error(
        Code::kCommitTooLarge,
        "the keys the commit writes are " + std::to_string(key_bytes) +
            " bytes; the limit is " + std::to_string(kMaxCommitKeyBytes) +
            " bytes (80 KiB, as in Deno KV)");
  }
  return Status::OK();
}

Status CheckEnqueue(const Enqueue& enqueue, std::string_view what) {
  const std::string where(what);
  if (enqueue.delay_ms < 0 || enqueue.delay_ms > kMaxQueueDelayMs) {
    return Status::Error(
        Code::kInvalidDelay,
        where + ".delay is " + std::to_string(enqueue.delay_ms) +
            "; it must be 0 to " + std::to_string(kMaxQueueDelayMs) +
            " milliseconds (30 days)");
  }
  if (enqueue.backoff_schedule.size() > kMaxBackoffIntervals) {
    return Status::Error(Code::kInvalidBackoffSchedule,
                         where + ".backoffSchedule has " +
                             std::to_string(enqueue.backoff_schedule.size()) +
                             " intervals; at most " +
                             std::to_string(kMaxBackoffIntervals) +
                             " are allowed");
  }
  for (size_t i = 0; i < enqueue.backoff_schedule.size(); ++i) {
    if (enqueue.backoff_schedule[i] > kMaxBackoffIntervalMs) {
      return Status::Error(
          Code::kInvalidBackoffSchedule,
          where + ".backoffSchedule[" + std::to_string(i) + "] is " +
              std::to_string(enqueue.backoff_schedule[i]) +
              "; each interval must be 0 to " +
              std::to_string(kMaxBackoffIntervalMs) + " milliseconds (1 hour)");
    }
  }
  if (enqueue.keys_if_undelivered.size() > kMaxUndeliveredKeys) {
    return Status::Error(
        Code::kTooManyUndeliveredKeys,
        where + ".keysIfUndelivered has " +
            std::to_string(enqueue.keys_if_undelivered.size()) +
            " keys; at most " + std::to_string(kMaxUndeliveredKeys) +
            " are allowed");
  }
  return Status::OK();
}

}  // namespace kv
