// Unit tests of get()'s auto-batching (js/batch.js): the get() calls of one
// tick are one POST /v1/get of at most 100 keys, and each caller gets its
// own entry or its own error.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { KvError } from '../../js/index.js';
import { entriesOf, errorResponse, fakeKv, stall, tick, VERSION } from './fakes.js';

const answerGets = (request) => entriesOf(request.body.keys);

test('the get() calls of one tick are one request; each resolves to its own entry', async () => {
  const { kv, requests } = fakeKv(answerGets);
  const keys = [['users', '1'], ['users', 2], ['flag', true], ['n', 10n], ['b', new Uint8Array([1, 2])]];
  const entries = await Promise.all(keys.map((key) => kv.get(key)));
  assert.equal(requests.length, 1);
  assert.equal(requests[0].route, 'get');
  assert.equal(requests[0].body.keys.length, keys.length);
  entries.forEach((entry, index) => {
    assert.deepEqual(entry.key, keys[index]);
    assert.equal(entry.versionstamp, VERSION);
  });
  assert.equal(entries[1].value, 'value of ["users",2]');
});

test('calls in different ticks are different requests', async () => {
  const { kv, requests } = fakeKv(answerGets);
  await kv.get(['a']);
  await kv.get(['b']);
  const first = kv.get(['c']);
  await tick();
  const second = kv.get(['d']);
  await Promise.all([first, second]);
  assert.equal(requests.length, 4);
});

test('more than 100 keys in a tick are split into requests of at most 100', async () => {
  const { kv, requests } = fakeKv(answerGets);
  const entries = await Promise.all(Array.from({ length: 250 }, (_, i) => kv.get(['k', i])));
  assert.deepEqual(requests.map((request) => request.body.keys.length), [100, 100, 50]);
  entries.forEach((entry, i) => assert.deepEqual(entry.key, ['k', i]));
});

test('a key asked twice in a tick is read once; each caller gets an entry of its own', async () => {
  const { kv, requests } = fakeKv(answerGets);
  const [a, b, c] = await Promise.all([kv.get(['same']), kv.get(['other']), kv.get(['same'])]);
  assert.deepEqual(requests[0].body.keys, [['same'], ['other']]);
  assert.deepEqual(a, c);
  assert.notEqual(a, c, 'not the same object');
  assert.deepEqual(b.key, ['other']);
});

test('a key the client refuses rejects its caller only, before sending', async () => {
  const { kv, requests } = fakeKv(answerGets);
  const results = await Promise.allSettled([kv.get(['a']), kv.get(['bad', null]), kv.get([]), kv.get(['c'])]);
  assert.deepEqual(results.map((result) => result.status), ['fulfilled', 'rejected', 'rejected', 'fulfilled']);
  assert.ok(results[1].reason instanceof TypeError);
  assert.equal(requests.length, 1);
  assert.deepEqual(requests[0].body.keys, [['a'], ['c']]);
});

test('a key the store would refuse is sent alone, so its refusal is its caller\'s only', async () => {
  const tooLarge = ['x'.repeat(3000)];
  const illFormed = ['\ud800'];
  const { kv, requests } = fakeKv((request) => {
    const [key] = request.body.keys;
    if (key[0] === tooLarge[0]) return errorResponse(400, 'key_too_large');
    if (key[0] === illFormed[0]) return errorResponse(400, 'invalid_json');
    return answerGets(request);
  });
  const results = await Promise.allSettled([kv.get(['a']), kv.get(tooLarge), kv.get(illFormed), kv.get(['b'])]);
  assert.equal(results[0].status, 'fulfilled');
  assert.equal(results[3].status, 'fulfilled');
  assert.equal(results[1].reason.code, 'key_too_large');
  assert.equal(results[2].reason.code, 'invalid_json');
  assert.deepEqual(requests.map((request) => request.body.keys.length).sort(), [1, 1, 2]);
});

test('should the store refuse a batch for a key, each key is asked again alone', async () => {
  // A key the client let through but the store refuses (the store is the judge).
  const { kv, requests } = fakeKv((request) =>
    request.body.keys.some((key) => key[0] === 'refused') ? errorResponse(400, 'invalid_key') : answerGets(request),
  );
  const results = await Promise.allSettled([kv.get(['a']), kv.get(['refused']), kv.get(['b'])]);
  assert.deepEqual(results.map((result) => result.status), ['fulfilled', 'rejected', 'fulfilled']);
  assert.equal(results[1].reason.code, 'invalid_key');
  assert.deepEqual(requests.map((request) => request.body.keys.length), [3, 1, 1, 1]);
});

