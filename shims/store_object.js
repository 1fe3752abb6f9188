// The Durable Object of one store (and of the Worker's token directory):
// hands each request to the wasm core inside one storage transaction, keeps
// the store's watches (shims/watch_hub.js) and queue listeners
// (shims/queue_hub.js), and wakes itself with an alarm to purge expired
// entries in bounded batches and to deliver messages when they are due.
//
// Reads write nothing: the operations they cost are held here, in memory,
// as the core's deferred count (worker/store.h), and written by the next
// write or by the alarm, at most usageFoldIntervalMs after the first of them.
// A killed object loses that count, at most one interval's reads; it adopts
// each new count only after its transaction committed, so none counts twice.
//
// The state row (token hash, limits, usage) is read once, then held here:
// this object is its storage's only writer, so the row each committed
// request returns is what storage holds. It is adopted only after a
// commit, dropped on a rollback and when the storage is erased, and lost
// with the object: the next request then reads it again.
//
// The commit point is the end of the core's transaction. Nothing after it
// (watch updates, alarm scheduling) may turn a saved write into an error:
// a client that saw a 500 would retry, and a retried `sum` counts twice.

import { DurableObject } from 'cloudflare:workers';
import coreModule from '../build/wasm/kv_core.wasm';
import { CoreError, createCore } from './core.js';
import { Faults } from './faults.js';
import { QueueHub } from './queue_hub.js';
import { FRAMES, SSE, WatchHub } from './watch_hub.js';

const NOTHING = new Uint8Array(0);
const WRITES = new Set(['set', 'delete', 'atomic', 'kvc_atomic_write']);
// Writes that may enqueue messages, and the operator's views of the queue
// (to which the object adds its listeners).
const ENQUEUES = new Set(['atomic', 'kvc_atomic_write']);
const QUEUE_VIEWS = new Set(['queue', 'queue_stats']);
// A watch's operations (the first read, the later ones) and stream format,
// for each wire format.
const WATCH_WIRES = {
  json: { open: 'watch', peek: 'peek', format: SSE },
  kv_connect: { open: 'kvc_watch', peek: 'kvc_peek', format: FRAMES },
};
const encoder = new TextEncoder();
let core; // one per isolate, shared by its objects (calls are synchronous)

/** The isolate's core, made on first use; it rebuilds its instance after a trap. */
export function sharedCore() {
  core ??= createCore(coreModule);
  return core;
}

export class KvStore extends DurableObject {
  #watches;
  #listeners;
  #faults;
  #deferredOperations = 0; // charged, not yet written (worker/store.h)
  #stateRow = null; // the state row as storage holds it, or null: read it
  #foldScheduled = false; // an alarm is set for a time that folds them in time
  #queueWake = null; // the earliest next due time the leases of one pump saw

