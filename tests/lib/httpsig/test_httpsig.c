/* Tests for the httpsig module: RFC 9421 B.2.6, our own sign/verify, the policy,
 * malformed headers, derived components, RFC 9530 Content-Digest, and the RFC 8941
 * parser underneath. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "httpsig/sf.h"
#include "parley/httpsig.h"

#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- a request view backed by a small header table ------------------------ */

#define MAX_HDR 16
typedef struct {
  const char *name[MAX_HDR];
  const char *value[MAX_HDR];
  size_t n;
} headers;

static const char *lookup(void *ctx, const char *lowercase_name) {
  headers *h = ctx;
  for (size_t i = 0; i < h->n; i++)
    if (strcasecmp(h->name[i], lowercase_name) == 0) return h->value[i];
  return NULL;
}

static void set_header(headers *h, const char *name, const char *value) {
  for (size_t i = 0; i < h->n; i++)
    if (strcasecmp(h->name[i], name) == 0) {
      h->value[i] = value;
      return;
    }
  assert_true(h->n < MAX_HDR);
  h->name[h->n] = name;
  h->value[h->n++] = value;
}

static void del_header(headers *h, const char *name) {
  for (size_t i = 0; i < h->n; i++)
    if (strcasecmp(h->name[i], name) == 0) {
      h->name[i] = h->name[h->n - 1];
      h->value[i] = h->value[h->n - 1];
      h->n--;
      return;
    }
}

static parley_httpsig_request make_req(headers *h, const char *method, const char *uri,
                                       const char *authority, const char *path, const char *query) {
  parley_httpsig_request r = {method, uri, authority, path, query, lookup, h};
  return r;
}

static char *base_of(const parley_httpsig_request *req, const parley_httpsig_params *p,
                     parley_err *rc, parley_error *err) {
  parley_buf b;
  parley_buf_init(&b, PARLEY_HTTPSIG_BASE_MAX);
  *rc = parley_httpsig_base(req, p, &b, err);
  if (*rc) {
    parley_buf_free(&b);
    return NULL;
  }
  return parley_buf_steal(&b, NULL);
}

/* ---- RFC 9421 Appendix B.2.6 ---------------------------------------------- */

typedef struct {
  json_t *root;
  headers h;
  parley_httpsig_request req;
  uint8_t pk[32], sk[64];
} b26;

static const char *jstr(json_t *o, const char *key) {
  const char *s = json_string_value(json_object_get(o, key));
  assert_non_null(s);
  return s;
}

static int b26_setup(void **state) {
  const char *dir = getenv("PARLEY_TESTDATA");
  assert_non_null(dir);
  char path[1024];
  int w = snprintf(path, sizeof path, "%s/rfc9421-b26.json", dir);
  assert_true(w > 0 && (size_t)w < sizeof path);
  json_error_t jerr;
  b26 *t = calloc(1, sizeof *t);
  assert_non_null(t);
  t->root = json_load_file(path, 0, &jerr);
  if (!t->root) fail_msg("%s: %s", path, jerr.text);
  json_t *rq = json_object_get(t->root, "request");
  json_t *hdrs = json_object_get(rq, "headers");
  const char *k;
  json_t *v;
  json_object_foreach(hdrs, k, v) set_header(&t->h, k, json_string_value(v));
  set_header(&t->h, "Signature-Input", jstr(t->root, "signature_input_header"));
  set_header(&t->h, "Signature", jstr(t->root, "signature_header"));
  /* B.2.6 covers no @target-uri; give the URI the rest of the request implies. */
  static char uri[512];
  w = snprintf(uri, sizeof uri, "https://%s%s%s", jstr(rq, "authority"), jstr(rq, "path"),
               jstr(rq, "query"));
  assert_true(w > 0 && (size_t)w < sizeof uri);
  t->req = make_req(&t->h, jstr(rq, "method"), uri, jstr(rq, "authority"), jstr(rq, "path"),
                    jstr(rq, "query"));

  uint8_t seed[32];
  size_t n = 0;
  const char *seed_hex = jstr(t->root, "private_seed_hex");
  assert_int_equal(parley_hex_decode(seed_hex, strlen(seed_hex), seed, sizeof seed, &n), 0);
  assert_int_equal(n, 32);
  assert_int_equal(crypto_sign_seed_keypair(t->pk, t->sk, seed), 0);
  uint8_t pk_want[32];
  const char *pk_hex = jstr(t->root, "public_key_hex");
  assert_int_equal(parley_hex_decode(pk_hex, strlen(pk_hex), pk_want, 32, &n), 0);
  assert_memory_equal(t->pk, pk_want, 32);
  sodium_memzero(seed, sizeof seed);
  *state = t;
  return 0;
}

static int b26_teardown(void **state) {
  b26 *t = *state;
  json_decref(t->root);
  sodium_memzero(t->sk, sizeof t->sk);
  free(t);
  return 0;
}

static void test_b26_parse_base_sign_verify(void **state) {
  b26 *t = *state;
  parley_httpsig_params p;
  parley_error err = {0};
  /* Without a label only "parley" is taken: B.2.6 signs under "sig-b26". */
  assert_int_equal(parley_httpsig_parse_request(&t->req, NULL, &p, &err), PARLEY_E_AUTH_LABEL);
  assert_int_equal(parley_httpsig_parse_request(&t->req, "sig-b26", &p, &err), PARLEY_E_OK);
  assert_string_equal(p.label, "sig-b26");
  assert_int_equal(p.n_components, 6);
  assert_string_equal(p.components[0], "date");
  assert_string_equal(p.components[5], "content-length");
  assert_int_equal(p.created, 1618884473);
  assert_string_equal(p.keyid, "test-key-ed25519");
  assert_false(p.has_nonce);
  assert_false(p.has_alg);

  parley_err rc;
  char *base = base_of(&t->req, &p, &rc, &err);
  assert_int_equal(rc, PARLEY_E_OK);
  assert_string_equal(base, jstr(t->root, "signature_base"));

  /* Ed25519 is deterministic: signing the base must give the RFC's signature. */
  uint8_t sig[64];
  crypto_sign_detached(sig, NULL, (const uint8_t *)base, strlen(base), t->sk);
  char b64[128], hdr[160];
  assert_int_equal(parley_b64_encode(sig, 64, b64, sizeof b64), 0);
  int w = snprintf(hdr, sizeof hdr, "sig-b26=:%s:", b64);
  assert_true(w > 0 && (size_t)w < sizeof hdr);
  assert_string_equal(hdr, jstr(t->root, "signature_header"));
  assert_memory_equal(sig, p.signature, 64);
  free(base);

  assert_int_equal(parley_httpsig_verify(&t->req, &p, t->pk, &err), PARLEY_E_OK);
  /* Chosen explicitly by label too; a label that is not there is refused. */
  assert_int_equal(parley_httpsig_parse_request(&t->req, "sig-b26", &p, &err), PARLEY_E_OK);
  assert_int_equal(parley_httpsig_parse_request(&t->req, "parley", &p, &err), PARLEY_E_AUTH_LABEL);
}

static void expect_bad_sig(b26 *t, parley_httpsig_request *req) {
  parley_httpsig_params p;
  parley_error err = {0};
  assert_int_equal(parley_httpsig_parse_request(req, "sig-b26", &p, &err), PARLEY_E_OK);
  assert_int_equal(parley_httpsig_verify(req, &p, t->pk, &err), PARLEY_E_AUTH_BAD_SIGNATURE);
  assert_int_equal(err.code, PARLEY_E_AUTH_BAD_SIGNATURE);
}

