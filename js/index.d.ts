/**
 * One part of a key. Parts are never joined: `["a/b"]` and `["a", "b"]` are different keys.
 * The one `symbol` allowed is `kv.commitVersionstamp()`, as the last part of a key being set.
 */
export type KvKeyPart = string | number | bigint | boolean | Uint8Array | symbol;

/** A key: a non-empty array of parts, e.g. `["users", "1"]`. */
export type KvKey = readonly KvKeyPart[];

/**
 * An entry that exists: its key, value and the version of the commit that wrote it.
 *
 * A value is what was set: JSON, a `KvU64`, a `Uint8Array` (stored as bytes), or a
 * `KvV8Value` (a value a Deno client wrote that has no JSON form).
 */
export interface KvEntry<T> {
  key: KvKey;
  value: T;
  /** 20 lowercase hex digits; later commits have greater versions. */
  version: string;
  /** The same as `version`, under Deno KV's name. */
  versionstamp: string;
  /** When the entry expires (ms since the epoch), if it was set with `expireIn`. */
  expiresAt?: number;
}

/** A 64-bit unsigned integer, exact beyond 2^53: the value of counters (`sum`, `min`, `max`). */
export class KvU64 {
  /** Throws RangeError outside 0n to 2n ** 64n - 1n. */
  constructor(value: bigint);
  readonly value: bigint;
  valueOf(): bigint;
  toString(): string;
}

/**
 * A value that a Deno client (KV Connect) wrote and that has no JSON form (a
 * `Date`, `Map`, `Set`, `bigint`, ...): its V8 serialization, as Deno KV
 * stores it. Reads give it as it is (`"valueType": "v8"` on the wire);
 * setting it writes the same value back. In Node, `v8.deserialize(value.bytes)`
 * turns it into the JavaScript value.
 */
export class KvV8Value {
  /** Throws TypeError unless `bytes` is a Uint8Array; keeps a copy. */
  constructor(bytes: Uint8Array);
  /** The V8-serialized bytes (with their header), as Deno wrote them. */
  readonly bytes: Uint8Array;
}

/** Deno KV's read consistency; every read of this store is strong, so both mean the same. */
export type KvConsistencyLevel = 'strong' | 'eventual';

/** Options of a `set` in an atomic operation (`atomic().set()`). */
export interface KvSetOptions {
  /** Milliseconds until the entry expires; it is invisible from that moment on. */
  expireIn?: number;
}

/** Options every call takes. */
export interface KvCallOptions {
  /**
   * Aborts the call: it rejects with KvError `aborted` whose `cause` is the
   * signal's reason (a write may or may not have been applied). Default: none
   * (the call ends at connect()'s `timeoutMs`).
   */
  signal?: AbortSignal;
}

/**
 * Options of a write (`kv.set()`, `kv.delete()`, `atomic().commit()`). Every
 * write is sent with an `Idempotency-Key`, the same for each retry of the
 * call, so the store applies it at most once.
 */
export interface KvWriteOptions extends KvCallOptions {
  /**
   * The write's idempotency key, 1 to 64 characters of `A-Z a-z 0-9 _ -`
   * (else a TypeError before sending). Default: a random UUID, new for each
   * call. Pass your own (e.g. an order id) to make a write you repeat later,
   * even from another process, apply once: within 24 hours (and the store's
   * newest 10,000 keys) the store answers a repeat with the same body with
   * the first answer (same version) and applies nothing; the same key with
   * another body is refused with KvError `idempotency_key_reused` (422).
   */
  idempotencyKey?: string;
}

/** Options of `kv.set()`. */
export interface KvSetCallOptions extends KvSetOptions, KvWriteOptions {}

/** Which entries a list or count covers: `{prefix}`, `{start, end}`, `{prefix, start}` or `{prefix, end}`; `start` is inclusive, `end` exclusive. */
export type KvListSelector =
  | { prefix: readonly KvKeyPart[] }
  | { start: KvKey; end: KvKey }
  | { prefix: readonly KvKeyPart[]; start: KvKey }
  | { prefix: readonly KvKeyPart[]; end: KvKey };

