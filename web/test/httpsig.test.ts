/* RFC 9421 signing: the Appendix B.2.6 vector byte for byte, and Parley's profile as
 * libparley's verifier (the hub's code) checks it. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { b64urlEncode, hexDecode, utf8 } from '../src/lib/encoding';
import { contentDigest, parleyRequestHeaders, serializeParams, signatureBase, signRequest } from '../src/lib/httpsig';
import { generateIdentity, signKeyId } from '../src/lib/keys';
import { sodiumReady } from '../src/lib/sodium';
import { env, run } from './env';

interface Vector {
  private_seed_hex: string;
  public_key_hex: string;
  request: { method: string; path: string; query: string; authority: string; headers: Record<string, string>; body: string };
  signature_base: string;
  signature_input_header: string;
  signature_header: string;
}

test('RFC 9421 B.2.6: the signature base and the Ed25519 signature', async () => {
  const na = await sodiumReady();
  const v = JSON.parse(readFileSync(join(env('PARLEY_TESTDATA'), 'rfc9421-b26.json'), 'utf8')) as Vector;
  const kp = na.crypto_sign_seed_keypair(hexDecode(v.private_seed_hex));
  assert.deepEqual(kp.publicKey, hexDecode(v.public_key_hex));
  const headers: Record<string, string> = {};
  for (const [k, val] of Object.entries(v.request.headers)) headers[k.toLowerCase()] = val;
  const req = { method: v.request.method, targetUri: `https://${v.request.authority}${v.request.path}${v.request.query}`, headers };
  const components = ['date', '@method', '@path', '@authority', 'content-type', 'content-length'];
  const params = { created: 1618884473, keyid: 'test-key-ed25519' };
  const raw = serializeParams(components, params);
  assert.equal(`sig-b26=${raw}`, v.signature_input_header);
  assert.equal(signatureBase(req, components, raw), v.signature_base);
  const sig = signRequest(na, req, components, kp.privateKey, params, 'sig-b26');
  assert.equal(sig['Signature-Input'], v.signature_input_header);
  assert.equal(sig.Signature, v.signature_header);
});

test('derived components follow RFC 9421 2.2', () => {
  const req = { method: 'GET', targetUri: 'HTTP://Hub.Example:80/v1/inbox?after=3&x=%20' };
  const base = signatureBase(req, ['@authority', '@scheme', '@path', '@query', '@request-target', '@target-uri'], '()');
  assert.equal(
    base,
    '"@authority": hub.example\n"@scheme": http\n"@path": /v1/inbox\n"@query": ?after=3&x=%20\n"@request-target": /v1/inbox?after=3&x=%20\n"@target-uri": HTTP://Hub.Example:80/v1/inbox?after=3&x=%20\n"@signature-params": ()',
  );
  assert.throws(() => signatureBase({ method: 'GET', targetUri: 'http://h/', headers: { x: 'a\nb' } }, ['x'], '()'), /control character/);
});

test("Parley's request signatures verify with libparley's verifier", async () => {
  const na = await sodiumReady();
  const id = generateIdentity(na);
  const pk = b64urlEncode(id.signPk);
  const keyid = signKeyId(na, id.signPk);
  const verify = (method: string, uri: string, h: Record<string, string>) =>
    run(env('WEBCHECK'), ['httpsig-verify', method, uri, h['Signature-Input']!, h['Signature']!, pk, ...(h['Content-Digest'] ? [h['Content-Digest']] : [])]);

  const get = parleyRequestHeaders(na, { method: 'GET', targetUri: 'http://127.0.0.1:8440/v1/whoami' }, keyid, id.signSk);
  assert.match(get['Signature-Input']!, new RegExp(`^parley=\\("@method" "@target-uri"\\);created=\\d+;keyid="${keyid}";nonce="[A-Za-z0-9_-]{32}";alg="ed25519"$`));
  let r = verify('GET', 'http://127.0.0.1:8440/v1/whoami', get);
  assert.equal(r.stdout.trim(), 'OK', r.stdout + r.stderr);

  const body = utf8('{"code":"EST","name":"Estonia ü"}');
  const post = parleyRequestHeaders(na, { method: 'POST', targetUri: 'http://127.0.0.1:8440/v1/states?x=1', body }, keyid, id.signSk);
  assert.equal(post['Content-Digest'], contentDigest(na, body));
  assert.equal(post['Content-Type'], 'application/json');
  r = verify('POST', 'http://127.0.0.1:8440/v1/states?x=1', post);
  assert.equal(r.stdout.trim(), 'OK', r.stdout + r.stderr);

  /* the verifier is not a rubber stamp: another method, URI or time fails */
  r = verify('PUT', 'http://127.0.0.1:8440/v1/states?x=1', post);
  assert.match(r.stdout, /^ERR AUTH_BAD_SIGNATURE/);
  r = verify('GET', 'http://127.0.0.1:8441/v1/whoami', get);
  assert.match(r.stdout, /^ERR AUTH_BAD_SIGNATURE/);
  const old = parleyRequestHeaders(na, { method: 'GET', targetUri: 'http://h/v1/whoami' }, keyid, id.signSk, Math.floor(Date.now() / 1000) - 3600);
  r = verify('GET', 'http://h/v1/whoami', old);
  assert.match(r.stdout, /^ERR AUTH_STALE/);

  const sse = parleyRequestHeaders(na, { method: 'GET', targetUri: 'http://h/v1/inbox/stream', lastEventId: '41' }, keyid, id.signSk);
  assert.match(sse['Signature-Input']!, /^parley=\("@method" "@target-uri" "last-event-id"\);/);
  assert.equal(sse['Last-Event-ID'], '41');
});
