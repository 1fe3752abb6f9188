// The open watches of one store, each a stream in one of two formats:
// server-sent events (docs/http-api.md, POST /v1/watch) or KV Connect's
// frames (docs/kv-connect.md), kept in bounds (shims/event_streams.js) so
// that idle or slow watchers cannot make one write cost unbounded memory:
// - at most `maxWatches` are open per store; one more is refused 429;
// - each has at most one event in flight (plus its closing event). A change
//   that arrives meanwhile is not queued: the watch is marked due, and when
//   the write settles it peeks again and sends the newest state, its
//   `changed` counted against the versions it last sent, so intermediate
//   states are skipped but no change goes unreported (a KV Connect frame is
//   sent when its bytes differ from the last one's);
// - a write pending for `stallMs` aborts the watch, every watch ends after
//   `lifetimeMs` (the client reconnects in both cases), and an idle watch is
//   sent a keep-alive (a comment, or an empty frame) every `heartbeatMs`.
// Plain ESM without workerd imports, so that Node's tests run it as is.

import { EventStreams } from './event_streams.js';

const encoder = new TextEncoder();

// How a watch's stream is written. `event(result, last)` turns the core's
// answer `{ body }` into `{ state, bytes }` to send, given the state `last`
// sent (null at first), or null when there is no news; `keepAlive` is sent
// to an idle watch; `end(reason)` and `error(body)` give its last bytes, or
// null to just close it.
export const SSE = {
  event(result, last) {
    const { entries } = JSON.parse(result.body);
    const changed = entries.flatMap((entry, index) => (last === null || entry.version !== last[index] ? [index] : []));
    if (changed.length === 0) return null;
    return {
      state: entries.map((entry) => entry.version),
      bytes: encoder.encode(`data: ${JSON.stringify({ entries, changed })}\n\n`),
    };
  },
  keepAlive: encoder.encode(': keep-alive\n\n'),
  end: (reason) => encoder.encode(`event: end\ndata: ${JSON.stringify(reason)}\n\n`),
  error: (body) => encoder.encode(`event: error\ndata: ${body}\n\n`),
};

// KV Connect's watch stream: each answer of the core is a whole frame (a
// 4-byte length, then a WatchOutput reporting every key), sent when it
// differs from the last. An empty frame is a ping. Its clients reconnect
// when the stream ends, and learn of an error (a rotated token) then.
export const FRAMES = {
  event(result, last) {
    const frame = result.body;
    if (last !== null && sameBytes(frame, last)) return null;
    return { state: frame, bytes: frame };
  },
  keepAlive: new Uint8Array(4),
  end: () => null,
  error: () => null,
};

export class WatchHub {
  // Open watches: { credential, body, format, peek, last, inFlight, due }
  // and EventStreams' fields.
  #streams;
  #maxWatches;

  constructor({ maxWatches, lifetimeMs, stallMs, heartbeatMs, setTimer, clearTimer }) {
    this.#streams = new EventStreams({ max: maxWatches, lifetimeMs, stallMs, heartbeatMs, setTimer, clearTimer });
    this.#maxWatches = maxWatches;
  }

  /** How many watches are open. */
  get size() {
    return this.#streams.size;
  }

  /**
   * The refusal `{ status: 429, body }` (JSON) when the store has
   * `maxWatches` open, else null. Asked before the first read, so a refused
   * watch costs nothing.
   */
  refusal() {
    if (!this.#streams.full) return null;
    const message = `the store has ${this.#maxWatches} open watches; the limit is ${this.#maxWatches} open watches ` +
      'per store, counting every open watch of the store by any client; close a watch or wait for one to end';
    return { status: 429, body: JSON.stringify({ error: { code: 'too_many_watches', message } }) };
  }

  /**
   * Opens a watch writing `format` (SSE or FRAMES). `first` is its first
   * result `{ status, body }` (of the core's "watch" or "kvc_watch");
   * `credential`, `body` and `peek` (the name of the core's operation that
   * re-reads it) stay on the watch for update() and endWhere().
   * Returns `{ stream }`, the stream's readable side, or `{ refused }` (see
   * refusal()) when the store has `maxWatches`.
   */
  open({ credential, body, first, format = SSE, peek = 'peek' }) {
    const refused = this.refusal();
    if (refused) return { refused };
    const watch = { credential, body, format, peek, last: null, inFlight: false, due: null };
    const stream = this.#streams.open(watch, {
      keepAlive: format.keepAlive,
      end: (lifetimeMs) => format.end({ reason: 'lifetime', lifetimeMs }),
    });
    this.#deliver(watch, () => first);
    return { stream };
  }

  /**
   * After a commit or expiry: brings every watch up to date. `peek(watch)`
   * returns the watch's current result `{ status, body }`; it is called
   * now, or when the watch's write in flight settles. Never throws: a
   * failing peek ends only its watch, and the commit stays a success.
   */
  update(peek) {
    for (const watch of this.#streams) {
      if (watch.inFlight) watch.due = peek;
      else this.#deliver(watch, peek);
    }
  }

  /** Ends every watch with an error carrying `errorBody` (JSON), e.g. when the store is deleted. */
  endAll(errorBody) {
    this.endWhere(() => true, errorBody);
  }

  /** Ends with an error carrying `errorBody` (JSON) the watches whose credential satisfies `predicate`. */
  endWhere(predicate, errorBody) {
    for (const watch of [...this.#streams]) {
      if (predicate(watch.credential)) this.#streams.finish(watch, watch.format.error(errorBody));
    }
  }

  // Sends `peek(watch)` when it holds news since the last one sent; an
  // error result ends the watch.
  #deliver(watch, peek) {
    let event;
    try {
      const result = peek(watch);
      if (result.status !== 200) {
        this.#streams.finish(watch, watch.format.error(result.body));
        return;
      }
      const news = watch.format.event(result, watch.last);
      if (news === null) return;
      watch.last = news.state;
      event = news.bytes;
    } catch (error) {
      console.error('watch peek failed:', error);
      this.#streams.abort(watch, error);
      return;
    }
    this.#send(watch, event);
  }

  // Writes `event` as the watch's one event in flight; an update that came
  // meanwhile is delivered when it settles.
  #send(watch, event) {
    watch.inFlight = true;
    this.#streams.write(watch, event).then(() => {
      watch.inFlight = false;
      const { due } = watch;
      watch.due = null;
      if (due !== null && this.#streams.has(watch)) this.#deliver(watch, due);
    }, () => {});
  }
}

function sameBytes(a, b) {
  return a.length === b.length && a.every((byte, i) => byte === b[i]);
}
