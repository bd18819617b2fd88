/* The log guard (log_guard.h). */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hub.h"
#include "log_guard.h"
#include "parley/tlog.h"
#include "signer_client.h"

static pthread_mutex_t keep_lock = PTHREAD_MUTEX_INITIALIZER;

/* The file's contents, malloc'd and NUL-terminated, or NULL (errno set; ENOENT: none).
 * A regular file only, read without blocking: a FIFO put there must not hang the start
 * (EINVAL). Not through a symbolic link (ELOOP): every write renames a new file over the
 * path, so a link would be replaced at the first cosignature anyway. */
static char *read_note_file(const char *path, size_t *len) {
  int fd = open(path, O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return NULL;
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    errno = EINVAL;
    return NULL;
  }
  char *buf = malloc(PARLEY_NOTE_MAX_LEN + 1);
  size_t n = 0;
  bool bad = !buf;
  while (!bad && n <= PARLEY_NOTE_MAX_LEN) {
    ssize_t r = read(fd, buf + n, PARLEY_NOTE_MAX_LEN + 1 - n);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) bad = true;
    if (r <= 0) break;
    n += (size_t)r;
  }
  int e = !buf ? ENOMEM : bad ? errno : EFBIG;
  close(fd);
  if (bad || n > PARLEY_NOTE_MAX_LEN) {
    free(buf);
    errno = e;
    return NULL;
  }
  buf[n] = 0;
  *len = n;
  return buf;
}

/* Size of the checkpoint in a note, or false if it is not one. */
static bool note_size(const char *note, size_t len, uint64_t *size) {
  parley_note *n = calloc(1, sizeof *n);
  parley_checkpoint cp;
  parley_error err;
  bool ok = n && strlen(note) == len && parley_note_parse(note, len, n, &err) == PARLEY_E_OK &&
            parley_checkpoint_parse(n->text, n->text_len, &cp, &err) == PARLEY_E_OK;
  if (ok) *size = cp.size;
  free(n);
  return ok;
}

static bool write_durably(const char *path, const char *data, size_t len) {
  char tmp[PATH_MAX];
  if (snprintf(tmp, sizeof tmp, "%s.XXXXXX", path) >= (int)sizeof tmp) {
    errno = ENAMETOOLONG;
    return false;
  }
  /* a new file of a unique name in the same folder (O_EXCL, 0600): never one planted
   * at a fixed name, and the rename stays within one file system */
  int fd = mkstemp(tmp);
  if (fd < 0) return false;
  (void)fcntl(fd, F_SETFD, FD_CLOEXEC);
  size_t done = 0;
  while (done < len) {
    ssize_t w = write(fd, data + done, len - done);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) break;
    done += (size_t)w;
  }
  bool ok = done == len && fsync(fd) == 0;
  ok = close(fd) == 0 && ok;
  if (!ok || rename(tmp, path) != 0) {
    unlink(tmp);
    return false;
  }
  char dir[PATH_MAX];
  parley_strlcpy(dir, path, sizeof dir);
  int dfd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) return false;
  ok = fsync(dfd) == 0;
  close(dfd);
  return ok;
}

void parleyd_log_guard_keep_cosigned(const char *note, size_t len, uint64_t size) {
  const char *path = parleyd->cfg.cosigned_checkpoint;
  if (!path[0]) return;
  pthread_mutex_lock(&keep_lock);
  size_t old_len = 0;
  uint64_t old_size = 0;
  char *old = read_note_file(path, &old_len);
  bool keep_old = old && note_size(old, old_len, &old_size) && old_size > size;
  free(old);
  if (!keep_old && !write_durably(path, note, len))
    parley_log(PARLEY_LOG_ERROR, "log_guard.keep_failed", "file=%s error=\"%s\"", path,
               strerror(errno));
  pthread_mutex_unlock(&keep_lock);
}

/* ---- the start-up check --------------------------------------------------------------- */

typedef parleyd_known_checkpoint known_checkpoint;

typedef struct {
  known_checkpoint known[2];
  size_t n_known;
  uint64_t log_size;
  char *why;
  size_t why_cap;
} guard_ctx;

