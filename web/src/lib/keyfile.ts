/* Secret and public key files, docs/protocol.md §2 "Key files", read and written
 * exactly as src/lib/crypto/keyfile.c does, so a file made by `parley keygen` opens in
 * the page and one made in the page opens with `parley`. A hostile file can demand
 * neither unbounded memory nor unbounded time. */
import { fail, ParleyError } from './errors';
import { b64urlDecode, b64urlEncode, utf8 } from './encoding';
import { JsonObject, JsonValue, parseJsonObject } from './json';
import { boxPkFromB64, Identity, identityFromSeeds, PublicIdentity, signPkFromB64 } from './keys';
import type { Sodium } from './sodium';

export const SECRET_FORMAT = 'parley-secret-key-v1';
export const PUBLIC_FORMAT = 'parley-public-key-v1';
export const KEYFILE_MAX_BYTES = 65536; /* PARLEY_KEYFILE_MAX_BYTES */
export const KEYFILE_OPSLIMIT_MAX = 32; /* PARLEY_KEYFILE_OPSLIMIT_MAX */
export const KEYFILE_MEMLIMIT_MAX = 1 << 30; /* PARLEY_KEYFILE_MEMLIMIT_MAX */

const FIELDS_NONE = ['format', 'sign_pk', 'box_pk', 'protection', 'secret'];
const FIELDS_ARGON = ['format', 'sign_pk', 'box_pk', 'protection', 'salt', 'opslimit', 'memlimit', 'nonce', 'ciphertext'];
const FIELDS_PUBLIC = ['format', 'sign_pk', 'box_pk'];

function parseFile(text: string | Uint8Array, format: string): JsonObject {
  const size = typeof text === 'string' ? utf8(text).length : text.length;
  if (size > KEYFILE_MAX_BYTES) fail('KEYFILE_FORMAT', `key file larger than ${KEYFILE_MAX_BYTES} bytes`);
  let root: JsonObject;
  try {
    root = parseJsonObject(text, { maxBytes: KEYFILE_MAX_BYTES, maxDepth: 32, maxString: KEYFILE_MAX_BYTES, maxItems: 1000 });
  } catch (e) {
    return fail('KEYFILE_FORMAT', e instanceof ParleyError ? e.message : 'not JSON');
  }
  if (root['format'] !== format) fail('KEYFILE_FORMAT', `'format' is not "${format}"`);
  return root;
}

function checkFields(root: JsonObject, allowed: string[]): void {
  for (const k of Object.keys(root))
    if (!allowed.includes(k)) fail('KEYFILE_FORMAT', `unknown field '${k.slice(0, 64)}'`);
}

function str(root: JsonObject, key: string): string {
  const v = root[key];
  if (typeof v !== 'string') fail('KEYFILE_FORMAT', `field '${key}' missing or not a string`);
  return v;
}

function b64(root: JsonObject, key: string, n: number): Uint8Array {
  try {
    return b64urlDecode(str(root, key), n);
  } catch (e) {
    if (e instanceof ParleyError && e.code === 'KEYFILE_FORMAT') throw e;
    return fail('KEYFILE_FORMAT', `field '${key}' is not ${n} bytes of base64url`);
  }
}

function limit(root: JsonObject, key: string, min: number, max: number): number {
  const v: JsonValue | undefined = root[key];
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max)
    fail('KEYFILE_FORMAT', `field '${key}' must be an integer in [${min}, ${max}]`);
  return v;
}

function publicOf(na: Sodium, root: JsonObject): PublicIdentity {
  let signPk: Uint8Array, boxPk: Uint8Array;
  try {
    signPk = signPkFromB64(na, str(root, 'sign_pk'));
  } catch (e) {
    if (e instanceof ParleyError && e.code === 'KEYFILE_FORMAT') throw e;
    return fail('KEYFILE_FORMAT', "'sign_pk' is not an Ed25519 key");
  }
  try {
    boxPk = boxPkFromB64(na, str(root, 'box_pk'));
  } catch (e) {
    if (e instanceof ParleyError && e.code === 'KEYFILE_FORMAT') throw e;
    return fail('KEYFILE_FORMAT', "'box_pk' is not an X25519 key");
  }
  return { signPk, boxPk };
}

/* What a secret key file says before any passphrase is asked for. */
export interface SecretKeyFileInfo {
  publicKeys: PublicIdentity;
  encrypted: boolean;
}

export function inspectSecretKeyFile(na: Sodium, text: string | Uint8Array): SecretKeyFileInfo {
  const root = parseFile(text, SECRET_FORMAT);
  const prot = str(root, 'protection');
  if (prot !== 'none' && prot !== 'argon2id') fail('KEYFILE_FORMAT', "unknown 'protection'");
  return { publicKeys: publicOf(na, root), encrypted: prot === 'argon2id' };
}

/* Opens a secret key file. passphrase null: only an unprotected file opens
 * (KEYFILE_NEEDS_PASSPHRASE otherwise). Errors: KEYFILE_FORMAT, KEYFILE_PASSPHRASE. */
