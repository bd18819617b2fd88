/* Envelopes: a signed header and an end-to-end encrypted body (docs/protocol.md §8). */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parley/envelope.h"
#include "parley/json.h"
#include "parley/template.h"

const char *const parley_priorities[] = {"routine", "urgent", "critical", NULL};
const char *const parley_tlp_labels[] = {"TLP:RED",   "TLP:AMBER+STRICT", "TLP:AMBER",
                                         "TLP:GREEN", "TLP:CLEAR",        NULL};

#define FORMAT_ENVELOPE "parley-envelope-v1"
#define FORMAT_BODY "parley-body-v1"
#define MAX_PLAINTEXT (PARLEY_ENVELOPE_MAX_CIPHERTEXT - PARLEY_AEAD_TAG_LEN)
#define MIN_CIPHERTEXT (PARLEY_AEAD_TAG_LEN + 1) /* a body is never empty */
#define MAX_ENVELOPE_JCS (2u * 1024u * 1024u)
#define SIG_B64_CHARS (PARLEY_SIG_B64_LEN - 1)

/* The members of the header that the AEAD's associated data leaves out: what is only
 * known after encryption (and the nonce, which seal_body draws; the AEAD and the key
 * commitment already bind it). */
static const char *const ad_excluded[] = {
    "ciphertext", "ciphertext_sha256", "key_commitment", "signature", "nonce", NULL};

/* ---- small checks ------------------------------------------------------------- */

static bool lang_ok(const char *s) {
  return s && strlen(s) == 2 && s[0] >= 'a' && s[0] <= 'z' && s[1] >= 'a' && s[1] <= 'z';
}

static bool uuid7_ok(const char *s) {
  return s && parley_uuid_valid(s) && s[14] == '7';
}

/* The legal basis of a header, when present: its shape, then whether the kind's
 * template allows it. */
static parley_err check_basis(const char *kind, const char *instrument, const char *article,
                              parley_error *err) {
  const char *bad = parley_legal_basis_problem(instrument, article);
  if (bad) return parley_fail(err, PARLEY_E_LEGAL_BASIS, "legal_basis.%s", bad);
  if (!parley_template_basis_allowed(kind, instrument, article))
    return parley_fail(err, PARLEY_E_LEGAL_BASIS,
                       "legal_basis: a %.32s is not sent under %.64s Art. %.32s (see the "
                       "template's bases)",
                       kind, instrument, article);
  return PARLEY_E_OK;
}

static parley_err only_known(const json_t *obj, const char *const *allowed, const char *where,
                             parley_error *err) {
  const char *key;
  json_t *v;
  json_object_foreach((json_t *)obj, key, v) {
    const char *const *a = allowed;
    while (*a && strcmp(*a, key) != 0)
      a++;
    if (!*a)
      return parley_fail(err, PARLEY_E_ENVELOPE_INVALID, "%s: unknown member '%.64s'", where, key);
  }
  return PARLEY_E_OK;
}

/* The header field `name` of template t (docs/protocol.md §8.1), or NULL. */
static const parley_template_field *header_field(const parley_template *t, const char *name) {
  for (size_t i = 0; t && i < t->n_fields; i++)
    if (t->fields[i].header && !strcmp(t->fields[i].name, name)) return &t->fields[i];
  return NULL;
}

/* The envelope's members: the fixed ones, and the header fields of its kind's template. */
static parley_err only_known_header(const json_t *env, const char *const *allowed,
                                    parley_error *err) {
  const parley_template *t = parley_template_get(json_string_value(json_object_get(env, "kind")));
  const char *key;
  json_t *v;
  json_object_foreach((json_t *)env, key, v) {
    const char *const *a = allowed;
    while (*a && strcmp(*a, key) != 0)
      a++;
    if (!*a && !header_field(t, key))
      return parley_fail(err, PARLEY_E_ENVELOPE_INVALID, "envelope: unknown member '%.64s'", key);
  }
  return PARLEY_E_OK;
}

/* The template's header fields in the header: each present if required, and valid as
 * that field (ENVELOPE_INVALID naming the member); copied into info. */
