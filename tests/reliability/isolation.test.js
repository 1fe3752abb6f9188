// Multi-tenant isolation: one store is driven into every limit (memory and
// oversized pages, hostile 2 MiB bodies, the watch cap, the monthly quota,
// traps inside the wasm core) while a second store of the same runtime (the
// same workerd isolate, hence the same wasm instance) is probed every ~50 ms
// and must keep answering every request correctly. The bystander's latency
// is printed, never asserted: no timed assertion here can flake.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { connect } from '@own3d/kv';
import { createStore, sharedEmulator } from '../helpers.js';

const MiB = 1024 * 1024;
const UNLIMITED = { opsPerMonth: null, storageBytes: null };
// docs/http-api.md and worker/kv_limits.h
const MAX_REQUEST_BYTES = 2 * MiB;
const MAX_VALUE_BYTES = 16 * 1024;
const MAX_LIST_PAGE_BYTES = MiB;
const MAX_WATCHES_PER_STORE = 64;
const QUOTA = 50;

const PROBE_INTERVAL_MS = 50;
const REQUEST_TIMEOUT_MS = 20_000; // a request without an answer by then is a hang
const BIG_ENTRIES = 600;
const HOSTILE_BODIES_PER_KIND = 10;
const TRAPS = 50;

// Every request carries an address of its own (TEST-NET-1), so that this
// file never shares the failed-authentication budget of another one.
const ADDRESS = `192.0.2.${10 + Math.floor(Math.random() * 200)}`;

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

let emulator;
let bystander; // { store, probe }
let hostile; // { store, kv }
const openWatches = new Set(); // AbortControllers, aborted in after()

// Answers lost by wrangler's dev proxy (its text 503 "Your worker restarted
// mid-request", docs/reliability.md): reads are sent again, writes are
// marked `lost` for the caller to resolve. Counted, and printed at the end.
const PROXY_LOST = /Your worker restarted mid-request/;
const READS = new Set(['/v1/get', '/v1/list', '/v1/count', '/v1/usage']);
const lostAnswers = { reads: 0, writes: 0 };

/**
 * A raw request with a timeout: { status, headers, text, body, ms, lost },
 * where body is the parsed JSON or undefined, and `lost` marks a write whose
 * answer the dev proxy lost. A request without an answer throws.
 */
async function send(path, token, body, options = {}) {
  for (let attempt = 1; ; attempt++) {
    const answer = await sendOnce(path, token, body, options);
    if (answer.status !== 503 || !PROXY_LOST.test(answer.text)) return answer;
    if (!READS.has(path) || attempt === 20) {
      lostAnswers.writes++;
      return { ...answer, lost: true };
    }
    lostAnswers.reads++;
  }
}

