/* Store suite, the transaction runner: retries, errors, concurrency, durability, close.
 * Part of store_suite.h: included only from there, after its shared fixtures and
 * helpers (and the parts before this one, whose helpers it may use). */

/* ---- the transaction runner ------------------------------------------------------------ */

static parley_qs tx_count_leaves(parley_tx *tx, void *cls, parley_error *err) {
  (void)err;
  return parley_store_log_size(tx, cls);
}

static uint64_t log_size(parley_store *s) {
  uint64_t n = UINT64_MAX;
  run_ok(s, false, tx_count_leaves, &n);
  return n;
}

/* Writes, then asks for a retry twice: only the third attempt's write may remain. */
static parley_qs tx_flaky(parley_tx *tx, void *cls, parley_error *err) {
  (void)err;
  trace *t = cls;
  t->attempts++;
  uint8_t h[32];
  mk_hash(h, 7, (unsigned)t->attempts);
  uint64_t idx;
  if (parley_store_leaf_append(tx, h, "event", "x", 1, 1, &idx) != PARLEY_QS_ONE)
    return PARLEY_QS_HARD;
  t->r[0] = (parley_qs)idx;
  return t->attempts < 3 ? PARLEY_QS_RETRY : PARLEY_QS_ONE;
}

static parley_qs tx_always_retry(parley_tx *tx, void *cls, parley_error *err) {
  (void)err;
  trace *t = cls;
  t->attempts++;
  uint8_t h[32];
  mk_hash(h, 8, (unsigned)t->attempts);
  uint64_t idx;
  (void)parley_store_leaf_append(tx, h, "event", "x", 1, 1, &idx);
  return PARLEY_QS_RETRY;
}

static void test_run_retry(void **state) {
  fixture *f = *state;
  parley_store_stats st0, st1;
  parley_store_get_stats(f->s, &st0);
  trace t;
  memset(&t, 0, sizeof t);
  run_ok(f->s, true, tx_flaky, &t);
  assert_int_equal(t.attempts, 3);
  assert_int_equal(t.r[0], 0); /* the rolled-back attempts left no leaf behind */
  assert_int_equal(log_size(f->s), 1);
  parley_store_get_stats(f->s, &st1);
  assert_int_equal(st1.retries - st0.retries, 2);
  assert_int_equal(st1.transactions - st0.transactions, 2); /* the run and log_size */
  assert_int_equal(st1.errors, st0.errors);

  memset(&t, 0, sizeof t);
  parley_error err;
  assert_int_equal(parley_store_run(f->s, true, tx_always_retry, &t, &err), PARLEY_E_STORE_RETRY);
  assert_int_equal(err.code, PARLEY_E_STORE_RETRY);
  assert_int_equal(t.attempts, 8);
  assert_int_equal(log_size(f->s), 1);
  parley_store_get_stats(f->s, &st0);
  assert_int_equal(st0.errors - st1.errors, 1);
  assert_int_equal(st0.retries - st1.retries, 7);
}

/* Writes, then refuses with a client error: the caller gets that code, nothing stays. */
static parley_qs tx_client_error(parley_tx *tx, void *cls, parley_error *err) {
  (void)cls;
  parley_state_row r = mk_state("EST", 1);
  if (parley_store_state_insert(tx, &r) != PARLEY_QS_ONE) return PARLEY_QS_HARD;
  uint64_t idx;
  if (parley_store_leaf_append(tx, r.root_pk, "state-record", "{}", 2, 1, &idx) < 0)
    return PARLEY_QS_HARD;
  parley_fail(err, PARLEY_E_RECORD_VERSION, "version %d is not newer", 3);
  return PARLEY_QS_HARD;
}

static parley_qs tx_plain_hard(parley_tx *tx, void *cls, parley_error *err) {
  (void)cls;
  (void)err;
  parley_state_row r = mk_state("EST", 1);
  (void)parley_store_state_insert(tx, &r);
  return PARLEY_QS_HARD;
}

/* An operation fails; the function ignores it and reports success. */
static parley_qs tx_ignores_failure(parley_tx *tx, void *cls, parley_error *err) {
  (void)err;
  trace *t = cls;
  t->n = 0;
  parley_state_row r = mk_state("EST", 1);
  REC(t, parley_store_state_insert(tx, &r)); /* ONE */
  parley_record_row rec = mk_record("FIN", 1, body1, 0);
  REC(t, parley_store_record_insert(tx, &rec)); /* HARD: no such state */
  parley_state_row r2 = mk_state("FIN", 1);
  REC(t, parley_store_state_insert(tx, &r2)); /* HARD without running: the tx failed */
  return PARLEY_QS_ONE;
}

