/* parley, the command-line client: shared state and helpers of the subcommands. */
#ifndef PARLEY_CLI_H
#define PARLEY_CLI_H

#include <jansson.h>
#include <signal.h>
#include <stdio.h>

#include "parley/base.h"
#include "parley/crypto.h"
#include "parley/envelope.h"
#include "parley/proto.h"
#include "parley/tlog.h"

typedef struct {
  char hub[512];      /* base URL of the hub, e.g. http://127.0.0.1:8440 */
  char key_file[512]; /* the user's secret key file */
  char config_file[512];
  char home[512];    /* state directory: pinned keys, checkpoints (~/.config/parley) */
  char ca_file[512]; /* CA certificates for the hub's TLS (--ca-file, ca_file =); empty: system's */
  bool json_output;
  bool headers_only; /* cli_http prints the signed headers instead of sending */
  /* Witnesses whose cosignatures count (config "witness = VKEY", up to 8, distinct) and
   * how many of them must cosign a checkpoint ("witnesses_required = K"; 0: none). */
  parley_cosig_verifier witnesses[8];
  size_t n_witnesses;
  unsigned witnesses_required;
} cli_config;

extern cli_config cli;

/* Applies the TLS settings (cli.ca_file) to a libcurl handle (a CURL *). */
void cli_curl_tls(void *curl);

typedef struct {
  const char *name; /* "keygen", "key show", "admin state add" */
  int (*run)(int argc, char **argv);
  const char *summary;
} cli_command;

/* Prints "parley: <msg>" to stderr and returns the exit status 1. */
int cli_fail(const char *fmt, ...) PARLEY_PRINTF(1, 2);
/* Prints a libparley error as "parley: CODE: hint (detail)". */
int cli_fail_err(const char *what, const parley_error *err);

/* Loads the user's identity from cli.key_file; asks for a passphrase (PARLEY_PASSPHRASE,
 * or the terminal) only if the file is encrypted. */
int cli_load_identity(parley_identity *id);
/* Reads a passphrase: PARLEY_PASSPHRASE, else the terminal without echo (twice when
 * `confirm`). Returns false if none can be had. */
bool cli_read_passphrase(const char *prompt, bool confirm, char *out, size_t cap);

/* Exclusive lock on the client's state files for this user; unlock closes it. */
int cli_state_lock(void);
void cli_state_unlock(int fd);

/* Hub-supplied text for a terminal: control characters (C0, DEL, C1) escaped as \xNN,
 * \n, \t, \u00NN, so no escape sequence from the hub reaches the terminal. cli_safe
 * returns one of 8 rotating static buffers (so up to 8 may appear in one printf), cut
 * with "..." past CLI_SAFE_MAX bytes; NULL prints as "(missing)". cli_print_safe writes
 * all of s. */
#define CLI_SAFE_MAX 1024
const char *cli_safe(const char *s);
void cli_print_safe(FILE *f, const char *s);
/* obj[key] if it is a JSON string, else NULL (obj may be NULL or not an object). */
const char *cli_jstr(const json_t *obj, const char *key);
/* obj[key] into *out if it is a JSON integer; false (out untouched) otherwise. */
bool cli_jint(const json_t *obj, const char *key, long long *out);
/* Writes len bytes of hub-supplied text (a JSON text, a CSV or vCard file) with every
 * control character but newline (and the CR of a CRLF) written as \u00NN: DEL and C1
 * too, which JSON allows raw in strings: a JSON text (where control characters can only
 * be in strings, jansson's output) stays the same JSON value. */
void cli_write_safe_text(FILE *f, const char *s, size_t len);
/* json_dumps(v, flags) through cli_write_safe_text, then a newline. */
void cli_print_json(FILE *f, const json_t *v, size_t flags);

/* Reads a whole file (or stdin for "-"), at most max bytes. Caller frees. */
char *cli_read_file(const char *path, size_t max, size_t *len);
parley_err cli_write_file_atomic(const char *path, const void *data, size_t len, int mode);

/* ---- HTTP to the hub ---------------------------------------------------- */

typedef struct {
  long status;
  char *body; /* NUL-terminated, caller frees with cli_response_free */
  size_t len;
  char content_type[128];
} cli_response;
void cli_response_free(cli_response *r);

/* Sends a request to cli.hub + path, signed with id (RFC 9421) unless id is NULL. A body
 * is sent as application/json with its Content-Digest. Returns 0 when a response (any
 * status) arrived, else prints the transport error and returns 1. */
int cli_http(const char *method, const char *path, const void *body, size_t body_len,
             const parley_identity *id, cli_response *out);
