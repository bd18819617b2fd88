/* RFC 9421 HTTP Message Signatures with Ed25519: parsing Signature-Input and
 * Signature, the signature base, signing, verifying, and Parley's policy. */
#include "parley/httpsig.h"

#include "httpsig/sf.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SI "Signature-Input"
#define SIG "Signature"

_Static_assert(PARLEY_SF_KEY_MAX <= PARLEY_HTTPSIG_LABEL_MAX, "a label must fit");

static const char *const derived_components[] = {
    "@method", "@target-uri", "@authority", "@scheme", "@request-target", "@path", "@query",
};

/* A derived component we support, or an HTTP field name in lower case (RFC 9421 2.1
 * requires lower-cased field names). "@signature-params" and response-only or
 * parameterised derived components (@status, @query-param) are not allowed. */
static bool component_name_ok(const char *s) {
  size_t n = strlen(s);
  if (n == 0 || n > PARLEY_HTTPSIG_COMPONENT_MAX) return false;
  if (s[0] == '@') {
    for (size_t i = 0; i < sizeof derived_components / sizeof derived_components[0]; i++)
      if (strcmp(s, derived_components[i]) == 0) return true;
    return false;
  }
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              (c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL);
    if (!ok) return false;
  }
  return true;
}

/* Printable ASCII, as an sf-string may hold. */
static bool sf_string_ok(const char *s, size_t min, size_t max) {
  size_t n = strnlen(s, max + 1);
  if (n < min || n > max) return false;
  for (size_t i = 0; i < n; i++)
    if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e) return false;
  return true;
}

static parley_err string_param(const parley_sf_param *prm, const char *name, char *out, size_t min,
                               size_t max, parley_error *err) {
  if (prm->value.type != PARLEY_SF_STRING)
    return parley_fail(err, PARLEY_E_AUTH_MALFORMED, SI ": %s must be a string", name);
  size_t len = 0;
  if (parley_sf_unescape(&prm->value, SI, out, max + 1, &len, NULL) != PARLEY_E_OK || len < min)
    return parley_fail(err, PARLEY_E_AUTH_MALFORMED, SI ": %s must be %zu to %zu characters", name,
                       min, max);
  return PARLEY_E_OK;
}

static parley_err int_param(const parley_sf_param *prm, const char *name, int64_t *out,
                            parley_error *err) {
  if (prm->value.type != PARLEY_SF_INTEGER || prm->value.integer < 0)
    return parley_fail(err, PARLEY_E_AUTH_MALFORMED, SI ": %s must be a non-negative integer",
                       name);
  *out = prm->value.integer;
  return PARLEY_E_OK;
}

static parley_err fill_params(const parley_sf_params *ps, parley_httpsig_params *out,
                              parley_error *err) {
  bool has_created = false, has_keyid = false;
  for (size_t i = 0; i < ps->n; i++) {
    const parley_sf_param *prm = &ps->v[i];
    parley_err rc;
    if (parley_sf_span_eq(prm->key, "created")) {
      rc = int_param(prm, "created", &out->created, err);
      has_created = true;
    } else if (parley_sf_span_eq(prm->key, "expires")) {
      rc = int_param(prm, "expires", &out->expires, err);
      out->has_expires = true;
    } else if (parley_sf_span_eq(prm->key, "keyid")) {
      rc = string_param(prm, "keyid", out->keyid, 1, PARLEY_HTTPSIG_KEYID_MAX, err);
      has_keyid = true;
    } else if (parley_sf_span_eq(prm->key, "nonce")) {
      rc = string_param(prm, "nonce", out->nonce, PARLEY_HTTPSIG_NONCE_MIN,
                        PARLEY_HTTPSIG_NONCE_MAX, err);
      out->has_nonce = true;
    } else if (parley_sf_span_eq(prm->key, "tag")) {
      rc = string_param(prm, "tag", out->tag, 0, PARLEY_HTTPSIG_TAG_MAX, err);
      out->has_tag = true;
    } else if (parley_sf_span_eq(prm->key, "alg")) {
      char alg[16];
      rc = string_param(prm, "alg", alg, 1, sizeof alg - 1, err);
      if (!rc && strcmp(alg, "ed25519") != 0)
        rc = parley_fail(err, PARLEY_E_AUTH_MALFORMED, SI ": alg must be \"ed25519\"");
      out->has_alg = true;
    } else {
      rc = parley_fail(err, PARLEY_E_AUTH_MALFORMED, SI ": unknown signature parameter %.*s",
                       (int)prm->key.n, prm->key.p);
    }
    if (rc) return rc;
  }
  if (!has_created) return parley_fail(err, PARLEY_E_AUTH_MALFORMED, SI ": created is required");
  if (!has_keyid) return parley_fail(err, PARLEY_E_AUTH_MALFORMED, SI ": keyid is required");
  if (out->has_expires && out->expires < out->created)
    return parley_fail(err, PARLEY_E_AUTH_MALFORMED, SI ": expires is before created");
  return PARLEY_E_OK;
}

