/* A message's metadata as the API shows it: in listings, in the event stream, and as
 * the head of GET /v1/messages/{id}. Never a body: the hub has none. */
#include "handlers.h"
#include "parley/json.h"

static const char *status_names[] = {"submitted", "delivered", "acknowledged", "answered",
                                     "closed"};

json_t *parleyd_message_json(const parley_message_row *m) {
  char created[PARLEY_TIME_LEN], received[PARLEY_TIME_LEN], deadline[PARLEY_TIME_LEN];
  parley_time_format(m->created, created);
  parley_time_format(m->received, received);
  parley_time_format(m->ack_deadline, deadline);
  char hash[64];
  parley_b64url_encode(m->envelope_hash, 32, hash, sizeof hash);
  json_t *o = json_pack(
      "{s:s,s:I,s:s,s:s,s:s,s:{s:s,s:s},s:s,s:s,s:s,s:s,s:b,s:i,s:s,s:I}", "id", m->id, "seq",
      (json_int_t)m->seq, "kind", m->kind, "priority", m->priority, "tlp", m->tlp, "from", "state",
      m->from_state, "poc", m->from_poc, "created", created, "received", received, "ack_deadline",
      deadline, "status", status_names[m->status % 5], "overdue", m->overdue, "escalation_level",
      m->escalation_level, "envelope_sha256", hash, "leaf_index", (json_int_t)m->leaf_index);
  if (o && m->case_id[0]) json_object_set_new(o, "case", json_string(m->case_id));
  if (o && m->in_reply_to[0]) json_object_set_new(o, "in_reply_to", json_string(m->in_reply_to));
  return o;
}

bool parleyd_receipt_json(void *cls, const parley_ack_row *a) {
  json_t *v = NULL;
  parley_json_parse(a->ack, a->ack_len, NULL, &v, NULL);
  if (!v) return false;
  return json_array_append_new(cls, json_pack("{s:o,s:I}", "receipt", v, "leaf_index",
                                              (json_int_t)a->leaf_index)) == 0;
}
