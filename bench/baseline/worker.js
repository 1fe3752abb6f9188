// The benchmark's baseline: the store's HTTP API (get, set, delete, atomic,
// and list by prefix)
// as a developer would write it by hand in plain JavaScript, over the same
// schema and SQL statements as worker/schema.cc, in one SQLite-backed
// Durable Object. No wasm: JSON.parse the body, JSON.stringify the key as
// its blob, check the sizes, run the SQL inside transactionSync.
//
// With KV_ROW_COUNTS=on, a response that went through the Durable Object
// says how many rows its statements read and wrote (kv-rows-read,
// kv-rows-written: the cursors' rowsRead and rowsWritten, what Cloudflare
// bills), as the store's do.
//
// It is deliberately simpler than the store: one fixed token checked in the
// Worker (no per-store token hashes), keys not validated part by part, no
// order-preserving key encoding. docs/performance.md says what that leaves
// out of the comparison.

import { DurableObject } from 'cloudflare:workers';

const MAX_KEY_BYTES = 2048;
const MAX_VALUE_BYTES = 16 * 1024;
const MAX_KEYS_PER_GET = 100;
const encoder = new TextEncoder();
const decoder = new TextDecoder();
const COMMIT_COUNTER = encoder.encode('commit');

// The statements of worker/schema.cc, same texts.
const SQL = {
  createEntries: 'CREATE TABLE IF NOT EXISTS kv_entries (key BLOB PRIMARY KEY NOT NULL, value BLOB NOT NULL, version INTEGER NOT NULL) WITHOUT ROWID',
  createMeta: 'CREATE TABLE IF NOT EXISTS kv_meta (name BLOB PRIMARY KEY NOT NULL, value) WITHOUT ROWID',
  selectEntry: 'SELECT value, version FROM kv_entries WHERE key = ?1',
  selectVersion: 'SELECT version FROM kv_entries WHERE key = ?1',
  upsertEntry: 'INSERT INTO kv_entries (key, value, version) VALUES (?1, ?2, ?3) ON CONFLICT (key) DO UPDATE SET value = excluded.value, version = excluded.version',
  deleteEntry: 'DELETE FROM kv_entries WHERE key = ?1 RETURNING 1',
  // The core's list (worker/schema.cc at HEAD) has an expiry filter and a
  // keys-only switch on top of this.
  listForward: 'SELECT key, value, version FROM kv_entries WHERE key >= ?1 AND key < ?2 ORDER BY key LIMIT ?3',
  selectMeta: 'SELECT value FROM kv_meta WHERE name = ?1',
  upsertMeta: 'INSERT INTO kv_meta (name, value) VALUES (?1, ?2) ON CONFLICT (name) DO UPDATE SET value = excluded.value',
};

class RequestError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

export default {
  async fetch(request, env) {
    const { pathname } = new URL(request.url);
    if (pathname === '/v1/health') return json(200, { ok: true });
    const operation = /^\/v1\/(get|set|delete|atomic|list)$/.exec(pathname)?.[1];
    if (!operation) return error(404, 'not_found', `there is no route ${pathname}`);
    if (request.method !== 'POST') return error(405, 'method_not_allowed', 'use POST');
    if (request.headers.get('authorization') !== `Bearer ${env.ACCESS_TOKEN}`) {
      return error(401, 'invalid_token', 'the access token is not valid');
    }
    const store = env.BASELINE_STORE.get(env.BASELINE_STORE.idFromName('store:baseline'));
    const result = await store.handle(operation, await request.text());
    const headers = { 'content-type': 'application/json' };
    if (env.KV_ROW_COUNTS === 'on') {
      Object.assign(headers, { 'kv-rows-read': String(result.rows.read), 'kv-rows-written': String(result.rows.written) });
    }
    return new Response(result.body, { status: result.status, headers });
  },
};

export class BaselineStore extends DurableObject {
  constructor(ctx, env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    ctx.storage.transactionSync(() => {
      this.sql.exec(SQL.createEntries);
      this.sql.exec(SQL.createMeta);
    });
  }

  handle(operation, text) {
    // The request's statements add to these (run()); an object handles one
    // request at a time, as handle() is synchronous.
    this.rows = { read: 0, written: 0 };
    try {
      const body = JSON.parse(text);
      const result = this.ctx.storage.transactionSync(() => this[operation](body));
      return { status: 200, body: JSON.stringify(result), rows: this.rows };
    } catch (e) {
      if (e instanceof SyntaxError) return { ...errorBody(400, 'invalid_json', e.message), rows: this.rows };
      if (e instanceof RequestError) return { ...errorBody(e.status, e.code, e.message), rows: this.rows };
      throw e;
    }
  }

