// The Worker entry: routes /v1 requests, authenticates them, and hands each
// store request to the Durable Object of its store. No key-value logic here:
// the wasm core (via KvStore) owns that. Routes: docs/http-api.md.

import { REGIONS } from './regions.js';

export { KvStore } from './store_object.js';

const STORE_OPERATIONS = new Set(['get', 'set', 'delete', 'atomic']);
// Stores are created on the free tier (see docs/http-api.md).
const FREE_TIER_LIMITS = Object.freeze({ opsPerMonth: 10_000, storageBytes: 10 * 1024 * 1024 });
// Access tokens are what crypto.randomUUID() makes.
const TOKEN_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const DIRECTORY_NAME = 'directory';
const NO_CREDENTIAL = new Uint8Array(0);
const CACHED_TOKENS = 10_000;
const encoder = new TextEncoder();

// Token hash -> { id, region } of its store. A cache only: the store's own
// object re-checks the hash on every request.
const storesByToken = new Map();

export default {
  async fetch(request, env) {
    try {
      return await route(request, env);
    } catch (error) {
      console.error('request failed:', error);
      return errorResponse(500, 'internal_error', 'the service failed to handle the request');
    }
  },
};

async function route(request, env) {
  const { pathname } = new URL(request.url);
  if (pathname === '/v1/health') {
    return allowOnly(request, 'GET') ?? jsonResponse(200, { ok: true });
  }
  if (pathname === '/v1/admin/stores') {
    return allowOnly(request, 'POST') ?? createStore(request, env);
  }
  const operation = /^\/v1\/([a-z]+)$/.exec(pathname)?.[1];
  if (STORE_OPERATIONS.has(operation)) {
    return allowOnly(request, 'POST') ?? storeRequest(request, env, operation);
  }
  return errorResponse(404, 'not_found', `there is no route ${pathname}; the routes are listed in docs/http-api.md`);
}

async function storeRequest(request, env, operation) {
  const token = bearerToken(request);
  if (token instanceof Response) return token;
  if (!TOKEN_PATTERN.test(token)) return invalidToken();
  const refused = refuseNonJson(request);
  if (refused) return refused;
  const credential = await sha256(token);
  const store = await findStore(env, hex(credential));
  if (!store) return invalidToken();
  const body = await request.arrayBuffer();
  const result = await storeObject(env, store).handle(operation, credential, body);
  if (result.status === 401) storesByToken.delete(hex(credential));
  return new Response(result.body, { status: result.status, headers: JSON_HEADERS });
}

async function createStore(request, env) {
  const refused = (await refuseNonAdmin(request, env)) ?? refuseNonJson(request);
  if (refused) return refused;
  const body = await readJsonObject(request);
  if (body instanceof Response) return body;
  const unknown = Object.keys(body).find((name) => name !== 'region');
  if (unknown !== undefined) {
    return errorResponse(400, 'invalid_request', `unknown field "${unknown}"; the fields are "region"`);
  }
  if (!Object.hasOwn(REGIONS, body.region)) {
    return errorResponse(400, 'invalid_region',
      `region must be one of ${Object.keys(REGIONS).join(', ')}; got ${JSON.stringify(body.region ?? null)}`);
  }
  const store = { id: crypto.randomUUID(), region: body.region };
  const accessToken = crypto.randomUUID();
  const credential = hex(await sha256(accessToken));
  await expectOk(storeObject(env, store), 'set_credential', { credential });
  await expectOk(directory(env), 'atomic', {
    mutations: [
      { type: 'set', key: ['token', credential], value: store },
      { type: 'set', key: ['store', store.id], value: { region: store.region, limits: FREE_TIER_LIMITS } },
    ],
  });
  return jsonResponse(201, { id: store.id, accessToken, region: store.region, limits: FREE_TIER_LIMITS });
}

async function findStore(env, credential) {
  let store = storesByToken.get(credential);
  if (store) return store;
  const { entries } = await expectOk(directory(env), 'get', { keys: [['token', credential]] });
  store = entries[0].value;
  if (store) {
    if (storesByToken.size >= CACHED_TOKENS) storesByToken.clear();
    storesByToken.set(credential, store);
  }
  return store;
}

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

// An internal request to a KvStore that must succeed; returns its JSON.
async function expectOk(object, operation, request) {
  const credential = NO_CREDENTIAL;
  const result = await object.handle(operation, credential, encoder.encode(JSON.stringify(request)));
  if (result.status !== 200) {
    throw new Error(`internal ${operation} failed with ${result.status}: ${result.body}`);
  }
  return JSON.parse(result.body);
}

async function refuseNonAdmin(request, env) {
  if (!env.KV_ADMIN_TOKEN) {
    return errorResponse(403, 'admin_disabled',
      'admin routes are disabled: the service has no KV_ADMIN_TOKEN (set it with `wrangler secret put KV_ADMIN_TOKEN`, or in .dev.vars locally)');
  }
  const token = bearerToken(request);
  if (token instanceof Response) return token;
  const [given, expected] = await Promise.all([sha256(token), sha256(env.KV_ADMIN_TOKEN)]);
  if (!crypto.subtle.timingSafeEqual(given, expected)) {
    return errorResponse(401, 'invalid_token', 'the bearer token is not the admin token');
  }
  return null;
}

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

async function readJsonObject(request) {
  let body;
  try {
    body = JSON.parse(await request.text());
  } catch (error) {
    return errorResponse(400, 'invalid_json', `the request body is not valid JSON: ${error.message}`);
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    return errorResponse(400, 'invalid_request', 'the request body must be a JSON object');
  }
  return body;
}

function allowOnly(request, method) {
  if (request.method === method) return null;
  return errorResponse(405, 'method_not_allowed', `this route takes ${method}, not ${request.method}`, { allow: method });
}

const JSON_HEADERS = { 'content-type': 'application/json; charset=utf-8' };

function jsonResponse(status, body, headers = {}) {
  return new Response(JSON.stringify(body), { status, headers: { ...JSON_HEADERS, ...headers } });
}

function errorResponse(status, code, message, headers) {
  return jsonResponse(status, { error: { code, message } }, headers);
}

async function sha256(text) {
  return new Uint8Array(await crypto.subtle.digest('SHA-256', encoder.encode(text)));
}

function hex(bytes) {
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, '0')).join('');
}
