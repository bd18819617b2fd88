/* Store suite, keys (operators, officers) and request nonces.
 * Part of store_suite.h: included only from there, after its shared fixtures and
 * helpers (and the parts before this one, whose helpers it may use). */

/* ---- keys ------------------------------------------------------------------------- */

typedef struct {
  trace t;
  parley_key_row got[8];
} keys_ctx;

static parley_qs tx_keys(parley_tx *tx, void *cls, parley_error *err) {
  (void)err;
  keys_ctx *c = cls;
  c->t.n = 0;
  parley_state_row st = mk_state("EST", 1);
  REC(&c->t, parley_store_state_insert(tx, &st)); /* 0 */
  parley_key_row op = mk_key("op1", PARLEY_ROLE_OPERATOR, "");
  parley_key_row root = mk_key("root-est", PARLEY_ROLE_STATE_ROOT, "EST");
  parley_key_row off = mk_key("off1", PARLEY_ROLE_OFFICER, "EST");
  REC(&c->t, parley_store_key_put(tx, &op));   /* 1: ONE */
  REC(&c->t, parley_store_key_put(tx, &root)); /* 2: ONE */
  REC(&c->t, parley_store_key_put(tx, &off));  /* 3: ONE */
  /* put replaces: the operator key gets a new name (idempotent at every start) */
  parley_strlcpy(op.name, "operator renamed", sizeof op.name);
  REC(&c->t, parley_store_key_put(tx, &op));                    /* 4: ONE */
  REC(&c->t, parley_store_key_get(tx, "op1", &c->got[0]));      /* 5: ONE */
  REC(&c->t, parley_store_key_get(tx, "off1", &c->got[1]));     /* 6: ONE */
  REC(&c->t, parley_store_key_get(tx, "nobody", &c->got[2]));   /* 7: NONE */
  REC(&c->t, parley_store_key_delete(tx, "off1"));              /* 8: ONE */
  REC(&c->t, parley_store_key_delete(tx, "off1"));              /* 9: NONE */
  REC(&c->t, parley_store_key_get(tx, "off1", &c->got[3]));     /* 10: NONE */
  REC(&c->t, parley_store_key_get(tx, "root-est", &c->got[4])); /* 11: ONE */
  return PARLEY_QS_ONE;
}

static void test_keys(void **state) {
  fixture *f = *state;
  keys_ctx c;
  memset(&c, 0, sizeof c);
  run_ok(f->s, true, tx_keys, &c);
  parley_qs want[] = {1, 1, 1, 1, 1, 1, 1, 0, 1, 0, 0, 1};
  assert_int_equal(c.t.n, 12);
  for (int i = 0; i < 12; i++)
    assert_int_equal(c.t.r[i], want[i]);
  parley_key_row op = mk_key("op1", PARLEY_ROLE_OPERATOR, "");
  parley_strlcpy(op.name, "operator renamed", sizeof op.name);
  assert_memory_equal(&c.got[0], &op, sizeof op);
  assert_string_equal(c.got[0].state, "");
  parley_key_row off = mk_key("off1", PARLEY_ROLE_OFFICER, "EST");
  assert_memory_equal(&c.got[1], &off, sizeof off);
  assert_string_equal(c.got[1].poc_id, "poc-off1");
  assert_int_equal(c.got[4].role, PARLEY_ROLE_STATE_ROOT);
  assert_string_equal(c.got[4].state, "EST");
}

/* operators_delete removes the operator keys and nothing else. */
static parley_qs tx_operators_delete(parley_tx *tx, void *cls, parley_error *err) {
  (void)err;
  keys_ctx *c = cls;
  c->t.n = 0;
  parley_state_row st = mk_state("EST", 1);
  REC(&c->t, parley_store_state_insert(tx, &st)); /* 0 */
  parley_key_row op1 = mk_key("op1", PARLEY_ROLE_OPERATOR, "");
  parley_key_row op2 = mk_key("op2", PARLEY_ROLE_OPERATOR, "");
  parley_key_row root = mk_key("root-est", PARLEY_ROLE_STATE_ROOT, "EST");
  parley_key_row off = mk_key("off1", PARLEY_ROLE_OFFICER, "EST");
  REC(&c->t, parley_store_key_put(tx, &op1));                   /* 1: ONE */
  REC(&c->t, parley_store_key_put(tx, &op2));                   /* 2: ONE */
  REC(&c->t, parley_store_key_put(tx, &root));                  /* 3: ONE */
  REC(&c->t, parley_store_key_put(tx, &off));                   /* 4: ONE */
  REC(&c->t, parley_store_operators_delete(tx));                /* 5: ONE */
  REC(&c->t, parley_store_key_get(tx, "op1", &c->got[0]));      /* 6: NONE */
  REC(&c->t, parley_store_key_get(tx, "op2", &c->got[0]));      /* 7: NONE */
  REC(&c->t, parley_store_key_get(tx, "root-est", &c->got[0])); /* 8: ONE */
  REC(&c->t, parley_store_key_get(tx, "off1", &c->got[1]));     /* 9: ONE */
  REC(&c->t, parley_store_operators_delete(tx));                /* 10: NONE, none left */
  REC(&c->t, parley_store_key_put(tx, &op1));                   /* 11: ONE, registered again */
  REC(&c->t, parley_store_key_get(tx, "op1", &c->got[2]));      /* 12: ONE */
  return PARLEY_QS_ONE;
}

