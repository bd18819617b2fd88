/* Store suite, messages after insert: updates, recipient updates, acks, events.
 * Part of store_suite.h: included only from there, after its shared fixtures and
 * helpers (and the parts before this one, whose helpers it may use). */

/* ---- update ---- */

static parley_qs tx_update(parley_tx *tx, void *cls, parley_error *err) {
  (void)err;
  msg_ctx *c = cls;
  c->t.n = 0;
  parley_message_row m = mk_msg(1, "EST", "est-cert");
  m.ack_deadline = 1000;
  m.next_escalation = 1000;
  parley_recipient_row r = mk_rcpt("FIN", "fin-24x7");
  REC(&c->t, parley_store_message_insert(tx, &m, &r, 1)); /* 0 */
  c->seq[0] = m.seq;
  /* every other field differs as well: only the five are written */
  parley_message_row u = mk_msg(1, "LVA", "other");
  parley_strlcpy(u.kind, "ping", sizeof u.kind);
  mk_id(u.case_id, 77);
  mk_hash(u.envelope_hash, 9, 9);
  u.envelope = "{}";
  u.envelope_len = 2;
  u.leaf_index = 999;
  u.received = 5;
  u.seq = 12345;
  u.status = PARLEY_MSG_CLOSED;
  u.overdue = true;
  u.escalation_level = 3;
  u.next_escalation = 4000;
  u.ack_deadline = 3000;
  REC(&c->t, parley_store_message_update(tx, &u)); /* 1: ONE */
  char id[PARLEY_UUID_LEN];
  mk_id(id, 1);
  REC(&c->t, parley_store_message_get(tx, id, &c->got[0])); /* 2 */
  u.overdue = false;
  u.status = PARLEY_MSG_ANSWERED;
  u.escalation_level = 0;
  u.next_escalation = 0;
  u.ack_deadline = 0;
  REC(&c->t, parley_store_message_update(tx, &u));          /* 3: ONE */
  REC(&c->t, parley_store_message_get(tx, id, &c->got[1])); /* 4 */
  parley_message_row ghost = mk_msg(2, "EST", "est-cert");
  REC(&c->t, parley_store_message_update(tx, &ghost)); /* 5: NONE */
  return PARLEY_QS_ONE;
}

static parley_qs tx_update_bad(parley_tx *tx, void *cls, parley_error *err) {
  (void)err;
  int which = *(int *)cls;
  parley_message_row m = mk_msg(1, "EST", "est-cert");
  if (which == 0) m.status = (parley_msg_status)5;
  if (which == 1) m.escalation_level = -1;
  if (which == 2) m.next_escalation = -1;
  if (which == 3) m.id[0] = '\0';
  return parley_store_message_update(tx, &m);
}

static void test_message_update(void **state) {
  fixture *f = *state;
  msg_ctx c;
  memset(&c, 0, sizeof c);
  run_ok(f->s, true, tx_update, &c);
  parley_qs want[] = {1, 1, 1, 1, 1, 0};
  for (int i = 0; i < 6; i++)
    assert_int_equal(c.t.r[i], want[i]);
  const parley_message_row *g = &c.got[0];
  assert_int_equal(g->status, PARLEY_MSG_CLOSED);
  assert_true(g->overdue);
  assert_int_equal(g->escalation_level, 3);
  assert_int_equal(g->next_escalation, 4000);
  assert_int_equal(g->ack_deadline, 3000);
  /* the rest is as inserted */
  parley_message_row orig = mk_msg(1, "EST", "est-cert");
  assert_int_equal(g->seq, c.seq[0]);
  assert_string_equal(g->from_state, "EST");
  assert_string_equal(g->from_poc, "est-cert");
  assert_string_equal(g->kind, "notification");
  assert_string_equal(g->case_id, "");
  assert_memory_equal(g->envelope_hash, orig.envelope_hash, 32);
  assert_string_equal(g->envelope, env_text);
  assert_int_equal(g->leaf_index, 1);
  assert_int_equal(g->received, orig.received);
  g = &c.got[1];
  assert_int_equal(g->status, PARLEY_MSG_ANSWERED);
  assert_false(g->overdue);
  assert_int_equal(g->escalation_level, 0);
  assert_int_equal(g->next_escalation, 0);
  assert_int_equal(g->ack_deadline, 0);
  msg_ctx_clear(&c);
  for (int which = 0; which <= 3; which++) {
    parley_error err;
    assert_int_equal(parley_store_run(f->s, true, tx_update_bad, &which, &err),
                     PARLEY_E_STORE_HARD);
  }
}

