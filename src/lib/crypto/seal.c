/* Multi-recipient seal: one XChaCha20-Poly1305 ciphertext under a random content key,
 * the key wrapped per recipient with crypto_box_seal, plus a key commitment. */
#include "parley/crypto.h"

#include <sodium.h>
#include <string.h>

#define COMMIT_LABEL "parley/v1/key-commitment\n"

_Static_assert(PARLEY_CONTENT_KEY_LEN == crypto_aead_xchacha20poly1305_ietf_KEYBYTES, "key");
_Static_assert(PARLEY_NONCE_LEN == crypto_aead_xchacha20poly1305_ietf_NPUBBYTES, "nonce");
_Static_assert(PARLEY_AEAD_TAG_LEN == crypto_aead_xchacha20poly1305_ietf_ABYTES, "tag");
_Static_assert(PARLEY_WRAPPED_KEY_LEN == PARLEY_CONTENT_KEY_LEN + crypto_box_SEALBYTES,
               "wrapped key");

void parley_key_commitment(const parley_content_key *key, const uint8_t nonce[PARLEY_NONCE_LEN],
                           parley_hash *out) {
  uint8_t msg[sizeof COMMIT_LABEL - 1 + PARLEY_NONCE_LEN];
  memcpy(msg, COMMIT_LABEL, sizeof COMMIT_LABEL - 1);
  memcpy(msg + sizeof COMMIT_LABEL - 1, nonce, PARLEY_NONCE_LEN);
  parley_hmac_sha256(key->b, sizeof key->b, msg, sizeof msg, out->b);
}

/* Empties a buffer that may hold plaintext. */
static void buf_wipe(parley_buf *b) {
  if (b->data) sodium_memzero(b->data, b->cap);
  b->len = 0;
}

parley_err parley_seal_body(const uint8_t *pt, size_t ptlen, const uint8_t *ad, size_t adlen,
                            parley_content_key *key_out, uint8_t nonce_out[PARLEY_NONCE_LEN],
                            parley_buf *ct_out, parley_hash *commitment_out) {
  static const uint8_t empty[1];
  if ((ptlen && !pt) || (adlen && !ad)) return PARLEY_E_INVALID_ARGUMENT;
  parley_buf_reset(ct_out);
  if (ct_out->max < PARLEY_AEAD_TAG_LEN || ptlen > ct_out->max - PARLEY_AEAD_TAG_LEN ||
      ptlen > crypto_aead_xchacha20poly1305_ietf_MESSAGEBYTES_MAX)
    return PARLEY_E_TOO_LARGE;

  /* Encrypt in place: the plaintext is copied into ct_out, then overwritten by the
   * ciphertext before anything can reallocate the buffer. */
  parley_err e = parley_buf_append(ct_out, ptlen ? pt : empty, ptlen);
  if (e) return e;
  parley_content_key key;
  uint8_t nonce[PARLEY_NONCE_LEN], tag[PARLEY_AEAD_TAG_LEN];
  crypto_aead_xchacha20poly1305_ietf_keygen(key.b);
  randombytes_buf(nonce, sizeof nonce);
  unsigned long long taglen = 0;
  if (crypto_aead_xchacha20poly1305_ietf_encrypt_detached(ct_out->data, tag, &taglen, ct_out->data,
                                                          ptlen, adlen ? ad : empty, adlen, NULL,
                                                          nonce, key.b) != 0) {
    buf_wipe(ct_out);
    sodium_memzero(&key, sizeof key);
    return PARLEY_E_INTERNAL;
  }
  e = parley_buf_append(ct_out, tag, sizeof tag);
  if (e) {
    buf_wipe(ct_out);
    sodium_memzero(&key, sizeof key);
    return e;
  }
  parley_key_commitment(&key, nonce, commitment_out);
  memcpy(nonce_out, nonce, sizeof nonce);
  *key_out = key;
  sodium_memzero(&key, sizeof key);
  return PARLEY_E_OK;
}

parley_err parley_wrap_key(const parley_content_key *key, const parley_box_pk *recipient,
                           uint8_t out[PARLEY_WRAPPED_KEY_LEN]) {
  if (crypto_box_seal(out, key->b, sizeof key->b, recipient->b) != 0) {
    sodium_memzero(out, PARLEY_WRAPPED_KEY_LEN);
    return PARLEY_E_CRYPTO_BAD_KEY;
  }
  return PARLEY_E_OK;
}

parley_err parley_unwrap_key(const uint8_t wrapped[PARLEY_WRAPPED_KEY_LEN], const parley_box_pk *pk,
                             const parley_box_sk *sk, parley_content_key *key_out) {
  parley_content_key key;
  /* crypto_box_seal_open binds the recipient's public key into the nonce, so a pk that
   * does not belong to sk fails here too. */
  if (crypto_box_seal_open(key.b, wrapped, PARLEY_WRAPPED_KEY_LEN, pk->b, sk->b) != 0) {
    sodium_memzero(&key, sizeof key);
    sodium_memzero(key_out, sizeof *key_out);
    return PARLEY_E_CRYPTO_DECRYPT;
  }
  *key_out = key;
  sodium_memzero(&key, sizeof key);
  return PARLEY_E_OK;
}

parley_err parley_open_body(const parley_content_key *key, const uint8_t nonce[PARLEY_NONCE_LEN],
                            const uint8_t *ct, size_t ctlen, const uint8_t *ad, size_t adlen,
                            const parley_hash *commitment, parley_buf *pt_out) {
  static const uint8_t empty[1];
  buf_wipe(pt_out);
  if ((ctlen && !ct) || (adlen && !ad)) return PARLEY_E_INVALID_ARGUMENT;

  /* Commitment first: a key that does not commit to this nonce is refused before any
   * decryption is attempted. */
  parley_hash expect;
  parley_key_commitment(key, nonce, &expect);
  int diff = sodium_memcmp(expect.b, commitment->b, sizeof expect.b);
  sodium_memzero(&expect, sizeof expect);
  if (diff != 0) return PARLEY_E_CRYPTO_COMMITMENT;

  if (ctlen < PARLEY_AEAD_TAG_LEN) return PARLEY_E_CRYPTO_DECRYPT;
  size_t ptlen = ctlen - PARLEY_AEAD_TAG_LEN;
  if (ptlen > pt_out->max) return PARLEY_E_TOO_LARGE;
  /* Decrypt in place: ciphertext is copied in, and replaced by plaintext only after
   * the tag has verified (libsodium checks the tag before decrypting). */
  parley_err e = parley_buf_append(pt_out, ptlen ? ct : empty, ptlen);
  if (e) return e;
  if (crypto_aead_xchacha20poly1305_ietf_decrypt_detached(pt_out->data, NULL, pt_out->data, ptlen,
                                                          ct + ptlen, adlen ? ad : empty, adlen,
                                                          nonce, key->b) != 0) {
    buf_wipe(pt_out);
    return PARLEY_E_CRYPTO_DECRYPT;
  }
  return PARLEY_E_OK;
}
