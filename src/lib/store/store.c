/* Store front end: chooses the engine by URL, runs transactions with retries, checks
 * what callers pass before it reaches an engine, and counts. */
#include "store/backend.h"
#include "store/faults.h"

#include <sodium.h>
#include <stdlib.h>
#include <time.h>

/* Attempts per parley_store_run before it answers STORE_RETRY. */
#define RUN_ATTEMPTS 8

/* ---- opening and closing ---------------------------------------------- */

static bool has_prefix(const char *s, const char *p) {
  return strncmp(s, p, strlen(p)) == 0;
}

parley_err parley_store_open(const char *url, parley_store **out, parley_error *err) {
  if (out) *out = NULL;
  if (!out) return parley_fail(err, PARLEY_E_INVALID_ARGUMENT, "no output handle");
  if (!url || !url[0]) return parley_fail(err, PARLEY_E_STORE_URL, "empty store URL");
  char fault_spec[256]; /* tests only: "faults:SPEC+URL" (faults.h) */
  url = parley_store_faults_url(url, fault_spec, sizeof fault_spec);
  if (!url) return parley_fail(err, PARLEY_E_STORE_URL, "malformed faults: prefix");
  const struct parley_store_backend *ops = NULL;
  if (has_prefix(url, "sqlite:")) {
    ops = &parley_store_sqlite;
  } else if (has_prefix(url, "postgresql://") || has_prefix(url, "postgres://")) {
#ifdef PARLEY_HAVE_PQ
    ops = &parley_store_postgres;
#else
    return parley_fail(err, PARLEY_E_STORE_URL, "this build has no PostgreSQL support");
#endif
  } else {
    /* the URL is not echoed: it may hold a password */
    return parley_fail(err, PARLEY_E_STORE_URL, "unknown store URL scheme");
  }

  parley_store *s = calloc(1, sizeof *s);
  if (!s) return parley_fail(err, PARLEY_E_NO_MEMORY, "store handle");
  if (pthread_mutex_init(&s->lock, NULL) != 0) {
    free(s);
    return parley_fail(err, PARLEY_E_NO_MEMORY, "store mutex");
  }
  if (pthread_cond_init(&s->idle, NULL) != 0) {
    pthread_mutex_destroy(&s->lock);
    free(s);
    return parley_fail(err, PARLEY_E_NO_MEMORY, "store condition");
  }
  s->ops = ops;
  atomic_init(&s->transactions, 0);
  atomic_init(&s->retries, 0);
  atomic_init(&s->errors, 0);
  parley_err e = ops->open(url, &s->backend, &s->schema, err);
  if (e == PARLEY_E_OK && (e = parley_store_faults_wrap(s, fault_spec, err)) != PARLEY_E_OK)
    ops->close(s->backend);
  if (e != PARLEY_E_OK) {
    pthread_cond_destroy(&s->idle);
    pthread_mutex_destroy(&s->lock);
    free(s);
    return e;
  }
  parley_log(PARLEY_LOG_INFO, "store.open", "engine=%s schema=%d", ops->name, s->schema);
  *out = s;
  return PARLEY_E_OK;
}

void parley_store_close(parley_store *s) {
  if (!s) return;
  pthread_mutex_lock(&s->lock);
  s->closing = true;
  while (s->active > 0)
    pthread_cond_wait(&s->idle, &s->lock);
  pthread_mutex_unlock(&s->lock);
  s->ops->close(s->backend);
  pthread_cond_destroy(&s->idle);
  pthread_mutex_destroy(&s->lock);
  free(s);
}

const char *parley_store_engine(const parley_store *s) {
  return s ? s->ops->name : "none";
}

int parley_store_schema_version(parley_store *s) {
  return s ? s->schema : 0;
}

void parley_store_get_stats(parley_store *s, parley_store_stats *out) {
  if (!out) return;
  memset(out, 0, sizeof *out);
  if (!s) return;
  out->transactions = atomic_load_explicit(&s->transactions, memory_order_relaxed);
  out->retries = atomic_load_explicit(&s->retries, memory_order_relaxed);
  out->errors = atomic_load_explicit(&s->errors, memory_order_relaxed);
}

/* ---- the transaction runner -------------------------------------------- */

/* Randomized, growing pause so that conflicting writers do not collide again in step. */
static void backoff(int attempt) {
  uint32_t cap_us = 1000u << (attempt < 7 ? attempt : 7); /* at most 128 ms */
  uint32_t us = 200 + randombytes_uniform(cap_us);
  struct timespec ts = {.tv_sec = us / 1000000u, .tv_nsec = (long)(us % 1000000u) * 1000L};
  while (nanosleep(&ts, &ts) != 0) {
  }
}

/* Set while this thread runs a transaction function: a nested run would wait for the
 * lock its own outer transaction holds (SQLite) or see none of its writes. */
static _Thread_local bool in_run;

parley_err parley_store_run(parley_store *s, bool write, parley_tx_fn fn, void *cls,
                            parley_error *err) {
  return parley_store_run_named(s, NULL, write, fn, cls, err);
}

