// The SQL schema and every statement the core runs, shared by all storage
// backends (native SQLite and the Durable Object's ctx.storage.sql), so both
// execute exactly the same SQL.

#ifndef KV_WORKER_SCHEMA_H_
#define KV_WORKER_SCHEMA_H_

#include <cstdint>
#include <string_view>

namespace kv {

enum class Statement : int32_t {
  // Schema (idempotent), run by Store::Migrate.
  kCreateEntries,
  kCreateMeta,
  // ?1 key -> (value, version)
  kSelectEntry,
  // ?1 key -> (version)
  kSelectVersion,
  // ?1 key, ?2 value, ?3 version
  kUpsertEntry,
  // ?1 key -> one row when an entry was deleted
  kDeleteEntry,
  // ?1 name -> (value)
  kSelectMeta,
  // ?1 name, ?2 value
  kUpsertMeta,
  kCount,  // not a statement: how many there are
};

// The SQL text of `statement`.
std::string_view StatementSql(Statement statement);

}  // namespace kv

#endif  // KV_WORKER_SCHEMA_H_
