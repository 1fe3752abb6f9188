#include "service.h"

#include <algorithm>
#include <boost/json/serialize.hpp>
#include <boost/json/string_view.hpp>

#include "base64.h"
#include "counter.h"
#include "cursor.h"
#include "json_request.h"
#include "key_codec.h"
#include "kv_connect.h"
#include "kv_limits.h"
#include "stored_value.h"

namespace kv {
namespace {

void AppendJsonString(std::string_view text, std::string* out) {
  out->append(boost::json::serialize(
      boost::json::string_view(text.data(), text.size())));
}

void AppendVersion(Version version, std::string* out) {
  out->push_back('"');
  out->append(FormatVersion(version));
  out->push_back('"');
}

template <typename T>
void AppendOptional(const std::optional<T>& value, std::string* out) {
  out->append(value ? std::to_string(*value) : "null");
}

// ,"cursor":"..." (resuming `selector` after the key `resume_after`) or
// ,"cursor":null
void AppendCursor(const Selector& selector,
                  const std::optional<std::string>& resume_after,
                  std::string* out) {
  out->append(",\"cursor\":");
  if (resume_after) {
    AppendJsonString(MakeCursor(selector, *resume_after), out);
  } else {
    out->append("null");
  }
}

// ,"value":... with its "valueType" unless it is JSON (docs/http-api.md).
void AppendValue(std::string_view stored, std::string* out) {
  const ValueForm form = FormOf(stored);
  if (form == ValueForm::kJson) {
    out->append(",\"value\":");
    out->append(stored);
    return;
  }
  if (form == ValueForm::kCounter) {
    uint64_t counter;
    DecodeCounter(stored, &counter);
    out->append(",\"value\":\"" + std::to_string(counter) +
                "\",\"valueType\":\"u64\"");
    return;
  }
  out->append(",\"value\":\"");
  AppendBase64(OpaqueData(stored), out);
  out->append(form == ValueForm::kBytes ? "\",\"valueType\":\"bytes\""
                                        : "\",\"valueType\":\"v8\"");
}

// {"key":...,"value":...,"version":...[,"expiresAt":ms]}; a missing entry
// has null value and version.
Status AppendEntry(const EntryView& entry, bool with_value,
                   const Selector* cursor_of, std::string* out) {
  out->append("{\"key\":");
  // Written from its encoding, so the key comes back canonical.
  KV_RETURN_IF_ERROR(AppendKeyJson(entry.key, out));
  if (!entry.found) {
    out->append(",\"value\":null,\"version\":null}");
    return Status::OK();
  }
  if (with_value) AppendValue(entry.value, out);
  out->append(",\"version\":");
  AppendVersion(entry.version, out);
  if (entry.expires_at_ms) {
    out->append(",\"expiresAt\":");
    out->append(std::to_string(*entry.expires_at_ms));
  }
  if (cursor_of != nullptr) {
    // Resumes right after this entry: a client can stop anywhere in a page.
    out->append(",\"cursor\":");
    AppendJsonString(MakeCursor(*cursor_of, entry.key), out);
  }
  out->push_back('}');
  return Status::OK();
}

// Collects entries from a Store visitor into a JSON array, keeping the first
// error (a visitor cannot return one).
class EntryWriter {
 public:
  // `cursor_of`: the selector of a list, whose entries carry cursors.
  EntryWriter(std::string* out, bool with_values,
              const Selector* cursor_of = nullptr)
      : out_(out), with_values_(with_values), cursor_of_(cursor_of) {
    out_->push_back('[');
  }
  EntryVisitor visitor() {
    return [this](const EntryView& entry) {
      if (!status_.ok()) return;
      if (count_++ > 0) out_->push_back(',');
      status_ = AppendEntry(entry, with_values_, cursor_of_, out_);
    };
  }
  Status Close() {
    out_->push_back(']');
    return status_;
  }

