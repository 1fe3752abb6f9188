// The Worker entry: routes /v1 requests, authenticates them, and hands each
// store request to the Durable Object of its store. No key-value logic here:
// the wasm core (via KvStore) owns that. Routes: docs/http-api.md.

import { AuthGate } from './auth_gate.js';
import { FAULTS } from './faults.js';
import { KV_CONNECT_PATH, kvConnect } from './kv_connect.js';
import { REGIONS } from './regions.js';
import { sharedCore } from './store_object.js';

export { KvStore } from './store_object.js';

// Store routes: path -> [method, core operation].
const STORE_ROUTES = {
  '/v1/get': ['POST', 'get'],
  '/v1/set': ['POST', 'set'],
  '/v1/delete': ['POST', 'delete'],
  '/v1/atomic': ['POST', 'atomic'],
  '/v1/list': ['POST', 'list'],
  '/v1/count': ['POST', 'count'],
  '/v1/usage': ['GET', 'usage'],
  '/v1/watch': ['POST', 'watch'],
};
// Routes whose requests may carry an Idempotency-Key (docs/http-api.md).
const IDEMPOTENT_OPERATIONS = new Set(['set', 'delete', 'atomic']);
// Access tokens are what crypto.randomUUID() makes.
const TOKEN_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const STORE_PATH = /^\/v1\/admin\/stores\/([^/]+)(\/token)?$/;
const DIRECTORY_NAME = 'directory';
const NOTHING = new Uint8Array(0);
const STORES_PER_PAGE = 50;
// Tries of a directory update that lost a race with another admin call on
// the same store; each try re-reads the record.
const DIRECTORY_ATTEMPTS = 32;
const encoder = new TextEncoder();
// Keeps a byte order mark, which JSON does not allow (as the core refuses it).
const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

// Token hash -> { id, region } of its store, in front of the directory
// (shims/auth_gate.js). A cache only: the store's own object re-checks the
// hash on every request, so a rotated or deleted token is refused there
// even while an isolate still caches it.
let authGate = null;

function gate(env) {
  const { limits } = sharedCore();
  authGate ??= new AuthGate({
    lookup: (credential) => lookupToken(env, credential),
    failureLimiter: env.AUTH_FAILURES,
    lookupLimiter: env.DIRECTORY_LOOKUPS,
    limits: {
      cachedTokens: limits.authCachedTokens,
      unknownTokenTtlMs: limits.unknownTokenTtlMs,
      blockMs: limits.authBlockMs,
    },
  });
  return authGate;
}

export default {
  async fetch(request, env) {
    try {
      return await route(request, env);
    } catch (error) {
      console.error('request failed:', error);
      // The runtime marks what a retry may cure (an overloaded or reset
      // Durable Object); the request did not happen, so say so.
      if (error?.overloaded || error?.retryable) {
        return errorResponse(503, 'unavailable', 'the store is busy or restarting; retry in a second', { 'retry-after': '1' });
      }
      return errorResponse(500, 'internal_error', 'the service failed to handle the request');
    }
  },
};

