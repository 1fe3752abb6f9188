// The client's Deno KV API (Deno.Kv) end to end against workerd: code
// written for Deno KV, run with only the line that opens the database
// changed; versionstamped keys, bytes and V8 values, mutate(), versionstamp
// checks, Deno KV's list cursors, and close().

import assert from 'node:assert/strict';
import { serialize } from 'node:v8';
import { after, before, describe, test } from 'node:test';
import { connect, KvError, KvU64, KvV8Value } from '@own3d/kv';
import { call, connectNewStore, createStore, sharedEmulator } from '../helpers.js';

const VERSION_PATTERN = /^[0-9a-f]{20}$/;

let emulator;
before(async () => {
  emulator = await sharedEmulator();
});
after(() => emulator?.close());

async function collect(iterator) {
  const entries = [];
  for await (const entry of iterator) entries.push(entry);
  return entries;
}

/**
 * An app written for Deno KV. In Deno its first line is
 * `const kv = await Deno.openKv(url);`; that line is the only one changed.
 * Returns what it saw, for the test to check.
 */
async function denoApp({ accessToken, region, endpoint }) {
  const kv = connect({ accessToken, region, endpoint }); // Deno: const kv = await Deno.openKv(url);

  // A user store with a secondary index by email, kept in step by atomic checks.
  async function createUser(user) {
    const primaryKey = ['users', user.id];
    const byEmailKey = ['users_by_email', user.email];
    const res = await kv
      .atomic()
      .check({ key: primaryKey, versionstamp: null })
      .check({ key: byEmailKey, versionstamp: null })
      .set(primaryKey, user)
      .set(byEmailKey, user.id)
      .sum(['stats', 'users'], 1n)
      .commit();
    return res.ok ? res.versionstamp : null;
  }

  async function getUserByEmail(email) {
    const id = await kv.get(['users_by_email', email]);
    if (id.value === null) return null;
    const user = await kv.get(['users', id.value]);
    return user.value;
  }

  async function changeEmail(id, email) {
    for (;;) {
      const user = await kv.get(['users', id]);
      if (user.value === null) return false;
      const res = await kv
        .atomic()
        .check(user) // the entry itself: its key and versionstamp
        .check({ key: ['users_by_email', email], versionstamp: null })
        .mutate(
          { type: 'delete', key: ['users_by_email', user.value.email] },
          { type: 'set', key: ['users', id], value: { ...user.value, email } },
          { type: 'set', key: ['users_by_email', email], value: id },
        )
        .commit();
      if (res.ok) return true;
      const taken = await kv.get(['users_by_email', email]);
      if (taken.value !== null) return false;
    }
  }

  async function listUsers(pageSize) {
    const pages = [];
    let cursor;
    do {
      const iter = kv.list({ prefix: ['users'] }, { limit: pageSize, cursor });
      const page = [];
      for await (const entry of iter) page.push(entry.value.id);
      pages.push(page);
      cursor = iter.cursor;
    } while (cursor !== '' && pages.at(-1).length === pageSize);
    return pages;
  }

  async function logEvent(event) {
    const { versionstamp } = await kv.set(['events', kv.commitVersionstamp()], event);
    return versionstamp;
  }

  const seen = {};
  // Watch the user count while users sign up.
  const watched = (async () => {
    const counts = [];
    for await (const [count] of kv.watch([['stats', 'users']])) {
      counts.push(count.value === null ? 0n : count.value.value);
      if (count.value?.value === 3n) break;
    }
    return counts;
  })();

  const first = await createUser({ id: 'u1', name: 'Ada', email: 'ada@example.com' });
  seen.created = [
    first,
    await createUser({ id: 'u2', name: 'Grace', email: 'grace@example.com' }),
    await createUser({ id: 'u3', name: 'Edsger', email: 'edsger@example.com' }),
    await createUser({ id: 'u4', name: 'Copycat', email: 'ada@example.com' }), // the email is taken
  ];
  seen.byEmail = await getUserByEmail('grace@example.com');
  seen.changed = await changeEmail('u1', 'lovelace@example.com');
  seen.changeToTaken = await changeEmail('u2', 'edsger@example.com');
  seen.oldEmail = await getUserByEmail('ada@example.com');
  seen.newEmail = await getUserByEmail('lovelace@example.com');
  seen.pages = await listUsers(2);
  seen.userCount = (await kv.get(['stats', 'users'])).value;
  seen.counts = await watched;

  const [u1, missing] = await kv.getMany([['users', 'u1'], ['users', 'nobody']]);
  seen.getMany = [u1.versionstamp, missing.versionstamp];
  await kv.set(['sessions', 's1'], { user: 'u1' }, { expireIn: 60_000 });
  await kv.set(['avatars', 'u1'], new Uint8Array([137, 80, 78, 71, 0, 255]));
  seen.avatar = (await kv.get(['avatars', 'u1'])).value;
  seen.eventStamps = [await logEvent({ type: 'signup' }), await logEvent({ type: 'login' })];
  seen.events = [];
  for await (const entry of kv.list({ prefix: ['events'] }, { reverse: true })) seen.events.push(entry);
  await kv.delete(['sessions', 's1']);

  kv.close();
  try {
    await kv.get(['users', 'u1']);
  } catch (error) {
    seen.afterClose = error;
  }
  return seen;
}

