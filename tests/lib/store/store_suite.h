/* Store tests that run unchanged against every engine.
 *
 * The including file provides, before including this header:
 *   static char *suite_fresh_url(void);          URL of a new, empty store (malloc'd)
 *   static void suite_raw_exec(const char *url, const char *sql);   SQL behind the API's back
 *   static const char *const suite_engine;       expected parley_store_engine()
 * and lists SUITE_TESTS in its cmocka test array.
 *
 * Transaction functions never assert: a failed assertion would jump out of
 * parley_store_run with the transaction open. They record what they saw; the test
 * asserts after the run. */
#ifndef PARLEY_TEST_STORE_SUITE_H
#define PARLEY_TEST_STORE_SUITE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parley/store.h"
#include "store/backend.h"

static char *suite_fresh_url(void);
static void suite_raw_exec(const char *url, const char *sql);

typedef struct {
  parley_store *s;
  char *url;
} fixture;

static parley_store *open_ok(const char *url) {
  parley_store *s = NULL;
  parley_error err;
  parley_err e = parley_store_open(url, &s, &err);
  if (e != PARLEY_E_OK) print_error("open failed: %s: %s\n", parley_err_name(e), err.detail);
  assert_int_equal(e, PARLEY_E_OK);
  assert_non_null(s);
  return s;
}

static int fx_setup(void **state) {
  fixture *f = calloc(1, sizeof *f);
  if (!f) return -1;
  f->url = suite_fresh_url();
  if (!f->url) {
    free(f);
    return -1;
  }
  parley_error err;
  if (parley_store_open(f->url, &f->s, &err) != PARLEY_E_OK) {
    print_error("open %s failed: %s\n", suite_engine, err.detail);
    free(f->url);
    free(f);
    return -1;
  }
  *state = f;
  return 0;
}

static int fx_teardown(void **state) {
  fixture *f = *state;
  parley_store_close(f->s);
  free(f->url);
  free(f);
  return 0;
}

static parley_state_row mk_state(const char *code, int64_t t) {
  parley_state_row r;
  memset(&r, 0, sizeof r);
  parley_strlcpy(r.code, code, sizeof r.code);
  snprintf(r.name, sizeof r.name, "Republic of %s", code);
  parley_strlcpy(r.region, "WEOG", sizeof r.region);
  memset(r.root_pk, code[0], sizeof r.root_pk);
  r.status = PARLEY_STATE_ACTIVE;
  r.created = t;
  r.updated = t;
  return r;
}

static parley_key_row mk_key(const char *id, parley_role role, const char *state) {
  parley_key_row k;
  memset(&k, 0, sizeof k);
  parley_strlcpy(k.key_id, id, sizeof k.key_id);
  for (size_t i = 0; i < sizeof k.pk; i++)
    k.pk[i] = (uint8_t)(id[i % strlen(id)] + i);
  k.role = role;
  parley_strlcpy(k.state, state, sizeof k.state);
  if (role == PARLEY_ROLE_OFFICER) snprintf(k.poc_id, sizeof k.poc_id, "poc-%s", id);
  snprintf(k.name, sizeof k.name, "Officer %s", id);
  return k;
}

static void mk_hash(uint8_t h[32], unsigned a, unsigned b) {
  memset(h, 0, 32);
  for (int i = 0; i < 4; i++) {
    h[i] = (uint8_t)(a >> (8 * i));
    h[4 + i] = (uint8_t)(b >> (8 * i));
  }
  h[31] = 0xa5;
}

/* What a transaction function saw: one status per step. */
typedef struct {
  parley_qs r[64];
  int n;
  int attempts;
  void *p;
} trace;

#define REC(t, expr) ((t)->r[(t)->n++] = (expr))

static void run_ok(parley_store *s, bool write, parley_tx_fn fn, void *cls) {
  parley_error err;
  parley_err e = parley_store_run(s, write, fn, cls, &err);
  if (e != PARLEY_E_OK) print_error("run failed: %s: %s\n", parley_err_name(e), err.detail);
  assert_int_equal(e, PARLEY_E_OK);
}

