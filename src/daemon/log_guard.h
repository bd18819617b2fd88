/* The log guard: before parleyd serves a store, its log must extend the newest
 * checkpoint this hub is known to have published, as kept outside the store: the last
 * checkpoint parleyd-signer signed (its state file), and the newest witness-cosigned
 * checkpoint parleyd has kept (cfg.cosigned_checkpoint, written whenever a witness's
 * cosignature is stored). A restored store from before either, or holding another
 * tree, would fork the log the world saw: parleyd refuses to start on it. */
#ifndef PARLEYD_LOG_GUARD_H
#define PARLEYD_LOG_GUARD_H

#include <stdbool.h>
#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#include "parley/store.h"

/* Replaces the kept cosigned checkpoint with `note` (a checkpoint signed by the hub
 * with its witnesses' lines) unless the kept one is larger. Written to a temporary
 * file, flushed and renamed. Failures are logged (log_guard.keep_failed), not fatal. */
void parleyd_log_guard_keep_cosigned(const char *note, size_t len, uint64_t size);

/* The start-up check, O(log n) reads of stored subtree hashes per checkpoint. true:
 * the store may be served (`summary` says what was checked). false: `why` says what is
 * wrong and what to do. Needs the hub's public key (parleyd->hub_key.sign_pk). */
bool parleyd_log_guard_check(parley_store *store, char *why, size_t why_cap, char *summary,
                             size_t summary_cap);

/* A checkpoint this hub is known to have published, kept outside the store. */
typedef struct {
  char source[PATH_MAX + 64]; /* where it came from, for messages */
  uint64_t size;
  uint8_t root[32];
} parleyd_known_checkpoint;

/* The known checkpoints (the signer's last, the kept cosigned one; 0 to 2 of them) into
 * known[0..*n). false with `why` set if one cannot be read or is not this hub's. */
bool parleyd_log_guard_known(parleyd_known_checkpoint known[2], size_t *n, char *why,
                             size_t why_cap);

#endif
