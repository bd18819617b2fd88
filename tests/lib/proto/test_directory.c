/* Unit tests for the directory commitment and its rules (docs/tlog.md, "The directory
 * commitment"): the leaf's exact bytes, the root and proofs (checked with the RFC 9162
 * verifier), the checkpoint line, and every rule a witness applies to directory entries. */
/* cmocka needs these first, in this order */
// clang-format off
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
// clang-format on

#include <string.h>

#include "parley/directory.h"
#include "parley/json.h"
#include "parley/proto.h"

static parley_identity root1, root2, opkey;

static int setup(void **state) {
  (void)state;
  if (!parley_init()) return -1;
  parley_identity_generate(&root1);
  parley_identity_generate(&root2);
  parley_identity_generate(&opkey);
  return 0;
}

static parley_dir_state mk(const char *code, int64_t version, const parley_sign_pk *root) {
  parley_dir_state s;
  memset(&s, 0, sizeof s);
  parley_strlcpy(s.state, code, sizeof s.state);
  s.version = version;
  s.root = *root;
  memset(s.record_sha256, version & 0xff, 32);
  s.root_replaced_at = -1;
  return s;
}

static void test_leaf_bytes(void **state) {
  (void)state;
  parley_sign_pk zero;
  memset(zero.b, 0, 32);
  parley_dir_state s = mk("EST", 0, &zero);
  parley_buf b;
  parley_buf_init(&b, 4096);
  assert_int_equal(parley_dir_leaf(&s, &b, NULL), PARLEY_E_OK);
  assert_int_equal(b.len, strlen("{\"root_key\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\","
                                 "\"state\":\"EST\",\"version\":0}"));
  assert_memory_equal(
      b.data,
      "{\"root_key\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\",\"state\":\"EST\","
      "\"version\":0}",
      b.len);
  parley_buf_reset(&b);
  s.version = 3;
  s.root_replaced_at = 12;
  memset(s.record_sha256, 0xff, 32);
  assert_int_equal(parley_dir_leaf(&s, &b, NULL), PARLEY_E_OK);
  const char *want = "{\"record_sha256\":\"__________________________________________8\","
                     "\"root_key\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\","
                     "\"root_replaced_at\":12,\"state\":\"EST\",\"version\":3}";
  assert_int_equal(b.len, strlen(want));
  assert_memory_equal(b.data, want, b.len);
  parley_buf_free(&b);
}

static void test_root_and_proofs(void **state) {
  (void)state;
  parley_dir_state s[5];
  const char *codes[5] = {"AUT", "EST", "FIN", "LVA", "ZAF"};
  for (int i = 0; i < 5; i++)
    s[i] = mk(codes[i], i + 1, &root1.sign_pk);
  uint8_t root[32], again[32];
  assert_int_equal(parley_dir_root(s, 5, root, NULL), PARLEY_E_OK);
  for (size_t i = 0; i < 5; i++) {
    uint8_t proof[PARLEY_TLOG_MAX_PROOF][32], lh[32];
    size_t n = 0;
    assert_int_equal(parley_dir_proof(s, 5, i, proof, &n, NULL), PARLEY_E_OK);
    assert_int_equal(parley_dir_leaf_hash(&s[i], lh, NULL), PARLEY_E_OK);
    assert_int_equal(
        parley_tlog_verify_inclusion(i, 5, lh, (const uint8_t(*)[32])proof, n, root, NULL),
        PARLEY_E_OK);
    /* another version under the same proof does not verify */
    parley_dir_state other = s[i];
    other.version++;
    assert_int_equal(parley_dir_leaf_hash(&other, lh, NULL), PARLEY_E_OK);
    assert_int_equal(
        parley_tlog_verify_inclusion(i, 5, lh, (const uint8_t(*)[32])proof, n, root, NULL),
        PARLEY_E_TLOG_PROOF);
  }
  s[2].root_replaced_at = 7; /* any field changes the root */
  assert_int_equal(parley_dir_root(s, 5, again, NULL), PARLEY_E_OK);
  assert_memory_not_equal(root, again, 32);
  parley_dir_state swapped[2] = {s[1], s[0]}; /* out of order */
  assert_int_equal(parley_dir_root(swapped, 2, again, NULL), PARLEY_E_INVALID_ARGUMENT);
  uint8_t empty[32];
  parley_tlog_empty_root(empty);
  assert_int_equal(parley_dir_root(s, 0, again, NULL), PARLEY_E_OK);
  assert_memory_equal(again, empty, 32);
}

