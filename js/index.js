// ESM client of the key-value store: a thin layer over docs/http-api.md.
// No dependencies, so it runs unchanged on Node >= 20, Deno, Bun and Workers.
// This module holds connect() and the Kv handle; the parts are modules of
// their own: transport.js (fetch, timeouts, cancellation, retries with
// backoff, idempotency keys), batch.js (auto-batching of get), limits.js
// (the store's limits), wire.js (the JSON codec of keys, values and
// entries), atomic.js (the commit builder), list.js, watch.js (resumable
// watch), queue.js (enqueues and the queue listener), resumable.js (the
// reconnecting event stream of watch and listenQueue), import.js,
// streams.js (NDJSON and server-sent events), sizes.js
// (what the store counts), keys.js (key order), errors.js, base64.js,
// version.js (the User-Agent).
//
// Code written for Deno KV (Deno.Kv) runs on it with only the line that
// opens the database changed: entries and commits carry `versionstamp`,
// list() answers a KvListIterator, atomic() has mutate(), and there are
// commitVersionstamp(), enqueue() and listenQueue(), close() and
// Symbol.dispose (README, "Code written for Deno KV").

import { AtomicOperation, writeOptions } from './atomic.js';
import { GetBatcher } from './batch.js';
import { describe, KvError } from './errors.js';
import { IMPORT_BATCH_SIZE, importLines } from './import.js';
import { compareKeys } from './keys.js';
import { MAX_KEYS_PER_GET, MAX_KEYS_PER_WATCH, MAX_LIST_BATCH } from './limits.js';
import { KvListIterator } from './list.js';
import { encodeEnqueue, ENQUEUE_OPTIONS, listen, listenOptions } from './queue.js';
import { checkSignal, newIdempotencyKey, retryPolicy, timeoutOption, Transport } from './transport.js';
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

/**
 * Opens a handle on one store. Sends nothing: every method is one request
 * (retried as `retry` allows), but for get(), whose calls of one tick share
 * a request unless `batchGets` is false. README, "Using the client", lists
 * the options and their defaults.
 */
export function connect({
  accessToken,
  region,
  endpoint,
  fetch = globalThis.fetch,
  dangerouslyAllowBrowser = false,
  timeoutMs,
  retry,
  batchGets = true,
} = {}) {
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
  if (typeof batchGets !== 'boolean') {
    throw new TypeError(`connect() batchGets must be true or false, got ${describe(batchGets)}`);
  }
  const transport = new Transport({
    accessToken,
    region,
    endpoint: baseUrl.replace(/\/+$/, ''),
    fetch,
    timeoutMs: timeoutOption(timeoutMs),
    retry: retryPolicy(retry),
  });
  return new Kv({ region, transport, batchGets });
}

function requireOption(name, value, example) {
  if (typeof value !== 'string' || value === '') {
    throw new TypeError(`connect() needs ${name} as a non-empty string (e.g. ${example}), got ${describe(value)}`);
  }
}

class Kv {
  #region;
  #transport;
  #batcher; // null when batchGets is false

