// ParleyClient (the page's verified client, bundled for node as build/web-test/harness.mjs)
// against a real parleyd, both ways with the real parley. Run by test_client.sh.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const need = (n) => {
  const v = process.env[n];
  if (!v) throw new Error(`${n} is not set`);
  return v;
};
const H = await import(join(need('PARLEY_WEB_TESTS'), 'harness.mjs'));
const HUB = need('HUB');
const WORK = need('WORK');
const PARLEY = need('PARLEY');
let failed = 0;
let passed = 0;
const expect = (cond, what, detail) => {
  if (cond) {
    passed++;
    console.log(`ok - ${what}`);
  } else {
    failed++;
    console.log(`not ok - ${what}${detail !== undefined ? `\n    ${String(typeof detail === 'string' ? detail : JSON.stringify(detail)).replace(/\n/g, '\n    ')}` : ''}`);
  }
};
const parley = (who, ...args) => {
  const r = spawnSync(PARLEY, ['--config', join(WORK, `${who}.conf`), ...args], { encoding: 'utf8' });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
};
const refusal = async (p) => {
  try {
    await p;
    return null;
  } catch (e) {
    if (e instanceof H.Refusal) return e;
    throw e;
  }
};

const na = await H.sodiumReady();
const client = (who, store = H.memoryTrustStore()) => new H.ParleyClient(na, HUB, H.openSecretKeyFile(na, readFileSync(join(WORK, `${who}.key`), 'utf8'), null), store);
const fin = client('fin-ncsc');
const est = client('est-cert');

// ---- parley send → ParleyClient ----
let r = parley('est-cert', 'send', '--kind', 'notification', '--to', 'FIN:fin-ncsc', '--priority', 'urgent', '--tlp', 'RED', '--language', 'fr', '--field', 'incident_class=intrusions', '--field', 'summary=Résumé SECRET', '--field', 'affected_sectors=energy', '--field', 'indicators=198.51.100.7', '--field', 'first_seen=2026-11-20');
const M1 = /^sent urgent notification ([0-9a-f-]{36}) /m.exec(r.out)?.[1];
expect(r.status === 0 && M1, 'parley send: an urgent notification EST → FIN', r.out);
const m = await fin.open(M1);
expect(m.header.from.state === 'EST' && m.header.from.poc === 'est-cert', 'ParleyClient opens it: the signed sender', m.header);
expect(m.header.priority === 'urgent' && m.header.tlp === 'TLP:RED' && m.header.kind === 'notification', '  priority, TLP and kind from the signed header');
expect(m.body?.language === 'fr' && m.body?.content.summary === 'Résumé SECRET' && m.body?.content.first_seen === '2026-11-20', '  the body decrypted and verified (inner signature, template)', m.body);
expect(Number.isInteger(m.logIndex) && m.logIndex >= 0, `  its log inclusion proven (entry ${m.logIndex})`);
expect(m.canAcknowledge && !m.acknowledgedByMe && m.ackByState.FIN?.acknowledged === false, '  FIN has not acknowledged; this officer can');
expect(typeof m.hub.status === 'string' && !('envelope' in m.hub), "  the hub's metadata apart, as its word", m.hub);

