/* The witness's directory statement: its key id and message, that it and a C2SP
 * cosignature by the same key never stand for each other, and the replaying witness's
 * state (Merkle frontier, directory view). */
/* cmocka needs these first */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parley/directory.h"

#define NAME "witness.example.org/w1"

static const uint8_t seed[32] = {7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7,
                                 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7};

/* A checkpoint text with a directory line (the roots need not be real). */
static void checkpoint_text(char *out, size_t cap, uint64_t size, bool with_dir) {
  uint8_t root[32], dir[32];
  char b64[64], dir64[64];
  parley_tlog_empty_root(root);
  root[0] ^= (uint8_t)size;
  parley_tlog_empty_root(dir);
  parley_b64_encode(root, 32, b64, sizeof b64);
  parley_b64_encode(dir, 32, dir64, sizeof dir64);
  snprintf(out, cap, "example.com/log\n%llu\n%s\n%s", (unsigned long long)size, b64,
           with_dir ? "" : "other/v1 extension\n");
  if (with_dir) snprintf(out + strlen(out), cap - strlen(out), "parley-directory/v1 0 %s\n", dir64);
}

/* note = text || "\n" || lines */
static char *note_of(const char *text, const char *lines) {
  size_t n = strlen(text) + 1 + strlen(lines) + 1;
  char *s = malloc(n);
  assert_non_null(s);
  snprintf(s, n, "%s\n%s", text, lines);
  return s;
}

/* The line with its key id replaced: a payload moved to the other type's key id. */
static char *relabel(const char *line, uint32_t key_id) {
  const char *sp = strrchr(line, ' ');
  assert_non_null(sp);
  uint8_t raw[128];
  size_t got = 0;
  size_t b64len = strlen(sp + 1) - 1; /* without '\n' */
  assert_int_equal(parley_b64_decode(sp + 1, b64len, raw, sizeof raw, &got), PARLEY_E_OK);
  for (int i = 0; i < 4; i++)
    raw[i] = (uint8_t)(key_id >> (24 - 8 * i));
  char b64[200];
  parley_b64_encode(raw, got, b64, sizeof b64);
  size_t head = (size_t)(sp - line) + 1;
  char *out = malloc(head + strlen(b64) + 2);
  assert_non_null(out);
  memcpy(out, line, head);
  strcpy(out + head, b64);
  strcat(out, "\n");
  return out;
}

static void test_key_id(void **state) {
  (void)state;
  parley_dir_witness_signer *s = NULL;
  parley_cosigner *c = NULL;
  assert_int_equal(parley_dir_witness_signer_new(NAME, seed, &s, NULL), PARLEY_E_OK);
  assert_int_equal(parley_cosigner_new(NAME, seed, &c, NULL), PARLEY_E_OK);
  parley_dir_witness_verifier v, from_cosig;
  parley_cosig_verifier cv;
  parley_dir_witness_signer_verifier(s, &v);
  parley_cosigner_verifier(c, &cv);
  parley_dir_witness_verifier_of(&cv, &from_cosig);
  assert_memory_equal(&v, &from_cosig, sizeof v);
  assert_memory_equal(v.public_key, cv.public_key, 32);
  /* SHA-256(name || 0x0A || 0xFF || "parley-directory/v1" || 0x0A || pk)[:4] */
  uint8_t in[256], h[32];
  size_t k = 0;
  memcpy(in, NAME, strlen(NAME));
  k += strlen(NAME);
  in[k++] = '\n';
  in[k++] = 0xff;
  memcpy(in + k, "parley-directory/v1\n", 20);
  k += 20;
  memcpy(in + k, cv.public_key, 32);
  k += 32;
  crypto_hash_sha256(h, in, k);
  uint32_t want = (uint32_t)h[0] << 24 | (uint32_t)h[1] << 16 | (uint32_t)h[2] << 8 | h[3];
  assert_int_equal(v.key_id, want);
  assert_int_not_equal(v.key_id, cv.key_id);
  /* a bad name is refused as for a cosigner */
  parley_dir_witness_signer *bad = NULL;
  assert_int_equal(parley_dir_witness_signer_new("bad name", seed, &bad, NULL),
                   PARLEY_E_CRYPTO_BAD_KEY);
  assert_null(bad);
  parley_dir_witness_signer_free(s);
  parley_cosigner_free(c);
}

