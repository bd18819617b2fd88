/* Unit tests for envelopes and acknowledgements (docs/protocol.md §8): sealing for
 * several recipients, the hub's verification, opening, tampering of every part,
 * non-recipients, forwarding, bounds, and signed receipts. Parts of the format are
 * re-implemented here from the specification (re-signing, sealing a raw body) so that
 * the library is checked against the text, not only against itself. */
/* cmocka needs these first, in this order */
// clang-format off
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
// clang-format on

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parley/envelope.h"
#include "parley/json.h"
#include "parley/template.h"

/* ---- fixtures ----------------------------------------------------------------- */

enum { A, B1, B2, C, D, N_ID }; /* A sends; B1, B2 (LVA) and C (FIN) receive; D is outside */
static parley_identity ids[N_ID];
static const char *const id_state[N_ID] = {"EST", "LVA", "LVA", "FIN", "DEU"};
static const char *const id_poc[N_ID] = {"est-cert", "lva-cert", "lva-police", "fin-cert",
                                         "deu-cert"};

static const char *CONTENT =
    "{\"incident_class\":\"malicious-code\",\"summary\":\"Wiper malware on the OT networks of two "
    "distributors.\",\"affected_sectors\":\"energy\",\"indicators\":\"hxxp://198.51.100.7/"
    "stage2\",\"first_seen\":\"2026-11-20\"}";
#define CASE_ID "01936f3a-7b2c-7d4e-8f01-23456789abcd"
#define REPLY_ID "01936f3a-0000-7000-8000-000000000001"

static json_t *J(const char *text) {
  json_error_t je;
  json_t *v = json_loads(text, JSON_REJECT_DUPLICATES, &je);
  if (!v) fail_msg("bad test JSON: %s", je.text);
  return v;
}

static int setup(void **state) {
  (void)state;
  for (int i = 0; i < N_ID; i++) {
    uint8_t seed[32], box[32];
    for (int k = 0; k < 32; k++) {
      seed[k] = (uint8_t)(i * 50 + k); /* distinct for i < 5 */
      box[k] = (uint8_t)(i * 50 + 7 + 2 * k);
    }
    if (parley_identity_from_seeds(seed, box, &ids[i]) != PARLEY_E_OK) return -1;
    for (int j = 0; j < i; j++)
      if (memcmp(ids[i].sign_pk.b, ids[j].sign_pk.b, 32) == 0 ||
          memcmp(ids[i].box_pk.b, ids[j].box_pk.b, 32) == 0)
        return -1;
  }
  return 0;
}

static parley_envelope_recipient rcpt(int who) {
  parley_envelope_recipient r = {
      .state = id_state[who], .poc = id_poc[who], .box_pk = ids[who].box_pk};
  return r;
}

/* Seals CONTENT from A to B1, B2 and C. */
static json_t *seal_default(void) {
  parley_envelope_recipient rs[3] = {rcpt(B1), rcpt(B2), rcpt(C)};
  parley_envelope_params p = {.kind = "notification",
                              .priority = PARLEY_PRIORITY_URGENT,
                              .tlp = PARLEY_TLP_AMBER,
                              .case_id = CASE_ID,
                              .in_reply_to = REPLY_ID,
                              .from_state = "EST",
                              .from_poc = "est-cert",
                              .language = "et",
                              .n_recipients = 3,
                              .recipients = rs,
                              .created = 1795000000};
  json_t *content = J(CONTENT);
  json_t *env = NULL;
  parley_error err;
  if (parley_envelope_seal(&p, content, &ids[A], &env, &err) != PARLEY_E_OK)
    fail_msg("seal: %s", err.detail);
  json_decref(content);
  return env;
}

/* The outer signature, as the specification defines it: purpose "envelope" over JCS of
 * the envelope without "signature" and "ciphertext". */
static void resign(json_t *env, const parley_identity *who) {
  json_t *h = json_deep_copy(env);
  json_object_del(h, "ciphertext");
  json_object_del(h, "signature");
  assert_int_equal(parley_signed_json_sign(h, "envelope", &who->sign_sk, NULL), PARLEY_E_OK);
  json_object_set(env, "signature", json_object_get(h, "signature"));
  json_decref(h);
}

static void set_b64(json_t *o, const char *name, const uint8_t *b, size_t n) {
  char *s = malloc(parley_b64url_encoded_len(n) + 1);
  assert_non_null(s);
  assert_int_equal(parley_b64url_encode(b, n, s, parley_b64url_encoded_len(n) + 1), PARLEY_E_OK);
  json_object_set_new(o, name, json_string(s));
  free(s);
}

static uint8_t *get_b64(const json_t *o, const char *name, size_t *n) {
  const char *s = json_string_value(json_object_get(o, name));
  assert_non_null(s);
  size_t cap = strlen(s) + 4;
  uint8_t *b = malloc(cap);
  assert_int_equal(parley_b64url_decode(s, strlen(s), b, cap, n), PARLEY_E_OK);
  return b;
}

static parley_err verify_as(const json_t *env, int sender, parley_error *err) {
  return parley_envelope_verify(env, &ids[sender].sign_pk, NULL, err);
}

static parley_err open_as(const json_t *env, int me, int sender, json_t **body, parley_error *err) {
  json_t *local = NULL;
  parley_err e =
      parley_envelope_open(env, &ids[me], &ids[sender].sign_pk, body ? body : &local, err);
  json_decref(local);
  return e;
}

/* Header members seal_raw adds (covered by the AD and the signature), or NULL. */
static json_t *raw_extra;

/* An envelope sealed by hand from the specification, around an arbitrary plaintext:
 * header {format,id,kind,priority,from,recipients,created,tlp}; AD = SHA-256(JCS(header
 * without wrapped keys, nonce, ciphertext, ciphertext_sha256, key_commitment,
 * signature)); XChaCha20-Poly1305 under a fresh key, wrapped per recipient; signature. */
static json_t *seal_raw(const char *id, const char *kind, int sender, const int *to, size_t n_to,
                        const uint8_t *pt, size_t ptlen) {
  char kid[PARLEY_KEY_ID_LEN];
  parley_sign_pk_key_id(&ids[sender].sign_pk, kid);
  json_t *rs = json_array();
  for (size_t i = 0; i < n_to; i++) {
    char rk[PARLEY_KEY_ID_LEN];
    parley_box_pk_key_id(&ids[to[i]].box_pk, rk);
    json_array_append_new(rs, json_pack("{s:s,s:s,s:s}", "state", id_state[to[i]], "poc",
                                        id_poc[to[i]], "key_id", rk));
  }
  json_t *h = json_pack("{s:s,s:s,s:s,s:s,s:{s:s,s:s,s:s},s:o,s:s,s:s}", "format",
                        "parley-envelope-v1", "id", id, "kind", kind, "priority", "routine", "from",
                        "state", id_state[sender], "poc", id_poc[sender], "key_id", kid,
                        "recipients", rs, "created", "2026-11-22T17:15:00Z", "tlp", "TLP:GREEN");
  assert_non_null(h);
  if (raw_extra) json_object_update(h, raw_extra);
  parley_buf b;
  parley_buf_init(&b, 1 << 20);
  assert_int_equal(parley_jcs(h, &b, NULL), PARLEY_E_OK);
  parley_hash ad;
  parley_sha256(b.data, b.len, &ad);
  parley_buf_free(&b);

  parley_content_key key;
  uint8_t nonce[PARLEY_NONCE_LEN];
  parley_hash commit, ct_sha;
  parley_buf ct;
  parley_buf_init(&ct, 1 << 20);
  assert_int_equal(parley_seal_body(pt, ptlen, ad.b, sizeof ad.b, &key, nonce, &ct, &commit),
                   PARLEY_E_OK);
  for (size_t i = 0; i < n_to; i++) {
    uint8_t w[PARLEY_WRAPPED_KEY_LEN];
    assert_int_equal(parley_wrap_key(&key, &ids[to[i]].box_pk, w), PARLEY_E_OK);
    set_b64(json_array_get(rs, i), "wrapped_key", w, sizeof w);
  }
  parley_sha256(ct.data, ct.len, &ct_sha);
  set_b64(h, "nonce", nonce, sizeof nonce);
  set_b64(h, "ciphertext", ct.data, ct.len);
  set_b64(h, "ciphertext_sha256", ct_sha.b, sizeof ct_sha.b);
  set_b64(h, "key_commitment", commit.b, sizeof commit.b);
  parley_buf_free(&ct);
  resign(h, &ids[sender]);
  return h;
}

