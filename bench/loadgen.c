/* loadgen: HTTP/1.1 keep-alive load against 127.0.0.1 over N connections, one epoll
 * thread. Closed loop (max rate) or open loop at a fixed rate (--rate R: request i is
 * scheduled at start + i/R and its latency runs from that scheduled time, so a slow
 * server is not hidden by the client waiting for it). Requests are plain GETs or RFC
 * 9421-signed GET/POST/PUT built with libparley, all signed BEFORE the timed run so that
 * client signing does not compete with the server for CPU. With --bodies, every request
 * carries a different body (e.g. distinct sealed envelopes, as written by msgprep), each
 * sent once. Prints one JSON line. */
#define _GNU_SOURCE /* memmem */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "parley/base.h"
#include "parley/crypto.h"
#include "parley/httpsig.h"

#define MAX_CONNECTIONS 1024
#define MAX_BODY_FILE (1u << 20)
#define MAX_RESPONSE (16u << 20)
#define MAX_HEADER 65536
#define MAX_PRESIGN 2000000u
#define MAX_BODIES_FILE (2ull << 30) /* --bodies: the whole file */

typedef struct {
  char *data;
  size_t len;
} request;

enum { C_CONNECTING, C_IDLE, C_BUSY, C_DEAD };

typedef struct {
  int fd;
  int state;
  uint32_t index, gen; /* epoll tag: events of an earlier socket of this slot are stale */
  const request *req;
  size_t woff;
  uint64_t t_sched; /* latency origin: scheduled (rate mode) or send time (max mode) */
  bool record;      /* inside the measured window */
  char *rbuf;
  size_t rlen, rcap;
  bool hdr_done, chunked, close_after, until_eof;
  size_t hdr_len;
  int status;
  uint64_t clen;
} conn;

static struct {
  char url[2048], sign_url[2048], authority[256], path[2048];
  uint16_t port;
  const char *method, *key_file, *body_file, *bodies_file, *label;
  unsigned connections;
  double duration, warmup, rate, timeout, drain;
  size_t presign;
  bool cycle;
  const char *ready_file;
  FILE *ok_log; /* --ok-log: the index of every request answered 2xx */
  long pids[16];
  unsigned n_pids;
} opt;

static request *reqs;
static size_t n_reqs, next_req;
static bool signed_mode, exhausted;

static uint64_t *lat;
static size_t n_lat, cap_lat;
static uint64_t n_non2xx, n_errors, n_timeouts, n_bytes_body, n_reconnects, last_done;
static uint64_t status_count[600];

static int ep;
static conn *conns;
static struct sockaddr_in target;

__attribute__((format(printf, 1, 2), noreturn)) static void die(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("loadgen: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
  exit(2);
}

static double parse_double(const char *s, const char *what) {
  char *end;
  errno = 0;
  double v = strtod(s, &end);
  if (errno || end == s || *end || v < 0 || v > 1e9) die("bad number for %s", what);
  return v;
}

/* Splits http://AUTHORITY/PATH[?QUERY] into its authority and its path with the query;
 * *query points at the '?' inside path_query, or is NULL. */
static bool split_url(const char *url, char *authority, size_t acap, char *path_query, size_t pcap,
                      const char **query) {
  if (strncmp(url, "http://", 7) != 0) return false;
  const char *a = url + 7, *p = strchr(a, '/');
  if (!p || p == a || (size_t)(p - a) >= acap || !parley_strlcpy(path_query, p, pcap)) return false;
  memcpy(authority, a, (size_t)(p - a));
  authority[p - a] = 0;
  *query = strchr(path_query, '?');
  return true;
}

/* Accepts http://127.0.0.1[:port]/path[?query] only: the benchmark never leaves the host. */
static void parse_url(const char *url) {
  static const char prefix[] = "http://127.0.0.1";
  const char *q;
  if (strncmp(url, prefix, sizeof prefix - 1) != 0 ||
      (url[sizeof prefix - 1] != ':' && url[sizeof prefix - 1] != '/'))
    die("only http://127.0.0.1[:port]/... is allowed, not %s", url);
  if (!parley_strlcpy(opt.url, url, sizeof opt.url) ||
      !split_url(url, opt.authority, sizeof opt.authority, opt.path, sizeof opt.path, &q))
    die("bad URL: %s", url);
  unsigned long port = 80;
  const char *colon = strchr(opt.authority, ':');
  if (colon) {
    char *end;
    errno = 0;
    port = strtoul(colon + 1, &end, 10);
    if (errno || end == colon + 1 || *end || port == 0 || port > 65535) die("bad port in %s", url);
  }
  opt.port = (uint16_t)port;
}

static char *read_file(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) die("cannot open %s", path);
  char *buf = malloc(MAX_BODY_FILE + 1);
  if (!buf) die("out of memory");
  size_t n = fread(buf, 1, MAX_BODY_FILE + 1, f);
  fclose(f);
  if (n > MAX_BODY_FILE) die("body file over 1 MiB: %s", path);
  *len = n;
  return buf;
}

typedef struct {
  const char *content_digest;
} hdr_ctx;

static const char *lookup(void *ctx, const char *name) {
  hdr_ctx *h = ctx;
  return strcmp(name, "content-digest") == 0 ? h->content_digest : NULL;
}

