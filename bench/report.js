// Turns the results of a bench run into Markdown tables (printed, and
// written into docs/performance.md between its markers) and SVG charts.

import { barPanel, legend, linePanel, svgDocument } from './svg.js';
import { NOT_YET_MEASURED } from './cases.js';

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
  const ops = table(['operation (storage-free)', 'native µs', 'wasm µs', 'wasm / native',
    'wasm, libc++ inlined µs', 'inlined / native'],
  core.ops.map((op) => [op.name, op.nativeNs ? us(op.nativeNs) : 'n/a', us(op.wasmNs), `**${ratio(op.wasmNs, op.nativeNs)}**`,
    us(op.wasmInlineNs), ratio(op.wasmInlineNs, op.nativeNs)]));
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

export function httpSection({ http }) {
  if (!http) return '_The end-to-end benchmark was not run._';
  const rows = http.rows.map((row) => {
    const ours = row.results.ours;
    const base = row.results.baseline;
    const errors = ours.errors + base.errors;
    return [row.caseName, row.concurrency, int(ours.opsPerSec), ms(ours.p50Ms), ms(ours.p99Ms),
      int(base.opsPerSec), ms(base.p50Ms), ms(base.p99Ms), `**${ratio(ours.opsPerSec, base.opsPerSec)}**`,
      errors === 0 ? '0' : `${errors}: ${ours.firstError ?? base.firstError}`];
  });
  for (const pending of NOT_YET_MEASURED) {
    rows.push([pending.name, '–', '–', '–', '–', '–', '–', '–', '–', `not measured: ${pending.reason}`]);
  }
  const main = table(['case', 'concurrency', 'ours ops/s', 'ours p50 ms', 'ours p99 ms', 'baseline ops/s',
    'baseline p50 ms', 'baseline p99 ms', 'ours / baseline', 'errors'], rows);
  const { bounds } = http;
  return `${main}\n\nEach row: at most ${int(bounds.maxRequests)} requests or ${bounds.maxMs / 1000} s per target, in 3 rounds`
    + ' that alternate between the targets, each after an uncounted warm-up of 2 requests per connection (at most 0.5 s);'
    + ' one keep-alive connection per concurrent user (node:http Agent), raw HTTP, not the client in js/.';
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
  return table(['keys in the store', 'HTTP fill, cumulative s', 'get p50 ms', 'get p99 ms', 'set p50 ms', 'set p99 ms',
    'native get µs (mean)', 'native set µs (mean)'], rows) + note + nativeFill;
}

/** Where the time of a 1 KiB get at concurrency 1 goes, from the figures above. */
export function costSection(results) {
  const row = (caseId) => results.http?.rows.find((r) => r.caseId === caseId && r.concurrency === 1);
  const get = row('get_1k');
  const health = row('health');
  const core = results.core?.requests.find((r) => r.name === 'get_1k');
  if (!get || !health || !core) return '_Needs both the end-to-end and the core figures._';
  const part = (target) => get.results[target].p50Ms - health.results[target].p50Ms;
  const coreMs = core.split.totalNs / 1e6;
  return table(['a 1 KiB get at concurrency 1 (p50, ms)', 'ours', 'baseline'], [
    ['whole request, end to end', ms(get.results.ours.p50Ms), ms(get.results.baseline.p50Ms)],
    ['HTTP floor: GET /v1/health through the same stack, no Durable Object', ms(health.results.ours.p50Ms),
      ms(health.results.baseline.p50Ms)],
    ['the difference: auth, Durable Object RPC, transaction, storage, core', ms(part('ours')), ms(part('baseline'))],
    ['the core call alone (wasm + glue + SQLite), timed in Node', coreMs.toFixed(3), '–'],
    ['   of which inside wasm', (core.split.wasmNs / 1e6).toFixed(3), '–'],
  ]);
}

export function markdownReport(results) {
  return [
    machineSection(results),
    '### End to end: ours and the baseline', httpSection(results),
    '![throughput and latency per case](performance.svg)',
    '### Where the time of a request goes', costSection(results),
    '### Core microbenchmarks: native and wasm (CPU time per operation)', coreSection(results),
    '### Footprint', footprintSection(results),
    '### Scale: one store from 1k to 1M keys (concurrency 1)', scaleSection(results),
    '![get and set latency by store size](performance-scale.svg)',
  ].join('\n\n');
}

const SERIES = [{ name: 'ours (wasm core)' }, { name: 'baseline (plain JS)' }];

export function throughputSvg(results) {
  const rows = results.http.rows;
  const groups = (value, whisker) => rows.map((row, i) => ({
    // The case's name under the middle of its groups, without the remark in
    // parentheses (the tables have it).
    label: i % 3 === 1 || rows.filter((r) => r.caseId === row.caseId).length === 1 ? row.caseName.replace(/ \(.*\)$/, '') : '',
    sublabel: `c${row.concurrency}`,
    bars: ['ours', 'baseline'].map((name) => ({ value: value(row.results[name]), whisker: whisker?.(row.results[name]) })),
  }));
  const width = 1180;
  const body = [
    legend(800, 18, SERIES),
    barPanel({ x: 8, y: 8, width, height: 300, title: 'Throughput per case; c1, c16, c64: concurrent connections', yLabel: 'requests/s',
      groups: groups((r) => r.opsPerSec), series: SERIES }),
    barPanel({ x: 8, y: 318, width, height: 300, title: 'Latency: p50 bar, p99 whisker', yLabel: 'ms (log scale)',
      groups: groups((r) => r.p50Ms, (r) => r.p99Ms), series: SERIES, log: true }),
  ].join('\n');
  return svgDocument(width + 16, 650, body, `npm run bench, ${results.startedAt}; ${results.machine.cpus} cores, load average ${results.machine.loadBefore}`);
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
