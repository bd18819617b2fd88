/* Envelopes, bodies and receipts (docs/protocol.md §8) as libparley makes and checks
 * them (src/lib/proto/envelope.c, ack.c, src/lib/crypto/seal.c): exact shape, a known
 * kind, the sender's outer signature, the ciphertext's length and hash; opening
 * (wrapped key, key commitment, associated data, the body's shape and binding to the
 * header, the inner signature, the template); sealing; signed receipts. The optional
 * header member "legal_basis" {"instrument", "article"} is accepted and, like "case",
 * part of the signature and of the associated data. */
import { b64urlDecode, b64urlEncode, concatBytes, fromUtf8, utf8 } from './encoding';
import { JsonObject, JsonValue, isJsonObject, jcs, jcsBytes, parseJsonObject } from './json';
import { boxKeyId, Identity, signKeyId } from './keys';
import { Fields, ProtoError, checkSignable, langValid, onlyKnown, pfail, pocIdValid, signedJsonSign, signedJsonVerify, stateCodeValid, timeFormat, uuid7Valid, uuidValid, sha256 } from './signed';
import { basisAllowed, template, validateContent } from './templates';
import type { Sodium } from './sodium';

export const PRIORITIES = ['routine', 'urgent', 'critical'] as const;
export const TLP_LABELS = ['TLP:RED', 'TLP:AMBER+STRICT', 'TLP:AMBER', 'TLP:GREEN', 'TLP:CLEAR'] as const;
export const MAX_RECIPIENTS = 32;
export const MAX_CIPHERTEXT = 1024 * 1024;
const MIN_CIPHERTEXT = 17;
const KIND_MAX = 32;
const E = 'ENVELOPE_INVALID';
/* PARLEY_ENVELOPE_JSON_LIMITS: the ciphertext as base64url is one long string. */
export const ENVELOPE_JSON_LIMITS = { maxBytes: 1536 * 1024, maxDepth: 8, maxString: 1536 * 1024, maxItems: 100000 };

export interface Party {
  state: string;
  poc: string;
  key_id: string;
}
export interface LegalBasis {
  instrument: string;
  article: string;
}
export interface EnvelopeInfo {
  id: string;
  kind: string;
  priority: string;
  tlp: string;
  from: Party;
  recipients: Party[];
  case?: string;
  in_reply_to?: string;
  legal_basis?: LegalBasis;
  created: string;
  hash: Uint8Array; /* SHA-256 of JCS of the whole envelope */
}

const AD_EXCLUDED = ['ciphertext', 'ciphertext_sha256', 'key_commitment', 'signature', 'nonce'];

function parseParty(o: unknown, where: string, wrapped: boolean): Party & { wrapped?: Uint8Array } {
  if (!isJsonObject(o as JsonValue)) pfail(E, `${where}: must be an object`);
  const p = o as JsonObject;
  onlyKnown(p, wrapped ? ['state', 'poc', 'key_id', 'wrapped_key'] : ['state', 'poc', 'key_id'], E, where);
  const f = new Fields(p, E, where);
  const state = f.line('state', 3);
  const poc = f.line('poc', 63);
  const key_id = f.line('key_id', 22);
  const w = wrapped ? f.b64('wrapped_key', 80) : undefined;
  if (!stateCodeValid(state)) pfail(E, `${where}.state: ISO 3166-1 alpha-3`);
  if (!pocIdValid(poc)) pfail(E, `${where}.poc: [a-z0-9-]{1,63}`);
  let kidOk = key_id.length === 22;
  try {
    b64urlDecode(key_id, 16);
  } catch {
    kidOk = false;
  }
  if (!kidOk) pfail(E, `${where}.key_id: a key id (22 characters)`);
  return w ? { state, poc, key_id, wrapped: w } : { state, poc, key_id };
}

/* The legal basis of a header (as check_basis in libparley): its shape, then whether
 * the kind's template lists it (LEGAL_BASIS). */
