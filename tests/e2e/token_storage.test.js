// Secrets at rest: after creating stores, writing data, rotating a token and
// deleting a store, no file the emulator persisted (its SQLite databases,
// their WAL and shared-memory files) holds an access token or the admin
// token as text, only the tokens' SHA-256 hashes. The files are read while
// workerd runs (recent writes sit in the WAL) and again after it stopped.

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { after, before, test } from 'node:test';
import { call, startFreshEmulator } from '../helpers.js';

let emulator;

before(async () => {
  emulator = await startFreshEmulator();
});
after(async () => {
  await emulator?.stop();
  emulator?.remove();
});

function filesUnder(dir) {
  return readdirSync(dir, { withFileTypes: true })
    .flatMap((entry) => (entry.isDirectory() ? filesUnder(join(dir, entry.name)) : [join(dir, entry.name)]));
}

// Every persisted file's bytes. Only state/: the test's env file beside it
// holds the admin token on purpose (it stands in for .dev.vars).
function persistedFiles() {
  const root = join(emulator.stateDir, 'state');
  return filesUnder(root).map((path) => ({ name: relative(root, path), bytes: readFileSync(path) }));
}

function filesHolding(files, needle) {
  const bytes = typeof needle === 'string' ? Buffer.from(needle, 'utf8') : needle;
  return files.filter((file) => file.bytes.includes(bytes)).map((file) => file.name);
}

const sha256 = (text) => createHash('sha256').update(text, 'utf8').digest();

async function admin(method, path, body) {
  const response = await call(emulator.url, path, { method, token: emulator.adminToken, body });
  assert.ok(response.status < 300, `${method} ${path}: ${response.status} ${JSON.stringify(response.body)}`);
  return response.body;
}

async function write(token, key, value) {
  const response = await call(emulator.url, '/v1/set', { token, body: { key, value } });
  assert.equal(response.status, 200, JSON.stringify(response.body));
}

// The timeout is a failsafe only: a workerd that stops answering fails the test instead of hanging it.
test('persisted files hold token hashes, never tokens', { timeout: 5 * 60_000 }, async (t) => {
  const live = [];
  for (const region of ['eu-central-1', 'us-east-1', 'eu-west-2']) {
    live.push(await admin('POST', '/v1/admin/stores', { region, limits: { opsPerMonth: 1000 } }));
  }
  const retired = [];
  for (const [i, store] of live.entries()) {
    await write(store.accessToken, ['users', i], { name: `user ${i}`, note: 'persisted-marker' });
    await call(emulator.url, '/v1/usage', { method: 'GET', token: store.accessToken });
  }
  // Rotate one store's token (twice), and write with the newest token.
  for (let i = 0; i < 2; i++) {
    retired.push(live[0].accessToken);
    live[0].accessToken = (await admin('POST', `/v1/admin/stores/${live[0].id}/token`)).accessToken;
  }
  await write(live[0].accessToken, ['after', 'rotation'], 'persisted-marker');
  await admin('PATCH', `/v1/admin/stores/${live[1].id}`, { limits: { storageBytes: null } });
  await admin('GET', '/v1/admin/stores');
  // Delete a store that held data.
  const doomed = await admin('POST', '/v1/admin/stores', { region: 'eu-north-1' });
  await write(doomed.accessToken, ['doomed'], 'deleted-store-marker');
  await admin('DELETE', `/v1/admin/stores/${doomed.id}`);
  retired.push(doomed.accessToken);

  const secrets = [
    ['the admin token', emulator.adminToken],
    ...live.map((store) => [`the access token of store ${store.id}`, store.accessToken]),
    ...retired.map((token) => ['a rotated or deleted access token', token]),
  ];

  const check = (files, when) => {
    const names = files.map((file) => file.name);
    assert.ok(names.some((name) => name.endsWith('.sqlite')), `${when}: SQLite files were found: ${names}`);
    // The scan does see what the stores hold, so finding no token means something.
    assert.ok(filesHolding(files, 'persisted-marker').length > 0, `${when}: stored values are visible to the scan`);
    for (const [what, secret] of secrets) {
      for (const form of [secret, secret.replaceAll('-', ''), secret.toUpperCase()]) {
        assert.deepEqual(filesHolding(files, form), [], `${when}: ${what} is stored as text`);
      }
    }
    // What is kept instead: the hex SHA-256 in the token directory and the
    // raw SHA-256 in the store's own state.
    for (const store of live) {
      const digest = sha256(store.accessToken);
      assert.ok(filesHolding(files, digest.toString('hex')).length > 0, `${when}: hex hash of ${store.id} in the directory`);
      assert.ok(filesHolding(files, digest).length > 0, `${when}: raw hash of ${store.id} in its store`);
    }
    assert.deepEqual(filesHolding(files, 'deleted-store-marker'), [], `${when}: the deleted store's data is gone`);
    t.diagnostic(`${when}: scanned ${files.length} files (${names.filter((n) => /-(wal|shm)$/.test(n)).length} WAL/shm)`);
  };

  check(persistedFiles(), 'while running');
  await emulator.stop();
  check(persistedFiles(), 'after stopping');
});
