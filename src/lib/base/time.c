/* Time: RFC 3339 UTC only ("Z"), seconds since the Unix epoch. */
#include "parley/base.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

int64_t parley_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec;
}

int64_t parley_now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

uint64_t parley_mono_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar (H. Hinnant). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = (unsigned)(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = (unsigned)(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  *d = doy - (153 * mp + 2) / 5 + 1;
  *m = mp < 10 ? mp + 3 : mp - 9;
  *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

static bool digits(const char *s, int n, unsigned *out) {
  unsigned v = 0;
  for (int i = 0; i < n; i++) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + (unsigned)(s[i] - '0');
  }
  *out = v;
  return true;
}

static bool leap(unsigned y) {
  return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

parley_err parley_time_parse(const char *s, int64_t *out) {
  static const unsigned mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  unsigned y, mo, d, h, mi, se;
  if (!s || strnlen(s, 40) < 20) return PARLEY_E_TIME_FORMAT;
  if (!digits(s, 4, &y) || s[4] != '-' || !digits(s + 5, 2, &mo) || s[7] != '-' ||
      !digits(s + 8, 2, &d) || s[10] != 'T' || !digits(s + 11, 2, &h) || s[13] != ':' ||
      !digits(s + 14, 2, &mi) || s[16] != ':' || !digits(s + 17, 2, &se))
    return PARLEY_E_TIME_FORMAT;
  const char *p = s + 19;
  if (*p == '.') {
    int n = 0;
    for (p++; *p >= '0' && *p <= '9'; p++)
      n++;
    if (n < 1 || n > 9) return PARLEY_E_TIME_FORMAT;
  }
  if (p[0] != 'Z' || p[1] != '\0') return PARLEY_E_TIME_FORMAT;
  if (mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || se > 59) return PARLEY_E_TIME_FORMAT;
  unsigned md = mdays[mo - 1] + (mo == 2 && leap(y));
  if (d > md) return PARLEY_E_TIME_FORMAT;
  *out = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + se;
  return PARLEY_E_OK;
}

void parley_time_format(int64_t t, char out[PARLEY_TIME_LEN]) {
  int64_t days = t >= 0 ? t / 86400 : -((-t + 86399) / 86400);
  int64_t secs = t - days * 86400;
  int64_t y;
  unsigned m, d;
  civil_from_days(days, &y, &m, &d);
  if (y < 0 || y > 9999) {
    parley_strlcpy(out, "0000-00-00T00:00:00Z", PARLEY_TIME_LEN);
    return;
  }
  unsigned hh = (unsigned)(secs / 3600) % 24, mm = (unsigned)(secs / 60 % 60),
           ss = (unsigned)(secs % 60);
  snprintf(out, PARLEY_TIME_LEN, "%04u-%02u-%02uT%02u:%02u:%02uZ", (unsigned)y % 10000, m % 13,
           d % 32, hh, mm, ss);
}
