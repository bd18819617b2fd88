/* The message lifecycle rules (see lifecycle.h): delivery, acknowledgement and answers
 * per recipient state, escalation of the states not yet settled, communication checks. */
#include "lifecycle.h"

#include <stdlib.h>
#include <string.h>

#include "handlers.h"
#include "parley/json.h"
#include "parley/proto.h"
#include "record_view.h"

bool parleyd_lc_is_hub_check(const parley_message_row *m) {
  return !strcmp(m->kind, "ping") && !strcmp(m->from_state, PARLEYD_HUB_STATE);
}

/* ---- the view of a message's recipients ------------------------------------ */

static bool collect_rcpt(void *cls, const parley_recipient_row *r) {
  parleyd_lc_view *v = cls;
  if (v->n_rcpts % 16 == 0) {
    parley_recipient_row *n = realloc(v->rcpts, (v->n_rcpts + 16) * sizeof *n);
    if (!n) {
      v->no_memory = true;
      return false;
    }
    v->rcpts = n;
  }
  v->rcpts[v->n_rcpts++] = *r;
  return true;
}

static int64_t earliest(int64_t a, int64_t b) {
  return !a ? b : !b ? a : a < b ? a : b;
}

/* "answered" events carry "<response id> by STATE/POC": the state that answered. */
static bool collect_answer(void *cls, const char *event, const char *detail, int64_t at) {
  parleyd_lc_view *v = cls;
  const char *by = detail && !strcmp(event, "answered") ? strstr(detail, " by ") : NULL;
  if (!by) return true;
  by += 4;
  for (size_t i = 0; i < v->n_states; i++) {
    size_t n = strlen(v->states[i].state);
    if (!strncmp(by, v->states[i].state, n) && by[n] == '/')
      v->states[i].answered = earliest(v->states[i].answered, at);
  }
  return true;
}

void parleyd_lc_view_free(parleyd_lc_view *v) {
  free(v->rcpts);
  free(v->states);
  memset(v, 0, sizeof *v);
}

parley_qs parleyd_lc_load(parley_tx *tx, const parley_message_row *m, parleyd_lc_view *v) {
  parleyd_lc_view_free(v);
  parley_qs qs = parley_store_recipients_get(tx, m->id, collect_rcpt, v);
  if (qs < 0) return qs;
  v->states = v->no_memory ? NULL : calloc(v->n_rcpts ? v->n_rcpts : 1, sizeof *v->states);
  if (!v->states) {
    parley_log(PARLEY_LOG_ERROR, "lifecycle.no_memory", "message=%s", m->id);
    return PARLEY_QS_HARD;
  }
  for (size_t i = 0; i < v->n_rcpts; i++) { /* rows come in state, poc order */
    const parley_recipient_row *r = &v->rcpts[i];
    if (!v->n_states || strcmp(v->states[v->n_states - 1].state, r->state))
      parley_strlcpy(v->states[v->n_states++].state, r->state, PARLEY_STATE_CODE_LEN);
    parleyd_lc_state *s = &v->states[v->n_states - 1];
    s->pocs++;
    if (r->acked) {
      s->acked_pocs++;
      s->acknowledged = earliest(s->acknowledged, r->acked);
    }
  }
  /* a communication check is settled by receipts alone: its many events are not read */
  if (!parleyd_lc_is_hub_check(m) &&
      (qs = parley_store_message_events(tx, m->id, collect_answer, v)) < 0)
    return qs;
  return PARLEY_QS_ONE;
}

const parleyd_lc_state *parleyd_lc_find_state(const parleyd_lc_view *v, const char *state) {
  for (size_t i = 0; i < v->n_states; i++)
    if (!strcmp(v->states[i].state, state)) return &v->states[i];
  return NULL;
}

const parley_recipient_row *parleyd_lc_find_rcpt(const parleyd_lc_view *v, const char *state,
                                                 const char *poc) {
  for (size_t i = 0; i < v->n_rcpts; i++)
    if (!strcmp(v->rcpts[i].state, state) && !strcmp(v->rcpts[i].poc, poc)) return &v->rcpts[i];
  return NULL;
}