/* Bounded appender into a fixed array; `ok` turns false once anything did not fit. */
typedef struct {
  char *p;
  size_t len, cap;
  bool ok;
} fixbuf;

static void fb_put(fixbuf *b, const char *s, size_t n) {
  if (!b->ok || n > b->cap - b->len) {
    b->ok = false;
    return;
  }
  memcpy(b->p + b->len, s, n);
  b->len += n;
}

/* RFC 9421 3.2: @signature-params is the inner list and its parameters serialized as
 * RFC 8941 section 4.1 says, not the text as received: a sender may put optional spaces
 * inside the list or after ';', or leading zeros in an integer. Strings keep their
 * escapes (the parser admits only \" and \\, which serialization writes the same);
 * integers are written from their value. Fails only if the result does not fit. */
static bool params_serialize(const parley_sf_inner_list *il, char *out, size_t cap, size_t *len) {
  fixbuf b = {out, 0, cap, true};
  fb_put(&b, "(", 1);
  for (size_t i = 0; i < il->n; i++) {
    if (i) fb_put(&b, " ", 1);
    fb_put(&b, "\"", 1);
    fb_put(&b, il->items[i].item.text.p, il->items[i].item.text.n);
    fb_put(&b, "\"", 1);
  }
  fb_put(&b, ")", 1);
  for (size_t i = 0; i < il->params.n; i++) {
    const parley_sf_param *prm = &il->params.v[i];
    fb_put(&b, ";", 1);
    fb_put(&b, prm->key.p, prm->key.n);
    if (prm->value.type == PARLEY_SF_STRING) {
      fb_put(&b, "=\"", 2);
      fb_put(&b, prm->value.text.p, prm->value.text.n);
      fb_put(&b, "\"", 1);
    } else { /* fill_params admits only non-negative integers besides strings */
      char num[24];
      int k = snprintf(num, sizeof num, "=%lld", (long long)prm->value.integer);
      fb_put(&b, num, k > 0 ? (size_t)k : 0);
    }
  }
  *len = b.len;
  return b.ok;
}

static parley_err check_header(const char *v, const char *what, size_t *len, parley_error *err) {
  size_t n = strnlen(v, PARLEY_HTTPSIG_MAX_HEADER + 1);
  if (n > PARLEY_HTTPSIG_MAX_HEADER)
    return parley_fail(err, PARLEY_E_AUTH_MALFORMED, "%s: longer than %d bytes", what,
                       PARLEY_HTTPSIG_MAX_HEADER);
  *len = n;
  return PARLEY_E_OK;
}

/* Index of the member labelled `label`, else "parley". Members under other labels are
 * ignored (RFC 9421 7.2.1: a verifier picks the signatures it understands); none under
 * ours is AUTH_LABEL. */
static parley_err select_member(const parley_sf_member *m, size_t count, const char *label,
                                const char *what, size_t *idx, parley_error *err) {
  if (count == 0) return parley_fail(err, PARLEY_E_AUTH_MALFORMED, "%s: empty", what);
  const char *want = label ? label : PARLEY_HTTPSIG_LABEL;
  for (size_t i = 0; i < count; i++)
    if (parley_sf_span_eq(m[i].key, want)) {
      *idx = i;
      return PARLEY_E_OK;
    }
  return parley_fail(err, PARLEY_E_AUTH_LABEL, "%s: no signature labelled \"%s\"", what, want);
}