const ack = await fin.acknowledge(M1);
expect(Number.isInteger(ack.leafIndex), `ParleyClient acknowledges it (receipt logged as entry ${ack.leafIndex}, inclusion checked)`);
r = parley('est-cert', 'read', M1);
expect(r.status === 0 && /FIN: acknowledged .* by fin-ncsc \(receipt VERIFIED/.test(r.out), '  parley read verifies the page-signed receipt', r.out);
const m1b = await est.open(M1);
expect(m1b.ackByState.FIN?.acknowledged && m1b.receipts[0]?.verified && !m1b.body, '  the sender sees the verified receipt, and no body (not sealed to itself)', m1b);

const rep = await fin.reply(M1, { kind: 'response', priority: 'routine', tlp: 'TLP:AMBER', language: 'fr', content: { summary: 'Bien reçu', status: 'in-progress' } });
r = parley('est-cert', 'read', rep.id);
expect(r.status === 0 && r.out.includes('Bien reçu') && r.out.includes(`In reply to ${M1}`) && r.out.includes(`Case ${M1}`) && /From: FIN\/fin-ncsc \(signature VERIFIED/.test(r.out), 'ParleyClient replies: parley read opens it (to the signed sender, case and in-reply-to set)', r.out);

// ---- ParleyClient → parley ----
const sent = await est.send({ kind: 'request-for-information', priority: 'critical', tlp: 'TLP:AMBER+STRICT', recipients: [{ state: 'FIN', poc: 'technical' }, { state: 'LVA', poc: 'lva-cert' }], language: 'en', content: { subject: 'From the page ü', details: 'two\nlines' } });
expect(/^[0-9a-f-]{36}$/.test(sent.id) && Number.isInteger(sent.leafIndex), `ParleyClient sends a critical request to FIN:technical and LVA (logged as entry ${sent.leafIndex}, inclusion checked)`);
r = parley('fin-ncsc', 'read', sent.id);
expect(r.status === 0 && r.out.includes('From the page ü') && /From: EST\/est-cert \(signature VERIFIED/.test(r.out) && r.out.includes('critical'), '  parley read opens and verifies it', r.out);
r = parley('lva-cert', 'read', sent.id);
expect(r.status === 0 && r.out.includes('From the page ü'), '  and so does the second recipient state', r.out);
r = parley('fin-ncsc', 'ack', sent.id);
expect(r.status === 0, '  parley ack acknowledges it', r.out);
const s2 = await est.open(sent.id);
expect(s2.ackByState.FIN?.acknowledged === true && s2.ackByState.LVA?.acknowledged === false, '  ParleyClient verifies the receipt: FIN acknowledged, LVA not (per state)', s2.ackByState);
expect(s2.receipts.length === 1 && s2.receipts[0].verified && s2.receipts[0].poc === 'fin-ncsc', '  the receipt shown as verified, by fin-ncsc', s2.receipts);

// ---- templates and the checks of parley send ----
let e = await refusal(est.send({ kind: 'request-for-information', priority: 'routine', tlp: 'GREEN', recipients: [{ state: 'FIN', poc: 'fin-ncsc' }], language: 'en', content: { details: 'no subject' } }));
expect(e?.code === 'TEMPLATE_FIELD' && /subject/i.test(e.officer), 'a draft without its required field is refused before sealing, naming the field', e?.officer);
e = await refusal(est.send({ kind: 'notification', priority: 'routine', tlp: 'GREEN', recipients: [{ state: 'FIN', poc: 'nobody' }], language: 'en', content: { incident_class: 'test', summary: 's', affected_sectors: 'a', indicators: 'i', first_seen: '2026-01-01' } }));
expect(e?.code === 'NO_SUCH_POC', 'a recipient not in the verified record is refused', e?.officer);
expect(H.templates().some((t) => t.kind === 'preservation-request') && H.templates().every((t) => t.title.ar && t.title.zh), 'the templates are compiled in, with six-language titles');

// ---- the directory ----
const store = H.memoryTrustStore();
const fresh = client('est-cert', store);
const rec = await fresh.verifiedRecord('FIN');
expect(rec.badge.firstContact && !rec.badge.rootConfirmed && rec.badge.recordSignature && rec.badge.logInclusion && rec.badge.directoryCommitment, 'first contact: the root key pinned on trust, record signature, log inclusion and directory commitment verified', rec.badge);
expect(rec.rootFingerprint === need('FIN_ROOT_FPR') && rec.pocs.some((p) => p.id === 'fin-ncsc' && p.encKey), "  the root key's fingerprint is fin-root's; the POCs and keys from the signed record");
expect(rec.name === 'Finland' && rec.region === 'western-european-and-others', "  the state's name and region (the hub's word)");
const again = await fresh.verifiedRecord('FIN');
expect(!again.badge.firstContact, '  the second look is not a first contact');
e = await refusal(fresh.trustFingerprint('FIN', '00'.repeat(32)));
expect(e?.code === 'FINGERPRINT_MISMATCH', 'a fingerprint that is not the served one is refused', e?.officer);
await fresh.trustFingerprint('FIN', need('FIN_ROOT_FPR'));
expect((await fresh.verifiedRecord('FIN')).badge.rootConfirmed, 'the served fingerprint, confirmed out of band, pins the key as confirmed');
/* a rollback against this browser's pin */
const pins = JSON.parse(store.get('pins'));
pins.FIN.version = 9;
store.set('pins', JSON.stringify(pins));
e = await refusal(fresh.verifiedRecord('FIN'));
expect(e?.code === 'RECORD_ROLLBACK' && e.officer.includes('version 9'), 'a version lower than the one this browser saw is refused (rollback)', e?.officer);
pins.FIN.version = 1;
pins.FIN.root_key = pins.EST?.root_key ?? 'AAAA';
store.set('pins', JSON.stringify(pins));
e = await refusal(fresh.verifiedRecord('FIN'));
expect(e?.code === 'ROOT_KEY_CHANGED', 'a root key other than the pinned one is refused', e?.officer);
const st = await est.states();
expect(Array.isArray(st.hub) && st.hub.length === 3, "the list of states is handed back as the hub's word", st);

// ---- a forked log: the page keeps the larger checkpoint and refuses another history ----
const cpStore = H.memoryTrustStore();
const watcher = client('est-cert', cpStore);
await watcher.verifiedRecord('EST');
const note = cpStore.get('checkpoint');
const lines = note.split('\n');
lines[2] = Buffer.from(new Uint8Array(32).fill(9)).toString('base64');
cpStore.set('checkpoint', lines.join('\n'));
e = await refusal(watcher.verifiedRecord('EST'));
expect(e?.code === 'LOG_MISBEHAVIOUR' || e?.code === 'CHECKPOINT_SIGNATURE' || e?.code === 'TRUST_STORE', 'a stored checkpoint the hub cannot extend is a refusal, never accepted', e?.officer);
const keyStore = H.memoryTrustStore({ 'log-key': 'other.example/log+01234567+AQ' + 'A'.repeat(42) + '=' });
e = await refusal(client('est-cert', keyStore).verifiedRecord('EST'));
expect(e?.code === 'LOG_KEY_CHANGED', "a log key other than the pinned one is refused", e?.officer);

// ---- the inbox, listed and live ----
const inbox = await fin.inbox(0, 100);
expect(inbox.items.some((i) => i.id === M1) && inbox.items.some((i) => i.id === sent.id) && inbox.items.every((i) => typeof i.hub === 'object'), 'the inbox lists both messages (the hub word)', inbox.items.length);
const states = [];
const arrived = new Promise((resolve) => {
  const stop = fin.stream(null, {
    item: (i) => {
      stop();
      resolve(i);
    },
    state: (s) => {
      states.push(s);
      if (s === 'live' && states.filter((x) => x === 'live').length === 1) {
        parley('est-cert', 'send', '--kind', 'request-for-information', '--to', 'FIN:fin-ncsc', '--field', 'subject=LIVE', '--field', 'details=d');
      }
    },
  });
  setTimeout(() => {
    stop();
    resolve(null);
  }, 20000);
});
const live = await arrived;
expect(live && /^[0-9a-f-]{36}$/.test(live.id) && live.seq > 0, 'the stream (signed fetch, SSE) delivers a new message live', { live, states });
if (live) {
  const lm = await fin.open(live.id);
  expect(lm.body?.content.subject === 'LIVE', '  and it opens verified');
}
const cv = await fin.caseView(M1);
expect(cv.messages.hub.some((x) => x.id === rep.id), "the case view lists the reply (the hub's word)", cv);

console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
