/* PostgreSQL engine (libpq): a pool of connections, each statement prepared once per
 * connection and run with bound binary parameters, binary results.
 *
 * Write transactions are SERIALIZABLE and begin by locking the table write_lock in
 * EXCLUSIVE mode. The lock is taken before the transaction's first query, hence before
 * its snapshot, so writers from every parleyd process run one after the other, each
 * seeing all earlier commits: the log's indices stay contiguous and writers do not
 * fail each other's serialization. Readers (REPEATABLE READ, READ ONLY) never wait.
 * Serialization failures, deadlocks, lock timeouts and connections lost before COMMIT
 * become RETRY. */
#ifdef PARLEY_HAVE_PQ

#include "store/backend.h"
#include "store/columns.h"

#include <libpq-fe.h>
#include <poll.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>

/* pg_type OIDs (stable since PostgreSQL 7) */
#define OID_BYTEA 17
#define OID_INT8 20
#define OID_INT2 21
#define OID_INT4 23
#define OID_TEXT 25

/* Serializes migrations of concurrent parleyd processes (pg_advisory_lock key). */
#define MIGRATION_LOCK_KEY "7022344227815306604"

/* ---- schema ---------------------------------------------------------------- */

/* Step N (1-based) creates what the SQLite engine's step N creates. Append only. */
static const char *const migrations[] = {
    /* 1: directory, request keys, nonces, transparency log */
    "CREATE TABLE states ("
    "  code TEXT COLLATE \"C\" PRIMARY KEY CHECK (length(code) BETWEEN 1 AND 3),"
    "  name TEXT NOT NULL,"
    "  region TEXT NOT NULL,"
    "  root_pk BYTEA NOT NULL CHECK (octet_length(root_pk) = 32),"
    "  status INTEGER NOT NULL CHECK (status IN (0, 1)),"
    "  current_version BIGINT NOT NULL CHECK (current_version >= 0),"
    "  review_by BIGINT NOT NULL,"
    "  created BIGINT NOT NULL,"
    "  updated BIGINT NOT NULL"
    ");"
    "CREATE TABLE state_records ("
    "  state TEXT COLLATE \"C\" NOT NULL REFERENCES states(code),"
    "  version BIGINT NOT NULL CHECK (version > 0),"
    "  body TEXT NOT NULL,"
    "  received BIGINT NOT NULL,"
    "  leaf_index BIGINT NOT NULL CHECK (leaf_index >= 0),"
    "  PRIMARY KEY (state, version)"
    ");"
    "CREATE TABLE keys ("
    "  key_id TEXT COLLATE \"C\" PRIMARY KEY,"
    "  pk BYTEA NOT NULL CHECK (octet_length(pk) = 32),"
    "  role INTEGER NOT NULL CHECK (role IN (0, 1, 2)),"
    "  state TEXT COLLATE \"C\" REFERENCES states(code),"
    "  poc_id TEXT NOT NULL,"
    "  name TEXT NOT NULL"
    ");"
    "CREATE INDEX keys_by_state ON keys(state);"
    "CREATE TABLE nonces ("
    "  key_id TEXT COLLATE \"C\" NOT NULL,"
    "  nonce TEXT COLLATE \"C\" NOT NULL,"
    "  expires BIGINT NOT NULL,"
    "  PRIMARY KEY (key_id, nonce)"
    ");"
    "CREATE INDEX nonces_by_expiry ON nonces(expires);"
    "CREATE TABLE log_leaves ("
    "  idx BIGINT PRIMARY KEY CHECK (idx >= 0),"
    "  hash BYTEA NOT NULL CHECK (octet_length(hash) = 32),"
    "  kind TEXT NOT NULL,"
    "  entry BYTEA NOT NULL,"
    "  created BIGINT NOT NULL"
    ");"
    /* not unique: the same entry may be logged twice */
    "CREATE INDEX log_leaves_by_hash ON log_leaves(hash);"
    "CREATE TABLE log_nodes ("
    "  level INTEGER NOT NULL CHECK (level > 0),"
    "  idx BIGINT NOT NULL CHECK (idx >= 0),"
    "  hash BYTEA NOT NULL CHECK (octet_length(hash) = 32),"
    "  PRIMARY KEY (level, idx)"
    ");"
    "CREATE TABLE checkpoints ("
    "  size BIGINT PRIMARY KEY CHECK (size >= 0),"
    "  note TEXT NOT NULL,"
    "  created BIGINT NOT NULL"
    ");"
    /* holds no rows: every write transaction locks it first */
    "CREATE TABLE write_lock (id INTEGER PRIMARY KEY);",

    /* 2: messages, their recipients, acknowledgements and history.
     * seq is the inbox cursor. Identity values are taken while the write transaction
     * holds write_lock, so they become visible in order: a reader past seq N never
     * misses a later commit below N (a rolled-back insert only leaves a gap). */
    "CREATE TABLE messages ("
    "  seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
    "  id TEXT COLLATE \"C\" NOT NULL UNIQUE,"
    "  kind TEXT NOT NULL,"
    "  priority TEXT NOT NULL,"
    "  tlp TEXT NOT NULL,"
    "  from_state TEXT COLLATE \"C\" NOT NULL,"
    "  from_poc TEXT COLLATE \"C\" NOT NULL,"
    "  case_id TEXT COLLATE \"C\"," /* NULL: none */
    "  in_reply_to TEXT COLLATE \"C\","
    "  created BIGINT NOT NULL,"
    "  received BIGINT NOT NULL,"
    "  ack_deadline BIGINT NOT NULL CHECK (ack_deadline >= 0),"
    "  escalation_level INTEGER NOT NULL CHECK (escalation_level >= 0),"
    "  next_escalation BIGINT NOT NULL CHECK (next_escalation >= 0),"
    "  overdue INTEGER NOT NULL CHECK (overdue IN (0, 1)),"
    "  status INTEGER NOT NULL CHECK (status BETWEEN 0 AND 4),"
    "  envelope_hash BYTEA NOT NULL CHECK (octet_length(envelope_hash) = 32),"
    "  leaf_index BIGINT NOT NULL CHECK (leaf_index >= 0),"
    "  envelope TEXT NOT NULL"
    ");"
    "CREATE INDEX messages_by_case ON messages(case_id, seq);"
    "CREATE INDEX messages_by_sender ON messages(from_state, from_poc, seq);"
    /* the scheduler's query repeats this WHERE so that the index serves it */
    "CREATE INDEX messages_due ON messages(next_escalation, seq) "
    "  WHERE status < 2 AND next_escalation > 0;"
    /* message_seq copies the message's seq: the inbox is one range of this index */
    "CREATE TABLE message_recipients ("
    "  message_id TEXT COLLATE \"C\" NOT NULL REFERENCES messages(id),"
    "  message_seq BIGINT NOT NULL,"
    "  state TEXT COLLATE \"C\" NOT NULL,"
    "  poc TEXT COLLATE \"C\" NOT NULL,"
    "  key_id TEXT NOT NULL,"
    "  delivered BIGINT NOT NULL CHECK (delivered >= 0),"
    "  acked BIGINT NOT NULL CHECK (acked >= 0),"
    "  PRIMARY KEY (message_id, state, poc)"
    ");"
    "CREATE INDEX message_recipients_inbox ON message_recipients(state, poc, message_seq);"
    /* only a recipient acknowledges */
    "CREATE TABLE acks ("
    "  message_id TEXT COLLATE \"C\" NOT NULL,"
    "  state TEXT COLLATE \"C\" NOT NULL,"
    "  poc TEXT COLLATE \"C\" NOT NULL,"
    "  time BIGINT NOT NULL,"
    "  ack TEXT NOT NULL,"
    "  leaf_index BIGINT NOT NULL CHECK (leaf_index >= 0),"
    "  PRIMARY KEY (message_id, state, poc),"
    "  FOREIGN KEY (message_id, state, poc) "
    "    REFERENCES message_recipients(message_id, state, poc)"
    ");"
    "CREATE TABLE message_events ("
    "  seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
    "  message_id TEXT COLLATE \"C\" NOT NULL REFERENCES messages(id),"
    "  event TEXT NOT NULL,"
    "  detail TEXT NOT NULL,"
    "  at BIGINT NOT NULL"
    ");"
    "CREATE INDEX message_events_by_message ON message_events(message_id, seq);",
    /* 3: where the current root key was last replaced by the operator (log index) */
    "ALTER TABLE states ADD COLUMN root_replaced_at BIGINT NOT NULL DEFAULT -1;",
    /* 4: treaty metadata: each message's legal basis (from its signed header) and the
     * clocks the instruments set (preservation, confirmation, production, emergency) */
    "CREATE TABLE message_bases ("
    "  message_id TEXT COLLATE \"C\" PRIMARY KEY REFERENCES messages(id),"
    "  instrument TEXT NOT NULL,"
    "  article TEXT NOT NULL"
    ");"
    "CREATE TABLE clocks ("
    "  message_id TEXT COLLATE \"C\" NOT NULL REFERENCES messages(id),"
    "  name TEXT COLLATE \"C\" NOT NULL,"
    "  case_id TEXT COLLATE \"C\" NOT NULL,"
    "  state TEXT NOT NULL,"
    "  started BIGINT NOT NULL,"
    "  due BIGINT NOT NULL,"
    "  remind_at BIGINT NOT NULL CHECK (remind_at >= 0),"
    "  next_at BIGINT NOT NULL CHECK (next_at >= 0),"
    "  status INTEGER NOT NULL CHECK (status IN (0, 1, 2)),"
    "  settled BIGINT NOT NULL,"
    "  PRIMARY KEY (message_id, name)"
    ");"
    /* the scheduler's query repeats this WHERE so that the index serves it */
    "CREATE INDEX clocks_due ON clocks(next_at) WHERE status = 0;"
    "CREATE INDEX clocks_by_case ON clocks(case_id, started);",
    /* 5: evidence packages, their recipients, ciphertext chunks (with their data: every
     * hub instance reaches them) and custody events */
    "CREATE TABLE evidence ("
    "  id TEXT COLLATE \"C\" PRIMARY KEY,"
    "  from_state TEXT COLLATE \"C\" NOT NULL,"
    "  from_poc TEXT COLLATE \"C\" NOT NULL,"
    "  status INTEGER NOT NULL CHECK (status BETWEEN 0 AND 4),"
    "  ciphertext_size BIGINT NOT NULL CHECK (ciphertext_size >= 0),"
    "  upload_offset BIGINT NOT NULL CHECK (upload_offset BETWEEN 0 AND ciphertext_size),"
    "  retain_until BIGINT NOT NULL,"
    "  created BIGINT NOT NULL,"
    "  updated BIGINT NOT NULL,"
    "  manifest_hash BYTEA NOT NULL CHECK (octet_length(manifest_hash) = 32),"
    "  leaf_index BIGINT NOT NULL CHECK (leaf_index >= 0),"
    "  manifest TEXT NOT NULL"
    ");"
    "CREATE INDEX evidence_by_sender ON evidence(from_state, from_poc, created);"
    "CREATE INDEX evidence_by_retention ON evidence(retain_until) WHERE status < 2;"
    "CREATE TABLE evidence_recipients ("
    "  evidence_id TEXT COLLATE \"C\" NOT NULL REFERENCES evidence(id),"
    "  state TEXT COLLATE \"C\" NOT NULL,"
    "  poc TEXT COLLATE \"C\" NOT NULL,"
    "  key_id TEXT NOT NULL,"
    "  PRIMARY KEY (evidence_id, state, poc)"
    ");"
    "CREATE INDEX evidence_recipients_by_poc ON evidence_recipients(state, poc);"
    "CREATE TABLE evidence_chunks ("
    "  evidence_id TEXT COLLATE \"C\" NOT NULL REFERENCES evidence(id),"
    "  idx BIGINT NOT NULL CHECK (idx >= 0),"
    "  hash BYTEA NOT NULL CHECK (octet_length(hash) = 32),"
    "  data BYTEA,"
    "  PRIMARY KEY (evidence_id, idx)"
    ");"
    /* ciphertext does not compress: store it out of line without trying */
    "ALTER TABLE evidence_chunks ALTER COLUMN data SET STORAGE EXTERNAL;"
    "CREATE TABLE evidence_custody ("
    "  seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
    "  evidence_id TEXT COLLATE \"C\" NOT NULL REFERENCES evidence(id),"
    "  event TEXT NOT NULL,"
    "  at BIGINT NOT NULL,"
    "  leaf_index BIGINT NOT NULL CHECK (leaf_index >= 0),"
    "  body TEXT NOT NULL"
    ");"
    "CREATE INDEX evidence_custody_by_evidence ON evidence_custody(evidence_id, seq);",
    /* 6: nonces of every signed request (reads too), claimed when its head is checked,
     * so that several parleyd on one database refuse a request replayed to another */
    "CREATE TABLE IF NOT EXISTS request_nonces ("
    "  key_id TEXT COLLATE \"C\" NOT NULL,"
    "  nonce TEXT COLLATE \"C\" NOT NULL,"
    "  expires BIGINT NOT NULL,"
    "  PRIMARY KEY (key_id, nonce)"
    ");"
    "CREATE INDEX IF NOT EXISTS request_nonces_by_expiry ON request_nonces(expires);",
};
_Static_assert(sizeof migrations / sizeof migrations[0] == PARLEY_STORE_SCHEMA_VERSION,
               "one migration step per schema version");

