/* Store suite, messages: the shared helpers, insert and get, duplicates, seq, inbox and outbox,
 * cases, due messages. Part of store_suite.h: included only from there, after its shared fixtures
 * and helpers (and the parts before this one, whose helpers it may use). */

/* ---- messages ------------------------------------------------------------------------------ */

static const char env_text[] = "{\"format\":\"parley-envelope-v1\",\"note\":\"\xc3\xa9t\xc3\xa9 "
                               "\xe2\x80\x94 \xf0\x9f\x94\x92\",\"n\":1}";

static void mk_id(char out[PARLEY_UUID_LEN], unsigned n) {
  snprintf(out, PARLEY_UUID_LEN, "01900000-0000-7000-8000-%012u", n);
}

/* A message from (state, poc); the envelope is env_text (not owned). */
static parley_message_row mk_msg(unsigned n, const char *state, const char *poc) {
  parley_message_row m;
  memset(&m, 0, sizeof m);
  mk_id(m.id, n);
  parley_strlcpy(m.kind, "notification", sizeof m.kind);
  parley_strlcpy(m.priority, "routine", sizeof m.priority);
  parley_strlcpy(m.tlp, "TLP:AMBER+STRICT", sizeof m.tlp);
  parley_strlcpy(m.from_state, state, sizeof m.from_state);
  parley_strlcpy(m.from_poc, poc, sizeof m.from_poc);
  m.created = 1700000000 + n;
  m.received = 1700000100 + n;
  mk_hash(m.envelope_hash, 0xe1, n);
  m.leaf_index = n;
  m.envelope = (char *)env_text;
  m.envelope_len = strlen(env_text);
  return m;
}

static parley_recipient_row mk_rcpt(const char *state, const char *poc) {
  parley_recipient_row r;
  memset(&r, 0, sizeof r);
  parley_strlcpy(r.state, state, sizeof r.state);
  parley_strlcpy(r.poc, poc, sizeof r.poc);
  snprintf(r.key_id, sizeof r.key_id, "x25519-%s-%s", state, poc);
  return r;
}

/* Inserts message n from (fs, fp) to one or two recipients. */
static parley_qs put_msg(parley_tx *tx, unsigned n, const char *fs, const char *fp, const char *ts,
                         const char *tp, const char *ts2, const char *tp2, int64_t *seq) {
  parley_message_row m = mk_msg(n, fs, fp);
  parley_recipient_row r[2] = {mk_rcpt(ts, tp), ts2 ? mk_rcpt(ts2, tp2) : mk_rcpt("X", "x")};
  parley_qs qs = parley_store_message_insert(tx, &m, r, ts2 ? 2 : 1);
  if (seq) *seq = m.seq;
  return qs;
}

/* What a listing handed to its callback. */
typedef struct {
  parley_message_row rows[32];
  int n;
  int stop_after; /* 0: never stop */
  int with_envelope;
  int fetched; /* message_get from inside the callback found the envelope */
  parley_tx *tx;
} msg_list;

static bool msg_cb(void *cls, const parley_message_row *m) {
  msg_list *l = cls;
  if (m->envelope || m->envelope_len) l->with_envelope++;
  if (l->n < 32) l->rows[l->n] = *m; /* no envelope: a shallow copy owns nothing */
  l->n++;
  if (l->tx) {
    parley_message_row full;
    if (parley_store_message_get(l->tx, m->id, &full) == PARLEY_QS_ONE && full.envelope &&
        strcmp(full.envelope, env_text) == 0)
      l->fetched++;
    parley_message_row_clear(&full);
  }
  return l->stop_after == 0 || l->n < l->stop_after;
}

static void list_reset(msg_list *l, parley_tx *tx, int stop_after) {
  memset(l, 0, sizeof *l);
  l->tx = tx;
  l->stop_after = stop_after;
}

typedef struct {
  parley_recipient_row rows[8];
  int n;
} rcpt_list;

static bool rcpt_cb(void *cls, const parley_recipient_row *r) {
  rcpt_list *l = cls;
  if (l->n < 8) l->rows[l->n] = *r;
  l->n++;
  return true;
}

typedef struct {
  trace t;
  parley_message_row got[4];
  rcpt_list rc[2];
  int64_t seq[8];
} msg_ctx;

static void msg_ctx_clear(msg_ctx *c) {
  for (int i = 0; i < 4; i++)
    parley_message_row_clear(&c->got[i]);
  memset(c, 0, sizeof *c);
}

/* ---- insert and get ---- */

