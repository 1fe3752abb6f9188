// A quick run of every part of the benchmark (bench/, `npm run bench`), so
// that `npm test` keeps it working: a few hundred requests against the store
// and the baseline Worker in both modes of bench/emulators.js (the suite's
// wrangler dev emulator for ours, and one workerd per Worker without a dev
// proxy), a small scale fill, the client's auto-batching part, the queue
// part, the core on SQLite in Node and the report. It asserts that every
// request succeeded and carried its row counts, that a batched round of gets
// is one request and that every message enqueued was delivered and
// acknowledged, never a timing.

import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { NATIVE_DIR, WASM_DIR, WASM_FILE } from '../scripts/build.js';
import { runBatchingBench } from '../bench/batching.js';
import { CASES, NOT_YET_MEASURED } from '../bench/cases.js';
import { loadWasmBench, runCoreBench, runNativeCoreBench, runWasmCoreBench } from '../bench/core_bench.js';
import { MODES, startBaseline, startOurs } from '../bench/emulators.js';
import { measureMemory, measureModule } from '../bench/footprint.js';
import { runHttpBench } from '../bench/http_bench.js';
import { loadCoreModule } from '../bench/node_core.js';
import { runQueueBench } from '../bench/queue.js';
import { markdownReport, scaleSvg, throughputSvg } from '../bench/report.js';
import { runScale } from '../bench/scale.js';
import { sharedEmulator } from './helpers.js';

const QUICK = { minBatchMs: 1, batches: 1, warmupMs: 0 };

let emulator;
let targets; // per mode: [ours, baseline]
const results = { command: 'smoke test', startedAt: 'now', durationSeconds: 0,
  machine: { cpus: 2, model: 'test', memory: '-', node: process.versions.node, wrangler: '-', loadBefore: 0, loadAfter: 0 } };

before(async () => {
  emulator = await sharedEmulator();
  const started = await Promise.all([
    startOurs({ mode: 'direct' }), startBaseline({ mode: 'direct' }),
    startOurs({ mode: 'dev', url: emulator.url, adminToken: emulator.adminToken }), startBaseline({ mode: 'dev' }),
  ]);
  targets = { direct: started.slice(0, 2), dev: started.slice(2) };
});
after(async () => {
  await Promise.all(Object.values(targets ?? {}).flat().map((target) => target.stop()));
  await emulator?.close();
});

test('every end-to-end case succeeds on the store and on the baseline, in each mode', async () => {
  const bounds = { maxRequests: 12, maxMs: 10_000, warmupPerUser: 1 };
  results.http = { bounds, modes: [] };
  for (const mode of Object.keys(MODES)) {
    const rows = await runHttpBench({ targets: targets[mode], concurrencies: [1, 4], rounds: 1, bounds });
    assert.equal(rows.length, CASES.length * 2);
    for (const row of rows) {
      for (const [target, figures] of Object.entries(row.results)) {
        assert.equal(figures.errors, 0, `${mode}: ${row.caseName} c${row.concurrency} on ${target}: ${figures.firstError}`);
        assert.equal(figures.requests, 12);
      }
    }
    results.http.modes.push({ mode, title: MODES[mode].title, rows });
  }
});

test('responses that went through a Durable Object say the rows they read and wrote', () => {
  // The direct mode's Workers: this file sets their vars (the suite's
  // emulator may run without KV_ROW_COUNTS).
  const { rows } = results.http.modes.find((m) => m.mode === 'direct');
  for (const row of rows) {
    const testCase = CASES.find((c) => c.id === row.caseId);
    for (const [target, figures] of Object.entries(row.results)) {
      const where = `${row.caseName} c${row.concurrency} on ${target}`;
      assert.equal(figures.rows.responses, testCase.rowsNote === undefined ? 0 : figures.requests, where);
      if (testCase.rowsNote !== undefined) assert.ok(figures.rows.minRead > 0, where);
    }
  }
});

