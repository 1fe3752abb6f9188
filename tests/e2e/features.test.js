// list, count, getMany, counters and expiry end to end against workerd.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { KvU64 } from '@own3d/kv';
import { connectNewStore, sharedEmulator } from '../helpers.js';

let emulator;
let kv;

before(async () => {
  emulator = await sharedEmulator();
  ({ kv } = await connectNewStore(emulator));
  // 25 items, plus neighbours that a prefix must not include.
  const atomic = kv.atomic();
  for (let i = 0; i < 25; i++) atomic.set(['items', i], { i });
  atomic.set(['items'], 'the prefix itself').set(['itemz'], 'after').set(['item'], 'before');
  await atomic.commit();
});
after(() => emulator?.close());

async function collect(iterator) {
  const entries = [];
  for await (const entry of iterator) entries.push(entry);
  return entries;
}

const values = (entries) => entries.map((entry) => entry.value.i);
const range = (from, to) => Array.from({ length: to - from }, (_, i) => from + i);

describe('list', () => {
  test('a prefix lists its keys in order, not the prefix itself nor neighbours', async () => {
    assert.deepEqual(values(await collect(kv.list({ prefix: ['items'] }))), range(0, 25));
  });

  test('batches of any size give the same entries, resumed with cursors across batches', async () => {
    for (const batchSize of [1, 7, 25, 1000]) {
      assert.deepEqual(values(await collect(kv.list({ prefix: ['items'] }, { batchSize }))), range(0, 25), `batch ${batchSize}`);
    }
  });

  test('limit, reverse, and a cursor resuming exactly after the last entry returned', async () => {
    const first = kv.list({ prefix: ['items'] }, { limit: 10, batchSize: 4 });
    assert.deepEqual(values(await collect(first)), range(0, 10));
    const rest = await collect(kv.list({ prefix: ['items'] }, { cursor: first.cursor, batchSize: 6 }));
    assert.deepEqual(values(rest), range(10, 25));

    const backwards = kv.list({ prefix: ['items'] }, { reverse: true, limit: 5, batchSize: 2 });
    assert.deepEqual(values(await collect(backwards)), [24, 23, 22, 21, 20]);
    const more = await collect(kv.list({ prefix: ['items'] }, { reverse: true, cursor: backwards.cursor, limit: 3 }));
    assert.deepEqual(values(more), [19, 18, 17]);
  });

  test('stopping mid-batch leaves a cursor at the last entry taken', async () => {
    const iterator = kv.list({ prefix: ['items'] }, { batchSize: 10 });
    for await (const entry of iterator) if (entry.value.i === 3) break;
    assert.deepEqual(values(await collect(kv.list({ prefix: ['items'] }, { cursor: iterator.cursor, limit: 2 }))), [4, 5]);
  });

  test('start and end, alone or inside a prefix', async () => {
    assert.deepEqual(values(await collect(kv.list({ start: ['items', 5], end: ['items', 8] }))), [5, 6, 7]);
    assert.deepEqual(values(await collect(kv.list({ prefix: ['items'], start: ['items', 22] }))), [22, 23, 24]);
    assert.deepEqual(values(await collect(kv.list({ prefix: ['items'], end: ['items', 2] }))), [0, 1]);
  });

  test('a start outside the prefix and a cursor of another selector are refused', async () => {
    await assert.rejects(collect(kv.list({ prefix: ['items'], start: ['other'] })), { code: 'invalid_selector', status: 400 });
    const iterator = kv.list({ prefix: ['items'] }, { limit: 1 });
    await collect(iterator);
    await assert.rejects(collect(kv.list({ prefix: ['itemz'] }, { cursor: iterator.cursor })), { code: 'invalid_cursor' });
  });

  test('keysOnly transfers no values', async () => {
    const entries = await collect(kv.list({ prefix: ['items'] }, { keysOnly: true, limit: 3 }));
    assert.deepEqual(entries.map((entry) => entry.key), [['items', 0], ['items', 1], ['items', 2]]);
    assert.ok(entries.every((entry) => entry.value === null && /^[0-9a-f]{20}$/.test(entry.version)));
  });

  test('a list across key-part types follows bytes < string < bigint < number < false < true', async () => {
    const parts = [true, 2, 'b', new Uint8Array([1]), false, 1n, -1.5, 'a', new Uint8Array([0]), -5n];
    const atomic = kv.atomic();
    for (const part of parts) atomic.set(['mixed', part], String(part));
    await atomic.commit();
    const keys = (await collect(kv.list({ prefix: ['mixed'] }))).map((entry) => entry.key[1]);
    assert.deepEqual(keys, [new Uint8Array([0]), new Uint8Array([1]), 'a', 'b', -5n, 1n, -1.5, 2, false, true]);
  });
});