async function route(request, env) {
  const { pathname } = new URL(request.url);
  if (pathname === '/v1/health') {
    return allowOnly(request, ['GET']) ?? jsonResponse(200, { ok: true });
  }
  if (Object.hasOwn(STORE_ROUTES, pathname)) {
    const [method, operation] = STORE_ROUTES[pathname];
    return allowOnly(request, [method]) ?? storeRequest(request, env, operation);
  }
  if (pathname === KV_CONNECT_PATH || pathname.startsWith(`${KV_CONNECT_PATH}/`)) {
    return kvConnect(request, env, pathname, { authenticate, storeObject, readBody, refuseStoreToken, rateLimitHeaders });
  }
  if (pathname === '/v1/admin/faults' && env.KV_FAULTS === 'on') {
    return allowOnly(request, ['POST']) ?? admin(request, env, () => armFault(request, env));
  }
  if (pathname === '/v1/admin/stores') {
    return allowOnly(request, ['GET', 'POST']) ?? admin(request, env, () =>
      (request.method === 'POST' ? createStore(request, env) : listStores(request, env)));
  }
  const storePath = STORE_PATH.exec(pathname);
  if (storePath) {
    const [, id, token] = storePath;
    // Store ids are UUIDs, as access tokens are; any other id names no store.
    if (!TOKEN_PATTERN.test(id)) return admin(request, env, () => storeNotFound(id.slice(0, 40)));
    if (token) return allowOnly(request, ['POST']) ?? admin(request, env, () => rotateToken(env, id));
    return allowOnly(request, ['GET', 'PATCH', 'DELETE']) ?? admin(request, env, () => {
      if (request.method === 'GET') return describeStore(env, id);
      if (request.method === 'PATCH') return updateLimits(request, env, id);
      return deleteStore(env, id);
    });
  }
  return errorResponse(404, 'not_found', `there is no route ${pathname}; the routes are listed in docs/http-api.md`);
}

// ---- Store routes ----

async function storeRequest(request, env, operation) {
  const caller = await authenticate(request, env);
  if (caller instanceof Response) return caller;
  const { credential, store } = caller;
  const refused = request.method === 'POST' ? refuseNonJson(request) : null;
  if (refused) return refused;
  const region = request.headers.get('kv-region');
  if (region !== null && region !== store.region) {
    return errorResponse(400, 'region_mismatch',
      `this store is in region ${store.region}, not ${JSON.stringify(region.slice(0, 40))}: connect with region "${store.region}"`);
  }
  const body = request.method === 'POST' ? await readBody(request) : NOTHING;
  if (body instanceof Response) return body;
  const object = storeObject(env, store);
  // The writes take an Idempotency-Key; the core checks its form.
  const idempotencyKey = IDEMPOTENT_OPERATIONS.has(operation) ? request.headers.get('idempotency-key') ?? '' : '';
  const result = operation === 'watch'
    ? await object.watch(credential, body)
    : await object.handle(operation, credential, body, idempotencyKey);
  if (result.status === 401) return refuseStoreToken(request, env, credential, result.body);
  const quota = rateLimitHeaders(result.quota);
  if (result.stream) {
    return new Response(result.stream, { headers: { ...SSE_HEADERS, ...quota } });
  }
  const rows = env.KV_ROW_COUNTS === 'on' ? rowCountHeaders(result.rows) : {};
  const replayed = result.replayed ? { 'idempotent-replayed': 'true' } : {};
  return new Response(result.body, {
    status: result.status, headers: { ...JSON_HEADERS, ...quota, ...rows, ...replayed },
  });
}

/**
 * The caller of a store route: `{ token, credential, store }` (the bearer
 * token, its SHA-256, and the store's `{ id, region }` from the directory),
 * or the refusal Response. The store's object checks the credential again.
 */
async function authenticate(request, env) {
  const token = bearerToken(request);
  if (token instanceof Response) return refuseAuth(request, env, token);
  if (!TOKEN_PATTERN.test(token)) return refuseAuth(request, env, invalidToken());
  const credential = await sha256(token);
  const { store, refusal } = await gate(env).resolve(hex(credential), clientAddress(request));
  if (refusal) return refusalResponse(refusal);
  return { token, credential, store };
}

// A 401 from the store's object: its token was rotated or the store deleted
// since the gate cached it.
function refuseStoreToken(request, env, credential, body) {
  gate(env).forget(hex(credential));
  return refuseAuth(request, env, new Response(body, { status: 401, headers: JSON_HEADERS }));
}

// The rows the store object's SQL read and wrote for this request (what the
// host bills), for the bench and the tests: only with KV_ROW_COUNTS=on.
function rowCountHeaders(rows) {
  if (!rows) return {};
  return { 'kv-rows-read': String(rows.read), 'kv-rows-written': String(rows.written) };
}