parley_err parley_store_run_named(parley_store *s, const char *name, bool write, parley_tx_fn fn,
                                  void *cls, parley_error *err) {
  if (!name) name = "unnamed";
  parley_error local;
  parley_error *e = err ? err : &local;
  parley_error_clear(e);
  if (!s || !fn)
    return parley_fail(e, PARLEY_E_INVALID_ARGUMENT, "store or transaction function missing");
  if (in_run) {
    parley_log(PARLEY_LOG_ERROR, "store.nested_run", "engine=%s tx=%s", s->ops->name, name);
    return parley_fail(e, PARLEY_E_INVALID_ARGUMENT, "parley_store_run inside a transaction");
  }

  pthread_mutex_lock(&s->lock);
  if (s->closing) {
    pthread_mutex_unlock(&s->lock);
    return parley_fail(e, PARLEY_E_UNAVAILABLE, "the store is closing");
  }
  s->active++;
  pthread_mutex_unlock(&s->lock);

  parley_err rc = PARLEY_E_STORE_RETRY;
  int attempt;
  for (attempt = 0; attempt < RUN_ATTEMPTS; attempt++) {
    if (attempt > 0) {
      atomic_fetch_add_explicit(&s->retries, 1, memory_order_relaxed);
      backoff(attempt);
    }
    parley_error_clear(e);
    void *conn = NULL;
    parley_qs qs = s->ops->begin(s->backend, write, &conn);
    if (qs == PARLEY_QS_RETRY) continue;
    if (qs != PARLEY_QS_ONE) {
      rc = parley_fail(e, PARLEY_E_STORE_HARD, "cannot start a transaction");
      break;
    }
    parley_tx tx = {.store = s, .conn = conn, .write = write, .failed = PARLEY_QS_NONE};
    in_run = true;
    qs = fn(&tx, cls, e);
    in_run = false;
    if (qs < PARLEY_QS_HARD) qs = PARLEY_QS_HARD;
    /* an operation's failure overrides a success the function reported */
    if (qs >= 0 && tx.failed < 0) qs = tx.failed;
    /* a function that turns any failure into HARD still gets its retry */
    if (qs == PARLEY_QS_HARD && e->code == PARLEY_E_OK && tx.failed == PARLEY_QS_RETRY)
      qs = PARLEY_QS_RETRY;
    if (qs == PARLEY_QS_RETRY) {
      s->ops->rollback(s->backend, conn);
      continue;
    }
    if (qs == PARLEY_QS_HARD) {
      s->ops->rollback(s->backend, conn);
      rc = e->code != PARLEY_E_OK ? e->code
                                  : parley_fail(e, PARLEY_E_STORE_HARD, "transaction failed");
      break;
    }
    qs = s->ops->commit(s->backend, conn);
    if (qs == PARLEY_QS_RETRY) continue;
    if (qs != PARLEY_QS_ONE) {
      rc = parley_fail(e, PARLEY_E_STORE_HARD, "commit failed");
      break;
    }
    parley_error_clear(e);
    rc = PARLEY_E_OK;
    break;
  }
  if (attempt == RUN_ATTEMPTS) {
    parley_fail(e, PARLEY_E_STORE_RETRY, "gave up after %d conflicting attempts", RUN_ATTEMPTS);
    parley_log(PARLEY_LOG_WARN, "store.retry_exhausted", "tx=%s attempts=%d", name, RUN_ATTEMPTS);
  }

  atomic_fetch_add_explicit(&s->transactions, 1, memory_order_relaxed);
  if (rc == PARLEY_E_STORE_HARD || rc == PARLEY_E_STORE_RETRY)
    atomic_fetch_add_explicit(&s->errors, 1, memory_order_relaxed);

  pthread_mutex_lock(&s->lock);
  if (--s->active == 0) pthread_cond_broadcast(&s->idle);
  pthread_mutex_unlock(&s->lock);
  return rc;
}

/* ---- group commit ------------------------------------------------------- */

/* Runs one item in its own savepoint. Returns ONE when the item is kept (or undone
 * because it failed alone), RETRY when the whole batch must run again, HARD when the
 * transaction is unusable. */
/* A savepoint statement's failure: RETRY (e.g. a lost connection) reruns the batch. */
static parley_qs sp_result(parley_qs qs) {
  return qs == PARLEY_QS_ONE || qs == PARLEY_QS_RETRY ? qs : PARLEY_QS_HARD;
}

static parley_qs batch_item(parley_store *s, void *conn, parley_store_batch_item *it) {
  parley_error_clear(&it->err);
  parley_qs sp = sp_result(s->ops->savepoint(conn, PARLEY_SAVEPOINT_MARK));
  if (sp != PARLEY_QS_ONE) return sp;
  parley_tx tx = {.store = s, .conn = conn, .write = true, .failed = PARLEY_QS_NONE};
  in_run = true;
  parley_qs qs = it->fn(&tx, it->cls, &it->err);
  in_run = false;
  if (qs < PARLEY_QS_HARD) qs = PARLEY_QS_HARD;
  if (qs >= 0 && tx.failed < 0) qs = tx.failed;
  if (tx.failed == PARLEY_QS_RETRY || qs == PARLEY_QS_RETRY) return PARLEY_QS_RETRY;
  if (qs >= 0) {
    it->rc = PARLEY_E_OK; /* provisional: OK only once the commit is durable */
    return sp_result(s->ops->savepoint(conn, PARLEY_SAVEPOINT_KEEP));
  }
  /* a client error the function set, or a store operation that failed: this item only */
  it->rc = it->err.code != PARLEY_E_OK
               ? it->err.code
               : parley_fail(&it->err, PARLEY_E_STORE_HARD, "transaction failed");
  return sp_result(s->ops->savepoint(conn, PARLEY_SAVEPOINT_UNDO));
}

parley_err parley_store_run_batch(parley_store *s, parley_store_batch_item *items, size_t n) {
  if (!items) return n ? PARLEY_E_INVALID_ARGUMENT : PARLEY_E_OK;
  for (size_t i = 0; i < n; i++) {
    parley_error_clear(&items[i].err);
    items[i].rc = items[i].fn ? PARLEY_E_STORE_RETRY
                              : parley_fail(&items[i].err, PARLEY_E_INVALID_ARGUMENT, "no fn");
  }
  parley_err rc = PARLEY_E_STORE_RETRY;
  if (!s || in_run) { /* every item still gets its failure below */
    if (s) parley_log(PARLEY_LOG_ERROR, "store.nested_run", "engine=%s", s->ops->name);
    rc = PARLEY_E_INVALID_ARGUMENT;
    goto fail_all;
  }
  pthread_mutex_lock(&s->lock);
  bool closing = s->closing;
  if (!closing) s->active++;
  pthread_mutex_unlock(&s->lock);
  if (closing) {
    rc = PARLEY_E_UNAVAILABLE;
    goto fail_all;
  }

  int attempt;
  for (attempt = 0; attempt < RUN_ATTEMPTS; attempt++) {
    if (attempt > 0) {
      atomic_fetch_add_explicit(&s->retries, 1, memory_order_relaxed);
      backoff(attempt);
    }
    void *conn = NULL;
    parley_qs qs = s->ops->begin(s->backend, true, &conn);
    if (qs == PARLEY_QS_RETRY) continue;
    if (qs != PARLEY_QS_ONE) {
      rc = PARLEY_E_STORE_HARD;
      break;
    }
    for (size_t i = 0; i < n && qs == PARLEY_QS_ONE; i++)
      if (items[i].fn) qs = batch_item(s, conn, &items[i]);
    if (qs != PARLEY_QS_ONE) {
      s->ops->rollback(s->backend, conn);
      if (qs == PARLEY_QS_RETRY) continue;
      rc = PARLEY_E_STORE_HARD;
      break;
    }
    qs = s->ops->commit(s->backend, conn);
    if (qs == PARLEY_QS_RETRY) continue;
    rc = qs == PARLEY_QS_ONE ? PARLEY_E_OK : PARLEY_E_STORE_HARD;
    break;
  }
  if (attempt == RUN_ATTEMPTS)
    parley_log(PARLEY_LOG_WARN, "store.retry_exhausted", "tx=batch attempts=%d batch=%zu",
               RUN_ATTEMPTS, n);
  atomic_fetch_add_explicit(&s->transactions, 1, memory_order_relaxed);
  if (rc != PARLEY_E_OK) atomic_fetch_add_explicit(&s->errors, 1, memory_order_relaxed);
  pthread_mutex_lock(&s->lock);
  if (--s->active == 0) pthread_cond_broadcast(&s->idle);
  pthread_mutex_unlock(&s->lock);
  if (rc == PARLEY_E_OK) return rc;

fail_all: /* nothing committed: every item gets the batch's failure */
  for (size_t i = 0; i < n; i++) {
    if (!items[i].fn) continue;
    items[i].rc = rc;
    parley_fail(&items[i].err, rc,
                rc == PARLEY_E_STORE_RETRY   ? "gave up after conflicting attempts"
                : rc == PARLEY_E_UNAVAILABLE ? "the store is closing"
                                             : "the shared transaction failed");
  }
  return rc;
}

