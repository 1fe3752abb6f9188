// Sanitizers: builds the core and its GoogleTest suites with AddressSanitizer
// and UndefinedBehaviorSanitizer (CMake option KV_SANITIZE, clang++, in
// build/sanitize) and runs them under CTest. Any sanitizer report aborts
// its test, so CTest fails. `npm test` runs it; run it alone with
// `node scripts/sanitize.js`.

import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { ROOT } from './emulator.js';
import { requireClang } from './fuzz.js';

export const SANITIZE_DIR = `${ROOT}build/sanitize`;

// Leaks count as failures too; stack traces make reports readable.
const SANITIZER_ENV = {
  ...process.env,
  ASAN_OPTIONS: 'detect_leaks=1:abort_on_error=1:strict_string_checks=1',
  UBSAN_OPTIONS: 'print_stacktrace=1:halt_on_error=1',
};

function run(command, args, env = process.env) {
  execFileSync(command, args, { stdio: 'inherit', cwd: ROOT, env });
}

export function buildSanitized() {
  requireClang();
  if (!existsSync(`${SANITIZE_DIR}/CMakeCache.txt`)) {
    run('cmake', ['-S', ROOT, '-B', SANITIZE_DIR, '-DKV_SANITIZE=ON', '-DCMAKE_CXX_COMPILER=clang++',
      '-DCMAKE_BUILD_TYPE=RelWithDebInfo']);
  }
  run('cmake', ['--build', SANITIZE_DIR, '--parallel']);
}

export function testSanitized() {
  run('ctest', ['--test-dir', SANITIZE_DIR, '--output-on-failure'], SANITIZER_ENV);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  buildSanitized();
  testSanitized();
}