static parley_qs refuse(guard_ctx *g, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static parley_qs refuse(guard_ctx *g, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(g->why, g->why_cap, fmt, ap);
  va_end(ap);
  return PARLEY_QS_ONE;
}

static const char what_to_do[] =
    "Serving it would fork the log that clients and witnesses saw. Restore a newer backup, "
    "or recover PostgreSQL to the end of its WAL archive, check it with `parleyd check-log`, "
    "then start parleyd again (docs/operations.md, section 6). Do not reset the signer's "
    "state or remove the kept checkpoint to get past this";

static parley_qs guard_tx(parley_tx *tx, void *cls, parley_error *err) {
  guard_ctx *g = cls;
  g->why[0] = 0;
  parley_qs qs = parley_store_log_size(tx, &g->log_size);
  if (qs < 0) return qs;
  for (size_t i = 0; i < g->n_known; i++) {
    const known_checkpoint *k = &g->known[i];
    if (g->log_size < k->size)
      return refuse(g,
                    "the store's log has %llu entries, but this hub signed a checkpoint of %llu "
                    "(%s): the store is older than what the hub published. %s",
                    (unsigned long long)g->log_size, (unsigned long long)k->size, k->source,
                    what_to_do);
    if (k->size == 0) continue;
    uint8_t root[PARLEY_TLOG_HASH_LEN];
    parley_error sub;
    parley_err e = parley_tlog_root(parley_store_tlog_hash, tx, k->size, root, &sub);
    if (e == PARLEY_E_STORE_RETRY) return PARLEY_QS_RETRY;
    if (e == PARLEY_E_TLOG_RANGE)
      return refuse(g, "the store lacks the stored hashes of its first %llu entries: %s. %s",
                    (unsigned long long)k->size, sub.detail, what_to_do);
    if (e) {
      *err = sub;
      return PARLEY_QS_HARD;
    }
    if (memcmp(root, k->root, sizeof root) != 0)
      return refuse(g,
                    "the first %llu entries of the store's log do not give the root of the "
                    "checkpoint this hub signed (%s): the store holds another log, or was "
                    "altered. %s",
                    (unsigned long long)k->size, k->source, what_to_do);
  }
  return PARLEY_QS_ONE;
}

/* The kept cosigned checkpoint, if any, into g. false with *why set if it cannot be used. */
static bool load_cosigned(guard_ctx *g, unsigned *cosigned) {
  const char *path = parleyd->cfg.cosigned_checkpoint;
  *cosigned = 0;
  if (!path[0]) return true;
  size_t len = 0;
  char *note = read_note_file(path, &len);
  if (!note) {
    if (errno == ENOENT) return true;
    snprintf(g->why, g->why_cap, "the kept cosigned checkpoint %s: %s", path,
             errno == EINVAL  ? "not a regular file"
             : errno == ELOOP ? "a symbolic link (give the file's own path)"
                              : strerror(errno));
    return false;
  }
  parley_note *n = calloc(1, sizeof *n);
  parley_checkpoint cp;
  parley_note_verifier v;
  parley_error err;
  parleyd_hub_note_verifier(&v);
  bool ok = false;
  if (!n)
    snprintf(g->why, g->why_cap, "out of memory");
  else if (strlen(note) != len || parley_note_parse(note, len, n, &err) != PARLEY_E_OK ||
           parley_checkpoint_parse(n->text, n->text_len, &cp, &err) != PARLEY_E_OK)
    snprintf(g->why, g->why_cap, "the kept cosigned checkpoint %s is not a checkpoint note: %s",
             path, strlen(note) != len ? "it contains a NUL byte" : err.detail);
  else if (strcmp(cp.origin, v.name) != 0 || parley_note_verify(n, &v, &err) != PARLEY_E_OK)
    snprintf(g->why, g->why_cap,
             "the kept cosigned checkpoint %s is not signed by this hub's key for origin %s: "
             "the hub's key or origin changed, or the file is another hub's. If the key or "
             "origin changed on purpose, move the file aside (a new log begins)",
             path, v.name);
  else {
    for (size_t i = 0; i < parleyd->cfg.n_witness_keys; i++)
      if (parley_cosig_verify(n, &parleyd->cfg.witness_keys[i], NULL, &err) == PARLEY_E_OK)
        (*cosigned)++;
    known_checkpoint *k = &g->known[g->n_known++];
    snprintf(k->source, sizeof k->source, "the checkpoint kept in %s, cosigned by %u witness%s",
             path, *cosigned, *cosigned == 1 ? "" : "es");
    k->size = cp.size;
    memcpy(k->root, cp.root, sizeof k->root);
    ok = true;
  }
  free(n);
  free(note);
  return ok;
}

/* The signer's last checkpoint and the kept cosigned one into g->known. */
static bool gather_known(guard_ctx *g, unsigned *cosigned) {
  parley_error err;
  if (parleyd_signer_remote()) {
    bool signed_one = false;
    known_checkpoint *k = &g->known[g->n_known];
    if (parleyd_signer_last_signed(&signed_one, &k->size, k->root, &err) != PARLEY_E_OK) {
      snprintf(g->why, g->why_cap, "cannot ask the signer for its last checkpoint: %s", err.detail);
      return false;
    }
    if (signed_one) {
      snprintf(k->source, sizeof k->source, "the last checkpoint parleyd-signer signed");
      g->n_known++;
    }
  }
  return load_cosigned(g, cosigned);
}

bool parleyd_log_guard_known(parleyd_known_checkpoint known[2], size_t *n, char *why,
                             size_t why_cap) {
  guard_ctx g;
  memset(&g, 0, sizeof g);
  g.why = why;
  g.why_cap = why_cap;
  why[0] = 0;
  unsigned cosigned = 0;
  *n = 0;
  if (!gather_known(&g, &cosigned)) return false;
  memcpy(known, g.known, g.n_known * sizeof *known);
  *n = g.n_known;
  return true;
}

bool parleyd_log_guard_check(parley_store *store, char *why, size_t why_cap, char *summary,
                             size_t summary_cap) {
  guard_ctx g;
  memset(&g, 0, sizeof g);
  g.why = why;
  g.why_cap = why_cap;
  why[0] = 0;
  parley_error err;
  unsigned cosigned = 0;
  if (!gather_known(&g, &cosigned)) return false;
  if (parley_store_run_named(store, "log_guard", false, guard_tx, &g, &err) != PARLEY_E_OK) {
    snprintf(why, why_cap, "cannot read the store's log: %s", err.detail);
    return false;
  }
  if (why[0]) return false;
  for (size_t i = 0; i < g.n_known; i++)
    parleyd_checkpoint_signed(g.known[i].size, g.known[i].root);
  int n = snprintf(summary, summary_cap, "log of %llu entries", (unsigned long long)g.log_size);
  for (size_t i = 0; i < g.n_known && n > 0 && (size_t)n < summary_cap; i++)
    n += snprintf(summary + n, summary_cap - (size_t)n, "%s extends %s (size %llu)", i ? "," : "",
                  g.known[i].source, (unsigned long long)g.known[i].size);
  if (n > 0 && (size_t)n < summary_cap && !g.n_known)
    snprintf(summary + n, summary_cap - (size_t)n,
             ": no checkpoint kept outside the store to compare with");
  return true;
}
