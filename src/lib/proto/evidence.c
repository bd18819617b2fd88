/* Evidence packages: chunk arithmetic, the chunk cipher, manifests and custody events
 * (include/parley/evidence.h, docs/protocol.md "Evidence packages"). */
#include "parley/evidence.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "parley/json.h"
#include "parley/proto.h"
#include "parley/tlog.h"

_Static_assert(PARLEY_EVIDENCE_HEADER_LEN == PARLEY_NONCE_LEN, "commitment nonce = header");

uint64_t parley_evidence_chunks(uint64_t plaintext_size) {
  return plaintext_size == 0 ? 1
                             : (plaintext_size + PARLEY_EVIDENCE_CHUNK - 1) / PARLEY_EVIDENCE_CHUNK;
}

uint64_t parley_evidence_ciphertext_size(uint64_t plaintext_size) {
  return plaintext_size + parley_evidence_chunks(plaintext_size) * PARLEY_EVIDENCE_CHUNK_OVERHEAD;
}

uint64_t parley_evidence_chunk_ct_len(uint64_t plaintext_size, uint64_t i) {
  uint64_t n = parley_evidence_chunks(plaintext_size);
  if (i >= n) return 0;
  if (i + 1 < n) return PARLEY_EVIDENCE_CHUNK_CT;
  return plaintext_size - i * PARLEY_EVIDENCE_CHUNK + PARLEY_EVIDENCE_CHUNK_OVERHEAD;
}

void parley_evidence_chunk_hash(const uint8_t *ct, size_t len, uint8_t out[32]) {
  parley_tlog_leaf_hash(ct, len, out);
}

/* ---- the chunk cipher ------------------------------------------------------------ */

void parley_evidence_stream_new(parley_content_key *key, uint8_t header[PARLEY_EVIDENCE_HEADER_LEN],
                                parley_evidence_stream *st) {
  crypto_secretstream_xchacha20poly1305_keygen(key->b);
  crypto_secretstream_xchacha20poly1305_init_push(st, header, key->b);
}

parley_err parley_evidence_stream_start(const parley_content_key *key,
                                        const uint8_t header[PARLEY_EVIDENCE_HEADER_LEN],
                                        parley_evidence_stream *st) {
  /* init_pull derives exactly the state init_push made from this key and header */
  if (crypto_secretstream_xchacha20poly1305_init_pull(st, header, key->b) != 0)
    return PARLEY_E_CRYPTO_DECRYPT;
  return PARLEY_E_OK;
}

void parley_evidence_seal_chunk(parley_evidence_stream *st, const uint8_t *pt, size_t len,
                                bool last, uint8_t *ct) {
  static const uint8_t empty[1];
  crypto_secretstream_xchacha20poly1305_push(
      st, ct, NULL, len ? pt : empty, len, NULL, 0,
      last ? crypto_secretstream_xchacha20poly1305_TAG_FINAL
           : crypto_secretstream_xchacha20poly1305_TAG_MESSAGE);
}

parley_err parley_evidence_open_chunk(parley_evidence_stream *st, const uint8_t *ct, size_t len,
                                      bool last, uint8_t *pt) {
  unsigned char tag = 0;
  if (len < PARLEY_EVIDENCE_CHUNK_OVERHEAD ||
      crypto_secretstream_xchacha20poly1305_pull(st, pt, NULL, &tag, ct, len, NULL, 0) != 0)
    return PARLEY_E_CRYPTO_DECRYPT;
  bool final = tag == crypto_secretstream_xchacha20poly1305_TAG_FINAL;
  if (final != last) return PARLEY_E_CRYPTO_DECRYPT; /* truncated or extended stream */
  return PARLEY_E_OK;
}

/* ---- manifests ------------------------------------------------------------------- */

/* A file name is one path segment: no '/', no control characters, not "." or "..". */
static bool file_name_ok(const char *s) {
  size_t n = s ? strlen(s) : 0;
  if (n == 0 || n > PARLEY_EVIDENCE_MAX_NAME || !strcmp(s, ".") || !strcmp(s, "..")) return false;
  for (size_t i = 0; i < n; i++)
    if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f || s[i] == '/' || s[i] == '\\') return false;
  return parley_utf8_valid(s, n);
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
      return parley_fail(err, PARLEY_E_EVIDENCE_INVALID, "%s: unknown member '%.64s'", where, key);
  }
  return PARLEY_E_OK;
}

