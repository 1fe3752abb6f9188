// `npm run test:crash`: acknowledged writes survive hard crashes.
//
// Under a steady write load from several clients, the emulator's whole
// process group (wrangler and workerd) is killed with SIGKILL at a random
// moment, then restarted on the same state directory, again and again.
// After every restart each write a client saw acknowledged must be there,
// with its value and version, and the invariants must hold: per writer, a
// counter equals the number of log entries written with it in the same
// commits; across writers, transfers between accounts keep the total.
// Writes in flight at the kill may or may not have happened, but only
// wholly. docs/reliability.md explains what the store promises.
//
// KV_CRASH_ROUNDS (default 6) sets the number of kills, KV_TEST_SEED the
// random seed (printed, to replay a run).

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { connect } from '@own3d/kv';
import { buildWasm } from '../../scripts/build.js';
import { freePort, startEmulator } from '../../scripts/emulator.js';
import { createStore } from '../helpers.js';
import { isUnknownOutcome } from '../reliability/outcomes.js';
import { seededRandom, testSeed } from '../reliability/random.js';

const ROUNDS = Number(process.env.KV_CRASH_ROUNDS ?? 6);
const WRITERS = 8;
const ACCOUNTS = 10;
const INITIAL_BALANCE = 1_000;
const KILL_AFTER_MS = [500, 3_000]; // the kill comes at a random moment in this window of load

const keyId = (key) => JSON.stringify(key);

/**
 * What the clients know: for each key, the state of the latest acknowledged
 * commit that wrote it (by version), and the states of commits whose answer
 * was lost (they may or may not have applied).
 */
class Knowledge {
  acknowledged = new Map(); // keyId -> { key, value, version } (value null: deleted)
  inDoubt = new Map(); // keyId -> [value, ...]
  acknowledgedWrites = 0;

  acknowledge(key, value, version) {
    this.acknowledgedWrites++;
    const known = this.acknowledged.get(keyId(key));
    // Answers of different clients arrive in any order: keep the latest commit.
    if (!known || known.version === null || known.version < version) {
      this.acknowledged.set(keyId(key), { key, value, version });
    }
  }

  doubt(key, value) {
    const values = this.inDoubt.get(keyId(key)) ?? [];
    this.inDoubt.set(keyId(key), [...values, value]);
    if (!this.acknowledged.has(keyId(key))) this.acknowledged.set(keyId(key), { key, value: null, version: null });
  }

  /** Checks every key against what was acknowledged; then takes what it read as known. */
  async verify(kv) {
    const known = [...this.acknowledged.values()];
    for (let i = 0; i < known.length; i += 100) {
      const batch = known.slice(i, i + 100);
      const entries = await kv.getMany(batch.map((k) => k.key));
      entries.forEach((entry, j) => {
        const expected = batch[j];
        const doubts = this.inDoubt.get(keyId(expected.key)) ?? [];
        // A deleted entry reads as value and version null.
        const asAcknowledged = expected.value === null
          ? entry.value === null
          : entry.version === expected.version && isDeepStrictEqual(entry.value, expected.value);
        const asInDoubt = doubts.some((value) => isDeepStrictEqual(entry.value, value)) &&
          (entry.version === null || expected.version === null || entry.version > expected.version);
        assert.ok(asAcknowledged || asInDoubt,
          `${keyId(expected.key)}: acknowledged ${JSON.stringify(expected)}, in doubt ${JSON.stringify(doubts)}, ` +
          `read ${JSON.stringify(entry)}`);
        this.acknowledged.set(keyId(expected.key), { key: expected.key, value: entry.value, version: entry.version });
      });
    }
    this.inDoubt.clear();
    return known.length;
  }
}

function isDeepStrictEqual(a, b) {
  try {
    assert.deepStrictEqual(a, b);
    return true;
  } catch {
    return false;
  }
}

