/* Key files: one made by `parley keygen` opens here, one made here opens with `parley`
 * (which decrypts it to sign a request), and a hostile file is refused as libparley
 * refuses it. */
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { ParleyError } from '../src/lib/errors';
import { b64urlEncode } from '../src/lib/encoding';
import { generateIdentity, signFingerprint, signKeyId } from '../src/lib/keys';
import { inspectSecretKeyFile, makePublicKeyFile, makeSecretKeyFile, openSecretKeyFile, readPublicKeyFile } from '../src/lib/keyfile';
import { sodiumReady } from '../src/lib/sodium';
import { env, run } from './env';

const dir = mkdtempSync(join(tmpdir(), 'parley-web-keyfile-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const PASS = 'correct horse battery staple ü';

function parley(args: string[], passphrase?: string) {
  const e: NodeJS.ProcessEnv = { ...process.env };
  delete e['PARLEY_PASSPHRASE'];
  if (passphrase !== undefined) e['PARLEY_PASSPHRASE'] = passphrase;
  return run(env('PARLEY'), ['--config', '/dev/null', ...args], { env: e });
}

function code(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    if (e instanceof ParleyError) return e.code;
    throw e;
  }
  return 'OK';
}

test('a key file made by parley keygen opens in the page code', async () => {
  const na = await sodiumReady();
  const path = join(dir, 'cli.key');
  const r = parley(['keygen', '--out', path], PASS);
  assert.equal(r.status, 0, r.stderr);
  const shown = JSON.parse(parley(['--json', 'key', 'show', path]).stdout) as Record<string, string>;
  const text = readFileSync(path);
  assert.equal(inspectSecretKeyFile(na, text).encrypted, true);
  const id = openSecretKeyFile(na, text, PASS);
  assert.equal(b64urlEncode(id.signPk), shown['sign_pk']);
  assert.equal(b64urlEncode(id.boxPk), shown['box_pk']);
  assert.equal(signFingerprint(na, id.signPk), shown['fingerprint']);
  assert.equal(code(() => openSecretKeyFile(na, text, 'wrong')), 'KEYFILE_PASSPHRASE');
  assert.equal(code(() => openSecretKeyFile(na, text, null)), 'KEYFILE_NEEDS_PASSPHRASE');
  const pub = readPublicKeyFile(na, readFileSync(path + '.pub'));
  assert.deepEqual(pub.signPk, id.signPk);

  const plain = join(dir, 'plain.key');
  assert.equal(parley(['keygen', '--insecure-no-passphrase', '--out', plain]).status, 0);
  const pid = openSecretKeyFile(na, readFileSync(plain), null);
  assert.equal(signKeyId(na, pid.signPk).length, 22);
});

test('a key file made in the page is loaded by parley, which signs with it', async () => {
  const na = await sodiumReady();
  const id = generateIdentity(na);
  const path = join(dir, 'page.key');
  writeFileSync(path, makeSecretKeyFile(na, id, PASS), { mode: 0o600 });
  writeFileSync(path + '.pub', makePublicKeyFile(id));
  chmodSync(path, 0o600);
  const shown = JSON.parse(parley(['--json', 'key', 'show', path]).stdout) as Record<string, string>;
  assert.equal(shown['sign_pk'], b64urlEncode(id.signPk));
  assert.equal(shown['box_pk'], b64urlEncode(id.boxPk));
  const pubShown = JSON.parse(parley(['--json', 'key', 'show', path + '.pub']).stdout) as Record<string, string>;
  assert.equal(pubShown['fingerprint'], signFingerprint(na, id.signPk));
  /* --headers-only makes parley decrypt the key and sign a request without sending it */
  const conf = join(dir, 'page.conf');
  writeFileSync(conf, `hub = http://127.0.0.1:9\nkey = ${path}\n`);
  const ok = run(env('PARLEY'), ['--config', conf, 'api', 'GET', '/v1/whoami', '--headers-only'], { env: { ...process.env, PARLEY_PASSPHRASE: PASS } });
  assert.equal(ok.status, 0, ok.stderr);
  assert.match(ok.stdout, new RegExp(`keyid="${signKeyId(na, id.signPk)}"`));
  const bad = run(env('PARLEY'), ['--config', conf, 'api', 'GET', '/v1/whoami', '--headers-only'], { env: { ...process.env, PARLEY_PASSPHRASE: 'wrong' } });
  assert.notEqual(bad.status, 0);
  assert.match(bad.stderr, /passphrase/);
  /* and the page code reopens its own file */
  assert.deepEqual(openSecretKeyFile(na, readFileSync(path), PASS).signSk, id.signSk);
  const plain = makeSecretKeyFile(na, id, null);
  assert.deepEqual(openSecretKeyFile(na, plain, null).boxSk, id.boxSk);
  assert.equal(code(() => makeSecretKeyFile(na, id, '')), 'INVALID_ARGUMENT');
});

test('hostile or broken key files are refused', async () => {
  const na = await sodiumReady();
  const id = generateIdentity(na);
  const good = JSON.parse(makeSecretKeyFile(na, id, 'pw')) as Record<string, unknown>;
  const plain = JSON.parse(makeSecretKeyFile(na, id, null)) as Record<string, unknown>;
  const other = generateIdentity(na);
  const cases: [string, string, string][] = [
    ['not JSON', '{', 'KEYFILE_FORMAT'],
    ['duplicate key', JSON.stringify(good).replace('{', '{"format":"parley-secret-key-v1",'), 'KEYFILE_FORMAT'],
    ['wrong format', JSON.stringify({ ...good, format: 'parley-public-key-v1' }), 'KEYFILE_FORMAT'],
    ['unknown field', JSON.stringify({ ...good, extra: 1 }), 'KEYFILE_FORMAT'],
    ['opslimit over 32', JSON.stringify({ ...good, opslimit: 33 }), 'KEYFILE_FORMAT'],
    ['memlimit over 1 GiB', JSON.stringify({ ...good, memlimit: 2 ** 30 + 1 }), 'KEYFILE_FORMAT'],
    ['memlimit as a real', JSON.stringify(good).replace(/"memlimit":(\d+)/, '"memlimit":$1.0'), 'KEYFILE_FORMAT'],
    ['short salt', JSON.stringify({ ...good, salt: 'AAAA' }), 'KEYFILE_FORMAT'],
    ['padded base64', JSON.stringify({ ...good, nonce: (good['nonce'] as string) + '=' }), 'KEYFILE_FORMAT'],
    ['unknown protection', JSON.stringify({ ...good, protection: 'rot13' }), 'KEYFILE_FORMAT'],
    ['public keys of another identity', JSON.stringify({ ...plain, sign_pk: b64urlEncode(other.signPk) }), 'KEYFILE_FORMAT'],
    ['box key of small order', JSON.stringify({ ...plain, box_pk: b64urlEncode(new Uint8Array(32)) }), 'KEYFILE_FORMAT'],
    ['tampered ciphertext', JSON.stringify({ ...good, ciphertext: 'A' + (good['ciphertext'] as string).slice(1) }), 'KEYFILE_PASSPHRASE'],
    ['larger than 64 KiB', JSON.stringify({ ...good, pad: 'x'.repeat(70000) }), 'KEYFILE_FORMAT'],
  ];
  for (const [what, text, want] of cases) {
    assert.equal(code(() => openSecretKeyFile(na, text, 'pw')), want, what);
    /* libparley agrees on every case */
    const path = join(dir, 'hostile.key');
    writeFileSync(path, text, { mode: 0o600 });
    const conf = join(dir, 'hostile.conf');
    writeFileSync(conf, `hub = http://127.0.0.1:9\nkey = ${path}\n`);
    const r = run(env('PARLEY'), ['--config', conf, 'api', 'GET', '/x', '--headers-only'], { env: { ...process.env, PARLEY_PASSPHRASE: 'pw' } });
    assert.notEqual(r.status, 0, `parley accepted: ${what}`);
  }
  assert.equal(code(() => openSecretKeyFile(na, JSON.stringify(good), 'pw')), 'OK');
});
