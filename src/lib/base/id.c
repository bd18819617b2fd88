/* UUIDv7 (RFC 9562): 48-bit Unix milliseconds, version 7, variant 10, random rest. */
#include "parley/base.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

void parley_uuid7(char out[PARLEY_UUID_LEN]) {
  uint8_t b[16];
  uint64_t ms = (uint64_t)parley_now_ms();
  for (int i = 0; i < 6; i++)
    b[i] = (uint8_t)(ms >> (40 - 8 * i));
  randombytes_buf(b + 6, 10);
  b[6] = (uint8_t)(0x70 | (b[6] & 0x0f));
  b[8] = (uint8_t)(0x80 | (b[8] & 0x3f));
  static const char hx[] = "0123456789abcdef";
  size_t o = 0;
  for (int i = 0; i < 16; i++) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out[o++] = '-';
    out[o++] = hx[b[i] >> 4];
    out[o++] = hx[b[i] & 15];
  }
  out[o] = 0;
}

bool parley_uuid_valid(const char *s) {
  if (!s || strnlen(s, 37) != 36) return false;
  for (int i = 0; i < 36; i++) {
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (s[i] != '-') return false;
    } else if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'))) {
      return false;
    }
  }
  return true;
}