static void test_ext_line(void **state) {
  (void)state;
  uint8_t root[32];
  memset(root, 0xab, 32);
  parley_buf b;
  parley_buf_init(&b, 4096);
  assert_int_equal(
      parley_buf_puts(&b, "origin.example\n7\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n"),
      PARLEY_E_OK);
  assert_int_equal(parley_dir_ext_format(190, root, &b, NULL), PARLEY_E_OK);
  parley_checkpoint cp;
  assert_int_equal(parley_checkpoint_parse((const char *)b.data, b.len, &cp, NULL), PARLEY_E_OK);
  uint64_t n = 0;
  uint8_t got[32];
  assert_int_equal(parley_dir_ext_parse(&cp, &n, got, NULL), PARLEY_E_OK);
  assert_int_equal(n, 190);
  assert_memory_equal(got, root, 32);
  /* repeated: refused */
  assert_int_equal(parley_dir_ext_format(190, root, &b, NULL), PARLEY_E_OK);
  assert_int_equal(parley_checkpoint_parse((const char *)b.data, b.len, &cp, NULL), PARLEY_E_OK);
  assert_int_equal(parley_dir_ext_parse(&cp, &n, got, NULL), PARLEY_E_TLOG_CHECKPOINT);
  /* absent */
  const char *plain = "origin.example\n7\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n";
  assert_int_equal(parley_checkpoint_parse(plain, strlen(plain), &cp, NULL), PARLEY_E_OK);
  assert_int_equal(parley_dir_ext_parse(&cp, &n, got, NULL), PARLEY_E_NOT_FOUND);
  parley_buf_free(&b);
}

/* Applies {"action",...} as entry `index`; returns the code. */
static parley_err apply(parley_dir_view *v, json_t *obj, uint64_t index) {
  parley_buf b;
  parley_buf_init(&b, 1 << 16);
  parley_err e = parley_dir_entry(obj, 1700000000, &b, NULL);
  json_decref(obj);
  if (!e) e = parley_dir_apply(v, b.data, b.len, index, NULL);
  parley_buf_free(&b);
  return e;
}

static json_t *onboard(const char *code, const parley_sign_pk *root) {
  char k[PARLEY_KEY_B64_LEN];
  parley_sign_pk_to_b64(root, k);
  return json_pack("{s:s,s:s,s:s}", "action", "onboard", "state", code, "root_key", k);
}

/* A record entry naming version `version` of a record whose hash is `fill` repeated. */
static json_t *record_of(const char *code, int64_t version, const parley_sign_pk *root,
                         uint8_t fill) {
  char k[PARLEY_KEY_B64_LEN], h[64];
  uint8_t hash[32];
  memset(hash, fill, sizeof hash);
  parley_sign_pk_to_b64(root, k);
  parley_b64url_encode(hash, 32, h, sizeof h);
  return json_pack("{s:s,s:s,s:I,s:s,s:s}", "action", "record", "state", code, "version",
                   (json_int_t)version, "root_key", k, "record_sha256", h);
}

static json_t *record(const char *code, int64_t version, const parley_sign_pk *root) {
  return record_of(code, version, root, (uint8_t)version);
}

/* The state-record entry of a record whose hash is `fill` repeated, as entry `index`. */
static parley_err state_record(parley_dir_view *v, uint8_t fill, uint64_t index) {
  uint8_t e[13 + 32] = "state-record\n";
  memset(e + 13, fill, 32);
  return parley_dir_apply(v, e, sizeof e, index, NULL);
}

