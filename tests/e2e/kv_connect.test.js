// KV Connect end to end (shims/kv_connect.js, worker/kv_connect.cc): every
// store as a Deno KV backend, with real clients only. The metadata exchange
// over raw HTTP; the Deno CLI running the programs of tests/kv_connect/
// (each prints one JSON line per check, asserted here); @deno/kv in Node;
// one store shared by the Deno CLI, @deno/kv and this project's JSON client;
// token rotation and store isolation on the KV Connect routes; malformed
// protobuf and V8 bytes sent by hand.
//
// The h2c bridge (scripts/h2c_bridge.js) runs inside this process when the
// file runs alone, so Deno is always spawned asynchronously: a blocked event
// loop would leave Deno's HTTP/2 requests unanswered.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, parse } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { deserialize } from 'node:v8';
import { KvU64 as DenoKvU64, openKv } from '@deno/kv';
import { connect, KvU64, KvV8Value } from '@own3d/kv';
import { ensureDenoCli } from '../../scripts/setup.js';
import { call, createStore, sharedEmulator } from '../helpers.js';

const PROGRAMS = join(dirname(fileURLToPath(import.meta.url)), '..', 'kv_connect');
const VERSION = /^[0-9a-f]{20}$/;
const ISO_INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;
const TEXT = /^text\/plain/;

let emulator;
let deno;
let workDir;
before(async () => {
  emulator = await sharedEmulator();
  deno = ensureDenoCli();
  // Deno runs the programs from a folder with no package.json up its tree:
  // under this package it would take them for part of it.
  workDir = mkdtempSync(join(tmpdir(), 'kv-connect-deno-'));
  for (let dir = workDir; ; dir = dirname(dir)) {
    assert.equal(existsSync(join(dir, 'package.json')), false, `${dir} must hold no package.json`);
    if (dir === parse(dir).root) break;
  }
  for (const file of readdirSync(PROGRAMS)) copyFileSync(join(PROGRAMS, file), join(workDir, file));
});
after(async () => {
  await emulator?.close();
  if (workDir) rmSync(workDir, { recursive: true, force: true });
});

const kvConnectUrl = () => `${emulator.url}/v1/kv-connect`;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// ---------------------------------------------------------------------------
// Values, as the Deno programs tag them (tests/kv_connect/lines.ts).

function replacer(key, value) {
  const raw = this[key];
  if (raw === undefined) return { $undefined: true };
  if (typeof raw === 'bigint') return { $bigint: raw.toString() };
  if (typeof raw === 'number' && (!Number.isFinite(raw) || Object.is(raw, -0))) {
    return { $number: Object.is(raw, -0) ? '-0' : String(raw) };
  }
  if (raw instanceof DenoKvU64 || raw instanceof KvU64) return { $u64: raw.value.toString() };
  if (raw instanceof Date) return { $date: Number.isNaN(raw.getTime()) ? 'Invalid Date' : raw.toISOString() };
  if (raw instanceof Map) return { $map: [...raw] };
  if (raw instanceof Set) return { $set: [...raw] };
  if (raw instanceof RegExp) return { $regexp: String(raw) };
  if (raw instanceof Uint8Array && raw.constructor === Uint8Array) return { $bytes: [...raw] };
  if (ArrayBuffer.isView(raw)) return { $typed: raw.constructor.name, values: [...raw] };
  return value;
}
const tagged = (value) => JSON.parse(JSON.stringify(value, replacer));
const typeOf = (value) => Object.prototype.toString.call(value);
const base64 = (bytes) => Buffer.from(bytes).toString('base64');

// What tests/kv_connect/basics.ts writes (the same values, written twice).
const JSON_VALUES = {
  ascii: 'hello',
  latin1: 'Grüße',
  twoByte: '日本語 🎉 Grüße',
  number: 1.5,
  int: -42,
  big: 2 ** 53,
  bool: false,
  null: null,
  array: [1, 'ü', [2, ['三']], {}],
  nested: { a: { b: { c: [true, null, { d: '日本' }] } }, '1': 'one', z: -0.25 },
};
const BEYOND = {
  date: new Date(Date.UTC(2024, 1, 29, 12, 34, 56, 789)),
  map: new Map([['a', 1], [2, 'two'], [3n, [null]]]),
  set: new Set(['x', 3, 4n]),
  bigint: 12345678901234567890123n,
  negativeBigint: -5n,
  undefined: undefined,
  bytes: new Uint8Array([0, 1, 127, 128, 254, 255]),
  emptyBytes: new Uint8Array(0),
  int32: new Int32Array([-1, 0, 2147483647, -2147483648]),
  nan: NaN,
  infinity: -Infinity,
  negativeZero: -0,
  loneSurrogate: 'a\ud800b',
  regexp: /a+b/gi,
  mixed: {
    when: new Date(0),
    tags: new Set([1n, 'two']),
    index: new Map([['k', [new Uint8Array([7, 8]), undefined, new Int32Array([9])]]]),
    n: 1.5,
    s: 'ü日本',
  },
};
// How the JSON API shows each of them: stored as JSON, as bytes, or as
// V8 bytes with no JSON form.
const BEYOND_FORM = {
  bytes: 'bytes', emptyBytes: 'bytes', negativeZero: 'json',
};

// ---------------------------------------------------------------------------
// The Deno CLI.

/**
 * Runs tests/kv_connect/<program> with the store's token; resolves to
 * { code, lines, stderr, ms } once it exits. `onLine(line, { child, lines })`
 * sees each JSON line as it comes (awaited in order; `lines` are those so
 * far); a throw there kills Deno and rejects.
 */
