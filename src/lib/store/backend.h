/* Private interface between the store front end (store.c) and its engines.
 *
 * Each engine fills one table of function pointers (after Taler's exchangedb plugin and
 * Knot's knot_db_api_t). store.c owns transactions, retries, statistics and input
 * checks; an engine only talks to its database. */
#ifndef PARLEY_STORE_BACKEND_H
#define PARLEY_STORE_BACKEND_H

#include "parley/store.h"

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

/* Schema version this program knows. Both engines number their migration steps alike:
 * step N of one engine creates the same tables as step N of the other. */
#define PARLEY_STORE_SCHEMA_VERSION 6

/* Upper bound on a stored blob or text (state record, log entry, checkpoint note). */
#define PARLEY_STORE_MAX_BLOB ((size_t)16 << 20)
/* Upper bound on a request nonce. */
#define PARLEY_STORE_MAX_NONCE 256

/* Sizes (with the NUL) of a message event's name and detail; longer ones are refused. */
#define PARLEY_STORE_EVENT_LEN 64
#define PARLEY_STORE_DETAIL_LEN 1024

/* Bounds of the connection pool (one connection per thread using the store). */
#define PARLEY_STORE_MAX_CONNS 32

typedef enum {
  PARLEY_SAVEPOINT_MARK,
  PARLEY_SAVEPOINT_KEEP,
  PARLEY_SAVEPOINT_UNDO
} parley_savepoint_op;

struct parley_store_backend {
  const char *name;
  /* Connects to `url`, applies the migrations and sets *schema. */
  parley_err (*open)(const char *url, void **backend, int *schema, parley_error *err);
  /* Called once no transaction runs; closes every connection. */
  void (*close)(void *backend);
  /* Takes a connection from the pool and starts a transaction on it. On ONE the caller
   * ends it with exactly one commit or rollback, which return the connection. */
  parley_qs (*begin)(void *backend, bool write, void **conn);
  /* ONE once durable; RETRY or HARD after rolling back. */
  parley_qs (*commit)(void *backend, void *conn);
  void (*rollback)(void *backend, void *conn);
  /* Savepoints in a write transaction, for batches: MARK sets one, KEEP releases it,
   * UNDO rolls back to it and releases it. ONE on success; on anything else the caller
   * rolls the whole transaction back. */
  parley_qs (*savepoint)(void *conn, parley_savepoint_op op);

