// Shared by the fuzz targets: property checks that abort with a message, so
// that libFuzzer records the input as a crash and says which property broke.

#ifndef KV_FUZZ_FUZZ_SUPPORT_H_
#define KV_FUZZ_FUZZ_SUPPORT_H_

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "base64.h"
#include "json_parse.h"
#include "key_codec.h"
#include "kv_limits.h"
#include "status.h"

namespace kv::fuzz {

// Aborts (a libFuzzer crash) when `condition` is false.
#define KV_FUZZ_REQUIRE(condition, what)                                      \
  do {                                                                        \
    if (!(condition)) ::kv::fuzz::Fail(__FILE__, __LINE__, #condition, what); \
  } while (0)

[[noreturn]] inline void Fail(const char* file, int line, const char* condition,
                              std::string_view what) {
  std::fprintf(stderr, "%s:%d: property violated: %s\n  %.*s\n", file, line,
               condition, static_cast<int>(what.size()), what.data());
  std::abort();
}

inline std::string Hex(std::string_view bytes) {
  std::string hex;
  AppendHex(bytes, &hex);
  return hex;
}

// Parses `text` as JSON the way the core parses requests (numbers correctly
// rounded: Boost.JSON 1.81's own parse is not, and would be a false
// oracle); aborts if it is not JSON.
inline boost::json::value MustParse(std::string_view text,
                                    std::string_view what) {
  boost::json::error_code error;
  boost::json::value value = ParseJson(text, 1000, {}, error);
  KV_FUZZ_REQUIRE(!error, std::string(what) + " is not valid JSON: " +
                              std::string(text.substr(0, 200)));
  return value;
}

// An encoded key the core produced: within the size limit, and it decodes
// to JSON that encodes back to exactly the same bytes (canonical round trip).
inline void CheckEncodedKey(std::string_view encoded) {
  KV_FUZZ_REQUIRE(!encoded.empty() && encoded.size() <= kMaxKeyBytes,
                  "key size " + std::to_string(encoded.size()));
  std::string json;
  const Status decoded = AppendKeyJson(encoded, &json);
  KV_FUZZ_REQUIRE(decoded.ok(), "AppendKeyJson of an encoded key failed: " +
                                    decoded.message() + " key " + Hex(encoded));
  std::string again;
  const Status encoded_again =
      EncodeKey(MustParse(json, "a decoded key"), "key", &again);
  KV_FUZZ_REQUIRE(encoded_again.ok(),
                  "re-encoding " + json + ": " + encoded_again.message());
  KV_FUZZ_REQUIRE(again == encoded,
                  "round trip changed the key: " + Hex(encoded) + " -> " +
                      json + " -> " + Hex(again));
}

// A refused request: a 4xx with a stable code and a message (the decoders
// never fail with a 5xx: they do not touch storage).
inline void CheckRefusal(const Status& status) {
  KV_FUZZ_REQUIRE(status.http_status() >= 400 && status.http_status() < 500,
                  "decoder failed with " +
                      std::to_string(status.http_status()) + ": " +
                      status.message());
  KV_FUZZ_REQUIRE(!status.message().empty(), "empty error message");
}

}  // namespace kv::fuzz

#endif  // KV_FUZZ_FUZZ_SUPPORT_H_
