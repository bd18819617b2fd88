/* The request-nonce cache (src/daemon/nonce_cache.c), in-process: a first use is NEW, a
 * replay within its lifetime SEEN, an expired one NEW again; the table is bounded (FULL
 * at its cap, freed by expiry); the journal keeps nonces across a restart. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nonce_cache.h"

static int setup(void **state) {
  (void)state;
  return parleyd_nonce_cache_init(1024) ? 0 : -1;
}

static int teardown(void **state) {
  (void)state;
  parleyd_nonce_cache_free();
  return 0;
}

static void test_insert_and_replay(void **state) {
  (void)state;
  int64_t now = 1000;
  assert_int_equal(parleyd_nonce_check("k1", "n1", now, now + 300), PARLEYD_NONCE_NEW);
  assert_int_equal(parleyd_nonce_check("k1", "n1", now, now + 300), PARLEYD_NONCE_SEEN);
  assert_int_equal(parleyd_nonce_check("k1", "n1", now + 299, now + 599), PARLEYD_NONCE_SEEN);
  /* the same nonce under another key, another nonce under the same key */
  assert_int_equal(parleyd_nonce_check("k2", "n1", now, now + 300), PARLEYD_NONCE_NEW);
  assert_int_equal(parleyd_nonce_check("k1", "n2", now, now + 300), PARLEYD_NONCE_NEW);
  /* key and nonce are kept apart: "k1"+"n1x" is not "k1n"+"1x" */
  assert_int_equal(parleyd_nonce_check("k1n", "1x", now, now + 300), PARLEYD_NONCE_NEW);
  assert_int_equal(parleyd_nonce_check("k1", "n1x", now, now + 300), PARLEYD_NONCE_NEW);
}

static void test_expiry(void **state) {
  (void)state;
  assert_int_equal(parleyd_nonce_check("k", "n", 1000, 1300), PARLEYD_NONCE_NEW);
  assert_int_equal(parleyd_nonce_check("k", "n", 1299, 1600), PARLEYD_NONCE_SEEN);
  /* at its expiry time the entry is gone: the signature window refuses it instead */
  assert_int_equal(parleyd_nonce_check("k", "n", 1300, 1600), PARLEYD_NONCE_NEW);
  assert_int_equal(parleyd_nonce_check("k", "n", 1301, 1600), PARLEYD_NONCE_SEEN);
}

/* A cap of 1024 slots holds 70% of them; then FULL until entries expire. */
static void test_bounds(void **state) {
  (void)state;
  char nonce[32];
  int64_t now = 5000;
  unsigned accepted = 0;
  parleyd_nonce_result last = PARLEYD_NONCE_NEW;
  for (unsigned i = 0; i < 2000; i++) {
    snprintf(nonce, sizeof nonce, "n%u", i);
    last = parleyd_nonce_check("k", nonce, now, now + 10);
    if (last != PARLEYD_NONCE_NEW) break;
    accepted++;
  }
  assert_int_equal(last, PARLEYD_NONCE_FULL);
  assert_true(accepted >= 700 && accepted <= 717);
  /* full: a replay of a known nonce is not let through as new either */
  assert_int_equal(parleyd_nonce_check("k", "n0", now, now + 10), PARLEYD_NONCE_FULL);
  assert_int_equal(parleyd_nonce_check("k", "fresh", now + 1, now + 11), PARLEYD_NONCE_FULL);
  /* once they expire, a rebuild frees their slots */
  assert_int_equal(parleyd_nonce_check("k", "fresh", now + 10, now + 20), PARLEYD_NONCE_NEW);
  assert_int_equal(parleyd_nonce_check("k", "fresh", now + 11, now + 20), PARLEYD_NONCE_SEEN);
  assert_int_equal(parleyd_nonce_check("k", "n0", now + 11, now + 20), PARLEYD_NONCE_NEW);
}

/* A durable nonce survives the cache being dropped and the journal reopened. */
static void test_journal(void **state) {
  (void)state;
  char path[] = "/tmp/parleyd-nonces-XXXXXX";
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  close(fd);
  int64_t now = 10000;
  assert_true(parleyd_nonce_journal_open(path, now));
  assert_int_equal(parleyd_nonce_check_durable("k", "ahead", now, now + 600), PARLEYD_NONCE_NEW);
  assert_int_equal(parleyd_nonce_check_durable("k", "ahead", now, now + 600), PARLEYD_NONCE_SEEN);
  assert_int_equal(parleyd_nonce_check_durable("k", "brief", now, now + 5), PARLEYD_NONCE_NEW);
  parleyd_nonce_journal_close();
  parleyd_nonce_cache_free();

  assert_true(parleyd_nonce_cache_init(1024));
  assert_true(parleyd_nonce_journal_open(path, now + 10));
  assert_int_equal(parleyd_nonce_check("k", "ahead", now + 10, now + 600), PARLEYD_NONCE_SEEN);
  assert_int_equal(parleyd_nonce_check("k", "brief", now + 10, now + 600), PARLEYD_NONCE_NEW);
  parleyd_nonce_journal_close();
  unlink(path);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_insert_and_replay, setup, teardown),
      cmocka_unit_test_setup_teardown(test_expiry, setup, teardown),
      cmocka_unit_test_setup_teardown(test_bounds, setup, teardown),
      cmocka_unit_test_setup_teardown(test_journal, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
