// Unit tests of the client's Deno KV API (Deno.Kv) where its behaviour is the
// client's own: the wire form of mutate(), versionstamped keys, bytes and V8
// values, Deno KV's limits checked before sending, the KvListIterator, and
// close(). Requests go to an injected fetch that answers as the store would.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { AtomicOperation, connect, KvError, KvListIterator, KvU64, KvV8Value } from '../../js/index.js';
import { compareKeys, encodeKeyBytes } from '../../js/keys.js';

const OPTIONS = { accessToken: 'token-1', region: 'eu-central-1', endpoint: 'https://kv.test' };
const VERSION = '0000000000000001' + '0000';

function jsonResponse(body, status = 200) {
  return new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });
}

/**
 * A kv whose requests are recorded; `answer(route, body)` gives the answer
 * (a JSON body or a Response), by default a successful commit.
 */
function fakeKv(answer = () => ({ ok: true, version: VERSION })) {
  const requests = [];
  const fetch = async (url, init) => {
    const route = url.slice(`${OPTIONS.endpoint}/v1/`.length);
    const body = init.body === undefined ? undefined : JSON.parse(init.body);
    requests.push({ route, body, init });
    const result = await answer(route, body, init);
    return result instanceof Response ? result : jsonResponse(result);
  };
  return { kv: connect({ ...OPTIONS, fetch }), requests };
}

function refusingKv() {
  return connect({ ...OPTIONS, fetch: () => assert.fail('the client sent a request it should have refused') });
}

const typeError = (message) => ({ name: 'TypeError', message });

async function collect(iterator) {
  const entries = [];
  for await (const entry of iterator) entries.push(entry);
  return entries;
}

test('mutate() sends Deno KV mutations in the wire form of set, delete and the counters', async () => {
  const { kv, requests } = fakeKv();
  const result = await kv
    .atomic()
    .mutate(
      { type: 'set', key: ['a'], value: { n: 1 } },
      { type: 'set', key: ['b'], value: 'x', expireIn: 5000 },
      { type: 'delete', key: ['c'] },
      { type: 'sum', key: ['n'], value: new KvU64(2n ** 63n) },
      { type: 'min', key: ['lo'], value: new KvU64(3n) },
      { type: 'max', key: ['hi'], value: new KvU64(9n) },
    )
    .commit();
  assert.deepEqual(result, { ok: true, version: VERSION, versionstamp: VERSION });
  assert.equal(requests[0].route, 'atomic');
  assert.deepEqual(requests[0].body.mutations, [
    { type: 'set', key: ['a'], value: { n: 1 } },
    { type: 'set', key: ['b'], value: 'x', expireIn: 5000 },
    { type: 'delete', key: ['c'] },
    { type: 'sum', key: ['n'], value: '9223372036854775808' },
    { type: 'min', key: ['lo'], value: '3' },
    { type: 'max', key: ['hi'], value: '9' },
  ]);
});

test('mutate() refuses what Deno KV refuses, with its messages first', () => {
  const operation = refusingKv().atomic();
  for (const type of ['put', undefined, 'SET', 'setSuffixVersionstampedKey']) {
    assert.throws(() => operation.mutate({ type, key: ['a'], value: 1 }), typeError(/^Invalid mutation type: mutations\[0\]\.type is /));
  }
  assert.throws(() => operation.mutate({ type: 'set', key: ['a'] }), typeError(/^Invalid mutation 'set' without value/));
  assert.throws(() => operation.mutate({ type: 'sum', key: ['a'] }), typeError(/^Invalid mutation 'sum' without value/));
  assert.throws(() => operation.mutate({ type: 'delete', key: ['a'], value: 1 }), typeError(/^Invalid mutation 'delete' with value/));
  // This store's counters are u64: a plain number or bigint is not summed as Deno would sum it.
  assert.throws(() => operation.mutate({ type: 'sum', key: ['a'], value: 1 }), typeError(/^Invalid mutation 'sum': .*take a KvU64/));
  assert.throws(() => operation.mutate({ type: 'max', key: ['a'], value: 1n }), typeError(/^Invalid mutation 'max': /));
  assert.throws(() => operation.mutate(null), typeError(/^mutations\[0\] must be a mutation object/));
  assert.throws(() => operation.mutate({ type: 'set', key: [], value: 1 }), typeError(/^mutations\[0\]\.key must be a non-empty array/));
  // A delete with a falsy value is accepted, as in Deno KV.
  operation.mutate({ type: 'delete', key: ['a'], value: undefined });
  assert.throws(() => operation.mutate({ type: 'set', key: ['a'], value: undefined }), typeError(/^mutations\[1\]\.value is undefined/));
});

