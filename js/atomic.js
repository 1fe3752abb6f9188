// The atomic operation builder: checks, mutations and enqueues collected
// call by call, sent as one commit.

import { describe } from './errors.js';
import { MAX_CHECKS, MAX_COMMIT_KEY_BYTES, MAX_ENQUEUES, MAX_MUTATIONS } from './limits.js';
import { encodeEnqueue } from './queue.js';
import { encodedKeyPartsLength } from './sizes.js';
import { checkIdempotencyKey, checkSignal } from './transport.js';
import { encodeCheck, encodeKey, KvU64, sentKeyParts, setMutation, toU64 } from './wire.js';

const MUTATION_TYPES = 'the types are "set", "delete", "sum", "min" and "max"';

/**
 * Collects checks, mutations and enqueues; validates each at the call that
 * adds it, so the stack points at it. What concerns the whole commit (Deno
 * KV's limits on checks, mutations and key bytes, the store's on enqueues)
 * is checked by commit(), before sending.
 */
export class AtomicOperation {
  #checks = [];
  #mutations = [];
  #enqueues = [];
  #keyBytes = 0; // encoded key bytes of the mutations that write a value
  #send;

  /** Made by kv.atomic(); `send(body, options)` posts the commit with commit()'s options. */
  constructor(send) {
    if (typeof send !== 'function') {
      throw new TypeError('an AtomicOperation is made by kv.atomic(), not constructed directly');
    }
    this.#send = send;
  }

  /** Adds checks: `{key, versionstamp}` (Deno KV) or `{key, version}`; null means "has no entry". */
  check(...checks) {
    for (const check of checks) this.#checks.push(encodeCheck(check, `checks[${this.#checks.length}]`));
    return this;
  }

  /**
   * Adds mutations in Deno KV's shape: `{type: "set", key, value, expireIn?}`,
   * `{type: "delete", key}`, `{type: "sum" | "min" | "max", key, value: KvU64}`.
   * Errors start with Deno KV's messages.
   */
  mutate(...mutations) {
    for (const mutation of mutations) this.#mutate(mutation, `mutations[${this.#mutations.length}]`);
    return this;
  }

