/* The header copies of template fields (protocol §8.1): a status update carries its
 * `status`, and the kinds with a deadline their `respond_by`, in the signed header too, so
 * the hub can file and escalate without reading the body. The hub cannot check them
 * against the encrypted body; the recipient's page must (as libparley's
 * test_header_status): a header that says "executed" around a body that says "refused",
 * or another deadline than the body's, both validly signed by the sender, is refused
 * when opened. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { b64urlEncode, concatBytes, utf8 } from '../src/lib/encoding';
import { envelopeOpen, envelopeSeal, envelopeVerify, ProtoError } from '../src/lib/envelope';
import { jcsBytes } from '../src/lib/json';
import { boxKeyId, generateIdentity, Identity, signKeyId } from '../src/lib/keys';
import { sha256, signedJsonSign, timeFormat } from '../src/lib/signed';
import { Sodium, sodiumReady } from '../src/lib/sodium';

const REPLY = '01890a5d-ac96-774b-bcce-b302099a8058';
const STATUS = { request: REPLY, status: 'refused', refusal_ground: 'Art. 27(4)(a)' };
const DISCLOSURE = {
  requesting_authority: 'Police and Border Guard Board',
  issued_on: '2026-12-01',
  protocol_statement: true,
  service_providers: 'Example Hosting Oy',
  offences: 'Ransomware attack on a hospital',
  emergency_facts: 'Patients at risk of harm.',
  data_sought: 'Subscriber information of one account',
  respond_by: '2026-12-09',
  respond_by_reasons: 'Surgery planned on the 10th.',
};

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

/* An envelope sealed and signed by `sender` exactly as §8.2 says, except that its header
 * carries `header` for the template's header fields whatever the body's content says
 * (undefined: the member left out): what a sender, not the hub, could make. */
function sealWithHeader(na: Sodium, kind: string, content: Record<string, unknown>, header: Record<string, unknown>, sender: Identity, me: Identity, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const id = uuid7(na);
  const from = { state: 'EST', poc: 'est-cert', key_id: signKeyId(na, sender.signPk) };
  const rlist: Record<string, unknown>[] = [{ state: 'FIN', poc: 'fin-cert', key_id: boxKeyId(na, me.boxPk) }];
  const body = signedJsonSign(na, { format: 'parley-body-v1', id, kind, from: { ...from }, recipients: rlist.map((r) => ({ ...r })), language: 'en', content }, 'inner', sender.signSk);
  const hdr: Record<string, unknown> = { format: 'parley-envelope-v1', id, kind, priority: 'urgent', from, recipients: rlist, created: timeFormat(Math.floor(Date.now() / 1000)), tlp: 'TLP:AMBER', ...extra };
  for (const [k, v] of Object.entries(header)) if (v !== undefined) hdr[k] = v;
  /* the additional data: SHA-256(JCS(header without the AD-excluded members and wrapped keys)) */
  const adObj: Record<string, unknown> = { ...hdr, recipients: rlist.map((r) => ({ ...r })) };
  const ad = sha256(na, jcsBytes(adObj));
  const key = na.crypto_aead_xchacha20poly1305_ietf_keygen();
  const nonce = na.randombytes_buf(24);
  const ct = na.crypto_aead_xchacha20poly1305_ietf_encrypt(jcsBytes(body), ad, null, nonce, key);
  rlist[0]!['wrapped_key'] = b64urlEncode(na.crypto_box_seal(key, me.boxPk));
  hdr['nonce'] = b64urlEncode(nonce);
  hdr['ciphertext_sha256'] = b64urlEncode(sha256(na, ct));
  hdr['key_commitment'] = b64urlEncode(na.crypto_auth_hmacsha256(concatBytes(utf8('parley/v1/key-commitment\n'), nonce), key));
  signedJsonSign(na, hdr, 'envelope', sender.signSk);
  hdr['ciphertext'] = b64urlEncode(ct);
  return JSON.parse(JSON.stringify(hdr));
}

