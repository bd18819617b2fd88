/* Tests of bounded parsing, the signable check and RFC 8785 (JCS), including every
 * vector in $PARLEY_TESTDATA/jcs/testdata. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parley/json.h"

/* ---- helpers ----------------------------------------------------------- */

static parley_err parse_s(const char *s, json_t **out, parley_error *err) {
  return parley_json_parse(s, strlen(s), NULL, out, err);
}

static void expect_parse(const char *s, parley_err want) {
  json_t *v = (json_t *)1;
  parley_error err = {0};
  parley_err got = parse_s(s, &v, &err);
  if (got != want)
    fail_msg("parse of '%.60s': got %s (%s), want %s", s, parley_err_name(got), err.detail,
             parley_err_name(want));
  if (want == PARLEY_E_OK) {
    assert_non_null(v);
    json_decref(v);
  } else {
    assert_null(v);
    assert_int_equal(err.code, want);
    assert_true(err.detail[0] != 0);
  }
}

/* JCS of the JSON text s, compared with want (NULL: expect error code want_err). */
static void expect_jcs(const char *s, const char *want, parley_err want_err) {
  json_t *v = NULL;
  parley_error err = {0};
  if (parse_s(s, &v, &err) != PARLEY_E_OK) fail_msg("parse of '%s' failed: %s", s, err.detail);
  parley_buf b;
  parley_buf_init(&b, 1 << 20);
  parley_err e = parley_jcs(v, &b, &err);
  if (want) {
    if (e != PARLEY_E_OK) fail_msg("jcs of '%s' failed: %s", s, err.detail);
    assert_int_equal(b.len, strlen(want));
    assert_memory_equal(b.data, want, b.len);
  } else {
    assert_int_equal(e, want_err);
    assert_int_equal(b.len, 0);
  }
  parley_buf_free(&b);
  json_decref(v);
}

static char *repeat(const char *unit, size_t n, const char *prefix, const char *suffix) {
  size_t ul = strlen(unit), pl = strlen(prefix), sl = strlen(suffix);
  char *s = malloc(pl + ul * n + sl + 1);
  assert_non_null(s);
  memcpy(s, prefix, pl);
  for (size_t i = 0; i < n; i++)
    memcpy(s + pl + i * ul, unit, ul);
  memcpy(s + pl + ul * n, suffix, sl + 1);
  return s;
}

/* "[[[...]]]" of the given depth. */
static char *nested_arrays(size_t depth) {
  char *s = malloc(2 * depth + 1);
  assert_non_null(s);
  memset(s, '[', depth);
  memset(s + depth, ']', depth);
  s[2 * depth] = 0;
  return s;
}

static bool read_file(const char *path, parley_buf *b) {
  FILE *f = fopen(path, "rb");
  if (!f) return false;
  char tmp[4096];
  size_t n;
  bool ok = true;
  while ((n = fread(tmp, 1, sizeof tmp, f)) > 0)
    if (parley_buf_append(b, tmp, n) != PARLEY_E_OK) ok = false;
  if (ferror(f)) ok = false;
  fclose(f);
  if (ok && !b->data) ok = parley_buf_append(b, "", 0) == PARLEY_E_OK;
  return ok;
}

/* ---- parsing and limits ------------------------------------------------ */

