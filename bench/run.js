// `npm run bench`: builds what is stale, then measures, in this order,
//   1. the core: native (Google Benchmark) beside wasm in Node;
//   2. the footprint of kv_core.wasm: size and instantiation;
//   3. end to end: the Worker in workerd beside a plain-JS baseline, every
//      case at concurrency 1, 16 and 64;
//   4. scale: get and set latency as one store grows to 1M keys;
//   5. the wasm memory of the core over a million requests;
//   6. what an entry costs in a SQLite file beside what the quota counts
//      (bench/storage_overhead.cc; printed, and quoted in docs/reliability.md).
// 4 and 5 stop early at their deadlines (and the report says so), so that
// the run stays within its time budget on a busy machine.
// It prints every table, and writes docs/performance.svg,
// docs/performance-scale.svg, the tables into docs/performance.md (between
// its bench markers; --no-docs leaves docs/ alone) and build/bench/.
// Everything is bounded to finish within 10 minutes on 2 cores.

import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { buildNative, buildWasm, NATIVE_DIR, WASM_DIR, WASM_FILE } from '../scripts/build.js';
import { ROOT } from '../scripts/emulator.js';
import { ensureSetup } from '../scripts/setup.js';
import { runCoreBench } from './core_bench.js';
import { startBaseline, startOurs } from './emulators.js';
import { measureMemory, measureModule } from './footprint.js';
import { runHttpBench } from './http_bench.js';
import { loadCoreModule } from './node_core.js';
import * as report from './report.js';
import { runScale } from './scale.js';

const started = Date.now();
// The measurements; a build from scratch comes on top (about 5 minutes on
// 2 cores, most of it the product's own build that `npm test` also does).
const BUDGET_MS = 8.5 * 60_000;
const NATIVE_BENCH = `${NATIVE_DIR}/core_benchmark`;
const WASM_BENCH = `${WASM_DIR}/kv_bench.wasm`;
const WASM_BENCH_INLINE = `${WASM_DIR}/kv_bench_inline.wasm`; // the libc++ experiment
const OUT_DIR = `${ROOT}build/bench`;
const DOC = `${ROOT}docs/performance.md`;
const CONCURRENCIES = [1, 16, 64];
const HTTP_BOUNDS = { maxRequests: 20_000, maxMs: 3_000 };
const MEMORY_RESERVE_MS = 120_000;
const SCALE_BOUNDS = { maxRequests: 300, maxMs: 3_000 };
const writeDocs = !process.argv.includes('--no-docs');

const log = (text) => console.log(`[${((Date.now() - started) / 1000).toFixed(0).padStart(3)} s] ${text}`);

function build() {
  ensureSetup();
  buildNative();
  buildWasm();
  const env = { ...process.env, NODE_PATH: '/usr/share/nodejs' }; // emcc needs Debian's acorn
  for (const target of ['kv_bench', 'kv_bench_inline']) {
    execFileSync('cmake', ['--build', WASM_DIR, '--target', target, '--parallel'], { stdio: 'inherit', env });
  }
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
  log('starting the store and the baseline in workerd');
  const [ours, baseline] = await Promise.all([startOurs(), startBaseline()]);
  try {
    const rows = await runHttpBench({
      targets: [ours, baseline], concurrencies: CONCURRENCIES, bounds: HTTP_BOUNDS,
      onRow: (row) => log(`${row.caseName} c${row.concurrency}: ours ${row.results.ours.opsPerSec.toFixed(0)}/s,`
        + ` baseline ${row.results.baseline.opsPerSec.toFixed(0)}/s`),
    });
    results.http = { rows, bounds: HTTP_BOUNDS };
    log('scale: a fresh store, filled over HTTP');
    const scaleStore = await startOurs({ url: ours.url, adminToken: ours.adminToken });
    const scale = await runScale(scaleStore, { bounds: SCALE_BOUNDS, deadline });
    results.scale = { ...scale, native: results.core?.nativeScale };
    log(`scale: ${scale.filled.toLocaleString('en-US')} keys in ${scale.fillSeconds.toFixed(0)} s of filling`);
  } finally {
    await Promise.all([ours.stop(), baseline.stop()]);
  }
}

function writeOutputs(results) {
  mkdirSync(OUT_DIR, { recursive: true });
  const markdown = report.markdownReport(results);
  writeFileSync(`${OUT_DIR}/results.json`, `${JSON.stringify(results, null, 2)}\n`);
  writeFileSync(`${OUT_DIR}/results.md`, `${markdown}\n`);
  const svgDir = writeDocs ? `${ROOT}docs` : OUT_DIR;
  writeFileSync(`${svgDir}/performance.svg`, report.throughputSvg(results));
  if (results.scale.points.length > 0) writeFileSync(`${svgDir}/performance-scale.svg`, report.scaleSvg(results));
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

log('building (native, wasm, bench targets)');
build();
const measuringFrom = Date.now();
const results = { command: 'npm run bench', startedAt: new Date().toISOString().replace(/\.\d+Z$/, 'Z'), machine: machine() };
log('core microbenchmarks: native, then wasm in Node');
results.core = runCoreBench({
  nativeBinary: existsSync(NATIVE_BENCH) ? NATIVE_BENCH : null, wasmBench: WASM_BENCH, wasmBenchInline: WASM_BENCH_INLINE,
  coreWasm: WASM_FILE, timing: { minBatchMs: 100, batches: 5 }, nativeMinTime: 0.3,
});
log('footprint: module size and instantiation');
results.footprint = { module: measureModule(WASM_FILE) };
// The scale fill may take until MEMORY_RESERVE_MS before the end; the memory
// run then has what is left, and stops early (and says so) if it runs out.
await runEndToEnd(results, measuringFrom + BUDGET_MS - MEMORY_RESERVE_MS);
log('footprint: wasm memory over a million requests');
results.footprint.memory = measureMemory(loadCoreModule(WASM_FILE), { calls: 1_000_000, deadline: measuringFrom + BUDGET_MS });
log('storage: file bytes per entry beside the quota\'s count');
results.storageOverhead = execFileSync(`${NATIVE_DIR}/storage_overhead`, { encoding: 'utf8' });
console.log(results.storageOverhead);
results.machine.loadAfter = loadavg()[0].toFixed(2);
results.durationSeconds = (Date.now() - measuringFrom) / 1000;
writeOutputs(results);
