// A token's SHA-256, the only form of it the service keeps, in its two
// forms, named apart:
// - `bytes`: the 32 bytes, which a store's object compares with its own
//   (kv_handle's `credential`, worker/kv_c.h);
// - `hex`: 64 lowercase hex digits, which key the token directory
//   (shims/directory.js) and the auth gate's caches, and which the core's
//   `create` and `rotate` operations take as their `credential` field.

const encoder = new TextEncoder();
const HEX_DIGITS = Array.from({ length: 256 }, (_, byte) => byte.toString(16).padStart(2, '0'));

export class TokenHash {
  /** The hash of `token` (a string). */
  static async of(token) {
    return new TokenHash(new Uint8Array(await crypto.subtle.digest('SHA-256', encoder.encode(token))));
  }

  constructor(bytes) {
    this.bytes = bytes;
    this.hex = hex(bytes);
  }

  /** Whether `other` is the same hash, compared in constant time. */
  equals(other) {
    return crypto.subtle.timingSafeEqual(this.bytes, other.bytes);
  }
}

// Hex on every request: a loop over a table costs a fraction of
// Array.from(...).join('') (a CPU profile in workerd).
function hex(bytes) {
  let text = '';
  for (const byte of bytes) text += HEX_DIGITS[byte];
  return text;
}
