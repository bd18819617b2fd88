/* Store suite, treaty metadata: legal bases of messages and treaty clocks (insert,
 * replace, due listing, per case, durability across a reopen). Part of store_suite.h,
 * after suite_messages.h, whose helpers it uses. */

typedef struct {
  trace t;
  parley_clock_row rows[16];
  int n;
  char inst[16][72], art[16][40];
  parley_message_row msgs[16];
} treaty_ctx;

static parley_clock_row mk_clock(unsigned msg, const char *name, unsigned case_n, int64_t due,
                                 int64_t remind) {
  parley_clock_row c;
  memset(&c, 0, sizeof c);
  mk_id(c.message_id, msg);
  parley_strlcpy(c.name, name, sizeof c.name);
  mk_id(c.case_id, case_n);
  parley_strlcpy(c.state, "EST", sizeof c.state);
  c.started = 1000;
  c.due = due;
  c.remind_at = remind;
  c.next_at = remind ? remind : due;
  return c;
}

static bool treaty_clock_cb(void *cls, const parley_clock_row *c) {
  treaty_ctx *x = cls;
  if (x->n < 16) x->rows[x->n++] = *c;
  return true;
}

static bool treaty_stats_cb(void *cls, const parley_message_row *m, const char *instrument,
                            const char *article) {
  treaty_ctx *x = cls;
  if (x->n < 16) {
    x->msgs[x->n] = *m;
    parley_strlcpy(x->inst[x->n], instrument, sizeof x->inst[0]);
    parley_strlcpy(x->art[x->n], article, sizeof x->art[0]);
    x->n++;
  }
  return true;
}

static parley_qs tx_treaty_seed(parley_tx *tx, void *cls, parley_error *err) {
  (void)err;
  treaty_ctx *x = cls;
  x->t.n = 0;
  for (unsigned i = 1; i <= 3; i++)
    REC(&x->t, put_msg(tx, i, "EST", "p", "FIN", "q", NULL, NULL, NULL));
  REC(&x->t, parley_store_message_basis_put(tx, "01900000-0000-7000-8000-000000000001",
                                            "budapest-2001", "29"));
  REC(&x->t, parley_store_message_basis_put(tx, "01900000-0000-7000-8000-000000000003",
                                            "un-cybercrime-2024", "40(15)"));
  parley_clock_row a = mk_clock(1, "preservation-lapse", 1, 5000, 4000);
  parley_clock_row b = mk_clock(3, "written-confirmation", 1, 3000, 0);
  parley_clock_row c = mk_clock(2, "emergency-response", 2, 2000, 0);
  REC(&x->t, parley_store_clock_put(tx, &a));
  REC(&x->t, parley_store_clock_put(tx, &b));
  REC(&x->t, parley_store_clock_put(tx, &c));
  c.status = PARLEY_CLOCK_MET; /* replaced: no longer due */
  c.settled = 1500;
  c.next_at = 0;
  REC(&x->t, parley_store_clock_put(tx, &c));
  return PARLEY_QS_ONE;
}

static parley_qs tx_treaty_bad(parley_tx *tx, void *cls, parley_error *err) {
  (void)err;
  treaty_ctx *x = cls;
  x->t.n = 0;
  /* a second basis for one message; an unknown message */
  REC(&x->t,
      parley_store_message_basis_put(tx, "01900000-0000-7000-8000-000000000001", "bilateral", "1"));
  return PARLEY_QS_ONE;
}

static parley_qs tx_treaty_read(parley_tx *tx, void *cls, parley_error *err) {
  (void)err;
  treaty_ctx *x = cls;
  x->t.n = 0;
  x->n = 0;
  REC(&x->t, parley_store_clocks_due(tx, 3500, 10, treaty_clock_cb, x)); /* 0: only b */
  REC(&x->t, parley_store_clocks_due(tx, 4000, 10, treaty_clock_cb, x)); /* 1: b, then a */
  char case1[PARLEY_UUID_LEN];
  mk_id(case1, 1);
  REC(&x->t, parley_store_clocks_of_case(tx, case1, treaty_clock_cb, x)); /* 2: a, b */
  return PARLEY_QS_ONE;
}

static parley_qs tx_treaty_stats(parley_tx *tx, void *cls, parley_error *err) {
  (void)err;
  treaty_ctx *x = cls;
  x->t.n = 0;
  x->n = 0;
  REC(&x->t, parley_store_stats_messages(tx, 0, 10, treaty_stats_cb, x));
  REC(&x->t, parley_store_stats_messages(tx, x->msgs[1].seq, 10, treaty_stats_cb, x));
  return PARLEY_QS_ONE;
}

static void test_treaty_metadata(void **state) {
  fixture *f = *state;
  treaty_ctx *x = calloc(1, sizeof *x);
  assert_non_null(x);
  run_ok(f->s, true, tx_treaty_seed, x);
  for (int i = 0; i < x->t.n; i++)
    assert_int_equal(x->t.r[i], PARLEY_QS_ONE);
  parley_error err;
  assert_int_not_equal(parley_store_run(f->s, true, tx_treaty_bad, x, &err), PARLEY_E_OK);
  /* durable across a reopen */
  parley_store_close(f->s);
  f->s = open_ok(f->url);
  run_ok(f->s, false, tx_treaty_read, x);
  assert_int_equal(x->t.r[0], PARLEY_QS_ONE);
  assert_int_equal(x->t.r[1], PARLEY_QS_ONE);
  assert_int_equal(x->t.r[2], PARLEY_QS_ONE);
  assert_int_equal(x->n, 5);
  assert_string_equal(x->rows[0].name, "written-confirmation");
  assert_string_equal(x->rows[1].name, "written-confirmation");
  assert_string_equal(x->rows[2].name, "preservation-lapse");
  assert_int_equal(x->rows[2].remind_at, 4000);
  assert_int_equal(x->rows[2].due, 5000);
  assert_int_equal(x->rows[3].status, PARLEY_CLOCK_RUNNING);
  assert_int_equal(x->rows[3].next_at, 4000);
  run_ok(f->s, false, tx_treaty_stats, x);
  assert_int_equal(x->t.r[0], PARLEY_QS_ONE);
  assert_int_equal(x->n, 4); /* 3, then the one after message 2 */
  assert_string_equal(x->inst[0], "budapest-2001");
  assert_string_equal(x->art[0], "29");
  assert_string_equal(x->inst[1], "");
  assert_string_equal(x->inst[2], "un-cybercrime-2024");
  assert_string_equal(x->art[2], "40(15)");
  assert_null(x->msgs[0].envelope);
  assert_string_equal(x->msgs[3].id, x->msgs[2].id);
  free(x);
}
