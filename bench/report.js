// Turns the results of a bench run into Markdown tables (printed, and
// written into docs/performance.md between its markers) and SVG charts.

import { barPanel, legend, linePanel, svgDocument } from './svg.js';
import { CASES, NOT_YET_MEASURED, runsOn } from './cases.js';
import { addRows, rowTally } from './load_generator.js';

const us = (ns) => (ns / 1000).toFixed(ns < 10_000 ? 2 : 1);
const ms = (v) => (v < 10 ? v.toFixed(2) : v.toFixed(1));
const ratio = (a, b) => (a > 0 && b > 0 ? (a / b).toFixed(2) : 'n/a');
const int = (v) => Math.round(v).toLocaleString('en-US');
const mib = (bytes) => `${(bytes / 1024 / 1024).toFixed(2)} MiB`;

function table(header, rows) {
  return [`| ${header.join(' | ')} |`, `| ${header.map(() => '---').join(' | ')} |`,
    ...rows.map((row) => `| ${row.join(' | ')} |`)].join('\n');
}

export function machineSection(results) {
  const { machine } = results;
  return `Run: \`${results.command}\`, ${results.startedAt}, ${results.durationSeconds.toFixed(0)} s in all.
Machine: ${machine.cpus} cores (\`nproc\`), ${machine.model} (/proc/cpuinfo), ${machine.memory} memory (\`free -h\`), Node ${machine.node}, wrangler ${machine.wrangler}.
Load average (1 min) at the start ${machine.loadBefore}, at the end ${machine.loadAfter}: other work shared the machine, so absolute figures are noisy.`;
}

export function coreSection({ core }) {
  if (!core) return '_Core microbenchmarks were not run._';
  const ops = table(['operation (storage-free)', 'native µs', 'wasm µs', 'wasm / native'],
  core.ops.map((op) => [op.name, op.nativeNs ? us(op.nativeNs) : 'n/a', us(op.wasmNs), `**${ratio(op.wasmNs, op.nativeNs)}**`]));
  const requests = table(['request (core + SQLite)', 'native µs', 'Node + wasm µs', 'wasm / native',
    'split (wall µs): wasm', 'storage glue (JS)', 'SQLite (better-sqlite3)', 'copies + transaction (JS)'],
  core.requests.map((r) => [r.name, r.nativeNs ? us(r.nativeNs) : 'n/a', us(r.nodeNs), ratio(r.nodeNs, r.nativeNs),
    `**${us(r.split.wasmNs)}**`, us(r.split.glueNs), us(r.split.sqliteNs), us(r.split.outsideNs)]));
  const get = core.requests.find((r) => r.name === 'get_1k');
  const within = core.ops.filter((op) => op.wasmNs / op.nativeNs <= 1.5).map((op) => op.name);
  return `${ops}\n\n${requests}\n\nGoals: core time of a 1 KiB get in wasm ${us(get.split.wasmNs)} µs (goal: under 10 µs);`
    + ` storage-free operations within 1.5x of native: ${within.length} of ${core.ops.length}`
    + `${within.length ? ` (${within.join(', ')})` : ''}.`;
}

export function footprintSection({ footprint }) {
  if (!footprint) return '_Footprint was not measured._';
  const { module, memory } = footprint;
  const sizes = table(['kv_core.wasm', 'value'], [
    ['size', `${int(module.rawBytes)} bytes`],
    ['size, gzip -9', `${int(module.gzipBytes)} bytes`],
    ['compile (new WebAssembly.Module), median of 5', `${ms(module.compileMs)} ms`],
    ['createCore (new Instance + _initialize + statements), median of 20', `${ms(module.instantiateMs)} ms`],
    ['createCore, first time', `${ms(module.firstInstantiateMs)} ms`],
  ]);
  const growth = table(['requests handled', 'wasm memory'], memory.memory.map((m) => [int(m.calls), mib(m.bytes)]));
  const cut = memory.calls < memory.requested
    ? ` The run stopped at the time budget, short of ${int(memory.requested)}.` : '';
  return `${sizes}\n\n${growth}\n\n${int(memory.calls)} requests (a set of 1 KiB, a get, a getMany of 10, a`
    + ' check-and-set commit and a delete, in turn, over 1,000 keys) through createCore on one in-memory SQLite'
    + ` database (better-sqlite3) in ${memory.seconds.toFixed(1)} s,`
    + ` ${us((memory.seconds * 1e9) / memory.calls)} µs each on average; ${memory.failures} failed.${cut}`;
}

