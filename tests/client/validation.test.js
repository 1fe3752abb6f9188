// Unit tests of js/index.js with an injected transport: what it refuses before
// sending, the wire form of keys, error mapping and the un-awaited commit() guard.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, KvError, KvU64 } from '../../js/index.js';

const ENDPOINT = 'https://kv.test';
const OPTIONS = { accessToken: 'token-1', region: 'eu-central-1', endpoint: ENDPOINT };
const VERSION = '0000000000000001' + '0000';

// A request would surface as KvError network_error, failing the TypeError assertions below.
function refusingKv() {
  return connect({ ...OPTIONS, fetch: () => assert.fail('the client sent a request it should have refused') });
}

function jsonResponse(body, status = 200) {
  return new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });
}

/** A kv whose requests are recorded and answered with `answer` (a Response or a JSON body, or a function making one). */
function recordingKv(answer, options = OPTIONS) {
  const requests = [];
  const fetch = async (url, init) => {
    requests.push({ url, init, body: JSON.parse(init.body) });
    const result = typeof answer === 'function' ? answer() : answer;
    return result instanceof Response ? result : jsonResponse(result);
  };
  return { kv: connect({ ...options, fetch }), requests };
}

const refusal = (message) => ({ name: 'TypeError', message });

test('connect() refuses missing or empty options', () => {
  for (const accessToken of [undefined, '', 42]) {
    assert.throws(() => connect({ ...OPTIONS, accessToken }), refusal(/accessToken as a non-empty string/));
  }
  for (const region of [undefined, '', null]) {
    assert.throws(() => connect({ ...OPTIONS, region }), refusal(/region as a non-empty string/));
  }
  assert.throws(() => connect(), refusal(/accessToken/));
  assert.throws(() => connect({ ...OPTIONS, fetch: 'fetch' }), refusal(/fetch function/));
});

test('connect() takes the endpoint from KV_ENDPOINT, or explains both ways to give it', async (t) => {
  const saved = process.env.KV_ENDPOINT;
  t.after(() => (saved === undefined ? delete process.env.KV_ENDPOINT : (process.env.KV_ENDPOINT = saved)));
  const { endpoint, ...withoutEndpoint } = OPTIONS;

  delete process.env.KV_ENDPOINT;
  assert.throws(() => connect(withoutEndpoint), refusal(/pass `endpoint`.*or set KV_ENDPOINT/));

  process.env.KV_ENDPOINT = 'https://from-env.test/';
  const { kv, requests } = recordingKv({ ok: true, deleted: false, version: VERSION }, withoutEndpoint);
  await kv.delete(['a']);
  assert.equal(requests[0].url, 'https://from-env.test/v1/delete');
  assert.equal(kv.region, 'eu-central-1');
});

test('keys must be non-empty arrays of allowed parts, named by position', async () => {
  const kv = refusingKv();
  const cases = [
    ['users', /^key must be a non-empty array of parts .*got "users"$/],
    [[], /^key must be a non-empty array .*got an empty array$/],
    [undefined, /^key must be a non-empty array .*got undefined$/],
    [['users', () => {}], /^key\[1\] is a function; key parts must be string, number, bigint, boolean or Uint8Array$/],
    [['users', null], /^key\[1\] is null; /],
    [[undefined], /^key\[0\] is undefined; /],
    [[Symbol('s')], /^key\[0\] is a symbol; /],
    [[{ id: 1 }], /^key\[0\] is an object; /],
    [[['nested']], /^key\[0\] is an array; /],
    [[new Uint16Array(2)], /^key\[0\] is a Uint16Array; /],
    [[new ArrayBuffer(2)], /^key\[0\] is an ArrayBuffer; /],
    [[new Date(0)], /^key\[0\] is a Date; /],
  ];
  for (const [key, message] of cases) {
    await assert.rejects(kv.get(key), refusal(message));
    await assert.rejects(kv.set(key, 1), refusal(message));
    await assert.rejects(kv.delete(key), refusal(message));
  }
  await assert.rejects(kv.getMany([['ok'], ['ok', 1n, () => {}]]), refusal(/^keys\[1\]\[2\] is a function; /));
});

test('getMany() takes 1 to 100 keys', async () => {
  const kv = refusingKv();
  await assert.rejects(kv.getMany([]), refusal('getMany() takes 1 to 100 keys, got 0; split larger reads'));
  await assert.rejects(kv.getMany(Array.from({ length: 101 }, (_, i) => [i])), refusal(/1 to 100 keys, got 101/));
  await assert.rejects(kv.getMany(['users', '1']), refusal(/^keys\[0\] must be a non-empty array/));
  await assert.rejects(kv.getMany(['users']), refusal(/^keys\[0\] must be a non-empty array/));
  await assert.rejects(kv.getMany(undefined), refusal('getMany() takes an array of keys, got undefined'));
});