  parley_qs (*state_insert)(void *conn, const parley_state_row *row);
  parley_qs (*state_get)(void *conn, const char *code, parley_state_row *out);
  parley_qs (*state_update)(void *conn, const parley_state_row *row);
  parley_qs (*state_list)(void *conn, bool (*cb)(void *cls, const parley_state_row *row),
                          void *cls);
  parley_qs (*record_insert)(void *conn, const parley_record_row *row);
  parley_qs (*record_get)(void *conn, const char *state, int64_t version, parley_record_row *out);
  parley_qs (*key_put)(void *conn, const parley_key_row *row);
  parley_qs (*key_get)(void *conn, const char *key_id, parley_key_row *out);
  parley_qs (*key_delete)(void *conn, const char *key_id);
  parley_qs (*operators_delete)(void *conn);
  parley_qs (*officers_replace)(void *conn, const char *state, const parley_key_row *rows,
                                size_t n);
  parley_qs (*nonce_insert)(void *conn, const char *key_id, const char *nonce, int64_t expires);
  parley_qs (*nonce_purge)(void *conn, int64_t now);
  parley_qs (*leaf_append)(void *conn, const uint8_t hash[32], const char *kind, const void *entry,
                           size_t entry_len, int64_t created, uint64_t *index);
  parley_qs (*log_size)(void *conn, uint64_t *size);
  parley_qs (*node_put)(void *conn, unsigned level, uint64_t index, const uint8_t hash[32]);
  parley_qs (*node_get)(void *conn, unsigned level, uint64_t index, uint8_t hash[32]);
  parley_qs (*leaf_entry)(void *conn, uint64_t index, uint8_t **entry, size_t *len);
  parley_qs (*leaf_find)(void *conn, const uint8_t hash[32], uint64_t *index);
  parley_qs (*checkpoint_put)(void *conn, const parley_checkpoint_row *row);
  parley_qs (*checkpoint_get)(void *conn, uint64_t size, parley_checkpoint_row *out);
  /* Messages. Listings collect their rows before calling cb, so that cb may use the
   * transaction; limit is at least 1 and at most INT64_MAX. */
  parley_qs (*message_insert)(void *conn, parley_message_row *row,
                              const parley_recipient_row *rcpts, size_t n);
  parley_qs (*message_get)(void *conn, const char *id, parley_message_row *out);
  parley_qs (*message_update)(void *conn, const parley_message_row *row);
  parley_qs (*recipients_get)(void *conn, const char *message_id,
                              bool (*cb)(void *cls, const parley_recipient_row *r), void *cls);
  parley_qs (*recipient_update)(void *conn, const parley_recipient_row *r);
  parley_qs (*inbox)(void *conn, const char *state, const char *poc, int64_t after, size_t limit,
                     bool (*cb)(void *cls, const parley_message_row *m), void *cls);
  parley_qs (*outbox)(void *conn, const char *state, const char *poc, int64_t after, size_t limit,
                      bool (*cb)(void *cls, const parley_message_row *m), void *cls);
  parley_qs (*case_messages)(void *conn, const char *case_id,
                             bool (*cb)(void *cls, const parley_message_row *m), void *cls);
  parley_qs (*due_messages)(void *conn, int64_t now, size_t limit,
                            bool (*cb)(void *cls, const parley_message_row *m), void *cls);
  parley_qs (*cases_latest)(void *conn, const char *state, const char *poc, const char *kind,
                            bool (*cb)(void *cls, const parley_message_row *m), void *cls);
  parley_qs (*ack_insert)(void *conn, const parley_ack_row *row);
  parley_qs (*acks_get)(void *conn, const char *message_id,
                        bool (*cb)(void *cls, const parley_ack_row *a), void *cls);
  parley_qs (*message_event)(void *conn, const char *message_id, const char *event,
                             const char *detail, int64_t at);
  parley_qs (*message_events)(void *conn, const char *message_id,
                              bool (*cb)(void *cls, const char *event, const char *detail,
                                         int64_t at),
                              void *cls);
  parley_qs (*basis_put)(void *conn, const char *message_id, const char *instrument,
                         const char *article);
  parley_qs (*stats_messages)(void *conn, int64_t after, size_t limit,
                              bool (*cb)(void *cls, const parley_message_row *m,
                                         const char *instrument, const char *article),
                              void *cls);
  parley_qs (*clock_put)(void *conn, const parley_clock_row *row);
  parley_qs (*clocks_due)(void *conn, int64_t now, size_t limit,
                          bool (*cb)(void *cls, const parley_clock_row *c), void *cls);
  parley_qs (*clocks_of_case)(void *conn, const char *case_id,
                              bool (*cb)(void *cls, const parley_clock_row *c), void *cls);
  /* Evidence packages (store.h). */
  parley_qs (*evidence_insert)(void *conn, const parley_evidence_row *row,
                               const parley_evidence_recipient_row *rcpts, size_t n);
  parley_qs (*evidence_get)(void *conn, const char *id, parley_evidence_row *out);
  parley_qs (*evidence_update)(void *conn, const parley_evidence_row *row);
  parley_qs (*evidence_list)(void *conn, const char *state, const char *poc,
                             bool (*cb)(void *cls, const parley_evidence_row *r), void *cls);
  parley_qs (*evidence_recipient_add)(void *conn, const char *id,
                                      const parley_evidence_recipient_row *r);
  parley_qs (*evidence_recipients)(void *conn, const char *id,
                                   bool (*cb)(void *cls, const parley_evidence_recipient_row *r),
                                   void *cls);
  parley_qs (*evidence_chunk_put)(void *conn, const char *id, int64_t idx, const uint8_t hash[32],
                                  const void *data, size_t len);
  parley_qs (*evidence_chunk_get)(void *conn, const char *id, int64_t idx, uint8_t hash[32],
                                  uint8_t **data, size_t *len);
  parley_qs (*evidence_chunk_hashes)(void *conn, const char *id, int64_t from, size_t limit,
                                     bool (*cb)(void *cls, int64_t idx, const uint8_t hash[32]),
                                     void *cls);
  parley_qs (*evidence_chunks_delete)(void *conn, const char *id);
  parley_qs (*evidence_usage)(void *conn, const char *state, int64_t *bytes, int64_t *uploading);
  parley_qs (*evidence_expired)(void *conn, int64_t now, size_t limit,
                                bool (*cb)(void *cls, const parley_evidence_row *r), void *cls);
  parley_qs (*custody_insert)(void *conn, parley_custody_row *row);
  parley_qs (*custody_list)(void *conn, const char *id,
                            bool (*cb)(void *cls, const parley_custody_row *r), void *cls);
  /* Several processes on one database: each NULL in an engine that one process owns.
   * Called outside transactions (store.h says what each does). */
  parley_qs (*request_nonce_claim)(void *backend, const char *key_id, const char *nonce,
                                   int64_t expires);
  bool (*leader)(void *backend);
  parley_qs (*wake_send)(void *backend, const char *payload);
  int (*wake_wait)(void *backend, int timeout_ms, void (*cb)(void *cls, const char *payload),
                   void *cls);
};

struct parley_store {
  const struct parley_store_backend *ops;
  void *backend;
  int schema;
  /* close waits until `active` drops to zero */
  pthread_mutex_t lock;
  pthread_cond_t idle;
  unsigned active;
  bool closing;
  _Atomic uint64_t transactions;
  _Atomic uint64_t retries;
  _Atomic uint64_t errors;
};

struct parley_tx {
  parley_store *store;
  void *conn;
  bool write;
  /* The worst status an operation returned in this attempt: a transaction in which an
   * operation failed never commits, even if the caller's function ignores the failure. */
  parley_qs failed;
};

extern const struct parley_store_backend parley_store_sqlite;
#ifdef PARLEY_HAVE_PQ
extern const struct parley_store_backend parley_store_postgres;
#endif

/* Copies a database string of `len` bytes into a fixed field. False if it does not fit
 * or holds a NUL (the row would be silently different from the stored one). */
static inline bool parley_store_copy_text(char *dst, size_t cap, const char *src, size_t len) {
  if (len >= cap || (len > 0 && memchr(src, '\0', len) != NULL)) return false;
  if (len > 0) memcpy(dst, src, len);
  dst[len] = '\0';
  return true;
}

#endif