/* A record is logged once, each state-record entry followed at once by its directory
 * entry: else a hub could log a record that removed a key a second time, later, and
 * prove that copy to move the removal's log position. */
static void test_record_logged_once(void **state) {
  (void)state;
  parley_dir_view v;
  memset(&v, 0, sizeof v);
  const parley_sign_pk *k1 = &root1.sign_pk;
  /* before the first onboarding (an old log), state-record entries stand alone */
  assert_int_equal(state_record(&v, 9, 0), PARLEY_E_OK);
  assert_false(v.record_pending);
  assert_int_equal(apply(&v, onboard("EST", k1), 1), PARLEY_E_OK);
  assert_int_equal(state_record(&v, 1, 2), PARLEY_E_OK);
  assert_int_equal(apply(&v, record_of("EST", 1, k1, 1), 3), PARLEY_E_OK);
  assert_int_equal(state_record(&v, 2, 4), PARLEY_E_OK);
  assert_int_equal(apply(&v, record_of("EST", 2, k1, 2), 5), PARLEY_E_OK);
  /* the current record logged again, with a directory entry claiming a new version */
  assert_int_equal(state_record(&v, 2, 6), PARLEY_E_OK);
  assert_int_equal(apply(&v, record_of("EST", 3, k1, 2), 7), PARLEY_E_DIRECTORY_RULE);
  /* ... or followed by a directory entry naming another record */
  assert_int_equal(apply(&v, record_of("EST", 3, k1, 3), 7), PARLEY_E_DIRECTORY_RULE);
  /* ... or by anything else */
  const char *other = "envelope\n0123456789abcdef0123456789abcdef";
  assert_int_equal(parley_dir_apply(&v, (const uint8_t *)other, strlen(other), 7, NULL),
                   PARLEY_E_DIRECTORY_RULE);
  assert_int_equal(apply(&v, onboard("AUT", k1), 7), PARLEY_E_DIRECTORY_RULE);
  assert_int_equal(state_record(&v, 3, 7), PARLEY_E_DIRECTORY_RULE);
  /* refusals left the view as it was, and the copy can never be closed */
  assert_int_equal(parley_dir_view_find(&v, "EST")->version, 2);
  assert_int_equal(apply(&v, record_of("EST", 3, k1, 2), 7), PARLEY_E_DIRECTORY_RULE);
  parley_dir_view_free(&v);
  /* the same, with the new record: accepted */
  memset(&v, 0, sizeof v);
  assert_int_equal(apply(&v, onboard("EST", k1), 0), PARLEY_E_OK);
  assert_int_equal(state_record(&v, 1, 1), PARLEY_E_OK);
  assert_int_equal(apply(&v, record_of("EST", 1, k1, 1), 2), PARLEY_E_OK);
  assert_int_equal(state_record(&v, 4, 3), PARLEY_E_OK);
  assert_true(v.record_pending);
  assert_int_equal(apply(&v, record_of("EST", 2, k1, 4), 4), PARLEY_E_OK);
  assert_false(v.record_pending);
  parley_dir_view_free(&v);
}

static json_t *rotate(const char *code, const parley_identity *by, const parley_sign_pk *to,
                      const char *statement_state) {
  char k[PARLEY_KEY_B64_LEN];
  parley_sign_pk_to_b64(to, k);
  json_t *st = json_pack("{s:s,s:s,s:s,s:s}", "format", "parley-root-rotation-v1", "state",
                         statement_state, "new_root_key", k, "time", "2026-12-01T00:00:00Z");
  assert_int_equal(parley_signed_json_sign(st, PARLEY_PURPOSE_ROOT_ROTATION, &by->sign_sk, NULL),
                   PARLEY_E_OK);
  return json_pack("{s:s,s:s,s:s,s:o}", "action", "rotate", "state", code, "root_key", k,
                   "rotation", st);
}

