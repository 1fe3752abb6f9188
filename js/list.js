// Paging through a list: the store answers pages with a cursor to the next.

import { decodeEntry } from './wire.js';

// %AsyncIteratorPrototype%, which has no global name: extending it gives the
// iterator the async iterator helpers where the runtime has them, as Deno's
// KvListIterator does.
const AsyncIteratorPrototype = Object.getPrototypeOf(Object.getPrototypeOf(async function* () {}).prototype);

/**
 * The entries of a list, as Deno KV's KvListIterator: an async iterator
 * (`next()`, and itself as its `[Symbol.asyncIterator]()`) whose `cursor`
 * resumes right after the last entry it yielded.
 */
export class KvListIterator {
  #page;
  #remaining;
  #batchSize;
  #cursor; // undefined before the first entry (unless given), "" once the entries ran out
  #buffer = []; // [entry, cursor] pairs fetched, not yet yielded, last first
  #after; // where the next page starts: the cursor of the last entry fetched
  #lastPage = false;
  #done = false;
  #error;
  #queue = Promise.resolve(); // next() calls run one after another

  /**
   * Made by kv.list(). `page(after, size)` fetches up to `size` entries after
   * the cursor `after` ({entries, cursor}); `error`, if given, is what the
   * first next() rejects with (Deno KV refuses a bad range when it reads).
   */
  constructor(page, { limit, batchSize, cursor, error } = {}) {
    if (typeof page !== 'function') {
      throw new TypeError('a KvListIterator is made by kv.list(), not constructed directly');
    }
    this.#page = page;
    this.#remaining = limit;
    this.#batchSize = batchSize;
    this.#cursor = cursor || undefined;
    this.#after = cursor || undefined;
    this.#error = error;
  }

  /**
   * The cursor to pass to list() (same selector) to resume after the last
   * entry yielded: "" once every entry was yielded. As in Deno KV, reading
   * it before the first entry throws, unless list() was given a cursor.
   */
  get cursor() {
    if (this.#cursor === undefined) throw new Error('Cannot get cursor before first iteration');
    return this.#cursor;
  }

  next() {
    const result = this.#queue.then(() => this.#next());
    this.#queue = result.catch(() => {});
    return result;
  }

  [Symbol.asyncIterator]() {
    return this;
  }

  async #next() {
    if (this.#done || this.#remaining <= 0) return { done: true, value: undefined };
    if (this.#error) {
      this.#done = true;
      throw this.#error;
    }
    while (this.#buffer.length === 0 && !this.#lastPage) {
      const { entries, cursor } = await this.#page(this.#after, Math.min(this.#batchSize, this.#remaining));
      this.#buffer = entries.map(decodeEntry).reverse();
      if (cursor === null || cursor === undefined) this.#lastPage = true;
      else this.#after = cursor;
    }
    if (this.#buffer.length === 0) {
      this.#done = true;
      this.#cursor = '';
      return { done: true, value: undefined };
    }
    const [entry, cursor] = this.#buffer.pop();
    this.#cursor = cursor;
    this.#remaining--;
    return { done: false, value: entry };
  }
}

Object.setPrototypeOf(KvListIterator.prototype, AsyncIteratorPrototype);