/* Builds one request; signs it when id is non-NULL (a fresh random nonce each time). */
static void build_request(request *r, const parley_identity *id, const char *keyid,
                          const char *body, size_t body_len) {
  char digest[PARLEY_CONTENT_DIGEST_LEN];
  hdr_ctx h = {NULL};
  if (body) {
    parley_content_digest_header((const uint8_t *)body, body_len, digest);
    h.content_digest = digest;
  }
  char *si = NULL, *sg = NULL;
  if (id) {
    /* The signed target URI is the hub's public URL plus the path sent. */
    const char *su = opt.sign_url[0] ? opt.sign_url : opt.url;
    char sign_auth[256], sign_path[2048];
    const char *query;
    if (!split_url(su, sign_auth, sizeof sign_auth, sign_path, sizeof sign_path, &query))
      die("bad URL to sign: %s", su);
    if (query) sign_path[query - sign_path] = 0; /* path without the query; query keeps its '?' */
    query = query ? strchr(su, '?') : NULL;
    parley_httpsig_request req = {opt.method, su, sign_auth, sign_path, query, lookup, &h};
    const char *comps[] = {"@method", "@target-uri", "content-digest"};
    parley_error err;
    if (parley_httpsig_sign(&req, comps, body ? 3 : 2, keyid, id->sign_sk.b, parley_now(), NULL,
                            &si, &sg, &err) != PARLEY_E_OK)
      die("signing failed: %s", err.detail);
  }
  parley_buf b;
  parley_buf_init(&b, 2 * MAX_BODY_FILE);
  char line[PARLEY_HTTPSIG_MAX_HEADER + 128];
  int n = snprintf(line, sizeof line,
                   "%s %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: parley-loadgen\r\n"
                   "Accept: application/json\r\n",
                   opt.method, opt.path, opt.authority);
  if (n < 0 || (size_t)n >= sizeof line || parley_buf_append(&b, line, (size_t)n) != PARLEY_E_OK)
    die("request line too long");
  if (body) {
    n = snprintf(line, sizeof line,
                 "Content-Type: application/json\r\nContent-Length: %zu\r\n"
                 "Content-Digest: %s\r\n",
                 body_len, digest);
    if (n < 0 || (size_t)n >= sizeof line || parley_buf_append(&b, line, (size_t)n))
      die("header too long");
  }
  if (id) {
    n = snprintf(line, sizeof line, "Signature-Input: %s\r\nSignature: %s\r\n", si, sg);
    if (n < 0 || (size_t)n >= sizeof line || parley_buf_append(&b, line, (size_t)n))
      die("signature header too long");
    free(si);
    free(sg);
  }
  if (parley_buf_append(&b, "\r\n", 2) ||
      (body && body_len && parley_buf_append(&b, body, body_len)))
    die("request too large");
  r->data = parley_buf_steal(&b, &r->len);
  if (!r->data) die("out of memory");
}

/* --bodies FILE: a sequence of (4-byte big-endian length, body) records, each body 1 byte
 * to 1 MiB. Returns the file's bytes; offs, lens and n describe the bodies in it. */
static char *read_bodies(const char *path, size_t **offs, size_t **lens, size_t *n) {
  FILE *f = fopen(path, "rb");
  if (!f) die("cannot open %s", path);
  if (fseek(f, 0, SEEK_END) != 0) die("cannot seek %s", path);
  long size = ftell(f);
  if (size < 0 || (unsigned long long)size > MAX_BODIES_FILE) die("%s: over 2 GiB", path);
  rewind(f);
  char *buf = malloc((size_t)size + 1);
  if (!buf) die("out of memory");
  if (fread(buf, 1, (size_t)size, f) != (size_t)size) die("cannot read %s", path);
  fclose(f);
  size_t cap = 1024, count = 0, off = 0, total = (size_t)size;
  *offs = malloc(cap * sizeof **offs);
  *lens = malloc(cap * sizeof **lens);
  if (!*offs || !*lens) die("out of memory");
  while (off < total) {
    if (total - off < 4) die("%s: truncated length at byte %zu", path, off);
    const uint8_t *h = (const uint8_t *)buf + off;
    size_t len = (size_t)h[0] << 24 | (size_t)h[1] << 16 | (size_t)h[2] << 8 | h[3];
    off += 4;
    if (len == 0 || len > MAX_BODY_FILE || len > total - off)
      die("%s: bad body length %zu at byte %zu", path, len, off - 4);
    if (count == MAX_PRESIGN) die("%s: more than %u bodies", path, MAX_PRESIGN);
    if (count == cap) {
      cap *= 2;
      size_t *a = realloc(*offs, cap * sizeof *a), *b = a ? realloc(*lens, cap * sizeof *b) : NULL;
      if (!a || !b) die("out of memory");
      *offs = a;
      *lens = b;
    }
    (*offs)[count] = off;
    (*lens)[count] = len;
    count++;
    off += len;
  }
  if (!count) die("%s holds no body", path);
  *n = count;
  return buf;
}