async function runDeno(program, args, token, { onLine, timeoutMs = 40_000 } = {}) {
  const started = Date.now();
  const child = spawn(deno, ['run', '--unstable-kv', '--allow-net', '--allow-env', program, ...args], {
    cwd: workDir,
    env: {
      ...process.env, DENO_KV_ACCESS_TOKEN: token, NO_COLOR: '1',
      DENO_DIR: join(workDir, 'cache'), DENO_NO_UPDATE_CHECK: '1',
    },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const lines = [];
  let stderr = '';
  let pending = '';
  let chain = Promise.resolve();
  let failure;
  child.stdout.setEncoding('utf8');
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk) => (stderr += chunk));
  child.stdout.on('data', (chunk) => {
    pending += chunk;
    for (let end; (end = pending.indexOf('\n')) !== -1;) {
      const text = pending.slice(0, end);
      pending = pending.slice(end + 1);
      let line;
      try {
        line = JSON.parse(text);
      } catch {
        stderr += `(stdout) ${text}\n`;
        continue;
      }
      lines.push(line);
      if (onLine) {
        chain = chain.then(() => failure === undefined && onLine(line, { child, lines })).catch((error) => {
          failure ??= error;
          child.kill('SIGKILL');
        });
      }
    }
  });
  child.stdin.on('error', () => {}); // Deno may exit before reading it
  if (!onLine) child.stdin.end();
  const timer = setTimeout(() => {
    failure ??= new Error(`${program} ran past ${timeoutMs} ms`);
    child.kill('SIGKILL');
  }, timeoutMs);
  const code = await new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (exitCode, signal) => resolve(exitCode ?? signal));
  });
  clearTimeout(timer);
  await chain;
  const result = { code, lines, stderr, ms: Date.now() - started };
  if (failure) {
    failure.message += `\n${program} output:\n${lines.map((l) => JSON.stringify(l)).join('\n')}\n${stderr}`;
    throw failure;
  }
  assert.equal(code, 0, `${program} exited ${code}:\n${stderr}`);
  assert.equal(lines.at(-1)?.check, 'done', `${program} ran to its end:\n${stderr}`);
  return result;
}

const linesOf = (run, check) => run.lines.filter((line) => line.check === check);
function lineOf(run, check) {
  const found = linesOf(run, check);
  assert.equal(found.length, 1, `one "${check}" line (got ${found.length})`);
  return found[0];
}

// ---------------------------------------------------------------------------
// Raw HTTP and hand-made protobuf.

function metadataRequest(token, body, { method = 'POST', contentType = 'application/json' } = {}) {
  return fetch(kvConnectUrl(), {
    method,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), 'content-type': contentType },
    body,
  });
}

/**
 * POST /v1/kv-connect/<method> as Deno's clients send it (protocol 3);
 * `headers` adds or, with undefined, removes headers. Resolves to
 * { status, contentType, bytes, text }.
 */
async function dataPath(method, token, body, headers = {}) {
  const all = {
    authorization: `Bearer ${token}`, 'content-type': 'application/x-protobuf', 'x-denokv-version': '3', ...headers,
  };
  const response = await fetch(`${kvConnectUrl()}/${method}`, {
    method: 'POST',
    headers: Object.fromEntries(Object.entries(all).filter(([, value]) => value !== undefined)),
    body,
  });
  const bytes = new Uint8Array(await response.arrayBuffer());
  return {
    status: response.status, contentType: response.headers.get('content-type'), bytes, text: new TextDecoder().decode(bytes),
  };
}

async function assertTextError(responseOrPromise, status, pattern) {
  const response = await responseOrPromise;
  const text = response.text instanceof Function ? await response.text() : response.text;
  const contentType = response.headers?.get('content-type') ?? response.contentType;
  assert.equal(response.status, status, text);
  assert.match(contentType ?? '', TEXT, `a plain-text error (${contentType}): ${text}`);
  assert.match(text, pattern);
  return text;
}

function varint(n) {
  let value = BigInt(n);
  const out = [];
  do {
    let byte = Number(value & 0x7fn);
    value >>= 7n;
    if (value) byte |= 0x80;
    out.push(byte);
  } while (value);
  return out;
}
const lengthDelimited = (field, bytes) => [...varint((field << 3) | 2), ...varint(bytes.length), ...bytes];
const varintField = (field, n) => [...varint(field << 3), ...varint(n)];
// A Deno KV key of string parts (docs/key-encoding.md): 0x02, UTF-8, 0x00.
const keyBytes = (...parts) => parts.flatMap((part) => [0x02, ...Buffer.from(part, 'utf8'), 0x00]);
// V8's serialization of a Latin-1 string (header FF 0F, then '"', length, bytes).
const v8String = (text) => [0xff, 0x0f, 0x22, ...varint(text.length), ...Buffer.from(text, 'latin1')];
// A Mutation (AtomicWrite field 2): key=1, value=2 {data=1, encoding=2}, mutation_type=3.
const mutation = ({ key, data, encoding = 1, type = 1 }) => lengthDelimited(2, [
  ...lengthDelimited(1, key),
  ...(data ? lengthDelimited(2, [...lengthDelimited(1, data), ...varintField(2, encoding)]) : []),
  ...varintField(3, type),
]);
const message = (...fields) => Uint8Array.from(fields.flat());

async function jsonGet(token, keys) {
  const response = await call(emulator.url, '/v1/get', { token, body: { keys } });
  assert.equal(response.status, 200, JSON.stringify(response.body));
  return response.body.entries;
}

async function collect(iterator) {
  const entries = [];
  for await (const entry of iterator) entries.push(entry);
  return entries;
}

// ---------------------------------------------------------------------------

describe('the metadata exchange over raw HTTP', () => {
  test('answers exactly the five fields as application/json, the highest common version', async () => {
    const store = await createStore(emulator);
    const response = await metadataRequest(store.accessToken, JSON.stringify({ supportedVersions: [1, 2, 3] }));
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('content-type'), 'application/json', '@deno/kv requires exactly this');
    const metadata = await response.json();
    assert.deepEqual(Object.keys(metadata).sort(), ['databaseId', 'endpoints', 'expiresAt', 'token', 'version']);
    assert.equal(metadata.version, 3);
    assert.equal(metadata.databaseId, store.id);
    assert.deepEqual(metadata.endpoints, [{ url: `${new URL(emulator.url).origin}/v1/kv-connect`, consistency: 'strong' }]);
    assert.equal(metadata.token, store.accessToken);
    assert.match(metadata.expiresAt, ISO_INSTANT);
    assert.ok(Date.parse(metadata.expiresAt) > Date.now(), `${metadata.expiresAt} is in the future`);

    for (const [offered, expected] of [[[1, 2], 2], [[2, 1], 2], [[1], 1], [[3], 3]]) {
      const answer = await metadataRequest(store.accessToken, JSON.stringify({ supportedVersions: offered }));
      assert.equal(answer.status, 200);
      assert.equal((await answer.json()).version, expected, `offered ${offered}`);
    }
    const noBody = await metadataRequest(store.accessToken, undefined);
    assert.equal(noBody.status, 200);
    assert.equal((await noBody.json()).version, 1, 'no body: a version 1 client');
  });

  test('refusals are plain text: a wrong token 401, a body not JSON 400, no common version 400', async () => {
    const store = await createStore(emulator);
    const supported = JSON.stringify({ supportedVersions: [1, 2, 3] });
    await assertTextError(metadataRequest(`${store.accessToken}x`, supported), 401, /^invalid_token: /);
    await assertTextError(metadataRequest(undefined, supported), 401, /^missing_token: /);
    await assertTextError(metadataRequest(store.accessToken, 'not json {'), 400, /not JSON.*supportedVersions/);
    await assertTextError(metadataRequest(store.accessToken, '{"versions":[3]}'), 400, /supportedVersions/);
    const text = await assertTextError(
      metadataRequest(store.accessToken, JSON.stringify({ supportedVersions: [4] })), 400, /1, 2 and 3/);
    assert.match(text, /\[4\]/, 'it names what the client offered');
    const get = await metadataRequest(store.accessToken, undefined, { method: 'GET' });
    await assertTextError(get, 405, /POST/);
    assert.equal(get.headers.get('allow'), 'POST');
    await assertTextError(dataPath('enqueue', store.accessToken, new Uint8Array()), 404, /snapshot_read, atomic_write and watch/);
    await assertTextError(dataPath('snapshot_read', store.accessToken, new Uint8Array(), { 'x-denokv-version': '4' }), 400,
      /x-denokv-version/);
  });
});

