/* The HTTP layer over libmicrohttpd: limits, body collection, routing, replies,
 * metrics and the access log. Handlers never see MHD's callback protocol. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "hub.h"
#include "parley/json.h"

static const char *status_text_json = "application/json";

static void queue(parleyd_req *r, unsigned status, struct MHD_Response *resp) {
  if (!resp) {
    r->status = 500;
    r->replied = true;
    return;
  }
  MHD_add_response_header(resp, "Cache-Control", "no-store");
  MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
  MHD_add_response_header(resp, "Content-Security-Policy",
                          "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'");
  if (MHD_queue_response(r->conn, status, resp) != MHD_YES)
    parley_log(PARLEY_LOG_WARN, "http.queue_failed", "status=%u", status);
  MHD_destroy_response(resp);
  r->status = (int)status;
  r->replied = true;
}

void parleyd_reply_raw(parleyd_req *r, unsigned status, const char *content_type,
                       const void *data, size_t len) {
  struct MHD_Response *resp =
      MHD_create_response_from_buffer(len, (void *)data, MHD_RESPMEM_MUST_COPY);
  if (resp && content_type)
    MHD_add_response_header(resp, "Content-Type", content_type);
  queue(r, status, resp);
}

void parleyd_reply_json(parleyd_req *r, unsigned status, json_t *body) {
  char *s = body ? json_dumps(body, JSON_COMPACT | JSON_ENSURE_ASCII) : NULL;
  json_decref(body);
  if (!s) {
    parleyd_reply_error(r, PARLEY_E_NO_MEMORY, NULL);
    return;
  }
  size_t n = strlen(s);
  struct MHD_Response *resp = MHD_create_response_from_buffer(n, s, MHD_RESPMEM_MUST_FREE);
  if (!resp)
    free(s);
  else
    MHD_add_response_header(resp, "Content-Type", status_text_json);
  queue(r, status, resp);
}

void parleyd_reply_error(parleyd_req *r, parley_err code, const char *detail) {
  json_t *o = json_pack("{s:s,s:s,s:s}", "code", parley_err_name(code), "hint",
                        parley_err_hint(code), "detail", detail ? detail : "");
  if (parley_err_status(code) >= 500 && code != PARLEY_E_UNAVAILABLE) /* 503s are load, not faults */
    parley_log(PARLEY_LOG_ERROR, "http.server_error", "code=%s detail=\"%s\"",
               parley_err_name(code), detail ? detail : "");
  parleyd_reply_json(r, (unsigned)parley_err_status(code), o);
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

static bool has_json_content_type(parleyd_req *r) {
  const char *ct = parleyd_header(r, MHD_HTTP_HEADER_CONTENT_TYPE);
  if (!ct)
    return false;
  static const char want[] = "application/json";
  if (strncasecmp(ct, want, sizeof want - 1) != 0)
    return false;
  char c = ct[sizeof want - 1];
  return c == 0 || c == ';' || c == ' ';
}

static void dispatch(parleyd_req *r) {
  if (r->route_index == -1) {
    parleyd_reply_error(r, PARLEY_E_NOT_FOUND, r->url);
    return;
  }
  if (r->route_index == -2) {
    parleyd_reply_error(r, PARLEY_E_METHOD_NOT_ALLOWED, r->method);
    return;
  }
  if (r->route->auth != PARLEYD_AUTH_PUBLIC && !parleyd_authenticate(r))
    return;
  r->route->handler(r);
  if (!r->replied)
    parleyd_reply_error(r, PARLEY_E_INTERNAL, "handler gave no answer");
}

/* First call: route, check limits and headers, and refuse an oversized or mistyped
 * body before reading any of it. Later calls: collect the body. Last call: dispatch. */
static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_size, void **con_cls) {
  parleyd_hub *hub = cls;
  (void)version;
  parleyd_req *r = *con_cls;
  if (!r)
    return MHD_NO; /* on_uri created it; only out of memory gets here */
  if (!r->started) {
    r->started = true;
    r->conn = conn;
    r->method = method;
    r->url = url;
    parley_buf_init(&r->body, hub->cfg.max_body);
    if (r->uri_too_long || strlen(url) > hub->cfg.max_url) {
      r->body_refused = true;
      parleyd_reply_error(r, PARLEY_E_URI_TOO_LONG, NULL);
      return MHD_YES;
    }
    r->route_index = parleyd_route_match(method, url, r);
    if (r->route_index >= 0)
      r->route = &parleyd_routes[r->route_index];
    if (atomic_load(&hub->stopping)) {
      r->body_refused = true;
      parleyd_reply_error(r, PARLEY_E_UNAVAILABLE, "shutting down");
      return MHD_YES;
    }
    const char *cl = parleyd_header(r, MHD_HTTP_HEADER_CONTENT_LENGTH);
    const char *te = parleyd_header(r, MHD_HTTP_HEADER_TRANSFER_ENCODING);
    uint64_t len = 0;
    if (cl && (!parley_parse_u64(cl, &len))) {
      r->body_refused = true;
      parleyd_reply_error(r, PARLEY_E_INVALID_ARGUMENT, "bad Content-Length");
      return MHD_YES;
    }
    if (len > hub->cfg.max_body) {
      r->body_refused = true;
      char d[96];
      snprintf(d, sizeof d, "limit is %zu bytes", hub->cfg.max_body);
      parleyd_reply_error(r, PARLEY_E_BODY_TOO_LARGE, d);
      return MHD_YES;
    }
    if (te && !cl) {
      r->body_refused = true;
      parleyd_reply_error(r, PARLEY_E_LENGTH_REQUIRED, "chunked bodies are not accepted");
      return MHD_YES;
    }
    if (len > 0 && r->route_index >= 0 && !has_json_content_type(r)) {
      r->body_refused = true;
      parleyd_reply_error(r, PARLEY_E_CONTENT_TYPE, NULL);
      return MHD_YES;
    }
    return MHD_YES;
  }
  if (r->body_refused) {
    *upload_size = 0; /* discard: the answer is already queued */
    return MHD_YES;
  }
  if (*upload_size) {
    if (parley_buf_append(&r->body, upload_data, *upload_size) != PARLEY_E_OK) {
      /* More than Content-Length promised, or no memory: drop the connection. */
      return MHD_NO;
    }
    *upload_size = 0;
    return MHD_YES;
  }
  if (!r->replied) {
    if (!r->body.data && parley_buf_append(&r->body, "", 0) != PARLEY_E_OK)
      return MHD_NO;
    dispatch(r);
  }
  return MHD_YES;
}

