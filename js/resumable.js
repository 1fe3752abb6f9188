// A stream of server-sent events that outlives its connections: what
// watch() and listenQueue() share.
//
// A connection ends by the store's `event: end` (its lifetime; reconnect at
// once), by a drop (the network, a reset, a cut stream, the stream's end
// without `event: end`) or by a refusal. After a drop, and after a 408,
// 429 or 5xx answer to a reconnect, it reconnects after a backoff delay as
// requests are retried (full jitter, retry.baseDelayMs doubling up to
// retry.maxDelayMs; a Retry-After is honoured), for as long as the stream
// lives: it outlives an outage. Another 4xx (a rotated token's 401) or an
// `event: error` ends it with that KvError.

import { errorOf, KvError } from './errors.js';
import { parseJson, serverSentEvents } from './streams.js';
import { requestedWait, RETRYABLE_STATUSES } from './transport.js';

/**
 * The events of the streamed request `name` (its route, for messages) at
 * `url`, across connections, as `{ type, data }` with `data` parsed as JSON;
 * the store's `end` and `error` events are not yielded. `open(signal)` sends
 * the request and resolves to `{ response, release }` (transport.openStream).
 * It returns once `signal` aborted. `backoff(n)` is the wait before
 * reconnect n after drops in a row; `reconnect` false ends it at the first
 * drop, with its error.
 */
export async function* resumableEvents(name, url, open, signal, { backoff, reconnect = true }) {
  let drops = 0; // connections in a row that failed before an event
  while (!signal.aborted) {
    let connection;
    let wait = 0;
    let retryAfter; // of a refused reconnect
    try {
      connection = await open(signal);
      const { response } = connection;
      if (!response.ok) {
        const text = await response.text();
        const error = errorOf('POST', url, response.status, parseJson(text), text);
        if (!RETRYABLE_STATUSES.includes(response.status) && response.status < 500) throw refusal(error, drops + 1);
        retryAfter = requestedWait(response)?.ms;
        throw error;
      }
      let lifetimeReached = false;
      for await (const event of serverSentEvents(response.body)) {
        if (event.type === 'error') throw refusal(errorOf('POST', url, 200, parseJson(event.data), event.data), drops + 1);
        if (event.type === 'end') {
          lifetimeReached = true; // the store closes every stream after a while: reconnect at once
          break;
        }
        // Parsed here, so that a garbled event counts as a drop.
        const data = JSON.parse(event.data);
        drops = 0;
        yield { type: event.type, data };
      }
      if (!lifetimeReached) throw new KvError('network_error', null, `POST ${url}: the ${name} stream ended without the store's end event`);
    } catch (error) {
      if (signal.aborted) return;
      if (REFUSALS.has(error)) throw error;
      drops++;
      if (!reconnect) throw dropped(name, url, error, drops);
      wait = retryAfter ?? backoff(drops);
    } finally {
      connection?.release();
    }
    if (wait > 0) await sleep(wait, signal);
  }
}

/**
 * One signal that aborts when any of `signals` (undefined ones skipped)
 * does; `unlink()` stops listening to them.
 */
export function linkSignals(signals) {
  const controller = new AbortController();
  const stop = () => controller.abort();
  const live = signals.filter(Boolean);
  for (const signal of live) {
    if (signal.aborted) controller.abort();
    else signal.addEventListener('abort', stop, { once: true });
  }
  return {
    signal: controller.signal,
    abort: stop,
    unlink: () => {
      for (const signal of live) signal.removeEventListener('abort', stop);
    },
  };
}

// The answers that end the stream: a 4xx other than 408 and 429, or an `event: error`.
const REFUSALS = new WeakSet();

function refusal(error, attempts) {
  REFUSALS.add(error);
  return Object.assign(error, { attempts, retryable: false });
}

// The error a stream ends with at a drop when it does not reconnect (retry: false).
function dropped(name, url, error, attempts) {
  if (error instanceof KvError) return Object.assign(error, { attempts, retryable: true });
  return new KvError('network_error', null, `POST ${url}: the ${name} stream broke: ${error?.message ?? error}`, {
    cause: error,
    attempts,
    retryable: true,
  });
}

// Waits `ms`, or less if `signal` aborts meanwhile.
function sleep(ms, signal) {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}