/* ---- statements ------------------------------------------------------------------- */

/* The shared statements (columns.h); savepoints and transactions are sent as text. */
enum { PARLEY_STORE_STATEMENTS(PARLEY_STATEMENT_ID) Q__COUNT };

#define RCPT_SET_TIMES                                                                             \
  "delivered = " EARLIEST("delivered", "$4") ", acked = " EARLIEST("acked", "$5")

/* Parameter types, one letter each: t text, b bytea, i integer, I bigint. */
static const struct {
  const char *sql;
  const char *types;
} stmts[Q__COUNT] = {
    [Q_STATE_INSERT] = {"INSERT INTO states (" STATE_COLS ") VALUES ($1, $2, $3, $4, $5, $6, "
                        "$7, $8, $9, $10) ON CONFLICT (code) DO NOTHING",
                        "tttbiIIIII"},
    [Q_STATE_GET] = {"SELECT " STATE_COLS " FROM states WHERE code = $1", "t"},
    [Q_STATE_UPDATE] = {"UPDATE states SET name = $2, region = $3, root_pk = $4, status = $5, "
                        "current_version = $6, review_by = $7, updated = $8, root_replaced_at = $9 "
                        "WHERE code = $1",
                        "tttbiIIII"},
    [Q_STATE_LIST] = {"SELECT " STATE_COLS " FROM states ORDER BY code", ""},
    [Q_RECORD_INSERT] = {"INSERT INTO state_records (" RECORD_COLS ") VALUES ($1, $2, $3, $4, "
                         "$5) ON CONFLICT (state, version) DO NOTHING",
                         "tItII"},
    [Q_RECORD_GET] = {"SELECT " RECORD_COLS " FROM state_records WHERE state = $1 AND "
                      "version = $2",
                      "tI"},
    [Q_RECORD_GET_LATEST] = {"SELECT " RECORD_COLS " FROM state_records WHERE state = $1 "
                             "ORDER BY version DESC LIMIT 1",
                             "t"},
    [Q_KEY_PUT] = {"INSERT INTO keys (" KEY_COLS ") VALUES ($1, $2, $3, $4, $5, $6) "
                   "ON CONFLICT (key_id) DO UPDATE SET pk = excluded.pk, role = excluded.role, "
                   "state = excluded.state, poc_id = excluded.poc_id, name = excluded.name",
                   "tbittt"},
    [Q_KEY_GET] = {"SELECT " KEY_COLS " FROM keys WHERE key_id = $1", "t"},
    [Q_KEY_DELETE] = {"DELETE FROM keys WHERE key_id = $1", "t"},
    [Q_OPERATORS_DELETE] = {"DELETE FROM keys WHERE role = 0", ""},
    [Q_OFFICERS_DELETE] = {"DELETE FROM keys WHERE state = $1 AND role = 2", "t"},
    [Q_OFFICER_INSERT] = {"INSERT INTO keys (" KEY_COLS ") VALUES ($1, $2, $3, $4, $5, $6) "
                          "ON CONFLICT (key_id) DO NOTHING",
                          "tbittt"},
    [Q_NONCE_INSERT] = {"INSERT INTO nonces (key_id, nonce, expires) VALUES ($1, $2, $3) "
                        "ON CONFLICT (key_id, nonce) DO NOTHING",
                        "ttI"},
    [Q_NONCE_PURGE] = {"WITH r AS (DELETE FROM request_nonces WHERE expires <= $1) "
                       "DELETE FROM nonces WHERE expires <= $1",
                       "I"},
    [Q_LEAF_APPEND] = {"INSERT INTO log_leaves (idx, hash, kind, entry, created) "
                       "SELECT coalesce(max(idx) + 1, 0), $1, $2, $3, $4 FROM log_leaves "
                       "RETURNING idx",
                       "btbI"},
    [Q_LOG_SIZE] = {"SELECT coalesce(max(idx) + 1, 0) FROM log_leaves", ""},
    [Q_NODE_PUT] = {"INSERT INTO log_nodes (level, idx, hash) VALUES ($1, $2, $3) "
                    "ON CONFLICT (level, idx) DO UPDATE SET hash = excluded.hash",
                    "iIb"},
    [Q_NODE_GET] = {"SELECT hash FROM log_nodes WHERE level = $1 AND idx = $2", "iI"},
    [Q_LEAF_HASH] = {"SELECT hash FROM log_leaves WHERE idx = $1", "I"},
    [Q_LEAF_ENTRY] = {"SELECT entry FROM log_leaves WHERE idx = $1", "I"},
    [Q_LEAF_FIND] = {"SELECT idx FROM log_leaves WHERE hash = $1 ORDER BY idx LIMIT 1", "b"},
    [Q_CHECKPOINT_PUT] = {"INSERT INTO checkpoints (" CHECKPOINT_COLS ") VALUES ($1, $2, $3) "
                          "ON CONFLICT (size) DO UPDATE SET note = excluded.note, "
                          "created = excluded.created",
                          "ItI"},
    [Q_CHECKPOINT_GET] = {"SELECT " CHECKPOINT_COLS " FROM checkpoints WHERE size = $1", "I"},
    [Q_CHECKPOINT_LATEST] = {"SELECT " CHECKPOINT_COLS " FROM checkpoints "
                             "ORDER BY size DESC LIMIT 1",
                             ""},
    /* a replayed id inserts nothing and returns no row */
    [Q_MESSAGE_INSERT] = {"INSERT INTO messages (" MSG_INSERT_COLS ") VALUES ($1, $2, $3, $4, $5, "
                          "$6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18) "
                          "ON CONFLICT (id) DO NOTHING RETURNING seq",
                          "ttttttttIIIiIiibIt"},
    [Q_RECIPIENT_INSERT] = {"INSERT INTO message_recipients (message_id, message_seq, state, poc, "
                            "key_id, delivered, acked) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                            "tItttII"},
    [Q_MESSAGE_GET] = {"SELECT " MSG_COLS_ENVELOPE " FROM messages WHERE id = $1", "t"},
    [Q_MESSAGE_UPDATE] = {"UPDATE messages SET status = $2, overdue = $3, escalation_level = $4, "
                          "next_escalation = $5, ack_deadline = $6 WHERE id = $1",
                          "tiiiII"},
    [Q_RECIPIENTS_GET] = {"SELECT " RCPT_COLS " FROM message_recipients WHERE message_id = $1 "
                          "ORDER BY state, poc",
                          "t"},
    [Q_RECIPIENT_UPDATE] = {"UPDATE message_recipients SET " RCPT_SET_TIMES " WHERE "
                            "message_id = $1 AND state = $2 AND poc = $3",
                            "tttII"},
    [Q_INBOX] = {"SELECT " MSG_COLS_M " FROM message_recipients r JOIN messages m ON "
                 "m.seq = r.message_seq WHERE r.state = $1 AND r.poc = $2 AND r.message_seq > $3 "
                 "ORDER BY r.message_seq LIMIT $4",
                 "ttII"},
    [Q_OUTBOX] = {"SELECT " MSG_COLS " FROM messages WHERE from_state = $1 AND from_poc = $2 "
                  "AND seq > $3 ORDER BY seq LIMIT $4",
                  "ttII"},
    /* a case is named by the id of the message that opened it */
    [Q_CASE_MESSAGES] = {"SELECT " MSG_COLS
                         " FROM messages WHERE case_id = $1 OR id = $1 ORDER BY seq",
                         "t"},
    [Q_DUE_MESSAGES] = {"SELECT " MSG_COLS " FROM messages WHERE status < 2 AND "
                        "next_escalation > 0 AND next_escalation <= $1 "
                        "ORDER BY next_escalation, seq LIMIT $2",
                        "II"},
    [Q_CASES_LATEST] = {"SELECT " MSG_COLS " FROM messages WHERE seq IN (SELECT MAX(seq) FROM "
                        "messages WHERE from_state = $1 AND from_poc = $2 AND kind = $3 AND "
                        "case_id IS NOT NULL GROUP BY case_id) ORDER BY seq",
                        "ttt"},
    [Q_BASIS_PUT] = {"INSERT INTO message_bases (message_id, instrument, article) "
                     "VALUES ($1, $2, $3)",
                     "ttt"},
    [Q_STATS_MESSAGES] = {"SELECT " MSG_COLS_M ", b.instrument, b.article FROM messages m "
                          "LEFT JOIN message_bases b ON b.message_id = m.id WHERE m.seq > $1 "
                          "ORDER BY m.seq LIMIT $2",
                          "II"},
    [Q_CLOCK_PUT] = {"INSERT INTO clocks (" CLOCK_COLS ") VALUES ($1, $2, $3, $4, $5, $6, $7, "
                     "$8, $9, $10) ON CONFLICT (message_id, name) DO UPDATE SET "
                     "case_id = excluded.case_id, state = excluded.state, "
                     "started = excluded.started, due = excluded.due, "
                     "remind_at = excluded.remind_at, next_at = excluded.next_at, "
                     "status = excluded.status, settled = excluded.settled",
                     "ttttIIIIiI"},
    [Q_CLOCKS_DUE] = {"SELECT " CLOCK_COLS " FROM clocks WHERE status = 0 AND next_at > 0 AND "
                      "next_at <= $1 ORDER BY next_at, message_id, name LIMIT $2",
                      "II"},
    [Q_CLOCKS_OF_CASE] = {"SELECT " CLOCK_COLS " FROM clocks WHERE case_id = $1 "
                          "ORDER BY started, message_id, name",
                          "t"},
    [Q_ACK_INSERT] = {"INSERT INTO acks (" ACK_COLS ") VALUES ($1, $2, $3, $4, $5, $6) "
                      "ON CONFLICT (message_id, state, poc) DO NOTHING",
                      "tttItI"},
    [Q_ACKS_GET] = {"SELECT " ACK_COLS " FROM acks WHERE message_id = $1 "
                    "ORDER BY time, state, poc",
                    "t"},
    [Q_EVENT_INSERT] = {"INSERT INTO message_events (message_id, event, detail, at) "
                        "VALUES ($1, $2, $3, $4)",
                        "tttI"},
    [Q_EVENTS_GET] = {"SELECT " EVENT_COLS " FROM message_events WHERE message_id = $1 "
                      "ORDER BY seq",
                      "t"},
    [Q_EVIDENCE_INSERT] = {"INSERT INTO evidence (" EVIDENCE_COLS ", manifest) VALUES ($1, $2, "
                           "$3, $4, $5, $6, $7, $8, $9, $10, $11, $12) ON CONFLICT (id) DO NOTHING",
                           "tttiIIIIIbIt"},
    [Q_EVIDENCE_RCPT_INSERT] = {"INSERT INTO evidence_recipients (" EVIDENCE_RCPT_COLS ") "
                                "VALUES ($1, $2, $3, $4)",
                                "tttt"},
    [Q_EVIDENCE_RCPT_INSERT_NEW] = {"INSERT INTO evidence_recipients (" EVIDENCE_RCPT_COLS ") "
                                    "VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
                                    "tttt"},
    [Q_EVIDENCE_GET] = {"SELECT " EVIDENCE_COLS_MANIFEST " FROM evidence WHERE id = $1", "t"},
    [Q_EVIDENCE_UPDATE] = {"UPDATE evidence SET status = $2, upload_offset = $3, updated = $4 "
                           "WHERE id = $1",
                           "tiII"},
    [Q_EVIDENCE_LIST] = {"SELECT " EVIDENCE_COLS " FROM evidence WHERE (from_state = $1 AND "
                         "from_poc = $2) OR id IN (SELECT evidence_id FROM evidence_recipients "
                         "WHERE state = $1 AND poc = $2) ORDER BY created, id LIMIT 1000",
                         "tt"},
    [Q_EVIDENCE_RCPTS_GET] = {"SELECT " EVIDENCE_RCPT_COLS " FROM evidence_recipients WHERE "
                              "evidence_id = $1 ORDER BY state, poc",
                              "t"},
    [Q_EVIDENCE_CHUNK_PUT] = {"INSERT INTO evidence_chunks (evidence_id, idx, hash, data) VALUES "
                              "($1, $2, $3, $4) ON CONFLICT (evidence_id, idx) DO UPDATE SET "
                              "hash = excluded.hash, data = excluded.data",
                              "tIbb"},
    [Q_EVIDENCE_CHUNK_GET] = {"SELECT hash, data FROM evidence_chunks WHERE evidence_id = $1 "
                              "AND idx = $2",
                              "tI"},
    [Q_EVIDENCE_CHUNK_HASHES] = {"SELECT idx, hash FROM evidence_chunks WHERE evidence_id = $1 "
                                 "AND idx >= $2 ORDER BY idx LIMIT $3",
                                 "tII"},
    [Q_EVIDENCE_CHUNKS_DELETE] = {"DELETE FROM evidence_chunks WHERE evidence_id = $1", "t"},
    [Q_EVIDENCE_USAGE] = {"SELECT coalesce(sum(ciphertext_size), 0)::bigint, "
                          "count(*) FILTER (WHERE status = 0) FROM evidence "
                          "WHERE from_state = $1 AND status < 2",
                          "t"},
    [Q_EVIDENCE_EXPIRED] = {"SELECT " EVIDENCE_COLS " FROM evidence WHERE status < 2 AND "
                            "retain_until <= $1 ORDER BY retain_until, id LIMIT $2",
                            "II"},
    [Q_CUSTODY_INSERT] = {"INSERT INTO evidence_custody (evidence_id, event, at, leaf_index, "
                          "body) VALUES ($1, $2, $3, $4, $5) RETURNING seq",
                          "ttIIt"},
    [Q_CUSTODY_LIST] = {"SELECT " CUSTODY_COLS " FROM evidence_custody WHERE evidence_id = $1 "
                        "ORDER BY seq",
                        "t"},
};

/* ---- connections and pool ------------------------------------------------------ */

typedef struct pg_conn {
  PGconn *pg;
  bool prepared[Q__COUNT];
  bool broken;      /* drop instead of pooling */
  char sqlstate[6]; /* of the last failed statement */
  struct pg_conn *next;
} pg_conn;

typedef struct {
  char *url; /* may hold a password: wiped on close, never logged */
  pthread_mutex_t mu;
  pthread_cond_t cv;
  pg_conn *idle;
  unsigned total;
  /* Sessions of their own, each used by one thread (see "several processes"). */
  pg_conn *leader; /* holds the leadership lock while `leading` */
  bool leading;
  pg_conn *listener; /* LISTENs for wake-ups */
} pg_backend;

static void quiet_notices(void *arg, const char *message) {
  (void)arg;
  (void)message; /* NOTICEs of IF NOT EXISTS and the like: nothing to act on */
}

/* libpq's messages end in a newline; the log line must not. */
static const char *one_line(const char *msg, char *buf, size_t cap) {
  parley_strlcpy(buf, msg ? msg : "", cap);
  for (char *p = buf; *p; p++)
    if (*p == '\n' || *p == '\r') *p = ' ';
  size_t n = strlen(buf);
  while (n > 0 && buf[n - 1] == ' ')
    buf[--n] = '\0';
  return buf;
}

static void pg_conn_free(pg_conn *c) {
  if (!c) return;
  PQfinish(c->pg);
  free(c);
}

static pg_conn *pg_connect(const char *url, parley_error *err) {
  pg_conn *c = calloc(1, sizeof *c);
  if (!c) {
    parley_fail(err, PARLEY_E_NO_MEMORY, "postgres connection");
    return NULL;
  }
  /* defaults first: what the URL says overrides them */
  /* TCP keep-alives: a server or host that vanished (failover) is noticed in ~11 s */
  const char *const keys[] = {"connect_timeout",
                              "application_name",
                              "keepalives_idle",
                              "keepalives_interval",
                              "keepalives_count",
                              "dbname",
                              NULL};
  const char *const vals[] = {"10", "parley", "5", "2", "3", url, NULL};
  c->pg = PQconnectdbParams(keys, vals, 1);
  char line[256];
  if (!c->pg || PQstatus(c->pg) != CONNECTION_OK) {
    parley_fail(err, PARLEY_E_STORE_OPEN, "postgres: %s",
                one_line(c->pg ? PQerrorMessage(c->pg) : "out of memory", line, sizeof line));
    pg_conn_free(c);
    return NULL;
  }
  PQsetNoticeProcessor(c->pg, quiet_notices, NULL);
  PGresult *r = NULL;
  if (PQsetClientEncoding(c->pg, "UTF8") == 0) r = PQexec(c->pg, "SET lock_timeout = '10s'");
  if (!r || PQresultStatus(r) != PGRES_COMMAND_OK) {
    parley_fail(err, PARLEY_E_STORE_OPEN, "postgres: session setup: %s",
                one_line(PQerrorMessage(c->pg), line, sizeof line));
    PQclear(r);
    pg_conn_free(c);
    return NULL;
  }
  PQclear(r);
  return c;
}

static pg_conn *pool_get(pg_backend *b) {
  pthread_mutex_lock(&b->mu);
  while (!b->idle && b->total >= PARLEY_STORE_MAX_CONNS)
    pthread_cond_wait(&b->cv, &b->mu);
  pg_conn *c = b->idle;
  if (c) {
    b->idle = c->next;
    c->next = NULL;
    pthread_mutex_unlock(&b->mu);
    return c;
  }
  b->total++;
  pthread_mutex_unlock(&b->mu);
  parley_error err;
  c = pg_connect(b->url, &err);
  if (!c) {
    parley_log(PARLEY_LOG_ERROR, "store.postgres_connect", "error=\"%s\"", err.detail);
    pthread_mutex_lock(&b->mu);
    b->total--;
    pthread_cond_signal(&b->cv);
    pthread_mutex_unlock(&b->mu);
  }
  return c;
}

/* A connection that broke, or is left inside a transaction, is closed, not pooled. */
static void pool_put(pg_backend *b, pg_conn *c) {
  bool drop =
      c->broken || PQstatus(c->pg) != CONNECTION_OK || PQtransactionStatus(c->pg) != PQTRANS_IDLE;
  pthread_mutex_lock(&b->mu);
  if (drop) {
    b->total--;
  } else {
    c->next = b->idle;
    b->idle = c;
  }
  pthread_cond_signal(&b->cv);
  pthread_mutex_unlock(&b->mu);
  if (drop) pg_conn_free(c);
}

/* ---- errors ------------------------------------------------------------------------- */

static parley_qs pg_fail(pg_conn *c, const PGresult *r, const char *op) {
  const char *st = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
  parley_strlcpy(c->sqlstate, st ? st : "", sizeof c->sqlstate);
  char line[256];
  if (PQstatus(c->pg) != CONNECTION_OK) {
    /* nothing was committed: a fresh connection may succeed */
    c->broken = true;
    parley_log(PARLEY_LOG_WARN, "store.postgres_connection_lost", "op=%s error=\"%s\"", op,
               one_line(PQerrorMessage(c->pg), line, sizeof line));
    return PARLEY_QS_RETRY;
  }
  if (st && (strcmp(st, "40001") == 0 || strcmp(st, "40P01") == 0 || strcmp(st, "55P03") == 0)) {
    parley_log(PARLEY_LOG_DEBUG, "store.postgres_conflict", "op=%s sqlstate=%s", op, st);
    return PARLEY_QS_RETRY;
  }
  /* the primary message names constraints and tables; DETAIL would show values */
  const char *msg = r ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) : NULL;
  parley_log(PARLEY_LOG_ERROR, "store.postgres", "op=%s sqlstate=%s error=\"%s\"", op,
             st ? st : "-", one_line(msg ? msg : PQerrorMessage(c->pg), line, sizeof line));
  return PARLEY_QS_HARD;
}

