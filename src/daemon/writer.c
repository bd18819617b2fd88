/* Group commit for request writes.
 *
 * A handler hands its transaction function to the writer thread and returns; the
 * request's connection is suspended (no pool thread waits) until the shared commit is
 * durable, then MHD calls the access handler again and the handler's finish function
 * answers on a pool thread. The writer takes every write waiting at that moment into one
 * transaction (parley_store_run_batch: a savepoint each, one commit, one fsync), so
 * while it commits the next batch gathers: batches grow with the load, and a lone
 * request waits for no one. The queue holds at most one write per open connection, so
 * MHD's connection limit bounds it. */
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "hub.h"

/* Writes per shared transaction: bounds the time a batch holds the store's write lock. */
#define WRITER_BATCH_MAX 256

enum { DEFER_NONE, DEFER_QUEUED, DEFER_SUSPENDED, DEFER_DONE };

static struct {
  pthread_mutex_t lock; /* the queue and every request's defer state */
  pthread_cond_t wake;
  parleyd_req *head, *tail;
  size_t queued;
  bool stop;
  bool running;
  pthread_t thread;
  _Atomic uint64_t batches, writes;
  atomic_uint unfinished; /* deferred writes whose finish has not run */
} w = {.lock = PTHREAD_MUTEX_INITIALIZER, .wake = PTHREAD_COND_INITIALIZER};

void parleyd_write_deferred(parleyd_req *r, parley_tx_fn fn, void *cls, void (*committed)(void *),
                            parleyd_finish_fn finish) {
  r->finish = finish;
  r->committed = committed;
  r->write.fn = fn;
  r->write.cls = cls;
  r->next = NULL;
  atomic_fetch_add(&w.unfinished, 1);
  pthread_mutex_lock(&w.lock);
  if (!w.running || w.stop) {
    pthread_mutex_unlock(&w.lock);
    r->defer = DEFER_DONE;
    r->write.rc = parley_fail(&r->write.err, PARLEY_E_UNAVAILABLE, "shutting down");
    return;
  }
  r->defer = DEFER_QUEUED;
  if (w.tail)
    w.tail->next = r;
  else
    w.head = r;
  w.tail = r;
  w.queued++;
  pthread_cond_signal(&w.wake);
  pthread_mutex_unlock(&w.lock);
}

bool parleyd_write_park(parleyd_req *r) {
  pthread_mutex_lock(&w.lock);
  bool park = r->defer == DEFER_QUEUED;
  if (park) {
    r->defer = DEFER_SUSPENDED;
    MHD_suspend_connection(r->conn);
  }
  pthread_mutex_unlock(&w.lock);
  return park;
}

bool parleyd_write_ready(parleyd_req *r) {
  pthread_mutex_lock(&w.lock);
  bool done = r->defer == DEFER_DONE;
  pthread_mutex_unlock(&w.lock);
  return done;
}

static void *writer_main(void *arg) {
  (void)arg;
  static parley_store_batch_item items[WRITER_BATCH_MAX];
  parleyd_req *reqs[WRITER_BATCH_MAX];
  for (;;) {
    pthread_mutex_lock(&w.lock);
    while (!w.head && !w.stop)
      pthread_cond_wait(&w.wake, &w.lock);
    if (!w.head) { /* stopping and nothing left */
      pthread_mutex_unlock(&w.lock);
      return NULL;
    }
    size_t n = 0;
    while (w.head && n < WRITER_BATCH_MAX) {
      reqs[n++] = w.head;
      w.head = w.head->next;
    }
    if (!w.head) w.tail = NULL;
    w.queued -= n;
    pthread_mutex_unlock(&w.lock);

    for (size_t i = 0; i < n; i++)
      items[i] = reqs[i]->write;
    parley_store_run_batch(parleyd->store, items, n);
    atomic_fetch_add_explicit(&w.batches, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&w.writes, n, memory_order_relaxed);

    for (size_t i = 0; i < n; i++)
      if (items[i].rc == PARLEY_E_OK && reqs[i]->committed) reqs[i]->committed(items[i].cls);

    pthread_mutex_lock(&w.lock);
    for (size_t i = 0; i < n; i++) {
      parleyd_req *r = reqs[i];
      r->write = items[i];
      bool suspended = r->defer == DEFER_SUSPENDED;
      r->defer = DEFER_DONE;
      /* after this the request belongs to its pool thread again */
      if (suspended) MHD_resume_connection(r->conn);
    }
    pthread_mutex_unlock(&w.lock);
  }
}

void parleyd_write_finish(parleyd_req *r) {
  if (!r->finish || r->finished) return;
  r->finished = true;
  parley_error e = r->write.err;
  /* never an OK code beside a failure: the reply's status comes from the code */
  if (r->write.rc != PARLEY_E_OK && e.code == PARLEY_E_OK)
    parley_fail(&e, r->write.rc, "the write failed");
  r->finish(r, r->write.rc, &e);
  atomic_fetch_sub(&w.unfinished, 1);
}

void parleyd_writer_drain(unsigned ms) {
  for (unsigned i = 0; i < ms / 10 && atomic_load(&w.unfinished) > 0; i++) {
    struct timespec ts = {0, 10 * 1000 * 1000};
    nanosleep(&ts, NULL);
  }
}

parley_err parleyd_writer_start(parley_error *err) {
  w.stop = false;
  if (pthread_create(&w.thread, NULL, writer_main, NULL) != 0)
    return parley_fail(err, PARLEY_E_NO_MEMORY, "cannot start the writer thread");
  w.running = true;
  return PARLEY_E_OK;
}

void parleyd_writer_stop(void) {
  if (!w.running) return;
  pthread_mutex_lock(&w.lock);
  w.stop = true; /* what is queued is still written and answered */
  pthread_cond_signal(&w.wake);
  pthread_mutex_unlock(&w.lock);
  pthread_join(w.thread, NULL);
  w.running = false;
}

void parleyd_writer_stats(uint64_t *batches, uint64_t *writes) {
  *batches = atomic_load_explicit(&w.batches, memory_order_relaxed);
  *writes = atomic_load_explicit(&w.writes, memory_order_relaxed);
}
