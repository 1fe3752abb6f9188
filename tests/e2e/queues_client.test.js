// The client's queues (js/queue.js) against the emulator (docs/queues.md):
// kv.enqueue() and atomic().enqueue() deliver their values to
// kv.listenQueue(), JSON, bytes and V8 alike; a handler that throws gets its
// message again per its backoff schedule (the raw stream counts the
// attempts) and the spent message's value lands at keysIfUndelivered; a
// failed check enqueues nothing; bad options are TypeErrors in the client
// and 400s at the store; concurrency bounds the running handlers; abort and
// close() end a listener once its running handler's message was settled; a
// stream cut by a proxy reconnects and the next message still arrives; a
// rotated token ends the listener with its KvError.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { serialize } from 'node:v8';
import { connect, KvError, KvV8Value } from '@own3d/kv';
import { serverSentEvents } from '../../js/streams.js';
import { call, createStore, sharedEmulator } from '../helpers.js';
import { startProxy } from './fault_proxy.js';

let emulator;
const clients = [];
const proxies = [];
before(async () => {
  emulator = await sharedEmulator();
});
after(async () => {
  // Closed, so that no listener of theirs keeps this process alive against
  // an emulator that outlives it (npm test's shared one).
  for (const kv of clients) kv.close();
  for (const proxy of proxies) await proxy.close();
  await emulator?.close();
});

/** A new store and a client of it (through `endpoint`, else straight to the emulator). */
async function setup({ endpoint, ...options } = {}) {
  const store = await createStore(emulator, 'eu-central-1', { opsPerMonth: null, storageBytes: null });
  const kv = connect({ accessToken: store.accessToken, region: store.region, endpoint: endpoint ?? emulator.url, ...options });
  clients.push(kv);
  return { store, kv };
}

/** The store's queue as GET /v1/queue answers it. */
async function queueOf(store) {
  const { status, body } = await call(emulator.url, '/v1/queue', { method: 'GET', token: store.accessToken });
  assert.equal(status, 200, JSON.stringify(body));
  return body;
}