  #mutate(mutation, path) {
    if (typeof mutation !== 'object' || mutation === null) {
      throw new TypeError(`${path} must be a mutation object like {type: "set", key, value}, got ${describe(mutation)}`);
    }
    const { type } = mutation;
    switch (type) {
      case 'delete':
        if (mutation.value) {
          throw new TypeError(`Invalid mutation 'delete' with value: ${path} is a delete, which takes no value`);
        }
        return this.delete(mutation.key);
      case 'set':
      case 'sum':
      case 'min':
      case 'max':
        if (!Object.hasOwn(mutation, 'value')) {
          throw new TypeError(`Invalid mutation '${type}' without value: ${path} has no value`);
        }
        break;
      default:
        throw new TypeError(`Invalid mutation type: ${path}.type is ${describe(type)}; ${MUTATION_TYPES}`);
    }
    if (type === 'set') {
      const options = typeof mutation.expireIn === 'number' ? { expireIn: mutation.expireIn } : undefined;
      return this.set(mutation.key, mutation.value, options);
    }
    if (!(mutation.value instanceof KvU64)) {
      // Deno would apply a sum of plain numbers or bigints to a number or
      // bigint value; this store's counters are u64 only.
      throw new TypeError(
        `Invalid mutation '${type}': ${path}.value is ${describe(mutation.value)}; ` +
          `"${type}" mutations take a KvU64 (e.g. new KvU64(1n)): this store's counters are unsigned 64-bit integers`,
      );
    }
    return this.#counter(type, mutation.key, mutation.value);
  }

  set(key, value, options) {
    const path = `mutations[${this.#mutations.length}]`;
    const mutation = setMutation(key, value, options, path);
    this.#keyBytes += encodedKeyPartsLength(sentKeyParts(key));
    this.#mutations.push(mutation);
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
    this.#keyBytes += encodedKeyPartsLength(key);
    return this;
  }

  delete(key) {
    this.#mutations.push({ type: 'delete', key: encodeKey(key, `mutations[${this.#mutations.length}].key`) });
    return this;
  }

  /**
   * Adds a queue message (docs/queues.md), enqueued only if the commit is:
   * `value` as set() takes it (but a KvU64), and Deno KV's options `delay`,
   * `keysIfUndelivered` and `backoffSchedule`, checked with its TypeErrors.
   */
  enqueue(value, options) {
    this.#enqueues.push(encodeEnqueue(value, options, `enqueues[${this.#enqueues.length}].`));
    return this;
  }

  /**
   * Sends the commit. `options.signal` aborts it; `options.idempotencyKey`
   * (1 to 64 characters of [A-Za-z0-9_-]) replaces the key the client
   * generates, so that sending the same commit again later, even from
   * another process, applies it at most once within the store's window.
   */
  commit(options) {
    // Not `async`: an async method can only return a plain Promise, not a CommitPromise.
    return new CommitPromise((resolve) => resolve(this.#sendCommit(options)));
  }

  async #sendCommit(options) {
    const callOptions = writeOptions(options, 'commit');
    this.#checkLimits();
    const body = { checks: this.#checks, mutations: this.#mutations };
    if (this.#enqueues.length > 0) body.enqueues = this.#enqueues; // else the body is what a store without queues took
    const answer = await this.#send(body, callOptions);
    return answer.ok
      ? { ok: true, version: answer.version, versionstamp: answer.version }
      : { ok: false, failedChecks: answer.failedChecks };
  }

  // Deno KV's limits of one commit, with its messages (TypeError, as Deno
  // throws), and the store's on enqueues.
  #checkLimits() {
    if (this.#checks.length > MAX_CHECKS) {
      throw new TypeError(`Too many checks (max ${MAX_CHECKS}): this commit has ${this.#checks.length}; split it`);
    }
    if (this.#mutations.length > MAX_MUTATIONS) {
      throw new TypeError(`Too many mutations (max ${MAX_MUTATIONS}): this commit has ${this.#mutations.length}; split it`);
    }
    if (this.#enqueues.length > MAX_ENQUEUES) {
      throw new TypeError(`Too many enqueues (max ${MAX_ENQUEUES}): this commit has ${this.#enqueues.length}; split it`);
    }
    if (this.#keyBytes > MAX_COMMIT_KEY_BYTES) {
      throw new TypeError(
        `Total key size too large (max ${MAX_COMMIT_KEY_BYTES} bytes): the keys this commit's set, sum, min and max ` +
          `mutations write encode to ${this.#keyBytes} bytes (docs/key-encoding.md); split it`,
      );
    }
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

  get versionstamp() {
    throw notAwaited('versionstamp');
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

/**
 * The options of a write call (`set`, `delete`, `commit`): `signal` and
 * `idempotencyKey`, checked; `extra` names more options the call takes,
 * returned in `rest`.
 */
export function writeOptions(options, method, extra = []) {
  if (options === undefined) return { rest: {} };
  if (typeof options !== 'object' || options === null) {
    throw new TypeError(`${method}() options must be an object like { signal }, got ${describe(options)}`);
  }
  const { signal, idempotencyKey, ...rest } = options;
  const unknown = Object.keys(rest).find((name) => !extra.includes(name));
  if (unknown !== undefined) {
    throw new TypeError(`${method}() has an unknown option "${unknown}"; the options are ${[...extra, 'signal', 'idempotencyKey'].join(', ')}`);
  }
  return {
    signal: checkSignal(signal, `${method}() options.signal`),
    idempotencyKey: checkIdempotencyKey(idempotencyKey, `${method}() options.idempotencyKey`),
    rest,
  };
}
