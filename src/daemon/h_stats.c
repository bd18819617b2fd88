/* Treaty clocks of a case, and statistics from metadata alone (docs/protocol.md §10.2):
 *   GET /v1/cases/{id}/clocks  officer: the clocks of the case's messages it sent or got
 *   GET /v1/stats?group=instrument,kind,pair&format=json|csv|svg
 *       operator: the whole hub; officer: the messages its state sent or received.
 * Counted per group: requests, acknowledged ones and the time to acknowledge, those
 * with a status update or response and the time to the first one, overdue ones, clocks
 * met and lapsed, and outcomes: each request under the status of its latest status
 * update (the status is in the signed header; the hub reads no body). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clocks.h"
#include "handlers.h"
#include "parley/template.h"

/* ---- GET /v1/cases/{id}/clocks ------------------------------------------------- */

typedef struct {
  parleyd_req *r;
  parley_clock_row rows[64];
  size_t n;
  json_t *out;
} case_clocks_ctx;

static bool cc_collect(void *cls, const parley_clock_row *c) {
  case_clocks_ctx *x = cls;
  if (x->n < 64) x->rows[x->n++] = *c;
  return x->n < 64;
}

typedef struct {
  const parleyd_req *r;
  bool mine;
} poc_ctx;

static bool is_me(void *cls, const parley_recipient_row *x) {
  poc_ctx *p = cls;
  p->mine |= !strcmp(x->state, p->r->who.state) && !strcmp(x->poc, p->r->who.poc_id);
  return !p->mine;
}

static parley_qs case_clocks_tx(parley_tx *tx, void *cls, parley_error *err) {
  (void)err;
  case_clocks_ctx *x = cls;
  x->n = 0;
  json_array_clear(x->out);
  parley_qs qs = parley_store_clocks_of_case(tx, x->r->params[0], cc_collect, x);
  if (qs < 0) return qs;
  for (size_t i = 0; i < x->n; i++) {
    parley_message_row m;
    if ((qs = parley_store_message_get(tx, x->rows[i].message_id, &m)) < 0) return qs;
    poc_ctx p = {x->r, qs == PARLEY_QS_ONE && !strcmp(m.from_state, x->r->who.state) &&
                           !strcmp(m.from_poc, x->r->who.poc_id)};
    bool known = qs == PARLEY_QS_ONE;
    parley_message_row_clear(&m);
    if (known && !p.mine &&
        (qs = parley_store_recipients_get(tx, x->rows[i].message_id, is_me, &p)) < 0)
      return qs;
    if (p.mine) json_array_append_new(x->out, parleyd_clock_json(&x->rows[i]));
  }
  return PARLEY_QS_ONE;
}

void h_case_clocks(parleyd_req *r) {
  if (!parley_uuid_valid(r->params[0])) {
    parleyd_reply_error(r, PARLEY_E_UUID_FORMAT, r->params[0]);
    return;
  }
  case_clocks_ctx *x = calloc(1, sizeof *x);
  if (!x) {
    parleyd_reply_error(r, PARLEY_E_NO_MEMORY, NULL);
    return;
  }
  x->r = r;
  x->out = json_array();
  parley_error err;
  if (parley_store_run_named(parleyd->store, "case_clocks_tx", false, case_clocks_tx, x, &err) !=
      PARLEY_E_OK) {
    json_decref(x->out);
    free(x);
    parleyd_reply_err(r, &err);
    return;
  }
  char now[PARLEY_TIME_LEN];
  parley_time_format(parley_now(), now);
  json_t *o = json_pack("{s:s,s:s,s:o}", "case", r->params[0], "now", now, "clocks", x->out);
  free(x);
  parleyd_reply_json(r, 200, o);
}

/* ---- GET /v1/stats --------------------------------------------------------------- */

#define STATS_MAX_MESSAGES 100000 /* the most recent ones are not favoured: oldest first */
#define STATS_MAX_GROUPS 1000
#define STATS_PAGE 500

enum { G_INSTRUMENT = 1, G_KIND = 2, G_PAIR = 4 };