function parseLegalBasis(v: JsonObject, kind: string): LegalBasis {
  onlyKnown(v, ['instrument', 'article'], E, 'legal_basis');
  let instrument: string, article: string;
  try {
    const f = new Fields(v, 'LEGAL_BASIS', 'legal_basis');
    instrument = f.line('instrument', 64);
    article = f.line('article', 32);
  } catch {
    return pfail('LEGAL_BASIS', 'legal_basis: {"instrument": [a-z0-9-]{1,64}, "article": 1 to 32 characters}');
  }
  if (!/^[a-z0-9-]{1,64}$/.test(instrument)) pfail('LEGAL_BASIS', 'legal_basis.instrument: [a-z0-9-]{1,64}');
  if (!/^[A-Za-z0-9()./-]{1,32}$/.test(article)) pfail('LEGAL_BASIS', 'legal_basis.article: 1 to 32 characters of [A-Za-z0-9()./-]');
  if (!basisAllowed(kind, instrument, article)) pfail('LEGAL_BASIS', `legal_basis: a ${kind} is not sent under ${instrument} Art. ${article} (see the template's bases)`);
  return { instrument, article };
}

/* SHA-256(JCS(header without AD_EXCLUDED and recipients[].wrapped_key)). */
function headerAd(na: Sodium, env: Record<string, unknown>): Uint8Array {
  const h: Record<string, unknown> = {};
  for (const k of Object.keys(env)) if (!AD_EXCLUDED.includes(k)) h[k] = env[k];
  h['recipients'] = (env['recipients'] as Record<string, unknown>[]).map((r) => {
    const c: Record<string, unknown> = {};
    for (const k of Object.keys(r)) if (k !== 'wrapped_key') c[k] = r[k];
    return c;
  });
  return sha256(na, jcsBytes(h));
}

export function envelopeHash(na: Sodium, env: unknown): Uint8Array {
  return sha256(na, jcsBytes(env));
}

function headerFields(kind: string): string[] {
  return (template(kind)?.fields ?? []).filter((x) => x['header'] === true).map((x) => x.name);
}

interface Verified {
  info: EnvelopeInfo;
  nonce: Uint8Array;
  commitment: Uint8Array;
  wrapped: Uint8Array[];
  ct: Uint8Array;
}

