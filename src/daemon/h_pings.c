/* Communication checks ("pings") and their statistics.
 *   POST /v1/pings                        operator: start a round (all states, a region,
 *                                         or a list; one role or every POC; recurring)
 *   GET  /v1/pings                        operator: the rounds, with their response rates
 *   GET  /v1/pings/{id}/report?format=json|csv   operator: one round, per POC and state
 *   GET  /v1/pings/trend?format=json|csv|svg     operator: rounds over time
 * A round is a message from the hub (kind "ping", sender HUB/operator) whose body is a
 * statement signed by the hub key and logged; each target answers with the ordinary
 * signed, logged receipt (POST /v1/messages/{id}/ack). So any state can recompute a
 * round's figures from the log and its own receipts. */
#include <math.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "handlers.h"
#include "lifecycle.h"
#include "parley/envelope.h"
#include "parley/json.h"
#include "parley/proto.h"

#define HUB_STATE PARLEYD_HUB_STATE
#define HUB_POC PARLEYD_HUB_POC
#define MAX_TARGETS 1024
#define MAX_SCOPE_STATES 256

/* ---- starting a round ------------------------------------------------------ */

typedef struct {
  parleyd_req *r;
  json_t *states; /* array of codes, or NULL */
  const char *region;
  int role; /* index in parley_poc_roles, or -1 for every POC */
  int64_t window_s;
  int64_t recurrence_s;
  const char *series;
  /* out */
  parley_message_row m;
  json_t *statement;
  size_t n_targets;
  char (*emails)[256];
} start_ctx;

static bool in_scope(const start_ctx *c, const parley_state_row *s) {
  if (s->status != PARLEY_STATE_ACTIVE || !s->current_version) return false;
  if (c->region && strcmp(c->region, s->region) != 0) return false;
  if (c->states) {
    size_t i;
    json_t *x;
    json_array_foreach(c->states, i, x) if (!strcmp(json_string_value(x), s->code)) return true;
    return false;
  }
  return true;
}

typedef struct {
  parley_state_row rows[256];
  size_t n;
} state_list;

static bool collect(void *cls, const parley_state_row *s) {
  state_list *l = cls;
  if (l->n < 256) l->rows[l->n++] = *s;
  return l->n < 256;
}

