/* The inbox (live, newest first) and the outbox. Every field in the listing is the
 * hub's word (unsigned): shown for triage; the message view is where facts are
 * verified. Filters: priority, kind, sender state, overdue, unacknowledged; search. */
import { useEffect, useMemo, useState } from 'preact/hooks';
import type { InboxItem, OpenedMessage, ParleyClient } from '../lib/client';
import { AckSummary, AckTracker } from './ackTracker';
import { Deadline, Priority, RefusalBox, statusLabel, TlpChip, useNow } from './components';
import { allTemplates, isObj, kindTitle, localTime, str } from './format';
import { useLang } from './i18n';
import type { InboxStore } from './inboxStore';
import { VirtualList } from './VirtualList';

interface Filters {
  priority: string;
  kind: string;
  state: string;
  overdue: boolean;
  unacked: boolean;
  q: string;
}
const NO_FILTER: Filters = { priority: '', kind: '', state: '', overdue: false, unacked: false, q: '' };
const UNACKED = new Set(['submitted', 'delivered']);

function from(i: InboxItem): { state: string; poc: string } {
  const f = isObj(i.hub) ? i.hub['from'] : undefined;
  return isObj(f) ? { state: str(f['state']), poc: str(f['poc']) } : { state: '', poc: '' };
}

function isOverdue(i: InboxItem, now: number): boolean {
  if (!UNACKED.has(str(i.hub['status']))) return false;
  if (i.hub['overdue'] === true) return true;
  const d = Date.parse(str(i.hub['ack_deadline']));
  return !Number.isNaN(d) && d < now;
}

function applyFilters(items: InboxItem[], f: Filters, now: number, titles: Map<string, string>): InboxItem[] {
  const q = f.q.trim().toLowerCase();
  if (!f.priority && !f.kind && !f.state && !f.overdue && !f.unacked && !q) return items;
  return items.filter((i) => {
    const h = i.hub;
    if (f.priority && h['priority'] !== f.priority) return false;
    if (f.kind && h['kind'] !== f.kind) return false;
    if (f.state && from(i).state !== f.state) return false;
    if (f.unacked && !UNACKED.has(str(h['status']))) return false;
    if (f.overdue && !isOverdue(i, now)) return false;
    if (q) {
      const fr = from(i);
      const hay = `${i.id} ${str(h['kind'])} ${titles.get(str(h['kind'])) ?? ''} ${fr.state} ${fr.poc} ${str(h['case'])} ${str(h['tlp'])} ${str(h['priority'])}`.toLowerCase();
      if (!hay.includes(q)) return false;
    }
    return true;
  });
}

function Row(props: { item: InboxItem; now: number }) {
  const { lang } = useLang();
  const h = props.item.hub;
  const f = from(props.item);
  const overdue = isOverdue(props.item, props.now);
  return (
    <div class={`msgrow${overdue ? ' overdue' : ''}`} data-id={props.item.id}>
      <a class="msglink" href={`#/message/${encodeURIComponent(props.item.id)}`}>
        <Priority priority={str(h['priority'])} />
        <span class="from" dir="auto">
          {`${f.state} · ${f.poc}`}
        </span>
        <span class="kind">{kindTitle(str(h['kind']), lang)}</span>
      </a>
      <span class="meta">
        <TlpChip tlp={str(h['tlp'])} />
        <span class="created">{localTime(str(h['created']), lang)}</span>
        <Deadline deadline={h['ack_deadline']} status={h['status']} overdue={h['overdue']} now={props.now} />
      </span>
    </div>
  );
}

/* The acknowledgement column of an outbox row: from verified receipts only. */
function AckCell(props: { a: AckSummary | undefined }) {
  const { t } = useLang();
  const a = props.a;
  if (!a || a.status === 'pending')
    return (
      <span class="acksum" data-ack="pending">
        {t('outbox.acksPending')}
      </span>
    );
  if (a.status === 'refused')
    return (
      <span class="acksum ack-no" data-ack="refused" title={a.why}>
        {t('outbox.acksBad')}
      </span>
    );
  const total = a.acked.length + a.waiting.length;
  const all = total > 0 && a.waiting.length === 0;
  return (
    <span class={`acksum ${all ? 'ack-yes' : 'ack-no'}`} data-ack={all ? 'all' : a.acked.length ? 'part' : 'none'} data-acked={a.acked.join(' ')}>
      {t('outbox.acksCount', { n: a.acked.length, total })}
      {a.acked.length > 0 && ` (${a.acked.join(', ')})`}
      {a.badReceipts > 0 && ` · ${t('outbox.acksBad')}: ${a.badReceipts}`}
    </span>
  );
}

