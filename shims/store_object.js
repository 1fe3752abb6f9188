// The Durable Object of one store (and of the Worker's token directory):
// hands each request to the wasm core inside one storage transaction.

import { DurableObject } from 'cloudflare:workers';
import coreModule from '../build/wasm/kv_core.wasm';
import { CoreError, createCore } from './core.js';

let core; // one instance per isolate, shared by its objects (calls are synchronous)

export class KvStore extends DurableObject {
  constructor(ctx, env) {
    super(ctx, env);
    core ??= createCore(coreModule);
    ctx.storage.transactionSync(() => core.migrate(ctx.storage.sql));
  }

  /**
   * RPC from the Worker: one API request. `credential` is the access token's
   * SHA-256 (empty for the directory), `body` the request's JSON bytes.
   * Returns `{ status, body }`.
   */
  handle(operation, credential, body) {
    const { storage } = this.ctx;
    try {
      return storage.transactionSync(() =>
        core.handle(storage.sql, operation, new Uint8Array(credential), new Uint8Array(body)));
    } catch (error) {
      if (!(error instanceof CoreError) || error.body === null) throw error;
      // Rolled back; the core already wrote the error response.
      console.error(`store ${operation} rolled back:`, error.cause ?? error);
      return { status: error.status, body: error.body };
    }
  }
}
