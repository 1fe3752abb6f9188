// ESM client of the key-value store: a thin layer over docs/http-api.md.
// No dependencies, so it runs unchanged on Node >= 20, Deno, Bun and Workers.
// This module holds connect() and the Kv handle with its transport; the
// parts are modules of their own: limits.js (the store's limits), wire.js
// (the JSON codec of keys, values and entries), atomic.js (the commit
// builder), list.js, watch.js, import.js, streams.js (NDJSON and
// server-sent events), sizes.js (what the store counts), keys.js (key
// order), errors.js, base64.js.
//
// Code written for Deno KV (Deno.Kv) runs on it with only the line that
// opens the database changed: entries and commits carry `versionstamp`,
// list() answers a KvListIterator, atomic() has mutate(), and there are
// commitVersionstamp(), close() and Symbol.dispose (README, "Code written
// for Deno KV").

import { AtomicOperation } from './atomic.js';
import { describe, errorOf, KvError } from './errors.js';
import { IMPORT_BATCH_SIZE, importLines } from './import.js';
import { compareKeys } from './keys.js';
import { MAX_KEYS_PER_GET, MAX_KEYS_PER_WATCH, MAX_LIST_BATCH } from './limits.js';
import { KvListIterator } from './list.js';
import { parseJson } from './streams.js';
import { watchStream } from './watch.js';
import { COMMIT_VERSIONSTAMP, decodeEntry, encodeKey, encodeSelector, encodeSetKey, encodeSetOptions, encodeValue } from './wire.js';

export { AtomicOperation } from './atomic.js';
export { KvError } from './errors.js';
export { KvListIterator } from './list.js';
export { encodedKeyLength } from './sizes.js';
export { KvU64, KvV8Value } from './wire.js';

// Deno KV's list batches: the limit, or 100, at most 500 unless asked.
const DEFAULT_BATCH_SIZE = 100;
const MAX_DEFAULT_BATCH_SIZE = 500;
const CONSISTENCY_LEVELS = ['strong', 'eventual'];
// Where the runtime has no Symbol.dispose yet, the symbol TypeScript's `using` looks for.
const DISPOSE = Symbol.dispose ?? Symbol.for('Symbol.dispose');
const ASYNC_DISPOSE = Symbol.asyncDispose ?? Symbol.for('Symbol.asyncDispose');

/** Opens a handle on one store. Sends nothing: every method is one request. */
export function connect({ accessToken, region, endpoint, fetch = globalThis.fetch, dangerouslyAllowBrowser = false } = {}) {
  if (!dangerouslyAllowBrowser && typeof globalThis.window === 'object' && typeof globalThis.document === 'object') {
    throw new Error(
      'connect() refuses to run in a browser: the access token is a secret that grants full access to the store, ' +
        'and any page that holds it gives it away. Call the store from your backend; pass ' +
        '`dangerouslyAllowBrowser: true` only if this code is not served to users.',
    );
  }
  requireOption('accessToken', accessToken, "your store's access token");
  requireOption('region', region, '"eu-central-1"');
  // `process` is absent in Workers (without nodejs_compat) and in browsers.
  const baseUrl = endpoint ?? globalThis.process?.env?.KV_ENDPOINT;
  if (typeof baseUrl !== 'string' || baseUrl === '') {
    throw new TypeError('connect() needs the store URL: pass `endpoint` (e.g. "https://kv.example.com") or set KV_ENDPOINT');
  }
  if (typeof fetch !== 'function') {
    throw new TypeError(`connect() needs a fetch function: pass one as \`fetch\` (like globalThis.fetch), got ${describe(fetch)}`);
  }
  return new Kv({ accessToken, region, endpoint: baseUrl.replace(/\/+$/, ''), fetch });
}

function requireOption(name, value, example) {
  if (typeof value !== 'string' || value === '') {
    throw new TypeError(`connect() needs ${name} as a non-empty string (e.g. ${example}), got ${describe(value)}`);
  }
}

