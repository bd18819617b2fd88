/* The page's verdicts against libparley's on the same objects (tests/web/webcheck.c
 * verify): envelopes (outer checks and opening), receipts, state records, template
 * content and Merkle proofs, each valid and mutated in many ways (re-signed, so that
 * the checks after the signature are reached too). Both must accept the same and refuse
 * with the same code. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { b64urlEncode, b64Encode, utf8 } from '../src/lib/encoding';
import { ackNew, ackVerify, envelopeOpen, envelopeSeal, envelopeVerify } from '../src/lib/envelope';
import { JsonObject, jcsBytes, parseJson } from '../src/lib/json';
import { boxKeyId, generateIdentity, Identity, signKeyId } from '../src/lib/keys';
import { recordVerify } from '../src/lib/record';
import { ProtoError, signedJsonSign, timeFormat } from '../src/lib/signed';
import { Sodium, sodiumReady } from '../src/lib/sodium';
import { templates, validateContent } from '../src/lib/templates';
import { leafHash, nodeHash, TlogError, verifyConsistency, verifyInclusion } from '../src/lib/tlog';
import { env, run } from './env';

type Case = { name: string; op: Record<string, unknown>; ts: () => void };

function tsVerdict(f: () => void): string {
  try {
    f();
    return 'OK';
  } catch (e) {
    if (e instanceof ProtoError || e instanceof TlogError) return `ERR ${e.code}`;
    return `ERR ${e instanceof Error ? e.message : String(e)}`;
  }
}

function cVerdicts(ops: Record<string, unknown>[]): string[] {
  const input = ops
    .map((o) => {
      const b = utf8(JSON.stringify(o));
      return `${b.length}\n${JSON.stringify(o)}\n`;
    })
    .join('');
  const r = run(env('WEBCHECK'), ['verify'], { input });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.trimEnd().split('\n');
}

function agree(cases: Case[], min: { ok: number; err: number }): void {
  const c = cVerdicts(cases.map((x) => x.op));
  assert.equal(c.length, cases.length);
  let oks = 0;
  const bad: string[] = [];
  cases.forEach((x, i) => {
    const t = tsVerdict(x.ts);
    if (t === 'OK') oks++;
    if (t !== c[i]) bad.push(`${x.name}: page ${t}, libparley ${c[i]}`);
  });
  assert.deepEqual(bad, []);
  assert.ok(oks >= min.ok, `at least ${min.ok} valid objects (${oks})`);
  assert.ok(cases.length - oks >= min.err, `at least ${min.err} refused objects`);
}

const clone = <T>(v: T): any => parseJson(JSON.stringify(v));
function set(o: any, path: string, v: unknown): any {
  const c = clone(o);
  const keys = path.split('.');
  let x = c;
  for (const k of keys.slice(0, -1)) x = x[k];
  const last = keys[keys.length - 1]!;
  if (v === undefined) delete x[last];
  else x[last] = v;
  return c;
}

function resignEnvelope(na: Sodium, e: any, sender: Identity): any {
  const ct = e.ciphertext;
  const h: Record<string, unknown> = {};
  for (const k of Object.keys(e)) if (k !== 'ciphertext' && k !== 'signature') h[k] = e[k];
  signedJsonSign(na, h, 'envelope', sender.signSk);
  if (ct !== undefined) h['ciphertext'] = ct;
  return clone(h);
}

const NOTE = { incident_class: 'intrusions', summary: 'résumé\nline two', affected_sectors: 'energy', indicators: '198.51.100.7', first_seen: '2026-11-20' };

test('envelopes: verify and open agree with libparley on valid and mutated envelopes', async () => {
  const na = await sodiumReady();
  const sender = generateIdentity(na);
  const me = generateIdentity(na);
  const other = generateIdentity(na);
  const pk = b64urlEncode(sender.signPk);
  const seal = (extra: Record<string, unknown> = {}) =>
    clone(envelopeSeal(na, { kind: 'notification', priority: 'urgent', tlp: 'TLP:RED', fromState: 'EST', fromPoc: 'est-cert', language: 'fr', recipients: [{ state: 'FIN', poc: 'fin-ncsc', boxPk: me.boxPk }, { state: 'LVA', poc: 'lva-cert', boxPk: other.boxPk }], ...extra }, NOTE, sender));
  const base = seal();
  const withCase = seal({ case: '01890a5d-ac96-774b-bcce-b302099a8057', in_reply_to: '01890a5d-ac96-774b-bcce-b302099a8058' });
  const mutants: [string, any][] = [
    ['valid', base],
    ['valid with case', withCase],
    ['kind unknown', set(base, 'kind', 'gossip')],
    ['priority', set(base, 'priority', 'low')],
    ['tlp', set(base, 'tlp', 'TLP:WHITE')],
    ['no created', set(base, 'created', undefined)],
    ['created with offset', set(base, 'created', '2026-11-20T10:00:00+01:00')],
    ['extra member', set(base, 'extra', 1)],
    ['case null', set(base, 'case', null)],
    ['format', set(base, 'format', 'parley-envelope-v2')],
    ['id not v7', set(base, 'id', '01890a5d-ac96-474b-bcce-b302099a8057')],
    ['id upper', set(base, 'id', (base.id as string).toUpperCase())],
    ['from poc upper', set(base, 'from.poc', 'EST-CERT')],
    ['from key id', set(base, 'from.key_id', signKeyId(na, me.signPk))],
    ['recipient key id', set(base, 'recipients.0.key_id', boxKeyId(na, sender.boxPk))],
    ['duplicate recipient', set(base, 'recipients.1', base.recipients[0])],
    ['no recipients', set(base, 'recipients', [])],
    ['wrapped key short', set(base, 'recipients.0.wrapped_key', 'AAAA')],
    ['nonce short', set(base, 'nonce', b64urlEncode(new Uint8Array(12)))],
    ['signature altered', set(base, 'signature', (base.signature as string).replace(/^./, (c: string) => (c === 'A' ? 'B' : 'A')))],
    ['ciphertext altered', set(base, 'ciphertext', (base.ciphertext as string).replace(/^./, (c: string) => (c === 'A' ? 'B' : 'A')))],
    ['ciphertext too short', set(base, 'ciphertext', 'AAAA')],
    ['created real number', set(base, 'created', 1.5)],
  ];
  /* re-signed, so that the checks after the signature are reached */
  const resigned: [string, any][] = [
    ['resigned: kind', resignEnvelope(na, set(base, 'kind', 'request-for-information'), sender)],
    ['resigned: tlp', resignEnvelope(na, set(base, 'tlp', 'TLP:CLEAR'), sender)],
    ['resigned: ciphertext swapped', resignEnvelope(na, set(base, 'ciphertext', withCase.ciphertext), sender)],
    ['resigned: ciphertext_sha256 of other', resignEnvelope(na, set(set(base, 'ciphertext', withCase.ciphertext), 'ciphertext_sha256', withCase.ciphertext_sha256), sender)],
    ['resigned: key commitment', resignEnvelope(na, set(base, 'key_commitment', withCase.key_commitment), sender)],
    ['resigned: nonce', resignEnvelope(na, set(base, 'nonce', withCase.nonce), sender)],
    ['resigned: wrapped key of other', resignEnvelope(na, set(base, 'recipients.0.wrapped_key', base.recipients[1].wrapped_key), sender)],
    ['resigned: recipients reordered', resignEnvelope(na, set(set(base, 'recipients.0', base.recipients[1]), 'recipients.1', base.recipients[0]), sender)],
    ['resigned: case added', resignEnvelope(na, set(base, 'case', '01890a5d-ac96-774b-bcce-b302099a8057'), sender)],
    ['resigned: poc renamed', resignEnvelope(na, set(base, 'recipients.0.poc', 'fin-b'), sender)],
    ['resigned: from poc renamed', resignEnvelope(na, set(base, 'from.poc', 'est-other'), sender)],
    ['resigned: created changed', resignEnvelope(na, set(base, 'created', '2020-01-01T00:00:00Z'), sender)],
    ['resigned: id changed', resignEnvelope(na, set(base, 'id', withCase.id), sender)],
  ];
  const cases: Case[] = [];
  for (const [name, e] of [...mutants, ...resigned]) {
    cases.push({ name: `verify ${name}`, op: { op: 'envelope', env: e, pk }, ts: () => envelopeVerify(na, e, sender.signPk) });
    cases.push({ name: `open ${name}`, op: { op: 'open', env: e, pk, sign_seed: b64urlEncode(me.signSk.slice(0, 32)), box_sk: b64urlEncode(me.boxSk) }, ts: () => envelopeOpen(na, e, me, sender.signPk) });
  }
  const stranger = generateIdentity(na);
  cases.push({ name: 'open as a non-recipient', op: { op: 'open', env: base, pk, sign_seed: b64urlEncode(stranger.signSk.slice(0, 32)), box_sk: b64urlEncode(stranger.boxSk) }, ts: () => envelopeOpen(na, base, stranger, sender.signPk) });
  cases.push({ name: 'verify with another key', op: { op: 'envelope', env: base, pk: b64urlEncode(me.signPk) }, ts: () => envelopeVerify(na, base, me.signPk) });
  agree(cases, { ok: 4, err: 40 });
  /* what the page opens is what was sealed */
  const o = envelopeOpen(na, base, me, sender.signPk);
  assert.equal(o.body.language, 'fr');
  assert.deepEqual({ ...o.body.content }, NOTE);
  assert.equal(o.info.priority, 'urgent');
});