export function openSecretKeyFile(na: Sodium, text: string | Uint8Array, passphrase: string | null): Identity {
  const root = parseFile(text, SECRET_FORMAT);
  const stored = publicOf(na, root);
  const prot = str(root, 'protection');
  let secret: Uint8Array;
  if (prot === 'none') {
    checkFields(root, FIELDS_NONE);
    secret = b64(root, 'secret', 64);
  } else if (prot === 'argon2id') {
    checkFields(root, FIELDS_ARGON);
    const salt = b64(root, 'salt', na.crypto_pwhash_SALTBYTES);
    const nonce = b64(root, 'nonce', na.crypto_secretbox_NONCEBYTES);
    const ct = b64(root, 'ciphertext', 64 + na.crypto_secretbox_MACBYTES);
    const ops = limit(root, 'opslimit', na.crypto_pwhash_argon2id_OPSLIMIT_MIN, KEYFILE_OPSLIMIT_MAX);
    const mem = limit(root, 'memlimit', na.crypto_pwhash_argon2id_MEMLIMIT_MIN, KEYFILE_MEMLIMIT_MAX);
    if (passphrase === null) fail('KEYFILE_NEEDS_PASSPHRASE', 'the key file is encrypted');
    const key = na.crypto_pwhash(32, utf8(passphrase), salt, ops, mem, na.crypto_pwhash_ALG_ARGON2ID13);
    try {
      secret = na.crypto_secretbox_open_easy(ct, nonce, key);
    } catch {
      return fail('KEYFILE_PASSPHRASE', 'wrong passphrase');
    } finally {
      na.memzero(key);
    }
  } else {
    return fail('KEYFILE_FORMAT', "unknown 'protection'");
  }
  let id: Identity;
  try {
    id = identityFromSeeds(na, secret.subarray(0, 32), secret.subarray(32, 64));
  } catch {
    return fail('KEYFILE_FORMAT', 'unusable secret key');
  } finally {
    na.memzero(secret);
  }
  if (!na.memcmp(id.signPk, stored.signPk) || !na.memcmp(id.boxPk, stored.boxPk)) {
    na.memzero(id.signSk);
    na.memzero(id.boxSk);
    fail('KEYFILE_FORMAT', 'the public keys do not match the secret keys');
  }
  return id;
}

/* The text of a secret key file for id (as parley_identity_save writes it: two-space
 * indentation, one final newline). passphrase null writes the secret in clear, for
 * tests and demos only. Save it with mode 0600: parley refuses a secret key file that
 * group or others may read. */
export function makeSecretKeyFile(na: Sodium, id: Identity, passphrase: string | null): string {
  if (passphrase !== null && passphrase === '')
    fail('INVALID_ARGUMENT', 'empty passphrase; pass none to store the key unprotected');
  const seed = id.signSk.subarray(0, 32);
  const check = identityFromSeeds(na, seed, id.boxSk);
  const consistent = na.memcmp(check.signPk, id.signPk) && na.memcmp(check.boxPk, id.boxPk);
  na.memzero(check.signSk);
  na.memzero(check.boxSk);
  if (!consistent) fail('INVALID_ARGUMENT', "the identity's public keys do not match its secret keys");
  const secret = new Uint8Array(64);
  secret.set(seed, 0);
  secret.set(id.boxSk, 32);
  const obj: Record<string, string | number> = {
    format: SECRET_FORMAT,
    sign_pk: b64urlEncode(id.signPk),
    box_pk: b64urlEncode(id.boxPk),
  };
  try {
    if (passphrase === null) {
      obj['protection'] = 'none';
      obj['secret'] = b64urlEncode(secret);
    } else {
      const salt = na.randombytes_buf(na.crypto_pwhash_SALTBYTES);
      const nonce = na.randombytes_buf(na.crypto_secretbox_NONCEBYTES);
      const ops = na.crypto_pwhash_argon2id_OPSLIMIT_INTERACTIVE;
      const mem = na.crypto_pwhash_argon2id_MEMLIMIT_INTERACTIVE;
      const key = na.crypto_pwhash(32, utf8(passphrase), salt, ops, mem, na.crypto_pwhash_ALG_ARGON2ID13);
      const ct = na.crypto_secretbox_easy(secret, nonce, key);
      na.memzero(key);
      obj['protection'] = 'argon2id';
      obj['salt'] = b64urlEncode(salt);
      obj['opslimit'] = ops;
      obj['memlimit'] = mem;
      obj['nonce'] = b64urlEncode(nonce);
      obj['ciphertext'] = b64urlEncode(ct);
    }
  } finally {
    na.memzero(secret);
  }
  return JSON.stringify(obj, null, 2) + '\n';
}

export function makePublicKeyFile(pub: PublicIdentity): string {
  return JSON.stringify({ format: PUBLIC_FORMAT, sign_pk: b64urlEncode(pub.signPk), box_pk: b64urlEncode(pub.boxPk) }, null, 2) + '\n';
}

export function readPublicKeyFile(na: Sodium, text: string | Uint8Array): PublicIdentity {
  const root = parseFile(text, PUBLIC_FORMAT);
  checkFields(root, FIELDS_PUBLIC);
  return publicOf(na, root);
}