/* Called first for every request, with the URI exactly as sent (MHD hands the access
 * handler only the decoded path); the request state starts here. */
static void *on_uri(void *cls, const char *uri, struct MHD_Connection *conn) {
  parleyd_hub *hub = cls;
  (void)conn;
  parleyd_req *r = calloc(1, sizeof *r);
  if (!r)
    return NULL;
  r->t0 = parley_mono_ns();
  r->route_index = -1;
  size_t n = strnlen(uri, hub->cfg.max_url + 1);
  r->uri_too_long = n > hub->cfg.max_url;
  r->raw_uri = strndup(uri, hub->cfg.max_url);
  if (!r->raw_uri) {
    free(r);
    return NULL;
  }
  return r;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe) {
  (void)cls;
  (void)conn;
  parleyd_req *r = *con_cls;
  if (!r)
    return;
  uint64_t ns = parley_mono_ns() - r->t0;
  parleyd_metrics_record(r->route_index, r->replied ? r->status : 0, ns);
  parley_log(PARLEY_LOG_DEBUG, "http.request", "method=%s path=\"%.200s\" status=%d us=%llu%s",
             r->method, r->url, r->replied ? r->status : 0, (unsigned long long)(ns / 1000),
             toe == MHD_REQUEST_TERMINATED_COMPLETED_OK ? "" : " aborted=1");
  parley_buf_free(&r->body);
  free(r->raw_uri);
  free(r);
  *con_cls = NULL;
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap) {
  (void)cls;
  char msg[512];
  vsnprintf(msg, sizeof msg, fmt, ap);
  size_t n = strlen(msg);
  while (n && (msg[n - 1] == '\n' || msg[n - 1] == '"'))
    msg[--n] = 0;
  parley_log(PARLEY_LOG_DEBUG, "http.mhd", "msg=\"%s\"", msg);
}

parley_err parleyd_http_start(parleyd_hub *hub, parley_error *err) {
  struct sockaddr_in sa;
  memset(&sa, 0, sizeof sa);
  sa.sin_family = AF_INET;
  sa.sin_port = htons((uint16_t)hub->cfg.port);
  if (inet_pton(AF_INET, hub->cfg.listen_addr, &sa.sin_addr) != 1)
    return parley_fail(err, PARLEY_E_CONFIG, "listen: not an IPv4 address: %s",
                       hub->cfg.listen_addr);
  unsigned flags = MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_ERROR_LOG | MHD_USE_ITC;
  hub->mhd = MHD_start_daemon(
      flags, (uint16_t)hub->cfg.port, NULL, NULL, &on_request, hub, MHD_OPTION_SOCK_ADDR, &sa,
      MHD_OPTION_THREAD_POOL_SIZE, hub->cfg.threads, MHD_OPTION_CONNECTION_LIMIT,
      hub->cfg.max_connections, MHD_OPTION_PER_IP_CONNECTION_LIMIT, hub->cfg.max_conn_per_ip,
      MHD_OPTION_CONNECTION_TIMEOUT, hub->cfg.timeout_s, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
      hub->cfg.max_header, MHD_OPTION_NOTIFY_COMPLETED, &on_completed, hub,
      MHD_OPTION_EXTERNAL_LOGGER, &on_mhd_log, NULL, MHD_OPTION_URI_LOG_CALLBACK, &on_uri, hub, MHD_OPTION_LISTENING_ADDRESS_REUSE, 1,
      MHD_OPTION_END);
  if (!hub->mhd)
    return parley_fail(err, PARLEY_E_CONFIG, "cannot listen on %s:%u", hub->cfg.listen_addr,
                       hub->cfg.port);
  if (hub->cfg.port == 0) {
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(hub->mhd, MHD_DAEMON_INFO_BIND_PORT);
    if (info)
      hub->cfg.port = info->port;
  }
  return PARLEY_E_OK;
}

void parleyd_http_stop(parleyd_hub *hub) {
  if (hub->mhd) {
    /* Stop accepting, let requests in flight finish (bounded), then close. */
    atomic_store(&hub->stopping, true);
    MHD_socket ls = MHD_quiesce_daemon(hub->mhd);
    for (int i = 0; i < 100; i++) {
      const union MHD_DaemonInfo *info =
          MHD_get_daemon_info(hub->mhd, MHD_DAEMON_INFO_CURRENT_CONNECTIONS);
      if (!info || info->num_connections == 0)
        break;
      struct timespec ts = {0, 100 * 1000 * 1000};
      nanosleep(&ts, NULL);
    }
    MHD_stop_daemon(hub->mhd);
    if (ls != MHD_INVALID_SOCKET)
      close(ls);
    hub->mhd = NULL;
  }
}
