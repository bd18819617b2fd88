/* libparley store: one interface over the hub's storage engines.
 *
 * A store is opened from a URL ("sqlite:PATH", or "postgresql://..." when built with
 * libpq). All reads and writes happen inside parley_store_run(), which runs a caller's
 * function in one transaction and retries it when the engine reports a retryable
 * conflict. Nothing engine-specific crosses this header: callers see rows as C structs
 * and query statuses, never SQL. */
#ifndef PARLEY_STORE_H
#define PARLEY_STORE_H

#include "parley/base.h"

/* What a store operation tells its caller to do (after Taler's GNUNET_DB_QueryStatus). */
typedef enum {
  PARLEY_QS_HARD = -2,  /* give up: the store failed */
  PARLEY_QS_RETRY = -1, /* roll back and run the whole transaction again */
  PARLEY_QS_NONE = 0,   /* success, no row (not found / nothing changed / conflict) */
  PARLEY_QS_ONE = 1     /* success, one row (or more for list calls) */
} parley_qs;

typedef struct parley_store parley_store;
typedef struct parley_tx parley_tx;

/* Opens the store and brings its schema up to date (versioned migrations). */
parley_err parley_store_open(const char *url, parley_store **out, parley_error *err);
/* Waits for running transactions and closes every connection. */
void parley_store_close(parley_store *s);
/* Engine name for logs and /healthz ("sqlite" or "postgres"). */
const char *parley_store_engine(const parley_store *s);
/* Schema version the store is at. */
int parley_store_schema_version(parley_store *s);

/* The transaction body. Return PARLEY_QS_ONE/NONE to commit, RETRY to retry, HARD to
 * roll back. To roll back with a client error, set *err (parley_fail) and return HARD:
 * parley_store_run then returns that code unchanged. */
typedef parley_qs (*parley_tx_fn)(parley_tx *tx, void *cls, parley_error *err);

/* Runs fn in one transaction (a write transaction when `write`), retrying on RETRY up
 * to a bounded number of times. Returns OK once committed, which for a write means
 * durable on disk; STORE_RETRY if retries ran out; STORE_HARD on a store failure; or
 * the code fn set.
 * An attempt in which any operation returned RETRY or HARD never commits, even if fn
 * returns ONE; later operations in it return that status without running. Write
 * operations in a read transaction fail (HARD). fn may not call parley_store_run
 * (INVALID_ARGUMENT); while parley_store_close waits, new runs answer UNAVAILABLE.
 * Malformed arguments (a string not NUL-terminated within its field, not UTF-8, or a
 * text holding NUL) are HARD. */
parley_err parley_store_run(parley_store *s, bool write, parley_tx_fn fn, void *cls,
                            parley_error *err);
/* parley_store_run with a name for the transaction ("message_submit"): the logs that
 * speak of the run (store.retry_exhausted) carry it as tx=NAME. NULL reads "unnamed". */
parley_err parley_store_run_named(parley_store *s, const char *name, bool write, parley_tx_fn fn,
                                  void *cls, parley_error *err);

/* One write of a batch: fn and cls in; rc and err out, as parley_store_run would
 * answer them. */
typedef struct {
  parley_tx_fn fn;
  void *cls;
  parley_err rc;
  parley_error err;
} parley_store_batch_item;

/* Group commit: runs each item's fn in its own savepoint of one write transaction, in
 * order, and commits once (one fsync for all). An item whose fn fails (a client error it
 * set, or a store operation failing HARD) is undone alone and gets its code; the others
 * commit together. A conflict (RETRY) or a failed commit runs the whole batch again,
 * bounded as in parley_store_run, so fns must be rerunnable as there. An item's rc is
 * OK only once the shared commit is durable. Returns OK if the batch committed (some
 * items may still have failed alone), else the failure every item got. */
parley_err parley_store_run_batch(parley_store *s, parley_store_batch_item *items, size_t n);

/* Counters for /metrics: runs finished, extra attempts, runs that ended in STORE_HARD
 * or STORE_RETRY (a client error set by fn is not a store error). */
typedef struct {
  uint64_t transactions;
  uint64_t retries;
  uint64_t errors;
} parley_store_stats;
void parley_store_get_stats(parley_store *s, parley_store_stats *out);

/* ---- several processes on one store --------------------------------------
 * PostgreSQL may be shared by several parleyd; SQLite is one process's. Each of these
 * runs outside any transaction. */