/* A body as the specification defines it, signed (inner) by `signer`. */
static json_t *make_body(const char *id, const char *kind, int sender, const int *to, size_t n_to,
                         const char *content, int signer) {
  char kid[PARLEY_KEY_ID_LEN];
  parley_sign_pk_key_id(&ids[sender].sign_pk, kid);
  json_t *rs = json_array();
  for (size_t i = 0; i < n_to; i++) {
    char rk[PARLEY_KEY_ID_LEN];
    parley_box_pk_key_id(&ids[to[i]].box_pk, rk);
    json_array_append_new(rs, json_pack("{s:s,s:s,s:s}", "state", id_state[to[i]], "poc",
                                        id_poc[to[i]], "key_id", rk));
  }
  json_t *body =
      json_pack("{s:s,s:s,s:s,s:{s:s,s:s,s:s},s:o,s:s,s:o}", "format", "parley-body-v1", "id", id,
                "kind", kind, "from", "state", id_state[sender], "poc", id_poc[sender], "key_id",
                kid, "recipients", rs, "language", "lv", "content", J(content));
  assert_non_null(body);
  assert_int_equal(parley_signed_json_sign(body, "inner", &ids[signer].sign_sk, NULL), PARLEY_E_OK);
  return body;
}

static json_t *seal_body_json(const char *id, const char *kind, int sender, const int *to,
                              size_t n_to, const json_t *body) {
  parley_buf b;
  parley_buf_init(&b, 1 << 20);
  assert_int_equal(parley_jcs(body, &b, NULL), PARLEY_E_OK);
  json_t *env = seal_raw(id, kind, sender, to, n_to, b.data, b.len);
  parley_buf_free(&b);
  return env;
}

/* ---- the happy path ------------------------------------------------------------- */

static void test_seal_verify_open(void **state) {
  (void)state;
  json_t *env = seal_default();
  json_t *content = J(CONTENT);

  /* shape: exactly the members of §8 */
  static const char *const members[] = {"format",
                                        "id",
                                        "kind",
                                        "priority",
                                        "from",
                                        "recipients",
                                        "case",
                                        "in_reply_to",
                                        "created",
                                        "tlp",
                                        "nonce",
                                        "ciphertext",
                                        "ciphertext_sha256",
                                        "key_commitment",
                                        "signature"};
  assert_int_equal(json_object_size(env), sizeof members / sizeof members[0]);
  for (size_t i = 0; i < sizeof members / sizeof members[0]; i++)
    assert_non_null(json_object_get(env, members[i]));
  assert_string_equal(json_string_value(json_object_get(env, "format")), "parley-envelope-v1");
  assert_string_equal(json_string_value(json_object_get(env, "tlp")), "TLP:AMBER");
  assert_string_equal(json_string_value(json_object_get(env, "created")), "2026-11-18T11:06:40Z");
  size_t n;
  free(get_b64(json_array_get(json_object_get(env, "recipients"), 0), "wrapped_key", &n));
  assert_int_equal(n, PARLEY_WRAPPED_KEY_LEN);
  /* the content is not readable in the envelope */
  char *dump = json_dumps(env, 0);
  assert_null(strstr(dump, "Wiper"));
  assert_null(strstr(dump, "malicious-code"));
  free(dump);

  /* the hub's view */
  parley_envelope_info info;
  parley_error err;
  assert_int_equal(parley_envelope_verify(env, &ids[A].sign_pk, &info, &err), PARLEY_E_OK);
  assert_true(parley_uuid_valid(info.id));
  assert_int_equal(info.id[14], '7');
  assert_string_equal(info.kind, "notification");
  assert_int_equal(info.priority, PARLEY_PRIORITY_URGENT);
  assert_int_equal(info.tlp, PARLEY_TLP_AMBER);
  assert_string_equal(info.case_id, CASE_ID);
  assert_string_equal(info.in_reply_to, REPLY_ID);
  assert_int_equal(info.created, 1795000000);
  assert_string_equal(info.from.state, "EST");
  assert_string_equal(info.from.poc, "est-cert");
  char kid[PARLEY_KEY_ID_LEN];
  parley_sign_pk_key_id(&ids[A].sign_pk, kid);
  assert_string_equal(info.from.key_id, kid);
  assert_int_equal(info.n_recipients, 3);
  const int who[3] = {B1, B2, C};
  for (int i = 0; i < 3; i++) {
    parley_box_pk_key_id(&ids[who[i]].box_pk, kid);
    assert_string_equal(info.recipients[i].key_id, kid);
    assert_string_equal(info.recipients[i].state, id_state[who[i]]);
    assert_string_equal(info.recipients[i].poc, id_poc[who[i]]);
  }
  parley_hash h;
  assert_int_equal(parley_envelope_hash(env, &h, NULL), PARLEY_E_OK);
  assert_memory_equal(h.b, info.hash.b, 32);
  /* = SHA-256(JCS(envelope)) */
  parley_buf b;
  parley_buf_init(&b, 4 << 20);
  assert_int_equal(parley_jcs(env, &b, NULL), PARLEY_E_OK);
  parley_hash h2;
  parley_sha256(b.data, b.len, &h2);
  assert_memory_equal(h.b, h2.b, 32);

  /* every recipient reads the content */
  for (int i = 0; i < 3; i++) {
    json_t *body = NULL;
    if (open_as(env, who[i], A, &body, &err) != PARLEY_E_OK)
      fail_msg("recipient %d: %s", i, err.detail);
    assert_true(json_equal(json_object_get(body, "content"), content));
    assert_string_equal(json_string_value(json_object_get(body, "language")), "et");
    assert_string_equal(json_string_value(json_object_get(body, "id")), info.id);
    assert_string_equal(json_string_value(json_object_get(body, "format")), "parley-body-v1");
    json_decref(body);
  }

  /* through the wire: JCS text, parsed back with the envelope limits */
  json_t *back = NULL;
  parley_json_limits lim = PARLEY_ENVELOPE_JSON_LIMITS;
  assert_int_equal(parley_json_parse_object((const char *)b.data, b.len, &lim, &back, &err),
                   PARLEY_E_OK);
  assert_int_equal(verify_as(back, A, &err), PARLEY_E_OK);
  assert_int_equal(open_as(back, C, A, NULL, &err), PARLEY_E_OK);
  json_decref(back);
  parley_buf_free(&b);

  /* two seals of the same content differ (fresh id, key and nonce) */
  json_t *env2 = seal_default();
  assert_false(json_equal(json_object_get(env, "ciphertext"), json_object_get(env2, "ciphertext")));
  assert_false(json_equal(json_object_get(env, "id"), json_object_get(env2, "id")));
  json_decref(env2);
  json_decref(content);
  json_decref(env);
}

static void test_optional_members_absent(void **state) {
  (void)state;
  parley_envelope_recipient r = rcpt(C);
  parley_envelope_params p = {.kind = "ping",
                              .priority = PARLEY_PRIORITY_ROUTINE,
                              .tlp = PARLEY_TLP_CLEAR,
                              .from_state = "EST",
                              .from_poc = "est-cert",
                              .language = "en",
                              .n_recipients = 1,
                              .recipients = &r};
  json_t *c = J("{\"challenge\":\"7F3K-99QX\"}");
  json_t *env = NULL;
  parley_error err;
  int64_t before = parley_now();
  assert_int_equal(parley_envelope_seal(&p, c, &ids[A], &env, &err), PARLEY_E_OK);
  assert_null(json_object_get(env, "case"));
  assert_null(json_object_get(env, "in_reply_to"));
  parley_envelope_info info;
  assert_int_equal(parley_envelope_verify(env, &ids[A].sign_pk, &info, &err), PARLEY_E_OK);
  assert_string_equal(info.case_id, "");
  assert_string_equal(info.in_reply_to, "");
  assert_true(info.created >= before && info.created <= parley_now());
  assert_int_equal(open_as(env, C, A, NULL, &err), PARLEY_E_OK);
  json_decref(env);
  json_decref(c);
}