bool parleyd_lc_settled(const parleyd_lc_state *s) {
  return s->acknowledged || s->answered;
}

bool parleyd_lc_state_overdue(const parley_message_row *m, const parleyd_lc_state *s, int64_t now) {
  int64_t settled = earliest(s->acknowledged, s->answered);
  return (settled ? settled : now) > m->ack_deadline;
}

json_t *parleyd_lc_states_json(const parley_message_row *m, const parleyd_lc_view *v, int64_t now) {
  json_t *a = json_array();
  for (size_t i = 0; a && i < v->n_states; i++) {
    const parleyd_lc_state *s = &v->states[i];
    char ack[PARLEY_TIME_LEN], ans[PARLEY_TIME_LEN];
    if (s->acknowledged) parley_time_format(s->acknowledged, ack);
    if (s->answered) parley_time_format(s->answered, ans);
    json_array_append_new(a, json_pack("{s:s,s:s?,s:s?,s:b}", "state", s->state, "acknowledged",
                                       s->acknowledged ? ack : NULL, "answered",
                                       s->answered ? ans : NULL, "overdue",
                                       parleyd_lc_state_overdue(m, s, now)));
  }
  return a;
}

/* Raises m's status once every recipient state is settled (for a communication check:
 * once every target acknowledged) and ends its escalation; *changed says if m changed. */
static void settle(parley_message_row *m, const parleyd_lc_view *v, bool *changed) {
  bool all = true, answered = false;
  if (parleyd_lc_is_hub_check(m)) {
    for (size_t i = 0; i < v->n_rcpts; i++)
      all &= v->rcpts[i].acked != 0;
  } else {
    for (size_t i = 0; i < v->n_states; i++) {
      all &= parleyd_lc_settled(&v->states[i]);
      answered |= v->states[i].answered != 0;
    }
  }
  if (!all || !v->n_rcpts) return;
  parley_msg_status s = answered ? PARLEY_MSG_ANSWERED : PARLEY_MSG_ACKNOWLEDGED;
  if (m->status < s) {
    m->status = s;
    *changed = true;
  }
  if (m->next_escalation) {
    m->next_escalation = 0;
    *changed = true;
  }
}

/* ---- transitions ------------------------------------------------------------ */

parley_qs parleyd_lc_delivered(parley_tx *tx, parley_message_row *m, parley_recipient_row me,
                               int64_t now) {
  me.delivered = now;
  char detail[128];
  snprintf(detail, sizeof detail, "to %s/%s", me.state, me.poc);
  parley_qs qs;
  if ((qs = parley_store_recipient_update(tx, &me)) < 0 ||
      (qs = parley_store_message_event(tx, m->id, "delivered", detail, now)) < 0)
    return qs;
  if (m->status == PARLEY_MSG_SUBMITTED) {
    m->status = PARLEY_MSG_DELIVERED;
    if ((qs = parley_store_message_update(tx, m)) < 0) return qs;
  }
  return PARLEY_QS_ONE;
}

parley_qs parleyd_lc_acknowledged(parley_tx *tx, parley_message_row *m, parley_recipient_row me,
                                  const parley_ack_row *a, int64_t now) {
  me.acked = now;
  char detail[128];
  snprintf(detail, sizeof detail, "by %s/%s", me.state, me.poc);
  parley_qs qs;
  if ((qs = parley_store_ack_insert(tx, a)) < 0 ||
      (qs = parley_store_recipient_update(tx, &me)) < 0 ||
      (qs = parley_store_message_event(tx, m->id, "acknowledged", detail, now)) < 0)
    return qs;
  parleyd_lc_view v = {0};
  qs = parleyd_lc_load(tx, m, &v);
  bool changed = false;
  if (qs >= 0) settle(m, &v, &changed);
  parleyd_lc_view_free(&v);
  if (qs >= 0 && changed) qs = parley_store_message_update(tx, m);
  return qs < 0 ? qs : PARLEY_QS_ONE;
}