const capitalized = (text) => text[0].toUpperCase() + text.slice(1);
const TARGETS = ['ours', 'baseline'];

const caseOf = (id) => CASES.find((c) => c.id === id);

// The rows of one mode's table, the operations not measured yet last. A
// case that did not run on the baseline (its `skipOn`) has dashes there.
function modeTable(rows) {
  const lines = rows.map((row) => {
    const ours = row.results.ours;
    const base = row.results.baseline;
    const errors = ours.errors + (base?.errors ?? 0);
    const baseCells = base ? [int(base.opsPerSec), ms(base.p50Ms), ms(base.p99Ms), `**${ratio(ours.opsPerSec, base.opsPerSec)}**`]
      : ['–', '–', '–', 'n/a'];
    return [row.caseName, row.concurrency, int(ours.opsPerSec), ms(ours.p50Ms), ms(ours.p99Ms), ...baseCells,
      errors === 0 ? '0' : `${errors}: ${ours.firstError ?? base?.firstError}`];
  });
  for (const pending of NOT_YET_MEASURED) {
    lines.push([pending.name, '–', '–', '–', '–', '–', '–', '–', '–', `not measured: ${pending.reason}`]);
  }
  const oursOnly = [...new Set(rows.filter((row) => !row.results.baseline).map((row) => row.caseId))].map(caseOf)
    .filter((c) => c && !runsOn(c, 'baseline'));
  const note = oursOnly.length === 0 ? ''
    : `\n\nOn ours only: ${oursOnly.map((c) => `${c.name} (${c.skipOn.baseline})`).join('; ')}.`;
  return table(['case', 'concurrency', 'ours ops/s', 'ours p50 ms', 'ours p99 ms', 'baseline ops/s',
    'baseline p50 ms', 'baseline p99 ms', 'ours / baseline', 'errors'], lines) + note;
}

export function httpSection({ http }) {
  if (!http) return '_The end-to-end benchmark was not run._';
  const { bounds } = http;
  return [...http.modes.map((m) => `#### ${capitalized(m.title)}\n\n${modeTable(m.rows)}`),
    `Each row: at most ${int(bounds.maxRequests)} requests or ${bounds.maxMs / 1000} s per target, in 3 rounds`
    + ' that alternate between the targets (a KV Connect case\'s rounds alternate with those of the JSON case it pairs'
    + ' with too), each after an uncounted warm-up of 2 requests per connection (at most 0.5 s);'
    + ' one keep-alive connection per concurrent user (node:http Agent), raw HTTP, not the client in js/.'
    + ' One mode at a time: its two workerd (one per Worker) run alone.'].join('\n\n');
}

/** Ours / baseline (throughput) per case and concurrency, a column per mode. */
export function ratioSection({ http }) {
  if (!http) return '_The end-to-end benchmark was not run._';
  const [first, ...others] = http.modes;
  const lines = first.rows.filter((row) => row.results.baseline).map((row) => [row.caseName, row.concurrency, ...http.modes.map((m) => {
    const same = m.rows.find((r) => r.caseId === row.caseId && r.concurrency === row.concurrency);
    return same?.results.baseline ? `**${ratio(same.results.ours.opsPerSec, same.results.baseline.opsPerSec)}**` : 'n/a';
  })]);
  const note = others.length === 0 ? '' : '\n\nThe same cases and bounds in each mode; only the HTTP stack in front of the Worker differs.';
  return table(['case', 'concurrency', ...http.modes.map((m) => `ours / baseline, ${m.mode}`)], lines) + note;
}

