/* Prometheus metrics: requests by route and status, a latency histogram, store
 * counters. Lock-free counters; rendering reads them without stopping requests. */
#include <stdatomic.h>
#include <stddef.h>
#include <stdlib.h>

#include "cluster.h"
#include "budget.h"
#include "hub.h"
#include "notify.h"

static const int statuses[] = {200, 201, 202, 204, 304, 400, 401, 403, 404, 405,
                               409, 411, 413, 414, 415, 429, 431, 500, 503, 0 /* other */};
#define N_STATUS (sizeof statuses / sizeof statuses[0])
static const double buckets[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                 0.05,   0.1,   0.25,   0.5,   1,    2.5};
#define N_BUCKETS (sizeof buckets / sizeof buckets[0])

/* Route index n_routes stands for "no route" (404/405/refused before routing). */
static size_t n_slots;
static _Atomic uint64_t *by_route_status; /* [slot][status] */
static _Atomic uint64_t hist[N_BUCKETS + 1];
static _Atomic uint64_t hist_sum_ns;
static _Atomic uint64_t hist_count;

void parleyd_metrics_init(size_t n_routes) {
  n_slots = n_routes + 1;
  by_route_status = calloc(n_slots * N_STATUS, sizeof *by_route_status);
}

void parleyd_metrics_record(int route_index, int status, uint64_t ns) {
  if (!by_route_status) return;
  size_t slot =
      route_index >= 0 && (size_t)route_index < n_slots - 1 ? (size_t)route_index : n_slots - 1;
  size_t si = N_STATUS - 1;
  for (size_t i = 0; i + 1 < N_STATUS; i++)
    if (statuses[i] == status) {
      si = i;
      break;
    }
  atomic_fetch_add_explicit(&by_route_status[slot * N_STATUS + si], 1, memory_order_relaxed);
  if (ns == PARLEYD_NO_LATENCY) return;
  double s = (double)ns / 1e9;
  size_t b = 0;
  while (b < N_BUCKETS && s > buckets[b])
    b++;
  atomic_fetch_add_explicit(&hist[b], 1, memory_order_relaxed);
  atomic_fetch_add_explicit(&hist_sum_ns, ns, memory_order_relaxed);
  atomic_fetch_add_explicit(&hist_count, 1, memory_order_relaxed);
}

