// Builds the C++ core both ways with CMake: natively (tests) and with
// Emscripten (build/wasm/kv_core.wasm, imported by the Worker). CMake
// rebuilds only what is stale. Run directly: `npm run build`.

import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { ROOT } from './emulator.js';
import { ensureSetup } from './setup.js';

export const NATIVE_DIR = `${ROOT}build/native`;
export const WASM_DIR = `${ROOT}build/wasm`;
export const WASM_FILE = `${WASM_DIR}/kv_core.wasm`;

// emcc's JS optimizer needs Debian's acorn module, which Node does not find
// by itself.
export const EMSCRIPTEN_ENV = { ...process.env, NODE_PATH: '/usr/share/nodejs' };

function run(command, args, env = process.env) {
  execFileSync(command, args, { stdio: 'inherit', cwd: ROOT, env });
}

export function buildWasm() {
  if (!existsSync(`${WASM_DIR}/CMakeCache.txt`)) {
    run('emcmake', ['cmake', '-S', ROOT, '-B', WASM_DIR, '-DCMAKE_BUILD_TYPE=Release'], EMSCRIPTEN_ENV);
  }
  run('cmake', ['--build', WASM_DIR, '--parallel'], EMSCRIPTEN_ENV);
}

export function buildNative() {
  if (!existsSync(`${NATIVE_DIR}/CMakeCache.txt`)) {
    run('cmake', ['-S', ROOT, '-B', NATIVE_DIR, '-DCMAKE_BUILD_TYPE=Release']);
  }
  run('cmake', ['--build', NATIVE_DIR, '--parallel']);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  ensureSetup();
  buildNative();
  buildWasm();
}