static void test_operators_delete(void **state) {
  fixture *f = *state;
  keys_ctx c;
  memset(&c, 0, sizeof c);
  run_ok(f->s, true, tx_operators_delete, &c);
  parley_qs want[] = {1, 1, 1, 1, 1, 1, 0, 0, 1, 1, 0, 1, 1};
  assert_int_equal(c.t.n, 13);
  for (int i = 0; i < 13; i++)
    assert_int_equal(c.t.r[i], want[i]);
  assert_int_equal(c.got[0].role, PARLEY_ROLE_STATE_ROOT);
  assert_int_equal(c.got[1].role, PARLEY_ROLE_OFFICER);
  assert_int_equal(c.got[2].role, PARLEY_ROLE_OPERATOR);
}

static parley_qs tx_officers(parley_tx *tx, void *cls, parley_error *err) {
  (void)err;
  keys_ctx *c = cls;
  c->t.n = 0;
  parley_state_row est = mk_state("EST", 1), fin = mk_state("FIN", 1);
  REC(&c->t, parley_store_state_insert(tx, &est));
  REC(&c->t, parley_store_state_insert(tx, &fin));
  parley_key_row est_old[2] = {mk_key("e1", PARLEY_ROLE_OFFICER, "EST"),
                               mk_key("e2", PARLEY_ROLE_OFFICER, "EST")};
  parley_key_row fin_off[1] = {mk_key("f1", PARLEY_ROLE_OFFICER, "FIN")};
  parley_key_row root = mk_key("root-est", PARLEY_ROLE_STATE_ROOT, "EST");
  REC(&c->t, parley_store_key_put(tx, &root));                      /* 2 */
  REC(&c->t, parley_store_officers_replace(tx, "EST", est_old, 2)); /* 3: ONE */
  REC(&c->t, parley_store_officers_replace(tx, "FIN", fin_off, 1)); /* 4: ONE */
  parley_key_row est_new[2] = {mk_key("e2", PARLEY_ROLE_OFFICER, "EST"),
                               mk_key("e3", PARLEY_ROLE_OFFICER, "EST")};
  parley_strlcpy(est_new[0].name, "kept, renamed", sizeof est_new[0].name);
  REC(&c->t, parley_store_officers_replace(tx, "EST", est_new, 2)); /* 5: ONE */
  REC(&c->t, parley_store_key_get(tx, "e1", &c->got[0]));           /* 6: NONE, removed */
  REC(&c->t, parley_store_key_get(tx, "e2", &c->got[1]));           /* 7: ONE */
  REC(&c->t, parley_store_key_get(tx, "e3", &c->got[2]));           /* 8: ONE */
  REC(&c->t, parley_store_key_get(tx, "f1", &c->got[3]));           /* 9: ONE, other state */
  REC(&c->t, parley_store_key_get(tx, "root-est", &c->got[4]));     /* 10: ONE, not officer */
  REC(&c->t, parley_store_officers_replace(tx, "FIN", NULL, 0));    /* 11: ONE, none left */
  REC(&c->t, parley_store_key_get(tx, "f1", &c->got[5]));           /* 12: NONE */
  return PARLEY_QS_ONE;
}

/* An officer key id that another state already uses is a conflict: NONE. */
static parley_qs tx_officer_steal(parley_tx *tx, void *cls, parley_error *err) {
  (void)err;
  keys_ctx *c = cls;
  c->t.n = 0;
  parley_key_row steal[1] = {mk_key("root-est", PARLEY_ROLE_OFFICER, "FIN")};
  REC(&c->t, parley_store_officers_replace(tx, "FIN", steal, 1));
  REC(&c->t, parley_store_key_get(tx, "root-est", &c->got[6]));
  return PARLEY_QS_ONE;
}

