// `npm run test:crash`: acknowledged writes survive hard crashes.
//
// Four scenarios, each on a state directory of its own. In each, the
// emulator's whole process group (wrangler and workerd) is killed with
// SIGKILL, then restarted on the same state directory, and what the clients
// were told must still hold. docs/reliability.md explains what the store
// promises.
//
// - writes: under a steady write load from several clients, a kill at a
//   random moment, again and again. After every restart each write a client
//   saw acknowledged must be there, with its value and version, and the
//   invariants must hold: per writer, a counter equals the number of log
//   entries written with it in the same commits; across writers, transfers
//   between accounts keep the total. Writes in flight at the kill may or may
//   not have happened, but only wholly.
// - rotation: token rotations racing each other and data writes on several
//   stores, killed at a random moment. After the restart every store is
//   there with its limits and its acknowledged data; of all the tokens ever
//   issued for a store at most one works, and a new rotation answers 200
//   with a token that works while every older one is refused (this mends a
//   store whose rotation the kill cut short between the store and the
//   directory).
// - purge: a backlog of expired entries, killed while the alarm purges it.
//   After the restart the purge goes on by itself; no live entry is lost and
//   the store's storage figure ends exactly at its live entries' bytes.
// - usage: reads write nothing; their operations are held in the store
//   object's memory and written by the next write or by an alarm within
//   kUsageFoldIntervalMs. Reads folded by a write, reads folded by the
//   alarm, then reads killed before their fold: after the restart the count
//   holds every folded operation, and lost at most the last interval's reads,
//   never counting one twice.
// - queue: 1,000 messages enqueued (some delayed), a kill before any is
//   delivered, then listeners acknowledging them and a kill while handlers
//   run. After each restart the listeners reconnect; in the end every
//   message was delivered at least once (duplicates counted and printed),
//   the queue is empty and no message went to its dead letter.
//
// `node tests/crash/durability.js [writes] [rotation] [purge] [usage] [queue]`
// runs only the scenarios named (default: all five, in that order). KV_CRASH_ROUNDS
// (default 6) sets the number of kills of the writes scenario,
// KV_TEST_SEED the random seed (printed, to replay a run).

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { connect, KvError } from '@own3d/kv';
import { buildWasm } from '../../scripts/build.js';
import { freePort, startEmulator } from '../../scripts/emulator.js';
import { createStore, openQueueListener } from '../helpers.js';
import { idempotent, isUnknownOutcome } from '../reliability/outcomes.js';
import { seededRandom, testSeed } from '../reliability/random.js';

const ROUNDS = Number(process.env.KV_CRASH_ROUNDS ?? 6);
const WRITERS = 8;
const ACCOUNTS = 10;
const INITIAL_BALANCE = 1_000;
const KILL_AFTER_MS = [500, 3_000]; // the kill comes at a random moment in this window of load

const SCENARIOS = ['writes', 'rotation', 'purge', 'usage', 'queue'];
const CHOSEN = process.argv.slice(2);
for (const name of CHOSEN) {
  if (!SCENARIOS.includes(name)) throw new Error(`unknown scenario "${name}"; the scenarios are ${SCENARIOS.join(', ')}`);
}
const skipUnlessChosen = (name) => (CHOSEN.length === 0 || CHOSEN.includes(name) ? false : 'not chosen');

// Rotation: stores, concurrent rotations of each, kills. Store i has
// 1 + i % 3 rotators: with one, the state the kill leaves is told apart
// exactly; with more, rotations race each other too.
const ROTATION_STORES = 6;
const ROTATORS = (i) => 1 + (i % 3);
const ROTATION_WRITERS_PER_STORE = 2;
const ROTATION_ROUNDS = 3;
const ROTATION_KILL_AFTER_MS = [800, 2_500];
const ROTATION_PAUSE_MS = 150; // a rotator waits up to this long between its rotations
// Purge: an expired backlog of 40 purge transactions (500 entries each,
// kPurgeBatchEntries), two alarms' worth, so that the kill lands during it.
const PURGE_ROUNDS = 2;
const PURGE_EXPIRING = 20_000;
const PURGE_BATCH = 1_000; // mutations of one commit: the most a commit takes
const PURGE_LIVE_PER_BATCH = 20; // live entries written alongside each expiring batch
const PURGE_EXPIRE_AFTER_MS = 6_000; // from the start of the writes, which take about 3 s
const PURGE_RESUME_LIMIT_MS = 60_000; // after the restart, the purge must be done within this