/* The outputs are at most 1000 short rows, far below the buffer's 8 MiB: a failed
 * append cannot happen, and would only shorten the answer. */
#define BP(...) ((void)!parley_buf_printf(__VA_ARGS__))

#define MAX_OUTCOMES 16

typedef struct {
  char instrument[72], article[40], kind[40], from[4], to[4];
  uint64_t requests, sent, received, acknowledged, answered, overdue, clocks_met, clocks_lapsed;
  uint64_t outcomes[MAX_OUTCOMES]; /* by index into the status-update template's choices */
  int64_t ack_total_s, answer_total_s;
} group;

/* The statuses a status update may carry: its template's choices (docs/protocol.md §8.5). */
static const parley_template_field *status_field(void) {
  const parley_template *t = parley_template_get("status-update");
  for (size_t i = 0; t && i < t->n_fields; i++)
    if (t->fields[i].header && !strcmp(t->fields[i].name, "status")) return &t->fields[i];
  return NULL;
}

static size_t n_outcomes(void) {
  const parley_template_field *f = status_field();
  return f ? (f->n_choices < MAX_OUTCOMES ? f->n_choices : MAX_OUTCOMES) : 0;
}

static int outcome_index(const char *status) {
  const parley_template_field *f = status_field();
  for (size_t i = 0; f && i < n_outcomes(); i++)
    if (!strcmp(f->choices[i].value, status)) return (int)i;
  return -1;
}

typedef struct {
  parleyd_req *r;
  unsigned by;
  bool operator_view;
  int64_t after;
  size_t seen, page;
  group *g;
  size_t n_g;
  bool too_many_groups;
} stats_ctx;

typedef struct {
  parley_recipient_row rows[PARLEY_MAX_RECIPIENTS];
  size_t n;
} rcpt_list;

static bool rl_collect(void *cls, const parley_recipient_row *x) {
  rcpt_list *l = cls;
  if (l->n < PARLEY_MAX_RECIPIENTS) l->rows[l->n++] = *x;
  return true;
}

/* The first status update or response of each answering state, and its latest status
 * (events "answered" and "status-update": "ID [STATUS ]by STATE/POC", clocks.c). */
typedef struct {
  char state[PARLEY_MAX_RECIPIENTS][4];
  int64_t at[PARLEY_MAX_RECIPIENTS];
  int64_t status_at[PARLEY_MAX_RECIPIENTS];
  int outcome[PARLEY_MAX_RECIPIENTS]; /* outcome_index of the latest status, -1: none */
  size_t n;
} ev_ctx;

static bool ev_first_answer(void *cls, const char *event, const char *detail, int64_t at) {
  ev_ctx *e = cls;
  const char *by = detail ? strstr(detail, " by ") : NULL;
  if ((strcmp(event, "answered") && strcmp(event, "status-update")) || !by || strlen(by) < 8 ||
      by[7] != '/')
    return true;
  size_t i = 0;
  while (i < e->n && strncmp(e->state[i], by + 4, 3) != 0)
    i++;
  if (i == e->n) {
    if (e->n == PARLEY_MAX_RECIPIENTS) return true;
    memcpy(e->state[i], by + 4, 3);
    e->state[i][3] = 0;
    e->at[i] = 0;
    e->status_at[i] = 0;
    e->outcome[i] = -1;
    e->n++;
  }
  if (!e->at[i] || at < e->at[i]) e->at[i] = at;
  /* the status word between the update's id and " by " */
  const char *sp = strchr(detail, ' ');
  if (!strcmp(event, "status-update") && sp && sp < by && by - sp - 1 <= PARLEY_STATUS_MAX &&
      at >= e->status_at[i]) {
    char status[PARLEY_STATUS_MAX + 1];
    memcpy(status, sp + 1, (size_t)(by - sp - 1));
    status[by - sp - 1] = 0;
    int k = outcome_index(status);
    if (k >= 0) {
      e->outcome[i] = k;
      e->status_at[i] = at;
    }
  }
  return true;
}

