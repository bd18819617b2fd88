/* Communication checks ("pings"), below their HTTP handlers (h_pings.c):
 *   ping_round.c       a round built, signed, logged and stored; a round loaded back
 *   ping_stats.c       response rates and times, per round and over rounds
 *   ping_render.c      the CSV and SVG renderings of the figures
 *   job_recur_pings.c  the scheduler's job that starts the next round of a series
 * Nothing here reads an HTTP request: what a round needs is passed in. */
#ifndef PARLEYD_PINGS_H
#define PARLEYD_PINGS_H

#include "handlers.h"

#define PARLEYD_PING_MAX_TARGETS 1024

/* ---- ping_round.c ------------------------------------------------------- */

typedef struct {
  json_t *states; /* array of codes, or NULL */
  const char *region;
  int role; /* index in parley_poc_roles, or -1 for every POC */
  int64_t window_s;
  int64_t recurrence_s;
  const char *series;       /* NULL: the round starts a series */
  const char *scheduled_by; /* key id of the operator who scheduled the series */
  /* The request nonce to record in the round's transaction (under scheduled_by), so a
   * replayed request is refused; NULL for a round the scheduler starts. */
  const char *nonce;
  /* out */
  parley_message_row m;
  json_t *statement; /* the signed statement; the caller releases it */
  size_t n_targets;
  char (*emails)[256];
} parleyd_ping_start;

/* Builds, signs, logs and stores a round in one transaction, then e-mails its targets
 * and wakes their streams. */
parley_err parleyd_ping_round_start(parleyd_ping_start *c, parley_error *err);

typedef struct {
  char state[4], poc[64], region[64];
  json_t *roles;
  int64_t acked; /* 0: no */
} parleyd_ping_target;

/* A round as stored: its message, its statement and when each target acknowledged. */
typedef struct {
  parley_message_row m;
  json_t *statement;
  parleyd_ping_target *t;
  size_t n;
} parleyd_ping_round;

/* Loads round id (NOT_FOUND if it is no communication check); frees what d held. */
parley_qs parleyd_ping_round_load(parley_tx *tx, const char *id, parleyd_ping_round *d,
                                  parley_error *err);
void parleyd_ping_round_free(parleyd_ping_round *d);

/* ---- ping_stats.c ------------------------------------------------------- */

/* {"targets","acknowledged","rate","median_s","p90_s"} over the targets that match
 * (region, role: NULL for any). */
json_t *parleyd_ping_summary(const parleyd_ping_round *d, const char *region, const char *role);
/* The report of one round: overall, by region, by role, by state and per POC. */
json_t *parleyd_ping_report_json(const parleyd_ping_round *d);

#define PARLEYD_PING_MAX_ROUNDS 512

typedef struct {
  char ids[PARLEYD_PING_MAX_ROUNDS][PARLEY_UUID_LEN];
  size_t n;
} parleyd_ping_ids;

typedef struct {
  const char *series; /* NULL: the latest rounds of every series */
  json_t *rounds;     /* out: a summary per round, with id, series, issued, open */
  parleyd_ping_ids *ids;
} parleyd_ping_trend;

/* A store transaction (cls: parleyd_ping_trend) that fills rounds. */
parley_qs parleyd_ping_trend_tx(parley_tx *tx, void *cls, parley_error *err);

/* ---- ping_render.c ------------------------------------------------------ */

/* One row per target of round d. */
parley_err parleyd_ping_report_csv(const parleyd_ping_round *d, parley_buf *b);
/* One row per round of a trend. */
parley_err parleyd_ping_trend_csv(const json_t *rounds, parley_buf *b);
/* A self-contained SVG line chart of the response rate per round. */
parley_err parleyd_ping_trend_svg(const json_t *rounds, parley_buf *b);

#endif
