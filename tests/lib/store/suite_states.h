/* Store suite, states and their signed records.
 * Part of store_suite.h: included only from there, after its shared fixtures and
 * helpers (and the parts before this one, whose helpers it may use). */

/* ---- states ------------------------------------------------------------------ */

typedef struct {
  trace t;
  parley_state_row got[8];
  char listed[8][PARLEY_STATE_CODE_LEN];
  int nlisted;
  int stop_after;
  int64_t cb_record_version;
  parley_tx *tx;
} states_ctx;

static parley_qs tx_states_write(parley_tx *tx, void *cls, parley_error *err) {
  (void)err;
  states_ctx *c = cls;
  c->t.n = 0;
  const char *codes[] = {"EST", "ZZZ", "AAA", "MMM"};
  for (int i = 0; i < 4; i++) {
    parley_state_row r = mk_state(codes[i], 1000 + i);
    REC(&c->t, parley_store_state_insert(tx, &r)); /* 0..3: ONE */
  }
  parley_state_row dup = mk_state("EST", 5);
  parley_strlcpy(dup.name, "Impostor", sizeof dup.name);
  REC(&c->t, parley_store_state_insert(tx, &dup)); /* 4: NONE */
  parley_state_row upd = mk_state("AAA", 1);
  upd.status = PARLEY_STATE_SUSPENDED;
  upd.current_version = 7;
  upd.review_by = 1234567890;
  upd.updated = 2000;
  upd.root_replaced_at = 17;
  memset(upd.root_pk, 0x42, 32);
  parley_strlcpy(upd.region, "GRULAC", sizeof upd.region);
  REC(&c->t, parley_store_state_update(tx, &upd)); /* 5: ONE */
  parley_state_row ghost = mk_state("XYZ", 1);
  REC(&c->t, parley_store_state_update(tx, &ghost)); /* 6: NONE */
  return PARLEY_QS_ONE;
}

static bool list_cb(void *cls, const parley_state_row *row) {
  states_ctx *c = cls;
  if (c->nlisted < 8) memcpy(c->listed[c->nlisted], row->code, PARLEY_STATE_CODE_LEN);
  c->nlisted++;
  /* the callback may use the transaction */
  parley_record_row rec;
  if (parley_store_record_get(c->tx, row->code, 0, &rec) == PARLEY_QS_ONE) {
    c->cb_record_version = rec.version;
    parley_record_row_clear(&rec);
  }
  return c->nlisted != c->stop_after;
}

static parley_qs tx_states_read(parley_tx *tx, void *cls, parley_error *err) {
  (void)err;
  states_ctx *c = cls;
  c->t.n = 0;
  c->nlisted = 0;
  c->tx = tx;
  REC(&c->t, parley_store_state_get(tx, "EST", &c->got[0]));     /* 0: ONE */
  REC(&c->t, parley_store_state_get(tx, "AAA", &c->got[1]));     /* 1: ONE */
  REC(&c->t, parley_store_state_get(tx, "XYZ", &c->got[2]));     /* 2: NONE */
  REC(&c->t, parley_store_state_get(tx, "TOOLONG", &c->got[2])); /* 3: NONE */
  REC(&c->t, parley_store_state_list(tx, list_cb, c));           /* 4: ONE */
  return PARLEY_QS_ONE;
}

static void test_states(void **state) {
  fixture *f = *state;
  states_ctx c;
  memset(&c, 0, sizeof c);
  run_ok(f->s, true, tx_states_write, &c);
  assert_int_equal(c.t.n, 7);
  for (int i = 0; i < 4; i++)
    assert_int_equal(c.t.r[i], PARLEY_QS_ONE);
  assert_int_equal(c.t.r[4], PARLEY_QS_NONE);
  assert_int_equal(c.t.r[5], PARLEY_QS_ONE);
  assert_int_equal(c.t.r[6], PARLEY_QS_NONE);

  memset(&c, 0, sizeof c);
  c.stop_after = -1;
  run_ok(f->s, false, tx_states_read, &c);
  assert_int_equal(c.t.r[0], PARLEY_QS_ONE);
  assert_int_equal(c.t.r[1], PARLEY_QS_ONE);
  assert_int_equal(c.t.r[2], PARLEY_QS_NONE);
  assert_int_equal(c.t.r[3], PARLEY_QS_NONE);
  assert_int_equal(c.t.r[4], PARLEY_QS_ONE);
  parley_state_row est = mk_state("EST", 1000);
  assert_memory_equal(&c.got[0], &est, sizeof est); /* the duplicate did not overwrite */
  const parley_state_row *a = &c.got[1];
  assert_string_equal(a->code, "AAA");
  assert_string_equal(a->name, "Republic of AAA");
  assert_string_equal(a->region, "GRULAC");
  assert_int_equal(a->status, PARLEY_STATE_SUSPENDED);
  assert_int_equal(a->current_version, 7);
  assert_int_equal(a->review_by, 1234567890);
  assert_int_equal(a->created, 1002); /* created is kept by update */
  assert_int_equal(a->updated, 2000);
  assert_int_equal(a->root_replaced_at, 17);
  uint8_t k42[32];
  memset(k42, 0x42, 32);
  assert_memory_equal(a->root_pk, k42, 32);
  assert_int_equal(c.nlisted, 4);
  assert_string_equal(c.listed[0], "AAA");
  assert_string_equal(c.listed[1], "EST");
  assert_string_equal(c.listed[2], "MMM");
  assert_string_equal(c.listed[3], "ZZZ");

  /* the callback stops the listing */
  memset(&c, 0, sizeof c);
  c.stop_after = 2;
  run_ok(f->s, false, tx_states_read, &c);
  assert_int_equal(c.nlisted, 2);
  assert_string_equal(c.listed[1], "EST");
}