/** Waits until `condition()` (which may be async) holds, for at most `ms`. */
async function until(condition, what, ms = 15_000) {
  const deadline = Date.now() + ms;
  while (!(await condition())) {
    if (Date.now() > deadline) assert.fail(`waited ${ms} ms for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** kv.listenQueue(handler, options) with a signal of its own: `{ done, stop() }`. */
function listening(kv, handler, options = {}) {
  const controller = new AbortController();
  const done = kv.listenQueue(handler, { ...options, signal: controller.signal });
  return { done, stop: () => controller.abort() };
}

describe('delivery', () => {
  test('enqueued JSON, bytes and V8 values reach the handler decoded, and are acknowledged once each', async () => {
    const { store, kv } = await setup();
    const date = serialize(new Date(Date.UTC(2024, 0, 2)));
    const result = await kv.enqueue({ email: 'ada@example.com' });
    assert.equal(result.ok, true);
    assert.match(result.versionstamp, /^[0-9a-f]{20}$/);
    assert.equal(result.version, result.versionstamp);
    await kv.enqueue(new Uint8Array([1, 2, 3]));
    await kv.atomic().set(['a'], 1).enqueue(new KvV8Value(date)).commit();
    const seen = [];
    const listener = listening(kv, (value) => void seen.push(value));
    await until(async () => (await queueOf(store)).delivered === 3, 'three messages acknowledged');
    listener.stop();
    assert.equal(await listener.done, undefined);
    assert.equal(seen.length, 3);
    assert.deepEqual(seen.find((value) => value?.email), { email: 'ada@example.com' });
    assert.deepEqual(seen.find((value) => value instanceof Uint8Array), new Uint8Array([1, 2, 3]));
    assert.deepEqual(Buffer.from(seen.find((value) => value instanceof KvV8Value).bytes), date);
    const queue = await queueOf(store);
    assert.equal(queue.depth, 0);
    assert.equal(queue.retried, 0);
  });

  test('a delayed message is not delivered before its delay', async () => {
    const { store, kv } = await setup();
    const enqueued = Date.now();
    await kv.enqueue('later', { delay: 1_500 });
    assert.equal((await queueOf(store)).delayed, 1);
    let deliveredAt;
    const listener = listening(kv, () => void (deliveredAt = Date.now()));
    await until(() => deliveredAt !== undefined, 'the delayed message');
    listener.stop();
    await listener.done;
    assert.ok(deliveredAt - enqueued >= 1_400, `delivered after ${deliveredAt - enqueued} ms`);
  });

  test('an enqueue sent again with its idempotency key is queued once', async () => {
    const { store, kv } = await setup();
    const first = await kv.enqueue({ job: 1 }, { idempotencyKey: 'job-1' });
    const again = await kv.enqueue({ job: 1 }, { idempotencyKey: 'job-1' });
    assert.deepEqual(again, first);
    assert.equal((await queueOf(store)).depth, 1);
  });

  test('concurrency bounds the handlers running at once', async () => {
    const { store, kv } = await setup();
    const atomic = kv.atomic();
    for (let i = 0; i < 6; i++) atomic.enqueue(i);
    await atomic.commit();
    let running = 0;
    let most = 0;
    const seen = [];
    const listener = listening(
      kv,
      async (value) => {
        most = Math.max(most, ++running);
        await new Promise((resolve) => setTimeout(resolve, 100));
        running--;
        seen.push(value);
      },
      { concurrency: 2 },
    );
    await until(async () => (await queueOf(store)).delivered === 6, 'six messages acknowledged');
    listener.stop();
    await listener.done;
    assert.deepEqual(seen.sort(), [0, 1, 2, 3, 4, 5]);
    assert.ok(most <= 2, `${most} handlers ran at once`);
    assert.equal(most, 2, 'two at once');
  });
});

describe('failed handlers', () => {
  test('a handler that throws gets its message again per its schedule; once spent, the value is at keysIfUndelivered', async (t) => {
    const errors = t.mock.method(console, 'error', () => {});
    const { store, kv } = await setup();
    await kv.enqueue({ order: 7 }, { backoffSchedule: [0, 50], keysIfUndelivered: [['failed', 7], ['dead', 'letters', 7]] });
    let calls = 0;
    const listener = listening(
      kv,
      () => {
        calls++;
        throw new Error(`attempt ${calls} failed`);
      },
      { visibilityTimeout: 5_000 },
    );
    await until(async () => (await kv.get(['failed', 7])).value !== null, 'the dead letter');
    listener.stop();
    await listener.done;
    assert.equal(calls, 3, 'the first delivery and one per interval of the schedule');
    assert.deepEqual((await kv.get(['failed', 7])).value, { order: 7 });
    assert.deepEqual((await kv.get(['dead', 'letters', 7])).value, { order: 7 });
    const queue = await queueOf(store);
    assert.equal(queue.depth, 0);
    assert.equal(queue.retried, 2);
    assert.equal(queue.deadLettered, 1);
    assert.equal(queue.delivered, 0);
    assert.equal(errors.mock.calls.filter((c) => c.arguments[0] === 'Exception in queue handler').length, 3, "logged as Deno logs it");
  });

  test('the raw stream counts the attempts; a settle names its outcome, and an old delivery is stale', async () => {
    const { store, kv } = await setup();
    await kv.enqueue({ raw: 1 }, { backoffSchedule: [0], keysIfUndelivered: [['raw-failed']] });
    const controller = new AbortController();
    const response = await fetch(`${emulator.url}/v1/queue/listen`, {
      method: 'POST',
      headers: { authorization: `Bearer ${store.accessToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ concurrency: 1, visibilityTimeout: 5_000 }),
      signal: controller.signal,
    });
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type'), /^text\/event-stream/);
    const events = serverSentEvents(response.body);
    const nextMessage = async () => {
      for (;;) {
        const { value } = await events.next();
        if (value.type === 'message') return JSON.parse(value.data);
      }
    };
    const settle = async (messages) => {
      const { status, body } = await call(emulator.url, '/v1/queue/settle', { token: store.accessToken, body: { messages } });
      assert.equal(status, 200, JSON.stringify(body));
      return body.outcomes;
    };
    try {
      const { id, ...delivery } = await nextMessage();
      assert.equal(typeof id, 'number');
      assert.deepEqual(delivery, { delivery: 1, attempt: 0, value: { raw: 1 } });
      assert.deepEqual(await settle([{ id: id, delivery: 1, ok: false }]), ['retrying']);
      const second = await nextMessage();
      assert.deepEqual(second, { id: id, delivery: 2, attempt: 1, value: { raw: 1 } });
      assert.deepEqual(
        await settle([
          { id: id, delivery: 1, ok: true },
          { id: id, delivery: 2, ok: false },
          { id: id, delivery: 2, ok: false },
        ]),
        ['stale', 'dead_lettered', 'stale'],
      );
    } finally {
      controller.abort();
    }
    assert.deepEqual((await kv.get(['raw-failed'])).value, { raw: 1 });
  });
});

