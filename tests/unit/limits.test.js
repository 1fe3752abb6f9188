// The limits module the build writes for the Worker's router
// (build/wasm/kv_limits.js) says what the built core says: the router reads
// the core's limits without instantiating it, from this module.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { LIMITS } from '../../build/wasm/kv_limits.js';
import { WASM_FILE } from '../../scripts/build.js';
import { createCore } from '../../shims/core.js';

test('build/wasm/kv_limits.js holds the built core\'s kv_limits_json', () => {
  const { limits } = createCore(new WebAssembly.Module(readFileSync(WASM_FILE)));
  assert.deepEqual(LIMITS, limits);
  assert.ok(Object.isFrozen(LIMITS));
  assert.equal(LIMITS.maxRequestBytes, 2 * 1024 * 1024);
});

test('the Worker\'s router and the modules it routes to never instantiate the core', () => {
  for (const file of ['worker.js', 'store_routes.js', 'admin.js', 'auth.js', 'directory.js', 'http.js', 'objects.js', 'kv_connect.js']) {
    const code = readFileSync(new URL(`../../shims/${file}`, import.meta.url), 'utf8');
    assert.doesNotMatch(code, /sharedCore|createCore|kv_core\.wasm/, `shims/${file} reaches for the core`);
  }
});