  // Runs one statement to its end; returns its rows and counts what it read
  // and wrote (a cursor's counts are final once it is consumed).
  run(sql, ...bindings) {
    const cursor = this.sql.exec(sql, ...bindings);
    const rows = cursor.toArray();
    this.rows.read += cursor.rowsRead;
    this.rows.written += cursor.rowsWritten;
    return rows;
  }

  get({ keys }) {
    if (!Array.isArray(keys) || keys.length === 0 || keys.length > MAX_KEYS_PER_GET) {
      throw new RequestError(400, 'too_many_keys', `keys must hold 1 to ${MAX_KEYS_PER_GET} keys`);
    }
    const entries = keys.map((key) => {
      const row = this.run(SQL.selectEntry, keyBlob(key))[0];
      if (!row) return { key, value: null, version: null };
      return { key, value: JSON.parse(decoder.decode(row.value)), version: formatVersion(row.version) };
    });
    return { entries };
  }

  // {prefix, limit?}: the first entries whose key extends `prefix`. Keys are
  // JSON text here, so that is a text prefix (and the order is the text's).
  list({ prefix, limit = 100 }) {
    const open = JSON.stringify(prefix).slice(0, -1); // without the closing ]
    const lower = encoder.encode(`${open},`);
    const upper = new Uint8Array([...encoder.encode(open), 0xff]); // 0xff never occurs in UTF-8
    const entries = this.run(SQL.listForward, lower, upper, limit).map((row) => ({
      key: JSON.parse(decoder.decode(row.key)),
      value: JSON.parse(decoder.decode(row.value)),
      version: formatVersion(row.version),
    }));
    return { entries, cursor: null };
  }

  set({ key, value }) {
    const { version } = this.commit([], [{ type: 'set', key, value }]);
    return { ok: true, version };
  }

  delete({ key }) {
    const { version, deleted } = this.commit([], [{ type: 'delete', key }]);
    return { ok: true, deleted: deleted > 0, version };
  }

  atomic({ checks = [], mutations = [] }) {
    const { ok, version, failedChecks } = this.commit(checks, mutations);
    return ok ? { ok, version } : { ok, failedChecks };
  }

  // Checks, then mutations under one new version; validates all first.
  commit(checks, mutations) {
    const checked = checks.map((check) => ({ key: keyBlob(check.key), version: check.version }));
    const planned = mutations.map((mutation) => ({
      type: mutation.type,
      key: keyBlob(mutation.key),
      value: mutation.type === 'set' ? valueBlob(mutation.value) : null,
    }));
    const failedChecks = [];
    checked.forEach((check, i) => {
      const row = this.run(SQL.selectVersion, check.key)[0];
      const current = row ? formatVersion(row.version) : null;
      if (current !== check.version) failedChecks.push(i);
    });
    if (failedChecks.length > 0) return { ok: false, failedChecks };
    const counter = this.run(SQL.selectMeta, COMMIT_COUNTER)[0];
    const version = (counter ? counter.value : 0) + 1;
    let deleted = 0;
    for (const mutation of planned) {
      if (mutation.type === 'set') {
        this.run(SQL.upsertEntry, mutation.key, mutation.value, version);
      } else {
        deleted += this.run(SQL.deleteEntry, mutation.key).length;
      }
    }
    this.run(SQL.upsertMeta, COMMIT_COUNTER, version);
    return { ok: true, version: formatVersion(version), deleted };
  }
}

// The key's blob: its JSON text. Simple, but not order-preserving and
// ["a", 1] vs ["a", 1.0] are the same JSON anyway.
function keyBlob(key) {
  if (!Array.isArray(key) || key.length === 0) throw new RequestError(400, 'invalid_key', 'a key is a non-empty array');
  const blob = encoder.encode(JSON.stringify(key));
  if (blob.length > MAX_KEY_BYTES) throw new RequestError(400, 'key_too_large', `a key is at most ${MAX_KEY_BYTES} bytes`);
  return blob;
}

function valueBlob(value) {
  if (value === undefined) throw new RequestError(400, 'invalid_request', 'a set needs a value');
  const blob = encoder.encode(JSON.stringify(value));
  if (blob.length > MAX_VALUE_BYTES) {
    throw new RequestError(413, 'value_too_large', `a value is at most ${MAX_VALUE_BYTES} bytes; got ${blob.length}`);
  }
  return blob;
}

function formatVersion(version) {
  return `${version.toString(16).padStart(16, '0')}0000`;
}

function json(status, body) {
  return new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });
}

function error(status, code, message) {
  return json(status, { error: { code, message } });
}

function errorBody(status, code, message) {
  return { status, body: JSON.stringify({ error: { code, message } }) };
}