test('check() takes {key, versionstamp} as well as {key, version}; null means the key has no entry', async () => {
  const { kv, requests } = fakeKv(() => ({ ok: false, failedChecks: [1] }));
  const result = await kv
    .atomic()
    .check({ key: ['a'], versionstamp: null }, { key: ['b'], versionstamp: VERSION }, { key: ['c'], version: VERSION, versionstamp: VERSION })
    .commit();
  assert.deepEqual(result, { ok: false, failedChecks: [1] });
  assert.deepEqual(requests[0].body.checks, [
    { key: ['a'], version: null },
    { key: ['b'], version: VERSION },
    { key: ['c'], version: VERSION },
  ]);
  const operation = refusingKv().atomic();
  assert.throws(() => operation.check({ key: ['a'], versionstamp: 'nope' }), typeError(/^checks\[0\]\.versionstamp is "nope"; /));
  assert.throws(() => operation.check({ key: ['a'], version: null, versionstamp: VERSION }), typeError(/^checks\[0\] has version null and versionstamp .*give one/));
});

test('entries and commit results carry versionstamp beside version', async () => {
  const wire = { key: ['k'], value: 1, version: VERSION };
  const { kv } = fakeKv((route) => {
    if (route === 'get') return { entries: [wire, { key: ['none'], value: null, version: null }] };
    if (route === 'list') return { entries: [{ ...wire, cursor: 'c1' }], cursor: null };
    return { ok: true, version: VERSION };
  });
  const [found, missing] = await kv.getMany([['k'], ['none']]);
  assert.deepEqual(found, { key: ['k'], value: 1, version: VERSION, versionstamp: VERSION });
  assert.deepEqual(missing, { key: ['none'], value: null, version: null, versionstamp: null });
  assert.equal((await kv.get(['k'])).versionstamp, VERSION);
  assert.equal((await collect(kv.list({ prefix: [] })))[0].versionstamp, VERSION);
  assert.deepEqual(await kv.set(['k'], 1), { ok: true, version: VERSION, versionstamp: VERSION });
  assert.throws(() => kv.atomic().commit().versionstamp, typeError(/before reading res\.versionstamp/));
});

test('a key ending in kv.commitVersionstamp() is sent without it, as a versionstamped key', async () => {
  const { kv, requests } = fakeKv();
  const stamp = kv.commitVersionstamp();
  assert.equal(typeof stamp, 'symbol');
  assert.equal(kv.commitVersionstamp(), stamp, 'the same placeholder every time, as in Deno KV');

  assert.deepEqual(await kv.set(['events', 7n, stamp], { at: 1 }, { expireIn: 1000 }), { ok: true, version: VERSION, versionstamp: VERSION });
  assert.equal(requests[0].route, 'set');
  assert.deepEqual(requests[0].body, { key: ['events', { bigint: '7' }], versionstampedKey: true, value: { at: 1 }, expireIn: 1000 });

  await kv.atomic().set(['log', stamp], 'a').mutate({ type: 'set', key: ['log', stamp], value: 'b' }).set(['plain'], 'c').commit();
  assert.deepEqual(requests[1].body.mutations, [
    { type: 'set', key: ['log'], versionstampedKey: true, value: 'a' },
    { type: 'set', key: ['log'], versionstampedKey: true, value: 'b' },
    { type: 'set', key: ['plain'], value: 'c' },
  ]);
});