async function sendOnce(path, token, body, { method = 'POST', timeoutMs = REQUEST_TIMEOUT_MS } = {}) {
  const started = performance.now();
  const response = await fetch(`${emulator.url}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      'cf-connecting-ip': ADDRESS,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined || typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body),
    signal: AbortSignal.timeout(timeoutMs),
  });
  const text = await response.text();
  const ms = performance.now() - started;
  let parsed;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  return { status: response.status, headers: response.headers, text, body: parsed, ms };
}

const admin = (path, body, method = 'POST') => send(path, emulator.adminToken, body, { method });

/** Opens a watch without reading it; returns { response, controller }. */
async function openWatch(token, keys) {
  const controller = new AbortController();
  openWatches.add(controller);
  const response = await fetch(`${emulator.url}/v1/watch`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'cf-connecting-ip': ADDRESS },
    body: JSON.stringify({ keys }),
    signal: controller.signal,
  });
  return { response, controller };
}

function closeWatch({ response, controller }) {
  controller.abort();
  openWatches.delete(controller);
  response.body?.cancel().catch(() => {});
}

// A version plus one commit: what the next commit of the store must get
// (versions are a 16-hex-digit commit counter and 4 more digits).
const nextVersion = (version) => `${(BigInt(`0x${version.slice(0, 16)}`) + 1n).toString(16).padStart(16, '0')}0000`;

function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

function latencySummary(samples) {
  const sorted = samples.map((s) => s.ms).sort((a, b) => a - b);
  const f = (ms) => `${ms.toFixed(1)}ms`;
  return `n=${sorted.length} p50=${f(percentile(sorted, 50))} p95=${f(percentile(sorted, 95))} ` +
    `p99=${f(percentile(sorted, 99))} max=${f(sorted.at(-1) ?? NaN)}`;
}

/**
 * The bystander's probe: every PROBE_INTERVAL_MS a get of a known key (and
 * of the counter), then a set of the counter to the next number; every
 * tenth tick a list of a known prefix too. Every answer must be 200 and
 * exactly what was written: the known entry keeps its value and version,
 * the counter holds the last value set with the version that set answered,
 * and every set's version is greater than the one before.
 */
class Probe {
  samples = []; // { ms, op, phase }
  errors = []; // requests that were not answered 200 (or not at all)
  wrong = []; // 200 answers that are not what was written
  phase = 'setup';
  ticks = 0;
  #stopped = false;
  #loop = null;
  #tickDone = []; // resolvers waiting for a tick that starts after they were made
  #counter; // the value the counter holds
  #counterVersion; // and the version of its last set
  #pending = null; // a set whose outcome is unknown: { value }

  /**
   * `known` is { key, value, version, listed: [{ key, value, version }] },
   * `counter` the { value, version } the key ['counter'] holds.
   */
  constructor(store, known, counter) {
    this.store = store;
    this.known = known;
    this.#counter = counter.value;
    this.#counterVersion = counter.version;
  }

  start() {
    this.#loop = this.#run();
  }

  async stop() {
    this.#stopped = true;
    await this.#loop;
  }

  /** Resolves after a whole probe tick ran after this call (bounded by the test's timeout). */
  nextTick() {
    return new Promise((resolve) => this.#tickDone.push({ after: this.ticks, resolve }));
  }

  /**
   * One request of the bystander's, timed, labelled `phase` and checked by
   * `verify(body)`, which returns a problem or null. Returns the body of a
   * 200 answer, else null.
   */
  async check(op, path, body, verify, phase = this.phase) {
    let answer;
    try {
      answer = await send(path, this.store.accessToken, body);
    } catch (error) {
      this.errors.push({ op, phase, error: `no answer: ${error?.message ?? error}` });
      return null;
    }
    this.samples.push({ ms: answer.ms, op, phase });
    if (answer.lost) return null; // the dev proxy lost the answer: the next tick resolves it
    if (answer.status !== 200 || answer.body === undefined) {
      this.errors.push({ op, phase, error: `${answer.status} ${answer.text.slice(0, 300)}` });
      return null;
    }
    const problem = verify(answer.body);
    if (problem) this.wrong.push({ op, phase, problem, answer: answer.text.slice(0, 300) });
    return answer.body;
  }

  /** A get of the known key that must answer its value and version. */
  checkKnown(phase = this.phase) {
    return this.check('get-known', '/v1/get', { keys: [this.known.key] }, ({ entries }) => {
      const [entry] = entries ?? [];
      if (entry?.version !== this.known.version) return `known version ${entry?.version}, wrote ${this.known.version}`;
      if (JSON.stringify(entry.value) !== JSON.stringify(this.known.value)) return `known value ${JSON.stringify(entry.value).slice(0, 80)}`;
      return null;
    }, phase);
  }

  async #tick() {
    const tick = this.ticks;
    await this.checkKnown();
    await this.check('get', '/v1/get', { keys: [this.known.key, ['counter']] }, ({ entries }) => {
      if (!Array.isArray(entries) || entries.length !== 2) return 'not two entries';
      const [known, counter] = entries;
      if (known.version !== this.known.version || JSON.stringify(known.value) !== JSON.stringify(this.known.value)) {
        return `known entry changed: ${JSON.stringify(known).slice(0, 100)}`;
      }
      if (this.#pending !== null) {
        // The last set got no answer: it applied or it did not, nothing else.
        if (counter.value === this.#pending.value) {
          this.#counter = counter.value;
          this.#counterVersion = counter.version;
        } else if (counter.value !== this.#counter || counter.version !== this.#counterVersion) {
          return `counter ${counter.value}@${counter.version}, expected ${this.#counter} or ${this.#pending.value}`;
        }
        this.#pending = null;
        return null;
      }
      if (counter.value !== this.#counter) return `counter read ${counter.value}, last written ${this.#counter}`;
      if (counter.version !== this.#counterVersion) return `counter version ${counter.version}, last set answered ${this.#counterVersion}`;
      return null;
    });
    const value = this.#counter + 1;
    const set = await this.check('set', '/v1/set', { key: ['counter'], value }, ({ ok, version }) => {
      if (ok !== true || typeof version !== 'string' || !/^[0-9a-f]{20}$/.test(version)) return `not a success: ${ok} ${version}`;
      if (!(version > this.#counterVersion)) return `version ${version} after ${this.#counterVersion}`;
      return null;
    });
    if (set?.ok === true) {
      this.#counter = value;
      this.#counterVersion = set.version;
    } else {
      this.#pending = { value };
    }
    if (tick % 10 === 0) {
      await this.check('list', '/v1/list', { prefix: ['listed'] }, ({ entries, cursor }) => {
        if (cursor !== null) return `cursor ${cursor} on a complete page`;
        const got = (entries ?? []).map(({ key, value, version }) => ({ key, value, version }));
        return JSON.stringify(got) === JSON.stringify(this.known.listed) ? null : `listed ${JSON.stringify(got).slice(0, 200)}`;
      });
    }
  }

  async #run() {
    while (!this.#stopped) {
      const started = performance.now();
      await this.#tick();
      this.ticks++;
      this.#tickDone = this.#tickDone.filter(({ after, resolve }) => {
        if (this.ticks <= after + 1) return true;
        resolve();
        return false;
      });
      const left = PROBE_INTERVAL_MS - (performance.now() - started);
      if (left > 0) await sleep(left);
    }
    for (const { resolve } of this.#tickDone) resolve();
  }
}