/* ---- recipient_update ---- */

static parley_qs tx_rcpt_update(parley_tx *tx, void *cls, parley_error *err) {
  (void)err;
  msg_ctx *c = cls;
  c->t.n = 0;
  char id[PARLEY_UUID_LEN];
  mk_id(id, 1);
  REC(&c->t, put_msg(tx, 1, "EST", "alice", "FIN", "bob", "LVA", "dave", NULL)); /* 0 */
  parley_recipient_row r = mk_rcpt("FIN", "bob");
  mk_id(r.message_id, 1);
  parley_strlcpy(r.key_id, "another-key", sizeof r.key_id); /* not written */
  r.delivered = 100;
  REC(&c->t, parley_store_recipient_update(tx, &r)); /* 1: first delivery */
  r.delivered = 200;
  REC(&c->t, parley_store_recipient_update(tx, &r)); /* 2: later: kept at 100 */
  r.delivered = 0;
  r.acked = 300;
  REC(&c->t, parley_store_recipient_update(tx, &r)); /* 3: 0 keeps 100, acked 300 */
  REC(&c->t, parley_store_recipients_get(tx, id, rcpt_cb, &c->rc[0])); /* 4 */
  r.delivered = 0;
  r.acked = 0;
  REC(&c->t, parley_store_recipient_update(tx, &r)); /* 5: ONE, nothing undone */
  r.acked = 400;
  REC(&c->t, parley_store_recipient_update(tx, &r)); /* 6: acked stays 300 */
  parley_recipient_row ghost = mk_rcpt("FIN", "mallory");
  mk_id(ghost.message_id, 1);
  ghost.delivered = 5;
  REC(&c->t, parley_store_recipient_update(tx, &ghost)); /* 7: NONE */
  mk_id(ghost.message_id, 2);
  parley_strlcpy(ghost.poc, "bob", sizeof ghost.poc);
  REC(&c->t, parley_store_recipient_update(tx, &ghost)); /* 8: NONE, no such message */
  return PARLEY_QS_ONE;
}

/* In a later transaction an earlier non-zero time wins, a later one does not. */
static parley_qs tx_rcpt_update2(parley_tx *tx, void *cls, parley_error *err) {
  (void)err;
  msg_ctx *c = cls;
  c->t.n = 0;
  memset(&c->rc[1], 0, sizeof c->rc[1]);
  char id[PARLEY_UUID_LEN];
  mk_id(id, 1);
  parley_recipient_row r = mk_rcpt("FIN", "bob");
  mk_id(r.message_id, 1);
  r.delivered = 50;
  r.acked = 350;
  REC(&c->t, parley_store_recipient_update(tx, &r));
  REC(&c->t, parley_store_recipients_get(tx, id, rcpt_cb, &c->rc[1]));
  return PARLEY_QS_ONE;
}

static parley_qs tx_rcpt_update_bad(parley_tx *tx, void *cls, parley_error *err) {
  (void)err;
  int which = *(int *)cls;
  parley_recipient_row r = mk_rcpt("FIN", "bob");
  mk_id(r.message_id, 1);
  if (which == 0) r.delivered = -1;
  if (which == 1) r.acked = -5;
  if (which == 2) r.message_id[0] = '\0';
  if (which == 3) r.poc[0] = '\0';
  return parley_store_recipient_update(tx, &r);
}

static void test_recipient_update(void **state) {
  fixture *f = *state;
  msg_ctx c;
  memset(&c, 0, sizeof c);
  run_ok(f->s, true, tx_rcpt_update, &c);
  parley_qs want[] = {1, 1, 1, 1, 1, 1, 1, 0, 0};
  assert_int_equal(c.t.n, 9);
  for (int i = 0; i < 9; i++)
    assert_int_equal(c.t.r[i], want[i]);
  assert_int_equal(c.rc[0].n, 2);
  assert_string_equal(c.rc[0].rows[0].poc, "bob");
  assert_int_equal(c.rc[0].rows[0].delivered, 100);
  assert_int_equal(c.rc[0].rows[0].acked, 300);
  assert_string_equal(c.rc[0].rows[0].key_id, "x25519-FIN-bob");
  assert_int_equal(c.rc[0].rows[1].delivered, 0); /* the other recipient is untouched */
  assert_int_equal(c.rc[0].rows[1].acked, 0);
  run_ok(f->s, true, tx_rcpt_update2, &c);
  assert_int_equal(c.t.r[0], PARLEY_QS_ONE);
  assert_int_equal(c.rc[1].rows[0].delivered, 50); /* earlier non-zero wins */
  assert_int_equal(c.rc[1].rows[0].acked, 300);    /* later does not */
  assert_int_equal(c.rc[1].rows[1].delivered, 0);
  for (int which = 0; which <= 3; which++) {
    parley_error err;
    assert_int_equal(parley_store_run(f->s, true, tx_rcpt_update_bad, &which, &err),
                     PARLEY_E_STORE_HARD);
  }
}

