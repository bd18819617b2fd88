/* Scheduled job: recurring communication checks. The latest round of each series
 * decides whether the next one is due; the next round has the same scope (the states
 * of the previous one), role, window and scheduler. */
#include <stdlib.h>
#include <string.h>

#include "lifecycle.h"
#include "parley/json.h"
#include "parley/proto.h"
#include "pings.h"

/* Whether a round recurs, from its signed statement: rounds never change, so the
 * scheduler (the only caller, one thread) remembers what it read. */
#define RECUR_CACHE 4096
static struct {
  char id[PARLEY_UUID_LEN];
  int64_t recurrence_s;
} recur_cache[RECUR_CACHE];

static size_t recur_slot(const char *id) {
  uint32_t h = 2166136261u; /* FNV-1a */
  for (const char *p = id; *p; p++)
    h = (h ^ (uint8_t)*p) * 16777619u;
  return h % RECUR_CACHE;
}

typedef struct {
  parley_message_row *rows;
  size_t n;
} latest_list;

static bool collect_latest(void *cls, const parley_message_row *m) {
  latest_list *l = cls;
  if (l->n % 64 == 0) {
    parley_message_row *n = realloc(l->rows, (l->n + 64) * sizeof *n);
    if (!n) return false;
    l->rows = n;
  }
  l->rows[l->n++] = *m;
  return true;
}

static parley_qs latest_tx(parley_tx *tx, void *cls, parley_error *err) {
  (void)err;
  latest_list *l = cls;
  l->n = 0;
  return parley_store_cases_latest(tx, PARLEYD_HUB_STATE, PARLEYD_HUB_POC, "ping", collect_latest,
                                   l);
}

typedef struct {
  const char *id;
  parleyd_ping_round d;
} load_ctx;

static parley_qs load_tx(parley_tx *tx, void *cls, parley_error *err) {
  load_ctx *c = cls;
  return parleyd_ping_round_load(tx, c->id, &c->d, err);
}

/* Starts the round after rc's if it is due, with the same scope. */
static void recur_one(const parleyd_ping_round *d, const char *series, int64_t rec) {
  parleyd_ping_start s;
  memset(&s, 0, sizeof s);
  /* The operator who scheduled the series stays its scheduler; no request, so no
   * request nonce to record. */
  char by[sizeof((parley_key_row *)0)->key_id];
  const char *sb = json_string_value(json_object_get(d->statement, "scheduled_by"));
  parley_strlcpy(by, sb ? sb : "", sizeof by);
  s.scheduled_by = by;
  s.series = series;
  s.window_s = d->m.ack_deadline - d->m.created;
  s.recurrence_s = rec;
  s.role = -1;
  const char *role = json_string_value(json_object_get(d->statement, "role"));
  for (int k = 0; role && parley_poc_roles[k]; k++)
    if (!strcmp(parley_poc_roles[k], role)) s.role = k;
  /* Same scope as before: the states of the previous round. */
  json_t *states = json_array();
  for (size_t k = 0; k < d->n; k++)
    json_array_append_new(states, json_string(d->t[k].state));
  s.states = states;
  parley_error err;
  if (parleyd_ping_round_start(&s, &err) == PARLEY_E_OK)
    parley_log(PARLEY_LOG_INFO, "ping.recurring", "series=%s round=%s targets=%zu", series, s.m.id,
               s.n_targets);
  json_decref(s.statement);
  json_decref(states);
}

/* The latest round of each series decides whether the next one is due: one round per
 * period, whatever the number of rounds before. */
void parleyd_job_recur_pings(void) {
  latest_list l = {0};
  parley_error err;
  if (parley_store_run_named(parleyd->store, "latest_tx", false, latest_tx, &l, &err) !=
      PARLEY_E_OK) {
    free(l.rows);
    return;
  }
  int64_t now = parley_now();
  for (size_t i = 0; i < l.n; i++) {
    const parley_message_row *m = &l.rows[i];
    size_t slot = recur_slot(m->id);
    bool known = !strcmp(recur_cache[slot].id, m->id);
    if (known &&
        (!recur_cache[slot].recurrence_s || now < m->created + recur_cache[slot].recurrence_s))
      continue;
    load_ctx rc;
    memset(&rc, 0, sizeof rc);
    rc.id = m->id;
    if (parley_store_run_named(parleyd->store, "load_tx", false, load_tx, &rc, &err) !=
        PARLEY_E_OK) {
      parleyd_ping_round_free(&rc.d);
      continue;
    }
    int64_t rec = json_integer_value(json_object_get(rc.d.statement, "recurrence_s"));
    parley_strlcpy(recur_cache[slot].id, m->id, sizeof recur_cache[slot].id);
    recur_cache[slot].recurrence_s = rec > 0 ? rec : 0;
    if (rec > 0 && now >= rc.d.m.created + rec) recur_one(&rc.d, m->case_id, rec);
    parleyd_ping_round_free(&rc.d);
  }
  free(l.rows);
}
