// What a stored entry costs on disk beside what the storage quota counts
// (its encoded key plus value bytes): entries of several sizes are committed
// through the real Store into a real SQLite file with the product's schema,
// and the file's growth per entry is printed beside the counted bytes.
// Run by `npm run bench`; docs/reliability.md#bounds quotes the figures.

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>

#include "kv_limits.h"
#include "sqlite_storage.h"
#include "store.h"

namespace kv {
namespace {

constexpr int64_t kNowMs = int64_t{1795694400} * 1000;

struct Case {
  size_t value_bytes;  // of the stored JSON string
  size_t entries;
};

// Commits `entries` entries of `value_bytes` under keys ["users", <n>] into
// a fresh file; returns its growth and the bytes the quota counted.
bool Measure(const Case& c, uint64_t* file_bytes, uint64_t* counted) {
  // mkstemp replaces the six trailing template characters.
  std::string path = "/tmp/kv_storage_overhead_" + std::string(6, 'X');
  const int fd = mkstemp(path.data());
  if (fd < 0) return false;
  close(fd);
  std::filesystem::remove(path);
  uint64_t empty = 0;
  {
    std::unique_ptr<SqliteStorage> storage;
    if (!SqliteStorage::Open(path, &storage).ok()) return false;
    Store store(storage.get());
    if (!store.Migrate().ok()) return false;
    storage.reset();
    empty = std::filesystem::file_size(path);
    if (!SqliteStorage::Open(path, &storage).ok()) return false;
    Store filled(storage.get());
    const std::string value = "\"" + std::string(c.value_bytes - 2, 'v') + "\"";
    for (size_t first = 0; first < c.entries;) {
      CommitRequest commit;
      size_t bytes = 0;
      for (; first < c.entries &&
             commit.mutations.size() < kMaxMutationsPerCommit &&
             bytes + value.size() + 32 < kMaxCommitBytes;
           ++first) {
        // ["users", "<id>"]: a string part of a 12-digit id, as apps key rows.
        std::string key =
            std::string("\x02users", 6) + '\0' + '\x02' +
            std::to_string(100000000000 + first * 7919 % 1000003) + '\0';
        bytes += key.size() + value.size();
        commit.mutations.push_back(
            {Mutation::Type::kSet, std::move(key), value, std::nullopt});
      }
      Status status;
      if (!storage
               ->Transaction([&] {
                 CommitResult result;
                 status = filled.Begin(kNowMs);
                 if (status.ok()) status = filled.Commit(commit, &result);
                 if (status.ok()) status = filled.End();
                 return status.ok();
               })
               .ok() ||
          !status.ok()) {
        std::fprintf(stderr, "commit failed: %s\n", status.message().c_str());
        return false;
      }
    }
    *counted = filled.state().storage_bytes;
  }
  *file_bytes = std::filesystem::file_size(path) - empty;
  std::filesystem::remove(path);
  return true;
}

}  // namespace
}  // namespace kv

int main() {
  const kv::Case cases[] = {
      {16, 20000}, {100, 20000}, {1000, 5000}, {4000, 2000}, {16384, 500}};
  std::printf(
      "| value bytes | entries | counted bytes/entry | file bytes/entry "
      "| overhead bytes/entry | file / counted |\n"
      "| ---: | ---: | ---: | ---: | ---: | ---: |\n");
  for (const kv::Case& c : cases) {
    uint64_t file_bytes = 0;
    uint64_t counted = 0;
    if (!kv::Measure(c, &file_bytes, &counted)) return 1;
    const double per_file = static_cast<double>(file_bytes) / c.entries;
    const double per_counted = static_cast<double>(counted) / c.entries;
    std::printf("| %zu | %zu | %.0f | %.0f | %.0f | %.2f |\n", c.value_bytes,
                c.entries, per_counted, per_file, per_file - per_counted,
                per_file / per_counted);
  }
  return 0;
}