/* Whether this libparley knows the treaty members (legal_basis, cooperation, template
 * bases): then the page's verdicts on them are cross-checked too. */
const treaty = () => templates().some((t) => Array.isArray(t.bases) && t.bases.length > 0);

test('envelopes: legal_basis is checked against the template, signed and bound to the body', async () => {
  const na = await sodiumReady();
  const sender = generateIdentity(na);
  const me = generateIdentity(na);
  const withBases = templates().find((t) => t.kind === 'preservation-request' && t.bases?.some((b) => b.article !== '*'));
  const kind = withBases?.kind ?? 'request-for-information';
  const basis = withBases ? withBases.bases!.find((b) => b.article !== '*')! : { instrument: 'budapest-2001', article: '29' };
  const content: Record<string, Record<string, unknown>> = {
    'request-for-information': { subject: 's', details: 'd' },
    'preservation-request': { requesting_authority: 'Police', offences: ['illegal-access'], facts: 'f', data_to_preserve: 'd', relationship_to_offence: 'r', custodian_or_location: 'c', necessity: 'n', mutual_assistance_intended: true, status: 'new', preservation_days: 90 },
  };
  const params = (lb: { instrument: string; article: string }) => ({ kind, priority: 'routine' as const, tlp: 'TLP:AMBER' as const, fromState: 'EST', fromPoc: 'est-cert', language: 'en', recipients: [{ state: 'FIN', poc: 'fin-ncsc', boxPk: me.boxPk }], legal_basis: lb });
  if (!withBases || !content[kind]) {
    /* no template lists a basis: none is accepted */
    assert.equal(tsVerdict(() => envelopeSeal(na, params(basis), content['request-for-information']!, sender)), 'ERR LEGAL_BASIS');
    return;
  }
  const e = clone(envelopeSeal(na, params(basis), content[kind]!, sender));
  assert.deepEqual({ ...envelopeOpen(na, e, me, sender.signPk).info.legal_basis }, basis);
  const pk = b64urlEncode(sender.signPk);
  const list: [string, any][] = [
    ['valid', e],
    ['article changed', set(e, 'legal_basis.article', '30')],
    ['resigned: article not allowed', resignEnvelope(na, set(e, 'legal_basis.article', '999'), sender)],
    ['resigned: instrument unknown', resignEnvelope(na, set(e, 'legal_basis.instrument', 'treaty-of-nowhere'), sender)],
    ['resigned: article characters', resignEnvelope(na, set(e, 'legal_basis.article', '29 (2)'), sender)],
    ['resigned: extra member', resignEnvelope(na, set(e, 'legal_basis.extra', 'x'), sender)],
    ['resigned: no article', resignEnvelope(na, set(e, 'legal_basis.article', undefined), sender)],
  ];
  const cases: Case[] = [];
  for (const [name, x] of list) {
    cases.push({ name: `verify ${name}`, op: { op: 'envelope', env: x, pk }, ts: () => envelopeVerify(na, x, sender.signPk) });
    cases.push({ name: `open ${name}`, op: { op: 'open', env: x, pk, sign_seed: b64urlEncode(me.signSk.slice(0, 32)), box_sk: b64urlEncode(me.boxSk) }, ts: () => envelopeOpen(na, x, me, sender.signPk) });
  }
  if (treaty()) agree(cases, { ok: 2, err: 10 });
  /* re-signed with the same basis re-spelled: the associated data still binds the body */
  const other = withBases.bases!.find((b) => b.article !== basis.article || b.instrument !== basis.instrument);
  if (other && other.article !== '*') assert.equal(tsVerdict(() => envelopeOpen(na, resignEnvelope(na, set(e, 'legal_basis', other), sender), me, sender.signPk)), 'ERR ENVELOPE_CIPHERTEXT');
});

