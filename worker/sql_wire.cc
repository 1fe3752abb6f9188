// Grammar (all integers little-endian):
//
//   params  := count:u32 value{count}
//   rows    := row_count:u32 column_count:u32 value{row_count * column_count}
//   value   := 0x00                     NULL
//            | 0x01 integer:i64         INTEGER
//            | 0x02 length:u32 byte{length}   BLOB (TEXT is sent as BLOB)

#include "sql_wire.h"

#include <cstring>
#include <utility>

namespace kv {
namespace {

void AppendU32(uint32_t v, std::string* out) {
  for (int i = 0; i < 4; ++i) out->push_back(static_cast<char>(v >> (8 * i)));
}

uint64_t ReadLittleEndian(const uint8_t* p, int bytes) {
  uint64_t v = 0;
  for (int i = bytes - 1; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

void AppendEncoded(const SqlValue& value, std::string* out) {
  out->push_back(static_cast<char>(value.type));
  switch (value.type) {
    case SqlValue::Type::kNull:
      break;
    case SqlValue::Type::kInteger:
      for (int i = 0; i < 8; ++i) {
        out->push_back(
            static_cast<char>(static_cast<uint64_t>(value.integer) >> (8 * i)));
      }
      break;
    case SqlValue::Type::kBlob:
      AppendU32(static_cast<uint32_t>(value.blob.size()), out);
      out->append(value.blob);
      break;
  }
}

}  // namespace

void EncodeSqlValues(const std::vector<SqlValue>& values, std::string* out) {
  AppendU32(static_cast<uint32_t>(values.size()), out);
  for (const SqlValue& value : values) AppendEncoded(value, out);
}

Status Rows::AdoptCopy(std::string_view encoding) {
  if (encoding.empty()) return Adopt(nullptr, 0);
  auto* data = static_cast<uint8_t*>(std::malloc(encoding.size()));
  if (data == nullptr) {
    return Status::Error(Code::kStorageError, "out of memory for rows");
  }
  std::memcpy(data, encoding.data(), encoding.size());
  return Adopt(data, encoding.size());
}

Status Rows::Adopt(uint8_t* data, size_t size) {
  data_.reset(data);
  values_.clear();
  columns_ = 0;
  const Status corrupt =
      Status::Error(Code::kStorageError, "storage returned malformed rows");
  if (size == 0) return Status::OK();
  if (size < 8) return corrupt;
  const uint64_t row_count = ReadLittleEndian(data, 4);
  columns_ = ReadLittleEndian(data + 4, 4);
  const uint64_t count = row_count * columns_;
  if (count > size) return corrupt;  // every value takes at least one byte
  values_.reserve(count);
  size_t pos = 8;
  for (uint64_t i = 0; i < count; ++i) {
    if (pos >= size) return corrupt;
    const uint8_t type = data[pos++];
    if (type == static_cast<uint8_t>(SqlValue::Type::kNull)) {
      values_.push_back(SqlValue::Null());
    } else if (type == static_cast<uint8_t>(SqlValue::Type::kInteger)) {
      if (size - pos < 8) return corrupt;
      values_.push_back(SqlValue::Integer(
          static_cast<int64_t>(ReadLittleEndian(data + pos, 8))));
      pos += 8;
    } else if (type == static_cast<uint8_t>(SqlValue::Type::kBlob)) {
      if (size - pos < 4) return corrupt;
      const uint64_t length = ReadLittleEndian(data + pos, 4);
      pos += 4;
      if (size - pos < length) return corrupt;
      values_.push_back(SqlValue::Blob(
          std::string_view(reinterpret_cast<const char*>(data + pos), length)));
      pos += length;
    } else {
      return corrupt;
    }
  }
  return pos == size ? Status::OK() : corrupt;
}

RowsWriter::RowsWriter() : buffer_(8, '\0') {}

void RowsWriter::Add(const SqlValue& value) { AppendEncoded(value, &buffer_); }

void RowsWriter::EndRow(size_t columns) {
  ++rows_;
  columns_ = static_cast<uint32_t>(columns);
}

Status RowsWriter::Finish(Rows* rows) {
  return rows->AdoptCopy(TakeEncoding());
}

std::string RowsWriter::TakeEncoding() {
  std::string header;
  AppendU32(rows_, &header);
  AppendU32(columns_, &header);
  buffer_.replace(0, 8, header);
  std::string encoding = std::move(buffer_);
  buffer_.assign(8, '\0');
  rows_ = columns_ = 0;
  return encoding;
}

}  // namespace kv