/* The latest status of `state`, or of any state for NULL; -1 if none. */
static int latest_outcome(const ev_ctx *e, const char *state) {
  int k = -1;
  int64_t t = 0;
  for (size_t i = 0; i < e->n; i++)
    if ((!state || !strcmp(e->state[i], state)) && e->outcome[i] >= 0 && e->status_at[i] >= t) {
      k = e->outcome[i];
      t = e->status_at[i];
    }
  return k;
}

/* The first answer by `state`, or by any state for NULL; 0 if none. */
static int64_t first_answer(const ev_ctx *e, const char *state) {
  int64_t t = 0;
  for (size_t i = 0; i < e->n; i++)
    if ((!state || !strcmp(e->state[i], state)) && (!t || e->at[i] < t)) t = e->at[i];
  return t;
}

typedef struct {
  const char *id;
  uint64_t met, lapsed;
} clk_ctx;

static bool clk_count(void *cls, const parley_clock_row *c) {
  clk_ctx *k = cls;
  if (!strcmp(c->message_id, k->id)) {
    k->met += c->status == PARLEY_CLOCK_MET;
    /* a respond-by clock past due keeps running while it escalates: lapsed already */
    k->lapsed += c->status == PARLEY_CLOCK_LAPSED ||
                 (c->status == PARLEY_CLOCK_RUNNING && c->due <= parley_now());
  }
  return true;
}

static group *group_for(stats_ctx *s, const char *instrument, const char *article, const char *kind,
                        const char *from, const char *to) {
  const char *gi = s->by & G_INSTRUMENT ? instrument : "",
             *ga = s->by & G_INSTRUMENT ? article : "";
  const char *gk = s->by & G_KIND ? kind : "", *gf = s->by & G_PAIR ? from : "",
             *gt = s->by & G_PAIR ? to : "";
  for (size_t i = 0; i < s->n_g; i++) {
    group *g = &s->g[i];
    if (!strcmp(g->instrument, gi) && !strcmp(g->article, ga) && !strcmp(g->kind, gk) &&
        !strcmp(g->from, gf) && !strcmp(g->to, gt))
      return g;
  }
  if (s->n_g == STATS_MAX_GROUPS) {
    s->too_many_groups = true;
    return NULL;
  }
  group *g = &s->g[s->n_g++];
  memset(g, 0, sizeof *g);
  parley_strlcpy(g->instrument, gi, sizeof g->instrument);
  parley_strlcpy(g->article, ga, sizeof g->article);
  parley_strlcpy(g->kind, gk, sizeof g->kind);
  parley_strlcpy(g->from, gf, sizeof g->from);
  parley_strlcpy(g->to, gt, sizeof g->to);
  return g;
}

typedef struct {
  stats_ctx *s;
  parley_tx *tx;
  parley_qs qs;
} page_ctx;

