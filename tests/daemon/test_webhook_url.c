/* Webhook destination checks (src/daemon/webhook_url.c), in-process: address
 * classification, URL parsing with libcurl's URL API, and resolution of literals and of
 * localhost against the policy. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "webhook_url.h"

static parleyd_addr_class cls(const char *text) {
  struct sockaddr_storage ss;
  memset(&ss, 0, sizeof ss);
  if (strchr(text, ':')) {
    struct sockaddr_in6 *s = (struct sockaddr_in6 *)&ss;
    s->sin6_family = AF_INET6;
    assert_int_equal(inet_pton(AF_INET6, text, &s->sin6_addr), 1);
  } else {
    struct sockaddr_in *s = (struct sockaddr_in *)&ss;
    s->sin_family = AF_INET;
    assert_int_equal(inet_pton(AF_INET, text, &s->sin_addr), 1);
  }
  return parleyd_addr_classify((const struct sockaddr *)&ss);
}

static void test_classify(void **state) {
  (void)state;
  static const struct {
    const char *addr;
    parleyd_addr_class want;
  } cases[] = {
      {"8.8.8.8", PARLEYD_ADDR_PUBLIC},
      {"193.40.0.1", PARLEYD_ADDR_PUBLIC},
      {"127.0.0.1", PARLEYD_ADDR_LOOPBACK},
      {"127.255.1.2", PARLEYD_ADDR_LOOPBACK},
      {"10.0.0.1", PARLEYD_ADDR_PRIVATE},
      {"172.16.0.1", PARLEYD_ADDR_PRIVATE},
      {"172.31.255.255", PARLEYD_ADDR_PRIVATE},
      {"172.32.0.1", PARLEYD_ADDR_PUBLIC},
      {"192.168.1.1", PARLEYD_ADDR_PRIVATE},
      {"100.64.0.1", PARLEYD_ADDR_PRIVATE},
      {"100.127.255.255", PARLEYD_ADDR_PRIVATE},
      {"100.128.0.1", PARLEYD_ADDR_PUBLIC},
      {"169.254.169.254", PARLEYD_ADDR_LINK_LOCAL},
      {"0.0.0.0", PARLEYD_ADDR_RESERVED},
      {"0.1.2.3", PARLEYD_ADDR_RESERVED},
      {"224.0.0.1", PARLEYD_ADDR_RESERVED},
      {"239.255.255.250", PARLEYD_ADDR_RESERVED},
      {"255.255.255.255", PARLEYD_ADDR_RESERVED},
      {"240.0.0.1", PARLEYD_ADDR_RESERVED},
      {"192.0.2.1", PARLEYD_ADDR_RESERVED},
      {"198.18.0.1", PARLEYD_ADDR_RESERVED},
      {"2a00:1450:4001::1", PARLEYD_ADDR_PUBLIC},
      {"::1", PARLEYD_ADDR_LOOPBACK},
      {"::", PARLEYD_ADDR_RESERVED},
      {"fc00::1", PARLEYD_ADDR_PRIVATE},
      {"fd12:3456::1", PARLEYD_ADDR_PRIVATE},
      {"fe80::1", PARLEYD_ADDR_LINK_LOCAL},
      {"febf::1", PARLEYD_ADDR_LINK_LOCAL},
      {"fec0::1", PARLEYD_ADDR_PRIVATE},
      {"ff02::1", PARLEYD_ADDR_RESERVED},
      {"::ffff:127.0.0.1", PARLEYD_ADDR_LOOPBACK},
      {"::ffff:10.1.2.3", PARLEYD_ADDR_PRIVATE},
      {"::ffff:169.254.169.254", PARLEYD_ADDR_LINK_LOCAL},
      {"::ffff:8.8.8.8", PARLEYD_ADDR_PUBLIC},
      {"::127.0.0.1", PARLEYD_ADDR_LOOPBACK},
      {"64:ff9b::a00:1", PARLEYD_ADDR_PRIVATE},
      {"64:ff9b::808:808", PARLEYD_ADDR_PUBLIC},
      {"2002:7f00:1::", PARLEYD_ADDR_LOOPBACK},
      {"2001:db8::1", PARLEYD_ADDR_RESERVED},
      {"2001::1", PARLEYD_ADDR_RESERVED},
      {"100::1", PARLEYD_ADDR_RESERVED},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    parleyd_addr_class got = cls(cases[i].addr);
    if (got != cases[i].want)
      fail_msg("%s: %s, want %s", cases[i].addr, parleyd_addr_class_name(got),
               parleyd_addr_class_name(cases[i].want));
  }
}

static const parleyd_webhook_policy strict = {false, false};
static const parleyd_webhook_policy loopback_http = {true, false};
static const parleyd_webhook_policy private_ok = {false, true};

static void test_parse(void **state) {
  (void)state;
  parleyd_webhook_target t;
  char why[256];
  assert_true(
      parleyd_webhook_parse("https://hooks.example.org/parley?x=1", &strict, &t, why, sizeof why));
  assert_string_equal(t.scheme, "https");
  assert_string_equal(t.host, "hooks.example.org");
  assert_int_equal(t.port, 443);
  assert_string_equal(t.dest, "https://hooks.example.org:443");
  assert_false(t.host_is_literal);
  assert_true(
      parleyd_webhook_parse("https://HOOKS.Example.org:8443/", &strict, &t, why, sizeof why));
  assert_string_equal(t.dest, "https://hooks.example.org:8443");
  assert_true(parleyd_webhook_parse("https://[::1]:9/", &strict, &t, why, sizeof why));
  assert_true(t.host_is_literal);
  static const char *const refused[] = {
      "http://127.0.0.1:@evil.example:80/", /* the userinfo trick */
      "https://user@hooks.example.org/",
      "https://user:pw@hooks.example.org/",
      "https://@hooks.example.org/",
      "http://hooks.example.org/", /* http without the test flag */
      "ftp://hooks.example.org/",
      "https:///path",
      "https://hooks.example.org:0/",
      "https://hooks.example.org:99999/",
      "https://hooks.example.org:12ab/",
      "https://[fe80::1%25eth0]/",
      "https://hooks.example.org\\@evil/",
      "https://hooks example.org/",
      "https://hooks.example.org/\r\nX: y",
      "hooks.example.org",
      "",
  };
  for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++)
    if (parleyd_webhook_parse(refused[i], &strict, &t, why, sizeof why))
      fail_msg("accepted: %s", refused[i]);
  assert_true(
      parleyd_webhook_parse("http://127.0.0.1:8080/h", &loopback_http, &t, why, sizeof why));
  assert_false(parleyd_webhook_parse("http://127.0.0.1:@127.0.0.2:80/", &loopback_http, &t, why,
                                     sizeof why));
}