static parley_qs tx_list_empty(parley_tx *tx, void *cls, parley_error *err) {
  (void)err;
  states_ctx *c = cls;
  c->t.n = 0;
  c->tx = tx;
  REC(&c->t, parley_store_state_list(tx, list_cb, c));
  return PARLEY_QS_ONE;
}

static void test_states_empty(void **state) {
  fixture *f = *state;
  states_ctx c;
  memset(&c, 0, sizeof c);
  run_ok(f->s, false, tx_list_empty, &c);
  assert_int_equal(c.t.r[0], PARLEY_QS_NONE);
  assert_int_equal(c.nlisted, 0);
}

/* ---- state records ---------------------------------------------------------------- */

static const char body1[] = "{\"state\":\"EST\",\"version\":1,\"name\":\"Eesti \xc3\xa4\"}";
static const char body2[] = "{\"state\":\"EST\",\"version\":2}";

typedef struct {
  trace t;
  parley_record_row got[4];
} records_ctx;

static parley_record_row mk_record(const char *st, int64_t v, const char *body, int64_t leaf) {
  parley_record_row r;
  memset(&r, 0, sizeof r);
  parley_strlcpy(r.state, st, sizeof r.state);
  r.version = v;
  r.body = (char *)body;
  r.body_len = strlen(body);
  r.received = 5000 + v;
  r.leaf_index = leaf;
  return r;
}

static parley_qs tx_records_write(parley_tx *tx, void *cls, parley_error *err) {
  (void)err;
  records_ctx *c = cls;
  c->t.n = 0;
  parley_state_row st = mk_state("EST", 1);
  REC(&c->t, parley_store_state_insert(tx, &st));
  parley_record_row r1 = mk_record("EST", 1, body1, 0);
  parley_record_row r2 = mk_record("EST", 2, body2, 3);
  parley_record_row r2b = mk_record("EST", 2, body1, 9);
  REC(&c->t, parley_store_record_insert(tx, &r1));  /* 1: ONE */
  REC(&c->t, parley_store_record_insert(tx, &r2));  /* 2: ONE */
  REC(&c->t, parley_store_record_insert(tx, &r2b)); /* 3: NONE, the version exists */
  return PARLEY_QS_ONE;
}

static parley_qs tx_records_read(parley_tx *tx, void *cls, parley_error *err) {
  (void)err;
  records_ctx *c = cls;
  for (int i = 0; i < 4; i++)
    parley_record_row_clear(&c->got[i]);
  c->t.n = 0;
  REC(&c->t, parley_store_record_get(tx, "EST", 1, &c->got[0])); /* ONE */
  REC(&c->t, parley_store_record_get(tx, "EST", 0, &c->got[1])); /* ONE: latest */
  REC(&c->t, parley_store_record_get(tx, "EST", 3, &c->got[2])); /* NONE */
  REC(&c->t, parley_store_record_get(tx, "FIN", 0, &c->got[3])); /* NONE */
  return PARLEY_QS_ONE;
}

static parley_qs tx_record_orphan(parley_tx *tx, void *cls, parley_error *err) {
  (void)err;
  (void)cls;
  parley_record_row r = mk_record("FIN", 1, body2, 0);
  return parley_store_record_insert(tx, &r);
}

static void test_records(void **state) {
  fixture *f = *state;
  records_ctx c;
  memset(&c, 0, sizeof c);
  run_ok(f->s, true, tx_records_write, &c);
  assert_int_equal(c.t.r[0], PARLEY_QS_ONE);
  assert_int_equal(c.t.r[1], PARLEY_QS_ONE);
  assert_int_equal(c.t.r[2], PARLEY_QS_ONE);
  assert_int_equal(c.t.r[3], PARLEY_QS_NONE);
  run_ok(f->s, false, tx_records_read, &c);
  assert_int_equal(c.t.r[0], PARLEY_QS_ONE);
  assert_int_equal(c.t.r[1], PARLEY_QS_ONE);
  assert_int_equal(c.t.r[2], PARLEY_QS_NONE);
  assert_int_equal(c.t.r[3], PARLEY_QS_NONE);
  assert_string_equal(c.got[0].state, "EST");
  assert_int_equal(c.got[0].version, 1);
  assert_int_equal(c.got[0].body_len, strlen(body1));
  assert_string_equal(c.got[0].body, body1);
  assert_int_equal(c.got[0].received, 5001);
  assert_int_equal(c.got[0].leaf_index, 0);
  assert_int_equal(c.got[1].version, 2);
  assert_string_equal(c.got[1].body, body2); /* the duplicate did not overwrite */
  assert_int_equal(c.got[1].leaf_index, 3);
  assert_null(c.got[2].body);
  for (int i = 0; i < 4; i++)
    parley_record_row_clear(&c.got[i]);
  /* a record of a state that is not onboarded is a store failure, not a silent write */
  parley_error err;
  assert_int_equal(parley_store_run(f->s, true, tx_record_orphan, NULL, &err), PARLEY_E_STORE_HARD);
}