static parley_qs tx_msg_roundtrip_write(parley_tx *tx, void *cls, parley_error *err) {
  (void)err;
  msg_ctx *c = cls;
  c->t.n = 0;
  parley_message_row m = mk_msg(1, "EST", "est-cert");
  mk_id(m.case_id, 900);
  mk_id(m.in_reply_to, 901);
  parley_strlcpy(m.kind, "preservation-request", sizeof m.kind);
  parley_strlcpy(m.priority, "critical", sizeof m.priority);
  m.ack_deadline = 1700003600;
  m.escalation_level = 2;
  m.next_escalation = 1700007200;
  m.overdue = true;
  m.status = PARLEY_MSG_DELIVERED;
  m.leaf_index = 41;
  m.seq = -5; /* overwritten */
  parley_recipient_row r[2] = {mk_rcpt("FIN", "fin-24x7"), mk_rcpt("DEU", "deu-bsi")};
  mk_id(r[0].message_id, 1); /* the message's own id is accepted as well as "" */
  r[1].delivered = 1700000500;
  REC(&c->t, parley_store_message_insert(tx, &m, r, 2)); /* 0: ONE */
  c->seq[0] = m.seq;
  parley_message_row m2 = mk_msg(2, "FIN", "fin-24x7");
  parley_recipient_row r2 = mk_rcpt("EST", "est-cert");
  REC(&c->t, parley_store_message_insert(tx, &m2, &r2, 1)); /* 1: ONE */
  c->seq[1] = m2.seq;
  return PARLEY_QS_ONE;
}

static parley_qs tx_msg_roundtrip_read(parley_tx *tx, void *cls, parley_error *err) {
  (void)err;
  msg_ctx *c = cls;
  c->t.n = 0;
  char id[PARLEY_UUID_LEN];
  mk_id(id, 1);
  REC(&c->t, parley_store_message_get(tx, id, &c->got[0])); /* 0: ONE */
  mk_id(id, 2);
  REC(&c->t, parley_store_message_get(tx, id, &c->got[1])); /* 1: ONE */
  mk_id(id, 3);
  REC(&c->t, parley_store_message_get(tx, id, &c->got[2])); /* 2: NONE */
  REC(&c->t, parley_store_message_get(
                 tx, "01900000-0000-7000-8000-000000000001-and-more-than-a-uuid", &c->got[3]));
  REC(&c->t, parley_store_message_get(tx, "", &c->got[3])); /* 4: NONE */
  mk_id(id, 1);
  REC(&c->t, parley_store_recipients_get(tx, id, rcpt_cb, &c->rc[0])); /* 5: ONE */
  mk_id(id, 3);
  REC(&c->t, parley_store_recipients_get(tx, id, rcpt_cb, &c->rc[1])); /* 6: NONE */
  return PARLEY_QS_ONE;
}

static void test_message_roundtrip(void **state) {
  fixture *f = *state;
  msg_ctx c;
  memset(&c, 0, sizeof c);
  run_ok(f->s, true, tx_msg_roundtrip_write, &c);
  assert_int_equal(c.t.r[0], PARLEY_QS_ONE);
  assert_int_equal(c.t.r[1], PARLEY_QS_ONE);
  assert_true(c.seq[0] > 0);
  assert_true(c.seq[1] > c.seq[0]);
  run_ok(f->s, false, tx_msg_roundtrip_read, &c);
  parley_qs want[] = {1, 1, 0, 0, 0, 1, 0};
  assert_int_equal(c.t.n, 7);
  for (int i = 0; i < 7; i++)
    assert_int_equal(c.t.r[i], want[i]);

  const parley_message_row *g = &c.got[0];
  char id[PARLEY_UUID_LEN];
  assert_int_equal(g->seq, c.seq[0]);
  mk_id(id, 1);
  assert_string_equal(g->id, id);
  assert_string_equal(g->kind, "preservation-request");
  assert_string_equal(g->priority, "critical");
  assert_string_equal(g->tlp, "TLP:AMBER+STRICT");
  assert_string_equal(g->from_state, "EST");
  assert_string_equal(g->from_poc, "est-cert");
  mk_id(id, 900);
  assert_string_equal(g->case_id, id);
  mk_id(id, 901);
  assert_string_equal(g->in_reply_to, id);
  assert_int_equal(g->created, 1700000001);
  assert_int_equal(g->received, 1700000101);
  assert_int_equal(g->ack_deadline, 1700003600);
  assert_int_equal(g->escalation_level, 2);
  assert_int_equal(g->next_escalation, 1700007200);
  assert_true(g->overdue);
  assert_int_equal(g->status, PARLEY_MSG_DELIVERED);
  uint8_t h[32];
  mk_hash(h, 0xe1, 1);
  assert_memory_equal(g->envelope_hash, h, 32);
  assert_int_equal(g->leaf_index, 41);
  assert_non_null(g->envelope);
  assert_int_equal(g->envelope_len, strlen(env_text));
  assert_string_equal(g->envelope, env_text);

  const parley_message_row *g2 = &c.got[1];
  assert_int_equal(g2->seq, c.seq[1]);
  assert_string_equal(g2->case_id, "");
  assert_string_equal(g2->in_reply_to, "");
  assert_false(g2->overdue);
  assert_int_equal(g2->status, PARLEY_MSG_SUBMITTED);
  assert_int_equal(g2->ack_deadline, 0);
  assert_int_equal(g2->next_escalation, 0);
  assert_string_equal(g2->envelope, env_text);
  assert_null(c.got[2].envelope); /* NONE leaves the row empty */
  assert_null(c.got[3].envelope);

  /* recipients in (state, poc) order, with every field */
  assert_int_equal(c.rc[0].n, 2);
  mk_id(id, 1);
  assert_string_equal(c.rc[0].rows[0].message_id, id);
  assert_string_equal(c.rc[0].rows[0].state, "DEU");
  assert_string_equal(c.rc[0].rows[0].poc, "deu-bsi");
  assert_string_equal(c.rc[0].rows[0].key_id, "x25519-DEU-deu-bsi");
  assert_int_equal(c.rc[0].rows[0].delivered, 1700000500);
  assert_int_equal(c.rc[0].rows[0].acked, 0);
  assert_string_equal(c.rc[0].rows[1].message_id, id);
  assert_string_equal(c.rc[0].rows[1].state, "FIN");
  assert_string_equal(c.rc[0].rows[1].poc, "fin-24x7");
  assert_int_equal(c.rc[0].rows[1].delivered, 0);
  assert_int_equal(c.rc[1].n, 0);
  msg_ctx_clear(&c);
}

