/* The signer's wire format, shared by parleyd-signer and parleyd's client: over a Unix
 * stream socket, one request and one answer per connection, each a frame of a 4-byte
 * big-endian length and that many bytes of one JSON object. */
#ifndef PARLEY_SIGNER_WIRE_H
#define PARLEY_SIGNER_WIRE_H

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

/* Longest frame either side accepts: a ping statement names every target. */
#define PARLEY_SIGNER_MAX_FRAME ((uint32_t)8 << 20)

static inline bool parley_signer_io(int fd, void *buf, size_t len, bool writing) {
  uint8_t *p = buf;
  while (len > 0) {
    ssize_t n = writing ? write(fd, p, len) : read(fd, p, len);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    p += n;
    len -= (size_t)n;
  }
  return true;
}

static inline bool parley_signer_send(int fd, const char *data, size_t len) {
  if (len > PARLEY_SIGNER_MAX_FRAME) return false;
  uint8_t h[4] = {(uint8_t)(len >> 24), (uint8_t)(len >> 16), (uint8_t)(len >> 8), (uint8_t)len};
  return parley_signer_io(fd, h, 4, true) && parley_signer_io(fd, (void *)data, len, true);
}

/* A malloc'd, NUL-terminated frame (caller frees), or NULL (closed, too long, timeout). */
static inline char *parley_signer_recv(int fd, size_t *len) {
  uint8_t h[4];
  if (!parley_signer_io(fd, h, 4, false)) return NULL;
  uint32_t n = (uint32_t)h[0] << 24 | (uint32_t)h[1] << 16 | (uint32_t)h[2] << 8 | h[3];
  if (n > PARLEY_SIGNER_MAX_FRAME) return NULL;
  char *b = malloc((size_t)n + 1);
  if (!b) return NULL;
  if (!parley_signer_io(fd, b, n, false)) {
    free(b);
    return NULL;
  }
  b[n] = 0;
  *len = n;
  return b;
}

#endif
