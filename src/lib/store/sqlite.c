/* SQLite engine: WAL, synchronous=FULL, foreign keys, a small pool of connections each
 * with its prepared statements cached; every value is a bound parameter. Writers take
 * the database lock at BEGIN (BEGIN IMMEDIATE), so write transactions never conflict
 * half-way; a lock that stays busy past the busy timeout becomes RETRY. */
#include "store/backend.h"
#include "store/columns.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <unistd.h>

#define BUSY_TIMEOUT_MS 5000

/* ---- schema ---------------------------------------------------------------- */

/* Migration step N (1-based) brings the schema from version N-1 to N. Append only. */
static const char *const migrations[] = {
    /* 1: directory, request keys, nonces, transparency log */
    "CREATE TABLE states ("
    "  code TEXT PRIMARY KEY NOT NULL CHECK (length(code) BETWEEN 1 AND 3),"
    "  name TEXT NOT NULL,"
    "  region TEXT NOT NULL,"
    "  root_pk BLOB NOT NULL CHECK (length(root_pk) = 32),"
    "  status INTEGER NOT NULL CHECK (status IN (0, 1)),"
    "  current_version INTEGER NOT NULL CHECK (current_version >= 0),"
    "  review_by INTEGER NOT NULL,"
    "  created INTEGER NOT NULL,"
    "  updated INTEGER NOT NULL"
    ") STRICT;"
    "CREATE TABLE state_records ("
    "  state TEXT NOT NULL REFERENCES states(code),"
    "  version INTEGER NOT NULL CHECK (version > 0),"
    "  body TEXT NOT NULL,"
    "  received INTEGER NOT NULL,"
    "  leaf_index INTEGER NOT NULL CHECK (leaf_index >= 0),"
    "  PRIMARY KEY (state, version)"
    ") STRICT;"
    "CREATE TABLE keys ("
    "  key_id TEXT PRIMARY KEY NOT NULL,"
    "  pk BLOB NOT NULL CHECK (length(pk) = 32),"
    "  role INTEGER NOT NULL CHECK (role IN (0, 1, 2)),"
    "  state TEXT REFERENCES states(code),"
    "  poc_id TEXT NOT NULL,"
    "  name TEXT NOT NULL"
    ") STRICT;"
    "CREATE INDEX keys_by_state ON keys(state);"
    "CREATE TABLE nonces ("
    "  key_id TEXT NOT NULL,"
    "  nonce TEXT NOT NULL,"
    "  expires INTEGER NOT NULL,"
    "  PRIMARY KEY (key_id, nonce)"
    ") STRICT, WITHOUT ROWID;"
    "CREATE INDEX nonces_by_expiry ON nonces(expires);"
    "CREATE TABLE log_leaves ("
    "  idx INTEGER PRIMARY KEY CHECK (idx >= 0),"
    "  hash BLOB NOT NULL CHECK (length(hash) = 32),"
    "  kind TEXT NOT NULL,"
    "  entry BLOB NOT NULL,"
    "  created INTEGER NOT NULL"
    ") STRICT;"
    /* not unique: the same entry may be logged twice */
    "CREATE INDEX log_leaves_by_hash ON log_leaves(hash);"
    "CREATE TABLE log_nodes ("
    "  level INTEGER NOT NULL CHECK (level > 0),"
    "  idx INTEGER NOT NULL CHECK (idx >= 0),"
    "  hash BLOB NOT NULL CHECK (length(hash) = 32),"
    "  PRIMARY KEY (level, idx)"
    ") STRICT, WITHOUT ROWID;"
    "CREATE TABLE checkpoints ("
    "  size INTEGER PRIMARY KEY CHECK (size >= 0),"
    "  note TEXT NOT NULL,"
    "  created INTEGER NOT NULL"
    ") STRICT;",

    /* 2: messages, their recipients, acknowledgements and history.
     * seq is the inbox cursor: AUTOINCREMENT never hands out a number twice, and writers
     * hold the database lock from BEGIN to COMMIT, so seqs become visible in order and a
     * reader past seq N never misses a later commit below N. The envelope is the last
     * column: listings, which do not read it, stop before its overflow pages. */
    "CREATE TABLE messages ("
    "  seq INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  id TEXT NOT NULL UNIQUE,"
    "  kind TEXT NOT NULL,"
    "  priority TEXT NOT NULL,"
    "  tlp TEXT NOT NULL,"
    "  from_state TEXT NOT NULL,"
    "  from_poc TEXT NOT NULL,"
    "  case_id TEXT," /* NULL: none */
    "  in_reply_to TEXT,"
    "  created INTEGER NOT NULL,"
    "  received INTEGER NOT NULL,"
    "  ack_deadline INTEGER NOT NULL CHECK (ack_deadline >= 0),"
    "  escalation_level INTEGER NOT NULL CHECK (escalation_level BETWEEN 0 AND 2147483647),"
    "  next_escalation INTEGER NOT NULL CHECK (next_escalation >= 0),"
    "  overdue INTEGER NOT NULL CHECK (overdue IN (0, 1)),"
    "  status INTEGER NOT NULL CHECK (status BETWEEN 0 AND 4),"
    "  envelope_hash BLOB NOT NULL CHECK (length(envelope_hash) = 32),"
    "  leaf_index INTEGER NOT NULL CHECK (leaf_index >= 0),"
    "  envelope TEXT NOT NULL"
    ") STRICT;"
    "CREATE INDEX messages_by_case ON messages(case_id, seq);"
    "CREATE INDEX messages_by_sender ON messages(from_state, from_poc, seq);"
    /* the scheduler's query repeats this WHERE so that the index serves it */
    "CREATE INDEX messages_due ON messages(next_escalation, seq) "
    "  WHERE status < 2 AND next_escalation > 0;"
    /* message_seq copies the message's seq: the inbox is one range of this index */
    "CREATE TABLE message_recipients ("
    "  message_id TEXT NOT NULL REFERENCES messages(id),"
    "  message_seq INTEGER NOT NULL,"
    "  state TEXT NOT NULL,"
    "  poc TEXT NOT NULL,"
    "  key_id TEXT NOT NULL,"
    "  delivered INTEGER NOT NULL CHECK (delivered >= 0),"
    "  acked INTEGER NOT NULL CHECK (acked >= 0),"
    "  PRIMARY KEY (message_id, state, poc)"
    ") STRICT, WITHOUT ROWID;"
    "CREATE INDEX message_recipients_inbox ON message_recipients(state, poc, message_seq);"
    /* only a recipient acknowledges */
    "CREATE TABLE acks ("
    "  message_id TEXT NOT NULL,"
    "  state TEXT NOT NULL,"
    "  poc TEXT NOT NULL,"
    "  time INTEGER NOT NULL,"
    "  ack TEXT NOT NULL,"
    "  leaf_index INTEGER NOT NULL CHECK (leaf_index >= 0),"
    "  PRIMARY KEY (message_id, state, poc),"
    "  FOREIGN KEY (message_id, state, poc) "
    "    REFERENCES message_recipients(message_id, state, poc)"
    ") STRICT;"
    "CREATE TABLE message_events ("
    "  seq INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  message_id TEXT NOT NULL REFERENCES messages(id),"
    "  event TEXT NOT NULL,"
    "  detail TEXT NOT NULL,"
    "  at INTEGER NOT NULL"
    ") STRICT;"
    "CREATE INDEX message_events_by_message ON message_events(message_id, seq);",
    /* 3: where the current root key was last replaced by the operator (log index) */
    "ALTER TABLE states ADD COLUMN root_replaced_at INTEGER NOT NULL DEFAULT -1;",
    /* 4: treaty metadata: each message's legal basis (from its signed header) and the
     * clocks the instruments set (preservation, confirmation, production, emergency) */
    "CREATE TABLE message_bases ("
    "  message_id TEXT PRIMARY KEY NOT NULL REFERENCES messages(id),"
    "  instrument TEXT NOT NULL,"
    "  article TEXT NOT NULL"
    ") STRICT, WITHOUT ROWID;"
    "CREATE TABLE clocks ("
    "  message_id TEXT NOT NULL REFERENCES messages(id),"
    "  name TEXT NOT NULL,"
    "  case_id TEXT NOT NULL,"
    "  state TEXT NOT NULL,"
    "  started INTEGER NOT NULL,"
    "  due INTEGER NOT NULL,"
    "  remind_at INTEGER NOT NULL CHECK (remind_at >= 0),"
    "  next_at INTEGER NOT NULL CHECK (next_at >= 0),"
    "  status INTEGER NOT NULL CHECK (status IN (0, 1, 2)),"
    "  settled INTEGER NOT NULL,"
    "  PRIMARY KEY (message_id, name)"
    ") STRICT, WITHOUT ROWID;"
    /* the scheduler's query repeats this WHERE so that the index serves it */
    "CREATE INDEX clocks_due ON clocks(next_at) WHERE status = 0;"
    "CREATE INDEX clocks_by_case ON clocks(case_id, started);",
    /* 5: evidence packages, their recipients, ciphertext chunks (hashes; data only when
     * kept in the database) and custody events. The manifest is the last column. */
    "CREATE TABLE evidence ("
    "  id TEXT PRIMARY KEY NOT NULL,"
    "  from_state TEXT NOT NULL,"
    "  from_poc TEXT NOT NULL,"
    "  status INTEGER NOT NULL CHECK (status BETWEEN 0 AND 4),"
    "  ciphertext_size INTEGER NOT NULL CHECK (ciphertext_size >= 0),"
    "  upload_offset INTEGER NOT NULL CHECK (upload_offset BETWEEN 0 AND ciphertext_size),"
    "  retain_until INTEGER NOT NULL,"
    "  created INTEGER NOT NULL,"
    "  updated INTEGER NOT NULL,"
    "  manifest_hash BLOB NOT NULL CHECK (length(manifest_hash) = 32),"
    "  leaf_index INTEGER NOT NULL CHECK (leaf_index >= 0),"
    "  manifest TEXT NOT NULL"
    ") STRICT;"
    "CREATE INDEX evidence_by_sender ON evidence(from_state, from_poc, created);"
    "CREATE INDEX evidence_by_retention ON evidence(retain_until) WHERE status < 2;"
    "CREATE TABLE evidence_recipients ("
    "  evidence_id TEXT NOT NULL REFERENCES evidence(id),"
    "  state TEXT NOT NULL,"
    "  poc TEXT NOT NULL,"
    "  key_id TEXT NOT NULL,"
    "  PRIMARY KEY (evidence_id, state, poc)"
    ") STRICT, WITHOUT ROWID;"
    "CREATE INDEX evidence_recipients_by_poc ON evidence_recipients(state, poc);"
    "CREATE TABLE evidence_chunks ("
    "  evidence_id TEXT NOT NULL REFERENCES evidence(id),"
    "  idx INTEGER NOT NULL CHECK (idx >= 0),"
    "  hash BLOB NOT NULL CHECK (length(hash) = 32),"
    "  data BLOB,"
    "  PRIMARY KEY (evidence_id, idx)"
    ") STRICT;"
    "CREATE TABLE evidence_custody ("
    "  seq INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  evidence_id TEXT NOT NULL REFERENCES evidence(id),"
    "  event TEXT NOT NULL,"
    "  at INTEGER NOT NULL,"
    "  leaf_index INTEGER NOT NULL CHECK (leaf_index >= 0),"
    "  body TEXT NOT NULL"
    ") STRICT;"
    "CREATE INDEX evidence_custody_by_evidence ON evidence_custody(evidence_id, seq);",
    /* 6: nonces of every signed request, claimed at its head (used by engines that
     * several processes share; one process on SQLite keeps them in memory) */
    "CREATE TABLE IF NOT EXISTS request_nonces ("
    "  key_id TEXT NOT NULL,"
    "  nonce TEXT NOT NULL,"
    "  expires INTEGER NOT NULL,"
    "  PRIMARY KEY (key_id, nonce)"
    ") STRICT, WITHOUT ROWID;"
    "CREATE INDEX IF NOT EXISTS request_nonces_by_expiry ON request_nonces(expires);",
};
_Static_assert(sizeof migrations / sizeof migrations[0] == PARLEY_STORE_SCHEMA_VERSION,
               "one migration step per schema version");

/* ---- statements ------------------------------------------------------------------- */