test('values must be JSON, refused with the path of what is not', async () => {
  const kv = refusingKv();
  const cycle = { child: { items: [] } };
  cycle.child.items.push(cycle.child);
  class User {}
  const cases = [
    [undefined, /^value is undefined; values must be JSON: /],
    [{ address: { zip: undefined } }, /^value\.address\.zip is undefined; /],
    [{ tags: ['a', undefined] }, /^value\.tags\[1\] is undefined; /],
    [[1, , 3], /^value\[1\] is undefined; /],
    [{ 'first name': NaN }, /^value\["first name"\] is NaN; /],
    [{ n: Infinity }, /^value\.n is Infinity; /],
    [-Infinity, /^value is -Infinity; /],
    [{ onSave() {} }, /^value\.onSave is a function; /],
    [{ s: Symbol('s') }, /^value\.s is a symbol; /],
    [{ count: 1n }, /^value\.count is a bigint; /],
    [cycle, /^value\.child\.items\[0\] refers back to value\.child, a cycle; values must be JSON trees$/],
    [new Map(), /^value is a Map; /],
    [{ ids: new Set([1]) }, /^value\.ids is a Set; /],
    [{ data: new Uint8Array(1) }, /^value\.data is a Uint8Array; .*a whole value may also be a Uint8Array/],
    [new ArrayBuffer(1), /^value is an ArrayBuffer; /],
    [{ user: new User() }, /^value\.user is a User; .*an object with a toJSON method, like Date/],
  ];
  for (const [value, message] of cases) {
    await assert.rejects(kv.set(['k'], value), refusal(message));
  }
});

test('values are sent as JSON.stringify would write them, toJSON included', async () => {
  const shared = { x: 1 };
  const value = {
    when: new Date(Date.UTC(2024, 0, 2)),
    money: { toJSON: (name) => `12.50 (${name})` },
    twice: [shared, shared], // shared but not cyclic: allowed
    nested: [null, true, 'text', -1.5, { deep: [] }],
  };
  const { kv, requests } = recordingKv({ ok: true, version: VERSION });
  assert.deepEqual(await kv.set(['k'], value), { ok: true, version: VERSION, versionstamp: VERSION });
  assert.equal(requests[0].init.body, JSON.stringify({ key: ['k'], value }));
});

test('atomic() refuses bad checks and mutations at the call that adds them', () => {
  const operation = refusingKv().atomic();
  assert.throws(() => operation.check({ key: ['a'] }), refusal(/^checks\[0\]\.version is undefined; a version must be null .* 20 lowercase hex digits$/));
  assert.throws(() => operation.check({ key: ['a'], version: 'A'.repeat(20) }), refusal(/^checks\[0\]\.version is "A{20}"; /));
  assert.throws(() => operation.check({ key: ['a'], version: '0'.repeat(19) }), refusal(/^checks\[0\]\.version is "0{19}"; /));
  assert.throws(() => operation.check({ key: ['a'], version: 1 }), refusal(/^checks\[0\]\.version is 1; /));
  assert.throws(() => operation.check({ key: 'a', version: null }), refusal(/^checks\[0\]\.key must be a non-empty array/));
  assert.throws(() => operation.check(['a']), refusal(/^checks\[0\]\.key must be a non-empty array .*got undefined$/));
  assert.throws(() => operation.check(null), refusal('checks[0] must be an object {key, version} or {key, versionstamp}, got null'));
  operation.check({ key: ['a'], version: null }, { key: ['b'], version: VERSION });
  assert.throws(() => operation.check({ key: [() => {}], version: null }), refusal(/^checks\[2\]\.key\[0\] is a function; /));
  assert.throws(() => operation.set(['a'], { at: undefined }), refusal(/^mutations\[0\]\.value\.at is undefined; /));
  assert.throws(() => operation.set([], 1), refusal(/^mutations\[0\]\.key must be a non-empty array/));
  operation.set(['a'], 1);
  assert.throws(() => operation.delete([Symbol('s')]), refusal(/^mutations\[1\]\.key\[0\] is a symbol; /));
});

