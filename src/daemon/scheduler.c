/* The scheduler thread: runs each job at its period (the jobs are job_<name>.c),
 * signs checkpoints and purges expired nonces; on a store shared by several instances,
 * only in the one that leads (cluster.c). Everything a job acts on is in the
 * store, so deadlines survive a restart: after one, overdue messages are escalated at
 * the next tick. */
#include <pthread.h>
#include <time.h>

#include "clocks.h"
#include "cluster.h"
#include "handlers.h"

static pthread_t thread;
static bool running;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wake = PTHREAD_COND_INITIALIZER;
static bool stop;

static parley_qs purge(parley_tx *tx, void *cls, parley_error *err) {
  (void)cls;
  (void)err;
  return parley_store_nonce_purge(tx, parley_now());
}

static void *loop(void *arg) {
  (void)arg;
  int64_t last_cp = 0, last_purge = parley_now(), last_stale = 0;
  pthread_mutex_lock(&lock);
  while (!stop) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t ns = (uint64_t)ts.tv_nsec + (uint64_t)parleyd->cfg.scheduler_tick_ms * 1000000u;
    ts.tv_sec += (time_t)(ns / 1000000000u);
    ts.tv_nsec = (long)(ns % 1000000000u);
    pthread_cond_timedwait(&wake, &lock, &ts);
    if (stop) break;
    pthread_mutex_unlock(&lock);
    /* With several instances on one store, only the leader runs the jobs; one that
     * takes over signs a checkpoint at once. */
    if (!parleyd_cluster_leader()) {
      last_cp = 0;
      pthread_mutex_lock(&lock);
      continue;
    }
    parleyd_job_escalate();
    parleyd_job_clocks();
    int64_t now = parley_now();
    if (now - last_cp >= parleyd->cfg.checkpoint_interval_s) {
      parley_checkpoint_row cp;
      parley_error err;
      if (parleyd_checkpoint(false, &cp, &err) == PARLEY_E_OK) parley_checkpoint_row_clear(&cp);
      last_cp = now;
    }
    parleyd_job_recur_pings();
    parleyd_job_evidence_retention();
    if (parleyd->cfg.stale_check_s && now - last_stale >= parleyd->cfg.stale_check_s) {
      parleyd_job_stale_records();
      last_stale = now;
    }
    if (now - last_purge >= 60) {
      parley_error err;
      parley_store_run_named(parleyd->store, "purge", true, purge, NULL, &err);
      last_purge = now;
    }
    pthread_mutex_lock(&lock);
  }
  pthread_mutex_unlock(&lock);
  return NULL;
}

void parleyd_scheduler_start(void) {
  running = pthread_create(&thread, NULL, loop, NULL) == 0;
}

void parleyd_scheduler_stop(void) {
  pthread_mutex_lock(&lock);
  stop = true;
  pthread_cond_signal(&wake);
  pthread_mutex_unlock(&lock);
  if (running) pthread_join(thread, NULL);
  running = false;
}
