// AuthGate (shims/auth_gate.js) against fake rate limiters that count as
// the Workers binding does, a fake directory that counts its lookups, and a
// fake clock: a random-token flood must reach the directory only up to the
// limits, and not at all once its address is blocked.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { AuthGate } from '../../shims/auth_gate.js';

const MINUTE = 60_000;
const LIMITS = { cachedTokens: 10_000, unknownTokenTtlMs: MINUTE, blockMs: MINUTE };
const ADDRESS = '203.0.113.7';
const OTHER_ADDRESS = '198.51.100.4';

// `allowance` successes per key in a window of `periodMs` from the key's first call in it.
function fakeLimiter(allowance, clock, periodMs = MINUTE) {
  const windows = new Map();
  const limiter = {
    calls: 0,
    async limit({ key }) {
      limiter.calls += 1;
      let window = windows.get(key);
      if (!window || clock.now >= window.start + periodMs) {
        window = { start: clock.now, used: 0 };
        windows.set(key, window);
      }
      window.used += 1;
      return { success: window.used <= allowance };
    },
  };
  return limiter;
}

function setup({ failures = 100, lookups = 300, limits = {} } = {}) {
  const clock = { now: 1_000_000 };
  const directory = {
    stores: new Map(),
    lookups: 0,
    unavailable: false,
    async lookup(credential) {
      directory.lookups += 1;
      await new Promise(setImmediate); // a round trip, so that requests overlap
      if (directory.unavailable) throw new Error('directory unavailable');
      return directory.stores.get(credential) ?? null;
    },
  };
  const failureLimiter = fakeLimiter(failures, clock);
  const lookupLimiter = fakeLimiter(lookups, clock);
  const gate = new AuthGate({
    lookup: directory.lookup,
    failureLimiter,
    lookupLimiter,
    limits: { ...LIMITS, ...limits },
    now: () => clock.now,
  });
  const calls = () => ({
    lookups: directory.lookups,
    failureLimits: failureLimiter.calls,
    lookupLimits: lookupLimiter.calls,
  });
  return { gate, clock, directory, calls };
}

const randomToken = () => randomBytes(32).toString('hex');

function addStore(directory) {
  const credential = randomToken();
  const store = { id: randomToken().slice(0, 8), region: 'eu' };
  directory.stores.set(credential, store);
  return { credential, store };
}

async function resolveAll(gate, credentials, address = ADDRESS) {
  const results = [];
  for (const credential of credentials) results.push(await gate.resolve(credential, address));
  return results;
}

const codes = (results) => results.map(({ refusal }) => refusal?.code ?? 'store');

test('a flood of random tokens reaches the directory until the failure limit blocks the address', async () => {
  const { gate, calls } = setup({ failures: 100, lookups: 300 });
  const results = await resolveAll(gate, Array.from({ length: 1000 }, randomToken));

  assert.deepEqual(codes(results.slice(0, 100)), Array(100).fill('invalid_token'));
  assert.equal(results[0].refusal.status, 401);
  // The 101st lookup is the failure past the limit: from then on, nothing is called.
  assert.deepEqual(calls(), { lookups: 101, failureLimits: 101, lookupLimits: 101 });
  assert.deepEqual(codes(results.slice(100)), Array(900).fill('too_many_failed_attempts'));
  const { refusal } = results[100];
  assert.equal(refusal.status, 429);
  assert.equal(refusal.retryAfterSeconds, 60);
  assert.match(refusal.message, /invalid token from this address; wait 60 seconds, and check/);
});

test('lookups of uncached tokens are limited before they reach the directory', async () => {
  const { gate, calls } = setup({ failures: 10_000, lookups: 300 });
  const results = await resolveAll(gate, Array.from({ length: 1000 }, randomToken));

  assert.deepEqual(codes(results.slice(0, 300)), Array(300).fill('invalid_token'));
  assert.deepEqual(codes(results.slice(300)), Array(700).fill('too_many_lookups'));
  assert.equal(results[300].refusal.status, 429);
  assert.equal(results[300].refusal.retryAfterSeconds, 60);
  assert.match(results[300].refusal.message, /tokens not seen recently from this address; wait 60 seconds/);
  // The 301st is refused by the lookup limit alone, and blocks the address.
  assert.deepEqual(calls(), { lookups: 300, failureLimits: 300, lookupLimits: 301 });
});

test('a concurrent flood reaches the directory no more than the lookup limit allows', async () => {
  const { gate, calls } = setup({ failures: 100, lookups: 300 });
  // All pass the block check before any fails: only the lookup limit holds them back.
  const results = await Promise.all(Array.from({ length: 1000 }, () => gate.resolve(randomToken(), ADDRESS)));
  // The 301st blocked the address while the 300 lookups were in flight.
  assert.deepEqual(codes(results), Array(1000).fill('too_many_lookups'));
  assert.equal(calls().lookups, 300);
  assert.equal(calls().lookupLimits, 1000);

  const flooded = calls();
  assert.equal((await gate.resolve(randomToken(), ADDRESS)).refusal.status, 429);
  assert.deepEqual(calls(), flooded);
});

test('an unknown token reaches the directory once per unknownTokenTtlMs', async () => {
  const { gate, clock, calls } = setup();
  const credential = randomToken();
  const results = await resolveAll(gate, Array(50).fill(credential));
  assert.deepEqual(codes(results), Array(50).fill('invalid_token'));
  // Each is still a failed authentication, but only the first is a lookup.
  assert.deepEqual(calls(), { lookups: 1, failureLimits: 50, lookupLimits: 1 });

  clock.now += MINUTE - 1;
  await gate.resolve(credential, ADDRESS);
  assert.equal(calls().lookups, 1);
  clock.now += 1;
  const { refusal } = await gate.resolve(credential, ADDRESS);
  assert.equal(refusal.code, 'invalid_token');
  assert.equal(calls().lookups, 2);
});

