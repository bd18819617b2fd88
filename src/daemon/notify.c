/* The notifier: e-mail alerts over SMTP and webhooks signed by the hub (libcurl), sent
 * by worker threads from in-memory queues so that no request waits on a mail or web
 * server. Alerts carry metadata only ("urgent request REF from EST, acknowledge by T"),
 * never message content.
 *
 * Two channels, each with its own threads, so that e-mail never waits behind a webhook:
 * one thread sends e-mail (one destination: the mail server), webhook_workers threads
 * post webhooks. Each destination (the mail server; a webhook's scheme://host:port) has
 * its own queue per priority and is served by one thread at a time; a thread takes the
 * most urgent ready alert of any destination (critical first, then oldest). A failed
 * attempt backs its destination off (1 s doubling up to 5 min) and the alert is retried
 * at most three times in all. Queues are bounded per destination and per channel: a
 * full queue drops its least urgent alert for a more urgent one, else the new one; what
 * is dropped is logged and counted. Webhook destinations are checked before every POST
 * (webhook_url.c): a refused one is logged and counted, never contacted. */
#include "notify.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "handlers.h"
#include "signer_client.h"
#include "webhook_url.h"

#define MAX_ATTEMPTS 3
#define BACKOFF_FIRST_MS 1000
#define BACKOFF_MAX_MS (300 * 1000)
#define MAX_DESTINATIONS 4096
#define DRAIN_AT_STOP_MS 3000 /* at shutdown, ready alerts are still sent for this long */
#define SMTP_CONNECT_TIMEOUT_S 5L
#define SMTP_TIMEOUT_S 15L

typedef struct alert {
  struct alert *next;
  int prio;
  unsigned attempts;
  uint64_t seq;  /* arrival order */
  char to[256];  /* e-mail address, or empty for a webhook */
  char url[512]; /* webhook URL, or empty for an e-mail */
  char subject[256];
  char body[2048];
} alert;

typedef struct dest {
  struct dest *next;
  char key[320];
  alert *head[3], *tail[3]; /* one FIFO per priority */
  size_t n;
  bool busy;           /* a thread is sending one of its alerts */
  unsigned failures;   /* consecutive */
  int64_t retry_at_ms; /* back-off: not before (monotonic) */
} dest;

typedef struct {
  const char *name;
  dest *dests;
  size_t n_dests, queued;
  pthread_cond_t wake;
  pthread_t threads[64];
  unsigned n_threads;
  atomic_ullong sent, failed, dropped, refused;
} lane;

enum { LANE_EMAIL, LANE_WEBHOOK };
static lane lanes[2] = {{.name = "email"}, {.name = "webhook"}};
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static bool stopping, started;
static int64_t drain_until_ms;
static atomic_bool abort_transfers;
static uint64_t next_seq;
static unsigned threads_alive;      /* worker threads not yet returned */
static pthread_cond_t threads_done; /* signalled as each returns */

typedef enum { SENT, FAILED, REFUSED } outcome;

static int64_t mono_ms(void) {
  return (int64_t)(parley_mono_ns() / 1000000);
}

/* ---- sending -------------------------------------------------------------- */

typedef struct {
  const char *data;
  size_t len, off;
} upload;

static size_t read_cb(char *buf, size_t size, size_t n, void *ud) {
  upload *u = ud;
  size_t left = u->len - u->off, want = size * n;
  size_t k = left < want ? left : want;
  memcpy(buf, u->data + u->off, k);
  u->off += k;
  return k;
}

/* A webhook's answer is not read: at most 64 KiB is accepted and discarded. */
static size_t discard_cb(char *buf, size_t size, size_t n, void *ud) {
  (void)buf;
  size_t *total = ud;
  *total += size * n;
  return *total > 65536 ? 0 : size * n;
}

/* Ends transfers in flight once the shutdown's drain time is over. */
static int progress_cb(void *ud, curl_off_t a, curl_off_t b, curl_off_t c, curl_off_t d) {
  (void)ud, (void)a, (void)b, (void)c, (void)d;
  return atomic_load(&abort_transfers) ? 1 : 0;
}

/* Header values must not carry CR/LF (header injection). */
static void clean_line(char *s) {
  for (; *s; s++)
    if (*s == '\r' || *s == '\n') *s = ' ';
}

