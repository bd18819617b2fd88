/* Scheduled job: records past their review date. Their POCs are told by e-mail (at
 * start, then every stale_check seconds); the operator sees them in
 * GET /v1/reports/stale. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "handlers.h"
#include "record_view.h"

#define PARLEY_MAX_POCS_ALERT 64

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

void parleyd_job_stale_records(void) {
  stale_list *l = calloc(1, sizeof *l);
  parley_error err;
  if (!l || parley_store_run_named(parleyd->store, "find_stale", false, find_stale, l, &err) !=
                PARLEY_E_OK) {
    free(l);
    return;
  }
  for (size_t i = 0; i < l->n; i++) {
    stale_emails *c = calloc(1, sizeof *c);
    if (!c) break;
    c->state = l->codes[i];
    if (parley_store_run_named(parleyd->store, "stale_emails_tx", false, stale_emails_tx, c,
                               &err) == PARLEY_E_OK) {
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
