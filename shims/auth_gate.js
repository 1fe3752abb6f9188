// Resolves access tokens to their stores in front of the one global
// directory object. Every token this isolate has not cached costs the
// directory a call and a transaction, so a flood of random tokens is
// stopped before it gets there, cheapest check first:
// - a token this isolate has cached is served at once (a backend sharing an
//   address with an attacker keeps working);
// - an address told 429 by either limiter is blocked here for blockMs, and
//   its other requests then cost neither the limiters nor the directory;
// - known tokens are cached, and so are unknown ones, for unknownTokenTtlMs;
// - lookups of uncached tokens are limited per address (lookupLimiter)
//   before they are made, not only the failures they end in (failureLimiter).
// A random-token flood thus costs the directory at most the lookup rate per
// address, and in practice the failure allowance plus one, then nothing.
// The caches are hints: the store's own object re-checks the token hash on
// every request, so a rotated token is refused there (then forget() it).
//
// Refusals are { status, code, message, retryAfterSeconds? } for the
// Worker to answer with; retryAfterSeconds comes with every 429.

const INVALID_TOKEN = Object.freeze({
  status: 401,
  code: 'invalid_token',
  message: 'the access token is not valid (unknown, rotated or deleted); check that it is the current token of the store',
});

const TOO_MANY = {
  too_many_failed_attempts: 'too many requests with a missing or invalid token from this address',
  too_many_lookups: 'too many requests with tokens not seen recently from this address',
};

export class AuthGate {
  #lookup;
  #failureLimiter;
  #lookupLimiter;
  #limits;
  #now;
  #stores = new Map(); // token hash -> store
  #unknown = new Map(); // token hash -> when it may be looked up again
  #blocked = new Map(); // address -> { until, code }

  /**
   * `lookup(credentialHex)` resolves to the token's store or null (the
   * directory call); `failureLimiter` and `lookupLimiter` are rate-limit
   * bindings (`limit({ key }) -> Promise<{ success }>`) keyed by address;
   * `limits` is `{ cachedTokens, unknownTokenTtlMs, blockMs }`.
   */
  constructor({ lookup, failureLimiter, lookupLimiter, limits, now = () => Date.now() }) {
    this.#lookup = lookup;
    this.#failureLimiter = failureLimiter;
    this.#lookupLimiter = lookupLimiter;
    this.#limits = limits;
    this.#now = now;
  }

  /** The store of the token with hash `credentialHex`: `{ store }` or `{ refusal }`. */
  async resolve(credentialHex, address) {
    // A token this isolate knows costs nothing to serve, even to a blocked
    // address: a backend behind a shared address keeps working.
    const cached = this.#stores.get(credentialHex);
    if (cached) return { store: cached };
    const blocked = this.#blockedRefusal(address);
    if (blocked) return { refusal: blocked };
    if (!this.#knownUnknown(credentialHex)) {
      const { success } = await this.#lookupLimiter.limit({ key: address });
      if (!success) return { refusal: this.#block(address, 'too_many_lookups') };
      // Each request looks up for itself: the Workers runtime cancels a
      // request that awaits I/O begun by another one (as "hung").
      const store = await this.#lookupAndCache(credentialHex);
      if (store) return { store };
    }
    return { refusal: await this.refuse(address, INVALID_TOKEN) };
  }

  /**
   * Counts a failed authentication from `address` found elsewhere (a
   * missing or malformed token, or the store object refusing the token).
   * Returns `refusal` as given, or a 429 refusal past the failure limit.
   */
  async refuse(address, refusal) {
    const blocked = this.#blockedRefusal(address);
    if (blocked) return blocked;
    const { success } = await this.#failureLimiter.limit({ key: address });
    return success ? refusal : this.#block(address, 'too_many_failed_attempts');
  }

  /** Drops the cached store of a token (rotated, deleted, or refused by its store). */
  forget(credentialHex) {
    this.#stores.delete(credentialHex);
  }

  async #lookupAndCache(credentialHex) {
    const store = await this.#lookup(credentialHex);
    const { cachedTokens, unknownTokenTtlMs } = this.#limits;
    if (store) remember(this.#stores, credentialHex, store, cachedTokens);
    else remember(this.#unknown, credentialHex, this.#now() + unknownTokenTtlMs, cachedTokens);
    return store;
  }

  #knownUnknown(credentialHex) {
    const expiresAt = this.#unknown.get(credentialHex);
    if (expiresAt === undefined) return false;
    if (this.#now() < expiresAt) return true;
    this.#unknown.delete(credentialHex);
    return false;
  }

  #block(address, code) {
    const { blockMs, cachedTokens } = this.#limits;
    remember(this.#blocked, address, { until: this.#now() + blockMs, code }, cachedTokens);
    return tooMany(code, blockMs);
  }

  #blockedRefusal(address) {
    const block = this.#blocked.get(address);
    if (!block) return null;
    const left = block.until - this.#now();
    if (left > 0) return tooMany(block.code, left);
    this.#blocked.delete(address);
    return null;
  }
}

// Sets `key` as the newest entry of `map`, evicting the oldest past `capacity`.
function remember(map, key, value, capacity) {
  map.delete(key);
  if (map.size >= capacity) map.delete(map.keys().next().value);
  map.set(key, value);
}

function tooMany(code, waitMs) {
  const seconds = Math.max(1, Math.ceil(waitMs / 1000));
  return {
    status: 429,
    code,
    message: `${TOO_MANY[code]}; wait ${seconds} seconds, and check that the token is the current token of the store`,
    retryAfterSeconds: seconds,
  };
}
