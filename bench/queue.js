// Queues (docs/queues.md), measured end to end against a store in workerd:
//
// 1. throughput: `messages` messages enqueued, delivered to listeners and
//    acknowledged, per row: enqueued in commits of `batchSize` (one commit
//    at a time), to 1 or 4 listeners, each at a concurrency of 8 or 64;
//    and one row of single enqueues (`singleInFlight` in flight) to the
//    `single` listeners and concurrency: single enqueues are the
//    bottleneck whatever drains them, so one row tells their rate. The
//    listeners are connected and idle before the first enqueue; the clock
//    runs from the first enqueue to the answer of the settle that
//    acknowledged the last message. The enqueue rate is the messages over
//    the time until the last commit was answered (the listeners working
//    meanwhile, as they would);
// 2. latency: with one listener connected and idle, one message enqueued
//    and the time until the handler has it, round after round (each
//    round's message acknowledged before the next); and messages enqueued
//    with a delay (`delayMs`, then `delaySpacingMs` more for each next one,
//    so that each comes due alone), and how late the handler had each past
//    its due time.
//
// Every message is checked: each value is its row's own ({ run, i }), every
// one must reach a handler (a duplicate is counted; one missing when
// nothing was delivered or acknowledged for `stallMs` fails the part, as
// does a foreign value or a delayed message handed over before it was
// due), every settle must answer "acked", and GET /v1/queue must say depth
// 0 after each row, once its listeners stopped.
//
// The producer and the listeners are the client in js/ (kv.enqueue, a
// commit of enqueues, kv.listenQueue), as connect() makes it, in this
// process (Node's fetch), every request through a counting `fetch`
// (bench/batching.js), which also reads the settles' outcomes.

import { randomUUID } from 'node:crypto';
import { loadavg } from 'node:os';
import { connect } from '../js/index.js';
import { countRequests, REGION, requestCounter } from './batching.js';
import { startOurs } from './emulators.js';
import { quantile } from './stats.js';

export const DEFAULT_QUEUE_SETTINGS = {
  messages: 2_000,
  batchSize: 100, // enqueues per commit: the store's limit
  singleInFlight: 16,
  listeners: [1, 4],
  concurrencies: [8, 64],
  single: { listeners: 4, concurrency: 64 }, // the single enqueues' row; null: none
  latencyRounds: 200,
  delayedRounds: 20,
  delayMs: 1_000,
  delaySpacingMs: 100,
  stallMs: 10_000,
};

/**
 * target: ours, as startOurs() (bench/emulators.js) returns it: each row,
 * and the latency part, runs on a store of its own created with its url
 * and adminToken. `settings`: DEFAULT_QUEUE_SETTINGS' fields (any left out
 * are the defaults'). `fetch`: what the counting fetch calls (a test
 * passes one that garbles requests). Returns { settings, load: { before,
 * after }, throughput: [row], latency } (see throughputRow and
 * runLatency). Throws on any lost, foreign or early message, a settle not
 * acked, a failed request or a queue not empty after a row.
 */
export async function runQueueBench(target, { settings: given = {}, fetch = globalThis.fetch, onRow = () => {} } = {}) {
  const settings = { ...DEFAULT_QUEUE_SETTINGS, ...given };
  const run = randomUUID().slice(0, 8); // values of another run are foreign
  const loadBefore = loadavg()[0];
  const rows = settings.listeners.flatMap((listeners) => settings.concurrencies.map((concurrency) => ({ producer: 'batch', listeners, concurrency })));
  if (settings.single) rows.push({ producer: 'single', ...settings.single });
  const throughput = [];
  for (const row of rows) {
    throughput.push(await throughputRow(await freshStore(target), fetch, settings, { run: `${run}/${throughput.length}`, ...row }));
    onRow(throughput.at(-1));
  }
  const latency = await runLatency(await freshStore(target), fetch, settings, `${run}/latency`);
  return { settings, load: { before: loadBefore, after: loadavg()[0] }, throughput, latency };
}

