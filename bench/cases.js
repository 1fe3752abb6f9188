// The end-to-end cases: one request shape each, sent as the same bytes to
// the store and to the baseline (POST unless `method` says otherwise). A
// case makes a session per virtual user: `body()` is the next request body
// (null: none), `accept(status, text)` returns null or what was wrong with
// the response. A case that reaches a Durable Object has `rowsNote`: which
// of the store's features account for rows it reads or writes beyond the
// baseline's (bench/report.js shows it when there are such rows); `read`
// marks the reads, which should write no rows.
//
// A case may differ per target: `skipOn` maps a target's name to why the
// case does not run there (the KV Connect cases: the baseline has none);
// the report shows those cells as not measured, with the reason.
// `pairedWith` names another case measured in the same rounds (the rounds
// alternate over both cases and all targets; bench/http_bench.js), so that
// the ratio between the two (bench/report.js, the KV Connect goal) compares
// figures taken under the same load. A case sends `contentType` (default
// application/json) and `headers`; with `binary`, accept() is given the
// response's bytes as a Buffer instead of its text, and its headers third.

import v8 from 'node:v8';
import { atomicSet, encodeKey, readAtomicWriteStatus, readSnapshotOutput, snapshotReadOne } from './kv_connect_wire.js';

export const SEEDED_KEYS = 1000;

/** Whether `testCase` runs on the target named `targetName`. */
export const runsOn = (testCase, targetName) => !Object.hasOwn(testCase.skipOn ?? {}, targetName);

/**
 * A JSON object value whose compact serialization is exactly `bytes` bytes:
 * small records padded with a string (bench/core_ops.cc JsonValueOfSize
 * makes the same text), as text ready to splice into a body.
 */
export function jsonValueOfSize(bytes) {
  const head = '{"items":[';
  const tail = '],"note":""}';
  let items = '';
  for (let i = 0; ; i++) {
    const next = `${i === 0 ? '' : ','}{"id":${i},"name":"item-${i}","qty":${(i * 7) % 100},"tags":["red","large"]}`;
    if (head.length + items.length + next.length + tail.length > bytes) break;
    items += next;
  }
  return `${head}${items}],"note":"${'x'.repeat(bytes - head.length - items.length - tail.length)}"}`;
}

export const VALUE_1K = jsonValueOfSize(1024);
export const VALUE_16K = jsonValueOfSize(16 * 1024);

// Why ours reads or writes rows the baseline does not (workerd's cursor
// counts, checked statement by statement; the baseline's upserts read no
// rows, its commit counter is one read and one write per commit).
const STATE_READ = 'the store\'s kv_state row (auth: lifecycle and credential generation; quotas: limits and usage),'
  + ' read by the store object\'s first request and then held in its memory';
const WRITE_READS = 'the old value\'s size before the upsert, for exact storage bytes (the storage quota; no row when'
  + ' the key is new, hence the range); the UPDATE of kv_state reads its row. Written: the entry and kv_state (version,'
  + ' usage, storage bytes), as many as the baseline\'s entry and commit counter';

const valueKey = (i) => `["bench","value",${i % SEEDED_KEYS}]`;

function expectOk(status, text) {
  if (status === 200 && text.startsWith('{"ok":true')) return null;
  return `${status} ${text.slice(0, 200)}`;
}

function expectEntries(count) {
  return (status, text) => {
    if (status !== 200) return `${status} ${text.slice(0, 200)}`;
    const { entries } = JSON.parse(text);
    if (entries.length !== count || entries.some((entry) => entry.value === null)) {
      return `expected ${count} stored entries: ${text.slice(0, 200)}`;
    }
    return null;
  };
}

// ---- KV Connect (docs/kv-connect.md): protobuf bodies, bearer = the token --

const KV_CONNECT = {
  contentType: 'application/x-protobuf',
  headers: { 'x-denokv-version': '3' }, // as Deno's client sends it
  binary: true,
  skipOn: { baseline: 'the baseline has no KV Connect' },
};

// Built once per process, on first use: the load generator's time is spent
// sending, as for the JSON cases' template strings.
let kvcGets;
let kvcSets;
const kvcGetBodies = () => (kvcGets ??= Array.from({ length: SEEDED_KEYS },
  (_, i) => snapshotReadOne(encodeKey(['bench', 'value', i]))));
