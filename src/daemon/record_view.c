/* Parsed, cached views of state records (record_view.h). */
#include "record_view.h"

#include <jansson.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "parley/json.h"
#include "parley/proto.h"

/* More states than the UN has members: past this, the least recently used entry is
 * replaced. */
#define CACHE_STATES 256

typedef struct {
  parleyd_record_view *view;
  uint64_t used; /* for replacement */
} cache_entry;

static struct {
  pthread_mutex_t lock;
  cache_entry entries[CACHE_STATES];
  size_t n;
  uint64_t clock;
} cache = {.lock = PTHREAD_MUTEX_INITIALIZER};

static int role_index(const char *role) {
  for (int i = 0; role && parley_poc_roles[i]; i++)
    if (!strcmp(parley_poc_roles[i], role)) return i;
  return -1;
}

static void view_free(parleyd_record_view *v) {
  if (!v) return;
  for (size_t i = 0; i < v->n_escalation; i++)
    free(v->escalation[i].pocs);
  free(v->escalation);
  free(v->pocs);
  free(v);
}

void parleyd_record_view_release(const parleyd_record_view *cv) {
  parleyd_record_view *v = (parleyd_record_view *)cv;
  if (v && atomic_fetch_sub(&v->refs, 1) == 1) view_free(v);
}

static void parse_poc(json_t *p, parleyd_poc_view *out) {
  parley_strlcpy(out->id, json_string_value(json_object_get(p, "id")), sizeof out->id);
  size_t q;
  json_t *rv;
  json_array_foreach(json_object_get(p, "roles"), q, rv) {
    int k = json_is_string(rv) ? role_index(json_string_value(rv)) : -1;
    if (k >= 0 && out->n_roles < PARLEYD_POC_MAX_ROLES) out->roles[out->n_roles++] = k;
  }
  const char *email = json_string_value(json_object_get(p, "email"));
  const char *hook = json_string_value(json_object_get(p, "webhook"));
  parley_strlcpy(out->email, email ? email : "", sizeof out->email);
  parley_strlcpy(out->webhook, hook ? hook : "", sizeof out->webhook);
  parley_sign_pk spk;
  if (parley_sign_pk_from_b64(json_string_value(json_object_get(p, "signing_key")), &spk) ==
      PARLEY_E_OK) {
    out->has_signing_key = true;
    parley_sign_pk_key_id(&spk, out->signing_key_id);
  }
  json_t *ek = json_object_get(p, "encryption_key");
  parley_box_pk pk;
  if (parley_box_pk_from_b64(json_string_value(json_object_get(ek, "key")), &pk) == PARLEY_E_OK &&
      parley_time_parse(json_string_value(json_object_get(ek, "expires")),
                        &out->encryption_expires) == PARLEY_E_OK) {
    out->has_encryption_key = true;
    parley_box_pk_key_id(&pk, out->encryption_key_id);
  }
}

/* The view of one record body. POCs without a string id, or with an overlong one, are
 * left out: nothing can address them. */
static parleyd_record_view *parse_view(const char *state, int64_t version, const char *body,
                                       size_t len) {
  json_t *rec = NULL;
  if (parley_json_parse(body, len, NULL, &rec, NULL) != PARLEY_E_OK) return NULL;
  parleyd_record_view *v = calloc(1, sizeof *v);
  json_t *pocs = json_object_get(rec, "pocs"), *esc = json_object_get(rec, "escalation");
  size_t np = json_array_size(pocs), ne = json_object_size(esc);
  if (v) {
    v->pocs = calloc(np ? np : 1, sizeof *v->pocs);
    v->escalation = calloc(ne ? ne : 1, sizeof *v->escalation);
  }
  if (!v || !v->pocs || !v->escalation) {
    view_free(v);
    json_decref(rec);
    return NULL;
  }
  parley_strlcpy(v->state, state, sizeof v->state);
  v->version = version;
  atomic_init(&v->refs, 1);
  size_t i;
  json_t *p;
  json_array_foreach(pocs, i, p) {
    const char *id = json_string_value(json_object_get(p, "id"));
    if (!id || strlen(id) >= sizeof v->pocs->id) continue;
    parse_poc(p, &v->pocs[v->n_pocs++]);
  }
  const char *role;
  json_t *order;
  json_object_foreach(esc, role, order) {
    parleyd_escalation_order *o = &v->escalation[v->n_escalation++];
    o->role = role_index(role);
    size_t n = json_array_size(order);
    o->pocs = calloc(n ? n : 1, sizeof *o->pocs);
    if (!o->pocs) {
      view_free(v);
      json_decref(rec);
      return NULL;
    }
    json_t *x;
    json_array_foreach(order, i, x) {
      const char *pid = json_string_value(x);
      if (pid && strlen(pid) < sizeof o->pocs[0]) parley_strlcpy(o->pocs[o->n++], pid, 64);
    }
  }
  json_decref(rec);
  return v;
}

