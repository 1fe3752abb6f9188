#include "core_ops.h"

#include <boost/json/parse.hpp>

#include "key_codec.h"
#include "json_request.h"

namespace kv::bench {
namespace {

constexpr std::string_view kKey = R"(["users",123456,"sessions","3f2a9c1e"])";
// The key the storage-backed benchmarks seed with a 1 KiB value and read.
constexpr std::string_view kValueKey = R"(["bench","value",1])";

std::string Key(int i) { return "[\"bench\",\"many\"," + std::to_string(i) + "]"; }

std::string Record(int i) {
  return "{\"id\":" + std::to_string(i) + ",\"name\":\"item-" +
         std::to_string(i) + "\",\"qty\":" + std::to_string(i * 7 % 100) +
         ",\"tags\":[\"red\",\"large\"]}";
}

}  // namespace

const char* CoreOpName(int32_t op) {
  static const char* const kNames[kNumCoreOps] = {
      "encode_key",      "decode_key",      "decode_get_10",
      "decode_set_1k",   "decode_set_16k",  "decode_atomic_10",
  };
  return op >= 0 && op < kNumCoreOps ? kNames[op] : "";
}

const char* BodyName(int32_t body) {
  static const char* const kNames[kNumBodies] = {
      "get_1k", "get_10", "set_1k", "set_16k", "atomic_10",
  };
  return body >= 0 && body < kNumBodies ? kNames[body] : "";
}

std::string JsonValueOfSize(size_t bytes) {
  const std::string head = "{\"items\":[";
  const std::string tail = "],\"note\":\"\"}";
  std::string items;
  for (int i = 0;; ++i) {
    const std::string next = (i == 0 ? "" : ",") + Record(i);
    if (head.size() + items.size() + next.size() + tail.size() > bytes) break;
    items += next;
  }
  const size_t padding = bytes - head.size() - items.size() - tail.size();
  return head + items + "],\"note\":\"" + std::string(padding, 'x') + "\"}";
}

CoreOps::CoreOps() {
  key_json_ = boost::json::parse(kKey);
  EncodeKey(key_json_, "key", &encoded_key_);

  bodies_[kGet1Body] = "{\"keys\":[" + std::string(kValueKey) + "]}";
  std::string keys;
  for (int i = 0; i < 10; ++i) keys += (i == 0 ? "" : ",") + Key(i);
  bodies_[kGet10Body] = "{\"keys\":[" + keys + "]}";
  bodies_[kSet1KBody] = "{\"key\":" + std::string(kValueKey) +
                        ",\"value\":" + JsonValueOfSize(1024) + "}";
  bodies_[kSet16KBody] = "{\"key\":[\"bench\",\"value\",16]" +
                         std::string(",\"value\":") + JsonValueOfSize(16384) +
                         "}";
  std::string mutations;
  for (int i = 0; i < 10; ++i) {
    mutations += (i == 0 ? "" : ",") + std::string("{\"type\":\"set\",\"key\":") +
                 Key(i) + ",\"value\":" + JsonValueOfSize(100) + "}";
  }
  // The check is of a key that never exists, so it holds on every run.
  bodies_[kAtomic10Body] =
      "{\"checks\":[{\"key\":[\"bench\",\"absent\"],\"version\":null}],"
      "\"mutations\":[" + mutations + "]}";
}

uint64_t CoreOps::Run(int32_t op) {
  switch (op) {
    case kEncodeKey:
      scratch_.clear();
      EncodeKey(key_json_, "key", &scratch_);
      return scratch_.size();
    case kDecodeKey:
      scratch_.clear();
      AppendKeyJson(encoded_key_, &scratch_);
      return scratch_.size();
    case kDecodeGet10: {
      ReadRequest request;
      DecodeGet(bodies_[kGet10Body], &request);
      return request.keys.size();
    }
    case kDecodeSet1K:
    case kDecodeSet16K: {
      CommitRequest request;
      const Status status = DecodeSet(
          bodies_[op == kDecodeSet1K ? kSet1KBody : kSet16KBody], &request);
      return status.ok() ? request.mutations[0].value.size() : 0;
    }
    case kDecodeAtomic10: {
      CommitRequest request;
      DecodeAtomic(bodies_[kAtomic10Body], &request);
      return request.mutations.size() + request.checks.size();
    }
  }
  return 0;
}

}  // namespace kv::bench
