// Deno KV's API through the Deno CLI against a store's KV Connect endpoint:
// `deno run --unstable-kv --allow-net --allow-env basics.ts <url>` with
// DENO_KV_ACCESS_TOKEN set. Prints one JSON line per check (lines.ts) for
// tests/e2e/kv_connect.test.js; the program asserts nothing itself.

import { attempt, emit, sleep } from './lines.ts';

const kv = await Deno.openKv(Deno.args[0]);
const api = { commitVersionstamp: typeof (kv as unknown as Record<string, unknown>).commitVersionstamp };
emit('api', api);

// Expiry first, so that its wait overlaps the other checks.
const expiring = await kv.set(['expiring'], 'soon', { expireIn: 1000 });
const expiringAt = Date.now();
emit('expire-present', { ok: expiring.ok, ...(await kv.get(['expiring'])) });

// JSON values.
const json: Record<string, unknown> = {
  ascii: 'hello',
  latin1: 'Grüße',
  twoByte: '日本語 🎉 Grüße',
  number: 1.5,
  int: -42,
  big: 2 ** 53,
  bool: false,
  null: null,
  array: [1, 'ü', [2, ['三']], {}],
  nested: { a: { b: { c: [true, null, { d: '日本' }] } }, '1': 'one', z: -0.25 },
};
const stamps: Record<string, string> = {};
for (const [name, value] of Object.entries(json)) {
  const result = await kv.set(['json', name], value);
  stamps[name] = result.versionstamp;
}
for (const name of Object.keys(json)) {
  const entry = await kv.get(['json', name]);
  emit('json', { name, key: entry.key, value: entry.value, versionstamp: entry.versionstamp, wrote: stamps[name] });
}
const many = await kv.getMany([['json', 'twoByte'], ['missing'], ['json', 'nested']]);
emit('getMany', { entries: many });

// list: prefix, reverse, limit, a cursor, small batches, start/end.
await kv.set(['list'], 'the prefix itself');
for (let i = 0; i < 10; i++) await kv.set(['list', i], `item ${i}`);
await kv.set(['listz'], 'outside');
const keysOf = async (iterator: Deno.KvListIterator<unknown>) => {
  const keys = [];
  for await (const entry of iterator) keys.push(entry.key);
  return keys;
};
emit('list', { keys: await keysOf(kv.list({ prefix: ['list'] })) });
emit('list-reverse', { keys: await keysOf(kv.list({ prefix: ['list'] }, { reverse: true })) });
emit('list-limit', { keys: await keysOf(kv.list({ prefix: ['list'] }, { limit: 3 })) });
emit('list-batches', { keys: await keysOf(kv.list({ prefix: ['list'] }, { batchSize: 3 })) });
emit('list-range', { keys: await keysOf(kv.list({ start: ['list', 3], end: ['list', 6] })) });
{
  const first = kv.list({ prefix: ['list'] }, { limit: 4 });
  const firstKeys = await keysOf(first);
  const rest = await keysOf(kv.list({ prefix: ['list'] }, { cursor: first.cursor }));
  const back = kv.list({ prefix: ['list'] }, { limit: 4, reverse: true });
  const backKeys = await keysOf(back);
  const backRest = await keysOf(kv.list({ prefix: ['list'] }, { cursor: back.cursor, reverse: true }));
  emit('list-cursor', { firstKeys, cursor: first.cursor, rest, backKeys, backRest });
}

// delete
await kv.set(['doomed'], 'here');
const before = await kv.get(['doomed']);
await kv.delete(['doomed']);
emit('delete', { before: before.value, after: await kv.get(['doomed']) });