static void prepare_requests(void) {
  char *body = NULL;
  size_t body_len = 0;
  if (opt.body_file) body = read_file(opt.body_file, &body_len);
  size_t *b_offs = NULL, *b_lens = NULL, n_bodies = 0;
  char *bodies = NULL;
  if (opt.bodies_file) bodies = read_bodies(opt.bodies_file, &b_offs, &b_lens, &n_bodies);
  parley_identity id;
  char keyid[PARLEY_KEY_ID_LEN];
  if (opt.key_file) {
    parley_error err;
    if (parley_identity_load(opt.key_file, NULL, &id, &err) != PARLEY_E_OK)
      die("cannot load key: %s", err.detail);
    parley_sign_pk_key_id(&id.sign_pk, keyid);
    signed_mode = true;
  }
  if (bodies) {
    /* One request per body; --presign N takes the first N only. */
    n_reqs = opt.presign && opt.presign < n_bodies ? opt.presign : n_bodies;
  } else if (!signed_mode) {
    n_reqs = 1; /* the same bytes every time */
  } else if (opt.presign) {
    n_reqs = opt.presign;
  } else if (opt.rate > 0) {
    n_reqs = (size_t)(opt.rate * (opt.warmup + opt.duration) * 1.05) + opt.connections + 16;
  } else {
    n_reqs = 200000;
  }
  if (n_reqs > MAX_PRESIGN) die("too many requests to pre-sign (max 2000000)");
  reqs = calloc(n_reqs, sizeof *reqs);
  if (!reqs) die("out of memory");
  for (size_t i = 0; i < n_reqs; i++) {
    if (bodies)
      build_request(&reqs[i], signed_mode ? &id : NULL, keyid, bodies + b_offs[i], b_lens[i]);
    else
      build_request(&reqs[i], signed_mode ? &id : NULL, keyid, body, body_len);
  }
  if (signed_mode) parley_identity_wipe(&id);
  free(body);
  free(bodies);
  free(b_offs);
  free(b_lens);
}

/* Next request to send, or NULL once the pre-signed pool is used up. */
static const request *take_request(void) {
  if (!signed_mode && !opt.bodies_file) return &reqs[0];
  if (opt.cycle) return &reqs[next_req++ % n_reqs];
  if (next_req >= n_reqs) {
    exhausted = true;
    return NULL;
  }
  return &reqs[next_req++];
}

static void record_latency(uint64_t ns) {
  if (n_lat == cap_lat) {
    size_t nc = cap_lat ? cap_lat * 2 : 65536;
    uint64_t *p = realloc(lat, nc * sizeof *p);
    if (!p) die("out of memory");
    lat = p;
    cap_lat = nc;
  }
  lat[n_lat++] = ns;
}

static void conn_open(conn *c) {
  c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (c->fd < 0) die("socket: %s", strerror(errno));
  int one = 1;
  setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  c->state = C_CONNECTING;
  c->rlen = 0;
  c->req = NULL;
  if (connect(c->fd, (struct sockaddr *)&target, sizeof target) != 0 && errno != EINPROGRESS)
    die("connect: %s", strerror(errno));
  c->gen++;
  struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLET | EPOLLRDHUP,
                           .data.u64 = ((uint64_t)c->gen << 32 | c->index) + 1};
  if (epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev) != 0) die("epoll_ctl: %s", strerror(errno));
}

static void conn_close(conn *c) {
  if (c->fd >= 0) {
    epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
  }
  c->fd = -1;
  c->state = C_DEAD;
}

/* A failed request: counted, and the connection is replaced. */
static void conn_fail(conn *c, bool timeout) {
  if (getenv("LOADGEN_DEBUG"))
    fprintf(stderr, "loadgen: fail state=%d timeout=%d errno=%s rlen=%zu hdr=%d\n", c->state,
            timeout, strerror(errno), c->rlen, c->hdr_done);
  if (c->state == C_BUSY && c->record) {
    if (timeout)
      n_timeouts++;
    else
      n_errors++;
  } else if (c->state == C_CONNECTING) {
    n_errors++;
  }
  conn_close(c);
  conn_open(c);
  n_reconnects++;
}

static void conn_write(conn *c) {
  while (c->woff < c->req->len) {
    ssize_t n = send(c->fd, c->req->data + c->woff, c->req->len - c->woff, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) return;
      if (errno == EINTR) continue;
      conn_fail(c, false);
      return;
    }
    c->woff += (size_t)n;
  }
}

static void conn_send(conn *c, const request *r, uint64_t t_sched, bool record) {
  c->req = r;
  c->woff = 0;
  c->t_sched = t_sched;
  c->record = record;
  c->state = C_BUSY;
  c->rlen = 0;
  c->hdr_done = c->chunked = c->close_after = c->until_eof = false;
  c->status = 0;
  c->clen = 0;
  conn_write(c);
}

static bool header_is(const char *line, size_t len, const char *name, const char **value,
                      size_t *vlen) {
  size_t n = strlen(name);
  if (len <= n || strncasecmp(line, name, n) != 0 || line[n] != ':') return false;
  const char *v = line + n + 1, *e = line + len;
  while (v < e && (*v == ' ' || *v == '\t'))
    v++;
  while (e > v && (e[-1] == ' ' || e[-1] == '\t'))
    e--;
  *value = v;
  *vlen = (size_t)(e - v);
  return true;
}

