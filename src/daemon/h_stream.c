/* Server-Sent Events for the inbox:
 *   GET /v1/inbox/stream[?after=SEQ]   officer: the caller's inbox messages, pushed
 *
 * Each stream is a connection whose response body comes from a content reader
 * (stream_read). When the reader has nothing to send it suspends the connection, so an
 * idle stream holds no pool thread; parleyd_stream_wake (a message committed for the
 * POC), the keep-alive tick and shutdown resume it. The reader reads the store itself,
 * one page at a time and only once the client has taken what was sent before, so a slow
 * client makes the hub hold at most one page for it. Each read first checks that the key
 * still speaks for the POC (still_authorized).
 *
 * libmicrohttpd's rules, kept here: MHD_suspend_connection only from the reader;
 * MHD_resume_connection only on a connection that is suspended, which `suspended` tells
 * (it changes together with those two calls, under streams.lock); the reader never
 * returns 0 without suspending (with MHD's internal polling that would busy-loop); and
 * no connection may be suspended when MHD stops (parleyd_streams_end). A suspended
 * connection does not notice its client leaving, so the timer thread polls the sockets
 * of suspended streams for a hang-up. */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "budget.h"
#include "handlers.h"

#define STREAM_PAGE 50            /* inbox messages per store read */
#define STREAM_LATEST_PAGE 500    /* per read while finding the newest seq */
#define STREAM_OUT_MAX (1u << 20) /* pending bytes of one stream; a page is far less */
#define STREAM_BLOCK 16384        /* MHD's buffer for the response */
#define STREAM_TICK_MS 1000       /* hang-up checks of suspended streams */
#define STREAM_RETRY_MS 5000      /* reconnection delay suggested to clients */

typedef struct stream {
  struct stream *prev, *next;
  struct MHD_Connection *conn;
  int fd;
  char state[PARLEY_STATE_CODE_LEN];
  char poc[64];
  char key_id[32];
  /* Only the reader uses these once the response is queued (MHD calls it for one
   * connection on one thread at a time). */
  int64_t after; /* seq of the last message put into out */
  parley_buf out;
  size_t sent; /* bytes of out already handed to MHD */
  /* Under streams.lock. */
  bool suspended; /* by the reader, and not resumed since */
  bool dirty;     /* the inbox may hold messages after `after` */
  bool keepalive_due;
  bool hung_up; /* the client left while the stream was suspended */
  bool ending;  /* finish the response: the hub is stopping, or the key was revoked */
} stream;

static struct {
  pthread_mutex_t lock;
  pthread_cond_t tick;
  stream *head;
  size_t open;
  bool ended; /* parleyd_streams_end ran: no new streams */
  bool timer_running;
  pthread_t timer;
} streams = {.lock = PTHREAD_MUTEX_INITIALIZER, .tick = PTHREAD_COND_INITIALIZER};

/* streams.lock held. */
static void resume_locked(stream *s) {
  if (!s->suspended) return;
  s->suspended = false;
  MHD_resume_connection(s->conn);
}

static void unlink_locked(stream *s) {
  if (s->prev)
    s->prev->next = s->next;
  else
    streams.head = s->next;
  if (s->next) s->next->prev = s->prev;
  streams.open--;
}

static void stream_free(void *cls) {
  stream *s = cls;
  pthread_mutex_lock(&streams.lock);
  unlink_locked(s);
  pthread_mutex_unlock(&streams.lock);
  parley_buf_free(&s->out);
  free(s);
}

void parleyd_stream_wake_local(const char *state, const char *poc) {
  pthread_mutex_lock(&streams.lock);
  for (stream *s = streams.head; s; s = s->next) {
    if (strcmp(s->poc, poc) != 0 || strcmp(s->state, state) != 0) continue;
    s->dirty = true;
    resume_locked(s);
  }
  pthread_mutex_unlock(&streams.lock);
}

void parleyd_stream_wake_all(void) {
  pthread_mutex_lock(&streams.lock);
  for (stream *s = streams.head; s; s = s->next) {
    s->dirty = true;
    resume_locked(s);
  }
  pthread_mutex_unlock(&streams.lock);
}

size_t parleyd_streams_open(void) {
  pthread_mutex_lock(&streams.lock);
  size_t n = streams.open;
  pthread_mutex_unlock(&streams.lock);
  return n;
}

/* ---- the timer: keep-alives and hang-ups --------------------------------- */