/* Builds and signs the statement, inserts the round, logs it: one transaction. */
static parley_qs start_tx(parley_tx *tx, void *cls, parley_error *err) {
  start_ctx *c = cls;
  json_decref(c->statement);
  c->statement = NULL;
  c->n_targets = 0;
  parley_qs qs = parleyd_tx_nonce(tx, c->r, err);
  if (qs != PARLEY_QS_ONE) return qs;
  state_list *l = calloc(1, sizeof *l);
  parley_recipient_row *rc = calloc(MAX_TARGETS, sizeof *rc);
  json_t *targets = json_array();
  if (!l || !rc || !targets) {
    free(l);
    free(rc);
    json_decref(targets);
    parley_fail(err, PARLEY_E_NO_MEMORY, NULL);
    return PARLEY_QS_HARD;
  }
  qs = parley_store_state_list(tx, collect, l);
  for (size_t i = 0; qs >= 0 && i < l->n; i++) {
    if (!in_scope(c, &l->rows[i])) continue;
    json_t *v = parleyd_current_record(tx, l->rows[i].code, &qs);
    if (qs != PARLEY_QS_ONE) continue;
    size_t k;
    json_t *p;
    json_array_foreach(json_object_get(v, "pocs"), k, p) {
      json_t *roles = json_object_get(p, "roles");
      bool match = c->role < 0;
      size_t q;
      json_t *rv;
      json_array_foreach(roles, q, rv) match |=
          c->role >= 0 && !strcmp(json_string_value(rv), parley_poc_roles[c->role]);
      if (!match || c->n_targets >= MAX_TARGETS) continue;
      parley_sign_pk spk;
      const char *id = json_string_value(json_object_get(p, "id"));
      if (!id ||
          parley_sign_pk_from_b64(json_string_value(json_object_get(p, "signing_key")), &spk))
        continue;
      parley_recipient_row *t = &rc[c->n_targets];
      parley_strlcpy(t->state, l->rows[i].code, sizeof t->state);
      parley_strlcpy(t->poc, id, sizeof t->poc);
      parley_sign_pk_key_id(&spk, t->key_id);
      const char *em = json_string_value(json_object_get(p, "email"));
      parley_strlcpy(c->emails[c->n_targets], em ? em : "", 256);
      json_array_append_new(targets, json_pack("{s:s,s:s,s:s,s:O}", "state", t->state, "poc", id,
                                               "region", l->rows[i].region, "roles", roles));
      c->n_targets++;
    }
    json_decref(v);
  }
  free(l);
  if (qs < 0 || c->n_targets == 0) {
    free(rc);
    json_decref(targets);
    if (qs >= 0) parley_fail(err, PARLEY_E_INVALID_ARGUMENT, "no POC matches this scope");
    return qs < 0 ? qs : PARLEY_QS_HARD;
  }
  char id[PARLEY_UUID_LEN], issued[PARLEY_TIME_LEN], due[PARLEY_TIME_LEN], chal[32];
  uint8_t rnd[16];
  parley_uuid7(id);
  int64_t now = parley_now();
  parley_time_format(now, issued);
  parley_time_format(now + c->window_s, due);
  randombytes_buf(rnd, sizeof rnd);
  parley_b64url_encode(rnd, sizeof rnd, chal, sizeof chal);
  c->statement =
      json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:I,s:o,s:s}", "format", "parley-ping-v1", "id", id,
                "series", c->series ? c->series : id, "issued", issued, "respond_by", due, "role",
                c->role < 0 ? "all" : parley_poc_roles[c->role], "challenge", chal, "recurrence_s",
                (json_int_t)c->recurrence_s, "targets", targets, "scheduled_by", c->r->who.key_id);
  parley_buf canon;
  parley_buf_init(&canon, 4u << 20);
  parley_hash h;
  if (!c->statement ||
      parley_signed_json_sign(c->statement, "ping", &parleyd->hub_key.sign_sk, err) !=
          PARLEY_E_OK ||
      parley_jcs(c->statement, &canon, err) != PARLEY_E_OK) {
    free(rc);
    parley_buf_free(&canon);
    return PARLEY_QS_HARD;
  }
  parley_sha256(canon.data, canon.len, &h);
  uint64_t leaf;
  if ((qs = parleyd_log_append(tx, "ping", canon.data, canon.len, &leaf, err)) != PARLEY_QS_ONE) {
    free(rc);
    parley_buf_free(&canon);
    return qs;
  }
  parley_message_row *m = &c->m;
  memset(m, 0, sizeof *m);
  parley_strlcpy(m->id, id, sizeof m->id);
  parley_strlcpy(m->kind, "ping", sizeof m->kind);
  parley_strlcpy(m->priority, "routine", sizeof m->priority);
  parley_strlcpy(m->tlp, "TLP:CLEAR", sizeof m->tlp);
  parley_strlcpy(m->from_state, HUB_STATE, sizeof m->from_state);
  parley_strlcpy(m->from_poc, HUB_POC, sizeof m->from_poc);
  parley_strlcpy(m->case_id, c->series ? c->series : id, sizeof m->case_id);
  m->created = m->received = now;
  m->ack_deadline = now + c->window_s;
  m->next_escalation = now + c->window_s / 2; /* the reminder */
  m->leaf_index = (int64_t)leaf;
  memcpy(m->envelope_hash, h.b, 32);
  for (size_t i = 0; i < c->n_targets; i++)
    parley_strlcpy(rc[i].message_id, id, sizeof rc[i].message_id);
  m->envelope = (char *)canon.data;
  m->envelope_len = canon.len;
  qs = parley_store_message_insert(tx, m, rc, c->n_targets);
  m->envelope = NULL;
  parley_buf_free(&canon);
  free(rc);
  if (qs == PARLEY_QS_ONE)
    qs = parley_store_message_event(tx, id, "submitted", "communication check", now);
  return qs < 0 ? qs : PARLEY_QS_ONE;
}

