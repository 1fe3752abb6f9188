// The C exports of the bench-only wasm module kv_bench.wasm (never shipped):
// the storage-free operations of core_ops.h, looped inside wasm so that the
// host times many calls with one clock reading around them. The product
// module kv_core.wasm and its ABI (worker/kv_c.h) are untouched.

#include <cstdint>

#include "core_ops.h"

#define KV_BENCH_EXPORT(name) __attribute__((export_name(#name)))

namespace {

kv::bench::CoreOps& Ops() {
  static kv::bench::CoreOps ops;  // built on the first call, outside timing
  return ops;
}

uint32_t last_size = 0;

}  // namespace

extern "C" {

// Builds the inputs; call once before timing.
KV_BENCH_EXPORT(bench_setup) void bench_setup(void) { Ops(); }

KV_BENCH_EXPORT(bench_op_count) int32_t bench_op_count(void) {
  return kv::bench::kNumCoreOps;
}

// Names and bodies are NUL-free texts; their length is then bench_size().
KV_BENCH_EXPORT(bench_op_name) const char* bench_op_name(int32_t op) {
  const char* name = kv::bench::CoreOpName(op);
  last_size = 0;
  while (name[last_size] != '\0') ++last_size;
  return name;
}

KV_BENCH_EXPORT(bench_body_count) int32_t bench_body_count(void) {
  return kv::bench::kNumBodies;
}

KV_BENCH_EXPORT(bench_body_name) const char* bench_body_name(int32_t body) {
  const char* name = kv::bench::BodyName(body);
  last_size = 0;
  while (name[last_size] != '\0') ++last_size;
  return name;
}

// The request body `body`, for the storage-backed runs in Node.
KV_BENCH_EXPORT(bench_body) const char* bench_body(int32_t body) {
  const std::string& text = Ops().body(body);
  last_size = static_cast<uint32_t>(text.size());
  return text.data();
}

KV_BENCH_EXPORT(bench_size) uint32_t bench_size(void) { return last_size; }

// Runs `op` `iterations` times; returns a checksum of the results.
KV_BENCH_EXPORT(bench_run) uint32_t bench_run(int32_t op, int32_t iterations) {
  uint64_t sum = 0;
  for (int32_t i = 0; i < iterations; ++i) sum += Ops().Run(op);
  return static_cast<uint32_t>(sum);
}

}  // extern "C"
