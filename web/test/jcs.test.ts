/* JCS and strict parsing in TypeScript against the RFC 8785 vectors and against
 * libparley itself (tests/web/webcheck.c) on the vectors and on random documents. */
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { ParleyError } from '../src/lib/errors';
import { hexEncode, utf8 } from '../src/lib/encoding';
import { jcs, jcsBytes, JsonNumber, parseJson } from '../src/lib/json';
import { env, run } from './env';

/* "OK <hex>" or "ERR <code>", as webcheck prints it. */
function tsAnswer(input: Uint8Array): string {
  try {
    return 'OK ' + hexEncode(jcsBytes(parseJson(input)));
  } catch (e) {
    if (e instanceof ParleyError) return 'ERR ' + e.code;
    throw e;
  }
}

function cAnswers(inputs: Uint8Array[]): string[] {
  const parts: Uint8Array[] = [];
  for (const i of inputs) parts.push(utf8(`${i.length}\n`), i, utf8('\n'));
  const stdin = Buffer.concat(parts);
  const r = run(env('WEBCHECK'), ['jcs'], { input: stdin });
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stdout.split('\n').filter((l) => l !== '');
  assert.equal(lines.length, inputs.length);
  return lines;
}

test('RFC 8785 vectors: the same bytes as expected, and the same answers as libparley', () => {
  const dir = join(env('PARLEY_TESTDATA'), 'jcs', 'testdata');
  const names = readdirSync(join(dir, 'input')).filter((n) => n.endsWith('.json')).sort();
  assert.ok(names.length >= 6);
  const inputs = names.map((n) => new Uint8Array(readFileSync(join(dir, 'input', n))));
  const c = cAnswers(inputs);
  let serialized = 0;
  let refused = 0;
  names.forEach((n, i) => {
    const ts = tsAnswer(inputs[i]!);
    assert.equal(ts, c[i], `${n}: TypeScript and libparley differ`);
    if (ts.startsWith('OK ')) {
      const want = new Uint8Array(readFileSync(join(dir, 'output', n)));
      const wantHex = readFileSync(join(dir, 'outhex', n.replace(/\.json$/, '.txt')), 'utf8').replace(/\s+/g, '');
      assert.equal(ts.slice(3), hexEncode(want), `${n}: output`);
      assert.equal(ts.slice(3), wantHex, `${n}: outhex`);
      serialized++;
    } else {
      /* only numbers JCS would print in ECMAScript form are refused */
      assert.match(ts, /^ERR (JSON_REAL_NOT_ALLOWED|JSON_INTEGER_RANGE)$/, n);
      refused++;
    }
  });
  assert.ok(serialized >= 1 && refused >= 1, `serialized ${serialized}, refused ${refused}`);
});

test('basic canonical forms and refusals', () => {
  assert.equal(jcs(parseJson(' { "b" : [ 1 , 2 ] , "a" : { } , "c" : [ ] } ')), '{"a":{},"b":[1,2],"c":[]}');
  assert.equal(jcs(parseJson('{"b":1,"a":2,"B":3,"":4}')), '{"":4,"B":3,"a":2,"b":1}');
  assert.equal(jcs(parseJson('[-0,0,-1,120]')), '[0,0,-1,120]');
  assert.equal(jcs(parseJson('{"\\ufffd":4,"\\ue000":3,"\\ud83d\\ude02":2,"\\ud7ff":1,"z":0}')), '{"z":0,"\ud7ff":1,"\ud83d\ude02":2,"\ue000":3,"\ufffd":4}');
  assert.equal(jcs(parseJson('["\\u0001\\u001f\\u007f \\b\\f\\n\\r\\t \\" \\\\ \\/ \\u2028"]')), '["\\u0001\\u001f\u007f \\b\\f\\n\\r\\t \\" \\\\ / \u2028"]');
  const codes: [string, string][] = [
    ['{"a":1,"a":2}', 'JSON_DUPLICATE_KEY'],
    ['{"a":1.5}', 'JSON_REAL_NOT_ALLOWED'],
    ['[56.0]', 'JSON_REAL_NOT_ALLOWED'],
    ['[9007199254740992]', 'JSON_INTEGER_RANGE'],
    ['[9223372036854775808]', 'JSON_INTEGER_RANGE'],
    ['["\\u0000"]', 'JSON_MALFORMED'],
    ['["\\udc00"]', 'JSON_MALFORMED'],
    ['[01]', 'JSON_MALFORMED'],
    ['[1,]', 'JSON_MALFORMED'],
    ['{"a":1} x', 'JSON_MALFORMED'],
    ['['.repeat(33) + ']'.repeat(33), 'JSON_DEPTH'],
  ];
  for (const [text, code] of codes) assert.equal(tsAnswer(utf8(text)), 'ERR ' + code, text);
  assert.equal(tsAnswer(new Uint8Array([0x22, 0xff, 0x22])), 'ERR JSON_MALFORMED');
  assert.equal(tsAnswer(new Uint8Array([0xef, 0xbb, 0xbf, 0x31])), 'ERR JSON_MALFORMED', 'a BOM is not whitespace');
  /* values built in memory */
  assert.throws(() => jcs({ a: 0.5 }), /JSON_REAL_NOT_ALLOWED/);
  assert.throws(() => jcs({ a: '\ud800' }), /JSON_MALFORMED/);
  assert.throws(() => jcs({ a: undefined }), /INVALID_ARGUMENT/);
  assert.throws(() => jcs([new JsonNumber('1e2', 'real')]), /JSON_REAL_NOT_ALLOWED/);
  const proto = parseJson('{"__proto__":{"x":1}}') as Record<string, unknown>;
  assert.equal(jcs(proto), '{"__proto__":{"x":1}}');
});

