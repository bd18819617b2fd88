/* Evidence packages (docs/protocol.md, "Evidence packages"):
 *   POST   /v1/evidence                 officer: tus creation with the signed manifest
 *   HEAD   /v1/evidence/{id}/upload     sender: the durable Upload-Offset (tus core; GET
 *                                        answers the same with a JSON body)
 *   PATCH  /v1/evidence/{id}/upload     sender: whole ciphertext chunks at Upload-Offset
 *   DELETE /v1/evidence/{id}/upload     sender: terminates an unfinished upload (tus)
 *   GET    /v1/evidence                 officer: packages sent by or addressed to the caller
 *   GET    /v1/evidence/{id}            sender or recipient: manifest and status
 *   GET    /v1/evidence/{id}/chunks     sender or recipient: the chunks' leaf hashes
 *   GET    /v1/evidence/{id}/content    recipient: the ciphertext, HTTP Range (RFC 9110)
 *   POST   /v1/evidence/{id}/custody    recipient: a custody event it signed (downloaded,
 *                                        verified, or shared with the sender's consent)
 *   GET    /v1/evidence/{id}/custody    sender or recipient: the chain of custody
 * The hub stores ciphertext only. A chunk is durable (file fsynced, or row committed)
 * before the offset that covers it is committed, so after a crash the offset never
 * names bytes the hub does not have; a chunk sent again overwrites the same place. */
#include <errno.h>
#include <pthread.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "handlers.h"
#include "signer_client.h"
#include "record_view.h"
#include "parley/directory.h"
#include "parley/evidence.h"
#include "parley/json.h"
#include "parley/tlog.h"

#define TUS_VERSION "1.0.0"
#define HASHES_PER_PAGE 4096

/* ---- helpers ---------------------------------------------------------------------- */

static bool db_chunks(void) {
  return strcmp(parley_store_engine(parleyd->store), "sqlite") != 0;
}

static bool file_path(const char *id, char *out, size_t cap) {
  int n = snprintf(out, cap, "%s/%s.ct", parleyd->cfg.evidence_dir, id);
  return n > 0 && (size_t)n < cap;
}

static uint64_t chunk_len(uint64_t ct_size, uint64_t idx) {
  uint64_t start = idx * PARLEY_EVIDENCE_CHUNK_CT;
  if (start >= ct_size) return 0;
  uint64_t rest = ct_size - start;
  return rest < PARLEY_EVIDENCE_CHUNK_CT ? rest : PARLEY_EVIDENCE_CHUNK_CT;
}

static void reply_json_hdr(parleyd_req *r, unsigned status, json_t *body, const char *const *hdrs) {
  char *s = body ? json_dumps(body, JSON_COMPACT | JSON_ENSURE_ASCII) : strdup("");
  json_decref(body);
  if (!s) {
    parleyd_reply_error(r, PARLEY_E_NO_MEMORY, NULL);
    return;
  }
  size_t n = strlen(s);
  struct MHD_Response *resp = MHD_create_response_from_buffer(n, s, MHD_RESPMEM_MUST_FREE);
  if (!resp) {
    free(s);
  } else {
    if (n) MHD_add_response_header(resp, "Content-Type", "application/json");
    MHD_add_response_header(resp, "Tus-Resumable", TUS_VERSION);
    for (size_t i = 0; hdrs && hdrs[i]; i += 2)
      MHD_add_response_header(resp, hdrs[i], hdrs[i + 1]);
  }
  parleyd_reply_response(r, status, resp);
}

static bool tus_ok(parleyd_req *r) {
  const char *v = parleyd_header(r, "Tus-Resumable");
  if (v && strcmp(v, TUS_VERSION) == 0) return true;
  parleyd_reply_error(r, PARLEY_E_EVIDENCE_TUS_VERSION, v ? v : "no Tus-Resumable header");
  return false;
}

/* The package and the caller's relation to it. */
typedef struct {
  const char *id;
  const char *state, *poc;
  parley_evidence_row row;
  bool found, sender, recipient;
} access_ctx;

static bool find_rcpt(void *cls, const parley_evidence_recipient_row *x) {
  access_ctx *a = cls;
  if (!strcmp(x->state, a->state) && !strcmp(x->poc, a->poc)) {
    a->recipient = true;
    return false;
  }
  return true;
}

static parley_qs load_access(parley_tx *tx, access_ctx *a) {
  parley_evidence_row_clear(&a->row);
  a->found = a->sender = a->recipient = false;
  parley_qs qs = parley_store_evidence_get(tx, a->id, &a->row);
  if (qs <= 0) return qs;
  a->found = true;
  a->sender = !strcmp(a->row.from_state, a->state) && !strcmp(a->row.from_poc, a->poc);
  qs = parley_store_evidence_recipients(tx, a->id, find_rcpt, a);
  return qs < 0 ? qs : PARLEY_QS_ONE;
}

static parley_qs access_tx(parley_tx *tx, void *cls, parley_error *err) {
  (void)err;
  return load_access(tx, cls);
}

/* Loads the package; answers 404 unless the caller is its sender (want_sender) or a
 * recipient (want_recipient). Returns false after answering. */
static bool access_check(parleyd_req *r, access_ctx *a, bool want_sender, bool want_recipient) {
  memset(a, 0, sizeof *a);
  a->id = r->params[0];
  a->state = r->who.state;
  a->poc = r->who.poc_id;
  parley_error err;
  if (parley_store_run_named(parleyd->store, "evidence_access", false, access_tx, a, &err)) {
    parleyd_reply_err(r, &err);
    return false;
  }
  bool ok = a->found && ((want_sender && a->sender) || (want_recipient && a->recipient));
  if (!ok) {
    if (a->found && a->sender && want_recipient && !want_sender)
      parleyd_reply_error(r, PARLEY_E_EVIDENCE_NOT_RECIPIENT, a->id);
    else
      parleyd_reply_error(r, PARLEY_E_EVIDENCE_UNKNOWN, a->id);
    parley_evidence_row_clear(&a->row);
  }
  return ok;
}

static const char *status_name(parley_evidence_status s) {
  static const char *const names[] = {"uploading", "available", "deleted", "cancelled", "rejected"};
  return (unsigned)s < 5 ? names[s] : "unknown";
}

static json_t *row_json(const parley_evidence_row *e) {
  char created[PARLEY_TIME_LEN], retain[PARLEY_TIME_LEN];
  parley_time_format(e->created, created);
  parley_time_format(e->retain_until, retain);
  char h[64];
  parley_b64url_encode(e->manifest_hash, 32, h, sizeof h);
  return json_pack("{s:s,s:{s:s,s:s},s:s,s:I,s:I,s:s,s:s,s:s,s:I}", "id", e->id, "from", "state",
                   e->from_state, "poc", e->from_poc, "status", status_name(e->status),
                   "ciphertext_size", (json_int_t)e->ciphertext_size, "upload_offset",
                   (json_int_t)e->upload_offset, "created", created, "retain_until", retain,
                   "manifest_sha256", h, "leaf_index", (json_int_t)e->leaf_index);
}