/* True when several processes may share the store (the calls below then work). */
bool parley_store_shared(const parley_store *s);
/* Records a signed request's nonce (at most 256 bytes, UTF-8) until `expires`, at once
 * and durably: ONE if it was new, NONE if any process recorded it before (a replay);
 * RETRY or HARD if the store failed. HARD on a store not shared. */
parley_qs parley_store_request_nonce_claim(parley_store *s, const char *key_id, const char *nonce,
                                           int64_t expires);
/* Whether this process is the store's leader, the one that runs the scheduler and signs
 * checkpoints. Call it from one thread, now and then (each call is a round trip): it
 * takes the leadership when free, and keeps it while its session lives; the server
 * frees it when the process dies or its session is lost, and another takes it at its
 * next call. Always true on a store not shared. */
bool parley_store_leader(parley_store *s);
/* Sends a wake-up (at most 7999 bytes of UTF-8 text) to every process listening on the
 * store, this one included. */
parley_err parley_store_wake_send(parley_store *s, const char *payload);
/* Waits up to timeout_ms for wake-ups and calls cb for each, from one thread. Answers
 * 0, or 1 when it (re)connected to listen (wake-ups sent meanwhile were lost: the
 * caller acts as if woken for everything), or -1 if it cannot listen now (it waited). */
int parley_store_wake_wait(parley_store *s, int timeout_ms,
                           void (*cb)(void *cls, const char *payload), void *cls);

/* ---- rows ---------------------------------------------------------------- */

#define PARLEY_STATE_CODE_LEN 4 /* ISO 3166-1 alpha-3 + NUL */

typedef enum { PARLEY_STATE_ACTIVE = 0, PARLEY_STATE_SUSPENDED = 1 } parley_state_status;

typedef struct {
  char code[PARLEY_STATE_CODE_LEN];
  char name[256];
  char region[64];
  uint8_t root_pk[32];
  parley_state_status status;
  int64_t current_version; /* 0 = no record published yet */
  int64_t review_by;       /* of the current record; 0 if none */
  int64_t created;
  int64_t updated;
  int64_t root_replaced_at; /* log index of the last operator replacement of the root key;
                               -1: never (set it so on insert) */
} parley_state_row;

typedef struct {
  char state[PARLEY_STATE_CODE_LEN];
  int64_t version;
  char *body; /* the signed record as received (JSON text); owned by the row */
  size_t body_len;
  int64_t received;
  int64_t leaf_index; /* position in the transparency log */
} parley_record_row;
void parley_record_row_clear(parley_record_row *r);

/* Keys that may sign requests. */
typedef enum {
  PARLEY_ROLE_OPERATOR = 0,
  PARLEY_ROLE_STATE_ROOT = 1,
  PARLEY_ROLE_OFFICER = 2
} parley_role;

typedef struct {
  char key_id[32];
  uint8_t pk[32];
  parley_role role;
  char state[PARLEY_STATE_CODE_LEN]; /* empty for operators */
  char poc_id[64];                   /* officers only */
  char name[128];
} parley_key_row;

typedef struct {
  uint64_t index;
  uint8_t hash[32];
  char kind[32]; /* "state-record", "envelope", "ack", "event" */
  int64_t created;
} parley_leaf_row;

typedef struct {
  uint64_t size;
  char *note; /* signed checkpoint text; owned by the row */
  int64_t created;
} parley_checkpoint_row;
void parley_checkpoint_row_clear(parley_checkpoint_row *r);

/* ---- operations (only inside parley_store_run) ------------------------- */

/* States. insert → NONE if the code exists. */
parley_qs parley_store_state_insert(parley_tx *tx, const parley_state_row *row);
parley_qs parley_store_state_get(parley_tx *tx, const char *code, parley_state_row *out);
parley_qs parley_store_state_update(parley_tx *tx, const parley_state_row *row);
/* Calls cb for each state in code order; cb returns false to stop. */
parley_qs parley_store_state_list(parley_tx *tx, bool (*cb)(void *cls, const parley_state_row *row),
                                  void *cls);

/* State records: every version is kept. insert → NONE if that version exists. */
parley_qs parley_store_record_insert(parley_tx *tx, const parley_record_row *row);
/* version 0 = the current (highest) version. */
parley_qs parley_store_record_get(parley_tx *tx, const char *state, int64_t version,
                                  parley_record_row *out);

