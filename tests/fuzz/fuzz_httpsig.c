/* Fuzz target for the httpsig module. The input is "<Signature-Input>\n<Signature>":
 * both are parsed, and a parsed signature goes through the policy, the signature base
 * and verification against a fixed request and key. The whole input is also checked
 * as a Content-Digest value. Nothing may crash, leak or read out of bounds. */
#include "parley/httpsig.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#define BODY "{\"hello\": \"world\"}"

static const char *header(void *ctx, const char *name) {
  const char *const *h = ctx; /* name, value, name, value, ..., NULL */
  for (; h[0]; h += 2)
    if (strcmp(h[0], name) == 0) return h[1];
  return NULL;
}

/* Exact-size heap copy, so that ASan sees any read past the end. */
static char *dup_n(const uint8_t *p, size_t n) {
  char *s = malloc(n + 1);
  if (s) {
    memcpy(s, p, n);
    s[n] = '\0';
  }
  return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static bool ready;
  static uint8_t pk[32], sk[64];
  if (!ready) {
    if (!parley_init()) abort();
    uint8_t seed[32];
    memset(seed, 0x5a, sizeof seed); /* the key of the seed corpus */
    crypto_sign_seed_keypair(pk, sk, seed);
    ready = true;
  }
  if (size > 4 * PARLEY_HTTPSIG_MAX_HEADER) return 0;

  const uint8_t *nl = memchr(data, '\n', size);
  size_t n1 = nl ? (size_t)(nl - data) : size;
  char *si = dup_n(data, n1);
  char *sig = nl ? dup_n(nl + 1, size - n1 - 1) : NULL;
  char *whole = dup_n(data, size);
  if (!si || !whole || (nl && !sig)) abort();

  char digest[PARLEY_CONTENT_DIGEST_LEN];
  parley_content_digest_header((const uint8_t *)BODY, strlen(BODY), digest);
  const char *hdrs[] = {"content-digest",
                        digest,
                        "content-type",
                        "application/json",
                        "date",
                        "Tue, 20 Apr 2021 02:07:55 GMT",
                        "x-padded",
                        " \t a \t ",
                        "signature-input",
                        si,
                        "signature",
                        sig ? sig : "",
                        NULL};
  parley_httpsig_request req = {"POST",
                                "https://hub.example.org/v1/messages?x=1",
                                "hub.example.org",
                                "/v1/messages",
                                "?x=1",
                                header,
                                (void *)hdrs};

  parley_httpsig_params *p = malloc(sizeof *p);
  if (!p) abort();
  parley_error err;
  if (parley_httpsig_parse(si, sig, NULL, p, &err) == PARLEY_E_OK) {
    (void)parley_httpsig_check_policy(p, 1700000000, 300, true, &err);
    (void)parley_httpsig_verify(&req, p, pk, &err);
  }
  (void)parley_httpsig_parse(si, sig, "parley", p, &err);
  (void)parley_httpsig_parse_request(&req, NULL, p, &err);
  (void)parley_content_digest_check(whole, (const uint8_t *)BODY, strlen(BODY), &err);
  (void)parley_content_digest_check(si, (const uint8_t *)BODY, strlen(BODY), &err);

  free(p);
  free(si);
  free(sig);
  free(whole);
  return 0;
}
