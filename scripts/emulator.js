// Runs the Worker in the local workerd runtime through `wrangler dev`, the
// way `npm start` and the end-to-end tests do: offline, on 127.0.0.1.

import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { startH2cBridge } from './h2c_bridge.js';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));
const WRANGLER = `${ROOT}node_modules/.bin/wrangler`;
const READY_TIMEOUT_MS = 60_000;

// Wrangler's switches for a machine without internet.
export const OFFLINE_ENV = { WRANGLER_SEND_METRICS: 'false', CLOUDFLARE_CF_FETCH_ENABLED: 'false' };

/** A free TCP port on 127.0.0.1. */
export async function freePort() {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address();
  server.close();
  await once(server, 'close');
  return port;
}

/**
 * Starts `wrangler dev` on a free internal port behind the h2c bridge on
 * `port` (scripts/h2c_bridge.js: HTTP/2 for Deno's KV Connect client,
 * HTTP/1.1 piped through), and waits until the Worker answers. `envFile` holds
 * the secrets (KV_ADMIN_TOKEN); `persistTo` is the state directory.
 * `stdio` is 'inherit' to show wrangler's output, a file descriptor to write
 * it there, else it is collected and printed only if start-up fails. `faults` turns on fault injection
 * (KV_FAULTS, shims/faults.js), for tests only; `rowCounts` the kv-rows-read
 * and kv-rows-written response headers (KV_ROW_COUNTS, shims/store_routes.js).
 * Returns { url, upstreamUrl, stop(), process }: `url` is the bridge's,
 * `upstreamUrl` wrangler's own (HTTP/1.1 only; the bench compares the two).
 */
export async function startEmulator({ port, persistTo, envFile, stdio = 'pipe', faults = false, rowCounts = false }) {
  const upstreamPort = await freePort();
  // First, so that a taken port fails before wrangler starts.
  const bridge = await startH2cBridge({ port, host: '127.0.0.1', upstreamPort });
  const args = ['dev', '--port', String(upstreamPort), '--ip', '127.0.0.1', '--persist-to', persistTo,
    '--inspector-port', String(await freePort()), '--show-interactive-dev-session=false',
    '--var', 'KV_JURISDICTIONS:off'];
  if (faults) args.push('--var', 'KV_FAULTS:on');
  if (rowCounts) args.push('--var', 'KV_ROW_COUNTS:on');
  if (envFile) args.push('--env-file', envFile);
  const child = spawn(WRANGLER, args, {
    cwd: ROOT,
    env: { ...process.env, ...OFFLINE_ENV },
    stdio: ['ignore', stdio, stdio],
    detached: true, // its own process group, so stop() ends workerd too
  });
  let output = '';
  if (stdio === 'pipe') {
    // Kept only to explain a failed start; a long run keeps its tail.
    const keep = (chunk) => (output = (output + chunk).slice(-64 * 1024));
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
  }
  const exited = once(child, 'exit').then(([code]) => code);
  // The bridge lives as long as wrangler: a test that kills wrangler's
  // process group (tests/crash) leaves no listener behind.
  exited.then(() => bridge.close());
  const { url } = bridge;
  const stop = async () => {
    const code = await stopProcessGroup(child, exited);
    await bridge.close();
    return code;
  };
  const emulator = { url, upstreamUrl: `http://127.0.0.1:${upstreamPort}`, process: child, stop };
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) break;
    try {
      const response = await fetch(`${url}/v1/health`);
      if (response.ok) return emulator;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  await emulator.stop();
  throw new Error(`wrangler dev did not become ready on ${url}:\n${output}`);
}

async function stopProcessGroup(child, exited, signal = 'SIGTERM') {
  if (child.exitCode !== null || child.signalCode !== null) return exited;
  try {
    process.kill(-child.pid, signal);
  } catch {
    return exited; // already gone
  }
  const timer = setTimeout(() => {
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      // gone meanwhile
    }
  }, 5000);
  await exited;
  clearTimeout(timer);
  return exited;
}
