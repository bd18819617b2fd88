/* Unit tests for evidence packages (docs/protocol.md §13): chunk arithmetic, the chunk
 * cipher (deterministic re-sealing, tampering, truncation), the Merkle root over
 * ciphertext chunks, manifests (signature, shape, sizes that agree), custody events, and
 * onward sharing (the sender's consent, the shared event, its wrapped key). */
/* cmocka needs these first, in this order */
// clang-format off
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
// clang-format on

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "parley/directory.h"
#include "parley/evidence.h"
#include "parley/json.h"
#include "parley/tlog.h"

static parley_identity sender, rcpt, other;

static int setup(void **state) {
  (void)state;
  if (!parley_init()) return -1;
  parley_identity_generate(&sender);
  parley_identity_generate(&rcpt);
  parley_identity_generate(&other);
  return 0;
}

static void test_sizes(void **state) {
  (void)state;
  assert_int_equal(parley_evidence_chunks(0), 1);
  assert_int_equal(parley_evidence_ciphertext_size(0), 17);
  assert_int_equal(parley_evidence_chunks(PARLEY_EVIDENCE_CHUNK), 1);
  assert_int_equal(parley_evidence_chunks(PARLEY_EVIDENCE_CHUNK + 1), 2);
  assert_int_equal(parley_evidence_ciphertext_size(PARLEY_EVIDENCE_CHUNK + 1),
                   PARLEY_EVIDENCE_CHUNK + 1 + 34);
  assert_int_equal(parley_evidence_chunk_ct_len(PARLEY_EVIDENCE_CHUNK + 1, 0),
                   PARLEY_EVIDENCE_CHUNK_CT);
  assert_int_equal(parley_evidence_chunk_ct_len(PARLEY_EVIDENCE_CHUNK + 1, 1), 18);
  assert_int_equal(parley_evidence_chunk_ct_len(PARLEY_EVIDENCE_CHUNK + 1, 2), 0);
}

/* Seals three small "chunks" (the cipher does not care about the size) twice with the
 * same key and header: the same bytes; opens them; refuses a flipped byte and a stream
 * cut before its final chunk. */
static void test_cipher(void **state) {
  (void)state;
  parley_content_key key;
  uint8_t header[PARLEY_EVIDENCE_HEADER_LEN], pt[3][100], ct[3][117], ct2[3][117], out[100];
  parley_evidence_stream st;
  parley_evidence_stream_new(&key, header, &st);
  for (int i = 0; i < 3; i++) {
    memset(pt[i], 'a' + i, sizeof pt[i]);
    parley_evidence_seal_chunk(&st, pt[i], sizeof pt[i], i == 2, ct[i]);
  }
  assert_int_equal(parley_evidence_stream_start(&key, header, &st), PARLEY_E_OK);
  for (int i = 0; i < 3; i++)
    parley_evidence_seal_chunk(&st, pt[i], sizeof pt[i], i == 2, ct2[i]);
  assert_memory_equal(ct, ct2, sizeof ct);
  parley_evidence_stream_start(&key, header, &st);
  for (int i = 0; i < 3; i++) {
    assert_int_equal(parley_evidence_open_chunk(&st, ct[i], sizeof ct[i], i == 2, out),
                     PARLEY_E_OK);
    assert_memory_equal(out, pt[i], sizeof out);
  }
  /* a flipped byte */
  ct[1][5] ^= 1;
  parley_evidence_stream_start(&key, header, &st);
  assert_int_equal(parley_evidence_open_chunk(&st, ct[0], sizeof ct[0], false, out), PARLEY_E_OK);
  assert_int_equal(parley_evidence_open_chunk(&st, ct[1], sizeof ct[1], false, out),
                   PARLEY_E_CRYPTO_DECRYPT);
  ct[1][5] ^= 1;
  /* truncation: chunk 1 presented as the last one */
  parley_evidence_stream_start(&key, header, &st);
  parley_evidence_open_chunk(&st, ct[0], sizeof ct[0], false, out);
  assert_int_equal(parley_evidence_open_chunk(&st, ct[1], sizeof ct[1], true, out),
                   PARLEY_E_CRYPTO_DECRYPT);
  /* reordering */
  parley_evidence_stream_start(&key, header, &st);
  assert_int_equal(parley_evidence_open_chunk(&st, ct[1], sizeof ct[1], false, out),
                   PARLEY_E_CRYPTO_DECRYPT);
}

static json_t *make_manifest(const parley_content_key *key, const uint8_t *header,
                             const uint8_t *root, uint64_t size) {
  parley_envelope_recipient r = {"FIN", "fin-cert", rcpt.box_pk};
  parley_evidence_file f = {.name = "disk.img", .size = size};
  char id[PARLEY_UUID_LEN];
  parley_uuid7(id);
  parley_evidence_params p = {.id = id,
                              .from_state = "EST",
                              .from_poc = "est-cert",
                              .n_recipients = 1,
                              .recipients = &r,
                              .created = 1000,
                              .retain_until = 2000,
                              .n_files = 1,
                              .files = &f,
                              .plaintext_size = size,
                              .stream_header = header,
                              .merkle_root = root,
                              .key = key};
  json_t *m = NULL;
  parley_error err;
  assert_int_equal(parley_evidence_manifest_new(&p, &sender, &m, &err), PARLEY_E_OK);
  return m;
}