static void test_b26_tampered(void **state) {
  b26 *t = *state;
  parley_httpsig_request r = t->req;
  r.method = "PUT";
  expect_bad_sig(t, &r);
  r = t->req;
  r.path = "/foo2";
  expect_bad_sig(t, &r);
  r = t->req;
  r.authority = "example.org";
  expect_bad_sig(t, &r);

  headers h2 = t->h;
  r = t->req;
  r.ctx = &h2;
  set_header(&h2, "Date", "Tue, 20 Apr 2021 02:07:56 GMT");
  expect_bad_sig(t, &r);
  h2 = t->h;
  set_header(&h2, "Content-Length", "19");
  expect_bad_sig(t, &r);
  /* The parameters themselves are signed. */
  h2 = t->h;
  set_header(&h2, "Signature-Input",
             "sig-b26=(\"date\" \"@method\" \"@path\" \"@authority\" \"content-type\" "
             "\"content-length\");created=1618884474;keyid=\"test-key-ed25519\"");
  expect_bad_sig(t, &r);
  /* One bit of the signature. */
  h2 = t->h;
  set_header(&h2, "Signature",
             "sig-b26=:wqcAqbmYJ2ji2glfAMaRy4gruYYnx2nEFN2HN6jrnDnQCK1u02Gb04v9EDgwUPiu4A0w6vuQv5"
             "lIp5WPpBKRCg==:");
  expect_bad_sig(t, &r);
  /* A covered field that vanished. */
  h2 = t->h;
  del_header(&h2, "content-type");
  parley_httpsig_params p;
  parley_error err = {0};
  assert_int_equal(parley_httpsig_parse_request(&r, "sig-b26", &p, &err), PARLEY_E_OK);
  assert_int_equal(parley_httpsig_verify(&r, &p, t->pk, &err), PARLEY_E_AUTH_MALFORMED);
  assert_non_null(strstr(err.detail, "content-type not in request"));
  /* The other key. */
  uint8_t pk2[32], sk2[64];
  crypto_sign_keypair(pk2, sk2);
  assert_int_equal(parley_httpsig_parse_request(&t->req, "sig-b26", &p, &err), PARLEY_E_OK);
  assert_int_equal(parley_httpsig_verify(&t->req, &p, pk2, &err), PARLEY_E_AUTH_BAD_SIGNATURE);
  /* B.2.6 does not meet our policy: no @target-uri, no nonce. */
  assert_int_equal(parley_httpsig_check_policy(&p, 1618884473, 300, false, &err),
                   PARLEY_E_AUTH_COMPONENTS);
}

/* ---- our own requests ----------------------------------------------------- */

static const char *const our_components[] = {"@method", "@target-uri", "content-digest"};
static const char body[] = "{\"hello\": \"world\"}";

typedef struct {
  headers h;
  parley_httpsig_request req;
  char digest[PARLEY_CONTENT_DIGEST_LEN];
  char *si, *sig;
  uint8_t pk[32], sk[64];
} ours;

static void ours_init(ours *o) {
  memset(o, 0, sizeof *o);
  crypto_sign_keypair(o->pk, o->sk);
  parley_content_digest_header((const uint8_t *)body, strlen(body), o->digest);
  set_header(&o->h, "Content-Type", "application/json");
  set_header(&o->h, "Content-Digest", o->digest);
  o->req = make_req(&o->h, "POST", "https://hub.example.org/v1/messages?x=1", "hub.example.org",
                    "/v1/messages", "?x=1");
}

static void ours_sign(ours *o, int64_t created, const char *nonce) {
  parley_error err = {0};
  assert_int_equal(parley_httpsig_sign(&o->req, our_components, 3, "key-1", o->sk, created, nonce,
                                       &o->si, &o->sig, &err),
                   PARLEY_E_OK);
  set_header(&o->h, "Signature-Input", o->si);
  set_header(&o->h, "Signature", o->sig);
}

static void ours_free(ours *o) {
  free(o->si);
  free(o->sig);
  sodium_memzero(o->sk, sizeof o->sk);
}

static void test_roundtrip(void **state) {
  (void)state;
  ours o;
  ours_init(&o);
  ours_sign(&o, 1700000000, "0123456789abcdef-nonce");
  assert_string_equal(o.si, "parley=(\"@method\" \"@target-uri\" \"content-digest\");"
                            "created=1700000000;keyid=\"key-1\";nonce=\"0123456789abcdef-nonce\";"
                            "alg=\"ed25519\"");
  assert_int_equal(strncmp(o.sig, "parley=:", 8), 0);
  assert_int_equal(strlen(o.sig), 8 + 88 + 1);

  parley_httpsig_params p;
  parley_error err = {0};
  assert_int_equal(parley_httpsig_parse_request(&o.req, NULL, &p, &err), PARLEY_E_OK);
  assert_string_equal(p.label, "parley");
  assert_string_equal(p.keyid, "key-1");
  assert_true(p.has_nonce);
  assert_string_equal(p.nonce, "0123456789abcdef-nonce");
  assert_true(p.has_alg);
  assert_int_equal(parley_httpsig_check_policy(&p, 1700000000, 300, true, &err), PARLEY_E_OK);
  assert_int_equal(parley_httpsig_verify(&o.req, &p, o.pk, &err), PARLEY_E_OK);
  assert_int_equal(parley_content_digest_check(lookup(&o.h, "content-digest"),
                                               (const uint8_t *)body, strlen(body), &err),
                   PARLEY_E_OK);

  /* The base we signed, line by line. */
  parley_err rc;
  char *base = base_of(&o.req, &p, &rc, &err);
  assert_int_equal(rc, PARLEY_E_OK);
  char want[1024];
  int w = snprintf(want, sizeof want,
                   "\"@method\": POST\n\"@target-uri\": https://hub.example.org/v1/messages?x=1\n"
                   "\"content-digest\": %s\n\"@signature-params\": %s",
                   o.digest, o.si + strlen("parley="));
  assert_true(w > 0 && (size_t)w < sizeof want);
  assert_string_equal(base, want);
  free(base);

  /* Another URI, method, digest or key does not verify. */
  parley_httpsig_request r = o.req;
  r.target_uri = "https://hub.example.org/v1/messages?x=2";
  assert_int_equal(parley_httpsig_verify(&r, &p, o.pk, &err), PARLEY_E_AUTH_BAD_SIGNATURE);
  r = o.req;
  r.method = "PUT";
  assert_int_equal(parley_httpsig_verify(&r, &p, o.pk, &err), PARLEY_E_AUTH_BAD_SIGNATURE);
  char other[PARLEY_CONTENT_DIGEST_LEN];
  parley_content_digest_header((const uint8_t *)"{}", 2, other);
  set_header(&o.h, "Content-Digest", other);
  assert_int_equal(parley_httpsig_verify(&o.req, &p, o.pk, &err), PARLEY_E_AUTH_BAD_SIGNATURE);
  set_header(&o.h, "Content-Digest", o.digest);
  uint8_t pk2[32], sk2[64];
  crypto_sign_keypair(pk2, sk2);
  assert_int_equal(parley_httpsig_verify(&o.req, &p, pk2, &err), PARLEY_E_AUTH_BAD_SIGNATURE);
  /* The body that does not match its digest. */
  assert_int_equal(parley_content_digest_check(o.digest, (const uint8_t *)"{}", 2, &err),
                   PARLEY_E_AUTH_DIGEST_MISMATCH);
  ours_free(&o);
}

