/* Small pieces shared by the screens: TLP chip, priority, countdown, the refusal box
 * and the box for what only the hub says. */
import { Component, type ComponentChildren } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { Refusal } from '../lib/client';
import { duration } from './format';
import { useLang } from './i18n';

/* TLP 2.0: the official colours on black (styles.css .tlp-*). */
export function TlpChip(props: { tlp: string }) {
  const tlp = props.tlp.toUpperCase().replace(/^TLP:/, '');
  const cls = tlp.startsWith('AMBER') ? 'amber' : tlp === 'RED' ? 'red' : tlp === 'GREEN' ? 'green' : tlp === 'CLEAR' ? 'clear' : 'unknown';
  return <span class={`tlp tlp-${cls}`}>TLP:{tlp}</span>;
}

export function Priority(props: { priority: string }) {
  const { t } = useLang();
  const p = props.priority;
  const label = p === 'critical' ? t('priority.critical') : p === 'urgent' ? t('priority.urgent') : p === 'routine' ? t('priority.routine') : p;
  return <span class={`prio prio-${p === 'critical' || p === 'urgent' ? p : 'routine'}`}>{label}</span>;
}

/* One clock for every countdown on the screen. */
export function useNow(periodMs = 1000): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const id = setInterval(() => setNow(Date.now()), periodMs);
    return () => clearInterval(id);
  }, [periodMs]);
  return now;
}

const SETTLED = new Set(['acknowledged', 'answered', 'closed']);

export function Deadline(props: { deadline: unknown; status: unknown; overdue: unknown; now: number }) {
  const { t } = useLang();
  const status = typeof props.status === 'string' ? props.status : '';
  if (SETTLED.has(status)) return <span class="deadline settled">{statusLabel(status, t)}</span>;
  const d = typeof props.deadline === 'string' ? Date.parse(props.deadline) : NaN;
  if (Number.isNaN(d)) return <span class="deadline">—</span>;
  const left = d - props.now;
  if (left < 0 || props.overdue === true)
    return <span class="deadline overdue">{t('inbox.overdueBy', { d: duration(Math.min(left, 0), t) })}</span>;
  return <span class="deadline">{t('inbox.ackWithin', { d: duration(left, t) })}</span>;
}

export function statusLabel(s: string, t: ReturnType<typeof useLang>['t']): string {
  switch (s) {
    case 'submitted':
      return t('status.submitted');
    case 'delivered':
      return t('status.delivered');
    case 'acknowledged':
      return t('status.acknowledged');
    case 'answered':
      return t('status.answered');
    case 'closed':
      return t('status.closed');
    default:
      return s;
  }
}

/* Something did not verify: the officer text, and nothing of the message as fact. */
export function RefusalBox(props: { error: unknown }) {
  const { t } = useLang();
  const e = props.error;
  const officer = e instanceof Refusal ? e.officer : e instanceof Error ? e.message : String(e);
  return (
    <div id="refusal" class="refusal" role="alert">
      <strong>{t('refusal.framing')}</strong> <span lang="en">{officer}</span>
      {e instanceof Refusal && <span class="code"> ({e.code})</span>}
    </div>
  );
}

export function HubWordBox(props: { title?: string; children: ComponentChildren; id?: string }) {
  const { t } = useLang();
  return (
    <section class="hubword" aria-label={props.title ?? t('hub.word')} id={props.id}>
      <h3>{props.title ?? t('hub.word')}</h3>
      <p class="note">{t('hub.wordNote')}</p>
      {props.children}
    </section>
  );
}

export function Loading() {
  const { t } = useLang();
  return (
    <p class="loading" role="status">
      {t('common.loading')}
    </p>
  );
}

/* Elements of a hub listing that were not objects: skipped, and said. */
export function Skipped(props: { n: number }) {
  const { t } = useLang();
  if (props.n <= 0) return null;
  return (
    <p class="note skipped" data-skipped={props.n} role="status">
      {t('common.skipped', { n: props.n })}
    </p>
  );
}

/* Around every screen: an error while rendering (a hub answer of an unexpected shape)
 * shows a refusal in #refusal instead of a blank page. A new route (resetKey) tries
 * again. */
export class ScreenBoundary extends Component<{ resetKey: string; children: ComponentChildren }, { error: unknown }> {
  override state = { error: null as unknown };
  static override getDerivedStateFromError(error: unknown) {
    return { error };
  }
  override componentDidUpdate(prev: { resetKey: string }) {
    if (prev.resetKey !== this.props.resetKey && this.state.error !== null) this.setState({ error: null });
  }
  override render() {
    if (this.state.error === null) return this.props.children;
    const e = this.state.error;
    const why = e instanceof Error ? e.message : String(e);
    return (
      <section aria-labelledby="screen-error-title">
        <ScreenErrorTitle />
        <RefusalBox error={new Refusal('SCREEN', "The hub's answer could not be shown: it is not of the form this page expects.", why.slice(0, 300))} />
      </section>
    );
  }
}

function ScreenErrorTitle() {
  const { t } = useLang();
  return (
    <h1 id="screen-error-title" tabIndex={-1}>
      {t('common.screenError')}
    </h1>
  );
}

/* Shown on every screen when the hub served this copy of the page (no config.json). */
export function HubServedBanner() {
  const { t } = useLang();
  const [before, after] = t('banner.hubServed').split('{cmd}');
  return (
    <div id="hub-served-banner" class="banner-warn" role="note">
      {before}
      <code>parley web</code>
      {after}
    </div>
  );
}