 private:
  std::string* out_;
  bool with_values_;
  const Selector* cursor_of_;
  size_t count_ = 0;
  Status status_;
};

using ReadDecoder = Status (*)(std::string_view, ReadRequest*);

Status Read(Store* store, ReadDecoder decode, bool charge,
            std::string_view body, Response* response) {
  ReadRequest request;
  KV_RETURN_IF_ERROR(decode(body, &request));
  response->body.append("{\"entries\":");
  EntryWriter writer(&response->body, true);
  KV_RETURN_IF_ERROR(store->Read(request, writer.visitor(), charge));
  KV_RETURN_IF_ERROR(writer.Close());
  response->body.push_back('}');
  return Status::OK();
}

Status List(Store* store, std::string_view body, Response* response) {
  ListRequest request;
  KV_RETURN_IF_ERROR(DecodeList(body, &request));
  response->body.append("{\"entries\":");
  EntryWriter writer(&response->body, !request.keys_only, &request.selector);
  std::optional<std::string> resume_after;
  KV_RETURN_IF_ERROR(store->List(request, writer.visitor(), &resume_after));
  KV_RETURN_IF_ERROR(writer.Close());
  AppendCursor(request.selector, resume_after, &response->body);
  response->body.push_back('}');
  return Status::OK();
}

Status Count(Store* store, std::string_view body, Response* response) {
  CountRequest request;
  KV_RETURN_IF_ERROR(DecodeCount(body, &request));
  uint64_t count;
  std::optional<std::string> resume_after;
  KV_RETURN_IF_ERROR(store->Count(request, &count, &resume_after));
  response->body.append("{\"count\":" + std::to_string(count));
  AppendCursor(request.selector, resume_after, &response->body);
  response->body.push_back('}');
  return Status::OK();
}

using CommitDecoder = Status (*)(std::string_view, CommitRequest*);

Status Commit(Store* store, CommitDecoder decode, bool report_deleted,
              std::string_view body, Response* response) {
  CommitRequest request;
  KV_RETURN_IF_ERROR(decode(body, &request));
  CommitResult result;
  KV_RETURN_IF_ERROR(store->Commit(request, &result));
  std::string& out = response->body;
  if (!result.ok) {
    out.append("{\"ok\":false,\"failedChecks\":[");
    for (size_t i = 0; i < result.failed_checks.size(); ++i) {
      if (i > 0) out.push_back(',');
      out.append(std::to_string(result.failed_checks[i]));
    }
    out.append("]}");
    return Status::OK();
  }
  out.append("{\"ok\":true,");
  if (report_deleted) {
    out.append(result.entries_deleted > 0 ? "\"deleted\":true,"
                                          : "\"deleted\":false,");
  }
  out.append("\"version\":");
  AppendVersion(result.version, &out);
  out.push_back('}');
  response->wake_at_ms = result.earliest_expiry_ms;
  return Status::OK();
}

Status Usage(Store* store, std::string_view, Response* response) {
  const StoreState& state = store->state();
  std::string& out = response->body;
  out.append("{\"limits\":{\"opsPerMonth\":");
  AppendOptional(state.limits.ops_per_month, &out);
  out.append(",\"storageBytes\":");
  AppendOptional(state.limits.storage_bytes, &out);
  char month[16];
  std::snprintf(month, sizeof month, "\"%04u-%02u\"", state.usage_month / 100,
                state.usage_month % 100);
  out.append("},\"usage\":{\"month\":");
  out.append(month);
  out.append(",\"operations\":" + std::to_string(store->UsedOperations()) +
             ",\"storageBytes\":" + std::to_string(state.storage_bytes) +
             ",\"resetsAt\":\"" +
             FormatUtcMidnight(StartOfNextMonthMs(state.usage_month)) + "\"}}");
  return Status::OK();
}

// Usage, and the last kDailyUsageDays days of it:
// ,"daily":[{"date":"2026-11-03","operations":n,"storageBytes":n},...]
Status UsageWithDaily(Store* store, std::string_view body, Response* response) {
  KV_RETURN_IF_ERROR(Usage(store, body, response));
  std::vector<Store::DayUsage> days;
  KV_RETURN_IF_ERROR(store->Daily(&days));
  std::string& out = response->body;
  out.pop_back();  // the object's closing brace
  out.append(",\"daily\":[");
  for (size_t i = 0; i < days.size(); ++i) {
    if (i > 0) out.push_back(',');
    out.append(
        "{\"date\":\"" + FormatUtcMidnight(days[i].day_start_ms).substr(0, 10) +
        "\",\"operations\":" + std::to_string(days[i].operations) +
        ",\"storageBytes\":" + std::to_string(days[i].storage_bytes) + "}");
  }
  out.append("]}");
  return Status::OK();
}

Status Create(Store* store, std::string_view body, Response* response) {
  SettingsRequest settings;
  KV_RETURN_IF_ERROR(DecodeSettings(body, &settings));
  KV_RETURN_IF_ERROR(store->Create(settings));
  return Usage(store, body, response);
}

Status Configure(Store* store, std::string_view body, Response* response) {
  SettingsRequest settings;
  KV_RETURN_IF_ERROR(DecodeSettings(body, &settings));
  if (settings.credential) {
    return Status::Error(Code::kInvalidRequest,
                         "configure changes limits; rotate changes the "
                         "credential");
  }
  KV_RETURN_IF_ERROR(store->Configure(settings));
  return Usage(store, body, response);
}

// {"previous":"<hex of the credential replaced>","generation":n}
Status Rotate(Store* store, std::string_view body, Response* response) {
  SettingsRequest settings;
  KV_RETURN_IF_ERROR(DecodeSettings(body, &settings));
  if (!settings.credential || settings.ops_per_month ||
      settings.storage_bytes) {
    return Status::Error(Code::kInvalidRequest,
                         "rotate takes a credential and nothing else");
  }
  std::string previous;
  uint64_t generation;
  KV_RETURN_IF_ERROR(
      store->Rotate(*settings.credential, &previous, &generation));
  std::string& out = response->body;
  out.append("{\"previous\":\"");
  AppendHex(previous, &out);
  out.append("\",\"generation\":" + std::to_string(generation) + "}");
  return Status::OK();
}

Status Retire(Store* store, std::string_view, Response* response) {
  KV_RETURN_IF_ERROR(store->Retire());
  response->body = "{\"deleted\":true}";
  return Status::OK();
}

Status Stats(Store* store, std::string_view body, Response* response) {
  KV_RETURN_IF_ERROR(store->RequireLive());
  return UsageWithDaily(store, body, response);
}

Status Purge(Store* store, std::string_view, Response* response) {
  uint64_t purged;
  bool more;
  std::optional<int64_t> next_expiry;
  KV_RETURN_IF_ERROR(store->PurgeExpired(&purged, &more, &next_expiry));
  response->body.append("{\"purged\":" + std::to_string(purged) + ",\"more\":" +
                        (more ? "true" : "false") + ",\"nextExpiry\":");
  AppendOptional(next_expiry, &response->body);
  response->body.push_back('}');
  response->wake_at_ms = next_expiry;
  return Status::OK();
}

// {"folded":n}: the deferred operations written to the state row.
Status Fold(Store* store, std::string_view, Response* response) {
  const uint64_t deferred = store->deferred_operations();
  store->Fold();
  response->body = "{\"folded\":" + std::to_string(deferred) + "}";
  return Status::OK();
}

// The queue's operations (docs/queues.md).

// {"concurrency":n,"visibilityTimeout":ms}: a listener's window, checked
// before the host opens its stream.
Status QueueListen(Store* store, std::string_view body, Response* response) {
  KV_RETURN_IF_ERROR(store->RequireLive());
  ListenRequest request;
  KV_RETURN_IF_ERROR(DecodeListen(body, &request));
  response->body =
      "{\"concurrency\":" + std::to_string(request.concurrency) +
      ",\"visibilityTimeout\":" + std::to_string(request.visibility_ms) + "}";
  return Status::OK();
}

// The host's lease: a first line {"deadLettered":n,"nextWake":ms|null}, then
// one line per message leased, {"id":n,"delivery":n,"attempt":n,"value":...}
// (each a listener's event as it is).
Status QueueLease(Store* store, std::string_view body, Response* response) {
  ListenRequest request;
  KV_RETURN_IF_ERROR(DecodeLease(body, &request));
  Store::LeaseResult result;
  KV_RETURN_IF_ERROR(store->LeaseMessages(request.concurrency,
                                          request.visibility_ms, &result));
  std::string& out = response->body;
  out.append("{\"deadLettered\":" + std::to_string(result.dead_lettered) +
             ",\"nextWake\":");
  AppendOptional(result.next_wake_ms, &out);
  out.push_back('}');
  for (const Store::LeasedMessage& message : result.messages) {
    out.append("\n{\"id\":" + std::to_string(message.id) +
               ",\"delivery\":" + std::to_string(message.delivery) +
               ",\"attempt\":" + std::to_string(message.failures));
    AppendValue(message.value, &out);
    out.push_back('}');
  }
  response->wake_at_ms = result.next_wake_ms;
  return Status::OK();
}

// {"outcomes":["acked"|"retrying"|"dead_lettered"|"stale",...]}
Status QueueSettle(Store* store, std::string_view body, Response* response) {
  std::vector<Settle> request;
  KV_RETURN_IF_ERROR(DecodeSettle(body, &request));
  std::string& out = response->body;
  out.append("{\"outcomes\":[");
  for (size_t i = 0; i < request.size(); ++i) {
    Store::Settlement settlement;
    KV_RETURN_IF_ERROR(store->SettleMessage(request[i].id, request[i].delivery,
                                            request[i].ok, &settlement,
                                            &response->wake_at_ms));
    if (i > 0) out.push_back(',');
    out.append(settlement == Store::Settlement::kAcked      ? "\"acked\""
               : settlement == Store::Settlement::kRetrying ? "\"retrying\""
               : settlement == Store::Settlement::kDeadLettered
                   ? "\"dead_lettered\""
                   : "\"stale\"");
  }
  out.append("]}");
  return Status::OK();
}

// The operator's view of the queue: {"depth":n,"ready":n,"delayed":n,
// "inFlight":n,"oldestAgeMs":ms|null,"delivered":n,"retried":n,
// "deadLettered":n} (the host adds its listeners).
Status QueueStats(Store* store, std::string_view, Response* response) {
  KV_RETURN_IF_ERROR(store->RequireLive());
  Store::QueueStats stats;
  KV_RETURN_IF_ERROR(store->ReadQueueStats(&stats));
  std::optional<int64_t> oldest_age;
  if (stats.oldest_enqueued_at_ms) {
    oldest_age =
        std::max<int64_t>(0, store->now_ms() - *stats.oldest_enqueued_at_ms);
  }
  std::string& out = response->body;
  out.append("{\"depth\":" + std::to_string(stats.depth) +
             ",\"ready\":" + std::to_string(stats.ready) +
             ",\"delayed\":" + std::to_string(stats.delayed) +
             ",\"inFlight\":" + std::to_string(stats.in_flight) +
             ",\"oldestAgeMs\":");
  AppendOptional(oldest_age, &out);
  out.append(",\"delivered\":" + std::to_string(stats.delivered) +
             ",\"retried\":" + std::to_string(stats.retried) +
             ",\"deadLettered\":" + std::to_string(stats.dead_lettered) + "}");
  return Status::OK();
}

// KV Connect's operations (kv_connect.h): protobuf in and out.
Status ConnectRead(Store* store, const Request& request, Response* response) {
  return kv_connect::SnapshotRead(store, request.body, &response->body);
}

Status ConnectWrite(Store* store, const Request& request, Response* response) {
  CommitResult result;
  KV_RETURN_IF_ERROR(kv_connect::AtomicWrite(
      store, request.body, request.now_ms, &response->body, &result));
  response->wake_at_ms = result.earliest_expiry_ms;
  return Status::OK();
}

// The wire format of an operation's body and answer (errors included).
enum class Wire { kJson, kProtobuf };

struct Operation {
  std::string_view name;
  bool authenticated;  // false: the Worker's own, never routed from outside
  Wire wire;
  Status (*run)(Store*, const Request&, Response*);
};

// A JSON operation that needs only the request's body.
template <Status (*Run)(Store*, std::string_view, Response*)>
Status WithBody(Store* store, const Request& request, Response* response) {
  return Run(store, request.body, response);
}

constexpr Operation kOperations[] = {
    {"get", true, Wire::kJson,
     [](Store* s, const Request& q, Response* r) {
       return Read(s, DecodeGet, true, q.body, r);
     }},
    // A watch opens with "watch" and re-reads its keys with "peek" after
    // each commit: only opening costs operations.
    {"watch", true, Wire::kJson,
     [](Store* s, const Request& q, Response* r) {
       return Read(s, DecodeWatch, true, q.body, r);
     }},
    {"peek", true, Wire::kJson,
     [](Store* s, const Request& q, Response* r) {
       return Read(s, DecodeWatch, false, q.body, r);
     }},
    {"set", true, Wire::kJson,
     [](Store* s, const Request& q, Response* r) {
       return Commit(s, DecodeSet, false, q.body, r);
     }},
    {"delete", true, Wire::kJson,
     [](Store* s, const Request& q, Response* r) {
       return Commit(s, DecodeDelete, true, q.body, r);
     }},
    {"atomic", true, Wire::kJson,
     [](Store* s, const Request& q, Response* r) {
       return Commit(s, DecodeAtomic, false, q.body, r);
     }},
    {"list", true, Wire::kJson, WithBody<List>},
    {"count", true, Wire::kJson, WithBody<Count>},
    {"usage", true, Wire::kJson, WithBody<UsageWithDaily>},
    {"queue", true, Wire::kJson, WithBody<QueueStats>},
    {"queue_listen", true, Wire::kJson, WithBody<QueueListen>},
    {"queue_settle", true, Wire::kJson, WithBody<QueueSettle>},
    {"kvc_snapshot_read", true, Wire::kProtobuf, ConnectRead},
    {"kvc_atomic_write", true, Wire::kProtobuf, ConnectWrite},
    // As "watch" and "peek": one frame of the stream.
    {"kvc_watch", true, Wire::kProtobuf,
     [](Store* s, const Request& q, Response* r) {
       return kv_connect::Watch(s, q.body, true, &r->body);
     }},
    {"kvc_peek", true, Wire::kProtobuf,
     [](Store* s, const Request& q, Response* r) {
       return kv_connect::Watch(s, q.body, false, &r->body);
     }},
    {"create", false, Wire::kJson, WithBody<Create>},
    {"configure", false, Wire::kJson, WithBody<Configure>},
    {"rotate", false, Wire::kJson, WithBody<Rotate>},
    {"retire", false, Wire::kJson, WithBody<Retire>},
    {"stats", false, Wire::kJson, WithBody<Stats>},
    {"purge", false, Wire::kJson, WithBody<Purge>},
    {"fold", false, Wire::kJson, WithBody<Fold>},
    {"queue_lease", false, Wire::kJson, WithBody<QueueLease>},
    {"queue_stats", false, Wire::kJson, WithBody<QueueStats>},
};

const Operation* FindOperation(std::string_view name) {
  for (const Operation& candidate : kOperations) {
    if (candidate.name == name) return &candidate;
  }
  return nullptr;
}

// The digest an Idempotency-Key is kept with: the operation and the body,
// as two 64-bit FNV-1a hashes (of each byte, and of the body's length and
// each byte again with another basis). It tells a retry from another
// request that reuses the key; a client can only collide with itself.
std::string RequestDigest(std::string_view operation, std::string_view body) {
  uint64_t first = 14695981039346656037ull;
  uint64_t second = 1099511628211ull * body.size() ^ 0x9e3779b97f4a7c15ull;
  const auto mix = [&](std::string_view bytes) {
    for (unsigned char byte : bytes) {
      first = (first ^ byte) * 1099511628211ull;
      second = (second ^ byte) * 1099511628211ull + 1;
    }
  };
  mix(operation);
  mix(std::string_view("\0", 1));
  mix(body);
  std::string digest;
  for (uint64_t half : {first, second}) {
    for (int shift = 56; shift >= 0; shift -= 8) {
      digest.push_back(static_cast<char>(half >> shift));
    }
  }
  return digest;
}

Status CheckIdempotencyKey(std::string_view key, std::string_view operation) {
  if (operation != "set" && operation != "delete" && operation != "atomic") {
    return Status::Error(Code::kInvalidIdempotencyKey,
                         "only writes (set, delete, atomic) take an "
                         "Idempotency-Key");
  }
  bool valid = !key.empty() && key.size() <= kMaxIdempotencyKeyBytes;
  for (char c : key) {
    valid = valid && ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                      (c >= '0' && c <= '9') || c == '_' || c == '-');
  }
  if (valid) return Status::OK();
  return Status::Error(Code::kInvalidIdempotencyKey,
                       "the Idempotency-Key must be 1 to " +
                           std::to_string(kMaxIdempotencyKeyBytes) +
                           " characters of A-Z, a-z, 0-9, _ and -");
}

// Runs `operation`; with an Idempotency-Key, answers a retry with the kept
// outcome instead, and keeps the outcome of a first request that succeeded
// (in its transaction, so it is kept exactly when the write is).
Status RunOnce(Store* store, const Operation* operation, const Request& request,
               Response* response) {
  const std::string_view key = request.idempotency_key;
  if (key.empty()) return operation->run(store, request, response);
  KV_RETURN_IF_ERROR(CheckIdempotencyKey(key, request.operation));
  const std::string digest = RequestDigest(request.operation, request.body);
  std::optional<Store::Outcome> outcome;
  KV_RETURN_IF_ERROR(store->RecallOutcome(key, digest, &outcome));
  if (outcome) {
    response->http_status = outcome->status;
    response->body = std::move(outcome->response);
    response->replayed = true;
    return Status::OK();
  }
  KV_RETURN_IF_ERROR(operation->run(store, request, response));
  return store->RememberOutcome(key, digest,
                                {response->http_status, response->body});
}

Status Run(Store* store, const Operation* operation, const Request& request,
           Response* response) {
  if (operation == nullptr) {
    return Status::Error(
        Code::kNotFound,
        "no operation \"" + std::string(request.operation) + "\"");
  }
  response->deferred_operations = request.deferred_operations;
  KV_RETURN_IF_ERROR(store->Begin(request.now_ms, request.deferred_operations,
                                  request.state_row));
  response->state_row = store->state_row();
  // A refused credential writes nothing, not even a new usage month.
  if (operation->authenticated) {
    KV_RETURN_IF_ERROR(store->Authenticate(request.credential));
  }
  Status status = RunOnce(store, operation, request, response);
  // Refusing a client's mistake took the store's time: it costs too. A
  // refusal for the quota costs nothing (there is nothing left to charge).
  if (operation->authenticated && !status.ok() && status.http_status() >= 400 &&
      status.http_status() < 500 && status.code() != Code::kQuotaExceeded) {
    store->ChargeRefusal();
  }
  if (operation->authenticated) response->quota = store->Quota();
  // A refused request may still have started a new usage month: keep it.
  KV_RETURN_IF_ERROR(store->End());
  response->deferred_operations = store->deferred_operations();
  response->state_row = store->state_row();
  return status;
}

}  // namespace