static parley_err check_header_fields(const json_t *env, const parley_template *t,
                                      parley_envelope_info *info, parley_error *err) {
  for (size_t i = 0; i < t->n_fields; i++) {
    const parley_template_field *f = &t->fields[i];
    if (!f->header) continue;
    const json_t *v = json_object_get(env, f->name);
    if (!v) {
      if (f->required)
        return parley_fail(err, PARLEY_E_ENVELOPE_INVALID, "%s: required in the header of a %s",
                           f->name, t->kind);
      continue;
    }
    parley_error fe;
    if (parley_template_check_field(t->kind, f->name, env, &fe)) {
      const char *d = strncmp(fe.detail, "content.", 8) ? fe.detail : fe.detail + 8;
      return parley_fail(err, PARLEY_E_ENVELOPE_INVALID, "%.200s", d);
    }
    const char *s = json_string_value(v);
    if (!strcmp(f->name, "status") && strlen(s) <= PARLEY_STATUS_MAX)
      parley_strlcpy(info->status, s, sizeof info->status);
    else if (!strcmp(f->name, "respond_by") && strlen(s) <= PARLEY_RESPOND_BY_MAX)
      parley_strlcpy(info->respond_by, s, sizeof info->respond_by);
    else
      return parley_fail(err, PARLEY_E_ENVELOPE_INVALID, "%s: too long", f->name);
  }
  return PARLEY_E_OK;
}

/* Re-labels a lower-level error as ENVELOPE_INVALID, keeping its detail. */
static parley_err invalid(parley_err e, const char *where, parley_error *err) {
  if (err) {
    char d[sizeof err->detail];
    if (snprintf(d, sizeof d, "%s: %s", where, err->detail) < 0) d[0] = 0;
    parley_fail(err, PARLEY_E_ENVELOPE_INVALID, "%s", d);
  }
  (void)e;
  return PARLEY_E_ENVELOPE_INVALID;
}

/* SHA-256(JCS(header without ad_excluded members and recipients[].wrapped_key)). */
static parley_err header_ad(const json_t *env, parley_hash *out, parley_error *err) {
  json_t *h = json_copy((json_t *)env); /* shallow: members are shared, never changed */
  json_t *rs = json_array();
  parley_err e = PARLEY_E_NO_MEMORY;
  if (!h || !rs) goto done;
  for (const char *const *x = ad_excluded; *x; x++)
    json_object_del(h, *x);
  size_t i;
  json_t *r;
  json_array_foreach(json_object_get(env, "recipients"), i, r) {
    json_t *c = json_copy(r);
    if (!c) goto done;
    json_object_del(c, "wrapped_key");
    if (json_array_append_new(rs, c) != 0) goto done;
  }
  if (json_object_set(h, "recipients", rs) != 0) goto done;
  parley_buf b;
  parley_buf_init(&b, MAX_ENVELOPE_JCS);
  e = parley_jcs(h, &b, err);
  if (!e) parley_sha256(b.data, b.len, out);
  parley_buf_free(&b);
done:
  json_decref(rs);
  json_decref(h);
  return e == PARLEY_E_NO_MEMORY ? parley_fail(err, e, "header") : e;
}

/* The outer signature covers the envelope without "signature" and "ciphertext". */
static json_t *signed_part(const json_t *env) {
  json_t *h = json_copy((json_t *)env);
  if (h) json_object_del(h, "ciphertext");
  return h;
}

parley_err parley_envelope_hash(const json_t *env, parley_hash *out, parley_error *err) {
  parley_buf b;
  parley_buf_init(&b, MAX_ENVELOPE_JCS);
  parley_err e = parley_jcs(env, &b, err);
  if (!e) parley_sha256(b.data, b.len, out);
  parley_buf_free(&b);
  return e;
}

/* ---- verify ---------------------------------------------------------------------- */

typedef struct {
  uint8_t nonce[PARLEY_NONCE_LEN];
  parley_hash commitment;
  uint8_t wrapped[PARLEY_MAX_RECIPIENTS][PARLEY_WRAPPED_KEY_LEN];
  uint8_t *ct; /* decoded ciphertext (malloc), when asked for */
  size_t ct_len;
} header_bits;

