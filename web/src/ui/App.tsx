/* The shell: header, language switcher, and the key screens (open a key file, create
 * one). The secret key lives only in this component's memory: never in storage, never
 * sent anywhere; it is wiped when the officer locks the page or after IDLE_LOCK_MS
 * without input. */
import { useEffect, useRef, useState } from 'preact/hooks';
import { ParleyError } from '../lib/errors';
import { hubRequest } from '../lib/hub';
import { JsonValue } from '../lib/json';
import { fingerprintDisplay, generateIdentity, Identity, signFingerprint, signKeyId, wipeIdentity } from '../lib/keys';
import { makePublicKeyFile, makeSecretKeyFile, openSecretKeyFile } from '../lib/keyfile';
import { Sodium } from '../lib/sodium';
import { applyLanguage, LANGUAGES } from './i18n';

const IDLE_LOCK_MS = 15 * 60 * 1000;

function message(e: unknown): string {
  if (e instanceof ParleyError) {
    switch (e.code) {
      case 'KEYFILE_PASSPHRASE':
        return 'Wrong passphrase for this key file.';
      case 'KEYFILE_NEEDS_PASSPHRASE':
        return 'This key file is encrypted: enter its passphrase.';
      case 'KEYFILE_FORMAT':
        return `This is not a usable Parley secret key file (${e.message}).`;
      default:
        return e.message;
    }
  }
  return e instanceof Error ? e.message : String(e);
}

