// Store: the key-value semantics over one Storage.
//
// Reads see one consistent state; a commit evaluates all its checks first
// and then writes all its mutations under one new version, or writes
// nothing. Quotas are enforced here: a request that would go past the
// store's operations or storage limit is refused whole and costs nothing.
//
// Reads write nothing. The operations a request charges are deferred: the
// host keeps their count in memory (deferred_operations()) and passes it to
// the next Begin. They are folded into the state row by the next request
// that writes it anyway (a commit, a setting, a new month) or by Fold, which
// the host calls at most kUsageFoldIntervalMs after the first deferred
// charge. Quota checks count them, so a store at its limit is refused at
// once. A host that dies loses its deferred count, never more; since it
// adopts the count only after the transaction commits, nothing is counted
// twice.
//
// The state row is read once per request unless the host passes the row it
// holds from the previous request (state_row()): the host's object is its
// storage's only writer, so that row is what storage holds as long as every
// transaction since committed. The host adopts a request's state row only
// once its transaction committed, and drops it on a rollback.
// Requests come in decoded and validated (model.h), whatever their wire
// format; Store only talks to storage and returns data, never wire bytes. Every
// request is Begin, any calls, End, inside the host's transaction: on
// kStorageError the host rolls back what it had written.

#ifndef KV_WORKER_STORE_H_
#define KV_WORKER_STORE_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "model.h"
#include "status.h"
#include "storage.h"

namespace kv {

// A commit number. Users see it as a 20-hex-digit version string.
using Version = uint64_t;

// The version string of commit `version`: 16 hex digits of the commit number
// and 4 of the entry's place within the commit (always 0 today), so that
// versions keep Deno KV's 10-byte versionstamp shape.
std::string FormatVersion(Version version);
// The same version as Deno KV's 10-byte versionstamp (the digits' bytes).
std::string VersionstampOf(Version version);

// A calendar month in UTC as YYYYMM, and the instant the next one starts.
uint32_t MonthOf(int64_t now_ms);
int64_t StartOfNextMonthMs(uint32_t month);
// The date of `ms` at midnight UTC, as "2026-12-01T00:00:00Z".
std::string FormatUtcMidnight(int64_t ms);
constexpr int64_t kMsPerDay = 24 * 3600 * 1000;

// An entry as read. Its views borrow from storage's result and are valid
// only during the callback they are passed to.
struct EntryView {
  bool found;
  std::string_view key;    // encoded
  std::string_view value;  // stored form (stored_value.h); empty for a
                           // keys-only list
  Version version;
  std::optional<int64_t> expires_at_ms;
};
using EntryVisitor = std::function<void(const EntryView&)>;

struct CommitResult {
  bool ok = false;
  Version version = 0;                // when ok
  std::vector<size_t> failed_checks;  // indexes, when !ok
  size_t entries_deleted = 0;         // delete mutations that found an entry
  std::optional<int64_t> earliest_expiry_ms;  // of the entries it wrote
};

// Where a store is in its life. The Worker's own directory is kNew forever;
// a store is created once and deleted once, and never comes back: only
// `create` moves it out of kNew, and nothing moves it out of kDeleted.
enum class Lifecycle : int64_t { kNew = 0, kLive = 1, kDeleted = 2 };

// The store's persistent state: one row, read by Begin, written by End.
struct StoreState {
  std::string credential;  // SHA-256 of the access token; empty: none
  // Bumped by each credential change, so the Worker's directory can tell
  // which of two racing rotations is the later one.
  uint64_t credential_generation = 0;
  Lifecycle lifecycle = Lifecycle::kNew;
  Version version = 0;  // of the last commit
  Limits limits;
  uint32_t usage_month = 0;    // YYYYMM that usage_ops counts
  uint64_t usage_ops = 0;      // as written: without the deferred operations
  uint64_t storage_bytes = 0;  // encoded keys plus values of stored rows
};

// What the RateLimit-* headers report for the monthly operations quota.
struct QuotaReport {
  uint64_t limit;
  uint64_t remaining;
  int64_t resets_at_ms;
};

class Store {
 public:
  explicit Store(Storage* storage) : storage_(storage) {}

  // Creates the schema if it does not exist yet.
  Status Migrate();