/* ---- duplicates ---- */

static parley_qs tx_msg_first(parley_tx *tx, void *cls, parley_error *err) {
  (void)err;
  msg_ctx *c = cls;
  c->t.n = 0;
  REC(&c->t, put_msg(tx, 1, "EST", "est-cert", "FIN", "fin-24x7", "DEU", "deu-bsi", &c->seq[0]));
  return PARLEY_QS_ONE;
}

/* The same id again, other fields and recipients: a replay. */
static parley_qs tx_msg_replay(parley_tx *tx, void *cls, parley_error *err) {
  (void)err;
  msg_ctx *c = cls;
  c->t.n = 0;
  parley_message_row m = mk_msg(1, "LVA", "lva-cert");
  parley_strlcpy(m.kind, "ping", sizeof m.kind);
  m.seq = -7;
  parley_recipient_row r[3] = {mk_rcpt("FIN", "fin-24x7"), mk_rcpt("POL", "pol-cert"),
                               mk_rcpt("EST", "est-other")};
  REC(&c->t, parley_store_message_insert(tx, &m, r, 3)); /* 0: NONE */
  c->seq[1] = m.seq;
  /* the transaction goes on: NONE is not a failure */
  REC(&c->t, put_msg(tx, 2, "EST", "est-cert", "FIN", "fin-24x7", NULL, NULL, &c->seq[2]));
  char id[PARLEY_UUID_LEN];
  mk_id(id, 1);
  REC(&c->t, parley_store_message_get(tx, id, &c->got[0]));            /* 2: ONE */
  REC(&c->t, parley_store_recipients_get(tx, id, rcpt_cb, &c->rc[0])); /* 3: ONE */
  msg_list l;
  list_reset(&l, NULL, 0);
  REC(&c->t, parley_store_inbox(tx, "POL", "pol-cert", 0, 10, msg_cb, &l)); /* 4: NONE */
  return PARLEY_QS_ONE;
}

static parley_qs tx_msg_twice_listed(parley_tx *tx, void *cls, parley_error *err) {
  (void)err;
  (void)cls;
  return put_msg(tx, 3, "EST", "est-cert", "FIN", "fin-24x7", "FIN", "fin-24x7", NULL);
}

static parley_qs tx_msg_foreign_rcpt(parley_tx *tx, void *cls, parley_error *err) {
  (void)err;
  (void)cls;
  parley_message_row m = mk_msg(4, "EST", "est-cert");
  parley_recipient_row r = mk_rcpt("FIN", "fin-24x7");
  mk_id(r.message_id, 1); /* another message's id */
  return parley_store_message_insert(tx, &m, &r, 1);
}

static parley_qs tx_msg_exists(parley_tx *tx, void *cls, parley_error *err) {
  (void)err;
  msg_ctx *c = cls;
  c->t.n = 0;
  char id[PARLEY_UUID_LEN];
  parley_message_row m;
  mk_id(id, 3);
  REC(&c->t, parley_store_message_get(tx, id, &m));
  parley_message_row_clear(&m);
  mk_id(id, 4);
  REC(&c->t, parley_store_message_get(tx, id, &m));
  parley_message_row_clear(&m);
  return PARLEY_QS_ONE;
}

