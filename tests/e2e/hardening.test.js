// Regression tests for the hardening review (issue 10): each finding,
// reproduced on workerd through the real HTTP API. Faults are injected with
// the test emulator's KV_FAULTS switch (shims/faults.js): a real trap in the
// real wasm core, a real storage error in a real purge.

import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { call, connectNewStore, createStore, sharedEmulator } from '../helpers.js';

const UNLIMITED = { opsPerMonth: null, storageBytes: null };
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

let emulator;
before(async () => {
  emulator = await sharedEmulator();
});
after(() => emulator?.close());

const admin = (path, options = {}) => call(emulator.url, path, { token: emulator.adminToken, ...options });
const usage = async (token) => (await call(emulator.url, '/v1/usage', { method: 'GET', token })).body.usage;
const armFault = (store, fault, count) => admin('/v1/admin/faults', { body: { store, fault, count } });

describe('token rotation races', () => {
  test('five rotations at once keep the data and limits; exactly the last token works', async () => {
    const store = await createStore(emulator, 'eu-central-1', { opsPerMonth: 5000, storageBytes: 2_000_000 });
    assert.equal((await call(emulator.url, '/v1/set', { token: store.accessToken, body: { key: ['kept'], value: 42 } })).status, 200);
    const rotations = await Promise.all(Array.from({ length: 5 },
      () => admin(`/v1/admin/stores/${store.id}/token`, { method: 'POST' })));
    assert.deepEqual(rotations.map((r) => r.status), [200, 200, 200, 200, 200], JSON.stringify(rotations.map((r) => r.body)));
    const tokens = [store.accessToken, ...rotations.map((r) => r.body.accessToken)];
    const answers = await Promise.all(tokens.map((token) =>
      call(emulator.url, '/v1/get', { token, body: { keys: [['kept']] }, headers: { 'cf-connecting-ip': `198.51.100.${Math.floor(Math.random() * 250)}` } })));
    const working = answers.filter((answer) => answer.status === 200);
    assert.equal(working.length, 1, `one token works: ${answers.map((a) => a.status)}`);
    assert.equal(working[0].body.entries[0].value, 42, 'the data survived');
    const shown = await admin(`/v1/admin/stores/${store.id}`, { method: 'GET' });
    assert.equal(shown.status, 200);
    assert.deepEqual(shown.body.limits, { opsPerMonth: 5000, storageBytes: 2_000_000 }, 'the limits survived');
  });

  test('a rotation racing a delete never brings the store back', async () => {
    for (let attempt = 0; attempt < 5; attempt++) {
      const store = await createStore(emulator);
      const [rotated, deleted] = await Promise.all([
        admin(`/v1/admin/stores/${store.id}/token`, { method: 'POST' }),
        admin(`/v1/admin/stores/${store.id}`, { method: 'DELETE' }),
      ]);
      assert.equal(deleted.status, 200);
      assert.ok([200, 404].includes(rotated.status), JSON.stringify(rotated.body));
      assert.equal((await admin(`/v1/admin/stores/${store.id}`, { method: 'GET' })).status, 404);
      if (rotated.status === 200) {
        assert.equal((await call(emulator.url, '/v1/usage', { method: 'GET', token: rotated.body.accessToken })).status, 401);
      }
      assert.equal((await admin(`/v1/admin/stores/${store.id}/token`, { method: 'POST' })).status, 404);
      assert.equal((await admin(`/v1/admin/stores/${store.id}`, { method: 'PATCH', body: { limits: { opsPerMonth: 1 } } })).status, 404);
    }
  });
});

