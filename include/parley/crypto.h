/* libparley crypto: keys, signatures with purposes, hashes, key ids, the
 * multi-recipient seal of message bodies and key files. Everything is built on
 * libsodium 1.0.18; this header is part of the protocol contract (docs/protocol.md).
 *
 * Call parley_init() before anything here. */
#ifndef PARLEY_CRYPTO_H
#define PARLEY_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

#include <sodium/crypto_hash_sha256.h>

#include "parley/base.h"

/* ---- key and value types: one struct per kind, so they cannot be mixed up ---- */

#define PARLEY_SIGN_PK_LEN 32
#define PARLEY_SIGN_SK_LEN 64 /* libsodium form: seed (32) || public key (32) */
#define PARLEY_SIGN_SEED_LEN 32
#define PARLEY_BOX_PK_LEN 32
#define PARLEY_BOX_SK_LEN 32
#define PARLEY_SIG_LEN 64
#define PARLEY_HASH_LEN 32
#define PARLEY_CONTENT_KEY_LEN 32
#define PARLEY_NONCE_LEN 24       /* XChaCha20-Poly1305-IETF */
#define PARLEY_AEAD_TAG_LEN 16    /* ciphertext = plaintext length + 16 */
#define PARLEY_WRAPPED_KEY_LEN 80 /* crypto_box_seal of a content key: 32 + 48 */
#define PARLEY_PURPOSE_MAX 64

typedef struct parley_sign_pk {
  uint8_t b[PARLEY_SIGN_PK_LEN];
} parley_sign_pk;
typedef struct parley_sign_sk {
  uint8_t b[PARLEY_SIGN_SK_LEN];
} parley_sign_sk;
typedef struct parley_box_pk {
  uint8_t b[PARLEY_BOX_PK_LEN];
} parley_box_pk;
typedef struct parley_box_sk {
  uint8_t b[PARLEY_BOX_SK_LEN];
} parley_box_sk;
typedef struct parley_sig {
  uint8_t b[PARLEY_SIG_LEN];
} parley_sig;
typedef struct parley_hash {
  uint8_t b[PARLEY_HASH_LEN];
} parley_hash;
typedef struct parley_content_key {
  uint8_t b[PARLEY_CONTENT_KEY_LEN];
} parley_content_key;

/* A user's (or state's, or hub's) long-term keys: an Ed25519 signing key pair and a
 * separate X25519 encryption key pair. Holds secrets: wipe with parley_identity_wipe. */
typedef struct parley_identity {
  parley_sign_pk sign_pk;
  parley_sign_sk sign_sk;
  parley_box_pk box_pk;
  parley_box_sk box_sk;
} parley_identity;

/* The public half, as published and as stored in a public key file. */
typedef struct parley_public_identity {
  parley_sign_pk sign_pk;
  parley_box_pk box_pk;
} parley_public_identity;

/* Fresh random keys. */
void parley_identity_generate(parley_identity *id);
/* Deterministic keys from a 32-byte Ed25519 seed and a 32-byte X25519 secret key (the
 * form stored in key files). CRYPTO_BAD_KEY if the box key is degenerate. */
parley_err parley_identity_from_seeds(const uint8_t sign_seed[PARLEY_SIGN_SEED_LEN],
                                      const uint8_t box_sk[PARLEY_BOX_SK_LEN], parley_identity *id);
void parley_identity_public(const parley_identity *id, parley_public_identity *out);
/* sodium_memzero of the whole struct. */
void parley_identity_wipe(parley_identity *id);

/* ---- signatures ------------------------------------------------------------
 * parley_sign signs "parley/v1/" || purpose || "\n" || msg with Ed25519, so a
 * signature made for one purpose never verifies for another. A purpose matches
 * [a-z0-9-]{1,64}; anything else is INVALID_ARGUMENT.
 * Cost: Ed25519 hashes the message twice and libsodium 1.0.18 has no streaming pure
 * Ed25519 (crypto_sign_init is Ed25519ph, a different scheme), so messages longer than
 * a small stack buffer are copied once into a heap buffer behind the prefix. */

parley_err parley_sign(const parley_sign_sk *sk, const char *purpose, const void *msg, size_t len,
                       parley_sig *out);
/* OK, CRYPTO_BAD_SIGNATURE, or INVALID_ARGUMENT for a bad purpose. */
parley_err parley_verify(const parley_sign_pk *pk, const char *purpose, const void *msg, size_t len,
                         const parley_sig *sig);