test('receipts agree with libparley', async () => {
  const na = await sodiumReady();
  const signer = generateIdentity(na);
  const pk = b64urlEncode(signer.signPk);
  const a = clone(ackNew(na, '01890a5d-ac96-774b-bcce-b302099a8057', new Uint8Array(32).fill(7), 'FIN', 'fin-ncsc', signer));
  const resign = (x: any) => {
    const c: Record<string, unknown> = { ...x };
    delete c['signature'];
    return clone(signedJsonSign(na, c, 'ack', signer.signSk));
  };
  const list: [string, any][] = [
    ['valid', a],
    ['time', set(a, 'time', '2020-01-01T00:00:00Z')],
    ['poc', set(a, 'poc', 'fin-b')],
    ['extra', set(a, 'extra', true)],
    ['no time', set(a, 'time', undefined)],
    ['resigned extra', resign(set(a, 'extra', true))],
    ['resigned format', resign(set(a, 'format', 'parley-ack-v2'))],
    ['resigned key id', resign(set(a, 'key_id', signKeyId(na, generateIdentity(na).signPk)))],
    ['resigned state', resign(set(a, 'state', 'fi'))],
    ['resigned hash short', resign(set(a, 'envelope_sha256', 'AAAA'))],
    ['resigned message', resign(set(a, 'message', 'not-a-uuid'))],
    ['resigned time', resign(set(a, 'time', '2026-02-30T00:00:00Z'))],
    ['resigned valid', resign(set(a, 'time', '2027-01-01T00:00:00.5Z'))],
  ];
  agree(
    list.map(([name, x]) => ({ name, op: { op: 'ack', ack: x, pk }, ts: () => ackVerify(na, x, signer.signPk) })),
    { ok: 2, err: 10 },
  );
});

