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
#include <stdlib.h>
#include <string.h>

#include "lifecycle.h"
#include "parley/json.h"
#include "parley/proto.h"
#include "pings.h"

#define MAX_SCOPE_STATES 256

/* ---- starting a round ------------------------------------------------------ */

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
  parleyd_ping_start c;
  memset(&c, 0, sizeof c);
  c.scheduled_by = r->who.key_id;
  c.nonce = r->authenticated ? r->nonce : NULL;
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
  parley_err e = parleyd_ping_round_start(&c, &err);
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
  const char *id;
  parleyd_ping_round d;
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
  parley_qs qs = parleyd_ping_round_load(tx, c->id, &c->d, err);
  if (qs < 0) return qs;
  if (c->receipts) {
    json_array_clear(c->receipts);
    if ((qs = parley_store_acks_get(tx, c->id, parleyd_receipt_json, c->receipts)) < 0) return qs;
  }
  return parley_store_state_list(tx, stale_one, c->stale);
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
  if (parley_store_run_named(parleyd->store, "report_tx", false, report_tx, &c, &err) !=
      PARLEY_E_OK) {
    parleyd_ping_round_free(&c.d);
    json_decref(c.stale);
    json_decref(c.receipts);
    parleyd_reply_err(r, &err);
    return;
  }
  if (!csv) {
    json_t *o = parleyd_ping_report_json(&c.d);
    json_object_set_new(o, "stale_records", c.stale);
    /* the targets' signed receipts, as GET /v1/messages/{id} serves them */
    json_object_set_new(o, "receipts", c.receipts);
    parleyd_ping_round_free(&c.d);
    parleyd_reply_json(r, 200, o);
    return;
  }
  parley_buf b;
  parley_buf_init(&b, 16u << 20);
  parley_err e = parleyd_ping_report_csv(&c.d, &b);
  parleyd_ping_round_free(&c.d);
  json_decref(c.stale);
  if (e)
    parleyd_reply_error(r, e, "report");
  else
    parleyd_reply_raw(r, 200, "text/csv; charset=utf-8", b.data, b.len);
  parley_buf_free(&b);
}

/* ---- rounds and trend ------------------------------------------------------ */

void h_ping_trend(parleyd_req *r) {
  const char *format = parleyd_query(r, "format");
  if (!format) format = "json";
  if (strcmp(format, "json") && strcmp(format, "csv") && strcmp(format, "svg")) {
    parleyd_reply_error(r, PARLEY_E_INVALID_ARGUMENT, "format: json, csv or svg");
    return;
  }
  parleyd_ping_trend c = {parleyd_query(r, "series"), json_array(),
                          calloc(1, sizeof(parleyd_ping_ids))};
  parley_error err;
  if (!c.ids || parley_store_run_named(parleyd->store, "parleyd_ping_trend_tx", false,
                                       parleyd_ping_trend_tx, &c, &err) != PARLEY_E_OK) {
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
  parley_err e = !strcmp(format, "svg") ? parleyd_ping_trend_svg(c.rounds, &b)
                                        : parleyd_ping_trend_csv(c.rounds, &b);
  json_decref(c.rounds);
  if (e)
    parleyd_reply_error(r, e, "trend");
  else
    parleyd_reply_raw(r, 200, !strcmp(format, "svg") ? "image/svg+xml" : "text/csv; charset=utf-8",
                      b.data, b.len);
  parley_buf_free(&b);
}

void h_ping_list(parleyd_req *r) {
  parleyd_ping_trend c = {NULL, json_array(), calloc(1, sizeof(parleyd_ping_ids))};
  parley_error err;
  if (!c.ids || parley_store_run_named(parleyd->store, "parleyd_ping_trend_tx", false,
                                       parleyd_ping_trend_tx, &c, &err) != PARLEY_E_OK) {
    free(c.ids);
    json_decref(c.rounds);
    parleyd_reply_err(r, &err);
    return;
  }
  free(c.ids);
  parleyd_reply_json(r, 200, json_pack("{s:o}", "rounds", c.rounds));
}
