/* Evidence packages (docs/protocol.md §13): the list (the hub's word), one package
 * with its verified manifest, download and verification with progress, its chain of
 * custody checked event by event; sending files sealed in the page, resumable after a
 * reload; the packages of a case. What is shown as fact comes from the verified
 * manifest and custody events only. */
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { Refusal, type ParleyClient } from '../lib/client';
import { CHUNK } from '../lib/evidence';
import { openSink, saveWorker } from '../lib/saveStream';
import { EvidenceClient, EvidenceRefusal, forgetUpload, pendingUploads, type CustodyLine, type FetchedFile, type Progress, type UploadState, type VerifiedPackage } from '../lib/evidenceClient';
import { HubWordBox, Loading, RefusalBox } from './components';
import { Recipients } from './Recipients';
import { download, duration, localTime, str } from './format';
import { T, useLang } from './i18n';
import type { Key } from './i18n';

export function bytes(n: number): string {
  if (!Number.isFinite(n)) return '?';
  if (n < 1024) return `${n} B`;
  if (n < 1 << 20) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1 << 30) return `${(n / (1 << 20)).toFixed(1)} MiB`;
  return `${(n / (1 << 30)).toFixed(2)} GiB`;
}

/* A size inside a sentence: a left-to-right isolate, so that "3.3 MiB" stays so in a
 * right-to-left line; in markup, <Bytes>. */
export const bytesIso = (n: number): string => `\u2066${bytes(n)}\u2069`;
export function Bytes(props: { n: number }) {
  return (
    <bdi dir="ltr" class="size">
      {bytes(props.n)}
    </bdi>
  );
}

/* The hub's package status in the reader's language (the hub's word: shown apart). */
const EV_STATUS: Record<string, Key> = {
  uploading: 'evstatus.uploading',
  available: 'evstatus.available',
  deleted: 'evstatus.deleted',
  cancelled: 'evstatus.cancelled',
  rejected: 'evstatus.rejected',
};
export function evStatus(s: unknown, t: T): string {
  const v = str(s);
  return EV_STATUS[v] ? t(EV_STATUS[v]!) : v;
}

const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
const iso = (s: number) => new Date(s * 1000).toISOString();

/* A refusal in the officer's language when the evidence client names one. */
export function EvRefusal(props: { error: unknown }) {
  const { t } = useLang();
  const e = props.error;
  if (e instanceof EvidenceRefusal) {
    const vars: Record<string, string | number> = { ...e.vars };
    return (
      <div id="refusal" class="refusal" role="alert" data-code={e.code} {...(typeof e.vars['chunk'] === 'number' ? { 'data-chunk': String(e.vars['chunk']) } : {})}>
        <strong>{t('refusal.framing')}</strong> <span>{t(e.key as Key, vars)}</span>
        <span class="code"> ({e.code})</span>
      </div>
    );
  }
  return <RefusalBox error={e} />;
}

function ProgressBar(props: { p: Progress | null }) {
  const { t } = useLang();
  const p = props.p;
  if (!p) return null;
  const phase = t(`ev.phase.${p.phase}` as Key);
  const pct = p.total > 0 ? Math.min(100, Math.floor((p.done / p.total) * 100)) : 100;
  const unit = p.phase === 'hashes';
  const text = unit
    ? `${p.done} / ${p.total}`
    : t('ev.progress', { done: bytesIso(p.done), total: bytesIso(p.total), rate: bytesIso(Math.round(p.rate)), eta: Number.isFinite(p.eta) ? duration(p.eta * 1000, t) : '—' });
  return (
    <div class="evprogress" id="ev-progress" data-phase={p.phase} data-done={p.done} data-total={p.total}>
      <label for="ev-progress-bar">{phase}</label>{' '}
      <progress id="ev-progress-bar" max={100} value={pct} aria-valuetext={`${phase}: ${pct} %, ${text}`} />{' '}
      <span id="ev-progress-text" aria-live="polite">
        {pct} % · {text}
      </span>
    </div>
  );
}

