/* Scheduled job: acknowledgement deadlines. Each message past its deadline or its next
 * escalation step is escalated (lifecycle.c decides whom to alert); the alerted POCs,
 * and the targets of a communication check that have not answered, are e-mailed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "handlers.h"
#include "lifecycle.h"
#include "record_view.h"

#define MAX_DUE 64

typedef struct {
  char ids[MAX_DUE][PARLEY_UUID_LEN];
  size_t n;
} due_list;

static bool collect_due(void *cls, const parley_message_row *m) {
  due_list *d = cls;
  if (d->n < MAX_DUE) parley_strlcpy(d->ids[d->n++], m->id, PARLEY_UUID_LEN);
  return d->n < MAX_DUE;
}

static parley_qs find_due(parley_tx *tx, void *cls, parley_error *err) {
  (void)err;
  due_list *d = cls;
  d->n = 0;
  return parley_store_due_messages(tx, parley_now(), MAX_DUE, collect_due, d);
}

typedef struct {
  const char *id;
  parleyd_lc_escalation e;
} esc_ctx;

static parley_qs escalate_tx(parley_tx *tx, void *cls, parley_error *err) {
  (void)err;
  esc_ctx *c = cls;
  return parleyd_lc_escalate(tx, c->id, parley_now(), &c->e);
}

typedef struct {
  const char *state, *poc;
  char *email;
  size_t cap;
} email_ctx;

static parley_qs email_tx(parley_tx *tx, void *cls, parley_error *err) {
  (void)err;
  email_ctx *c = cls;
  const parleyd_record_view *v;
  parley_qs qs = parleyd_record_view_current(tx, c->state, NULL, &v);
  if (qs != PARLEY_QS_ONE) return qs;
  const parleyd_poc_view *p = parleyd_record_view_poc(v, c->poc);
  if (p) parley_strlcpy(c->email, p->email, c->cap);
  parleyd_record_view_release(v);
  return PARLEY_QS_ONE;
}

/* The e-mail address of a POC in its state's current record ("" if none). */
static void parleyd_poc_email(const char *state, const char *poc, char *email, size_t cap) {
  email_ctx c = {state, poc, email, cap};
  parley_error err;
  email[0] = 0;
  parley_store_run_named(parleyd->store, "email_tx", false, email_tx, &c, &err);
}

/* E-mails the targets of a communication check that have not answered yet. */
static void send_reminders(const parleyd_lc_escalation *e) {
  char due[PARLEY_TIME_LEN], subject[200], body[500];
  parley_time_format(e->m.ack_deadline, due);
  snprintf(subject, sizeof subject, "[Parley] reminder: communication check, acknowledge by %s",
           due);
  snprintf(body, sizeof body,
           "Reminder: the communication check %s of the Parley hub %s awaits your\n"
           "acknowledgement by %s: parley ack %s\n",
           e->m.id, parleyd->cfg.origin, due, e->m.id);
  for (size_t i = 0; i < e->n_reminders; i++) {
    char email[256] = "";
    parleyd_poc_email(e->reminders[i].state, e->reminders[i].poc, email, sizeof email);
    parleyd_notify_email(email, subject, body);
  }
}

/* E-mails each POC the escalation step alerted (one per state not yet settled). */
static void send_alerts(const parleyd_lc_escalation *e) {
  const parley_message_row *m = &e->m;
  char subject[256], body[1024], deadline[PARLEY_TIME_LEN];
  parley_time_format(m->ack_deadline, deadline);
  snprintf(subject, sizeof subject, "[Parley] OVERDUE %s %s from %s: not acknowledged", m->priority,
           m->kind, m->from_state);
  for (size_t i = 0; i < e->n_alerts; i++) {
    snprintf(body, sizeof body,
             "A %s %s from %s (message %s) addressed to your state (%s) was due to be\n"
             "acknowledged by %s and has not been. You are next in your state's escalation\n"
             "order: please make sure it is read and acknowledged.\n\n"
             "This alert carries no content of the message.\n",
             m->priority, m->kind, m->from_state, m->id, e->alerts[i].state, deadline);
    parleyd_notify_email(e->alerts[i].email, subject, body);
    parley_log(PARLEY_LOG_INFO, "deadline.escalated", "message=%s level=%d alerted=%s/%s", m->id,
               m->escalation_level, e->alerts[i].state, e->alerts[i].poc);
  }
}

void parleyd_job_escalate(void) {
  due_list d;
  parley_error err;
  if (parley_store_run_named(parleyd->store, "find_due", false, find_due, &d, &err) != PARLEY_E_OK)
    return;
  for (size_t i = 0; i < d.n; i++) {
    esc_ctx c;
    memset(&c, 0, sizeof c);
    c.id = d.ids[i];
    if (parley_store_run_named(parleyd->store, "escalate_tx", true, escalate_tx, &c, &err) ==
        PARLEY_E_OK) {
      send_reminders(&c.e);
      send_alerts(&c.e);
    }
    parleyd_lc_escalation_free(&c.e);
  }
}