test('kv.commitVersionstamp() anywhere but the end of a key being set is refused', async () => {
  const kv = refusingKv();
  const stamp = kv.commitVersionstamp();
  const placeholder = /is kv\.commitVersionstamp\(\), which may only be the last part of a key being set/;
  await assert.rejects(kv.set(['a', stamp, 'b'], 1), typeError(placeholder));
  await assert.rejects(kv.set([stamp], 1), typeError(/^key is \[kv\.commitVersionstamp\(\)\] alone: key cannot be empty/));
  await assert.rejects(kv.get(['a', stamp]), typeError(/^key\[1\] is kv\.commitVersionstamp\(\)/));
  await assert.rejects(kv.getMany([['a', stamp]]), typeError(placeholder));
  await assert.rejects(kv.delete(['a', stamp]), typeError(placeholder));
  await assert.rejects(kv.count({ prefix: ['a', stamp] }), typeError(placeholder));
  assert.throws(() => kv.list({ prefix: [stamp] }), typeError(placeholder));
  assert.throws(() => kv.watch([['a', stamp]]), typeError(placeholder));
  const operation = kv.atomic();
  assert.throws(() => operation.check({ key: ['a', stamp], versionstamp: null }), typeError(placeholder));
  assert.throws(() => operation.delete(['a', stamp]), typeError(placeholder));
  assert.throws(() => operation.sum(['a', stamp], 1n), typeError(placeholder));
  assert.throws(() => operation.mutate({ type: 'delete', key: ['a', stamp] }), typeError(placeholder));
  assert.throws(() => operation.mutate({ type: 'max', key: ['a', stamp], value: new KvU64(1n) }), typeError(placeholder));
  assert.throws(() => operation.set(['a', Symbol('other')], 1), typeError(/^mutations\[0\]\.key\[1\] is a symbol; /));
});

test('Uint8Array values travel as valueType "bytes" in base64, both ways', async () => {
  const { kv, requests } = fakeKv((route) =>
    route === 'get'
      ? { entries: [{ key: ['b'], value: 'AAECAwD/', valueType: 'bytes', version: VERSION }] }
      : { ok: true, version: VERSION },
  );
  await kv.set(['b'], new Uint8Array([0, 1, 2, 3, 0, 255]));
  assert.deepEqual(requests[0].body, { key: ['b'], value: 'AAECAwD/', valueType: 'bytes' });
  await kv.set(['b'], Buffer.from([1, 2]));
  assert.deepEqual(requests[1].body, { key: ['b'], value: 'AQI=', valueType: 'bytes' });
  await kv.set(['b'], new Uint8Array([9, 1, 2, 9]).subarray(1, 3));
  assert.equal(requests[2].body.value, 'AQI=', 'a view sends only its own bytes');
  await kv.atomic().set(['c'], new Uint8Array(0)).mutate({ type: 'set', key: ['d'], value: new Uint8Array([7]) }).commit();
  assert.deepEqual(requests[3].body.mutations, [
    { type: 'set', key: ['c'], value: '', valueType: 'bytes' },
    { type: 'set', key: ['d'], value: 'Bw==', valueType: 'bytes' },
  ]);
  const entry = await kv.get(['b']);
  assert.ok(entry.value instanceof Uint8Array);
  assert.deepEqual([...entry.value], [0, 1, 2, 3, 0, 255]);
  // Only a whole value is bytes; inside JSON a Uint8Array is refused.
  await assert.rejects(kv.set(['b'], { data: new Uint8Array(1) }), typeError(/^value\.data is a Uint8Array/));
});

