// Storage: the one narrow interface between the core and durable storage.
//
// The core speaks the SQL of schema.h through Execute and nothing else.
// Implementations: SqliteStorage (native libsqlite3, for tests and tools)
// and HostStorage (the wasm build: calls the JS shim, which runs the
// statement on the Durable Object's ctx.storage.sql).
//
// Transactions are the caller's: every request runs inside one transaction
// that the host opens, and rolls back when the core reports kStorageError.

#ifndef KV_WORKER_STORAGE_H_
#define KV_WORKER_STORAGE_H_

#include <vector>

#include "schema.h"
#include "sql_wire.h"
#include "status.h"

namespace kv {

class Storage {
 public:
  virtual ~Storage() = default;

  // Runs `statement` with `params` bound to ?1..?N. On success *rows holds
  // its result rows; on failure returns kStorageError.
  virtual Status Execute(Statement statement,
                         const std::vector<SqlValue>& params, Rows* rows) = 0;
};

}  // namespace kv

#endif  // KV_WORKER_STORAGE_H_