/* The transaction statements of this engine, then the shared ones (columns.h). */
enum {
  Q_BEGIN,
  Q_BEGIN_WRITE,
  Q_COMMIT,
  Q_ROLLBACK,
  Q_SAVEPOINT,
  Q_RELEASE,
  Q_ROLLBACK_TO,
  PARLEY_STORE_STATEMENTS(PARLEY_STATEMENT_ID) Q__COUNT
};

#define RCPT_SET_TIMES                                                                             \
  "delivered = " EARLIEST("delivered", "?4") ", acked = " EARLIEST("acked", "?5")

static const char *const sql[Q__COUNT] = {
    [Q_BEGIN] = "BEGIN DEFERRED",
    [Q_BEGIN_WRITE] = "BEGIN IMMEDIATE",
    [Q_COMMIT] = "COMMIT",
    [Q_ROLLBACK] = "ROLLBACK",
    [Q_SAVEPOINT] = "SAVEPOINT item",
    [Q_RELEASE] = "RELEASE item",
    [Q_ROLLBACK_TO] = "ROLLBACK TO item",
    [Q_STATE_INSERT] = "INSERT INTO states (" STATE_COLS ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, "
                       "?7, ?8, ?9, ?10) ON CONFLICT (code) DO NOTHING",
    [Q_STATE_GET] = "SELECT " STATE_COLS " FROM states WHERE code = ?1",
    [Q_STATE_UPDATE] = "UPDATE states SET name = ?2, region = ?3, root_pk = ?4, status = ?5, "
                       "current_version = ?6, review_by = ?7, updated = ?9, root_replaced_at = ?10 "
                       "WHERE code = ?1",
    [Q_STATE_LIST] = "SELECT " STATE_COLS " FROM states ORDER BY code",
    [Q_RECORD_INSERT] = "INSERT INTO state_records (" RECORD_COLS ") VALUES (?1, ?2, ?3, ?4, "
                        "?5) ON CONFLICT (state, version) DO NOTHING",
    [Q_RECORD_GET] = "SELECT " RECORD_COLS " FROM state_records WHERE state = ?1 AND "
                     "version = ?2",
    [Q_RECORD_GET_LATEST] = "SELECT " RECORD_COLS " FROM state_records WHERE state = ?1 "
                            "ORDER BY version DESC LIMIT 1",
    [Q_KEY_PUT] = "INSERT INTO keys (" KEY_COLS ") VALUES (?1, ?2, ?3, ?4, ?5, ?6) "
                  "ON CONFLICT (key_id) DO UPDATE SET pk = excluded.pk, role = excluded.role, "
                  "state = excluded.state, poc_id = excluded.poc_id, name = excluded.name",
    [Q_KEY_GET] = "SELECT " KEY_COLS " FROM keys WHERE key_id = ?1",
    [Q_KEY_DELETE] = "DELETE FROM keys WHERE key_id = ?1",
    [Q_OPERATORS_DELETE] = "DELETE FROM keys WHERE role = 0",
    [Q_OFFICERS_DELETE] = "DELETE FROM keys WHERE state = ?1 AND role = 2",
    [Q_OFFICER_INSERT] = "INSERT INTO keys (" KEY_COLS ") VALUES (?1, ?2, ?3, ?4, ?5, ?6) "
                         "ON CONFLICT (key_id) DO NOTHING",
    [Q_NONCE_INSERT] = "INSERT INTO nonces (key_id, nonce, expires) VALUES (?1, ?2, ?3) "
                       "ON CONFLICT (key_id, nonce) DO NOTHING",
    [Q_NONCE_PURGE] = "DELETE FROM nonces WHERE expires <= ?1",
    /* the next index is taken inside the write transaction, which holds the database
     * lock: indices stay contiguous */
    [Q_LEAF_APPEND] = "INSERT INTO log_leaves (idx, hash, kind, entry, created) "
                      "SELECT coalesce(max(idx) + 1, 0), ?1, ?2, ?3, ?4 FROM log_leaves "
                      "RETURNING idx",
    [Q_LOG_SIZE] = "SELECT coalesce(max(idx) + 1, 0) FROM log_leaves",
    [Q_NODE_PUT] = "INSERT INTO log_nodes (level, idx, hash) VALUES (?1, ?2, ?3) "
                   "ON CONFLICT (level, idx) DO UPDATE SET hash = excluded.hash",
    [Q_NODE_GET] = "SELECT hash FROM log_nodes WHERE level = ?1 AND idx = ?2",
    [Q_LEAF_HASH] = "SELECT hash FROM log_leaves WHERE idx = ?1",
    [Q_LEAF_ENTRY] = "SELECT entry FROM log_leaves WHERE idx = ?1",
    [Q_LEAF_FIND] = "SELECT idx FROM log_leaves WHERE hash = ?1 ORDER BY idx LIMIT 1",
    [Q_CHECKPOINT_PUT] = "INSERT INTO checkpoints (" CHECKPOINT_COLS ") VALUES (?1, ?2, ?3) "
                         "ON CONFLICT (size) DO UPDATE SET note = excluded.note, "
                         "created = excluded.created",
    [Q_CHECKPOINT_GET] = "SELECT " CHECKPOINT_COLS " FROM checkpoints WHERE size = ?1",
    [Q_CHECKPOINT_LATEST] = "SELECT " CHECKPOINT_COLS " FROM checkpoints "
                            "ORDER BY size DESC LIMIT 1",
    /* a replayed id inserts nothing and returns no row */
    [Q_MESSAGE_INSERT] = "INSERT INTO messages (" MSG_INSERT_COLS ") VALUES (?1, ?2, ?3, ?4, ?5, "
                         "?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18) "
                         "ON CONFLICT (id) DO NOTHING RETURNING seq",
    [Q_RECIPIENT_INSERT] = "INSERT INTO message_recipients (message_id, message_seq, state, poc, "
                           "key_id, delivered, acked) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    [Q_MESSAGE_GET] = "SELECT " MSG_COLS_ENVELOPE " FROM messages WHERE id = ?1",
    [Q_MESSAGE_UPDATE] = "UPDATE messages SET status = ?2, overdue = ?3, escalation_level = ?4, "
                         "next_escalation = ?5, ack_deadline = ?6 WHERE id = ?1",
    [Q_RECIPIENTS_GET] = "SELECT " RCPT_COLS " FROM message_recipients WHERE message_id = ?1 "
                         "ORDER BY state, poc",
    [Q_RECIPIENT_UPDATE] =
        "UPDATE message_recipients SET " RCPT_SET_TIMES " WHERE message_id = ?1 AND "
        "state = ?2 AND poc = ?3",
    [Q_INBOX] = "SELECT " MSG_COLS_M " FROM message_recipients r JOIN messages m ON "
                "m.seq = r.message_seq WHERE r.state = ?1 AND r.poc = ?2 AND r.message_seq > ?3 "
                "ORDER BY r.message_seq LIMIT ?4",
    [Q_OUTBOX] = "SELECT " MSG_COLS " FROM messages WHERE from_state = ?1 AND from_poc = ?2 "
                 "AND seq > ?3 ORDER BY seq LIMIT ?4",
    /* a case is named by the id of the message that opened it */
    [Q_CASE_MESSAGES] =
        "SELECT " MSG_COLS " FROM messages WHERE case_id = ?1 OR id = ?1 ORDER BY seq",
    [Q_DUE_MESSAGES] = "SELECT " MSG_COLS " FROM messages WHERE status < 2 AND "
                       "next_escalation > 0 AND next_escalation <= ?1 "
                       "ORDER BY next_escalation, seq LIMIT ?2",
    [Q_CASES_LATEST] = "SELECT " MSG_COLS " FROM messages WHERE seq IN (SELECT MAX(seq) FROM "
                       "messages WHERE from_state = ?1 AND from_poc = ?2 AND kind = ?3 AND "
                       "case_id IS NOT NULL GROUP BY case_id) ORDER BY seq",
    [Q_BASIS_PUT] =
        "INSERT INTO message_bases (message_id, instrument, article) VALUES (?1, ?2, ?3)",
    [Q_STATS_MESSAGES] = "SELECT " MSG_COLS_M ", b.instrument, b.article FROM messages m "
                         "LEFT JOIN message_bases b ON b.message_id = m.id WHERE m.seq > ?1 "
                         "ORDER BY m.seq LIMIT ?2",
    [Q_CLOCK_PUT] =
        "INSERT INTO clocks (" CLOCK_COLS ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, "
        "?9, ?10) ON CONFLICT (message_id, name) DO UPDATE SET case_id = excluded.case_id, "
        "state = excluded.state, started = excluded.started, due = excluded.due, "
        "remind_at = excluded.remind_at, next_at = excluded.next_at, "
        "status = excluded.status, settled = excluded.settled",
    [Q_CLOCKS_DUE] = "SELECT " CLOCK_COLS " FROM clocks WHERE status = 0 AND next_at > 0 AND "
                     "next_at <= ?1 ORDER BY next_at, message_id, name LIMIT ?2",
    [Q_CLOCKS_OF_CASE] = "SELECT " CLOCK_COLS " FROM clocks WHERE case_id = ?1 "
                         "ORDER BY started, message_id, name",
    [Q_ACK_INSERT] = "INSERT INTO acks (" ACK_COLS ") VALUES (?1, ?2, ?3, ?4, ?5, ?6) "
                     "ON CONFLICT (message_id, state, poc) DO NOTHING",
    [Q_ACKS_GET] = "SELECT " ACK_COLS " FROM acks WHERE message_id = ?1 ORDER BY time, state, poc",
    [Q_EVENT_INSERT] = "INSERT INTO message_events (message_id, event, detail, at) "
                       "VALUES (?1, ?2, ?3, ?4)",
    [Q_EVENTS_GET] = "SELECT " EVENT_COLS " FROM message_events WHERE message_id = ?1 "
                     "ORDER BY seq",
    [Q_EVIDENCE_INSERT] = "INSERT INTO evidence (" EVIDENCE_COLS ", manifest) VALUES (?1, ?2, ?3, "
                          "?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12) ON CONFLICT (id) DO NOTHING",
    [Q_EVIDENCE_RCPT_INSERT] = "INSERT INTO evidence_recipients (" EVIDENCE_RCPT_COLS ") VALUES "
                               "(?1, ?2, ?3, ?4)",
    [Q_EVIDENCE_RCPT_INSERT_NEW] = "INSERT INTO evidence_recipients (" EVIDENCE_RCPT_COLS
                                   ") VALUES (?1, ?2, ?3, ?4) ON CONFLICT DO NOTHING",
    [Q_EVIDENCE_GET] = "SELECT " EVIDENCE_COLS_MANIFEST " FROM evidence WHERE id = ?1",
    [Q_EVIDENCE_UPDATE] = "UPDATE evidence SET status = ?2, upload_offset = ?3, updated = ?4 "
                          "WHERE id = ?1",
    [Q_EVIDENCE_LIST] = "SELECT " EVIDENCE_COLS " FROM evidence WHERE (from_state = ?1 AND "
                        "from_poc = ?2) OR id IN (SELECT evidence_id FROM evidence_recipients "
                        "WHERE state = ?1 AND poc = ?2) ORDER BY created, id LIMIT 1000",
    [Q_EVIDENCE_RCPTS_GET] = "SELECT " EVIDENCE_RCPT_COLS " FROM evidence_recipients WHERE "
                             "evidence_id = ?1 ORDER BY state, poc",
    [Q_EVIDENCE_CHUNK_PUT] = "INSERT INTO evidence_chunks (evidence_id, idx, hash, data) VALUES "
                             "(?1, ?2, ?3, ?4) ON CONFLICT (evidence_id, idx) DO UPDATE SET "
                             "hash = excluded.hash, data = excluded.data",
    [Q_EVIDENCE_CHUNK_GET] = "SELECT hash, data FROM evidence_chunks WHERE evidence_id = ?1 AND "
                             "idx = ?2",
    [Q_EVIDENCE_CHUNK_HASHES] = "SELECT idx, hash FROM evidence_chunks WHERE evidence_id = ?1 "
                                "AND idx >= ?2 ORDER BY idx LIMIT ?3",
    [Q_EVIDENCE_CHUNKS_DELETE] = "DELETE FROM evidence_chunks WHERE evidence_id = ?1",
    [Q_EVIDENCE_USAGE] = "SELECT coalesce(sum(ciphertext_size), 0), coalesce(sum(status = 0), 0) "
                         "FROM evidence WHERE from_state = ?1 AND status < 2",
    [Q_EVIDENCE_EXPIRED] = "SELECT " EVIDENCE_COLS " FROM evidence WHERE status < 2 AND "
                           "retain_until <= ?1 ORDER BY retain_until, id LIMIT ?2",
    [Q_CUSTODY_INSERT] = "INSERT INTO evidence_custody (evidence_id, event, at, leaf_index, body) "
                         "VALUES (?1, ?2, ?3, ?4, ?5) RETURNING seq",
    [Q_CUSTODY_LIST] = "SELECT " CUSTODY_COLS " FROM evidence_custody WHERE evidence_id = ?1 "
                       "ORDER BY seq",
};