static void test_message_duplicate(void **state) {
  fixture *f = *state;
  msg_ctx c;
  memset(&c, 0, sizeof c);
  run_ok(f->s, true, tx_msg_first, &c);
  assert_int_equal(c.t.r[0], PARLEY_QS_ONE);
  run_ok(f->s, true, tx_msg_replay, &c);
  assert_int_equal(c.t.r[0], PARLEY_QS_NONE);
  assert_int_equal(c.seq[1], -7); /* left alone */
  assert_int_equal(c.t.r[1], PARLEY_QS_ONE);
  assert_true(c.seq[2] > c.seq[0]);
  assert_int_equal(c.t.r[2], PARLEY_QS_ONE);
  assert_string_equal(c.got[0].kind, "notification"); /* the first insert stays */
  assert_string_equal(c.got[0].from_state, "EST");
  assert_int_equal(c.got[0].seq, c.seq[0]);
  assert_int_equal(c.t.r[3], PARLEY_QS_ONE);
  assert_int_equal(c.rc[0].n, 2); /* no recipient of the replay was added */
  assert_string_equal(c.rc[0].rows[0].state, "DEU");
  assert_string_equal(c.rc[0].rows[1].state, "FIN");
  assert_int_equal(c.t.r[4], PARLEY_QS_NONE);

  parley_error err;
  assert_int_equal(parley_store_run(f->s, true, tx_msg_twice_listed, NULL, &err),
                   PARLEY_E_STORE_HARD);
  assert_int_equal(parley_store_run(f->s, true, tx_msg_foreign_rcpt, NULL, &err),
                   PARLEY_E_STORE_HARD);
  run_ok(f->s, false, tx_msg_exists, &c);
  assert_int_equal(c.t.r[0], PARLEY_QS_NONE); /* rolled back with its failed recipient */
  assert_int_equal(c.t.r[1], PARLEY_QS_NONE);
  msg_ctx_clear(&c);
}

/* ---- seq ---- */

typedef struct {
  unsigned n;
  int64_t seq;
  bool fail_after;
} seq_arg;

static parley_qs tx_msg_one(parley_tx *tx, void *cls, parley_error *err) {
  (void)err;
  seq_arg *a = cls;
  a->seq = 0;
  parley_qs qs = put_msg(tx, a->n, "EST", "est-cert", "FIN", "fin-24x7", NULL, NULL, &a->seq);
  if (qs != PARLEY_QS_ONE) return PARLEY_QS_HARD;
  return a->fail_after ? PARLEY_QS_HARD : PARLEY_QS_ONE;
}

static parley_qs tx_inbox_all(parley_tx *tx, void *cls, parley_error *err) {
  (void)err;
  msg_list *l = cls;
  int stop = l->stop_after;
  list_reset(l, NULL, stop);
  return parley_store_inbox(tx, "FIN", "fin-24x7", 0, 1000, msg_cb, l);
}

/* Seqs grow across transactions, handles, a rollback and a reopen. */
static void test_message_seq(void **state) {
  fixture *f = *state;
  parley_store *second = open_ok(f->url);
  int64_t last = 0;
  parley_error err;
  for (unsigned i = 1; i <= 12; i++) {
    seq_arg a = {.n = i};
    if (i == 5) {
      /* rolled back: leaves at most a gap */
      a.fail_after = true;
      assert_int_equal(parley_store_run(f->s, true, tx_msg_one, &a, &err), PARLEY_E_STORE_HARD);
      continue;
    }
    if (i == 9) {
      parley_store_close(f->s);
      f->s = open_ok(f->url);
    }
    run_ok(i % 2 ? f->s : second, true, tx_msg_one, &a);
    assert_true(a.seq > last);
    last = a.seq;
  }
  parley_store_close(second);
  msg_list l;
  list_reset(&l, NULL, 0);
  run_ok(f->s, false, tx_inbox_all, &l);
  assert_int_equal(l.n, 11); /* the rolled-back message is not there */
  char id5[PARLEY_UUID_LEN];
  mk_id(id5, 5);
  for (int i = 0; i < l.n; i++) {
    assert_string_not_equal(l.rows[i].id, id5);
    if (i > 0) assert_true(l.rows[i].seq > l.rows[i - 1].seq);
  }
  assert_int_equal(l.rows[l.n - 1].seq, last);
}

/* ---- inbox and outbox ---- */

/* FIN/bob gets 1..7 (from EST/alice, and 3 and 6 from LVA/dave); FIN/carol shares 2 and
 * 4; EST/alice also sends 8 to LVA/erin only. */
static parley_qs tx_boxes_seed(parley_tx *tx, void *cls, parley_error *err) {
  (void)err;
  msg_ctx *c = cls;
  c->t.n = 0;
  for (unsigned i = 1; i <= 7; i++) {
    bool dave = i == 3 || i == 6, carol = i == 2 || i == 4;
    REC(&c->t, put_msg(tx, i, dave ? "LVA" : "EST", dave ? "dave" : "alice", "FIN", "bob",
                       carol ? "FIN" : NULL, carol ? "carol" : NULL, NULL));
  }
  REC(&c->t, put_msg(tx, 8, "EST", "alice", "LVA", "erin", NULL, NULL, NULL));
  return PARLEY_QS_ONE;
}