/* One message: counted once per group (per recipient state when grouping by pair). */
static bool stats_one(void *cls, const parley_message_row *m, const char *instrument,
                      const char *article) {
  page_ctx *pc = cls;
  stats_ctx *s = pc->s;
  s->after = m->seq;
  s->seen++;
  s->page++;
  if (!strcmp(m->kind, "ping")) return true; /* communication checks have their reports */
  rcpt_list rl = {.n = 0};
  if ((pc->qs = parley_store_recipients_get(pc->tx, m->id, rl_collect, &rl)) < 0) return false;
  const char *me = s->r->who.state;
  bool sent = !strcmp(m->from_state, me), received = false;
  for (size_t i = 0; i < rl.n; i++)
    received |= !strcmp(rl.rows[i].state, me);
  if (!s->operator_view && !sent && !received) return true;
  ev_ctx ev;
  ev.n = 0;
  if ((pc->qs = parley_store_message_events(pc->tx, m->id, ev_first_answer, &ev)) < 0) return false;
  clk_ctx ck = {m->id, 0, 0};
  if ((pc->qs = parley_store_clocks_of_case(pc->tx, m->case_id[0] ? m->case_id : m->id, clk_count,
                                            &ck)) < 0)
    return false;
  for (size_t i = 0; i < rl.n; i++) {
    bool dup = false;
    for (size_t j = 0; j < i; j++)
      dup |= !strcmp(rl.rows[j].state, rl.rows[i].state);
    /* without pairs, the message counts once (under its first recipient state) */
    if (dup || (!(s->by & G_PAIR) && i > 0)) continue;
    const char *to = rl.rows[i].state;
    if (!s->operator_view && (s->by & G_PAIR) && !sent && strcmp(to, me)) continue;
    group *g = group_for(s, instrument, article, m->kind, m->from_state, to);
    if (!g) return false;
    /* whose receipts and answers count: the pair's state; an officer of a recipient
     * state that did not send the message sees its own state's only */
    const char *whose = s->by & G_PAIR ? to : !s->operator_view && !sent ? me : NULL;
    g->requests++;
    g->sent += sent;
    g->received += received && strcmp(m->from_state, me);
    int64_t acked = 0;
    for (size_t k = 0; k < rl.n; k++)
      if (rl.rows[k].acked && (!whose || !strcmp(rl.rows[k].state, whose)) &&
          (!acked || rl.rows[k].acked < acked))
        acked = rl.rows[k].acked;
    if (acked) {
      g->acknowledged++;
      g->ack_total_s += acked > m->received ? acked - m->received : 0;
    }
    int64_t answered = first_answer(&ev, whose);
    if (answered) {
      g->answered++;
      g->answer_total_s += answered > m->received ? answered - m->received : 0;
    }
    int outcome = latest_outcome(&ev, whose);
    if (outcome >= 0) g->outcomes[outcome]++;
    g->overdue += m->overdue;
    g->clocks_met += ck.met;
    g->clocks_lapsed += ck.lapsed;
  }
  return true;
}

static parley_qs stats_tx(parley_tx *tx, void *cls, parley_error *err) {
  (void)err;
  stats_ctx *s = cls;
  s->after = 0;
  s->seen = 0;
  s->n_g = 0;
  s->too_many_groups = false;
  for (;;) {
    page_ctx pc = {s, tx, PARLEY_QS_ONE};
    s->page = 0;
    parley_qs qs = parley_store_stats_messages(tx, s->after, STATS_PAGE, stats_one, &pc);
    if (qs < 0) return qs;
    if (pc.qs < 0) return pc.qs;
    if (s->too_many_groups) return PARLEY_QS_ONE;
    if (s->page < STATS_PAGE || s->seen >= STATS_MAX_MESSAGES) return PARLEY_QS_ONE;
  }
}

static json_t *group_json(const stats_ctx *s, const group *g) {
  json_t *o = json_object();
  if (s->by & G_INSTRUMENT) {
    json_object_set_new(o, "instrument",
                        g->instrument[0] ? json_string(g->instrument) : json_null());
    json_object_set_new(o, "article", g->article[0] ? json_string(g->article) : json_null());
  }
  if (s->by & G_KIND) json_object_set_new(o, "kind", json_string(g->kind));
  if (s->by & G_PAIR) {
    json_object_set_new(o, "from", json_string(g->from));
    json_object_set_new(o, "to", json_string(g->to));
  }
  json_object_set_new(o, "requests", json_integer((json_int_t)g->requests));
  if (!s->operator_view) {
    json_object_set_new(o, "sent", json_integer((json_int_t)g->sent));
    json_object_set_new(o, "received", json_integer((json_int_t)g->received));
  }
  json_object_set_new(o, "acknowledged", json_integer((json_int_t)g->acknowledged));
  json_object_set_new(o, "mean_ack_s",
                      g->acknowledged ? json_integer(g->ack_total_s / (json_int_t)g->acknowledged)
                                      : json_null());
  json_object_set_new(o, "with_status", json_integer((json_int_t)g->answered));
  json_object_set_new(o, "mean_first_status_s",
                      g->answered ? json_integer(g->answer_total_s / (json_int_t)g->answered)
                                  : json_null());
  json_object_set_new(o, "overdue", json_integer((json_int_t)g->overdue));
  json_object_set_new(o, "clocks_met", json_integer((json_int_t)g->clocks_met));
  json_object_set_new(o, "clocks_lapsed", json_integer((json_int_t)g->clocks_lapsed));
  json_t *out = json_object();
  const parley_template_field *f = status_field();
  for (size_t i = 0; i < n_outcomes(); i++)
    json_object_set_new(out, f->choices[i].value, json_integer((json_int_t)g->outcomes[i]));
  json_object_set_new(o, "outcomes", out);
  return o;
}