/* With the lock held: the view of state at version (a new reference), or NULL. */
static const parleyd_record_view *find(const char *state, int64_t version) {
  for (size_t i = 0; i < cache.n; i++) {
    parleyd_record_view *v = cache.entries[i].view;
    if (strcmp(v->state, state) == 0) {
      if (v->version != version) return NULL;
      cache.entries[i].used = ++cache.clock;
      atomic_fetch_add(&v->refs, 1);
      return v;
    }
  }
  return NULL;
}

/* With the lock held: keeps v (taking a reference), replacing an older version of the
 * same state, else a free slot, else the least recently used entry. */
static void keep(parleyd_record_view *v) {
  cache_entry *slot = NULL;
  for (size_t i = 0; i < cache.n && !slot; i++)
    if (strcmp(cache.entries[i].view->state, v->state) == 0) slot = &cache.entries[i];
  if (!slot && cache.n < CACHE_STATES) slot = &cache.entries[cache.n++];
  if (!slot) {
    slot = &cache.entries[0];
    for (size_t i = 1; i < cache.n; i++)
      if (cache.entries[i].used < slot->used) slot = &cache.entries[i];
  }
  parleyd_record_view_release(slot->view);
  atomic_fetch_add(&v->refs, 1);
  slot->view = v;
  slot->used = ++cache.clock;
}

parley_qs parleyd_record_view_of(parley_tx *tx, const parley_state_row *st,
                                 const parleyd_record_view **out) {
  *out = NULL;
  if (st->current_version <= 0) return PARLEY_QS_NONE;
  pthread_mutex_lock(&cache.lock);
  *out = find(st->code, st->current_version);
  pthread_mutex_unlock(&cache.lock);
  if (*out) return PARLEY_QS_ONE;
  parley_record_row rec;
  parley_qs qs = parley_store_record_get(tx, st->code, st->current_version, &rec);
  if (qs != PARLEY_QS_ONE) return qs == PARLEY_QS_NONE ? PARLEY_QS_HARD : qs; /* the row names it */
  parleyd_record_view *v = parse_view(st->code, st->current_version, rec.body, rec.body_len);
  parley_record_row_clear(&rec);
  if (!v) return PARLEY_QS_HARD;
  pthread_mutex_lock(&cache.lock);
  keep(v);
  pthread_mutex_unlock(&cache.lock);
  *out = v;
  return PARLEY_QS_ONE;
}

parley_qs parleyd_record_view_current(parley_tx *tx, const char *state, parley_state_row *st,
                                      const parleyd_record_view **out) {
  parley_state_row row;
  if (!st) st = &row;
  *out = NULL;
  parley_qs qs = parley_store_state_get(tx, state, st);
  return qs != PARLEY_QS_ONE ? qs : parleyd_record_view_of(tx, st, out);
}

const parleyd_poc_view *parleyd_record_view_poc(const parleyd_record_view *v, const char *poc) {
  for (size_t i = 0; v && poc && i < v->n_pocs; i++)
    if (!strcmp(v->pocs[i].id, poc)) return &v->pocs[i];
  return NULL;
}

bool parleyd_poc_view_has_role(const parleyd_poc_view *p, int role) {
  for (size_t i = 0; i < p->n_roles; i++)
    if (p->roles[i] == role) return true;
  return false;
}

parley_qs parleyd_poc_lookup(parley_tx *tx, const char *state, const char *poc,
                             parleyd_recipient_check *out) {
  parley_state_row st;
  parley_qs qs = parley_store_state_get(tx, state, &st);
  if (qs != PARLEY_QS_ONE) return qs;
  if (st.status != PARLEY_STATE_ACTIVE || st.current_version <= 0) return PARLEY_QS_NONE;
  const parleyd_record_view *v;
  if ((qs = parleyd_record_view_of(tx, &st, &v)) != PARLEY_QS_ONE) return qs;
  const parleyd_poc_view *p = parleyd_record_view_poc(v, poc);
  bool found = p && p->has_encryption_key;
  if (found) {
    parley_strlcpy(out->key_id, p->encryption_key_id, sizeof out->key_id);
    out->expires = p->encryption_expires;
    parley_strlcpy(out->email, p->email, sizeof out->email);
    parley_strlcpy(out->webhook, p->webhook, sizeof out->webhook);
  }
  parleyd_record_view_release(v);
  return found ? PARLEY_QS_ONE : PARLEY_QS_NONE;
}
