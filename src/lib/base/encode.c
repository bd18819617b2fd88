/* base64url (no padding), standard base64 and hex, through libsodium's
 * constant-time, strict codecs. */
#include "parley/base.h"

#include <sodium.h>
#include <string.h>

size_t parley_b64url_encoded_len(size_t n) {
  return sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_URLSAFE_NO_PADDING) - 1;
}

size_t parley_b64_encoded_len(size_t n) {
  return sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_ORIGINAL) - 1;
}

static parley_err b64_encode(const uint8_t *in, size_t n, char *out, size_t cap, int variant) {
  if (cap < sodium_base64_ENCODED_LEN(n, variant)) return PARLEY_E_TOO_LARGE;
  sodium_bin2base64(out, cap, in, n, variant);
  return PARLEY_E_OK;
}

parley_err parley_b64url_encode(const uint8_t *in, size_t n, char *out, size_t cap) {
  return b64_encode(in, n, out, cap, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

parley_err parley_b64_encode(const uint8_t *in, size_t n, char *out, size_t cap) {
  return b64_encode(in, n, out, cap, sodium_base64_VARIANT_ORIGINAL);
}

parley_err parley_hex_encode(const uint8_t *in, size_t n, char *out, size_t cap) {
  if (n > (SIZE_MAX - 1) / 2 || cap < 2 * n + 1) return PARLEY_E_TOO_LARGE;
  sodium_bin2hex(out, cap, in, n);
  return PARLEY_E_OK;
}

static parley_err b64_decode(const char *s, size_t slen, uint8_t *out, size_t cap, size_t *out_len,
                             int variant) {
  size_t n = 0;
  const char *end = NULL;
  if (sodium_base642bin(out, cap, s, slen, NULL, &n, &end, variant) != 0 || end != s + slen)
    return PARLEY_E_ENCODING_BASE64;
  /* libsodium accepts non-canonical trailing bits; re-encode to insist on one form. */
  char check[128];
  if (n <= 64) {
    if (b64_encode(out, n, check, sizeof check, variant) != PARLEY_E_OK || strlen(check) != slen ||
        memcmp(check, s, slen) != 0)
      return PARLEY_E_ENCODING_BASE64;
  }
  if (out_len) *out_len = n;
  return PARLEY_E_OK;
}

parley_err parley_b64url_decode(const char *s, size_t slen, uint8_t *out, size_t cap,
                                size_t *out_len) {
  return b64_decode(s, slen, out, cap, out_len, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

parley_err parley_b64_decode(const char *s, size_t slen, uint8_t *out, size_t cap,
                             size_t *out_len) {
  return b64_decode(s, slen, out, cap, out_len, sodium_base64_VARIANT_ORIGINAL);
}

parley_err parley_b64url_decode_exact(const char *s, uint8_t *out, size_t n) {
  size_t got = 0;
  if (!s) return PARLEY_E_ENCODING_BASE64;
  size_t slen = strlen(s);
  if (slen != parley_b64url_encoded_len(n)) return PARLEY_E_ENCODING_BASE64;
  parley_err e = parley_b64url_decode(s, slen, out, n, &got);
  if (e) return e;
  return got == n ? PARLEY_E_OK : PARLEY_E_ENCODING_BASE64;
}

parley_err parley_hex_decode(const char *s, size_t slen, uint8_t *out, size_t cap,
                             size_t *out_len) {
  size_t n = 0;
  const char *end = NULL;
  if (slen % 2 || sodium_hex2bin(out, cap, s, slen, NULL, &n, &end) != 0 || end != s + slen)
    return PARLEY_E_ENCODING_HEX;
  if (out_len) *out_len = n;
  return PARLEY_E_OK;
}
