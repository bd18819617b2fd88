/* The transparency log, public to anyone (it holds only hashes and operator events):
 *   GET /log/checkpoint                 C2SP checkpoint signed by the hub (+ cosignatures)
 *   GET /log/proof?index=N | ?leaf=B64  C2SP tlog-proof for an entry, offline-verifiable
 *   GET /log/consistency?from=A&to=B    consistency proof between two tree sizes
 *   GET /log/tile/...                   C2SP tlog-tiles (hash tiles and entry bundles) */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "handlers.h"
#include "parley/tlog.h"
#include "signer_client.h"

/* Public reads never take the write lock: the scheduler signs checkpoints on its
 * interval, and a directory change in its own transaction. */
static parley_qs latest_tx(parley_tx *tx, void *cls, parley_error *err) {
  parley_checkpoint_row *cp = cls;
  parley_checkpoint_row_clear(cp);
  parley_qs qs = parley_store_checkpoint_get(tx, 0, cp);
  if (qs == PARLEY_QS_NONE) {
    parley_fail(err, PARLEY_E_NOT_FOUND, "no checkpoint signed yet");
    return PARLEY_QS_HARD;
  }
  return qs;
}

/* Cache-Control for what changes: checkpoints and partial tiles. */
static void reply_cacheable(parleyd_req *r, const char *type, const void *data, size_t len,
                            bool immutable) {
  struct MHD_Response *resp =
      MHD_create_response_from_buffer(len, (void *)data, MHD_RESPMEM_MUST_COPY);
  if (resp) {
    char cc[64];
    if (immutable)
      snprintf(cc, sizeof cc, "public, max-age=31536000, immutable");
    else
      snprintf(cc, sizeof cc, "public, max-age=%lld",
               (long long)(parleyd->cfg.checkpoint_interval_s < 10
                               ? parleyd->cfg.checkpoint_interval_s
                               : 10));
    MHD_add_response_header(resp, "Content-Type", type);
    MHD_add_response_header(resp, "Cache-Control", cc);
  }
  parleyd_reply_response(r, 200, resp);
}

void h_log_checkpoint(parleyd_req *r) {
  parley_checkpoint_row cp;
  memset(&cp, 0, sizeof cp);
  parley_error err;
  if (parley_store_run_named(parleyd->store, "latest_tx", false, latest_tx, &cp, &err) !=
      PARLEY_E_OK) {
    parley_checkpoint_row_clear(&cp);
    parleyd_reply_err(r, &err);
    return;
  }
  reply_cacheable(r, "text/plain; charset=utf-8", cp.note, strlen(cp.note), false);
  parley_checkpoint_row_clear(&cp);
}

/* ---- proofs --------------------------------------------------------------- */

typedef struct {
  uint64_t index;
  bool by_leaf;
  uint8_t leaf[32];
  parley_checkpoint_row cp;
  uint8_t proof[PARLEY_TLOG_MAX_PROOF][PARLEY_TLOG_HASH_LEN];
  size_t n;
  bool pending; /* the entry is newer than the latest checkpoint */
} proof_ctx;

/* An entry newer than the latest checkpoint gets one signed now, but by one request at
 * a time and at most every 100 ms: a flood of public proof requests costs the writers
 * at most that many write transactions, and waiting requests find the new one. */
static pthread_mutex_t sign_lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t last_forced_ns;