static parley_err relabel(const char *where, parley_error *err) {
  if (err) {
    char d[sizeof err->detail];
    if (snprintf(d, sizeof d, "%s: %s", where, err->detail) < 0) d[0] = 0;
    parley_fail(err, PARLEY_E_EVIDENCE_INVALID, "%s", d);
  }
  return PARLEY_E_EVIDENCE_INVALID;
}

static const char *const manifest_members[] = {"format",
                                               "id",
                                               "from",
                                               "recipients",
                                               "case",
                                               "request",
                                               "created",
                                               "retain_until",
                                               "notes",
                                               "files",
                                               "chunk_size",
                                               "plaintext_size",
                                               "ciphertext_size",
                                               "chunks",
                                               "stream_header",
                                               "key_commitment",
                                               "merkle_root",
                                               "signature",
                                               NULL};

static parley_err parse_file(const json_t *o, size_t i, parley_evidence_file *out,
                             parley_error *err) {
  static const char *const members[] = {"name", "size", "sha256", NULL};
  char where[32];
  snprintf(where, sizeof where, "files[%zu]", i);
  if (!json_is_object(o))
    return parley_fail(err, PARLEY_E_EVIDENCE_INVALID, "%s: must be an object", where);
  parley_err e = only_known(o, members, where, err);
  if (e) return e;
  const char *name;
  int64_t size;
  parley_json_field f[] = {
      PARLEY_FIELD_STRING("name", PARLEY_EVIDENCE_MAX_NAME, &name),
      PARLEY_FIELD_INT("size", &size),
      PARLEY_FIELD_B64URL("sha256", out->sha256, 32),
  };
  if (parley_json_fields(o, f, PARLEY_JF_COUNT(f), err)) return relabel(where, err);
  if (!file_name_ok(name))
    return parley_fail(err, PARLEY_E_EVIDENCE_INVALID,
                       "%s.name: one path segment, no control characters", where);
  if (size < 0 || (uint64_t)size > PARLEY_EVIDENCE_MAX_PLAINTEXT)
    return parley_fail(err, PARLEY_E_EVIDENCE_INVALID, "%s.size: 0 to 2^40", where);
  parley_strlcpy(out->name, name, sizeof out->name);
  out->size = (uint64_t)size;
  return PARLEY_E_OK;
}

parley_err parley_evidence_manifest_file(const json_t *m, size_t i, parley_evidence_file *out,
                                         parley_error *err) {
  return parse_file(json_array_get(json_object_get(m, "files"), i), i, out, err);
}