describe('the Deno CLI', () => {
  test('Deno KV\'s API: JSON and non-JSON values, list, atomic, KvU64, expiry, versionstamped keys, enqueue', {
    timeout: 60_000,
  }, async (t) => {
    const store = await createStore(emulator);
    const run = await runDeno('basics.ts', [kvConnectUrl()], store.accessToken);
    t.diagnostic(`basics.ts ran in ${run.ms} ms`);

    const api = lineOf(run, 'api');
    assert.equal(api.commitVersionstamp, 'function', 'Deno 2.9.6 has kv.commitVersionstamp()');

    const present = lineOf(run, 'expire-present');
    assert.equal(present.ok, true);
    assert.equal(present.value, 'soon', 'an entry with expireIn 1000 is there at once');
    assert.match(present.versionstamp, VERSION);
    assert.deepEqual(lineOf(run, 'expire-gone'), { check: 'expire-gone', key: ['expiring'], value: null, versionstamp: null },
      'and gone 2 s later');

    const json = linesOf(run, 'json');
    assert.deepEqual(json.map((line) => line.name), Object.keys(JSON_VALUES));
    for (const line of json) {
      assert.deepEqual(line.key, ['json', line.name]);
      assert.deepEqual(line.value, JSON_VALUES[line.name], line.name);
      assert.match(line.versionstamp, VERSION);
      assert.equal(line.versionstamp, line.wrote, `${line.name}: the versionstamp read is the one the set answered`);
    }
    const stampOf = Object.fromEntries(json.map((line) => [line.name, line.versionstamp]));
    assert.deepEqual(lineOf(run, 'getMany').entries, [
      { key: ['json', 'twoByte'], value: JSON_VALUES.twoByte, versionstamp: stampOf.twoByte },
      { key: ['missing'], value: null, versionstamp: null },
      { key: ['json', 'nested'], value: JSON_VALUES.nested, versionstamp: stampOf.nested },
    ]);

    const listKeys = (from, to) => Array.from({ length: Math.abs(to - from) + 1 }, (_, i) => ['list', from < to ? from + i : from - i]);
    assert.deepEqual(lineOf(run, 'list').keys, listKeys(0, 9), 'a prefix holds neither itself nor ["listz"]');
    assert.deepEqual(lineOf(run, 'list-reverse').keys, listKeys(9, 0));
    assert.deepEqual(lineOf(run, 'list-limit').keys, listKeys(0, 2));
    assert.deepEqual(lineOf(run, 'list-batches').keys, listKeys(0, 9), 'batches of 3 cover the prefix once');
    assert.deepEqual(lineOf(run, 'list-range').keys, listKeys(3, 5));
    const cursor = lineOf(run, 'list-cursor');
    assert.equal(typeof cursor.cursor, 'string');
    assert.notEqual(cursor.cursor, '');
    assert.deepEqual(cursor.firstKeys, listKeys(0, 3));
    assert.deepEqual(cursor.rest, listKeys(4, 9), 'the cursor resumes after the 4th key');
    assert.deepEqual(cursor.backKeys, listKeys(9, 6));
    assert.deepEqual(cursor.backRest, listKeys(5, 0), 'and in reverse');

    assert.deepEqual(lineOf(run, 'delete'), {
      check: 'delete', before: 'here', after: { key: ['doomed'], value: null, versionstamp: null },
    });

    const atomic = lineOf(run, 'atomic');
    assert.equal(atomic.passed.ok, true);
    assert.match(atomic.passed.versionstamp, VERSION);
    assert.deepEqual(atomic.failed, { ok: false }, 'a check of an old versionstamp fails');
    assert.deepEqual(atomic.failedNull, { ok: false }, 'a null check of a key that exists fails');
    assert.deepEqual(atomic.after, [
      ['changed', atomic.passed.versionstamp], ['new', atomic.passed.versionstamp], [null, null],
    ], 'the passed commit wrote both keys with its versionstamp; the failed ones wrote nothing');

    const u64 = lineOf(run, 'u64');
    assert.deepEqual(u64.values, ['42', '5', '3', '1', '7'].map(($u64) => ({ $u64 })),
      'sum 40+2, max(5,3), min(5,3), (2^64-1)+2 wraps to 1, a KvU64 set whole');
    assert.deepEqual(u64.areKvU64, [true, true, true, true, true]);

    const beyond = linesOf(run, 'beyond');
    assert.deepEqual(beyond.map((line) => line.name ?? line.error), Object.keys(BEYOND));
    for (const line of beyond) {
      assert.deepEqual(line.value, tagged(BEYOND[line.name]), `${line.name} round-trips exactly`);
      assert.equal(line.type, typeOf(BEYOND[line.name]), line.name);
      assert.match(line.versionstamp, VERSION);
      assert.equal(line.versionstamp, line.wrote, line.name);
    }

    const stamped = lineOf(run, 'versionstamped');
    assert.equal(stamped.error, undefined, stamped.error);
    assert.equal(stamped.result.ok, true);
    assert.deepEqual(stamped.keys, [[['vs', stamped.result.versionstamp], 'stamped', stamped.result.versionstamp]],
      'the key\'s last part is the commit\'s versionstamp');

    // The CLI's own refusal, before sending (@deno/kv's enqueues:
    // kv_connect_queue.test.js).
    assert.match(lineOf(run, 'enqueue').error, /Enqueue operations are not supported in KV Connect/);

    // What Deno wrote, through the JSON API: the same values, and `version`
    // is Deno's versionstamp.
    const beyondStamps = Object.fromEntries(beyond.map((line) => [line.name, line.versionstamp]));
    const entries = await jsonGet(store.accessToken, [
      ...Object.keys(JSON_VALUES).map((name) => ['json', name]),
      ...Object.keys(BEYOND).map((name) => ['beyond', name]),
      ['u64', 'sum'], ['u64', 'wrap'], ['u64', 'set'],
      ['vs', stamped.result.versionstamp], ['expiring'],
    ]);
    const byKey = new Map(entries.map((entry) => [JSON.stringify(entry.key), entry]));
    const entryOf = (...key) => byKey.get(JSON.stringify(key));
    for (const [name, value] of Object.entries(JSON_VALUES)) {
      const entry = entryOf('json', name);
      assert.deepEqual(entry.value, value, `${name} reads as plain JSON`);
      assert.equal(entry.valueType, undefined, name);
      assert.equal(entry.version, stampOf[name], `${name}: version = Deno's versionstamp`);
    }
    for (const [name, value] of Object.entries(BEYOND)) {
      const entry = entryOf('beyond', name);
      assert.equal(entry.version, beyondStamps[name], `${name}: version = Deno's versionstamp`);
      const form = BEYOND_FORM[name] ?? 'v8';
      if (form === 'json') {
        assert.equal(entry.valueType, undefined, name);
        assert.ok(Object.is(entry.value, value), `${name} reads as JSON ${entry.value}`);
      } else if (form === 'bytes') {
        assert.deepEqual([entry.valueType, entry.value], ['bytes', base64(value)], name);
      } else {
        assert.equal(entry.valueType, 'v8', name);
        const bytes = Buffer.from(entry.value, 'base64');
        assert.equal(bytes[0], 0xff, `${name}: V8 bytes with their header`);
      }
    }
    assert.deepEqual(
      [entryOf('u64', 'sum'), entryOf('u64', 'wrap'), entryOf('u64', 'set')].map((e) => [e.value, e.valueType]),
      [['42', 'u64'], ['1', 'u64'], ['7', 'u64']]);
    assert.equal(entryOf('u64', 'sum').version, u64.versionstamps[0]);
    assert.equal(entryOf('vs', stamped.result.versionstamp).value, 'stamped');
    assert.equal(entryOf('expiring').value, null);
  });

  test('kv.watch(): the first value, then a write from Node, then a KvU64 sum from Node', {
    timeout: 60_000,
  }, async (t) => {
    const store = await createStore(emulator);
    const written = { from: 'node', s: 'ü日本 🎉' };
    let setVersion;
    let sumVersion;
    const run = await runDeno('watch.ts', [kvConnectUrl(), '3'], store.accessToken, {
      async onLine(line) {
        if (line.check !== 'watch') return;
        if (line.index === 0) {
          const set = await call(emulator.url, '/v1/set', { token: store.accessToken, body: { key: ['watched'], value: written } });
          assert.equal(set.status, 200, JSON.stringify(set.body));
          setVersion = set.body.version;
        } else if (line.index === 1) {
          const sum = await call(emulator.url, '/v1/atomic', {
            token: store.accessToken, body: { mutations: [{ type: 'sum', key: ['counter'], value: '5' }] },
          });
          assert.equal(sum.status, 200, JSON.stringify(sum.body));
          sumVersion = sum.body.version;
        }
      },
    });
    t.diagnostic(`watch.ts ran in ${run.ms} ms; frames at ${linesOf(run, 'watch').map((l) => l.ms).join(', ')} ms`);
    const frames = linesOf(run, 'watch').map((line) => line.entries);
    const nothing = (key) => ({ key, value: null, versionstamp: null, isKvU64: false });
    assert.deepEqual(frames, [
      [nothing(['watched']), nothing(['counter'])],
      [{ key: ['watched'], value: written, versionstamp: setVersion, isKvU64: false }, nothing(['counter'])],
      [
        { key: ['watched'], value: written, versionstamp: setVersion, isKvU64: false },
        { key: ['counter'], value: { $u64: '5' }, versionstamp: sumVersion, isKvU64: true },
      ],
    ]);
  });
});

