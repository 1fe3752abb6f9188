// Queues over the JSON API on workerd (docs/queues.md), with raw HTTP: the
// commit's all-or-nothing, bad input, delays, ordering, the retry schedule
// and dead letters, listeners sharing messages, redelivery after a lost
// listener, the listener cap and the operator's view. The client's
// listenQueue is tested in queues_client.test.js.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { call, createStore, openQueueListener, sharedEmulator } from '../helpers.js';

let emulator;
before(async () => {
  emulator = await sharedEmulator();
});
after(() => emulator?.close());

const UNLIMITED = { opsPerMonth: null, storageBytes: null };

async function newStore(limits = UNLIMITED) {
  const store = await createStore(emulator, 'eu-central-1', limits);
  const request = (path, body, method = 'POST') => call(emulator.url, path, { token: store.accessToken, body, method });
  return { ...store, request, queue: async () => (await request('/v1/queue', undefined, 'GET')).body };
}

const listen = (store, window) => openQueueListener(emulator.url, store.accessToken, window);

const settle = (store, messages, ok = true) => store.request('/v1/queue/settle', {
  messages: messages.map(({ id, delivery }) => ({ id, delivery, ok })),
});

test('an enqueue commits with its checks and writes, or not at all', async () => {
  const store = await newStore();
  const order = ['orders', 1];
  const first = await store.request('/v1/atomic', {
    checks: [{ key: order, version: null }],
    mutations: [{ type: 'set', key: order, value: { total: 10 } }],
    enqueues: [{ value: { receipt: 1 } }],
  });
  assert.equal(first.body.ok, true);
  const again = await store.request('/v1/atomic', {
    checks: [{ key: order, version: null }],
    mutations: [{ type: 'set', key: order, value: { total: 99 } }],
    enqueues: [{ value: { receipt: 2 } }],
  });
  assert.deepEqual(again.body, { ok: false, failedChecks: [0] });
  const queue = await store.queue();
  assert.equal(queue.depth, 1, 'the failed commit enqueued nothing');
  const listener = await listen(store);
  const message = await listener.message();
  assert.deepEqual(message.value, { receipt: 1 });
  assert.deepEqual((await settle(store, [message])).body, { outcomes: ['acked'] });
  listener.close();
  assert.equal((await store.request('/v1/get', { keys: [order] })).body.entries[0].value.total, 10);
});

test('bad enqueues are refused with their reason, and nothing of the commit is applied', async () => {
  const store = await newStore();
  const cases = [
    [{ value: 1, delay: -1 }, 'invalid_delay'],
    [{ value: 1, delay: 30 * 24 * 3600 * 1000 + 1 }, 'invalid_delay'],
    [{ value: 1, delay: 1.5 }, 'invalid_delay'],
    [{ value: 1, delay: '10' }, 'invalid_delay'],
    [{ value: 1, backoffSchedule: [1, 2, 3, 4, 5, 6] }, 'invalid_backoff_schedule'],
    [{ value: 1, backoffSchedule: [3600001] }, 'invalid_backoff_schedule'],
    [{ value: 1, backoffSchedule: [-1] }, 'invalid_backoff_schedule'],
    [{ value: 1, backoffSchedule: null }, 'invalid_backoff_schedule'],
    [{ value: 1, keysIfUndelivered: Array.from({ length: 11 }, (_, i) => ['dead', i]) }, 'too_many_undelivered_keys'],
    [{ value: 1, keysIfUndelivered: [[{ not: 'a key part' }]] }, 'invalid_key'],
    [{ value: 'x'.repeat(16 * 1024) }, 'value_too_large'],
    [{ value: '1', valueType: 'u64' }, 'invalid_request'],
    [{ value: 1, priority: 2 }, 'invalid_request'],
    [{ delay: 5 }, 'invalid_request'],
  ];
  for (const [enqueue, code] of cases) {
    const response = await store.request('/v1/atomic', {
      mutations: [{ type: 'set', key: ['written'], value: true }],
      enqueues: [{ value: 'fine' }, enqueue],
    });
    assert.ok(response.status >= 400 && response.status < 500, `${JSON.stringify(enqueue).slice(0, 80)}: ${response.status}`);
    assert.equal(response.body.error.code, code, JSON.stringify(response.body));
    assert.match(response.body.error.message, /enqueues\[1\]/, 'the message names the enqueue');
  }
  const tooMany = await store.request('/v1/atomic', { enqueues: Array.from({ length: 101 }, () => ({ value: 1 })) });
  assert.equal(tooMany.body.error.code, 'too_many_enqueues');
  assert.equal((await store.queue()).depth, 0);
  assert.equal((await store.request('/v1/get', { keys: [['written']] })).body.entries[0].value, null);
  for (const [body, code] of [
    [{ concurrency: 0 }, 'invalid_queue_option'],
    [{ concurrency: 65 }, 'invalid_queue_option'],
    [{ visibilityTimeout: 999 }, 'invalid_queue_option'],
    [{ visibility: 1000 }, 'invalid_request'],
  ]) {
    const response = await store.request('/v1/queue/listen', body);
    assert.equal(response.status, 400, JSON.stringify(body));
    assert.equal(response.body.error.code, code);
  }
  for (const body of [{ messages: [] }, { messages: [{ id: 1, delivery: 1 }] }, { messages: [{ id: 'a', delivery: 1, ok: true }] }]) {
    assert.equal((await store.request('/v1/queue/settle', body)).status, 400, JSON.stringify(body));
  }
});