test('the batching part: a round of 100 gets is one request with batching and 100 without, in each mode', async () => {
  const bounds = { maxMs: 0, maxRounds: 2, minRoundsPerBlock: 1, blocks: 2, warmupRounds: 1 };
  results.batching = { modes: [] };
  for (const mode of Object.keys(MODES)) {
    const figures = await runBatchingBench(targets[mode][0], { bounds });
    const { batched, unbatched } = figures.settings;
    assert.equal(batched.rounds, 2, mode);
    assert.equal(unbatched.rounds, 2, mode);
    // The fewest a round sent: a retry on a busy machine adds requests, never removes one.
    assert.equal(batched.minRequestsPerRound, 1, `${mode}: ${JSON.stringify(batched.outcomes)}`);
    assert.equal(unbatched.minRequestsPerRound, 100, `${mode}: ${JSON.stringify(unbatched.outcomes)}`);
    assert.ok(batched.outcomes['200'] >= 2 && unbatched.outcomes['200'] >= 200, mode);
    results.batching.modes.push({ mode, title: MODES[mode].title, ...figures });
  }
});

test('the batching part fails when a get resolves to another key\'s entry', async () => {
  // A fetch that answers a get of several keys with its entries in reverse.
  const garbling = async (input, init) => {
    const response = await fetch(input, init);
    if (!String(input).endsWith('/v1/get')) return response;
    const body = await response.json();
    body.entries?.reverse();
    return new Response(JSON.stringify(body), { status: response.status, headers: response.headers });
  };
  const bounds = { maxMs: 0, maxRounds: 1, minRoundsPerBlock: 1, blocks: 1, warmupRounds: 1 };
  await assert.rejects(runBatchingBench(targets.direct[0], { bounds, fetch: garbling }),
    /batching bench, batching on \(default\): kv\.get\(\["bench","batch",\d+\]\) got the entry of \["bench","batch",\d+\]/);
});

// A tiny queue part: 40 messages a row, on all the rows' shapes.
const QUICK_QUEUE = { messages: 40, batchSize: 10, singleInFlight: 4, listeners: [1, 4], concurrencies: [8, 64],
  single: { listeners: 4, concurrency: 64 }, latencyRounds: 3, delayedRounds: 2, delayMs: 200, delaySpacingMs: 50, stallMs: 5_000 };

test('the queue part: every message enqueued is delivered and acknowledged, in each mode', async () => {
  results.queue = { modes: [] };
  for (const mode of Object.keys(MODES)) {
    const figures = await runQueueBench(targets[mode][0], { settings: QUICK_QUEUE });
    assert.deepEqual(figures.throughput.map((row) => `${row.producer} ${row.listeners}x${row.concurrency}`),
      ['batch 1x8', 'batch 1x64', 'batch 4x8', 'batch 4x64', 'single 4x64'], mode);
    for (const row of figures.throughput) {
      const where = `${mode}: ${row.producer} ${row.listeners}x${row.concurrency}`;
      // A duplicate (a redelivery) is acked too: never fewer acks than messages.
      assert.ok(row.settles.outcomes.acked >= 40 && Object.keys(row.settles.outcomes).length === 1, `${where}: ${JSON.stringify(row.settles)}`);
      assert.ok(row.msgsPerSec > 0 && row.enqueueMsgsPerSec >= row.msgsPerSec, where);
      assert.ok(row.deliveryP50Ms > 0 && row.deliveryMaxMs >= row.deliveryP95Ms, where);
    }
    const { due, delayed } = figures.latency;
    assert.equal(due.rounds, 3, mode);
    assert.equal(delayed.rounds, 2, mode);
    assert.ok(due.p50Ms > 0 && delayed.maxMs >= delayed.p50Ms, mode);
    results.queue.modes.push({ mode, title: MODES[mode].title, ...figures });
  }
});

test('the queue part fails when a message is lost or a handler is given another value', async () => {
  // A fetch that rewrites the enqueues of every commit before sending it.
  const rewriting = (rewrite) => async (input, init) => {
    if (!String(input).endsWith('/v1/atomic')) return fetch(input, init);
    const body = JSON.parse(init.body);
    rewrite(body.enqueues);
    return fetch(input, { ...init, body: JSON.stringify(body) });
  };
  const settings = { ...QUICK_QUEUE, messages: 20, listeners: [1], concurrencies: [8], single: null, stallMs: 1_000 };
  await assert.rejects(runQueueBench(targets.direct[0], { settings, fetch: rewriting((enqueues) => enqueues.pop()) }),
    /queue bench, batch enqueues, 1 listener\(s\) at concurrency 8: 2 of 20 messages not delivered \(the first: 9\); 18 acked after 1 s without progress/);
  await assert.rejects(runQueueBench(targets.direct[0], { settings, fetch: rewriting((enqueues) => (enqueues[0].value.run = 'another run')) }),
    /queue bench, batch enqueues, 1 listener\(s\) at concurrency 8: a handler was given a value not enqueued: \{"run":"another run","i":\d+\}/);
});

