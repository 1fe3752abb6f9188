// The operator's routes (docs/http-api.md, "Admin routes"), each behind the
// admin token: create, list, describe, re-limit, rotate and delete stores,
// and read a store's usage over time and its queue.
// A store's object decides first and the directory follows
// (shims/directory.js), so no interleaving of admin calls on one store
// brings a deleted store back or leaves two tokens working.

import { authorizeAdmin, forgetTokens, TOKEN_PATTERN } from './auth.js';
import { listStoreRecords, recordNewStore, recordRotation, removeStore, storeRecord } from './directory.js';
import { FAULTS } from './faults.js';
import { allowOnly, errorResponse, jsonResponse, passThrough, readJsonObject } from './http.js';
import { callOwn, storeObject } from './objects.js';
import { REGIONS } from './regions.js';
import { TokenHash } from './token_hash.js';

export const ADMIN_PREFIX = '/v1/admin/';
const STORE_PATH = /^\/v1\/admin\/stores\/([^/]+)(?:\/(token|usage|queue))?$/;
const STORES_PER_PAGE = 50;

/** The answer to an admin route, or null when `pathname` names none. */
export function adminRoute(request, env, pathname) {
  if (pathname === '/v1/admin/faults' && env.KV_FAULTS === 'on') {
    return allowOnly(request, ['POST']) ?? admin(request, env, () => armFault(request, env));
  }
  if (pathname === '/v1/admin/stores') {
    return allowOnly(request, ['GET', 'POST']) ?? admin(request, env, () =>
      (request.method === 'POST' ? createStore(request, env) : listStores(request, env)));
  }
  const storePath = STORE_PATH.exec(pathname);
  if (!storePath) return null;
  const [, id, part] = storePath;
  // Store ids are UUIDs, as access tokens are; any other id names no store.
  if (!TOKEN_PATTERN.test(id)) return admin(request, env, () => storeNotFound(id.slice(0, 40)));
  if (part === 'token') return allowOnly(request, ['POST']) ?? admin(request, env, () => rotateToken(env, id));
  if (part === 'usage') return allowOnly(request, ['GET']) ?? admin(request, env, () => storeUsage(env, id));
  if (part === 'queue') return allowOnly(request, ['GET']) ?? admin(request, env, () => storeQueue(env, id));
  return allowOnly(request, ['GET', 'PATCH', 'DELETE']) ?? admin(request, env, () => {
    if (request.method === 'GET') return describeStore(env, id);
    if (request.method === 'PATCH') return updateLimits(request, env, id);
    return deleteStore(env, id);
  });
}

async function admin(request, env, handler) {
  return (await authorizeAdmin(request, env)) ?? handler();
}

async function createStore(request, env) {
  const body = await readJsonObject(request, ['region', 'limits']);
  if (body instanceof Response) return body;
  if (typeof body.region !== 'string' || !Object.hasOwn(REGIONS, body.region)) {
    return errorResponse(400, 'invalid_region',
      `region must be one of ${Object.keys(REGIONS).join(', ')}; got ${describeRegion(body.region)}`);
  }
  const store = { id: crypto.randomUUID(), region: body.region };
  const accessToken = crypto.randomUUID();
  const tokenHash = await TokenHash.of(accessToken);
  const created = await callOwn(storeObject(env, store), 'create', { credential: tokenHash.hex, limits: body.limits });
  if (created.status !== 200) return passThrough(created);
  await recordNewStore(env, store, tokenHash.hex);
  const { limits } = JSON.parse(created.body);
  return jsonResponse(201, { id: store.id, accessToken, region: store.region, limits });
}

async function listStores(request, env) {
  const params = new URL(request.url).searchParams;
  const limit = Number(params.get('limit') ?? STORES_PER_PAGE);
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000) {
    return errorResponse(400, 'invalid_request', 'limit must be a whole number from 1 to 1000');
  }
  const page = await listStoreRecords(env, { limit, cursor: params.get('cursor') ?? undefined });
  if (page.refused) return passThrough(page.refused);
  const stats = await Promise.all(page.records.map(({ id, record }) => storeStats(env, id, record)));
  // A store whose deletion was cut short by a crash is gone already.
  const stores = page.records.flatMap(({ id, record }, i) => (stats[i] ? [describe(id, record, stats[i])] : []));
  return jsonResponse(200, { stores, cursor: page.cursor });
}

async function describeStore(env, id) {
  const record = await storeRecord(env, id);
  const stats = record && await storeStats(env, id, record);
  if (!stats) return storeNotFound(id);
  return jsonResponse(200, describe(id, record, stats));
}

// What GET /v1/usage answers the store's own token: limits, this month's
// usage, and the daily rows of the last 30 days.
async function storeUsage(env, id) {
  const record = await storeRecord(env, id);
  const stats = record && await storeStats(env, id, record);
  return stats ? jsonResponse(200, stats) : storeNotFound(id);
}

// The store's queue (docs/queues.md, "Operator view").
async function storeQueue(env, id) {
  const record = await storeRecord(env, id);
  if (!record) return storeNotFound(id);
  const queue = await callOwn(storeObject(env, { id, region: record.region }), 'queue_stats', {});
  return queue.status === 404 ? storeNotFound(id) : passThrough(queue);
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
  const updated = await callOwn(storeObject(env, { id, region: record.region }), 'configure', { limits: body.limits });
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
  const tokenHash = await TokenHash.of(accessToken);
  const rotated = await storeObject(env, { id, region: record.region }).rotate(tokenHash.hex);
  if (rotated.status === 404) return storeNotFound(id);
  if (rotated.status !== 200) return passThrough(rotated);
  const { previous, generation } = JSON.parse(rotated.body);
  const stale = await recordRotation(env, id, { previous, current: tokenHash.hex, generation });
  if (stale === null) return storeNotFound(id);
  forgetTokens(env, stale);
  return jsonResponse(200, { id, accessToken });
}

// The store object erases the data first and marks itself deleted (no later
// rotation or limit change revives it); then the directory forgets the store
// and its token. A crash between the two leaves a record whose store is gone:
// listing skips it, and deleting it again finishes the job.
async function deleteStore(env, id) {
  const record = await storeRecord(env, id);
  if (!record) return storeNotFound(id);
  await storeObject(env, { id, region: record.region }).destroy();
  const removed = await removeStore(env, id); // null: a racing delete removed it
  if (removed !== null) forgetTokens(env, [removed]);
  return jsonResponse(200, { id, deleted: true });
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

// The store's `{ limits, usage, daily }`, or null when its object says it
// is not live.
async function storeStats(env, id, record) {
  const stats = await callOwn(storeObject(env, { id, region: record.region }), 'stats', {});
  if (stats.status === 404) return null;
  if (stats.status !== 200) throw new Error(`stats of store ${id} failed with ${stats.status}: ${stats.body}`);
  return JSON.parse(stats.body);
}

// The admin view of a store (a Store of docs/http-api.md). Its daily rows
// are left to GET /v1/admin/stores/{id}/usage: a page of 50 stores need not
// carry 1,500 of them.
function describe(id, record, { limits, usage }) {
  return { id, region: record.region, createdAt: record.createdAt, limits, usage };
}

// A short, safe rendering of a wrong region for an error message.
function describeRegion(region) {
  if (typeof region === 'string') return JSON.stringify(region.slice(0, 40));
  return region === undefined ? 'none' : `a ${Array.isArray(region) ? 'array' : typeof region}`;
}

function storeNotFound(id) {
  return errorResponse(404, 'store_not_found', `there is no store ${id}`);
}
