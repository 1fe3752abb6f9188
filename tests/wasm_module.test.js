// The wasm module's boundary is exactly the C ABI of worker/kv_c.h: the
// link step allows undefined symbols (the kv_host imports), so this is where
// a misspelt or unexpected import is caught.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { openSqlStorage } from '../bench/sqlite_host.js';
import { WASM_FILE } from '../scripts/build.js';
import { CoreError, createCore } from '../shims/core.js';

const module = new WebAssembly.Module(readFileSync(WASM_FILE));

test('the module imports only the storage call and what standalone Emscripten needs', () => {
  const imports = WebAssembly.Module.imports(module).map(({ module: from, name }) => `${from}.${name}`).sort();
  assert.deepEqual(imports, [
    'env.emscripten_notify_memory_growth',
    'kv_host.sql',
    'wasi_snapshot_preview1.environ_get',
    'wasi_snapshot_preview1.environ_sizes_get',
    'wasi_snapshot_preview1.proc_exit',
  ]);
});

test('the module exports the C ABI', () => {
  const exports = new Set(WebAssembly.Module.exports(module).map(({ name }) => name));
  for (const name of ['memory', '_initialize', 'kv_alloc', 'kv_free', 'kv_statement_count', 'kv_statement_sql',
    'kv_migrate', 'kv_handle', 'kv_limits_json', 'kv_trap_for_test']) {
    assert.ok(exports.has(name), `exports ${name}`);
  }
});

test('after a trap the core discards its instance, and the next call runs on a fresh one', () => {
  // The real module and glue (shims/core.js) on real SQLite, as a store object runs them.
  const core = createCore(module);
  const storage = openSqlStorage();
  const encoder = new TextEncoder();
  const call = (operation, body) => storage.transaction(() =>
    core.handle(storage.sql, operation, new Uint8Array(0), encoder.encode(JSON.stringify(body)), Date.now()));
  storage.transaction(() => core.migrate(storage.sql));
  assert.equal(call('set', { key: ['kept'], value: 1 }).status, 200);
  // More traps than the ~1,200 that once exhausted a shared instance's stack.
  for (let i = 0; i < 1300; i++) assert.throws(() => core.trapForTest(), CoreError);
  assert.equal(core.instances, 1300, 'a fresh instance after each trap');
  const { entries } = JSON.parse(call('get', { keys: [['kept']] }).body);
  assert.equal(entries[0].value, 1, 'the data lives in storage, not in the instance');
  assert.equal(core.instances, 1301);
  storage.close();
});