/* Appends a custody event signed by the hub, logged, in tx. */
static parley_qs custody_append(parley_tx *tx, const char *id, const uint8_t manifest_hash[32],
                                const char *event, const char *detail, parley_error *err) {
  parley_hash mh;
  memcpy(mh.b, manifest_hash, 32);
  json_t *ev = NULL;
  int64_t now = parley_now();
  /* signed through the signer client: with --signer the key is not in this process */
  if (parley_custody_new(id, &mh, event, NULL, NULL, NULL, &parleyd->hub_key.sign_pk, now, detail,
                         &ev, err) ||
      parleyd_sign_statement(ev, PARLEY_PURPOSE_CUSTODY, err)) {
    json_decref(ev);
    return PARLEY_QS_HARD;
  }
  parley_buf b;
  parley_buf_init(&b, 16384);
  parley_qs qs = PARLEY_QS_HARD;
  uint64_t leaf;
  if (parley_jcs(ev, &b, err) == PARLEY_E_OK &&
      (qs = parleyd_log_append(tx, PARLEY_LOG_KIND_CUSTODY, b.data, b.len, &leaf, err)) ==
          PARLEY_QS_ONE) {
    parley_custody_row c = {
        .at = now, .leaf_index = (int64_t)leaf, .body = (char *)b.data, .body_len = b.len};
    parley_strlcpy(c.evidence_id, id, sizeof c.evidence_id);
    parley_strlcpy(c.event, event, sizeof c.event);
    qs = parley_store_custody_insert(tx, &c);
  }
  json_decref(ev);
  parley_buf_free(&b);
  return qs;
}

/* ---- POST /v1/evidence: tus creation ------------------------------------------------ */

typedef struct {
  parleyd_req *r;
  parley_evidence_info info;
  parley_buf canon;
  parley_evidence_row row;
  unsigned retry_after;
} create_ctx;

static parley_qs create_tx(parley_tx *tx, void *cls, parley_error *err) {
  create_ctx *c = cls;
  parley_qs qs = parleyd_tx_nonce(tx, c->r, err);
  if (qs != PARLEY_QS_ONE) return qs;
  const parley_evidence_info *in = &c->info;
  int64_t now = parley_now();
  parley_evidence_recipient_row rc[PARLEY_MAX_RECIPIENTS];
  for (size_t i = 0; i < in->n_recipients; i++) {
    const parley_envelope_party *p = &in->recipients[i];
    parleyd_recipient_check poc;
    if ((qs = parleyd_poc_lookup(tx, p->state, p->poc, &poc)) < 0) return qs;
    if (qs == PARLEY_QS_NONE || strcmp(poc.key_id, p->key_id) != 0 || poc.expires <= now) {
      parley_fail(err, PARLEY_E_RECIPIENT_UNKNOWN,
                  "recipients[%zu]: %s/%s with key %s is not in %s's current record", i, p->state,
                  p->poc, p->key_id, p->state);
      return PARLEY_QS_HARD;
    }
    memset(&rc[i], 0, sizeof rc[i]);
    parley_strlcpy(rc[i].state, p->state, sizeof rc[i].state);
    parley_strlcpy(rc[i].poc, p->poc, sizeof rc[i].poc);
    parley_strlcpy(rc[i].key_id, p->key_id, sizeof rc[i].key_id);
  }
  int64_t bytes = 0, uploading = 0;
  if ((qs = parley_store_evidence_usage(tx, in->from.state, &bytes, &uploading)) < 0) return qs;
  const parleyd_config *cfg = &parleyd->cfg;
  if (cfg->evidence_state_bytes &&
      (uint64_t)bytes + in->ciphertext_size > cfg->evidence_state_bytes) {
    parley_fail(err, PARLEY_E_EVIDENCE_QUOTA_BYTES,
                "state %s stores %lld bytes; this package is %llu; the quota is %llu",
                in->from.state, (long long)bytes, (unsigned long long)in->ciphertext_size,
                (unsigned long long)cfg->evidence_state_bytes);
    return PARLEY_QS_HARD;
  }
  if (cfg->evidence_state_uploads && uploading >= cfg->evidence_state_uploads) {
    c->retry_after = 60;
    parley_fail(err, PARLEY_E_EVIDENCE_UPLOADS_LIMIT, "state %s has %lld unfinished uploads",
                in->from.state, (long long)uploading);
    return PARLEY_QS_HARD;
  }
  uint64_t leaf;
  if ((qs = parleyd_log_append(tx, PARLEY_LOG_KIND_MANIFEST, c->canon.data, c->canon.len, &leaf,
                               err)) != PARLEY_QS_ONE)
    return qs;
  parley_evidence_row *e = &c->row;
  e->leaf_index = (int64_t)leaf;
  if ((qs = parley_store_evidence_insert(tx, e, rc, in->n_recipients)) == PARLEY_QS_NONE) {
    parley_fail(err, PARLEY_E_ENVELOPE_REPLAY, "evidence %s exists", in->id);
    return PARLEY_QS_HARD;
  }
  if (qs < 0) return qs;
  /* the sealing event is the manifest itself, signed by the sender and logged above */
  parley_custody_row cr = {.at = now,
                           .leaf_index = (int64_t)leaf,
                           .body = (char *)c->canon.data,
                           .body_len = c->canon.len};
  parley_strlcpy(cr.evidence_id, in->id, sizeof cr.evidence_id);
  parley_strlcpy(cr.event, "sealed", sizeof cr.event);
  return parley_store_custody_insert(tx, &cr);
}

