// Who is calling. A store route's bearer token is resolved to its store by
// the auth gate (shims/auth_gate.js) in front of the token directory
// (shims/directory.js); an admin route's must be the operator's
// KV_ADMIN_TOKEN. Every failure counts against the caller's address
// (wrangler.toml's rate limits), which slows down guessing.

import { LIMITS } from '../build/wasm/kv_limits.js';
import { AuthGate } from './auth_gate.js';
import { lookupToken } from './directory.js';
import { bearerToken, errorResponse, JSON_HEADERS } from './http.js';
import { TokenHash } from './token_hash.js';

// Access tokens are what crypto.randomUUID() makes.
export const TOKEN_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

// Token hash -> { id, region } of its store, in front of the directory. A
// cache only: the store's own object re-checks the hash on every request,
// so a rotated or deleted token is refused there even while an isolate
// still caches it. One per isolate.
let authGate = null;

function gate(env) {
  authGate ??= new AuthGate({
    lookup: (tokenHashHex) => lookupToken(env, tokenHashHex),
    failureLimiter: env.AUTH_FAILURES,
    lookupLimiter: env.DIRECTORY_LOOKUPS,
    limits: {
      cachedTokens: LIMITS.authCachedTokens,
      unknownTokenTtlMs: LIMITS.unknownTokenTtlMs,
      blockMs: LIMITS.authBlockMs,
    },
  });
  return authGate;
}

/**
 * The caller of a store route: `{ token, tokenHash, store }` (the bearer
 * token, its TokenHash, and the store's `{ id, region }` from the
 * directory), or the refusal Response. The store's object checks the hash
 * again.
 */
export async function authenticate(request, env) {
  const token = bearerToken(request);
  if (token instanceof Response) return refuseAuth(request, env, token);
  if (!TOKEN_PATTERN.test(token)) return refuseAuth(request, env, invalidToken());
  const tokenHash = await TokenHash.of(token);
  const { store, refusal } = await gate(env).resolve(tokenHash.hex, clientAddress(request));
  if (refusal) return refusalResponse(refusal);
  return { token, tokenHash, store };
}

/**
 * A 401 from the store's object (`body`, its JSON error): the token was
 * rotated or the store deleted since the gate cached it.
 */
export function refuseStoreToken(request, env, tokenHash, body) {
  gate(env).forget(tokenHash.hex);
  return refuseAuth(request, env, new Response(body, { status: 401, headers: JSON_HEADERS }));
}

/** Drops the gate's cached stores of these token hashes (hex): rotated or deleted. */
export function forgetTokens(env, tokenHashHexes) {
  for (const hex of tokenHashHexes) gate(env).forget(hex);
}

/** null when the request carries the operator's admin token, else the refusal Response. */
export async function authorizeAdmin(request, env) {
  if (!env.KV_ADMIN_TOKEN) {
    return errorResponse(403, 'admin_disabled',
      'admin routes are disabled: the service has no KV_ADMIN_TOKEN (set it with `wrangler secret put KV_ADMIN_TOKEN`, or in .dev.vars locally)');
  }
  const token = bearerToken(request);
  if (token instanceof Response) return refuseAuth(request, env, token);
  const [given, expected] = await Promise.all([TokenHash.of(token), TokenHash.of(env.KV_ADMIN_TOKEN)]);
  if (!given.equals(expected)) {
    return refuseAuth(request, env, errorResponse(401, 'invalid_token', 'the bearer token is not the admin token'));
  }
  return null;
}

function clientAddress(request) {
  return request.headers.get('cf-connecting-ip') ?? 'local';
}

function invalidToken() {
  return errorResponse(401, 'invalid_token', 'the access token is not valid (unknown, rotated or deleted)');
}

// Counts a failed authentication (the Response `refusal`) against the
// client's address; past the limit the answer is 429 instead.
async function refuseAuth(request, env, refusal) {
  const outcome = await gate(env).refuse(clientAddress(request), refusal);
  return outcome === refusal ? refusal : refusalResponse(outcome);
}

function refusalResponse({ status, code, message, retryAfterSeconds }) {
  return errorResponse(status, code, message,
    retryAfterSeconds === undefined ? undefined : { 'retry-after': String(retryAfterSeconds) });
}