/* Plain Ed25519 over exactly `msg`, for protocols that define their own framing
 * (RFC 9421 signature bases, C2SP signed notes and cosignatures). Never use these for
 * Parley's own signed objects. */
parley_err parley_ed25519_sign_raw(const parley_sign_sk *sk, const void *msg, size_t len,
                                   parley_sig *out);
parley_err parley_ed25519_verify_raw(const parley_sign_pk *pk, const void *msg, size_t len,
                                     const parley_sig *sig);

/* ---- hashes ------------------------------------------------------------------ */

void parley_sha256(const void *data, size_t len, parley_hash *out);

typedef struct parley_sha256_ctx {
  crypto_hash_sha256_state st;
} parley_sha256_ctx;
void parley_sha256_init(parley_sha256_ctx *ctx);
void parley_sha256_update(parley_sha256_ctx *ctx, const void *data, size_t len);
/* Writes the digest and wipes the context. */
void parley_sha256_final(parley_sha256_ctx *ctx, parley_hash *out);

/* HMAC-SHA256 (RFC 2104) with a key of any length. */
void parley_hmac_sha256(const void *key, size_t keylen, const void *msg, size_t len,
                        uint8_t out[PARLEY_HASH_LEN]);

/* ---- key ids and fingerprints -------------------------------------------------
 * fingerprint = SHA-256("ed25519\n" || pk) for signing keys,
 *               SHA-256("x25519\n" || pk) for box keys;
 * written as 64 lower-case hex characters. The key id is base64url (no padding) of the
 * first 16 bytes of the fingerprint: 22 characters. */

#define PARLEY_FINGERPRINT_HEX_LEN 65     /* 64 + NUL */
#define PARLEY_KEY_ID_LEN 23              /* 22 + NUL */
#define PARLEY_FINGERPRINT_DISPLAY_LEN 80 /* 16 groups of 4, 15 spaces, NUL */

void parley_sign_pk_fingerprint(const parley_sign_pk *pk, char out[PARLEY_FINGERPRINT_HEX_LEN]);
void parley_sign_pk_key_id(const parley_sign_pk *pk, char out[PARLEY_KEY_ID_LEN]);
void parley_box_pk_fingerprint(const parley_box_pk *pk, char out[PARLEY_FINGERPRINT_HEX_LEN]);
void parley_box_pk_key_id(const parley_box_pk *pk, char out[PARLEY_KEY_ID_LEN]);
/* "0123abcd..." (64 hex) -> "0123 abcd ..." for reading aloud; output lower-case.
 * INVALID_ARGUMENT unless `hex64` is exactly 64 hex characters. */
parley_err parley_fingerprint_display(const char *hex64, char out[PARLEY_FINGERPRINT_DISPLAY_LEN]);

/* ---- encodings: base64url without padding, exact length --------------------- */

#define PARLEY_KEY_B64_LEN 44 /* 43 + NUL, for sign and box public keys */
#define PARLEY_SIG_B64_LEN 87 /* 86 + NUL */

void parley_sign_pk_to_b64(const parley_sign_pk *pk, char out[PARLEY_KEY_B64_LEN]);
/* CRYPTO_BAD_KEY unless `s` is exactly 43 canonical base64url characters encoding a
 * valid Ed25519 point (canonical, not of small order, in the main subgroup). */
parley_err parley_sign_pk_from_b64(const char *s, parley_sign_pk *out);
void parley_box_pk_to_b64(const parley_box_pk *pk, char out[PARLEY_KEY_B64_LEN]);
/* CRYPTO_BAD_KEY unless `s` is exactly 43 canonical base64url characters encoding an
 * X25519 key with the high bit clear and not of small order. */
parley_err parley_box_pk_from_b64(const char *s, parley_box_pk *out);
void parley_sig_to_b64(const parley_sig *sig, char out[PARLEY_SIG_B64_LEN]);
/* CRYPTO_BAD_SIGNATURE unless `s` is exactly 86 canonical base64url characters. */
parley_err parley_sig_from_b64(const char *s, parley_sig *out);

/* ---- multi-recipient seal ------------------------------------------------------
 * A body is encrypted once with a fresh random content key (XChaCha20-Poly1305-IETF,
 * with associated data); the content key is wrapped for each recipient with
 * crypto_box_seal. Poly1305 is not key-committing, so the header also carries
 * commitment = HMAC-SHA256(key = content key, "parley/v1/key-commitment\n" || nonce),
 * which open checks before decrypting: a ciphertext cannot open to two different
 * plaintexts under two keys a malicious sender hands to different recipients. */