void h_evidence_create(parleyd_req *r) {
  if (!tus_ok(r)) return;
  json_t *m = NULL;
  parley_error err;
  parley_json_limits lim = PARLEY_EVIDENCE_JSON_LIMITS;
  if (parley_json_parse_object((const char *)r->body.data, r->body.len, &lim, &m, &err)) {
    parleyd_reply_err(r, &err);
    return;
  }
  create_ctx *c = calloc(1, sizeof *c);
  if (!c) {
    json_decref(m);
    parleyd_reply_error(r, PARLEY_E_NO_MEMORY, NULL);
    return;
  }
  parley_buf_init(&c->canon, PARLEY_EVIDENCE_MANIFEST_MAX_BYTES);
  parley_sign_pk pk;
  memcpy(pk.b, r->who.pk, 32);
  const char *fs = json_string_value(json_object_get(json_object_get(m, "from"), "state"));
  const char *fp = json_string_value(json_object_get(json_object_get(m, "from"), "poc"));
  const char *len_hdr = parleyd_header(r, "Upload-Length");
  uint64_t upload_len = 0;
  parley_err e = PARLEY_E_OK;
  if (!fs || !fp || strcmp(fs, r->who.state) || strcmp(fp, r->who.poc_id))
    e = parley_fail(&err, PARLEY_E_ENVELOPE_SENDER, "the manifest's sender is not the caller");
  else
    e = parley_evidence_manifest_verify(m, &pk, &c->info, &err);
  if (!e && (!len_hdr || !parley_parse_u64(len_hdr, &upload_len) ||
             upload_len != c->info.ciphertext_size))
    e = parley_fail(&err, PARLEY_E_INVALID_ARGUMENT,
                    "Upload-Length must be the manifest's ciphertext_size (%llu)",
                    (unsigned long long)c->info.ciphertext_size);
  if (!e && c->info.retain_until <= parley_now())
    e = parley_fail(&err, PARLEY_E_EVIDENCE_INVALID, "retain_until: in the past");
  if (!e) e = parley_jcs(m, &c->canon, &err);
  json_decref(m);
  if (e) {
    parley_buf_free(&c->canon);
    free(c);
    parleyd_reply_err(r, &err);
    return;
  }
  c->r = r;
  parley_evidence_row *row = &c->row;
  parley_strlcpy(row->id, c->info.id, sizeof row->id);
  parley_strlcpy(row->from_state, c->info.from.state, sizeof row->from_state);
  parley_strlcpy(row->from_poc, c->info.from.poc, sizeof row->from_poc);
  row->status = PARLEY_EVIDENCE_UPLOADING;
  row->ciphertext_size = (int64_t)c->info.ciphertext_size;
  row->retain_until = c->info.retain_until;
  row->created = row->updated = parley_now();
  memcpy(row->manifest_hash, c->info.hash.b, 32);
  row->manifest = (char *)c->canon.data;
  row->manifest_len = c->canon.len;
  e = parley_store_run_named(parleyd->store, "evidence_create", true, create_tx, c, &err);
  row->manifest = NULL;
  if (e) {
    if (c->retry_after)
      parleyd_reply_error_retry(r, err.code, err.detail, c->retry_after);
    else
      parleyd_reply_err(r, &err);
  } else {
    parley_log(PARLEY_LOG_INFO, "evidence.created", "id=%s from=%s/%s bytes=%llu", row->id,
               row->from_state, row->from_poc, (unsigned long long)row->ciphertext_size);
    char loc[128];
    snprintf(loc, sizeof loc, "/v1/evidence/%s/upload", row->id);
    const char *hdrs[] = {"Location", loc, "Upload-Offset", "0", NULL};
    json_t *o = row_json(row);
    json_object_set_new(o, "upload_url", json_string(loc));
    reply_json_hdr(r, 201, o, hdrs);
  }
  parley_buf_free(&c->canon);
  free(c);
}

/* ---- HEAD (or GET) /v1/evidence/{id}/upload -------------------------------------- */

void h_evidence_offset(parleyd_req *r) {
  if (!tus_ok(r)) return;
  access_ctx a;
  if (!access_check(r, &a, true, false)) return;
  char off[32], len[32];
  snprintf(off, sizeof off, "%lld", (long long)a.row.upload_offset);
  snprintf(len, sizeof len, "%lld", (long long)a.row.ciphertext_size);
  const char *hdrs[] = {
      "Upload-Offset",           off, "Upload-Length", len, "Parley-Evidence-Status",
      status_name(a.row.status), NULL};
  /* HEAD (tus) gets the headers only; GET the same as JSON too */
  json_t *o =
      json_pack("{s:I,s:I,s:s}", "upload_offset", (json_int_t)a.row.upload_offset, "upload_length",
                (json_int_t)a.row.ciphertext_size, "status", status_name(a.row.status));
  parley_evidence_row_clear(&a.row);
  reply_json_hdr(r, 200, o, hdrs);
}

/* ---- PATCH /v1/evidence/{id}/upload ------------------------------------------------ */

typedef struct {
  parleyd_req *r;
  access_ctx a;
  uint64_t offset, first_chunk;
  size_t n_chunks;
  uint8_t (*hashes)[32];
  const uint8_t *data;
  size_t len;
  bool merkle_mismatch;
  int64_t new_offset;
} patch_ctx;

typedef struct {
  parley_tlog_frontier f;
  int64_t next;
  bool gap;
} root_ctx;

static bool add_leaf(void *cls, int64_t idx, const uint8_t hash[32]) {
  root_ctx *rc = cls;
  if (idx != rc->next) {
    rc->gap = true;
    return false;
  }
  parley_tlog_frontier_append(&rc->f, hash);
  rc->next++;
  return true;
}

/* The Merkle root over every stored chunk hash, streamed a page at a time. */
static parley_qs stored_root(parley_tx *tx, const char *id, uint64_t chunks, uint8_t root[32]) {
  root_ctx rc;
  parley_tlog_frontier_init(&rc.f);
  rc.next = 0;
  rc.gap = false;
  while ((uint64_t)rc.next < chunks && !rc.gap) {
    int64_t before = rc.next;
    parley_qs qs =
        parley_store_evidence_chunk_hashes(tx, id, rc.next, HASHES_PER_PAGE, add_leaf, &rc);
    if (qs < 0) return qs;
    if (rc.next == before) break;
  }
  if (rc.gap || (uint64_t)rc.next != chunks) return PARLEY_QS_NONE;
  parley_tlog_frontier_root(&rc.f, root);
  return PARLEY_QS_ONE;
}