test('count answers without transferring entries', async () => {
  assert.equal(await kv.count({ prefix: ['items'] }), 25);
  assert.equal(await kv.count({ start: ['items', 3], end: ['items', 13] }), 10);
  assert.equal(await kv.count({ prefix: ['nothing'] }), 0);
});

test('getMany reads 100 keys in one round trip; 101 are refused', async () => {
  const keys = Array.from({ length: 100 }, (_, i) => ['items', i % 30]);
  const entries = await kv.getMany(keys);
  assert.equal(entries.length, 100);
  assert.deepEqual(entries.slice(24, 27).map((entry) => entry.value), [{ i: 24 }, null, null]);
  await assert.rejects(kv.getMany([...keys, ['one', 'more']]), { name: 'TypeError', message: /1 to 100 keys/ });
});

describe('counters', () => {
  test('sum past 2^53 keeps every bit and wraps at 2^64', async () => {
    const big = 2n ** 53n + 1n;
    await kv.atomic().sum(['counter'], big).commit();
    await kv.atomic().sum(['counter'], 2n).commit();
    let entry = await kv.get(['counter']);
    assert.ok(entry.value instanceof KvU64);
    assert.equal(entry.value.value, big + 2n);
    await kv.atomic().sum(['counter'], 2n ** 64n - 1n).commit();
    entry = await kv.get(['counter']);
    assert.equal(entry.value.value, big + 1n);
  });

  test('min and max, and a counter set directly', async () => {
    await kv.set(['bounds'], new KvU64(10n));
    await kv.atomic().min(['bounds'], 4).commit();
    assert.equal((await kv.get(['bounds'])).value.value, 4n);
    await kv.atomic().max(['bounds'], 9n).commit();
    assert.equal((await kv.get(['bounds'])).value.value, 9n);
  });

  test('a counter mutation on a JSON value rejects the whole commit', async () => {
    await kv.set(['json-number'], 5);
    await assert.rejects(kv.atomic().set(['side'], 1).sum(['json-number'], 1).commit(), { code: 'not_a_counter', status: 400 });
    assert.equal((await kv.get(['side'])).value, null);
    assert.equal((await kv.get(['json-number'])).value, 5);
  });
});