/**
 * One throughput row: the row's messages through `listeners` listeners at
 * `concurrency`. Returns the row's figures: enqueue and end-to-end
 * messages/s, the enqueue-to-handler latency of each message's first
 * delivery (p50, p95, max), duplicates, HTTP requests and their answers.
 */
async function throughputRow(target, fetch, settings, { run, producer, listeners, concurrency }) {
  const { messages } = settings;
  const where = `queue bench, ${producer} enqueues, ${listeners} listener(s) at concurrency ${concurrency}`;
  const session = new Session(target, fetch, settings.stallMs, where);
  const deliveries = new Uint32Array(messages);
  const enqueuedAt = new Float64Array(messages);
  const deliveredAt = new Float64Array(messages);
  let distinct = 0;
  const handler = (value) => {
    const i = session.indexOf(value, run, messages);
    if (i < 0) return;
    if (deliveries[i]++ === 0) {
      deliveredAt[i] = performance.now();
      distinct++;
    }
    session.progress();
  };
  const missing = () => `${messages - distinct} of ${messages} messages not delivered (the first: ${deliveries.indexOf(0)})`;
  await session.listen(handler, listeners, { concurrency });
  const start = performance.now();
  let enqueueMs;
  let endAt;
  try {
    await enqueueAll(session, settings, producer, (i) => ({ run, i }), (i) => (enqueuedAt[i] = performance.now()));
    enqueueMs = performance.now() - start;
    await session.until(() => distinct === messages && session.acked >= messages, () => `${missing()}; ${session.acked} acked`);
    endAt = session.lastAckAt;
  } finally {
    await session.stop();
  }
  const elapsedMs = endAt - start;
  await expectQueue(target, { depth: 0 }, where);
  const latencies = Float64Array.from(deliveredAt, (at, i) => at - enqueuedAt[i]).sort();
  return {
    producer,
    listeners,
    concurrency,
    messages,
    enqueueMsgsPerSec: (messages / enqueueMs) * 1000,
    msgsPerSec: (messages / elapsedMs) * 1000,
    elapsedMs,
    deliveryP50Ms: quantile(latencies, 0.5),
    deliveryP95Ms: quantile(latencies, 0.95),
    deliveryMaxMs: latencies[messages - 1],
    duplicates: deliveries.reduce((sum, n) => sum + n, 0) - messages,
    ...session.figures(),
  };
}

// Enqueues messages 0..settings.messages-1 (values `valueOf(i)`) as
// `producer` does, calling `sending(i)` as each one's request is sent.
async function enqueueAll(session, settings, producer, valueOf, sending) {
  const { messages, batchSize, singleInFlight } = settings;
  if (producer === 'batch') {
    for (let first = 0; first < messages; first += batchSize) {
      const values = [];
      for (let i = first; i < Math.min(first + batchSize, messages); i++) {
        sending(i);
        values.push(valueOf(i));
      }
      await session.enqueueMany(values);
    }
    return;
  }
  let next = 0;
  const worker = async () => {
    while (next < messages) {
      const i = next++;
      sending(i);
      await session.enqueue(valueOf(i));
    }
  };
  await Promise.all(Array.from({ length: singleInFlight }, worker));
}

/**
 * Latency with one listener (the store's default concurrency and
 * visibility timeout) connected and idle. due: `latencyRounds` rounds, each
 * an enqueue of one message, timed from the enqueue's start to the
 * handler's call, and to the enqueue's answer. delayed: `delayedRounds`
 * messages enqueued one after another, message k with a delay of `delayMs`
 * + k × `delaySpacingMs`; each one's lateness is the handler's call less
 * (the enqueue's start + its delay), so an upper bound: the store set the
 * due time between the enqueue's start and its answer.
 */