// atomic with checks
{
  await kv.set(['atomic', 'target'], 'before');
  const current = await kv.get(['atomic', 'target']);
  const passed = await kv.atomic()
    .check(current)
    .check({ key: ['atomic', 'fresh'], versionstamp: null })
    .set(['atomic', 'target'], 'changed')
    .set(['atomic', 'fresh'], 'new')
    .commit();
  const failed = await kv.atomic()
    .check(current) // its versionstamp is old now
    .set(['atomic', 'target'], 'must not land')
    .set(['atomic', 'never'], 'must not land')
    .commit();
  const failedNull = await kv.atomic()
    .check({ key: ['atomic', 'fresh'], versionstamp: null })
    .set(['atomic', 'never'], 'no')
    .commit();
  const after = await kv.getMany([['atomic', 'target'], ['atomic', 'fresh'], ['atomic', 'never']]);
  emit('atomic', { passed, failed, failedNull, after: after.map((e) => [e.value, e.versionstamp]) });
}

// sum, min, max: Deno's AtomicOperation takes their operand as a bigint
// (it wraps it in a KvU64 itself; a KvU64 argument is a TypeError), and a
// KvU64 is set as a whole value.
{
  await kv.atomic().sum(['u64', 'sum'], 40n).commit();
  await kv.atomic().sum(['u64', 'sum'], 2n).commit();
  await kv.atomic().max(['u64', 'max'], 5n).max(['u64', 'max'], 3n).commit();
  await kv.atomic().min(['u64', 'min'], 5n).commit();
  await kv.atomic().min(['u64', 'min'], 3n).commit();
  await kv.atomic().sum(['u64', 'wrap'], 0xffffffffffffffffn).commit();
  await kv.atomic().sum(['u64', 'wrap'], 2n).commit();
  await kv.set(['u64', 'set'], new Deno.KvU64(7n));
  const entries = await kv.getMany([['u64', 'sum'], ['u64', 'max'], ['u64', 'min'], ['u64', 'wrap'], ['u64', 'set']]);
  emit('u64', {
    values: entries.map((e) => e.value),
    areKvU64: entries.map((e) => e.value instanceof Deno.KvU64),
    versionstamps: entries.map((e) => e.versionstamp),
  });
}

// Values beyond JSON.
const beyond: Record<string, unknown> = {
  date: new Date(Date.UTC(2024, 1, 29, 12, 34, 56, 789)),
  map: new Map<unknown, unknown>([['a', 1], [2, 'two'], [3n, [null]]]),
  set: new Set<unknown>(['x', 3, 4n]),
  bigint: 12345678901234567890123n,
  negativeBigint: -5n,
  undefined: undefined,
  bytes: new Uint8Array([0, 1, 127, 128, 254, 255]),
  emptyBytes: new Uint8Array(0),
  int32: new Int32Array([-1, 0, 2147483647, -2147483648]),
  nan: NaN,
  infinity: -Infinity,
  negativeZero: -0,
  loneSurrogate: 'a\ud800b',
  regexp: /a+b/gi,
  mixed: {
    when: new Date(0),
    tags: new Set<unknown>([1n, 'two']),
    index: new Map<unknown, unknown>([['k', [new Uint8Array([7, 8]), undefined, new Int32Array([9])]]]),
    n: 1.5,
    s: 'ü日本',
  },
};
for (const [name, value] of Object.entries(beyond)) {
  await attempt('beyond', async () => {
    const result = await kv.set(['beyond', name], value);
    const entry = await kv.get(['beyond', name]);
    return {
      name,
      value: entry.value,
      versionstamp: entry.versionstamp,
      wrote: result.versionstamp,
      type: Object.prototype.toString.call(entry.value),
    };
  });
}

// Versionstamped keys.
if (api.commitVersionstamp === 'function') {
  await attempt('versionstamped', async () => {
    const result = await kv.atomic().set(['vs', kv.commitVersionstamp()], 'stamped').commit();
    const keys = [];
    for await (const entry of kv.list({ prefix: ['vs'] })) keys.push([entry.key, entry.value, entry.versionstamp]);
    return { result, keys };
  });
}

// enqueue
await attempt('enqueue', async () => ({ result: await kv.enqueue({ job: 1 }) }));

// The expiring key, at least 2 s after it was set.
await sleep(Math.max(0, expiringAt + 2000 - Date.now()));
emit('expire-gone', { ...(await kv.get(['expiring'])) });

kv.close();
emit('done');
