// The end-to-end benchmark: every case of bench/cases.js at each
// concurrency, against the store and the baseline. Each (case,
// concurrency) is measured in rounds that alternate between the two
// targets, so that a change in the machine's load hits both alike. Each
// target has its own load-generator process (bench/load_generator.js).

import { fork } from 'node:child_process';
import { once } from 'node:events';
import { CASES, seedValues } from './cases.js';
import { addRows, rowTally } from './load_generator.js';
import { quantile } from './stats.js';

const LOAD_GENERATOR = new URL('./load_generator.js', import.meta.url);
const ROUNDS = 3;

/** A forked load generator: run(spec) resolves to its result; close() ends it. */
export function startLoadGenerator() {
  const child = fork(LOAD_GENERATOR, [], { execArgv: [], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const exited = once(child, 'exit');
  let queue = Promise.resolve();
  const run = (spec) => {
    const result = queue.then(async () => {
      child.send(spec);
      const [message] = await once(child, 'message');
      if (message.error) throw new Error(`load generator failed: ${message.error}`);
      return message.result;
    });
    queue = result.catch(() => {});
    return result;
  };
  const close = async () => {
    if (child.connected) child.disconnect();
    await exited;
  };
  return { run, close };
}

/** Throughput and latency figures from the results of one or more rounds. */
export function summarize(rounds) {
  const latencies = Float64Array.from(rounds.flatMap((r) => r.latencies)).sort();
  const elapsedMs = rounds.reduce((sum, r) => sum + r.elapsedMs, 0);
  return {
    requests: latencies.length,
    errors: rounds.reduce((sum, r) => sum + r.errors, 0),
    firstError: rounds.find((r) => r.firstError)?.firstError ?? null,
    elapsedMs,
    opsPerSec: (latencies.length / elapsedMs) * 1000,
    p50Ms: quantile(latencies, 0.5),
    p99Ms: quantile(latencies, 0.99),
    meanMs: latencies.reduce((sum, x) => sum + x, 0) / Math.max(1, latencies.length),
    rows: rounds.reduce((tally, r) => (addRows(tally, r.rows), tally), rowTally()),
  };
}

/**
 * targets: [{ name, url, token }]; bounds: { maxRequests, maxMs } per
 * (case, concurrency, target), split over the rounds, and warmupPerUser
 * (default 2) uncounted requests per connection before each round (at
 * most 0.5 s of them); cases: a subset of CASES (default all). Returns
 * rows { caseId, caseName, concurrency, results: { [target name]: figures } };
 * onRow(row) is called as each finishes.
 */
export async function runHttpBench({ targets, concurrencies, bounds, rounds = ROUNDS, cases = CASES, onRow = () => {} }) {
  for (const target of targets) await seedValues(target);
  const generators = targets.map(() => startLoadGenerator());
  const rows = [];
  try {
    for (const testCase of cases) {
      for (const concurrency of concurrencies) {
        const results = targets.map(() => []);
        for (let round = 0; round < rounds; round++) {
          // Alternate who goes first, so neither always follows the other.
          const order = round % 2 === 0 ? targets.keys() : [...targets.keys()].reverse();
          for (const t of order) {
            results[t].push(await generators[t].run({
              url: targets[t].url,
              token: targets[t].token,
              caseId: testCase.id,
              concurrency,
              maxRequests: Math.ceil(bounds.maxRequests / rounds),
              maxMs: bounds.maxMs / rounds,
              warmupRequests: concurrency * (bounds.warmupPerUser ?? 2),
              run: `${targets[t].name}-${testCase.id}-${concurrency}-${round}`,
            }));
          }
        }
        const row = { caseId: testCase.id, caseName: testCase.name, concurrency, results: {} };
        targets.forEach((target, t) => (row.results[target.name] = summarize(results[t])));
        rows.push(row);
        onRow(row);
      }
    }
  } finally {
    await Promise.all(generators.map((g) => g.close()));
  }
  return rows;
}