/** Runs `jobs` (functions returning promises) with at most `width` at once; returns their results in order. */
async function pooled(jobs, width) {
  const results = new Array(jobs.length);
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(width, jobs.length) }, async () => {
    while (next < jobs.length) {
      const index = next++;
      results[index] = await jobs[index]();
    }
  }));
  return results;
}

const bigKey = (i) => ['big', i];
const bigValue = (i) => `${String(i).padStart(6, '0')}${'v'.repeat(MAX_VALUE_BYTES - 2 - 6)}`; // 16 KiB as JSON
const bigIndexOf = (value) => Number(value.slice(0, 6));

before(async () => {
  emulator = await sharedEmulator();
  const store = await createStore(emulator, 'eu-central-1', UNLIMITED);
  const known = { key: ['known'], value: { name: 'bystander', text: 'é😀', list: [1, 2, 3] } };
  known.version = (await send('/v1/set', store.accessToken, { key: known.key, value: known.value })).body.version;
  const listed = { mutations: [{ type: 'set', key: ['counter'], value: 0 }] };
  for (let i = 0; i < 5; i++) listed.mutations.push({ type: 'set', key: ['listed', i], value: { i } });
  const committed = await send('/v1/atomic', store.accessToken, listed);
  assert.equal(committed.status, 200, committed.text);
  known.listed = Array.from({ length: 5 }, (_, i) => ({ key: ['listed', i], value: { i }, version: committed.body.version }));
  const probe = new Probe(store, known, { value: 0, version: committed.body.version });
  bystander = { store, probe };
  probe.start();
  const hostileStore = await createStore(emulator, 'eu-central-1', UNLIMITED);
  hostile = { store: hostileStore, kv: connect({ accessToken: hostileStore.accessToken, region: hostileStore.region, endpoint: emulator.url }) };
});

after(async () => {
  for (const controller of openWatches) controller.abort();
  await bystander?.probe.stop();
  await emulator?.close();
});

/** Runs a phase: labels the probe's samples with `name` and makes sure at least one whole probe tick overlaps it. */
async function phase(name, body) {
  bystander.probe.phase = name;
  const overlap = bystander.probe.nextTick();
  const started = performance.now();
  try {
    await body();
  } finally {
    await overlap;
    console.log(`# phase ${name}: ${((performance.now() - started) / 1000).toFixed(1)} s`);
    bystander.probe.phase = 'between';
  }
}

