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
  char sql[64];
  snprintf(sql, sizeof sql, "UPDATE schema_version SET version = %d", PARLEY_STORE_SCHEMA_VERSION);
  suite_raw_exec(f->url, sql);
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
  suite_raw_exec(f->url, "DROP TABLE message_events");
  suite_raw_exec(f->url, "DROP TABLE acks");
  suite_raw_exec(f->url, "DROP TABLE message_recipients");
  suite_raw_exec(f->url, "DROP TABLE messages");
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

#define SUITE_MESSAGE_TESTS                                                                        \
  SUITE_TEST(test_message_roundtrip), SUITE_TEST(test_message_duplicate),                          \
      SUITE_TEST(test_message_seq), SUITE_TEST(test_inbox_outbox), SUITE_TEST(test_case_messages), \
      SUITE_TEST(test_due_messages), SUITE_TEST(test_message_update),                              \
      SUITE_TEST(test_recipient_update), SUITE_TEST(test_acks), SUITE_TEST(test_message_events),   \
      SUITE_TEST(test_message_bad_input), SUITE_TEST(test_messages_reopen),                        \
      SUITE_TEST(test_migrate_from_v1), SUITE_TEST(test_cases_latest)

#define SUITE_TEST(fn) cmocka_unit_test_setup_teardown(fn, fx_setup, fx_teardown)

#define SUITE_TESTS                                                                                \
  SUITE_TEST(test_open_reopen), SUITE_TEST(test_schema_newer), cmocka_unit_test(test_url_errors),  \
      SUITE_TEST(test_states), SUITE_TEST(test_states_empty), SUITE_TEST(test_records),            \
      SUITE_TEST(test_keys), SUITE_TEST(test_operators_delete), SUITE_TEST(test_officers_replace), \
      SUITE_TEST(test_nonces), SUITE_TEST(test_log_leaves), SUITE_TEST(test_nodes),                \
      SUITE_TEST(test_checkpoints), SUITE_TEST(test_run_retry), SUITE_TEST(test_run_errors),       \
      SUITE_TEST(test_run_batch), SUITE_TEST(test_bad_input), SUITE_TEST(test_concurrency),        \
      SUITE_TEST(test_durability), SUITE_TEST(test_close_waits), SUITE_MESSAGE_TESTS

#endif
