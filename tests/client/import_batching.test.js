// kv.import() (js/index.js) against the real core: batches are sized by the
// bytes the store counts against its 800 KiB commit limit (encoded keys plus
// stored values) and its 80 KiB limit of keys written (worker/model.cc,
// CheckCommitLimits), never by the length of the NDJSON lines; and a failed
// import says exactly which lines landed.
// Also a unit test of encodedKeyLength() against the golden key vectors.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as client from '../../js/index.js';
import { call, connectNewStore, sharedEmulator } from '../helpers.js';

const { KvError } = client;
const MAX_COMMIT_BYTES = 800 * 1024; // kMaxCommitBytes, worker/kv_limits.h
const MAX_COMMIT_KEY_BYTES = 80 * 1024; // kMaxCommitKeyBytes
const VERSION = '00000000000000010000';
const UNLIMITED = { opsPerMonth: null, storageBytes: null };

let emulator;
before(async () => {
  emulator = await sharedEmulator();
});
after(async () => {
  await emulator?.close();
});

/** One NDJSON line of an export: `{"key", "value", "valueType"?, "version", "expiresAt"?}`. */
function exportLine(key, value, extra = {}) {
  return `${JSON.stringify({ key, value, ...extra, version: VERSION })}\n`;
}

/** The keys a store holds, each as JSON text of its wire form, sorted. */
async function storedKeys(kv) {
  const keys = [];
  for await (const entry of kv.list({ prefix: [] }, { keysOnly: true, batchSize: 1000 })) {
    keys.push(JSON.stringify(wireKey(entry.key)));
  }
  return keys.sort();
}

function wireKey(key) {
  return key.map((part) => {
    if (typeof part === 'bigint') return { bigint: part.toString() };
    if (part instanceof Uint8Array) return { bytes: Buffer.from(part).toString('base64') };
    if (typeof part === 'number' && !Number.isFinite(part)) return { number: String(part) };
    return part;
  });
}

function fromWireKey(key) {
  return key.map((part) => {
    if (typeof part !== 'object') return part;
    if ('bigint' in part) return BigInt(part.bigint);
    if ('number' in part) return Number(part.number);
    return new Uint8Array(Buffer.from(part.bytes, 'base64'));
  });
}

async function importError(promise) {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  assert.fail('the import resolved; it should have failed');
}

test('number key parts count 9 bytes each: long number keys that line-length batching overfills all land', async () => {
  const { kv } = await connectNewStore(emulator, UNLIMITED);
  // 227 number parts: 2,043 encoded key bytes, from a line of about 500 bytes.
  // 500 such lines are about 250 KB of NDJSON but 1,021,500 bytes of keys.
  const ones = Array(226).fill(1);
  const lines = [];
  const expected = [];
  for (let i = 0; i < 500; i++) {
    lines.push(exportLine(['small', i], i));
    expected.push(JSON.stringify(['small', i]));
  }
  for (let i = 0; i < 1000; i++) {
    lines.push(exportLine([i, ...ones], 0));
    expected.push(JSON.stringify([i, ...ones]));
  }
  const progress = [];
  const result = await kv.import(lines, { onProgress: (p) => progress.push(p) });
  // 500 small entries (the default batch size), then 2,043-byte keys: 40
  // fit in the 81,920 bytes of keys a commit writes, 41 would not.
  assert.equal(Math.floor(MAX_COMMIT_KEY_BYTES / 2043), 40);
  assert.deepEqual(result, { imported: 1500, skipped: 0, batches: 26 });
  assert.deepEqual(progress.map((p) => p.imported), [500, ...Array.from({ length: 25 }, (_, i) => 540 + 40 * i)]);
  assert.equal(await kv.count({ prefix: [] }), 1500);
  assert.deepEqual(await storedKeys(kv), expected.sort());
});

