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

/**
 * A queue listener read by hand (POST /v1/queue/listen, docs/queues.md):
 * next() resolves with its next event `{ event, data }` (`closed` when the
 * stream ends), message() with the next message plus its arrival time `at`,
 * failing on any other event.
 */
export async function openQueueListener(url, token, window = {}) {
  const response = await fetch(`${url}/v1/queue/listen`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(window),
  });
  if (response.status !== 200) throw new Error(`listen answered ${response.status}: ${await response.text()}`);
  if (!/^text\/event-stream/.test(response.headers.get('content-type'))) throw new Error('listen answered no event stream');
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  return {
    async next() {
      for (;;) {
        const end = buffer.indexOf('\n\n');
        if (end >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          if (block.startsWith(':')) continue; // keep-alive
          const event = /^event: (.*)$/m.exec(block)?.[1] ?? 'message';
          return { event, data: JSON.parse(/^data: (.*)$/m.exec(block)[1]) };
        }
        const { done, value } = await reader.read();
        if (done) return { event: 'closed', data: null };
        buffer += decoder.decode(value, { stream: true });
      }
    },
    async message() {
      const { event, data } = await this.next();
      if (event !== 'message') throw new Error(`a message was due, not ${event} ${JSON.stringify(data)}`);
      return { ...data, at: Date.now() };
    },
    close: () => reader.cancel().catch(() => {}),
  };
}