parley_err parley_evidence_manifest_parse(const json_t *m, parley_evidence_info *info,
                                          parley_error *err) {
  parley_evidence_info local;
  if (!info) info = &local;
  memset(info, 0, sizeof *info);
  if (!json_is_object(m)) return parley_fail(err, PARLEY_E_EVIDENCE_INVALID, "not an object");
  parley_err e = only_known(m, manifest_members, "manifest", err);
  if (e) return e;
  int fmt = -1;
  static const char *const formats[] = {PARLEY_EVIDENCE_FORMAT, NULL};
  const char *id, *case_id = NULL, *req = NULL, *notes = NULL, *sig;
  json_t *from, *rcpts, *files;
  int64_t chunk_size, pt, ct, chunks;
  parley_json_field f[] = {
      PARLEY_FIELD_ENUM("format", formats, &fmt),
      PARLEY_FIELD_UUID("id", &id),
      PARLEY_FIELD_OBJECT("from", &from),
      PARLEY_FIELD_ARRAY("recipients", &rcpts),
      PARLEY_FIELD_UUID_OPT("case", &case_id),
      PARLEY_FIELD_UUID_OPT("request", &req),
      PARLEY_FIELD_TIME("created", &info->created),
      PARLEY_FIELD_TIME("retain_until", &info->retain_until),
      PARLEY_FIELD_STRING_OPT("notes", PARLEY_EVIDENCE_MAX_NOTES, &notes),
      PARLEY_FIELD_ARRAY("files", &files),
      PARLEY_FIELD_INT("chunk_size", &chunk_size),
      PARLEY_FIELD_INT("plaintext_size", &pt),
      PARLEY_FIELD_INT("ciphertext_size", &ct),
      PARLEY_FIELD_INT("chunks", &chunks),
      PARLEY_FIELD_B64URL("stream_header", info->stream_header, PARLEY_EVIDENCE_HEADER_LEN),
      PARLEY_FIELD_B64URL("key_commitment", info->key_commitment.b, 32),
      PARLEY_FIELD_B64URL("merkle_root", info->merkle_root, 32),
      PARLEY_FIELD_LINE("signature", 200, &sig),
  };
  if ((e = parley_json_fields(m, f, PARLEY_JF_COUNT(f), err))) return relabel("manifest", err);
  if (id[14] != '7') return parley_fail(err, PARLEY_E_EVIDENCE_INVALID, "id: a UUIDv7");
  parley_strlcpy(info->id, id, sizeof info->id);
  if (case_id) parley_strlcpy(info->case_id, case_id, sizeof info->case_id);
  if (req) parley_strlcpy(info->request_id, req, sizeof info->request_id);
  if (info->retain_until <= info->created)
    return parley_fail(err, PARLEY_E_EVIDENCE_INVALID, "retain_until: after created");
  if ((e = parley_party_parse(from, "from", PARLEY_E_EVIDENCE_INVALID, &info->from, NULL, err)))
    return e;
  size_t nr = json_array_size(rcpts);
  if (nr < 1 || nr > PARLEY_MAX_RECIPIENTS)
    return parley_fail(err, PARLEY_E_EVIDENCE_INVALID, "recipients: 1 to %d",
                       PARLEY_MAX_RECIPIENTS);
  for (size_t i = 0; i < nr; i++) {
    char where[32];
    uint8_t w[PARLEY_WRAPPED_KEY_LEN];
    snprintf(where, sizeof where, "recipients[%zu]", i);
    if ((e = parley_party_parse(json_array_get(rcpts, i), where, PARLEY_E_EVIDENCE_INVALID,
                                &info->recipients[i], w, err)))
      return e;
    for (size_t j = 0; j < i; j++)
      if (!strcmp(info->recipients[j].key_id, info->recipients[i].key_id))
        return parley_fail(err, PARLEY_E_EVIDENCE_INVALID, "%s: same key as recipients[%zu]", where,
                           j);
  }
  info->n_recipients = nr;
  size_t nf = json_array_size(files);
  if (nf < 1 || nf > PARLEY_EVIDENCE_MAX_FILES)
    return parley_fail(err, PARLEY_E_EVIDENCE_INVALID, "files: 1 to %d", PARLEY_EVIDENCE_MAX_FILES);
  uint64_t sum = 0;
  for (size_t i = 0; i < nf; i++) {
    parley_evidence_file file;
    if ((e = parse_file(json_array_get(files, i), i, &file, err))) return e;
    sum += file.size;
    if (sum > PARLEY_EVIDENCE_MAX_PLAINTEXT)
      return parley_fail(err, PARLEY_E_EVIDENCE_INVALID, "files: more than 2^40 bytes in all");
  }
  info->n_files = nf;
  if (chunk_size != PARLEY_EVIDENCE_CHUNK)
    return parley_fail(err, PARLEY_E_EVIDENCE_INVALID, "chunk_size: must be %u",
                       PARLEY_EVIDENCE_CHUNK);
  if (pt < 0 || (uint64_t)pt != sum)
    return parley_fail(err, PARLEY_E_EVIDENCE_INVALID,
                       "plaintext_size: the files' sizes add up to %llu", (unsigned long long)sum);
  if (ct < 0 || (uint64_t)ct != parley_evidence_ciphertext_size(sum) || chunks < 0 ||
      (uint64_t)chunks != parley_evidence_chunks(sum))
    return parley_fail(err, PARLEY_E_EVIDENCE_INVALID,
                       "ciphertext_size and chunks: must follow from plaintext_size");
  info->plaintext_size = sum;
  info->ciphertext_size = (uint64_t)ct;
  info->chunks = (uint64_t)chunks;
  parley_buf b;
  parley_buf_init(&b, PARLEY_EVIDENCE_MANIFEST_MAX_BYTES);
  e = parley_jcs(m, &b, err);
  if (!e) parley_sha256(b.data, b.len, &info->hash);
  parley_buf_free(&b);
  return e;
}