/* ---- the hub's checks ------------------------------------------------------------ */

static void test_tampered_header(void **state) {
  (void)state;
  json_t *env = seal_default();
  parley_error err;
  struct {
    const char *member;
    json_t *value;
  } changes[] = {
      {"priority", json_string("critical")},
      {"tlp", json_string("TLP:CLEAR")},
      {"kind", json_string("ping")},
      {"created", json_string("2026-11-18T11:06:41Z")},
      {"case", json_string(REPLY_ID)},
      {"id", json_string("01936f3a-7b2c-7d4e-8f01-000000000000")},
      {"nonce", json_string("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")},
      {"key_commitment", json_string("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")},
  };
  for (size_t i = 0; i < sizeof changes / sizeof changes[0]; i++) {
    json_t *t = json_deep_copy(env);
    json_object_set_new(t, changes[i].member, changes[i].value);
    if (verify_as(t, A, &err) != PARLEY_E_ENVELOPE_SIGNATURE)
      fail_msg("%s: %s", changes[i].member, err.detail);
    json_decref(t);
  }
  /* a recipient's state, and a wrapped key */
  json_t *t = json_deep_copy(env);
  json_object_set_new(json_array_get(json_object_get(t, "recipients"), 0), "state",
                      json_string("LTU"));
  assert_int_equal(verify_as(t, A, &err), PARLEY_E_ENVELOPE_SIGNATURE);
  json_decref(t);
  t = json_deep_copy(env);
  json_t *r0 = json_array_get(json_object_get(t, "recipients"), 0);
  json_t *r1 = json_array_get(json_object_get(t, "recipients"), 1);
  json_t *w0 = json_incref(json_object_get(r0, "wrapped_key"));
  json_object_set(r0, "wrapped_key", json_object_get(r1, "wrapped_key"));
  json_object_set_new(r1, "wrapped_key", w0);
  assert_int_equal(verify_as(t, A, &err), PARLEY_E_ENVELOPE_SIGNATURE);
  json_decref(t);
  /* dropping a recipient */
  t = json_deep_copy(env);
  json_array_remove(json_object_get(t, "recipients"), 2);
  assert_int_equal(verify_as(t, A, &err), PARLEY_E_ENVELOPE_SIGNATURE);
  json_decref(t);
  /* the right envelope, another sender key */
  assert_int_equal(verify_as(env, D, &err), PARLEY_E_ENVELOPE_SIGNATURE);
  assert_non_null(strstr(err.detail, "from.key_id"));
  /* another key that claims A's key id cannot be told apart by the id, but fails */
  t = json_deep_copy(env);
  char kid[PARLEY_KEY_ID_LEN];
  parley_sign_pk_key_id(&ids[D].sign_pk, kid);
  json_object_set_new(json_object_get(t, "from"), "key_id", json_string(kid));
  assert_int_equal(verify_as(t, D, &err), PARLEY_E_ENVELOPE_SIGNATURE);
  assert_non_null(strstr(err.detail, "signature"));
  json_decref(t);
  json_decref(env);
}

static void test_shape(void **state) {
  (void)state;
  json_t *env = seal_default();
  parley_error err;
  json_t *t;
#define EXPECT(code, what)                                                                         \
  do {                                                                                             \
    parley_err got_ = verify_as(t, A, &err);                                                       \
    if (got_ != (code)) fail_msg("%s: got %s (%s)", what, parley_err_name(got_), err.detail);      \
    json_decref(t);                                                                                \
  } while (0)

  t = json_deep_copy(env);
  json_object_set_new(t, "note", json_string("x"));
  resign(t, &ids[A]); /* even signed, an unknown member is refused */
  EXPECT(PARLEY_E_ENVELOPE_INVALID, "unknown member");
  t = json_deep_copy(env);
  json_object_set_new(json_object_get(t, "from"), "name", json_string("x"));
  resign(t, &ids[A]);
  EXPECT(PARLEY_E_ENVELOPE_INVALID, "unknown member in from");
  t = json_deep_copy(env);
  json_object_set_new(json_array_get(json_object_get(t, "recipients"), 1), "cc", json_true());
  resign(t, &ids[A]);
  EXPECT(PARLEY_E_ENVELOPE_INVALID, "unknown member in a recipient");
  const char *required[] = {"format",
                            "id",
                            "kind",
                            "priority",
                            "from",
                            "recipients",
                            "created",
                            "tlp",
                            "nonce",
                            "ciphertext",
                            "ciphertext_sha256",
                            "key_commitment",
                            "signature"};
  for (size_t i = 0; i < sizeof required / sizeof required[0]; i++) {
    t = json_deep_copy(env);
    json_object_del(t, required[i]);
    parley_err got = verify_as(t, A, &err);
    if (got != PARLEY_E_ENVELOPE_INVALID || !strstr(err.detail, required[i]))
      fail_msg("without %s: %s (%s)", required[i], parley_err_name(got), err.detail);
    json_decref(t);
  }
  t = json_deep_copy(env);
  json_object_set_new(t, "format", json_string("parley-envelope-v2"));
  resign(t, &ids[A]);
  EXPECT(PARLEY_E_ENVELOPE_INVALID, "format");
  t = json_deep_copy(env);
  json_object_set_new(t, "kind", json_string("telegram"));
  resign(t, &ids[A]);
  EXPECT(PARLEY_E_TEMPLATE_UNKNOWN, "kind");
  t = json_deep_copy(env);
  json_object_set_new(t, "tlp", json_string("TLP:WHITE"));
  resign(t, &ids[A]);
  EXPECT(PARLEY_E_ENVELOPE_INVALID, "tlp");
  t = json_deep_copy(env);
  json_object_set_new(t, "priority", json_string("flash"));
  resign(t, &ids[A]);
  EXPECT(PARLEY_E_ENVELOPE_INVALID, "priority");
  t = json_deep_copy(env);
  json_object_set_new(t, "id", json_string("01936f3a-7b2c-4d4e-8f01-23456789abcd")); /* v4 */
  resign(t, &ids[A]);
  EXPECT(PARLEY_E_ENVELOPE_INVALID, "id version");
  t = json_deep_copy(env);
  json_object_set_new(t, "case", json_null());
  resign(t, &ids[A]);
  EXPECT(PARLEY_E_ENVELOPE_INVALID, "null case");
  t = json_deep_copy(env);
  json_object_set_new(t, "created", json_string("2026-11-18 11:06:40"));
  resign(t, &ids[A]);
  EXPECT(PARLEY_E_ENVELOPE_INVALID, "created");
  t = json_deep_copy(env);
  json_object_set_new(json_object_get(t, "from"), "state", json_string("est"));
  resign(t, &ids[A]);
  EXPECT(PARLEY_E_ENVELOPE_INVALID, "from.state");
  t = json_deep_copy(env);
  json_object_set_new(json_array_get(json_object_get(t, "recipients"), 0), "key_id",
                      json_string("short"));
  resign(t, &ids[A]);
  EXPECT(PARLEY_E_ENVELOPE_INVALID, "recipient key id");
  t = json_deep_copy(env);
  json_object_set_new(json_array_get(json_object_get(t, "recipients"), 0), "wrapped_key",
                      json_string("AAAA"));
  resign(t, &ids[A]);
  EXPECT(PARLEY_E_ENVELOPE_INVALID, "wrapped key length");
  t = json_deep_copy(env);
  json_object_set_new(t, "signature", json_string("x"));
  EXPECT(PARLEY_E_ENVELOPE_SIGNATURE, "malformed signature");
  t = json_deep_copy(env);
  json_object_set_new(t, "priority", json_integer(1));
  EXPECT(PARLEY_E_ENVELOPE_INVALID, "priority type");
  t = json_deep_copy(env);
  json_object_set_new(t, "created", json_real(1.5));
  EXPECT(PARLEY_E_ENVELOPE_INVALID, "a real");
  t = json_array();
  EXPECT(PARLEY_E_ENVELOPE_INVALID, "an array");
#undef EXPECT
  json_decref(env);
}