/* Signed GET of path: the parsed JSON of a 2xx answer, or NULL after printing why. */
json_t *cli_get_json(const char *path);
/* Signed GET of path written to out ("-": stdout). 0 on success. */
int cli_get_to_output(const char *path, const char *out);
/* A signed GET of an event stream (text/event-stream), read until it ends. */
typedef struct {
  const char *path;
  /* In: sent as Last-Event-ID (covered by the signature) unless empty. Out: the id of
   * the last event received. */
  char last_event_id[32];
  unsigned idle_s; /* silence after which the connection counts as dropped */
  /* Each event with data; returns false to stop reading. May change idle_s. */
  bool (*on_event)(void *cls, const char *event, const char *data);
  void *cls;
  volatile sig_atomic_t *stop; /* checked at least once a second; may be NULL */
  long status;                 /* out: the HTTP status */
} cli_sse;
typedef enum {
  CLI_SSE_ENDED,   /* the hub ended the stream */
  CLI_SSE_DROPPED, /* the connection failed, broke or went silent (said on stderr) */
  CLI_SSE_REFUSED, /* the hub answered an error (printed); see status */
  CLI_SSE_STOPPED, /* *stop was set, or on_event returned false */
  CLI_SSE_FAILED   /* nothing was sent: no hub, bad path, signing failed (printed) */
} cli_sse_end;
cli_sse_end cli_sse_run(cli_sse *s, const parley_identity *id);
/* For a non-2xx response: prints the hub's {"code","hint","detail"} and returns 1. */
int cli_print_http_error(const cli_response *r);
/* Parses a JSON response body; prints an error and returns NULL if it is not JSON. */
json_t *cli_response_json(const cli_response *r);

/* ---- subcommands -------------------------------------------------------- */

int cmd_keygen(int argc, char **argv);
int cmd_key_show(int argc, char **argv);
int cmd_api(int argc, char **argv);
int cmd_admin_state_add(int argc, char **argv);
int cmd_admin_state_suspend(int argc, char **argv);
int cmd_admin_state_activate(int argc, char **argv);
int cmd_state_init(int argc, char **argv);
int cmd_admin_ping_schedule(int argc, char **argv);
int cmd_admin_ping_status(int argc, char **argv);
int cmd_admin_ping_report(int argc, char **argv);
int cmd_state_rotate_root(int argc, char **argv);
int cmd_admin_state_set_root(int argc, char **argv);
int cmd_state_poc_add(int argc, char **argv);
int cmd_state_sign(int argc, char **argv);
int cmd_state_cooperation(int argc, char **argv);
int cmd_state_publish(int argc, char **argv);
int cmd_directory_list(int argc, char **argv);
int cmd_directory_show(int argc, char **argv);
int cmd_directory_search(int argc, char **argv);
int cmd_directory_export(int argc, char **argv);
int cmd_directory_trust(int argc, char **argv);

int cmd_log_checkpoint(int argc, char **argv);
int cmd_web(int argc, char **argv);
int cmd_witness_init(int argc, char **argv);
int cmd_witness_show(int argc, char **argv);
int cmd_witness_run(int argc, char **argv);
int cmd_send(int argc, char **argv);
int cmd_inbox(int argc, char **argv);
int cmd_read(int argc, char **argv);
int cmd_ack(int argc, char **argv);
int cmd_reply(int argc, char **argv);
int cmd_case(int argc, char **argv);
int cmd_stats(int argc, char **argv);
/* cmd_evidence.c: evidence packages. */
int cmd_evidence_send(int argc, char **argv);
int cmd_evidence_list(int argc, char **argv);
int cmd_evidence_fetch(int argc, char **argv);
int cmd_evidence_verify(int argc, char **argv);
int cmd_evidence_custody(int argc, char **argv);
int cmd_evidence_consent(int argc, char **argv);
int cmd_evidence_share(int argc, char **argv);

/* A state's record, trusted only if it matches the pinned root key, verifies, and is
 * in the transparency log (cmd_directory.c). The caller owns *st and *rec. */
int cli_verified_record(const char *code, const char *version, json_t **st, json_t **rec,
                        parley_record_info *info, parley_sign_pk *root, bool *first,
                        uint64_t *log_index, uint64_t *log_size);
int cmd_verify_record(int argc, char **argv);

/* ---- recipients from verified records (recipients.c) ---------------------------- */

typedef struct {
  char state[4];
  char poc[PARLEY_POC_ID_MAX + 1];
  parley_box_pk box; /* its encryption key, from the verified record */
} cli_recipient;

/* "EST:technical" (every POC of EST with that role) or "EST:est-cert" (that POC), from
 * EST's verified record, appended to out[*n] (at most cap in all), skipping an encryption
 * key already there. exact_poc: the part after ':' is a POC id even where it equals a role
 * name (a reply to a verified sender). *record (optional) receives the verified record
 * for the caller's own checks (json_decref it). Prints the refusal and returns 1. */
