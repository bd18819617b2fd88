/* Signed JSON (docs/protocol.md §3) and the field checks libparley applies to signed
 * objects (src/lib/json/fields.c, src/lib/proto/signed.c): the same rules, so the page
 * refuses what `parley` refuses. */
import { b64urlDecode, b64urlEncode, concatBytes, isWellFormed, utf8, utf8Length } from './encoding';
import { JsonNumber, JsonObject, JsonValue, isJsonObject, jcsBytes } from './json';
import type { Sodium } from './sodium';

/* A signed object that does not verify or does not hold what it must: the code is the
 * name in include/parley/errors.def, the detail names the field. */
export class ProtoError extends Error {
  constructor(
    readonly code: string,
    readonly detail: string,
  ) {
    super(`${code}: ${detail}`);
    this.name = 'ProtoError';
  }
}
export const pfail = (code: string, detail: string): never => {
  throw new ProtoError(code, detail);
};

export const POC_ID_MAX = 63;
export const SIG_B64_CHARS = 86;
export const MAX_SAFE = 9007199254740991;

/* Valid UTF-8 (no lone surrogate), no C0 but \n and \t (none with singleLine), no DEL, no C1. */
export function textOk(s: string, singleLine: boolean): boolean {
  if (!isWellFormed(s)) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 && (singleLine || (c !== 0x0a && c !== 0x09))) return false;
    if (c >= 0x7f && c <= 0x9f) return false;
  }
  return true;
}

export function uuidValid(s: unknown): s is string {
  return typeof s === 'string' && /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(s);
}
export const uuid7Valid = (s: unknown): s is string => uuidValid(s) && s[14] === '7';
export const stateCodeValid = (s: unknown): s is string => typeof s === 'string' && /^[A-Z]{3}$/.test(s);
export const pocIdValid = (s: unknown): s is string => typeof s === 'string' && /^[a-z0-9-]{1,63}$/.test(s);
export const langValid = (s: unknown): s is string => typeof s === 'string' && /^[a-z]{2}$/.test(s);

function leap(y: number): boolean {
  return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
}

/* RFC 3339 UTC with 'Z' (a fraction of 1-9 digits accepted and ignored) as Unix seconds,
 * or null: as parley_time_parse. */
export function timeParse(s: unknown): number | null {
  if (typeof s !== 'string') return null;
  const m = /^([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})(\.[0-9]{1,9})?Z$/.exec(s);
  if (!m) return null;
  const [y, mo, d, h, mi, se] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  const mdays = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
  if (mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || se > 59) return null;
  if (d > mdays[mo - 1]! + (mo === 2 && leap(y) ? 1 : 0)) return null;
  const dt = new Date(0); /* Date.UTC maps years 0-99 to 19xx */
  dt.setUTCFullYear(y, mo - 1, d);
  dt.setUTCHours(h, mi, se, 0);
  return dt.getTime() / 1000;
}

export function timeFormat(t: number): string {
  return new Date(t * 1000).toISOString().replace(/\.[0-9]{3}Z$/, 'Z');
}

/* ---- fields, as parley_json_fields: present (unless optional), of the right type --- */

