/* tlog signed notes, checkpoints and cosignatures: the vectors.json "signed_note"
 * section (byte-for-byte signing where the key is known) and strict parsing. */
/* cmocka needs these first */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parley/tlog.h"

static json_t *vectors;

static json_t *vec(const char *prefix) {
  json_t *sn = json_object_get(vectors, "signed_note");
  const char *key;
  json_t *v;
  json_object_foreach(sn, key, v) {
    if (strncmp(key, prefix, strlen(prefix)) == 0) return v;
  }
  fail_msg("no signed_note vector %s", prefix);
  return NULL;
}

static const char *str(json_t *o, const char *key) {
  const char *s = json_string_value(json_object_get(o, key));
  assert_non_null(s);
  return s;
}

static void seed_of(json_t *v, uint8_t seed[32]) {
  size_t n = 0;
  const char *hex = str(v, "seed_hex");
  assert_int_equal(parley_hex_decode(hex, strlen(hex), seed, 32, &n), PARLEY_E_OK);
  assert_int_equal(n, 32);
}

static int setup(void **state) {
  (void)state;
  char path[4096];
  const char *d = getenv("PARLEY_TESTDATA");
  if (!d) return -1;
  snprintf(path, sizeof path, "%s/vectors.json", d);
  vectors = json_load_file(path, 0, NULL);
  return vectors ? 0 : -1;
}

static int teardown(void **state) {
  (void)state;
  json_decref(vectors);
  return 0;
}

/* ---- keys ------------------------------------------------------------------ */

static void test_keys_vector(void **state) {
  (void)state;
  json_t *v = vec("go_x_mod_PeterNeumann");
  parley_note_verifier ver;
  parley_error err;
  assert_int_equal(parley_note_verifier_parse(str(v, "vkey"), &ver, &err), PARLEY_E_OK);
  assert_string_equal(ver.name, "PeterNeumann");
  assert_int_equal(ver.key_id, 0xc74f20a3);
  uint8_t pub[32];
  size_t n;
  assert_int_equal(parley_hex_decode(str(v, "pub_hex"), 64, pub, 32, &n), PARLEY_E_OK);
  assert_memory_equal(ver.public_key, pub, 32);
  char out[PARLEY_NOTE_VKEY_MAX];
  assert_int_equal(parley_note_verifier_format(&ver, out, sizeof out, NULL), PARLEY_E_OK);
  assert_string_equal(out, str(v, "vkey"));

  /* the skey gives the same key; so does the seed */
  parley_note_signer *s = NULL, *s2 = NULL;
  assert_int_equal(parley_note_signer_from_skey(str(v, "skey"), &s, &err), PARLEY_E_OK);
  parley_note_verifier from_s;
  parley_note_signer_verifier(s, &from_s);
  assert_memory_equal(&from_s, &ver, sizeof ver);
  uint8_t seed[32];
  seed_of(v, seed);
  assert_int_equal(parley_note_signer_new("PeterNeumann", seed, &s2, NULL), PARLEY_E_OK);
  parley_note_signer_verifier(s2, &from_s);
  assert_memory_equal(&from_s, &ver, sizeof ver);
  parley_note_signer_free(s);
  parley_note_signer_free(s2);

  /* the cosignature key of the same seed: type 0x04, other key id */
  json_t *cv = vec("self_generated_cosignature_v1");
  parley_cosig_verifier cver;
  assert_int_equal(parley_cosig_verifier_parse(str(cv, "vkey"), &cver, &err), PARLEY_E_OK);
  assert_int_equal(cver.key_id, 0xd46a2b1b);
  assert_memory_equal(cver.public_key, pub, 32);
  assert_int_equal(parley_cosig_verifier_format(&cver, out, sizeof out, NULL), PARLEY_E_OK);
  assert_string_equal(out, str(cv, "vkey"));
  parley_cosigner *c = NULL;
  assert_int_equal(parley_cosigner_new("witness.example.com/w1", seed, &c, NULL), PARLEY_E_OK);
  parley_cosig_verifier from_c;
  parley_cosigner_verifier(c, &from_c);
  assert_memory_equal(&from_c, &cver, sizeof cver);
  parley_cosigner_free(c);
  /* a key of one type is not accepted as the other */
  assert_int_equal(parley_note_verifier_parse(str(cv, "vkey"), &ver, &err),
                   PARLEY_E_CRYPTO_BAD_KEY);
  assert_int_equal(parley_cosig_verifier_parse(str(v, "vkey"), &cver, &err),
                   PARLEY_E_CRYPTO_BAD_KEY);
}