/** The health case per mode: what the HTTP stack costs before any Durable Object. */
export function floorSection({ http }) {
  if (!http) return '_The end-to-end benchmark was not run._';
  const lines = http.modes.flatMap((m) => m.rows.filter((row) => row.caseId === 'health').map((row) => [
    m.mode, row.concurrency, ...TARGETS.flatMap((t) => [ms(row.results[t].p50Ms), int(row.results[t].opsPerSec)])]));
  return table(['mode', 'concurrency', 'ours p50 ms', 'ours ops/s', 'baseline p50 ms', 'baseline ops/s'], lines)
    + `\n\nModes: ${http.modes.map((m) => `\`${m.mode}\`, ${m.title}`).join('; ')}.`;
}

/** HTTP/1.1 through the h2c bridge's port beside wrangler's own (dev mode). */
export function bridgeSection({ bridge }) {
  if (!bridge) return '_Not measured: it runs in the dev mode._';
  const lines = bridge.rows.map(({ caseName, concurrency, results: { bridge: b, wrangler: w } }) => [caseName, concurrency,
    int(b.opsPerSec), ms(b.p50Ms), ms(b.p99Ms), int(w.opsPerSec), ms(w.p50Ms), ms(w.p99Ms), `**${ratio(b.opsPerSec, w.opsPerSec)}**`,
    b.errors + w.errors === 0 ? '0' : `${b.errors + w.errors}: ${b.firstError ?? w.firstError}`]);
  return table(['case', 'concurrency', 'bridge ops/s', 'bridge p50 ms', 'bridge p99 ms', 'wrangler ops/s',
    'wrangler p50 ms', 'wrangler p99 ms', 'bridge / wrangler', 'errors'], lines)
    + '\n\nThe store in `wrangler dev` as `npm start` runs it, over HTTP/1.1: through its public port, where'
    + ' scripts/h2c_bridge.js pipes every connection that does not open with the HTTP/2 preface to wrangler at the'
    + ' TCP level, and through wrangler\'s own port, in rounds that alternate between the two (same bounds and'
    + ' keep-alive connections as above).';
}

// Rows per operation over every timed response of a case that carried the
// counts, in every mode and at every concurrency.
function rowsOf(http, caseId, target) {
  const tally = rowTally();
  for (const m of http.modes) {
    for (const row of m.rows) if (row.caseId === caseId && row.results[target]) addRows(tally, row.results[target].rows);
  }
  return tally;
}

function perOperation(tally, field) {
  if (tally.responses === 0) return '–';
  const min = tally[`min${capitalized(field)}`];
  const max = tally[`max${capitalized(field)}`];
  const mean = tally[field] / tally.responses;
  return min === max ? String(min) : `${mean.toFixed(2)} (${min} to ${max})`;
}

/** Rows read and written per operation (what Cloudflare bills), ours beside the baseline. */
export function rowsSection({ http }) {
  if (!http) return '_The end-to-end benchmark was not run._';
  const lines = [];
  const notes = [];
  const ran = (c) => http.modes.some((m) => m.rows.some((row) => row.caseId === c.id));
  for (const c of CASES.filter((testCase) => testCase.rowsNote !== undefined && ran(testCase))) {
    const [ours, base] = TARGETS.map((t) => rowsOf(http, c.id, t));
    lines.push([c.name, perOperation(ours, 'read'), perOperation(base, 'read'), perOperation(ours, 'written'),
      perOperation(base, 'written')]);
    if (ours.responses === 0 || base.responses === 0) continue;
    const extra = ['read', 'written'].map((f) => ({ f, rows: ours[f] / ours.responses - base[f] / base.responses }))
      .filter((e) => e.rows > 0.005).map((e) => `${+e.rows.toFixed(2)} ${e.rows === 1 ? 'row' : 'rows'} ${e.f}`);
    if (extra.length > 0) notes.push(`- **${c.name}**, ${extra.join(' and ')} per operation: ${c.rowsNote}.`);
  }
  const silent = CASES.filter((c) => c.rowsNote !== undefined && ran(c) && rowsOf(http, c.id, 'ours').responses === 0);
  const readsThatWrite = CASES.filter((c) => c.read && rowsOf(http, c.id, 'ours').written > 0).map((c) => c.name);
  return [
    table(['case', 'ours rows read', 'baseline rows read', 'ours rows written', 'baseline rows written'], lines),
    'Per operation, from the `kv-rows-read` and `kv-rows-written` headers (the sums of the SQL cursors\''
    + ' `rowsRead` and `rowsWritten` over the request\'s statements in the Durable Object, KV_ROW_COUNTS=on) of every timed'
    + ' response, in every mode and at every concurrency; the mean and the range where responses differed.'
    + ' Writes outside any request (ours\' alarm that folds the operations reads hold in memory into kv_state, at most'
    + ' once per interval) are in no response, so not here.'
    + ` Goal: a read writes no rows; reads that wrote rows: ${readsThatWrite.length ? readsThatWrite.join(', ') : 'none'}.`
    + (silent.length ? ` No counts from ours for: ${silent.map((c) => c.name).join(', ')}.` : ''),
    ...(notes.length ? ['Where ours\' rows beyond the baseline\'s come from:', notes.join('\n')] : []),
  ].join('\n\n');
}

// The issue's goal: a KV Connect get costs at most 10% more than the JSON
// get of the same run: throughput at least 1 / 1.1 of the JSON get's, and
// p50 at most 1.1 times its.
const KVC_GOAL = 1.1;
const KVC_PAIRS = [['kvc_get_1k', 'get_1k', true], ['kvc_set_1k', 'set_1k', false]];

/** KV Connect's cases beside the JSON cases they pair with (ours), per mode and concurrency, and the get's goal. */
export function kvConnectSection({ http }) {
  if (!http) return '_The end-to-end benchmark was not run._';
  const lines = [];
  const verdicts = [];
  for (const m of http.modes) {
    for (const [kvcId, jsonId, goal] of KVC_PAIRS) {
      for (const row of m.rows.filter((r) => r.caseId === kvcId)) {
        const json = m.rows.find((r) => r.caseId === jsonId && r.concurrency === row.concurrency)?.results.ours;
        if (!json) continue;
        const kvc = row.results.ours;
        const throughput = kvc.opsPerSec / json.opsPerSec;
        const latency = kvc.p50Ms / json.p50Ms;
        const met = throughput >= 1 / KVC_GOAL && latency <= KVC_GOAL;
        if (goal) verdicts.push({ mode: m.mode, concurrency: row.concurrency, met });
        lines.push([m.mode, `${row.caseName} / ${caseOf(jsonId)?.name ?? jsonId}`, row.concurrency, int(kvc.opsPerSec), int(json.opsPerSec),
          `**${throughput.toFixed(2)}**`, ms(kvc.p50Ms), ms(json.p50Ms), `**${latency.toFixed(2)}**`, goal ? (met ? 'yes' : 'no') : '–']);
      }
    }
  }
  if (lines.length === 0) return '_No KV Connect case ran beside the JSON case it pairs with._';
  const summary = [...new Set(verdicts.map((v) => v.mode))].map((mode) => {
    const of = verdicts.filter((v) => v.mode === mode);
    const met = of.filter((v) => v.met).map((v) => `c${v.concurrency}`);
    return `${mode}: ${met.length} of ${of.length}${met.length ? ` (${met.join(', ')})` : ''}`;
  }).join('; ');
  return table(['mode', 'KV Connect / JSON', 'concurrency', 'KV Connect ops/s', 'JSON ops/s', 'ops/s ratio',
    'KV Connect p50 ms', 'JSON p50 ms', 'p50 ratio', 'get within 10%'], lines)
    + '\n\nOurs only, from the tables above: each KV Connect case (protobuf over `/v1/kv-connect/snapshot_read` and'
    + ' `/atomic_write`, as Deno\'s client sends it) measured in the same rounds as the JSON case it pairs with, the rounds'
    + ' alternating over both and the baseline. The get reads the same seeded 1 KiB entries (stored as JSON, answered as'
    + ' V8 bytes); the set writes the value as V8 bytes (`v8.serialize`), stored as JSON.'
    + ` Goal: a KV Connect get costs at most 10% more than the JSON get, that is an ops/s ratio of at least ${(1 / KVC_GOAL).toFixed(2)}`
    + ` and a p50 ratio of at most ${KVC_GOAL.toFixed(2)}; met at: ${summary || 'no get measured'}.`
    + ' The set has no goal.';
}

const outcomesText = (outcomes) => Object.entries(outcomes).map(([outcome, n]) => `${int(n)} × ${outcome}`).join(', ');

/** The machine and load line of a part run alone (--only=batching, --only=queue; a full run has machineSection). */
export function partMachineLine(part) {
  const { machine } = part;
  return `Run: \`${part.command}\`, ${part.startedAt}. Machine: ${machine.cpus} cores (\`nproc\`), ${machine.model},`
    + ` Node ${machine.node}, wrangler ${machine.wrangler}. Load average (1 min) at the start ${machine.loadBefore},`
    + ` at the end ${machine.loadAfter}.`;
}