function OutboxRow(props: { item: InboxItem; tracker: AckTracker; onAck: (id: string) => void }) {
  const { t, lang } = useLang();
  const h = props.item.hub;
  const id = props.item.id;
  useEffect(() => {
    if (id) props.tracker.want(id);
  }, [id, props.tracker]);
  return (
    <div class="msgrow" data-id={id}>
      <a class="msglink" href={`#/message/${encodeURIComponent(id)}`}>
        <Priority priority={str(h['priority'])} />
        <span class="kind">{kindTitle(str(h['kind']), lang)}</span>
      </a>
      <span class="meta">
        <TlpChip tlp={str(h['tlp'])} />
        <span class="created">{localTime(str(h['created']), lang)}</span>
        <span class="col-acks">
          <span class="collabel">{t('outbox.acks')}:</span> <AckCell a={props.tracker.get(id)} />
        </span>
        <span class="col-hub hubsays">
          <span class="collabel">{t('outbox.hubStatus')}:</span> <span class="hubstatus">{statusLabel(str(h['status']), t)}</span>
        </span>
        <button type="button" class="small ackcheck" onClick={() => props.onAck(id)}>
          {t('outbox.checkAcks')}
        </button>
      </span>
    </div>
  );
}

function FilterBar(props: { f: Filters; set: (f: Filters) => void; states: string[] }) {
  const { t, lang } = useLang();
  const f = props.f;
  const upd = (patch: Partial<Filters>) => props.set({ ...f, ...patch });
  return (
    <form class="filters" role="search" aria-label={t('inbox.filters')} onSubmit={(e) => e.preventDefault()}>
      <label>
        {t('inbox.search')}
        <input id="search" type="search" maxLength={200} value={f.q} onInput={(e) => upd({ q: (e.target as HTMLInputElement).value })} />
      </label>
      <label>
        {t('field.priority')}
        <select id="filter-priority" value={f.priority} onChange={(e) => upd({ priority: (e.target as HTMLSelectElement).value })}>
          <option value="">{t('inbox.all')}</option>
          <option value="critical">{t('priority.critical')}</option>
          <option value="urgent">{t('priority.urgent')}</option>
          <option value="routine">{t('priority.routine')}</option>
        </select>
      </label>
      <label>
        {t('field.kind')}
        <select id="filter-kind" value={f.kind} onChange={(e) => upd({ kind: (e.target as HTMLSelectElement).value })}>
          <option value="">{t('inbox.all')}</option>
          {allTemplates().map((tp) => (
            <option value={tp.kind} key={tp.kind}>
              {tp.title[lang]}
            </option>
          ))}
        </select>
      </label>
      <label>
        {t('field.state')}
        <select id="filter-state" value={f.state} onChange={(e) => upd({ state: (e.target as HTMLSelectElement).value })}>
          <option value="">{t('inbox.all')}</option>
          {props.states.map((s) => (
            <option value={s} key={s}>
              {s}
            </option>
          ))}
        </select>
      </label>
      <label class="check">
        <input id="filter-overdue" type="checkbox" checked={f.overdue} onChange={(e) => upd({ overdue: (e.target as HTMLInputElement).checked })} />
        {t('inbox.overdueOnly')}
      </label>
      <label class="check">
        <input id="filter-unacked" type="checkbox" checked={f.unacked} onChange={(e) => upd({ unacked: (e.target as HTMLInputElement).checked })} />
        {t('inbox.unackedOnly')}
      </label>
      {f !== NO_FILTER && (
        <button type="button" class="small secondary" id="filter-clear" onClick={() => props.set(NO_FILTER)}>
          {t('inbox.clear')}
        </button>
      )}
    </form>
  );
}

function useStore(store: InboxStore): number {
  const [v, setV] = useState(0);
  useEffect(() => {
    /* coalesce bursts (the history arrives 500 at a time) into one render per frame */
    let pending = 0;
    const off = store.subscribe(() => {
      if (!pending) pending = requestAnimationFrame(() => ((pending = 0), setV((x) => x + 1)));
    });
    return () => {
      off();
      if (pending) cancelAnimationFrame(pending);
    };
  }, [store]);
  return v;
}

function Tabs(props: { tab: 'inbox' | 'outbox' }) {
  const { t } = useLang();
  return (
    <nav class="tabs" aria-label={t('inbox.tabs')}>
      <a href="#/inbox" id="tab-inbox" aria-current={props.tab === 'inbox' ? 'page' : undefined}>
        {t('nav.inbox')}
      </a>
      <a href="#/outbox" id="tab-outbox" aria-current={props.tab === 'outbox' ? 'page' : undefined}>
        {t('outbox.title')}
      </a>
    </nav>
  );
}

function Connection(props: { store: InboxStore }) {
  const { t } = useLang();
  const c = props.store.connection;
  const label =
    c === 'live' ? t('conn.live') : c === 'connecting' ? t('conn.connecting') : c === 'retrying' ? t('conn.retrying') : c === 'loading' ? t('conn.loading') : c === 'failed' ? t('conn.failed') : t('conn.stopped');
  return (
    <p id="connection" class={`conn conn-${c}`} data-state={c} role="status">
      <span class="dot" aria-hidden="true" />
      {label}
      {props.store.why && c !== 'live' ? ` (${props.store.why})` : ''}
    </p>
  );
}