static parley_err sign_for(uint64_t index, parley_error *err) {
  pthread_mutex_lock(&sign_lock);
  parley_checkpoint_row cp;
  memset(&cp, 0, sizeof cp);
  parley_err e = parley_store_run_named(parleyd->store, "latest_tx", false, latest_tx, &cp, err);
  bool covered = e == PARLEY_E_OK && index < cp.size;
  parley_checkpoint_row_clear(&cp);
  if (!covered) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    uint64_t t = (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
    if (last_forced_ns && t - last_forced_ns < 100000000u) {
      struct timespec d = {0, (long)(100000000u - (t - last_forced_ns))};
      nanosleep(&d, NULL);
    }
    e = parleyd_checkpoint(true, &cp, err);
    parley_checkpoint_row_clear(&cp);
    clock_gettime(CLOCK_MONOTONIC, &now);
    last_forced_ns = (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
  }
  pthread_mutex_unlock(&sign_lock);
  return e;
}

static parley_qs proof_tx(parley_tx *tx, void *cls, parley_error *err) {
  proof_ctx *c = cls;
  parley_checkpoint_row_clear(&c->cp);
  if (c->by_leaf) {
    parley_qs qs = parley_store_leaf_find(tx, c->leaf, &c->index);
    if (qs == PARLEY_QS_NONE) {
      parley_fail(err, PARLEY_E_NOT_FOUND, "no entry with that leaf hash");
      return PARLEY_QS_HARD;
    }
    if (qs < 0) return qs;
  }
  uint64_t size;
  parley_qs qs = parley_store_log_size(tx, &size);
  if (qs < 0) return qs;
  if (c->index >= size) {
    parley_fail(err, PARLEY_E_TLOG_RANGE, "index %llu is beyond the log (size %llu)",
                (unsigned long long)c->index, (unsigned long long)size);
    return PARLEY_QS_HARD;
  }
  /* Prove against the latest checkpoint; the caller has one signed if it is too old. */
  qs = parley_store_checkpoint_get(tx, 0, &c->cp);
  if (qs < 0) return qs;
  if (qs == PARLEY_QS_NONE || c->index >= c->cp.size) {
    c->n = 0;
    c->pending = true;
    return PARLEY_QS_ONE;
  }
  c->pending = false;
  parley_err e = parley_tlog_inclusion_proof(parley_store_tlog_hash, tx, c->index, c->cp.size,
                                             c->proof, &c->n, err);
  if (e) return e == PARLEY_E_STORE_RETRY ? PARLEY_QS_RETRY : PARLEY_QS_HARD;
  return PARLEY_QS_ONE;
}

void h_log_proof(parleyd_req *r) {
  proof_ctx *c = calloc(1, sizeof *c);
  if (!c) {
    parleyd_reply_error(r, PARLEY_E_NO_MEMORY, NULL);
    return;
  }
  const char *idx = parleyd_query(r, "index"), *leaf = parleyd_query(r, "leaf");
  if ((idx != NULL) == (leaf != NULL) || (idx && !parley_parse_u64(idx, &c->index)) ||
      (leaf && parley_b64url_decode_exact(leaf, c->leaf, 32) != PARLEY_E_OK)) {
    free(c);
    parleyd_reply_error(r, PARLEY_E_INVALID_ARGUMENT,
                        "give index=N or leaf=<base64url leaf hash>, not both");
    return;
  }
  c->by_leaf = leaf != NULL;
  parley_error err;
  parley_err e0 = parley_store_run_named(parleyd->store, "proof_tx", false, proof_tx, c, &err);
  if (!e0 && c->pending) {
    e0 = sign_for(c->index, &err);
    if (!e0) e0 = parley_store_run_named(parleyd->store, "proof_tx", false, proof_tx, c, &err);
    if (!e0 && c->pending)
      e0 = parley_fail(&err, PARLEY_E_TLOG_RANGE, "index %llu is beyond the log (size %llu)",
                       (unsigned long long)c->index, (unsigned long long)c->cp.size);
  }
  if (e0 != PARLEY_E_OK) {
    parley_checkpoint_row_clear(&c->cp);
    free(c);
    parleyd_reply_err(r, &err);
    return;
  }
  parley_buf b;
  parley_buf_init(&b, 1 << 20);
  parley_err e =
      parley_buf_printf(&b, "c2sp.org/tlog-proof@v1\nindex %llu\n", (unsigned long long)c->index);
  for (size_t i = 0; i < c->n && !e; i++) {
    char h[64];
    parley_b64_encode(c->proof[i], 32, h, sizeof h);
    e = parley_buf_printf(&b, "%s\n", h);
  }
  if (!e) e = parley_buf_printf(&b, "\n%s", c->cp.note);
  parley_checkpoint_row_clear(&c->cp);
  free(c);
  if (e)
    parleyd_reply_error(r, e, "proof");
  else
    parleyd_reply_raw(r, 200, "text/plain; charset=utf-8", b.data, b.len);
  parley_buf_free(&b);
}

typedef struct {
  uint64_t from, to;
  uint8_t proof[PARLEY_TLOG_MAX_PROOF][PARLEY_TLOG_HASH_LEN];
  size_t n;
} cons_ctx;

static parley_qs consistency_tx(parley_tx *tx, void *cls, parley_error *err) {
  cons_ctx *c = cls;
  uint64_t size;
  parley_qs qs = parley_store_log_size(tx, &size);
  if (qs < 0) return qs;
  if (c->to > size || c->from > c->to) {
    parley_fail(err, PARLEY_E_TLOG_RANGE, "need from <= to <= %llu", (unsigned long long)size);
    return PARLEY_QS_HARD;
  }
  parley_err e = parley_tlog_consistency_proof(parley_store_tlog_hash, tx, c->from, c->to, c->proof,
                                               &c->n, err);
  if (e) return e == PARLEY_E_STORE_RETRY ? PARLEY_QS_RETRY : PARLEY_QS_HARD;
  return PARLEY_QS_ONE;
}

void h_log_consistency(parleyd_req *r) {
  cons_ctx *c = calloc(1, sizeof *c);
  const char *from = parleyd_query(r, "from"), *to = parleyd_query(r, "to");
  if (!c || !from || !to || !parley_parse_u64(from, &c->from) || !parley_parse_u64(to, &c->to)) {
    free(c);
    parleyd_reply_error(r, PARLEY_E_INVALID_ARGUMENT, "give from=A&to=B (tree sizes)");
    return;
  }
  parley_error err;
  if (parley_store_run_named(parleyd->store, "consistency_tx", false, consistency_tx, c, &err) !=
      PARLEY_E_OK) {
    free(c);
    parleyd_reply_err(r, &err);
    return;
  }
  json_t *arr = json_array();
  for (size_t i = 0; i < c->n; i++) {
    char h[64];
    parley_b64_encode(c->proof[i], 32, h, sizeof h);
    json_array_append_new(arr, json_string(h));
  }
  parleyd_reply_json(r, 200,
                     json_pack("{s:I,s:I,s:o}", "from", (json_int_t)c->from, "to",
                               (json_int_t)c->to, "proof", arr));
  free(c);
}

/* ---- tiles ---------------------------------------------------------------- */

typedef struct {
  parley_tile t;
  parley_buf *out;
} tile_ctx;

static parley_qs tile_tx(parley_tx *tx, void *cls, parley_error *err) {
  tile_ctx *c = cls;
  parley_buf_reset(c->out);
  /* Tiles are served for the latest checkpoint's tree, so that they match it. */
  parley_checkpoint_row cp;
  parley_qs qs = parley_store_checkpoint_get(tx, 0, &cp);
  if (qs < 0) return qs;
  uint64_t size = qs == PARLEY_QS_ONE ? cp.size : 0;
  if (qs == PARLEY_QS_ONE) parley_checkpoint_row_clear(&cp);
  if (parley_tile_check(&c->t, size, err) != PARLEY_E_OK) return PARLEY_QS_HARD;
  if (!c->t.entries) {
    static _Thread_local uint8_t hashes[PARLEY_TILE_WIDTH * PARLEY_TLOG_HASH_LEN];
    size_t n = 0;
    parley_err e = parley_tile_hashes(parley_store_tlog_hash, tx, &c->t, size, hashes, &n, err);
    if (e) return e == PARLEY_E_STORE_RETRY ? PARLEY_QS_RETRY : PARLEY_QS_HARD;
    return parley_buf_append(c->out, hashes, n) ? PARLEY_QS_HARD : PARLEY_QS_ONE;
  }
  for (unsigned i = 0; i < c->t.width; i++) {
    uint8_t *entry = NULL;
    size_t len = 0;
    qs = parley_store_leaf_entry(tx, c->t.index * PARLEY_TILE_WIDTH + i, &entry, &len);
    if (qs != PARLEY_QS_ONE) return qs == PARLEY_QS_NONE ? PARLEY_QS_HARD : qs;
    parley_err e = parley_tile_bundle_append(c->out, entry, len, err);
    free(entry);
    if (e) return PARLEY_QS_HARD;
  }
  return PARLEY_QS_ONE;
}

/* Full tiles never change once the tree has grown past them (C2SP tlog-tiles), so they
 * are kept in a small direct-mapped cache: serving one is then a copy, not 256 reads. */
#define TILE_CACHE_SLOTS 1024

typedef struct {
  parley_tile t;
  uint8_t *data; /* NULL: empty slot */
  size_t len;
} tile_slot;

static tile_slot tile_cache[TILE_CACHE_SLOTS];
static pthread_mutex_t tile_lock = PTHREAD_MUTEX_INITIALIZER;

static size_t tile_slot_of(const parley_tile *t) {
  uint64_t h = t->index * 0x9e3779b97f4a7c15u ^ ((uint64_t)t->level << 1) ^ (uint64_t)t->entries;
  return (size_t)(h >> 32) % TILE_CACHE_SLOTS;
}

static bool same_tile(const parley_tile *a, const parley_tile *b) {
  return a->entries == b->entries && a->level == b->level && a->index == b->index &&
         a->width == b->width;
}

/* Copies a cached full tile into out; false on a miss. */
static bool tile_cache_get(const parley_tile *t, parley_buf *out) {
  if (t->width != PARLEY_TILE_WIDTH) return false;
  bool hit = false;
  pthread_mutex_lock(&tile_lock);
  tile_slot *s = &tile_cache[tile_slot_of(t)];
  if (s->data && same_tile(&s->t, t)) hit = parley_buf_append(out, s->data, s->len) == PARLEY_E_OK;
  pthread_mutex_unlock(&tile_lock);
  return hit;
}

static void tile_cache_put(const parley_tile *t, const uint8_t *data, size_t len) {
  if (t->width != PARLEY_TILE_WIDTH) return;
  uint8_t *copy = malloc(len);
  if (!copy) return;
  memcpy(copy, data, len);
  pthread_mutex_lock(&tile_lock);
  tile_slot *s = &tile_cache[tile_slot_of(t)];
  free(s->data);
  s->t = *t;
  s->data = copy;
  s->len = len;
  pthread_mutex_unlock(&tile_lock);
}

void h_log_tile(parleyd_req *r) {
  const char *path = r->url + strlen("/log/");
  tile_ctx c;
  parley_error err;
  if (parley_tile_parse_path(path, strlen(path), &c.t, &err) != PARLEY_E_OK) {
    parleyd_reply_err(r, &err);
    return;
  }
  parley_buf out;
  parley_buf_init(&out, PARLEY_TILE_WIDTH * (PARLEY_TILE_ENTRY_MAX + 2));
  c.out = &out;
  if (!tile_cache_get(&c.t, &out)) {
    if (parley_store_run_named(parleyd->store, "tile_tx", false, tile_tx, &c, &err) !=
        PARLEY_E_OK) {
      parley_buf_free(&out);
      parleyd_reply_err(r, &err);
      return;
    }
    tile_cache_put(&c.t, out.data, out.len);
  }
  /* A full tile never changes; a partial one grows with the log. */
  reply_cacheable(r, "application/octet-stream", out.data, out.len, c.t.width == PARLEY_TILE_WIDTH);
  parley_buf_free(&out);
}

/* GET /log/key: the hub's note verifier key ("<origin>+<key id>+<base64 key>"), which
 * clients pin on first use and which witnesses are configured with. */
void h_log_key(parleyd_req *r) {
  parley_error err;
  parley_note_verifier v;
  parleyd_hub_note_verifier(&v);
  char vkey[PARLEY_NOTE_VKEY_MAX + 1];
  if (parley_note_verifier_format(&v, vkey, sizeof vkey, &err) != PARLEY_E_OK) {
    parleyd_reply_err(r, &err);
    return;
  }
  size_t n = strlen(vkey);
  vkey[n] = '\n';
  parleyd_reply_raw(r, 200, "text/plain; charset=utf-8", vkey, n + 1);
}
