/* What the two store engines (sqlite.c, postgres.c) must agree on, in one place so that
 * they cannot drift apart: the columns each row type is read and written by, in order,
 * and the list of statements each engine prepares.
 * Each column list is an X-macro: X(column) once per column, S() between two columns.
 * PARLEY_COLS_SQL(LIST) is the list as SQL text ("a, b, c"); the enums give each
 * column's 0-based number in a SELECT of that list, and decoders read by those numbers.
 * Changing a list changes the SELECTs of both engines together; the schema (each
 * engine's migrations) is not made from it. */
#ifndef PARLEY_STORE_COLUMNS_H
#define PARLEY_STORE_COLUMNS_H

/* ---- the tables ---------------------------------------------------------------------- */

/* Laid out by hand: clang-format does not settle on one layout for these lists. */
/* clang-format off */
#define PARLEY_STATE_COLUMNS(X, S)                                                                 \
  X(code) S() X(name) S() X(region) S() X(root_pk) S() X(status) S() X(current_version) S()       \
  X(review_by) S() X(created) S() X(updated) S() X(root_replaced_at)

#define PARLEY_RECORD_COLUMNS(X, S)                                                                \
  X(state) S() X(version) S() X(body) S() X(received) S() X(leaf_index)

#define PARLEY_KEY_COLUMNS(X, S)                                                                   \
  X(key_id) S() X(pk) S() X(role) S() X(state) S() X(poc_id) S() X(name)

/* A message's columns after seq (which the store assigns) and before the envelope. */
#define PARLEY_MESSAGE_DATA_COLUMNS(X, S)                                                          \
  X(id) S() X(kind) S() X(priority) S() X(tlp) S() X(from_state) S() X(from_poc) S()             \
  X(case_id) S() X(in_reply_to) S() X(created) S() X(received) S() X(ack_deadline) S()           \
  X(escalation_level) S() X(next_escalation) S() X(overdue) S() X(status) S()                     \
  X(envelope_hash) S() X(leaf_index)

/* A message as listed: without its envelope, which only a single get reads (last). */
#define PARLEY_MESSAGE_COLUMNS(X, S) X(seq) S() PARLEY_MESSAGE_DATA_COLUMNS(X, S)

#define PARLEY_RECIPIENT_COLUMNS(X, S)                                                             \
  X(message_id) S() X(state) S() X(poc) S() X(key_id) S() X(delivered) S() X(acked)

#define PARLEY_ACK_COLUMNS(X, S)                                                                   \
  X(message_id) S() X(state) S() X(poc) S() X(time) S() X(ack) S() X(leaf_index)

#define PARLEY_CHECKPOINT_COLUMNS(X, S) X(size) S() X(note) S() X(created)

#define PARLEY_EVENT_COLUMNS(X, S) X(event) S() X(detail) S() X(at)

#define PARLEY_CLOCK_COLUMNS(X, S)                                                                 \
  X(message_id) S() X(name) S() X(case_id) S() X(state) S() X(started) S() X(due) S()           \
  X(remind_at) S() X(next_at) S() X(status) S() X(settled)

/* An evidence package as listed: without its manifest, which only a get reads (last). */
#define PARLEY_EVIDENCE_COLUMNS(X, S)                                                              \
  X(id) S() X(from_state) S() X(from_poc) S() X(status) S() X(ciphertext_size) S()               \
  X(upload_offset) S() X(retain_until) S() X(created) S() X(updated) S() X(manifest_hash) S()    \
  X(leaf_index)

#define PARLEY_EVIDENCE_RCPT_COLUMNS(X, S) X(evidence_id) S() X(state) S() X(poc) S() X(key_id)

#define PARLEY_CUSTODY_COLUMNS(X, S)                                                               \
  X(seq) S() X(evidence_id) S() X(event) S() X(at) S() X(leaf_index) S() X(body)
/* clang-format on */

/* ---- SQL text -------------------------------------------------------------------------- */

#define PARLEY_COL_NAME(c) #c
#define PARLEY_COL_NAME_M(c) "m." #c
#define PARLEY_COL_SQL_SEP() ", "
#define PARLEY_COL_COMMA() ,

/* "a, b, c" for a list; PARLEY_COLS_SQL_M prefixes each column with "m.". */
#define PARLEY_COLS_SQL(LIST) LIST(PARLEY_COL_NAME, PARLEY_COL_SQL_SEP)
#define PARLEY_COLS_SQL_M(LIST) LIST(PARLEY_COL_NAME_M, PARLEY_COL_SQL_SEP)