static parley_err verify_internal(const json_t *env, const parley_sign_pk *sender_pk,
                                  parley_envelope_info *info, header_bits *bits, bool keep_ct,
                                  parley_error *err) {
  static const char *const allowed[] = {
      "format",     "id",    "kind",        "priority",          "from",
      "recipients", "case",  "in_reply_to", "legal_basis",       "created",
      "tlp",        "nonce", "ciphertext",  "ciphertext_sha256", "key_commitment",
      "signature",  NULL};
  memset(info, 0, sizeof *info);
  bits->ct = NULL;
  if (!sender_pk) return parley_fail(err, PARLEY_E_INVALID_ARGUMENT, "no sender key");
  if (!json_is_object(env))
    return parley_fail(err, PARLEY_E_ENVELOPE_INVALID, "an envelope is a JSON object");
  parley_err e = parley_json_check_signable(env, err);
  if (e) return invalid(e, "envelope", err);
  if ((e = only_known_header(env, allowed, err))) return e;
  const char *format, *id, *kind, *ct_b64, *sig, *case_id = NULL, *reply = NULL;
  int prio, tlp;
  json_t *from, *rcpts, *basis = NULL;
  parley_hash ct_sha;
  parley_json_field f[] = {
      PARLEY_FIELD_LINE("format", 32, &format),
      PARLEY_FIELD_UUID("id", &id),
      PARLEY_FIELD_LINE("kind", PARLEY_KIND_MAX, &kind),
      PARLEY_FIELD_ENUM("priority", parley_priorities, &prio),
      PARLEY_FIELD_OBJECT("from", &from),
      PARLEY_FIELD_ARRAY("recipients", &rcpts),
      PARLEY_FIELD_UUID_OPT("case", &case_id),
      PARLEY_FIELD_UUID_OPT("in_reply_to", &reply),
      PARLEY_FIELD_OBJECT_OPT("legal_basis", &basis),
      PARLEY_FIELD_TIME("created", &info->created),
      PARLEY_FIELD_ENUM("tlp", parley_tlp_labels, &tlp),
      PARLEY_FIELD_B64URL("nonce", bits->nonce, PARLEY_NONCE_LEN),
      PARLEY_FIELD_LINE("ciphertext", parley_b64url_encoded_len(PARLEY_ENVELOPE_MAX_CIPHERTEXT),
                        &ct_b64),
      PARLEY_FIELD_B64URL("ciphertext_sha256", ct_sha.b, PARLEY_HASH_LEN),
      PARLEY_FIELD_B64URL("key_commitment", bits->commitment.b, PARLEY_HASH_LEN),
      PARLEY_FIELD_LINE("signature", SIG_B64_CHARS, &sig),
  };
  if ((e = parley_json_fields(env, f, PARLEY_JF_COUNT(f), err))) return invalid(e, "envelope", err);
  if (strcmp(format, FORMAT_ENVELOPE) != 0)
    return parley_fail(err, PARLEY_E_ENVELOPE_INVALID, "format: must be " FORMAT_ENVELOPE);
  if (!uuid7_ok(id)) return parley_fail(err, PARLEY_E_ENVELOPE_INVALID, "id: must be a UUIDv7");
  const parley_template *tpl = parley_template_get(kind);
  if (!tpl)
    return parley_fail(err, PARLEY_E_TEMPLATE_UNKNOWN, "kind: unknown message kind '%s'", kind);
  if ((e = check_header_fields(env, tpl, info, err))) return e;
  const char *instrument = NULL, *article = NULL;
  if (basis) {
    static const char *const basis_allowed[] = {"instrument", "article", NULL};
    parley_json_field bf[] = {
        PARLEY_FIELD_LINE("instrument", PARLEY_INSTRUMENT_MAX, &instrument),
        PARLEY_FIELD_LINE("article", PARLEY_ARTICLE_MAX, &article),
    };
    if ((e = only_known(basis, basis_allowed, "legal_basis", err))) return e;
    if (parley_json_fields(basis, bf, PARLEY_JF_COUNT(bf), NULL))
      return parley_fail(err, PARLEY_E_LEGAL_BASIS,
                         "legal_basis: {\"instrument\": [a-z0-9-]{1,64}, \"article\": 1 to 32 "
                         "characters}");
    if ((e = check_basis(kind, instrument, article, err))) return e;
  }
  if ((e = parley_party_parse(from, "from", PARLEY_E_ENVELOPE_INVALID, &info->from, NULL, err)))
    return e;
  size_t n = json_array_size(rcpts);
  if (n == 0 || n > PARLEY_MAX_RECIPIENTS)
    return parley_fail(err, PARLEY_E_ENVELOPE_INVALID, "recipients: 1 to %d",
                       PARLEY_MAX_RECIPIENTS);
  for (size_t i = 0; i < n; i++) {
    char where[32];
    snprintf(where, sizeof where, "recipients[%zu]", i);
    if ((e = parley_party_parse(json_array_get(rcpts, i), where, PARLEY_E_ENVELOPE_INVALID,
                                &info->recipients[i], bits->wrapped[i], err)))
      return e;
    for (size_t j = 0; j < i; j++)
      if (strcmp(info->recipients[j].key_id, info->recipients[i].key_id) == 0)
        return parley_fail(err, PARLEY_E_ENVELOPE_INVALID,
                           "recipients[%zu].key_id: same key as recipients[%zu]", i, j);
  }
  info->n_recipients = n;

  /* The signature before anything is used: the sender's key, then its signature. */
  char want[PARLEY_KEY_ID_LEN];
  parley_sign_pk_key_id(sender_pk, want);
  if (strcmp(want, info->from.key_id) != 0)
    return parley_fail(err, PARLEY_E_ENVELOPE_SIGNATURE,
                       "from.key_id: %s is not the key id of the given sender key",
                       info->from.key_id);
  json_t *h = signed_part(env);
  if (!h) return parley_fail(err, PARLEY_E_NO_MEMORY, NULL);
  e = parley_signed_json_verify(h, PARLEY_PURPOSE_ENVELOPE, sender_pk, NULL);
  json_decref(h);
  if (e)
    return parley_fail(err, PARLEY_E_ENVELOPE_SIGNATURE,
                       "signature: not a valid envelope signature of %s/%s", info->from.state,
                       info->from.poc);

  size_t slen = strlen(ct_b64), cap = slen / 4 * 3 + 3;
  uint8_t *ct = malloc(cap);
  if (!ct) return parley_fail(err, PARLEY_E_NO_MEMORY, NULL);
  if (parley_b64url_decode(ct_b64, slen, ct, cap, &info->ciphertext_len) != PARLEY_E_OK) {
    free(ct);
    return parley_fail(err, PARLEY_E_ENVELOPE_INVALID, "ciphertext: must be base64url");
  }
  if (info->ciphertext_len < MIN_CIPHERTEXT ||
      info->ciphertext_len > PARLEY_ENVELOPE_MAX_CIPHERTEXT) {
    free(ct);
    return parley_fail(err, PARLEY_E_ENVELOPE_INVALID, "ciphertext: %d to %u bytes", MIN_CIPHERTEXT,
                       PARLEY_ENVELOPE_MAX_CIPHERTEXT);
  }
  parley_hash got;
  parley_sha256(ct, info->ciphertext_len, &got);
  if (!parley_ct_equal(got.b, ct_sha.b, sizeof got.b)) {
    free(ct);
    return parley_fail(err, PARLEY_E_ENVELOPE_CIPHERTEXT,
                       "ciphertext_sha256: does not match the ciphertext");
  }
  if (keep_ct) {
    bits->ct = ct;
    bits->ct_len = info->ciphertext_len;
  } else {
    free(ct);
  }

  parley_strlcpy(info->id, id, sizeof info->id);
  parley_strlcpy(info->kind, kind, sizeof info->kind);
  info->priority = (parley_priority)prio;
  info->tlp = (parley_tlp)tlp;
  if (case_id) parley_strlcpy(info->case_id, case_id, sizeof info->case_id);
  if (reply) parley_strlcpy(info->in_reply_to, reply, sizeof info->in_reply_to);
  if (instrument) {
    parley_strlcpy(info->basis_instrument, instrument, sizeof info->basis_instrument);
    parley_strlcpy(info->basis_article, article, sizeof info->basis_article);
  }
  if ((e = parley_envelope_hash(env, &info->hash, err))) {
    free(bits->ct);
    bits->ct = NULL;
    return e;
  }
  return PARLEY_E_OK;
}