static void test_keys_strict(void **state) {
  (void)state;
  static const char *bad[] = {
      "",
      "PeterNeumann",
      "PeterNeumann+c74f20a3",
      "PeterNeumann+c74f20a3+",
      "+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",              /* empty name */
      "PeterNeumann+C74F20A3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",  /* upper hex */
      "PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",  /* wrong id */
      "PeterNeumann+c74f20a+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",   /* 7 hex */
      "PeterNeumann+c74f20a30+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", /* 9 hex */
      "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10T",   /* short b64 */
      "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TX",  /* bad bits */
      "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW ", /* trailing */
      "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW=", /* padding */
      " PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
      "Peter Neumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
      "Peter\xc2\xa0Neumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", /* NBSP */
      "PeterNeumann+c74f20a3+AhpcQcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWA=",        /* type 2 */
  };
  parley_note_verifier v;
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    parley_error err = {0};
    if (parley_note_verifier_parse(bad[i], &v, &err) != PARLEY_E_CRYPTO_BAD_KEY)
      fail_msg("accepted bad vkey %s", bad[i]);
    assert_int_equal(err.code, PARLEY_E_CRYPTO_BAD_KEY);
  }
  char longname[400];
  memset(longname, 'a', sizeof longname - 1);
  longname[sizeof longname - 1] = 0;
  assert_int_equal(parley_note_verifier_parse(longname, &v, NULL), PARLEY_E_CRYPTO_BAD_KEY);
  uint8_t seed[32] = {1};
  parley_note_signer *s = NULL;
  assert_int_equal(parley_note_signer_new("a+b", seed, &s, NULL), PARLEY_E_CRYPTO_BAD_KEY);
  assert_null(s);
  assert_int_equal(parley_note_signer_new("", seed, &s, NULL), PARLEY_E_CRYPTO_BAD_KEY);
  assert_int_equal(parley_note_signer_new(longname, seed, &s, NULL), PARLEY_E_CRYPTO_BAD_KEY);
  /* skey: wrong id, wrong prefix, wrong type */
  assert_int_equal(
      parley_note_signer_from_skey(
          "PRIVATE+KEY+PeterNeumann+c74f20a4+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz", &s,
          NULL),
      PARLEY_E_KEYFILE_FORMAT);
  assert_int_equal(
      parley_note_signer_from_skey(
          "PRIVATE+KEX+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz", &s,
          NULL),
      PARLEY_E_KEYFILE_FORMAT);
  assert_int_equal(parley_note_signer_from_skey("PRIVATE+KEY+PeterNeumann+c74f20a3+", &s, NULL),
                   PARLEY_E_KEYFILE_FORMAT);
  assert_null(s);
}

/* ---- notes --------------------------------------------------------------------- */

static void verify_vector_note(const char *prefix) {
  json_t *v = vec(prefix);
  const char *msg = str(v, "note");
  parley_note_verifier ver;
  parley_note n;
  parley_error err;
  assert_int_equal(parley_note_verifier_parse(str(v, "vkey"), &ver, &err), PARLEY_E_OK);
  assert_int_equal(parley_note_parse(msg, strlen(msg), &n, &err), PARLEY_E_OK);
  assert_int_equal(n.nsigs, 1);
  if (parley_note_verify(&n, &ver, &err) != PARLEY_E_OK) fail_msg("%s: %s", prefix, err.detail);
  /* one flipped bit of text breaks it */
  char *copy = strdup(msg);
  copy[0] ^= 0x01;
  assert_int_equal(parley_note_parse(copy, strlen(copy), &n, NULL), PARLEY_E_OK);
  assert_int_equal(parley_note_verify(&n, &ver, &err), PARLEY_E_CRYPTO_BAD_SIGNATURE);
  free(copy);
}