/* ---- open, migrate, reopen --------------------------------------------------- */

static void test_open_reopen(void **state) {
  fixture *f = *state;
  assert_string_equal(parley_store_engine(f->s), suite_engine);
  assert_int_equal(parley_store_schema_version(f->s), PARLEY_STORE_SCHEMA_VERSION);
  parley_store_close(f->s);
  f->s = open_ok(f->url);
  assert_int_equal(parley_store_schema_version(f->s), PARLEY_STORE_SCHEMA_VERSION);
  /* a second handle on the same store at once */
  parley_store *other = open_ok(f->url);
  assert_int_equal(parley_store_schema_version(other), PARLEY_STORE_SCHEMA_VERSION);
  parley_store_close(other);
}

static void test_schema_newer(void **state) {
  fixture *f = *state;
  parley_store_close(f->s);
  f->s = NULL;
  suite_raw_exec(f->url, "UPDATE schema_version SET version = 99");
  parley_error err;
  parley_store *s = NULL;
  assert_int_equal(parley_store_open(f->url, &s, &err), PARLEY_E_STORE_SCHEMA);
  assert_int_equal(err.code, PARLEY_E_STORE_SCHEMA);
  assert_null(s);
  suite_raw_exec(f->url, "UPDATE schema_version SET version = 1");
  f->s = open_ok(f->url);
}

static void test_url_errors(void **state) {
  (void)state;
  parley_error err;
  parley_store *s = (parley_store *)&err; /* must be reset to NULL */
  assert_int_equal(parley_store_open(NULL, &s, &err), PARLEY_E_STORE_URL);
  assert_null(s);
  const char *bad[] = {
      "",       "mysql://localhost/parley", "sqlite:",     "sqlite::memory:", "SQLITE:/tmp/x.db",
      "sqlite", "file:/tmp/x.db",           "postgresql:x"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    parley_error_clear(&err);
    assert_int_equal(parley_store_open(bad[i], &s, &err), PARLEY_E_STORE_URL);
    assert_int_equal(err.code, PARLEY_E_STORE_URL);
    assert_null(s);
  }
#ifdef PARLEY_HAVE_PQ
  /* malformed connection URIs are refused before any connection is tried */
  assert_int_equal(parley_store_open("postgresql://%zz/db", &s, &err), PARLEY_E_STORE_URL);
  assert_int_equal(parley_store_open("postgres://host/db?nosuchoption=1", &s, &err),
                   PARLEY_E_STORE_URL);
#else
  assert_int_equal(parley_store_open("postgresql://localhost/parley", &s, &err),
                   PARLEY_E_STORE_URL);
  assert_int_equal(parley_store_open("postgres://localhost/parley", &s, &err), PARLEY_E_STORE_URL);
#endif
  assert_null(s);
}

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

#define SUITE_TEST(fn) cmocka_unit_test_setup_teardown(fn, fx_setup, fx_teardown)

#define SUITE_TESTS                                                                                \
  SUITE_TEST(test_open_reopen), SUITE_TEST(test_schema_newer), cmocka_unit_test(test_url_errors),  \
      SUITE_TEST(test_states), SUITE_TEST(test_states_empty), SUITE_TEST(test_records),            \
      SUITE_TEST(test_keys), SUITE_TEST(test_officers_replace), SUITE_TEST(test_nonces),           \
      SUITE_TEST(test_log_leaves), SUITE_TEST(test_nodes), SUITE_TEST(test_checkpoints),           \
      SUITE_TEST(test_run_retry), SUITE_TEST(test_run_errors), SUITE_TEST(test_bad_input),         \
      SUITE_TEST(test_concurrency), SUITE_TEST(test_durability), SUITE_TEST(test_close_waits)

#endif