/* Runs a statement without parameters or results (transaction control, migrations). */
static parley_qs pg_simple(pg_conn *c, const char *text, const char *op) {
  PGresult *r = PQexec(c->pg, text);
  ExecStatusType st = PQresultStatus(r);
  parley_qs qs = PARLEY_QS_ONE;
  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) qs = pg_fail(c, r, op);
  PQclear(r);
  return qs;
}

/* ---- parameters and results --------------------------------------------------------- */

#define MAX_PARAMS 18
_Static_assert(MSG_INSERT_NPARAMS <= MAX_PARAMS, "a message insert binds one parameter a column");

typedef struct {
  int n;
  const char *val[MAX_PARAMS];
  int len[MAX_PARAMS];
  int fmt[MAX_PARAMS];
  unsigned char num[MAX_PARAMS][8];
} pg_params;

static void p_raw(pg_params *p, const void *v, size_t n) {
  if (p->n >= MAX_PARAMS) return; /* caught by the count check in pg_exec */
  /* a NULL pointer would be SQL NULL; empty values need a real one */
  p->val[p->n] = v ? (n ? v : "") : NULL;
  p->len[p->n] = (int)n; /* n is bounded by PARLEY_STORE_MAX_BLOB */
  p->fmt[p->n] = 1;
  p->n++;
}

static void p_text(pg_params *p, const char *s) {
  p_raw(p, s, strlen(s));
}

static void p_text_or_null(pg_params *p, const char *s) {
  p_raw(p, s[0] ? s : NULL, strlen(s));
}

static void p_int(pg_params *p, uint64_t v, int bytes) {
  if (p->n >= MAX_PARAMS) {
    p->n++;
    return;
  }
  unsigned char *d = p->num[p->n];
  for (int i = 0; i < bytes; i++)
    d[i] = (unsigned char)(v >> (8 * (bytes - 1 - i)));
  p_raw(p, d, (size_t)bytes);
}

static void p_i64(pg_params *p, int64_t v) {
  p_int(p, (uint64_t)v, 8);
}

static void p_i32(pg_params *p, int32_t v) {
  p_int(p, (uint64_t)(uint32_t)v, 4);
}

static Oid type_oid(char t) {
  switch (t) {
  case 't':
    return OID_TEXT;
  case 'b':
    return OID_BYTEA;
  case 'i':
    return OID_INT4;
  default:
    return OID_INT8;
  }
}

/* Prepares (once per connection) and runs statement q. On ONE the caller owns the
 * result; otherwise there is none. */
static PGresult *pg_exec(pg_conn *c, int q, const pg_params *p, const char *op, parley_qs *qs) {
  int n = p ? p->n : 0;
  size_t want = strlen(stmts[q].types);
  if ((size_t)n != want || n > MAX_PARAMS) {
    parley_log(PARLEY_LOG_ERROR, "store.postgres", "op=%s error=\"%d parameters, want %zu\"", op, n,
               want);
    *qs = PARLEY_QS_HARD;
    return NULL;
  }
  char name[16];
  snprintf(name, sizeof name, "parley_%d", q);
  if (!c->prepared[q]) {
    Oid types[MAX_PARAMS];
    for (int i = 0; i < n; i++)
      types[i] = type_oid(stmts[q].types[i]);
    PGresult *r = PQprepare(c->pg, name, stmts[q].sql, n, types);
    if (PQresultStatus(r) != PGRES_COMMAND_OK) {
      *qs = pg_fail(c, r, op);
      PQclear(r);
      return NULL;
    }
    PQclear(r);
    c->prepared[q] = true; /* prepared statements outlive transactions */
  }
  PGresult *r =
      PQexecPrepared(c->pg, name, n, p ? p->val : NULL, p ? p->len : NULL, p ? p->fmt : NULL, 1);
  ExecStatusType st = PQresultStatus(r);
  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
    *qs = pg_fail(c, r, op);
    PQclear(r);
    return NULL;
  }
  *qs = PARLEY_QS_ONE;
  return r;
}

/* Runs a statement that returns no rows: ONE if it changed a row, NONE if not. */
static parley_qs pg_change(pg_conn *c, int q, const pg_params *p, const char *op) {
  parley_qs qs;
  PGresult *r = pg_exec(c, q, p, op, &qs);
  if (!r) return qs;
  const char *tuples = PQcmdTuples(r);
  qs = tuples[0] && strcmp(tuples, "0") != 0 ? PARLEY_QS_ONE : PARLEY_QS_NONE;
  PQclear(r);
  return qs;
}

static bool r_i64(const PGresult *r, int row, int col, int64_t *out) {
  if (PQgetisnull(r, row, col)) return false;
  int len = PQgetlength(r, row, col);
  Oid t = PQftype(r, col);
  int want = t == OID_INT8 ? 8 : t == OID_INT4 ? 4 : t == OID_INT2 ? 2 : -1;
  if (len != want) return false;
  const unsigned char *v = (const unsigned char *)PQgetvalue(r, row, col);
  uint64_t u = (v[0] & 0x80) ? UINT64_MAX : 0; /* sign extension */
  for (int i = 0; i < len; i++)
    u = (u << 8) | v[i];
  *out = (int64_t)u;
  return true;
}