// RateLimit-* headers (IETF draft) for the monthly operations quota.
function rateLimitHeaders(quota) {
  if (!quota) return {};
  return {
    'ratelimit-limit': String(quota.limit),
    'ratelimit-remaining': String(quota.remaining),
    'ratelimit-reset': String(Math.max(0, Math.ceil((quota.resetsAt - Date.now()) / 1000))),
  };
}

// The directory's { id, region } for a token hash, or null.
async function lookupToken(env, credential) {
  const { entries } = await internal(directory(env), 'get', { keys: [['token', credential]] });
  return entries[0].value;
}

function clientAddress(request) {
  return request.headers.get('cf-connecting-ip') ?? 'local';
}

// Counts a failed authentication (the Response `refusal`) against the
// client's address; past the limit the answer is 429 instead, which slows
// down guessing.
async function refuseAuth(request, env, refusal) {
  const outcome = await gate(env).refuse(clientAddress(request), refusal);
  return outcome === refusal ? refusal : refusalResponse(outcome);
}

function refusalResponse({ status, code, message, retryAfterSeconds }) {
  return errorResponse(status, code, message,
    retryAfterSeconds === undefined ? undefined : { 'retry-after': String(retryAfterSeconds) });
}

// ---- Admin routes ----

async function admin(request, env, handler) {
  if (!env.KV_ADMIN_TOKEN) {
    return errorResponse(403, 'admin_disabled',
      'admin routes are disabled: the service has no KV_ADMIN_TOKEN (set it with `wrangler secret put KV_ADMIN_TOKEN`, or in .dev.vars locally)');
  }
  const token = bearerToken(request);
  if (token instanceof Response) return refuseAuth(request, env, token);
  const [given, expected] = await Promise.all([sha256(token), sha256(env.KV_ADMIN_TOKEN)]);
  if (!crypto.subtle.timingSafeEqual(given, expected)) {
    return refuseAuth(request, env, errorResponse(401, 'invalid_token', 'the bearer token is not the admin token'));
  }
  return handler();
}

async function createStore(request, env) {
  const body = await readJsonObject(request, ['region', 'limits']);
  if (body instanceof Response) return body;
  if (typeof body.region !== 'string' || !Object.hasOwn(REGIONS, body.region)) {
    return errorResponse(400, 'invalid_region',
      `region must be one of ${Object.keys(REGIONS).join(', ')}; got ${describeRegion(body.region)}`);
  }
  const id = crypto.randomUUID();
  const accessToken = crypto.randomUUID();
  const credential = hex(await sha256(accessToken));
  const store = { id, region: body.region };
  const created = await storeObject(env, store).handle('create', NOTHING, json({ credential, limits: body.limits }));
  if (created.status !== 200) return passThrough(created);
  await internal(directory(env), 'atomic', {
    mutations: [
      { type: 'set', key: ['token', credential], value: store },
      { type: 'set', key: ['store', id], value: { region: store.region, credential, generation: 1, createdAt: new Date().toISOString() } },
    ],
  });
  const { limits } = JSON.parse(created.body);
  return jsonResponse(201, { id, accessToken, region: store.region, limits });
}

async function listStores(request, env) {
  const params = new URL(request.url).searchParams;
  const limit = Number(params.get('limit') ?? STORES_PER_PAGE);
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000) {
    return errorResponse(400, 'invalid_request', 'limit must be a whole number from 1 to 1000');
  }
  const listed = await directory(env).handle('list', NOTHING,
    json({ prefix: ['store'], limit, cursor: params.get('cursor') ?? undefined }));
  if (listed.status !== 200) return passThrough(listed);
  const { entries, cursor } = JSON.parse(listed.body);
  const described = await Promise.all(entries.map(({ key: [, id], value }) => describe(env, id, value)));
  // A store whose deletion was cut short by a crash is gone already.
  return jsonResponse(200, { stores: described.filter((store) => store !== null), cursor });
}

async function describeStore(env, id) {
  const record = await storeRecord(env, id);
  const described = record && await describe(env, id, record);
  return described ? jsonResponse(200, described) : storeNotFound(id);
}