/** Options of `list()`. */
export interface KvListOptions extends KvCallOptions {
  /** At most this many entries in all. */
  limit?: number;
  /** Descending key order. */
  reverse?: boolean;
  /** Resume right after the entry this cursor was taken at (same selector only). */
  cursor?: string;
  /** Entries fetched per round trip, 1 to 1000 (default, as in Deno KV: `limit`, at most 500, else 100). */
  batchSize?: number;
  /** Accepted for Deno KV's sake; every read is strong. */
  consistency?: KvConsistencyLevel;
  /** Transfer keys and versions only; `value` is then null. */
  keysOnly?: boolean;
}

/**
 * The entries of a list, fetched a batch at a time: Deno KV's KvListIterator.
 * A `{start, end}` selector whose end sorts before its start makes the first
 * `next()` reject with a TypeError, as in Deno KV.
 */
export class KvListIterator<T> {
  private constructor();
  /**
   * The cursor that resumes right after the last entry yielded (pass it to
   * `list()` with the same selector); "" once every entry was yielded. As in
   * Deno KV, reading it before the first entry throws, unless `list()` was
   * given a cursor.
   */
  readonly cursor: string;
  next(): Promise<IteratorResult<KvEntry<T>, undefined>>;
  [Symbol.asyncIterator](): KvListIterator<T>;
}

/** How far an import has come. */
export interface KvImportProgress {
  imported: number;
  /** Entries that had expired already. */
  skipped: number;
  batches: number;
}

/**
 * What a failed `import()` rejects with besides its error (a KvError when a
 * batch failed, a TypeError for a line that is not an exported entry): the
 * counts so far and which lines landed.
 */
export interface KvImportFailure extends KvImportProgress {
  /**
   * The number (from 1) of the last input line whose entry is committed, 0 if
   * none: every line up to it landed (or was blank or expired), no later line
   * did. Resume with the lines after it. After `network_error` or
   * `http_<status>` the batch from `failedLine` on may have landed too, whole.
   */
  linesCommitted: number;
  /** The first line of the batch that failed (named in the message), or the line that is not an exported entry. */
  failedLine: number;
}

/**
 * What an event of a watch carries besides Deno KV's array of entries. Both are
 * non-enumerable. `entries` hides `Array.prototype.entries()` on the event: call
 * `Array.prototype.entries.call(event)` for index and entry pairs.
 */
export interface KvWatchEventFields<T> {
  /** Every watched key's entry, in the order of the keys, as a plain array. */
  entries: KvEntryMaybe<T>[];
  /** Indexes of the keys that changed since the last event (all of them in the first). */
  changed: number[];
}

/** One event of a watch: Deno KV's array of every watched key's entry, plus `entries` and `changed`. */
export type KvWatchEvent<T> = KvEntryMaybe<T>[] & KvWatchEventFields<T>;

/** Options of `watch()`. */
export interface KvWatchOptions {
  /** Ends the watch when aborted (the stream closes). */
  signal?: AbortSignal;
  /** Deno KV's option: also an event after each reconnect when nothing changed meanwhile. */
  raw?: boolean;
}

/**
 * Deno KV's options of a queue message (`kv.enqueue()`, `atomic().enqueue()`),
 * with its limits: a bad delay or schedule throws Deno's TypeError before sending.
 */
export interface KvEnqueueOptions {
  /** Milliseconds before the message is first due, 0 to 2,592,000,000 (30 days). Default 0. */
  delay?: number;
  /** Keys the value is written to, in one commit, when the retries are spent; at most 10. Default none. */
  keysIfUndelivered?: KvKey[];
  /**
   * Milliseconds to wait before each retry of a message whose handler threw
   * (or did not finish within the listener's `visibilityTimeout`); its length
   * is the number of retries: at most 5 intervals of 0 to 3,600,000 (1 hour).
   * `[]`: no retry. Default Deno's `[100, 1000, 5000, 30000, 60000]`.
   */
  backoffSchedule?: number[];
}