static void test_rules(void **state) {
  (void)state;
  parley_dir_view v;
  memset(&v, 0, sizeof v);
  const parley_sign_pk *k1 = &root1.sign_pk, *k2 = &root2.sign_pk, *ko = &opkey.sign_pk;
  assert_int_equal(apply(&v, onboard("EST", k1), 0), PARLEY_E_OK);
  assert_int_equal(apply(&v, onboard("AUT", k2), 1), PARLEY_E_OK);
  assert_int_equal(v.n, 2);
  assert_string_equal(v.states[0].state, "AUT"); /* kept in code order */
  assert_int_equal(apply(&v, onboard("EST", k2), 2), PARLEY_E_DIRECTORY_RULE);
  assert_int_equal(apply(&v, record("FIN", 1, k1), 3), PARLEY_E_DIRECTORY_RULE);
  assert_int_equal(apply(&v, record("EST", 1, k1), 4), PARLEY_E_OK);
  assert_int_equal(apply(&v, record("EST", 2, k1), 5), PARLEY_E_OK);
  assert_int_equal(apply(&v, record("EST", 2, k1), 6), PARLEY_E_DIRECTORY_RULE); /* no growth */
  assert_int_equal(apply(&v, record("EST", 1, k1), 7), PARLEY_E_DIRECTORY_RULE); /* rollback */
  assert_int_equal(apply(&v, record("EST", 3, k2), 8), PARLEY_E_DIRECTORY_RULE); /* other root */
  /* a rotation signed by another key, or naming another state, is refused */
  assert_int_equal(apply(&v, rotate("EST", &root2, k2, "EST"), 9), PARLEY_E_DIRECTORY_RULE);
  assert_int_equal(apply(&v, rotate("EST", &root1, k2, "AUT"), 10), PARLEY_E_DIRECTORY_RULE);
  assert_int_equal(parley_dir_view_find(&v, "EST")->version, 2);
  assert_memory_equal(parley_dir_view_find(&v, "EST")->root.b, k1->b, 32);
  assert_int_equal(apply(&v, rotate("EST", &root1, k2, "EST"), 11), PARLEY_E_OK);
  assert_memory_equal(parley_dir_view_find(&v, "EST")->root.b, k2->b, 32);
  assert_int_equal(apply(&v, record("EST", 3, k2), 12), PARLEY_E_OK);
  assert_int_equal(parley_dir_view_find(&v, "EST")->root_replaced_at, -1);
  /* an operator replacement is allowed, logged in clear, and remembered */
  char kb[PARLEY_KEY_B64_LEN];
  parley_sign_pk_to_b64(ko, kb);
  assert_int_equal(
      apply(&v,
            json_pack("{s:s,s:s,s:s,s:s,s:s}", "action", "replace-root", "state", "EST", "root_key",
                      kb, "operator_key_id", "op", "reason", "lost"),
            13),
      PARLEY_E_OK);
  assert_int_equal(parley_dir_view_find(&v, "EST")->root_replaced_at, 13);
  assert_int_equal(
      apply(&v,
            json_pack("{s:s,s:s,s:s}", "action", "replace-root", "state", "EST", "root_key", kb),
            14),
      PARLEY_E_DIRECTORY_RULE); /* without a reason */
  assert_int_equal(
      apply(&v, json_pack("{s:s,s:s,s:s}", "action", "delete", "state", "EST", "root_key", kb), 15),
      PARLEY_E_DIRECTORY_RULE);
  /* other entries are not the directory's business */
  const char *ev = "event\n{}";
  assert_int_equal(parley_dir_apply(&v, (const uint8_t *)ev, strlen(ev), 16, NULL), PARLEY_E_OK);
  const char *bad = "directory\n{not json";
  assert_int_equal(parley_dir_apply(&v, (const uint8_t *)bad, strlen(bad), 17, NULL),
                   PARLEY_E_DIRECTORY_RULE);
  parley_dir_view_free(&v);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_leaf_bytes),         cmocka_unit_test(test_root_and_proofs),
      cmocka_unit_test(test_ext_line),           cmocka_unit_test(test_rules),
      cmocka_unit_test(test_record_logged_once),
  };
  return cmocka_run_group_tests(tests, setup, NULL);
}
