/* Bounded, strict JSON parsing and the RFC 8785 (JCS) canonical form, giving the same
 * answers as libparley (src/lib/json/json.c): the same limits, the same refusals
 * (duplicate keys, invalid UTF-8, \u0000, lone surrogates, integers beyond int64) and,
 * for signable values, the same canonical bytes. JSON.parse is not used: it keeps the
 * last of duplicate keys and cannot tell 56.0 from 56, and a signature check must see
 * exactly what the signer saw. */
import { fail } from './errors';
import { isWellFormed, fromUtf8, utf8, utf8Length } from './encoding';

/* A number that signed JSON may not hold, kept as written: a fraction or exponent
 * ("real"), or an integer beyond ±(2^53−1) that still fits in 64 bits ("big"). JCS
 * refuses both, as libparley does. */
export class JsonNumber {
  constructor(
    readonly text: string,
    readonly kind: 'real' | 'big',
  ) {}
  valueOf(): number {
    return Number(this.text);
  }
}

export type JsonValue = null | boolean | number | string | JsonNumber | JsonValue[] | JsonObject;
export interface JsonObject {
  [key: string]: JsonValue;
}

export interface JsonLimits {
  maxBytes: number; /* UTF-8 bytes of the whole input: TOO_LARGE */
  maxDepth: number; /* nested arrays/objects; "[]" has depth 1: JSON_DEPTH */
  maxString: number; /* UTF-8 bytes of a string or key: JSON_STRING_TOO_LONG */
  maxItems: number; /* values in the tree, the root included: TOO_LARGE */
}

/* PARLEY_JSON_LIMITS_DEFAULT: the hub's limits on a body. */
export const JSON_LIMITS_DEFAULT: JsonLimits = {
  maxBytes: 1024 * 1024,
  maxDepth: 32,
  maxString: 64 * 1024,
  maxItems: 100000,
};

export const MAX_SAFE_INT = 9007199254740991; /* 2^53 − 1 */
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const WALK_MAX_DEPTH = 2048;

export function isJsonObject(v: JsonValue | undefined): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof JsonNumber);
}

/* Depth over the raw text, skipping strings, before any recursion (as prescan_depth). */
function prescanDepth(s: string, maxDepth: number): void {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
      continue;
    }
    if (c === '"') inString = true;
    else if (c === '[' || c === '{') {
      if (++depth > maxDepth)
        fail('JSON_DEPTH', `nesting deeper than ${maxDepth} levels at offset ${i}`);
    } else if ((c === ']' || c === '}') && depth) depth--;
  }
}

class Parser {
  private i = 0;
  constructor(private readonly s: string) {}

  private malformed(what: string): never {
    return fail('JSON_MALFORMED', `${what} at offset ${this.i}`);
  }

  private ws(): void {
    const s = this.s;
    while (this.i < s.length) {
      const c = s[this.i];
      if (c !== ' ' && c !== '\t' && c !== '\n' && c !== '\r') break;
      this.i++;
    }
  }

  parseDocument(): JsonValue {
    this.ws();
    const v = this.value();
    this.ws();
    if (this.i !== this.s.length) this.malformed('end of file expected');
    return v;
  }

  private value(): JsonValue {
    const c = this.s[this.i];
    if (c === '{') return this.object();
    if (c === '[') return this.array();
    if (c === '"') return this.string();
    if (c === '-' || (c !== undefined && c >= '0' && c <= '9')) return this.number();
    for (const [word, v] of [
      ['true', true],
      ['false', false],
      ['null', null],
    ] as const) {
      if (this.s.startsWith(word, this.i)) {
        this.i += word.length;
        return v;
      }
    }
    return this.malformed(c === undefined ? "'[' or '{' expected near end of file" : 'invalid token');
  }

  private object(): JsonObject {
    this.i++;
    const obj: JsonObject = Object.create(null) as JsonObject;
    const seen = new Set<string>();
    this.ws();
    if (this.s[this.i] === '}') {
      this.i++;
      return obj;
    }
    for (;;) {
      if (this.s[this.i] !== '"') this.malformed('string or \'}\' expected');
      const key = this.string();
      /* jansson refuses the duplicate as soon as it reads the key, before its value. */
      if (seen.has(key)) fail('JSON_DUPLICATE_KEY', `duplicate object key at offset ${this.i}`);
      seen.add(key);
      this.ws();
      if (this.s[this.i] !== ':') this.malformed("':' expected");
      this.i++;
      this.ws();
      obj[key] = this.value();
      this.ws();
      const c = this.s[this.i];
      if (c === '}') {
        this.i++;
        return obj;
      }
      if (c !== ',') this.malformed("'}' expected");
      this.i++;
      this.ws();
    }
  }

