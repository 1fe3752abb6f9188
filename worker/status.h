// Status: the outcome of an operation, in the style of leveldb::Status.
//
// The core reports every failure as a Status value, never as an exception.
// A Status names one Code; each Code maps to one HTTP status and one stable
// error code string of the HTTP API (docs/http-api.md). The message says what
// was wrong and what is allowed.

#ifndef KV_WORKER_STATUS_H_
#define KV_WORKER_STATUS_H_

#include <string>
#include <string_view>
#include <utility>

namespace kv {

enum class Code {
  kOk,
  kInvalidJson,
  kInvalidProtobuf,
  kNestingTooDeep,
  kInvalidRequest,
  kInvalidKey,
  kKeyTooLarge,
  kInvalidVersion,
  kTooManyKeys,
  kTooManyChecks,
  kTooManyMutations,
  kValueTooLarge,
  kCommitTooLarge,
  kRequestTooLarge,
  kInvalidSelector,
  kInvalidCursor,
  kReadTooLarge,
  kInvalidExpiry,
  kInvalidIdempotencyKey,
  kIdempotencyKeyReused,
  kNotACounter,
  kInvalidDelay,
  kInvalidBackoffSchedule,
  kTooManyUndeliveredKeys,
  kTooManyEnqueues,
  kInvalidQueueOption,
  kQueueFull,
  kQuotaExceeded,
  kStorageLimitExceeded,
  kStoreExists,
  kStoreNotFound,
  kInvalidToken,
  kNotFound,
  kStorageError,
  kInternalError,
};

class Status {
 public:
  Status() = default;
  static Status OK() { return Status(); }
  static Status Error(Code code, std::string message) {
    return Status(code, std::move(message));
  }

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }

  // The HTTP status and API error code string of this status's code.
  int http_status() const;
  std::string_view error_code() const;

 private:
  Status(Code code, std::string message)
      : code_(code), message_(std::move(message)) {}

  Code code_ = Code::kOk;
  std::string message_;
};

// Returns early from the calling function when `expr` is not OK.
#define KV_RETURN_IF_ERROR(expr)             \
  do {                                       \
    ::kv::Status kv_status_ = (expr);        \
    if (!kv_status_.ok()) return kv_status_; \
  } while (0)

}  // namespace kv

#endif  // KV_WORKER_STATUS_H_
