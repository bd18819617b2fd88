/* RFC 9530 Content-Digest: sha-256 (what we send) and sha-512 (also checked). */
#include "parley/httpsig.h"

#include "httpsig/sf.h"

#include <sodium.h>
#include <string.h>

#define CD "Content-Digest"

static const uint8_t empty_body[1];

_Static_assert(PARLEY_CONTENT_DIGEST_LEN ==
                   9 + sodium_base64_ENCODED_LEN(32, sodium_base64_VARIANT_ORIGINAL) - 1 + 2,
               "Content-Digest length");

void parley_content_digest_header(const uint8_t *body, size_t len,
                                  char out[PARLEY_CONTENT_DIGEST_LEN]) {
  uint8_t h[crypto_hash_sha256_BYTES];
  char b64[sodium_base64_ENCODED_LEN(crypto_hash_sha256_BYTES, sodium_base64_VARIANT_ORIGINAL)];
  crypto_hash_sha256(h, body ? body : empty_body, body ? len : 0);
  sodium_bin2base64(b64, sizeof b64, h, sizeof h, sodium_base64_VARIANT_ORIGINAL);
  /* 9 + 44 + 1 + NUL == PARLEY_CONTENT_DIGEST_LEN exactly */
  memcpy(out, "sha-256=:", 9);
  memcpy(out + 9, b64, sizeof b64 - 1);
  out[PARLEY_CONTENT_DIGEST_LEN - 2] = ':';
  out[PARLEY_CONTENT_DIGEST_LEN - 1] = '\0';
}

parley_err parley_content_digest_check(const char *header_value, const uint8_t *body, size_t len,
                                       parley_error *err) {
  if (!header_value) return parley_fail(err, PARLEY_E_AUTH_MALFORMED, CD ": header missing");
  if (!body && len != 0) return parley_fail(err, PARLEY_E_INVALID_ARGUMENT, CD ": no body");
  size_t n = strnlen(header_value, PARLEY_HTTPSIG_MAX_HEADER + 1);
  if (n > PARLEY_HTTPSIG_MAX_HEADER)
    return parley_fail(err, PARLEY_E_AUTH_MALFORMED, CD ": longer than %d bytes",
                       PARLEY_HTTPSIG_MAX_HEADER);
  parley_sf_member m[PARLEY_SF_MAX_MEMBERS];
  size_t count = 0;
  parley_err rc =
      parley_sf_parse_dictionary(header_value, n, CD, m, PARLEY_SF_MAX_MEMBERS, &count, err);
  if (rc) return rc;
  if (!body) body = empty_body;

  /* Check syntax of every member we understand before comparing any digest, so a
   * malformed value is reported as such whatever the body. */
  bool mismatch = false, any = false;
  for (size_t i = 0; i < count; i++) {
    bool s256 = parley_sf_span_eq(m[i].key, "sha-256");
    bool s512 = parley_sf_span_eq(m[i].key, "sha-512");
    if (!s256 && !s512) continue; /* RFC 9530: ignore algorithms we do not support */
    size_t want = s256 ? crypto_hash_sha256_BYTES : crypto_hash_sha512_BYTES;
    parley_sf_item it;
    parley_sf_params ps;
    if (m[i].inner_list || m[i].bare_key ||
        parley_sf_parse_item(m[i].value, CD, &it, &ps, err) != PARLEY_E_OK ||
        it.type != PARLEY_SF_BYTES || ps.n != 0)
      return parley_fail(err, PARLEY_E_AUTH_MALFORMED, CD ": %s is not a byte sequence",
                         s256 ? "sha-256" : "sha-512");
    uint8_t got[crypto_hash_sha512_BYTES], h[crypto_hash_sha512_BYTES];
    size_t got_len = 0;
    if (parley_b64_decode(it.text.p, it.text.n, got, sizeof got, &got_len) != PARLEY_E_OK ||
        got_len != want)
      return parley_fail(err, PARLEY_E_AUTH_MALFORMED, CD ": %s is not a base64 %zu-byte digest",
                         s256 ? "sha-256" : "sha-512", want);
    if (s256)
      crypto_hash_sha256(h, body, len);
    else
      crypto_hash_sha512(h, body, len);
    if (sodium_memcmp(h, got, want) != 0) mismatch = true;
    any = true;
  }
  if (!any) return parley_fail(err, PARLEY_E_AUTH_MALFORMED, CD ": needs sha-256 or sha-512");
  if (mismatch)
    return parley_fail(err, PARLEY_E_AUTH_DIGEST_MISMATCH, CD ": does not match the body");
  return PARLEY_E_OK;
}