const kvcSetBodies = () => {
  if (!kvcSets) {
    const data = v8.serialize(JSON.parse(VALUE_1K)); // what Deno's client sends for this value
    kvcSets = Array.from({ length: SEEDED_KEYS }, (_, i) => atomicSet(encodeKey(['bench', 'kvcset', i]), data));
  }
  return kvcSets;
};

function kvcProblem(status, body, headers) {
  if (status === 200 && headers['content-type'] === 'application/x-protobuf' && body.length > 0) return null;
  return `${status} ${headers['content-type']}: ${body.toString().slice(0, 200)}`;
}

// A 200 whose SnapshotReadOutput holds one range of one V8-encoded entry.
function expectKvConnectEntry(status, body, headers) {
  const problem = kvcProblem(status, body, headers);
  if (problem !== null) return problem;
  const { ranges } = readSnapshotOutput(body);
  if (ranges.length === 1 && ranges[0].length === 1 && ranges[0][0].value?.length > 0 && ranges[0][0].encoding === 1) return null;
  return `expected one range of one V8 entry: ${JSON.stringify(ranges.map((r) => r.map((e) => ({ ...e, key: e.key?.toString('hex'), value: e.value?.length }))))}`;
}

// A 200 whose AtomicWriteOutput says AW_SUCCESS.
function expectKvConnectWrite(status, body, headers) {
  const problem = kvcProblem(status, body, headers);
  if (problem !== null) return problem;
  const result = readAtomicWriteStatus(body);
  return result === 1 ? null : `AtomicWriteOutput status ${result}, not AW_SUCCESS`;
}

// Sessions of a stateless case: request i of the session is body(i).
function stateless(body, accept) {
  return (user) => {
    let i = user * 7919; // users start apart, so they rarely hit one key together
    return { body: () => body(i++), accept };
  };
}

export const CASES = [
  {
    // The floor: a request that reaches the Worker but no Durable Object.
    id: 'health',
    name: 'health (no Durable Object)',
    method: 'GET',
    path: '/v1/health',
    session: stateless(() => null, (status, text) => (status === 200 ? null : `${status} ${text.slice(0, 200)}`)),
  },
  {
    id: 'get_1k',
    read: true,
    rowsNote: STATE_READ,
    name: 'get 1 KiB',
    path: '/v1/get',
    session: stateless((i) => `{"keys":[${valueKey(i)}]}`, expectEntries(1)),
  },
  {
    id: 'set_1k',
    rowsNote: WRITE_READS,
    name: 'set 1 KiB',
    path: '/v1/set',
    session: stateless((i) => `{"key":["bench","set",${i % SEEDED_KEYS}],"value":${VALUE_1K}}`, expectOk),
  },
  {
    id: 'set_16k',
    rowsNote: WRITE_READS,
    name: 'set 16 KiB',
    path: '/v1/set',
    session: stateless((i) => `{"key":["bench","set16k",${i % SEEDED_KEYS}],"value":${VALUE_16K}}`, expectOk),
  },
  {
    id: 'cas',
    rowsNote: `${WRITE_READS}; the check's version read is the baseline's too`,
    name: 'check-and-set',
    path: '/v1/atomic',
    // Each user owns a key and checks the version its last commit returned,
    // so every commit is a real check-and-set that holds.
    session: (user, run) => {
      const key = `["bench","cas","${run}",${user}]`;
      let version = null;
      return {
        body: () => `{"checks":[{"key":${key},"version":${JSON.stringify(version)}}],`
          + `"mutations":[{"type":"set","key":${key},"value":{"n":1}}]}`,
        accept: (status, text) => {
          const problem = expectOk(status, text);
          if (problem === null) version = JSON.parse(text).version;
          return problem;
        },
      };
    },
  },
  {
    id: 'get_many_10',
    read: true,
    rowsNote: STATE_READ,
    name: 'getMany 10',
    path: '/v1/get',
    session: stateless((i) => {
      const keys = Array.from({ length: 10 }, (_, k) => valueKey(i * 10 + k));
      return `{"keys":[${keys.join(',')}]}`;
    }, expectEntries(10)),
  },
  {
    id: 'list_100',
    read: true,
    rowsNote: `${STATE_READ}; the page is read in statements of as many entries as its bytes left hold at the`
      + ' largest entry size (1 MiB / 18 KiB: 56), so that no value past the 1 MiB page bound is read: a page of 100'
      + ' takes two statements, each reading only the rows it returns',
    name: 'list 100',
    path: '/v1/list',
    // The first page of 100 of the seeded 1 KiB entries. (A varying start
    // would not mean the same on both: the baseline orders keys as JSON text.)
    session: stateless(() => '{"prefix":["bench","value"],"limit":100}', expectEntries(100)),
  },
  {
    // Deno's `kv.get(["bench","value",i])` over KV Connect: the same seeded
    // entries as get 1 KiB, stored as JSON and answered as V8 bytes.
    ...KV_CONNECT,
    id: 'kvc_get_1k',
    read: true,
    rowsNote: `${STATE_READ}; a read of one key ([key, key 00)) is the get's point lookup`,
    pairedWith: 'get_1k',
    name: 'kvc get 1 KiB',
    path: '/v1/kv-connect/snapshot_read',
    session: stateless((i) => kvcGetBodies()[i % SEEDED_KEYS], expectKvConnectEntry),
  },
  {
    // Deno's `kv.set(["bench","kvcset",i], value)`: the 1 KiB value as the
    // V8 bytes Deno would send (stored as JSON: it has a JSON form).
    ...KV_CONNECT,
    id: 'kvc_set_1k',
    rowsNote: WRITE_READS,
    pairedWith: 'set_1k',
    name: 'kvc set 1 KiB',
    path: '/v1/kv-connect/atomic_write',
    session: stateless((i) => kvcSetBodies()[i % SEEDED_KEYS], expectKvConnectWrite),
  },
];

