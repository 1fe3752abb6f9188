// Reads write nothing (issue 11), on workerd through the real HTTP API. The
// test emulator runs with KV_ROW_COUNTS=on, so every store response carries
// the rows its SQL read and wrote (kv-rows-read, kv-rows-written): what the
// host bills. The usage count of reads lives in the store object's memory
// until a fold; `npm run test:crash` shows what a kill may lose of it.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { call, createStore, sharedEmulator } from '../helpers.js';

let emulator;
before(async () => {
  emulator = await sharedEmulator();
});
after(() => emulator?.close());

const rows = (response) => ({
  read: Number(response.headers.get('kv-rows-read')),
  written: Number(response.headers.get('kv-rows-written')),
});

test('no read writes a row; a write writes its entries and the state row', async () => {
  const { accessToken: token } = await createStore(emulator, 'eu-central-1', { opsPerMonth: 1000, storageBytes: null });
  const store = (path, body, method = 'POST') => call(emulator.url, path, { token, body, method });
  const set = await store('/v1/set', { key: ['a'], value: { n: 1 } });
  assert.equal(set.status, 200);
  assert.deepEqual(rows(set).written, 2, 'the entry and the state row (version, usage, storage)');
  const { version } = set.body;

  const reads = {
    get: await store('/v1/get', { keys: [['a']] }),
    getMany: await store('/v1/get', { keys: [['a'], ['b'], ['c']] }),
    list: await store('/v1/list', { prefix: [] }),
    count: await store('/v1/count', { prefix: [] }),
    usage: await store('/v1/usage', undefined, 'GET'),
    'failed check': await store('/v1/atomic', { checks: [{ key: ['a'], version: null }], mutations: [{ type: 'set', key: ['a'], value: 2 }] }),
    'refused request': await store('/v1/get', { keys: 'not an array' }),
  };
  for (const [name, response] of Object.entries(reads)) {
    assert.ok(response.headers.has('kv-rows-written'), `${name}: the row counts are reported`);
    assert.equal(rows(response).written, 0, `${name} wrote no row (status ${response.status})`);
  }
  assert.equal(reads['failed check'].body.ok, false);
  assert.equal(reads['refused request'].status, 400);
  // Reading one key reads the entry alone: the store object holds the state
  // row (token, quota) since the set, as storage holds it.
  assert.equal(rows(reads.get).read, 1);
  assert.equal(reads.get.body.entries[0].version, version);
});

test('a list page reads each entry it returns once, and no row past its page', async () => {
  const { accessToken: token } = await createStore(emulator, 'eu-central-1', { opsPerMonth: null, storageBytes: null });
  const store = (path, body) => call(emulator.url, path, { token, body });
  const mutations = [];
  for (let i = 0; i < 300; i++) mutations.push({ type: 'set', key: ['k', i], value: { n: i, pad: 'x'.repeat(100) } });
  assert.equal((await store('/v1/atomic', { checks: [], mutations })).status, 200);
  for (const reverse of [false, true]) {
    const page = await store('/v1/list', { prefix: ['k'], limit: 100, reverse });
    assert.equal(page.status, 200);
    assert.equal(page.body.entries.length, 100);
    assert.ok(page.body.cursor, 'a cursor to the other 200');
    // The 100 entries (the object holds the state row); SQLite's LIMIT may
    // step one past.
    const { read } = rows(page);
    assert.ok(read >= 100 && read <= 101, `${reverse ? 'reverse ' : ''}list 100 read ${read} rows`);
  }
  // A page of large values stops at 1 MiB and reads no value past it.
  const big = [];
  for (let i = 0; i < 100; i++) big.push({ type: 'set', key: ['big', i], value: 'v'.repeat(16_000) });
  for (let i = 0; i < 100; i += 40) {
    assert.equal((await store('/v1/atomic', { checks: [], mutations: big.slice(i, i + 40) })).status, 200);
  }
  const page = await store('/v1/list', { prefix: ['big'], limit: 100 });
  assert.equal(page.body.entries.length, 66, '65 entries stay below 1 MiB; the 66th reaches it');
  assert.ok(rows(page).read <= 66 + 2, `list of 16 KB values read ${rows(page).read} rows`);
});

test('a quota counts reads at once: the read past the limit is refused though none was written', async () => {
  const { accessToken: token } = await createStore(emulator, 'eu-central-1', { opsPerMonth: 3, storageBytes: null });
  const get = () => call(emulator.url, '/v1/get', { token, body: { keys: [['x']] } });
  for (const remaining of [2, 1, 0]) {
    const answer = await get();
    assert.equal(answer.status, 200);
    assert.equal(answer.headers.get('ratelimit-remaining'), String(remaining));
    assert.equal(rows(answer).written, 0);
  }
  const refused = await get();
  assert.equal(refused.status, 429);
  assert.equal(refused.body.error.code, 'quota_exceeded');
  assert.match(refused.body.error.message, /used 3 of its 3/);
  const usage = await call(emulator.url, '/v1/usage', { token, method: 'GET' });
  assert.equal(usage.body.usage.operations, 3, 'the usage report counts the reads not yet written');
});