/** Options of `kv.enqueue()`. */
export interface KvEnqueueCallOptions extends KvEnqueueOptions, KvWriteOptions {}

/** Options of `kv.listenQueue()`. */
export interface KvListenQueueOptions {
  /** Stops listening when aborted: `listenQueue()` resolves once the running handlers finished and their outcomes were sent. */
  signal?: AbortSignal;
  /** How many messages the store lets this listener hold unsettled at once (its handlers running), 1 to 64. Default 8. */
  concurrency?: number;
  /**
   * Milliseconds a handler has to finish, 1,000 to 900,000; a message not
   * settled by then counts as a failed delivery and is delivered again per
   * its backoff schedule. Default 30000.
   */
  visibilityTimeout?: number;
}

/** A store's limits (`null`: unlimited) and its usage this UTC month. */
export interface KvUsage {
  limits: { opsPerMonth: number | null; storageBytes: number | null };
  usage: { month: string; operations: number; storageBytes: number; resetsAt: string };
}

/** What a read answers for one key: the entry, or `value`, `version` and `versionstamp` null when the key has none. */
export type KvEntryMaybe<T> = KvEntry<T> | { key: KvKey; value: null; version: null; versionstamp: null };

/** A successful commit (`set`, `atomic`) and the version it wrote. */
export interface KvCommitResult {
  ok: true;
  version: string;
  /** The same as `version`, under Deno KV's name. */
  versionstamp: string;
}

/** An atomic commit refused by its checks; nothing was written. */
export interface KvCommitError {
  ok: false;
  /** 0-based indexes, in the order the checks were added, of the checks that did not hold. */
  failedChecks: number[];
}

/**
 * A condition of an atomic commit: the key's current version, or `null` for
 * "has no entry"; as `versionstamp` (Deno KV) or `version`.
 */
export type AtomicCheck =
  | { key: KvKey; versionstamp: string | null; version?: string | null }
  | { key: KvKey; version: string | null; versionstamp?: string | null };

/**
 * A mutation in Deno KV's shape, for `AtomicOperation.mutate()`. `sum`, `min`
 * and `max` take a KvU64 (this store's counters are unsigned 64-bit integers).
 */
export type KvMutation = { key: KvKey } & (
  | { type: 'set'; value: unknown; expireIn?: number }
  | { type: 'delete' }
  | { type: 'sum'; value: KvU64 }
  | { type: 'min'; value: KvU64 }
  | { type: 'max'; value: KvU64 }
);

/** The part of `fetch` the client uses; `globalThis.fetch` fits. */
export type KvFetch = (
  url: string,
  init: { method: string; headers: Record<string, string>; body?: string; signal: AbortSignal },
) => Promise<{
  ok: boolean;
  status: number;
  /** Read for `Retry-After`; optional. */
  headers?: { get(name: string): string | null };
  text(): Promise<string>;
  /** Read by watch() and listenQueue() as a stream of server-sent events. */
  body: ReadableStream<Uint8Array> | AsyncIterable<Uint8Array> | null;
}>;

/**
 * How failed requests are retried: a request that got no answer (fetch
 * threw: a network error, a reset connection) and the answers 408, 429, 502,
 * 503 and 504. Never another 4xx, nor a 500. Reads and writes alike: every
 * write carries an idempotency key, so a retried write applies at most once.
 */
export interface KvRetryOptions {
  /** Attempts per call, the first included; at least 1. Default 4. */
  maxAttempts?: number;
  /**
   * Backoff: before retry n (1 for the first) the client waits a random time
   * from 0 to min(maxDelayMs, baseDelayMs * 2^(n - 1)) ("full jitter"), or
   * what a `Retry-After` header asks (seconds or an HTTP date; for a 429
   * with `RateLimit-Remaining: 0`, the store's monthly quota, what
   * `RateLimit-Reset` says). Default 100.
   */
  baseDelayMs?: number;
  /** The largest backoff delay (a `Retry-After` is honoured beyond it). Default 5000. */
  maxDelayMs?: number;
  /**
   * No retry starts (and no wait is begun) that would start later than this
   * many ms after the call began: a `Retry-After` past it fails the call at
   * once with that answer (so a spent monthly quota fails at once). Default 30000.
   */
  maxRetryTimeMs?: number;
}

