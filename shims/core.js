// The wasm boundary, bound in one place: instantiates the core's standalone
// module (worker/kv_c.h is the ABI) and exposes it as a small JS object.
// Every buffer this file allocates in wasm memory is freed in a `finally`.

import { sqlHostImport } from './sql_storage.js';

const KV_OK = 0;
const RESPONSE_BYTES = 48; // sizeof(kv_response), worker/kv_c.h
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Thrown when the core reports a failure; the caller's transaction must roll back. */
export class CoreError extends Error {
  constructor(message, { status = 500, body = null, cause } = {}) {
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
  const { kv_alloc, kv_free, kv_handle, kv_migrate, kv_max_request_bytes } = instance.exports;
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
    /** The largest request body the core accepts. */
    maxRequestBytes: kv_max_request_bytes(),

    /** Creates the schema on `sql` (a ctx.storage.sql) if it is missing. */
    migrate(sql) {
      withStorage(sql, () => {
        if (kv_migrate() !== KV_OK) {
          throw new CoreError('creating the schema failed', { cause: storage.error });
        }
      });
    },

    /**
     * Handles one API request (kv_handle) at time `nowMs`. `credential` is
     * the token's SHA-256 (Uint8Array; empty for the Worker's directory).
     * Returns `{ status, body, quota, wakeAt }`: the JSON body as a string,
     * the monthly quota `{ limit, remaining, resetsAt }` or null, and the
     * time to wake the store for expired entries, or null. Throws CoreError
     * when storage failed, so that transactionSync rolls back.
     */
    handle(sql, operation, credential, body, nowMs) {
      const op = encoder.encode(operation);
      const size = op.length + credential.length + body.length + RESPONSE_BYTES;
      const request = kv_alloc(size);
      if (request === 0) throw new CoreError(`out of wasm memory for a ${size}-byte request`);
      try {
        const at = { response: request, op: request + RESPONSE_BYTES }; // kv_response is 8-aligned
        at.credential = at.op + op.length;
        at.body = at.credential + credential.length;
        const bytes = new Uint8Array(memory());
        bytes.set(op, at.op);
        bytes.set(credential, at.credential);
        bytes.set(body, at.body);
        return withStorage(sql, () => {
          const outcome = kv_handle(at.op, op.length, at.credential, credential.length,
            at.body, body.length, nowMs, at.response);
          const result = readResponse(memory(), at.response);
          if (outcome !== KV_OK) {
            throw new CoreError(`the core failed with status ${result.status}`,
              { status: result.status, body: result.body, cause: storage.error });
          }
          return result;
        });
      } finally {
        kv_free(request);
      }
    },
  };
}

// Reads a kv_response (layout in worker/kv_c.h).
function readResponse(buffer, pointer) {
  const view = new DataView(buffer, pointer, RESPONSE_BYTES);
  const limit = view.getFloat64(16, true);
  const wakeAt = view.getFloat64(40, true);
  return {
    status: view.getInt32(8, true),
    body: decoder.decode(new Uint8Array(buffer, view.getUint32(0, true), view.getUint32(4, true))),
    quota: limit < 0 ? null : {
      limit,
      remaining: view.getFloat64(24, true),
      resetsAt: view.getFloat64(32, true),
    },
    wakeAt: wakeAt < 0 ? null : wakeAt,
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