describe('@deno/kv in Node', () => {
  test('set, get, list, atomic, KvU64, delete, values beyond JSON, watch (enqueue: kv_connect_queue.test.js)', async () => {
    const store = await createStore(emulator);
    const kv = await openKv(kvConnectUrl(), { accessToken: store.accessToken });
    try {
      const twoByte = { s: '日本語 🎉', nested: [{ a: 'Grüße' }, [null, true, -1.25]] };
      const set = await kv.set(['json', 'twoByte'], twoByte);
      assert.equal(set.ok, true);
      assert.match(set.versionstamp, VERSION);
      assert.deepEqual(await kv.get(['json', 'twoByte']), { key: ['json', 'twoByte'], value: twoByte, versionstamp: set.versionstamp });
      const many = await kv.getMany([['json', 'twoByte'], ['missing']]);
      assert.deepEqual(many.map((e) => [e.value, e.versionstamp]), [[twoByte, set.versionstamp], [null, null]]);

      for (let i = 0; i < 6; i++) await kv.set(['list', i], i * 10);
      await kv.set(['listz'], 'outside');
      const keys = (entries) => entries.map((e) => e.key[1]);
      assert.deepEqual(keys(await collect(kv.list({ prefix: ['list'] }))), [0, 1, 2, 3, 4, 5]);
      assert.deepEqual(keys(await collect(kv.list({ prefix: ['list'] }, { reverse: true }))), [5, 4, 3, 2, 1, 0]);
      const page = kv.list({ prefix: ['list'] }, { limit: 2 });
      assert.deepEqual(keys(await collect(page)), [0, 1]);
      assert.deepEqual(keys(await collect(kv.list({ prefix: ['list'] }, { cursor: page.cursor }))), [2, 3, 4, 5]);
      assert.deepEqual(keys(await collect(kv.list({ prefix: ['list'] }, { batchSize: 2 }))), [0, 1, 2, 3, 4, 5]);

      const current = await kv.get(['list', 0]);
      const passed = await kv.atomic().check(current).set(['list', 0], 'changed').commit();
      assert.equal(passed.ok, true);
      const failed = await kv.atomic().check(current).set(['list', 0], 'lost').set(['never'], 1).commit();
      assert.equal(failed.ok, false);
      assert.deepEqual((await kv.getMany([['list', 0], ['never']])).map((e) => e.value), ['changed', null]);

      const big = 2n ** 62n + 3n; // exact only as a bigint
      await kv.atomic().sum(['counter'], big).commit();
      const summed = await kv.atomic().sum(['counter'], big).commit();
      const counter = await kv.get(['counter']);
      assert.ok(counter.value instanceof DenoKvU64, 'a counter reads as a KvU64');
      assert.equal(counter.value.value, 2n * big);
      assert.equal(counter.versionstamp, summed.versionstamp);
      await kv.atomic().max(['counter'], 1n).min(['low'], 9n).min(['low'], 4n).commit();
      const [maxed, low] = await kv.getMany([['counter'], ['low']]);
      assert.deepEqual([maxed.value.value, low.value.value], [2n * big, 4n]);
      assert.ok(maxed.versionstamp > counter.versionstamp, 'max rewrites the counter, as Deno KV does');
      await kv.set(['whole'], new DenoKvU64(18446744073709551615n));
      assert.equal((await kv.get(['whole'])).value.value, 18446744073709551615n);

      await kv.delete(['listz']);
      assert.deepEqual(await kv.get(['listz']), { key: ['listz'], value: null, versionstamp: null });

      // Node's V8 writes these (format 15) and reads them back.
      const beyond = {
        date: new Date(Date.UTC(1999, 11, 31, 23, 59, 59, 999)),
        map: new Map([[1, 'one'], ['two', new Map([[2n, null]])]]),
        set: new Set([1, 'x', 3n]),
        bigint: -(2n ** 70n),
        undefined,
        bytes: new Uint8Array([0, 255, 10]),
        int32: new Int32Array([-7, 7]),
        negativeZero: -0,
        mixed: { at: new Date(1), list: [undefined, 1n, new Set([new Uint8Array([1])])], m: new Map([['k', NaN]]) },
      };
      const stamps = {};
      for (const [name, value] of Object.entries(beyond)) {
        stamps[name] = (await kv.set(['beyond', name], value)).versionstamp;
        const entry = await kv.get(['beyond', name]);
        assert.deepEqual(entry.value, value, `${name} round-trips exactly`);
        assert.equal(entry.versionstamp, stamps[name]);
      }
      assert.ok(Object.is((await kv.get(['beyond', 'negativeZero'])).value, -0));
      // And the JSON API's view of them.
      const entries = await jsonGet(store.accessToken, [
        ['json', 'twoByte'], ['counter'], ...Object.keys(beyond).map((name) => ['beyond', name]),
      ]);
      assert.deepEqual(entries[0], { key: ['json', 'twoByte'], value: twoByte, version: set.versionstamp });
      assert.deepEqual(entries[1], { key: ['counter'], value: String(2n * big), valueType: 'u64', version: maxed.versionstamp });
      for (const entry of entries.slice(2)) {
        const name = entry.key[1];
        assert.equal(entry.version, stamps[name], name);
        if (name === 'bytes') {
          assert.deepEqual([entry.valueType, entry.value], ['bytes', base64(beyond.bytes)]);
        } else if (name === 'negativeZero') {
          assert.ok(Object.is(entry.value, -0) && entry.valueType === undefined, 'stored as JSON -0');
        } else {
          assert.equal(entry.valueType, 'v8', name);
          assert.deepEqual(deserialize(Buffer.from(entry.value, 'base64')), beyond[name], `${name}: the very bytes Node wrote`);
        }
      }

      // watch: a ReadableStream of every watched entry.
      const reader = kv.watch([['watched'], ['counter']]).getReader();
      try {
        const first = await reader.read();
        assert.deepEqual(first.value.map((e) => [e.value?.value ?? e.value, e.versionstamp]),
          [[null, null], [2n * big, maxed.versionstamp]]);
        const write = await kv.set(['watched'], { n: 1 });
        const second = await reader.read();
        assert.deepEqual(second.value[0], { key: ['watched'], value: { n: 1 }, versionstamp: write.versionstamp });
        const bump = await kv.atomic().sum(['counter'], 1n).commit();
        const third = await reader.read();
        assert.ok(third.value[1].value instanceof DenoKvU64);
        assert.deepEqual([third.value[1].value.value, third.value[1].versionstamp], [2n * big + 1n, bump.versionstamp]);
      } finally {
        await reader.cancel();
      }
    } finally {
      kv.close();
    }
  });
});

