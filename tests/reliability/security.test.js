// Security properties: no token is ever persisted, answered or logged; the
// token comparisons are constant time; one store never sees another's data.

import assert from 'node:assert/strict';
import { createHash, randomUUID } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { connect } from '@own3d/kv';
import { freePort, ROOT, startEmulator } from '../../scripts/emulator.js';
import { connectNewStore, createStore, sharedEmulator } from '../helpers.js';

/** Every file under `dir`, recursively. */
function filesUnder(dir) {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.path ?? entry.parentPath, entry.name));
}

/** The ways a token could sit in a file as text: UTF-8, UTF-16LE, UTF-16BE. */
function encodingsOf(token) {
  const utf16be = Buffer.from(token, 'utf16le');
  utf16be.swap16();
  return [Buffer.from(token, 'utf8'), Buffer.from(token, 'utf16le'), utf16be];
}

function assertNoToken(bytes, tokens, where) {
  for (const [name, token] of Object.entries(tokens)) {
    for (const encoded of encodingsOf(token)) {
      assert.equal(bytes.indexOf(encoded), -1, `the ${name} is in ${where}`);
    }
  }
}

test('no token in the persisted state, in any response or in any log line', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'kv-security-'));
  const persistTo = join(dir, 'state');
  const adminToken = randomUUID();
  // The secret's source, like .dev.vars: outside the state directory.
  const envFile = join(dir, 'secrets.env');
  writeFileSync(envFile, `KV_ADMIN_TOKEN="${adminToken}"\n`);
  const logFile = join(dir, 'wrangler.log');
  const log = openSync(logFile, 'w'); // wrangler's and workerd's stdout and stderr, from the first line
  const emulator = await startEmulator({ port: await freePort(), persistTo, envFile, stdio: log });
  const tokens = { 'admin token': adminToken };
  const responses = [];
  const record = async (response) => {
    responses.push(Buffer.from(await response.clone().arrayBuffer()));
    return response;
  };
  // The client's own requests are recorded too, through its fetch option.
  const recordingFetch = async (url, init) => record(await fetch(url, init));
  try {
    const post = (path, token, body, headers = {}) => fetch(`${emulator.url}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...headers },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    }).then(record);
    const created = [];
    for (const region of ['eu-central-1', 'us-east-1']) {
      const response = await fetch(`${emulator.url}/v1/admin/stores`, {
        method: 'POST',
        headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
        body: JSON.stringify({ region }),
      });
      assert.equal(response.status, 201);
      created.push(await response.json()); // the one answer that carries a token, by design
    }
    created.forEach((store, i) => (tokens[`access token of store ${i}`] = store.accessToken));

    // Ordinary traffic and refusals of every kind, through both stores.
    for (const store of created) {
      const kv = connect({ accessToken: store.accessToken, region: store.region, endpoint: emulator.url, fetch: recordingFetch });
      await kv.set(['users', '1'], { name: 'GhostZero' });
      await kv.atomic().check({ key: ['users', '2'], version: null }).set(['users', '2'], 2).commit();
      await kv.getMany([['users', '1'], ['users', '2']]);
      await kv.delete(['users', '1']);
      await post('/v1/get', store.accessToken, '{"keys":[');
      await post('/v1/set', store.accessToken, { key: ['k'.repeat(3000)], value: 1 });
      await post('/v1/get', store.accessToken, { keys: [['a']] }, { 'content-type': 'text/plain' });
      await post('/v1/get', `${store.accessToken}x`, { keys: [['a']] });
      await post('/v1/get', store.accessToken.toUpperCase(), { keys: [['a']] });
      await post('/v1/admin/stores', store.accessToken, { region: 'eu-central-1' });
      await post('/v1/nope', store.accessToken, {});
    }
    await post('/v1/get', adminToken, { keys: [['a']] });
    await post('/v1/admin/stores', `${adminToken}x`, { region: 'eu-central-1' });
    await post('/v1/admin/stores', adminToken, { region: 'mars-1' });
  } finally {
    await emulator.stop();
    closeSync(log);
  }
  try {
    responses.forEach((body, i) => assertNoToken(body, tokens, `response ${i}`));
    const files = filesUnder(persistTo);
    assert.ok(files.some((file) => /\.sqlite$/.test(file)), `the state holds SQLite files: ${files}`);
    for (const file of files) assertNoToken(readFileSync(file), tokens, file);
    const output = readFileSync(logFile);
    assert.ok(output.includes('POST /v1/get'), 'the log holds the request lines');
    assertNoToken(output, tokens, 'the emulator log');
    console.log(`# no token in ${files.length} persisted files, ${responses.length} responses ` +
      `or ${output.toString().split('\n').length} log lines`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// Timing tests are flaky by nature; these read the code instead.
test('token comparisons are constant time (code check)', () => {
  const store = readFileSync(join(ROOT, 'worker/store.cc'), 'utf8');
  const compare = /bool EqualInConstantTime\(([^)]*)\) \{([\s\S]*?)\n\}/.exec(store);
  assert.ok(compare, 'worker/store.cc defines EqualInConstantTime');
  const body = compare[2];
  const loop = /for \((?:[^;]*;){2}[^)]*\)\s*([^;]*;)/.exec(body);
  assert.ok(loop, 'EqualInConstantTime loops over the bytes');
  assert.match(loop[1], /^difference \|= a\[i\] \^ b\[i\];$/, 'the loop accumulates XORs without branching');
  assert.doesNotMatch(body, /memcmp|strcmp|==\s*b\b|a\s*==\s*b/, 'no early-exit comparison of the bytes');
  const authenticate = /Status Store::Authenticate\([^)]*\)[^{]*\{([\s\S]*?)\n\}/.exec(store);
  assert.ok(authenticate, 'worker/store.cc defines Store::Authenticate');
  assert.match(authenticate[1], /EqualInConstantTime\(/, 'Authenticate compares with EqualInConstantTime');
  assert.doesNotMatch(store, /credential\s*==|==\s*credential|credential\.compare\(/, 'no other comparison of credentials');

  // The admin token's hash is compared by TokenHash.equals, which is timingSafeEqual.
  const auth = readFileSync(join(ROOT, 'shims/auth.js'), 'utf8');
  const tokenHash = readFileSync(join(ROOT, 'shims/token_hash.js'), 'utf8');
  assert.match(auth, /given\.equals\(expected\)/, 'the admin token is compared by its hash');
  const equals = /\n  equals\(other\) \{([\s\S]*?)\n  \}/.exec(tokenHash);
  assert.ok(equals, 'shims/token_hash.js defines TokenHash.equals');
  assert.match(equals[1], /^\s*return crypto\.subtle\.timingSafeEqual\(this\.bytes, other\.bytes\);\s*$/, 'TokenHash.equals is timingSafeEqual');
  for (const file of ['worker.js', 'auth.js', 'admin.js', 'store_routes.js', 'kv_connect.js', 'directory.js', 'token_hash.js']) {
    const code = readFileSync(join(ROOT, 'shims', file), 'utf8');
    assert.doesNotMatch(code, /[!=]==?\s*env\.KV_ADMIN_TOKEN|env\.KV_ADMIN_TOKEN\s*[!=]==?/, `${file}: the admin token is never compared with == or ===`);
    // Presented tokens are never compared in JS at all: only their hashes,
    // in the core (access tokens) or with timingSafeEqual (the admin token).
    assert.doesNotMatch(code, /\b(token|accessToken|given|expected)\s*[!=]==?|[!=]==?\s*(token|accessToken|given|expected)\b/,
      `${file}: no == or === comparison of a presented token`);
  }
});

test('one store can never read or change another store\'s data', async () => {
  const emulator = await sharedEmulator();
  try {
    const a = await connectNewStore(emulator);
    const b = await connectNewStore(emulator);
    const keys = [['users', '1'], ['shared'], ['token', 'x']];
    for (const key of keys) {
      await a.kv.set(key, { owner: 'a' });
      await b.kv.set(key, { owner: 'b' });
    }
    assert.deepEqual((await a.kv.getMany(keys)).map((e) => e.value.owner), ['a', 'a', 'a']);
    assert.deepEqual((await b.kv.getMany(keys)).map((e) => e.value.owner), ['b', 'b', 'b']);
    // Writes and deletes through one store leave the other's entries alone.
    assert.equal(await a.kv.delete(['shared']), true);
    await a.kv.atomic().set(['users', '1'], { owner: 'a', again: true }).commit();
    const ofB = await b.kv.getMany(keys);
    assert.deepEqual(ofB.map((e) => e.value), [{ owner: 'b' }, { owner: 'b' }, { owner: 'b' }]);
    // Checks see only the store's own entries.
    const onlyInB = ['only-b'];
    await b.kv.set(onlyInB, 1);
    const check = await a.kv.atomic().check({ key: onlyInB, version: null }).set(['seen'], false).commit();
    assert.equal(check.ok, true);
    // The Worker's token directory is not reachable through a store: its keys
    // (["token", <hash>], ["store", <id>]) read as the store's own, empty ones.
    const hashOfA = createHash('sha256').update(a.store.accessToken).digest('hex');
    const directoryKeys = [['token', hashOfA], ['store', a.store.id], ['store', b.store.id]];
    assert.deepEqual((await b.kv.getMany(directoryKeys)).map((e) => e.value), [null, null, null]);
    // A third store starts empty.
    const c = await connectNewStore(emulator);
    assert.deepEqual((await c.kv.getMany([...keys, onlyInB, ['seen']])).map((e) => e.value), [null, null, null, null, null]);
  } finally {
    await emulator.close();
  }
});
