/* parleyd configuration (src/daemon/config.c), in-process: the defaults, a "key = value"
 * file, errors that name the file and line, flags over the file, bounds refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hub.h"

/* Writes text to a new temporary file; its path goes in path (PATH_MAX-free: 64 bytes). */
static void write_file(char path[64], const char *text) {
  snprintf(path, 64, "/tmp/parleyd-config-XXXXXX");
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  size_t n = strlen(text);
  assert_int_equal(write(fd, text, n), (ssize_t)n);
  close(fd);
}

/* Loads text as a config file over the defaults. */
static parley_err load(const char *text, parleyd_config *c, parley_error *err, char path[64]) {
  parleyd_config_defaults(c);
  write_file(path, text);
  parley_err e = parleyd_config_load_file(c, path, err);
  unlink(path);
  return e;
}

static void test_defaults(void **state) {
  (void)state;
  parleyd_config c;
  parleyd_config_defaults(&c);
  assert_string_equal(c.listen_addr, "127.0.0.1");
  assert_int_equal(c.port, 8440);
  assert_string_equal(c.data_dir, "parley-data");
  assert_int_equal(c.max_body, 2 << 20);
  assert_int_equal(c.sig_window_s, 300);
  assert_int_equal(c.log_level, PARLEY_LOG_INFO);
  assert_true(c.threads >= 1 && c.threads < 64);
  assert_true(c.max_streams < c.max_connections);
  assert_false(c.webhook_allow_private);
  assert_int_equal(c.n_operator_keys, 0);
  /* finish derives the store and key from the data directory */
  parley_error err;
  assert_int_equal(parleyd_config_finish(&c, &err), PARLEY_E_OK);
  assert_string_equal(c.store_url, "sqlite:parley-data/hub.db");
  assert_string_equal(c.hub_key_file, "parley-data/hub.key");
}

static void test_file(void **state) {
  (void)state;
  parleyd_config c;
  parley_error err;
  char path[64];
  assert_int_equal(load("# a comment\n"
                        "\n"
                        "port = 9001\n"
                        "  listen\t=\t0.0.0.0  \r\n"
                        "data_dir=/var/lib/parley\n"
                        "public_url = https://hub.example.org///\n"
                        "log_level = debug\n"
                        "webhook_allow_private = yes\n"
                        "operator_key = AAAA\n"
                        "operator_key = BBBB\n"
                        "max_body = 1024\n",
                        &c, &err, path),
                   PARLEY_E_OK);
  assert_int_equal(c.port, 9001);
  assert_string_equal(c.listen_addr, "0.0.0.0");
  assert_string_equal(c.data_dir, "/var/lib/parley");
  assert_int_equal(c.log_level, PARLEY_LOG_DEBUG);
  assert_true(c.webhook_allow_private);
  assert_int_equal(c.n_operator_keys, 2);
  assert_string_equal(c.operator_keys[1], "BBBB");
  assert_int_equal(c.max_body, 1024);
  assert_int_equal(c.sig_window_s, 300); /* untouched settings keep their default */
  assert_int_equal(parleyd_config_finish(&c, &err), PARLEY_E_OK);
  assert_string_equal(c.public_url, "https://hub.example.org");
  assert_string_equal(c.store_url, "sqlite:/var/lib/parley/hub.db");
}

