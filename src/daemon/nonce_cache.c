/* Seen request nonces, in memory, for the signature window. Open addressing over
 * SHA-256(keyid || 0 || nonce) prefixes; expired slots are dropped by a rebuild when
 * the table gets full. Writes also record their nonce in the store, in the same
 * transaction, so a replayed write is refused across restarts too. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "nonce_cache.h"
#include "parley/crypto.h"

typedef struct {
  uint8_t tag[16];
  int64_t expires; /* 0 = empty */
} slot;

static slot *table;
static size_t cap, used;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

bool parleyd_nonce_cache_init(size_t capacity) {
  size_t c = 1024;
  while (c < capacity)
    c <<= 1;
  table = calloc(c, sizeof *table);
  cap = table ? c : 0;
  used = 0;
  return table != NULL;
}

void parleyd_nonce_cache_free(void) {
  free(table);
  table = NULL;
  cap = used = 0;
}

static size_t index_of(const uint8_t tag[16]) {
  uint64_t h;
  memcpy(&h, tag, sizeof h);
  return (size_t)h & (cap - 1);
}

static void insert_slot(slot *t, size_t c, const slot *s) {
  for (size_t i = index_of(s->tag);; i = (i + 1) & (c - 1))
    if (!t[i].expires) {
      t[i] = *s;
      return;
    }
}

static void rebuild(int64_t now) {
  slot *fresh = calloc(cap, sizeof *fresh);
  if (!fresh)
    return;
  size_t n = 0;
  for (size_t i = 0; i < cap; i++)
    if (table[i].expires > now) {
      insert_slot(fresh, cap, &table[i]);
      n++;
    }
  free(table);
  table = fresh;
  used = n;
}

parleyd_nonce_result parleyd_nonce_check(const char *keyid, const char *nonce, int64_t now,
                                         int64_t expires) {
  parley_sha256_ctx h;
  parley_hash d;
  parley_sha256_init(&h);
  parley_sha256_update(&h, keyid, strlen(keyid) + 1);
  parley_sha256_update(&h, nonce, strlen(nonce));
  parley_sha256_final(&h, &d);
  slot s;
  memcpy(s.tag, d.b, sizeof s.tag);
  s.expires = expires;
  parleyd_nonce_result res = PARLEYD_NONCE_NEW;
  pthread_mutex_lock(&lock);
  if (used * 10 >= cap * 7)
    rebuild(now);
  if (used * 10 >= cap * 7) {
    res = PARLEYD_NONCE_FULL;
  } else {
    size_t i = index_of(s.tag);
    for (; table[i].expires; i = (i + 1) & (cap - 1))
      if (memcmp(table[i].tag, s.tag, sizeof s.tag) == 0 && table[i].expires > now) {
        res = PARLEYD_NONCE_SEEN;
        break;
      }
    if (res == PARLEYD_NONCE_NEW) {
      table[i] = s;
      used++;
    }
  }
  pthread_mutex_unlock(&lock);
  return res;
}
