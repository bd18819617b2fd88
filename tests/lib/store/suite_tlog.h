/* Store suite, the transparency log: leaves, nodes, checkpoints.
 * Part of store_suite.h: included only from there, after its shared fixtures and
 * helpers (and the parts before this one, whose helpers it may use). */

/* ---- transparency log --------------------------------------------------------------- */

typedef struct {
  trace t;
  uint64_t idx[16];
  uint64_t size;
  uint64_t found[4];
  uint8_t hash[4][32];
  uint8_t *entry[4];
  size_t entry_len[4];
} log_ctx;

static parley_qs tx_log_append(parley_tx *tx, void *cls, parley_error *err) {
  (void)err;
  log_ctx *c = cls;
  c->t.n = 0;
  REC(&c->t, parley_store_log_size(tx, &c->size));
  for (unsigned i = 0; i < 10; i++) {
    uint8_t h[32];
    char entry[64];
    int n = snprintf(entry, sizeof entry, "entry number %u", i);
    mk_hash(h, 1, i % 8); /* leaves 8 and 9 repeat the hashes of 0 and 1 */
    REC(&c->t, parley_store_leaf_append(tx, h, i % 2 ? "envelope" : "state-record", entry,
                                        (size_t)n, 7000 + i, &c->idx[i]));
  }
  uint8_t h[32];
  mk_hash(h, 2, 0);
  REC(&c->t, parley_store_leaf_append(tx, h, "event", NULL, 0, 1, &c->idx[10])); /* empty */
  return PARLEY_QS_ONE;
}

static parley_qs tx_log_read(parley_tx *tx, void *cls, parley_error *err) {
  (void)err;
  log_ctx *c = cls;
  c->t.n = 0;
  for (int i = 0; i < 4; i++) {
    free(c->entry[i]);
    c->entry[i] = NULL;
  }
  uint8_t h[32];
  REC(&c->t, parley_store_log_size(tx, &c->size)); /* 0 */
  mk_hash(h, 1, 3);
  REC(&c->t, parley_store_leaf_find(tx, h, &c->found[0])); /* 1: ONE */
  mk_hash(h, 1, 0);
  REC(&c->t, parley_store_leaf_find(tx, h, &c->found[1])); /* 2: lowest */
  mk_hash(h, 9, 9);
  REC(&c->t, parley_store_leaf_find(tx, h, &c->found[2]));                     /* 3: NONE */
  REC(&c->t, parley_store_leaf_entry(tx, 4, &c->entry[0], &c->entry_len[0]));  /* 4: ONE */
  REC(&c->t, parley_store_leaf_entry(tx, 10, &c->entry[1], &c->entry_len[1])); /* 5: empty */
  REC(&c->t, parley_store_leaf_entry(tx, 22, &c->entry[2], &c->entry_len[2])); /* 6: NONE */
  REC(&c->t, parley_store_node_get(tx, 0, 5, c->hash[0]));                     /* 7: leaf */
  REC(&c->t, parley_store_node_get(tx, 0, 21, c->hash[1]));                    /* 8: ONE */
  REC(&c->t, parley_store_leaf_entry(tx, UINT64_MAX, &c->entry[3], &c->entry_len[3])); /* 9 */
  REC(&c->t, parley_store_node_get(tx, 0, 22, c->hash[2])); /* 10: NONE */
  return PARLEY_QS_ONE;
}

static void test_log_leaves(void **state) {
  fixture *f = *state;
  log_ctx c;
  memset(&c, 0, sizeof c);
  run_ok(f->s, true, tx_log_append, &c);
  assert_int_equal(c.t.r[0], PARLEY_QS_ONE);
  assert_int_equal(c.size, 0);
  for (unsigned i = 0; i < 11; i++) {
    assert_int_equal(c.t.r[1 + i], PARLEY_QS_ONE);
    assert_int_equal(c.idx[i], i); /* contiguous from 0 */
  }
  /* a second transaction continues where the first stopped */
  run_ok(f->s, true, tx_log_append, &c);
  assert_int_equal(c.size, 11);
  for (unsigned i = 0; i < 11; i++)
    assert_int_equal(c.idx[i], 11 + i);

  run_ok(f->s, false, tx_log_read, &c);
  parley_qs want[] = {1, 1, 1, 0, 1, 1, 0, 1, 1, 0, 0};
  assert_int_equal(c.t.n, 11);
  for (int i = 0; i < 11; i++)
    assert_int_equal(c.t.r[i], want[i]);
  assert_int_equal(c.size, 22);
  assert_int_equal(c.found[0], 3);
  assert_int_equal(c.found[1], 0);
  assert_int_equal(c.entry_len[0], strlen("entry number 4"));
  assert_memory_equal(c.entry[0], "entry number 4", c.entry_len[0]);
  assert_non_null(c.entry[1]);
  assert_int_equal(c.entry_len[1], 0);
  assert_null(c.entry[2]);
  uint8_t h[32];
  mk_hash(h, 1, 5);
  assert_memory_equal(c.hash[0], h, 32);
  mk_hash(h, 2, 0);
  assert_memory_equal(c.hash[1], h, 32); /* the second batch's last leaf */
  for (int i = 0; i < 4; i++)
    free(c.entry[i]);
}