/** Options of `connect()`. */
export interface ConnectOptions {
  /** The store's access token; keep it on the backend. */
  accessToken: string;
  /** The store's region, e.g. `"eu-central-1"`. */
  region: string;
  /** The service URL; defaults to the `KV_ENDPOINT` environment variable. */
  endpoint?: string;
  /** Transport of the requests; defaults to `globalThis.fetch`. */
  fetch?: KvFetch;
  /** Allow running where `window` and `document` exist. The token would be exposed to every visitor: backend use only. Default false. */
  dangerouslyAllowBrowser?: boolean;
  /**
   * Each call rejects with KvError `timeout` (`retryable: true`) when it has
   * not succeeded this many ms after it began, its retries and waits
   * included (a call that makes several requests, a list's pages, count's
   * pages or import's batches, has it per request; a watch, for each
   * connection until the stream's headers arrive). A positive number, or
   * `Infinity` for none. Default 10000.
   */
  timeoutMs?: number;
  /** The retry policy (KvRetryOptions, each field with its default), or `false` for one attempt per call and a watch that ends at its first drop. Default: the defaults. */
  retry?: KvRetryOptions | false;
  /**
   * Send the `get()` calls made in the same tick as one `POST /v1/get` (at
   * most 100 keys a request, a key asked twice read once); each call still
   * resolves to its own entry or rejects with its own error. Default true.
   */
  batchGets?: boolean;
}

/** Opens a handle on one store; nothing is sent until a method is called. Throws TypeError on bad options. */
export function connect(options: ConnectOptions): Kv;

/** Options of a read (`get`, `getMany`). */
export interface KvReadOptions extends KvCallOptions {
  /** Accepted for Deno KV's sake; every read is strong. */
  consistency?: KvConsistencyLevel;
}

// Symbol.dispose and Symbol.asyncDispose, for TypeScript libs older than esnext.disposable.
declare global {
  interface SymbolConstructor {
    readonly dispose: unique symbol;
    readonly asyncDispose: unique symbol;
  }
}

/**
 * A handle on one store. Every method is one request; bad arguments reject with TypeError before sending.
 * It has Deno KV's API (`Deno.Kv`) besides its own: code written for Deno KV runs with only the line
 * that opens the database changed.
 */