/* Parses the status line and headers once they are complete. -1 on a malformed
 * response, 0 when more bytes are needed, 1 when parsed. */
static int parse_head(conn *c) {
  char *end = memmem(c->rbuf, c->rlen, "\r\n\r\n", 4);
  if (!end) return c->rlen > MAX_HEADER ? -1 : 0;
  c->hdr_len = (size_t)(end - c->rbuf) + 4;
  if (c->rlen < 12 || memcmp(c->rbuf, "HTTP/1.", 7) != 0 || c->rbuf[8] != ' ') return -1;
  int st = 0;
  for (int i = 9; i < 12; i++) {
    if (c->rbuf[i] < '0' || c->rbuf[i] > '9') return -1;
    st = st * 10 + (c->rbuf[i] - '0');
  }
  if (st < 100 || st > 599) return -1;
  c->status = st;
  bool has_len = false;
  if (c->rbuf[7] == '0') c->close_after = true; /* HTTP/1.0 without keep-alive */
  const char *p = memchr(c->rbuf, '\n', c->hdr_len) + 1;
  while (p < end) {
    const char *nl = memchr(p, '\r', (size_t)(end + 2 - p));
    if (!nl) return -1;
    size_t len = (size_t)(nl - p);
    const char *v;
    size_t vl;
    if (header_is(p, len, "content-length", &v, &vl)) {
      char tmp[24];
      if (vl == 0 || vl >= sizeof tmp) return -1;
      memcpy(tmp, v, vl);
      tmp[vl] = 0;
      if (!parley_parse_u64(tmp, &c->clen) || c->clen > MAX_RESPONSE) return -1;
      has_len = true;
    } else if (header_is(p, len, "transfer-encoding", &v, &vl)) {
      if (vl >= 7 && strncasecmp(v + vl - 7, "chunked", 7) == 0) c->chunked = true;
    } else if (header_is(p, len, "connection", &v, &vl)) {
      if (vl == 5 && strncasecmp(v, "close", 5) == 0) c->close_after = true;
      if (vl == 10 && strncasecmp(v, "keep-alive", 10) == 0) c->close_after = false;
    }
    p = nl + 2;
  }
  if (!has_len && !c->chunked) {
    if (st < 200 || st == 204 || st == 304)
      c->clen = 0;
    else
      c->until_eof = true;
  }
  c->hdr_done = true;
  return 1;
}

/* Where the response ends (offset past it), 0 if incomplete, -1 if malformed; *body gets
 * the number of body bytes. */
static long long response_end(conn *c, uint64_t *body) {
  if (c->until_eof) return 0;
  if (!c->chunked) {
    if (c->rlen - c->hdr_len < c->clen) return 0;
    *body = c->clen;
    return (long long)(c->hdr_len + c->clen);
  }
  size_t p = c->hdr_len;
  uint64_t total = 0;
  for (;;) {
    char *nl = memmem(c->rbuf + p, c->rlen - p, "\r\n", 2);
    if (!nl) return c->rlen - p > 64 ? -1 : 0;
    char *e;
    errno = 0;
    unsigned long long sz = strtoull(c->rbuf + p, &e, 16);
    if (errno || e == c->rbuf + p || sz > MAX_RESPONSE) return -1;
    p = (size_t)(nl - c->rbuf) + 2;
    if (sz == 0) {
      if (c->rlen - p >= 2 && memcmp(c->rbuf + p, "\r\n", 2) == 0) {
        *body = total;
        return (long long)(p + 2);
      }
      char *t = memmem(c->rbuf + p - 2, c->rlen - (p - 2), "\r\n\r\n", 4);
      if (!t) return 0;
      *body = total;
      return (long long)((size_t)(t - c->rbuf) + 4);
    }
    if (c->rlen - p < sz + 2) return 0;
    total += sz;
    p += sz + 2;
  }
}

static void complete(conn *c, uint64_t now, uint64_t body) {
  last_done = now;
  if (opt.ok_log && c->status >= 200 && c->status <= 299)
    fprintf(opt.ok_log, "%zu\n", (size_t)(c->req - reqs));
  if (c->record) {
    record_latency(now - c->t_sched);
    if (c->status < 200 || c->status > 299) n_non2xx++;
    status_count[c->status]++;
    n_bytes_body += body;
  }
  c->req = NULL;
  if (c->close_after) {
    conn_close(c);
    conn_open(c);
    n_reconnects++;
  } else {
    c->state = C_IDLE;
  }
}

/* Reads what is there, then parses: a response and the server's close can arrive in
 * the same batch (HTTP/1.0, Connection: close), so EOF is looked at after parsing. */
