// Native microbenchmarks of the core (Google Benchmark), built by
// `npm run bench` (CMake target core_benchmark; not part of CTest).
//
//   core/<op>       storage-free work of core_ops.h; the wasm module
//                   kv_bench.wasm runs the same ops, bench/core_bench.js
//                   prints the wasm/native ratio
//   sqlite/<op>     one request through kv::Handle (or Store::Commit) on
//                   native SQLite ":memory:", inside a transaction framed the
//                   way the Durable Object frames it
//   scale/<op>/<n>  get and set of one key in a store of n keys
//
// bench/core_bench.js runs it with --benchmark_format=json.

#include <benchmark/benchmark.h>

#include <boost/json/value.hpp>
#include <chrono>
#include <memory>
#include <string>

#include "core_ops.h"
#include "key_codec.h"
#include "service.h"
#include "sqlite_storage.h"
#include "store.h"

namespace kv::bench {
namespace {

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// The one call into the service API, as kv_handle makes it.
Response HandleRequest(Store* store, std::string_view operation,
                       std::string_view body) {
  // The empty credential: a store without one (like the Worker's directory)
  // accepts it, and Authenticate still reads and compares. Such a store has
  // no limits, so no quota gets in the way.
  return Handle(store, Request{operation, "", body, NowMs()});
}

// A store on native SQLite in memory, called the way the host calls the core.
class SqliteStore {
 public:
  SqliteStore() {
    SqliteStorage::Open(":memory:", &storage_);
    store_ = std::make_unique<Store>(storage_.get());
    storage_->Transaction([&] { return store_->Migrate().ok(); });
  }

  // One request in its own transaction; returns the HTTP status.
  int Call(std::string_view operation, std::string_view body) {
    int status = 0;
    storage_->Transaction([&] {
      status = HandleRequest(store_.get(), operation, body).http_status;
      return status < 500;
    });
    return status;
  }

  // Store::Commit alone, framed as Handle frames it (Begin, call, End).
  Status Commit(const CommitRequest& request) {
    Status status;
    storage_->Transaction([&] {
      CommitResult result;
      status = store_->Begin(NowMs());
      if (status.ok()) status = store_->Commit(request, &result);
      if (status.ok()) status = store_->End();
      return status.ok();
    });
    return status;
  }

 private:
  std::unique_ptr<SqliteStorage> storage_;
  std::unique_ptr<Store> store_;
};

CoreOps& Ops() {
  static CoreOps ops;
  return ops;
}

void RegisterCoreOps() {
  for (int32_t op = 0; op < kNumCoreOps; ++op) {
    benchmark::RegisterBenchmark(
        (std::string("core/") + CoreOpName(op)).c_str(),
        [op](benchmark::State& state) {
          CoreOps& ops = Ops();
          for (auto _ : state) benchmark::DoNotOptimize(ops.Run(op));
        });
  }
}

// One request through kv::Handle, on a store holding the value key and the
// keys of get_10.
void RegisterHandle(const char* operation, int32_t body) {
  benchmark::RegisterBenchmark(
      (std::string("sqlite/handle_") + BodyName(body)).c_str(),
      [operation, body](benchmark::State& state) {
        SqliteStore store;
        store.Call("set", Ops().body(kSet1KBody));
        store.Call("atomic", Ops().body(kAtomic10Body));
        const std::string& request = Ops().body(body);
        if (store.Call(operation, request) != 200) {
          state.SkipWithError("the request failed");
          return;
        }
        for (auto _ : state) benchmark::DoNotOptimize(store.Call(operation, request));
      });
}

void BM_StoreCommit10(benchmark::State& state) {
  SqliteStore store;
  CommitRequest request;
  DecodeAtomic(Ops().body(kAtomic10Body), &request);
  for (auto _ : state) {
    if (!store.Commit(request).ok()) state.SkipWithError("commit failed");
  }
}

// ---- Scale: one store that grows to each size in turn ----------------------

constexpr size_t kFillBatch = 1000;  // mutations per commit, as over HTTP

std::string FillKey(uint64_t i) {
  boost::json::value key = boost::json::array{"bench", "fill", i};
  std::string encoded;
  EncodeKey(key, "key", &encoded);
  return encoded;
}

uint64_t NextRandom(uint64_t* state) {  // xorshift64: fixed and cheap
  *state ^= *state << 13;
  *state ^= *state >> 7;
  *state ^= *state << 17;
  return *state;
}

class ScaleStore {
 public:
  // Grows the store to `keys` entries (it never shrinks), in commits of
  // kFillBatch sets, and remembers how long that took.
  void FillTo(size_t keys) {
    if (filled_ >= keys) return;
    const auto start = std::chrono::steady_clock::now();
    const std::string value = JsonValueOfSize(100);
    while (filled_ < keys) {
      CommitRequest request;
      for (size_t i = 0; i < kFillBatch && filled_ < keys; ++i, ++filled_) {
        request.mutations.push_back({Mutation::Type::kSet, FillKey(filled_), value});
      }
      store_.Commit(request);
    }
    fill_seconds_ += std::chrono::duration<double>(
                         std::chrono::steady_clock::now() - start)
                         .count();
  }
  size_t filled() const { return filled_; }
  // Seconds spent filling, from empty to filled().
  double fill_seconds() const { return fill_seconds_; }
  SqliteStore& store() { return store_; }