static void test_random_nonce(void **state) {
  (void)state;
  ours a, b;
  ours_init(&a);
  ours_init(&b);
  ours_sign(&a, 1700000000, NULL);
  b.req.ctx = &b.h;
  ours_sign(&b, 1700000000, NULL);
  parley_httpsig_params pa, pb;
  parley_error err = {0};
  a.req.ctx = &a.h;
  assert_int_equal(parley_httpsig_parse_request(&a.req, NULL, &pa, &err), PARLEY_E_OK);
  assert_int_equal(parley_httpsig_parse_request(&b.req, NULL, &pb, &err), PARLEY_E_OK);
  assert_int_equal(strlen(pa.nonce), 32); /* 24 bytes in base64url */
  assert_string_not_equal(pa.nonce, pb.nonce);
  assert_int_equal(parley_httpsig_verify(&a.req, &pa, a.pk, &err), PARLEY_E_OK);
  ours_free(&a);
  ours_free(&b);
}

static void test_sign_errors(void **state) {
  (void)state;
  ours o;
  ours_init(&o);
  parley_error err = {0};
  char *si = (char *)1, *sig = (char *)1;
  /* A covered field the request does not have. */
  del_header(&o.h, "content-digest");
  assert_int_equal(
      parley_httpsig_sign(&o.req, our_components, 3, "k", o.sk, 1, NULL, &si, &sig, &err),
      PARLEY_E_AUTH_MALFORMED);
  assert_non_null(strstr(err.detail, "content-digest not in request"));
  assert_null(si);
  assert_null(sig);
  const char *bad_names[] = {"Content-Digest", "@status", "@signature-params", "a b", "", "x\"y"};
  for (size_t i = 0; i < sizeof bad_names / sizeof bad_names[0]; i++) {
    const char *c[] = {"@method", bad_names[i]};
    assert_int_equal(parley_httpsig_sign(&o.req, c, 2, "k", o.sk, 1, NULL, &si, &sig, &err),
                     PARLEY_E_INVALID_ARGUMENT);
  }
  const char *dup[] = {"@method", "@method"};
  assert_int_equal(parley_httpsig_sign(&o.req, dup, 2, "k", o.sk, 1, NULL, &si, &sig, &err),
                   PARLEY_E_INVALID_ARGUMENT);
  const char *m[] = {"@method"};
  assert_int_equal(parley_httpsig_sign(&o.req, m, 1, "k", o.sk, 1, "short", &si, &sig, &err),
                   PARLEY_E_INVALID_ARGUMENT);
  assert_int_equal(parley_httpsig_sign(&o.req, m, 1, "", o.sk, 1, NULL, &si, &sig, &err),
                   PARLEY_E_INVALID_ARGUMENT);
  assert_int_equal(parley_httpsig_sign(&o.req, m, 1, "k\n", o.sk, 1, NULL, &si, &sig, &err),
                   PARLEY_E_INVALID_ARGUMENT);
  assert_int_equal(parley_httpsig_sign(&o.req, m, 1, "k", o.sk, -1, NULL, &si, &sig, &err),
                   PARLEY_E_INVALID_ARGUMENT);
  assert_int_equal(parley_httpsig_sign(&o.req, m, 0, "k", o.sk, 1, NULL, &si, &sig, &err),
                   PARLEY_E_INVALID_ARGUMENT);
  /* A keyid with characters that need escaping survives the round trip. */
  assert_int_equal(parley_httpsig_sign(&o.req, m, 1, "k\"\\1", o.sk, 1, NULL, &si, &sig, &err),
                   PARLEY_E_OK);
  parley_httpsig_params p;
  assert_int_equal(parley_httpsig_parse(si, sig, NULL, &p, &err), PARLEY_E_OK);
  assert_string_equal(p.keyid, "k\"\\1");
  assert_int_equal(parley_httpsig_verify(&o.req, &p, o.pk, &err), PARLEY_E_OK);
  free(si);
  free(sig);
  ours_free(&o);
}

/* ---- policy ----------------------------------------------------------------- */

static void test_policy(void **state) {
  (void)state;
  ours o;
  ours_init(&o);
  ours_sign(&o, 1700000000, NULL);
  parley_httpsig_params p;
  parley_error err = {0};
  assert_int_equal(parley_httpsig_parse_request(&o.req, NULL, &p, &err), PARLEY_E_OK);
  const int64_t c = 1700000000;
  assert_int_equal(parley_httpsig_check_policy(&p, c + 300, 300, true, &err), PARLEY_E_OK);
  assert_int_equal(parley_httpsig_check_policy(&p, c - 300, 300, true, &err), PARLEY_E_OK);
  assert_int_equal(parley_httpsig_check_policy(&p, c + 301, 300, true, &err), PARLEY_E_AUTH_STALE);
  assert_int_equal(parley_httpsig_check_policy(&p, c - 301, 300, true, &err), PARLEY_E_AUTH_STALE);
  assert_int_equal(parley_httpsig_check_policy(&p, INT64_MIN, 300, true, &err),
                   PARLEY_E_AUTH_STALE);
  assert_int_equal(parley_httpsig_check_policy(&p, INT64_MAX, INT64_MAX, true, &err), PARLEY_E_OK);
  assert_int_equal(parley_httpsig_check_policy(&p, c, -1, true, &err), PARLEY_E_INVALID_ARGUMENT);

  parley_httpsig_params q = p;
  q.has_expires = true;
  q.expires = c + 10;
  assert_int_equal(parley_httpsig_check_policy(&q, c + 10, 300, true, &err), PARLEY_E_OK);
  assert_int_equal(parley_httpsig_check_policy(&q, c + 11, 300, true, &err), PARLEY_E_AUTH_STALE);
  q = p;
  q.has_nonce = false;
  assert_int_equal(parley_httpsig_check_policy(&q, c, 300, true, &err), PARLEY_E_AUTH_MALFORMED);
  ours_free(&o);

  /* Coverage: without content-digest only a bodiless request passes. */
  ours_init(&o);
  const char *two[] = {"@method", "@target-uri"};
  char *si, *sig;
  assert_int_equal(parley_httpsig_sign(&o.req, two, 2, "k", o.sk, c, NULL, &si, &sig, &err),
                   PARLEY_E_OK);
  assert_int_equal(parley_httpsig_parse(si, sig, NULL, &p, &err), PARLEY_E_OK);
  assert_int_equal(parley_httpsig_check_policy(&p, c, 300, false, &err), PARLEY_E_OK);
  assert_int_equal(parley_httpsig_check_policy(&p, c, 300, true, &err), PARLEY_E_AUTH_COMPONENTS);
  free(si);
  free(sig);
  const char *no_uri[] = {"@method", "content-digest"};
  assert_int_equal(parley_httpsig_sign(&o.req, no_uri, 2, "k", o.sk, c, NULL, &si, &sig, &err),
                   PARLEY_E_OK);
  assert_int_equal(parley_httpsig_parse(si, sig, NULL, &p, &err), PARLEY_E_OK);
  assert_int_equal(parley_httpsig_check_policy(&p, c, 300, true, &err), PARLEY_E_AUTH_COMPONENTS);
  free(si);
  free(sig);
  const char *no_method[] = {"@target-uri", "content-digest"};
  assert_int_equal(parley_httpsig_sign(&o.req, no_method, 2, "k", o.sk, c, NULL, &si, &sig, &err),
                   PARLEY_E_OK);
  assert_int_equal(parley_httpsig_parse(si, sig, NULL, &p, &err), PARLEY_E_OK);
  assert_int_equal(parley_httpsig_check_policy(&p, c, 300, false, &err), PARLEY_E_AUTH_COMPONENTS);
  free(si);
  free(sig);
  ours_free(&o);
}

