// Unit tests of the client's transport (js/transport.js) through connect():
// timeouts, cancellation, retries with backoff and Retry-After, idempotency
// keys, User-Agent and close(). Requests go to a fake fetch; retry delays are
// made tiny through connect()'s options, and the backoff formula is tested
// with an injected random source, so nothing here depends on timing but
// lower bounds.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { connect, KvError, KvU64 } from '../../js/index.js';
import { backoffDelay, DEFAULT_RETRY, DEFAULT_TIMEOUT_MS, retryAfterMs, retryPolicy } from '../../js/transport.js';
import { CLIENT_VERSION, USER_AGENT } from '../../js/version.js';
import { entriesOf, errorResponse, fakeKv, jsonResponse, OPTIONS, stall, VERSION } from './fakes.js';

const COMMITTED = { ok: true, version: VERSION };
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

test("the User-Agent names the client and package.json's version", async () => {
  const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));
  assert.equal(CLIENT_VERSION, version, 'js/version.js must follow package.json');
  assert.equal(USER_AGENT, `own3d-kv-js/${version}`);
  const { kv, requests } = fakeKv((request) => (request.route === 'get' ? entriesOf(request.body.keys) : COMMITTED));
  await kv.get(['a']);
  await kv.set(['a'], 1);
  await kv.usage().catch(() => {});
  for (const request of requests) assert.equal(request.headers['user-agent'], USER_AGENT);
});

test('the defaults: 10 s timeout, 4 attempts, 100 ms base delay, 5 s cap, 30 s budget', () => {
  assert.equal(DEFAULT_TIMEOUT_MS, 10_000);
  assert.deepEqual({ ...DEFAULT_RETRY }, { maxAttempts: 4, baseDelayMs: 100, maxDelayMs: 5_000, maxRetryTimeMs: 30_000 });
  assert.deepEqual(retryPolicy(undefined), DEFAULT_RETRY);
  assert.equal(retryPolicy(false).maxAttempts, 1);
  assert.deepEqual({ ...retryPolicy({ maxAttempts: 2 }) }, { ...DEFAULT_RETRY, maxAttempts: 2 });
});

test('connect() refuses bad timeout, retry and batchGets options', () => {
  const refusal = (message) => ({ name: 'TypeError', message });
  for (const timeoutMs of [0, -1, '10', null, NaN]) {
    assert.throws(() => connect({ ...OPTIONS, timeoutMs }), refusal(/timeoutMs must be a positive number/));
  }
  assert.ok(connect({ ...OPTIONS, timeoutMs: Infinity }));
  assert.throws(() => connect({ ...OPTIONS, retry: 3 }), refusal(/retry must be false or an object/));
  assert.throws(() => connect({ ...OPTIONS, retry: { maxAttempts: 0 } }), refusal(/retry\.maxAttempts must be a whole number of at least 1/));
  assert.throws(() => connect({ ...OPTIONS, retry: { maxAttempts: 1.5 } }), refusal(/maxAttempts/));
  assert.throws(() => connect({ ...OPTIONS, retry: { baseDelayMs: -1 } }), refusal(/retry\.baseDelayMs must be a number of milliseconds/));
  assert.throws(() => connect({ ...OPTIONS, retry: { attempts: 3 } }), refusal(/unknown option "attempts"/));
  assert.throws(() => connect({ ...OPTIONS, batchGets: 'no' }), refusal(/batchGets must be true or false/));
});

test('backoff is full jitter: uniform from 0 to min(maxDelayMs, baseDelayMs * 2^(retry - 1))', () => {
  const policy = { baseDelayMs: 100, maxDelayMs: 1_000 };
  const top = () => 1 - Number.EPSILON;
  assert.equal(backoffDelay(1, policy, () => 0), 0);
  assert.equal(backoffDelay(1, policy, () => 0.5), 50);
  assert.ok(Math.abs(backoffDelay(1, policy, top) - 100) < 1e-9);
  assert.equal(backoffDelay(2, policy, () => 0.5), 100);
  assert.equal(backoffDelay(3, policy, () => 0.5), 200);
  assert.equal(backoffDelay(4, policy, () => 0.5), 400);
  assert.equal(backoffDelay(5, policy, () => 0.5), 500, 'capped: min(1000, 1600) / 2');
  assert.equal(backoffDelay(30, policy, () => 0.25), 250);
  for (let i = 0; i < 1_000; i++) {
    const delay = backoffDelay(3, policy);
    assert.ok(delay >= 0 && delay < 400);
  }
});