static void test_recipient_bounds(void **state) {
  (void)state;
  json_t *env = seal_default();
  parley_error err;
  /* no duplicate key ids */
  json_t *t = json_deep_copy(env);
  json_t *rs = json_object_get(t, "recipients");
  json_array_append_new(rs, json_deep_copy(json_array_get(rs, 0)));
  resign(t, &ids[A]);
  assert_int_equal(verify_as(t, A, &err), PARLEY_E_ENVELOPE_INVALID);
  assert_non_null(strstr(err.detail, "recipients[3].key_id"));
  json_decref(t);
  /* 33 distinct recipients */
  t = json_deep_copy(env);
  rs = json_object_get(t, "recipients");
  for (int i = 0; i < 30; i++) {
    parley_identity x;
    parley_identity_generate(&x);
    char kid[PARLEY_KEY_ID_LEN];
    parley_box_pk_key_id(&x.box_pk, kid);
    json_t *r = json_deep_copy(json_array_get(rs, 0));
    json_object_set_new(r, "key_id", json_string(kid));
    json_array_append_new(rs, r);
  }
  assert_int_equal(json_array_size(rs), 33);
  resign(t, &ids[A]);
  assert_int_equal(verify_as(t, A, &err), PARLEY_E_ENVELOPE_INVALID);
  assert_non_null(strstr(err.detail, "recipients"));
  json_array_remove(rs, 32); /* 32 is fine */
  resign(t, &ids[A]);
  assert_int_equal(verify_as(t, A, &err), PARLEY_E_OK);
  json_array_clear(rs);
  resign(t, &ids[A]);
  assert_int_equal(verify_as(t, A, &err), PARLEY_E_ENVELOPE_INVALID);
  json_decref(t);
  json_decref(env);
}

/* ---- the ciphertext ------------------------------------------------------------- */

static void flip_ciphertext(json_t *env, size_t at) {
  size_t n;
  uint8_t *ct = get_b64(env, "ciphertext", &n);
  assert_true(at < n);
  ct[at] ^= 0x01;
  set_b64(env, "ciphertext", ct, n);
  free(ct);
}

static void update_hash(json_t *env) {
  size_t n;
  uint8_t *ct = get_b64(env, "ciphertext", &n);
  parley_hash h;
  parley_sha256(ct, n, &h);
  set_b64(env, "ciphertext_sha256", h.b, sizeof h.b);
  free(ct);
}

static void test_tampered_ciphertext(void **state) {
  (void)state;
  json_t *env = seal_default();
  parley_error err;

  /* the hub: a changed ciphertext no longer matches ciphertext_sha256 */
  json_t *t = json_deep_copy(env);
  flip_ciphertext(t, 5);
  assert_int_equal(verify_as(t, A, &err), PARLEY_E_ENVELOPE_CIPHERTEXT);
  resign(t, &ids[A]); /* even re-signed by the sender, with the stale hash */
  assert_int_equal(verify_as(t, A, &err), PARLEY_E_ENVELOPE_CIPHERTEXT);
  assert_int_equal(open_as(t, B1, A, NULL, &err), PARLEY_E_ENVELOPE_CIPHERTEXT);

  /* hash updated and re-signed: the hub cannot tell, the recipient's AEAD can */
  update_hash(t);
  resign(t, &ids[A]);
  assert_int_equal(verify_as(t, A, &err), PARLEY_E_OK);
  assert_int_equal(open_as(t, B1, A, NULL, &err), PARLEY_E_ENVELOPE_CIPHERTEXT);
  json_decref(t);

  /* the tag (last byte) */
  t = json_deep_copy(env);
  size_t n;
  free(get_b64(t, "ciphertext", &n));
  flip_ciphertext(t, n - 1);
  update_hash(t);
  resign(t, &ids[A]);
  assert_int_equal(open_as(t, C, A, NULL, &err), PARLEY_E_ENVELOPE_CIPHERTEXT);
  json_decref(t);

  /* truncated */
  t = json_deep_copy(env);
  uint8_t *ct = get_b64(t, "ciphertext", &n);
  set_b64(t, "ciphertext", ct, n - 1);
  free(ct);
  update_hash(t);
  resign(t, &ids[A]);
  assert_int_equal(open_as(t, C, A, NULL, &err), PARLEY_E_ENVELOPE_CIPHERTEXT);
  json_decref(t);

  /* another key commitment, or another nonce (which the commitment covers) */
  t = json_deep_copy(env);
  uint8_t zero[32] = {0};
  set_b64(t, "key_commitment", zero, 32);
  resign(t, &ids[A]);
  assert_int_equal(verify_as(t, A, &err), PARLEY_E_OK);
  assert_int_equal(open_as(t, B2, A, NULL, &err), PARLEY_E_CRYPTO_COMMITMENT);
  json_decref(t);
  t = json_deep_copy(env);
  uint8_t *nonce = get_b64(t, "nonce", &n);
  nonce[0] ^= 0x80;
  set_b64(t, "nonce", nonce, n);
  free(nonce);
  resign(t, &ids[A]);
  assert_int_equal(open_as(t, B2, A, NULL, &err), PARLEY_E_CRYPTO_COMMITMENT);
  json_decref(t);

  /* a header member changed and re-signed: the associated data no longer matches */
  t = json_deep_copy(env);
  json_object_set_new(t, "priority", json_string("critical"));
  resign(t, &ids[A]);
  assert_int_equal(verify_as(t, A, &err), PARLEY_E_OK);
  assert_int_equal(open_as(t, B1, A, NULL, &err), PARLEY_E_ENVELOPE_CIPHERTEXT);
  json_decref(t);

  /* wrapped keys swapped between recipients and re-signed */
  t = json_deep_copy(env);
  json_t *r0 = json_array_get(json_object_get(t, "recipients"), 0);
  json_t *r1 = json_array_get(json_object_get(t, "recipients"), 1);
  json_t *w0 = json_incref(json_object_get(r0, "wrapped_key"));
  json_object_set(r0, "wrapped_key", json_object_get(r1, "wrapped_key"));
  json_object_set_new(r1, "wrapped_key", w0);
  resign(t, &ids[A]);
  assert_int_equal(open_as(t, B1, A, NULL, &err), PARLEY_E_CRYPTO_DECRYPT);
  json_decref(t);

  /* too short to hold a tag; over 1 MiB */
  t = json_deep_copy(env);
  uint8_t small[PARLEY_AEAD_TAG_LEN] = {0};
  set_b64(t, "ciphertext", small, sizeof small);
  update_hash(t);
  resign(t, &ids[A]);
  assert_int_equal(verify_as(t, A, &err), PARLEY_E_ENVELOPE_INVALID);
  json_decref(t);
  t = json_deep_copy(env);
  uint8_t *big = calloc(1, PARLEY_ENVELOPE_MAX_CIPHERTEXT + 1);
  set_b64(t, "ciphertext", big, PARLEY_ENVELOPE_MAX_CIPHERTEXT + 1);
  update_hash(t);
  resign(t, &ids[A]);
  assert_int_equal(verify_as(t, A, &err), PARLEY_E_ENVELOPE_INVALID);
  set_b64(t, "ciphertext", big, PARLEY_ENVELOPE_MAX_CIPHERTEXT); /* exactly 1 MiB passes */
  update_hash(t);
  resign(t, &ids[A]);
  assert_int_equal(verify_as(t, A, &err), PARLEY_E_OK);
  free(big);
  json_decref(t);
  /* not base64url */
  t = json_deep_copy(env);
  json_object_set_new(t, "ciphertext", json_string("abc=def"));
  resign(t, &ids[A]);
  assert_int_equal(verify_as(t, A, &err), PARLEY_E_ENVELOPE_INVALID);
  json_decref(t);
  json_decref(env);
}

