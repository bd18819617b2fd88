/* Structured logging: one line per event on stderr, written with a single write so
 * lines from different threads do not interleave. */
#include "parley/base.h"

#include <stdio.h>
#include <unistd.h>

static volatile parley_log_level min_level = PARLEY_LOG_INFO;

void parley_log_set_level(parley_log_level l) {
  min_level = l;
}

void parley_log(parley_log_level l, const char *event, const char *fmt, ...) {
  static const char *names[] = {"debug", "info", "warn", "error"};
  if (l < min_level) return;
  char line[2048];
  char ts[PARLEY_TIME_LEN];
  parley_time_format(parley_now(), ts);
  int n = snprintf(line, sizeof line, "ts=%s level=%s event=%s", ts, names[l], event);
  if (n < 0) return;
  size_t len = (size_t)n < sizeof line ? (size_t)n : sizeof line - 1;
  if (fmt && *fmt && len < sizeof line - 2) {
    line[len++] = ' ';
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(line + len, sizeof line - len, fmt, ap);
    va_end(ap);
    if (m > 0) len += (size_t)m < sizeof line - len ? (size_t)m : sizeof line - len - 1;
  }
  if (len >= sizeof line - 1) len = sizeof line - 2;
  line[len++] = '\n';
  ssize_t w = write(STDERR_FILENO, line, len);
  (void)w;
}
