// watch(): a stream of `{ entries, changed }` for a few keys that reconnects
// after a dropped connection, with backoff, and delivers what changed
// meanwhile, so no change goes missing.

import { errorOf, KvError } from './errors.js';
import { parseJson, serverSentEvents } from './streams.js';
import { decodeEntry } from './wire.js';

const RECONNECT_FIRST_MS = 100;
const RECONNECT_LAST_MS = 5000;

/**
 * The stream Kv.watch returns: `open(signal)` sends the watch request to
 * `url` and resolves to its Response; cancelling the stream or aborting one
 * of `signals` (the caller's, the one Kv.close() aborts) closes it, and
 * `onEnd` is called once it ended. With `raw`, an event follows each
 * reconnect even when nothing changed meanwhile.
 */
export function watchStream(url, open, { signals, raw = false, onEnd }) {
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
  const events = watchEvents(url, open, abort.signal, raw);
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

async function* watchEvents(url, open, signal, raw) {
  let versions = null; // of the last event yielded
  let delay = RECONNECT_FIRST_MS;
  while (!signal.aborted) {
    let lifetimeReached = false;
    try {
      const response = await open(signal);
      if (!response.ok) {
        const text = await response.text();
        throw errorOf('POST', url, response.status, parseJson(text), text);
      }
      for await (const event of serverSentEvents(response.body)) {
        if (event.type === 'error') throw errorOf('POST', url, 200, parseJson(event.data), event.data);
        if (event.type === 'end') {
          lifetimeReached = true; // the store closes every stream after a while: reconnect at once
          break;
        }
        const { entries, changed } = JSON.parse(event.data);
        // After a reconnect the first event holds every key: keep only what changed meanwhile.
        const news = versions === null ? changed : entries.flatMap((entry, i) => (entry.version !== versions[i] ? [i] : []));
        versions = entries.map((entry) => entry.version);
        delay = RECONNECT_FIRST_MS;
        if (news.length > 0 || raw) yield watchEvent(entries.map(decodeEntry), news);
      }
    } catch (error) {
      if (error instanceof KvError || signal.aborted) {
        if (signal.aborted) return;
        throw error;
      }
      // A dropped connection: try again, waiting longer each time.
    }
    if (lifetimeReached) continue;
    await sleep(delay, signal);
    delay = Math.min(delay * 2, RECONNECT_LAST_MS);
  }
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