/* Starts a round; used by the handler and by the scheduler for recurring rounds. */
static parley_err start_round(start_ctx *c, parley_error *err) {
  c->emails = calloc(MAX_TARGETS, sizeof *c->emails);
  if (!c->emails) return parley_fail(err, PARLEY_E_NO_MEMORY, NULL);
  parley_err e = parley_store_run(parleyd->store, true, start_tx, c, err);
  if (!e) {
    char due[PARLEY_TIME_LEN], subject[200], body[600];
    parley_time_format(c->m.ack_deadline, due);
    snprintf(subject, sizeof subject, "[Parley] communication check: please acknowledge by %s",
             due);
    snprintf(body, sizeof body,
             "The Parley hub %s runs a communication check (round %s).\n"
             "Please acknowledge it with your key by %s: parley ack %s\n",
             parleyd->cfg.origin, c->m.id, due, c->m.id);
    for (size_t i = 0; i < c->n_targets; i++)
      parleyd_notify_email(c->emails[i], subject, body);
    size_t i;
    json_t *t;
    json_array_foreach(json_object_get(c->statement, "targets"), i, t) {
      parleyd_stream_wake(json_string_value(json_object_get(t, "state")),
                          json_string_value(json_object_get(t, "poc")));
    }
  }
  free(c->emails);
  c->emails = NULL;
  return e;
}

/* The roles a round may target; "all" is every POC. */
static const char *const role_choices[] = {"diplomatic", "technical", "law-enforcement-24x7", "all",
                                           NULL};

/* states: an array of state codes, each a string of three capital letters. */
static parley_err check_states(const json_t *states, parley_error *err) {
  if (!states) return PARLEY_E_OK;
  if (json_array_size(states) > MAX_SCOPE_STATES)
    return parley_fail(err, PARLEY_E_JSON_FIELD_INVALID, "field 'states': at most %d states",
                       MAX_SCOPE_STATES);
  size_t i;
  json_t *x;
  json_array_foreach(states, i, x) {
    if (!json_is_string(x))
      return parley_fail(err, PARLEY_E_JSON_FIELD_TYPE, "field 'states[%zu]': a state code", i);
    if (!parley_state_code_valid(json_string_value(x)))
      return parley_fail(err, PARLEY_E_JSON_FIELD_INVALID,
                         "field 'states[%zu]': ISO 3166-1 alpha-3 in capitals", i);
  }
  return PARLEY_E_OK;
}

void h_ping_start(parleyd_req *r) {
  json_t *body = parleyd_parse_body(r);
  if (!body) return;
  start_ctx c;
  memset(&c, 0, sizeof c);
  c.r = r;
  int role = 3, region = -1; /* "all"; any region */
  int64_t window = 86400, recurrence = 0;
  parley_json_field f[] = {
      PARLEY_FIELD_ARRAY_OPT("states", &c.states),
      PARLEY_FIELD_ENUM_OPT("region", parley_regions, &region),
      PARLEY_FIELD_ENUM_OPT("role", role_choices, &role),
      PARLEY_FIELD_INT_OPT("window_s", &window),
      PARLEY_FIELD_INT_OPT("recurrence_s", &recurrence),
  };
  parley_error err;
  if (parley_json_fields(body, f, PARLEY_JF_COUNT(f), &err) != PARLEY_E_OK ||
      check_states(c.states, &err) != PARLEY_E_OK) {
    json_decref(body);
    parleyd_reply_err(r, &err);
    return;
  }
  c.region = region >= 0 ? parley_regions[region] : NULL;
  c.role = -1;
  for (int i = 0; parley_poc_roles[i]; i++)
    if (!strcmp(parley_poc_roles[i], role_choices[role])) c.role = i;
  const char *bad = window < 5 || window > 30 * 86400 ? "window_s: 5 to 2592000"
                    : recurrence && (recurrence < window || recurrence > 366 * 86400)
                        ? "recurrence_s: 0, or at least window_s and at most a year"
                        : NULL;
  if (bad) {
    json_decref(body);
    parleyd_reply_error(r, PARLEY_E_JSON_FIELD_INVALID, bad);
    return;
  }
  c.window_s = window;
  c.recurrence_s = recurrence;
  parley_err e = start_round(&c, &err);
  json_decref(body);
  if (e) {
    json_decref(c.statement);
    parleyd_reply_err(r, &err);
    return;
  }
  parley_log(PARLEY_LOG_INFO, "ping.started", "round=%s targets=%zu", c.m.id, c.n_targets);
  char due[PARLEY_TIME_LEN];
  parley_time_format(c.m.ack_deadline, due);
  json_t *o = json_pack("{s:s,s:I,s:s,s:I,s:o}", "id", c.m.id, "targets", (json_int_t)c.n_targets,
                        "respond_by", due, "leaf_index", (json_int_t)c.m.leaf_index, "statement",
                        c.statement);
  parleyd_reply_json(r, 201, o);
}