static parley_qs patch_tx(parley_tx *tx, void *cls, parley_error *err) {
  patch_ctx *c = cls;
  c->merkle_mismatch = false;
  parley_qs qs = load_access(tx, &c->a);
  if (qs < 0) return qs;
  if (!c->a.found || !c->a.sender) {
    parley_fail(err, PARLEY_E_EVIDENCE_UNKNOWN, "%s", c->a.id);
    return PARLEY_QS_HARD;
  }
  parley_evidence_row *e = &c->a.row;
  if (e->status != PARLEY_EVIDENCE_UPLOADING) {
    parley_fail(err, PARLEY_E_EVIDENCE_STATE, "the package is %s", status_name(e->status));
    return PARLEY_QS_HARD;
  }
  if ((uint64_t)e->upload_offset != c->offset) {
    parley_fail(err, PARLEY_E_EVIDENCE_OFFSET, "the hub's offset is %lld",
                (long long)e->upload_offset);
    return PARLEY_QS_HARD;
  }
  if ((qs = parleyd_tx_nonce(tx, c->r, err)) != PARLEY_QS_ONE) return qs;
  size_t pos = 0;
  for (size_t i = 0; i < c->n_chunks; i++) {
    size_t n = (size_t)chunk_len((uint64_t)e->ciphertext_size, c->first_chunk + i);
    qs = parley_store_evidence_chunk_put(tx, e->id, (int64_t)(c->first_chunk + i), c->hashes[i],
                                         db_chunks() ? c->data + pos : NULL, n);
    if (qs < 0) return qs;
    pos += n;
  }
  e->upload_offset = (int64_t)(c->offset + c->len);
  e->updated = parley_now();
  if (e->upload_offset == e->ciphertext_size) {
    /* complete: the stored chunks must give the manifest's root */
    parley_evidence_info info;
    json_t *m = NULL;
    parley_json_limits lim = PARLEY_EVIDENCE_JSON_LIMITS;
    if (parley_json_parse_object(e->manifest, e->manifest_len, &lim, &m, err) ||
        parley_evidence_manifest_parse(m, &info, err)) {
      json_decref(m);
      return PARLEY_QS_HARD;
    }
    json_decref(m);
    uint8_t root[32];
    qs = stored_root(tx, e->id, info.chunks, root);
    if (qs < 0) return qs;
    if (qs == PARLEY_QS_ONE && sodium_memcmp(root, info.merkle_root, 32) == 0) {
      e->status = PARLEY_EVIDENCE_AVAILABLE;
      if ((qs = custody_append(tx, e->id, e->manifest_hash, "uploaded",
                               "every chunk stored; the Merkle root matches the manifest", err)) <
              0 ||
          (qs = custody_append(tx, e->id, e->manifest_hash, "available", NULL, err)) < 0)
        return qs;
    } else {
      c->merkle_mismatch = true;
      e->status = PARLEY_EVIDENCE_REJECTED;
      if ((qs = custody_append(tx, e->id, e->manifest_hash, "rejected",
                               "the stored ciphertext does not match the manifest's Merkle root",
                               err)) < 0 ||
          (qs = parley_store_evidence_chunks_delete(tx, e->id)) < 0)
        return qs;
    }
  }
  c->new_offset = e->upload_offset;
  return parley_store_evidence_update(tx, e);
}

static bool write_all_at(int fd, const uint8_t *p, size_t n, uint64_t off) {
  while (n) {
    ssize_t w = pwrite(fd, p, n, (off_t)off);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;
    p += w;
    n -= (size_t)w;
    off += (uint64_t)w;
  }
  return true;
}

/* PATCHes of one package run one at a time (striped locks by id): a second PATCH at the
 * same offset waits, then finds the offset moved, and never overwrites bytes whose hash
 * another PATCH committed. */
#define PATCH_LOCKS 64
static pthread_mutex_t patch_locks[PATCH_LOCKS];
static pthread_once_t patch_locks_once = PTHREAD_ONCE_INIT;

static void patch_locks_init(void) {
  for (int i = 0; i < PATCH_LOCKS; i++)
    pthread_mutex_init(&patch_locks[i], NULL);
}

static pthread_mutex_t *patch_lock(const char *id) {
  pthread_once(&patch_locks_once, patch_locks_init);
  uint32_t h = 2166136261u;
  for (const char *p = id; *p; p++)
    h = (h ^ (uint8_t)*p) * 16777619u;
  return &patch_locks[h % PATCH_LOCKS];
}

static void evidence_patch_locked(parleyd_req *r);

void h_evidence_patch(parleyd_req *r) {
  pthread_mutex_t *m = patch_lock(r->params[0]);
  pthread_mutex_lock(m);
  evidence_patch_locked(r);
  pthread_mutex_unlock(m);
}

static void evidence_patch_locked(parleyd_req *r) {
  if (!tus_ok(r)) return;
  const char *ct = parleyd_header(r, MHD_HTTP_HEADER_CONTENT_TYPE);
  if (!ct || strcasecmp(ct, "application/offset+octet-stream") != 0) {
    parleyd_reply_error(r, PARLEY_E_CONTENT_TYPE,
                        "a PATCH body is application/offset+octet-stream");
    return;
  }
  const char *off_hdr = parleyd_header(r, "Upload-Offset");
  patch_ctx c;
  memset(&c, 0, sizeof c);
  if (!off_hdr || !parley_parse_u64(off_hdr, &c.offset)) {
    parleyd_reply_error(r, PARLEY_E_INVALID_ARGUMENT, "Upload-Offset: a decimal byte offset");
    return;
  }
  access_ctx pre;
  if (!access_check(r, &pre, true, false)) return;
  uint64_t total = (uint64_t)pre.row.ciphertext_size;
  parley_evidence_status st = pre.row.status;
  uint64_t stored = (uint64_t)pre.row.upload_offset;
  parley_evidence_row_clear(&pre.row);
  if (st != PARLEY_EVIDENCE_UPLOADING) {
    parleyd_reply_error(r, PARLEY_E_EVIDENCE_STATE, status_name(st));
    return;
  }
  if (c.offset != stored) {
    char d[64];
    snprintf(d, sizeof d, "the hub's offset is %llu", (unsigned long long)stored);
    parleyd_reply_error(r, PARLEY_E_EVIDENCE_OFFSET, d);
    return;
  }
  c.data = r->body.data;
  c.len = r->body.len;
  if (c.offset % PARLEY_EVIDENCE_CHUNK_CT || c.len == 0 || c.len > total - c.offset) {
    parleyd_reply_error(r, PARLEY_E_EVIDENCE_CHUNK,
                        "the body must be whole chunks within the package");
    return;
  }
  c.first_chunk = c.offset / PARLEY_EVIDENCE_CHUNK_CT;
  size_t pos = 0;
  uint8_t hashes[4][32];
  while (pos < c.len) {
    uint64_t n = chunk_len(total, c.first_chunk + c.n_chunks);
    if (n == 0 || n > c.len - pos || c.n_chunks == 4) {
      parleyd_reply_error(r, PARLEY_E_EVIDENCE_CHUNK, "the body must end on a chunk boundary");
      return;
    }
    parley_evidence_chunk_hash(c.data + pos, (size_t)n, hashes[c.n_chunks]);
    c.n_chunks++;
    pos += (size_t)n;
  }
  c.hashes = hashes;
  if (!db_chunks()) {
    /* durable before the offset that covers it is committed */
    char path[600];
    if (mkdir(parleyd->cfg.evidence_dir, 0700) != 0 && errno != EEXIST)
      parley_log(PARLEY_LOG_ERROR, "evidence.mkdir_failed", "errno=%d", errno);
    int fd = file_path(r->params[0], path, sizeof path)
                 ? open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600)
                 : -1;
    bool ok = fd >= 0 && write_all_at(fd, c.data, c.len, c.offset) && fdatasync(fd) == 0;
    if (fd >= 0) close(fd);
    if (!ok) {
      parley_log(PARLEY_LOG_ERROR, "evidence.write_failed", "id=%s errno=%d", r->params[0], errno);
      parleyd_reply_error(r, PARLEY_E_IO, "storing the chunk failed");
      return;
    }
  }
  c.r = r;
  c.a.id = r->params[0];
  c.a.state = r->who.state;
  c.a.poc = r->who.poc_id;
  parley_error err;
  parley_err e = parley_store_run_named(parleyd->store, "evidence_patch", true, patch_tx, &c, &err);
  parley_evidence_row_clear(&c.a.row);
  if (e) {
    parleyd_reply_err(r, &err);
    return;
  }
  if (c.merkle_mismatch) {
    char path[600];
    if (!db_chunks() && file_path(r->params[0], path, sizeof path)) unlink(path);
    parleyd_reply_error(r, PARLEY_E_EVIDENCE_MERKLE, r->params[0]);
    return;
  }
  char off[32];
  snprintf(off, sizeof off, "%lld", (long long)c.new_offset);
  const char *hdrs[] = {"Upload-Offset", off, NULL};
  reply_json_hdr(r, 204, NULL, hdrs);
}