test('a delayed message is delivered once its delay has passed (tolerance: 1.5 s late)', async () => {
  const store = await newStore();
  const listener = await listen(store);
  const sent = Date.now();
  await store.request('/v1/atomic', { enqueues: [{ value: 'later', delay: 2000 }, { value: 'now' }] });
  const now = await listener.message();
  assert.equal(now.value, 'now');
  await settle(store, [now]);
  const later = await listener.message();
  assert.equal(later.value, 'later');
  const waited = later.at - sent;
  assert.ok(waited >= 2000, `delivered after ${waited} ms, not before its 2,000 ms delay`);
  assert.ok(waited <= 3500, `delivered ${waited - 2000} ms late`);
  await settle(store, [later]);
  listener.close();
});

test('due messages are delivered in the order they were enqueued', async () => {
  const store = await newStore();
  for (let i = 0; i < 10; i++) await store.request('/v1/atomic', { enqueues: [{ value: i }] });
  await store.request('/v1/atomic', { enqueues: Array.from({ length: 10 }, (_, i) => ({ value: 10 + i })) });
  const listener = await listen(store, { concurrency: 1 });
  const seen = [];
  for (let i = 0; i < 20; i++) {
    const message = await listener.message();
    seen.push(message.value);
    await settle(store, [message]);
  }
  listener.close();
  assert.deepEqual(seen, Array.from({ length: 20 }, (_, i) => i));
});

test('a failed message is retried per its schedule, then written to keysIfUndelivered', async () => {
  const store = await newStore();
  const dead = [['dead', 'a'], ['dead', 'b']];
  await store.request('/v1/atomic', {
    enqueues: [{ value: { job: 7 }, backoffSchedule: [300, 600], keysIfUndelivered: dead }],
  });
  const listener = await listen(store);
  const deliveries = [];
  const outcomes = [];
  for (let attempt = 0; attempt < 3; attempt++) {
    const message = await listener.message();
    assert.equal(message.attempt, attempt);
    assert.equal(message.delivery, attempt + 1);
    deliveries.push(message.at);
    outcomes.push(...(await settle(store, [message], false)).body.outcomes);
  }
  listener.close();
  assert.deepEqual(outcomes, ['retrying', 'retrying', 'dead_lettered']);
  assert.ok(deliveries[1] - deliveries[0] >= 300, `first retry after ${deliveries[1] - deliveries[0]} ms`);
  assert.ok(deliveries[2] - deliveries[1] >= 600, `second retry after ${deliveries[2] - deliveries[1]} ms`);
  const { entries } = (await store.request('/v1/get', { keys: dead })).body;
  assert.deepEqual(entries.map((entry) => entry.value), [{ job: 7 }, { job: 7 }]);
  assert.equal(entries[0].version, entries[1].version, 'both keys in one commit');
  const queue = await store.queue();
  assert.equal(queue.depth, 0);
  assert.equal(queue.retried, 2);
  assert.equal(queue.deadLettered, 1);
});

