// Fuzzes request decoding (worker/request.h): arbitrary bytes as the body
// of every route. Each decoder must return a Status, never crash, hang,
// leak or overflow, and a request it accepts must be one the store can
// take as it is: every limit of kv_limits.h holds, keys are canonical
// encodings, values are compact JSON, versions are 20 lowercase hex digits.

#include <cstddef>
#include <cstdint>

#include "fuzz_support.h"
#include "request.h"

namespace kv::fuzz {
namespace {

void CheckValue(std::string_view value) {
  KV_FUZZ_REQUIRE(value.size() <= kMaxValueBytes,
                  "value of " + std::to_string(value.size()) + " bytes");
  // Stored as written and served as written: parsing and serializing it
  // again must give the same text. It fails when the text is not compact,
  // or when a number in it does not parse back to the number written.
  const std::string again =
      boost::json::serialize(MustParse(value, "a stored value"));
  KV_FUZZ_REQUIRE(again == value, "stored value " +
                                      std::string(value.substr(0, 200)) +
                                      " reads back as " + again.substr(0, 200));
}

void CheckVersion(const std::optional<std::string>& version) {
  if (!version) return;
  bool lower_hex = version->size() == 20;
  for (char c : *version) {
    lower_hex = lower_hex && ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'));
  }
  KV_FUZZ_REQUIRE(lower_hex, "check version " + *version);
}

void CheckCommit(const CommitRequest& request) {
  KV_FUZZ_REQUIRE(request.checks.size() <= kMaxChecksPerCommit, "too many checks");
  KV_FUZZ_REQUIRE(request.mutations.size() <= kMaxMutationsPerCommit,
                  "too many mutations");
  size_t bytes = 0;
  for (const Check& check : request.checks) {
    CheckEncodedKey(check.key);
    CheckVersion(check.version);
    bytes += check.key.size();
  }
  for (const Mutation& mutation : request.mutations) {
    CheckEncodedKey(mutation.key);
    if (mutation.type == Mutation::Type::kSet) {
      CheckValue(mutation.value);
    } else {
      KV_FUZZ_REQUIRE(mutation.value.empty(), "a delete carries a value");
    }
    bytes += mutation.key.size() + mutation.value.size();
  }
  KV_FUZZ_REQUIRE(bytes <= kMaxCommitBytes,
                  "commit of " + std::to_string(bytes) + " bytes");
}

void CheckOneMutation(const CommitRequest& request, Mutation::Type type) {
  KV_FUZZ_REQUIRE(request.checks.empty() && request.mutations.size() == 1 &&
                      request.mutations[0].type == type,
                  "a one-key route decoded to another shape");
  CheckCommit(request);
}

}  // namespace
}  // namespace kv::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace kv;
  using namespace kv::fuzz;
  const std::string_view body(reinterpret_cast<const char*>(data), size);

  ReadRequest read;
  const Status get = DecodeGet(body, &read);
  if (get.ok()) {
    KV_FUZZ_REQUIRE(!read.keys.empty() && read.keys.size() <= kMaxKeysPerGet,
                    "get of " + std::to_string(read.keys.size()) + " keys");
    for (const std::string& key : read.keys) CheckEncodedKey(key);
  } else {
    CheckRefusal(get);
  }

  CommitRequest set;
  const Status set_status = DecodeSet(body, &set);
  if (set_status.ok()) {
    CheckOneMutation(set, Mutation::Type::kSet);
  } else {
    CheckRefusal(set_status);
  }

  CommitRequest del;
  const Status delete_status = DecodeDelete(body, &del);
  if (delete_status.ok()) {
    CheckOneMutation(del, Mutation::Type::kDelete);
  } else {
    CheckRefusal(delete_status);
  }

  CommitRequest atomic;
  const Status atomic_status = DecodeAtomic(body, &atomic);
  if (atomic_status.ok()) {
    CheckCommit(atomic);
  } else {
    CheckRefusal(atomic_status);
  }

  return 0;
}
