// The product's wasm core (build/wasm/kv_core.wasm) in plain Node, through
// its own JS glue (shims/core.js createCore) on real SQLite: what a Durable
// Object runs per request, without workerd. Used for the core's share of a
// request, its instantiation time and its memory over many calls.

import { readFileSync } from 'node:fs';
import { createCore } from '../shims/core.js';
import { openSqlStorage } from './sqlite_host.js';

const NO_CREDENTIAL = new Uint8Array(0); // a store without a token accepts this

export function loadCoreModule(file) {
  return new WebAssembly.Module(readFileSync(file));
}

/**
 * createCore(module), also returning the WebAssembly.Instance it made:
 * createCore keeps its instance private, and the memory figures need
 * instance.exports.memory. WebAssembly.Instance is swapped for a subclass
 * that remembers what it built, only for the duration of the call.
 *
 * With `clock` (an object with numeric fields `inHandle` and `inHostSql`),
 * the subclass also times, in milliseconds, every call of the kv_handle
 * export and of the kv_host.sql import, so that the time inside wasm can be
 * told from the time in the host; shims/ stay as they are.
 */
export function createCoreWithInstance(wasmModule, clock = null) {
  const Original = WebAssembly.Instance;
  let instance;
  WebAssembly.Instance = class extends Original {
    constructor(module, imports) {
      super(module, clock ? { ...imports, kv_host: { sql: timed(imports.kv_host.sql, clock, 'inHostSql') } } : imports);
      instance = this;
      if (clock) {
        const exports = { ...super.exports, kv_handle: timed(super.exports.kv_handle, clock, 'inHandle') };
        Object.defineProperty(this, 'exports', { value: exports });
      }
    }
  };
  try {
    return { core: createCore(wasmModule), instance };
  } finally {
    WebAssembly.Instance = Original;
  }
}

function timed(fn, clock, field) {
  return (...args) => {
    const start = performance.now();
    try {
      return fn(...args);
    } finally {
      clock[field] += performance.now() - start;
    }
  };
}

/**
 * A store: one core on one in-memory SQLite database, migrated. call(op,
 * body) handles one request (body: Uint8Array of JSON) in a transaction, as
 * shims/store_object.js does (carrying the deferred operations and the
 * state row from one committed request to the next), and returns
 * { status, body, ... }
 * (shims/core.js). With `timed`, `clock` adds up the milliseconds spent
 * inside kv_handle, inside the kv_host.sql import and inside sql.exec.
 */
export function openCoreStore(wasmModule, { timed: timing = false } = {}) {
  const clock = timing ? { inHandle: 0, inHostSql: 0, inExec: 0 } : null;
  const { core, instance } = createCoreWithInstance(wasmModule, clock);
  const storage = openSqlStorage();
  if (clock) storage.sql.exec = timed(storage.sql.exec, clock, 'inExec');
  storage.transaction(() => core.migrate(storage.sql));
  let deferredOperations = 0;
  let stateRow = null;
  const call = (operation, body) => {
    try {
      const result = storage.transaction(() => core.handle(storage.sql, operation, NO_CREDENTIAL, body, Date.now(),
        deferredOperations, stateRow));
      ({ deferredOperations, stateRow } = result);
      return result;
    } catch (error) {
      stateRow = null;
      throw error;
    }
  };
  return {
    clock,
    call,
    memoryBytes: () => instance.exports.memory.buffer.byteLength,
    close: storage.close,
  };
}
