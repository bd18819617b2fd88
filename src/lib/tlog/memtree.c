/* In-memory Merkle tree: every complete subtree hash, level by level (about 2n hashes
 * for n leaves), filled through parley_tlog_append_nodes like the daemon's store. */
#include "parley/tlog.h"

#include <stdlib.h>
#include <string.h>

#define HL PARLEY_TLOG_HASH_LEN
#define LEVELS 64

typedef struct {
  uint8_t (*h)[HL];
  size_t len, cap;
} level_array;

struct parley_tlog_memtree {
  uint64_t size;
  level_array lv[LEVELS];
};

parley_tlog_memtree *parley_tlog_memtree_new(void) {
  return calloc(1, sizeof(parley_tlog_memtree));
}

void parley_tlog_memtree_free(parley_tlog_memtree *t) {
  if (!t) return;
  for (size_t i = 0; i < LEVELS; i++)
    free(t->lv[i].h);
  free(t);
}

uint64_t parley_tlog_memtree_size(const parley_tlog_memtree *t) {
  return t->size;
}

parley_err parley_tlog_memtree_hash(void *memtree, unsigned level, uint64_t index,
                                    uint8_t out[HL]) {
  const parley_tlog_memtree *t = memtree;
  if (level >= LEVELS || index >= t->lv[level].len) return PARLEY_E_TLOG_RANGE;
  memcpy(out, t->lv[level].h[index], HL);
  return PARLEY_E_OK;
}

static bool reserve(level_array *a) {
  if (a->len < a->cap) return true;
  size_t cap = a->cap ? a->cap * 2 : 64;
  if (cap < a->cap || cap > SIZE_MAX / HL) return false;
  void *p = realloc(a->h, cap * HL);
  if (!p) return false;
  a->h = p;
  a->cap = cap;
  return true;
}

parley_err parley_tlog_memtree_append(parley_tlog_memtree *t, const uint8_t leaf_hash[HL],
                                      parley_error *err) {
  parley_tlog_node nodes[PARLEY_TLOG_MAX_APPEND_NODES];
  size_t n = 0;
  parley_err e =
      parley_tlog_append_nodes(parley_tlog_memtree_hash, t, t->size, leaf_hash, nodes, &n, err);
  if (e != PARLEY_E_OK) return e;
  /* Reserve everything first so that a failure leaves the tree as it was. */
  for (size_t i = 0; i < n; i++)
    if (!reserve(&t->lv[nodes[i].level]))
      return parley_fail(err, PARLEY_E_NO_MEMORY, "memtree: out of memory");
  for (size_t i = 0; i < n; i++) {
    level_array *a = &t->lv[nodes[i].level];
    memcpy(a->h[a->len++], nodes[i].hash, HL);
  }
  t->size++;
  return PARLEY_E_OK;
}
