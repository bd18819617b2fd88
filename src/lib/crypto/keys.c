/* Identities, purpose-bound Ed25519 signatures, fingerprints, key ids and the
 * base64url forms of keys and signatures. */
#include "parley/crypto.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#define SIGN_PREFIX "parley/v1/"
/* Messages up to this size are framed on the stack; longer ones on the heap. */
#define SIGN_STACK_MAX 1024

_Static_assert(PARLEY_SIGN_PK_LEN == crypto_sign_ed25519_PUBLICKEYBYTES, "sign pk");
_Static_assert(PARLEY_SIGN_SK_LEN == crypto_sign_ed25519_SECRETKEYBYTES, "sign sk");
_Static_assert(PARLEY_SIGN_SEED_LEN == crypto_sign_ed25519_SEEDBYTES, "sign seed");
_Static_assert(PARLEY_SIG_LEN == crypto_sign_ed25519_BYTES, "sig");
_Static_assert(PARLEY_BOX_PK_LEN == crypto_box_PUBLICKEYBYTES, "box pk");
_Static_assert(PARLEY_BOX_SK_LEN == crypto_box_SECRETKEYBYTES, "box sk");
_Static_assert(PARLEY_HASH_LEN == crypto_hash_sha256_BYTES, "hash");

/* ---- identities ---------------------------------------------------------- */

void parley_identity_generate(parley_identity *id) {
  crypto_sign_ed25519_keypair(id->sign_pk.b, id->sign_sk.b);
  /* crypto_box_keypair draws a random scalar and derives pk = X25519(sk, base),
   * the same derivation parley_identity_from_seeds uses when loading a key file. */
  crypto_box_keypair(id->box_pk.b, id->box_sk.b);
}

parley_err parley_identity_from_seeds(const uint8_t sign_seed[PARLEY_SIGN_SEED_LEN],
                                      const uint8_t box_sk[PARLEY_BOX_SK_LEN],
                                      parley_identity *id) {
  crypto_sign_ed25519_seed_keypair(id->sign_pk.b, id->sign_sk.b, sign_seed);
  memcpy(id->box_sk.b, box_sk, PARLEY_BOX_SK_LEN);
  if (crypto_scalarmult_curve25519_base(id->box_pk.b, id->box_sk.b) != 0) {
    parley_identity_wipe(id);
    return PARLEY_E_CRYPTO_BAD_KEY;
  }
  return PARLEY_E_OK;
}

void parley_identity_public(const parley_identity *id, parley_public_identity *out) {
  out->sign_pk = id->sign_pk;
  out->box_pk = id->box_pk;
}

void parley_identity_wipe(parley_identity *id) {
  sodium_memzero(id, sizeof *id);
}

/* ---- signatures ------------------------------------------------------------ */

static bool purpose_valid(const char *purpose) {
  if (!purpose) return false;
  size_t n = 0;
  for (const char *p = purpose; *p; p++, n++) {
    if (n >= PARLEY_PURPOSE_MAX) return false;
    char c = *p;
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
  }
  return n > 0;
}

/* Builds "parley/v1/" || purpose || "\n" || msg in `stackbuf` if it fits, else on the
 * heap (*heap set, to be freed by the caller). */
static parley_err frame(const char *purpose, const void *msg, size_t len, uint8_t *stackbuf,
                        uint8_t **framed, size_t *framed_len, uint8_t **heap) {
  if (!purpose_valid(purpose)) return PARLEY_E_INVALID_ARGUMENT;
  if (len && !msg) return PARLEY_E_INVALID_ARGUMENT;
  size_t plen = strlen(purpose);
  size_t head = sizeof SIGN_PREFIX - 1 + plen + 1;
  if (len > SIZE_MAX - head) return PARLEY_E_TOO_LARGE;
  size_t total = head + len;
  uint8_t *buf = stackbuf;
  *heap = NULL;
  if (total > SIGN_STACK_MAX) {
    buf = malloc(total);
    if (!buf) return PARLEY_E_NO_MEMORY;
    *heap = buf;
  }
  memcpy(buf, SIGN_PREFIX, sizeof SIGN_PREFIX - 1);
  memcpy(buf + sizeof SIGN_PREFIX - 1, purpose, plen);
  buf[head - 1] = '\n';
  if (len) memcpy(buf + head, msg, len);
  *framed = buf;
  *framed_len = total;
  return PARLEY_E_OK;
}