test('code written for Deno KV runs with only the open line changed', async () => {
  const store = await createStore(emulator);
  const seen = await denoApp({ accessToken: store.accessToken, region: store.region, endpoint: emulator.url });

  const [ada, grace, edsger, copycat] = seen.created;
  for (const stamp of [ada, grace, edsger]) assert.match(stamp, VERSION_PATTERN);
  assert.ok(ada < grace && grace < edsger);
  assert.equal(copycat, null, 'the check on the taken email failed the commit');
  assert.deepEqual(seen.byEmail, { id: 'u2', name: 'Grace', email: 'grace@example.com' });
  assert.equal(seen.changed, true);
  assert.equal(seen.changeToTaken, false);
  assert.equal(seen.oldEmail, null);
  assert.equal(seen.newEmail.name, 'Ada');
  assert.deepEqual(seen.pages, [['u1', 'u2'], ['u3']]);
  assert.ok(seen.userCount instanceof KvU64);
  assert.equal(seen.userCount.value, 3n);
  assert.equal(seen.counts.at(-1), 3n);
  assert.ok(seen.counts.every((count, i) => i === 0 || count > seen.counts[i - 1]), `increasing: ${seen.counts}`);
  assert.match(seen.getMany[0], VERSION_PATTERN);
  assert.equal(seen.getMany[1], null);
  assert.ok(seen.avatar instanceof Uint8Array);
  assert.deepEqual([...seen.avatar], [137, 80, 78, 71, 0, 255]);
  // Each event's key ends with the versionstamp of the commit that wrote it.
  assert.deepEqual(
    seen.events.map((entry) => [entry.key, entry.versionstamp, entry.value.type]),
    [
      [['events', seen.eventStamps[1]], seen.eventStamps[1], 'login'],
      [['events', seen.eventStamps[0]], seen.eventStamps[0], 'signup'],
    ],
  );
  assert.ok(seen.afterClose instanceof KvError);
  assert.equal(seen.afterClose.code, 'closed');
});

describe('versionstamped keys', () => {
  let kv;
  before(async () => {
    ({ kv } = await connectNewStore(emulator));
  });

  test('the store writes the key plus the commit version, in set, atomic set and mutate', async () => {
    const stamp = kv.commitVersionstamp();
    const one = await kv.set(['log', 'a', stamp], 'one', { expireIn: 3_600_000 });
    const two = await kv
      .atomic()
      .set(['log', 'b', stamp], 'two')
      .mutate({ type: 'set', key: ['log', 'c', stamp], value: 'three' })
      .set(['log', 'plain'], 'four')
      .commit();
    assert.ok(two.ok);
    const entries = await collect(kv.list({ prefix: ['log'] }));
    assert.deepEqual(
      entries.map((entry) => [entry.key, entry.value, entry.versionstamp]),
      [
        [['log', 'a', one.versionstamp], 'one', one.versionstamp],
        [['log', 'b', two.versionstamp], 'two', two.versionstamp],
        [['log', 'c', two.versionstamp], 'three', two.versionstamp],
        [['log', 'plain'], 'four', two.versionstamp],
      ],
    );
    assert.ok(entries[0].expiresAt > Date.now());
    const entry = await kv.get(['log', 'a', one.versionstamp]);
    assert.equal(entry.value, 'one');
  });

  test('keys written later sort later: a log in commit order', async () => {
    const stamps = [];
    for (let i = 0; i < 5; i++) stamps.push((await kv.set(['queue', kv.commitVersionstamp()], i)).versionstamp);
    const values = (await collect(kv.list({ prefix: ['queue'] }))).map((entry) => entry.value);
    assert.deepEqual(values, [0, 1, 2, 3, 4]);
    assert.deepEqual([...stamps].sort(), stamps);
  });

  test('the placeholder anywhere else is refused before sending', async () => {
    const stamp = kv.commitVersionstamp();
    await assert.rejects(kv.get(['log', stamp]), { name: 'TypeError', message: /commitVersionstamp/ });
    await assert.rejects(kv.set(['log', stamp, 'x'], 1), { name: 'TypeError', message: /last part/ });
    assert.throws(() => kv.atomic().check({ key: ['log', stamp], versionstamp: null }), TypeError);
  });

  test('the raw API: a key of 2,026 bytes is refused with versionstampedKey, taken without it', async () => {
    const store = await createStore(emulator);
    const key = ['k', 'x'.repeat(2021)]; // 3 + 2,023 = 2,026 bytes: 2,048 with the 22 of the versionstamp part
    const fits = await call(emulator.url, '/v1/set', { token: store.accessToken, body: { key, value: 1, versionstampedKey: true } });
    assert.equal(fits.status, 200, JSON.stringify(fits.body));
    const longer = ['k', 'x'.repeat(2022)];
    const over = await call(emulator.url, '/v1/set', { token: store.accessToken, body: { key: longer, value: 1, versionstampedKey: true } });
    assert.equal(over.status, 400, JSON.stringify(over.body));
    assert.equal(over.body.error.code, 'key_too_large');
  });
});

