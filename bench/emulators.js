// The two Workers the end-to-end benchmark drives, each in its own workerd
// (wrangler dev) on 127.0.0.1 with a fresh state directory:
//   ours      the store (wrangler.toml), through scripts/emulator.js, with a
//             store created through the admin API;
//   baseline  bench/baseline/wrangler.toml, its fixed token.

import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, OFFLINE_ENV, ROOT, startEmulator } from '../scripts/emulator.js';

const BASELINE_CONFIG = `${ROOT}bench/baseline/wrangler.toml`;
const READY_TIMEOUT_MS = 60_000;

/**
 * The store in workerd with a fresh state and admin token, and one store in
 * it, without quotas. Returns { name: 'ours', url, token, adminToken,
 * stop() }; stop() also removes the state. `url` may name an emulator that
 * is already running (the test suite's): then only a store is created, with
 * `adminToken`, and stop() does nothing.
 */
export async function startOurs({ url, adminToken } = {}) {
  let stop = async () => {};
  if (!url) {
    const dir = mkdtempSync(join(tmpdir(), 'kv-bench-ours-'));
    adminToken = randomUUID();
    const envFile = join(dir, 'bench.env');
    writeFileSync(envFile, `KV_ADMIN_TOKEN="${adminToken}"\n`);
    const emulator = await startEmulator({ port: await freePort(), persistTo: join(dir, 'state'), envFile });
    url = emulator.url;
    stop = async () => {
      await emulator.stop();
      rmSync(dir, { recursive: true, force: true });
    };
  }
  const response = await fetch(`${url}/v1/admin/stores`, {
    method: 'POST',
    headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
    // Unlimited: the free tier's 10,000 operations a month would refuse the
    // benchmark long before it is done.
    body: JSON.stringify({ region: 'eu-central-1', limits: { opsPerMonth: null, storageBytes: null } }),
  });
  const store = await response.json();
  if (response.status !== 201) {
    await stop();
    throw new Error(`creating the bench store failed: ${response.status} ${JSON.stringify(store)}`);
  }
  return { name: 'ours', url, token: store.accessToken, adminToken, stop };
}

/**
 * The baseline Worker in its own workerd. scripts/emulator.js always runs
 * the root wrangler.toml, so this starts `wrangler dev --config` the same
 * way (offline switches, own process group, ready when /v1/health answers).
 */
export async function startBaseline() {
  const dir = mkdtempSync(join(tmpdir(), 'kv-bench-baseline-'));
  const port = await freePort();
  const child = spawn(`${ROOT}node_modules/.bin/wrangler`, [
    'dev', '--config', BASELINE_CONFIG, '--port', String(port), '--ip', '127.0.0.1',
    '--persist-to', join(dir, 'state'), '--inspector-port', String(await freePort()),
    '--show-interactive-dev-session=false',
  ], {
    cwd: ROOT,
    env: { ...process.env, ...OFFLINE_ENV },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true, // its own process group, so stop() ends workerd too
  });
  let output = '';
  child.stdout.on('data', (chunk) => (output += chunk));
  child.stderr.on('data', (chunk) => (output += chunk));
  const exited = once(child, 'exit');
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      signalGroup(child, 'SIGTERM');
      const timer = setTimeout(() => signalGroup(child, 'SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline && child.exitCode === null) {
    try {
      if ((await fetch(`${url}/v1/health`)).ok) return { name: 'baseline', url, token: baselineToken(), stop };
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  await stop();
  throw new Error(`the baseline Worker did not become ready on ${url}:\n${output}`);
}

function signalGroup(child, signal) {
  try {
    process.kill(-child.pid, signal);
  } catch {
    // already gone
  }
}

// The fixed token of bench/baseline/wrangler.toml.
function baselineToken() {
  return /^ACCESS_TOKEN\s*=\s*"([^"]+)"/m.exec(readFileSync(BASELINE_CONFIG, 'utf8'))[1];
}