/* ---- checks on what callers pass ---------------------------------------- */

static parley_qs invalid(const char *op, const char *what) {
  parley_log(PARLEY_LOG_ERROR, "store.invalid_argument", "op=%s field=%s", op, what);
  return PARLEY_QS_HARD;
}

static bool bad(const char *op, const char *what) {
  invalid(op, what);
  return false;
}

/* NUL-terminated inside its field, valid UTF-8, and non-empty when required. */
static bool text_ok(const char *s, size_t cap, bool required) {
  if (!s) return false;
  size_t n = strnlen(s, cap);
  if (n == cap || (required && n == 0)) return false;
  return parley_utf8_valid(s, n);
}

/* Stored text: no NUL (PostgreSQL's text cannot hold one) and valid UTF-8. */
static bool blob_text_ok(const char *s, size_t n) {
  return s && n <= PARLEY_STORE_MAX_BLOB && memchr(s, '\0', n) == NULL && parley_utf8_valid(s, n);
}

static bool state_row_ok(const char *op, const parley_state_row *r) {
  if (!r) return bad(op, "row");
  if (!text_ok(r->code, sizeof r->code, true)) return bad(op, "code");
  if (!text_ok(r->name, sizeof r->name, false)) return bad(op, "name");
  if (!text_ok(r->region, sizeof r->region, false)) return bad(op, "region");
  if (r->status != PARLEY_STATE_ACTIVE && r->status != PARLEY_STATE_SUSPENDED)
    return bad(op, "status");
  if (r->current_version < 0) return bad(op, "current_version");
  return true;
}

static bool key_row_ok(const char *op, const parley_key_row *r) {
  if (!r) return bad(op, "row");
  if (!text_ok(r->key_id, sizeof r->key_id, true)) return bad(op, "key_id");
  if (r->role != PARLEY_ROLE_OPERATOR && r->role != PARLEY_ROLE_STATE_ROOT &&
      r->role != PARLEY_ROLE_OFFICER)
    return bad(op, "role");
  /* operators belong to no state; every other key to exactly one */
  if (!text_ok(r->state, sizeof r->state, r->role != PARLEY_ROLE_OPERATOR) ||
      (r->role == PARLEY_ROLE_OPERATOR && r->state[0]))
    return bad(op, "state");
  if (!text_ok(r->poc_id, sizeof r->poc_id, false)) return bad(op, "poc_id");
  if (!text_ok(r->name, sizeof r->name, false)) return bad(op, "name");
  return true;
}

/* Short-circuits an operation in a transaction that already failed, and refuses writes
 * in a read transaction (SQLite would upgrade the lock, PostgreSQL would refuse). */
static parley_qs tx_enter(parley_tx *tx, const char *op, bool writes) {
  if (!tx) return invalid(op, "tx");
  if (tx->failed < 0) return tx->failed;
  if (writes && !tx->write) {
    parley_log(PARLEY_LOG_ERROR, "store.write_in_read_tx", "op=%s", op);
    return tx->failed = PARLEY_QS_HARD;
  }
  /* every operation passes here, so fault injection (faults.c) covers each of them */
  parley_qs fault = parley_store_faults_call(tx->store, op);
  if (fault < 0) return tx->failed = fault;
  return PARLEY_QS_ONE;
}

static parley_qs tx_leave(parley_tx *tx, parley_qs qs) {
  if (qs < 0 && tx->failed == PARLEY_QS_NONE) tx->failed = qs;
  return qs;
}

#define ENTER(tx, op, writes)                                                                      \
  do {                                                                                             \
    parley_qs enter_qs_ = tx_enter(tx, op, writes);                                                \
    if (enter_qs_ < 0) return enter_qs_;                                                           \
  } while (0)

#define REFUSE(tx, op, what) return tx_leave(tx, invalid(op, what))

#define OPS(tx) ((tx)->store->ops)

/* ---- operations ------------------------------------------------------------ */

void parley_record_row_clear(parley_record_row *r) {
  if (!r) return;
  free(r->body);
  r->body = NULL;
  r->body_len = 0;
}

void parley_checkpoint_row_clear(parley_checkpoint_row *r) {
  if (!r) return;
  free(r->note);
  r->note = NULL;
}

parley_qs parley_store_state_insert(parley_tx *tx, const parley_state_row *row) {
  ENTER(tx, "state_insert", true);
  if (!state_row_ok("state_insert", row)) return tx_leave(tx, PARLEY_QS_HARD);
  return tx_leave(tx, OPS(tx)->state_insert(tx->conn, row));
}

parley_qs parley_store_state_get(parley_tx *tx, const char *code, parley_state_row *out) {
  ENTER(tx, "state_get", false);
  if (!code || !out) REFUSE(tx, "state_get", "code");
  if (!text_ok(code, PARLEY_STATE_CODE_LEN, true))
    return PARLEY_QS_NONE; /* no stored code has that form */
  return tx_leave(tx, OPS(tx)->state_get(tx->conn, code, out));
}

