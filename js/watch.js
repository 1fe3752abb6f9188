// watch(): a stream of `{ entries, changed }` for a few keys that reconnects
// after a dropped connection, with backoff, and delivers what changed
// meanwhile, so no change goes missing.
//
// A connection ends by the store's `event: end` (its lifetime; reconnect at
// once), by a drop (the network, a reset, a cut stream, the stream's end
// without `event: end`) or by a refusal. After a drop, and after a 408,
// 429 or 5xx answer to a reconnect, it reconnects after a backoff delay as
// requests are retried (full jitter, retry.baseDelayMs doubling up to
// retry.maxDelayMs; a Retry-After is honoured), for as long as the watch
// lives: a watch outlives an outage. Another 4xx (a rotated token's 401) or
// an `event: error` ends the stream with that KvError. The first event of
// each connection holds every key's current entry: it is delivered when any
// version differs from the last event delivered, with `changed` naming those
// keys, so a change made while the watch was away is never missed.

import { errorOf, KvError } from './errors.js';
import { parseJson, serverSentEvents } from './streams.js';
import { requestedWait, RETRYABLE_STATUSES } from './transport.js';
import { decodeEntry } from './wire.js';

/**
 * The stream Kv.watch returns: `open(signal)` sends the watch request to
 * `url` and resolves to `{ response, release }` (transport.openStream);
 * cancelling the stream or aborting one of `signals` (the caller's, the one
 * Kv.close() aborts) closes it, and `onEnd` is called once it ended. With
 * `raw`, an event follows each reconnect even when nothing changed
 * meanwhile. `backoff(n)` is the wait before reconnect n after drops in a
 * row; `reconnect` false ends the stream at the first drop, with its error.
 */
export function watchStream(url, open, { signals, raw = false, onEnd, backoff, reconnect = true }) {
  const abort = new AbortController();
  const stop = () => abort.abort();
  const live = signals.filter(Boolean);
  for (const signal of live) {
    if (signal.aborted) abort.abort();
    else signal.addEventListener('abort', stop, { once: true });
  }
  const release = () => {
    for (const signal of live) signal.removeEventListener('abort', stop);
    onEnd?.();
  };
  const events = watchEvents(url, open, abort.signal, { raw, backoff, reconnect });
  return new ReadableStream({
    async pull(controller) {
      try {
        const { value, done } = await events.next();
        if (done) {
          release();
          controller.close();
        } else controller.enqueue(value);
      } catch (error) {
        release();
        controller.error(error);
      }
    },
    async cancel() {
      release();
      abort.abort();
      await events.return();
    },
  });
}

/**
 * One event: Deno KV's shape, an array of the watched keys' entries (in the
 * order of the keys), which also carries this client's `entries` (the same
 * entries as a plain array) and `changed` (the indexes of the keys that
 * changed). Both are non-enumerable, so the event compares, spreads and
 * serializes as the array Deno KV yields. `entries` hides
 * Array.prototype.entries(): use `Array.prototype.entries.call(event)`.
 */
function watchEvent(entries, changed) {
  const event = [...entries];
  Object.defineProperty(event, 'entries', { value: entries, writable: true, configurable: true });
  Object.defineProperty(event, 'changed', { value: changed, writable: true, configurable: true });
  return event;
}

async function* watchEvents(url, open, signal, { raw, backoff, reconnect }) {
  let versions = null; // of the last event delivered
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
        const { entries, changed } = JSON.parse(event.data);
        // After a reconnect the first event holds every key: keep only what changed since the last delivered.
        const news = versions === null ? changed : entries.flatMap((entry, i) => (entry.version !== versions[i] ? [i] : []));
        drops = 0;
        if (news.length > 0 || raw || versions === null) {
          versions = entries.map((entry) => entry.version);
          yield watchEvent(entries.map(decodeEntry), news);
        }
      }
      if (!lifetimeReached) throw new KvError('network_error', null, `POST ${url}: the watch stream ended without the store's end event`);
    } catch (error) {
      if (signal.aborted) return;
      if (REFUSALS.has(error)) throw error;
      drops++;
      if (!reconnect) throw dropped(url, error, drops);
      wait = retryAfter ?? backoff(drops);
    } finally {
      connection?.release();
    }
    if (wait > 0) await sleep(wait, signal);
  }
}

// The answers that end the watch: a 4xx other than 408 and 429, or an `event: error`.
const REFUSALS = new WeakSet();

function refusal(error, attempts) {
  REFUSALS.add(error);
  return Object.assign(error, { attempts, retryable: false });
}

// The error a watch ends with at a drop when it does not reconnect (retry: false).
function dropped(url, error, attempts) {
  if (error instanceof KvError) return Object.assign(error, { attempts, retryable: true });
  return new KvError('network_error', null, `POST ${url}: the watch stream broke: ${error?.message ?? error}`, {
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
