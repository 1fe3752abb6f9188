// `npm run bench`: builds what is stale, then measures, in this order,
//   1. the core: native (Google Benchmark) beside wasm in Node;
//   2. the footprint of kv_core.wasm: size and instantiation;
//   3. end to end: the Worker in workerd beside a plain-JS baseline, every
//      case at concurrency 1, 16 and 64, in each mode of bench/emulators.js:
//      `direct` (one workerd per Worker, no dev proxy: what the store costs)
//      and `dev` (wrangler dev, proxy in front: what `npm start` serves);
//      with the rows each operation read and wrote, from the responses; in
//      dev mode also HTTP/1.1 through the public port (the h2c bridge, a TCP
//      pipe for HTTP/1.1) beside wrangler's own port;
//      and the client's auto-batching (bench/batching.js): rounds of 100
//      concurrent kv.get() through js/, batching on and off, the requests
//      each round sent and its throughput, in each mode;
//      and queues (bench/queue.js): messages/s through enqueue → deliver →
//      ack with 1 and 4 listeners at concurrency 8 and 64, the enqueue
//      rates of commits of 100 and of single enqueues, and the delivery
//      latency of due and delayed messages, in each mode;
//   4. scale: get and set latency as one store grows to 1M keys (in the
//      first mode);
//   5. the wasm memory of the core over a million requests;
//   6. what an entry costs in a SQLite file beside what the quota counts
//      (bench/storage_overhead.cc; printed, and quoted in docs/reliability.md).
// 4 and 5 stop early at their deadlines (and the report says so), so that
// the run stays within its time budget on a busy machine.
// It prints every table, and writes docs/performance.svg,
// docs/performance-scale.svg, the tables into docs/performance.md (between
// its bench markers) and build/bench/.
// Everything is bounded to finish within 10 minutes on 2 cores.
//
// Flags:
//   --no-docs        results only in build/bench/, docs/ left alone;
//   --only=e2e       only part 3 (builds only the product), results only in
//                    build/bench/: a quick look at the end-to-end figures;
//   --only=bridge    only the bridge's part of 3 (dev mode), printed;
//   --only=batching  only the client's auto-batching part of 3, in each of
//                    --modes (only the store is started), printed, and
//                    written to build/bench/batching.{json,md};
//   --only=queue     only the queue part of 3, the same way, written to
//                    build/bench/queue.{json,md};
//   --queue-messages=N  messages per throughput row of the queue part
//                    (default 2,000);
//   --modes=a,b      the end-to-end modes to run, in order (default
//                    direct,dev);
//   --cases=a,b      only these end-to-end cases (ids of bench/cases.js,
//                    e.g. --only=e2e --cases=get_1k,kvc_get_1k); results
//                    only in build/bench/.

import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { buildNative, buildWasm, NATIVE_DIR, WASM_DIR, WASM_FILE } from '../scripts/build.js';
import { ROOT } from '../scripts/emulator.js';
import { ensureSetup } from '../scripts/setup.js';
import { runBatchingBench } from './batching.js';
import { runCoreBench } from './core_bench.js';
import { CASES } from './cases.js';
import { MODES, startBaseline, startOurs } from './emulators.js';
import { measureMemory, measureModule } from './footprint.js';
import { runHttpBench } from './http_bench.js';
import { loadCoreModule } from './node_core.js';
import { runQueueBench } from './queue.js';
import * as report from './report.js';
import { runScale } from './scale.js';