static bool r_text(const PGresult *r, int row, int col, char *dst, size_t cap) {
  if (PQgetisnull(r, row, col)) {
    dst[0] = '\0';
    return true;
  }
  int len = PQgetlength(r, row, col);
  return len >= 0 && parley_store_copy_text(dst, cap, PQgetvalue(r, row, col), (size_t)len);
}

static bool r_hash(const PGresult *r, int row, int col, uint8_t out[32]) {
  if (PQgetisnull(r, row, col) || PQgetlength(r, row, col) != 32) return false;
  memcpy(out, PQgetvalue(r, row, col), 32);
  return true;
}

static bool r_dup(const PGresult *r, int row, int col, char **out, size_t *len) {
  if (PQgetisnull(r, row, col)) return false;
  int n = PQgetlength(r, row, col);
  if (n < 0) return false;
  char *d = malloc((size_t)n + 1);
  if (!d) return false;
  memcpy(d, PQgetvalue(r, row, col), (size_t)n);
  d[n] = '\0';
  *out = d;
  *len = (size_t)n;
  return true;
}

static parley_qs corrupt(const char *op) {
  parley_log(PARLEY_LOG_ERROR, "store.corrupt_row", "engine=postgres op=%s", op);
  return PARLEY_QS_HARD;
}

/* A query that returns at most one row: ONE with the result, NONE, or a failure. */
static PGresult *pg_row(pg_conn *c, int q, const pg_params *p, const char *op, parley_qs *qs) {
  PGresult *r = pg_exec(c, q, p, op, qs);
  if (r && PQntuples(r) == 0) {
    PQclear(r);
    *qs = PARLEY_QS_NONE;
    return NULL;
  }
  return r;
}

/* ---- migrations --------------------------------------------------------------------- */

static parley_err read_version(pg_conn *c, int *version, parley_error *err) {
  PGresult *r = PQexec(c->pg, "SELECT version FROM schema_version WHERE id = 1");
  uint64_t v = 0;
  bool ok = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1 &&
            parley_parse_u64(PQgetvalue(r, 0, 0), &v);
  PQclear(r);
  if (!ok) return parley_fail(err, PARLEY_E_STORE_OPEN, "postgres: cannot read the schema version");
  if (v > 1000000)
    return parley_fail(err, PARLEY_E_STORE_SCHEMA, "schema version %llu is invalid",
                       (unsigned long long)v);
  *version = (int)v;
  return PARLEY_E_OK;
}

static parley_err migrate_locked(pg_conn *c, int *schema, parley_error *err) {
  if (pg_simple(c,
                "CREATE TABLE IF NOT EXISTS schema_version ("
                "  id INTEGER PRIMARY KEY CHECK (id = 1), version INTEGER NOT NULL);"
                "INSERT INTO schema_version (id, version) VALUES (1, 0)"
                "  ON CONFLICT (id) DO NOTHING",
                "migrate") != PARLEY_QS_ONE)
    return parley_fail(err, PARLEY_E_STORE_OPEN, "postgres: cannot create schema_version");
  for (;;) {
    int v = 0;
    parley_err e = read_version(c, &v, err);
    if (e != PARLEY_E_OK) return e;
    if (v > PARLEY_STORE_SCHEMA_VERSION)
      return parley_fail(err, PARLEY_E_STORE_SCHEMA,
                         "the store is at schema version %d; this program knows up to %d", v,
                         PARLEY_STORE_SCHEMA_VERSION);
    if (v == PARLEY_STORE_SCHEMA_VERSION) {
      *schema = v;
      return PARLEY_E_OK;
    }
    parley_qs qs = pg_simple(c, "BEGIN", "migrate");
    if (qs == PARLEY_QS_ONE) qs = pg_simple(c, migrations[v], "migrate");
    if (qs == PARLEY_QS_ONE) {
      char next[16];
      snprintf(next, sizeof next, "%d", v + 1);
      const char *vals[1] = {next};
      PGresult *r = PQexecParams(c->pg, "UPDATE schema_version SET version = $1::integer", 1, NULL,
                                 vals, NULL, NULL, 0);
      if (PQresultStatus(r) != PGRES_COMMAND_OK) qs = pg_fail(c, r, "migrate");
      PQclear(r);
    }
    if (qs == PARLEY_QS_ONE) qs = pg_simple(c, "COMMIT", "migrate");
    if (qs != PARLEY_QS_ONE) {
      if (PQtransactionStatus(c->pg) != PQTRANS_IDLE) pg_simple(c, "ROLLBACK", "migrate");
      return parley_fail(err, PARLEY_E_STORE_OPEN, "postgres: migration to version %d failed",
                         v + 1);
    }
    parley_log(PARLEY_LOG_INFO, "store.migrated", "engine=postgres version=%d", v + 1);
  }
}

/* A session advisory lock keeps two processes from migrating at once. */
static parley_err migrate(pg_conn *c, int *schema, parley_error *err) {
  if (pg_simple(c, "SELECT pg_advisory_lock(" MIGRATION_LOCK_KEY ")", "migrate") != PARLEY_QS_ONE)
    return parley_fail(err, PARLEY_E_STORE_OPEN, "postgres: cannot lock for migration");
  parley_err e = migrate_locked(c, schema, err);
  if (pg_simple(c, "SELECT pg_advisory_unlock(" MIGRATION_LOCK_KEY ")", "migrate") != PARLEY_QS_ONE)
    c->broken = true; /* drop the session, and its lock with it */
  return e;
}

/* ---- open and close -------------------------------------------------------------------- */

static void pg_close(void *backend) {
  pg_backend *b = backend;
  if (!b) return;
  pg_conn_free(b->leader);
  pg_conn_free(b->listener);
  while (b->idle) {
    pg_conn *c = b->idle;
    b->idle = c->next;
    pg_conn_free(c);
  }
  pthread_cond_destroy(&b->cv);
  pthread_mutex_destroy(&b->mu);
  if (b->url) {
    sodium_memzero(b->url, strlen(b->url));
    free(b->url);
  }
  free(b);
}

static parley_err pg_open(const char *url, void **backend, int *schema, parley_error *err) {
  /* refuse a malformed URL before connecting; libpq's message names the problem, and
   * never the password */
  char *msg = NULL;
  PQconninfoOption *opts = PQconninfoParse(url, &msg);
  if (!opts) {
    char line[256];
    parley_fail(err, PARLEY_E_STORE_URL, "postgres: %s",
                one_line(msg ? msg : "invalid URL", line, sizeof line));
    PQfreemem(msg);
    return PARLEY_E_STORE_URL;
  }
  PQconninfoFree(opts);

  pg_backend *b = calloc(1, sizeof *b);
  if (!b) return parley_fail(err, PARLEY_E_NO_MEMORY, "postgres backend");
  b->url = strdup(url);
  if (!b->url || pthread_mutex_init(&b->mu, NULL) != 0) {
    free(b->url);
    free(b);
    return parley_fail(err, PARLEY_E_NO_MEMORY, "postgres backend");
  }
  if (pthread_cond_init(&b->cv, NULL) != 0) {
    pthread_mutex_destroy(&b->mu);
    sodium_memzero(b->url, strlen(b->url));
    free(b->url);
    free(b);
    return parley_fail(err, PARLEY_E_NO_MEMORY, "postgres backend");
  }
  pg_conn *c = pg_connect(b->url, err);
  if (!c) {
    pg_close(b);
    return err ? err->code : PARLEY_E_STORE_OPEN;
  }
  parley_err e = migrate(c, schema, err);
  if (e != PARLEY_E_OK) {
    pg_conn_free(c);
    pg_close(b);
    return e;
  }
  b->total = 1;
  pool_put(b, c);
  *backend = b;
  return PARLEY_E_OK;
}

/* ---- transactions ---------------------------------------------------------------------- */

static parley_qs pg_begin(void *backend, bool write, void **conn) {
  pg_backend *b = backend;
  pg_conn *c = pool_get(b);
  if (!c) return PARLEY_QS_RETRY; /* the server may be restarting; the runner bounds this */
  /* LOCK TABLE takes no snapshot, so the snapshot follows the lock (see the top) */
  parley_qs qs = pg_simple(c,
                           write ? "START TRANSACTION ISOLATION LEVEL SERIALIZABLE, READ WRITE;"
                                   "LOCK TABLE write_lock IN EXCLUSIVE MODE"
                                 : "START TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY",
                           "begin");
  if (qs != PARLEY_QS_ONE) {
    if (PQstatus(c->pg) == CONNECTION_OK && PQtransactionStatus(c->pg) != PQTRANS_IDLE)
      pg_simple(c, "ROLLBACK", "begin");
    pool_put(b, c);
    return qs;
  }
  *conn = c;
  return PARLEY_QS_ONE;
}

static void pg_rollback(void *backend, void *conn) {
  pg_conn *c = conn;
  if (PQstatus(c->pg) == CONNECTION_OK && PQtransactionStatus(c->pg) != PQTRANS_IDLE)
    pg_simple(c, "ROLLBACK", "rollback");
  pool_put(backend, c);
}

static parley_qs pg_commit(void *backend, void *conn) {
  pg_conn *c = conn;
  if (PQtransactionStatus(c->pg) != PQTRANS_INTRANS) {
    /* a failed statement aborted the transaction: COMMIT would only roll it back */
    pg_rollback(backend, conn);
    return PARLEY_QS_HARD;
  }
  PGresult *r = PQexec(c->pg, "COMMIT");
  parley_qs qs = PARLEY_QS_ONE;
  if (PQresultStatus(r) != PGRES_COMMAND_OK || strcmp(PQcmdStatus(r), "COMMIT") != 0) {
    bool lost = PQstatus(c->pg) != CONNECTION_OK;
    qs = pg_fail(c, r, "commit");
    /* a connection lost during COMMIT leaves the outcome unknown: never run again */
    if (lost) {
      parley_log(PARLEY_LOG_ERROR, "store.postgres_commit_unknown", "op=commit");
      qs = PARLEY_QS_HARD;
    }
  }
  PQclear(r);
  if (qs != PARLEY_QS_ONE) {
    pg_rollback(backend, conn);
    return qs;
  }
  pool_put(backend, c);
  return PARLEY_QS_ONE;
}

static parley_qs pg_savepoint(void *conn, parley_savepoint_op op) {
  pg_conn *c = conn;
  switch (op) {
  case PARLEY_SAVEPOINT_MARK:
    return pg_simple(c, "SAVEPOINT item", "savepoint");
  case PARLEY_SAVEPOINT_KEEP:
    return pg_simple(c, "RELEASE SAVEPOINT item", "release");
  case PARLEY_SAVEPOINT_UNDO:
    /* also leaves the aborted state a failed statement put the transaction in */
    return pg_simple(c, "ROLLBACK TO SAVEPOINT item; RELEASE SAVEPOINT item", "rollback_to");
  }
  return PARLEY_QS_HARD;
}

/* ---- states ------------------------------------------------------------------------------ */

static void bind_state(pg_params *p, const parley_state_row *r, bool with_created) {
  p_text(p, r->code);
  p_text(p, r->name);
  p_text(p, r->region);
  p_raw(p, r->root_pk, 32);
  p_i32(p, (int32_t)r->status);
  p_i64(p, r->current_version);
  p_i64(p, r->review_by);
  if (with_created) p_i64(p, r->created);
  p_i64(p, r->updated);
  p_i64(p, r->root_replaced_at);
}

static bool read_state(const PGresult *r, int row, parley_state_row *o) {
  memset(o, 0, sizeof *o);
  int64_t status = -1;
  if (!r_text(r, row, STATE_COL_code, o->code, sizeof o->code) ||
      !r_text(r, row, STATE_COL_name, o->name, sizeof o->name) ||
      !r_text(r, row, STATE_COL_region, o->region, sizeof o->region) ||
      !r_hash(r, row, STATE_COL_root_pk, o->root_pk) || !r_i64(r, row, STATE_COL_status, &status) ||
      !r_i64(r, row, STATE_COL_current_version, &o->current_version) ||
      !r_i64(r, row, STATE_COL_review_by, &o->review_by) ||
      !r_i64(r, row, STATE_COL_created, &o->created) ||
      !r_i64(r, row, STATE_COL_updated, &o->updated) ||
      !r_i64(r, row, STATE_COL_root_replaced_at, &o->root_replaced_at))
    return false;
  if (status != PARLEY_STATE_ACTIVE && status != PARLEY_STATE_SUSPENDED) return false;
  o->status = (parley_state_status)status;
  return true;
}

static parley_qs pq_state_insert(void *conn, const parley_state_row *row) {
  pg_params p = {0};
  bind_state(&p, row, true);
  return pg_change(conn, Q_STATE_INSERT, &p, "state_insert");
}

