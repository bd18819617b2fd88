/* Scheduled job: treaty clocks (clocks.h). A running clock whose reminder is due gets a
 * "clock.reminder" event and an e-mail to the POC that sent its message; one whose due
 * time passed is marked lapsed ("clock.lapsed") and e-mailed to that POC and to the POCs
 * the message was addressed to. A respond-by clock escalates instead, as acknowledgement
 * deadlines do: at its due time "clock.lapsed" with the same e-mails, then at once and
 * every escalation step "clock.escalated", alerting the next POC of each recipient
 * state's escalation order, until it is met or the orders are walked through (then it is
 * settled lapsed). Metadata only: no alert carries content. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clocks.h"
#include "handlers.h"
#include "lifecycle.h"
#include "record_view.h"

#define MAX_DUE 64
#define MAX_MAILS (1 + PARLEY_MAX_RECIPIENTS)

typedef struct {
  parley_clock_row rows[MAX_DUE];
  size_t n;
} due_list;

static bool collect_due(void *cls, const parley_clock_row *c) {
  due_list *d = cls;
  if (d->n < MAX_DUE) d->rows[d->n++] = *c;
  return d->n < MAX_DUE;
}

static parley_qs find_due(parley_tx *tx, void *cls, parley_error *err) {
  (void)err;
  due_list *d = cls;
  d->n = 0;
  return parley_store_clocks_due(tx, parley_now(), MAX_DUE, collect_due, d);
}

typedef struct {
  parley_clock_row c; /* as listed; updated here */
  bool lapsed, reminded, escalated;
  char subject[256], body[1024];
  char emails[MAX_MAILS][256];
  size_t n_emails;
} tick_ctx;

typedef struct {
  const char *id;
  parley_clock_row found;
  bool have;
} find_ctx;

static bool find_clock(void *cls, const parley_clock_row *c) {
  find_ctx *f = cls;
  if (!strcmp(c->message_id, f->id) && !strcmp(c->name, f->found.name)) {
    f->found = *c;
    f->have = true;
    return false;
  }
  return true;
}

static void add_email(parley_tx *tx, tick_ctx *t, const char *state, const char *poc) {
  parleyd_recipient_check p;
  if (t->n_emails < MAX_MAILS && parleyd_poc_lookup(tx, state, poc, &p) == PARLEY_QS_ONE &&
      p.email[0])
    parley_strlcpy(t->emails[t->n_emails++], p.email, sizeof t->emails[0]);
}

typedef struct {
  parley_tx *tx;
  tick_ctx *t;
} rcpt_ctx;

/* How many escalation steps a clock took: its "clock.escalated" events. */
typedef struct {
  const char *name;
  int steps;
} steps_ctx;

static bool count_steps(void *cls, const char *event, const char *detail, int64_t at) {
  (void)at;
  steps_ctx *s = cls;
  size_t n = strlen(s->name);
  s->steps += !strcmp(event, "clock.escalated") && detail && !strncmp(detail, s->name, n) &&
              detail[n] == ':';
  return true;
}

/* One escalation step of a clock past its due time: the next POC of each recipient
 * state's escalation order (lifecycle.c's walk). Sets *alerted (false: the orders are
 * walked through) and the event detail. */
static parley_qs escalate_step(parley_tx *tx, tick_ctx *t, const parley_message_row *m,
                               const parley_clock_row *c, bool *alerted, char *detail, size_t cap) {
  steps_ctx sc = {c->name, 0};
  parley_qs qs = parley_store_message_events(tx, m->id, count_steps, &sc);
  if (qs < 0) return qs;
  parleyd_lc_view v = {0};
  if ((qs = parleyd_lc_load(tx, m, &v)) < 0) {
    parleyd_lc_view_free(&v);
    return qs;
  }
  *alerted = false;
  size_t len = (size_t)snprintf(detail, cap, "%s: alerted", c->name);
  for (size_t i = 0; i < v.n_states; i++) {
    parleyd_lc_alert a;
    if (!parleyd_lc_pick_target(tx, &v, v.states[i].state, sc.steps + 1, &a)) continue;
    *alerted = true;
    if (len < cap) len += (size_t)snprintf(detail + len, cap - len, " %s/%s", a.state, a.poc);
    if (a.email[0] && t->n_emails < MAX_MAILS)
      parley_strlcpy(t->emails[t->n_emails++], a.email, sizeof t->emails[0]);
  }
  parleyd_lc_view_free(&v);
  return PARLEY_QS_ONE;
}

static bool mail_rcpt(void *cls, const parley_recipient_row *r) {
  rcpt_ctx *rc = cls;
  add_email(rc->tx, rc->t, r->state, r->poc);
  return true;
}

/* One clock, in its own transaction: re-read (another pass or a new message may have
 * settled it meanwhile), then remind or lapse. */