const started = Date.now();
// The measurements; a build from scratch comes on top (about 5 minutes on
// 2 cores, most of it the product's own build that `npm test` also does).
const BUDGET_MS = 8.5 * 60_000;
const NATIVE_BENCH = `${NATIVE_DIR}/core_benchmark`;
const WASM_BENCH = `${WASM_DIR}/kv_bench.wasm`;
const OUT_DIR = `${ROOT}build/bench`;
const DOC = `${ROOT}docs/performance.md`;
const CONCURRENCIES = [1, 16, 64];
// The bridge's part: the HTTP floor and a read, which is enough to see a
// per-request cost (about 16 s).
const BRIDGE_CASES = CASES.filter((c) => c.id === 'health' || c.id === 'get_1k');
const BRIDGE_CONCURRENCIES = [1, 16];
// Per (case, concurrency, target) and mode: two modes at 2 s take about
// what one took at 3 s.
const HTTP_BOUNDS = { maxRequests: 20_000, maxMs: 2_000 };
const MEMORY_RESERVE_MS = 120_000;
const SCALE_BOUNDS = { maxRequests: 300, maxMs: 3_000 };
// Per setting (on, off) and mode, after 3 uncounted rounds each: about 10 s
// per mode in all, more when a round of 100 unbatched gets takes over
// 330 ms (each block has at least 3 rounds).
const BATCHING_BOUNDS = { maxMs: 4_000, maxRounds: 600, minRoundsPerBlock: 3, blocks: 4, warmupRounds: 3 };
const flag = (name) => process.argv.find((arg) => arg.startsWith(`--${name}=`))?.slice(name.length + 3);
const only = flag('only');
const ONLY = ['e2e', 'bridge', 'batching', 'queue'];
if (only !== undefined && !ONLY.includes(only)) throw new Error(`--only=${only}: only ${ONLY.join(', ')} are known`);
const modes = (flag('modes') ?? 'direct,dev').split(',');
for (const mode of modes) if (!MODES[mode]) throw new Error(`--modes: no mode ${mode}; the modes: ${Object.keys(MODES).join(', ')}`);
const caseIds = flag('cases')?.split(',');
for (const id of caseIds ?? []) if (!CASES.some((c) => c.id === id)) throw new Error(`--cases: no case ${id}; the cases: ${CASES.map((c) => c.id).join(', ')}`);
const cases = caseIds ? CASES.filter((c) => caseIds.includes(c.id)) : CASES;
const queueMessages = flag('queue-messages');
if (queueMessages !== undefined && !(Number(queueMessages) >= 1)) throw new Error(`--queue-messages=${queueMessages}: a number of messages`);
const QUEUE_SETTINGS = queueMessages === undefined ? {} : { messages: Number(queueMessages) };
// A partial run would blank the other sections of docs/performance.md.
const writeDocs = !process.argv.includes('--no-docs') && only === undefined && caseIds === undefined;

const log = (text) => console.log(`[${((Date.now() - started) / 1000).toFixed(0).padStart(3)} s] ${text}`);

function build() {
  ensureSetup();
  buildWasm();
  if (only !== undefined) return; // the Worker's bundle needs only kv_core.wasm
  buildNative();
  const env = { ...process.env, NODE_PATH: '/usr/share/nodejs' }; // emcc needs Debian's acorn
  execFileSync('cmake', ['--build', WASM_DIR, '--target', 'kv_bench', '--parallel'], { stdio: 'inherit', env });
  execFileSync('cmake', ['--build', NATIVE_DIR, '--target', 'storage_overhead', '--parallel'], { stdio: 'inherit' });
  try {
    execFileSync('cmake', ['--build', NATIVE_DIR, '--target', 'core_benchmark', '--parallel'], { stdio: 'inherit' });
  } catch {
    console.warn('No core_benchmark (is Google Benchmark, libbenchmark-dev, installed?): native figures are skipped.');
  }
}

function machine() {
  const sh = (command) => execFileSync('sh', ['-c', command], { encoding: 'utf8' }).trim();
  return {
    cpus: Number(sh('nproc')),
    model: cpus()[0]?.model ?? sh("grep -m1 'model name' /proc/cpuinfo | cut -d: -f2"),
    memory: sh("free -h | awk '/^Mem:/ {print $2}'"),
    node: process.versions.node,
    wrangler: JSON.parse(readFileSync(`${ROOT}node_modules/wrangler/package.json`, 'utf8')).version,
    loadBefore: loadavg()[0].toFixed(2),
  };
}