export class Fields {
  constructor(
    readonly o: JsonObject,
    readonly code: string /* the error code a bad field gives */,
    readonly where: string,
  ) {}
  private bad(name: string, what: string): never {
    return pfail(this.code, `${this.where}: field '${name}' ${what}`);
  }
  private get(name: string, optional: boolean): JsonValue | undefined {
    const v = Object.prototype.hasOwnProperty.call(this.o, name) ? this.o[name] : undefined;
    if (v === undefined && !optional) this.bad(name, 'is missing');
    return v;
  }
  str(name: string, max: number, singleLine = true): string {
    return this.strOpt(name, max, singleLine, false)!;
  }
  line(name: string, max: number): string {
    return this.str(name, max, true);
  }
  lineOpt(name: string, max: number): string | undefined {
    return this.strOpt(name, max, true, true);
  }
  strOpt(name: string, max: number, singleLine: boolean, optional = true): string | undefined {
    const v = this.get(name, optional);
    if (v === undefined) return undefined;
    if (typeof v !== 'string') this.bad(name, 'must be a string');
    const s = v as string;
    if (max && utf8Length(s) > max) this.bad(name, `is too long (at most ${max} bytes)`);
    if (!textOk(s, singleLine)) this.bad(name, 'holds control characters');
    return s;
  }
  int(name: string): number {
    const v = this.get(name, false);
    if (typeof v !== 'number' || !Number.isSafeInteger(v)) {
      if (v instanceof JsonNumber) this.bad(name, 'must be an integer within ±(2^53−1)');
      this.bad(name, 'must be an integer');
    }
    return v as number;
  }
  obj(name: string): JsonObject {
    return this.objOpt(name, false)!;
  }
  objOpt(name: string, optional = true): JsonObject | undefined {
    const v = this.get(name, optional);
    if (v === undefined) return undefined;
    if (!isJsonObject(v)) this.bad(name, 'must be an object');
    return v as JsonObject;
  }
  arr(name: string): JsonValue[] {
    const v = this.get(name, false);
    if (!Array.isArray(v)) this.bad(name, 'must be an array');
    return v as JsonValue[];
  }
  time(name: string): number {
    const v = this.get(name, false);
    const t = timeParse(v);
    if (typeof v !== 'string') this.bad(name, 'must be a string');
    if (t === null) this.bad(name, 'must be an RFC 3339 UTC time, e.g. 2026-01-31T12:00:00Z');
    return t!;
  }
  uuid(name: string, optional = false): string | undefined {
    const v = this.get(name, optional);
    if (v === undefined) return undefined;
    if (typeof v !== 'string') this.bad(name, 'must be a string');
    if (!uuidValid(v)) this.bad(name, 'must be a UUID in canonical lower-case form');
    return v as string;
  }
  b64(name: string, len: number): Uint8Array {
    const v = this.get(name, false);
    if (typeof v !== 'string') this.bad(name, 'must be a string');
    try {
      return b64urlDecode(v as string, len);
    } catch {
      return this.bad(name, `must be base64url (no padding) of exactly ${len} bytes`);
    }
  }
  oneOf(name: string, choices: readonly string[]): string {
    const v = this.get(name, false);
    if (typeof v !== 'string') this.bad(name, 'must be a string');
    if (!choices.includes(v as string)) this.bad(name, `must be one of: ${choices.join(', ')}`);
    return v as string;
  }
}

/* Refuses members outside `allowed`. */
export function onlyKnown(o: JsonObject, allowed: readonly string[], code: string, where: string): void {
  for (const k of Object.keys(o)) if (!allowed.includes(k)) pfail(code, `${where}: unknown member '${k.slice(0, 64)}'`);
}

/* ---- signatures ------------------------------------------------------------------- */

function withoutSignature(o: JsonObject): Record<string, unknown> {
  const c: Record<string, unknown> = {};
  for (const k of Object.keys(o)) if (k !== 'signature') c[k] = o[k];
  return c;
}

function purposeMessage(purpose: string, canonical: Uint8Array): Uint8Array {
  return concatBytes(utf8(`parley/v1/${purpose}\n`), canonical);
}

export function signBytes(na: Sodium, sk: Uint8Array, purpose: string, msg: Uint8Array): Uint8Array {
  return na.crypto_sign_detached(purposeMessage(purpose, msg), sk);
}

export function verifyBytes(na: Sodium, pk: Uint8Array, purpose: string, msg: Uint8Array, sig: Uint8Array): boolean {
  try {
    return na.crypto_sign_verify_detached(sig, purposeMessage(purpose, msg), pk);
  } catch {
    return false;
  }
}

/* True if o's "signature" is pk's signature (purpose) over JCS of o without it. */
export function signedJsonVerify(na: Sodium, o: JsonObject, purpose: string, pk: Uint8Array): boolean {
  const s = o['signature'];
  if (typeof s !== 'string' || s.length !== SIG_B64_CHARS) return false;
  let sig: Uint8Array;
  let canonical: Uint8Array;
  try {
    sig = b64urlDecode(s, 64);
    canonical = jcsBytes(withoutSignature(o));
  } catch {
    return false;
  }
  if (canonical.length > 1 << 20) return false;
  return verifyBytes(na, pk, purpose, canonical, sig);
}

/* Sets o.signature (purpose) over JCS of o without it. */
export function signedJsonSign<T extends Record<string, unknown>>(na: Sodium, o: T, purpose: string, sk: Uint8Array): T & { signature: string } {
  const sig = signBytes(na, sk, purpose, jcsBytes(withoutSignature(o as unknown as JsonObject)));
  return Object.assign(o, { signature: b64urlEncode(sig) });
}

export function sha256(na: Sodium, b: Uint8Array): Uint8Array {
  return na.crypto_hash_sha256(b);
}

/* The object is signable: JCS accepts it (no reals, integers within ±(2^53−1)). */
export function checkSignable(o: JsonObject, code: string, where: string): Uint8Array {
  try {
    return jcsBytes(o);
  } catch (e) {
    return pfail(code, `${where}: ${e instanceof Error ? e.message : String(e)}`);
  }
}