parley_err parleyd_metrics_render(parley_buf *o, parley_store *store) {
  parley_err e = PARLEY_E_OK;
#define P(...)                                                                                     \
  do {                                                                                             \
    if (!e) e = parley_buf_printf(o, __VA_ARGS__);                                                 \
  } while (0)
  P("# HELP parley_http_requests_total HTTP requests answered, by route and status.\n"
    "# TYPE parley_http_requests_total counter\n");
  for (size_t r = 0; r < n_slots; r++)
    for (size_t i = 0; i < N_STATUS; i++) {
      uint64_t v = atomic_load_explicit(&by_route_status[r * N_STATUS + i], memory_order_relaxed);
      if (!v) continue;
      const char *route = r < n_slots - 1 ? parleyd_routes[r].name : "none";
      if (statuses[i])
        P("parley_http_requests_total{route=\"%s\",status=\"%d\"} %llu\n", route, statuses[i],
          (unsigned long long)v);
      else
        P("parley_http_requests_total{route=\"%s\",status=\"other\"} %llu\n", route,
          (unsigned long long)v);
    }
  P("# HELP parley_http_request_duration_seconds Time from request start to response.\n"
    "# TYPE parley_http_request_duration_seconds histogram\n");
  uint64_t cum = 0;
  for (size_t b = 0; b < N_BUCKETS; b++) {
    cum += atomic_load_explicit(&hist[b], memory_order_relaxed);
    P("parley_http_request_duration_seconds_bucket{le=\"%g\"} %llu\n", buckets[b],
      (unsigned long long)cum);
  }
  cum += atomic_load_explicit(&hist[N_BUCKETS], memory_order_relaxed);
  P("parley_http_request_duration_seconds_bucket{le=\"+Inf\"} %llu\n", (unsigned long long)cum);
  P("parley_http_request_duration_seconds_sum %.6f\n",
    (double)atomic_load_explicit(&hist_sum_ns, memory_order_relaxed) / 1e9);
  P("parley_http_request_duration_seconds_count %llu\n",
    (unsigned long long)atomic_load_explicit(&hist_count, memory_order_relaxed));
  P("# HELP parley_event_streams_open Inbox event streams open.\n"
    "# TYPE parley_event_streams_open gauge\n"
    "parley_event_streams_open %zu\n",
    parleyd_streams_open());
  if (!e) e = parleyd_budget_render(o);
  if (!e) e = parleyd_cluster_render(o);
  uint64_t batches, writes;
  parleyd_writer_stats(&batches, &writes);
  P("# HELP parley_writer_commits_total Shared transactions committed by the writer (group "
    "commit).\n"
    "# TYPE parley_writer_commits_total counter\n"
    "parley_writer_commits_total %llu\n"
    "# HELP parley_writer_writes_total Writes (submissions, receipts) run by the writer.\n"
    "# TYPE parley_writer_writes_total counter\n"
    "parley_writer_writes_total %llu\n",
    (unsigned long long)batches, (unsigned long long)writes);
  parleyd_notify_channel_stats ns[2];
  parleyd_notify_counters(&ns[0], &ns[1]);
  static const char *const channels[2] = {"email", "webhook"};
  static const struct {
    const char *name, *type, *help;
    size_t off;
  } nm[] = {
      {"parley_notify_sent_total", "counter", "Alerts delivered.",
       offsetof(parleyd_notify_channel_stats, sent)},
      {"parley_notify_failed_total", "counter", "Alerts given up after every attempt failed.",
       offsetof(parleyd_notify_channel_stats, failed)},
      {"parley_notify_dropped_total", "counter",
       "Alerts never tried: queue full (the least urgent goes) or queued at shutdown.",
       offsetof(parleyd_notify_channel_stats, dropped)},
      {"parley_notify_refused_total", "counter",
       "Webhook alerts not sent: destination refused (scheme, user information, or an address "
       "that is private, loopback, link-local or reserved).",
       offsetof(parleyd_notify_channel_stats, refused)},
      {"parley_notify_queued", "gauge", "Alerts waiting to be sent.",
       offsetof(parleyd_notify_channel_stats, queued)},
      {"parley_notify_backing_off", "gauge", "Destinations waiting after a failure.",
       offsetof(parleyd_notify_channel_stats, backing_off)},
  };
  for (size_t m = 0; m < sizeof nm / sizeof nm[0]; m++) {
    P("# HELP %s %s\n# TYPE %s %s\n", nm[m].name, nm[m].help, nm[m].name, nm[m].type);
    for (int ch = 0; ch < 2; ch++)
      P("%s{channel=\"%s\"} %llu\n", nm[m].name, channels[ch],
        (unsigned long long)*(const uint64_t *)((const char *)&ns[ch] + nm[m].off));
  }
  if (store) {
    parley_store_stats st;
    parley_store_get_stats(store, &st);
    P("# HELP parley_store_transactions_total Store transactions run.\n"
      "# TYPE parley_store_transactions_total counter\n"
      "parley_store_transactions_total %llu\n"
      "# HELP parley_store_retries_total Store transactions retried after a conflict.\n"
      "# TYPE parley_store_retries_total counter\n"
      "parley_store_retries_total %llu\n"
      "# HELP parley_store_errors_total Store transactions that failed.\n"
      "# TYPE parley_store_errors_total counter\n"
      "parley_store_errors_total %llu\n",
      (unsigned long long)st.transactions, (unsigned long long)st.retries,
      (unsigned long long)st.errors);
  }
#undef P
  return e;
}
