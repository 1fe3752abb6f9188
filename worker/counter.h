// Counters: 64-bit unsigned integers stored as values, for the atomic sum,
// min and max mutations.
//
// A counter is one of the stored value forms (stored_value.h):
//
//   counter := 0x00 uint64 (8 bytes, big-endian)
//
// In the JSON API a counter is the decimal string of its value with
// "valueType": "u64" (docs/http-api.md); in KV Connect it is a KvU64
// (VE_LE64, 8 bytes little-endian).

#ifndef KV_WORKER_COUNTER_H_
#define KV_WORKER_COUNTER_H_

#include <cstdint>
#include <string>
#include <string_view>

namespace kv {

std::string EncodeCounter(uint64_t value);

// True when `stored` is a counter; sets *value.
bool DecodeCounter(std::string_view stored, uint64_t* value);

// Parses a canonical decimal from 0 to 2^64 - 1 (no sign, no leading zero).
bool ParseU64(std::string_view text, uint64_t* value);

}  // namespace kv

#endif  // KV_WORKER_COUNTER_H_
