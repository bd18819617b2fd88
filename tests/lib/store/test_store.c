/* Store tests against real SQLite files in a private temporary directory. */
#define _XOPEN_SOURCE 700 /* nftw */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
/* cmocka.h needs the four above first */
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "parley/base.h"

static const char *const suite_engine = "sqlite";
static char tmpdir[] = "/tmp/parley-store-XXXXXX";
static unsigned counter;

static char *suite_fresh_url(void) {
  char *url = malloc(256);
  if (!url) return NULL;
  int n = snprintf(url, 256, "sqlite:%s/store-%u.db", tmpdir, ++counter);
  if (n < 0 || n >= 256) {
    free(url);
    return NULL;
  }
  return url;
}

static void suite_raw_exec(const char *url, const char *sql) {
  sqlite3 *db = NULL;
  assert_int_equal(sqlite3_open_v2(url + strlen("sqlite:"), &db, SQLITE_OPEN_READWRITE, NULL),
                   SQLITE_OK);
  char *msg = NULL;
  int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
  if (rc != SQLITE_OK) print_error("sqlite: %s\n", msg ? msg : "?");
  sqlite3_free(msg);
  sqlite3_close(db);
  assert_int_equal(rc, SQLITE_OK);
}

#include "store_suite.h"

/* ---- SQLite-only checks ------------------------------------------------------------ */

static const char *path_of(const fixture *f) {
  return f->url + strlen("sqlite:");
}

static void test_sqlite_file(void **state) {
  fixture *f = *state;
  struct stat st;
  assert_int_equal(stat(path_of(f), &st), 0);
  assert_int_equal(st.st_mode & 0777, 0600); /* private from the start */
  run_ok(f->s, true, tx_durable_write, NULL);
  char wal[300];
  assert_true(snprintf(wal, sizeof wal, "%s-wal", path_of(f)) < (int)sizeof wal);
  assert_int_equal(stat(wal, &st), 0);
  assert_int_equal(st.st_mode & 0777, 0600);
  parley_store_close(f->s);
  f->s = NULL;
  /* closed cleanly: the WAL is folded back and gone (or empty) */
  assert_true(stat(wal, &st) != 0 || st.st_size == 0);
  sqlite3 *db = NULL;
  assert_int_equal(sqlite3_open_v2(path_of(f), &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
  sqlite3_stmt *s = NULL;
  assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &s, NULL), SQLITE_OK);
  assert_int_equal(sqlite3_step(s), SQLITE_ROW);
  assert_string_equal((const char *)sqlite3_column_text(s, 0), "wal");
  sqlite3_finalize(s);
  assert_int_equal(sqlite3_prepare_v2(db, "SELECT count(*) FROM state_records", -1, &s, NULL),
                   SQLITE_OK);
  assert_int_equal(sqlite3_step(s), SQLITE_ROW);
  assert_int_equal(sqlite3_column_int(s, 0), 1);
  sqlite3_finalize(s);
  sqlite3_close(db);
  f->s = open_ok(f->url);
}

static void test_sqlite_open_errors(void **state) {
  (void)state;
  parley_error err;
  parley_store *s = NULL;
  char url[300];
  snprintf(url, sizeof url, "sqlite:%s/no/such/dir/x.db", tmpdir);
  assert_int_equal(parley_store_open(url, &s, &err), PARLEY_E_STORE_OPEN);
  assert_null(s);
  /* a file that is not a database */
  char path[200];
  snprintf(path, sizeof path, "%s/garbage.db", tmpdir);
  FILE *fp = fopen(path, "wb");
  assert_non_null(fp);
  for (int i = 0; i < 512; i++)
    fputs("this is not an SQLite database ", fp);
  fclose(fp);
  snprintf(url, sizeof url, "sqlite:%s", path);
  assert_int_equal(parley_store_open(url, &s, &err), PARLEY_E_STORE_OPEN);
  assert_null(s);
  /* a directory */
  snprintf(url, sizeof url, "sqlite:%s", tmpdir);
  assert_int_equal(parley_store_open(url, &s, &err), PARLEY_E_STORE_OPEN);
  assert_null(s);
}

