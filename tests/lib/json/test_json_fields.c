/* Tests of parley_json_fields: declared request fields, one call, named errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "parley/json.h"

static const char *const prios[] = {"routine", "urgent", "critical", NULL};

static json_t *obj(const char *s) {
  json_t *v = NULL;
  parley_error err = {0};
  if (parley_json_parse_object(s, strlen(s), NULL, &v, &err) != PARLEY_E_OK)
    fail_msg("bad test JSON '%s': %s", s, err.detail);
  return v;
}

/* Runs one field against the object text and checks the code and the field name in
 * the detail. */
static void expect_field(const char *json, parley_json_field f, parley_err want) {
  json_t *o = obj(json);
  parley_error err = {0};
  parley_err got = parley_json_fields(o, &f, 1, &err);
  if (got != want)
    fail_msg("%s on '%s': got %s (%s), want %s", f.name, json, parley_err_name(got), err.detail,
             parley_err_name(want));
  if (want != PARLEY_E_OK) {
    char quoted[80];
    snprintf(quoted, sizeof quoted, "field '%s'", f.name);
    if (!strstr(err.detail, quoted)) fail_msg("detail '%s' does not name %s", err.detail, quoted);
  }
  json_decref(o);
}

static void test_all_kinds(void **state) {
  (void)state;
  json_t *o = obj("{\"state\":\"EST\",\"version\":7,\"urgent\":true,\"record\":{\"a\":1},"
                  "\"list\":[1,2],\"created\":\"2026-01-31T12:00:00Z\","
                  "\"id\":\"01890a5d-ac96-774b-bcce-b302099a8057\","
                  "\"key\":\"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8\","
                  "\"priority\":\"critical\",\"text\":\"line 1\\nline 2\\tend\","
                  "\"unknown\":\"ignored\"}");
  const char *st = NULL, *id = NULL, *text = NULL;
  int64_t version = 0, created = 0;
  bool urgent = false;
  json_t *record = NULL, *list = NULL;
  uint8_t key[32];
  int prio = -1;
  parley_json_field f[] = {
      PARLEY_FIELD_LINE("state", 3, &st),
      PARLEY_FIELD_INT("version", &version),
      PARLEY_FIELD_BOOL("urgent", &urgent),
      PARLEY_FIELD_OBJECT("record", &record),
      PARLEY_FIELD_ARRAY("list", &list),
      PARLEY_FIELD_TIME("created", &created),
      PARLEY_FIELD_UUID("id", &id),
      PARLEY_FIELD_B64URL("key", key, sizeof key),
      PARLEY_FIELD_ENUM("priority", prios, &prio),
      PARLEY_FIELD_STRING("text", 100, &text),
  };
  parley_error err = {0};
  assert_int_equal(parley_json_fields(o, f, PARLEY_JF_COUNT(f), &err), PARLEY_E_OK);
  assert_string_equal(st, "EST");
  assert_int_equal(version, 7);
  assert_true(urgent);
  assert_ptr_equal(record, json_object_get(o, "record"));
  assert_int_equal(json_array_size(list), 2);
  assert_int_equal(created, 1769860800);
  assert_string_equal(id, "01890a5d-ac96-774b-bcce-b302099a8057");
  for (int i = 0; i < 32; i++)
    assert_int_equal(key[i], i);
  assert_int_equal(prio, 2);
  assert_string_equal(text, "line 1\nline 2\tend");
  json_decref(o);

  /* Not an object. */
  json_t *arr = json_array();
  assert_int_equal(parley_json_fields(arr, f, 1, &err), PARLEY_E_JSON_NOT_OBJECT);
  json_decref(arr);
}

