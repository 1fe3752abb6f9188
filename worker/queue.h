// The queue's stored forms, and the Store methods that deliver messages
// (declared in store.h, "The queue"; implemented in queue.cc).
//
// A message is one row of kv_queue (schema.cc). Its keysIfUndelivered and
// backoff schedule are stored in the forms below; what it counts toward the
// store's storage is MessageBytes.

#ifndef KV_WORKER_QUEUE_H_
#define KV_WORKER_QUEUE_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "model.h"

namespace kv {

// undelivered := { key_length:u16be key }*   (encoded keys, kMaxKeyBytes each)
std::string EncodeUndelivered(const std::vector<std::string>& keys);
bool DecodeUndelivered(std::string_view bytes, std::vector<std::string>* keys);

// backoff := { interval_ms:u32be }*
std::string EncodeBackoff(const std::vector<uint32_t>& schedule);
bool DecodeBackoff(std::string_view bytes, std::vector<uint32_t>* schedule);

// Bytes a message counts toward its store's storage: its value and both
// stored forms above.
uint64_t MessageBytes(const Enqueue& enqueue);

}  // namespace kv

#endif  // KV_WORKER_QUEUE_H_
