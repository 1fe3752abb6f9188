// ESM client of the key-value store: a thin layer over docs/http-api.md.
// No dependencies, so it runs unchanged on Node >= 20, Deno, Bun and Workers.

// The store's limits, as worker/kv_limits.h sets them (docs/http-api.md lists them).
const MAX_KEYS_PER_GET = 100; // kMaxKeysPerGet
const MAX_LIST_BATCH = 1000; // kMaxListLimit
const MAX_KEYS_PER_WATCH = 10; // kMaxKeysPerWatch
const MAX_MUTATIONS = 1000; // kMaxMutationsPerCommit
const MAX_REQUEST_BYTES = 2 * 1024 * 1024; // kMaxRequestBytes: one request body
const MAX_KEY_BYTES = 2048; // kMaxKeyBytes: one encoded key (encodedKeyLength)
const MAX_VALUE_BYTES = 16 * 1024; // kMaxValueBytes: one value as the core serializes it (storedValueLength)
// kMaxCommitBytes: encoded key bytes plus stored value bytes of all checks and
// mutations of one commit (worker/request.cc, CheckCommitSize).
const MAX_COMMIT_BYTES = 800 * 1024;
// A u64 counter is stored in 9 bytes (worker/counter.cc, EncodeCounter).
const COUNTER_BYTES = 9;

const IMPORT_BATCH_SIZE = 500;
const RECONNECT_FIRST_MS = 100;
const RECONNECT_LAST_MS = 5000;
const DEFAULT_BATCH_SIZE = 100;
const MAX_U64 = 2n ** 64n - 1n;
const VERSION_PATTERN = /^[0-9a-f]{20}$/;
const IDENTIFIER_PATTERN = /^[A-Za-z_$][\w$]*$/;
const BASE64_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

const ALLOWED_KEY_PARTS = 'key parts must be string, number, bigint, boolean or Uint8Array';
const ALLOWED_VALUES =
  'values must be JSON: null, boolean, string, finite number, array or plain object ' +
  '(or an object with a toJSON method, like Date)';
const ALLOWED_VERSIONS = 'a version must be null (the key has no entry) or a string of 20 lowercase hex digits';

