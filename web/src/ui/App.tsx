/* The shell: skip link, header with navigation, language and lock; the key screens
 * while no key is open; the routed screens once one is. The secret key lives only in
 * this component's memory (and the client's): never in storage, never sent anywhere;
 * it is wiped when the officer locks the page or after IDLE_LOCK_MS without input, and
 * the page then reloads, so that the copies libsodium made in its WebAssembly heap go
 * too. Every screen sits in a ScreenBoundary; a page served by the hub itself (no
 * config.json) says so in a banner on every screen. */
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { browserTrustStore, Lang, ParleyClient } from '../lib/client';
import { Identity, wipeIdentity } from '../lib/keys';
import type { Sodium } from '../lib/sodium';
import type { AppConfig } from './config';
import { CaseView } from './CaseView';
import { Compose } from './Compose';
import { Directory } from './Directory';
import { EvidenceList, EvidenceSend, EvidenceView } from './Evidence';
import { HubServedBanner, ScreenBoundary } from './components';
import { errorText } from './format';
import { applyLanguage, LangContext, LANGUAGES, savedLanguage, translator, useLang } from './i18n';
import { Inbox } from './Inbox';
import { InboxStore } from './inboxStore';
import { CreateKey, KeyPage, OpenKey } from './KeyScreens';
import { MessageView } from './MessageView';
import { go, Route, useRoute } from './router';
import type { Session } from './session';
import { StatePage } from './StatePage';

const IDLE_LOCK_MS = 15 * 60 * 1000;

function hubHost(hub: string): string {
  try {
    return new URL(hub).host;
  } catch {
    return hub;
  }
}

function skipToMain(e: Event): void {
  e.preventDefault(); /* the hash is the router's */
  document.getElementById('main')?.focus();
}

function Header(props: { lang: Lang; onLang: (c: Lang) => void; session: Session | null; route: Route; onLock: () => void; hub: string }) {
  const { t } = useLang();
  const officer = props.session?.me?.role === 'officer';
  const known = !!props.session?.me;
  const r = props.route.name;
  const link = (to: string, label: string, active: boolean, id: string) => (
    <a href={to} id={id} aria-current={active ? 'page' : undefined} class={active ? 'active' : undefined}>
      {label}
    </a>
  );
  return (
    <header class="bar">
      <a class="skip" href="#main" onClick={skipToMain}>
        {t('nav.skip')}
      </a>
      <span class="brand">Parley</span>
      <span class="hub" title={t('nav.hubTitle')}>
        {hubHost(props.hub)}
      </span>
      {props.session && known && (
        <nav id="nav" aria-label={t('nav.label')}>
          {officer && link('#/inbox', t('nav.inbox'), r === 'inbox' || r === 'outbox' || r === 'message' || r === 'case', 'nav-inbox')}
          {officer && link('#/compose', t('nav.compose'), r === 'compose', 'nav-compose')}
          {officer && link('#/evidence', t('nav.evidence'), r === 'evidence' || r === 'evidence-item' || r === 'evidence-send', 'nav-evidence')}
          {link('#/directory', t('nav.directory'), r === 'directory' || r === 'state', 'nav-directory')}
          {link('#/key', t('nav.key'), r === 'key', 'nav-key')}
        </nav>
      )}
      <span class="spacer" />
      {props.session?.me?.state && (
        <span class="me" id="me">
          {props.session.me.state}
          {props.session.me.poc ? ` · ${props.session.me.poc}` : ''}
        </span>
      )}
      <label class="lang">
        {t('nav.language')}
        <select id="language" value={props.lang} onChange={(e) => props.onLang((e.target as HTMLSelectElement).value as Lang)}>
          {LANGUAGES.map((l) => (
            <option value={l.code} lang={l.code} key={l.code}>
              {l.name}
            </option>
          ))}
        </select>
      </label>
      {props.session && (
        <button id="lock" type="button" onClick={props.onLock}>
          {t('nav.lock')}
        </button>
      )}
    </header>
  );
}

