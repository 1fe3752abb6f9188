// The transport: one logical call of the client as HTTP requests to the
// store, with a deadline (timeoutMs), cancellation (an AbortSignal),
// retries with exponential backoff and full jitter, Retry-After, and the
// Idempotency-Key that makes a retried write apply once.
//
// What is retried: a request that got no answer (fetch threw: a network
// error, a reset connection) and the answers 408, 429, 502, 503 and 504.
// Never another 4xx, nor a 500 (the store rolled the request back, and the
// same request fails the same way). Reads are retried as they are; writes
// carry an Idempotency-Key, generated once per call and sent again with
// each of its retries, so the store applies a write once however many times
// it arrives (docs/http-api.md, "Idempotency").

import { describe, errorOf, KvError } from './errors.js';
import { parseJson } from './streams.js';
import { USER_AGENT } from './version.js';

export const DEFAULT_TIMEOUT_MS = 10_000;
export const DEFAULT_RETRY = Object.freeze({
  maxAttempts: 4,
  baseDelayMs: 100,
  maxDelayMs: 5_000,
  maxRetryTimeMs: 30_000,
});
/** The HTTP statuses retried: a timeout, too many requests, and a gateway or service that is briefly away. */
export const RETRYABLE_STATUSES = Object.freeze([408, 429, 502, 503, 504]);
const RETRYABLE = new Set(RETRYABLE_STATUSES);
// setTimeout takes at most 2^31 - 1 ms (a longer delay fires at once).
const MAX_TIMER_MS = 2 ** 31 - 1;
const IDEMPOTENCY_KEY_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;
const RETRY_OPTIONS = Object.keys(DEFAULT_RETRY);
// The routes that write: retried only when they carry an Idempotency-Key
// (Kv always sends one), as only then can the store tell a retry from a
// second write.
const WRITE_ROUTES = new Set(['set', 'delete', 'atomic']);

/**
 * The retry policy of connect()'s `retry` option: `false` (one attempt), or
 * an object whose fields override DEFAULT_RETRY's. Throws TypeError on a bad one.
 */
export function retryPolicy(retry) {
  if (retry === undefined || retry === true) return DEFAULT_RETRY;
  if (retry === false) return Object.freeze({ ...DEFAULT_RETRY, maxAttempts: 1 });
  if (typeof retry !== 'object' || retry === null) {
    throw new TypeError(`connect() retry must be false or an object like { maxAttempts: 4 }, got ${describe(retry)}`);
  }
  const unknown = Object.keys(retry).find((name) => !RETRY_OPTIONS.includes(name));
  if (unknown !== undefined) {
    throw new TypeError(`connect() retry has an unknown option "${unknown}"; the options are ${RETRY_OPTIONS.join(', ')}`);
  }
  const policy = { ...DEFAULT_RETRY };
  for (const name of RETRY_OPTIONS) {
    const value = retry[name];
    if (value === undefined) continue;
    const valid = name === 'maxAttempts' ? Number.isSafeInteger(value) && value >= 1 : typeof value === 'number' && value >= 0;
    if (!valid) {
      const wanted = name === 'maxAttempts' ? 'a whole number of at least 1' : 'a number of milliseconds, 0 or more';
      throw new TypeError(`connect() retry.${name} must be ${wanted}, got ${describe(value)}`);
    }
    policy[name] = value;
  }
  return Object.freeze(policy);
}

/** connect()'s `timeoutMs`: a positive number of milliseconds, or Infinity for none. */
export function timeoutOption(timeoutMs) {
  if (timeoutMs === undefined) return DEFAULT_TIMEOUT_MS;
  if (!(typeof timeoutMs === 'number' && timeoutMs > 0)) {
    throw new TypeError(`connect() timeoutMs must be a positive number of milliseconds (or Infinity), got ${describe(timeoutMs)}`);
  }
  return timeoutMs;
}

/**
 * How long to wait before retry number `retry` (1 for the first): full
 * jitter, a uniformly random delay from 0 to min(maxDelayMs, baseDelayMs *
 * 2^(retry - 1)). `random` returns a number in [0, 1), as Math.random does.
 */
export function backoffDelay(retry, policy, random = Math.random) {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (retry - 1));
  return random() * ceiling;
}

/**
 * The wait a Retry-After header asks for, in milliseconds: delta-seconds
 * ("120") or an HTTP date; undefined when absent or malformed.
 */