async function updateLimits(request, env, id) {
  const body = await readJsonObject(request, ['limits']);
  if (body instanceof Response) return body;
  if (typeof body.limits !== 'object' || body.limits === null || Array.isArray(body.limits)) {
    return errorResponse(400, 'invalid_request',
      'send {"limits": {"opsPerMonth"?: n | null, "storageBytes"?: n | null}}; null there means unlimited');
  }
  const record = await storeRecord(env, id);
  if (!record) return storeNotFound(id);
  // The store refuses unless it is live: a change racing a delete is a 404.
  const updated = await storeObject(env, { id, region: record.region }).handle('configure', NOTHING, json({ limits: body.limits }));
  if (updated.status === 404) return storeNotFound(id);
  if (updated.status !== 200) return passThrough(updated);
  return jsonResponse(200, { id, region: record.region, createdAt: record.createdAt, ...JSON.parse(updated.body) });
}

// Safe under any interleaving with other rotations, limit changes and
// deletes of the same store: the store object decides first (from then on
// it refuses the old token, and it refuses a deleted store, so nothing here
// can bring one back), and the directory then records the rotation with the
// highest generation, whatever order racing updates arrive in. A crash
// between the two leaves the new token unrecorded: retrying the rotation
// mends it. Only deleteStore ever erases data.
async function rotateToken(env, id) {
  const record = await storeRecord(env, id);
  if (!record) return storeNotFound(id);
  const accessToken = crypto.randomUUID();
  const credential = hex(await sha256(accessToken));
  const rotated = await storeObject(env, { id, region: record.region }).rotate(credential);
  if (rotated.status === 404) return storeNotFound(id);
  if (rotated.status !== 200) return passThrough(rotated);
  const { previous, generation } = JSON.parse(rotated.body);
  if (!await recordRotation(env, id, { previous, credential, generation })) return storeNotFound(id);
  return jsonResponse(200, { id, accessToken });
}

// Brings store `id`'s directory record up to the rotation that replaced
// `previous` with `credential` as `generation`, and drops the token entries
// it made stale. False when the record is gone (the store was deleted).
async function recordRotation(env, id, { previous, credential, generation }) {
  for (let attempt = 0; attempt < DIRECTORY_ATTEMPTS; attempt++) {
    const found = await storeRecordEntry(env, id);
    if (!found) return false;
    const { value: record, version } = found;
    if (record.credential === credential) return true;
    const superseded = record.generation >= generation; // a later rotation is recorded already
    // The token ours replaced goes, and so does ours if superseded, or else the one recorded now.
    const stale = new Set([previous, superseded ? credential : record.credential]);
    const mutations = [...stale].map((token) => ({ type: 'delete', key: ['token', token] }));
    if (!superseded) {
      mutations.push(
        { type: 'set', key: ['token', credential], value: { id, region: record.region } },
        { type: 'set', key: ['store', id], value: { ...record, credential, generation } },
      );
    }
    const moved = await internal(directory(env), 'atomic', { checks: [{ key: ['store', id], version }], mutations });
    if (moved.ok) {
      for (const token of stale) gate(env).forget(token);
      return true;
    }
  }
  throw lostRaces(`recording the rotation of store ${id}`);
}

// The directory kept changing under an admin call: a retry of the whole call
// is safe (rotations and deletes are), so the client is told 503, not 500.
function lostRaces(what) {
  return Object.assign(new Error(`${what} lost ${DIRECTORY_ATTEMPTS} races in a row`), { retryable: true });
}

