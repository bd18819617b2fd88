/* Evidence packages in the page (docs/protocol.md §13), as libparley and `parley
 * evidence` make and check them (src/lib/proto/evidence.c, src/cli/cmd_evidence.c): the
 * chunk arithmetic, the chunk cipher (crypto_secretstream_xchacha20poly1305, 1 MiB
 * chunks), the RFC 9162 Merkle tree over the ciphertext chunks, manifests and custody
 * events. The wire format is libparley's; nothing here changes it. */
import { b64urlDecode, b64urlEncode, concatBytes, utf8 } from './encoding';
import { JsonObject, JsonValue, isJsonObject } from './json';
import { boxKeyId, Identity, signKeyId } from './keys';
import { Fields, ProtoError, checkSignable, onlyKnown, pfail, pocIdValid, signedJsonSign, signedJsonVerify, stateCodeValid, timeFormat, uuidValid } from './signed';
import type { Sodium } from './sodium';
import { leafHash, nodeHash } from './tlog';

export const FORMAT = 'parley-evidence-v1';
export const CUSTODY_FORMAT = 'parley-custody-v1';
export const PURPOSE_MANIFEST = 'evidence-manifest';
export const PURPOSE_CUSTODY = 'evidence-custody';
export const LOG_KIND_MANIFEST = 'evidence-manifest';
export const LOG_KIND_CUSTODY = 'custody';
export const CHUNK = 1 << 20; /* plaintext bytes per chunk */
export const OVERHEAD = 17; /* secretstream ABYTES */
export const CHUNK_CT = CHUNK + OVERHEAD;
export const HEADER_LEN = 24;
export const MAX_FILES = 1000;
export const MAX_NAME = 255;
export const MAX_NOTES = 8192;
export const MAX_RECIPIENTS = 32;
export const MAX_PLAINTEXT = 2 ** 40;
const E = 'EVIDENCE_INVALID';
const COMMIT_LABEL = 'parley/v1/key-commitment\n';

/* Chunks of a package of that plaintext size (an empty package has one empty chunk). */
export function chunkCount(plaintext: number): number {
  return plaintext === 0 ? 1 : Math.ceil(plaintext / CHUNK);
}
export function ciphertextSize(plaintext: number): number {
  return plaintext + chunkCount(plaintext) * OVERHEAD;
}
/* Ciphertext bytes of chunk i (0 past the end). */
export function chunkCtLen(plaintext: number, i: number): number {
  const n = chunkCount(plaintext);
  if (i >= n) return 0;
  if (i + 1 < n) return CHUNK_CT;
  return plaintext - i * CHUNK + OVERHEAD;
}
export function chunkLeaf(na: Sodium, ct: Uint8Array): Uint8Array {
  return leafHash(na, ct);
}

/* The RFC 9162 tree hash of leaves appended one by one, in O(log n) memory (as
 * parley_tlog_frontier): the perfect subtrees of the sizes of n's set bits. */
export class MerkleFrontier {
  private stack: { h: Uint8Array; size: number }[] = [];
  count = 0;
  constructor(private na: Sodium) {}
  append(leaf: Uint8Array): void {
    let node = { h: leaf, size: 1 };
    while (this.stack.length && this.stack[this.stack.length - 1]!.size === node.size) {
      const left = this.stack.pop()!;
      node = { h: nodeHash(this.na, left.h, node.h), size: node.size * 2 };
    }
    this.stack.push(node);
    this.count++;
  }
  root(): Uint8Array {
    if (!this.stack.length) return this.na.crypto_hash_sha256(new Uint8Array(0));
    let r = this.stack[this.stack.length - 1]!.h;
    for (let i = this.stack.length - 2; i >= 0; i--) r = nodeHash(this.na, this.stack[i]!.h, r);
    return r;
  }
}

/* ---- the chunk cipher ------------------------------------------------------------ */

export interface Stream {
  state: unknown;
}

/* The state for chunk 0 from key and header: sealing is deterministic, so a second pass
 * (or a resumed upload) gives the same ciphertext; the same state opens. */
