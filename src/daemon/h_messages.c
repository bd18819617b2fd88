/* Messages: end-to-end encrypted envelopes routed on metadata only.
 *   POST /v1/messages                 officer: submit a signed envelope
 *   GET  /v1/inbox?after=SEQ&limit=N  officer: messages addressed to the caller
 *   GET  /v1/outbox?after=SEQ&limit=N officer: messages the caller sent
 *   GET  /v1/messages/{id}            sender or recipient: envelope, status, receipts
 *   POST /v1/messages/{id}/ack        recipient: a signed receipt
 *   GET  /v1/cases/{id}               officer: the case's messages the caller may see
 * The hub never sees a body: it checks signatures, that every recipient key is a
 * current key of the addressed POC, deadlines and transitions. */
#include <stdlib.h>
#include <string.h>

#include "clocks.h"
#include "handlers.h"
#include "lifecycle.h"
#include "record_view.h"
#include "parley/envelope.h"
#include "parley/json.h"

/* ---- POST /v1/messages ---------------------------------------------------- */

typedef struct {
  parleyd_req *r;
  parley_envelope_info *info; /* owned, as is canon */
  parley_buf canon;
  const char *canonical;
  size_t canonical_len;
  parley_message_row m;
  parley_recipient_row rcpt[PARLEY_MAX_RECIPIENTS];
  char emails[PARLEY_MAX_RECIPIENTS][256];
  char webhooks[PARLEY_MAX_RECIPIENTS][512];
} submit_ctx;

/* Finds the recipient row of me->state/me->poc; me->message_id stays empty if none. */
static bool find_me(void *cls, const parley_recipient_row *x) {
  parley_recipient_row *me = cls;
  if (!strcmp(x->state, me->state) && !strcmp(x->poc, me->poc)) {
    *me = *x; /* message_id becomes non-empty: found */
    return false;
  }
  return true;
}

static parley_qs submit(parley_tx *tx, void *cls, parley_error *err) {
  submit_ctx *c = cls;
  parley_qs qs = parleyd_tx_nonce(tx, c->r, err);
  if (qs != PARLEY_QS_ONE) return qs;
  const parley_envelope_info *in = c->info;
  int64_t now = parley_now();
  for (size_t i = 0; i < in->n_recipients; i++) {
    const parley_envelope_party *p = &in->recipients[i];
    /* the recipient key must be the current, unexpired encryption key of that POC */
    parleyd_recipient_check poc;
    if ((qs = parleyd_poc_lookup(tx, p->state, p->poc, &poc)) < 0) return qs;
    if (qs == PARLEY_QS_NONE || strcmp(poc.key_id, p->key_id) != 0 || poc.expires <= now) {
      parley_fail(err, PARLEY_E_RECIPIENT_UNKNOWN,
                  "recipients[%zu]: %s/%s with key %s is not in %s's current record (or the "
                  "state is suspended)",
                  i, p->state, p->poc, p->key_id, p->state);
      return PARLEY_QS_HARD;
    }
    parley_strlcpy(c->emails[i], poc.email, sizeof c->emails[i]);
    parley_strlcpy(c->webhooks[i], poc.webhook, sizeof c->webhooks[i]);
    memset(&c->rcpt[i], 0, sizeof c->rcpt[i]);
    parley_strlcpy(c->rcpt[i].message_id, in->id, PARLEY_UUID_LEN);
    parley_strlcpy(c->rcpt[i].state, p->state, sizeof c->rcpt[i].state);
    parley_strlcpy(c->rcpt[i].poc, p->poc, sizeof c->rcpt[i].poc);
    parley_strlcpy(c->rcpt[i].key_id, p->key_id, sizeof c->rcpt[i].key_id);
  }
  uint64_t leaf;
  if ((qs = parleyd_log_append(tx, "envelope", c->canonical, c->canonical_len, &leaf, err)) !=
      PARLEY_QS_ONE)
    return qs;
  c->m.leaf_index = (int64_t)leaf;
  c->m.envelope = (char *)c->canonical;
  c->m.envelope_len = c->canonical_len;
  qs = parley_store_message_insert(tx, &c->m, c->rcpt, in->n_recipients);
  c->m.envelope = NULL;
  if (qs == PARLEY_QS_NONE) {
    parley_fail(err, PARLEY_E_ENVELOPE_REPLAY, "%s", in->id);
    return PARLEY_QS_HARD;
  }
  if (qs < 0) return qs;
  char detail[128];
  snprintf(detail, sizeof detail, "by %s/%s", in->from.state, in->from.poc);
  if ((qs = parley_store_message_event(tx, in->id, "submitted", detail, c->m.received)) < 0 ||
      (qs = parleyd_lc_response(tx, in, c->m.received)) < 0)
    return qs;
  return parleyd_clocks_on_submit(tx, in, c->m.received);
}

