// Shared by the client's unit tests: a fake fetch that records each request
// and answers as a script says, and server-sent-event bodies for watches.

import { connect } from '../../js/index.js';

export const OPTIONS = { accessToken: 'token-1', region: 'eu-central-1', endpoint: 'https://kv.test' };
export const VERSION = '00000000000000010000';

export function jsonResponse(body, status = 200, headers = {}) {
  return new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json', ...headers } });
}

export function errorResponse(status, code, headers = {}) {
  return jsonResponse({ error: { code, message: `${code} (a test answer)` } }, status, headers);
}

/**
 * A kv whose requests are recorded in `requests` ({ url, route, body,
 * headers, signal }); `answer(request, index)` gives each answer: a JSON
 * body, a Response (or an object with text() in its stead), a promise of
 * one, or it throws (a network error).
 * Unless `options` say otherwise, retries wait at most 1 ms.
 */
export function fakeKv(answer, options = {}) {
  const requests = [];
  const fetch = async (url, init) => {
    const request = {
      url,
      route: url.slice(`${OPTIONS.endpoint}/v1/`.length),
      body: init.body === undefined ? undefined : JSON.parse(init.body),
      headers: init.headers,
      signal: init.signal,
      method: init.method,
    };
    requests.push(request);
    const result = await answer(request, requests.length - 1);
    return result instanceof Response || typeof result?.text === 'function' ? result : jsonResponse(result);
  };
  const kv = connect({ ...OPTIONS, fetch, retry: { baseDelayMs: 1, maxDelayMs: 1 }, ...options });
  return { kv, requests };
}

/** The answer of a get as the store gives it: each key's entry, `value` naming the key. */
export function entriesOf(keys) {
  return { entries: keys.map((key) => ({ key, value: `value of ${JSON.stringify(key)}`, version: VERSION })) };
}

/** A promise that never settles but rejects when `signal` aborts, as fetch does. */
export function stall(signal) {
  return new Promise((resolve, reject) => {
    signal?.addEventListener('abort', () => reject(signal.reason ?? new DOMException('aborted', 'AbortError')), { once: true });
  });
}

/**
 * A text/event-stream Response of `events` (objects sent as `data:`, or
 * strings sent as they are), then, by `end`: 'cut' (the body errors: a
 * dropped connection), 'close' (the body ends), 'lifetime' (the store's
 * `event: end`, then the body ends) or 'open' (it stays open until `signal`
 * aborts).
 */
export function sseResponse(events, { end = 'open', signal } = {}) {
  const encoder = new TextEncoder();
  const chunks = events.map((event) => (typeof event === 'string' ? event : `data: ${JSON.stringify(event)}\n\n`));
  if (end === 'lifetime') chunks.push('event: end\ndata: {"reason":"lifetime","lifetimeMs":900000}\n\n');
  const body = new ReadableStream({
    // A chunk a pull, so that a cut comes after every event was read.
    pull(controller) {
      if (chunks.length > 0) return controller.enqueue(encoder.encode(chunks.shift()));
      if (end === 'cut') return controller.error(new TypeError('terminated'));
      if (end !== 'open') return controller.close();
      return new Promise((resolve) => {
        const abort = () => {
          controller.error(new DOMException('aborted', 'AbortError'));
          resolve();
        };
        if (signal?.aborted) abort();
        else signal?.addEventListener('abort', abort, { once: true });
      });
    },
  });
  return new Response(body, { headers: { 'content-type': 'text/event-stream' } });
}

export function watchEntry(key, value, version) {
  return { key, value: version === null ? null : value, version };
}

export const tick = () => new Promise((resolve) => setTimeout(resolve, 0));