static void test_note_vectors(void **state) {
  (void)state;
  verify_vector_note("go_x_mod_PeterNeumann");
  verify_vector_note("c2sp_signed_note_example");
  verify_vector_note("self_generated_checkpoint");
}

static void test_note_sign_reproduces_vector(void **state) {
  (void)state;
  json_t *v = vec("go_x_mod_PeterNeumann");
  const char *text = str(v, "text");
  parley_note_signer *s = NULL;
  assert_int_equal(parley_note_signer_from_skey(str(v, "skey"), &s, NULL), PARLEY_E_OK);
  parley_buf b;
  parley_buf_init(&b, PARLEY_NOTE_MAX_LEN);
  assert_int_equal(parley_note_sign(s, text, strlen(text), &b, NULL), PARLEY_E_OK);
  assert_string_equal((char *)b.data, str(v, "note"));
  parley_buf_free(&b);
  parley_note_signer_free(s);

  /* the checkpoint vector, signed with the same seed under the log's name */
  json_t *cv = vec("self_generated_checkpoint");
  uint8_t seed[32];
  seed_of(v, seed);
  assert_int_equal(parley_note_signer_new("example.com/npoc-log", seed, &s, NULL), PARLEY_E_OK);
  const char *note = str(cv, "note");
  const char *blank = strstr(note, "\n\n");
  assert_non_null(blank);
  parley_buf_init(&b, PARLEY_NOTE_MAX_LEN);
  assert_int_equal(parley_note_sign(s, note, (size_t)(blank - note) + 1, &b, NULL), PARLEY_E_OK);
  assert_string_equal((char *)b.data, note);
  parley_buf_free(&b);
  parley_note_signer_free(s);
}

static parley_note_signer *test_signer(const char *name, uint8_t fill) {
  uint8_t seed[32];
  memset(seed, fill, sizeof seed);
  parley_note_signer *s = NULL;
  assert_int_equal(parley_note_signer_new(name, seed, &s, NULL), PARLEY_E_OK);
  return s;
}