static outcome send_email(const alert *a) {
  const parleyd_config *c = &parleyd->cfg;
  char date[64], msg[4096];
  time_t now = time(NULL);
  struct tm tm;
  gmtime_r(&now, &tm);
  strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S +0000", &tm);
  char id[PARLEY_UUID_LEN];
  parley_uuid7(id);
  int n = snprintf(msg, sizeof msg,
                   "Date: %s\r\nFrom: %s\r\nTo: %s\r\nSubject: %s\r\nMessage-ID: <%s@%s>\r\n"
                   "Content-Type: text/plain; charset=utf-8\r\nAuto-Submitted: auto-generated\r\n"
                   "\r\n%s\r\n",
                   date, c->smtp_from, a->to, a->subject, id, c->origin, a->body);
  if (n < 0 || (size_t)n >= sizeof msg) return REFUSED;
  CURL *curl = curl_easy_init();
  if (!curl) return FAILED;
  char from[300];
  snprintf(from, sizeof from, "<%s>", c->smtp_from);
  char to[300];
  snprintf(to, sizeof to, "<%s>", a->to);
  struct curl_slist *rcpt = curl_slist_append(NULL, to);
  upload u = {msg, (size_t)n, 0};
  curl_easy_setopt(curl, CURLOPT_URL, c->smtp_url);
  curl_easy_setopt(curl, CURLOPT_MAIL_FROM, from);
  curl_easy_setopt(curl, CURLOPT_MAIL_RCPT, rcpt);
  curl_easy_setopt(curl, CURLOPT_READFUNCTION, read_cb);
  curl_easy_setopt(curl, CURLOPT_READDATA, &u);
  curl_easy_setopt(curl, CURLOPT_UPLOAD, 1L);
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, SMTP_CONNECT_TIMEOUT_S);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT, SMTP_TIMEOUT_S);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, progress_cb);
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
  CURLcode rc = curl_easy_perform(curl);
  curl_slist_free_all(rcpt);
  curl_easy_cleanup(curl);
  if (rc != CURLE_OK)
    parley_log(PARLEY_LOG_WARN, "notify.smtp_failed", "to=%s error=\"%s\"", a->to,
               curl_easy_strerror(rc));
  return rc == CURLE_OK ? SENT : FAILED;
}

/* Connects only to an address the destination check accepted, whatever libcurl was
 * told: the pin holds even if a resolve entry did not match. */
static curl_socket_t open_pinned(void *ud, curlsocktype purpose, struct curl_sockaddr *addr) {
  const parleyd_webhook_target *t = ud;
  if (purpose != CURLSOCKTYPE_IPCXN || !parleyd_webhook_pinned(t, &addr->addr)) {
    parley_log(PARLEY_LOG_WARN, "notify.webhook_unpinned", "dest=%s", t->dest);
    return CURL_SOCKET_BAD;
  }
  return socket(addr->family, addr->socktype | SOCK_CLOEXEC, addr->protocol);
}

static parleyd_webhook_policy policy(void) {
  parleyd_webhook_policy p = {parleyd->cfg.webhook_allow_loopback_http,
                              parleyd->cfg.webhook_allow_private};
  return p;
}

/* POSTs a JSON alert to a POC's webhook, signed by the hub:
 *   Parley-Signature: keyid="<hub key id>", sig="<base64url Ed25519 over
 *                     "parley/v1/webhook\n" || body>"
 * The destination is resolved and checked first; the POST goes to the checked
 * addresses only, follows no redirect and uses no proxy. */