/* ---- acks ---- */

typedef struct {
  parley_ack_row rows[4];
  char text[4][128];
  int n;
  int stop_after;
} ack_list;

static bool ack_cb(void *cls, const parley_ack_row *a) {
  ack_list *l = cls;
  if (l->n < 4) {
    l->rows[l->n] = *a;
    l->rows[l->n].ack = NULL; /* freed by the store when we return */
    parley_strlcpy(l->text[l->n], a->ack ? a->ack : "(null)", sizeof l->text[0]);
  }
  l->n++;
  return l->stop_after == 0 || l->n < l->stop_after;
}

static parley_ack_row mk_ack(unsigned msg, const char *state, const char *poc, int64_t t,
                             const char *text) {
  parley_ack_row a;
  memset(&a, 0, sizeof a);
  mk_id(a.message_id, msg);
  parley_strlcpy(a.state, state, sizeof a.state);
  parley_strlcpy(a.poc, poc, sizeof a.poc);
  a.time = t;
  a.ack = (char *)text;
  a.ack_len = strlen(text);
  a.leaf_index = t / 10;
  return a;
}

typedef struct {
  trace t;
  ack_list l[4];
} acks_ctx;

static parley_qs tx_acks(parley_tx *tx, void *cls, parley_error *err) {
  (void)err;
  acks_ctx *c = cls;
  c->t.n = 0;
  memset(c->l, 0, sizeof c->l);
  REC(&c->t, put_msg(tx, 1, "EST", "alice", "FIN", "bob", "LVA", "dave", NULL)); /* 0 */
  REC(&c->t, put_msg(tx, 2, "EST", "alice", "FIN", "bob", NULL, NULL, NULL));    /* 1 */
  parley_ack_row a = mk_ack(1, "FIN", "bob", 500, "{\"ack\":\"bob \xc3\xa4\"}");
  REC(&c->t, parley_store_ack_insert(tx, &a)); /* 2: ONE */
  a = mk_ack(1, "FIN", "bob", 600, "{\"ack\":\"bob again\"}");
  REC(&c->t, parley_store_ack_insert(tx, &a)); /* 3: NONE, the first stays */
  a = mk_ack(1, "LVA", "dave", 400, "{\"ack\":\"dave\"}");
  REC(&c->t, parley_store_ack_insert(tx, &a)); /* 4: ONE */
  a = mk_ack(2, "FIN", "bob", 700, "{\"ack\":\"bob on 2\"}");
  REC(&c->t, parley_store_ack_insert(tx, &a)); /* 5: ONE, another message */
  char id[PARLEY_UUID_LEN];
  mk_id(id, 1);
  REC(&c->t, parley_store_acks_get(tx, id, ack_cb, &c->l[0])); /* 6: ONE */
  mk_id(id, 3);
  REC(&c->t, parley_store_acks_get(tx, id, ack_cb, &c->l[1])); /* 7: NONE */
  c->l[2].stop_after = 1;
  mk_id(id, 1);
  REC(&c->t, parley_store_acks_get(tx, id, ack_cb, &c->l[2])); /* 8: ONE */
  mk_id(id, 2);
  REC(&c->t, parley_store_acks_get(tx, id, ack_cb, &c->l[3])); /* 9: ONE */
  return PARLEY_QS_ONE;
}

static parley_qs tx_ack_bad(parley_tx *tx, void *cls, parley_error *err) {
  (void)err;
  int which = *(int *)cls;
  parley_ack_row a = mk_ack(1, "FIN", "mallory", 1, "{}"); /* 0: not a recipient */
  if (which == 1) a = mk_ack(9, "FIN", "bob", 1, "{}");    /* no such message */
  if (which == 2) a.ack = NULL;
  if (which == 3) a.ack = "{\"a\":\"\xff\"}"; /* not UTF-8 */
  if (which == 4) {
    a = mk_ack(1, "FIN", "bob", 1, "{}");
    a.leaf_index = -1;
  }
  return parley_store_ack_insert(tx, &a);
}