static const char *const csv_columns[] = {
    "instrument", "article",    "kind",          "from",       "to",          "requests",
    "sent",       "received",   "acknowledged",  "mean_ack_s", "with_status", "mean_first_status_s",
    "overdue",    "clocks_met", "clocks_lapsed", NULL};

/* Every value is an instrument id, an article, a kind, a state code or a number: no
 * comma, quote or line break can occur in them (the header checks on each). */
static void csv_out(parley_buf *b, json_t *rows) {
  bool first = true;
  const parley_template_field *f = status_field();
  for (const char *const *c = csv_columns; *c; c++)
    if (json_object_get(json_array_get(rows, 0), *c) || !json_array_size(rows)) {
      BP(b, "%s%s", first ? "" : ",", *c);
      first = false;
    }
  for (size_t k = 0; k < n_outcomes(); k++)
    BP(b, ",outcome_%s", f->choices[k].value); /* choice values: [a-z0-9-] */
  BP(b, "\n");
  size_t i;
  json_t *row;
  json_array_foreach(rows, i, row) {
    first = true;
    for (const char *const *c = csv_columns; *c; c++) {
      json_t *v = json_object_get(row, *c);
      if (!v && json_array_size(rows)) continue;
      if (json_is_integer(v))
        BP(b, "%s%lld", first ? "" : ",", (long long)json_integer_value(v));
      else
        BP(b, "%s%s", first ? "" : ",", json_is_string(v) ? json_string_value(v) : "");
      first = false;
    }
    for (size_t k = 0; k < n_outcomes(); k++)
      BP(b, ",%lld",
         (long long)json_integer_value(
             json_object_get(json_object_get(row, "outcomes"), f->choices[k].value)));
    BP(b, "\n");
  }
}

static void xml_text(parley_buf *b, const char *s) {
  for (; *s; s++) {
    if (*s == '<')
      BP(b, "&lt;");
    else if (*s == '>')
      BP(b, "&gt;");
    else if (*s == '&')
      BP(b, "&amp;");
    else if (*s == '"')
      BP(b, "&quot;");
    else
      BP(b, "%c", *s);
  }
}

/* A horizontal bar chart: requests per group, acknowledged and with a status overlaid. */
static void svg_out(parley_buf *b, const stats_ctx *s) {
  uint64_t max = 1;
  for (size_t i = 0; i < s->n_g; i++)
    if (s->g[i].requests > max) max = s->g[i].requests;
  const int bar_h = 18, gap = 6, left = 320, width = 360, top = 30;
  int h = top + (int)s->n_g * (bar_h + gap) + 30;
  BP(b,
     "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
     "font-family=\"sans-serif\" font-size=\"12\">\n"
     "<title>Parley: requests per group</title>\n"
     "<text x=\"10\" y=\"18\" font-weight=\"bold\">Requests (grey), acknowledged "
     "(blue), with a status (green); outcomes by the latest status update</text>\n",
     left + width + 360, h);
  for (size_t i = 0; i < s->n_g; i++) {
    const group *g = &s->g[i];
    int y = top + (int)i * (bar_h + gap);
    char label[200];
    snprintf(label, sizeof label, "%s%s%s%s%s%s%s%s%s", g->instrument, g->article[0] ? " " : "",
             g->article, g->instrument[0] && g->kind[0] ? " · " : "", g->kind,
             g->from[0] ? " · " : "", g->from, g->from[0] ? "→" : "", g->to);
    BP(b, "<text x=\"10\" y=\"%d\">", y + 13);
    xml_text(b, label[0] ? label : "all");
    BP(b, "</text>\n");
    int w_all = (int)(g->requests * (uint64_t)width / max),
        w_ack = (int)(g->acknowledged * (uint64_t)width / max),
        w_ans = (int)(g->answered * (uint64_t)width / max);
    BP(b,
       "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"#bbb\"/>\n"
       "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"#4a7fc1\"/>\n"
       "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"#3a9a5a\"/>\n"
       "<text x=\"%d\" y=\"%d\">%llu</text>\n",
       left, y, w_all, bar_h, left, y + 3, w_ack, bar_h - 6, left, y + 6, w_ans, bar_h - 12,
       left + w_all + 6, y + 13, (unsigned long long)g->requests);
    /* the outcomes, as the latest status updates say */
    const parley_template_field *f = status_field();
    BP(b, "<text x=\"%d\" y=\"%d\" font-size=\"10\">", left + w_all + 40, y + 13);
    for (size_t k = 0; k < n_outcomes(); k++)
      if (g->outcomes[k])
        BP(b, "%s %llu ", f->choices[k].value, (unsigned long long)g->outcomes[k]);
    BP(b, "</text>\n");
  }
  BP(b, "</svg>\n");
}