/* ---- reports -------------------------------------------------------------- */

typedef struct {
  char state[4], poc[64], region[64];
  json_t *roles;
  int64_t acked; /* 0: no */
} target;

typedef struct {
  parley_message_row m;
  json_t *statement;
  target *t;
  size_t n;
} round_data;

static bool rcpt_times(void *cls, const parley_recipient_row *x) {
  round_data *d = cls;
  for (size_t i = 0; i < d->n; i++)
    if (!strcmp(d->t[i].state, x->state) && !strcmp(d->t[i].poc, x->poc)) d->t[i].acked = x->acked;
  return true;
}

static void round_free(round_data *d) {
  json_decref(d->statement);
  free(d->t);
  parley_message_row_clear(&d->m);
  memset(d, 0, sizeof *d);
}

static parley_qs load_round(parley_tx *tx, const char *id, round_data *d, parley_error *err) {
  round_free(d);
  parley_qs qs = parley_store_message_get(tx, id, &d->m);
  if (qs == PARLEY_QS_ONE && !parleyd_lc_is_hub_check(&d->m)) qs = PARLEY_QS_NONE;
  if (qs == PARLEY_QS_NONE) {
    parley_fail(err, PARLEY_E_NOT_FOUND, "no communication check %s", id);
    return PARLEY_QS_HARD;
  }
  if (qs < 0) return qs;
  parley_json_parse(d->m.envelope, d->m.envelope_len, NULL, &d->statement, NULL);
  json_t *targets = json_object_get(d->statement, "targets");
  d->n = json_array_size(targets);
  d->t = calloc(d->n ? d->n : 1, sizeof *d->t);
  if (!d->t) return PARLEY_QS_HARD;
  size_t i;
  json_t *x;
  json_array_foreach(targets, i, x) {
    parley_strlcpy(d->t[i].state, json_string_value(json_object_get(x, "state")), 4);
    parley_strlcpy(d->t[i].poc, json_string_value(json_object_get(x, "poc")), 64);
    parley_strlcpy(d->t[i].region, json_string_value(json_object_get(x, "region")), 64);
    d->t[i].roles = json_object_get(x, "roles");
  }
  return parley_store_recipients_get(tx, id, rcpt_times, d);
}

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