parley_qs parleyd_lc_response(parley_tx *tx, const parley_envelope_info *in, int64_t now) {
  /* a status update (treaty requests) answers as a response does */
  if (!in->in_reply_to[0] || (strcmp(in->kind, "response") && strcmp(in->kind, "status-update")))
    return PARLEY_QS_ONE;
  parley_message_row orig;
  parley_qs qs = parley_store_message_get(tx, in->in_reply_to, &orig);
  if (qs != PARLEY_QS_ONE) return qs < 0 ? qs : PARLEY_QS_ONE;
  /* the responder was one of its recipients, and answers its sender */
  bool to_sender = false;
  for (size_t i = 0; i < in->n_recipients; i++)
    to_sender |= !strcmp(in->recipients[i].state, orig.from_state) &&
                 !strcmp(in->recipients[i].poc, orig.from_poc);
  parleyd_lc_view v = {0};
  if (to_sender && (qs = parleyd_lc_load(tx, &orig, &v)) >= 0 &&
      parleyd_lc_find_rcpt(&v, in->from.state, in->from.poc)) {
    char detail[160];
    snprintf(detail, sizeof detail, "%s by %s/%s", in->id, in->from.state, in->from.poc);
    parleyd_lc_state *s = (parleyd_lc_state *)parleyd_lc_find_state(&v, in->from.state);
    s->answered = earliest(s->answered, now);
    bool changed = false;
    settle(&orig, &v, &changed);
    if ((qs = parley_store_message_event(tx, orig.id, "answered", detail, now)) >= 0 && changed)
      qs = parley_store_message_update(tx, &orig);
  }
  parleyd_lc_view_free(&v);
  parley_message_row_clear(&orig);
  return qs < 0 ? qs : PARLEY_QS_ONE;
}

/* ---- escalation ------------------------------------------------------------- */

/* The POC to alert for state s at escalation step `level` (1-based): walking s's
 * escalation orders for the roles of its addressed POCs, the level-th distinct POC
 * that was not itself addressed. false if the walk is shorter. */
bool parleyd_lc_pick_target(parley_tx *tx, const parleyd_lc_view *v, const char *state, int level,
                            parleyd_lc_alert *out) {
  const parleyd_record_view *rec;
  if (parleyd_record_view_current(tx, state, NULL, &rec) != PARLEY_QS_ONE) return false;
  const char *walk[PARLEY_MAX_POCS];
  size_t n_walk = 0;
  for (size_t e = 0; e < rec->n_escalation; e++) {
    const parleyd_escalation_order *order = &rec->escalation[e];
    bool relevant = false;
    for (size_t k = 0; k < rec->n_pocs; k++)
      relevant |= parleyd_lc_find_rcpt(v, state, rec->pocs[k].id) &&
                  parleyd_poc_view_has_role(&rec->pocs[k], order->role);
    if (!relevant) continue;
    for (size_t k = 0; k < order->n; k++) {
      const char *pid = order->pocs[k];
      bool seen = parleyd_lc_find_rcpt(v, state, pid);
      for (size_t q = 0; q < n_walk && !seen; q++)
        seen = !strcmp(walk[q], pid);
      if (!seen && n_walk < PARLEY_MAX_POCS) walk[n_walk++] = pid;
    }
  }
  bool found = level >= 1 && (size_t)level <= n_walk;
  if (found) {
    const char *pid = walk[level - 1];
    memset(out, 0, sizeof *out);
    parley_strlcpy(out->state, state, sizeof out->state);
    parley_strlcpy(out->poc, pid, sizeof out->poc);
    const parleyd_poc_view *p = parleyd_record_view_poc(rec, pid);
    if (p) parley_strlcpy(out->email, p->email, sizeof out->email);
  }
  parleyd_record_view_release(rec);
  return found;
}

void parleyd_lc_escalation_free(parleyd_lc_escalation *e) {
  free(e->alerts);
  free(e->reminders);
  parley_message_row_clear(&e->m);
  memset(e, 0, sizeof *e);
}

