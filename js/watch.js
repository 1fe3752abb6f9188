// watch(): a stream of `{ entries, changed }` for a few keys that reconnects
// after a dropped connection (js/resumable.js says when and how), and
// delivers what changed meanwhile, so no change goes missing: the first
// event of each connection holds every key's current entry, delivered when
// any version differs from the last event delivered, with `changed` naming
// those keys.

import { linkSignals, resumableEvents } from './resumable.js';
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
  const abort = linkSignals(signals);
  const release = () => {
    abort.unlink();
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
  for await (const { data } of resumableEvents('watch', url, open, signal, { backoff, reconnect })) {
    const { entries, changed } = data;
    // After a reconnect the first event holds every key: keep only what changed since the last delivered.
    const news = versions === null ? changed : entries.flatMap((entry, i) => (entry.version !== versions[i] ? [i] : []));
    if (news.length > 0 || raw || versions === null) {
      versions = entries.map((entry) => entry.version);
      yield watchEvent(entries.map(decodeEntry), news);
    }
  }
}
