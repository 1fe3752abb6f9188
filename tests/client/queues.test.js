// Unit tests of the client's queues (js/queue.js) over a fake fetch: the
// wire form of kv.enqueue() and atomic().enqueue(), what they refuse before
// sending (Deno KV's TypeErrors), and kv.listenQueue(): each message decoded
// and handed to the handler, outcomes settled a tick's worth per request
// (at most 64), a settle retried and a failed one logged, reconnects, the
// refusals that end it, and how abort and close() end it: once the running
// handlers finished and their outcomes were sent.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { KvError, KvU64, KvV8Value } from '../../js/index.js';
import { errorResponse, fakeKv, sseResponse, stall, VERSION } from './fakes.js';

const refusal = (message) => ({ name: 'TypeError', message });

// A text/event-stream `event: message` of the listen stream.
const message = (id, value, { delivery = 1, attempt = 0, valueType } = {}) =>
  `event: message\ndata: ${JSON.stringify({ id, delivery, attempt, value, ...(valueType ? { valueType } : {}) })}\n\n`;

/**
 * A kv whose n-th listen request is answered by `streams[n](request)` (the
 * last one for every later request), whose settles are answered by `settle`
 * (default: "acked" for each) and whose other requests by a commit.
 */
function queueKv(streams, { settle, ...options } = {}) {
  let listens = 0;
  return fakeKv((request) => {
    if (request.route === 'queue/listen') return streams[Math.min(listens++, streams.length - 1)](request);
    if (request.route === 'queue/settle') return settle ? settle(request) : { outcomes: request.body.messages.map(() => 'acked') };
    return { ok: true, version: VERSION };
  }, options);
}

const settled = (requests) => requests.filter((request) => request.route === 'queue/settle').map((request) => request.body.messages);
const until = async (condition) => {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 2));
};

test('kv.enqueue() sends one enqueue as a commit, its value encoded as set encodes it, with the options given', async () => {
  const { kv, requests } = queueKv([]);
  const result = await kv.enqueue({ email: 'ada@example.com' }, { delay: 60_000, keysIfUndelivered: [['failed', 1n]], backoffSchedule: [] });
  assert.deepEqual(result, { ok: true, version: VERSION, versionstamp: VERSION });
  assert.equal(requests[0].route, 'atomic');
  assert.deepEqual(requests[0].body, {
    enqueues: [{ value: { email: 'ada@example.com' }, delay: 60_000, backoffSchedule: [], keysIfUndelivered: [['failed', { bigint: '1' }]] }],
  });
  assert.match(requests[0].headers['idempotency-key'], /^[0-9a-f-]{36}$/, 'a write, retried with its idempotency key');

  await kv.enqueue(new Uint8Array([1, 2, 3]));
  await kv.enqueue(new KvV8Value(new Uint8Array([0xff, 0x0f, 0x49, 0x54])), { idempotencyKey: 'job-1' });
  await kv.enqueue('fraction', { delay: 1.9, backoffSchedule: [0.5, 1000] });
  assert.deepEqual(requests[1].body, { enqueues: [{ value: 'AQID', valueType: 'bytes' }] }, 'absent options are left out');
  assert.deepEqual(requests[2].body, { enqueues: [{ value: '/w9JVA==', valueType: 'v8' }] });
  assert.equal(requests[2].headers['idempotency-key'], 'job-1');
  assert.deepEqual(requests[3].body, { enqueues: [{ value: 'fraction', delay: 1, backoffSchedule: [0, 1000] }] }, 'whole milliseconds, as Deno sends');
});

test("atomic().enqueue() adds to the commit's enqueues; a commit without one sends none", async () => {
  const { kv, requests } = queueKv([]);
  await kv
    .atomic()
    .check({ key: ['orders', 42], versionstamp: null })
    .set(['orders', 42], { total: 10 })
    .enqueue({ sendReceipt: 42 }, { keysIfUndelivered: [['failed', 42]] })
    .enqueue(new Uint8Array([7]), { delay: 5 })
    .commit();
  assert.deepEqual(requests[0].body, {
    checks: [{ key: ['orders', 42], version: null }],
    mutations: [{ type: 'set', key: ['orders', 42], value: { total: 10 } }],
    enqueues: [
      { value: { sendReceipt: 42 }, keysIfUndelivered: [['failed', 42]] },
      { value: 'Bw==', valueType: 'bytes', delay: 5 },
    ],
  });
  await kv.atomic().set(['a'], 1).commit();
  assert.equal('enqueues' in requests[1].body, false);
});