const keyId = (key) => JSON.stringify(key);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

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

/**
 * Runs `body(harness)` on a fresh state directory with its own admin token.
 * `harness.start()` starts wrangler dev on the directory (again after a
 * kill; each start logs to a file of its own) and sets `harness.emulator`;
 * `harness.kill()` sends SIGKILL to the emulator's process group and checks
 * that none of its processes lives on. Afterwards the emulator is stopped;
 * the directory is removed if the body passed, else kept and printed.
 */
async function withCrashHarness(body) {
  const dir = mkdtempSync(join(tmpdir(), 'kv-crash-'));
  const persistTo = join(dir, 'state');
  const adminToken = randomUUID();
  const envFile = join(dir, 'secrets.env');
  writeFileSync(envFile, `KV_ADMIN_TOKEN="${adminToken}"\n`);
  let logNumber = 0;
  const harness = {
    adminToken,
    emulator: null,
    async start() {
      const log = openSync(join(dir, `wrangler-${logNumber++}.log`), 'w');
      try {
        harness.emulator = await startEmulator({ port: await freePort(), persistTo, envFile, stdio: log });
        return harness.emulator;
      } finally {
        closeSync(log); // the child keeps its own copy
      }
    },
    async kill() {
      const { process: child } = harness.emulator;
      const group = child.pid;
      const exited = once(child, 'exit');
      process.kill(-group, 'SIGKILL');
      await exited;
      assert.deepEqual(await waitForGroupToDie(group), [], 'SIGKILL ended every process of the group, workerd too');
    },
  };
  let passed = false;
  try {
    await body(harness);
    passed = true;
  } finally {
    await harness.emulator?.stop();
    if (passed) rmSync(dir, { recursive: true, force: true });
    else console.log(`# state and wrangler logs kept in ${dir}`);
  }
}

