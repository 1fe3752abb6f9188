// The load generator: a Node process of its own (bench/http_bench.js forks
// it once per target) that, for each spec it is sent, sends one case's
// requests to one Worker on 127.0.0.1 over node:http with keep-alive
// connections, one per virtual user, and replies with every latency. Each
// run is bounded: it stops at maxRequests or maxMs, whichever comes first,
// after a short warm-up that is not counted. It also adds up the rows the
// responses say their Durable Object read and wrote (kv-rows-read,
// kv-rows-written; bench/emulators.js turns them on).

import http from 'node:http';
import { pathToFileURL } from 'node:url';
import { CASES, SCALE_CASES } from './cases.js';

/**
 * spec: { url, token, caseId, concurrency, maxRequests, maxMs,
 * warmupRequests, run, params } (run: a string unique to this run, for
 * keys; params: the case's, e.g. { keys } for the scale cases).
 * Returns { latencies (ms, in completion order), errors, firstError,
 * elapsedMs, rows } (rows: see rowTally).
 */
export async function generateLoad(spec) {
  const target = new URL(spec.url);
  if (!['127.0.0.1', 'localhost', '[::1]'].includes(target.hostname)) {
    throw new Error(`the load generator only sends to this machine, not ${target.hostname}`);
  }
  const testCase = [...CASES, ...SCALE_CASES].find((c) => c.id === spec.caseId);
  const agent = new http.Agent({ keepAlive: true, maxSockets: spec.concurrency });
  const sessions = Array.from({ length: spec.concurrency }, (_, user) => testCase.session(user, spec.run, spec.params));
  const post = (body) => send(agent, target, testCase, spec.token, body);
  try {
    await phase(sessions, post, { maxRequests: spec.warmupRequests, maxMs: 500 });
    return await phase(sessions, post, spec);
  } finally {
    agent.destroy();
  }
}

// Runs every session's requests back to back until the bounds; returns the
// figures of this phase.
async function phase(sessions, post, { maxRequests, maxMs }) {
  const latencies = new Float64Array(maxRequests);
  let issued = 0;
  let errors = 0;
  let firstError = null;
  const rows = rowTally();
  const start = performance.now();
  const deadline = start + maxMs;
  await Promise.all(sessions.map(async (session) => {
    while (issued < maxRequests && performance.now() < deadline) {
      const index = issued++;
      const sent = performance.now();
      let problem;
      try {
        const { status, text, headers } = await post(session.body());
        problem = session.accept(status, text, headers);
        countRows(rows, headers);
      } catch (error) {
        problem = error.message;
      }
      latencies[index] = performance.now() - sent;
      if (problem !== null) {
        errors++;
        firstError ??= problem;
      }
    }
  }));
  return { latencies: Array.from(latencies.subarray(0, issued)), errors, firstError, elapsedMs: performance.now() - start, rows };
}

/**
 * Rows read and written over the responses that carried the counts
 * (`responses` of them): sums, and the least and most of one response.
 */
export function rowTally() {
  return { responses: 0, read: 0, written: 0, minRead: Infinity, maxRead: 0, minWritten: Infinity, maxWritten: 0 };
}

function countRows(tally, headers) {
  const read = headers['kv-rows-read'];
  const written = headers['kv-rows-written'];
  if (read === undefined || written === undefined) return;
  addRows(tally, { responses: 1, read: Number(read), written: Number(written),
    minRead: Number(read), maxRead: Number(read), minWritten: Number(written), maxWritten: Number(written) });
}

/** Adds tally `more` into `tally`. */
export function addRows(tally, more) {
  for (const field of ['responses', 'read', 'written']) tally[field] += more[field];
  for (const field of ['minRead', 'minWritten']) tally[field] = Math.min(tally[field], more[field]);
  for (const field of ['maxRead', 'maxWritten']) tally[field] = Math.max(tally[field], more[field]);
}

// One request of `testCase` (its method, path, content type and headers);
// resolves to { status, text, headers }, text a Buffer for a binary case.
function send(agent, target, testCase, token, body) {
  const headers = { ...testCase.headers, authorization: `Bearer ${token}` };
  if (body !== null) {
    Object.assign(headers, { 'content-type': testCase.contentType ?? 'application/json', 'content-length': Buffer.byteLength(body) });
  }
  const { method = 'POST', path, binary } = testCase;
  return new Promise((resolve, reject) => {
    const request = http.request({ agent, host: target.hostname, port: target.port, path, method, headers }, (response) => {
      const chunks = [];
      response.on('data', (chunk) => chunks.push(chunk));
      response.on('end', () => {
        const bytes = Buffer.concat(chunks);
        resolve({ status: response.statusCode, text: binary ? bytes : bytes.toString(), headers: response.headers });
      });
      response.on('error', reject);
    });
    request.on('error', reject);
    request.end(body ?? undefined);
  });
}

// As a forked child process: specs in, results out, one at a time, until
// the parent disconnects.
if (process.send && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.on('message', async (spec) => {
    try {
      process.send({ result: await generateLoad(spec) });
    } catch (error) {
      process.send({ error: error.stack ?? String(error) });
    }
  });
  process.on('disconnect', () => process.exit(0));
}
