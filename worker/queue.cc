// The queue: a layer over kv_queue's rows and Store's commits.
//
// Stored forms (queue.h):
//   undelivered := { key_length:u16be key }*
//   backoff     := { interval_ms:u32be }*
//
// A message's row moves between three states, all found through one index
// on (leased, ready_at, id):
//   waiting  leased = 0, ready_at > now    (a delay, or a retry's backoff)
//   ready    leased = 0, ready_at <= now   (delivered in ready_at, id order)
//   leased   leased = 1, ready_at = the lease's deadline
// A lease past its deadline is a failed delivery, as a handler that threw.

#include "queue.h"

#include "kv_limits.h"
#include "store.h"

namespace kv {
namespace {

void AppendBigEndian(uint64_t value, int bytes, std::string* out) {
  for (int shift = (bytes - 1) * 8; shift >= 0; shift -= 8) {
    out->push_back(static_cast<char>(value >> shift));
  }
}

uint64_t ReadBigEndian(std::string_view bytes) {
  uint64_t value = 0;
  for (unsigned char byte : bytes) value = value << 8 | byte;
  return value;
}

Status CorruptMessage(int64_t id) {
  return Status::Error(
      Code::kStorageError,
      "queue message " + std::to_string(id) + " has a malformed stored form");
}

}  // namespace

std::string EncodeUndelivered(const std::vector<std::string>& keys) {
  std::string out;
  for (const std::string& key : keys) {
    AppendBigEndian(key.size(), 2, &out);
    out.append(key);
  }
  return out;
}

bool DecodeUndelivered(std::string_view bytes, std::vector<std::string>* keys) {
  keys->clear();
  while (!bytes.empty()) {
    if (bytes.size() < 2) return false;
    const size_t length = ReadBigEndian(bytes.substr(0, 2));
    if (bytes.size() - 2 < length) return false;
    keys->emplace_back(bytes.substr(2, length));
    bytes.remove_prefix(2 + length);
  }
  return true;
}

std::string EncodeBackoff(const std::vector<uint32_t>& schedule) {
  std::string out;
  for (uint32_t interval : schedule) AppendBigEndian(interval, 4, &out);
  return out;
}

bool DecodeBackoff(std::string_view bytes, std::vector<uint32_t>* schedule) {
  if (bytes.size() % 4 != 0) return false;
  schedule->clear();
  for (size_t i = 0; i < bytes.size(); i += 4) {
    schedule->push_back(
        static_cast<uint32_t>(ReadBigEndian(bytes.substr(i, 4))));
  }
  return true;
}

uint64_t MessageBytes(const Enqueue& enqueue) {
  uint64_t bytes = enqueue.value.size() + 4 * enqueue.backoff_schedule.size();
  for (const std::string& key : enqueue.keys_if_undelivered) {
    bytes += 2 + key.size();
  }
  return bytes;
}

Status Store::AddQueueCounters(int64_t depth, int64_t delivered,
                               int64_t retried, int64_t dead_lettered) {
  Rows rows;
  return storage_->Execute(
      Statement::kAddQueueCounters,
      {SqlValue::Integer(depth), SqlValue::Integer(delivered),
       SqlValue::Integer(retried), SqlValue::Integer(dead_lettered)},
      &rows);
}

Status Store::WriteEnqueues(const std::vector<Enqueue>& enqueues) {
  if (enqueues.empty()) return Status::OK();
  Rows rows;
  KV_RETURN_IF_ERROR(
      storage_->Execute(Statement::kSelectQueueCounters, {}, &rows));
  const uint64_t depth = static_cast<uint64_t>(rows.at(0, 0).integer);
  if (depth + enqueues.size() > kMaxQueuedMessages) {
    return Status::Error(Code::kQueueFull,
                         "the store's queue holds " + std::to_string(depth) +
                             " messages; with " +
                             std::to_string(enqueues.size()) +
                             " more it would pass its limit of " +
                             std::to_string(kMaxQueuedMessages) +
                             "; listen to the queue (or wait) until it drains");
  }
  for (const Enqueue& enqueue : enqueues) {
    KV_RETURN_IF_ERROR(storage_->Execute(
        Statement::kInsertMessage,
        {SqlValue::Integer(now_ms_ + enqueue.delay_ms),
         SqlValue::Integer(now_ms_), SqlValue::Blob(enqueue.value),
         SqlValue::Blob(EncodeUndelivered(enqueue.keys_if_undelivered)),
         SqlValue::Blob(EncodeBackoff(enqueue.backoff_schedule)),
         SqlValue::Integer(static_cast<int64_t>(MessageBytes(enqueue)))},
        &rows));
  }
  return AddQueueCounters(static_cast<int64_t>(enqueues.size()), 0, 0, 0);
}

Status Store::FailDelivery(int64_t id, const Rows& message,
                           Settlement* settlement) {
  const int64_t failures = message.at(0, 2).integer;
  std::vector<uint32_t> schedule;
  if (!DecodeBackoff(message.at(0, 3).blob, &schedule)) {
    return CorruptMessage(id);
  }
  Rows rows;
  if (static_cast<uint64_t>(failures) < schedule.size()) {
    *settlement = Settlement::kRetrying;
    KV_RETURN_IF_ERROR(storage_->Execute(
        Statement::kRetryMessage,
        {SqlValue::Integer(id),
         SqlValue::Integer(now_ms_ + schedule[static_cast<size_t>(failures)])},
        &rows));
    return AddQueueCounters(0, 0, 1, 0);
  }
  // Retries spent: its dead letter, one commit of every key.
  *settlement = Settlement::kDeadLettered;
  std::vector<std::string> keys;
  if (!DecodeUndelivered(message.at(0, 4).blob, &keys)) {
    return CorruptMessage(id);
  }
  if (!keys.empty()) {
    CommitRequest letter;
    for (std::string& key : keys) {
      letter.mutations.push_back(Mutation{Mutation::Type::kSet, std::move(key),
                                          std::string(message.at(0, 5).blob),
                                          std::nullopt});
    }
    CommitResult result;
    KV_RETURN_IF_ERROR(CommitWith(letter, /*prepaid=*/true, &result));
  }
  KV_RETURN_IF_ERROR(storage_->Execute(Statement::kDeleteMessage,
                                       {SqlValue::Integer(id)}, &rows));
  state_.storage_bytes -= static_cast<uint64_t>(message.at(0, 6).integer);
  dirty_ = true;
  return AddQueueCounters(-1, 0, 0, 1);
}

Status Store::NextQueueWake(std::optional<int64_t>* next_wake_ms) {
  Rows rows;
  KV_RETURN_IF_ERROR(storage_->Execute(Statement::kNextQueueWake,
                                       {SqlValue::Integer(now_ms_)}, &rows));
  next_wake_ms->reset();
  if (rows.at(0, 0).type != SqlValue::Type::kNull) {
    *next_wake_ms = rows.at(0, 0).integer;
  }
  return Status::OK();
}

Status Store::LeaseMessages(size_t max, int64_t visibility_ms,
                            LeaseResult* result) {
  *result = LeaseResult();
  KV_RETURN_IF_ERROR(RequireLive());
  Rows ids;
  Rows message;
  KV_RETURN_IF_ERROR(storage_->Execute(
      Statement::kSelectExpiredLeases,
      {SqlValue::Integer(now_ms_),
       SqlValue::Integer(static_cast<int64_t>(kLeaseExpiryBatch))},
      &ids));
  for (size_t i = 0; i < ids.size(); ++i) {
    const int64_t id = ids.at(i, 0).integer;
    KV_RETURN_IF_ERROR(storage_->Execute(Statement::kSelectMessage,
                                         {SqlValue::Integer(id)}, &message));
    Settlement settlement;
    KV_RETURN_IF_ERROR(FailDelivery(id, message, &settlement));
    if (settlement == Settlement::kDeadLettered) ++result->dead_lettered;
  }
  if (max > 0) {
    KV_RETURN_IF_ERROR(
        storage_->Execute(Statement::kSelectDueMessages,
                          {SqlValue::Integer(now_ms_),
                           SqlValue::Integer(static_cast<int64_t>(max))},
                          &ids));
    for (size_t i = 0; i < ids.size(); ++i) {
      const int64_t id = ids.at(i, 0).integer;
      KV_RETURN_IF_ERROR(storage_->Execute(
          Statement::kLeaseMessage,
          {SqlValue::Integer(id), SqlValue::Integer(now_ms_ + visibility_ms)},
          &message));
      result->messages.push_back(
          LeasedMessage{id, message.at(0, 0).integer, message.at(0, 1).integer,
                        std::string(message.at(0, 2).blob)});
    }
  }
  return NextQueueWake(&result->next_wake_ms);
}

Status Store::SettleMessage(int64_t id, int64_t delivery, bool ok,
                            Settlement* settlement,
                            std::optional<int64_t>* next_wake_ms) {
  KV_RETURN_IF_ERROR(RequireLive());
  Rows message;
  KV_RETURN_IF_ERROR(storage_->Execute(Statement::kSelectMessage,
                                       {SqlValue::Integer(id)}, &message));
  // Only the current delivery, while its lease holds, settles the message:
  // a late answer of a delivery that timed out changes nothing.
  if (message.empty() || message.at(0, 0).integer != delivery ||
      message.at(0, 1).integer != 1) {
    *settlement = Settlement::kStale;
    return NextQueueWake(next_wake_ms);
  }
  if (ok) {
    *settlement = Settlement::kAcked;
    Rows rows;
    KV_RETURN_IF_ERROR(storage_->Execute(Statement::kDeleteMessage,
                                         {SqlValue::Integer(id)}, &rows));
    state_.storage_bytes -= static_cast<uint64_t>(message.at(0, 6).integer);
    dirty_ = true;
    KV_RETURN_IF_ERROR(AddQueueCounters(-1, 1, 0, 0));
  } else {
    KV_RETURN_IF_ERROR(FailDelivery(id, message, settlement));
  }
  return NextQueueWake(next_wake_ms);
}

Status Store::ReadQueueStats(QueueStats* stats) {
  Rows rows;
  KV_RETURN_IF_ERROR(
      storage_->Execute(Statement::kSelectQueueCounters, {}, &rows));
  stats->depth = static_cast<uint64_t>(rows.at(0, 0).integer);
  stats->delivered = static_cast<uint64_t>(rows.at(0, 1).integer);
  stats->retried = static_cast<uint64_t>(rows.at(0, 2).integer);
  stats->dead_lettered = static_cast<uint64_t>(rows.at(0, 3).integer);
  KV_RETURN_IF_ERROR(storage_->Execute(Statement::kQueueStats,
                                       {SqlValue::Integer(now_ms_)}, &rows));
  stats->ready = static_cast<uint64_t>(rows.at(0, 0).integer);
  stats->delayed = static_cast<uint64_t>(rows.at(0, 1).integer);
  stats->in_flight = static_cast<uint64_t>(rows.at(0, 2).integer);
  stats->oldest_enqueued_at_ms.reset();
  if (rows.at(0, 3).type != SqlValue::Type::kNull) {
    stats->oldest_enqueued_at_ms = rows.at(0, 3).integer;
  }
  return Status::OK();
}

}  // namespace kv