/* ---- malformed headers ------------------------------------------------------ */

#define GOOD_SIG                                                                                   \
  ":wqcAqbmYJ2ji2glfAMaRy4gruYYnx2nEFN2HN6jrnDnQCK1u02Gb04v9EDgwUPiu4A0w6vuQv5lIp5WPpBKRCw==:"
#define GOOD_PARAMS ";created=1700000000;keyid=\"key-1\";nonce=\"0123456789abcdef\""
#define GOOD_INPUT "parley=(\"@method\" \"@target-uri\")" GOOD_PARAMS

static void test_good_inputs(void **state) {
  (void)state;
  parley_httpsig_params p;
  parley_error err = {0};
  /* The baseline the malformed cases below are variations of. */
  assert_int_equal(parley_httpsig_parse(GOOD_INPUT, "parley=" GOOD_SIG, NULL, &p, &err),
                   PARLEY_E_OK);
  assert_string_equal(p.params_raw, "(\"@method\" \"@target-uri\")" GOOD_PARAMS);
  assert_int_equal(p.params_raw_len, strlen(p.params_raw));
  /* OWS between members, other signatures beside ours, expires and tag. */
  assert_int_equal(parley_httpsig_parse("other=(\"@path\");created=1;keyid=\"x\" ,\t" GOOD_INPUT
                                        ";expires=1700000100;tag=\"t\"",
                                        "other=:AAAA:, parley=" GOOD_SIG, NULL, &p, &err),
                   PARLEY_E_OK);
  assert_string_equal(p.label, "parley");
  assert_true(p.has_expires);
  assert_int_equal(p.expires, 1700000100);
  assert_true(p.has_tag);
  assert_string_equal(p.tag, "t");
  /* Only "parley" is taken, even as the only member; an explicit label is obeyed. */
  assert_int_equal(parley_httpsig_parse("x=()" GOOD_PARAMS, "x=" GOOD_SIG, NULL, &p, &err),
                   PARLEY_E_AUTH_LABEL);
  assert_int_equal(parley_httpsig_parse("x=()" GOOD_PARAMS, "x=" GOOD_SIG, "x", &p, &err),
                   PARLEY_E_OK);
  assert_int_equal(p.n_components, 0);
  assert_int_equal(parley_httpsig_parse("x=()" GOOD_PARAMS ", y=()" GOOD_PARAMS,
                                        "y=" GOOD_SIG ", x=" GOOD_SIG, "y", &p, &err),
                   PARLEY_E_OK);
  assert_string_equal(p.label, "y");
  /* Each known derived component and a field name with tchars. */
  assert_int_equal(
      parley_httpsig_parse("parley=(\"@method\" \"@target-uri\" \"@authority\" \"@scheme\" "
                           "\"@request-target\" \"@path\" \"@query\" \"x-a.b_c~1\")" GOOD_PARAMS
                           ";alg=\"ed25519\"",
                           "parley=" GOOD_SIG, NULL, &p, &err),
      PARLEY_E_OK);
  assert_int_equal(p.n_components, 8);
}

static void test_missing(void **state) {
  (void)state;
  parley_httpsig_params p;
  parley_error err = {0};
  assert_int_equal(parley_httpsig_parse(NULL, NULL, NULL, &p, &err), PARLEY_E_AUTH_MISSING);
  assert_int_equal(parley_httpsig_parse(GOOD_INPUT, NULL, NULL, &p, &err), PARLEY_E_AUTH_MALFORMED);
  assert_int_equal(parley_httpsig_parse(NULL, "parley=" GOOD_SIG, NULL, &p, &err),
                   PARLEY_E_AUTH_MALFORMED);
  headers h = {0};
  parley_httpsig_request r = make_req(&h, "GET", "https://a/", "a", "/", NULL);
  assert_int_equal(parley_httpsig_parse_request(&r, NULL, &p, &err), PARLEY_E_AUTH_MISSING);
  r.header = NULL;
  assert_int_equal(parley_httpsig_parse_request(&r, NULL, &p, &err), PARLEY_E_AUTH_MISSING);
}

