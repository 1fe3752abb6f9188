// The product brief's snippets (tests/brief/snippets.ts, compiled by tsc),
// run against the store in workerd.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import * as brief from '../../build/brief/snippets.js';
import { createStore, sharedEmulator } from '../helpers.js';

let emulator;
const user = { id: '1', name: 'GhostZero', email: 'example@example.com' };

before(async () => {
  emulator = await sharedEmulator();
  const store = await createStore(emulator);
  process.env.KV_ENDPOINT = emulator.url; // the brief's connect() passes no endpoint
  brief.openStore(store.accessToken);
});
after(() => emulator?.close());

test('set, then get returns key, value and version', async () => {
  await brief.createUser();
  const entry = await brief.readUser();
  assert.deepEqual(entry.key, ['users', '1']);
  assert.deepEqual(entry.value, user);
  assert.match(entry.version, /^[0-9a-f]{20}$/);
});

test('delete removes the entry and says whether it existed', async () => {
  assert.equal(await brief.deleteUser(), true);
  assert.equal((await brief.readUser()).value, null);
  assert.equal(await brief.deleteUser(), false);
});

test('the atomic check creates the entry only when it does not exist', async () => {
  const first = await brief.createUserIfAbsent();
  assert.equal(first.ok, true);
  assert.match(first.version, /^[0-9a-f]{20}$/);
  const second = await brief.createUserIfAbsent();
  assert.deepEqual(second, { ok: false, failedChecks: [0] });
  assert.equal((await brief.readUser()).version, first.version);
});

test('reading res.ok without await throws a TypeError that says to await', () => {
  const readOk = brief.createUserIfAbsentWithoutAwait();
  assert.throws(readOk, { name: 'TypeError', message: /await/ });
});

test('secondary index: save, then find by id and by email', async () => {
  const grace = { id: '42', name: 'Grace', email: 'grace@example.com' };
  const saved = await brief.saveUser(grace);
  assert.equal(saved.ok, true);
  assert.deepEqual((await brief.getById('42')).value, grace);
  const byEmail = await brief.getByEmail('grace@example.com');
  assert.deepEqual(byEmail.value, grace);
  assert.deepEqual(byEmail.key, ['users', '42']);
  assert.equal(await brief.getByEmail('nobody@example.com'), null);
});
