/* parley: HTTP to the hub with libcurl, every request signed per RFC 9421. */
#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli.h"
#include "parley/httpsig.h"
#include "parley/json.h"

#define MAX_RESPONSE (64u << 20)

void cli_response_free(cli_response *r) {
  free(r->body);
  r->body = NULL;
}

typedef struct {
  const char *content_digest;
} header_ctx;

static const char *lookup(void *ctx, const char *name) {
  header_ctx *h = ctx;
  if (strcmp(name, "content-digest") == 0) return h->content_digest;
  return NULL;
}

static size_t on_body(char *p, size_t size, size_t n, void *ud) {
  parley_buf *b = ud;
  return parley_buf_append(b, p, size * n) == PARLEY_E_OK ? size * n : 0;
}

/* Splits "scheme://authority" out of the hub URL. */
static bool split_url(const char *url, char *authority, size_t cap) {
  const char *p = strstr(url, "://");
  if (!p) return false;
  p += 3;
  size_t n = strcspn(p, "/?#");
  if (n == 0 || n >= cap) return false;
  memcpy(authority, p, n);
  authority[n] = 0;
  return true;
}

int cli_http(const char *method, const char *path, const void *body, size_t body_len,
             const parley_identity *id, cli_response *out) {
  memset(out, 0, sizeof *out);
  if (!cli.hub[0]) return cli_fail("no hub: give --hub URL or set hub = URL in the config file");
  char url[2048], authority[256];
  int n = snprintf(url, sizeof url, "%s%s", cli.hub, path);
  if (n < 0 || (size_t)n >= sizeof url || !split_url(cli.hub, authority, sizeof authority))
    return cli_fail("bad hub URL or path: %s%s", cli.hub, path);
  const char *q = strchr(path, '?');
  char just_path[2048];
  size_t plen = q ? (size_t)(q - path) : strlen(path);
  memcpy(just_path, path, plen);
  just_path[plen] = 0;

  char digest[PARLEY_CONTENT_DIGEST_LEN];
  header_ctx hctx = {NULL};
  if (body) {
    parley_content_digest_header(body, body_len, digest);
    hctx.content_digest = digest;
  }
  struct curl_slist *hdrs = NULL;
  char line[PARLEY_HTTPSIG_MAX_HEADER + 64];
  char *sig_input = NULL, *sig = NULL;
  if (id) {
    parley_httpsig_request req = {method, url, authority, just_path, q, lookup, &hctx};
    const char *components[] = {"@method", "@target-uri", "content-digest"};
    char keyid[PARLEY_KEY_ID_LEN];
    parley_sign_pk_key_id(&id->sign_pk, keyid);
    parley_error err;
    if (parley_httpsig_sign(&req, components, body ? 3 : 2, keyid, id->sign_sk.b, parley_now(),
                            NULL, &sig_input, &sig, &err) != PARLEY_E_OK)
      return cli_fail_err("signing the request", &err);
    snprintf(line, sizeof line, "Signature-Input: %s", sig_input);
    hdrs = curl_slist_append(hdrs, line);
    snprintf(line, sizeof line, "Signature: %s", sig);
    hdrs = curl_slist_append(hdrs, line);
    free(sig_input);
    free(sig);
  }
  if (body) {
    snprintf(line, sizeof line, "Content-Digest: %s", digest);
    hdrs = curl_slist_append(hdrs, line);
    hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
  }
  if (cli.headers_only) {
    /* For use with other HTTP tools: the headers that authenticate this request. */
    for (struct curl_slist *h = hdrs; h; h = h->next)
      puts(h->data);
    curl_slist_free_all(hdrs);
    out->status = 0;
    return 0;
  }
  hdrs = curl_slist_append(hdrs, "Accept: application/json");
  hdrs = curl_slist_append(hdrs, "Expect:");

  parley_buf resp;
  parley_buf_init(&resp, MAX_RESPONSE);
  CURL *c = curl_easy_init();
  if (!c) {
    curl_slist_free_all(hdrs);
    return cli_fail("cannot initialise libcurl");
  }
  curl_easy_setopt(c, CURLOPT_URL, url);
  curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &resp);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 10L);
  curl_easy_setopt(c, CURLOPT_TIMEOUT, 60L);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  if (body) {
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
  } else if (strcmp(method, "GET") == 0) {
    curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
  }
  CURLcode rc = curl_easy_perform(c);
  int ret = 0;
  if (rc != CURLE_OK) {
    ret = cli_fail("%s %s: %s", method, url, curl_easy_strerror(rc));
    parley_buf_free(&resp);
  } else {
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out->status);
    char *ct = NULL;
    curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &ct);
    if (ct) parley_strlcpy(out->content_type, ct, sizeof out->content_type);
    out->body = parley_buf_steal(&resp, &out->len);
  }
  curl_easy_cleanup(c);
  curl_slist_free_all(hdrs);
  return ret;
}

json_t *cli_response_json(const cli_response *r) {
  parley_json_limits lim = PARLEY_JSON_LIMITS_DEFAULT;
  lim.max_bytes = MAX_RESPONSE;
  lim.max_items = 10000000;
  json_t *v = NULL;
  parley_error err;
  if (!r->body || parley_json_parse(r->body, r->len, &lim, &v, &err) != PARLEY_E_OK) {
    cli_fail("the hub answered %ld with a body that is not JSON", r->status);
    return NULL;
  }
  return v;
}

int cli_print_http_error(const cli_response *r) {
  json_t *v = cli_response_json(r);
  const char *code = v ? json_string_value(json_object_get(v, "code")) : NULL;
  if (code) {
    const char *hint = json_string_value(json_object_get(v, "hint"));
    const char *detail = json_string_value(json_object_get(v, "detail"));
    cli_fail("the hub refused (%ld %s): %s%s%s%s", r->status, code, hint ? hint : "",
             detail && *detail ? " (" : "", detail && *detail ? detail : "",
             detail && *detail ? ")" : "");
  } else {
    cli_fail("the hub answered %ld", r->status);
  }
  json_decref(v);
  return 1;
}

json_t *cli_get_json(const char *path) {
  parley_identity id;
  if (cli_load_identity(&id)) return NULL;
  cli_response r;
  int rc = cli_http("GET", path, NULL, 0, &id, &r);
  parley_identity_wipe(&id);
  if (rc) return NULL;
  json_t *v = NULL;
  if (r.status < 200 || r.status > 299)
    cli_print_http_error(&r);
  else
    v = cli_response_json(&r);
  cli_response_free(&r);
  return v;
}

int cli_get_to_output(const char *path, const char *out) {
  parley_identity id;
  if (cli_load_identity(&id)) return 1;
  cli_response r;
  int rc = cli_http("GET", path, NULL, 0, &id, &r);
  parley_identity_wipe(&id);
  if (rc) return rc;
  if (r.status != 200) {
    rc = cli_print_http_error(&r);
  } else if (strcmp(out, "-") == 0) {
    fwrite(r.body, 1, r.len, stdout);
  } else if (cli_write_file_atomic(out, r.body, r.len, 0644) != PARLEY_E_OK) {
    rc = cli_fail("%s: cannot write", out);
  } else {
    fprintf(stderr, "wrote %s (%zu bytes)\n", out, r.len);
  }
  cli_response_free(&r);
  return rc;
}
