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
  const char *last_event_id;
} header_ctx;

static const char *lookup(void *ctx, const char *name) {
  header_ctx *h = ctx;
  if (strcmp(name, "content-digest") == 0) return h->content_digest;
  if (strcmp(name, "last-event-id") == 0) return h->last_event_id;
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

/* The URL of path on the hub and the headers that authenticate the request (RFC 9421;
 * none when id is NULL): Content-Digest and Content-Type with a body, and Last-Event-ID,
 * covered by the signature, when last_event_id is given. Returns 1 after printing why. */
static int request_headers(const char *method, const char *path, const void *body, size_t body_len,
                           const char *last_event_id, const parley_identity *id, char url[2048],
                           struct curl_slist **hdrs) {
  *hdrs = NULL;
  if (!cli.hub[0]) return cli_fail("no hub: give --hub URL or set hub = URL in the config file");
  char authority[256];
  int n = snprintf(url, 2048, "%s%s", cli.hub, path);
  if (n < 0 || n >= 2048 || !split_url(cli.hub, authority, sizeof authority))
    return cli_fail("bad hub URL or path: %s%s", cli.hub, path);
  const char *q = strchr(path, '?');
  char just_path[2048];
  size_t plen = q ? (size_t)(q - path) : strlen(path);
  memcpy(just_path, path, plen);
  just_path[plen] = 0;

  char digest[PARLEY_CONTENT_DIGEST_LEN];
  header_ctx hctx = {NULL, last_event_id};
  if (body) {
    parley_content_digest_header(body, body_len, digest);
    hctx.content_digest = digest;
  }
  char line[PARLEY_HTTPSIG_MAX_HEADER + 64];
  char *sig_input = NULL, *sig = NULL;
  if (id) {
    parley_httpsig_request req = {method, url, authority, just_path, q, lookup, &hctx};
    const char *components[4] = {"@method", "@target-uri"};
    size_t nc = 2;
    if (body) components[nc++] = "content-digest";
    if (last_event_id) components[nc++] = "last-event-id";
    char keyid[PARLEY_KEY_ID_LEN];
    parley_sign_pk_key_id(&id->sign_pk, keyid);
    parley_error err;
    if (parley_httpsig_sign(&req, components, nc, keyid, id->sign_sk.b, parley_now(), NULL,
                            &sig_input, &sig, &err) != PARLEY_E_OK)
      return cli_fail_err("signing the request", &err);
    snprintf(line, sizeof line, "Signature-Input: %s", sig_input);
    *hdrs = curl_slist_append(*hdrs, line);
    snprintf(line, sizeof line, "Signature: %s", sig);
    *hdrs = curl_slist_append(*hdrs, line);
    free(sig_input);
    free(sig);
  }
  if (body) {
    snprintf(line, sizeof line, "Content-Digest: %s", digest);
    *hdrs = curl_slist_append(*hdrs, line);
    *hdrs = curl_slist_append(*hdrs, "Content-Type: application/json");
  }
  if (last_event_id) {
    snprintf(line, sizeof line, "Last-Event-ID: %s", last_event_id);
    *hdrs = curl_slist_append(*hdrs, line);
  }
  return 0;
}

int cli_http(const char *method, const char *path, const void *body, size_t body_len,
             const parley_identity *id, cli_response *out) {
  memset(out, 0, sizeof *out);
  char url[2048];
  struct curl_slist *hdrs = NULL;
  if (request_headers(method, path, body, body_len, NULL, id, url, &hdrs)) {
    curl_slist_free_all(hdrs);
    return 1;
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
  cli_curl_tls(c);
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
    if (!out->body) ret = cli_fail("out of memory");
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

/* The hub's error answer, every member checked for type and shown escaped: it is the
 * hub's word, and may carry anything. */
int cli_print_http_error(const cli_response *r) {
  json_t *v = r->body && r->len ? cli_response_json(r) : NULL;
  const char *code = cli_jstr(v, "code");
  if (code) {
    const char *hint = cli_jstr(v, "hint");
    const char *detail = cli_jstr(v, "detail");
    bool has_detail = detail && *detail;
    cli_fail("the hub refused (%ld %s): %s%s%s%s", r->status, cli_safe(code),
             hint ? cli_safe(hint) : "", has_detail ? " (" : "", has_detail ? cli_safe(detail) : "",
             has_detail ? ")" : "");
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
    cli_write_safe_text(stdout, r.body, r.len); /* --out FILE keeps the exact bytes */
  } else if (cli_write_file_atomic(out, r.body, r.len, 0644) != PARLEY_E_OK) {
    rc = cli_fail("%s: cannot write", out);
  } else {
    fprintf(stderr, "wrote %s (%zu bytes)\n", out, r.len);
  }
  cli_response_free(&r);
  return rc;
}

/* ---- Server-Sent Events ---------------------------------------------------- */

#define SSE_LINE_MAX (1u << 20)

typedef struct {
  cli_sse *s;
  CURL *curl;
  bool checked;  /* the status has been looked at */
  bool refused;  /* not 200 text/event-stream: the body is an error */
  bool stopped;  /* the callback asked to stop */
  bool silent;   /* nothing came for longer than s->idle_s */
  bool too_long; /* a line or an event over SSE_LINE_MAX */
  uint64_t last_byte_ns;
  parley_buf line, data, error_body;
  char event[64];
  char id[32];
  bool has_id;
} sse_reader;

static void sse_reset_event(sse_reader *r) {
  parley_buf_reset(&r->data);
  r->event[0] = 0;
  r->has_id = false;
}

/* One line of the stream, without its end (RFC: WHATWG HTML, "event stream
 * interpretation"). Returns false to stop. */
static bool sse_line(sse_reader *r, char *line, size_t len) {
  if (len == 0) { /* dispatch */
    if (r->has_id) parley_strlcpy(r->s->last_event_id, r->id, sizeof r->s->last_event_id);
    bool go = true;
    if (r->data.len)
      go = r->s->on_event(r->s->cls, r->event[0] ? r->event : "message", (char *)r->data.data);
    sse_reset_event(r);
    return go;
  }
  if (line[0] == ':') return true; /* a comment: keep-alive */
  char *colon = memchr(line, ':', len);
  const char *value = "";
  if (colon) {
    *colon = 0;
    value = colon + 1;
    if (*value == ' ') value++;
  }
  if (strcmp(line, "data") == 0) {
    if ((r->data.len && parley_buf_append(&r->data, "\n", 1) != PARLEY_E_OK) ||
        parley_buf_puts(&r->data, value) != PARLEY_E_OK) {
      r->too_long = true;
      return false;
    }
  } else if (strcmp(line, "event") == 0) {
    parley_strlcpy(r->event, value, sizeof r->event);
  } else if (strcmp(line, "id") == 0) {
    r->has_id = parley_strlcpy(r->id, value, sizeof r->id);
  } /* retry and unknown fields: ignored */
  return true;
}

static size_t on_sse_bytes(char *p, size_t size, size_t n, void *ud) {
  sse_reader *r = ud;
  size_t len = size * n;
  r->last_byte_ns = parley_mono_ns();
  if (!r->checked) {
    r->checked = true;
    char *ct = NULL;
    curl_easy_getinfo(r->curl, CURLINFO_RESPONSE_CODE, &r->s->status);
    curl_easy_getinfo(r->curl, CURLINFO_CONTENT_TYPE, &ct);
    r->refused = r->s->status != 200 || !ct || strncmp(ct, "text/event-stream", 17) != 0;
  }
  if (r->refused) /* an error answer: kept for the message, up to the buffer's limit */
    return parley_buf_append(&r->error_body, p, len) == PARLEY_E_OK ? len : 0;
  for (size_t i = 0; i < len; i++) {
    if (p[i] != '\n') {
      if (parley_buf_append(&r->line, &p[i], 1) != PARLEY_E_OK) {
        r->too_long = true;
        return 0;
      }
      continue;
    }
    size_t l = r->line.len;
    if (l && r->line.data[l - 1] == '\r') l--;
    if (r->line.data) r->line.data[l] = 0;
    bool go = sse_line(r, r->line.data ? (char *)r->line.data : (char *)"", l);
    parley_buf_reset(&r->line);
    if (!go) {
      r->stopped = !r->too_long;
      return 0;
    }
  }
  return len;
}

static int on_sse_progress(void *ud, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                           curl_off_t ulnow) {
  (void)dltotal, (void)dlnow, (void)ultotal, (void)ulnow;
  sse_reader *r = ud;
  if (r->s->stop && *r->s->stop) {
    r->stopped = true;
    return 1;
  }
  if (r->checked && parley_mono_ns() - r->last_byte_ns > (uint64_t)r->s->idle_s * 1000000000ull) {
    r->silent = true;
    return 1;
  }
  return 0;
}

cli_sse_end cli_sse_run(cli_sse *s, const parley_identity *id) {
  s->status = 0;
  char url[2048];
  struct curl_slist *hdrs = NULL;
  if (request_headers("GET", s->path, NULL, 0, s->last_event_id[0] ? s->last_event_id : NULL, id,
                      url, &hdrs)) {
    curl_slist_free_all(hdrs);
    return CLI_SSE_FAILED;
  }
  hdrs = curl_slist_append(hdrs, "Accept: text/event-stream");
  sse_reader r;
  memset(&r, 0, sizeof r);
  r.s = s;
  r.last_byte_ns = parley_mono_ns();
  parley_buf_init(&r.line, SSE_LINE_MAX);
  parley_buf_init(&r.data, SSE_LINE_MAX);
  parley_buf_init(&r.error_body, 1 << 16);
  CURL *c = curl_easy_init();
  if (!c) {
    curl_slist_free_all(hdrs);
    cli_fail("cannot initialise libcurl");
    return CLI_SSE_FAILED;
  }
  r.curl = c;
  curl_easy_setopt(c, CURLOPT_URL, url);
  cli_curl_tls(c);
  curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_sse_bytes);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &r);
  curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_sse_progress);
  curl_easy_setopt(c, CURLOPT_XFERINFODATA, &r);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 10L);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  CURLcode rc = curl_easy_perform(c);
  if (!r.checked) curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &s->status);
  cli_sse_end end;
  if (r.stopped) {
    end = CLI_SSE_STOPPED;
  } else if (r.refused || (rc == CURLE_OK && !r.checked && s->status != 200)) {
    cli_response resp = {s->status, (char *)r.error_body.data, r.error_body.len, ""};
    if (resp.body)
      cli_print_http_error(&resp);
    else
      cli_fail("the hub answered %ld", s->status);
    end = CLI_SSE_REFUSED;
  } else if (r.too_long) {
    cli_fail("the event stream sent a line longer than %u bytes", SSE_LINE_MAX);
    end = CLI_SSE_DROPPED;
  } else if (r.silent) {
    fprintf(stderr, "parley: the event stream was silent for %u s\n", s->idle_s);
    end = CLI_SSE_DROPPED;
  } else if (rc != CURLE_OK) {
    fprintf(stderr, "parley: the event stream broke: %s\n", curl_easy_strerror(rc));
    end = CLI_SSE_DROPPED;
  } else {
    end = CLI_SSE_ENDED;
  }
  curl_easy_cleanup(c);
  curl_slist_free_all(hdrs);
  parley_buf_free(&r.line);
  parley_buf_free(&r.data);
  parley_buf_free(&r.error_body);
  return end;
}

void cli_curl_tls(void *curl) {
  if (cli.ca_file[0]) curl_easy_setopt((CURL *)curl, CURLOPT_CAINFO, cli.ca_file);
}
