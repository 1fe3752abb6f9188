// Base64 (RFC 4648, with padding) for byte key parts, without Buffer or atob:
// the client runs unchanged on Node, Deno, Bun and Workers.

const BASE64_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

export function encodeBase64(bytes) {
  let text = '';
  for (let i = 0; i < bytes.length; i += 3) {
    const triple = (bytes[i] << 16) | ((bytes[i + 1] ?? 0) << 8) | (bytes[i + 2] ?? 0);
    text += BASE64_ALPHABET[(triple >> 18) & 63] + BASE64_ALPHABET[(triple >> 12) & 63];
    text += i + 1 < bytes.length ? BASE64_ALPHABET[(triple >> 6) & 63] : '=';
    text += i + 2 < bytes.length ? BASE64_ALPHABET[triple & 63] : '=';
  }
  return text;
}

export function decodeBase64(text) {
  const digits = text.replace(/=+$/, '');
  const bytes = new Uint8Array(Math.floor((digits.length * 6) / 8));
  let bits = 0;
  let bitCount = 0;
  let length = 0;
  for (const digit of digits) {
    bits = ((bits << 6) | BASE64_ALPHABET.indexOf(digit)) & 0xffff; // never more than 14 bits pending
    bitCount += 6;
    if (bitCount >= 8) {
      bitCount -= 8;
      bytes[length++] = (bits >> bitCount) & 0xff;
    }
  }
  return bytes;
}