static void conn_read(conn *c) {
  bool eof = false;
  for (;;) {
    if (c->rcap - c->rlen < 16384) {
      size_t nc = c->rcap ? c->rcap * 2 : 65536;
      if (nc > MAX_RESPONSE + MAX_HEADER) {
        conn_fail(c, false);
        return;
      }
      char *p = realloc(c->rbuf, nc);
      if (!p) die("out of memory");
      c->rbuf = p;
      c->rcap = nc;
    }
    ssize_t n = recv(c->fd, c->rbuf + c->rlen, c->rcap - c->rlen, 0);
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      if (errno == EINTR) continue;
      conn_fail(c, false);
      return;
    }
    if (n == 0) {
      eof = true;
      break;
    }
    c->rlen += (size_t)n;
  }
  if (c->state == C_BUSY) {
    if (!c->hdr_done) {
      int h = parse_head(c);
      if (h < 0) {
        conn_fail(c, false);
        return;
      }
    }
    if (c->hdr_done) {
      uint64_t body = 0;
      long long e = c->until_eof ? 0 : response_end(c, &body);
      if (e < 0) {
        conn_fail(c, false);
        return;
      }
      if (e == 0 && eof && c->until_eof) {
        c->close_after = true; /* the body ended with the connection */
        complete(c, parley_mono_ns(), c->rlen - c->hdr_len);
        return;
      }
      if (e > 0) {
        if (eof) c->close_after = true;
        complete(c, parley_mono_ns(), body);
        return;
      }
    }
  }
  if (!eof) return;
  if (c->state == C_BUSY) {
    conn_fail(c, false); /* closed before a whole response */
  } else if (c->state == C_IDLE) {
    conn_close(c); /* an idle keep-alive closed by the server: reconnect quietly */
    conn_open(c);
    n_reconnects++;
  }
}

static void on_event(uint64_t tag, uint32_t events) {
  conn *c = &conns[(uint32_t)(tag - 1)];
  if ((uint32_t)((tag - 1) >> 32) != c->gen) return; /* for a socket already closed in this batch */
  int fd = c->fd;
  if (c->state == C_CONNECTING) {
    if (events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) {
      int e = 0;
      socklen_t l = sizeof e;
      getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &e, &l);
      if (e || (events & (EPOLLERR | EPOLLHUP))) {
        fprintf(stderr, "loadgen: connect: %s\n", strerror(e ? e : ECONNREFUSED));
        exit(1);
      }
      c->state = C_IDLE;
    }
    return;
  }
  if ((events & EPOLLOUT) && c->state == C_BUSY && c->woff < c->req->len) conn_write(c);
  if (c->fd == fd && (events & (EPOLLIN | EPOLLRDHUP | EPOLLERR | EPOLLHUP))) conn_read(c);
}

static void arm(int tfd, uint64_t at_ns) {
  struct itimerspec its;
  memset(&its, 0, sizeof its);
  /* parley_mono_ns() reads CLOCK_MONOTONIC; the timer uses the same clock. */
  if (at_ns == 0) at_ns = 1;
  its.it_value.tv_sec = (time_t)(at_ns / 1000000000u);
  its.it_value.tv_nsec = (long)(at_ns % 1000000000u);
  timerfd_settime(tfd, TFD_TIMER_ABSTIME, &its, NULL);
}

/* CPU seconds (user + system, all threads) used so far by the --pid processes. */
static double server_cpu(void) {
  static long tick;
  if (!tick) tick = sysconf(_SC_CLK_TCK);
  double total = 0;
  for (unsigned i = 0; i < opt.n_pids; i++) {
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%ld/stat", opt.pids[i]);
    FILE *f = fopen(path, "r");
    if (!f) continue;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    char *p = strrchr(buf, ')'); /* the command name may hold spaces */
    if (!p) continue;
    p++;
    /* After ") ": state is field 3; utime and stime are fields 14 and 15. */
    unsigned long long v[2] = {0, 0};
    for (int field = 3; field <= 15 && p; field++) {
      p += strspn(p, " ");
      if (field >= 14) v[field - 14] = strtoull(p, NULL, 10);
      p = strchr(p, ' ');
    }
    total += (double)(v[0] + v[1]) / (double)tick;
  }
  return total;
}

/* Machine-wide CPU seconds so far, from /proc/stat: busy in processes (user, nice,
 * system), in interrupts (irq, softirq: loopback TCP is mostly here), and stolen. */
static void machine_cpu(double *busy, double *irq, double *steal) {
  *busy = *irq = *steal = 0;
  FILE *f = fopen("/proc/stat", "r");
  if (!f) return;
  unsigned long long v[8] = {0};
  int n = fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3],
                 &v[4], &v[5], &v[6], &v[7]);
  fclose(f);
  if (n < 8) return;
  double tick = (double)sysconf(_SC_CLK_TCK);
  /* user nice system idle iowait irq softirq steal */
  *busy = (double)(v[0] + v[1] + v[2]) / tick;
  *irq = (double)(v[5] + v[6]) / tick;
  *steal = (double)v[7] / tick;
}

