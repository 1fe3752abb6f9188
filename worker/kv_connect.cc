// Messages of com.deno.kv.datapath (denoland/denokv
// proto/schema/datapath.proto) this file reads and writes; field = number:
//
//   SnapshotRead       ranges=1 (ReadRange, repeated)
//   ReadRange          start=1 bytes, end=2 bytes, limit=3 int32,
//                      reverse=4 bool
//   SnapshotReadOutput ranges=1 (ReadRangeOutput, repeated),
//                      read_disabled=2 bool, read_is_strongly_consistent=4
//                      bool, status=8 (SR_SUCCESS=1)
//   ReadRangeOutput    values=1 (KvEntry, repeated)
//   KvEntry            key=1 bytes, value=2 bytes, encoding=3,
//                      versionstamp=4 bytes (10)
//   AtomicWrite        checks=1 (Check), mutations=2 (Mutation),
//                      enqueues=3 (Enqueue), all repeated
//   Enqueue            payload=1 bytes (V8), deadline_ms=2 int64,
//                      keys_if_undelivered=3 repeated bytes,
//                      backoff_schedule=4 repeated uint32 (packed or not;
//                      empty: Deno's default schedule)
//   Check              key=1 bytes, versionstamp=2 bytes (10; empty: the key
//                      has no entry)
//   Mutation           key=1 bytes, value=2 (KvValue), mutation_type=3,
//                      expire_at_ms=4 int64, sum_min=5, sum_max=6,
//                      sum_clamp=7
//   KvValue            data=1 bytes, encoding=2
//   AtomicWriteOutput  status=1 (AW_SUCCESS=1, AW_CHECK_FAILURE=2),
//                      versionstamp=2 bytes, failed_checks=4 packed uint32
//   Watch              keys=1 (WatchKey{key=1 bytes}, repeated)
//   WatchOutput        status=1, keys=2 (WatchKeyOutput{changed=1 bool,
//                      entry_if_changed=2 KvEntry}, repeated)
//
//   encoding:      VE_V8=1, VE_LE64=2, VE_BYTES=3
//   mutation_type: M_SET=1, M_DELETE=2, M_SUM=3, M_MAX=4, M_MIN=5,
//                  M_SET_SUFFIX_VERSIONSTAMPED_KEY=9
//
// Unknown fields are skipped, as proto3 requires; a known field with the
// wrong wire type is an error.

#include "kv_connect.h"

#include <algorithm>
#include <limits>
#include <protozero/exception.hpp>
#include <protozero/pbf_reader.hpp>
#include <protozero/pbf_writer.hpp>

#include "base64.h"
#include "counter.h"
#include "key_codec.h"
#include "kv_limits.h"
#include "stored_value.h"
#include "v8_value.h"

