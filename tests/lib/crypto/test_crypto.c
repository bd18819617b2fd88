/* Unit tests for the crypto module: signatures and purposes, hashes, key ids,
 * encodings and the multi-recipient seal. Fixed vectors were computed independently
 * (Python hashlib/hmac and the pyca/cryptography Ed25519/X25519 implementations). */
/* cmocka needs these first, in this order */
// clang-format off
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
// clang-format on

#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parley/crypto.h"

/* ---- helpers --------------------------------------------------------------- */

static void hex_to(const char *hex, uint8_t *out, size_t n) {
  size_t got = 0;
  assert_int_equal(parley_hex_decode(hex, strlen(hex), out, n, &got), PARLEY_E_OK);
  assert_int_equal(got, n);
}

static void assert_hex(const uint8_t *b, size_t n, const char *hex) {
  char buf[256];
  assert_true(2 * n < sizeof buf);
  assert_int_equal(parley_hex_encode(b, n, buf, sizeof buf), PARLEY_E_OK);
  assert_string_equal(buf, hex);
}

/* The fixed identity: sign seed = 00 01 .. 1f, box sk = 20 21 .. 3f. */
static void fixed_identity(parley_identity *id) {
  uint8_t seed[32], box[32];
  for (int i = 0; i < 32; i++) {
    seed[i] = (uint8_t)i;
    box[i] = (uint8_t)(32 + i);
  }
  assert_int_equal(parley_identity_from_seeds(seed, box, id), PARLEY_E_OK);
}

/* ---- signatures -------------------------------------------------------------- */

static void test_sign_verify(void **state) {
  (void)state;
  parley_identity id;
  parley_identity_generate(&id);
  parley_sig sig;
  const char *msg = "preservation request 42";
  assert_int_equal(parley_sign(&id.sign_sk, "envelope", msg, strlen(msg), &sig), PARLEY_E_OK);
  assert_int_equal(parley_verify(&id.sign_pk, "envelope", msg, strlen(msg), &sig), PARLEY_E_OK);

  /* empty message */
  assert_int_equal(parley_sign(&id.sign_sk, "ack", NULL, 0, &sig), PARLEY_E_OK);
  assert_int_equal(parley_verify(&id.sign_pk, "ack", NULL, 0, &sig), PARLEY_E_OK);
  assert_int_equal(parley_verify(&id.sign_pk, "ack", "x", 1, &sig), PARLEY_E_CRYPTO_BAD_SIGNATURE);

  /* a message longer than the stack frame buffer takes the heap path */
  size_t big = 200000;
  uint8_t *m = malloc(big);
  assert_non_null(m);
  for (size_t i = 0; i < big; i++)
    m[i] = (uint8_t)(i * 7);
  assert_int_equal(parley_sign(&id.sign_sk, "state-record", m, big, &sig), PARLEY_E_OK);
  assert_int_equal(parley_verify(&id.sign_pk, "state-record", m, big, &sig), PARLEY_E_OK);
  m[big - 1] ^= 1;
  assert_int_equal(parley_verify(&id.sign_pk, "state-record", m, big, &sig),
                   PARLEY_E_CRYPTO_BAD_SIGNATURE);
  free(m);
  parley_identity_wipe(&id);
  uint8_t zero[sizeof id];
  memset(zero, 0, sizeof zero);
  assert_memory_equal(&id, zero, sizeof id);
}

static void test_purpose_syntax(void **state) {
  (void)state;
  parley_identity id;
  fixed_identity(&id);
  parley_sig sig;
  char p64[65], p65[66];
  memset(p64, 'a', 64);
  p64[64] = 0;
  memset(p65, 'a', 65);
  p65[65] = 0;
  const char *ok[] = {"a", "encryption-key", "v2", "0-9", p64};
  for (size_t i = 0; i < sizeof ok / sizeof *ok; i++) {
    assert_int_equal(parley_sign(&id.sign_sk, ok[i], "m", 1, &sig), PARLEY_E_OK);
    assert_int_equal(parley_verify(&id.sign_pk, ok[i], "m", 1, &sig), PARLEY_E_OK);
  }
  const char *bad[] = {"", "Envelope", "a b", "a\n", "a/b", "a_b", "é", p65};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    assert_int_equal(parley_sign(&id.sign_sk, bad[i], "m", 1, &sig), PARLEY_E_INVALID_ARGUMENT);
    assert_int_equal(parley_verify(&id.sign_pk, bad[i], "m", 1, &sig), PARLEY_E_INVALID_ARGUMENT);
  }
  assert_int_equal(parley_sign(&id.sign_sk, NULL, "m", 1, &sig), PARLEY_E_INVALID_ARGUMENT);
  parley_identity_wipe(&id);
}

