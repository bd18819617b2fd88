/* The transparency log as a client checks it (docs/tlog.md): RFC 9162 leaf and node
 * hashes, inclusion and consistency proofs, C2SP signed notes, checkpoints,
 * cosignatures, Parley's directory statements and tlog-proof documents. The same rules
 * and refusals as src/lib/tlog/ and src/lib/proto/directory_witness.c. */
import { b64Decode, b64Encode, concatBytes, fromUtf8, utf8 } from './encoding';
import type { Sodium } from './sodium';

export class TlogError extends Error {
  constructor(
    readonly code: 'TLOG_RANGE' | 'TLOG_PROOF' | 'TLOG_NOTE' | 'TLOG_CHECKPOINT' | 'CRYPTO_BAD_KEY' | 'CRYPTO_BAD_SIGNATURE' | 'TOO_LARGE',
    detail: string,
  ) {
    super(`${code}: ${detail}`);
    this.name = 'TlogError';
  }
}
const tfail = (code: TlogError['code'], detail: string): never => {
  throw new TlogError(code, detail);
};

export const MAX_PROOF = 65;
export const NOTE_MAX_LEN = 1 << 20;
export const NOTE_MAX_SIGS = 100;
const TYPE_ED25519 = 0x01;
const TYPE_COSIG = 0x04;
const TYPE_DIR_WITNESS = 0xff;
export const DIR_WITNESS_ID = 'parley-directory/v1';
const DIR_EXT_PREFIX = 'parley-directory/v1 ';
const DIR_MAX_STATES = 4096;
const SIG_PREFIX = '\u2014 ';

export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= a[i]! ^ b[i]!;
  return d === 0;
}

export function leafHash(na: Sodium, entry: Uint8Array): Uint8Array {
  return na.crypto_hash_sha256(concatBytes(new Uint8Array([0]), entry));
}

export function nodeHash(na: Sodium, l: Uint8Array, r: Uint8Array): Uint8Array {
  return na.crypto_hash_sha256(concatBytes(new Uint8Array([1]), l, r));
}

/* The leaf hash of a log entry "KIND\n" || SHA-256(canonical bytes) (protocol §7). */
export function entryLeafHash(na: Sodium, kind: string, canonical: Uint8Array): Uint8Array {
  return leafHash(na, concatBytes(utf8(kind + '\n'), na.crypto_hash_sha256(canonical)));
}

const half = (x: number) => Math.floor(x / 2);
const odd = (x: number) => x % 2 === 1;

/* RFC 9162 §2.1.3.2. Indices are below 2^53. */
export function verifyInclusion(na: Sodium, index: number, size: number, leaf: Uint8Array, proof: Uint8Array[], root: Uint8Array): void {
  if (!Number.isSafeInteger(index) || !Number.isSafeInteger(size) || index < 0 || index >= size) tfail('TLOG_RANGE', `index ${index} of ${size}`);
  if (leaf.length !== 32 || root.length !== 32 || proof.length > MAX_PROOF || proof.some((p) => p.length !== 32)) tfail('TLOG_PROOF', 'malformed proof');
  let fn = index;
  let sn = size - 1;
  let r = leaf;
  for (const p of proof) {
    if (sn === 0) tfail('TLOG_PROOF', 'proof too long');
    if (odd(fn) || fn === sn) {
      r = nodeHash(na, p, r);
      while (!odd(fn) && fn !== 0) {
        fn = half(fn);
        sn = half(sn);
      }
    } else {
      r = nodeHash(na, r, p);
    }
    fn = half(fn);
    sn = half(sn);
  }
  if (sn !== 0 || !equalBytes(r, root)) tfail('TLOG_PROOF', 'the proof does not lead to the root');
}

