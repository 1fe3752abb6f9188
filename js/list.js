// Paging through a list: the store answers pages with a cursor to the next.

import { decodeEntry } from './wire.js';

/** An async iterator of list entries; `cursor` resumes right after the last entry it yielded. */
export class ListIterator {
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