static void test_parse_basic(void **state) {
  (void)state;
  expect_parse("{\"a\":[1,true,null,\"x\"]}", PARLEY_E_OK);
  expect_parse("42", PARLEY_E_OK); /* any top-level value */
  expect_parse("\"s\"", PARLEY_E_OK);
  expect_parse("", PARLEY_E_JSON_MALFORMED);
  expect_parse("{\"a\":1,}", PARLEY_E_JSON_MALFORMED);
  expect_parse("{\"a\":1} x", PARLEY_E_JSON_MALFORMED);
  expect_parse("[1,2", PARLEY_E_JSON_MALFORMED);
  expect_parse("\"a\\u0000b\"", PARLEY_E_JSON_MALFORMED); /* NUL refused */

  parley_error err = {0};
  json_t *v = NULL;
  assert_int_equal(parse_s("{\n  \"a\": tru\n}", &v, &err), PARLEY_E_JSON_MALFORMED);
  assert_non_null(strstr(err.detail, "line 2"));
  assert_non_null(strstr(err.detail, "column"));

  /* Raw NUL byte inside the buffer (length-delimited input). */
  static const char nul[] = "[\"a\0\"]";
  assert_int_equal(parley_json_parse(nul, sizeof nul - 1, NULL, &v, &err), PARLEY_E_JSON_MALFORMED);

  assert_int_equal(parley_json_parse(NULL, 3, NULL, &v, &err), PARLEY_E_INVALID_ARGUMENT);
}

static void test_parse_object(void **state) {
  (void)state;
  json_t *v = NULL;
  parley_error err = {0};
  assert_int_equal(parley_json_parse_object("[1]", 3, NULL, &v, &err), PARLEY_E_JSON_NOT_OBJECT);
  assert_null(v);
  assert_int_equal(parley_json_parse_object("{}", 2, NULL, &v, &err), PARLEY_E_OK);
  assert_true(json_is_object(v));
  json_decref(v);
}

static void test_duplicate_key(void **state) {
  (void)state;
  expect_parse("{\"a\":1,\"a\":2}", PARLEY_E_JSON_DUPLICATE_KEY);
  expect_parse("{\"x\":{\"b\":1,\"c\":2,\"b\":1}}", PARLEY_E_JSON_DUPLICATE_KEY);
  /* Equal after unescaping is still a duplicate. */
  expect_parse("{\"a\":1,\"\\u0061\":2}", PARLEY_E_JSON_DUPLICATE_KEY);
  expect_parse("{\"a\":1,\"A\":2}", PARLEY_E_OK);
}

static void test_depth(void **state) {
  (void)state;
  char *s = nested_arrays(32);
  expect_parse(s, PARLEY_E_OK);
  free(s);
  s = nested_arrays(33);
  expect_parse(s, PARLEY_E_JSON_DEPTH);
  free(s);

  /* Objects count the same way. */
  char *t;
  s = repeat("{\"a\":", 32, "", "1");
  t = repeat("}", 32, s, "");
  expect_parse(t, PARLEY_E_OK);
  free(s);
  free(t);
  s = repeat("{\"a\":", 33, "", "1");
  t = repeat("}", 33, s, "");
  expect_parse(t, PARLEY_E_JSON_DEPTH);
  free(s);
  free(t);

  /* Brackets inside strings (and escaped quotes) do not count. */
  s = repeat("[{", 100, "[\"\\\"", "\"]");
  expect_parse(s, PARLEY_E_OK);
  free(s);

  /* Very deep input is refused by the pre-scan, not by recursion (jansson alone
   * would stop at 2048 levels with a different error). */
  s = nested_arrays(200000);
  parley_json_limits lim = PARLEY_JSON_LIMITS_DEFAULT;
  json_t *v = NULL;
  parley_error err = {0};
  assert_int_equal(parley_json_parse(s, strlen(s), &lim, &v, &err), PARLEY_E_JSON_DEPTH);
  assert_null(v);
  /* Unbalanced (malformed) input is refused as well. */
  assert_int_equal(parley_json_parse(s, 200000, &lim, &v, &err), PARLEY_E_JSON_DEPTH);
  free(s);

  /* A larger configured depth is honoured. */
  lim = PARLEY_JSON_LIMITS_DEFAULT;
  lim.max_depth = 100;
  s = nested_arrays(100);
  assert_int_equal(parley_json_parse(s, strlen(s), &lim, &v, &err), PARLEY_E_OK);
  json_decref(v);
  free(s);
}