static parley_qs tx_nodes(parley_tx *tx, void *cls, parley_error *err) {
  (void)err;
  log_ctx *c = cls;
  c->t.n = 0;
  uint8_t h[32];
  mk_hash(h, 100, 1);
  REC(&c->t, parley_store_node_put(tx, 1, 0, h)); /* 0: ONE */
  mk_hash(h, 100, 2);
  REC(&c->t, parley_store_node_put(tx, 3, 1ull << 40, h));          /* 1: ONE */
  REC(&c->t, parley_store_node_get(tx, 1, 0, c->hash[0]));          /* 2: ONE */
  REC(&c->t, parley_store_node_get(tx, 3, 1ull << 40, c->hash[1])); /* 3: ONE */
  REC(&c->t, parley_store_node_get(tx, 2, 0, c->hash[2]));          /* 4: NONE */
  REC(&c->t, parley_store_node_get(tx, 1, 1, c->hash[2]));          /* 5: NONE */
  mk_hash(h, 100, 3);
  REC(&c->t, parley_store_node_put(tx, 1, 0, h));          /* 6: ONE, replaced */
  REC(&c->t, parley_store_node_get(tx, 1, 0, c->hash[3])); /* 7: ONE */
  REC(&c->t, parley_store_node_get(tx, 0, 0, c->hash[2])); /* 8: NONE, no leaves */
  return PARLEY_QS_ONE;
}

static parley_qs tx_node_level0(parley_tx *tx, void *cls, parley_error *err) {
  (void)err;
  (void)cls;
  uint8_t h[32] = {0};
  return parley_store_node_put(tx, 0, 0, h);
}

static void test_nodes(void **state) {
  fixture *f = *state;
  log_ctx c;
  memset(&c, 0, sizeof c);
  run_ok(f->s, true, tx_nodes, &c);
  parley_qs want[] = {1, 1, 1, 1, 0, 0, 1, 1, 0};
  for (int i = 0; i < 9; i++)
    assert_int_equal(c.t.r[i], want[i]);
  uint8_t h[32];
  mk_hash(h, 100, 1);
  assert_memory_equal(c.hash[0], h, 32);
  mk_hash(h, 100, 2);
  assert_memory_equal(c.hash[1], h, 32);
  mk_hash(h, 100, 3);
  assert_memory_equal(c.hash[3], h, 32);
  parley_error err;
  assert_int_equal(parley_store_run(f->s, true, tx_node_level0, NULL, &err), PARLEY_E_STORE_HARD);
}

typedef struct {
  trace t;
  parley_checkpoint_row got[4];
} cp_ctx;

static parley_qs tx_checkpoints(parley_tx *tx, void *cls, parley_error *err) {
  (void)err;
  cp_ctx *c = cls;
  c->t.n = 0;
  for (int i = 0; i < 4; i++)
    parley_checkpoint_row_clear(&c->got[i]);
  REC(&c->t, parley_store_checkpoint_get(tx, 0, &c->got[0])); /* 0: NONE, no checkpoint */
  uint64_t sizes[] = {5, 10, 7};
  for (int i = 0; i < 3; i++) {
    char note[128];
    snprintf(note, sizeof note, "parley.example/log\n%llu\nAAAA=\n\n\xe2\x80\x94 hub sig\n",
             (unsigned long long)sizes[i]);
    parley_checkpoint_row r = {.size = sizes[i], .note = note, .created = 100 + i};
    REC(&c->t, parley_store_checkpoint_put(tx, &r)); /* 1..3: ONE */
  }
  REC(&c->t, parley_store_checkpoint_get(tx, 0, &c->got[0])); /* 4: latest = 10 */
  REC(&c->t, parley_store_checkpoint_get(tx, 7, &c->got[1])); /* 5: ONE */
  REC(&c->t, parley_store_checkpoint_get(tx, 8, &c->got[2])); /* 6: NONE */
  char cosigned[] = "parley.example/log\n7\nAAAA=\n\n\xe2\x80\x94 hub sig\n\xe2\x80\x94 witness\n";
  parley_checkpoint_row r = {.size = 7, .note = cosigned, .created = 200};
  REC(&c->t, parley_store_checkpoint_put(tx, &r));            /* 7: ONE, replaced */
  REC(&c->t, parley_store_checkpoint_get(tx, 7, &c->got[3])); /* 8: ONE */
  return PARLEY_QS_ONE;
}