describe('one store cannot break the core for others', () => {
  test('a page of 16 KiB values is cut at 1 MiB with a cursor, and such a store exports whole', async () => {
    const { kv, store } = await connectNewStore(emulator, UNLIMITED);
    const value = 'v'.repeat(16 * 1024 - 2); // 16 KiB as JSON
    for (let i = 0; i < 1000; i += 40) {
      const op = kv.atomic();
      for (let j = i; j < i + 40; j++) op.set(['big', j], value);
      assert.equal((await op.commit()).ok, true);
    }
    const page = await call(emulator.url, '/v1/list', { token: store.accessToken, body: { prefix: ['big'], limit: 1000 } });
    assert.equal(page.status, 200, JSON.stringify(page.body).slice(0, 300));
    assert.ok(page.body.entries.length > 1 && page.body.entries.length < 70, `${page.body.entries.length} entries`);
    assert.notEqual(page.body.cursor, null);
    let exported = 0;
    for await (const line of kv.export({ prefix: ['big'] })) exported += line.length > 16 * 1024 ? 1 : 0;
    assert.equal(exported, 1000);
  });

  test('after 1,300 traps forced in the core, every store still answers', async () => {
    const victim = await createStore(emulator, 'eu-central-1', UNLIMITED);
    const bystander = await connectNewStore(emulator, UNLIMITED);
    await bystander.kv.set(['still'], 'here');
    const traps = 1300;
    assert.equal((await armFault(victim.id, 'trap', traps)).status, 200);
    const statuses = new Map();
    for (let sent = 0; sent < traps; sent += 20) {
      const answers = await Promise.all(Array.from({ length: 20 },
        () => call(emulator.url, '/v1/get', { token: victim.accessToken, body: { keys: [['a']] } })));
      for (const { status } of answers) statuses.set(status, (statuses.get(status) ?? 0) + 1);
    }
    assert.deepEqual([...statuses], [[500, traps]], 'each trapped request is a 500, nothing worse');
    const after = await call(emulator.url, '/v1/set', { token: victim.accessToken, body: { key: ['a'], value: 1 } });
    assert.equal(after.status, 200, JSON.stringify(after.body));
    assert.equal((await bystander.kv.get(['still'])).value, 'here');
    const page = await call(emulator.url, '/v1/list', { token: victim.accessToken, body: { prefix: [] } });
    assert.deepEqual(page.body.entries.map((e) => e.value), [1]);
  });
});

