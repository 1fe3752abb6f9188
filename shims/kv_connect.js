// KV Connect's HTTP routes (docs/kv-connect.md): Deno's remote KV protocol,
// versions 1 to 3, so that `Deno.openKv("<endpoint>/v1/kv-connect")` and
// `@deno/kv` use a store with its access token.
//
//   POST /v1/kv-connect                 metadata exchange (JSON)
//   POST /v1/kv-connect/snapshot_read   data path (protobuf), and
//   POST /v1/kv-connect/atomic_write    each a core operation of
//   POST /v1/kv-connect/watch           worker/kv_connect.h
//
// This file only routes and frames: the wasm core decodes and encodes every
// protobuf byte. Every request goes through the same authentication,
// limits, quotas and usage as the JSON API. Errors are plain text, as the
// protocol asks, and 4xx unless a retry may cure them: Deno's client
// retries a 5xx forever.

import { authenticate, refuseStoreToken } from './auth.js';
import { rateLimitHeaders, readBody, rowCountHeaders } from './http.js';
import { storeObject } from './objects.js';

export const KV_CONNECT_PATH = '/v1/kv-connect';

const DATA_PATH = {
  snapshot_read: 'kvc_snapshot_read',
  atomic_write: 'kvc_atomic_write',
  watch: 'kvc_watch',
};
const PROTOCOL_VERSIONS = [3, 2, 1]; // preferred first
// How long a metadata answer is good for. The data-path token is the
// store's access token itself, checked on every request, so a rotation or
// a delete ends it at once whatever this says; Deno's client asks again
// every minute anyway.
const METADATA_LIFETIME_MS = 60 * 60 * 1000;
const encoder = new TextEncoder();
const TEXT_HEADERS = { 'content-type': 'text/plain; charset=utf-8' };

/** Whether `pathname` is one of KV Connect's routes (or would be). */
export function isKvConnectPath(pathname) {
  return pathname === KV_CONNECT_PATH || pathname.startsWith(`${KV_CONNECT_PATH}/`);
}

/** Answers a request under KV_CONNECT_PATH. */
export async function kvConnect(request, env, pathname) {
  if (request.method !== 'POST') {
    return textResponse(405, `KV Connect's routes take POST, not ${request.method}`, { allow: 'POST' });
  }
  if (pathname === KV_CONNECT_PATH) return asText(await metadata(request, env));
  const method = pathname.slice(KV_CONNECT_PATH.length + 1);
  if (!Object.hasOwn(DATA_PATH, method)) {
    return textResponse(404, `there is no KV Connect method ${JSON.stringify(method.slice(0, 40))}; ` +
      'the methods are snapshot_read, atomic_write and watch');
  }
  return asText(await dataPath(request, env, DATA_PATH[method]));
}

// The metadata exchange: which protocol version, where the data path is,
// and its token.
async function metadata(request, env) {
  const caller = await authenticate(request, env);
  if (caller instanceof Response) return caller;
  const body = await readBody(request);
  if (body instanceof Response) return body;
  // No body: a version 1 client (the protocol says so).
  let offered = [1];
  if (body.byteLength > 0) {
    let parsed;
    try {
      parsed = JSON.parse(new TextDecoder().decode(body));
    } catch {
      return textResponse(400, 'the metadata request is not JSON; send {"supportedVersions":[1,2,3]}');
    }
    offered = parsed?.supportedVersions;
    if (!Array.isArray(offered)) {
      return textResponse(400, 'the metadata request has no supportedVersions array; send {"supportedVersions":[1,2,3]}');
    }
  }
  const version = PROTOCOL_VERSIONS.find((candidate) => offered.includes(candidate));
  if (version === undefined) {
    return textResponse(400, `no protocol version in common: this store speaks KV Connect 1, 2 and 3; the client offered ${JSON.stringify(offered).slice(0, 80)}`);
  }
  const { origin } = new URL(request.url);
  // Exactly these fields, and exactly this content type: @deno/kv refuses
  // anything else.
  return new Response(JSON.stringify({
    version,
    databaseId: caller.store.id,
    endpoints: [{ url: `${origin}${KV_CONNECT_PATH}`, consistency: 'strong' }],
    token: caller.token,
    expiresAt: new Date(Date.now() + METADATA_LIFETIME_MS).toISOString(),
  }), { headers: { 'content-type': 'application/json' } });
}

async function dataPath(request, env, operation) {
  const caller = await authenticate(request, env);
  if (caller instanceof Response) return caller;
  const { tokenHash, store } = caller;
  const version = request.headers.get('x-denokv-version');
  if (version !== null && !['1', '2', '3'].includes(version)) {
    return textResponse(400, `x-denokv-version ${JSON.stringify(version.slice(0, 20))} is not one this store speaks (1, 2 or 3)`);
  }
  const database = request.headers.get('x-denokv-database-id') ?? request.headers.get('x-transaction-domain-id');
  if (database !== null && database !== store.id) {
    return textResponse(400, `the database id ${JSON.stringify(database.slice(0, 40))} is not this token's store; fetch the metadata again`);
  }
  const body = await readBody(request);
  if (body instanceof Response) return body;
  const object = storeObject(env, store);
  const result = operation === 'kvc_watch'
    ? await object.watch(tokenHash.bytes, body, 'kv_connect')
    : await object.handle(operation, tokenHash.bytes, body);
  if (result.status === 401) return refuseStoreToken(request, env, tokenHash, invalidTokenJson());
  const quota = rateLimitHeaders(result.quota);
  if (result.stream) {
    return new Response(result.stream, { headers: { 'content-type': 'application/octet-stream', ...quota } });
  }
  const type = result.status === 200 ? 'application/x-protobuf' : TEXT_HEADERS['content-type'];
  const rows = rowCountHeaders(env, result.rows);
  return new Response(result.body, { status: result.status, headers: { 'content-type': type, ...quota, ...rows } });
}

// A refusal of the Worker's (JSON, as the JSON API answers it) in plain
// text, with its status and headers kept.
async function asText(response) {
  if (!(response.headers.get('content-type') ?? '').startsWith('application/json') || response.status < 400) {
    return response;
  }
  const { error } = await response.json();
  const headers = new Headers(response.headers);
  headers.set('content-type', TEXT_HEADERS['content-type']);
  return new Response(encoder.encode(`${error.code}: ${error.message}`), { status: response.status, headers });
}

function invalidTokenJson() {
  return JSON.stringify({ error: { code: 'invalid_token', message: 'the access token was rotated or the store deleted' } });
}

function textResponse(status, message, headers = {}) {
  return new Response(message, { status, headers: { ...TEXT_HEADERS, ...headers } });
}