static void test_note_rules(void **state) {
  (void)state;
  parley_note_signer *a = test_signer("a.example/log", 1), *b = test_signer("b.example/w", 2);
  parley_note_signer *a2 = test_signer("a.example/log", 3); /* same name, other key */
  parley_note_verifier va, vb, va2;
  parley_note_signer_verifier(a, &va);
  parley_note_signer_verifier(b, &vb);
  parley_note_signer_verifier(a2, &va2);
  const char *text = "hello\n\nworld, with an empty line\n";
  parley_buf m;
  parley_buf_init(&m, PARLEY_NOTE_MAX_LEN);
  assert_int_equal(parley_note_sign(a, text, strlen(text), &m, NULL), PARLEY_E_OK);
  parley_note n;
  parley_error err;
  assert_int_equal(parley_note_parse((char *)m.data, m.len, &n, &err), PARLEY_E_OK);
  assert_int_equal(n.text_len, strlen(text));
  assert_memory_equal(n.text, text, n.text_len);
  assert_int_equal(parley_note_verify(&n, &va, &err), PARLEY_E_OK);
  /* b did not sign; a2 shares a's name but not its key id: both not signed */
  assert_int_equal(parley_note_verify(&n, &vb, &err), PARLEY_E_CRYPTO_BAD_SIGNATURE);
  assert_int_equal(parley_note_verify(&n, &va2, &err), PARLEY_E_CRYPTO_BAD_SIGNATURE);
  /* add b's line: both verify, unknown lines are ignored */
  assert_int_equal(parley_note_signature_line(b, text, strlen(text), &m, NULL), PARLEY_E_OK);
  assert_int_equal(parley_note_parse((char *)m.data, m.len, &n, &err), PARLEY_E_OK);
  assert_int_equal(n.nsigs, 2);
  assert_int_equal(parley_note_verify(&n, &va, &err), PARLEY_E_OK);
  assert_int_equal(parley_note_verify(&n, &vb, &err), PARLEY_E_OK);
  /* a line with a's name and key id but another signature: the note is refused for a */
  parley_buf other;
  parley_buf_init(&other, PARLEY_NOTE_MAX_LEN);
  assert_int_equal(parley_note_signature_line(a, "other\n", 6, &other, NULL), PARLEY_E_OK);
  assert_int_equal(parley_buf_append(&m, other.data, other.len), PARLEY_E_OK);
  assert_int_equal(parley_note_parse((char *)m.data, m.len, &n, &err), PARLEY_E_OK);
  assert_int_equal(parley_note_verify(&n, &va, &err), PARLEY_E_CRYPTO_BAD_SIGNATURE);
  assert_int_equal(parley_note_verify(&n, &vb, &err), PARLEY_E_OK);
  parley_buf_free(&other);
  parley_buf_free(&m);

  /* signing refuses texts that cannot be notes */
  parley_buf_init(&m, PARLEY_NOTE_MAX_LEN);
  assert_int_equal(parley_note_sign(a, "no newline", 10, &m, NULL), PARLEY_E_TLOG_NOTE);
  assert_int_equal(parley_note_sign(a, "", 0, &m, NULL), PARLEY_E_TLOG_NOTE);
  assert_int_equal(parley_note_sign(a, "tab\there\n", 9, &m, NULL), PARLEY_E_TLOG_NOTE);
  assert_int_equal(parley_note_sign(a, "bad \xff utf8\n", 11, &m, NULL), PARLEY_E_TLOG_NOTE);
  assert_int_equal(parley_note_sign(a, "nul\0x\n", 6, &m, NULL), PARLEY_E_TLOG_NOTE);
  assert_int_equal(m.len, 0);
  parley_buf_free(&m);
  parley_note_signer_free(a);
  parley_note_signer_free(b);
  parley_note_signer_free(a2);
}

static void expect_malformed(const char *msg, size_t len, parley_err want) {
  parley_note n;
  parley_error err = {0};
  parley_err rc = parley_note_parse(msg, len, &n, &err);
  if (rc != want)
    fail_msg("note %.40s...: got %s, want %s", msg, parley_err_name(rc), parley_err_name(want));
  assert_int_equal(err.code, want);
}

static void malformed_fmt(const char *fmt, ...) {
  char buf[1024];
  va_list ap;
  va_start(ap, fmt);
  int w = vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  assert_true(w > 0 && (size_t)w < sizeof buf);
  expect_malformed(buf, (size_t)w, PARLEY_E_TLOG_NOTE);
}

/* sizeof, not strlen: a literal may hold a NUL */
#define MALFORMED(lit, want) expect_malformed(lit, sizeof(lit) - 1, want)

