/* Test helper: libparley's answers for the web app's tests to compare with, so the
 * TypeScript client is checked against the C implementation itself.
 *
 *   webcheck jcs
 *     stdin: records "<length>\n<bytes>\n"; for each, parley_json_parse (default
 *     limits) then parley_jcs; stdout: one line per record, "OK <hex of JCS>" or
 *     "ERR <code name>".
 *   webcheck httpsig-verify METHOD TARGET-URI SIGNATURE-INPUT SIGNATURE PK [DIGEST]
 *     verifies a request signature as parleyd does (parse, policy with a 300 s window,
 *     Ed25519 over the signature base; PK is the base64url Ed25519 public key);
 *     prints "OK" (exit 0) or "ERR <code name> <detail>" (exit 1). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parley/base.h"
#include "parley/crypto.h"
#include "parley/httpsig.h"
#include "parley/json.h"

static int jcs_records(void) {
  parley_buf in;
  parley_buf_init(&in, 64u << 20);
  char chunk[65536];
  size_t n;
  while ((n = fread(chunk, 1, sizeof chunk, stdin)) > 0)
    if (parley_buf_append(&in, chunk, n) != PARLEY_E_OK) return 2;
  const char *p = (const char *)in.data, *end = p + in.len;
  while (p < end) {
    char *after = NULL;
    unsigned long len = strtoul(p, &after, 10);
    if (!after || *after != '\n' || (size_t)(end - after - 1) < len + 1) return 2;
    const char *rec = after + 1;
    json_t *v = NULL;
    parley_error err;
    parley_err e = parley_json_parse(rec, len, NULL, &v, &err);
    parley_buf out;
    parley_buf_init(&out, 4u << 20);
    if (!e) e = parley_jcs(v, &out, &err);
    if (e) {
      printf("ERR %s\n", parley_err_name(e));
    } else {
      fputs("OK ", stdout);
      for (size_t i = 0; i < out.len; i++)
        printf("%02x", out.data[i]);
      fputc('\n', stdout);
    }
    parley_buf_free(&out);
    json_decref(v);
    p = rec + len + 1;
  }
  parley_buf_free(&in);
  return 0;
}

typedef struct {
  const char *content_digest;
} fields;

static const char *lookup(void *ctx, const char *name) {
  fields *f = ctx;
  return strcmp(name, "content-digest") == 0 ? f->content_digest : NULL;
}

static int httpsig_verify(char **argv, int argc) {
  const char *method = argv[0], *uri = argv[1], *si = argv[2], *sig = argv[3], *pkb = argv[4];
  fields f = {argc > 5 ? argv[5] : NULL};
  char authority[256], path[2048], query[2048];
  const char *a = strstr(uri, "://");
  if (!a) return 2;
  a += 3;
  size_t an = strcspn(a, "/?");
  if (an >= sizeof authority) return 2;
  memcpy(authority, a, an);
  authority[an] = 0;
  const char *rest = a + an;
  size_t pn = strcspn(rest, "?");
  if (pn >= sizeof path || strlen(rest + pn) >= sizeof query) return 2;
  memcpy(path, rest, pn);
  path[pn] = 0;
  strcpy(query, rest + pn);
  parley_httpsig_request req = {method, uri, authority, path, query[0] ? query : NULL, lookup, &f};
  parley_sign_pk pk;
  parley_error err = {0};
  parley_httpsig_params *p = calloc(1, sizeof *p);
  parley_err e = p ? PARLEY_E_OK : PARLEY_E_NO_MEMORY;
  if (!e) e = parley_sign_pk_from_b64(pkb, &pk);
  if (!e) e = parley_httpsig_parse(si, sig, NULL, p, &err);
  if (!e) e = parley_httpsig_check_policy(p, parley_now(), 300, f.content_digest != NULL, &err);
  if (!e) e = parley_httpsig_verify(&req, p, pk.b, &err);
  free(p);
  if (e) {
    printf("ERR %s %s\n", parley_err_name(e), err.detail);
    return 1;
  }
  puts("OK");
  return 0;
}

int main(int argc, char **argv) {
  if (!parley_init()) return 2;
  if (argc == 2 && strcmp(argv[1], "jcs") == 0) return jcs_records();
  if (argc >= 7 && strcmp(argv[1], "httpsig-verify") == 0)
    return httpsig_verify(argv + 2, argc - 2);
  fputs("usage: webcheck jcs | httpsig-verify METHOD URI SIG-INPUT SIG PK [DIGEST]\n", stderr);
  return 2;
}