static void test_sign_verify(void **state) {
  (void)state;
  parley_dir_witness_signer *s = NULL;
  assert_int_equal(parley_dir_witness_signer_new(NAME, seed, &s, NULL), PARLEY_E_OK);
  parley_dir_witness_verifier v;
  parley_dir_witness_signer_verifier(s, &v);
  char text[512];
  checkpoint_text(text, sizeof text, 5, true);
  parley_buf line;
  parley_buf_init(&line, 4096);
  assert_int_equal(parley_dir_witness_sign(s, text, strlen(text), 1800000000, &line, NULL),
                   PARLEY_E_OK);
  char *note = note_of(text, (const char *)line.data);
  parley_note n;
  uint64_t ts = 0;
  assert_int_equal(parley_note_parse(note, strlen(note), &n, NULL), PARLEY_E_OK);
  assert_int_equal(parley_dir_witness_verify(&n, &v, &ts, NULL), PARLEY_E_OK);
  assert_int_equal(ts, 1800000000);

  /* the signed message is exactly header || "time T\n" || text */
  uint8_t raw[80];
  size_t got = 0;
  assert_int_equal(parley_b64_decode(n.sigs[0].b64, n.sigs[0].b64_len, raw, sizeof raw, &got),
                   PARLEY_E_OK);
  assert_int_equal(got, 76);
  char msg[1024];
  snprintf(msg, sizeof msg, "parley/v1/directory-witness\ntime 1800000000\n%s", text);
  assert_int_equal(crypto_sign_ed25519_verify_detached(raw + 12, (const unsigned char *)msg,
                                                       strlen(msg), v.public_key),
                   0);

  /* another checkpoint: refused */
  char other[512];
  checkpoint_text(other, sizeof other, 6, true);
  char *moved = note_of(other, (const char *)line.data);
  assert_int_equal(parley_note_parse(moved, strlen(moved), &n, NULL), PARLEY_E_OK);
  assert_int_equal(parley_dir_witness_verify(&n, &v, &ts, NULL), PARLEY_E_CRYPTO_BAD_SIGNATURE);
  free(moved);

  /* no statement about a checkpoint without a directory line */
  char plain[512];
  checkpoint_text(plain, sizeof plain, 5, false);
  parley_buf_reset(&line);
  assert_int_equal(parley_dir_witness_sign(s, plain, strlen(plain), 1, &line, NULL),
                   PARLEY_E_TLOG_CHECKPOINT);
  assert_int_equal(parley_dir_witness_sign(s, "hello\n", 6, 1, &line, NULL),
                   PARLEY_E_TLOG_CHECKPOINT);
  assert_int_equal(parley_dir_witness_sign(s, text, strlen(text), UINT64_C(1) << 63, &line, NULL),
                   PARLEY_E_INVALID_ARGUMENT);
  free(note);
  parley_buf_free(&line);
  parley_dir_witness_signer_free(s);
}

/* A cosignature/v1 line never verifies as a directory statement, nor the reverse, even
 * when its payload is moved under the other type's key id; and C2SP verifiers ignore the
 * statement line. */
