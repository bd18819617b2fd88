/* Store suite, messages: what the store refuses, what survives a reopen and a migration.
 * Part of store_suite.h: included only from there, after its shared fixtures and
 * helpers (and the parts before this one, whose helpers it may use). */

/* ---- what the store refuses ---- */

static parley_qs tx_msg_bad(parley_tx *tx, void *cls, parley_error *err) {
  (void)err;
  int which = *(int *)cls;
  parley_message_row m = mk_msg(1, "EST", "alice");
  parley_recipient_row r = mk_rcpt("FIN", "bob");
  static const char nul_env[] = "{\"a\":\"\0\"}";
  msg_list l;
  list_reset(&l, NULL, 0);
  switch (which) {
  case 0:
    m.id[0] = '\0';
    break;
  case 1:
    m.kind[2] = (char)0xc0; /* not UTF-8 */
    break;
  case 2:
    m.envelope = NULL;
    break;
  case 3:
    m.envelope = (char *)nul_env;
    m.envelope_len = sizeof nul_env - 1;
    break;
  case 4:
    m.status = (parley_msg_status)5;
    break;
  case 5:
    m.leaf_index = -1;
    break;
  case 6:
    m.escalation_level = -1;
    break;
  case 7:
    m.from_poc[0] = '\0';
    break;
  case 8:
    r.poc[0] = '\0';
    break;
  case 9:
    r.delivered = -1;
    break;
  case 10:
    memset(m.priority, 'p', sizeof m.priority);
    break; /* no NUL in the field */
  case 11:
    return parley_store_message_insert(tx, &m, NULL, 1);
  case 12:
    return parley_store_inbox(tx, "FIN", "bob", 0, 10, NULL, &l);
  case 13:
    return parley_store_due_messages(tx, 10, 10, NULL, &l);
  default:
    memset(m.case_id, 'c', sizeof m.case_id);
    break;
  }
  return parley_store_message_insert(tx, &m, &r, 1);
}

static parley_qs tx_msg_in_read(parley_tx *tx, void *cls, parley_error *err) {
  (void)err;
  (void)cls;
  return put_msg(tx, 1, "EST", "alice", "FIN", "bob", NULL, NULL, NULL);
}

static void test_message_bad_input(void **state) {
  fixture *f = *state;
  parley_error err;
  for (int which = 0; which <= 14; which++) {
    parley_err e = parley_store_run(f->s, true, tx_msg_bad, &which, &err);
    if (e != PARLEY_E_STORE_HARD) print_error("case %d: %s\n", which, parley_err_name(e));
    assert_int_equal(e, PARLEY_E_STORE_HARD);
  }
  assert_int_equal(parley_store_run(f->s, false, tx_msg_in_read, NULL, &err), PARLEY_E_STORE_HARD);
  msg_ctx c;
  memset(&c, 0, sizeof c);
  run_ok(f->s, false, tx_msg_roundtrip_read, &c);
  assert_int_equal(c.t.r[0], PARLEY_QS_NONE); /* nothing was stored */
  msg_ctx_clear(&c);
}

/* ---- everything survives a reopen ---- */

static parley_qs tx_full_write(parley_tx *tx, void *cls, parley_error *err) {
  (void)err;
  msg_ctx *c = cls;
  c->t.n = 0;
  char id[PARLEY_UUID_LEN];
  mk_id(id, 1);
  parley_message_row m = mk_msg(1, "EST", "alice");
  mk_id(m.case_id, 500);
  m.next_escalation = 100;
  parley_recipient_row r[2] = {mk_rcpt("FIN", "bob"), mk_rcpt("LVA", "dave")};
  REC(&c->t, parley_store_message_insert(tx, &m, r, 2));
  c->seq[0] = m.seq;
  REC(&c->t, put_msg(tx, 2, "FIN", "bob", "EST", "alice", NULL, NULL, &c->seq[1]));
  m.status = PARLEY_MSG_ACKNOWLEDGED;
  m.overdue = true;
  m.escalation_level = 1;
  m.next_escalation = 0;
  m.ack_deadline = 90;
  REC(&c->t, parley_store_message_update(tx, &m));
  r[0].delivered = 70;
  r[0].acked = 80;
  mk_id(r[0].message_id, 1);
  REC(&c->t, parley_store_recipient_update(tx, &r[0]));
  parley_ack_row a = mk_ack(1, "FIN", "bob", 80, "{\"ack\":1}");
  REC(&c->t, parley_store_ack_insert(tx, &a));
  REC(&c->t, parley_store_message_event(tx, id, "submitted", "by EST/alice", 60));
  REC(&c->t, parley_store_message_event(tx, id, "acknowledged", "by FIN/bob", 80));
  return PARLEY_QS_ONE;
}

typedef struct {
  msg_ctx m;
  msg_list in, out, cs, due;
  ack_list acks;
  ev_list ev;
} full_ctx;