/* ---- DELETE /v1/evidence/{id}/upload (tus termination) ---------------------------- */

typedef struct {
  parleyd_req *r;
  access_ctx a;
  const char *event, *detail;
} end_ctx;

/* Ends a package (cancelled or deleted): chunks deleted, custody kept and extended. */
static parley_qs end_package(parley_tx *tx, parley_evidence_row *e, parley_evidence_status to,
                             const char *event, const char *detail, parley_error *err) {
  parley_qs qs = parley_store_evidence_chunks_delete(tx, e->id);
  if (qs < 0) return qs;
  if ((qs = custody_append(tx, e->id, e->manifest_hash, event, detail, err)) < 0) return qs;
  e->status = to;
  e->updated = parley_now();
  return parley_store_evidence_update(tx, e);
}

static parley_qs terminate_tx(parley_tx *tx, void *cls, parley_error *err) {
  end_ctx *c = cls;
  parley_qs qs = load_access(tx, &c->a);
  if (qs < 0) return qs;
  if (!c->a.found || !c->a.sender) {
    parley_fail(err, PARLEY_E_EVIDENCE_UNKNOWN, "%s", c->a.id);
    return PARLEY_QS_HARD;
  }
  if (c->a.row.status != PARLEY_EVIDENCE_UPLOADING) {
    parley_fail(err, PARLEY_E_EVIDENCE_STATE, "the package is %s", status_name(c->a.row.status));
    return PARLEY_QS_HARD;
  }
  if ((qs = parleyd_tx_nonce(tx, c->r, err)) != PARLEY_QS_ONE) return qs;
  return end_package(tx, &c->a.row, PARLEY_EVIDENCE_CANCELLED, "cancelled", c->detail, err);
}

void h_evidence_terminate(parleyd_req *r) {
  if (!tus_ok(r)) return;
  end_ctx c;
  memset(&c, 0, sizeof c);
  char detail[128];
  snprintf(detail, sizeof detail, "upload terminated by %s/%s", r->who.state, r->who.poc_id);
  c.r = r;
  c.detail = detail;
  c.a.id = r->params[0];
  c.a.state = r->who.state;
  c.a.poc = r->who.poc_id;
  parley_error err;
  parley_err e =
      parley_store_run_named(parleyd->store, "evidence_terminate", true, terminate_tx, &c, &err);
  parley_evidence_row_clear(&c.a.row);
  if (e) {
    parleyd_reply_err(r, &err);
    return;
  }
  char path[600];
  if (!db_chunks() && file_path(r->params[0], path, sizeof path)) unlink(path);
  reply_json_hdr(r, 204, NULL, NULL);
}

/* ---- listings ------------------------------------------------------------------- */

static bool list_cb(void *cls, const parley_evidence_row *e) {
  json_array_append_new(cls, row_json(e));
  return true;
}

typedef struct {
  parleyd_req *r;
  json_t *list;
} list_ctx;

static parley_qs list_tx(parley_tx *tx, void *cls, parley_error *err) {
  (void)err;
  list_ctx *c = cls;
  json_array_clear(c->list);
  parley_qs qs =
      parley_store_evidence_list(tx, c->r->who.state, c->r->who.poc_id, list_cb, c->list);
  return qs < 0 ? qs : PARLEY_QS_ONE;
}

void h_evidence_list(parleyd_req *r) {
  list_ctx c = {r, json_array()};
  parley_error err;
  if (!c.list) {
    parleyd_reply_error(r, PARLEY_E_NO_MEMORY, NULL);
    return;
  }
  if (parley_store_run_named(parleyd->store, "evidence_list", false, list_tx, &c, &err)) {
    json_decref(c.list);
    parleyd_reply_err(r, &err);
    return;
  }
  parleyd_reply_json(r, 200, json_pack("{s:o}", "packages", c.list));
}

void h_evidence_get(parleyd_req *r) {
  access_ctx a;
  if (!access_check(r, &a, true, true)) return;
  json_t *o = row_json(&a.row);
  json_t *m = NULL;
  parley_json_limits lim = PARLEY_EVIDENCE_JSON_LIMITS;
  parley_error err;
  if (parley_json_parse_object(a.row.manifest, a.row.manifest_len, &lim, &m, &err)) {
    json_decref(o);
    parley_evidence_row_clear(&a.row);
    parleyd_reply_error(r, PARLEY_E_INTERNAL, "stored manifest does not parse");
    return;
  }
  json_object_set_new(o, "manifest", m);
  parley_evidence_row_clear(&a.row);
  parleyd_reply_json(r, 200, o);
}

/* ---- GET /v1/evidence/{id}/chunks?from=N -------------------------------------------- */

typedef struct {
  const char *id;
  int64_t from;
  json_t *hashes;
} hashes_ctx;

static bool hash_cb(void *cls, int64_t idx, const uint8_t hash[32]) {
  (void)idx;
  char b[64];
  parley_b64url_encode(hash, 32, b, sizeof b);
  json_array_append_new(((hashes_ctx *)cls)->hashes, json_string(b));
  return true;
}

static parley_qs hashes_tx(parley_tx *tx, void *cls, parley_error *err) {
  (void)err;
  hashes_ctx *c = cls;
  json_array_clear(c->hashes);
  parley_qs qs =
      parley_store_evidence_chunk_hashes(tx, c->id, c->from, HASHES_PER_PAGE, hash_cb, c);
  return qs < 0 ? qs : PARLEY_QS_ONE;
}