/* The client closed or reset a connection that should carry no input. */
static bool peer_gone(const struct pollfd *p) {
  if (p->revents & (POLLHUP | POLLERR | POLLNVAL)) return true;
  if (!(p->revents & POLLIN)) return false;
  char c;
  ssize_t n = recv(p->fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
  return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
}

static void *stream_timer(void *arg) {
  (void)arg;
  size_t cap = parleyd->cfg.max_streams;
  struct pollfd *fds = calloc(cap, sizeof *fds);
  stream **who = calloc(cap, sizeof *who);
  uint64_t every = (uint64_t)parleyd->cfg.stream_keepalive_s * 1000000000ull;
  uint64_t next_keepalive = parley_mono_ns() + every;
  uint64_t recheck_every = (uint64_t)parleyd->cfg.stream_recheck_s * 1000000000ull;
  uint64_t next_recheck = parley_mono_ns() + recheck_every;
  pthread_mutex_lock(&streams.lock);
  while (!streams.ended) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += STREAM_TICK_MS / 1000;
    ts.tv_nsec += (STREAM_TICK_MS % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
      ts.tv_sec++;
      ts.tv_nsec -= 1000000000L;
    }
    pthread_cond_timedwait(&streams.tick, &streams.lock, &ts);
    if (streams.ended) break;
    uint64_t now = parley_mono_ns();
    bool keepalive = now >= next_keepalive;
    if (keepalive) next_keepalive = now + every;
    /* Authorization is re-checked at intervals, not only when a message comes: a
     * refill reads the key's row and the state's status first (still_authorized). */
    bool recheck = now >= next_recheck;
    if (recheck) next_recheck = now + recheck_every;
    size_t n = 0;
    for (stream *s = streams.head; s; s = s->next) {
      if (recheck || keepalive) {
        if (recheck) s->dirty = true;
        if (keepalive) s->keepalive_due = true;
        resume_locked(s); /* a client gone meanwhile is noticed when the comment is sent */
      } else if (s->suspended && fds && who && n < cap) {
        fds[n] = (struct pollfd){.fd = s->fd, .events = POLLIN};
        who[n++] = s;
      }
    }
    /* Suspended streams stay linked and suspended while the lock is held. */
    if (n && poll(fds, n, 0) > 0) {
      for (size_t i = 0; i < n; i++) {
        if (!peer_gone(&fds[i])) continue;
        who[i]->hung_up = true;
        resume_locked(who[i]);
      }
    }
  }
  pthread_mutex_unlock(&streams.lock);
  free(fds);
  free(who);
  return NULL;
}

void parleyd_streams_end(void) {
  pthread_mutex_lock(&streams.lock);
  streams.ended = true;
  unsigned n = 0;
  for (stream *s = streams.head; s; s = s->next, n++) {
    s->ending = true;
    resume_locked(s);
  }
  pthread_cond_signal(&streams.tick);
  bool join = streams.timer_running;
  streams.timer_running = false;
  pthread_mutex_unlock(&streams.lock);
  if (join) pthread_join(streams.timer, NULL);
  if (n) parley_log(PARLEY_LOG_INFO, "stream.ending", "streams=%u", n);
}

/* ---- the content reader ----------------------------------------------------- */

typedef struct {
  stream *s;
  size_t n;
  int64_t last;
  bool failed;
  bool revoked; /* the key no longer speaks for the POC, or its state is suspended */
} refill_ctx;

static bool refill_one(void *cls, const parley_message_row *m) {
  refill_ctx *c = cls;
  json_t *o = parleyd_message_json(m);
  char *text = o ? json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII) : NULL;
  json_decref(o);
  /* Compact JSON holds no newline, so the object is one data line. */
  if (!text || parley_buf_printf(&c->s->out, "id: %lld\nevent: message\ndata: %s\n\n",
                                 (long long)m->seq, text) != PARLEY_E_OK) {
    free(text);
    c->failed = true;
    return false;
  }
  free(text);
  c->last = m->seq;
  c->n++;
  return true;
}

/* Authentication happened when the stream opened; what it sends later must still be
 * the key's to see: a new record may have replaced the officer's key. */
static parley_qs still_authorized(parley_tx *tx, refill_ctx *c) {
  parley_key_row k;
  parley_state_row st;
  parley_qs qs = parley_store_key_get(tx, c->s->key_id, &k);
  if (qs == PARLEY_QS_ONE) qs = parley_store_state_get(tx, k.state, &st);
  if (qs < 0) return qs;
  c->revoked = qs == PARLEY_QS_NONE || k.role != PARLEY_ROLE_OFFICER ||
               strcmp(k.state, c->s->state) != 0 || strcmp(k.poc_id, c->s->poc) != 0 ||
               st.status != PARLEY_STATE_ACTIVE;
  return PARLEY_QS_ONE;
}

static parley_qs refill_tx(parley_tx *tx, void *cls, parley_error *err) {
  refill_ctx *c = cls;
  parley_buf_reset(&c->s->out); /* a retried attempt starts over */
  c->n = 0;
  c->last = c->s->after;
  c->failed = false;
  parley_qs qs = still_authorized(tx, c);
  if (qs < 0 || c->revoked) return qs;
  qs = parley_store_inbox(tx, c->s->state, c->s->poc, c->s->after, STREAM_PAGE, refill_one, c);
  if (qs >= 0 && c->failed) {
    parley_fail(err, PARLEY_E_NO_MEMORY, "event stream buffer");
    return PARLEY_QS_HARD;
  }
  return qs;
}