/* The framed message may be confidential (a plaintext being signed): wipe it. */
static void unframe(uint8_t *framed, size_t framed_len, uint8_t *heap) {
  sodium_memzero(framed, framed_len);
  free(heap);
}

parley_err parley_sign(const parley_sign_sk *sk, const char *purpose, const void *msg, size_t len,
                       parley_sig *out) {
  uint8_t stackbuf[SIGN_STACK_MAX];
  uint8_t *framed, *heap;
  size_t flen;
  parley_err e = frame(purpose, msg, len, stackbuf, &framed, &flen, &heap);
  if (e) return e;
  e = parley_ed25519_sign_raw(sk, framed, flen, out);
  unframe(framed, flen, heap);
  return e;
}

parley_err parley_verify(const parley_sign_pk *pk, const char *purpose, const void *msg, size_t len,
                         const parley_sig *sig) {
  uint8_t stackbuf[SIGN_STACK_MAX];
  uint8_t *framed, *heap;
  size_t flen;
  parley_err e = frame(purpose, msg, len, stackbuf, &framed, &flen, &heap);
  if (e) return e;
  e = parley_ed25519_verify_raw(pk, framed, flen, sig);
  unframe(framed, flen, heap);
  return e;
}

parley_err parley_ed25519_sign_raw(const parley_sign_sk *sk, const void *msg, size_t len,
                                   parley_sig *out) {
  static const uint8_t empty[1];
  if (len && !msg) return PARLEY_E_INVALID_ARGUMENT;
  if (crypto_sign_ed25519_detached(out->b, NULL, len ? msg : empty, len, sk->b) != 0)
    return PARLEY_E_INTERNAL;
  return PARLEY_E_OK;
}

parley_err parley_ed25519_verify_raw(const parley_sign_pk *pk, const void *msg, size_t len,
                                     const parley_sig *sig) {
  static const uint8_t empty[1];
  if (len && !msg) return PARLEY_E_INVALID_ARGUMENT;
  /* libsodium rejects non-canonical S, small-order keys and small-order R. */
  if (crypto_sign_ed25519_verify_detached(sig->b, len ? msg : empty, len, pk->b) != 0)
    return PARLEY_E_CRYPTO_BAD_SIGNATURE;
  return PARLEY_E_OK;
}

/* ---- fingerprints and key ids ------------------------------------------------ */

static void fingerprint_raw(const char *label, const uint8_t pk[32], parley_hash *out) {
  parley_sha256_ctx c;
  parley_sha256_init(&c);
  parley_sha256_update(&c, label, strlen(label));
  parley_sha256_update(&c, pk, 32);
  parley_sha256_final(&c, out);
}

static void fingerprint_hex(const char *label, const uint8_t pk[32],
                            char out[PARLEY_FINGERPRINT_HEX_LEN]) {
  parley_hash h;
  fingerprint_raw(label, pk, &h);
  sodium_bin2hex(out, PARLEY_FINGERPRINT_HEX_LEN, h.b, sizeof h.b);
}

