// The wire codec of docs/http-api.md: keys, values, counters, selectors,
// checks and entries, between their JavaScript form and their JSON form.
// Each encoder refuses what the store would refuse, naming where it is.

import { encodeBase64, decodeBase64 } from './base64.js';
import { describe } from './errors.js';
import { MAX_U64 } from './limits.js';

/**
 * What kv.commitVersionstamp() returns: as the last part of a key being set,
 * it stands for the commit's version (Deno KV's versionstamped keys).
 */
export const COMMIT_VERSIONSTAMP = Symbol('KvCommitVersionstamp');

const VERSION_PATTERN = /^[0-9a-f]{20}$/;
const IDENTIFIER_PATTERN = /^[A-Za-z_$][\w$]*$/;
const ALLOWED_KEY_PARTS = 'key parts must be string, number, bigint, boolean or Uint8Array';
const ALLOWED_VALUES =
  'values must be JSON: null, boolean, string, finite number, array or plain object ' +
  '(or an object with a toJSON method, like Date); a whole value may also be a Uint8Array, a KvU64 or a KvV8Value';
const ALLOWED_VERSIONS = 'a version must be null (the key has no entry) or a string of 20 lowercase hex digits';

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

/**
 * A value a Deno client wrote that has no JSON form (a Date, Map, bigint...):
 * its V8 serialization, as Deno KV stores it. Reads return it as it is, and
 * setting it writes the same value back.
 */
export class KvV8Value {
  #bytes;

  constructor(bytes) {
    if (!isUint8Array(bytes)) {
      throw new TypeError(`KvV8Value takes the V8-serialized bytes as a Uint8Array, got ${describe(bytes)}`);
    }
    this.#bytes = new Uint8Array(bytes); // a copy: the caller's buffer may change
    Object.freeze(this);
  }

  get bytes() {
    return this.#bytes;
  }
}

// Deno's own test (TypedArrayPrototypeGetSymbolToStringTag): a Uint8Array
// of any realm, Node's Buffer included.
const typedArrayTag = Object.getOwnPropertyDescriptor(Object.getPrototypeOf(Uint8Array.prototype), Symbol.toStringTag).get;

export function isUint8Array(value) {
  return typedArrayTag.call(value) === 'Uint8Array';
}

export function toU64(n, path) {
  if (n instanceof KvU64) return n;
  if (typeof n === 'number' && Number.isSafeInteger(n) && n >= 0) return new KvU64(BigInt(n));
  if (typeof n === 'bigint' && n >= 0n && n <= MAX_U64) return new KvU64(n);
  throw new TypeError(`${path} is ${describe(n)}; counters take a KvU64, a bigint from 0n to 2n ** 64n - 1n, or a safe whole number`);
}

// The wire fields of a value: JSON, a counter with valueType "u64", a
// Uint8Array ("bytes") or a KvV8Value ("v8"), the last two in base64.
export function encodeValue(value, path) {
  if (value instanceof KvU64) return { value: value.value.toString(), valueType: 'u64' };
  if (isUint8Array(value)) return { value: encodeBase64(value), valueType: 'bytes' };
  if (value instanceof KvV8Value) return { value: encodeBase64(value.bytes), valueType: 'v8' };
  return { value: toJsonValue(value, path) };
}

export function decodeValue(value, valueType) {
  switch (valueType) {
    case 'u64':
      return new KvU64(BigInt(value));
    case 'bytes':
      return decodeBase64(value);
    case 'v8':
      return new KvV8Value(decodeBase64(value));
  }
  return value ?? null;
}

// The wire form of a set (AtomicOperation.set and mutate, import()).
export function setMutation(key, value, options, path) {
  return {
    type: 'set',
    ...encodeSetKey(key, `${path}.key`),
    ...encodeValue(value, `${path}.value`),
    ...encodeSetOptions(options, `${path}.options`),
  };
}

/**
 * The wire fields of the key of a set: `key`, and `versionstampedKey: true`
 * when its last part is kv.commitVersionstamp(), which is then left out (the
 * store appends the commit's version as one more string part).
 */
export function encodeSetKey(key, path) {
  if (!isVersionstamped(key)) return { key: encodeKey(key, path) };
  if (key.length === 1) {
    throw new TypeError(
      `${path} is [kv.commitVersionstamp()] alone: key cannot be empty; put parts before the versionstamp, like ["events", kv.commitVersionstamp()]`,
    );
  }
  return { key: encodeKey(key.slice(0, -1), path), versionstampedKey: true };
}

function isVersionstamped(key) {
  return Array.isArray(key) && key.length > 0 && key[key.length - 1] === COMMIT_VERSIONSTAMP;
}

/** The parts of the key a set sends: without a trailing kv.commitVersionstamp(). */
export function sentKeyParts(key) {
  return isVersionstamped(key) ? key.slice(0, -1) : key;
}

export function encodeSetOptions(options, path) {
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

// An entry of an answer; `versionstamp` is Deno KV's name of the version.
export function decodeEntry({ key, value, valueType, version, expiresAt, cursor }) {
  const entry = {
    key: key.map(decodeKeyPart),
    value: decodeValue(value, valueType),
    version,
    versionstamp: version,
  };
  if (expiresAt !== undefined) entry.expiresAt = expiresAt;
  return cursor === undefined ? entry : [entry, cursor];
}

// {prefix}, {start, end}, {prefix, start} or {prefix, end}: the server checks the combination.
export function encodeSelector(selector) {
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

// {key, version} or Deno KV's {key, versionstamp}: the same 20 hex digits.
export function encodeCheck(check, path) {
  if (typeof check !== 'object' || check === null) {
    throw new TypeError(`${path} must be an object {key, version} or {key, versionstamp}, got ${describe(check)}`);
  }
  const key = encodeKey(check.key, `${path}.key`);
  const { version, versionstamp } = check;
  if (version !== undefined && versionstamp !== undefined && version !== versionstamp) {
    throw new TypeError(`${path} has version ${describe(version)} and versionstamp ${describe(versionstamp)}; give one of them`);
  }
  const field = versionstamp !== undefined ? 'versionstamp' : 'version';
  const expected = check[field];
  if (expected !== null && !(typeof expected === 'string' && VERSION_PATTERN.test(expected))) {
    throw new TypeError(`${path}.${field} is ${describe(expected)}; ${ALLOWED_VERSIONS}`);
  }
  return { key, version: expected };
}

export function encodeKey(key, path) {
  if (!Array.isArray(key) || key.length === 0) {
    const got = Array.isArray(key) ? 'an empty array' : describe(key);
    throw new TypeError(`${path} must be a non-empty array of parts like ["users", "1"], got ${got}`);
  }
  return key.map((part, index) => encodeKeyPart(part, `${path}[${index}]`));
}

// The wire form of each part type is the table in docs/http-api.md, "Keys".
export function encodeKeyPart(part, path) {
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
  if (part === COMMIT_VERSIONSTAMP) {
    throw new TypeError(
      `${path} is kv.commitVersionstamp(), which may only be the last part of a key being set ` +
        '(kv.set(), atomic().set() or a "set" mutation)',
    );
  }
  throw new TypeError(`${path} is ${describe(part)}; ${ALLOWED_KEY_PARTS}`);
}

export function decodeKeyPart(part) {
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
