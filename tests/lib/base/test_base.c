#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "parley/base.h"

static void test_errors(void **state) {
  (void)state;
  assert_string_equal(parley_err_name(PARLEY_E_JSON_MALFORMED), "JSON_MALFORMED");
  assert_int_equal(parley_err_status(PARLEY_E_BODY_TOO_LARGE), 413);
  assert_int_equal(parley_err_status(PARLEY_E_AUTH_FORBIDDEN), 403);
  assert_int_equal(parley_err_status((parley_err)9999), 500);
  parley_error e;
  assert_int_equal(parley_fail(&e, PARLEY_E_JSON_FIELD_MISSING, "field '%s'", "x"),
                   PARLEY_E_JSON_FIELD_MISSING);
  assert_string_equal(e.detail, "field 'x'");
  assert_int_equal(parley_fail(NULL, PARLEY_E_IO, NULL), PARLEY_E_IO);
  /* every code has a name, a hint and a real HTTP status */
  for (int i = 0; i < PARLEY_E__COUNT; i++) {
    assert_true(strlen(parley_err_name((parley_err)i)) > 1);
    assert_true(strlen(parley_err_hint((parley_err)i)) > 1);
    assert_in_range(parley_err_status((parley_err)i), 200, 599);
  }
}

static void test_buf(void **state) {
  (void)state;
  parley_buf b;
  parley_buf_init(&b, 10);
  assert_int_equal(parley_buf_puts(&b, "hello"), PARLEY_E_OK);
  assert_int_equal(parley_buf_printf(&b, "%d", 12345), PARLEY_E_OK);
  assert_string_equal((char *)b.data, "hello12345");
  assert_int_equal(parley_buf_puts(&b, "x"), PARLEY_E_TOO_LARGE);
  assert_int_equal(b.len, 10);
  assert_int_equal(parley_buf_printf(&b, "%s", "y"), PARLEY_E_TOO_LARGE);
  size_t n;
  char *s = parley_buf_steal(&b, &n);
  assert_string_equal(s, "hello12345");
  assert_int_equal(n, 10);
  free(s);
  assert_null(b.data);
  parley_buf_init(&b, 1 << 20);
  for (int i = 0; i < 10000; i++)
    assert_int_equal(parley_buf_append(&b, "abcdefgh", 8), PARLEY_E_OK);
  assert_int_equal(b.len, 80000);
  parley_buf_free(&b);
}

