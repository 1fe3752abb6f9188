// The emulator's public port (scripts/h2c_bridge.js): HTTP/2 with prior
// knowledge, as Deno's KV Connect client speaks it, bridged to wrangler
// dev's HTTP/1.1; HTTP/1.1 piped through untouched; its bounds; and the real
// Deno CLI reaching the Worker through it.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import http2 from 'node:http2';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Duplex } from 'node:stream';
import { after, before, test } from 'node:test';
import { MAX_CONNECTIONS, MAX_STREAMS_PER_SESSION, PREFACE_TIMEOUT_MS, startH2cBridge } from '../../scripts/h2c_bridge.js';
import { ensureDenoCli } from '../../scripts/setup.js';
import { call, createStore, sharedEmulator } from '../helpers.js';

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

let emulator;
before(async () => {
  emulator = await sharedEmulator();
});
after(() => emulator?.close());

const portOf = (url) => Number(new URL(url).port);

// One HTTP/2 request on `session`; resolves to { status, headers, body }.
function h2Request(session, headers, body) {
  return new Promise((resolve, reject) => {
    const stream = session.request(headers);
    let text = '';
    let responseHeaders;
    stream.setEncoding('utf8');
    stream.on('response', (h) => (responseHeaders = h));
    stream.on('data', (chunk) => (text += chunk));
    stream.on('end', () => resolve({ status: responseHeaders[':status'], headers: responseHeaders, body: text }));
    stream.on('error', reject);
    stream.end(body);
  });
}

async function h2Connect(url, options) {
  const session = http2.connect(url, options);
  session.on('error', () => {});
  await once(session, 'remoteSettings');
  return session;
}

test('HTTP/2 with prior knowledge gets 200 from GET /v1/health', async () => {
  const session = await h2Connect(emulator.url);
  try {
    assert.equal(session.remoteSettings.maxConcurrentStreams, MAX_STREAMS_PER_SESSION, 'the stream bound is advertised');
    const { status, body } = await h2Request(session, { ':method': 'GET', ':path': '/v1/health' });
    assert.equal(status, 200, body);
  } finally {
    session.close();
  }
});

test('concurrent HTTP/2 streams on one connection, with request bodies', async () => {
  const store = await createStore(emulator);
  const session = await h2Connect(emulator.url);
  try {
    const post = (path, body) => h2Request(session, {
      ':method': 'POST', ':path': path, authorization: `Bearer ${store.accessToken}`, 'content-type': 'application/json',
    }, JSON.stringify(body));
    const sets = await Promise.all(Array.from({ length: 10 }, (_, i) => post('/v1/set', { key: ['h2', i], value: i })));
    assert.deepEqual(sets.map((r) => r.status), Array(10).fill(200), sets.map((r) => r.body).join('\n'));
    const [health, ...gets] = await Promise.all([
      h2Request(session, { ':method': 'GET', ':path': '/v1/health' }),
      ...Array.from({ length: 10 }, (_, i) => post('/v1/get', { keys: [['h2', i]] })),
    ]);
    assert.equal(health.status, 200);
    assert.deepEqual(gets.map((r) => JSON.parse(r.body).entries[0].value), Array.from({ length: 10 }, (_, i) => i));
  } finally {
    session.close();
  }
});

