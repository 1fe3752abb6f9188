// Fuzzes KV Connect's decoders (worker/kv_connect.h) and the V8 value codec
// (worker/v8_value.h) they use, on arbitrary bytes.
//
// The first byte picks the decoder; the rest is its body. Every input must
// give OK or a client error (4xx), never a crash or a 5xx, and what is
// accepted must be within the limits: ranges and entries of a read, checks,
// mutations and enqueues of a write (an enqueue's delay, schedule and
// keysIfUndelivered too), canonical keys, values within kMaxValueBytes.
// A V8 value read as JSON must come back the same through JsonToV8.

#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_support.h"
#include "key_codec.h"
#include "kv_connect.h"
#include "stored_value.h"
#include "v8_value.h"

namespace kv::fuzz {
namespace {

void RequireClientError(const Status& status, std::string_view what) {
  KV_FUZZ_REQUIRE(status.http_status() >= 400 && status.http_status() < 500,
                  std::string(what) + ": " + status.message());
}

void FuzzRead(std::string_view body) {
  std::vector<ListRequest> ranges;
  const Status status = kv_connect::DecodeSnapshotRead(body, &ranges);
  if (!status.ok()) return RequireClientError(status, "snapshot read");
  KV_FUZZ_REQUIRE(ranges.size() <= kMaxReadRanges, "too many ranges");
  size_t entries = 0;
  for (const ListRequest& range : ranges) {
    KV_FUZZ_REQUIRE(range.limit >= 1 && range.whole_page, "bad range");
    KV_FUZZ_REQUIRE(range.selector.lower.size() <= kMaxRangeKeyBytes &&
                        range.selector.upper.size() <= kMaxRangeKeyBytes,
                    "range bound too long");
    entries += range.limit;
  }
  KV_FUZZ_REQUIRE(entries <= kMaxReadEntries, "too many entries");
}

void RequireKey(const std::string& key) {
  KV_FUZZ_REQUIRE(::kv::CheckEncodedKey(key, "key").ok(),
                  "a key accepted that is not canonical");
}

void RequireValue(const std::string& stored) {
  const ValueForm form = FormOf(stored);
  const size_t size = form == ValueForm::kV8 || form == ValueForm::kBytes
                          ? OpaqueData(stored).size()
                          : stored.size();
  KV_FUZZ_REQUIRE(size <= kMaxValueBytes, "value past its limit");
}

void FuzzWrite(std::string_view body) {
  CommitRequest request;
  const Status status = kv_connect::DecodeAtomicWrite(body, 0, &request);
  if (!status.ok()) return RequireClientError(status, "atomic write");
  KV_FUZZ_REQUIRE(request.checks.size() <= kMaxChecksPerCommit &&
                      request.mutations.size() <= kMaxMutationsPerCommit &&
                      request.enqueues.size() <= kMaxEnqueuesPerCommit,
                  "too many checks, mutations or enqueues");
  KV_FUZZ_REQUIRE(CheckCommitLimits(request).ok(), "commit past its limits");
  for (const Mutation& mutation : request.mutations) {
    RequireKey(mutation.key);
    if (mutation.type != Mutation::Type::kDelete) RequireValue(mutation.value);
  }
  for (const Enqueue& enqueue : request.enqueues) {
    KV_FUZZ_REQUIRE(CheckEnqueue(enqueue, "enqueue").ok(),
                    "an enqueue accepted past its limits");
    KV_FUZZ_REQUIRE(!enqueue.backoff_schedule.empty(),
                    "an empty schedule is Deno's default");
    for (const std::string& key : enqueue.keys_if_undelivered) RequireKey(key);
    RequireValue(enqueue.value);
  }
}

void FuzzWatch(std::string_view body) {
  ReadRequest request;
  const Status status = kv_connect::DecodeWatch(body, &request);
  if (!status.ok()) return RequireClientError(status, "watch");
  KV_FUZZ_REQUIRE(
      !request.keys.empty() && request.keys.size() <= kMaxKeysPerWatch,
      "watch key count");
}

void FuzzV8(std::string_view bytes) {
  std::string json;
  bool is_json = false;
  const Status status = V8ToJson(bytes, &json, &is_json);
  if (!status.ok()) return RequireClientError(status, "V8 value");
  if (!is_json) return;
  std::string again;
  KV_FUZZ_REQUIRE(JsonToV8(json, &again).ok(), "JSON form not writable");
  std::string json_again;
  bool still_json = false;
  KV_FUZZ_REQUIRE(V8ToJson(again, &json_again, &still_json).ok() &&
                      still_json && json_again == json,
                  "V8 -> JSON -> V8 -> JSON changed: " + json);
}

}  // namespace
}  // namespace kv::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string_view body(reinterpret_cast<const char*>(data) + 1,
                              size - 1);
  switch (data[0] % 4) {
    case 0:
      kv::fuzz::FuzzRead(body);
      break;
    case 1:
      kv::fuzz::FuzzWrite(body);
      break;
    case 2:
      kv::fuzz::FuzzWatch(body);
      break;
    default:
      kv::fuzz::FuzzV8(body);
  }
  return 0;
}