/* {"targets","acknowledged","rate","median_s","p90_s"} over the targets that match. */
static json_t *summary(const round_data *d, const char *region, const char *role) {
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

static json_t *round_report(const round_data *d) {
  char issued[PARLEY_TIME_LEN], due[PARLEY_TIME_LEN];
  parley_time_format(d->m.created, issued);
  parley_time_format(d->m.ack_deadline, due);
  json_t *by_region = json_object(), *by_role = json_object(), *pocs = json_array(),
         *states = json_object();
  for (int i = 0; parley_regions[i]; i++) {
    json_t *s = summary(d, parley_regions[i], NULL);
    if (json_integer_value(json_object_get(s, "targets")))
      json_object_set_new(by_region, parley_regions[i], s);
    else
      json_decref(s);
  }
  for (int i = 0; parley_poc_roles[i]; i++) {
    json_t *s = summary(d, NULL, parley_poc_roles[i]);
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
                   summary(d, NULL, NULL), "by_region", by_region, "by_role", by_role, "states",
                   states, "pocs", pocs, "leaf_index", (json_int_t)d->m.leaf_index);
}

typedef struct {
  const char *id;
  round_data d;
  json_t *stale;
  json_t *receipts; /* NULL: not wanted */
} report_ctx;

static bool stale_one(void *cls, const parley_state_row *s) {
  if (s->status == PARLEY_STATE_ACTIVE && (!s->current_version || s->review_by < parley_now()))
    json_array_append_new(cls, json_string(s->code));
  return true;
}

static parley_qs report_tx(parley_tx *tx, void *cls, parley_error *err) {
  report_ctx *c = cls;
  json_array_clear(c->stale);
  parley_qs qs = load_round(tx, c->id, &c->d, err);
  if (qs < 0) return qs;
  if (c->receipts) {
    json_array_clear(c->receipts);
    if ((qs = parley_store_acks_get(tx, c->id, parleyd_receipt_json, c->receipts)) < 0) return qs;
  }
  return parley_store_state_list(tx, stale_one, c->stale);
}

static parley_err csv_cell(parley_buf *b, const char *s, bool last) {
  parley_err e = parley_buf_puts(b, "\"");
  for (const char *p = s ? s : ""; *p && !e; p++)
    e = *p == '"' ? parley_buf_puts(b, "\"\"") : parley_buf_append(b, p, 1);
  return e ? e : parley_buf_puts(b, last ? "\"\r\n" : "\",");
}

void h_ping_report(parleyd_req *r) {
  const char *format = parleyd_query(r, "format");
  bool csv = format && !strcmp(format, "csv");
  if (format && !csv && strcmp(format, "json")) {
    parleyd_reply_error(r, PARLEY_E_INVALID_ARGUMENT, "format: json or csv");
    return;
  }
  report_ctx c;
  memset(&c, 0, sizeof c);
  c.id = r->params[0];
  c.stale = json_array();
  c.receipts = csv ? NULL : json_array();
  parley_error err;
  if (parley_store_run(parleyd->store, false, report_tx, &c, &err) != PARLEY_E_OK) {
    round_free(&c.d);
    json_decref(c.stale);
    json_decref(c.receipts);
    parleyd_reply_err(r, &err);
    return;
  }
  if (!csv) {
    json_t *o = round_report(&c.d);
    json_object_set_new(o, "stale_records", c.stale);
    /* the targets' signed receipts, as GET /v1/messages/{id} serves them */
    json_object_set_new(o, "receipts", c.receipts);
    round_free(&c.d);
    parleyd_reply_json(r, 200, o);
    return;
  }
  parley_buf b;
  parley_buf_init(&b, 16u << 20);
  parley_err e =
      parley_buf_puts(&b, "round,state,region,poc,roles,acknowledged,seconds_to_ack\r\n");
  for (size_t i = 0; i < c.d.n && !e; i++) {
    char roles[128] = "", secs[24] = "";
    size_t q;
    json_t *rv;
    json_array_foreach(c.d.t[i].roles, q, rv) {
      size_t l = strlen(roles);
      snprintf(roles + l, sizeof roles - l, "%s%s", q ? " " : "", json_string_value(rv));
    }
    if (c.d.t[i].acked)
      snprintf(secs, sizeof secs, "%lld", (long long)(c.d.t[i].acked - c.d.m.created));
    const char *cells[] = {c.d.m.id,     c.d.t[i].state, c.d.t[i].region,
                           c.d.t[i].poc, roles,          c.d.t[i].acked ? "yes" : "no",
                           secs};
    for (size_t k = 0; k < 7 && !e; k++)
      e = csv_cell(&b, cells[k], k == 6);
  }
  round_free(&c.d);
  json_decref(c.stale);
  if (e)
    parleyd_reply_error(r, e, "report");
  else
    parleyd_reply_raw(r, 200, "text/csv; charset=utf-8", b.data, b.len);
  parley_buf_free(&b);
}

/* ---- rounds and trend ------------------------------------------------------ */

typedef struct {
  char ids[512][PARLEY_UUID_LEN];
  size_t n;
} id_list;

static bool collect_ids(void *cls, const parley_message_row *m) {
  id_list *l = cls;
  if (parleyd_lc_is_hub_check(m) && l->n < 512)
    parley_strlcpy(l->ids[l->n++], m->id, PARLEY_UUID_LEN);
  return l->n < 512;
}

typedef struct {
  const char *series;
  json_t *rounds;
  id_list *ids;
} trend_ctx;

static parley_qs trend_tx(parley_tx *tx, void *cls, parley_error *err) {
  trend_ctx *c = cls;
  json_array_clear(c->rounds);
  c->ids->n = 0;
  /* a series is a case: every round of it, however many rounds came before */
  parley_qs qs = c->series && parley_uuid_valid(c->series)
                     ? parley_store_case_messages(tx, c->series, collect_ids, c->ids)
                     : parley_store_outbox(tx, HUB_STATE, HUB_POC, 0, 512, collect_ids, c->ids);
  for (size_t i = 0; qs >= 0 && i < c->ids->n; i++) {
    round_data d;
    memset(&d, 0, sizeof d);
    qs = load_round(tx, c->ids->ids[i], &d, err);
    if (qs >= 0 && (!c->series || !strcmp(c->series, d.m.case_id))) {
      char issued[PARLEY_TIME_LEN];
      parley_time_format(d.m.created, issued);
      json_t *s = summary(&d, NULL, NULL);
      json_object_set_new(s, "id", json_string(d.m.id));
      json_object_set_new(s, "series", json_string(d.m.case_id));
      json_object_set_new(s, "issued", json_string(issued));
      json_object_set_new(s, "open", json_boolean(d.m.ack_deadline > parley_now()));
      json_array_append_new(c->rounds, s);
    }
    round_free(&d);
  }
  return qs < 0 ? qs : PARLEY_QS_ONE;
}

/* A self-contained SVG line chart of the response rate per round. */
static parley_err svg_trend(const json_t *rounds, parley_buf *b) {
  size_t n = json_array_size(rounds);
  const int W = 640, H = 320, L = 50, R = 20, T = 30, B = 50;
  parley_err e = parley_buf_printf(
      b,
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
      "font-family=\"sans-serif\" font-size=\"12\">\n"
      "<title>Communication checks: response rate per round</title>\n"
      "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n"
      "<text x=\"%d\" y=\"18\" font-size=\"14\">Response rate per round (%zu rounds)</text>\n",
      W, H, W, H, L, n);
  for (int pctv = 0; pctv <= 100 && !e; pctv += 25) {
    int y = T + (H - T - B) * (100 - pctv) / 100;
    e = parley_buf_printf(b,
                          "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#ddd\"/>"
                          "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">%d%%</text>\n",
                          L, y, W - R, y, L - 6, y + 4, pctv);
  }
  if (!e && n)
    e = parley_buf_puts(b,
                        "<polyline fill=\"none\" stroke=\"#1f5fa8\" stroke-width=\"2\" points=\"");
  for (size_t i = 0; i < n && !e; i++) {
    double rate = json_real_value(json_object_get(json_array_get(rounds, i), "rate"));
    int x =
        L + (n > 1 ? (int)((double)(W - L - R) * (double)i / (double)(n - 1)) : (W - L - R) / 2);
    int y = T + (int)((double)(H - T - B) * (1.0 - rate));
    e = parley_buf_printf(b, "%d,%d ", x, y);
  }
  if (!e && n) e = parley_buf_puts(b, "\"/>\n");
  for (size_t i = 0; i < n && !e; i++) {
    const json_t *rd = json_array_get(rounds, i);
    double rate = json_real_value(json_object_get(rd, "rate"));
    int x =
        L + (n > 1 ? (int)((double)(W - L - R) * (double)i / (double)(n - 1)) : (W - L - R) / 2);
    int y = T + (int)((double)(H - T - B) * (1.0 - rate));
    const char *issued = json_string_value(json_object_get(rd, "issued"));
    e = parley_buf_printf(b,
                          "<circle cx=\"%d\" cy=\"%d\" r=\"4\" fill=\"#1f5fa8\"><title>%s: %.0f%%"
                          "</title></circle><text x=\"%d\" y=\"%d\" text-anchor=\"middle\">%.10s"
                          "</text>\n",
                          x, y, issued ? issued : "", rate * 100, x, H - B + 18,
                          issued ? issued : "");
  }
  return e ? e : parley_buf_puts(b, "</svg>\n");
}

void h_ping_trend(parleyd_req *r) {
  const char *format = parleyd_query(r, "format");
  if (!format) format = "json";
  if (strcmp(format, "json") && strcmp(format, "csv") && strcmp(format, "svg")) {
    parleyd_reply_error(r, PARLEY_E_INVALID_ARGUMENT, "format: json, csv or svg");
    return;
  }
  trend_ctx c = {parleyd_query(r, "series"), json_array(), calloc(1, sizeof(id_list))};
  parley_error err;
  if (!c.ids || parley_store_run(parleyd->store, false, trend_tx, &c, &err) != PARLEY_E_OK) {
    free(c.ids);
    json_decref(c.rounds);
    parleyd_reply_err(r, &err);
    return;
  }
  free(c.ids);
  if (!strcmp(format, "json")) {
    parleyd_reply_json(r, 200, json_pack("{s:o}", "rounds", c.rounds));
    return;
  }
  parley_buf b;
  parley_buf_init(&b, 8u << 20);
  parley_err e;
  if (!strcmp(format, "svg")) {
    e = svg_trend(c.rounds, &b);
  } else {
    e = parley_buf_puts(&b, "round,series,issued,targets,acknowledged,rate,median_s,p90_s\r\n");
    size_t i;
    json_t *x;
    json_array_foreach(c.rounds, i, x) {
      if (e) break;
      e = parley_buf_printf(&b, "%s,%s,%s,%lld,%lld,%.4f,%lld,%lld\r\n",
                            json_string_value(json_object_get(x, "id")),
                            json_string_value(json_object_get(x, "series")),
                            json_string_value(json_object_get(x, "issued")),
                            (long long)json_integer_value(json_object_get(x, "targets")),
                            (long long)json_integer_value(json_object_get(x, "acknowledged")),
                            json_real_value(json_object_get(x, "rate")),
                            (long long)json_integer_value(json_object_get(x, "median_s")),
                            (long long)json_integer_value(json_object_get(x, "p90_s")));
    }
  }
  json_decref(c.rounds);
  if (e)
    parleyd_reply_error(r, e, "trend");
  else
    parleyd_reply_raw(r, 200, !strcmp(format, "svg") ? "image/svg+xml" : "text/csv; charset=utf-8",
                      b.data, b.len);
  parley_buf_free(&b);
}

void h_ping_list(parleyd_req *r) {
  trend_ctx c = {NULL, json_array(), calloc(1, sizeof(id_list))};
  parley_error err;
  if (!c.ids || parley_store_run(parleyd->store, false, trend_tx, &c, &err) != PARLEY_E_OK) {
    free(c.ids);
    json_decref(c.rounds);
    parleyd_reply_err(r, &err);
    return;
  }
  free(c.ids);
  parleyd_reply_json(r, 200, json_pack("{s:o}", "rounds", c.rounds));
}

/* ---- recurring rounds (called by the scheduler) ---------------------------- */

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
  return parley_store_cases_latest(tx, HUB_STATE, HUB_POC, "ping", collect_latest, l);
}

