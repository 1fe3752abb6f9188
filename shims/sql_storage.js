// The storage binding: the kv_host.sql import over a Durable Object's
// synchronous ctx.storage.sql. Parameters and result rows cross the wasm
// boundary in the byte format of worker/sql_wire.cc:
//
//   params  := count:u32 value{count}
//   rows    := row_count:u32 column_count:u32 value{row_count * column_count}
//   value   := 0x00 | 0x01 i64 | 0x02 length:u32 byte{length}   (little-endian)

const KV_OK = 0;
const KV_STORAGE_ERROR = 1;
const NULL = 0;
const INTEGER = 1;
const BLOB = 2;
const encoder = new TextEncoder();

/**
 * Makes the import. `storage.sql` is the ctx.storage.sql of the call in
 * progress; a failure is kept in `storage.error` for the caller to report,
 * and each statement adds its cursor's rowsRead and rowsWritten to
 * `storage.rowsRead` and `storage.rowsWritten`.
 * `memory()` returns the current wasm memory buffer; `alloc(size)` is
 * kv_alloc (the core owns and frees the rows buffer).
 */
export function sqlHostImport({ storage, memory, alloc }) {
  let statements = [];
  return {
    setStatements(texts) {
      statements = texts;
    },
    run(statement, paramsPointer, paramsLength, rowsSlot, rowsLengthSlot) {
      try {
        const params = decodeParams(memory(), paramsPointer, paramsLength);
        const cursor = storage.sql.exec(statements[statement], ...params);
        const rows = [...cursor.raw()];
        storage.rowsRead += cursor.rowsRead; // final once the cursor is consumed
        storage.rowsWritten += cursor.rowsWritten;
        const { pointer, length } = writeRows(rows, memory, alloc);
        const view = new DataView(memory());
        view.setUint32(rowsSlot, pointer, true);
        view.setUint32(rowsLengthSlot, length, true);
        return KV_OK;
      } catch (error) {
        storage.error = error;
        return KV_STORAGE_ERROR;
      }
    },
  };
}

function decodeParams(buffer, pointer, length) {
  const view = new DataView(buffer, pointer, length);
  const params = [];
  let at = 4;
  for (let i = view.getUint32(0, true); i > 0; i--) {
    const type = view.getUint8(at++);
    if (type === NULL) {
      params.push(null);
    } else if (type === INTEGER) {
      params.push(Number(view.getBigInt64(at, true)));
      at += 8;
    } else if (type === BLOB) {
      const size = view.getUint32(at, true);
      // A view into wasm memory: exec() copies it while binding.
      params.push(new Uint8Array(buffer, pointer + at + 4, size));
      at += 4 + size;
    } else {
      throw new Error(`unknown parameter type ${type}`);
    }
  }
  return params;
}

// Sizes the rows, allocates once in wasm memory and writes them there.
function writeRows(rows, memory, alloc) {
  if (rows.length === 0) return { pointer: 0, length: 0 };
  const cells = [];
  let length = 8;
  for (const row of rows) {
    for (const cell of row) {
      const bytes = blobOf(cell);
      cells.push(bytes ?? cell);
      length += cell === null ? 1 : bytes === null ? 9 : 5 + bytes.length;
    }
  }
  const pointer = alloc(length);
  if (pointer === 0) throw new Error(`out of wasm memory for ${length} bytes of rows`);
  const view = new DataView(memory(), pointer, length);
  const bytes = new Uint8Array(memory(), pointer, length);
  view.setUint32(0, rows.length, true);
  view.setUint32(4, rows[0].length, true);
  let at = 8;
  for (const cell of cells) {
    if (cell === null) {
      view.setUint8(at++, NULL);
    } else if (typeof cell === 'number') {
      if (!Number.isInteger(cell)) throw new Error(`storage returned a non-integer number ${cell}`);
      view.setUint8(at, INTEGER);
      view.setBigInt64(at + 1, BigInt(cell), true);
      at += 9;
    } else {
      view.setUint8(at, BLOB);
      view.setUint32(at + 1, cell.length, true);
      bytes.set(cell, at + 5);
      at += 5 + cell.length;
    }
  }
  return { pointer, length };
}

// BLOBs come back as ArrayBuffer, TEXT as string; both travel as bytes.
function blobOf(cell) {
  if (cell instanceof ArrayBuffer) return new Uint8Array(cell);
  if (typeof cell === 'string') return encoder.encode(cell);
  return null;
}
