/* Appending to the transparency log inside a store transaction: the leaf and every
 * interior node it completes, so that proofs need O(log n) reads (docs/tlog.md). */
#include "parley/store.h"
#include "parley/tlog.h"

parley_qs parley_store_tlog_append(parley_tx *tx, const char *kind, const uint8_t *entry,
                                   size_t len, int64_t created, uint64_t *leaf, parley_error *err) {
  uint8_t lh[PARLEY_TLOG_HASH_LEN];
  parley_tlog_leaf_hash(entry, len, lh);
  parley_qs qs = parley_store_leaf_append(tx, lh, kind, entry, len, created, leaf);
  if (qs != PARLEY_QS_ONE) return qs == PARLEY_QS_NONE ? PARLEY_QS_HARD : qs;
  parley_tlog_node nodes[PARLEY_TLOG_MAX_APPEND_NODES];
  size_t n = 0;
  parley_err e = parley_tlog_append_nodes(parley_store_tlog_hash, tx, *leaf, lh, nodes, &n, err);
  if (e) return e == PARLEY_E_STORE_RETRY ? PARLEY_QS_RETRY : PARLEY_QS_HARD;
  for (size_t i = 0; i < n; i++) {
    if (nodes[i].level == 0) continue; /* leaf hashes live in the leaves */
    qs = parley_store_node_put(tx, nodes[i].level, nodes[i].index, nodes[i].hash);
    if (qs < 0) return qs;
  }
  return PARLEY_QS_ONE;
}