function makeRecord(na: Sodium, root: Identity, pocs: Identity[], now: number): Record<string, unknown> {
  const exp = timeFormat(now + 86400 * 365);
  return {
    format: 'parley-state-record-v1',
    state: 'EST',
    version: 3,
    updated: timeFormat(now - 60),
    review_by: timeFormat(now + 86400 * 180),
    organisations: [{ id: 'cert', name: 'CERT-EE', kind: 'national-cert' }],
    pocs: pocs.map((p, i) => ({
      id: `poc-${i}`,
      name: `Officer ${i}`,
      organisation: 'cert',
      roles: ['technical'],
      email: `o${i}@cert.test`,
      phone: '+372 600 0000',
      languages: ['et', 'en'],
      timezone: 'Europe/Tallinn',
      availability: '24/7',
      signing_key: b64urlEncode(p.signPk),
      encryption_key: signedJsonSign(na, { state: 'EST', poc: `poc-${i}`, key: b64urlEncode(p.boxPk), expires: exp }, 'encryption-key', p.signSk),
    })),
    escalation: { technical: pocs.map((_, i) => `poc-${i}`) },
    cert: { constituency: 'Estonia', rfc2350_url: 'https://cert.test/rfc2350' },
  };
}

test('state records agree with libparley', async () => {
  const na = await sodiumReady();
  const root = generateIdentity(na);
  const pocs = [generateIdentity(na), generateIdentity(na)];
  const now = Math.floor(Date.now() / 1000);
  const signR = (r: any) => {
    const c = clone(r);
    delete c.signature;
    return clone(signedJsonSign(na, c, 'state-record', root.signSk));
  };
  const rec = signR(makeRecord(na, root, pocs, now));
  const other = generateIdentity(na);
  const list: [string, any][] = [
    ['valid', rec],
    ['unsigned change', set(rec, 'version', 4)],
    ['version 0', signR(set(rec, 'version', 0))],
    ['review before update', signR(set(rec, 'review_by', rec.updated))],
    ['unknown member', signR(set(rec, 'notes', 'x'))],
    ['poc unknown member', signR(set(rec, 'pocs.0.twitter', 'x'))],
    ['poc id upper', signR(set(rec, 'pocs.0.id', 'POC'))],
    ['duplicate poc id', signR(set(rec, 'pocs.1.id', 'poc-0'))],
    ['roles repeated', signR(set(rec, 'pocs.0.roles', ['technical', 'technical']))],
    ['role unknown', signR(set(rec, 'pocs.0.roles', ['spy']))],
    ['email', signR(set(rec, 'pocs.0.email', 'nobody'))],
    ['phone', signR(set(rec, 'pocs.0.phone', '+372 abc'))],
    ['languages upper', signR(set(rec, 'pocs.0.languages', ['EN']))],
    ['timezone', signR(set(rec, 'pocs.0.timezone', 'Europe Tallinn'))],
    ['webhook http', signR(set(rec, 'pocs.0.webhook', 'http://hooks.test/x'))],
    ['webhook loopback', signR(set(rec, 'pocs.0.webhook', 'http://127.0.0.1:8080/x'))],
    ['webhook https', signR(set(rec, 'pocs.0.webhook', 'https://hooks.test/x'))],
    ['webhook user', signR(set(rec, 'pocs.0.webhook', 'https://u@hooks.test/x'))],
    ['enc key of other state', signR(set(rec, 'pocs.0.encryption_key.state', 'LVA'))],
    ['enc key expired', signR(set(rec, 'pocs.0.encryption_key', signedJsonSign(na, { state: 'EST', poc: 'poc-0', key: b64urlEncode(pocs[0]!.boxPk), expires: timeFormat(now - 10) }, 'encryption-key', pocs[0]!.signSk)))],
    ['enc key signed by other', signR(set(rec, 'pocs.0.encryption_key', signedJsonSign(na, { state: 'EST', poc: 'poc-0', key: b64urlEncode(pocs[0]!.boxPk), expires: timeFormat(now + 1000) }, 'encryption-key', other.signSk)))],
    ['shared signing key', signR(set(rec, 'pocs.1.signing_key', rec.pocs[0].signing_key))],
    ['escalation unknown poc', signR(set(rec, 'escalation.technical', ['nobody']))],
    ['escalation role not held', signR(set(rec, 'escalation.diplomatic', ['poc-0']))],
    ['org kind', signR(set(rec, 'organisations.0.kind', 'club'))],
    ['org missing', signR(set(rec, 'pocs.0.organisation', 'ministry'))],
    ['cert url http', signR(set(rec, 'cert.rfc2350_url', 'http://cert.test'))],
    ['state code', signR(set(rec, 'state', 'ee'))],
    ['position too long', signR(set(rec, 'pocs.0.position', 'x'.repeat(129)))],
    ['name with control', signR(set(rec, 'pocs.0.name', 'A\u009bB'))],
    ['valid with options', signR(set(set(rec, 'pocs.0.position', 'Duty officer'), 'pocs.0.emergency_phone', '+372 5'))],
  ];
  agree(
    list.map(([name, r]) => ({ name, op: { op: 'record', rec: r, root: b64urlEncode(root.signPk), now }, ts: () => recordVerify(na, r, root.signPk, now) })),
    { ok: 4, err: 20 },
  );
  /* the cooperation profile: accepted and kept when signed, checked as libparley does */
  const profile = { instruments: [{ id: 'budapest-2001', contact_24x7: 'poc-0', central_authority: { name: 'Ministry of Justice', email: 'mlat@just.test' } }], request_languages: ['en', 'et'] };
  const coop = signR(set(rec, 'cooperation', profile));
  assert.equal(tsVerdict(() => recordVerify(na, coop, root.signPk, now)), 'OK');
  assert.equal(tsVerdict(() => recordVerify(na, set(coop, 'cooperation.request_languages', ['fr']), root.signPk, now)), 'ERR RECORD_SIGNATURE');
  const coopList: [string, any][] = [
    ['cooperation valid', coop],
    ['cooperation contact not a POC', signR(set(coop, 'cooperation.instruments.0.contact_24x7', 'nobody'))],
    ['cooperation no authority', signR(set(coop, 'cooperation.instruments.0.central_authority', undefined))],
    ['cooperation authority email', signR(set(coop, 'cooperation.instruments.0.central_authority.email', 'nobody'))],
    ['cooperation language repeated', signR(set(coop, 'cooperation.request_languages', ['en', 'en']))],
    ['cooperation no languages', signR(set(coop, 'cooperation.request_languages', []))],
    ['cooperation instrument id', signR(set(coop, 'cooperation.instruments.0.id', 'Budapest'))],
    ['cooperation unknown member', signR(set(coop, 'cooperation.notes', 'x'))],
    ['cooperation declarations', signR(set(coop, 'cooperation.instruments.0.declarations', 'Art. 29(4):\nreservation'))],
  ];
  for (const [name, r] of coopList.slice(1, -1)) assert.equal(tsVerdict(() => recordVerify(na, r, root.signPk, now)), 'ERR RECORD_INVALID', name);
  if (treaty())
    agree(
      coopList.map(([name, r]) => ({ name, op: { op: 'record', rec: r, root: b64urlEncode(root.signPk), now }, ts: () => recordVerify(na, r, root.signPk, now) })),
      { ok: 2, err: 6 },
    );
});