typedef struct {
  trace t;
  msg_list l[12];
  int64_t after;
} boxes_ctx;

static parley_qs tx_boxes_read(parley_tx *tx, void *cls, parley_error *err) {
  (void)err;
  boxes_ctx *c = cls;
  c->t.n = 0;
  for (int i = 0; i < 12; i++)
    list_reset(&c->l[i], NULL, 0);
  /* bob's inbox, three at a time; the callback reads each message in full */
  c->l[0].tx = tx;
  REC(&c->t, parley_store_inbox(tx, "FIN", "bob", 0, 3, msg_cb, &c->l[0])); /* 0 */
  int64_t after = c->l[0].rows[c->l[0].n - 1].seq;
  REC(&c->t, parley_store_inbox(tx, "FIN", "bob", after, 3, msg_cb, &c->l[1])); /* 1 */
  after = c->l[1].rows[c->l[1].n - 1].seq;
  REC(&c->t, parley_store_inbox(tx, "FIN", "bob", after, 3, msg_cb, &c->l[2])); /* 2 */
  after = c->l[2].rows[c->l[2].n - 1].seq;
  REC(&c->t, parley_store_inbox(tx, "FIN", "bob", after, 3, msg_cb, &c->l[3])); /* 3: NONE */
  /* nobody else sees bob's messages */
  REC(&c->t, parley_store_inbox(tx, "FIN", "mallory", 0, 100, msg_cb, &c->l[4])); /* 4 */
  REC(&c->t, parley_store_inbox(tx, "EST", "bob", 0, 100, msg_cb, &c->l[4]));     /* 5 */
  REC(&c->t, parley_store_inbox(tx, "FIN", "bo", 0, 100, msg_cb, &c->l[4]));      /* 6 */
  REC(&c->t, parley_store_inbox(tx, "FIN", "carol", 0, 100, msg_cb, &c->l[5]));   /* 7 */
  /* alice's outbox, with a cursor */
  REC(&c->t, parley_store_outbox(tx, "EST", "alice", 0, 100, msg_cb, &c->l[6])); /* 8 */
  REC(&c->t,
      parley_store_outbox(tx, "EST", "alice", c->l[6].rows[2].seq, 2, msg_cb, &c->l[7])); /* 9 */
  REC(&c->t, parley_store_outbox(tx, "FIN", "bob", 0, 100, msg_cb, &c->l[8]));  /* 10: NONE */
  REC(&c->t, parley_store_outbox(tx, "LVA", "dave", 0, 100, msg_cb, &c->l[9])); /* 11 */
  /* the callback stops the listing; a limit of 0 lists nothing */
  c->l[10].stop_after = 2;
  REC(&c->t, parley_store_inbox(tx, "FIN", "bob", 0, 100, msg_cb, &c->l[10])); /* 12 */
  REC(&c->t, parley_store_inbox(tx, "FIN", "bob", 0, 0, msg_cb, &c->l[11]));   /* 13: NONE */
  REC(&c->t, parley_store_outbox(tx, "EST", "alice", INT64_MAX, 5, msg_cb, &c->l[11])); /* 14 */
  return PARLEY_QS_ONE;
}

static void assert_ids(const msg_list *l, const unsigned *want, int n) {
  assert_int_equal(l->n, n);
  for (int i = 0; i < n; i++) {
    char id[PARLEY_UUID_LEN];
    mk_id(id, want[i]);
    assert_string_equal(l->rows[i].id, id);
    if (i > 0) assert_true(l->rows[i].seq > l->rows[i - 1].seq);
  }
  assert_int_equal(l->with_envelope, 0); /* listings carry no envelope */
}