static void test_string_limits(void **state) {
  (void)state;
  parley_json_limits lim = PARLEY_JSON_LIMITS_DEFAULT;
  json_t *v = NULL;
  parley_error err = {0};

  char *s = repeat("a", 64 * 1024, "[\"", "\"]");
  assert_int_equal(parley_json_parse(s, strlen(s), &lim, &v, &err), PARLEY_E_OK);
  json_decref(v);
  free(s);
  s = repeat("a", 64 * 1024 + 1, "[\"", "\"]");
  assert_int_equal(parley_json_parse(s, strlen(s), &lim, &v, &err), PARLEY_E_JSON_STRING_TOO_LONG);
  assert_non_null(strstr(err.detail, "/0"));
  free(s);

  /* The limit counts UTF-8 bytes after unescaping: 4 x "\u00e9" is 8 bytes. */
  lim.max_string = 7;
  s = "{\"k\":\"\\u00e9\\u00e9\\u00e9\\u00e9\"}";
  assert_int_equal(parley_json_parse(s, strlen(s), &lim, &v, &err), PARLEY_E_JSON_STRING_TOO_LONG);
  assert_non_null(strstr(err.detail, "/k"));
  lim.max_string = 8;
  assert_int_equal(parley_json_parse(s, strlen(s), &lim, &v, &err), PARLEY_E_OK);
  json_decref(v);

  /* Keys are limited too. */
  lim.max_string = 3;
  s = "{\"abcd\":1}";
  assert_int_equal(parley_json_parse(s, strlen(s), &lim, &v, &err), PARLEY_E_JSON_STRING_TOO_LONG);
  s = "{\"abc\":1}";
  assert_int_equal(parley_json_parse(s, strlen(s), &lim, &v, &err), PARLEY_E_OK);
  json_decref(v);
}

static void test_size_and_items(void **state) {
  (void)state;
  parley_json_limits lim = PARLEY_JSON_LIMITS_DEFAULT;
  json_t *v = NULL;
  parley_error err = {0};
  lim.max_bytes = 5;
  assert_int_equal(parley_json_parse("[1,2]", 5, &lim, &v, &err), PARLEY_E_OK);
  json_decref(v);
  assert_int_equal(parley_json_parse("[1,2] ", 6, &lim, &v, &err), PARLEY_E_TOO_LARGE);

  lim = PARLEY_JSON_LIMITS_DEFAULT;
  lim.max_items = 4; /* root + 3 values */
  const char *s = "{\"a\":[1,2]}";
  assert_int_equal(parley_json_parse(s, strlen(s), &lim, &v, &err), PARLEY_E_OK);
  json_decref(v);
  s = "{\"a\":[1,2,3]}";
  assert_int_equal(parley_json_parse(s, strlen(s), &lim, &v, &err), PARLEY_E_TOO_LARGE);
  assert_null(v);

  /* Default: 100000 values in total. */
  char *big = repeat("0,", 99998, "[", "0]"); /* root + 99999 */
  assert_int_equal(parley_json_parse(big, strlen(big), NULL, &v, &err), PARLEY_E_OK);
  json_decref(v);
  free(big);
  big = repeat("0,", 100000, "[", "0]");
  assert_int_equal(parley_json_parse(big, strlen(big), NULL, &v, &err), PARLEY_E_TOO_LARGE);
  free(big);
}

static void test_huge_integer(void **state) {
  (void)state;
  expect_parse("[99999999999999999999]", PARLEY_E_JSON_INTEGER_RANGE);
  expect_parse("[-99999999999999999999]", PARLEY_E_JSON_INTEGER_RANGE);
  expect_parse("[1e999]", PARLEY_E_JSON_MALFORMED); /* real overflow is not an integer */
  expect_parse("[9223372036854775807]", PARLEY_E_OK);

  /* Within int64 but beyond 2^53-1: parses, not signable, not canonicalizable. */
  json_t *v = NULL;
  parley_error err = {0};
  assert_int_equal(parse_s("{\"n\":[9007199254740992]}", &v, &err), PARLEY_E_OK);
  assert_int_equal(parley_json_check_signable(v, &err), PARLEY_E_JSON_INTEGER_RANGE);
  assert_non_null(strstr(err.detail, "/n/0"));
  json_decref(v);

  expect_jcs("[9007199254740991,-9007199254740991]", "[9007199254740991,-9007199254740991]",
             PARLEY_E_OK);
  expect_jcs("[9007199254740992]", NULL, PARLEY_E_JSON_INTEGER_RANGE);
  expect_jcs("[-9007199254740992]", NULL, PARLEY_E_JSON_INTEGER_RANGE);
  expect_jcs("[-0,0,-1,120]", "[0,0,-1,120]", PARLEY_E_OK);
}