export function retryAfterMs(value, now = Date.now()) {
  if (typeof value !== 'string') return undefined;
  const text = value.trim();
  if (/^\d+(\.\d+)?$/.test(text)) return Number(text) * 1000;
  const date = /^[A-Za-z]{3}/.test(text) ? Date.parse(text) : NaN; // "Wed, 21 Oct 2026 07:28:00 GMT" (or an obsolete form)
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/**
 * The wait an answer asks for before a retry, `{ ms, header }`, or
 * undefined: its Retry-After, or for a 429 without one whose
 * RateLimit-Remaining is 0 (the store's monthly quota, the IETF draft's
 * headers), its RateLimit-Reset (seconds until the quota resets).
 */
export function requestedWait(response, now = Date.now()) {
  const retryAfter = retryAfterMs(headerOf(response, 'retry-after'), now);
  if (retryAfter !== undefined) return { ms: retryAfter, header: 'Retry-After' };
  if (response.status !== 429 || headerOf(response, 'ratelimit-remaining')?.trim() !== '0') return undefined;
  const reset = headerOf(response, 'ratelimit-reset')?.trim();
  return reset !== undefined && /^\d+$/.test(reset) ? { ms: Number(reset) * 1000, header: 'RateLimit-Reset' } : undefined;
}

/** A new idempotency key: a random UUID (36 characters of [0-9a-f-]). */
export function newIdempotencyKey() {
  const crypto = globalThis.crypto;
  if (typeof crypto?.randomUUID === 'function') return crypto.randomUUID();
  const bytes = new Uint8Array(16);
  if (typeof crypto?.getRandomValues === 'function') crypto.getRandomValues(bytes);
  else for (let i = 0; i < 16; i++) bytes[i] = Math.floor(Math.random() * 256);
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = Array.from(bytes, (byte) => byte.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** The `idempotencyKey` of a call's options: undefined, or 1 to 64 characters of [A-Za-z0-9_-]. */
export function checkIdempotencyKey(key, path) {
  if (key === undefined || (typeof key === 'string' && IDEMPOTENCY_KEY_PATTERN.test(key))) return key;
  throw new TypeError(`${path} must be 1 to 64 characters of A-Z, a-z, 0-9, "_" and "-", got ${describe(key)}`);
}

/** The `signal` of a call's options: undefined or an AbortSignal. */
export function checkSignal(signal, path) {
  if (signal === undefined) return undefined;
  if (typeof signal === 'object' && signal !== null && typeof signal.aborted === 'boolean' && typeof signal.addEventListener === 'function') {
    return signal;
  }
  throw new TypeError(`${path} must be an AbortSignal (e.g. AbortSignal.timeout(1000)), got ${describe(signal)}`);
}

/**
 * Sends the requests of one store: `request()` makes one logical call
 * (retried as the policy allows), `openStream()` one attempt of a streamed
 * request (watch, which reconnects by itself), and `close()` ends every call
 * in flight.
 */
export class Transport {
  #endpoint;
  #accessToken;
  #region;
  #fetch;
  #timeoutMs;
  #policy;
  #random;
  #closed = false;
  // The calls in flight, which close() ends. (Not one signal shared by all:
  // Node warns past 10 listeners on a signal.)
  #calls = new Set();

  constructor({ endpoint, accessToken, region, fetch, timeoutMs = DEFAULT_TIMEOUT_MS, retry = DEFAULT_RETRY, random = Math.random }) {
    this.#endpoint = endpoint;
    this.#accessToken = accessToken;
    this.#region = region;
    this.#fetch = fetch;
    this.#timeoutMs = timeoutMs;
    this.#policy = retry;
    this.#random = random;
  }

  get policy() {
    return this.#policy;
  }

  get closed() {
    return this.#closed;
  }

  url(route) {
    return `${this.#endpoint}/v1/${route}`;
  }

  /** Wait before reconnect `retry` (1 for the first), as for a retried request. */
  backoff(retry) {
    return backoffDelay(retry, this.#policy, this.#random);
  }

  /**
   * A signal that close() aborts, for what lives longer than a call (a
   * watch); `release()` once it ended.
   */
  track() {
    const controller = new AbortController();
    const entry = { stop: () => controller.abort() };
    if (this.#closed) entry.stop();
    else this.#calls.add(entry);
    return { signal: controller.signal, release: () => this.#calls.delete(entry) };
  }

  /** Ends every call in flight (KvError "closed") and refuses later ones. */
  close() {
    this.#closed = true;
    for (const call of this.#calls) call.stop('closed');
    this.#calls.clear();
  }

  ensureOpen(method) {
    if (this.#closed) {
      throw new KvError('closed', null, `kv.${method}() was called on a closed handle: kv.close() ended it; call connect() for a new one`);
    }
  }

  /**
   * One logical call: `POST /v1/<route>` with `body` (or a GET without),
   * resolving to the answer's JSON. `idempotencyKey` (a write's) is sent as
   * Idempotency-Key with every attempt. `signal` aborts it (KvError
   * "aborted"); it fails with KvError "timeout" past timeoutMs, counted from
   * the call (its retries and waits included). `outlivesClose`: close()
   * neither refuses nor ends it (a queue listener's settles, which close()
   * lets finish: a settle cut short would have the store deliver the
   * message again).
   */
  async request(method, route, body, { signal, idempotencyKey, outlivesClose = false } = {}) {
    const url = this.url(route);
    // Also for the pages of a list and the commits of an atomic() made before close().
    if (!outlivesClose) this.ensureOpen(route);
    const init = {
      method,
      headers: this.#headers(body !== undefined, idempotencyKey),
      body: body === undefined ? undefined : JSON.stringify(body),
    };
    const call = this.#startCall(signal, { tracked: !outlivesClose });
    const write = WRITE_ROUTES.has(route);
    const maxAttempts = write && idempotencyKey === undefined ? 1 : this.#policy.maxAttempts;
    let attempts = 0;
    let failure; // the last attempt's error
    try {
      for (;;) {
        if (call.why) throw call.error(method, url, attempts, write, failure); // stopped before this attempt
        attempts++;
        let asked; // the wait the answer asks for, if any ({ ms, header })
        try {
          const { response, text } = await call.race(this.#attempt(url, { ...init, signal: call.signal }));
          const answer = parseJson(text);
          if (response.ok && answer !== undefined) return answer;
          failure = errorOf(method, url, response.status, answer, text);
          if (!RETRYABLE.has(response.status)) throw finished(failure, attempts, false);
          asked = requestedWait(response);
        } catch (cause) {
          if (FINISHED.has(cause)) throw cause;
          if (call.why) throw call.error(method, url, attempts, write, failure);
          failure = new KvError('network_error', null, `${method} ${url} failed before an answer arrived: ${cause?.message ?? cause}`, { cause });
        }
        const wait = this.#retryWait(attempts, maxAttempts, asked, call);
        if (typeof wait === 'string') {
          if (attempts > 1 || maxAttempts > 1) failure.message += ` (${attempts} ${attempts === 1 ? 'attempt' : 'attempts'}; ${wait})`;
          throw finished(failure, attempts, true);
        }
        try {
          await call.sleep(wait);
        } catch (cause) {
          throw call.error(method, url, attempts, write, failure);
        }
      }
    } finally {
      call.finish();
    }
  }

  /**
   * One attempt of a streamed request (watch): resolves to `{ response,
   * release }` once the answer's headers arrived, within timeoutMs, whatever
   * its status; its body stays linked to `signal`, until `release()`.
   * Rejects with KvError "network_error" or "timeout" (retryable), or
   * "aborted" when `signal` aborted.
   */
  async openStream(route, body, signal) {
    const url = this.url(route);
    this.ensureOpen(route);
    const init = { method: 'POST', headers: this.#headers(true), body: JSON.stringify(body) };
    const call = this.#startCall(signal, { tracked: false });
    try {
      const fetch = this.#fetch; // called detached, see #attempt
      const response = await call.race(fetch(url, { ...init, signal: call.signal }));
      call.clearDeadline();
      return { response, release: () => call.finish() };
    } catch (cause) {
      call.finish();
      if (call.why) throw call.error('POST', url, 1, false, cause);
      throw new KvError('network_error', null, `POST ${url} failed before an answer arrived: ${cause?.message ?? cause}`, {
        cause,
        attempts: 1,
        retryable: true,
      });
    }
  }

  async #attempt(url, init) {
    // Called detached: Workers' fetch throws "Illegal invocation" when called as a method of another object.
    const fetch = this.#fetch;
    const response = await fetch(url, init);
    const text = await response.text();
    return { response, text };
  }

  #headers(hasBody, idempotencyKey) {
    const headers = {
      authorization: `Bearer ${this.#accessToken}`,
      // The store refuses a region other than its own, naming it.
      'kv-region': this.#region,
      'user-agent': USER_AGENT,
    };
    if (hasBody) headers['content-type'] = 'application/json';
    if (idempotencyKey !== undefined) headers['idempotency-key'] = idempotencyKey;
    return headers;
  }

  // The wait before the next attempt, or why there is none (a string).
  #retryWait(attempts, maxAttempts, asked, call) {
    const { maxRetryTimeMs } = this.#policy;
    if (attempts >= maxAttempts) return maxAttempts === 1 ? 'not retried' : `retry.maxAttempts is ${maxAttempts}`;
    const wait = asked?.ms ?? this.backoff(attempts);
    const now = Date.now();
    if (now >= call.deadline) {
      call.stop('timeout'); // due, its timer not run yet: the call timed out
      return 0;
    }
    if (now + wait >= call.started + maxRetryTimeMs) {
      return asked === undefined
        ? `retry.maxRetryTimeMs (${maxRetryTimeMs} ms) ran out`
        : `${asked.header} asked for ${Math.round(asked.ms)} ms, past retry.maxRetryTimeMs (${maxRetryTimeMs} ms)`;
    }
    if (now + wait >= call.deadline) {
      return asked === undefined
        ? `the timeout (${this.#timeoutMs} ms) would pass before the next attempt`
        : `${asked.header} asked for ${Math.round(asked.ms)} ms, past the timeout (${this.#timeoutMs} ms)`;
    }
    return wait;
  }

  #startCall(signal, { tracked = true } = {}) {
    const call = new Call(signal, this.#timeoutMs, tracked ? () => this.#calls.delete(call) : () => {});
    if (tracked) {
      if (this.#closed) call.stop('closed');
      else this.#calls.add(call);
    }
    return call;
  }
}

/** A response header, or undefined (a custom fetch's response may have no headers). */
export function headerOf(response, name) {
  return typeof response.headers?.get === 'function' ? (response.headers.get(name) ?? undefined) : undefined;
}

// The errors that are a call's outcome: thrown as they are, not retried.
const FINISHED = new WeakSet();

// Marks an error as the call's outcome, with its attempts and whether it is retryable.
function finished(error, attempts, retryable) {
  error.attempts = attempts;
  error.retryable = retryable;
  FINISHED.add(error);
  return error;
}

/**
 * One logical call in flight: its AbortController (what fetch and the waits
 * between attempts listen to), stopped by the caller's signal, the deadline
 * or close(); `why` says which, first one wins.
 */
class Call {
  controller = new AbortController();
  why = null; // 'aborted', 'timeout' or 'closed'
  reason; // the caller's signal's reason
  started = Date.now();
  deadline;
  #timeoutMs;
  #signal;
  #timer;
  #onAbort;
  #untrack;
  #stopped;

  constructor(signal, timeoutMs, untrack) {
    this.#signal = signal;
    this.#timeoutMs = timeoutMs;
    this.#untrack = untrack;
    this.deadline = this.started + timeoutMs;
    this.#stopped = new Promise((resolve, reject) => {
      this.controller.signal.addEventListener('abort', () => reject(this.controller.signal.reason), { once: true });
    });
    this.#stopped.catch(() => {});
    if (signal?.aborted) {
      this.stop('aborted', signal.reason);
    } else if (signal) {
      this.#onAbort = () => this.stop('aborted', signal.reason);
      signal.addEventListener('abort', this.#onAbort, { once: true });
    }
    if (!this.why && timeoutMs <= MAX_TIMER_MS) this.#timer = setTimeout(() => this.stop('timeout'), timeoutMs);
  }

  get signal() {
    return this.controller.signal;
  }

  stop(why, reason) {
    if (this.why) return;
    this.why = why;
    this.reason = reason;
    this.controller.abort(why === 'aborted' ? reason : new KvError(why, null, `the call was ended: ${why}`));
  }

  /** `promise`, or a rejection as soon as the call is stopped (even if a custom fetch ignores its signal). */
  race(promise) {
    promise.catch?.(() => {});
    return Promise.race([promise, this.#stopped]);
  }

  /** Resolves after `ms`, or rejects as soon as the call is stopped. */
  sleep(ms) {
    let timer;
    return this.race(new Promise((resolve) => (timer = setTimeout(resolve, ms)))).finally(() => clearTimeout(timer));
  }

  clearDeadline() {
    clearTimeout(this.#timer);
  }

  finish() {
    clearTimeout(this.#timer);
    if (this.#onAbort) this.#signal.removeEventListener('abort', this.#onAbort);
    this.#untrack();
  }

  // The KvError of a stopped call; `last` is the error of the last attempt, if any.
  error(method, url, attempts, write, last) {
    const maybe = write ? '; it may or may not have been applied (a retry with the same idempotencyKey applies it at most once)' : '';
    const tries = `${attempts} ${attempts === 1 ? 'attempt' : 'attempts'}`;
    switch (this.why) {
      case 'aborted':
        return finished(
          new KvError('aborted', null, `${method} ${url} was aborted by its signal after ${tries}${maybe}`, { cause: this.reason }),
          attempts,
          false,
        );
      case 'timeout':
        return finished(
          new KvError('timeout', null, `${method} ${url} timed out after ${this.#timeoutMs} ms (${tries})${maybe}`, { cause: last }),
          attempts,
          true,
        );
      default:
        return finished(
          new KvError('closed', null, `${method} ${url} was interrupted by kv.close(); it may or may not have been applied`, { cause: last }),
          attempts,
          false,
        );
    }
  }
}
