/* Treaty clocks: started and met on message metadata (see clocks.h). */
#include "clocks.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "handlers.h"

const char *const parleyd_clock_statuses[] = {"running", "met", "lapsed", NULL};

static bool is_one_of(const char *kind, const char *const *list) {
  for (; *list; list++)
    if (!strcmp(kind, *list)) return true;
  return false;
}

bool parleyd_kind_is_emergency(const char *kind) {
  static const char *const k[] = {"emergency-disclosure", "emergency-assistance", NULL};
  return is_one_of(kind, k);
}

/* The requests a preservation announces (UN Art. 42(2)(f), Budapest Art. 29(2)(f)). */
static bool follows_preservation(const char *kind) {
  static const char *const k[] = {"mutual-legal-assistance", "stored-data-access",
                                  "production-order", NULL};
  return is_one_of(kind, k);
}

/* Written requests: what confirms an oral one. */
static bool is_written_request(const char *kind) {
  static const char *const k[] = {"mutual-legal-assistance",
                                  "stored-data-access",
                                  "production-order",
                                  "emergency-disclosure",
                                  "emergency-assistance",
                                  "preservation-request",
                                  NULL};
  return is_one_of(kind, k);
}

static bool is_answer(const char *kind) {
  return !strcmp(kind, "status-update") || !strcmp(kind, "response");
}

/* A status that answers a request (what a respond-by date waits for). */
static bool is_final_status(const char *status) {
  static const char *const s[] = {"executed", "partially-executed", "refused", "withdrawn", NULL};
  return is_one_of(status, s);
}

bool parleyd_clock_escalates(const char *name) {
  return !strcmp(name, "respond-by");
}

#define MAX_CASE_CLOCKS 64

typedef struct {
  parley_clock_row rows[MAX_CASE_CLOCKS];
  size_t n;
} clock_list;

static bool collect(void *cls, const parley_clock_row *c) {
  clock_list *l = cls;
  if (l->n < MAX_CASE_CLOCKS) l->rows[l->n++] = *c;
  return l->n < MAX_CASE_CLOCKS;
}

typedef struct {
  const char *state;
  bool found;
} rcpt_state_ctx;

static bool find_rcpt_state(void *cls, const parley_recipient_row *r) {
  rcpt_state_ctx *x = cls;
  x->found |= !strcmp(r->state, x->state);
  return !x->found;
}

/* Whether the new message `in` satisfies the running clock c. answers_as_recipient: in
 * replies to a message its sender's state was addressed by (so no stranger can meet a
 * clock or post a status). */
static bool meets(const parley_clock_row *c, const parley_envelope_info *in,
                  bool answers_as_recipient) {
  bool same_state = !strcmp(c->state, in->from.state);
  if (!strcmp(c->name, "preservation-lapse"))
    return same_state &&
           (follows_preservation(in->kind) || !strcmp(in->kind, "preservation-request"));
  if (!strcmp(c->name, "written-confirmation")) return same_state && is_written_request(in->kind);
  if (!strcmp(c->name, "respond-by"))
    return !same_state && answers_as_recipient && !strcmp(in->in_reply_to, c->message_id) &&
           (!strcmp(in->kind, "response") ||
            (!strcmp(in->kind, "status-update") && is_final_status(in->status)));
  /* production-response, emergency-response: the requested state answers */
  return !same_state && answers_as_recipient && is_answer(in->kind) &&
         !strcmp(in->in_reply_to, c->message_id);
}

static parley_qs start_until(parley_tx *tx, const parley_envelope_info *in, const char *case_id,
                             const char *name, int64_t now, int64_t due, int64_t remind_before) {
  parley_clock_row c;
  memset(&c, 0, sizeof c);
  parley_strlcpy(c.message_id, in->id, sizeof c.message_id);
  parley_strlcpy(c.name, name, sizeof c.name);
  parley_strlcpy(c.case_id, case_id, sizeof c.case_id);
  parley_strlcpy(c.state, in->from.state, sizeof c.state);
  c.started = now;
  c.due = due;
  c.remind_at = remind_before > 0 && remind_before < due - now ? c.due - remind_before : 0;
  c.next_at = c.remind_at ? c.remind_at : c.due;
  c.status = PARLEY_CLOCK_RUNNING;
  parley_qs qs = parley_store_clock_put(tx, &c);
  if (qs < 0) return qs;
  char detail[96], due_text[PARLEY_TIME_LEN];
  parley_time_format(c.due, due_text);
  snprintf(detail, sizeof detail, "%s due %s", name, due_text);
  return parley_store_message_event(tx, in->id, "clock.started", detail, now);
}

static parley_qs start(parley_tx *tx, const parley_envelope_info *in, const char *case_id,
                       const char *name, int64_t now, int64_t period, int64_t remind_before) {
  return start_until(tx, in, case_id, name, now, now + period, remind_before);
}