static void test_missing_and_optional(void **state) {
  (void)state;
  const char *s = NULL;
  int64_t i = 0;
  expect_field("{}", (parley_json_field)PARLEY_FIELD_STRING("state", 0, &s),
               PARLEY_E_JSON_FIELD_MISSING);
  json_t *o = obj("{}");
  parley_error err = {0};
  parley_json_field f = PARLEY_FIELD_STRING("state", 0, &s);
  assert_int_equal(parley_json_fields(o, &f, 1, &err), PARLEY_E_JSON_FIELD_MISSING);
  assert_string_equal(err.detail, "field 'state' is missing");
  json_decref(o);

  /* Optional and absent: outputs untouched. */
  o = obj("{\"other\":1}");
  s = "untouched";
  i = 42;
  uint8_t k[4] = {9, 9, 9, 9};
  int e = 7;
  parley_json_field opt[] = {PARLEY_FIELD_STRING_OPT("state", 0, &s), PARLEY_FIELD_INT_OPT("n", &i),
                             PARLEY_FIELD_B64URL_OPT("k", k, sizeof k),
                             PARLEY_FIELD_ENUM_OPT("p", prios, &e)};
  assert_int_equal(parley_json_fields(o, opt, PARLEY_JF_COUNT(opt), &err), PARLEY_E_OK);
  assert_string_equal(s, "untouched");
  assert_int_equal(i, 42);
  assert_int_equal(k[0], 9);
  assert_int_equal(e, 7);
  json_decref(o);

  /* Optional but present with a wrong type or null is still an error. */
  expect_field("{\"n\":\"1\"}", (parley_json_field)PARLEY_FIELD_INT_OPT("n", &i),
               PARLEY_E_JSON_FIELD_TYPE);
  expect_field("{\"n\":null}", (parley_json_field)PARLEY_FIELD_INT_OPT("n", &i),
               PARLEY_E_JSON_FIELD_TYPE);
}

static void test_wrong_type(void **state) {
  (void)state;
  const char *s;
  int64_t i;
  bool b;
  json_t *j;
  int e;
  uint8_t k[2];
  expect_field("{\"x\":1}", (parley_json_field)PARLEY_FIELD_STRING("x", 0, &s),
               PARLEY_E_JSON_FIELD_TYPE);
  expect_field("{\"x\":1.5}", (parley_json_field)PARLEY_FIELD_INT("x", &i),
               PARLEY_E_JSON_FIELD_TYPE);
  expect_field("{\"x\":\"5\"}", (parley_json_field)PARLEY_FIELD_INT("x", &i),
               PARLEY_E_JSON_FIELD_TYPE);
  expect_field("{\"x\":0}", (parley_json_field)PARLEY_FIELD_BOOL("x", &b),
               PARLEY_E_JSON_FIELD_TYPE);
  expect_field("{\"x\":[]}", (parley_json_field)PARLEY_FIELD_OBJECT("x", &j),
               PARLEY_E_JSON_FIELD_TYPE);
  expect_field("{\"x\":{}}", (parley_json_field)PARLEY_FIELD_ARRAY("x", &j),
               PARLEY_E_JSON_FIELD_TYPE);
  expect_field("{\"x\":1}", (parley_json_field)PARLEY_FIELD_TIME("x", &i),
               PARLEY_E_JSON_FIELD_TYPE);
  expect_field("{\"x\":true}", (parley_json_field)PARLEY_FIELD_UUID("x", &s),
               PARLEY_E_JSON_FIELD_TYPE);
  expect_field("{\"x\":[]}", (parley_json_field)PARLEY_FIELD_B64URL("x", k, sizeof k),
               PARLEY_E_JSON_FIELD_TYPE);
  expect_field("{\"x\":2}", (parley_json_field)PARLEY_FIELD_ENUM("x", prios, &e),
               PARLEY_E_JSON_FIELD_TYPE);
  expect_field("{\"x\":null}", (parley_json_field)PARLEY_FIELD_STRING("x", 0, &s),
               PARLEY_E_JSON_FIELD_TYPE);
}

