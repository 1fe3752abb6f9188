// GET /v1/admin/stores/{id}/usage (docs/http-api.md, "Admin: usage over
// time"): the operator reads what GET /v1/usage answers the store's token,
// daily rows included; the Store of the other admin routes leaves them out.

import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, test } from 'node:test';
import { call, connectNewStore, sharedEmulator } from '../helpers.js';

let emulator;
before(async () => {
  emulator = await sharedEmulator();
});
after(() => emulator.close());

test('the operator reads a store\'s usage over time as the store does', async () => {
  const { kv, store } = await connectNewStore(emulator);
  for (let i = 0; i < 5; i++) await kv.set(['day', i], { i });
  const admin = await call(emulator.url, `/v1/admin/stores/${store.id}/usage`, { method: 'GET', token: emulator.adminToken });
  assert.equal(admin.status, 200);
  assert.deepEqual(Object.keys(admin.body).sort(), ['daily', 'limits', 'usage']);
  const { daily } = admin.body;
  assert.equal(daily.length, 30);
  const dates = daily.map((day) => day.date);
  assert.deepEqual([...dates].sort(), dates, 'oldest first');
  assert.equal(dates.at(-1), new Date().toISOString().slice(0, 10), 'today last');
  assert.ok(daily.at(-1).operations >= 5, `today counts the writes: ${JSON.stringify(daily.at(-1))}`);
  assert.ok(daily.at(-1).storageBytes > 0);
  const own = await call(emulator.url, '/v1/usage', { method: 'GET', token: store.accessToken });
  assert.equal(own.status, 200);
  assert.deepEqual(own.body.daily, daily);
  assert.deepEqual(own.body.limits, admin.body.limits);
});

test('the Store of describe and list leaves the daily rows out', async () => {
  const { store } = await connectNewStore(emulator);
  const described = await call(emulator.url, `/v1/admin/stores/${store.id}`, { method: 'GET', token: emulator.adminToken });
  assert.deepEqual(Object.keys(described.body).sort(), ['createdAt', 'id', 'limits', 'region', 'usage']);
  const listed = await call(emulator.url, '/v1/admin/stores?limit=1000', { method: 'GET', token: emulator.adminToken });
  assert.ok(listed.body.stores.every((s) => !('daily' in s)));
});

test('usage of a missing store, with another method, or with a store token is refused', async () => {
  const { store } = await connectNewStore(emulator);
  const missing = await call(emulator.url, `/v1/admin/stores/${randomUUID()}/usage`, { method: 'GET', token: emulator.adminToken });
  assert.equal(missing.status, 404);
  assert.equal(missing.body.error.code, 'store_not_found');
  const post = await call(emulator.url, `/v1/admin/stores/${store.id}/usage`, { token: emulator.adminToken, body: {} });
  assert.equal(post.status, 405);
  assert.equal(post.headers.get('allow'), 'GET');
  const asStore = await call(emulator.url, `/v1/admin/stores/${store.id}/usage`, { method: 'GET', token: store.accessToken });
  assert.equal(asStore.status, 401);
  assert.equal(asStore.body.error.code, 'invalid_token');
});
