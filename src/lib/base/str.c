/* Small string and number helpers that replace the unsafe libc calls. */
#include "parley/base.h"

#include <sodium.h>
#include <string.h>

bool parley_strlcpy(char *dst, const char *src, size_t cap) {
  if (cap == 0) return false;
  size_t n = strnlen(src, cap);
  bool fits = n < cap;
  if (!fits) n = cap - 1;
  memcpy(dst, src, n);
  dst[n] = 0;
  return fits;
}

bool parley_ct_equal(const void *a, const void *b, size_t n) {
  return sodium_memcmp(a, b, n) == 0;
}

bool parley_parse_u64(const char *s, uint64_t *out) {
  if (!s || !*s || strlen(s) > 20) return false;
  uint64_t v = 0;
  for (const char *p = s; *p; p++) {
    if (*p < '0' || *p > '9') return false;
    unsigned d = (unsigned)(*p - '0');
    if (v > (UINT64_MAX - d) / 10) return false;
    v = v * 10 + d;
  }
  *out = v;
  return true;
}

bool parley_utf8_valid(const char *str, size_t n) {
  const unsigned char *s = (const unsigned char *)str;
  size_t i = 0;
  while (i < n) {
    unsigned c = s[i];
    if (c < 0x80) {
      i++;
      continue;
    }
    size_t len;
    unsigned cp;
    if (c >= 0xc2 && c <= 0xdf) {
      len = 2;
      cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
      len = 3;
      cp = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
      len = 4;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (n - i < len) return false;
    for (size_t k = 1; k < len; k++) {
      if ((s[i + k] & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (s[i + k] & 0x3f);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
        (cp >= 0xd800 && cp <= 0xdfff))
      return false;
    i += len;
  }
  return true;
}

bool parley_init(void) {
  return sodium_init() >= 0;
}
