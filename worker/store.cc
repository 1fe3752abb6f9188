#include "store.h"

#include <cstdio>

namespace kv {
namespace {

constexpr std::string_view kCommitCounter = "commit";
constexpr std::string_view kCredential = "credential";

bool EqualInConstantTime(std::string_view a, std::string_view b) {
  // Lengths are public (0 or 32); the bytes are not.
  if (a.size() != b.size()) return false;
  unsigned char difference = 0;
  for (size_t i = 0; i < a.size(); ++i) difference |= a[i] ^ b[i];
  return difference == 0;
}

Version VersionOf(const SqlValue& value) {
  return static_cast<Version>(value.integer);
}

}  // namespace

std::string FormatVersion(Version version) {
  char text[21];
  std::snprintf(text, sizeof text, "%016llx0000",
                static_cast<unsigned long long>(version));
  return text;
}

Status Store::Migrate() {
  Rows rows;
  KV_RETURN_IF_ERROR(storage_->Execute(Statement::kCreateEntries, {}, &rows));
  return storage_->Execute(Statement::kCreateMeta, {}, &rows);
}

Status Store::ReadMeta(std::string_view name, Rows* rows) {
  return storage_->Execute(Statement::kSelectMeta, {SqlValue::Blob(name)},
                           rows);
}

Status Store::Authenticate(std::string_view credential) {
  Rows rows;
  KV_RETURN_IF_ERROR(ReadMeta(kCredential, &rows));
  const std::string_view stored = rows.empty() ? "" : rows.at(0, 0).blob;
  if (!EqualInConstantTime(stored, credential)) {
    return Status::Error(Code::kInvalidToken,
                         "the access token is not valid for this store");
  }
  return Status::OK();
}

Status Store::SetCredential(std::string_view credential) {
  Rows rows;
  return storage_->Execute(
      Statement::kUpsertMeta,
      {SqlValue::Blob(kCredential), SqlValue::Blob(credential)}, &rows);
}

Status Store::Read(const ReadRequest& request,
                   const std::function<void(const EntryView&)>& visit) {
  Rows rows;
  for (const std::string& key : request.keys) {
    KV_RETURN_IF_ERROR(storage_->Execute(Statement::kSelectEntry,
                                         {SqlValue::Blob(key)}, &rows));
    if (rows.empty()) {
      visit(EntryView{false, {}, 0});
    } else {
      visit(EntryView{true, rows.at(0, 0).blob, VersionOf(rows.at(0, 1))});
    }
  }
  return Status::OK();
}

Status Store::Commit(const CommitRequest& request, CommitResult* result) {
  *result = CommitResult();
  Rows rows;
  for (size_t i = 0; i < request.checks.size(); ++i) {
    const Check& check = request.checks[i];
    KV_RETURN_IF_ERROR(storage_->Execute(Statement::kSelectVersion,
                                         {SqlValue::Blob(check.key)}, &rows));
    const bool holds =
        rows.empty()
            ? !check.version.has_value()
            : check.version.has_value() &&
                  *check.version == FormatVersion(VersionOf(rows.at(0, 0)));
    if (!holds) result->failed_checks.push_back(i);
  }
  if (!result->failed_checks.empty()) return Status::OK();

  KV_RETURN_IF_ERROR(ReadMeta(kCommitCounter, &rows));
  const Version version = (rows.empty() ? 0 : VersionOf(rows.at(0, 0))) + 1;
  for (const Mutation& mutation : request.mutations) {
    if (mutation.type == Mutation::Type::kSet) {
      KV_RETURN_IF_ERROR(storage_->Execute(
          Statement::kUpsertEntry,
          {SqlValue::Blob(mutation.key), SqlValue::Blob(mutation.value),
           SqlValue::Integer(static_cast<int64_t>(version))},
          &rows));
    } else {
      KV_RETURN_IF_ERROR(storage_->Execute(
          Statement::kDeleteEntry, {SqlValue::Blob(mutation.key)}, &rows));
      result->entries_deleted += rows.size();
    }
  }
  KV_RETURN_IF_ERROR(
      storage_->Execute(Statement::kUpsertMeta,
                        {SqlValue::Blob(kCommitCounter),
                         SqlValue::Integer(static_cast<int64_t>(version))},
                        &rows));
  result->ok = true;
  result->version = version;
  return Status::OK();
}

}  // namespace kv