static parley_err parse_input(const char *v, size_t n, const char *label,
                              parley_httpsig_params *out, parley_error *err) {
  parley_sf_member members[PARLEY_SF_MAX_MEMBERS];
  size_t count = 0, idx = 0;
  parley_err rc = parley_sf_parse_dictionary(v, n, SI, members, PARLEY_SF_MAX_MEMBERS, &count, err);
  if (!rc) rc = select_member(members, count, label, SI, &idx, err);
  if (rc) return rc;
  const parley_sf_member *m = &members[idx];
  if (!m->inner_list)
    return parley_fail(err, PARLEY_E_AUTH_MALFORMED, SI ": member is not an inner list");
  /* Keys are at most PARLEY_SF_KEY_MAX == PARLEY_HTTPSIG_LABEL_MAX characters. */
  memcpy(out->label, m->key.p, m->key.n);
  out->label[m->key.n] = '\0';

  parley_sf_inner_list il;
  rc = parley_sf_parse_inner_list(m->value, SI, &il, err);
  if (rc) return rc;
  if (il.n > PARLEY_HTTPSIG_MAX_COMPONENTS)
    return parley_fail(err, PARLEY_E_AUTH_MALFORMED, SI ": more than %d components",
                       PARLEY_HTTPSIG_MAX_COMPONENTS);
  for (size_t i = 0; i < il.n; i++) {
    char *c = out->components[i];
    if (il.items[i].item.type != PARLEY_SF_STRING)
      return parley_fail(err, PARLEY_E_AUTH_MALFORMED, SI ": component %zu is not a string", i);
    if (il.items[i].n_params != 0)
      return parley_fail(err, PARLEY_E_AUTH_MALFORMED,
                         SI ": component parameters are not supported");
    if (parley_sf_unescape(&il.items[i].item, SI, c, PARLEY_HTTPSIG_COMPONENT_MAX + 1, NULL,
                           NULL) != PARLEY_E_OK ||
        !component_name_ok(c))
      return parley_fail(err, PARLEY_E_AUTH_MALFORMED, SI ": component %zu is not supported", i);
    for (size_t k = 0; k < i; k++)
      if (strcmp(out->components[k], c) == 0)
        return parley_fail(err, PARLEY_E_AUTH_MALFORMED, SI ": component %s is repeated", c);
  }
  out->n_components = il.n;
  rc = fill_params(&il.params, out, err);
  if (rc) return rc;
  size_t len = 0;
  if (!params_serialize(&il, out->params_raw, PARLEY_HTTPSIG_MAX_HEADER, &len))
    return parley_fail(err, PARLEY_E_AUTH_MALFORMED, SI ": longer than %d bytes serialized",
                       PARLEY_HTTPSIG_MAX_HEADER);
  out->params_raw[len] = '\0';
  out->params_raw_len = len;
  return PARLEY_E_OK;
}

static parley_err parse_signature(const char *v, size_t n, const char *label,
                                  uint8_t sig[PARLEY_HTTPSIG_SIGNATURE_LEN], parley_error *err) {
  parley_sf_member members[PARLEY_SF_MAX_MEMBERS];
  size_t count = 0, idx = 0;
  parley_err rc =
      parley_sf_parse_dictionary(v, n, SIG, members, PARLEY_SF_MAX_MEMBERS, &count, err);
  if (!rc) rc = select_member(members, count, label, SIG, &idx, err);
  if (rc) return rc;
  if (members[idx].inner_list || members[idx].bare_key)
    return parley_fail(err, PARLEY_E_AUTH_MALFORMED, SIG ": member is not a byte sequence");
  parley_sf_item it;
  parley_sf_params ps;
  rc = parley_sf_parse_item(members[idx].value, SIG, &it, &ps, err);
  if (rc) return rc;
  if (it.type != PARLEY_SF_BYTES || ps.n != 0)
    return parley_fail(err, PARLEY_E_AUTH_MALFORMED, SIG ": member is not a byte sequence");
  size_t got = 0;
  if (parley_b64_decode(it.text.p, it.text.n, sig, PARLEY_HTTPSIG_SIGNATURE_LEN, &got) !=
          PARLEY_E_OK ||
      got != PARLEY_HTTPSIG_SIGNATURE_LEN)
    return parley_fail(err, PARLEY_E_AUTH_MALFORMED, SIG ": not the base64 of a %d-byte signature",
                       PARLEY_HTTPSIG_SIGNATURE_LEN);
  return PARLEY_E_OK;
}