test('batches fill the commit limit to the byte: exactly 800 KiB is one batch, one byte more is two', async () => {
  // Entries whose commit bytes are hard to count: escaped and 0x00 bytes in
  // keys, bigints, non-finite numbers; values with fractions and exponents
  // (the core stores numbers as written), escapes, non-ASCII text, counters.
  // 2 ** 63 is written 9223372036854775808 and 1e20 100000000000000000000,
  // past 64 bits: the core checks that such a literal names a double and
  // keeps it as written.
  const diverse = [
    [[{ bytes: Buffer.from([0, 1, 0, 0, 255]).toString('base64') }, 'a\u0000b\u0000', { bigint: '-18446744073709551616' }], 1.5],
    [[{ number: 'NaN' }, true, false, { bigint: '0' }, { bigint: (2n ** 2000n - 1n).toString() }], [0.1, 1e21, 1e-7, -2.5e-300]],
    [['é中😀', { number: '-Infinity' }, 1e300, -0], { text: '\u0001\b\t\n\f\r"\\/\u007f é中😀', empty: '' }],
    [['numbers', 1], [2 ** 63, 2 ** 63 - 2 ** 11, -(2 ** 62), 1e20, -1e20, 9007199254740993, -9007199254740993]],
    [['numbers', 2], [Number.MAX_VALUE, Number.MIN_VALUE, -Number.MIN_VALUE, 123456789.125, 1e-6, 0.000001234, 100, -0]],
    [['nested'], { a: [1, 2.5, { b: null, 'k"ey': true, é: false }], '\u0000': [[], {}], n: -1e-300 }],
    [['counter', 'max'], '18446744073709551615', { valueType: 'u64' }],
    [['counter', 'zero'], '0', { valueType: 'u64' }],
    [['expiring'], 'soon', { expiresAt: Date.now() + 3_600_000 }],
  ];
  // The store's own count of the diverse entries: commit them with filler of
  // known size past the limit, and read the total from commit_too_large.
  const filler = [];
  for (let i = 0; i < 52; i++) filler.push({ type: 'set', key: ['f', String(i).padStart(4, '0')], value: 'y'.repeat(16_000) });
  const fillerBytes = 52 * (9 + 16_002); // key 02 66 00 02 <4> 00; value "<16000>"
  const { store } = await connectNewStore(emulator, UNLIMITED);
  const mutations = diverse.map(([key, value, extra]) => ({
    type: 'set',
    key,
    value,
    ...(extra?.valueType ? { valueType: extra.valueType } : {}),
  }));
  const refused = await call(emulator.url, '/v1/atomic', {
    token: store.accessToken,
    body: { checks: [], mutations: [...mutations, ...filler] },
  });
  assert.equal(refused.status, 413, JSON.stringify(refused.body));
  assert.equal(refused.body.error.code, 'commit_too_large');
  const total = Number(/are (\d+) bytes/.exec(refused.body.error.message)[1]);
  const diverseBytes = total - fillerBytes;

  // Padding entries of known size: key ["p", "<4 digits>"] is 9 bytes, a
  // string value of n characters is n + 2.
  const padding = (bytes) => {
    const count = Math.ceil(bytes / (9 + 16_002));
    let rest = bytes - count * 11;
    const lines = [];
    for (let i = 0; i < count; i++) {
      const length = Math.min(16_000, rest);
      rest -= length;
      lines.push(exportLine(['p', String(i).padStart(4, '0')], 'z'.repeat(length)));
    }
    assert.equal(rest, 0);
    return lines;
  };
  const diverseLines = diverse.map(([key, value, extra]) => exportLine(key, value, extra));

  const { kv: exact } = await connectNewStore(emulator, UNLIMITED);
  const exactLines = [...diverseLines, ...padding(MAX_COMMIT_BYTES - diverseBytes)];
  const exactResult = await exact.import(exactLines, { batchSize: 1000 });
  assert.deepEqual(exactResult, { imported: exactLines.length, skipped: 0, batches: 1 });

  const { kv: over } = await connectNewStore(emulator, UNLIMITED);
  const overLines = [...diverseLines, ...padding(MAX_COMMIT_BYTES - diverseBytes + 1)];
  const overResult = await over.import(overLines, { batchSize: 1000 });
  assert.deepEqual(overResult, { imported: overLines.length, skipped: 0, batches: 2 });

  // The values came through as the store counted them.
  const entry = await exact.get(['numbers', 2]);
  assert.deepEqual(entry.value, [Number.MAX_VALUE, Number.MIN_VALUE, -Number.MIN_VALUE, 123456789.125, 1e-6, 0.000001234, 100, 0]);
});