static void test_not_recipient(void **state) {
  (void)state;
  json_t *env = seal_default();
  parley_error err;
  json_t *body = (json_t *)1;
  assert_int_equal(parley_envelope_open(env, &ids[D], &ids[A].sign_pk, &body, &err),
                   PARLEY_E_ENVELOPE_NOT_RECIPIENT);
  assert_null(body);
  assert_int_equal(parley_err_status(PARLEY_E_ENVELOPE_NOT_RECIPIENT), 403);
  /* the sender is not a recipient of its own message either (unless it adds itself) */
  assert_int_equal(open_as(env, A, A, NULL, &err), PARLEY_E_ENVELOPE_NOT_RECIPIENT);
  /* D claims B1's entry: its key id is not D's, and D cannot unwrap B1's key */
  json_t *t = json_deep_copy(env);
  char kid[PARLEY_KEY_ID_LEN];
  parley_box_pk_key_id(&ids[D].box_pk, kid);
  json_object_set_new(json_array_get(json_object_get(t, "recipients"), 0), "key_id",
                      json_string(kid));
  resign(t, &ids[A]);
  assert_int_equal(open_as(t, D, A, NULL, &err), PARLEY_E_CRYPTO_DECRYPT);
  json_decref(t);
  json_decref(env);
}

/* ---- the body: forwarding, inner signature, content ------------------------------ */

static void test_raw_seal_matches_spec(void **state) {
  (void)state;
  /* A body and envelope built here from the text of §8 open with the library. */
  char id[PARLEY_UUID_LEN];
  parley_uuid7(id);
  const int to[] = {C, B2};
  json_t *body = make_body(id, "ping", B1, to, 2, "{\"challenge\":\"x1\"}", B1);
  json_t *env = seal_body_json(id, "ping", B1, to, 2, body);
  parley_error err;
  json_t *got = NULL;
  if (open_as(env, C, B1, &got, &err) != PARLEY_E_OK) fail_msg("%s", err.detail);
  assert_true(json_equal(got, body));
  json_decref(got);
  assert_int_equal(open_as(env, B2, B1, NULL, &err), PARLEY_E_OK);
  json_decref(env);
  json_decref(body);
}

static void test_forwarded(void **state) {
  (void)state;
  json_t *env = seal_default();
  parley_error err;
  json_t *inner = NULL;
  assert_int_equal(open_as(env, B1, A, &inner, &err), PARLEY_E_OK);
  const char *orig_id = json_string_value(json_object_get(env, "id"));
  const int to_c[] = {C};

  /* B1 re-seals A's signed body to C in a new envelope of its own */
  char id[PARLEY_UUID_LEN];
  parley_uuid7(id);
  json_t *fwd = seal_body_json(id, "notification", B1, to_c, 1, inner);
  assert_int_equal(verify_as(fwd, B1, &err), PARLEY_E_OK); /* the hub sees a valid envelope */
  assert_int_equal(open_as(fwd, C, B1, NULL, &err), PARLEY_E_ENVELOPE_FORWARDED);
  json_decref(fwd);
  /* even keeping A's message id */
  fwd = seal_body_json(orig_id, "notification", B1, to_c, 1, inner);
  assert_int_equal(open_as(fwd, C, B1, NULL, &err), PARLEY_E_ENVELOPE_FORWARDED);
  assert_non_null(strstr(err.detail, "body.from"));
  json_decref(fwd);
  /* or as if sent by A to C only: the envelope must then be signed by A, which B1 cannot */
  fwd = seal_body_json(orig_id, "notification", A, to_c, 1, inner);
  assert_int_equal(open_as(fwd, C, A, NULL, &err), PARLEY_E_ENVELOPE_FORWARDED);
  assert_non_null(strstr(err.detail, "body.recipients"));
  resign(fwd, &ids[B1]);
  assert_int_equal(open_as(fwd, C, A, NULL, &err), PARLEY_E_ENVELOPE_SIGNATURE);
  json_decref(fwd);
  /* with the same recipients but another id or kind */
  const int all[] = {B1, B2, C};
  fwd = seal_body_json(id, "notification", A, all, 3, inner);
  assert_int_equal(open_as(fwd, C, A, NULL, &err), PARLEY_E_ENVELOPE_FORWARDED);
  assert_non_null(strstr(err.detail, "body.id"));
  json_decref(fwd);
  /* fewer recipients than the body names (a prefix of them) */
  const int only_b1[] = {B1};
  fwd = seal_body_json(orig_id, "notification", A, only_b1, 1, inner);
  assert_int_equal(open_as(fwd, B1, A, NULL, &err), PARLEY_E_ENVELOPE_FORWARDED);
  json_decref(fwd);
  /* more recipients in the header than in the body */
  json_t *few = make_body(orig_id, "notification", A, only_b1, 1, CONTENT, A);
  fwd = seal_body_json(orig_id, "notification", A, all, 3, few);
  assert_int_equal(open_as(fwd, B1, A, NULL, &err), PARLEY_E_ENVELOPE_FORWARDED);
  json_decref(fwd);
  json_decref(few);
  /* the same body under another kind */
  fwd = seal_body_json(orig_id, "ping", A, all, 3, inner);
  assert_int_equal(open_as(fwd, B2, A, NULL, &err), PARLEY_E_ENVELOPE_FORWARDED);
  assert_non_null(strstr(err.detail, "body.kind"));
  json_decref(fwd);
  /* the recipients in another order are other recipients */
  const int reordered[] = {B2, B1, C};
  fwd = seal_body_json(orig_id, "notification", A, reordered, 3, inner);
  assert_int_equal(open_as(fwd, C, A, NULL, &err), PARLEY_E_ENVELOPE_FORWARDED);
  json_decref(fwd);
  json_decref(inner);
  json_decref(env);
}

static void test_inner_signature_and_content(void **state) {
  (void)state;
  char id[PARLEY_UUID_LEN];
  parley_uuid7(id);
  const int to[] = {C};
  parley_error err;
  /* everything bound, but the body signed by someone else */
  json_t *body = make_body(id, "ping", B1, to, 1, "{\"challenge\":\"x\"}", D);
  json_t *env = seal_body_json(id, "ping", B1, to, 1, body);
  assert_int_equal(open_as(env, C, B1, NULL, &err), PARLEY_E_ENVELOPE_INNER_SIGNATURE);
  json_decref(env);
  /* ... or altered after signing */
  json_decref(body);
  body = make_body(id, "ping", B1, to, 1, "{\"challenge\":\"x\"}", B1);
  json_object_set_new(json_object_get(body, "content"), "challenge", json_string("y"));
  env = seal_body_json(id, "ping", B1, to, 1, body);
  assert_int_equal(open_as(env, C, B1, NULL, &err), PARLEY_E_ENVELOPE_INNER_SIGNATURE);
  json_decref(env);
  json_decref(body);
  /* signed, bound, but the content breaks the template */
  body = make_body(id, "ping", B1, to, 1, "{\"challenge\":\"x\",\"extra\":1}", B1);
  env = seal_body_json(id, "ping", B1, to, 1, body);
  assert_int_equal(open_as(env, C, B1, NULL, &err), PARLEY_E_TEMPLATE_FIELD);
  assert_non_null(strstr(err.detail, "content.extra"));
  json_decref(env);
  json_decref(body);
  /* an unknown body member, a bad language */
  body = make_body(id, "ping", B1, to, 1, "{\"challenge\":\"x\"}", B1);
  json_object_set_new(body, "attachments", json_array());
  assert_int_equal(parley_signed_json_sign(body, "inner", &ids[B1].sign_sk, NULL), PARLEY_E_OK);
  env = seal_body_json(id, "ping", B1, to, 1, body);
  assert_int_equal(open_as(env, C, B1, NULL, &err), PARLEY_E_ENVELOPE_INVALID);
  json_decref(env);
  json_object_del(body, "attachments");
  json_object_set_new(body, "language", json_string("Latvian"));
  assert_int_equal(parley_signed_json_sign(body, "inner", &ids[B1].sign_sk, NULL), PARLEY_E_OK);
  env = seal_body_json(id, "ping", B1, to, 1, body);
  assert_int_equal(open_as(env, C, B1, NULL, &err), PARLEY_E_ENVELOPE_INVALID);
  json_decref(env);
  json_decref(body);
  /* a plaintext that is not JSON, or not an object */
  const char *junk[] = {"not json", "[1,2]", "{\"a\":1,\"a\":2}"};
  for (size_t i = 0; i < 3; i++) {
    env = seal_raw(id, "ping", B1, to, 1, (const uint8_t *)junk[i], strlen(junk[i]));
    assert_int_equal(open_as(env, C, B1, NULL, &err), PARLEY_E_ENVELOPE_INVALID);
    json_decref(env);
  }
}