test('Retry-After is read as seconds or as an HTTP date', () => {
  const now = Date.parse('2026-12-02T10:00:00Z');
  assert.equal(retryAfterMs('3', now), 3_000);
  assert.equal(retryAfterMs(' 0 ', now), 0);
  assert.equal(retryAfterMs('1.5', now), 1_500);
  assert.equal(retryAfterMs('Wed, 02 Dec 2026 10:00:07 GMT', now), 7_000);
  assert.equal(retryAfterMs('Wed, 02 Dec 2026 09:00:00 GMT', now), 0, 'a date in the past: at once');
  assert.equal(retryAfterMs('soon', now), undefined);
  assert.equal(retryAfterMs(null, now), undefined);
  assert.equal(retryAfterMs('-1', now), undefined);
});

test('network errors, 408, 429, 502, 503 and 504 are retried, then succeed', async () => {
  const failures = [
    () => {
      throw new TypeError('fetch failed');
    },
    () => errorResponse(408, 'http_408'),
    () => errorResponse(429, 'too_many_watches'),
    () => new Response('<html>Bad Gateway</html>', { status: 502 }),
    () => errorResponse(503, 'unavailable', { 'retry-after': '0' }),
    () => new Response('gateway timeout', { status: 504 }),
  ];
  for (const fail of failures) {
    const { kv, requests } = fakeKv((request, index) => (index < 3 ? fail() : entriesOf(request.body.keys)));
    const entry = await kv.get(['a']);
    assert.equal(entry.version, VERSION);
    assert.equal(requests.length, 4, 'three failures, then the fourth attempt (maxAttempts 4)');
  }
});

test('past maxAttempts the last error is thrown, with attempts and retryable', async () => {
  const { kv, requests } = fakeKv(() => errorResponse(503, 'unavailable'), { retry: { maxAttempts: 3, baseDelayMs: 1 } });
  await assert.rejects(kv.get(['a']), (error) => {
    assert.ok(error instanceof KvError);
    assert.equal(error.code, 'unavailable');
    assert.equal(error.status, 503);
    assert.equal(error.attempts, 3);
    assert.equal(error.retryable, true);
    assert.match(error.message, /3 attempts; retry\.maxAttempts is 3/);
    return true;
  });
  assert.equal(requests.length, 3);

  const cause = new TypeError('fetch failed');
  const network = fakeKv(() => {
    throw cause;
  });
  await assert.rejects(network.kv.delete(['a']), (error) => {
    assert.equal(error.code, 'network_error');
    assert.equal(error.status, null);
    assert.equal(error.cause, cause);
    assert.equal(error.attempts, 4);
    assert.equal(error.retryable, true);
    return true;
  });
});

test('other 4xx answers and 500 are never retried', async () => {
  for (const [status, code] of [
    [400, 'invalid_key'],
    [401, 'invalid_token'],
    [404, 'not_found'],
    [413, 'value_too_large'],
    [422, 'idempotency_key_reused'],
    [500, 'internal_error'],
    [507, 'storage_limit_exceeded'],
  ]) {
    const { kv, requests } = fakeKv(() => errorResponse(status, code));
    await assert.rejects(kv.set(['a'], 1), (error) => {
      assert.equal(error.code, code);
      assert.equal(error.status, status);
      assert.equal(error.attempts, 1);
      assert.equal(error.retryable, false);
      return true;
    });
    assert.equal(requests.length, 1, `${status} is not retried`);
  }
});

test('retry: false sends each call once', async () => {
  const { kv, requests } = fakeKv(() => errorResponse(503, 'unavailable'), { retry: false });
  await assert.rejects(kv.get(['a']), { code: 'unavailable', attempts: 1, retryable: true });
  assert.equal(requests.length, 1);
});

test('every write carries an Idempotency-Key, the same for each retry of a call, new for each call', async () => {
  const { kv, requests } = fakeKv((request, index) => (index % 2 === 0 ? errorResponse(503, 'unavailable') : { ...COMMITTED, deleted: true }));
  await kv.set(['a'], 1);
  await kv.delete(['a']);
  await kv.atomic().sum(['n'], new KvU64(1n)).commit();
  await kv.import(['{"key":["b"],"value":2,"version":"00000000000000010000"}\n']);
  assert.deepEqual(requests.map((request) => request.route), ['set', 'set', 'delete', 'delete', 'atomic', 'atomic', 'atomic', 'atomic']);
  const keys = requests.map((request) => request.headers['idempotency-key']);
  for (const key of keys) assert.match(key, UUID);
  for (let i = 0; i < keys.length; i += 2) assert.equal(keys[i], keys[i + 1], `the retry of ${requests[i].route} reuses its key`);
  assert.equal(new Set(keys).size, 4, 'each call has its own key');
  assert.deepEqual(requests[0].body, requests[1].body, 'and the same body');
});