test('two listeners each get distinct messages', async () => {
  const store = await newStore();
  const [a, b] = [await listen(store, { concurrency: 1 }), await listen(store, { concurrency: 1 })];
  await store.request('/v1/atomic', { enqueues: Array.from({ length: 20 }, (_, i) => ({ value: i })) });
  const got = { a: [], b: [] };
  const drain = async (name, listener) => {
    while (got.a.length + got.b.length < 20) {
      const message = await listener.message();
      got[name].push(message.value);
      await settle(store, [message]);
    }
  };
  const done = Promise.race([Promise.all([drain('a', a), drain('b', b)]), new Promise((resolve) => {
    const timer = setInterval(() => {
      if (got.a.length + got.b.length >= 20) resolve(clearInterval(timer));
    }, 20);
  })]);
  await done;
  a.close();
  b.close();
  const all = [...got.a, ...got.b].sort((x, y) => x - y);
  assert.deepEqual(all, Array.from({ length: 20 }, (_, i) => i), 'each message once');
  assert.ok(got.a.length > 0 && got.b.length > 0, `both listeners got messages (${got.a.length}, ${got.b.length})`);
  assert.equal((await store.queue()).delivered, 20);
});

test('a message whose listener went away is delivered again after its visibility timeout', async () => {
  const store = await newStore();
  await store.request('/v1/atomic', { enqueues: [{ value: 'job', backoffSchedule: [0] }] });
  const leasedAfter = Date.now(); // the lease starts after this; its arrival later
  const lost = await listen(store, { visibilityTimeout: 1500 });
  const first = await lost.message();
  lost.close(); // the listener disappears mid-message
  const next = await listen(store, { visibilityTimeout: 1500 });
  const again = await next.message();
  next.close();
  assert.equal(again.id, first.id);
  assert.equal(again.delivery, 2);
  assert.equal(again.attempt, 1, 'the lost delivery counts as a failed one');
  assert.ok(again.at - leasedAfter >= 1500, `redelivered ${again.at - leasedAfter} ms after the lease`);
  assert.deepEqual((await settle(store, [first])).body.outcomes, ['stale'], 'the lost delivery settles nothing');
  assert.deepEqual((await settle(store, [again])).body.outcomes, ['acked']);
});

test('a store holds at most 32 listeners, and a rotated token ends them', async () => {
  const store = await newStore();
  const listeners = [];
  for (let i = 0; i < 32; i++) listeners.push(await listen(store));
  const refused = await store.request('/v1/queue/listen', {});
  assert.equal(refused.status, 429);
  assert.equal(refused.body.error.code, 'too_many_listeners');
  assert.equal((await store.queue()).listeners, 32);
  const rotated = await call(emulator.url, `/v1/admin/stores/${store.id}/token`, { token: emulator.adminToken });
  assert.equal(rotated.status, 200);
  const ended = await listeners[0].next();
  assert.equal(ended.event, 'error');
  assert.equal(ended.data.error.code, 'invalid_token');
  for (const listener of listeners) listener.close();
});

test('enqueues count toward the operations quota; the operator sees the queue', async () => {
  const store = await newStore({ opsPerMonth: 100, storageBytes: null });
  const response = await call(emulator.url, '/v1/atomic', {
    token: store.accessToken,
    body: { mutations: [{ type: 'set', key: ['k'], value: 1 }], enqueues: [{ value: 1 }, { value: 2, delay: 60000 }] },
  });
  assert.equal(response.headers.get('ratelimit-remaining'), '97', 'one operation per mutation and per message');
  const listener = await listen(store);
  await listener.message();
  const view = await call(emulator.url, `/v1/admin/stores/${store.id}/queue`, { method: 'GET', token: emulator.adminToken });
  assert.equal(view.status, 200);
  const { oldestAgeMs, ...counts } = view.body;
  assert.ok(oldestAgeMs >= 0);
  assert.deepEqual(counts, {
    depth: 2, ready: 0, delayed: 1, inFlight: 1, delivered: 0, retried: 0, deadLettered: 0, listeners: 1,
  });
  listener.close();
  const missing = await call(emulator.url, '/v1/admin/stores/00000000-0000-4000-8000-000000000000/queue',
    { method: 'GET', token: emulator.adminToken });
  assert.equal(missing.status, 404);
});
