// The Durable Object of one store (and of the Worker's token directory):
// hands each request to the wasm core inside one storage transaction, and
// wakes itself with an alarm to purge expired entries.

import { DurableObject } from 'cloudflare:workers';
import coreModule from '../build/wasm/kv_core.wasm';
import { CoreError, createCore } from './core.js';

const NOTHING = new Uint8Array(0);
const WRITES = new Set(['set', 'delete', 'atomic']);
const encoder = new TextEncoder();
let core; // one instance per isolate, shared by its objects (calls are synchronous)

/** The isolate's core instance, made on first use. */
export function sharedCore() {
  core ??= createCore(coreModule);
  return core;
}

export class KvStore extends DurableObject {
  // Open watches: { credential, body, versions, writer }.
  #watches = new Set();

  constructor(ctx, env) {
    super(ctx, env);
    sharedCore();
    ctx.storage.transactionSync(() => core.migrate(ctx.storage.sql));
  }

  /**
   * RPC from the Worker: one API request. `credential` is the access
   * token's SHA-256 (empty for the directory and for the Worker's own
   * operations), `body` the request's JSON bytes. Returns
   * `{ status, body, quota }` (see shims/core.js).
   */
  async handle(operation, credential, body) {
    const { status, body: json, quota, wakeAt } = this.#run(operation, credential, body);
    if (status === 200 && WRITES.has(operation)) this.#updateWatches();
    if (wakeAt !== null) await this.#wakeAt(wakeAt);
    return { status, body: json, quota };
  }

  /**
   * RPC from the Worker: opens a watch of 1 to 10 keys. Returns the error
   * `{ status, body, quota }`, or `{ status: 200, stream, quota }`: server-sent
   * events, first the current entries, then one event after each commit that
   * changed any of them (docs/http-api.md).
   */
  async watch(credential, body) {
    const opened = this.#run('watch', credential, body);
    if (opened.status !== 200) return opened;
    const { readable, writable } = new TransformStream();
    const watch = { credential, body, versions: [], writer: writable.getWriter() };
    this.#watches.add(watch);
    // A client that goes away makes writes fail: forget the watch then.
    watch.writer.closed.catch(() => this.#watches.delete(watch));
    this.#deliver(watch, opened);
    return { status: 200, stream: readable, quota: opened.quota };
  }

  /** RPC from the Worker: deletes the store's data, token hash included. */
  async destroy() {
    await this.ctx.storage.deleteAlarm();
    await this.ctx.storage.deleteAll();
    this.ctx.storage.transactionSync(() => core.migrate(this.ctx.storage.sql));
  }

  async alarm() {
    const { wakeAt } = this.#run('purge', NOTHING, NOTHING);
    this.#updateWatches(); // an expired entry is a change too
    if (wakeAt !== null) await this.#wakeAt(wakeAt);
  }

  #updateWatches() {
    for (const watch of this.#watches) this.#deliver(watch, this.#run('peek', watch.credential, watch.body));
  }

  // Sends `result` (of "watch" or "peek") to `watch` as an event naming the
  // keys whose versions changed; an error ends the watch.
  #deliver(watch, result) {
    if (result.status !== 200) {
      watch.writer.write(encoder.encode(`event: error\ndata: ${result.body}\n\n`)).catch(() => {});
      watch.writer.close().catch(() => {});
      this.#watches.delete(watch);
      return;
    }
    const { entries } = JSON.parse(result.body);
    const changed = entries.flatMap((entry, index) => (entry.version !== watch.versions[index] ? [index] : []));
    if (watch.versions.length > 0 && changed.length === 0) return;
    watch.versions = entries.map((entry) => entry.version);
    watch.writer.write(encoder.encode(`data: ${JSON.stringify({ entries, changed })}\n\n`)).catch(() => {});
  }

  #run(operation, credential, body) {
    const { storage } = this.ctx;
    try {
      return storage.transactionSync(() =>
        core.handle(storage.sql, operation, new Uint8Array(credential), new Uint8Array(body), Date.now()));
    } catch (error) {
      if (!(error instanceof CoreError) || error.body === null) throw error;
      // Rolled back; the core already wrote the error response.
      console.error(`store ${operation} rolled back:`, error.cause ?? error);
      return { status: error.status, body: error.body, quota: null, wakeAt: null };
    }
  }

  // Keeps the earliest of the pending alarm and `time`: one alarm per object.
  async #wakeAt(time) {
    const pending = await this.ctx.storage.getAlarm();
    if (pending === null || time < pending) await this.ctx.storage.setAlarm(time);
  }
}