parley_err parley_envelope_verify(const json_t *env, const parley_sign_pk *sender_pk,
                                  parley_envelope_info *info, parley_error *err) {
  parley_envelope_info local;
  header_bits *bits = malloc(sizeof *bits);
  if (!bits) return parley_fail(err, PARLEY_E_NO_MEMORY, NULL);
  parley_err e = verify_internal(env, sender_pk, info ? info : &local, bits, false, err);
  free(bits);
  return e;
}

/* ---- open ------------------------------------------------------------------------ */

/* The body's shape, then whether it belongs to this header (ENVELOPE_FORWARDED). */
static parley_err check_body(const json_t *body, const json_t *env,
                             const parley_envelope_info *info, parley_error *err) {
  static const char *const allowed[] = {"format",   "id",      "kind",      "from", "recipients",
                                        "language", "content", "signature", NULL};
  parley_err e = parley_json_check_signable(body, err);
  if (e) return invalid(e, "body", err);
  if ((e = only_known(body, allowed, "body", err))) return e;
  const char *format, *id, *kind, *lang, *sig;
  json_t *from, *rcpts, *content;
  parley_json_field f[] = {
      PARLEY_FIELD_LINE("format", 32, &format),
      PARLEY_FIELD_UUID("id", &id),
      PARLEY_FIELD_LINE("kind", PARLEY_KIND_MAX, &kind),
      PARLEY_FIELD_OBJECT("from", &from),
      PARLEY_FIELD_ARRAY("recipients", &rcpts),
      PARLEY_FIELD_LINE("language", 2, &lang),
      PARLEY_FIELD_OBJECT("content", &content),
      PARLEY_FIELD_LINE("signature", SIG_B64_CHARS, &sig),
  };
  if ((e = parley_json_fields(body, f, PARLEY_JF_COUNT(f), err))) return invalid(e, "body", err);
  if (strcmp(format, FORMAT_BODY) != 0)
    return parley_fail(err, PARLEY_E_ENVELOPE_INVALID, "body.format: must be " FORMAT_BODY);
  if (!lang_ok(lang))
    return parley_fail(err, PARLEY_E_ENVELOPE_INVALID, "body.language: ISO 639-1, lower case");
  parley_envelope_party p;
  if ((e = parley_party_parse(from, "body.from", PARLEY_E_ENVELOPE_INVALID, &p, NULL, err)))
    return e;
  size_t n = json_array_size(rcpts);
  if (n == 0 || n > PARLEY_MAX_RECIPIENTS)
    return parley_fail(err, PARLEY_E_ENVELOPE_INVALID, "body.recipients: 1 to %d",
                       PARLEY_MAX_RECIPIENTS);
  for (size_t i = 0; i < n; i++)
    if ((e = parley_party_parse(json_array_get(rcpts, i), "body.recipients[]",
                                PARLEY_E_ENVELOPE_INVALID, &p, NULL, err)))
      return e;

  if (strcmp(id, info->id) != 0)
    return parley_fail(err, PARLEY_E_ENVELOPE_FORWARDED, "body.id: written for message %s", id);
  /* the header's copies of template fields say what the signed body says */
  const parley_template *t = parley_template_get(info->kind);
  for (size_t i = 0; t && i < t->n_fields; i++) {
    const char *name = t->fields[i].name;
    const json_t *hv = json_object_get(env, name), *bv = json_object_get(content, name);
    if (t->fields[i].header && !(hv ? bv && json_equal(hv, bv) : !bv))
      return parley_fail(err, PARLEY_E_ENVELOPE_INVALID,
                         "body.content.%s: differs from the signed header's %s", name, name);
  }
  if (strcmp(kind, info->kind) != 0)
    return parley_fail(err, PARLEY_E_ENVELOPE_FORWARDED, "body.kind: written as a %.32s", kind);
  if (!json_equal(from, json_object_get(env, "from")))
    return parley_fail(err, PARLEY_E_ENVELOPE_FORWARDED, "body.from: written by another sender");
  if (n != info->n_recipients)
    return parley_fail(err, PARLEY_E_ENVELOPE_FORWARDED,
                       "body.recipients: written for other recipients");
  for (size_t i = 0; i < n; i++) {
    const json_t *r = json_array_get(rcpts, i);
    const parley_envelope_party *h = &info->recipients[i];
    if (strcmp(json_string_value(json_object_get(r, "state")), h->state) != 0 ||
        strcmp(json_string_value(json_object_get(r, "poc")), h->poc) != 0 ||
        strcmp(json_string_value(json_object_get(r, "key_id")), h->key_id) != 0)
      return parley_fail(err, PARLEY_E_ENVELOPE_FORWARDED,
                         "body.recipients[%zu]: written for other recipients", i);
  }
  return PARLEY_E_OK;
}

