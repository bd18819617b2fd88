/* The key screens: open a key file (parley keygen's or this page's), create one, and
 * #/key, what the open key is. The secret key is opened in memory only. */
import { useState } from 'preact/hooks';
import { ParleyError } from '../lib/errors';
import { hubRequest } from '../lib/hub';
import type { JsonValue } from '../lib/json';
import { fingerprintDisplay, generateIdentity, Identity, signFingerprint, signKeyId, wipeIdentity } from '../lib/keys';
import { makePublicKeyFile, makeSecretKeyFile, openSecretKeyFile } from '../lib/keyfile';
import type { Sodium } from '../lib/sodium';
import { download } from './format';
import { T, useLang } from './i18n';

function keyError(e: unknown, t: T): string {
  if (e instanceof ParleyError) {
    switch (e.code) {
      case 'KEYFILE_PASSPHRASE':
        return t('key.wrongPassphrase');
      case 'KEYFILE_NEEDS_PASSPHRASE':
        return t('key.needsPassphrase');
      case 'KEYFILE_FORMAT':
        return t('key.badFile', { detail: e.message });
      default:
        return e.message;
    }
  }
  return e instanceof Error ? e.message : String(e);
}

export function OpenKey(props: { na: Sodium; onOpen: (id: Identity) => void }) {
  const { t } = useLang();
  const [file, setFile] = useState<File | null>(null);
  const [pass, setPass] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState('');
  const submit = async (e: Event) => {
    e.preventDefault();
    setError('');
    if (!file) {
      setError(t('key.chooseFirst'));
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
      setError(keyError(err, t));
    } finally {
      setBusy(false);
    }
  };
  return (
    <section aria-labelledby="open-title">
      <h2 id="open-title">{t('key.openTitle')}</h2>
      <p>{t('key.openIntro')}</p>
      <form onSubmit={submit}>
        <label>
          {t('key.file')}
          <input id="key-file" type="file" accept=".key,application/json" onChange={(e) => setFile((e.target as HTMLInputElement).files?.[0] ?? null)} />
        </label>
        <label>
          {t('key.passphrase')}
          <input id="passphrase" type="password" maxLength={1024} autocomplete="current-password" value={pass} onInput={(e) => setPass((e.target as HTMLInputElement).value)} />
        </label>
        <button id="open-key" type="submit" disabled={busy}>
          {busy ? t('key.opening') : t('key.open')}
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

export function CreateKey(props: { na: Sodium }) {
  const { t } = useLang();
  const [p1, setP1] = useState('');
  const [p2, setP2] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState('');
  const [made, setMade] = useState<{ secret: string; pub: string; fpr: string; name: string } | null>(null);
  const submit = async (e: Event) => {
    e.preventDefault();
    setError('');
    if (p1.length < 8) return setError(t('key.passTooShort'));
    if (p1 !== p2) return setError(t('key.passDiffer'));
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
      setError(keyError(err, t));
    } finally {
      setBusy(false);
    }
  };
  const json = (text: string) => new Blob([text], { type: 'application/json' });
  return (
    <section aria-labelledby="create-title">
      <h2 id="create-title">{t('key.createTitle')}</h2>
      <form onSubmit={submit}>
        <label>
          {t('key.newPassphrase')}
          <input id="new-passphrase" type="password" maxLength={1024} autocomplete="new-password" value={p1} onInput={(e) => setP1((e.target as HTMLInputElement).value)} />
        </label>
        <label>
          {t('key.repeatPassphrase')}
          <input id="new-passphrase2" type="password" maxLength={1024} autocomplete="new-password" value={p2} onInput={(e) => setP2((e.target as HTMLInputElement).value)} />
        </label>
        <button id="create-key" type="submit" disabled={busy}>
          {busy ? t('key.creating') : t('key.create')}
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
            {t('key.created')} <code id="created-fingerprint">{fingerprintDisplay(made.fpr)}</code>
          </p>
          <p>{t('key.createdNext')}</p>
          <div class="actions">
            <button id="download-secret" type="button" onClick={() => download(made.name, json(made.secret))}>
              {t('key.downloadSecret')}
            </button>
            <button id="download-public" type="button" onClick={() => download(made.name + '.pub', json(made.pub))}>
              {t('key.downloadPublic')}
            </button>
          </div>
        </div>
      )}
    </section>
  );
}

export function KeyPage(props: { na: Sodium; hub: string; id: Identity; me: { role: string; state?: string; poc?: string } | null; meError: string }) {
  const { t } = useLang();
  const [answer, setAnswer] = useState<{ status: number; body: JsonValue | null } | null>(null);
  const [error, setError] = useState('');
  const fpr = signFingerprint(props.na, props.id.signPk);
  const whoami = async () => {
    setError('');
    try {
      setAnswer(await hubRequest(props.na, props.hub, props.id, 'GET', '/v1/whoami'));
    } catch (err) {
      setError(keyError(err, t));
    }
  };
  return (
    <section aria-labelledby="key-title">
      <h1 id="key-title" tabIndex={-1}>{t('key.pageTitle')}</h1>
      <dl>
        <dt>{t('key.keyId')}</dt>
        <dd>
          <code id="key-id">{signKeyId(props.na, props.id.signPk)}</code>
        </dd>
        <dt>{t('key.fingerprint')}</dt>
        <dd>
          <code id="key-fingerprint">{fingerprintDisplay(fpr)}</code>
        </dd>
        {props.me && (
          <>
            <dt>{t('key.role')}</dt>
            <dd id="key-role">
              {props.me.role}
              {props.me.state ? ` · ${props.me.state}` : ''}
              {props.me.poc ? ` · ${props.me.poc}` : ''}
            </dd>
          </>
        )}
      </dl>
      {props.meError && (
        <p class="error" role="alert">
          {props.meError}
        </p>
      )}
      <button id="whoami" type="button" onClick={whoami}>
        {t('key.whoami')}
      </button>
      {answer && (
        <p id="whoami-result" data-status={answer.status}>
          {t('key.hubAnswered', { status: answer.status })} <code>{JSON.stringify(answer.body)}</code>
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