/** An error answered by the store (`code` from the API), or a failure to reach it. */
export class KvError extends Error {
  constructor(code, status, message, options) {
    super(message, options);
    this.name = 'KvError';
    this.code = code;
    this.status = status;
  }
}

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
    if (!(Number.isInteger(batchSize) && batchSize >= 1 && batchSize <= MAX_MUTATIONS)) {
      throw new TypeError(`import() batchSize must be a whole number from 1 to ${MAX_MUTATIONS}, got ${describe(batchSize)}`);
    }
    const progress = { imported: 0, skipped: 0, batches: 0 };
    let linesCommitted = 0;
    let batch = new ImportBatch();
    const flush = async () => {
      if (batch.mutations.length === 0) return;
      const sent = batch;
      batch = new ImportBatch();
      try {
        await this.#post('atomic', { checks: [], mutations: sent.mutations });
      } catch (error) {
        throw importBatchFailure(error, sent, progress, linesCommitted);
      }
      progress.imported += sent.mutations.length;
      progress.batches++;
      linesCommitted = sent.lastLine;
      onProgress?.({ ...progress });
    };
    let lineNumber = 0;
    for await (const line of lines(source)) {
      lineNumber++;
      if (line.trim() === '') continue;
      let entry;
      try {
        entry = importEntry(line, lineNumber);
      } catch (error) {
        throw importLineFailure(error, lineNumber, progress, linesCommitted);
      }
      if (entry === null) {
        progress.skipped++;
        continue;
      }
      if (entry.alone) await flush();
      else if (!batch.fits(entry, batchSize)) await flush();
      batch.add(entry, lineNumber);
      if (entry.alone) await flush();
    }
    await flush();
    return progress;
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
    const abort = new AbortController();
    signal?.addEventListener('abort', () => abort.abort(), { once: true });
    const events = this.#watchEvents(wireKeys, abort.signal);
    return new ReadableStream({
      async pull(controller) {
        try {
          const { value, done } = await events.next();
          if (done) controller.close();
          else controller.enqueue(value);
        } catch (error) {
          controller.error(error);
        }
      },
      async cancel() {
        abort.abort();
        await events.return();
      },
    });
  }

  async *#watchEvents(wireKeys, signal) {
    const url = `${this.#endpoint}/v1/watch`;
    const fetch = this.#fetch;
    let versions = null; // of the last event yielded
    let delay = RECONNECT_FIRST_MS;
    while (!signal.aborted) {
      let lifetimeReached = false;
      try {
        const response = await fetch(url, this.#requestInit('POST', { keys: wireKeys }, signal));
        if (!response.ok) {
          const text = await response.text();
          throw errorOf('POST', url, response.status, parseJson(text), text);
        }
        for await (const event of serverSentEvents(response.body)) {
          if (event.type === 'error') throw errorOf('POST', url, 200, parseJson(event.data), event.data);
          if (event.type === 'end') {
            lifetimeReached = true; // the store closes every stream after a while: reconnect at once
            break;
          }
          const { entries, changed } = JSON.parse(event.data);
          // After a reconnect the first event holds every key: keep only what changed meanwhile.
          const news = versions === null ? changed : entries.flatMap((entry, i) => (entry.version !== versions[i] ? [i] : []));
          versions = entries.map((entry) => entry.version);
          delay = RECONNECT_FIRST_MS;
          if (news.length > 0) yield { entries: entries.map(decodeEntry), changed: news };
        }
      } catch (error) {
        if (error instanceof KvError || signal.aborted) {
          if (signal.aborted) return;
          throw error;
        }
        // A dropped connection: try again, waiting longer each time.
      }
      if (lifetimeReached) continue;
      await new Promise((resolve) => setTimeout(resolve, delay));
      delay = Math.min(delay * 2, RECONNECT_LAST_MS);
    }
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

// The KvError of an answer that is not a success.
function errorOf(method, url, status, answer, text) {
  const error = answer?.error;
  if (typeof error?.code === 'string') return new KvError(error.code, status, error.message);
  // Not the API speaking (a proxy, a wrong endpoint): keep the start of the body to help find out who did.
  return new KvError(
    `http_${status}`,
    status,
    `${method} ${url} answered HTTP ${status} without the store's JSON: ${text.slice(0, 200)}`,
  );
}

// Splits text chunks (strings or bytes, as a file stream gives them) into lines
// at '\n'; lines given one by one must end with '\n', as export() writes them.
async function* lines(source) {
  let rest = '';
  const decoder = new TextDecoder(); // one, streaming: a character may span two chunks
  for await (const chunk of source) {
    const text = rest + (typeof chunk === 'string' ? chunk : decoder.decode(chunk, { stream: true }));
    const parts = text.split('\n');
    rest = parts.pop();
    yield* parts;
  }
  if (rest !== '') yield rest;
}

function parseExportLine(line, lineNumber) {
  const where = `import line ${lineNumber}`;
  const wire = parseJson(line);
  if (typeof wire !== 'object' || wire === null || !Array.isArray(wire.key) || !('value' in wire)) {
    throw new TypeError(`${where} is not an exported entry {"key": [...], "value": ...}: ${line.slice(0, 100)}`);
  }
  let key;
  try {
    key = wire.key.map(decodeKeyPart);
  } catch {
    throw new TypeError(`${where} has a malformed key: ${JSON.stringify(wire.key).slice(0, 100)}`);
  }
  let value = wire.value;
  if (wire.valueType === 'u64') {
    if (!(typeof value === 'string' && /^(0|[1-9][0-9]*)$/.test(value) && BigInt(value) <= MAX_U64)) {
      throw new TypeError(`${where} has a malformed u64 value: ${JSON.stringify(value)?.slice(0, 100)}`);
    }
    value = new KvU64(BigInt(value));
  }
  const expireIn = wire.expiresAt === undefined ? undefined : Math.ceil(wire.expiresAt - Date.now());
  return { key, value, expireIn };
}

// An export line as the set mutation import() sends, with the bytes it adds
// to a commit as the store counts them (encoded key plus stored value) and to
// the request body; null when the entry has expired already.
function importEntry(line, lineNumber) {
  const { key, value, expireIn } = parseExportLine(line, lineNumber);
  if (expireIn !== undefined && expireIn <= 0) return null;
  const mutation = setMutation(key, value, expireIn === undefined ? undefined : { expireIn }, `import line ${lineNumber}`);
  const keyBytes = encodedKeyPartsLength(key);
  const valueBytes = mutation.valueType === 'u64' ? COUNTER_BYTES : storedValueLength(mutation.value);
  return {
    mutation,
    commitBytes: keyBytes + valueBytes,
    requestBytes: utf8Length(JSON.stringify(mutation)),
    // Over a limit of its own: the store refuses it whatever else the batch holds.
    alone: keyBytes > MAX_KEY_BYTES || valueBytes > MAX_VALUE_BYTES,
  };
}

// The bytes of an atomic request without checks or mutations: {"checks":[],"mutations":[]}.
const EMPTY_COMMIT_REQUEST_BYTES = 28;

/** The entries of one import() commit, and the bytes the store counts of them. */
class ImportBatch {
  mutations = [];
  commitBytes = 0;
  requestBytes = EMPTY_COMMIT_REQUEST_BYTES;
  firstLine = 0;
  lastLine = 0;

  // Whether the store takes this batch with `entry` added: kMaxMutationsPerCommit
  // (or the smaller batchSize), kMaxCommitBytes and kMaxRequestBytes.
  fits(entry, batchSize) {
    const count = this.mutations.length;
    if (count === 0) return true;
    return (
      count < batchSize &&
      this.commitBytes + entry.commitBytes <= MAX_COMMIT_BYTES &&
      this.requestBytes + 1 + entry.requestBytes <= MAX_REQUEST_BYTES // 1: the comma before it
    );
  }

  add(entry, lineNumber) {
    if (this.mutations.length === 0) this.firstLine = lineNumber;
    else this.requestBytes += 1;
    this.mutations.push(entry.mutation);
    this.commitBytes += entry.commitBytes;
    this.requestBytes += entry.requestBytes;
    this.lastLine = lineNumber;
  }
}

// What import() has committed, for the message of its failure.
function landedSummary(progress, linesCommitted) {
  if (linesCommitted === 0) return 'No line has landed.';
  const entries = `${progress.imported} ${progress.imported === 1 ? 'entry' : 'entries'}`;
  const lines = linesCommitted === 1 ? 'Line 1 has' : `Lines 1 to ${linesCommitted} have`;
  return `${lines} landed (${entries}); to resume, import from line ${linesCommitted + 1}.`;
}

// The KvError import() rejects with when a batch fails: the store's code and
// status, and which lines landed.
function importBatchFailure(error, batch, progress, linesCommitted) {
  const lines = batch.firstLine === batch.lastLine ? `line ${batch.firstLine}` : `lines ${batch.firstLine} to ${batch.lastLine}`;
  const code = error?.code ?? 'network_error';
  const lost = code === 'network_error' || code.startsWith('http_');
  const what = lost
    ? `the batch of ${lines} failed without the store's answer, so it may have landed, whole: ${error?.message ?? error}`
    : `the store refused the batch of ${lines}, so none of it landed: ${error.message}`;
  const failure = new KvError(
    code,
    error?.status ?? null,
    `import stopped at line ${batch.firstLine}: ${what}. ${landedSummary(progress, linesCommitted)}`,
    { cause: error },
  );
  return Object.assign(failure, { ...progress, linesCommitted, failedLine: batch.firstLine });
}

// The error import() rejects with for a line it cannot import (a TypeError
// naming the line), with which lines landed.
function importLineFailure(error, lineNumber, progress, linesCommitted) {
  const fields = { ...progress, linesCommitted, failedLine: lineNumber };
  if (!(error instanceof TypeError)) return Object.assign(error, fields);
  const failure = new TypeError(`${error.message}. ${landedSummary(progress, linesCommitted)}`, { cause: error });
  return Object.assign(failure, fields);
}

// Parses a text/event-stream body into { type, data } events.
async function* serverSentEvents(body) {
  const decoder = new TextDecoder();
  let buffer = '';
  for await (const chunk of body) {
    buffer += decoder.decode(chunk, { stream: true });
    let end;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const event = { type: 'message', data: '' };
      let fields = 0;
      for (const line of block.split('\n')) {
        if (line.startsWith('event: ')) event.type = line.slice(7);
        else if (line.startsWith('data: ')) event.data += line.slice(6);
        else continue; // a comment (": keep-alive"), which only keeps the stream alive
        fields++;
      }
      if (fields > 0) yield event;
    }
  }
}

