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
 *     prints "OK" (exit 0) or "ERR <code name> <detail>" (exit 1).
 *   webcheck verify
 *     stdin: records as for jcs, each a JSON object {"op", ...}; for each, libparley's
 *     verdict on one line, "OK" or "ERR <code name>":
 *       {"op":"envelope","env","pk"}        parley_envelope_verify
 *       {"op":"open","env","pk","sign_seed","box_sk"}   parley_envelope_open
 *       {"op":"ack","ack","pk"}             parley_ack_verify
 *       {"op":"record","rec","root","now"}  parley_record_verify
 *       {"op":"template","kind","content"}  parley_template_validate
 *       {"op":"inclusion","index","size","leaf","proof":[...],"root"}
 *       {"op":"consistency","size1","size2","root1","root2","proof":[...]}
 *     (keys, seeds and hashes base64url). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parley/base.h"
#include "parley/crypto.h"
#include "parley/httpsig.h"
#include "parley/envelope.h"
#include "parley/json.h"
#include "parley/proto.h"
#include "parley/template.h"
#include "parley/tlog.h"

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

static const char *jstr(const json_t *o, const char *k) {
  const char *s = json_string_value(json_object_get(o, k));
  return s ? s : "";
}

static parley_err b64_exact(const char *s, uint8_t *out, size_t n) {
  return parley_b64url_decode_exact(s, out, n);
}

/* An array of base64url hashes; false if malformed or too long. */
static bool hashes(const json_t *a, uint8_t (*out)[32], size_t *n) {
  *n = json_array_size(a);
  if (!json_is_array(a) || *n > PARLEY_TLOG_MAX_PROOF) return false;
  for (size_t i = 0; i < *n; i++)
    if (b64_exact(json_string_value(json_array_get(a, i)) ? json_string_value(json_array_get(a, i))
                                                          : "",
                  out[i], 32))
      return false;
  return true;
}

static parley_err verify_one(const json_t *o) {
  const char *op = jstr(o, "op");
  parley_error err;
  parley_sign_pk pk;
  if (!strcmp(op, "envelope") || !strcmp(op, "ack") || !strcmp(op, "open")) {
    if (parley_sign_pk_from_b64(jstr(o, "pk"), &pk)) return PARLEY_E_INVALID_ARGUMENT;
    if (!strcmp(op, "envelope"))
      return parley_envelope_verify(json_object_get(o, "env"), &pk, NULL, &err);
    if (!strcmp(op, "ack")) return parley_ack_verify(json_object_get(o, "ack"), &pk, NULL, &err);
    uint8_t seed[32], box[32];
    parley_identity me;
    json_t *body = NULL;
    if (b64_exact(jstr(o, "sign_seed"), seed, 32) || b64_exact(jstr(o, "box_sk"), box, 32) ||
        parley_identity_from_seeds(seed, box, &me))
      return PARLEY_E_INVALID_ARGUMENT;
    parley_err e = parley_envelope_open(json_object_get(o, "env"), &me, &pk, &body, &err);
    json_decref(body);
    parley_identity_wipe(&me);
    return e;
  }
  if (!strcmp(op, "record")) {
    if (parley_sign_pk_from_b64(jstr(o, "root"), &pk)) return PARLEY_E_INVALID_ARGUMENT;
    parley_record_info *info = malloc(sizeof *info);
    if (!info) return PARLEY_E_NO_MEMORY;
    parley_err e = parley_record_verify(json_object_get(o, "rec"), &pk,
                                        json_integer_value(json_object_get(o, "now")), info, &err);
    free(info);
    return e;
  }
  if (!strcmp(op, "template"))
    return parley_template_validate(jstr(o, "kind"), json_object_get(o, "content"), &err);
  static uint8_t proof[PARLEY_TLOG_MAX_PROOF][32];
  size_t n;
  if (!hashes(json_object_get(o, "proof"), proof, &n)) return PARLEY_E_INVALID_ARGUMENT;
  if (!strcmp(op, "inclusion")) {
    uint8_t leaf[32], root[32];
    if (b64_exact(jstr(o, "leaf"), leaf, 32) || b64_exact(jstr(o, "root"), root, 32))
      return PARLEY_E_INVALID_ARGUMENT;
    return parley_tlog_verify_inclusion((uint64_t)json_integer_value(json_object_get(o, "index")),
                                        (uint64_t)json_integer_value(json_object_get(o, "size")),
                                        leaf, (const uint8_t(*)[32])proof, n, root, &err);
  }
  if (!strcmp(op, "consistency")) {
    uint8_t r1[32], r2[32];
    if (b64_exact(jstr(o, "root1"), r1, 32) || b64_exact(jstr(o, "root2"), r2, 32))
      return PARLEY_E_INVALID_ARGUMENT;
    return parley_tlog_verify_consistency((uint64_t)json_integer_value(json_object_get(o, "size1")),
                                          (uint64_t)json_integer_value(json_object_get(o, "size2")),
                                          r1, r2, (const uint8_t(*)[32])proof, n, &err);
  }
  return PARLEY_E_INVALID_ARGUMENT;
}

static int verify_records(void) {
  parley_buf in;
  parley_buf_init(&in, 256u << 20);
  char chunk[65536];
  size_t n;
  while ((n = fread(chunk, 1, sizeof chunk, stdin)) > 0)
    if (parley_buf_append(&in, chunk, n) != PARLEY_E_OK) return 2;
  const char *p = (const char *)in.data, *end = p + in.len;
  parley_json_limits lim = PARLEY_ENVELOPE_JSON_LIMITS;
  lim.max_bytes = 8u << 20;
  lim.max_depth = 16;
  while (p < end) {
    char *after = NULL;
    unsigned long len = strtoul(p, &after, 10);
    if (!after || *after != '\n' || (size_t)(end - after - 1) < len + 1) return 2;
    const char *rec = after + 1;
    json_t *v = NULL;
    parley_error err;
    parley_err e = parley_json_parse(rec, len, &lim, &v, &err);
    if (!e) e = verify_one(v);
    if (e)
      printf("ERR %s\n", parley_err_name(e));
    else
      puts("OK");
    json_decref(v);
    p = rec + len + 1;
  }
  parley_buf_free(&in);
  return 0;
}

int main(int argc, char **argv) {
  if (!parley_init()) return 2;
  if (argc == 2 && strcmp(argv[1], "jcs") == 0) return jcs_records();
  if (argc == 2 && strcmp(argv[1], "verify") == 0) return verify_records();
  if (argc >= 7 && strcmp(argv[1], "httpsig-verify") == 0)
    return httpsig_verify(argv + 2, argc - 2);
  fputs("usage: webcheck jcs | verify | httpsig-verify METHOD URI SIG-INPUT SIG PK [DIGEST]\n",
        stderr);
  return 2;
}
