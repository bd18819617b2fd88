/* One message, opened and verified in the page (ParleyClient.open: §12.3, §12.4). What
 * is shown as fact comes from the verified envelope and receipts only; the hub's
 * status, deadline and history sit apart in a box saying they are not verified. On a
 * Refusal nothing of the message is shown, only the refusal. */
import { useEffect, useState } from 'preact/hooks';
import type { OpenedMessage, ParleyClient, TemplateField } from '../lib/client';
import type { Me } from './session';
import { HubWordBox, Loading, Priority, RefusalBox, Skipped, statusLabel, TlpChip } from './components';
import { errorText, kindTitle, localTime, objects, str, templateOf, viewerTimeZone } from './format';
import { Lang } from '../lib/client';
import { T, useLang } from './i18n';
import { HistoryLine } from './history';
import { AckByState } from './Inbox';

interface Choice {
  value: string;
  labels: Record<Lang, string>;
}

function choiceLabel(field: TemplateField, value: unknown, lang: Lang): string {
  const choices = (field['choices'] as Choice[] | undefined) ?? [];
  const c = choices.find((x) => x.value === value);
  return c ? c.labels[lang] : str(value);
}

/* A body field's value as the reader reads it: enum values by their labels. */
export function FieldValue(props: { field?: TemplateField; value: unknown }) {
  const { t, lang } = useLang();
  const f = props.field;
  const v = props.value;
  if (f?.type === 'enum') return <span>{choiceLabel(f, v, lang)}</span>;
  if (f?.type === 'enum-list' && Array.isArray(v))
    return (
      <ul class="inline">
        {v.map((x) => (
          <li key={str(x)}>{choiceLabel(f, x, lang)}</li>
        ))}
      </ul>
    );
  if (typeof v === 'boolean') return <span>{v ? t('common.yes') : t('common.no')}</span>;
  if (typeof v === 'string')
    return (
      <span class="freetext" dir="auto">
        {v}
      </span>
    );
  return (
    <code dir="auto" class="freetext">
      {JSON.stringify(v)}
    </code>
  );
}

/* "fr" as the reader calls it ("French", "français", "法语"...). */
function languageName(code: string, lang: Lang): string {
  try {
    return new Intl.DisplayNames([lang], { type: 'language' }).of(code) ?? code;
  } catch {
    return code;
  }
}

function Body(props: { kind: string; body: NonNullable<OpenedMessage['body']> }) {
  const { t, lang } = useLang();
  const tpl = templateOf(props.kind);
  const content = props.body.content;
  const known = tpl ? tpl.fields.filter((f) => f.name in content) : [];
  const extra = Object.keys(content).filter((k) => !tpl?.fields.some((f) => f.name === k));
  return (
    <section class="body" aria-labelledby="body-title">
      <h2 id="body-title">{t('msg.body')}</h2>
      <p class="note">{t('msg.bodyLanguage', { lang: languageName(props.body.language, lang) })}</p>
      <dl id="body-fields">
        {known.map((f) => (
          <div class="field" key={f.name} data-field={f.name}>
            <dt>{f.labels[lang] ?? f.name}</dt>
            <dd>
              <FieldValue field={f} value={content[f.name]} />
            </dd>
          </div>
        ))}
        {extra.map((k) => (
          <div class="field" key={k} data-field={k}>
            <dt>{k}</dt>
            <dd>
              <FieldValue value={content[k]} />
            </dd>
          </div>
        ))}
      </dl>
    </section>
  );
}

function Receipts(props: { m: OpenedMessage }) {
  const { t, lang } = useLang();
  const bad = props.m.receipts.filter((r) => !r.verified);
  return (
    <section aria-labelledby="acks-title">
      <h2 id="acks-title">{t('msg.acks')}</h2>
      <div id="acks">
        <AckByState m={props.m} />
      </div>
      {props.m.receipts.length > 0 && (
        <ul class="receipts" id="receipts">
          {props.m.receipts.map((r, i) => (
            <li key={i} class={r.verified ? 'ok' : 'bad'} data-verified={r.verified ? 'yes' : 'no'}>
              {r.verified ? t('ack.receiptOk', { state: r.state, poc: r.poc, time: r.time ? localTime(r.time, lang) : '' }) : t('ack.receiptBad', { state: r.state, poc: r.poc })}
              {!r.verified && r.reason && (
                <span class="reason" lang="en">
                  {' '}
                  {r.reason}
                </span>
              )}
            </li>
          ))}
        </ul>
      )}
      {bad.length > 0 && <p class="error">{t('ack.someBad', { n: bad.length })}</p>}
    </section>
  );
}

function History(props: { hub: Record<string, unknown>; t: T; lang: Lang }) {
  const { t, lang } = props;
  const h = props.hub;
  const { items: history, skipped } = objects(h['history'], 200);
  return (
    <dl class="compact">
      <dt>{t('msg.status')}</dt>
      <dd id="hub-status">{statusLabel(str(h['status']), t)}</dd>
      {typeof h['ack_deadline'] === 'string' && (
        <>
          <dt>{t('msg.deadline')}</dt>
          <dd id="hub-deadline">
            {localTime(h['ack_deadline'] as string, lang)}
            {h['overdue'] === true && <strong class="overdue-text"> · {t('msg.overdue')}</strong>}
          </dd>
        </>
      )}
      {typeof h['received'] === 'string' && (
        <>
          <dt>{t('msg.received')}</dt>
          <dd>{localTime(h['received'] as string, lang)}</dd>
        </>
      )}
      {(history.length > 0 || skipped > 0) && (
        <>
          <dt>{t('msg.history')}</dt>
          <dd>
            <ol class="history">
              {history.map((e, i) => (
                <li key={i} data-event={str(e['event'])}>
                  <HistoryLine time={e['time']} event={e['event']} detail={e['detail']} t={t} lang={lang} />
                </li>
              ))}
            </ol>
            <Skipped n={skipped} />
          </dd>
        </>
      )}
    </dl>
  );
}

