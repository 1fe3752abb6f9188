// The JSON API's store routes (docs/http-api.md, "Store routes"): each
// request is authenticated, checked and handed to its store's object, whose
// core does the work; the answer goes back with the quota's headers.

import { authenticate, refuseStoreToken } from './auth.js';
import {
  errorResponse, JSON_HEADERS, rateLimitHeaders, readBody, refuseNonJson, rowCountHeaders, SSE_HEADERS,
} from './http.js';
import { storeObject } from './objects.js';

// Path -> [method, core operation].
export const STORE_ROUTES = {
  '/v1/get': ['POST', 'get'],
  '/v1/set': ['POST', 'set'],
  '/v1/delete': ['POST', 'delete'],
  '/v1/atomic': ['POST', 'atomic'],
  '/v1/list': ['POST', 'list'],
  '/v1/count': ['POST', 'count'],
  '/v1/usage': ['GET', 'usage'],
  '/v1/watch': ['POST', 'watch'],
  '/v1/queue': ['GET', 'queue'],
  '/v1/queue/listen': ['POST', 'queue_listen'],
  '/v1/queue/settle': ['POST', 'queue_settle'],
};
// Routes whose answer is a stream: the object's RPC for each.
const STREAMS = {
  watch: (object, tokenHash, body) => object.watch(tokenHash.bytes, body),
  queue_listen: (object, tokenHash, body) => object.listen(tokenHash.bytes, body),
};
const NOTHING = new Uint8Array(0);

/** Runs `operation` for the store of the request's token. */
export async function storeRequest(request, env, operation) {
  const caller = await authenticate(request, env);
  if (caller instanceof Response) return caller;
  const { tokenHash, store } = caller;
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
  // The writes take an Idempotency-Key; the core checks its form, and
  // refuses it on any other route.
  const idempotencyKey = request.headers.get('idempotency-key') ?? '';
  const result = Object.hasOwn(STREAMS, operation)
    ? await STREAMS[operation](object, tokenHash, body)
    : await object.handle(operation, tokenHash.bytes, body, idempotencyKey);
  if (result.status === 401) return refuseStoreToken(request, env, tokenHash, result.body);
  const quota = rateLimitHeaders(result.quota);
  if (result.stream) {
    return new Response(result.stream, { headers: { ...SSE_HEADERS, ...quota } });
  }
  const rows = rowCountHeaders(env, result.rows);
  const replayed = result.replayed ? { 'idempotent-replayed': 'true' } : {};
  return new Response(result.body, {
    status: result.status, headers: { ...JSON_HEADERS, ...quota, ...rows, ...replayed },
  });
}