export function streamStart(na: Sodium, key: Uint8Array, header: Uint8Array): Stream {
  return { state: na.crypto_secretstream_xchacha20poly1305_init_pull(header, key) };
}
export function streamNew(na: Sodium): { key: Uint8Array; header: Uint8Array } {
  const key = na.crypto_secretstream_xchacha20poly1305_keygen();
  const { header } = na.crypto_secretstream_xchacha20poly1305_init_push(key);
  return { key, header };
}
export function sealChunk(na: Sodium, st: Stream, pt: Uint8Array, last: boolean): Uint8Array {
  const tag = last ? na.crypto_secretstream_xchacha20poly1305_TAG_FINAL : na.crypto_secretstream_xchacha20poly1305_TAG_MESSAGE;
  return na.crypto_secretstream_xchacha20poly1305_push(st.state as never, pt, null, tag);
}
/* null if the chunk does not authenticate, or its tag is final where it should not be
 * (or the reverse): a truncated, reordered or extended stream. */
export function openChunk(na: Sodium, st: Stream, ct: Uint8Array, last: boolean): Uint8Array | null {
  if (ct.length < OVERHEAD) return null;
  let r: { message: Uint8Array; tag: number } | false;
  try {
    r = na.crypto_secretstream_xchacha20poly1305_pull(st.state as never, ct, null) as { message: Uint8Array; tag: number } | false;
  } catch {
    return null;
  }
  if (!r) return null;
  const final = r.tag === na.crypto_secretstream_xchacha20poly1305_TAG_FINAL;
  return final === last ? r.message : null;
}

export function keyCommitment(na: Sodium, key: Uint8Array, header: Uint8Array): Uint8Array {
  return na.crypto_auth_hmacsha256(concatBytes(utf8(COMMIT_LABEL), header), key);
}

/* ---- manifests ------------------------------------------------------------------- */

export interface EvParty {
  state: string;
  poc: string;
  key_id: string;
}
export interface EvFile {
  name: string;
  size: number;
  sha256: Uint8Array;
}
export interface ManifestInfo {
  id: string;
  from: EvParty;
  recipients: (EvParty & { wrapped: Uint8Array })[];
  case?: string;
  request?: string;
  created: number;
  retainUntil: number;
  notes?: string;
  files: EvFile[];
  plaintextSize: number;
  ciphertextSize: number;
  chunks: number;
  streamHeader: Uint8Array;
  keyCommitment: Uint8Array;
  merkleRoot: Uint8Array;
  hash: Uint8Array; /* SHA-256(JCS(manifest)): what the log records */
}

const MANIFEST_MEMBERS = ['format', 'id', 'from', 'recipients', 'case', 'request', 'created', 'retain_until', 'notes', 'files', 'chunk_size', 'plaintext_size', 'ciphertext_size', 'chunks', 'stream_header', 'key_commitment', 'merkle_root', 'signature'];

/* One path segment: no '/', '\', control characters, "." or "..". */
export function fileNameOk(s: string): boolean {
  if (!s || utf8(s).length > MAX_NAME || s === '.' || s === '..') return false;
  return !/[\u0000-\u001f\u007f/\\]/.test(s);
}

function keyIdOk(s: string): boolean {
  if (s.length !== 22) return false;
  try {
    b64urlDecode(s, 16);
    return true;
  } catch {
    return false;
  }
}

function parseParty(o: JsonValue | undefined, where: string, wrapped: boolean): EvParty & { wrapped?: Uint8Array } {
  if (!isJsonObject(o)) pfail(E, `${where}: must be an object`);
  const p = o as JsonObject;
  onlyKnown(p, wrapped ? ['state', 'poc', 'key_id', 'wrapped_key'] : ['state', 'poc', 'key_id'], E, where);
  const f = new Fields(p, E, where);
  const state = f.line('state', 3);
  const poc = f.line('poc', 63);
  const key_id = f.line('key_id', 22);
  const w = wrapped ? f.b64('wrapped_key', 80) : undefined;
  if (!stateCodeValid(state) || !pocIdValid(poc) || !keyIdOk(key_id)) pfail(E, `${where}: state, poc or key_id malformed`);
  return w ? { state, poc, key_id, wrapped: w } : { state, poc, key_id };
}

