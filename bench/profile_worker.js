// `node bench/profile_worker.js [case] [seconds]`: where ours spends the
// time of one end-to-end case inside workerd. Timing within a request is not
// possible there (the clock stands still), so this samples instead: the
// store in direct mode (bench/emulators.js) with workerd's V8 inspector
// open, the case at concurrency 1 from the bench's load generator, and V8's
// CPU profiler over the isolate that runs the Worker and its Durable
// Object (one isolate, locally). It prints the functions with the most self
// time, each as a share of all samples and as µs per request. Sampling
// slows the isolate down, so the µs are inflated alike; compare shares.
// Default: get_1k for 4 s. The cases: bench/cases.js.

import WebSocket from 'ws';
import { CASES, seedValues } from './cases.js';
import { startOurs } from './emulators.js';
import { startLoadGenerator } from './http_bench.js';
import { freePort } from '../scripts/emulator.js';

const caseId = process.argv[2] ?? 'get_1k';
const seconds = Number(process.argv[3] ?? 4);
if (!CASES.some((c) => c.id === caseId && c.session)) {
  throw new Error(`no case ${caseId}; the cases: ${CASES.filter((c) => c.session).map((c) => c.id).join(', ')}`);
}
const SAMPLING_INTERVAL_US = 50;
const TOP = 25;

/** A minimal Chrome DevTools Protocol session over the inspector's socket. */
async function inspect(port) {
  const targets = await (await fetch(`http://127.0.0.1:${port}/json/list`)).json();
  // The Worker's own isolate: workerd also lists Miniflare's internal ones.
  const target = targets.find((t) => t.title.includes('core:user:bench')) ?? targets.find((t) => !t.title.includes('core:'));
  if (!target) throw new Error(`no Worker among the inspector's targets: ${targets.map((t) => t.title).join(', ')}`);
  const socket = new WebSocket(target.webSocketDebuggerUrl);
  await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
  let lastId = 0;
  const pending = new Map();
  socket.on('message', (data) => {
    const message = JSON.parse(data);
    pending.get(message.id)?.(message);
    pending.delete(message.id);
  });
  const send = (method, params = {}) => new Promise((resolve) => {
    pending.set(++lastId, resolve);
    socket.send(JSON.stringify({ id: lastId, method, params }));
  });
  return { target: target.title, send, close: () => socket.close() };
}

// Self time per function (name, file, line), in µs.
function selfTimes(profile) {
  const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
  const times = new Map();
  profile.samples.forEach((sample, i) => {
    const { functionName, url, lineNumber } = nodes.get(sample).callFrame;
    const name = `${functionName || '(anonymous)'}${url ? ` ${url.split('/').pop()}:${lineNumber + 1}` : ''}`;
    times.set(name, (times.get(name) ?? 0) + profile.timeDeltas[i]);
  });
  return times;
}

const inspectorPort = await freePort();
const ours = await startOurs({ mode: 'direct', inspectorPort });
const generator = startLoadGenerator();
try {
  await seedValues(ours);
  const run = (maxMs, name) => generator.run({
    url: ours.url, token: ours.token, caseId, concurrency: 1, maxRequests: 1e6, maxMs, warmupRequests: 2, run: name,
  });
  await run(1500, 'warm-up'); // V8 optimizes the hot code first
  const inspector = await inspect(inspectorPort);
  await inspector.send('Profiler.enable');
  await inspector.send('Profiler.setSamplingInterval', { interval: SAMPLING_INTERVAL_US });
  await inspector.send('Profiler.start');
  const { latencies, errors } = await run(seconds * 1000, 'profiled');
  const { result: { profile } } = await inspector.send('Profiler.stop');
  inspector.close();
  const times = selfTimes(profile);
  const total = [...times.values()].reduce((sum, t) => sum + t, 0);
  console.log(`${caseId}, concurrency 1, ${seconds} s: ${latencies.length} requests (${errors} errors), `
    + `sampled every ${SAMPLING_INTERVAL_US} µs in ${inspector.target}\n`);
  console.log('| self time | µs per request | function |\n| --: | --: | --- |');
  for (const [name, time] of [...times].sort((a, b) => b[1] - a[1]).slice(0, TOP)) {
    console.log(`| ${((100 * time) / total).toFixed(1)}% | ${(time / latencies.length).toFixed(1)} | ${name.replaceAll('|', '\\|')} |`);
  }
} finally {
  await generator.close();
  await ours.stop();
}
