/* The HTTP server over libmicrohttpd: limits, body collection, routing, metrics and
 * the access log. Handlers never see MHD's callback protocol; they answer through
 * reply.c. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "hub.h"
#include "parley/json.h"

static bool has_json_content_type(parleyd_req *r) {
  const char *ct = parleyd_header(r, MHD_HTTP_HEADER_CONTENT_TYPE);
  if (!ct) return false;
  static const char want[] = "application/json";
  if (strncasecmp(ct, want, sizeof want - 1) != 0) return false;
  char c = ct[sizeof want - 1];
  return c == 0 || c == ';' || c == ' ';
}

/* JSON, or the route's own media type (evidence chunks are octets; that handler then
 * refuses JSON itself, after authentication). */
static bool has_body_type(parleyd_req *r) {
  const char *want = parleyd_route_body_type(r->route);
  const char *ct = want ? parleyd_header(r, MHD_HTTP_HEADER_CONTENT_TYPE) : NULL;
  return (ct && strcasecmp(ct, want) == 0) || has_json_content_type(r);
}

/* Decoded query names and values must be text: valid UTF-8 without control characters. */
static bool is_text(const char *s) {
  if (!s) return true;
  size_t n = strlen(s);
  for (size_t i = 0; i < n; i++)
    if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) return false;
  return parley_utf8_valid(s, n);
}

static enum MHD_Result check_arg(void *cls, enum MHD_ValueKind kind, const char *key,
                                 const char *value) {
  (void)kind;
  bool *bad = cls;
  if (!is_text(key) || !is_text(value)) {
    *bad = true;
    return MHD_NO;
  }
  return MHD_YES;
}

/* The request target as sent must be printable ASCII with well-formed percent escapes
 * and no %00 (MHD would cut the decoded path or value there, so the handler would act
 * on less than was signed); decoded, the path and the query must be text. Returns
 * NULL if it is, else what is wrong. */
static const char *bad_target(parleyd_req *r) {
  for (const char *p = r->raw_uri; *p; p++) {
    unsigned char c = (unsigned char)*p;
    if (c <= 0x20 || c >= 0x7f)
      return "request target: bytes outside printable ASCII must be percent-encoded";
    if (c == '%') {
      if (!isxdigit((unsigned char)p[1]) || !isxdigit((unsigned char)p[2]))
        return "request target: '%' not followed by two hex digits";
      if (p[1] == '0' && p[2] == '0') return "request target: %00";
    }
  }
  if (!is_text(r->url)) return "request path: not valid UTF-8 text";
  bool bad = false;
  MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, check_arg, &bad);
  return bad ? "request query: not valid UTF-8 text" : NULL;
}

/* Makes sure a request that got to its handler is answered. */
static void finish(parleyd_req *r) {
  if (!r->replied) parleyd_write_finish(r);
  if (!r->replied) parleyd_reply_error(r, PARLEY_E_INTERNAL, "handler gave no answer");
}

static void dispatch(parleyd_req *r) {
  if (r->route_index < 0 && strcmp(r->method, "OPTIONS") == 0 && parleyd_cors_applies(r->url)) {
    parleyd_reply_response(r, 204, parleyd_cors_preflight());
    return;
  }
  if (r->route_index == -1) {
    parleyd_reply_error(r, PARLEY_E_NOT_FOUND, r->url);
    return;
  }
  if (r->route_index == -2) {
    parleyd_reply_error(r, PARLEY_E_METHOD_NOT_ALLOWED, r->method);
    return;
  }
  /* the head was authenticated before the body was read (on_request) */
  if (r->route->auth != PARLEYD_AUTH_PUBLIC && !parleyd_authenticate_body(r)) return;
  r->route->handler(r);
  /* a deferred write parks the connection until the writer's commit (writer.c) */
  if (r->finish && !r->replied && parleyd_write_park(r)) return;
  finish(r);
}

