// The wasm boundary, bound in one place: instantiates the core's standalone
// module (worker/kv_c.h is the ABI) and exposes it as a small JS object.
// Every buffer this file allocates in wasm memory is freed in a `finally`,
// or discarded with the whole instance after a trap.

import { sqlHostImport } from './sql_storage.js';

const KV_OK = 0;
const RESPONSE_BYTES = 72; // sizeof(kv_response), worker/kv_c.h
const encoder = new TextEncoder();
const decoder = new TextDecoder();
const NOTHING = new Uint8Array(0);
// KV Connect's operations (worker/kv_connect.h): their answers are bytes.
const BINARY_OPERATIONS = new Set(['kvc_snapshot_read', 'kvc_atomic_write', 'kvc_watch', 'kvc_peek']);

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
 *
 * A trap (or any failure that is not the core's own report) can leave the
 * instance's memory, stack pointer or allocator in any state, and the
 * instance is shared: so after one, the instance is discarded and the next
 * call builds a fresh one from the module. No state survives a trap.
 */
export function createCore(wasmModule) {
  // The call in progress: its storage, the first failure, and the rows its
  // statements read and wrote (what the host bills).
  const storage = { sql: null, error: null, rowsRead: 0, rowsWritten: 0 };
  let instance = null;
  let statements = null; // the SQL texts: the same for every instance
  let instances = 0;
  const memory = () => instance.exports.memory.buffer;
  const sqlImport = sqlHostImport({
    storage,
    memory,
    alloc: (size) => instance.exports.kv_alloc(size),
  });

  function exports() {
    if (instance === null) {
      instance = new WebAssembly.Instance(wasmModule, {
        kv_host: { sql: sqlImport.run },
        env: { emscripten_notify_memory_growth() {} },
        wasi_snapshot_preview1: wasiImports(memory),
      });
      instance.exports._initialize();
      instances++;
      if (statements === null) {
        statements = readStatements(instance.exports, memory);
        sqlImport.setStatements(statements);
      }
    }
    return instance.exports;
  }

  // Runs `body(exports)`; a failure other than the core's own CoreError
  // discards the instance (see above) and is rethrown as a CoreError.
  function guarded(body) {
    try {
      return body(exports());
    } catch (error) {
      if (error instanceof CoreError && error.body !== null) throw error;
      instance = null;
      if (error instanceof CoreError) throw error;
      throw new CoreError(`the core failed (${error?.message ?? error}); its instance was discarded`, { cause: error });
    }
  }

  // Runs `body()` with `sql` as the storage of host calls.
  function withStorage(sql, body) {
    storage.sql = sql;
    storage.error = null;
    storage.rowsRead = 0;
    storage.rowsWritten = 0;
    try {
      return body();
    } finally {
      storage.sql = null;
    }
  }

  const limits = guarded((core) => readLimits(core, memory));

  return {
    /** The limits the host enforces (kv_limits_json in worker/kv_c.h). */
    limits,

    /** How many instances were built so far (1 until a trap). */
    get instances() {
      return instances;
    },

    /** Creates the schema on `sql` (a ctx.storage.sql) if it is missing. */
    migrate(sql) {
      guarded((core) => withStorage(sql, () => {
        if (core.kv_migrate() !== KV_OK) {
          throw new CoreError('creating the schema failed', { cause: storage.error });
        }
      }));
    },

    /**
     * Handles one API request (kv_handle) at time `nowMs`. `credential` is
     * the token's SHA-256 (Uint8Array; empty for the Worker's directory);
     * `deferredOperations` the count the previous call returned (see
     * worker/store.h); `stateRow` the state row the previous call returned
     * (Uint8Array), or null to read it from storage; `idempotencyKey` the
     * client's Idempotency-Key header, or '' for none. Returns `{ status,
     * body, quota, wakeAt, deferredOperations, stateRow, replayed, rows }`:
     * the body
     * (a string of JSON, or for KV Connect's operations a Uint8Array of
     * protobuf or plain text), the monthly quota `{ limit, remaining, resetsAt }`
     * or null, the time to wake the store for expired entries or null, the
     * count and the state row (a copy, or null) to keep once the
     * transaction commits, whether the body is an earlier request's kept
     * answer (an idempotent retry), and `{ read, written }`, the rows its statements
     * read and wrote. Throws CoreError when storage or the core failed, so
     * that transactionSync rolls back.
     */
    handle(sql, operation, credential, body, nowMs, deferredOperations = 0, stateRow = null, idempotencyKey = '') {
      return guarded((core) => {
        const op = encoder.encode(operation);
        const state = stateRow ?? NOTHING;
        const key = encoder.encode(idempotencyKey);
        const size = op.length + credential.length + body.length + state.length + key.length + RESPONSE_BYTES;
        const request = core.kv_alloc(size);
        if (request === 0) throw new CoreError(`out of wasm memory for a ${size}-byte request`);
        let trapped = true; // until proven otherwise: then the instance is dropped whole
        try {
          const at = { response: request, op: request + RESPONSE_BYTES }; // kv_response is 8-aligned
          at.credential = at.op + op.length;
          at.body = at.credential + credential.length;
          at.state = at.body + body.length;
          at.key = at.state + state.length;
          const bytes = new Uint8Array(memory());
          bytes.set(op, at.op);
          bytes.set(credential, at.credential);
          bytes.set(body, at.body);
          bytes.set(state, at.state);
          bytes.set(key, at.key);
          return withStorage(sql, () => {
            const outcome = core.kv_handle(at.op, op.length, at.credential, credential.length,
              at.body, body.length, nowMs, deferredOperations, at.state, state.length, at.key, key.length,
              at.response);
            const result = readResponse(memory(), at.response, BINARY_OPERATIONS.has(operation));
            result.rows = { read: storage.rowsRead, written: storage.rowsWritten };
            trapped = false;
            if (outcome !== KV_OK) {
              throw new CoreError(`the core failed with status ${result.status}`,
                { status: result.status, body: result.body, cause: storage.error });
            }
            return result;
          });
        } finally {
          // After a trap the instance is discarded, and its memory with it.
          if (!trapped) core.kv_free(request);
        }
      });
    },

    /** Traps inside the core (kv_trap_for_test): for tests of the recovery. */
    trapForTest() {
      guarded((core) => core.kv_trap_for_test());
    },
  };
}

// Reads a kv_response (layout in worker/kv_c.h), its body as a copy of its
// bytes when `binary`, else as text.
function readResponse(buffer, pointer, binary) {
  const view = new DataView(buffer, pointer, RESPONSE_BYTES);
  const limit = view.getFloat64(16, true);
  const wakeAt = view.getFloat64(40, true);
  const deferredOperations = view.getFloat64(48, true);
  const stateRowLength = view.getUint32(60, true);
  const body = new Uint8Array(buffer, view.getUint32(0, true), view.getUint32(4, true));
  return {
    status: view.getInt32(8, true),
    body: binary ? body.slice() : decoder.decode(body),
    quota: limit < 0 ? null : {
      limit,
      remaining: view.getFloat64(24, true),
      resetsAt: view.getFloat64(32, true),
    },
    wakeAt: wakeAt < 0 ? null : wakeAt,
    deferredOperations,
    stateRow: stateRowLength === 0 ? null : new Uint8Array(buffer, view.getUint32(56, true), stateRowLength).slice(),
    replayed: view.getInt32(64, true) === 1,
  };
}

// Reads the static text a kv_*(uint32_t* size) export returns.
function readStaticText(exports, memory, read) {
  const sizeSlot = exports.kv_alloc(4);
  try {
    const text = read(sizeSlot);
    const size = new DataView(memory()).getUint32(sizeSlot, true);
    return decoder.decode(new Uint8Array(memory(), text, size));
  } finally {
    exports.kv_free(sizeSlot);
  }
}

function readLimits(exports, memory) {
  return Object.freeze(JSON.parse(readStaticText(exports, memory, (slot) => exports.kv_limits_json(slot))));
}

function readStatements(exports, memory) {
  return Array.from({ length: exports.kv_statement_count() },
    (_, i) => readStaticText(exports, memory, (slot) => exports.kv_statement_sql(i, slot)));
}

// The WASI calls a standalone Emscripten module imports: abort() exits, and
// libc reads its environment at start (linked in under -flto): it has none.
// `memory()` is the instance's memory buffer.
export function wasiImports(memory) {
  return {
    proc_exit(code) {
      throw new CoreError(`the core exited with code ${code}`);
    },
    environ_sizes_get(countPointer, sizePointer) {
      const view = new DataView(memory());
      view.setUint32(countPointer, 0, true);
      view.setUint32(sizePointer, 0, true);
      return 0;
    },
    environ_get() {
      return 0;
    },
  };
}
