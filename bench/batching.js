// The client's auto-batching (js/batch.js), measured end to end: rounds of
// 100 concurrent `kv.get(key)` calls (one Promise.all of 100 distinct keys)
// through the ESM client in js/, with batching on (the default: the gets of
// a tick are one POST /v1/get of up to 100 keys) and off
// (`connect({ batchGets: false })`: one request per get), in blocks that
// alternate between the two, so that a change in the machine's load hits
// both alike. Every HTTP request the client sends goes through a counting
// `fetch` passed to connect() (retries included), so the requests per round
// are the ones actually sent, not the ones expected.
//
// The keys ["bench","batch",i] hold 1 KiB values (the size of the `get 1
// KiB` case) that differ per key, so that every get is checked against its
// own key's value: a get that resolves to another key's entry, or to
// nothing, fails the part.
//
// The client runs in this process (Node's fetch, undici, keep-alive), as a
// backend would run it; the store is in workerd, in one of the modes of
// bench/emulators.js.

import { loadavg } from 'node:os';
import { connect } from '../js/index.js';
import { seedEntries, VALUE_1K } from './cases.js';
import { quantile } from './stats.js';

export const BATCH_KEYS = 100; // per round: the client's batch size
const KEY_SETS = 10; // rounds cycle over 10 disjoint sets of 100 keys
const SEEDED = BATCH_KEYS * KEY_SETS;
export const REGION = 'eu-central-1'; // bench/emulators.js creates the store there
export const SETTINGS = [
  { id: 'batched', name: 'batching on (default)', batchGets: true },
  { id: 'unbatched', name: 'batching off (batchGets: false)', batchGets: false },
];
export const DEFAULT_BOUNDS = { maxMs: 4_000, maxRounds: 600, minRoundsPerBlock: 3, blocks: 4, warmupRounds: 3 };

const keyOf = (i) => ['bench', 'batch', i];

/**
 * The value of key i: the 1 KiB value of bench/cases.js (exactly 1,024
 * bytes of JSON) with the first bytes of its padding naming i.
 */
export function batchValueText(i) {
  const tag = `b${i}:`;
  const text = VALUE_1K.replace(`"note":"${'x'.repeat(tag.length)}`, `"note":"${tag}`);
  if (text.length !== VALUE_1K.length || !text.includes(`"note":"${tag}`)) throw new Error(`no room for ${tag} in the value`);
  return text;
}

/** Writes the SEEDED entries the rounds read (100 per commit). */
export async function seedBatchKeys(target) {
  await seedEntries(target, SEEDED, (i) => JSON.stringify(keyOf(i)), batchValueText);
}

/**
 * target: { name, url, token } of a store (ours). bounds (per setting):
 * maxMs and maxRounds over the whole run, split evenly over `blocks`
 * blocks per setting (the blocks alternate between the settings, the order
 * swapped every other pair), each block at least `minRoundsPerBlock`
 * rounds (so that the slow setting has rounds enough for a p95), after
 * `warmupRounds` uncounted rounds per setting. `fetch`: what the counting
 * fetch calls (a test passes one that garbles answers). Returns
 * { keysPerRound, valueBytes, bounds, load: { before, after }, settings:
 * { [id]: figures } } (figures: see summarizeRounds). Throws on any failed
 * get or wrong answer.
 */
