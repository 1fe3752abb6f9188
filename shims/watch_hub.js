// The open watches of one store, each a stream in one of two formats:
// server-sent events (docs/http-api.md, POST /v1/watch) or KV Connect's
// frames (docs/kv-connect.md), kept in bounds so that idle or slow watchers
// cannot make one write cost unbounded memory:
// - at most `maxWatches` are open per store; one more is refused 429;
// - each has at most one event in flight (plus its closing event). A change
//   that arrives meanwhile is not queued: the watch is marked due, and when
//   the write settles it peeks again and sends the newest state, its
//   `changed` counted against the versions it last sent, so intermediate
//   states are skipped but no change goes unreported (a KV Connect frame is
//   sent when its bytes differ from the last one's);
// - a write pending for `stallMs` aborts the watch, and every watch ends
//   after `lifetimeMs`: the client reconnects in both cases;
// - an idle watch is sent a keep-alive (a comment, or an empty frame) every
//   `heartbeatMs`.
//   The runtime does not tell a store that a client went away until it
//   writes to the connection, so without it a dead watcher would hold its
//   slot until the next change (or its lifetime): with it, the write fails
//   or stalls, and the watch is gone within heartbeatMs + stallMs.
// Plain ESM without workerd imports, so that Node's tests run it as is.

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
  // Open watches: { credential, body, format, peek, last, writer, inFlight, due, lifetime }.
  #watches = new Set();
  #maxWatches;
  #lifetimeMs;
  #stallMs;
  #setTimer;
  #clearTimer;

  #heartbeatMs;

  constructor({
    maxWatches, lifetimeMs, stallMs, heartbeatMs,
    setTimer = (run, ms) => setTimeout(run, ms), clearTimer = (timer) => clearTimeout(timer),
  }) {
    for (const [name, value] of Object.entries({ maxWatches, lifetimeMs, stallMs, heartbeatMs })) {
      if (!(Number.isInteger(value) && value > 0)) throw new TypeError(`${name} must be a positive integer`);
    }
    this.#maxWatches = maxWatches;
    this.#lifetimeMs = lifetimeMs;
    this.#stallMs = stallMs;
    this.#heartbeatMs = heartbeatMs;
    this.#setTimer = setTimer;
    this.#clearTimer = clearTimer;
  }

  /** How many watches are open. */
  get size() {
    return this.#watches.size;
  }

  /**
   * The refusal `{ status: 429, body }` (JSON) when the store has
   * `maxWatches` open, else null. Asked before the first read, so a refused
   * watch costs nothing.
   */
  refusal() {
    if (this.#watches.size < this.#maxWatches) return null;
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
    const { readable, writable } = new TransformStream();
    const watch = {
      credential, body, format, peek, last: null, writer: writable.getWriter(), inFlight: false, due: null,
    };
    this.#watches.add(watch);
    watch.lifetime = this.#setTimer(() => this.#finish(watch,
      format.end({ reason: 'lifetime', lifetimeMs: this.#lifetimeMs })), this.#lifetimeMs);
    // A client that goes away makes writes fail: forget the watch then.
    watch.writer.closed.catch(() => this.#forget(watch));
    this.#keepAlive(watch);
    this.#deliver(watch, () => first);
    return { stream: readable };
  }

  /**
   * After a commit or expiry: brings every watch up to date. `peek(watch)`
   * returns the watch's current result `{ status, body }`; it is called
   * now, or when the watch's write in flight settles. Never throws: a
   * failing peek ends only its watch, and the commit stays a success.
   */
  update(peek) {
    for (const watch of this.#watches) {
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
    for (const watch of this.#watches) {
      if (predicate(watch.credential)) this.#finish(watch, watch.format.error(errorBody));
    }
  }

  // Sends `peek(watch)` when it holds news since the last one sent; an
  // error result ends the watch.
  #deliver(watch, peek) {
    let event;
    try {
      const result = peek(watch);
      if (result.status !== 200) {
        this.#finish(watch, watch.format.error(result.body));
        return;
      }
      const news = watch.format.event(result, watch.last);
      if (news === null) return;
      watch.last = news.state;
      event = news.bytes;
    } catch (error) {
      console.error('watch peek failed:', error);
      this.#abort(watch, error);
      return;
    }
    this.#send(watch, event);
  }

  // Writes `event` as the watch's one event in flight; an update that came
  // meanwhile is delivered when it settles.
  #send(watch, event) {
    watch.inFlight = true;
    this.#write(watch, event).then(() => {
      watch.inFlight = false;
      const { due } = watch;
      watch.due = null;
      if (due !== null && this.#watches.has(watch)) this.#deliver(watch, due);
    }, () => {});
  }

  // Every heartbeatMs, a comment to a watch with nothing in flight.
  #keepAlive(watch) {
    watch.heartbeat = this.#setTimer(() => {
      if (!this.#watches.has(watch)) return;
      if (!watch.inFlight) this.#send(watch, watch.format.keepAlive);
      this.#keepAlive(watch);
    }, this.#heartbeatMs);
  }

  // Ends `watch` with a last event (bytes, or null for none), then closes
  // its stream.
  #finish(watch, event) {
    if (!this.#forget(watch)) return;
    if (event !== null) this.#write(watch, event).catch(() => {});
    watch.writer.close().catch(() => {});
  }

  #abort(watch, reason) {
    this.#forget(watch);
    watch.writer.abort(reason).catch(() => {});
  }

  // Writes one event; one the reader does not take within `stallMs` ends
  // the watch, as does a failed write.
  async #write(watch, event) {
    const stall = this.#setTimer(() => this.#abort(watch, new Error(`the watcher read nothing for ${this.#stallMs} ms`)),
      this.#stallMs);
    try {
      await watch.writer.write(event);
    } catch (error) {
      this.#forget(watch);
      throw error;
    } finally {
      this.#clearTimer(stall);
    }
  }

  // Removes `watch` from the open ones; false if it was not open.
  #forget(watch) {
    if (!this.#watches.delete(watch)) return false;
    this.#clearTimer(watch.lifetime);
    this.#clearTimer(watch.heartbeat);
    watch.due = null;
    return true;
  }
}

function sameBytes(a, b) {
  return a.length === b.length && a.every((byte, i) => byte === b[i]);
}