parley_err parley_evidence_manifest_verify(const json_t *m, const parley_sign_pk *sender_pk,
                                           parley_evidence_info *info, parley_error *err) {
  parley_evidence_info local;
  if (!info) info = &local;
  parley_err e = parley_evidence_manifest_parse(m, info, err);
  if (e) return e;
  char want[PARLEY_KEY_ID_LEN];
  parley_sign_pk_key_id(sender_pk, want);
  if (strcmp(want, info->from.key_id) != 0)
    return parley_fail(err, PARLEY_E_EVIDENCE_SIGNATURE, "from.key_id is not the sender's key");
  if (parley_signed_json_verify(m, PARLEY_PURPOSE_EVIDENCE_MANIFEST, sender_pk, err))
    return parley_fail(err, PARLEY_E_EVIDENCE_SIGNATURE, "manifest %s", info->id);
  return PARLEY_E_OK;
}

static bool set_b64(json_t *o, const char *name, const uint8_t *b, size_t n) {
  char s[256];
  return n <= 128 && parley_b64url_encode(b, n, s, sizeof s) == PARLEY_E_OK &&
         json_object_set_new(o, name, json_string(s)) == 0;
}

parley_err parley_evidence_manifest_new(const parley_evidence_params *p,
                                        const parley_identity *sender, json_t **out,
                                        parley_error *err) {
  *out = NULL;
  if (!p->n_recipients || p->n_recipients > PARLEY_MAX_RECIPIENTS || !p->n_files ||
      p->n_files > PARLEY_EVIDENCE_MAX_FILES)
    return parley_fail(err, PARLEY_E_INVALID_ARGUMENT, "1 to %d recipients and 1 to %d files",
                       PARLEY_MAX_RECIPIENTS, PARLEY_EVIDENCE_MAX_FILES);
  char created[PARLEY_TIME_LEN], retain[PARLEY_TIME_LEN], skid[PARLEY_KEY_ID_LEN];
  parley_time_format(p->created, created);
  parley_time_format(p->retain_until, retain);
  parley_sign_pk_key_id(&sender->sign_pk, skid);
  json_t *m = json_pack("{s:s,s:s,s:{s:s,s:s,s:s},s:s,s:s,s:I,s:I,s:I,s:I}", "format",
                        PARLEY_EVIDENCE_FORMAT, "id", p->id, "from", "state", p->from_state, "poc",
                        p->from_poc, "key_id", skid, "created", created, "retain_until", retain,
                        "chunk_size", (json_int_t)PARLEY_EVIDENCE_CHUNK, "plaintext_size",
                        (json_int_t)p->plaintext_size, "ciphertext_size",
                        (json_int_t)parley_evidence_ciphertext_size(p->plaintext_size), "chunks",
                        (json_int_t)parley_evidence_chunks(p->plaintext_size));
  json_t *rs = json_array(), *fs = json_array();
  parley_err e = PARLEY_E_OK;
  if (!m || !rs || !fs) {
    e = parley_fail(err, PARLEY_E_NO_MEMORY, NULL);
    goto done;
  }
  for (size_t i = 0; i < p->n_recipients && !e; i++) {
    json_t *r = parley_recipient_entry(p->recipients[i].state, p->recipients[i].poc,
                                       &p->recipients[i].box_pk);
    parley_err w =
        r ? parley_recipient_wrap(r, p->key, &p->recipients[i].box_pk) : PARLEY_E_NO_MEMORY;
    if (w == PARLEY_E_CRYPTO_BAD_KEY)
      e = parley_fail(err, PARLEY_E_CRYPTO_BAD_KEY, "recipients[%zu]: unusable key", i);
    else if (w || json_array_append(rs, r))
      e = parley_fail(err, PARLEY_E_NO_MEMORY, NULL);
    json_decref(r);
  }
  for (size_t i = 0; i < p->n_files && !e; i++) {
    json_t *f =
        json_pack("{s:s,s:I}", "name", p->files[i].name, "size", (json_int_t)p->files[i].size);
    if (!f || !set_b64(f, "sha256", p->files[i].sha256, 32) || json_array_append(fs, f))
      e = parley_fail(err, PARLEY_E_NO_MEMORY, NULL);
    json_decref(f);
  }
  if (e) goto done;
  parley_hash commit;
  parley_key_commitment(p->key, p->stream_header, &commit);
  if (json_object_set(m, "recipients", rs) || json_object_set(m, "files", fs) ||
      !set_b64(m, "stream_header", p->stream_header, PARLEY_EVIDENCE_HEADER_LEN) ||
      !set_b64(m, "key_commitment", commit.b, 32) ||
      !set_b64(m, "merkle_root", p->merkle_root, 32) ||
      (p->case_id && json_object_set_new(m, "case", json_string(p->case_id))) ||
      (p->request_id && json_object_set_new(m, "request", json_string(p->request_id))) ||
      (p->notes && json_object_set_new(m, "notes", json_string(p->notes)))) {
    e = parley_fail(err, PARLEY_E_NO_MEMORY, NULL);
    goto done;
  }
  if ((e = parley_signed_json_sign(m, PARLEY_PURPOSE_EVIDENCE_MANIFEST, &sender->sign_sk, err)))
    goto done;
  if ((e = parley_evidence_manifest_verify(m, &sender->sign_pk, NULL, err))) goto done;
  *out = m;
  m = NULL;
done:
  json_decref(m);
  json_decref(rs);
  json_decref(fs);
  return e;
}