export interface Kv {
  /** The region given to `connect()`. */
  readonly region: string;
  /** Reads one key; the `get()` calls of one tick share a request (connect()'s `batchGets`). */
  get<T = unknown>(key: KvKey, options?: KvReadOptions): Promise<KvEntryMaybe<T>>;
  /** Reads 1 to 100 keys in one consistent snapshot; entries come in the order asked (typed per key, as in Deno KV). */
  getMany<T extends readonly unknown[]>(
    keys: readonly [...{ [K in keyof T]: KvKey }],
    options?: KvReadOptions,
  ): Promise<{ [K in keyof T]: KvEntryMaybe<T[K]> }>;
  /** Reads 1 to 100 keys in one consistent snapshot; entries come in the order asked. */
  getMany<T = unknown>(keys: readonly KvKey[], options?: KvReadOptions): Promise<KvEntryMaybe<T>[]>;
  /**
   * Writes a value under a key: JSON (at most 16 KiB serialized), a KvU64, a
   * Uint8Array (its bytes) or a KvV8Value. A key whose last part is
   * `kv.commitVersionstamp()` is written with the commit's version as that part.
   */
  set(key: KvKey, value: unknown, options?: KvSetCallOptions): Promise<KvCommitResult>;
  /** Deletes a key; resolves to whether an entry existed. */
  delete(key: KvKey, options?: KvWriteOptions): Promise<boolean>;
  /** Live entries of a selector in key order (bytes < string < bigint < number < false < true). */
  list<T = unknown>(selector: KvListSelector, options?: KvListOptions): KvListIterator<T>;
  /** How many live entries a selector holds, without transferring them. */
  count(selector: KvListSelector, options?: KvCallOptions): Promise<number>;
  /** The store's limits and this month's usage. */
  usage(options?: KvCallOptions): Promise<KvUsage>;
  /** The entries of a selector (default: all) as newline-delimited JSON lines. */
  export(selector?: KvListSelector, options?: KvCallOptions): AsyncIterable<string>;
  /**
   * Writes exported lines in atomic batches; keeps expiry, skips expired entries.
   * A batch stays within the store's commit limits as the store counts them
   * (800 KiB of encoded keys plus stored values, 2 MiB of request); an entry
   * over the key or value limit is sent alone. On failure nothing more is sent
   * and it rejects with a KvError (the store's code and status; the store's
   * own error as `cause`) or a TypeError (a malformed line), which also has
   * the fields of KvImportFailure: which lines landed. Each batch is a
   * write with its own idempotency key, retried as writes are.
   */
  import(
    source: Iterable<string | Uint8Array> | AsyncIterable<string | Uint8Array>,
    options?: { batchSize?: number; onProgress?: (progress: KvImportProgress) => void; signal?: AbortSignal },
  ): Promise<KvImportProgress>;
  /**
   * Current entries of 1 to 10 keys, then again whenever one changes. After a drop (the
   * network, a cut stream, a 408, 429 or 5xx on reconnecting) it reconnects with the retry
   * policy's backoff for as long as it lives, at once after the store's end of a stream's
   * lifetime, and delivers the current entries if any version differs from the last event
   * (`changed` names those keys). Another 4xx (a rotated token's 401) errors the stream with
   * its KvError. Cancel the stream, abort `signal` or close the handle to stop. Typed per
   * key, as in Deno KV.
   */
  watch<T extends readonly unknown[]>(
    keys: readonly [...{ [K in keyof T]: KvKey }],
    options?: KvWatchOptions,
  ): ReadableStream<{ [K in keyof T]: KvEntryMaybe<T[K]> } & KvWatchEventFields<T[number]>>;
  /** Current entries of 1 to 10 keys, then again whenever one changes; reconnects after a drop. */
  watch<T = unknown>(keys: readonly KvKey[], options?: KvWatchOptions): ReadableStream<KvWatchEvent<T>>;
  /** Starts an all-or-nothing commit of checks, mutations and enqueues. */
  atomic(): AtomicOperation;
  /**
   * Enqueues a message (a commit of its own, retried with its idempotency
   * key): `value` as `set()` takes it, but not a KvU64. It is delivered at
   * least once to a `listenQueue()` handler of the store once `delay` passed.
   */
  enqueue(value: unknown, options?: KvEnqueueCallOptions): Promise<KvCommitResult>;
  /**
   * Calls `handler` with each message of the store's queue as it is due
   * (decoded as `get()` decodes values), as many at once as `concurrency`
   * lets the store deliver. A handler that returns (or resolves)
   * acknowledges its message; one that throws (logged with
   * `console.error('Exception in queue handler', error)`, as Deno does) has
   * it delivered again after the next interval of its backoff schedule, and
   * once the retries are spent its value is written to its
   * `keysIfUndelivered`. The outcomes of a tick are sent in one request
   * (retried; one that fails for good is logged, and its messages come back
   * after their visibility timeout). The stream reconnects as a watch does;
   * a refusal (a rotated token's 401) rejects with its KvError. Resolves
   * once `signal` aborted or `kv.close()` was called, after the running
   * handlers finished and their outcomes were sent. Rejects with KvError
   * `closed` ("Queue already closed") on a closed handle.
   */
  listenQueue(handler: (value: any) => unknown, options?: KvListenQueueOptions): Promise<void>;
  /**
   * Deno KV's placeholder of the commit's version: as the last part of a key
   * being set (`kv.set()`, `atomic().set()`, a `"set"` mutation) it becomes a
   * string part holding the commit's version (20 hex digits). Anywhere else it
   * is refused with a TypeError.
   */
  commitVersionstamp(): symbol;
  /**
   * Closes the handle: requests in flight reject with KvError `closed` (they may
   * or may not have been applied), so do calls waiting to retry and `get()` calls
   * waiting for their batch, open watches end (their streams close), queue
   * listeners stop (`listenQueue()` resolves once the running handlers'
   * outcomes were sent), and every later call throws or rejects with KvError
   * `closed`. Closing again does nothing.
   */
  close(): void;
  /** `close()`, for `using kv = connect(...)`. */
  [Symbol.dispose](): void;
  /** `close()`, for `await using kv = connect(...)`. */
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * Checks, mutations and enqueues committed together or not at all (what
 * `kv.atomic()` returns). Each method validates its arguments at once;
 * `commit()` checks Deno KV's limits (100 checks, 1,000 mutations, 80 KiB of
 * keys written) and the store's 100 enqueues, and rejects with a TypeError
 * past them, before sending.
 */
