#include "schema.h"

namespace kv {

std::string_view StatementSql(Statement statement) {
  switch (statement) {
    case Statement::kCreateEntries:
      // key: docs/key-encoding.md; value: compact UTF-8 JSON as a blob (no
      // text conversion on either side); version: the commit number.
      return "CREATE TABLE IF NOT EXISTS kv_entries ("
             "key BLOB PRIMARY KEY NOT NULL, value BLOB NOT NULL, "
             "version INTEGER NOT NULL) WITHOUT ROWID";
    case Statement::kCreateMeta:
      return "CREATE TABLE IF NOT EXISTS kv_meta ("
             "name BLOB PRIMARY KEY NOT NULL, value) WITHOUT ROWID";
    case Statement::kSelectEntry:
      return "SELECT value, version FROM kv_entries WHERE key = ?1";
    case Statement::kSelectVersion:
      return "SELECT version FROM kv_entries WHERE key = ?1";
    case Statement::kUpsertEntry:
      return "INSERT INTO kv_entries (key, value, version) VALUES (?1, ?2, ?3) "
             "ON CONFLICT (key) DO UPDATE SET value = excluded.value, "
             "version = excluded.version";
    case Statement::kDeleteEntry:
      return "DELETE FROM kv_entries WHERE key = ?1 RETURNING 1";
    case Statement::kSelectMeta:
      return "SELECT value FROM kv_meta WHERE name = ?1";
    case Statement::kUpsertMeta:
      return "INSERT INTO kv_meta (name, value) VALUES (?1, ?2) "
             "ON CONFLICT (name) DO UPDATE SET value = excluded.value";
    case Statement::kCount:
      break;
  }
  return {};
}

}  // namespace kv