test('batches stay within 80 KiB of keys and the 2 MiB request when the wire form outweighs the encoding', async () => {
  const { kv } = await connectNewStore(emulator, UNLIMITED);
  // A bigint 0 is 1 encoded byte but {"bigint":"0"}, 14 characters, on the
  // wire: 400 of these entries are 818,800 bytes of keys, about 12 MB of
  // request. 40 keys of 2,047 bytes fit in 80 KiB, about 1.2 MB of request.
  // (With the 80 KiB of keys, only values whose wire form outweighs them, as
  // base64 bytes do, can make a request of 2 MiB.)
  const zeros = Array(2038).fill({ bigint: '0' });
  const lines = [];
  for (let i = 0; i < 400; i++) lines.push(exportLine([i, ...zeros], 0)); // 9 + 2,038 bytes of key, 1 of value
  const result = await kv.import(lines, { batchSize: 1000 });
  assert.deepEqual(result, { imported: 400, skipped: 0, batches: 10 });
  assert.equal(await kv.count({ prefix: [] }), 400);
});

test('a line over the value limit stops the import after every line before it landed, and says so', async () => {
  const { kv } = await connectNewStore(emulator, UNLIMITED);
  const lines = [];
  const landed = [];
  for (let line = 1; line <= 120; line++) {
    if (line === 40) lines.push('\n');
    else if (line === 41) lines.push(exportLine(['b', line], 'expired', { expiresAt: Date.now() - 1000 }));
    else if (line === 100) lines.push(exportLine(['b', line], 'x'.repeat(17_000)));
    else {
      lines.push(exportLine(['b', line], { line }));
      if (line < 100) landed.push(JSON.stringify(['b', line]));
    }
  }
  const progress = [];
  const error = await importError(kv.import(lines, { batchSize: 25, onProgress: (p) => progress.push(p) }));
  assert.ok(error instanceof KvError, `expected a KvError, got ${error}`);
  assert.equal(error.code, 'value_too_large');
  assert.equal(error.status, 413);
  assert.equal(error.imported, 97);
  assert.equal(error.skipped, 1);
  assert.equal(error.linesCommitted, 99);
  assert.match(error.message, /\bline 100\b/);
  assert.match(error.cause?.message ?? '', /16 KiB/);
  assert.equal(progress.at(-1).imported, 97);
  assert.deepEqual(await storedKeys(kv), landed.sort());
});

test('an import that reaches the storage limit mid-way rejects with exactly the lines that landed', async () => {
  const { kv } = await connectNewStore(emulator, { opsPerMonth: null, storageBytes: 60_000 });
  const lines = [];
  for (let line = 1; line <= 100; line++) lines.push(exportLine(['s', line], 'v'.repeat(990)));
  const error = await importError(kv.import(lines, { batchSize: 10 }));
  assert.ok(error instanceof KvError, `expected a KvError, got ${error}`);
  assert.equal(error.code, 'storage_limit_exceeded');
  assert.equal(error.status, 507);
  const committed = error.linesCommitted;
  assert.ok(committed > 0 && committed < 100, `mid-way: ${committed} lines committed`);
  assert.equal(committed % 10, 0);
  assert.equal(error.imported, committed);
  assert.match(error.message, new RegExp(`\\bline ${committed + 1}\\b`));
  const expected = [];
  for (let line = 1; line <= committed; line++) expected.push(JSON.stringify(['s', line]));
  assert.deepEqual(await storedKeys(kv), expected.sort());
});

test('encodedKeyLength() is the length of the golden vectors encodings', () => {
  const { vectors } = JSON.parse(readFileSync(new URL('../vectors/key-encoding.json', import.meta.url), 'utf8'));
  assert.equal(typeof client.encodedKeyLength, 'function', 'js/index.js exports encodedKeyLength');
  assert.ok(vectors.length > 20);
  for (const { key, hex } of vectors) {
    assert.equal(client.encodedKeyLength(fromWireKey(key)), hex.length / 2, JSON.stringify(key));
  }
  // Beyond the vectors: the long integer form, escaped zeros, several parts.
  assert.equal(client.encodedKeyLength([2n ** 64n]), 11);
  assert.equal(client.encodedKeyLength([-(2n ** 2040n) + 1n]), 257);
  assert.equal(client.encodedKeyLength([2n ** 63n - 1n, -(2n ** 8n)]), 9 + 3);
  assert.equal(client.encodedKeyLength([new Uint8Array(10)]), 22);
  assert.equal(client.encodedKeyLength(['\u0000\u0000é', true, -0, NaN]), 1 + 4 + 2 + 1 + 1 + 9 + 9);
});