static void test_inbox_outbox(void **state) {
  fixture *f = *state;
  msg_ctx s;
  memset(&s, 0, sizeof s);
  run_ok(f->s, true, tx_boxes_seed, &s);
  for (int i = 0; i < 8; i++)
    assert_int_equal(s.t.r[i], PARLEY_QS_ONE);
  boxes_ctx *c = calloc(1, sizeof *c);
  assert_non_null(c);
  run_ok(f->s, false, tx_boxes_read, c);
  parley_qs want[] = {1, 1, 1, 0, 0, 0, 0, 1, 1, 1, 0, 1, 1, 0, 0};
  assert_int_equal(c->t.n, 15);
  for (int i = 0; i < 15; i++)
    assert_int_equal(c->t.r[i], want[i]);
  assert_ids(&c->l[0], (unsigned[]){1, 2, 3}, 3);
  assert_int_equal(c->l[0].fetched, 3);
  assert_ids(&c->l[1], (unsigned[]){4, 5, 6}, 3);
  assert_ids(&c->l[2], (unsigned[]){7}, 1);
  assert_int_equal(c->l[3].n, 0);
  assert_int_equal(c->l[4].n, 0);
  assert_ids(&c->l[5], (unsigned[]){2, 4}, 2);
  assert_ids(&c->l[6], (unsigned[]){1, 2, 4, 5, 7, 8}, 6);
  assert_ids(&c->l[7], (unsigned[]){5, 7}, 2);
  assert_int_equal(c->l[8].n, 0);
  assert_ids(&c->l[9], (unsigned[]){3, 6}, 2);
  assert_ids(&c->l[10], (unsigned[]){1, 2}, 2);
  assert_int_equal(c->l[11].n, 0);
  /* listed rows carry the same fields as message_get, but the envelope */
  const parley_message_row *r = &c->l[9].rows[0];
  assert_string_equal(r->from_state, "LVA");
  assert_string_equal(r->from_poc, "dave");
  assert_string_equal(r->kind, "notification");
  assert_string_equal(r->tlp, "TLP:AMBER+STRICT");
  assert_int_equal(r->created, 1700000003);
  assert_int_equal(r->leaf_index, 3);
  uint8_t h[32];
  mk_hash(h, 0xe1, 3);
  assert_memory_equal(r->envelope_hash, h, 32);
  assert_null(r->envelope);
  assert_int_equal(r->envelope_len, 0);
  free(c);
}

/* ---- cases ---- */

static parley_qs tx_cases_seed(parley_tx *tx, void *cls, parley_error *err) {
  (void)err;
  msg_ctx *c = cls;
  c->t.n = 0;
  /* 500 opens its case without naming it; 501 names itself */
  parley_message_row open500 = mk_msg(500, "EST", "p"), open501 = mk_msg(501, "FIN", "p");
  mk_id(open501.case_id, 501);
  parley_recipient_row r0 = mk_rcpt("FIN", "p");
  REC(&c->t, parley_store_message_insert(tx, &open500, &r0, 1));
  for (unsigned i = 1; i <= 7; i++) {
    if (i == 2) REC(&c->t, parley_store_message_insert(tx, &open501, &r0, 1));
    parley_message_row m = mk_msg(i, i % 2 ? "EST" : "FIN", "p");
    if (i == 1 || i == 4 || i == 6) mk_id(m.case_id, 500);
    if (i == 3) mk_id(m.case_id, 501);
    parley_recipient_row r = mk_rcpt(i % 2 ? "FIN" : "EST", "p");
    REC(&c->t, parley_store_message_insert(tx, &m, &r, 1));
  }
  return PARLEY_QS_ONE;
}

static parley_qs tx_cases_read(parley_tx *tx, void *cls, parley_error *err) {
  (void)err;
  boxes_ctx *c = cls;
  c->t.n = 0;
  for (int i = 0; i < 4; i++)
    list_reset(&c->l[i], NULL, 0);
  char id[PARLEY_UUID_LEN];
  c->l[0].tx = tx;
  mk_id(id, 500);
  REC(&c->t, parley_store_case_messages(tx, id, msg_cb, &c->l[0])); /* 0: ONE */
  mk_id(id, 501);
  REC(&c->t, parley_store_case_messages(tx, id, msg_cb, &c->l[1])); /* 1: ONE */
  mk_id(id, 502);
  REC(&c->t, parley_store_case_messages(tx, id, msg_cb, &c->l[2])); /* 2: NONE */
  REC(&c->t, parley_store_case_messages(tx, "", msg_cb, &c->l[2])); /* 3: NONE */
  c->l[3].stop_after = 1;
  mk_id(id, 500);
  REC(&c->t, parley_store_case_messages(tx, id, msg_cb, &c->l[3])); /* 4: ONE */
  return PARLEY_QS_ONE;
}

static void test_case_messages(void **state) {
  fixture *f = *state;
  msg_ctx s;
  memset(&s, 0, sizeof s);
  run_ok(f->s, true, tx_cases_seed, &s);
  assert_int_equal(s.t.n, 9);
  for (int i = 0; i < 9; i++)
    assert_int_equal(s.t.r[i], PARLEY_QS_ONE);
  boxes_ctx *c = calloc(1, sizeof *c);
  assert_non_null(c);
  run_ok(f->s, false, tx_cases_read, c);
  parley_qs want[] = {1, 1, 0, 0, 1};
  for (int i = 0; i < 5; i++)
    assert_int_equal(c->t.r[i], want[i]);
  /* the opening message first, then the case's messages */
  assert_ids(&c->l[0], (unsigned[]){500, 1, 4, 6}, 4);
  assert_int_equal(c->l[0].fetched, 4);
  char id[PARLEY_UUID_LEN];
  assert_string_equal(c->l[0].rows[0].case_id, "");
  mk_id(id, 500);
  assert_string_equal(c->l[0].rows[2].case_id, id);
  assert_string_equal(c->l[0].rows[2].from_state, "FIN");
  assert_ids(&c->l[1], (unsigned[]){501, 3}, 2); /* 501 once, though it matches twice */
  assert_int_equal(c->l[2].n, 0);
  assert_ids(&c->l[3], (unsigned[]){500}, 1);
  free(c);
}