function verifyInternal(na: Sodium, envV: unknown, senderPk: Uint8Array): Verified {
  if (!isJsonObject(envV as JsonValue)) pfail(E, 'an envelope is a JSON object');
  const env = envV as JsonObject;
  checkSignable(env, E, 'envelope');
  /* the kind's template header fields ("status", "respond_by": protocol §8.1) are header members too */
  const hdrFields = headerFields(typeof env['kind'] === 'string' ? env['kind'] : '');
  onlyKnown(env, ['format', 'id', 'kind', 'priority', 'from', 'recipients', 'case', 'in_reply_to', 'legal_basis', 'created', 'tlp', 'nonce', 'ciphertext', 'ciphertext_sha256', 'key_commitment', 'signature', ...hdrFields], E, 'envelope');
  const f = new Fields(env, E, 'envelope');
  const format = f.line('format', 32);
  const id = f.uuid('id')!;
  const kind = f.line('kind', KIND_MAX);
  const priority = f.oneOf('priority', PRIORITIES);
  const from = f.obj('from');
  const rcpts = f.arr('recipients');
  const caseId = f.uuid('case', true);
  const reply = f.uuid('in_reply_to', true);
  const lb = f.objOpt('legal_basis');
  const created = f.time('created');
  const tlp = f.oneOf('tlp', TLP_LABELS);
  const nonce = f.b64('nonce', 24);
  const ctB64 = f.line('ciphertext', Math.ceil((MAX_CIPHERTEXT * 4) / 3));
  const ctSha = f.b64('ciphertext_sha256', 32);
  const commitment = f.b64('key_commitment', 32);
  f.line('signature', 86);
  if (format !== 'parley-envelope-v1') pfail(E, 'format: must be parley-envelope-v1');
  if (!uuid7Valid(id)) pfail(E, 'id: must be a UUIDv7');
  if (!template(kind)) pfail('TEMPLATE_UNKNOWN', `kind: unknown message kind '${kind}'`);
  const legal = lb ? parseLegalBasis(lb, kind) : undefined;
  const fromP = parseParty(from, 'from', false);
  if (rcpts.length === 0 || rcpts.length > MAX_RECIPIENTS) pfail(E, `recipients: 1 to ${MAX_RECIPIENTS}`);
  const parties: Party[] = [];
  const wrapped: Uint8Array[] = [];
  rcpts.forEach((r, i) => {
    const p = parseParty(r, `recipients[${i}]`, true);
    parties.forEach((q, j) => {
      if (q.key_id === p.key_id) pfail(E, `recipients[${i}].key_id: same key as recipients[${j}]`);
    });
    wrapped.push(p.wrapped!);
    parties.push({ state: p.state, poc: p.poc, key_id: p.key_id });
  });
  /* The signature before anything is used. */
  if (signKeyId(na, senderPk) !== fromP.key_id) pfail('ENVELOPE_SIGNATURE', `from.key_id: ${fromP.key_id} is not the key id of the given sender key`);
  const signedPart: JsonObject = Object.create(null);
  for (const k of Object.keys(env)) if (k !== 'ciphertext') signedPart[k] = env[k]!;
  if (!signedJsonVerify(na, signedPart, 'envelope', senderPk)) pfail('ENVELOPE_SIGNATURE', `signature: not a valid envelope signature of ${fromP.state}/${fromP.poc}`);
  let ct: Uint8Array;
  try {
    ct = b64urlDecode(ctB64);
  } catch {
    return pfail(E, 'ciphertext: must be base64url');
  }
  if (ct.length < MIN_CIPHERTEXT || ct.length > MAX_CIPHERTEXT) pfail(E, `ciphertext: ${MIN_CIPHERTEXT} to ${MAX_CIPHERTEXT} bytes`);
  if (!na.memcmp(sha256(na, ct), ctSha)) pfail('ENVELOPE_CIPHERTEXT', 'ciphertext_sha256: does not match the ciphertext');
  const info: EnvelopeInfo = { id, kind, priority, tlp, from: { state: fromP.state, poc: fromP.poc, key_id: fromP.key_id }, recipients: parties, created: timeFormat(created), hash: envelopeHash(na, env) };
  info.created = env['created'] as string;
  if (caseId) info.case = caseId;
  if (reply) info.in_reply_to = reply;
  if (legal) info.legal_basis = legal;
  return { info, nonce, commitment, wrapped, ct };
}

/* §8.1: throws ProtoError (ENVELOPE_INVALID naming the field, TEMPLATE_UNKNOWN,
 * ENVELOPE_SIGNATURE, ENVELOPE_CIPHERTEXT). */
export function envelopeVerify(na: Sodium, env: unknown, senderPk: Uint8Array): EnvelopeInfo {
  return verifyInternal(na, env, senderPk).info;
}

export interface OpenedBody {
  language: string;
  content: Record<string, unknown>;
  body: JsonObject;
}

