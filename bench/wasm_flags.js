// `node bench/wasm_flags.js [--variants=name,...]`: what each wasm build flag
// is worth. Builds the bench module kv_bench.wasm once per variant of
// KV_WASM_FLAGS (CMakeLists.txt), each in build/wasm-flags/<name>, times the
// storage-free core operations in each beside the native core_benchmark, and
// prints one table: CPU ns per operation for every variant, each variant's
// module size, and each variant's worst and median ratio to native.
// The product's flags are the variant `product`; docs/performance.md quotes
// a run of this command. Takes about 2 minutes per variant on 2 cores.

import { execFileSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { buildNative, EMSCRIPTEN_ENV, NATIVE_DIR } from '../scripts/build.js';
import { ROOT } from '../scripts/emulator.js';
import { ensureSetup } from '../scripts/setup.js';
import { loadWasmBench, runNativeCoreBench, runWasmCoreBench } from './core_bench.js';
import { median } from './stats.js';

const PRODUCT = ['-O3', '-fwasm-exceptions', '-flto'];
// Each variant changes one thing against the product's flags.
const VARIANTS = {
  product: PRODUCT,
  O2: ['-O2', '-fwasm-exceptions', '-flto'],
  'no-lto': ['-O3', '-fwasm-exceptions'],
  simd128: [...PRODUCT, '-msimd128'],
  emmalloc: [...PRODUCT, '-sMALLOC=emmalloc'],
  mimalloc: [...PRODUCT, '-sMALLOC=mimalloc'], // not in every Emscripten: a failure is reported
  'no-exceptions': ['-O3', '-fno-exceptions', '-DBOOST_NO_EXCEPTIONS', '-flto'],
};

const flag = (name) => process.argv.find((arg) => arg.startsWith(`--${name}=`))?.slice(name.length + 3);
const names = (flag('variants') ?? Object.keys(VARIANTS).join(',')).split(',');
for (const name of names) if (!VARIANTS[name]) throw new Error(`--variants: no variant ${name}; known: ${Object.keys(VARIANTS).join(', ')}`);

function buildVariant(name) {
  const dir = `${ROOT}build/wasm-flags/${name}`;
  execFileSync('emcmake', ['cmake', '-S', ROOT, '-B', dir, '-DCMAKE_BUILD_TYPE=Release',
    `-DKV_WASM_FLAGS_VARIANT=${VARIANTS[name].join(';')}`], { stdio: ['ignore', 'ignore', 'inherit'], env: EMSCRIPTEN_ENV });
  execFileSync('cmake', ['--build', dir, '--target', 'kv_bench', '--parallel'], { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8', maxBuffer: 64 << 20, env: EMSCRIPTEN_ENV });
  return `${dir}/kv_bench.wasm`;
}

ensureSetup();
buildNative();
execFileSync('cmake', ['--build', NATIVE_DIR, '--target', 'core_benchmark', '--parallel'], { stdio: 'inherit' });
const nativeBinary = `${NATIVE_DIR}/core_benchmark`;
if (!existsSync(nativeBinary)) throw new Error('no core_benchmark: is Google Benchmark (libbenchmark-dev) installed?');

// Builds first, then measures in rounds that alternate between native and
// every variant, and keeps each operation's median over the rounds: load
// from elsewhere on a shared machine then hits all of them alike.
const ROUNDS = 3;
const results = [];
for (const name of names) {
  console.error(`building ${name}: ${VARIANTS[name].join(' ')}`);
  try {
    const file = buildVariant(name);
    results.push({ name, bytes: statSync(file).size, bench: loadWasmBench(file), rounds: [] });
  } catch (error) {
    const output = `${error.stderr ?? ''}${error.message}`;
    results.push({ name, failure: /Exception: .*/.exec(output)?.[0] ?? output.split('\n')[0] });
  }
}
const nativeRounds = [];
for (let round = 1; round <= ROUNDS; round++) {
  console.error(`round ${round} of ${ROUNDS}`);
  nativeRounds.push(runNativeCoreBench(nativeBinary, { filter: '^core/' }));
  for (const result of results) if (!result.failure) result.rounds.push(runWasmCoreBench(result.bench, {}));
}
const medianOver = (rounds) => new Map([...rounds[0].keys()].map((op) => [op, { cpuNs: median(rounds.map((r) => r.get(op).cpuNs)) }]));
const native = medianOver(nativeRounds);
for (const result of results) if (!result.failure) result.times = medianOver(result.rounds);

const measured = results.filter((result) => !result.failure);
const ops = [...measured[0].times.keys()];
const cell = (ns) => (ns >= 10_000 ? `${(ns / 1000).toFixed(1)} µs` : `${ns.toFixed(0)} ns`);
const lines = [
  `| operation | native | ${measured.map(({ name }) => name).join(' | ')} |`,
  `|---|--:|${measured.map(() => '--:').join('|')}|`,
];
for (const op of ops) {
  const nativeNs = native.get(op)?.cpuNs;
  lines.push(`| ${op.replace(/^core\//, '')} | ${nativeNs === undefined ? '–' : cell(nativeNs)} | ${measured
    .map(({ times }) => cell(times.get(op).cpuNs)).join(' | ')} |`);
}
const ratios = (times) => ops.filter((op) => native.has(op)).map((op) => times.get(op).cpuNs / native.get(op).cpuNs);
lines.push(`| **wasm / native, worst** | | ${measured.map(({ times }) => `${Math.max(...ratios(times)).toFixed(2)}×`).join(' | ')} |`);
lines.push(`| **wasm / native, median** | | ${measured.map(({ times }) => `${median(ratios(times)).toFixed(2)}×`).join(' | ')} |`);
lines.push(`| module bytes | | ${measured.map(({ bytes }) => bytes.toLocaleString('en-US')).join(' | ')} |`);
console.log(`CPU time per operation (median of ${ROUNDS} rounds, each the median of 5 batches), Node ${process.versions.node}:\n`);
console.log(lines.join('\n'));
for (const { name, failure } of results) {
  console.log(`\n- ${name}: ${VARIANTS[name].join(' ')}${failure ? ` (failed: ${failure})` : ''}`);
}
