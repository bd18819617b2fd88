/* A state's page: its record verified in the page (ParleyClient.verifiedRecord), the
 * trust badge saying plainly what was verified and what was not, its POCs with their
 * availability and the time where they are beside the viewer's, and "Confirm
 * fingerprint" for a root key checked out of band: offered on a verified record and on
 * one refused because its root key changed or was replaced by the operator. The officer
 * types the fingerprint obtained out of band; the served one is shown only after a
 * mismatch, to compare (never beside the input, where it would only be copied). */
import { useEffect, useState } from 'preact/hooks';
import { Refusal, type ParleyClient, type TrustBadge, type VerifiedPoc, type VerifiedRecord } from '../lib/client';
import { fingerprintDisplay } from '../lib/keys';
import { Loading, RefusalBox, useNow } from './components';
import { regionLabel, roleLabel } from './labels';
import { clockIn, errorText, isObj, str, strings, viewerTimeZone } from './format';
import { T, useLang } from './i18n';

function Line(props: { ok: boolean | 'warn'; children: preact.ComponentChildren; id: string }) {
  const { t } = useLang();
  const cls = props.ok === true ? 'yes' : props.ok === 'warn' ? 'warn' : 'no';
  return (
    <li class={`badge-${cls}`} id={props.id} data-ok={String(props.ok)}>
      <span class="mark" aria-hidden="true">
        {props.ok === true ? '✓' : props.ok === 'warn' ? '!' : '✗'}
      </span>{' '}
      <span class="visually-hidden">{props.ok === true ? t('badge.yes') : props.ok === 'warn' ? t('badge.warn') : t('badge.no')}: </span>
      {props.children}
    </li>
  );
}

export function Badge(props: { badge: TrustBadge; t: T }) {
  const { badge: b, t } = props;
  const root = b.rootConfirmed ? t('badge.rootConfirmed') : b.firstContact ? t('badge.firstContact') : b.rootPinned ? t('badge.rootPinned') : t('badge.rootNot');
  const w = b.witnesses;
  return (
    <section class="badge" aria-labelledby="badge-title" id="trust-badge">
      <h2 id="badge-title">{t('badge.title')}</h2>
      <ul>
        <Line id="badge-root" ok={b.rootConfirmed ? true : b.rootPinned || b.firstContact ? 'warn' : false}>
          {root}
        </Line>
        <Line id="badge-signature" ok={b.recordSignature}>
          {b.recordSignature ? t('badge.sigOk') : t('badge.sigNo')}
        </Line>
        <Line id="badge-log" ok={b.logInclusion}>
          {b.logInclusion ? t('badge.logOk') : t('badge.logNo')}
        </Line>
        <Line id="badge-commitment" ok={b.directoryCommitment}>
          {b.directoryCommitment ? t('badge.commitOk') : t('badge.commitNo')}
        </Line>
        <Line id="badge-witnesses" ok={w.required === 0 ? 'warn' : w.valid >= w.required}>
          {w.required === 0 ? t('badge.witnessNone', { valid: w.valid }) : t('badge.witnesses', { valid: w.valid, required: w.required })}
        </Line>
        {b.operatorReplacement && (
          <Line id="badge-replacement" ok={b.operatorReplacement.accepted ? 'warn' : false}>
            {b.operatorReplacement.accepted ? t('badge.replacedAccepted') : t('badge.replaced')} <span dir="auto">“{b.operatorReplacement.reason}”</span>
          </Line>
        )}
      </ul>
    </section>
  );
}

function Poc(props: { p: VerifiedPoc; orgName: string; now: number }) {
  const { t, lang } = useLang();
  const p = props.p;
  const here = viewerTimeZone();
  const avail = str(typeof p.availability === 'string' ? p.availability : JSON.stringify(p.availability));
  return (
    <li class="poc panel" data-poc={p.id}>
      <h3 dir="auto">{str(p.name)}</h3>
      <dl class="compact">
        {p.position && (
          <>
            <dt>{t('poc.position')}</dt>
            <dd dir="auto">{str(p.position)}</dd>
          </>
        )}
        <dt>{t('poc.organisation')}</dt>
        <dd dir="auto">{props.orgName}</dd>
        <dt>{t('dir.role')}</dt>
        <dd>{strings(p.roles).map((r) => roleLabel(r, t)).join(', ')}</dd>
        <dt>{t('poc.availability')}</dt>
        <dd dir="auto" class="availability">
          {avail}
        </dd>
        <dt>{t('poc.time')}</dt>
        <dd class="clocks">
          <span class="their-time">{t('poc.theirTime', { time: clockIn(p.timezone, lang, new Date(props.now)), tz: str(p.timezone) })}</span>
          <br />
          <span class="your-time">{t('poc.yourTime', { time: clockIn(here, lang, new Date(props.now)), tz: here })}</span>
        </dd>
        <dt>{t('poc.contact')}</dt>
        <dd>
          <a href={`mailto:${str(p.email)}`}>{str(p.email)}</a> · <a href={`tel:${str(p.phone).replace(/[^+0-9]/g, '')}`}>{str(p.phone)}</a>
          {p.emergency_phone && (
            <>
              {' '}
              · {t('poc.emergency')} {str(p.emergency_phone)}
            </>
          )}
        </dd>
        <dt>{t('dir.language')}</dt>
        <dd>{strings(p.languages).join(', ')}</dd>
        <dt>{t('poc.key')}</dt>
        <dd>
          <code>{str(p.keyId)}</code>
        </dd>
      </dl>
    </li>
  );
}