class Kv {
  #accessToken;
  #region;
  #endpoint;
  #fetch;
  #closed = false;
  // One per request in flight and per open watch, aborted by close(). (Not
  // one signal shared by all: Node warns past 10 listeners on a signal.)
  #inFlight = new Set();

  constructor({ accessToken, region, endpoint, fetch }) {
    this.#accessToken = accessToken;
    this.#region = region;
    this.#endpoint = endpoint;
    this.#fetch = fetch;
  }

  get region() {
    return this.#region;
  }

  /** Reads one key. `options.consistency` is accepted for Deno KV's sake: every read is strong. */
  async get(key, options) {
    this.#ensureOpen('get');
    readOptions(options, 'get');
    const [entry] = await this.#getEntries([encodeKey(key, 'key')]);
    return entry;
  }

  async getMany(keys, options) {
    this.#ensureOpen('getMany');
    if (!Array.isArray(keys)) {
      throw new TypeError(`getMany() takes an array of keys, got ${describe(keys)}`);
    }
    if (keys.length < 1 || keys.length > MAX_KEYS_PER_GET) {
      throw new TypeError(`getMany() takes 1 to ${MAX_KEYS_PER_GET} keys, got ${keys.length}; split larger reads`);
    }
    readOptions(options, 'getMany');
    return this.#getEntries(keys.map((key, index) => encodeKey(key, `keys[${index}]`)));
  }

  /** Writes a value; a key ending in kv.commitVersionstamp() gets the commit's version as its last part. */
  async set(key, value, options) {
    this.#ensureOpen('set');
    const body = { ...encodeSetKey(key, 'key'), ...encodeValue(value, 'value'), ...encodeSetOptions(options, 'options') };
    const { version } = await this.#post('set', body);
    return { ok: true, version, versionstamp: version };
  }

  /**
   * The placeholder of the commit's version (Deno KV's): the last part of a
   * key being set (kv.set(), atomic().set() or a "set" mutation) becomes the
   * commit's version, a string of 20 hex digits. Anywhere else it is refused.
   */
  commitVersionstamp() {
    this.#ensureOpen('commitVersionstamp');
    return COMMIT_VERSIONSTAMP;
  }

  /**
   * Entries of a selector in key order, as Deno KV's KvListIterator: an async
   * iterator with a `cursor` to resume from.
   */
  list(selector, options = {}) {
    this.#ensureOpen('list');
    const wireSelector = encodeSelector(selector);
    if (typeof options !== 'object' || options === null) {
      throw new TypeError(`list() options must be an object like { limit: 10 }, got ${describe(options)}`);
    }
    const { limit, reverse = false, cursor, keysOnly = false, consistency } = options;
    if (limit !== undefined && !(Number.isInteger(limit) && limit > 0)) {
      throw new TypeError(`list() limit must be a positive whole number, got ${describe(limit)}`);
    }
    const batchSize = options.batchSize ?? Math.min(limit ?? DEFAULT_BATCH_SIZE, MAX_DEFAULT_BATCH_SIZE);
    if (!(Number.isInteger(batchSize) && batchSize >= 1 && batchSize <= MAX_LIST_BATCH)) {
      throw new TypeError(`list() batchSize must be a whole number from 1 to ${MAX_LIST_BATCH}, got ${describe(batchSize)}`);
    }
    if (cursor !== undefined && typeof cursor !== 'string') {
      throw new TypeError(`list() cursor must be a string from an earlier list, got ${describe(cursor)}`);
    }
    checkConsistency(consistency, 'list');
    const page = (after, size) => this.#post('list', { ...wireSelector, limit: size, reverse, keysOnly, cursor: after });
    return new KvListIterator(page, { limit: limit ?? Infinity, batchSize, cursor, error: rangeError(selector) });
  }

  /** How many live entries a selector holds. */
  async count(selector) {
    this.#ensureOpen('count');
    // The store counts at most 100,000 entries a request (kMaxCountScanEntries)
    // and answers a cursor for the rest: follow it to the end.
    const body = encodeSelector(selector);
    let total = 0;
    for (;;) {
      const { count, cursor } = await this.#post('count', body);
      total += count;
      if (cursor === null || cursor === undefined) return total;
      body.cursor = cursor;
    }
  }