function Screen(props: { session: Session; route: Route }) {
  const { t } = useLang();
  const { session, route } = props;
  const officer = session.me?.role === 'officer';
  if (route.name === 'key' || !session.me) return <KeyPage na={session.na} hub={session.hub} id={session.id} me={session.me} meError={session.meError} />;
  if (route.name === 'directory') return <Directory client={session.client} />;
  if (route.name === 'state') return <StatePage client={session.client} code={route.code} />;
  if (!officer) return <KeyPage na={session.na} hub={session.hub} id={session.id} me={session.me} meError={session.meError} />;
  switch (route.name) {
    case 'inbox':
    case 'outbox':
      return <Inbox client={session.client} store={session.store!} tab={route.name} />;
    case 'message':
      return <MessageView client={session.client} id={route.id} me={session.me} />;
    case 'compose':
      return <Compose client={session.client} reply={route.reply} me={session.me} />;
    case 'case':
      return <CaseView client={session.client} id={route.id} />;
    case 'evidence':
      return <EvidenceList client={session.client} />;
    case 'evidence-item':
      return <EvidenceView client={session.client} id={route.id} />;
    case 'evidence-send':
      return <EvidenceSend client={session.client} {...(route.case ? { caseId: route.case } : {})} {...(session.me?.state ? { myState: session.me.state } : {})} />;
    default:
      return (
        <section>
          <h1>{t('common.notFound')}</h1>
          <p>
            <a href="#/inbox">{t('nav.inbox')}</a>
          </p>
        </section>
      );
  }
}

export function App(props: { na: Sodium; config: AppConfig }) {
  const [lang, setLang] = useState<Lang>(savedLanguage);
  const [session, setSession] = useState<Session | null>(null);
  const sessionRef = useRef<Session | null>(null);
  sessionRef.current = session;
  const route = useRoute();
  const langState = useMemo(() => ({ lang, t: translator(lang) }), [lang]);

  const [locking, setLocking] = useState(false);
  const lock = () => {
    const s = sessionRef.current;
    if (s) {
      s.store?.close();
      wipeIdentity(props.na, s.id);
    }
    sessionRef.current = null;
    setLocking(true);
    /* the key's copies in libsodium's WebAssembly heap and in closures go with the page */
    location.reload();
  };

  const open = async (id: Identity) => {
    const hub = props.config.hub;
    const client = new ParleyClient(props.na, hub, id, browserTrustStore(hub));
    const s: Session = { na: props.na, hub, id, client, me: null, meError: '', store: null };
    try {
      /* the witnesses the officer's own config requires (config.json), as parley does */
      if (props.config.fromFile) client.setWitnesses(props.config.witnesses, props.config.witnessesRequired);
      s.me = await client.whoami();
    } catch (e) {
      s.meError = errorText(e, translator(lang));
    }
    if (s.me?.role === 'officer') {
      s.store = new InboxStore(client);
      void s.store.start();
      const r = route.name;
      if (r === 'unknown' || r === 'key' || !location.hash) go({ name: 'inbox' });
    } else {
      go({ name: 'key' });
    }
    setSession(s);
  };

  useEffect(() => applyLanguage(lang), [lang]);

  useEffect(() => {
    if (!session) return;
    let timer = setTimeout(lock, IDLE_LOCK_MS);
    const poke = () => {
      clearTimeout(timer);
      timer = setTimeout(lock, IDLE_LOCK_MS);
    };
    const events = ['pointerdown', 'keydown', 'wheel', 'touchstart'];
    events.forEach((ev) => window.addEventListener(ev, poke, { passive: true }));
    return () => {
      clearTimeout(timer);
      events.forEach((ev) => window.removeEventListener(ev, poke));
    };
  }, [session]);

  /* a new screen: move focus to it so screen readers and keyboards start there */
  useEffect(() => {
    const h = document.querySelector<HTMLElement>('#main h1');
    if (h && session) h.focus({ preventScroll: false });
  }, [route, session]);

  return (
    <LangContext.Provider value={langState}>
      <Header lang={lang} onLang={setLang} session={session} route={route} onLock={lock} hub={props.config.hub} />
      {!props.config.fromFile && <HubServedBanner />}
      <main id="main" tabIndex={-1}>
        <ScreenBoundary resetKey={`${session ? 'open' : 'locked'} ${location.hash}`}>
          {locking ? (
            <p role="status" id="locking">
              {langState.t('nav.lock')}…
            </p>
          ) : session ? (
            <Screen session={session} route={route} />
          ) : (
            <>
              <h1 class="visually-hidden">Parley</h1>
              <OpenKey na={props.na} onOpen={open} />
              <CreateKey na={props.na} />
            </>
          )}
        </ScreenBoundary>
      </main>
    </LangContext.Provider>
  );
}