function refusedAs(f: () => unknown, code: string, detail: string): void {
  assert.throws(f, (e: unknown) => {
    assert.ok(e instanceof ProtoError, `a ProtoError, not ${String(e)}`);
    assert.equal(e.code, code);
    assert.ok(e.detail.includes(detail), e.detail);
    return true;
  });
}

test("a status update's signed header status must be the signed body's", async () => {
  const na = await sodiumReady();
  const sender = generateIdentity(na);
  const me = generateIdentity(na);
  /* as sealed by the page: the header copies the body, and it opens */
  const good = envelopeSeal(na, { kind: 'status-update', priority: 'urgent', tlp: 'TLP:AMBER', fromState: 'EST', fromPoc: 'est-cert', language: 'en', recipients: [{ state: 'FIN', poc: 'fin-cert', boxPk: me.boxPk }], in_reply_to: REPLY }, STATUS, sender);
  assert.equal(good['status'], 'refused');
  assert.equal(envelopeOpen(na, good, me, sender.signPk).body.content['status'], 'refused');
  /* the same construction as below, agreeing: opens (so the refusals below are the check's) */
  const same = sealWithHeader(na, 'status-update', STATUS, { status: 'refused' }, sender, me, { in_reply_to: REPLY });
  assert.equal(envelopeOpen(na, same, me, sender.signPk).body.content['status'], 'refused');
  /* "executed" in the header, "refused" in the body: the outer checks pass (the hub
   * cannot tell), the recipient refuses it */
  const lie = sealWithHeader(na, 'status-update', STATUS, { status: 'executed' }, sender, me, { in_reply_to: REPLY });
  assert.equal(envelopeVerify(na, lie, sender.signPk).kind, 'status-update');
  refusedAs(() => envelopeOpen(na, lie, me, sender.signPk), 'ENVELOPE_INVALID', 'body.content.status: differs from the signed header');
});

test("a deadline's signed header respond_by must be the signed body's", async () => {
  const na = await sodiumReady();
  const sender = generateIdentity(na);
  const me = generateIdentity(na);
  const kind = 'emergency-disclosure';
  const good = envelopeSeal(na, { kind, priority: 'critical', tlp: 'TLP:AMBER', fromState: 'EST', fromPoc: 'est-cert', language: 'en', recipients: [{ state: 'FIN', poc: 'fin-cert', boxPk: me.boxPk }] }, DISCLOSURE, sender);
  assert.equal(good['respond_by'], '2026-12-09');
  assert.equal(envelopeOpen(na, good, me, sender.signPk).body.content['respond_by'], '2026-12-09');
  const same = sealWithHeader(na, kind, DISCLOSURE, { respond_by: '2026-12-09' }, sender, me);
  assert.equal(envelopeOpen(na, same, me, sender.signPk).body.content['respond_by'], '2026-12-09');
  /* a later deadline in the header (the hub would escalate late), an earlier one, none */
  for (const header of [{ respond_by: '2026-12-31' }, { respond_by: '2026-12-02' }, { respond_by: undefined }]) {
    const lie = sealWithHeader(na, kind, DISCLOSURE, header, sender, me);
    envelopeVerify(na, lie, sender.signPk);
    refusedAs(() => envelopeOpen(na, lie, me, sender.signPk), 'ENVELOPE_INVALID', 'body.content.respond_by: differs from the signed header');
  }
  /* a deadline in the header only */
  const { respond_by: _r, respond_by_reasons: _rr, ...noDeadline } = DISCLOSURE;
  const added = sealWithHeader(na, kind, noDeadline, { respond_by: '2026-12-09' }, sender, me);
  refusedAs(() => envelopeOpen(na, added, me, sender.signPk), 'ENVELOPE_INVALID', 'body.content.respond_by: differs from the signed header');
});