test(`acknowledged writes survive ${ROUNDS} SIGKILLs of the emulator under load`,
  { timeout: 15 * 60_000, skip: skipUnlessChosen('writes') }, async () => {
  buildWasm();
  const seed = testSeed();
  console.log(`# seed ${seed} (KV_TEST_SEED=${seed} replays the choices; the kill moments depend on the load too)`);
  const random = seededRandom(seed);
  const knowledge = new Knowledge();
  await withCrashHarness(async (harness) => {
    let emulator = await harness.start();
    const store = await createStore({ url: emulator.url, adminToken: harness.adminToken }, 'eu-central-1',
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
      await sleep(killAfter);
      await harness.kill();
      await Promise.all(writers);
      const acknowledged = knowledge.acknowledgedWrites - before;
      const inDoubt = knowledge.inDoubt.size;

      emulator = await harness.start();
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
  });
});

// ---- Rotation ----

let addresses = 0;

/**
 * fetch, each request from a client address of its own (`cf-connecting-ip`,
 * which the emulator passes on). The Worker limits failed authentications
 * and directory look-ups per address (docs/operations.md); a rotated token's
 * refusals are such failures, and this scenario makes hundreds on purpose.
 * The limits are not what it tests, so they must not turn its checks into
 * 429s.
 */
function fetchFromNewAddress(url, init = {}) {
  const n = ++addresses;
  const address = `10.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
  return fetch(url, { ...init, headers: { ...init.headers, 'cf-connecting-ip': address } });
}

/** An admin call: `{ status, body }`, or null when its answer was lost (no answer, or the dev proxy's 503). */
async function adminCall(url, adminToken, path, method = 'GET') {
  let response;
  let text;
  try {
    response = await fetchFromNewAddress(`${url}${path}`, { method, headers: { authorization: `Bearer ${adminToken}` } });
    text = await response.text();
  } catch {
    return null;
  }
  if (response.status === 503) return null; // the store never answers 503: see docs/reliability.md
  return { status: response.status, body: JSON.parse(text) };
}

/** A store of the rotation scenario and what its clients know of it. */
class RotatedStore {
  tokens; // every token ever issued for the store, in the order the answers arrived
  refused = new Set(); // tokens the store refused (a token never works again once refused)
  knowledge = new Knowledge();

  constructor({ id, region, accessToken, limits }) {
    this.id = id;
    this.region = region;
    this.limits = limits;
    this.tokens = [accessToken];
  }

  /** The latest token not refused yet, or null. */
  current() {
    for (let i = this.tokens.length - 1; i >= 0; i--) {
      if (!this.refused.has(this.tokens[i])) return this.tokens[i];
    }
    return null;
  }

  client(url, token) {
    return connect({ accessToken: token, region: this.region, endpoint: url, fetch: fetchFromNewAddress });
  }
}

/** Rotates `store`'s token until the kill; each token answered joins the store's tokens. */
async function rotateUntilKilled(url, adminToken, store, random, load) {
  while (!load.killed) {
    const answer = await adminCall(url, adminToken, `/v1/admin/stores/${store.id}/token`, 'POST');
    if (answer === null) {
      load.rotationsLost++;
      return;
    }
    assert.equal(answer.status, 200, `rotating the token of store ${store.id}: ${JSON.stringify(answer.body)}`);
    store.tokens.push(answer.body.accessToken);
    load.rotations++;
    await sleep(random.int(ROTATION_PAUSE_MS));
  }
}

/**
 * Writes new keys to `store` until the kill, each with the latest token not
 * refused yet. A 401 means a rotation replaced the token (a refused write
 * changes nothing): the write is sent again with a later token, once one is
 * known.
 */
async function writeThroughRotations(url, store, [round, writer], load) {
  for (let n = 1; ; n++) {
    const key = ['rotation-load', round, writer, n];
    const value = { round, writer, n };
    for (;;) {
      if (load.killed) return;
      const token = store.current();
      if (token === null) {
        await sleep(2); // every token known is refused: a rotation's answer is on its way
        continue;
      }
      try {
        const { version } = await store.client(url, token).set(key, value);
        store.knowledge.acknowledge(key, value, version);
        break;
      } catch (error) {
        if (error instanceof KvError && error.status === 401) {
          store.refused.add(token);
          load.refusedWrites++;
          continue;
        }
        if (isUnknownOutcome(error)) {
          store.knowledge.doubt(key, value);
          return;
        }
        throw error;
      }
    }
  }
}

/**
 * What becomes of `token` now: 'works' (200); 'store' when the directory
 * still names it but the store refuses it (401 with the store's own message:
 * the store was rotated after the directory last recorded a rotation);
 * 'directory' when the directory no longer knows it (the Worker's 401).
 * Anything else fails the test.
 */
async function tokenState(url, store, token) {
  try {
    await idempotent(() => store.client(url, token).usage());
    return 'works';
  } catch (error) {
    if (!(error instanceof KvError && error.status === 401)) throw error;
    return /for this store/.test(error.message) ? 'store' : 'directory';
  }
}

/** `work(item)` for every item, `width` at a time; resolves to the results in order. */
async function inParallel(items, width, work) {
  const results = new Array(items.length);
  let next = 0;
  await Promise.all(Array.from({ length: width }, async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await work(items[i]);
    }
  }));
  return results;
}

test(`token rotations survive ${ROTATION_ROUNDS} SIGKILLs: per store at most one token works, a new rotation mends the rest, no data or limits lost`,
  { timeout: 5 * 60_000, skip: skipUnlessChosen('rotation') }, async () => {
  buildWasm();
  const seed = testSeed();
  console.log(`# rotation: seed ${seed}`);
  const random = seededRandom(seed);
  await withCrashHarness(async (harness) => {
    const { adminToken } = harness;
    let { url } = await harness.start();
    const stores = [];
    for (let i = 0; i < ROTATION_STORES; i++) {
      // Limits of its own per store, none the free tier's, so that a reset would show.
      const limits = { opsPerMonth: 1_000_000 + 1_000 * i, storageBytes: 50_000_000 + i };
      const created = await createStore({ url, adminToken }, 'eu-central-1', limits);
      assert.deepEqual(created.limits, limits);
      const store = new RotatedStore({ ...created, limits });
      const opening = store.client(url, store.current()).atomic();
      for (let k = 0; k < 20; k++) opening.set(['initial', k], { store: i, k });
      const { version } = await opening.commit();
      for (let k = 0; k < 20; k++) store.knowledge.acknowledge(['initial', k], { store: i, k }, version);
      stores.push(store);
    }

    let allWrites = 0;
    for (let round = 1; round <= ROTATION_ROUNDS; round++) {
      const load = { killed: false, rotations: 0, rotationsLost: 0, refusedWrites: 0 };
      const writesBefore = stores.reduce((sum, store) => sum + store.knowledge.acknowledgedWrites, 0);
      const running = Promise.all(stores.flatMap((store, i) => [
        ...Array.from({ length: ROTATION_WRITERS_PER_STORE }, (_, w) => writeThroughRotations(url, store, [round, w], load)),
        ...Array.from({ length: ROTATORS(i) }, (_, r) =>
          rotateUntilKilled(url, adminToken, store, seededRandom(seed + round * 100 + i * 10 + r), load)),
      ]));
      running.catch(() => {}); // awaited below, after the kill
      const killAfter = ROTATION_KILL_AFTER_MS[0] + random.int(ROTATION_KILL_AFTER_MS[1] - ROTATION_KILL_AFTER_MS[0]);
      await sleep(killAfter);
      load.killed = true; // no new request from here on; those in flight meet the kill
      await harness.kill();
      await running;
      const writes = stores.reduce((sum, store) => sum + store.knowledge.acknowledgedWrites, 0) - writesBefore;
      const writesInDoubt = stores.reduce((sum, store) => sum + store.knowledge.inDoubt.size, 0);

      ({ url } = await harness.start());
      let oneWorked = 0;
      // No token works: the directory still names one of ours, which the store
      // refuses (the kill came between the store's rotation and the directory's
      // record), or one we never saw (a rotation finished, but the kill lost its
      // answer; a later one may have been cut short after it).
      let cutShort = 0;
      let answerLost = 0;
      let tokensChecked = 0;
      let keysChecked = 0;
      for (const store of stores) {
        const described = await adminCall(url, adminToken, `/v1/admin/stores/${store.id}`);
        assert.equal(described?.status, 200, `store ${store.id} is there after the restart: ${JSON.stringify(described)}`);
        assert.deepEqual(described.body.limits, store.limits, `store ${store.id} keeps the limits it was created with`);

        const states = await inParallel(store.tokens, 8, (token) => tokenState(url, store, token));
        tokensChecked += states.length;
        const working = states.filter((state) => state === 'works').length;
        const named = states.filter((state) => state !== 'directory').length;
        assert.ok(working <= 1, `store ${store.id}: ${working} of its ${store.tokens.length} tokens work`);
        // The directory keeps one token entry per store: a rotation drops the
        // ones it made stale. (The Worker's token cache starts empty after the
        // restart, so a 401 with the store's message means the directory named it.)
        assert.ok(named <= 1, `store ${store.id}: the directory still names ${named} of its ${store.tokens.length} tokens`);
        if (working === 1) oneWorked++;
        else if (named === 1) cutShort++;
        else answerLost++;

        // One more rotation: 200, its token works, and every older one is refused.
        let rotated = null;
        for (let attempt = 1; rotated === null && attempt <= 5; attempt++) {
          rotated = await adminCall(url, adminToken, `/v1/admin/stores/${store.id}/token`, 'POST');
        }
        assert.equal(rotated?.status, 200, `rotating store ${store.id} after the restart: ${JSON.stringify(rotated)}`);
        const older = [...store.tokens];
        store.tokens.push(rotated.body.accessToken);
        assert.equal(await tokenState(url, store, rotated.body.accessToken), 'works',
          `store ${store.id}: the token of the rotation after the restart works`);
        const olderStates = await inParallel(older, 8, (token) => tokenState(url, store, token));
        assert.ok(olderStates.every((state) => state !== 'works'),
          `store ${store.id}: after the new rotation ${olderStates.filter((state) => state === 'works').length} older tokens still work`);
        for (const token of older) store.refused.add(token);

        keysChecked += await store.knowledge.verify(store.client(url, rotated.body.accessToken));
      }
      console.log(`# rotation round ${round}: killed after ${killAfter} ms; ${load.rotations} rotations answered, ` +
        `${load.rotationsLost} in flight at the kill; ${writes} writes acknowledged (${load.refusedWrites} refused for a rotated ` +
        `token and sent again), ${writesInDoubt} in doubt; after the restart all ${ROTATION_STORES} stores there with their limits, ` +
        `${tokensChecked} tokens checked: ${oneWorked} stores with one working, ${cutShort} with none as the kill came between ` +
        `the store's rotation and the directory's record, ${answerLost} with none as the directory names a token whose answer ` +
        `the kill lost; ` +
        `a new rotation worked for each and every older token was refused; all ${keysChecked} known keys as acknowledged`);
      assert.ok(load.rotations > 0, 'the load rotated');
      allWrites += writes;
    }
    assert.ok(allWrites > 0, 'the load wrote');
  });
});

