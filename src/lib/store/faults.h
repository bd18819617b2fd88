/* Fault injection for tests (faults.c): a wrapper around a store engine that makes every
 * Nth store operation, begin or commit fail with HARD or RETRY, after SQLite's own
 * fault-injection testing. Off unless asked for, by the environment variable
 * PARLEY_STORE_FAULTS (read once per open) or by a store URL "faults:SPEC+URL".
 *
 * SPEC is one or more rules separated by commas: KIND:N[:hard|:retry][:once]
 *   KIND  call (a parley_store_* operation), begin or commit
 *   N     every Nth of that kind fails (with :once only the Nth); counted per store
 *   hard  the default; retry makes the runner roll back and run the transaction again
 * e.g. "call:7:hard", "commit:5", "call:11:retry,commit:3". */
#ifndef PARLEY_STORE_FAULTS_H
#define PARLEY_STORE_FAULTS_H

#include "store/backend.h"

/* Splits a URL "faults:SPEC+REST" into SPEC (copied into spec, cap bytes) and REST
 * (returned); any other URL is returned as it is with spec set to "". NULL when the
 * prefix is there but malformed. */
const char *parley_store_faults_url(const char *url, char *spec, size_t cap);

/* After the engine is open: when spec (or else PARLEY_STORE_FAULTS) names rules, wraps
 * s->ops and s->backend in the fault injector. A malformed spec fails the open. */
parley_err parley_store_faults_wrap(parley_store *s, const char *spec, parley_error *err);

/* Called by every operation before it reaches the engine: PARLEY_QS_ONE to go on, or
 * the injected HARD/RETRY. One pointer comparison when the store is not wrapped. */
parley_qs parley_store_faults_call(parley_store *s, const char *op);

#endif
