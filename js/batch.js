// Auto-batching of get(): the get() calls made in the same tick are sent as
// one POST /v1/get of up to 100 keys (more make several requests), and each
// caller gets its own entry or its own error.
//
// One bad key must not fail the others: a key the store would refuse (over
// 2,048 encoded bytes, a bigint part past 255 bytes, a string that is not
// well-formed UTF-16, which no JSON parser takes) is sent alone, so the
// store's refusal is its caller's only; and should the store still refuse a
// batch for one of its keys, each key is asked again alone. A failure of the
// batch itself (the network, a timeout, a 5xx after the retries) is every
// caller's. A key asked twice in a tick is read once.

import { KvError } from './errors.js';
import { MAX_KEY_BYTES, MAX_KEYS_PER_GET } from './limits.js';
import { encodedKeyPartsLength } from './sizes.js';

// A bigint key part has at most 255 bytes of magnitude (docs/key-encoding.md).
const MAX_BIGINT_BYTES = 255;
// What the store refuses a batch of gets for because of one key in it.
const KEY_ERRORS = new Set(['invalid_key', 'key_too_large', 'invalid_json']);

export class GetBatcher {
  #send;
  #pending = [];
  #scheduled = false;

  /**
   * `send(wireKeys, signal)` posts one /v1/get and resolves to its entries
   * in the order asked (in their wire form); `signal` aborts it.
   */
  constructor(send) {
    this.#send = send;
  }

  /**
   * The wire entry of `key` (a JS key already checked by encodeKey, with its
   * wire form), read with the other keys asked in this tick. `signal` ends
   * this caller's wait only (KvError "aborted"), not the batch.
   */
  get(key, wireKey, signal) {
    return new Promise((resolve, reject) => {
      if (signal?.aborted) {
        reject(abortedError(signal));
        return;
      }
      const waiter = { id: JSON.stringify(wireKey), wireKey, alone: !batchable(key), resolve, reject, done: false };
      if (signal) {
        const onAbort = () => {
          settle(waiter, () => reject(abortedError(signal)));
          waiter.batch?.leave();
        };
        signal.addEventListener('abort', onAbort, { once: true });
        waiter.release = () => signal.removeEventListener('abort', onAbort);
      }
      this.#pending.push(waiter);
      if (!this.#scheduled) {
        this.#scheduled = true;
        queueMicrotask(() => this.#flush());
      }
    });
  }

  /** Rejects the calls not sent yet with `error` (kv.close()); those sent end with their request. */
  close(error) {
    const pending = this.#pending;
    this.#pending = [];
    for (const waiter of pending) settle(waiter, () => waiter.reject(error));
  }

  #flush() {
    this.#scheduled = false;
    const waiters = this.#pending.filter((waiter) => !waiter.done);
    this.#pending = [];
    // Callers by key: a key asked twice is read once.
    const byKey = new Map();
    for (const waiter of waiters) {
      const group = byKey.get(waiter.id);
      if (group) group.waiters.push(waiter);
      else byKey.set(waiter.id, { wireKey: waiter.wireKey, alone: waiter.alone, waiters: [waiter] });
    }
    const groups = [...byKey.values()];
    const batchable = groups.filter((group) => !group.alone);
    for (let i = 0; i < batchable.length; i += MAX_KEYS_PER_GET) this.#read(batchable.slice(i, i + MAX_KEYS_PER_GET), true);
    for (const group of groups) if (group.alone) this.#read([group], false);
  }

  // One request for the keys of `groups`; `split`: on a refusal that names a
  // key, each key is asked again alone.
  async #read(groups, split) {
    // When every caller of the request aborted, the request is aborted too.
    const controller = new AbortController();
    const waiters = groups.flatMap((group) => group.waiters).filter((waiter) => !waiter.done);
    if (waiters.length === 0) return;
    let remaining = waiters.length;
    const batch = { leave: () => --remaining === 0 && controller.abort() };
    for (const waiter of waiters) waiter.batch = batch;
    let entries;
    try {
      entries = await this.#send(groups.map((group) => group.wireKey), controller.signal);
    } catch (error) {
      if (split && groups.length > 1 && error instanceof KvError && error.status === 400 && KEY_ERRORS.has(error.code)) {
        for (const group of groups) this.#read([group], false);
        return;
      }
      for (const group of groups) for (const waiter of group.waiters) settle(waiter, () => waiter.reject(error));
      return;
    }
    groups.forEach((group, index) => {
      for (const waiter of group.waiters) settle(waiter, () => waiter.resolve(entries[index]));
    });
  }
}

function settle(waiter, action) {
  if (waiter.done) return;
  waiter.done = true;
  waiter.release?.();
  action();
}

function abortedError(signal) {
  return new KvError('aborted', null, 'kv.get() was aborted by its signal', { cause: signal.reason });
}

// Whether the store takes `key` (already checked by encodeKey) in a batch
// without refusing the whole batch for it.
function batchable(key) {
  for (const part of key) {
    if (typeof part === 'string' && !isWellFormed(part)) return false;
    if (typeof part === 'bigint' && (part < 0n ? -part : part).toString(16).length > 2 * MAX_BIGINT_BYTES) return false;
  }
  return encodedKeyPartsLength(key) <= MAX_KEY_BYTES;
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function isWellFormed(text) {
  return typeof text.isWellFormed === 'function' ? text.isWellFormed() : !LONE_SURROGATE.test(text);
}
