/* Store suite, opening a store, migrating it, reopening it; URLs it refuses.
 * Part of store_suite.h: included only from there, after its shared fixtures and
 * helpers (and the parts before this one, whose helpers it may use). */

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