async function runLatency(target, fetch, settings, run) {
  const where = 'queue bench, latency with an idle listener';
  const session = new Session(target, fetch, settings.stallMs, where);
  const delivered = new Map(); // i -> when its handler was called (the first time)
  const handler = (value) => {
    const i = session.indexOf(value, run, settings.latencyRounds + settings.delayedRounds);
    if (i < 0) return;
    if (!delivered.has(i)) delivered.set(i, performance.now());
    session.progress();
  };
  await session.listen(handler, 1, {});
  const due = [];
  const commits = [];
  const lateness = [];
  try {
    for (let i = 0; i < settings.latencyRounds; i++) {
      const acked = session.acked;
      const start = performance.now();
      await session.enqueue({ run, i });
      commits.push(performance.now() - start);
      await session.until(() => delivered.has(i) && session.acked > acked, () => `round ${i}: its message was not ${delivered.has(i) ? 'acked' : 'delivered'}`);
      due.push(delivered.get(i) - start);
    }
    const sent = [];
    const ackedBefore = session.acked;
    for (let k = 0; k < settings.delayedRounds; k++) {
      const delay = settings.delayMs + k * settings.delaySpacingMs;
      sent.push({ i: settings.latencyRounds + k, delay, at: performance.now() });
      await session.enqueue({ run, i: settings.latencyRounds + k }, { delay });
    }
    await session.until(() => sent.every(({ i }) => delivered.has(i)) && session.acked >= ackedBefore + settings.delayedRounds,
      () => `delayed messages not delivered: ${sent.filter(({ i }) => !delivered.has(i)).map(({ delay }) => `delay ${delay} ms`).join(', ') || 'none, but not all acked'}`);
    for (const { i, delay, at } of sent) {
      const late = delivered.get(i) - (at + delay);
      // The store's due time is after the enqueue's start; a millisecond of
      // slack for the store's clock, which counts whole ones.
      if (late < -1) throw new Error(`${where}: a message with a delay of ${delay} ms was handed over ${(-late).toFixed(1)} ms before it was due`);
      lateness.push(late);
    }
  } finally {
    await session.stop();
  }
  await expectQueue(target, { depth: 0 }, where);
  return {
    due: { rounds: due.length, ...spread(due), commitP50Ms: quantile(commits.sort((a, b) => a - b), 0.5) },
    delayed: { rounds: lateness.length, delayMs: settings.delayMs, spacingMs: settings.delaySpacingMs, ...spread(lateness) },
    ...session.figures(),
  };
}

// A store of its own for each row and for the latency part, on the service
// of `target`: the store learns that a listener went away only when it next
// writes to it (a keep-alive at the latest, 10 s later), and until then
// leases messages to it, which come back after their visibility timeout.
const freshStore = (target) => startOurs({ url: target.url, adminToken: target.adminToken });

const spread = (values) => {
  const sorted = Float64Array.from(values).sort();
  return { p50Ms: quantile(sorted, 0.5), p95Ms: quantile(sorted, 0.95), maxMs: sorted[sorted.length - 1] };
};

/**
 * One row's producer and listeners over one counting fetch: what they
 * sent, the settles' outcomes, and waits that fail when nothing was
 * delivered or acknowledged for `stallMs`, or a listener ended before
 * stop().
 */
class Session {
  acked = 0;
  lastAckAt = NaN;
  #counter = requestCounter();
  #settles = { requests: 0, outcomes: {} };
  #kv;
  #target;
  #where;
  #stallMs;
  #lastProgress = performance.now();
  #waiters = new Set();
  #controller = new AbortController();
  #listeners = [];
  #failure = null;

