// The Worker's HTTP vocabulary: JSON and error responses, the bearer token,
// a request body read no further than the core's limit, and method checks.
// Every route's refusals are made here, in the one error form of
// docs/http-api.md.

import { LIMITS } from '../build/wasm/kv_limits.js';

export const JSON_HEADERS = { 'content-type': 'application/json; charset=utf-8' };
export const SSE_HEADERS = { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store' };

const encoder = new TextEncoder();
// Keeps a byte order mark, which JSON does not allow (as the core refuses it).
const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** `value` as JSON bytes: the body of a call to a store's object. */
export function jsonBytes(value) {
  return encoder.encode(JSON.stringify(value));
}

export function jsonResponse(status, body, headers = {}) {
  return new Response(JSON.stringify(body), { status, headers: { ...JSON_HEADERS, ...headers } });
}

export function errorResponse(status, code, message, headers) {
  return jsonResponse(status, { error: { code, message } }, headers);
}

/** A store object's answer `{ status, body }` (JSON text), as it is. */
export function passThrough(result) {
  return new Response(result.body, { status: result.status, headers: JSON_HEADERS });
}

/** RateLimit-* headers (IETF draft) for the monthly operations quota, if the store has one. */
// The rows the store object's SQL read and wrote for this request (what the
// host bills), for the bench and the tests: only with KV_ROW_COUNTS=on.
export function rowCountHeaders(env, rows) {
  if (env.KV_ROW_COUNTS !== 'on' || !rows) return {};
  return { 'kv-rows-read': String(rows.read), 'kv-rows-written': String(rows.written) };
}

export function rateLimitHeaders(quota) {
  if (!quota) return {};
  return {
    'ratelimit-limit': String(quota.limit),
    'ratelimit-remaining': String(quota.remaining),
    'ratelimit-reset': String(Math.max(0, Math.ceil((quota.resetsAt - Date.now()) / 1000))),
  };
}

/** null when the request's method is one of `methods`, else the 405 Response. */
export function allowOnly(request, methods) {
  if (methods.includes(request.method)) return null;
  return errorResponse(405, 'method_not_allowed', `this route takes ${methods.join(' or ')}, not ${request.method}`,
    { allow: methods.join(', ') });
}

/** The token of an `Authorization: Bearer <token>` header, or a 401 Response. */
export function bearerToken(request) {
  const header = request.headers.get('authorization');
  const token = header === null ? null : /^Bearer +(\S+)$/i.exec(header)?.[1];
  if (!token) {
    return errorResponse(401, 'missing_token',
      `send the header "Authorization: Bearer <token>"${header === null ? '' : '; the header given is not of that form'}`);
  }
  return token;
}

/** null when the request declares a JSON body, else the 415 Response. */
export function refuseNonJson(request) {
  const type = request.headers.get('content-type') ?? '';
  if (/^application\/json\s*(;|$)/i.test(type)) return null;
  return errorResponse(415, 'unsupported_media_type',
    `send the body as JSON with "Content-Type: application/json"; got ${type ? `"${type}"` : 'no Content-Type'}`);
}

/**
 * The body's bytes, read no further than the core's limit, or a 413
 * Response: a client cannot make the Worker buffer an unbounded body.
 */
export async function readBody(request) {
  const limit = LIMITS.maxRequestBytes;
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

/** The body as a JSON object with no fields but `fields`, or an error Response. */
export async function readJsonObject(request, fields) {
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