/** The client's auto-batching (bench/batching.js): 100 concurrent gets a round, batching on and off, per mode. */
export function batchingSection({ batching }) {
  if (!batching || batching.modes.length === 0) return '_The batching part was not run._';
  const lines = [];
  const ratios = [];
  for (const m of batching.modes) {
    const { batched: on, unbatched: off } = m.settings;
    for (const s of [on, off]) {
      const spread = s.minRequestsPerRound === s.maxRequestsPerRound ? '' : ` (${s.minRequestsPerRound} to ${s.maxRequestsPerRound})`;
      lines.push([m.mode, s.name, `${+s.requestsPerRound.toFixed(2)}${spread}`, outcomesText(s.outcomes), int(s.rounds), ms(s.roundsPerSec), int(s.getsPerSec),
        ms(s.p50Ms), ms(s.p95Ms), `${m.load.before.toFixed(2)} → ${m.load.after.toFixed(2)}`]);
    }
    ratios.push([m.mode, ratio(off.requestsPerRound, on.requestsPerRound), `**${ratio(on.getsPerSec, off.getsPerSec)}**`,
      `**${ratio(on.p50Ms, off.p50Ms)}**`, ratio(on.p95Ms, off.p95Ms)]);
  }
  const problems = batching.modes.flatMap((m) => Object.values(m.settings).filter((s) => s.firstProblem)
    .map((s) => `- ${m.mode}, ${s.name}: \`${s.firstProblem.replace(/`/g, "'").replace(/\s+/g, ' ')}\``));
  const [first] = batching.modes;
  const { bounds } = first;
  return [
    table(['mode', 'client', 'HTTP requests per round', 'their answers', 'rounds', 'rounds/s', 'gets/s', 'round p50 ms', 'round p95 ms',
      'load average'], lines),
    table(['mode', 'requests, off / on', 'gets/s, on / off', 'round p50, on / off', 'round p95, on / off'], ratios),
    `A round: \`await Promise.all(keys.map((key) => kv.get(key)))\` over ${first.keysPerRound} distinct keys`
    + ` \`["bench","batch",i]\` of ${int(first.valueBytes)}-byte JSON values, one value per key, each get checked against its`
    + ' own key\'s value (a wrong or missing answer fails the run). Through the ESM client in js/ in the bench\'s own Node'
    + ' process (Node\'s fetch, keep-alive), as connect() makes it, against ours in the mode of the row: batching on (the'
    + ' default: the gets of a tick are one `POST /v1/get` of up to 100 keys) and off (`connect({ batchGets: false })`:'
    + ' one request per get, all 100 in flight at once). HTTP requests: every call of the counting `fetch` passed to'
    + ' connect() (retries count), per timed round; their answers: each status, or the error fetch threw. Per setting'
    + ` and mode: at most ${int(bounds.maxRounds)} rounds or ${bounds.maxMs / 1000} s of rounds (but at least`
    + ` ${bounds.minRoundsPerBlock ?? 1} rounds a block), in ${bounds.blocks} blocks that alternate between the two settings, after`
    + ` ${bounds.warmupRounds} uncounted rounds each; rounds/s and gets/s over the rounds' own time. Load average: the`
    + ' 1-minute figure at the start and the end of the mode\'s part.',
    ...(problems.length ? ['The first answer other than a 200 (warm-up included), per setting; the client retried it:', problems.join('\n')] : []),
  ].join('\n\n');
}