 private:
  SqliteStore store_;
  size_t filled_ = 0;
  double fill_seconds_ = 0;
};

ScaleStore& Scale() {
  static ScaleStore scale;
  return scale;
}

std::string GetBody(uint64_t i) {
  return "{\"keys\":[[\"bench\",\"fill\"," + std::to_string(i) + "]]}";
}

std::string SetBody(uint64_t i, const std::string& value) {
  return "{\"key\":[\"bench\",\"fill\"," + std::to_string(i) +
         "],\"value\":" + value + "}";
}

void BM_ScaleGet(benchmark::State& state) {
  const size_t keys = static_cast<size_t>(state.range(0));
  Scale().FillTo(keys);
  uint64_t random = 88172645463325252ull;
  for (auto _ : state) {
    const std::string body = GetBody(NextRandom(&random) % keys);
    benchmark::DoNotOptimize(Scale().store().Call("get", body));
  }
  state.counters["keys"] = static_cast<double>(Scale().filled());
  state.counters["fill_seconds"] = Scale().fill_seconds();
}

void BM_ScaleSet(benchmark::State& state) {
  const size_t keys = static_cast<size_t>(state.range(0));
  Scale().FillTo(keys);
  const std::string value = JsonValueOfSize(100);
  uint64_t random = 88172645463325252ull;
  for (auto _ : state) {
    const std::string body = SetBody(NextRandom(&random) % keys, value);
    benchmark::DoNotOptimize(Scale().store().Call("set", body));
  }
  state.counters["keys"] = static_cast<double>(Scale().filled());
}

void RegisterAll() {
  RegisterCoreOps();
  RegisterHandle("get", kGet1Body);
  RegisterHandle("get", kGet10Body);
  RegisterHandle("set", kSet1KBody);
  RegisterHandle("set", kSet16KBody);
  RegisterHandle("atomic", kAtomic10Body);
  benchmark::RegisterBenchmark("sqlite/store_commit_10", BM_StoreCommit10);
  // Ascending, get before set at each size: the store only grows.
  for (int64_t keys : {1000, 10000, 100000, 1000000}) {
    benchmark::RegisterBenchmark("scale/get", BM_ScaleGet)->Arg(keys);
    benchmark::RegisterBenchmark("scale/set", BM_ScaleSet)->Arg(keys);
  }
}

}  // namespace
}  // namespace kv::bench

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  kv::bench::RegisterAll();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