test('a known token is looked up once, then served from the cache until forgotten', async () => {
  const { gate, directory, calls } = setup();
  const { credential, store } = addStore(directory);
  for (let i = 0; i < 10; i++) assert.deepEqual(await gate.resolve(credential, ADDRESS), { store });
  assert.deepEqual(calls(), { lookups: 1, failureLimits: 0, lookupLimits: 1 });

  gate.forget(credential);
  assert.deepEqual(await gate.resolve(credential, ADDRESS), { store });
  assert.equal(calls().lookups, 2);
  directory.stores.delete(credential); // rotated: the store object refused it
  gate.forget(credential);
  assert.equal((await gate.resolve(credential, ADDRESS)).refusal.code, 'invalid_token');
  assert.equal(calls().lookups, 3);
});

test('concurrent requests with one uncached token each look it up, within the lookup limit', async () => {
  // Not shared: the Workers runtime cancels a request that awaits I/O begun
  // by another request, so each request makes its own look-up.
  const { gate, directory, calls } = setup();
  const { credential, store } = addStore(directory);
  const results = await Promise.all(Array.from({ length: 20 }, () => gate.resolve(credential, ADDRESS)));
  assert.deepEqual(results, Array(20).fill({ store }));
  assert.equal(calls().lookups, 20);
  assert.deepEqual(await gate.resolve(credential, ADDRESS), { store });
  assert.equal(calls().lookups, 20, 'then it is cached');
});

test('a blocked address does not block another, and is unblocked after blockMs', async () => {
  const { gate, clock, directory, calls } = setup({ failures: 100 });
  const { credential, store } = addStore(directory);
  assert.deepEqual(await gate.resolve(credential, OTHER_ADDRESS), { store });
  await resolveAll(gate, Array.from({ length: 101 }, randomToken));
  const flooded = calls();

  // Blocked: a token not cached is refused at no cost, while a token this
  // isolate knows is still served (it costs nothing either).
  clock.now += 15_000;
  const { refusal } = await gate.resolve(randomToken(), ADDRESS);
  assert.equal(refusal.code, 'too_many_failed_attempts');
  assert.equal(refusal.retryAfterSeconds, 45);
  assert.deepEqual(await gate.resolve(credential, ADDRESS), { store });
  assert.deepEqual(calls(), flooded);

  assert.deepEqual(await gate.resolve(credential, OTHER_ADDRESS), { store });
  assert.equal((await gate.resolve(randomToken(), OTHER_ADDRESS)).refusal.code, 'invalid_token');
  assert.equal(calls().lookups, flooded.lookups + 1);

  clock.now += MINUTE - 15_000 - 1;
  assert.equal((await gate.resolve(randomToken(), ADDRESS)).refusal.retryAfterSeconds, 1);
  clock.now += 1;
  assert.equal((await gate.resolve(randomToken(), ADDRESS)).refusal.code, 'invalid_token');
  assert.equal(calls().lookups, flooded.lookups + 2);
});

test('refuse counts failures found elsewhere, and blocks past the limit', async () => {
  const { gate, directory, calls } = setup({ failures: 3 });
  const missing = { status: 401, code: 'missing_token', message: 'send the header' };
  for (let i = 0; i < 3; i++) assert.equal(await gate.refuse(ADDRESS, missing), missing);
  assert.equal((await gate.refuse(ADDRESS, missing)).code, 'too_many_failed_attempts');
  assert.equal(calls().failureLimits, 4);

  const { credential } = addStore(directory);
  assert.equal((await gate.refuse(ADDRESS, missing)).code, 'too_many_failed_attempts');
  assert.equal((await gate.resolve(credential, ADDRESS)).refusal.code, 'too_many_failed_attempts');
  assert.deepEqual(calls(), { lookups: 0, failureLimits: 4, lookupLimits: 0 });
});

test('a lookup that fails is not cached', async () => {
  const { gate, directory, calls } = setup();
  const { credential, store } = addStore(directory);
  directory.unavailable = true;
  await assert.rejects(gate.resolve(credential, ADDRESS), /directory unavailable/);
  directory.unavailable = false;
  assert.deepEqual(await gate.resolve(credential, ADDRESS), { store });
  assert.equal(calls().lookups, 2);
});

test('the caches and the blocked addresses keep at most cachedTokens entries, oldest out first', async () => {
  const { gate, directory, calls } = setup({ failures: 10_000, lookups: 10_000, limits: { cachedTokens: 10 } });
  const known = Array.from({ length: 25 }, () => addStore(directory).credential);
  const unknown = Array.from({ length: 25 }, randomToken);
  for (const credentials of [known, unknown]) {
    await resolveAll(gate, credentials);
    const before = calls().lookups;
    await resolveAll(gate, credentials.slice(15)); // the newest 10: cached
    assert.equal(calls().lookups, before);
    await resolveAll(gate, credentials.slice(0, 15)); // the oldest 15: evicted
    assert.equal(calls().lookups, before + 15);
  }

  const strict = setup({ failures: 0, limits: { cachedTokens: 10 } });
  const addresses = Array.from({ length: 25 }, (_, i) => `192.0.2.${i}`);
  const refusal = { status: 401, code: 'missing_token', message: 'send the header' };
  for (const address of addresses) await strict.gate.refuse(address, refusal);
  for (const address of addresses.slice(15)) await strict.gate.refuse(address, refusal);
  assert.equal(strict.calls().failureLimits, 25);
  for (const address of addresses.slice(0, 15)) await strict.gate.refuse(address, refusal);
  assert.equal(strict.calls().failureLimits, 40);
});
