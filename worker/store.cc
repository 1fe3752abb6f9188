#include "store.h"

#include <algorithm>
#include <cstdio>
#include <unordered_map>

#include "counter.h"
#include "kv_limits.h"
#include "queue.h"

namespace kv {
namespace {

bool EqualInConstantTime(std::string_view a, std::string_view b) {
  // Lengths are public (0 or 32); the bytes are not.
  if (a.size() != b.size()) return false;
  unsigned char difference = 0;
  for (size_t i = 0; i < a.size(); ++i) difference |= a[i] ^ b[i];
  return difference == 0;
}

SqlValue OptionalInteger(const std::optional<uint64_t>& value) {
  return value ? SqlValue::Integer(static_cast<int64_t>(*value))
               : SqlValue::Null();
}

std::optional<uint64_t> ReadOptional(const SqlValue& value) {
  if (value.type == SqlValue::Type::kNull) return std::nullopt;
  return static_cast<uint64_t>(value.integer);
}

// The state row's columns, in the order of kSelectState and kUpdateState.
std::vector<SqlValue> StateColumns(const StoreState& state) {
  return {SqlValue::Blob(state.credential),
          SqlValue::Integer(static_cast<int64_t>(state.version)),
          OptionalInteger(state.limits.ops_per_month),
          OptionalInteger(state.limits.storage_bytes),
          SqlValue::Integer(state.usage_month),
          SqlValue::Integer(static_cast<int64_t>(state.usage_ops)),
          SqlValue::Integer(static_cast<int64_t>(state.storage_bytes)),
          SqlValue::Integer(static_cast<int64_t>(state.lifecycle)),
          SqlValue::Integer(static_cast<int64_t>(state.credential_generation))};
}

// The state as the one row kSelectState would read (Store::state_row).
std::string EncodeStateRow(const StoreState& state) {
  RowsWriter writer;
  const std::vector<SqlValue> columns = StateColumns(state);
  for (const SqlValue& column : columns) writer.Add(column);
  writer.EndRow(columns.size());
  return writer.TakeEncoding();
}

std::optional<int64_t> ReadExpiry(const SqlValue& value) {
  if (value.type == SqlValue::Type::kNull) return std::nullopt;
  return value.integer;
}

// Days since 1970-01-01 to a civil date (H. Hinnant's algorithm).
void CivilFromDays(int64_t days, int64_t* year, unsigned* month) {
  days += 719468;
  const int64_t era = (days >= 0 ? days : days - 146096) / 146097;
  const unsigned day_of_era = static_cast<unsigned>(days - era * 146097);
  const unsigned year_of_era = (day_of_era - day_of_era / 1460 +
                                day_of_era / 36524 - day_of_era / 146096) /
                               365;
  const unsigned day_of_year =
      day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
  const unsigned mp = (5 * day_of_year + 2) / 153;
  *month = mp < 10 ? mp + 3 : mp - 9;
  *year = static_cast<int64_t>(year_of_era) + era * 400 + (*month <= 2);
}

// Days since 1970-01-01 of the first day of `month` of `year`.
int64_t DaysFromCivil(int64_t year, unsigned month) {
  year -= month <= 2;
  const int64_t era = (year >= 0 ? year : year - 399) / 400;
  const unsigned year_of_era = static_cast<unsigned>(year - era * 400);
  const unsigned day_of_year =
      (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5;
  const unsigned day_of_era =
      year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
  return era * 146097 + static_cast<int64_t>(day_of_era) - 719468;
}

}  // namespace

std::string FormatUtcMidnight(int64_t ms) {
  int64_t year;
  unsigned month;
  const int64_t days = ms / kMsPerDay;
  CivilFromDays(days, &year, &month);
  const int64_t day = days - DaysFromCivil(year, month) + 1;
  char text[64];  // room for any int64 year, so nothing is ever cut
  std::snprintf(text, sizeof text, "%04lld-%02u-%02lldT00:00:00Z",
                static_cast<long long>(year), month,
                static_cast<long long>(day));
  return text;
}

std::string FormatVersion(Version version) {
  char text[21];
  std::snprintf(text, sizeof text, "%016llx0000",
                static_cast<unsigned long long>(version));
  return text;
}

std::string VersionstampOf(Version version) {
  std::string stamp(10, '\0');
  for (int i = 0; i < 8; ++i) {
    stamp[i] = static_cast<char>(version >> (56 - 8 * i));
  }
  return stamp;
}

uint32_t MonthOf(int64_t now_ms) {
  int64_t year;
  unsigned month;
  CivilFromDays(now_ms / kMsPerDay, &year, &month);
  return static_cast<uint32_t>(year * 100 + month);
}

int64_t StartOfNextMonthMs(uint32_t month) {
  const int64_t year = month / 100;
  const unsigned next = month % 100 + 1;
  return DaysFromCivil(next > 12 ? year + 1 : year, next > 12 ? 1 : next) *
         kMsPerDay;
}

Status Store::Migrate() {
  Rows rows;
  for (Statement statement :
       {Statement::kCreateEntries, Statement::kCreateExpiryIndex,
        Statement::kCreateState, Statement::kInsertState,
        Statement::kCreateOutcomes, Statement::kCreateOutcomesByAge,
        Statement::kCreateUsageDaily, Statement::kCreateQueue,
        Statement::kCreateQueueByReady, Statement::kCreateQueueCounters,
        Statement::kInsertQueueCounters}) {
    KV_RETURN_IF_ERROR(storage_->Execute(statement, {}, &rows));
  }
  return Status::OK();
}

Status Store::Begin(int64_t now_ms, uint64_t deferred_operations,
                    std::string_view state_row) {
  now_ms_ = now_ms;
  deferred_operations_ = deferred_operations;
  dirty_ = false;
  Rows rows;
  const bool held = !state_row.empty();
  if (held) {
    KV_RETURN_IF_ERROR(rows.AdoptCopy(state_row));
  } else {
    KV_RETURN_IF_ERROR(storage_->Execute(Statement::kSelectState, {}, &rows));
  }
  if (rows.size() != 1) {
    return Status::Error(Code::kStorageError, "the store has no state row");
  }
  state_.credential = std::string(rows.at(0, 0).blob);
  state_.version = static_cast<Version>(rows.at(0, 1).integer);
  state_.limits.ops_per_month = ReadOptional(rows.at(0, 2));
  state_.limits.storage_bytes = ReadOptional(rows.at(0, 3));
  state_.usage_month = static_cast<uint32_t>(rows.at(0, 4).integer);
  state_.usage_ops = static_cast<uint64_t>(rows.at(0, 5).integer);
  state_.storage_bytes = static_cast<uint64_t>(rows.at(0, 6).integer);
  state_.lifecycle = static_cast<Lifecycle>(rows.at(0, 7).integer);
  state_.credential_generation = static_cast<uint64_t>(rows.at(0, 8).integer);
  // The row as loaded, before a new month changes the state in memory.
  state_row_ = held ? std::string(state_row) : EncodeStateRow(state_);
  loaded_usage_ = {state_.usage_month, state_.usage_ops, state_.storage_bytes};
  const uint32_t month = MonthOf(now_ms);
  if (state_.usage_month != month) {
    state_.usage_month = month;
    state_.usage_ops = 0;
    deferred_operations_ = 0;
    dirty_ = true;
  }
  return Status::OK();
}

Status Store::End() {
  if (!dirty_) return Status::OK();
  state_.usage_ops += deferred_operations_;
  deferred_operations_ = 0;
  Rows rows;
  KV_RETURN_IF_ERROR(
      storage_->Execute(Statement::kUpdateState, StateColumns(state_), &rows));
  state_row_ = EncodeStateRow(state_);
  // The day's first state write records where the day started: one row a
  // day; the other writes read it and write nothing.
  const int64_t today = now_ms_ / kMsPerDay;
  KV_RETURN_IF_ERROR(storage_->Execute(
      Statement::kInsertUsageDay,
      {SqlValue::Integer(today), SqlValue::Integer(loaded_usage_.month),
       SqlValue::Integer(static_cast<int64_t>(loaded_usage_.operations)),
       SqlValue::Integer(static_cast<int64_t>(loaded_usage_.storage_bytes))},
      &rows));
  if (rows.empty()) return Status::OK();
  return storage_->Execute(Statement::kPruneUsageDaily,
                           {SqlValue::Integer(today - kDailyUsageDaysKept)},
                           &rows);
}

Status Store::Daily(std::vector<DayUsage>* days) {
  const int64_t today = now_ms_ / kMsPerDay;
  Rows rows;
  KV_RETURN_IF_ERROR(storage_->Execute(
      Statement::kSelectUsageDaily,
      {SqlValue::Integer(today - kDailyUsageDaysKept)}, &rows));
  // Where each recorded day started; the usage loaded now closes the last.
  struct Mark {
    int64_t day;
    UsageMark usage;
  };
  std::vector<Mark> marks;
  for (size_t i = 0; i < rows.size(); ++i) {
    marks.push_back({rows.at(i, 0).integer,
                     {static_cast<uint32_t>(rows.at(i, 1).integer),
                      static_cast<uint64_t>(rows.at(i, 2).integer),
                      static_cast<uint64_t>(rows.at(i, 3).integer)}});
  }
  // A mark's operations as counted in the month of `day` (0: another month,
  // so the count started anew).
  const auto ops_in = [](const UsageMark& mark, int64_t day) -> uint64_t {
    return mark.month == MonthOf(day * kMsPerDay) ? mark.operations : 0;
  };
  days->clear();
  uint64_t storage = marks.empty() ? loaded_usage_.storage_bytes
                                   : marks[0].usage.storage_bytes;
  size_t next = 0;  // the first mark after the day
  for (int64_t day = today - kDailyUsageDaysKept; day <= today; ++day) {
    while (next < marks.size() && marks[next].day <= day) ++next;
    const bool recorded = next > 0 && marks[next - 1].day == day;
    uint64_t operations = 0;
    if (day == today) {
      // Live: deferred operations too. Without a mark today, nothing was
      // written today, and the written count is where today started.
      const uint64_t started =
          ops_in(recorded ? marks[next - 1].usage : loaded_usage_, day);
      const uint64_t used = UsedOperations();
      operations = used > started ? used - started : 0;
      storage = state_.storage_bytes;
    } else if (recorded) {
      const UsageMark& end =
          next < marks.size() ? marks[next].usage : loaded_usage_;
      const uint64_t started = ops_in(marks[next - 1].usage, day);
      const uint64_t ended = ops_in(end, day);
      operations = ended > started ? ended - started : 0;
      storage = end.storage_bytes;
    }
    if (day > today - kDailyUsageDays) {
      days->push_back({day * kMsPerDay, operations, storage});
    }
  }
  return Status::OK();
}

Status Store::Authenticate(std::string_view credential) const {
  if (!EqualInConstantTime(state_.credential, credential)) {
    return Status::Error(Code::kInvalidToken,
                         "the access token is not valid for this store");
  }
  return Status::OK();
}

Status Store::RequireLive() const {
  if (state_.lifecycle == Lifecycle::kLive) return Status::OK();
  return Status::Error(Code::kStoreNotFound,
                       state_.lifecycle == Lifecycle::kDeleted
                           ? "the store was deleted"
                           : "the store does not exist");
}

Status Store::Create(const SettingsRequest& settings) {
  if (!settings.credential) {
    return Status::Error(Code::kInvalidRequest,
                         "creating a store needs a credential");
  }
  if (state_.lifecycle != Lifecycle::kNew) {
    return Status::Error(Code::kStoreExists,
                         "the store exists already (or was deleted)");
  }
  state_.lifecycle = Lifecycle::kLive;
  state_.credential = *settings.credential;
  state_.credential_generation = 1;
  state_.limits = {kFreeTierOpsPerMonth, kFreeTierStorageBytes};
  dirty_ = true;
  return Configure(settings);
}

Status Store::Configure(const SettingsRequest& settings) {
  KV_RETURN_IF_ERROR(RequireLive());
  if (settings.ops_per_month)
    state_.limits.ops_per_month = *settings.ops_per_month;
  if (settings.storage_bytes)
    state_.limits.storage_bytes = *settings.storage_bytes;
  dirty_ = true;
  return Status::OK();
}

Status Store::Rotate(std::string_view credential, std::string* previous,
                     uint64_t* generation) {
  KV_RETURN_IF_ERROR(RequireLive());
  *previous = std::move(state_.credential);
  state_.credential = std::string(credential);
  *generation = ++state_.credential_generation;
  dirty_ = true;
  return Status::OK();
}

Status Store::Retire() {
  // The host erased every row first; this marks the empty store deleted.
  state_.lifecycle = Lifecycle::kDeleted;
  state_.credential.clear();
  state_.storage_bytes = 0;
  dirty_ = true;
  return Status::OK();
}

void Store::Fold() {
  if (deferred_operations_ > 0) dirty_ = true;
}

uint64_t Store::UsedOperations() const {
  return state_.usage_ops + deferred_operations_;
}

std::optional<QuotaReport> Store::Quota() const {
  if (!state_.limits.ops_per_month) return std::nullopt;
  return QuotaReport{*state_.limits.ops_per_month, OperationsLeft(),
                     StartOfNextMonthMs(state_.usage_month)};
}

Status Store::CheckOperations(uint64_t operations) const {
  const std::optional<uint64_t>& limit = state_.limits.ops_per_month;
  if (!limit || UsedOperations() + operations <= *limit) return Status::OK();
  return Status::Error(
      Code::kQuotaExceeded,
      "this request needs " + std::to_string(operations) +
          " operations, but the store has used " +
          std::to_string(UsedOperations()) + " of its " +
          std::to_string(*limit) +
          " operations this month; the count resets at " +
          FormatUtcMidnight(StartOfNextMonthMs(state_.usage_month)));
}

Status Store::Charge(uint64_t operations) {
  KV_RETURN_IF_ERROR(CheckOperations(operations));
  deferred_operations_ += operations;
  return Status::OK();
}

void Store::ChargeRefusal() {
  if (CheckOperations(kRefusedRequestOperations).ok()) {
    deferred_operations_ += kRefusedRequestOperations;
  }
}

Status Store::Read(const ReadRequest& request, const EntryVisitor& visit,
                   bool charge) {
  if (charge) KV_RETURN_IF_ERROR(Charge(request.keys.size()));
  Rows rows;
  for (const std::string& key : request.keys) {
    KV_RETURN_IF_ERROR(storage_->Execute(
        Statement::kSelectEntry,
        {SqlValue::Blob(key), SqlValue::Integer(now_ms_)}, &rows));
    if (rows.empty()) {
      visit(EntryView{false, key, {}, 0, std::nullopt});
    } else {
      visit(EntryView{true, key, rows.at(0, 0).blob,
                      static_cast<Version>(rows.at(0, 1).integer),
                      ReadExpiry(rows.at(0, 2))});
    }
  }
  return Status::OK();
}

uint64_t Store::OperationsLeft() const {
  const std::optional<uint64_t>& limit = state_.limits.ops_per_month;
  if (!limit) return UINT64_MAX;
  const uint64_t used = UsedOperations();
  return *limit > used ? *limit - used : 0;
}

Status Store::List(const ListRequest& request, const EntryVisitor& visit,
                   std::optional<std::string>* resume_after) {
  std::string lower = request.selector.lower;
  std::string upper = request.selector.upper;
  if (request.after) {
    // Resume strictly past the last key returned, in the list's direction.
    if (request.reverse) {
      upper = *request.after;
    } else {
      lower = *request.after + '\x00';
    }
  }
  // Each entry costs one operation: read no more than the month has left,
  // so a store near its quota gets a short page, never a free scan.
  KV_RETURN_IF_ERROR(CheckOperations(1));
  const uint64_t limit = std::min<uint64_t>(request.limit, OperationsLeft());
  const size_t max_bytes = request.max_page_bytes;
  // The page is read in chunks of as many entries as the bytes it has left
  // hold at the largest entry size, so it never holds much more than its
  // byte bound in memory and reads no row it does not return.
  const size_t largest_entry =
      kMaxKeyBytes + (request.keys_only ? 0 : kMaxValueBytes);
  // Reads the next `wanted` entries past the chunks so far, values unless
  // `keys_only`.
  const auto read_next = [&](bool keys_only, uint64_t wanted, Rows* rows) {
    return storage_->Execute(
        request.reverse ? Statement::kListReverse : Statement::kListForward,
        {SqlValue::Blob(lower), SqlValue::Blob(upper),
         SqlValue::Integer(now_ms_), SqlValue::Integer(keys_only ? 1 : 0),
         SqlValue::Integer(static_cast<int64_t>(wanted))},
        rows);
  };
  std::vector<Rows> chunks;
  uint64_t returned = 0;
  size_t page_bytes = 0;
  bool more = false;
  for (;;) {
    const uint64_t room =
        std::max<size_t>(1, (max_bytes - page_bytes) / largest_entry);
    const uint64_t wanted = std::min(limit - returned, room);
    Rows rows;
    KV_RETURN_IF_ERROR(read_next(request.keys_only, wanted, &rows));
    returned += rows.size();
    for (size_t i = 0; i < rows.size(); ++i) {
      page_bytes += rows.at(i, 0).blob.size() + rows.at(i, 1).blob.size();
    }
    const bool range_ended = rows.size() < wanted;
    if (!rows.empty()) {
      // The next chunk starts strictly past this one's last key.
      const std::string_view last = rows.at(rows.size() - 1, 0).blob;
      if (request.reverse) {
        upper = std::string(last);
      } else {
        lower = std::string(last) + '\x00';
      }
      chunks.push_back(std::move(rows));
    }
    if (range_ended) break;
    // The limit stopped it: a cursor, as more may follow.
    if (returned == limit) {
      // A whole page the quota cut short is refused, as one more would be.
      if (request.whole_page && limit < request.limit) {
        KV_RETURN_IF_ERROR(CheckOperations(request.limit));
      }
      more = true;
      break;
    }
    // The page's bytes stopped it: more follows if one more key does.
    if (page_bytes >= max_bytes) {
      Rows next;
      KV_RETURN_IF_ERROR(read_next(true, 1, &next));
      more = !next.empty();
      if (more && request.whole_page) {
        return Status::Error(
            Code::kReadTooLarge,
            "the read's entries pass " + std::to_string(max_bytes) +
                " bytes of keys and values before its limit of " +
                std::to_string(request.limit) +
                " entries; read fewer entries at a time (a smaller "
                "batchSize or limit)");
      }
      break;
    }
  }
  KV_RETURN_IF_ERROR(Charge(returned > 0 ? returned : 1));
  for (const Rows& rows : chunks) {
    for (size_t i = 0; i < rows.size(); ++i) {
      visit(EntryView{true, rows.at(i, 0).blob, rows.at(i, 1).blob,
                      static_cast<Version>(rows.at(i, 2).integer),
                      ReadExpiry(rows.at(i, 3))});
    }
  }
  resume_after->reset();
  if (more) {
    const Rows& last_chunk = chunks.back();
    *resume_after = std::string(last_chunk.at(last_chunk.size() - 1, 0).blob);
  }
  return Status::OK();
}

Status Store::Count(const CountRequest& request, uint64_t* count,
                    std::optional<std::string>* resume_after) {
  KV_RETURN_IF_ERROR(CheckOperations(1));
  const std::string lower =
      request.after ? *request.after + '\x00' : request.selector.lower;
  // Scan no more than the month's operations left pay for.
  const uint64_t affordable =
      OperationsLeft() > kMaxCountScanEntries / kEntriesPerCountOperation
          ? kMaxCountScanEntries
          : OperationsLeft() * kEntriesPerCountOperation;
  Rows rows;
  KV_RETURN_IF_ERROR(storage_->Execute(
      Statement::kCountEntries,
      {SqlValue::Blob(lower), SqlValue::Blob(request.selector.upper),
       SqlValue::Integer(now_ms_),
       SqlValue::Integer(static_cast<int64_t>(affordable))},
      &rows));
  *count = static_cast<uint64_t>(rows.at(0, 0).integer);
  resume_after->reset();
  if (*count == affordable) *resume_after = std::string(rows.at(0, 1).blob);
  const uint64_t started =
      (*count + kEntriesPerCountOperation - 1) / kEntriesPerCountOperation;
  return Charge(started > 0 ? started : 1);
}

Status Store::PlanCommit(const CommitRequest& request, bool prepaid,
                         std::vector<std::string>* counters, int64_t* delta) {
  // What each touched key holds after the mutations so far.
  struct Held {
    uint64_t bytes;                    // key plus value; 0: no row
    std::optional<std::string> value;  // the live value, when known
    bool value_known;
  };
  std::unordered_map<std::string_view, Held> held;
  Rows rows;
  *delta = 0;
  counters->assign(request.mutations.size(), std::string());
  for (size_t i = 0; i < request.mutations.size(); ++i) {
    const Mutation& mutation = request.mutations[i];
    const bool is_counter = mutation.type != Mutation::Type::kSet &&
                            mutation.type != Mutation::Type::kDelete;
    auto it = held.find(mutation.key);
    if (it == held.end() || (is_counter && !it->second.value_known)) {
      // Only a counter needs the value itself; others need its size.
      const SqlValue key = SqlValue::Blob(mutation.key);
      KV_RETURN_IF_ERROR(
          is_counter
              ? storage_->Execute(Statement::kSelectForCounter,
                                  {key, SqlValue::Integer(now_ms_)}, &rows)
              : storage_->Execute(Statement::kSelectValueSize, {key}, &rows));
      Held found{0, std::nullopt, is_counter};
      if (!rows.empty()) {
        found.bytes =
            mutation.key.size() + static_cast<uint64_t>(rows.at(0, 0).integer);
        if (is_counter && rows.at(0, 1).type != SqlValue::Type::kNull) {
          found.value = std::string(rows.at(0, 1).blob);
        }
      }
      it = held.insert_or_assign(mutation.key, std::move(found)).first;
    }
    Held& key = it->second;
    std::optional<std::string> after;
    if (mutation.type == Mutation::Type::kSet) {
      after = mutation.value;
    } else if (is_counter) {
      uint64_t operand = 0;
      DecodeCounter(mutation.value, &operand);
      uint64_t current = operand;
      if (key.value && !DecodeCounter(*key.value, &current)) {
        return Status::Error(
            Code::kNotACounter,
            "mutations[" + std::to_string(i) +
                "]: the entry holds a value that is not a u64 counter; "
                "sum, min and max need a counter (set one with valueType "
                "u64, or a KvU64)");
      }
      uint64_t result = operand;
      if (key.value && mutation.type == Mutation::Type::kSum) {
        result = current + operand;  // wraps modulo 2^64
      } else if (key.value && mutation.type == Mutation::Type::kMin) {
        result = std::min(current, operand);
      } else if (key.value) {
        result = std::max(current, operand);
      }
      (*counters)[i] = EncodeCounter(result);
      after = (*counters)[i];
    }
    const uint64_t bytes = after ? mutation.key.size() + after->size() : 0;
    *delta += static_cast<int64_t>(bytes) - static_cast<int64_t>(key.bytes);
    key = Held{bytes, std::move(after), true};
  }
  for (const Enqueue& enqueue : request.enqueues) {
    *delta += static_cast<int64_t>(MessageBytes(enqueue));
  }
  const std::optional<uint64_t>& limit = state_.limits.storage_bytes;
  const uint64_t total = state_.storage_bytes + *delta;
  // A commit that frees storage is allowed even past the limit.
  if (!prepaid && *delta > 0 && limit && total > *limit) {
    return Status::Error(
        Code::kStorageLimitExceeded,
        "this commit would bring the store to " + std::to_string(total) +
            " bytes, past its limit of " + std::to_string(*limit) +
            " bytes (it holds " + std::to_string(state_.storage_bytes) +
            "); delete entries or ask the operator to raise the limit");
  }
  return Status::OK();
}

Status Store::Commit(const CommitRequest& request, CommitResult* result) {
  return CommitWith(request, false, result);
}

Status Store::CommitWith(const CommitRequest& request, bool prepaid,
                         CommitResult* result) {
  const auto versionstamped = [](const Mutation& mutation) {
    return mutation.versionstamped_key;
  };
  if (std::any_of(request.mutations.begin(), request.mutations.end(),
                  versionstamped)) {
    // The version this commit will take, as one more string part of each
    // such key (docs/key-encoding.md: 0x02, its bytes, 0x00).
    const std::string part = '\x02' + FormatVersion(state_.version + 1) + '\0';
    CommitRequest resolved = request;
    for (Mutation& mutation : resolved.mutations) {
      if (mutation.versionstamped_key) mutation.key += part;
      mutation.versionstamped_key = false;
    }
    return CommitWith(resolved, prepaid, result);
  }
  *result = CommitResult();
  // Even an empty commit takes a version: it costs at least one operation.
  const uint64_t cost =
      prepaid ? 0
              : std::max<uint64_t>(1, request.checks.size() +
                                          request.mutations.size() +
                                          request.enqueues.size());
  // A dead letter (prepaid) is written even past a limit lowered since.
  if (!prepaid) KV_RETURN_IF_ERROR(CheckOperations(cost));
  Rows rows;
  for (size_t i = 0; i < request.checks.size(); ++i) {
    const Check& check = request.checks[i];
    KV_RETURN_IF_ERROR(storage_->Execute(
        Statement::kSelectVersion,
        {SqlValue::Blob(check.key), SqlValue::Integer(now_ms_)}, &rows));
    const bool holds =
        rows.empty() ? !check.version.has_value()
                     : check.version.has_value() &&
                           *check.version == FormatVersion(static_cast<Version>(
                                                 rows.at(0, 0).integer));
    if (!holds) result->failed_checks.push_back(i);
  }
  if (!result->failed_checks.empty()) return Charge(request.checks.size());

  int64_t delta;
  std::vector<std::string> counters;  // the new value of each counter mutation
  KV_RETURN_IF_ERROR(PlanCommit(request, prepaid, &counters, &delta));
  // Before the charge: a commit refused queue_full costs nothing.
  KV_RETURN_IF_ERROR(WriteEnqueues(request.enqueues));
  if (!prepaid) KV_RETURN_IF_ERROR(Charge(cost));
  const Version version = state_.version + 1;
  for (size_t i = 0; i < request.mutations.size(); ++i) {
    const Mutation& mutation = request.mutations[i];
    if (mutation.type == Mutation::Type::kDelete) {
      KV_RETURN_IF_ERROR(storage_->Execute(
          Statement::kDeleteEntry, {SqlValue::Blob(mutation.key)}, &rows));
      // An expired row is gone already as far as readers know.
      const std::optional<int64_t> expired_at =
          rows.empty() ? std::nullopt : ReadExpiry(rows.at(0, 0));
      if (!rows.empty() && (!expired_at || *expired_at > now_ms_)) {
        ++result->entries_deleted;
      }
      continue;
    }
    // A set, or a counter mutation written as the set of its result.
    const bool is_set = mutation.type == Mutation::Type::kSet;
    std::optional<int64_t> expires_at;
    if (is_set && mutation.expire_in_ms) {
      expires_at = now_ms_ + *mutation.expire_in_ms;
      if (!result->earliest_expiry_ms ||
          *expires_at < *result->earliest_expiry_ms) {
        result->earliest_expiry_ms = expires_at;
      }
    }
    KV_RETURN_IF_ERROR(storage_->Execute(
        Statement::kUpsertEntry,
        {SqlValue::Blob(mutation.key),
         SqlValue::Blob(is_set ? mutation.value : counters[i]),
         SqlValue::Integer(static_cast<int64_t>(version)),
         expires_at ? SqlValue::Integer(*expires_at) : SqlValue::Null()},
        &rows));
  }
  state_.version = version;
  state_.storage_bytes += delta;
  dirty_ = true;
  result->ok = true;
  result->version = version;
  return Status::OK();
}

void Store::Refund(uint64_t deferred_operations) {
  if (deferred_operations < deferred_operations_) {
    deferred_operations_ = deferred_operations;
  }
}

Status Store::RecallOutcome(std::string_view key, std::string_view digest,
                            std::optional<Outcome>* outcome) {
  outcome->reset();
  Rows rows;
  KV_RETURN_IF_ERROR(storage_->Execute(
      Statement::kSelectOutcome,
      {SqlValue::Blob(key), SqlValue::Integer(now_ms_ - kIdempotencyWindowMs)},
      &rows));
  if (rows.empty()) return Status::OK();
  if (rows.at(0, 0).blob != digest) {
    return Status::Error(
        Code::kIdempotencyKeyReused,
        "this Idempotency-Key was used for another request (another route or "
        "body) within the last 24 hours; send a new key for a new request");
  }
  *outcome = Outcome{static_cast<int>(rows.at(0, 1).integer),
                     std::string(rows.at(0, 2).blob)};
  // Never refused for the quota: the write was applied, and a 429 would
  // tell the client it was not. Charged when the month has room.
  if (CheckOperations(1).ok()) return Charge(1);
  return Status::OK();
}

Status Store::RememberOutcome(std::string_view key, std::string_view digest,
                              const Outcome& outcome) {
  Rows rows;
  // An outcome past the window may still hold the key: drop those first.
  KV_RETURN_IF_ERROR(storage_->Execute(
      Statement::kPruneOutcomesByAge,
      {SqlValue::Integer(now_ms_ - kIdempotencyWindowMs)}, &rows));
  KV_RETURN_IF_ERROR(storage_->Execute(
      Statement::kInsertOutcome,
      {SqlValue::Blob(key), SqlValue::Blob(digest),
       SqlValue::Integer(outcome.status), SqlValue::Blob(outcome.response),
       SqlValue::Integer(now_ms_)},
      &rows));
  const int64_t seq = rows.at(0, 0).integer;
  return storage_->Execute(Statement::kPruneOutcomesBySeq,
                           {SqlValue::Integer(seq - kMaxIdempotencyKeys)},
                           &rows);
}

Status Store::PurgeExpired(uint64_t* purged, bool* more,
                           std::optional<int64_t>* next_expiry_ms) {
  Rows rows;
  KV_RETURN_IF_ERROR(storage_->Execute(
      Statement::kPurgeExpired,
      {SqlValue::Integer(now_ms_),
       SqlValue::Integer(static_cast<int64_t>(kPurgeBatchEntries))},
      &rows));
  uint64_t freed = 0;
  for (size_t i = 0; i < rows.size(); ++i) {
    freed += static_cast<uint64_t>(rows.at(i, 0).integer);
  }
  *purged = rows.size();
  if (*purged > 0) {
    state_.storage_bytes -=
        freed < state_.storage_bytes ? freed : state_.storage_bytes;
    dirty_ = true;
  }
  KV_RETURN_IF_ERROR(storage_->Execute(Statement::kNextExpiry, {}, &rows));
  *next_expiry_ms = ReadExpiry(rows.at(0, 0));
  *more = *next_expiry_ms && **next_expiry_ms <= now_ms_;
  return Status::OK();
}

}  // namespace kv