/* ---- latest message of each case ---- */

/* Rounds of three series sent by HUB/operator (series 900: 1, 4, 6; series 901: 2, 5;
 * series 902: 3), a message of another kind in series 900 (7), a message of another
 * sender (8) and one without a case (9). */
static parley_qs tx_latest_seed(parley_tx *tx, void *cls, parley_error *err) {
  (void)err;
  msg_ctx *c = cls;
  c->t.n = 0;
  static const unsigned series[] = {0, 900, 901, 902, 900, 901, 900, 900, 900, 0};
  for (unsigned i = 1; i <= 9; i++) {
    parley_message_row m = mk_msg(i, i == 8 ? "EST" : "HUB", i == 8 ? "p" : "operator");
    parley_strlcpy(m.kind, i == 7 ? "notification" : "ping", sizeof m.kind);
    if (series[i]) mk_id(m.case_id, series[i]);
    parley_recipient_row r = mk_rcpt("FIN", "p");
    REC(&c->t, parley_store_message_insert(tx, &m, &r, 1));
  }
  return PARLEY_QS_ONE;
}

static parley_qs tx_latest_read(parley_tx *tx, void *cls, parley_error *err) {
  (void)err;
  boxes_ctx *c = cls;
  c->t.n = 0;
  for (int i = 0; i < 4; i++)
    list_reset(&c->l[i], NULL, 0);
  c->l[0].tx = tx;
  REC(&c->t, parley_store_cases_latest(tx, "HUB", "operator", "ping", msg_cb, &c->l[0])); /* 0 */
  REC(&c->t,
      parley_store_cases_latest(tx, "HUB", "operator", "notification", msg_cb, &c->l[1])); /* 1 */
  REC(&c->t, parley_store_cases_latest(tx, "FIN", "operator", "ping", msg_cb, &c->l[2]));  /* 2 */
  c->l[3].stop_after = 1;
  REC(&c->t, parley_store_cases_latest(tx, "HUB", "operator", "ping", msg_cb, &c->l[3])); /* 3 */
  return PARLEY_QS_ONE;
}

static void test_cases_latest(void **state) {
  fixture *f = *state;
  msg_ctx s;
  memset(&s, 0, sizeof s);
  run_ok(f->s, true, tx_latest_seed, &s);
  for (int i = 0; i < 9; i++)
    assert_int_equal(s.t.r[i], PARLEY_QS_ONE);
  boxes_ctx *c = calloc(1, sizeof *c);
  assert_non_null(c);
  run_ok(f->s, false, tx_latest_read, c);
  parley_qs want[] = {1, 1, 0, 1};
  for (int i = 0; i < 4; i++)
    assert_int_equal(c->t.r[i], want[i]);
  /* the latest round of each series, oldest of those first; 8 and 9 never */
  assert_ids(&c->l[0], (unsigned[]){3, 5, 6}, 3);
  assert_int_equal(c->l[0].fetched, 3); /* the callback may use the transaction */
  char id[PARLEY_UUID_LEN];
  mk_id(id, 900);
  assert_string_equal(c->l[0].rows[2].case_id, id);
  assert_null(c->l[0].rows[0].envelope);
  assert_ids(&c->l[1], (unsigned[]){7}, 1);
  assert_int_equal(c->l[2].n, 0);
  assert_ids(&c->l[3], (unsigned[]){3}, 1);
  free(c);
}

/* ---- due messages ---- */

/* (status, next_escalation) of messages 1..9 */
static const struct {
  parley_msg_status status;
  int64_t next;
} due_seed[] = {
    {PARLEY_MSG_SUBMITTED, 100},   /* 1: due */
    {PARLEY_MSG_DELIVERED, 50},    /* 2: due, first */
    {PARLEY_MSG_ACKNOWLEDGED, 10}, /* 3: acknowledged */
    {PARLEY_MSG_ANSWERED, 20},     /* 4: answered */
    {PARLEY_MSG_SUBMITTED, 0},     /* 5: no escalation */
    {PARLEY_MSG_SUBMITTED, 200},   /* 6: not yet */
    {PARLEY_MSG_SUBMITTED, 100},   /* 7: due, after 1 (same time, later seq) */
    {PARLEY_MSG_CLOSED, 30},       /* 8: closed */
    {PARLEY_MSG_DELIVERED, 150},   /* 9: due exactly now */
};

