// The Durable Object of one store (and of the Worker's token directory):
// hands each request to the wasm core inside one storage transaction, and
// wakes itself with an alarm to purge expired entries.

import { DurableObject } from 'cloudflare:workers';
import coreModule from '../build/wasm/kv_core.wasm';
import { CoreError, createCore } from './core.js';

const NOTHING = new Uint8Array(0);
let core; // one instance per isolate, shared by its objects (calls are synchronous)

export class KvStore extends DurableObject {
  constructor(ctx, env) {
    super(ctx, env);
    core ??= createCore(coreModule);
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
    if (wakeAt !== null) await this.#wakeAt(wakeAt);
    return { status, body: json, quota };
  }

  /** RPC from the Worker: deletes the store's data, token hash included. */
  async destroy() {
    await this.ctx.storage.deleteAlarm();
    await this.ctx.storage.deleteAll();
    this.ctx.storage.transactionSync(() => core.migrate(this.ctx.storage.sql));
  }

  async alarm() {
    const { wakeAt } = this.#run('purge', NOTHING, NOTHING);
    if (wakeAt !== null) await this.#wakeAt(wakeAt);
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