export function MessageView(props: { client: ParleyClient; id: string; me: Me | null }) {
  const { t, lang } = useLang();
  const [m, setM] = useState<OpenedMessage | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const [ackNote, setAckNote] = useState('');
  const [reload, setReload] = useState(0);

  useEffect(() => {
    let live = true;
    if (m?.id !== props.id) setM(null); /* a new message; a re-check keeps the old one on screen */
    setError(null);
    props.client.open(props.id).then(
      (x) => live && setM(x),
      (e) => live && setError(e),
    );
    return () => {
      live = false;
    };
  }, [props.id, reload]);

  /* the sender waits for receipts: verify again every 20 s until every state acknowledged */
  const waiting = !!m && !!props.me?.state && m.header.from.state === props.me.state && Object.values(m.ackByState).some((a) => !a.acknowledged);
  useEffect(() => {
    if (!waiting) return;
    const timer = setTimeout(() => setReload((x) => x + 1), 20000);
    return () => clearTimeout(timer);
  }, [waiting, m]);

  const acknowledge = async () => {
    setBusy(true);
    setAckNote('');
    try {
      const r = await props.client.acknowledge(props.id);
      setAckNote(t('msg.ackDone', { index: r.leafIndex }));
      setReload((x) => x + 1);
    } catch (e) {
      setAckNote(errorText(e, t));
    } finally {
      setBusy(false);
    }
  };

  const title = (
    <h1 id="msg-title" tabIndex={-1}>
      {m ? kindTitle(m.header.kind, lang) : t('msg.title')}
    </h1>
  );
  if (error)
    return (
      <section aria-labelledby="msg-title">
        {title}
        <RefusalBox error={error} />
        <p>
          <a href="#/inbox">{t('msg.back')}</a>
        </p>
      </section>
    );
  if (!m)
    return (
      <section aria-labelledby="msg-title">
        {title}
        <Loading />
      </section>
    );
  const h = m.header;
  const amRecipient = !!props.me?.state && h.recipients.some((r) => r.state === props.me!.state && r.poc === props.me!.poc);
  return (
    <article aria-labelledby="msg-title" class="message" id="message" data-id={m.id}>
      {title}
      <section class="verified" aria-labelledby="verified-title">
        <h2 id="verified-title">
          <span class="tick" aria-hidden="true">
            ✓
          </span>{' '}
          {t('msg.verified')}
        </h2>
        <dl class="header" id="verified-header">
          <dt>{t('msg.from')}</dt>
          <dd id="msg-from">
            {h.from.state} · {h.from.poc}
          </dd>
          <dt>{t('msg.to')}</dt>
          <dd id="msg-to">{h.recipients.map((r) => `${str(r.state)} · ${str(r.poc)}`).join(', ')}</dd>
          <dt>{t('field.kind')}</dt>
          <dd id="msg-kind">{kindTitle(h.kind, lang)}</dd>
          <dt>{t('field.priority')}</dt>
          <dd id="msg-priority">
            <Priority priority={h.priority} />
          </dd>
          <dt>TLP</dt>
          <dd id="msg-tlp">
            <TlpChip tlp={h.tlp} />
          </dd>
          <dt>{t('msg.created')}</dt>
          <dd id="msg-created">
            {localTime(h.created, lang)} <span class="note">({viewerTimeZone()})</span>
          </dd>
          {h.legal_basis && (
            <>
              <dt>{t('msg.legalBasis')}</dt>
              <dd id="msg-legal-basis" dir="auto">
                {h.legal_basis.instrument}, {h.legal_basis.article}
              </dd>
            </>
          )}
          {h.case && (
            <>
              <dt>{t('msg.case')}</dt>
              <dd>
                <a id="msg-case" href={`#/case/${encodeURIComponent(h.case)}`}>
                  {h.case}
                </a>
              </dd>
            </>
          )}
          {h.in_reply_to && (
            <>
              <dt>{t('msg.inReplyTo')}</dt>
              <dd>
                <a href={`#/message/${encodeURIComponent(h.in_reply_to)}`}>{h.in_reply_to}</a>
              </dd>
            </>
          )}
          <dt>{t('msg.logIndex')}</dt>
          <dd id="msg-log-index">{t('msg.logIncluded', { index: m.logIndex })}</dd>
        </dl>
      </section>
      {m.body ? <Body kind={h.kind} body={m.body} /> : m.ping ? <p class="note">{t('msg.ping')}</p> : <p class="note">{t('msg.noBody')}</p>}
      <div class="actions">
        {m.canAcknowledge && !m.acknowledgedByMe && (
          <button id="acknowledge" type="button" onClick={acknowledge} disabled={busy}>
            {t('msg.acknowledge')}
          </button>
        )}
        {m.acknowledgedByMe && (
          <span id="acknowledged" class="ok-text">
            {t('msg.acknowledgedByMe')}
          </span>
        )}
        <button id="refresh" type="button" class="secondary" onClick={() => setReload((x) => x + 1)}>
          {t('msg.refresh')}
        </button>
        {amRecipient && !m.ping && (
          <a id="reply" class="button" href={`#/compose?reply=${encodeURIComponent(m.id)}`}>
            {t('msg.reply')}
          </a>
        )}
      </div>
      {ackNote && (
        <p id="ack-note" role="status">
          {ackNote}
        </p>
      )}
      <Receipts m={m} />
      <HubWordBox id="hubword">
        <History hub={m.hub} t={t} lang={lang} />
      </HubWordBox>
    </article>
  );
}
