// A Durable Object's `ctx.storage.sql` and `transactionSync`, imitated on a
// real SQLite (better-sqlite3), so that the product's wasm core and its JS
// glue (shims/core.js, shims/sql_storage.js) run in plain Node for the
// benchmarks. Only what shims/sql_storage.js uses: `exec(sql, ...params)`
// returning a cursor with `raw()`, `rowsRead` and `rowsWritten`. SQLite does
// not tell better-sqlite3 how many rows a statement scanned, so here
// `rowsRead` is the rows returned and `rowsWritten` the rows changed: the
// bench reports the billed counts from workerd, not from this host.

import Database from 'better-sqlite3';

/**
 * Opens a database (':memory:' by default). Returns { sql, transaction(fn),
 * close() }: `sql.exec` behaves like the Durable Object's, and
 * `transaction(fn)` runs fn in one transaction, rolled back if fn throws,
 * like ctx.storage.transactionSync.
 */
export function openSqlStorage(path = ':memory:') {
  const db = new Database(path);
  const prepared = new Map(); // SQL text -> statement: the core's texts are static
  const sql = {
    exec(text, ...params) {
      let statement = prepared.get(text);
      if (statement === undefined) {
        statement = db.prepare(text);
        if (statement.reader) statement.raw(true);
        prepared.set(text, statement);
      }
      const bound = bindings(params);
      if (!statement.reader) {
        const { changes } = statement.run(bound);
        return { raw: () => [], rowsRead: 0, rowsWritten: changes };
      }
      const rows = statement.all(bound).map(cellsAsDurableObject);
      return { raw: () => rows, rowsRead: rows.length, rowsWritten: 0 };
    },
  };
  const inTransaction = db.transaction((fn) => fn());
  return { sql, transaction: inTransaction, close: () => db.close() };
}

// The core numbers its parameters ?1..?N; better-sqlite3 binds those from an
// object keyed by number. Integers are bound as BigInt so that SQLite stores
// an INTEGER (a plain number would bind as REAL), as ctx.storage.sql does.
function bindings(params) {
  const bound = {};
  params.forEach((value, i) => {
    bound[i + 1] = typeof value === 'number' && Number.isInteger(value) ? BigInt(value) : value;
  });
  return bound;
}

// ctx.storage.sql returns a BLOB as an ArrayBuffer, which is what
// shims/sql_storage.js accepts; better-sqlite3 returns a Buffer.
function cellsAsDurableObject(row) {
  for (let i = 0; i < row.length; i++) {
    const cell = row[i];
    if (cell instanceof Uint8Array) row[i] = cell.buffer.slice(cell.byteOffset, cell.byteOffset + cell.byteLength);
  }
  return row;
}