  // Starts a request at time `now_ms`, with `deferred_operations` charged
  // since the last fold (the host's count): loads the state (from
  // `state_row`, the host's copy of state_row() after its last committed
  // request, or from storage when it is empty) and, when the UTC month has
  // changed since the last request, starts a new usage count (dropping the
  // deferred ones, which belong to the month that ended).
  Status Begin(int64_t now_ms, uint64_t deferred_operations = 0,
               std::string_view state_row = {});
  // Ends a request: when the request changed the state, folds the deferred
  // operations into it and writes it back.
  Status End();
  // The state row as storage holds it: as loaded by Begin, or as written
  // by End (sql_wire's rows encoding, one row of kSelectState's columns).
  const std::string& state_row() const { return state_row_; }
  // Operations charged and not yet written, after End: the host keeps the
  // count for the next Begin (once its transaction committed).
  uint64_t deferred_operations() const { return deferred_operations_; }
  // Makes End write the state when operations are deferred, folding them.
  void Fold();
  // Takes back what this request charged past `deferred_operations` (the
  // count before its first charge): a request made of several reads that
  // is refused partway costs nothing for the parts that ran.
  void Refund(uint64_t deferred_operations);

  // OK when `credential` (a token's SHA-256) is this store's, compared in
  // constant time; kInvalidToken otherwise. A store without a credential
  // (the Worker's own directory) accepts only an empty one.
  Status Authenticate(std::string_view credential) const;

  // Settings from the Worker. Create sets up a new store with `credential`
  // (the free tier's limits where `settings` leaves them out); it refuses a
  // store that was ever created. Configure changes limits, Rotate the
  // credential (reporting the one it replaced and the new generation), and
  // Retire marks the store deleted after the host erased its data. All but
  // Create refuse a store that is not live with kStoreNotFound, so a
  // setting racing a delete can never bring the store back.
  Status Create(const SettingsRequest& settings);
  Status Configure(const SettingsRequest& settings);
  Status Rotate(std::string_view credential, std::string* previous,
                uint64_t* generation);
  Status Retire();
  // kStoreNotFound unless the store is live.
  Status RequireLive() const;

  // Reads each key of `request` and passes its entry to `visit`, in order.
  // Costs one operation per key when `charge` (a watch re-reading its keys
  // after a commit does not).
  Status Read(const ReadRequest& request, const EntryVisitor& visit,
              bool charge = true);

  // Lists live entries in key order (descending when reversed), passing each
  // to `visit`: at most the request's limit, no more than the operations
  // left this month, and no more than the request's max_page_bytes. Sets
  // *resume_after to the last key returned when more may follow (a whole
  // page is refused instead: kQuotaExceeded or kReadTooLarge). Costs one
  // operation per entry returned, at least one.
  Status List(const ListRequest& request, const EntryVisitor& visit,
              std::optional<std::string>* resume_after);

  // Counts live entries, scanning at most kMaxCountScanEntries and no more
  // than the operations left this month pay for; sets *resume_after to the
  // last key counted when it stopped before the end. Costs one operation
  // per 1,000 counted, at least one.
  Status Count(const CountRequest& request, uint64_t* count,
               std::optional<std::string>* resume_after);

  // Costs one operation per check, plus one per mutation when it commits;
  // at least one.
  Status Commit(const CommitRequest& request, CommitResult* result);

  // Deletes up to kPurgeBatchEntries expired entries and frees their
  // storage; sets *more when expired entries remain, and *next_expiry_ms to
  // the earliest expiry of the rest, if any.
  Status PurgeExpired(uint64_t* purged, bool* more,
                      std::optional<int64_t>* next_expiry_ms);

  // What an idempotent write was answered (the Idempotency-Key header).
  struct Outcome {
    int status;
    std::string response;
  };
  // Looks up the outcome kept for `key`, of a request whose operation and
  // body give `digest`: sets *outcome when that request was answered
  // within kIdempotencyWindowMs and among the newest kMaxIdempotencyKeys (a
  // replay, which costs one operation when the month has room, and is
  // never refused for the quota), refuses a key kept for another
  // request with kIdempotencyKeyReused, and leaves *outcome empty for a
  // new key.
  Status RecallOutcome(std::string_view key, std::string_view digest,
                       std::optional<Outcome>* outcome);
  // Keeps `outcome` for `key` in the same transaction as the write it
  // answers, and drops the outcomes past the window and the count.
  Status RememberOutcome(std::string_view key, std::string_view digest,
                         const Outcome& outcome);

  // One UTC day's usage: the operations written in it, and the storage at
  // its end (or now, for today).
  struct DayUsage {
    int64_t day_start_ms;
    uint64_t operations;
    uint64_t storage_bytes;
  };
  // The last kDailyUsageDays days, today included, oldest first. A day's
  // first state write records the usage it found (the end of the last
  // active day); a day's usage is the difference to the next such record,
  // or to now. A day without one used nothing and kept the storage of the
  // day before.
  Status Daily(std::vector<DayUsage>* days);