static void test_checkpoints(void **state) {
  fixture *f = *state;
  cp_ctx c;
  memset(&c, 0, sizeof c);
  run_ok(f->s, true, tx_checkpoints, &c);
  parley_qs want[] = {0, 1, 1, 1, 1, 1, 0, 1, 1};
  for (int i = 0; i < 9; i++)
    assert_int_equal(c.t.r[i], want[i]);
  assert_int_equal(c.got[0].size, 10);
  assert_int_equal(c.got[0].created, 101);
  assert_string_equal(c.got[0].note, "parley.example/log\n10\nAAAA=\n\n\xe2\x80\x94 hub sig\n");
  assert_int_equal(c.got[1].size, 7);
  assert_null(c.got[2].note);
  assert_int_equal(c.got[3].created, 200);
  assert_non_null(strstr(c.got[3].note, "witness"));
  for (int i = 0; i < 4; i++)
    parley_checkpoint_row_clear(&c.got[i]);
}

/* ---- appends that store their interior nodes (parley_store_tlog_append) ---- */

#define TLOG_APPENDS 13

typedef struct {
  trace t;
  unsigned from, to; /* entries [from, to) are appended */
  uint64_t leaf[TLOG_APPENDS];
  parley_err root_rc[TLOG_APPENDS + 1];
  uint8_t root[TLOG_APPENDS + 1][32];
  uint64_t size;
} tlog_append_ctx;

static size_t tlog_entry(unsigned i, char out[64]) {
  return (size_t)snprintf(out, 64, "state-record\nentry %u", i);
}

static parley_qs tx_tlog_append(parley_tx *tx, void *cls, parley_error *err) {
  tlog_append_ctx *c = cls;
  c->t.n = 0;
  for (unsigned i = c->from; i < c->to; i++) {
    char entry[64];
    size_t n = tlog_entry(i, entry);
    REC(&c->t, parley_store_tlog_append(tx, "state-record", (const uint8_t *)entry, n, 9000 + i,
                                        &c->leaf[i], err));
  }
  return PARLEY_QS_ONE;
}

/* The root of every past size, from the stored nodes alone. */
static parley_qs tx_tlog_roots(parley_tx *tx, void *cls, parley_error *err) {
  tlog_append_ctx *c = cls;
  c->t.n = 0;
  REC(&c->t, parley_store_log_size(tx, &c->size));
  for (uint64_t k = 1; k <= c->size && k <= TLOG_APPENDS; k++)
    c->root_rc[k] = parley_tlog_root(parley_store_tlog_hash, tx, k, c->root[k], err);
  return PARLEY_QS_ONE;
}

static void test_tlog_append(void **state) {
  fixture *f = *state;
  tlog_append_ctx c;
  memset(&c, 0, sizeof c);
  c.from = 0;
  c.to = 6; /* two transactions: the second completes nodes over the first's leaves */
  run_ok(f->s, true, tx_tlog_append, &c);
  for (int i = 0; i < c.t.n; i++)
    assert_int_equal(c.t.r[i], PARLEY_QS_ONE);
  c.from = 6;
  c.to = TLOG_APPENDS;
  run_ok(f->s, true, tx_tlog_append, &c);
  for (int i = 0; i < c.t.n; i++)
    assert_int_equal(c.t.r[i], PARLEY_QS_ONE);
  for (unsigned i = 0; i < TLOG_APPENDS; i++)
    assert_int_equal(c.leaf[i], i);

  run_ok(f->s, false, tx_tlog_roots, &c);
  assert_int_equal(c.t.r[0], PARLEY_QS_ONE);
  assert_int_equal(c.size, TLOG_APPENDS);
  uint8_t leaves[TLOG_APPENDS][32];
  for (unsigned i = 0; i < TLOG_APPENDS; i++) {
    char entry[64];
    size_t n = tlog_entry(i, entry);
    parley_tlog_leaf_hash((const uint8_t *)entry, n, leaves[i]);
  }
  for (unsigned k = 1; k <= TLOG_APPENDS; k++) {
    uint8_t want[32];
    parley_tlog_mth((const uint8_t(*)[32])leaves, k, want);
    assert_int_equal(c.root_rc[k], PARLEY_E_OK);
    assert_memory_equal(c.root[k], want, 32);
  }
}