Response Handle(Store* store, const Request& request) {
  Response response;
  const Operation* operation = FindOperation(request.operation);
  Status status = Run(store, operation, request, &response);
  if (status.ok() && response.body.size() > kMaxResponseBytes) {
    // The page bounds make this unreachable; if they fail, refuse rather
    // than hand the host a response no bound was meant to allow.
    status = Status::Error(Code::kInternalError,
                           "the response would be " +
                               std::to_string(response.body.size()) +
                               " bytes, past the core's limit of " +
                               std::to_string(kMaxResponseBytes));
  }
  if (status.ok()) return response;
  response.http_status = status.http_status();
  response.failed = status.code() == Code::kStorageError ||
                    status.code() == Code::kInternalError;
  response.wake_at_ms.reset();
  if (response.failed) response.state_row.clear();  // rolled back: reload it
  if (operation != nullptr && operation->wire == Wire::kProtobuf) {
    // KV Connect: plain text, and 5xx only for what a retry may cure (its
    // clients retry a 5xx forever), so a full store answers 400.
    if (!response.failed && response.http_status >= 500) {
      response.http_status = 400;
    }
    response.body = std::string(status.error_code()) + ": " + status.message();
    return response;
  }
  response.body = "{\"error\":{\"code\":\"";
  response.body.append(status.error_code());
  response.body.append("\",\"message\":");
  AppendJsonString(status.message(), &response.body);
  response.body.append("}}");
  return response;
}

}  // namespace kv