static outcome post_webhook(const alert *a) {
  parleyd_webhook_policy pol = policy();
  parleyd_webhook_target t;
  char why[256];
  if (!parleyd_webhook_parse(a->url, &pol, &t, why, sizeof why)) {
    parley_log(PARLEY_LOG_WARN, "notify.webhook_refused", "reason=\"%s\"", why);
    return REFUSED;
  }
  parleyd_webhook_check chk = parleyd_webhook_resolve(&t, &pol, why, sizeof why);
  if (chk != PARLEYD_WEBHOOK_OK) {
    parley_log(PARLEY_LOG_WARN,
               chk == PARLEYD_WEBHOOK_REFUSED ? "notify.webhook_refused" : "notify.webhook_failed",
               "dest=%s reason=\"%s\"", t.dest, why);
    return chk == PARLEYD_WEBHOOK_REFUSED ? REFUSED : FAILED;
  }
  parley_sig sig;
  char sig_b64[PARLEY_SIG_B64_LEN], hdr[256];
  parley_error serr;
  if (parleyd_sign_webhook(a->body, strlen(a->body), &sig, &serr) != PARLEY_E_OK) return FAILED;
  parley_sig_to_b64(&sig, sig_b64);
  snprintf(hdr, sizeof hdr, "Parley-Signature: keyid=\"%s\", sig=\"%s\"", parleyd->hub_key_id,
           sig_b64);
  CURL *curl = curl_easy_init();
  if (!curl) return FAILED;
  struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
  h = curl_slist_append(h, hdr);
  h = curl_slist_append(h, "Expect:");
  struct curl_slist *pin = t.resolve[0] ? curl_slist_append(NULL, t.resolve) : NULL;
  size_t answered = 0;
  long timeout = (long)parleyd->cfg.webhook_timeout_s;
  curl_easy_setopt(curl, CURLOPT_URL, t.url);
  if (pin) curl_easy_setopt(curl, CURLOPT_RESOLVE, pin);
  curl_easy_setopt(curl, CURLOPT_OPENSOCKETFUNCTION, open_pinned);
  curl_easy_setopt(curl, CURLOPT_OPENSOCKETDATA, &t);
  curl_easy_setopt(curl, CURLOPT_PROXY, ""); /* no proxy from the environment */
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, h);
  curl_easy_setopt(curl, CURLOPT_POSTFIELDS, a->body);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, discard_cb);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &answered);
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, timeout);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT, timeout);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, progress_cb);
  curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, t.scheme);
  CURLcode rc = curl_easy_perform(curl);
  long status = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  curl_slist_free_all(h);
  curl_slist_free_all(pin);
  curl_easy_cleanup(curl);
  bool ok = rc == CURLE_OK && status >= 200 && status <= 299;
  if (!ok)
    parley_log(PARLEY_LOG_WARN, "notify.webhook_failed", "dest=%s status=%ld error=\"%s\"", t.dest,
               status, curl_easy_strerror(rc));
  return ok ? SENT : FAILED;
}

/* ---- queues (under lock) -------------------------------------------------- */

static void push_back(dest *d, alert *a) {
  a->next = NULL;
  if (d->tail[a->prio])
    d->tail[a->prio]->next = a;
  else
    d->head[a->prio] = a;
  d->tail[a->prio] = a;
  d->n++;
}

static void push_front(dest *d, alert *a) {
  a->next = d->head[a->prio];
  d->head[a->prio] = a;
  if (!d->tail[a->prio]) d->tail[a->prio] = a;
  d->n++;
}

static int top_prio(const dest *d) {
  for (int p = 2; p >= 0; p--)
    if (d->head[p]) return p;
  return -1;
}

static alert *pop_front(dest *d) {
  int p = top_prio(d);
  if (p < 0) return NULL;
  alert *a = d->head[p];
  d->head[p] = a->next;
  if (!d->head[p]) d->tail[p] = NULL;
  d->n--;
  a->next = NULL;
  return a;
}

/* Removes the newest alert of the lowest priority below prio, if any. */
static alert *evict_below(dest *d, int prio) {
  for (int p = 0; p < prio; p++) {
    alert *a = d->head[p];
    if (!a) continue;
    if (a == d->tail[p]) {
      d->head[p] = d->tail[p] = NULL;
    } else {
      alert *prev = a;
      while (prev->next != d->tail[p])
        prev = prev->next;
      a = d->tail[p];
      prev->next = NULL;
      d->tail[p] = prev;
    }
    d->n--;
    return a;
  }
  return NULL;
}

static const char *alert_to(const alert *a) {
  return a->url[0] ? "webhook" : a->to;
}

static void drop(lane *l, alert *a, const char *dest_key, const char *reason) {
  atomic_fetch_add(&l->dropped, 1);
  parley_log(PARLEY_LOG_ERROR, "notify.dropped", "channel=%s dest=%s to=%s priority=%d reason=%s",
             l->name, dest_key, alert_to(a), a->prio, reason);
  free(a);
}