export async function runBatchingBench(target, { bounds = DEFAULT_BOUNDS, fetch = globalThis.fetch, onBlock = () => {} } = {}) {
  await seedBatchKeys(target);
  const expected = Array.from({ length: SEEDED }, (_, i) => batchValueText(i));
  const clients = SETTINGS.map((setting) => {
    const counter = requestCounter();
    const countingFetch = countRequests(fetch, counter);
    const kv = connect({ accessToken: target.token, region: REGION, endpoint: target.url, fetch: countingFetch, batchGets: setting.batchGets });
    return { setting, kv, counter, rounds: [] };
  });
  const loadBefore = loadavg()[0];
  let next = 0; // the key set of the next round
  const round = async (client) => {
    const base = (next++ % KEY_SETS) * BATCH_KEYS;
    const keys = Array.from({ length: BATCH_KEYS }, (_, k) => keyOf(base + k));
    const requestsBefore = client.counter.requests;
    const outcomesBefore = { ...client.counter.outcomes };
    const start = performance.now();
    const entries = await Promise.all(keys.map((key) => client.kv.get(key))).catch((error) => {
      throw new Error(`batching bench, ${client.setting.name}: a get failed: ${error.message}`, { cause: error });
    });
    const ms = performance.now() - start;
    entries.forEach((entry, k) => checkEntry(entry, keys[k], expected[base + k], client.setting));
    const outcomes = {};
    for (const [outcome, n] of Object.entries(client.counter.outcomes)) {
      if (n > (outcomesBefore[outcome] ?? 0)) outcomes[outcome] = n - (outcomesBefore[outcome] ?? 0);
    }
    return { ms, requests: client.counter.requests - requestsBefore, outcomes };
  };
  try {
    for (const client of clients) for (let r = 0; r < bounds.warmupRounds; r++) await round(client);
    const blockMs = bounds.maxMs / bounds.blocks;
    const blockRounds = Math.max(1, Math.ceil(bounds.maxRounds / bounds.blocks));
    for (let block = 0; block < bounds.blocks; block++) {
      // Alternate who goes first, so neither always follows the other.
      const order = block % 2 === 0 ? clients : [...clients].reverse();
      for (const client of order) {
        const started = performance.now();
        let done = 0;
        const minRounds = Math.min(blockRounds, bounds.minRoundsPerBlock ?? 1);
        while (done < blockRounds && (done < minRounds || performance.now() - started < blockMs)) {
          client.rounds.push(await round(client));
          done++;
        }
        onBlock({ block, setting: client.setting, rounds: done });
      }
    }
  } finally {
    for (const client of clients) client.kv.close();
  }
  return {
    keysPerRound: BATCH_KEYS,
    valueBytes: VALUE_1K.length,
    bounds,
    load: { before: loadBefore, after: loadavg()[0] },
    settings: Object.fromEntries(clients.map((c) => [c.setting.id,
      { name: c.setting.name, ...summarizeRounds(c.rounds), firstProblem: c.counter.firstProblem }])),
  };
}

/**
 * What countRequests() counts: every request sent (`requests`) and how
 * each ended (`outcomes`: its status, or the error fetch threw, a network
 * error the client may retry); `firstProblem`: the first answer other than
 * a 200, as a sample of what was retried.
 */
export const requestCounter = () => ({ requests: 0, outcomes: {}, firstProblem: null });

/** A fetch that calls `fetch` and counts every request in `counter` (requestCounter()). */
export function countRequests(fetch, counter) {
  return async (input, init) => {
    counter.requests++;
    let outcome;
    try {
      const response = await fetch(input, init);
      outcome = String(response.status);
      if (response.status !== 200 && counter.firstProblem === null) {
        counter.firstProblem = `${response.status} ${response.headers.get('content-type')}: ${(await response.clone().text()).slice(0, 300)}`;
      }
      return response;
    } catch (error) {
      outcome = error?.cause?.code ?? error?.name ?? 'error';
      counter.firstProblem ??= `${outcome}: ${error?.cause?.message ?? error?.message}`;
      throw error;
    } finally {
      counter.outcomes[outcome] = (counter.outcomes[outcome] ?? 0) + 1;
    }
  };
}

/** Figures of one setting's timed rounds. */
export function summarizeRounds(rounds) {
  const latencies = Float64Array.from(rounds, (r) => r.ms).sort();
  const elapsedMs = rounds.reduce((sum, r) => sum + r.ms, 0);
  const requests = rounds.reduce((sum, r) => sum + r.requests, 0);
  const perRound = rounds.map((r) => r.requests);
  const outcomes = {};
  for (const r of rounds) for (const [outcome, n] of Object.entries(r.outcomes ?? {})) outcomes[outcome] = (outcomes[outcome] ?? 0) + n;
  return {
    rounds: rounds.length,
    gets: rounds.length * BATCH_KEYS,
    requests,
    requestsPerRound: requests / rounds.length,
    minRequestsPerRound: Math.min(...perRound),
    maxRequestsPerRound: Math.max(...perRound),
    outcomes, // { [status or network error code]: requests }
    elapsedMs,
    roundsPerSec: (rounds.length / elapsedMs) * 1000,
    getsPerSec: ((rounds.length * BATCH_KEYS) / elapsedMs) * 1000,
    p50Ms: quantile(latencies, 0.5),
    p95Ms: quantile(latencies, 0.95),
    meanMs: elapsedMs / rounds.length,
  };
}

// An entry must be the asked key's own: its key, its value (the exact JSON
// text seeded for it) and a version.
function checkEntry(entry, key, valueText, setting) {
  const problem = entry === null || typeof entry !== 'object' ? `got ${JSON.stringify(entry)}`
    : JSON.stringify(entry.key) !== JSON.stringify(key) ? `got the entry of ${JSON.stringify(entry.key)}`
      : JSON.stringify(entry.value) !== valueText ? `got the value ${JSON.stringify(entry.value)?.slice(0, 120)}`
        : typeof entry.version !== 'string' || entry.version === '' ? `got no version: ${JSON.stringify(entry.version)}`
          : null;
  if (problem !== null) throw new Error(`batching bench, ${setting.name}: kv.get(${JSON.stringify(key)}) ${problem}`);
}