// ---- Purge ----

test(`the purge of an expired backlog survives ${PURGE_ROUNDS} SIGKILLs: no live entry lost, storage ends exact`,
  { timeout: 5 * 60_000, skip: skipUnlessChosen('purge') }, async () => {
  buildWasm();
  await withCrashHarness(async (harness) => {
    let { url } = await harness.start();
    const store = await createStore({ url, adminToken: harness.adminToken }, 'eu-central-1',
      { opsPerMonth: null, storageBytes: null }); // the backlog goes past the free tier
    const open = () => connect({ accessToken: store.accessToken, region: store.region, endpoint: url });
    const storageBytes = async (kv) => (await idempotent(() => kv.usage())).usage.storageBytes;
    const live = new Knowledge(); // entries without an expiry, or with one an hour away
    let liveBytes = await storageBytes(open());
    const pad = 'x'.repeat(100);

    for (let round = 1; round <= PURGE_ROUNDS; round++) {
      // The backlog, with live entries alongside: each commit's share of the
      // storage figure is what the figure gained across it (nothing expires yet).
      let kv = open();
      const expireAt = Date.now() + PURGE_EXPIRE_AFTER_MS;
      let before = await storageBytes(kv);
      assert.equal(before, liveBytes, 'the storage figure is the live entries\' bytes');
      let expiringBytes = 0;
      for (let first = 0; first < PURGE_EXPIRING; first += PURGE_BATCH) {
        const expireIn = expireAt - Date.now();
        assert.ok(expireIn > 500, `the backlog is written before it expires (${expireIn} ms left)`);
        const batch = kv.atomic();
        for (let i = first; i < first + PURGE_BATCH; i++) batch.set(['expiring', round, i], { round, i, pad }, { expireIn });
        await batch.commit();
        let after = await storageBytes(kv);
        expiringBytes += after - before;
        before = after;

        const alongside = kv.atomic();
        const written = [];
        for (let j = 0; j < PURGE_LIVE_PER_BATCH; j++) {
          const key = ['live', round, first, j];
          const value = { round, first, j, pad };
          // Half never expire, half an hour from now: both outlive the purge.
          alongside.set(key, value, j % 2 ? { expireIn: 3_600_000 } : undefined);
          written.push([key, value]);
        }
        const { version } = await alongside.commit();
        for (const [key, value] of written) live.acknowledge(key, value, version);
        after = await storageBytes(kv);
        liveBytes += after - before;
        before = after;
      }
      const peak = before;
      const writtenIn = PURGE_EXPIRE_AFTER_MS - (expireAt - Date.now());

      // Kill while the alarm purges: in the first round as soon as the figure
      // drops, in later ones once half the backlog is gone.
      const killAt = round === 1 ? peak - 1 : peak - Math.floor(expiringBytes / 2);
      let seen;
      for (;;) {
        seen = await storageBytes(kv);
        assert.ok(seen >= liveBytes, `the storage figure ${seen} never goes below the live entries' ${liveBytes} bytes`);
        if (seen <= killAt || seen === liveBytes) break;
        assert.ok(Date.now() < expireAt + 30_000, 'the purge starts within 30 s of the expiry');
      }
      const killedAfter = Date.now() - expireAt;
      await harness.kill();
      const midPurge = seen > liveBytes;

      ({ url } = await harness.start());
      kv = open();
      const restarted = Date.now();
      // The first read after the restart. It would wake the store's object,
      // but none is needed: workerd re-runs a pending alarm when it starts
      // (docs/reliability.md).
      const firstRead = await storageBytes(kv);
      let now = firstRead;
      for (;;) {
        assert.ok(now >= liveBytes, `the storage figure ${now} never goes below the live entries' ${liveBytes} bytes (nothing freed twice)`);
        if (now === liveBytes) break;
        assert.ok(Date.now() - restarted < PURGE_RESUME_LIMIT_MS,
          `the purge finished within ${PURGE_RESUME_LIMIT_MS / 1000} s of the restart: ${now} bytes, expected ${liveBytes}`);
        await sleep(100);
        now = await storageBytes(kv);
      }
      const doneAfter = Date.now() - restarted;
      await sleep(1_000);
      assert.equal(await storageBytes(kv), liveBytes, 'and it stays there');
      assert.equal(await kv.count({ prefix: ['expiring'] }), 0, 'every expired entry is gone');
      assert.equal(await kv.count({ prefix: ['live'] }), live.acknowledged.size, 'every live entry is there, and no other');
      const checked = await live.verify(kv);
      const sample = await kv.getMany(Array.from({ length: 100 }, (_, i) => ['expiring', round, i * (PURGE_EXPIRING / 100)]));
      assert.ok(sample.every((entry) => entry.value === null), 'expired entries read as absent');
      console.log(`# purge round ${round}: ${PURGE_EXPIRING} entries (${expiringBytes} bytes) expiring beside ` +
        `${checked} live ones (${liveBytes} bytes), written in ${writtenIn} ms; killed ${killedAfter} ms after the expiry with ` +
        `${peak - seen} of the backlog's ${expiringBytes} bytes purged${midPurge ? ' (mid-purge)' : ' (the purge had finished)'}; ` +
        `after the restart ${firstRead} bytes at the first read, exactly ${liveBytes} after ${doneAfter} ms, and still after 1 s; ` +
        `all ${checked} live entries as acknowledged, no expired one left`);
    }
  });
});