typedef enum { REFILL_OK, REFILL_FAILED, REFILL_REVOKED } refill_result;

/* Puts the next page of the inbox into s->out (emptied first). *full: a whole page came,
 * so there may be more. */
static refill_result refill(stream *s, bool *full) {
  refill_ctx c = {s, 0, s->after, false, false};
  parley_error err;
  if (parley_store_run_named(parleyd->store, "refill_tx", false, refill_tx, &c, &err) !=
      PARLEY_E_OK) {
    parley_log(PARLEY_LOG_WARN, "stream.read_failed", "poc=%s/%s code=%s", s->state, s->poc,
               parley_err_name(err.code));
    return REFILL_FAILED;
  }
  if (c.revoked) {
    parley_buf_reset(&s->out);
    parley_log(PARLEY_LOG_INFO, "stream.revoked", "poc=%s/%s key=%s", s->state, s->poc, s->key_id);
    return REFILL_REVOKED;
  }
  s->after = c.last;
  *full = c.n == STREAM_PAGE;
  return REFILL_OK;
}

static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max) {
  (void)pos;
  stream *s = cls;
  pthread_mutex_lock(&streams.lock);
  for (;;) {
    if (s->hung_up) break;
    if (s->sent < s->out.len) {
      size_t n = s->out.len - s->sent < max ? s->out.len - s->sent : max;
      memcpy(buf, s->out.data + s->sent, n);
      s->sent += n;
      pthread_mutex_unlock(&streams.lock);
      return (ssize_t)n;
    }
    if (s->ending) {
      pthread_mutex_unlock(&streams.lock);
      return MHD_CONTENT_READER_END_OF_STREAM;
    }
    if (!s->dirty && !s->keepalive_due) {
      s->suspended = true;
      MHD_suspend_connection(s->conn);
      pthread_mutex_unlock(&streams.lock);
      return 0;
    }
    bool read_inbox = s->dirty, keepalive = s->keepalive_due;
    s->dirty = s->keepalive_due = false;
    pthread_mutex_unlock(&streams.lock); /* a wake meanwhile sets dirty again */
    parley_buf_reset(&s->out);
    s->sent = 0;
    bool full = false;
    refill_result rr = read_inbox ? refill(s, &full) : REFILL_OK;
    /* Anything sent keeps the connection alive; a comment only when nothing else is. */
    if (rr == REFILL_OK && keepalive && s->out.len == 0 &&
        parley_buf_puts(&s->out, ": keep-alive\n\n") != PARLEY_E_OK)
      rr = REFILL_FAILED;
    pthread_mutex_lock(&streams.lock);
    if (rr == REFILL_REVOKED) s->ending = true; /* a reconnection is refused with the reason */
    if (rr == REFILL_FAILED) break;             /* the client reconnects with Last-Event-ID */
    if (full) s->dirty = true;
  }
  pthread_mutex_unlock(&streams.lock);
  return MHD_CONTENT_READER_END_WITH_ERROR;
}

/* ---- GET /v1/inbox/stream ------------------------------------------------------- */

typedef struct {
  const char *state, *poc;
  int64_t seq;
  size_t n;
} latest_ctx;

static bool latest_one(void *cls, const parley_message_row *m) {
  latest_ctx *c = cls;
  c->seq = m->seq;
  c->n++;
  return true;
}

/* The newest seq of the inbox: pages through it (the store has no cheaper query). */
static parley_qs latest_tx(parley_tx *tx, void *cls, parley_error *err) {
  (void)err;
  latest_ctx *c = cls;
  c->seq = 0;
  do {
    c->n = 0;
    parley_qs qs =
        parley_store_inbox(tx, c->state, c->poc, c->seq, STREAM_LATEST_PAGE, latest_one, c);
    if (qs < 0) return qs;
  } while (c->n == STREAM_LATEST_PAGE);
  return PARLEY_QS_ONE;
}

static void unlink_and_free(stream *s) {
  pthread_mutex_lock(&streams.lock);
  unlink_locked(s);
  pthread_mutex_unlock(&streams.lock);
  parley_buf_free(&s->out);
  free(s);
}

