/* Identities (an Ed25519 signing key and an X25519 encryption key), their
 * fingerprints and key ids, as docs/protocol.md §2 and src/lib/crypto/keys.c define. */
import { fail } from './errors';
import { b64urlDecode, b64urlEncode, concatBytes, hexEncode, utf8 } from './encoding';
import type { Sodium } from './sodium';

export interface PublicIdentity {
  signPk: Uint8Array; /* Ed25519, 32 bytes */
  boxPk: Uint8Array; /* X25519, 32 bytes */
}

export interface Identity extends PublicIdentity {
  signSk: Uint8Array; /* libsodium form: seed (32) || public key (32) */
  boxSk: Uint8Array; /* 32 bytes */
}

export function generateIdentity(na: Sodium): Identity {
  const s = na.crypto_sign_keypair();
  const b = na.crypto_box_keypair();
  return { signPk: s.publicKey, signSk: s.privateKey, boxPk: b.publicKey, boxSk: b.privateKey };
}

/* The identity of a signing seed and an encryption secret key (what a key file keeps). */
export function identityFromSeeds(na: Sodium, signSeed: Uint8Array, boxSk: Uint8Array): Identity {
  if (signSeed.length !== 32 || boxSk.length !== 32) fail('INVALID_ARGUMENT', 'seeds are 32 bytes');
  const s = na.crypto_sign_seed_keypair(signSeed);
  let boxPk: Uint8Array;
  try {
    boxPk = na.crypto_scalarmult_base(boxSk);
  } catch {
    return fail('CRYPTO_BAD_KEY', 'unusable encryption key');
  }
  return { signPk: s.publicKey, signSk: s.privateKey, boxPk, boxSk: boxSk.slice() };
}

/* Overwrites the secret halves; the identity is unusable afterwards. */
export function wipeIdentity(na: Sodium, id: Identity): void {
  na.memzero(id.signSk);
  na.memzero(id.boxSk);
}

function fingerprintBytes(na: Sodium, label: 'ed25519' | 'x25519', pk: Uint8Array): Uint8Array {
  return na.crypto_hash_sha256(concatBytes(utf8(label + '\n'), pk));
}

/* SHA-256("ed25519\n" || pk) in lower-case hex. */
export function signFingerprint(na: Sodium, pk: Uint8Array): string {
  return hexEncode(fingerprintBytes(na, 'ed25519', pk));
}

export function boxFingerprint(na: Sodium, pk: Uint8Array): string {
  return hexEncode(fingerprintBytes(na, 'x25519', pk));
}

/* base64url of the first 16 bytes of the fingerprint: the keyid of request signatures. */
export function signKeyId(na: Sodium, pk: Uint8Array): string {
  return b64urlEncode(fingerprintBytes(na, 'ed25519', pk).subarray(0, 16));
}

export function boxKeyId(na: Sodium, pk: Uint8Array): string {
  return b64urlEncode(fingerprintBytes(na, 'x25519', pk).subarray(0, 16));
}

/* 16 groups of 4 hex digits, for reading aloud. */
export function fingerprintDisplay(hex: string): string {
  return hex.toLowerCase().replace(/(.{4})(?=.)/g, '$1 ');
}

/* An Ed25519 public key from base64url: 32 bytes and a valid curve point. */
export function signPkFromB64(na: Sodium, s: string): Uint8Array {
  let pk: Uint8Array;
  try {
    pk = b64urlDecode(s, 32);
  } catch {
    return fail('CRYPTO_BAD_KEY', 'not 32 bytes of base64url');
  }
  if (!na.crypto_core_ed25519_is_valid_point(pk)) fail('CRYPTO_BAD_KEY', 'not an Ed25519 public key');
  return pk;
}

/* An X25519 public key from base64url: the high bit clear and not of small order
 * (every shared secret with such a key is zero: no one could seal to it). */
export function boxPkFromB64(na: Sodium, s: string): Uint8Array {
  let pk: Uint8Array;
  try {
    pk = b64urlDecode(s, 32);
  } catch {
    return fail('CRYPTO_BAD_KEY', 'not 32 bytes of base64url');
  }
  if (pk[31]! & 0x80) fail('CRYPTO_BAD_KEY', 'X25519 key with the high bit set');
  const one = new Uint8Array(32);
  one[0] = 1;
  try {
    na.crypto_scalarmult(one, pk);
  } catch {
    return fail('CRYPTO_BAD_KEY', 'X25519 key of small order');
  }
  return pk;
}