static parley_qs tx_full_read(parley_tx *tx, void *cls, parley_error *err) {
  (void)err;
  full_ctx *c = cls;
  c->m.t.n = 0;
  parley_message_row_clear(&c->m.got[0]);
  memset(&c->m.rc[0], 0, sizeof c->m.rc[0]);
  memset(&c->acks, 0, sizeof c->acks);
  memset(&c->ev, 0, sizeof c->ev);
  list_reset(&c->in, NULL, 0);
  list_reset(&c->out, NULL, 0);
  list_reset(&c->cs, NULL, 0);
  list_reset(&c->due, NULL, 0);
  char id[PARLEY_UUID_LEN];
  mk_id(id, 1);
  REC(&c->m.t, parley_store_message_get(tx, id, &c->m.got[0]));
  REC(&c->m.t, parley_store_recipients_get(tx, id, rcpt_cb, &c->m.rc[0]));
  REC(&c->m.t, parley_store_inbox(tx, "FIN", "bob", 0, 10, msg_cb, &c->in));
  REC(&c->m.t, parley_store_outbox(tx, "FIN", "bob", 0, 10, msg_cb, &c->out));
  mk_id(id, 500);
  REC(&c->m.t, parley_store_case_messages(tx, id, msg_cb, &c->cs));
  mk_id(id, 1);
  REC(&c->m.t, parley_store_acks_get(tx, id, ack_cb, &c->acks));
  REC(&c->m.t, parley_store_message_events(tx, id, ev_cb, &c->ev));
  REC(&c->m.t, parley_store_due_messages(tx, 1000, 10, msg_cb, &c->due)); /* NONE */
  return PARLEY_QS_ONE;
}

static void test_messages_reopen(void **state) {
  fixture *f = *state;
  full_ctx *c = calloc(1, sizeof *c);
  assert_non_null(c);
  run_ok(f->s, true, tx_full_write, &c->m);
  for (int i = 0; i < 7; i++)
    assert_int_equal(c->m.t.r[i], PARLEY_QS_ONE);
  int64_t seq1 = c->m.seq[0], seq2 = c->m.seq[1];
  parley_store_close(f->s);
  f->s = open_ok(f->url);
  run_ok(f->s, false, tx_full_read, c);
  parley_qs want[] = {1, 1, 1, 1, 1, 1, 1, 0};
  for (int i = 0; i < 8; i++)
    assert_int_equal(c->m.t.r[i], want[i]);
  const parley_message_row *g = &c->m.got[0];
  assert_int_equal(g->seq, seq1);
  assert_int_equal(g->status, PARLEY_MSG_ACKNOWLEDGED);
  assert_true(g->overdue);
  assert_int_equal(g->escalation_level, 1);
  assert_int_equal(g->ack_deadline, 90);
  assert_string_equal(g->envelope, env_text);
  assert_int_equal(c->m.rc[0].n, 2);
  assert_int_equal(c->m.rc[0].rows[0].delivered, 70);
  assert_int_equal(c->m.rc[0].rows[0].acked, 80);
  assert_int_equal(c->in.n, 1);
  assert_int_equal(c->in.rows[0].seq, seq1);
  assert_int_equal(c->out.n, 1);
  assert_int_equal(c->out.rows[0].seq, seq2);
  assert_int_equal(c->cs.n, 1);
  assert_int_equal(c->acks.n, 1);
  assert_string_equal(c->acks.text[0], "{\"ack\":1}");
  assert_int_equal(c->ev.n, 2);
  assert_string_equal(c->ev.event[1], "acknowledged");
  /* after the reopen: a replay is still a replay, and seqs keep growing */
  msg_ctx m;
  memset(&m, 0, sizeof m);
  run_ok(f->s, true, tx_msg_first, &m);
  assert_int_equal(m.t.r[0], PARLEY_QS_NONE);
  seq_arg a = {.n = 3};
  run_ok(f->s, true, tx_msg_one, &a);
  assert_true(a.seq > seq2);
  parley_message_row_clear(&c->m.got[0]);
  free(c);
}

/* A store made by schema version 1 (no message tables) is brought to the current one
 * and keeps its data. */
static void test_migrate_from_v1(void **state) {
  fixture *f = *state;
  run_ok(f->s, true, tx_durable_write, NULL);
  parley_store_close(f->s);
  f->s = NULL;
  suite_raw_exec(f->url, "DROP TABLE clocks");
  suite_raw_exec(f->url, "DROP TABLE message_bases");
  suite_raw_exec(f->url, "DROP TABLE evidence_custody");
  suite_raw_exec(f->url, "DROP TABLE evidence_chunks");
  suite_raw_exec(f->url, "DROP TABLE evidence_recipients");
  suite_raw_exec(f->url, "DROP TABLE evidence");
  suite_raw_exec(f->url, "DROP TABLE message_events");
  suite_raw_exec(f->url, "DROP TABLE acks");
  suite_raw_exec(f->url, "DROP TABLE message_recipients");
  suite_raw_exec(f->url, "DROP TABLE messages");
  suite_raw_exec(f->url, "ALTER TABLE states DROP COLUMN root_replaced_at");
  suite_raw_exec(f->url, "UPDATE schema_version SET version = 1");
  f->s = open_ok(f->url);
  assert_int_equal(parley_store_schema_version(f->s), PARLEY_STORE_SCHEMA_VERSION);
  records_ctx r;
  memset(&r, 0, sizeof r);
  run_ok(f->s, false, tx_durable_read, &r);
  assert_int_equal(r.t.r[1], PARLEY_QS_ONE);
  assert_string_equal(r.got[0].body, body1);
  parley_record_row_clear(&r.got[0]);
  msg_ctx c;
  memset(&c, 0, sizeof c);
  run_ok(f->s, true, tx_msg_roundtrip_write, &c);
  run_ok(f->s, false, tx_msg_roundtrip_read, &c);
  assert_int_equal(c.t.r[0], PARLEY_QS_ONE);
  assert_string_equal(c.got[0].envelope, env_text);
  msg_ctx_clear(&c);
}
