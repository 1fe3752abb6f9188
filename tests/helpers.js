// Shared by the end-to-end tests: the emulator under test, stores on it and
// raw HTTP calls to it.

import { randomUUID } from 'node:crypto';
import { mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from '@own3d/kv';
import { freePort, startEmulator } from '../scripts/emulator.js';

/**
 * Starts workerd (wrangler dev) on a free port with a fresh state directory
 * and admin token, with fault injection on (shims/faults.js). `stateDir`
 * reuses a directory and `port` a port (to test restarts); `logFile` keeps
 * wrangler's whole output.
 * Returns { url, adminToken, stateDir, stop(), remove() }.
 */
export async function startFreshEmulator({ stateDir, adminToken = randomUUID(), port, logFile } = {}) {
  const dir = stateDir ?? mkdtempSync(join(tmpdir(), 'kv-e2e-'));
  const envFile = join(dir, 'test.env');
  writeFileSync(envFile, `KV_ADMIN_TOKEN="${adminToken}"\n`);
  const emulator = await startEmulator({
    port: port ?? (await freePort()), persistTo: join(dir, 'state'), envFile, faults: true, rowCounts: true,
    stdio: logFile ? openSync(logFile, 'w') : 'pipe',
  });
  return {
    url: emulator.url,
    adminToken,
    stateDir: dir,
    stop: emulator.stop,
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/**
 * The emulator `npm test` started for all test files (KV_TEST_ENDPOINT and
 * KV_TEST_ADMIN_TOKEN), or, when a file runs alone, one of its own. Call
 * close() after the file's tests: it stops only an emulator of its own.
 */
export async function sharedEmulator() {
  if (process.env.KV_TEST_ENDPOINT) {
    return { url: process.env.KV_TEST_ENDPOINT, adminToken: process.env.KV_TEST_ADMIN_TOKEN, close() {} };
  }
  const emulator = await startFreshEmulator();
  return {
    ...emulator,
    async close() {
      await emulator.stop();
      emulator.remove();
    },
  };
}

/** A raw HTTP call; returns { status, headers, body } with body parsed as JSON. */
export async function call(url, path, { method = 'POST', token, body, headers = {} } = {}) {
  const response = await fetch(`${url}${path}`, {
    method,
    headers: {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      ...headers,
    },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: text ? JSON.parse(text) : null };
}

/** Creates a store through the admin API; returns its { id, accessToken, region, limits }. */
export async function createStore(emulator, region = 'eu-central-1', limits = undefined) {
  const { status, body } = await call(emulator.url, '/v1/admin/stores', {
    token: emulator.adminToken,
    body: { region, limits },
  });
  if (status !== 201) throw new Error(`creating a store failed: ${status} ${JSON.stringify(body)}`);
  return body;
}

/** A client connected to a new store (with `limits`, else the free tier's). */
export async function connectNewStore(emulator, limits = undefined) {
  const store = await createStore(emulator, 'eu-central-1', limits);
  const kv = connect({ accessToken: store.accessToken, region: store.region, endpoint: emulator.url });
  return { kv, store };
}
