/* Key file tests: round trips with and without a passphrase, permissions, and every
 * kind of malformed or hostile file, in a fresh temporary directory. */
/* cmocka needs these first, in this order */
// clang-format off
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
// clang-format on

#include <dirent.h>
#include <fcntl.h>
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "parley/crypto.h"

static char g_dir[256];

#define PATH_CAP 512

/* Path of `name` in the test directory, in a fresh slot of a small ring: use at once
 * or copy with PATH_VAR; a stored pointer would be overwritten by later calls. */
static const char *p(const char *name) {
  static char buf[8][PATH_CAP];
  static int slot;
  slot = (slot + 1) % 8;
  int n = snprintf(buf[slot], sizeof buf[slot], "%s/%s", g_dir, name);
  assert_true(n > 0 && (size_t)n < sizeof buf[slot]);
  return buf[slot];
}

#define PATH_VAR(var, name)                                                                        \
  char var[PATH_CAP];                                                                              \
  assert_true(parley_strlcpy(var, p(name), sizeof var))

static int setup(void **state) {
  (void)state;
  const char *tmp = getenv("TMPDIR");
  int n = snprintf(g_dir, sizeof g_dir, "%s/parley-crypto-XXXXXX", tmp && *tmp ? tmp : "/tmp");
  if (n < 0 || (size_t)n >= sizeof g_dir || !mkdtemp(g_dir)) return -1;
  return 0;
}

static int teardown(void **state) {
  (void)state;
  DIR *d = opendir(g_dir);
  if (!d) return -1;
  struct dirent *e;
  while ((e = readdir(d))) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
    char q[512];
    int n = snprintf(q, sizeof q, "%s/%s", g_dir, e->d_name);
    if (n > 0 && (size_t)n < sizeof q && unlink(q) != 0) rmdir(q);
  }
  closedir(d);
  return rmdir(g_dir);
}

static void write_file(const char *path, const char *text, size_t len, mode_t mode) {
  unlink(path);
  int fd = open(path, O_CREAT | O_EXCL | O_WRONLY, 0600);
  assert_true(fd >= 0);
  assert_int_equal(write(fd, text, len), (ssize_t)len);
  assert_int_equal(fchmod(fd, mode), 0);
  close(fd);
}

static void write_json(const char *path, json_t *v, mode_t mode) {
  char *s = json_dumps(v, 0);
  assert_non_null(s);
  write_file(path, s, strlen(s), mode);
  free(s);
}

static json_t *read_json(const char *path) {
  json_error_t e;
  json_t *v = json_load_file(path, 0, &e);
  assert_non_null(v);
  return v;
}

static mode_t file_mode(const char *path) {
  struct stat st;
  assert_int_equal(stat(path, &st), 0);
  return st.st_mode & 07777;
}

static void assert_same_identity(const parley_identity *a, const parley_identity *b) {
  assert_memory_equal(a, b, sizeof *a);
}

static parley_error g_err; /* of the last load() */

static parley_err load(const char *path, const char *pass, parley_identity *id) {
  parley_error_clear(&g_err);
  parley_err e = parley_identity_load(path, pass, id, &g_err);
  assert_int_equal(g_err.code, e);
  if (e) assert_true(strlen(g_err.detail) > 0);
  return e;
}

/* ---- round trips ----------------------------------------------------------------- */

static void test_roundtrip_unprotected(void **state) {
  (void)state;
  parley_identity id, back;
  parley_identity_generate(&id);
  PATH_VAR(f, "plain.json");
  assert_int_equal(parley_identity_save(f, &id, NULL, NULL), PARLEY_E_OK);
  assert_int_equal(file_mode(f), 0600);
  assert_int_equal(access(p("plain.json.tmp"), F_OK), -1);

  json_t *v = read_json(f);
  assert_string_equal(json_string_value(json_object_get(v, "format")), "parley-secret-key-v1");
  assert_string_equal(json_string_value(json_object_get(v, "protection")), "none");
  char b[PARLEY_KEY_B64_LEN];
  parley_sign_pk_to_b64(&id.sign_pk, b);
  assert_string_equal(json_string_value(json_object_get(v, "sign_pk")), b);
  parley_box_pk_to_b64(&id.box_pk, b);
  assert_string_equal(json_string_value(json_object_get(v, "box_pk")), b);
  assert_int_equal(json_string_length(json_object_get(v, "secret")), 86);
  assert_null(json_object_get(v, "salt"));
  json_decref(v);

  assert_int_equal(load(f, NULL, &back), PARLEY_E_OK);
  assert_same_identity(&id, &back);
  /* a passphrase given for an unprotected file is ignored */
  assert_int_equal(load(f, "whatever", &back), PARLEY_E_OK);
  assert_same_identity(&id, &back);
  /* the loaded key signs like the original */
  parley_sig sig;
  assert_int_equal(parley_sign(&back.sign_sk, "ack", "m", 1, &sig), PARLEY_E_OK);
  assert_int_equal(parley_verify(&id.sign_pk, "ack", "m", 1, &sig), PARLEY_E_OK);

  /* saving again replaces the file atomically */
  parley_identity id2;
  parley_identity_generate(&id2);
  assert_int_equal(parley_identity_save(f, &id2, NULL, NULL), PARLEY_E_OK);
  assert_int_equal(load(f, NULL, &back), PARLEY_E_OK);
  assert_same_identity(&id2, &back);
  parley_identity_wipe(&id);
  parley_identity_wipe(&id2);
  parley_identity_wipe(&back);
}

