// The atomic operation builder: checks and mutations collected call by call,
// sent as one commit.

import { encodeCheck, encodeKey, setMutation, toU64 } from './wire.js';

/** Collects checks and mutations; validates each at the call that adds it, so the stack points at it. */
export class AtomicOperation {
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