parley_err parley_envelope_open(const json_t *env, const parley_identity *me,
                                const parley_sign_pk *sender_pk, json_t **body_out,
                                parley_error *err) {
  if (!body_out || !me)
    return parley_fail(err, PARLEY_E_INVALID_ARGUMENT, "open: missing argument");
  *body_out = NULL;
  parley_envelope_info *info = malloc(sizeof *info);
  header_bits *bits = malloc(sizeof *bits);
  parley_content_key key;
  parley_buf pt;
  parley_buf_init(&pt, MAX_PLAINTEXT);
  json_t *body = NULL;
  parley_err e;
  if (!info || !bits) {
    free(info);
    free(bits);
    return parley_fail(err, PARLEY_E_NO_MEMORY, NULL);
  }
  bits->ct = NULL;
  if ((e = verify_internal(env, sender_pk, info, bits, true, err))) goto done;

  char mine[PARLEY_KEY_ID_LEN];
  parley_box_pk_key_id(&me->box_pk, mine);
  size_t idx = 0;
  while (idx < info->n_recipients && strcmp(info->recipients[idx].key_id, mine) != 0)
    idx++;
  if (idx == info->n_recipients) {
    e = parley_fail(err, PARLEY_E_ENVELOPE_NOT_RECIPIENT,
                    "recipients: no entry for encryption key %s", mine);
    goto done;
  }
  if (parley_unwrap_key(bits->wrapped[idx], &me->box_pk, &me->box_sk, &key) != PARLEY_E_OK) {
    e = parley_fail(err, PARLEY_E_CRYPTO_DECRYPT,
                    "recipients[%zu].wrapped_key: not made for this key, or altered", idx);
    goto done;
  }
  parley_hash ad;
  if ((e = header_ad(env, &ad, err))) goto done;
  e = parley_open_body(&key, bits->nonce, bits->ct, bits->ct_len, ad.b, sizeof ad.b,
                       &bits->commitment, &pt);
  if (e == PARLEY_E_CRYPTO_COMMITMENT) {
    e = parley_fail(err, e, "key_commitment: does not match the content key");
    goto done;
  }
  if (e) {
    e = parley_fail(err, PARLEY_E_ENVELOPE_CIPHERTEXT,
                    "ciphertext: does not decrypt with this header and key");
    goto done;
  }
  parley_json_limits lim = PARLEY_JSON_LIMITS_DEFAULT;
  lim.max_bytes = MAX_PLAINTEXT;
  lim.max_depth = 8;
  if ((e = parley_json_parse_object((const char *)pt.data, pt.len, &lim, &body, err))) {
    e = invalid(e, "body", err);
    goto done;
  }
  if ((e = check_body(body, env, info, err))) goto done;
  if (parley_signed_json_verify(body, PARLEY_PURPOSE_INNER, sender_pk, NULL) != PARLEY_E_OK) {
    e = parley_fail(err, PARLEY_E_ENVELOPE_INNER_SIGNATURE,
                    "body.signature: not the sender's inner signature");
    goto done;
  }
  e = parley_template_validate(info->kind, json_object_get(body, "content"), err);
done:
  sodium_memzero(&key, sizeof key);
  parley_buf_free(&pt); /* zeroes the plaintext */
  free(bits->ct);
  free(bits);
  free(info);
  if (e)
    json_decref(body);
  else
    *body_out = body;
  return e;
}