static void test_roundtrip_passphrase(void **state) {
  (void)state;
  parley_identity id, back;
  parley_identity_generate(&id);
  PATH_VAR(f, "enc.json");
  assert_int_equal(parley_identity_save(f, &id, "correct horse battery staple", NULL), PARLEY_E_OK);
  assert_int_equal(file_mode(f), 0600);

  json_t *v = read_json(f);
  assert_string_equal(json_string_value(json_object_get(v, "protection")), "argon2id");
  assert_null(json_object_get(v, "secret"));
  assert_int_equal(json_integer_value(json_object_get(v, "opslimit")),
                   crypto_pwhash_argon2id_OPSLIMIT_INTERACTIVE);
  assert_int_equal(json_integer_value(json_object_get(v, "memlimit")),
                   crypto_pwhash_argon2id_MEMLIMIT_INTERACTIVE);
  assert_int_equal(json_string_length(json_object_get(v, "salt")), 22);
  assert_int_equal(json_string_length(json_object_get(v, "nonce")), 32);
  assert_int_equal(json_string_length(json_object_get(v, "ciphertext")), 107);
  json_decref(v);

  assert_int_equal(load(f, "correct horse battery staple", &back), PARLEY_E_OK);
  assert_same_identity(&id, &back);

  /* no passphrase, wrong passphrase, empty passphrase */
  assert_int_equal(load(f, NULL, &back), PARLEY_E_KEYFILE_NEEDS_PASSPHRASE);
  assert_int_equal(load(f, "correct horse battery stapler", &back), PARLEY_E_KEYFILE_PASSPHRASE);
  uint8_t zero[sizeof back];
  memset(zero, 0, sizeof zero);
  assert_memory_equal(&back, zero, sizeof back); /* wiped on failure */
  assert_int_equal(load(f, "", &back), PARLEY_E_KEYFILE_PASSPHRASE);
  parley_identity_wipe(&id);
}

/* The stored Argon2id parameters are the ones used, not the current defaults. */
static void test_stored_parameters_used(void **state) {
  (void)state;
  parley_identity id, back;
  parley_identity_generate(&id);
  uint8_t secret[64], salt[16], nonce[24], key[32], ct[80];
  memcpy(secret, id.sign_sk.b, 32);
  memcpy(secret + 32, id.box_sk.b, 32);
  randombytes_buf(salt, sizeof salt);
  randombytes_buf(nonce, sizeof nonce);
  assert_int_equal(
      crypto_pwhash(key, sizeof key, "pw", 2, salt, 1, 8192, crypto_pwhash_ALG_ARGON2ID13), 0);
  crypto_secretbox_easy(ct, secret, sizeof secret, nonce, key);
  char sb[PARLEY_KEY_B64_LEN], bb[PARLEY_KEY_B64_LEN], s[64], n[64], c[128];
  parley_sign_pk_to_b64(&id.sign_pk, sb);
  parley_box_pk_to_b64(&id.box_pk, bb);
  assert_int_equal(parley_b64url_encode(salt, sizeof salt, s, sizeof s), PARLEY_E_OK);
  assert_int_equal(parley_b64url_encode(nonce, sizeof nonce, n, sizeof n), PARLEY_E_OK);
  assert_int_equal(parley_b64url_encode(ct, sizeof ct, c, sizeof c), PARLEY_E_OK);
  json_t *v =
      json_pack("{s:s, s:s, s:s, s:s, s:s, s:i, s:i, s:s, s:s}", "format", "parley-secret-key-v1",
                "sign_pk", sb, "box_pk", bb, "protection", "argon2id", "salt", s, "opslimit", 1,
                "memlimit", 8192, "nonce", n, "ciphertext", c);
  assert_non_null(v);
  write_json(p("params.json"), v, 0600);
  assert_int_equal(load(p("params.json"), "pw", &back), PARLEY_E_OK);
  assert_same_identity(&id, &back);

  /* the same file with the stored parameters changed no longer opens */
  json_object_set_new(v, "opslimit", json_integer(2));
  write_json(p("params.json"), v, 0600);
  assert_int_equal(load(p("params.json"), "pw", &back), PARLEY_E_KEYFILE_PASSPHRASE);
  json_decref(v);
  parley_identity_wipe(&id);
}