// Operations of the API that no case measures yet. Each gets a row in the
// report that says so, and no figures; move it to a case above once it has
// one (on both targets).
export const NOT_YET_MEASURED = [
  { id: 'count', name: 'count', reason: 'no case yet (the baseline has no count)' },
  { id: 'watch', name: 'watch', reason: 'no case yet: a stream, not a request' },
];

// ---- Scale: one key at random out of a filled store (bench/scale.js) ------

// The value of every filled key and of the scale set: 100 bytes.
export const FILL_VALUE = jsonValueOfSize(100);

// Sessions over keys ["bench","fill",0..params.keys), picked at random.
function randomFillKey(body, accept) {
  return (user, run, params) => {
    let state = (user + 1) * 2654435761;
    const next = () => {
      state = (state * 1103515245 + 12345) % 2147483648; // an LCG: cheap, fixed
      return state % params.keys;
    };
    return { body: () => body(`["bench","fill",${next()}]`), accept };
  };
}

export const SCALE_CASES = [
  { id: 'scale_get', name: 'get', path: '/v1/get', session: randomFillKey((key) => `{"keys":[${key}]}`, expectEntries(1)) },
  {
    id: 'scale_set',
    name: 'set',
    path: '/v1/set',
    session: randomFillKey((key) => `{"key":${key},"value":${FILL_VALUE}}`, expectOk),
  },
];

/** Writes the SEEDED_KEYS entries that the get cases read, 100 per commit. */
export async function seedValues(target) {
  await seedEntries(target, SEEDED_KEYS, valueKey, () => VALUE_1K);
}

/**
 * Writes `count` entries, key `keyOf(i)` and value `valueOf(i)` (both as
 * JSON text), 100 per commit through POST /v1/atomic.
 */
export async function seedEntries(target, count, keyOf, valueOf) {
  for (let start = 0; start < count; start += 100) {
    const mutations = [];
    for (let i = start; i < Math.min(start + 100, count); i++) {
      mutations.push(`{"type":"set","key":${keyOf(i)},"value":${valueOf(i)}}`);
    }
    const response = await fetch(`${target.url}/v1/atomic`, {
      method: 'POST',
      headers: { authorization: `Bearer ${target.token}`, 'content-type': 'application/json' },
      body: `{"mutations":[${mutations.join(',')}]}`,
    });
    const text = await response.text();
    const problem = expectOk(response.status, text);
    if (problem) throw new Error(`seeding ${target.name} failed: ${problem}`);
  }
}