test('V8 values read back as KvV8Value and are written back unchanged', async () => {
  const v8 = '/w9EAAAAAADAakA='; // a Date as V8 serializes it
  const { kv, requests } = fakeKv((route) =>
    route === 'get' ? { entries: [{ key: ['d'], value: v8, valueType: 'v8', version: VERSION }] } : { ok: true, version: VERSION },
  );
  const entry = await kv.get(['d']);
  assert.ok(entry.value instanceof KvV8Value);
  assert.equal(Buffer.from(entry.value.bytes).toString('base64'), v8);
  assert.equal(entry.versionstamp, VERSION);
  await kv.set(['copy'], entry.value);
  assert.deepEqual(requests[1].body, { key: ['copy'], value: v8, valueType: 'v8' });
  await kv.atomic().mutate({ type: 'set', key: ['copy2'], value: entry.value }).commit();
  assert.deepEqual(requests[2].body.mutations, [{ type: 'set', key: ['copy2'], value: v8, valueType: 'v8' }]);

  const source = new Uint8Array([255, 15, 1]);
  const value = new KvV8Value(source);
  source[0] = 0;
  assert.deepEqual([...value.bytes], [255, 15, 1], 'KvV8Value keeps a copy');
  assert.throws(() => (value.bytes = new Uint8Array()), TypeError, 'bytes is read-only');
  assert.throws(() => new KvV8Value('/w8='), typeError(/^KvV8Value takes the V8-serialized bytes as a Uint8Array, got "\/w8="/));
  await assert.rejects(kv.set(['x'], { nested: value }), typeError(/^value\.nested is a KvV8Value; /));
});

test('export and import carry bytes and V8 values', async () => {
  const { kv, requests } = fakeKv((route) =>
    route === 'list'
      ? {
          entries: [
            { key: ['b'], value: 'AQI=', valueType: 'bytes', version: VERSION, cursor: 'c1' },
            { key: ['d'], value: '/w8=', valueType: 'v8', version: VERSION, cursor: 'c2' },
          ],
          cursor: null,
        }
      : { ok: true, version: VERSION },
  );
  const lines = await collect(kv.export());
  assert.deepEqual(lines.map((line) => JSON.parse(line)), [
    { key: ['b'], value: 'AQI=', valueType: 'bytes', version: VERSION },
    { key: ['d'], value: '/w8=', valueType: 'v8', version: VERSION },
  ]);
  assert.deepEqual(await kv.import(lines), { imported: 2, skipped: 0, batches: 1 });
  assert.deepEqual(requests.at(-1).body.mutations, [
    { type: 'set', key: ['b'], value: 'AQI=', valueType: 'bytes' },
    { type: 'set', key: ['d'], value: '/w8=', valueType: 'v8' },
  ]);
  await assert.rejects(kv.import(['{"key":["b"],"value":"not base64!","valueType":"bytes"}\n']), typeError(/malformed bytes value/));
});

test("commit() refuses past Deno KV's limits before sending: 100 checks, 1,000 mutations", async () => {
  const kv = refusingKv();
  const checks = kv.atomic();
  for (let i = 0; i < 101; i++) checks.check({ key: ['c', i], versionstamp: null });
  await assert.rejects(checks.commit(), typeError(/^Too many checks \(max 100\): this commit has 101/));
  const mutations = kv.atomic();
  for (let i = 0; i < 1001; i++) mutations.delete(['m', i]);
  await assert.rejects(mutations.commit(), typeError(/^Too many mutations \(max 1000\): this commit has 1001/));

  const { kv: sending, requests } = fakeKv();
  const atLimit = sending.atomic();
  for (let i = 0; i < 100; i++) atLimit.check({ key: ['c', i], versionstamp: null });
  for (let i = 0; i < 1000; i++) atLimit.delete(['m', i]);
  await atLimit.commit();
  assert.equal(requests.length, 1);
});