static void test_string_rules(void **state) {
  (void)state;
  const char *s = NULL;
  expect_field("{\"x\":\"abcd\"}", (parley_json_field)PARLEY_FIELD_STRING("x", 4, &s), PARLEY_E_OK);
  expect_field("{\"x\":\"abcde\"}", (parley_json_field)PARLEY_FIELD_STRING("x", 4, &s),
               PARLEY_E_JSON_FIELD_INVALID);
  /* Bytes, not characters: two e-acutes are 4 bytes. */
  expect_field("{\"x\":\"\\u00e9\\u00e9\"}", (parley_json_field)PARLEY_FIELD_STRING("x", 3, &s),
               PARLEY_E_JSON_FIELD_INVALID);
  expect_field("{\"x\":\"a\\u0001\"}", (parley_json_field)PARLEY_FIELD_STRING("x", 0, &s),
               PARLEY_E_JSON_FIELD_INVALID);
  expect_field("{\"x\":\"a\\r\"}", (parley_json_field)PARLEY_FIELD_STRING("x", 0, &s),
               PARLEY_E_JSON_FIELD_INVALID);
  expect_field("{\"x\":\"a\\u007f\"}", (parley_json_field)PARLEY_FIELD_STRING("x", 0, &s),
               PARLEY_E_JSON_FIELD_INVALID);
  expect_field("{\"x\":\"a\\u0085\"}", (parley_json_field)PARLEY_FIELD_STRING("x", 0, &s),
               PARLEY_E_JSON_FIELD_INVALID); /* C1 NEL */
  expect_field("{\"x\":\"a\\u00a0\\u20ac\"}", (parley_json_field)PARLEY_FIELD_STRING("x", 0, &s),
               PARLEY_E_OK);
  expect_field("{\"x\":\"a\\nb\\tc\"}", (parley_json_field)PARLEY_FIELD_STRING("x", 0, &s),
               PARLEY_E_OK);
  expect_field("{\"x\":\"a\\nb\"}", (parley_json_field)PARLEY_FIELD_LINE("x", 0, &s),
               PARLEY_E_JSON_FIELD_INVALID);
  expect_field("{\"x\":\"a\\tb\"}", (parley_json_field)PARLEY_FIELD_LINE("x", 0, &s),
               PARLEY_E_JSON_FIELD_INVALID);

  /* Strings built in memory: embedded NUL and invalid UTF-8 are refused. */
  json_t *o = json_object();
  json_object_set_new(o, "nul", json_stringn("a\0b", 3));
  json_object_set_new(o, "bad", json_stringn_nocheck("\xc3", 1));
  parley_error err = {0};
  parley_json_field f1 = PARLEY_FIELD_STRING("nul", 0, &s);
  assert_int_equal(parley_json_fields(o, &f1, 1, &err), PARLEY_E_JSON_FIELD_INVALID);
  parley_json_field f2 = PARLEY_FIELD_STRING("bad", 0, &s);
  assert_int_equal(parley_json_fields(o, &f2, 1, &err), PARLEY_E_JSON_FIELD_INVALID);
  json_decref(o);
}

static void test_time_and_uuid(void **state) {
  (void)state;
  int64_t t = 0;
  const char *s;
  expect_field("{\"t\":\"2026-01-31T12:00:00Z\"}", (parley_json_field)PARLEY_FIELD_TIME("t", &t),
               PARLEY_E_OK);
  assert_int_equal(t, 1769860800);
  expect_field("{\"t\":\"2026-01-31 12:00:00Z\"}", (parley_json_field)PARLEY_FIELD_TIME("t", &t),
               PARLEY_E_JSON_FIELD_INVALID);
  expect_field("{\"t\":\"2026-01-31T12:00:00+01:00\"}",
               (parley_json_field)PARLEY_FIELD_TIME("t", &t), PARLEY_E_JSON_FIELD_INVALID);
  expect_field("{\"t\":\"2026-02-30T12:00:00Z\"}", (parley_json_field)PARLEY_FIELD_TIME("t", &t),
               PARLEY_E_JSON_FIELD_INVALID);
  expect_field("{\"t\":\"yesterday\"}", (parley_json_field)PARLEY_FIELD_TIME("t", &t),
               PARLEY_E_JSON_FIELD_INVALID);
  expect_field("{\"id\":\"01890A5D-AC96-774B-BCCE-B302099A8057\"}",
               (parley_json_field)PARLEY_FIELD_UUID("id", &s), PARLEY_E_JSON_FIELD_INVALID);
  expect_field("{\"id\":\"01890a5d-ac96-774b-bcce-b302099a805\"}",
               (parley_json_field)PARLEY_FIELD_UUID("id", &s), PARLEY_E_JSON_FIELD_INVALID);
}