#define STATE_COLS PARLEY_COLS_SQL(PARLEY_STATE_COLUMNS)
#define RECORD_COLS PARLEY_COLS_SQL(PARLEY_RECORD_COLUMNS)
#define KEY_COLS PARLEY_COLS_SQL(PARLEY_KEY_COLUMNS)
#define MSG_COLS PARLEY_COLS_SQL(PARLEY_MESSAGE_COLUMNS)
#define MSG_COLS_M PARLEY_COLS_SQL_M(PARLEY_MESSAGE_COLUMNS)
#define MSG_COLS_ENVELOPE MSG_COLS ", envelope"
#define MSG_INSERT_COLS PARLEY_COLS_SQL(PARLEY_MESSAGE_DATA_COLUMNS) ", envelope"
#define RCPT_COLS PARLEY_COLS_SQL(PARLEY_RECIPIENT_COLUMNS)
#define ACK_COLS PARLEY_COLS_SQL(PARLEY_ACK_COLUMNS)
#define CHECKPOINT_COLS PARLEY_COLS_SQL(PARLEY_CHECKPOINT_COLUMNS)
#define EVENT_COLS PARLEY_COLS_SQL(PARLEY_EVENT_COLUMNS)
#define CLOCK_COLS PARLEY_COLS_SQL(PARLEY_CLOCK_COLUMNS)
#define EVIDENCE_COLS PARLEY_COLS_SQL(PARLEY_EVIDENCE_COLUMNS)
#define EVIDENCE_COLS_MANIFEST EVIDENCE_COLS ", manifest"
#define EVIDENCE_RCPT_COLS PARLEY_COLS_SQL(PARLEY_EVIDENCE_RCPT_COLUMNS)
#define CUSTODY_COLS PARLEY_COLS_SQL(PARLEY_CUSTODY_COLUMNS)

/* ---- column numbers -------------------------------------------------------------------- */

#define PARLEY_STATE_COL(c) STATE_COL_##c
#define PARLEY_RECORD_COL(c) RECORD_COL_##c
#define PARLEY_KEY_COL(c) KEY_COL_##c
#define PARLEY_MESSAGE_COL(c) MSG_COL_##c
#define PARLEY_RECIPIENT_COL(c) RCPT_COL_##c
#define PARLEY_ACK_COL(c) ACK_COL_##c
#define PARLEY_CHECKPOINT_COL(c) CHECKPOINT_COL_##c
#define PARLEY_EVENT_COL(c) EVENT_COL_##c
#define PARLEY_CLOCK_COL(c) CLOCK_COL_##c
#define PARLEY_EVIDENCE_COL(c) EVIDENCE_COL_##c
#define PARLEY_EVIDENCE_RCPT_COL(c) EVIDENCE_RCPT_COL_##c
#define PARLEY_CUSTODY_COL(c) CUSTODY_COL_##c

enum { PARLEY_STATE_COLUMNS(PARLEY_STATE_COL, PARLEY_COL_COMMA), STATE_NCOLS };
enum { PARLEY_RECORD_COLUMNS(PARLEY_RECORD_COL, PARLEY_COL_COMMA), RECORD_NCOLS };
enum { PARLEY_KEY_COLUMNS(PARLEY_KEY_COL, PARLEY_COL_COMMA), KEY_NCOLS };
/* MSG_COL_envelope is the column after the listed ones, as MSG_COLS_ENVELOPE selects it */
enum { PARLEY_MESSAGE_COLUMNS(PARLEY_MESSAGE_COL, PARLEY_COL_COMMA), MSG_COL_envelope };
enum { PARLEY_RECIPIENT_COLUMNS(PARLEY_RECIPIENT_COL, PARLEY_COL_COMMA), RCPT_NCOLS };
enum { PARLEY_ACK_COLUMNS(PARLEY_ACK_COL, PARLEY_COL_COMMA), ACK_NCOLS };
enum { PARLEY_CHECKPOINT_COLUMNS(PARLEY_CHECKPOINT_COL, PARLEY_COL_COMMA), CHECKPOINT_NCOLS };
enum { PARLEY_EVENT_COLUMNS(PARLEY_EVENT_COL, PARLEY_COL_COMMA), EVENT_NCOLS };
enum { PARLEY_CLOCK_COLUMNS(PARLEY_CLOCK_COL, PARLEY_COL_COMMA), CLOCK_NCOLS };
/* A statistics row: the message columns, then the legal basis (NULL when none). */
enum { STATS_COL_instrument = MSG_COL_envelope, STATS_COL_article };
/* EVIDENCE_COL_manifest is the column after the listed ones (EVIDENCE_COLS_MANIFEST) */
enum { PARLEY_EVIDENCE_COLUMNS(PARLEY_EVIDENCE_COL, PARLEY_COL_COMMA), EVIDENCE_COL_manifest };
enum {
  PARLEY_EVIDENCE_RCPT_COLUMNS(PARLEY_EVIDENCE_RCPT_COL, PARLEY_COL_COMMA),
  EVIDENCE_RCPT_NCOLS
};
enum { PARLEY_CUSTODY_COLUMNS(PARLEY_CUSTODY_COL, PARLEY_COL_COMMA), CUSTODY_NCOLS };