/** Queues (bench/queue.js): enqueue → deliver → ack throughput, and the delivery latency of due and delayed messages, per mode. */
export function queueSection({ queue }) {
  if (!queue || queue.modes.length === 0) return '_The queue part was not run._';
  const load = (m) => `${m.load.before.toFixed(2)} → ${m.load.after.toFixed(2)}`;
  const [first] = queue.modes;
  const { settings } = first;
  const enqueuedBy = { batch: `commits of ${settings.batchSize}`, single: `single, ${settings.singleInFlight} in flight` };
  const throughput = queue.modes.flatMap((m) => m.throughput.map((row) => [m.mode, enqueuedBy[row.producer],
    `${row.listeners} × ${row.concurrency}`, int(row.messages), int(row.enqueueMsgsPerSec), `**${int(row.msgsPerSec)}**`,
    `${ms(row.deliveryP50Ms)} / ${ms(row.deliveryP95Ms)} / ${ms(row.deliveryMaxMs)}`, int(row.duplicates),
    `${int(row.settles.requests)} (${(row.messages / row.settles.requests).toFixed(1)})`, outcomesText(row.outcomes), load(m)]));
  const latency = queue.modes.map(({ mode, latency: { due, delayed, outcomes } }) => [mode,
    `**${ms(due.p50Ms)}** / ${ms(due.p95Ms)} / ${ms(due.maxMs)}`, ms(due.commitP50Ms), int(due.rounds),
    `**${ms(delayed.p50Ms)}** / ${ms(delayed.p95Ms)} / ${ms(delayed.maxMs)}`, int(delayed.rounds), outcomesText(outcomes)]);
  const problems = queue.modes.flatMap((m) => [...m.throughput, m.latency].filter((r) => r.firstProblem)
    .map((r) => `- ${m.mode}${r.producer ? `, ${r.listeners} × ${r.concurrency}` : ', latency'}: \`${r.firstProblem.replace(/`/g, "'").replace(/\s+/g, ' ')}\``));
  return [
    table(['mode', 'enqueued', 'listeners × concurrency', 'messages', 'enqueue msgs/s', 'enqueue → ack msgs/s',
      'enqueue → handler p50 / p95 / max ms', 'duplicates', 'settle requests (messages each)', 'HTTP answers', 'load average'], throughput),
    table(['mode', 'due message: enqueue → handler p50 / p95 / max ms', 'enqueue answered p50 ms', 'rounds',
      `delay ${int(settings.delayMs)} ms and more: late past due p50 / p95 / max ms`, 'messages', 'HTTP answers'], latency),
    `Throughput: ${int(settings.messages)} messages \`{ run, i }\` per row, on a store of its own, enqueued through \`POST /v1/atomic\``
    + ` \`enqueues\` (in commits of ${settings.batchSize}, one commit at a time, or one per request with ${settings.singleInFlight} in flight)`
    + ' to listeners (`POST /v1/queue/listen`, at the concurrency of the row) that were connected and idle before the first;'
    + ' each handler resolves at once and the outcomes of a tick are settled in one request. enqueue msgs/s: the messages over'
    + ' the time until the last enqueue was answered; enqueue → ack: over the time until the settle that acknowledged the last'
    + ' message was answered; enqueue → handler: from the sending of a message\'s enqueue to its handler\'s call. Every'
    + ' message is checked: each value must reach a handler (duplicates counted), none may be foreign, every settle must'
    + ` answer \`acked\`, and \`GET /v1/queue\` must say depth 0 after the row; a message missing for ${settings.stallMs / 1000} s`
    + ` without progress fails the run. Latency: one listener at the store's defaults, idle; ${int(settings.latencyRounds)} rounds`
    + ' of one enqueue each, timed from the enqueue\'s start to the handler\'s call, its acknowledgement answered before the'
    + ` next round; then ${int(settings.delayedRounds)} messages enqueued one after another with delays of ${int(settings.delayMs)} ms,`
    + ` ${settings.delaySpacingMs} ms more for each next one (so each comes due alone): late past due is the handler's call less the`
    + ' enqueue\'s start and its delay, an upper bound (the store reads its clock between the enqueue\'s start and its answer);'
    + ' a message handed over before its due time fails the run. The producer and listeners are the client in js/'
    + ' (`kv.enqueue`, `kv.atomic().enqueue(…).commit()`, `kv.listenQueue`) in the bench\'s own Node process (Node\'s fetch). Load average: the'
    + ' 1-minute figure at the start and the end of the mode\'s part.',
    ...(problems.length ? ['The first answer other than a 200, per row:', problems.join('\n')] : []),
  ].join('\n\n');
}