static void test_manifest(void **state) {
  (void)state;
  parley_content_key key;
  uint8_t header[PARLEY_EVIDENCE_HEADER_LEN], root[32] = {1};
  parley_evidence_stream st;
  parley_evidence_stream_new(&key, header, &st);
  json_t *m = make_manifest(&key, header, root, 5000000);
  parley_evidence_info info;
  parley_error err;
  assert_int_equal(parley_evidence_manifest_verify(m, &sender.sign_pk, &info, &err), PARLEY_E_OK);
  assert_int_equal(info.chunks, 5);
  assert_int_equal(info.ciphertext_size, 5000000 + 5 * 17);
  /* another signer */
  assert_int_equal(parley_evidence_manifest_verify(m, &other.sign_pk, NULL, &err),
                   PARLEY_E_EVIDENCE_SIGNATURE);
  /* the recipient opens it; another key is not a recipient */
  parley_content_key k2;
  assert_int_equal(parley_evidence_unwrap(m, &rcpt, &k2, &err), PARLEY_E_OK);
  assert_memory_equal(k2.b, key.b, 32);
  assert_int_equal(parley_evidence_unwrap(m, &other, &k2, &err), PARLEY_E_EVIDENCE_NOT_RECIPIENT);
  /* a changed root or size no longer verifies */
  json_t *c = json_deep_copy(m);
  json_object_set_new(c, "merkle_root", json_string("AgAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"));
  assert_int_equal(parley_evidence_manifest_verify(c, &sender.sign_pk, NULL, &err),
                   PARLEY_E_EVIDENCE_SIGNATURE);
  json_object_set_new(c, "ciphertext_size", json_integer(1));
  assert_int_equal(parley_evidence_manifest_verify(c, &sender.sign_pk, NULL, &err),
                   PARLEY_E_EVIDENCE_INVALID);
  json_decref(c);
  /* a file name with a path */
  c = json_deep_copy(m);
  json_object_set_new(json_array_get(json_object_get(c, "files"), 0), "name",
                      json_string("../etc/passwd"));
  assert_int_equal(parley_evidence_manifest_parse(c, NULL, &err), PARLEY_E_EVIDENCE_INVALID);
  json_decref(c);
  /* an unknown member */
  c = json_deep_copy(m);
  json_object_set_new(c, "extra", json_true());
  assert_int_equal(parley_evidence_manifest_parse(c, NULL, &err), PARLEY_E_EVIDENCE_INVALID);
  json_decref(c);
  json_decref(m);
}

/* The root over ciphertext chunks is RFC 9162's: the frontier gives parley_tlog_mth's. */
static void test_root(void **state) {
  (void)state;
  uint8_t leaves[5][32];
  parley_tlog_frontier f;
  parley_tlog_frontier_init(&f);
  for (int i = 0; i < 5; i++) {
    uint8_t chunk[40];
    memset(chunk, i, sizeof chunk);
    parley_evidence_chunk_hash(chunk, sizeof chunk, leaves[i]);
    parley_tlog_frontier_append(&f, leaves[i]);
  }
  uint8_t a[32], b[32];
  parley_tlog_frontier_root(&f, a);
  parley_tlog_mth(leaves, 5, b);
  assert_memory_equal(a, b, 32);
}

static void test_custody(void **state) {
  (void)state;
  parley_hash mh = {{7}};
  json_t *ev = NULL;
  parley_error err;
  assert_int_equal(parley_custody_new("01a24f16-d080-77ba-9a06-cf6f32d530a1", &mh, "downloaded",
                                      "FIN", "fin-cert", &rcpt.sign_sk, &rcpt.sign_pk, 1000,
                                      "every chunk", &ev, &err),
                   PARLEY_E_OK);
  assert_int_equal(parley_custody_verify(ev, &rcpt.sign_pk, &err), PARLEY_E_OK);
  assert_int_equal(parley_custody_verify(ev, &other.sign_pk, &err), PARLEY_E_EVIDENCE_SIGNATURE);
  json_object_set_new(ev, "detail", json_string("no chunk"));
  assert_int_equal(parley_custody_verify(ev, &rcpt.sign_pk, &err), PARLEY_E_EVIDENCE_SIGNATURE);
  json_decref(ev);
}