static parley_qs pq_state_get(void *conn, const char *code, parley_state_row *out) {
  pg_params p = {0};
  p_text(&p, code);
  parley_qs qs;
  PGresult *r = pg_row(conn, Q_STATE_GET, &p, "state_get", &qs);
  if (!r) return qs;
  bool ok = read_state(r, 0, out);
  PQclear(r);
  return ok ? PARLEY_QS_ONE : corrupt("state_get");
}

static parley_qs pq_state_update(void *conn, const parley_state_row *row) {
  pg_params p = {0};
  bind_state(&p, row, false);
  return pg_change(conn, Q_STATE_UPDATE, &p, "state_update");
}

/* The whole result is in memory, so the callback may use the transaction. */
static parley_qs pq_state_list(void *conn, bool (*cb)(void *cls, const parley_state_row *row),
                               void *cls) {
  parley_qs qs;
  PGresult *r = pg_exec(conn, Q_STATE_LIST, NULL, "state_list", &qs);
  if (!r) return qs;
  int n = PQntuples(r);
  qs = PARLEY_QS_NONE;
  for (int i = 0; i < n; i++) {
    if (!read_state(r, i, &(parley_state_row){0})) {
      PQclear(r);
      return corrupt("state_list");
    }
  }
  for (int i = 0; i < n; i++) {
    parley_state_row row;
    read_state(r, i, &row);
    qs = PARLEY_QS_ONE;
    if (!cb(cls, &row)) break;
  }
  PQclear(r);
  return qs;
}

/* ---- state records -------------------------------------------------------------------- */

static parley_qs pq_record_insert(void *conn, const parley_record_row *row) {
  pg_params p = {0};
  p_text(&p, row->state);
  p_i64(&p, row->version);
  p_raw(&p, row->body, row->body_len);
  p_i64(&p, row->received);
  p_i64(&p, row->leaf_index);
  return pg_change(conn, Q_RECORD_INSERT, &p, "record_insert");
}

static parley_qs pq_record_get(void *conn, const char *state, int64_t version,
                               parley_record_row *out) {
  pg_params p = {0};
  p_text(&p, state);
  if (version != 0) p_i64(&p, version);
  parley_qs qs;
  PGresult *r =
      pg_row(conn, version == 0 ? Q_RECORD_GET_LATEST : Q_RECORD_GET, &p, "record_get", &qs);
  if (!r) return qs;
  memset(out, 0, sizeof *out);
  bool ok = r_text(r, 0, RECORD_COL_state, out->state, sizeof out->state) &&
            r_i64(r, 0, RECORD_COL_version, &out->version) &&
            r_i64(r, 0, RECORD_COL_received, &out->received) &&
            r_i64(r, 0, RECORD_COL_leaf_index, &out->leaf_index) &&
            r_dup(r, 0, RECORD_COL_body, &out->body, &out->body_len);
  PQclear(r);
  if (!ok) {
    parley_record_row_clear(out);
    return corrupt("record_get");
  }
  return PARLEY_QS_ONE;
}

/* ---- keys ---------------------------------------------------------------------------------- */

static void bind_key(pg_params *p, const parley_key_row *r) {
  p_text(p, r->key_id);
  p_raw(p, r->pk, 32);
  p_i32(p, (int32_t)r->role);
  p_text_or_null(p, r->state); /* operators: no state */
  p_text(p, r->poc_id);
  p_text(p, r->name);
}

static parley_qs pq_key_put(void *conn, const parley_key_row *row) {
  pg_params p = {0};
  bind_key(&p, row);
  parley_qs qs = pg_change(conn, Q_KEY_PUT, &p, "key_put");
  return qs == PARLEY_QS_NONE ? PARLEY_QS_ONE : qs;
}

static parley_qs pq_key_get(void *conn, const char *key_id, parley_key_row *out) {
  pg_params p = {0};
  p_text(&p, key_id);
  parley_qs qs;
  PGresult *r = pg_row(conn, Q_KEY_GET, &p, "key_get", &qs);
  if (!r) return qs;
  memset(out, 0, sizeof *out);
  int64_t role = -1;
  bool ok = r_text(r, 0, KEY_COL_key_id, out->key_id, sizeof out->key_id) &&
            r_hash(r, 0, KEY_COL_pk, out->pk) && r_i64(r, 0, KEY_COL_role, &role) &&
            role >= PARLEY_ROLE_OPERATOR && role <= PARLEY_ROLE_OFFICER &&
            r_text(r, 0, KEY_COL_state, out->state, sizeof out->state) &&
            r_text(r, 0, KEY_COL_poc_id, out->poc_id, sizeof out->poc_id) &&
            r_text(r, 0, KEY_COL_name, out->name, sizeof out->name);
  out->role = (parley_role)role;
  PQclear(r);
  return ok ? PARLEY_QS_ONE : corrupt("key_get");
}

static parley_qs pq_key_delete(void *conn, const char *key_id) {
  pg_params p = {0};
  p_text(&p, key_id);
  return pg_change(conn, Q_KEY_DELETE, &p, "key_delete");
}

static parley_qs pq_operators_delete(void *conn) {
  return pg_change(conn, Q_OPERATORS_DELETE, NULL, "operators_delete");
}

static parley_qs pq_officers_replace(void *conn, const char *state, const parley_key_row *rows,
                                     size_t n) {
  pg_params p = {0};
  p_text(&p, state);
  parley_qs qs = pg_change(conn, Q_OFFICERS_DELETE, &p, "officers_replace");
  if (qs < 0) return qs;
  for (size_t i = 0; i < n; i++) {
    pg_params k = {0};
    bind_key(&k, &rows[i]);
    qs = pg_change(conn, Q_OFFICER_INSERT, &k, "officers_replace");
    if (qs != PARLEY_QS_ONE) return qs; /* NONE: the key id is taken by another key */
  }
  return PARLEY_QS_ONE;
}

/* ---- nonces ---------------------------------------------------------------------------------- */

static parley_qs pq_nonce_insert(void *conn, const char *key_id, const char *nonce,
                                 int64_t expires) {
  pg_params p = {0};
  p_text(&p, key_id);
  p_text(&p, nonce);
  p_i64(&p, expires);
  return pg_change(conn, Q_NONCE_INSERT, &p, "nonce_insert");
}

static parley_qs pq_nonce_purge(void *conn, int64_t now) {
  pg_params p = {0};
  p_i64(&p, now);
  return pg_change(conn, Q_NONCE_PURGE, &p, "nonce_purge");
}

/* ---- transparency log --------------------------------------------------------------------------
 */

static parley_qs pq_leaf_append(void *conn, const uint8_t hash[32], const char *kind,
                                const void *entry, size_t entry_len, int64_t created,
                                uint64_t *index) {
  pg_conn *c = conn;
  pg_params p = {0};
  p_raw(&p, hash, 32);
  p_text(&p, kind);
  p_raw(&p, entry ? entry : "", entry_len);
  p_i64(&p, created);
  parley_qs qs;
  PGresult *r = pg_exec(c, Q_LEAF_APPEND, &p, "leaf_append", &qs);
  if (!r) {
    /* another writer took the index: only possible if it bypassed write_lock */
    if (qs == PARLEY_QS_HARD && strcmp(c->sqlstate, "23505") == 0) return PARLEY_QS_RETRY;
    return qs;
  }
  int64_t idx = -1;
  bool ok = PQntuples(r) == 1 && r_i64(r, 0, 0, &idx) && idx >= 0;
  PQclear(r);
  if (!ok) return corrupt("leaf_append");
  *index = (uint64_t)idx;
  return PARLEY_QS_ONE;
}

static parley_qs pq_log_size(void *conn, uint64_t *size) {
  parley_qs qs;
  PGresult *r = pg_row(conn, Q_LOG_SIZE, NULL, "log_size", &qs);
  if (!r) return qs == PARLEY_QS_NONE ? corrupt("log_size") : qs;
  int64_t n = -1;
  bool ok = r_i64(r, 0, 0, &n) && n >= 0;
  PQclear(r);
  if (!ok) return corrupt("log_size");
  *size = (uint64_t)n;
  return PARLEY_QS_ONE;
}

static parley_qs pq_node_put(void *conn, unsigned level, uint64_t index, const uint8_t hash[32]) {
  pg_params p = {0};
  p_i32(&p, (int32_t)level);
  p_i64(&p, (int64_t)index);
  p_raw(&p, hash, 32);
  parley_qs qs = pg_change(conn, Q_NODE_PUT, &p, "node_put");
  return qs == PARLEY_QS_NONE ? PARLEY_QS_ONE : qs;
}

static parley_qs pq_node_get(void *conn, unsigned level, uint64_t index, uint8_t hash[32]) {
  pg_params p = {0};
  if (level != 0) p_i32(&p, (int32_t)level);
  p_i64(&p, (int64_t)index);
  parley_qs qs;
  PGresult *r = pg_row(conn, level == 0 ? Q_LEAF_HASH : Q_NODE_GET, &p, "node_get", &qs);
  if (!r) return qs;
  bool ok = r_hash(r, 0, 0, hash);
  PQclear(r);
  return ok ? PARLEY_QS_ONE : corrupt("node_get");
}

static parley_qs pq_leaf_entry(void *conn, uint64_t index, uint8_t **entry, size_t *len) {
  pg_params p = {0};
  p_i64(&p, (int64_t)index);
  parley_qs qs;
  PGresult *r = pg_row(conn, Q_LEAF_ENTRY, &p, "leaf_entry", &qs);
  if (!r) return qs;
  char *d = NULL;
  bool ok = r_dup(r, 0, 0, &d, len);
  PQclear(r);
  if (!ok) return corrupt("leaf_entry");
  *entry = (uint8_t *)d;
  return PARLEY_QS_ONE;
}

static parley_qs pq_leaf_find(void *conn, const uint8_t hash[32], uint64_t *index) {
  pg_params p = {0};
  p_raw(&p, hash, 32);
  parley_qs qs;
  PGresult *r = pg_row(conn, Q_LEAF_FIND, &p, "leaf_find", &qs);
  if (!r) return qs;
  int64_t idx = -1;
  bool ok = r_i64(r, 0, 0, &idx) && idx >= 0;
  PQclear(r);
  if (!ok) return corrupt("leaf_find");
  *index = (uint64_t)idx;
  return PARLEY_QS_ONE;
}

static parley_qs pq_checkpoint_put(void *conn, const parley_checkpoint_row *row) {
  pg_params p = {0};
  p_i64(&p, (int64_t)row->size);
  p_text(&p, row->note);
  p_i64(&p, row->created);
  parley_qs qs = pg_change(conn, Q_CHECKPOINT_PUT, &p, "checkpoint_put");
  return qs == PARLEY_QS_NONE ? PARLEY_QS_ONE : qs;
}

static parley_qs pq_checkpoint_get(void *conn, uint64_t size, parley_checkpoint_row *out) {
  pg_params p = {0};
  if (size != 0) p_i64(&p, (int64_t)size);
  parley_qs qs;
  PGresult *r =
      pg_row(conn, size == 0 ? Q_CHECKPOINT_LATEST : Q_CHECKPOINT_GET, &p, "checkpoint_get", &qs);
  if (!r) return qs;
  memset(out, 0, sizeof *out);
  int64_t sz = -1;
  size_t len = 0;
  bool ok = r_i64(r, 0, CHECKPOINT_COL_size, &sz) && sz >= 0 &&
            r_i64(r, 0, CHECKPOINT_COL_created, &out->created) &&
            r_dup(r, 0, CHECKPOINT_COL_note, &out->note, &len);
  out->size = (uint64_t)sz;
  PQclear(r);
  if (!ok) {
    parley_checkpoint_row_clear(out);
    return corrupt("checkpoint_get");
  }
  return PARLEY_QS_ONE;
}

/* ---- messages ----------------------------------------------------------------------------------
 */

static void bind_message(pg_params *p, const parley_message_row *r) {
  p_text(p, r->id);
  p_text(p, r->kind);
  p_text(p, r->priority);
  p_text(p, r->tlp);
  p_text(p, r->from_state);
  p_text(p, r->from_poc);
  p_text_or_null(p, r->case_id); /* NULL: none */
  p_text_or_null(p, r->in_reply_to);
  p_i64(p, r->created);
  p_i64(p, r->received);
  p_i64(p, r->ack_deadline);
  p_i32(p, r->escalation_level);
  p_i64(p, r->next_escalation);
  p_i32(p, r->overdue ? 1 : 0);
  p_i32(p, (int32_t)r->status);
  p_raw(p, r->envelope_hash, 32);
  p_i64(p, r->leaf_index);
  p_raw(p, r->envelope, r->envelope_len);
}