/* Shape and bounds, sizes that agree (as parley_evidence_manifest_parse); no signature. */
export function manifestParse(na: Sodium, mv: JsonValue | undefined): ManifestInfo {
  if (!isJsonObject(mv)) pfail(E, 'manifest: not an object');
  const m = mv as JsonObject;
  onlyKnown(m, MANIFEST_MEMBERS, E, 'manifest');
  const canonical = checkSignable(m, E, 'manifest');
  const f = new Fields(m, E, 'manifest');
  if (f.line('format', 32) !== FORMAT) pfail(E, `manifest: format must be ${FORMAT}`);
  const id = f.uuid('id')!;
  if (id[14] !== '7') pfail(E, 'id: a UUIDv7');
  const from = parseParty(f.obj('from'), 'from', false);
  const rcpts = f.arr('recipients');
  const caseId = f.uuid('case', true);
  const request = f.uuid('request', true);
  const created = f.time('created');
  const retainUntil = f.time('retain_until');
  const notes = f.strOpt('notes', MAX_NOTES, false);
  const files = f.arr('files');
  const chunkSize = f.int('chunk_size');
  const pt = f.int('plaintext_size');
  const ct = f.int('ciphertext_size');
  const chunks = f.int('chunks');
  const streamHeader = f.b64('stream_header', HEADER_LEN);
  const commitment = f.b64('key_commitment', 32);
  const root = f.b64('merkle_root', 32);
  f.line('signature', 200);
  if (retainUntil <= created) pfail(E, 'retain_until: after created');
  if (rcpts.length < 1 || rcpts.length > MAX_RECIPIENTS) pfail(E, `recipients: 1 to ${MAX_RECIPIENTS}`);
  const recipients = rcpts.map((r, i) => parseParty(r, `recipients[${i}]`, true) as EvParty & { wrapped: Uint8Array });
  recipients.forEach((r, i) => {
    const j = recipients.findIndex((q) => q.key_id === r.key_id);
    if (j < i) pfail(E, `recipients[${i}]: same key as recipients[${j}]`);
  });
  if (files.length < 1 || files.length > MAX_FILES) pfail(E, `files: 1 to ${MAX_FILES}`);
  let sum = 0;
  const list = files.map((fv, i) => {
    const where = `files[${i}]`;
    if (!isJsonObject(fv)) pfail(E, `${where}: must be an object`);
    onlyKnown(fv as JsonObject, ['name', 'size', 'sha256'], E, where);
    const ff = new Fields(fv as JsonObject, E, where);
    const name = ff.str('name', MAX_NAME, false);
    const size = ff.int('size');
    const sha256 = ff.b64('sha256', 32);
    if (!fileNameOk(name)) pfail(E, `${where}.name: one path segment, no control characters`);
    if (size < 0 || size > MAX_PLAINTEXT) pfail(E, `${where}.size: 0 to 2^40`);
    sum += size;
    if (sum > MAX_PLAINTEXT) pfail(E, 'files: more than 2^40 bytes in all');
    return { name, size, sha256 };
  });
  if (chunkSize !== CHUNK) pfail(E, `chunk_size: must be ${CHUNK}`);
  if (pt !== sum) pfail(E, `plaintext_size: the files' sizes add up to ${sum}`);
  if (ct !== ciphertextSize(sum) || chunks !== chunkCount(sum)) pfail(E, 'ciphertext_size and chunks: must follow from plaintext_size');
  const info: ManifestInfo = {
    id,
    from,
    recipients,
    created,
    retainUntil,
    files: list,
    plaintextSize: sum,
    ciphertextSize: ct,
    chunks,
    streamHeader,
    keyCommitment: commitment,
    merkleRoot: root,
    hash: na.crypto_hash_sha256(canonical),
  };
  if (caseId !== undefined) info.case = caseId;
  if (request !== undefined) info.request = request;
  if (notes !== undefined) info.notes = notes;
  return info;
}

/* As parley_evidence_manifest_verify: the shape, from.key_id is senderPk's, and the
 * signature verifies (EVIDENCE_SIGNATURE). */
export function manifestVerify(na: Sodium, m: JsonValue | undefined, senderPk: Uint8Array): ManifestInfo {
  const info = manifestParse(na, m);
  if (signKeyId(na, senderPk) !== info.from.key_id) pfail('EVIDENCE_SIGNATURE', "from.key_id is not the sender's key");
  if (!signedJsonVerify(na, m as JsonObject, PURPOSE_MANIFEST, senderPk)) pfail('EVIDENCE_SIGNATURE', `manifest ${info.id}`);
  return info;
}

/* The content key, unwrapped and checked against the commitment (as
 * parley_evidence_unwrap): EVIDENCE_NOT_RECIPIENT, CRYPTO_DECRYPT, CRYPTO_COMMITMENT. */