describe('enqueues in commits and their options', () => {
  test('a commit whose check fails enqueues nothing; one that holds enqueues with its writes', async () => {
    const { store, kv } = await setup();
    await kv.set(['orders', 1], 'taken');
    const failed = await kv.atomic().check({ key: ['orders', 1], versionstamp: null }).set(['orders', 1], 'mine').enqueue('never').commit();
    assert.deepEqual(failed, { ok: false, failedChecks: [0] });
    assert.equal((await queueOf(store)).depth, 0, 'nothing enqueued');
    assert.equal((await kv.get(['orders', 1])).value, 'taken');

    const held = await kv.atomic().check({ key: ['orders', 2], versionstamp: null }).set(['orders', 2], 'mine').enqueue('receipt').commit();
    assert.equal(held.ok, true);
    assert.equal((await queueOf(store)).depth, 1);
  });

  test('bad options are TypeErrors before sending; sent raw, the store refuses them with 400 and enqueues nothing', async () => {
    const { store } = await setup();
    let sent = 0;
    const kv = connect({
      accessToken: store.accessToken, region: store.region, endpoint: emulator.url,
      fetch: (...args) => (sent++, fetch(...args)),
    });
    clients.push(kv);
    await assert.rejects(kv.enqueue(1, { delay: 2_592_000_001 }), { name: 'TypeError', message: 'Delay cannot be greater than 30 days: received 2592000001' });
    await assert.rejects(kv.enqueue(1, { delay: -1 }), { name: 'TypeError', message: 'Delay must be >= 0: received -1' });
    await assert.rejects(kv.enqueue(1, { delay: NaN }), { name: 'TypeError', message: 'Delay cannot be NaN' });
    await assert.rejects(kv.enqueue(1, { backoffSchedule: [0, 0, 0, 0, 0, 0] }), { message: /^Invalid backoffSchedule, max 5 intervals allowed/ });
    assert.throws(() => kv.atomic().enqueue(1, { backoffSchedule: [3_600_001] }), { message: /^Invalid backoffSchedule, interval at index 0 is invalid/ });
    await assert.rejects(kv.enqueue(1, { keysIfUndelivered: Array.from({ length: 11 }, (_, i) => [i]) }), { name: 'TypeError' });
    assert.equal(sent, 0);

    const enqueue = (fields) => call(emulator.url, '/v1/atomic', { token: store.accessToken, body: { enqueues: [{ value: 1, ...fields }] } });
    const refusals = [
      [{ delay: 2_592_000_001 }, 'invalid_delay'],
      [{ delay: -1 }, 'invalid_delay'],
      [{ delay: 1.5 }, 'invalid_delay'],
      [{ backoffSchedule: [0, 0, 0, 0, 0, 0] }, 'invalid_backoff_schedule'],
      [{ backoffSchedule: [3_600_001] }, 'invalid_backoff_schedule'],
      [{ keysIfUndelivered: Array.from({ length: 11 }, (_, i) => [i]) }, 'too_many_undelivered_keys'],
      [{ value: '1', valueType: 'u64' }, 'invalid_request'],
      [{ keysIfUndelivered: [[]] }, 'invalid_key'],
    ];
    for (const [fields, code] of refusals) {
      const { status, body } = await enqueue(fields);
      assert.equal(status, 400, `${JSON.stringify(fields)}: ${JSON.stringify(body)}`);
      assert.equal(body.error.code, code, JSON.stringify(fields));
    }
    for (const fields of [{ delay: null }, { backoffSchedule: null }]) {
      assert.equal((await enqueue(fields)).status, 400, `${JSON.stringify(fields)}: null is refused, not a default`);
    }
    const tooMany = await call(emulator.url, '/v1/atomic', {
      token: store.accessToken,
      body: { enqueues: Array.from({ length: 101 }, (_, i) => ({ value: i })) },
    });
    assert.equal(tooMany.status, 400);
    assert.equal(tooMany.body.error.code, 'too_many_enqueues');
    assert.equal((await queueOf(store)).depth, 0);
  });
});

