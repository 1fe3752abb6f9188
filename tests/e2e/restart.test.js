// Data outlives the emulator: stop workerd, start it on the same state
// directory, and every acknowledged write is still there.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { connect } from '@own3d/kv';
import { createStore, startFreshEmulator } from '../helpers.js';

test('data and tokens survive an emulator restart', async () => {
  const first = await startFreshEmulator();
  try {
    const store = await createStore(first);
    const open = (url) => connect({ accessToken: store.accessToken, region: store.region, endpoint: url });
    const kv = open(first.url);
    const written = [];
    for (let i = 0; i < 20; i++) written.push(await kv.set(['item', i], { i }));
    await first.stop();

    const second = await startFreshEmulator({ stateDir: first.stateDir, adminToken: first.adminToken });
    try {
      const entries = await open(second.url).getMany(written.map((_, i) => ['item', i]));
      assert.deepEqual(entries.map((entry) => entry.value), written.map((_, i) => ({ i })));
      assert.deepEqual(entries.map((entry) => entry.version), written.map((result) => result.version));
      // Versions go on increasing after the restart.
      const next = await open(second.url).set(['item', 'after'], true);
      assert.ok(next.version > written.at(-1).version);
    } finally {
      await second.stop();
    }
  } finally {
    await first.stop();
    first.remove();
  }
});
