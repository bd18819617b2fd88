/* The scheduler thread: acknowledgement deadlines and escalation, checkpoint signing,
 * nonce purging. Everything it acts on is in the store, so deadlines survive a
 * restart: after one, overdue messages are escalated at the next tick. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "handlers.h"
#include "lifecycle.h"
#include "record_view.h"
#include "parley/json.h"

static pthread_t thread;
static bool running;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wake = PTHREAD_COND_INITIALIZER;
static bool stop;

#define MAX_DUE 64
#define PARLEY_MAX_POCS_ALERT 64

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
  parley_store_run(parleyd->store, false, email_tx, &c, &err);
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

static void run_deadlines(void) {
  due_list d;
  parley_error err;
  if (parley_store_run(parleyd->store, false, find_due, &d, &err) != PARLEY_E_OK) return;
  for (size_t i = 0; i < d.n; i++) {
    esc_ctx c;
    memset(&c, 0, sizeof c);
    c.id = d.ids[i];
    if (parley_store_run(parleyd->store, true, escalate_tx, &c, &err) == PARLEY_E_OK) {
      send_reminders(&c.e);
      send_alerts(&c.e);
    }
    parleyd_lc_escalation_free(&c.e);
  }
}

static parley_qs purge(parley_tx *tx, void *cls, parley_error *err) {
  (void)cls;
  (void)err;
  return parley_store_nonce_purge(tx, parley_now());
}

/* Records past their review date: their POCs are told by e-mail (at start, then every
 * stale_check seconds), and the operator sees them in GET /v1/reports/stale. */
typedef struct {
  char codes[256][PARLEY_STATE_CODE_LEN];
  int64_t review_by[256];
  size_t n;
} stale_list;

static bool collect_stale(void *cls, const parley_state_row *s) {
  stale_list *l = cls;
  if (s->status == PARLEY_STATE_ACTIVE && s->current_version && s->review_by < parley_now() &&
      l->n < 256) {
    parley_strlcpy(l->codes[l->n], s->code, PARLEY_STATE_CODE_LEN);
    l->review_by[l->n++] = s->review_by;
  }
  return l->n < 256;
}

static parley_qs find_stale(parley_tx *tx, void *cls, parley_error *err) {
  (void)err;
  ((stale_list *)cls)->n = 0;
  return parley_store_state_list(tx, collect_stale, cls);
}

typedef struct {
  const char *state;
  char emails[PARLEY_MAX_POCS_ALERT][256];
  size_t n;
} stale_emails;

static parley_qs stale_emails_tx(parley_tx *tx, void *cls, parley_error *err) {
  (void)err;
  stale_emails *c = cls;
  c->n = 0;
  const parleyd_record_view *v;
  parley_qs qs = parleyd_record_view_current(tx, c->state, NULL, &v);
  if (qs != PARLEY_QS_ONE) return qs;
  for (size_t i = 0; i < v->n_pocs; i++)
    if (v->pocs[i].email[0] && c->n < PARLEY_MAX_POCS_ALERT)
      parley_strlcpy(c->emails[c->n++], v->pocs[i].email, sizeof c->emails[0]);
  parleyd_record_view_release(v);
  return PARLEY_QS_ONE;
}

static void run_stale(void) {
  stale_list *l = calloc(1, sizeof *l);
  parley_error err;
  if (!l || parley_store_run(parleyd->store, false, find_stale, l, &err) != PARLEY_E_OK) {
    free(l);
    return;
  }
  for (size_t i = 0; i < l->n; i++) {
    stale_emails *c = calloc(1, sizeof *c);
    if (!c) break;
    c->state = l->codes[i];
    if (parley_store_run(parleyd->store, false, stale_emails_tx, c, &err) == PARLEY_E_OK) {
      char rb[PARLEY_TIME_LEN], subject[200], body[600];
      parley_time_format(l->review_by[i], rb);
      snprintf(subject, sizeof subject,
               "[Parley] the directory record of %s is past its review date", l->codes[i]);
      snprintf(body, sizeof body,
               "The directory record of %s on the Parley hub %s was to be reviewed by %s.\n"
               "Please ask your state administrator to check the points of contact and\n"
               "publish a new version (parley state sign / parley state publish).\n",
               l->codes[i], parleyd->cfg.origin, rb);
      for (size_t k = 0; k < c->n; k++)
        parleyd_notify_email(c->emails[k], subject, body);
      parley_log(PARLEY_LOG_INFO, "directory.stale_notified", "state=%s pocs=%zu", l->codes[i],
                 c->n);
    }
    free(c);
  }
  free(l);
}

static void *loop(void *arg) {
  (void)arg;
  int64_t last_cp = 0, last_purge = parley_now(), last_stale = 0;
  pthread_mutex_lock(&lock);
  while (!stop) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t ns = (uint64_t)ts.tv_nsec + (uint64_t)parleyd->cfg.scheduler_tick_ms * 1000000u;
    ts.tv_sec += (time_t)(ns / 1000000000u);
    ts.tv_nsec = (long)(ns % 1000000000u);
    pthread_cond_timedwait(&wake, &lock, &ts);
    if (stop) break;
    pthread_mutex_unlock(&lock);
    run_deadlines();
    int64_t now = parley_now();
    if (now - last_cp >= parleyd->cfg.checkpoint_interval_s) {
      parley_checkpoint_row cp;
      parley_error err;
      if (parleyd_checkpoint(false, &cp, &err) == PARLEY_E_OK) parley_checkpoint_row_clear(&cp);
      last_cp = now;
    }
    parleyd_pings_recur();
    if (parleyd->cfg.stale_check_s && now - last_stale >= parleyd->cfg.stale_check_s) {
      run_stale();
      last_stale = now;
    }
    if (now - last_purge >= 60) {
      parley_error err;
      parley_store_run(parleyd->store, true, purge, NULL, &err);
      last_purge = now;
    }
    pthread_mutex_lock(&lock);
  }
  pthread_mutex_unlock(&lock);
  return NULL;
}

void parleyd_scheduler_start(void) {
  running = pthread_create(&thread, NULL, loop, NULL) == 0;
}

void parleyd_scheduler_stop(void) {
  pthread_mutex_lock(&lock);
  stop = true;
  pthread_cond_signal(&wake);
  pthread_mutex_unlock(&lock);
  if (running) pthread_join(thread, NULL);
  running = false;
}
