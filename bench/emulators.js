// The two Workers the end-to-end benchmark drives, on 127.0.0.1, each with
// a fresh state directory, in one of two modes (MODES):
//   direct  one workerd per Worker, through Miniflare's API, serving the
//           Worker on its own socket (unsafeDirectSockets): no dev proxy and
//           no Miniflare entry Worker in front, so the HTTP floor is
//           workerd's own. The Worker is the bundle `wrangler deploy
//           --dry-run` builds (as deployed, wasm module included) with the
//           bindings wrangler derives from the same wrangler.toml (SQLite
//           Durable Object, rate limits, vars);
//   dev     `wrangler dev`, as `npm start` and the tests run it: a proxy
//           workerd in front of the Worker's, so every request crosses two.
// The Workers:
//   ours      the store (wrangler.toml), with a store created through the
//             admin API; in dev mode through scripts/emulator.js;
//   baseline  bench/baseline/wrangler.toml, its fixed token.
// Both get KV_ROW_COUNTS=on, so responses that went through a Durable
// Object carry kv-rows-read / kv-rows-written (bench/load_generator.js
// adds them up). Vars reach `wrangler dev` through an env file (.dev.vars
// format), and Miniflare as bindings.

import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Miniflare } from 'miniflare';
import { unstable_getMiniflareWorkerOptions as miniflareOptionsOf } from 'wrangler';
import { freePort, OFFLINE_ENV, ROOT, startEmulator } from '../scripts/emulator.js';

export const MODES = {
  direct: { id: 'direct', title: 'one workerd per Worker (Miniflare API, no dev proxy)' },
  dev: { id: 'dev', title: 'wrangler dev (a proxy workerd in front of the Worker\'s)' },
};

const OURS_CONFIG = `${ROOT}wrangler.toml`;
const BASELINE_CONFIG = `${ROOT}bench/baseline/wrangler.toml`;
const WRANGLER = `${ROOT}node_modules/.bin/wrangler`;
const READY_TIMEOUT_MS = 60_000;
const ROW_COUNTS = { KV_ROW_COUNTS: 'on' };

/**
 * The store in workerd (`mode`: a key of MODES) with a fresh state and
 * admin token, and one store in it, without quotas. Returns { name: 'ours',
 * url, upstreamUrl, token, adminToken, stop() }; stop() also removes the
 * state; upstreamUrl (dev mode only) is wrangler's own port, behind the
 * h2c bridge of scripts/emulator.js that `url` names. `url`
 * may name a store service that is already running (the test suite's, or
 * this function's): then only a store is created, with `adminToken`, and
 * stop() does nothing. `inspectorPort` (direct mode only) opens workerd's
 * V8 inspector there, for bench/profile_worker.js.
 */