async function runEndToEnd(results, deadline) {
  results.http = { bounds: HTTP_BOUNDS, modes: [] };
  for (const mode of modes) {
    log(`end to end, ${mode}: starting the store and the baseline in workerd`);
    const [ours, baseline] = await Promise.all([startOurs({ mode }), startBaseline({ mode })]);
    try {
      const rows = await runHttpBench({
        targets: [ours, baseline], cases, concurrencies: CONCURRENCIES, bounds: HTTP_BOUNDS,
        onRow: (row) => log(`${mode} ${row.caseName} c${row.concurrency}: ours ${row.results.ours.opsPerSec.toFixed(0)}/s,`
          + ` baseline ${row.results.baseline ? `${row.results.baseline.opsPerSec.toFixed(0)}/s` : 'not run'}`),
      });
      results.http.modes.push({ mode, title: MODES[mode].title, rows });
      if (mode === 'dev') results.bridge = await runBridgeBench(ours);
      if (only === undefined) results.batching.modes.push(await runBatching(mode, ours));
      if (only === undefined) results.queue.modes.push(await runQueue(mode, ours));
      if (only === undefined && mode === modes[0]) {
        log('scale: a fresh store, filled over HTTP');
        const scaleStore = await startOurs({ url: ours.url, adminToken: ours.adminToken });
        const scale = await runScale(scaleStore, { bounds: SCALE_BOUNDS, deadline });
        results.scale = { ...scale, mode: MODES[mode].title, native: results.core?.nativeScale };
        log(`scale: ${scale.filled.toLocaleString('en-US')} keys in ${scale.fillSeconds.toFixed(0)} s of filling`);
      }
    } finally {
      await Promise.all([ours.stop(), baseline.stop()]);
    }
  }
}

// HTTP/1.1 to the same store through the public port (scripts/h2c_bridge.js
// pipes it at the TCP level) and through wrangler's own port, in alternating
// rounds: what the bridge costs the clients that do not need it.
async function runBridgeBench(ours) {
  log('bridge: HTTP/1.1 through the h2c bridge\'s port and through wrangler\'s own');
  const targets = [{ name: 'bridge', url: ours.url, token: ours.token }, { name: 'wrangler', url: ours.upstreamUrl, token: ours.token }];
  const rows = await runHttpBench({
    targets, cases: BRIDGE_CASES, concurrencies: BRIDGE_CONCURRENCIES, bounds: HTTP_BOUNDS,
    onRow: (row) => log(`bridge ${row.caseName} c${row.concurrency}: through the bridge ${row.results.bridge.opsPerSec.toFixed(0)}/s,`
      + ` wrangler's port ${row.results.wrangler.opsPerSec.toFixed(0)}/s`),
  });
  return { bounds: HTTP_BOUNDS, rows };
}

// The client's auto-batching against the store `ours` (bench/batching.js).
async function runBatching(mode, ours) {
  log(`batching, ${mode}: ${BATCHING_BOUNDS.blocks} blocks of rounds per setting, batching on and off in turn`);
  const figures = await runBatchingBench(ours, { bounds: BATCHING_BOUNDS });
  const { batched, unbatched } = figures.settings;
  log(`batching, ${mode}: on ${+batched.requestsPerRound.toFixed(2)} requests/round, ${batched.getsPerSec.toFixed(0)} gets/s;`
    + ` off ${+unbatched.requestsPerRound.toFixed(2)} requests/round, ${unbatched.getsPerSec.toFixed(0)} gets/s`);
  return { mode, title: MODES[mode].title, ...figures };
}

// Queues on stores of the service `ours` (bench/queue.js).
async function runQueue(mode, ours) {
  log(`queues, ${mode}: throughput rows, then latency`);
  const figures = await runQueueBench(ours, {
    settings: QUEUE_SETTINGS,
    onRow: (row) => log(`queues, ${mode}: ${row.producer} enqueues, ${row.listeners} listener(s) at concurrency ${row.concurrency}:`
      + ` enqueued ${row.enqueueMsgsPerSec.toFixed(0)}/s, through ack ${row.msgsPerSec.toFixed(0)}/s, ${row.duplicates} duplicates`),
  });
  const { due, delayed } = figures.latency;
  log(`queues, ${mode}: a due message reached its handler in ${due.p50Ms.toFixed(1)} ms (p50), a delayed one`
    + ` ${delayed.p50Ms.toFixed(1)} ms past due (p50)`);
  return { mode, title: MODES[mode].title, ...figures };
}

// The parts that run alone in each of --modes on a store of their own,
// printed and written to build/bench/<part>.{json,md}.
const PARTS = {
  batching: { run: runBatching, section: report.batchingSection },
  queue: { run: runQueue, section: report.queueSection },
};