parley_qs parley_store_state_update(parley_tx *tx, const parley_state_row *row) {
  ENTER(tx, "state_update", true);
  if (!state_row_ok("state_update", row)) return tx_leave(tx, PARLEY_QS_HARD);
  return tx_leave(tx, OPS(tx)->state_update(tx->conn, row));
}

parley_qs parley_store_state_list(parley_tx *tx, bool (*cb)(void *cls, const parley_state_row *row),
                                  void *cls) {
  ENTER(tx, "state_list", false);
  if (!cb) REFUSE(tx, "state_list", "cb");
  return tx_leave(tx, OPS(tx)->state_list(tx->conn, cb, cls));
}

parley_qs parley_store_record_insert(parley_tx *tx, const parley_record_row *row) {
  ENTER(tx, "record_insert", true);
  if (!row || !text_ok(row->state, sizeof row->state, true)) REFUSE(tx, "record_insert", "state");
  if (row->version <= 0) REFUSE(tx, "record_insert", "version");
  if (!blob_text_ok(row->body, row->body_len)) REFUSE(tx, "record_insert", "body");
  if (row->leaf_index < 0) REFUSE(tx, "record_insert", "leaf_index");
  return tx_leave(tx, OPS(tx)->record_insert(tx->conn, row));
}

parley_qs parley_store_record_get(parley_tx *tx, const char *state, int64_t version,
                                  parley_record_row *out) {
  ENTER(tx, "record_get", false);
  if (!state || !out || version < 0) REFUSE(tx, "record_get", "argument");
  if (!text_ok(state, PARLEY_STATE_CODE_LEN, true)) return PARLEY_QS_NONE;
  return tx_leave(tx, OPS(tx)->record_get(tx->conn, state, version, out));
}

parley_qs parley_store_key_put(parley_tx *tx, const parley_key_row *row) {
  ENTER(tx, "key_put", true);
  if (!key_row_ok("key_put", row)) return tx_leave(tx, PARLEY_QS_HARD);
  return tx_leave(tx, OPS(tx)->key_put(tx->conn, row));
}

parley_qs parley_store_key_get(parley_tx *tx, const char *key_id, parley_key_row *out) {
  ENTER(tx, "key_get", false);
  if (!key_id || !out) REFUSE(tx, "key_get", "argument");
  if (!text_ok(key_id, sizeof out->key_id, true)) return PARLEY_QS_NONE;
  return tx_leave(tx, OPS(tx)->key_get(tx->conn, key_id, out));
}

parley_qs parley_store_operators_delete(parley_tx *tx) {
  ENTER(tx, "operators_delete", true);
  return tx_leave(tx, OPS(tx)->operators_delete(tx->conn));
}

parley_qs parley_store_key_delete(parley_tx *tx, const char *key_id) {
  ENTER(tx, "key_delete", true);
  if (!key_id) REFUSE(tx, "key_delete", "key_id");
  if (!text_ok(key_id, sizeof((parley_key_row *)0)->key_id, true)) return PARLEY_QS_NONE;
  return tx_leave(tx, OPS(tx)->key_delete(tx->conn, key_id));
}

parley_qs parley_store_officers_replace(parley_tx *tx, const char *state,
                                        const parley_key_row *rows, size_t n) {
  ENTER(tx, "officers_replace", true);
  if (!state || !text_ok(state, PARLEY_STATE_CODE_LEN, true))
    REFUSE(tx, "officers_replace", "state");
  if (n > 0 && !rows) REFUSE(tx, "officers_replace", "rows");
  for (size_t i = 0; i < n; i++) {
    if (!key_row_ok("officers_replace", &rows[i])) return tx_leave(tx, PARLEY_QS_HARD);
    if (rows[i].role != PARLEY_ROLE_OFFICER || strcmp(rows[i].state, state) != 0)
      REFUSE(tx, "officers_replace", "role or state of a row");
  }
  return tx_leave(tx, OPS(tx)->officers_replace(tx->conn, state, rows, n));
}

parley_qs parley_store_nonce_insert(parley_tx *tx, const char *key_id, const char *nonce,
                                    int64_t expires) {
  ENTER(tx, "nonce_insert", true);
  if (!text_ok(key_id, sizeof((parley_key_row *)0)->key_id, true))
    REFUSE(tx, "nonce_insert", "key_id");
  if (!text_ok(nonce, PARLEY_STORE_MAX_NONCE + 1, true)) REFUSE(tx, "nonce_insert", "nonce");
  return tx_leave(tx, OPS(tx)->nonce_insert(tx->conn, key_id, nonce, expires));
}

parley_qs parley_store_nonce_purge(parley_tx *tx, int64_t now) {
  ENTER(tx, "nonce_purge", true);
  return tx_leave(tx, OPS(tx)->nonce_purge(tx->conn, now));
}

parley_qs parley_store_leaf_append(parley_tx *tx, const uint8_t hash[32], const char *kind,
                                   const void *entry, size_t entry_len, int64_t created,
                                   uint64_t *index) {
  ENTER(tx, "leaf_append", true);
  if (!hash || !index) REFUSE(tx, "leaf_append", "hash");
  if (!text_ok(kind, sizeof((parley_leaf_row *)0)->kind, true)) REFUSE(tx, "leaf_append", "kind");
  if ((!entry && entry_len > 0) || entry_len > PARLEY_STORE_MAX_BLOB)
    REFUSE(tx, "leaf_append", "entry");
  return tx_leave(tx, OPS(tx)->leaf_append(tx->conn, hash, kind, entry, entry_len, created, index));
}

parley_qs parley_store_log_size(parley_tx *tx, uint64_t *size) {
  ENTER(tx, "log_size", false);
  if (!size) REFUSE(tx, "log_size", "size");
  return tx_leave(tx, OPS(tx)->log_size(tx->conn, size));
}

parley_qs parley_store_node_put(parley_tx *tx, unsigned level, uint64_t index,
                                const uint8_t hash[32]) {
  ENTER(tx, "node_put", true);
  /* level 0 is the leaves themselves, appended with leaf_append */
  if (level == 0 || level > 63) REFUSE(tx, "node_put", "level");
  if (!hash || index > (uint64_t)INT64_MAX) REFUSE(tx, "node_put", "index");
  return tx_leave(tx, OPS(tx)->node_put(tx->conn, level, index, hash));
}

