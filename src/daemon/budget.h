/* Per-key and per-state budgets: no single key or state can exhaust what the hub shares.
 *   - request rate per key: a token bucket (key_rate per second, key_burst deep);
 *   - request nonces held per key: a key's share of the shared nonce table;
 *   - message body bytes stored per state per UTC day, charged from Content-Length
 *     when a submission is admitted, before its body is read.
 * Open event streams per state are counted by h_stream.c, which reports refusals here.
 * Held in memory: a restart starts every budget afresh (documented in protocol §5).
 * Each check answers 0 when admitted, else the seconds after which to retry (>= 1), for
 * the Retry-After header. A limit of 0 means unlimited. Thread-safe. */
#ifndef PARLEYD_BUDGET_H
#define PARLEYD_BUDGET_H

#include <stdbool.h>
#include <stdint.h>

#include "parley/base.h"

typedef struct {
  unsigned key_rate;  /* requests per second per key */
  unsigned key_burst; /* bucket depth */
  unsigned key_nonces;
  int64_t nonce_horizon_s; /* how far ahead of now a nonce may expire */
  uint64_t state_bytes_per_day;
} parleyd_budget_limits;

typedef enum {
  PARLEYD_BUDGET_RATE,
  PARLEYD_BUDGET_NONCES,
  PARLEYD_BUDGET_BYTES,
  PARLEYD_BUDGET_STATE_STREAMS,
  PARLEYD_BUDGET_N
} parleyd_budget_kind;

bool parleyd_budget_init(const parleyd_budget_limits *limits);
void parleyd_budget_free(void);

/* One signed request by key_id at now_ns (a monotonic clock). */
unsigned parleyd_budget_request(const char *key_id, uint64_t now_ns);
/* Whether key_id may hold one more nonce. Asked before the nonce is recorded, and the
 * nonce charged only once it proved new, so that replays of a key's requests (by
 * whoever captured them) cannot use up its share. Concurrent requests of one key may
 * overshoot the share by the number of pool threads. */
unsigned parleyd_budget_nonce_room(const char *key_id, int64_t now);
/* One more nonce held by key_id until `expires` (Unix seconds, at most now +
 * nonce_horizon_s). */
void parleyd_budget_nonce_charge(const char *key_id, int64_t now, int64_t expires);
/* `bytes` more message body bytes stored for `state` today (UTC). */
unsigned parleyd_budget_bytes(const char *state, uint64_t bytes, int64_t now);
/* Counts a refusal decided elsewhere (open streams per state). */
void parleyd_budget_refused(parleyd_budget_kind kind);

/* Appends the budgets' Prometheus metrics. */
parley_err parleyd_budget_render(parley_buf *out);

#endif
