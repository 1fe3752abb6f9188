// Core microbenchmarks, native beside wasm:
//   - storage-free operations (bench/core_ops.h): the native core_benchmark
//     (Google Benchmark) against kv_bench.wasm looping the same code in Node;
//   - whole requests on SQLite: kv::Handle on native SQLite against the
//     product module kv_core.wasm through shims/core.js on better-sqlite3,
//     and each request's wall time split into wasm, storage glue, SQLite
//     and the rest.
// Every ratio is wasm / native, on CPU time.

import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { wasiImports } from '../shims/core.js';
import { loadCoreModule, openCoreStore } from './node_core.js';
import { SCALE_SIZES } from './scale.js';
import { timeOperation } from './stats.js';

const decoder = new TextDecoder();

/** Runs the native benchmark binary; returns Map name -> { cpuNs, wallNs, keys, fillSeconds }. */
export function runNativeCoreBench(binary, { filter = '.', minTime = 0.3 } = {}) {
  const output = execFileSync(binary, [
    '--benchmark_format=json', `--benchmark_filter=${filter}`, `--benchmark_min_time=${minTime}`,
  ], { maxBuffer: 64 * 1024 * 1024, stdio: ['ignore', 'pipe', 'pipe'] });
  const results = new Map();
  for (const run of JSON.parse(output).benchmarks) {
    if (run.error_occurred) throw new Error(`${run.name}: ${run.error_message}`);
    const scale = { ns: 1, us: 1e3, ms: 1e6, s: 1e9 }[run.time_unit];
    results.set(run.name, {
      cpuNs: run.cpu_time * scale,
      wallNs: run.real_time * scale,
      keys: run.keys,
      fillSeconds: run.fill_seconds,
    });
  }
  return results;
}

/** The bench-only module: its operations and request bodies, and a runner. */
export function loadWasmBench(file) {
  const wasmModule = new WebAssembly.Module(readFileSync(file));
  // Standalone Emscripten imports a few WASI calls it never makes here.
  const imports = {};
  for (const { module, name } of WebAssembly.Module.imports(wasmModule)) {
    imports[module] ??= {};
    imports[module][name] = () => {
      throw new Error(`kv_bench.wasm called ${module}.${name}`);
    };
  }
  imports.env.emscripten_notify_memory_growth = () => {};
  // The environment libc reads at start under -flto: the product's answers.
  const wasi = wasiImports(() => exports.memory.buffer);
  for (const name of ['environ_sizes_get', 'environ_get']) {
    if (imports.wasi_snapshot_preview1?.[name]) imports.wasi_snapshot_preview1[name] = wasi[name];
  }
  let exports;
  ({ exports } = new WebAssembly.Instance(wasmModule, imports));
  exports._initialize();
  exports.bench_setup();
  const text = (pointer) => decoder.decode(new Uint8Array(exports.memory.buffer, pointer, exports.bench_size()));
  const bytes = (pointer) => new Uint8Array(exports.memory.buffer, pointer, exports.bench_size()).slice();
  const ops = Array.from({ length: exports.bench_op_count() }, (_, i) => text(exports.bench_op_name(i)));
  const bodies = {};
  for (let i = 0; i < exports.bench_body_count(); i++) bodies[text(exports.bench_body_name(i))] = bytes(exports.bench_body(i));
  return { ops, bodies, run: (op, iterations) => exports.bench_run(op, iterations) };
}

/** Times each storage-free op in wasm; returns Map name -> { cpuNs, wallNs }. */
export function runWasmCoreBench(bench, timing) {
  const results = new Map();
  bench.ops.forEach((name, op) => results.set(`core/${name}`, timeOperation((n) => bench.run(op, n), timing)));
  return results;
}

// The whole requests timed in Node, by body name, with their operation.
export const HANDLE_REQUESTS = [
  ['get_1k', 'get'], ['get_10', 'get'], ['set_1k', 'set'], ['set_16k', 'set'], ['atomic_10', 'atomic'],
];