parley_qs parley_store_node_get(parley_tx *tx, unsigned level, uint64_t index, uint8_t hash[32]) {
  ENTER(tx, "node_get", false);
  if (!hash) REFUSE(tx, "node_get", "hash");
  if (level > 63 || index > (uint64_t)INT64_MAX) return PARLEY_QS_NONE;
  return tx_leave(tx, OPS(tx)->node_get(tx->conn, level, index, hash));
}

parley_qs parley_store_leaf_entry(parley_tx *tx, uint64_t index, uint8_t **entry, size_t *len) {
  ENTER(tx, "leaf_entry", false);
  if (!entry || !len) REFUSE(tx, "leaf_entry", "entry");
  *entry = NULL;
  *len = 0;
  if (index > (uint64_t)INT64_MAX) return PARLEY_QS_NONE;
  return tx_leave(tx, OPS(tx)->leaf_entry(tx->conn, index, entry, len));
}

parley_qs parley_store_leaf_find(parley_tx *tx, const uint8_t hash[32], uint64_t *index) {
  ENTER(tx, "leaf_find", false);
  if (!hash || !index) REFUSE(tx, "leaf_find", "hash");
  return tx_leave(tx, OPS(tx)->leaf_find(tx->conn, hash, index));
}

parley_qs parley_store_checkpoint_put(parley_tx *tx, const parley_checkpoint_row *row) {
  ENTER(tx, "checkpoint_put", true);
  if (!row || !row->note || !blob_text_ok(row->note, strnlen(row->note, PARLEY_STORE_MAX_BLOB + 1)))
    REFUSE(tx, "checkpoint_put", "note");
  if (row->size > (uint64_t)INT64_MAX) REFUSE(tx, "checkpoint_put", "size");
  return tx_leave(tx, OPS(tx)->checkpoint_put(tx->conn, row));
}

parley_qs parley_store_checkpoint_get(parley_tx *tx, uint64_t size, parley_checkpoint_row *out) {
  ENTER(tx, "checkpoint_get", false);
  if (!out) REFUSE(tx, "checkpoint_get", "out");
  if (size > (uint64_t)INT64_MAX) return PARLEY_QS_NONE;
  return tx_leave(tx, OPS(tx)->checkpoint_get(tx->conn, size, out));
}

/* ---- messages ---------------------------------------------------------------------------- */

void parley_message_row_clear(parley_message_row *r) {
  if (!r) return;
  free(r->envelope);
  r->envelope = NULL;
  r->envelope_len = 0;
}

void parley_ack_row_clear(parley_ack_row *r) {
  if (!r) return;
  free(r->ack);
  r->ack = NULL;
  r->ack_len = 0;
}

/* What message_update writes; message_insert checks the rest as well. */
static bool message_state_ok(const char *op, const parley_message_row *r) {
  if (r->status < PARLEY_MSG_SUBMITTED || r->status > PARLEY_MSG_CLOSED) return bad(op, "status");
  if (r->escalation_level < 0) return bad(op, "escalation_level");
  if (r->ack_deadline < 0) return bad(op, "ack_deadline");
  if (r->next_escalation < 0) return bad(op, "next_escalation");
  return true;
}

static bool message_row_ok(const char *op, const parley_message_row *r) {
  if (!r) return bad(op, "row");
  if (!text_ok(r->id, sizeof r->id, true)) return bad(op, "id");
  if (!text_ok(r->kind, sizeof r->kind, true)) return bad(op, "kind");
  if (!text_ok(r->priority, sizeof r->priority, true)) return bad(op, "priority");
  if (!text_ok(r->tlp, sizeof r->tlp, false)) return bad(op, "tlp");
  if (!text_ok(r->from_state, sizeof r->from_state, true)) return bad(op, "from_state");
  if (!text_ok(r->from_poc, sizeof r->from_poc, true)) return bad(op, "from_poc");
  if (!text_ok(r->case_id, sizeof r->case_id, false)) return bad(op, "case_id");
  if (!text_ok(r->in_reply_to, sizeof r->in_reply_to, false)) return bad(op, "in_reply_to");
  if (r->leaf_index < 0) return bad(op, "leaf_index");
  if (!blob_text_ok(r->envelope, r->envelope_len)) return bad(op, "envelope");
  return message_state_ok(op, r);
}

static bool recipient_row_ok(const char *op, const parley_recipient_row *r) {
  if (!r) return bad(op, "recipient");
  if (!text_ok(r->message_id, sizeof r->message_id, false)) return bad(op, "message_id");
  if (!text_ok(r->state, sizeof r->state, true)) return bad(op, "state");
  if (!text_ok(r->poc, sizeof r->poc, true)) return bad(op, "poc");
  if (!text_ok(r->key_id, sizeof r->key_id, false)) return bad(op, "key_id");
  if (r->delivered < 0 || r->acked < 0) return bad(op, "delivered or acked");
  return true;
}

/* A lookup key that no stored row can have: NONE without asking the engine. */
static bool key_ok(const char *s, size_t cap) {
  return text_ok(s, cap, true);
}

static size_t list_limit(size_t limit) {
  return limit > (size_t)INT64_MAX ? (size_t)INT64_MAX : limit;
}

parley_qs parley_store_message_insert(parley_tx *tx, parley_message_row *row,
                                      const parley_recipient_row *rcpts, size_t n) {
  ENTER(tx, "message_insert", true);
  if (!message_row_ok("message_insert", row)) return tx_leave(tx, PARLEY_QS_HARD);
  if (n > 0 && !rcpts) REFUSE(tx, "message_insert", "recipients");
  for (size_t i = 0; i < n; i++) {
    if (!recipient_row_ok("message_insert", &rcpts[i])) return tx_leave(tx, PARLEY_QS_HARD);
    /* a recipient belongs to this message: its message_id is empty or this id */
    if (rcpts[i].message_id[0] && strcmp(rcpts[i].message_id, row->id) != 0)
      REFUSE(tx, "message_insert", "message_id of a recipient");
  }
  return tx_leave(tx, OPS(tx)->message_insert(tx->conn, row, rcpts, n));
}

parley_qs parley_store_message_get(parley_tx *tx, const char *id, parley_message_row *out) {
  if (out) memset(out, 0, sizeof *out); /* clearing it is safe whatever the answer */
  ENTER(tx, "message_get", false);
  if (!id || !out) REFUSE(tx, "message_get", "argument");
  if (!key_ok(id, sizeof out->id)) return PARLEY_QS_NONE;
  return tx_leave(tx, OPS(tx)->message_get(tx->conn, id, out));
}