  private array(): JsonValue[] {
    this.i++;
    const arr: JsonValue[] = [];
    this.ws();
    if (this.s[this.i] === ']') {
      this.i++;
      return arr;
    }
    for (;;) {
      arr.push(this.value());
      this.ws();
      const c = this.s[this.i];
      if (c === ']') {
        this.i++;
        return arr;
      }
      if (c !== ',') this.malformed("']' expected");
      this.i++;
      this.ws();
    }
  }

  private hex4(): number {
    const h = this.s.slice(this.i, this.i + 4);
    if (!/^[0-9a-fA-F]{4}$/.test(h)) this.malformed('invalid escape');
    this.i += 4;
    return parseInt(h, 16);
  }

  private string(): string {
    const s = this.s;
    this.i++;
    let out = '';
    let run = this.i;
    for (;;) {
      if (this.i >= s.length) this.malformed('premature end of input');
      const c = s.charCodeAt(this.i);
      if (c === 0x22) {
        out += s.slice(run, this.i);
        this.i++;
        return out;
      }
      if (c < 0x20) this.malformed('control character in string');
      if (c >= 0xd800 && c <= 0xdfff) {
        /* raw text reached us as UTF-16: a lone surrogate was never valid UTF-8 */
        const d = s.charCodeAt(this.i + 1);
        if (c > 0xdbff || !(d >= 0xdc00 && d <= 0xdfff)) this.malformed('invalid UTF-8');
        this.i += 2;
        continue;
      }
      if (c !== 0x5c) {
        this.i++;
        continue;
      }
      out += s.slice(run, this.i);
      this.i++;
      const e = s[this.i++];
      switch (e) {
        case '"':
        case '\\':
        case '/':
          out += e;
          break;
        case 'b':
          out += '\b';
          break;
        case 'f':
          out += '\f';
          break;
        case 'n':
          out += '\n';
          break;
        case 'r':
          out += '\r';
          break;
        case 't':
          out += '\t';
          break;
        case 'u': {
          const u = this.hex4();
          if (u === 0) this.malformed('\\u0000 is not allowed');
          if (u >= 0xdc00 && u <= 0xdfff) this.malformed('invalid Unicode escape');
          if (u >= 0xd800 && u <= 0xdbff) {
            if (s[this.i] !== '\\' || s[this.i + 1] !== 'u') this.malformed('invalid Unicode escape');
            this.i += 2;
            const l = this.hex4();
            if (l < 0xdc00 || l > 0xdfff) this.malformed('invalid Unicode escape');
            out += String.fromCharCode(u, l);
          } else {
            out += String.fromCharCode(u);
          }
          break;
        }
        default:
          this.i--;
          this.malformed('invalid escape');
      }
      run = this.i;
    }
  }

  private number(): number | JsonNumber {
    const re = /-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?/y;
    re.lastIndex = this.i;
    const m = re.exec(this.s);
    if (!m) return this.malformed('invalid number');
    const text = m[0];
    const next = this.s[this.i + text.length];
    /* "01", "1.", "1e": jansson's lexer refuses what the grammar does not finish */
    if (next !== undefined && /[0-9.eE+-]/.test(next)) this.malformed('invalid number');
    this.i += text.length;
    if (m[2] !== undefined || m[3] !== undefined) {
      if (!Number.isFinite(Number(text))) this.malformed('real number overflow');
      return new JsonNumber(text, 'real');
    }
    const big = BigInt(text);
    if (big < INT64_MIN || big > INT64_MAX)
      fail('JSON_INTEGER_RANGE', `integer does not fit in 64 bits at offset ${this.i}`);
    if (big < BigInt(-MAX_SAFE_INT) || big > BigInt(MAX_SAFE_INT)) return new JsonNumber(text, 'big');
    return Number(big);
  }
}

