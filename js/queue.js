// Queues (docs/queues.md): the wire form of an enqueue, with Deno KV's
// checks of its options, and the listener behind kv.listenQueue(): the
// messages of a resumable stream (js/resumable.js), each handed to the
// handler and settled by its outcome.

import { describe } from './errors.js';
import {
  MAX_BACKOFF_INTERVAL_MS,
  MAX_BACKOFF_INTERVALS,
  MAX_LISTEN_CONCURRENCY,
  MAX_QUEUE_DELAY_MS,
  MAX_SETTLES,
  MAX_UNDELIVERED_KEYS,
  MAX_VISIBILITY_TIMEOUT_MS,
  MIN_VISIBILITY_TIMEOUT_MS,
} from './limits.js';
import { linkSignals, resumableEvents } from './resumable.js';
import { checkSignal } from './transport.js';
import { decodeValue, encodeKey, encodeValue, KvU64 } from './wire.js';

export const ENQUEUE_OPTIONS = Object.freeze(['delay', 'keysIfUndelivered', 'backoffSchedule']);
const LISTEN_OPTIONS = ['signal', 'concurrency', 'visibilityTimeout'];

/**
 * The wire form of an enqueue: `value` as a set sends it, and the options
 * given (an absent one is left out: the store's default). Throws Deno KV's
 * TypeErrors, with its messages, for a bad delay or backoff schedule.
 * `path` names the enqueue in errors: "" (kv.enqueue) or "enqueues[2].".
 */
export function encodeEnqueue(value, options, path) {
  if (options !== undefined && (typeof options !== 'object' || options === null)) {
    throw new TypeError(`${path}options must be an object like { delay: 60000 }, got ${describe(options)}`);
  }
  const { delay, keysIfUndelivered, backoffSchedule, ...rest } = options ?? {};
  const unknown = Object.keys(rest)[0];
  if (unknown !== undefined) {
    throw new TypeError(`${path}options has an unknown option "${unknown}"; the options are ${ENQUEUE_OPTIONS.join(', ')}`);
  }
  // In Deno's order: the options, then the value.
  const wire = {};
  if (delay !== undefined) wire.delay = checkDelay(delay);
  if (backoffSchedule !== undefined) wire.backoffSchedule = checkBackoffSchedule(backoffSchedule);
  if (keysIfUndelivered !== undefined) wire.keysIfUndelivered = encodeUndeliveredKeys(keysIfUndelivered, `${path}keysIfUndelivered`);
  if (value instanceof KvU64) {
    // The store queues JSON, bytes and V8 values; a counter is an entry's only.
    throw new TypeError(
      `${path}value is a KvU64, which a queue message cannot be; enqueue its bigint as a string (String(n.value)) or a KvV8Value`,
    );
  }
  return { ...encodeValue(value, `${path}value`), ...wire };
}

// Deno KV's checks and messages. Deno takes a fraction of a millisecond
// (its op reads whole ones); the store takes whole ones.
function checkDelay(delay) {
  if (typeof delay !== 'number') throw new TypeError(`Delay must be a number of milliseconds: received ${describe(delay)}`);
  if (delay < 0) throw new TypeError(`Delay must be >= 0: received ${delay}`);
  if (delay > MAX_QUEUE_DELAY_MS) throw new TypeError(`Delay cannot be greater than 30 days: received ${delay}`);
  if (Number.isNaN(delay)) throw new TypeError('Delay cannot be NaN');
  return Math.trunc(delay);
}

function checkBackoffSchedule(schedule) {
  if (!Array.isArray(schedule)) {
    throw new TypeError(`Invalid backoffSchedule, it must be an array of milliseconds: received ${describe(schedule)}`);
  }
  if (schedule.length > MAX_BACKOFF_INTERVALS) {
    throw new TypeError(`Invalid backoffSchedule, max ${MAX_BACKOFF_INTERVALS} intervals allowed: received ${schedule.length}`);
  }
  return schedule.map((interval, index) => {
    if (!(typeof interval === 'number' && interval >= 0 && interval <= MAX_BACKOFF_INTERVAL_MS)) {
      throw new TypeError(
        `Invalid backoffSchedule, interval at index ${index} is invalid: received ${describe(interval)}; ` +
          `an interval is 0 to ${MAX_BACKOFF_INTERVAL_MS} ms`,
      );
    }
    return Math.trunc(interval);
  });
}

