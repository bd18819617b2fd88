/* parleyd internals shared by the HTTP layer, the route table and the handlers.
 * A request flows one way: route table -> handler parses and validates input ->
 * verifies signatures -> one store transaction -> JSON response. */
#ifndef PARLEYD_HUB_H
#define PARLEYD_HUB_H

#include <jansson.h>
#include <microhttpd.h>
#include <stdatomic.h>

#include "parley/base.h"
#include "parley/crypto.h"
#include "parley/store.h"
#include "parley/tlog.h"

/* ---- configuration ------------------------------------------------------ */

typedef struct {
  char listen_addr[64];
  unsigned port;
  char data_dir[512];
  char store_url[600];
  char origin[128];     /* hub origin name, e.g. "parley.example.org"; log origin */
  char public_url[256]; /* base URL clients use; part of @target-uri */
  char hub_key_file[512];
  char operator_keys[8][64]; /* base64url Ed25519 public keys allowed to act as operator */
  size_t n_operator_keys;
  parley_cosig_verifier witness_keys[8]; /* witnesses whose cosignatures the hub keeps */
  size_t n_witness_keys;
  unsigned threads;
  size_t max_body;   /* bytes */
  size_t max_url;    /* bytes */
  size_t max_header; /* bytes of all headers (MHD connection memory) */
  unsigned max_conn_per_ip;
  unsigned max_connections;
  unsigned timeout_s;          /* idle connection timeout */
  unsigned stream_keepalive_s; /* between keep-alive comments on an idle event stream */
  unsigned max_streams;        /* open event streams in all; below max_connections */
  unsigned max_streams_per_key;
  int64_t sig_window_s; /* accepted |now - created| for request signatures */
  int64_t checkpoint_interval_s;
  int log_level;
  bool insecure_hub_key; /* hub key file without a passphrase: tests and demo only */
  char smtp_url[256];    /* e.g. smtp://127.0.0.1:25; empty: no e-mail alerts */
  char smtp_from[128];
  int64_t ack_deadline_s[3]; /* per priority: routine, urgent, critical */
  int64_t escalation_step_s; /* between escalation alerts after a deadline passed */
  /* treaty clocks (clocks.c) */
  int64_t preservation_s, preservation_reminder_s, production_order_s, oral_confirmation_s,
      emergency_response_s, respond_by_reminder_s;
  unsigned scheduler_tick_ms;
  int64_t stale_check_s; /* how often POCs of stale records are e-mailed; 0: never */
  /* Alerts (notify.c) and webhook destinations (webhook_url.c). */
  bool webhook_allow_loopback_http; /* http:// to loopback destinations: tests only */
  bool webhook_allow_private;       /* private and loopback destinations */
  unsigned webhook_timeout_s;       /* connect and whole POST */
  unsigned webhook_workers;         /* threads posting webhooks */
  unsigned webhook_queue;           /* queued alerts per webhook destination */
  unsigned notify_queue;            /* queued alerts per channel (e-mail, webhooks) */
  /* Budgets per key and per state (budget.c) and request freshness (auth.c); 0 in a
   * budget means unlimited. */
  unsigned key_rate;            /* signed requests per second per key (token bucket) */
  unsigned key_burst;           /* the bucket's depth */
  unsigned key_nonces;          /* unexpired request nonces held per key */
  uint64_t state_bytes_per_day; /* message body bytes admitted per state per UTC day */
  unsigned max_streams_per_state;
  int64_t sig_future_s;      /* how far ahead of the hub's clock `created` may be */
  unsigned stream_recheck_s; /* an open stream re-checks its key's authorization */
  /* The web app (h_app.c): folder of the built bundle served under /app/. */
  char web_dir[512];
  /* Evidence packages (h_evidence.c): ciphertext folder with the SQLite store (empty:
   * DATA_DIR/evidence), per-state quotas (0: unlimited). */
  char evidence_dir[512];
  uint64_t evidence_state_bytes;   /* ciphertext stored (uploading or available) per state */
  unsigned evidence_state_uploads; /* unfinished uploads per state */
  /* parleyd-signer's Unix socket (signer_client.c); empty: the key is loaded here. */
  char signer_socket[108];
  /* The newest witness-cosigned checkpoint, kept outside the store for the start-up
   * check (log_guard.c); default DATA_DIR/cosigned-checkpoint.note. */
  char cosigned_checkpoint[512];
} parleyd_config;

void parleyd_config_defaults(parleyd_config *c);
/* Reads "key = value" lines; unknown keys are an error naming the line. */
parley_err parleyd_config_load_file(parleyd_config *c, const char *path, parley_error *err);
/* Parses command-line flags (they override the file). Returns 0 to run, 1 if help was
 * printed, -1 on a usage error (message printed). */