export function scaleSection({ scale }) {
  if (!scale) return '_Scale was not measured._';
  const native = new Map((scale.native ?? []).map((n) => [n.keys, n]));
  const rows = scale.points.map((p) => [int(p.keys), p.fillSeconds.toFixed(1), ms(p.get.p50Ms), ms(p.get.p99Ms),
    ms(p.set.p50Ms), ms(p.set.p99Ms), native.has(p.keys) ? us(native.get(p.keys).getNs) : 'n/a',
    native.has(p.keys) ? us(native.get(p.keys).setNs) : 'n/a']);
  for (const keys of scale.notReached) {
    const n = native.get(keys);
    rows.push([int(keys), 'not reached in the time budget', '–', '–', '–', '–', n ? us(n.getNs) : 'n/a', n ? us(n.setNs) : 'n/a']);
  }
  const note = scale.notReached.length === 0 ? ''
    : `\n\nThe HTTP fill stopped at ${int(scale.filled)} keys after ${scale.fillSeconds.toFixed(0)} s (time budget).`;
  const nativeFill = scale.native?.length ? `\n\nNative fill (Store::Commit, 1,000 sets per commit, SQLite :memory:) to ${int(scale.native.at(-1).keys)} keys: ${scale.native.at(-1).fillSeconds.toFixed(1)} s.` : '';
  const where = scale.mode ? `\n\nOver HTTP: ${scale.mode}.` : '';
  return table(['keys in the store', 'HTTP fill, cumulative s', 'get p50 ms', 'get p99 ms', 'set p50 ms', 'set p99 ms',
    'native get µs (mean)', 'native set µs (mean)'], rows) + where + note + nativeFill;
}