static parley_qs tx_get_est(parley_tx *tx, void *cls, parley_error *err) {
  (void)err;
  trace *t = cls;
  parley_state_row r;
  t->r[0] = parley_store_state_get(tx, "EST", &r);
  t->r[1] = parley_store_state_get(tx, "FIN", &r);
  return PARLEY_QS_ONE;
}

static parley_qs tx_write_in_read(parley_tx *tx, void *cls, parley_error *err) {
  (void)err;
  (void)cls;
  parley_state_row r = mk_state("EST", 1);
  return parley_store_state_insert(tx, &r);
}

static parley_qs tx_nested(parley_tx *tx, void *cls, parley_error *err) {
  (void)err;
  trace *t = cls;
  (void)tx;
  t->r[0] = parley_store_run(t->p, true, tx_write_in_read, NULL, NULL) == PARLEY_E_INVALID_ARGUMENT
                ? PARLEY_QS_ONE
                : PARLEY_QS_HARD;
  return PARLEY_QS_ONE;
}

static void test_run_errors(void **state) {
  fixture *f = *state;
  parley_store_stats st0, st1;
  parley_store_get_stats(f->s, &st0);
  parley_error err;
  assert_int_equal(parley_store_run(f->s, true, tx_client_error, NULL, &err),
                   PARLEY_E_RECORD_VERSION);
  assert_int_equal(err.code, PARLEY_E_RECORD_VERSION);
  assert_string_equal(err.detail, "version 3 is not newer");
  /* err may be NULL: the code still comes back */
  assert_int_equal(parley_store_run(f->s, true, tx_client_error, NULL, NULL),
                   PARLEY_E_RECORD_VERSION);
  parley_store_get_stats(f->s, &st1);
  assert_int_equal(st1.errors, st0.errors); /* a client error is not a store error */

  assert_int_equal(parley_store_run(f->s, true, tx_plain_hard, NULL, &err), PARLEY_E_STORE_HARD);
  trace t;
  memset(&t, 0, sizeof t);
  assert_int_equal(parley_store_run(f->s, true, tx_ignores_failure, &t, &err), PARLEY_E_STORE_HARD);
  assert_int_equal(t.r[0], PARLEY_QS_ONE);
  assert_int_equal(t.r[1], PARLEY_QS_HARD);
  assert_int_equal(t.r[2], PARLEY_QS_HARD);
  assert_int_equal(parley_store_run(f->s, false, tx_write_in_read, NULL, &err),
                   PARLEY_E_STORE_HARD);
  parley_store_get_stats(f->s, &st0);
  assert_int_equal(st0.errors - st1.errors, 3);

  /* nothing of the failed transactions was written */
  memset(&t, 0, sizeof t);
  run_ok(f->s, false, tx_get_est, &t);
  assert_int_equal(t.r[0], PARLEY_QS_NONE);
  assert_int_equal(t.r[1], PARLEY_QS_NONE);
  assert_int_equal(log_size(f->s), 0);

  /* a transaction function may not start another transaction */
  memset(&t, 0, sizeof t);
  t.p = f->s;
  run_ok(f->s, true, tx_nested, &t);
  assert_int_equal(t.r[0], PARLEY_QS_ONE);

  assert_int_equal(parley_store_run(f->s, true, NULL, NULL, &err), PARLEY_E_INVALID_ARGUMENT);
  assert_int_equal(parley_store_run(NULL, true, tx_get_est, &t, &err), PARLEY_E_INVALID_ARGUMENT);
}