describe('the listener', () => {
  for (const end of ['abort', 'close']) {
    test(`${end === 'abort' ? 'its signal' : 'kv.close()'} ends listenQueue once the running handler's message was settled`, async () => {
      const { store, kv } = await setup();
      await kv.enqueue('slow');
      let finish;
      const handlerWaits = new Promise((resolve) => (finish = resolve));
      let started = false;
      const listener = listening(kv, async () => {
        started = true;
        await handlerWaits;
      });
      let resolved = false;
      listener.done.then(() => (resolved = true));
      await until(() => started, 'the handler');
      if (end === 'abort') listener.stop();
      else kv.close();
      await new Promise((resolve) => setTimeout(resolve, 100));
      assert.equal(resolved, false, 'it waits for the running handler');
      finish();
      assert.equal(await listener.done, undefined);
      const queue = await queueOf(store);
      assert.equal(queue.delivered, 1, 'acknowledged before listenQueue resolved');
      assert.equal(queue.depth, 0);
      if (end === 'close') await assert.rejects(kv.listenQueue(() => {}), { name: 'KvError', code: 'closed', message: /^Queue already closed/ });
    });
  }

  test('a stream cut by the network reconnects, and the next message still arrives', async () => {
    let proxy;
    proxy = await startProxy(emulator.url, (request) =>
      request.path === '/v1/queue/listen' && proxy.routed('queue/listen').length === 1 ? 'cut' : 'forward',
    );
    proxies.push(proxy);
    const { store, kv } = await setup({ endpoint: proxy.url, retry: { baseDelayMs: 5, maxDelayMs: 50 } });
    const direct = connect({ accessToken: store.accessToken, region: store.region, endpoint: emulator.url });
    clients.push(direct);
    await direct.enqueue('before the cut');
    const seen = [];
    // A message leased to the cut stream and not delivered comes again after its visibility timeout.
    const listener = listening(kv, (value) => void seen.push(value), { visibilityTimeout: 1_000 });
    await until(() => proxy.routed('queue/listen').length >= 2, 'the reconnect');
    await direct.enqueue('after the cut');
    await until(() => seen.includes('after the cut') && seen.includes('before the cut'), 'both messages');
    await until(async () => (await queueOf(store)).depth === 0, 'both acknowledged');
    listener.stop();
    await listener.done;
    assert.equal(proxy.routed('queue/listen').length, 2);
  });

  test('a rotated token ends listenQueue with its KvError', async () => {
    const { store, kv } = await setup();
    const listener = listening(kv, () => {});
    await until(async () => (await queueOf(store)).listeners === 1, 'the listener');
    const ended = assert.rejects(listener.done, (error) => {
      assert.ok(error instanceof KvError);
      assert.equal(error.code, 'invalid_token');
      assert.equal(error.retryable, false);
      return true;
    });
    const rotated = await call(emulator.url, `/v1/admin/stores/${store.id}/token`, { token: emulator.adminToken });
    assert.equal(rotated.status, 200);
    await ended;
  });
});
