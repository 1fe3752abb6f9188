#include "sqlite_storage.h"

#include <sqlite3.h>

namespace kv {

Status SqliteStorage::Open(const std::string& path,
                           std::unique_ptr<SqliteStorage>* storage) {
  sqlite3* db = nullptr;
  if (sqlite3_open(path.c_str(), &db) != SQLITE_OK) {
    Status status =
        Status::Error(Code::kStorageError, std::string("cannot open ") + path +
                                               ": " + sqlite3_errmsg(db));
    sqlite3_close(db);
    return status;
  }
  storage->reset(new SqliteStorage(db));
  return Status::OK();
}

SqliteStorage::~SqliteStorage() {
  for (sqlite3_stmt* statement : prepared_) sqlite3_finalize(statement);
  sqlite3_close(db_);
}

Status SqliteStorage::Error(const char* what) {
  return Status::Error(Code::kStorageError,
                       std::string(what) + ": " + sqlite3_errmsg(db_));
}

Status SqliteStorage::Exec(const char* sql) {
  if (sqlite3_exec(db_, sql, nullptr, nullptr, nullptr) != SQLITE_OK) {
    return Error(sql);
  }
  return Status::OK();
}

Status SqliteStorage::Transaction(const std::function<bool()>& body) {
  KV_RETURN_IF_ERROR(Exec("BEGIN IMMEDIATE"));
  return Exec(body() ? "COMMIT" : "ROLLBACK");
}

Status SqliteStorage::Execute(Statement statement,
                              const std::vector<SqlValue>& params, Rows* rows) {
  sqlite3_stmt*& prepared = prepared_[static_cast<size_t>(statement)];
  if (prepared == nullptr) {
    const std::string_view sql = StatementSql(statement);
    if (sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()),
                           SQLITE_PREPARE_PERSISTENT, &prepared,
                           nullptr) != SQLITE_OK) {
      return Error("prepare");
    }
  }
  sqlite3_reset(prepared);
  int index = 1;
  for (const SqlValue& param : params) {
    int rc = SQLITE_OK;
    switch (param.type) {
      case SqlValue::Type::kNull:
        rc = sqlite3_bind_null(prepared, index);
        break;
      case SqlValue::Type::kInteger:
        rc = sqlite3_bind_int64(prepared, index, param.integer);
        break;
      case SqlValue::Type::kBlob:
        rc = sqlite3_bind_blob64(prepared, index, param.blob.data(),
                                 param.blob.size(), SQLITE_STATIC);
        break;
    }
    if (rc != SQLITE_OK) return Error("bind");
    ++index;
  }
  RowsWriter writer;
  int rc;
  while ((rc = sqlite3_step(prepared)) == SQLITE_ROW) {
    const int columns = sqlite3_column_count(prepared);
    for (int column = 0; column < columns; ++column) {
      switch (sqlite3_column_type(prepared, column)) {
        case SQLITE_NULL:
          writer.Add(SqlValue::Null());
          break;
        case SQLITE_INTEGER:
          writer.Add(SqlValue::Integer(sqlite3_column_int64(prepared, column)));
          break;
        default: {  // BLOB and TEXT both travel as bytes
          const void* data = sqlite3_column_blob(prepared, column);
          const int size = sqlite3_column_bytes(prepared, column);
          writer.Add(SqlValue::Blob(
              std::string_view(static_cast<const char*>(data), size)));
        }
      }
    }
    writer.EndRow(columns);
  }
  sqlite3_clear_bindings(prepared);
  if (rc != SQLITE_DONE) {
    Status status = Error("step");
    sqlite3_reset(prepared);
    return status;
  }
  sqlite3_reset(prepared);
  return writer.Finish(rows);
}

}  // namespace kv