static void free_dest(lane *l, dest **pp) {
  dest *d = *pp;
  *pp = d->next;
  l->n_dests--;
  free(d);
}

/* Frees idle destinations: no alert, no thread, and no back-off worth remembering
 * (all of them when the table is full). */
static void reclaim(lane *l, int64_t now, bool all_idle) {
  for (dest **pp = &l->dests; *pp;) {
    dest *d = *pp;
    if (!d->busy && d->n == 0 && (all_idle || d->failures == 0 || now >= d->retry_at_ms))
      free_dest(l, pp);
    else
      pp = &d->next;
  }
}

static void enqueue(int which, const char *key, alert *a) {
  lane *l = &lanes[which];
  const parleyd_config *c = &parleyd->cfg;
  size_t per_dest = which == LANE_EMAIL ? c->notify_queue : c->webhook_queue;
  pthread_mutex_lock(&lock);
  if (stopping) {
    drop(l, a, key, "stopping");
    pthread_mutex_unlock(&lock);
    return;
  }
  dest *d = l->dests;
  while (d && strcmp(d->key, key) != 0)
    d = d->next;
  if (!d && l->n_dests >= MAX_DESTINATIONS) reclaim(l, mono_ms(), true);
  if (!d && l->n_dests < MAX_DESTINATIONS && (d = calloc(1, sizeof *d))) {
    parley_strlcpy(d->key, key, sizeof d->key);
    d->next = l->dests;
    l->dests = d;
    l->n_dests++;
  }
  if (!d) {
    drop(l, a, key, "too_many_destinations");
    pthread_mutex_unlock(&lock);
    return;
  }
  if (d->n >= per_dest || l->queued >= c->notify_queue) {
    alert *victim = evict_below(d, a->prio);
    if (!victim) {
      drop(l, a, key, "queue_full");
      pthread_mutex_unlock(&lock);
      return;
    }
    l->queued--;
    drop(l, victim, key, "queue_full");
  }
  a->seq = ++next_seq;
  push_back(d, a);
  l->queued++;
  pthread_cond_signal(&l->wake);
  pthread_mutex_unlock(&lock);
}

/* The ready destination whose next alert is the most urgent, then the oldest; sets
 * *wake_at to the end of the earliest back-off among the others. */
static dest *pick(lane *l, int64_t now, int64_t *wake_at) {
  dest *best = NULL;
  int best_prio = -1;
  *wake_at = INT64_MAX;
  for (dest *d = l->dests; d; d = d->next) {
    if (d->busy || d->n == 0) continue;
    if (d->retry_at_ms > now) {
      if (d->retry_at_ms < *wake_at) *wake_at = d->retry_at_ms;
      continue;
    }
    int p = top_prio(d);
    if (p > best_prio || (p == best_prio && d->head[p]->seq < best->head[p]->seq)) {
      best = d;
      best_prio = p;
    }
  }
  return best;
}

static void wait_until(lane *l, int64_t at_ms) {
  if (at_ms == INT64_MAX) {
    pthread_cond_wait(&l->wake, &lock);
    return;
  }
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  int64_t ms = at_ms - mono_ms();
  if (ms <= 0) return;
  ts.tv_sec += ms / 1000;
  ts.tv_nsec += (ms % 1000) * 1000000;
  if (ts.tv_nsec >= 1000000000) {
    ts.tv_sec++;
    ts.tv_nsec -= 1000000000;
  }
  pthread_cond_timedwait(&l->wake, &lock, &ts);
}

static int64_t backoff_ms(unsigned failures) {
  int64_t ms = BACKOFF_FIRST_MS;
  for (unsigned i = 1; i < failures && ms < BACKOFF_MAX_MS; i++)
    ms *= 2;
  return ms < BACKOFF_MAX_MS ? ms : BACKOFF_MAX_MS;
}

