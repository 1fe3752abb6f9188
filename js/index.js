// ESM client of the key-value store: a thin layer over docs/http-api.md.
// No dependencies, so it runs unchanged on Node >= 20, Deno, Bun and Workers.
// This module holds connect() and the Kv handle with its transport; the
// parts are modules of their own: limits.js (the store's limits), wire.js
// (the JSON codec of keys, values and entries), atomic.js (the commit
// builder), list.js, watch.js, import.js, streams.js (NDJSON and
// server-sent events), sizes.js (what the store counts), errors.js.

import { AtomicOperation } from './atomic.js';
import { describe, errorOf, KvError } from './errors.js';
import { IMPORT_BATCH_SIZE, importLines } from './import.js';
import { MAX_KEYS_PER_GET, MAX_KEYS_PER_WATCH, MAX_LIST_BATCH } from './limits.js';
import { ListIterator } from './list.js';
import { parseJson } from './streams.js';
import { watchStream } from './watch.js';
import { decodeEntry, encodeKey, encodeSelector, encodeSetOptions, encodeValue } from './wire.js';

export { KvError } from './errors.js';
export { encodedKeyLength } from './sizes.js';
export { KvU64 } from './wire.js';

const DEFAULT_BATCH_SIZE = 100;

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

  constructor({ accessToken, region, endpoint, fetch }) {
    this.#accessToken = accessToken;
    this.#region = region;
    this.#endpoint = endpoint;
    this.#fetch = fetch;
  }

  get region() {
    return this.#region;
  }

  async get(key) {
    const [entry] = await this.#getEntries([encodeKey(key, 'key')]);
    return entry;
  }

  async getMany(keys) {
    if (!Array.isArray(keys)) {
      throw new TypeError(`getMany() takes an array of keys, got ${describe(keys)}`);
    }
    if (keys.length < 1 || keys.length > MAX_KEYS_PER_GET) {
      throw new TypeError(`getMany() takes 1 to ${MAX_KEYS_PER_GET} keys, got ${keys.length}; split larger reads`);
    }
    return this.#getEntries(keys.map((key, index) => encodeKey(key, `keys[${index}]`)));
  }

  async set(key, value, options) {
    const body = { key: encodeKey(key, 'key'), ...encodeValue(value, 'value'), ...encodeSetOptions(options, 'options') };
    const { version } = await this.#post('set', body);
    return { ok: true, version };
  }

  /** Entries of a selector in key order, as an async iterator with a `cursor` to resume from. */
  list(selector, options = {}) {
    const wireSelector = encodeSelector(selector);
    const { limit, reverse = false, cursor, batchSize = DEFAULT_BATCH_SIZE, keysOnly = false } = options;
    if (limit !== undefined && !(Number.isInteger(limit) && limit > 0)) {
      throw new TypeError(`list() limit must be a positive whole number, got ${describe(limit)}`);
    }
    if (!(Number.isInteger(batchSize) && batchSize >= 1 && batchSize <= MAX_LIST_BATCH)) {
      throw new TypeError(`list() batchSize must be a whole number from 1 to ${MAX_LIST_BATCH}, got ${describe(batchSize)}`);
    }
    if (cursor !== undefined && typeof cursor !== 'string') {
      throw new TypeError(`list() cursor must be a string from an earlier list, got ${describe(cursor)}`);
    }
    const page = (after, size) => this.#post('list', { ...wireSelector, limit: size, reverse, keysOnly, cursor: after });
    return new ListIterator(page, { limit: limit ?? Infinity, batchSize, cursor });
  }

  /** How many live entries a selector holds. */
  async count(selector) {
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
    return this.#request('GET', 'usage');
  }

  /**
   * The entries of a selector (default: the whole store) as newline-delimited
   * JSON, one line per entry: `{"key", "value", "valueType"?, "version",
   * "expiresAt"?}` with the key in its wire form (docs/http-api.md).
   */
  async *export(selector = { prefix: [] }) {
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
   * 800 KiB commit limit, counted as the store counts them, and its request
   * within 2 MiB. An entry over a limit of its own (a key over 2,048 bytes, a
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
    return importLines(source, { batchSize, onProgress }, (mutations) => this.#post('atomic', { checks: [], mutations }));
  }

  /**
   * A stream of `{ entries, changed }` for 1 to 10 keys: first their current
   * entries, then again whenever one of them changes (`changed` holds the
   * indexes of the keys that did). Reconnects after a dropped connection;
   * cancel the stream (or abort `signal`) to close it.
   */
  watch(keys, { signal } = {}) {
    if (!Array.isArray(keys) || keys.length < 1 || keys.length > MAX_KEYS_PER_WATCH) {
      throw new TypeError(`watch() takes an array of 1 to ${MAX_KEYS_PER_WATCH} keys, got ${Array.isArray(keys) ? keys.length : describe(keys)}`);
    }
    const wireKeys = keys.map((key, index) => encodeKey(key, `keys[${index}]`));
    const url = `${this.#endpoint}/v1/watch`;
    // Called detached: Workers' fetch throws "Illegal invocation" when called as a method of another object.
    const fetch = this.#fetch;
    return watchStream(url, (abortSignal) => fetch(url, this.#requestInit('POST', { keys: wireKeys }, abortSignal)), signal);
  }

  async delete(key) {
    const { deleted } = await this.#post('delete', { key: encodeKey(key, 'key') });
    return deleted;
  }

  atomic() {
    return new AtomicOperation((body) => this.#post('atomic', body));
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
    const request = this.#requestInit(method, body);
    // Called detached: Workers' fetch throws "Illegal invocation" when called as a method of another object.
    const fetch = this.#fetch;
    let response;
    let text;
    try {
      response = await fetch(url, request);
      text = await response.text();
    } catch (cause) {
      throw new KvError('network_error', null, `${method} ${url} failed before an answer arrived: ${cause?.message ?? cause}`, { cause });
    }
    const answer = parseJson(text);
    if (response.ok && answer !== undefined) return answer;
    throw errorOf(method, url, response.status, answer, text);
  }
}