// The store object erases the data first and marks itself deleted (no later
// rotation or limit change revives it); then the directory forgets the store
// and its token. A crash between the two leaves a record whose store is gone:
// listing skips it, and deleting it again finishes the job.
async function deleteStore(env, id) {
  const record = await storeRecord(env, id);
  if (!record) return storeNotFound(id);
  await storeObject(env, { id, region: record.region }).destroy();
  for (let attempt = 0; attempt < DIRECTORY_ATTEMPTS; attempt++) {
    const found = await storeRecordEntry(env, id);
    if (!found) return jsonResponse(200, { id, deleted: true }); // a racing delete removed it
    const { value: { credential }, version } = found;
    const removed = await internal(directory(env), 'atomic', {
      checks: [{ key: ['store', id], version }],
      mutations: [{ type: 'delete', key: ['token', credential] }, { type: 'delete', key: ['store', id] }],
    });
    if (removed.ok) {
      gate(env).forget(credential);
      return jsonResponse(200, { id, deleted: true });
    }
  }
  throw lostRaces(`removing store ${id} from the directory`);
}

// POST /v1/admin/faults {"store": id, "fault": name, "count": n}: arms a
// fault in a store's object (shims/faults.js). Routed only with KV_FAULTS=on.
async function armFault(request, env) {
  const body = await readJsonObject(request, ['store', 'fault', 'count']);
  if (body instanceof Response) return body;
  if (!Object.hasOwn(FAULTS, body.fault) || !Number.isInteger(body.count) || body.count < 0) {
    return errorResponse(400, 'invalid_request', `fault must be one of ${Object.keys(FAULTS).join(', ')} and count a whole number`);
  }
  const record = typeof body.store === 'string' && TOKEN_PATTERN.test(body.store) ? await storeRecord(env, body.store) : null;
  if (!record) return storeNotFound(String(body.store).slice(0, 40));
  await storeObject(env, { id: body.store, region: record.region }).armFault(body.fault, body.count);
  return jsonResponse(200, { armed: body.fault, count: body.count });
}

async function storeRecord(env, id) {
  return (await storeRecordEntry(env, id))?.value ?? null;
}

// The directory entry { value, version } of store `id`, or null.
async function storeRecordEntry(env, id) {
  const { entries } = await internal(directory(env), 'get', { keys: [['store', id]] });
  return entries[0].value === null ? null : entries[0];
}

// The admin view of a store, or null when its object says it is not live.
async function describe(env, id, record) {
  const stats = await storeObject(env, { id, region: record.region }).handle('stats', NOTHING, json({}));
  if (stats.status === 404) return null;
  if (stats.status !== 200) throw new Error(`stats of store ${id} failed with ${stats.status}: ${stats.body}`);
  return { id, region: record.region, createdAt: record.createdAt, ...JSON.parse(stats.body) };
}

// A short, safe rendering of a wrong region for an error message.
function describeRegion(region) {
  if (typeof region === 'string') return JSON.stringify(region.slice(0, 40));
  return region === undefined ? 'none' : `a ${Array.isArray(region) ? 'array' : typeof region}`;
}

function storeNotFound(id) {
  return errorResponse(404, 'store_not_found', `there is no store ${id}`);
}

// ---- Durable Objects ----

function storeObject(env, { id, region }) {
  const { locationHint, jurisdiction } = REGIONS[region];
  // Local workerd has no jurisdictions; the emulator turns them off.
  const namespace = jurisdiction && env.KV_JURISDICTIONS !== 'off'
    ? env.KV_STORE.jurisdiction(jurisdiction)
    : env.KV_STORE;
  return namespace.get(namespace.idFromName(`store:${id}`), { locationHint });
}

function directory(env) {
  return env.KV_STORE.get(env.KV_STORE.idFromName(DIRECTORY_NAME));
}

// An operation of the Worker's own that must succeed; returns its JSON.
async function internal(object, operation, request) {
  const result = await object.handle(operation, NOTHING, json(request));
  if (result.status !== 200) {
    throw new Error(`internal ${operation} failed with ${result.status}: ${result.body}`);
  }
  return JSON.parse(result.body);
}

function passThrough(result) {
  return new Response(result.body, { status: result.status, headers: JSON_HEADERS });
}

// ---- HTTP helpers ----

// The token of an `Authorization: Bearer <token>` header, or a 401 Response.
function bearerToken(request) {
  const header = request.headers.get('authorization');
  const token = header === null ? null : /^Bearer +(\S+)$/i.exec(header)?.[1];
  if (!token) {
    return errorResponse(401, 'missing_token',
      `send the header "Authorization: Bearer <token>"${header === null ? '' : '; the header given is not of that form'}`);
  }
  return token;
}

