/* Budgets per key and per state (see budget.h). Two chained hash tables (keys, states)
 * of fixed bucket count, each bucket chain under one of BUDGET_STRIPES locks, so that
 * concurrent requests of different keys rarely meet. Entries are created on first use
 * and kept: keys are only ever those whose signature verified, so their number is
 * bounded by the directory; past BUDGET_MAX_ENTRIES a new name is admitted unmetered
 * (and counted), rather than refused for the fault of others. */
#include "budget.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#define BUDGET_BUCKETS 4096 /* per table; a power of two */
#define BUDGET_STRIPES 64
#define BUDGET_MAX_ENTRIES (1u << 18)
#define NONCE_SLOTS 32 /* a key's nonces counted by when they expire, in NONCE_SLOTS slots */

typedef struct entry {
  struct entry *next;
  char name[48];
  /* keys: token bucket */
  double tokens;
  uint64_t last_ns;
  /* keys: nonces held, by expiry period (period p covers [p*w, (p+1)*w) seconds) */
  int64_t period[NONCE_SLOTS];
  uint32_t held[NONCE_SLOTS];
  uint32_t held_total;
  /* states: bytes stored on `day` (Unix days) */
  int64_t day;
  uint64_t bytes;
} entry;

typedef struct {
  entry *bucket[BUDGET_BUCKETS];
  pthread_mutex_t lock[BUDGET_STRIPES];
  atomic_uint count;
} table;

static table keys, states;
static parleyd_budget_limits lim;
static int64_t slot_w; /* seconds per nonce slot */
static _Atomic uint64_t refusals[PARLEYD_BUDGET_N];
static _Atomic uint64_t unmetered, bytes_admitted;

static void table_init(table *t) {
  memset(t->bucket, 0, sizeof t->bucket);
  for (size_t i = 0; i < BUDGET_STRIPES; i++)
    pthread_mutex_init(&t->lock[i], NULL);
  atomic_store(&t->count, 0);
}

static void table_free(table *t) {
  for (size_t i = 0; i < BUDGET_BUCKETS; i++) {
    for (entry *e = t->bucket[i], *n; e; e = n) {
      n = e->next;
      free(e);
    }
    t->bucket[i] = NULL;
  }
  for (size_t i = 0; i < BUDGET_STRIPES; i++)
    pthread_mutex_destroy(&t->lock[i]);
}

bool parleyd_budget_init(const parleyd_budget_limits *limits) {
  lim = *limits;
  /* NONCE_SLOTS - 2 slots span the horizon, so a slot is reused only once every nonce
   * counted in it has expired. */
  slot_w = (lim.nonce_horizon_s + NONCE_SLOTS - 3) / (NONCE_SLOTS - 2);
  if (slot_w < 1) slot_w = 1;
  table_init(&keys);
  table_init(&states);
  return true;
}

void parleyd_budget_free(void) {
  table_free(&keys);
  table_free(&states);
}

static uint32_t hash_name(const char *s) { /* FNV-1a */
  uint32_t h = 2166136261u;
  for (; *s; s++)
    h = (h ^ (uint8_t)*s) * 16777619u;
  return h;
}

/* Finds or creates the entry of name; returns it with its stripe locked (*lk), or NULL
 * (nothing locked) when the table is at its cap or memory ran out. */
static entry *lookup(table *t, const char *name, pthread_mutex_t **lk) {
  uint32_t h = hash_name(name);
  size_t b = h & (BUDGET_BUCKETS - 1);
  pthread_mutex_t *m = &t->lock[b % BUDGET_STRIPES];
  pthread_mutex_lock(m);
  for (entry *e = t->bucket[b]; e; e = e->next)
    if (strcmp(e->name, name) == 0) {
      *lk = m;
      return e;
    }
  entry *e = NULL;
  if (atomic_fetch_add(&t->count, 1) < BUDGET_MAX_ENTRIES) e = calloc(1, sizeof *e);
  if (!e || !parley_strlcpy(e->name, name, sizeof e->name)) {
    atomic_fetch_sub(&t->count, 1);
    pthread_mutex_unlock(m);
    free(e);
    atomic_fetch_add_explicit(&unmetered, 1, memory_order_relaxed);
    return NULL;
  }
  e->tokens = lim.key_burst;
  e->next = t->bucket[b];
  t->bucket[b] = e;
  *lk = m;
  return e;
}

static unsigned refuse(parleyd_budget_kind kind, int64_t seconds) {
  atomic_fetch_add_explicit(&refusals[kind], 1, memory_order_relaxed);
  if (seconds < 1) return 1;
  return seconds > 86400 ? 86400 : (unsigned)seconds;
}

void parleyd_budget_refused(parleyd_budget_kind kind) {
  if (kind < PARLEYD_BUDGET_N) atomic_fetch_add_explicit(&refusals[kind], 1, memory_order_relaxed);
}