parley_qs parley_store_message_update(parley_tx *tx, const parley_message_row *row) {
  ENTER(tx, "message_update", true);
  if (!row || !text_ok(row->id, sizeof row->id, true)) REFUSE(tx, "message_update", "id");
  if (!message_state_ok("message_update", row)) return tx_leave(tx, PARLEY_QS_HARD);
  return tx_leave(tx, OPS(tx)->message_update(tx->conn, row));
}

parley_qs parley_store_recipients_get(parley_tx *tx, const char *message_id,
                                      bool (*cb)(void *cls, const parley_recipient_row *r),
                                      void *cls) {
  ENTER(tx, "recipients_get", false);
  if (!message_id || !cb) REFUSE(tx, "recipients_get", "argument");
  if (!key_ok(message_id, PARLEY_UUID_LEN)) return PARLEY_QS_NONE;
  return tx_leave(tx, OPS(tx)->recipients_get(tx->conn, message_id, cb, cls));
}

parley_qs parley_store_recipient_update(parley_tx *tx, const parley_recipient_row *r) {
  ENTER(tx, "recipient_update", true);
  if (!recipient_row_ok("recipient_update", r)) return tx_leave(tx, PARLEY_QS_HARD);
  if (!r->message_id[0]) REFUSE(tx, "recipient_update", "message_id");
  return tx_leave(tx, OPS(tx)->recipient_update(tx->conn, r));
}

parley_qs parley_store_inbox(parley_tx *tx, const char *state, const char *poc, int64_t after,
                             size_t limit, bool (*cb)(void *cls, const parley_message_row *m),
                             void *cls) {
  ENTER(tx, "inbox", false);
  if (!state || !poc || !cb) REFUSE(tx, "inbox", "argument");
  if (!key_ok(state, PARLEY_STATE_CODE_LEN) ||
      !key_ok(poc, sizeof((parley_recipient_row *)0)->poc) || limit == 0)
    return PARLEY_QS_NONE;
  return tx_leave(tx, OPS(tx)->inbox(tx->conn, state, poc, after, list_limit(limit), cb, cls));
}

parley_qs parley_store_outbox(parley_tx *tx, const char *state, const char *poc, int64_t after,
                              size_t limit, bool (*cb)(void *cls, const parley_message_row *m),
                              void *cls) {
  ENTER(tx, "outbox", false);
  if (!state || !poc || !cb) REFUSE(tx, "outbox", "argument");
  if (!key_ok(state, PARLEY_STATE_CODE_LEN) ||
      !key_ok(poc, sizeof((parley_message_row *)0)->from_poc) || limit == 0)
    return PARLEY_QS_NONE;
  return tx_leave(tx, OPS(tx)->outbox(tx->conn, state, poc, after, list_limit(limit), cb, cls));
}

parley_qs parley_store_case_messages(parley_tx *tx, const char *case_id,
                                     bool (*cb)(void *cls, const parley_message_row *m),
                                     void *cls) {
  ENTER(tx, "case_messages", false);
  if (!case_id || !cb) REFUSE(tx, "case_messages", "argument");
  /* "" is no case: messages without one are not a case of their own */
  if (!key_ok(case_id, PARLEY_UUID_LEN)) return PARLEY_QS_NONE;
  return tx_leave(tx, OPS(tx)->case_messages(tx->conn, case_id, cb, cls));
}

parley_qs parley_store_due_messages(parley_tx *tx, int64_t now, size_t limit,
                                    bool (*cb)(void *cls, const parley_message_row *m), void *cls) {
  ENTER(tx, "due_messages", false);
  if (!cb) REFUSE(tx, "due_messages", "cb");
  if (limit == 0 || now <= 0) return PARLEY_QS_NONE;
  return tx_leave(tx, OPS(tx)->due_messages(tx->conn, now, list_limit(limit), cb, cls));
}

parley_qs parley_store_cases_latest(parley_tx *tx, const char *state, const char *poc,
                                    const char *kind,
                                    bool (*cb)(void *cls, const parley_message_row *m), void *cls) {
  ENTER(tx, "cases_latest", false);
  if (!state || !poc || !kind || !cb) REFUSE(tx, "cases_latest", "argument");
  if (!key_ok(state, PARLEY_STATE_CODE_LEN) ||
      !key_ok(poc, sizeof((parley_message_row *)0)->from_poc) ||
      !key_ok(kind, sizeof((parley_message_row *)0)->kind))
    return PARLEY_QS_NONE;
  return tx_leave(tx, OPS(tx)->cases_latest(tx->conn, state, poc, kind, cb, cls));
}

parley_qs parley_store_ack_insert(parley_tx *tx, const parley_ack_row *row) {
  ENTER(tx, "ack_insert", true);
  if (!row || !text_ok(row->message_id, sizeof row->message_id, true))
    REFUSE(tx, "ack_insert", "message_id");
  if (!text_ok(row->state, sizeof row->state, true)) REFUSE(tx, "ack_insert", "state");
  if (!text_ok(row->poc, sizeof row->poc, true)) REFUSE(tx, "ack_insert", "poc");
  if (!blob_text_ok(row->ack, row->ack_len)) REFUSE(tx, "ack_insert", "ack");
  if (row->leaf_index < 0) REFUSE(tx, "ack_insert", "leaf_index");
  return tx_leave(tx, OPS(tx)->ack_insert(tx->conn, row));
}

parley_qs parley_store_acks_get(parley_tx *tx, const char *message_id,
                                bool (*cb)(void *cls, const parley_ack_row *a), void *cls) {
  ENTER(tx, "acks_get", false);
  if (!message_id || !cb) REFUSE(tx, "acks_get", "argument");
  if (!key_ok(message_id, PARLEY_UUID_LEN)) return PARLEY_QS_NONE;
  return tx_leave(tx, OPS(tx)->acks_get(tx->conn, message_id, cb, cls));
}

parley_qs parley_store_message_event(parley_tx *tx, const char *message_id, const char *event,
                                     const char *detail, int64_t at) {
  ENTER(tx, "message_event", true);
  if (!text_ok(message_id, PARLEY_UUID_LEN, true)) REFUSE(tx, "message_event", "message_id");
  if (!text_ok(event, PARLEY_STORE_EVENT_LEN, true)) REFUSE(tx, "message_event", "event");
  if (!detail) detail = "";
  if (!text_ok(detail, PARLEY_STORE_DETAIL_LEN, false)) REFUSE(tx, "message_event", "detail");
  return tx_leave(tx, OPS(tx)->message_event(tx->conn, message_id, event, detail, at));
}