/* rcpt shares the package with `other` (LVA/lva-cert) under the sender's consent. */
static void test_share(void **state) {
  (void)state;
  parley_content_key key;
  uint8_t header[PARLEY_EVIDENCE_HEADER_LEN], root[32] = {1};
  parley_evidence_stream st;
  parley_evidence_stream_new(&key, header, &st);
  json_t *m = make_manifest(&key, header, root, 1000);
  parley_evidence_info info;
  parley_error err;
  assert_int_equal(parley_evidence_manifest_verify(m, &sender.sign_pk, &info, &err), PARLEY_E_OK);
  json_t *consent = NULL, *ev = NULL;
  assert_int_equal(parley_consent_new(info.id, &info.hash, "LVA", "lva-cert", "EST", "est-cert",
                                      &sender.sign_sk, &sender.sign_pk, 1500, &consent, &err),
                   PARLEY_E_OK);
  assert_int_equal(parley_consent_verify(consent, info.id, &info.hash, "LVA", "lva-cert", "EST",
                                         "est-cert", &sender.sign_pk, &err),
                   PARLEY_E_OK);
  /* another package, manifest, POC or signer: refused */
  parley_hash other_hash = info.hash;
  other_hash.b[0] ^= 1;
  assert_int_equal(parley_consent_verify(consent, "01a24f16-d080-77ba-9a06-cf6f32d530a1",
                                         &info.hash, "LVA", "lva-cert", "EST", "est-cert",
                                         &sender.sign_pk, &err),
                   PARLEY_E_EVIDENCE_CONSENT);
  assert_int_equal(parley_consent_verify(consent, info.id, &other_hash, "LVA", "lva-cert", "EST",
                                         "est-cert", &sender.sign_pk, &err),
                   PARLEY_E_EVIDENCE_CONSENT);
  assert_int_equal(parley_consent_verify(consent, info.id, &info.hash, "LVA", "lva-ops", "EST",
                                         "est-cert", &sender.sign_pk, &err),
                   PARLEY_E_EVIDENCE_CONSENT);
  assert_int_equal(parley_consent_verify(consent, info.id, &info.hash, "LVA", "lva-cert", "EST",
                                         "est-cert", &rcpt.sign_pk, &err),
                   PARLEY_E_EVIDENCE_CONSENT);
  assert_int_equal(parley_consent_verify(NULL, info.id, &info.hash, "LVA", "lva-cert", "EST",
                                         "est-cert", &sender.sign_pk, &err),
                   PARLEY_E_EVIDENCE_CONSENT);
  /* edited to name another POC: the signature no longer verifies */
  json_t *forged = json_deep_copy(consent);
  json_object_set_new(json_object_get(forged, "to"), "poc", json_string("lva-ops"));
  assert_int_equal(parley_consent_verify(forged, info.id, &info.hash, "LVA", "lva-ops", "EST",
                                         "est-cert", &sender.sign_pk, &err),
                   PARLEY_E_EVIDENCE_CONSENT);
  assert_non_null(strstr(err.detail, "signature"));
  json_decref(forged);
  /* the shared event: signed by the sharer, the key wrapped for the new POC */
  parley_envelope_recipient to = {"LVA", "lva-cert", other.box_pk};
  assert_int_equal(parley_custody_shared_new(info.id, &info.hash, "FIN", "fin-cert", &rcpt.sign_sk,
                                             &rcpt.sign_pk, 1600, &to, &key, consent, &ev, &err),
                   PARLEY_E_OK);
  assert_int_equal(parley_custody_verify(ev, &rcpt.sign_pk, &err), PARLEY_E_OK);
  parley_envelope_party party;
  assert_int_equal(parley_custody_shared_recipient(ev, &party, &err), PARLEY_E_OK);
  assert_string_equal(party.poc, "lva-cert");
  parley_content_key k2;
  assert_int_equal(parley_evidence_unwrap_shared(m, ev, &other, &k2, &err), PARLEY_E_OK);
  assert_memory_equal(k2.b, key.b, 32);
  assert_int_equal(parley_evidence_unwrap_shared(m, ev, &rcpt, &k2, &err),
                   PARLEY_E_EVIDENCE_NOT_RECIPIENT);
  /* a key that is not the package's fails the manifest's commitment */
  json_t *bad = NULL;
  parley_content_key wrong;
  randombytes_buf(wrong.b, sizeof wrong.b);
  assert_int_equal(parley_custody_shared_new(info.id, &info.hash, "FIN", "fin-cert", &rcpt.sign_sk,
                                             &rcpt.sign_pk, 1600, &to, &wrong, consent, &bad, &err),
                   PARLEY_E_OK);
  assert_int_equal(parley_evidence_unwrap_shared(m, bad, &other, &k2, &err),
                   PARLEY_E_CRYPTO_COMMITMENT);
  json_decref(bad);
  /* a shared event without a recipient, or another event with one, is malformed */
  json_t *c = json_deep_copy(ev);
  json_object_del(c, "recipient");
  assert_int_equal(parley_custody_verify(c, &rcpt.sign_pk, &err), PARLEY_E_EVIDENCE_INVALID);
  json_object_set(c, "recipient", json_object_get(ev, "recipient"));
  json_object_set_new(c, "event", json_string("downloaded"));
  assert_int_equal(parley_custody_verify(c, &rcpt.sign_pk, &err), PARLEY_E_EVIDENCE_INVALID);
  json_decref(c);
  json_decref(ev);
  json_decref(consent);
  json_decref(m);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_sizes), cmocka_unit_test(test_cipher),  cmocka_unit_test(test_manifest),
      cmocka_unit_test(test_root),  cmocka_unit_test(test_custody), cmocka_unit_test(test_share),
  };
  return cmocka_run_group_tests(tests, setup, NULL);
}
