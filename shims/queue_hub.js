// The queue listeners of one store (docs/queues.md, POST /v1/queue/listen):
// server-sent event streams, kept in bounds by EventStreams
// (shims/event_streams.js), to which the store's due messages are pushed.
//
// Each listener holds at most `concurrency` messages unsettled. A message
// it holds is freed when it is settled (settled()) or when its lease's
// deadline passes; the core then counts the delivery as failed, whatever
// became of the listener. A listener that goes away leaves its leases to
// run out: its messages come back after their visibility timeout.
//
// pump() leases due messages to listeners with room, one listener after
// another (starting after the one served first last time, so that
// listeners share the messages), until the core has none due. It is
// synchronous, as the core's calls are: no other request runs between a
// lease and its write.
// Plain ESM without workerd imports, so that Node's tests run it as is.

import { EventStreams } from './event_streams.js';

const encoder = new TextEncoder();
const KEEP_ALIVE = encoder.encode(': keep-alive\n\n');
// The core writes each leased message as one line starting so.
const MESSAGE_NAME = /^\{"id":(\d+),"delivery":(\d+),/;

export class QueueHub {
  // Open listeners: { credential, concurrency, visibilityMs, held } and
  // EventStreams' fields; `held` maps "id:delivery" to the lease's deadline.
  #streams;
  #maxListeners;
  #lease;
  #now;
  #first = 0; // the listener pump() serves first: a rotating start

  /**
   * `lease(max, visibilityMs)` runs the core's queue_lease: it returns the
   * leased messages as JSON texts, one per message (see worker/service.cc).
   * `now()` is the clock the leases' deadlines are read with.
   */
  constructor({ maxListeners, lifetimeMs, stallMs, heartbeatMs, lease, now = Date.now, setTimer, clearTimer }) {
    this.#streams = new EventStreams({ max: maxListeners, lifetimeMs, stallMs, heartbeatMs, setTimer, clearTimer });
    this.#maxListeners = maxListeners;
    this.#lease = lease;
    this.#now = now;
  }

  /** How many listeners are open. */
  get size() {
    return this.#streams.size;
  }

  /** The refusal `{ status: 429, body }` (JSON) when the store has `maxListeners` open, else null. */
  refusal() {
    if (!this.#streams.full) return null;
    const message = `the store has ${this.#maxListeners} open queue listeners, its limit; ` +
      'close a listener or wait for one to end';
    return { status: 429, body: JSON.stringify({ error: { code: 'too_many_listeners', message } }) };
  }

  /**
   * Opens a listener that holds at most `concurrency` messages unsettled,
   * each leased for `visibilityMs`. Returns `{ stream }` or `{ refused }`.
   * The caller pumps once it is open.
   */
  open({ credential, concurrency, visibilityMs }) {
    const refused = this.refusal();
    if (refused) return { refused };
    const listener = { credential, concurrency, visibilityMs, held: new Map() };
    const stream = this.#streams.open(listener, {
      keepAlive: KEEP_ALIVE,
      end: (lifetimeMs) => sseEvent('end', JSON.stringify({ reason: 'lifetime', lifetimeMs })),
    });
    return { stream };
  }

  /** Frees the listeners' hold on the settled deliveries, `[{ id, delivery }]`. */
  settled(deliveries) {
    for (const listener of this.#streams) {
      for (const { id, delivery } of deliveries) listener.held.delete(`${id}:${delivery}`);
    }
  }

  /**
   * Leases due messages to the listeners with room and writes them. With no
   * room anywhere it still leases nothing once, so that expired leases are
   * turned into retries or dead letters.
   */
  pump() {
    const listeners = [...this.#streams];
    const now = this.#now();
    let leased = false;
    for (let i = 0; i < listeners.length; i++) {
      const listener = listeners[(this.#first + i) % listeners.length];
      for (const [name, deadline] of listener.held) {
        if (deadline <= now) listener.held.delete(name);
      }
      const room = listener.concurrency - listener.held.size;
      if (room <= 0) continue;
      const messages = this.#lease(room, listener.visibilityMs);
      leased = true;
      for (const text of messages) this.#send(listener, text, now + listener.visibilityMs);
      if (messages.length < room) break; // none due any more
    }
    this.#first = listeners.length === 0 ? 0 : (this.#first + 1) % listeners.length;
    if (!leased) this.#lease(0);
  }

  /** Ends every listener with an error carrying `errorBody` (JSON), e.g. when the store is deleted. */
  endAll(errorBody) {
    this.endWhere(() => true, errorBody);
  }

  /** Ends with an error carrying `errorBody` (JSON) the listeners whose credential satisfies `predicate`. */
  endWhere(predicate, errorBody) {
    for (const listener of [...this.#streams]) {
      if (predicate(listener.credential)) this.#streams.finish(listener, sseEvent('error', errorBody));
    }
  }

  #send(listener, text, deadline) {
    const [, id, delivery] = MESSAGE_NAME.exec(text);
    listener.held.set(`${id}:${delivery}`, deadline);
    // A failed write ends the listener; the lease runs out and the message
    // comes back.
    this.#streams.write(listener, sseEvent('message', text)).catch(() => {});
  }
}

function sseEvent(name, data) {
  return encoder.encode(`event: ${name}\ndata: ${data}\n\n`);
}
