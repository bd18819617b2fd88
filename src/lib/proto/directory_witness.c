/* The witness's directory statement (a signed-note line of its own, distinct from its
 * C2SP cosignature) and the state a replaying witness keeps: the log's Merkle frontier
 * and its directory view. docs/tlog.md, "Directory statements". */
#include <inttypes.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "parley/directory.h"
#include "parley/proto.h"

#define STATEMENT_LEN (4 + 8 + crypto_sign_ed25519_BYTES)
#define SIG_PREFIX "\xe2\x80\x94 " /* U+2014 em dash, space */

struct parley_dir_witness_signer {
  parley_dir_witness_verifier v;
  uint8_t sk[crypto_sign_ed25519_SECRETKEYBYTES];
};

/* SHA-256(name || 0x0A || 0xFF || "parley-directory/v1" || 0x0A || pk)[:4] */
static uint32_t statement_key_id(const char *name, const uint8_t pk[32]) {
  crypto_hash_sha256_state st;
  uint8_t h[crypto_hash_sha256_BYTES];
  const uint8_t nl = '\n', type = PARLEY_DIR_WITNESS_TYPE;
  crypto_hash_sha256_init(&st);
  crypto_hash_sha256_update(&st, (const unsigned char *)name, strlen(name));
  crypto_hash_sha256_update(&st, &nl, 1);
  crypto_hash_sha256_update(&st, &type, 1);
  crypto_hash_sha256_update(&st, (const unsigned char *)PARLEY_DIR_WITNESS_ID,
                            sizeof PARLEY_DIR_WITNESS_ID - 1);
  crypto_hash_sha256_update(&st, &nl, 1);
  crypto_hash_sha256_update(&st, pk, 32);
  crypto_hash_sha256_final(&st, h);
  return (uint32_t)h[0] << 24 | (uint32_t)h[1] << 16 | (uint32_t)h[2] << 8 | h[3];
}

void parley_dir_witness_verifier_of(const parley_cosig_verifier *w,
                                    parley_dir_witness_verifier *out) {
  memcpy(out->name, w->name, sizeof out->name);
  memcpy(out->public_key, w->public_key, 32);
  out->key_id = statement_key_id(out->name, out->public_key);
}

parley_err parley_dir_witness_signer_new(const char *name, const uint8_t seed[32],
                                         parley_dir_witness_signer **out, parley_error *err) {
  *out = NULL;
  /* The cosigner of the same name and seed checks the name and gives the public key. */
  parley_cosigner *c = NULL;
  parley_err e = parley_cosigner_new(name, seed, &c, err);
  if (e) return e;
  parley_cosig_verifier cv;
  parley_cosigner_verifier(c, &cv);
  parley_cosigner_free(c);
  parley_dir_witness_signer *s = calloc(1, sizeof *s);
  if (!s) return parley_fail(err, PARLEY_E_NO_MEMORY, NULL);
  uint8_t pk[32];
  crypto_sign_ed25519_seed_keypair(pk, s->sk, seed);
  parley_dir_witness_verifier_of(&cv, &s->v);
  *out = s;
  return PARLEY_E_OK;
}

void parley_dir_witness_signer_free(parley_dir_witness_signer *s) {
  if (!s) return;
  sodium_memzero(s, sizeof *s);
  free(s);
}

void parley_dir_witness_signer_verifier(const parley_dir_witness_signer *s,
                                        parley_dir_witness_verifier *out) {
  *out = s->v;
}

/* A statement is made only about a checkpoint that carries a directory commitment. */
static parley_err check_checkpoint(const char *text, size_t len, parley_error *err) {
  parley_checkpoint cp;
  uint64_t n;
  uint8_t root[32];
  parley_err e = parley_checkpoint_parse(text, len, &cp, err);
  if (!e && parley_dir_ext_parse(&cp, &n, root, err) != PARLEY_E_OK)
    e = parley_fail(err, PARLEY_E_TLOG_CHECKPOINT,
                    "the checkpoint carries no (valid) directory commitment");
  return e;
}

/* "parley/v1/directory-witness\ntime <ts>\n" || text */
static bool statement_message(parley_buf *m, uint64_t ts, const char *text, size_t len) {
  return parley_buf_puts(m, PARLEY_DIR_WITNESS_HEADER) == PARLEY_E_OK &&
         parley_buf_printf(m, "time %" PRIu64 "\n", ts) == PARLEY_E_OK &&
         parley_buf_append(m, text, len) == PARLEY_E_OK;
}