  constructor({ region, transport, batchGets }) {
    this.#region = region;
    this.#transport = transport;
    this.#batcher = batchGets
      ? new GetBatcher((keys, signal) => this.#transport.request('POST', 'get', { keys }, { signal }).then(({ entries }) => entries))
      : null;
  }

  get region() {
    return this.#region;
  }

  /**
   * Reads one key. `options.signal` aborts the call; `options.consistency`
   * is accepted for Deno KV's sake: every read is strong. The get() calls
   * of one tick are sent as one request (unless connect()'s batchGets is
   * false); each still resolves to its own entry or rejects with its own error.
   */
  async get(key, options) {
    this.#ensureOpen('get');
    const { signal } = readOptions(options, 'get');
    const wireKey = encodeKey(key, 'key');
    if (this.#batcher) return decodeEntry(await this.#batcher.get(key, wireKey, signal));
    const [entry] = await this.#getEntries([wireKey], signal);
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
    const { signal } = readOptions(options, 'getMany');
    return this.#getEntries(keys.map((key, index) => encodeKey(key, `keys[${index}]`)), signal);
  }

  /**
   * Writes a value; a key ending in kv.commitVersionstamp() gets the commit's
   * version as its last part. Options: `expireIn`, `signal`, `idempotencyKey`.
   */
  async set(key, value, options) {
    this.#ensureOpen('set');
    const wire = { ...encodeSetKey(key, 'key'), ...encodeValue(value, 'value') };
    const { signal, idempotencyKey, rest } = writeOptions(options, 'set', ['expireIn']);
    const body = { ...wire, ...encodeSetOptions(rest, 'options') };
    const { version } = await this.#write('set', body, { signal, idempotencyKey });
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
   * iterator with a `cursor` to resume from. `options.signal` aborts the
   * page being read and every later one.
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
    const signal = checkSignal(options.signal, 'list() options.signal');
    const page = (after, size) =>
      this.#transport.request('POST', 'list', { ...wireSelector, limit: size, reverse, keysOnly, cursor: after }, { signal });
    return new KvListIterator(page, { limit: limit ?? Infinity, batchSize, cursor, error: rangeError(selector) });
  }

  /** How many live entries a selector holds. `options.signal` aborts it. */
  async count(selector, options) {
    this.#ensureOpen('count');
    // The store counts at most 100,000 entries a request (kMaxCountScanEntries)
    // and answers a cursor for the rest: follow it to the end.
    const body = encodeSelector(selector);
    const { signal } = callOptions(options, 'count');
    let total = 0;
    for (;;) {
      const { count, cursor } = await this.#transport.request('POST', 'count', body, { signal });
      total += count;
      if (cursor === null || cursor === undefined) return total;
      body.cursor = cursor;
    }
  }

  /** The store's limits and this month's usage. `options.signal` aborts it. */
  async usage(options) {
    this.#ensureOpen('usage');
    const { signal } = callOptions(options, 'usage');
    return this.#transport.request('GET', 'usage', undefined, { signal });
  }

  /**
   * The entries of a selector (default: the whole store) as newline-delimited
   * JSON, one line per entry: `{"key", "value", "valueType"?, "version",
   * "expiresAt"?}` with the key and value in their wire form (docs/http-api.md).
   * `options.signal` aborts it.
   */
  async *export(selector = { prefix: [] }, options) {
    this.#ensureOpen('export');
    const { signal } = callOptions(options, 'export');
    for await (const entry of this.list(selector, { batchSize: MAX_LIST_BATCH, signal })) {
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
   * `signal` aborts it. Each batch is a write with an idempotency key of its
   * own, retried as any write.
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
   * lost (`network_error`, `timeout`, `aborted`, `closed`, `http_<status>`),
   * the failed batch may also have landed, whole: the message says so and
   * names its lines.
   */
  async import(source, { batchSize = IMPORT_BATCH_SIZE, onProgress, signal } = {}) {
    this.#ensureOpen('import');
    checkSignal(signal, 'import() options.signal');
    return importLines(source, { batchSize, onProgress }, (mutations) => this.#write('atomic', { checks: [], mutations }, { signal }));
  }

  /**
   * A stream of events for 1 to 10 keys: first their current entries, then
   * again whenever one of them changes. An event is Deno KV's array of the
   * keys' entries, which also has `entries` (the same, as a plain array) and
   * `changed` (the indexes of the keys that changed). Reconnects after a
   * dropped connection, with backoff, and then delivers the current entries
   * if any changed meanwhile; a 4xx (other than 408 and 429) ends it with
   * its KvError. Cancel the stream (or abort `signal`, or close the handle)
   * to end it. `raw`: an event after each reconnect, changed or not.
   */
  watch(keys, options = {}) {
    this.#ensureOpen('watch');
    if (!Array.isArray(keys) || keys.length < 1 || keys.length > MAX_KEYS_PER_WATCH) {
      throw new TypeError(`watch() takes an array of 1 to ${MAX_KEYS_PER_WATCH} keys, got ${Array.isArray(keys) ? keys.length : describe(keys)}`);
    }
    const { signal, raw = false } = options ?? {};
    checkSignal(signal, 'watch() options.signal');
    const wireKeys = keys.map((key, index) => encodeKey(key, `keys[${index}]`));
    const transport = this.#transport;
    const open = (abortSignal) => transport.openStream('watch', { keys: wireKeys }, abortSignal);
    const closer = transport.track();
    return watchStream(transport.url('watch'), open, {
      signals: [signal, closer.signal],
      raw: raw === true,
      onEnd: closer.release,
      backoff: (n) => transport.backoff(n),
      reconnect: transport.policy.maxAttempts > 1,
    });
  }

  /** Deletes a key; resolves to whether an entry existed. Options: `signal`, `idempotencyKey`. */
  async delete(key, options) {
    this.#ensureOpen('delete');
    const wireKey = encodeKey(key, 'key');
    const { signal, idempotencyKey } = writeOptions(options, 'delete');
    const { deleted } = await this.#write('delete', { key: wireKey }, { signal, idempotencyKey });
    return deleted;
  }

  /**
   * Enqueues a message (docs/queues.md): `value` as set() takes it (but a
   * KvU64); Deno KV's options `delay`, `keysIfUndelivered` and
   * `backoffSchedule`, checked with its TypeErrors; `signal`,
   * `idempotencyKey` as for any write. Resolves to the commit's result.
   */
  async enqueue(value, options) {
    this.#ensureOpen('enqueue');
    const { signal, idempotencyKey, rest } = writeOptions(options, 'enqueue', ENQUEUE_OPTIONS);
    const enqueues = [encodeEnqueue(value, rest, '')];
    const { version } = await this.#write('atomic', { enqueues }, { signal, idempotencyKey });
    return { ok: true, version, versionstamp: version };
  }

  /**
   * Hands each message of the store's queue to `handler` as it is due (at
   * most `concurrency` at once, the store's window): a handler that
   * resolves acknowledges it, one that throws (logged as Deno logs it) has
   * it delivered again per its backoff schedule. The outcomes of a tick are
   * settled in one request. The stream reconnects as a watch does; a
   * refusal (a rotated token) rejects with its KvError. Resolves once
   * `signal` aborted or kv.close() was called, and the handlers still
   * running finished and their outcomes were sent.
   */
  async listenQueue(handler, options) {
    if (this.#transport.closed) {
      throw new KvError('closed', null, 'Queue already closed: kv.close() ended this handle; call connect() for a new one');
    }
    if (typeof handler !== 'function') {
      throw new TypeError(`listenQueue() takes a handler function, got ${describe(handler)}`);
    }
    const { signal, body } = listenOptions(options);
    const transport = this.#transport;
    const closer = transport.track();
    try {
      await listen(handler, {
        url: transport.url('queue/listen'),
        open: (abortSignal) => transport.openStream('queue/listen', body, abortSignal),
        // Idempotent, so retried as reads are; sent even after close(), which waits for them.
        settle: (messages) => transport.request('POST', 'queue/settle', { messages }, { outlivesClose: true }),
        signals: [signal, closer.signal],
        backoff: (n) => transport.backoff(n),
        reconnect: transport.policy.maxAttempts > 1,
      });
    } finally {
      closer.release();
    }
  }

  atomic() {
    this.#ensureOpen('atomic');
    return new AtomicOperation((body, { signal, idempotencyKey }) => this.#write('atomic', body, { signal, idempotencyKey }));
  }

  /**
   * Closes the handle: requests in flight are interrupted (they reject with
   * KvError "closed" and may or may not have been applied), so are their
   * waits between retries and the get() calls waiting for their batch, open
   * watches end (their streams close), queue listeners stop (listenQueue()
   * resolves once their running handlers' outcomes were sent), and every
   * later call is refused with KvError "closed". Closing again does nothing.
   */
  close() {
    if (this.#transport.closed) return;
    this.#transport.close();
    this.#batcher?.close(
      new KvError('closed', null, 'kv.get() was interrupted by kv.close() before its batch was sent', { attempts: 0 }),
    );
  }

  [DISPOSE]() {
    this.close();
  }

  async [ASYNC_DISPOSE]() {
    this.close();
  }

  #ensureOpen(method) {
    this.#transport.ensureOpen(method);
  }

  async #getEntries(wireKeys, signal) {
    const { entries } = await this.#transport.request('POST', 'get', { keys: wireKeys }, { signal });
    return entries.map(decodeEntry);
  }

  // A write: sent with an idempotency key (the caller's, or one made for
  // this call), the same for each of its retries.
  #write(route, body, { signal, idempotencyKey }) {
    return this.#transport.request('POST', route, body, { signal, idempotencyKey: idempotencyKey ?? newIdempotencyKey() });
  }
}

// The options of a read: `signal`, and Deno KV's consistency, which changes
// nothing here (one Durable Object serializes each store: every read is strong).
function readOptions(options, method) {
  if (options === undefined) return {};
  if (typeof options !== 'object' || options === null) {
    throw new TypeError(`${method}() options must be an object like { consistency: "strong" }, got ${describe(options)}`);
  }
  checkConsistency(options.consistency, method);
  return { signal: checkSignal(options.signal, `${method}() options.signal`) };
}

// The options of a call that takes only `signal`.
function callOptions(options, method) {
  if (options === undefined) return {};
  if (typeof options !== 'object' || options === null) {
    throw new TypeError(`${method}() options must be an object like { signal }, got ${describe(options)}`);
  }
  return { signal: checkSignal(options.signal, `${method}() options.signal`) };
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
