#include "model.h"

namespace kv {

Status CheckCommitLimits(const CommitRequest& request) {
  size_t bytes = 0;
  size_t key_bytes = 0;
  for (const Check& check : request.checks) bytes += check.key.size();
  for (const Mutation& mutation : request.mutations) {
    bytes += mutation.key.size() + mutation.value.size();
    if (mutation.type != Mutation::Type::kDelete) {
      key_bytes += mutation.key.size();
    }
  }
  if (bytes > kMaxCommitBytes) {
    return Status::Error(Code::kCommitTooLarge,
                         "the commit's keys and values are " +
                             std::to_string(bytes) + " bytes; the limit is " +
                             std::to_string(kMaxCommitBytes) +
                             " bytes (800 KiB)");
  }
  if (key_bytes > kMaxCommitKeyBytes) {
    return Status::Error(
        Code::kCommitTooLarge,
        "the keys the commit writes are " + std::to_string(key_bytes) +
            " bytes; the limit is " + std::to_string(kMaxCommitKeyBytes) +
            " bytes (80 KiB, as in Deno KV)");
  }
  return Status::OK();
}

}  // namespace kv
