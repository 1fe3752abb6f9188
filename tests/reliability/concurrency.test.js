// Concurrency invariants of one store, end to end against workerd: many
// clients at once, each with its own client object, as separate backends
// would be. Nothing here depends on timing: the assertions are about what
// was committed and what was read, whatever the interleaving. A commit whose
// answer is lost is resolved exactly (outcomes.js), never guessed.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { connect } from '@own3d/kv';
import { createStore, sharedEmulator } from '../helpers.js';
import { commitExactly, idempotent, isUnknownOutcome, unknownOutcomes } from './outcomes.js';
import { seededRandom, testSeed } from './random.js';

let emulator;

before(async () => {
  emulator = await sharedEmulator();
});
after(() => emulator?.close());

// These tests make tens of thousands of operations: past the free tier.
const UNLIMITED = { opsPerMonth: null, storageBytes: null };

/** A new store and `count` independent clients of it. */
async function clientsOfNewStore(count) {
  const store = await createStore(emulator, 'eu-central-1', UNLIMITED);
  return Array.from({ length: count }, () =>
    connect({ accessToken: store.accessToken, region: store.region, endpoint: emulator.url }));
}

test('64 clients incrementing one counter by check-and-set lose no update', async () => {
  const CLIENTS = 64;
  const INCREMENTS_EACH = 1;
  const clients = await clientsOfNewStore(CLIENTS);
  const key = ['counter'];
  await idempotent(() => clients[0].set(key, 0));
  const committed = []; // { from, version } of every successful commit
  let conflicts = 0;

  // Each commit also marks the value it incremented from with its attempt.
  const incrementer = async (kv, client) => {
    for (let done = 0, attempt = 0; done < INCREMENTS_EACH; attempt++) {
      const { value, version } = await idempotent(() => kv.get(key));
      const marker = { key: ['incremented-from', value], id: `${client}:${attempt}` };
      const commit = () => kv.atomic().check({ key, version }).set(key, value + 1).set(marker.key, marker.id).commit();
      const result = await commitExactly(kv, commit, { fence: { key, version }, marker });
      if (result.ok) {
        committed.push({ from: value, version: result.version });
        done++;
      } else {
        conflicts++;
      }
    }
  };
  await Promise.all(clients.map(incrementer));

  const final = await idempotent(() => clients[0].get(key));
  assert.equal(committed.length, CLIENTS * INCREMENTS_EACH);
  assert.equal(final.value, committed.length, 'the counter equals the number of successful commits');
  // Each value was incremented from exactly once, and the commits happened
  // in the order of the values they read.
  committed.sort((a, b) => a.from - b.from);
  assert.deepEqual(committed.map((c) => c.from), committed.map((_, i) => i));
  for (let i = 1; i < committed.length; i++) {
    assert.ok(committed[i].version > committed[i - 1].version, 'versions follow the order of the increments');
  }
  assert.equal(final.version, committed.at(-1).version);
  const markers = await idempotent(() => clients[0].getMany(committed.map((c) => ['incremented-from', c.from])));
  assert.deepEqual(markers.map((m) => m.version), committed.map((c) => c.version), 'each increment wrote its marker');
  console.log(`# ${committed.length} increments by ${CLIENTS} clients, ${conflicts} check conflicts retried; ` +
    `lost answers resolved: ${JSON.stringify(unknownOutcomes)}`);
});

