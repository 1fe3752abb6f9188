// The store's semantics end to end: the client and raw HTTP against the
// Worker in workerd.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { KvError } from '@own3d/kv';
import { call, connectNewStore, createStore, sharedEmulator } from '../helpers.js';

const VALUE_LIMIT = 16_384;
const KEY_LIMIT = 2_048;

let emulator;
let kv;
let store;

before(async () => {
  emulator = await sharedEmulator();
  ({ kv, store } = await connectNewStore(emulator));
});
after(() => emulator?.close());

// A string value whose JSON (with its quotes) is exactly `bytes` bytes, made
// of `unit` characters and ASCII padding.
function stringOfJsonBytes(bytes, unit) {
  const unitBytes = Buffer.byteLength(unit);
  const units = Math.floor((bytes - 2) / unitBytes);
  const text = unit.repeat(units) + 'x'.repeat(bytes - 2 - units * unitBytes);
  assert.equal(Buffer.byteLength(JSON.stringify(text)), bytes);
  return text;
}

describe('reads and writes', () => {
  test('a missing key has a null value and version', async () => {
    assert.deepEqual(await kv.get(['nothing', 'here']), { key: ['nothing', 'here'], value: null, version: null, versionstamp: null });
  });

  test('delete returns true, then false', async () => {
    await kv.set(['to-delete'], 1);
    assert.equal(await kv.delete(['to-delete']), true);
    assert.equal(await kv.delete(['to-delete']), false);
    assert.equal((await kv.get(['to-delete'])).value, null);
  });

  test('versions strictly increase, one per commit', async () => {
    const versions = [];
    for (let i = 0; i < 5; i++) versions.push((await kv.set(['versioned'], i)).version);
    for (let i = 1; i < versions.length; i++) assert.ok(versions[i] > versions[i - 1], versions.join(' '));
    const entry = await kv.get(['versioned']);
    assert.equal(entry.version, versions.at(-1));
    const commit = await kv.atomic().set(['v', 1], 1).set(['v', 2], 2).commit();
    const [one, two] = await kv.getMany([['v', 1], ['v', 2]]);
    assert.equal(one.version, commit.version);
    assert.equal(two.version, commit.version);
  });

  test('getMany answers in the order asked, repeats included', async () => {
    await kv.set(['many', 'a'], 'A');
    const entries = await kv.getMany([['many', 'b'], ['many', 'a'], ['many', 'b']]);
    assert.deepEqual(entries.map((entry) => entry.value), [null, 'A', null]);
    assert.deepEqual(entries[1].key, ['many', 'a']);
  });

  test('values are any JSON and come back equal', async () => {
    const values = [null, true, 0, -1.5, 1e300, 'text', [], {}, { nested: [1, { deep: ['é', '😀'] }] }];
    for (const [i, value] of values.entries()) {
      await kv.set(['json', i], value);
      assert.deepEqual((await kv.get(['json', i])).value, value);
    }
  });
});

describe('keys', () => {
  test('separators inside key parts never collide', async () => {
    const keys = [['a/b'], ['a', 'b'], ['a:b'], ['a', ':b'], ['a\u0000', 'b'], ['a', '\u0000b'], ['1'], [1], [1n],
      ['true'], [true], [new Uint8Array([0x61])], ['a']];
    for (const [i, key] of keys.entries()) await kv.set(['sep', ...key], i);
    const entries = await kv.getMany(keys.map((key) => ['sep', ...key]));
    assert.deepEqual(entries.map((entry) => entry.value), keys.map((_, i) => i));
  });

  test('every golden-vector key round-trips through the client', async () => {
    const { vectors } = JSON.parse(readFileSync(new URL('../vectors/key-encoding.json', import.meta.url), 'utf8'));
    // The wire form to JS, written independently of the client.
    const toJs = (part) => {
      if (typeof part !== 'object') return part;
      if ('bytes' in part) return new Uint8Array(Buffer.from(part.bytes, 'base64'));
      if ('bigint' in part) return BigInt(part.bigint);
      return Number(part.number);
    };
    for (const { key, hex } of vectors) {
      const jsKey = key.map(toJs);
      await kv.set(['vector', ...jsKey], hex);
      const entry = await kv.get(['vector', ...jsKey]);
      assert.equal(entry.value, hex, `key ${JSON.stringify(key)}`);
      const expected = ['vector', ...jsKey.map((part) => (Object.is(part, -0) ? 0 : part))];
      // A number that is not exact in float64 comes back as its float64 value.
      assert.deepEqual(entry.key, expected.map((part) => (typeof part === 'number' ? Number(part) : part)));
    }
  });

  test(`a key of ${KEY_LIMIT} encoded bytes is accepted, one more is refused`, async () => {
    // A string part encodes to its bytes plus a type byte and a terminator.
    await kv.set(['k'.repeat(KEY_LIMIT - 2)], 'fits');
    await assert.rejects(kv.set(['k'.repeat(KEY_LIMIT - 1)], 'over'), (error) => {
      assert.ok(error instanceof KvError);
      assert.equal(error.code, 'key_too_large');
      assert.equal(error.status, 400);
      assert.match(error.message, /2048/);
      return true;
    });
  });
});