static void test_note_malformed(void **state) {
  (void)state;
  const char *sig =
      "\xe2\x80\x94 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1"
      "FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";
  malformed_fmt("text\n%s", sig);                           /* no blank line */
  MALFORMED("text\n\n", PARLEY_E_TLOG_NOTE);                /* no signature */
  malformed_fmt("text\n\n%s\n", sig);                       /* blank line after the signatures */
  malformed_fmt("text\n\n%.*s", (int)strlen(sig) - 1, sig); /* no final newline */
  malformed_fmt("te\rxt\n\n%s", sig);                       /* control character */
  malformed_fmt("te\xc3xt\n\n%s", sig);                     /* invalid UTF-8 */
  MALFORMED("text\n\n- PeterNeumann x08go/ZJk=\n", PARLEY_E_TLOG_NOTE); /* hyphen */
  MALFORMED("text\n\n\xe2\x80\x94 PeterNeumann\n", PARLEY_E_TLOG_NOTE);
  MALFORMED("text\n\n\xe2\x80\x94  AAAAAAA=\n", PARLEY_E_TLOG_NOTE);    /* empty name */
  MALFORMED("text\n\n\xe2\x80\x94 a+b AAAAAAA=\n", PARLEY_E_TLOG_NOTE); /* '+' */
  MALFORMED("text\n\n\xe2\x80\x94 a AAAA\n", PARLEY_E_TLOG_NOTE);       /* 3 bytes */
  MALFORMED("text\n\n\xe2\x80\x94 a AAAAAA==\n", PARLEY_E_TLOG_NOTE);   /* 4 bytes */
  MALFORMED("text\n\n\xe2\x80\x94 a AAAAAAB=\n", PARLEY_E_TLOG_NOTE);   /* bits */
  MALFORMED("text\n\n\xe2\x80\x94 a AAAAAAA= \n", PARLEY_E_TLOG_NOTE);
  MALFORMED("text\n\n\xe2\x80\x94 a AAAAAAA\n", PARLEY_E_TLOG_NOTE); /* no pad */
  /* the smallest well-formed note parses */
  parley_note n;
  assert_int_equal(parley_note_parse("\n\n\xe2\x80\x94 a AAAAAAA=\n", 17, &n, NULL), PARLEY_E_OK);
  assert_int_equal(n.text_len, 1);
  assert_int_equal(n.sigs[0].key_id, 0);
  /* 100 signatures are fine, 101 are not */
  size_t cap = 8 + 101 * 40;
  char *many = malloc(cap);
  size_t len = (size_t)snprintf(many, cap, "text\n\n");
  for (int i = 0; i < 101; i++) {
    len += (size_t)snprintf(many + len, cap - len, "\xe2\x80\x94 k%d AAAAAAA=\n", i);
    parley_err want = i < 100 ? PARLEY_E_OK : PARLEY_E_TLOG_NOTE;
    assert_int_equal(parley_note_parse(many, len, &n, NULL), want);
  }
  free(many);
  /* more than 1 MiB is refused before anything else */
  size_t big = PARLEY_NOTE_MAX_LEN + 1;
  char *huge = malloc(big);
  memset(huge, 'a', big);
  expect_malformed(huge, big, PARLEY_E_TOO_LARGE);
  free(huge);
}

/* ---- checkpoints --------------------------------------------------------------- */