/* The migration runs once: a store made by an older run keeps its data and version. */
static void test_sqlite_schema_table(void **state) {
  fixture *f = *state;
  parley_store_close(f->s);
  f->s = NULL;
  sqlite3 *db = NULL;
  assert_int_equal(sqlite3_open_v2(path_of(f), &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
  sqlite3_stmt *s = NULL;
  assert_int_equal(sqlite3_prepare_v2(db,
                                      "SELECT count(*) FROM sqlite_schema WHERE type = 'table' "
                                      "AND name IN ('states', 'state_records', 'keys', "
                                      "'nonces', 'log_leaves', 'log_nodes', 'checkpoints', "
                                      "'schema_version', 'messages', 'message_recipients', "
                                      "'acks', 'message_events')",
                                      -1, &s, NULL),
                   SQLITE_OK);
  assert_int_equal(sqlite3_step(s), SQLITE_ROW);
  assert_int_equal(sqlite3_column_int(s, 0), 12);
  sqlite3_finalize(s);
  assert_int_equal(sqlite3_prepare_v2(db, "SELECT id, version FROM schema_version", -1, &s, NULL),
                   SQLITE_OK);
  assert_int_equal(sqlite3_step(s), SQLITE_ROW);
  assert_int_equal(sqlite3_column_int(s, 1), PARLEY_STORE_SCHEMA_VERSION);
  assert_int_equal(sqlite3_step(s), SQLITE_DONE); /* exactly one row */
  sqlite3_finalize(s);
  sqlite3_close(db);
  f->s = open_ok(f->url);
}

/* The message queries the hub runs most are index ranges, never scans or sorts (the
 * SQL repeats the engine's statements). */
static void assert_plan(sqlite3 *db, const char *query, const char *index) {
  char sql[1024];
  assert_true(snprintf(sql, sizeof sql, "EXPLAIN QUERY PLAN %s", query) < (int)sizeof sql);
  sqlite3_stmt *s = NULL;
  assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK);
  bool uses = false;
  while (sqlite3_step(s) == SQLITE_ROW) {
    const char *detail = (const char *)sqlite3_column_text(s, 3);
    assert_non_null(detail);
    if (strstr(detail, index)) uses = true;
    if (strncmp(detail, "SCAN", 4) == 0 || strstr(detail, "TEMP B-TREE"))
      fail_msg("%s: %s", query, detail);
  }
  sqlite3_finalize(s);
  if (!uses) fail_msg("%s does not use %s", query, index);
}

static void test_sqlite_message_plans(void **state) {
  fixture *f = *state;
  sqlite3 *db = NULL;
  assert_int_equal(sqlite3_open_v2(path_of(f), &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
  assert_plan(db,
              "SELECT m.seq, m.id, m.kind FROM message_recipients r JOIN messages m ON "
              "m.seq = r.message_seq WHERE r.state = ?1 AND r.poc = ?2 AND r.message_seq > ?3 "
              "ORDER BY r.message_seq LIMIT ?4",
              "message_recipients_inbox");
  assert_plan(db,
              "SELECT seq, id, kind FROM messages WHERE from_state = ?1 AND from_poc = ?2 AND "
              "seq > ?3 ORDER BY seq LIMIT ?4",
              "messages_by_sender");
  /* the few rows of a case are sorted, but found by index */
  assert_plan(db, "SELECT seq, id, kind FROM messages WHERE case_id = ?1 OR id = ?1",
              "messages_by_case");
  assert_plan(db,
              "SELECT seq, id, kind FROM messages WHERE status < 2 AND next_escalation > 0 AND "
              "next_escalation <= ?1 ORDER BY next_escalation, seq LIMIT ?2",
              "messages_due");
  assert_plan(db, "SELECT event, detail, at FROM message_events WHERE message_id = ?1 ORDER BY seq",
              "message_events_by_message");
  sqlite3_close(db);
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
  (void)st;
  (void)flag;
  (void)ftw;
  return remove(path);
}

static int group_setup(void **state) {
  (void)state;
  if (!parley_init()) return -1;
  /* expected failures still log their errors; the rest is noise here */
  parley_log_set_level(PARLEY_LOG_ERROR);
  return mkdtemp(tmpdir) ? 0 : -1;
}

static int group_teardown(void **state) {
  (void)state;
  return nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      SUITE_TESTS,
      SUITE_TEST(test_sqlite_file),
      cmocka_unit_test(test_sqlite_open_errors),
      SUITE_TEST(test_sqlite_schema_table),
      SUITE_TEST(test_sqlite_message_plans),
  };
  return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