/* A respond_by date (the end of that day, UTC) or time; 0 if unreadable. */
static int64_t respond_by_time(const char *s) {
  int64_t t;
  if (strlen(s) == 10) {
    char full[32];
    snprintf(full, sizeof full, "%.10sT00:00:00Z", s);
    return parley_time_parse(full, &t) == PARLEY_E_OK ? t + 86400 : 0;
  }
  return parley_time_parse(s, &t) == PARLEY_E_OK ? t : 0;
}

parley_qs parleyd_clocks_on_submit(parley_tx *tx, const parley_envelope_info *in, int64_t now) {
  parley_qs qs;
  if (in->basis_instrument[0] && (qs = parley_store_message_basis_put(
                                      tx, in->id, in->basis_instrument, in->basis_article)) < 0)
    return qs;
  const char *case_id = in->case_id[0] ? in->case_id : in->id;
  rcpt_state_ctx as_rcpt = {in->from.state, false};
  if (in->in_reply_to[0] &&
      (qs = parley_store_recipients_get(tx, in->in_reply_to, find_rcpt_state, &as_rcpt)) < 0)
    return qs;
  clock_list *l = malloc(sizeof *l);
  if (!l) return PARLEY_QS_HARD;
  l->n = 0;
  if ((qs = parley_store_clocks_of_case(tx, case_id, collect, l)) < 0) {
    free(l);
    return qs;
  }
  for (size_t i = 0; i < l->n; i++) {
    parley_clock_row *c = &l->rows[i];
    if (c->status != PARLEY_CLOCK_RUNNING || !meets(c, in, as_rcpt.found)) continue;
    c->status = PARLEY_CLOCK_MET;
    c->settled = now;
    c->remind_at = 0;
    c->next_at = 0;
    char detail[160];
    snprintf(detail, sizeof detail, "%s met by %s %s from %s", c->name, in->kind, in->id,
             in->from.state);
    if ((qs = parley_store_clock_put(tx, c)) < 0 ||
        (qs = parley_store_message_event(tx, c->message_id, "clock.met", detail, now)) < 0) {
      free(l);
      return qs;
    }
  }
  free(l);
  /* a status update on a request, by a state it was addressed to: its status is in the
   * signed header (checked against the template's choices), the ground in the body */
  if (!strcmp(in->kind, "status-update") && as_rcpt.found) {
    parley_message_row orig;
    qs = parley_store_message_get(tx, in->in_reply_to, &orig);
    if (qs < 0) return qs;
    if (qs == PARLEY_QS_ONE && strcmp(orig.from_state, in->from.state) != 0) {
      char detail[256];
      snprintf(detail, sizeof detail, "%s %s by %s/%s", in->id, in->status, in->from.state,
               in->from.poc);
      qs = parley_store_message_event(tx, orig.id, "status-update", detail, now);
    }
    parley_message_row_clear(&orig);
    if (qs < 0) return qs;
  }
  const parleyd_config *cfg = &parleyd->cfg;
  /* a time limit the requesting state gave (its reasons are in the body) */
  int64_t respond_by = in->respond_by[0] ? respond_by_time(in->respond_by) : 0;
  if (respond_by &&
      (qs = start_until(tx, in, case_id, "respond-by", now, respond_by > now ? respond_by : now,
                        cfg->respond_by_reminder_s)) < 0)
    return qs;
  if (!strcmp(in->kind, "preservation-request"))
    return start(tx, in, case_id, "preservation-lapse", now, cfg->preservation_s,
                 cfg->preservation_reminder_s);
  if (!strcmp(in->kind, "oral-request"))
    return start(tx, in, case_id, "written-confirmation", now, cfg->oral_confirmation_s, 0);
  if (!strcmp(in->kind, "production-order"))
    return start(tx, in, case_id, "production-response", now, cfg->production_order_s, 0);
  if (parleyd_kind_is_emergency(in->kind))
    return start(tx, in, case_id, "emergency-response", now, cfg->emergency_response_s, 0);
  return PARLEY_QS_ONE;
}

json_t *parleyd_clock_json(const parley_clock_row *c) {
  char started[PARLEY_TIME_LEN], due[PARLEY_TIME_LEN], remind[PARLEY_TIME_LEN],
      settled[PARLEY_TIME_LEN];
  parley_time_format(c->started, started);
  parley_time_format(c->due, due);
  parley_time_format(c->remind_at, remind);
  parley_time_format(c->settled, settled);
  json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s?,s:s,s:s?}", "message", c->message_id, "name",
                        c->name, "state", c->state, "started", started, "due", due, "remind_at",
                        c->remind_at ? remind : NULL, "status", parleyd_clock_statuses[c->status],
                        "settled", c->settled ? settled : NULL);
  /* running past its due time: escalating (respond-by) */
  if (o && c->status == PARLEY_CLOCK_RUNNING && c->due <= parley_now())
    json_object_set_new(o, "overdue", json_true());
  return o;
}