test('commit() refuses more than 80 KiB of keys written (set, sum, min, max) before sending', async () => {
  // ["k", <string of n ASCII characters>] encodes to 3 + n + 2 bytes.
  const keyOf = (i, bytes) => ['k', String(i).padStart(bytes - 5, '0')];
  const { kv, requests } = fakeKv();
  // 40 keys of 2,048 bytes: 81,920 bytes exactly.
  const full = kv.atomic();
  for (let i = 0; i < 40; i++) full.set(keyOf(i, 2048), 0);
  // Neither deletes nor checks count.
  full.delete(keyOf(99, 2048)).check({ key: keyOf(98, 2048), versionstamp: null });
  await full.commit();
  assert.equal(requests.length, 1);

  const over = refusingKv().atomic();
  for (let i = 0; i < 39; i++) over.set(keyOf(i, 2048), 0);
  over.sum(keyOf(39, 2049), 1n);
  await assert.rejects(over.commit(), typeError(/^Total key size too large \(max 81920 bytes\): .* encode to 81921 bytes/));

  // A versionstamped key counts as sent, without the part the store adds (as Deno KV counts it).
  const stamped = kv.atomic();
  for (let i = 0; i < 40; i++) stamped.set([...keyOf(i, 2000), kv.commitVersionstamp()], 0);
  stamped.max(['k', '1'.repeat(1915)], 1n); // 1,920 bytes: 81,920 in all
  await stamped.commit();
  assert.equal(requests.length, 2);
});

test('an empty key is refused, in set and everywhere else', async () => {
  const kv = refusingKv();
  await assert.rejects(kv.set([], 1), typeError(/^key must be a non-empty array/));
  assert.throws(() => kv.atomic().mutate({ type: 'set', key: [], value: 1 }), TypeError);
  assert.throws(() => kv.atomic().check({ key: [], versionstamp: null }), TypeError);
});

test('list() answers a KvListIterator: next(), itself as its async iterator, and Deno KV cursors', async () => {
  const all = ['a', 'b', 'c', 'd', 'e'];
  const { kv, requests } = fakeKv((route, body) => {
    const from = body.cursor ? all.indexOf(body.cursor.slice(1)) + 1 : 0;
    const page = all.slice(from, from + body.limit);
    const more = from + page.length < all.length;
    return {
      entries: page.map((k) => ({ key: [k], value: k, version: VERSION, cursor: `@${k}` })),
      cursor: more ? `@${page.at(-1)}` : null,
    };
  });
  const iterator = kv.list({ prefix: [] }, { batchSize: 2 });
  assert.ok(iterator instanceof KvListIterator);
  assert.equal(iterator[Symbol.asyncIterator](), iterator);
  assert.equal(Object.getPrototypeOf(Object.getPrototypeOf(iterator)), Object.getPrototypeOf(Object.getPrototypeOf(async function* () {}).prototype));
  assert.throws(() => iterator.cursor, { name: 'Error', message: 'Cannot get cursor before first iteration' });
  const first = await iterator.next();
  assert.deepEqual(first, { done: false, value: { key: ['a'], value: 'a', version: VERSION, versionstamp: VERSION } });
  assert.equal(iterator.cursor, '@a');
  assert.deepEqual((await collect(iterator)).map((entry) => entry.value), ['b', 'c', 'd', 'e']);
  assert.equal(iterator.cursor, '', 'once every entry was yielded');
  assert.deepEqual(await iterator.next(), { done: true, value: undefined });
  assert.deepEqual(requests.map((r) => [r.body.limit, r.body.cursor]), [[2, undefined], [2, '@b'], [2, '@d']]);

  // A limit reached keeps the last entry's cursor; a given cursor is readable at once.
  const limited = kv.list({ prefix: [] }, { limit: 2 });
  await collect(limited);
  assert.equal(limited.cursor, '@b');
  const resumed = kv.list({ prefix: [] }, { cursor: limited.cursor });
  assert.equal(resumed.cursor, '@b');
  assert.deepEqual((await collect(resumed)).map((entry) => entry.value), ['c', 'd', 'e']);

  // next() calls made together run one after another.
  const together = kv.list({ prefix: [] }, { batchSize: 1 });
  const results = await Promise.all([together.next(), together.next(), together.next()]);
  assert.deepEqual(results.map((r) => r.value.value), ['a', 'b', 'c']);
});

