/* The C ABI of the key-value core: what the wasm module exports to its host
 * (the JS shim, shims/core.js) and what it imports from it.
 *
 * Conventions, after leveldb/c.h:
 *   - Byte strings cross as (pointer, length) pairs into the module's linear
 *     memory. A function borrows the buffers it is given for the duration of
 *     the call only.
 *   - A buffer the callee allocates for the caller comes from kv_alloc; the
 *     receiver owns it and releases it with kv_free.
 *   - Functions return integer status codes; none of them throws.
 *   - Every call that touches storage runs inside one host transaction
 *     (ctx.storage.transactionSync); a failure status means the host must
 *     roll that transaction back.
 */

#ifndef KV_WORKER_KV_C_H_
#define KV_WORKER_KV_C_H_

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define KV_EXPORT(name) __attribute__((export_name(#name)))
#define KV_IMPORT(name) \
  __attribute__((import_module("kv_host"), import_name(#name)))

/* Status codes of kv_migrate and of the kv_host.sql import. */
enum { KV_OK = 0, KV_STORAGE_ERROR = 1 };

/* ---- Exports ---- */

/* Returns `size` bytes owned by the caller (release with kv_free), or null
 * when memory is exhausted. */
KV_EXPORT(kv_alloc) uint8_t* kv_alloc(uint32_t size);
KV_EXPORT(kv_free) void kv_free(uint8_t* buffer);

/* How many SQL statements the core issues, and the SQL text of statement
 * `statement` (0 <= statement < kv_statement_count()): static, never freed.
 * The host prepares them by number, so the text crosses the boundary once. */
KV_EXPORT(kv_statement_count) int32_t kv_statement_count(void);
KV_EXPORT(kv_statement_sql)
const char* kv_statement_sql(int32_t statement, uint32_t* size);

/* The limits the host enforces itself (worker/kv_limits.h), as a static JSON
 * object of size *size, never freed: the largest request body (so the Worker
 * refuses a larger one before buffering it), the watch, purge, usage fold
 * and authentication bounds. Keys are the constants' names in camelCase without
 * the k: {"maxRequestBytes": n, "maxWatchesPerStore": n, ...}. */
KV_EXPORT(kv_limits_json) const char* kv_limits_json(uint32_t* size);

/* Traps (an `unreachable` instruction), so that the host's recovery from a
 * trap can be tested on the real module: after any trap the host discards
 * the instance. The Worker reaches it only with fault injection turned on
 * (KV_FAULTS, tests only). */
KV_EXPORT(kv_trap_for_test) void kv_trap_for_test(void);

/* Creates the store's schema if needed. Returns KV_OK or KV_STORAGE_ERROR. */
KV_EXPORT(kv_migrate) int32_t kv_migrate(void);

/* The response of kv_handle, written into a struct the caller provides.
 * Layout (little-endian):
 *   0  u32 body          JSON body: owned by the core, valid until the
 *   4  u32 body_len      next kv_handle call
 *   8  i32 http_status   of the response (a refusal is a 4xx or 507)
 *  16  f64 quota_limit       monthly operations limit, or -1: no RateLimit
 *  24  f64 quota_remaining   operations left this month
 *  32  f64 quota_resets_at   when the count resets (ms since the epoch)
 *  40  f64 wake_at           when to wake the store to purge expired
 *                            entries (ms since the epoch), or -1: no need
 *  48  f64 deferred_operations   operations charged and not yet written:
 *                            the host keeps this count once its transaction
 *                            commits and passes it to the next call
 *  56  u32 state_row     the store's state row as storage holds it after
 *  60  u32 state_row_len this request (owned by the core, valid until the
 *                        next call; 0 bytes: none): the host keeps a copy
 *                        once its transaction commits and passes it to the
 *                        next call, which then does not read it again
 *  64  i32 replayed      1: the body is the kept answer of an earlier
 *                        request with the same idempotency key (nothing was
 *                        applied); 0 otherwise
 * (72 bytes in all, with padding.) */
typedef struct {
  const uint8_t* body;
  uint32_t body_len;
  int32_t http_status;
  double quota_limit;
  double quota_remaining;
  double quota_resets_at;
  double wake_at;
  double deferred_operations;
  const uint8_t* state_row;
  uint32_t state_row_len;
  int32_t replayed;
} kv_response;

/* Handles one request of the HTTP API (worker/service.h): `operation` is the
 * route's operation ("get", "set", ... or one of the Worker's internal
 * ones), `credential` the SHA-256 of the caller's access token (32 bytes; 0
 * bytes for the Worker's own directory), `body` the request's JSON, `now_ms`
 * the host's clock, `deferred_operations` the count the previous call
 * returned (0 for a new object: worker/store.h explains the fold),
 * `state_row` the state row the previous call returned (0 bytes for a new
 * object, after a rollback, or after the host erased its storage),
 * `idempotency_key` the client's Idempotency-Key (0 bytes: none). Fills
 * *response and returns KV_OK, or KV_STORAGE_ERROR when storage failed: the
 * response is then a 500, the host must roll the transaction back, keep
 * its previous deferred count and drop its state row. */
KV_EXPORT(kv_handle)
int32_t kv_handle(const char* operation, uint32_t operation_len,
                  const uint8_t* credential, uint32_t credential_len,
                  const uint8_t* body, uint32_t body_len, double now_ms,
                  double deferred_operations, const uint8_t* state_row,
                  uint32_t state_row_len, const uint8_t* idempotency_key,
                  uint32_t idempotency_key_len, kv_response* response);

/* ---- Imports (module "kv_host") ---- */

/* Runs statement `statement` with the parameters encoded at
 * params[0..params_len) (grammar: worker/sql_wire.cc). On success returns
 * KV_OK and sets *rows / *rows_len to the result rows in the same grammar, in
 * a buffer the host allocated with kv_alloc and the core now owns (null and 0
 * for a statement without rows). On failure returns KV_STORAGE_ERROR; the
 * host keeps the error to report after the transaction is rolled back. */
KV_IMPORT(sql)
int32_t kv_host_sql(int32_t statement, const uint8_t* params,
                    uint32_t params_len, uint8_t** rows, uint32_t* rows_len);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* KV_WORKER_KV_C_H_ */