static void test_purpose_separation(void **state) {
  (void)state;
  parley_identity id;
  parley_identity_generate(&id);
  parley_sig sig;
  const char *msg = "{\"id\":\"x\"}";
  assert_int_equal(parley_sign(&id.sign_sk, "envelope", msg, strlen(msg), &sig), PARLEY_E_OK);
  assert_int_equal(parley_verify(&id.sign_pk, "ack", msg, strlen(msg), &sig),
                   PARLEY_E_CRYPTO_BAD_SIGNATURE);
  assert_int_equal(parley_verify(&id.sign_pk, "envelopes", msg, strlen(msg), &sig),
                   PARLEY_E_CRYPTO_BAD_SIGNATURE);
  /* nor does it verify as a raw signature over the bare message */
  assert_int_equal(parley_ed25519_verify_raw(&id.sign_pk, msg, strlen(msg), &sig),
                   PARLEY_E_CRYPTO_BAD_SIGNATURE);
  /* the signed bytes are exactly "parley/v1/envelope\n" || msg */
  char framed[128];
  int n = snprintf(framed, sizeof framed, "parley/v1/envelope\n%s", msg);
  assert_true(n > 0 && (size_t)n < sizeof framed);
  assert_int_equal(parley_ed25519_verify_raw(&id.sign_pk, framed, (size_t)n, &sig), PARLEY_E_OK);
  /* and a raw signature over the framed bytes is the same signature (Ed25519 is
   * deterministic) */
  parley_sig raw;
  assert_int_equal(parley_ed25519_sign_raw(&id.sign_sk, framed, (size_t)n, &raw), PARLEY_E_OK);
  assert_memory_equal(raw.b, sig.b, sizeof sig.b);
  parley_identity_wipe(&id);
}

static void test_tampered(void **state) {
  (void)state;
  parley_identity id, other;
  parley_identity_generate(&id);
  parley_identity_generate(&other);
  uint8_t msg[100];
  for (size_t i = 0; i < sizeof msg; i++)
    msg[i] = (uint8_t)i;
  parley_sig sig;
  assert_int_equal(parley_sign(&id.sign_sk, "ack", msg, sizeof msg, &sig), PARLEY_E_OK);
  for (size_t i = 0; i < sizeof msg; i += 9) {
    msg[i] ^= 0x20;
    assert_int_equal(parley_verify(&id.sign_pk, "ack", msg, sizeof msg, &sig),
                     PARLEY_E_CRYPTO_BAD_SIGNATURE);
    msg[i] ^= 0x20;
  }
  assert_int_equal(parley_verify(&id.sign_pk, "ack", msg, sizeof msg - 1, &sig),
                   PARLEY_E_CRYPTO_BAD_SIGNATURE);
  for (size_t i = 0; i < sizeof sig.b; i++) {
    parley_sig t = sig;
    t.b[i] ^= 0x01;
    assert_int_equal(parley_verify(&id.sign_pk, "ack", msg, sizeof msg, &t),
                     PARLEY_E_CRYPTO_BAD_SIGNATURE);
  }
  assert_int_equal(parley_verify(&other.sign_pk, "ack", msg, sizeof msg, &sig),
                   PARLEY_E_CRYPTO_BAD_SIGNATURE);
  assert_int_equal(parley_verify(&id.sign_pk, "ack", msg, sizeof msg, &sig), PARLEY_E_OK);
  parley_identity_wipe(&id);
  parley_identity_wipe(&other);
}

/* ---- fixed vectors ------------------------------------------------------------- */

static void test_fixed_seed_vectors(void **state) {
  (void)state;
  parley_identity id;
  fixed_identity(&id);
  assert_hex(id.sign_pk.b, 32, "03a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8");
  assert_hex(id.box_pk.b, 32, "358072d6365880d1aeea329adf9121383851ed21a28e3b75e965d0d2cd166254");

  char fp[PARLEY_FINGERPRINT_HEX_LEN], kid[PARLEY_KEY_ID_LEN];
  parley_sign_pk_fingerprint(&id.sign_pk, fp);
  assert_string_equal(fp, "4b45fd87280f5a2d3d00a8721dfea2dcd0bd8a539df02c2a177a71f4287f8826");
  parley_sign_pk_key_id(&id.sign_pk, kid);
  assert_string_equal(kid, "S0X9hygPWi09AKhyHf6i3A");
  parley_box_pk_fingerprint(&id.box_pk, fp);
  assert_string_equal(fp, "1a081c3ec977512d7331d9a7c156b4db4f7ccd1a76ea66877e08abbb52ee55fa");
  parley_box_pk_key_id(&id.box_pk, kid);
  assert_string_equal(kid, "GggcPsl3US1zMdmnwVa02w");

  char b64[PARLEY_KEY_B64_LEN];
  parley_sign_pk_to_b64(&id.sign_pk, b64);
  assert_string_equal(b64, "A6EHv_POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg");
  parley_box_pk_to_b64(&id.box_pk, b64);
  assert_string_equal(b64, "NYBy1jZYgNGu6jKa35EhODhR7SGijjt16WXQ0s0WYlQ");

  /* Ed25519 is deterministic: Ed25519(seed, "parley/v1/test-vector\nhello parley") */
  parley_sig sig;
  assert_int_equal(parley_sign(&id.sign_sk, "test-vector", "hello parley", 12, &sig), PARLEY_E_OK);
  char sb[PARLEY_SIG_B64_LEN];
  parley_sig_to_b64(&sig, sb);
  assert_string_equal(sb, "gzD7VcFKJTH9uwbj_NfgkqjIkfQV7TxJ6-cNkBPt2sg7NSvyoQiO9igHnDosC4YBSjXR1"
                          "U7Ps1OtI7eauDDpAA");
  parley_identity_wipe(&id);
}

