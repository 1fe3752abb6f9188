// Store: the key-value semantics over one Storage.
//
// Reads see one consistent state; a commit evaluates all its checks first
// and then writes all its mutations under one new version, or writes
// nothing. Requests come in decoded and validated (request.h); Store only
// talks to storage. Every call must run inside the host's transaction: on
// kStorageError the host rolls back whatever the call had written.

#ifndef KV_WORKER_STORE_H_
#define KV_WORKER_STORE_H_

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "request.h"
#include "status.h"
#include "storage.h"

namespace kv {

// A commit number. Users see it as a 20-hex-digit version string.
using Version = uint64_t;

// The version string of commit `version`: 16 hex digits of the commit number
// and 4 of the entry's place within the commit (always 0 today), so that
// versions keep Deno KV's 10-byte versionstamp shape.
std::string FormatVersion(Version version);

// An entry as read; `value` borrows from storage's result and is valid only
// during the callback it is passed to.
struct EntryView {
  bool found;
  std::string_view value;  // compact JSON
  Version version;
};

struct CommitResult {
  bool ok = false;
  Version version = 0;                // when ok
  std::vector<size_t> failed_checks;  // indexes, when !ok
  size_t entries_deleted = 0;         // delete mutations that found an entry
};

class Store {
 public:
  explicit Store(Storage* storage) : storage_(storage) {}

  // Creates the schema if it does not exist yet.
  Status Migrate();

  // OK when `credential` (a token's SHA-256) is this store's, compared in
  // constant time; kInvalidToken otherwise. A store without a credential
  // (the Worker's own directory) accepts only an empty one.
  Status Authenticate(std::string_view credential);
  Status SetCredential(std::string_view credential);

  // Reads each key of `request` and passes its entry to `visit`, in order.
  Status Read(const ReadRequest& request,
              const std::function<void(const EntryView&)>& visit);

  Status Commit(const CommitRequest& request, CommitResult* result);

 private:
  Status ReadMeta(std::string_view name, Rows* rows);

  Storage* const storage_;
};

}  // namespace kv

#endif  // KV_WORKER_STORE_H_