/* RFC 9162 §2.1.4.2; a proof from the empty tree is refused (TLOG_RANGE), as libparley. */
export function verifyConsistency(na: Sodium, size1: number, size2: number, root1: Uint8Array, root2: Uint8Array, proof: Uint8Array[]): void {
  if (!Number.isSafeInteger(size1) || !Number.isSafeInteger(size2) || size1 > size2) tfail('TLOG_RANGE', `sizes ${size1} > ${size2}`);
  if (size1 === 0) tfail('TLOG_RANGE', 'no consistency proof from the empty tree');
  if (proof.length > MAX_PROOF || proof.some((p) => p.length !== 32)) tfail('TLOG_PROOF', 'malformed proof');
  if (size1 === size2) {
    if (proof.length !== 0 || !equalBytes(root1, root2)) tfail('TLOG_PROOF', 'same size, different roots or a proof');
    return;
  }
  let path = proof;
  let p2 = size1;
  while (p2 > 1 && !odd(p2)) p2 = half(p2);
  if (p2 === 1) path = [root1, ...proof]; /* size1 is a power of two: its root is a node */
  if (path.length === 0) tfail('TLOG_PROOF', 'empty proof');
  let fn = size1 - 1;
  let sn = size2 - 1;
  while (odd(fn)) {
    fn = half(fn);
    sn = half(sn);
  }
  let fr = path[0]!;
  let sr = path[0]!;
  for (const c of path.slice(1)) {
    if (sn === 0) tfail('TLOG_PROOF', 'proof too long');
    if (odd(fn) || fn === sn) {
      fr = nodeHash(na, c, fr);
      sr = nodeHash(na, c, sr);
      while (!odd(fn) && fn !== 0) {
        fn = half(fn);
        sn = half(sn);
      }
    } else {
      sr = nodeHash(na, sr, c);
    }
    fn = half(fn);
    sn = half(sn);
  }
  if (sn !== 0 || !equalBytes(fr, root1) || !equalBytes(sr, root2)) tfail('TLOG_PROOF', 'the proof does not lead to both roots');
}

/* ---- signed notes ------------------------------------------------------------------ */

function textCharsValid(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 && c !== 0x0a) return false;
  }
  return true;
}

const SPACES = /[\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]/;
function nameValid(name: string): boolean {
  const n = utf8(name).length;
  if (n === 0 || n > 255) return false;
  for (const ch of name) {
    const cp = ch.codePointAt(0)!;
    if (cp < 0x20 || cp === 0x7f || ch === '+' || SPACES.test(ch)) return false;
  }
  return true;
}

/* Standard base64 in its one canonical spelling. */
function b64Canonical(s: string): Uint8Array | null {
  if (s.length === 0 || s.length % 4 !== 0) return null;
  let out: Uint8Array;
  try {
    out = b64Decode(s);
  } catch {
    return null;
  }
  return b64Encode(out) === s ? out : null;
}

function be32(b: Uint8Array, o = 0): number {
  return ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;
}

function keyIdOf(na: Sodium, name: string, type: Uint8Array, pk: Uint8Array): number {
  return be32(na.crypto_hash_sha256(concatBytes(utf8(name + '\n'), type, pk)));
}

export interface NoteSig {
  name: string;
  keyId: number;
  payload: Uint8Array;
}
export interface Note {
  text: string; /* ends in "\n" */
  textBytes: Uint8Array;
  sigs: NoteSig[];
}

export function noteParse(msg: string): Note {
  const bytes = utf8(msg);
  if (bytes.length > NOTE_MAX_LEN) tfail('TOO_LARGE', 'a note may have at most 1 MiB');
  if (!textCharsValid(msg)) tfail('TLOG_NOTE', 'a note must be UTF-8 without control characters but newline');
  const split = msg.lastIndexOf('\n\n');
  if (split < 0) tfail('TLOG_NOTE', 'a note needs a blank line before its signatures');
  let pos = split + 2;
  if (pos >= msg.length || !msg.endsWith('\n')) tfail('TLOG_NOTE', 'a note needs signature lines ending in newline');
  const sigs: NoteSig[] = [];
  while (pos < msg.length) {
    const nl = msg.indexOf('\n', pos);
    const line = msg.slice(pos, nl);
    pos = nl + 1;
    if (!line.startsWith(SIG_PREFIX)) tfail('TLOG_NOTE', 'a signature line must start with an em dash and a space');
    const rest = line.slice(SIG_PREFIX.length);
    const sp = rest.indexOf(' ');
    if (sp < 0) tfail('TLOG_NOTE', "a signature line must be '— <name> <base64>'");
    const name = rest.slice(0, sp);
    if (!nameValid(name)) tfail('TLOG_NOTE', 'invalid key name in a signature line');
    const payload = b64Canonical(rest.slice(sp + 1));
    if (!payload || payload.length < 5 || payload.length > 5120) tfail('TLOG_NOTE', 'a signature must be canonical base64 of a key id and signature');
    if (sigs.length === NOTE_MAX_SIGS) tfail('TLOG_NOTE', 'too many signature lines');
    sigs.push({ name, keyId: be32(payload!), payload: payload! });
  }
  const text = msg.slice(0, split + 1);
  return { text, textBytes: utf8(text), sigs };
}

export interface NoteVerifier {
  name: string;
  keyId: number;
  publicKey: Uint8Array;
  type: number;
}