static void submit_free(submit_ctx *c) {
  if (!c) return;
  parley_buf_free(&c->canon);
  free(c->info);
  free(c);
}

/* On the writer thread, once the message is durable: alerts (metadata only) and pushes,
 * sent whatever becomes of the submitter's connection. */
static void submit_committed(void *cls) {
  submit_ctx *c = cls;
  const parley_envelope_info *info = c->info;
  parley_log(PARLEY_LOG_INFO, "message.submitted", "id=%s kind=%s priority=%s from=%s/%s n=%zu",
             info->id, info->kind, c->m.priority, info->from.state, info->from.poc,
             info->n_recipients);
  char subject[256], body[768], deadline[PARLEY_TIME_LEN];
  parley_time_format(c->m.ack_deadline, deadline);
  snprintf(subject, sizeof subject, "[Parley] %s %s from %s, acknowledge by %s", c->m.priority,
           c->m.kind, c->m.from_state, deadline);
  snprintf(body, sizeof body,
           "A %s %s from %s (%s) awaits you on the Parley hub %s.\n"
           "Message %s. Please read and acknowledge it by %s.\n\n"
           "This alert carries no content of the message.\n",
           c->m.priority, c->m.kind, c->m.from_state, c->m.tlp, parleyd->cfg.origin, c->m.id,
           deadline);
  for (size_t i = 0; i < info->n_recipients; i++) {
    parleyd_stream_wake(info->recipients[i].state, info->recipients[i].poc);
    parleyd_notify_email(c->emails[i], subject, body);
    if (c->webhooks[i][0]) {
      json_t *hook = json_pack(
          "{s:s,s:s,s:s,s:s,s:s,s:{s:s,s:s},s:{s:s,s:s},s:s,s:s}", "event", "message.submitted",
          "id", c->m.id, "kind", c->m.kind, "priority", c->m.priority, "tlp", c->m.tlp, "from",
          "state", c->m.from_state, "poc", c->m.from_poc, "to", "state", info->recipients[i].state,
          "poc", info->recipients[i].poc, "ack_deadline", deadline, "hub", parleyd->cfg.origin);
      char *text = hook ? json_dumps(hook, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
      if (text) parleyd_notify_webhook(c->webhooks[i], text);
      free(text);
      json_decref(hook);
    }
  }
}

/* On a pool thread once the shared commit is durable (or failed): the answer. */
static void submit_finish(parleyd_req *r, parley_err rc, const parley_error *err) {
  submit_ctx *c = r->write.cls;
  if (rc) {
    parleyd_reply_err(r, err);
    submit_free(c);
    return;
  }
  json_t *o = parleyd_message_json(&c->m);
  submit_free(c);
  parleyd_reply_json(r, 201, o);
}

/* Verifies the envelope on this pool thread, then hands the write to the writer
 * (group commit); submit_finish answers. */
void h_message_submit(parleyd_req *r) {
  json_t *env = NULL;
  parley_error err;
  parley_json_limits lim = PARLEY_ENVELOPE_JSON_LIMITS;
  if (parley_json_parse_object((const char *)r->body.data, r->body.len, &lim, &env, &err) !=
      PARLEY_E_OK) {
    parleyd_reply_err(r, &err);
    return;
  }
  submit_ctx *c = calloc(1, sizeof *c);
  parley_envelope_info *info = c ? calloc(1, sizeof *info) : NULL;
  if (c) {
    c->info = info;
    parley_buf_init(&c->canon, PARLEY_ENVELOPE_MAX_BYTES);
  }
  parley_sign_pk pk;
  memcpy(pk.b, r->who.pk, 32);
  /* The envelope's sender must be the officer whose key signed the request. */
  json_t *from = json_object_get(env, "from");
  const char *fs = json_string_value(json_object_get(from, "state"));
  const char *fp = json_string_value(json_object_get(from, "poc"));
  parley_err e = PARLEY_E_OK;
  if (!c || !info)
    e = parley_fail(&err, PARLEY_E_NO_MEMORY, NULL);
  else if (!fs || !fp)
    e = parley_fail(&err, PARLEY_E_ENVELOPE_INVALID, "from.state and from.poc are required");
  else if (strcmp(fs, r->who.state) || strcmp(fp, r->who.poc_id))
    e = parley_fail(&err, PARLEY_E_ENVELOPE_SENDER, "envelope from %.3s/%.63s, request by %s/%s",
                    fs, fp, r->who.state, r->who.poc_id);
  else
    e = parley_envelope_verify(env, &pk, info, &err);
  if (!e) e = parley_jcs(env, &c->canon, &err);
  json_decref(env);
  if (e) {
    submit_free(c);
    parleyd_reply_err(r, &err);
    return;
  }
  c->r = r;
  c->canonical = (const char *)c->canon.data;
  c->canonical_len = c->canon.len;
  parley_message_row *m = &c->m;
  parley_strlcpy(m->id, info->id, sizeof m->id);
  parley_strlcpy(m->kind, info->kind, sizeof m->kind);
  parley_strlcpy(m->priority, parley_priorities[info->priority], sizeof m->priority);
  parley_strlcpy(m->tlp, parley_tlp_labels[info->tlp], sizeof m->tlp);
  parley_strlcpy(m->from_state, info->from.state, sizeof m->from_state);
  parley_strlcpy(m->from_poc, info->from.poc, sizeof m->from_poc);
  parley_strlcpy(m->case_id, info->case_id, sizeof m->case_id);
  parley_strlcpy(m->in_reply_to, info->in_reply_to, sizeof m->in_reply_to);
  m->created = info->created;
  m->received = parley_now();
  /* an emergency request (Second Protocol Arts. 9-10) runs on the critical deadline */
  m->ack_deadline =
      m->received +
      parleyd->cfg.ack_deadline_s[parleyd_kind_is_emergency(info->kind) ? PARLEY_PRIORITY_CRITICAL
                                                                        : info->priority % 3];
  m->next_escalation = m->ack_deadline;
  m->status = PARLEY_MSG_SUBMITTED;
  memcpy(m->envelope_hash, info->hash.b, 32);
  parleyd_write_deferred(r, submit, c, submit_committed, submit_finish);
}

/* ---- listings ------------------------------------------------------------- */

static bool list_one(void *cls, const parley_message_row *m) {
  return json_array_append_new(cls, parleyd_message_json(m)) == 0;
}

typedef struct {
  parleyd_req *r;
  bool outbox;
  int64_t after;
  size_t limit;
  json_t *arr;
} list_ctx;

static parley_qs list_tx(parley_tx *tx, void *cls, parley_error *err) {
  (void)err;
  list_ctx *c = cls;
  json_array_clear(c->arr);
  return (c->outbox ? parley_store_outbox : parley_store_inbox)(
      tx, c->r->who.state, c->r->who.poc_id, c->after, c->limit, list_one, c->arr);
}

static void list(parleyd_req *r, bool outbox) {
  list_ctx c = {r, outbox, 0, 50, json_array()};
  const char *after = parleyd_query(r, "after"), *limit = parleyd_query(r, "limit");
  uint64_t v;
  if (after) {
    if (!parley_parse_u64(after, &v) || v > INT64_MAX) {
      json_decref(c.arr);
      parleyd_reply_error(r, PARLEY_E_INVALID_ARGUMENT, "after: a sequence number");
      return;
    }
    c.after = (int64_t)v;
  }
  if (limit) {
    if (!parley_parse_u64(limit, &v) || v == 0 || v > 500) {
      json_decref(c.arr);
      parleyd_reply_error(r, PARLEY_E_INVALID_ARGUMENT, "limit: 1 to 500");
      return;
    }
    c.limit = (size_t)v;
  }
  parley_error err;
  if (parley_store_run_named(parleyd->store, "list_tx", false, list_tx, &c, &err) != PARLEY_E_OK) {
    json_decref(c.arr);
    parleyd_reply_err(r, &err);
    return;
  }
  size_t n = json_array_size(c.arr);
  json_int_t next = n ? json_integer_value(json_object_get(json_array_get(c.arr, n - 1), "seq"))
                      : (json_int_t)c.after;
  parleyd_reply_json(
      r, 200, json_pack("{s:o,s:I,s:b}", "messages", c.arr, "next", next, "more", n == c.limit));
}

void h_inbox(parleyd_req *r) {
  list(r, false);
}

void h_outbox(parleyd_req *r) {
  list(r, true);
}

/* ---- one message ------------------------------------------------------------ */

typedef struct {
  const parleyd_req *r;
  bool is_recipient;
  bool delivered;
  json_t *rcpts;
} vis_ctx;

static bool vis_rcpt(void *cls, const parley_recipient_row *x) {
  vis_ctx *v = cls;
  char d[PARLEY_TIME_LEN] = "", a[PARLEY_TIME_LEN] = "";
  if (x->delivered) parley_time_format(x->delivered, d);
  if (x->acked) parley_time_format(x->acked, a);
  json_array_append_new(v->rcpts,
                        json_pack("{s:s,s:s,s:s,s:s?,s:s?}", "state", x->state, "poc", x->poc,
                                  "key_id", x->key_id, "delivered", x->delivered ? d : NULL,
                                  "acknowledged", x->acked ? a : NULL));
  if (!strcmp(x->state, v->r->who.state) && !strcmp(x->poc, v->r->who.poc_id)) {
    v->is_recipient = true;
    v->delivered = x->delivered != 0;
  }
  return true;
}

static bool ev_one(void *cls, const char *event, const char *detail, int64_t at) {
  char t[PARLEY_TIME_LEN];
  parley_time_format(at, t);
  return json_array_append_new(cls, json_pack("{s:s,s:s,s:s}", "event", event, "detail",
                                              detail ? detail : "", "time", t)) == 0;
}

typedef struct {
  parleyd_req *r;
  parley_message_row m;
  json_t *out;
  bool mark_delivered; /* second pass: record the first fetch by a recipient */
  bool first_fetch;    /* set by the first pass; only the caller starts the second, as a
                          rerun of the first (a retried commit) must stay a read */
} get_ctx;

static parley_qs get_tx(parley_tx *tx, void *cls, parley_error *err) {
  get_ctx *c = cls;
  json_decref(c->out);
  c->out = NULL;
  parley_message_row_clear(&c->m);
  parley_qs qs = parley_store_message_get(tx, c->r->params[0], &c->m);
  if (qs == PARLEY_QS_NONE) {
    parley_fail(err, PARLEY_E_MESSAGE_UNKNOWN, "%s", c->r->params[0]);
    return PARLEY_QS_HARD;
  }
  if (qs < 0) return qs;
  vis_ctx v = {c->r, false, false, json_array()};
  if ((qs = parley_store_recipients_get(tx, c->m.id, vis_rcpt, &v)) < 0) {
    json_decref(v.rcpts);
    return qs;
  }
  bool is_sender =
      !strcmp(c->m.from_state, c->r->who.state) && !strcmp(c->m.from_poc, c->r->who.poc_id);
  if (!is_sender && !v.is_recipient) {
    json_decref(v.rcpts);
    /* Same answer as an unknown id: a stranger learns nothing of who talks to whom. */
    parley_fail(err, PARLEY_E_MESSAGE_UNKNOWN, "%s", c->r->params[0]);
    return PARLEY_QS_HARD;
  }
  if (c->mark_delivered && v.is_recipient && !v.delivered) {
    parley_recipient_row me;
    memset(&me, 0, sizeof me);
    parley_strlcpy(me.message_id, c->m.id, sizeof me.message_id);
    parley_strlcpy(me.state, c->r->who.state, sizeof me.state);
    parley_strlcpy(me.poc, c->r->who.poc_id, sizeof me.poc);
    if ((qs = parleyd_lc_delivered(tx, &c->m, me, parley_now())) < 0) {
      json_decref(v.rcpts);
      return qs;
    }
  } else if (!c->mark_delivered && v.is_recipient && !v.delivered) {
    json_decref(v.rcpts);
    c->first_fetch = true;
    return PARLEY_QS_NONE; /* caller runs again as a write */
  }
  c->out = parleyd_message_json(&c->m);
  json_t *env = NULL;
  parley_json_limits lim = PARLEY_ENVELOPE_JSON_LIMITS;
  parley_json_parse(c->m.envelope, c->m.envelope_len, &lim, &env, NULL);
  json_t *events = json_array(), *receipts = json_array();
  parleyd_lc_view lv = {0};
  if ((qs = parley_store_message_events(tx, c->m.id, ev_one, events)) < 0 ||
      (qs = parley_store_acks_get(tx, c->m.id, parleyd_receipt_json, receipts)) < 0 ||
      (qs = parleyd_lc_load(tx, &c->m, &lv)) < 0) {
    parleyd_lc_view_free(&lv);
    json_decref(env);
    json_decref(events);
    json_decref(receipts);
    json_decref(v.rcpts);
    return qs;
  }
  json_object_set_new(c->out, "recipients", v.rcpts);
  /* per recipient state: acknowledged, answered, overdue (the hub's word) */
  json_object_set_new(c->out, "states", parleyd_lc_states_json(&c->m, &lv, parley_now()));
  parleyd_lc_view_free(&lv);
  json_object_set_new(c->out, "history", events);
  json_object_set_new(c->out, "receipts", receipts);
  json_object_set_new(c->out, "envelope", env ? env : json_null());
  return PARLEY_QS_ONE;
}

void h_message_get(parleyd_req *r) {
  get_ctx c;
  memset(&c, 0, sizeof c);
  c.r = r;
  parley_error err;
  parley_err e = parley_store_run_named(parleyd->store, "get_tx", false, get_tx, &c, &err);
  if (!e && c.first_fetch && !c.out) {
    c.mark_delivered = true;
    e = parley_store_run_named(parleyd->store, "get_tx", true, get_tx, &c, &err);
  }
  parley_message_row_clear(&c.m);
  if (e) {
    json_decref(c.out);
    parleyd_reply_err(r, &err);
    return;
  }
  parleyd_reply_json(r, 200, c.out);
}

/* ---- POST /v1/messages/{id}/ack ------------------------------------------------ */

typedef struct {
  parleyd_req *r;
  parley_ack_info *info; /* owned, as is canon */
  parley_buf canon;
  const char *canonical;
  size_t canonical_len;
  uint64_t leaf;
  bool already;
  char sender_state[PARLEY_STATE_CODE_LEN]; /* whose outbox changed */
  char sender_poc[64];
} ack_ctx;

static parley_qs ack_tx(parley_tx *tx, void *cls, parley_error *err) {
  ack_ctx *c = cls;
  c->already = false;
  parley_qs qs = parleyd_tx_nonce(tx, c->r, err);
  if (qs != PARLEY_QS_ONE) return qs;
  parley_message_row m;
  qs = parley_store_message_get(tx, c->r->params[0], &m);
  if (qs == PARLEY_QS_NONE) {
    parley_fail(err, PARLEY_E_MESSAGE_UNKNOWN, "%s", c->r->params[0]);
    return PARLEY_QS_HARD;
  }
  if (qs < 0) return qs;
  parley_recipient_row me;
  memset(&me, 0, sizeof me);
  parley_strlcpy(me.state, c->r->who.state, sizeof me.state);
  parley_strlcpy(me.poc, c->r->who.poc_id, sizeof me.poc);
  if ((qs = parley_store_recipients_get(tx, m.id, find_me, &me)) < 0) {
    parley_message_row_clear(&m);
    return qs;
  }
  if (!me.message_id[0]) {
    parley_message_row_clear(&m);
    /* Same answer as an unknown id: a stranger learns nothing of who talks to whom. */
    parley_fail(err, PARLEY_E_MESSAGE_UNKNOWN, "%s", c->r->params[0]);
    return PARLEY_QS_HARD;
  }
  if (!parley_ct_equal(m.envelope_hash, c->info->envelope_sha256.b, 32)) {
    parley_message_row_clear(&m);
    parley_fail(err, PARLEY_E_ACK_MISMATCH, "envelope_sha256 is not the hash of this message");
    return PARLEY_QS_HARD;
  }
  if (me.acked) {
    c->already = true;
    parley_message_row_clear(&m);
    return PARLEY_QS_ONE;
  }
  if ((qs = parleyd_log_append(tx, "ack", c->canonical, c->canonical_len, &c->leaf, err)) !=
      PARLEY_QS_ONE) {
    parley_message_row_clear(&m);
    return qs;
  }
  parley_strlcpy(c->sender_state, m.from_state, sizeof c->sender_state);
  parley_strlcpy(c->sender_poc, m.from_poc, sizeof c->sender_poc);
  parley_ack_row a = {.time = c->info->time,
                      .ack = (char *)c->canonical,
                      .ack_len = c->canonical_len,
                      .leaf_index = (int64_t)c->leaf};
  parley_strlcpy(a.message_id, m.id, sizeof a.message_id);
  parley_strlcpy(a.state, me.state, sizeof a.state);
  parley_strlcpy(a.poc, me.poc, sizeof a.poc);
  qs = parleyd_lc_acknowledged(tx, &m, me, &a, parley_now());
  parley_message_row_clear(&m);
  return qs < 0 ? qs : PARLEY_QS_ONE;
}

static void ack_free(ack_ctx *c) {
  parley_buf_free(&c->canon);
  free(c->info);
  free(c);
}

/* On the writer thread, once the receipt is durable. */
static void ack_committed(void *cls) {
  ack_ctx *c = cls;
  if (c->already) return;
  parleyd_stream_wake(c->sender_state, c->sender_poc);
  parley_log(PARLEY_LOG_INFO, "message.acknowledged", "id=%s by=%s/%s leaf=%llu", c->info->message,
             c->info->state, c->info->poc, (unsigned long long)c->leaf);
}

/* On a pool thread once the shared commit is durable (or failed): the answer. */
static void ack_finish(parleyd_req *r, parley_err rc, const parley_error *err) {
  ack_ctx *c = r->write.cls;
  if (rc) {
    parleyd_reply_err(r, err);
  } else if (c->already) {
    parleyd_reply_json(r, 200, json_pack("{s:s,s:b}", "message", c->info->message, "already", 1));
  } else {
    parleyd_reply_json(
        r, 201,
        json_pack("{s:s,s:I}", "message", c->info->message, "leaf_index", (json_int_t)c->leaf));
  }
  ack_free(c);
}

/* Verifies the receipt on this pool thread, then hands the write to the writer. */
void h_message_ack(parleyd_req *r) {
  json_t *ack = parleyd_parse_body(r);
  if (!ack) return;
  parley_error err;
  parley_sign_pk pk;
  memcpy(pk.b, r->who.pk, 32);
  ack_ctx *c = calloc(1, sizeof *c);
  parley_ack_info *info = c ? calloc(1, sizeof *info) : NULL;
  parley_err e = PARLEY_E_OK;
  if (!c || !info) {
    free(c);
    json_decref(ack);
    parleyd_reply_error(r, PARLEY_E_NO_MEMORY, NULL);
    return;
  }
  c->r = r;
  c->info = info;
  parley_buf_init(&c->canon, 1 << 16);
  e = parley_ack_verify(ack, &pk, info, &err);
  if (!e && (strcmp(info->message, r->params[0]) || strcmp(info->state, r->who.state) ||
             strcmp(info->poc, r->who.poc_id)))
    e = parley_fail(&err, PARLEY_E_ACK_MISMATCH, "the receipt names another message or officer");
  if (!e) e = parley_jcs(ack, &c->canon, &err);
  json_decref(ack);
  if (e) {
    ack_free(c);
    parleyd_reply_err(r, &err);
    return;
  }
  c->canonical = (const char *)c->canon.data;
  c->canonical_len = c->canon.len;
  parleyd_write_deferred(r, ack_tx, c, ack_committed, ack_finish);
}

/* ---- GET /v1/cases/{id} ----------------------------------------------------- */

typedef struct {
  parleyd_req *r;
  parley_message_row rows[200];
  size_t n;
  json_t *out;
} case_ctx;

static bool case_one(void *cls, const parley_message_row *m) {
  case_ctx *c = cls;
  if (c->n < 200) c->rows[c->n++] = *m;
  return c->n < 200;
}

static parley_qs case_tx(parley_tx *tx, void *cls, parley_error *err) {
  (void)err;
  case_ctx *c = cls;
  c->n = 0;
  json_array_clear(c->out);
  parley_qs qs;
  qs = parley_store_case_messages(tx, c->r->params[0], case_one, c);
  if (qs < 0) return qs;
  for (size_t i = 0; i < c->n; i++) {
    const parley_message_row *m = &c->rows[i];
    vis_ctx v = {c->r, false, false, json_array()};
    if ((qs = parley_store_recipients_get(tx, m->id, vis_rcpt, &v)) < 0) {
      json_decref(v.rcpts);
      return qs;
    }
    bool sender = !strcmp(m->from_state, c->r->who.state) && !strcmp(m->from_poc, c->r->who.poc_id);
    if (sender || v.is_recipient) {
      json_t *o = parleyd_message_json(m);
      json_object_set_new(o, "recipients", v.rcpts);
      json_array_append_new(c->out, o);
    } else {
      json_decref(v.rcpts);
    }
  }
  return PARLEY_QS_ONE;
}

void h_case_get(parleyd_req *r) {
  if (!parley_uuid_valid(r->params[0])) {
    parleyd_reply_error(r, PARLEY_E_UUID_FORMAT, r->params[0]);
    return;
  }
  case_ctx *c = calloc(1, sizeof *c);
  if (!c) {
    parleyd_reply_error(r, PARLEY_E_NO_MEMORY, NULL);
    return;
  }
  c->r = r;
  c->out = json_array();
  parley_error err;
  if (parley_store_run_named(parleyd->store, "case_tx", false, case_tx, c, &err) != PARLEY_E_OK) {
    json_decref(c->out);
    free(c);
    parleyd_reply_err(r, &err);
    return;
  }
  json_t *o = json_pack("{s:s,s:o}", "case", r->params[0], "messages", c->out);
  free(c);
  parleyd_reply_json(r, 200, o);
}