static void test_invalid_utf8(void **state) {
  (void)state;
  expect_parse("[\"\xff\"]", PARLEY_E_JSON_MALFORMED);
  expect_parse("[\"\xc0\xaf\"]", PARLEY_E_JSON_MALFORMED);     /* overlong '/' */
  expect_parse("[\"\xed\xa0\x80\"]", PARLEY_E_JSON_MALFORMED); /* encoded surrogate */
  expect_parse("[\"\xe2\x82\"]", PARLEY_E_JSON_MALFORMED);     /* truncated */
  expect_parse("{\"\xf5\x80\x80\x80\":1}", PARLEY_E_JSON_MALFORMED);
  expect_parse("[\"\\ud800\"]", PARLEY_E_JSON_MALFORMED); /* lone surrogate escape */
  expect_parse("[\"\xe2\x82\xac\"]", PARLEY_E_OK);

  /* Error details stay valid UTF-8 even when the input is not. */
  json_t *v = NULL;
  parley_error err = {0};
  const char *s = "[\"a\" \xff\xfe]";
  assert_int_equal(parse_s(s, &v, &err), PARLEY_E_JSON_MALFORMED);
  assert_true(parley_utf8_valid(err.detail, strlen(err.detail)));

  /* A string built in memory without the check is refused by JCS. */
  json_t *bad = json_stringn_nocheck("\xff", 1);
  parley_buf b;
  parley_buf_init(&b, 1024);
  assert_int_equal(parley_jcs(bad, &b, &err), PARLEY_E_JSON_MALFORMED);
  parley_buf_free(&b);
  json_decref(bad);
}

/* ---- signable ----------------------------------------------------------- */

static void test_signable(void **state) {
  (void)state;
  json_t *v = NULL;
  parley_error err = {0};
  assert_int_equal(parse_s("{\"a\":[1,{\"b/c~\":1.5}]}", &v, &err), PARLEY_E_OK);
  assert_int_equal(parley_json_check_signable(v, &err), PARLEY_E_JSON_REAL_NOT_ALLOWED);
  assert_non_null(strstr(err.detail, "/a/1/b~1c~0"));
  json_decref(v);

  assert_int_equal(parse_s("1.0", &v, &err), PARLEY_E_OK);
  assert_int_equal(parley_json_check_signable(v, &err), PARLEY_E_JSON_REAL_NOT_ALLOWED);
  json_decref(v);

  assert_int_equal(parse_s("{\"a\":[1,-9007199254740991,\"x\",null,true,{}]}", &v, &err),
                   PARLEY_E_OK);
  assert_int_equal(parley_json_check_signable(v, &err), PARLEY_E_OK);
  json_decref(v);
}

/* ---- JCS ----------------------------------------------------------------- */

