/* Seen request nonces, in memory, for the signature window. Open addressing over
 * SHA-256(keyid || 0 || nonce) prefixes; the table grows up to a cap, and expired
 * slots are dropped by a rebuild when it gets full. Memory is rate x window: at the
 * default cap of 4 Mi slots (96 MiB), about 9 000 signed requests/s with a 300 s
 * window. Writes also record their nonce in the store, in the same
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
static size_t cap, used, max_cap;
static int64_t last_rebuild;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

bool parleyd_nonce_cache_init(size_t capacity) {
  size_t c = 1u << 16;
  max_cap = 1024;
  while (max_cap < capacity)
    max_cap <<= 1;
  if (c > max_cap) c = max_cap;
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

static size_t index_in(const uint8_t tag[16], size_t c) {
  uint64_t h;
  memcpy(&h, tag, sizeof h);
  return (size_t)h & (c - 1);
}

static size_t index_of(const uint8_t tag[16]) {
  return index_in(tag, cap);
}

static void insert_slot(slot *t, size_t c, const slot *s) {
  for (size_t i = index_in(s->tag, c);; i = (i + 1) & (c - 1))
    if (!t[i].expires) {
      t[i] = *s;
      return;
    }
}

/* Rehashes the live entries into a table of new_cap slots (dropping expired ones). */
static void rebuild(int64_t now, size_t new_cap) {
  slot *fresh = calloc(new_cap, sizeof *fresh);
  if (!fresh) return;
  size_t n = 0;
  for (size_t i = 0; i < cap; i++)
    if (table[i].expires > now) {
      insert_slot(fresh, new_cap, &table[i]);
      n++;
    }
  free(table);
  table = fresh;
  cap = new_cap;
  used = n;
  last_rebuild = now;
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
  /* Full at 70%: first drop expired entries (at most once a second, so that a full
   * table does not turn every request into a rebuild), then grow up to the cap. */
  if (used * 10 >= cap * 7 && now != last_rebuild) rebuild(now, cap);
  if (used * 10 >= cap * 6 && cap < max_cap) rebuild(now, cap * 2);
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