/* RFC 9421 Appendix B.2.6 (shared vector): raw Ed25519 over a signature base. */
static void test_rfc9421_raw(void **state) {
  (void)state;
  const char *dir = getenv("PARLEY_TESTDATA");
  assert_non_null(dir);
  char path[1024];
  int n = snprintf(path, sizeof path, "%s/rfc9421-b26.json", dir);
  assert_true(n > 0 && (size_t)n < sizeof path);
  json_error_t jerr;
  json_t *v = json_load_file(path, 0, &jerr);
  assert_non_null(v);
  const char *seed_hex = json_string_value(json_object_get(v, "private_seed_hex"));
  const char *pk_hex = json_string_value(json_object_get(v, "public_key_hex"));
  const char *base = json_string_value(json_object_get(v, "signature_base"));
  const char *hdr = json_string_value(json_object_get(v, "signature_header"));
  assert_non_null(seed_hex);
  assert_non_null(pk_hex);
  assert_non_null(base);
  assert_non_null(hdr);

  uint8_t seed[32], box[32] = {1};
  hex_to(seed_hex, seed, 32);
  parley_identity id;
  assert_int_equal(parley_identity_from_seeds(seed, box, &id), PARLEY_E_OK);
  assert_hex(id.sign_pk.b, 32, pk_hex);

  /* sig-b26=:<standard base64>: */
  const char *a = strchr(hdr, ':');
  assert_non_null(a);
  const char *b = strchr(a + 1, ':');
  assert_non_null(b);
  parley_sig sig;
  size_t got = 0;
  assert_int_equal(parley_b64_decode(a + 1, (size_t)(b - a - 1), sig.b, sizeof sig.b, &got),
                   PARLEY_E_OK);
  assert_int_equal(got, 64);

  assert_int_equal(parley_ed25519_verify_raw(&id.sign_pk, base, strlen(base), &sig), PARLEY_E_OK);
  parley_sig mine;
  assert_int_equal(parley_ed25519_sign_raw(&id.sign_sk, base, strlen(base), &mine), PARLEY_E_OK);
  assert_memory_equal(mine.b, sig.b, 64);
  /* one byte less of the base, or the purpose-framed API, must fail */
  assert_int_equal(parley_ed25519_verify_raw(&id.sign_pk, base, strlen(base) - 1, &sig),
                   PARLEY_E_CRYPTO_BAD_SIGNATURE);
  assert_int_equal(parley_verify(&id.sign_pk, "http", base, strlen(base), &sig),
                   PARLEY_E_CRYPTO_BAD_SIGNATURE);
  json_decref(v);
  parley_identity_wipe(&id);
}

/* ---- hashes ------------------------------------------------------------------------ */