static void test_jcs_basic(void **state) {
  (void)state;
  expect_jcs(" { \"b\" : [ 1 , 2 ] , \"a\" : { } , \"c\" : [ ] } ",
             "{\"a\":{},\"b\":[1,2],\"c\":[]}", PARLEY_E_OK);
  expect_jcs("[true,false,null]", "[true,false,null]", PARLEY_E_OK);
  expect_jcs("\"top\"", "\"top\"", PARLEY_E_OK);
  expect_jcs("{\"a\":1.5}", NULL, PARLEY_E_JSON_REAL_NOT_ALLOWED);
  expect_jcs("[1E2]", NULL, PARLEY_E_JSON_REAL_NOT_ALLOWED);
  /* Plain code-unit order: "" < "B" (0x42) < "a" (0x61) < "b". */
  expect_jcs("{\"b\":1,\"a\":2,\"B\":3,\"\":4}", "{\"\":4,\"B\":3,\"a\":2,\"b\":1}", PARLEY_E_OK);
  /* A key that is a prefix of another sorts first. */
  expect_jcs("{\"ab\":1,\"a\":2}", "{\"a\":2,\"ab\":1}", PARLEY_E_OK);

  /* Failure leaves the buffer as it was; success appends. */
  parley_buf b;
  parley_buf_init(&b, 1024);
  assert_int_equal(parley_buf_puts(&b, "X"), PARLEY_E_OK);
  json_t *v = json_pack("{s:[i,f]}", "k", 1, 2.5);
  assert_int_equal(parley_jcs(v, &b, NULL), PARLEY_E_JSON_REAL_NOT_ALLOWED);
  assert_int_equal(b.len, 1);
  assert_string_equal((char *)b.data, "X");
  json_decref(v);
  v = json_pack("{s:i}", "k", 1);
  assert_int_equal(parley_jcs(v, &b, NULL), PARLEY_E_OK);
  assert_string_equal((char *)b.data, "X{\"k\":1}");
  json_decref(v);

  /* Output limit. */
  parley_buf small;
  parley_buf_init(&small, 4);
  v = json_pack("[s]", "abcdef");
  parley_error err = {0};
  assert_int_equal(parley_jcs(v, &small, &err), PARLEY_E_TOO_LARGE);
  assert_int_equal(small.len, 0);
  parley_buf_free(&small);
  json_decref(v);
  parley_buf_free(&b);
}

static void test_jcs_utf16_order(void **state) {
  (void)state;
  /* U+1F602 is D83D DE02 in UTF-16: it sorts after U+D7FF but before U+E000 and U+FFFD,
   * although its code point is larger than theirs. */
  expect_jcs("{\"\\ufffd\":4,\"\\ue000\":3,\"\\ud83d\\ude02\":2,\"\\ud7ff\":1,\"z\":0}",
             "{\"z\":0,\"\xed\x9f\xbf\":1,\"\xf0\x9f\x98\x82\":2,\"\xee\x80\x80\":3,"
             "\"\xef\xbf\xbd\":4}",
             PARLEY_E_OK);
  /* Two supplementary characters: U+10000 (D800 DC00) < U+1F602 (D83D DE02) <
   * U+10FFFF (DBFF DFFF); and U+FB33 (from the RFC's vector) after all of them. */
  expect_jcs("{\"\\udbff\\udfff\":3,\"\\ufb33\":4,\"\\ud83d\\ude02\":2,\"\\ud800\\udc00\":1}",
             "{\"\xf0\x90\x80\x80\":1,\"\xf0\x9f\x98\x82\":2,\"\xf4\x8f\xbf\xbf\":3,"
             "\"\xef\xac\xb3\":4}",
             PARLEY_E_OK);
  /* Compared code unit by code unit, not by length: "\u00e9" (one unit E9) sorts after
   * "z\u00e9". */
  expect_jcs("{\"\\u00e9\":1,\"ze\":2}", "{\"ze\":2,\"\xc3\xa9\":1}", PARLEY_E_OK);
}

static void test_jcs_escaping(void **state) {
  (void)state;
  expect_jcs("[\"\\u0001\\u001f\\u007f \\b\\f\\n\\r\\t \\\" \\\\ \\/ \\u2028\\u2029 "
             "\\u00e9\"]",
             "[\"\\u0001\\u001f\x7f \\b\\f\\n\\r\\t \\\" \\\\ / \xe2\x80\xa8\xe2\x80\xa9 "
             "\xc3\xa9\"]",
             PARLEY_E_OK);
  /* Lower-case hex, and the escapes apply to keys too. */
  expect_jcs("{\"\\u001B\\u000B\":\"\\u001A\"}", "{\"\\u001b\\u000b\":\"\\u001a\"}", PARLEY_E_OK);
  /* A string with an embedded NUL built in memory (parsing refuses \u0000). */
  json_t *v = json_stringn("a\0b", 3);
  parley_buf b;
  parley_buf_init(&b, 1024);
  assert_int_equal(parley_jcs(v, &b, NULL), PARLEY_E_OK);
  assert_string_equal((char *)b.data, "\"a\\u0000b\"");
  parley_buf_free(&b);
  json_decref(v);
}

