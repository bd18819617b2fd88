/* The message lifecycle rules, in one place for the handlers, the scheduler and the
 * communication checks.
 *
 * Acknowledgement is tracked per recipient state and POC. A recipient state is
 * acknowledged when a POC of that state addressed by the message sent a valid receipt,
 * answered when such a POC sent a response to the message's sender, and settled when
 * either happened. A receipt or response from one state never settles another.
 *   delivered     a recipient fetched the message (SUBMITTED -> DELIVERED);
 *   acknowledged  every recipient state acknowledged (status ACKNOWLEDGED);
 *   answered      every recipient state settled and one of them answered (ANSWERED);
 *   escalated     past the deadline the message is overdue, and at every step the next
 *                 POC in the escalation order of each state not yet settled is alerted;
 *                 escalation stops for a state once it is settled, and for the message
 *                 once every state is.
 * A hub communication check (kind "ping" from HUB/operator) is acknowledged once every
 * target POC sent a receipt; until then it gets one reminder, never an escalation.
 * Every function taking a tx works inside the caller's transaction. */
#ifndef PARLEYD_LIFECYCLE_H
#define PARLEYD_LIFECYCLE_H

#include "hub.h"
#include "parley/envelope.h"

#define PARLEYD_HUB_STATE "HUB"
#define PARLEYD_HUB_POC "operator"

/* Whether m is a communication check started by the hub. */
bool parleyd_lc_is_hub_check(const parley_message_row *m);

/* One recipient state of a message, as the hub has seen it. */
typedef struct {
  char state[PARLEY_STATE_CODE_LEN];
  size_t pocs;          /* addressed POCs of this state */
  size_t acked_pocs;    /* of those, how many sent a receipt */
  int64_t acknowledged; /* first receipt by a POC of this state; 0: none */
  int64_t answered;     /* first response by a POC of this state; 0: none */
} parleyd_lc_state;

/* A message's recipients (in state, poc order) grouped by state. */
typedef struct {
  parley_recipient_row *rcpts;
  size_t n_rcpts;
  parleyd_lc_state *states;
  size_t n_states;
  bool no_memory; /* while loading */
} parleyd_lc_view;

parley_qs parleyd_lc_load(parley_tx *tx, const parley_message_row *m, parleyd_lc_view *v);
void parleyd_lc_view_free(parleyd_lc_view *v);
/* The entry of state in v, NULL if it is not a recipient state. */
const parleyd_lc_state *parleyd_lc_find_state(const parleyd_lc_view *v, const char *state);
/* The recipient row of (state, poc) in v, NULL if it is not a recipient. */
const parley_recipient_row *parleyd_lc_find_rcpt(const parleyd_lc_view *v, const char *state,
                                                 const char *poc);
bool parleyd_lc_settled(const parleyd_lc_state *s);
/* Whether state s is past the deadline: not settled by then (the hub's word). */
bool parleyd_lc_state_overdue(const parley_message_row *m, const parleyd_lc_state *s, int64_t now);
/* Per state: [{"state","acknowledged","answered","overdue"}] (times RFC 3339 or null). */
json_t *parleyd_lc_states_json(const parley_message_row *m, const parleyd_lc_view *v, int64_t now);

/* A recipient's first fetch: records the delivery (event "delivered") and moves the
 * status from SUBMITTED to DELIVERED. me is the recipient row from the store. */
parley_qs parleyd_lc_delivered(parley_tx *tx, parley_message_row *m, parley_recipient_row me,
                               int64_t now);

/* A recipient's receipt, already verified (signature, message, envelope hash) and
 * logged: stores it, marks the recipient acknowledged and, if every recipient state
 * (for a communication check: every target) now acknowledged, the message too. */
parley_qs parleyd_lc_acknowledged(parley_tx *tx, parley_message_row *m, parley_recipient_row me,
                                  const parley_ack_row *a, int64_t now);

/* A verified envelope just stored: if it is a response from a recipient of the message
 * it replies to, addressed to that message's sender, it answers it for the responder's
 * state. Anything else answers nothing (so no stranger silences an escalation). */
parley_qs parleyd_lc_response(parley_tx *tx, const parley_envelope_info *in, int64_t now);

/* What one escalation pass decided, for the caller to send once committed. */
typedef struct {
  char state[PARLEY_STATE_CODE_LEN];
  char poc[64];
  char email[256]; /* "" if the record names none */
} parleyd_lc_alert;

typedef struct {
  parley_message_row m;
  parleyd_lc_alert *alerts; /* escalation: the next POC of each unsettled state */
  size_t n_alerts;
  parleyd_lc_alert *reminders; /* communication check: targets without a receipt */
  size_t n_reminders;
} parleyd_lc_escalation;

/* The POC to alert for recipient state `state` at escalation step `level` (1-based):
 * walking the state's escalation orders for the roles of its addressed POCs, the
 * level-th distinct POC that was not itself addressed. false if the walk is shorter.
 * (Also used by the respond-by clock, job_clocks.c.) */
bool parleyd_lc_pick_target(parley_tx *tx, const parleyd_lc_view *v, const char *state, int level,
                            parleyd_lc_alert *out);

/* One escalation pass over message id if it is due at now: NONE if it is not (settled
 * or handled meanwhile). Caller frees with parleyd_lc_escalation_free. */
parley_qs parleyd_lc_escalate(parley_tx *tx, const char *id, int64_t now,
                              parleyd_lc_escalation *out);
void parleyd_lc_escalation_free(parleyd_lc_escalation *e);

#endif