test('a watch streams its events through HTTP/2 while the stream stays open', async () => {
  const store = await createStore(emulator);
  const session = await h2Connect(emulator.url);
  try {
    const stream = session.request({
      ':method': 'POST', ':path': '/v1/watch', authorization: `Bearer ${store.accessToken}`,
      'content-type': 'application/json',
    });
    stream.end(JSON.stringify({ keys: [['watched']] }));
    const [headers] = await once(stream, 'response');
    assert.equal(headers[':status'], 200);
    assert.match(headers['content-type'], /^text\/event-stream/);
    stream.setEncoding('utf8');
    let text = '';
    const events = [];
    stream.on('data', (chunk) => {
      text += chunk;
      let end;
      while ((end = text.indexOf('\n\n')) !== -1) {
        const data = /^data: (.*)$/m.exec(text.slice(0, end));
        if (data) events.push(JSON.parse(data[1]));
        text = text.slice(end + 2);
      }
    });
    const waitFor = async (count) => {
      for (let i = 0; i < 200 && events.length < count; i++) await sleep(50);
      assert.ok(events.length >= count, `${count} events arrived (got ${events.length})`);
    };
    await waitFor(1);
    assert.equal(events[0].entries[0].value, null, 'the first event: the key has no value yet');
    // A write over HTTP/1.1, on the same port, while the stream is open.
    const set = await call(emulator.url, '/v1/set', { token: store.accessToken, body: { key: ['watched'], value: 'now' } });
    assert.equal(set.status, 200);
    await waitFor(2);
    assert.equal(events[1].entries[0].value, 'now');
    assert.equal(stream.closed, false, 'the event came while the stream was open');
    stream.close(http2.constants.NGHTTP2_CANCEL);
  } finally {
    session.close();
  }
});

test('HTTP/1.1 still works on the same port', async () => {
  const response = await fetch(`${emulator.url}/v1/health`);
  assert.equal(response.status, 200);
  await response.arrayBuffer();
  // A raw request, to see the Worker's answer come back through the TCP pipe
  // byte for byte, on a connection the client then half-closes.
  const socket = net.connect(portOf(emulator.url), '127.0.0.1');
  socket.end(`GET /v1/health HTTP/1.1\r\nHost: ${new URL(emulator.url).host}\r\nConnection: close\r\n\r\n`);
  let raw = '';
  socket.setEncoding('latin1');
  socket.on('data', (chunk) => (raw += chunk));
  await once(socket, 'close');
  assert.match(raw, /^HTTP\/1\.1 200 /);
});

// A connection whose first `slow` bytes go out one per TCP segment, 5 ms
// apart; the rest as it comes.
function tricklingConnection(port, slow) {
  const socket = net.connect({ port, host: '127.0.0.1', noDelay: true });
  let sent = 0;
  const duplex = new Duplex({
    async write(chunk, encoding, callback) {
      let i = 0;
      for (; sent < slow && i < chunk.length; i++, sent++) {
        socket.write(chunk.subarray(i, i + 1));
        await sleep(5);
      }
      socket.write(chunk.subarray(i), callback);
    },
    final(callback) {
      socket.end(callback);
    },
    read() {},
    destroy(error, callback) {
      socket.destroy();
      callback(error);
    },
  });
  socket.on('data', (chunk) => duplex.push(chunk));
  socket.on('end', () => duplex.push(null));
  socket.on('error', (error) => duplex.destroy(error));
  return duplex;
}

test('a preface split into 1-byte writes is still HTTP/2', async () => {
  const session = await h2Connect(emulator.url, { createConnection: () => tricklingConnection(portOf(emulator.url), 24) });
  try {
    const { status } = await h2Request(session, { ':method': 'GET', ':path': '/v1/health' });
    assert.equal(status, 200);
  } finally {
    session.close();
  }
});

test(`a connection that sends 3 bytes of the preface and stalls is closed after ${PREFACE_TIMEOUT_MS} ms`, async () => {
  const socket = net.connect(portOf(emulator.url), '127.0.0.1');
  await once(socket, 'connect');
  const started = Date.now();
  socket.write('PRI');
  socket.resume();
  socket.on('error', () => {});
  await once(socket, 'close');
  const held = Date.now() - started;
  assert.ok(held >= PREFACE_TIMEOUT_MS - 100 && held < PREFACE_TIMEOUT_MS + 3000, `closed after ${held} ms`);
});