static void test_errors_name_the_line(void **state) {
  (void)state;
  parleyd_config c;
  parley_error err;
  char path[64], want[128];
  assert_int_equal(load("port = 9001\n# ok\nbogus = 1\n", &c, &err, path), PARLEY_E_CONFIG);
  snprintf(want, sizeof want, "%s:3: unknown setting 'bogus'", path);
  assert_string_equal(err.detail, want);
  assert_int_equal(load("port 9001\n", &c, &err, path), PARLEY_E_CONFIG);
  snprintf(want, sizeof want, "%s:1: expected key = value", path);
  assert_string_equal(err.detail, want);
  assert_int_equal(load("log_level = loud\n", &c, &err, path), PARLEY_E_CONFIG);
  assert_non_null(strstr(err.detail, ":1: log_level"));
  assert_int_equal(load("webhook_allow_private = maybe\n", &c, &err, path), PARLEY_E_CONFIG);
  /* a line longer than the reader's buffer is refused, not split */
  char long_line[1500];
  memset(long_line, 'x', sizeof long_line);
  memcpy(long_line, "origin = ", 9);
  long_line[sizeof long_line - 2] = '\n';
  long_line[sizeof long_line - 1] = 0;
  assert_int_equal(load(long_line, &c, &err, path), PARLEY_E_CONFIG);
  assert_non_null(strstr(err.detail, ":1: line too long"));
  /* a value longer than its field */
  char big[700];
  memset(big, 'd', sizeof big);
  memcpy(big, "data_dir = ", 11);
  big[sizeof big - 2] = '\n';
  big[sizeof big - 1] = 0;
  assert_int_equal(load(big, &c, &err, path), PARLEY_E_CONFIG);
  assert_non_null(strstr(err.detail, "data_dir: value too long"));
  assert_int_equal(parleyd_config_load_file(&c, "/nonexistent/parleyd.conf", &err),
                   PARLEY_E_CONFIG);
  assert_non_null(strstr(err.detail, "/nonexistent/parleyd.conf"));
}

static void test_ranges(void **state) {
  (void)state;
  static const char *const refused[] = {
      "port = 65536\n",
      "port = -1\n",
      "port = 80x\n",
      "port = \n",
      "threads = 0\n",
      "threads = 65\n",
      "max_body = 1023\n",
      "max_body = 67108865\n",
      "signature_window = 4\n",
      "signature_future = 301\n",
      "webhook_workers = 0\n",
      "scheduler_tick_ms = 9\n",
      "port = 99999999999999999999999\n",
  };
  static const char *const accepted[] = {
      "port = 0\n",        "port = 65535\n",           "threads = 64\n",
      "max_body = 1024\n", "max_body = 67108864\n",    "signature_future = 0\n",
      "stale_check = 0\n", "scheduler_tick_ms = 10\n",
  };
  parleyd_config c;
  parley_error err;
  char path[64];
  for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
    if (load(refused[i], &c, &err, path) != PARLEY_E_CONFIG) fail_msg("accepted %s", refused[i]);
    assert_non_null(strstr(err.detail, "expected an integer in"));
  }
  for (size_t i = 0; i < sizeof accepted / sizeof accepted[0]; i++)
    if (load(accepted[i], &c, &err, path) != PARLEY_E_OK)
      fail_msg("refused %s: %s", accepted[i], err.detail);
}

static void test_flags_override_file(void **state) {
  (void)state;
  parleyd_config c;
  char path[64];
  write_file(path, "port = 8000\nlisten = 10.0.0.1\nmax_streams = 7\n");
  /* the file is read first wherever -c stands, so the flag before it still wins */
  char *argv[] = {"parleyd", "--port", "9000", "-c", path, "--webhook-allow-private", NULL};
  parleyd_config_defaults(&c);
  assert_int_equal(parleyd_config_parse_args(&c, 6, argv), 0);
  assert_int_equal(c.port, 9000);
  assert_string_equal(c.listen_addr, "10.0.0.1");
  assert_int_equal(c.max_streams, 7);
  assert_true(c.webhook_allow_private);
  /* flags obey the same bounds */
  char *bad[] = {"parleyd", "-c", path, "--port", "70000", NULL};
  parleyd_config_defaults(&c);
  assert_int_equal(parleyd_config_parse_args(&c, 5, bad), -1);
  char *stray[] = {"parleyd", "extra", NULL};
  parleyd_config_defaults(&c);
  assert_int_equal(parleyd_config_parse_args(&c, 2, stray), -1);
  unlink(path);
  char *missing[] = {"parleyd", "-c", path, NULL};
  parleyd_config_defaults(&c);
  assert_int_equal(parleyd_config_parse_args(&c, 3, missing), -1);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_defaults),
      cmocka_unit_test(test_file),
      cmocka_unit_test(test_errors_name_the_line),
      cmocka_unit_test(test_ranges),
      cmocka_unit_test(test_flags_override_file),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