static void *run(void *arg) {
  lane *l = arg;
  pthread_mutex_lock(&lock);
  for (;;) {
    int64_t now = mono_ms(), wake_at;
    reclaim(l, now, false);
    dest *d = pick(l, now, &wake_at);
    if (!d) {
      if (stopping) break; /* what is left waits on a back-off: dropped at stop */
      wait_until(l, wake_at);
      continue;
    }
    if (stopping && now >= drain_until_ms) break;
    alert *a = pop_front(d);
    l->queued--;
    d->busy = true;
    pthread_mutex_unlock(&lock);
    outcome o = a->url[0] ? post_webhook(a) : send_email(a);
    pthread_mutex_lock(&lock);
    d->busy = false;
    now = mono_ms();
    if (o == SENT) {
      d->failures = 0;
      d->retry_at_ms = 0;
      atomic_fetch_add(&l->sent, 1);
      parley_log(PARLEY_LOG_INFO, a->url[0] ? "notify.webhook" : "notify.email",
                 "dest=%s to=%s priority=%d sent=1", d->key, alert_to(a), a->prio);
      free(a);
    } else if (o == REFUSED) {
      atomic_fetch_add(&l->refused, 1);
      free(a);
    } else {
      d->failures++;
      d->retry_at_ms = now + backoff_ms(d->failures);
      if (++a->attempts < MAX_ATTEMPTS && !stopping) {
        push_front(d, a);
        l->queued++;
      } else {
        atomic_fetch_add(&l->failed, 1);
        parley_log(PARLEY_LOG_ERROR, a->url[0] ? "notify.webhook" : "notify.email",
                   "dest=%s to=%s priority=%d sent=0 attempts=%u", d->key, alert_to(a), a->prio,
                   a->attempts);
        free(a);
      }
    }
    pthread_cond_broadcast(&l->wake);
  }
  threads_alive--;
  pthread_cond_broadcast(&threads_done);
  pthread_mutex_unlock(&lock);
  return NULL;
}

/* ---- API ------------------------------------------------------------------ */

void parleyd_notify_start(void) {
  curl_global_init(CURL_GLOBAL_DEFAULT); /* before any thread uses libcurl */
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  unsigned n_threads[2] = {1, parleyd->cfg.webhook_workers};
  stopping = false;
  atomic_store(&abort_transfers, false);
  pthread_cond_init(&threads_done, &ca);
  for (int i = 0; i < 2; i++) {
    lane *l = &lanes[i];
    pthread_cond_init(&l->wake, &ca);
    l->n_threads = 0;
    for (unsigned k = 0; k < n_threads[i] && k < 64; k++)
      if (pthread_create(&l->threads[l->n_threads], NULL, run, l) == 0) {
        l->n_threads++;
        pthread_mutex_lock(&lock);
        threads_alive++;
        pthread_mutex_unlock(&lock);
      }
  }
  pthread_condattr_destroy(&ca);
  started = true;
}

void parleyd_notify_stop(void) {
  if (!started) return;
  pthread_mutex_lock(&lock);
  stopping = true;
  drain_until_ms = mono_ms() + DRAIN_AT_STOP_MS;
  for (int i = 0; i < 2; i++)
    pthread_cond_broadcast(&lanes[i].wake);
  pthread_mutex_unlock(&lock);
  /* Ready alerts are still sent for a while; then transfers in flight are ended. */
  int64_t give_up = mono_ms() + DRAIN_AT_STOP_MS + 1000;
  pthread_mutex_lock(&lock);
  while (threads_alive > 0) {
    if (mono_ms() >= give_up) atomic_store(&abort_transfers, true);
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_nsec += 50 * 1000000;
    if (ts.tv_nsec >= 1000000000) {
      ts.tv_sec++;
      ts.tv_nsec -= 1000000000;
    }
    pthread_cond_timedwait(&threads_done, &lock, &ts);
  }
  pthread_mutex_unlock(&lock);
  for (int i = 0; i < 2; i++)
    for (unsigned k = 0; k < lanes[i].n_threads; k++)
      pthread_join(lanes[i].threads[k], NULL);
  for (int i = 0; i < 2; i++) {
    lane *l = &lanes[i];
    l->n_threads = 0;
    while (l->dests) {
      alert *a;
      while ((a = pop_front(l->dests))) {
        l->queued--;
        drop(l, a, l->dests->key, "stopping");
      }
      free_dest(l, &l->dests);
    }
    pthread_cond_destroy(&l->wake);
  }
  pthread_cond_destroy(&threads_done);
  started = false;
}

