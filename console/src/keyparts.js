// Key parts as the console shows and reads them. A key is an array of parts
// as the client decodes them (string, number, bigint, boolean, Uint8Array);
// the console writes one as the API's wire JSON (docs/http-api.md, "Keys"),
// which is also how a user types one.

export const PART_TYPES = ['bytes', 'string', 'bigint', 'number', 'boolean'];

export function partType(part) {
  if (part instanceof Uint8Array) return 'bytes';
  return typeof part;
}

/** A part as text: a string as it is, bytes in hex. */
export function partText(part) {
  switch (partType(part)) {
    case 'bytes':
      return Array.from(part, (byte) => byte.toString(16).padStart(2, '0')).join(' ');
    case 'number':
      return Object.is(part, -0) ? '0' : String(part);
    default:
      return String(part);
  }
}

/** The wire form of a part (a JSON value). */
export function wirePart(part) {
  switch (partType(part)) {
    case 'bytes':
      return { bytes: base64(part) };
    case 'bigint':
      return { bigint: part.toString() };
    case 'number':
      return Number.isFinite(part) ? part : { number: String(part) };
    default:
      return part;
  }
}

/** A key (or prefix) as wire JSON text: ["users", 42, {"bigint": "7"}] */
export function keyText(key) {
  return `[${key.map((part) => JSON.stringify(wirePart(part))).join(', ')}]`;
}

/**
 * Reads a key typed as wire JSON: `{ key }` or `{ error }` naming the part
 * that is wrong. `allowEmpty` accepts [] (a prefix of the whole store).
 */
export function parseKey(text, { allowEmpty = false } = {}) {
  let wire;
  try {
    wire = JSON.parse(text);
  } catch {
    return { error: 'write the key as a JSON array, like ["users", 42]' };
  }
  if (!Array.isArray(wire)) return { error: 'write the key as a JSON array, like ["users", 42]' };
  if (wire.length === 0 && !allowEmpty) return { error: 'a key has at least one part' };
  const key = [];
  for (const [index, part] of wire.entries()) {
    const decoded = readPart(part);
    if (decoded === undefined) {
      return {
        error: `part ${index + 1} is not a key part: use a string, a number, true or false, ` +
          '{"bigint": "123"}, {"bytes": "<base64>"} or {"number": "NaN" | "Infinity" | "-Infinity"}',
      };
    }
    key.push(decoded);
  }
  return { key };
}

function readPart(part) {
  if (typeof part === 'string' || typeof part === 'boolean') return part;
  if (typeof part === 'number') return part;
  if (part === null || typeof part !== 'object' || Array.isArray(part)) return undefined;
  const names = Object.keys(part);
  if (names.length !== 1) return undefined;
  const [name] = names;
  const value = part[name];
  if (typeof value !== 'string') return undefined;
  if (name === 'bigint' && /^-?(0|[1-9][0-9]*)$/.test(value)) return BigInt(value);
  if (name === 'number' && ['NaN', 'Infinity', '-Infinity'].includes(value)) return Number(value);
  if (name === 'bytes') {
    try {
      return Uint8Array.from(atob(value), (c) => c.charCodeAt(0));
    } catch {
      return undefined;
    }
  }
  return undefined;
}

function base64(bytes) {
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary);
}

export function samePart(a, b) {
  const type = partType(a);
  if (type !== partType(b)) return false;
  if (type === 'bytes') return a.length === b.length && a.every((byte, i) => byte === b[i]);
  if (type === 'number') return Object.is(a, b) || a === b; // NaN is NaN, -0 is 0
  return a === b;
}

export function sameKey(a, b) {
  return a.length === b.length && a.every((part, i) => samePart(part, b[i]));
}