test("bad enqueue options throw Deno KV's TypeErrors before anything is sent", async () => {
  const { kv, requests } = queueKv([]);
  const cases = [
    [{ delay: -1 }, /^Delay must be >= 0: received -1$/],
    [{ delay: 2_592_000_001 }, /^Delay cannot be greater than 30 days: received 2592000001$/],
    [{ delay: Infinity }, /^Delay cannot be greater than 30 days: received Infinity$/],
    [{ delay: NaN }, /^Delay cannot be NaN$/],
    [{ delay: '5' }, /^Delay must be a number of milliseconds: received "5"$/],
    [{ backoffSchedule: [1, 2, 3, 4, 5, 6] }, /^Invalid backoffSchedule, max 5 intervals allowed/],
    [{ backoffSchedule: [1, -1] }, /^Invalid backoffSchedule, interval at index 1 is invalid/],
    [{ backoffSchedule: [3_600_001] }, /^Invalid backoffSchedule, interval at index 0 is invalid/],
    [{ backoffSchedule: [NaN] }, /^Invalid backoffSchedule, interval at index 0 is invalid/],
    [{ backoffSchedule: ['1'] }, /^Invalid backoffSchedule, interval at index 0 is invalid/],
    [{ backoffSchedule: null }, /^Invalid backoffSchedule, it must be an array/],
    [{ keysIfUndelivered: Array.from({ length: 11 }, (_, i) => ['failed', i]) }, /keysIfUndelivered has 11 keys; a message takes at most 10$/],
    [{ keysIfUndelivered: [['ok'], []] }, /keysIfUndelivered\[1\] must be a non-empty array/],
    [{ keysIfUndelivered: ['failed'] }, /keysIfUndelivered\[0\] must be a non-empty array/],
    [{ retries: 3 }, /unknown option "retries"/],
  ];
  for (const [options, message] of cases) {
    await assert.rejects(kv.enqueue('job', options), refusal(message), JSON.stringify(options));
    assert.throws(() => kv.atomic().enqueue('job', options), refusal(message));
  }
  // Deno's edges: 0 and the bounds themselves are allowed.
  kv.atomic().enqueue('job', { delay: 0, backoffSchedule: [0, 3_600_000, 0, 0, 0] }).enqueue('job', { delay: 2_592_000_000 });

  await assert.rejects(kv.enqueue(new KvU64(1n)), refusal(/^value is a KvU64, which a queue message cannot be/));
  assert.throws(() => kv.atomic().enqueue(1).enqueue(new KvU64(1n)), refusal(/^enqueues\[1\]\.value is a KvU64/));
  await assert.rejects(kv.enqueue({ when: () => 1 }), refusal(/^value\.when is a function/));
  assert.throws(() => kv.atomic().enqueue(1, 5), refusal(/^enqueues\[0\]\.options must be an object/));
  await assert.rejects(kv.enqueue(1, 5), refusal(/^enqueue\(\) options must be an object/));

  const many = kv.atomic();
  for (let i = 0; i < 101; i++) many.enqueue(i);
  await assert.rejects(many.commit(), refusal(/^Too many enqueues \(max 100\): this commit has 101/));
  assert.equal(requests.length, 0);
});

test('listenQueue() checks its handler and options, and refuses a closed handle as Deno does', async () => {
  const { kv, requests } = queueKv([]);
  await assert.rejects(kv.listenQueue('handler'), refusal(/takes a handler function, got "handler"/));
  for (const concurrency of [0, 65, 1.5, '8']) {
    await assert.rejects(kv.listenQueue(() => {}, { concurrency }), refusal(/concurrency must be a whole number from 1 to 64/));
  }
  for (const visibilityTimeout of [999, 900_001, null]) {
    await assert.rejects(kv.listenQueue(() => {}, { visibilityTimeout }), refusal(/visibilityTimeout must be a whole number from 1000 to 900000/));
  }
  await assert.rejects(kv.listenQueue(() => {}, { onError: () => {} }), refusal(/unknown option "onError"/));
  await assert.rejects(kv.listenQueue(() => {}, { signal: 'stop' }), refusal(/signal must be an AbortSignal/));
  await assert.rejects(kv.listenQueue(() => {}, 5), refusal(/options must be an object/));
  kv.close();
  await assert.rejects(kv.listenQueue(() => {}), (error) => {
    assert.ok(error instanceof KvError);
    assert.equal(error.code, 'closed');
    assert.match(error.message, /^Queue already closed/);
    return true;
  });
  assert.equal(requests.length, 0);
});

