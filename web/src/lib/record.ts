/* State records (docs/protocol.md §4.2) verified as parley_record_verify does
 * (src/lib/proto/record.c): exact shape, the root key's signature first, then every
 * field; each POC's encryption key signed by its signing key and not expired. An
 * optional "cooperation" member (treaty profile) is accepted as signed and kept. */
import { signKeyId, boxKeyId, signPkFromB64 } from './keys';
import { JsonObject, isJsonObject } from './json';
import { Fields, ProtoError, checkSignable, onlyKnown, pfail, pocIdValid, signedJsonVerify, stateCodeValid } from './signed';
import type { Sodium } from './sodium';

export const ROLES = ['diplomatic', 'technical', 'law-enforcement-24x7'] as const;
const ORG_KINDS = ['foreign-ministry', 'national-cert', 'law-enforcement', 'other'] as const;
const MAX_ORGS = 16;
const MAX_POCS = 64;

export interface PocInfo {
  id: string;
  name: string;
  position?: string;
  organisation: string;
  roles: string[];
  email: string;
  phone: string;
  emergency_phone?: string;
  languages: string[];
  timezone: string;
  availability: string;
  signingKey: Uint8Array;
  keyId: string;
  encKey: { key: Uint8Array; keyId: string; expires: string };
}

export interface RecordInfo {
  state: string;
  version: number;
  updated: number;
  reviewBy: number;
  pocs: PocInfo[];
}

const R = 'RECORD_INVALID';

