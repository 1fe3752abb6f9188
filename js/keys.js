// Keys as the store encodes them (docs/key-encoding.md, worker/key_codec.cc),
// so the client can order two keys as the store does: the bytes of the
// encoding compare as the keys do.

const TEXT = new TextEncoder();

/** The encoding of a key's parts (JS values already checked by encodeKey), as bytes. */
export function encodeKeyBytes(parts) {
  const out = [];
  for (const part of parts) encodePart(part, out);
  return Uint8Array.from(out);
}

/** Negative, zero or positive as key `a` sorts before, with or after key `b` in the store. */
export function compareKeys(a, b) {
  return compareBytes(encodeKeyBytes(a), encodeKeyBytes(b));
}

function compareBytes(a, b) {
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return a.length - b.length;
}

function encodePart(part, out) {
  switch (typeof part) {
    case 'string':
      out.push(0x02);
      pushEscaped(TEXT.encode(part), out);
      return;
    case 'boolean':
      out.push(part ? 0x27 : 0x26);
      return;
    case 'number':
      pushNumber(part, out);
      return;
    case 'bigint':
      pushBigInt(part, out);
      return;
  }
  out.push(0x01); // a Uint8Array
  pushEscaped(part, out);
}

// The bytes with each 0x00 written 0x00 0xFF, then the terminator 0x00.
function pushEscaped(bytes, out) {
  for (const byte of bytes) {
    out.push(byte);
    if (byte === 0) out.push(0xff);
  }
  out.push(0x00);
}

// 0x21, then the binary64 big-endian with the sign bit flipped (positive) or
// every bit flipped (negative); one NaN, and -0 written as 0.
function pushNumber(number, out) {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, Number.isNaN(number) ? NaN : number === 0 ? 0 : number);
  if (Number.isNaN(number)) view.setBigUint64(0, 0x7ff8000000000000n);
  const negative = (view.getUint8(0) & 0x80) !== 0;
  out.push(0x21);
  for (let i = 0; i < 8; i++) {
    const byte = view.getUint8(i);
    out.push(negative ? byte ^ 0xff : i === 0 ? byte ^ 0x80 : byte);
  }
}

function pushBigInt(value, out) {
  if (value === 0n) {
    out.push(0x14);
    return;
  }
  const negative = value < 0n;
  let hex = (negative ? -value : value).toString(16);
  if (hex.length % 2) hex = `0${hex}`;
  const magnitude = [];
  for (let i = 0; i < hex.length; i += 2) magnitude.push(parseInt(hex.slice(i, i + 2), 16));
  const n = magnitude.length;
  if (n <= 8) out.push(negative ? 0x14 - n : 0x14 + n);
  else out.push(negative ? 0x0b : 0x1d, negative ? n ^ 0xff : n);
  for (const byte of magnitude) out.push(negative ? byte ^ 0xff : byte);
}