test('bank: 32 clients, 2,000 random transfers; the total never changes and no balance goes negative', async () => {
  const ACCOUNTS = 100;
  const CLIENTS = 32;
  const TRANSFERS = 2_000;
  const INITIAL_BALANCE = 1_000;
  const TOTAL = ACCOUNTS * INITIAL_BALANCE;
  const seed = testSeed();
  console.log(`# bank seed ${seed} (KV_TEST_SEED=${seed} replays it)`);
  const clients = await clientsOfNewStore(CLIENTS);
  const accounts = Array.from({ length: ACCOUNTS }, (_, i) => ['account', i]);
  const opening = clients[0].atomic();
  for (const key of accounts) opening.set(key, INITIAL_BALANCE);
  assert.equal((await idempotent(() => opening.commit())).ok, true);

  // Every AUDIT_EVERY commits, the client that made the last one reads all
  // accounts in one snapshot while the others go on transferring: every
  // snapshot must balance, not only the last.
  const AUDIT_EVERY = 40;
  let audits = 0;
  const audit = async (kv) => {
    const entries = await idempotent(() => kv.getMany(accounts));
    const balances = entries.map((entry) => entry.value);
    assert.ok(balances.every((balance) => Number.isInteger(balance) && balance >= 0), `a negative balance: ${balances}`);
    assert.equal(balances.reduce((sum, balance) => sum + balance, 0), TOTAL, 'the total changed');
    audits++;
  };

  let committed = 0;
  let conflicts = 0;
  let refusedForFunds = 0;
  const client = async (kv, index) => {
    const random = seededRandom(seed + index);
    for (let attempt = 0; committed < TRANSFERS; attempt++) {
      const from = random.int(ACCOUNTS);
      const to = (from + 1 + random.int(ACCOUNTS - 1)) % ACCOUNTS;
      const amount = 1 + random.int(300);
      const [source, target] = await idempotent(() => kv.getMany([accounts[from], accounts[to]]));
      if (source.value < amount) {
        refusedForFunds++; // the application's own rule, checked on a consistent read
        continue;
      }
      const marker = { key: ['transfer', index, attempt], id: `${from}->${to}:${amount}` };
      const commit = () => kv.atomic()
        .check({ key: source.key, version: source.version })
        .check({ key: target.key, version: target.version })
        .set(source.key, source.value - amount)
        .set(target.key, target.value + amount)
        .set(marker.key, marker.id)
        .commit();
      const result = await commitExactly(kv, commit, { fence: { key: source.key, version: source.version }, marker });
      if (!result.ok) {
        conflicts++;
      } else if (++committed % AUDIT_EVERY === 0) {
        await audit(kv);
      }
    }
  };
  await Promise.all(clients.map(client));
  await audit(clients[0]);
  assert.ok(committed >= TRANSFERS);
  console.log(`# ${committed} transfers by ${CLIENTS} clients, ${conflicts} conflicts retried, ` +
    `${refusedForFunds} refused for funds, ${audits} consistent audits; ` +
    `lost answers resolved: ${JSON.stringify(unknownOutcomes)}`);
});

test('reads never see half of a commit', async () => {
  const WRITERS = 2;
  const COMMITS_EACH = 150;
  const READERS = 4;
  const clients = await clientsOfNewStore(WRITERS + READERS);
  const [a, b, c] = [['pair', 'a'], ['pair', 'b'], ['pair', 'c']];

  // Each commit writes the same value to a and b; c exists exactly when the
  // value is even. Two writers race, without checks. A commit whose answer
  // is lost may or may not have applied: either way every read must show
  // whole commits, so it is simply not counted.
  const writer = async (kv, id) => {
    for (let i = 0; i < COMMITS_EACH; i++) {
      const value = 2 * (id * COMMITS_EACH + i) + (i % 2);
      const atomic = kv.atomic().set(a, value).set(b, value);
      if (value % 2 === 0) atomic.set(c, value);
      else atomic.delete(c);
      try {
        assert.equal((await atomic.commit()).ok, true);
      } catch (error) {
        if (!isUnknownOutcome(error)) throw error;
        unknownOutcomes.commits++;
      }
    }
  };
  let reads = 0;
  let writing = true;
  const reader = async (kv) => {
    let lastVersion = '';
    while (writing) {
      const [ea, eb, ec] = await idempotent(() => kv.getMany([a, b, c]));
      reads++;
      if (ea.version === null) {
        assert.deepEqual([eb.version, ec.version], [null, null], 'a commit was seen in part');
        continue;
      }
      assert.equal(eb.version, ea.version, 'a and b come from different commits');
      assert.equal(eb.value, ea.value);
      if (ea.value % 2 === 0) {
        assert.equal(ec.version, ea.version, 'c is missing from the commit that wrote it');
        assert.equal(ec.value, ea.value);
      } else {
        assert.equal(ec.value, null, 'c survived the commit that deleted it');
      }
      // One reader's successive reads never go back in time.
      assert.ok(ea.version >= lastVersion, `read ${ea.version} after ${lastVersion}`);
      lastVersion = ea.version;
    }
  };
  const writers = clients.slice(0, WRITERS);
  const readers = clients.slice(WRITERS).map(reader);
  try {
    await Promise.all(writers.map(writer));
  } finally {
    writing = false;
    await Promise.all(readers);
  }
  console.log(`# ${WRITERS * COMMITS_EACH} commits, ${reads} consistent reads; ` +
    `lost answers: ${JSON.stringify(unknownOutcomes)}`);
});