/* Refusals the officer resolves by confirming the new root key out of band. */
const CONFIRMABLE = new Set(['ROOT_KEY_CHANGED', 'ROOT_REPLACED']);
const FINGERPRINT_SHOWN = /\s*[0-9a-f]{4}(?: [0-9a-f]{4}){15}/g;

/* Such a refusal without the served fingerprint in its text (see the header comment). */
function withoutFingerprint(e: unknown): unknown {
  if (!(e instanceof Refusal) || !CONFIRMABLE.has(e.code)) return e;
  return new Refusal(e.code, e.officer.replace(FINGERPRINT_SHOWN, ''), e.detail);
}

export function StatePage(props: { client: ParleyClient; code: string }) {
  const { t } = useLang();
  const now = useNow(30000);
  const [rec, setRec] = useState<VerifiedRecord | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [fpr, setFpr] = useState('');
  const [note, setNote] = useState('');
  const [reload, setReload] = useState(0);
  const [mismatch, setMismatch] = useState(false);
  useEffect(() => {
    let live = true;
    setError(null);
    setMismatch(false);
    props.client.verifiedRecord(props.code).then(
      (r) => live && setRec(r),
      (e) => live && (setRec(null), setError(e)),
    );
    return () => {
      live = false;
    };
  }, [props.code, reload]);
  const confirm = async (e: Event) => {
    e.preventDefault();
    setNote('');
    setMismatch(false);
    try {
      await props.client.trustFingerprint(props.code, fpr.replace(/[\s:]/g, '').toLowerCase());
      setNote(t('badge.confirmedNow'));
      setFpr('');
      setReload((x) => x + 1);
    } catch (err) {
      setNote(errorText(err, t));
      if (err instanceof Refusal && err.code === 'FINGERPRINT_MISMATCH') setMismatch(true);
    }
  };
  const needsConfirm = error instanceof Refusal && CONFIRMABLE.has(error.code);
  const confirmForm = (
    <form class="confirm panel" onSubmit={confirm} aria-labelledby="confirm-title">
      <h2 id="confirm-title">{t('badge.confirmTitle')}</h2>
      {needsConfirm && <p id="confirm-needed">{t('badge.confirmNeeded')}</p>}
      <p>{t('badge.confirmTyped')}</p>
      <label>
        {t('badge.confirmLabel')}
        <input id="confirm-fingerprint" type="text" maxLength={200} autocomplete="off" value={fpr} onInput={(e) => setFpr((e.target as HTMLInputElement).value)} />
      </label>
      <button id="confirm" type="submit">
        {t('badge.confirm')}
      </button>
      {note && (
        <p id="confirm-note" role="status">
          {note}
        </p>
      )}
      {mismatch && rec && (
        <p id="served-fingerprint">
          {t('badge.servedFpr')} <code id="root-fingerprint">{fingerprintDisplay(rec.rootFingerprint)}</code>
        </p>
      )}
    </form>
  );
  const orgs: Record<string, string> = {};
  if (rec && Array.isArray(rec.record?.organisations)) for (const o of rec.record.organisations as unknown[]) if (isObj(o)) orgs[str(o['id'])] = str(o['name']);
  return (
    <section aria-labelledby="state-title" class="statepage">
      <h1 id="state-title" tabIndex={-1}>
        {props.code}
        {rec && (
          <>
            {' — '}
            <span dir="auto">{str(rec.name)}</span>
          </>
        )}
      </h1>
      {error ? <RefusalBox error={withoutFingerprint(error)} /> : null}
      {needsConfirm && confirmForm}
      {!rec && !error && <Loading />}
      {rec && (
        <>
          <p class="note">
            {regionLabel(str(rec.region), t)} · {t('state.version', { version: rec.version })}
          </p>
          <Badge badge={rec.badge} t={t} />
          {confirmForm}
          <h2>{t('state.pocs')}</h2>
          <ul class="pocs" id="pocs">
            {rec.pocs.map((p) => (
              <Poc key={p.id} p={p} orgName={orgs[p.organisation] ?? str(p.organisation)} now={now} />
            ))}
          </ul>
        </>
      )}
      <p>
        <a href="#/directory">{t('nav.directory')}</a>
      </p>
    </section>
  );
}