int parleyd_config_parse_args(parleyd_config *c, int argc, char **argv);
parley_err parleyd_config_finish(parleyd_config *c, parley_error *err);

/* ---- metrics ------------------------------------------------------------ */

void parleyd_metrics_init(size_t n_routes);
/* duration_ns PARLEYD_NO_LATENCY: counted by status only (an event stream's lifetime). */
#define PARLEYD_NO_LATENCY UINT64_MAX
void parleyd_metrics_record(int route_index, int status, uint64_t duration_ns);
/* Appends the Prometheus text exposition. */
parley_err parleyd_metrics_render(parley_buf *out, parley_store *store);

/* ---- the hub ------------------------------------------------------------ */

typedef struct {
  parleyd_config cfg;
  parley_store *store;
  parley_identity hub_key; /* signs checkpoints; never leaves this process */
  char hub_key_id[32];
  struct MHD_Daemon *mhd;
  atomic_bool stopping;
  atomic_bool ready; /* public_url is final: signed requests can be checked */
  int64_t started;
} parleyd_hub;

extern parleyd_hub *parleyd;

/* ---- requests ----------------------------------------------------------- */

#define PARLEYD_MAX_PARAMS 4

typedef struct parleyd_route parleyd_route;

typedef struct parleyd_req {
  struct MHD_Connection *conn;
  const char *method;
  const char *url; /* path only, as received */
  char *raw_uri;   /* path and query exactly as received (for @target-uri) */
  bool uri_too_long;
  bool started;
  const parleyd_route *route;
  int route_index;
  char params[PARLEYD_MAX_PARAMS][128]; /* path segments captured by {} */
  size_t n_params;
  parley_buf body;
  bool body_refused; /* a response was queued before the body was read */
  uint64_t t0;
  int status; /* the status answered, for metrics and the access log */
  bool replied;
  /* Set by authentication before the handler runs. */
  bool authenticated;
  parley_key_row who;
  char nonce[160];
  bool streaming; /* the answer is an event stream: its duration is no latency */
  /* A write handed to the writer thread (writer.c); `defer` is guarded by its lock. */
  int defer;
  parley_store_batch_item write;
  void (*committed)(void *cls); /* on the writer thread, once durable */
  void (*finish)(struct parleyd_req *r, parley_err rc, const parley_error *err);
  bool finished; /* finish ran */
  bool gone;     /* the connection is closing: replies are dropped */
  struct parleyd_req *next;
} parleyd_req;

typedef void (*parleyd_handler)(parleyd_req *r);

/* Who may call a route. */
enum {
  PARLEYD_AUTH_PUBLIC = 0, /* no signature needed */
  PARLEYD_AUTH_OPERATOR = 1 << PARLEY_ROLE_OPERATOR,
  PARLEYD_AUTH_ROOT = 1 << PARLEY_ROLE_STATE_ROOT,
  PARLEYD_AUTH_OFFICER = 1 << PARLEY_ROLE_OFFICER,
  PARLEYD_AUTH_ANY = PARLEYD_AUTH_OPERATOR | PARLEYD_AUTH_ROOT | PARLEYD_AUTH_OFFICER,
};

struct parleyd_route {
  const char *method;
  const char *pattern; /* "/v1/states/{}/records/{}": {} matches one non-empty segment */
  parleyd_handler handler;
  unsigned auth;    /* PARLEYD_AUTH_* mask */
  const char *name; /* metrics label */
};

/* The media type a route's request body must have; NULL: application/json. */
const char *parleyd_route_body_type(const parleyd_route *route);

extern const parleyd_route parleyd_routes[];
extern const size_t parleyd_n_routes;

/* Finds the route for method+path. Returns its index, -1 if no path matches (404), or
 * -2 if the path matches with another method (405). */
int parleyd_route_match(const char *method, const char *path, parleyd_req *r);

/* ---- replies and request reading (reply.c): a handler calls exactly one reply */

void parleyd_reply_json(parleyd_req *r, unsigned status, json_t *body /* stolen */);
void parleyd_reply_raw(parleyd_req *r, unsigned status, const char *content_type, const void *data,
                       size_t len);
/* {"code": NAME, "hint": registry hint, "detail": detail} with the registry's status. */
void parleyd_reply_error(parleyd_req *r, parley_err code, const char *detail);
void parleyd_reply_err(parleyd_req *r, const parley_error *err);
/* Like parleyd_reply_error, with a Retry-After header (429 and 503 answers). */
void parleyd_reply_error_retry(parleyd_req *r, parley_err code, const char *detail,
                               unsigned retry_after_s);
/* Queues a response built by the handler (e.g. from a content reader) with the headers
 * every answer carries; resp is released here. */
void parleyd_reply_response(parleyd_req *r, unsigned status, struct MHD_Response *resp);

