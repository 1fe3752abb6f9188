// The Worker entry: routes each request to the module that answers it, and
// turns a failure into the API's error form. Routes: docs/http-api.md.
//
//   /v1/health              here
//   /v1/get, /v1/set, ...   shims/store_routes.js (the JSON API)
//   /v1/kv-connect[/...]    shims/kv_connect.js (Deno's KV Connect)
//   /v1/admin/...           shims/admin.js (the operator's routes)
//
// The web console's files (/console/) never reach it: the host serves them
// as static assets first (wrangler.toml [assets], docs/console.md).
//
// No key-value logic here: the wasm core, in each store's Durable Object
// (KvStore), owns that.

import { ADMIN_PREFIX, adminRoute } from './admin.js';
import { allowOnly, errorResponse, jsonResponse } from './http.js';
import { isKvConnectPath, kvConnect } from './kv_connect.js';
import { STORE_ROUTES, storeRequest } from './store_routes.js';

export { KvStore } from './store_object.js';

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
  if (isKvConnectPath(pathname)) return kvConnect(request, env, pathname);
  const answer = pathname.startsWith(ADMIN_PREFIX) ? adminRoute(request, env, pathname) : null;
  return answer ?? errorResponse(404, 'not_found', `there is no route ${pathname}; the routes are listed in docs/http-api.md`);
}
