/* Treaty clocks (docs/protocol.md §10.1), kept on metadata only: the kind, sender,
 * recipients, case, in_reply_to and legal basis of each message the hub accepts.
 *   preservation-lapse    a preservation-request: lapses preservation_s after it
 *                         (UN Art. 42(7), Budapest Art. 29(7): at least 60 days), with a
 *                         reminder preservation_reminder_s before; met when the same state
 *                         sends, in the same case, the request the preservation announced
 *                         (mutual-legal-assistance, stored-data-access, production-order)
 *                         or a further preservation-request (an extension, which starts
 *                         its own clock);
 *   written-confirmation  an oral-request: met by a written request of the same state in
 *                         the same case within oral_confirmation_s (UN Art. 40(14));
 *   production-response   a production-order: met by a status-update or response of a
 *                         recipient state in reply within production_order_s (Second
 *                         Protocol Art. 8(6): 45 days at most);
 *   emergency-response    an emergency-disclosure or emergency-assistance: met likewise
 *                         within emergency_response_s (Arts. 9 and 10);
 *   respond-by            a request whose signed header carries respond_by (the reasons
 *                         are in the body): due then (a date: at the end of that day, UTC),
 *                         reminder respond_by_reminder_s before; met by a response, or a
 *                         status update with a final status (executed, partially-executed,
 *                         refused, withdrawn), from a recipient state in reply. Past due it
 *                         escalates like an acknowledgement deadline: it lapses (sender
 *                         and addressed POCs alerted) and, every escalation_step_s until
 *                         met, alerts the next POC of each recipient state's escalation
 *                         order; it stays running meanwhile and is settled lapsed when
 *                         the orders are walked through.
 * A clock is stored with the message, in the same transaction, so it survives restarts;
 * job_clocks.c reminds and marks lapses. */
#ifndef PARLEYD_CLOCKS_H
#define PARLEYD_CLOCKS_H

#include "hub.h"
#include "parley/envelope.h"

/* Emergency kinds take the critical acknowledgement deadline whatever their priority. */
bool parleyd_kind_is_emergency(const char *kind);

/* A verified envelope just stored: records its legal basis, meets the clocks of its case
 * it satisfies, starts the clocks its kind sets, and notes a status update on the
 * request it answers. Works inside the caller's transaction. */
parley_qs parleyd_clocks_on_submit(parley_tx *tx, const parley_envelope_info *in, int64_t now);

/* Whether a clock past its due time is still escalating (respond-by). */
bool parleyd_clock_escalates(const char *name);

/* {"message","name","state","started","due","remind_at"?,"status","overdue"?,"settled"?} */
json_t *parleyd_clock_json(const parley_clock_row *c);
extern const char *const parleyd_clock_statuses[]; /* "running", "met", "lapsed" */

/* GET /v1/cases/{id}/clocks: the clocks of the case's messages the caller sent or
 * received (h_stats.c). */
void h_case_clocks(parleyd_req *r);
/* GET /v1/stats?group=instrument,kind,pair&format=json|csv|svg (h_stats.c). */
void h_stats(parleyd_req *r);
/* The scheduler's pass over due clocks (job_clocks.c). */
void parleyd_job_clocks(void);

#endif