void h_evidence_chunks(parleyd_req *r) {
  const char *from = parleyd_query(r, "from");
  uint64_t f = 0;
  if (from && (!parley_parse_u64(from, &f) || f > (1ull << 40))) {
    parleyd_reply_error(r, PARLEY_E_INVALID_ARGUMENT, "from: a chunk index");
    return;
  }
  access_ctx a;
  if (!access_check(r, &a, true, true)) return;
  int64_t size = a.row.ciphertext_size;
  parley_evidence_row_clear(&a.row);
  hashes_ctx c = {r->params[0], (int64_t)f, json_array()};
  parley_error err;
  if (!c.hashes ||
      parley_store_run_named(parleyd->store, "evidence_chunks", false, hashes_tx, &c, &err)) {
    json_decref(c.hashes);
    parleyd_reply_err(r, &err);
    return;
  }
  uint64_t total = ((uint64_t)size + PARLEY_EVIDENCE_CHUNK_CT - 1) / PARLEY_EVIDENCE_CHUNK_CT;
  parleyd_reply_json(r, 200,
                     json_pack("{s:I,s:I,s:o}", "from", (json_int_t)f, "chunks", (json_int_t)total,
                               "hashes", c.hashes));
}

/* ---- GET /v1/evidence/{id}/content (Range) ----------------------------------------- */

typedef struct {
  char id[PARLEY_UUID_LEN];
  int fd;             /* SQLite store: the ciphertext file */
  uint64_t start;     /* of the response in the ciphertext */
  uint64_t total;     /* ciphertext size */
  int64_t cached_idx; /* database store: the chunk in buf */
  uint8_t *buf;
  size_t buf_len;
} content_ctx;

typedef struct {
  content_ctx *c;
  int64_t idx;
} chunk_read_ctx;

static parley_qs chunk_read_tx(parley_tx *tx, void *cls, parley_error *err) {
  (void)err;
  chunk_read_ctx *k = cls;
  uint8_t h[32], *data = NULL;
  size_t len = 0;
  parley_qs qs = parley_store_evidence_chunk_get(tx, k->c->id, k->idx, h, &data, &len);
  if (qs != PARLEY_QS_ONE || !data) {
    free(data);
    return qs < 0 ? qs : PARLEY_QS_HARD;
  }
  free(k->c->buf);
  k->c->buf = data;
  k->c->buf_len = len;
  k->c->cached_idx = k->idx;
  return PARLEY_QS_ONE;
}

static ssize_t content_read(void *cls, uint64_t pos, char *out, size_t max) {
  content_ctx *c = cls;
  uint64_t at = c->start + pos;
  if (at >= c->total) return MHD_CONTENT_READER_END_OF_STREAM;
  if (c->fd >= 0) {
    ssize_t n;
    do
      n = pread(c->fd, out, max, (off_t)at);
    while (n < 0 && errno == EINTR);
    return n > 0 ? n : MHD_CONTENT_READER_END_WITH_ERROR;
  }
  int64_t idx = (int64_t)(at / PARLEY_EVIDENCE_CHUNK_CT);
  if (idx != c->cached_idx) {
    chunk_read_ctx k = {c, idx};
    parley_error err;
    if (parley_store_run_named(parleyd->store, "evidence_read", false, chunk_read_tx, &k, &err))
      return MHD_CONTENT_READER_END_WITH_ERROR;
  }
  uint64_t within = at - (uint64_t)idx * PARLEY_EVIDENCE_CHUNK_CT;
  if (within >= c->buf_len) return MHD_CONTENT_READER_END_WITH_ERROR;
  size_t n = c->buf_len - (size_t)within;
  if (n > max) n = max;
  memcpy(out, c->buf + within, n);
  return (ssize_t)n;
}

static void content_free(void *cls) {
  content_ctx *c = cls;
  if (c->fd >= 0) close(c->fd);
  free(c->buf);
  free(c);
}

/* "bytes=A-" or "bytes=A-B" (one range); false if malformed. */
static bool parse_range(const char *v, uint64_t size, uint64_t *a, uint64_t *b, bool *ok) {
  *ok = false;
  if (strncmp(v, "bytes=", 6) != 0) return false;
  v += 6;
  const char *dash = strchr(v, '-');
  if (!dash || dash == v || strchr(v, ',')) return false;
  char first[24];
  size_t n = (size_t)(dash - v);
  if (n >= sizeof first) return false;
  memcpy(first, v, n);
  first[n] = 0;
  if (!parley_parse_u64(first, a)) return false;
  if (dash[1]) {
    if (!parley_parse_u64(dash + 1, b) || *b < *a) return false;
    if (*b >= size) *b = size - 1;
  } else {
    *b = size ? size - 1 : 0;
  }
  *ok = *a < size;
  return true;
}

void h_evidence_content(parleyd_req *r) {
  access_ctx a;
  if (!access_check(r, &a, false, true)) return;
  parley_evidence_status st = a.row.status;
  uint64_t total = (uint64_t)a.row.ciphertext_size;
  parley_evidence_row_clear(&a.row);
  if (st != PARLEY_EVIDENCE_AVAILABLE) {
    parleyd_reply_error(r, PARLEY_E_EVIDENCE_STATE, status_name(st));
    return;
  }
  uint64_t from = 0, to = total ? total - 1 : 0;
  bool partial = false;
  const char *range = parleyd_header(r, "Range");
  if (range) {
    bool satisfiable;
    if (parse_range(range, total, &from, &to, &satisfiable)) {
      if (!satisfiable) {
        char cr[64], d[96];
        snprintf(cr, sizeof cr, "bytes */%llu", (unsigned long long)total);
        snprintf(d, sizeof d, "the ciphertext has %llu bytes", (unsigned long long)total);
        json_t *o = json_pack("{s:s,s:s,s:s}", "code", parley_err_name(PARLEY_E_EVIDENCE_RANGE),
                              "hint", parley_err_hint(PARLEY_E_EVIDENCE_RANGE), "detail", d);
        const char *hdrs[] = {"Content-Range", cr, NULL};
        reply_json_hdr(r, 416, o, hdrs);
        return;
      }
      partial = true;
    } /* a malformed Range is ignored (RFC 9110 14.2): the whole content */
  }
  content_ctx *c = calloc(1, sizeof *c);
  if (!c) {
    parleyd_reply_error(r, PARLEY_E_NO_MEMORY, NULL);
    return;
  }
  parley_strlcpy(c->id, r->params[0], sizeof c->id);
  c->fd = -1;
  c->cached_idx = -1;
  c->start = from;
  c->total = to + 1;
  if (!db_chunks()) {
    char path[600];
    c->fd = file_path(c->id, path, sizeof path) ? open(path, O_RDONLY | O_CLOEXEC) : -1;
    if (c->fd < 0) {
      free(c);
      parleyd_reply_error(r, PARLEY_E_IO, "the ciphertext file is missing");
      return;
    }
  }
  uint64_t len = total ? to - from + 1 : 0;
  struct MHD_Response *resp =
      MHD_create_response_from_callback(len, 64 * 1024, content_read, c, content_free);
  if (!resp) {
    content_free(c);
    parleyd_reply_error(r, PARLEY_E_NO_MEMORY, NULL);
    return;
  }
  MHD_add_response_header(resp, "Content-Type", "application/octet-stream");
  MHD_add_response_header(resp, "Accept-Ranges", "bytes");
  if (partial) {
    char cr[96];
    snprintf(cr, sizeof cr, "bytes %llu-%llu/%llu", (unsigned long long)from,
             (unsigned long long)to, (unsigned long long)total);
    MHD_add_response_header(resp, "Content-Range", cr);
  }
  parleyd_reply_response(r, partial ? 206 : 200, resp);
}