describe('bytes and V8 values', () => {
  let kv;
  before(async () => {
    ({ kv } = await connectNewStore(emulator));
  });

  test('a Uint8Array value comes back as the same bytes from get, list, watch and export', async () => {
    const bytes = new Uint8Array(256).map((_, i) => i);
    const { versionstamp } = await kv.set(['blob'], bytes);
    const entry = await kv.get(['blob']);
    assert.ok(entry.value instanceof Uint8Array);
    assert.deepEqual(entry.value, bytes);
    assert.equal(entry.versionstamp, versionstamp);
    assert.deepEqual((await collect(kv.list({ prefix: [] })))[0].value, bytes);
    const reader = kv.watch([['blob']]).getReader();
    const [watched] = (await reader.read()).value;
    assert.deepEqual(watched.value, bytes);
    await reader.cancel();
    await kv.atomic().set(['empty'], new Uint8Array(0)).commit();
    assert.deepEqual((await kv.get(['empty'])).value, new Uint8Array(0));

    const lines = await collect(kv.export());
    assert.deepEqual(JSON.parse(lines[0]).valueType, 'bytes');
    const { kv: copy } = await connectNewStore(emulator);
    await copy.import(lines);
    assert.deepEqual((await copy.get(['blob'])).value, bytes);
  });

  test('a value with no JSON form written as V8 reads back as a KvV8Value, and writes back unchanged', async () => {
    const date = serialize(new Date(Date.UTC(2024, 0, 2)));
    const bigint = serialize(12345678901234567890n);
    await kv.set(['v8', 'date'], new KvV8Value(date));
    await kv.atomic().mutate({ type: 'set', key: ['v8', 'bigint'], value: new KvV8Value(bigint) }).commit();
    const [dateEntry, bigintEntry] = await kv.getMany([['v8', 'date'], ['v8', 'bigint']]);
    assert.ok(dateEntry.value instanceof KvV8Value);
    assert.deepEqual(Buffer.from(dateEntry.value.bytes), date);
    assert.deepEqual(Buffer.from(bigintEntry.value.bytes), bigint);
    await kv.set(['v8', 'copy'], dateEntry.value);
    assert.deepEqual(Buffer.from((await kv.get(['v8', 'copy'])).value.bytes), date);
  });

  test('a V8 value with a JSON form is stored as JSON, so every client reads it', async () => {
    await kv.set(['v8', 'object'], new KvV8Value(serialize({ name: 'Ada', tags: ['x'], n: 1.5 })));
    assert.deepEqual((await kv.get(['v8', 'object'])).value, { name: 'Ada', tags: ['x'], n: 1.5 });
  });
});

