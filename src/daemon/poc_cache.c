/* Recipient checks without parsing a state record per message (poc_cache.h). */
#include "poc_cache.h"

#include <jansson.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "parley/json.h"

/* More states than the UN has members: past this, the oldest entry is replaced. */
#define CACHE_STATES 256

typedef struct {
  char id[64];
  parleyd_poc_info info;
} poc_entry;

typedef struct {
  char state[PARLEY_STATE_CODE_LEN];
  int64_t version;
  uint64_t used; /* for replacement */
  size_t n;
  poc_entry *pocs;
} state_entry;

static struct {
  pthread_mutex_t lock;
  state_entry states[CACHE_STATES];
  size_t n;
  uint64_t clock;
} cache = {.lock = PTHREAD_MUTEX_INITIALIZER};

/* The POCs of one record, with the fields a recipient check needs. A POC whose key does
 * not parse is left out: it cannot be addressed. */
static poc_entry *parse_pocs(const char *body, size_t len, size_t *n) {
  json_t *rec = NULL;
  *n = 0;
  if (parley_json_parse(body, len, NULL, &rec, NULL) != PARLEY_E_OK) return NULL;
  json_t *pocs = json_object_get(rec, "pocs");
  size_t cap = json_array_size(pocs), i;
  poc_entry *out = calloc(cap ? cap : 1, sizeof *out);
  json_t *poc;
  if (out) {
    json_array_foreach(pocs, i, poc) {
      const char *id = json_string_value(json_object_get(poc, "id"));
      json_t *ek = json_object_get(poc, "encryption_key");
      parley_box_pk pk;
      int64_t expires;
      if (!id || strlen(id) >= sizeof out->id ||
          parley_box_pk_from_b64(json_string_value(json_object_get(ek, "key")), &pk) !=
              PARLEY_E_OK ||
          parley_time_parse(json_string_value(json_object_get(ek, "expires")), &expires) !=
              PARLEY_E_OK)
        continue;
      poc_entry *e = &out[(*n)++];
      parley_strlcpy(e->id, id, sizeof e->id);
      parley_box_pk_key_id(&pk, e->info.key_id);
      e->info.expires = expires;
      const char *email = json_string_value(json_object_get(poc, "email"));
      const char *hook = json_string_value(json_object_get(poc, "webhook"));
      parley_strlcpy(e->info.email, email ? email : "", sizeof e->info.email);
      parley_strlcpy(e->info.webhook, hook ? hook : "", sizeof e->info.webhook);
    }
  }
  json_decref(rec);
  return out;
}

/* With the lock held: the entry for state at version, or NULL. */
static state_entry *find(const char *state, int64_t version) {
  for (size_t i = 0; i < cache.n; i++)
    if (strcmp(cache.states[i].state, state) == 0)
      return cache.states[i].version == version ? &cache.states[i] : NULL;
  return NULL;
}

static bool copy_poc(state_entry *s, const char *poc, parleyd_poc_info *out) {
  s->used = ++cache.clock;
  for (size_t i = 0; i < s->n; i++)
    if (strcmp(s->pocs[i].id, poc) == 0) {
      *out = s->pocs[i].info;
      return true;
    }
  return false;
}

/* With the lock held: stores a parsed record, replacing an older version of the same
 * state, else a free slot, else the least recently used entry. */
static state_entry *store(const char *state, int64_t version, poc_entry *pocs, size_t n) {
  state_entry *slot = NULL;
  for (size_t i = 0; i < cache.n && !slot; i++)
    if (strcmp(cache.states[i].state, state) == 0) slot = &cache.states[i];
  if (!slot && cache.n < CACHE_STATES) slot = &cache.states[cache.n++];
  if (!slot) {
    slot = &cache.states[0];
    for (size_t i = 1; i < cache.n; i++)
      if (cache.states[i].used < slot->used) slot = &cache.states[i];
  }
  free(slot->pocs);
  parley_strlcpy(slot->state, state, sizeof slot->state);
  slot->version = version;
  slot->pocs = pocs;
  slot->n = n;
  return slot;
}

parley_qs parleyd_poc_lookup(parley_tx *tx, const char *state, const char *poc,
                             parleyd_poc_info *out) {
  parley_state_row st;
  parley_qs qs = parley_store_state_get(tx, state, &st);
  if (qs != PARLEY_QS_ONE) return qs;
  if (st.status != PARLEY_STATE_ACTIVE || st.current_version <= 0) return PARLEY_QS_NONE;

  pthread_mutex_lock(&cache.lock);
  state_entry *s = find(state, st.current_version);
  bool found = s && copy_poc(s, poc, out);
  pthread_mutex_unlock(&cache.lock);
  if (s) return found ? PARLEY_QS_ONE : PARLEY_QS_NONE;

  parley_record_row rec;
  if ((qs = parley_store_record_get(tx, state, st.current_version, &rec)) != PARLEY_QS_ONE)
    return qs == PARLEY_QS_NONE ? PARLEY_QS_HARD : qs; /* the state row names it */
  size_t n;
  poc_entry *pocs = parse_pocs(rec.body, rec.body_len, &n);
  parley_record_row_clear(&rec);
  if (!pocs) return PARLEY_QS_HARD;
  pthread_mutex_lock(&cache.lock);
  found = copy_poc(store(state, st.current_version, pocs, n), poc, out);
  pthread_mutex_unlock(&cache.lock);
  return found ? PARLEY_QS_ONE : PARLEY_QS_NONE;
}