static void test_b64url(void **state) {
  (void)state;
  uint8_t k[3];
  expect_field("{\"k\":\"AQID\"}", (parley_json_field)PARLEY_FIELD_B64URL("k", k, 3), PARLEY_E_OK);
  assert_int_equal(k[0], 1);
  assert_int_equal(k[2], 3);
  /* Exact length: 2 or 4 bytes are refused for a 3-byte field. */
  expect_field("{\"k\":\"AQI\"}", (parley_json_field)PARLEY_FIELD_B64URL("k", k, 3),
               PARLEY_E_JSON_FIELD_INVALID);
  expect_field("{\"k\":\"AQIDBA\"}", (parley_json_field)PARLEY_FIELD_B64URL("k", k, 3),
               PARLEY_E_JSON_FIELD_INVALID);
  /* Padding, standard alphabet and junk are refused. */
  uint8_t k2[2];
  expect_field("{\"k\":\"AQI=\"}", (parley_json_field)PARLEY_FIELD_B64URL("k", k2, 2),
               PARLEY_E_JSON_FIELD_INVALID);
  expect_field("{\"k\":\"+/8\"}", (parley_json_field)PARLEY_FIELD_B64URL("k", k2, 2),
               PARLEY_E_JSON_FIELD_INVALID);
  expect_field("{\"k\":\"-_8\"}", (parley_json_field)PARLEY_FIELD_B64URL("k", k2, 2), PARLEY_E_OK);
  expect_field("{\"k\":\"A!I\"}", (parley_json_field)PARLEY_FIELD_B64URL("k", k2, 2),
               PARLEY_E_JSON_FIELD_INVALID);
  /* A failed decode leaves zeroes, not partial data. */
  assert_int_equal(k2[0], 0);
  assert_int_equal(k2[1], 0);
}

static void test_enum(void **state) {
  (void)state;
  int e = -1;
  expect_field("{\"p\":\"routine\"}", (parley_json_field)PARLEY_FIELD_ENUM("p", prios, &e),
               PARLEY_E_OK);
  assert_int_equal(e, 0);
  expect_field("{\"p\":\"urgent\"}", (parley_json_field)PARLEY_FIELD_ENUM("p", prios, &e),
               PARLEY_E_OK);
  assert_int_equal(e, 1);
  expect_field("{\"p\":\"Urgent\"}", (parley_json_field)PARLEY_FIELD_ENUM("p", prios, &e),
               PARLEY_E_JSON_FIELD_INVALID);
  expect_field("{\"p\":\"\"}", (parley_json_field)PARLEY_FIELD_ENUM("p", prios, &e),
               PARLEY_E_JSON_FIELD_INVALID);
  json_t *o = obj("{\"p\":\"never\"}");
  parley_error err = {0};
  parley_json_field f = PARLEY_FIELD_ENUM("p", prios, &e);
  assert_int_equal(parley_json_fields(o, &f, 1, &err), PARLEY_E_JSON_FIELD_INVALID);
  assert_non_null(strstr(err.detail, "routine, urgent, critical"));
  json_decref(o);
}

static void test_first_error_wins(void **state) {
  (void)state;
  json_t *o = obj("{\"a\":1,\"b\":\"x\"}");
  int64_t a = 0, b = 0;
  const char *c = NULL;
  parley_json_field f[] = {PARLEY_FIELD_INT("a", &a), PARLEY_FIELD_INT("b", &b),
                           PARLEY_FIELD_STRING("c", 0, &c)};
  parley_error err = {0};
  assert_int_equal(parley_json_fields(o, f, PARLEY_JF_COUNT(f), &err), PARLEY_E_JSON_FIELD_TYPE);
  assert_string_equal(err.detail, "field 'b' must be an integer");

  /* A malformed table is a programming error, reported as such. */
  parley_json_field bad = PARLEY_FIELD_B64URL("k", (uint8_t *)&a, 0);
  assert_int_equal(parley_json_fields(o, &bad, 1, &err), PARLEY_E_INVALID_ARGUMENT);
  json_decref(o);
}

int main(void) {
  if (!parley_init()) return 1;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_all_kinds),     cmocka_unit_test(test_missing_and_optional),
      cmocka_unit_test(test_wrong_type),    cmocka_unit_test(test_string_rules),
      cmocka_unit_test(test_time_and_uuid), cmocka_unit_test(test_b64url),
      cmocka_unit_test(test_enum),          cmocka_unit_test(test_first_error_wins),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
