/* Fuzz target for the multi-recipient seal.
 * (a) The input as plaintext: seal it for two fixed recipients, unwrap and open it as
 *     each, and abort() unless the plaintext comes back unchanged.
 * (b) The input as an attacker's message, laid out as
 *     [80-byte wrapped key | 24-byte nonce | 32-byte commitment | ciphertext]:
 *     unwrapping and opening with a fixed key pair must fail cleanly (or succeed) without
 *     crashing; the ciphertext is also opened under a fixed content key whose commitment
 *     for the given nonce is correct, so the AEAD path is reached too. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "parley/crypto.h"

#define MAX_BODY (1u << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static parley_identity g_rcpt[2];
static parley_content_key g_fixed_key;

static void init_once(void) {
  static int done;
  if (done) return;
  if (!parley_init()) abort();
  for (int r = 0; r < 2; r++) {
    uint8_t seed[32], box[32];
    for (int i = 0; i < 32; i++) {
      seed[i] = (uint8_t)(r * 64 + i);
      box[i] = (uint8_t)(r * 64 + 32 + i);
    }
    if (parley_identity_from_seeds(seed, box, &g_rcpt[r]) != PARLEY_E_OK) abort();
  }
  memset(g_fixed_key.b, 0x42, sizeof g_fixed_key.b);
  done = 1;
}

static const uint8_t AD[] = "fuzz-header-hash";

static void roundtrip(const uint8_t *data, size_t size) {
  parley_content_key key;
  uint8_t nonce[PARLEY_NONCE_LEN];
  parley_hash commit;
  parley_buf ct;
  parley_buf_init(&ct, MAX_BODY + PARLEY_AEAD_TAG_LEN);
  if (parley_seal_body(data, size, AD, sizeof AD - 1, &key, nonce, &ct, &commit) != PARLEY_E_OK)
    abort();
  if (ct.len != size + PARLEY_AEAD_TAG_LEN) abort();
  for (int r = 0; r < 2; r++) {
    uint8_t wrapped[PARLEY_WRAPPED_KEY_LEN];
    parley_content_key k;
    parley_buf pt;
    if (parley_wrap_key(&key, &g_rcpt[r].box_pk, wrapped) != PARLEY_E_OK) abort();
    if (parley_unwrap_key(wrapped, &g_rcpt[r].box_pk, &g_rcpt[r].box_sk, &k) != PARLEY_E_OK)
      abort();
    /* the other recipient cannot unwrap it */
    parley_content_key k2;
    if (parley_unwrap_key(wrapped, &g_rcpt[1 - r].box_pk, &g_rcpt[1 - r].box_sk, &k2) !=
        PARLEY_E_CRYPTO_DECRYPT)
      abort();
    parley_buf_init(&pt, MAX_BODY);
    if (parley_open_body(&k, nonce, ct.data, ct.len, AD, sizeof AD - 1, &commit, &pt) !=
        PARLEY_E_OK)
      abort();
    if (pt.len != size || (size && memcmp(pt.data, data, size) != 0)) abort();
    parley_buf_free(&pt);
  }
  parley_buf_free(&ct);
}

static void hostile(const uint8_t *data, size_t size) {
  const size_t head = PARLEY_WRAPPED_KEY_LEN + PARLEY_NONCE_LEN + PARLEY_HASH_LEN;
  if (size < head) return;
  const uint8_t *wrapped = data;
  const uint8_t *nonce = data + PARLEY_WRAPPED_KEY_LEN;
  parley_hash commit;
  memcpy(commit.b, nonce + PARLEY_NONCE_LEN, sizeof commit.b);
  const uint8_t *ct = data + head;
  size_t ctlen = size - head;

  parley_buf pt;
  parley_buf_init(&pt, MAX_BODY);
  parley_content_key k;
  parley_err e = parley_unwrap_key(wrapped, &g_rcpt[0].box_pk, &g_rcpt[0].box_sk, &k);
  if (e == PARLEY_E_OK) {
    e = parley_open_body(&k, nonce, ct, ctlen, AD, sizeof AD - 1, &commit, &pt);
    if (e != PARLEY_E_OK && e != PARLEY_E_CRYPTO_COMMITMENT && e != PARLEY_E_CRYPTO_DECRYPT)
      abort();
    if (e == PARLEY_E_OK && pt.len != ctlen - PARLEY_AEAD_TAG_LEN) abort();
  } else if (e != PARLEY_E_CRYPTO_DECRYPT) {
    abort();
  }
  if (e != PARLEY_E_OK && pt.len != 0) abort();

  /* Reach the AEAD with attacker ciphertext: a key whose commitment is right. */
  parley_hash good;
  parley_key_commitment(&g_fixed_key, nonce, &good);
  e = parley_open_body(&g_fixed_key, nonce, ct, ctlen, AD, sizeof AD - 1, &good, &pt);
  if (e != PARLEY_E_OK && e != PARLEY_E_CRYPTO_DECRYPT) abort();
  /* and the attacker's commitment must be refused unless it is the right one */
  e = parley_open_body(&g_fixed_key, nonce, ct, ctlen, AD, sizeof AD - 1, &commit, &pt);
  if (memcmp(commit.b, good.b, sizeof good.b) != 0 && e != PARLEY_E_CRYPTO_COMMITMENT) abort();
  parley_buf_free(&pt);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  init_once();
  if (size > MAX_BODY) return 0;
  roundtrip(data, size);
  hostile(data, size);
  return 0;
}