static void test_hashes(void **state) {
  (void)state;
  parley_hash h;
  parley_sha256("abc", 3, &h);
  assert_hex(h.b, 32, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  parley_sha256(NULL, 0, &h);
  assert_hex(h.b, 32, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");

  /* incremental == one-shot at every split point */
  uint8_t data[200];
  for (size_t i = 0; i < sizeof data; i++)
    data[i] = (uint8_t)(i * 31 + 5);
  parley_hash whole;
  parley_sha256(data, sizeof data, &whole);
  for (size_t cut = 0; cut <= sizeof data; cut += 13) {
    parley_sha256_ctx c;
    parley_sha256_init(&c);
    parley_sha256_update(&c, data, cut);
    parley_sha256_update(&c, data + cut, sizeof data - cut);
    parley_sha256_final(&c, &h);
    assert_memory_equal(h.b, whole.b, 32);
  }

  uint8_t mac[32];
  const char *fox = "The quick brown fox jumps over the lazy dog";
  parley_hmac_sha256("key", 3, fox, strlen(fox), mac);
  assert_hex(mac, 32, "f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8");
  char longkey[100];
  memset(longkey, 'k', sizeof longkey); /* longer than the block: hashed first */
  parley_hmac_sha256(longkey, sizeof longkey, "msg", 3, mac);
  assert_hex(mac, 32, "bd56a1782c2830e8abc6ed866a57a1230661e650b84c62f7ee3accc5fa5af491");
}

/* ---- fingerprints for humans -------------------------------------------------------- */

static void test_fingerprint_display(void **state) {
  (void)state;
  char out[PARLEY_FINGERPRINT_DISPLAY_LEN];
  assert_int_equal(parley_fingerprint_display(
                       "4b45fd87280f5a2d3d00a8721dfea2dcd0bd8a539df02c2a177a71f4287f8826", out),
                   PARLEY_E_OK);
  assert_string_equal(out, "4b45 fd87 280f 5a2d 3d00 a872 1dfe a2dc d0bd 8a53 9df0 2c2a 177a "
                           "71f4 287f 8826");
  assert_int_equal(strlen(out), PARLEY_FINGERPRINT_DISPLAY_LEN - 1);
  assert_int_equal(parley_fingerprint_display(
                       "4B45FD87280F5A2D3D00A8721DFEA2DCD0BD8A539DF02C2A177A71F4287F8826", out),
                   PARLEY_E_OK);
  assert_string_equal(out, "4b45 fd87 280f 5a2d 3d00 a872 1dfe a2dc d0bd 8a53 9df0 2c2a 177a "
                           "71f4 287f 8826");
  const char *bad[] = {"",
                       "4b45",
                       "4b45fd87280f5a2d3d00a8721dfea2dcd0bd8a539df02c2a177a71f4287f882",
                       "4b45fd87280f5a2d3d00a8721dfea2dcd0bd8a539df02c2a177a71f4287f88266",
                       "4b45fd87280f5a2d3d00a8721dfea2dcd0bd8a539df02c2a177a71f4287f882g",
                       "4b45 fd87280f5a2d3d00a8721dfea2dcd0bd8a539df02c2a177a71f4287f882"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    assert_int_equal(parley_fingerprint_display(bad[i], out), PARLEY_E_INVALID_ARGUMENT);
    assert_string_equal(out, "");
  }
  assert_int_equal(parley_fingerprint_display(NULL, out), PARLEY_E_INVALID_ARGUMENT);
}

/* ---- encodings ----------------------------------------------------------------------- */

static const char B64URL[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* Same length, same leading bits, but the unused trailing bits set: non-canonical. */
static void set_trailing_bit(char *s) {
  size_t n = strlen(s);
  const char *p = strchr(B64URL, s[n - 1]);
  assert_non_null(p);
  s[n - 1] = B64URL[(p - B64URL) ^ 1];
}

static void test_b64(void **state) {
  (void)state;
  for (int round = 0; round < 20; round++) {
    parley_identity id;
    parley_identity_generate(&id);
    char b[PARLEY_KEY_B64_LEN];
    parley_sign_pk spk;
    parley_sign_pk_to_b64(&id.sign_pk, b);
    assert_int_equal(strlen(b), 43);
    assert_int_equal(parley_sign_pk_from_b64(b, &spk), PARLEY_E_OK);
    assert_memory_equal(spk.b, id.sign_pk.b, 32);
    parley_box_pk bpk;
    parley_box_pk_to_b64(&id.box_pk, b);
    assert_int_equal(strlen(b), 43);
    assert_int_equal(parley_box_pk_from_b64(b, &bpk), PARLEY_E_OK);
    assert_memory_equal(bpk.b, id.box_pk.b, 32);
    parley_sig sig, sig2;
    assert_int_equal(parley_sign(&id.sign_sk, "x", "y", 1, &sig), PARLEY_E_OK);
    char sb[PARLEY_SIG_B64_LEN];
    parley_sig_to_b64(&sig, sb);
    assert_int_equal(strlen(sb), 86);
    assert_int_equal(parley_sig_from_b64(sb, &sig2), PARLEY_E_OK);
    assert_memory_equal(sig.b, sig2.b, 64);
    parley_identity_wipe(&id);
  }

  parley_identity id;
  fixed_identity(&id);
  char good[PARLEY_KEY_B64_LEN], t[128];
  parley_sign_pk_to_b64(&id.sign_pk, good);
  parley_sign_pk spk;
  parley_box_pk bpk;
  parley_sig sig;
  memset(&spk, 0xaa, sizeof spk);

  /* too short, too long, padded, standard alphabet, whitespace, non-canonical tail */
  assert_false(parley_strlcpy(t, good, 43)); /* truncated by one */
  assert_int_equal(parley_sign_pk_from_b64(t, &spk), PARLEY_E_CRYPTO_BAD_KEY);
  snprintf(t, sizeof t, "%sA", good);
  assert_int_equal(parley_sign_pk_from_b64(t, &spk), PARLEY_E_CRYPTO_BAD_KEY);
  snprintf(t, sizeof t, "%s=", good);
  assert_int_equal(parley_sign_pk_from_b64(t, &spk), PARLEY_E_CRYPTO_BAD_KEY);
  snprintf(t, sizeof t, "%s", good);
  t[4] = '/'; /* "A6EHv_PO..." has '_' at 5; a '/' anywhere is the wrong alphabet */
  assert_int_equal(parley_sign_pk_from_b64(t, &spk), PARLEY_E_CRYPTO_BAD_KEY);
  snprintf(t, sizeof t, " %s", good);
  t[43] = 0;
  assert_int_equal(parley_sign_pk_from_b64(t, &spk), PARLEY_E_CRYPTO_BAD_KEY);
  snprintf(t, sizeof t, "%s", good);
  set_trailing_bit(t);
  assert_int_equal(parley_sign_pk_from_b64(t, &spk), PARLEY_E_CRYPTO_BAD_KEY);
  assert_int_equal(parley_sign_pk_from_b64("", &spk), PARLEY_E_CRYPTO_BAD_KEY);
  assert_int_equal(parley_sign_pk_from_b64(NULL, &spk), PARLEY_E_CRYPTO_BAD_KEY);
  uint8_t check[32];
  memset(check, 0xaa, sizeof check);
  assert_memory_equal(spk.b, check, 32); /* untouched on failure */

  /* well-formed encodings of unusable keys: the Ed25519 identity point (small order),
   * and X25519 all-zero / high-bit keys */
  uint8_t raw[32] = {1};
  char enc[PARLEY_KEY_B64_LEN];
  assert_int_equal(parley_b64url_encode(raw, 32, enc, sizeof enc), PARLEY_E_OK);
  assert_int_equal(parley_sign_pk_from_b64(enc, &spk), PARLEY_E_CRYPTO_BAD_KEY);
  memset(raw, 0, sizeof raw);
  assert_int_equal(parley_b64url_encode(raw, 32, enc, sizeof enc), PARLEY_E_OK);
  assert_int_equal(parley_box_pk_from_b64(enc, &bpk), PARLEY_E_CRYPTO_BAD_KEY);
  memcpy(raw, id.box_pk.b, 32);
  raw[31] |= 0x80;
  assert_int_equal(parley_b64url_encode(raw, 32, enc, sizeof enc), PARLEY_E_OK);
  assert_int_equal(parley_box_pk_from_b64(enc, &bpk), PARLEY_E_CRYPTO_BAD_KEY);

  parley_box_pk_to_b64(&id.box_pk, good);
  assert_false(parley_strlcpy(t, good, 43)); /* truncated by one */
  assert_int_equal(parley_box_pk_from_b64(t, &bpk), PARLEY_E_CRYPTO_BAD_KEY);
  snprintf(t, sizeof t, "%s", good);
  set_trailing_bit(t);
  assert_int_equal(parley_box_pk_from_b64(t, &bpk), PARLEY_E_CRYPTO_BAD_KEY);

  char sgood[PARLEY_SIG_B64_LEN];
  assert_int_equal(parley_sign(&id.sign_sk, "x", "y", 1, &sig), PARLEY_E_OK);
  parley_sig_to_b64(&sig, sgood);
  assert_false(parley_strlcpy(t, sgood, 86)); /* truncated by one */
  assert_int_equal(parley_sig_from_b64(t, &sig), PARLEY_E_CRYPTO_BAD_SIGNATURE);
  snprintf(t, sizeof t, "%sA", sgood);
  assert_int_equal(parley_sig_from_b64(t, &sig), PARLEY_E_CRYPTO_BAD_SIGNATURE);
  snprintf(t, sizeof t, "%s==", sgood);
  assert_int_equal(parley_sig_from_b64(t, &sig), PARLEY_E_CRYPTO_BAD_SIGNATURE);
  snprintf(t, sizeof t, "%s", sgood);
  set_trailing_bit(t);
  assert_int_equal(parley_sig_from_b64(t, &sig), PARLEY_E_CRYPTO_BAD_SIGNATURE);
  /* a public key is not a signature and vice versa */
  assert_int_equal(parley_sig_from_b64(good, &sig), PARLEY_E_CRYPTO_BAD_SIGNATURE);
  assert_int_equal(parley_box_pk_from_b64(sgood, &bpk), PARLEY_E_CRYPTO_BAD_KEY);
  parley_identity_wipe(&id);
}

/* ---- seal ------------------------------------------------------------------------------ */

#define BODY_MAX (1 << 20)

static const char AD[] = "header-hash:0123456789abcdef";

static void test_seal_three_recipients(void **state) {
  (void)state;
  parley_identity r[3];
  for (int i = 0; i < 3; i++)
    parley_identity_generate(&r[i]);
  const char *pt = "Request for preservation of stored computer data (Art. 29).";
  size_t ptlen = strlen(pt);

  parley_content_key key;
  uint8_t nonce[PARLEY_NONCE_LEN];
  parley_hash commit;
  parley_buf ct;
  parley_buf_init(&ct, BODY_MAX);
  assert_int_equal(parley_seal_body((const uint8_t *)pt, ptlen, (const uint8_t *)AD, strlen(AD),
                                    &key, nonce, &ct, &commit),
                   PARLEY_E_OK);
  assert_int_equal(ct.len, ptlen + PARLEY_AEAD_TAG_LEN);
  assert_memory_not_equal(ct.data, pt, ptlen);
  parley_hash expect;
  parley_key_commitment(&key, nonce, &expect);
  assert_memory_equal(expect.b, commit.b, 32);

  uint8_t wrapped[3][PARLEY_WRAPPED_KEY_LEN];
  for (int i = 0; i < 3; i++)
    assert_int_equal(parley_wrap_key(&key, &r[i].box_pk, wrapped[i]), PARLEY_E_OK);
  assert_memory_not_equal(wrapped[0], wrapped[1], PARLEY_WRAPPED_KEY_LEN);
  assert_memory_not_equal(wrapped[1], wrapped[2], PARLEY_WRAPPED_KEY_LEN);

  for (int i = 0; i < 3; i++) {
    parley_content_key k;
    assert_int_equal(parley_unwrap_key(wrapped[i], &r[i].box_pk, &r[i].box_sk, &k), PARLEY_E_OK);
    assert_memory_equal(k.b, key.b, 32);
    parley_buf out;
    parley_buf_init(&out, BODY_MAX);
    assert_int_equal(parley_open_body(&k, nonce, ct.data, ct.len, (const uint8_t *)AD, strlen(AD),
                                      &commit, &out),
                     PARLEY_E_OK);
    assert_int_equal(out.len, ptlen);
    assert_memory_equal(out.data, pt, ptlen);
    parley_buf_free(&out);
  }

  /* two seals of the same plaintext share nothing */
  parley_content_key key2;
  uint8_t nonce2[PARLEY_NONCE_LEN];
  parley_hash commit2;
  parley_buf ct2;
  parley_buf_init(&ct2, BODY_MAX);
  assert_int_equal(parley_seal_body((const uint8_t *)pt, ptlen, (const uint8_t *)AD, strlen(AD),
                                    &key2, nonce2, &ct2, &commit2),
                   PARLEY_E_OK);
  assert_memory_not_equal(key.b, key2.b, 32);
  assert_memory_not_equal(nonce, nonce2, sizeof nonce);
  assert_memory_not_equal(ct.data, ct2.data, ct.len);
  parley_buf_free(&ct);
  parley_buf_free(&ct2);
  for (int i = 0; i < 3; i++)
    parley_identity_wipe(&r[i]);
}

static void test_wrong_recipient(void **state) {
  (void)state;
  parley_identity a, b;
  parley_identity_generate(&a);
  parley_identity_generate(&b);
  parley_content_key key, k;
  randombytes_buf(key.b, sizeof key.b);
  uint8_t w[PARLEY_WRAPPED_KEY_LEN];
  assert_int_equal(parley_wrap_key(&key, &a.box_pk, w), PARLEY_E_OK);
  memset(&k, 0x55, sizeof k);
  assert_int_equal(parley_unwrap_key(w, &b.box_pk, &b.box_sk, &k), PARLEY_E_CRYPTO_DECRYPT);
  uint8_t zero[32] = {0};
  assert_memory_equal(k.b, zero, 32); /* nothing left behind */
  /* the right secret key with someone else's public key */
  assert_int_equal(parley_unwrap_key(w, &b.box_pk, &a.box_sk, &k), PARLEY_E_CRYPTO_DECRYPT);
  /* any altered byte of the wrapped key */
  for (size_t i = 0; i < sizeof w; i += 7) {
    w[i] ^= 0x80;
    assert_int_equal(parley_unwrap_key(w, &a.box_pk, &a.box_sk, &k), PARLEY_E_CRYPTO_DECRYPT);
    w[i] ^= 0x80;
  }
  assert_int_equal(parley_unwrap_key(w, &a.box_pk, &a.box_sk, &k), PARLEY_E_OK);
  assert_memory_equal(k.b, key.b, 32);
  /* a small-order recipient key cannot be wrapped to */
  parley_box_pk bad;
  memset(&bad, 0, sizeof bad);
  assert_int_equal(parley_wrap_key(&key, &bad, w), PARLEY_E_CRYPTO_BAD_KEY);
  parley_identity_wipe(&a);
  parley_identity_wipe(&b);
}

struct sealed {
  parley_content_key key;
  uint8_t nonce[PARLEY_NONCE_LEN];
  parley_hash commit;
  parley_buf ct;
};

static void seal_fixture(struct sealed *s, const char *pt) {
  parley_buf_init(&s->ct, BODY_MAX);
  assert_int_equal(parley_seal_body((const uint8_t *)pt, strlen(pt), (const uint8_t *)AD,
                                    strlen(AD), &s->key, s->nonce, &s->ct, &s->commit),
                   PARLEY_E_OK);
}

static parley_err open_with(const parley_content_key *k, const uint8_t *nonce, const uint8_t *ct,
                            size_t ctlen, const char *ad, const parley_hash *commit,
                            parley_buf *out) {
  return parley_open_body(k, nonce, ct, ctlen, (const uint8_t *)ad, strlen(ad), commit, out);
}

static void test_seal_tampering(void **state) {
  (void)state;
  struct sealed s;
  seal_fixture(&s, "incident notification: TLP:AMBER");
  parley_buf out;
  parley_buf_init(&out, BODY_MAX);
  assert_int_equal(open_with(&s.key, s.nonce, s.ct.data, s.ct.len, AD, &s.commit, &out),
                   PARLEY_E_OK);

  /* ciphertext: every byte, including the tag */
  for (size_t i = 0; i < s.ct.len; i++) {
    s.ct.data[i] ^= 0x01;
    assert_int_equal(open_with(&s.key, s.nonce, s.ct.data, s.ct.len, AD, &s.commit, &out),
                     PARLEY_E_CRYPTO_DECRYPT);
    assert_int_equal(out.len, 0);
    s.ct.data[i] ^= 0x01;
  }
  /* truncated, shorter than a tag, and extended */
  assert_int_equal(open_with(&s.key, s.nonce, s.ct.data, s.ct.len - 1, AD, &s.commit, &out),
                   PARLEY_E_CRYPTO_DECRYPT);
  assert_int_equal(open_with(&s.key, s.nonce, s.ct.data, 15, AD, &s.commit, &out),
                   PARLEY_E_CRYPTO_DECRYPT);
  assert_int_equal(open_with(&s.key, s.nonce, NULL, 0, AD, &s.commit, &out),
                   PARLEY_E_CRYPTO_DECRYPT);
  parley_buf longer;
  parley_buf_init(&longer, BODY_MAX);
  assert_int_equal(parley_buf_append(&longer, s.ct.data, s.ct.len), PARLEY_E_OK);
  assert_int_equal(parley_buf_append(&longer, "", 1), PARLEY_E_OK);
  assert_int_equal(open_with(&s.key, s.nonce, longer.data, longer.len, AD, &s.commit, &out),
                   PARLEY_E_CRYPTO_DECRYPT);
  parley_buf_free(&longer);

  /* associated data */
  assert_int_equal(open_with(&s.key, s.nonce, s.ct.data, s.ct.len, "header-hash:0123456789abcdeF",
                             &s.commit, &out),
                   PARLEY_E_CRYPTO_DECRYPT);
  assert_int_equal(open_with(&s.key, s.nonce, s.ct.data, s.ct.len, "", &s.commit, &out),
                   PARLEY_E_CRYPTO_DECRYPT);

  /* nonce: the commitment covers it, so it is caught before decryption */
  for (size_t i = 0; i < PARLEY_NONCE_LEN; i++) {
    s.nonce[i] ^= 0x10;
    assert_int_equal(open_with(&s.key, s.nonce, s.ct.data, s.ct.len, AD, &s.commit, &out),
                     PARLEY_E_CRYPTO_COMMITMENT);
    s.nonce[i] ^= 0x10;
  }
  /* commitment */
  for (size_t i = 0; i < PARLEY_HASH_LEN; i++) {
    s.commit.b[i] ^= 0x04;
    assert_int_equal(open_with(&s.key, s.nonce, s.ct.data, s.ct.len, AD, &s.commit, &out),
                     PARLEY_E_CRYPTO_COMMITMENT);
    s.commit.b[i] ^= 0x04;
  }
  /* the key itself */
  s.key.b[31] ^= 0x01;
  assert_int_equal(open_with(&s.key, s.nonce, s.ct.data, s.ct.len, AD, &s.commit, &out),
                   PARLEY_E_CRYPTO_COMMITMENT);
  s.key.b[31] ^= 0x01;

  assert_int_equal(open_with(&s.key, s.nonce, s.ct.data, s.ct.len, AD, &s.commit, &out),
                   PARLEY_E_OK);
  assert_string_equal((char *)out.data, "incident notification: TLP:AMBER");
  parley_buf_free(&out);
  parley_buf_free(&s.ct);
}

static void test_commitment(void **state) {
  (void)state;
  /* fixed vector: HMAC-SHA256(40..5f, "parley/v1/key-commitment\n" || 60..77) */
  parley_content_key k;
  uint8_t nonce[PARLEY_NONCE_LEN];
  for (int i = 0; i < 32; i++)
    k.b[i] = (uint8_t)(64 + i);
  for (int i = 0; i < 24; i++)
    nonce[i] = (uint8_t)(96 + i);
  parley_hash c;
  parley_key_commitment(&k, nonce, &c);
  assert_hex(c.b, 32, "d01fd58b652c8655e80b41fb86301e76fe261d86543f845a0b37a7bb81dbe430");

  /* A different content key that shares nothing with the real one, presented with the
   * real header: refused by the commitment before any decryption. */
  struct sealed s;
  seal_fixture(&s, "body");
  parley_content_key other;
  randombytes_buf(other.b, sizeof other.b);
  assert_memory_not_equal(other.b, s.key.b, 32);
  parley_buf out;
  parley_buf_init(&out, BODY_MAX);
  assert_int_equal(open_with(&other, s.nonce, s.ct.data, s.ct.len, AD, &s.commit, &out),
                   PARLEY_E_CRYPTO_COMMITMENT);
  assert_int_equal(out.len, 0);
  /* with a commitment matching the other key it passes the commitment check and the
   * AEAD refuses it: the two checks are independent */
  parley_hash oc;
  parley_key_commitment(&other, s.nonce, &oc);
  assert_int_equal(open_with(&other, s.nonce, s.ct.data, s.ct.len, AD, &oc, &out),
                   PARLEY_E_CRYPTO_DECRYPT);
  parley_buf_free(&out);
  parley_buf_free(&s.ct);
}

static void test_seal_limits(void **state) {
  (void)state;
  uint8_t pt[100];
  memset(pt, 'p', sizeof pt);
  parley_content_key key;
  uint8_t nonce[PARLEY_NONCE_LEN];
  parley_hash commit;
  parley_buf ct, out;

  /* ct_out too small by one byte, then exactly big enough */
  parley_buf_init(&ct, sizeof pt + PARLEY_AEAD_TAG_LEN - 1);
  assert_int_equal(parley_seal_body(pt, sizeof pt, NULL, 0, &key, nonce, &ct, &commit),
                   PARLEY_E_TOO_LARGE);
  assert_int_equal(ct.len, 0);
  parley_buf_free(&ct);
  parley_buf_init(&ct, 5);
  assert_int_equal(parley_seal_body(pt, sizeof pt, NULL, 0, &key, nonce, &ct, &commit),
                   PARLEY_E_TOO_LARGE);
  parley_buf_free(&ct);
  parley_buf_init(&ct, sizeof pt + PARLEY_AEAD_TAG_LEN);
  assert_int_equal(parley_seal_body(pt, sizeof pt, NULL, 0, &key, nonce, &ct, &commit),
                   PARLEY_E_OK);

  /* pt_out too small by one byte, then exactly big enough */
  parley_buf_init(&out, sizeof pt - 1);
  assert_int_equal(parley_open_body(&key, nonce, ct.data, ct.len, NULL, 0, &commit, &out),
                   PARLEY_E_TOO_LARGE);
  parley_buf_free(&out);
  parley_buf_init(&out, sizeof pt);
  assert_int_equal(parley_open_body(&key, nonce, ct.data, ct.len, NULL, 0, &commit, &out),
                   PARLEY_E_OK);
  assert_memory_equal(out.data, pt, sizeof pt);
  parley_buf_free(&out);
  parley_buf_free(&ct);

  /* empty plaintext: ciphertext is the tag alone */
  parley_buf_init(&ct, 64);
  assert_int_equal(parley_seal_body(NULL, 0, NULL, 0, &key, nonce, &ct, &commit), PARLEY_E_OK);
  assert_int_equal(ct.len, PARLEY_AEAD_TAG_LEN);
  parley_buf_init(&out, 0);
  assert_int_equal(parley_open_body(&key, nonce, ct.data, ct.len, NULL, 0, &commit, &out),
                   PARLEY_E_OK);
  assert_int_equal(out.len, 0);
  parley_buf_free(&out);
  parley_buf_free(&ct);

  /* NULL with a length is refused, not dereferenced */
  parley_buf_init(&ct, 64);
  assert_int_equal(parley_seal_body(NULL, 3, NULL, 0, &key, nonce, &ct, &commit),
                   PARLEY_E_INVALID_ARGUMENT);
  assert_int_equal(parley_seal_body(pt, 3, NULL, 3, &key, nonce, &ct, &commit),
                   PARLEY_E_INVALID_ARGUMENT);
  parley_buf_free(&ct);
}

int main(void) {
  if (!parley_init()) return 1;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_sign_verify),
      cmocka_unit_test(test_purpose_syntax),
      cmocka_unit_test(test_purpose_separation),
      cmocka_unit_test(test_tampered),
      cmocka_unit_test(test_fixed_seed_vectors),
      cmocka_unit_test(test_rfc9421_raw),
      cmocka_unit_test(test_hashes),
      cmocka_unit_test(test_fingerprint_display),
      cmocka_unit_test(test_b64),
      cmocka_unit_test(test_seal_three_recipients),
      cmocka_unit_test(test_wrong_recipient),
      cmocka_unit_test(test_seal_tampering),
      cmocka_unit_test(test_commitment),
      cmocka_unit_test(test_seal_limits),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