/* The MSG_COLS columns of one row; the envelope is left NULL. */
static bool read_message(const PGresult *r, int row, parley_message_row *o) {
  memset(o, 0, sizeof *o);
  int64_t level = -1, overdue = -1, status = -1;
  if (!r_i64(r, row, MSG_COL_seq, &o->seq) || !r_text(r, row, MSG_COL_id, o->id, sizeof o->id) ||
      !r_text(r, row, MSG_COL_kind, o->kind, sizeof o->kind) ||
      !r_text(r, row, MSG_COL_priority, o->priority, sizeof o->priority) ||
      !r_text(r, row, MSG_COL_tlp, o->tlp, sizeof o->tlp) ||
      !r_text(r, row, MSG_COL_from_state, o->from_state, sizeof o->from_state) ||
      !r_text(r, row, MSG_COL_from_poc, o->from_poc, sizeof o->from_poc) ||
      !r_text(r, row, MSG_COL_case_id, o->case_id, sizeof o->case_id) ||
      !r_text(r, row, MSG_COL_in_reply_to, o->in_reply_to, sizeof o->in_reply_to) ||
      !r_i64(r, row, MSG_COL_created, &o->created) ||
      !r_i64(r, row, MSG_COL_received, &o->received) ||
      !r_i64(r, row, MSG_COL_ack_deadline, &o->ack_deadline) ||
      !r_i64(r, row, MSG_COL_escalation_level, &level) ||
      !r_i64(r, row, MSG_COL_next_escalation, &o->next_escalation) ||
      !r_i64(r, row, MSG_COL_overdue, &overdue) || !r_i64(r, row, MSG_COL_status, &status) ||
      !r_hash(r, row, MSG_COL_envelope_hash, o->envelope_hash) ||
      !r_i64(r, row, MSG_COL_leaf_index, &o->leaf_index))
    return false;
  if (level < 0 || level > INT32_MAX || (overdue != 0 && overdue != 1) ||
      status < PARLEY_MSG_SUBMITTED || status > PARLEY_MSG_CLOSED)
    return false;
  o->escalation_level = (int)level;
  o->overdue = overdue == 1;
  o->status = (parley_msg_status)status;
  return true;
}

static bool read_recipient(const PGresult *r, int row, parley_recipient_row *o) {
  memset(o, 0, sizeof *o);
  return r_text(r, row, RCPT_COL_message_id, o->message_id, sizeof o->message_id) &&
         r_text(r, row, RCPT_COL_state, o->state, sizeof o->state) &&
         r_text(r, row, RCPT_COL_poc, o->poc, sizeof o->poc) &&
         r_text(r, row, RCPT_COL_key_id, o->key_id, sizeof o->key_id) &&
         r_i64(r, row, RCPT_COL_delivered, &o->delivered) &&
         r_i64(r, row, RCPT_COL_acked, &o->acked);
}

/* Without the ack text, which the caller copies. */
static bool read_ack(const PGresult *r, int row, parley_ack_row *o) {
  memset(o, 0, sizeof *o);
  return r_text(r, row, ACK_COL_message_id, o->message_id, sizeof o->message_id) &&
         r_text(r, row, ACK_COL_state, o->state, sizeof o->state) &&
         r_text(r, row, ACK_COL_poc, o->poc, sizeof o->poc) &&
         r_i64(r, row, ACK_COL_time, &o->time) && !PQgetisnull(r, row, ACK_COL_ack) &&
         r_i64(r, row, ACK_COL_leaf_index, &o->leaf_index);
}

static bool read_event(const PGresult *r, int row, char event[PARLEY_STORE_EVENT_LEN],
                       char detail[PARLEY_STORE_DETAIL_LEN], int64_t *at) {
  return !PQgetisnull(r, row, EVENT_COL_event) &&
         r_text(r, row, EVENT_COL_event, event, PARLEY_STORE_EVENT_LEN) &&
         !PQgetisnull(r, row, EVENT_COL_detail) &&
         r_text(r, row, EVENT_COL_detail, detail, PARLEY_STORE_DETAIL_LEN) &&
         r_i64(r, row, EVENT_COL_at, at);
}

/* Runs a message listing; every row is checked before cb sees the first one. The whole
 * result is in memory, so cb may use the transaction. */
static parley_qs message_list(pg_conn *c, int q, const pg_params *p,
                              bool (*cb)(void *cls, const parley_message_row *m), void *cls,
                              const char *op) {
  parley_qs qs;
  PGresult *r = pg_exec(c, q, p, op, &qs);
  if (!r) return qs;
  int n = PQntuples(r);
  parley_message_row row;
  for (int i = 0; i < n; i++) {
    if (!read_message(r, i, &row)) {
      PQclear(r);
      return corrupt(op);
    }
  }
  qs = PARLEY_QS_NONE;
  for (int i = 0; i < n; i++) {
    read_message(r, i, &row);
    qs = PARLEY_QS_ONE;
    if (!cb(cls, &row)) break;
  }
  PQclear(r);
  return qs;
}

static parley_qs pq_message_insert(void *conn, parley_message_row *row,
                                   const parley_recipient_row *rcpts, size_t n) {
  pg_params p = {0};
  bind_message(&p, row);
  parley_qs qs;
  PGresult *r = pg_exec(conn, Q_MESSAGE_INSERT, &p, "message_insert", &qs);
  if (!r) return qs;
  int64_t seq = -1;
  int rows = PQntuples(r);
  bool ok = rows == 0 || (rows == 1 && r_i64(r, 0, 0, &seq) && seq > 0);
  PQclear(r);
  if (!ok) return corrupt("message_insert");
  if (rows == 0) return PARLEY_QS_NONE; /* the id exists */
  for (size_t i = 0; i < n; i++) {
    pg_params k = {0};
    p_text(&k, row->id);
    p_i64(&k, seq);
    p_text(&k, rcpts[i].state);
    p_text(&k, rcpts[i].poc);
    p_text(&k, rcpts[i].key_id);
    p_i64(&k, rcpts[i].delivered);
    p_i64(&k, rcpts[i].acked);
    /* a recipient listed twice fails the primary key: HARD */
    qs = pg_change(conn, Q_RECIPIENT_INSERT, &k, "message_insert");
    if (qs != PARLEY_QS_ONE) return qs < 0 ? qs : corrupt("message_insert");
  }
  row->seq = seq;
  return PARLEY_QS_ONE;
}

static parley_qs pq_message_get(void *conn, const char *id, parley_message_row *out) {
  pg_params p = {0};
  p_text(&p, id);
  parley_qs qs;
  PGresult *r = pg_row(conn, Q_MESSAGE_GET, &p, "message_get", &qs);
  if (!r) return qs;
  bool ok =
      read_message(r, 0, out) && r_dup(r, 0, MSG_COL_envelope, &out->envelope, &out->envelope_len);
  PQclear(r);
  if (!ok) {
    parley_message_row_clear(out);
    return corrupt("message_get");
  }
  return PARLEY_QS_ONE;
}

static parley_qs pq_message_update(void *conn, const parley_message_row *row) {
  pg_params p = {0};
  p_text(&p, row->id);
  p_i32(&p, (int32_t)row->status);
  p_i32(&p, row->overdue ? 1 : 0);
  p_i32(&p, row->escalation_level);
  p_i64(&p, row->next_escalation);
  p_i64(&p, row->ack_deadline);
  return pg_change(conn, Q_MESSAGE_UPDATE, &p, "message_update");
}

static parley_qs pq_recipients_get(void *conn, const char *message_id,
                                   bool (*cb)(void *cls, const parley_recipient_row *r),
                                   void *cls) {
  pg_params p = {0};
  p_text(&p, message_id);
  parley_qs qs;
  PGresult *r = pg_exec(conn, Q_RECIPIENTS_GET, &p, "recipients_get", &qs);
  if (!r) return qs;
  int n = PQntuples(r);
  parley_recipient_row row;
  for (int i = 0; i < n; i++) {
    if (!read_recipient(r, i, &row)) {
      PQclear(r);
      return corrupt("recipients_get");
    }
  }
  qs = PARLEY_QS_NONE;
  for (int i = 0; i < n; i++) {
    read_recipient(r, i, &row);
    qs = PARLEY_QS_ONE;
    if (!cb(cls, &row)) break;
  }
  PQclear(r);
  return qs;
}

static parley_qs pq_recipient_update(void *conn, const parley_recipient_row *row) {
  pg_params p = {0};
  p_text(&p, row->message_id);
  p_text(&p, row->state);
  p_text(&p, row->poc);
  p_i64(&p, row->delivered);
  p_i64(&p, row->acked);
  return pg_change(conn, Q_RECIPIENT_UPDATE, &p, "recipient_update");
}

static parley_qs box(void *conn, int q, const char *state, const char *poc, int64_t after,
                     size_t limit, bool (*cb)(void *cls, const parley_message_row *m), void *cls,
                     const char *op) {
  pg_params p = {0};
  p_text(&p, state);
  p_text(&p, poc);
  p_i64(&p, after);
  p_i64(&p, (int64_t)limit);
  return message_list(conn, q, &p, cb, cls, op);
}

static parley_qs pq_inbox(void *conn, const char *state, const char *poc, int64_t after,
                          size_t limit, bool (*cb)(void *cls, const parley_message_row *m),
                          void *cls) {
  return box(conn, Q_INBOX, state, poc, after, limit, cb, cls, "inbox");
}

static parley_qs pq_outbox(void *conn, const char *state, const char *poc, int64_t after,
                           size_t limit, bool (*cb)(void *cls, const parley_message_row *m),
                           void *cls) {
  return box(conn, Q_OUTBOX, state, poc, after, limit, cb, cls, "outbox");
}

static parley_qs pq_case_messages(void *conn, const char *case_id,
                                  bool (*cb)(void *cls, const parley_message_row *m), void *cls) {
  pg_params p = {0};
  p_text(&p, case_id);
  return message_list(conn, Q_CASE_MESSAGES, &p, cb, cls, "case_messages");
}

static parley_qs pq_due_messages(void *conn, int64_t now, size_t limit,
                                 bool (*cb)(void *cls, const parley_message_row *m), void *cls) {
  pg_params p = {0};
  p_i64(&p, now);
  p_i64(&p, (int64_t)limit);
  return message_list(conn, Q_DUE_MESSAGES, &p, cb, cls, "due_messages");
}

static parley_qs pq_cases_latest(void *conn, const char *state, const char *poc, const char *kind,
                                 bool (*cb)(void *cls, const parley_message_row *m), void *cls) {
  pg_params p = {0};
  p_text(&p, state);
  p_text(&p, poc);
  p_text(&p, kind);
  return message_list(conn, Q_CASES_LATEST, &p, cb, cls, "cases_latest");
}

static parley_qs pq_ack_insert(void *conn, const parley_ack_row *row) {
  pg_params p = {0};
  p_text(&p, row->message_id);
  p_text(&p, row->state);
  p_text(&p, row->poc);
  p_i64(&p, row->time);
  p_raw(&p, row->ack, row->ack_len);
  p_i64(&p, row->leaf_index);
  return pg_change(conn, Q_ACK_INSERT, &p, "ack_insert");
}

static parley_qs pq_acks_get(void *conn, const char *message_id,
                             bool (*cb)(void *cls, const parley_ack_row *a), void *cls) {
  pg_params p = {0};
  p_text(&p, message_id);
  parley_qs qs;
  PGresult *r = pg_exec(conn, Q_ACKS_GET, &p, "acks_get", &qs);
  if (!r) return qs;
  int n = PQntuples(r);
  parley_ack_row row;
  for (int i = 0; i < n; i++) {
    if (!read_ack(r, i, &row)) {
      PQclear(r);
      return corrupt("acks_get");
    }
  }
  qs = PARLEY_QS_NONE;
  for (int i = 0; i < n; i++) {
    read_ack(r, i, &row);
    if (!r_dup(r, i, ACK_COL_ack, &row.ack, &row.ack_len)) {
      parley_log(PARLEY_LOG_ERROR, "store.no_memory", "op=acks_get");
      qs = PARLEY_QS_HARD;
      break;
    }
    qs = PARLEY_QS_ONE;
    bool more = cb(cls, &row);
    parley_ack_row_clear(&row);
    if (!more) break;
  }
  PQclear(r);
  return qs;
}

static parley_qs pq_message_event(void *conn, const char *message_id, const char *event,
                                  const char *detail, int64_t at) {
  pg_params p = {0};
  p_text(&p, message_id);
  p_text(&p, event);
  p_text(&p, detail);
  p_i64(&p, at);
  return pg_change(conn, Q_EVENT_INSERT, &p, "message_event");
}

