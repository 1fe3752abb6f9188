// Hostile input over HTTP, table driven: every malformed, oversized or
// unauthorized request gets its own 4xx with the error code of
// docs/http-api.md, never a 5xx; the store is unchanged afterwards (known
// entries keep their values and versions, and no hidden commit took a
// version); the next valid request still works; no response carries a
// token.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { call, connectNewStore, sharedEmulator } from '../helpers.js';

const KEY_LIMIT = 2_048;
const VALUE_LIMIT = 16_384;
const MiB = 1024 * 1024;

let emulator;
let store;
let known; // entries written before the cases, as read back

const KNOWN_KEYS = [['known', 'a'], ['known', 1], ['known', true]];
// A version string plus one commit: what the next commit must get.
const nextVersion = (version) => `${(BigInt(`0x${version.slice(0, 16)}`) + 1n).toString(16).padStart(16, '0')}0000`;

before(async () => {
  emulator = await sharedEmulator();
  let kv;
  ({ kv, store } = await connectNewStore(emulator));
  const atomic = kv.atomic();
  KNOWN_KEYS.forEach((key, i) => atomic.set(key, { i, text: 'é😀' }));
  await atomic.commit();
  known = await kv.getMany(KNOWN_KEYS);
});
after(() => emulator?.close());

/**
 * Sends one raw request. `auth`: 'store' (default), 'admin', 'none' or a
 * literal header value; `contentType` null sends none.
 */