function parseJson(text) {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** Collects checks and mutations; validates each at the call that adds it, so the stack points at it. */
class AtomicOperation {
  #checks = [];
  #mutations = [];
  #send;

  constructor(send) {
    this.#send = send;
  }

  check(...checks) {
    for (const check of checks) this.#checks.push(encodeCheck(check, `checks[${this.#checks.length}]`));
    return this;
  }

  set(key, value, options) {
    this.#mutations.push(setMutation(key, value, options, `mutations[${this.#mutations.length}]`));
    return this;
  }

  /** Adds `n` to the u64 counter at `key` (absent: starts at 0), wrapping modulo 2^64. */
  sum(key, n) {
    return this.#counter('sum', key, n);
  }

  /** Sets the u64 counter at `key` to the smaller of its value and `n` (absent: `n`). */
  min(key, n) {
    return this.#counter('min', key, n);
  }

  /** Sets the u64 counter at `key` to the larger of its value and `n` (absent: `n`). */
  max(key, n) {
    return this.#counter('max', key, n);
  }

  #counter(type, key, n) {
    const path = `mutations[${this.#mutations.length}]`;
    const value = toU64(n, `${path}.value`).value.toString();
    this.#mutations.push({ type, key: encodeKey(key, `${path}.key`), value });
    return this;
  }

  delete(key) {
    this.#mutations.push({ type: 'delete', key: encodeKey(key, `mutations[${this.#mutations.length}].key`) });
    return this;
  }

  commit() {
    // Not `async`: an async method can only return a plain Promise, not a CommitPromise.
    return new CommitPromise((resolve) => resolve(this.#sendCommit()));
  }

  async #sendCommit() {
    const answer = await this.#send({ checks: this.#checks, mutations: this.#mutations });
    return answer.ok ? { ok: true, version: answer.version } : { ok: false, failedChecks: answer.failedChecks };
  }
}

// The product brief once showed `const res = kv.atomic()...commit(); if (res.ok)`: without `await`,
// res.ok would be undefined and read as "the check failed". Reading it throws instead.
class CommitPromise extends Promise {
  // then/catch/finally derive plain Promises: only commit()'s own result needs the guard.
  static get [Symbol.species]() {
    return Promise;
  }

  get ok() {
    throw notAwaited('ok');
  }

  get version() {
    throw notAwaited('version');
  }

  get failedChecks() {
    throw notAwaited('failedChecks');
  }
}

function notAwaited(property) {
  return new TypeError(
    `commit() returns a Promise: write \`const res = await kv.atomic()...commit()\` before reading res.${property}`,
  );
}

/** A 64-bit unsigned integer, exact beyond 2^53: the value type of counters. */
export class KvU64 {
  constructor(value) {
    if (typeof value !== 'bigint' || value < 0n || value > MAX_U64) {
      throw new RangeError(`KvU64 takes a bigint from 0n to 2n ** 64n - 1n, got ${describe(value)}`);
    }
    this.value = value;
    Object.freeze(this);
  }

  valueOf() {
    return this.value;
  }

  toString() {
    return this.value.toString();
  }

  toJSON() {
    return this.value.toString();
  }
}

function toU64(n, path) {
  if (n instanceof KvU64) return n;
  if (typeof n === 'number' && Number.isSafeInteger(n) && n >= 0) return new KvU64(BigInt(n));
  if (typeof n === 'bigint' && n >= 0n && n <= MAX_U64) return new KvU64(n);
  throw new TypeError(`${path} is ${describe(n)}; counters take a KvU64, a bigint from 0n to 2n ** 64n - 1n, or a safe whole number`);
}

// The wire fields of a value: JSON, or a counter with valueType "u64".
function encodeValue(value, path) {
  if (value instanceof KvU64) return { value: value.value.toString(), valueType: 'u64' };
  return { value: toJsonValue(value, path) };
}

// The wire form of a set (AtomicOperation.set, import()).
function setMutation(key, value, options, path) {
  return {
    type: 'set',
    key: encodeKey(key, `${path}.key`),
    ...encodeValue(value, `${path}.value`),
    ...encodeSetOptions(options, `${path}.options`),
  };
}

function encodeSetOptions(options, path) {
  if (options === undefined) return {};
  if (typeof options !== 'object' || options === null) {
    throw new TypeError(`${path} must be an object like { expireIn: 60000 }, got ${describe(options)}`);
  }
  const { expireIn, ...rest } = options;
  const unknown = Object.keys(rest)[0];
  if (unknown !== undefined) throw new TypeError(`${path} has an unknown option "${unknown}"; the options are expireIn`);
  if (expireIn === undefined) return {};
  if (!(Number.isSafeInteger(expireIn) && expireIn > 0)) {
    throw new TypeError(`${path}.expireIn must be a positive whole number of milliseconds, got ${describe(expireIn)}`);
  }
  return { expireIn };
}

function decodeEntry({ key, value, valueType, version, expiresAt, cursor }) {
  const entry = {
    key: key.map(decodeKeyPart),
    value: valueType === 'u64' ? new KvU64(BigInt(value)) : value ?? null,
    version,
  };
  if (expiresAt !== undefined) entry.expiresAt = expiresAt;
  return cursor === undefined ? entry : [entry, cursor];
}

// {prefix}, {start, end}, {prefix, start} or {prefix, end}: the server checks the combination.
function encodeSelector(selector) {
  if (typeof selector !== 'object' || selector === null) {
    throw new TypeError(`a selector must be an object like { prefix: ["users"] }, got ${describe(selector)}`);
  }
  const { prefix, start, end, ...rest } = selector;
  const unknown = Object.keys(rest)[0];
  if (unknown !== undefined) throw new TypeError(`the selector has an unknown field "${unknown}"; the fields are prefix, start and end`);
  const wire = {};
  if (prefix !== undefined) {
    if (!Array.isArray(prefix)) throw new TypeError(`selector.prefix must be an array of key parts (or []), got ${describe(prefix)}`);
    wire.prefix = prefix.map((part, index) => encodeKeyPart(part, `selector.prefix[${index}]`));
  }
  if (start !== undefined) wire.start = encodeKey(start, 'selector.start');
  if (end !== undefined) wire.end = encodeKey(end, 'selector.end');
  return wire;
}

/** An async iterator of list entries; `cursor` resumes right after the last entry it yielded. */
class ListIterator {
  #page;
  #remaining;
  #batchSize;
  #cursor;

  constructor(page, { limit, batchSize, cursor }) {
    this.#page = page;
    this.#remaining = limit;
    this.#batchSize = batchSize;
    this.#cursor = cursor;
  }

  get cursor() {
    return this.#cursor ?? '';
  }

  async *[Symbol.asyncIterator]() {
    while (this.#remaining > 0) {
      const size = Math.min(this.#batchSize, this.#remaining);
      const { entries, cursor } = await this.#page(this.#cursor, size);
      for (const wire of entries) {
        const [entry, after] = decodeEntry(wire);
        this.#cursor = after;
        this.#remaining--;
        yield entry;
      }
      if (cursor === null) return;
    }
  }
}

function encodeCheck(check, path) {
  if (typeof check !== 'object' || check === null) {
    throw new TypeError(`${path} must be an object {key, version}, got ${describe(check)}`);
  }
  const key = encodeKey(check.key, `${path}.key`);
  const { version } = check;
  if (version !== null && !(typeof version === 'string' && VERSION_PATTERN.test(version))) {
    throw new TypeError(`${path}.version is ${describe(version)}; ${ALLOWED_VERSIONS}`);
  }
  return { key, version };
}

function encodeKey(key, path) {
  if (!Array.isArray(key) || key.length === 0) {
    const got = Array.isArray(key) ? 'an empty array' : describe(key);
    throw new TypeError(`${path} must be a non-empty array of parts like ["users", "1"], got ${got}`);
  }
  return key.map((part, index) => encodeKeyPart(part, `${path}[${index}]`));
}

// The wire form of each part type is the table in docs/http-api.md, "Keys".
function encodeKeyPart(part, path) {
  switch (typeof part) {
    case 'string':
    case 'boolean':
      return part;
    case 'number':
      // JSON has no NaN or Infinity; it writes -0 as 0, the same key.
      return Number.isFinite(part) ? part : { number: String(part) };
    case 'bigint':
      return { bigint: part.toString() };
  }
  if (part instanceof Uint8Array) return { bytes: encodeBase64(part) };
  throw new TypeError(`${path} is ${describe(part)}; ${ALLOWED_KEY_PARTS}`);
}

/**
 * The length of a key's encoding (docs/key-encoding.md, worker/key_codec.cc):
 * what the store counts against the 2,048-byte key limit (kMaxKeyBytes) and,
 * with the values, the 800 KiB commit limit (kMaxCommitBytes).
 */
export function encodedKeyLength(key) {
  encodeKey(key, 'key'); // refuses what is not a key, as every method does
  return encodedKeyPartsLength(key);
}

// The parts' encodings concatenated, with no count, separator or terminator.
function encodedKeyPartsLength(parts) {
  let length = 0;
  for (const part of parts) length += encodedKeyPartLength(part);
  return length;
}

function encodedKeyPartLength(part) {
  switch (typeof part) {
    case 'string':
      // 0x02, the UTF-8 bytes with each 0x00 written 0x00 0xFF, then 0x00.
      return 2 + utf8Length(part) + zeroCount(part);
    case 'number':
      return 9; // 0x21 and the 8 bytes of the binary64
    case 'boolean':
      return 1; // 0x26 or 0x27
    case 'bigint': {
      // Zero is 0x14; 1 to 8 magnitude bytes follow their type code; 9 to 255
      // follow 0x1D or 0x0B and a length byte.
      const magnitude = part < 0n ? -part : part;
      const bytes = magnitude === 0n ? 0 : Math.ceil(magnitude.toString(16).length / 2);
      return bytes === 0 ? 1 : bytes <= 8 ? 1 + bytes : 2 + bytes;
    }
  }
  // A Uint8Array: 0x01, the bytes with each 0x00 written 0x00 0xFF, then 0x00.
  let zeros = 0;
  for (const byte of part) if (byte === 0) zeros++;
  return 2 + part.length + zeros;
}

function zeroCount(text) {
  let zeros = 0;
  for (let at = text.indexOf('\u0000'); at >= 0; at = text.indexOf('\u0000', at + 1)) zeros++;
  return zeros;
}

// UTF-8 bytes of a string, as TextEncoder writes it (a lone surrogate as U+FFFD).
function utf8Length(text) {
  let length = 0;
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit < 0x80) length += 1;
    else if (unit < 0x800) length += 2;
    else if (unit >= 0xd800 && unit < 0xdc00 && i + 1 < text.length && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      length += 4;
      i++;
    } else length += 3;
  }
  return length;
}