export async function startOurs({ mode = 'direct', url, adminToken, inspectorPort } = {}) {
  let stop = async () => {};
  let upstreamUrl;
  if (!url) {
    adminToken = randomUUID();
    // Local workerd has no jurisdictions (scripts/emulator.js passes the
    // same for dev).
    const vars = { ...ROW_COUNTS, KV_ADMIN_TOKEN: adminToken, ...(mode === 'direct' ? { KV_JURISDICTIONS: 'off' } : {}) };
    ({ url, upstreamUrl, stop } = await startWorker(mode, OURS_CONFIG, vars, { inspectorPort }));
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
  return { name: 'ours', url, upstreamUrl, token: store.accessToken, adminToken, stop };
}

/** The baseline Worker in workerd (`mode`: a key of MODES). */
export async function startBaseline({ mode = 'direct' } = {}) {
  const { url, stop } = await startWorker(mode, BASELINE_CONFIG, ROW_COUNTS);
  return { name: 'baseline', url, token: baselineToken(), stop };
}

// Starts the Worker of `config` with `vars` in a fresh directory; returns
// { url, upstreamUrl, stop() }, stop() removing the directory.
async function startWorker(mode, config, vars, { inspectorPort } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'kv-bench-'));
  const start = { direct: startDirect, dev: config === OURS_CONFIG ? startOursDev : startDev }[mode];
  if (!start) throw new Error(`unknown bench mode ${mode}; the modes: ${Object.keys(MODES).join(', ')}`);
  try {
    if (inspectorPort !== undefined && mode !== 'direct') throw new Error('an inspector only in direct mode');
    const worker = await start(config, dir, vars, inspectorPort);
    return {
      url: worker.url,
      upstreamUrl: worker.upstreamUrl,
      stop: async () => {
        await worker.stop();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}

// The deployable bundle (`wrangler deploy --dry-run`, offline) in Miniflare,
// the Worker on a direct socket of its own.
async function startDirect(config, dir, vars, inspectorPort) {
  const bundle = join(dir, 'bundle');
  await promisify(execFile)(WRANGLER, ['deploy', '--dry-run', '--outdir', bundle, '--config', config],
    { cwd: ROOT, env: { ...process.env, ...OFFLINE_ENV } });
  const { workerOptions } = miniflareOptionsOf(config);
  let output = '';
  const mf = new Miniflare({
    host: '127.0.0.1',
    inspectorPort,
    durableObjectsPersist: join(dir, 'state'),
    // Drained, or a full pipe stalls workerd; the tail explains a failure.
    handleRuntimeStdio: (...streams) => streams.forEach((s) => s.on('data', (chunk) => (output = (output + chunk).slice(-64 * 1024)))),
    workers: [{
      ...workerOptions,
      name: 'bench',
      modules: true,
      modulesRoot: bundle,
      scriptPath: join(bundle, readdirSync(bundle).find((file) => file.endsWith('.js'))),
      bindings: { ...workerOptions.bindings, ...vars },
      unsafeDirectSockets: [{ host: '127.0.0.1', port: 0 }], // 0: workerd picks
    }],
  });
  try {
    await mf.ready;
    return { url: (await mf.unsafeGetDirectURL('bench')).origin, stop: () => mf.dispose() };
  } catch (error) {
    await mf.dispose().catch(() => {});
    throw new Error(`workerd did not start ${config}: ${error.message}\n${output}`);
  }
}

// The env file of `vars`, in the .dev.vars format `wrangler dev --env-file`
// reads.
function envFile(dir, vars) {
  const file = join(dir, 'bench.env');
  writeFileSync(file, Object.entries(vars).map(([key, value]) => `${key}="${value}"\n`).join(''));
  return file;
}

async function startOursDev(config, dir, vars) {
  return startEmulator({ port: await freePort(), persistTo: join(dir, 'state'), envFile: envFile(dir, vars) });
}

// scripts/emulator.js always runs the root wrangler.toml, so this starts
// `wrangler dev --config` the same way (offline switches, own process
// group, ready when /v1/health answers).
async function startDev(config, dir, vars) {
  const port = await freePort();
  const child = spawn(WRANGLER, [
    'dev', '--config', config, '--port', String(port), '--ip', '127.0.0.1',
    '--persist-to', join(dir, 'state'), '--inspector-port', String(await freePort()),
    '--show-interactive-dev-session=false', '--env-file', envFile(dir, vars),
  ], {
    cwd: ROOT,
    env: { ...process.env, ...OFFLINE_ENV },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true, // its own process group, so stop() ends workerd too
  });
  let output = '';
  const keep = (chunk) => (output = (output + chunk).slice(-64 * 1024));
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  const exited = once(child, 'exit');
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    signalGroup(child, 'SIGTERM');
    const timer = setTimeout(() => signalGroup(child, 'SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  };
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline && child.exitCode === null) {
    try {
      if ((await fetch(`${url}/v1/health`)).ok) return { url, stop };
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  await stop();
  throw new Error(`wrangler dev --config ${config} did not become ready on ${url}:\n${output}`);
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