/* ---- sealing refuses before encrypting -------------------------------------------- */

static void test_seal_refuses(void **state) {
  (void)state;
  parley_envelope_recipient rs[PARLEY_MAX_RECIPIENTS + 1];
  for (size_t i = 0; i < PARLEY_MAX_RECIPIENTS + 1; i++) {
    parley_identity x;
    parley_identity_generate(&x);
    rs[i] = (parley_envelope_recipient){.state = "FIN", .poc = "fin-cert", .box_pk = x.box_pk};
  }
  parley_envelope_params p = {.kind = "ping",
                              .from_state = "EST",
                              .from_poc = "est-cert",
                              .language = "en",
                              .n_recipients = 1,
                              .recipients = rs};
  json_t *good = J("{\"challenge\":\"x\"}");
  json_t *bad = J("{\"challenge\":\"\"}");
  json_t *env = (json_t *)1;
  parley_error err;
  assert_int_equal(parley_envelope_seal(&p, bad, &ids[A], &env, &err), PARLEY_E_TEMPLATE_FIELD);
  assert_null(env);
  assert_non_null(strstr(err.detail, "content.challenge"));
  p.kind = "telegram";
  assert_int_equal(parley_envelope_seal(&p, good, &ids[A], &env, &err), PARLEY_E_TEMPLATE_UNKNOWN);
  p.kind = "ping";
  assert_int_equal(parley_envelope_seal(&p, good, &ids[A], &env, &err), PARLEY_E_OK);
  json_decref(env);

  struct {
    parley_envelope_params p;
    const char *detail;
  } cases[] = {
      {p, "recipients"},    {p, "recipients"},
      {p, "recipients[1]"}, {p, "language"},
      {p, "from_state"},    {p, "from_poc"},
      {p, "case"},          {p, "in_reply_to"},
      {p, "tlp"},           {p, "recipients[0].state"},
  };
  cases[0].p.n_recipients = 0;
  cases[1].p.n_recipients = PARLEY_MAX_RECIPIENTS + 1;
  parley_envelope_recipient dup[2] = {rs[0], rs[0]};
  dup[1].poc = "other";
  cases[2].p.n_recipients = 2;
  cases[2].p.recipients = dup;
  cases[3].p.language = "EN";
  cases[4].p.from_state = "Estonia";
  cases[5].p.from_poc = "EST CERT";
  cases[6].p.case_id = "not-a-uuid";
  cases[7].p.in_reply_to = "01936F3A-7B2C-7D4E-8F01-23456789ABCD";
  cases[8].p.tlp = (parley_tlp)7;
  parley_envelope_recipient badstate = rs[0];
  badstate.state = "FI";
  cases[9].p.recipients = &badstate;
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    env = (json_t *)1;
    parley_err e = parley_envelope_seal(&cases[i].p, good, &ids[A], &env, &err);
    if (e != PARLEY_E_ENVELOPE_INVALID || !strstr(err.detail, cases[i].detail))
      fail_msg("case %zu: %s (%s)", i, parley_err_name(e), err.detail);
    assert_null(env);
  }
  /* 32 recipients is the maximum, and works */
  p.n_recipients = PARLEY_MAX_RECIPIENTS;
  assert_int_equal(parley_envelope_seal(&p, good, &ids[A], &env, &err), PARLEY_E_OK);
  assert_int_equal(json_array_size(json_object_get(env, "recipients")), PARLEY_MAX_RECIPIENTS);
  assert_int_equal(verify_as(env, A, &err), PARLEY_E_OK);
  json_decref(env);
  /* a degenerate (small-order) recipient key cannot be wrapped for */
  parley_envelope_recipient zero = rs[0];
  memset(zero.box_pk.b, 0, sizeof zero.box_pk.b);
  p.n_recipients = 1;
  p.recipients = &zero;
  assert_int_equal(parley_envelope_seal(&p, good, &ids[A], &env, &err), PARLEY_E_ENVELOPE_INVALID);
  assert_null(env);
  json_decref(good);
  json_decref(bad);
}

/* ---- acknowledgements ------------------------------------------------------------- */