/**
 * The bytes the store keeps of a JSON value (from toJsonValue), which is what
 * kMaxValueBytes and kMaxCommitBytes count: the core stores a value as
 * compact JSON with numbers as written and strings escaped as JSON.stringify
 * escapes them (worker/json_parse.cc, Splitter), so the length of the text
 * this client sends.
 */
function storedValueLength(value) {
  return utf8Length(JSON.stringify(value));
}

function decodeKeyPart(part) {
  if (typeof part !== 'object') return part; // string, number and boolean are written as themselves
  if ('number' in part) return Number(part.number);
  if ('bigint' in part) return BigInt(part.bigint);
  return decodeBase64(part.bytes);
}

// JSON.stringify would silently drop or mangle undefined, functions, NaN, Maps...; this refuses
// them, naming where they are, and otherwise yields what JSON.stringify would write (toJSON included).
function toJsonValue(value, path, propertyName = '', ancestors = new Map()) {
  if (typeof value === 'object' && value !== null && typeof value.toJSON === 'function') {
    value = value.toJSON(propertyName);
  }
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return value;
    case 'number':
      if (Number.isFinite(value)) return value;
      break;
    case 'object':
      if (value === null) return null;
      if (Array.isArray(value) || isPlainObject(value)) return toJsonContainer(value, path, ancestors);
  }
  throw new TypeError(`${path} is ${describe(value)}; ${ALLOWED_VALUES}`);
}