static parley_qs tick_tx(parley_tx *tx, void *cls, parley_error *err) {
  (void)err;
  tick_ctx *t = cls;
  int64_t now = parley_now();
  t->lapsed = t->reminded = t->escalated = false;
  t->n_emails = 0;
  find_ctx f = {t->c.message_id, t->c, false};
  parley_qs qs = parley_store_clocks_of_case(tx, t->c.case_id, find_clock, &f);
  if (qs < 0) return qs;
  parley_clock_row c = f.found;
  if (!f.have || c.status != PARLEY_CLOCK_RUNNING || !c.next_at || c.next_at > now)
    return PARLEY_QS_NONE;
  parley_message_row m;
  if ((qs = parley_store_message_get(tx, c.message_id, &m)) != PARLEY_QS_ONE)
    return qs < 0 ? qs : PARLEY_QS_NONE;
  char due[PARLEY_TIME_LEN], detail[512];
  parley_time_format(c.due, due);
  const char *event;
  bool escalating = parleyd_clock_escalates(c.name) && c.due <= now;
  bool first_step = escalating && c.next_at <= c.due;
  if (escalating && !first_step) {
    /* past due and lapsed already: the next step of the escalation */
    bool alerted = false;
    if ((qs = escalate_step(tx, t, &m, &c, &alerted, detail, sizeof detail)) < 0) {
      parley_message_row_clear(&m);
      return qs;
    }
    if (alerted) {
      c.next_at = now + parleyd->cfg.escalation_step_s;
      t->escalated = true;
      event = "clock.escalated";
    } else { /* every escalation order walked through: settled as lapsed */
      c.status = PARLEY_CLOCK_LAPSED;
      c.settled = now;
      c.next_at = 0;
      event = NULL;
    }
    if ((qs = parley_store_clock_put(tx, &c)) >= 0 && event)
      qs = parley_store_message_event(tx, c.message_id, event, detail, now);
    snprintf(t->subject, sizeof t->subject, "[Parley] ESCALATED: %s of %s %s", c.name, m.kind,
             m.id);
    snprintf(t->body, sizeof t->body,
             "The %s clock of the %s %s (sent by %s, case %s) lapsed on %s without an answer "
             "from the requested state. You are next in your state's escalation order.\n\n"
             "This alert carries no content of the message.\n",
             c.name, m.kind, m.id, m.from_state, c.case_id, due);
    parley_message_row_clear(&m);
    t->c = c;
    return qs < 0 ? qs : PARLEY_QS_ONE;
  }
  if (escalating) {
    /* the due time: lapsed (as below), and it keeps running to escalate */
    c.remind_at = 0;
    c.next_at = now; /* > due from here: the next pass takes the first escalation step */
    if (c.next_at <= c.due) c.next_at = c.due + 1;
    t->lapsed = true;
    event = "clock.lapsed";
    snprintf(detail, sizeof detail, "%s lapsed (due %s)", c.name, due);
  } else if (c.due <= now) {
    c.status = PARLEY_CLOCK_LAPSED;
    c.settled = now;
    c.remind_at = 0;
    c.next_at = 0;
    t->lapsed = true;
    event = "clock.lapsed";
    snprintf(detail, sizeof detail, "%s lapsed (due %s)", c.name, due);
  } else {
    c.remind_at = 0;
    c.next_at = c.due;
    t->reminded = true;
    event = "clock.reminder";
    snprintf(detail, sizeof detail, "%s due %s", c.name, due);
  }
  if ((qs = parley_store_clock_put(tx, &c)) >= 0)
    qs = parley_store_message_event(tx, c.message_id, event, detail, now);
  if (qs >= 0) {
    add_email(tx, t, m.from_state, m.from_poc);
    rcpt_ctx rc = {tx, t};
    if (t->lapsed && strcmp(c.name, "preservation-lapse") && strcmp(c.name, "written-confirmation"))
      qs = parley_store_recipients_get(tx, m.id, mail_rcpt, &rc);
  }
  snprintf(t->subject, sizeof t->subject, "[Parley] %s: %s of %s %s",
           t->lapsed ? "LAPSED" : "reminder", c.name, m.kind, m.id);
  snprintf(t->body, sizeof t->body,
           "The %s clock of the %s %s (sent by %s, case %s) %s %s.\n"
           "%s\n\nThis alert carries no content of the message.\n",
           c.name, m.kind, m.id, m.from_state, c.case_id,
           t->lapsed ? "lapsed; it was due" : "is due", due,
           !strcmp(c.name, "preservation-lapse")
               ? "A preservation lapses unless the announced request for mutual assistance (or an "
                 "extension) is sent in the same case."
               : "See the case: parley case ID.");
  parley_message_row_clear(&m);
  t->c = c;
  return qs < 0 ? qs : PARLEY_QS_ONE;
}

void parleyd_job_clocks(void) {
  due_list *d = malloc(sizeof *d);
  tick_ctx *t = malloc(sizeof *t);
  parley_error err;
  if (!d || !t ||
      parley_store_run_named(parleyd->store, "find_due_clocks", false, find_due, d, &err) !=
          PARLEY_E_OK) {
    free(d);
    free(t);
    return;
  }
  for (size_t i = 0; i < d->n; i++) {
    memset(t, 0, sizeof *t);
    t->c = d->rows[i];
    if (parley_store_run_named(parleyd->store, "clock_tick", true, tick_tx, t, &err) !=
            PARLEY_E_OK ||
        (!t->lapsed && !t->reminded && !t->escalated))
      continue;
    parley_log(PARLEY_LOG_INFO,
               t->escalated ? "clock.escalated"
               : t->lapsed  ? "clock.lapsed"
                            : "clock.reminder",
               "message=%s clock=%s state=%s", t->c.message_id, t->c.name, t->c.state);
    for (size_t k = 0; k < t->n_emails; k++)
      parleyd_notify_email(t->emails[k], t->subject, t->body);
  }
  free(d);
  free(t);
}