static parley_qs pq_message_events(void *conn, const char *message_id,
                                   bool (*cb)(void *cls, const char *event, const char *detail,
                                              int64_t at),
                                   void *cls) {
  pg_params p = {0};
  p_text(&p, message_id);
  parley_qs qs;
  PGresult *r = pg_exec(conn, Q_EVENTS_GET, &p, "message_events", &qs);
  if (!r) return qs;
  int n = PQntuples(r);
  char event[PARLEY_STORE_EVENT_LEN], detail[PARLEY_STORE_DETAIL_LEN];
  int64_t at;
  for (int i = 0; i < n; i++) {
    if (!read_event(r, i, event, detail, &at)) {
      PQclear(r);
      return corrupt("message_events");
    }
  }
  qs = PARLEY_QS_NONE;
  for (int i = 0; i < n; i++) {
    read_event(r, i, event, detail, &at);
    qs = PARLEY_QS_ONE;
    if (!cb(cls, event, detail, at)) break;
  }
  PQclear(r);
  return qs;
}

/* ---- treaty metadata ----------------------------------------------------------------- */

static parley_qs pq_basis_put(void *conn, const char *message_id, const char *instrument,
                              const char *article) {
  pg_params p = {0};
  p_text(&p, message_id);
  p_text(&p, instrument);
  p_text(&p, article);
  return pg_change(conn, Q_BASIS_PUT, &p, "basis_put");
}

static parley_qs pq_stats_messages(void *conn, int64_t after, size_t limit,
                                   bool (*cb)(void *cls, const parley_message_row *m,
                                              const char *instrument, const char *article),
                                   void *cls) {
  pg_params p = {0};
  p_i64(&p, after);
  p_i64(&p, (int64_t)limit);
  parley_qs qs;
  PGresult *r = pg_exec(conn, Q_STATS_MESSAGES, &p, "stats_messages", &qs);
  if (!r) return qs;
  int n = PQntuples(r);
  parley_message_row row;
  char inst[72], art[40];
  for (int i = 0; i < n; i++)
    if (!read_message(r, i, &row) || !r_text(r, i, STATS_COL_instrument, inst, sizeof inst) ||
        !r_text(r, i, STATS_COL_article, art, sizeof art)) {
      PQclear(r);
      return corrupt("stats_messages");
    }
  qs = PARLEY_QS_NONE;
  for (int i = 0; i < n; i++) {
    read_message(r, i, &row);
    r_text(r, i, STATS_COL_instrument, inst, sizeof inst);
    r_text(r, i, STATS_COL_article, art, sizeof art);
    qs = PARLEY_QS_ONE;
    if (!cb(cls, &row, inst, art)) break;
  }
  PQclear(r);
  return qs;
}

static parley_qs pq_clock_put(void *conn, const parley_clock_row *c) {
  pg_params p = {0};
  p_text(&p, c->message_id);
  p_text(&p, c->name);
  p_text(&p, c->case_id);
  p_text(&p, c->state);
  p_i64(&p, c->started);
  p_i64(&p, c->due);
  p_i64(&p, c->remind_at);
  p_i64(&p, c->next_at);
  p_i32(&p, (int32_t)c->status);
  p_i64(&p, c->settled);
  return pg_change(conn, Q_CLOCK_PUT, &p, "clock_put");
}

static bool read_clock(const PGresult *r, int row, parley_clock_row *o) {
  memset(o, 0, sizeof *o);
  int64_t st = -1;
  if (!r_text(r, row, CLOCK_COL_message_id, o->message_id, sizeof o->message_id) ||
      !r_text(r, row, CLOCK_COL_name, o->name, sizeof o->name) ||
      !r_text(r, row, CLOCK_COL_case_id, o->case_id, sizeof o->case_id) ||
      !r_text(r, row, CLOCK_COL_state, o->state, sizeof o->state) ||
      !r_i64(r, row, CLOCK_COL_started, &o->started) || !r_i64(r, row, CLOCK_COL_due, &o->due) ||
      !r_i64(r, row, CLOCK_COL_remind_at, &o->remind_at) ||
      !r_i64(r, row, CLOCK_COL_next_at, &o->next_at) || !r_i64(r, row, CLOCK_COL_status, &st) ||
      !r_i64(r, row, CLOCK_COL_settled, &o->settled) || st < 0 || st > 2)
    return false;
  o->status = (parley_clock_status)st;
  return true;
}

static parley_qs clock_list(pg_conn *c, int q, const pg_params *p,
                            bool (*cb)(void *cls, const parley_clock_row *r), void *cls,
                            const char *op) {
  parley_qs qs;
  PGresult *r = pg_exec(c, q, p, op, &qs);
  if (!r) return qs;
  int n = PQntuples(r);
  parley_clock_row row;
  for (int i = 0; i < n; i++)
    if (!read_clock(r, i, &row)) {
      PQclear(r);
      return corrupt(op);
    }
  qs = PARLEY_QS_NONE;
  for (int i = 0; i < n; i++) {
    read_clock(r, i, &row);
    qs = PARLEY_QS_ONE;
    if (!cb(cls, &row)) break;
  }
  PQclear(r);
  return qs;
}

static parley_qs pq_clocks_due(void *conn, int64_t now, size_t limit,
                               bool (*cb)(void *cls, const parley_clock_row *r), void *cls) {
  pg_params p = {0};
  p_i64(&p, now);
  p_i64(&p, (int64_t)limit);
  return clock_list(conn, Q_CLOCKS_DUE, &p, cb, cls, "clocks_due");
}

static parley_qs pq_clocks_of_case(void *conn, const char *case_id,
                                   bool (*cb)(void *cls, const parley_clock_row *r), void *cls) {
  pg_params p = {0};
  p_text(&p, case_id);
  return clock_list(conn, Q_CLOCKS_OF_CASE, &p, cb, cls, "clocks_of_case");
}

/* ---- evidence packages ---------------------------------------------------------------- */

static bool read_evidence(const PGresult *r, int row, parley_evidence_row *o) {
  memset(o, 0, sizeof *o);
  int64_t status;
  if (!r_text(r, row, EVIDENCE_COL_id, o->id, sizeof o->id) ||
      !r_text(r, row, EVIDENCE_COL_from_state, o->from_state, sizeof o->from_state) ||
      !r_text(r, row, EVIDENCE_COL_from_poc, o->from_poc, sizeof o->from_poc) ||
      !r_i64(r, row, EVIDENCE_COL_status, &status) || status < 0 || status > 4 ||
      !r_i64(r, row, EVIDENCE_COL_ciphertext_size, &o->ciphertext_size) ||
      !r_i64(r, row, EVIDENCE_COL_upload_offset, &o->upload_offset) ||
      !r_i64(r, row, EVIDENCE_COL_retain_until, &o->retain_until) ||
      !r_i64(r, row, EVIDENCE_COL_created, &o->created) ||
      !r_i64(r, row, EVIDENCE_COL_updated, &o->updated) ||
      !r_hash(r, row, EVIDENCE_COL_manifest_hash, o->manifest_hash) ||
      !r_i64(r, row, EVIDENCE_COL_leaf_index, &o->leaf_index))
    return false;
  o->status = (parley_evidence_status)status;
  return true;
}

static parley_qs pq_evidence_insert(void *conn, const parley_evidence_row *row,
                                    const parley_evidence_recipient_row *rcpts, size_t n) {
  pg_params p = {0};
  p_text(&p, row->id);
  p_text(&p, row->from_state);
  p_text(&p, row->from_poc);
  p_i32(&p, (int32_t)row->status);
  p_i64(&p, row->ciphertext_size);
  p_i64(&p, row->upload_offset);
  p_i64(&p, row->retain_until);
  p_i64(&p, row->created);
  p_i64(&p, row->updated);
  p_raw(&p, row->manifest_hash, 32);
  p_i64(&p, row->leaf_index);
  p_raw(&p, row->manifest, row->manifest_len);
  parley_qs qs = pg_change(conn, Q_EVIDENCE_INSERT, &p, "evidence_insert");
  if (qs != PARLEY_QS_ONE) return qs;
  for (size_t i = 0; i < n; i++) {
    pg_params k = {0};
    p_text(&k, row->id);
    p_text(&k, rcpts[i].state);
    p_text(&k, rcpts[i].poc);
    p_text(&k, rcpts[i].key_id);
    qs = pg_change(conn, Q_EVIDENCE_RCPT_INSERT, &k, "evidence_insert");
    if (qs != PARLEY_QS_ONE) return qs < 0 ? qs : corrupt("evidence_insert");
  }
  return PARLEY_QS_ONE;
}

static parley_qs pq_evidence_recipient_add(void *conn, const char *id,
                                           const parley_evidence_recipient_row *r) {
  pg_params k = {0};
  p_text(&k, id);
  p_text(&k, r->state);
  p_text(&k, r->poc);
  p_text(&k, r->key_id);
  return pg_change(conn, Q_EVIDENCE_RCPT_INSERT_NEW, &k, "evidence_recipient_add");
}

static parley_qs pq_evidence_get(void *conn, const char *id, parley_evidence_row *out) {
  pg_params p = {0};
  p_text(&p, id);
  parley_qs qs;
  PGresult *r = pg_row(conn, Q_EVIDENCE_GET, &p, "evidence_get", &qs);
  if (!r) return qs;
  bool ok = read_evidence(r, 0, out) &&
            r_dup(r, 0, EVIDENCE_COL_manifest, &out->manifest, &out->manifest_len);
  PQclear(r);
  return ok ? PARLEY_QS_ONE : corrupt("evidence_get");
}

static parley_qs pq_evidence_update(void *conn, const parley_evidence_row *row) {
  pg_params p = {0};
  p_text(&p, row->id);
  p_i32(&p, (int32_t)row->status);
  p_i64(&p, row->upload_offset);
  p_i64(&p, row->updated);
  return pg_change(conn, Q_EVIDENCE_UPDATE, &p, "evidence_update");
}

static parley_qs evidence_rows(pg_conn *c, int q, const pg_params *p,
                               bool (*cb)(void *cls, const parley_evidence_row *r), void *cls,
                               const char *op) {
  parley_qs qs;
  PGresult *r = pg_exec(c, q, p, op, &qs);
  if (!r) return qs;
  int n = PQntuples(r);
  parley_evidence_row row;
  for (int i = 0; i < n; i++)
    if (!read_evidence(r, i, &row)) {
      PQclear(r);
      return corrupt(op);
    }
  for (int i = 0; i < n; i++) {
    read_evidence(r, i, &row);
    if (!cb(cls, &row)) break;
  }
  PQclear(r);
  return n > 0 ? PARLEY_QS_ONE : PARLEY_QS_NONE;
}

static parley_qs pq_evidence_list(void *conn, const char *state, const char *poc,
                                  bool (*cb)(void *cls, const parley_evidence_row *r), void *cls) {
  pg_params p = {0};
  p_text(&p, state);
  p_text(&p, poc);
  return evidence_rows(conn, Q_EVIDENCE_LIST, &p, cb, cls, "evidence_list");
}

static parley_qs pq_evidence_expired(void *conn, int64_t now, size_t limit,
                                     bool (*cb)(void *cls, const parley_evidence_row *r),
                                     void *cls) {
  pg_params p = {0};
  p_i64(&p, now);
  p_i64(&p, (int64_t)limit);
  return evidence_rows(conn, Q_EVIDENCE_EXPIRED, &p, cb, cls, "evidence_expired");
}

static parley_qs
pq_evidence_recipients(void *conn, const char *id,
                       bool (*cb)(void *cls, const parley_evidence_recipient_row *r), void *cls) {
  pg_params p = {0};
  p_text(&p, id);
  parley_qs qs;
  PGresult *r = pg_exec(conn, Q_EVIDENCE_RCPTS_GET, &p, "evidence_recipients", &qs);
  if (!r) return qs;
  int n = PQntuples(r);
  parley_evidence_recipient_row *rows = n ? calloc((size_t)n, sizeof *rows) : NULL;
  if (n && !rows) {
    PQclear(r);
    return PARLEY_QS_HARD;
  }
  for (int i = 0; i < n; i++) {
    parley_evidence_recipient_row *o = &rows[i];
    if (!r_text(r, i, EVIDENCE_RCPT_COL_evidence_id, o->evidence_id, sizeof o->evidence_id) ||
        !r_text(r, i, EVIDENCE_RCPT_COL_state, o->state, sizeof o->state) ||
        !r_text(r, i, EVIDENCE_RCPT_COL_poc, o->poc, sizeof o->poc) ||
        !r_text(r, i, EVIDENCE_RCPT_COL_key_id, o->key_id, sizeof o->key_id)) {
      free(rows);
      PQclear(r);
      return corrupt("evidence_recipients");
    }
  }
  PQclear(r);
  for (int i = 0; i < n; i++)
    if (!cb(cls, &rows[i])) break;
  free(rows);
  return n > 0 ? PARLEY_QS_ONE : PARLEY_QS_NONE;
}

static parley_qs pq_evidence_chunk_put(void *conn, const char *id, int64_t idx,
                                       const uint8_t hash[32], const void *data, size_t len) {
  pg_params p = {0};
  p_text(&p, id);
  p_i64(&p, idx);
  p_raw(&p, hash, 32);
  p_raw(&p, data, data ? len : 0);
  return pg_change(conn, Q_EVIDENCE_CHUNK_PUT, &p, "evidence_chunk_put");
}