test('listenQueue() hands each message, decoded, to the handler and settles its outcome', async (t) => {
  const errors = t.mock.method(console, 'error', () => {});
  const controller = new AbortController();
  const { kv, requests } = queueKv([
    (r) =>
      sseResponse(
        [
          message(1, { job: 'json' }),
          ': keep-alive\n\n',
          message(2, 'AQI=', { valueType: 'bytes' }),
          message(3, '/w9JVA==', { valueType: 'v8', delivery: 2, attempt: 1 }),
          message(4, 'throws'),
        ],
        { signal: r.signal },
      ),
  ]);
  const seen = [];
  const done = kv.listenQueue(
    async (value) => {
      seen.push(value);
      if (value === 'throws') throw new Error('handler failed');
      await new Promise((resolve) => setTimeout(resolve, 1));
    },
    { signal: controller.signal, concurrency: 4, visibilityTimeout: 5_000 },
  );
  await until(() => settled(requests).flat().length === 4);
  controller.abort();
  assert.equal(await done, undefined, 'abort resolves it');
  assert.deepEqual(requests[0].body, { concurrency: 4, visibilityTimeout: 5_000 });
  assert.equal(requests[0].route, 'queue/listen');
  assert.deepEqual(seen[0], { job: 'json' });
  assert.deepEqual(seen[1], new Uint8Array([1, 2]));
  assert.ok(seen[2] instanceof KvV8Value);
  assert.deepEqual(seen[2].bytes, new Uint8Array([0xff, 0x0f, 0x49, 0x54]));
  const outcomes = settled(requests).flat().sort((a, b) => a.id - b.id);
  assert.deepEqual(outcomes, [
    { id: 1, delivery: 1, ok: true },
    { id: 2, delivery: 1, ok: true },
    { id: 3, delivery: 2, ok: true },
    { id: 4, delivery: 1, ok: false },
  ]);
  assert.equal(errors.mock.callCount(), 1);
  assert.equal(errors.mock.calls[0].arguments[0], 'Exception in queue handler', "Deno's log line");
  assert.equal(errors.mock.calls[0].arguments[1].message, 'handler failed');
});

test("a tick's outcomes are one settle request, at most 64 messages each; a sync handler works too", async () => {
  const controller = new AbortController();
  const events = Array.from({ length: 100 }, (_, i) => message(i + 1, i));
  const { kv, requests } = queueKv([(r) => sseResponse([events.join('')], { signal: r.signal })]);
  let handled = 0;
  const done = kv.listenQueue(() => void handled++, { signal: controller.signal });
  await until(() => settled(requests).flat().length === 100);
  controller.abort();
  await done;
  assert.equal(handled, 100);
  assert.deepEqual(settled(requests).map((messages) => messages.length), [64, 36]);
});