export class AtomicOperation {
  private constructor();
  /** Adds checks that must all hold for the commit to be written. */
  check(...checks: AtomicCheck[]): this;
  /**
   * Adds mutations in Deno KV's shape. A bad mutation throws a TypeError whose
   * message starts as Deno KV's: "Invalid mutation type", "Invalid mutation
   * 'set' without value", "Invalid mutation 'delete' with value".
   */
  mutate(...mutations: KvMutation[]): this;
  /** Adds a write of a value (as `kv.set()` takes it); a later mutation of the same key wins. */
  set(key: KvKey, value: unknown, options?: KvSetOptions): this;
  /** Adds `n` to the counter at `key` (absent: from 0), wrapping modulo 2^64. */
  sum(key: KvKey, n: KvU64 | bigint | number): this;
  /** Sets the counter at `key` to the smaller of its value and `n`. */
  min(key: KvKey, n: KvU64 | bigint | number): this;
  /** Sets the counter at `key` to the larger of its value and `n`. */
  max(key: KvKey, n: KvU64 | bigint | number): this;
  /** Adds a delete. */
  delete(key: KvKey): this;
  /** Adds a queue message, enqueued only if the commit is written (a failed check enqueues nothing). */
  enqueue(value: unknown, options?: KvEnqueueOptions): this;
  /**
   * Sends the operation; `await` it before reading `ok`. It carries an
   * idempotency key (`options.idempotencyKey`, else a random UUID), the
   * same for each retry, so a retried commit (a `sum` whose answer was lost)
   * applies once. A replayed answer is the first one: the same version, or
   * the same `failedChecks`.
   */
  commit(options?: KvWriteOptions): Promise<KvCommitResult | KvCommitError>;
}

/**
 * The length in bytes of a key's encoding (docs/key-encoding.md), which the
 * store counts against its 2,048-byte key limit and, with the values, its
 * 800 KiB commit limit. Throws TypeError for what is not a key.
 */
export function encodedKeyLength(key: KvKey): number;

/**
 * A refusal by the store (its `code`, e.g. `invalid_token`), `http_<status>` for an answer
 * that is not the API's, `network_error` (no answer), `timeout` (past connect()'s
 * `timeoutMs`), `aborted` (the call's signal; `cause` is its reason) or `closed` (kv.close()).
 */
export class KvError extends Error {
  constructor(
    code: string,
    status: number | null,
    message: string,
    options?: { cause?: unknown; attempts?: number; retryable?: boolean },
  );
  /** The API's error code, or one of the client's: `network_error`, `timeout`, `aborted`, `closed`. */
  readonly code: string;
  /** The HTTP status; `null` when no answer was the cause (`network_error`, `timeout`, `aborted`, `closed`). */
  readonly status: number | null;
  /** How many times the request was sent (0: never). */
  readonly attempts: number;
  /**
   * Whether the same call may succeed if made again: true for `network_error`, `timeout`
   * and the answers 408, 429, 502, 503 and 504 (which the client already retried as far
   * as its policy allows); false for other refusals, `aborted` and `closed`.
   */
  readonly retryable: boolean;
}