/* A communication check: one reminder to every target that has not acknowledged. */
static parley_qs remind(parley_tx *tx, parleyd_lc_escalation *e, const parleyd_lc_view *v,
                        int64_t now) {
  e->reminders = calloc(v->n_rcpts ? v->n_rcpts : 1, sizeof *e->reminders);
  if (!e->reminders) return PARLEY_QS_HARD;
  for (size_t i = 0; i < v->n_rcpts; i++) {
    if (v->rcpts[i].acked) continue;
    parleyd_lc_alert *r = &e->reminders[e->n_reminders++];
    parley_strlcpy(r->state, v->rcpts[i].state, sizeof r->state);
    parley_strlcpy(r->poc, v->rcpts[i].poc, sizeof r->poc);
  }
  e->m.next_escalation = 0;
  parley_qs qs =
      parley_store_message_event(tx, e->m.id, "reminded", "targets that have not answered", now);
  if (qs >= 0) qs = parley_store_message_update(tx, &e->m);
  return qs < 0 ? qs : PARLEY_QS_ONE;
}

static parley_qs escalate(parley_tx *tx, parleyd_lc_escalation *e, const parleyd_lc_view *v,
                          int64_t now) {
  parley_message_row *m = &e->m;
  char waiting[200] = "";
  size_t n_waiting = 0;
  for (size_t i = 0; i < v->n_states; i++) {
    if (parleyd_lc_settled(&v->states[i])) continue;
    size_t l = strlen(waiting);
    snprintf(waiting + l, sizeof waiting - l, "%s%s", n_waiting++ ? ", " : "", v->states[i].state);
  }
  parley_qs qs;
  if (!n_waiting) { /* settled meanwhile: nothing more to do */
    bool changed = false;
    settle(m, v, &changed);
    m->next_escalation = 0;
    qs = parley_store_message_update(tx, m);
    return qs < 0 ? qs : PARLEY_QS_ONE;
  }
  if (!m->overdue) {
    m->overdue = true;
    char detail[256];
    snprintf(detail, sizeof detail, "no acknowledgement by the deadline from %s", waiting);
    if ((qs = parley_store_message_event(tx, m->id, "overdue", detail, now)) < 0) return qs;
  }
  m->escalation_level++;
  e->alerts = calloc(v->n_states, sizeof *e->alerts);
  if (!e->alerts) return PARLEY_QS_HARD;
  for (size_t i = 0; i < v->n_states; i++) {
    if (parleyd_lc_settled(&v->states[i])) continue;
    parleyd_lc_alert *a = &e->alerts[e->n_alerts];
    if (!parleyd_lc_pick_target(tx, v, v->states[i].state, m->escalation_level, a)) continue;
    e->n_alerts++;
    char detail[200];
    snprintf(detail, sizeof detail, "step %d: alerted %s/%s%s", m->escalation_level, a->state,
             a->poc, a->email[0] && parleyd->cfg.smtp_url[0] ? " by e-mail" : "");
    if ((qs = parley_store_message_event(tx, m->id, "escalated", detail, now)) < 0) return qs;
  }
  if (e->n_alerts) {
    m->next_escalation = now + parleyd->cfg.escalation_step_s;
  } else {
    if ((qs = parley_store_message_event(tx, m->id, "escalation-exhausted",
                                         "every POC in the escalation order was alerted", now)) < 0)
      return qs;
    m->next_escalation = 0;
  }
  qs = parley_store_message_update(tx, m);
  return qs < 0 ? qs : PARLEY_QS_ONE;
}

parley_qs parleyd_lc_escalate(parley_tx *tx, const char *id, int64_t now,
                              parleyd_lc_escalation *out) {
  parleyd_lc_escalation_free(out);
  parley_qs qs = parley_store_message_get(tx, id, &out->m);
  if (qs != PARLEY_QS_ONE) return qs;
  const parley_message_row *m = &out->m;
  if (m->status >= PARLEY_MSG_ACKNOWLEDGED || !m->next_escalation || m->next_escalation > now)
    return PARLEY_QS_NONE; /* settled or handled meanwhile */
  parleyd_lc_view v = {0};
  if ((qs = parleyd_lc_load(tx, m, &v)) >= 0)
    qs = parleyd_lc_is_hub_check(m) ? remind(tx, out, &v, now) : escalate(tx, out, &v, now);
  parleyd_lc_view_free(&v);
  return qs;
}