function webhookProblem(u: string): string | null {
  if (!/^[\x21-\x7e]*$/.test(u) || u.includes('\\')) return 'printable ASCII without spaces or backslashes';
  let rest: string;
  let http = false;
  if (u.startsWith('https://')) rest = u.slice(8);
  else if (u.startsWith('http://')) {
    rest = u.slice(7);
    http = true;
  } else return 'must be https://';
  const authority = rest.split(/[/?#]/)[0]!;
  if (authority.includes('@')) return "no user information ('user@') allowed";
  const m = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+)(:([0-9]{1,5}))?$/.exec(authority);
  if (!m) return 'bad host or port';
  if (m[3] !== undefined && (Number(m[3]) === 0 || Number(m[3]) > 65535)) return 'bad port';
  const host = m[1]!;
  if (http && host !== '[::1]' && host !== 'localhost' && !/^127\.([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})$/.test(host))
    return 'must be https:// (http:// only to a loopback address, for tests)';
  return null;
}

function checkPoc(na: Sodium, p: unknown, idx: number, state: string, orgIds: string[], now: number): PocInfo {
  const where = `pocs[${idx}]`;
  if (!isJsonObject(p as never)) pfail(R, `${where}: must be an object`);
  const o = p as JsonObject;
  onlyKnown(o, ['id', 'name', 'position', 'organisation', 'roles', 'email', 'phone', 'emergency_phone', 'languages', 'timezone', 'availability', 'signing_key', 'encryption_key', 'webhook'], R, where);
  const f = new Fields(o, R, where);
  const id = f.line('id', POC_MAX);
  const name = f.line('name', 127);
  const position = f.lineOpt('position', 128);
  const organisation = f.line('organisation', POC_MAX);
  const roles = f.arr('roles');
  const email = f.line('email', 254);
  const phone = f.line('phone', 32);
  const ephone = f.lineOpt('emergency_phone', 32);
  const langs = f.arr('languages');
  const timezone = f.line('timezone', 64);
  const availability = f.line('availability', 64);
  f.b64('signing_key', 32);
  const ek = f.obj('encryption_key');
  const webhook = f.lineOpt('webhook', 500);
  if (!pocIdValid(id)) pfail(R, `${where}.id: lower-case letters, digits, '-'`);
  if (!orgIds.includes(organisation)) pfail(R, `${where}.organisation: no organisation '${organisation.slice(0, 64)}'`);
  if (roles.length === 0 || roles.length > 3) pfail(R, `${where}.roles: one to three roles`);
  const seen = new Set<string>();
  roles.forEach((r, i) => {
    if (typeof r !== 'string' || !(ROLES as readonly string[]).includes(r) || seen.has(r)) pfail(R, `${where}.roles[${i}]: diplomatic, technical or law-enforcement-24x7, once each`);
    seen.add(r as string);
  });
  if (!email.includes('@') || email.includes(' ')) pfail(R, `${where}.email: not an e-mail address`);
  if (!/^[+0-9 ()-]*$/.test(phone)) pfail(R, `${where}.phone: digits, spaces, + - ( )`);
  const hook = webhook !== undefined ? webhookProblem(webhook) : null;
  if (hook) pfail(R, `${where}.webhook: ${hook}`);
  if (langs.length === 0 || langs.length > 12) pfail(R, `${where}.languages: one to twelve`);
  langs.forEach((l, i) => {
    if (typeof l !== 'string' || !/^[a-z]{2}$/.test(l)) pfail(R, `${where}.languages[${i}]: ISO 639-1 code in lower case`);
  });
  if (!/^[A-Za-z0-9/_+-]*$/.test(timezone)) pfail(R, `${where}.timezone: an IANA zone name`);
  let pk: Uint8Array;
  try {
    pk = signPkFromB64(na, o['signing_key'] as string);
  } catch {
    return pfail(R, `${where}.signing_key: not an Ed25519 public key`);
  }
  /* the encryption key, signed by the POC's signing key */
  const E = 'RECORD_ENC_KEY';
  onlyKnown(ek, ['state', 'poc', 'key', 'expires', 'signature'], R, where);
  let ekState: string, ekPoc: string, key: Uint8Array, expires: number;
  try {
    const g = new Fields(ek, E, `${where}.encryption_key`);
    ekState = g.line('state', 3);
    ekPoc = g.line('poc', POC_MAX);
    key = g.b64('key', 32);
    expires = g.time('expires');
    g.line('signature', 128);
  } catch (e) {
    throw e instanceof ProtoError ? new ProtoError(E, e.detail) : e;
  }
  if (ekState !== state || ekPoc !== id) pfail(E, `${where}.encryption_key: signed for another state or POC`);
  if (!signedJsonVerify(na, ek, 'encryption-key', pk)) pfail(E, `${where}.encryption_key: not signed by the POC's signing key`);
  if (expires <= now) pfail(E, `${where}.encryption_key: expired`);
  const out: PocInfo = {
    id,
    name,
    organisation,
    roles: roles as string[],
    email,
    phone,
    languages: langs as string[],
    timezone,
    availability,
    signingKey: pk,
    keyId: signKeyId(na, pk),
    encKey: { key, keyId: boxKeyId(na, key), expires: ek['expires'] as string },
  };
  if (position !== undefined) out.position = position;
  if (ephone !== undefined) out.emergency_phone = ephone;
  return out;
}
const POC_MAX = 63;

/* The cooperation profile (protocol §4.2, as libparley checks it): instruments the
 * state is party to, each with its 24/7 contact (a POC of this record) and central
 * authority, and the languages in which it accepts requests. */
function checkCooperation(c: unknown, pocIds: string[]): void {
  if (!isJsonObject(c as never)) pfail(R, "record: field 'cooperation' must be an object");
  const co = c as JsonObject;
  onlyKnown(co, ['instruments', 'request_languages'], R, 'cooperation');
  const f = new Fields(co, R, 'cooperation');
  const insts = f.arr('instruments');
  const langs = f.arr('request_languages');
  if (insts.length === 0 || insts.length > 16) pfail(R, 'cooperation.instruments: one to 16');
  const ids: string[] = [];
  insts.forEach((x, i) => {
    const where = `cooperation.instruments[${i}]`;
    if (!isJsonObject(x)) pfail(R, `${where}: must be an object`);
    const o = x as JsonObject;
    onlyKnown(o, ['id', 'declarations', 'contact_24x7', 'central_authority'], R, where);
    const g = new Fields(o, R, where);
    const id = g.line('id', 64);
    g.strOpt('declarations', 4000, false);
    const contact = g.line('contact_24x7', POC_MAX);
    const auth = g.obj('central_authority');
    if (!/^[a-z0-9-]{1,64}$/.test(id)) pfail(R, `${where}.id: [a-z0-9-]{1,64}`);
    if (ids.includes(id)) pfail(R, `${where}.id: '${id}' appears twice`);
    ids.push(id);
    if (!pocIds.includes(contact)) pfail(R, `${where}.contact_24x7: no POC '${contact.slice(0, 64)}' in this record`);
    const aw = `${where}.central_authority`;
    onlyKnown(auth, ['name', 'email', 'phone'], R, aw);
    const a = new Fields(auth, R, aw);
    a.line('name', 200);
    const email = a.lineOpt('email', 254);
    const phone = a.lineOpt('phone', 32);
    if (email !== undefined && (!email.includes('@') || email.includes(' '))) pfail(R, `${aw}.email: not an e-mail address`);
    if (phone !== undefined && !/^[+0-9 ()-]*$/.test(phone)) pfail(R, `${aw}.phone: digits, spaces, + - ( )`);
  });
  if (langs.length === 0 || langs.length > 12) pfail(R, 'cooperation.request_languages: one to twelve');
  langs.forEach((l, i) => {
    if (typeof l !== 'string' || !/^[a-z]{2}$/.test(l)) pfail(R, `cooperation.request_languages[${i}]: ISO 639-1 code in lower case`);
    if (langs.slice(0, i).includes(l)) pfail(R, `cooperation.request_languages[${i}]: '${l}' twice`);
  });
}

/* Verifies a state record with the state's root key; throws ProtoError naming the field. */
export function recordVerify(na: Sodium, rec: unknown, root: Uint8Array, now: number): RecordInfo {
  if (!isJsonObject(rec as never)) pfail(R, 'a state record is a JSON object');
  const o = rec as JsonObject;
  checkSignable(o, R, 'record');
  onlyKnown(o, ['format', 'state', 'version', 'updated', 'review_by', 'organisations', 'pocs', 'escalation', 'cert', 'cooperation', 'signature'], R, 'record');
  const f = new Fields(o, R, 'record');
  const format = f.line('format', 64);
  const state = f.line('state', 3);
  const version = f.int('version');
  const updated = f.time('updated');
  const reviewBy = f.time('review_by');
  const orgs = f.arr('organisations');
  const pocs = f.arr('pocs');
  const esc = f.obj('escalation');
  const cert = f.objOpt('cert');
  if (format !== 'parley-state-record-v1') pfail(R, 'format: must be parley-state-record-v1');
  if (!stateCodeValid(state)) pfail('STATE_CODE', `state: '${state}'`);
  if (version < 1) pfail(R, 'version: must be 1 or more');
  if (reviewBy <= updated) pfail(R, 'review_by: must be after updated');
  /* The signature first: nothing else matters if the root did not sign it. */
  if (!signedJsonVerify(na, o, 'state-record', root)) pfail('RECORD_SIGNATURE', `signature: not a valid signature of ${state}'s root key`);
  if (orgs.length === 0 || orgs.length > MAX_ORGS) pfail(R, `organisations: one to ${MAX_ORGS}`);
  const orgIds: string[] = [];
  orgs.forEach((x, i) => {
    const where = `organisations[${i}]`;
    if (!isJsonObject(x)) pfail(R, `${where}: must be an object`);
    onlyKnown(x as JsonObject, ['id', 'name', 'kind'], R, where);
    const g = new Fields(x as JsonObject, R, where);
    const id = g.line('id', POC_MAX);
    g.line('name', 200);
    g.oneOf('kind', ORG_KINDS);
    if (!pocIdValid(id)) pfail(R, `${where}.id: lower-case letters, digits, '-'`);
    orgIds.push(id);
  });
  if (pocs.length === 0 || pocs.length > MAX_POCS) pfail(R, `pocs: one to ${MAX_POCS}`);
  const infos: PocInfo[] = [];
  pocs.forEach((p, i) => {
    const pi = checkPoc(na, p, i, state, orgIds, now);
    infos.forEach((q, j) => {
      if (q.id === pi.id) pfail(R, `pocs[${i}].id: '${pi.id}' appears twice`);
      if (q.keyId === pi.keyId) pfail(R, `pocs[${i}].signing_key: shared with pocs[${j}]`);
    });
    infos.push(pi);
  });
  for (const role of Object.keys(esc)) {
    if (!(ROLES as readonly string[]).includes(role)) pfail(R, `escalation: unknown role '${role.slice(0, 64)}'`);
    const order = esc[role];
    if (!Array.isArray(order) || order.length === 0 || order.length > MAX_POCS) pfail(R, `escalation.${role}: a list of POC ids`);
    (order as unknown[]).forEach((pid, i) => {
      const p = infos.find((q) => q.id === pid);
      if (!p || !p.roles.includes(role)) pfail(R, `escalation.${role}[${i}]: not a POC of this record with that role`);
    });
  }
  if (cert) {
    onlyKnown(cert, ['constituency', 'rfc2350_url'], R, 'cert');
    const g = new Fields(cert, R, 'cert');
    g.str('constituency', 1000, false);
    const url = g.lineOpt('rfc2350_url', 500);
    if (url !== undefined && !url.startsWith('https://')) pfail(R, 'cert.rfc2350_url: must be https://');
  }
  if (o['cooperation'] !== undefined) checkCooperation(o['cooperation'], infos.map((p) => p.id));
  return { state, version, updated, reviewBy, pocs: infos };
}