/* What the store refuses to keep, identically in every engine. */
static parley_qs tx_bad_input(parley_tx *tx, void *cls, parley_error *err) {
  (void)err;
  int which = *(int *)cls;
  parley_state_row st = mk_state("EST", 1);
  if (which == 0) {
    st.name[3] = (char)0xff; /* not UTF-8 */
    return parley_store_state_insert(tx, &st);
  }
  if (parley_store_state_insert(tx, &st) != PARLEY_QS_ONE) return PARLEY_QS_HARD;
  if (which == 1) {
    static const char nul_body[] = "{\"a\":\"\0\"}";
    parley_record_row r = mk_record("EST", 1, nul_body, 0);
    r.body_len = sizeof nul_body - 1;
    return parley_store_record_insert(tx, &r);
  }
  if (which == 2) {
    parley_key_row k = mk_key("k", PARLEY_ROLE_OFFICER, ""); /* officer without a state */
    return parley_store_key_put(tx, &k);
  }
  if (which == 3) {
    parley_key_row k = mk_key("k", PARLEY_ROLE_OPERATOR, "EST"); /* operator with one */
    return parley_store_key_put(tx, &k);
  }
  if (which == 4) {
    parley_key_row k = mk_key("k", PARLEY_ROLE_OFFICER, "FIN"); /* row of another state */
    return parley_store_officers_replace(tx, "EST", &k, 1);
  }
  if (which == 5) {
    parley_key_row k = mk_key("k", PARLEY_ROLE_STATE_ROOT, "ZZZ"); /* unknown state */
    return parley_store_key_put(tx, &k);
  }
  uint64_t idx;
  return parley_store_leaf_append(tx, st.root_pk, "", "", 0, 1, &idx); /* empty kind */
}

static void test_bad_input(void **state) {
  fixture *f = *state;
  for (int which = 0; which <= 6; which++) {
    parley_error err;
    assert_int_equal(parley_store_run(f->s, true, tx_bad_input, &which, &err), PARLEY_E_STORE_HARD);
  }
  trace t;
  memset(&t, 0, sizeof t);
  run_ok(f->s, false, tx_get_est, &t);
  assert_int_equal(t.r[0], PARLEY_QS_NONE);
}

/* ---- concurrency ----------------------------------------------------------------------------- */

#define CONC_THREADS 4
#define CONC_PER_THREAD 200

typedef struct {
  parley_store *s;
  unsigned id;
  uint64_t idx[CONC_PER_THREAD];
  unsigned i;
  int failures;
  parley_err last;
} conc_arg;

static parley_qs tx_conc_append(parley_tx *tx, void *cls, parley_error *err) {
  (void)err;
  conc_arg *a = cls;
  uint8_t h[32];
  mk_hash(h, 1000 + a->id, a->i);
  char entry[32];
  int n = snprintf(entry, sizeof entry, "t%u-%u", a->id, a->i);
  return parley_store_leaf_append(tx, h, "event", entry, (size_t)n, a->i, &a->idx[a->i]);
}

static void *conc_thread(void *p) {
  conc_arg *a = p;
  for (a->i = 0; a->i < CONC_PER_THREAD; a->i++) {
    parley_error err;
    parley_err e = parley_store_run(a->s, true, tx_conc_append, a, &err);
    if (e != PARLEY_E_OK) {
      a->failures++;
      a->last = e;
      a->idx[a->i] = UINT64_MAX;
    }
  }
  return NULL;
}

typedef struct {
  conc_arg *args;
  int mismatches;
} conc_check;

static parley_qs tx_conc_check(parley_tx *tx, void *cls, parley_error *err) {
  (void)err;
  conc_check *c = cls;
  c->mismatches = 0;
  for (unsigned t = 0; t < CONC_THREADS; t++) {
    for (unsigned i = 0; i < CONC_PER_THREAD; i++) {
      uint8_t h[32], got[32];
      uint64_t idx;
      mk_hash(h, 1000 + t, i);
      if (parley_store_leaf_find(tx, h, &idx) != PARLEY_QS_ONE || idx != c->args[t].idx[i] ||
          parley_store_node_get(tx, 0, idx, got) != PARLEY_QS_ONE || memcmp(got, h, 32) != 0)
        c->mismatches++;
    }
  }
  return PARLEY_QS_ONE;
}

/* Four threads on two handles (as two parleyd processes would be) append at once. */
static void test_concurrency(void **state) {
  fixture *f = *state;
  parley_store *second = open_ok(f->url);
  static conc_arg args[CONC_THREADS];
  pthread_t th[CONC_THREADS];
  memset(args, 0, sizeof args);
  for (unsigned t = 0; t < CONC_THREADS; t++) {
    args[t].s = t % 2 ? second : f->s;
    args[t].id = t;
    assert_int_equal(pthread_create(&th[t], NULL, conc_thread, &args[t]), 0);
  }
  for (unsigned t = 0; t < CONC_THREADS; t++)
    assert_int_equal(pthread_join(th[t], NULL), 0);
  parley_store_stats a, b;
  parley_store_get_stats(f->s, &a);
  parley_store_get_stats(second, &b);
  parley_store_close(second);
  for (unsigned t = 0; t < CONC_THREADS; t++) {
    if (args[t].failures)
      print_error("thread %u: %d failures, last %s\n", t, args[t].failures,
                  parley_err_name(args[t].last));
    assert_int_equal(args[t].failures, 0);
  }
  enum { TOTAL = CONC_THREADS * CONC_PER_THREAD };
  static unsigned char seen[TOTAL];
  memset(seen, 0, sizeof seen);
  for (unsigned t = 0; t < CONC_THREADS; t++) {
    for (unsigned i = 0; i < CONC_PER_THREAD; i++) {
      uint64_t idx = args[t].idx[i];
      assert_true(idx < TOTAL);
      assert_int_equal(seen[idx], 0);
      seen[idx] = 1;
      /* each thread's own appends are ordered */
      if (i > 0) assert_true(idx > args[t].idx[i - 1]);
    }
  }
  assert_int_equal(log_size(f->s), TOTAL);
  conc_check c = {.args = args};
  run_ok(f->s, false, tx_conc_check, &c);
  assert_int_equal(c.mismatches, 0);
  assert_int_equal(a.transactions + b.transactions, TOTAL);
  assert_int_equal(a.errors + b.errors, 0);
}

