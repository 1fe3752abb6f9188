// ESM client of the key-value store: a thin layer over docs/http-api.md.
// No dependencies, so it runs unchanged on Node >= 20, Deno, Bun and Workers.

const MAX_KEYS_PER_GET = 100;
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
export function connect({ accessToken, region, endpoint, fetch = globalThis.fetch } = {}) {
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

  async set(key, value) {
    const { version } = await this.#post('set', { key: encodeKey(key, 'key'), value: toJsonValue(value, 'value') });
    return { ok: true, version };
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
    return entries.map(({ key, value, version }) => ({ key: key.map(decodeKeyPart), value, version }));
  }

  async #post(route, body) {
    const url = `${this.#endpoint}/v1/${route}`;
    const request = {
      method: 'POST',
      headers: { authorization: `Bearer ${this.#accessToken}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    };
    // Called detached: Workers' fetch throws "Illegal invocation" when called as a method of another object.
    const fetch = this.#fetch;
    let response;
    let text;
    try {
      response = await fetch(url, request);
      text = await response.text();
    } catch (cause) {
      throw new KvError('network_error', null, `POST ${url} failed before an answer arrived: ${cause?.message ?? cause}`, { cause });
    }
    const answer = parseJson(text);
    if (response.ok && answer !== undefined) return answer;
    const error = answer?.error;
    if (typeof error?.code === 'string') throw new KvError(error.code, response.status, error.message);
    // Not the API speaking (a proxy, a wrong endpoint): keep the start of the body to help find out who did.
    throw new KvError(
      `http_${response.status}`,
      response.status,
      `POST ${url} answered HTTP ${response.status} without the store's JSON: ${text.slice(0, 200)}`,
    );
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

  set(key, value) {
    const path = `mutations[${this.#mutations.length}]`;
    this.#mutations.push({ type: 'set', key: encodeKey(key, `${path}.key`), value: toJsonValue(value, `${path}.value`) });
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
