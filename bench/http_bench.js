// The end-to-end benchmark: every case of bench/cases.js at each
// concurrency, against the store and the baseline. Each (case,
// concurrency) is measured in rounds that alternate between the two
// targets, so that a change in the machine's load hits both alike. Each
// target has its own load-generator process (bench/load_generator.js).

import { fork } from 'node:child_process';
import { once } from 'node:events';
import { CASES, runsOn, seedValues } from './cases.js';
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
 * most 0.5 s of them); cases: a subset of CASES (default all). A case runs
 * on the targets its `skipOn` does not name; a case and the cases
 * `pairedWith` it are measured together, their rounds alternating over
 * every (case, target) of the group. Returns rows { caseId, caseName,
 * concurrency, results: { [target name]: figures } } (only the targets the
 * case ran on), in the order of `cases`, then of `concurrencies`; onRow(row)
 * is called as each finishes.
 */
export async function runHttpBench({ targets, concurrencies, bounds, rounds = ROUNDS, cases = CASES, onRow = () => {} }) {
  for (const target of targets) await seedValues(target);
  const generators = targets.map(() => startLoadGenerator());
  const rows = [];
  try {
    for (const group of pairGroups(cases)) {
      for (const concurrency of concurrencies) {
        const units = group.flatMap((testCase) => targets.flatMap((target, t) => (runsOn(testCase, target.name) ? [{ testCase, t }] : [])));
        const results = units.map(() => []);
        for (let round = 0; round < rounds; round++) {
          // Alternate who goes first, so neither always follows the other.
          const order = round % 2 === 0 ? units.keys() : [...units.keys()].reverse();
          for (const u of order) {
            const { testCase, t } = units[u];
            results[u].push(await generators[t].run({
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
        for (const testCase of group) {
          const row = { caseId: testCase.id, caseName: testCase.name, concurrency, results: {} };
          units.forEach(({ testCase: c, t }, u) => {
            if (c === testCase) row.results[targets[t].name] = summarize(results[u]);
          });
          rows.push(row);
          onRow(row);
        }
      }
    }
  } finally {
    await Promise.all(generators.map((g) => g.close()));
  }
  const place = (row) => cases.findIndex((c) => c.id === row.caseId) * concurrencies.length + concurrencies.indexOf(row.concurrency);
  return rows.sort((a, b) => place(a) - place(b));
}

// `cases` as groups measured together: each case with the cases that name
// it in `pairedWith` (when it is among `cases`), in the order of the first.
function pairGroups(cases) {
  const partnerOf = (c) => cases.find((other) => other.id === c.pairedWith);
  return cases.filter((c) => !partnerOf(c)).map((c) => [c, ...cases.filter((other) => partnerOf(other) === c)]);
}
