#include "status.h"

namespace kv {
namespace {

struct CodeInfo {
  int http_status;
  std::string_view error_code;
};

CodeInfo InfoOf(Code code) {
  switch (code) {
    case Code::kOk:
      return {200, "ok"};
    case Code::kInvalidJson:
      return {400, "invalid_json"};
    case Code::kInvalidProtobuf:
      return {400, "invalid_protobuf"};
    case Code::kNestingTooDeep:
      return {400, "nesting_too_deep"};
    case Code::kInvalidRequest:
      return {400, "invalid_request"};
    case Code::kInvalidKey:
      return {400, "invalid_key"};
    case Code::kKeyTooLarge:
      return {400, "key_too_large"};
    case Code::kInvalidVersion:
      return {400, "invalid_version"};
    case Code::kTooManyKeys:
      return {400, "too_many_keys"};
    case Code::kTooManyChecks:
      return {400, "too_many_checks"};
    case Code::kTooManyMutations:
      return {400, "too_many_mutations"};
    case Code::kValueTooLarge:
      return {413, "value_too_large"};
    case Code::kCommitTooLarge:
      return {413, "commit_too_large"};
    case Code::kRequestTooLarge:
      return {413, "request_too_large"};
    case Code::kInvalidSelector:
      return {400, "invalid_selector"};
    case Code::kInvalidCursor:
      return {400, "invalid_cursor"};
    case Code::kReadTooLarge:
      return {400, "read_too_large"};
    case Code::kInvalidExpiry:
      return {400, "invalid_expiry"};
    case Code::kInvalidIdempotencyKey:
      return {400, "invalid_idempotency_key"};
    case Code::kIdempotencyKeyReused:
      return {422, "idempotency_key_reused"};
    case Code::kNotACounter:
      return {400, "not_a_counter"};
    case Code::kInvalidDelay:
      return {400, "invalid_delay"};
    case Code::kInvalidBackoffSchedule:
      return {400, "invalid_backoff_schedule"};
    case Code::kTooManyUndeliveredKeys:
      return {400, "too_many_undelivered_keys"};
    case Code::kTooManyEnqueues:
      return {400, "too_many_enqueues"};
    case Code::kInvalidQueueOption:
      return {400, "invalid_queue_option"};
    case Code::kQueueFull:
      return {507, "queue_full"};
    case Code::kQuotaExceeded:
      return {429, "quota_exceeded"};
    case Code::kStorageLimitExceeded:
      return {507, "storage_limit_exceeded"};
    case Code::kStoreExists:
      return {409, "store_exists"};
    case Code::kStoreNotFound:
      return {404, "store_not_found"};
    case Code::kInvalidToken:
      return {401, "invalid_token"};
    case Code::kNotFound:
      return {404, "not_found"};
    case Code::kStorageError:
      return {500, "storage_error"};
    case Code::kInternalError:
      return {500, "internal_error"};
  }
  return {500, "internal_error"};
}

}  // namespace

int Status::http_status() const { return InfoOf(code_).http_status; }

std::string_view Status::error_code() const { return InfoOf(code_).error_code; }

}  // namespace kv