/* ---- slow clients ----------------------------------------------------------
 * MHD's connection timeout counts idle time only, so a client trickling a byte a second
 * holds a connection for ever (slowloris). Every connection therefore carries a deadline
 * for the request it is sending: timeout_s for the head, counted from the connection's
 * start or the end of its previous request, plus a second per 16 KiB of declared body.
 * A reaper thread shuts down the socket of a connection past its deadline; MHD then
 * sees the peer gone and closes it as usual. MHD notifies a connection's end before it
 * closes the socket, and both sides hold the lock, so the reaper never touches a
 * descriptor that has been closed and reused. */

typedef struct conn_slot {
  int fd;
  uint64_t deadline_ns; /* 0: none (the request is being handled or answered) */
  struct conn_slot *prev, *next;
} conn_slot;

static struct {
  pthread_mutex_t lock;
  pthread_cond_t wake;
  conn_slot *head;
  uint64_t head_ns; /* time allowed for a request head */
  bool stop, running;
  pthread_t thread;
} slow = {.lock = PTHREAD_MUTEX_INITIALIZER, .wake = PTHREAD_COND_INITIALIZER};

#define SLOW_BODY_BYTES_PER_S 16384

static void slow_set_deadline(struct MHD_Connection *conn, uint64_t from_now_ns) {
  const union MHD_ConnectionInfo *ci =
      MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
  conn_slot *s = ci ? ci->socket_context : NULL;
  if (!s) return;
  pthread_mutex_lock(&slow.lock);
  s->deadline_ns = from_now_ns ? parley_mono_ns() + from_now_ns : 0;
  pthread_mutex_unlock(&slow.lock);
}

static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                          enum MHD_ConnectionNotificationCode code) {
  (void)cls;
  if (code == MHD_CONNECTION_NOTIFY_STARTED) {
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    conn_slot *s = ci ? calloc(1, sizeof *s) : NULL;
    if (!s) return; /* no guard for this one; MHD's idle timeout still applies */
    s->fd = ci->connect_fd;
    pthread_mutex_lock(&slow.lock);
    s->deadline_ns = parley_mono_ns() + slow.head_ns;
    s->next = slow.head;
    if (slow.head) slow.head->prev = s;
    slow.head = s;
    pthread_mutex_unlock(&slow.lock);
    *socket_context = s;
  } else if (code == MHD_CONNECTION_NOTIFY_CLOSED && *socket_context) {
    conn_slot *s = *socket_context;
    pthread_mutex_lock(&slow.lock);
    if (s->prev)
      s->prev->next = s->next;
    else
      slow.head = s->next;
    if (s->next) s->next->prev = s->prev;
    pthread_mutex_unlock(&slow.lock);
    free(s);
    *socket_context = NULL;
  }
}

static void *slow_reaper(void *arg) {
  (void)arg;
  pthread_mutex_lock(&slow.lock);
  while (!slow.stop) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_nsec += 250 * 1000 * 1000;
    if (ts.tv_nsec >= 1000 * 1000 * 1000) {
      ts.tv_sec++;
      ts.tv_nsec -= 1000 * 1000 * 1000;
    }
    pthread_cond_timedwait(&slow.wake, &slow.lock, &ts);
    uint64_t now = parley_mono_ns();
    unsigned cut = 0;
    for (conn_slot *s = slow.head; s; s = s->next) {
      if (s->deadline_ns && now > s->deadline_ns) {
        shutdown(s->fd, SHUT_RDWR);
        s->deadline_ns = 0;
        cut++;
      }
    }
    if (cut) parley_log(PARLEY_LOG_INFO, "http.slow_clients_cut", "connections=%u", cut);
  }
  pthread_mutex_unlock(&slow.lock);
  return NULL;
}

/* First call: route, check limits and headers, and refuse an oversized or mistyped
 * body before reading any of it. Later calls: collect the body. Last call: dispatch. */