/* ---- permissions ---------------------------------------------------------------------- */

static void test_permissions(void **state) {
  (void)state;
  parley_identity id, back;
  parley_identity_generate(&id);
  PATH_VAR(f, "perm.json");
  assert_int_equal(parley_identity_save(f, &id, NULL, NULL), PARLEY_E_OK);
  const mode_t refused[] = {0644, 0640, 0604, 0660, 0601, 0610, 0602, 0620, 0777};
  for (size_t i = 0; i < sizeof refused / sizeof *refused; i++) {
    assert_int_equal(chmod(f, refused[i]), 0);
    assert_int_equal(load(f, NULL, &back), PARLEY_E_KEYFILE_PERMISSIONS);
  }
  const mode_t accepted[] = {0600, 0400};
  for (size_t i = 0; i < sizeof accepted / sizeof *accepted; i++) {
    assert_int_equal(chmod(f, accepted[i]), 0);
    assert_int_equal(load(f, NULL, &back), PARLEY_E_OK);
    assert_same_identity(&id, &back);
  }
  parley_identity_wipe(&id);
  parley_identity_wipe(&back);
}

/* ---- malformed files ---------------------------------------------------------------------- */

static void test_malformed(void **state) {
  (void)state;
  parley_identity id, other, back;
  parley_identity_generate(&id);
  parley_identity_generate(&other);
  PATH_VAR(good, "good.json");
  assert_int_equal(parley_identity_save(good, &id, NULL, NULL), PARLEY_E_OK);
  PATH_VAR(enc, "good-enc.json");
  assert_int_equal(parley_identity_save(enc, &id, "pw", NULL), PARLEY_E_OK);
  PATH_VAR(bad, "bad.json");

  /* truncated at every length, and plain garbage */
  FILE *fp = fopen(good, "rb");
  assert_non_null(fp);
  char text[4096];
  size_t len = fread(text, 1, sizeof text, fp);
  fclose(fp);
  assert_true(len > 100 && len < sizeof text);
  for (size_t cut = 0; cut < len - 1; cut += 5) {
    write_file(bad, text, cut, 0600);
    assert_int_equal(load(bad, NULL, &back), PARLEY_E_KEYFILE_FORMAT);
  }
  const char *garbage[] = {
      "",
      "not json",
      "[]",
      "\"x\"",
      "null",
      "{}",
      "{\"format\":1}",
      "{\"format\":\"parley-public-key-v1\"}",
      "\x01\x02\xff",
      "{\"format\":\"parley-secret-key-v1\",\"format\":\"parley-secret-key-v1\"}"};
  for (size_t i = 0; i < sizeof garbage / sizeof *garbage; i++) {
    write_file(bad, garbage[i], strlen(garbage[i]), 0600);
    assert_int_equal(load(bad, NULL, &back), PARLEY_E_KEYFILE_FORMAT);
  }

  /* a file larger than the limit */
  size_t big = PARLEY_KEYFILE_MAX_BYTES + 10;
  char *huge = malloc(big);
  assert_non_null(huge);
  memset(huge, ' ', big);
  memcpy(huge, text, len);
  write_file(bad, huge, big, 0600);
  assert_int_equal(load(bad, NULL, &back), PARLEY_E_KEYFILE_FORMAT);
  free(huge);

  /* field-level corruption, each on a copy of a good file */
  struct {
    const char *file, *field;
    json_t *value; /* NULL = delete the field */
    parley_err want;
  } cases[] = {
      {good, "format", json_string("parley-secret-key-v2"), PARLEY_E_KEYFILE_FORMAT},
      {good, "protection", json_string("rot13"), PARLEY_E_KEYFILE_FORMAT},
      {good, "protection", NULL, PARLEY_E_KEYFILE_FORMAT},
      {good, "secret", NULL, PARLEY_E_KEYFILE_FORMAT},
      {good, "secret", json_string("AAAA"), PARLEY_E_KEYFILE_FORMAT},
      {good, "secret", json_integer(5), PARLEY_E_KEYFILE_FORMAT},
      {good, "sign_pk", NULL, PARLEY_E_KEYFILE_FORMAT},
      {good, "box_pk", json_string("not-a-key"), PARLEY_E_KEYFILE_FORMAT},
      {good, "extra", json_true(), PARLEY_E_KEYFILE_FORMAT},
      {good, "salt", json_string("AAAAAAAAAAAAAAAAAAAAAA"), PARLEY_E_KEYFILE_FORMAT},
      {enc, "opslimit", json_integer(33), PARLEY_E_KEYFILE_FORMAT},
      {enc, "opslimit", json_integer(0), PARLEY_E_KEYFILE_FORMAT},
      {enc, "opslimit", json_integer(-1), PARLEY_E_KEYFILE_FORMAT},
      {enc, "opslimit", json_string("2"), PARLEY_E_KEYFILE_FORMAT},
      {enc, "opslimit", json_real(2.0), PARLEY_E_KEYFILE_FORMAT},
      {enc, "memlimit", json_integer((1LL << 30) + 1), PARLEY_E_KEYFILE_FORMAT},
      {enc, "memlimit", json_integer(1LL << 40), PARLEY_E_KEYFILE_FORMAT},
      {enc, "memlimit", json_integer(1024), PARLEY_E_KEYFILE_FORMAT},
      {enc, "memlimit", NULL, PARLEY_E_KEYFILE_FORMAT},
      {enc, "salt", json_string("AAAA"), PARLEY_E_KEYFILE_FORMAT},
      {enc, "nonce", NULL, PARLEY_E_KEYFILE_FORMAT},
      {enc, "ciphertext", json_string("AAAA"), PARLEY_E_KEYFILE_FORMAT},
      {enc, "secret", json_string("AAAA"), PARLEY_E_KEYFILE_FORMAT},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    json_t *v = read_json(cases[i].file);
    if (cases[i].value)
      json_object_set_new(v, cases[i].field, cases[i].value);
    else
      json_object_del(v, cases[i].field);
    write_json(bad, v, 0600);
    json_decref(v);
    /* checked before any passphrase question, so no Argon2id run is needed */
    assert_int_equal(load(bad, NULL, &back), cases[i].want);
    /* and for the intended reason */
    char quoted[64];
    snprintf(quoted, sizeof quoted, "'%s'", cases[i].field);
    if (!strstr(g_err.detail, quoted))
      fail_msg("case %zu: detail \"%s\" does not name %s", i, g_err.detail, quoted);
  }

  /* stored public keys that do not belong to the secret */
  char b[PARLEY_KEY_B64_LEN];
  json_t *v = read_json(good);
  parley_sign_pk_to_b64(&other.sign_pk, b);
  json_object_set_new(v, "sign_pk", json_string(b));
  write_json(bad, v, 0600);
  assert_int_equal(load(bad, NULL, &back), PARLEY_E_KEYFILE_FORMAT);
  json_decref(v);
  v = read_json(enc);
  parley_box_pk_to_b64(&other.box_pk, b);
  json_object_set_new(v, "box_pk", json_string(b));
  write_json(bad, v, 0600);
  assert_int_equal(load(bad, "pw", &back), PARLEY_E_KEYFILE_FORMAT);
  json_decref(v);

  /* a tampered ciphertext reads as a wrong passphrase (secretbox cannot tell) */
  v = read_json(enc);
  char ct[128];
  assert_true(parley_strlcpy(ct, json_string_value(json_object_get(v, "ciphertext")), sizeof ct));
  ct[10] = ct[10] == 'A' ? 'B' : 'A';
  json_object_set_new(v, "ciphertext", json_string(ct));
  write_json(bad, v, 0600);
  assert_int_equal(load(bad, "pw", &back), PARLEY_E_KEYFILE_PASSPHRASE);
  json_decref(v);

  /* not there, not a regular file */
  assert_int_equal(load(p("missing.json"), NULL, &back), PARLEY_E_NOT_FOUND);
  assert_int_equal(mkdir(p("adir"), 0700), 0);
  assert_int_equal(load(p("adir"), NULL, &back), PARLEY_E_KEYFILE_FORMAT);

  /* the good files still load */
  assert_int_equal(load(good, NULL, &back), PARLEY_E_OK);
  assert_same_identity(&id, &back);
  parley_identity_wipe(&id);
  parley_identity_wipe(&other);
  parley_identity_wipe(&back);
}