static void test_officers_replace(void **state) {
  fixture *f = *state;
  keys_ctx c;
  memset(&c, 0, sizeof c);
  run_ok(f->s, true, tx_officers, &c);
  parley_qs want[] = {1, 1, 1, 1, 1, 1, 0, 1, 1, 1, 1, 1, 0};
  assert_int_equal(c.t.n, 13);
  for (int i = 0; i < 13; i++)
    assert_int_equal(c.t.r[i], want[i]);
  assert_string_equal(c.got[1].name, "kept, renamed");
  assert_string_equal(c.got[2].state, "EST");
  assert_string_equal(c.got[3].state, "FIN");
  assert_int_equal(c.got[4].role, PARLEY_ROLE_STATE_ROOT);
  run_ok(f->s, true, tx_officer_steal, &c);
  assert_int_equal(c.t.r[0], PARLEY_QS_NONE);
  assert_int_equal(c.t.r[1], PARLEY_QS_ONE);
  assert_string_equal(c.got[6].state, "EST");
  assert_int_equal(c.got[6].role, PARLEY_ROLE_STATE_ROOT);
}

/* ---- nonces ---------------------------------------------------------------------- */

static parley_qs tx_nonces(parley_tx *tx, void *cls, parley_error *err) {
  (void)err;
  trace *t = cls;
  t->n = 0;
  REC(t, parley_store_nonce_insert(tx, "k1", "n-abc", 100)); /* 0: ONE */
  REC(t, parley_store_nonce_insert(tx, "k1", "n-abc", 100)); /* 1: NONE, replay */
  REC(t, parley_store_nonce_insert(tx, "k1", "n-abc", 999)); /* 2: NONE, replay */
  REC(t, parley_store_nonce_insert(tx, "k2", "n-abc", 100)); /* 3: ONE, other key */
  REC(t, parley_store_nonce_insert(tx, "k1", "n-def", 200)); /* 4: ONE */
  REC(t, parley_store_nonce_purge(tx, 99));                  /* 5: NONE, none expired */
  REC(t, parley_store_nonce_purge(tx, 100));                 /* 6: ONE, expires <= now */
  REC(t, parley_store_nonce_insert(tx, "k1", "n-abc", 300)); /* 7: ONE, purged */
  REC(t, parley_store_nonce_insert(tx, "k1", "n-def", 300)); /* 8: NONE, still held */
  REC(t, parley_store_nonce_purge(tx, 150));                 /* 9: NONE */
  char longest[PARLEY_STORE_MAX_NONCE + 1];
  memset(longest, 'x', PARLEY_STORE_MAX_NONCE);
  longest[PARLEY_STORE_MAX_NONCE] = '\0';
  REC(t, parley_store_nonce_insert(tx, "k1", longest, 300)); /* 10: ONE */
  REC(t, parley_store_nonce_insert(tx, "k1", longest, 300)); /* 11: NONE */
  return PARLEY_QS_ONE;
}

static parley_qs tx_nonce_too_long(parley_tx *tx, void *cls, parley_error *err) {
  (void)err;
  (void)cls;
  char nonce[PARLEY_STORE_MAX_NONCE + 2];
  memset(nonce, 'x', sizeof nonce - 1);
  nonce[sizeof nonce - 1] = '\0';
  return parley_store_nonce_insert(tx, "k1", nonce, 1);
}

static void test_nonces(void **state) {
  fixture *f = *state;
  trace t;
  memset(&t, 0, sizeof t);
  run_ok(f->s, true, tx_nonces, &t);
  parley_qs want[] = {1, 0, 0, 1, 1, 0, 1, 1, 0, 0, 1, 0};
  assert_int_equal(t.n, 12);
  for (int i = 0; i < 12; i++)
    assert_int_equal(t.r[i], want[i]);
  /* a replay in a later transaction is still a replay */
  memset(&t, 0, sizeof t);
  parley_error err;
  assert_int_equal(parley_store_run(f->s, true, tx_nonces, &t, &err), PARLEY_E_OK);
  assert_int_equal(t.r[0], PARLEY_QS_NONE);
  assert_int_equal(parley_store_run(f->s, true, tx_nonce_too_long, NULL, &err),
                   PARLEY_E_STORE_HARD);
}
