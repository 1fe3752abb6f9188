#include "schema.h"

namespace kv {

// At most ?5 live entries of [?1, ?2) in key order, with their values
// unless ?4 (keys only). Store::List asks for as many as its page can hold
// whatever their sizes, so each row is read once and no value past the
// page's byte bound is read at all.
#define KV_LIST_SQL(order)                                       \
  "SELECT key, CASE WHEN ?4 THEN NULL ELSE value END, version, " \
  "expires_at FROM kv_entries WHERE key >= ?1 AND key < ?2 AND " \
  "(expires_at IS NULL OR expires_at > ?3) ORDER BY key" order " LIMIT ?5"

std::string_view StatementSql(Statement statement) {
  switch (statement) {
    case Statement::kCreateEntries:
      // key: docs/key-encoding.md; value: compact UTF-8 JSON or a counter
      // (counter.h) as a blob, so no side converts text; version: the
      // commit number;
      // expires_at: milliseconds since the epoch, or NULL.
      return "CREATE TABLE IF NOT EXISTS kv_entries ("
             "key BLOB PRIMARY KEY NOT NULL, value BLOB NOT NULL, "
             "version INTEGER NOT NULL, expires_at INTEGER) WITHOUT ROWID";
    case Statement::kCreateExpiryIndex:
      return "CREATE INDEX IF NOT EXISTS kv_entries_by_expiry "
             "ON kv_entries (expires_at) WHERE expires_at IS NOT NULL";
    case Statement::kCreateState:
      // One row: the store's credential and its generation (bumped by each
      // rotation), lifecycle (0: never created, 1: live, 2: deleted),
      // commit counter, limits (NULL: unlimited) and usage. Read once and
      // written at most once per request.
      return "CREATE TABLE IF NOT EXISTS kv_state ("
             "id INTEGER PRIMARY KEY CHECK (id = 0), "
             "credential BLOB NOT NULL DEFAULT x'', "
             "version INTEGER NOT NULL DEFAULT 0, "
             "ops_limit INTEGER, storage_limit INTEGER, "
             "usage_month INTEGER NOT NULL DEFAULT 0, "
             "usage_ops INTEGER NOT NULL DEFAULT 0, "
             "storage_bytes INTEGER NOT NULL DEFAULT 0, "
             "lifecycle INTEGER NOT NULL DEFAULT 0, "
             "credential_generation INTEGER NOT NULL DEFAULT 0)";
    case Statement::kInsertState:
      return "INSERT INTO kv_state (id) VALUES (0) ON CONFLICT DO NOTHING";
    case Statement::kSelectState:
      return "SELECT credential, version, ops_limit, storage_limit, "
             "usage_month, usage_ops, storage_bytes, lifecycle, "
             "credential_generation FROM kv_state WHERE id = 0";
    case Statement::kUpdateState:
      return "UPDATE kv_state SET credential = ?1, version = ?2, "
             "ops_limit = ?3, storage_limit = ?4, usage_month = ?5, "
             "usage_ops = ?6, storage_bytes = ?7, lifecycle = ?8, "
             "credential_generation = ?9 WHERE id = 0";
    case Statement::kSelectEntry:
      return "SELECT value, version, expires_at FROM kv_entries "
             "WHERE key = ?1 AND (expires_at IS NULL OR expires_at > ?2)";
    case Statement::kSelectVersion:
      return "SELECT version FROM kv_entries "
             "WHERE key = ?1 AND (expires_at IS NULL OR expires_at > ?2)";
    case Statement::kSelectValueSize:
      return "SELECT length(value) FROM kv_entries WHERE key = ?1";
    case Statement::kSelectForCounter:
      return "SELECT length(value), CASE WHEN expires_at IS NULL OR "
             "expires_at > ?2 THEN value END FROM kv_entries WHERE key = ?1";
    case Statement::kUpsertEntry:
      return "INSERT INTO kv_entries (key, value, version, expires_at) "
             "VALUES (?1, ?2, ?3, ?4) ON CONFLICT (key) DO UPDATE SET "
             "value = excluded.value, version = excluded.version, "
             "expires_at = excluded.expires_at";
    case Statement::kDeleteEntry:
      return "DELETE FROM kv_entries WHERE key = ?1 RETURNING expires_at";
    case Statement::kListForward:
      return KV_LIST_SQL("");
    case Statement::kListReverse:
      return KV_LIST_SQL(" DESC");
    case Statement::kCountEntries:
      return "SELECT count(*), max(key) FROM (SELECT key FROM kv_entries "
             "WHERE key >= ?1 AND key < ?2 "
             "AND (expires_at IS NULL OR expires_at > ?3) "
             "ORDER BY key LIMIT ?4)";
    case Statement::kPurgeExpired:
      return "DELETE FROM kv_entries WHERE key IN (SELECT key FROM "
             "kv_entries WHERE expires_at <= ?1 ORDER BY expires_at "
             "LIMIT ?2) RETURNING length(key) + length(value)";
    case Statement::kNextExpiry:
      return "SELECT min(expires_at) FROM kv_entries "
             "WHERE expires_at IS NOT NULL";
    case Statement::kCreateOutcomes:
      // key: the client's Idempotency-Key; digest: of the operation and
      // body (Store::RecallOutcome); status and response: what it was
      // answered. seq grows by one per row, so the newest
      // kMaxIdempotencyKeys rows are those past the newest seq minus that.
      return "CREATE TABLE IF NOT EXISTS kv_idempotency ("
             "seq INTEGER PRIMARY KEY, key BLOB NOT NULL UNIQUE, "
             "digest BLOB NOT NULL, status INTEGER NOT NULL, "
             "response BLOB NOT NULL, created_at INTEGER NOT NULL)";
    case Statement::kCreateOutcomesByAge:
      return "CREATE INDEX IF NOT EXISTS kv_idempotency_by_age "
             "ON kv_idempotency (created_at)";
    case Statement::kSelectOutcome:
      return "SELECT digest, status, response FROM kv_idempotency "
             "WHERE key = ?1 AND created_at > ?2";
    case Statement::kInsertOutcome:
      return "INSERT INTO kv_idempotency "
             "(key, digest, status, response, created_at) "
             "VALUES (?1, ?2, ?3, ?4, ?5) RETURNING seq";
    case Statement::kPruneOutcomesByAge:
      return "DELETE FROM kv_idempotency WHERE created_at <= ?1";
    case Statement::kPruneOutcomesBySeq:
      return "DELETE FROM kv_idempotency WHERE seq <= ?1";
    case Statement::kCreateUsageDaily:
      // day: days since 1970-01-01 (UTC); month (YYYYMM), month_ops and
      // storage_bytes: the store's usage as the day's first state write
      // found it, that is, as the last active day before it ended. Written
      // once a day: a day's other writes only read its row.
      return "CREATE TABLE IF NOT EXISTS kv_usage_daily ("
             "day INTEGER PRIMARY KEY, month INTEGER NOT NULL, "
             "month_ops INTEGER NOT NULL, storage_bytes INTEGER NOT NULL)";
    case Statement::kInsertUsageDay:
      return "INSERT INTO kv_usage_daily (day, month, month_ops, "
             "storage_bytes) VALUES (?1, ?2, ?3, ?4) "
             "ON CONFLICT (day) DO NOTHING RETURNING day";
    case Statement::kPruneUsageDaily:
      return "DELETE FROM kv_usage_daily WHERE day < ?1";
    case Statement::kSelectUsageDaily:
      return "SELECT day, month, month_ops, storage_bytes FROM kv_usage_daily "
             "WHERE day >= ?1 ORDER BY day";
    case Statement::kCreateQueue:
      // id: enqueue order, never reused (AUTOINCREMENT), so a late settle
      // of an acknowledged message can never name a newer one; ready_at: when
      // it is next due or, while leased (leased = 1), its lease's deadline, so
      // that one index finds both; value: stored form; undelivered and backoff:
      // queue.cc's grammar; failures: failed deliveries so far; delivery:
      // deliveries started; bytes: what it counts toward the store's storage.
      return "CREATE TABLE IF NOT EXISTS kv_queue ("
             "id INTEGER PRIMARY KEY AUTOINCREMENT, ready_at INTEGER NOT NULL, "
             "enqueued_at INTEGER NOT NULL, value BLOB NOT NULL, "
             "undelivered BLOB NOT NULL, backoff BLOB NOT NULL, "
             "failures INTEGER NOT NULL DEFAULT 0, "
             "delivery INTEGER NOT NULL DEFAULT 0, "
             "leased INTEGER NOT NULL DEFAULT 0, bytes INTEGER NOT NULL)";
    case Statement::kCreateQueueByReady:
      return "CREATE INDEX IF NOT EXISTS kv_queue_by_ready "
             "ON kv_queue (leased, ready_at, id)";
    case Statement::kCreateQueueCounters:
      // One row: messages held, and counts since the store was created.
      return "CREATE TABLE IF NOT EXISTS kv_queue_counters ("
             "id INTEGER PRIMARY KEY CHECK (id = 0), "
             "depth INTEGER NOT NULL DEFAULT 0, "
             "delivered INTEGER NOT NULL DEFAULT 0, "
             "retried INTEGER NOT NULL DEFAULT 0, "
             "dead_lettered INTEGER NOT NULL DEFAULT 0)";
    case Statement::kInsertQueueCounters:
      return "INSERT INTO kv_queue_counters (id) VALUES (0) "
             "ON CONFLICT DO NOTHING";
    case Statement::kInsertMessage:
      return "INSERT INTO kv_queue (ready_at, enqueued_at, value, "
             "undelivered, backoff, bytes) VALUES (?1, ?2, ?3, ?4, ?5, ?6)";
    case Statement::kSelectQueueCounters:
      return "SELECT depth, delivered, retried, dead_lettered "
             "FROM kv_queue_counters WHERE id = 0";
    case Statement::kAddQueueCounters:
      return "UPDATE kv_queue_counters SET depth = depth + ?1, "
             "delivered = delivered + ?2, retried = retried + ?3, "
             "dead_lettered = dead_lettered + ?4 WHERE id = 0";
    case Statement::kSelectExpiredLeases:
      return "SELECT id FROM kv_queue WHERE leased = 1 AND ready_at <= ?1 "
             "ORDER BY ready_at, id LIMIT ?2";
    case Statement::kSelectDueMessages:
      return "SELECT id FROM kv_queue WHERE leased = 0 AND ready_at <= ?1 "
             "ORDER BY ready_at, id LIMIT ?2";
    case Statement::kLeaseMessage:
      return "UPDATE kv_queue SET leased = 1, ready_at = ?2, "
             "delivery = delivery + 1 WHERE id = ?1 "
             "RETURNING delivery, failures, value";
    case Statement::kSelectMessage:
      return "SELECT delivery, leased, failures, backoff, undelivered, value, "
             "bytes FROM kv_queue WHERE id = ?1";
    case Statement::kDeleteMessage:
      return "DELETE FROM kv_queue WHERE id = ?1";
    case Statement::kRetryMessage:
      return "UPDATE kv_queue SET leased = 0, ready_at = ?2, "
             "failures = failures + 1 WHERE id = ?1";
    case Statement::kNextQueueWake:
      // Each half is one step of the index.
      return "SELECT min(t) FROM (SELECT min(ready_at) AS t FROM kv_queue "
             "WHERE leased = 0 AND ready_at > ?1 UNION ALL "
             "SELECT min(ready_at) FROM kv_queue "
             "WHERE leased = 1 AND ready_at > ?1)";
    case Statement::kQueueStats:
      return "SELECT coalesce(sum(leased = 0 AND ready_at <= ?1), 0), "
             "coalesce(sum(leased = 0 AND ready_at > ?1), 0), "
             "coalesce(sum(leased), 0), min(enqueued_at) FROM kv_queue";
    case Statement::kNumStatements:
      break;
  }
  return {};
}

#undef KV_LIST_SQL

}  // namespace kv