test('template content agrees with libparley', async () => {
  const contents: [string, string, any][] = [
    ['notification', 'valid', NOTE],
    ['notification', 'unknown field', { ...NOTE, extra: 'x' }],
    ['notification', 'missing summary', { ...NOTE, summary: undefined }],
    ['notification', 'empty summary', { ...NOTE, summary: '' }],
    ['notification', 'class not a choice', { ...NOTE, incident_class: 'gossip' }],
    ['notification', 'date bad', { ...NOTE, first_seen: '2026-02-30' }],
    ['notification', 'date time', { ...NOTE, first_seen: '2026-02-03T10:00:00Z' }],
    ['notification', 'line with newline', { ...NOTE, affected_sectors: 'a\nb' }],
    ['notification', 'text with tab', { ...NOTE, summary: 'a\tb' }],
    ['notification', 'text with C1', { ...NOTE, summary: 'a\u0085b' }],
    ['notification', 'too long', { ...NOTE, affected_sectors: 'é'.repeat(251) }],
    ['notification', 'number for text', { ...NOTE, summary: 5 }],
    ['preservation-request', 'valid', { requesting_authority: 'Police', offences: ['illegal-access', 'data-interference'], facts: 'f', data_to_preserve: 'd', relationship_to_offence: 'r', custodian_or_location: 'c', necessity: 'n', mutual_assistance_intended: true, status: 'new', preservation_days: 90 }],
    ['preservation-request', 'extension without earlier', { requesting_authority: 'Police', offences: ['illegal-access'], facts: 'f', data_to_preserve: 'd', relationship_to_offence: 'r', custodian_or_location: 'c', necessity: 'n', mutual_assistance_intended: true, status: 'extension', preservation_days: 90 }],
    ['preservation-request', 'days too few', { requesting_authority: 'Police', offences: ['illegal-access'], facts: 'f', data_to_preserve: 'd', relationship_to_offence: 'r', custodian_or_location: 'c', necessity: 'n', mutual_assistance_intended: true, status: 'new', preservation_days: 59 }],
    ['preservation-request', 'mutual assistance false', { requesting_authority: 'Police', offences: ['illegal-access'], facts: 'f', data_to_preserve: 'd', relationship_to_offence: 'r', custodian_or_location: 'c', necessity: 'n', mutual_assistance_intended: false, status: 'new', preservation_days: 60 }],
    ['preservation-request', 'offence repeated', { requesting_authority: 'Police', offences: ['illegal-access', 'illegal-access'], facts: 'f', data_to_preserve: 'd', relationship_to_offence: 'r', custodian_or_location: 'c', necessity: 'n', mutual_assistance_intended: true, status: 'new', preservation_days: 60 }],
    ['preservation-request', 'earlier not uuid', { requesting_authority: 'Police', offences: ['illegal-access'], facts: 'f', data_to_preserve: 'd', relationship_to_offence: 'r', custodian_or_location: 'c', necessity: 'n', mutual_assistance_intended: true, status: 'extension', earlier_request: 'x', preservation_days: 60 }],
    ['gossip', 'unknown kind', {}],
  ];
  const cases: Case[] = contents.map(([kind, name, c]) => {
    const content = JSON.parse(JSON.stringify(c));
    return {
      name: `${kind} ${name}`,
      op: { op: 'template', kind, content },
      ts: () => {
        const p = validateContent(kind, content);
        if (p.length) throw new ProtoError(p[0]!.field === 'kind' ? 'TEMPLATE_UNKNOWN' : 'TEMPLATE_FIELD', p[0]!.problem);
      },
    };
  });
  agree(cases, { ok: 3, err: 12 });
});

