/* Growable buffers with a hard maximum, so no input can grow memory without bound. */
#include "parley/base.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void parley_buf_init(parley_buf *b, size_t max) {
  b->data = NULL;
  b->len = 0;
  b->cap = 0;
  b->max = max;
}

static parley_err reserve(parley_buf *b, size_t extra) {
  if (extra > b->max || b->len > b->max - extra) return PARLEY_E_TOO_LARGE;
  size_t need = b->len + extra + 1; /* room for the NUL */
  if (need <= b->cap) return PARLEY_E_OK;
  size_t cap = b->cap ? b->cap : 256;
  while (cap < need)
    cap = cap > SIZE_MAX / 2 ? need : cap * 2;
  /* Not realloc: the old block may hold secrets and must be wiped. */
  uint8_t *p = malloc(cap);
  if (!p) return PARLEY_E_NO_MEMORY;
  if (b->data) {
    memcpy(p, b->data, b->len);
    sodium_memzero(b->data, b->cap);
    free(b->data);
  }
  b->data = p;
  b->cap = cap;
  return PARLEY_E_OK;
}

parley_err parley_buf_append(parley_buf *b, const void *p, size_t n) {
  parley_err e = reserve(b, n);
  if (e) return e;
  if (n) memcpy(b->data + b->len, p, n);
  b->len += n;
  b->data[b->len] = 0;
  return PARLEY_E_OK;
}

parley_err parley_buf_puts(parley_buf *b, const char *s) {
  return parley_buf_append(b, s, strlen(s));
}

parley_err parley_buf_printf(parley_buf *b, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  if (n < 0) return PARLEY_E_INTERNAL;
  parley_err e = reserve(b, (size_t)n);
  if (e) return e;
  va_start(ap, fmt);
  vsnprintf((char *)b->data + b->len, (size_t)n + 1, fmt, ap);
  va_end(ap);
  b->len += (size_t)n;
  return PARLEY_E_OK;
}

void parley_buf_reset(parley_buf *b) {
  b->len = 0;
  if (b->data) b->data[0] = 0;
}

void parley_buf_free(parley_buf *b) {
  if (b->data) {
    sodium_memzero(b->data, b->cap);
    free(b->data);
  }
  b->data = NULL;
  b->len = b->cap = 0;
}

char *parley_buf_steal(parley_buf *b, size_t *len) {
  if (!b->data && reserve(b, 0) != PARLEY_E_OK) return NULL;
  b->data[b->len] = 0;
  char *p = (char *)b->data;
  if (len) *len = b->len;
  b->data = NULL;
  b->len = b->cap = 0;
  return p;
}