/* Writes `commitment = HMAC-SHA256(key, "parley/v1/key-commitment\n" || nonce)`. */
void parley_key_commitment(const parley_content_key *key, const uint8_t nonce[PARLEY_NONCE_LEN],
                           parley_hash *out);

/* ct_out is reset and receives ptlen + 16 bytes; TOO_LARGE if that exceeds ct_out->max.
 * On error the outputs hold no key material. `ad` may be NULL when adlen is 0. */
parley_err parley_seal_body(const uint8_t *pt, size_t ptlen, const uint8_t *ad, size_t adlen,
                            parley_content_key *key_out, uint8_t nonce_out[PARLEY_NONCE_LEN],
                            parley_buf *ct_out, parley_hash *commitment_out);
/* CRYPTO_BAD_KEY if the recipient key is unusable (e.g. of small order). */
parley_err parley_wrap_key(const parley_content_key *key, const parley_box_pk *recipient,
                           uint8_t out[PARLEY_WRAPPED_KEY_LEN]);
/* CRYPTO_DECRYPT if the wrapped key was not made for this key pair or was altered. */
parley_err parley_unwrap_key(const uint8_t wrapped[PARLEY_WRAPPED_KEY_LEN], const parley_box_pk *pk,
                             const parley_box_sk *sk, parley_content_key *key_out);
/* Checks the commitment first, in constant time (CRYPTO_COMMITMENT), then decrypts
 * (CRYPTO_DECRYPT for a short, tampered or mis-keyed ciphertext or wrong ad).
 * pt_out is reset and receives ctlen - 16 bytes; TOO_LARGE if that exceeds pt_out->max.
 * On any error pt_out is left empty (and wiped). */
parley_err parley_open_body(const parley_content_key *key, const uint8_t nonce[PARLEY_NONCE_LEN],
                            const uint8_t *ct, size_t ctlen, const uint8_t *ad, size_t adlen,
                            const parley_hash *commitment, parley_buf *pt_out);

/* ---- key files -------------------------------------------------------------------
 * Secret key file (JSON, mode 0600):
 *   {"format":"parley-secret-key-v1","sign_pk":B64,"box_pk":B64,"protection":"argon2id",
 *    "salt":B64(16),"opslimit":N,"memlimit":N,"nonce":B64(24),"ciphertext":B64(80)}
 * where ciphertext = crypto_secretbox(sign seed (32) || box sk (32)) under a key from
 * crypto_pwhash Argon2id13; or, unprotected:
 *   {"format":"parley-secret-key-v1","sign_pk":B64,"box_pk":B64,"protection":"none",
 *    "secret":B64(sign seed || box sk)}
 * Unknown fields are refused. Public key file:
 *   {"format":"parley-public-key-v1","sign_pk":B64,"box_pk":B64}
 * Saves write PATH.tmp (created exclusively; a stale one from a crash makes the save fail
 * with IO until removed), fsync it, rename it over PATH and fsync the directory. */

#define PARLEY_KEYFILE_MAX_BYTES 65536
#define PARLEY_KEYFILE_OPSLIMIT_MAX 32ULL
#define PARLEY_KEYFILE_MEMLIMIT_MAX (1ULL << 30)

/* passphrase NULL = stored unprotected; an empty passphrase is INVALID_ARGUMENT.
 * Argon2id with OPSLIMIT_INTERACTIVE / MEMLIMIT_INTERACTIVE. */
parley_err parley_identity_save(const char *path, const parley_identity *id, const char *passphrase,
                                parley_error *err);
/* Errors: KEYFILE_PERMISSIONS (group/other bits set or not a regular file),
 * KEYFILE_FORMAT (malformed, limits out of bounds, or stored public keys that do not
 * match the secret keys), KEYFILE_NEEDS_PASSPHRASE, KEYFILE_PASSPHRASE, IO. A passphrase
 * given for an unprotected file is ignored. On error *id is wiped. */
parley_err parley_identity_load(const char *path, const char *passphrase, parley_identity *id,
                                parley_error *err);
/* Written with mode 0644. */
parley_err parley_public_save(const char *path, const parley_public_identity *pub,
                              parley_error *err);
/* KEYFILE_FORMAT (including keys that do not decode) or IO. */
parley_err parley_public_load(const char *path, parley_public_identity *pub, parley_error *err);

#endif