describe('value limit', () => {
  for (const [name, unit] of [['ASCII', 'a'], ['2-byte UTF-8', 'é'], ['3-byte UTF-8', '中'], ['4-byte UTF-8', '😀']]) {
    test(`${name}: ${VALUE_LIMIT} bytes are stored, ${VALUE_LIMIT + 1} refused`, async () => {
      const fits = stringOfJsonBytes(VALUE_LIMIT, unit);
      await kv.set(['limit', name], fits);
      assert.equal((await kv.get(['limit', name])).value, fits);
      const over = stringOfJsonBytes(VALUE_LIMIT + 1, unit);
      await assert.rejects(kv.set(['limit', name], over), (error) => {
        assert.equal(error.code, 'value_too_large');
        assert.equal(error.status, 413);
        assert.match(error.message, /16385 bytes/);
        assert.match(error.message, /16384/);
        return true;
      });
      assert.equal((await kv.get(['limit', name])).value, fits, 'the refused set changed nothing');
    });
  }
});

describe('atomic commits', () => {
  test('a failed check names the check and writes nothing', async () => {
    const { version } = await kv.set(['cas', 'a'], 1);
    const result = await kv.atomic()
      .check({ key: ['cas', 'a'], version })
      .check({ key: ['cas', 'b'], version })
      .check({ key: ['cas', 'a'], version: null })
      .set(['cas', 'a'], 2)
      .set(['cas', 'c'], 3)
      .commit();
    assert.deepEqual(result, { ok: false, failedChecks: [1, 2] });
    assert.equal((await kv.get(['cas', 'a'])).value, 1);
    assert.equal((await kv.get(['cas', 'c'])).value, null);
  });

  test('all or nothing when a later mutation is over a limit', async () => {
    const atomic = kv.atomic();
    for (let i = 0; i < 10; i++) atomic.set(['aon', i], i);
    atomic.set(['aon', 'big'], 'x'.repeat(VALUE_LIMIT));
    await assert.rejects(atomic.commit(), { code: 'value_too_large' });
    const entries = await kv.getMany(Array.from({ length: 10 }, (_, i) => ['aon', i]));
    assert.ok(entries.every((entry) => entry.value === null));
  });

  test('all or nothing when the last mutation is malformed (raw HTTP)', async () => {
    const mutations = Array.from({ length: 999 }, (_, i) => ({ type: 'set', key: ['raw', i], value: i }));
    mutations.push({ type: 'set', key: ['raw', null], value: 1 });
    const response = await call(emulator.url, '/v1/atomic', { token: store.accessToken, body: { mutations } });
    assert.equal(response.status, 400);
    assert.equal(response.body.error.code, 'invalid_key');
    assert.match(response.body.error.message, /mutations\[999\]\.key\[1\]/);
    const read = await call(emulator.url, '/v1/get', { token: store.accessToken, body: { keys: [['raw', 0], ['raw', 998]] } });
    assert.deepEqual(read.body.entries.map((entry) => entry.value), [null, null]);
  });

  test('24 concurrent check-and-set incrementers reach exactly 24', async () => {
    const key = ['counter'];
    await kv.set(key, 0);
    let conflicts = 0;
    // Each commit also marks its incrementer done, so that an answer lost
    // on the way back (the local dev proxy can answer 503 under load) is
    // resolved by reading the mark instead of incrementing twice.
    const increment = async (_, id) => {
      for (;;) {
        const { value, version } = await kv.get(key);
        try {
          const result = await kv.atomic().check({ key, version }).set(key, value + 1).set(['done', id], true).commit();
          if (result.ok) return;
          conflicts++;
        } catch (error) {
          if (error.code !== 'http_503') throw error;
          if ((await kv.get(['done', id])).value === true) return;
        }
      }
    };
    await Promise.all(Array.from({ length: 24 }, increment));
    assert.equal((await kv.get(key)).value, 24);
    console.log(`# 24 incrementers, ${conflicts} check conflicts retried`);
  });
});