function pointer(path: string[]): string {
  return path.length ? path.map((p) => '/' + p.replace(/~/g, '~0').replace(/\//g, '~1')).join('') : '(top level)';
}

function checkLimits(v: JsonValue, lim: JsonLimits): void {
  let items = 0;
  const path: string[] = [];
  const walk = (x: JsonValue): void => {
    if (++items > lim.maxItems) fail('TOO_LARGE', `more than ${lim.maxItems} JSON values`);
    if (typeof x === 'string') {
      if (utf8Length(x) > lim.maxString)
        fail('JSON_STRING_TOO_LONG', `string at ${pointer(path)} exceeds the limit of ${lim.maxString}`);
    } else if (Array.isArray(x)) {
      x.forEach((e, i) => {
        path.push(String(i));
        walk(e);
        path.pop();
      });
    } else if (isJsonObject(x)) {
      for (const k of Object.keys(x)) {
        path.push(k);
        if (utf8Length(k) > lim.maxString)
          fail('JSON_STRING_TOO_LONG', `key at ${pointer(path)} exceeds the limit of ${lim.maxString}`);
        walk(x[k]!);
        path.pop();
      }
    }
  };
  walk(v);
}

/* Parses text (a string, or bytes that must be valid UTF-8) within the limits. Errors:
 * TOO_LARGE, JSON_DEPTH, JSON_MALFORMED, JSON_DUPLICATE_KEY, JSON_INTEGER_RANGE (beyond
 * int64), JSON_STRING_TOO_LONG. Objects have no prototype, so a key "__proto__" is
 * plain data. Any top-level value is accepted. */
export function parseJson(input: string | Uint8Array, limits: JsonLimits = JSON_LIMITS_DEFAULT): JsonValue {
  const bytes = typeof input === 'string' ? null : input;
  const n = bytes ? bytes.length : isWellFormed(input as string) ? utf8Length(input as string) : (input as string).length;
  if (n > limits.maxBytes) fail('TOO_LARGE', `JSON of ${n} bytes exceeds the limit of ${limits.maxBytes}`);
  const text = bytes ? fromUtf8(bytes) : (input as string);
  prescanDepth(text, limits.maxDepth);
  const v = new Parser(text).parseDocument();
  checkLimits(v, limits);
  return v;
}

/* As parseJson, but the top-level value must be an object (JSON_NOT_OBJECT). */
export function parseJsonObject(input: string | Uint8Array, limits: JsonLimits = JSON_LIMITS_DEFAULT): JsonObject {
  const v = parseJson(input, limits);
  if (!isJsonObject(v)) fail('JSON_NOT_OBJECT', 'the top-level JSON value is not an object');
  return v;
}

function jcsValue(v: unknown, path: string[], depth: number, out: string[]): void {
  if (depth > WALK_MAX_DEPTH) fail('JSON_DEPTH', `nesting too deep at ${pointer(path)}`);
  if (v === null) out.push('null');
  else if (v === true) out.push('true');
  else if (v === false) out.push('false');
  else if (typeof v === 'number') {
    if (!Number.isInteger(v)) fail('JSON_REAL_NOT_ALLOWED', `non-integer number at ${pointer(path)}`);
    if (!Number.isSafeInteger(v)) fail('JSON_INTEGER_RANGE', `integer at ${pointer(path)} is outside +-(2^53-1)`);
    out.push(String(v)); /* -0 prints as 0 */
  } else if (v instanceof JsonNumber) {
    if (v.kind === 'real') fail('JSON_REAL_NOT_ALLOWED', `non-integer number at ${pointer(path)}`);
    fail('JSON_INTEGER_RANGE', `integer at ${pointer(path)} is outside +-(2^53-1)`);
  } else if (typeof v === 'string') {
    if (!isWellFormed(v)) fail('JSON_MALFORMED', `string at ${pointer(path)} is not valid UTF-8`);
    /* ES2019 JSON.stringify escaping is exactly what RFC 8785 3.2.2.2 prescribes. */
    out.push(JSON.stringify(v));
  } else if (Array.isArray(v)) {
    out.push('[');
    v.forEach((e, i) => {
      if (i) out.push(',');
      path.push(String(i));
      jcsValue(e, path, depth + 1, out);
      path.pop();
    });
    out.push(']');
  } else if (typeof v === 'object') {
    const obj = v as Record<string, unknown>;
    /* Default sort compares UTF-16 code units: RFC 8785 3.2.3. */
    const keys = Object.keys(obj).sort();
    out.push('{');
    keys.forEach((k, i) => {
      path.push(k);
      if (!isWellFormed(k)) fail('JSON_MALFORMED', `key at ${pointer(path)} is not valid UTF-8`);
      if (i) out.push(',');
      out.push(JSON.stringify(k), ':');
      jcsValue(obj[k], path, depth + 1, out);
      path.pop();
    });
    out.push('}');
  } else {
    fail('INVALID_ARGUMENT', `${typeof v} at ${pointer(path)} is not JSON`);
  }
}

/* RFC 8785 canonical form of v as a string. Refuses, never mis-serializes, what
 * libparley refuses: non-integers (JSON_REAL_NOT_ALLOWED), integers beyond ±(2^53−1)
 * (JSON_INTEGER_RANGE), lone surrogates (JSON_MALFORMED), nesting over 2048
 * (JSON_DEPTH); and anything that is not JSON at all (INVALID_ARGUMENT). */
export function jcs(v: unknown): string {
  const out: string[] = [];
  jcsValue(v, [], 0, out);
  return out.join('');
}

/* The canonical form as the UTF-8 bytes that signatures cover. */
export function jcsBytes(v: unknown): Uint8Array {
  return utf8(jcs(v));
}