/* The content key from one recipient entry r ({state, poc, key_id, wrapped_key}) of
 * manifest m, checked against m's key commitment. */
static parley_err unwrap_entry(const json_t *m, const json_t *r, const char *where,
                               const parley_identity *me, parley_content_key *key,
                               parley_error *err) {
  uint8_t w[PARLEY_WRAPPED_KEY_LEN], header[PARLEY_EVIDENCE_HEADER_LEN];
  parley_hash commit, want;
  if (parley_b64url_decode_exact(json_string_value(json_object_get(r, "wrapped_key")), w,
                                 sizeof w) ||
      parley_b64url_decode_exact(json_string_value(json_object_get(m, "stream_header")), header,
                                 sizeof header) ||
      parley_b64url_decode_exact(json_string_value(json_object_get(m, "key_commitment")), commit.b,
                                 32))
    return parley_fail(err, PARLEY_E_EVIDENCE_INVALID, "%s: malformed", where);
  if (parley_unwrap_key(w, &me->box_pk, &me->box_sk, key))
    return parley_fail(err, PARLEY_E_CRYPTO_DECRYPT, "the wrapped key does not open");
  parley_key_commitment(key, header, &want);
  if (sodium_memcmp(want.b, commit.b, 32) != 0) {
    sodium_memzero(key, sizeof *key);
    return parley_fail(err, PARLEY_E_CRYPTO_COMMITMENT, "manifest key_commitment");
  }
  return PARLEY_E_OK;
}

parley_err parley_evidence_unwrap(const json_t *m, const parley_identity *me,
                                  parley_content_key *key, parley_error *err) {
  char mine[PARLEY_KEY_ID_LEN];
  parley_box_pk_key_id(&me->box_pk, mine);
  size_t i;
  json_t *r;
  json_array_foreach(json_object_get(m, "recipients"), i, r) {
    const char *kid = json_string_value(json_object_get(r, "key_id"));
    if (!kid || strcmp(kid, mine) != 0) continue;
    char where[48];
    snprintf(where, sizeof where, "recipients[%zu]", i);
    return unwrap_entry(m, r, where, me, key, err);
  }
  return parley_fail(err, PARLEY_E_EVIDENCE_NOT_RECIPIENT, "no wrapped key for %s", mine);
}