/* Request-signing keys. replace_officers deletes the state's officer keys and inserts
 * the given ones (a new record replaces the old officers).
 * key_put inserts or replaces the row with that key_id (ONE). An operator key has an
 * empty state; every other key names an onboarded state (else HARD).
 * officers_replace: every row must have role OFFICER and that state (else HARD); NONE
 * if a key_id is already used by another key — the old officers are already deleted
 * then, so the caller rolls back (returns HARD with an error). */
parley_qs parley_store_key_put(parley_tx *tx, const parley_key_row *row);
parley_qs parley_store_key_get(parley_tx *tx, const char *key_id, parley_key_row *out);
parley_qs parley_store_key_delete(parley_tx *tx, const char *key_id);
/* Deletes every operator key (ONE if any, else NONE). parleyd calls it before
 * registering the configured operator keys in the same transaction, so a key removed
 * from the configuration is revoked at the next start. */
parley_qs parley_store_operators_delete(parley_tx *tx);
parley_qs parley_store_officers_replace(parley_tx *tx, const char *state,
                                        const parley_key_row *rows, size_t n);

/* Request nonces for replay protection: NONE if (key_id, nonce) was already seen.
 * Entries expire at `expires` and are purged by nonce_purge. */
parley_qs parley_store_nonce_insert(parley_tx *tx, const char *key_id, const char *nonce,
                                    int64_t expires);
parley_qs parley_store_nonce_purge(parley_tx *tx, int64_t now);

/* Transparency log. leaf_append assigns the next index (returned in *index). Interior
 * hashes of complete subtrees are stored with node_put and read with node_get
 * (level 0 = leaf hashes, served from the leaves).
 * Indices are contiguous from 0 also with several processes on one store. node_put
 * inserts or replaces (ONE); level 0 and levels above 63 are refused (HARD).
 * leaf_find answers the lowest index holding that hash. */
parley_qs parley_store_leaf_append(parley_tx *tx, const uint8_t hash[32], const char *kind,
                                   const void *entry, size_t entry_len, int64_t created,
                                   uint64_t *index);
parley_qs parley_store_log_size(parley_tx *tx, uint64_t *size);
parley_qs parley_store_node_put(parley_tx *tx, unsigned level, uint64_t index,
                                const uint8_t hash[32]);
parley_qs parley_store_node_get(parley_tx *tx, unsigned level, uint64_t index, uint8_t hash[32]);
/* Entry bytes of leaf `index` (what was hashed), malloc'd, caller frees. */
parley_qs parley_store_leaf_entry(parley_tx *tx, uint64_t index, uint8_t **entry, size_t *len);
parley_qs parley_store_leaf_find(parley_tx *tx, const uint8_t hash[32], uint64_t *index);

/* Appends entry (kind "\n" payload) as the next leaf and stores the interior nodes it
 * completes, in the caller's transaction; *leaf gets its index. */
parley_qs parley_store_tlog_append(parley_tx *tx, const char *kind, const uint8_t *entry,
                                   size_t len, int64_t created, uint64_t *leaf, parley_error *err);

/* A parley_tlog_hash_fn over the stored log: pass the transaction as ctx. Complete
 * subtree hashes come from the store (O(1) reads each); NONE maps to TLOG_RANGE, RETRY
 * to STORE_RETRY, anything else to STORE_HARD. */
parley_err parley_store_tlog_hash(void *tx, unsigned level, uint64_t index, uint8_t out[32]);

/* Inserts or replaces the checkpoint of that size (a note gains cosignatures). */
parley_qs parley_store_checkpoint_put(parley_tx *tx, const parley_checkpoint_row *row);
/* size 0 = the latest checkpoint. */
parley_qs parley_store_checkpoint_get(parley_tx *tx, uint64_t size, parley_checkpoint_row *out);

/* ---- messages ------------------------------------------------------------- */

typedef enum {
  PARLEY_MSG_SUBMITTED = 0,    /* accepted by the hub */
  PARLEY_MSG_DELIVERED = 1,    /* fetched by at least one recipient */
  PARLEY_MSG_ACKNOWLEDGED = 2, /* every recipient state sent a signed receipt */
  PARLEY_MSG_ANSWERED = 3,     /* every recipient state settled, one with a response */
  PARLEY_MSG_CLOSED = 4
} parley_msg_status;

