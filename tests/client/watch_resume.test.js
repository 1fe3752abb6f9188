// Unit tests of the resumable watch (js/watch.js) over a fake fetch: it
// reconnects after a drop (a cut stream, a stream that ends without the
// store's end event, a network error, a 5xx, a connection that does not
// answer in time) with backoff, and at once after the store's `event: end`;
// on reconnecting it delivers the current entries when any version differs
// from the last delivered; a 4xx ends it with that error; its signal and
// kv.close() end it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { errorResponse, fakeKv, sseResponse, stall, watchEntry } from './fakes.js';

const V1 = '00000000000000010000';
const V2 = '00000000000000020000';
const V3 = '00000000000000030000';

const event = (entries, changed = entries.map((_, i) => i)) => ({ entries, changed });

/** A kv whose n-th watch request is answered by `connections[n](request)`. */
function watchingKv(connections, options) {
  return fakeKv((request, index) => {
    if (request.route !== 'watch') return { ok: true, version: V1 };
    const connection = connections[Math.min(index, connections.length - 1)];
    return connection(request);
  }, options);
}

test('a cut stream reconnects and delivers what changed meanwhile, with changed against the last delivered', async () => {
  const { kv, requests } = watchingKv([
    (r) => sseResponse([event([watchEntry(['a'], 1, V1), watchEntry(['b'], null, null)])], { end: 'cut', signal: r.signal }),
    (r) => sseResponse([event([watchEntry(['a'], 1, V1), watchEntry(['b'], 2, V2)])], { signal: r.signal }),
  ]);
  const reader = kv.watch([['a'], ['b']]).getReader();
  const first = (await reader.read()).value;
  assert.deepEqual(first.changed, [0, 1]);
  const second = (await reader.read()).value;
  assert.deepEqual(second.changed, [1], 'b changed while the watch was away');
  assert.equal(second.entries[1].value, 2);
  assert.equal(requests.length, 2);
  assert.deepEqual(requests[1].body, { keys: [['a'], ['b']] });
  assert.equal(requests[1].headers['user-agent'].startsWith('own3d-kv-js/'), true);
  await reader.cancel();
});

test('a reconnect that finds nothing changed delivers nothing (raw: it does)', async () => {
  const connections = [
    (r) => sseResponse([event([watchEntry(['a'], 1, V1)])], { end: 'close', signal: r.signal }),
    (r) => sseResponse([event([watchEntry(['a'], 1, V1)])], { end: 'close', signal: r.signal }),
    (r) => sseResponse([event([watchEntry(['a'], 3, V3)])], { signal: r.signal }),
  ];
  const { kv, requests } = watchingKv(connections);
  const reader = kv.watch([['a']]).getReader();
  assert.equal((await reader.read()).value[0].value, 1);
  const next = (await reader.read()).value;
  assert.equal(next[0].value, 3, 'the unchanged state of the second connection was not delivered');
  assert.deepEqual(next.changed, [0]);
  assert.equal(requests.length, 3);
  await reader.cancel();

  const raw = watchingKv(connections);
  const rawReader = raw.kv.watch([['a']], { raw: true }).getReader();
  assert.equal((await rawReader.read()).value[0].value, 1);
  const same = (await rawReader.read()).value;
  assert.equal(same[0].value, 1);
  assert.deepEqual(same.changed, []);
  await rawReader.cancel();
});

test("after the store's end event (lifetime) it reconnects at once", async () => {
  const { kv, requests } = watchingKv(
    [
      (r) => sseResponse([event([watchEntry(['a'], 1, V1)])], { end: 'lifetime', signal: r.signal }),
      (r) => sseResponse([event([watchEntry(['a'], 2, V2)])], { signal: r.signal }),
    ],
    // A drop would wait a minute: only the lifetime's end reconnects at once.
    { retry: { baseDelayMs: 60_000, maxDelayMs: 60_000 } },
  );
  const reader = kv.watch([['a']]).getReader();
  await reader.read();
  const started = Date.now();
  assert.equal((await reader.read()).value[0].value, 2);
  assert.ok(Date.now() - started < 30_000);
  assert.equal(requests.length, 2);
  await reader.cancel();
});

test('network errors, timeouts, 429 and 5xx answers to a reconnect are retried as long as the watch lives', async () => {
  const { kv, requests } = watchingKv(
    [
      (r) => sseResponse([event([watchEntry(['a'], 1, V1)])], { end: 'cut', signal: r.signal }),
      () => {
        throw new TypeError('fetch failed');
      },
      () => errorResponse(503, 'unavailable', { 'retry-after': '0' }),
      () => new Response('bad gateway', { status: 502 }),
      () => errorResponse(500, 'internal_error'),
      () => errorResponse(429, 'too_many_watches'),
      (r) => stall(r.signal), // does not answer within timeoutMs
      () => {
        throw new TypeError('fetch failed');
      },
      (r) => sseResponse([event([watchEntry(['a'], 2, V2)])], { signal: r.signal }),
    ],
    { timeoutMs: 50, retry: { maxAttempts: 2, baseDelayMs: 1, maxDelayMs: 2 } },
  );
  const reader = kv.watch([['a']]).getReader();
  assert.equal((await reader.read()).value[0].value, 1);
  assert.equal((await reader.read()).value[0].value, 2, 'more failures in a row than maxAttempts: a watch outlives them');
  assert.equal(requests.length, 9);
  await reader.cancel();
});