parley_err parley_dir_witness_sign(const parley_dir_witness_signer *s, const char *text, size_t len,
                                   uint64_t timestamp, parley_buf *line, parley_error *err) {
  parley_err e = check_checkpoint(text, len, err);
  if (e) return e;
  if (timestamp > (uint64_t)INT64_MAX)
    return parley_fail(err, PARLEY_E_INVALID_ARGUMENT, "a statement time must be < 2^63");
  parley_buf m;
  parley_buf_init(&m, PARLEY_NOTE_MAX_LEN + 64);
  if (!statement_message(&m, timestamp, text, len)) {
    parley_buf_free(&m);
    return parley_fail(err, PARLEY_E_TOO_LARGE, "checkpoint too large");
  }
  uint8_t payload[STATEMENT_LEN];
  for (int i = 0; i < 4; i++)
    payload[i] = (uint8_t)(s->v.key_id >> (24 - 8 * i));
  for (int i = 0; i < 8; i++)
    payload[4 + i] = (uint8_t)(timestamp >> (56 - 8 * i));
  crypto_sign_ed25519_detached(payload + 12, NULL, m.data, m.len, s->sk);
  parley_buf_free(&m);
  char b64[128];
  if (parley_b64_encode(payload, sizeof payload, b64, sizeof b64) != PARLEY_E_OK)
    return parley_fail(err, PARLEY_E_INTERNAL, "base64");
  if (parley_buf_puts(line, SIG_PREFIX) || parley_buf_puts(line, s->v.name) ||
      parley_buf_puts(line, " ") || parley_buf_puts(line, b64) || parley_buf_puts(line, "\n"))
    return parley_fail(err, PARLEY_E_TOO_LARGE, "signature line does not fit the buffer");
  return PARLEY_E_OK;
}

/* One line of v's: its payload must be a statement over the note's text. */
static bool statement_check(const parley_dir_witness_verifier *v, const parley_note *n,
                            const parley_note_sig *s, uint64_t *ts) {
  uint8_t sig[STATEMENT_LEN + 1];
  size_t got = 0;
  /* parley_note_parse already checked that the base64 is canonical. */
  if (s->b64_len != 4 * ((STATEMENT_LEN + 2) / 3) ||
      parley_b64_decode(s->b64, s->b64_len, sig, sizeof sig, &got) != PARLEY_E_OK ||
      got != STATEMENT_LEN)
    return false;
  uint64_t t = 0;
  for (int i = 0; i < 8; i++)
    t = t << 8 | sig[4 + i];
  if (t > (uint64_t)INT64_MAX) return false;
  parley_buf m;
  parley_buf_init(&m, PARLEY_NOTE_MAX_LEN + 64);
  bool ok = statement_message(&m, t, n->text, n->text_len) &&
            crypto_sign_ed25519_verify_detached(sig + 12, m.data, m.len, v->public_key) == 0;
  parley_buf_free(&m);
  *ts = t;
  return ok;
}

parley_err parley_dir_witness_verify(const parley_note *n, const parley_dir_witness_verifier *v,
                                     uint64_t *timestamp, parley_error *err) {
  if (!n->text) return parley_fail(err, PARLEY_E_TLOG_NOTE, "note was not parsed");
  parley_err e = check_checkpoint(n->text, n->text_len, err);
  if (e) return e;
  size_t name_len = strlen(v->name), found = 0;
  uint64_t best = 0;
  for (size_t i = 0; i < n->nsigs; i++) {
    const parley_note_sig *s = &n->sigs[i];
    if (s->key_id != v->key_id || s->name_len != name_len || memcmp(s->name, v->name, name_len))
      continue;
    uint64_t t = 0;
    if (!statement_check(v, n, s, &t))
      return parley_fail(err, PARLEY_E_CRYPTO_BAD_SIGNATURE,
                         "the directory statement by %s does not verify", v->name);
    if (t > best) best = t;
    found++;
  }
  if (!found)
    return parley_fail(err, PARLEY_E_CRYPTO_BAD_SIGNATURE,
                       "the checkpoint carries no directory statement by %s", v->name);
  if (timestamp) *timestamp = best;
  return PARLEY_E_OK;
}

/* ---- frontier --------------------------------------------------------------- */

void parley_tlog_frontier_init(parley_tlog_frontier *f) {
  memset(f, 0, sizeof *f);
}

void parley_tlog_frontier_append(parley_tlog_frontier *f, const uint8_t leaf_hash[32]) {
  uint8_t h[32];
  memcpy(h, leaf_hash, 32);
  /* Each trailing one bit of the old size is a complete subtree the new leaf completes. */
  for (uint64_t k = f->size; k & 1; k >>= 1)
    parley_tlog_node_hash(f->hashes[--f->n], h, h);
  memcpy(f->hashes[f->n++], h, 32);
  f->size++;
}

void parley_tlog_frontier_root(const parley_tlog_frontier *f, uint8_t root[32]) {
  if (f->n == 0) {
    parley_tlog_empty_root(root);
    return;
  }
  /* RFC 9162 splits at the largest power of two: fold from the right. */
  memcpy(root, f->hashes[f->n - 1], 32);
  for (size_t i = f->n - 1; i > 0; i--)
    parley_tlog_node_hash(f->hashes[i - 1], root, root);
}

