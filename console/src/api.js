// The console's only way to the service: the public HTTP API
// (docs/http-api.md) on the page's own origin. The admin routes are called
// with fetch; a store's routes through the project's own client (js/), as
// any application calls them, but for the queue's figures (GET /v1/queue),
// which the client does not cover: fetch too. A Connection runs every call
// under the session: an expired session, or a token the API refuses, ends
// it.

import { connect } from '../../js/index.js';
import { clearSession, readSession, writeSession } from './session.js';

/** A refusal of an admin route, or a failure to reach the service. */
export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
  }
}

/** Thrown by a call made after its session ended; the console is back at sign-in. */
export class SessionEnded extends Error {
  constructor() {
    super('the session ended');
    this.name = 'SessionEnded';
  }
}

export const NOTICES = {
  expired: 'Your session expired after 30 minutes without a request. Sign in again.',
  refused: 'The service no longer accepts this token (it was rotated, or its store deleted). Sign in again.',
  signedOut: 'Signed out.',
};

/** An error as one line for the page: the API's message and code. */
export function errorText(error) {
  if (!error) return '';
  return error.code ? `${error.message} (${error.code})` : String(error.message ?? error);
}

async function apiFetch(token, method, path, body) {
  let response;
  try {
    response = await fetch(path, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (error) {
    throw new ApiError(0, 'network_error', `the service did not answer: ${error.message}`);
  }
  const text = await response.text();
  let answer = null;
  try {
    answer = JSON.parse(text);
  } catch {
    // not the API speaking
  }
  if (!response.ok) {
    const error = answer?.error;
    throw new ApiError(response.status, error?.code ?? `http_${response.status}`,
      error?.message ?? `${method} ${path} answered HTTP ${response.status}`);
  }
  return answer;
}

function openStore(token, region) {
  // The token is the person's own, typed into their own tab: the client's
  // warning about shipping a token to a browser is for apps, not for this.
  return connect({ accessToken: token, region, endpoint: location.origin, dangerouslyAllowBrowser: true });
}

/**
 * Checks a token before keeping it: `{ kind: 'operator' }` with the admin
 * token, `{ kind: 'store', region }` with a store's access token. Throws an
 * Error whose message says what was wrong, in words a person can act on.
 */
export async function signIn({ kind, token, region }) {
  token = token.trim();
  if (token === '') throw new Error('Paste a token first.');
  if (kind === 'operator') {
    try {
      await apiFetch(token, 'GET', '/v1/admin/stores?limit=1');
    } catch (error) {
      if (error.status === 401) throw new Error('Wrong token: this is not the admin token of this service (KV_ADMIN_TOKEN). A store\'s access token cannot sign in as the operator.');
      throw new Error(errorText(error));
    }
  } else {
    const kv = openStore(token, region);
    try {
      await kv.usage();
    } catch (error) {
      if (error.status === 401) throw new Error('Wrong token: this access token opens no store (it is unknown, was rotated, or its store was deleted). The admin token cannot open a store\'s keys.');
      throw new Error(errorText(error));
    } finally {
      kv.close();
    }
  }
  const session = { kind, token, region: kind === 'store' ? region : undefined };
  writeSession(session);
  return session;
}

export class Connection {
  #token;
  #onEnd;
  #ended = false;

  /** `onEnd(notice)` is called once, when the session ends. */
  constructor(session, onEnd) {
    this.kind = session.kind;
    this.region = session.region;
    this.#token = session.token;
    this.#onEnd = onEnd;
    this.kv = session.kind === 'store' ? openStore(session.token, session.region) : null;
  }

  /** Calls an admin route; resolves to its JSON. */
  admin(method, path, body) {
    return this.run(() => apiFetch(this.#token, method, path, body));
  }

  /** The signed-in store's queue figures (GET /v1/queue, docs/queues.md). */
  queue() {
    return this.run(() => apiFetch(this.#token, 'GET', '/v1/queue'));
  }

  /** Runs `work(kv)` with the store's client. */
  store(work) {
    return this.run(() => work(this.kv));
  }

  /**
   * Watches the entry at `key` until `signal` aborts (POST /v1/watch, read
   * by the client as a stream): `onEntry(entry)` with its current entry,
   * then after each change. Rejects when the watch fails for good.
   */
  watch(key, signal, onEntry) {
    return this.run(async () => {
      const reader = this.kv.watch([key], { signal }).getReader();
      try {
        for (;;) {
          const { done, value } = await reader.read();
          if (done) return;
          onEntry(value[0]);
        }
      } finally {
        reader.cancel().catch(() => {});
      }
    });
  }

  /** Runs `work()` under the session: each call it makes counts as activity. */
  async run(work) {
    if (this.#ended) throw new SessionEnded();
    if (!readSession().session) {
      this.end(NOTICES.expired);
      throw new SessionEnded();
    }
    try {
      const result = await work();
      if (!this.#ended) writeSession({ kind: this.kind, token: this.#token, region: this.region });
      return result;
    } catch (error) {
      if (this.#ended) throw new SessionEnded();
      if (error?.status === 401) {
        this.end(NOTICES.refused);
        throw new SessionEnded();
      }
      throw error;
    }
  }

  /** Ends the session if it timed out (the console checks every few seconds). */
  checkIdle() {
    if (!this.#ended && !readSession().session) this.end(NOTICES.expired);
  }

  end(notice) {
    if (this.#ended) return;
    this.#ended = true;
    this.kv?.close();
    clearSession();
    this.#onEnd(notice);
  }
}