describe('atomic operations, Deno style', () => {
  let kv;
  before(async () => {
    ({ kv } = await connectNewStore(emulator));
  });

  test('mutate() with KvU64 counters, and checks by versionstamp', async () => {
    const first = await kv
      .atomic()
      .mutate(
        { type: 'sum', key: ['visits'], value: new KvU64(5n) },
        { type: 'max', key: ['peak'], value: new KvU64(7n) },
        { type: 'min', key: ['low'], value: new KvU64(7n) },
      )
      .commit();
    assert.ok(first.ok);
    assert.equal(first.versionstamp, first.version);
    const visits = await kv.get(['visits']);
    const stale = await kv.atomic().check(visits).mutate({ type: 'sum', key: ['visits'], value: new KvU64(2n ** 64n - 1n) }).commit();
    assert.ok(stale.ok);
    assert.equal((await kv.get(['visits'])).value.value, 4n, 'wrapped modulo 2^64');
    // The same check again: the versionstamp moved on.
    const refused = await kv.atomic().check({ key: ['visits'], versionstamp: visits.versionstamp }).delete(['visits']).commit();
    assert.equal(refused.ok, false);
    assert.throws(() => kv.atomic().mutate({ type: 'sum', key: ['visits'], value: 1 }), { name: 'TypeError', message: /^Invalid mutation 'sum'/ });
    assert.throws(() => kv.atomic().mutate({ type: 'increment', key: ['visits'], value: 1 }), { name: 'TypeError', message: /^Invalid mutation type/ });
  });

  test("Deno KV's commit limits are refused before sending", async () => {
    const atomic = kv.atomic();
    for (let i = 0; i < 41; i++) atomic.set(['big', i, 'x'.repeat(1990)], i);
    await assert.rejects(atomic.commit(), { name: 'TypeError', message: /^Total key size too large \(max 81920 bytes\)/ });
    const checks = kv.atomic();
    for (let i = 0; i < 101; i++) checks.check({ key: ['c', i], versionstamp: null });
    await assert.rejects(checks.commit(), { name: 'TypeError', message: /^Too many checks \(max 100\)/ });
    assert.equal(await kv.count({ prefix: ['big'] }), 0);
  });

  test('the store refuses the same 80 KiB of keys from a raw request', async () => {
    const store = await createStore(emulator);
    const mutations = Array.from({ length: 41 }, (_, i) => ({ type: 'set', key: ['big', i, 'x'.repeat(1990)], value: i }));
    const answer = await call(emulator.url, '/v1/atomic', { token: store.accessToken, body: { checks: [], mutations } });
    assert.equal(answer.status, 413, JSON.stringify(answer.body));
    assert.equal(answer.body.error.code, 'commit_too_large');
  });
});

describe('list, Deno style', () => {
  let kv;
  before(async () => {
    ({ kv } = await connectNewStore(emulator));
    const atomic = kv.atomic();
    for (let i = 0; i < 7; i++) atomic.set(['n', i], i);
    await atomic.commit();
  });

  test('next(), the cursor after each entry, and "" at the end', async () => {
    const iterator = kv.list({ prefix: ['n'] }, { batchSize: 3, consistency: 'eventual' });
    assert.throws(() => iterator.cursor, { message: 'Cannot get cursor before first iteration' });
    const { value } = await iterator.next();
    assert.equal(value.value, 0);
    const resumed = await collect(kv.list({ prefix: ['n'] }, { cursor: iterator.cursor }));
    assert.deepEqual(resumed.map((entry) => entry.value), [1, 2, 3, 4, 5, 6]);
    assert.deepEqual((await collect(iterator)).map((entry) => entry.value), [1, 2, 3, 4, 5, 6]);
    assert.equal(iterator.cursor, '');
  });

  test('a range whose end sorts before its start rejects, as in Deno KV', async () => {
    await assert.rejects(collect(kv.list({ start: ['n', 5], end: ['n', 2] })), { name: 'TypeError', message: /^Start key is greater than end key/ });
    assert.deepEqual(await collect(kv.list({ start: ['n', 2], end: ['n', 2] })), []);
  });
});

test('close() ends open watches and refuses every later call', async () => {
  const { kv, store } = await connectNewStore(emulator);
  const reader = kv.watch([['w']]).getReader();
  assert.equal((await reader.read()).done, false);
  const next = reader.read();
  kv.close();
  assert.deepEqual(await next, { done: true, value: undefined });
  await assert.rejects(kv.set(['w'], 1), { name: 'KvError', code: 'closed' });
  assert.throws(() => kv.list({ prefix: [] }), { name: 'KvError', code: 'closed' });
  // The store is untouched: another handle works.
  const other = connect({ accessToken: store.accessToken, region: store.region, endpoint: emulator.url });
  assert.equal((await other.get(['w'])).value, null);
  // What `using kv = connect(...)` calls at the end of its block (Node 20 has no `using` yet).
  const disposed = connect({ accessToken: store.accessToken, region: store.region, endpoint: emulator.url });
  try {
    await disposed.set(['w'], 'disposed');
  } finally {
    disposed[Symbol.dispose]();
  }
  await assert.rejects(disposed.get(['w']), { code: 'closed' });
  assert.equal((await other.get(['w'])).value, 'disposed');
});