parley_err parley_evidence_unwrap_shared(const json_t *manifest, const json_t *shared_event,
                                         const parley_identity *me, parley_content_key *key,
                                         parley_error *err) {
  char mine[PARLEY_KEY_ID_LEN];
  parley_box_pk_key_id(&me->box_pk, mine);
  const json_t *r = json_object_get(shared_event, "recipient");
  const char *kid = json_string_value(json_object_get(r, "key_id"));
  if (!kid || strcmp(kid, mine) != 0)
    return parley_fail(err, PARLEY_E_EVIDENCE_NOT_RECIPIENT, "the shared key is not for %s", mine);
  return unwrap_entry(manifest, r, "recipient", me, key, err);
}

/* ---- custody events -------------------------------------------------------------- */

parley_err parley_custody_new(const char *evidence_id, const parley_hash *manifest_sha256,
                              const char *event, const char *state, const char *poc,
                              const parley_sign_sk *sk, const parley_sign_pk *pk, int64_t time,
                              const char *detail, json_t **out, parley_error *err) {
  char t[PARLEY_TIME_LEN], kid[PARLEY_KEY_ID_LEN];
  parley_time_format(time, t);
  parley_sign_pk_key_id(pk, kid);
  json_t *actor = state ? json_pack("{s:s,s:s,s:s}", "state", state, "poc", poc, "key_id", kid)
                        : json_pack("{s:s}", "hub", kid);
  json_t *o = json_pack("{s:s,s:s,s:s,s:o,s:s}", "format", PARLEY_CUSTODY_FORMAT, "evidence",
                        evidence_id, "event", event, "actor", actor, "time", t);
  if (!o || !set_b64(o, "manifest_sha256", manifest_sha256->b, 32) ||
      (detail && json_object_set_new(o, "detail", json_string(detail)))) {
    json_decref(o);
    return parley_fail(err, PARLEY_E_NO_MEMORY, NULL);
  }
  parley_err e = sk ? parley_signed_json_sign(o, PARLEY_PURPOSE_CUSTODY, sk, err) : PARLEY_E_OK;
  if (e) {
    json_decref(o);
    return e;
  }
  *out = o;
  return PARLEY_E_OK;
}

parley_err parley_custody_verify(const json_t *ev, const parley_sign_pk *pk, parley_error *err) {
  static const char *const members[] = {
      "format", "evidence",  "manifest_sha256", "event",     "actor", "time",
      "detail", "recipient", "consent",         "signature", NULL};
  if (!json_is_object(ev)) return parley_fail(err, PARLEY_E_EVIDENCE_INVALID, "not an object");
  parley_err e = only_known(ev, members, "custody", err);
  if (e) return e;
  static const char *const formats[] = {PARLEY_CUSTODY_FORMAT, NULL};
  int fmt;
  const char *id, *event, *detail, *sig;
  int64_t t;
  uint8_t h[32];
  json_t *actor;
  parley_json_field f[] = {
      PARLEY_FIELD_ENUM("format", formats, &fmt),
      PARLEY_FIELD_UUID("evidence", &id),
      PARLEY_FIELD_B64URL("manifest_sha256", h, 32),
      PARLEY_FIELD_LINE("event", 32, &event),
      PARLEY_FIELD_OBJECT("actor", &actor),
      PARLEY_FIELD_TIME("time", &t),
      PARLEY_FIELD_STRING_OPT("detail", 1024, &detail),
      PARLEY_FIELD_LINE("signature", 200, &sig),
  };
  if (parley_json_fields(ev, f, PARLEY_JF_COUNT(f), err)) return relabel("custody", err);
  /* only a "shared" event names a new recipient and carries a consent, and it must name one
   * (the hub checks the consent, which it may lack) */
  bool shared = !strcmp(event, "shared");
  const json_t *consent = json_object_get(ev, "consent");
  if (!shared && (json_object_get(ev, "recipient") || consent))
    return parley_fail(err, PARLEY_E_EVIDENCE_INVALID,
                       "custody: recipient and consent belong to a shared event");
  if (consent && !json_is_object(consent))
    return parley_fail(err, PARLEY_E_EVIDENCE_INVALID, "custody.consent: must be an object");
  if (shared) {
    parley_envelope_party to;
    if ((e = parley_custody_shared_recipient(ev, &to, err))) return e;
  }
  const char *kid = json_string_value(json_object_get(actor, "key_id"));
  if (!kid) kid = json_string_value(json_object_get(actor, "hub"));
  char want[PARLEY_KEY_ID_LEN];
  parley_sign_pk_key_id(pk, want);
  if (!kid || strcmp(kid, want) != 0)
    return parley_fail(err, PARLEY_E_EVIDENCE_SIGNATURE, "actor key id is not the given key's");
  if (parley_signed_json_verify(ev, PARLEY_PURPOSE_CUSTODY, pk, err))
    return parley_fail(err, PARLEY_E_EVIDENCE_SIGNATURE, "custody event %s", event);
  return PARLEY_E_OK;
}