/* RFC 9162 MTH, PATH and PROOF over leaf hashes, to make proofs for the cross-check. */
function mth(na: Sodium, l: Uint8Array[]): Uint8Array {
  if (l.length === 0) return na.crypto_hash_sha256(new Uint8Array(0));
  if (l.length === 1) return l[0]!;
  let k = 1;
  while (k * 2 < l.length) k *= 2;
  return nodeHash(na, mth(na, l.slice(0, k)), mth(na, l.slice(k)));
}
function path(na: Sodium, m: number, l: Uint8Array[]): Uint8Array[] {
  if (l.length <= 1) return [];
  let k = 1;
  while (k * 2 < l.length) k *= 2;
  return m < k ? [...path(na, m, l.slice(0, k)), mth(na, l.slice(k))] : [...path(na, m - k, l.slice(k)), mth(na, l.slice(0, k))];
}
function subproof(na: Sodium, m: number, l: Uint8Array[], b: boolean): Uint8Array[] {
  const n = l.length;
  if (m === n) return b ? [] : [mth(na, l)];
  let k = 1;
  while (k * 2 < n) k *= 2;
  return m <= k ? [...subproof(na, m, l.slice(0, k), b), mth(na, l.slice(k))] : [...subproof(na, m - k, l.slice(k), false), mth(na, l.slice(0, k))];
}