static parleyd_webhook_check check(const char *url, const parleyd_webhook_policy *pol) {
  parleyd_webhook_target t;
  char why[256];
  if (!parleyd_webhook_parse(url, pol, &t, why, sizeof why)) return PARLEYD_WEBHOOK_REFUSED;
  return parleyd_webhook_resolve(&t, pol, why, sizeof why);
}

static void test_resolve(void **state) {
  (void)state;
  static const char *const internal[] = {
      "https://127.0.0.1/",
      "https://10.0.0.1/",
      "https://169.254.169.254/",
      "https://[::1]/",
      "https://[::ffff:127.0.0.1]/",
      "https://2130706433/",
      "https://0x7f000001/",
      "https://0177.0.0.1/",
      "https://127.1/",
      "https://localhost/",
      "https://0.0.0.0/",
      "https://[::]/",
      "https://192.168.0.1:8443/",
      "https://[fd00::1]/",
      "https://224.0.0.1/",
  };
  for (size_t i = 0; i < sizeof internal / sizeof internal[0]; i++)
    if (check(internal[i], &strict) != PARLEYD_WEBHOOK_REFUSED)
      fail_msg("not refused: %s", internal[i]);
  /* allowed by the operator: private and loopback, never link-local or reserved */
  assert_int_equal(check("https://10.0.0.1/", &private_ok), PARLEYD_WEBHOOK_OK);
  assert_int_equal(check("https://127.0.0.1/", &private_ok), PARLEYD_WEBHOOK_OK);
  assert_int_equal(check("https://169.254.169.254/", &private_ok), PARLEYD_WEBHOOK_REFUSED);
  assert_int_equal(check("https://0.0.0.0/", &private_ok), PARLEYD_WEBHOOK_REFUSED);
  /* http only to loopback, with the test flag */
  assert_int_equal(check("http://127.0.0.1:8080/", &loopback_http), PARLEYD_WEBHOOK_OK);
  assert_int_equal(check("http://localhost:8080/", &loopback_http), PARLEYD_WEBHOOK_OK);
  assert_int_equal(check("http://8.8.8.8/", &loopback_http), PARLEYD_WEBHOOK_REFUSED);
  assert_int_equal(check("http://10.0.0.1/", &loopback_http), PARLEYD_WEBHOOK_REFUSED);
  assert_int_equal(check("https://8.8.8.8/", &strict), PARLEYD_WEBHOOK_OK);

  /* the pin: the checked address and port only */
  parleyd_webhook_target t;
  char why[256];
  assert_true(parleyd_webhook_parse("http://localhost:8080/", &loopback_http, &t, why, sizeof why));
  assert_int_equal(parleyd_webhook_resolve(&t, &loopback_http, why, sizeof why),
                   PARLEYD_WEBHOOK_OK);
  assert_true(t.n_addrs >= 1);
  assert_true(strncmp(t.resolve, "localhost:8080:", 15) == 0);
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_port = htons(8080);
  inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
  bool has_v4 = false;
  for (size_t i = 0; i < t.n_addrs; i++)
    has_v4 |= t.addrs[i].ss_family == AF_INET;
  if (has_v4) {
    assert_true(parleyd_webhook_pinned(&t, (struct sockaddr *)&a));
    a.sin_port = htons(8081);
    assert_false(parleyd_webhook_pinned(&t, (struct sockaddr *)&a));
  }
  a.sin_port = htons(8080);
  inet_pton(AF_INET, "10.0.0.1", &a.sin_addr);
  assert_false(parleyd_webhook_pinned(&t, (struct sockaddr *)&a));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_classify),
      cmocka_unit_test(test_parse),
      cmocka_unit_test(test_resolve),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