static void test_dumps_compact(void **state) {
  (void)state;
  parley_buf b;
  parley_buf_init(&b, 1024);
  json_t *v = json_pack("{s:i,s:s}", "b", 1, "a", "x");
  assert_int_equal(parley_json_dumps_compact(v, &b), PARLEY_E_OK);
  assert_string_equal((char *)b.data, "{\"a\":\"x\",\"b\":1}");
  json_decref(v);
  parley_buf_reset(&b);
  v = json_pack("{s:f,s:I}", "r", 0.5, "big", (json_int_t)9007199254740993LL);
  assert_int_equal(parley_json_dumps_compact(v, &b), PARLEY_E_OK);
  assert_string_equal((char *)b.data, "{\"big\":9007199254740993,\"r\":0.5}");
  json_decref(v);
  parley_buf_free(&b);
}

/* ---- the RFC 8785 vectors ----------------------------------------------- */

typedef struct {
  bool real;
  bool big;
} number_scan;

static void scan_numbers(const json_t *v, number_scan *s) {
  if (json_is_real(v)) {
    s->real = true;
  } else if (json_is_integer(v)) {
    json_int_t i = json_integer_value(v);
    if (i > PARLEY_JSON_MAX_SAFE_INT || i < -PARLEY_JSON_MAX_SAFE_INT) s->big = true;
  } else if (json_is_array(v)) {
    for (size_t i = 0; i < json_array_size(v); i++)
      scan_numbers(json_array_get(v, i), s);
  } else if (json_is_object(v)) {
    const char *k;
    json_t *m;
    json_object_foreach((json_t *)v, k, m) scan_numbers(m, s);
  }
}

/* outhex files hold the expected bytes as whitespace-separated hex pairs. */
static void decode_outhex(const parley_buf *hex, parley_buf *out) {
  parley_buf compact;
  parley_buf_init(&compact, 1 << 20);
  for (size_t i = 0; i < hex->len; i++) {
    char c = (char)hex->data[i];
    if (c == ' ' || c == '\n' || c == '\r' || c == '\t') continue;
    assert_int_equal(parley_buf_append(&compact, &c, 1), PARLEY_E_OK);
  }
  assert_true(compact.len > 0);
  uint8_t *bytes = malloc(compact.len / 2 + 1);
  assert_non_null(bytes);
  size_t n = 0;
  assert_int_equal(
      parley_hex_decode((const char *)compact.data, compact.len, bytes, compact.len / 2 + 1, &n),
      PARLEY_E_OK);
  assert_int_equal(parley_buf_append(out, bytes, n), PARLEY_E_OK);
  free(bytes);
  parley_buf_free(&compact);
}