function checkBody(body: JsonObject, env: JsonObject, info: EnvelopeInfo): void {
  checkSignable(body, E, 'body');
  onlyKnown(body, ['format', 'id', 'kind', 'from', 'recipients', 'language', 'content', 'signature'], E, 'body');
  const f = new Fields(body, E, 'body');
  const format = f.line('format', 32);
  const id = f.uuid('id')!;
  const kind = f.line('kind', KIND_MAX);
  const from = f.obj('from');
  const rcpts = f.arr('recipients');
  const lang = f.line('language', 2);
  f.obj('content');
  f.line('signature', 86);
  if (format !== 'parley-body-v1') pfail(E, 'body.format: must be parley-body-v1');
  if (!langValid(lang)) pfail(E, 'body.language: ISO 639-1, lower case');
  parseParty(from, 'body.from', false);
  if (rcpts.length === 0 || rcpts.length > MAX_RECIPIENTS) pfail(E, `body.recipients: 1 to ${MAX_RECIPIENTS}`);
  const parties = rcpts.map((r) => parseParty(r, 'body.recipients[]', false));
  const F = 'ENVELOPE_FORWARDED';
  if (id !== info.id) pfail(F, `body.id: written for message ${id}`);
  /* the header's copies of template fields say what the signed body says (as libparley) */
  const content = body['content'] as JsonObject;
  for (const name of headerFields(info.kind)) {
    const hv = env[name];
    const bv = content[name];
    if (hv !== undefined ? bv === undefined || jcs(hv) !== jcs(bv) : bv !== undefined) pfail(E, `body.content.${name}: differs from the signed header's ${name}`);
  }
  if (kind !== info.kind) pfail(F, `body.kind: written as a ${kind}`);
  if (jcs(from) !== jcs(env['from'])) pfail(F, 'body.from: written by another sender');
  if (parties.length !== info.recipients.length) pfail(F, 'body.recipients: written for other recipients');
  parties.forEach((p, i) => {
    const h = info.recipients[i]!;
    if (p.state !== h.state || p.poc !== h.poc || p.key_id !== h.key_id) pfail(F, `body.recipients[${i}]: written for other recipients`);
  });
}

/* §8.3, all eight steps, as recipient `me`. */
export function envelopeOpen(na: Sodium, env: unknown, me: Identity, senderPk: Uint8Array): { info: EnvelopeInfo; body: OpenedBody } {
  const v = verifyInternal(na, env, senderPk);
  const mine = boxKeyId(na, me.boxPk);
  const idx = v.info.recipients.findIndex((r) => r.key_id === mine);
  if (idx < 0) pfail('ENVELOPE_NOT_RECIPIENT', `recipients: no entry for encryption key ${mine}`);
  let key: Uint8Array;
  try {
    key = na.crypto_box_seal_open(v.wrapped[idx]!, me.boxPk, me.boxSk);
  } catch {
    return pfail('CRYPTO_DECRYPT', `recipients[${idx}].wrapped_key: not made for this key, or altered`);
  }
  let pt: Uint8Array;
  try {
    const commit = na.crypto_auth_hmacsha256(concatBytes(utf8('parley/v1/key-commitment\n'), v.nonce), key);
    if (!na.memcmp(commit, v.commitment)) pfail('CRYPTO_COMMITMENT', 'key_commitment: does not match the content key');
    const ad = headerAd(na, env as Record<string, unknown>);
    try {
      pt = na.crypto_aead_xchacha20poly1305_ietf_decrypt(null, v.ct, ad, v.nonce, key);
    } catch {
      return pfail('ENVELOPE_CIPHERTEXT', 'ciphertext: does not decrypt with this header and key');
    }
  } finally {
    na.memzero(key);
  }
  let body: JsonObject;
  try {
    body = parseJsonObject(pt, { maxBytes: MAX_CIPHERTEXT - 16, maxDepth: 8, maxString: 64 * 1024, maxItems: 100000 });
  } catch (e) {
    return pfail(E, `body: ${e instanceof Error ? e.message : String(e)}`);
  } finally {
    na.memzero(pt);
  }
  checkBody(body, env as JsonObject, v.info);
  if (!signedJsonVerify(na, body, 'inner', senderPk)) pfail('ENVELOPE_INNER_SIGNATURE', "body.signature: not the sender's inner signature");
  const content = body['content'] as JsonObject;
  const problems = validateContent(v.info.kind, content as Record<string, unknown>);
  if (problems.length) pfail('TEMPLATE_FIELD', `content.${problems[0]!.field}: ${problems[0]!.problem}`);
  return { info: v.info, body: { language: body['language'] as string, content: content as Record<string, unknown>, body } };
}

