/* One parsed, typed view of a state's current record: its POCs (roles, alert
 * addresses, keys) and its escalation orders. The only place in the daemon that walks
 * a record's `pocs` and `escalation`. Views are cached by (state, version): a record
 * version never changes once stored, so a view is immutable and shared. */
#ifndef PARLEYD_RECORD_VIEW_H
#define PARLEYD_RECORD_VIEW_H

#include <stdatomic.h>

#include "parley/crypto.h"
#include "parley/store.h"

#define PARLEYD_POC_MAX_ROLES 8

typedef struct {
  char id[64];
  int roles[PARLEYD_POC_MAX_ROLES]; /* indices in parley_poc_roles, in the record's order */
  size_t n_roles;
  char email[256];   /* empty: none */
  char webhook[512]; /* empty: none registered */
  bool has_signing_key;
  char signing_key_id[PARLEY_KEY_ID_LEN];
  bool has_encryption_key; /* the key and its expiry parse */
  char encryption_key_id[PARLEY_KEY_ID_LEN];
  int64_t encryption_expires;
} parleyd_poc_view;

/* The escalation order for one role: POC ids, first alerted first. */
typedef struct {
  int role; /* index in parley_poc_roles; -1 if unknown */
  char (*pocs)[64];
  size_t n;
} parleyd_escalation_order;

typedef struct {
  char state[PARLEY_STATE_CODE_LEN];
  int64_t version;
  parleyd_poc_view *pocs;
  size_t n_pocs;
  parleyd_escalation_order *escalation; /* in the record's order */
  size_t n_escalation;
  atomic_int refs;
} parleyd_record_view;

/* The view of state's current record, within tx: ONE and *out set (release it), NONE if
 * the state or its record is unknown, or the store's failure. st (may be NULL) gets the
 * state row. tx must not have written a state record (the cache would keep an
 * uncommitted version). Thread-safe. */
parley_qs parleyd_record_view_current(parley_tx *tx, const char *state, parley_state_row *st,
                                      const parleyd_record_view **out);
/* The same, given the state's row (its current_version decides). */
parley_qs parleyd_record_view_of(parley_tx *tx, const parley_state_row *st,
                                 const parleyd_record_view **out);
void parleyd_record_view_release(const parleyd_record_view *v);

/* POC poc of the view, or NULL. */
const parleyd_poc_view *parleyd_record_view_poc(const parleyd_record_view *v, const char *poc);
bool parleyd_poc_view_has_role(const parleyd_poc_view *p, int role);

/* What the hub checks a message's recipient against: its current encryption key and
 * alert addresses. */
typedef struct {
  char key_id[PARLEY_KEY_ID_LEN]; /* of the POC's current encryption key */
  int64_t expires;                /* of that key */
  char email[256];
  char webhook[512]; /* empty: none registered */
} parleyd_recipient_check;

/* Looks up POC `poc` of an active state in its current record, within tx: ONE and *out
 * filled, NONE if the state is unknown, suspended or has no such POC (or its key cannot
 * be read), or the store's failure. Same conditions as parleyd_record_view_current. */
parley_qs parleyd_poc_lookup(parley_tx *tx, const char *state, const char *poc,
                             parleyd_recipient_check *out);

#endif
