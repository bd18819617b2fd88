/* Communication checks' figures: response rates and times to acknowledge, for one
 * round (overall, by region, by role, by state, per POC) and over rounds. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lifecycle.h"
#include "parley/json.h"
#include "parley/proto.h"
#include "pings.h"

static int cmp_i64(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return (x > y) - (x < y);
}

/* Nearest-rank percentile of sorted v[0..n). */
static int64_t pct(const int64_t *v, size_t n, double p) {
  if (!n) return -1;
  size_t k = (size_t)ceil(p / 100.0 * (double)n);
  return v[k ? k - 1 : 0];
}

json_t *parleyd_ping_summary(const parleyd_ping_round *d, const char *region, const char *role) {
  int64_t *times = calloc(d->n ? d->n : 1, sizeof *times);
  size_t n = 0, acked = 0;
  for (size_t i = 0; i < d->n; i++) {
    if (region && strcmp(region, d->t[i].region)) continue;
    if (role) {
      bool has = false;
      size_t q;
      json_t *rv;
      json_array_foreach(d->t[i].roles, q, rv) has |= !strcmp(json_string_value(rv), role);
      if (!has) continue;
    }
    n++;
    if (d->t[i].acked && times) times[acked++] = d->t[i].acked - d->m.created;
  }
  if (times) qsort(times, acked, sizeof *times, cmp_i64);
  json_t *o = json_pack("{s:I,s:I,s:f}", "targets", (json_int_t)n, "acknowledged",
                        (json_int_t)acked, "rate", n ? (double)acked / (double)n : 0.0);
  if (o && acked && times) {
    json_object_set_new(o, "median_s", json_integer(pct(times, acked, 50)));
    json_object_set_new(o, "p90_s", json_integer(pct(times, acked, 90)));
  }
  free(times);
  return o;
}

json_t *parleyd_ping_report_json(const parleyd_ping_round *d) {
  char issued[PARLEY_TIME_LEN], due[PARLEY_TIME_LEN];
  parley_time_format(d->m.created, issued);
  parley_time_format(d->m.ack_deadline, due);
  json_t *by_region = json_object(), *by_role = json_object(), *pocs = json_array(),
         *states = json_object();
  for (int i = 0; parley_regions[i]; i++) {
    json_t *s = parleyd_ping_summary(d, parley_regions[i], NULL);
    if (json_integer_value(json_object_get(s, "targets")))
      json_object_set_new(by_region, parley_regions[i], s);
    else
      json_decref(s);
  }
  for (int i = 0; parley_poc_roles[i]; i++) {
    json_t *s = parleyd_ping_summary(d, NULL, parley_poc_roles[i]);
    if (json_integer_value(json_object_get(s, "targets")))
      json_object_set_new(by_role, parley_poc_roles[i], s);
    else
      json_decref(s);
  }
  for (size_t i = 0; i < d->n; i++) {
    json_t *p =
        json_pack("{s:s,s:s,s:s,s:O,s:b}", "state", d->t[i].state, "poc", d->t[i].poc, "region",
                  d->t[i].region, "roles", d->t[i].roles, "acknowledged", d->t[i].acked != 0);
    if (d->t[i].acked)
      json_object_set_new(p, "seconds_to_ack", json_integer(d->t[i].acked - d->m.created));
    json_array_append_new(pocs, p);
    json_t *st = json_object_get(states, d->t[i].state);
    if (!st) {
      st = json_pack("{s:i,s:i}", "targets", 0, "acknowledged", 0);
      json_object_set_new(states, d->t[i].state, st);
    }
    json_object_set_new(st, "targets",
                        json_integer(json_integer_value(json_object_get(st, "targets")) + 1));
    if (d->t[i].acked)
      json_object_set_new(
          st, "acknowledged",
          json_integer(json_integer_value(json_object_get(st, "acknowledged")) + 1));
  }
  return json_pack("{s:s,s:s,s:s,s:s,s:o,s:o,s:o,s:o,s:o,s:I}", "id", d->m.id, "series",
                   d->m.case_id, "issued", issued, "respond_by", due, "overall",
                   parleyd_ping_summary(d, NULL, NULL), "by_region", by_region, "by_role", by_role,
                   "states", states, "pocs", pocs, "leaf_index", (json_int_t)d->m.leaf_index);
}

static bool collect_ids(void *cls, const parley_message_row *m) {
  parleyd_ping_ids *l = cls;
  if (parleyd_lc_is_hub_check(m) && l->n < PARLEYD_PING_MAX_ROUNDS)
    parley_strlcpy(l->ids[l->n++], m->id, PARLEY_UUID_LEN);
  return l->n < PARLEYD_PING_MAX_ROUNDS;
}

parley_qs parleyd_ping_trend_tx(parley_tx *tx, void *cls, parley_error *err) {
  parleyd_ping_trend *c = cls;
  json_array_clear(c->rounds);
  c->ids->n = 0;
  /* a series is a case: every round of it, however many rounds came before */
  parley_qs qs = c->series && parley_uuid_valid(c->series)
                     ? parley_store_case_messages(tx, c->series, collect_ids, c->ids)
                     : parley_store_outbox(tx, PARLEYD_HUB_STATE, PARLEYD_HUB_POC, 0,
                                           PARLEYD_PING_MAX_ROUNDS, collect_ids, c->ids);
  for (size_t i = 0; qs >= 0 && i < c->ids->n; i++) {
    parleyd_ping_round d;
    memset(&d, 0, sizeof d);
    qs = parleyd_ping_round_load(tx, c->ids->ids[i], &d, err);
    if (qs >= 0 && (!c->series || !strcmp(c->series, d.m.case_id))) {
      char issued[PARLEY_TIME_LEN];
      parley_time_format(d.m.created, issued);
      json_t *s = parleyd_ping_summary(&d, NULL, NULL);
      json_object_set_new(s, "id", json_string(d.m.id));
      json_object_set_new(s, "series", json_string(d.m.case_id));
      json_object_set_new(s, "issued", json_string(issued));
      json_object_set_new(s, "open", json_boolean(d.m.ack_deadline > parley_now()));
      json_array_append_new(c->rounds, s);
    }
    parleyd_ping_round_free(&d);
  }
  return qs < 0 ? qs : PARLEY_QS_ONE;
}