test("list() batches as Deno KV's: the limit, at most 500, else 100; options are checked", async () => {
  const { kv, requests } = fakeKv(() => ({ entries: [], cursor: null }));
  await collect(kv.list({ prefix: [] }));
  await collect(kv.list({ prefix: [] }, { limit: 7 }));
  await collect(kv.list({ prefix: [] }, { limit: 5000 }));
  await collect(kv.list({ prefix: [] }, { limit: 5000, batchSize: 1000, consistency: 'eventual' }));
  assert.deepEqual(requests.map((r) => r.body.limit), [100, 7, 500, 1000]);
  assert.throws(() => kv.list({ prefix: [] }, { consistency: 'weak' }), typeError(/consistency must be "strong" or "eventual"/));
  assert.throws(() => kv.list({ prefix: [] }, { limit: 0 }), typeError(/limit must be a positive whole number/));
  await assert.rejects(kv.get(['a'], { consistency: 'weak' }), typeError(/^get\(\) consistency must be/));
  await kv.get(['a'], { consistency: 'eventual' }).catch(() => {});
});

test('a {start, end} selector whose end sorts before its start rejects at the first next(), as in Deno KV', async () => {
  const { kv, requests } = fakeKv(() => ({ entries: [], cursor: null }));
  const backwards = kv.list({ start: ['b'], end: ['a'] });
  await assert.rejects(backwards.next(), typeError(/^Start key is greater than end key/));
  assert.deepEqual(await backwards.next(), { done: true, value: undefined });
  await assert.rejects(collect(kv.list({ start: ['a', 1], end: ['a'] })), typeError(/^Start key is greater than end key/));
  await assert.rejects(collect(kv.list({ start: [1], end: [1n] })), typeError(/^Start key/), 'a bigint sorts before a number');
  assert.equal(requests.length, 0);
  // An empty range and an ordered one are asked.
  await collect(kv.list({ start: ['a'], end: ['a'] }));
  await collect(kv.list({ start: [new Uint8Array([1])], end: [''] }));
  assert.equal(requests.length, 2);
});

test('keys order as the store encodes them: the golden vectors', () => {
  const { vectors, ordered } = JSON.parse(readFileSync(new URL('../vectors/key-encoding.json', import.meta.url), 'utf8'));
  const fromWire = (key) =>
    key.map((part) => {
      if (typeof part !== 'object') return part;
      if ('bigint' in part) return BigInt(part.bigint);
      if ('number' in part) return Number(part.number);
      return new Uint8Array(Buffer.from(part.bytes, 'base64'));
    });
  for (const { key, hex } of vectors) {
    assert.equal(Buffer.from(encodeKeyBytes(fromWire(key))).toString('hex'), hex, JSON.stringify(key));
  }
  for (let i = 1; i < ordered.length; i++) {
    assert.ok(compareKeys(fromWire(ordered[i - 1]), fromWire(ordered[i])) < 0, JSON.stringify(ordered[i]));
  }
  assert.equal(compareKeys([-0], [0]), 0);
  assert.equal(compareKeys([NaN], [-NaN]), 0);
});

/** An answer to /v1/watch: a stream of server-sent events that stays open until aborted. */
function watchResponse(events, signal) {
  const encoder = new TextEncoder();
  const body = new ReadableStream({
    start(controller) {
      for (const event of events) controller.enqueue(encoder.encode(`data: ${JSON.stringify(event)}\n\n`));
      signal?.addEventListener('abort', () => controller.error(new DOMException('aborted', 'AbortError')));
    },
  });
  return new Response(body, { headers: { 'content-type': 'text/event-stream' } });
}

