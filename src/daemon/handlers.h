/* Every HTTP handler parleyd has; one file per resource (h_<resource>.c). */
#ifndef PARLEYD_HANDLERS_H
#define PARLEYD_HANDLERS_H

#include "hub.h"

/* h_health.c */
void h_healthz(parleyd_req *r);
void h_metrics(parleyd_req *r);
void h_whoami(parleyd_req *r);

/* h_home.c */
void h_home(parleyd_req *r);

/* h_app.c: the web app's static files under /app/ (from --web-dir). */
void h_app(parleyd_req *r);

/* h_states.c */
void h_state_add(parleyd_req *r);
void h_state_suspend(parleyd_req *r);
void h_state_activate(parleyd_req *r);
void h_state_list(parleyd_req *r);
void h_state_get(parleyd_req *r);
void h_record_put(parleyd_req *r);
void h_record_get(parleyd_req *r);
void h_record_get_version(parleyd_req *r);

/* h_messages.c */
void h_message_submit(parleyd_req *r);
void h_inbox(parleyd_req *r);
void h_outbox(parleyd_req *r);
void h_message_get(parleyd_req *r);
void h_message_ack(parleyd_req *r);
void h_case_get(parleyd_req *r);

/* h_stream.c */
void h_inbox_stream(parleyd_req *r);

/* message_json.c: a message's metadata as listings and the event stream show it. */
json_t *parleyd_message_json(const parley_message_row *m);

/* h_pings.c */
void h_ping_start(parleyd_req *r);
void h_ping_list(parleyd_req *r);
void h_ping_report(parleyd_req *r);
void h_ping_trend(parleyd_req *r);
/* Starts the next round of every recurring series that is due (scheduler). */
void parleyd_pings_recur(void);

/* A state's current record as parsed JSON (new reference), NULL if none; *qs gets the
 * store's answer. Records are verified when published, so this only parses. */
json_t *parleyd_current_record(parley_tx *tx, const char *state, parley_qs *qs);

/* h_rotation.c */
void h_state_root_key(parleyd_req *r);

/* h_directory.c */
void h_directory_search(parleyd_req *r);
void h_directory_export(parleyd_req *r);
void h_report_stale(parleyd_req *r);

/* h_log.c */
void h_log_checkpoint(parleyd_req *r);
void h_log_proof(parleyd_req *r);
void h_log_consistency(parleyd_req *r);
void h_log_tile(parleyd_req *r);
void h_log_key(parleyd_req *r);
/* Returns the latest checkpoint, signing a new one first if the log has grown and the
 * last is older than the interval (or when force). Caller clears *out. */
parley_err parleyd_checkpoint(bool force, parley_checkpoint_row *out, parley_error *err);

/* h_witness.c: POST /log/add-cosignature (public; the cosignature authenticates itself). */
void h_log_add_cosignature(parleyd_req *r);

/* log.c: transparency-log appends, in the caller's transaction. */
/* Appends kind || "\n" || SHA-256(object); *leaf gets the index. */
parley_qs parleyd_log_append(parley_tx *tx, const char *kind, const void *object, size_t len,
                             uint64_t *leaf, parley_error *err);
/* Appends an operator event {"event","subject","time"} in clear. */
parley_qs parleyd_log_event(parley_tx *tx, const char *event, const char *subject, uint64_t *leaf,
                            parley_error *err);
/* Records the request's nonce durably in the write's transaction: a replayed write is
 * refused (AUTH_REPLAY) even after a restart. */
parley_qs parleyd_tx_nonce(parley_tx *tx, parleyd_req *r, parley_error *err);

/* scheduler.c: deadlines, escalation, checkpoints, nonce purge. */
void parleyd_scheduler_start(void);
void parleyd_scheduler_stop(void);

/* notify.c: e-mail alerts (metadata only), queued and sent by a worker thread. */
void parleyd_notify_start(void);
void parleyd_notify_stop(void);
void parleyd_notify_email(const char *to, const char *subject, const char *body);
/* POSTs json_body to url with a Parley-Signature header by the hub key. */
void parleyd_notify_webhook(const char *url, const char *json_body);
void parleyd_notify_stats(uint64_t *sent, uint64_t *failed);

#endif