/* ---- custody -------------------------------------------------------------------- */

typedef struct {
  parleyd_req *r;
  access_ctx a;
  parley_buf canon;
  char event[32];
  int64_t seq, leaf;
  const json_t *ev;         /* the event as received */
  parley_envelope_party to; /* shared: the new POC */
} custody_add_ctx;

/* A "shared" event: the package is available, the consent is the original sender's
 * (verified with the sender POC's current signing key: the consent is logged now, in this
 * event, and a key removed from the sender's record signs no consent logged after its
 * removal, as clients check after a rotation) and names this package and the new POC,
 * whose key is its current encryption key; then the POC becomes a recipient. */
static parley_qs share_check_tx(parley_tx *tx, custody_add_ctx *c, parley_error *err) {
  const parley_evidence_row *e = &c->a.row;
  if (e->status != PARLEY_EVIDENCE_AVAILABLE) {
    parley_fail(err, PARLEY_E_EVIDENCE_STATE, "the package is %s", status_name(e->status));
    return PARLEY_QS_HARD;
  }
  const parley_envelope_party *to = &c->to;
  const json_t *consent = json_object_get(c->ev, "consent");
  parley_qs qs;
  if (!consent) {
    parley_fail(err, PARLEY_E_EVIDENCE_CONSENT, "the shared event carries no consent");
    return PARLEY_QS_HARD;
  }
  /* the sender's current signing key: its officer key, as the hub knows it from the
   * state's current record */
  const char *kid = json_string_value(json_object_get(json_object_get(consent, "by"), "key_id"));
  parley_key_row key;
  memset(&key, 0, sizeof key);
  qs =
      kid && strlen(kid) < sizeof key.key_id ? parley_store_key_get(tx, kid, &key) : PARLEY_QS_NONE;
  if (qs < 0) return qs;
  if (qs == PARLEY_QS_NONE || key.role != PARLEY_ROLE_OFFICER || strcmp(key.state, e->from_state) ||
      strcmp(key.poc_id, e->from_poc)) {
    parley_fail(err, PARLEY_E_EVIDENCE_CONSENT,
                "the consent is not signed by a current key of the sender %s/%s (a key removed "
                "from its record signs no consent logged after)",
                e->from_state, e->from_poc);
    return PARLEY_QS_HARD;
  }
  parley_sign_pk pk;
  parley_hash mh;
  memcpy(pk.b, key.pk, 32);
  memcpy(mh.b, e->manifest_hash, 32);
  if (parley_consent_verify(consent, e->id, &mh, to->state, to->poc, e->from_state, e->from_poc,
                            &pk, err))
    return PARLEY_QS_HARD;
  parleyd_recipient_check poc;
  if ((qs = parleyd_poc_lookup(tx, to->state, to->poc, &poc)) < 0) return qs;
  if (qs == PARLEY_QS_NONE || strcmp(poc.key_id, to->key_id) != 0 || poc.expires <= parley_now()) {
    parley_fail(err, PARLEY_E_RECIPIENT_UNKNOWN,
                "recipient: %s/%s with key %s is not in %s's current record", to->state, to->poc,
                to->key_id, to->state);
    return PARLEY_QS_HARD;
  }
  parley_evidence_recipient_row rr;
  memset(&rr, 0, sizeof rr);
  parley_strlcpy(rr.evidence_id, e->id, sizeof rr.evidence_id);
  parley_strlcpy(rr.state, to->state, sizeof rr.state);
  parley_strlcpy(rr.poc, to->poc, sizeof rr.poc);
  parley_strlcpy(rr.key_id, to->key_id, sizeof rr.key_id);
  if ((qs = parley_store_evidence_recipient_add(tx, e->id, &rr)) == PARLEY_QS_NONE) {
    parley_fail(err, PARLEY_E_EVIDENCE_INVALID, "recipient: %s/%s has the package already",
                to->state, to->poc);
    return PARLEY_QS_HARD;
  }
  return qs;
}

static parley_qs custody_add_tx(parley_tx *tx, void *cls, parley_error *err) {
  custody_add_ctx *c = cls;
  parley_qs qs = parleyd_tx_nonce(tx, c->r, err);
  if (qs != PARLEY_QS_ONE) return qs;
  if (!strcmp(c->event, "shared") && (qs = share_check_tx(tx, c, err)) != PARLEY_QS_ONE) return qs;
  uint64_t leaf;
  if ((qs = parleyd_log_append(tx, PARLEY_LOG_KIND_CUSTODY, c->canon.data, c->canon.len, &leaf,
                               err)) != PARLEY_QS_ONE)
    return qs;
  parley_custody_row row = {.at = parley_now(),
                            .leaf_index = (int64_t)leaf,
                            .body = (char *)c->canon.data,
                            .body_len = c->canon.len};
  parley_strlcpy(row.evidence_id, c->a.id, sizeof row.evidence_id);
  parley_strlcpy(row.event, c->event, sizeof row.event);
  if ((qs = parley_store_custody_insert(tx, &row)) < 0) return qs;
  c->seq = row.seq;
  c->leaf = (int64_t)leaf;
  return PARLEY_QS_ONE;
}