describe('interop on one store', () => {
  test('the JSON client, @deno/kv and the Deno CLI read each other\'s values and share a KvU64 counter', {
    timeout: 60_000,
  }, async (t) => {
    const store = await createStore(emulator);
    const own = connect({ accessToken: store.accessToken, region: store.region, endpoint: emulator.url });
    const denoKv = await openKv(kvConnectUrl(), { accessToken: store.accessToken });
    try {
      const fromOwn = { s: 'ü日本 🎉 from the JSON client', n: [1, -2.5], deep: { a: [null, { b: true }] } };
      const fromDenoKv = { s: 'Grüße from @deno/kv', list: [3, 'x'] };
      const denoKvDate = new Date(Date.UTC(2020, 0, 2, 3, 4, 5, 6));
      const denoKvMixed = { at: new Date(7), ids: new Set([1n]), names: new Map([['k', undefined]]), big: -3n };
      const ownSet = await own.set(['fromNode', 'jsonClient'], fromOwn);
      const ownBytes = await own.set(['fromNode', 'jsonClientBytes'], new Uint8Array([1, 2, 3]));
      const denoKvSet = await denoKv.set(['fromNode', 'denoKv'], fromDenoKv);
      const denoKvDateSet = await denoKv.set(['fromNode', 'denoKvDate'], denoKvDate);
      const denoKvMixedSet = await denoKv.set(['fromNode', 'denoKvMixed'], denoKvMixed);

      // The JSON client and @deno/kv, each reading the other.
      const byDenoKv = await denoKv.get(['fromNode', 'jsonClient']);
      assert.deepEqual([byDenoKv.value, byDenoKv.versionstamp], [fromOwn, ownSet.versionstamp]);
      assert.deepEqual((await denoKv.get(['fromNode', 'jsonClientBytes'])).value, new Uint8Array([1, 2, 3]));
      const byOwn = await own.get(['fromNode', 'denoKv']);
      assert.deepEqual([byOwn.value, byOwn.versionstamp], [fromDenoKv, denoKvSet.versionstamp]);
      const ownDate = await own.get(['fromNode', 'denoKvDate']);
      assert.ok(ownDate.value instanceof KvV8Value, 'a Date reads as a KvV8Value');
      assert.deepEqual(deserialize(ownDate.value.bytes), denoKvDate);
      assert.equal(ownDate.versionstamp, denoKvDateSet.versionstamp);

      // A counter summed by all three, past 2^53.
      const addends = [2n ** 60n, 2n ** 60n + 1n, 12345n];
      await own.atomic().sum(['interop', 'counter'], new KvU64(addends[0])).commit();
      await denoKv.atomic().sum(['interop', 'counter'], addends[1]).commit();
      const total = addends[0] + addends[1] + addends[2];

      const afterKeys = [['fromNode', 'v8back'], ['fromNode', 'bytesBack'], ['interop', 'counter']];
      let wrote;
      const run = await runDeno('interop.ts', [kvConnectUrl(), JSON.stringify([
        ['fromNode', 'jsonClient'], ['fromNode', 'jsonClientBytes'], ['fromNode', 'denoKv'], ['fromNode', 'denoKvDate'],
        ['fromNode', 'denoKvMixed'], ['interop', 'counter'],
      ]), String(addends[2])], store.accessToken, {
        async onLine(line, { child, lines }) {
          if (line.check !== 'ready') return;
          const sofar = { lines }; // the lines so far, as linesOf() takes them
          wrote = Object.fromEntries(linesOf(sofar, 'wrote').map((l) => [l.key[1], l]));
          assert.deepEqual(wrote.json.value, { s: 'ü日本 🎉', n: [1, 2.5, -3], nested: { a: null, b: [true] } });
          // What the Deno CLI wrote, through the JSON client ...
          const json = await own.get(['fromCli', 'json']);
          assert.deepEqual([json.value, json.versionstamp], [wrote.json.value, wrote.json.versionstamp]);
          const bytes = await own.get(['fromCli', 'bytes']);
          assert.deepEqual([bytes.value, bytes.versionstamp], [new Uint8Array([9, 8, 7]), wrote.bytes.versionstamp]);
          const date = await own.get(['fromCli', 'date']);
          assert.ok(date.value instanceof KvV8Value);
          assert.equal(date.versionstamp, wrote.date.versionstamp);
          // ... and through @deno/kv.
          const json2 = await denoKv.get(['fromCli', 'json']);
          assert.deepEqual([json2.value, json2.versionstamp], [wrote.json.value, wrote.json.versionstamp]);
          const bytes2 = await denoKv.get(['fromCli', 'bytes']);
          assert.deepEqual([bytes2.value, bytes2.versionstamp], [new Uint8Array([9, 8, 7]), wrote.bytes.versionstamp]);
          // Deno 2.9 writes V8's serialization format 16; a Node whose V8
          // reads only up to 15 (Node 20: V8 11.3) cannot deserialize it,
          // in @deno/kv as in node:v8. The store passes the bytes on as
          // Deno wrote them (the JSON client shows them as a KvV8Value).
          let nodeReadsDenoV8 = true;
          try {
            deserialize(date.value.bytes);
          } catch {
            nodeReadsDenoV8 = false;
          }
          if (nodeReadsDenoV8) {
            assert.deepEqual(tagged(deserialize(date.value.bytes)), wrote.date.value);
            assert.deepEqual(tagged((await denoKv.get(['fromCli', 'date'])).value), wrote.date.value);
            assert.deepEqual(tagged((await denoKv.get(['fromCli', 'mixed'])).value), wrote.mixed.value);
          } else {
            assert.equal(date.value.bytes[1], 16, 'V8 format 16');
            await assert.rejects(denoKv.get(['fromCli', 'date']), /unsupported version/);
            t.diagnostic(`Node ${process.version} (V8 ${process.versions.v8}) cannot read Deno 2.9's V8 format 16: ` +
              '@deno/kv here cannot read the Date the Deno CLI wrote');
          }
          // The counter, after all three sums.
          const ownCounter = await own.get(['interop', 'counter']);
          assert.ok(ownCounter.value instanceof KvU64, 'the JSON client reads a KvU64');
          assert.equal(ownCounter.value.value, total);
          assert.equal(ownCounter.versionstamp, lineOf(sofar, 'summed').versionstamp);
          const denoKvCounter = await denoKv.get(['interop', 'counter']);
          assert.ok(denoKvCounter.value instanceof DenoKvU64, '@deno/kv reads a KvU64');
          assert.equal(denoKvCounter.value.value, total);
          // Values written back for the Deno CLI to read.
          await own.set(['fromNode', 'v8back'], new KvV8Value(date.value.bytes));
          await own.set(['fromNode', 'bytesBack'], bytes.value);
          child.stdin.end(`${JSON.stringify(afterKeys)}\n`);
        },
      });
      t.diagnostic(`interop.ts ran in ${run.ms} ms`);

      // What the Deno CLI read of Node's writes.
      const read = Object.fromEntries(linesOf(run, 'read').map((line) => [line.key?.[1] ?? line.error, line]));
      assert.deepEqual(Object.keys(read), ['jsonClient', 'jsonClientBytes', 'denoKv', 'denoKvDate', 'denoKvMixed', 'counter']);
      assert.deepEqual([read.jsonClient.value, read.jsonClient.versionstamp], [fromOwn, ownSet.versionstamp]);
      assert.deepEqual([read.jsonClientBytes.value, read.jsonClientBytes.versionstamp], [{ $bytes: [1, 2, 3] }, ownBytes.versionstamp]);
      assert.deepEqual([read.denoKv.value, read.denoKv.versionstamp], [fromDenoKv, denoKvSet.versionstamp]);
      assert.deepEqual([read.denoKvDate.value, read.denoKvDate.type, read.denoKvDate.versionstamp],
        [tagged(denoKvDate), '[object Date]', denoKvDateSet.versionstamp]);
      assert.deepEqual([read.denoKvMixed.value, read.denoKvMixed.versionstamp], [tagged(denoKvMixed), denoKvMixedSet.versionstamp]);
      assert.deepEqual([read.counter.value, read.counter.isKvU64], [{ $u64: String(addends[0] + addends[1]) }, true]);
      // And of what Node wrote back.
      const after = Object.fromEntries(linesOf(run, 'read-after').map((line) => [line.key?.[1] ?? line.error, line]));
      assert.deepEqual(Object.keys(after), ['v8back', 'bytesBack', 'counter']);
      assert.deepEqual(wrote.date.value, { $date: '2001-09-09T01:46:40.000Z' });
      assert.deepEqual([after.v8back.value, after.v8back.type], [wrote.date.value, '[object Date]'],
        'a KvV8Value the JSON client read and set back is the Date again');
      assert.deepEqual(after.bytesBack.value, { $bytes: [9, 8, 7] });
      assert.deepEqual([after.counter.value, after.counter.isKvU64], [{ $u64: String(total) }, true], 'the exact total');
      const [jsonCounter] = await jsonGet(store.accessToken, [['interop', 'counter']]);
      assert.deepEqual([jsonCounter.value, jsonCounter.valueType], [String(total), 'u64']);
    } finally {
      denoKv.close();
      own.close?.();
    }
  });
});