test('Merkle inclusion and consistency proofs agree with libparley', async () => {
  const na = await sodiumReady();
  const leaves = Array.from({ length: 70 }, (_, i) => leafHash(na, utf8(`entry ${i}`)));
  const b64 = (h: Uint8Array) => b64Encode(h);
  const u = (h: Uint8Array) => b64urlEncode(h);
  const cases: Case[] = [];
  for (const size of [1, 2, 3, 7, 8, 9, 31, 32, 33, 64, 70]) {
    const l = leaves.slice(0, size);
    const root = mth(na, l);
    for (const index of [0, 1, Math.floor(size / 2), size - 1, size]) {
      const leaf = leaves[Math.min(index, 69)]!;
      const proof = index < size ? path(na, index, l) : [];
      const flip = proof.length ? [proof[0]!.map((x, i) => (i === 0 ? x ^ 1 : x)), ...proof.slice(1)] : proof;
      for (const [name, pr, idx, sz] of [
        ['valid', proof, index, size],
        ['flipped', flip, index, size],
        ['short', proof.slice(1), index, size],
        ['long', [...proof, root], index, size],
        ['index+1', proof, index + 1, size],
        ['size+1', proof, index, size + 1],
      ] as [string, Uint8Array[], number, number][]) {
        cases.push({
          name: `inclusion ${name} ${index}/${size}`,
          op: { op: 'inclusion', index: idx, size: sz, leaf: u(leaf), root: u(root), proof: pr.map(u) },
          ts: () => verifyInclusion(na, idx, sz, leaf, pr, root),
        });
      }
    }
    for (const size1 of [0, 1, 2, 3, 4, 5, 8, 17, size]) {
      if (size1 > size) continue;
      const r1 = mth(na, leaves.slice(0, size1));
      const proof = size1 > 0 && size1 < size ? subproof(na, size1, l, true) : [];
      for (const [name, pr, s1, s2] of [
        ['valid', proof, size1, size],
        ['short', proof.slice(0, -1), size1, size],
        ['reversed', [...proof].reverse(), size1, size],
        ['size2-1', proof, size1, size - 1],
      ] as [string, Uint8Array[], number, number][]) {
        cases.push({
          name: `consistency ${name} ${s1}->${s2}`,
          op: { op: 'consistency', size1: s1, size2: s2, root1: u(r1), root2: u(root), proof: pr.map(u) },
          ts: () => verifyConsistency(na, s1, s2, r1, root, pr),
        });
      }
    }
  }
  void b64;
  agree(cases, { ok: 60, err: 200 });
});

test('the JSON this file sends is what the page verifies', () => {
  /* parseJson (strict) and JCS agree on the objects above: JSON.stringify of a parsed value round-trips */
  const o = parseJson('{"b":1,"a":[true,null,"é"]}') as JsonObject;
  assert.equal(new TextDecoder().decode(jcsBytes(o)), '{"a":[true,null,"é"],"b":1}');
});