/* ---- seal ------------------------------------------------------------------------ */

static parley_err check_params(const parley_envelope_params *p, parley_error *err) {
  if (!p->from_state || !parley_state_code_valid(p->from_state))
    return parley_fail(err, PARLEY_E_ENVELOPE_INVALID, "from_state: ISO 3166-1 alpha-3");
  if (!parley_poc_id_valid(p->from_poc))
    return parley_fail(err, PARLEY_E_ENVELOPE_INVALID, "from_poc: [a-z0-9-]{1,63}");
  if (!lang_ok(p->language))
    return parley_fail(err, PARLEY_E_ENVELOPE_INVALID, "language: ISO 639-1, lower case");
  if ((unsigned)p->priority > PARLEY_PRIORITY_CRITICAL)
    return parley_fail(err, PARLEY_E_ENVELOPE_INVALID, "priority: out of range");
  if ((unsigned)p->tlp > PARLEY_TLP_CLEAR)
    return parley_fail(err, PARLEY_E_ENVELOPE_INVALID, "tlp: out of range");
  if (p->case_id && !parley_uuid_valid(p->case_id))
    return parley_fail(err, PARLEY_E_ENVELOPE_INVALID, "case: a UUID in lower case");
  if (p->in_reply_to && !parley_uuid_valid(p->in_reply_to))
    return parley_fail(err, PARLEY_E_ENVELOPE_INVALID, "in_reply_to: a UUID in lower case");
  if (!p->basis_instrument != !p->basis_article)
    return parley_fail(err, PARLEY_E_LEGAL_BASIS, "legal_basis: an instrument and an article");
  parley_err e;
  if (p->basis_instrument && (e = check_basis(p->kind, p->basis_instrument, p->basis_article, err)))
    return e;
  if (p->n_recipients == 0 || p->n_recipients > PARLEY_MAX_RECIPIENTS || !p->recipients)
    return parley_fail(err, PARLEY_E_ENVELOPE_INVALID, "recipients: 1 to %d",
                       PARLEY_MAX_RECIPIENTS);
  for (size_t i = 0; i < p->n_recipients; i++) {
    const parley_envelope_recipient *r = &p->recipients[i];
    if (!r->state || !parley_state_code_valid(r->state))
      return parley_fail(err, PARLEY_E_ENVELOPE_INVALID, "recipients[%zu].state: alpha-3", i);
    if (!parley_poc_id_valid(r->poc))
      return parley_fail(err, PARLEY_E_ENVELOPE_INVALID, "recipients[%zu].poc: [a-z0-9-]{1,63}", i);
    for (size_t j = 0; j < i; j++)
      if (memcmp(p->recipients[j].box_pk.b, r->box_pk.b, PARLEY_BOX_PK_LEN) == 0)
        return parley_fail(err, PARLEY_E_ENVELOPE_INVALID,
                           "recipients[%zu]: same key as recipients[%zu]", i, j);
  }
  return PARLEY_E_OK;
}