/* "[Parley] critical ..." or "[Parley] OVERDUE urgent ...": the alerts' own subjects. */
static int prio_of_subject(const char *s) {
  if (strncmp(s, "[Parley] ", 9) != 0) return PARLEYD_PRIO_ROUTINE;
  s += 9;
  if (strncmp(s, "OVERDUE ", 8) == 0) s += 8;
  if (strncmp(s, "critical ", 9) == 0) return PARLEYD_PRIO_CRITICAL;
  if (strncmp(s, "urgent ", 7) == 0) return PARLEYD_PRIO_URGENT;
  return PARLEYD_PRIO_ROUTINE;
}

static int prio_of_json(const char *body) {
  json_t *j = json_loads(body, 0, NULL);
  const char *p = json_string_value(json_object_get(j, "priority"));
  int prio = !p                           ? PARLEYD_PRIO_ROUTINE
             : strcmp(p, "critical") == 0 ? PARLEYD_PRIO_CRITICAL
             : strcmp(p, "urgent") == 0   ? PARLEYD_PRIO_URGENT
                                          : PARLEYD_PRIO_ROUTINE;
  json_decref(j);
  return prio;
}

static int clamp_prio(int prio) {
  return prio < 0 ? 0 : prio > 2 ? 2 : prio;
}

void parleyd_notify_email_prio(const char *to, const char *subject, const char *body, int prio) {
  if (!parleyd->cfg.smtp_url[0] || !to || !*to) return;
  alert *a = calloc(1, sizeof *a);
  if (!a) return;
  a->prio = clamp_prio(prio);
  parley_strlcpy(a->to, to, sizeof a->to);
  parley_strlcpy(a->subject, subject, sizeof a->subject);
  parley_strlcpy(a->body, body, sizeof a->body);
  clean_line(a->to);
  clean_line(a->subject);
  enqueue(LANE_EMAIL, "smtp", a);
}

void parleyd_notify_email(const char *to, const char *subject, const char *body) {
  parleyd_notify_email_prio(to, subject, body, prio_of_subject(subject ? subject : ""));
}

void parleyd_notify_webhook_prio(const char *url, const char *json_body, int prio) {
  if (!url || !*url || !json_body || strlen(json_body) >= sizeof((alert *)0)->body) return;
  /* Checked here too so that a malformed URL neither queues nor creates a destination. */
  parleyd_webhook_policy pol = policy();
  parleyd_webhook_target *t = malloc(sizeof *t);
  alert *a = calloc(1, sizeof *a);
  char why[256];
  if (!t || !a) {
    free(t);
    free(a);
    return;
  }
  if (!parleyd_webhook_parse(url, &pol, t, why, sizeof why)) {
    atomic_fetch_add(&lanes[LANE_WEBHOOK].refused, 1);
    parley_log(PARLEY_LOG_WARN, "notify.webhook_refused", "reason=\"%s\"", why);
    free(t);
    free(a);
    return;
  }
  a->prio = clamp_prio(prio);
  parley_strlcpy(a->url, url, sizeof a->url);
  parley_strlcpy(a->body, json_body, sizeof a->body);
  enqueue(LANE_WEBHOOK, t->dest, a);
  free(t);
}

void parleyd_notify_webhook(const char *url, const char *json_body) {
  if (!json_body) return;
  parleyd_notify_webhook_prio(url, json_body, prio_of_json(json_body));
}

void parleyd_notify_counters(parleyd_notify_channel_stats *email,
                             parleyd_notify_channel_stats *webhook) {
  parleyd_notify_channel_stats *out[2] = {email, webhook};
  int64_t now = mono_ms();
  pthread_mutex_lock(&lock);
  for (int i = 0; i < 2; i++) {
    lane *l = &lanes[i];
    parleyd_notify_channel_stats *s = out[i];
    s->sent = atomic_load(&l->sent);
    s->failed = atomic_load(&l->failed);
    s->dropped = atomic_load(&l->dropped);
    s->refused = atomic_load(&l->refused);
    s->queued = l->queued;
    s->backing_off = 0;
    for (dest *d = l->dests; d; d = d->next)
      s->backing_off += d->failures && d->retry_at_ms > now;
  }
  pthread_mutex_unlock(&lock);
}

void parleyd_notify_stats(uint64_t *sent, uint64_t *failed) {
  parleyd_notify_channel_stats e, w;
  parleyd_notify_counters(&e, &w);
  *sent = e.sent + w.sent;
  *failed = e.failed + w.failed + e.dropped + w.dropped + w.refused;
}