static void test_malformed(void **state) {
  (void)state;
  static const struct {
    const char *input, *sig, *why;
  } cases[] = {
      {"parley=(\"@method);created=1;keyid=\"k\"", "parley=" GOOD_SIG, "unterminated string"},
      {"parley=(\"@method\" \"@target-uri\");created=1;keyid=\"k", "parley=" GOOD_SIG,
       "unterminated keyid"},
      {"parley=(\"@method\"" GOOD_PARAMS, "parley=" GOOD_SIG, "unterminated inner list"},
      {GOOD_INPUT, "parley=:!!!!:", "bad base64 characters"},
      {GOOD_INPUT,
       "parley=:wqcAqbmYJ2ji2glfAMaRy4gruYYnx2nEFN2HN6jrnDnQCK1u02Gb04v9EDgwUPiu4A0w6v"
       "uQv5lIp5WPpBKRCw:",
       "base64 without padding"},
      {GOOD_INPUT,
       "parley=:wqcAqbmYJ2ji2glfAMaRy4gruYYnx2nEFN2HN6jrnDnQCK1u02Gb04v9EDgwUPiu4A0w6v"
       "uQv5lIp5WPpBKR:",
       "63-byte signature"},
      {GOOD_INPUT,
       "parley=:wqcAqbmYJ2ji2glfAMaRy4gruYYnx2nEFN2HN6jrnDnQCK1u02Gb04v9EDgwUPiu4A0w6v"
       "uQv5lIp5WPpBKRCwAA:",
       "66-byte signature"},
      {GOOD_INPUT, "parley=:", "unterminated byte sequence"},
      {GOOD_INPUT, "parley=\"c2ln\"", "signature as a string"},
      {GOOD_INPUT, "parley=(" GOOD_SIG ")", "signature as an inner list"},
      {GOOD_INPUT, "parley=" GOOD_SIG ";x=1", "signature with parameters"},
      {GOOD_INPUT, "parley", "signature as a bare key"},
      {GOOD_INPUT, "parley=" GOOD_SIG ", parley=" GOOD_SIG, "duplicate signature label"},
      {GOOD_INPUT ", " GOOD_INPUT, "parley=" GOOD_SIG, "duplicate input label"},
      {"", "parley=" GOOD_SIG, "empty"},
      {"   ", "parley=" GOOD_SIG, "blank"},
      {GOOD_INPUT ",", "parley=" GOOD_SIG, "trailing comma"},
      {GOOD_INPUT " x", "parley=" GOOD_SIG, "junk after member"},
      {"parley=\"@method\"" GOOD_PARAMS, "parley=" GOOD_SIG, "item instead of inner list"},
      {"parley" GOOD_PARAMS, "parley=" GOOD_SIG, "bare key"},
      {"parley=(\"@method\")"
       ";keyid=\"key-1\";nonce=\"0123456789abcdef\"",
       "parley=" GOOD_SIG, "created missing"},
      {"parley=(\"@method\");created=1;nonce=\"0123456789abcdef\"", "parley=" GOOD_SIG,
       "keyid missing"},
      {"parley=(\"@method\");created=\"1\";keyid=\"k\"", "parley=" GOOD_SIG, "created a string"},
      {"parley=(\"@method\");created=1.5;keyid=\"k\"", "parley=" GOOD_SIG, "created a decimal"},
      {"parley=(\"@method\");created=-1;keyid=\"k\"", "parley=" GOOD_SIG, "created negative"},
      {"parley=(\"@method\");created=1234567890123456;keyid=\"k\"", "parley=" GOOD_SIG,
       "created 16 digits"},
      {"parley=(\"@method\");created;keyid=\"k\"", "parley=" GOOD_SIG, "created boolean"},
      {"parley=(\"@method\");created=1;keyid=k", "parley=" GOOD_SIG, "keyid a token"},
      {"parley=(\"@method\");created=1;keyid=\"\"", "parley=" GOOD_SIG, "keyid empty"},
      {"parley=(\"@method\");created=1;keyid=\"k\";keyid=\"k\"", "parley=" GOOD_SIG,
       "duplicate parameter"},
      {"parley=(\"@method\");created=1;keyid=\"k\";foo=1", "parley=" GOOD_SIG, "unknown parameter"},
      {"parley=(\"@method\");created=1;keyid=\"k\";alg=\"rsa-pss-sha512\"", "parley=" GOOD_SIG,
       "other alg"},
      {"parley=(\"@method\");created=1;keyid=\"k\";alg=ed25519", "parley=" GOOD_SIG, "alg a token"},
      {"parley=(\"@method\");created=1;keyid=\"k\";nonce=\"short\"", "parley=" GOOD_SIG,
       "nonce too short"},
      {"parley=(\"@method\");created=10;keyid=\"k\";expires=9", "parley=" GOOD_SIG,
       "expires before created"},
      {"parley=(\"@method\";req)" GOOD_PARAMS, "parley=" GOOD_SIG, "component parameter"},
      {"parley=(\"@query-param\";name=\"a\")" GOOD_PARAMS, "parley=" GOOD_SIG, "@query-param"},
      {"parley=(\"@status\")" GOOD_PARAMS, "parley=" GOOD_SIG, "@status"},
      {"parley=(\"@signature-params\")" GOOD_PARAMS, "parley=" GOOD_SIG, "@signature-params"},
      {"parley=(\"Date\")" GOOD_PARAMS, "parley=" GOOD_SIG, "upper-case field"},
      {"parley=(\"a b\")" GOOD_PARAMS, "parley=" GOOD_SIG, "space in field"},
      {"parley=(\"\")" GOOD_PARAMS, "parley=" GOOD_SIG, "empty component"},
      {"parley=(\"a\\\"b\")" GOOD_PARAMS, "parley=" GOOD_SIG, "quote in component"},
      {"parley=(@method)" GOOD_PARAMS, "parley=" GOOD_SIG, "bare token component"},
      {"parley=(method)" GOOD_PARAMS, "parley=" GOOD_SIG, "token component"},
      {"parley=(\"@method\" \"@method\")" GOOD_PARAMS, "parley=" GOOD_SIG, "repeated component"},
      {"parley=(\"@method\"\"@path\")" GOOD_PARAMS, "parley=" GOOD_SIG, "no space between"},
      {"parley=(\"@method\")" GOOD_PARAMS "x", "parley=" GOOD_SIG, "junk after params"},
      {"parley=(\"\\x\")" GOOD_PARAMS, "parley=" GOOD_SIG, "bad escape"},
      {"parley=(\"\t\")" GOOD_PARAMS, "parley=" GOOD_SIG, "tab in string"},
      {"parley=(\"\xc3\xa9\")" GOOD_PARAMS, "parley=" GOOD_SIG, "non-ASCII in string"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    parley_httpsig_params p;
    parley_error err = {0};
    parley_err rc = parley_httpsig_parse(cases[i].input, cases[i].sig, NULL, &p, &err);
    if (rc != PARLEY_E_AUTH_MALFORMED)
      fail_msg("case %zu (%s): got %s", i, cases[i].why, parley_err_name(rc));
    assert_int_equal(err.code, PARLEY_E_AUTH_MALFORMED);
    assert_true(err.detail[0] != '\0');
    assert_int_equal(p.n_components, 0); /* nothing half-filled is left behind */
  }
}

static void test_limits(void **state) {
  (void)state;
  parley_httpsig_params p;
  parley_error err = {0};
  char *huge = malloc(PARLEY_HTTPSIG_MAX_HEADER + 100);
  assert_non_null(huge);
  /* A well-formed but over-long Signature-Input: a keyid far over its limit would
   * otherwise be the reason, so pad with spaces the parser would accept. */
  size_t n = (size_t)snprintf(huge, PARLEY_HTTPSIG_MAX_HEADER + 100, "%s", GOOD_INPUT);
  memset(huge + n, ' ', PARLEY_HTTPSIG_MAX_HEADER + 99 - n);
  huge[PARLEY_HTTPSIG_MAX_HEADER + 99] = '\0';
  assert_int_equal(parley_httpsig_parse(huge, "parley=" GOOD_SIG, NULL, &p, &err),
                   PARLEY_E_AUTH_MALFORMED);
  assert_non_null(strstr(err.detail, "longer than"));
  huge[PARLEY_HTTPSIG_MAX_HEADER] = '\0'; /* exactly at the limit: fine */
  assert_int_equal(parley_httpsig_parse(huge, "parley=" GOOD_SIG, NULL, &p, &err), PARLEY_E_OK);
  /* The same for Signature. */
  n = (size_t)snprintf(huge, PARLEY_HTTPSIG_MAX_HEADER + 100, "parley=%s", GOOD_SIG);
  memset(huge + n, ' ', PARLEY_HTTPSIG_MAX_HEADER + 99 - n);
  huge[PARLEY_HTTPSIG_MAX_HEADER + 99] = '\0';
  assert_int_equal(parley_httpsig_parse(GOOD_INPUT, huge, NULL, &p, &err), PARLEY_E_AUTH_MALFORMED);
  free(huge);

  /* Components: 16 accepted, 17 refused. */
  char in[2048];
  parley_buf b;
  for (int count = 16; count <= 17; count++) {
    parley_buf_init(&b, sizeof in);
    assert_int_equal(parley_buf_puts(&b, "parley=("), 0);
    for (int i = 0; i < count; i++)
      assert_int_equal(parley_buf_printf(&b, "%s\"x-h%d\"", i ? " " : "", i), 0);
    assert_int_equal(parley_buf_puts(&b, ")" GOOD_PARAMS), 0);
    assert_int_equal(parley_httpsig_parse((char *)b.data, "parley=" GOOD_SIG, NULL, &p, &err),
                     count == 16 ? PARLEY_E_OK : PARLEY_E_AUTH_MALFORMED);
    parley_buf_free(&b);
  }
  /* keyid 128 accepted, 129 refused; nonce 128 / 129. */
  char k128[129], k129[130];
  memset(k128, 'k', 128);
  k128[128] = '\0';
  memset(k129, 'k', 129);
  k129[129] = '\0';
  int w = snprintf(in, sizeof in, "parley=();created=1;keyid=\"%s\"", k128);
  assert_true(w > 0 && (size_t)w < sizeof in);
  assert_int_equal(parley_httpsig_parse(in, "parley=" GOOD_SIG, NULL, &p, &err), PARLEY_E_OK);
  w = snprintf(in, sizeof in, "parley=();created=1;keyid=\"%s\"", k129);
  assert_true(w > 0 && (size_t)w < sizeof in);
  assert_int_equal(parley_httpsig_parse(in, "parley=" GOOD_SIG, NULL, &p, &err),
                   PARLEY_E_AUTH_MALFORMED);
  w = snprintf(in, sizeof in, "parley=();created=1;keyid=\"k\";nonce=\"%s\"", k128);
  assert_true(w > 0 && (size_t)w < sizeof in);
  assert_int_equal(parley_httpsig_parse(in, "parley=" GOOD_SIG, NULL, &p, &err), PARLEY_E_OK);
  w = snprintf(in, sizeof in, "parley=();created=1;keyid=\"k\";nonce=\"%s\"", k129);
  assert_true(w > 0 && (size_t)w < sizeof in);
  assert_int_equal(parley_httpsig_parse(in, "parley=" GOOD_SIG, NULL, &p, &err),
                   PARLEY_E_AUTH_MALFORMED);
  /* More than 16 dictionary members. */
  parley_buf_init(&b, 8192);
  for (int i = 0; i < 17; i++)
    assert_int_equal(parley_buf_printf(&b, "%sm%d=()" GOOD_PARAMS, i ? ", " : "", i), 0);
  assert_int_equal(parley_buf_puts(&b, ", parley=()" GOOD_PARAMS), 0);
  assert_int_equal(parley_httpsig_parse((char *)b.data, "parley=" GOOD_SIG, NULL, &p, &err),
                   PARLEY_E_AUTH_MALFORMED);
  parley_buf_free(&b);
}

/* RFC 9421 3.2 with RFC 8941: optional spaces inside the inner list and after ';', and
 * leading zeros, are valid Structured Fields; the signature base carries the
 * re-serialized form. Other labels are ignored; no "parley" label is AUTH_LABEL. */
static void test_noncanonical_and_labels(void **state) {
  (void)state;
  static const char *inputs[] = {
      "parley=( \"@method\" \"@target-uri\")" GOOD_PARAMS,
      "parley=(\"@method\"  \"@target-uri\" )" GOOD_PARAMS,
      "parley=(\"@method\" \"@target-uri\"); created=1700000000; keyid=\"key-1\";  "
      "nonce=\"0123456789abcdef\"",
      "parley=(\"@method\" \"@target-uri\");created=0001700000000;keyid=\"key-1\";"
      "nonce=\"0123456789abcdef\"",
      "  parley=(  \"@method\"   \"@target-uri\"  );  created=1700000000;keyid=\"key-1\";"
      "nonce=\"0123456789abcdef\"  ",
  };
  for (size_t i = 0; i < sizeof inputs / sizeof inputs[0]; i++) {
    parley_httpsig_params p;
    parley_error err = {0};
    parley_err rc = parley_httpsig_parse(inputs[i], "parley=" GOOD_SIG, NULL, &p, &err);
    if (rc != PARLEY_E_OK) fail_msg("input %zu: %s (%s)", i, parley_err_name(rc), err.detail);
    assert_string_equal(p.params_raw, "(\"@method\" \"@target-uri\")" GOOD_PARAMS);
    assert_int_equal(p.params_raw_len, strlen(p.params_raw));
    assert_int_equal(p.created, 1700000000);
  }
  /* A request signed by our client verifies with its Signature-Input rewritten with
   * optional spaces; the same rewrite with a changed value does not. */
  ours o;
  ours_init(&o);
  ours_sign(&o, 1700000000, NULL);
  const char *si = o.si, *sig = o.sig;
  parley_error err = {0};
  char spaced[PARLEY_HTTPSIG_MAX_HEADER];
  size_t j = 0;
  for (const char *c = si; *c && j + 3 < sizeof spaced; c++) {
    spaced[j++] = *c;
    if (*c == '(' || *c == ';') spaced[j++] = ' ';
  }
  spaced[j] = '\0';
  assert_non_null(strstr(spaced, "( \"@method\""));
  parley_httpsig_params p;
  assert_int_equal(parley_httpsig_parse(spaced, sig, NULL, &p, &err), PARLEY_E_OK);
  assert_int_equal(parley_httpsig_verify(&o.req, &p, o.pk, &err), PARLEY_E_OK);
  char *c = strstr(spaced, "created=1700000000");
  assert_non_null(c);
  c[strlen("created=170000000")] = '1';
  assert_int_equal(parley_httpsig_parse(spaced, sig, NULL, &p, &err), PARLEY_E_OK);
  assert_int_equal(parley_httpsig_verify(&o.req, &p, o.pk, &err), PARLEY_E_AUTH_BAD_SIGNATURE);

  /* Labels: another signature beside ours is ignored (ours is verified); ours missing
   * from either header is AUTH_LABEL, whatever else is there. */
  char in2[PARLEY_HTTPSIG_MAX_HEADER], sg2[PARLEY_HTTPSIG_MAX_HEADER];
  snprintf(in2, sizeof in2, "sig1=(\"@method\");created=1;keyid=\"x\", %s", si);
  snprintf(sg2, sizeof sg2, "sig1=:AAAA:, %s", sig);
  assert_int_equal(parley_httpsig_parse(in2, sg2, NULL, &p, &err), PARLEY_E_OK);
  assert_string_equal(p.label, "parley");
  assert_int_equal(parley_httpsig_verify(&o.req, &p, o.pk, &err), PARLEY_E_OK);
  snprintf(in2, sizeof in2, "sig1%s", strchr(si, '='));
  snprintf(sg2, sizeof sg2, "sig1%s", strchr(sig, '='));
  assert_int_equal(parley_httpsig_parse(in2, sg2, NULL, &p, &err), PARLEY_E_AUTH_LABEL);
  assert_non_null(strstr(err.detail, "no signature labelled \"parley\""));
  assert_int_equal(parley_httpsig_parse(si, sg2, NULL, &p, &err), PARLEY_E_AUTH_LABEL);
  assert_int_equal(parley_httpsig_parse(in2, sig, NULL, &p, &err), PARLEY_E_AUTH_LABEL);
  assert_int_equal(
      parley_httpsig_parse("Parley=(\"@method\")" GOOD_PARAMS, "Parley=" GOOD_SIG, NULL, &p, &err),
      PARLEY_E_AUTH_MALFORMED); /* not a valid key at all */
  ours_free(&o);
}

/* created may lie at most future_seconds ahead, and past_seconds behind. */
static void test_policy_skew(void **state) {
  (void)state;
  parley_httpsig_params p;
  parley_error err = {0};
  assert_int_equal(parley_httpsig_parse(GOOD_INPUT, "parley=" GOOD_SIG, NULL, &p, &err),
                   PARLEY_E_OK);
  const int64_t c = 1700000000;
  assert_int_equal(parley_httpsig_check_policy_skew(&p, c - 30, 300, 30, false, &err), PARLEY_E_OK);
  assert_int_equal(parley_httpsig_check_policy_skew(&p, c - 31, 300, 30, false, &err),
                   PARLEY_E_AUTH_STALE);
  assert_non_null(strstr(err.detail, "ahead"));
  assert_int_equal(parley_httpsig_check_policy_skew(&p, c + 300, 300, 30, false, &err),
                   PARLEY_E_OK);
  assert_int_equal(parley_httpsig_check_policy_skew(&p, c + 301, 300, 30, false, &err),
                   PARLEY_E_AUTH_STALE);
  assert_int_equal(parley_httpsig_check_policy_skew(&p, c, 300, -1, false, &err),
                   PARLEY_E_INVALID_ARGUMENT);
}

/* ---- derived components and field values ----------------------------------- */

static void expect_base(parley_httpsig_request *r, const char *component, const char *want) {
  char in[256];
  int w = snprintf(in, sizeof in, "parley=(\"%s\")" GOOD_PARAMS, component);
  assert_true(w > 0 && (size_t)w < sizeof in);
  parley_httpsig_params p;
  parley_error err = {0};
  assert_int_equal(parley_httpsig_parse(in, "parley=" GOOD_SIG, NULL, &p, &err), PARLEY_E_OK);
  parley_err rc;
  char *base = base_of(r, &p, &rc, &err);
  if (!want) {
    assert_int_equal(rc, PARLEY_E_AUTH_MALFORMED);
    return;
  }
  assert_int_equal(rc, PARLEY_E_OK);
  size_t cap = strlen(want) + 512;
  char *line = malloc(cap);
  assert_non_null(line);
  w = snprintf(line, cap, "\"%s\": %s\n\"@signature-params\": (\"%s\")" GOOD_PARAMS, component,
               want, component);
  assert_true(w > 0 && (size_t)w < cap);
  assert_string_equal(base, line);
  free(line);
  free(base);
}

static void test_derived(void **state) {
  (void)state;
  headers h = {0};
  set_header(&h, "X-Padded", " \t a, b \t ");
  set_header(&h, "X-Empty", "");
  set_header(&h, "X-Crlf", "a\r\n\"@method\": GET");
  parley_httpsig_request r = make_req(&h, "POST", "HTTPS://Hub.Example.org:443/p/q?a=1&b",
                                      "Hub.Example.org:443", "/p/q", "?a=1&b");
  expect_base(&r, "@method", "POST");
  expect_base(&r, "@target-uri", "HTTPS://Hub.Example.org:443/p/q?a=1&b");
  expect_base(&r, "@authority", "hub.example.org");
  expect_base(&r, "@scheme", "https");
  expect_base(&r, "@request-target", "/p/q?a=1&b");
  expect_base(&r, "@path", "/p/q");
  expect_base(&r, "@query", "?a=1&b");
  expect_base(&r, "x-padded", "a, b");
  expect_base(&r, "x-empty", "");
  expect_base(&r, "x-crlf", NULL); /* a field may not forge signature-base lines */
  expect_base(&r, "x-absent", NULL);

  r = make_req(&h, "GET", "http://a.example:8080", "a.example:8080", "", NULL);
  expect_base(&r, "@authority", "a.example:8080");
  expect_base(&r, "@scheme", "http");
  expect_base(&r, "@path", "/");
  expect_base(&r, "@request-target", "/");
  expect_base(&r, "@query", "?");
  r.authority = "a.example:80";
  expect_base(&r, "@authority", "a.example");
  r.target_uri = "https://a.example";
  expect_base(&r, "@authority", "a.example:80");

  r = make_req(&h, NULL, NULL, NULL, NULL, NULL);
  expect_base(&r, "@method", NULL);
  expect_base(&r, "@target-uri", NULL);
  expect_base(&r, "@authority", NULL);
  expect_base(&r, "@scheme", NULL);
  expect_base(&r, "@path", NULL);
  expect_base(&r, "@request-target", NULL);
  expect_base(&r, "@query", "?");
  r.target_uri = "no-scheme";
  expect_base(&r, "@scheme", NULL);
  r.method = "GET\n";
  expect_base(&r, "@method", NULL);
  r.header = NULL;
  expect_base(&r, "x-padded", NULL);

  /* Values over the limit. */
  char *big = malloc(PARLEY_HTTPSIG_MAX_VALUE + 2);
  assert_non_null(big);
  memset(big, 'a', PARLEY_HTTPSIG_MAX_VALUE + 1);
  big[PARLEY_HTTPSIG_MAX_VALUE + 1] = '\0';
  r = make_req(&h, "GET", big, big, big, NULL);
  set_header(&h, "X-Big", big);
  expect_base(&r, "x-big", NULL);
  expect_base(&r, "@target-uri", NULL);
  expect_base(&r, "@authority", NULL);
  expect_base(&r, "@path", NULL);
  big[0] = ' '; /* the limit holds before trimming: no signing of a cut-off prefix */
  expect_base(&r, "x-big", NULL);
  big[0] = 'a';
  big[PARLEY_HTTPSIG_MAX_VALUE] = '\0';
  expect_base(&r, "x-big", big);
  free(big);
}

/* ---- Content-Digest (RFC 9530) --------------------------------------------- */

#define HELLO_256 "sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:"
#define HELLO_512                                                                                  \
  "sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJ"   \
  "wew==:"

static void test_content_digest(void **state) {
  (void)state;
  const uint8_t *b = (const uint8_t *)body;
  size_t n = strlen(body);
  char out[PARLEY_CONTENT_DIGEST_LEN];
  parley_content_digest_header(b, n, out);
  assert_string_equal(out, HELLO_256); /* RFC 9530 section 2 example */
  parley_content_digest_header(NULL, 0, out);
  assert_string_equal(out, "sha-256=:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=:");

  parley_error err = {0};
  assert_int_equal(parley_content_digest_check(HELLO_256, b, n, &err), PARLEY_E_OK);
  assert_int_equal(parley_content_digest_check(HELLO_512, b, n, &err), PARLEY_E_OK);
  assert_int_equal(parley_content_digest_check(HELLO_256 ", " HELLO_512, b, n, &err), PARLEY_E_OK);
  assert_int_equal(parley_content_digest_check("md5=:AAAA:, " HELLO_256 ", unixsum=12", b, n, &err),
                   PARLEY_E_OK);
  assert_int_equal(parley_content_digest_check(out, NULL, 0, &err), PARLEY_E_OK);

  /* Mismatches: another body, or one of two digests wrong. */
  assert_int_equal(parley_content_digest_check(HELLO_256, b, n - 1, &err),
                   PARLEY_E_AUTH_DIGEST_MISMATCH);
  assert_int_equal(parley_content_digest_check(HELLO_512, (const uint8_t *)"x", 1, &err),
                   PARLEY_E_AUTH_DIGEST_MISMATCH);
  assert_int_equal(parley_content_digest_check(
                       HELLO_256 ", sha-512=:" /* sha-512 of the empty string */
                                 "z4PhNX7vuL3xVChQ1m2AB9Yg5AULVxXcg/SpIdNs6c5H0NE8XYXysP+DGNKHfuw"
                                 "vY7kxvUdBeoGlODJ6+SfaPg==:",
                       b, n, &err),
                   PARLEY_E_AUTH_DIGEST_MISMATCH);

  static const char *const malformed[] = {
      NULL,
      "",
      "sha-256=X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=",  /* a token */
      "sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE:", /* no padding */
      "sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9D:",    /* 30 bytes */
      "sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=", /* unterminated */
      "sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:;a=1",
      "sha-256=(:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:)",
      "sha-256",
      HELLO_512 ", sha-512=:AAAA:", /* duplicate key */
      HELLO_256 ",",
      HELLO_256 " " HELLO_512,
      "SHA-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:",
      "md5=:AAAA:", /* neither sha-256 nor sha-512 */
  };
  for (size_t i = 0; i < sizeof malformed / sizeof malformed[0]; i++) {
    parley_err rc = parley_content_digest_check(malformed[i], b, n, &err);
    if (rc != PARLEY_E_AUTH_MALFORMED) fail_msg("case %zu: got %s", i, parley_err_name(rc));
  }
  char *huge = malloc(PARLEY_HTTPSIG_MAX_HEADER + 2);
  assert_non_null(huge);
  memset(huge, ' ', PARLEY_HTTPSIG_MAX_HEADER + 1);
  memcpy(huge, HELLO_256, strlen(HELLO_256));
  huge[PARLEY_HTTPSIG_MAX_HEADER + 1] = '\0';
  assert_int_equal(parley_content_digest_check(huge, b, n, &err), PARLEY_E_AUTH_MALFORMED);
  huge[PARLEY_HTTPSIG_MAX_HEADER] = '\0';
  assert_int_equal(parley_content_digest_check(huge, b, n, &err), PARLEY_E_OK);
  free(huge);
}

/* ---- the RFC 8941 parser ------------------------------------------------------ */

static void test_sf_items(void **state) {
  (void)state;
  parley_sf_member m[PARLEY_SF_MAX_MEMBERS];
  size_t count = 0;
  parley_error err = {0};
  const char *s = "a=1, b=-42;x;y=?0, c=4.5, d=\"s\\\"q\", e=tok/en:1, f=:AQID:, g, "
                  "h=?1, i=(1 \"two\" three);p=*x, j=()";
  assert_int_equal(
      parley_sf_parse_dictionary(s, strlen(s), "T", m, PARLEY_SF_MAX_MEMBERS, &count, &err),
      PARLEY_E_OK);
  assert_int_equal(count, 10);
  parley_sf_item it;
  parley_sf_params ps;
  assert_int_equal(parley_sf_parse_item(m[1].value, "T", &it, &ps, &err), PARLEY_E_OK);
  assert_int_equal(it.type, PARLEY_SF_INTEGER);
  assert_int_equal(it.integer, -42);
  assert_int_equal(ps.n, 2);
  assert_true(parley_sf_span_eq(ps.v[0].key, "x"));
  assert_int_equal(ps.v[0].value.type, PARLEY_SF_BOOLEAN);
  assert_int_equal(ps.v[0].value.integer, 1);
  assert_int_equal(ps.v[1].value.integer, 0);
  assert_int_equal(parley_sf_parse_item(m[2].value, "T", &it, &ps, &err), PARLEY_E_OK);
  assert_int_equal(it.type, PARLEY_SF_DECIMAL);
  assert_int_equal(parley_sf_parse_item(m[3].value, "T", &it, &ps, &err), PARLEY_E_OK);
  char str[8];
  size_t len = 0;
  assert_int_equal(parley_sf_unescape(&it, "T", str, sizeof str, &len, &err), PARLEY_E_OK);
  assert_string_equal(str, "s\"q");
  assert_int_equal(len, 3);
  assert_int_equal(parley_sf_unescape(&it, "T", str, 3, &len, &err), PARLEY_E_AUTH_MALFORMED);
  assert_int_equal(parley_sf_parse_item(m[4].value, "T", &it, &ps, &err), PARLEY_E_OK);
  assert_int_equal(it.type, PARLEY_SF_TOKEN);
  assert_true(parley_sf_span_eq(it.text, "tok/en:1"));
  assert_int_equal(parley_sf_parse_item(m[5].value, "T", &it, &ps, &err), PARLEY_E_OK);
  assert_int_equal(it.type, PARLEY_SF_BYTES);
  assert_true(parley_sf_span_eq(it.text, "AQID"));
  assert_true(m[6].bare_key);
  assert_true(m[8].inner_list);
  parley_sf_inner_list il;
  assert_int_equal(parley_sf_parse_inner_list(m[8].value, "T", &il, &err), PARLEY_E_OK);
  assert_int_equal(il.n, 3);
  assert_int_equal(il.items[1].item.type, PARLEY_SF_STRING);
  assert_int_equal(il.params.n, 1);
  assert_int_equal(il.params.v[0].value.type, PARLEY_SF_TOKEN);
  assert_int_equal(parley_sf_parse_inner_list(m[9].value, "T", &il, &err), PARLEY_E_OK);
  assert_int_equal(il.n, 0);
  assert_int_equal(parley_sf_parse_inner_list(m[0].value, "T", &il, &err), PARLEY_E_AUTH_MALFORMED);

  static const char *const bad[] = {
      "a=1.",        "a=1.2345", "a=1234567890123.1",
      "a=-",         "a=?2",     "a=\"x",
      "a=:AQ",       "a=(1",     "a=(1,2)",
      "a=1;",        "A=1",      "a=1,,b",
      "a=1;b=1;b=2", "a=1 b=2",  "=1",
      "a=%",         "a=1, a=2",
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    parley_err rc = parley_sf_parse_dictionary(bad[i], strlen(bad[i]), "T", m,
                                               PARLEY_SF_MAX_MEMBERS, &count, &err);
    if (rc != PARLEY_E_AUTH_MALFORMED)
      fail_msg("sf case %zu (%s): got %s", i, bad[i], parley_err_name(rc));
    assert_non_null(strstr(err.detail, "T: "));
  }
  /* A key at the limit and over it. */
  char key[PARLEY_SF_KEY_MAX + 4];
  memset(key, 'k', PARLEY_SF_KEY_MAX);
  memcpy(key + PARLEY_SF_KEY_MAX, "=1", 3);
  assert_int_equal(
      parley_sf_parse_dictionary(key, strlen(key), "T", m, PARLEY_SF_MAX_MEMBERS, &count, &err),
      PARLEY_E_OK);
  memset(key, 'k', PARLEY_SF_KEY_MAX + 1);
  memcpy(key + PARLEY_SF_KEY_MAX + 1, "=1", 3);
  assert_int_equal(
      parley_sf_parse_dictionary(key, strlen(key), "T", m, PARLEY_SF_MAX_MEMBERS, &count, &err),
      PARLEY_E_AUTH_MALFORMED);
}

int main(void) {
  if (!parley_init()) return 1;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_b26_parse_base_sign_verify, b26_setup, b26_teardown),
      cmocka_unit_test_setup_teardown(test_b26_tampered, b26_setup, b26_teardown),
      cmocka_unit_test(test_roundtrip),
      cmocka_unit_test(test_random_nonce),
      cmocka_unit_test(test_sign_errors),
      cmocka_unit_test(test_policy),
      cmocka_unit_test(test_good_inputs),
      cmocka_unit_test(test_missing),
      cmocka_unit_test(test_malformed),
      cmocka_unit_test(test_limits),
      cmocka_unit_test(test_noncanonical_and_labels),
      cmocka_unit_test(test_policy_skew),
      cmocka_unit_test(test_derived),
      cmocka_unit_test(test_content_digest),
      cmocka_unit_test(test_sf_items),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