static void test_cosignature_is_not_a_statement(void **state) {
  (void)state;
  parley_dir_witness_signer *s = NULL;
  parley_cosigner *c = NULL;
  assert_int_equal(parley_dir_witness_signer_new(NAME, seed, &s, NULL), PARLEY_E_OK);
  assert_int_equal(parley_cosigner_new(NAME, seed, &c, NULL), PARLEY_E_OK);
  parley_dir_witness_verifier dv;
  parley_cosig_verifier cv;
  parley_dir_witness_signer_verifier(s, &dv);
  parley_cosigner_verifier(c, &cv);
  char text[512];
  checkpoint_text(text, sizeof text, 9, true);
  parley_buf cl, dl;
  parley_buf_init(&cl, 4096);
  parley_buf_init(&dl, 4096);
  assert_int_equal(parley_cosig_sign(c, text, strlen(text), 1700000000, &cl, NULL), PARLEY_E_OK);
  assert_int_equal(parley_dir_witness_sign(s, text, strlen(text), 1700000000, &dl, NULL),
                   PARLEY_E_OK);
  parley_note n;

  /* only a cosignature: no statement */
  char *only_cosig = note_of(text, (const char *)cl.data);
  assert_int_equal(parley_note_parse(only_cosig, strlen(only_cosig), &n, NULL), PARLEY_E_OK);
  assert_int_equal(parley_cosig_verify(&n, &cv, NULL, NULL), PARLEY_E_OK);
  assert_int_equal(parley_dir_witness_verify(&n, &dv, NULL, NULL), PARLEY_E_CRYPTO_BAD_SIGNATURE);

  /* only a statement: no cosignature (the C2SP verifier ignores the unknown key id) */
  char *only_dir = note_of(text, (const char *)dl.data);
  assert_int_equal(parley_note_parse(only_dir, strlen(only_dir), &n, NULL), PARLEY_E_OK);
  assert_int_equal(parley_dir_witness_verify(&n, &dv, NULL, NULL), PARLEY_E_OK);
  assert_int_equal(parley_cosig_verify(&n, &cv, NULL, NULL), PARLEY_E_CRYPTO_BAD_SIGNATURE);

  /* both: each verifies as what it is */
  char both_lines[1024];
  snprintf(both_lines, sizeof both_lines, "%s%s", (const char *)cl.data, (const char *)dl.data);
  char *both = note_of(text, both_lines);
  uint64_t ts = 0;
  assert_int_equal(parley_note_parse(both, strlen(both), &n, NULL), PARLEY_E_OK);
  assert_int_equal(n.nsigs, 2);
  assert_int_equal(parley_cosig_verify(&n, &cv, &ts, NULL), PARLEY_E_OK);
  assert_int_equal(parley_dir_witness_verify(&n, &dv, &ts, NULL), PARLEY_E_OK);

  /* a cosignature relabelled with the statement's key id is a bad statement */
  char *c_as_d = relabel((const char *)cl.data, dv.key_id);
  char *note1 = note_of(text, c_as_d);
  assert_int_equal(parley_note_parse(note1, strlen(note1), &n, NULL), PARLEY_E_OK);
  assert_int_equal(parley_dir_witness_verify(&n, &dv, NULL, NULL), PARLEY_E_CRYPTO_BAD_SIGNATURE);
  /* a statement relabelled with the cosignature's key id is a bad cosignature */
  char *d_as_c = relabel((const char *)dl.data, cv.key_id);
  char *note2 = note_of(text, d_as_c);
  assert_int_equal(parley_note_parse(note2, strlen(note2), &n, NULL), PARLEY_E_OK);
  assert_int_equal(parley_cosig_verify(&n, &cv, NULL, NULL), PARLEY_E_CRYPTO_BAD_SIGNATURE);

  free(only_cosig);
  free(only_dir);
  free(both);
  free(c_as_d);
  free(d_as_c);
  free(note1);
  free(note2);
  parley_buf_free(&cl);
  parley_buf_free(&dl);
  parley_cosigner_free(c);
  parley_dir_witness_signer_free(s);
}

static void test_frontier(void **state) {
  (void)state;
  enum { N = 700 };
  uint8_t(*leaves)[32] = calloc(N, 32);
  assert_non_null(leaves);
  parley_tlog_frontier f;
  parley_tlog_frontier_init(&f);
  uint8_t got[32], want[32];
  parley_tlog_frontier_root(&f, got);
  parley_tlog_empty_root(want);
  assert_memory_equal(got, want, 32);
  for (uint64_t i = 0; i < N; i++) {
    char e[32];
    snprintf(e, sizeof e, "entry %llu", (unsigned long long)i);
    parley_tlog_leaf_hash((const uint8_t *)e, strlen(e), leaves[i]);
    parley_tlog_frontier_append(&f, leaves[i]);
    assert_int_equal(f.size, i + 1);
    assert_int_equal(f.n, (size_t)__builtin_popcountll(i + 1));
    parley_tlog_frontier_root(&f, got);
    parley_tlog_mth((const uint8_t(*)[32])leaves, i + 1, want);
    assert_memory_equal(got, want, 32);
  }
  /* JSON round trip; a wrong number of hashes is refused */
  json_t *j = parley_tlog_frontier_to_json(&f);
  parley_tlog_frontier g;
  assert_int_equal(parley_tlog_frontier_from_json(j, &g, NULL), PARLEY_E_OK);
  assert_int_equal(g.size, f.size);
  assert_int_equal(g.n, f.n);
  assert_memory_equal(g.hashes, f.hashes, 32 * f.n);
  json_object_set_new(j, "size", json_integer(N + 1));
  assert_int_equal(parley_tlog_frontier_from_json(j, &g, NULL), PARLEY_E_INVALID_ARGUMENT);
  json_decref(j);
  free(leaves);
}