// ---- Usage ----

const USAGE_READS = 40; // reads in each of the three phases
const USAGE_FOLD_WAIT_MS = 10_000 + 5_000; // kUsageFoldIntervalMs, and time for the alarm to run

test('a SIGKILL loses at most the reads of one fold interval from the usage count, and counts none twice',
  { timeout: 3 * 60_000, skip: skipUnlessChosen('usage') }, async () => {
  buildWasm();
  await withCrashHarness(async (harness) => {
    let { url } = await harness.start();
    const store = await createStore({ url, adminToken: harness.adminToken }, 'eu-central-1',
      { opsPerMonth: 1_000_000, storageBytes: null });
    const open = () => connect({ accessToken: store.accessToken, region: store.region, endpoint: url });
    const used = async (kv) => (await kv.usage()).usage.operations; // the live count; costs nothing
    const read = async (kv) => {
      for (let i = 0; i < USAGE_READS; i++) await kv.get(['counted', i]);
    };
    let kv = open();
    await kv.set(['counted', 0], 'a write counts in its own transaction');
    await read(kv);
    await kv.set(['counted', 1], 'and folds the reads before it');
    await read(kv);
    await sleep(USAGE_FOLD_WAIT_MS); // the alarm folds these
    await read(kv); // held in memory when the kill comes
    const folded = 2 + 2 * USAGE_READS;
    assert.equal(await used(kv), folded + USAGE_READS, 'the live count holds every operation before the kill');
    await harness.kill();

    ({ url } = await harness.start());
    kv = open();
    const after = await used(kv);
    console.log(`# usage: ${folded + USAGE_READS} operations before the kill, ${after} after it ` +
      `(${folded + USAGE_READS - after} lost; the last ${USAGE_READS} reads were not folded yet)`);
    assert.ok(after >= folded, `every folded operation survived: ${after} >= ${folded}`);
    assert.ok(after <= folded + USAGE_READS, `nothing counted twice: ${after} <= ${folded + USAGE_READS}`);
    assert.equal(after, folded, 'the kill came within the fold interval of the last reads: exactly they were lost');
    // Counting goes on from the written count.
    await kv.get(['counted', 0]);
    assert.equal(await used(kv), after + 1);
  });
});