/**
 * Times each request of HANDLE_REQUESTS through createCore on kv_core.wasm
 * and better-sqlite3 (CPU time, like the native side), then once more on a
 * store whose wasm boundary is timed, to split a request's wall time into:
 *   wasmNs     inside kv_handle but not in the host's storage import: the
 *              core itself, in wasm;
 *   glueNs     in the storage import but not in SQL: shims/sql_storage.js
 *              moving parameters and rows across the boundary;
 *   sqliteNs   in sql.exec: SQLite through better-sqlite3;
 *   outsideNs  the rest: shims/core.js copying in and out, the transaction.
 * Timing adds two performance.now() calls per boundary crossing.
 * Returns Map `sqlite/handle_<body>` -> { cpuNs, wallNs, split }.
 */
export function runNodeHandleBench(coreWasmFile, bodies, timing, splitCalls = 5000) {
  const wasmModule = loadCoreModule(coreWasmFile);
  const results = new Map();
  for (const timed of [false, true]) {
    const store = openCoreStore(wasmModule, { timed });
    // The same entries as the native run: the value key and the 10 keys of get_10.
    mustSucceed(store.call('set', bodies.set_1k));
    mustSucceed(store.call('atomic', bodies.atomic_10));
    for (const [body, operation] of HANDLE_REQUESTS) {
      const name = `sqlite/handle_${body}`;
      mustSucceed(store.call(operation, bodies[body]));
      if (!timed) {
        results.set(name, timeOperation((n) => {
          for (let i = 0; i < n; i++) store.call(operation, bodies[body]);
        }, timing));
      } else {
        results.get(name).split = splitRequest(store, operation, bodies[body], splitCalls);
      }
    }
    store.close();
  }
  return results;
}

function splitRequest(store, operation, body, calls) {
  for (let i = 0; i < calls / 10; i++) store.call(operation, body); // warm up
  Object.assign(store.clock, { inHandle: 0, inHostSql: 0, inExec: 0 });
  const start = performance.now();
  for (let i = 0; i < calls; i++) store.call(operation, body);
  const perCallNs = (ms) => (ms * 1e6) / calls;
  const { inHandle, inHostSql, inExec } = store.clock;
  return {
    totalNs: perCallNs(performance.now() - start),
    wasmNs: perCallNs(inHandle - inHostSql),
    glueNs: perCallNs(inHostSql - inExec),
    sqliteNs: perCallNs(inExec),
    outsideNs: perCallNs(performance.now() - start - inHandle),
  };
}

function mustSucceed(result) {
  if (result.status !== 200 || result.body.startsWith('{"ok":false')) {
    throw new Error(`core request failed: ${result.status} ${result.body}`);
  }
}

/**
 * The whole core section of the report: storage-free operations native and
 * in wasm (kv_bench.wasm, built with the product's flags); requests native
 * and in Node; native scale. `nativeBinary` may be null (no Google
 * Benchmark).
 */
export function runCoreBench({ nativeBinary, wasmBench, coreWasm, timing, nativeMinTime, splitCalls }) {
  const native = nativeBinary ? runNativeCoreBench(nativeBinary, { minTime: nativeMinTime }) : new Map();
  const bench = loadWasmBench(wasmBench);
  const wasm = runWasmCoreBench(bench, timing);
  const node = runNodeHandleBench(coreWasm, bench.bodies, timing, splitCalls);
  return {
    ops: [...wasm].map(([name, w]) => ({
      name: name.slice('core/'.length), nativeNs: native.get(name)?.cpuNs, wasmNs: w.cpuNs,
    })),
    requests: HANDLE_REQUESTS.map(([body]) => {
      const name = `sqlite/handle_${body}`;
      return { name: body, nativeNs: native.get(name)?.cpuNs, nodeNs: node.get(name).cpuNs, split: node.get(name).split };
    }),
    nativeScale: SCALE_SIZES.filter((keys) => native.has(`scale/get/${keys}`)).map((keys) => ({
      keys,
      getNs: native.get(`scale/get/${keys}`).cpuNs,
      setNs: native.get(`scale/set/${keys}`).cpuNs,
      fillSeconds: native.get(`scale/get/${keys}`).fillSeconds,
    })),
  };
}