static void dir_entry(parley_buf *b, json_t *obj) {
  parley_buf_reset(b);
  assert_int_equal(parley_dir_entry(obj, 1700000000, b, NULL), PARLEY_E_OK);
  json_decref(obj);
}

static void test_view_json(void **state) {
  (void)state;
  parley_dir_view v = {0};
  parley_identity id;
  parley_identity_generate(&id);
  char root[PARLEY_KEY_B64_LEN];
  parley_sign_pk_to_b64(&id.sign_pk, root);
  parley_buf b;
  parley_buf_init(&b, 65536);
  const char *codes[] = {"LVA", "EST", "FIN"};
  for (size_t i = 0; i < 3; i++) {
    dir_entry(&b,
              json_pack("{s:s,s:s,s:s}", "action", "onboard", "state", codes[i], "root_key", root));
    assert_int_equal(parley_dir_apply(&v, b.data, b.len, i, NULL), PARLEY_E_OK);
  }
  dir_entry(&b, json_pack("{s:s,s:s,s:i,s:s,s:s}", "action", "record", "state", "EST", "version", 3,
                          "root_key", root, "record_sha256",
                          "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"));
  assert_int_equal(parley_dir_apply(&v, b.data, b.len, 3, NULL), PARLEY_E_OK);
  dir_entry(&b, json_pack("{s:s,s:s,s:s,s:s,s:s}", "action", "replace-root", "state", "FIN",
                          "root_key", root, "operator_key_id", "op", "reason", "lost"));
  assert_int_equal(parley_dir_apply(&v, b.data, b.len, 4, NULL), PARLEY_E_OK);

  json_t *j = parley_dir_view_to_json(&v);
  parley_dir_view w;
  assert_int_equal(parley_dir_view_from_json(j, &w, NULL), PARLEY_E_OK);
  assert_int_equal(w.n, 3);
  uint8_t r1[32], r2[32];
  assert_int_equal(parley_dir_root(v.states, v.n, r1, NULL), PARLEY_E_OK);
  assert_int_equal(parley_dir_root(w.states, w.n, r2, NULL), PARLEY_E_OK);
  assert_memory_equal(r1, r2, 32);
  assert_int_equal(parley_dir_view_find(&w, "FIN")->root_replaced_at, 4);
  assert_int_equal(parley_dir_view_find(&w, "EST")->version, 3);
  /* the restored view goes on applying the rules: a rollback is refused */
  dir_entry(&b, json_pack("{s:s,s:s,s:i,s:s,s:s}", "action", "record", "state", "EST", "version", 2,
                          "root_key", root, "record_sha256",
                          "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"));
  assert_int_equal(parley_dir_apply(&w, b.data, b.len, 5, NULL), PARLEY_E_DIRECTORY_RULE);
  /* and a new state can still be inserted */
  dir_entry(&b, json_pack("{s:s,s:s,s:s}", "action", "onboard", "state", "DEU", "root_key", root));
  assert_int_equal(parley_dir_apply(&w, b.data, b.len, 6, NULL), PARLEY_E_OK);
  assert_int_equal(w.n, 4);
  assert_string_equal(w.states[0].state, "DEU");
  parley_dir_view_free(&w);

  /* out of order, or a version without its record hash: refused */
  json_t *swapped = json_array();
  json_array_append(swapped, json_array_get(j, 1));
  json_array_append(swapped, json_array_get(j, 0));
  assert_int_equal(parley_dir_view_from_json(swapped, &w, NULL), PARLEY_E_INVALID_ARGUMENT);
  json_object_del(json_array_get(j, 0), "record_sha256");
  assert_int_equal(parley_dir_view_from_json(j, &w, NULL), PARLEY_E_INVALID_ARGUMENT);
  json_decref(swapped);
  json_decref(j);
  parley_dir_view_free(&v);
  parley_buf_free(&b);
}

int main(void) {
  if (!parley_init()) return 1;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_key_id),
      cmocka_unit_test(test_sign_verify),
      cmocka_unit_test(test_cosignature_is_not_a_statement),
      cmocka_unit_test(test_frontier),
      cmocka_unit_test(test_view_json),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