export function unwrapKey(na: Sodium, info: ManifestInfo, me: Identity): Uint8Array {
  const mine = boxKeyId(na, me.boxPk);
  const r = info.recipients.find((x) => x.key_id === mine);
  if (!r) return pfail('EVIDENCE_NOT_RECIPIENT', `no wrapped key for ${mine}`);
  let key: Uint8Array;
  try {
    key = na.crypto_box_seal_open(r.wrapped, me.boxPk, me.boxSk);
  } catch {
    return pfail('CRYPTO_DECRYPT', 'the wrapped key does not open');
  }
  if (!na.memcmp(keyCommitment(na, key, info.streamHeader), info.keyCommitment)) {
    na.memzero(key);
    return pfail('CRYPTO_COMMITMENT', 'manifest key_commitment');
  }
  return key;
}

export function uuid7(na: Sodium): string {
  const b = na.randombytes_buf(16);
  let ms = Date.now();
  for (let i = 5; i >= 0; i--) {
    b[i] = ms % 256;
    ms = Math.floor(ms / 256);
  }
  b[6] = (b[6]! & 0x0f) | 0x70;
  b[8] = (b[8]! & 0x3f) | 0x80;
  const h = Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

export interface ManifestParams {
  id: string;
  fromState: string;
  fromPoc: string;
  recipients: { state: string; poc: string; boxPk: Uint8Array }[];
  case?: string;
  request?: string;
  notes?: string;
  created: number;
  retainUntil: number;
  files: EvFile[];
  streamHeader: Uint8Array;
  merkleRoot: Uint8Array;
  key: Uint8Array;
}

/* As parley_evidence_manifest_new: builds, signs, and checks what it signed. */
export function manifestNew(na: Sodium, p: ManifestParams, sender: Identity): JsonObject {
  if (!p.recipients.length || p.recipients.length > MAX_RECIPIENTS || !p.files.length || p.files.length > MAX_FILES) pfail('INVALID_ARGUMENT', `1 to ${MAX_RECIPIENTS} recipients and 1 to ${MAX_FILES} files`);
  const total = p.files.reduce((a, f) => a + f.size, 0);
  const m: Record<string, unknown> = {
    format: FORMAT,
    id: p.id,
    from: { state: p.fromState, poc: p.fromPoc, key_id: signKeyId(na, sender.signPk) },
    recipients: p.recipients.map((r) => ({ state: r.state, poc: r.poc, key_id: boxKeyId(na, r.boxPk), wrapped_key: b64urlEncode(na.crypto_box_seal(p.key, r.boxPk)) })),
    created: timeFormat(p.created),
    retain_until: timeFormat(p.retainUntil),
    files: p.files.map((f) => ({ name: f.name, size: f.size, sha256: b64urlEncode(f.sha256) })),
    chunk_size: CHUNK,
    plaintext_size: total,
    ciphertext_size: ciphertextSize(total),
    chunks: chunkCount(total),
    stream_header: b64urlEncode(p.streamHeader),
    key_commitment: b64urlEncode(keyCommitment(na, p.key, p.streamHeader)),
    merkle_root: b64urlEncode(p.merkleRoot),
  };
  if (p.case) m['case'] = p.case;
  if (p.request) m['request'] = p.request;
  if (p.notes) m['notes'] = p.notes;
  const signed = signedJsonSign(na, m, PURPOSE_MANIFEST, sender.signSk) as unknown as JsonObject;
  manifestVerify(na, signed, sender.signPk);
  return signed;
}

/* ---- custody events -------------------------------------------------------------- */

export function custodyNew(na: Sodium, evidenceId: string, manifestSha256: Uint8Array, event: string, state: string, poc: string, signer: Identity, time: number, detail?: string): JsonObject {
  const o: Record<string, unknown> = {
    format: CUSTODY_FORMAT,
    evidence: evidenceId,
    manifest_sha256: b64urlEncode(manifestSha256),
    event,
    actor: { state, poc, key_id: signKeyId(na, signer.signPk) },
    time: timeFormat(time),
  };
  if (detail !== undefined) o['detail'] = detail;
  return signedJsonSign(na, o, PURPOSE_CUSTODY, signer.signSk) as unknown as JsonObject;
}

/* As parley_custody_verify: the shape, the actor's key id is pk's, the signature. */
export function custodyVerify(na: Sodium, ev: JsonValue | undefined, pk: Uint8Array): { event: string; evidence: string; manifestSha256: Uint8Array; time: string; shared?: { to: { state: string; poc: string }; consent: JsonObject } } {
  if (!isJsonObject(ev)) return pfail(E, 'custody: not an object');
  const isShared = ev['event'] === 'shared';
  /* a "shared" event also names the new POC and carries the sender's consent (§13.4) */
  onlyKnown(ev, ['format', 'evidence', 'manifest_sha256', 'event', 'actor', 'time', 'detail', 'signature', ...(isShared ? ['recipient', 'consent'] : [])], E, 'custody');
  const f = new Fields(ev, E, 'custody');
  if (f.line('format', 32) !== CUSTODY_FORMAT) pfail(E, `custody: format must be ${CUSTODY_FORMAT}`);
  const evidence = f.uuid('evidence')!;
  const manifestSha256 = f.b64('manifest_sha256', 32);
  const event = f.line('event', 32);
  const actor = f.obj('actor');
  f.time('time');
  const time = ev['time'] as string;
  f.strOpt('detail', 1024, false);
  f.line('signature', 200);
  const kid = typeof actor['key_id'] === 'string' ? actor['key_id'] : typeof actor['hub'] === 'string' ? actor['hub'] : undefined;
  if (kid === undefined || kid !== signKeyId(na, pk)) pfail('EVIDENCE_SIGNATURE', "actor key id is not the given key's");
  let shared: { to: { state: string; poc: string }; consent: JsonObject } | undefined;
  if (isShared) {
    const r = f.obj('recipient');
    const to = { state: r['state'], poc: r['poc'] };
    if (typeof to.state !== 'string' || typeof to.poc !== 'string' || !stateCodeValid(to.state) || !pocIdValid(to.poc)) pfail(E, 'custody: recipient must name a state and a POC');
    shared = { to: to as { state: string; poc: string }, consent: f.obj('consent') };
  }
  if (!signedJsonVerify(na, ev, PURPOSE_CUSTODY, pk)) pfail('EVIDENCE_SIGNATURE', `custody event ${event}`);
  return { event, evidence, manifestSha256, time, ...(shared ? { shared } : {}) };
}

export const CONSENT_FORMAT = 'parley-consent-v1';
export const PURPOSE_CONSENT = 'evidence-consent';

/* As parley_consent_verify: EVIDENCE_CONSENT unless c names this package and manifest, the
 * POC `to`, is by the sender `by` with pk's key id, and pk signed it. */
export function consentVerify(na: Sodium, c: JsonValue | undefined, evidenceId: string, manifestSha256: Uint8Array, to: { state: string; poc: string }, by: { state: string; poc: string }, pk: Uint8Array): void {
  const C = 'EVIDENCE_CONSENT';
  if (!isJsonObject(c)) return pfail(C, 'no consent');
  onlyKnown(c, ['format', 'evidence', 'manifest_sha256', 'to', 'by', 'time', 'signature'], C, 'consent');
  const f = new Fields(c, C, 'consent');
  if (f.line('format', 32) !== CONSENT_FORMAT) pfail(C, `consent: format must be ${CONSENT_FORMAT}`);
  const id = f.uuid('evidence')!;
  const h = f.b64('manifest_sha256', 32);
  const t = f.obj('to');
  const b = f.obj('by');
  f.time('time');
  f.line('signature', 200);
  onlyKnown(t, ['state', 'poc'], C, 'consent.to');
  onlyKnown(b, ['state', 'poc', 'key_id'], C, 'consent.by');
  if (id !== evidenceId || !na.memcmp(h, manifestSha256)) pfail(C, 'the consent is for another package or manifest');
  if (t['state'] !== to.state || t['poc'] !== to.poc) pfail(C, `the consent names another POC than ${to.state}/${to.poc}`);
  if (b['state'] !== by.state || b['poc'] !== by.poc || b['key_id'] !== signKeyId(na, pk)) pfail(C, `the consent is not by the package's sender ${by.state}/${by.poc}`);
  if (!signedJsonVerify(na, c, PURPOSE_CONSENT, pk)) pfail(C, `the consent's signature does not verify with ${by.state}/${by.poc}'s key`);
}

export { ProtoError, uuidValid };