static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_size, void **con_cls) {
  parleyd_hub *hub = cls;
  (void)version;
  parleyd_req *r = *con_cls;
  if (!r) return MHD_NO; /* on_uri created it; only out of memory gets here */
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
    const char *bad = bad_target(r);
    if (bad) {
      r->body_refused = true;
      parleyd_reply_error(r, PARLEY_E_INVALID_ARGUMENT, bad);
      return MHD_YES;
    }
    r->route_index = parleyd_route_match(method, url, r);
    if (r->route_index >= 0) r->route = &parleyd_routes[r->route_index];
    if (atomic_load(&hub->stopping)) {
      r->body_refused = true;
      parleyd_reply_error(r, PARLEY_E_UNAVAILABLE, "shutting down");
      return MHD_YES;
    }
    const char *cl = parleyd_header(r, MHD_HTTP_HEADER_CONTENT_LENGTH);
    const char *te = parleyd_header(r, MHD_HTTP_HEADER_TRANSFER_ENCODING);
    uint64_t len = 0;
    if (cl && parleyd_header_count(r, MHD_HTTP_HEADER_CONTENT_LENGTH) > 1) {
      r->body_refused = true; /* which one frames the body? (RFC 9112 6.3) */
      parleyd_reply_error(r, PARLEY_E_INVALID_ARGUMENT, "repeated Content-Length");
      return MHD_YES;
    }
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
    if (te) { /* with a Content-Length too, it would be a request-smuggling ambiguity */
      r->body_refused = true;
      parleyd_reply_error(r, PARLEY_E_LENGTH_REQUIRED, "chunked bodies are not accepted");
      return MHD_YES;
    }
    if (len > 0 && r->route_index >= 0 && !has_body_type(r)) {
      r->body_refused = true;
      parleyd_reply_error(r, PARLEY_E_CONTENT_TYPE, NULL);
      return MHD_YES;
    }
    /* Authenticate before buffering: the signature, the key's role and its budgets are
     * checked from the headers, so a body is read only for a party allowed to send it.
     * A refusal queued now makes MHD answer without reading the body, and close. */
    if (r->route_index >= 0 && r->route->auth != PARLEYD_AUTH_PUBLIC &&
        !parleyd_authenticate_head(r, len)) {
      r->body_refused = true;
      return MHD_YES;
    }
    /* The body has its own time: the head's allowance again, plus a rate floor. */
    slow_set_deadline(conn, slow.head_ns + len / SLOW_BODY_BYTES_PER_S * 1000000000ull);
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
  if (r->finish) { /* called again after the writer resumed the connection */
    if (parleyd_write_ready(r)) finish(r);
    return MHD_YES;
  }
  if (!r->replied) {
    if (!r->body.data && parley_buf_append(&r->body, "", 0) != PARLEY_E_OK) return MHD_NO;
    slow_set_deadline(conn, 0); /* answering: MHD's idle timeout covers a slow reader */
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
  if (!r) return NULL;
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
  slow_set_deadline(conn, slow.head_ns); /* for the next request on this connection */
  parleyd_req *r = *con_cls;
  if (!r) return;
  /* A deferred write whose connection closed before its answer: finish it anyway, so its
   * context is freed (it ran on the writer, which stops before MHD does). */
  if (r->finish && !r->finished && parleyd_write_ready(r)) {
    r->gone = true;
    parleyd_write_finish(r);
  }
  uint64_t ns = parley_mono_ns() - r->t0;
  parleyd_metrics_record(r->route_index, r->replied ? r->status : 0,
                         r->streaming ? PARLEYD_NO_LATENCY : ns);
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
  unsigned flags =
      MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_ERROR_LOG | MHD_USE_ITC | MHD_ALLOW_SUSPEND_RESUME;
  slow.head_ns = (uint64_t)hub->cfg.timeout_s * 1000000000ull;
  /* Serve from the start of a whole second: every signature the previous process
   * accepted was created before it, unless dated ahead (auth.c). */
  struct timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  struct timespec wait = {0, 1000000000L - now.tv_nsec};
  if (wait.tv_nsec >= 1000000000L) wait = (struct timespec){1, 0};
  while (nanosleep(&wait, &wait) != 0 && errno == EINTR)
    ;
  if (parleyd_auth_start(err) != PARLEY_E_OK) return err->code;
  hub->mhd = MHD_start_daemon(
      flags, (uint16_t)hub->cfg.port, NULL, NULL, &on_request, hub, MHD_OPTION_SOCK_ADDR, &sa,
      MHD_OPTION_THREAD_POOL_SIZE, hub->cfg.threads, MHD_OPTION_CONNECTION_LIMIT,
      hub->cfg.max_connections, MHD_OPTION_PER_IP_CONNECTION_LIMIT, hub->cfg.max_conn_per_ip,
      MHD_OPTION_CONNECTION_TIMEOUT, hub->cfg.timeout_s, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
      hub->cfg.max_header, MHD_OPTION_NOTIFY_COMPLETED, &on_completed, hub,
      MHD_OPTION_EXTERNAL_LOGGER, &on_mhd_log, NULL, MHD_OPTION_URI_LOG_CALLBACK, &on_uri, hub,
      MHD_OPTION_LISTENING_ADDRESS_REUSE, 1, MHD_OPTION_NOTIFY_CONNECTION, &on_connection, NULL,
      MHD_OPTION_END);
  if (!hub->mhd)
    return parley_fail(err, PARLEY_E_CONFIG, "cannot listen on %s:%u", hub->cfg.listen_addr,
                       hub->cfg.port);
  slow.stop = false;
  if (pthread_create(&slow.thread, NULL, slow_reaper, NULL) != 0) {
    MHD_stop_daemon(hub->mhd);
    hub->mhd = NULL;
    return parley_fail(err, PARLEY_E_CONFIG, "cannot start the slow-client reaper");
  }
  slow.running = true;
  if (hub->cfg.port == 0) {
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(hub->mhd, MHD_DAEMON_INFO_BIND_PORT);
    if (info) hub->cfg.port = info->port;
  }
  return PARLEY_E_OK;
}

void parleyd_http_stop(parleyd_hub *hub) {
  if (hub->mhd) {
    /* Stop accepting, let requests in flight finish (bounded), then close. */
    atomic_store(&hub->stopping, true);
    MHD_socket ls = MHD_quiesce_daemon(hub->mhd);
    /* MHD may not stop while a stream's connection is suspended. After the quiesce: in
     * MHD 0.9.75 a pool thread busy with the resumed streams may take the listen socket
     * out of its epoll set at the same time as MHD_quiesce_daemon does, which aborts. */
    parleyd_streams_end();
    for (int i = 0; i < 100; i++) {
      const union MHD_DaemonInfo *info =
          MHD_get_daemon_info(hub->mhd, MHD_DAEMON_INFO_CURRENT_CONNECTIONS);
      if (!info || info->num_connections == 0) break;
      struct timespec ts = {0, 100 * 1000 * 1000};
      nanosleep(&ts, NULL);
    }
    /* Writes in flight are committed and their connections resumed and answered before
     * MHD closes them; a write asked for after this is answered 503 at once (writer.c). */
    parleyd_writer_stop();
    parleyd_writer_drain(5000); /* the pool threads answer what the writer resumed */
    MHD_stop_daemon(hub->mhd);
    parleyd_auth_stop();
    if (ls != MHD_INVALID_SOCKET) close(ls);
    hub->mhd = NULL;
  }
  if (slow.running) {
    pthread_mutex_lock(&slow.lock);
    slow.stop = true;
    pthread_cond_signal(&slow.wake);
    pthread_mutex_unlock(&slow.lock);
    pthread_join(slow.thread, NULL);
    slow.running = false;
  }
}