  constructor(target, fetch, stallMs, where) {
    this.#target = target;
    this.#where = where;
    this.#stallMs = stallMs;
    const counting = countRequests(fetch, this.#counter);
    const observing = async (input, init) => {
      const response = await counting(input, init);
      if (String(input).endsWith('/v1/queue/settle') && response.status === 200) this.#settled((await response.clone().json()).outcomes);
      return response;
    };
    this.#kv = connect({ accessToken: target.token, region: REGION, endpoint: target.url, fetch: observing });
  }

  enqueue(value, options) {
    return this.#kv.enqueue(value, options).then(() => this.progress());
  }

  /** One commit of an enqueue per value. */
  enqueueMany(values) {
    return values.reduce((atomic, value) => atomic.enqueue(value), this.#kv.atomic()).commit().then(() => this.progress());
  }

  /** Starts `count` listeners, and resolves once the store counts them. */
  async listen(handler, count, options) {
    for (let n = 0; n < count; n++) {
      const listening = this.#kv.listenQueue(handler, { ...options, signal: this.#controller.signal });
      this.#listeners.push(listening.then(() => {
        if (!this.#controller.signal.aborted) this.#fail(new Error(`${this.#where}: a listener ended before it was stopped`));
      }, (error) => this.#fail(new Error(`${this.#where}: a listener failed: ${error.message}`, { cause: error }))));
    }
    await this.until(async () => (await queueStats(this.#target)).listeners === count, () => `${count} listener(s) not connected`, 50);
  }

  /** Stops the listeners; resolves once their handlers finished and their settles were answered. */
  async stop() {
    this.#controller.abort();
    await Promise.all(this.#listeners);
    this.#kv.close();
  }

  /** The index of `value`, a message of `run` below `count`; any other value fails the session (-1). */
  indexOf(value, run, count) {
    if (value?.run === run && Number.isInteger(value.i) && value.i >= 0 && value.i < count) return value.i;
    this.#fail(new Error(`${this.#where}: a handler was given a value not enqueued: ${JSON.stringify(value)?.slice(0, 200)}`));
    return -1;
  }

  /** Something was delivered, acknowledged or enqueued: the waits check their conditions. */
  progress() {
    this.#lastProgress = performance.now();
    for (const waiter of this.#waiters) waiter.check();
  }

  /**
   * Resolves once `test()` holds (checked on progress, and every
   * `pollMs`); rejects with `missing()` after `stallMs` without progress,
   * or when a listener failed.
   */
  until(test, missing, pollMs = 250) {
    return new Promise((resolve, reject) => {
      let timer;
      const waiter = {
        check: async () => {
          let failure = this.#failure;
          let done = false;
          if (failure === null) {
            try {
              done = await test();
            } catch (error) {
              failure = error;
            }
          }
          if (!this.#waiters.has(waiter)) return;
          if (!done && failure === null && performance.now() - this.#lastProgress > this.#stallMs) {
            failure = new Error(`${this.#where}: ${missing()} after ${this.#stallMs / 1000} s without progress`);
          }
          if (done) waiter.done();
          else if (failure !== null) waiter.fail(failure);
        },
        done: () => {
          this.#waiters.delete(waiter);
          clearInterval(timer);
          resolve();
        },
        fail: (error) => {
          this.#waiters.delete(waiter);
          clearInterval(timer);
          reject(error);
        },
      };
      this.#waiters.add(waiter);
      timer = setInterval(waiter.check, pollMs);
      waiter.check();
    });
  }

  /** The HTTP requests sent, their answers and the settles. */
  figures() {
    const { requests, outcomes, firstProblem } = this.#counter;
    return { requests, outcomes, firstProblem, settles: this.#settles };
  }

  #settled(outcomes) {
    this.#settles.requests++;
    for (const outcome of outcomes) this.#settles.outcomes[outcome] = (this.#settles.outcomes[outcome] ?? 0) + 1;
    const notAcked = outcomes.find((outcome) => outcome !== 'acked');
    if (notAcked !== undefined) this.#fail(new Error(`${this.#where}: a settle answered ${notAcked}, not acked`));
    this.acked += outcomes.length;
    this.lastAckAt = performance.now();
    this.progress();
  }

  #fail(error) {
    this.#failure ??= error;
    for (const waiter of this.#waiters) waiter.fail(error);
  }
}

/** Fails unless GET /v1/queue's figures include `expected`. */
async function expectQueue(target, expected, when) {
  const stats = await queueStats(target);
  for (const [field, value] of Object.entries(expected)) {
    if (stats[field] !== value) throw new Error(`queue bench, ${when}: GET /v1/queue says ${field} ${stats[field]}, not ${value}: ${JSON.stringify(stats)}`);
  }
}

async function queueStats(target) {
  const response = await fetch(`${target.url}/v1/queue`, { headers: { authorization: `Bearer ${target.token}` } });
  const body = await response.json();
  if (response.status !== 200) throw new Error(`GET /v1/queue: ${response.status} ${JSON.stringify(body)}`);
  return body;
}