/* Registers s, or answers why not and returns false. */
static bool admit(parleyd_req *r, stream *s) {
  const parleyd_config *cfg = &parleyd->cfg;
  pthread_mutex_lock(&streams.lock);
  unsigned mine = 0, ours = 0;
  for (stream *x = streams.head; x; x = x->next) {
    mine += strcmp(x->key_id, s->key_id) == 0;
    ours += strcmp(x->state, s->state) == 0;
  }
  const char *refused = NULL;
  parley_err code = PARLEY_E_UNAVAILABLE;
  char d[128];
  if (streams.ended || atomic_load(&parleyd->stopping)) {
    refused = "shutting down";
  } else if (streams.open >= cfg->max_streams) {
    snprintf(d, sizeof d, "%u event streams are open, the hub's limit", cfg->max_streams);
    refused = d;
  } else if (mine >= cfg->max_streams_per_key) {
    snprintf(d, sizeof d, "this key has %u event streams open, the limit", mine);
    refused = d;
    code = PARLEY_E_STREAM_LIMIT;
  } else if (ours >= cfg->max_streams_per_state) {
    /* A state's share of the slots: one state's keys cannot take every stream. */
    snprintf(d, sizeof d, "state %s has %u event streams open, its share", s->state, ours);
    refused = d;
    code = PARLEY_E_STATE_STREAM_LIMIT;
    parleyd_budget_refused(PARLEYD_BUDGET_STATE_STREAMS);
  } else if (!streams.timer_running) {
    if (pthread_create(&streams.timer, NULL, stream_timer, NULL) == 0)
      streams.timer_running = true;
    else
      refused = "cannot start the keep-alive timer";
  }
  if (!refused) {
    s->next = streams.head;
    if (streams.head) streams.head->prev = s;
    streams.head = s;
    streams.open++;
  }
  pthread_mutex_unlock(&streams.lock);
  if (refused) parleyd_reply_error_retry(r, code, refused, code == PARLEY_E_UNAVAILABLE ? 5 : 30);
  return !refused;
}

void h_inbox_stream(parleyd_req *r) {
  /* The cursor: Last-Event-ID (an EventSource reconnecting sends the same URL with it),
   * else ?after=, else none: only messages that arrive from now on. */
  const char *last = parleyd_header(r, "Last-Event-ID");
  const char *after = last ? last : parleyd_query(r, "after");
  uint64_t v = 0;
  if (after && (!parley_parse_u64(after, &v) || v > INT64_MAX)) {
    parleyd_reply_error(r, PARLEY_E_INVALID_ARGUMENT,
                        last ? "Last-Event-ID: a sequence number" : "after: a sequence number");
    return;
  }
  const union MHD_ConnectionInfo *ci =
      MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_CONNECTION_FD);
  stream *s = ci ? calloc(1, sizeof *s) : NULL;
  if (!s) {
    parleyd_reply_error(r, PARLEY_E_NO_MEMORY, NULL);
    return;
  }
  s->conn = r->conn;
  s->fd = ci->connect_fd;
  parley_strlcpy(s->state, r->who.state, sizeof s->state);
  parley_strlcpy(s->poc, r->who.poc_id, sizeof s->poc);
  parley_strlcpy(s->key_id, r->who.key_id, sizeof s->key_id);
  parley_buf_init(&s->out, STREAM_OUT_MAX);
  s->dirty = true;
  if (!admit(r, s)) {
    parley_buf_free(&s->out);
    free(s);
    return;
  }
  if (after) {
    s->after = (int64_t)v;
  } else {
    latest_ctx c = {s->state, s->poc, 0, 0};
    parley_error err;
    if (parley_store_run_named(parleyd->store, "latest_tx", false, latest_tx, &c, &err) !=
        PARLEY_E_OK) {
      unlink_and_free(s);
      parleyd_reply_err(r, &err);
      return;
    }
    s->after = c.seq;
  }
  /* The first event names the cursor, so that a client resuming after it (or an
   * EventSource, which keeps the last id) misses nothing even if no message came. */
  struct MHD_Response *resp = NULL;
  if (parley_buf_printf(&s->out,
                        "retry: %d\nid: %lld\nevent: ready\ndata: {\"after\":%lld,"
                        "\"keepalive_s\":%u}\n\n",
                        STREAM_RETRY_MS, (long long)s->after, (long long)s->after,
                        parleyd->cfg.stream_keepalive_s) == PARLEY_E_OK)
    resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, STREAM_BLOCK, stream_read, s,
                                             stream_free);
  if (!resp) {
    unlink_and_free(s);
    parleyd_reply_error(r, PARLEY_E_NO_MEMORY, NULL);
    return;
  }
  MHD_add_response_header(resp, "Content-Type", "text/event-stream");
  MHD_add_response_header(resp, "X-Accel-Buffering", "no"); /* a proxy must not hold events */
  MHD_add_response_header(resp, "Connection", "close");     /* nothing follows a stream */
  parley_log(PARLEY_LOG_DEBUG, "stream.open", "poc=%s/%s after=%lld", s->state, s->poc,
             (long long)s->after);
  r->streaming = true;
  parleyd_reply_response(r, 200, resp); /* resp is destroyed with the connection's end */
}