parley_err parley_httpsig_parse(const char *signature_input, const char *signature,
                                const char *label, parley_httpsig_params *out, parley_error *err) {
  if (!out) return parley_fail(err, PARLEY_E_INVALID_ARGUMENT, "httpsig: no output");
  memset(out, 0, sizeof *out);
  if (!signature_input && !signature)
    return parley_fail(err, PARLEY_E_AUTH_MISSING, "no Signature-Input or Signature header");
  if (!signature_input)
    return parley_fail(err, PARLEY_E_AUTH_MALFORMED, "Signature without Signature-Input");
  if (!signature)
    return parley_fail(err, PARLEY_E_AUTH_MALFORMED, "Signature-Input without Signature");
  size_t ni = 0, ns = 0;
  parley_err rc = check_header(signature_input, SI, &ni, err);
  if (!rc) rc = check_header(signature, SIG, &ns, err);
  if (!rc) rc = parse_input(signature_input, ni, label, out, err);
  if (!rc) rc = parse_signature(signature, ns, out->label, out->signature, err);
  if (rc) memset(out, 0, sizeof *out);
  return rc;
}

parley_err parley_httpsig_parse_request(const parley_httpsig_request *req, const char *label,
                                        parley_httpsig_params *out, parley_error *err) {
  if (!req) return parley_fail(err, PARLEY_E_INVALID_ARGUMENT, "httpsig: no request");
  const char *si = req->header ? req->header(req->ctx, "signature-input") : NULL;
  const char *sig = req->header ? req->header(req->ctx, "signature") : NULL;
  return parley_httpsig_parse(si, sig, label, out, err);
}

/* ---- signature base ------------------------------------------------------- */

static parley_err not_in_request(const char *name, parley_error *err) {
  return parley_fail(err, PARLEY_E_AUTH_MALFORMED, "component %s not in request", name);
}

static parley_err emit(parley_buf *out, const char *name, const char *v, size_t n,
                       parley_error *err) {
  if (n > PARLEY_HTTPSIG_MAX_VALUE)
    return parley_fail(err, PARLEY_E_AUTH_MALFORMED, "component %s longer than %d bytes", name,
                       PARLEY_HTTPSIG_MAX_VALUE);
  /* A CR or LF would let a value forge extra lines of the signature base. */
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)v[i];
    if ((c < 0x20 && c != '\t') || c == 0x7f)
      return parley_fail(err, PARLEY_E_AUTH_MALFORMED, "component %s holds a control character",
                         name);
  }
  parley_err rc = parley_buf_printf(out, "\"%s\": ", name);
  if (!rc) rc = parley_buf_append(out, v, n);
  if (!rc) rc = parley_buf_puts(out, "\n");
  if (rc) return parley_fail(err, rc, "signature base too large");
  return PARLEY_E_OK;
}

