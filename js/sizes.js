// What the store counts of keys and values, computed as it counts them, so
// that a batch (import()) can be filled to a limit without being refused.

import { encodeKey } from './wire.js';

/**
 * The length of a key's encoding (docs/key-encoding.md, worker/key_codec.cc):
 * what the store counts against the 2,048-byte key limit (kMaxKeyBytes) and,
 * with the values, the 800 KiB commit limit (kMaxCommitBytes).
 */
export function encodedKeyLength(key) {
  encodeKey(key, 'key'); // refuses what is not a key, as every method does
  return encodedKeyPartsLength(key);
}

// The parts' encodings concatenated, with no count, separator or terminator.
export function encodedKeyPartsLength(parts) {
  let length = 0;
  for (const part of parts) length += encodedKeyPartLength(part);
  return length;
}

function encodedKeyPartLength(part) {
  switch (typeof part) {
    case 'string':
      // 0x02, the UTF-8 bytes with each 0x00 written 0x00 0xFF, then 0x00.
      return 2 + utf8Length(part) + zeroCount(part);
    case 'number':
      return 9; // 0x21 and the 8 bytes of the binary64
    case 'boolean':
      return 1; // 0x26 or 0x27
    case 'bigint': {
      // Zero is 0x14; 1 to 8 magnitude bytes follow their type code; 9 to 255
      // follow 0x1D or 0x0B and a length byte.
      const magnitude = part < 0n ? -part : part;
      const bytes = magnitude === 0n ? 0 : Math.ceil(magnitude.toString(16).length / 2);
      return bytes === 0 ? 1 : bytes <= 8 ? 1 + bytes : 2 + bytes;
    }
  }
  // A Uint8Array: 0x01, the bytes with each 0x00 written 0x00 0xFF, then 0x00.
  let zeros = 0;
  for (const byte of part) if (byte === 0) zeros++;
  return 2 + part.length + zeros;
}

function zeroCount(text) {
  let zeros = 0;
  for (let at = text.indexOf('\u0000'); at >= 0; at = text.indexOf('\u0000', at + 1)) zeros++;
  return zeros;
}

// UTF-8 bytes of a string, as TextEncoder writes it (a lone surrogate as U+FFFD).
export function utf8Length(text) {
  let length = 0;
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit < 0x80) length += 1;
    else if (unit < 0x800) length += 2;
    else if (unit >= 0xd800 && unit < 0xdc00 && i + 1 < text.length && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      length += 4;
      i++;
    } else length += 3;
  }
  return length;
}

/**
 * The bytes the store keeps of a JSON value (from toJsonValue), which is what
 * kMaxValueBytes and kMaxCommitBytes count: the core stores a value as
 * compact JSON with numbers as written and strings escaped as JSON.stringify
 * escapes them (worker/json_parse.cc, Splitter), so the length of the text
 * this client sends.
 */
export function storedValueLength(value) {
  return utf8Length(JSON.stringify(value));
}