static void test_acks(void **state) {
  fixture *f = *state;
  acks_ctx c;
  memset(&c, 0, sizeof c);
  run_ok(f->s, true, tx_acks, &c);
  parley_qs want[] = {1, 1, 1, 0, 1, 1, 1, 0, 1, 1};
  assert_int_equal(c.t.n, 10);
  for (int i = 0; i < 10; i++)
    assert_int_equal(c.t.r[i], want[i]);
  /* by time: dave (400), then bob (500) */
  assert_int_equal(c.l[0].n, 2);
  assert_string_equal(c.l[0].rows[0].state, "LVA");
  assert_string_equal(c.l[0].rows[0].poc, "dave");
  assert_int_equal(c.l[0].rows[0].time, 400);
  assert_int_equal(c.l[0].rows[0].leaf_index, 40);
  assert_string_equal(c.l[0].text[0], "{\"ack\":\"dave\"}");
  assert_int_equal(c.l[0].rows[0].ack_len, strlen("{\"ack\":\"dave\"}"));
  char id[PARLEY_UUID_LEN];
  mk_id(id, 1);
  assert_string_equal(c.l[0].rows[1].message_id, id);
  assert_string_equal(c.l[0].rows[1].poc, "bob");
  assert_int_equal(c.l[0].rows[1].time, 500);
  assert_string_equal(c.l[0].text[1], "{\"ack\":\"bob \xc3\xa4\"}");
  assert_int_equal(c.l[1].n, 0);
  assert_int_equal(c.l[2].n, 1);
  assert_int_equal(c.l[3].n, 1);
  assert_string_equal(c.l[3].text[0], "{\"ack\":\"bob on 2\"}");
  for (int which = 0; which <= 4; which++) {
    parley_error err;
    assert_int_equal(parley_store_run(f->s, true, tx_ack_bad, &which, &err), PARLEY_E_STORE_HARD);
  }
}

/* ---- events ---- */

typedef struct {
  char event[8][PARLEY_STORE_EVENT_LEN];
  char detail[8][PARLEY_STORE_DETAIL_LEN];
  int64_t at[8];
  int n;
} ev_list;

static bool ev_cb(void *cls, const char *event, const char *detail, int64_t at) {
  ev_list *l = cls;
  if (l->n < 8) {
    parley_strlcpy(l->event[l->n], event ? event : "(null)", PARLEY_STORE_EVENT_LEN);
    parley_strlcpy(l->detail[l->n], detail ? detail : "(null)", PARLEY_STORE_DETAIL_LEN);
    l->at[l->n] = at;
  }
  l->n++;
  return true;
}

typedef struct {
  trace t;
  ev_list l[3];
} ev_ctx;

static parley_qs tx_events(parley_tx *tx, void *cls, parley_error *err) {
  (void)err;
  ev_ctx *c = cls;
  c->t.n = 0;
  memset(c->l, 0, sizeof c->l);
  REC(&c->t, put_msg(tx, 1, "EST", "alice", "FIN", "bob", NULL, NULL, NULL)); /* 0 */
  REC(&c->t, put_msg(tx, 2, "EST", "alice", "FIN", "bob", NULL, NULL, NULL)); /* 1 */
  char id1[PARLEY_UUID_LEN], id2[PARLEY_UUID_LEN];
  mk_id(id1, 1);
  mk_id(id2, 2);
  REC(&c->t, parley_store_message_event(tx, id1, "submitted", "by EST/alice", 10)); /* 2 */
  REC(&c->t, parley_store_message_event(tx, id2, "submitted", "by EST/alice", 11)); /* 3 */
  REC(&c->t, parley_store_message_event(tx, id1, "delivered", "to FIN/bob", 20));   /* 4 */
  /* appended order, not time order */
  REC(&c->t, parley_store_message_event(tx, id1, "overdue", "", 15)); /* 5 */
  char name[PARLEY_STORE_EVENT_LEN], detail[PARLEY_STORE_DETAIL_LEN];
  memset(name, 'e', sizeof name - 1);
  name[sizeof name - 1] = '\0';
  memset(detail, 'd', sizeof detail - 1);
  detail[sizeof detail - 1] = '\0';
  REC(&c->t, parley_store_message_event(tx, id1, name, detail, 30));      /* 6: longest */
  REC(&c->t, parley_store_message_event(tx, id1, "escalated", NULL, 40)); /* 7: no detail */
  REC(&c->t, parley_store_message_events(tx, id1, ev_cb, &c->l[0]));      /* 8: ONE */
  REC(&c->t, parley_store_message_events(tx, id2, ev_cb, &c->l[1]));      /* 9: ONE */
  char id3[PARLEY_UUID_LEN];
  mk_id(id3, 3);
  REC(&c->t, parley_store_message_events(tx, id3, ev_cb, &c->l[2])); /* 10: NONE */
  return PARLEY_QS_ONE;
}