test("watch events are Deno KV's arrays of entries, with entries and changed beside", async () => {
  const entries = [
    { key: ['a'], value: 1, version: VERSION },
    { key: ['b'], value: null, version: null },
  ];
  const { kv } = fakeKv((route, body, init) => watchResponse([{ entries, changed: [0, 1] }], init.signal));
  const reader = kv.watch([['a'], ['b']]).getReader();
  const { value: event } = await reader.read();
  assert.ok(Array.isArray(event));
  const [a, b] = event;
  assert.deepEqual(a, { key: ['a'], value: 1, version: VERSION, versionstamp: VERSION });
  assert.deepEqual(b, { key: ['b'], value: null, version: null, versionstamp: null });
  assert.deepEqual(event, [a, b], 'compares as a plain array: entries and changed are not enumerable');
  assert.deepEqual(event.entries, [a, b]);
  assert.deepEqual(event.changed, [0, 1]);
  assert.deepEqual(JSON.parse(JSON.stringify(event)).length, 2);
  await reader.cancel();
});

test('close() refuses every later call with KvError "closed", and Symbol.dispose closes', async () => {
  const closed = { name: 'KvError', code: 'closed', status: null, message: /closed handle/ };
  const { kv, requests } = fakeKv((route) => (route === 'list' ? { entries: [], cursor: null } : { ok: true, version: VERSION }));
  const made = { list: kv.list({ prefix: [] }), atomic: kv.atomic().set(['a'], 1) };
  kv.close();
  kv.close(); // again: nothing
  await assert.rejects(kv.get(['a']), closed);
  await assert.rejects(kv.getMany([['a']]), closed);
  await assert.rejects(kv.set(['a'], 1), closed);
  await assert.rejects(kv.delete(['a']), closed);
  await assert.rejects(kv.count({ prefix: [] }), closed);
  await assert.rejects(kv.usage(), closed);
  await assert.rejects(kv.import([]), closed);
  await assert.rejects(collect(kv.export()), closed);
  assert.throws(() => kv.list({ prefix: [] }), closed);
  assert.throws(() => kv.atomic(), closed);
  assert.throws(() => kv.watch([['a']]), closed);
  assert.throws(() => kv.commitVersionstamp(), closed);
  // What was made before close() is refused when it would send.
  await assert.rejects(made.list.next(), closed);
  await assert.rejects(made.atomic.commit(), closed);
  assert.equal(requests.length, 0);
  const error = await kv.get(['a']).catch((e) => e);
  assert.ok(error instanceof KvError);

  const disposed = fakeKv().kv;
  disposed[Symbol.dispose]();
  await assert.rejects(disposed.get(['a']), closed);
  const asyncDisposed = fakeKv().kv;
  assert.equal(await asyncDisposed[Symbol.asyncDispose](), undefined);
  await assert.rejects(asyncDisposed.get(['a']), closed);
});

test('close() interrupts requests in flight and ends open watches', async () => {
  let arrived;
  const pending = new Promise((resolve) => (arrived = resolve));
  const { kv } = fakeKv((route, body, init) => {
    if (route === 'watch') return watchResponse([{ entries: [{ key: ['w'], value: null, version: null }], changed: [0] }], init.signal);
    arrived();
    return new Promise((resolve, reject) => init.signal.addEventListener('abort', () => reject(init.signal.reason)));
  });
  const reader = kv.watch([['w']]).getReader();
  assert.equal((await reader.read()).done, false);
  const next = reader.read(); // pending: the watch waits for a change
  const inFlight = kv.get(['slow']);
  await pending;
  kv.close();
  await assert.rejects(inFlight, { name: 'KvError', code: 'closed', message: /interrupted by kv\.close\(\); it may or may not have been applied/ });
  assert.deepEqual(await next, { done: true, value: undefined }, 'the watch stream closed');
});

test('AtomicOperation is exported, the class atomic() returns', () => {
  const kv = refusingKv();
  assert.ok(kv.atomic() instanceof AtomicOperation);
  assert.throws(() => new AtomicOperation(), typeError(/made by kv\.atomic\(\)/));
  assert.throws(() => new KvListIterator(), typeError(/made by kv\.list\(\)/));
});