export interface SealParams {
  kind: string;
  priority: (typeof PRIORITIES)[number];
  tlp: (typeof TLP_LABELS)[number];
  fromState: string;
  fromPoc: string;
  language: string;
  recipients: { state: string; poc: string; boxPk: Uint8Array }[];
  case?: string;
  in_reply_to?: string;
  legal_basis?: LegalBasis;
  created?: number;
}

function uuid7(na: Sodium): string {
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

/* As parley_envelope_seal: validates the content first, then seals. */
export function envelopeSeal(na: Sodium, p: SealParams, content: Record<string, unknown>, sender: Identity): Record<string, unknown> {
  const problems = validateContent(p.kind, content);
  if (problems.length) pfail(problems[0]!.field === 'kind' ? 'TEMPLATE_UNKNOWN' : 'TEMPLATE_FIELD', `content.${problems[0]!.field}: ${problems[0]!.problem}`);
  if (!stateCodeValid(p.fromState)) pfail(E, 'from_state: ISO 3166-1 alpha-3');
  if (!pocIdValid(p.fromPoc)) pfail(E, 'from_poc: [a-z0-9-]{1,63}');
  if (!langValid(p.language)) pfail(E, 'language: ISO 639-1, lower case');
  if (!PRIORITIES.includes(p.priority)) pfail(E, 'priority: out of range');
  if (!TLP_LABELS.includes(p.tlp)) pfail(E, 'tlp: out of range');
  if (p.case !== undefined && !uuidValid(p.case)) pfail(E, 'case: a UUID in lower case');
  if (p.in_reply_to !== undefined && !uuidValid(p.in_reply_to)) pfail(E, 'in_reply_to: a UUID in lower case');
  if (p.legal_basis) parseLegalBasis(p.legal_basis as unknown as JsonObject, p.kind);
  if (p.recipients.length === 0 || p.recipients.length > MAX_RECIPIENTS) pfail(E, `recipients: 1 to ${MAX_RECIPIENTS}`);
  p.recipients.forEach((r, i) => {
    if (!stateCodeValid(r.state)) pfail(E, `recipients[${i}].state: alpha-3`);
    if (!pocIdValid(r.poc)) pfail(E, `recipients[${i}].poc: [a-z0-9-]{1,63}`);
    p.recipients.slice(0, i).forEach((q, j) => {
      if (na.memcmp(q.boxPk, r.boxPk)) pfail(E, `recipients[${i}]: same key as recipients[${j}]`);
    });
  });
  const id = uuid7(na);
  const from = { state: p.fromState, poc: p.fromPoc, key_id: signKeyId(na, sender.signPk) };
  const rlist = p.recipients.map((r) => ({ state: r.state, poc: r.poc, key_id: boxKeyId(na, r.boxPk) }));
  const body = signedJsonSign(na, { format: 'parley-body-v1', id, kind: p.kind, from: { ...from }, recipients: rlist.map((r) => ({ ...r })), language: p.language, content: JSON.parse(JSON.stringify(content)) }, 'inner', sender.signSk);
  const hdr: Record<string, unknown> = { format: 'parley-envelope-v1', id, kind: p.kind, priority: p.priority, from, recipients: rlist, created: timeFormat(p.created ?? Math.floor(Date.now() / 1000)), tlp: p.tlp };
  if (p.case) hdr['case'] = p.case;
  if (p.in_reply_to) hdr['in_reply_to'] = p.in_reply_to;
  if (p.legal_basis) hdr['legal_basis'] = { instrument: p.legal_basis.instrument, article: p.legal_basis.article };
  for (const name of headerFields(p.kind)) if (content[name] !== undefined) hdr[name] = content[name];
  const pt = jcsBytes(body);
  if (pt.length > MAX_CIPHERTEXT - 16) pfail('TOO_LARGE', `the body is too large (at most ${MAX_CIPHERTEXT} bytes encrypted)`);
  const ad = headerAd(na, hdr);
  const key = na.crypto_aead_xchacha20poly1305_ietf_keygen();
  const nonce = na.randombytes_buf(24);
  try {
    const ct = na.crypto_aead_xchacha20poly1305_ietf_encrypt(pt, ad, null, nonce, key);
    const commitment = na.crypto_auth_hmacsha256(concatBytes(utf8('parley/v1/key-commitment\n'), nonce), key);
    p.recipients.forEach((r, i) => {
      (rlist[i] as Record<string, unknown>)['wrapped_key'] = b64urlEncode(na.crypto_box_seal(key, r.boxPk));
    });
    hdr['nonce'] = b64urlEncode(nonce);
    hdr['ciphertext_sha256'] = b64urlEncode(sha256(na, ct));
    hdr['key_commitment'] = b64urlEncode(commitment);
    signedJsonSign(na, hdr, 'envelope', sender.signSk);
    hdr['ciphertext'] = b64urlEncode(ct);
  } finally {
    na.memzero(key);
    na.memzero(pt);
  }
  return hdr;
}

/* ---- receipts (§8.4) ----------------------------------------------------------------- */

export interface AckInfo {
  message: string;
  envelopeSha256: Uint8Array;
  state: string;
  poc: string;
  keyId: string;
  time: string;
  timeUnix: number;
  hash: Uint8Array;
}

export function ackNew(na: Sodium, messageId: string, envelopeSha256: Uint8Array, state: string, poc: string, signer: Identity, time?: number): Record<string, unknown> {
  if (!uuidValid(messageId)) pfail('INVALID_ARGUMENT', 'message: a UUID in lower case');
  if (!stateCodeValid(state)) pfail('INVALID_ARGUMENT', 'state: ISO 3166-1 alpha-3');
  if (!pocIdValid(poc)) pfail('INVALID_ARGUMENT', 'poc: [a-z0-9-]{1,63}');
  return signedJsonSign(na, { format: 'parley-ack-v1', message: messageId, envelope_sha256: b64urlEncode(envelopeSha256), state, poc, key_id: signKeyId(na, signer.signPk), time: timeFormat(time ?? Math.floor(Date.now() / 1000)) }, 'ack', signer.signSk);
}

/* Throws ProtoError ACK_INVALID / ACK_SIGNATURE, as parley_ack_verify. */
export function ackVerify(na: Sodium, ackV: unknown, pk: Uint8Array): AckInfo {
  const A = 'ACK_INVALID';
  if (!isJsonObject(ackV as JsonValue)) pfail(A, 'an acknowledgement is a JSON object');
  const ack = ackV as JsonObject;
  checkSignable(ack, A, 'ack');
  onlyKnown(ack, ['format', 'message', 'envelope_sha256', 'state', 'poc', 'key_id', 'time', 'signature'], A, 'ack');
  const f = new Fields(ack, A, 'ack');
  const format = f.line('format', 32);
  const message = f.uuid('message')!;
  const envelopeSha256 = f.b64('envelope_sha256', 32);
  const state = f.line('state', 3);
  const poc = f.line('poc', 63);
  const kid = f.line('key_id', 22);
  const t = f.time('time');
  f.line('signature', 86);
  if (format !== 'parley-ack-v1') pfail(A, 'format: must be parley-ack-v1');
  if (!stateCodeValid(state)) pfail(A, 'state: ISO 3166-1 alpha-3');
  if (!pocIdValid(poc)) pfail(A, 'poc: [a-z0-9-]{1,63}');
  if (kid !== signKeyId(na, pk)) pfail('ACK_SIGNATURE', `key_id: ${kid.slice(0, 24)} is not the key id of the given key`);
  if (!signedJsonVerify(na, ack, 'ack', pk)) pfail('ACK_SIGNATURE', 'signature: does not verify');
  return { message, envelopeSha256, state, poc, keyId: kid, time: ack['time'] as string, timeUnix: t, hash: sha256(na, jcsBytes(ack)) };
}

export { ProtoError, fromUtf8 };