function invalidToken() {
  return errorResponse(401, 'invalid_token', 'the access token is not valid (unknown, rotated or deleted)');
}

function refuseNonJson(request) {
  const type = request.headers.get('content-type') ?? '';
  if (/^application\/json\s*(;|$)/i.test(type)) return null;
  return errorResponse(415, 'unsupported_media_type',
    `send the body as JSON with "Content-Type: application/json"; got ${type ? `"${type}"` : 'no Content-Type'}`);
}

// The body's bytes, read no further than the core's limit, or a 413
// Response: a client cannot make the Worker buffer an unbounded body.
async function readBody(request) {
  const limit = sharedCore().limits.maxRequestBytes;
  const tooLarge = () => errorResponse(413, 'request_too_large',
    `the request body is more than ${limit} bytes; the limit is ${limit} bytes (2 MiB)`);
  const declared = request.headers.get('content-length');
  if (Number(declared ?? 0) > limit) return tooLarge();
  // A declared length frames the body, so it is read in one call: 5 to 10%
  // more gets and sets a second than chunk by chunk (docs/performance.md).
  // A chunked body is read chunk by chunk, to stop at the limit.
  if (declared !== null) {
    const body = new Uint8Array(await request.arrayBuffer());
    return body.byteLength > limit ? tooLarge() : body;
  }
  const chunks = [];
  let size = 0;
  for await (const chunk of request.body ?? []) {
    size += chunk.byteLength;
    if (size > limit) return tooLarge();
    chunks.push(chunk);
  }
  const body = new Uint8Array(size);
  let at = 0;
  for (const chunk of chunks) {
    body.set(chunk, at);
    at += chunk.byteLength;
  }
  return body;
}

// The body as a JSON object with no fields but `fields`, or an error Response.
async function readJsonObject(request, fields) {
  const refused = refuseNonJson(request);
  if (refused) return refused;
  const bytes = await readBody(request);
  if (bytes instanceof Response) return bytes;
  let body;
  try {
    body = JSON.parse(strictUtf8.decode(bytes));
  } catch (error) {
    return errorResponse(400, 'invalid_json', `the request body is not valid UTF-8 JSON: ${error.message}`);
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    return errorResponse(400, 'invalid_request', 'the request body must be a JSON object');
  }
  const unknown = Object.keys(body).find((name) => !fields.includes(name));
  if (unknown !== undefined) {
    return errorResponse(400, 'invalid_request', `unknown field "${unknown}"; the fields are ${fields.map((f) => `"${f}"`).join(', ')}`);
  }
  return body;
}

function allowOnly(request, methods) {
  if (methods.includes(request.method)) return null;
  return errorResponse(405, 'method_not_allowed', `this route takes ${methods.join(' or ')}, not ${request.method}`,
    { allow: methods.join(', ') });
}

const JSON_HEADERS = { 'content-type': 'application/json; charset=utf-8' };
const SSE_HEADERS = { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store' };

function json(value) {
  return encoder.encode(JSON.stringify(value));
}

function jsonResponse(status, body, headers = {}) {
  return new Response(JSON.stringify(body), { status, headers: { ...JSON_HEADERS, ...headers } });
}

function errorResponse(status, code, message, headers) {
  return jsonResponse(status, { error: { code, message } }, headers);
}

async function sha256(text) {
  return new Uint8Array(await crypto.subtle.digest('SHA-256', encoder.encode(text)));
}

const HEX_DIGITS = Array.from({ length: 256 }, (_, byte) => byte.toString(16).padStart(2, '0'));

// Hex of a token hash, on every request: a loop over a table costs a
// fraction of Array.from(...).join('') (a CPU profile in workerd).
function hex(bytes) {
  let text = '';
  for (const byte of bytes) text += HEX_DIGITS[byte];
  return text;
}