static parley_qs pq_evidence_chunk_get(void *conn, const char *id, int64_t idx, uint8_t hash[32],
                                       uint8_t **data, size_t *len) {
  pg_params p = {0};
  p_text(&p, id);
  p_i64(&p, idx);
  parley_qs qs;
  PGresult *r = pg_row(conn, Q_EVIDENCE_CHUNK_GET, &p, "evidence_chunk_get", &qs);
  if (!r) return qs;
  bool ok = r_hash(r, 0, 0, hash);
  if (ok && !PQgetisnull(r, 0, 1)) ok = r_dup(r, 0, 1, (char **)data, len);
  PQclear(r);
  return ok ? PARLEY_QS_ONE : corrupt("evidence_chunk_get");
}

static parley_qs
pq_evidence_chunk_hashes(void *conn, const char *id, int64_t from, size_t limit,
                         bool (*cb)(void *cls, int64_t idx, const uint8_t hash[32]), void *cls) {
  pg_params p = {0};
  p_text(&p, id);
  p_i64(&p, from);
  p_i64(&p, (int64_t)limit);
  parley_qs qs;
  PGresult *r = pg_exec(conn, Q_EVIDENCE_CHUNK_HASHES, &p, "evidence_chunk_hashes", &qs);
  if (!r) return qs;
  int n = PQntuples(r);
  for (int i = 0; i < n; i++) {
    int64_t idx;
    uint8_t h[32];
    if (!r_i64(r, i, 0, &idx) || !r_hash(r, i, 1, h)) {
      PQclear(r);
      return corrupt("evidence_chunk_hashes");
    }
  }
  for (int i = 0; i < n; i++) {
    int64_t idx;
    uint8_t h[32];
    r_i64(r, i, 0, &idx);
    r_hash(r, i, 1, h);
    if (!cb(cls, idx, h)) break;
  }
  PQclear(r);
  return n > 0 ? PARLEY_QS_ONE : PARLEY_QS_NONE;
}

static parley_qs pq_evidence_chunks_delete(void *conn, const char *id) {
  pg_params p = {0};
  p_text(&p, id);
  return pg_change(conn, Q_EVIDENCE_CHUNKS_DELETE, &p, "evidence_chunks_delete");
}

static parley_qs pq_evidence_usage(void *conn, const char *state, int64_t *bytes,
                                   int64_t *uploading) {
  pg_params p = {0};
  p_text(&p, state);
  parley_qs qs;
  PGresult *r = pg_row(conn, Q_EVIDENCE_USAGE, &p, "evidence_usage", &qs);
  if (!r) return qs;
  bool ok = r_i64(r, 0, 0, bytes) && r_i64(r, 0, 1, uploading);
  PQclear(r);
  return ok ? PARLEY_QS_ONE : corrupt("evidence_usage");
}

static parley_qs pq_custody_insert(void *conn, parley_custody_row *row) {
  pg_params p = {0};
  p_text(&p, row->evidence_id);
  p_text(&p, row->event);
  p_i64(&p, row->at);
  p_i64(&p, row->leaf_index);
  p_raw(&p, row->body, row->body_len);
  parley_qs qs;
  PGresult *r = pg_row(conn, Q_CUSTODY_INSERT, &p, "custody_insert", &qs);
  if (!r) return qs < 0 ? qs : corrupt("custody_insert");
  bool ok = r_i64(r, 0, 0, &row->seq);
  PQclear(r);
  return ok ? PARLEY_QS_ONE : corrupt("custody_insert");
}

static parley_qs pq_custody_list(void *conn, const char *id,
                                 bool (*cb)(void *cls, const parley_custody_row *r), void *cls) {
  pg_params p = {0};
  p_text(&p, id);
  parley_qs qs;
  PGresult *r = pg_exec(conn, Q_CUSTODY_LIST, &p, "custody_list", &qs);
  if (!r) return qs;
  int n = PQntuples(r);
  qs = PARLEY_QS_NONE;
  for (int i = 0; i < n; i++) {
    parley_custody_row o;
    memset(&o, 0, sizeof o);
    if (!r_i64(r, i, CUSTODY_COL_seq, &o.seq) || !r_i64(r, i, CUSTODY_COL_at, &o.at) ||
        !r_i64(r, i, CUSTODY_COL_leaf_index, &o.leaf_index) ||
        !r_text(r, i, CUSTODY_COL_evidence_id, o.evidence_id, sizeof o.evidence_id) ||
        !r_text(r, i, CUSTODY_COL_event, o.event, sizeof o.event) ||
        !r_dup(r, i, CUSTODY_COL_body, &o.body, &o.body_len)) {
      PQclear(r);
      return corrupt("custody_list");
    }
    qs = PARLEY_QS_ONE;
    bool more = cb(cls, &o);
    free(o.body);
    if (!more) break;
  }
  PQclear(r);
  return qs;
}

/* ---- several processes on one database --------------------------------------------------------
 * Request nonces are claimed in their own autocommit statement (outside write_lock, so
 * reads never wait for writers); leadership is a session advisory lock on a connection
 * of its own, which the server releases when that session ends (the process died, or
 * its keep-alives failed); wake-ups travel by NOTIFY/LISTEN. */

/* pg_advisory_lock key of the leadership (the scheduler and checkpoint signing). */
#define LEADER_LOCK_KEY "7022344227815306605"
#define WAKE_CHANNEL "parley_wake"

/* A statement with text parameters on a pooled connection, outside any transaction. */
static parley_qs pg_autocommit(pg_backend *b, const char *sql, int n, const char *const *vals,
                               const char *op, bool *changed) {
  pg_conn *c = pool_get(b);
  if (!c) return PARLEY_QS_RETRY;
  PGresult *r = PQexecParams(c->pg, sql, n, NULL, vals, NULL, NULL, 0);
  ExecStatusType st = PQresultStatus(r);
  parley_qs qs = PARLEY_QS_ONE;
  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
    qs = pg_fail(c, r, op);
  else if (changed)
    *changed = strcmp(PQcmdTuples(r), "1") == 0;
  PQclear(r);
  pool_put(b, c);
  return qs;
}

/* Committed without waiting for the WAL flush (synchronous_commit off for this one
 * statement): a claim costs no fsync. A crash of the server may lose the claims of its
 * last ~0.6 s (wal_writer_delay x 3): a write's nonce is recorded durably again in its
 * own transaction (nonces), so only a read could then be replayed, within its window. */
static parley_qs pg_request_nonce_claim(void *backend, const char *key_id, const char *nonce,
                                        int64_t expires) {
  char exp[24];
  snprintf(exp, sizeof exp, "%lld", (long long)expires);
  const char *const vals[] = {key_id, nonce, exp};
  bool fresh = false;
  parley_qs qs = pg_autocommit(backend,
                               "WITH async AS (SELECT set_config('synchronous_commit', 'off', "
                               "true)) INSERT INTO request_nonces (key_id, nonce, expires) "
                               "SELECT $1, $2, $3::bigint FROM async ON CONFLICT DO NOTHING",
                               3, vals, "request_nonce_claim", &fresh);
  return qs < 0 ? qs : fresh ? PARLEY_QS_ONE : PARLEY_QS_NONE;
}

/* A session connection that failed is closed; the next call makes a new one. */
static bool session_ok(pg_conn **c) {
  if (*c && PQstatus((*c)->pg) != CONNECTION_OK) {
    pg_conn_free(*c);
    *c = NULL;
  }
  return *c != NULL;
}

static bool pg_leader(void *backend) {
  pg_backend *b = backend;
  if (!session_ok(&b->leader)) {
    b->leading = false;
    parley_error err;
    b->leader = pg_connect(b->url, &err);
    if (!b->leader) return false;
  }
  /* Held: a round trip proves the session (and so the lock) is still there. */
  PGresult *r =
      PQexec(b->leader->pg,
             b->leading ? "SELECT true" : "SELECT pg_try_advisory_lock(" LEADER_LOCK_KEY ")");
  bool ok = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1;
  bool held = ok && PQgetvalue(r, 0, 0)[0] == 't';
  PQclear(r);
  if (!ok) {
    pg_conn_free(b->leader);
    b->leader = NULL;
  }
  b->leading = held;
  return held;
}

static parley_qs pg_wake_send(void *backend, const char *payload) {
  const char *const vals[] = {payload};
  return pg_autocommit(backend, "SELECT pg_notify('" WAKE_CHANNEL "', $1)", 1, vals, "wake_send",
                       NULL);
}

static int pg_wake_wait(void *backend, int timeout_ms, void (*cb)(void *cls, const char *payload),
                        void *cls) {
  pg_backend *b = backend;
  int fresh = 0;
  if (!session_ok(&b->listener)) {
    parley_error err;
    b->listener = pg_connect(b->url, &err);
    if (b->listener && pg_simple(b->listener, "LISTEN " WAKE_CHANNEL, "listen") != PARLEY_QS_ONE) {
      pg_conn_free(b->listener);
      b->listener = NULL;
    }
    if (!b->listener) {
      poll(NULL, 0, timeout_ms);
      return -1;
    }
    fresh = 1; /* wake-ups sent while no session listened are lost */
  }
  struct pollfd p = {PQsocket(b->listener->pg), POLLIN, 0};
  if (poll(&p, 1, timeout_ms) < 0) return fresh;
  if (!PQconsumeInput(b->listener->pg)) {
    pg_conn_free(b->listener);
    b->listener = NULL;
    return -1;
  }
  PGnotify *n;
  while ((n = PQnotifies(b->listener->pg)) != NULL) {
    cb(cls, n->extra);
    PQfreemem(n);
  }
  return fresh;
}

const struct parley_store_backend parley_store_postgres = {
    .name = "postgres",
    .open = pg_open,
    .close = pg_close,
    .begin = pg_begin,
    .commit = pg_commit,
    .savepoint = pg_savepoint,
    .rollback = pg_rollback,
    .state_insert = pq_state_insert,
    .state_get = pq_state_get,
    .state_update = pq_state_update,
    .state_list = pq_state_list,
    .record_insert = pq_record_insert,
    .record_get = pq_record_get,
    .key_put = pq_key_put,
    .key_get = pq_key_get,
    .key_delete = pq_key_delete,
    .operators_delete = pq_operators_delete,
    .officers_replace = pq_officers_replace,
    .nonce_insert = pq_nonce_insert,
    .nonce_purge = pq_nonce_purge,
    .leaf_append = pq_leaf_append,
    .log_size = pq_log_size,
    .node_put = pq_node_put,
    .node_get = pq_node_get,
    .leaf_entry = pq_leaf_entry,
    .leaf_find = pq_leaf_find,
    .checkpoint_put = pq_checkpoint_put,
    .checkpoint_get = pq_checkpoint_get,
    .message_insert = pq_message_insert,
    .message_get = pq_message_get,
    .message_update = pq_message_update,
    .recipients_get = pq_recipients_get,
    .recipient_update = pq_recipient_update,
    .inbox = pq_inbox,
    .outbox = pq_outbox,
    .case_messages = pq_case_messages,
    .due_messages = pq_due_messages,
    .cases_latest = pq_cases_latest,
    .ack_insert = pq_ack_insert,
    .acks_get = pq_acks_get,
    .message_event = pq_message_event,
    .message_events = pq_message_events,
    .basis_put = pq_basis_put,
    .stats_messages = pq_stats_messages,
    .clock_put = pq_clock_put,
    .clocks_due = pq_clocks_due,
    .clocks_of_case = pq_clocks_of_case,
    .evidence_insert = pq_evidence_insert,
    .evidence_get = pq_evidence_get,
    .evidence_update = pq_evidence_update,
    .evidence_list = pq_evidence_list,
    .evidence_recipient_add = pq_evidence_recipient_add,
    .evidence_recipients = pq_evidence_recipients,
    .evidence_chunk_put = pq_evidence_chunk_put,
    .evidence_chunk_get = pq_evidence_chunk_get,
    .evidence_chunk_hashes = pq_evidence_chunk_hashes,
    .evidence_chunks_delete = pq_evidence_chunks_delete,
    .evidence_usage = pq_evidence_usage,
    .evidence_expired = pq_evidence_expired,
    .custody_insert = pq_custody_insert,
    .custody_list = pq_custody_list,
    .request_nonce_claim = pg_request_nonce_claim,
    .leader = pg_leader,
    .wake_send = pg_wake_send,
    .wake_wait = pg_wake_wait,
};

#else
/* Built without libpq: store.c answers STORE_URL for postgresql:// URLs. ISO C wants
 * a translation unit to declare something. */
typedef int parley_store_postgres_absent;
#endif