static void test_checkpoint(void **state) {
  (void)state;
  json_t *cv = vec("self_generated_checkpoint");
  const char *note = str(cv, "note");
  size_t text_len = (size_t)(strstr(note, "\n\n") - note) + 1;
  parley_checkpoint cp;
  parley_error err;
  assert_int_equal(parley_checkpoint_parse(note, text_len, &cp, &err), PARLEY_E_OK);
  assert_string_equal(cp.origin, "example.com/npoc-log");
  assert_int_equal(cp.size, 8);
  assert_null(cp.ext);
  /* the root is the 8-leaf tree's root of the merkle vectors */
  const char *r8 = json_string_value(
      json_object_get(json_object_get(json_object_get(vectors, "merkle"), "roots_hex"), "8"));
  uint8_t want[32];
  size_t n;
  assert_int_equal(parley_hex_decode(r8, 64, want, 32, &n), PARLEY_E_OK);
  assert_memory_equal(cp.root, want, 32);
  parley_buf b;
  parley_buf_init(&b, 4096);
  assert_int_equal(parley_checkpoint_format(&cp, &b, NULL), PARLEY_E_OK);
  assert_int_equal(b.len, text_len);
  assert_memory_equal(b.data, note, text_len);
  parley_buf_free(&b);

  /* extension lines round-trip */
  const char *ext = "o\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\next one\nmore\n";
  assert_int_equal(parley_checkpoint_parse(ext, strlen(ext), &cp, NULL), PARLEY_E_OK);
  assert_int_equal(cp.size, 0);
  assert_int_equal(cp.ext_len, 13);
  assert_memory_equal(cp.ext, "ext one\nmore\n", 13);
  parley_buf_init(&b, 4096);
  assert_int_equal(parley_checkpoint_format(&cp, &b, NULL), PARLEY_E_OK);
  assert_string_equal((char *)b.data, ext);
  parley_buf_free(&b);

  static const char *bad[] = {
      "",
      "o\n8\n",
      "o\n8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=",    /* no final newline */
      "\n8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n",   /* empty origin */
      "o\n08\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n", /* leading zero */
      "o\n+8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n", /* sign */
      "o\n 8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n", /* space */
      "o\n\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n",   /* empty size */
      "o\n18446744073709551616\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n", /* 2^64 */
      "o\n8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyh=\n",                    /* bits */
      "o\n8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQy=\n",                     /* 31 bytes */
      "o\n8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz-Nw7_RgQyg=\n",                    /* base64url */
      "o\n8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg\n",                     /* no padding */
      "o\n8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n\n", /* empty extension */
      "o\n8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\nx\n\ny\n",
      "o\n8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\nx",  /* unterminated */
      "o\t\n8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n", /* control */
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    parley_error e = {0};
    if (parley_checkpoint_parse(bad[i], strlen(bad[i]), &cp, &e) != PARLEY_E_TLOG_CHECKPOINT)
      fail_msg("accepted bad checkpoint %zu", i);
    assert_int_equal(e.code, PARLEY_E_TLOG_CHECKPOINT);
  }
  char origin[400];
  memset(origin, 'o', 256);
  snprintf(origin + 256, sizeof origin - 256,
           "\n1\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n");
  assert_int_equal(parley_checkpoint_parse(origin, strlen(origin), &cp, NULL),
                   PARLEY_E_TLOG_CHECKPOINT);
  assert_int_equal(parley_checkpoint_parse(origin + 1, strlen(origin + 1), &cp, NULL), PARLEY_E_OK);
  /* formatting refuses what parsing would */
  memset(&cp, 0, sizeof cp);
  parley_buf_init(&b, 4096);
  assert_int_equal(parley_checkpoint_format(&cp, &b, NULL), PARLEY_E_TLOG_CHECKPOINT);
  snprintf(cp.origin, sizeof cp.origin, "a\nb");
  assert_int_equal(parley_checkpoint_format(&cp, &b, NULL), PARLEY_E_TLOG_CHECKPOINT);
  snprintf(cp.origin, sizeof cp.origin, "ok");
  cp.ext = "x\n\n";
  cp.ext_len = 3;
  assert_int_equal(parley_checkpoint_format(&cp, &b, NULL), PARLEY_E_TLOG_CHECKPOINT);
  cp.ext = NULL;
  cp.ext_len = 0;
  cp.size = UINT64_MAX;
  assert_int_equal(parley_checkpoint_format(&cp, &b, NULL), PARLEY_E_OK);
  assert_int_equal(parley_checkpoint_parse((char *)b.data, b.len, &cp, NULL), PARLEY_E_OK);
  assert_int_equal(cp.size, UINT64_MAX);
  parley_buf_free(&b);
}

/* ---- cosignatures ---------------------------------------------------------------- */

