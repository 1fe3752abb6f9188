// The core operations the microbenchmarks time, defined once so that the
// native build (core_benchmark.cc, Google Benchmark) and the bench-only wasm
// module (wasm_bench_exports.cc, timed from Node by bench/core_bench.js) run
// the same code on the same inputs; their ratio is then the cost of wasm.
//
// Only storage-free work lives here. Operations that need SQLite (a get or a
// commit through kv::Handle) are timed natively in core_benchmark.cc and in
// Node on the product module kv_core.wasm, fed with the request bodies below.

#ifndef KV_BENCH_CORE_OPS_H_
#define KV_BENCH_CORE_OPS_H_

#include <boost/json/value.hpp>
#include <cstdint>
#include <string>
#include <string_view>

namespace kv::bench {

// Storage-free operations, by index.
enum CoreOp : int32_t {
  kEncodeKey,       // EncodeKey of a 4-part key (2 strings, 1 number, ...)
  kDecodeKey,       // AppendKeyJson of that key's encoding
  kDecodeGet10,     // DecodeGet of a 10-key body
  kDecodeSet1K,     // DecodeSet of a body with a 1,024-byte value
  kDecodeSet16K,    // DecodeSet of a body with a 16,384-byte value
  kDecodeAtomic10,  // DecodeAtomic: 1 check and 10 set mutations
  kNumCoreOps,
};

// Request bodies, by index: the inputs of the operations above and of the
// storage-backed ones (a get of a 1 KiB value, a set, a commit).
enum Body : int32_t {
  kGet1Body,        // {"keys":[VALUE_KEY]}
  kGet10Body,       // {"keys":[10 keys]}
  kSet1KBody,       // {"key":VALUE_KEY,"value":<1,024 bytes>}
  kSet16KBody,      // {"key":...,"value":<16,384 bytes>}
  kAtomic10Body,    // a check of an absent key, then 10 sets of ~100 bytes
  kNumBodies,
};

const char* CoreOpName(int32_t op);
const char* BodyName(int32_t body);

// A JSON object value whose compact serialization is exactly `bytes` bytes:
// an array of small records padded with a string, like an application's
// document (not one long string, which would be too easy to validate).
std::string JsonValueOfSize(size_t bytes);

class CoreOps {
 public:
  CoreOps();

  // Runs `op` once and returns a number that depends on its result, so that
  // the compiler cannot drop the work.
  uint64_t Run(int32_t op);

  const std::string& body(int32_t body) const { return bodies_[body]; }

 private:
  boost::json::value key_json_;
  std::string encoded_key_;
  std::string bodies_[kNumBodies];
  std::string scratch_;
};

}  // namespace kv::bench

#endif  // KV_BENCH_CORE_OPS_H_