/* ---- connections and pool ------------------------------------------------------ */

typedef struct sq_conn {
  sqlite3 *db;
  sqlite3_stmt *st[Q__COUNT];
  struct sq_conn *next;
} sq_conn;

typedef struct {
  char *path;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  sq_conn *idle;
  unsigned total;
} sq_backend;

static void sq_log(sqlite3 *db, int rc, const char *op) {
  /* SQLite's messages name tables and columns, never bound values */
  parley_log(PARLEY_LOG_ERROR, "store.sqlite", "op=%s rc=%d error=\"%s\"", op, rc,
             db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
}

/* Maps a failed step: lock conflicts are retried, everything else is a hard failure. */
static parley_qs sq_fail(sq_conn *c, int rc, const char *op) {
  int primary = rc & 0xff;
  if (primary == SQLITE_BUSY || primary == SQLITE_LOCKED) {
    parley_log(PARLEY_LOG_DEBUG, "store.sqlite_busy", "op=%s rc=%d", op, rc);
    return PARLEY_QS_RETRY;
  }
  sq_log(c->db, rc, op);
  return PARLEY_QS_HARD;
}

/* The cached statement, prepared on first use; reset and without bindings. */
static sqlite3_stmt *sq_stmt(sq_conn *c, int q) {
  if (!c->st[q]) {
    int rc = sqlite3_prepare_v3(c->db, sql[q], -1, SQLITE_PREPARE_PERSISTENT, &c->st[q], NULL);
    if (rc != SQLITE_OK) {
      sq_log(c->db, rc, "prepare");
      c->st[q] = NULL;
      return NULL;
    }
  }
  return c->st[q];
}

/* Every statement is reset after use so that it holds no read snapshot or lock. */
static void sq_done(sqlite3_stmt *s) {
  sqlite3_reset(s);
  sqlite3_clear_bindings(s);
}

static void sq_conn_free(sq_conn *c) {
  if (!c) return;
  for (int i = 0; i < Q__COUNT; i++)
    sqlite3_finalize(c->st[i]);
  sqlite3_close_v2(c->db);
  free(c);
}

static int sq_exec_sql(sqlite3 *db, const char *text, const char *op) {
  char *msg = NULL;
  int rc = sqlite3_exec(db, text, NULL, NULL, &msg);
  if (rc != SQLITE_OK)
    parley_log(PARLEY_LOG_ERROR, "store.sqlite", "op=%s rc=%d error=\"%s\"", op, rc,
               msg ? msg : sqlite3_errstr(rc));
  sqlite3_free(msg);
  return rc;
}

/* SQLite's memory statistics take a global mutex on every allocation, which all
 * connections then contend for; the hub does not use them. Must precede the first
 * sqlite3 call that initializes the library. */
static pthread_once_t sq_config_once = PTHREAD_ONCE_INIT;
static void sq_config(void) {
  sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

static sq_conn *sq_connect(const char *path, bool first, parley_error *err) {
  sq_conn *c = calloc(1, sizeof *c);
  if (!c) {
    parley_fail(err, PARLEY_E_NO_MEMORY, "sqlite connection");
    return NULL;
  }
  /* one thread uses a connection at a time (the pool sees to it), so no SQLite mutex */
  pthread_once(&sq_config_once, sq_config);
  int rc = sqlite3_open_v2(path, &c->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
  if (rc != SQLITE_OK) {
    parley_fail(err, PARLEY_E_STORE_OPEN, "sqlite: %s",
                c->db ? sqlite3_errmsg(c->db) : sqlite3_errstr(rc));
    sq_conn_free(c);
    return NULL;
  }
  sqlite3_extended_result_codes(c->db, 1);
  sqlite3_busy_timeout(c->db, BUSY_TIMEOUT_MS);
  /* no writes to sqlite_schema, no functions with side effects from the schema */
  sqlite3_db_config(c->db, SQLITE_DBCONFIG_DEFENSIVE, 1, (int *)NULL);
  sqlite3_db_config(c->db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, (int *)NULL);
  if (first) {
    /* journal_mode is stored in the file; it answers the mode now in force */
    sqlite3_stmt *s = NULL;
    rc = sqlite3_prepare_v2(c->db, "PRAGMA journal_mode = WAL", -1, &s, NULL);
    if (rc == SQLITE_OK) rc = sqlite3_step(s);
    bool wal = rc == SQLITE_ROW && sqlite3_column_text(s, 0) &&
               strcmp((const char *)sqlite3_column_text(s, 0), "wal") == 0;
    sqlite3_finalize(s);
    if (!wal) {
      parley_fail(err, PARLEY_E_STORE_OPEN, "sqlite: cannot use WAL mode: %s",
                  sqlite3_errmsg(c->db));
      sq_conn_free(c);
      return NULL;
    }
  }
  /* WAL checkpoints stay SQLite's automatic ones, in the committing thread: under
   * continuous writes only a checkpoint that no commit can overtake lets the WAL restart
   * from its beginning (a checkpointer thread let it grow without bound, and appending
   * to new blocks cost more than the checkpoints). A page cache large enough that a group-commit
   * batch never spills dirty pages to the WAL before its COMMIT (SQLite's default is 2 MiB); pages
   * are allocated as used. The savepoints of a batch keep their undo pages in memory, not in a
   * temporary file. */
  rc = sq_exec_sql(c->db,
                   "PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; "
                   "PRAGMA cache_size = -16384; PRAGMA temp_store = MEMORY;",
                   "pragma");
  if (rc != SQLITE_OK) {
    parley_fail(err, PARLEY_E_STORE_OPEN, "sqlite: %s", sqlite3_errstr(rc));
    sq_conn_free(c);
    return NULL;
  }
  return c;
}

static sq_conn *pool_get(sq_backend *b) {
  pthread_mutex_lock(&b->mu);
  while (!b->idle && b->total >= PARLEY_STORE_MAX_CONNS)
    pthread_cond_wait(&b->cv, &b->mu);
  sq_conn *c = b->idle;
  if (c) {
    b->idle = c->next;
    c->next = NULL;
    pthread_mutex_unlock(&b->mu);
    return c;
  }
  b->total++;
  pthread_mutex_unlock(&b->mu);
  parley_error err;
  c = sq_connect(b->path, false, &err);
  if (!c) {
    parley_log(PARLEY_LOG_ERROR, "store.sqlite_connect", "error=\"%s\"", err.detail);
    pthread_mutex_lock(&b->mu);
    b->total--;
    pthread_cond_signal(&b->cv);
    pthread_mutex_unlock(&b->mu);
  }
  return c;
}

static void pool_put(sq_backend *b, sq_conn *c) {
  pthread_mutex_lock(&b->mu);
  c->next = b->idle;
  b->idle = c;
  pthread_cond_signal(&b->cv);
  pthread_mutex_unlock(&b->mu);
}

/* ---- migrations --------------------------------------------------------------------- */

static parley_err read_version(sqlite3 *db, int *version, parley_error *err) {
  sqlite3_stmt *s = NULL;
  int rc = sqlite3_prepare_v2(db, "SELECT version FROM schema_version WHERE id = 1", -1, &s, NULL);
  if (rc == SQLITE_OK) rc = sqlite3_step(s);
  if (rc != SQLITE_ROW) {
    sqlite3_finalize(s);
    return parley_fail(err, PARLEY_E_STORE_OPEN, "sqlite: cannot read the schema version: %s",
                       sqlite3_errmsg(db));
  }
  int64_t v = sqlite3_column_int64(s, 0);
  sqlite3_finalize(s);
  if (v < 0 || v > INT_MAX)
    return parley_fail(err, PARLEY_E_STORE_SCHEMA, "schema version %lld is invalid", (long long)v);
  *version = (int)v;
  return PARLEY_E_OK;
}

/* Each step runs in its own write transaction; the version is read inside it, so two
 * programs opening one file at once do not apply a step twice. */
static parley_err migrate(sqlite3 *db, int *schema, parley_error *err) {
  if (sq_exec_sql(db,
                  "BEGIN IMMEDIATE;"
                  "CREATE TABLE IF NOT EXISTS schema_version ("
                  "  id INTEGER PRIMARY KEY CHECK (id = 1), version INTEGER NOT NULL) STRICT;"
                  "INSERT INTO schema_version (id, version) VALUES (1, 0)"
                  "  ON CONFLICT (id) DO NOTHING;"
                  "COMMIT;",
                  "migrate") != SQLITE_OK) {
    sq_exec_sql(db, "ROLLBACK", "migrate");
    return parley_fail(err, PARLEY_E_STORE_OPEN, "sqlite: cannot create schema_version: %s",
                       sqlite3_errmsg(db));
  }
  for (;;) {
    if (sq_exec_sql(db, "BEGIN IMMEDIATE", "migrate") != SQLITE_OK)
      return parley_fail(err, PARLEY_E_STORE_OPEN, "sqlite: cannot lock for migration: %s",
                         sqlite3_errmsg(db));
    int v = 0;
    parley_err e = read_version(db, &v, err);
    if (e == PARLEY_E_OK && v > PARLEY_STORE_SCHEMA_VERSION)
      e = parley_fail(err, PARLEY_E_STORE_SCHEMA,
                      "the store is at schema version %d; this program knows up to %d", v,
                      PARLEY_STORE_SCHEMA_VERSION);
    if (e != PARLEY_E_OK || v == PARLEY_STORE_SCHEMA_VERSION) {
      sq_exec_sql(db, "ROLLBACK", "migrate");
      if (e == PARLEY_E_OK) *schema = v;
      return e;
    }
    sqlite3_stmt *s = NULL;
    int rc = sq_exec_sql(db, migrations[v], "migrate");
    if (rc == SQLITE_OK)
      rc = sqlite3_prepare_v2(db, "UPDATE schema_version SET version = ?1 WHERE id = 1", -1, &s,
                              NULL);
    if (rc == SQLITE_OK) rc = sqlite3_bind_int(s, 1, v + 1);
    if (rc == SQLITE_OK) rc = sqlite3_step(s) == SQLITE_DONE ? SQLITE_OK : sqlite3_errcode(db);
    sqlite3_finalize(s);
    if (rc == SQLITE_OK) rc = sq_exec_sql(db, "COMMIT", "migrate");
    if (rc != SQLITE_OK) {
      sq_exec_sql(db, "ROLLBACK", "migrate");
      return parley_fail(err, PARLEY_E_STORE_OPEN, "sqlite: migration to version %d failed", v + 1);
    }
    parley_log(PARLEY_LOG_INFO, "store.migrated", "engine=sqlite version=%d", v + 1);
  }
}

/* ---- open and close -------------------------------------------------------------------- */

static void sq_close(void *backend) {
  sq_backend *b = backend;
  if (!b) return;
  if (b->idle) {
    /* fold the WAL back into the database so the file stands alone */
    int rc = sq_exec_sql(b->idle->db, "PRAGMA wal_checkpoint(TRUNCATE)", "close");
    if (rc != SQLITE_OK) parley_log(PARLEY_LOG_WARN, "store.sqlite_checkpoint", "rc=%d", rc);
  }
  while (b->idle) {
    sq_conn *c = b->idle;
    b->idle = c->next;
    sq_conn_free(c);
  }
  pthread_cond_destroy(&b->cv);
  pthread_mutex_destroy(&b->mu);
  free(b->path);
  free(b);
}

static parley_err sq_open(const char *url, void **backend, int *schema, parley_error *err) {
  const char *path = url + strlen("sqlite:");
  if (!path[0]) return parley_fail(err, PARLEY_E_STORE_URL, "sqlite: the URL names no file");
  if (strlen(path) >= PATH_MAX)
    return parley_fail(err, PARLEY_E_STORE_URL, "sqlite: the path is too long");
  /* every connection of the pool must see the same database */
  if (strcmp(path, ":memory:") == 0 || strncmp(path, "file:", 5) == 0)
    return parley_fail(err, PARLEY_E_STORE_URL, "sqlite: give a file path");
  if (!sqlite3_threadsafe())
    return parley_fail(err, PARLEY_E_STORE_OPEN, "sqlite: the library is not thread-safe");

  /* create the file ourselves so that it is private from the start; SQLite gives the
   * -wal and -shm files the database file's mode */
  int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return parley_fail(err, PARLEY_E_STORE_OPEN, "sqlite: %s: %s", path, strerror(errno));
  close(fd);

  sq_backend *b = calloc(1, sizeof *b);
  if (!b) return parley_fail(err, PARLEY_E_NO_MEMORY, "sqlite backend");
  b->path = strdup(path);
  if (!b->path || pthread_mutex_init(&b->mu, NULL) != 0) {
    free(b->path);
    free(b);
    return parley_fail(err, PARLEY_E_NO_MEMORY, "sqlite backend");
  }
  if (pthread_cond_init(&b->cv, NULL) != 0) {
    pthread_mutex_destroy(&b->mu);
    free(b->path);
    free(b);
    return parley_fail(err, PARLEY_E_NO_MEMORY, "sqlite backend");
  }
  sq_conn *c = sq_connect(b->path, true, err);
  if (!c) {
    sq_close(b);
    return err ? err->code : PARLEY_E_STORE_OPEN;
  }
  parley_err e = migrate(c->db, schema, err);
  if (e != PARLEY_E_OK) {
    sq_conn_free(c);
    sq_close(b);
    return e;
  }
  b->total = 1;
  b->idle = c;
  *backend = b;
  return PARLEY_E_OK;
}

/* ---- transactions ---------------------------------------------------------------------- */

static parley_qs sq_begin(void *backend, bool write, void **conn) {
  sq_backend *b = backend;
  sq_conn *c = pool_get(b);
  if (!c) return PARLEY_QS_HARD;
  sqlite3_stmt *s = sq_stmt(c, write ? Q_BEGIN_WRITE : Q_BEGIN);
  if (!s) {
    pool_put(b, c);
    return PARLEY_QS_HARD;
  }
  int rc = sqlite3_step(s);
  sq_done(s);
  if (rc != SQLITE_DONE) {
    parley_qs qs = sq_fail(c, rc, "begin");
    pool_put(b, c);
    return qs;
  }
  *conn = c;
  return PARLEY_QS_ONE;
}

static void sq_rollback(void *backend, void *conn) {
  sq_conn *c = conn;
  if (!sqlite3_get_autocommit(c->db)) {
    sqlite3_stmt *s = sq_stmt(c, Q_ROLLBACK);
    int rc = s ? sqlite3_step(s) : SQLITE_ERROR;
    if (s) sq_done(s);
    if (rc != SQLITE_DONE) sq_log(c->db, rc, "rollback");
  }
  pool_put(backend, c);
}

static parley_qs sq_commit(void *backend, void *conn) {
  sq_conn *c = conn;
  sqlite3_stmt *s = sq_stmt(c, Q_COMMIT);
  if (!s) {
    sq_rollback(backend, conn);
    return PARLEY_QS_HARD;
  }
  int rc = sqlite3_step(s);
  sq_done(s);
  if (rc != SQLITE_DONE) {
    parley_qs qs = sq_fail(c, rc, "commit");
    sq_rollback(backend, conn);
    return qs;
  }
  pool_put(backend, c);
  return PARLEY_QS_ONE;
}

static parley_qs sq_step_one(sq_conn *c, int q, const char *op) {
  sqlite3_stmt *s = sq_stmt(c, q);
  if (!s) return PARLEY_QS_HARD;
  int rc = sqlite3_step(s);
  sq_done(s);
  return rc == SQLITE_DONE ? PARLEY_QS_ONE : sq_fail(c, rc, op);
}

static parley_qs sq_savepoint(void *conn, parley_savepoint_op op) {
  sq_conn *c = conn;
  switch (op) {
  case PARLEY_SAVEPOINT_MARK:
    return sq_step_one(c, Q_SAVEPOINT, "savepoint");
  case PARLEY_SAVEPOINT_KEEP:
    return sq_step_one(c, Q_RELEASE, "release");
  case PARLEY_SAVEPOINT_UNDO: {
    parley_qs qs = sq_step_one(c, Q_ROLLBACK_TO, "rollback_to");
    return qs == PARLEY_QS_ONE ? sq_step_one(c, Q_RELEASE, "release") : qs;
  }
  }
  return PARLEY_QS_HARD;
}

/* ---- binding and reading ---------------------------------------------------------------- */

static bool b_text(sqlite3_stmt *s, int i, const char *v) {
  return sqlite3_bind_text(s, i, v, -1, SQLITE_STATIC) == SQLITE_OK;
}

static bool b_textn(sqlite3_stmt *s, int i, const char *v, size_t n) {
  return n <= INT_MAX && sqlite3_bind_text(s, i, v, (int)n, SQLITE_STATIC) == SQLITE_OK;
}

/* An empty string is stored as NULL (a key without a state). */
static bool b_text_or_null(sqlite3_stmt *s, int i, const char *v) {
  return v[0] ? b_text(s, i, v) : sqlite3_bind_null(s, i) == SQLITE_OK;
}

static bool b_blob(sqlite3_stmt *s, int i, const void *v, size_t n) {
  /* a NULL pointer would bind SQL NULL; an empty blob needs a real pointer */
  return n <= INT_MAX && sqlite3_bind_blob(s, i, n ? v : "", (int)n, SQLITE_STATIC) == SQLITE_OK;
}

static bool b_i64(sqlite3_stmt *s, int i, int64_t v) {
  return sqlite3_bind_int64(s, i, v) == SQLITE_OK;
}

static bool c_text(sqlite3_stmt *s, int i, char *dst, size_t cap) {
  if (sqlite3_column_type(s, i) == SQLITE_NULL) {
    dst[0] = '\0';
    return true;
  }
  const char *t = (const char *)sqlite3_column_text(s, i);
  int n = sqlite3_column_bytes(s, i);
  return t && n >= 0 && parley_store_copy_text(dst, cap, t, (size_t)n);
}

static bool c_hash(sqlite3_stmt *s, int i, uint8_t out[32]) {
  const void *p = sqlite3_column_blob(s, i);
  if (!p || sqlite3_column_bytes(s, i) != 32) return false;
  memcpy(out, p, 32);
  return true;
}

/* A malloc'd NUL-terminated copy of a text or blob column. */
static bool c_dup(sqlite3_stmt *s, int i, char **out, size_t *len) {
  const void *p = sqlite3_column_type(s, i) == SQLITE_TEXT ? (const void *)sqlite3_column_text(s, i)
                                                           : sqlite3_column_blob(s, i);
  int n = sqlite3_column_bytes(s, i);
  if (n < 0 || (!p && n > 0)) return false;
  char *d = malloc((size_t)n + 1);
  if (!d) return false;
  if (n > 0) memcpy(d, p, (size_t)n);
  d[n] = '\0';
  *out = d;
  *len = (size_t)n;
  return true;
}

static parley_qs corrupt(const char *op) {
  parley_log(PARLEY_LOG_ERROR, "store.corrupt_row", "engine=sqlite op=%s", op);
  return PARLEY_QS_HARD;
}

static parley_qs bind_failed(sq_conn *c, sqlite3_stmt *s, const char *op) {
  sq_log(c->db, sqlite3_errcode(c->db), op);
  sq_done(s);
  return PARLEY_QS_HARD;
}

/* Runs a statement that returns no rows: ONE if it changed a row, NONE if not. */
static parley_qs run_change(sq_conn *c, sqlite3_stmt *s, const char *op) {
  int rc = sqlite3_step(s);
  sq_done(s);
  if (rc != SQLITE_DONE) return sq_fail(c, rc, op);
  return sqlite3_changes(c->db) > 0 ? PARLEY_QS_ONE : PARLEY_QS_NONE;
}

/* Steps a one-row query: ONE with the row ready to read, NONE (statement reset), or a
 * failure (statement reset). On ONE the caller reads, then calls sq_done. */
static parley_qs step_row(sq_conn *c, sqlite3_stmt *s, const char *op) {
  int rc = sqlite3_step(s);
  if (rc == SQLITE_ROW) return PARLEY_QS_ONE;
  sq_done(s);
  return rc == SQLITE_DONE ? PARLEY_QS_NONE : sq_fail(c, rc, op);
}

#define STMT(c, q)                                                                                 \
  sqlite3_stmt *s = sq_stmt(c, q);                                                                 \
  if (!s) return PARLEY_QS_HARD

/* ---- states ------------------------------------------------------------------------------ */

static bool bind_state(sqlite3_stmt *s, const parley_state_row *r) {
  return b_text(s, 1, r->code) && b_text(s, 2, r->name) && b_text(s, 3, r->region) &&
         b_blob(s, 4, r->root_pk, 32) && b_i64(s, 5, r->status) &&
         b_i64(s, 6, r->current_version) && b_i64(s, 7, r->review_by) && b_i64(s, 8, r->created) &&
         b_i64(s, 9, r->updated) && b_i64(s, 10, r->root_replaced_at);
}

static bool read_state(sqlite3_stmt *s, parley_state_row *o) {
  memset(o, 0, sizeof *o);
  int64_t status = sqlite3_column_int64(s, STATE_COL_status);
  if (!c_text(s, STATE_COL_code, o->code, sizeof o->code) ||
      !c_text(s, STATE_COL_name, o->name, sizeof o->name) ||
      !c_text(s, STATE_COL_region, o->region, sizeof o->region) ||
      !c_hash(s, STATE_COL_root_pk, o->root_pk) ||
      (status != PARLEY_STATE_ACTIVE && status != PARLEY_STATE_SUSPENDED))
    return false;
  o->status = (parley_state_status)status;
  o->current_version = sqlite3_column_int64(s, STATE_COL_current_version);
  o->review_by = sqlite3_column_int64(s, STATE_COL_review_by);
  o->created = sqlite3_column_int64(s, STATE_COL_created);
  o->updated = sqlite3_column_int64(s, STATE_COL_updated);
  o->root_replaced_at = sqlite3_column_int64(s, STATE_COL_root_replaced_at);
  return true;
}

static parley_qs sq_state_insert(void *conn, const parley_state_row *row) {
  sq_conn *c = conn;
  STMT(c, Q_STATE_INSERT);
  if (!bind_state(s, row)) return bind_failed(c, s, "state_insert");
  return run_change(c, s, "state_insert");
}

static parley_qs sq_state_get(void *conn, const char *code, parley_state_row *out) {
  sq_conn *c = conn;
  STMT(c, Q_STATE_GET);
  if (!b_text(s, 1, code)) return bind_failed(c, s, "state_get");
  parley_qs qs = step_row(c, s, "state_get");
  if (qs != PARLEY_QS_ONE) return qs;
  bool ok = read_state(s, out);
  sq_done(s);
  return ok ? PARLEY_QS_ONE : corrupt("state_get");
}

static parley_qs sq_state_update(void *conn, const parley_state_row *row) {
  sq_conn *c = conn;
  STMT(c, Q_STATE_UPDATE);
  if (!bind_state(s, row)) return bind_failed(c, s, "state_update");
  return run_change(c, s, "state_update");
}

/* Rows are collected before the callback runs, so that it may use the transaction. */
static parley_qs sq_state_list(void *conn, bool (*cb)(void *cls, const parley_state_row *row),
                               void *cls) {
  sq_conn *c = conn;
  STMT(c, Q_STATE_LIST);
  parley_state_row *rows = NULL;
  size_t n = 0, cap = 0;
  parley_qs qs = PARLEY_QS_NONE;
  int rc;
  while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
    if (n == cap) {
      size_t ncap = cap ? cap * 2 : 64;
      parley_state_row *nr = realloc(rows, ncap * sizeof *rows);
      if (!nr) {
        qs = PARLEY_QS_HARD;
        parley_log(PARLEY_LOG_ERROR, "store.no_memory", "op=state_list");
        break;
      }
      rows = nr;
      cap = ncap;
    }
    if (!read_state(s, &rows[n])) {
      qs = corrupt("state_list");
      break;
    }
    n++;
  }
  if (qs == PARLEY_QS_NONE && rc != SQLITE_DONE) qs = sq_fail(c, rc, "state_list");
  sq_done(s);
  if (qs == PARLEY_QS_NONE) {
    for (size_t i = 0; i < n; i++) {
      qs = PARLEY_QS_ONE;
      if (!cb(cls, &rows[i])) break;
    }
  }
  free(rows);
  return qs;
}

/* ---- state records -------------------------------------------------------------------- */

static parley_qs sq_record_insert(void *conn, const parley_record_row *row) {
  sq_conn *c = conn;
  STMT(c, Q_RECORD_INSERT);
  if (!b_text(s, 1, row->state) || !b_i64(s, 2, row->version) ||
      !b_textn(s, 3, row->body, row->body_len) || !b_i64(s, 4, row->received) ||
      !b_i64(s, 5, row->leaf_index))
    return bind_failed(c, s, "record_insert");
  return run_change(c, s, "record_insert");
}

static parley_qs sq_record_get(void *conn, const char *state, int64_t version,
                               parley_record_row *out) {
  sq_conn *c = conn;
  STMT(c, version == 0 ? Q_RECORD_GET_LATEST : Q_RECORD_GET);
  if (!b_text(s, 1, state) || (version != 0 && !b_i64(s, 2, version)))
    return bind_failed(c, s, "record_get");
  parley_qs qs = step_row(c, s, "record_get");
  if (qs != PARLEY_QS_ONE) return qs;
  memset(out, 0, sizeof *out);
  bool ok = c_text(s, RECORD_COL_state, out->state, sizeof out->state) &&
            c_dup(s, RECORD_COL_body, &out->body, &out->body_len);
  out->version = sqlite3_column_int64(s, RECORD_COL_version);
  out->received = sqlite3_column_int64(s, RECORD_COL_received);
  out->leaf_index = sqlite3_column_int64(s, RECORD_COL_leaf_index);
  sq_done(s);
  if (!ok) {
    parley_record_row_clear(out);
    return corrupt("record_get");
  }
  return PARLEY_QS_ONE;
}

/* ---- keys ---------------------------------------------------------------------------------- */

static bool bind_key(sqlite3_stmt *s, const parley_key_row *r) {
  return b_text(s, 1, r->key_id) && b_blob(s, 2, r->pk, 32) && b_i64(s, 3, r->role) &&
         b_text_or_null(s, 4, r->state) && b_text(s, 5, r->poc_id) && b_text(s, 6, r->name);
}

static parley_qs sq_key_put(void *conn, const parley_key_row *row) {
  sq_conn *c = conn;
  STMT(c, Q_KEY_PUT);
  if (!bind_key(s, row)) return bind_failed(c, s, "key_put");
  parley_qs qs = run_change(c, s, "key_put");
  return qs == PARLEY_QS_NONE ? PARLEY_QS_ONE : qs;
}

static parley_qs sq_key_get(void *conn, const char *key_id, parley_key_row *out) {
  sq_conn *c = conn;
  STMT(c, Q_KEY_GET);
  if (!b_text(s, 1, key_id)) return bind_failed(c, s, "key_get");
  parley_qs qs = step_row(c, s, "key_get");
  if (qs != PARLEY_QS_ONE) return qs;
  memset(out, 0, sizeof *out);
  int64_t role = sqlite3_column_int64(s, KEY_COL_role);
  bool ok = c_text(s, KEY_COL_key_id, out->key_id, sizeof out->key_id) &&
            c_hash(s, KEY_COL_pk, out->pk) && role >= PARLEY_ROLE_OPERATOR &&
            role <= PARLEY_ROLE_OFFICER &&
            c_text(s, KEY_COL_state, out->state, sizeof out->state) &&
            c_text(s, KEY_COL_poc_id, out->poc_id, sizeof out->poc_id) &&
            c_text(s, KEY_COL_name, out->name, sizeof out->name);
  out->role = (parley_role)role;
  sq_done(s);
  return ok ? PARLEY_QS_ONE : corrupt("key_get");
}

static parley_qs sq_key_delete(void *conn, const char *key_id) {
  sq_conn *c = conn;
  STMT(c, Q_KEY_DELETE);
  if (!b_text(s, 1, key_id)) return bind_failed(c, s, "key_delete");
  return run_change(c, s, "key_delete");
}

static parley_qs sq_operators_delete(void *conn) {
  sq_conn *c = conn;
  STMT(c, Q_OPERATORS_DELETE);
  return run_change(c, s, "operators_delete");
}

static parley_qs sq_officers_replace(void *conn, const char *state, const parley_key_row *rows,
                                     size_t n) {
  sq_conn *c = conn;
  {
    STMT(c, Q_OFFICERS_DELETE);
    if (!b_text(s, 1, state)) return bind_failed(c, s, "officers_replace");
    parley_qs qs = run_change(c, s, "officers_replace");
    if (qs < 0) return qs;
  }
  for (size_t i = 0; i < n; i++) {
    STMT(c, Q_OFFICER_INSERT);
    if (!bind_key(s, &rows[i])) return bind_failed(c, s, "officers_replace");
    parley_qs qs = run_change(c, s, "officers_replace");
    if (qs != PARLEY_QS_ONE) return qs; /* NONE: the key id is taken by another key */
  }
  return PARLEY_QS_ONE;
}

/* ---- nonces ---------------------------------------------------------------------------------- */

static parley_qs sq_nonce_insert(void *conn, const char *key_id, const char *nonce,
                                 int64_t expires) {
  sq_conn *c = conn;
  STMT(c, Q_NONCE_INSERT);
  if (!b_text(s, 1, key_id) || !b_text(s, 2, nonce) || !b_i64(s, 3, expires))
    return bind_failed(c, s, "nonce_insert");
  return run_change(c, s, "nonce_insert");
}

static parley_qs sq_nonce_purge(void *conn, int64_t now) {
  sq_conn *c = conn;
  STMT(c, Q_NONCE_PURGE);
  if (!b_i64(s, 1, now)) return bind_failed(c, s, "nonce_purge");
  return run_change(c, s, "nonce_purge");
}

/* ---- transparency log --------------------------------------------------------------------------
 */

static parley_qs sq_leaf_append(void *conn, const uint8_t hash[32], const char *kind,
                                const void *entry, size_t entry_len, int64_t created,
                                uint64_t *index) {
  sq_conn *c = conn;
  STMT(c, Q_LEAF_APPEND);
  if (!b_blob(s, 1, hash, 32) || !b_text(s, 2, kind) || !b_blob(s, 3, entry, entry_len) ||
      !b_i64(s, 4, created))
    return bind_failed(c, s, "leaf_append");
  int rc = sqlite3_step(s);
  if (rc != SQLITE_ROW) {
    sq_done(s);
    return sq_fail(c, rc == SQLITE_DONE ? SQLITE_ERROR : rc, "leaf_append");
  }
  int64_t idx = sqlite3_column_int64(s, 0);
  rc = sqlite3_step(s);
  sq_done(s);
  if (rc != SQLITE_DONE) return sq_fail(c, rc, "leaf_append");
  if (idx < 0) return corrupt("leaf_append");
  *index = (uint64_t)idx;
  return PARLEY_QS_ONE;
}

static parley_qs sq_log_size(void *conn, uint64_t *size) {
  sq_conn *c = conn;
  STMT(c, Q_LOG_SIZE);
  parley_qs qs = step_row(c, s, "log_size");
  if (qs != PARLEY_QS_ONE) return qs == PARLEY_QS_NONE ? corrupt("log_size") : qs;
  int64_t n = sqlite3_column_int64(s, 0);
  sq_done(s);
  if (n < 0) return corrupt("log_size");
  *size = (uint64_t)n;
  return PARLEY_QS_ONE;
}

static parley_qs sq_node_put(void *conn, unsigned level, uint64_t index, const uint8_t hash[32]) {
  sq_conn *c = conn;
  STMT(c, Q_NODE_PUT);
  if (!b_i64(s, 1, level) || !b_i64(s, 2, (int64_t)index) || !b_blob(s, 3, hash, 32))
    return bind_failed(c, s, "node_put");
  parley_qs qs = run_change(c, s, "node_put");
  return qs == PARLEY_QS_NONE ? PARLEY_QS_ONE : qs;
}

static parley_qs sq_node_get(void *conn, unsigned level, uint64_t index, uint8_t hash[32]) {
  sq_conn *c = conn;
  STMT(c, level == 0 ? Q_LEAF_HASH : Q_NODE_GET);
  bool bound =
      level == 0 ? b_i64(s, 1, (int64_t)index) : b_i64(s, 1, level) && b_i64(s, 2, (int64_t)index);
  if (!bound) return bind_failed(c, s, "node_get");
  parley_qs qs = step_row(c, s, "node_get");
  if (qs != PARLEY_QS_ONE) return qs;
  bool ok = c_hash(s, 0, hash);
  sq_done(s);
  return ok ? PARLEY_QS_ONE : corrupt("node_get");
}

static parley_qs sq_leaf_entry(void *conn, uint64_t index, uint8_t **entry, size_t *len) {
  sq_conn *c = conn;
  STMT(c, Q_LEAF_ENTRY);
  if (!b_i64(s, 1, (int64_t)index)) return bind_failed(c, s, "leaf_entry");
  parley_qs qs = step_row(c, s, "leaf_entry");
  if (qs != PARLEY_QS_ONE) return qs;
  char *d = NULL;
  bool ok = c_dup(s, 0, &d, len);
  sq_done(s);
  if (!ok) return corrupt("leaf_entry");
  *entry = (uint8_t *)d;
  return PARLEY_QS_ONE;
}

static parley_qs sq_leaf_find(void *conn, const uint8_t hash[32], uint64_t *index) {
  sq_conn *c = conn;
  STMT(c, Q_LEAF_FIND);
  if (!b_blob(s, 1, hash, 32)) return bind_failed(c, s, "leaf_find");
  parley_qs qs = step_row(c, s, "leaf_find");
  if (qs != PARLEY_QS_ONE) return qs;
  int64_t idx = sqlite3_column_int64(s, 0);
  sq_done(s);
  if (idx < 0) return corrupt("leaf_find");
  *index = (uint64_t)idx;
  return PARLEY_QS_ONE;
}

static parley_qs sq_checkpoint_put(void *conn, const parley_checkpoint_row *row) {
  sq_conn *c = conn;
  STMT(c, Q_CHECKPOINT_PUT);
  if (!b_i64(s, 1, (int64_t)row->size) || !b_text(s, 2, row->note) || !b_i64(s, 3, row->created))
    return bind_failed(c, s, "checkpoint_put");
  parley_qs qs = run_change(c, s, "checkpoint_put");
  return qs == PARLEY_QS_NONE ? PARLEY_QS_ONE : qs;
}

static parley_qs sq_checkpoint_get(void *conn, uint64_t size, parley_checkpoint_row *out) {
  sq_conn *c = conn;
  STMT(c, size == 0 ? Q_CHECKPOINT_LATEST : Q_CHECKPOINT_GET);
  if (size != 0 && !b_i64(s, 1, (int64_t)size)) return bind_failed(c, s, "checkpoint_get");
  parley_qs qs = step_row(c, s, "checkpoint_get");
  if (qs != PARLEY_QS_ONE) return qs;
  memset(out, 0, sizeof *out);
  int64_t sz = sqlite3_column_int64(s, CHECKPOINT_COL_size);
  size_t len = 0;
  bool ok = sz >= 0 && c_dup(s, CHECKPOINT_COL_note, &out->note, &len);
  out->size = (uint64_t)sz;
  out->created = sqlite3_column_int64(s, CHECKPOINT_COL_created);
  sq_done(s);
  if (!ok) {
    parley_checkpoint_row_clear(out);
    return corrupt("checkpoint_get");
  }
  return PARLEY_QS_ONE;
}

/* ---- messages ----------------------------------------------------------------------------------
 */

static bool bind_message(sqlite3_stmt *s, const parley_message_row *r) {
  return b_text(s, 1, r->id) && b_text(s, 2, r->kind) && b_text(s, 3, r->priority) &&
         b_text(s, 4, r->tlp) && b_text(s, 5, r->from_state) && b_text(s, 6, r->from_poc) &&
         b_text_or_null(s, 7, r->case_id) && b_text_or_null(s, 8, r->in_reply_to) &&
         b_i64(s, 9, r->created) && b_i64(s, 10, r->received) && b_i64(s, 11, r->ack_deadline) &&
         b_i64(s, 12, r->escalation_level) && b_i64(s, 13, r->next_escalation) &&
         b_i64(s, 14, r->overdue ? 1 : 0) && b_i64(s, 15, r->status) &&
         b_blob(s, 16, r->envelope_hash, 32) && b_i64(s, 17, r->leaf_index) &&
         b_textn(s, 18, r->envelope, r->envelope_len);
}

/* The MSG_COLS columns; the envelope is left NULL. */
static bool read_message(sqlite3_stmt *s, void *row) {
  parley_message_row *o = row;
  memset(o, 0, sizeof *o);
  int64_t level = sqlite3_column_int64(s, MSG_COL_escalation_level),
          overdue = sqlite3_column_int64(s, MSG_COL_overdue),
          status = sqlite3_column_int64(s, MSG_COL_status);
  if (!c_text(s, MSG_COL_id, o->id, sizeof o->id) ||
      !c_text(s, MSG_COL_kind, o->kind, sizeof o->kind) ||
      !c_text(s, MSG_COL_priority, o->priority, sizeof o->priority) ||
      !c_text(s, MSG_COL_tlp, o->tlp, sizeof o->tlp) ||
      !c_text(s, MSG_COL_from_state, o->from_state, sizeof o->from_state) ||
      !c_text(s, MSG_COL_from_poc, o->from_poc, sizeof o->from_poc) ||
      !c_text(s, MSG_COL_case_id, o->case_id, sizeof o->case_id) ||
      !c_text(s, MSG_COL_in_reply_to, o->in_reply_to, sizeof o->in_reply_to) || level < 0 ||
      level > INT_MAX || (overdue != 0 && overdue != 1) || status < PARLEY_MSG_SUBMITTED ||
      status > PARLEY_MSG_CLOSED || !c_hash(s, MSG_COL_envelope_hash, o->envelope_hash))
    return false;
  o->seq = sqlite3_column_int64(s, MSG_COL_seq);
  o->created = sqlite3_column_int64(s, MSG_COL_created);
  o->received = sqlite3_column_int64(s, MSG_COL_received);
  o->ack_deadline = sqlite3_column_int64(s, MSG_COL_ack_deadline);
  o->escalation_level = (int)level;
  o->next_escalation = sqlite3_column_int64(s, MSG_COL_next_escalation);
  o->overdue = overdue == 1;
  o->status = (parley_msg_status)status;
  o->leaf_index = sqlite3_column_int64(s, MSG_COL_leaf_index);
  return true;
}

static bool read_recipient(sqlite3_stmt *s, void *row) {
  parley_recipient_row *o = row;
  memset(o, 0, sizeof *o);
  if (!c_text(s, RCPT_COL_message_id, o->message_id, sizeof o->message_id) ||
      !c_text(s, RCPT_COL_state, o->state, sizeof o->state) ||
      !c_text(s, RCPT_COL_poc, o->poc, sizeof o->poc) ||
      !c_text(s, RCPT_COL_key_id, o->key_id, sizeof o->key_id))
    return false;
  o->delivered = sqlite3_column_int64(s, RCPT_COL_delivered);
  o->acked = sqlite3_column_int64(s, RCPT_COL_acked);
  return true;
}

/* On success the row owns its ack text; on failure it owns nothing. */
static bool read_ack(sqlite3_stmt *s, void *row) {
  parley_ack_row *o = row;
  memset(o, 0, sizeof *o);
  if (!c_text(s, ACK_COL_message_id, o->message_id, sizeof o->message_id) ||
      !c_text(s, ACK_COL_state, o->state, sizeof o->state) ||
      !c_text(s, ACK_COL_poc, o->poc, sizeof o->poc) ||
      !c_dup(s, ACK_COL_ack, &o->ack, &o->ack_len))
    return false;
  o->time = sqlite3_column_int64(s, ACK_COL_time);
  o->leaf_index = sqlite3_column_int64(s, ACK_COL_leaf_index);
  return true;
}

typedef struct {
  char event[PARLEY_STORE_EVENT_LEN];
  char detail[PARLEY_STORE_DETAIL_LEN];
  int64_t at;
} event_row;

static bool read_event(sqlite3_stmt *s, void *row) {
  event_row *o = row;
  if (!c_text(s, EVENT_COL_event, o->event, sizeof o->event) ||
      !c_text(s, EVENT_COL_detail, o->detail, sizeof o->detail))
    return false;
  o->at = sqlite3_column_int64(s, EVENT_COL_at);
  return true;
}

/* Steps a bound listing to its end, reading each row into a growing array of `size`-byte
 * rows, and resets the statement. ONE if there were rows, NONE if not; on a failure,
 * *rows and *n still hold the rows read (the caller releases them). */
static parley_qs collect(sq_conn *c, sqlite3_stmt *s, size_t size,
                         bool (*read)(sqlite3_stmt *s, void *row), void **rows, size_t *n,
                         const char *op) {
  unsigned char *a = NULL;
  size_t cap = 0;
  parley_qs qs = PARLEY_QS_NONE;
  int rc;
  *n = 0;
  while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
    if (*n == cap) {
      size_t ncap = cap ? cap * 2 : 16;
      unsigned char *na = ncap <= SIZE_MAX / size ? realloc(a, ncap * size) : NULL;
      if (!na) {
        parley_log(PARLEY_LOG_ERROR, "store.no_memory", "op=%s", op);
        qs = PARLEY_QS_HARD;
        break;
      }
      a = na;
      cap = ncap;
    }
    if (!read(s, a + *n * size)) {
      qs = corrupt(op);
      break;
    }
    (*n)++;
  }
  if (qs == PARLEY_QS_NONE && rc != SQLITE_DONE) qs = sq_fail(c, rc, op);
  sq_done(s);
  *rows = a;
  if (qs == PARLEY_QS_NONE && *n > 0) qs = PARLEY_QS_ONE;
  return qs;
}

/* Runs a bound message listing and hands its rows to cb. */
static parley_qs message_list(sq_conn *c, sqlite3_stmt *s,
                              bool (*cb)(void *cls, const parley_message_row *m), void *cls,
                              const char *op) {
  void *rows = NULL;
  size_t n = 0;
  parley_qs qs = collect(c, s, sizeof(parley_message_row), read_message, &rows, &n, op);
  if (qs == PARLEY_QS_ONE) {
    const parley_message_row *m = rows;
    for (size_t i = 0; i < n; i++)
      if (!cb(cls, &m[i])) break;
  }
  free(rows);
  return qs;
}

static parley_qs sq_message_insert(void *conn, parley_message_row *row,
                                   const parley_recipient_row *rcpts, size_t n) {
  sq_conn *c = conn;
  int64_t seq;
  {
    STMT(c, Q_MESSAGE_INSERT);
    if (!bind_message(s, row)) return bind_failed(c, s, "message_insert");
    int rc = sqlite3_step(s);
    if (rc == SQLITE_DONE) {
      sq_done(s);
      return PARLEY_QS_NONE; /* the id exists */
    }
    if (rc != SQLITE_ROW) {
      sq_done(s);
      return sq_fail(c, rc, "message_insert");
    }
    seq = sqlite3_column_int64(s, 0);
    rc = sqlite3_step(s);
    sq_done(s);
    if (rc != SQLITE_DONE) return sq_fail(c, rc, "message_insert");
  }
  for (size_t i = 0; i < n; i++) {
    STMT(c, Q_RECIPIENT_INSERT);
    const parley_recipient_row *r = &rcpts[i];
    if (!b_text(s, 1, row->id) || !b_i64(s, 2, seq) || !b_text(s, 3, r->state) ||
        !b_text(s, 4, r->poc) || !b_text(s, 5, r->key_id) || !b_i64(s, 6, r->delivered) ||
        !b_i64(s, 7, r->acked))
      return bind_failed(c, s, "message_insert");
    parley_qs qs = run_change(c, s, "message_insert");
    /* a recipient listed twice fails the primary key: HARD */
    if (qs != PARLEY_QS_ONE) return qs < 0 ? qs : corrupt("message_insert");
  }
  row->seq = seq;
  return PARLEY_QS_ONE;
}

static parley_qs sq_message_get(void *conn, const char *id, parley_message_row *out) {
  sq_conn *c = conn;
  STMT(c, Q_MESSAGE_GET);
  if (!b_text(s, 1, id)) return bind_failed(c, s, "message_get");
  parley_qs qs = step_row(c, s, "message_get");
  if (qs != PARLEY_QS_ONE) return qs;
  bool ok = read_message(s, out) && c_dup(s, MSG_COL_envelope, &out->envelope, &out->envelope_len);
  sq_done(s);
  if (!ok) {
    parley_message_row_clear(out);
    return corrupt("message_get");
  }
  return PARLEY_QS_ONE;
}

static parley_qs sq_message_update(void *conn, const parley_message_row *row) {
  sq_conn *c = conn;
  STMT(c, Q_MESSAGE_UPDATE);
  if (!b_text(s, 1, row->id) || !b_i64(s, 2, row->status) || !b_i64(s, 3, row->overdue ? 1 : 0) ||
      !b_i64(s, 4, row->escalation_level) || !b_i64(s, 5, row->next_escalation) ||
      !b_i64(s, 6, row->ack_deadline))
    return bind_failed(c, s, "message_update");
  return run_change(c, s, "message_update");
}

static parley_qs sq_recipients_get(void *conn, const char *message_id,
                                   bool (*cb)(void *cls, const parley_recipient_row *r),
                                   void *cls) {
  sq_conn *c = conn;
  STMT(c, Q_RECIPIENTS_GET);
  if (!b_text(s, 1, message_id)) return bind_failed(c, s, "recipients_get");
  void *rows = NULL;
  size_t n = 0;
  parley_qs qs =
      collect(c, s, sizeof(parley_recipient_row), read_recipient, &rows, &n, "recipients_get");
  if (qs == PARLEY_QS_ONE) {
    const parley_recipient_row *r = rows;
    for (size_t i = 0; i < n; i++)
      if (!cb(cls, &r[i])) break;
  }
  free(rows);
  return qs;
}

static parley_qs sq_recipient_update(void *conn, const parley_recipient_row *r) {
  sq_conn *c = conn;
  STMT(c, Q_RECIPIENT_UPDATE);
  if (!b_text(s, 1, r->message_id) || !b_text(s, 2, r->state) || !b_text(s, 3, r->poc) ||
      !b_i64(s, 4, r->delivered) || !b_i64(s, 5, r->acked))
    return bind_failed(c, s, "recipient_update");
  return run_change(c, s, "recipient_update");
}

static parley_qs box(void *conn, int q, const char *state, const char *poc, int64_t after,
                     size_t limit, bool (*cb)(void *cls, const parley_message_row *m), void *cls,
                     const char *op) {
  sq_conn *c = conn;
  STMT(c, q);
  if (!b_text(s, 1, state) || !b_text(s, 2, poc) || !b_i64(s, 3, after) ||
      !b_i64(s, 4, (int64_t)limit))
    return bind_failed(c, s, op);
  return message_list(c, s, cb, cls, op);
}

static parley_qs sq_inbox(void *conn, const char *state, const char *poc, int64_t after,
                          size_t limit, bool (*cb)(void *cls, const parley_message_row *m),
                          void *cls) {
  return box(conn, Q_INBOX, state, poc, after, limit, cb, cls, "inbox");
}

static parley_qs sq_outbox(void *conn, const char *state, const char *poc, int64_t after,
                           size_t limit, bool (*cb)(void *cls, const parley_message_row *m),
                           void *cls) {
  return box(conn, Q_OUTBOX, state, poc, after, limit, cb, cls, "outbox");
}

static parley_qs sq_case_messages(void *conn, const char *case_id,
                                  bool (*cb)(void *cls, const parley_message_row *m), void *cls) {
  sq_conn *c = conn;
  STMT(c, Q_CASE_MESSAGES);
  if (!b_text(s, 1, case_id)) return bind_failed(c, s, "case_messages");
  return message_list(c, s, cb, cls, "case_messages");
}

static parley_qs sq_due_messages(void *conn, int64_t now, size_t limit,
                                 bool (*cb)(void *cls, const parley_message_row *m), void *cls) {
  sq_conn *c = conn;
  STMT(c, Q_DUE_MESSAGES);
  if (!b_i64(s, 1, now) || !b_i64(s, 2, (int64_t)limit)) return bind_failed(c, s, "due_messages");
  return message_list(c, s, cb, cls, "due_messages");
}

static parley_qs sq_cases_latest(void *conn, const char *state, const char *poc, const char *kind,
                                 bool (*cb)(void *cls, const parley_message_row *m), void *cls) {
  sq_conn *c = conn;
  STMT(c, Q_CASES_LATEST);
  if (!b_text(s, 1, state) || !b_text(s, 2, poc) || !b_text(s, 3, kind))
    return bind_failed(c, s, "cases_latest");
  return message_list(c, s, cb, cls, "cases_latest");
}

static parley_qs sq_ack_insert(void *conn, const parley_ack_row *row) {
  sq_conn *c = conn;
  STMT(c, Q_ACK_INSERT);
  if (!b_text(s, 1, row->message_id) || !b_text(s, 2, row->state) || !b_text(s, 3, row->poc) ||
      !b_i64(s, 4, row->time) || !b_textn(s, 5, row->ack, row->ack_len) ||
      !b_i64(s, 6, row->leaf_index))
    return bind_failed(c, s, "ack_insert");
  return run_change(c, s, "ack_insert");
}

static parley_qs sq_acks_get(void *conn, const char *message_id,
                             bool (*cb)(void *cls, const parley_ack_row *a), void *cls) {
  sq_conn *c = conn;
  STMT(c, Q_ACKS_GET);
  if (!b_text(s, 1, message_id)) return bind_failed(c, s, "acks_get");
  void *rows = NULL;
  size_t n = 0;
  parley_qs qs = collect(c, s, sizeof(parley_ack_row), read_ack, &rows, &n, "acks_get");
  parley_ack_row *a = rows;
  bool more = qs == PARLEY_QS_ONE;
  for (size_t i = 0; i < n; i++) {
    if (more) more = cb(cls, &a[i]);
    parley_ack_row_clear(&a[i]);
  }
  free(rows);
  return qs;
}

static parley_qs sq_message_event(void *conn, const char *message_id, const char *event,
                                  const char *detail, int64_t at) {
  sq_conn *c = conn;
  STMT(c, Q_EVENT_INSERT);
  if (!b_text(s, 1, message_id) || !b_text(s, 2, event) || !b_text(s, 3, detail) ||
      !b_i64(s, 4, at))
    return bind_failed(c, s, "message_event");
  return run_change(c, s, "message_event");
}

static parley_qs sq_message_events(void *conn, const char *message_id,
                                   bool (*cb)(void *cls, const char *event, const char *detail,
                                              int64_t at),
                                   void *cls) {
  sq_conn *c = conn;
  STMT(c, Q_EVENTS_GET);
  if (!b_text(s, 1, message_id)) return bind_failed(c, s, "message_events");
  void *rows = NULL;
  size_t n = 0;
  parley_qs qs = collect(c, s, sizeof(event_row), read_event, &rows, &n, "message_events");
  if (qs == PARLEY_QS_ONE) {
    const event_row *e = rows;
    for (size_t i = 0; i < n; i++)
      if (!cb(cls, e[i].event, e[i].detail, e[i].at)) break;
  }
  free(rows);
  return qs;
}

/* ---- treaty metadata ----------------------------------------------------------------- */

static parley_qs sq_basis_put(void *conn, const char *message_id, const char *instrument,
                              const char *article) {
  sq_conn *c = conn;
  STMT(c, Q_BASIS_PUT);
  if (!b_text(s, 1, message_id) || !b_text(s, 2, instrument) || !b_text(s, 3, article))
    return bind_failed(c, s, "basis_put");
  return run_change(c, s, "basis_put");
}

typedef struct {
  parley_message_row m;
  char instrument[72];
  char article[40];
} stats_row;

static bool read_stats(sqlite3_stmt *s, void *row) {
  stats_row *o = row;
  return read_message(s, &o->m) &&
         c_text(s, STATS_COL_instrument, o->instrument, sizeof o->instrument) &&
         c_text(s, STATS_COL_article, o->article, sizeof o->article);
}

static parley_qs sq_stats_messages(void *conn, int64_t after, size_t limit,
                                   bool (*cb)(void *cls, const parley_message_row *m,
                                              const char *instrument, const char *article),
                                   void *cls) {
  sq_conn *c = conn;
  STMT(c, Q_STATS_MESSAGES);
  if (!b_i64(s, 1, after) || !b_i64(s, 2, (int64_t)limit))
    return bind_failed(c, s, "stats_messages");
  void *rows = NULL;
  size_t n = 0;
  parley_qs qs = collect(c, s, sizeof(stats_row), read_stats, &rows, &n, "stats_messages");
  if (qs == PARLEY_QS_ONE) {
    const stats_row *r = rows;
    for (size_t i = 0; i < n; i++)
      if (!cb(cls, &r[i].m, r[i].instrument, r[i].article)) break;
  }
  free(rows);
  return qs;
}

static parley_qs sq_clock_put(void *conn, const parley_clock_row *r) {
  sq_conn *c = conn;
  STMT(c, Q_CLOCK_PUT);
  if (!b_text(s, 1, r->message_id) || !b_text(s, 2, r->name) || !b_text(s, 3, r->case_id) ||
      !b_text(s, 4, r->state) || !b_i64(s, 5, r->started) || !b_i64(s, 6, r->due) ||
      !b_i64(s, 7, r->remind_at) || !b_i64(s, 8, r->next_at) || !b_i64(s, 9, r->status) ||
      !b_i64(s, 10, r->settled))
    return bind_failed(c, s, "clock_put");
  return run_change(c, s, "clock_put");
}

static bool read_clock(sqlite3_stmt *s, void *row) {
  parley_clock_row *o = row;
  memset(o, 0, sizeof *o);
  int64_t st = sqlite3_column_int64(s, CLOCK_COL_status);
  if (!c_text(s, CLOCK_COL_message_id, o->message_id, sizeof o->message_id) ||
      !c_text(s, CLOCK_COL_name, o->name, sizeof o->name) ||
      !c_text(s, CLOCK_COL_case_id, o->case_id, sizeof o->case_id) ||
      !c_text(s, CLOCK_COL_state, o->state, sizeof o->state) || st < 0 || st > 2)
    return false;
  o->started = sqlite3_column_int64(s, CLOCK_COL_started);
  o->due = sqlite3_column_int64(s, CLOCK_COL_due);
  o->remind_at = sqlite3_column_int64(s, CLOCK_COL_remind_at);
  o->next_at = sqlite3_column_int64(s, CLOCK_COL_next_at);
  o->status = (parley_clock_status)st;
  o->settled = sqlite3_column_int64(s, CLOCK_COL_settled);
  return true;
}

static parley_qs clock_list(sq_conn *c, sqlite3_stmt *s,
                            bool (*cb)(void *cls, const parley_clock_row *r), void *cls,
                            const char *op) {
  void *rows = NULL;
  size_t n = 0;
  parley_qs qs = collect(c, s, sizeof(parley_clock_row), read_clock, &rows, &n, op);
  if (qs == PARLEY_QS_ONE) {
    const parley_clock_row *r = rows;
    for (size_t i = 0; i < n; i++)
      if (!cb(cls, &r[i])) break;
  }
  free(rows);
  return qs;
}

static parley_qs sq_clocks_due(void *conn, int64_t now, size_t limit,
                               bool (*cb)(void *cls, const parley_clock_row *r), void *cls) {
  sq_conn *c = conn;
  STMT(c, Q_CLOCKS_DUE);
  if (!b_i64(s, 1, now) || !b_i64(s, 2, (int64_t)limit)) return bind_failed(c, s, "clocks_due");
  return clock_list(c, s, cb, cls, "clocks_due");
}

static parley_qs sq_clocks_of_case(void *conn, const char *case_id,
                                   bool (*cb)(void *cls, const parley_clock_row *r), void *cls) {
  sq_conn *c = conn;
  STMT(c, Q_CLOCKS_OF_CASE);
  if (!b_text(s, 1, case_id)) return bind_failed(c, s, "clocks_of_case");
  return clock_list(c, s, cb, cls, "clocks_of_case");
}

/* ---- evidence packages ---------------------------------------------------------------- */

static bool read_evidence(sqlite3_stmt *s, void *row) {
  parley_evidence_row *o = row;
  memset(o, 0, sizeof *o);
  int64_t status = sqlite3_column_int64(s, EVIDENCE_COL_status);
  if (!c_text(s, EVIDENCE_COL_id, o->id, sizeof o->id) ||
      !c_text(s, EVIDENCE_COL_from_state, o->from_state, sizeof o->from_state) ||
      !c_text(s, EVIDENCE_COL_from_poc, o->from_poc, sizeof o->from_poc) ||
      !c_hash(s, EVIDENCE_COL_manifest_hash, o->manifest_hash) || status < 0 || status > 4)
    return false;
  o->status = (parley_evidence_status)status;
  o->ciphertext_size = sqlite3_column_int64(s, EVIDENCE_COL_ciphertext_size);
  o->upload_offset = sqlite3_column_int64(s, EVIDENCE_COL_upload_offset);
  o->retain_until = sqlite3_column_int64(s, EVIDENCE_COL_retain_until);
  o->created = sqlite3_column_int64(s, EVIDENCE_COL_created);
  o->updated = sqlite3_column_int64(s, EVIDENCE_COL_updated);
  o->leaf_index = sqlite3_column_int64(s, EVIDENCE_COL_leaf_index);
  return true;
}

static parley_qs sq_evidence_insert(void *conn, const parley_evidence_row *row,
                                    const parley_evidence_recipient_row *rcpts, size_t n) {
  sq_conn *c = conn;
  {
    STMT(c, Q_EVIDENCE_INSERT);
    if (!b_text(s, 1, row->id) || !b_text(s, 2, row->from_state) || !b_text(s, 3, row->from_poc) ||
        !b_i64(s, 4, row->status) || !b_i64(s, 5, row->ciphertext_size) ||
        !b_i64(s, 6, row->upload_offset) || !b_i64(s, 7, row->retain_until) ||
        !b_i64(s, 8, row->created) || !b_i64(s, 9, row->updated) ||
        !b_blob(s, 10, row->manifest_hash, 32) || !b_i64(s, 11, row->leaf_index) ||
        !b_textn(s, 12, row->manifest, row->manifest_len))
      return bind_failed(c, s, "evidence_insert");
    parley_qs qs = run_change(c, s, "evidence_insert");
    if (qs != PARLEY_QS_ONE) return qs;
  }
  for (size_t i = 0; i < n; i++) {
    STMT(c, Q_EVIDENCE_RCPT_INSERT);
    if (!b_text(s, 1, row->id) || !b_text(s, 2, rcpts[i].state) || !b_text(s, 3, rcpts[i].poc) ||
        !b_text(s, 4, rcpts[i].key_id))
      return bind_failed(c, s, "evidence_insert");
    parley_qs qs = run_change(c, s, "evidence_insert");
    if (qs != PARLEY_QS_ONE) return qs < 0 ? qs : corrupt("evidence_insert");
  }
  return PARLEY_QS_ONE;
}

static parley_qs sq_evidence_recipient_add(void *conn, const char *id,
                                           const parley_evidence_recipient_row *r) {
  sq_conn *c = conn;
  STMT(c, Q_EVIDENCE_RCPT_INSERT_NEW);
  if (!b_text(s, 1, id) || !b_text(s, 2, r->state) || !b_text(s, 3, r->poc) ||
      !b_text(s, 4, r->key_id))
    return bind_failed(c, s, "evidence_recipient_add");
  return run_change(c, s, "evidence_recipient_add");
}

static parley_qs sq_evidence_get(void *conn, const char *id, parley_evidence_row *out) {
  sq_conn *c = conn;
  STMT(c, Q_EVIDENCE_GET);
  if (!b_text(s, 1, id)) return bind_failed(c, s, "evidence_get");
  parley_qs qs = step_row(c, s, "evidence_get");
  if (qs != PARLEY_QS_ONE) return qs;
  bool ok =
      read_evidence(s, out) && c_dup(s, EVIDENCE_COL_manifest, &out->manifest, &out->manifest_len);
  sq_done(s);
  return ok ? PARLEY_QS_ONE : corrupt("evidence_get");
}

static parley_qs sq_evidence_update(void *conn, const parley_evidence_row *row) {
  sq_conn *c = conn;
  STMT(c, Q_EVIDENCE_UPDATE);
  if (!b_text(s, 1, row->id) || !b_i64(s, 2, row->status) || !b_i64(s, 3, row->upload_offset) ||
      !b_i64(s, 4, row->updated))
    return bind_failed(c, s, "evidence_update");
  return run_change(c, s, "evidence_update");
}

static parley_qs evidence_rows(sq_conn *c, sqlite3_stmt *s,
                               bool (*cb)(void *cls, const parley_evidence_row *r), void *cls,
                               const char *op) {
  void *rows = NULL;
  size_t n = 0;
  parley_qs qs = collect(c, s, sizeof(parley_evidence_row), read_evidence, &rows, &n, op);
  if (qs == PARLEY_QS_ONE) {
    const parley_evidence_row *r = rows;
    for (size_t i = 0; i < n; i++)
      if (!cb(cls, &r[i])) break;
  }
  free(rows);
  return qs;
}

static parley_qs sq_evidence_list(void *conn, const char *state, const char *poc,
                                  bool (*cb)(void *cls, const parley_evidence_row *r), void *cls) {
  sq_conn *c = conn;
  STMT(c, Q_EVIDENCE_LIST);
  if (!b_text(s, 1, state) || !b_text(s, 2, poc)) return bind_failed(c, s, "evidence_list");
  return evidence_rows(c, s, cb, cls, "evidence_list");
}

static parley_qs sq_evidence_expired(void *conn, int64_t now, size_t limit,
                                     bool (*cb)(void *cls, const parley_evidence_row *r),
                                     void *cls) {
  sq_conn *c = conn;
  STMT(c, Q_EVIDENCE_EXPIRED);
  if (!b_i64(s, 1, now) || !b_i64(s, 2, (int64_t)limit))
    return bind_failed(c, s, "evidence_expired");
  return evidence_rows(c, s, cb, cls, "evidence_expired");
}

static bool read_evidence_rcpt(sqlite3_stmt *s, void *row) {
  parley_evidence_recipient_row *o = row;
  memset(o, 0, sizeof *o);
  return c_text(s, EVIDENCE_RCPT_COL_evidence_id, o->evidence_id, sizeof o->evidence_id) &&
         c_text(s, EVIDENCE_RCPT_COL_state, o->state, sizeof o->state) &&
         c_text(s, EVIDENCE_RCPT_COL_poc, o->poc, sizeof o->poc) &&
         c_text(s, EVIDENCE_RCPT_COL_key_id, o->key_id, sizeof o->key_id);
}

static parley_qs
sq_evidence_recipients(void *conn, const char *id,
                       bool (*cb)(void *cls, const parley_evidence_recipient_row *r), void *cls) {
  sq_conn *c = conn;
  STMT(c, Q_EVIDENCE_RCPTS_GET);
  if (!b_text(s, 1, id)) return bind_failed(c, s, "evidence_recipients");
  void *rows = NULL;
  size_t n = 0;
  parley_qs qs = collect(c, s, sizeof(parley_evidence_recipient_row), read_evidence_rcpt, &rows, &n,
                         "evidence_recipients");
  if (qs == PARLEY_QS_ONE) {
    const parley_evidence_recipient_row *r = rows;
    for (size_t i = 0; i < n; i++)
      if (!cb(cls, &r[i])) break;
  }
  free(rows);
  return qs;
}

static parley_qs sq_evidence_chunk_put(void *conn, const char *id, int64_t idx,
                                       const uint8_t hash[32], const void *data, size_t len) {
  sq_conn *c = conn;
  STMT(c, Q_EVIDENCE_CHUNK_PUT);
  if (!b_text(s, 1, id) || !b_i64(s, 2, idx) || !b_blob(s, 3, hash, 32) ||
      !(data ? b_blob(s, 4, data, len) : sqlite3_bind_null(s, 4) == SQLITE_OK))
    return bind_failed(c, s, "evidence_chunk_put");
  return run_change(c, s, "evidence_chunk_put");
}

static parley_qs sq_evidence_chunk_get(void *conn, const char *id, int64_t idx, uint8_t hash[32],
                                       uint8_t **data, size_t *len) {
  sq_conn *c = conn;
  STMT(c, Q_EVIDENCE_CHUNK_GET);
  if (!b_text(s, 1, id) || !b_i64(s, 2, idx)) return bind_failed(c, s, "evidence_chunk_get");
  parley_qs qs = step_row(c, s, "evidence_chunk_get");
  if (qs != PARLEY_QS_ONE) return qs;
  bool ok = c_hash(s, 0, hash);
  if (ok && sqlite3_column_type(s, 1) != SQLITE_NULL) ok = c_dup(s, 1, (char **)data, len);
  sq_done(s);
  return ok ? PARLEY_QS_ONE : corrupt("evidence_chunk_get");
}

typedef struct {
  int64_t idx;
  uint8_t hash[32];
} chunk_hash_row;

static bool read_chunk_hash(sqlite3_stmt *s, void *row) {
  chunk_hash_row *o = row;
  o->idx = sqlite3_column_int64(s, 0);
  return c_hash(s, 1, o->hash);
}

static parley_qs
sq_evidence_chunk_hashes(void *conn, const char *id, int64_t from, size_t limit,
                         bool (*cb)(void *cls, int64_t idx, const uint8_t hash[32]), void *cls) {
  sq_conn *c = conn;
  STMT(c, Q_EVIDENCE_CHUNK_HASHES);
  if (!b_text(s, 1, id) || !b_i64(s, 2, from) || !b_i64(s, 3, (int64_t)limit))
    return bind_failed(c, s, "evidence_chunk_hashes");
  void *rows = NULL;
  size_t n = 0;
  parley_qs qs =
      collect(c, s, sizeof(chunk_hash_row), read_chunk_hash, &rows, &n, "evidence_chunk_hashes");
  if (qs == PARLEY_QS_ONE) {
    const chunk_hash_row *r = rows;
    for (size_t i = 0; i < n; i++)
      if (!cb(cls, r[i].idx, r[i].hash)) break;
  }
  free(rows);
  return qs;
}

static parley_qs sq_evidence_chunks_delete(void *conn, const char *id) {
  sq_conn *c = conn;
  STMT(c, Q_EVIDENCE_CHUNKS_DELETE);
  if (!b_text(s, 1, id)) return bind_failed(c, s, "evidence_chunks_delete");
  return run_change(c, s, "evidence_chunks_delete");
}

static parley_qs sq_evidence_usage(void *conn, const char *state, int64_t *bytes,
                                   int64_t *uploading) {
  sq_conn *c = conn;
  STMT(c, Q_EVIDENCE_USAGE);
  if (!b_text(s, 1, state)) return bind_failed(c, s, "evidence_usage");
  parley_qs qs = step_row(c, s, "evidence_usage");
  if (qs != PARLEY_QS_ONE) return qs;
  *bytes = sqlite3_column_int64(s, 0);
  *uploading = sqlite3_column_int64(s, 1);
  sq_done(s);
  return PARLEY_QS_ONE;
}

static parley_qs sq_custody_insert(void *conn, parley_custody_row *row) {
  sq_conn *c = conn;
  STMT(c, Q_CUSTODY_INSERT);
  if (!b_text(s, 1, row->evidence_id) || !b_text(s, 2, row->event) || !b_i64(s, 3, row->at) ||
      !b_i64(s, 4, row->leaf_index) || !b_textn(s, 5, row->body, row->body_len))
    return bind_failed(c, s, "custody_insert");
  parley_qs qs = step_row(c, s, "custody_insert");
  if (qs != PARLEY_QS_ONE) return qs < 0 ? qs : corrupt("custody_insert");
  row->seq = sqlite3_column_int64(s, 0);
  int rc = sqlite3_step(s);
  sq_done(s);
  return rc == SQLITE_DONE ? PARLEY_QS_ONE : sq_fail(c, rc, "custody_insert");
}

static bool read_custody(sqlite3_stmt *s, void *row) {
  parley_custody_row *o = row;
  memset(o, 0, sizeof *o);
  o->seq = sqlite3_column_int64(s, CUSTODY_COL_seq);
  o->at = sqlite3_column_int64(s, CUSTODY_COL_at);
  o->leaf_index = sqlite3_column_int64(s, CUSTODY_COL_leaf_index);
  return c_text(s, CUSTODY_COL_evidence_id, o->evidence_id, sizeof o->evidence_id) &&
         c_text(s, CUSTODY_COL_event, o->event, sizeof o->event) &&
         c_dup(s, CUSTODY_COL_body, &o->body, &o->body_len);
}

static parley_qs sq_custody_list(void *conn, const char *id,
                                 bool (*cb)(void *cls, const parley_custody_row *r), void *cls) {
  sq_conn *c = conn;
  STMT(c, Q_CUSTODY_LIST);
  if (!b_text(s, 1, id)) return bind_failed(c, s, "custody_list");
  void *rows = NULL;
  size_t n = 0;
  parley_qs qs = collect(c, s, sizeof(parley_custody_row), read_custody, &rows, &n, "custody_list");
  parley_custody_row *r = rows;
  bool more = qs == PARLEY_QS_ONE;
  for (size_t i = 0; i < n; i++) {
    if (more) more = cb(cls, &r[i]);
    free(r[i].body);
  }
  free(rows);
  return qs;
}

const struct parley_store_backend parley_store_sqlite = {
    .name = "sqlite",
    .open = sq_open,
    .close = sq_close,
    .begin = sq_begin,
    .commit = sq_commit,
    .savepoint = sq_savepoint,
    .rollback = sq_rollback,
    .state_insert = sq_state_insert,
    .state_get = sq_state_get,
    .state_update = sq_state_update,
    .state_list = sq_state_list,
    .record_insert = sq_record_insert,
    .record_get = sq_record_get,
    .key_put = sq_key_put,
    .key_get = sq_key_get,
    .key_delete = sq_key_delete,
    .operators_delete = sq_operators_delete,
    .officers_replace = sq_officers_replace,
    .nonce_insert = sq_nonce_insert,
    .nonce_purge = sq_nonce_purge,
    .leaf_append = sq_leaf_append,
    .log_size = sq_log_size,
    .node_put = sq_node_put,
    .node_get = sq_node_get,
    .leaf_entry = sq_leaf_entry,
    .leaf_find = sq_leaf_find,
    .checkpoint_put = sq_checkpoint_put,
    .checkpoint_get = sq_checkpoint_get,
    .message_insert = sq_message_insert,
    .message_get = sq_message_get,
    .message_update = sq_message_update,
    .recipients_get = sq_recipients_get,
    .recipient_update = sq_recipient_update,
    .inbox = sq_inbox,
    .outbox = sq_outbox,
    .case_messages = sq_case_messages,
    .due_messages = sq_due_messages,
    .cases_latest = sq_cases_latest,
    .ack_insert = sq_ack_insert,
    .acks_get = sq_acks_get,
    .message_event = sq_message_event,
    .message_events = sq_message_events,
    .basis_put = sq_basis_put,
    .stats_messages = sq_stats_messages,
    .clock_put = sq_clock_put,
    .clocks_due = sq_clocks_due,
    .clocks_of_case = sq_clocks_of_case,
    .evidence_insert = sq_evidence_insert,
    .evidence_get = sq_evidence_get,
    .evidence_update = sq_evidence_update,
    .evidence_list = sq_evidence_list,
    .evidence_recipient_add = sq_evidence_recipient_add,
    .evidence_recipients = sq_evidence_recipients,
    .evidence_chunk_put = sq_evidence_chunk_put,
    .evidence_chunk_get = sq_evidence_chunk_get,
    .evidence_chunk_hashes = sq_evidence_chunk_hashes,
    .evidence_chunks_delete = sq_evidence_chunks_delete,
    .evidence_usage = sq_evidence_usage,
    .evidence_expired = sq_evidence_expired,
    .custody_insert = sq_custody_insert,
    .custody_list = sq_custody_list,
};