/** Per writer: the counter equals its log entries; across writers: the total of the accounts. */
async function checkInvariants(kv) {
  for (let writer = 0; writer < WRITERS; writer++) {
    const { value: count } = await kv.get(['counter', writer]);
    const logged = count ?? 0;
    for (let n = 1; n <= logged + 1; n += 100) {
      const keys = [];
      for (let i = n; i <= Math.min(n + 99, logged + 1); i++) keys.push(['log', writer, i]);
      const entries = await kv.getMany(keys);
      entries.forEach((entry, j) => {
        const i = n + j;
        if (i <= logged) assert.deepEqual(entry.value, { writer, n: i }, `log ${i} of writer ${writer}, counter ${logged}`);
        else assert.equal(entry.value, null, `log ${i} of writer ${writer} is past its counter ${logged}`);
      });
    }
  }
  const accounts = await kv.getMany(Array.from({ length: ACCOUNTS }, (_, i) => ['account', i]));
  const balances = accounts.map((entry) => entry.value);
  assert.ok(balances.every((balance) => balance >= 0), `no negative balance: ${balances}`);
  assert.equal(balances.reduce((sum, b) => sum + b, 0), ACCOUNTS * INITIAL_BALANCE, `the total: ${balances}`);
}

/**
 * One writer's load until its requests fail (the kill). Operations: log
 * appends (counter and log entry in one checked commit), plain sets,
 * deletes and transfers between accounts.
 */
async function write(kv, writer, random, knowledge, plainKeys) {
  const unknown = (error) => {
    if (isUnknownOutcome(error)) return true;
    throw error;
  };
  for (;;) {
    const choice = random.int(10);
    if (choice < 4) {
      let counter;
      try {
        counter = await kv.get(['counter', writer]);
      } catch (error) {
        if (unknown(error)) return;
      }
      const n = (counter.value ?? 0) + 1;
      const log = ['log', writer, n];
      try {
        const result = await kv.atomic().check({ key: counter.key, version: counter.version })
          .set(counter.key, n).set(log, { writer, n }).commit();
        assert.equal(result.ok, true, 'only this writer writes its counter');
        knowledge.acknowledge(counter.key, n, result.version);
        knowledge.acknowledge(log, { writer, n }, result.version);
      } catch (error) {
        if (unknown(error)) {
          knowledge.doubt(counter.key, n);
          knowledge.doubt(log, { writer, n });
          return;
        }
      }
    } else if (choice < 7) {
      const key = ['plain', writer, randomUUID()];
      const value = { writer, at: plainKeys.length };
      try {
        const { version } = await kv.set(key, value);
        knowledge.acknowledge(key, value, version);
        plainKeys.push(key);
      } catch (error) {
        if (unknown(error)) {
          knowledge.doubt(key, value);
          return;
        }
      }
    } else if (choice < 8) {
      if (plainKeys.length === 0) continue;
      const key = plainKeys.splice(random.int(plainKeys.length), 1)[0];
      try {
        const { version } = await kv.atomic().delete(key).commit(); // atomic, to learn the version
        knowledge.acknowledge(key, null, version);
      } catch (error) {
        if (unknown(error)) {
          knowledge.doubt(key, null);
          return;
        }
      }
    } else {
      const from = random.int(ACCOUNTS);
      const to = (from + 1 + random.int(ACCOUNTS - 1)) % ACCOUNTS;
      let source, target;
      try {
        [source, target] = await kv.getMany([['account', from], ['account', to]]);
      } catch (error) {
        if (unknown(error)) return;
      }
      const amount = Math.min(source.value, 1 + random.int(100));
      try {
        const result = await kv.atomic()
          .check({ key: source.key, version: source.version })
          .check({ key: target.key, version: target.version })
          .set(source.key, source.value - amount)
          .set(target.key, target.value + amount)
          .commit();
        if (result.ok) {
          knowledge.acknowledge(source.key, source.value - amount, result.version);
          knowledge.acknowledge(target.key, target.value + amount, result.version);
        }
      } catch (error) {
        if (unknown(error)) {
          knowledge.doubt(source.key, source.value - amount);
          knowledge.doubt(target.key, target.value + amount);
          return;
        }
      }
    }
  }
}

/** The processes of a group that still live (not zombies), as "pid command" lines. */
function livingProcesses(pgid) {
  let lines;
  try {
    lines = execFileSync('ps', ['-o', 'pid=,stat=,comm=', '-g', String(pgid)], { encoding: 'utf8' }).trim().split('\n');
  } catch {
    return []; // ps exits 1 when nothing matches
  }
  return lines.map((line) => line.trim().split(/\s+/)).filter(([, stat]) => !stat.startsWith('Z'))
    .map(([pid, , command]) => `${pid} ${command}`);
}

