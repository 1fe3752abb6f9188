// The wasm module's side of kv_c.h: binds the core to the host's storage.

#include "kv_c.h"

#include <cstddef>
#include <cstdlib>
#include <string>

#include "kv_limits.h"
#include "service.h"
#include "storage.h"
#include "store.h"

namespace kv {
namespace {

// Storage on the host's kv_host.sql import.
class HostStorage : public Storage {
 public:
  Status Execute(Statement statement, const std::vector<SqlValue>& params,
                 Rows* rows) override {
    params_.clear();
    EncodeSqlValues(params, &params_);
    uint8_t* data = nullptr;
    uint32_t size = 0;
    if (kv_host_sql(static_cast<int32_t>(statement),
                    reinterpret_cast<const uint8_t*>(params_.data()),
                    static_cast<uint32_t>(params_.size()), &data,
                    &size) != KV_OK) {
      return Status::Error(Code::kStorageError, "the host's storage failed");
    }
    return rows->Adopt(data, size);
  }

 private:
  std::string params_;  // reused across calls to spare allocations
};

Store* TheStore() {
  static HostStorage storage;
  static Store store(&storage);
  return &store;
}

std::string_view View(const void* data, uint32_t size) {
  return std::string_view(static_cast<const char*>(data), size);
}

}  // namespace
}  // namespace kv

uint8_t* kv_alloc(uint32_t size) {
  return static_cast<uint8_t*>(std::malloc(size == 0 ? 1 : size));
}

void kv_free(uint8_t* buffer) { std::free(buffer); }

int32_t kv_statement_count(void) {
  return static_cast<int32_t>(kv::Statement::kNumStatements);
}

const char* kv_statement_sql(int32_t statement, uint32_t* size) {
  if (statement < 0 || statement >= kv_statement_count()) {
    *size = 0;
    return nullptr;
  }
  const std::string_view sql =
      kv::StatementSql(static_cast<kv::Statement>(statement));
  *size = static_cast<uint32_t>(sql.size());
  return sql.data();
}

const char* kv_limits_json(uint32_t* size) {
  static const std::string json = [] {
    std::string out = "{";
    auto add = [&out](const char* name, int64_t value) {
      if (out.size() > 1) out.push_back(',');
      out.append("\"").append(name).append("\":").append(std::to_string(value));
    };
    add("maxRequestBytes", kv::kMaxRequestBytes);
    add("maxWatchesPerStore", kv::kMaxWatchesPerStore);
    add("watchLifetimeMs", kv::kWatchLifetimeMs);
    add("watchStallMs", kv::kWatchStallMs);
    add("watchHeartbeatMs", kv::kWatchHeartbeatMs);
    add("maxQueueListenersPerStore", kv::kMaxQueueListenersPerStore);
    add("purgeBatchesPerAlarm", kv::kPurgeBatchesPerAlarm);
    add("purgeRetryMs", kv::kPurgeRetryMs);
    add("usageFoldIntervalMs", kv::kUsageFoldIntervalMs);
    add("authCachedTokens", kv::kAuthCachedTokens);
    add("unknownTokenTtlMs", kv::kUnknownTokenTtlMs);
    add("authBlockMs", kv::kAuthBlockMs);
    out.push_back('}');
    return out;
  }();
  *size = static_cast<uint32_t>(json.size());
  return json.data();
}

void kv_trap_for_test(void) { __builtin_trap(); }

int32_t kv_migrate(void) {
  return kv::TheStore()->Migrate().ok() ? KV_OK : KV_STORAGE_ERROR;
}

int32_t kv_handle(const char* operation, uint32_t operation_len,
                  const uint8_t* credential, uint32_t credential_len,
                  const uint8_t* body, uint32_t body_len, double now_ms,
                  double deferred_operations, const uint8_t* state_row,
                  uint32_t state_row_len, const uint8_t* idempotency_key,
                  uint32_t idempotency_key_len, kv_response* response) {
  // Kept until the next call, so the host reads the body in place.
  static kv::Response result;
  result = kv::Handle(
      kv::TheStore(),
      {kv::View(operation, operation_len), kv::View(credential, credential_len),
       kv::View(body, body_len), static_cast<int64_t>(now_ms),
       static_cast<uint64_t>(deferred_operations),
       kv::View(state_row, state_row_len),
       kv::View(idempotency_key, idempotency_key_len)});
  response->body = reinterpret_cast<const uint8_t*>(result.body.data());
  response->body_len = static_cast<uint32_t>(result.body.size());
  response->http_status = result.http_status;
  response->quota_limit =
      result.quota ? static_cast<double>(result.quota->limit) : -1;
  response->quota_remaining =
      result.quota ? static_cast<double>(result.quota->remaining) : 0;
  response->quota_resets_at =
      result.quota ? static_cast<double>(result.quota->resets_at_ms) : 0;
  response->wake_at =
      result.wake_at_ms ? static_cast<double>(*result.wake_at_ms) : -1;
  response->deferred_operations =
      static_cast<double>(result.deferred_operations);
  response->state_row =
      reinterpret_cast<const uint8_t*>(result.state_row.data());
  response->state_row_len = static_cast<uint32_t>(result.state_row.size());
  response->replayed = result.replayed ? 1 : 0;
  return result.failed ? KV_STORAGE_ERROR : KV_OK;
}

// The layout kv_c.h documents, which shims/core.js reads.
static_assert(offsetof(kv_response, body_len) == 4, "kv_response layout");
static_assert(offsetof(kv_response, http_status) == 8, "kv_response layout");
static_assert(offsetof(kv_response, quota_limit) == 16, "kv_response layout");
static_assert(offsetof(kv_response, wake_at) == 40, "kv_response layout");
static_assert(offsetof(kv_response, deferred_operations) == 48,
              "kv_response layout");
static_assert(offsetof(kv_response, state_row) == 56, "kv_response layout");
static_assert(offsetof(kv_response, state_row_len) == 60, "kv_response layout");
static_assert(offsetof(kv_response, replayed) == 64, "kv_response layout");
static_assert(sizeof(kv_response) == 72, "kv_response layout");