function encodeUndeliveredKeys(keys, path) {
  if (!Array.isArray(keys)) {
    throw new TypeError(`${path} must be an array of keys like [["failed", 42]], got ${describe(keys)}`);
  }
  if (keys.length > MAX_UNDELIVERED_KEYS) {
    throw new TypeError(`${path} has ${keys.length} keys; a message takes at most ${MAX_UNDELIVERED_KEYS}`);
  }
  return keys.map((key, index) => encodeKey(key, `${path}[${index}]`));
}

/**
 * The options of kv.listenQueue(): its `signal`, and the body of the listen
 * request (`concurrency`, `visibilityTimeout`, those given).
 */
export function listenOptions(options) {
  if (options === undefined) return { body: {} };
  if (typeof options !== 'object' || options === null) {
    throw new TypeError(`listenQueue() options must be an object like { signal }, got ${describe(options)}`);
  }
  const unknown = Object.keys(options).find((name) => !LISTEN_OPTIONS.includes(name));
  if (unknown !== undefined) {
    throw new TypeError(`listenQueue() has an unknown option "${unknown}"; the options are ${LISTEN_OPTIONS.join(', ')}`);
  }
  const { signal, concurrency, visibilityTimeout } = options;
  const body = {};
  if (concurrency !== undefined) {
    body.concurrency = wholeNumber(concurrency, 1, MAX_LISTEN_CONCURRENCY, 'concurrency', 'messages');
  }
  if (visibilityTimeout !== undefined) {
    body.visibilityTimeout = wholeNumber(visibilityTimeout, MIN_VISIBILITY_TIMEOUT_MS, MAX_VISIBILITY_TIMEOUT_MS, 'visibilityTimeout', 'ms');
  }
  return { signal: checkSignal(signal, 'listenQueue() options.signal'), body };
}

function wholeNumber(value, min, max, name, unit) {
  if (Number.isInteger(value) && value >= min && value <= max) return value;
  throw new TypeError(`listenQueue() ${name} must be a whole number from ${min} to ${max} (${unit}), got ${describe(value)}`);
}

/**
 * Listens until one of `signals` aborts (or the stream is refused, which
 * rejects with its KvError): each message of the stream `open(signal)`
 * answers (at `url`) is decoded and handed to `handler` at once, so that
 * as many run as the store lets the listener hold; its outcome (resolved:
 * ok, threw: not ok) is sent by `settle(messages)`. Resolves once the
 * handlers still running finished and their settles were answered, as
 * Deno's listenQueue does. `backoff` and `reconnect` are resumableEvents'.
 */
export async function listen(handler, { url, open, settle, signals, backoff, reconnect }) {
  const { signal, unlink } = linkSignals(signals);
  const settler = new Settler(settle);
  const running = new Set(); // each handler until its settle was answered
  try {
    for await (const { type, data } of resumableEvents('listen', url, open, signal, { backoff, reconnect })) {
      if (type !== 'message') continue; // an event this client does not know
      const { id, delivery, value, valueType } = data;
      const run = outcome(handler, decodeValue(value, valueType)).then((ok) => settler.settle({ id, delivery, ok }));
      running.add(run);
      run.then(() => running.delete(run));
    }
  } finally {
    unlink();
    await Promise.all(running);
  }
}

// Whether the handler succeeded; a failure is logged as Deno logs it.
async function outcome(handler, value) {
  try {
    await handler(value);
    return true;
  } catch (error) {
    console.error('Exception in queue handler', error);
    return false;
  }
}

/**
 * The settles of one turn of the event loop, sent together, at most
 * MAX_SETTLES a request (the transport retries each). One that fails for
 * good is logged, not thrown: its messages come back after their
 * visibility timeout, as if their handler had not finished.
 */
class Settler {
  #send;
  #pending = [];
  #sent; // the pending settles' requests, once answered

  constructor(send) {
    this.#send = send;
  }

  /** Adds one outcome; resolves once its request was answered (or failed). */
  settle(message) {
    if (this.#pending.length === 0) {
      // A timer, not a microtask: handlers that finish together reach here
      // through chains of promise jobs of different lengths.
      this.#sent = new Promise((resolve) => setTimeout(resolve, 0)).then(() => this.#flush());
    }
    this.#pending.push(message);
    return this.#sent;
  }

  async #flush() {
    const messages = this.#pending;
    this.#pending = [];
    const requests = [];
    for (let start = 0; start < messages.length; start += MAX_SETTLES) {
      const batch = messages.slice(start, start + MAX_SETTLES);
      requests.push(
        this.#send(batch).catch((error) => {
          console.error(`Failed to settle ${batch.length} queue messages; the store delivers them again after their visibility timeout`, error);
        }),
      );
    }
    await Promise.all(requests);
  }
}