parley_qs parley_store_message_events(parley_tx *tx, const char *message_id,
                                      bool (*cb)(void *cls, const char *event, const char *detail,
                                                 int64_t at),
                                      void *cls) {
  ENTER(tx, "message_events", false);
  if (!message_id || !cb) REFUSE(tx, "message_events", "argument");
  if (!key_ok(message_id, PARLEY_UUID_LEN)) return PARLEY_QS_NONE;
  return tx_leave(tx, OPS(tx)->message_events(tx->conn, message_id, cb, cls));
}

parley_qs parley_store_message_basis_put(parley_tx *tx, const char *message_id,
                                         const char *instrument, const char *article) {
  ENTER(tx, "basis_put", true);
  if (!message_id || !instrument || !article || !key_ok(message_id, PARLEY_UUID_LEN) ||
      !*instrument || strlen(instrument) > 64 || !*article || strlen(article) > 32)
    REFUSE(tx, "basis_put", "argument");
  return tx_leave(tx, OPS(tx)->basis_put(tx->conn, message_id, instrument, article));
}

parley_qs parley_store_stats_messages(parley_tx *tx, int64_t after, size_t limit,
                                      bool (*cb)(void *cls, const parley_message_row *m,
                                                 const char *instrument, const char *article),
                                      void *cls) {
  ENTER(tx, "stats_messages", false);
  if (!cb) REFUSE(tx, "stats_messages", "cb");
  if (limit == 0) return PARLEY_QS_NONE;
  return tx_leave(tx, OPS(tx)->stats_messages(tx->conn, after, list_limit(limit), cb, cls));
}

parley_qs parley_store_clock_put(parley_tx *tx, const parley_clock_row *row) {
  ENTER(tx, "clock_put", true);
  if (!row || !key_ok(row->message_id, PARLEY_UUID_LEN) || !key_ok(row->name, sizeof row->name) ||
      !key_ok(row->case_id, PARLEY_UUID_LEN) || !key_ok(row->state, sizeof row->state) ||
      row->remind_at < 0 || row->next_at < 0 || (unsigned)row->status > PARLEY_CLOCK_LAPSED)
    REFUSE(tx, "clock_put", "row");
  return tx_leave(tx, OPS(tx)->clock_put(tx->conn, row));
}

parley_qs parley_store_clocks_due(parley_tx *tx, int64_t now, size_t limit,
                                  bool (*cb)(void *cls, const parley_clock_row *c), void *cls) {
  ENTER(tx, "clocks_due", false);
  if (!cb) REFUSE(tx, "clocks_due", "cb");
  if (limit == 0 || now <= 0) return PARLEY_QS_NONE;
  return tx_leave(tx, OPS(tx)->clocks_due(tx->conn, now, list_limit(limit), cb, cls));
}

parley_qs parley_store_clocks_of_case(parley_tx *tx, const char *case_id,
                                      bool (*cb)(void *cls, const parley_clock_row *c), void *cls) {
  ENTER(tx, "clocks_of_case", false);
  if (!case_id || !cb) REFUSE(tx, "clocks_of_case", "argument");
  if (!key_ok(case_id, PARLEY_UUID_LEN)) return PARLEY_QS_NONE;
  return tx_leave(tx, OPS(tx)->clocks_of_case(tx->conn, case_id, cb, cls));
}

parley_err parley_store_tlog_hash(void *tx, unsigned level, uint64_t index, uint8_t out[32]) {
  switch (parley_store_node_get(tx, level, index, out)) {
  case PARLEY_QS_ONE:
    return PARLEY_E_OK;
  case PARLEY_QS_NONE:
    return PARLEY_E_TLOG_RANGE;
  case PARLEY_QS_RETRY:
    return PARLEY_E_STORE_RETRY;
  default:
    return PARLEY_E_STORE_HARD;
  }
}

/* ---- evidence packages ---------------------------------------------------- */

void parley_evidence_row_clear(parley_evidence_row *r) {
  if (!r) return;
  free(r->manifest);
  r->manifest = NULL;
  r->manifest_len = 0;
}

static bool evidence_row_ok(const char *op, const parley_evidence_row *r) {
  if (!r) return bad(op, "row");
  if (!text_ok(r->id, sizeof r->id, true)) return bad(op, "id");
  if (r->status < PARLEY_EVIDENCE_UPLOADING || r->status > PARLEY_EVIDENCE_REJECTED)
    return bad(op, "status");
  if (r->upload_offset < 0 || r->upload_offset > r->ciphertext_size)
    return bad(op, "upload_offset");
  return true;
}

parley_qs parley_store_evidence_insert(parley_tx *tx, const parley_evidence_row *row,
                                       const parley_evidence_recipient_row *rcpts, size_t n) {
  ENTER(tx, "evidence_insert", true);
  if (!evidence_row_ok("evidence_insert", row)) REFUSE(tx, "evidence_insert", "row");
  if (!text_ok(row->from_state, sizeof row->from_state, true) ||
      !text_ok(row->from_poc, sizeof row->from_poc, true) || !row->manifest ||
      !blob_text_ok(row->manifest, row->manifest_len) || row->ciphertext_size < 0)
    REFUSE(tx, "evidence_insert", "row");
  if (n == 0 || n > 64 || !rcpts) REFUSE(tx, "evidence_insert", "recipients");
  for (size_t i = 0; i < n; i++)
    if (!text_ok(rcpts[i].state, sizeof rcpts[i].state, true) ||
        !text_ok(rcpts[i].poc, sizeof rcpts[i].poc, true) ||
        !text_ok(rcpts[i].key_id, sizeof rcpts[i].key_id, true))
      REFUSE(tx, "evidence_insert", "recipient");
  return tx_leave(tx, OPS(tx)->evidence_insert(tx->conn, row, rcpts, n));
}

parley_qs parley_store_evidence_get(parley_tx *tx, const char *id, parley_evidence_row *out) {
  ENTER(tx, "evidence_get", false);
  if (!id || !out) REFUSE(tx, "evidence_get", "argument");
  memset(out, 0, sizeof *out);
  if (!key_ok(id, PARLEY_UUID_LEN)) return tx_leave(tx, PARLEY_QS_NONE);
  return tx_leave(tx, OPS(tx)->evidence_get(tx->conn, id, out));
}