  // The queue (docs/queues.md; queue.cc). A commit's enqueues are written
  // by Commit. A message is leased to one listener at a time: until it is
  // settled or its lease's deadline passes, which counts as a failed
  // delivery. A failed delivery is retried after the next interval of the
  // message's backoff schedule; past the last, the message's value is
  // written to its keysIfUndelivered in one commit (its dead letter) and
  // the message dropped. Deliveries and settlements cost no operations: the
  // enqueue paid for them. A message counts toward the store's storage
  // until it is dropped.
  struct LeasedMessage {
    int64_t id;
    int64_t delivery;   // 1 for the first
    int64_t failures;   // failed deliveries before this one
    std::string value;  // stored form
  };
  struct LeaseResult {
    std::vector<LeasedMessage> messages;
    uint64_t dead_lettered = 0;  // dead letters written (entries changed)
    std::optional<int64_t> next_wake_ms;  // when a message is next due
  };
  // First turns up to kLeaseExpiryBatch expired leases into failed
  // deliveries, then leases up to `max` due messages, in order (ready time,
  // then enqueue order), until now + `visibility_ms`.
  Status LeaseMessages(size_t max, int64_t visibility_ms, LeaseResult* result);
  enum class Settlement { kAcked, kRetrying, kDeadLettered, kStale };
  // Settles delivery `delivery` of message `id`: acknowledged when `ok`, a
  // failed delivery otherwise. kStale (nothing changes) when that delivery
  // is no longer leased: its lease expired, or it was settled already.
  Status SettleMessage(int64_t id, int64_t delivery, bool ok,
                       Settlement* settlement,
                       std::optional<int64_t>* next_wake_ms);
  struct QueueStats {
    uint64_t depth, ready, delayed, in_flight;
    std::optional<int64_t> oldest_enqueued_at_ms;
    uint64_t delivered, retried, dead_lettered;
  };
  Status ReadQueueStats(QueueStats* stats);

  // Charges a request refused for a client mistake
  // (kRefusedRequestOperations), unless that would pass the monthly limit.
  void ChargeRefusal();

  const StoreState& state() const { return state_; }
  // The request's time, as Begin was given it.
  int64_t now_ms() const { return now_ms_; }
  // Operations used this month: written plus deferred.
  uint64_t UsedOperations() const;
  std::optional<QuotaReport> Quota() const;

 private:
  // Refuses `operations` more when they would pass the monthly limit.
  Status CheckOperations(uint64_t operations) const;
  // Operations left this month (UINT64_MAX when unlimited).
  uint64_t OperationsLeft() const;
  // Defers `operations` (End folds them when it writes the state anyway).
  Status Charge(uint64_t operations);
  // Commit, with `prepaid` (a dead letter: its message paid when it was
  // enqueued) charging nothing and passing the storage limit.
  Status CommitWith(const CommitRequest& request, bool prepaid,
                    CommitResult* result);
  // Writes a commit's enqueues, refusing them past kMaxQueuedMessages.
  Status WriteEnqueues(const std::vector<Enqueue>& enqueues);
  // A failed delivery of message `id` (held by `rows`, kSelectMessage's
  // answer): a retry, or its dead letter.
  Status FailDelivery(int64_t id, const Rows& rows, Settlement* settlement);
  Status AddQueueCounters(int64_t depth, int64_t delivered, int64_t retried,
                          int64_t dead_lettered);
  Status NextQueueWake(std::optional<int64_t>* next_wake_ms);
  // Works out, before anything is written, the new value of each counter
  // mutation (into (*counters)[i]) and the storage the commit adds (negative:
  // frees); refuses a counter mutation on a JSON value, and a commit that
  // would pass the storage limit.
  // With `prepaid`, the storage limit is not checked.
  Status PlanCommit(const CommitRequest& request, bool prepaid,
                    std::vector<std::string>* counters, int64_t* delta);

  Storage* const storage_;
  StoreState state_;
  std::string state_row_;
  int64_t now_ms_ = 0;
  uint64_t deferred_operations_ = 0;
  bool dirty_ = false;
  // The usage as Begin loaded it, before a new month: what the day's first
  // state write records (Daily).
  struct UsageMark {
    uint32_t month = 0;
    uint64_t operations = 0;  // written
    uint64_t storage_bytes = 0;
  };
  UsageMark loaded_usage_;
};

}  // namespace kv

#endif  // KV_WORKER_STORE_H_