  constructor(ctx, env) {
    super(ctx, env);
    const { limits } = sharedCore();
    this.#watches = new WatchHub({
      maxWatches: limits.maxWatchesPerStore,
      lifetimeMs: limits.watchLifetimeMs,
      stallMs: limits.watchStallMs,
      heartbeatMs: limits.watchHeartbeatMs,
    });
    this.#listeners = new QueueHub({
      maxListeners: limits.maxQueueListenersPerStore,
      lifetimeMs: limits.watchLifetimeMs,
      stallMs: limits.watchStallMs,
      heartbeatMs: limits.watchHeartbeatMs,
      lease: (max, visibilityMs) => this.#lease(max, visibilityMs),
    });
    this.#faults = new Faults(env);
    ctx.storage.transactionSync(() => core.migrate(ctx.storage.sql));
  }

  /**
   * RPC from the Worker: one API request. `credential` is the access
   * token's SHA-256 (empty for the directory and for the Worker's own
   * operations), `body` the request's JSON bytes, `idempotencyKey` the
   * client's Idempotency-Key ('' for none). Returns `{ status, body, quota,
   * rows, replayed }` (see shims/core.js; `rows` is null when the request
   * rolled back).
   */
  async handle(operation, credential, body, idempotencyKey = '') {
    let { status, body: json, quota, wakeAt, rows, replayed } = this.#run(operation, credential, body, idempotencyKey);
    // A replayed answer applied nothing: no watch or alarm to update.
    if (status === 200 && !replayed) await this.#afterCommit(operation, wakeAt, json, body);
    if (status === 200 && QUEUE_VIEWS.has(operation)) json = `${json.slice(0, -1)},"listeners":${this.#listeners.size}}`;
    await this.#scheduleFold();
    return { status, body: json, quota, rows, replayed };
  }

  /**
   * RPC from the Worker: opens a queue listener, its body `{ concurrency,
   * visibilityTimeout }` (docs/queues.md). Returns the error `{ status,
   * body, quota }`, or `{ status: 200, stream, quota }`: server-sent events,
   * a message each. At most maxQueueListenersPerStore are open at once.
   */
  async listen(credential, body) {
    const refused = this.#listeners.refusal();
    if (refused) return { ...refused, quota: null };
    const window = this.#run('queue_listen', credential, body);
    await this.#scheduleFold();
    if (window.status !== 200) return window;
    const { concurrency, visibilityTimeout } = JSON.parse(window.body);
    const opened = this.#listeners.open({
      credential: new Uint8Array(credential), concurrency, visibilityMs: visibilityTimeout,
    });
    if (opened.refused) return { ...opened.refused, quota: window.quota };
    await this.#deliverMessages();
    return { status: 200, stream: opened.stream, quota: window.quota };
  }

  /**
   * RPC from the Worker: opens a watch of 1 to 10 keys, its body in `wire`
   * format ('json' or 'kv_connect'). Returns the error `{ status, body,
   * quota }`, or `{ status: 200, stream, quota }`: first the current
   * entries, then news after each commit that changed any of them, as
   * server-sent events (docs/http-api.md) or KV Connect's frames
   * (docs/kv-connect.md). At most maxWatchesPerStore are open at once; one
   * more is refused before it costs anything.
   */
  async watch(credential, body, wire = 'json') {
    const { open, peek, format } = WATCH_WIRES[wire];
    const refused = this.#watches.refusal();
    if (refused) return { ...refusalIn(wire, refused), quota: null };
    const first = this.#run(open, credential, body);
    await this.#scheduleFold();
    if (first.status !== 200) return first;
    const opened = this.#watches.open({
      credential: new Uint8Array(credential), body: new Uint8Array(body), first, format, peek,
    });
    if (opened.refused) return { ...refusalIn(wire, opened.refused), quota: first.quota };
    return { status: 200, stream: opened.stream, quota: first.quota };
  }

  /**
   * RPC from the Worker: replaces the store's credential with `credential`
   * (hex of the new token's SHA-256). Returns the core's result: 200 with
   * `{ previous, generation }`, or 404 when the store is not live. Watches
   * opened with the old token end at once.
   */
  async rotate(credential) {
    const result = this.#run('rotate', NOTHING, encoder.encode(JSON.stringify({ credential })));
    if (result.status === 200) {
      const current = hexToBytes(credential);
      const stale = (held) => !sameBytes(held, current);
      this.#watches.endWhere(stale, invalidTokenBody());
      this.#listeners.endWhere(stale, invalidTokenBody());
    }
    return result;
  }

  /**
   * RPC from the Worker: erases the store's data and marks it deleted, so
   * that no later setting brings it back. Idempotent.
   */
  async destroy() {
    this.#watches.endAll(invalidTokenBody());
    this.#listeners.endAll(invalidTokenBody());
    // Dropped before the erase too: a request let in while it is under way
    // reads the row from storage, as one before the row was held did.
    this.#stateRow = null;
    await this.ctx.storage.deleteAlarm();
    await this.ctx.storage.deleteAll();
    this.#deferredOperations = 0;
    this.#stateRow = null;
    this.#foldScheduled = false;
    this.ctx.storage.transactionSync(() => core.migrate(this.ctx.storage.sql));
    return this.#run('retire', NOTHING, NOTHING);
  }

  /** RPC from the Worker, only with KV_FAULTS=on (tests): arms fault `name` for its next `count` uses (shims/faults.js). */
  async armFault(name, count) {
    this.#faults.arm(name, count);
  }

  /**
   * Writes the deferred operations (one write), then purges expired
   * entries, kPurgeBatchEntries per transaction and at most
   * purgeBatchesPerAlarm transactions, yielding to requests between them;
   * then sets the next alarm: now when a backlog remains, at the next expiry
   * otherwise, and within usageFoldIntervalMs when reads in between were
   * charged. A failed purge sets an alarm purgeRetryMs later, so the backlog
   * is never forgotten (the runtime's own retries give up).
   */
  async alarm() {
    const { limits } = core;
    let wakeAt = null;
    this.#foldScheduled = false;
    try {
      if (this.#deferredOperations > 0) {
        const folded = this.#run('fold', NOTHING, NOTHING);
        if (folded.status !== 200) throw new Error(`writing the usage failed with ${folded.status}: ${folded.body}`);
      }
      for (let batch = 0; batch < limits.purgeBatchesPerAlarm; batch++) {
        const storage = this.#faults.take('purge_storage_error') ? failingSql : this.ctx.storage.sql;
        const result = this.#run('purge', NOTHING, NOTHING, '', storage);
        if (result.status !== 200) throw new Error(`purge failed with ${result.status}: ${result.body}`);
        const { purged, more, nextExpiry } = JSON.parse(result.body);
        if (purged > 0) this.#updateWatches(); // an expired entry is a change too
        wakeAt = more ? Date.now() : nextExpiry;
        if (!more) break;
        await scheduler.wait(0); // let waiting requests in between batches
      }
      const queueWake = this.#pumpQueue();
      if (queueWake !== null && (wakeAt === null || queueWake < wakeAt)) wakeAt = queueWake;
    } catch (error) {
      console.error('writing the usage, purging expired entries or delivering messages failed; trying again later:',
        error);
      wakeAt = Date.now() + limits.purgeRetryMs;
    }
    if (this.#deferredOperations > 0) {
      const foldAt = Date.now() + limits.usageFoldIntervalMs;
      if (wakeAt === null || foldAt < wakeAt) wakeAt = foldAt;
      this.#foldScheduled = true;
    }
    if (wakeAt !== null) await this.ctx.storage.setAlarm(wakeAt);
  }

  // After a successful request: updates watches, hands new or freed
  // messages to listeners, and sets the alarm. All best effort: the request
  // is saved, and a failure here is logged, never returned (the next write
  // or alarm brings them up to date).
  async #afterCommit(operation, wakeAt, json, body) {
    try {
      if (this.#faults.take('after_commit_error')) throw new Error('injected failure after the commit');
      if (WRITES.has(operation)) this.#updateWatches();
      if (operation === 'queue_settle') this.#settled(body, json);
      if (wakeAt !== null) await this.#wakeAt(wakeAt);
      if ((ENQUEUES.has(operation) && this.#listeners.size > 0) || operation === 'queue_settle') {
        await this.#deliverMessages();
      }
    } catch (error) {
      console.error(`after ${operation} (saved: ${json.length} bytes answered), updating watches or the alarm failed:`, error);
    }
  }

  // Makes sure an alarm writes the deferred operations within
  // usageFoldIntervalMs: one alarm write per interval, not one per read.
  // Best effort like #afterCommit: the count stays held, and the next call
  // tries again.
  async #scheduleFold() {
    if (this.#deferredOperations === 0 || this.#foldScheduled) return;
    try {
      await this.#wakeAt(Date.now() + core.limits.usageFoldIntervalMs);
      this.#foldScheduled = true;
    } catch (error) {
      console.error('scheduling the usage write failed; the next request tries again:', error);
    }
  }

  // Frees the listeners' hold on what a settle settled; a dead letter
  // written is a change for the watches.
  #settled(body, json) {
    const { messages } = JSON.parse(new TextDecoder().decode(body));
    this.#listeners.settled(messages);
    if (JSON.parse(json).outcomes.includes('dead_lettered')) this.#updateWatches();
  }

  // Leases due messages to the listeners, and sets the alarm for the next
  // due one (or lease deadline). Best effort: a failure is logged, and the
  // messages wait for the next commit, settle, listener or alarm.
  async #deliverMessages() {
    try {
      const wakeAt = this.#pumpQueue();
      if (wakeAt !== null) await this.#wakeAt(wakeAt);
    } catch (error) {
      console.error('delivering queued messages failed; they wait for the next try:', error);
    }
  }

  // Runs the queue hub's pump; returns when a message is next due, or
  // null. The directory object and a deleted store have no queue (404).
  #pumpQueue() {
    this.#queueWake = null;
    this.#listeners.pump();
    return this.#queueWake;
  }

  // The hub's lease: `max` due messages for `visibilityMs` each (max 0:
  // only expired leases are processed). Returns the messages' texts.
  #lease(max, visibilityMs) {
    const request = max === 0 ? { max } : { max, visibilityTimeout: visibilityMs };
    const result = this.#run('queue_lease', NOTHING, encoder.encode(JSON.stringify(request)));
    if (result.status === 404) return [];
    if (result.status !== 200) throw new Error(`leasing messages failed with ${result.status}: ${result.body}`);
    const [first, ...messages] = result.body.split('\n');
    const { deadLettered, nextWake } = JSON.parse(first);
    if (deadLettered > 0) this.#updateWatches();
    if (nextWake !== null && (this.#queueWake === null || nextWake < this.#queueWake)) this.#queueWake = nextWake;
    return messages;
  }

  #updateWatches() {
    this.#watches.update((watch) => this.#run(watch.peek, watch.credential, watch.body));
  }

  #run(operation, credential, body, idempotencyKey = '', sql = this.ctx.storage.sql) {
    const { storage } = this.ctx;
    try {
      // Client requests only: the Worker's own calls (stats for a listing) stay clear of a test's traps.
      if (credential.byteLength > 0 && this.#faults.take('trap')) core.trapForTest();
      const result = storage.transactionSync(() => core.handle(sql, operation, new Uint8Array(credential),
        new Uint8Array(body), Date.now(), this.#deferredOperations, this.#stateRow, idempotencyKey));
      // Committed: now these are what to keep.
      this.#deferredOperations = result.deferredOperations;
      this.#stateRow = result.stateRow;
      return result;
    } catch (error) {
      this.#stateRow = null;
      if (!(error instanceof CoreError) || error.body === null) throw error;
      // Rolled back; the core already wrote the error response.
      console.error(`store ${operation} rolled back:`, error.cause ?? error);
      return { status: error.status, body: error.body, quota: null, wakeAt: null, rows: null };
    }
  }

  // Keeps the earliest of the pending alarm and `time`: one alarm per object.
  async #wakeAt(time) {
    const pending = await this.ctx.storage.getAlarm();
    if (pending === null || time < pending) await this.ctx.storage.setAlarm(time);
  }
}

// Storage whose every statement fails: the purge_storage_error fault.
const failingSql = {
  exec() {
    throw new Error('injected storage failure');
  },
};

function invalidTokenBody() {
  return JSON.stringify({ error: { code: 'invalid_token', message: 'the access token was rotated or the store deleted' } });
}

// The hub's refusal (JSON) as `wire` answers errors: KV Connect's in text.
function refusalIn(wire, refusal) {
  if (wire === 'json') return refusal;
  const { error } = JSON.parse(refusal.body);
  return { status: refusal.status, body: `${error.code}: ${error.message}` };
}

function hexToBytes(hex) {
  return Uint8Array.from(hex.match(/../g), (pair) => parseInt(pair, 16));
}

function sameBytes(a, b) {
  return a.length === b.length && a.every((byte, i) => byte === b[i]);
}