async function send({ path = '/v1/get', method = 'POST', auth = 'store', contentType = 'application/json', body, headers = {} }) {
  const authorization = auth === 'store' ? `Bearer ${store.accessToken}`
    : auth === 'admin' ? `Bearer ${emulator.adminToken}`
      : auth === 'none' ? undefined : auth;
  const response = await fetch(`${emulator.url}${path}`, {
    method,
    headers: {
      ...(authorization === undefined ? {} : { authorization }),
      ...(contentType === null ? {} : { 'content-type': contentType }),
      ...headers,
    },
    body: body === undefined || typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, text };
}

const utf8 = (...pieces) => Buffer.concat(pieces.map((piece) => (typeof piece === 'string' ? Buffer.from(piece) : Buffer.from(piece))));
const nested = (depth, inner = '1') => '['.repeat(depth) + inner + ']'.repeat(depth);
const longKey = ['k'.repeat(KEY_LIMIT - 1)]; // 2,049 bytes encoded: type byte, data, terminator
const bigValue = 'v'.repeat(VALUE_LIMIT); // 16,386 bytes as JSON
const setOf = (key, value = 1) => ({ type: 'set', key, value });

// [name, request, status, code]. Requests default to POST /v1/get with the
// store's token and Content-Type: application/json.
const CASES = [
  // Authorization
  ['no Authorization header', { auth: 'none', body: { keys: [['a']] } }, 401, 'missing_token'],
  ['Basic scheme', { auth: 'Basic dXNlcjpwYXNz', body: { keys: [['a']] } }, 401, 'missing_token'],
  ['Bearer without a token', { auth: 'Bearer', body: { keys: [['a']] } }, 401, 'missing_token'],
  ['Bearer with two words', { auth: 'Bearer abc def', body: { keys: [['a']] } }, 401, 'missing_token'],
  ['another scheme with the token', { auth: 'Token STORE', body: { keys: [['a']] } }, 401, 'missing_token'],
  ['a token not in UUID form', { auth: 'Bearer not-a-token', body: { keys: [['a']] } }, 401, 'invalid_token'],
  ['the token in upper case', { auth: 'Bearer UPPER', body: { keys: [['a']] } }, 401, 'invalid_token'],
  ['the token with a character more', { auth: 'Bearer STOREx', body: { keys: [['a']] } }, 401, 'invalid_token'],
  ['an unknown token', { auth: 'Bearer 00000000-0000-4000-8000-000000000000', body: { keys: [['a']] } }, 401, 'invalid_token'],
  ['the admin token on a store route', { auth: 'admin', body: { keys: [['a']] } }, 401, 'invalid_token'],
  ['a 64 KiB token', { auth: `Bearer ${'a'.repeat(64 * 1024)}`, body: { keys: [['a']] } }, 401, 'invalid_token'],
  ['admin route without a token', { path: '/v1/admin/stores', auth: 'none', body: { region: 'eu-central-1' } }, 401, 'missing_token'],
  ['admin route with the store token', { path: '/v1/admin/stores', body: { region: 'eu-central-1' } }, 401, 'invalid_token'],
  ['admin route with a wrong token', { path: '/v1/admin/stores', auth: 'Bearer wrong', body: { region: 'eu-central-1' } }, 401, 'invalid_token'],
  ['admin route with a malformed header', { path: '/v1/admin/stores', auth: 'Bearer a b', body: { region: 'eu-central-1' } }, 401, 'missing_token'],

  // Content types
  ['no Content-Type', { contentType: null, body: Buffer.from('{"keys":[["a"]]}') }, 415, 'unsupported_media_type'],
  ['text/plain', { path: '/v1/set', contentType: 'text/plain', body: { key: ['a'], value: 1 } }, 415, 'unsupported_media_type'],
  ['application/jsonx', { path: '/v1/delete', contentType: 'application/jsonx', body: { key: ['a'] } }, 415, 'unsupported_media_type'],
  ['application/json-patch+json', { path: '/v1/atomic', contentType: 'application/json-patch+json', body: {} }, 415, 'unsupported_media_type'],
  ['form data', { contentType: 'application/x-www-form-urlencoded', body: 'keys=a' }, 415, 'unsupported_media_type'],
  ['admin route with text/plain', { path: '/v1/admin/stores', auth: 'admin', contentType: 'text/plain', body: { region: 'eu-central-1' } }, 415, 'unsupported_media_type'],

  // Routes and methods
  ['unknown route', { path: '/v1/nope', body: {} }, 404, 'not_found'],
  ['root', { path: '/', body: {} }, 404, 'not_found'],
  ['another API version', { path: '/v2/get', body: { keys: [['a']] } }, 404, 'not_found'],
  ['route in upper case', { path: '/v1/GET', body: { keys: [['a']] } }, 404, 'not_found'],
  ['route with a trailing slash', { path: '/v1/get/', body: { keys: [['a']] } }, 404, 'not_found'],
  ['route with a suffix', { path: '/v1/get/more', body: { keys: [['a']] } }, 404, 'not_found'],
  ['double slash', { path: '//v1/get', body: { keys: [['a']] } }, 404, 'not_found'],
  ['the core\'s internal set_credential', { path: '/v1/set_credential', body: { credential: '0'.repeat(64) } }, 404, 'not_found'],
  ['the core\'s internal create', { path: '/v1/create', body: { credential: '0'.repeat(64) } }, 404, 'not_found'],
  ['the core\'s internal configure', { path: '/v1/configure', body: { limits: { opsPerMonth: null } } }, 404, 'not_found'],
  ['GET a store route', { method: 'GET', contentType: null }, 405, 'method_not_allowed'],
  ['PUT a store route', { path: '/v1/set', method: 'PUT', body: { key: ['a'], value: 1 } }, 405, 'method_not_allowed'],
  ['DELETE a store route', { path: '/v1/delete', method: 'DELETE', contentType: null }, 405, 'method_not_allowed'],
  ['PATCH a store route', { path: '/v1/atomic', method: 'PATCH', body: {} }, 405, 'method_not_allowed'],
  ['OPTIONS a store route', { method: 'OPTIONS', contentType: null }, 405, 'method_not_allowed'],
  ['HEAD a store route', { method: 'HEAD', contentType: null }, 405, null],
  ['POST the health route', { path: '/v1/health', body: {} }, 405, 'method_not_allowed'],
  ['PATCH the admin route', { path: '/v1/admin/stores', method: 'PATCH', auth: 'admin', body: { region: 'eu-central-1' } }, 405, 'method_not_allowed'],

  // Malformed JSON
  ...['/v1/get', '/v1/set', '/v1/delete', '/v1/atomic', '/v1/admin/stores'].flatMap((path) => [
    [`${path}: empty body`, { path, auth: path.includes('admin') ? 'admin' : 'store', body: '' }, 400, 'invalid_json'],
    [`${path}: truncated`, { path, auth: path.includes('admin') ? 'admin' : 'store', body: '{"keys":[["a"]' }, 400, 'invalid_json'],
    [`${path}: trailing comma`, { path, auth: path.includes('admin') ? 'admin' : 'store', body: '{"key":["a"],}' }, 400, 'invalid_json'],
    [`${path}: single quotes`, { path, auth: path.includes('admin') ? 'admin' : 'store', body: "{'key':['a']}" }, 400, 'invalid_json'],
    [`${path}: two documents`, { path, auth: path.includes('admin') ? 'admin' : 'store', body: '{}{}' }, 400, 'invalid_json'],
    [`${path}: a byte order mark`, { path, auth: path.includes('admin') ? 'admin' : 'store', body: '\ufeff{}' }, 400, 'invalid_json'],
    [`${path}: NaN`, { path, auth: path.includes('admin') ? 'admin' : 'store', body: 'NaN' }, 400, 'invalid_json'],
    [`${path}: UTF-16`, { path, auth: path.includes('admin') ? 'admin' : 'store', body: Buffer.from('{"key":["a"],"value":1}', 'utf16le') }, 400, 'invalid_json'],
  ]),

  // Invalid UTF-8 and Unicode
  ['0xFF in a key', { path: '/v1/set', body: utf8('{"key":["a', [0xff], '"],"value":1}') }, 400, 'invalid_json'],
  ['overlong encoding in a key', { path: '/v1/delete', body: utf8('{"key":["', [0xc0, 0xaf], '"]}') }, 400, 'invalid_json'],
  ['UTF-8 encoded surrogate in a key', { body: utf8('{"keys":[["', [0xed, 0xa0, 0x80], '"]]}') }, 400, 'invalid_json'],
  ['code point above U+10FFFF in a value', { path: '/v1/set', body: utf8('{"key":["a"],"value":"', [0xf4, 0x90, 0x80, 0x80], '"}') }, 400, 'invalid_json'],
  ['truncated sequence in a value', { path: '/v1/set', body: utf8('{"key":["a"],"value":"x', [0xe2, 0x82], '"}') }, 400, 'invalid_json'],
  ['continuation byte alone in an atomic value', { path: '/v1/atomic', body: utf8('{"mutations":[{"type":"set","key":["a"],"value":"', [0x80], '"}]}') }, 400, 'invalid_json'],
  ['invalid UTF-8 outside strings', { body: utf8('{"keys":[["a"]]', [0xff], '}') }, 400, 'invalid_json'],
  ['lone surrogate escape in a key', { path: '/v1/set', body: '{"key":["\\ud800"],"value":1}' }, 400, 'invalid_json'],
  ['lone surrogate escape in a value', { path: '/v1/set', body: '{"key":["a"],"value":"\\udc00x"}' }, 400, 'invalid_json'],
  ['invalid UTF-8 in the admin body', { path: '/v1/admin/stores', auth: 'admin', body: utf8('{"region":"eu-central-1', [0xff], '"}') }, 400, 'invalid_json'],

  // Wrong JSON types: get
  ...[[], 'keys', 1, null, true].map((body) => [`get: a ${JSON.stringify(body)} body`, { body: JSON.stringify(body) }, 400, 'invalid_request']),
  ['get: keys missing', { body: {} }, 400, 'invalid_request'],
  ['get: an unknown field', { body: { keys: [['a']], key: ['a'] } }, 400, 'invalid_request'],
  ...[{}, 'a', 1, null, true].map((keys) => [`get: keys ${JSON.stringify(keys)}`, { body: { keys } }, 400, 'invalid_request']),
  ...['a', 1, null, {}, [], true].map((key) => [`get: key ${JSON.stringify(key)}`, { body: { keys: [key] } }, 400, 'invalid_key']),
  ...[null, [], {}, { bytes: 1 }, { bytes: '!!!!' }, { bytes: 'AR==' }, { bigint: '1.5' }, { bigint: '01' }, { bigint: '-0' },
    { bigint: 1 }, { bigint: `1${'0'.repeat(700)}` }, { number: 'nan' }, { number: 1 }, { bytes: 'AA==', extra: 1 }, { date: '2020' }]
    .map((part) => [`get: key part ${JSON.stringify(part).slice(0, 40)}`, { body: { keys: [['a', part]] } }, 400, 'invalid_key']),
  ['get: no keys', { body: { keys: [] } }, 400, 'too_many_keys'],
  ['get: 101 keys', { body: { keys: Array.from({ length: 101 }, (_, i) => [i]) } }, 400, 'too_many_keys'],
  ['get: a key over 2,048 bytes', { body: { keys: [['a'], longKey] } }, 400, 'key_too_large'],

  // Wrong JSON types: set
  ...[[], 'x', 1, null, false].map((body) => [`set: a ${JSON.stringify(body)} body`, { path: '/v1/set', body: JSON.stringify(body) }, 400, 'invalid_request']),
  ['set: key missing', { path: '/v1/set', body: { value: 1 } }, 400, 'invalid_request'],
  ['set: value missing', { path: '/v1/set', body: { key: ['a'] } }, 400, 'invalid_request'],
  ['set: an unknown field', { path: '/v1/set', body: { key: ['a'], value: 1, versionstamp: 'x' } }, 400, 'invalid_request'],
  ...['a', 1, null, {}, [], true].map((key) => [`set: key ${JSON.stringify(key)}`, { path: '/v1/set', body: { key, value: 1 } }, 400, 'invalid_key']),
  ['set: a key over 2,048 bytes', { path: '/v1/set', body: { key: longKey, value: 1 } }, 400, 'key_too_large'],
  ['set: a value over 16 KiB', { path: '/v1/set', body: { key: ['a'], value: bigValue } }, 413, 'value_too_large'],

  // Wrong JSON types: delete
  ...[[], 'x', 1, null, true].map((body) => [`delete: a ${JSON.stringify(body)} body`, { path: '/v1/delete', body: JSON.stringify(body) }, 400, 'invalid_request']),
  ['delete: key missing', { path: '/v1/delete', body: {} }, 400, 'invalid_request'],
  ['delete: with a value', { path: '/v1/delete', body: { key: ['a'], value: 1 } }, 400, 'invalid_request'],
  ...['a', 1, null, {}, [], true].map((key) => [`delete: key ${JSON.stringify(key)}`, { path: '/v1/delete', body: { key } }, 400, 'invalid_key']),
  ['delete: a key over 2,048 bytes', { path: '/v1/delete', body: { key: longKey } }, 400, 'key_too_large'],

  // Wrong JSON types: atomic
  ...[[], 'x', 1, null, true].map((body) => [`atomic: a ${JSON.stringify(body)} body`, { path: '/v1/atomic', body: JSON.stringify(body) }, 400, 'invalid_request']),
  ['atomic: an unknown field', { path: '/v1/atomic', body: { checks: [], mutations: [], commit: true } }, 400, 'invalid_request'],
  ...['checks', 'mutations'].flatMap((field) => [{}, 'x', 1, null, true].map((value) =>
    [`atomic: ${field} ${JSON.stringify(value)}`, { path: '/v1/atomic', body: { [field]: value } }, 400, 'invalid_request'])),
  ...['x', 1, null, [], true].map((check) => [`atomic: check ${JSON.stringify(check)}`, { path: '/v1/atomic', body: { checks: [check] } }, 400, 'invalid_request']),
  ['atomic: check without a key', { path: '/v1/atomic', body: { checks: [{ version: null }] } }, 400, 'invalid_request'],
  ['atomic: check without a version', { path: '/v1/atomic', body: { checks: [{ key: ['a'] }] } }, 400, 'invalid_request'],
  ['atomic: check with an unknown field', { path: '/v1/atomic', body: { checks: [{ key: ['a'], version: null, versionstamp: null }] } }, 400, 'invalid_request'],
  ...['a', 1, null, {}, []].map((key) => [`atomic: check key ${JSON.stringify(key)}`, { path: '/v1/atomic', body: { checks: [{ key, version: null }] } }, 400, 'invalid_key']),
  ['atomic: check key over 2,048 bytes', { path: '/v1/atomic', body: { checks: [{ key: longKey, version: null }] } }, 400, 'key_too_large'],
  ...[1, true, {}, [], '', '1', '0'.repeat(19), '0'.repeat(21), `${'0'.repeat(19)}A`, `${'0'.repeat(19)}g`, ` ${'0'.repeat(19)}`]
    .map((version) => [`atomic: version ${JSON.stringify(version)}`, { path: '/v1/atomic', body: { checks: [{ key: ['a'], version }] } }, 400, 'invalid_version']),
  ...['x', 1, null, [], true].map((mutation) => [`atomic: mutation ${JSON.stringify(mutation)}`, { path: '/v1/atomic', body: { mutations: [mutation] } }, 400, 'invalid_request']),
  ['atomic: mutation without a type', { path: '/v1/atomic', body: { mutations: [{ key: ['a'], value: 1 }] } }, 400, 'invalid_request'],
  ...[1, null, 'put', 'SET', ['set']].map((type) => [`atomic: mutation type ${JSON.stringify(type)}`, { path: '/v1/atomic', body: { mutations: [{ type, key: ['a'], value: 1 }] } }, 400, 'invalid_request']),
  ['atomic: mutation without a key', { path: '/v1/atomic', body: { mutations: [{ type: 'delete' }] } }, 400, 'invalid_request'],
  ['atomic: set without a value', { path: '/v1/atomic', body: { mutations: [{ type: 'set', key: ['a'] }] } }, 400, 'invalid_request'],
  ['atomic: delete with a value', { path: '/v1/atomic', body: { mutations: [{ type: 'delete', key: ['a'], value: 1 }] } }, 400, 'invalid_request'],
  ['atomic: mutation with an unknown field', { path: '/v1/atomic', body: { mutations: [{ ...setOf(['a']), sum: 1 }] } }, 400, 'invalid_request'],
  ...['a', 1, null, {}, []].map((key) => [`atomic: mutation key ${JSON.stringify(key)}`, { path: '/v1/atomic', body: { mutations: [setOf(key)] } }, 400, 'invalid_key']),
  ['atomic: mutation key over 2,048 bytes', { path: '/v1/atomic', body: { mutations: [setOf(longKey)] } }, 400, 'key_too_large'],
  ['atomic: 101 checks', { path: '/v1/atomic', body: { checks: Array.from({ length: 101 }, (_, i) => ({ key: [i], version: null })) } }, 400, 'too_many_checks'],
  ['atomic: 1,001 mutations', { path: '/v1/atomic', body: { mutations: Array.from({ length: 1001 }, (_, i) => setOf([i])) } }, 400, 'too_many_mutations'],
  ['atomic: a value over 16 KiB', { path: '/v1/atomic', body: { mutations: [setOf(['a']), setOf(['b'], bigValue)] } }, 413, 'value_too_large'],
  ['atomic: over 800 KiB in all', { path: '/v1/atomic', body: { mutations: Array.from({ length: 60 }, (_, i) => setOf(['big', i], bigValue.slice(10))) } }, 413, 'commit_too_large'],
  ['atomic: a bad mutation after 999 good ones', { path: '/v1/atomic', body: { mutations: [...Array.from({ length: 999 }, (_, i) => setOf(['many', i])), setOf(['many', null])] } }, 400, 'invalid_key'],

  // Wrong JSON types: admin
  ...[[], 'x', 1, null, true].map((body) => [`admin: a ${JSON.stringify(body)} body`, { path: '/v1/admin/stores', auth: 'admin', body: JSON.stringify(body) }, 400, 'invalid_request']),
  ['admin: an unknown field', { path: '/v1/admin/stores', auth: 'admin', body: { region: 'eu-central-1', colour: 'red' } }, 400, 'invalid_request'],
  ...[undefined, 1, null, true, {}, ['eu-central-1'], 'mars-1', 'EU-CENTRAL-1', 'toString', '__proto__']
    .map((region) => [`admin: region ${JSON.stringify(region)}`, { path: '/v1/admin/stores', auth: 'admin', body: { region } }, 400, 'invalid_region']),

  // Nesting
  ['nesting 10,000 deep in get keys', { body: `{"keys":${nested(10_000)}}` }, 400, 'nesting_too_deep'],
  ['nesting 10,000 deep in a value', { path: '/v1/set', body: `{"key":["a"],"value":${nested(10_000)}}` }, 400, 'nesting_too_deep'],
  ['nesting 10,000 deep objects in a mutation', { path: '/v1/atomic', body: `{"mutations":[{"type":"set","key":["a"],"value":${'{"a":'.repeat(10_000)}1${'}'.repeat(10_000)}}]}` }, 400, 'nesting_too_deep'],
  ['nesting 900,000 deep in a key', { path: '/v1/delete', body: `{"key":${nested(900_000)}}` }, 400, 'nesting_too_deep'],
  ['nesting 65 deep (one over the limit)', { path: '/v1/set', body: `{"key":["a"],"value":${nested(64)}}` }, 400, 'nesting_too_deep'],
  ['nesting 10,000 deep in the admin body', { path: '/v1/admin/stores', auth: 'admin', body: `{"region":${nested(10_000)}}` }, 400, 'invalid_region'],

  // Bodies over the limits
  ['a 3 MiB get', { body: `{"keys":[["${'x'.repeat(3 * MiB)}"]]}` }, 413, 'request_too_large'],
  ['a 3 MiB set of whitespace', { path: '/v1/set', body: `{"key":["a"],${' '.repeat(3 * MiB)}"value":1}` }, 413, 'request_too_large'],
  ['a 10 MiB atomic', { path: '/v1/atomic', body: Buffer.alloc(10 * MiB, 0x20) }, 413, 'request_too_large'],
  ['a 40 MiB delete', { path: '/v1/delete', body: Buffer.alloc(40 * MiB, 0x5b) }, 413, 'request_too_large'],
];

async function expectStoreUnchanged() {
  // The known keys' parts are strings, numbers and booleans: their wire form is themselves.
  const response = await call(emulator.url, '/v1/get', { token: store.accessToken, body: { keys: KNOWN_KEYS } });
  assert.equal(response.status, 200, 'the next valid request works');
  assert.deepEqual(response.body.entries.map((e) => [e.value, e.version]), known.map((e) => [e.value, e.version]));
}

describe('hostile requests are refused with their own 4xx and change nothing', () => {
  for (const [name, request, status, code] of CASES) {
    test(name, async () => {
      const resolved = { ...request };
      if (typeof resolved.auth === 'string') {
        resolved.auth = resolved.auth.replace('STORE', store.accessToken).replace('UPPER', store.accessToken.toUpperCase());
      }
      const response = await send(resolved);
      assert.ok(response.status < 500, `a ${response.status} (no 5xx for a client's mistake): ${response.text.slice(0, 300)}`);
      assert.equal(response.status, status, response.text.slice(0, 300));
      if (code !== null) {
        const body = JSON.parse(response.text);
        assert.equal(body.error?.code, code, response.text.slice(0, 300));
        assert.equal(typeof body.error.message, 'string');
        assert.ok(body.error.message.length > 10, 'the message says what is wrong');
      }
      if (status === 405) assert.ok(response.headers.get('allow'), 'a 405 names the allowed method');
      for (const token of [store.accessToken, emulator.adminToken]) assert.ok(!response.text.includes(token), 'the response echoes a token');
      await expectStoreUnchanged();
    });
  }

  test('after all the cases, no commit happened: the next one gets the next version', async () => {
    const response = await call(emulator.url, '/v1/set', { token: store.accessToken, body: { key: ['after'], value: 1 } });
    assert.equal(response.status, 200);
    assert.equal(response.body.version, nextVersion(known[0].version));
  });
});
