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
 * `url` and resolves to its Response; cancelling the stream or aborting
 * `signal` closes it.
 */
export function watchStream(url, open, signal) {
  const abort = new AbortController();
  signal?.addEventListener('abort', () => abort.abort(), { once: true });
  const events = watchEvents(url, open, abort.signal);
  return new ReadableStream({
    async pull(controller) {
      try {
        const { value, done } = await events.next();
        if (done) controller.close();
        else controller.enqueue(value);
      } catch (error) {
        controller.error(error);
      }
    },
    async cancel() {
      abort.abort();
      await events.return();
    },
  });
}

async function* watchEvents(url, open, signal) {
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
        if (news.length > 0) yield { entries: entries.map(decodeEntry), changed: news };
      }
    } catch (error) {
      if (error instanceof KvError || signal.aborted) {
        if (signal.aborted) return;
        throw error;
      }
      // A dropped connection: try again, waiting longer each time.
    }
    if (lifetimeReached) continue;
    await new Promise((resolve) => setTimeout(resolve, delay));
    delay = Math.min(delay * 2, RECONNECT_LAST_MS);
  }
}