/* Sets a base64url string member; false when out of memory. */
static bool set_b64(json_t *o, const char *name, const uint8_t *b, size_t n) {
  size_t cap = parley_b64url_encoded_len(n) + 1;
  char *s = malloc(cap);
  bool ok = s && parley_b64url_encode(b, n, s, cap) == PARLEY_E_OK &&
            json_object_set_new(o, name, json_string(s)) == 0;
  free(s);
  return ok;
}

parley_err parley_envelope_seal(const parley_envelope_params *p, const json_t *content,
                                const parley_identity *sender, json_t **out, parley_error *err) {
  if (!out || !p || !sender)
    return parley_fail(err, PARLEY_E_INVALID_ARGUMENT, "seal: missing argument");
  *out = NULL;
  parley_err e = parley_template_validate(p->kind, content, err);
  if (e || (e = check_params(p, err))) return e;

  char id[PARLEY_UUID_LEN], created[PARLEY_TIME_LEN], skid[PARLEY_KEY_ID_LEN];
  parley_uuid7(id);
  parley_time_format(p->created ? p->created : parley_now(), created);
  parley_sign_pk_key_id(&sender->sign_pk, skid);

  parley_content_key key;
  uint8_t nonce[PARLEY_NONCE_LEN];
  parley_hash commitment, ad, ct_sha;
  parley_buf pt, ct;
  parley_buf_init(&pt, MAX_PLAINTEXT);
  parley_buf_init(&ct, PARLEY_ENVELOPE_MAX_CIPHERTEXT);
  json_t *hdr = NULL, *body = NULL, *signed_hdr = NULL;
  bool have_key = false;

  json_t *rlist = json_array();
  for (size_t i = 0; rlist && i < p->n_recipients; i++) {
    if (json_array_append_new(rlist,
                              parley_recipient_entry(p->recipients[i].state, p->recipients[i].poc,
                                                     &p->recipients[i].box_pk)) != 0) {
      json_decref(rlist);
      rlist = NULL;
    }
  }
  json_t *from =
      json_pack("{s:s,s:s,s:s}", "state", p->from_state, "poc", p->from_poc, "key_id", skid);
  /* The body gets its own copies: wrapped keys are added to the header's list below. */
  body = json_pack("{s:s,s:s,s:s,s:O,s:o,s:s,s:o}", "format", FORMAT_BODY, "id", id, "kind",
                   p->kind, "from", from, "recipients", json_deep_copy(rlist), "language",
                   p->language, "content", json_deep_copy(content));
  hdr = json_pack("{s:s,s:s,s:s,s:s,s:O,s:O,s:s,s:s}", "format", FORMAT_ENVELOPE, "id", id, "kind",
                  p->kind, "priority", parley_priorities[p->priority], "from", from, "recipients",
                  rlist, "created", created, "tlp", parley_tlp_labels[p->tlp]);
  json_decref(rlist);
  if (!rlist || !from || !body || !hdr ||
      (p->case_id && json_object_set_new(hdr, "case", json_string(p->case_id)) != 0) ||
      (p->in_reply_to &&
       json_object_set_new(hdr, "in_reply_to", json_string(p->in_reply_to)) != 0) ||
      (p->basis_instrument &&
       json_object_set_new(hdr, "legal_basis",
                           json_pack("{s:s,s:s}", "instrument", p->basis_instrument, "article",
                                     p->basis_article)) != 0)) {
    e = parley_fail(err, PARLEY_E_NO_MEMORY, NULL);
    goto done;
  }
  const parley_template *tpl = parley_template_get(p->kind);
  for (size_t i = 0; tpl && i < tpl->n_fields; i++) {
    json_t *v = json_object_get(content, tpl->fields[i].name);
    if (tpl->fields[i].header && v && json_object_set(hdr, tpl->fields[i].name, v) != 0) {
      e = parley_fail(err, PARLEY_E_NO_MEMORY, NULL);
      goto done;
    }
  }
  if ((e = parley_signed_json_sign(body, PARLEY_PURPOSE_INNER, &sender->sign_sk, err)) ||
      (e = parley_jcs(body, &pt, err)) || (e = header_ad(hdr, &ad, err)))
    goto done;
  e = parley_seal_body(pt.data, pt.len, ad.b, sizeof ad.b, &key, nonce, &ct, &commitment);
  if (e) {
    e = parley_fail(err, e, "the body is too large (at most %u bytes encrypted)",
                    PARLEY_ENVELOPE_MAX_CIPHERTEXT);
    goto done;
  }
  have_key = true;
  for (size_t i = 0; i < p->n_recipients; i++) {
    e = parley_recipient_wrap(json_array_get(json_object_get(hdr, "recipients"), i), &key,
                              &p->recipients[i].box_pk);
    if (e == PARLEY_E_CRYPTO_BAD_KEY) {
      e = parley_fail(err, PARLEY_E_ENVELOPE_INVALID, "recipients[%zu].box_pk: unusable key", i);
      goto done;
    }
    if (e) {
      e = parley_fail(err, PARLEY_E_NO_MEMORY, NULL);
      goto done;
    }
  }
  parley_sha256(ct.data, ct.len, &ct_sha);
  if (!set_b64(hdr, "nonce", nonce, sizeof nonce) || !set_b64(hdr, "ciphertext", ct.data, ct.len) ||
      !set_b64(hdr, "ciphertext_sha256", ct_sha.b, sizeof ct_sha.b) ||
      !set_b64(hdr, "key_commitment", commitment.b, sizeof commitment.b) ||
      !(signed_hdr = signed_part(hdr))) {
    e = parley_fail(err, PARLEY_E_NO_MEMORY, NULL);
    goto done;
  }
  if ((e = parley_signed_json_sign(signed_hdr, PARLEY_PURPOSE_ENVELOPE, &sender->sign_sk, err)))
    goto done;
  if (json_object_set(hdr, "signature", json_object_get(signed_hdr, "signature")) != 0) {
    e = parley_fail(err, PARLEY_E_NO_MEMORY, NULL);
    goto done;
  }
  *out = hdr;
  hdr = NULL;
done:
  if (have_key) sodium_memzero(&key, sizeof key);
  parley_buf_free(&pt);
  parley_buf_free(&ct);
  json_decref(from);
  json_decref(body); /* holds the plaintext content; jansson frees, does not wipe */
  json_decref(signed_hdr);
  json_decref(hdr);
  return e;
}
