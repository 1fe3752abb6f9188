// Scale: get and set latency in one store as it grows to 1k, 10k, 100k and
// 1M keys. The store is filled over HTTP with atomic commits of up to 1,000
// sets (the API's limit), two in flight; filling stops at a deadline, and
// sizes not reached are reported as such.

import { startLoadGenerator, summarize } from './http_bench.js';
import { FILL_VALUE } from './cases.js';

export const SCALE_SIZES = [1_000, 10_000, 100_000, 1_000_000];
const FILL_BATCH = 1000;
const FILL_IN_FLIGHT = 2;

/**
 * Fills `target` step by step to each size and measures at each one.
 * Returns { points: [{ keys, fillSeconds, get, set }], notReached: [sizes],
 * filled, fillSeconds }; when the deadline cuts the fill short, the last
 * point is at the number of keys filled by then.
 */
export async function runScale(target, { sizes = SCALE_SIZES, bounds, deadline }) {
  const points = [];
  let filled = 0;
  let fillMs = 0;
  const generator = startLoadGenerator();
  const measure = async (caseId, keys) => summarize([await generator.run({
    url: target.url, token: target.token, caseId, concurrency: 1, params: { keys }, ...bounds, warmupRequests: 20, run: 'scale',
  })]);
  try {
    for (const size of sizes) {
      const start = performance.now();
      filled = await fill(target, filled, size, deadline);
      fillMs += performance.now() - start;
      // Short of the size at the deadline: measure what was filled instead.
      const keys = Math.min(filled, size);
      if (keys > (points.at(-1)?.keys ?? 0)) {
        points.push({ keys, fillSeconds: fillMs / 1000, get: await measure('scale_get', keys), set: await measure('scale_set', keys) });
      }
      if (filled < size) break;
    }
  } finally {
    await generator.close();
  }
  const notReached = sizes.filter((size) => size > filled);
  return { points, notReached, filled, fillSeconds: fillMs / 1000 };
}

// Writes keys [from, to) in commits of FILL_BATCH; returns how far it got
// before `deadline` (a Date.now() value). A failed commit throws, so once
// every writer is done, all keys below `next` are stored.
async function fill(target, from, to, deadline) {
  let next = from;
  const writer = async () => {
    while (next < to && Date.now() < deadline) {
      const start = next;
      next = Math.min(start + FILL_BATCH, to);
      await commit(target, start, next);
    }
  };
  await Promise.all(Array.from({ length: FILL_IN_FLIGHT }, writer));
  return next;
}

async function commit(target, start, end) {
  const mutations = [];
  for (let i = start; i < end; i++) mutations.push(`{"type":"set","key":["bench","fill",${i}],"value":${FILL_VALUE}}`);
  const response = await fetch(`${target.url}/v1/atomic`, {
    method: 'POST',
    headers: { authorization: `Bearer ${target.token}`, 'content-type': 'application/json' },
    body: `{"mutations":[${mutations.join(',')}]}`,
  });
  const text = await response.text();
  if (response.status !== 200 || !text.startsWith('{"ok":true')) {
    throw new Error(`filling keys ${start}..${end} failed: ${response.status} ${text.slice(0, 200)}`);
  }
}
