/* What every handler calls to read its request and answer it: replies (each carries
 * the headers every answer has), headers, the query and the JSON body. Below the
 * handlers and the HTTP server alike; knows nothing of MHD's callback protocol. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "hub.h"
#include "parley/json.h"

static const char *status_text_json = "application/json";

static void queue(parleyd_req *r, unsigned status, struct MHD_Response *resp) {
  if (r->gone) { /* a deferred write finished after its connection closed */
    if (resp) MHD_destroy_response(resp);
    r->status = (int)status;
    r->replied = true;
    return;
  }
  if (!resp) {
    r->status = 500;
    r->replied = true;
    return;
  }
  if (!MHD_get_response_header(resp, "Cache-Control")) /* a public log read may be cached */
    MHD_add_response_header(resp, "Cache-Control", "no-store");
  if (!MHD_get_response_header(resp, "X-Content-Type-Options"))
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
  if (parleyd_cors_applies(r->url)) parleyd_cors_headers(resp);
  if (!MHD_get_response_header(resp, "Content-Security-Policy")) /* the web app sets its own */
    MHD_add_response_header(
        resp, "Content-Security-Policy",
        "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'");
  if (MHD_queue_response(r->conn, status, resp) != MHD_YES)
    parley_log(PARLEY_LOG_WARN, "http.queue_failed", "status=%u", status);
  MHD_destroy_response(resp);
  r->status = (int)status;
  r->replied = true;
}

void parleyd_reply_response(parleyd_req *r, unsigned status, struct MHD_Response *resp) {
  queue(r, status, resp);
}

void parleyd_reply_raw(parleyd_req *r, unsigned status, const char *content_type, const void *data,
                       size_t len) {
  struct MHD_Response *resp =
      MHD_create_response_from_buffer(len, (void *)data, MHD_RESPMEM_MUST_COPY);
  if (resp && content_type) MHD_add_response_header(resp, "Content-Type", content_type);
  queue(r, status, resp);
}

/* retry_after_s: a Retry-After header when non-zero. */
static void reply_json(parleyd_req *r, unsigned status, json_t *body, unsigned retry_after_s) {
  char *s = body ? json_dumps(body, JSON_COMPACT | JSON_ENSURE_ASCII) : NULL;
  json_decref(body);
  if (!s) {
    parleyd_reply_error(r, PARLEY_E_NO_MEMORY, NULL);
    return;
  }
  size_t n = strlen(s);
  struct MHD_Response *resp = MHD_create_response_from_buffer(n, s, MHD_RESPMEM_MUST_FREE);
  if (!resp) {
    free(s);
  } else {
    MHD_add_response_header(resp, "Content-Type", status_text_json);
    if (retry_after_s) {
      char v[16];
      snprintf(v, sizeof v, "%u", retry_after_s);
      MHD_add_response_header(resp, "Retry-After", v);
    }
  }
  queue(r, status, resp);
}

void parleyd_reply_json(parleyd_req *r, unsigned status, json_t *body) {
  reply_json(r, status, body, 0);
}

/* A detail may echo request bytes (a path, a method): json_pack refuses invalid UTF-8,
 * which would turn a 4xx into a 500. Such a detail, or an overlong one, is copied with
 * every byte that is not printable ASCII replaced. */
static const char *safe_detail(const char *detail, char *buf, size_t cap) {
  if (!detail) return "";
  size_t n = strnlen(detail, cap);
  if (n < cap && parley_utf8_valid(detail, n)) return detail;
  size_t m = n < cap - 4 ? n : cap - 4;
  for (size_t i = 0; i < m; i++) {
    unsigned char c = (unsigned char)detail[i];
    buf[i] = c >= 0x20 && c < 0x7f ? (char)c : '?';
  }
  memcpy(buf + m, n > m ? "..." : "", n > m ? 4 : 1);
  return buf;
}

void parleyd_reply_error(parleyd_req *r, parley_err code, const char *detail) {
  parleyd_reply_error_retry(r, code, detail, 0);
}

void parleyd_reply_error_retry(parleyd_req *r, parley_err code, const char *detail,
                               unsigned retry_after_s) {
  char buf[512];
  detail = safe_detail(detail, buf, sizeof buf);
  json_t *o = json_pack("{s:s,s:s,s:s}", "code", parley_err_name(code), "hint",
                        parley_err_hint(code), "detail", detail);
  if (parley_err_status(code) >= 500 &&
      code != PARLEY_E_UNAVAILABLE) /* 503s are load, not faults */
    parley_log(PARLEY_LOG_ERROR, "http.server_error", "code=%s detail=\"%s\"",
               parley_err_name(code), detail);
  reply_json(r, (unsigned)parley_err_status(code), o, retry_after_s);
}

void parleyd_reply_err(parleyd_req *r, const parley_error *err) {
  parleyd_reply_error(r, err->code, err->detail);
}

json_t *parleyd_parse_body(parleyd_req *r) {
  parley_json_limits lim = PARLEY_JSON_LIMITS_DEFAULT;
  lim.max_bytes = parleyd->cfg.max_body;
  json_t *v = NULL;
  parley_error err;
  if (parley_json_parse_object((const char *)r->body.data, r->body.len, &lim, &v, &err) !=
      PARLEY_E_OK) {
    parleyd_reply_err(r, &err);
    return NULL;
  }
  return v;
}

const char *parleyd_header(parleyd_req *r, const char *name) {
  return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

const char *parleyd_query(parleyd_req *r, const char *name) {
  return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, name);
}

typedef struct {
  const char *name;
  unsigned n;
} header_count;

static enum MHD_Result count_header(void *cls, enum MHD_ValueKind kind, const char *key,
                                    const char *value) {
  (void)kind;
  (void)value;
  header_count *c = cls;
  if (key && strcasecmp(key, c->name) == 0) c->n++;
  return MHD_YES;
}

/* How many times a request header was sent (MHD's lookup only finds the first). */
unsigned parleyd_header_count(parleyd_req *r, const char *name) {
  header_count c = {name, 0};
  MHD_get_connection_values(r->conn, MHD_HEADER_KIND, count_header, &c);
  return c.n;
}