/* ---- onward sharing -------------------------------------------------------------- */

parley_err parley_consent_new(const char *evidence_id, const parley_hash *manifest_sha256,
                              const char *to_state, const char *to_poc, const char *by_state,
                              const char *by_poc, const parley_sign_sk *sk,
                              const parley_sign_pk *pk, int64_t time, json_t **out,
                              parley_error *err) {
  char t[PARLEY_TIME_LEN], kid[PARLEY_KEY_ID_LEN];
  parley_time_format(time, t);
  parley_sign_pk_key_id(pk, kid);
  json_t *o =
      json_pack("{s:s,s:s,s:{s:s,s:s},s:{s:s,s:s,s:s},s:s}", "format", PARLEY_CONSENT_FORMAT,
                "evidence", evidence_id, "to", "state", to_state, "poc", to_poc, "by", "state",
                by_state, "poc", by_poc, "key_id", kid, "time", t);
  if (!o || !set_b64(o, "manifest_sha256", manifest_sha256->b, 32)) {
    json_decref(o);
    return parley_fail(err, PARLEY_E_NO_MEMORY, NULL);
  }
  parley_err e = parley_signed_json_sign(o, PARLEY_PURPOSE_EVIDENCE_CONSENT, sk, err);
  if (e) {
    json_decref(o);
    return e;
  }
  *out = o;
  return PARLEY_E_OK;
}

static bool party_is(const json_t *o, const char *state, const char *poc) {
  const char *s = json_string_value(json_object_get(o, "state"));
  const char *p = json_string_value(json_object_get(o, "poc"));
  return s && p && !strcmp(s, state) && !strcmp(p, poc);
}

