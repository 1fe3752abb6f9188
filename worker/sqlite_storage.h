// SqliteStorage: Storage on native SQLite (libsqlite3), for tests, fuzzing,
// benchmarks and tools. It runs the same statements (schema.h) as the
// Durable Object backend; ":memory:" gives the in-memory twin.

#ifndef KV_WORKER_SQLITE_STORAGE_H_
#define KV_WORKER_SQLITE_STORAGE_H_

#include <array>
#include <functional>
#include <memory>
#include <string>

#include "storage.h"

struct sqlite3;
struct sqlite3_stmt;

namespace kv {

class SqliteStorage : public Storage {
 public:
  // Opens or creates the database at `path`.
  static Status Open(const std::string& path,
                     std::unique_ptr<SqliteStorage>* storage);
  ~SqliteStorage() override;

  Status Execute(Statement statement, const std::vector<SqlValue>& params,
                 Rows* rows) override;

  // Runs `body` in one transaction, as the Durable Object host does:
  // committed when `body` returns true, rolled back when it returns false.
  Status Transaction(const std::function<bool()>& body);

 private:
  explicit SqliteStorage(sqlite3* db) : db_(db) {}
  Status Exec(const char* sql);
  Status Error(const char* what);

  sqlite3* db_;
  std::array<sqlite3_stmt*, static_cast<size_t>(Statement::kNumStatements)>
      prepared_{};
};

}  // namespace kv

#endif  // KV_WORKER_SQLITE_STORAGE_H_