namespace kv {
namespace kv_connect {
namespace {

using protozero::pbf_reader;
using protozero::pbf_wire_type;
using protozero::pbf_writer;

enum Encoding : int32_t { kV8 = 1, kLe64 = 2, kBytes = 3 };
enum MutationType : int32_t {
  kSet = 1,
  kDelete = 2,
  kSum = 3,
  kMax = 4,
  kMin = 5,
  kSetVersionstampedKey = 9,
};
constexpr int32_t kReadSuccess = 1;
constexpr int32_t kWriteSuccess = 1;
constexpr int32_t kWriteCheckFailure = 2;
constexpr size_t kVersionstampBytes = 10;
// Deno's clients turn an enqueue's delay into deadline_ms by their own
// clock: a deadline this much past kMaxQueueDelayMs is taken as the longest
// delay, not refused.
constexpr int64_t kMaxClockSkewMs = 60 * 1000;

std::string Str(std::string_view s) { return std::string(s); }

std::string Indexed(std::string_view name, size_t index) {
  return Str(name) + "[" + std::to_string(index) + "]";
}

Status Invalid(std::string message) {
  return Status::Error(Code::kInvalidProtobuf, std::move(message));
}

// A message with one more repeated field than `limit` allows.
Status TooMany(Code code, std::string_view message, std::string_view field,
               size_t limit) {
  return Status::Error(code, "the " + Str(message) + " has more than " +
                                 std::to_string(limit) + " " + Str(field) +
                                 "; the limit is " + std::to_string(limit));
}

// protozero reads a field as whatever type it is asked for: check first.
Status Expect(const pbf_reader& message, pbf_wire_type type,
              std::string_view field) {
  if (message.wire_type() == type) return Status::OK();
  return Invalid(Str(field) + " has wire type " +
                 std::to_string(static_cast<int>(message.wire_type())) +
                 ", expected " + std::to_string(static_cast<int>(type)));
}

constexpr pbf_wire_type kBytesType = pbf_wire_type::length_delimited;
constexpr pbf_wire_type kVarintType = pbf_wire_type::varint;

// The current field of `message` (named `name` in errors) is an element of
// its repeated message field `field`: decodes it with `decode` into a new
// element of *items, refusing one past `limit` with `too_many`.
template <typename T, typename Decode>
Status AppendMessage(pbf_reader* message, std::string_view name,
                     std::string_view field, std::vector<T>* items,
                     size_t limit, Code too_many, Decode decode) {
  const std::string what = Indexed(field, items->size());
  KV_RETURN_IF_ERROR(Expect(*message, kBytesType, what));
  if (items->size() == limit) return TooMany(too_many, name, field, limit);
  items->emplace_back();
  return decode(message->get_message(), what, &items->back());
}

// Runs `decode` over `body`, turning protozero's exceptions (truncated
// input, a length past the end, a bad tag or varint) into a status.
template <typename Decode>
Status Guarded(std::string_view what, Decode decode) {
  try {
    return decode();
  } catch (const protozero::exception& error) {
    return Invalid(Str(what) + " is not valid protobuf: " + error.what());
  }
}

// protozero's get_bool reads its byte before checking it is there (an
// input ending at a bool's tag is read past its end): read the varint,
// which is checked.
bool ReadBool(pbf_reader* message) { return message->get_uint64() != 0; }

Status DecodeRange(pbf_reader range, std::string_view what,
                   ListRequest* request) {
  int64_t limit = 0;
  while (range.next()) {
    switch (range.tag()) {
      case 1:
      case 2: {
        const bool start = range.tag() == 1;
        const std::string field = Str(what) + (start ? ".start" : ".end");
        KV_RETURN_IF_ERROR(Expect(range, kBytesType, field));
        const protozero::data_view bound = range.get_view();
        if (bound.size() > kMaxRangeKeyBytes) {
          return Status::Error(Code::kKeyTooLarge,
                               field + " is " + std::to_string(bound.size()) +
                                   " bytes; the limit is " +
                                   std::to_string(kMaxRangeKeyBytes));
        }
        (start ? request->selector.lower : request->selector.upper)
            .assign(bound.data(), bound.size());
        break;
      }
      case 3:
        KV_RETURN_IF_ERROR(Expect(range, kVarintType, Str(what) + ".limit"));
        limit = range.get_int64();
        break;
      case 4:
        KV_RETURN_IF_ERROR(Expect(range, kVarintType, Str(what) + ".reverse"));
        request->reverse = ReadBool(&range);
        break;
      default:
        range.skip();
    }
  }
  if (limit < 1 || static_cast<uint64_t>(limit) > kMaxReadEntries) {
    return Status::Error(Code::kInvalidSelector,
                         Str(what) + ".limit is " + std::to_string(limit) +
                             "; it must be from 1 to " +
                             std::to_string(kMaxReadEntries));
  }
  request->limit = static_cast<size_t>(limit);
  request->whole_page = true;
  return Status::OK();
}

// True when [lower, upper) holds one key at most, `lower` itself: upper is
// lower and a 0x00 (how Deno's clients read one key).
bool HoldsOneKey(const Selector& selector) {
  const std::string& lower = selector.lower;
  const std::string& upper = selector.upper;
  return !lower.empty() && upper.size() == lower.size() + 1 &&
         upper.back() == '\0' && upper.compare(0, lower.size(), lower) == 0;
}

Status DecodeValue(pbf_reader value, std::string_view what, int32_t* encoding,
                   std::string* data) {
  while (value.next()) {
    if (value.tag() == 1) {
      KV_RETURN_IF_ERROR(Expect(value, kBytesType, Str(what) + ".data"));
      *data = value.get_string();
    } else if (value.tag() == 2) {
      KV_RETURN_IF_ERROR(Expect(value, kVarintType, Str(what) + ".encoding"));
      *encoding = value.get_enum();
    } else {
      value.skip();
    }
  }
  return Status::OK();
}

// The stored form of a KvValue with `encoding` and `data`.
Status StoreValue(int32_t encoding, std::string_view data,
                  std::string_view what, std::string* stored) {
  switch (encoding) {
    case kV8:
      return StoreV8Value(data, what, stored);
    case kBytes:
      return StoreBytesValue(data, what, stored);
    case kLe64: {
      if (data.size() != 8) {
        return Status::Error(Code::kInvalidRequest,
                             Str(what) + " is a KvU64 (VE_LE64) of " +
                                 std::to_string(data.size()) +
                                 " bytes; it must be 8");
      }
      uint64_t counter = 0;
      for (int i = 7; i >= 0; --i) {
        counter = counter << 8 | static_cast<uint8_t>(data[i]);
      }
      *stored = EncodeCounter(counter);
      return Status::OK();
    }
  }
  return Status::Error(Code::kInvalidRequest,
                       Str(what) + " has encoding " + std::to_string(encoding) +
                           "; the encodings are 1 (V8), 2 (LE64) and 3 "
                           "(bytes)");
}

Status DecodeCheck(pbf_reader check, std::string_view what, Check* out) {
  while (check.next()) {
    if (check.tag() == 1) {
      KV_RETURN_IF_ERROR(Expect(check, kBytesType, Str(what) + ".key"));
      out->key = check.get_string();
    } else if (check.tag() == 2) {
      KV_RETURN_IF_ERROR(
          Expect(check, kBytesType, Str(what) + ".versionstamp"));
      const protozero::data_view stamp = check.get_view();
      if (stamp.size() != 0 && stamp.size() != kVersionstampBytes) {
        return Status::Error(Code::kInvalidVersion,
                             Str(what) + ".versionstamp is " +
                                 std::to_string(stamp.size()) +
                                 " bytes; it must be 10, or empty for "
                                 "\"no entry\"");
      }
      if (stamp.size() == kVersionstampBytes) {
        out->version.emplace();
        AppendHex(std::string_view(stamp.data(), stamp.size()), &*out->version);
      }
    } else {
      check.skip();
    }
  }
  if (out->key.size() > kMaxKeyBytes) {
    return Status::Error(
        Code::kKeyTooLarge,
        Str(what) + ".key is " + std::to_string(out->key.size()) +
            " bytes; the limit is " + std::to_string(kMaxKeyBytes));
  }
  return Status::OK();
}

Status DecodeMutation(pbf_reader mutation, std::string_view what,
                      int64_t now_ms, Mutation* out) {
  int32_t type = 0;
  int32_t encoding = 0;
  std::string data;
  bool has_value = false;
  int64_t expire_at_ms = 0;
  while (mutation.next()) {
    switch (mutation.tag()) {
      case 1:
        KV_RETURN_IF_ERROR(Expect(mutation, kBytesType, Str(what) + ".key"));
        out->key = mutation.get_string();
        break;
      case 2:
        KV_RETURN_IF_ERROR(Expect(mutation, kBytesType, Str(what) + ".value"));
        has_value = true;
        KV_RETURN_IF_ERROR(DecodeValue(mutation.get_message(),
                                       Str(what) + ".value", &encoding, &data));
        break;
      case 3:
        KV_RETURN_IF_ERROR(
            Expect(mutation, kVarintType, Str(what) + ".mutation_type"));
        type = mutation.get_enum();
        break;
      case 4:
        KV_RETURN_IF_ERROR(
            Expect(mutation, kVarintType, Str(what) + ".expire_at_ms"));
        expire_at_ms = mutation.get_int64();
        break;
      case 5:
      case 6:
      case 7:
        // sum_min, sum_max, sum_clamp: bounds of a V8 number sum, which
        // this store does not take (sum needs a KvU64).
        if (mutation.tag() == 7 && mutation.wire_type() == kVarintType) {
          if (ReadBool(&mutation)) {
            return Status::Error(Code::kInvalidRequest,
                                 Str(what) +
                                     ": sum_clamp is not supported; sum "
                                     "takes a KvU64 and wraps at 2^64");
          }
        } else if (mutation.wire_type() == kBytesType &&
                   mutation.get_view().size() == 0) {
          // empty bounds, as Deno's clients send them
        } else {
          return Status::Error(Code::kInvalidRequest,
                               Str(what) +
                                   ": sum_min and sum_max are not supported; "
                                   "sum takes a KvU64 and wraps at 2^64");
        }
        break;
      default:
        mutation.skip();
    }
  }
  const std::string key_what = Str(what) + ".key";
  switch (type) {
    case kDelete:
      out->type = Mutation::Type::kDelete;
      return CheckEncodedKey(out->key, key_what);
    case kSet:
    case kSetVersionstampedKey:
      out->type = Mutation::Type::kSet;
      out->versionstamped_key = type == kSetVersionstampedKey;
      break;
    case kSum:
      out->type = Mutation::Type::kSum;
      break;
    case kMin:
      out->type = Mutation::Type::kMin;
      break;
    case kMax:
      out->type = Mutation::Type::kMax;
      break;
    default:
      return Status::Error(
          Code::kInvalidRequest,
          Str(what) + ".mutation_type is " + std::to_string(type) +
              "; the types are 1 (set), 2 (delete), 3 (sum), 4 (max), "
              "5 (min) and 9 (set with a versionstamped key)");
  }
  if (!has_value) {
    return Status::Error(
        Code::kInvalidRequest,
        Str(what) + " has no value; a " +
            (out->type == Mutation::Type::kSet ? "set" : "sum, min or max") +
            " needs one");
  }
  KV_RETURN_IF_ERROR(CheckEncodedKey(out->key, key_what));
  if (out->versionstamped_key &&
      out->key.size() + kVersionstampSuffixBytes > kMaxKeyBytes) {
    return Status::Error(Code::kKeyTooLarge,
                         key_what + " with its versionstamp part passes " +
                             std::to_string(kMaxKeyBytes) + " bytes");
  }
  const std::string value_what = Str(what) + ".value";
  if (out->type != Mutation::Type::kSet && encoding != kLe64) {
    return Status::Error(Code::kInvalidRequest,
                         value_what +
                             ": sum, min and max take a KvU64 (VE_LE64) "
                             "operand in this store, not a number or bigint");
  }
  KV_RETURN_IF_ERROR(StoreValue(encoding, data, value_what, &out->value));
  // 0 and -1 mean no expiry; any other deadline is absolute.
  if (out->type == Mutation::Type::kSet && expire_at_ms != 0 &&
      expire_at_ms != -1) {
    if (expire_at_ms < 0) {
      return Status::Error(Code::kInvalidExpiry,
                           Str(what) + ".expire_at_ms is " +
                               std::to_string(expire_at_ms) +
                               "; it must be a time in ms since the epoch, "
                               "or 0 for none");
    }
    // Far deadlines are as good as none: keep now + lifetime in range.
    out->expire_in_ms = std::min(expire_at_ms - now_ms, kMaxExpireInMs);
  }
  return Status::OK();
}

// An interval of a backoff schedule, saturated: one past uint32 stays past
// kMaxBackoffIntervalMs, for CheckEnqueue to refuse (not truncated into
// range).
uint32_t Interval(uint64_t ms) {
  return static_cast<uint32_t>(
      std::min<uint64_t>(ms, std::numeric_limits<uint32_t>::max()));
}

Status DecodeEnqueue(pbf_reader enqueue, std::string_view what, int64_t now_ms,
                     Enqueue* out) {
  std::string payload;
  int64_t deadline_ms = 0;
  out->backoff_schedule.clear();  // Deno's default if it stays empty
  while (enqueue.next()) {
    switch (enqueue.tag()) {
      case 1:
        KV_RETURN_IF_ERROR(Expect(enqueue, kBytesType, Str(what) + ".payload"));
        payload = enqueue.get_string();
        break;
      case 2:
        KV_RETURN_IF_ERROR(
            Expect(enqueue, kVarintType, Str(what) + ".deadline_ms"));
        deadline_ms = enqueue.get_int64();
        break;
      case 3:
        KV_RETURN_IF_ERROR(Expect(enqueue, kBytesType,
                                  Indexed(Str(what) + ".keys_if_undelivered",
                                          out->keys_if_undelivered.size())));
        out->keys_if_undelivered.push_back(enqueue.get_string());
        break;
      case 4:
        // proto3 parsers take a repeated scalar packed or not.
        if (enqueue.wire_type() == kBytesType) {
          for (const uint64_t ms : enqueue.get_packed_uint64()) {
            out->backoff_schedule.push_back(Interval(ms));
            if (out->backoff_schedule.size() > kMaxBackoffIntervals) break;
          }
        } else {
          KV_RETURN_IF_ERROR(
              Expect(enqueue, kVarintType, Str(what) + ".backoff_schedule"));
          out->backoff_schedule.push_back(Interval(enqueue.get_uint64()));
        }
        break;
      default:
        enqueue.skip();
    }
    // The lists are bounded as they are read (a body could hold a million
    // keys): one past its limit, CheckEnqueue refuses it.
    if (out->keys_if_undelivered.size() > kMaxUndeliveredKeys ||
        out->backoff_schedule.size() > kMaxBackoffIntervals) {
      return CheckEnqueue(*out, what);
    }
  }
  // The protocol cannot tell an empty schedule from none; denokv reads it as
  // none, and so does this store.
  if (out->backoff_schedule.empty()) {
    out->backoff_schedule.assign(kDefaultBackoffSchedule.begin(),
                                 kDefaultBackoffSchedule.end());
  }
  if (deadline_ms < 0) {
    return Status::Error(Code::kInvalidDelay,
                         Str(what) + ".deadline_ms is " +
                             std::to_string(deadline_ms) +
                             "; it must be a time in ms since the epoch");
  }
  // A past deadline is due now.
  const int64_t delay_ms = std::max<int64_t>(deadline_ms - now_ms, 0);
  if (delay_ms > kMaxQueueDelayMs + kMaxClockSkewMs) {
    return Status::Error(
        Code::kInvalidDelay,
        Str(what) + ".deadline_ms is " + std::to_string(delay_ms) +
            " ms from now; the longest delay is " +
            std::to_string(kMaxQueueDelayMs) + " ms (30 days)");
  }
  out->delay_ms = std::min(delay_ms, kMaxQueueDelayMs);
  for (size_t i = 0; i < out->keys_if_undelivered.size(); ++i) {
    KV_RETURN_IF_ERROR(
        CheckEncodedKey(out->keys_if_undelivered[i],
                        Indexed(Str(what) + ".keys_if_undelivered", i)));
  }
  KV_RETURN_IF_ERROR(
      StoreV8Value(payload, Str(what) + ".payload", &out->value));
  return CheckEnqueue(*out, what);
}

// Appends the KvEntry of `entry` (found) to field `tag` of *writer.
Status AppendEntry(const EntryView& entry, pbf_writer* parent,
                   protozero::pbf_tag_type tag, std::string* scratch) {
  pbf_writer writer(*parent, tag);
  writer.add_bytes(1, entry.key.data(), entry.key.size());
  const ValueForm form = FormOf(entry.value);
  int32_t encoding = kV8;
  std::string_view data;
  if (form == ValueForm::kJson) {
    scratch->clear();
    KV_RETURN_IF_ERROR(JsonToV8(entry.value, scratch));
    data = *scratch;
  } else if (form == ValueForm::kCounter) {
    uint64_t counter;
    DecodeCounter(entry.value, &counter);
    scratch->assign(8, '\0');
    for (int i = 0; i < 8; ++i) {
      (*scratch)[i] = static_cast<char>(counter >> (8 * i));
    }
    encoding = kLe64;
    data = *scratch;
  } else {
    encoding = form == ValueForm::kBytes ? kBytes : kV8;
    data = OpaqueData(entry.value);
  }
  writer.add_bytes(2, data.data(), data.size());
  writer.add_enum(3, encoding);
  const std::string stamp = VersionstampOf(entry.version);
  writer.add_bytes(4, stamp);
  return Status::OK();
}

// Reads `ranges` and writes the SnapshotReadOutput to *out, within
// kMaxSnapshotReadBytes as stored and kMaxSnapshotReadAnswerBytes answered.
Status ReadRanges(Store* store, std::vector<ListRequest>* ranges,
                  std::string* out) {
  pbf_writer output(*out);
  std::string scratch;
  Status status;
  size_t bytes_left = kMaxSnapshotReadBytes;
  std::string range_output;
  for (ListRequest& range : *ranges) {
    range.max_page_bytes = bytes_left;
    // Written apart and then added whole: protozero leaves out an empty
    // nested message, and a range with no entries must still be there.
    range_output.clear();
    pbf_writer entries(range_output);
    const EntryVisitor visit = [&](const EntryView& entry) {
      if (!status.ok()) return;
      const size_t bytes = entry.key.size() + entry.value.size();
      bytes_left -= std::min(bytes, bytes_left);
      status = AppendEntry(entry, &entries, 1, &scratch);
      if (status.ok() &&
          out->size() + range_output.size() > kMaxSnapshotReadAnswerBytes) {
        status = Status::Error(
            Code::kReadTooLarge,
            "the read's entries pass " +
                std::to_string(kMaxSnapshotReadAnswerBytes) +
                " bytes in V8's format; read fewer entries at a time (a "
                "smaller batchSize or limit)");
      }
    };
    if (HoldsOneKey(range.selector)) {
      // Deno's get: a point read, as the JSON get's (half the cost of a
      // range statement), at the same one operation.
      ReadRequest read;
      read.keys.push_back(range.selector.lower);
      KV_RETURN_IF_ERROR(store->Read(read, [&](const EntryView& entry) {
        if (entry.found) visit(entry);
      }));
    } else {
      std::optional<std::string> resume_after;  // a whole page has none
      KV_RETURN_IF_ERROR(store->List(range, visit, &resume_after));
    }
    KV_RETURN_IF_ERROR(status);
    output.add_message(1, range_output);
  }
  output.add_bool(2, false);  // read_disabled
  output.add_bool(4, true);   // read_is_strongly_consistent
  output.add_enum(8, kReadSuccess);
  return Status::OK();
}

}  // namespace

Status DecodeSnapshotRead(std::string_view body,
                          std::vector<ListRequest>* ranges) {
  return Guarded("the SnapshotRead", [&]() -> Status {
    pbf_reader read(body.data(), body.size());
    size_t entries = 0;
    while (read.next()) {
      if (read.tag() != 1) {
        read.skip();
        continue;
      }
      KV_RETURN_IF_ERROR(AppendMessage(&read, "read", "ranges", ranges,
                                       kMaxReadRanges, Code::kTooManyKeys,
                                       DecodeRange));
      entries += ranges->back().limit;
    }
    if (entries > kMaxReadEntries) {
      return Status::Error(
          Code::kTooManyKeys,
          "the read's ranges ask for " + std::to_string(entries) +
              " entries; the limit is " + std::to_string(kMaxReadEntries) +
              " over all ranges");
    }
    return Status::OK();
  });
}

Status DecodeAtomicWrite(std::string_view body, int64_t now_ms,
                         CommitRequest* request) {
  return Guarded("the AtomicWrite", [&]() -> Status {
    pbf_reader write(body.data(), body.size());
    while (write.next()) {
      switch (write.tag()) {
        case 1:
          KV_RETURN_IF_ERROR(AppendMessage(
              &write, "write", "checks", &request->checks, kMaxChecksPerCommit,
              Code::kTooManyChecks, DecodeCheck));
          break;
        case 2:
          KV_RETURN_IF_ERROR(AppendMessage(
              &write, "write", "mutations", &request->mutations,
              kMaxMutationsPerCommit, Code::kTooManyMutations,
              [now_ms](pbf_reader mutation, std::string_view what,
                       Mutation* out) {
                return DecodeMutation(mutation, what, now_ms, out);
              }));
          break;
        case 3:
          KV_RETURN_IF_ERROR(
              AppendMessage(&write, "write", "enqueues", &request->enqueues,
                            kMaxEnqueuesPerCommit, Code::kTooManyEnqueues,
                            [now_ms](pbf_reader enqueue, std::string_view what,
                                     Enqueue* out) {
                              return DecodeEnqueue(enqueue, what, now_ms, out);
                            }));
          break;
        default:
          write.skip();
      }
    }
    return CheckCommitLimits(*request);
  });
}

Status DecodeWatch(std::string_view body, ReadRequest* request) {
  return Guarded("the Watch", [&]() -> Status {
    pbf_reader watch(body.data(), body.size());
    while (watch.next()) {
      if (watch.tag() != 1) {
        watch.skip();
        continue;
      }
      const std::string what = Indexed("keys", request->keys.size());
      KV_RETURN_IF_ERROR(Expect(watch, kBytesType, what));
      if (request->keys.size() == kMaxKeysPerWatch) {
        return TooMany(Code::kTooManyKeys, "watch", "keys", kMaxKeysPerWatch);
      }
      std::string key;
      pbf_reader watch_key = watch.get_message();
      while (watch_key.next()) {
        if (watch_key.tag() != 1) {
          watch_key.skip();
          continue;
        }
        KV_RETURN_IF_ERROR(Expect(watch_key, kBytesType, what + ".key"));
        key = watch_key.get_string();
      }
      if (key.size() > kMaxKeyBytes) {
        return Status::Error(Code::kKeyTooLarge,
                             what + ".key is " + std::to_string(key.size()) +
                                 " bytes; the limit is " +
                                 std::to_string(kMaxKeyBytes));
      }
      request->keys.push_back(std::move(key));
    }
    if (request->keys.empty()) {
      return Status::Error(Code::kTooManyKeys,
                           "the watch has no keys; it takes 1 to " +
                               std::to_string(kMaxKeysPerWatch));
    }
    return Status::OK();
  });
}

Status SnapshotRead(Store* store, std::string_view body, std::string* out) {
  std::vector<ListRequest> ranges;
  KV_RETURN_IF_ERROR(DecodeSnapshotRead(body, &ranges));
  // A read refused partway costs nothing for the ranges that ran.
  const uint64_t deferred = store->deferred_operations();
  const Status status = ReadRanges(store, &ranges, out);
  if (!status.ok()) store->Refund(deferred);
  return status;
}

Status AtomicWrite(Store* store, std::string_view body, int64_t now_ms,
                   std::string* out, CommitResult* result) {
  CommitRequest request;
  KV_RETURN_IF_ERROR(DecodeAtomicWrite(body, now_ms, &request));
  KV_RETURN_IF_ERROR(store->Commit(request, result));
  pbf_writer output(*out);
  if (!result->ok) {
    output.add_enum(1, kWriteCheckFailure);
    std::vector<uint32_t> failed(result->failed_checks.begin(),
                                 result->failed_checks.end());
    output.add_packed_uint32(4, failed.begin(), failed.end());
    return Status::OK();
  }
  output.add_enum(1, kWriteSuccess);
  output.add_bytes(2, VersionstampOf(result->version));
  return Status::OK();
}

Status Watch(Store* store, std::string_view body, bool charge,
             std::string* out) {
  ReadRequest request;
  KV_RETURN_IF_ERROR(kv_connect::DecodeWatch(body, &request));
  const size_t start = out->size();
  out->append(4, '\0');  // the frame's length, filled in below
  std::string frame;
  std::string scratch;
  Status status;
  {
    pbf_writer output(frame);
    output.add_enum(1, kReadSuccess);
    KV_RETURN_IF_ERROR(store->Read(
        request,
        [&](const EntryView& entry) {
          if (!status.ok()) return;
          pbf_writer key_output(output, 2);
          key_output.add_bool(1, true);  // changed: the host sends news only
          if (entry.found) {
            status = AppendEntry(entry, &key_output, 2, &scratch);
          }
        },
        charge));
  }
  KV_RETURN_IF_ERROR(status);
  const uint32_t length = static_cast<uint32_t>(frame.size());
  for (int i = 0; i < 4; ++i) {
    (*out)[start + i] = static_cast<char>(length >> (8 * i));
  }
  out->append(frame);
  return Status::OK();
}

}  // namespace kv_connect
}  // namespace kv
