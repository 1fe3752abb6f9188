// Fuzzing: builds the libFuzzer targets of fuzz/ (clang++, CMake option
// KV_FUZZ, in build/fuzz), replays every input that once crashed a target
// (fuzz/regressions/<target>/, through CTest), then runs each target on its
// seed corpus for a while and prints its figures. `npm test` runs it
// briefly; docs/reliability.md records a longer run.
//
//   node scripts/fuzz.js                          20 s per target
//   node scripts/fuzz.js --seconds=600 commit_fuzzer
//
// New corpus entries go to build/fuzz/corpus/<target> (fuzz/corpus/ stays
// as committed); a crashing input is written to build/fuzz/artifacts/<target>/
// and the exit status is 1.

import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { ROOT } from './emulator.js';

export const FUZZ_DIR = `${ROOT}build/fuzz`;
export const FUZZERS = ['request_fuzzer', 'key_codec_fuzzer', 'commit_fuzzer', 'kv_connect_fuzzer'];
const DEFAULT_SECONDS = 20;
// An input slower than this counts as a hang.
const TIMEOUT_SECONDS = 10;

function run(command, args) {
  execFileSync(command, args, { stdio: 'inherit', cwd: ROOT });
}

/** Throws with the install command when clang++ or its sanitizer runtimes are missing. */
export function requireClang() {
  const found = spawnSync('clang++', ['-print-file-name=libclang_rt.fuzzer-x86_64.a'], { encoding: 'utf8' });
  const runtime = found.stdout?.trim();
  if (found.status !== 0 || !runtime || !existsSync(runtime)) {
    throw new Error('Fuzzing and sanitizers need clang++ with its runtimes:\n  apt-get install -y clang libclang-rt-14-dev');
  }
}

export function buildFuzzers() {
  requireClang();
  if (!existsSync(`${FUZZ_DIR}/CMakeCache.txt`)) {
    run('cmake', ['-S', ROOT, '-B', FUZZ_DIR, '-DKV_FUZZ=ON', '-DCMAKE_CXX_COMPILER=clang++',
      '-DCMAKE_BUILD_TYPE=RelWithDebInfo']);
  }
  run('cmake', ['--build', FUZZ_DIR, '--target', 'fuzzers', '--parallel']);
}

/** Replays the saved crash inputs; true when none crashes any more. */
export function replayRegressions() {
  const result = spawnSync('ctest', ['--test-dir', FUZZ_DIR, '-R', '_regressions$', '--output-on-failure'],
    { stdio: 'inherit', cwd: ROOT });
  return result.status === 0;
}

/** Runs one target for `seconds`; returns its figures and whether it crashed. */
export function fuzz(target, seconds) {
  const corpus = `${FUZZ_DIR}/corpus/${target}`;
  const artifacts = `${FUZZ_DIR}/artifacts/${target}/`;
  mkdirSync(corpus, { recursive: true });
  mkdirSync(artifacts, { recursive: true });
  const result = spawnSync(`${FUZZ_DIR}/${target}`, [
    `-max_total_time=${seconds}`, `-timeout=${TIMEOUT_SECONDS}`, '-print_final_stats=1',
    `-artifact_prefix=${artifacts}`, corpus, `${ROOT}fuzz/corpus/${target}`,
  ], { cwd: ROOT, encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  const log = result.stderr ?? '';
  // The last status line: "#<runs> <event> cov: <edges> ft: <features> corp: <units>/<size> ..."
  const status = [...log.matchAll(/^#(\d+)\s+\w+\s+cov: (\d+) ft: (\d+) corp: (\d+)\//gm)].at(-1);
  const stat = (name) => Number(new RegExp(`^stat::${name}:\\s+(\\d+)`, 'm').exec(log)?.[1] ?? NaN);
  const crashed = result.status !== 0;
  if (crashed) {
    // What broke and where the input is: the lines around the report.
    const report = log.split('\n').filter((line) =>
      /property violated|ERROR: |SUMMARY: |runtime error|Test unit written|^\s{2}\S/.test(line));
    console.error(`${target} crashed:\n${report.slice(0, 20).join('\n')}`);
  }
  return {
    target,
    seconds,
    executions: stat('number_of_executed_units') || Number(status?.[1] ?? 0),
    execsPerSecond: stat('average_exec_per_sec'),
    coverage: Number(status?.[2] ?? 0),
    features: Number(status?.[3] ?? 0),
    corpus: Number(status?.[4] ?? 0),
    crashed,
  };
}

function parseArguments(argv) {
  let seconds = Number(process.env.KV_FUZZ_SECONDS ?? DEFAULT_SECONDS);
  const targets = [];
  for (const argument of argv) {
    const match = /^--seconds=(\d+)$/.exec(argument);
    if (match) seconds = Number(match[1]);
    else if (FUZZERS.includes(argument)) targets.push(argument);
    else throw new Error(`unknown argument ${argument}; targets: ${FUZZERS.join(', ')}; option --seconds=N`);
  }
  return { seconds, targets: targets.length > 0 ? targets : FUZZERS };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { seconds, targets } = parseArguments(process.argv.slice(2));
  buildFuzzers();
  let ok = replayRegressions();
  const results = targets.map((target) => fuzz(target, seconds));
  console.log('\ntarget            seconds  executions  exec/s  cov    ft     corpus  result');
  for (const r of results) {
    console.log(`${r.target.padEnd(18)}${String(r.seconds).padStart(7)}  ${String(r.executions).padStart(10)}  ` +
      `${String(r.execsPerSecond).padStart(6)}  ${String(r.coverage).padEnd(5)}  ${String(r.features).padEnd(5)}  ` +
      `${String(r.corpus).padStart(6)}  ${r.crashed ? 'CRASH' : 'ok'}`);
    ok &&= !r.crashed;
  }
  process.exit(ok ? 0 : 1);
}
