// The client (js/) through a fault-injecting HTTP proxy (fault_proxy.js)
// between it and the emulator: responses lost after the store
// committed, 503 and 429 with Retry-After, a stall past the timeout, a cut
// watch stream. What it proves: a sum retried through a lost response is
// applied once, and 1,000 increments through a proxy that drops 10% of the
// responses leave an exact counter (the store's Idempotency-Key); timeouts
// fire; a 4xx is not retried; a tick's gets are one request at the proxy;
// a dropped watch resumes and delivers what changed while it was away.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { connect, KvError, KvU64 } from '@own3d/kv';
import { createStore, sharedEmulator } from '../helpers.js';
import { startProxy } from './fault_proxy.js';

const UNLIMITED = { opsPerMonth: null, storageBytes: null };

// A small seeded generator (mulberry32): the same drops on every run.
function seeded(seed) {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

let emulator;
const proxies = [];
const clients = [];
before(async () => {
  emulator = await sharedEmulator();
});
after(async () => {
  // Closed, so that no retry, batch or watch of theirs keeps this process
  // alive against an emulator that outlives it (npm test's shared one).
  for (const kv of clients) kv.close();
  for (const proxy of proxies) await proxy.close();
  await emulator?.close();
});

/** A new store (unlimited unless `limits`), a client through a new proxy with `plan`, and a direct client. */
async function setup(plan, options = {}, limits = UNLIMITED) {
  const store = await createStore(emulator, 'eu-central-1', limits);
  const proxy = await startProxy(emulator.url, plan);
  proxies.push(proxy);
  const open = (endpoint, extra = {}) => {
    const kv = connect({ accessToken: store.accessToken, region: store.region, endpoint, ...extra });
    clients.push(kv);
    return kv;
  };
  return {
    proxy,
    kv: open(proxy.url, { retry: { baseDelayMs: 5, maxDelayMs: 50 }, ...options }),
    direct: open(emulator.url),
  };
}

describe('exactly-once writes through lost responses', () => {
  test('a sum whose response was lost after the store committed is retried and applied once', async () => {
    const { proxy, kv, direct } = await setup((request) => (request.path === '/v1/atomic' && request.index === 0 ? 'drop' : 'forward'));
    const result = await kv.atomic().sum(['counter'], new KvU64(1n)).commit();
    assert.equal(result.ok, true);
    const atomics = proxy.routed('atomic');
    assert.equal(atomics.length, 2, 'sent, answer lost, sent again');
    assert.equal(atomics[0].headers['idempotency-key'], atomics[1].headers['idempotency-key']);
    assert.match(atomics[0].headers['idempotency-key'], /^[0-9a-f-]{36}$/);
    assert.equal(atomics[0].body, atomics[1].body);
    assert.equal(proxy.answers[1].headers['idempotent-replayed'], 'true', 'the store answered the retry from its record');
    const counter = await direct.get(['counter']);
    assert.equal(counter.value.value, 1n, 'counted once');
    assert.equal(counter.version, result.version, 'the replayed answer has the version of the one commit');
  });

  test('a set and a delete whose responses were lost apply once, with their first version', async () => {
    const { proxy, kv, direct } = await setup((request) => (request.index % 2 === 0 ? 'drop' : 'forward'));
    const set = await kv.set(['a'], 'first');
    const entry = await direct.get(['a']);
    assert.equal(entry.version, set.version);
    assert.equal(await kv.delete(['a']), true, 'the replay says the entry existed, as the applied delete did');
    assert.equal((await direct.get(['a'])).value, null);
    assert.equal(proxy.requests.length, 4);
    assert.deepEqual(proxy.answers.map((answer) => answer.headers['idempotent-replayed']), [undefined, 'true', undefined, 'true']);
  });

  test('1,000 increments through a proxy that drops 10% of the responses give an exact counter', async () => {
    const random = seeded(13);
    const { proxy, kv, direct } = await setup(() => (random() < 0.1 ? 'drop' : 'forward'), {
      // Ten attempts: the chance that one increment loses every answer is 1e-10.
      retry: { maxAttempts: 10, baseDelayMs: 2, maxDelayMs: 20 },
      timeoutMs: 60_000,
    });
    const total = 1_000;
    const concurrency = 20;
    let next = 0;
    const worker = async () => {
      while (next < total) {
        next++;
        const result = await kv.atomic().sum(['hits'], new KvU64(1n)).commit();
        assert.equal(result.ok, true);
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
    const dropped = proxy.answers.filter((answer) => answer.dropped);
    assert.ok(dropped.length >= 50 && dropped.length <= 160, `about 100 responses were dropped and retried, saw ${dropped.length}`);
    // The answers the store gave: 1,000 applied commits; a replay for each
    // retry of a commit whose answer was lost; and the odd 503 of an
    // overloaded object (retried too: nothing was applied).
    const tally = {};
    for (const { status, headers } of proxy.answers) {
      const kind = `${status}${headers['idempotent-replayed'] ? ' replayed' : ''}`;
      tally[kind] = (tally[kind] ?? 0) + 1;
    }
    const summary = JSON.stringify(tally);
    assert.equal(tally['200'], total, `each increment was applied once: ${summary}`);
    const lostCommits = dropped.filter((answer) => answer.status === 200).length;
    assert.equal(tally['200 replayed'], lostCommits, `the retry of each lost commit was a replay: ${summary}`);
    assert.deepEqual(Object.keys(tally).filter((kind) => !['200', '200 replayed', '503'].includes(kind)), [], summary);
    assert.equal((await direct.get(['hits'])).value.value, BigInt(total), 'exactly 1,000');
  });

  test("a caller's own idempotencyKey makes a repeated call apply once; another body with it is refused", async () => {
    const { kv, direct } = await setup();
    const first = await kv.atomic().sum(['n'], 5n).commit({ idempotencyKey: 'payment-42' });
    const again = await kv.atomic().sum(['n'], 5n).commit({ idempotencyKey: 'payment-42' });
    assert.deepEqual(again, first);
    assert.equal((await direct.get(['n'])).value.value, 5n);
    await assert.rejects(kv.atomic().sum(['n'], 6n).commit({ idempotencyKey: 'payment-42' }), (error) => {
      assert.ok(error instanceof KvError);
      assert.equal(error.code, 'idempotency_key_reused');
      assert.equal(error.status, 422);
      assert.equal(error.attempts, 1);
      assert.equal(error.retryable, false);
      return true;
    });
  });
});

describe('retries, timeouts and refusals', () => {
  test('503 and 429 with Retry-After are retried after the wait they ask for', async () => {
    const { proxy, kv } = await setup((request) => {
      if (request.index === 0) return { status: 503, headers: { 'retry-after': '1' }, body: { error: { code: 'unavailable', message: 'restarting' } } };
      if (request.index === 2) return { status: 429, headers: { 'retry-after': '0' } };
      return 'forward';
    });
    const started = Date.now();
    const { version } = await kv.set(['a'], 1);
    assert.ok(Date.now() - started >= 900, 'waited the second asked');
    assert.equal((await kv.get(['a'])).version, version);
    assert.deepEqual(proxy.requests.map((request) => request.path), ['/v1/set', '/v1/set', '/v1/get', '/v1/get']);
  });

  test('a 4xx is not retried', async () => {
    const { proxy, kv } = await setup();
    await assert.rejects(kv.set(['k'.repeat(3000)], 1), { name: 'KvError', code: 'key_too_large', status: 400, attempts: 1, retryable: false });
    await assert.rejects(kv.set(['a'], 'x'.repeat(20_000)), { code: 'value_too_large', status: 413, attempts: 1 });
    const stranger = connect({ accessToken: 'not-a-token', region: 'eu-central-1', endpoint: proxy.url });
    await assert.rejects(stranger.get(['a']), { code: 'invalid_token', status: 401, attempts: 1, retryable: false });
    assert.equal(proxy.requests.length, 3, 'one request each');
  });

  test('a store past its monthly quota is refused at once: its RateLimit-Reset is past the retry budget', async () => {
    const { proxy, kv } = await setup(undefined, {}, { opsPerMonth: 1, storageBytes: null });
    await kv.set(['a'], 1);
    await assert.rejects(kv.set(['a'], 2), (error) => {
      assert.equal(error.code, 'quota_exceeded');
      assert.equal(error.status, 429);
      assert.equal(error.attempts, 1);
      assert.match(error.message, /RateLimit-Reset asked for \d+ ms, past retry\.maxRetryTimeMs/);
      return true;
    });
    assert.equal(proxy.requests.length, 2);
  });

  test('a stalled request times out: KvError "timeout"', async () => {
    const { proxy, kv } = await setup(() => 'stall', { timeoutMs: 300 });
    const started = Date.now();
    await assert.rejects(kv.get(['a']), { name: 'KvError', code: 'timeout', retryable: true, attempts: 1 });
    await assert.rejects(kv.set(['a'], 1), { code: 'timeout', message: /may or may not have been applied/ });
    const elapsed = Date.now() - started;
    assert.ok(elapsed >= 550, `two timeouts of 300 ms took ${elapsed} ms`);
    assert.ok(elapsed < 10_000);
    assert.equal(proxy.requests.length, 2);
  });

  test('a call aborted by its signal stops at once', async () => {
    const { kv } = await setup(() => 'stall');
    const controller = new AbortController();
    const pending = kv.set(['a'], 1, { signal: controller.signal });
    setTimeout(() => controller.abort(new Error('user cancelled')), 50);
    await assert.rejects(pending, (error) => error.code === 'aborted' && error.cause.message === 'user cancelled');
  });
});

describe('auto-batching', () => {
  test("a tick's gets are one request at the proxy; each gets its own entry", async () => {
    const { proxy, kv, direct } = await setup();
    const atomic = direct.atomic();
    for (let i = 0; i < 50; i++) atomic.set(['item', i], { i });
    await atomic.commit();
    const entries = await Promise.all(Array.from({ length: 60 }, (_, i) => kv.get(['item', i])));
    assert.equal(proxy.routed('get').length, 1);
    assert.equal(JSON.parse(proxy.routed('get')[0].body).keys.length, 60);
    entries.forEach((entry, i) => assert.deepEqual(entry.value, i < 50 ? { i } : null));

    const many = await Promise.allSettled([...Array.from({ length: 150 }, (_, i) => kv.get(['item', i])), kv.get(['k'.repeat(3000)])]);
    assert.equal(many.filter((result) => result.status === 'fulfilled').length, 150);
    assert.equal(many[150].reason.code, 'key_too_large', 'the bad key fails its caller only');
    assert.deepEqual(proxy.routed('get').slice(1).map((request) => JSON.parse(request.body).keys.length).sort(), [1, 100, 50].sort());

    const unbatched = await setup(undefined, { batchGets: false });
    await Promise.all(Array.from({ length: 10 }, (_, i) => unbatched.kv.get(['item', i])));
    assert.equal(unbatched.proxy.routed('get').length, 10);
  });
});

describe('resumable watch', () => {
  test('a cut watch stream reconnects and delivers what changed while it was away', async () => {
    let changed;
    const changeMade = new Promise((resolve) => (changed = resolve));
    const { proxy, kv, direct } = await setup(async (request) => {
      if (request.path !== '/v1/watch') return 'forward';
      const watches = proxy.routed('watch').length;
      if (watches === 1) return 'cut'; // the first stream is cut after its first event
      await changeMade; // the reconnect waits until the change was made meanwhile
      return 'forward';
    });
    await direct.set(['w'], 'before');
    const reader = kv.watch([['w'], ['other']]).getReader();
    const first = (await reader.read()).value;
    assert.equal(first[0].value, 'before');
    assert.deepEqual(first.changed, [0, 1]);
    // Wait for the reconnect to reach the proxy, then change the key while it is held.
    while (proxy.routed('watch').length < 2) await new Promise((resolve) => setTimeout(resolve, 10));
    await direct.set(['w'], 'while away');
    changed();
    const second = (await reader.read()).value;
    assert.equal(second[0].value, 'while away');
    assert.deepEqual(second.changed, [0], 'only the key that changed');
    // And the resumed stream goes on.
    await direct.set(['other'], 'later');
    const third = (await reader.read()).value;
    assert.deepEqual(third.changed, [1]);
    assert.equal(third[1].value, 'later');
    await reader.cancel();
    assert.equal(proxy.routed('watch').length, 2);
  });

  test('a watch whose reconnect is refused 503 keeps trying; kv.close() ends it', async () => {
    const { proxy, kv, direct } = await setup((request) => {
      if (request.path !== '/v1/watch') return 'forward';
      const watches = proxy.routed('watch').length;
      if (watches === 1) return 'cut';
      if (watches <= 4) return { status: 503, headers: { 'retry-after': '0' } };
      return 'forward';
    });
    await direct.set(['w'], 1);
    const reader = kv.watch([['w']]).getReader();
    await reader.read();
    const next = reader.read();
    while (proxy.routed('watch').length < 5) await new Promise((resolve) => setTimeout(resolve, 10));
    await direct.set(['w'], 2);
    assert.equal((await next).value[0].value, 2);
    const pending = reader.read();
    kv.close();
    assert.deepEqual(await pending, { done: true, value: undefined });
  });
});
