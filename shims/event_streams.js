// The open event streams of one store object (watches, queue listeners),
// kept in bounds so that idle or slow readers cannot cost it unbounded
// memory or hold it forever:
// - at most `max` are open at once;
// - every stream ends after `lifetimeMs` (the client reconnects);
// - a write the reader has not taken within `stallMs` aborts the stream;
// - an idle stream is sent a keep-alive every `heartbeatMs`. The runtime
//   does not tell a store that a client went away until it writes to the
//   connection, so without it a dead reader would hold its slot until the
//   next event (or its lifetime): with it, the write fails or stalls, and
//   the stream is gone within heartbeatMs + stallMs.
// Each stream is the caller's own object, given to open(); the fields this
// class adds are `writer`, `writes` (in flight) and its timers.
// Plain ESM without workerd imports, so that Node's tests run it as is.

export class EventStreams {
  #open = new Set();
  #max;
  #lifetimeMs;
  #stallMs;
  #heartbeatMs;
  #setTimer;
  #clearTimer;

  constructor({
    max, lifetimeMs, stallMs, heartbeatMs,
    setTimer = (run, ms) => setTimeout(run, ms), clearTimer = (timer) => clearTimeout(timer),
  }) {
    for (const [name, value] of Object.entries({ max, lifetimeMs, stallMs, heartbeatMs })) {
      if (!(Number.isInteger(value) && value > 0)) throw new TypeError(`${name} must be a positive integer`);
    }
    this.#max = max;
    this.#lifetimeMs = lifetimeMs;
    this.#stallMs = stallMs;
    this.#heartbeatMs = heartbeatMs;
    this.#setTimer = setTimer;
    this.#clearTimer = clearTimer;
  }

  get size() {
    return this.#open.size;
  }

  get full() {
    return this.#open.size >= this.#max;
  }

  [Symbol.iterator]() {
    return this.#open.values();
  }

  has(stream) {
    return this.#open.has(stream);
  }

  /**
   * Opens `stream` (the caller's object) and returns its readable side.
   * `keepAlive` is written to it when it is idle; `end(lifetimeMs)` gives
   * its last bytes when its lifetime is over (or null).
   */
  open(stream, { keepAlive, end }) {
    const { readable, writable } = new TransformStream();
    stream.writer = writable.getWriter();
    stream.writes = 0;
    this.#open.add(stream);
    stream.lifetime = this.#setTimer(() => this.finish(stream, end(this.#lifetimeMs)), this.#lifetimeMs);
    // A client that goes away makes writes fail: forget the stream then.
    stream.writer.closed.catch(() => this.#forget(stream));
    this.#keepAlive(stream, keepAlive);
    return readable;
  }

  /**
   * Writes `bytes`; a write the reader does not take within `stallMs` ends
   * the stream, as does a failed write (the promise rejects then).
   */
  async write(stream, bytes) {
    const stall = this.#setTimer(() => this.abort(stream, new Error(`the reader read nothing for ${this.#stallMs} ms`)),
      this.#stallMs);
    stream.writes++;
    try {
      await stream.writer.write(bytes);
    } catch (error) {
      this.#forget(stream);
      throw error;
    } finally {
      stream.writes--;
      this.#clearTimer(stall);
    }
  }

  /** Ends `stream` with a last event (bytes, or null for none), then closes it. */
  finish(stream, bytes) {
    if (!this.#forget(stream)) return;
    if (bytes !== null) this.write(stream, bytes).catch(() => {});
    stream.writer.close().catch(() => {});
  }

  abort(stream, reason) {
    this.#forget(stream);
    stream.writer.abort(reason).catch(() => {});
  }

  // Every heartbeatMs, a keep-alive to a stream with nothing in flight.
  #keepAlive(stream, bytes) {
    stream.heartbeat = this.#setTimer(() => {
      if (!this.#open.has(stream)) return;
      if (stream.writes === 0) this.write(stream, bytes).catch(() => {});
      this.#keepAlive(stream, bytes);
    }, this.#heartbeatMs);
  }

  // Removes `stream` from the open ones; false if it was not open.
  #forget(stream) {
    if (!this.#open.delete(stream)) return false;
    this.#clearTimer(stream.lifetime);
    this.#clearTimer(stream.heartbeat);
    return true;
  }
}