int cli_resolve_recipients(const char *spec, bool exact_poc, cli_recipient *out, size_t cap,
                           size_t *n, json_t **record);
/* out[i] views r[i] (it points into r). */
void cli_recipients_view(const cli_recipient *r, size_t n, parley_envelope_recipient *out);

/* ---- what a client believes about a message (msg_verify.c) ---------------------
 * docs/protocol.md, "What a client must verify". */

/* Verified directory records, fetched once per state (and record version) in a run. */
typedef struct cli_record_cache cli_record_cache;
cli_record_cache *cli_record_cache_new(void);
void cli_record_cache_free(cli_record_cache *c);

/* Whether key_id was a signing key of POC state/poc, in its state's current verified
 * record or an earlier verified version, when an object signed with it was logged at
 * entry `logged`: a key removed from the record signs nothing logged after its removal
 * (as receipts after a rotation). *pk: the key if found; *valid_before (optional): the
 * log index of the first record version without it (UINT64_MAX: still current), set
 * whenever the key was found, so a refusal can say when it was removed. */
bool cli_poc_key_logged(cli_record_cache *c, const char *state, const char *poc, const char *key_id,
                        uint64_t logged, parley_sign_pk *pk, uint64_t *valid_before);

typedef struct {
  json_t *msg;       /* the hub's whole answer (owned): only its envelope is trusted */
  const json_t *env; /* msg.envelope, the signed object */
  bool verified;     /* all checks of cli_message_get passed */
  bool is_ping;      /* the hub's signed communication check (format parley-ping-v1) */
  /* The verified header. For a communication check: id, kind "ping", from HUB/operator,
   * created = issued, recipients = the first 32 targets (the rest in extra_targets). */
  parley_envelope_info info;
  json_t *extra_targets;
  parley_sign_pk sender_pk;      /* envelopes: the sender's key from its verified record */
  parley_hash hash;              /* what receipts must name as envelope_sha256 */
  uint64_t leaf_index, log_size; /* its verified place in the log */
} cli_message;

/* GETs /v1/messages/{id} and believes it only if the envelope served carries that id,
 * verifies with the sender POC's current signing key from its state's verified record
 * (or, for a communication check, with the pinned hub key), and is in the log. Prints
 * "REFUSED: ..." and returns 1 otherwise. Always cli_message_clear afterwards. */
int cli_message_get(const char *id, cli_record_cache *cache, cli_message *m);
void cli_message_clear(cli_message *m);
bool cli_message_is_recipient(const cli_message *m, const char *state, const char *poc);

/* One receipt served with a message, and whether it counts. */
typedef struct {
  char state[4];
  char poc[64];
  bool verified;
  char why[256]; /* when not verified */
  int64_t time;  /* the receipt's signed time */
  uint64_t leaf_index;
} cli_receipt;
/* Checks each of the hub's "receipts" (up to cap): a recipient POC of the verified
 * header, signed (purpose ack) by a signing key of that POC in its state's verified
 * record (current or an earlier version), naming this message and envelope hash, and in
 * the log. Returns how many were examined. */
size_t cli_message_receipts(const cli_message *m, cli_record_cache *cache, cli_receipt *out,
                            size_t cap);
/* True if a verified receipt from state is among r; *first gets the earliest time. */
bool cli_state_acknowledged(const cli_receipt *r, size_t n, const char *state, int64_t *first);

/* Transparency log (cmd_log.c). */
int cli_accept_checkpoint(const char *note, size_t len, parley_checkpoint *cp_out);
int cli_verify_inclusion(const uint8_t leaf_hash[32], uint64_t *index_out, uint64_t *size_out);
/* The hub's signing key, as pinned on first use with its log key. */
int cli_hub_key(parley_sign_pk *pk);
int cli_entry_leaf_hash(const char *kind, const json_t *obj, uint8_t out[32]);
/* Unsigned GET of a public path; prints the error and returns NULL unless 200. The body
 * is NUL-terminated; caller frees. */
char *cli_get_public(const char *path, size_t *len);
/* JSON state files in cli.home: a missing or unreadable file loads as {}. */
json_t *cli_load_state(const char *name);
int cli_save_state(const char *name, json_t *v);
/* Saves two signed checkpoints that cannot both be true, and why, in
 * cli.home/evidence-<time>/, and says so on stderr. */
void cli_save_evidence(const char *old_note, const char *new_note, const char *why);

/* Sends a signed request (body may be NULL) and prints the JSON answer or the error. */
int cli_request_print(const char *method, const char *path, json_t *body);

#endif