function download(name: string, text: string): void {
  const url = URL.createObjectURL(new Blob([text], { type: 'application/json' }));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

function Header(props: { lang: string; onLang: (c: string) => void; locked: boolean; onLock: () => void }) {
  return (
    <header class="bar">
      <h1>Parley</h1>
      <span class="hub" title="The hub this page talks to">
        {location.host}
      </span>
      <label class="lang">
        Language{' '}
        <select id="language" value={props.lang} onChange={(e) => props.onLang((e.target as HTMLSelectElement).value)}>
          {LANGUAGES.map((l) => (
            <option value={l.code} lang={l.code} key={l.code}>
              {l.name}
            </option>
          ))}
        </select>
      </label>
      {!props.locked && (
        <button id="lock" type="button" onClick={props.onLock}>
          Lock
        </button>
      )}
    </header>
  );
}

function OpenKey(props: { na: Sodium; onOpen: (id: Identity) => void }) {
  const [file, setFile] = useState<File | null>(null);
  const [pass, setPass] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState('');
  const submit = async (e: Event) => {
    e.preventDefault();
    setError('');
    if (!file) {
      setError('Choose your key file first.');
      return;
    }
    setBusy(true);
    try {
      const bytes = new Uint8Array(await file.arrayBuffer());
      /* let the "Opening" state paint before Argon2id occupies the thread */
      await new Promise((r) => setTimeout(r, 20));
      const id = openSecretKeyFile(props.na, bytes, pass === '' ? null : pass);
      setPass('');
      props.onOpen(id);
    } catch (err) {
      setError(message(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <section aria-labelledby="open-title">
      <h2 id="open-title">Open your key file</h2>
      <p>The key file made by <code>parley keygen</code> or by this page. It is opened here, in the page; the secret key never leaves it.</p>
      <form onSubmit={submit}>
        <label>
          Key file
          <input id="key-file" type="file" accept=".key,application/json" onChange={(e) => setFile((e.target as HTMLInputElement).files?.[0] ?? null)} />
        </label>
        <label>
          Passphrase
          <input id="passphrase" type="password" autocomplete="current-password" value={pass} onInput={(e) => setPass((e.target as HTMLInputElement).value)} />
        </label>
        <button id="open-key" type="submit" disabled={busy}>
          {busy ? 'Opening…' : 'Open'}
        </button>
      </form>
      {error && (
        <p id="open-error" class="error" role="alert">
          {error}
        </p>
      )}
    </section>
  );
}

function CreateKey(props: { na: Sodium }) {
  const [p1, setP1] = useState('');
  const [p2, setP2] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState('');
  const [made, setMade] = useState<{ secret: string; pub: string; fpr: string; name: string } | null>(null);
  const submit = async (e: Event) => {
    e.preventDefault();
    setError('');
    if (p1.length < 8) return setError('Choose a passphrase of at least 8 characters.');
    if (p1 !== p2) return setError('The two passphrases differ.');
    setBusy(true);
    await new Promise((r) => setTimeout(r, 20));
    try {
      const id = generateIdentity(props.na);
      const secret = makeSecretKeyFile(props.na, id, p1);
      const pub = makePublicKeyFile(id);
      const fpr = signFingerprint(props.na, id.signPk);
      wipeIdentity(props.na, id);
      setMade({ secret, pub, fpr, name: `parley-${fpr.slice(0, 8)}.key` });
      setP1('');
      setP2('');
    } catch (err) {
      setError(message(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <section aria-labelledby="create-title">
      <h2 id="create-title">Or create a new key</h2>
      <form onSubmit={submit}>
        <label>
          New passphrase
          <input id="new-passphrase" type="password" autocomplete="new-password" value={p1} onInput={(e) => setP1((e.target as HTMLInputElement).value)} />
        </label>
        <label>
          Repeat it
          <input id="new-passphrase2" type="password" autocomplete="new-password" value={p2} onInput={(e) => setP2((e.target as HTMLInputElement).value)} />
        </label>
        <button id="create-key" type="submit" disabled={busy}>
          {busy ? 'Creating…' : 'Create key'}
        </button>
      </form>
      {error && (
        <p id="create-error" class="error" role="alert">
          {error}
        </p>
      )}
      {made && (
        <div id="created" class="panel">
          <p>
            Key created. Fingerprint: <code id="created-fingerprint">{fingerprintDisplay(made.fpr)}</code>
          </p>
          <p>
            Save the secret key file (then <code>chmod 600</code> it: <code>parley</code> refuses a secret key others can read), and give the public
            file to your state's administrator.
          </p>
          <button id="download-secret" type="button" onClick={() => download(made.name, made.secret)}>
            Download secret key file
          </button>{' '}
          <button id="download-public" type="button" onClick={() => download(made.name + '.pub', made.pub)}>
            Download public key file
          </button>
        </div>
      )}
    </section>
  );
}

function KeyOpen(props: { na: Sodium; id: Identity }) {
  const [answer, setAnswer] = useState<{ status: number; body: JsonValue | null } | null>(null);
  const [error, setError] = useState('');
  const fpr = signFingerprint(props.na, props.id.signPk);
  const whoami = async () => {
    setError('');
    try {
      setAnswer(await hubRequest(props.na, location.origin, props.id, 'GET', '/v1/whoami'));
    } catch (err) {
      setError(message(err));
    }
  };
  return (
    <section aria-labelledby="key-title">
      <h2 id="key-title">Key open</h2>
      <dl>
        <dt>Key id</dt>
        <dd>
          <code id="key-id">{signKeyId(props.na, props.id.signPk)}</code>
        </dd>
        <dt>Fingerprint</dt>
        <dd>
          <code id="key-fingerprint">{fingerprintDisplay(fpr)}</code>
        </dd>
      </dl>
      <button id="whoami" type="button" onClick={whoami}>
        Ask the hub who I am
      </button>
      {answer && (
        <p id="whoami-result" data-status={answer.status}>
          The hub answered {answer.status}: <code>{JSON.stringify(answer.body)}</code>
        </p>
      )}
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
    </section>
  );
}

export function App(props: { na: Sodium }) {
  const [lang, setLang] = useState('en');
  const [id, setId] = useState<Identity | null>(null);
  const idRef = useRef<Identity | null>(null);
  idRef.current = id;

  const lock = () => {
    if (idRef.current) wipeIdentity(props.na, idRef.current);
    setId(null);
  };

  useEffect(() => applyLanguage(lang), [lang]);

  useEffect(() => {
    if (!id) return;
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
  }, [id]);

  return (
    <>
      <Header lang={lang} onLang={setLang} locked={!id} onLock={lock} />
      <main>
        {id ? (
          <KeyOpen na={props.na} id={id} />
        ) : (
          <>
            <OpenKey na={props.na} onOpen={setId} />
            <CreateKey na={props.na} />
          </>
        )}
      </main>
    </>
  );
}
