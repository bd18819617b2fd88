/* The directory in the transparency log (docs/tlog.md, "The directory commitment"):
 * every directory change is logged in clear, and every checkpoint commits to each
 * state's (version, root key, record hash, operator replacement). A directory change
 * signs a checkpoint in its own transaction, so the latest checkpoint's commitment is
 * always the directory as stored, and a proof for it can be served from the table. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "parley/tlog.h"

#include "handlers.h"
#include "parley/directory.h"

parley_qs parleyd_dir_log(parley_tx *tx, json_t *obj, uint64_t *leaf, parley_error *err) {
  parley_buf b;
  parley_buf_init(&b, PARLEY_TILE_ENTRY_MAX + 64);
  parley_qs qs = PARLEY_QS_HARD;
  if (obj && parley_dir_entry(obj, parley_now(), &b, err) == PARLEY_E_OK)
    qs = parleyd_log_entry(tx, PARLEY_DIR_ENTRY_KIND, b.data, b.len, leaf, err);
  json_decref(obj);
  parley_buf_free(&b);
  return qs;
}

/* Record hashes by (state, version): a version's record never changes, so the cache
 * stays right with several hubs on one store. */
#define HASH_CACHE 4096
static struct {
  char state[4];
  int64_t version;
  uint8_t hash[32];
} hash_cache[HASH_CACHE];
static pthread_mutex_t hash_lock = PTHREAD_MUTEX_INITIALIZER;

static size_t slot_of(const char *state) {
  return ((size_t)(unsigned char)state[0] * 26 * 26 + (size_t)(unsigned char)state[1] * 26 +
          (size_t)(unsigned char)state[2]) %
         HASH_CACHE;
}

static parley_qs record_hash(parley_tx *tx, const char *state, int64_t version, uint8_t out[32]) {
  size_t k = slot_of(state);
  pthread_mutex_lock(&hash_lock);
  bool hit = hash_cache[k].version == version && !strcmp(hash_cache[k].state, state);
  if (hit) memcpy(out, hash_cache[k].hash, 32);
  pthread_mutex_unlock(&hash_lock);
  if (hit) return PARLEY_QS_ONE;
  parley_record_row rec;
  memset(&rec, 0, sizeof rec); /* cleared below whatever the store answered */
  parley_qs qs = parley_store_record_get(tx, state, version, &rec);
  if (qs != PARLEY_QS_ONE) {
    parley_record_row_clear(&rec);
    return qs < 0 ? qs : PARLEY_QS_HARD; /* a state's current version always has a record */
  }
  parley_hash h;
  parley_sha256(rec.body, rec.body_len, &h); /* stored as published: its JCS */
  parley_record_row_clear(&rec);
  memcpy(out, h.b, 32);
  pthread_mutex_lock(&hash_lock);
  parley_strlcpy(hash_cache[k].state, state, sizeof hash_cache[k].state);
  hash_cache[k].version = version;
  memcpy(hash_cache[k].hash, h.b, 32);
  pthread_mutex_unlock(&hash_lock);
  return PARLEY_QS_ONE;
}

typedef struct {
  parley_dir_state *s;
  size_t n, cap;
  bool full;
} snap_ctx;

static bool snap_one(void *cls, const parley_state_row *row) {
  snap_ctx *c = cls;
  if (c->n == c->cap) {
    c->full = true;
    return false;
  }
  parley_dir_state *d = &c->s[c->n++];
  memset(d, 0, sizeof *d);
  parley_strlcpy(d->state, row->code, sizeof d->state);
  d->version = row->current_version;
  memcpy(d->root.b, row->root_pk, 32);
  d->root_replaced_at = row->root_replaced_at >= 0 ? row->root_replaced_at : -1;
  return true;
}

parley_qs parleyd_dir_snapshot(parley_tx *tx, parley_dir_state **out, size_t *n,
                               parley_error *err) {
  snap_ctx c = {calloc(PARLEY_DIR_MAX_STATES, sizeof(parley_dir_state)), 0, PARLEY_DIR_MAX_STATES,
                false};
  if (!c.s) {
    parley_fail(err, PARLEY_E_NO_MEMORY, NULL);
    return PARLEY_QS_HARD;
  }
  parley_qs qs = parley_store_state_list(tx, snap_one, &c);
  if (qs >= 0 && c.full) {
    parley_fail(err, PARLEY_E_TOO_LARGE, "more than %d states", PARLEY_DIR_MAX_STATES);
    qs = PARLEY_QS_HARD;
  }
  for (size_t i = 0; qs >= 0 && i < c.n; i++)
    if (c.s[i].version > 0)
      qs = record_hash(tx, c.s[i].state, c.s[i].version, c.s[i].record_sha256);
  if (qs < 0) {
    free(c.s);
    return qs;
  }
  *out = c.s;
  *n = c.n;
  return PARLEY_QS_ONE;
}

parley_qs parleyd_dir_ext(parley_tx *tx, parley_buf *ext, parley_error *err) {
  parley_dir_state *s = NULL;
  size_t n = 0;
  parley_qs qs = parleyd_dir_snapshot(tx, &s, &n, err);
  if (qs < 0) return qs;
  uint8_t root[32];
  parley_err e = parley_dir_root(s, n, root, err);
  if (!e) e = parley_dir_ext_format(n, root, ext, err);
  free(s);
  return e ? PARLEY_QS_HARD : PARLEY_QS_ONE;
}

json_t *parleyd_dir_proof_json(parley_tx *tx, const char *code, parley_qs *qs, parley_error *err) {
  parley_checkpoint_row cp;
  memset(&cp, 0, sizeof cp);
  *qs = parley_store_checkpoint_get(tx, 0, &cp);
  if (*qs != PARLEY_QS_ONE) {
    if (*qs == PARLEY_QS_NONE) {
      parley_fail(err, PARLEY_E_NOT_FOUND, "no checkpoint signed yet");
      *qs = PARLEY_QS_HARD;
    }
    parley_checkpoint_row_clear(&cp);
    return NULL;
  }
  parley_dir_state *s = NULL;
  size_t n = 0;
  json_t *o = NULL;
  if ((*qs = parleyd_dir_snapshot(tx, &s, &n, err)) < 0) {
    parley_checkpoint_row_clear(&cp);
    return NULL;
  }
  size_t index = n;
  for (size_t i = 0; i < n; i++)
    if (!strcmp(s[i].state, code)) index = i;
  uint8_t proof[PARLEY_TLOG_MAX_PROOF][32];
  size_t plen = 0;
  if (index == n) {
    parley_fail(err, PARLEY_E_STATE_UNKNOWN, "%s", code);
    *qs = PARLEY_QS_HARD;
  } else if (parley_dir_proof(s, n, index, proof, &plen, err) != PARLEY_E_OK) {
    *qs = PARLEY_QS_HARD;
  } else {
    json_t *arr = json_array();
    for (size_t i = 0; i < plen; i++) {
      char b64[64];
      parley_b64_encode(proof[i], 32, b64, sizeof b64);
      json_array_append_new(arr, json_string(b64));
    }
    o = json_pack("{s:s,s:I,s:I,s:o}", "checkpoint", cp.note, "index", (json_int_t)index, "count",
                  (json_int_t)n, "proof", arr);
    if (o && s[index].root_replaced_at >= 0)
      json_object_set_new(o, "root_replaced_at", json_integer(s[index].root_replaced_at));
    *qs = o ? PARLEY_QS_ONE : PARLEY_QS_HARD;
  }
  free(s);
  parley_checkpoint_row_clear(&cp);
  return o;
}