describe('token rotation over KV Connect', () => {
  test('the old token is refused on the data path and the metadata exchange at once; the new one works', async () => {
    const store = await createStore(emulator);
    const database = { 'x-denokv-database-id': store.id };
    const old = await openKv(kvConnectUrl(), { accessToken: store.accessToken });
    let renewed;
    try {
      await old.set(['kept'], 'data');
      const before = await dataPath('snapshot_read', store.accessToken, new Uint8Array(), database);
      assert.equal(before.status, 200, before.text);
      assert.equal(before.contentType, 'application/x-protobuf');
      // Two watches with the old token: a raw one, and @deno/kv's. (@deno/kv's
      // raw stream: its default stream, built on it, hangs and leaves an
      // unhandled rejection when the raw one errors, unraw_watch_stream.js.)
      const watchBody = message(lengthDelimited(1, lengthDelimited(1, keyBytes('kept'))));
      const rawWatch = await fetch(`${kvConnectUrl()}/watch`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${store.accessToken}`, 'content-type': 'application/x-protobuf',
          'x-denokv-version': '3', ...database,
        },
        body: watchBody,
      });
      assert.equal(rawWatch.status, 200);
      assert.equal(rawWatch.headers.get('content-type'), 'application/octet-stream');
      const rawReader = rawWatch.body.getReader();
      const firstFrame = await rawReader.read();
      assert.ok(firstFrame.value.length > 4, 'a first frame');
      const reader = old.watch([['kept']], { raw: true }).getReader();
      assert.equal((await reader.read()).value[0].value, 'data');

      const rotated = await call(emulator.url, `/v1/admin/stores/${store.id}/token`, { token: emulator.adminToken });
      assert.equal(rotated.status, 200, JSON.stringify(rotated.body));
      const fresh = rotated.body.accessToken;
      assert.notEqual(fresh, store.accessToken);

      // An empty body is a SnapshotRead with no ranges.
      await assertTextError(dataPath('snapshot_read', store.accessToken, new Uint8Array(), database), 401, /^invalid_token: /);
      await assertTextError(metadataRequest(store.accessToken, JSON.stringify({ supportedVersions: [1, 2, 3] })), 401,
        /^invalid_token: /);
      await assert.rejects(old.get(['kept']), /Unexpected response status: 401/, '@deno/kv with the old token');
      await assert.rejects(old.set(['lost'], 1), /401/);
      // The watches opened with the old token end: the server closes the
      // stream, and @deno/kv's reconnection is refused.
      const within = (promise, ms) => Promise.race([promise, sleep(ms).then(() => `still open after ${ms} ms`)]);
      const rawEnd = await within(rawReader.read().then((r) => (r.done ? 'done' : `a frame of ${r.value.length} bytes`),
        (error) => `error: ${error.message}`), 5_000);
      assert.equal(rawEnd, 'done', 'the server ends the old token\'s watch stream');
      const clientEnd = await within(reader.read().then((r) => (r.done ? 'done' : `a value: ${JSON.stringify(r.value)}`),
        (error) => `error: ${error.message}`), 10_000);
      assert.match(clientEnd, /^(done|error: .*401)/, clientEnd);

      const after = await dataPath('snapshot_read', fresh, new Uint8Array(), database);
      assert.equal(after.status, 200, after.text);
      renewed = await openKv(kvConnectUrl(), { accessToken: fresh });
      assert.equal((await renewed.get(['kept'])).value, 'data', 'rotation keeps the data');
      const set = await renewed.set(['after'], 'rotation');
      assert.equal(set.ok, true);
      assert.deepEqual((await renewed.getMany([['after'], ['lost']])).map((e) => e.value), ['rotation', null]);
    } finally {
      old.close();
      renewed?.close();
    }
  });
});

describe('store isolation over KV Connect', () => {
  test('a store sees none of another\'s entries; another store\'s database id is refused', async () => {
    const a = await createStore(emulator);
    const b = await createStore(emulator);
    const kvA = await openKv(kvConnectUrl(), { accessToken: a.accessToken });
    const kvB = await openKv(kvConnectUrl(), { accessToken: b.accessToken });
    try {
      const setA = await kvA.set(['iso', 'secret'], 'A only');
      assert.deepEqual(await kvB.get(['iso', 'secret']), { key: ['iso', 'secret'], value: null, versionstamp: null });
      assert.deepEqual(await collect(kvB.list({ prefix: [] })), [], 'B\'s whole keyspace is empty');
      await kvB.set(['iso', 'secret'], 'B');
      const seenByA = await kvA.get(['iso', 'secret']);
      assert.deepEqual([seenByA.value, seenByA.versionstamp], ['A only', setA.versionstamp]);

      const setBody = message(mutation({ key: keyBytes('iso', 'crossed'), data: v8String('x') }));
      const watchBody = message(lengthDelimited(1, lengthDelimited(1, keyBytes('iso', 'secret'))));
      for (const [method, body] of [['snapshot_read', new Uint8Array()], ['atomic_write', setBody], ['watch', watchBody]]) {
        await assertTextError(dataPath(method, a.accessToken, body, { 'x-denokv-database-id': b.id }), 400,
          /database id .* is not this token's store/);
      }
      // Protocol 1 names it x-transaction-domain-id.
      await assertTextError(dataPath('atomic_write', a.accessToken, setBody, {
        'x-denokv-version': undefined, 'x-transaction-domain-id': b.id,
      }), 400, /database id/);
      const crossed = [['iso', 'crossed']];
      assert.equal((await jsonGet(a.accessToken, crossed))[0].value, null);
      assert.equal((await jsonGet(b.accessToken, crossed))[0].value, null);
      // With its own id the same write lands, in A only.
      const own = await dataPath('atomic_write', a.accessToken, setBody, { 'x-denokv-database-id': a.id });
      assert.equal(own.status, 200, own.text);
      assert.equal((await kvA.get(['iso', 'crossed'])).value, 'x');
      assert.equal((await kvB.get(['iso', 'crossed'])).value, null);
    } finally {
      kvA.close();
      kvB.close();
    }
  });
});

describe('malformed KV Connect requests', () => {
  test('truncated protobuf, wrong wire types, unknown mutation types and bad V8 bytes: 4xx text, nothing written', async () => {
    const store = await createStore(emulator);
    const database = { 'x-denokv-database-id': store.id };
    const write = (body) => dataPath('atomic_write', store.accessToken, body, database);
    const valid = (name) => mutation({ key: keyBytes('bad', name), data: v8String('x') });

    // The helpers' bytes are a valid AtomicWrite: the refusals below are the
    // server's reading of the one thing wrong in each.
    const baseline = await write(message(valid('baseline')));
    assert.equal(baseline.status, 200, baseline.text);
    assert.equal(baseline.contentType, 'application/x-protobuf');

    const whole = message(valid('truncated1'), valid('truncated2'));
    const notV8 = /^invalid_request: mutations\[1\]\.value is not a V8-serialized value: /;
    const writes = [
      ['truncated', whole.subarray(0, whole.length - 3), /^invalid_protobuf: the AtomicWrite is not valid protobuf/],
      ['a length past the end', message(valid('overlong1'), [...varint((2 << 3) | 2), ...varint(500), ...valid('overlong2')]),
        /^invalid_protobuf: the AtomicWrite is not valid protobuf/],
      ['a mutation as a varint', message(valid('wire1'), varintField(2, 5)),
        /^invalid_protobuf: mutations\[1\] has wire type 0, expected 2/],
      ['a key as a varint', message(valid('wire2'), lengthDelimited(2, [...varintField(1, 7), ...varintField(3, 1)])),
        /^invalid_protobuf: mutations\[1\]\.key has wire type 0, expected 2/],
      ['a mutation type as bytes', message(valid('wire3'), lengthDelimited(2, [
        ...lengthDelimited(1, keyBytes('bad', 'wire4')), ...lengthDelimited(3, [1]),
      ])), /^invalid_protobuf: mutations\[1\]\.mutation_type has wire type 2, expected 0/],
      ['an unknown mutation type', message(valid('type1'), mutation({ key: keyBytes('bad', 'type2'), data: v8String('x'), type: 42 })),
        /^invalid_request: mutations\[1\]\.mutation_type is 42; the types are/],
      ['V8 bytes cut short', message(valid('v8a'), mutation({ key: keyBytes('bad', 'v8b'), data: [0xff, 0x0f, 0x22, 0x05, 0x61] })),
        notV8],
      ['an unknown V8 tag', message(valid('v8c'), mutation({ key: keyBytes('bad', 'v8d'), data: [0xff, 0x0f, 0x01] })), notV8],
      ['no V8 header', message(valid('v8e'), mutation({ key: keyBytes('bad', 'v8f'), data: [0x22, 0x01, 0x61] })), notV8],
      ['bytes after the V8 value', message(valid('v8g'), mutation({ key: keyBytes('bad', 'v8h'), data: [...v8String('x'), 0x22] })),
        notV8],
      ['an unknown encoding', message(valid('enc1'), mutation({ key: keyBytes('bad', 'enc2'), data: [1], encoding: 7 })),
        /^invalid_request: mutations\[1\]\.value has encoding 7/],
      ['a KvU64 of 7 bytes', message(valid('u64a'), mutation({
        key: keyBytes('bad', 'u64b'), data: [1, 2, 3, 4, 5, 6, 7], encoding: 2,
      })), /^invalid_request: mutations\[1\]\.value is a KvU64 \(VE_LE64\) of 7 bytes; it must be 8/],
      ['a set with no value', message(valid('novalue1'), mutation({ key: keyBytes('bad', 'novalue2') })),
        /^invalid_request: mutations\[1\] has no value/],
      ['an enqueue 31 days ahead', message(valid('enqueue1'), lengthDelimited(3, [
        ...lengthDelimited(1, v8String('job')), ...varintField(2, Date.now() + 31 * 86_400_000),
      ])), /^invalid_delay: enqueues\[0\]\.deadline_ms is \d+ ms from now; the longest delay is 2592000000 ms/],
      ['an enqueue\'s key not canonical', message(valid('enqueue2'), lengthDelimited(3, [
        ...lengthDelimited(1, v8String('job')), ...lengthDelimited(3, [0x02, 0x6b]),
      ])), /^invalid_key: enqueues\[0\]\.keys_if_undelivered\[0\] is not a key/],
    ];
    for (const [what, body, pattern] of writes) {
      const answer = await write(body);
      assert.equal(answer.status, 400, `${what}: ${answer.text}`);
      assert.match(answer.contentType ?? '', TEXT, `${what}: plain text`);
      assert.match(answer.text, pattern, what);
    }

    const reads = [
      ['snapshot_read', 'truncated', message(lengthDelimited(1, [...lengthDelimited(1, keyBytes('bad')), ...varintField(3, 10)]))
        .subarray(0, 5), /^invalid_protobuf: the SnapshotRead is not valid protobuf/],
      ['snapshot_read', 'a range as a varint', message(varintField(1, 3)), /^invalid_protobuf: ranges\[0\] has wire type 0/],
      ['snapshot_read', 'a limit of 0', message(lengthDelimited(1, [...lengthDelimited(1, keyBytes('a')), ...lengthDelimited(2, keyBytes('b'))])),
        /^invalid_selector: ranges\[0\]\.limit is 0/],
      ['watch', 'no keys', new Uint8Array(), /^too_many_keys: the watch has no keys/],
      ['watch', 'truncated', message(lengthDelimited(1, lengthDelimited(1, keyBytes('bad', 'x')))).subarray(0, 4),
        /^invalid_protobuf: the Watch is not valid protobuf/],
    ];
    for (const [method, what, body, pattern] of reads) {
      const answer = await dataPath(method, store.accessToken, body, database);
      assert.equal(answer.status, 400, `${method}, ${what}: ${answer.text}`);
      assert.match(answer.contentType ?? '', TEXT, `${method}, ${what}: plain text`);
      assert.match(answer.text, pattern, `${method}, ${what}`);
    }

    // Nothing but the baseline was written: through the JSON API, and
    // through a snapshot read (@deno/kv's list).
    const listed = await call(emulator.url, '/v1/list', { token: store.accessToken, body: { prefix: ['bad'] } });
    assert.equal(listed.status, 200);
    assert.deepEqual(listed.body.entries.map((e) => e.key), [['bad', 'baseline']]);
    const kv = await openKv(kvConnectUrl(), { accessToken: store.accessToken });
    try {
      assert.deepEqual((await collect(kv.list({ prefix: [] }))).map((e) => [e.key, e.value]), [[['bad', 'baseline'], 'x']]);
    } finally {
      kv.close();
    }
  });
});