  /** The store's limits and this month's usage. */
  async usage() {
    this.#ensureOpen('usage');
    return this.#request('GET', 'usage');
  }

  /**
   * The entries of a selector (default: the whole store) as newline-delimited
   * JSON, one line per entry: `{"key", "value", "valueType"?, "version",
   * "expiresAt"?}` with the key and value in their wire form (docs/http-api.md).
   */
  async *export(selector = { prefix: [] }) {
    this.#ensureOpen('export');
    for await (const entry of this.list(selector, { batchSize: MAX_LIST_BATCH })) {
      const line = { key: encodeKey(entry.key, 'key'), ...encodeValue(entry.value, 'value'), version: entry.version };
      if (entry.expiresAt !== undefined) line.expiresAt = entry.expiresAt;
      yield `${JSON.stringify(line)}\n`;
    }
  }

  /**
   * Writes the entries of an export (an iterable or async iterable of lines
   * or text chunks, e.g. a file stream) in batches that each commit
   * atomically. Entries keep their expiry; those already expired are
   * skipped. Versions are this store's own. Calls `onProgress({ imported,
   * skipped, batches })` after each batch and resolves to the same counts.
   *
   * A batch holds at most `batchSize` entries and never more than the store
   * takes in one commit: its encoded keys plus stored values stay within the
   * 800 KiB commit limit, counted as the store counts them, its keys within
   * 80 KiB, and its request within 2 MiB. An entry over a limit of its own (a key over 2,048 bytes, a
   * value over 16 KiB) is sent alone, after the lines before it, so the
   * store's refusal names that line.
   *
   * On failure nothing more is sent, and the import rejects with an error
   * that says which lines landed: a KvError (the store's `code` and `status`,
   * the original error as `cause`) when a batch failed, a TypeError for a line
   * that is not an exported entry. Besides the counts so far (`imported`,
   * `skipped`, `batches`) it carries `linesCommitted`, the number of the last
   * line whose entry is committed (0 if none): the entries of every line up
   * to it landed, none after it did. `failedLine` is the first line of the
   * batch that failed (or the malformed line), which the message names; to
   * resume, import again from line `linesCommitted + 1`. When the answer was
   * lost (`network_error`, `http_<status>`), the failed batch may also have
   * landed, whole: the message says so and names its lines.
   */
  async import(source, { batchSize = IMPORT_BATCH_SIZE, onProgress } = {}) {
    this.#ensureOpen('import');
    return importLines(source, { batchSize, onProgress }, (mutations) => this.#post('atomic', { checks: [], mutations }));
  }

  /**
   * A stream of events for 1 to 10 keys: first their current entries, then
   * again whenever one of them changes. An event is Deno KV's array of the
   * keys' entries, which also has `entries` (the same, as a plain array) and
   * `changed` (the indexes of the keys that changed). Reconnects after a
   * dropped connection; cancel the stream (or abort `signal`, or close the
   * handle) to end it. `raw`: an event after each reconnect, changed or not.
   */
  watch(keys, options = {}) {
    this.#ensureOpen('watch');
    if (!Array.isArray(keys) || keys.length < 1 || keys.length > MAX_KEYS_PER_WATCH) {
      throw new TypeError(`watch() takes an array of 1 to ${MAX_KEYS_PER_WATCH} keys, got ${Array.isArray(keys) ? keys.length : describe(keys)}`);
    }
    const { signal, raw = false } = options ?? {};
    const wireKeys = keys.map((key, index) => encodeKey(key, `keys[${index}]`));
    const url = `${this.#endpoint}/v1/watch`;
    // Called detached: Workers' fetch throws "Illegal invocation" when called as a method of another object.
    const fetch = this.#fetch;
    const open = (abortSignal) => fetch(url, this.#requestInit('POST', { keys: wireKeys }, abortSignal));
    const closer = new AbortController();
    this.#inFlight.add(closer);
    const onEnd = () => this.#inFlight.delete(closer);
    return watchStream(url, open, { signals: [signal, closer.signal], raw: raw === true, onEnd });
  }

  /** Deletes a key; resolves to whether an entry existed. */
  async delete(key) {
    this.#ensureOpen('delete');
    const { deleted } = await this.#post('delete', { key: encodeKey(key, 'key') });
    return deleted;
  }

  atomic() {
    this.#ensureOpen('atomic');
    return new AtomicOperation((body) => this.#post('atomic', body));
  }

  /**
   * Closes the handle: requests in flight are interrupted (they reject with
   * KvError "closed" and may or may not have been applied), open watches end
   * (their streams close), and every later call is refused with KvError
   * "closed". Closing again does nothing.
   */
  close() {
    this.#closed = true;
    for (const controller of this.#inFlight) controller.abort();
    this.#inFlight.clear();
  }

  [DISPOSE]() {
    this.close();
  }

  async [ASYNC_DISPOSE]() {
    this.close();
  }

  #ensureOpen(method) {
    if (this.#closed) {
      throw new KvError('closed', null, `kv.${method}() was called on a closed handle: kv.close() ended it; call connect() for a new one`);
    }
  }

  async #getEntries(wireKeys) {
    const { entries } = await this.#post('get', { keys: wireKeys });
    return entries.map(decodeEntry);
  }

  #post(route, body) {
    return this.#request('POST', route, body);
  }

  #requestInit(method, body, signal) {
    return {
      method,
      headers: {
        authorization: `Bearer ${this.#accessToken}`,
        // The store refuses a region other than its own, naming it.
        'kv-region': this.#region,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
      ...(signal ? { signal } : {}),
    };
  }

  async #request(method, route, body) {
    const url = `${this.#endpoint}/v1/${route}`;
    this.#ensureOpen(route); // also for the pages of a list and the commits of an atomic() made before close()
    const closer = new AbortController();
    const request = this.#requestInit(method, body, closer.signal);
    // Called detached: Workers' fetch throws "Illegal invocation" when called as a method of another object.
    const fetch = this.#fetch;
    let response;
    let text;
    this.#inFlight.add(closer);
    try {
      response = await fetch(url, request);
      text = await response.text();
    } catch (cause) {
      if (closer.signal.aborted) {
        throw new KvError('closed', null, `${method} ${url} was interrupted by kv.close(); it may or may not have been applied`, { cause });
      }
      throw new KvError('network_error', null, `${method} ${url} failed before an answer arrived: ${cause?.message ?? cause}`, { cause });
    } finally {
      this.#inFlight.delete(closer);
    }
    const answer = parseJson(text);
    if (response.ok && answer !== undefined) return answer;
    throw errorOf(method, url, response.status, answer, text);
  }
}

// The options of a read: Deno KV's consistency, which changes nothing here
// (one Durable Object serializes each store: every read is strong).
function readOptions(options, method) {
  if (options === undefined) return;
  if (typeof options !== 'object' || options === null) {
    throw new TypeError(`${method}() options must be an object like { consistency: "strong" }, got ${describe(options)}`);
  }
  checkConsistency(options.consistency, method);
}

function checkConsistency(consistency, method) {
  if (consistency !== undefined && !CONSISTENCY_LEVELS.includes(consistency)) {
    throw new TypeError(`${method}() consistency must be "strong" or "eventual", got ${describe(consistency)}`);
  }
}

// A {start, end} selector whose end sorts before its start: Deno KV's error,
// which the first next() of the list rejects with, as in Deno KV.
function rangeError(selector) {
  const { prefix, start, end } = selector;
  if (prefix !== undefined || start === undefined || end === undefined) return undefined;
  if (compareKeys(start, end) <= 0) return undefined;
  return new TypeError('Start key is greater than end key: the selector\'s end sorts before its start (docs/key-encoding.md has the order)');
}