void h_evidence_custody_add(parleyd_req *r) {
  custody_add_ctx *c = calloc(1, sizeof *c);
  if (!c) {
    parleyd_reply_error(r, PARLEY_E_NO_MEMORY, NULL);
    return;
  }
  if (!access_check(r, &c->a, false, true)) {
    free(c);
    return;
  }
  json_t *ev = parleyd_parse_body(r);
  parley_error err;
  parley_err e = PARLEY_E_OK;
  parley_sign_pk pk;
  memcpy(pk.b, r->who.pk, 32);
  parley_buf_init(&c->canon, 16384);
  const json_t *actor = json_object_get(ev, "actor");
  const char *event = json_string_value(json_object_get(ev, "event"));
  const char *evid = json_string_value(json_object_get(ev, "evidence"));
  const char *mh = json_string_value(json_object_get(ev, "manifest_sha256"));
  char want[64];
  parley_b64url_encode(c->a.row.manifest_hash, 32, want, sizeof want);
  if (!ev)
    e = PARLEY_E_JSON_MALFORMED; /* answered by parleyd_parse_body */
  else if ((e = parley_custody_verify(ev, &pk, &err)))
    ;
  else if (!event ||
           (strcmp(event, "downloaded") && strcmp(event, "verified") && strcmp(event, "shared")))
    e = parley_fail(&err, PARLEY_E_EVIDENCE_INVALID, "event: downloaded, verified or shared");
  else if (!evid || strcmp(evid, c->a.id) || !mh || strcmp(mh, want))
    e = parley_fail(&err, PARLEY_E_EVIDENCE_INVALID, "names another package or manifest");
  else if (!json_string_value(json_object_get(actor, "state")) ||
           !json_string_value(json_object_get(actor, "poc")) ||
           strcmp(json_string_value(json_object_get(actor, "state")), r->who.state) ||
           strcmp(json_string_value(json_object_get(actor, "poc")), r->who.poc_id))
    e = parley_fail(&err, PARLEY_E_EVIDENCE_INVALID, "actor: must be the caller");
  else
    e = parley_jcs(ev, &c->canon, &err);
  if (!e && !strcmp(event, "shared")) e = parley_custody_shared_recipient(ev, &c->to, &err);
  if (!e) {
    parley_strlcpy(c->event, event, sizeof c->event);
    c->r = r;
    c->ev = ev;
    e = parley_store_run_named(parleyd->store, "evidence_custody", true, custody_add_tx, c, &err);
  }
  json_decref(ev);
  if (e) {
    if (!r->replied) parleyd_reply_err(r, &err);
  } else {
    if (!strcmp(c->event, "shared"))
      parley_log(PARLEY_LOG_INFO, "evidence.shared", "id=%s by=%s/%s to=%s/%s leaf=%lld", c->a.id,
                 r->who.state, r->who.poc_id, c->to.state, c->to.poc, (long long)c->leaf);
    parleyd_reply_json(r, 201,
                       json_pack("{s:I,s:s,s:I}", "seq", (json_int_t)c->seq, "event", c->event,
                                 "leaf_index", (json_int_t)c->leaf));
  }
  parley_evidence_row_clear(&c->a.row);
  parley_buf_free(&c->canon);
  free(c);
}

static bool custody_cb(void *cls, const parley_custody_row *row) {
  json_t *rec = NULL;
  parley_json_limits lim = PARLEY_EVIDENCE_JSON_LIMITS;
  parley_error err;
  /* served as stored, so that its signature verifies as is (or is seen not to) */
  if (parley_json_parse_object(row->body, row->body_len, &lim, &rec, &err)) rec = json_null();
  json_array_append_new(cls, json_pack("{s:I,s:s,s:I,s:o}", "seq", (json_int_t)row->seq, "event",
                                       row->event, "leaf_index", (json_int_t)row->leaf_index,
                                       "record", rec));
  return true;
}

typedef struct {
  const char *id;
  json_t *list;
} custody_list_ctx;

static parley_qs custody_list_tx(parley_tx *tx, void *cls, parley_error *err) {
  (void)err;
  custody_list_ctx *c = cls;
  json_array_clear(c->list);
  parley_qs qs = parley_store_custody_list(tx, c->id, custody_cb, c->list);
  return qs < 0 ? qs : PARLEY_QS_ONE;
}

void h_evidence_custody(parleyd_req *r) {
  access_ctx a;
  if (!access_check(r, &a, true, true)) return;
  json_t *o = row_json(&a.row);
  parley_evidence_row_clear(&a.row);
  custody_list_ctx c = {r->params[0], json_array()};
  parley_error err;
  if (!o || !c.list ||
      parley_store_run_named(parleyd->store, "evidence_custody", false, custody_list_tx, &c,
                             &err)) {
    json_decref(o);
    json_decref(c.list);
    parleyd_reply_err(r, &err);
    return;
  }
  json_object_set_new(o, "custody", c.list);
  parleyd_reply_json(r, 200, o);
}

/* ---- retention (job_evidence) ------------------------------------------------------ */

typedef struct {
  parley_evidence_row rows[16];
  size_t n;
} expired_ctx;

static bool expired_cb(void *cls, const parley_evidence_row *e) {
  expired_ctx *c = cls;
  if (c->n < 16) c->rows[c->n++] = *e;
  return c->n < 16;
}

static parley_qs expired_tx(parley_tx *tx, void *cls, parley_error *err) {
  (void)err;
  expired_ctx *c = cls;
  c->n = 0;
  parley_qs qs = parley_store_evidence_expired(tx, parley_now(), 16, expired_cb, c);
  return qs < 0 ? qs : PARLEY_QS_ONE;
}

typedef struct {
  parley_evidence_row *row;
  bool done;
} delete_ctx;

static parley_qs delete_tx(parley_tx *tx, void *cls, parley_error *err) {
  delete_ctx *d = cls;
  parley_evidence_row cur;
  d->done = false;
  parley_qs qs = parley_store_evidence_get(tx, d->row->id, &cur);
  if (qs <= 0) return qs;
  parley_evidence_row_clear(&cur);
  if (cur.status > PARLEY_EVIDENCE_AVAILABLE || cur.retain_until > parley_now())
    return PARLEY_QS_NONE; /* another instance did it */
  char detail[96], t[PARLEY_TIME_LEN];
  parley_time_format(cur.retain_until, t);
  snprintf(detail, sizeof detail, "ciphertext deleted: retention ended %s", t);
  qs = end_package(tx, &cur, PARLEY_EVIDENCE_DELETED, "deleted", detail, err);
  d->done = qs == PARLEY_QS_ONE;
  return qs;
}

void parleyd_job_evidence_retention(void) {
  expired_ctx c;
  parley_error err;
  if (parley_store_run_named(parleyd->store, "evidence_expired", false, expired_tx, &c, &err))
    return;
  for (size_t i = 0; i < c.n; i++) {
    delete_ctx d = {&c.rows[i], false};
    if (parley_store_run_named(parleyd->store, "evidence_retention", true, delete_tx, &d, &err))
      continue;
    char path[600];
    if (d.done && !db_chunks() && file_path(c.rows[i].id, path, sizeof path)) unlink(path);
    if (d.done) parley_log(PARLEY_LOG_INFO, "evidence.deleted", "id=%s", c.rows[i].id);
  }
}