/** Where the time of a 1 KiB get at concurrency 1 goes, from the figures above, per mode. */
export function costSection(results) {
  const core = results.core?.requests.find((r) => r.name === 'get_1k');
  const modes = (results.http?.modes ?? []).map((m) => {
    const row = (caseId) => m.rows.find((r) => r.caseId === caseId && r.concurrency === 1);
    return { mode: m.mode, get: row('get_1k'), health: row('health') };
  }).filter((m) => m.get && m.health);
  if (modes.length === 0 || !core) return '_Needs both the end-to-end and the core figures._';
  const columns = modes.flatMap((m) => TARGETS.map((target) => ({ ...m, target })));
  const line = (name, value) => [name, ...columns.map(value)];
  const coreMs = (ns) => ({ target }) => (target === 'ours' ? (ns / 1e6).toFixed(3) : '–');
  return table(['a 1 KiB get at concurrency 1 (p50, ms)', ...columns.map((c) => `${c.target}, ${c.mode}`)], [
    line('whole request, end to end', (c) => ms(c.get.results[c.target].p50Ms)),
    line('HTTP floor: GET /v1/health through the same stack, no Durable Object', (c) => ms(c.health.results[c.target].p50Ms)),
    line('the difference: auth, Durable Object RPC, transaction, storage, core',
      (c) => ms(c.get.results[c.target].p50Ms - c.health.results[c.target].p50Ms)),
    line('the core call alone (wasm + glue + SQLite), timed in Node', coreMs(core.split.totalNs)),
    line('   of which inside wasm', coreMs(core.split.wasmNs)),
  ]);
}