/* "<name>+<8 hex>+<base64(type || key)>" of the given type. */
function vkeyParse(na: Sodium, vkey: string, type: number): NoteVerifier {
  const p1 = vkey.indexOf('+');
  if (p1 < 0 || vkey.length > 512) tfail('CRYPTO_BAD_KEY', 'verifier key: expected name+id+key');
  const name = vkey.slice(0, p1);
  const hex = vkey.slice(p1 + 1, p1 + 9);
  if (vkey[p1 + 9] !== '+' || !/^[0-9a-f]{8}$/.test(hex)) tfail('CRYPTO_BAD_KEY', 'verifier key: the key id must be 8 lower-case hex');
  if (!nameValid(name)) tfail('CRYPTO_BAD_KEY', 'verifier key: invalid name');
  const raw = b64Canonical(vkey.slice(p1 + 10));
  if (!raw || raw.length !== 33) tfail('CRYPTO_BAD_KEY', 'verifier key: expected base64 of a type byte and 32 key bytes');
  if (raw![0] !== type) tfail('CRYPTO_BAD_KEY', `verifier key: signature type ${raw![0]}, expected ${type}`);
  const pk = raw!.slice(1);
  if (!na.crypto_core_ed25519_is_valid_point(pk)) tfail('CRYPTO_BAD_KEY', 'verifier key: not a usable Ed25519 key');
  const id = parseInt(hex, 16) >>> 0;
  if (keyIdOf(na, name, new Uint8Array([type]), pk) !== id) tfail('CRYPTO_BAD_KEY', 'verifier key: key id does not match');
  return { name, keyId: id, publicKey: pk, type };
}

export const noteVerifierParse = (na: Sodium, vkey: string) => vkeyParse(na, vkey, TYPE_ED25519);
export const cosigVerifierParse = (na: Sodium, vkey: string) => vkeyParse(na, vkey, TYPE_COSIG);

/* The directory-statement key of a witness: same name and key, its own key id. */
export function dirWitnessVerifierOf(na: Sodium, w: NoteVerifier): NoteVerifier {
  const type = concatBytes(new Uint8Array([TYPE_DIR_WITNESS]), utf8(DIR_WITNESS_ID + '\n'));
  return { name: w.name, publicKey: w.publicKey, keyId: keyIdOf(na, w.name, type, w.publicKey), type: TYPE_DIR_WITNESS };
}

/* Every line of (name, key id) must verify, and there must be one; returns the newest time. */
function verifyLines(n: Note, v: NoteVerifier, check: (payload: Uint8Array) => number | null): number {
  let found = 0;
  let best = 0;
  for (const s of n.sigs) {
    if (s.keyId !== v.keyId || s.name !== v.name) continue;
    const t = check(s.payload);
    if (t === null) tfail('CRYPTO_BAD_SIGNATURE', `the signature by ${v.name} does not verify`);
    if (t! > best) best = t!;
    found++;
  }
  if (!found) tfail('CRYPTO_BAD_SIGNATURE', `the note is not signed by ${v.name}`);
  return best;
}

function verifyDetached(na: Sodium, sig: Uint8Array, msg: Uint8Array, pk: Uint8Array): boolean {
  try {
    return na.crypto_sign_verify_detached(sig, msg, pk);
  } catch {
    return false;
  }
}

export function noteVerify(na: Sodium, n: Note, v: NoteVerifier): void {
  verifyLines(n, v, (p) => (p.length === 68 && verifyDetached(na, p.subarray(4), n.textBytes, v.publicKey) ? 0 : null));
}

/* A timestamped line: key id (4) || time (8, big-endian) || Ed25519 (64) over
 * header || "time T\n" || text. */
function timedCheck(na: Sodium, n: Note, v: NoteVerifier, header: string): (p: Uint8Array) => number | null {
  return (p) => {
    if (p.length !== 76) return null;
    let t = 0n;
    for (let i = 0; i < 8; i++) t = (t << 8n) | BigInt(p[4 + i]!);
    if (t > 2n ** 63n - 1n) return null;
    const msg = concatBytes(utf8(`${header}time ${t}\n`), n.textBytes);
    return verifyDetached(na, p.subarray(12), msg, v.publicKey) ? Number(t) : null;
  };
}

export function cosigVerify(na: Sodium, n: Note, v: NoteVerifier): number {
  checkpointParse(n.text);
  return verifyLines(n, v, timedCheck(na, n, v, 'cosignature/v1\n'));
}

export function dirWitnessVerify(na: Sodium, n: Note, v: NoteVerifier): number {
  const cp = checkpointParse(n.text);
  try {
    dirExtParse(cp);
  } catch {
    tfail('TLOG_CHECKPOINT', 'the checkpoint carries no (valid) directory commitment');
  }
  return verifyLines(n, v, timedCheck(na, n, v, 'parley/v1/directory-witness\n'));
}