test('reads carry no Idempotency-Key', async () => {
  const { kv, requests } = fakeKv((request) => {
    if (request.route === 'get') return entriesOf(request.body.keys);
    if (request.route === 'list') return { entries: [], cursor: null };
    if (request.route === 'count') return { count: 0, cursor: null };
    return { limits: {}, usage: {} };
  });
  await kv.get(['a']);
  await kv.getMany([['a'], ['b']]);
  for await (const entry of kv.list({ prefix: [] })) assert.fail(entry);
  await kv.count({ prefix: [] });
  await kv.usage();
  assert.equal(requests.length, 5);
  for (const request of requests) assert.equal(request.headers['idempotency-key'], undefined);
});

test("a caller's idempotencyKey is sent as is; a malformed one is refused before sending", async () => {
  const { kv, requests } = fakeKv(() => ({ ...COMMITTED, deleted: false }));
  await kv.set(['a'], 1, { idempotencyKey: 'order-42_payment', expireIn: 1000 });
  await kv.delete(['a'], { idempotencyKey: 'A'.repeat(64) });
  await kv.atomic().set(['b'], 2).commit({ idempotencyKey: 'commit-1' });
  assert.deepEqual(
    requests.map((request) => request.headers['idempotency-key']),
    ['order-42_payment', 'A'.repeat(64), 'commit-1'],
  );
  assert.deepEqual(requests[0].body, { key: ['a'], value: 1, expireIn: 1000 });
  for (const idempotencyKey of ['', 'A'.repeat(65), 'has space', 'é', 'a/b', 42, null]) {
    const refusal = { name: 'TypeError', message: /idempotencyKey must be 1 to 64 characters of A-Z, a-z, 0-9, "_" and "-"/ };
    await assert.rejects(kv.set(['a'], 1, { idempotencyKey }), refusal);
    await assert.rejects(kv.delete(['a'], { idempotencyKey }), refusal);
    await assert.rejects(kv.atomic().set(['a'], 1).commit({ idempotencyKey }), refusal);
  }
  await assert.rejects(kv.set(['a'], 1, { signal: 'no' }), { name: 'TypeError', message: /signal must be an AbortSignal/ });
  await assert.rejects(kv.atomic().commit({ retries: 3 }), { name: 'TypeError', message: /unknown option "retries"/ });
  assert.throws(() => kv.atomic().set(['a'], 1, { signal: AbortSignal.abort() }), { name: 'TypeError', message: /unknown option "signal"/ });
  assert.equal(requests.length, 3);
});

test('429 and 503 wait as Retry-After says (seconds or a date)', async () => {
  const { kv, requests } = fakeKv((request, index) =>
    index === 0 ? errorResponse(429, 'too_many_watches', { 'retry-after': '1' }) : entriesOf(request.body.keys),
  );
  const started = Date.now();
  await kv.get(['a']);
  assert.ok(Date.now() - started >= 950, 'waited about the second Retry-After asked for');
  assert.equal(requests.length, 2);

  const soon = new Date(Date.now() + 1_500).toUTCString(); // second precision: 0.5 to 1.5 s away
  const dated = fakeKv((request, index) => (index === 0 ? errorResponse(503, 'unavailable', { 'retry-after': soon }) : COMMITTED));
  const start = Date.now();
  await dated.kv.set(['a'], 1);
  assert.ok(Date.now() - start >= 400);
  assert.equal(dated.requests.length, 2);
});

test('a Retry-After past the retry budget (or the timeout) fails at once with that answer', async () => {
  const { kv, requests } = fakeKv(() => errorResponse(429, 'quota_exceeded', { 'retry-after': '3600' }));
  const started = Date.now();
  await assert.rejects(kv.get(['a']), (error) => {
    assert.equal(error.code, 'quota_exceeded');
    assert.equal(error.attempts, 1);
    assert.equal(error.retryable, true);
    assert.match(error.message, /Retry-After asked for 3600000 ms, past retry\.maxRetryTimeMs \(30000 ms\)/);
    return true;
  });
  assert.ok(Date.now() - started < 5_000, 'did not wait');
  assert.equal(requests.length, 1);

  const short = fakeKv(() => errorResponse(503, 'unavailable', { 'retry-after': '5' }), { timeoutMs: 1_000 });
  await assert.rejects(short.kv.get(['a']), { code: 'unavailable', attempts: 1, message: /past the timeout \(1000 ms\)/ });
});