// ---- Queue ----

const QUEUE_MESSAGES = 1_000;
const QUEUE_DELAYED = 200; // of them, due 3 to 5 s after their enqueue: across the first kill
const QUEUE_LISTENERS = 2;
const QUEUE_WINDOW = { concurrency: 8, visibilityTimeout: 2_000 };
const QUEUE_HANDLER_MS = 5; // a handler's work before it acknowledges
const QUEUE_KILL_AFTER_ACKS = 300; // the second kill, while handlers run
const QUEUE_DRAIN_LIMIT_MS = 90_000;

test(`${QUEUE_MESSAGES} queued messages are each delivered at least once through two SIGKILLs`,
  { timeout: 4 * 60_000, skip: skipUnlessChosen('queue') }, async () => {
  buildWasm();
  await withCrashHarness(async (harness) => {
    let { url } = await harness.start();
    const store = await createStore({ url, adminToken: harness.adminToken }, 'eu-central-1',
      { opsPerMonth: null, storageBytes: null });
    const request = async (path, body, method = 'POST') => {
      const response = await fetch(`${url}${path}`, {
        method,
        headers: { authorization: `Bearer ${store.accessToken}`, 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      if (response.status !== 200) throw new Error(`${path} answered ${response.status}: ${await response.text()}`);
      return response.json();
    };
    // Enough retries for every kill to cost a delivery or two.
    const backoffSchedule = [100, 200, 400, 800, 1_600];
    for (let first = 0; first < QUEUE_MESSAGES; first += 100) {
      const enqueues = [];
      for (let n = first; n < first + 100; n++) {
        const delay = n < QUEUE_DELAYED ? 3_000 + (n % 20) * 100 : 0;
        enqueues.push({ value: { n }, delay, backoffSchedule, keysIfUndelivered: [['dead', n]] });
      }
      assert.equal((await request('/v1/atomic', { enqueues })).ok, true);
    }
    assert.equal((await request('/v1/queue', undefined, 'GET')).depth, QUEUE_MESSAGES);
    // Between enqueue and delivery: no listener has seen a message yet.
    await harness.kill();
    ({ url } = await harness.start());
    assert.equal((await request('/v1/queue', undefined, 'GET')).depth, QUEUE_MESSAGES, 'every message survived the kill');

    const deliveries = new Map(); // n -> times delivered
    let acked = 0;
    // Listeners that handle and acknowledge until their stream ends (the kill).
    const runListeners = () => Promise.all(Array.from({ length: QUEUE_LISTENERS }, async () => {
      let listener;
      try {
        listener = await openQueueListener(url, store.accessToken, QUEUE_WINDOW);
      } catch {
        return; // the emulator went down first
      }
      const handlers = [];
      for (;;) {
        const { event, data } = await listener.next().catch(() => ({ event: 'closed' }));
        if (event !== 'message') break;
        deliveries.set(data.value.n, (deliveries.get(data.value.n) ?? 0) + 1);
        handlers.push((async () => {
          await sleep(QUEUE_HANDLER_MS);
          const { outcomes } = await request('/v1/queue/settle', { messages: [{ id: data.id, delivery: data.delivery, ok: true }] });
          if (outcomes[0] === 'acked') acked++;
        })().catch(() => {})); // a settle the kill cut: the message comes back
      }
      listener.close();
      await Promise.all(handlers);
    }));

    const firstRun = runListeners();
    while (acked < QUEUE_KILL_AFTER_ACKS) await sleep(10);
    const ackedAtKill = acked;
    await harness.kill();
    await firstRun;
    ({ url } = await harness.start());
    const restarted = Date.now();
    const secondRun = runListeners();
    let queue;
    for (;;) {
      queue = await request('/v1/queue', undefined, 'GET');
      if (queue.depth === 0 && deliveries.size === QUEUE_MESSAGES) break;
      assert.ok(Date.now() - restarted < QUEUE_DRAIN_LIMIT_MS,
        `the queue drained within ${QUEUE_DRAIN_LIMIT_MS / 1000} s: ${queue.depth} held, ${deliveries.size} seen`);
      await sleep(200);
    }
    const drainedAfter = Date.now() - restarted;
    await harness.kill(); // ends the listeners
    await secondRun;
    ({ url } = await harness.start());
    const missing = Array.from({ length: QUEUE_MESSAGES }, (_, n) => n).filter((n) => !deliveries.has(n));
    assert.deepEqual(missing, [], 'every message was delivered at least once');
    const duplicates = [...deliveries.values()].reduce((sum, times) => sum + times - 1, 0);
    const { entries } = await request('/v1/list', { prefix: ['dead'], limit: 10 });
    assert.deepEqual(entries, [], 'no message ran out of retries');
    queue = await request('/v1/queue', undefined, 'GET');
    assert.equal(queue.depth, 0);
    assert.equal(queue.deadLettered, 0);
    console.log(`# queue: ${QUEUE_MESSAGES} messages (${QUEUE_DELAYED} delayed) enqueued, killed before any delivery; ` +
      `${ackedAtKill} acknowledged when the second kill came mid-handlers; all ${QUEUE_MESSAGES} delivered at least once ` +
      `(${duplicates} duplicate deliveries, ${queue.retried} retries counted), the queue empty ${drainedAfter} ms after the restart`);
  });
});