/* ---- durability -------------------------------------------------------------------------------
 */

static parley_qs tx_durable_write(parley_tx *tx, void *cls, parley_error *err) {
  (void)err;
  (void)cls;
  parley_state_row st = mk_state("EST", 42);
  parley_record_row rec = mk_record("EST", 1, body1, 0);
  uint64_t idx;
  if (parley_store_state_insert(tx, &st) != PARLEY_QS_ONE ||
      parley_store_leaf_append(tx, st.root_pk, "state-record", body1, strlen(body1), 42, &idx) !=
          PARLEY_QS_ONE ||
      parley_store_record_insert(tx, &rec) != PARLEY_QS_ONE)
    return PARLEY_QS_HARD;
  return PARLEY_QS_ONE;
}

static parley_qs tx_durable_read(parley_tx *tx, void *cls, parley_error *err) {
  (void)err;
  records_ctx *c = cls;
  parley_state_row st;
  c->t.n = 0;
  parley_record_row_clear(&c->got[0]);
  REC(&c->t, parley_store_state_get(tx, "EST", &st));
  REC(&c->t, parley_store_record_get(tx, "EST", 0, &c->got[0]));
  uint64_t idx;
  REC(&c->t, parley_store_leaf_find(tx, st.root_pk, &idx));
  return PARLEY_QS_ONE;
}

static void test_durability(void **state) {
  fixture *f = *state;
  run_ok(f->s, true, tx_durable_write, NULL);
  parley_store_close(f->s);
  f->s = open_ok(f->url);
  records_ctx c;
  memset(&c, 0, sizeof c);
  run_ok(f->s, false, tx_durable_read, &c);
  assert_int_equal(c.t.r[0], PARLEY_QS_ONE);
  assert_int_equal(c.t.r[1], PARLEY_QS_ONE);
  assert_int_equal(c.t.r[2], PARLEY_QS_ONE);
  assert_string_equal(c.got[0].body, body1);
  parley_record_row_clear(&c.got[0]);
  assert_int_equal(log_size(f->s), 1);
}

/* ---- close waits for running transactions ----------------------------------------------- */

static parley_qs tx_slow(parley_tx *tx, void *cls, parley_error *err) {
  (void)err;
  _Atomic int *phase = cls;
  atomic_store(phase, 1);
  struct timespec ts = {0, 200 * 1000 * 1000};
  nanosleep(&ts, NULL);
  uint64_t n;
  parley_qs qs = parley_store_log_size(tx, &n);
  atomic_store(phase, 2);
  return qs;
}

static void *slow_thread(void *p) {
  void **a = p;
  parley_err *rc = a[2];
  *rc = parley_store_run(a[0], true, tx_slow, a[1], NULL);
  return NULL;
}

static void test_close_waits(void **state) {
  fixture *f = *state;
  _Atomic int phase = 0;
  parley_err rc = PARLEY_E_INTERNAL;
  void *a[3] = {f->s, (void *)&phase, &rc};
  pthread_t th;
  assert_int_equal(pthread_create(&th, NULL, slow_thread, a), 0);
  while (atomic_load(&phase) == 0) {
    struct timespec ts = {0, 1000 * 1000};
    nanosleep(&ts, NULL);
  }
  parley_store_close(f->s);
  f->s = NULL;
  assert_int_equal(atomic_load(&phase), 2);
  assert_int_equal(pthread_join(th, NULL), 0);
  assert_int_equal(rc, PARLEY_E_OK);
  f->s = open_ok(f->url);
}