describe('HTTP surface', () => {
  const get = (options) => call(emulator.url, '/v1/get', { body: { keys: [['a']] }, ...options });

  test('requests without a valid token are refused with 401', async () => {
    assert.equal((await get({})).body.error.code, 'missing_token');
    assert.equal((await get({ headers: { authorization: 'Basic abc' } })).body.error.code, 'missing_token');
    const unknown = await get({ token: '00000000-0000-4000-8000-000000000000' });
    assert.equal(unknown.status, 401);
    assert.equal(unknown.body.error.code, 'invalid_token');
    assert.equal((await get({ token: 'not-a-token' })).status, 401);
  });

  test('a store token does not open admin routes; the admin token is checked', async () => {
    const asStore = await call(emulator.url, '/v1/admin/stores', { token: store.accessToken, body: { region: 'eu-central-1' } });
    assert.equal(asStore.status, 401);
    assert.equal(asStore.body.error.code, 'invalid_token');
    const anonymous = await call(emulator.url, '/v1/admin/stores', { body: { region: 'eu-central-1' } });
    assert.equal(anonymous.body.error.code, 'missing_token');
  });

  test('an unknown region is refused with the list of supported ones', async () => {
    const response = await call(emulator.url, '/v1/admin/stores', { token: emulator.adminToken, body: { region: 'mars-1' } });
    assert.equal(response.status, 400);
    assert.equal(response.body.error.code, 'invalid_region');
    assert.match(response.body.error.message, /eu-central-1/);
    assert.match(response.body.error.message, /us-east-1/);
  });

  test('new stores answer with id, token, region and free-tier limits', async () => {
    const created = await createStore(emulator, 'us-west-2');
    assert.match(created.accessToken, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.equal(created.region, 'us-west-2');
    assert.deepEqual(created.limits, { opsPerMonth: 10_000, storageBytes: 10_485_760 });
  });

  test('stores are isolated from each other', async () => {
    const other = await connectNewStore(emulator);
    await kv.set(['isolated'], 'mine');
    assert.equal((await other.kv.get(['isolated'])).value, null);
    await other.kv.set(['isolated'], 'theirs');
    assert.equal((await kv.get(['isolated'])).value, 'mine');
  });

  test('client mistakes get specific 4xx codes, never a 5xx', async () => {
    const token = store.accessToken;
    const cases = [
      [{ body: '{"keys": [' }, 400, 'invalid_json'],
      [{ body: { keys: [['a']], extra: 1 } }, 400, 'invalid_request'],
      [{ body: { keys: [] } }, 400, 'too_many_keys'],
      [{ body: { keys: Array.from({ length: 101 }, (_, i) => [i]) } }, 400, 'too_many_keys'],
      [{ body: `{"keys":[${'['.repeat(10_000)}${']'.repeat(10_000)}]}` }, 400, 'nesting_too_deep'],
      [{ body: { keys: [['a']] }, headers: { 'content-type': 'text/plain' } }, 415, 'unsupported_media_type'],
      [{ body: 'x'.repeat(3 * 1024 * 1024) }, 413, 'request_too_large'],
    ];
    for (const [options, status, code] of cases) {
      const response = await call(emulator.url, '/v1/get', { token, ...options });
      assert.equal(response.status, status, `${code}: ${JSON.stringify(response.body)}`);
      assert.equal(response.body.error.code, code);
      assert.ok(response.body.error.message.length > 10);
    }
    const checks = Array.from({ length: 101 }, () => ({ key: ['a'], version: null }));
    assert.equal((await call(emulator.url, '/v1/atomic', { token, body: { checks } })).body.error.code, 'too_many_checks');
    const badVersion = await call(emulator.url, '/v1/atomic', { token, body: { checks: [{ key: ['a'], version: '1' }] } });
    assert.equal(badVersion.body.error.code, 'invalid_version');
    const route = await call(emulator.url, '/v1/nope', { token, body: {} });
    assert.equal(route.status, 404);
    assert.equal(route.body.error.code, 'not_found');
    const method = await call(emulator.url, '/v1/get', { method: 'GET', token });
    assert.equal(method.status, 405);
    assert.equal(method.headers.get('allow'), 'POST');
  });

  test('responses carry no CORS headers (backend use only)', async () => {
    const response = await get({ token: store.accessToken, headers: { origin: 'https://example.com' } });
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('access-control-allow-origin'), null);
  });
});