/* ---- saving --------------------------------------------------------------------------------- */

static void test_save_refusals(void **state) {
  (void)state;
  parley_identity id;
  parley_identity_generate(&id);
  parley_error err;
  assert_int_equal(parley_identity_save(p("e.json"), &id, "", &err), PARLEY_E_INVALID_ARGUMENT);
  assert_int_equal(access(p("e.json"), F_OK), -1);

  /* an identity whose public half does not match its secret half */
  parley_identity broken = id;
  broken.box_pk.b[0] ^= 1;
  assert_int_equal(parley_identity_save(p("e.json"), &broken, NULL, &err),
                   PARLEY_E_INVALID_ARGUMENT);
  broken = id;
  broken.sign_sk.b[40] ^= 1; /* the copy of the public key inside the secret key */
  assert_int_equal(parley_identity_save(p("e.json"), &broken, NULL, &err),
                   PARLEY_E_INVALID_ARGUMENT);
  parley_identity_wipe(&broken);

  /* an existing PATH.tmp is never followed or overwritten */
  write_file(p("t.json.tmp"), "x", 1, 0600);
  assert_int_equal(parley_identity_save(p("t.json"), &id, NULL, &err), PARLEY_E_IO);
  assert_non_null(strstr(err.detail, "t.json.tmp"));
  assert_int_equal(access(p("t.json"), F_OK), -1);
  assert_int_equal(symlink(p("victim"), p("s.json.tmp")), 0);
  assert_int_equal(parley_identity_save(p("s.json"), &id, NULL, &err), PARLEY_E_IO);
  assert_int_equal(access(p("victim"), F_OK), -1);

  /* a directory that does not exist */
  assert_int_equal(parley_identity_save(p("nodir/k.json"), &id, NULL, &err), PARLEY_E_NOT_FOUND);
  parley_identity_wipe(&id);
}