parley_err parley_consent_verify(const json_t *c, const char *evidence_id,
                                 const parley_hash *manifest_sha256, const char *to_state,
                                 const char *to_poc, const char *by_state, const char *by_poc,
                                 const parley_sign_pk *pk, parley_error *err) {
  static const char *const members[] = {"format", "evidence", "manifest_sha256", "to",
                                        "by",     "time",     "signature",       NULL};
  static const char *const to_members[] = {"state", "poc", NULL};
  static const char *const by_members[] = {"state", "poc", "key_id", NULL};
  if (!json_is_object(c)) return parley_fail(err, PARLEY_E_EVIDENCE_CONSENT, "no consent");
  static const char *const formats[] = {PARLEY_CONSENT_FORMAT, NULL};
  int fmt;
  const char *id, *sig;
  int64_t t;
  uint8_t h[32];
  json_t *to, *by;
  parley_json_field f[] = {
      PARLEY_FIELD_ENUM("format", formats, &fmt),
      PARLEY_FIELD_UUID("evidence", &id),
      PARLEY_FIELD_B64URL("manifest_sha256", h, 32),
      PARLEY_FIELD_OBJECT("to", &to),
      PARLEY_FIELD_OBJECT("by", &by),
      PARLEY_FIELD_TIME("time", &t),
      PARLEY_FIELD_LINE("signature", 200, &sig),
  };
  parley_error local;
  if (only_known(c, members, "consent", &local) ||
      parley_json_fields(c, f, PARLEY_JF_COUNT(f), &local) ||
      only_known(to, to_members, "to", &local) || only_known(by, by_members, "by", &local))
    return parley_fail(err, PARLEY_E_EVIDENCE_CONSENT, "consent malformed: %.200s", local.detail);
  if (strcmp(id, evidence_id) != 0 || sodium_memcmp(h, manifest_sha256->b, 32) != 0)
    return parley_fail(err, PARLEY_E_EVIDENCE_CONSENT,
                       "the consent is for another package (%s) or manifest", id);
  if (!party_is(to, to_state, to_poc))
    return parley_fail(err, PARLEY_E_EVIDENCE_CONSENT, "the consent names another POC than %s/%s",
                       to_state, to_poc);
  char want[PARLEY_KEY_ID_LEN];
  parley_sign_pk_key_id(pk, want);
  const char *kid = json_string_value(json_object_get(by, "key_id"));
  if (!party_is(by, by_state, by_poc) || !kid || strcmp(kid, want) != 0)
    return parley_fail(err, PARLEY_E_EVIDENCE_CONSENT,
                       "the consent is not by the package's sender %s/%s (key %s)", by_state,
                       by_poc, want);
  if (parley_signed_json_verify(c, PARLEY_PURPOSE_EVIDENCE_CONSENT, pk, &local))
    return parley_fail(err, PARLEY_E_EVIDENCE_CONSENT,
                       "the consent's signature does not verify with %s/%s's key", by_state,
                       by_poc);
  return PARLEY_E_OK;
}

parley_err parley_custody_shared_new(const char *evidence_id, const parley_hash *manifest_sha256,
                                     const char *state, const char *poc, const parley_sign_sk *sk,
                                     const parley_sign_pk *pk, int64_t time,
                                     const parley_envelope_recipient *to,
                                     const parley_content_key *key, const json_t *consent,
                                     json_t **out, parley_error *err) {
  json_t *ev = NULL;
  char detail[160];
  snprintf(detail, sizeof detail, "shared with %s/%s with the sender's consent", to->state,
           to->poc);
  json_t *r = parley_recipient_entry(to->state, to->poc, &to->box_pk);
  parley_err w = r ? parley_recipient_wrap(r, key, &to->box_pk) : PARLEY_E_NO_MEMORY;
  if (w) {
    json_decref(r);
    return w == PARLEY_E_CRYPTO_BAD_KEY
               ? parley_fail(err, PARLEY_E_CRYPTO_BAD_KEY, "the new POC's key is unusable")
               : parley_fail(err, PARLEY_E_NO_MEMORY, NULL);
  }
  parley_err e = parley_custody_new(evidence_id, manifest_sha256, "shared", state, poc, NULL, pk,
                                    time, detail, &ev, err);
  if (e) {
    json_decref(r);
    return e;
  }
  /* json_object_set_new takes r (and the copy) even when it fails */
  bool ok = json_object_set_new(ev, "recipient", r) == 0;
  if (ok && consent) ok = json_object_set_new(ev, "consent", json_deep_copy(consent)) == 0;
  if (!ok) {
    json_decref(ev);
    return parley_fail(err, PARLEY_E_NO_MEMORY, NULL);
  }
  if ((e = parley_signed_json_sign(ev, PARLEY_PURPOSE_CUSTODY, sk, err))) {
    json_decref(ev);
    return e;
  }
  *out = ev;
  return PARLEY_E_OK;
}

parley_err parley_custody_shared_recipient(const json_t *ev, parley_envelope_party *out,
                                           parley_error *err) {
  uint8_t w[PARLEY_WRAPPED_KEY_LEN];
  const json_t *r = json_object_get(ev, "recipient");
  if (!r)
    return parley_fail(err, PARLEY_E_EVIDENCE_INVALID, "custody: a shared event names a recipient");
  return parley_party_parse(r, "custody.recipient", PARLEY_E_EVIDENCE_INVALID, out, w, err);
}