void h_stats(parleyd_req *r) {
  const char *group_q = parleyd_query(r, "group"), *format = parleyd_query(r, "format");
  if (!group_q) group_q = "instrument,kind";
  if (!format) format = "json";
  if (strcmp(format, "json") && strcmp(format, "csv") && strcmp(format, "svg")) {
    parleyd_reply_error(r, PARLEY_E_INVALID_ARGUMENT, "format: json, csv or svg");
    return;
  }
  unsigned by = 0;
  for (const char *p = group_q; *p;) {
    size_t n = strcspn(p, ",");
    if (n == 10 && !strncmp(p, "instrument", n))
      by |= G_INSTRUMENT;
    else if (n == 4 && !strncmp(p, "kind", n))
      by |= G_KIND;
    else if (n == 4 && !strncmp(p, "pair", n))
      by |= G_PAIR;
    else if (n) {
      parleyd_reply_error(r, PARLEY_E_INVALID_ARGUMENT,
                          "group: a comma-separated list of instrument, kind, pair");
      return;
    }
    p += n + (p[n] == ',');
  }
  stats_ctx *s = calloc(1, sizeof *s);
  group *g = calloc(STATS_MAX_GROUPS, sizeof *g);
  if (!s || !g) {
    free(s);
    free(g);
    parleyd_reply_error(r, PARLEY_E_NO_MEMORY, NULL);
    return;
  }
  s->r = r;
  s->by = by;
  s->g = g;
  s->operator_view = r->who.role == PARLEY_ROLE_OPERATOR;
  parley_error err;
  if (parley_store_run_named(parleyd->store, "stats_tx", false, stats_tx, s, &err) != PARLEY_E_OK) {
    free(g);
    free(s);
    parleyd_reply_err(r, &err);
    return;
  }
  json_t *rows = json_array();
  for (size_t i = 0; i < s->n_g; i++)
    json_array_append_new(rows, group_json(s, &s->g[i]));
  if (!strcmp(format, "json")) {
    json_t *o = json_pack("{s:s,s:s?,s:s,s:o,s:I,s:b}", "scope", s->operator_view ? "hub" : "state",
                          "state", s->operator_view ? NULL : r->who.state, "group", group_q,
                          "groups", rows, "messages_scanned", (json_int_t)s->seen, "truncated",
                          s->too_many_groups || s->seen >= STATS_MAX_MESSAGES);
    free(g);
    free(s);
    parleyd_reply_json(r, 200, o);
    return;
  }
  parley_buf b;
  parley_buf_init(&b, 8u << 20);
  if (!strcmp(format, "csv"))
    csv_out(&b, rows);
  else
    svg_out(&b, s);
  json_decref(rows);
  parleyd_reply_raw(
      r, 200, !strcmp(format, "csv") ? "text/csv; charset=utf-8" : "image/svg+xml; charset=utf-8",
      b.data, b.len);
  parley_buf_free(&b);
  free(g);
  free(s);
}