describe('watches are bounded', () => {
  test('the 65th watch of a store is refused 429 without a charge; ended watches free their slots', async () => {
    const store = await createStore(emulator, 'eu-central-1', UNLIMITED);
    const open = (signal) => fetch(`${emulator.url}/v1/watch`, {
      method: 'POST',
      headers: { authorization: `Bearer ${store.accessToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ keys: [['w', 1], ['w', 2]] }),
      signal,
    });
    const controllers = Array.from({ length: 64 }, () => new AbortController());
    const watches = await Promise.all(controllers.map((controller) => open(controller.signal)));
    assert.deepEqual([...new Set(watches.map((w) => w.status))], [200]);
    const before = (await usage(store.accessToken)).operations;
    const refused = await open();
    assert.equal(refused.status, 429);
    assert.equal((await refused.json()).error.code, 'too_many_watches');
    assert.equal((await usage(store.accessToken)).operations, before, 'a refused watch costs nothing');
    // 64 watchers that read nothing do not hold up a write.
    const started = Date.now();
    for (let i = 0; i < 20; i++) {
      const set = await call(emulator.url, '/v1/set', { token: store.accessToken, body: { key: ['w', 1], value: 'x'.repeat(8000) } });
      assert.equal(set.status, 200);
    }
    assert.ok(Date.now() - started < 20_000);
    // A watch the store ends frees its slot at once: rotating the token ends
    // all 64, and the new token opens a watch. (A client that goes away is
    // noticed when a write to it fails or stalls, within the keep-alive and
    // stall bounds: tests/unit/watch_hub.test.js. wrangler dev's proxy holds
    // a closed client's connection open, so that case is not tested here.)
    const rotated = await admin(`/v1/admin/stores/${store.id}/token`, { method: 'POST' });
    assert.equal(rotated.status, 200);
    const ended = await Promise.all(watches.map((watch) => watch.text()));
    assert.ok(ended.every((text) => /event: error\ndata: .*invalid_token/.test(text)), 'each watch ended with an error event');
    const reopened = await fetch(`${emulator.url}/v1/watch`, {
      method: 'POST',
      headers: { authorization: `Bearer ${rotated.body.accessToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ keys: [['w', 1]] }),
    });
    assert.equal(reopened.status, 200, 'the ended watches freed their slots');
    await reopened.body.cancel();
    for (const controller of controllers) controller.abort();
  });

  test('rotating the token ends the watches opened with the old one', async () => {
    const store = await createStore(emulator, 'eu-central-1', UNLIMITED);
    const response = await fetch(`${emulator.url}/v1/watch`, {
      method: 'POST',
      headers: { authorization: `Bearer ${store.accessToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ keys: [['r']] }),
    });
    assert.equal(response.status, 200);
    assert.equal((await admin(`/v1/admin/stores/${store.id}/token`, { method: 'POST' })).status, 200);
    const text = await response.text(); // ends: the stream is closed
    assert.match(text, /event: error\ndata: .*invalid_token/);
  });
});

describe('failed authentications', () => {
  test('random tokens from one address are refused 429 past the limit, with Retry-After', async () => {
    const address = `203.0.113.${Math.floor(Math.random() * 250)}`;
    let first429 = null;
    for (let i = 0; i < 130 && first429 === null; i++) {
      const answer = await call(emulator.url, '/v1/get', {
        token: randomUUID(), body: { keys: [['a']] }, headers: { 'cf-connecting-ip': address },
      });
      if (answer.status === 429) first429 = i;
      else assert.equal(answer.status, 401);
    }
    assert.ok(first429 !== null && first429 >= 100, `429 after ${first429}`);
    const next = await call(emulator.url, '/v1/get', { token: randomUUID(), body: { keys: [['a']] }, headers: { 'cf-connecting-ip': address } });
    assert.equal(next.status, 429);
    assert.ok(Number(next.headers.get('retry-after')) > 0);
  });
});

describe('expiry purge', () => {
  test('a purge that fails on storage is tried again, and a backlog is purged in batches', async () => {
    const store = await createStore(emulator, 'eu-central-1', UNLIMITED);
    const { accessToken: token } = store;
    for (let i = 0; i < 1200; i += 600) {
      const mutations = Array.from({ length: 600 }, (_, j) => ({ type: 'set', key: ['exp', i + j], value: 1, expireIn: 1500 }));
      assert.equal((await call(emulator.url, '/v1/atomic', { token, body: { mutations } })).status, 200);
    }
    assert.ok((await usage(token)).storageBytes > 0);
    assert.equal((await armFault(store.id, 'purge_storage_error', 1)).status, 200);
    // The alarm fires at expiry and fails once; its retry (10 s later) purges 1,200 rows in batches of 500.
    const deadline = Date.now() + 40_000;
    let bytes;
    while (Date.now() < deadline) {
      bytes = (await usage(token)).storageBytes;
      if (bytes === 0) break;
      await sleep(500);
    }
    assert.equal(bytes, 0, 'the expired entries were purged after the failure');
  });
});

describe('nothing after the commit point turns a success into an error', () => {
  test('a failure after the commit still answers 200, and a sum is applied once', async () => {
    const store = await createStore(emulator, 'eu-central-1', UNLIMITED);
    assert.equal((await armFault(store.id, 'after_commit_error', 1)).status, 200);
    const summed = await call(emulator.url, '/v1/atomic', {
      token: store.accessToken,
      body: { mutations: [{ type: 'sum', key: ['n'], value: '5' }] },
    });
    assert.equal(summed.status, 200, JSON.stringify(summed.body));
    const read = await call(emulator.url, '/v1/get', { token: store.accessToken, body: { keys: [['n']] } });
    assert.equal(read.body.entries[0].value, '5');
  });
});

describe('integer key parts', () => {
  test('integers no double holds are refused over raw HTTP, not merged', async () => {
    const store = await createStore(emulator);
    const raw = (body) => call(emulator.url, '/v1/set', { token: store.accessToken, body });
    const refused = await raw('{"key":[9007199254740993],"value":1}');
    assert.equal(refused.status, 400);
    assert.equal(refused.body.error.code, 'invalid_key');
    assert.match(refused.body.error.message, /bigint/);
    assert.equal((await raw('{"key":[9007199254740992],"value":2}')).status, 200);
    const got = await call(emulator.url, '/v1/get', { token: store.accessToken, body: { keys: [[9007199254740992]] } });
    assert.equal(got.body.entries[0].value, 2);
  });
});