/* Lower-cased scheme of an absolute URI into out, or false. */
static bool uri_scheme(const char *uri, char *out, size_t cap) {
  if (!uri) return false;
  const char *sep = strstr(uri, "://");
  if (!sep || sep == uri || (size_t)(sep - uri) >= cap) return false;
  size_t n = (size_t)(sep - uri);
  for (size_t i = 0; i < n; i++) {
    char c = uri[i];
    if (c >= 'A' && c <= 'Z') c = (char)(c - 'A' + 'a');
    bool ok = (c >= 'a' && c <= 'z') ||
              (i > 0 && ((c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.'));
    if (!ok) return false;
    out[i] = c;
  }
  out[n] = '\0';
  return true;
}

static bool ends_with(const char *s, size_t n, const char *suffix) {
  size_t k = strlen(suffix);
  return n >= k && memcmp(s + n - k, suffix, k) == 0;
}

static parley_err emit_derived(const parley_httpsig_request *req, const char *name, parley_buf *out,
                               parley_error *err) {
  char tmp[PARLEY_HTTPSIG_MAX_VALUE + 1];
  char scheme[32];
  if (strcmp(name, "@method") == 0) {
    if (!req->method || !req->method[0]) return not_in_request(name, err);
    return emit(out, name, req->method, strlen(req->method), err);
  }
  if (strcmp(name, "@target-uri") == 0) {
    if (!req->target_uri || !req->target_uri[0]) return not_in_request(name, err);
    return emit(out, name, req->target_uri, strlen(req->target_uri), err);
  }
  if (strcmp(name, "@scheme") == 0) {
    if (!uri_scheme(req->target_uri, scheme, sizeof scheme)) return not_in_request(name, err);
    return emit(out, name, scheme, strlen(scheme), err);
  }
  if (strcmp(name, "@authority") == 0) {
    /* RFC 9421 2.2.3: normalised per RFC 9110 4.2.3 (lower case, no default port). */
    if (!req->authority || !req->authority[0]) return not_in_request(name, err);
    size_t n = strnlen(req->authority, sizeof tmp);
    if (n >= sizeof tmp) return emit(out, name, req->authority, n, err); /* fails as too long */
    for (size_t i = 0; i < n; i++) {
      char c = req->authority[i];
      tmp[i] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
    }
    if (uri_scheme(req->target_uri, scheme, sizeof scheme)) {
      if (strcmp(scheme, "https") == 0 && ends_with(tmp, n, ":443"))
        n -= 4;
      else if (strcmp(scheme, "http") == 0 && ends_with(tmp, n, ":80"))
        n -= 3;
    }
    return emit(out, name, tmp, n, err);
  }
  if (strcmp(name, "@path") == 0 || strcmp(name, "@request-target") == 0) {
    if (!req->path) return not_in_request(name, err);
    const char *path = req->path[0] ? req->path : "/";
    const char *query = req->query ? req->query : "";
    if (strcmp(name, "@path") == 0) query = "";
    size_t np = strnlen(path, sizeof tmp), nq = strnlen(query, sizeof tmp);
    if (np + nq >= sizeof tmp)
      return emit(out, name, path, sizeof tmp, err); /* fails as too long */
    memcpy(tmp, path, np);
    memcpy(tmp + np, query, nq);
    return emit(out, name, tmp, np + nq, err);
  }
  if (strcmp(name, "@query") == 0) {
    /* RFC 9421 2.2.7: an absent query is the lone "?". */
    const char *q = req->query ? req->query : "?";
    if (q[0] != '?')
      return parley_fail(err, PARLEY_E_INVALID_ARGUMENT, "request query must start with '?'");
    return emit(out, name, q, strlen(q), err);
  }
  return parley_fail(err, PARLEY_E_AUTH_MALFORMED, "component %s is not supported", name);
}

parley_err parley_httpsig_base(const parley_httpsig_request *req, const parley_httpsig_params *p,
                               parley_buf *out, parley_error *err) {
  if (!req || !p || !out)
    return parley_fail(err, PARLEY_E_INVALID_ARGUMENT, "httpsig: missing argument");
  if (p->n_components > PARLEY_HTTPSIG_MAX_COMPONENTS ||
      p->params_raw_len > PARLEY_HTTPSIG_MAX_HEADER)
    return parley_fail(err, PARLEY_E_INVALID_ARGUMENT, "httpsig: parameters out of range");
  for (size_t i = 0; i < p->n_components; i++) {
    const char *name = p->components[i];
    parley_err rc;
    if (name[0] == '@') {
      rc = emit_derived(req, name, out, err);
    } else {
      const char *v = req->header ? req->header(req->ctx, name) : NULL;
      if (!v) return not_in_request(name, err);
      /* The limit applies to the raw value: trimming a value cut at the limit would
       * sign a prefix and leave the rest of the field unprotected. */
      size_t n = strnlen(v, PARLEY_HTTPSIG_MAX_VALUE + 1);
      if (n > PARLEY_HTTPSIG_MAX_VALUE) return emit(out, name, v, n, err); /* fails: too long */
      /* RFC 9421 2.1: strip leading and trailing whitespace. */
      while (n > 0 && (*v == ' ' || *v == '\t')) {
        v++;
        n--;
      }
      while (n > 0 && (v[n - 1] == ' ' || v[n - 1] == '\t'))
        n--;
      rc = emit(out, name, v, n, err);
    }
    if (rc) return rc;
  }
  parley_err rc = parley_buf_puts(out, "\"@signature-params\": ");
  if (!rc) rc = parley_buf_append(out, p->params_raw, p->params_raw_len);
  if (rc) return parley_fail(err, rc, "signature base too large");
  return PARLEY_E_OK;
}

/* ---- sign and verify ------------------------------------------------------ */

static parley_err put_string(parley_buf *b, const char *s) {
  parley_err rc = parley_buf_puts(b, "\"");
  for (; !rc && *s; s++) {
    if (*s == '"' || *s == '\\') rc = parley_buf_puts(b, "\\");
    if (!rc) rc = parley_buf_append(b, s, 1);
  }
  return rc ? rc : parley_buf_puts(b, "\"");
}

/* Serializes our Signature-Input member into `in` (see parley_httpsig_sign). */
static parley_err build_input(parley_buf *in, const char *const *components, size_t n,
                              const char *keyid, int64_t created, const char *nonce) {
  parley_err rc = parley_buf_puts(in, PARLEY_HTTPSIG_LABEL "=(");
  for (size_t i = 0; !rc && i < n; i++) {
    if (i) rc = parley_buf_puts(in, " ");
    if (!rc) rc = put_string(in, components[i]);
  }
  if (!rc) rc = parley_buf_printf(in, ");created=%lld;keyid=", (long long)created);
  if (!rc) rc = put_string(in, keyid);
  if (!rc) rc = parley_buf_puts(in, ";nonce=");
  if (!rc) rc = put_string(in, nonce);
  if (!rc) rc = parley_buf_puts(in, ";alg=\"ed25519\"");
  return rc;
}

/* Signs with a parsed Signature-Input in p; the Signature value goes to sig. */
static parley_err sign_parsed(const parley_httpsig_request *req, const parley_httpsig_params *p,
                              const uint8_t sk[64], parley_buf *sig, parley_error *err) {
  parley_buf base;
  parley_buf_init(&base, PARLEY_HTTPSIG_BASE_MAX);
  parley_err rc = parley_httpsig_base(req, p, &base, err);
  if (rc) {
    parley_buf_free(&base);
    return rc;
  }
  uint8_t s[crypto_sign_BYTES];
  char b64[sodium_base64_ENCODED_LEN(crypto_sign_BYTES, sodium_base64_VARIANT_ORIGINAL)];
  crypto_sign_detached(s, NULL, base.data, base.len, sk);
  parley_buf_free(&base);
  rc = parley_b64_encode(s, sizeof s, b64, sizeof b64);
  if (!rc) rc = parley_buf_printf(sig, "%s=:%s:", p->label, b64);
  return rc ? parley_fail(err, rc, "httpsig sign: encoding the signature") : PARLEY_E_OK;
}

parley_err parley_httpsig_sign(const parley_httpsig_request *req, const char *const *components,
                               size_t n, const char *keyid, const uint8_t sk[64], int64_t created,
                               const char *nonce, char **signature_input, char **signature,
                               parley_error *err) {
  if (signature_input) *signature_input = NULL;
  if (signature) *signature = NULL;
  if (!req || !components || !keyid || !sk || !signature_input || !signature)
    return parley_fail(err, PARLEY_E_INVALID_ARGUMENT, "httpsig sign: missing argument");
  if (n == 0 || n > PARLEY_HTTPSIG_MAX_COMPONENTS)
    return parley_fail(err, PARLEY_E_INVALID_ARGUMENT, "httpsig sign: 1 to %d components",
                       PARLEY_HTTPSIG_MAX_COMPONENTS);
  for (size_t i = 0; i < n; i++)
    if (!components[i] || !component_name_ok(components[i]))
      return parley_fail(err, PARLEY_E_INVALID_ARGUMENT, "httpsig sign: bad component %zu", i);
  if (!sf_string_ok(keyid, 1, PARLEY_HTTPSIG_KEYID_MAX))
    return parley_fail(err, PARLEY_E_INVALID_ARGUMENT, "httpsig sign: bad keyid");
  if (created < 0) return parley_fail(err, PARLEY_E_INVALID_ARGUMENT, "httpsig sign: created < 0");
  char fresh[48];
  if (!nonce) {
    uint8_t rnd[24];
    randombytes_buf(rnd, sizeof rnd);
    if (parley_b64url_encode(rnd, sizeof rnd, fresh, sizeof fresh) != PARLEY_E_OK)
      return parley_fail(err, PARLEY_E_INTERNAL, "httpsig sign: encoding the nonce");
    nonce = fresh;
  }
  if (!sf_string_ok(nonce, PARLEY_HTTPSIG_NONCE_MIN, PARLEY_HTTPSIG_NONCE_MAX))
    return parley_fail(err, PARLEY_E_INVALID_ARGUMENT, "httpsig sign: bad nonce");

  parley_httpsig_params *p = calloc(1, sizeof *p);
  if (!p) return parley_fail(err, PARLEY_E_NO_MEMORY, "httpsig sign: out of memory");
  parley_buf in, sig;
  parley_buf_init(&in, PARLEY_HTTPSIG_MAX_HEADER);
  parley_buf_init(&sig, PARLEY_HTTPSIG_MAX_HEADER);
  parley_err rc = build_input(&in, components, n, keyid, created, nonce);
  if (rc) rc = parley_fail(err, rc, "httpsig sign: Signature-Input too large");
  /* Parse what we produced: the server runs exactly this code on it, so both sides
   * build the signature base from the same parsed form. */
  if (!rc && parse_input((const char *)in.data, in.len, PARLEY_HTTPSIG_LABEL, p, err))
    rc = parley_fail(err, PARLEY_E_INVALID_ARGUMENT, "httpsig sign: invalid parameters");
  if (!rc) rc = sign_parsed(req, p, sk, &sig, err);
  if (!rc) {
    *signature_input = parley_buf_steal(&in, NULL);
    *signature = parley_buf_steal(&sig, NULL);
    if (!*signature_input || !*signature) {
      free(*signature_input);
      free(*signature);
      *signature_input = *signature = NULL;
      rc = parley_fail(err, PARLEY_E_NO_MEMORY, "httpsig sign: out of memory");
    }
  }
  free(p);
  parley_buf_free(&in);
  parley_buf_free(&sig);
  return rc;
}

parley_err parley_httpsig_verify(const parley_httpsig_request *req,
                                 const parley_httpsig_params *parsed, const uint8_t pk[32],
                                 parley_error *err) {
  if (!pk) return parley_fail(err, PARLEY_E_INVALID_ARGUMENT, "httpsig verify: no key");
  parley_buf base;
  parley_buf_init(&base, PARLEY_HTTPSIG_BASE_MAX);
  parley_err rc = parley_httpsig_base(req, parsed, &base, err);
  if (!rc && crypto_sign_verify_detached(parsed->signature, base.data, base.len, pk) != 0)
    rc = parley_fail(err, PARLEY_E_AUTH_BAD_SIGNATURE,
                     "signature \"%s\" by keyid \"%s\" does not verify", parsed->label,
                     parsed->keyid);
  parley_buf_free(&base);
  return rc;
}

static bool covers(const parley_httpsig_params *p, const char *name) {
  for (size_t i = 0; i < p->n_components && i < PARLEY_HTTPSIG_MAX_COMPONENTS; i++)
    if (strcmp(p->components[i], name) == 0) return true;
  return false;
}

parley_err parley_httpsig_check_policy(const parley_httpsig_params *parsed, int64_t now,
                                       int64_t window_seconds, bool has_body, parley_error *err) {
  return parley_httpsig_check_policy_skew(parsed, now, window_seconds, window_seconds, has_body,
                                          err);
}

parley_err parley_httpsig_check_policy_skew(const parley_httpsig_params *parsed, int64_t now,
                                            int64_t past_seconds, int64_t future_seconds,
                                            bool has_body, parley_error *err) {
  if (!parsed || past_seconds < 0 || future_seconds < 0)
    return parley_fail(err, PARLEY_E_INVALID_ARGUMENT, "httpsig policy: bad argument");
  if (!covers(parsed, "@method") || !covers(parsed, "@target-uri"))
    return parley_fail(err, PARLEY_E_AUTH_COMPONENTS,
                       "the signature must cover @method and @target-uri");
  if (has_body && !covers(parsed, "content-digest"))
    return parley_fail(err, PARLEY_E_AUTH_COMPONENTS,
                       "a request with a body must sign content-digest");
  /* Differences computed in uint64_t: exact for any two int64_t with a >= b. */
  int64_t c = parsed->created;
  if (c >= now && (uint64_t)c - (uint64_t)now > (uint64_t)future_seconds)
    return parley_fail(err, PARLEY_E_AUTH_STALE,
                       "created %lld is more than %lld s ahead of the server's time %lld",
                       (long long)c, (long long)future_seconds, (long long)now);
  if (c < now && (uint64_t)now - (uint64_t)c > (uint64_t)past_seconds)
    return parley_fail(err, PARLEY_E_AUTH_STALE,
                       "created %lld is more than %lld s before the server's time %lld",
                       (long long)c, (long long)past_seconds, (long long)now);
  if (parsed->has_expires && now > parsed->expires)
    return parley_fail(err, PARLEY_E_AUTH_STALE, "the signature expired at %lld",
                       (long long)parsed->expires);
  if (!parsed->has_nonce)
    return parley_fail(err, PARLEY_E_AUTH_MALFORMED, "the signature must carry a nonce");
  return PARLEY_E_OK;
}