static void test_ack(void **state) {
  (void)state;
  json_t *env = seal_default();
  parley_envelope_info ei;
  parley_error err;
  assert_int_equal(parley_envelope_verify(env, &ids[A].sign_pk, &ei, &err), PARLEY_E_OK);
  json_t *ack = NULL;
  assert_int_equal(
      parley_ack_new(ei.id, &ei.hash, "LVA", "lva-cert", 1795000600, &ids[B1], &ack, &err),
      PARLEY_E_OK);
  assert_int_equal(json_object_size(ack), 8);
  assert_string_equal(json_string_value(json_object_get(ack, "format")), "parley-ack-v1");
  assert_string_equal(json_string_value(json_object_get(ack, "time")), "2026-11-18T11:16:40Z");
  parley_ack_info ai;
  assert_int_equal(parley_ack_verify(ack, &ids[B1].sign_pk, &ai, &err), PARLEY_E_OK);
  assert_string_equal(ai.message, ei.id);
  assert_memory_equal(ai.envelope_sha256.b, ei.hash.b, 32);
  assert_string_equal(ai.state, "LVA");
  assert_string_equal(ai.poc, "lva-cert");
  assert_int_equal(ai.time, 1795000600);
  char kid[PARLEY_KEY_ID_LEN];
  parley_sign_pk_key_id(&ids[B1].sign_pk, kid);
  assert_string_equal(ai.key_id, kid);
  parley_buf b;
  parley_buf_init(&b, 4096);
  assert_int_equal(parley_jcs(ack, &b, NULL), PARLEY_E_OK);
  parley_hash h;
  parley_sha256(b.data, b.len, &h);
  assert_memory_equal(h.b, ai.hash.b, 32);
  parley_buf_free(&b);

  /* the signature is checked with purpose "ack", over every member */
  json_t *t = json_deep_copy(ack);
  json_object_del(t, "signature");
  assert_int_equal(parley_signed_json_sign(t, "ack", &ids[B1].sign_sk, NULL), PARLEY_E_OK);
  assert_true(json_equal(t, ack)); /* Ed25519 is deterministic */
  json_decref(t);
  const char *members[] = {"message", "envelope_sha256", "state", "poc", "time"};
  const char *values[] = {"01936f3a-7b2c-7d4e-8f01-23456789abcd",
                          "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "LTU", "lva-police",
                          "2026-11-18T11:16:41Z"};
  for (size_t i = 0; i < 5; i++) {
    t = json_deep_copy(ack);
    json_object_set_new(t, members[i], json_string(values[i]));
    if (parley_ack_verify(t, &ids[B1].sign_pk, NULL, &err) != PARLEY_E_ACK_SIGNATURE)
      fail_msg("%s: %s", members[i], err.detail);
    json_decref(t);
  }
  /* another key */
  assert_int_equal(parley_ack_verify(ack, &ids[C].sign_pk, NULL, &err), PARLEY_E_ACK_SIGNATURE);
  t = json_deep_copy(ack);
  parley_sign_pk_key_id(&ids[C].sign_pk, kid);
  json_object_set_new(t, "key_id", json_string(kid));
  assert_int_equal(parley_ack_verify(t, &ids[C].sign_pk, NULL, &err), PARLEY_E_ACK_SIGNATURE);
  json_decref(t);
  /* an envelope signature is not an ack signature */
  t = json_deep_copy(ack);
  json_object_del(t, "signature");
  assert_int_equal(parley_signed_json_sign(t, "envelope", &ids[B1].sign_sk, NULL), PARLEY_E_OK);
  assert_int_equal(parley_ack_verify(t, &ids[B1].sign_pk, NULL, &err), PARLEY_E_ACK_SIGNATURE);
  json_decref(t);
  /* shape */
  t = json_deep_copy(ack);
  json_object_set_new(t, "comment", json_string("seen"));
  assert_int_equal(parley_ack_verify(t, &ids[B1].sign_pk, NULL, &err), PARLEY_E_ACK_INVALID);
  assert_non_null(strstr(err.detail, "comment"));
  json_decref(t);
  t = json_deep_copy(ack);
  json_object_del(t, "time");
  assert_int_equal(parley_ack_verify(t, &ids[B1].sign_pk, NULL, &err), PARLEY_E_ACK_INVALID);
  assert_non_null(strstr(err.detail, "time"));
  json_decref(t);
  t = json_deep_copy(ack);
  json_object_set_new(t, "format", json_string("parley-ack-v0"));
  assert_int_equal(parley_ack_verify(t, &ids[B1].sign_pk, NULL, &err), PARLEY_E_ACK_INVALID);
  json_decref(t);
  t = json_deep_copy(ack);
  json_object_set_new(t, "envelope_sha256", json_string("AAAA"));
  assert_int_equal(parley_ack_verify(t, &ids[B1].sign_pk, NULL, &err), PARLEY_E_ACK_INVALID);
  json_decref(t);
  t = json_string("ack");
  assert_int_equal(parley_ack_verify(t, &ids[B1].sign_pk, NULL, &err), PARLEY_E_ACK_INVALID);
  json_decref(t);
  /* bad arguments to new */
  assert_int_equal(parley_ack_new("nope", &ei.hash, "LVA", "lva-cert", 0, &ids[B1], &t, &err),
                   PARLEY_E_INVALID_ARGUMENT);
  assert_null(t);
  assert_int_equal(parley_ack_new(ei.id, &ei.hash, "lv", "lva-cert", 0, &ids[B1], &t, &err),
                   PARLEY_E_INVALID_ARGUMENT);
  assert_int_equal(parley_ack_new(ei.id, &ei.hash, "LVA", "LVA CERT", 0, &ids[B1], &t, &err),
                   PARLEY_E_INVALID_ARGUMENT);
  json_decref(ack);
  json_decref(env);
}

/* ---- the legal basis (§8.6) ----------------------------------------------------- */

static const char *PRESERVATION =
    "{\"requesting_authority\":\"Prosecutor\",\"offences\":[\"illegal-access\"],\"facts\":\"F\","
    "\"data_to_preserve\":\"logs\",\"relationship_to_offence\":\"C2\",\"custodian_or_location\":"
    "\"Host\",\"necessity\":\"Volatile\",\"mutual_assistance_intended\":true,\"status\":\"new\","
    "\"preservation_days\":90}";

static parley_err seal_basis(const char *instrument, const char *article, json_t **env,
                             parley_error *err) {
  parley_envelope_recipient rs[1] = {rcpt(B1)};
  parley_envelope_params p = {.kind = "preservation-request",
                              .priority = PARLEY_PRIORITY_URGENT,
                              .tlp = PARLEY_TLP_AMBER,
                              .basis_instrument = instrument,
                              .basis_article = article,
                              .from_state = "EST",
                              .from_poc = "est-cert",
                              .language = "en",
                              .n_recipients = 1,
                              .recipients = rs};
  json_t *content = J(PRESERVATION);
  parley_err e = parley_envelope_seal(&p, content, &ids[A], env, err);
  json_decref(content);
  return e;
}

static void test_legal_basis(void **state) {
  (void)state;
  json_t *env = NULL;
  parley_error err;
  parley_envelope_info info;
  assert_int_equal(seal_basis("un-cybercrime-2024", "42", &env, &err), PARLEY_E_OK);
  json_t *b = json_object_get(env, "legal_basis");
  assert_string_equal(json_string_value(json_object_get(b, "instrument")), "un-cybercrime-2024");
  assert_string_equal(json_string_value(json_object_get(b, "article")), "42");
  assert_int_equal(parley_envelope_verify(env, &ids[A].sign_pk, &info, &err), PARLEY_E_OK);
  assert_string_equal(info.basis_instrument, "un-cybercrime-2024");
  assert_string_equal(info.basis_article, "42");
  json_t *body = NULL;
  assert_int_equal(parley_envelope_open(env, &ids[B1], &ids[A].sign_pk, &body, &err), PARLEY_E_OK);
  json_decref(body);

  /* covered by the outer signature: changed or removed, the header no longer verifies */
  json_t *t = json_deep_copy(env);
  json_object_set_new(json_object_get(t, "legal_basis"), "article", json_string("29"));
  json_object_set_new(json_object_get(t, "legal_basis"), "instrument",
                      json_string("budapest-2001"));
  assert_int_equal(verify_as(t, A, &err), PARLEY_E_ENVELOPE_SIGNATURE);
  /* and by the AEAD's associated data: re-signed by the sender, it no longer opens */
  resign(t, &ids[A]);
  assert_int_equal(verify_as(t, A, &err), PARLEY_E_OK);
  assert_int_equal(parley_envelope_open(t, &ids[B1], &ids[A].sign_pk, &body, &err),
                   PARLEY_E_ENVELOPE_CIPHERTEXT);
  json_decref(t);
  t = json_deep_copy(env);
  json_object_del(t, "legal_basis");
  assert_int_equal(verify_as(t, A, &err), PARLEY_E_ENVELOPE_SIGNATURE);
  resign(t, &ids[A]);
  assert_int_equal(parley_envelope_open(t, &ids[B1], &ids[A].sign_pk, &body, &err),
                   PARLEY_E_ENVELOPE_CIPHERTEXT);
  json_decref(t);

  /* the hub's check: a pair the template does not list, or a malformed one */
  const char *bad[][2] = {{"un-cybercrime-2024", "44"}, {"budapest-2001", "30"},
                          {"Budapest", "29"},           {"budapest-2001", "29 (2)"},
                          {"budapest-2001", ""},        {"x", "123456789012345678901234567890123"}};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    t = json_deep_copy(env);
    json_object_set_new(t, "legal_basis",
                        json_pack("{s:s,s:s}", "instrument", bad[i][0], "article", bad[i][1]));
    resign(t, &ids[A]);
    if (verify_as(t, A, &err) != PARLEY_E_LEGAL_BASIS) fail_msg("%s:%s", bad[i][0], bad[i][1]);
    json_decref(t);
    json_t *e2 = NULL;
    if (seal_basis(bad[i][0], bad[i][1], &e2, &err) != PARLEY_E_LEGAL_BASIS)
      fail_msg("seal %s:%s", bad[i][0], bad[i][1]);
    assert_null(e2);
  }
  /* shape: unknown member, not an object, one half only */
  t = json_deep_copy(env);
  json_object_set_new(json_object_get(t, "legal_basis"), "paragraph", json_string("2"));
  resign(t, &ids[A]);
  assert_int_equal(verify_as(t, A, &err), PARLEY_E_ENVELOPE_INVALID);
  json_decref(t);
  t = json_deep_copy(env);
  json_object_set_new(t, "legal_basis", json_string("un-cybercrime-2024:42"));
  resign(t, &ids[A]);
  assert_int_not_equal(verify_as(t, A, &err), PARLEY_E_OK);
  json_decref(t);
  json_t *e2 = NULL;
  assert_int_equal(seal_basis("budapest-2001", NULL, &e2, &err), PARLEY_E_LEGAL_BASIS);
  /* a kind without bases (notification) takes none; a wildcard article is any article */
  t = seal_default();
  json_object_set_new(t, "legal_basis",
                      json_pack("{s:s,s:s}", "instrument", "bilateral", "article", "3"));
  resign(t, &ids[A]);
  assert_int_equal(verify_as(t, A, &err), PARLEY_E_LEGAL_BASIS);
  json_decref(t);
  assert_int_equal(seal_basis("bilateral", "7(1)", &e2, &err), PARLEY_E_OK);
  json_decref(e2);
  /* absent when not given, never null */
  t = seal_default();
  assert_null(json_object_get(t, "legal_basis"));
  json_decref(t);
  json_decref(env);
}

