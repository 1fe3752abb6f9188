// The wasm module's boundary is exactly the C ABI of worker/kv_c.h: the
// link step allows undefined symbols (the kv_host imports), so this is where
// a misspelt or unexpected import is caught.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { WASM_FILE } from '../scripts/build.js';

const module = new WebAssembly.Module(readFileSync(WASM_FILE));

test('the module imports only the storage call and what standalone Emscripten needs', () => {
  const imports = WebAssembly.Module.imports(module).map(({ module: from, name }) => `${from}.${name}`).sort();
  assert.deepEqual(imports, [
    'env.emscripten_notify_memory_growth',
    'kv_host.sql',
    'wasi_snapshot_preview1.proc_exit',
  ]);
});

test('the module exports the C ABI', () => {
  const exports = new Set(WebAssembly.Module.exports(module).map(({ name }) => name));
  for (const name of ['memory', '_initialize', 'kv_alloc', 'kv_free', 'kv_statement_count', 'kv_statement_sql',
    'kv_migrate', 'kv_handle']) {
    assert.ok(exports.has(name), `exports ${name}`);
  }
});