test('key parts go on the wire as the API table says', async () => {
  const { kv, requests } = recordingKv({ ok: true, version: VERSION });
  await kv.set(
    ['s', 42, -1.5, -0, NaN, Infinity, -Infinity, -12345678901234567890n, 0n, true, false, new Uint8Array([1, 2, 3, 4])],
    null,
  );
  assert.equal(
    requests[0].init.body,
    '{"key":["s",42,-1.5,0,{"number":"NaN"},{"number":"Infinity"},{"number":"-Infinity"},' +
      '{"bigint":"-12345678901234567890"},{"bigint":"0"},true,false,{"bytes":"AQIDBA=="}],"value":null}',
  );
});

test('bytes are standard base64 with padding, both ways', async () => {
  const samples = [
    [[], ''],
    [[255], '/w=='],
    [[1, 2], 'AQI='],
    [[1, 2, 3], 'AQID'],
    [[0, 0, 0, 0], 'AAAAAA=='],
    [[251, 255, 191], '+/+/'],
    [[104, 101, 108, 108, 111, 33, 0], 'aGVsbG8hAA=='],
  ];
  const keys = samples.map(([bytes]) => [new Uint8Array(bytes)]);
  const wireKeys = samples.map(([, base64]) => [{ bytes: base64 }]);
  const { kv, requests } = recordingKv({
    entries: wireKeys.map((key) => ({ key, value: null, version: null })),
  });
  const entries = await kv.getMany(keys);
  assert.deepEqual(requests[0].body, { keys: wireKeys });
  assert.deepEqual(
    entries.map((entry) => entry.key),
    keys,
  );
  // A view into a larger buffer encodes only its own bytes.
  await kv.get([new Uint8Array([9, 1, 2, 9]).subarray(1, 3)]);
  assert.deepEqual(requests[1].body.keys, [[{ bytes: 'AQI=' }]]);
});

test('response keys come back in JS types', async () => {
  const wireKey = ['s', 1, { number: 'NaN' }, { number: '-Infinity' }, { bigint: '-12345678901234567890' }, false, { bytes: 'AQI=' }];
  const { kv } = recordingKv({ entries: [{ key: wireKey, value: { name: 'n' }, version: VERSION }] });
  assert.deepEqual(await kv.get(['s']), {
    key: ['s', 1, NaN, -Infinity, -12345678901234567890n, false, new Uint8Array([1, 2])],
    value: { name: 'n' },
    version: VERSION,
    versionstamp: VERSION,
  });
});

test('requests follow the HTTP API: routes, headers and bodies', async () => {
  const { kv, requests } = recordingKv({ ok: true, version: VERSION }, { ...OPTIONS, endpoint: `${ENDPOINT}/` });
  await kv.atomic().check({ key: ['a'], version: null }).set(['a'], { n: 1 }).delete(['b']).commit();
  assert.equal(requests[0].url, `${ENDPOINT}/v1/atomic`);
  assert.equal(requests[0].init.method, 'POST');
  const { 'idempotency-key': idempotencyKey, ...headers } = requests[0].init.headers;
  assert.deepEqual(headers, {
    authorization: 'Bearer token-1',
    'kv-region': 'eu-central-1',
    'user-agent': 'own3d-kv-js/0.1.0',
    'content-type': 'application/json',
  });
  assert.match(idempotencyKey, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/, 'a write carries a random UUID');
  assert.deepEqual(requests[0].body, {
    checks: [{ key: ['a'], version: null }],
    mutations: [
      { type: 'set', key: ['a'], value: { n: 1 } },
      { type: 'delete', key: ['b'] },
    ],
  });
});

test('answers are mapped to the documented results', async () => {
  const missing = recordingKv({ entries: [{ key: ['a'], value: null, version: null }] });
  assert.deepEqual(await missing.kv.get(['a']), { key: ['a'], value: null, version: null, versionstamp: null });
  assert.deepEqual(missing.requests[0].body, { keys: [['a']] });

  const deleted = recordingKv({ ok: true, deleted: true, version: VERSION });
  assert.equal(await deleted.kv.delete(['a']), true);

  const refused = recordingKv({ ok: false, failedChecks: [0, 2] });
  assert.deepEqual(await refused.kv.atomic().commit(), { ok: false, failedChecks: [0, 2] });
});

test('an error answer becomes a KvError with the API code, status and message', async () => {
  const answer = jsonResponse({ error: { code: 'invalid_token', message: 'the token is not valid' } }, 401);
  const { kv } = recordingKv(answer);
  await assert.rejects(kv.get(['a']), (error) => {
    assert.ok(error instanceof KvError);
    assert.ok(error instanceof Error);
    assert.equal(error.name, 'KvError');
    assert.equal(error.code, 'invalid_token');
    assert.equal(error.status, 401);
    assert.equal(error.message, 'the token is not valid');
    return true;
  });
});