/* Inserting a message binds its data columns then the envelope: one parameter each. */
enum { MSG_INSERT_NPARAMS = MSG_COL_envelope };

/* ---- statements ------------------------------------------------------------------------ */

/* The statements both engines prepare, in one order: each engine's statement table is
 * indexed by Q_<NAME> and must give every one of them its SQL. */
#define PARLEY_STORE_STATEMENTS(X)                                                                 \
  X(STATE_INSERT)                                                                                  \
  X(STATE_GET)                                                                                     \
  X(STATE_UPDATE)                                                                                  \
  X(STATE_LIST)                                                                                    \
  X(RECORD_INSERT)                                                                                 \
  X(RECORD_GET)                                                                                    \
  X(RECORD_GET_LATEST)                                                                             \
  X(KEY_PUT)                                                                                       \
  X(KEY_GET)                                                                                       \
  X(KEY_DELETE)                                                                                    \
  X(OPERATORS_DELETE)                                                                              \
  X(OFFICERS_DELETE)                                                                               \
  X(OFFICER_INSERT)                                                                                \
  X(NONCE_INSERT)                                                                                  \
  X(NONCE_PURGE)                                                                                   \
  X(LEAF_APPEND)                                                                                   \
  X(LOG_SIZE)                                                                                      \
  X(NODE_PUT)                                                                                      \
  X(NODE_GET)                                                                                      \
  X(LEAF_HASH)                                                                                     \
  X(LEAF_ENTRY)                                                                                    \
  X(LEAF_FIND)                                                                                     \
  X(CHECKPOINT_PUT)                                                                                \
  X(CHECKPOINT_GET)                                                                                \
  X(CHECKPOINT_LATEST)                                                                             \
  X(MESSAGE_INSERT)                                                                                \
  X(RECIPIENT_INSERT)                                                                              \
  X(MESSAGE_GET)                                                                                   \
  X(MESSAGE_UPDATE)                                                                                \
  X(RECIPIENTS_GET)                                                                                \
  X(RECIPIENT_UPDATE)                                                                              \
  X(INBOX)                                                                                         \
  X(OUTBOX)                                                                                        \
  X(CASE_MESSAGES)                                                                                 \
  X(DUE_MESSAGES)                                                                                  \
  X(CASES_LATEST)                                                                                  \
  X(ACK_INSERT)                                                                                    \
  X(ACKS_GET)                                                                                      \
  X(EVENT_INSERT)                                                                                  \
  X(EVENTS_GET)                                                                                    \
  X(BASIS_PUT)                                                                                     \
  X(STATS_MESSAGES)                                                                                \
  X(CLOCK_PUT)                                                                                     \
  X(CLOCKS_DUE)                                                                                    \
  X(CLOCKS_OF_CASE) \
  X(EVIDENCE_INSERT) \
  X(EVIDENCE_RCPT_INSERT) \
  X(EVIDENCE_GET) \
  X(EVIDENCE_UPDATE) \
  X(EVIDENCE_LIST) \
  X(EVIDENCE_RCPTS_GET) \
  X(EVIDENCE_CHUNK_PUT) \
  X(EVIDENCE_CHUNK_GET) \
  X(EVIDENCE_CHUNK_HASHES) \
  X(EVIDENCE_CHUNKS_DELETE) \
  X(EVIDENCE_USAGE) \
  X(EVIDENCE_EXPIRED) \
  X(CUSTODY_INSERT) \
  X(CUSTODY_LIST) \
  X(EVIDENCE_RCPT_INSERT_NEW)
#define PARLEY_STATEMENT_ID(n) Q_##n,

/* Keeps the earliest non-zero time of column c and parameter p (SQL text). */
#define EARLIEST(c, p)                                                                             \
  "CASE WHEN " c " = 0 OR (" p " <> 0 AND " p " < " c ") THEN " p " ELSE " c " END"

#endif