test('a 4xx answer to a reconnect, or an error event, ends the watch with that KvError', async () => {
  const { kv } = watchingKv([
    (r) => sseResponse([event([watchEntry(['a'], 1, V1)])], { end: 'cut', signal: r.signal }),
    () => errorResponse(401, 'invalid_token'),
  ]);
  const reader = kv.watch([['a']]).getReader();
  await reader.read();
  await assert.rejects(reader.read(), { name: 'KvError', code: 'invalid_token', status: 401, retryable: false });

  const rotated = watchingKv([
    (r) =>
      sseResponse(
        [event([watchEntry(['a'], 1, V1)]), `event: error\ndata: ${JSON.stringify({ error: { code: 'invalid_token', message: 'rotated' } })}\n\n`],
        { signal: r.signal },
      ),
  ]);
  const rotatedReader = rotated.kv.watch([['a']]).getReader();
  await rotatedReader.read();
  await assert.rejects(rotatedReader.read(), { code: 'invalid_token', message: 'rotated' });
  assert.equal(rotated.requests.length, 1);
});

test('with retry: false a drop ends the watch with its error; the lifetime end still reconnects', async () => {
  const { kv } = watchingKv(
    [
      (r) => sseResponse([event([watchEntry(['a'], 1, V1)])], { end: 'lifetime', signal: r.signal }),
      (r) => sseResponse([event([watchEntry(['a'], 2, V2)])], { end: 'cut', signal: r.signal }),
    ],
    { retry: false },
  );
  const reader = kv.watch([['a']]).getReader();
  assert.equal((await reader.read()).value[0].value, 1);
  assert.equal((await reader.read()).value[0].value, 2);
  await assert.rejects(reader.read(), { name: 'KvError', code: 'network_error', retryable: true });
});

test("the watch's signal and kv.close() end it, also while it waits to reconnect", async () => {
  const slow = { retry: { baseDelayMs: 60_000, maxDelayMs: 60_000 } };
  const drop = (r) => sseResponse([event([watchEntry(['a'], 1, V1)])], { end: 'cut', signal: r.signal });
  const { kv, requests } = watchingKv([drop], slow);
  const controller = new AbortController();
  const reader = kv.watch([['a']], { signal: controller.signal }).getReader();
  await reader.read();
  const next = reader.read(); // the stream is cut: it waits up to a minute to reconnect
  await new Promise((resolve) => setTimeout(resolve, 10));
  controller.abort();
  assert.deepEqual(await next, { done: true, value: undefined });
  assert.equal(requests.length, 1);

  const closing = watchingKv([drop], slow);
  const closingReader = closing.kv.watch([['a']]).getReader();
  await closingReader.read();
  const pending = closingReader.read();
  await new Promise((resolve) => setTimeout(resolve, 10));
  closing.kv.close();
  assert.deepEqual(await pending, { done: true, value: undefined });

  const open = watchingKv([(r) => sseResponse([event([watchEntry(['a'], 1, V1)])], { signal: r.signal })]);
  const openReader = open.kv.watch([['a']]).getReader();
  await openReader.read();
  const waiting = openReader.read();
  open.kv.close();
  assert.deepEqual(await waiting, { done: true, value: undefined });
  assert.equal(open.requests[0].signal.aborted, true, 'the stream was aborted');
});

test('watch() checks its signal option', () => {
  const { kv } = watchingKv([]);
  assert.throws(() => kv.watch([['a']], { signal: {} }), { name: 'TypeError', message: /signal must be an AbortSignal/ });
});

test('a body that is a ReadableStream without async iteration (Safari) is read with its reader', async () => {
  const { kv } = watchingKv([
    (r) => {
      const response = sseResponse([event([watchEntry(['a'], 1, V1)]), event([watchEntry(['a'], 2, V2)])], { signal: r.signal });
      const stream = response.body;
      return { ok: true, status: 200, headers: response.headers, text: () => response.text(), body: { getReader: () => stream.getReader() } };
    },
  ]);
  const reader = kv.watch([['a']]).getReader();
  assert.equal((await reader.read()).value[0].value, 1);
  assert.equal((await reader.read()).value[0].value, 2);
  await reader.cancel();
});
