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
    case Statement::kNumStatements:
      break;
  }
  return {};
}

#undef KV_LIST_SQL

}  // namespace kv
