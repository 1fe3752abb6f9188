// SQL values and result rows as they cross the storage boundary.
//
// Both storage backends hand result rows to the core in one byte format
// (grammar in sql_wire.cc), so the wasm host and native SQLite share one
// parser; the wasm host also receives statement parameters in it.

#ifndef KV_WORKER_SQL_WIRE_H_
#define KV_WORKER_SQL_WIRE_H_

#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "status.h"

namespace kv {

// One SQL value: NULL, a 64-bit integer or a byte string. A blob borrows its
// bytes from whoever made the value.
struct SqlValue {
  enum class Type : uint8_t { kNull = 0, kInteger = 1, kBlob = 2 };

  static SqlValue Null() { return {Type::kNull, 0, {}}; }
  static SqlValue Integer(int64_t value) { return {Type::kInteger, value, {}}; }
  static SqlValue Blob(std::string_view bytes) {
    return {Type::kBlob, 0, bytes};
  }

  Type type;
  int64_t integer;
  std::string_view blob;
};

// Appends the encoding of `values` (statement parameters) to *out.
void EncodeSqlValues(const std::vector<SqlValue>& values, std::string* out);

// The result rows of one statement, parsed from a malloc'd buffer it owns.
class Rows {
 public:
  Rows() = default;
  Rows(Rows&&) = default;
  Rows& operator=(Rows&&) = default;

  // Takes ownership of `data` (allocated with malloc, may be null when
  // `size` is 0) and parses it. Fails with kStorageError on a bad encoding.
  Status Adopt(uint8_t* data, size_t size);
  // Parses a copy of `encoding`.
  Status AdoptCopy(std::string_view encoding);

  size_t size() const { return columns_ == 0 ? 0 : values_.size() / columns_; }
  bool empty() const { return values_.empty(); }
  const SqlValue& at(size_t row, size_t column) const {
    return values_[row * columns_ + column];
  }

 private:
  struct Free {
    void operator()(uint8_t* p) const { std::free(p); }
  };
  std::unique_ptr<uint8_t, Free> data_;
  size_t columns_ = 0;
  std::vector<SqlValue> values_;
};

// Builds the encoding of result rows, for a backend that reads rows one
// value at a time (native SQLite).
class RowsWriter {
 public:
  RowsWriter();
  void Add(const SqlValue& value);
  void EndRow(size_t columns);
  // Hands the rows to *rows; the writer is then empty.
  Status Finish(Rows* rows);
  // The encoding of the rows; the writer is then empty.
  std::string TakeEncoding();

 private:
  std::string buffer_;
  uint32_t rows_ = 0;
  uint32_t columns_ = 0;
};

}  // namespace kv

#endif  // KV_WORKER_SQL_WIRE_H_