/* Starts the round after rc's if it is due, with the same scope. */
static void recur_one(const round_data *d, const char *series, int64_t rec) {
  start_ctx s;
  memset(&s, 0, sizeof s);
  parleyd_req fake;
  memset(&fake, 0, sizeof fake);
  const char *by = json_string_value(json_object_get(d->statement, "scheduled_by"));
  parley_strlcpy(fake.who.key_id, by ? by : "", sizeof fake.who.key_id);
  s.r = &fake; /* not authenticated: no request nonce to record */
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
  if (start_round(&s, &err) == PARLEY_E_OK)
    parley_log(PARLEY_LOG_INFO, "ping.recurring", "series=%s round=%s targets=%zu", series, s.m.id,
               s.n_targets);
  json_decref(s.statement);
  json_decref(states);
}

/* The latest round of each series decides whether the next one is due: one round per
 * period, whatever the number of rounds before. */
void parleyd_pings_recur(void) {
  latest_list l = {0};
  parley_error err;
  if (parley_store_run(parleyd->store, false, latest_tx, &l, &err) != PARLEY_E_OK) {
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
    report_ctx rc;
    memset(&rc, 0, sizeof rc);
    rc.id = m->id;
    rc.stale = json_array();
    if (parley_store_run(parleyd->store, false, report_tx, &rc, &err) != PARLEY_E_OK) {
      json_decref(rc.stale);
      round_free(&rc.d);
      continue;
    }
    json_decref(rc.stale);
    int64_t rec = json_integer_value(json_object_get(rc.d.statement, "recurrence_s"));
    parley_strlcpy(recur_cache[slot].id, m->id, sizeof recur_cache[slot].id);
    recur_cache[slot].recurrence_s = rec > 0 ? rec : 0;
    if (rec > 0 && now >= rc.d.m.created + rec) recur_one(&rc.d, m->case_id, rec);
    round_free(&rc.d);
  }
  free(l.rows);
}
