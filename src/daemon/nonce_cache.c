/* Seen request nonces, in memory, for the signature window. Open addressing over
 * SHA-256(keyid || 0 || nonce) prefixes; the table grows up to a cap, and expired
 * slots are dropped by a rebuild when it gets full. Memory is rate x window: at the
 * default cap of 4 Mi slots (96 MiB), about 9 000 signed requests/s with a 300 s
 * window. Writes also record their nonce in the store, in the same
 * transaction, so a replayed write is refused across restarts too; reads are refused
 * across restarts by their created time, and those dated ahead by the journal below. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

static void make_tag(const char *keyid, const char *nonce, uint8_t tag[16]) {
  parley_sha256_ctx h;
  parley_hash d;
  parley_sha256_init(&h);
  parley_sha256_update(&h, keyid, strlen(keyid) + 1);
  parley_sha256_update(&h, nonce, strlen(nonce));
  parley_sha256_final(&h, &d);
  memcpy(tag, d.b, 16);
}

static parleyd_nonce_result check_tag(const slot *in, int64_t now);

parleyd_nonce_result parleyd_nonce_check(const char *keyid, const char *nonce, int64_t now,
                                         int64_t expires) {
  slot s;
  make_tag(keyid, nonce, s.tag);
  s.expires = expires;
  return check_tag(&s, now);
}

static parleyd_nonce_result check_tag(const slot *in, int64_t now) {
  slot s = *in;
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

/* ---- the journal of nonces dated ahead ------------------------------------------ */

/* The file is rewritten with only its unexpired entries at open, and again after
 * JOURNAL_COMPACT_EVERY appends (under journal_lock), so that it stays about the size
 * of what it must remember. */
#define JOURNAL_COMPACT_EVERY 65536
static pthread_mutex_t journal_lock = PTHREAD_MUTEX_INITIALIZER;
static int journal_fd = -1;
static char journal_path[1024];
static unsigned journal_appends;

static void hex16(const uint8_t tag[16], char out[33]) {
  static const char digits[] = "0123456789abcdef";
  for (size_t i = 0; i < 16; i++) {
    out[2 * i] = digits[tag[i] >> 4];
    out[2 * i + 1] = digits[tag[i] & 15];
  }
  out[32] = 0;
}

static bool unhex16(const char *s, uint8_t tag[16]) {
  for (size_t i = 0; i < 32; i++) {
    char c = s[i];
    int v = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
    if (v < 0) return false;
    tag[i / 2] = (uint8_t)(i % 2 ? (tag[i / 2] | v) : v << 4);
  }
  return s[32] == 0;
}

static bool write_all(int fd, const char *p, size_t n) {
  while (n) {
    ssize_t w = write(fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;
    p += w;
    n -= (size_t)w;
  }
  return true;
}

/* Rewrites the journal with its unexpired entries (entering them in the cache) and
 * opens it for appending. journal_lock held, or not yet shared. */
static bool journal_compact(const char *path, int64_t now) {
  if (journal_fd >= 0) close(journal_fd);
  journal_fd = -1;
  journal_appends = 0;
  char tmp[1040];
  if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp) return false;
  int out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (out < 0) return false;
  bool ok = true;
  FILE *in = fopen(path, "re");
  if (in) { /* absent: a first start */
    char line[96];
    while (ok && fgets(line, sizeof line, in)) {
      long long exp;
      char hex[40];
      slot s;
      if (sscanf(line, "%lld %39s", &exp, hex) != 2 || !unhex16(hex, s.tag)) continue;
      if (exp <= now) continue;
      s.expires = exp;
      (void)check_tag(&s, now);
      ok = write_all(out, line, strlen(line));
    }
    fclose(in);
  }
  ok = ok && fsync(out) == 0;
  close(out);
  if (!ok || rename(tmp, path) != 0) return false;
  journal_fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
  return journal_fd >= 0;
}

bool parleyd_nonce_journal_open(const char *path, int64_t now) {
  if (!parley_strlcpy(journal_path, path, sizeof journal_path)) return false;
  return journal_compact(journal_path, now);
}

void parleyd_nonce_journal_close(void) {
  if (journal_fd >= 0) close(journal_fd);
  journal_fd = -1;
}

parleyd_nonce_result parleyd_nonce_check_durable(const char *keyid, const char *nonce, int64_t now,
                                                 int64_t expires) {
  slot s;
  make_tag(keyid, nonce, s.tag);
  s.expires = expires;
  parleyd_nonce_result res = check_tag(&s, now);
  if (res != PARLEYD_NONCE_NEW) return res;
  char line[96], hex[33];
  hex16(s.tag, hex);
  int n = snprintf(line, sizeof line, "%lld %s\n", (long long)expires, hex);
  pthread_mutex_lock(&journal_lock);
  bool ok = journal_fd >= 0 && write_all(journal_fd, line, (size_t)n) && fdatasync(journal_fd) == 0;
  /* The new entry is in the file already: a compaction keeps it. */
  if (ok && ++journal_appends >= JOURNAL_COMPACT_EVERY && !journal_compact(journal_path, now))
    parley_log(PARLEY_LOG_ERROR, "auth.nonce_journal", "msg=\"cannot rewrite %s\"", journal_path);
  pthread_mutex_unlock(&journal_lock);
  if (!ok) parley_log(PARLEY_LOG_ERROR, "auth.nonce_journal", "msg=\"cannot append\"");
  return ok ? PARLEYD_NONCE_NEW : PARLEYD_NONCE_FULL;
}