test('a settle is retried through a 503 and a lost answer; one that fails for good is logged and listening goes on', async (t) => {
  const errors = t.mock.method(console, 'error', () => {});
  const controller = new AbortController();
  let settles = 0;
  const { kv, requests } = queueKv([(r) => sseResponse([message(1, 'a')], { signal: r.signal })], {
    settle: (request) => {
      settles++;
      if (settles === 1) return errorResponse(503, 'unavailable');
      if (settles === 2) throw new TypeError('fetch failed');
      if (settles <= 3) return { outcomes: ['acked'] };
      return errorResponse(400, 'invalid_request');
    },
  });
  const done = kv.listenQueue(() => {}, { signal: controller.signal });
  await until(() => settles === 3);
  assert.equal(errors.mock.callCount(), 0);
  assert.deepEqual(settled(requests), Array(3).fill([{ id: 1, delivery: 1, ok: true }]), 'the same settle, sent again');
  controller.abort();
  await done;

  const refused = queueKv([(r) => sseResponse([message(1, 'a'), message(2, 'b')], { signal: r.signal })], {
    settle: () => errorResponse(400, 'invalid_request'),
  });
  const stop = new AbortController();
  let handled = 0;
  const listening = refused.kv.listenQueue(() => void handled++, { signal: stop.signal });
  await until(() => errors.mock.callCount() === 1);
  assert.match(errors.mock.calls[0].arguments[0], /^Failed to settle 2 queue messages; the store delivers them again/);
  assert.equal(errors.mock.calls[0].arguments[1].code, 'invalid_request');
  stop.abort();
  assert.equal(await listening, undefined);
  assert.equal(handled, 2);
});

test('abort and close() end listenQueue once the running handlers finished and their outcomes were sent', async () => {
  for (const end of ['abort', 'close']) {
    const controller = new AbortController();
    const { kv, requests } = queueKv([(r) => sseResponse([message(1, 'slow')], { signal: r.signal })]);
    let finish;
    const handlerRuns = new Promise((resolve) => (finish = resolve));
    let started = false;
    const done = kv.listenQueue(
      async () => {
        started = true;
        await handlerRuns;
      },
      { signal: controller.signal },
    );
    let resolved = false;
    done.then(() => (resolved = true));
    await until(() => started);
    if (end === 'abort') controller.abort();
    else kv.close();
    await new Promise((resolve) => setTimeout(resolve, 10));
    assert.equal(resolved, false, `${end}: waits for the running handler`);
    assert.equal(requests[0].signal.aborted, true, `${end}: the stream is closed at once`);
    finish();
    await done;
    assert.deepEqual(settled(requests), [[{ id: 1, delivery: 1, ok: true }]], `${end}: the outcome was sent before it resolved`);
  }
});

test('the stream reconnects after a cut, a close without the end event, a 503, and at once after the lifetime end', async () => {
  const controller = new AbortController();
  const { kv, requests } = queueKv(
    [
      (r) => sseResponse([message(1, 'first')], { end: 'cut', signal: r.signal }),
      (r) => sseResponse([message(2, 'second')], { end: 'close', signal: r.signal }),
      () => errorResponse(503, 'unavailable', { 'retry-after': '0' }),
      (r) => sseResponse([message(3, 'third')], { end: 'lifetime', signal: r.signal }),
      (r) => sseResponse([message(4, 'fourth')], { signal: r.signal }),
    ],
  );
  const seen = [];
  const done = kv.listenQueue((value) => void seen.push(value), { signal: controller.signal });
  await until(() => seen.length === 4);
  controller.abort();
  await done;
  assert.deepEqual(seen, ['first', 'second', 'third', 'fourth']);
  assert.equal(requests.filter((request) => request.route === 'queue/listen').length, 5);
});

test('a refused listen (401) or an error event ends listenQueue with its KvError, after the handlers', async () => {
  const { kv } = queueKv([() => errorResponse(401, 'invalid_token')]);
  await assert.rejects(kv.listenQueue(() => {}), { name: 'KvError', code: 'invalid_token', status: 401, retryable: false });

  const rotated = queueKv([
    (r) =>
      sseResponse(
        [message(1, 'a'), `event: error\ndata: ${JSON.stringify({ error: { code: 'invalid_token', message: 'rotated' } })}\n\n`],
        { signal: r.signal },
      ),
  ]);
  let handled = 0;
  await assert.rejects(rotated.kv.listenQueue(() => void handled++), { name: 'KvError', code: 'invalid_token', message: 'rotated' });
  assert.equal(handled, 1);
  assert.deepEqual(settled(rotated.requests), [[{ id: 1, delivery: 1, ok: true }]], 'its outcome was sent before it rejected');

  const tooMany = queueKv([() => errorResponse(429, 'too_many_listeners', { 'retry-after': '0' }), (r) => stall(r.signal)], {
    retry: false,
  });
  await assert.rejects(tooMany.kv.listenQueue(() => {}), { code: 'too_many_listeners', retryable: true }, 'retry: false ends it at the first drop');
});