parley_qs parley_store_evidence_update(parley_tx *tx, const parley_evidence_row *row) {
  ENTER(tx, "evidence_update", true);
  if (!evidence_row_ok("evidence_update", row)) REFUSE(tx, "evidence_update", "row");
  return tx_leave(tx, OPS(tx)->evidence_update(tx->conn, row));
}

parley_qs parley_store_evidence_list(parley_tx *tx, const char *state, const char *poc,
                                     bool (*cb)(void *cls, const parley_evidence_row *r),
                                     void *cls) {
  ENTER(tx, "evidence_list", false);
  if (!state || !poc || !cb) REFUSE(tx, "evidence_list", "argument");
  if (!key_ok(state, PARLEY_STATE_CODE_LEN) || !key_ok(poc, 64))
    return tx_leave(tx, PARLEY_QS_NONE);
  return tx_leave(tx, OPS(tx)->evidence_list(tx->conn, state, poc, cb, cls));
}

parley_qs parley_store_evidence_recipient_add(parley_tx *tx, const char *id,
                                              const parley_evidence_recipient_row *r) {
  ENTER(tx, "evidence_recipient_add", true);
  if (!id || !r || !key_ok(id, PARLEY_UUID_LEN) || !text_ok(r->state, sizeof r->state, true) ||
      !text_ok(r->poc, sizeof r->poc, true) || !text_ok(r->key_id, sizeof r->key_id, true))
    REFUSE(tx, "evidence_recipient_add", "argument");
  return tx_leave(tx, OPS(tx)->evidence_recipient_add(tx->conn, id, r));
}

parley_qs parley_store_evidence_recipients(parley_tx *tx, const char *id,
                                           bool (*cb)(void *cls,
                                                      const parley_evidence_recipient_row *r),
                                           void *cls) {
  ENTER(tx, "evidence_recipients", false);
  if (!id || !cb) REFUSE(tx, "evidence_recipients", "argument");
  if (!key_ok(id, PARLEY_UUID_LEN)) return tx_leave(tx, PARLEY_QS_NONE);
  return tx_leave(tx, OPS(tx)->evidence_recipients(tx->conn, id, cb, cls));
}

parley_qs parley_store_evidence_chunk_put(parley_tx *tx, const char *id, int64_t idx,
                                          const uint8_t hash[32], const void *data, size_t len) {
  ENTER(tx, "evidence_chunk_put", true);
  if (!text_ok(id, PARLEY_UUID_LEN, true) || idx < 0 || !hash || len > ((size_t)2 << 20))
    REFUSE(tx, "evidence_chunk_put", "argument");
  return tx_leave(tx, OPS(tx)->evidence_chunk_put(tx->conn, id, idx, hash, data, len));
}

parley_qs parley_store_evidence_chunk_get(parley_tx *tx, const char *id, int64_t idx,
                                          uint8_t hash[32], uint8_t **data, size_t *len) {
  ENTER(tx, "evidence_chunk_get", false);
  if (!id || !hash || !data || !len) REFUSE(tx, "evidence_chunk_get", "argument");
  *data = NULL;
  *len = 0;
  if (!key_ok(id, PARLEY_UUID_LEN) || idx < 0) return tx_leave(tx, PARLEY_QS_NONE);
  return tx_leave(tx, OPS(tx)->evidence_chunk_get(tx->conn, id, idx, hash, data, len));
}

parley_qs
parley_store_evidence_chunk_hashes(parley_tx *tx, const char *id, int64_t from, size_t limit,
                                   bool (*cb)(void *cls, int64_t idx, const uint8_t hash[32]),
                                   void *cls) {
  ENTER(tx, "evidence_chunk_hashes", false);
  if (!id || !cb || limit == 0 || limit > 4096) REFUSE(tx, "evidence_chunk_hashes", "argument");
  if (!key_ok(id, PARLEY_UUID_LEN) || from < 0) return tx_leave(tx, PARLEY_QS_NONE);
  return tx_leave(tx, OPS(tx)->evidence_chunk_hashes(tx->conn, id, from, limit, cb, cls));
}

parley_qs parley_store_evidence_chunks_delete(parley_tx *tx, const char *id) {
  ENTER(tx, "evidence_chunks_delete", true);
  if (!text_ok(id, PARLEY_UUID_LEN, true)) REFUSE(tx, "evidence_chunks_delete", "id");
  return tx_leave(tx, OPS(tx)->evidence_chunks_delete(tx->conn, id));
}

parley_qs parley_store_evidence_usage(parley_tx *tx, const char *state, int64_t *bytes,
                                      int64_t *uploading) {
  ENTER(tx, "evidence_usage", false);
  if (!text_ok(state, PARLEY_STATE_CODE_LEN, true) || !bytes || !uploading)
    REFUSE(tx, "evidence_usage", "argument");
  return tx_leave(tx, OPS(tx)->evidence_usage(tx->conn, state, bytes, uploading));
}

parley_qs parley_store_evidence_expired(parley_tx *tx, int64_t now, size_t limit,
                                        bool (*cb)(void *cls, const parley_evidence_row *r),
                                        void *cls) {
  ENTER(tx, "evidence_expired", false);
  if (!cb) REFUSE(tx, "evidence_expired", "argument");
  if (limit == 0) return tx_leave(tx, PARLEY_QS_NONE);
  return tx_leave(tx, OPS(tx)->evidence_expired(tx->conn, now, list_limit(limit), cb, cls));
}

parley_qs parley_store_custody_insert(parley_tx *tx, parley_custody_row *row) {
  ENTER(tx, "custody_insert", true);
  if (!row || !text_ok(row->evidence_id, sizeof row->evidence_id, true) ||
      !text_ok(row->event, sizeof row->event, true) || !row->body ||
      !blob_text_ok(row->body, row->body_len) || row->leaf_index < 0)
    REFUSE(tx, "custody_insert", "row");
  return tx_leave(tx, OPS(tx)->custody_insert(tx->conn, row));
}

parley_qs parley_store_custody_list(parley_tx *tx, const char *id,
                                    bool (*cb)(void *cls, const parley_custody_row *r), void *cls) {
  ENTER(tx, "custody_list", false);
  if (!id || !cb) REFUSE(tx, "custody_list", "argument");
  if (!key_ok(id, PARLEY_UUID_LEN)) return tx_leave(tx, PARLEY_QS_NONE);
  return tx_leave(tx, OPS(tx)->custody_list(tx->conn, id, cb, cls));
}