/* Parses the body as a JSON object within the hub's limits; on failure answers 400
 * itself and returns NULL. */
json_t *parleyd_parse_body(parleyd_req *r);

const char *parleyd_header(parleyd_req *r, const char *name);
/* How many times a header field was sent (MHD's lookup returns only the first). */
unsigned parleyd_header_count(parleyd_req *r, const char *name);
const char *parleyd_query(parleyd_req *r, const char *name);

/* ---- cross-origin access to the API (cors.c) ---------------------------- */

/* True for the paths a page of another origin may call (/v1/..., /log/..., /healthz). */
bool parleyd_cors_applies(const char *path);
/* Adds Access-Control-Allow-Origin: * and the exposed headers (reply.c, every answer). */
void parleyd_cors_headers(struct MHD_Response *resp);
/* The answer (204) to an OPTIONS preflight: the methods and headers the API takes.
 * NULL when out of memory (the reply is then a 500). */
struct MHD_Response *parleyd_cors_preflight(void);

/* ---- HTTP server (http.c) ----------------------------------------------- */

parley_err parleyd_http_start(parleyd_hub *hub, parley_error *err);
void parleyd_http_stop(parleyd_hub *hub);

/* ---- group commit (writer.c) --------------------------------------------- */

/* Answers a deferred write: rc is OK once the write is durable, else the failure. */
typedef void (*parleyd_finish_fn)(parleyd_req *r, parley_err rc, const parley_error *err);

/* Queues fn (run in the writer's next shared transaction, in its own savepoint; it must
 * be rerunnable as for parley_store_run) and defers the answer: the handler returns
 * without replying, and `finish` replies on a pool thread once the commit is durable or
 * failed; it runs exactly once and frees cls, even if the client is gone (replies are
 * then dropped). `committed` (may be NULL) runs on the writer thread right after a
 * durable commit of this write, whatever becomes of the connection: the place for
 * alerts. fn, cls and the request stay untouched by the handler until then. */
void parleyd_write_deferred(parleyd_req *r, parley_tx_fn fn, void *cls, void (*committed)(void *),
                            parleyd_finish_fn finish);
/* For the HTTP layer: runs finish once (see above). */
void parleyd_write_finish(parleyd_req *r);
/* Waits (at most ms) until every deferred write has been finished. */
void parleyd_writer_drain(unsigned ms);
/* For the HTTP layer: suspends the connection if the write is still pending (true), or
 * answers false when it is already done. */
bool parleyd_write_park(parleyd_req *r);
/* For the HTTP layer: the deferred write is done and finish may run. */
bool parleyd_write_ready(parleyd_req *r);
parley_err parleyd_writer_start(parley_error *err);
/* Writes and answers what is queued, then stops. */
void parleyd_writer_stop(void);
void parleyd_writer_stats(uint64_t *batches, uint64_t *writes);

/* ---- push: Server-Sent Events (h_stream.c) ------------------------------ */

/* Tells the open streams of one POC, on this instance and (cluster.c) the others, that
 * its inbox or outbox changed (a new message, a receipt). Non-blocking; call only after
 * the change is committed. */
void parleyd_stream_wake(const char *state, const char *poc);
/* The streams of this process only; _all wakes every stream (a wake-up may have been
 * lost). */
void parleyd_stream_wake_local(const char *state, const char *poc);
void parleyd_stream_wake_all(void);
/* Ends every open stream (each finishes its response) and refuses new ones. The HTTP
 * layer calls it before stopping MHD, which must not stop while a connection is
 * suspended. */
void parleyd_streams_end(void);
size_t parleyd_streams_open(void);

/* Request authentication (RFC 9421), in two steps so that a body is read only for a
 * party allowed to send it. From the headers alone, before any of the body is read:
 * the signature (over content-digest when content_length > 0), freshness, replay,
 * role, state, and the key's and state's budgets. After the body: its Content-Digest.
 * Each answers itself on failure and returns false. */
bool parleyd_authenticate_head(parleyd_req *r, uint64_t content_length);
bool parleyd_authenticate_body(parleyd_req *r);
/* Called once before the hub serves: signatures created before now are refused (a
 * request captured from an earlier process cannot be replayed to this one); budgets
 * and the journal of nonces dated ahead (DATA_DIR/nonces-ahead) are set up. */
parley_err parleyd_auth_start(parley_error *err);
void parleyd_auth_stop(void);
/* Records the request's nonce durably in the write's transaction: a replayed write is
 * refused (AUTH_REPLAY) even after a restart. */
parley_qs parleyd_tx_nonce(parley_tx *tx, parleyd_req *r, parley_error *err);
/* The same for a nonce given apart from its request (key_id: the key that signed it). */
parley_qs parleyd_tx_nonce_record(parley_tx *tx, const char *key_id, const char *nonce,
                                  parley_error *err);

#endif
