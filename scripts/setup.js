// Installs what the build and the emulator need, or says exactly what to
// install: Debian packages when run as root, `npm ci` when node_modules is
// missing or older than package-lock.json.

import { execFileSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { ROOT } from './emulator.js';

// What each Debian package provides, checked by a file it installs.
const DEBIAN_PACKAGES = [
  ['cmake', '/usr/bin/cmake'],
  ['make', '/usr/bin/make'],
  ['g++', '/usr/bin/g++'],
  ['emscripten', '/usr/bin/em++'],
  ['libboost-json1.81-dev', '/usr/include/boost/json.hpp'],
  ['nlohmann-json3-dev', '/usr/include/nlohmann/json.hpp'],
  ['libsqlite3-dev', '/usr/include/sqlite3.h'],
  ['libgtest-dev', '/usr/include/gtest/gtest.h'],
  // The wasm core's protobuf reader and writer (KV Connect), header-only.
  ['libprotozero-dev', '/usr/include/protozero/pbf_reader.hpp'],
  // Fuzzing and the sanitizer build (scripts/fuzz.js, scripts/sanitize.js).
  ['clang', '/usr/bin/clang++'],
  ['libclang-rt-14-dev', '/usr/lib/llvm-14/lib/clang/14.0.6/lib/linux/libclang_rt.fuzzer-x86_64.a'],
  // The console's browser tests drive it with playwright-core
  // (tests/browser/); Playwright's own browser downloads need the network.
  ['chromium', '/usr/bin/chromium'],
];

function run(command, args) {
  execFileSync(command, args, { stdio: 'inherit', cwd: ROOT });
}

export function ensureSystemPackages() {
  const missing = DEBIAN_PACKAGES.filter(([, file]) => !existsSync(file)).map(([name]) => name);
  if (missing.length === 0) return;
  const command = `apt-get update && apt-get install -y ${missing.join(' ')}`;
  if (process.getuid?.() !== 0) {
    throw new Error(`Missing Debian packages: ${missing.join(', ')}.\nInstall them with:\n  sudo sh -c '${command}'`);
  }
  console.log(`Installing Debian packages: ${missing.join(' ')}`);
  run('apt-get', ['update']);
  run('apt-get', ['install', '-y', '--no-install-recommends', ...missing]);
}

export function ensureNodeModules() {
  const installed = `${ROOT}node_modules/.package-lock.json`;
  const lock = `${ROOT}package-lock.json`;
  if (existsSync(installed) && statSync(installed).mtimeMs >= statSync(lock).mtimeMs) return;
  console.log('Installing npm dependencies (npm ci)');
  run('npm', ['ci', '--no-audit', '--no-fund']);
}

// The Deno CLI, for the tests only (the KV Connect tests run real Deno
// programs): pinned in tests/deno/package-lock.json, its binary shipped in
// an npm package, so `npm start` never downloads it.
const DENO_DIR = `${ROOT}tests/deno`;

/**
 * Installs the pinned Deno CLI when tests/deno/node_modules is missing or
 * older than its lock; returns the deno binary's absolute path. Run Deno
 * programs from a folder without a package.json (platform notes).
 */
export function ensureDenoCli() {
  const installed = `${DENO_DIR}/node_modules/.package-lock.json`;
  const lock = `${DENO_DIR}/package-lock.json`;
  const deno = `${DENO_DIR}/node_modules/.bin/deno`;
  if (!existsSync(installed) || statSync(installed).mtimeMs < statSync(lock).mtimeMs || !existsSync(deno)) {
    console.log('Installing the Deno CLI for the tests (npm ci --prefix tests/deno)');
    run('npm', ['ci', '--prefix', DENO_DIR, '--no-audit', '--no-fund']);
  }
  return deno;
}

export function ensureSetup() {
  ensureSystemPackages();
  ensureNodeModules();
}
