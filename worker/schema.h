// The SQL schema and every statement the core runs, shared by all storage
// backends (native SQLite and the Durable Object's ctx.storage.sql), so both
// execute exactly the same SQL.

#ifndef KV_WORKER_SCHEMA_H_
#define KV_WORKER_SCHEMA_H_

#include <cstdint>
#include <string_view>

namespace kv {

// Parameters are ?1..?N in the order given; results in the order listed.
enum class Statement : int32_t {
  // Schema (idempotent), run by Store::Migrate.
  kCreateEntries,
  kCreateExpiryIndex,
  kCreateState,
  kInsertState,
  // -> (credential, version, ops_limit, storage_limit, usage_month,
  //     usage_ops, storage_bytes, lifecycle, credential_generation)
  kSelectState,
  // credential, version, ops_limit, storage_limit, usage_month, usage_ops,
  // storage_bytes, lifecycle, credential_generation
  kUpdateState,
  // key, now -> (value, version, expires_at) of a live entry
  kSelectEntry,
  // key, now -> (version) of a live entry
  kSelectVersion,
  // key -> (stored bytes of the value), live or expired
  kSelectValueSize,
  // key, now -> (stored bytes of the value, the value if live else NULL)
  kSelectForCounter,
  // key, value, version, expires_at
  kUpsertEntry,
  // key -> (expires_at) when a row was deleted
  kDeleteEntry,
  // lower, upper, now, keys_only, limit -> (key, value or NULL when
  // keys_only, version, expires_at) of the first `limit` live entries with
  // lower <= key < upper, ascending / descending
  kListForward,
  kListReverse,
  // lower, upper, now, limit -> (count, last key or NULL) of the first
  // `limit` live entries with lower <= key < upper
  kCountEntries,
  // now, limit -> (bytes freed) for each expired row deleted, at most
  // `limit` of them
  kPurgeExpired,
  // -> (earliest expires_at, or NULL)
  kNextExpiry,
  // Outcomes of idempotent writes (Store::RecallOutcome): schema, then
  // key, oldest created_at kept -> (digest, status, response);
  // key, digest, status, response, created_at -> (seq);
  // created_at cutoff (deletes rows at or before it);
  // seq cutoff (deletes rows at or before it).
  kCreateOutcomes,
  kCreateOutcomesByAge,
  kSelectOutcome,
  kInsertOutcome,
  kPruneOutcomesByAge,
  kPruneOutcomesBySeq,
  // Daily usage (Store::Daily): schema, then
  // day, month, month_ops, storage_bytes -> (day) when the day's row is new;
  // day cutoff (deletes rows before it);
  // first day -> (day, month, month_ops, storage_bytes) ascending.
  kCreateUsageDaily,
  kInsertUsageDay,
  kPruneUsageDaily,
  kSelectUsageDaily,
  // The queue (queue.cc): schema, then
  // ready_at, enqueued_at, value, undelivered, backoff, bytes;
  kCreateQueue,
  kCreateQueueByReady,
  kCreateQueueCounters,
  kInsertQueueCounters,
  kInsertMessage,
  // -> (depth, delivered, retried, dead_lettered)
  kSelectQueueCounters,
  // depth, delivered, retried, dead_lettered: each added to its count
  kAddQueueCounters,
  // now, limit -> (id) of leased messages past their deadline, oldest first
  kSelectExpiredLeases,
  // now, limit -> (id) of unleased messages due, in delivery order
  kSelectDueMessages,
  // id, deadline -> (delivery, failures, value): leases the message
  kLeaseMessage,
  // id -> (delivery, leased, failures, backoff, undelivered, value, bytes)
  kSelectMessage,
  // id
  kDeleteMessage,
  // id, ready_at: a failed delivery, due again at ready_at
  kRetryMessage,
  // now -> (earliest ready_at after now, or NULL)
  kNextQueueWake,
  // now -> (ready, delayed, in flight, earliest enqueued_at or NULL)
  kQueueStats,
  kNumStatements,  // not a statement: how many there are
};

// The SQL text of `statement`.
std::string_view StatementSql(Statement statement);

}  // namespace kv

#endif  // KV_WORKER_SCHEMA_H_