json_t *parley_tlog_frontier_to_json(const parley_tlog_frontier *f) {
  json_t *a = json_array();
  for (size_t i = 0; a && i < f->n; i++) {
    char b64[64];
    parley_b64_encode(f->hashes[i], 32, b64, sizeof b64);
    json_array_append_new(a, json_string(b64));
  }
  return a ? json_pack("{s:I,s:o}", "size", (json_int_t)f->size, "hashes", a) : NULL;
}

parley_err parley_tlog_frontier_from_json(const json_t *o, parley_tlog_frontier *f,
                                          parley_error *err) {
  parley_tlog_frontier_init(f);
  json_t *js = json_object_get(o, "size"), *a = json_object_get(o, "hashes");
  if (!json_is_integer(js) || json_integer_value(js) < 0 || !json_is_array(a))
    return parley_fail(err, PARLEY_E_INVALID_ARGUMENT, "frontier: size and hashes");
  uint64_t size = (uint64_t)json_integer_value(js);
  size_t n = (size_t)__builtin_popcountll(size);
  if (json_array_size(a) != n)
    return parley_fail(err, PARLEY_E_INVALID_ARGUMENT, "frontier: %zu hashes for size %llu",
                       json_array_size(a), (unsigned long long)size);
  for (size_t i = 0; i < n; i++) {
    const char *h = json_string_value(json_array_get(a, i));
    size_t got = 0;
    if (!h || parley_b64_decode(h, strlen(h), f->hashes[i], 32, &got) != PARLEY_E_OK || got != 32)
      return parley_fail(err, PARLEY_E_INVALID_ARGUMENT, "frontier: hash %zu", i);
  }
  f->size = size;
  f->n = n;
  return PARLEY_E_OK;
}

/* ---- directory view ---------------------------------------------------------- */

json_t *parley_dir_view_to_json(const parley_dir_view *v) {
  json_t *a = json_array();
  for (size_t i = 0; a && i < v->n; i++) {
    const parley_dir_state *s = &v->states[i];
    char root[PARLEY_KEY_B64_LEN], hash[64];
    parley_sign_pk_to_b64(&s->root, root);
    json_t *o = json_pack("{s:s,s:I,s:s}", "state", s->state, "version", (json_int_t)s->version,
                          "root_key", root);
    if (o && s->version > 0) {
      parley_b64url_encode(s->record_sha256, 32, hash, sizeof hash);
      json_object_set_new(o, "record_sha256", json_string(hash));
    }
    if (o && s->root_replaced_at >= 0)
      json_object_set_new(o, "root_replaced_at", json_integer(s->root_replaced_at));
    if (!o || json_array_append_new(a, o)) {
      json_decref(a);
      return NULL;
    }
  }
  return a;
}

parley_err parley_dir_view_from_json(const json_t *a, parley_dir_view *v, parley_error *err) {
  memset(v, 0, sizeof *v);
  if (!json_is_array(a) || json_array_size(a) > PARLEY_DIR_MAX_STATES)
    return parley_fail(err, PARLEY_E_INVALID_ARGUMENT, "directory view: an array of states");
  size_t n = json_array_size(a);
  if (n == 0) return PARLEY_E_OK;
  v->states = calloc(n, sizeof *v->states);
  if (!v->states) return parley_fail(err, PARLEY_E_NO_MEMORY, NULL);
  v->cap = n;
  for (size_t i = 0; i < n; i++) {
    json_t *o = json_array_get(a, i);
    parley_dir_state *s = &v->states[i];
    const char *code = json_string_value(json_object_get(o, "state"));
    const char *root = json_string_value(json_object_get(o, "root_key"));
    const char *hash = json_string_value(json_object_get(o, "record_sha256"));
    json_t *ver = json_object_get(o, "version"), *rep = json_object_get(o, "root_replaced_at");
    bool ok = code && parley_state_code_valid(code) && root &&
              parley_sign_pk_from_b64(root, &s->root) == PARLEY_E_OK && json_is_integer(ver) &&
              json_integer_value(ver) >= 0 &&
              (!rep || (json_is_integer(rep) && json_integer_value(rep) >= 0)) &&
              (!hash || parley_b64url_decode_exact(hash, s->record_sha256, 32) == PARLEY_E_OK) &&
              (json_integer_value(ver) == 0) == !hash &&
              (i == 0 || strcmp(v->states[i - 1].state, code) < 0);
    if (!ok) {
      parley_dir_view_free(v);
      return parley_fail(err, PARLEY_E_INVALID_ARGUMENT, "directory view: state %zu", i);
    }
    parley_strlcpy(s->state, code, sizeof s->state);
    s->version = json_integer_value(ver);
    s->root_replaced_at = rep ? json_integer_value(rep) : -1;
    v->n = i + 1;
  }
  return PARLEY_E_OK;
}