static parley_qs tx_event_more(parley_tx *tx, void *cls, parley_error *err) {
  (void)err;
  ev_ctx *c = cls;
  c->t.n = 0;
  memset(c->l, 0, sizeof c->l);
  char id1[PARLEY_UUID_LEN];
  mk_id(id1, 1);
  REC(&c->t, parley_store_message_event(tx, id1, "acknowledged", "by FIN/bob", 5));
  REC(&c->t, parley_store_message_events(tx, id1, ev_cb, &c->l[0]));
  return PARLEY_QS_ONE;
}

static parley_qs tx_event_bad(parley_tx *tx, void *cls, parley_error *err) {
  (void)err;
  int which = *(int *)cls;
  char id1[PARLEY_UUID_LEN];
  mk_id(id1, 1);
  char big[PARLEY_STORE_DETAIL_LEN + 1];
  memset(big, 'x', sizeof big - 1);
  big[sizeof big - 1] = '\0';
  if (which == 0) {
    char id9[PARLEY_UUID_LEN];
    mk_id(id9, 9);
    return parley_store_message_event(tx, id9, "submitted", "", 1); /* no such message */
  }
  if (which == 1) return parley_store_message_event(tx, id1, big, "", 1); /* name too long */
  if (which == 2) big[PARLEY_STORE_EVENT_LEN] = '\0';                     /* 64 bytes */
  if (which == 2) return parley_store_message_event(tx, id1, big, "", 1);
  if (which == 3) return parley_store_message_event(tx, id1, "x", big, 1); /* detail */
  if (which == 4) return parley_store_message_event(tx, id1, "", "", 1);   /* no name */
  return parley_store_message_event(tx, id1, "x", "\xc3", 1);              /* not UTF-8 */
}

static void test_message_events(void **state) {
  fixture *f = *state;
  ev_ctx *c = calloc(1, sizeof *c);
  assert_non_null(c);
  run_ok(f->s, true, tx_events, c);
  parley_qs want[] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0};
  assert_int_equal(c->t.n, 11);
  for (int i = 0; i < 11; i++)
    assert_int_equal(c->t.r[i], want[i]);
  ev_list *l = &c->l[0];
  assert_int_equal(l->n, 5);
  assert_string_equal(l->event[0], "submitted");
  assert_string_equal(l->detail[0], "by EST/alice");
  assert_int_equal(l->at[0], 10);
  assert_string_equal(l->event[1], "delivered");
  assert_string_equal(l->detail[1], "to FIN/bob");
  assert_string_equal(l->event[2], "overdue");
  assert_string_equal(l->detail[2], "");
  assert_int_equal(l->at[2], 15);
  assert_int_equal(strlen(l->event[3]), PARLEY_STORE_EVENT_LEN - 1);
  assert_int_equal(strlen(l->detail[3]), PARLEY_STORE_DETAIL_LEN - 1);
  assert_string_equal(l->event[4], "escalated");
  assert_string_equal(l->detail[4], "");
  assert_int_equal(l->at[4], 40);
  assert_int_equal(c->l[1].n, 1);
  assert_int_equal(c->l[1].at[0], 11);
  assert_int_equal(c->l[2].n, 0);
  run_ok(f->s, true, tx_event_more, c);
  assert_int_equal(c->t.r[0], PARLEY_QS_ONE);
  assert_int_equal(c->l[0].n, 6);
  assert_string_equal(c->l[0].event[5], "acknowledged"); /* last, though earliest in time */
  for (int which = 0; which <= 5; which++) {
    parley_error err;
    assert_int_equal(parley_store_run(f->s, true, tx_event_bad, &which, &err), PARLEY_E_STORE_HARD);
  }
  free(c);
}
