/* Fuzz target for the tlog parsers: the input is tried as a signed note (verified
 * against fixed log, note and witness keys), as a checkpoint, as a tile path, as a
 * verifier key, and as the numbers and hashes of Merkle proofs. Parsers that accept
 * must round-trip exactly; nothing may crash. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "parley/tlog.h"

/* Keys of the vectors in testdata/vectors.json, so that the seed corpus verifies. */
static const char *note_vkey = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
static const char *log_vkey =
    "example.com/npoc-log+c04aa8c8+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
static const char *witness_vkey =
    "witness.example.com/w1+d46a2b1b+BBpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";

static parley_note_verifier note_v, log_v;
static parley_cosig_verifier witness_v;

static void init_once(void) {
  static bool done;
  if (done) return;
  if (!parley_init() || parley_note_verifier_parse(note_vkey, &note_v, NULL) != PARLEY_E_OK ||
      parley_note_verifier_parse(log_vkey, &log_v, NULL) != PARLEY_E_OK ||
      parley_cosig_verifier_parse(witness_vkey, &witness_v, NULL) != PARLEY_E_OK)
    abort();
  done = true;
}

static uint64_t be64(const uint8_t *p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; i++)
    v = v << 8 | p[i];
  return v;
}

static void fuzz_merkle(const uint8_t *data, size_t size) {
  if (size < 24 + 2 * PARLEY_TLOG_HASH_LEN) return;
  uint64_t a = be64(data), b = be64(data + 8), c = be64(data + 16);
  /* small numbers are the interesting ones: fold most inputs into a small range */
  if (data[0] & 0x80) {
    a &= 0xffff;
    b &= 0xffff;
    c &= 0xffff;
  }
  const uint8_t *h1 = data + 24, *h2 = h1 + PARLEY_TLOG_HASH_LEN;
  const uint8_t(*proof)[PARLEY_TLOG_HASH_LEN] = (const uint8_t(*)[PARLEY_TLOG_HASH_LEN])(h2 + 32);
  size_t count = (size - 24 - 2 * PARLEY_TLOG_HASH_LEN) / PARLEY_TLOG_HASH_LEN;
  parley_error err;
  (void)parley_tlog_verify_inclusion(a, b, h1, proof, count, h2, &err);
  (void)parley_tlog_verify_consistency(a, b, h1, h2, proof, count, &err);
  (void)parley_tlog_verify_subtree_inclusion(a, b, c, h1, proof, count, h2, &err);
  (void)parley_tlog_verify_subtree_consistency(a, b, c, proof, count, h1, h2, &err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  init_once();
  const char *s = (const char *)data;
  parley_error err;

  parley_note n;
  if (parley_note_parse(s, size, &n, &err) == PARLEY_E_OK) {
    if (n.text_len > size || n.nsigs == 0 || n.nsigs > PARLEY_NOTE_MAX_SIGS) abort();
    (void)parley_note_verify(&n, &note_v, &err);
    (void)parley_note_verify(&n, &log_v, &err);
    uint64_t ts;
    (void)parley_cosig_verify(&n, &witness_v, &ts, &err);
  }

  parley_checkpoint cp;
  if (parley_checkpoint_parse(s, size, &cp, &err) == PARLEY_E_OK) {
    parley_buf b;
    parley_buf_init(&b, PARLEY_NOTE_MAX_LEN + 64);
    if (parley_checkpoint_format(&cp, &b, &err) != PARLEY_E_OK || b.len != size ||
        memcmp(b.data, data, size) != 0)
      abort();
    parley_buf_free(&b);
  }

  parley_tile t;
  if (parley_tile_parse_path(s, size, &t, &err) == PARLEY_E_OK) {
    char out[PARLEY_TILE_PATH_MAX];
    if (parley_tile_path(&t, out, sizeof out, &err) != PARLEY_E_OK || strlen(out) != size ||
        memcmp(out, data, size) != 0)
      abort();
    (void)parley_tile_check(&t, size * 1000003u, &err);
  }

  if (size < PARLEY_NOTE_VKEY_MAX + 8) {
    char key[PARLEY_NOTE_VKEY_MAX + 8];
    memcpy(key, data, size);
    key[size] = 0;
    parley_note_verifier v;
    if (parley_note_verifier_parse(key, &v, &err) == PARLEY_E_OK) {
      char out[PARLEY_NOTE_VKEY_MAX];
      if (parley_note_verifier_format(&v, out, sizeof out, &err) != PARLEY_E_OK ||
          strcmp(out, key) != 0)
        abort();
    }
    parley_cosig_verifier cv;
    (void)parley_cosig_verifier_parse(key, &cv, &err);
  }

  fuzz_merkle(data, size);
  return 0;
}
