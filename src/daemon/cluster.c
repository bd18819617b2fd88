/* Several parleyd on one PostgreSQL. Every durable fact is in the database; what is
 * coordinated here is who runs the scheduler (one leader, by a session advisory lock:
 * parley_store_leader) and how an inbox change made on one instance reaches the event
 * streams open on the others (NOTIFY/LISTEN: parley_store_wake_send/_wait).
 *
 * A wake-up is "INSTANCE\n" then "STATE\tPOC\n" lines, or "*\n" for every stream; an
 * instance ignores its own (it woke its streams directly). Wake-ups are hints: a lost
 * one delays a stream until its next wake or keep-alive read, never loses a message,
 * since a stream reads its inbox from the store. */
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "cluster.h"
#include "hub.h"
#include "signer_client.h"

#define WAKE_QUEUE 1024       /* pending (state, poc) pairs; beyond, one wake-all is sent */
#define WAKE_PAYLOAD_MAX 7000 /* below NOTIFY's 8000 bytes */

static struct {
  pthread_mutex_t lock;
  pthread_cond_t cv;
  char pending[WAKE_QUEUE][PARLEY_STATE_CODE_LEN + 65];
  size_t n;
  bool overflow;
  bool stop;
  bool running;
  pthread_t sender, listener;
  char instance[33];
  bool leading;
} cl = {.lock = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};

bool parleyd_cluster_leader(void) {
  bool now = parley_store_leader(parleyd->store);
  pthread_mutex_lock(&cl.lock);
  bool was = cl.leading;
  cl.leading = now;
  pthread_mutex_unlock(&cl.lock);
  if (now != was && parley_store_shared(parleyd->store))
    parley_log(PARLEY_LOG_INFO, "cluster.leader", "leading=%s instance=%s", now ? "yes" : "no",
               cl.instance);
  return now;
}

/* The streams of this instance at once, those of the others through the store. */
void parleyd_stream_wake(const char *state, const char *poc) {
  parleyd_stream_wake_local(state, poc);
  parleyd_cluster_wake(state, poc);
}

void parleyd_cluster_wake(const char *state, const char *poc) {
  pthread_mutex_lock(&cl.lock);
  if (!cl.running) {
    pthread_mutex_unlock(&cl.lock);
    return;
  }
  char line[sizeof cl.pending[0]];
  int n = snprintf(line, sizeof line, "%s\t%s", state, poc);
  if (n < 0 || (size_t)n >= sizeof line || strchr(line, '\n')) {
    cl.overflow = true;
  } else {
    bool dup = false;
    for (size_t i = 0; i < cl.n && !dup; i++)
      dup = strcmp(cl.pending[i], line) == 0;
    if (!dup && cl.n < WAKE_QUEUE)
      memcpy(cl.pending[cl.n++], line, (size_t)n + 1);
    else if (!dup)
      cl.overflow = true;
  }
  pthread_cond_signal(&cl.cv);
  pthread_mutex_unlock(&cl.lock);
}

/* Sends what is queued, in payloads of at most WAKE_PAYLOAD_MAX bytes. */
static void *sender(void *arg) {
  (void)arg;
  static char batch[WAKE_QUEUE][PARLEY_STATE_CODE_LEN + 65];
  char payload[WAKE_PAYLOAD_MAX + 128];
  pthread_mutex_lock(&cl.lock);
  for (;;) {
    while (!cl.stop && cl.n == 0 && !cl.overflow)
      pthread_cond_wait(&cl.cv, &cl.lock);
    if (cl.stop) break;
    size_t n = cl.n;
    bool all = cl.overflow;
    memcpy(batch, cl.pending, n * sizeof batch[0]);
    cl.n = 0;
    cl.overflow = false;
    pthread_mutex_unlock(&cl.lock);
    size_t i = 0;
    do {
      size_t len = (size_t)snprintf(payload, sizeof payload, "%s\n", cl.instance);
      if (all) len += (size_t)snprintf(payload + len, sizeof payload - len, "*\n");
      while (!all && i < n && len + strlen(batch[i]) + 2 <= WAKE_PAYLOAD_MAX)
        len += (size_t)snprintf(payload + len, sizeof payload - len, "%s\n", batch[i++]);
      parley_err e = parley_store_wake_send(parleyd->store, payload);
      if (e) parley_log(PARLEY_LOG_WARN, "cluster.wake_failed", "error=%s", parley_err_name(e));
    } while (!all && i < n);
    pthread_mutex_lock(&cl.lock);
  }
  pthread_mutex_unlock(&cl.lock);
  return NULL;
}

