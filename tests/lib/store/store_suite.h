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
#include "parley/tlog.h"
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
  r.root_replaced_at = -1;
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

/* ---- the tests, by section (each file uses the helpers above and before it) ---- */

#include "suite_open.h"
#include "suite_states.h"
#include "suite_keys.h"
#include "suite_tlog.h"
#include "suite_runner.h"
#include "suite_messages.h"
#include "suite_message_updates.h"
#include "suite_message_edges.h"
#include "suite_batch.h"
#include "suite_treaty.h"

#define SUITE_MESSAGE_TESTS                                                                        \
  SUITE_TEST(test_message_roundtrip), SUITE_TEST(test_message_duplicate),                          \
      SUITE_TEST(test_message_seq), SUITE_TEST(test_inbox_outbox), SUITE_TEST(test_case_messages), \
      SUITE_TEST(test_due_messages), SUITE_TEST(test_message_update),                              \
      SUITE_TEST(test_recipient_update), SUITE_TEST(test_acks), SUITE_TEST(test_message_events),   \
      SUITE_TEST(test_message_bad_input), SUITE_TEST(test_messages_reopen),                        \
      SUITE_TEST(test_migrate_from_v1), SUITE_TEST(test_cases_latest),                             \
      SUITE_TEST(test_treaty_metadata)

#define SUITE_TEST(fn) cmocka_unit_test_setup_teardown(fn, fx_setup, fx_teardown)

#define SUITE_TESTS                                                                                \
  SUITE_TEST(test_open_reopen), SUITE_TEST(test_schema_newer), cmocka_unit_test(test_url_errors),  \
      SUITE_TEST(test_states), SUITE_TEST(test_states_empty), SUITE_TEST(test_records),            \
      SUITE_TEST(test_keys), SUITE_TEST(test_operators_delete), SUITE_TEST(test_officers_replace), \
      SUITE_TEST(test_nonces), SUITE_TEST(test_log_leaves), SUITE_TEST(test_nodes),                \
      SUITE_TEST(test_checkpoints), SUITE_TEST(test_tlog_append), SUITE_TEST(test_run_retry),      \
      SUITE_TEST(test_run_errors), SUITE_TEST(test_run_batch), SUITE_TEST(test_bad_input),         \
      SUITE_TEST(test_concurrency), SUITE_TEST(test_durability), SUITE_TEST(test_close_waits),     \
      SUITE_MESSAGE_TESTS

#endif