test('the scale run fills a store in commits and measures get and set', async () => {
  const [ours] = targets.direct;
  const store = await startOurs({ url: ours.url, adminToken: ours.adminToken });
  const scale = await runScale(store, { sizes: [1000, 2500], bounds: { maxRequests: 10, maxMs: 10_000 }, deadline: Date.now() + 60_000 });
  assert.deepEqual(scale.points.map((p) => p.keys), [1000, 2500]);
  for (const point of scale.points) assert.equal(point.get.errors + point.set.errors, 0);
  results.scale = scale;
});

test('the product core runs in Node on real SQLite, and its memory is read', () => {
  results.footprint = { module: measureModule(WASM_FILE, { instances: 2 }), memory: measureMemory(loadCoreModule(WASM_FILE), { calls: 200 }) };
  assert.equal(results.footprint.memory.failures, 0);
  assert.equal(results.footprint.memory.calls, 200);
  assert.ok(results.footprint.memory.memory.every((m) => m.bytes > 0));
});

test('the core microbenchmarks run, native and wasm', (t) => {
  const nativeBinary = `${NATIVE_DIR}/core_benchmark`;
  const wasmBench = `${WASM_DIR}/kv_bench.wasm`;
  if (![nativeBinary, wasmBench].every(existsSync)) {
    t.skip('not built: `npm run bench` builds core_benchmark and kv_bench.wasm');
    return;
  }
  // The native binary's own names, storage-free ones only: the scale fill
  // would take seconds.
  const native = runNativeCoreBench(nativeBinary, { filter: '^core/', minTime: 0.001 });
  assert.deepEqual([...runWasmCoreBench(loadWasmBench(wasmBench), QUICK).keys()], [...native.keys()]);
  results.core = runCoreBench({ nativeBinary: null, wasmBench, coreWasm: WASM_FILE, timing: QUICK, splitCalls: 20 });
  assert.ok(results.core.requests.every((r) => r.split.wasmNs > 0));
});

test('the report renders every section and names what is not measured yet', () => {
  const markdown = markdownReport(results);
  for (const pending of NOT_YET_MEASURED) assert.match(markdown, new RegExp(`\\| ${pending.name} \\|.*not measured`));
  for (const mode of Object.keys(MODES)) assert.match(markdown, new RegExp(`\\| ${mode} \\| 1 \\|`), `the floor of ${mode}`);
  assert.match(markdown, /\| get 1 KiB \| \d[^|]* \| \d[^|]* \| \d[^|]* \| \d[^|]* \|/, 'the rows of a get');
  for (const mode of Object.keys(MODES)) {
    assert.match(markdown, new RegExp(`\\| ${mode} \\| commits of 10 \\| 4 × 64 \\| 40 \\| [\\d,]+ \\| \\*\\*[\\d,]+\\*\\* \\|`), `queue throughput, ${mode}`);
    assert.match(markdown, new RegExp(`\\| ${mode} \\| \\*\\*[\\d.]+\\*\\* / [\\d.]+ / [\\d.]+ \\| [\\d.]+ \\| 3 \\|`), `queue latency, ${mode}`);
    assert.match(markdown, new RegExp(`\\| ${mode} \\| batching on \\(default\\) \\| 1[^|]* \\| [\\d,]+ × 200[^|]* \\|`), `batching on, ${mode}`);
    assert.match(markdown, new RegExp(`\\| ${mode} \\| batching off \\(batchGets: false\\) \\| 100[^|]* \\|`), `batching off, ${mode}`);
  }
  assert.match(throughputSvg(results), /^<svg[\s\S]*<\/svg>\n$/);
  assert.match(scaleSvg(results), /^<svg[\s\S]*<\/svg>\n$/);
});