test(`at most ${MAX_CONNECTIONS} connections at once: the next is closed on accept`, async () => {
  // A bridge of its own: the shared emulator's serves the other test files.
  const bridge = await startH2cBridge({ port: 0, upstreamPort: portOf(emulator.url) });
  const port = portOf(bridge.url);
  const open = async () => {
    const socket = net.connect(port, '127.0.0.1');
    socket.on('error', () => {});
    await once(socket, 'connect');
    return socket;
  };
  const held = [];
  try {
    for (let i = 0; i < MAX_CONNECTIONS; i++) held.push(await open());
    await sleep(200); // the bridge accepts them all
    const refused = await open();
    const closed = once(refused, 'close');
    assert.equal(await Promise.race([closed.then(() => 'closed'), sleep(2000).then(() => 'open')]), 'closed');
    assert.ok(held.every((socket) => !socket.destroyed), 'the ones before it stay open');
  } finally {
    held.forEach((socket) => socket.destroy());
    await bridge.close();
  }
});

test('the bridge forwards the authority as Host, streams bodies, and aborts upstream when the client resets', async () => {
  // A stand-in for wrangler that shows what it is sent.
  const seen = [];
  const upstream = http.createServer((request, response) => {
    let body = '';
    request.on('data', (chunk) => (body += chunk));
    request.on('end', () => {
      seen.push({ method: request.method, url: request.url, headers: request.headers, body });
      if (request.url === '/hang') {
        response.writeHead(200, { 'content-type': 'text/plain' });
        response.write('first\n'); // then nothing, until the client goes
        response.on('close', () => seen.push({ aborted: request.url }));
        return;
      }
      response.writeHead(200, { 'content-type': 'application/json', 'x-kept': 'yes' });
      response.end(JSON.stringify(seen.at(-1)));
    });
  }).listen(0, '127.0.0.1');
  await once(upstream, 'listening');
  const bridge = await startH2cBridge({ port: 0, upstreamPort: upstream.address().port });
  const session = await h2Connect(bridge.url);
  try {
    const echoed = await h2Request(session, { ':method': 'POST', ':path': '/a?b=c', ':authority': 'kv.example:8787', 'x-mine': '1' }, 'body');
    assert.equal(echoed.headers['x-kept'], 'yes');
    const request = JSON.parse(echoed.body);
    assert.deepEqual([request.method, request.url, request.headers.host, request.headers['x-mine'], request.body],
      ['POST', '/a?b=c', 'kv.example:8787', '1', 'body']);

    const stream = session.request({ ':method': 'GET', ':path': '/hang' });
    stream.setEncoding('utf8');
    const [first] = await once(stream, 'data');
    assert.equal(first, 'first\n', 'the first chunk arrived before the response ended');
    stream.close(http2.constants.NGHTTP2_CANCEL);
    for (let i = 0; i < 100 && !seen.some((s) => s.aborted); i++) await sleep(20);
    assert.ok(seen.some((s) => s.aborted === '/hang'), 'the upstream request was aborted');
  } finally {
    session.close();
    await bridge.close();
    upstream.close();
  }
});

test('the Deno CLI reaches the Worker through the bridge', { timeout: 120_000 }, async () => {
  const deno = ensureDenoCli();
  const store = await createStore(emulator);
  // A folder without a package.json, or Deno takes the script for part of
  // this Node package (platform notes).
  const dir = mkdtempSync(join(tmpdir(), 'kv-deno-'));
  try {
    writeFileSync(join(dir, 'open.ts'), `
const kv = await Deno.openKv(Deno.args[0]);
await kv.set(["deno"], "hello");
console.log(JSON.stringify((await kv.get(["deno"])).value));
kv.close();
`);
    const child = spawn(deno, ['run', '--unstable-kv', '--allow-net', '--allow-env=DENO_KV_ACCESS_TOKEN',
      'open.ts', `${emulator.url}/v1/kv-connect`], {
      cwd: dir,
      env: { ...process.env, DENO_KV_ACCESS_TOKEN: store.accessToken, DENO_DIR: join(dir, 'cache'),
        DENO_NO_UPDATE_CHECK: '1', NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), 90_000);
    const [code] = await once(child, 'exit');
    clearTimeout(timer);
    // Straight to wrangler, Deno fails with "frame with invalid size".
    assert.equal(code, 0, `deno exited ${code}:\n${output}`);
    assert.equal(output.trim(), '"hello"');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