test("a 429 without Retry-After whose RateLimit-Remaining is 0 waits for RateLimit-Reset: the monthly quota fails at once", async () => {
  const quota = { 'ratelimit-limit': '10000', 'ratelimit-remaining': '0', 'ratelimit-reset': '2531251' };
  const { kv, requests } = fakeKv(() => errorResponse(429, 'quota_exceeded', quota));
  await assert.rejects(kv.set(['a'], 1), {
    code: 'quota_exceeded',
    attempts: 1,
    retryable: true,
    message: /RateLimit-Reset asked for 2531251000 ms, past retry\.maxRetryTimeMs/,
  });
  assert.equal(requests.length, 1);
  // A reset that is near is waited for; a 429 with requests left is backed off as usual.
  const near = fakeKv((request, index) => (index === 0 ? errorResponse(429, 'quota_exceeded', { ...quota, 'ratelimit-reset': '0' }) : COMMITTED));
  await near.kv.set(['a'], 1);
  assert.equal(near.requests.length, 2);
  const left = fakeKv((request, index) => (index === 0 ? errorResponse(429, 'too_many_watches', { ...quota, 'ratelimit-remaining': '5' }) : COMMITTED));
  await left.kv.set(['a'], 1);
  assert.equal(left.requests.length, 2);
});

test('no retry starts once retry.maxRetryTimeMs has passed since the call began', async () => {
  // Each attempt takes at least 30 ms; the budget is 50 ms: at most 2 attempts, whatever the delays.
  const slow = () => new Promise((resolve) => setTimeout(() => resolve(errorResponse(503, 'unavailable')), 30));
  const { kv, requests } = fakeKv(slow, { retry: { maxAttempts: 100, baseDelayMs: 0, maxRetryTimeMs: 50 } });
  await assert.rejects(kv.get(['a']), (error) => {
    assert.equal(error.code, 'unavailable');
    assert.ok(error.attempts >= 1 && error.attempts <= 2, `${error.attempts} attempts`);
    assert.match(error.message, /retry\.maxRetryTimeMs \(50 ms\) ran out/);
    return true;
  });
  assert.ok(requests.length <= 2);
});

test('a call that passes timeoutMs rejects with KvError "timeout", and its request is aborted', async () => {
  const { kv, requests } = fakeKv((request) => stall(request.signal), { timeoutMs: 50 });
  const started = Date.now();
  await assert.rejects(kv.get(['a']), (error) => {
    assert.ok(error instanceof KvError);
    assert.equal(error.code, 'timeout');
    assert.equal(error.status, null);
    assert.equal(error.attempts, 1);
    assert.equal(error.retryable, true);
    assert.match(error.message, /POST https:\/\/kv\.test\/v1\/get timed out after 50 ms \(1 attempt\)/);
    return true;
  });
  assert.ok(Date.now() - started >= 45);
  assert.equal(requests.length, 1);
  assert.equal(requests[0].signal.aborted, true, "the fetch's signal was aborted");

  // Even a fetch that ignores its signal cannot hold the call past the timeout.
  const deaf = fakeKv(() => new Promise(() => {}), { timeoutMs: 30 });
  await assert.rejects(deaf.kv.set(['a'], 1), { code: 'timeout', message: /may or may not have been applied.*same idempotencyKey/ });
});

test('the timeout covers the whole call: retries and waits included', async () => {
  // Every answer is a 503 asking for no wait: the call goes on until the timeout.
  const { kv, requests } = fakeKv(
    () => new Promise((resolve) => setTimeout(() => resolve(errorResponse(503, 'unavailable', { 'retry-after': '0' })), 5)),
    { timeoutMs: 100, retry: { maxAttempts: 10_000 } },
  );
  await assert.rejects(kv.get(['a']), (error) => {
    assert.equal(error.code, 'timeout');
    assert.ok(error.attempts > 1);
    assert.equal(error.attempts, requests.length);
    assert.equal(error.cause?.code, 'unavailable', 'the last answer is the cause');
    return true;
  });
});