/* ---- checkpoints ------------------------------------------------------------------- */

export interface Checkpoint {
  origin: string;
  size: number;
  root: Uint8Array;
  ext: string;
}

export function checkpointParse(text: string): Checkpoint {
  if (!textCharsValid(text)) tfail('TLOG_CHECKPOINT', 'a checkpoint must be UTF-8 without control characters but newline');
  const lines: string[] = [];
  let pos = 0;
  for (let i = 0; i < 3; i++) {
    const nl = text.indexOf('\n', pos);
    if (nl < 0) tfail('TLOG_CHECKPOINT', 'a checkpoint needs origin, size and root lines ending in newline');
    const l = text.slice(pos, nl);
    if (!l) tfail('TLOG_CHECKPOINT', 'checkpoint lines must not be empty');
    lines.push(l);
    pos = nl + 1;
  }
  const [origin, sizeS, rootS] = lines as [string, string, string];
  if (utf8(origin).length > 255) tfail('TLOG_CHECKPOINT', 'checkpoint origin is longer than 255 bytes');
  if (!/^(0|[1-9][0-9]{0,15})$/.test(sizeS) || !Number.isSafeInteger(Number(sizeS))) tfail('TLOG_CHECKPOINT', 'checkpoint size must be decimal without leading zeros');
  const root = rootS.length === 44 ? b64Canonical(rootS) : null;
  if (!root || root.length !== 32) tfail('TLOG_CHECKPOINT', 'checkpoint root must be canonical base64 of 32 bytes');
  const ext = text.slice(pos);
  if (ext && (!ext.endsWith('\n') || ext.startsWith('\n') || ext.includes('\n\n'))) tfail('TLOG_CHECKPOINT', 'checkpoint extension lines must not be empty');
  return { origin, size: Number(sizeS), root: root!, ext };
}

/* The "parley-directory/v1 <count> <root>" line: exactly one. */
export function dirExtParse(cp: Checkpoint): { count: number; root: Uint8Array } {
  let found: { count: number; root: Uint8Array } | null = null;
  for (const line of cp.ext.split('\n')) {
    if (line.length <= DIR_EXT_PREFIX.length || !line.startsWith(DIR_EXT_PREFIX)) continue;
    if (found) tfail('TLOG_CHECKPOINT', 'directory line repeated');
    const m = /^([0-9]{1,20}) ([A-Za-z0-9+/=]+)$/.exec(line.slice(DIR_EXT_PREFIX.length));
    let root: Uint8Array | null = null;
    try {
      root = m ? b64Decode(m[2]!) : null;
    } catch {
      root = null;
    }
    const count = m ? Number(m[1]) : NaN;
    if (!m || !root || root.length !== 32 || !(count <= DIR_MAX_STATES)) tfail('TLOG_CHECKPOINT', 'directory line');
    found = { count, root: root! };
  }
  if (!found) tfail('TLOG_CHECKPOINT', 'the checkpoint has no directory line');
  return found!;
}

/* c2sp.org/tlog-proof@v1: "index N", hashes, a blank line, the checkpoint note. */
export function tlogProofParse(doc: string): { index: number; proof: Uint8Array[]; note: string } {
  const head = 'c2sp.org/tlog-proof@v1\n';
  if (!doc.startsWith(head)) tfail('TLOG_PROOF', 'not a c2sp.org/tlog-proof@v1 document');
  let pos = head.length;
  let index: number | null = null;
  const proof: Uint8Array[] = [];
  while (pos < doc.length && doc[pos] !== '\n') {
    const nl = doc.indexOf('\n', pos);
    if (nl < 0) tfail('TLOG_PROOF', 'truncated proof');
    const line = doc.slice(pos, nl);
    pos = nl + 1;
    if (line.startsWith('extra ') && index === null) continue;
    if (line.startsWith('index ') && index === null) {
      if (!/^(0|[1-9][0-9]{0,15})$/.test(line.slice(6))) tfail('TLOG_PROOF', 'bad index line');
      index = Number(line.slice(6));
      continue;
    }
    const h = index !== null && proof.length < MAX_PROOF ? b64Canonical(line) : null;
    if (!h || h.length !== 32) tfail('TLOG_PROOF', 'malformed proof line');
    proof.push(h!);
  }
  if (index === null || pos >= doc.length) tfail('TLOG_PROOF', 'proof without index or checkpoint');
  return { index: index!, proof, note: doc.slice(pos + 1) };
}

export { fromUtf8 };