describe('one hostile store, one bystander, one runtime', () => {
  test('1. memory: 600 values of 16 KiB, concurrent 1,000-entry lists cut at 1 MiB, gets, count, export', { timeout: 60_000 }, () => phase('memory', async () => {
    const { store, kv } = hostile;
    // 15 commits of 40 entries (640 KiB each, under the 800 KiB commit limit), 3 at a time.
    const commits = await pooled(Array.from({ length: BIG_ENTRIES / 40 }, (_, c) => () => {
      const op = kv.atomic();
      for (let i = c * 40; i < (c + 1) * 40; i++) op.set(bigKey(i), bigValue(i));
      return op.commit();
    }), 3);
    assert.ok(commits.every((commit) => commit.ok === true));

    // A page ends with the entry that brings its key and value bytes to 1 MiB.
    const checkPage = (page, reverse, label) => {
      assert.equal(page.status, 200, `${label}: ${page.text.slice(0, 300)}`);
      const { entries, cursor } = page.body;
      assert.ok(entries.length >= 2 && entries.length < 80, `${label}: ${entries.length} entries`);
      const indexes = entries.map(({ key, value }) => {
        assert.equal(key[0], 'big');
        assert.equal(bigIndexOf(value), key[1], `${label}: the value of ${JSON.stringify(key)} is another key's`);
        assert.equal(value, bigValue(key[1]), `${label}: the value of ${JSON.stringify(key)} is wrong`);
        return key[1];
      });
      for (let i = 1; i < indexes.length; i++) assert.ok(reverse ? indexes[i] < indexes[i - 1] : indexes[i] > indexes[i - 1], `${label}: not in key order`);
      const valueBytes = entries.map(({ value }) => JSON.stringify(value).length);
      const beforeLast = valueBytes.slice(0, -1).reduce((a, b) => a + b, 0);
      assert.ok(beforeLast < MAX_LIST_PAGE_BYTES, `${label}: the page went on past 1 MiB (${beforeLast} value bytes before its last entry)`);
      return { indexes, cursor, bytes: valueBytes.reduce((a, b) => a + b, 0) };
    };

    // 32 concurrent first pages of limit 1000, half of them reversed.
    const firstPages = await Promise.all(Array.from({ length: 32 }, (_, i) =>
      send('/v1/list', store.accessToken, { prefix: ['big'], limit: 1000, reverse: i % 2 === 1 })));
    const sizes = new Set();
    firstPages.forEach((page, i) => {
      const { indexes, cursor, bytes } = checkPage(page, i % 2 === 1, `first page ${i}`);
      assert.equal(typeof cursor, 'string', `first page ${i} is cut and carries a cursor`);
      assert.ok(bytes >= MAX_LIST_PAGE_BYTES - 64 * indexes.length, `first page ${i} was cut early: ${bytes} value bytes`);
      assert.equal(indexes[0], i % 2 === 1 ? BIG_ENTRIES - 1 : 0);
      sizes.add(indexes.length);
    });
    assert.equal(sizes.size, 1, `the same page has the same size every time: ${[...sizes]}`);

    // Four whole walks at once, two each way, each page cut at 1 MiB.
    const walks = await Promise.all([false, true, false, true].map(async (reverse, w) => {
      const seen = [];
      let cursor;
      for (let pages = 0; pages < 40; pages++) {
        const page = await send('/v1/list', store.accessToken, { prefix: ['big'], limit: 1000, reverse, ...(cursor ? { cursor } : {}) });
        const checked = checkPage(page, reverse, `walk ${w} page ${pages}`);
        seen.push(...checked.indexes);
        cursor = checked.cursor;
        if (cursor === null) break;
      }
      assert.equal(cursor, null, `walk ${w} ended`);
      return seen;
    }));
    const ascending = Array.from({ length: BIG_ENTRIES }, (_, i) => i);
    for (const [w, seen] of walks.entries()) {
      assert.deepEqual(seen, w % 2 === 1 ? [...ascending].reverse() : ascending, `walk ${w} saw every entry once, in order`);
    }

    // 16 concurrent gets of 100 values of 16 KiB: 1.6 MiB answers.
    const gets = await Promise.all(Array.from({ length: 16 }, (_, g) => {
      const keys = Array.from({ length: 100 }, (_, k) => bigKey((g * 37 + k) % BIG_ENTRIES));
      return send('/v1/get', store.accessToken, { keys }).then((answer) => ({ answer, keys }));
    }));
    for (const { answer, keys } of gets) {
      assert.equal(answer.status, 200, answer.text.slice(0, 300));
      assert.deepEqual(answer.body.entries.map((e) => e.key), keys);
      for (const { key, value } of answer.body.entries) assert.equal(value, bigValue(key[1]));
    }

    // Counts, raw and through the client, while the client exports.
    const [counts, counted, exported] = await Promise.all([
      Promise.all(Array.from({ length: 8 }, () => send('/v1/count', store.accessToken, { prefix: ['big'] }))),
      kv.count({ prefix: ['big'] }),
      (async () => {
        const lines = [];
        for await (const line of kv.export({ prefix: ['big'] })) lines.push(JSON.parse(line));
        return lines;
      })(),
    ]);
    for (const count of counts) assert.deepEqual([count.status, count.body?.count], [200, BIG_ENTRIES], count.text);
    assert.equal(counted, BIG_ENTRIES);
    assert.equal(exported.length, BIG_ENTRIES);
    exported.forEach((line, i) => {
      assert.deepEqual(line.key, bigKey(i));
      assert.equal(line.value, bigValue(i));
    });
    console.log(`# memory: ${BIG_ENTRIES} x 16 KiB; first page of limit 1000 holds ${[...sizes][0]} entries; ` +
      `32 concurrent pages, 4 concurrent walks, 16 gets of 1.6 MiB, 9 counts and an export all exact`);
  }));

  test('2. hostile bodies: hundreds of ~2 MiB requests of deep nesting, garbage and oversized keys are each a 4xx', { timeout: 60_000 }, () => phase('hostile bodies', async () => {
    const { store, kv } = hostile;
    const size = MAX_REQUEST_BYTES - 64;
    const depth = Math.floor((size - 40) / 2);
    const KINDS = {
      'deep arrays in a value': ['/v1/set', `{"key":["a"],"value":${'['.repeat(depth)}${']'.repeat(depth)}}`],
      'deep objects in a mutation': ['/v1/atomic', `{"mutations":[{"type":"set","key":["a"],"value":${'{"a":'.repeat(Math.floor((size - 80) / 6))}1${'}'.repeat(Math.floor((size - 80) / 6))}}]}`],
      'deep arrays in a key': ['/v1/delete', `{"key":${'['.repeat(depth)}${']'.repeat(depth)}}`],
      'deep arrays in a list prefix': ['/v1/list', `{"prefix":${'['.repeat(depth)}${']'.repeat(depth)}}`],
      'deep arrays in watch keys': ['/v1/watch', `{"keys":${'['.repeat(depth)}${']'.repeat(depth)}}`],
      '2 MiB of unclosed brackets': ['/v1/get', '['.repeat(size)],
      '2 MiB of random bytes': ['/v1/set', randomBytes(size)],
      'lone surrogates in a key': ['/v1/set', `{"key":["${'\\ud800'.repeat(Math.floor((size - 40) / 6))}"],"value":1}`],
      'a number of 2 million digits in a key': ['/v1/set', `{"key":[1${'0'.repeat(size - 30)}],"value":1}`],
      'a number of 2 million digits in a value': ['/v1/set', `{"key":["a"],"value":1${'0'.repeat(size - 30)}}`],
      'a 2 MiB key': ['/v1/set', `{"key":["${'k'.repeat(size - 40)}"],"value":1}`],
      'a 2 MiB bytes key part': ['/v1/set', `{"key":[{"bytes":"${'A'.repeat(Math.floor((size - 60) / 4) * 4)}"}],"value":1}`],
      'a 2 MiB bigint': ['/v1/set', `{"key":[{"bigint":"${'9'.repeat(size - 60)}"}],"value":1}`],
      'a 2 MiB count prefix': ['/v1/count', `{"prefix":["${'p'.repeat(size - 40)}"]}`],
      'a 2 MiB watch key': ['/v1/watch', `{"keys":[["${'k'.repeat(size - 40)}"]]}`],
      'a 2 MiB value': ['/v1/set', `{"key":["a"],"value":"${'v'.repeat(size - 40)}"}`],
      'a 2 MiB value of escapes': ['/v1/set', `{"key":["a"],"value":"${'\\u0000'.repeat(Math.floor((size - 40) / 6))}"}`],
      'an object of 145,000 fields': ['/v1/set', `{"key":["w"],"value":{${Array.from({ length: Math.floor((size - 40) / 12) }, (_, i) => `"${i.toString(36).padStart(5, '0')}":1`).join(',')}}}`],
      '349,000 keys in a get': ['/v1/get', `{"keys":[${new Array(Math.floor((size - 20) / 6)).fill('["a"]').join(',')}]}`],
      '52,000 mutations': ['/v1/atomic', `{"mutations":[${new Array(Math.floor((size - 20) / 40)).fill('{"type":"delete","key":["a"]}').join(',')}]}`],
      '100 keys of 20 KiB in a get': ['/v1/get', JSON.stringify({ keys: Array.from({ length: 100 }, (_, i) => [`${i}${'k'.repeat(20_000)}`]) })],
      'one byte over 2 MiB': ['/v1/set', `{"key":["a"],"value":"${'v'.repeat(MAX_REQUEST_BYTES - 23)}"}`],
    };
    for (const [name, [, body]] of Object.entries(KINDS)) {
      const bytes = Buffer.byteLength(body);
      assert.ok(bytes > MiB && bytes <= MAX_REQUEST_BYTES + 1, `${name}: ${bytes} bytes`);
    }
    assert.equal(Buffer.byteLength(KINDS['one byte over 2 MiB'][1]), MAX_REQUEST_BYTES + 1);

    const before = await send('/v1/set', store.accessToken, { key: ['marker'], value: 'before' });
    assert.equal(before.status, 200);
    const jobs = [];
    for (let round = 0; round < HOSTILE_BODIES_PER_KIND; round++) {
      for (const [name, [path, body]] of Object.entries(KINDS)) {
        jobs.push(async () => {
          try {
            const answer = await send(path, store.accessToken, body);
            return { name, status: answer.status, code: answer.body?.error?.code, text: answer.text.slice(0, 200) };
          } catch (error) {
            return { name, status: null, code: null, text: `no answer: ${error?.message ?? error} ${error?.cause ?? ''}` };
          }
        });
      }
    }
    const started = performance.now();
    const answers = await pooled(jobs, 8);
    const seconds = (performance.now() - started) / 1000;
    const byKind = new Map();
    for (const { name, status, code } of answers) {
      const seen = byKind.get(name) ?? new Set();
      seen.add(`${status} ${code}`);
      byKind.set(name, seen);
    }
    console.log(`# hostile bodies: ${answers.length} requests in ${seconds.toFixed(1)} s: ` +
      [...byKind].map(([name, seen]) => `${name} -> ${[...seen].join('|')}`).join('; '));
    const bad = answers.filter(({ status, code }) => !(status >= 400 && status < 500 && typeof code === 'string'));
    assert.deepEqual(bad, [], 'every hostile body is refused with a 4xx and the error JSON');

    // Refused requests changed nothing: no commit took a version, the data is whole.
    const afterwards = await send('/v1/set', store.accessToken, { key: ['marker'], value: 'after' });
    assert.equal(afterwards.status, 200);
    assert.equal(afterwards.body.version, nextVersion(before.body.version), 'no refused request committed anything');
    assert.equal(await kv.count({ prefix: ['big'] }), BIG_ENTRIES);
    assert.equal((await kv.get(['a'])).value, null);
    assert.equal((await kv.get(['w'])).value, null);
  }));

  test('3. watches: 64 unread watches, the 65th refused, writes to the watched keys still answer', { timeout: 90_000 }, () => phase('watches', async () => {
    const { store } = hostile;
    const keys = Array.from({ length: 10 }, (_, i) => ['w', i]);
    const valueOf = (round, i) => `${String(round).padStart(4, '0')}:${i}:${'w'.repeat(MAX_VALUE_BYTES - 2 - 10)}`;
    const writeRound = (round) => send('/v1/atomic', store.accessToken,
      { mutations: keys.map((key, i) => ({ type: 'set', key, value: valueOf(round, i) })) });
    assert.equal((await writeRound(0)).status, 200);

    // Each watch's first event is 10 values of 16 KiB; none is ever read.
    const watches = await Promise.all(Array.from({ length: MAX_WATCHES_PER_STORE }, () => openWatch(store.accessToken, keys)));
    assert.deepEqual([...new Set(watches.map((w) => w.response.status))], [200]);
    const refused = await Promise.all(Array.from({ length: 5 }, () => send('/v1/watch', store.accessToken, { keys })));
    for (const answer of refused) {
      assert.equal(answer.status, 429, answer.text.slice(0, 200));
      assert.equal(answer.body.error.code, 'too_many_watches');
    }

    // The cap is the hostile store's: the bystander still opens a watch, and it reports the probe's writes.
    const controller = new AbortController();
    openWatches.add(controller);
    const bystanderKv = connect({ accessToken: bystander.store.accessToken, region: bystander.store.region, endpoint: emulator.url });
    const reader = bystanderKv.watch([['counter']], { signal: controller.signal }).getReader();
    const readEvent = () => Promise.race([
      reader.read(),
      sleep(REQUEST_TIMEOUT_MS).then(() => ({ timedOut: true })),
    ]);
    const first = await readEvent();
    assert.ok(!first.timedOut && !first.done, 'the bystander\'s watch opened beside 64 hostile ones');
    const firstValue = first.value.entries[0].value;
    const second = await readEvent();
    assert.ok(!second.timedOut && !second.done, 'the bystander\'s watch reported a change');
    assert.ok(second.value.entries[0].value > firstValue, `counter ${second.value.entries[0].value} after ${firstValue}`);
    controller.abort();
    openWatches.delete(controller);
    await reader.cancel().catch(() => {});

    // 40 rounds of 160 KiB to the keys 64 stalled watchers watch.
    const writes = [];
    for (let round = 1; round <= 40; round++) {
      const answer = await writeRound(round);
      assert.equal(answer.status, 200, answer.text.slice(0, 200));
      writes.push(answer.ms);
      if (round % 10 === 0) {
        const read = await send('/v1/get', store.accessToken, { keys });
        assert.equal(read.status, 200);
        assert.deepEqual(read.body.entries.map((e) => e.value), keys.map((_, i) => valueOf(round, i)));
      }
    }
    writes.sort((a, b) => a - b);
    console.log(`# watches: 40 writes of 160 KiB under 64 unread watches: p50=${percentile(writes, 50).toFixed(1)}ms max=${writes.at(-1).toFixed(1)}ms`);

    // Closing them frees the slots: the runtime notices a closed connection
    // only when it writes to it, so the store's keep-alive (10 s) and stall
    // (15 s) bounds free them within 25 s (docs/reliability.md#bounds).
    for (const watch of watches) closeWatch(watch);
    const closedAt = Date.now();
    for (let round = 41; round <= 42; round++) assert.equal((await writeRound(round)).status, 200);
    let reopened;
    let refusals = 0;
    for (;;) {
      reopened = await openWatch(store.accessToken, keys);
      if (reopened.response.status === 200 || Date.now() - closedAt > 40_000) break;
      refusals++;
      closeWatch(reopened);
      await sleep(200);
    }
    if (reopened.response.status !== 200) {
      const { error } = await reopened.response.json();
      assert.fail(`64 closed watches still held every slot ${((Date.now() - closedAt) / 1000).toFixed(1)} s after ` +
        `their clients went away: ${refusals + 1} reopenings refused ${reopened.response.status} ${error?.code}`);
    }
    closeWatch(reopened);
  }));

  test('4. quota: a store of 50 operations is exhausted; then 429 quota_exceeded, short list pages, no overcommit', { timeout: 60_000 }, () => phase('quota', async () => {
    const limits = { opsPerMonth: QUOTA, storageBytes: null };
    const quotaStore = await createStore(emulator, 'eu-central-1', limits);
    const token = quotaStore.accessToken;
    // 40 sets at once (40 operations), then 5 gets (45).
    const sets = await Promise.all(Array.from({ length: 40 }, (_, i) => send('/v1/set', token, { key: ['q', i], value: i })));
    assert.deepEqual([...new Set(sets.map((s) => s.status))], [200]);
    for (let i = 0; i < 5; i++) {
      const got = await send('/v1/get', token, { keys: [['q', i]] });
      assert.equal(got.status, 200);
      assert.equal(got.body.entries[0].value, i);
    }
    // A list of 1,000 gets the 5 entries the month has left, and a cursor.
    const page = await send('/v1/list', token, { prefix: ['q'], limit: 1000 });
    assert.equal(page.status, 200, page.text);
    assert.deepEqual(page.body.entries.map((e) => e.value), [0, 1, 2, 3, 4]);
    assert.equal(typeof page.body.cursor, 'string', 'a short page carries a cursor');
    assert.equal(page.headers.get('ratelimit-remaining'), '0');
    // Then everything is refused, and refusals cost nothing.
    const refusals = await Promise.all([
      send('/v1/list', token, { prefix: ['q'], limit: 1000, cursor: page.body.cursor }),
      send('/v1/list', token, { prefix: ['q'] }),
      send('/v1/get', token, { keys: [['q', 0]] }),
      send('/v1/set', token, { key: ['q', 99], value: 1 }),
      send('/v1/delete', token, { key: ['q', 0] }),
      send('/v1/atomic', token, { mutations: [{ type: 'set', key: ['q', 98], value: 1 }] }),
      send('/v1/count', token, { prefix: [] }),
      ...Array.from({ length: 30 }, (_, i) => send('/v1/set', token, { key: ['more', i], value: i })),
    ]);
    for (const answer of refusals) {
      assert.equal(answer.status, 429, answer.text.slice(0, 200));
      assert.equal(answer.body.error.code, 'quota_exceeded');
    }
    const usage = await send('/v1/usage', token, undefined, { method: 'GET' });
    assert.equal(usage.status, 200);
    assert.equal(usage.body.usage.operations, QUOTA, 'refusals cost nothing');

    // 80 concurrent sets against 50 operations: exactly 50 land.
    const raced = await createStore(emulator, 'eu-central-1', limits);
    const racing = await Promise.all(Array.from({ length: 80 }, (_, i) => send('/v1/set', raced.accessToken, { key: ['r', i], value: i })));
    const statuses = racing.map((answer) => answer.status);
    assert.equal(statuses.filter((s) => s === 200).length, QUOTA, `statuses ${[...new Set(statuses)]}`);
    assert.equal(statuses.filter((s) => s === 429).length, 80 - QUOTA);
    const raised = await admin(`/v1/admin/stores/${raced.id}`, { limits: { opsPerMonth: null } }, 'PATCH');
    assert.equal(raised.status, 200, raised.text);
    const counted = await send('/v1/count', raced.accessToken, { prefix: ['r'] });
    assert.equal(counted.body.count, QUOTA, 'exactly the answered sets were stored');
    const landed = racing.flatMap((answer, i) => (answer.status === 200 ? [i] : []));
    const listed = await send('/v1/list', raced.accessToken, { prefix: ['r'] });
    assert.deepEqual(listed.body.entries.map((e) => e.key[1]).sort((a, b) => a - b), landed);
  }));

  test('5. traps: 50 requests trapped in the shared wasm core are each a 500; the bystander answers throughout', { timeout: 60_000 }, () => phase('traps', async () => {
    const { store, kv } = hostile;
    const armed = await admin('/v1/admin/faults', { store: store.id, fault: 'trap', count: TRAPS });
    assert.equal(armed.status, 200, armed.text);
    const hostileRequests = [
      () => send('/v1/get', store.accessToken, { keys: [bigKey(1)] }),
      () => send('/v1/set', store.accessToken, { key: ['trapped'], value: 1 }),
      () => send('/v1/list', store.accessToken, { prefix: ['big'], limit: 1000 }),
      () => send('/v1/count', store.accessToken, { prefix: [] }),
      () => send('/v1/atomic', store.accessToken, { mutations: [{ type: 'sum', key: ['n'], value: '1' }] }),
    ];
    const statuses = new Map();
    for (let sent = 0; sent < TRAPS; sent += 5) {
      // Five trapped requests at once, each beside a bystander read.
      const [trapped] = await Promise.all([
        Promise.all(hostileRequests.map((request) => request())),
        Promise.all(hostileRequests.map(() => bystander.probe.checkKnown('traps'))),
      ]);
      for (const { status, body } of trapped) {
        const key = `${status} ${body?.error?.code}`;
        statuses.set(key, (statuses.get(key) ?? 0) + 1);
      }
      await sleep(30);
    }
    assert.deepEqual([...statuses], [['500 internal_error', TRAPS]], 'each trapped request is a 500, nothing worse');
    // The fault is spent; the hostile store is whole and works again.
    const set = await send('/v1/set', store.accessToken, { key: ['trapped'], value: 2 });
    assert.equal(set.status, 200, set.text);
    assert.equal((await kv.get(['trapped'])).value, 2);
    assert.equal((await kv.get(['n'])).value, null, 'no trapped commit was applied');
    assert.equal(await kv.count({ prefix: ['big'] }), BIG_ENTRIES);
    assert.equal((await kv.get(bigKey(7))).value, bigValue(7));
  }));

  test('the bystander answered every probe, correctly, through all of it', { timeout: 30_000 }, async () => {
    const { probe } = bystander;
    await probe.stop();
    const phases = ['memory', 'hostile bodies', 'watches', 'quota', 'traps'];
    for (const name of phases) {
      const samples = probe.samples.filter((s) => s.phase === name);
      console.log(`# bystander during ${name}: ${latencySummary(samples)}`);
    }
    console.log(`# bystander latency (all ${probe.ticks} ticks, get/set/list): ${latencySummary(probe.samples)}; ` +
      `errors=${probe.errors.length} wrong=${probe.wrong.length}; answers lost by the dev proxy: ${JSON.stringify(lostAnswers)}`);
    assert.deepEqual(probe.errors, [], 'the bystander got an answer, 200, to every request');
    assert.deepEqual(probe.wrong, [], 'every answer of the bystander was what it wrote');
    for (const name of phases) {
      assert.ok(probe.samples.some((s) => s.phase === name), `the bystander was probed during ${name}`);
    }
  });
});