test("a call's signal aborts it: KvError \"aborted\" with the signal's reason as cause", async () => {
  const { kv, requests } = fakeKv((request) => stall(request.signal));
  const reason = new Error('the user went away');
  const controller = new AbortController();
  const pending = kv.set(['a'], 1, { signal: controller.signal });
  await new Promise((resolve) => setTimeout(resolve, 5));
  controller.abort(reason);
  await assert.rejects(pending, (error) => {
    assert.equal(error.code, 'aborted');
    assert.equal(error.cause, reason);
    assert.equal(error.retryable, false);
    assert.equal(error.attempts, 1);
    return true;
  });
  assert.equal(requests[0].signal.aborted, true);

  // Already aborted: nothing is sent.
  const before = requests.length;
  const aborted = AbortSignal.abort('stop');
  await assert.rejects(kv.getMany([['a']], { signal: aborted }), { code: 'aborted', cause: 'stop', attempts: 0 });
  await assert.rejects(kv.delete(['a'], { signal: aborted }), { code: 'aborted' });
  await assert.rejects(kv.count({ prefix: [] }, { signal: aborted }), { code: 'aborted' });
  await assert.rejects(kv.usage({ signal: aborted }), { code: 'aborted' });
  await assert.rejects(kv.atomic().commit({ signal: aborted }), { code: 'aborted' });
  await assert.rejects(kv.list({ prefix: [] }, { signal: aborted }).next(), { code: 'aborted' });
  await assert.rejects(kv.import(['{"key":["b"],"value":2,"version":"00000000000000010000"}\n'], { signal: aborted }), { code: 'aborted' });
  await assert.rejects(kv.export({ prefix: [] }, { signal: aborted }).next(), { code: 'aborted' });
  assert.equal(requests.length, before);
});

test('aborting or closing during the wait between attempts ends the call at once', async () => {
  const slowRetry = { retry: { baseDelayMs: 60_000, maxDelayMs: 60_000, maxRetryTimeMs: 120_000 }, timeoutMs: 120_000 };
  const { kv } = fakeKv(() => errorResponse(503, 'unavailable', { 'retry-after': '50' }), slowRetry);
  const controller = new AbortController();
  const pending = kv.getMany([['a']], { signal: controller.signal });
  await new Promise((resolve) => setTimeout(resolve, 20));
  const started = Date.now();
  controller.abort();
  await assert.rejects(pending, { code: 'aborted', attempts: 1 });
  assert.ok(Date.now() - started < 1_000);

  const closing = fakeKv(() => errorResponse(503, 'unavailable', { 'retry-after': '50' }), slowRetry);
  const waiting = closing.kv.set(['a'], 1);
  await new Promise((resolve) => setTimeout(resolve, 20));
  closing.kv.close();
  await assert.rejects(waiting, { code: 'closed', message: /interrupted by kv\.close\(\)/ });
});

test('an aborted call with batchGets off and a timeout per page of a list', async () => {
  const { kv, requests } = fakeKv((request) => stall(request.signal), { batchGets: false, timeoutMs: 30 });
  await assert.rejects(kv.get(['a']), { code: 'timeout' });
  await assert.rejects(kv.list({ prefix: [] }).next(), { code: 'timeout' });
  assert.equal(requests.length, 2);
});

test('answers that are not the API are errors; a 200 that is not JSON is not retried', async () => {
  const { kv, requests } = fakeKv(() => new Response('<html>ok</html>', { status: 200 }));
  await assert.rejects(kv.get(['a']), { code: 'http_200', attempts: 1, retryable: false });
  assert.equal(requests.length, 1);
  const ok = fakeKv(() => jsonResponse(COMMITTED));
  assert.deepEqual(await ok.kv.set(['a'], 1), { ...COMMITTED, versionstamp: VERSION });
});

test('a write without an idempotency key is never retried (the transport itself refuses to)', async () => {
  const { Transport } = await import('../../js/transport.js');
  let sent = 0;
  const transport = new Transport({
    ...OPTIONS,
    fetch: async () => {
      sent++;
      throw new TypeError('fetch failed');
    },
    retry: { ...DEFAULT_RETRY, baseDelayMs: 1 },
  });
  await assert.rejects(transport.request('POST', 'atomic', { checks: [], mutations: [] }), { code: 'network_error', attempts: 1 });
  assert.equal(sent, 1);
  await assert.rejects(transport.request('POST', 'atomic', { checks: [], mutations: [] }, { idempotencyKey: 'k' }), { attempts: 4 });
  await assert.rejects(transport.request('POST', 'get', { keys: [['a']] }), { attempts: 4 });
  assert.equal(sent, 9);
});
