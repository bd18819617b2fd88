/* The hub's history lines of a message in the reader's language. The hub records each
 * event with a short English detail (src/daemon: lifecycle.c, clocks.c, job_clocks.c);
 * the page recognises the details it knows and says them with the catalogs, names
 * and ids kept as written. A detail it does not recognise is shown as the hub wrote
 * it, marked as English. */
import type { Lang } from '../lib/client';
import { statusLabel } from './components';
import { kindTitle, localTime, str, templateOf } from './format';
import type { Key, T } from './i18n';

const WHO = '([A-Z]{3}/[a-z0-9-]{1,63})';
const ID = '([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})';
const CLOCK = '([a-z][a-z-]{0,40})';
const TIME = '([0-9TZ:.+-]{10,40})';
const re = (s: string) => new RegExp(`^${s}$`);

const EVENTS: Record<string, Key> = {
  submitted: 'status.submitted',
  delivered: 'status.delivered',
  acknowledged: 'status.acknowledged',
  answered: 'status.answered',
  closed: 'status.closed',
  reminded: 'hist.ev.reminded',
  overdue: 'hist.ev.overdue',
  escalated: 'hist.ev.escalated',
  'escalation-exhausted': 'hist.ev.exhausted',
  'status-update': 'hist.ev.statusUpdate',
  'clock.started': 'hist.ev.clockStarted',
  'clock.met': 'hist.ev.clockMet',
  'clock.lapsed': 'hist.ev.clockLapsed',
  'clock.reminder': 'hist.ev.clockReminder',
  'clock.escalated': 'hist.ev.clockEscalated',
};

const CLOCKS: Record<string, Key> = {
  'respond-by': 'clock.respondBy',
  'preservation-lapse': 'clock.preservationLapse',
  'written-confirmation': 'clock.writtenConfirmation',
  'production-response': 'clock.productionResponse',
  'emergency-response': 'clock.emergencyResponse',
};

/* a status update's status by its label in the status-update template */
function statusChoice(value: string, lang: Lang): string {
  const f = templateOf('status-update')?.fields.find((x) => x.name === 'status');
  const c = ((f?.['choices'] as { value: string; labels: Record<Lang, string> }[] | undefined) ?? []).find((x) => x.value === value);
  return c ? c.labels[lang] : value;
}

export function eventLabel(event: string, t: T): { text: string; known: boolean } {
  const k = EVENTS[event];
  return k ? { text: t(k), known: true } : { text: statusLabel(event, t), known: false };
}

/* The detail in the reader's language, or null when the page does not know its form. */
export function detailText(detail: string, t: T, lang: Lang): string | null {
  /* ids and names as first-strong isolates: whole in a right-to-left line */
  const t0 = t;
  t = (k, vars) => t0(k, vars && Object.fromEntries(Object.entries(vars).map(([n, v]) => [n, n === 'who' || n === 'id' || n === 'state' ? `\u2068${v}\u2069` : v])));
  const clock = (c: string) => (CLOCKS[c] ? t(CLOCKS[c]!) : c);
  const when = (s: string) => localTime(s, lang);
  let m: RegExpMatchArray | null;
  if ((m = detail.match(re(`by ${WHO}`)))) return t('hist.by', { who: m[1]! });
  if ((m = detail.match(re(`to ${WHO}`)))) return t('hist.to', { who: m[1]! });
  if ((m = detail.match(re(`${ID} by ${WHO}`)))) return t('hist.replyBy', { id: m[1]!, who: m[2]! });
  if ((m = detail.match(re(`${ID} ([a-z-]{1,40}) by ${WHO}`)))) return t('hist.statusBy', { id: m[1]!, status: statusChoice(m[2]!, lang), who: m[3]! });
  if ((m = detail.match(re('no acknowledgement by the deadline from (.{1,200})')))) return t('hist.noAckFrom', { who: m[1]! });
  if ((m = detail.match(re(`step (\\d{1,4}): alerted ${WHO}( by e-mail)?`)))) return t(m[3] ? 'hist.stepMail' : 'hist.step', { n: m[1]!, who: m[2]! });
  if (detail === 'every POC in the escalation order was alerted') return t('hist.allAlerted');
  if (detail === 'targets that have not answered') return t('hist.remindTargets');
  if (detail === 'communication check') return t('hist.commCheck');
  if ((m = detail.match(re(`${CLOCK} due ${TIME}`)))) return t('hist.clockDue', { clock: clock(m[1]!), due: when(m[2]!) });
  if ((m = detail.match(re(`${CLOCK} lapsed \\(due ${TIME}\\)`)))) return t('hist.clockLapsed', { clock: clock(m[1]!), due: when(m[2]!) });
  if ((m = detail.match(re(`${CLOCK} met by ([a-z-]{1,64}) ${ID} from ([A-Z]{3})`)))) return t('hist.clockMet', { clock: clock(m[1]!), kind: kindTitle(m[2]!, lang), id: m[3]!, state: m[4]! });
  if ((m = detail.match(re(`${CLOCK}: alerted((?: [A-Z]{3}/[a-z0-9-]{1,63}){1,64})`)))) return t('hist.clockAlerted', { clock: clock(m[1]!), who: m[2]!.trim().split(' ').join(', ') });
  return null;
}

/* One history line: time — event (detail). Ids and names sit in <bdi> so that a right-to-
 * left line keeps them whole. */
export function HistoryLine(props: { time: unknown; event: unknown; detail: unknown; t: T; lang: Lang }) {
  const { t, lang } = props;
  const ev = eventLabel(str(props.event), t);
  const raw = props.detail ? str(props.detail) : '';
  const said = raw ? detailText(raw, t, lang) : null;
  return (
    <>
      <bdi>{localTime(str(props.time), lang)}</bdi> — {ev.known ? ev.text : <bdi lang="en">{ev.text}</bdi>}
      {raw ? (
        <>
          {' '}
          ({said !== null ? <bdi>{said}</bdi> : <bdi lang="en">{raw}</bdi>})
        </>
      ) : null}
    </>
  );
}
