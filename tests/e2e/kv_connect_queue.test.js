// KV Connect's enqueues end to end (worker/kv_connect.cc, docs/kv-connect.md):
// @deno/kv in Node enqueues through KV Connect, and this project's client
// receives the messages with kv.listenQueue, since KV Connect has no listen
// operation. (The Deno CLI refuses an enqueue on a remote database before
// sending it: kv_connect.test.js.) A failed check enqueues nothing; a delay
// holds its message back; a message whose handler always throws is retried
// per @deno/kv's own schedule (four intervals) and then written to its
// keysIfUndelivered; a V8 value arrives as its bytes.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { deserialize } from 'node:v8';
import { openKv } from '@deno/kv';
import { connect, KvV8Value } from '@own3d/kv';
import { call, createStore, sharedEmulator } from '../helpers.js';

let emulator;
before(async () => {
  emulator = await sharedEmulator();
});
after(async () => {
  await emulator?.close();
});

/** The store's queue as GET /v1/queue answers it. */
async function queueOf(store) {
  const { status, body } = await call(emulator.url, '/v1/queue', { method: 'GET', token: store.accessToken });
  assert.equal(status, 200, JSON.stringify(body));
  return body;
}

/** Waits until `condition()` (async) holds, for at most `ms`. */
async function until(condition, what, ms = 20_000) {
  const deadline = Date.now() + ms;
  while (!(await condition())) {
    if (Date.now() > deadline) assert.fail(`waited ${ms} ms for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('enqueues through KV Connect', () => {
  test('@deno/kv enqueues, this client\'s listenQueue receives: delay, keysIfUndelivered, retries, V8 values, a failed check', {
    timeout: 60_000,
  }, async () => {
    const store = await createStore(emulator, 'eu-central-1', { opsPerMonth: null, storageBytes: null });
    const denoKv = await openKv(`${emulator.url}/v1/kv-connect`, { accessToken: store.accessToken });
    const own = connect({ accessToken: store.accessToken, region: store.region, endpoint: emulator.url });
    const controller = new AbortController();
    try {
      // A failed check: nothing enqueued, nothing written.
      await denoKv.set(['gate'], 'closed');
      const failed = await denoKv.atomic()
        .check({ key: ['gate'], versionstamp: null })
        .set(['never'], 1)
        .enqueue({ job: 'never' })
        .commit();
      assert.equal(failed.ok, false);
      assert.equal((await queueOf(store)).depth, 0, 'a failed check enqueues nothing');
      assert.equal((await denoKv.get(['never'])).value, null);

      const sentAt = Date.now();
      const later = await denoKv.enqueue({ job: 'later' }, { delay: 1500 });
      assert.equal(later.ok, true);
      const map = new Map([[1, 'one'], ['two', new Date(0)]]); // no JSON form: its V8 bytes
      const committed = await denoKv.atomic().set(['job', 'map'], 'written').enqueue(map).commit();
      assert.equal(committed.ok, true);
      await denoKv.enqueue({ job: 'fails' }, { keysIfUndelivered: [['failed', 'job'], ['failed', 'copy']] });
      const queued = await queueOf(store);
      assert.deepEqual([queued.depth, queued.ready, queued.delayed], [3, 2, 1], JSON.stringify(queued));
      assert.equal((await denoKv.get(['job', 'map'])).versionstamp, committed.versionstamp, 'written with its enqueue');

      const deliveries = [];
      const listening = own.listenQueue((value) => {
        deliveries.push({ value, afterMs: Date.now() - sentAt });
        if (value?.job === 'fails') throw new Error('this handler always fails');
      }, { signal: controller.signal });
      await until(async () => (await queueOf(store)).depth === 0, 'every message settled or dead-lettered');
      controller.abort();
      await listening;

      const laterDeliveries = deliveries.filter(({ value }) => value?.job === 'later');
      assert.equal(laterDeliveries.length, 1);
      assert.ok(laterDeliveries[0].afterMs >= 1400, `delivered ${laterDeliveries[0].afterMs} ms after its 1500 ms delay began`);
      const v8 = deliveries.filter(({ value }) => value instanceof KvV8Value);
      assert.equal(v8.length, 1);
      assert.deepEqual(deserialize(v8[0].value.bytes), map, 'the very V8 bytes @deno/kv wrote');
      // @deno/kv sends [100, 200, 400, 800] whatever backoffSchedule says:
      // a first delivery and four retries.
      assert.equal(deliveries.filter(({ value }) => value?.job === 'fails').length, 5);
      const deadLetters = await denoKv.getMany([['failed', 'job'], ['failed', 'copy']]);
      assert.deepEqual(deadLetters.map((entry) => entry.value), [{ job: 'fails' }, { job: 'fails' }]);
      const stats = await queueOf(store);
      assert.deepEqual([stats.delivered, stats.retried, stats.deadLettered], [2, 4, 1], JSON.stringify(stats));
    } finally {
      controller.abort();
      own.close();
      denoKv.close();
    }
  });
});
