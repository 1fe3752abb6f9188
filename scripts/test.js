// `npm test`: installs what is missing, builds the core natively and to
// wasm, runs the C++ suites (CTest), type-checks and compiles the brief's
// snippets (tsc), then runs every JS test (node --test) against one workerd
// emulator started here for them.

import { execFileSync, spawnSync } from 'node:child_process';
import { buildNative, buildWasm, NATIVE_DIR } from './build.js';
import { ROOT } from './emulator.js';
import { ensureSetup } from './setup.js';

function run(command, args) {
  execFileSync(command, args, { stdio: 'inherit', cwd: ROOT });
}

ensureSetup();
buildNative();
buildWasm();
run('ctest', ['--test-dir', NATIVE_DIR, '--output-on-failure']);
run(`${ROOT}node_modules/.bin/tsc`, ['-p', 'tests/brief/tsconfig.json']);

// Imported only now: the helpers import the client through node_modules.
const { startFreshEmulator } = await import('../tests/helpers.js');
const emulator = await startFreshEmulator();
let status;
try {
  const result = spawnSync(process.execPath, ['--test', 'tests/'], {
    cwd: ROOT,
    stdio: 'inherit',
    env: { ...process.env, KV_TEST_ENDPOINT: emulator.url, KV_TEST_ADMIN_TOKEN: emulator.adminToken },
  });
  status = result.status ?? 1;
} finally {
  await emulator.stop();
  emulator.remove();
}
process.exit(status);