typedef struct {
  int64_t seq; /* assigned by the store on insert, increasing: the inbox cursor */
  char id[PARLEY_UUID_LEN];
  char kind[32];
  char priority[16];
  char tlp[24];
  char from_state[PARLEY_STATE_CODE_LEN];
  char from_poc[64];
  char case_id[PARLEY_UUID_LEN];     /* "" if none */
  char in_reply_to[PARLEY_UUID_LEN]; /* "" if none */
  int64_t created;                   /* as the sender signed it */
  int64_t received;                  /* when the hub accepted it */
  int64_t ack_deadline;              /* 0: no deadline */
  int escalation_level;              /* how many escalation steps were taken */
  int64_t next_escalation;           /* when the next step is due; 0: none */
  bool overdue;
  parley_msg_status status;
  uint8_t envelope_hash[32];
  int64_t leaf_index;
  char *envelope; /* signed envelope JSON; owned; NULL in listings */
  size_t envelope_len;
} parley_message_row;
void parley_message_row_clear(parley_message_row *r);

typedef struct {
  char message_id[PARLEY_UUID_LEN];
  char state[PARLEY_STATE_CODE_LEN];
  char poc[64];
  char key_id[32];   /* the recipient's encryption key id */
  int64_t delivered; /* 0: not yet fetched */
  int64_t acked;     /* 0: not acknowledged */
} parley_recipient_row;

typedef struct {
  char message_id[PARLEY_UUID_LEN];
  char state[PARLEY_STATE_CODE_LEN];
  char poc[64];
  int64_t time;
  char *ack; /* signed ack JSON; owned */
  size_t ack_len;
  int64_t leaf_index;
} parley_ack_row;
void parley_ack_row_clear(parley_ack_row *r);

/* Message listings call cb for each row in the order stated; cb returns false to stop,
 * may use the transaction, and may not keep pointers into the row. They answer ONE if
 * cb saw a row, NONE if there was none (also for a key no stored row can have, or a
 * limit of 0). Listed message rows carry no envelope. */

/* Inserts a message (seq assigned, written back to row->seq) and its recipients.
 * NONE if the id exists (a replayed envelope): then nothing is written and row->seq is
 * left alone. A recipient's message_id is empty or row->id (else HARD); a recipient
 * listed twice is HARD. An empty case_id or in_reply_to is stored as none. */
parley_qs parley_store_message_insert(parley_tx *tx, parley_message_row *row,
                                      const parley_recipient_row *rcpts, size_t n);
/* With the envelope, owned by *out. *out is overwritten first, so
 * parley_message_row_clear is safe after any answer. */
parley_qs parley_store_message_get(parley_tx *tx, const char *id, parley_message_row *out);
/* Updates status, overdue, escalation_level, next_escalation, ack_deadline of row->id;
 * the other fields are kept. NONE if there is no such id. */
parley_qs parley_store_message_update(parley_tx *tx, const parley_message_row *row);
/* In (state, poc) byte order. */
parley_qs parley_store_recipients_get(parley_tx *tx, const char *message_id,
                                      bool (*cb)(void *cls, const parley_recipient_row *r),
                                      void *cls);
/* Updates delivered and acked of (message_id, state, poc). Each keeps its earliest
 * non-zero time: 0 leaves a column as stored, and a later time never replaces an earlier
 * one, so a recorded delivery or acknowledgement is never undone. key_id is not
 * changed. NONE if there is no such recipient. */
parley_qs parley_store_recipient_update(parley_tx *tx, const parley_recipient_row *r);
/* Messages addressed to (state, poc) with seq > after, oldest first, at most limit;
 * rows without the envelope. A reader that has seen seq N misses no message committed
 * later: seqs become visible in increasing order. */
parley_qs parley_store_inbox(parley_tx *tx, const char *state, const char *poc, int64_t after,
                             size_t limit, bool (*cb)(void *cls, const parley_message_row *m),
                             void *cls);
/* Messages sent by (state, poc) with seq > after, oldest first. */
parley_qs parley_store_outbox(parley_tx *tx, const char *state, const char *poc, int64_t after,
                              size_t limit, bool (*cb)(void *cls, const parley_message_row *m),
                              void *cls);
/* Messages of a case, oldest first, without envelopes: those whose case_id is case_id,
 * and the message whose id is case_id (a case is named by the message that opened it,
 * which may carry no case_id itself). */
parley_qs parley_store_case_messages(parley_tx *tx, const char *case_id,
                                     bool (*cb)(void *cls, const parley_message_row *m), void *cls);
/* Unacknowledged messages (status SUBMITTED or DELIVERED) whose next_escalation is due
 * (0 < next_escalation <= now), most overdue first (then by seq), at most limit, without
 * envelopes. */
