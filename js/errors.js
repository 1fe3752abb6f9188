// The client's errors: what the store answered, or why it could not be reached.

/**
 * An error answered by the store (`code` from the API), or a failure to reach
 * it (`network_error`, `timeout`), or the end of a call by its caller
 * (`aborted`) or by kv.close() (`closed`). `attempts` is how many times the
 * request was sent (0 when it never was); `retryable` says whether the same
 * call may succeed if made again (the client already retried it as far as
 * its retry policy allows).
 */
export class KvError extends Error {
  constructor(code, status, message, options) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'KvError';
    this.code = code;
    this.status = status;
    this.attempts = options?.attempts ?? 0;
    this.retryable = options?.retryable ?? false;
  }
}

// The KvError of an answer that is not a success.
export function errorOf(method, url, status, answer, text) {
  const error = answer?.error;
  if (typeof error?.code === 'string') return new KvError(error.code, status, error.message);
  // Not the API speaking (a proxy, a wrong endpoint): keep the start of the body to help find out who did.
  return new KvError(
    `http_${status}`,
    status,
    `${method} ${url} answered HTTP ${status} without the store's JSON: ${text.slice(0, 200)}`,
  );
}

/** Names a value for an error message: `"abc"`, `NaN`, `a function`, `a Map`. */
export function describe(value) {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || value === null || value === undefined) return String(value);
  if (typeof value !== 'object') return `a ${typeof value}`;
  if (Array.isArray(value)) return 'an array';
  const name = Object.getPrototypeOf(value)?.constructor?.name;
  if (!name || name === 'Object') return 'an object';
  return `${/^[aeio]/i.test(name) ? 'an' : 'a'} ${name}`; // "a Uint8Array", "an ArrayBuffer"
}