static void test_cosignature_vector(void **state) {
  (void)state;
  json_t *cv = vec("self_generated_cosignature_v1");
  json_t *ck = vec("self_generated_checkpoint");
  const char *cp_note = str(ck, "note");
  size_t text_len = (size_t)(strstr(cp_note, "\n\n") - cp_note) + 1;
  const char *line = str(cv, "signature_line");
  uint64_t ts_want = (uint64_t)json_integer_value(json_object_get(cv, "timestamp"));
  /* the vector's signed message is what the spec says */
  char msg[512];
  snprintf(msg, sizeof msg, "cosignature/v1\ntime %llu\n%.*s", (unsigned long long)ts_want,
           (int)text_len, cp_note);
  assert_string_equal(msg, str(cv, "signed_message"));

  /* the checkpoint with the log's signature and the witness's cosignature */
  parley_buf m;
  parley_buf_init(&m, PARLEY_NOTE_MAX_LEN);
  assert_int_equal(parley_buf_puts(&m, cp_note), PARLEY_E_OK);
  assert_int_equal(parley_buf_puts(&m, line), PARLEY_E_OK);
  parley_note n;
  parley_error err;
  assert_int_equal(parley_note_parse((char *)m.data, m.len, &n, &err), PARLEY_E_OK);
  assert_int_equal(n.nsigs, 2);
  parley_cosig_verifier w;
  parley_note_verifier logv;
  assert_int_equal(parley_cosig_verifier_parse(str(cv, "vkey"), &w, NULL), PARLEY_E_OK);
  assert_int_equal(parley_note_verifier_parse(str(ck, "vkey"), &logv, NULL), PARLEY_E_OK);
  uint64_t ts = 0;
  if (parley_cosig_verify(&n, &w, &ts, &err) != PARLEY_E_OK)
    fail_msg("cosignature: %s", err.detail);
  assert_int_equal(ts, ts_want);
  assert_int_equal(parley_note_verify(&n, &logv, &err), PARLEY_E_OK);

  /* signing with the seed reproduces the line byte for byte */
  uint8_t seed[32];
  seed_of(vec("go_x_mod_PeterNeumann"), seed);
  parley_cosigner *c = NULL;
  assert_int_equal(parley_cosigner_new(w.name, seed, &c, NULL), PARLEY_E_OK);
  parley_buf l;
  parley_buf_init(&l, 1024);
  assert_int_equal(parley_cosig_sign(c, cp_note, text_len, ts_want, &l, NULL), PARLEY_E_OK);
  assert_string_equal((char *)l.data, line);
  /* a cosignature made at another time verifies with that time */
  parley_buf_reset(&l);
  assert_int_equal(parley_cosig_sign(c, cp_note, text_len, 1800000000, &l, NULL), PARLEY_E_OK);
  parley_buf m2;
  parley_buf_init(&m2, PARLEY_NOTE_MAX_LEN);
  assert_int_equal(parley_buf_puts(&m2, cp_note), PARLEY_E_OK);
  assert_int_equal(parley_buf_append(&m2, l.data, l.len), PARLEY_E_OK);
  assert_int_equal(parley_note_parse((char *)m2.data, m2.len, &n, NULL), PARLEY_E_OK);
  assert_int_equal(parley_cosig_verify(&n, &w, &ts, NULL), PARLEY_E_OK);
  assert_int_equal(ts, 1800000000);
  /* refused: time >= 2^63, text that is not a checkpoint */
  assert_int_equal(parley_cosig_sign(c, cp_note, text_len, UINT64_C(1) << 63, &l, NULL),
                   PARLEY_E_INVALID_ARGUMENT);
  assert_int_equal(parley_cosig_sign(c, "hello\n", 6, 1, &l, NULL), PARLEY_E_TLOG_CHECKPOINT);

  /* the cosignature does not verify over another checkpoint; the log signature line is
   * not a cosignature (other key id) */
  char *tampered = strdup((char *)m.data);
  tampered[strlen("example.com/npoc-log\n")] = '9';
  assert_int_equal(parley_note_parse(tampered, strlen(tampered), &n, NULL), PARLEY_E_OK);
  assert_int_equal(parley_cosig_verify(&n, &w, &ts, &err), PARLEY_E_CRYPTO_BAD_SIGNATURE);
  free(tampered);
  assert_int_equal(parley_note_parse(cp_note, strlen(cp_note), &n, NULL), PARLEY_E_OK);
  assert_int_equal(parley_cosig_verify(&n, &w, &ts, &err), PARLEY_E_CRYPTO_BAD_SIGNATURE);

  parley_cosigner_free(c);
  parley_buf_free(&l);
  parley_buf_free(&m);
  parley_buf_free(&m2);
}

int main(void) {
  if (!parley_init()) return 1;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_keys_vector),  cmocka_unit_test(test_keys_strict),
      cmocka_unit_test(test_note_vectors), cmocka_unit_test(test_note_sign_reproduces_vector),
      cmocka_unit_test(test_note_rules),   cmocka_unit_test(test_note_malformed),
      cmocka_unit_test(test_checkpoint),   cmocka_unit_test(test_cosignature_vector),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