/* ---- public key files --------------------------------------------------------------------- */

static void test_public_file(void **state) {
  (void)state;
  parley_identity id;
  parley_identity_generate(&id);
  parley_public_identity pub, back;
  parley_identity_public(&id, &pub);
  PATH_VAR(f, "pub.json");
  assert_int_equal(parley_public_save(f, &pub, NULL), PARLEY_E_OK);
  assert_int_equal(parley_public_load(f, &back, NULL), PARLEY_E_OK);
  assert_memory_equal(&pub, &back, sizeof pub);
  json_t *v = read_json(f);
  assert_string_equal(json_string_value(json_object_get(v, "format")), "parley-public-key-v1");
  assert_int_equal(json_object_size(v), 3);
  json_decref(v);
  /* public files may be world-readable */
  assert_int_equal(chmod(f, 0644), 0);
  assert_int_equal(parley_public_load(f, &back, NULL), PARLEY_E_OK);

  /* a secret key file is not a public key file, nor the other way round */
  assert_int_equal(parley_identity_save(p("sec.json"), &id, NULL, NULL), PARLEY_E_OK);
  assert_int_equal(parley_public_load(p("sec.json"), &back, NULL), PARLEY_E_KEYFILE_FORMAT);
  assert_int_equal(chmod(f, 0600), 0);
  parley_identity tmp;
  assert_int_equal(parley_identity_load(f, NULL, &tmp, NULL), PARLEY_E_KEYFILE_FORMAT);

  const char *bad[] = {
      "", "{", "{\"format\":\"parley-public-key-v1\"}",
      "{\"format\":\"parley-public-key-v1\",\"sign_pk\":\"AAAA\",\"box_pk\":\"AAAA\"}",
      "{\"format\":\"parley-public-key-v1\",\"sign_pk\":"
      "\"AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\","
      "\"box_pk\":\"NYBy1jZYgNGu6jKa35EhODhR7SGijjt16WXQ0s0WYlQ\"}"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    write_file(p("pbad.json"), bad[i], strlen(bad[i]), 0644);
    memset(&back, 0x77, sizeof back);
    assert_int_equal(parley_public_load(p("pbad.json"), &back, NULL), PARLEY_E_KEYFILE_FORMAT);
  }
  /* an unknown field */
  v = read_json(f);
  json_object_set_new(v, "comment", json_string("hi"));
  write_json(p("pbad.json"), v, 0644);
  json_decref(v);
  assert_int_equal(parley_public_load(p("pbad.json"), &back, NULL), PARLEY_E_KEYFILE_FORMAT);
  parley_identity_wipe(&id);
}

int main(void) {
  if (!parley_init()) return 1;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_roundtrip_unprotected),
      cmocka_unit_test(test_roundtrip_passphrase),
      cmocka_unit_test(test_stored_parameters_used),
      cmocka_unit_test(test_permissions),
      cmocka_unit_test(test_malformed),
      cmocka_unit_test(test_save_refusals),
      cmocka_unit_test(test_public_file),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