static double self_cpu(void) {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

static double pct_ms(double p) {
  if (!n_lat) return 0;
  size_t i = (size_t)(p * (double)(n_lat - 1) + 0.5);
  return (double)lat[i] / 1e6;
}

static void usage(void) {
  fprintf(stderr,
          "usage: loadgen --url http://127.0.0.1:PORT/PATH [options]\n"
          "  --connections N   keep-alive connections (default 32)\n"
          "  --duration S      measured seconds (default 10)\n"
          "  --warmup S        unmeasured seconds before (default 1)\n"
          "  --rate R          open loop at R requests/s (default: closed loop, max rate)\n"
          "  --method M        GET (default), POST or PUT\n"
          "  --body FILE       request body (JSON) for POST/PUT, with Content-Digest\n"
          "  --bodies FILE     a different body for each request: 4-byte big-endian length\n"
          "                    then the bytes, repeated (msgprep writes these); each request\n"
          "                    is sent once (no --cycle: the run ends when they run out)\n"
          "  --key FILE        sign every request (RFC 9421) with this unprotected key file\n"
          "  --sign-url URL    target URI to sign (default: --url)\n"
          "  --presign N       signed requests to prepare (default: rate x time, or 200000)\n"
          "  --cycle           reuse the pre-signed requests in a loop (for servers that do\n"
          "                    not check signatures: nonces repeat)\n"
          "  --timeout S       per-request timeout (default 10)\n"
          "  --ready FILE      create FILE when the load starts (after pre-signing)\n"
          "  --pid PID         a server process whose CPU time to report (repeatable)\n"
          "  --label NAME      name echoed in the JSON result\n"
          "  --ok-log FILE     write the index (in --bodies order) of every request\n"
          "                    answered 2xx, one a line, warm-up included\n");
  exit(2);
}

int main(int argc, char **argv) {
  opt.connections = 32;
  opt.duration = 10;
  opt.warmup = 1;
  opt.timeout = 10;
  opt.drain = 5;
  opt.method = "GET";
  opt.label = "";
  static const struct option lo[] = {{"url", required_argument, 0, 'u'},
                                     {"connections", required_argument, 0, 'c'},
                                     {"duration", required_argument, 0, 'd'},
                                     {"warmup", required_argument, 0, 'w'},
                                     {"rate", required_argument, 0, 'r'},
                                     {"method", required_argument, 0, 'm'},
                                     {"body", required_argument, 0, 'b'},
                                     {"bodies", required_argument, 0, 'B'},
                                     {"key", required_argument, 0, 'k'},
                                     {"sign-url", required_argument, 0, 's'},
                                     {"presign", required_argument, 0, 'p'},
                                     {"timeout", required_argument, 0, 't'},
                                     {"label", required_argument, 0, 'l'},
                                     {"cycle", no_argument, 0, 'y'},
                                     {"ready", required_argument, 0, 'R'},
                                     {"pid", required_argument, 0, 'P'},
                                     {"ok-log", required_argument, 0, 'O'},
                                     {"help", no_argument, 0, 'h'},
                                     {0, 0, 0, 0}};
  const char *url = NULL;
  int ch;
  while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1) {
    switch (ch) {
    case 'u':
      url = optarg;
      break;
    case 'c': {
      double v = parse_double(optarg, "--connections");
      if (v < 1 || v > MAX_CONNECTIONS) die("--connections must be 1..1024");
      opt.connections = (unsigned)v;
      break;
    }
    case 'd':
      opt.duration = parse_double(optarg, "--duration");
      break;
    case 'w':
      opt.warmup = parse_double(optarg, "--warmup");
      break;
    case 'r':
      opt.rate = parse_double(optarg, "--rate");
      break;
    case 'm':
      if (strcmp(optarg, "GET") && strcmp(optarg, "POST") && strcmp(optarg, "PUT"))
        die("--method must be GET, POST or PUT");
      opt.method = optarg;
      break;
    case 'b':
      opt.body_file = optarg;
      break;
    case 'B':
      opt.bodies_file = optarg;
      break;
    case 'k':
      opt.key_file = optarg;
      break;
    case 's':
      if (strncmp(optarg, "http://", 7) != 0 ||
          !parley_strlcpy(opt.sign_url, optarg, sizeof opt.sign_url))
        die("bad --sign-url %s", optarg);
      break;
    case 'p':
      opt.presign = (size_t)parse_double(optarg, "--presign");
      break;
    case 't':
      opt.timeout = parse_double(optarg, "--timeout");
      break;
    case 'l':
      opt.label = optarg;
      break;
    case 'y':
      opt.cycle = true;
      break;
    case 'R':
      opt.ready_file = optarg;
      break;
    case 'O':
      if (!(opt.ok_log = fopen(optarg, "w"))) die("cannot create %s", optarg);
      break;
    case 'P': {
      double v = parse_double(optarg, "--pid");
      if (v < 1 || opt.n_pids == 16) die("--pid: a process id, at most 16 of them");
      opt.pids[opt.n_pids++] = (long)v;
      break;
    }
    default:
      usage();
    }
  }
  if (!url || optind != argc || opt.duration <= 0 || opt.timeout <= 0) usage();
  if ((opt.body_file || opt.bodies_file) && strcmp(opt.method, "GET") == 0)
    die("--body and --bodies need --method POST or PUT");
  if (opt.body_file && opt.bodies_file) die("--body or --bodies, not both");
  if (opt.bodies_file && opt.cycle) die("--bodies sends each body once: no --cycle");
  parse_url(url);
  if (!parley_init()) die("cannot initialise libsodium");

  uint64_t t_prep = parley_mono_ns();
  prepare_requests();
  double prep_s = (double)(parley_mono_ns() - t_prep) / 1e9;

  memset(&target, 0, sizeof target);
  target.sin_family = AF_INET;
  target.sin_port = htons(opt.port);
  target.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ep = epoll_create1(EPOLL_CLOEXEC);
  int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
  if (ep < 0 || tfd < 0) die("epoll/timerfd: %s", strerror(errno));
  struct epoll_event tev = {.events = EPOLLIN, .data.u64 = 0};
  epoll_ctl(ep, EPOLL_CTL_ADD, tfd, &tev);

  conns = calloc(opt.connections, sizeof *conns);
  if (!conns) die("out of memory");
  for (unsigned i = 0; i < opt.connections; i++) {
    conns[i].index = i;
    conn_open(&conns[i]);
  }
  /* Wait (bounded) until every connection is up, so connects are not measured. */
  uint64_t t_conn = parley_mono_ns();
  for (;;) {
    unsigned up = 0;
    for (unsigned i = 0; i < opt.connections; i++)
      up += conns[i].state == C_IDLE;
    if (up == opt.connections) break;
    if (parley_mono_ns() - t_conn > 5000000000ull) die("connections not established in 5 s");
    struct epoll_event evs[256];
    int n = epoll_wait(ep, evs, 256, 100);
    for (int i = 0; i < n; i++)
      if (evs[i].data.u64) on_event(evs[i].data.u64, evs[i].events);
  }

  if (opt.ready_file) {
    FILE *rf = fopen(opt.ready_file, "w");
    if (!rf) die("cannot create %s", opt.ready_file);
    fclose(rf);
  }
  const uint64_t start = parley_mono_ns();
  const uint64_t m_start = start + (uint64_t)(opt.warmup * 1e9);
  const uint64_t m_end = m_start + (uint64_t)(opt.duration * 1e9);
  const uint64_t hard_end = m_end + (uint64_t)(opt.drain * 1e9);
  const uint64_t timeout_ns = (uint64_t)(opt.timeout * 1e9);
  const double interval = opt.rate > 0 ? 1e9 / opt.rate : 0;
  uint64_t scheduled = 0; /* rate mode: requests scheduled so far */
  uint64_t late_sends = 0;
  struct epoll_event evs[256];
  /* CPU of the server(s) and of this process over the measured window. */
  double cpu_s0 = 0, cpu_s1 = 0, cpu_c0 = 0, cpu_c1 = 0, m_b0 = 0, m_b1 = 0, m_st0 = 0, m_st1 = 0,
         m_i0 = 0, m_i1 = 0;
  uint64_t cpu_t0 = 0, cpu_t1 = 0;

  for (;;) {
    uint64_t now = parley_mono_ns();
    if (!cpu_t0 && now >= m_start) {
      cpu_t0 = now;
      cpu_s0 = server_cpu();
      cpu_c0 = self_cpu();
      machine_cpu(&m_b0, &m_i0, &m_st0);
    }
    if (cpu_t0 && !cpu_t1 && now >= m_end) {
      cpu_t1 = now;
      cpu_s1 = server_cpu();
      cpu_c1 = self_cpu();
      machine_cpu(&m_b1, &m_i1, &m_st1);
    }
    if (now >= hard_end) break;
    /* Issue what is due. */
    bool more = !exhausted;
    if (opt.rate > 0) {
      for (unsigned i = 0; i < opt.connections && more; i++) {
        if (conns[i].state != C_IDLE) continue;
        uint64_t t = start + (uint64_t)((double)scheduled * interval);
        /* Slots whose time ran out while no connection was free: timeouts, not sent. */
        while (t <= now && t < m_end && now - t > timeout_ns) {
          if (t >= m_start) n_timeouts++;
          scheduled++;
          t = start + (uint64_t)((double)scheduled * interval);
        }
        if (t > now || t >= m_end) break;
        const request *r = take_request();
        if (!r) break;
        if (now - t > 1000000)
          late_sends++; /* sent over 1 ms after its slot: waited for a connection */
        conn_send(&conns[i], r, t, t >= m_start);
        scheduled++;
      }
    } else if (now < m_end) {
      for (unsigned i = 0; i < opt.connections; i++) {
        if (conns[i].state != C_IDLE) continue;
        const request *r = take_request();
        if (!r) break;
        conn_send(&conns[i], r, now, now >= m_start);
      }
    }
    unsigned busy = 0;
    for (unsigned i = 0; i < opt.connections; i++) {
      if (conns[i].state == C_BUSY) {
        if (now > conns[i].t_sched && now - conns[i].t_sched > timeout_ns)
          conn_fail(&conns[i], true);
        else
          busy++;
      }
    }
    uint64_t next_sched = opt.rate > 0 ? start + (uint64_t)((double)scheduled * interval) : 0;
    bool sending_over = exhausted || (opt.rate > 0 ? next_sched >= m_end : now >= m_end);
    if (sending_over && busy == 0) break;
    uint64_t wake = now + 50000000ull; /* at least every 50 ms, for timeouts */
    if (!sending_over) {
      if (opt.rate > 0 && next_sched < wake) wake = next_sched > now ? next_sched : now + 1000;
      if (opt.rate <= 0 && m_end < wake) wake = m_end;
    }
    arm(tfd, wake);
    int n = epoll_wait(ep, evs, 256, 100);
    for (int i = 0; i < n; i++) {
      if (!evs[i].data.u64) {
        uint64_t x;
        ssize_t r = read(tfd, &x, sizeof x);
        (void)r;
        continue;
      }
      on_event(evs[i].data.u64, evs[i].events);
    }
  }
  if (cpu_t0 && !cpu_t1) {
    cpu_t1 = parley_mono_ns();
    cpu_s1 = server_cpu();
    cpu_c1 = self_cpu();
    machine_cpu(&m_b1, &m_i1, &m_st1);
  }
  double cpu_window = cpu_t1 > cpu_t0 ? (double)(cpu_t1 - cpu_t0) / 1e9 : 0;
  unsigned unfinished = 0;
  for (unsigned i = 0; i < opt.connections; i++)
    if (conns[i].state == C_BUSY && conns[i].record) unfinished++;
  n_timeouts += unfinished;
  /* Rate mode: slots of the measured window never sent before the drain ran out. */
  uint64_t unsent = 0;
  if (opt.rate > 0 && !exhausted) {
    uint64_t slots_end = (uint64_t)((double)(m_end - start) / interval);
    uint64_t first = (uint64_t)((double)(m_start - start) / interval);
    uint64_t from = scheduled > first ? scheduled : first;
    unsent = slots_end > from ? slots_end - from : 0;
  }
  double sum = 0;
  for (size_t i = 0; i < n_lat; i++)
    sum += (double)lat[i];

  /* Throughput over the measured window, or until the last answer if that is later. */
  double elapsed = opt.duration;
  if (last_done > m_end) elapsed = (double)(last_done - m_start) / 1e9;
  if (exhausted && last_done > m_start && last_done < m_end)
    elapsed = (double)(last_done - m_start) / 1e9;
  if (n_lat) qsort(lat, n_lat, sizeof *lat, cmp_u64);
  json_t *st = json_object();
  for (int i = 0; i < 600; i++)
    if (status_count[i]) {
      char k[16];
      snprintf(k, sizeof k, "%d", i);
      json_object_set_new(st, k, json_integer((json_int_t)status_count[i]));
    }
  json_t *o = json_pack(
      "{s:s,s:s,s:s,s:s,s:b,s:i,s:f,s:f,s:I,s:f,s:{s:f,s:f,s:f,s:f,s:f},s:I,s:I,s:I,s:I,s:o,"
      "s:f,s:I,s:b,s:I,s:I,s:I}",
      "label", opt.label, "url", opt.url, "method", opt.method, "mode",
      opt.rate > 0 ? "rate" : "max", "signed", signed_mode, "connections", (int)opt.connections,
      "rate_target", opt.rate, "duration_s", elapsed, "requests", (json_int_t)n_lat, "rps",
      elapsed > 0 ? (double)n_lat / elapsed : 0.0, "latency_ms", "p50", pct_ms(0.50), "p90",
      pct_ms(0.90), "p99", pct_ms(0.99), "max", n_lat ? (double)lat[n_lat - 1] / 1e6 : 0.0, "mean",
      n_lat ? sum / (double)n_lat / 1e6 : 0.0, "non2xx", (json_int_t)n_non2xx, "errors",
      (json_int_t)n_errors, "timeouts", (json_int_t)n_timeouts, "body_bytes_avg",
      (json_int_t)(n_lat ? n_bytes_body / n_lat : 0), "status", st, "presign_s", prep_s,
      "presigned", (json_int_t)(signed_mode ? n_reqs : 0), "presigned_exhausted", exhausted,
      "late_sends", (json_int_t)late_sends, "unsent", (json_int_t)unsent, "reconnects",
      (json_int_t)n_reconnects);
  if (!o) die("cannot build the JSON result");
  json_object_set_new(o, "server_cpu_s", json_real(cpu_s1 - cpu_s0));
  json_object_set_new(o, "client_cpu_s", json_real(cpu_c1 - cpu_c0));
  json_object_set_new(o, "cpu_window_s", json_real(cpu_window));
  /* Everything else that ran meanwhile (other processes on a shared machine): a run
   * with a large value here was disturbed. */
  double other = (m_b1 - m_b0) - (cpu_s1 - cpu_s0) - (cpu_c1 - cpu_c0);
  json_object_set_new(o, "other_cpu_s", json_real(opt.n_pids && other > 0 ? other : 0));
  json_object_set_new(o, "irq_s", json_real(m_i1 - m_i0));
  json_object_set_new(o, "steal_s", json_real(m_st1 - m_st0));
  /* Requests sent in the window over the CPU spent in it: CPU per request. */
  double per = n_lat && opt.n_pids ? (cpu_s1 - cpu_s0) * 1e6 / (double)n_lat : 0;
  json_object_set_new(o, "server_cpu_us_per_req", json_real(per));
  char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
  puts(s ? s : "{}");
  free(s);
  json_decref(o);
  for (unsigned i = 0; i < opt.connections; i++) {
    conn_close(&conns[i]);
    free(conns[i].rbuf);
  }
  free(conns);
  for (size_t i = 0; i < n_reqs; i++)
    free(reqs[i].data);
  free(reqs);
  free(lat);
  if (opt.ok_log && fclose(opt.ok_log) != 0) die("writing --ok-log failed");
  close(tfd);
  close(ep);
  return 0;
}
