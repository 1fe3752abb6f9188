// Footprint of the product module build/wasm/kv_core.wasm: its size, the
// time to compile and instantiate it in Node (shims/core.js createCore), and
// its linear memory over a million requests on real SQLite.

import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { VALUE_1K } from './cases.js';
import { createCoreWithInstance, openCoreStore } from './node_core.js';
import { median } from './stats.js';

const encoder = new TextEncoder();

export function measureModule(file, { instances = 20 } = {}) {
  const bytes = readFileSync(file);
  const compileMs = [];
  let wasmModule;
  for (let i = 0; i < 5; i++) {
    const start = performance.now();
    wasmModule = new WebAssembly.Module(bytes);
    compileMs.push(performance.now() - start);
  }
  const instantiateMs = [];
  for (let i = 0; i < instances; i++) {
    const start = performance.now();
    createCoreWithInstance(wasmModule);
    instantiateMs.push(performance.now() - start);
  }
  return {
    rawBytes: bytes.length,
    gzipBytes: gzipSync(bytes, { level: 9 }).length,
    compileMs: median(compileMs),
    instantiateMs: median(instantiateMs),
    firstInstantiateMs: instantiateMs[0],
  };
}

// The requests of the memory run, by turn: a set, a get, a getMany of 10,
// a check-and-set commit and a delete, over 1,000 keys.
function requestMix(keys = 1000) {
  const key = (i) => `["mem",${i % keys}]`;
  const mix = [];
  for (let i = 0; i < keys; i++) {
    mix.push(['set', `{"key":${key(i)},"value":${VALUE_1K}}`]);
    mix.push(['get', `{"keys":[${key(i)}]}`]);
    mix.push(['get', `{"keys":[${Array.from({ length: 10 }, (_, k) => key(i + k)).join(',')}]}`]);
    mix.push(['atomic', `{"checks":[{"key":["mem","absent"],"version":null}],"mutations":[{"type":"set","key":${key(i + 500)},"value":{"n":${i}}}]}`]);
    mix.push(['delete', `{"key":${key(i + 250)}}`]);
  }
  return mix.map(([operation, body]) => [operation, encoder.encode(body)]);
}

/**
 * Handles `calls` requests on one core and one in-memory SQLite database,
 * and records the wasm memory size at each power of ten. Stops early at
 * `deadline` (a Date.now() value). Returns { requested, calls, seconds,
 * memory: [{ calls, bytes }], failures }.
 */
export function measureMemory(wasmModule, { calls = 1_000_000, deadline = Infinity } = {}) {
  const store = openCoreStore(wasmModule);
  const mix = requestMix();
  const memory = [{ calls: 0, bytes: store.memoryBytes() }];
  let nextCheckpoint = 1000;
  let failures = 0;
  let done = 0;
  const start = performance.now();
  while (done < calls) {
    const [operation, body] = mix[done % mix.length];
    if (store.call(operation, body).status !== 200) failures++;
    done++;
    if (done === nextCheckpoint || done === calls) {
      memory.push({ calls: done, bytes: store.memoryBytes() });
      nextCheckpoint *= 10;
    }
    if (done % 10_000 === 0 && Date.now() > deadline) break;
  }
  if (memory.at(-1).calls !== done) memory.push({ calls: done, bytes: store.memoryBytes() });
  store.close();
  return { requested: calls, calls: done, seconds: (performance.now() - start) / 1000, memory, failures };
}
