/* A communication check's round: built from the current records in scope, signed by
 * the hub key, logged and stored as a message from the hub, in one transaction; and a
 * round loaded back with its targets' acknowledgement times. */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lifecycle.h"
#include "parley/json.h"
#include "parley/proto.h"
#include "pings.h"
#include "record_view.h"
#include "signer_client.h"

static bool in_scope(const parleyd_ping_start *c, const parley_state_row *s) {
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
  parleyd_ping_start *c = cls;
  json_decref(c->statement);
  c->statement = NULL;
  c->n_targets = 0;
  parley_qs qs =
      c->nonce ? parleyd_tx_nonce_record(tx, c->scheduled_by, c->nonce, err) : PARLEY_QS_ONE;
  if (qs != PARLEY_QS_ONE) return qs;
  state_list *l = calloc(1, sizeof *l);
  parley_recipient_row *rc = calloc(PARLEYD_PING_MAX_TARGETS, sizeof *rc);
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
    const parleyd_record_view *v;
    qs = parleyd_record_view_of(tx, &l->rows[i], &v);
    if (qs != PARLEY_QS_ONE) continue;
    for (size_t k = 0; k < v->n_pocs; k++) {
      const parleyd_poc_view *p = &v->pocs[k];
      bool match = c->role < 0 || parleyd_poc_view_has_role(p, c->role);
      if (!match || c->n_targets >= PARLEYD_PING_MAX_TARGETS || !p->has_signing_key) continue;
      parley_recipient_row *t = &rc[c->n_targets];
      parley_strlcpy(t->state, l->rows[i].code, sizeof t->state);
      parley_strlcpy(t->poc, p->id, sizeof t->poc);
      parley_strlcpy(t->key_id, p->signing_key_id, sizeof t->key_id);
      parley_strlcpy(c->emails[c->n_targets], p->email, 256);
      json_t *roles = json_array();
      for (size_t q = 0; q < p->n_roles; q++)
        json_array_append_new(roles, json_string(parley_poc_roles[p->roles[q]]));
      json_array_append_new(targets, json_pack("{s:s,s:s,s:s,s:o}", "state", t->state, "poc", p->id,
                                               "region", l->rows[i].region, "roles", roles));
      c->n_targets++;
    }
    parleyd_record_view_release(v);
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
                (json_int_t)c->recurrence_s, "targets", targets, "scheduled_by",
                c->scheduled_by ? c->scheduled_by : "");
  parley_buf canon;
  parley_buf_init(&canon, 4u << 20);
  parley_hash h;
  if (!c->statement || parleyd_sign_statement(c->statement, "ping", err) != PARLEY_E_OK ||
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
  parley_strlcpy(m->from_state, PARLEYD_HUB_STATE, sizeof m->from_state);
  parley_strlcpy(m->from_poc, PARLEYD_HUB_POC, sizeof m->from_poc);
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

parley_err parleyd_ping_round_start(parleyd_ping_start *c, parley_error *err) {
  c->emails = calloc(PARLEYD_PING_MAX_TARGETS, sizeof *c->emails);
  if (!c->emails) return parley_fail(err, PARLEY_E_NO_MEMORY, NULL);
  parley_err e = parley_store_run_named(parleyd->store, "start_tx", true, start_tx, c, err);
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

/* ---- a round loaded back --------------------------------------------------- */

static bool rcpt_times(void *cls, const parley_recipient_row *x) {
  parleyd_ping_round *d = cls;
  for (size_t i = 0; i < d->n; i++)
    if (!strcmp(d->t[i].state, x->state) && !strcmp(d->t[i].poc, x->poc)) d->t[i].acked = x->acked;
  return true;
}

void parleyd_ping_round_free(parleyd_ping_round *d) {
  json_decref(d->statement);
  free(d->t);
  parley_message_row_clear(&d->m);
  memset(d, 0, sizeof *d);
}

parley_qs parleyd_ping_round_load(parley_tx *tx, const char *id, parleyd_ping_round *d,
                                  parley_error *err) {
  parleyd_ping_round_free(d);
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