/** Waits until no process of the group lives; returns those that still do after 10 s. */
async function waitForGroupToDie(pgid) {
  for (let waited = 0; waited < 10_000; waited += 100) {
    if (livingProcesses(pgid).length === 0) return [];
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return livingProcesses(pgid);
}

test(`acknowledged writes survive ${ROUNDS} SIGKILLs of the emulator under load`, { timeout: 15 * 60_000 }, async () => {
  buildWasm();
  const seed = testSeed();
  console.log(`# seed ${seed} (KV_TEST_SEED=${seed} replays the choices; the kill moments depend on the load too)`);
  const random = seededRandom(seed);
  const dir = mkdtempSync(join(tmpdir(), 'kv-crash-'));
  const persistTo = join(dir, 'state');
  const adminToken = randomUUID();
  const envFile = join(dir, 'secrets.env');
  writeFileSync(envFile, `KV_ADMIN_TOKEN="${adminToken}"\n`);
  let logNumber = 0;
  const start = async () => {
    const log = openSync(join(dir, `wrangler-${logNumber++}.log`), 'w');
    try {
      return await startEmulator({ port: await freePort(), persistTo, envFile, stdio: log });
    } finally {
      closeSync(log); // the child keeps its own copy
    }
  };

  const knowledge = new Knowledge();
  let emulator;
  let passed = false;
  try {
    emulator = await start();
    const store = await createStore({ url: emulator.url, adminToken }, 'eu-central-1',
      { opsPerMonth: null, storageBytes: null }); // the load goes past the free tier
    const open = (url) => connect({ accessToken: store.accessToken, region: store.region, endpoint: url });
    const opening = open(emulator.url).atomic();
    for (let i = 0; i < ACCOUNTS; i++) opening.set(['account', i], INITIAL_BALANCE);
    const opened = await opening.commit();
    for (let i = 0; i < ACCOUNTS; i++) knowledge.acknowledge(['account', i], INITIAL_BALANCE, opened.version);
    const plainKeys = Array.from({ length: WRITERS }, () => []);

    for (let round = 1; round <= ROUNDS; round++) {
      const before = knowledge.acknowledgedWrites;
      const writers = Array.from({ length: WRITERS }, (_, w) =>
        write(open(emulator.url), w, seededRandom(seed + round * WRITERS + w), knowledge, plainKeys[w]));
      const killAfter = KILL_AFTER_MS[0] + random.int(KILL_AFTER_MS[1] - KILL_AFTER_MS[0]);
      await new Promise((resolve) => setTimeout(resolve, killAfter));
      const group = emulator.process.pid;
      const exited = once(emulator.process, 'exit');
      process.kill(-group, 'SIGKILL');
      await exited;
      await Promise.all(writers);
      assert.deepEqual(await waitForGroupToDie(group), [], 'SIGKILL ended every process of the group, workerd too');
      const acknowledged = knowledge.acknowledgedWrites - before;
      const inDoubt = knowledge.inDoubt.size;

      emulator = await start();
      const kv = open(emulator.url);
      const checked = await knowledge.verify(kv);
      await checkInvariants(kv);
      console.log(`# round ${round}: killed after ${killAfter} ms of load; ${acknowledged} writes acknowledged, ` +
        `${inDoubt} keys in doubt; after the restart all ${checked} known keys as acknowledged, invariants hold`);
      assert.ok(inDoubt > 0, 'writes were in flight when the kill came');
    }
    assert.ok(knowledge.acknowledgedWrites > ACCOUNTS, 'the load wrote');
    // Commits go on after the crashes, with larger versions.
    const kv = open(emulator.url);
    const latest = [...knowledge.acknowledged.values()].reduce((max, k) => (k.version > max ? k.version : max), '');
    const { version } = await kv.set(['after', 'crashes'], true);
    assert.ok(version > latest, `a new commit's version ${version} is above every earlier one (${latest})`);
    passed = true;
  } finally {
    await emulator?.stop();
    if (passed) rmSync(dir, { recursive: true, force: true });
    else console.log(`# state and wrangler logs kept in ${dir}`);
  }
});
