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
/* An acks_get callback appending to the JSON array cls one receipt as served:
 * {"receipt": the signed object exactly as stored (no member added, so its signature
 * verifies as is), "leaf_index": its index in the log}. */
bool parleyd_receipt_json(void *cls, const parley_ack_row *a);

/* h_pings.c */
void h_ping_start(parleyd_req *r);
void h_ping_list(parleyd_req *r);
void h_ping_report(parleyd_req *r);
void h_ping_trend(parleyd_req *r);

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

/* checkpoint.c */
/* At start: signs a checkpoint if the latest one does not commit to the directory as
 * stored (a fresh or older store). */
parley_err parleyd_dir_startup(parley_error *err);
/* Returns the latest checkpoint, signing a new one first if the log has grown and the
 * last is older than the interval (or when force). Caller clears *out. */
parley_err parleyd_checkpoint(bool force, parley_checkpoint_row *out, parley_error *err);

/* Inside a write transaction: signs a new checkpoint if the log has grown and the last
 * one is older than the interval, or whenever it has grown when `force`. */
parley_qs parleyd_checkpoint_tx(parley_tx *tx, bool force, parley_checkpoint_row *out,
                                parley_error *err);

/* directory_log.c: the directory in the log (docs/tlog.md). */
/* Appends {"action",...} (stolen; format and time added) as a directory entry. */
parley_qs parleyd_dir_log(parley_tx *tx, json_t *obj, uint64_t *leaf, parley_error *err);
/* Appends the checkpoint's directory extension line for the directory as stored. */
parley_qs parleyd_dir_ext(parley_tx *tx, parley_buf *ext, parley_error *err);
/* {"checkpoint","index","count","proof"[,"root_replaced_at"]}: state `code`'s leaf in the
 * latest checkpoint's directory commitment; NULL with *qs < 0 on failure. */
json_t *parleyd_dir_proof_json(parley_tx *tx, const char *code, parley_qs *qs, parley_error *err);

/* h_witness.c: POST /log/add-cosignature (public; the cosignature authenticates itself). */
void h_log_add_cosignature(parleyd_req *r);

/* transparency_log.c: transparency-log appends, in the caller's transaction. */
/* Appends kind || "\n" || SHA-256(object); *leaf gets the index. */
parley_qs parleyd_log_append(parley_tx *tx, const char *kind, const void *object, size_t len,
                             uint64_t *leaf, parley_error *err);
/* Appends an entry given in full (it must start with kind "\n"). */
parley_qs parleyd_log_entry(parley_tx *tx, const char *kind, const void *entry, size_t len,
                            uint64_t *leaf, parley_error *err);
/* Appends an operator event {"event","subject","time"} in clear. */
parley_qs parleyd_log_event(parley_tx *tx, const char *event, const char *subject, uint64_t *leaf,
                            parley_error *err);

/* Scheduled jobs, one file each, run by scheduler.c. */
/* job_escalate.c: escalates messages past their deadline; reminds ping targets. */
void parleyd_job_escalate(void);
/* job_stale_records.c: e-mails the POCs of records past their review date. */
void parleyd_job_stale_records(void);
/* job_recur_pings.c: starts the next round of every recurring series that is due. */
void parleyd_job_recur_pings(void);

/* h_evidence.c: evidence packages (tus 1.0 uploads, ranged downloads, custody). */
void h_evidence_create(parleyd_req *r);
void h_evidence_offset(parleyd_req *r);
void h_evidence_patch(parleyd_req *r);
void h_evidence_terminate(parleyd_req *r);
void h_evidence_list(parleyd_req *r);
void h_evidence_get(parleyd_req *r);
void h_evidence_chunks(parleyd_req *r);
void h_evidence_content(parleyd_req *r);
void h_evidence_custody_add(parleyd_req *r);
void h_evidence_custody(parleyd_req *r);
/* Deletes the ciphertext of packages past their retention date (custody is kept). */
void parleyd_job_evidence_retention(void);

/* scheduler.c: runs the jobs, signs checkpoints, purges nonces. */
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