function toJsonContainer(container, path, ancestors) {
  if (ancestors.has(container)) {
    throw new TypeError(`${path} refers back to ${ancestors.get(container)}, a cycle; values must be JSON trees`);
  }
  ancestors.set(container, path);
  const copy = Array.isArray(container)
    ? Array.from(container, (item, index) => toJsonValue(item, `${path}[${index}]`, String(index), ancestors))
    : Object.fromEntries(
        Object.keys(container).map((name) => [
          name,
          toJsonValue(container[name], propertyPath(path, name), name, ancestors),
        ]),
      );
  ancestors.delete(container); // shared, non-cyclic references are fine, as in JSON.stringify
  return copy;
}

function isPlainObject(value) {
  const prototype = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}

function propertyPath(path, name) {
  return IDENTIFIER_PATTERN.test(name) ? `${path}.${name}` : `${path}[${JSON.stringify(name)}]`;
}

/** Names a value for an error message: `"abc"`, `NaN`, `a function`, `a Map`. */
function describe(value) {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || value === null || value === undefined) return String(value);
  if (typeof value !== 'object') return `a ${typeof value}`;
  if (Array.isArray(value)) return 'an array';
  const name = Object.getPrototypeOf(value)?.constructor?.name;
  if (!name || name === 'Object') return 'an object';
  return `${/^[aeio]/i.test(name) ? 'an' : 'a'} ${name}`; // "a Uint8Array", "an ArrayBuffer"
}

function encodeBase64(bytes) {
  let text = '';
  for (let i = 0; i < bytes.length; i += 3) {
    const triple = (bytes[i] << 16) | ((bytes[i + 1] ?? 0) << 8) | (bytes[i + 2] ?? 0);
    text += BASE64_ALPHABET[(triple >> 18) & 63] + BASE64_ALPHABET[(triple >> 12) & 63];
    text += i + 1 < bytes.length ? BASE64_ALPHABET[(triple >> 6) & 63] : '=';
    text += i + 2 < bytes.length ? BASE64_ALPHABET[triple & 63] : '=';
  }
  return text;
}

function decodeBase64(text) {
  const digits = text.replace(/=+$/, '');
  const bytes = new Uint8Array(Math.floor((digits.length * 6) / 8));
  let bits = 0;
  let bitCount = 0;
  let length = 0;
  for (const digit of digits) {
    bits = ((bits << 6) | BASE64_ALPHABET.indexOf(digit)) & 0xffff; // never more than 14 bits pending
    bitCount += 6;
    if (bitCount >= 8) {
      bitCount -= 8;
      bytes[length++] = (bits >> bitCount) & 0xff;
    }
  }
  return bytes;
}
