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
  // Reading one key reads the state row (token, quota) and the entry.
  assert.equal(rows(reads.get).read, 2);
  assert.equal(reads.get.body.entries[0].version, version);
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
