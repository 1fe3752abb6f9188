#include "sql_wire.h"

#include <gtest/gtest.h>

#include <cstring>

namespace kv {
namespace {

Status AdoptCopy(std::string_view bytes, Rows* rows) {
  auto* data = static_cast<uint8_t*>(std::malloc(bytes.size() + 1));
  std::memcpy(data, bytes.data(), bytes.size());
  return rows->Adopt(data, bytes.size());
}

TEST(SqlWireTest, WrittenRowsParseBack) {
  RowsWriter writer;
  const std::string blob("a\0b", 3);
  writer.Add(SqlValue::Blob(blob));
  writer.Add(SqlValue::Integer(-5));
  writer.EndRow(2);
  writer.Add(SqlValue::Null());
  writer.Add(SqlValue::Integer(int64_t{1} << 53));
  writer.EndRow(2);
  Rows rows;
  ASSERT_TRUE(writer.Finish(&rows).ok());
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows.at(0, 0).type, SqlValue::Type::kBlob);
  EXPECT_EQ(rows.at(0, 0).blob, blob);
  EXPECT_EQ(rows.at(0, 1).integer, -5);
  EXPECT_EQ(rows.at(1, 0).type, SqlValue::Type::kNull);
  EXPECT_EQ(rows.at(1, 1).integer, int64_t{1} << 53);
}

TEST(SqlWireTest, ParamsUseTheSameValueEncoding) {
  std::string params;
  EncodeSqlValues({SqlValue::Blob("k"), SqlValue::Integer(7)}, &params);
  // count, then blob (type, length, byte), then integer (type, 8 bytes).
  EXPECT_EQ(params, std::string("\x02\0\0\0"
                                "\x02\x01\0\0\0k"
                                "\x01\x07\0\0\0\0\0\0\0",
                                19));
}

TEST(SqlWireTest, NoRowsIsEmpty) {
  Rows rows;
  ASSERT_TRUE(rows.Adopt(nullptr, 0).ok());
  EXPECT_TRUE(rows.empty());
  EXPECT_EQ(rows.size(), 0u);
}

TEST(SqlWireTest, RefusesMalformedRows) {
  const std::string cases[] = {
      std::string("\x01\0\0", 3),                               // short header
      std::string("\x01\0\0\0\x01\0\0\0", 8),                   // missing value
      std::string("\x01\0\0\0\x01\0\0\0\x09", 9),               // unknown type
      std::string("\x01\0\0\0\x01\0\0\0\x02\x05\0\0\0ab", 15),  // short blob
      std::string("\x01\0\0\0\x01\0\0\0\x00\x00", 10),     // trailing bytes
      std::string("\xff\xff\xff\xff\xff\xff\xff\xff", 8),  // absurd counts
  };
  for (const std::string& bytes : cases) {
    Rows rows;
    EXPECT_EQ(AdoptCopy(bytes, &rows).code(), Code::kStorageError);
  }
}

}  // namespace
}  // namespace kv