/* ---- random documents ------------------------------------------------------ */

function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const CHARS = ['a', 'b', 'Z', '0', ' ', 'é', 'ö', '€', '中', '😂', '\u2028', '\u007f', 'דּ', '\ue000', '\ufffd', '~', '/', '"', '\\', '\n', '\t', '\u0001', '\u001f'];
const NUMBERS = ['0', '-0', '1', '-1', '42', '9007199254740991', '-9007199254740991', '9007199254740992', '-9007199254740992', '9223372036854775807', '-9223372036854775808', '9223372036854775808', '1.5', '56.0', '1e2', '1E-7', '-0.0', '123456789012'];

function genString(r: () => number): string {
  const n = Math.floor(r() * 6);
  let s = '"';
  for (let i = 0; i < n; i++) {
    const c = CHARS[Math.floor(r() * CHARS.length)]!;
    const how = r();
    if (c === '"' || c === '\\') s += '\\' + c;
    else if (c === '\n') s += how < 0.5 ? '\\n' : '\\u000a';
    else if (c === '\t') s += '\\t';
    else if (c < ' ') s += '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0');
    else if (c === '/' && how < 0.5) s += '\\/';
    else if (how < 0.3) for (let j = 0; j < c.length; j++) s += '\\u' + c.charCodeAt(j).toString(16).padStart(4, '0');
    else s += c;
  }
  return s + '"';
}

function genValue(r: () => number, depth: number): string {
  const k = r();
  const ws = () => (r() < 0.2 ? ' \n\t'.charAt(Math.floor(r() * 3)) : '');
  if (depth < 5 && k < 0.25) {
    const n = Math.floor(r() * 5);
    const keys: string[] = [];
    for (let i = 0; i < n; i++) keys.push(r() < 0.05 && keys.length ? keys[0]! : genString(r));
    return '{' + ws() + keys.map((key) => key + ws() + ':' + ws() + genValue(r, depth + 1)).join(',' + ws()) + ws() + '}';
  }
  if (depth < 5 && k < 0.45) {
    const n = Math.floor(r() * 5);
    const items: string[] = [];
    for (let i = 0; i < n; i++) items.push(genValue(r, depth + 1));
    return '[' + ws() + items.join(ws() + ',' + ws()) + ws() + ']';
  }
  if (k < 0.7) return genString(r);
  if (k < 0.9) return r() < 0.85 ? String(Math.floor((r() - 0.5) * 2 ** (r() * 54))) : NUMBERS[Math.floor(r() * NUMBERS.length)]!;
  return ['true', 'false', 'null'][Math.floor(r() * 3)]!;
}

/* A few deliberate corruptions, so that refusals are compared too. */
function corrupt(r: () => number, s: string): string {
  const k = r();
  if (k < 0.9) return s;
  let i = Math.floor(r() * (s.length + 1));
  if (i > 0 && /[\ud800-\udbff]/.test(s[i - 1]!)) i--; /* never split a surrogate pair */
  const bad = ['\\u0000', '\\ud800', '\\udc00', ',', '}', '"', '\\x', '01', '\u0002', '[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[['][Math.floor(r() * 10)]!;
  return s.slice(0, i) + bad + s.slice(i);
}

test('random documents: TypeScript and libparley agree byte for byte', () => {
  const seed = Number(process.env['JCS_SEED'] ?? Date.now() % 1000000);
  const r = prng(seed);
  const inputs: Uint8Array[] = [];
  for (let i = 0; i < 3000; i++) inputs.push(utf8(corrupt(r, '{"v":' + genValue(r, 0) + '}')));
  /* raw bytes that are not UTF-8 */
  inputs.push(new Uint8Array([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xc3, 0x28, 0x22, 0x7d]));
  const c = cAnswers(inputs);
  let ok = 0;
  const codes = new Map<string, number>();
  inputs.forEach((input, i) => {
    const ts = tsAnswer(input);
    if (ts !== c[i]) assert.fail(`seed ${seed}, document ${i}: ${new TextDecoder().decode(input)}\n  TypeScript: ${ts}\n  libparley:  ${c[i]}`);
    if (ts.startsWith('OK')) ok++;
    else codes.set(ts, (codes.get(ts) ?? 0) + 1);
  });
  /* the run must have exercised both sides */
  assert.ok(ok > 1000, `only ${ok} canonicalized`);
  assert.ok(codes.size >= 4, `refusals seen: ${[...codes.keys()].join(', ')}`);
  console.log(`seed ${seed}: ${ok} identical canonical forms; refusals ${JSON.stringify(Object.fromEntries(codes))}`);
});