function writeOutputs(results) {
  mkdirSync(OUT_DIR, { recursive: true });
  const markdown = report.markdownReport(results);
  writeFileSync(`${OUT_DIR}/results.json`, `${JSON.stringify(results, null, 2)}\n`);
  writeFileSync(`${OUT_DIR}/results.md`, `${markdown}\n`);
  const svgDir = writeDocs ? `${ROOT}docs` : OUT_DIR;
  writeFileSync(`${svgDir}/performance.svg`, report.throughputSvg(results));
  if (results.scale?.points.length > 0) writeFileSync(`${svgDir}/performance-scale.svg`, report.scaleSvg(results));
  if (writeDocs) {
    const doc = readFileSync(DOC, 'utf8');
    const begin = '<!-- bench:begin -->';
    const end = '<!-- bench:end -->';
    if (!doc.includes(begin) || !doc.includes(end)) throw new Error(`${DOC} lacks the ${begin} ... ${end} markers`);
    writeFileSync(DOC, `${doc.slice(0, doc.indexOf(begin) + begin.length)}\n${markdown}\n${doc.slice(doc.indexOf(end))}`);
  }
  console.log(`\n${markdown}\n`);
  log(`written: ${OUT_DIR}/results.{json,md}${writeDocs ? ', docs/performance.md, docs/performance*.svg' : `, ${OUT_DIR}/*.svg`}`);
}

log(only !== undefined ? 'building the product' : 'building (native, wasm, bench targets)');
build();
if (only === 'bridge') {
  const ours = await startOurs({ mode: 'dev' });
  try {
    console.log(`\n${report.bridgeSection({ bridge: await runBridgeBench(ours) })}\n`);
  } finally {
    await ours.stop();
  }
  process.exit(0);
}
if (PARTS[only]) {
  const part = { command: `node bench/run.js ${process.argv.slice(2).join(' ')}`, startedAt: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    machine: machine(), modes: [] };
  for (const mode of modes) {
    log(`${only}, ${mode}: starting the store in workerd`);
    const ours = await startOurs({ mode });
    try {
      part.modes.push(await PARTS[only].run(mode, ours));
    } finally {
      await ours.stop();
    }
  }
  part.machine.loadAfter = loadavg()[0].toFixed(2);
  const markdown = `${report.partMachineLine(part)}\n\n${PARTS[only].section({ [only]: part })}`;
  mkdirSync(OUT_DIR, { recursive: true });
  writeFileSync(`${OUT_DIR}/${only}.json`, `${JSON.stringify(part, null, 2)}\n`);
  writeFileSync(`${OUT_DIR}/${only}.md`, `${markdown}\n`);
  console.log(`\n${markdown}\n`);
  log(`written: ${OUT_DIR}/${only}.{json,md}`);
  process.exit(0);
}
const measuringFrom = Date.now();
const results = { command: writeDocs ? 'npm run bench' : `node bench/run.js ${process.argv.slice(2).join(' ')}`,
  startedAt: new Date().toISOString().replace(/\.\d+Z$/, 'Z'), machine: machine() };
if (only === undefined) Object.assign(results, { batching: { modes: [] }, queue: { modes: [] } });
if (only === undefined) {
  log('core microbenchmarks: native, then wasm in Node');
  results.core = runCoreBench({
    nativeBinary: existsSync(NATIVE_BENCH) ? NATIVE_BENCH : null, wasmBench: WASM_BENCH,
    coreWasm: WASM_FILE, timing: { minBatchMs: 100, batches: 5 }, nativeMinTime: 0.3,
  });
  log('footprint: module size and instantiation');
  results.footprint = { module: measureModule(WASM_FILE) };
}
// The scale fill may take until MEMORY_RESERVE_MS before the end; the memory
// run then has what is left, and stops early (and says so) if it runs out.
await runEndToEnd(results, measuringFrom + BUDGET_MS - MEMORY_RESERVE_MS);
if (only === undefined) {
  log('footprint: wasm memory over a million requests');
  results.footprint.memory = measureMemory(loadCoreModule(WASM_FILE), { calls: 1_000_000, deadline: measuringFrom + BUDGET_MS });
  log('storage: file bytes per entry beside the quota\'s count');
  results.storageOverhead = execFileSync(`${NATIVE_DIR}/storage_overhead`, { encoding: 'utf8' });
  console.log(results.storageOverhead);
}
results.machine.loadAfter = loadavg()[0].toFixed(2);
results.durationSeconds = (Date.now() - measuringFrom) / 1000;
writeOutputs(results);
