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
  init: { method: string; headers: Record<string, string>; body: string },
) => Promise<{ ok: boolean; status: number; text(): Promise<string> }>;

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
  /** Writes a JSON value (at most 16 KiB serialized) under a key. */
  set(key: KvKey, value: unknown): Promise<KvCommitResult>;
  /** Deletes a key; resolves to whether an entry existed. */
  delete(key: KvKey): Promise<boolean>;
  /** Starts an all-or-nothing commit of checks and mutations. */
  atomic(): AtomicOperation;
}

/** Checks and mutations committed together or not at all. Each method validates its arguments at once. */
export interface AtomicOperation {
  /** Adds checks that must all hold for the commit to be written. */
  check(...checks: AtomicCheck[]): this;
  /** Adds a write of a JSON value; a later mutation of the same key wins. */
  set(key: KvKey, value: unknown): this;
  /** Adds a delete. */
  delete(key: KvKey): this;
  /** Sends the operation; `await` it before reading `ok`. */
  commit(): Promise<KvCommitResult | KvCommitError>;
}

/** A refusal by the store (its `code`, e.g. `invalid_token`), `http_<status>` for an answer that is not the API's, or `network_error`. */
export class KvError extends Error {
  constructor(code: string, status: number | null, message: string, options?: { cause?: unknown });
  /** The API's error code. */
  readonly code: string;
  /** The HTTP status; `null` for `network_error`. */
  readonly status: number | null;
}
