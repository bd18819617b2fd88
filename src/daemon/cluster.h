/* Several parleyd on one PostgreSQL (cluster.c): the leadership that runs the scheduler
 * and signs checkpoints, and inbox wake-ups sent to the other instances. On a store
 * that one process owns (SQLite) this process always leads and nothing is sent. */
#ifndef PARLEYD_CLUSTER_H
#define PARLEYD_CLUSTER_H

#include <stdbool.h>

#include "parley/base.h"

/* Starts the threads that send and receive wake-ups (a shared store only). */
bool parleyd_cluster_start(void);
void parleyd_cluster_stop(void);
/* Whether this instance leads now; for the scheduler thread only (a round trip on a
 * shared store). Taking or losing the leadership is logged (cluster.leader). */
bool parleyd_cluster_leader(void);
/* Tells the other instances that (state, poc)'s inbox or outbox changed. Non-blocking:
 * queued for the sender thread. */
void parleyd_cluster_wake(const char *state, const char *poc);

/* Appends parley_cluster_leader and the signer's failure counters (Prometheus). */
parley_err parleyd_cluster_render(parley_buf *out);

#endif