unsigned parleyd_budget_request(const char *key_id, uint64_t now_ns) {
  if (!lim.key_rate) return 0;
  pthread_mutex_t *m;
  entry *e = lookup(&keys, key_id, &m);
  if (!e) return 0;
  double burst = lim.key_burst ? lim.key_burst : 1;
  if (e->last_ns && now_ns > e->last_ns) {
    e->tokens += (double)(now_ns - e->last_ns) * 1e-9 * lim.key_rate;
    if (e->tokens > burst) e->tokens = burst;
  }
  if (now_ns > e->last_ns) e->last_ns = now_ns;
  double need = 0;
  if (e->tokens >= 1)
    e->tokens -= 1;
  else
    need = (1 - e->tokens) / lim.key_rate;
  pthread_mutex_unlock(m);
  if (need <= 0) return 0;
  int64_t secs = (int64_t)need;
  return refuse(PARLEYD_BUDGET_RATE, (double)secs < need ? secs + 1 : secs);
}

/* Drops the slots whose every nonce has expired; returns when the earliest of the
 * others ends (INT64_MAX if none). Stripe lock held. */
static int64_t expire_nonces(entry *e, int64_t now) {
  int64_t earliest = INT64_MAX;
  for (size_t i = 0; i < NONCE_SLOTS; i++) {
    if (!e->held[i]) continue;
    int64_t end = (e->period[i] + 1) * slot_w;
    if (end <= now) {
      e->held_total -= e->held[i];
      e->held[i] = 0;
    } else if (end < earliest) {
      earliest = end;
    }
  }
  return earliest;
}

unsigned parleyd_budget_nonce_room(const char *key_id, int64_t now) {
  if (!lim.key_nonces) return 0;
  pthread_mutex_t *m;
  entry *e = lookup(&keys, key_id, &m);
  if (!e) return 0;
  int64_t earliest = expire_nonces(e, now);
  bool full = e->held_total >= lim.key_nonces;
  pthread_mutex_unlock(m);
  return full ? refuse(PARLEYD_BUDGET_NONCES, earliest - now) : 0;
}

void parleyd_budget_nonce_charge(const char *key_id, int64_t now, int64_t expires) {
  if (!lim.key_nonces) return;
  pthread_mutex_t *m;
  entry *e = lookup(&keys, key_id, &m);
  if (!e) return;
  expire_nonces(e, now);
  if (expires < now) expires = now;
  if (expires > now + lim.nonce_horizon_s) expires = now + lim.nonce_horizon_s;
  int64_t p = expires / slot_w;
  size_t i = (size_t)(p % NONCE_SLOTS);
  if (e->period[i] != p) { /* an older period's nonces: expired, dropped above */
    e->held_total -= e->held[i];
    e->held[i] = 0;
    e->period[i] = p;
  }
  e->held[i]++;
  e->held_total++;
  pthread_mutex_unlock(m);
}

unsigned parleyd_budget_bytes(const char *state, uint64_t bytes, int64_t now) {
  if (!lim.state_bytes_per_day) return 0;
  pthread_mutex_t *m;
  entry *e = lookup(&states, state, &m);
  if (!e) return 0;
  int64_t day = now / 86400;
  if (e->day != day) {
    e->day = day;
    e->bytes = 0;
  }
  unsigned retry = 0;
  if (bytes > lim.state_bytes_per_day - e->bytes)
    retry = refuse(PARLEYD_BUDGET_BYTES, (day + 1) * 86400 - now);
  else
    e->bytes += bytes;
  pthread_mutex_unlock(m);
  if (!retry) atomic_fetch_add_explicit(&bytes_admitted, bytes, memory_order_relaxed);
  return retry;
}

parley_err parleyd_budget_render(parley_buf *o) {
  static const char *names[PARLEYD_BUDGET_N] = {"key_rate", "key_nonces", "state_bytes",
                                                "state_streams"};
  parley_err e = parley_buf_puts(o, "# HELP parley_budget_refusals_total Requests refused "
                                    "(429) because a key or state used up a budget.\n"
                                    "# TYPE parley_budget_refusals_total counter\n");
  for (size_t i = 0; !e && i < PARLEYD_BUDGET_N; i++)
    e = parley_buf_printf(o, "parley_budget_refusals_total{budget=\"%s\"} %llu\n", names[i],
                          (unsigned long long)atomic_load(&refusals[i]));
  if (!e)
    e = parley_buf_printf(
        o,
        "# HELP parley_budget_message_bytes_admitted_total Message body bytes admitted "
        "against the per-state daily budget.\n"
        "# TYPE parley_budget_message_bytes_admitted_total counter\n"
        "parley_budget_message_bytes_admitted_total %llu\n"
        "# HELP parley_budget_keys_tracked Keys and states with a budget entry.\n"
        "# TYPE parley_budget_keys_tracked gauge\n"
        "parley_budget_keys_tracked{kind=\"key\"} %u\n"
        "parley_budget_keys_tracked{kind=\"state\"} %u\n"
        "# HELP parley_budget_unmetered_total Requests admitted unmetered: the budget "
        "table was full.\n"
        "# TYPE parley_budget_unmetered_total counter\n"
        "parley_budget_unmetered_total %llu\n",
        (unsigned long long)atomic_load(&bytes_admitted), atomic_load(&keys.count),
        atomic_load(&states.count), (unsigned long long)atomic_load(&unmetered));
  return e;
}