static void key_id(const char *label, const uint8_t pk[32], char out[PARLEY_KEY_ID_LEN]) {
  parley_hash h;
  fingerprint_raw(label, pk, &h);
  sodium_bin2base64(out, PARLEY_KEY_ID_LEN, h.b, 16, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

void parley_sign_pk_fingerprint(const parley_sign_pk *pk, char out[PARLEY_FINGERPRINT_HEX_LEN]) {
  fingerprint_hex("ed25519\n", pk->b, out);
}

void parley_sign_pk_key_id(const parley_sign_pk *pk, char out[PARLEY_KEY_ID_LEN]) {
  key_id("ed25519\n", pk->b, out);
}

void parley_box_pk_fingerprint(const parley_box_pk *pk, char out[PARLEY_FINGERPRINT_HEX_LEN]) {
  fingerprint_hex("x25519\n", pk->b, out);
}

void parley_box_pk_key_id(const parley_box_pk *pk, char out[PARLEY_KEY_ID_LEN]) {
  key_id("x25519\n", pk->b, out);
}

parley_err parley_fingerprint_display(const char *hex64, char out[PARLEY_FINGERPRINT_DISPLAY_LEN]) {
  out[0] = 0;
  if (!hex64 || strnlen(hex64, 65) != 64) return PARLEY_E_INVALID_ARGUMENT;
  size_t o = 0;
  for (size_t i = 0; i < 64; i++) {
    char c = hex64[i];
    if (c >= 'A' && c <= 'F')
      c = (char)(c - 'A' + 'a');
    else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
      out[0] = 0;
      return PARLEY_E_INVALID_ARGUMENT;
    }
    if (i && i % 4 == 0) out[o++] = ' ';
    out[o++] = c;
  }
  out[o] = 0;
  return PARLEY_E_OK;
}

/* ---- base64url forms ------------------------------------------------------------ */

void parley_sign_pk_to_b64(const parley_sign_pk *pk, char out[PARLEY_KEY_B64_LEN]) {
  sodium_bin2base64(out, PARLEY_KEY_B64_LEN, pk->b, sizeof pk->b,
                    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

parley_err parley_sign_pk_from_b64(const char *s, parley_sign_pk *out) {
  parley_sign_pk pk;
  if (parley_b64url_decode_exact(s, pk.b, sizeof pk.b) != PARLEY_E_OK ||
      !crypto_core_ed25519_is_valid_point(pk.b))
    return PARLEY_E_CRYPTO_BAD_KEY;
  *out = pk;
  return PARLEY_E_OK;
}

void parley_box_pk_to_b64(const parley_box_pk *pk, char out[PARLEY_KEY_B64_LEN]) {
  sodium_bin2base64(out, PARLEY_KEY_B64_LEN, pk->b, sizeof pk->b,
                    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

/* Refuses the high bit (X25519 ignores it, so it would give a second encoding of the
 * same key) and points of small order (every shared secret with them is zero, which
 * libsodium refuses, so no one could ever seal to the key). */
static bool box_pk_usable(const parley_box_pk *pk) {
  static const uint8_t scalar[crypto_scalarmult_curve25519_SCALARBYTES] = {1};
  uint8_t q[crypto_scalarmult_curve25519_BYTES];
  if (pk->b[31] & 0x80) return false;
  bool ok = crypto_scalarmult_curve25519(q, scalar, pk->b) == 0;
  sodium_memzero(q, sizeof q);
  return ok;
}

parley_err parley_box_pk_from_b64(const char *s, parley_box_pk *out) {
  parley_box_pk pk;
  if (parley_b64url_decode_exact(s, pk.b, sizeof pk.b) != PARLEY_E_OK || !box_pk_usable(&pk))
    return PARLEY_E_CRYPTO_BAD_KEY;
  *out = pk;
  return PARLEY_E_OK;
}

void parley_sig_to_b64(const parley_sig *sig, char out[PARLEY_SIG_B64_LEN]) {
  sodium_bin2base64(out, PARLEY_SIG_B64_LEN, sig->b, sizeof sig->b,
                    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

parley_err parley_sig_from_b64(const char *s, parley_sig *out) {
  parley_sig sig;
  if (parley_b64url_decode_exact(s, sig.b, sizeof sig.b) != PARLEY_E_OK)
    return PARLEY_E_CRYPTO_BAD_SIGNATURE;
  *out = sig;
  return PARLEY_E_OK;
}