export function markdownReport(results) {
  return [
    machineSection(results),
    '### End to end: ours and the baseline', httpSection(results),
    '### Ours / baseline in each mode', ratioSection(results),
    '### The HTTP floor in each mode', floorSection(results),
    '### HTTP/1.1 through the h2c bridge and straight to wrangler dev', bridgeSection(results),
    '![throughput and latency per case](performance.svg)',
    '### KV Connect beside the JSON API', kvConnectSection(results),
    '### The client\'s auto-batching: 100 concurrent gets', batchingSection(results),
    '### Queues: enqueue → deliver → ack, and delivery latency', queueSection(results),
    '### Rows read and written per operation', rowsSection(results),
    '### Where the time of a request goes', costSection(results),
    '### Core microbenchmarks: native and wasm (CPU time per operation)', coreSection(results),
    '### Footprint', footprintSection(results),
    '### Scale: one store from 1k to 1M keys (concurrency 1)', scaleSection(results),
    '![get and set latency by store size](performance-scale.svg)',
  ].join('\n\n');
}

export function throughputSvg(results) {
  const { modes } = results.http;
  const series = modes.flatMap((m) => TARGETS.map((target) => ({ name: `${target} (${m.mode})`, mode: m, target })));
  const rows = modes[0].rows;
  const groups = (value, whisker) => rows.map((row, i) => ({
    // The case's name under the middle of its groups, without the remark in
    // parentheses (the tables have it).
    label: i % 3 === 1 || rows.filter((r) => r.caseId === row.caseId).length === 1 ? row.caseName.replace(/ \(.*\)$/, '') : '',
    sublabel: `c${row.concurrency}`,
    bars: series.map(({ mode, target }) => {
      const figures = mode.rows.find((r) => r.caseId === row.caseId && r.concurrency === row.concurrency)?.results[target];
      return figures ? { value: value(figures), whisker: whisker?.(figures) } : { value: 0 };
    }),
  }));
  const width = 1180;
  const body = [
    legend(width - series.length * 120, 18, series),
    barPanel({ x: 8, y: 8, width, height: 300, title: 'Throughput per case; c1, c16, c64: concurrent connections', yLabel: 'requests/s',
      groups: groups((r) => r.opsPerSec), series }),
    barPanel({ x: 8, y: 318, width, height: 300, title: 'Latency: p50 bar, p99 whisker', yLabel: 'ms (log scale)',
      groups: groups((r) => r.p50Ms, (r) => r.p99Ms), series, log: true }),
  ].join('\n');
  return svgDocument(width + 16, 650, body, `${results.command}, ${results.startedAt}; ${results.machine.cpus} cores, load average ${results.machine.loadBefore}; `
    + 'direct: one workerd per Worker; dev: wrangler dev');
}

export function scaleSvg(results) {
  const points = results.scale.points;
  const line = (name, pick, color, dashed) => ({ name, color, dashed, points: points.map((p) => [p.keys, pick(p)]) });
  const body = linePanel({ x: 8, y: 8, width: 720, height: 300, title: 'Latency by store size (concurrency 1)',
    yLabel: 'ms', xLabel: 'keys in the store', lines: [
      line('get p50', (p) => p.get.p50Ms, '#2b6cb0'), line('get p99', (p) => p.get.p99Ms, '#2b6cb0', true),
      line('set p50', (p) => p.set.p50Ms, '#dd6b20'), line('set p99', (p) => p.set.p99Ms, '#dd6b20', true),
    ] });
  return svgDocument(740, 330, body, `npm run bench, ${results.startedAt}`);
}
