/* Byte encodings of docs/protocol.md §1: base64url without padding (strict: no
 * padding, no whitespace, canonical trailing bits, exact length where one is fixed),
 * standard base64 with padding (HTTP structured-field byte sequences), hex, UTF-8. */
import { fail } from './errors';

const URL_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const STD_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

function encode(bytes: Uint8Array, alphabet: string, pad: boolean): string {
  let out = '';
  let i = 0;
  for (; i + 2 < bytes.length; i += 3) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!;
    out += alphabet[n >> 18]! + alphabet[(n >> 12) & 63]! + alphabet[(n >> 6) & 63]! + alphabet[n & 63]!;
  }
  const rest = bytes.length - i;
  if (rest === 1) {
    const n = bytes[i]! << 16;
    out += alphabet[n >> 18]! + alphabet[(n >> 12) & 63]! + (pad ? '==' : '');
  } else if (rest === 2) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8);
    out += alphabet[n >> 18]! + alphabet[(n >> 12) & 63]! + alphabet[(n >> 6) & 63]! + (pad ? '=' : '');
  }
  return out;
}

/* Decodes unpadded text over `alphabet`; null unless every character is in it, the
 * length is possible and the unused trailing bits are zero. */
function decode(s: string, alphabet: string): Uint8Array | null {
  if (s.length % 4 === 1) return null;
  const out = new Uint8Array(Math.floor((s.length * 3) / 4));
  let acc = 0;
  let bits = 0;
  let o = 0;
  for (let i = 0; i < s.length; i++) {
    const v = alphabet.indexOf(s[i]!);
    if (v < 0) return null;
    acc = ((acc << 6) | v) & 0xffffff;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (acc >> bits) & 0xff;
    }
  }
  if ((acc & ((1 << bits) - 1)) !== 0) return null;
  return out;
}

export function b64urlEncode(bytes: Uint8Array): string {
  return encode(bytes, URL_ALPHABET, false);
}

/* Strict base64url; with `length`, the decoded value must have exactly that many bytes. */
export function b64urlDecode(s: string, length?: number): Uint8Array {
  const out = decode(s, URL_ALPHABET);
  if (!out) fail('INVALID_ARGUMENT', 'not base64url without padding');
  if (length !== undefined && out.length !== length)
    fail('INVALID_ARGUMENT', `not ${length} bytes of base64url`);
  return out;
}

export function b64Encode(bytes: Uint8Array): string {
  return encode(bytes, STD_ALPHABET, true);
}

export function b64Decode(s: string): Uint8Array {
  const padded = s.length % 4 === 0 ? s.replace(/={1,2}$/, '') : null;
  const out = padded === null ? null : decode(padded, STD_ALPHABET);
  if (!out) fail('INVALID_ARGUMENT', 'not standard base64');
  return out;
}

export function hexEncode(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += (b < 16 ? '0' : '') + b.toString(16);
  return s;
}

export function hexDecode(s: string): Uint8Array {
  if (s.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(s)) fail('INVALID_ARGUMENT', 'not hex');
  const out = new Uint8Array(s.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(s.slice(2 * i, 2 * i + 2), 16);
  return out;
}

const utf8Encoder = new TextEncoder();

/* UTF-8 of a well-formed string; a lone surrogate is refused rather than replaced. */
export function utf8(s: string): Uint8Array {
  if (!isWellFormed(s)) fail('INVALID_ARGUMENT', 'string holds a lone surrogate');
  return utf8Encoder.encode(s);
}

/* Strict UTF-8 decoding: invalid bytes are refused; a byte-order mark is kept. */
export function fromUtf8(bytes: Uint8Array): string {
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    return fail('JSON_MALFORMED', 'not valid UTF-8');
  }
}

/* True if s has no lone surrogate (String.prototype.isWellFormed is too new for Node 18). */
export function isWellFormed(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) {
      const d = i + 1 < s.length ? s.charCodeAt(i + 1) : 0;
      if (d < 0xdc00 || d > 0xdfff) return false;
      i++;
    } else if (c >= 0xdc00 && c <= 0xdfff) {
      return false;
    }
  }
  return true;
}

/* Bytes of UTF-8 that a well-formed string takes. */
export function utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff) {
      n += 4;
      i++;
    } else n += 3;
  }
  return n;
}

export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