static parley_qs tx_due_seed(parley_tx *tx, void *cls, parley_error *err) {
  (void)err;
  msg_ctx *c = cls;
  c->t.n = 0;
  for (unsigned i = 1; i <= 9; i++) {
    parley_message_row m = mk_msg(i, "EST", "p");
    m.status = due_seed[i - 1].status;
    m.next_escalation = due_seed[i - 1].next;
    m.ack_deadline = due_seed[i - 1].next;
    parley_recipient_row r = mk_rcpt("FIN", "p");
    REC(&c->t, parley_store_message_insert(tx, &m, &r, 1));
  }
  return PARLEY_QS_ONE;
}

static parley_qs tx_due_read(parley_tx *tx, void *cls, parley_error *err) {
  (void)err;
  boxes_ctx *c = cls;
  c->t.n = 0;
  for (int i = 0; i < 6; i++)
    list_reset(&c->l[i], NULL, 0);
  c->l[0].tx = tx;
  REC(&c->t, parley_store_due_messages(tx, 150, 10, msg_cb, &c->l[0]));             /* 0 */
  REC(&c->t, parley_store_due_messages(tx, 150, 2, msg_cb, &c->l[1]));              /* 1 */
  REC(&c->t, parley_store_due_messages(tx, 49, 10, msg_cb, &c->l[2]));              /* 2: NONE */
  REC(&c->t, parley_store_due_messages(tx, 1000, 10, msg_cb, &c->l[3]));            /* 3 */
  REC(&c->t, parley_store_due_messages(tx, 0, 10, msg_cb, &c->l[4]));               /* 4: NONE */
  REC(&c->t, parley_store_due_messages(tx, INT64_MAX, SIZE_MAX, msg_cb, &c->l[5])); /* 5 */
  return PARLEY_QS_ONE;
}

/* Message 2 is acknowledged, 7 loses its escalation. */
static parley_qs tx_due_update(parley_tx *tx, void *cls, parley_error *err) {
  (void)err;
  msg_ctx *c = cls;
  c->t.n = 0;
  parley_message_row m = mk_msg(2, "EST", "p");
  m.status = PARLEY_MSG_ACKNOWLEDGED;
  m.next_escalation = 50; /* the status alone takes it off the list */
  REC(&c->t, parley_store_message_update(tx, &m));
  m = mk_msg(7, "EST", "p");
  m.status = PARLEY_MSG_DELIVERED;
  m.next_escalation = 0;
  REC(&c->t, parley_store_message_update(tx, &m));
  return PARLEY_QS_ONE;
}

static void test_due_messages(void **state) {
  fixture *f = *state;
  msg_ctx s;
  memset(&s, 0, sizeof s);
  run_ok(f->s, true, tx_due_seed, &s);
  for (int i = 0; i < 9; i++)
    assert_int_equal(s.t.r[i], PARLEY_QS_ONE);
  boxes_ctx *c = calloc(1, sizeof *c);
  assert_non_null(c);
  run_ok(f->s, false, tx_due_read, c);
  parley_qs want[] = {1, 1, 0, 1, 0, 1};
  for (int i = 0; i < 6; i++)
    assert_int_equal(c->t.r[i], want[i]);
  /* by next_escalation, then seq: 2 (50), 1 and 7 (100), 9 (150) */
  assert_int_equal(c->l[0].n, 4);
  const unsigned order[] = {2, 1, 7, 9};
  for (int i = 0; i < 4; i++) {
    char id[PARLEY_UUID_LEN];
    mk_id(id, order[i]);
    assert_string_equal(c->l[0].rows[i].id, id);
    assert_int_equal(c->l[0].rows[i].next_escalation, due_seed[order[i] - 1].next);
  }
  assert_int_equal(c->l[0].with_envelope, 0);
  assert_int_equal(c->l[0].fetched, 4);
  assert_int_equal(c->l[1].n, 2);
  assert_string_equal(c->l[1].rows[1].id, c->l[0].rows[1].id);
  assert_int_equal(c->l[2].n, 0);
  assert_int_equal(c->l[3].n, 5);
  char id6[PARLEY_UUID_LEN];
  mk_id(id6, 6);
  assert_string_equal(c->l[3].rows[4].id, id6);
  assert_int_equal(c->l[4].n, 0);
  assert_int_equal(c->l[5].n, 5);

  run_ok(f->s, true, tx_due_update, &s);
  assert_int_equal(s.t.r[0], PARLEY_QS_ONE);
  assert_int_equal(s.t.r[1], PARLEY_QS_ONE);
  run_ok(f->s, false, tx_due_read, c);
  assert_int_equal(c->l[0].n, 2);
  char id[PARLEY_UUID_LEN];
  mk_id(id, 1);
  assert_string_equal(c->l[0].rows[0].id, id);
  mk_id(id, 9);
  assert_string_equal(c->l[0].rows[1].id, id);
  free(c);
}
