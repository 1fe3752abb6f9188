/** One part of a key. Parts are never joined: `["a/b"]` and `["a", "b"]` are different keys. */
export type KvKeyPart = string | number | bigint | boolean | Uint8Array;

/** A key: a non-empty array of parts, e.g. `["users", "1"]`. */
export type KvKey = readonly KvKeyPart[];

/** An entry that exists: its key, value and the version of the commit that wrote it. */
export interface KvEntry<T> {
  key: KvKey;
  value: T;
  /** 20 lowercase hex digits; later commits have greater versions. */
  version: string;
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

/** Options of a `set`. */
export interface KvSetOptions {
  /** Milliseconds until the entry expires; it is invisible from that moment on. */
  expireIn?: number;
}

/** Which entries a list or count covers: `{prefix}`, `{start, end}`, `{prefix, start}` or `{prefix, end}`; `start` is inclusive, `end` exclusive. */
export type KvListSelector =
  | { prefix: readonly KvKeyPart[] }
  | { start: KvKey; end: KvKey }
  | { prefix: readonly KvKeyPart[]; start: KvKey }
  | { prefix: readonly KvKeyPart[]; end: KvKey };

/** Options of `list()`. */
export interface KvListOptions {
  /** At most this many entries in all. */
  limit?: number;
  /** Descending key order. */
  reverse?: boolean;
  /** Resume right after the entry this cursor was taken at (same selector only). */
  cursor?: string;
  /** Entries fetched per round trip, 1 to 1000 (default 100). */
  batchSize?: number;
  /** Transfer keys and versions only; `value` is then null. */
  keysOnly?: boolean;
}

/** The entries of a list, fetched a batch at a time. */
export interface KvListIterator<T> extends AsyncIterable<KvEntry<T>> {
  /** Resumes right after the last entry yielded so far ("" before the first). */
  readonly cursor: string;
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

/** One event of a watch: every watched key's entry, and the indexes of those that changed. */
export interface KvWatchEvent<T> {
  entries: KvEntryMaybe<T>[];
  changed: number[];
}

/** A store's limits (`null`: unlimited) and its usage this UTC month. */
export interface KvUsage {
  limits: { opsPerMonth: number | null; storageBytes: number | null };
  usage: { month: string; operations: number; storageBytes: number; resetsAt: string };
}

/** What a read answers for one key: the entry, or `value` and `version` null when the key has none. */
export type KvEntryMaybe<T> = KvEntry<T> | { key: KvKey; value: null; version: null };

/** A successful commit (`set`, `delete`, `atomic`) and the version it wrote. */
export interface KvCommitResult {
  ok: true;
  version: string;
}

/** An atomic commit refused by its checks; nothing was written. */
export interface KvCommitError {
  ok: false;
  /** 0-based indexes, in the order the checks were added, of the checks that did not hold. */
  failedChecks: number[];
}

/** A condition of an atomic commit: the key's current version, or `null` for "has no entry". */
export interface AtomicCheck {
  key: KvKey;
  version: string | null;
}

/** The part of `fetch` the client uses; `globalThis.fetch` fits. */
export type KvFetch = (
  url: string,
  init: { method: string; headers: Record<string, string>; body?: string; signal?: AbortSignal },
) => Promise<{ ok: boolean; status: number; text(): Promise<string>; body: AsyncIterable<Uint8Array> | null }>;

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
  /** Allow running where `window` and `document` exist. The token would be exposed to every visitor: backend use only. */
  dangerouslyAllowBrowser?: boolean;
}

/** Opens a handle on one store; nothing is sent until a method is called. Throws TypeError on bad options. */
export function connect(options: ConnectOptions): Kv;

/** A handle on one store. Every method is one request; bad arguments reject with TypeError before sending. */
export interface Kv {
  /** The region given to `connect()`. */
  readonly region: string;
  /** Reads one key. */
  get<T = unknown>(key: KvKey): Promise<KvEntryMaybe<T>>;
  /** Reads 1 to 100 keys in one consistent snapshot; entries come in the order asked. */
  getMany<T = unknown>(keys: readonly KvKey[]): Promise<KvEntryMaybe<T>[]>;
  /** Writes a JSON value (at most 16 KiB serialized) or a KvU64 under a key. */
  set(key: KvKey, value: unknown, options?: KvSetOptions): Promise<KvCommitResult>;
  /** Deletes a key; resolves to whether an entry existed. */
  delete(key: KvKey): Promise<boolean>;
  /** Live entries of a selector in key order (bytes < string < bigint < number < false < true). */
  list<T = unknown>(selector: KvListSelector, options?: KvListOptions): KvListIterator<T>;
  /** How many live entries a selector holds, without transferring them. */
  count(selector: KvListSelector): Promise<number>;
  /** The store's limits and this month's usage. */
  usage(): Promise<KvUsage>;
  /** The entries of a selector (default: all) as newline-delimited JSON lines. */
  export(selector?: KvListSelector): AsyncIterable<string>;
  /**
   * Writes exported lines in atomic batches; keeps expiry, skips expired entries.
   * A batch stays within the store's commit limits as the store counts them
   * (800 KiB of encoded keys plus stored values, 2 MiB of request); an entry
   * over the key or value limit is sent alone. On failure nothing more is sent
   * and it rejects with a KvError (the store's code and status; the store's
   * own error as `cause`) or a TypeError (a malformed line), which also has
   * the fields of KvImportFailure: which lines landed.
   */
  import(
    source: Iterable<string | Uint8Array> | AsyncIterable<string | Uint8Array>,
    options?: { batchSize?: number; onProgress?: (progress: KvImportProgress) => void },
  ): Promise<KvImportProgress>;
  /** Current entries of 1 to 10 keys, then again whenever one changes; reconnects after a drop. Cancel the stream to stop. */
  watch<T = unknown>(keys: readonly KvKey[], options?: { signal?: AbortSignal }): ReadableStream<KvWatchEvent<T>>;
  /** Starts an all-or-nothing commit of checks and mutations. */
  atomic(): AtomicOperation;
}

/** Checks and mutations committed together or not at all. Each method validates its arguments at once. */
export interface AtomicOperation {
  /** Adds checks that must all hold for the commit to be written. */
  check(...checks: AtomicCheck[]): this;
  /** Adds a write of a JSON value or KvU64; a later mutation of the same key wins. */
  set(key: KvKey, value: unknown, options?: KvSetOptions): this;
  /** Adds `n` to the counter at `key` (absent: from 0), wrapping modulo 2^64. */
  sum(key: KvKey, n: KvU64 | bigint | number): this;
  /** Sets the counter at `key` to the smaller of its value and `n`. */
  min(key: KvKey, n: KvU64 | bigint | number): this;
  /** Sets the counter at `key` to the larger of its value and `n`. */
  max(key: KvKey, n: KvU64 | bigint | number): this;
  /** Adds a delete. */
  delete(key: KvKey): this;
  /** Sends the operation; `await` it before reading `ok`. */
  commit(): Promise<KvCommitResult | KvCommitError>;
}

/**
 * The length in bytes of a key's encoding (docs/key-encoding.md), which the
 * store counts against its 2,048-byte key limit and, with the values, its
 * 800 KiB commit limit. Throws TypeError for what is not a key.
 */
export function encodedKeyLength(key: KvKey): number;

/** A refusal by the store (its `code`, e.g. `invalid_token`), `http_<status>` for an answer that is not the API's, or `network_error`. */
export class KvError extends Error {
  constructor(code: string, status: number | null, message: string, options?: { cause?: unknown });
  /** The API's error code. */
  readonly code: string;
  /** The HTTP status; `null` for `network_error`. */
  readonly status: number | null;
}
