/* Store suite, group commit (parley_store_run_batch).
 * Part of store_suite.h: included only from there, after its shared fixtures and
 * helpers (and the parts before this one, whose helpers it may use). */

/* ---- group commit ------------------------------------------------------------------ */

typedef struct {
  const char *nonce;
  int retries_left; /* answer RETRY this many times first */
  int runs;
  uint64_t leaf;
} batch_ctx;

/* Appends a leaf, then claims a nonce: a replayed nonce is a client error that must
 * undo this item's leaf and nothing else. */
static parley_qs tx_batch_item(parley_tx *tx, void *cls, parley_error *err) {
  batch_ctx *c = cls;
  c->runs++;
  uint8_t h[32];
  mk_hash(h, 9, (unsigned)c->runs);
  parley_qs qs = parley_store_leaf_append(tx, h, "event", c->nonce, strlen(c->nonce), 1, &c->leaf);
  if (qs != PARLEY_QS_ONE) return qs;
  if (c->retries_left > 0) {
    c->retries_left--;
    return PARLEY_QS_RETRY;
  }
  qs = parley_store_nonce_insert(tx, "kb", c->nonce, 100);
  if (qs == PARLEY_QS_NONE) {
    parley_fail(err, PARLEY_E_AUTH_REPLAY, "%s", c->nonce);
    return PARLEY_QS_HARD;
  }
  return qs;
}

static parley_qs tx_batch_size(parley_tx *tx, void *cls, parley_error *err) {
  (void)err;
  return parley_store_log_size(tx, cls);
}

static void test_run_batch(void **state) {
  fixture *f = *state;
  batch_ctx c[4] = {{"n-1", 0, 0, 0}, {"n-1", 0, 0, 0}, {"n-2", 0, 0, 0}, {"n-x", 0, 0, 0}};
  parley_store_batch_item it[5] = {{tx_batch_item, &c[0], 0, {0}},
                                   {tx_batch_item, &c[1], 0, {0}},
                                   {tx_nonce_too_long, NULL, 0, {0}},
                                   {tx_batch_item, &c[2], 0, {0}},
                                   {NULL, NULL, 0, {0}}};
  assert_int_equal(parley_store_run_batch(f->s, it, 5), PARLEY_E_OK);
  assert_int_equal(it[0].rc, PARLEY_E_OK);
  assert_int_equal(it[1].rc, PARLEY_E_AUTH_REPLAY); /* same nonce as item 0 */
  assert_string_equal(it[1].err.detail, "n-1");
  assert_int_equal(it[2].rc, PARLEY_E_STORE_HARD); /* a store failure, this item only */
  assert_int_equal(it[3].rc, PARLEY_E_OK);
  assert_int_equal(it[4].rc, PARLEY_E_INVALID_ARGUMENT);
  /* the refused item's leaf was undone: the kept ones are 0 and 1 */
  assert_int_equal(c[0].leaf, 0);
  assert_int_equal(c[2].leaf, 1);
  uint64_t size = 0;
  run_ok(f->s, false, tx_batch_size, &size);
  assert_int_equal(size, 2);

  /* a conflict in one item runs the whole batch again; nothing is kept twice */
  c[3].retries_left = 2;
  batch_ctx d = {"n-3", 0, 0, 0};
  parley_store_batch_item it2[2] = {{tx_batch_item, &d, 0, {0}}, {tx_batch_item, &c[3], 0, {0}}};
  assert_int_equal(parley_store_run_batch(f->s, it2, 2), PARLEY_E_OK);
  assert_int_equal(it2[0].rc, PARLEY_E_OK);
  assert_int_equal(it2[1].rc, PARLEY_E_OK);
  assert_int_equal(d.runs, 3);
  assert_int_equal(c[3].runs, 3);
  assert_int_equal(d.leaf, 2);
  assert_int_equal(c[3].leaf, 3);
  run_ok(f->s, false, tx_batch_size, &size);
  assert_int_equal(size, 4);

  /* every attempt conflicting: every item fails, nothing is kept */
  batch_ctx e = {"n-4", 1000, 0, 0};
  parley_store_batch_item it3[1] = {{tx_batch_item, &e, 0, {0}}};
  assert_int_equal(parley_store_run_batch(f->s, it3, 1), PARLEY_E_STORE_RETRY);
  assert_int_equal(it3[0].rc, PARLEY_E_STORE_RETRY);
  run_ok(f->s, false, tx_batch_size, &size);
  assert_int_equal(size, 4);
  assert_int_equal(parley_store_run_batch(f->s, NULL, 0), PARLEY_E_OK);
}