static void test_time(void **state) {
  (void)state;
  int64_t t;
  assert_int_equal(parley_time_parse("1970-01-01T00:00:00Z", &t), PARLEY_E_OK);
  assert_int_equal(t, 0);
  assert_int_equal(parley_time_parse("2021-04-20T02:07:53Z", &t), PARLEY_E_OK);
  assert_int_equal(t, 1618884473);
  assert_int_equal(parley_time_parse("2024-02-29T23:59:59.123456Z", &t), PARLEY_E_OK);
  char out[PARLEY_TIME_LEN];
  parley_time_format(t, out);
  assert_string_equal(out, "2024-02-29T23:59:59Z");
  parley_time_format(1618884473, out);
  assert_string_equal(out, "2021-04-20T02:07:53Z");
  const char *bad[] = {"2023-02-29T00:00:00Z",  "2021-04-20T02:07:53",
                       "2021-04-20 02:07:53Z",  "2021-04-20T02:07:53+00:00",
                       "2021-13-01T00:00:00Z",  "2021-04-20T24:00:00Z",
                       "2021-04-20T02:07:53z",  "2021-04-20T02:07:53.Z",
                       "2021-04-20T02:07:53Zx", "",
                       "2021-4-20T02:07:53Z"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
    assert_int_equal(parley_time_parse(bad[i], &t), PARLEY_E_TIME_FORMAT);
  /* round trip over a wide range */
  for (int64_t x = 0; x < 4102444800; x += 86399 * 37) {
    parley_time_format(x, out);
    assert_int_equal(parley_time_parse(out, &t), PARLEY_E_OK);
    assert_int_equal(t, x);
  }
}

static void test_uuid(void **state) {
  (void)state;
  char a[PARLEY_UUID_LEN], b[PARLEY_UUID_LEN];
  parley_uuid7(a);
  parley_uuid7(b);
  assert_true(parley_uuid_valid(a));
  assert_string_not_equal(a, b);
  assert_int_equal(a[14], '7');
  assert_true(strchr("89ab", a[19]) != NULL);
  assert_false(parley_uuid_valid("0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4A5b"));
  assert_false(parley_uuid_valid("0190a1b2c3d47e5f8a9b0c1d2e3f4a5b"));
}

static void test_encodings(void **state) {
  (void)state;
  const uint8_t in[] = {0xfb, 0xff, 0x00, 0x01};
  char s[16];
  assert_int_equal(parley_b64url_encode(in, 4, s, sizeof s), PARLEY_E_OK);
  assert_string_equal(s, "-_8AAQ");
  assert_int_equal(parley_b64_encode(in, 4, s, sizeof s), PARLEY_E_OK);
  assert_string_equal(s, "+/8AAQ==");
  assert_int_equal(parley_hex_encode(in, 4, s, sizeof s), PARLEY_E_OK);
  assert_string_equal(s, "fbff0001");
  assert_int_equal(parley_b64url_encode(in, 4, s, 6), PARLEY_E_TOO_LARGE);
  uint8_t out[8];
  size_t n;
  assert_int_equal(parley_b64url_decode("-_8AAQ", 6, out, sizeof out, &n), PARLEY_E_OK);
  assert_int_equal(n, 4);
  assert_memory_equal(out, in, 4);
  assert_int_equal(parley_b64url_decode("-_8AAQ==", 8, out, sizeof out, &n),
                   PARLEY_E_ENCODING_BASE64);
  assert_int_equal(parley_b64url_decode("-_8AAR", 6, out, sizeof out, &n),
                   PARLEY_E_ENCODING_BASE64); /* non-canonical trailing bits */
  assert_int_equal(parley_b64_decode("+/8AAQ", 6, out, sizeof out, &n), PARLEY_E_ENCODING_BASE64);
  assert_int_equal(parley_b64_decode("+/8AAQ==", 8, out, sizeof out, &n), PARLEY_E_OK);
  assert_int_equal(parley_b64url_decode("-_8A AQ", 7, out, sizeof out, &n),
                   PARLEY_E_ENCODING_BASE64);
  assert_int_equal(parley_b64url_decode("AAAAAAAAAAAAAAAA", 16, out, 8, &n),
                   PARLEY_E_ENCODING_BASE64); /* does not fit */
  assert_int_equal(parley_b64url_decode_exact("-_8AAQ", out, 4), PARLEY_E_OK);
  assert_int_equal(parley_b64url_decode_exact("-_8AAQ", out, 5), PARLEY_E_ENCODING_BASE64);
  assert_int_equal(parley_hex_decode("fbff0001", 8, out, sizeof out, &n), PARLEY_E_OK);
  assert_memory_equal(out, in, 4);
  assert_int_equal(parley_hex_decode("fbf", 3, out, sizeof out, &n), PARLEY_E_ENCODING_HEX);
  assert_int_equal(parley_hex_decode("zz", 2, out, sizeof out, &n), PARLEY_E_ENCODING_HEX);
}

static void test_strings(void **state) {
  (void)state;
  char d[4];
  assert_true(parley_strlcpy(d, "abc", sizeof d));
  assert_false(parley_strlcpy(d, "abcd", sizeof d));
  assert_string_equal(d, "abc");
  uint64_t v;
  assert_true(parley_parse_u64("18446744073709551615", &v));
  assert_true(v == UINT64_MAX);
  assert_false(parley_parse_u64("18446744073709551616", &v));
  assert_false(parley_parse_u64("-1", &v));
  assert_false(parley_parse_u64("", &v));
  assert_false(parley_parse_u64("1 ", &v));
  assert_true(parley_ct_equal("abc", "abc", 3));
  assert_false(parley_ct_equal("abc", "abd", 3));
  assert_true(parley_utf8_valid("h\xc3\xa9llo \xe2\x80\x94 \xf0\x9f\x98\x80", 15));
  assert_false(parley_utf8_valid("\xc0\xaf", 2));         /* overlong */
  assert_false(parley_utf8_valid("\xed\xa0\x80", 3));     /* surrogate */
  assert_false(parley_utf8_valid("\xe2\x80", 2));         /* truncated */
  assert_false(parley_utf8_valid("\xf4\x90\x80\x80", 4)); /* > U+10FFFF */
}

int main(void) {
  if (!parley_init()) return 1;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_errors),    cmocka_unit_test(test_buf),
      cmocka_unit_test(test_time),      cmocka_unit_test(test_uuid),
      cmocka_unit_test(test_encodings), cmocka_unit_test(test_strings),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