/* ---- the list ---- */

export function EvidenceList(props: { client: ParleyClient }) {
  const { t, lang } = useLang();
  const ev = useMemo(() => new EvidenceClient(props.client), [props.client]);
  const [list, setList] = useState<{ id: string; hub: Record<string, unknown> }[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    ev.list().then(setList, setError);
  }, [ev]);
  return (
    <section aria-labelledby="ev-title">
      <h1 id="ev-title" tabIndex={-1}>
        {t('ev.title')}
      </h1>
      <p class="note">{t('ev.intro')}</p>
      <p>
        <a class="button" href="#/evidence-send" id="ev-send-link">
          {t('ev.send')}
        </a>
      </p>
      <Pending client={props.client} />
      {error ? (
        <RefusalBox error={error} />
      ) : !list ? (
        <Loading />
      ) : (
        <HubWordBox title={t('ev.listHub')}>
          {list.length === 0 ? (
            <p>{t('ev.empty')}</p>
          ) : (
            <table id="ev-list" class="table">
              <thead>
                <tr>
                  <th scope="col">{t('ev.colId')}</th>
                  <th scope="col">{t('ev.colFrom')}</th>
                  <th scope="col">{t('ev.colStatus')}</th>
                  <th scope="col">{t('ev.colSize')}</th>
                  <th scope="col">{t('ev.colCreated')}</th>
                </tr>
              </thead>
              <tbody>
                {list.map((p) => {
                  const from = p.hub['from'] as Record<string, unknown> | undefined;
                  return (
                    <tr key={p.id} data-id={p.id}>
                      <td>
                        <a href={`#/evidence/${p.id}`}>
                          <code>{p.id}</code>
                        </a>
                      </td>
                      <td>
                        {str(from?.['state'])} · {str(from?.['poc'])}
                      </td>
                      <td data-status={str(p.hub['status'])}>{evStatus(p.hub['status'], t)}</td>
                      <td>{typeof p.hub['ciphertext_size'] === 'number' ? <Bytes n={p.hub['ciphertext_size']} /> : '?'}</td>
                      <td>{localTime(str(p.hub['created']), lang)}</td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          )}
        </HubWordBox>
      )}
    </section>
  );
}

/* ---- one package ---- */

export function EvidenceView(props: { client: ParleyClient; id: string }) {
  const { t, lang } = useLang();
  const ev = useMemo(() => new EvidenceClient(props.client), [props.client]);
  const [pkg, setPkg] = useState<VerifiedPackage | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [progress, setProgress] = useState<Progress | null>(null);
  const [busy, setBusy] = useState(false);
  const [fetchError, setFetchError] = useState<unknown>(null);
  const [files, setFiles] = useState<{ files: FetchedFile[]; custody: string[] } | null>(null);
  const [custody, setCustody] = useState<{ lines: CustodyLine[]; status: string; failed: number } | null>(null);
  const [custodyError, setCustodyError] = useState<unknown>(null);
  const [custodyBusy, setCustodyBusy] = useState(false);
  const abort = useRef<AbortController | null>(null);
  useEffect(() => {
    setPkg(null);
    setError(null);
    setFiles(null);
    setCustody(null);
    ev.package(props.id).then(setPkg, setError);
    return () => abort.current?.abort();
  }, [ev, props.id]);

  const fetchIt = async () => {
    if (!pkg) return;
    setBusy(true);
    setFetchError(null);
    setFiles(null);
    abort.current = new AbortController();
    try {
      const sw = await saveWorker();
      setFiles(await ev.fetch(pkg, setProgress, abort.current.signal, sw ? (name, size) => openSink(sw, name, size) : undefined));
    } catch (e) {
      setFetchError(e);
    } finally {
      setBusy(false);
    }
  };
  const checkCustody = async () => {
    if (!pkg) return;
    setCustodyBusy(true);
    setCustodyError(null);
    try {
      setCustody(await ev.custody(pkg));
    } catch (e) {
      setCustodyError(e);
    } finally {
      setCustodyBusy(false);
    }
  };

  if (error)
    return (
      <section aria-labelledby="evpkg-title">
        <h1 id="evpkg-title" tabIndex={-1}>
          {t('ev.pkgTitle')} <code>{props.id}</code>
        </h1>
        <EvRefusal error={error} />
      </section>
    );
  if (!pkg)
    return (
      <section aria-labelledby="evpkg-title">
        <h1 id="evpkg-title" tabIndex={-1}>
          {t('ev.pkgTitle')} <code>{props.id}</code>
        </h1>
        <p role="status">{t('common.verifying')}</p>
      </section>
    );
  const info = pkg.info;
  return (
    <section aria-labelledby="evpkg-title" id="evidence" data-id={info.id}>
      <h1 id="evpkg-title" tabIndex={-1}>
        {t('ev.pkgTitle')} <code>{info.id}</code>
      </h1>
      <section class="verified" id="ev-manifest" aria-labelledby="ev-manifest-title">
        <h2 id="ev-manifest-title">{t('ev.verifiedManifest')}</h2>
        <p class="note" id="ev-verified-note">
          {t('ev.verifiedNote', { who: `${info.from.state}/${info.from.poc}`, state: info.from.state, index: pkg.logIndex })}
        </p>
        <dl>
          <dt>{t('ev.from')}</dt>
          <dd id="ev-from">
            {info.from.state} · {info.from.poc}
          </dd>
          <dt>{t('ev.recipients')}</dt>
          <dd id="ev-recipients">{info.recipients.map((r) => `${r.state} · ${r.poc}`).join(', ')}</dd>
          {info.case && (
            <>
              <dt>{t('ev.case')}</dt>
              <dd>
                <a href={`#/case/${info.case}`} id="ev-case">
                  <code>{info.case}</code>
                </a>
              </dd>
            </>
          )}
          {info.request && (
            <>
              <dt>{t('ev.request')}</dt>
              <dd>
                <a href={`#/message/${info.request}`}>
                  <code>{info.request}</code>
                </a>
              </dd>
            </>
          )}
          <dt>{t('ev.created')}</dt>
          <dd>{localTime(iso(info.created), lang)}</dd>
          <dt>{t('ev.retain')}</dt>
          <dd>{localTime(iso(info.retainUntil), lang)}</dd>
          {info.notes && (
            <>
              <dt>{t('ev.notes')}</dt>
              <dd dir="auto" class="pre">
                {str(info.notes)}
              </dd>
            </>
          )}
        </dl>
        <p>{t('ev.total', { files: info.files.length, size: bytesIso(info.plaintextSize), chunks: info.chunks })}</p>
        <table id="ev-files" class="table">
          <caption>{t('ev.files')}</caption>
          <thead>
            <tr>
              <th scope="col">{t('ev.fileName')}</th>
              <th scope="col">{t('ev.fileSize')}</th>
              <th scope="col">{t('ev.fileSha')}</th>
            </tr>
          </thead>
          <tbody>
            {info.files.map((f) => (
              <tr key={f.name} data-name={f.name}>
                <td dir="auto">{str(f.name)}</td>
                <td>
                  <Bytes n={f.size} />
                </td>
                <td>
                  <code class="sha">{hex(f.sha256)}</code>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>
      <HubWordBox>
        <p>
          {t('ev.hubStatus')}: <span id="ev-status" data-status={str(pkg.status)}>
            {evStatus(pkg.status, t)}
          </span>
        </p>
      </HubWordBox>
      <section aria-labelledby="ev-fetch-title">
        <h2 id="ev-fetch-title">{t('ev.download')}</h2>
        {!pkg.isRecipient ? (
          <p id="ev-not-recipient">{t('ev.notRecipientNote')}</p>
        ) : (
          <>
            <p class="note">{t('ev.memoryNote', { chunk: bytesIso(CHUNK) })}</p>
            <div class="actions">
              <button type="button" id="ev-fetch" onClick={fetchIt} disabled={busy}>
                {busy ? t('ev.downloading') : t('ev.download')}
              </button>
              {busy && (
                <button type="button" class="secondary" id="ev-stop" onClick={() => abort.current?.abort()}>
                  {t('ev.cancel')}
                </button>
              )}
            </div>
            {(busy || fetchError !== null || files) && <ProgressBar p={progress} />}
            {fetchError !== null && <EvRefusal error={fetchError} />}
            {files && (
              <div id="ev-fetched" class="verified" role="status">
                <p>{t('ev.verifiedDone', { events: files.custody.join(', ') })}</p>
                <ul>
                  {files.files.map((f) => (
                    <li key={f.name} data-name={f.name} data-sha256={f.sha256}>
                      {f.blob ? (
                        <button type="button" class="save" onClick={() => download(f.name, f.blob!)}>
                          {t('ev.save', { name: f.name })}
                        </button>
                      ) : (
                        <span class="saved">{t('ev.saved', { name: f.name })}</span>
                      )}{' '}
                      <Bytes n={f.size} /> · SHA-256 <code class="sha">{f.sha256}</code>
                    </li>
                  ))}
                </ul>
              </div>
            )}
          </>
        )}
      </section>
      <section aria-labelledby="ev-custody-title">
        <h2 id="ev-custody-title">{t('ev.custody')}</h2>
        <p class="note">{t('ev.custodyWhat')}</p>
        <p class="note">{t('ev.custodyNot')}</p>
        <button type="button" id="ev-custody-check" onClick={checkCustody} disabled={custodyBusy}>
          {custodyBusy ? t('common.verifying') : t('ev.custodyCheck')}
        </button>
        {custodyError !== null && <EvRefusal error={custodyError} />}
        {custody && <CustodyTable c={custody} t={t} lang={lang} />}
      </section>
    </section>
  );
}

function CustodyTable(props: { c: { lines: CustodyLine[]; status: string; failed: number }; t: T; lang: string }) {
  const { c, t } = props;
  return (
    <div id="ev-custody" data-failed={c.failed}>
      <p id="ev-custody-summary" class={c.failed ? 'refusal' : 'verified'} role="status">
        {c.failed ? t('ev.custodyBad', { failed: c.failed, n: c.lines.length }) : t('ev.custodyOk', { n: c.lines.length })}
      </p>
      <table class="table">
        <thead>
          <tr>
            <th scope="col">{t('ev.event')}</th>
            <th scope="col">{t('ev.actor')}</th>
            <th scope="col">{t('ev.time')}</th>
            <th scope="col">{t('ev.check')}</th>
          </tr>
        </thead>
        <tbody>
          {c.lines.map((l, i) => (
            <tr key={i} data-event={l.event} data-verified={l.verified ? 'yes' : 'no'}>
              <td>{l.event}</td>
              <td>{l.who === 'the hub' ? t('ev.theHub') : l.who.replace(' (sender)', ` (${t('ev.sender')})`)}</td>
              <td>{l.time ? localTime(l.time, props.lang as never) : '—'}</td>
              <td>
                {l.verified ? (
                  <span class="ok">
                    {t('ev.verified')} ({t('ev.logEntry', { index: l.logIndex ?? '?' })})
                  </span>
                ) : (
                  <span class="bad">
                    {t('ev.notVerified')}: <span lang="en">{l.reason}</span>
                  </span>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <p class="note">
        {t('ev.hubStatus')}: {str(c.status)}
      </p>
    </div>
  );
}

/* ---- unfinished uploads (after a reload) ---- */

function Pending(props: { client: ParleyClient }) {
  const { t } = useLang();
  const [list, setList] = useState<UploadState[]>(() => pendingUploads(props.client.base));
  if (!list.length) return null;
  return (
    <section aria-labelledby="ev-pending-title" id="ev-pending">
      <h2 id="ev-pending-title">{t('ev.pending')}</h2>
      <p class="note">{t('ev.pendingNote')}</p>
      {list.map((s) => (
        <ResumeOne key={s.id} client={props.client} s={s} onGone={() => setList(pendingUploads(props.client.base))} />
      ))}
    </section>
  );
}

function ResumeOne(props: { client: ParleyClient; s: UploadState; onGone: () => void }) {
  const { t } = useLang();
  const [files, setFiles] = useState<File[]>([]);
  const [progress, setProgress] = useState<Progress | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const [done, setDone] = useState<{ id: string; logIndex: number } | null>(null);
  const inputId = `ev-resume-files-${props.s.id}`;
  const go = async () => {
    setBusy(true);
    setError(null);
    try {
      setDone(await new EvidenceClient(props.client).resume(props.s, files, setProgress));
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  return (
    <div class="pending" data-id={props.s.id}>
      <p>
        <code>{props.s.id}</code>: {props.s.names.map(str).join(', ')}
      </p>
      <label for={inputId}>{t('ev.chooseFiles')}</label>{' '}
      <input id={inputId} type="file" multiple onChange={(e) => setFiles(Array.from((e.target as HTMLInputElement).files ?? []))} />{' '}
      <button type="button" class="ev-resume" onClick={go} disabled={busy || !files.length}>
        {t('ev.resume')}
      </button>{' '}
      <button
        type="button"
        class="secondary"
        onClick={() => {
          forgetUpload(props.client.base, props.s.id);
          props.onGone();
        }}
        disabled={busy}
      >
        {t('ev.forget')}
      </button>
      <ProgressBar p={progress} />
      {error !== null && <EvRefusal error={error} />}
      {done && (
        <p class="verified" role="status">
          {t('ev.sent', { id: done.id, index: done.logIndex })} <a href={`#/evidence/${done.id}`}>{t('ev.open')}</a>
        </p>
      )}
    </div>
  );
}

/* ---- send ---- */

export function EvidenceSend(props: { client: ParleyClient; caseId?: string; myState?: string }) {
  const { t } = useLang();
  const ev = useMemo(() => new EvidenceClient(props.client), [props.client]);
  const [files, setFiles] = useState<File[]>([]);
  const [to, setTo] = useState<{ state: string; poc: string }[]>([]);
  const [caseId, setCaseId] = useState(props.caseId ?? '');
  const [notes, setNotes] = useState('');
  const [days, setDays] = useState('365');
  const [progress, setProgress] = useState<Progress | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const [sent, setSent] = useState<{ id: string; logIndex: number } | null>(null);
  const send = async (e: Event) => {
    e.preventDefault();
    setError(null);
    setSent(null);
    if (!files.length) return setError(new Refusal('INVALID_ARGUMENT', t('ev.noFiles')));
    if (!to.length) return setError(new Refusal('INVALID_ARGUMENT', t('ev.noRecipients')));
    setBusy(true);
    try {
      const c = caseId.trim();
      setSent(await ev.sendPackage(files, to, { ...(c ? { case: c } : {}), ...(notes.trim() ? { notes: notes.trim() } : {}), retainDays: Number(days) }, setProgress));
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <section aria-labelledby="evsend-title">
      <h1 id="evsend-title" tabIndex={-1}>
        {t('ev.sendTitle')}
      </h1>
      <p class="note">{t('ev.sendIntro')}</p>
      <form id="ev-send-form" onSubmit={send}>
        <div class="field">
          <label for="ev-files">{t('ev.chooseFiles')}</label>
          <input id="ev-files" type="file" multiple onChange={(e) => setFiles(Array.from((e.target as HTMLInputElement).files ?? []))} />
          {files.length > 0 && <p class="note">{files.map((f) => `${f.name} (${bytesIso(f.size)})`).join(', ')}</p>}
        </div>
        <Recipients client={props.client} chosen={to} set={setTo} {...(props.myState ? { myState: props.myState } : {})} />
        <div class="field">
          <label for="ev-case-field">{t('ev.caseField')}</label>
          <input id="ev-case-field" type="text" value={caseId} maxLength={36} onInput={(e) => setCaseId((e.target as HTMLInputElement).value)} />
        </div>
        <div class="field">
          <label for="ev-notes">{t('ev.notesField')}</label>
          <textarea id="ev-notes" dir="auto" rows={3} maxLength={8000} value={notes} onInput={(e) => setNotes((e.target as HTMLTextAreaElement).value)} />
        </div>
        <div class="field">
          <label for="ev-days">{t('ev.retainDays')}</label>
          <input id="ev-days" type="number" min={1} max={36500} value={days} onInput={(e) => setDays((e.target as HTMLInputElement).value)} />
        </div>
        <button type="submit" id="ev-send" disabled={busy}>
          {busy ? t('ev.sending') : t('ev.sendButton')}
        </button>
      </form>
      <ProgressBar p={progress} />
      {error !== null && <EvRefusal error={error} />}
      {sent && (
        <p id="ev-sent" class="verified" role="status" data-id={sent.id}>
          {t('ev.sent', { id: sent.id, index: sent.logIndex })}{' '}
          <a href={`#/evidence/${sent.id}`} id="ev-sent-open">
            {t('ev.open')}
          </a>
        </p>
      )}
    </section>
  );
}

/* ---- the packages of a case: each manifest verified, its case read from it ---- */

export function CaseEvidence(props: { client: ParleyClient; caseId: string }) {
  const { t, lang } = useLang();
  const [found, setFound] = useState<VerifiedPackage[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [skipped, setSkipped] = useState(0);
  useEffect(() => {
    let live = true;
    setFound(null);
    setError(null);
    const ev = new EvidenceClient(props.client);
    (async () => {
      const list = (await ev.list()).slice(0, 50);
      const out: VerifiedPackage[] = [];
      let bad = 0;
      for (const p of list) {
        try {
          const v = await ev.package(p.id);
          if (v.info.case === props.caseId) out.push(v);
        } catch {
          bad++;
        }
      }
      if (live) {
        setFound(out);
        setSkipped(bad);
      }
    })().catch((e) => live && setError(e));
    return () => {
      live = false;
    };
  }, [props.client, props.caseId]);
  return (
    <section aria-labelledby="case-ev-title" id="case-evidence">
      <h2 id="case-ev-title">{t('ev.inCase')}</h2>
      <p>
        <a class="button" href={`#/evidence-send?case=${encodeURIComponent(props.caseId)}`} id="case-ev-send">
          {t('ev.sendInCase')}
        </a>
      </p>
      {error ? (
        <RefusalBox error={error} />
      ) : !found ? (
        <p role="status">{t('common.verifying')}</p>
      ) : found.length === 0 ? (
        <p>{t('ev.inCaseNone')}</p>
      ) : (
        <ul id="case-ev-list">
          {found.map((p) => (
            <li key={p.info.id} data-id={p.info.id}>
              <a href={`#/evidence/${p.info.id}`}>
                <code>{p.info.id}</code>
              </a>{' '}
              {p.info.from.state} · {p.info.from.poc} · {localTime(iso(p.info.created), lang)} · {p.info.files.map((f) => str(f.name)).join(', ')} (<Bytes n={p.info.plaintextSize} />)
            </li>
          ))}
        </ul>
      )}
      {skipped > 0 && <p class="note">{t('ev.inCaseSkipped', { n: skipped })}</p>}
    </section>
  );
}