static void on_wake(void *cls, const char *payload) {
  (void)cls;
  size_t il = strlen(cl.instance);
  if (strncmp(payload, cl.instance, il) == 0 && payload[il] == '\n') return; /* our own */
  const char *p = strchr(payload, '\n');
  while (p && *++p) {
    const char *end = strchr(p, '\n');
    size_t len = end ? (size_t)(end - p) : strlen(p);
    char line[PARLEY_STATE_CODE_LEN + 65];
    if (len < sizeof line) {
      memcpy(line, p, len);
      line[len] = 0;
      char *tab = strchr(line, '\t');
      if (strcmp(line, "*") == 0) {
        parleyd_stream_wake_all();
      } else if (tab) {
        *tab = 0;
        parleyd_stream_wake_local(line, tab + 1);
      }
    }
    p = end;
  }
}

static void *listener(void *arg) {
  (void)arg;
  for (;;) {
    pthread_mutex_lock(&cl.lock);
    bool stop = cl.stop;
    pthread_mutex_unlock(&cl.lock);
    if (stop) break;
    if (parley_store_wake_wait(parleyd->store, 500, on_wake, NULL) == 1)
      parleyd_stream_wake_all(); /* (re)connected: what was sent meanwhile is unknown */
  }
  return NULL;
}

parley_err parleyd_cluster_render(parley_buf *out) {
  pthread_mutex_lock(&cl.lock);
  bool leading = cl.leading;
  pthread_mutex_unlock(&cl.lock);
  uint64_t refused, unavailable;
  parleyd_signer_failures(&refused, &unavailable);
  char b[1024];
  int n = snprintf(b, sizeof b,
                   "# HELP parley_cluster_leader 1 while this instance runs the scheduler and "
                   "signs checkpoints.\n"
                   "# TYPE parley_cluster_leader gauge\n"
                   "parley_cluster_leader %d\n"
                   "# HELP parley_signer_failures_total Signatures the hub key's signer refused "
                   "(a checkpoint that is no extension of the last) or could not give.\n"
                   "# TYPE parley_signer_failures_total counter\n"
                   "parley_signer_failures_total{reason=\"refused\"} %llu\n"
                   "parley_signer_failures_total{reason=\"unavailable\"} %llu\n",
                   leading ? 1 : 0, (unsigned long long)refused, (unsigned long long)unavailable);
  return parley_buf_append(out, b, (size_t)n);
}

bool parleyd_cluster_start(void) {
  uint8_t id[16];
  randombytes_buf(id, sizeof id);
  parley_hex_encode(id, sizeof id, cl.instance, sizeof cl.instance);
  if (!parley_store_shared(parleyd->store)) return true;
  cl.stop = false;
  if (pthread_create(&cl.sender, NULL, sender, NULL) != 0) return false;
  if (pthread_create(&cl.listener, NULL, listener, NULL) != 0) {
    pthread_mutex_lock(&cl.lock);
    cl.stop = true;
    pthread_cond_signal(&cl.cv);
    pthread_mutex_unlock(&cl.lock);
    pthread_join(cl.sender, NULL);
    return false;
  }
  pthread_mutex_lock(&cl.lock);
  cl.running = true;
  pthread_mutex_unlock(&cl.lock);
  parley_log(PARLEY_LOG_INFO, "cluster.started", "instance=%s", cl.instance);
  return true;
}

void parleyd_cluster_stop(void) {
  pthread_mutex_lock(&cl.lock);
  bool running = cl.running;
  pthread_mutex_unlock(&cl.lock);
  if (!running) return;
  pthread_mutex_lock(&cl.lock);
  cl.stop = true;
  cl.running = false;
  pthread_cond_signal(&cl.cv);
  pthread_mutex_unlock(&cl.lock);
  pthread_join(cl.sender, NULL);
  pthread_join(cl.listener, NULL);
}