test('a non-JSON answer becomes KvError http_<status>', async () => {
  const { kv } = recordingKv(() => new Response('<html>Bad Gateway</html>', { status: 502 }), { ...OPTIONS, retry: false });
  await assert.rejects(kv.set(['a'], 1), { name: 'KvError', code: 'http_502', status: 502, message: /HTTP 502.*<html>Bad Gateway/ });
});

test('a network failure becomes KvError network_error with its cause', async () => {
  const cause = new TypeError('fetch failed');
  const kv = connect({ ...OPTIONS, fetch: async () => { throw cause; }, retry: { baseDelayMs: 1 } });
  await assert.rejects(kv.delete(['a']), (error) => {
    assert.ok(error instanceof KvError);
    assert.equal(error.code, 'network_error');
    assert.equal(error.status, null);
    assert.equal(error.cause, cause);
    assert.match(error.message, /POST https:\/\/kv\.test\/v1\/delete failed.*fetch failed/);
    return true;
  });
});

test('reading commit() results without await explains the missing await', async () => {
  const { kv } = recordingKv({ ok: true, version: VERSION });
  const res = kv.atomic().check({ key: ['users', '1'], version: null }).set(['users', '1'], {}).commit();
  for (const property of ['ok', 'version', 'versionstamp', 'failedChecks']) {
    assert.throws(
      () => res[property],
      refusal(`commit() returns a Promise: write \`const res = await kv.atomic()...commit()\` before reading res.${property}`),
    );
  }
  assert.ok(res instanceof Promise);
  const awaited = await res;
  assert.deepEqual(awaited, { ok: true, version: VERSION, versionstamp: VERSION });
  assert.equal(Object.getPrototypeOf(awaited), Object.prototype);
});

test('commit() still works as an ordinary Promise', async () => {
  const { kv } = recordingKv({ ok: false, failedChecks: [1] });
  const chained = kv.atomic().commit().then((result) => result.failedChecks);
  assert.equal(chained.ok, undefined, 'promises derived with then() are plain');
  assert.deepEqual(await chained, [1]);

  const failing = recordingKv(jsonResponse({ error: { code: 'too_many_checks', message: 'at most 100' } }, 400));
  const code = await failing.kv.atomic().commit().catch((error) => error.code);
  assert.equal(code, 'too_many_checks');
});

test('connect() refuses to run in a browser unless told it is safe', () => {
  globalThis.window = {};
  globalThis.document = {};
  try {
    assert.throws(() => connect(OPTIONS), /refuses to run in a browser[^]*dangerouslyAllowBrowser/);
    assert.ok(connect({ ...OPTIONS, dangerouslyAllowBrowser: true }));
  } finally {
    delete globalThis.window;
    delete globalThis.document;
  }
});

test('set options, counters and selectors are validated before sending', async () => {
  const kv = refusingKv();
  await assert.rejects(kv.set(['a'], 1, { expireIn: 0 }), { name: 'TypeError', message: /expireIn must be a positive whole number/ });
  await assert.rejects(kv.set(['a'], 1, { ttl: 5 }), { name: 'TypeError', message: /unknown option "ttl"/ });
  assert.throws(() => kv.atomic().sum(['n'], -1), { name: 'TypeError', message: /mutations\[0\]\.value/ });
  assert.throws(() => kv.atomic().max(['n'], 2 ** 53), TypeError);
  assert.throws(() => new KvU64(2n ** 64n), RangeError);
  assert.throws(() => kv.list({ prefix: 'users' }), { name: 'TypeError', message: /selector\.prefix must be an array/ });
  assert.throws(() => kv.list({ prefix: [] }, { batchSize: 1001 }), { name: 'TypeError', message: /batchSize/ });
  await assert.rejects(kv.count({ prefix: [], where: 1 }), { name: 'TypeError', message: /unknown field "where"/ });
});

test('counters and expiry travel in their wire form', async () => {
  const { kv, requests } = recordingKv({ ok: true, version: VERSION });
  await kv.atomic().sum(['n'], 2n ** 60n).min(['m'], new KvU64(5n)).set(['c'], new KvU64(7n), { expireIn: 1000 }).commit();
  assert.deepEqual(requests[0].body.mutations, [
    { type: 'sum', key: ['n'], value: '1152921504606846976' },
    { type: 'min', key: ['m'], value: '5' },
    { type: 'set', key: ['c'], value: '7', valueType: 'u64', expireIn: 1000 },
  ]);
});