parley_qs parley_store_due_messages(parley_tx *tx, int64_t now, size_t limit,
                                    bool (*cb)(void *cls, const parley_message_row *m), void *cls);
/* The latest message (highest seq) of each case among the messages of `kind` sent by
 * (state, poc), oldest of those first, without envelopes; messages without a case are
 * left out. Recurring communication checks use it to find the last round of every
 * series however many rounds there are. */
parley_qs parley_store_cases_latest(parley_tx *tx, const char *state, const char *poc,
                                    const char *kind,
                                    bool (*cb)(void *cls, const parley_message_row *m), void *cls);
/* NONE if (message_id, state, poc) already has an ack (the first one stays); HARD if it
 * is not a recipient of that message. */
parley_qs parley_store_ack_insert(parley_tx *tx, const parley_ack_row *row);
/* In (time, state, poc) order; a->ack is freed when cb returns. */
parley_qs parley_store_acks_get(parley_tx *tx, const char *message_id,
                                bool (*cb)(void *cls, const parley_ack_row *a), void *cls);
/* Appends to a message's history: transitions, deliveries, escalation alerts. event is
 * 1 to 63 bytes, detail (NULL: "") at most 1023; longer is HARD, and so is an unknown
 * message. */
parley_qs parley_store_message_event(parley_tx *tx, const char *message_id, const char *event,
                                     const char *detail, int64_t at);
/* In the order appended. */
parley_qs parley_store_message_events(parley_tx *tx, const char *message_id,
                                      bool (*cb)(void *cls, const char *event, const char *detail,
                                                 int64_t at),
                                      void *cls);

/* ---- treaty metadata: legal bases and clocks (docs/protocol.md §10.1) ------------- */

/* Records the legal basis of a stored message (instrument 1..64 bytes, article 1..32);
 * HARD for an unknown message or a second basis. */
parley_qs parley_store_message_basis_put(parley_tx *tx, const char *message_id,
                                         const char *instrument, const char *article);
/* Messages with seq > after, oldest first, at most limit, without envelopes, each with
 * its legal basis ("" when none): what statistics are made of. */
parley_qs parley_store_stats_messages(parley_tx *tx, int64_t after, size_t limit,
                                      bool (*cb)(void *cls, const parley_message_row *m,
                                                 const char *instrument, const char *article),
                                      void *cls);

typedef enum {
  PARLEY_CLOCK_RUNNING = 0,
  PARLEY_CLOCK_MET = 1,   /* what it waited for happened in time (or later: settled) */
  PARLEY_CLOCK_LAPSED = 2 /* its due time passed first */
} parley_clock_status;

/* A treaty clock on a message: one per (message_id, name). */
typedef struct {
  char message_id[PARLEY_UUID_LEN];
  char name[32];
  char case_id[PARLEY_UUID_LEN];     /* the case it belongs to (the message's id if none) */
  char state[PARLEY_STATE_CODE_LEN]; /* the message's sender */
  int64_t started;
  int64_t due;
  int64_t remind_at; /* 0: no reminder pending */
  int64_t next_at;   /* when the scheduler must look at it: remind_at if pending, else due */
  parley_clock_status status;
  int64_t settled; /* when it was met or lapsed; 0 while running */
} parley_clock_row;

/* Inserts or replaces the clock (message_id, name). HARD for an unknown message. */
parley_qs parley_store_clock_put(parley_tx *tx, const parley_clock_row *row);
/* Running clocks with 0 < next_at <= now, earliest first, at most limit. */
parley_qs parley_store_clocks_due(parley_tx *tx, int64_t now, size_t limit,
                                  bool (*cb)(void *cls, const parley_clock_row *c), void *cls);
/* Every clock of a case, in (started, message_id, name) order. */
parley_qs parley_store_clocks_of_case(parley_tx *tx, const char *case_id,
                                      bool (*cb)(void *cls, const parley_clock_row *c), void *cls);
/* ---- evidence packages (docs/protocol.md, "Evidence packages") ---------------- */

typedef enum {
  PARLEY_EVIDENCE_UPLOADING = 0, /* created; ciphertext arriving */
  PARLEY_EVIDENCE_AVAILABLE = 1, /* every chunk stored and the Merkle root matched */
  PARLEY_EVIDENCE_DELETED = 2,   /* ciphertext deleted at retention; custody kept */
  PARLEY_EVIDENCE_CANCELLED = 3, /* the sender terminated the upload */
  PARLEY_EVIDENCE_REJECTED = 4   /* the ciphertext did not match the manifest's root */
} parley_evidence_status;

