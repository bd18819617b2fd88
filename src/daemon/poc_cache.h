/* What the hub checks a message's recipients against: each POC's current encryption key
 * and alert addresses, taken from its state's current record and parsed once per record
 * version (a record version never changes once stored). */
#ifndef PARLEYD_POC_CACHE_H
#define PARLEYD_POC_CACHE_H

#include "parley/crypto.h"
#include "parley/store.h"

typedef struct {
  char key_id[PARLEY_KEY_ID_LEN]; /* of the POC's current encryption key */
  int64_t expires;                /* of that key */
  char email[256];
  char webhook[512]; /* empty: none registered */
} parleyd_poc_info;

/* Looks up POC `poc` of an active state in its current record, within tx: ONE and *out
 * filled, NONE if the state is unknown, suspended or has no such POC (or its key cannot
 * be read), or the store's failure. tx must not have written a state record (the cache
 * would keep an uncommitted version). Thread-safe. */
parley_qs parleyd_poc_lookup(parley_tx *tx, const char *state, const char *poc,
                             parleyd_poc_info *out);

#endif