/* A status update carries its status in the signed header too (§8.1): the hub checks
 * it against the template's choices; a recipient checks it against the body. */
static void test_header_status(void **state) {
  (void)state;
  parley_envelope_recipient rs[1] = {rcpt(C)};
  parley_envelope_params p = {.kind = "status-update",
                              .in_reply_to = REPLY_ID,
                              .from_state = "EST",
                              .from_poc = "est-cert",
                              .language = "en",
                              .n_recipients = 1,
                              .recipients = rs};
  json_t *content = J("{\"request\":\"" REPLY_ID "\",\"status\":\"refused\","
                      "\"refusal_ground\":\"Art. 27(4)(a)\"}");
  json_t *env = NULL;
  parley_error err;
  assert_int_equal(parley_envelope_seal(&p, content, &ids[A], &env, &err), PARLEY_E_OK);
  assert_string_equal(json_string_value(json_object_get(env, "status")), "refused");
  parley_envelope_info info;
  assert_int_equal(parley_envelope_verify(env, &ids[A].sign_pk, &info, &err), PARLEY_E_OK);
  assert_string_equal(info.status, "refused");
  assert_int_equal(open_as(env, C, A, NULL, &err), PARLEY_E_OK);
  /* a status outside the template's list, or none, is refused by the hub's check */
  json_object_set_new(env, "status", json_string("done"));
  resign(env, &ids[A]);
  assert_int_equal(verify_as(env, A, &err), PARLEY_E_ENVELOPE_INVALID);
  assert_non_null(strstr(err.detail, "status: must be one of"));
  json_object_del(env, "status");
  resign(env, &ids[A]);
  assert_int_equal(verify_as(env, A, &err), PARLEY_E_ENVELOPE_INVALID);
  assert_non_null(strstr(err.detail, "status: required in the header"));
  json_decref(env);
  /* no status on a kind whose template has no header status */
  env = seal_default();
  json_object_set_new(env, "status", json_string("executed"));
  resign(env, &ids[A]);
  assert_int_equal(verify_as(env, A, &err), PARLEY_E_ENVELOPE_INVALID);
  json_decref(env);
  /* a header that says executed around a body that says refused: the hub cannot tell,
   * the recipient refuses it */
  char id[PARLEY_UUID_LEN];
  parley_uuid7(id);
  const int to_c[] = {C};
  char *text = json_dumps(content, 0);
  json_t *body = make_body(id, "status-update", A, to_c, 1, text, A);
  free(text);
  raw_extra = json_pack("{s:s,s:s}", "status", "executed", "in_reply_to", REPLY_ID);
  env = seal_body_json(id, "status-update", A, to_c, 1, body);
  json_decref(raw_extra);
  raw_extra = NULL;
  assert_int_equal(verify_as(env, A, &err), PARLEY_E_OK);
  assert_int_equal(open_as(env, C, A, NULL, &err), PARLEY_E_ENVELOPE_INVALID);
  assert_non_null(strstr(err.detail, "body.content.status: differs from the signed header"));
  json_decref(env);
  json_decref(body);
  json_decref(content);
}

/* The recipient entry shared by envelopes, evidence manifests and shared custody events:
 * built and wrapped, it parses back (with either code) and unwraps to the content key;
 * a stray member, a malformed poc and an unusable key are refused. */
static void test_recipient_entry(void **state) {
  (void)state;
  parley_content_key key, back;
  for (size_t i = 0; i < sizeof key.b; i++)
    key.b[i] = (uint8_t)(3 * i + 1);
  json_t *e = parley_recipient_entry("LVA", "lva-cert", &ids[B1].box_pk);
  assert_non_null(e);
  assert_int_equal(parley_recipient_wrap(e, &key, &ids[B1].box_pk), PARLEY_E_OK);
  char kid[PARLEY_KEY_ID_LEN];
  parley_box_pk_key_id(&ids[B1].box_pk, kid);
  assert_string_equal(json_string_value(json_object_get(e, "key_id")), kid);
  assert_int_equal(json_object_size(e), 4);
  parley_envelope_party p;
  uint8_t w[PARLEY_WRAPPED_KEY_LEN];
  parley_error err;
  assert_int_equal(parley_party_parse(e, "r", PARLEY_E_EVIDENCE_INVALID, &p, w, &err), PARLEY_E_OK);
  assert_string_equal(p.state, "LVA");
  assert_string_equal(p.poc, "lva-cert");
  assert_string_equal(p.key_id, kid);
  assert_int_equal(parley_unwrap_key(w, &ids[B1].box_pk, &ids[B1].box_sk, &back), PARLEY_E_OK);
  assert_memory_equal(back.b, key.b, sizeof key.b);
  assert_int_equal(parley_unwrap_key(w, &ids[C].box_pk, &ids[C].box_sk, &back),
                   PARLEY_E_CRYPTO_DECRYPT);
  /* without wrapped_key expected, the wrapped key is a stray member */
  assert_int_equal(parley_party_parse(e, "from", PARLEY_E_ENVELOPE_INVALID, &p, NULL, &err),
                   PARLEY_E_ENVELOPE_INVALID);
  assert_non_null(strstr(err.detail, "from: unknown member 'wrapped_key'"));
  json_object_set_new(e, "poc", json_string("LVA-CERT"));
  assert_int_equal(parley_party_parse(e, "r", PARLEY_E_EVIDENCE_INVALID, &p, w, &err),
                   PARLEY_E_EVIDENCE_INVALID);
  assert_non_null(strstr(err.detail, "r.poc"));
  json_decref(e);
  parley_box_pk zero;
  memset(zero.b, 0, sizeof zero.b); /* small order: no usable key */
  e = parley_recipient_entry("LVA", "lva-cert", &zero);
  assert_int_equal(parley_recipient_wrap(e, &key, &zero), PARLEY_E_CRYPTO_BAD_KEY);
  assert_null(json_object_get(e, "wrapped_key"));
  json_decref(e);
}

int main(void) {
  if (!parley_init()) return 1;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_seal_verify_open), cmocka_unit_test(test_optional_members_absent),
      cmocka_unit_test(test_tampered_header),  cmocka_unit_test(test_shape),
      cmocka_unit_test(test_recipient_bounds), cmocka_unit_test(test_tampered_ciphertext),
      cmocka_unit_test(test_not_recipient),    cmocka_unit_test(test_raw_seal_matches_spec),
      cmocka_unit_test(test_forwarded),        cmocka_unit_test(test_inner_signature_and_content),
      cmocka_unit_test(test_seal_refuses),     cmocka_unit_test(test_ack),
      cmocka_unit_test(test_legal_basis),      cmocka_unit_test(test_header_status),
      cmocka_unit_test(test_recipient_entry),
  };
  return cmocka_run_group_tests(tests, setup, NULL);
}