static void test_jcs_vectors(void **state) {
  (void)state;
  const char *td = getenv("PARLEY_TESTDATA");
  if (!td || !*td) fail_msg("PARLEY_TESTDATA is not set");
  char dir[1024], path[2048];
  assert_true((size_t)snprintf(dir, sizeof dir, "%s/jcs/testdata", td) < sizeof dir);
  assert_true((size_t)snprintf(path, sizeof path, "%s/input", dir) < sizeof path);
  DIR *d = opendir(path);
  if (!d) fail_msg("cannot open %s", path);
  int serialized = 0, refused = 0;
  struct dirent *e;
  while ((e = readdir(d))) {
    size_t nl = strlen(e->d_name);
    if (nl < 6 || strcmp(e->d_name + nl - 5, ".json") != 0) continue;
    char base[256];
    assert_true(nl - 5 < sizeof base);
    memcpy(base, e->d_name, nl - 5);
    base[nl - 5] = 0;

    parley_buf in;
    parley_buf_init(&in, 1 << 20);
    assert_true((size_t)snprintf(path, sizeof path, "%s/input/%s", dir, e->d_name) < sizeof path);
    if (!read_file(path, &in)) fail_msg("cannot read %s", path);

    json_t *v = NULL;
    parley_error err = {0};
    parley_err pe = parley_json_parse((const char *)in.data, in.len, NULL, &v, &err);
    if (pe == PARLEY_E_JSON_INTEGER_RANGE) { /* beyond int64: refused at parse time */
      refused++;
      parley_buf_free(&in);
      continue;
    }
    if (pe != PARLEY_E_OK) fail_msg("%s: parse failed: %s", e->d_name, err.detail);

    number_scan ns = {false, false};
    scan_numbers(v, &ns);
    parley_buf out;
    parley_buf_init(&out, 1 << 20);
    parley_err je = parley_jcs(v, &out, &err);
    if (ns.real || ns.big) {
      /* Numbers JCS would print in ECMAScript form: refused, never mis-serialized. */
      bool ok = (ns.real && je == PARLEY_E_JSON_REAL_NOT_ALLOWED) ||
                (ns.big && je == PARLEY_E_JSON_INTEGER_RANGE);
      if (!ok) fail_msg("%s: expected a refusal, got %s", e->d_name, parley_err_name(je));
      assert_int_equal(out.len, 0);
      refused++;
    } else {
      if (je != PARLEY_E_OK) fail_msg("%s: jcs failed: %s", e->d_name, err.detail);
      parley_buf want, hex, want_hex;
      parley_buf_init(&want, 1 << 20);
      parley_buf_init(&hex, 1 << 20);
      parley_buf_init(&want_hex, 1 << 20);
      assert_true((size_t)snprintf(path, sizeof path, "%s/output/%s", dir, e->d_name) <
                  sizeof path);
      if (!read_file(path, &want)) fail_msg("cannot read %s", path);
      assert_true((size_t)snprintf(path, sizeof path, "%s/outhex/%s.txt", dir, base) < sizeof path);
      if (!read_file(path, &hex)) fail_msg("cannot read %s", path);
      decode_outhex(&hex, &want_hex);
      if (out.len != want.len || memcmp(out.data, want.data, out.len) != 0)
        fail_msg("%s: got %s\nwant %s", e->d_name, (char *)out.data, (char *)want.data);
      assert_int_equal(out.len, want_hex.len);
      assert_memory_equal(out.data, want_hex.data, out.len);
      assert_int_equal(parley_json_check_signable(v, &err), PARLEY_E_OK);
      serialized++;
      parley_buf_free(&want);
      parley_buf_free(&hex);
      parley_buf_free(&want_hex);
    }
    parley_buf_free(&out);
    parley_buf_free(&in);
    json_decref(v);
  }
  closedir(d);
  print_message("jcs vectors: %d serialized, %d refused\n", serialized, refused);
  assert_true(serialized >= 1);
  assert_true(refused >= 1);
}

int main(void) {
  if (!parley_init()) return 1;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_parse_basic),     cmocka_unit_test(test_parse_object),
      cmocka_unit_test(test_duplicate_key),   cmocka_unit_test(test_depth),
      cmocka_unit_test(test_string_limits),   cmocka_unit_test(test_size_and_items),
      cmocka_unit_test(test_huge_integer),    cmocka_unit_test(test_invalid_utf8),
      cmocka_unit_test(test_signable),        cmocka_unit_test(test_jcs_basic),
      cmocka_unit_test(test_jcs_utf16_order), cmocka_unit_test(test_jcs_escaping),
      cmocka_unit_test(test_dumps_compact),   cmocka_unit_test(test_jcs_vectors),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
