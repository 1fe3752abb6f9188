// `npm test`: installs what is missing, builds the core natively and to
// wasm, runs the C++ suites (CTest), again built with ASan and UBSan,
// replays the fuzzers' saved crash inputs and fuzzes each target briefly,
// type-checks and compiles the brief's snippets (tsc), then runs every JS
// test (node --test) against one workerd emulator started here for them.

import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { buildConsole, buildNative, buildWasm, NATIVE_DIR } from './build.js';
import { ROOT } from './emulator.js';
import { buildFuzzers, fuzz, FUZZERS, replayRegressions } from './fuzz.js';
import { buildSanitized, testSanitized } from './sanitize.js';
import { ensureDenoCli, ensureSetup } from './setup.js';

// About a minute of fuzzing in all; docs/reliability.md records longer runs.
const FUZZ_SECONDS_PER_TARGET = 20;

function run(command, args) {
  execFileSync(command, args, { stdio: 'inherit', cwd: ROOT });
}

ensureSetup();
ensureDenoCli();
buildNative();
buildWasm();
buildConsole();
run('ctest', ['--test-dir', NATIVE_DIR, '--output-on-failure']);
buildSanitized();
testSanitized();
buildFuzzers();
const fuzzed = FUZZERS.map((target) => fuzz(target, FUZZ_SECONDS_PER_TARGET));
for (const { target, executions, coverage, crashed } of fuzzed) {
  console.log(`fuzz ${target}: ${executions} executions, cov ${coverage}, ${crashed ? 'CRASHED' : 'no crash'}`);
}
if (!replayRegressions() || fuzzed.some((result) => result.crashed)) {
  throw new Error('fuzzing found a crash: see above; the input is under build/fuzz/artifacts/');
}
run(`${ROOT}node_modules/.bin/tsc`, ['-p', 'tests/brief/tsconfig.json']);

// Imported only now: the helpers import the client through node_modules.
const { startFreshEmulator } = await import('../tests/helpers.js');
const EMULATOR_LOG = `${ROOT}build/test-emulator.log`; // the Worker's logs, for a failure's cause
const emulator = await startFreshEmulator({ logFile: EMULATOR_LOG });
let status;
try {
  // Asynchronously, not spawnSync: this process must keep draining the
  // emulator's output pipe while the tests run, or a test that makes the
  // Worker log a lot (1,300 forced traps) fills the pipe and stalls workerd.
  const tests = spawn(process.execPath, ['--test', 'tests/'], {
    cwd: ROOT,
    stdio: 'inherit',
    env: { ...process.env, KV_TEST_ENDPOINT: emulator.url, KV_TEST_ADMIN_TOKEN: emulator.adminToken },
  });
  const [code] = await once(tests, 'exit');
  status = code ?? 1;
} finally {
  await emulator.stop();
  emulator.remove();
}
if (status !== 0) console.error(`The emulator's output is in ${EMULATOR_LOG}.`);
process.exit(status);