describe('expiry', () => {
  test('an expired entry is invisible at once, and the alarm frees its storage', async () => {
    const { kv: store } = await connectNewStore(emulator);
    await store.set(['keep'], 'kept');
    const before = (await store.usage()).usage.storageBytes;
    const { version } = await store.set(['brief'], 'x'.repeat(1000), { expireIn: 1500 });
    const entry = await store.get(['brief']);
    assert.equal(entry.version, version);
    assert.ok(entry.expiresAt > Date.now() - 5000);
    assert.ok((await store.usage()).usage.storageBytes > before);
    await new Promise((resolve) => setTimeout(resolve, entry.expiresAt - Date.now() + 50));
    assert.equal((await store.get(['brief'])).value, null);
    assert.equal(await store.count({ prefix: ['brief'] }), 0);
    // The alarm fires at the expiry; give it a moment, then storage is back.
    let storage;
    for (let i = 0; i < 50; i++) {
      storage = (await store.usage()).usage.storageBytes;
      if (storage === before) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    assert.equal(storage, before);
    assert.equal((await store.get(['keep'])).value, 'kept');
  });

  test('expireIn must be a positive whole number of milliseconds', async () => {
    await assert.rejects(kv.set(['bad'], 1, { expireIn: -1 }), TypeError);
  });
});

describe('watch', () => {
  test('yields the current entries, then a change made by another client', async () => {
    const { kv: watcher, store } = await connectNewStore(emulator);
    const { connect } = await import('@own3d/kv');
    const other = connect({ accessToken: store.accessToken, region: store.region, endpoint: emulator.url });
    await watcher.set(['w', 'a'], 1);
    const reader = watcher.watch([['w', 'a'], ['w', 'b']]).getReader();
    const first = await reader.read();
    assert.deepEqual(first.value.entries.map((entry) => entry.value), [1, null]);
    assert.deepEqual(first.value.changed, [0, 1]);
    await other.set(['w', 'unwatched'], 0); // changes nothing watched: no event
    await other.set(['w', 'b'], 2);
    const second = await reader.read();
    assert.deepEqual(second.value.changed, [1]);
    assert.deepEqual(second.value.entries.map((entry) => entry.value), [1, 2]);
    await other.delete(['w', 'a']);
    assert.deepEqual((await reader.read()).value.changed, [0]);
    await reader.cancel();
  });

  test('more than 10 keys are refused', () => {
    assert.throws(() => kv.watch(Array.from({ length: 11 }, (_, i) => [i])), TypeError);
  });

  test('reconnects after the connection drops and reports what changed meanwhile', async () => {
    const { startFreshEmulator, createStore } = await import('../helpers.js');
    const { connect } = await import('@own3d/kv');
    const first = await startFreshEmulator();
    const port = new URL(first.url).port;
    let second;
    try {
      const store = await createStore(first);
      const open = () => connect({ accessToken: store.accessToken, region: store.region, endpoint: first.url });
      const reader = open().watch([['r']]).getReader();
      assert.deepEqual((await reader.read()).value.changed, [0]);
      const next = reader.read(); // pending while the emulator restarts
      await first.stop();
      second = await startFreshEmulator({ stateDir: first.stateDir, adminToken: first.adminToken, port: Number(port) });
      await open().set(['r'], 'after the drop');
      const event = await next;
      assert.deepEqual(event.value.changed, [0]);
      assert.equal(event.value.entries[0].value, 'after the drop');
      await reader.cancel();
    } finally {
      await second?.stop();
      await first.stop();
      first.remove();
    }
  });
});

test('export, import into a new store and export again give the same 10,000 entries', async () => {
  const unlimited = { opsPerMonth: null, storageBytes: null };
  const { kv: source } = await connectNewStore(emulator, unlimited);
  const inAnHour = Date.now() + 3_600_000;
  for (let batch = 0; batch < 10; batch++) {
    const atomic = source.atomic();
    for (let i = batch * 1000; i < (batch + 1) * 1000; i++) {
      const key = ['export', i % 3 === 0 ? BigInt(i) : i % 3 === 1 ? `s${i}` : new Uint8Array([i >> 8, i & 255])];
      if (i % 1000 === 0) atomic.set(key, new KvU64(BigInt(i) + 2n ** 60n));
      else if (i % 1000 === 1) atomic.set(key, { i }, { expireIn: inAnHour - Date.now() });
      else atomic.set(key, { i, text: 'é'.repeat(i % 50) });
    }
    await source.atomic().commit(); // versions differ from the copy's anyway
    await atomic.commit();
  }
  const exported = [];
  for await (const line of source.export()) exported.push(line);
  assert.equal(exported.length, 10_000);

  const { kv: copy } = await connectNewStore(emulator, unlimited);
  const progress = [];
  const result = await copy.import(exported, { batchSize: 1000, onProgress: (p) => progress.push(p) });
  assert.deepEqual(result, { imported: 10_000, skipped: 0, batches: 10 });
  assert.equal(progress.length, 10);
  assert.equal(progress.at(-1).imported, 10_000);

  const again = [];
  for await (const line of copy.export()) again.push(line);
  // Versions are each store's own; expiry is kept to within the import's delay.
  const comparable = (line) => {
    const { version, expiresAt, ...entry } = JSON.parse(line);
    assert.match(version, /^[0-9a-f]{20}$/);
    return { ...entry, expires: expiresAt === undefined ? null : Math.round(expiresAt / 60_000) };
  };
  assert.deepEqual(again.map(comparable), exported.map(comparable));
  assert.equal(again.filter((line) => line.includes('"valueType":"u64"')).length, 10);
  assert.equal(again.filter((line) => line.includes('"expiresAt"')).length, 10);
});