typedef struct {
  char id[PARLEY_UUID_LEN];
  char from_state[PARLEY_STATE_CODE_LEN];
  char from_poc[64];
  parley_evidence_status status;
  int64_t ciphertext_size;
  int64_t upload_offset; /* bytes stored durably, a chunk boundary */
  int64_t retain_until;
  int64_t created;
  int64_t updated;
  uint8_t manifest_hash[32];
  int64_t leaf_index;
  char *manifest; /* the signed manifest (JSON text); owned; NULL in listings */
  size_t manifest_len;
} parley_evidence_row;
void parley_evidence_row_clear(parley_evidence_row *r);

typedef struct {
  char evidence_id[PARLEY_UUID_LEN];
  char state[PARLEY_STATE_CODE_LEN];
  char poc[64];
  char key_id[32];
} parley_evidence_recipient_row;

typedef struct {
  int64_t seq; /* assigned on insert */
  char evidence_id[PARLEY_UUID_LEN];
  char event[32];
  int64_t at;
  int64_t leaf_index;
  char *body; /* the signed custody event (JSON text); owned */
  size_t body_len;
} parley_custody_row;

/* NONE if the id exists. */
parley_qs parley_store_evidence_insert(parley_tx *tx, const parley_evidence_row *row,
                                       const parley_evidence_recipient_row *rcpts, size_t n);
/* With the manifest, owned by *out (overwritten first). */
parley_qs parley_store_evidence_get(parley_tx *tx, const char *id, parley_evidence_row *out);
/* Updates status, upload_offset and updated of row->id. */
parley_qs parley_store_evidence_update(parley_tx *tx, const parley_evidence_row *row);
/* Packages sent by or addressed to (state, poc), oldest first, at most 1000, without
 * manifests. */
parley_qs parley_store_evidence_list(parley_tx *tx, const char *state, const char *poc,
                                     bool (*cb)(void *cls, const parley_evidence_row *r),
                                     void *cls);
/* Adds one recipient to package id (onward sharing): ONE, or NONE if (state, poc) is
 * one already. */
parley_qs parley_store_evidence_recipient_add(parley_tx *tx, const char *id,
                                              const parley_evidence_recipient_row *r);
parley_qs parley_store_evidence_recipients(parley_tx *tx, const char *id,
                                           bool (*cb)(void *cls,
                                                      const parley_evidence_recipient_row *r),
                                           void *cls);
/* Inserts or replaces chunk idx: its leaf hash and, when data is not NULL, its
 * ciphertext (stores that keep chunks in the database; at most 2 MiB). */
parley_qs parley_store_evidence_chunk_put(parley_tx *tx, const char *id, int64_t idx,
                                          const uint8_t hash[32], const void *data, size_t len);
/* Chunk idx: hash, and its data malloc'd in *data (NULL when kept outside the store). */
parley_qs parley_store_evidence_chunk_get(parley_tx *tx, const char *id, int64_t idx,
                                          uint8_t hash[32], uint8_t **data, size_t *len);
/* Leaf hashes of chunks from..from+limit-1 in order (limit 1..4096). */
parley_qs
parley_store_evidence_chunk_hashes(parley_tx *tx, const char *id, int64_t from, size_t limit,
                                   bool (*cb)(void *cls, int64_t idx, const uint8_t hash[32]),
                                   void *cls);
/* Deletes every chunk row of the package. */
parley_qs parley_store_evidence_chunks_delete(parley_tx *tx, const char *id);
/* Ciphertext bytes of the state's packages uploading or available, and how many are
 * uploading. */
parley_qs parley_store_evidence_usage(parley_tx *tx, const char *state, int64_t *bytes,
                                      int64_t *uploading);
/* Packages uploading or available whose retain_until <= now, at most limit, without
 * manifests. */
parley_qs parley_store_evidence_expired(parley_tx *tx, int64_t now, size_t limit,
                                        bool (*cb)(void *cls, const parley_evidence_row *r),
                                        void *cls);
/* Appends a custody event (seq assigned, written back); HARD for an unknown package. */
parley_qs parley_store_custody_insert(parley_tx *tx, parley_custody_row *row);
/* In the order appended; row->body is freed when cb returns. */
parley_qs parley_store_custody_list(parley_tx *tx, const char *id,
                                    bool (*cb)(void *cls, const parley_custody_row *r), void *cls);

#endif
