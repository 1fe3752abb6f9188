// The wasm boundary, bound in one place: instantiates the core's standalone
// module (worker/kv_c.h is the ABI) and exposes it as a small JS object.
// Every buffer this file allocates in wasm memory is freed in a `finally`.

import { sqlHostImport } from './sql_storage.js';

const KV_OK = 0;
const ROLLBACK_STATUS = 500; // kv_handle: a status of 500 or more means roll back
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Thrown when the core reports a failure; the caller's transaction must roll back. */
export class CoreError extends Error {
  constructor(message, { status = ROLLBACK_STATUS, body = null, cause } = {}) {
    super(message, { cause });
    this.name = 'CoreError';
    this.status = status;
    this.body = body; // the core's JSON error response, when it wrote one
  }
}

/**
 * Instantiates the core from a compiled WebAssembly.Module. One instance
 * serves every store object of the isolate: each call is synchronous and
 * names the storage it runs against.
 */
export function createCore(wasmModule) {
  const storage = { sql: null, error: null }; // the call in progress
  let instance;
  const memory = () => instance.exports.memory.buffer;
  const sqlImport = sqlHostImport({
    storage,
    memory,
    alloc: (size) => instance.exports.kv_alloc(size),
  });
  instance = new WebAssembly.Instance(wasmModule, {
    kv_host: { sql: sqlImport.run },
    env: { emscripten_notify_memory_growth() {} },
    wasi_snapshot_preview1: wasiImports,
  });
  instance.exports._initialize();
  const { kv_alloc, kv_free, kv_handle, kv_migrate } = instance.exports;
  sqlImport.setStatements(readStatements(instance.exports, memory));

  // Runs `body(sql)` with `sql` as the storage of host calls, and turns a
  // storage failure into a CoreError.
  function withStorage(sql, body) {
    storage.sql = sql;
    storage.error = null;
    try {
      return body();
    } finally {
      storage.sql = null;
    }
  }

  return {
    /** Creates the schema on `sql` (a ctx.storage.sql) if it is missing. */
    migrate(sql) {
      withStorage(sql, () => {
        if (kv_migrate() !== KV_OK) {
          throw new CoreError('creating the schema failed', { cause: storage.error });
        }
      });
    },

    /**
     * Handles one API request (kv_handle). `credential` is the token's
     * SHA-256 (Uint8Array, empty for the Worker's directory). Returns
     * `{ status, body }` with the JSON body as a string; throws CoreError
     * when storage failed, so that transactionSync rolls back.
     */
    handle(sql, operation, credential, body) {
      const op = encoder.encode(operation);
      const size = op.length + credential.length + body.length + 8;
      const request = kv_alloc(size);
      if (request === 0) throw new CoreError(`out of wasm memory for a ${size}-byte request`);
      try {
        const at = { op: request, credential: request + op.length };
        at.body = at.credential + credential.length;
        at.out = at.body + body.length; // two u32 out-params
        const bytes = new Uint8Array(memory());
        bytes.set(op, at.op);
        bytes.set(credential, at.credential);
        bytes.set(body, at.body);
        return withStorage(sql, () => {
          const status = kv_handle(at.op, op.length, at.credential, credential.length,
            at.body, body.length, at.out, at.out + 4);
          const out = new DataView(memory(), at.out, 8);
          const response = new Uint8Array(memory(), out.getUint32(0, true), out.getUint32(4, true));
          const text = decoder.decode(response);
          if (status >= ROLLBACK_STATUS) {
            throw new CoreError(`the core failed with status ${status}`, { status, body: text, cause: storage.error });
          }
          return { status, body: text };
        });
      } finally {
        kv_free(request);
      }
    },
  };
}

function readStatements(exports, memory) {
  const sizeSlot = exports.kv_alloc(4);
  try {
    const statements = [];
    for (let i = 0; i < exports.kv_statement_count(); i++) {
      const text = exports.kv_statement_sql(i, sizeSlot);
      const size = new DataView(memory()).getUint32(sizeSlot, true);
      statements.push(decoder.decode(new Uint8Array(memory(), text, size)));
    }
    return statements;
  } finally {
    exports.kv_free(sizeSlot);
  }
}

// The one WASI call a standalone Emscripten module imports: abort() exits.
const wasiImports = {
  proc_exit(code) {
    throw new CoreError(`the core exited with code ${code}`);
  },
};