export function Inbox(props: { client: ParleyClient; store: InboxStore; tab: 'inbox' | 'outbox' }) {
  const { t, lang } = useLang();
  const version = useStore(props.store);
  const now = useNow(1000);
  const [f, setF] = useState<Filters>(NO_FILTER);
  const titles = useMemo(() => new Map(allTemplates().map((tp) => [tp.kind, tp.title[lang]])), [lang]);
  /* the overdue filter depends on the clock: refresh it every 30 s, not every second */
  const minute = Math.floor(now / 30000);
  const items = props.store.items;
  const states = useMemo(() => [...new Set(items.map((i) => from(i).state))].filter(Boolean).sort(), [version]);
  const shown = useMemo(() => applyFilters(items, f, Date.now(), titles), [version, f, titles, f.overdue ? minute : 0]);
  if (props.tab === 'outbox') return <Outbox client={props.client} />;
  return (
    <section aria-labelledby="inbox-title" class="inbox">
      <div class="titlebar">
        <h1 id="inbox-title" tabIndex={-1}>
          {t('nav.inbox')}
        </h1>
        <Connection store={props.store} />
      </div>
      <Tabs tab="inbox" />
      <p class="note">{t('inbox.hubNote')}</p>
      <FilterBar f={f} set={setF} states={states} />
      <p id="inbox-count" role="status" data-total={items.length} data-shown={shown.length}>
        {t('inbox.count', { shown: shown.length, total: items.length })}
      </p>
      {props.store.connection === 'failed' && <RefusalBox error={new Error(props.store.why)} />}
      <VirtualList id="inbox-list" label={t('nav.inbox')} items={shown} keyOf={(i) => i.id} row={(i) => <Row item={i} now={now} />} />
    </section>
  );
}

function Outbox(props: { client: ParleyClient }) {
  const { t } = useLang();
  const [items, setItems] = useState<InboxItem[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [ack, setAck] = useState<{ id: string; m?: OpenedMessage; error?: unknown } | null>(null);
  const tracker = useMemo(() => new AckTracker(props.client), [props.client]);
  const [, setAckVersion] = useState(0);
  useEffect(() => {
    let pending = 0;
    const off = tracker.subscribe(() => {
      if (!pending) pending = requestAnimationFrame(() => ((pending = 0), setAckVersion((x) => x + 1)));
    });
    return () => {
      off();
      if (pending) cancelAnimationFrame(pending);
      tracker.close();
    };
  }, [tracker]);
  useEffect(() => {
    let live = true;
    (async () => {
      const all: InboxItem[] = [];
      let after = 0;
      for (let pages = 0; pages < 400; pages++) {
        const p = await props.client.outbox(after, 500);
        all.push(...p.items);
        if (p.items.length < 500 || p.next <= after) break;
        after = p.next;
      }
      all.sort((a, b) => b.seq - a.seq);
      if (live) setItems(all);
    })().catch((e) => live && setError(e));
    return () => {
      live = false;
    };
  }, [props.client]);
  const check = async (id: string) => {
    setAck({ id });
    try {
      const m = await props.client.open(id);
      tracker.set(id, m);
      setAck({ id, m });
    } catch (e) {
      setAck({ id, error: e });
    }
    document.getElementById('outbox-ack')?.focus();
  };
  return (
    <section aria-labelledby="outbox-title" class="inbox">
      <h1 id="outbox-title" tabIndex={-1}>
        {t('outbox.title')}
      </h1>
      <Tabs tab="outbox" />
      <p class="note">{t('inbox.hubNote')}</p>
      {error ? <RefusalBox error={error} /> : null}
      {ack && (
        <section id="outbox-ack" class="panel" tabIndex={-1} aria-live="polite" aria-label={t('outbox.ackTitle')}>
          <h2>{t('outbox.ackTitle')}</h2>
          <p>
            <a href={`#/message/${encodeURIComponent(ack.id)}`}>{ack.id}</a>
          </p>
          {ack.error ? <RefusalBox error={ack.error} /> : ack.m ? <AckByState m={ack.m} /> : <p role="status">{t('common.verifying')}</p>}
        </section>
      )}
      {items === null && !error ? (
        <p role="status">{t('common.loading')}</p>
      ) : (
        items && (
          <>
            <p id="outbox-count">{t('inbox.count', { shown: items.length, total: items.length })}</p>
            <VirtualList id="outbox-list" label={t('outbox.title')} items={items} keyOf={(i) => i.id} row={(i) => <OutboxRow item={i} tracker={tracker} onAck={check} />} />
          </>
        )
      )}
    </section>
  );
}

/* Acknowledgement per recipient state, from verified receipts (ParleyClient.open). */
export function AckByState(props: { m: OpenedMessage }) {
  const { t, lang } = useLang();
  const entries = Object.entries(props.m.ackByState);
  return (
    <ul class="acks" data-verified="true">
      {entries.map(([state, a]) => (
        <li key={state} class={a.acknowledged ? 'ack-yes' : 'ack-no'} data-state={state} data-acknowledged={a.acknowledged ? 'yes' : 'no'}>
          <strong>{state}</strong>: {a.acknowledged ? t('ack.verifiedAt', { time: a.time ? localTime(a.time, lang) : '' }) : t('ack.notYet')}
        </li>
      ))}
    </ul>
  );
}