test('when the batch request fails, every caller gets that error', async () => {
  const { kv, requests } = fakeKv(() => errorResponse(401, 'invalid_token'));
  const results = await Promise.allSettled([kv.get(['a']), kv.get(['b']), kv.get(['c'])]);
  assert.equal(requests.length, 1);
  for (const result of results) {
    assert.equal(result.status, 'rejected');
    assert.ok(result.reason instanceof KvError);
    assert.equal(result.reason.code, 'invalid_token');
  }
  // Retryable failures are retried for the whole batch first.
  const flaky = fakeKv((request, index) => (index < 2 ? errorResponse(503, 'unavailable') : answerGets(request)));
  const entries = await Promise.all([flaky.kv.get(['a']), flaky.kv.get(['b'])]);
  assert.equal(flaky.requests.length, 3);
  assert.deepEqual(entries.map((entry) => entry.key), [['a'], ['b']]);
});

test('a caller that aborts gets its rejection; the batch goes on for the others', async () => {
  let release;
  const gate = new Promise((resolve) => (release = resolve));
  const { kv, requests } = fakeKv(async (request) => {
    await gate;
    return answerGets(request);
  });
  const controller = new AbortController();
  const reason = new Error('no longer needed');
  const aborted = kv.get(['a'], { signal: controller.signal });
  const kept = kv.get(['b'], { signal: new AbortController().signal, consistency: 'eventual' });
  const plain = kv.get(['c']);
  await tick();
  controller.abort(reason);
  await assert.rejects(aborted, { name: 'KvError', code: 'aborted', cause: reason });
  release();
  assert.deepEqual((await kept).key, ['b']);
  assert.deepEqual((await plain).key, ['c']);
  assert.equal(requests.length, 1);
  assert.equal(requests[0].signal.aborted, false);
});

test('a caller aborted before the batch is sent is left out; when every caller aborted, the request is aborted', async () => {
  const { kv, requests } = fakeKv((request) => (request.body.keys.length === 0 ? assert.fail('empty batch') : stall(request.signal)));
  const controller = new AbortController();
  const a = kv.get(['a'], { signal: controller.signal });
  controller.abort();
  await assert.rejects(a, { code: 'aborted' });
  const b = kv.get(['b'], { signal: AbortSignal.abort() });
  await assert.rejects(b, { code: 'aborted' });
  await tick();
  assert.equal(requests.length, 0, 'nothing was sent for callers that left');

  const first = new AbortController();
  const second = new AbortController();
  const x = kv.get(['x'], { signal: first.signal });
  const y = kv.get(['y'], { signal: second.signal });
  await tick();
  assert.equal(requests.length, 1);
  first.abort();
  await assert.rejects(x, { code: 'aborted' });
  assert.equal(requests[0].signal.aborted, false, 'one caller still waits');
  second.abort();
  await assert.rejects(y, { code: 'aborted' });
  assert.equal(requests[0].signal.aborted, true, 'no caller waits: the request is aborted');
});

test('batchGets: false sends each get() alone', async () => {
  const { kv, requests } = fakeKv(answerGets, { batchGets: false });
  await Promise.all([kv.get(['a']), kv.get(['b']), kv.get(['c'])]);
  assert.equal(requests.length, 3);
  for (const request of requests) assert.equal(request.body.keys.length, 1);
});

test('getMany() is its own request, never merged with get() calls', async () => {
  const { kv, requests } = fakeKv(answerGets);
  await Promise.all([kv.get(['a']), kv.getMany([['b'], ['c']]), kv.get(['d'])]);
  assert.deepEqual(
    requests.map((request) => request.body.keys.length).sort(),
    [2, 2],
  );
});

test('close() rejects the get() calls waiting for their batch and those in flight', async () => {
  const { kv, requests } = fakeKv((request) => stall(request.signal));
  const waiting = kv.get(['a']);
  kv.close();
  await assert.rejects(waiting, { code: 'closed', message: /interrupted by kv\.close\(\)/ });
  assert.equal(requests.length, 0);

  const other = fakeKv((request) => stall(request.signal));
  const inFlight = [other.kv.get(['a']), other.kv.get(['b'])];
  await tick();
  assert.equal(other.requests.length, 1);
  other.kv.close();
  for (const call of inFlight) await assert.rejects(call, { code: 'closed' });
});
