/* `parleyd backup` and `parleyd check-log` (backup.h). The backup is SQLite's online
 * backup API; PostgreSQL has its own tools (pg_basebackup, WAL archiving). The check
 * rebuilds the restored log from its leaves and compares it with a checkpoint signed by
 * the hub and cosigned by witnesses: a store that lacks entries the witnesses saw, or
 * whose entries differ, must not be served, for every client would see a fork. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "backup.h"
#include "hub.h"
#include "log_guard.h"
#include "parley/tlog.h"
#include "signer_client.h"

static bool fsync_path(const char *path, int flags) {
  int fd = open(path, flags | O_CLOEXEC);
  if (fd < 0) return false;
  bool ok = fsync(fd) == 0;
  close(fd);
  return ok;
}

/* The store URL from --store or --config (as parleyd would take it), and the evidence
 * folder from --evidence-dir, --config or, by default, beside an SQLite store. */
static bool store_from_config(const char *config, char *url, size_t cap, char *evdir,
                              size_t ev_cap) {
  static parleyd_config c;
  parleyd_config_defaults(&c);
  parley_error err;
  if (config && (parleyd_config_load_file(&c, config, &err) != PARLEY_E_OK ||
                 parleyd_config_finish(&c, &err) != PARLEY_E_OK)) {
    fprintf(stderr, "parleyd: %s\n", err.detail);
    return false;
  }
  if (!url[0] && config) parley_strlcpy(url, c.store_url, cap);
  if (!evdir[0] && config) parley_strlcpy(evdir, c.evidence_dir, ev_cap);
  if (!evdir[0] && strncmp(url, "sqlite:", 7) == 0) { /* DATA_DIR/evidence beside DATA_DIR/hub.db */
    char dir[PATH_MAX];
    parley_strlcpy(dir, url + 7, sizeof dir);
    snprintf(evdir, ev_cap, "%s/evidence", dirname(dir));
  }
  return true;
}

/* A package id as parleyd makes them (a UUID): safe as a file name. */
static bool safe_id(const char *id) {
  size_t n = strlen(id);
  if (n == 0 || n > 64) return false;
  for (size_t i = 0; i < n; i++)
    if (!((id[i] >= '0' && id[i] <= '9') || (id[i] >= 'a' && id[i] <= 'f') || id[i] == '-'))
      return false;
  return true;
}

/* Copies the first `len` bytes of from into a new file to (mode 0600), flushed.
 * len UINT64_MAX: the whole file. from must be a regular file, not reached through a
 * symbolic link (errno ELOOP or EINVAL): a link or FIFO planted in a backup folder
 * must not copy another file (the hub's key) or hang the copy. */
static bool copy_file(const char *from, const char *to, uint64_t len, uint64_t *copied) {
  *copied = 0;
  int in = open(from, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  if (in < 0) return false;
  struct stat st;
  if (fstat(in, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(in);
    errno = EINVAL;
    return false;
  }
  int outfd = open(to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (outfd < 0) {
    int e = errno;
    close(in);
    errno = e;
    return false;
  }
  static char buf[1 << 16];
  uint64_t done = 0;
  bool ok = true;
  while (ok && done < len) {
    size_t want = len - done < sizeof buf ? (size_t)(len - done) : sizeof buf;
    ssize_t r = read(in, buf, want);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) {
      ok = r == 0 && len == UINT64_MAX; /* a short file is an error unless all was asked */
      if (r == 0 && !ok) errno = EIO;
      break;
    }
    for (ssize_t w = 0; ok && w < r;) {
      ssize_t n = write(outfd, buf + w, (size_t)(r - w));
      if (n < 0 && errno == EINTR) continue;
      ok = n > 0;
      if (ok) w += n;
    }
    done += (uint64_t)r;
  }
  int e = errno;
  ok = ok && fsync(outfd) == 0;
  ok = close(outfd) == 0 && ok;
  close(in);
  if (!ok) {
    unlink(to);
    errno = e ? e : EIO;
  }
  *copied = done;
  return ok;
}

/* The ciphertext of the packages the copy `db` names, from evdir (ID.ct files) into
 * outdir: an available package's whole file, an unfinished upload's first upload_offset
 * bytes (what the copy's row accounts for). Files whose package was deleted since the
 * snapshot are counted in *missing. */
static bool backup_evidence(const char *db, const char *evdir, const char *outdir, unsigned *files,
                            uint64_t *bytes, unsigned *missing) {
  sqlite3 *h = NULL;
  sqlite3_stmt *s = NULL;
  *files = *missing = 0;
  *bytes = 0;
  if (sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK ||
      sqlite3_prepare_v2(h,
                         "SELECT id, status, upload_offset FROM evidence WHERE status IN (0, 1) "
                         "ORDER BY id",
                         -1, &s, NULL) != SQLITE_OK) {
    fprintf(stderr, "parleyd backup: evidence: %s\n", sqlite3_errmsg(h));
    sqlite3_close(h);
    return false;
  }
  if (mkdir(outdir, 0700) != 0) {
    fprintf(stderr, "parleyd backup: %s: %s\n", outdir, strerror(errno));
    sqlite3_finalize(s);
    sqlite3_close(h);
    return false;
  }
  bool ok = true;
  while (ok && sqlite3_step(s) == SQLITE_ROW) {
    const char *id = (const char *)sqlite3_column_text(s, 0);
    if (!id || !safe_id(id)) continue;
    char from[PATH_MAX], to[PATH_MAX];
    if (snprintf(from, sizeof from, "%s/%s.ct", evdir, id) >= (int)sizeof from ||
        snprintf(to, sizeof to, "%s/%s.ct", outdir, id) >= (int)sizeof to)
      continue;
    uint64_t len =
        sqlite3_column_int(s, 1) == 1 ? UINT64_MAX : (uint64_t)sqlite3_column_int64(s, 2);
    uint64_t got = 0;
    if (copy_file(from, to, len, &got)) {
      (*files)++;
      *bytes += got;
    } else if (errno == ENOENT) {
      (*missing)++;
    } else {
      fprintf(stderr, "parleyd backup: %s: %s\n", from, strerror(errno));
      ok = false;
    }
  }
  sqlite3_finalize(s);
  sqlite3_close(h);
  return ok && fsync_path(outdir, O_RDONLY | O_DIRECTORY);
}

/* A bare path is an SQLite file. Returns the path of an sqlite: URL, else NULL. */
static const char *sqlite_path(const char *url) {
  if (strncmp(url, "sqlite:", 7) == 0) return url + 7;
  if (strstr(url, "://")) return NULL;
  return url;
}

/* Single integer answer of sql on db, -1 on error. */
static long long query_int(sqlite3 *db, const char *sql) {
  sqlite3_stmt *s = NULL;
  long long v = -1;
  if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) == SQLITE_OK && sqlite3_step(s) == SQLITE_ROW)
    v = sqlite3_column_int64(s, 0);
  sqlite3_finalize(s);
  return v;
}

static const char backup_usage[] =
    "usage: parleyd backup (--store sqlite:PATH | -c CONFIG) [--evidence-dir DIR] --out FILE\n"
    "  Copies the SQLite store while parleyd runs (SQLite's online backup: one consistent\n"
    "  snapshot; writers go on meanwhile), then the ciphertext of the evidence packages\n"
    "  that snapshot names into FILE.evidence/ (from DIR: evidence_dir of CONFIG, or the\n"
    "  folder `evidence` beside the store). FILE must not exist. For PostgreSQL use\n"
    "  pg_basebackup and WAL archiving (docs/operations.md): its evidence is in the store.\n";

int parleyd_backup_main(int argc, char **argv) {
  static const struct option opts[] = {
      {"store", required_argument, NULL, 's'}, {"config", required_argument, NULL, 'c'},
      {"out", required_argument, NULL, 'o'},   {"evidence-dir", required_argument, NULL, 'e'},
      {"help", no_argument, NULL, 'h'},        {NULL, 0, NULL, 0}};
  char url[PATH_MAX + 16] = "", out[PATH_MAX] = "", evdir[PATH_MAX] = "";
  const char *config = NULL;
  int ch;
  while ((ch = getopt_long(argc, argv, "s:c:o:h", opts, NULL)) != -1) {
    if (ch == 's' && !parley_strlcpy(url, optarg, sizeof url)) ch = '?';
    if (ch == 'e' && !parley_strlcpy(evdir, optarg, sizeof evdir)) ch = '?';
    if (ch == 'o' && !parley_strlcpy(out, optarg, sizeof out)) ch = '?';
    if (ch == 'c') config = optarg;
    if (ch == 'h') {
      fputs(backup_usage, stdout);
      return 0;
    }
    if (ch == '?') {
      fputs(backup_usage, stderr);
      return 2;
    }
  }
  /* a bare path is an SQLite file: as a URL from here on */
  if (url[0] && !strstr(url, "://") && strncmp(url, "sqlite:", 7) != 0) {
    char tmp[sizeof url + 8];
    snprintf(tmp, sizeof tmp, "sqlite:%s", url);
    if (!parley_strlcpy(url, tmp, sizeof url)) url[0] = 0; /* too long: usage */
  }
  if (optind < argc || !out[0] ||
      !store_from_config(config, url, sizeof url, evdir, sizeof evdir) || !url[0]) {
    fputs(backup_usage, stderr);
    return 2;
  }
  const char *src = sqlite_path(url);
  if (!src) {
    fprintf(stderr, "parleyd backup: only the SQLite store; for PostgreSQL use pg_basebackup "
                    "with WAL archiving (docs/operations.md, section 6)\n");
    return 2;
  }
  struct stat st;
  if (stat(src, &st) != 0) {
    fprintf(stderr, "parleyd backup: %s: %s\n", src, strerror(errno));
    return 1;
  }
  char evout[PATH_MAX + 16];
  snprintf(evout, sizeof evout, "%s.evidence", out);
  if (lstat(out, &st) == 0 || lstat(evout, &st) == 0) {
    fprintf(stderr, "parleyd backup: %s exists; refusing to overwrite it\n",
            lstat(out, &st) == 0 ? out : evout);
    return 1;
  }
  char tmp[PATH_MAX + 16];
  snprintf(tmp, sizeof tmp, "%s.partial", out);
  unlink(tmp);
  umask(077);

  sqlite3 *from = NULL, *to = NULL;
  int rc = sqlite3_open_v2(src, &from, SQLITE_OPEN_READWRITE, NULL);
  if (rc == SQLITE_OK)
    rc = sqlite3_open_v2(tmp, &to, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
  if (rc != SQLITE_OK) {
    fprintf(stderr, "parleyd backup: %s\n", sqlite3_errstr(rc));
    sqlite3_close(from);
    sqlite3_close(to);
    unlink(tmp);
    return 1;
  }
  sqlite3_busy_timeout(from, 10000);
  /* The store is in WAL mode: one step of all pages reads one snapshot while the hub's
   * writers go on. Copying in slices would restart at every write and might never end. */
  sqlite3_backup *b = sqlite3_backup_init(to, "main", from, "main");
  rc = b ? SQLITE_OK : sqlite3_errcode(to);
  int tries = 0;
  while (b && (rc = sqlite3_backup_step(b, -1)) != SQLITE_DONE) {
    if ((rc != SQLITE_BUSY && rc != SQLITE_LOCKED) || ++tries > 200) break;
    struct timespec pause = {0, 50 * 1000 * 1000};
    nanosleep(&pause, NULL);
  }
  int pages = b ? sqlite3_backup_pagecount(b) : 0;
  if (b && sqlite3_backup_finish(b) != SQLITE_OK && rc == SQLITE_DONE) rc = sqlite3_errcode(to);
  sqlite3_close(from);
  char check[64] = "";
  long long leaves = -1, cp = -1;
  if (rc == SQLITE_DONE) {
    sqlite3_stmt *s = NULL;
    if (sqlite3_prepare_v2(to, "PRAGMA quick_check", -1, &s, NULL) == SQLITE_OK &&
        sqlite3_step(s) == SQLITE_ROW && sqlite3_column_text(s, 0))
      parley_strlcpy(check, (const char *)sqlite3_column_text(s, 0), sizeof check);
    sqlite3_finalize(s);
    leaves = query_int(to, "SELECT count(*) FROM log_leaves");
    cp = query_int(to, "SELECT coalesce(max(size), 0) FROM checkpoints");
  }
  /* Closing the copy folds its WAL into the file: one self-contained file is left. */
  int crc = sqlite3_close(to);
  if (rc != SQLITE_DONE || crc != SQLITE_OK || strcmp(check, "ok") != 0) {
    fprintf(stderr, "parleyd backup: %s\n",
            rc != SQLITE_DONE ? sqlite3_errstr(rc)
            : check[0]        ? "the copy fails SQLite's quick_check"
                              : "cannot close the copy");
    unlink(tmp);
    return 1;
  }
  char dir[PATH_MAX];
  parley_strlcpy(dir, out, sizeof dir);
  if (!fsync_path(tmp, O_RDONLY) || rename(tmp, out) != 0 || !fsync_path(dirname(dir), O_RDONLY)) {
    fprintf(stderr, "parleyd backup: %s: %s\n", out, strerror(errno));
    unlink(tmp);
    return 1;
  }
  printf("backup of %s written to %s: %d pages, log of %lld entries, latest checkpoint %lld\n", src,
         out, pages, leaves, cp);
  /* The evidence after the snapshot: every package it names is complete by then. */
  if (evdir[0] && stat(evdir, &st) == 0 && S_ISDIR(st.st_mode)) {
    unsigned files = 0, missing = 0;
    uint64_t bytes = 0;
    if (!backup_evidence(out, evdir, evout, &files, &bytes, &missing)) return 1;
    printf("evidence of %s written to %s: %u packages, %llu bytes of ciphertext", evdir, evout,
           files, (unsigned long long)bytes);
    if (missing) printf("; %u deleted since the snapshot (retention) are missing", missing);
    printf("\n");
  }
  return 0;
}

/* ---- check-log ---------------------------------------------------------------------- */

typedef struct {
  const parley_checkpoint *cosigned; /* the checkpoint the witnesses cosigned */
  const parley_note_verifier *log_key;
  uint64_t size;        /* the restored log's size */
  uint64_t latest_size; /* the store's latest checkpoint, 0 if none */
  bool latest_checked;
  char problem[768]; /* empty when consistent */
} check_ctx;

/* Records why the store must not be served; the transaction itself succeeded. */
static parley_qs problem(check_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static parley_qs problem(check_ctx *c, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(c->problem, sizeof c->problem, fmt, ap);
  va_end(ap);
  return PARLEY_QS_ONE;
}

static parley_qs check_tx(parley_tx *tx, void *cls, parley_error *err) {
  check_ctx *c = cls;
  c->problem[0] = 0;
  c->latest_size = 0;
  c->latest_checked = false;
  parley_qs qs = parley_store_log_size(tx, &c->size);
  if (qs < 0) return qs;
  uint64_t want = c->cosigned->size;
  if (c->size < want)
    return problem(
        c,
        "the restored log has %llu entries, but the witnesses cosigned a checkpoint of "
        "%llu: this backup is from before it, and a hub serving it would fork the log "
        "the witnesses saw. Restore the missing entries (point-in-time recovery to the "
        "end of the archived WAL, or a newer backup); do not start parleyd on this store",
        (unsigned long long)c->size, (unsigned long long)want);
  parley_tlog_memtree *mt = parley_tlog_memtree_new();
  if (!mt) {
    parley_fail(err, PARLEY_E_NO_MEMORY, "tree");
    return PARLEY_QS_HARD;
  }
  /* Rebuild the tree from the entries themselves: every index present, every stored leaf
   * hash the hash of its entry. */
  for (uint64_t i = 0; i < c->size; i++) {
    uint8_t *entry = NULL, h[32], stored[32];
    size_t len = 0;
    qs = parley_store_leaf_entry(tx, i, &entry, &len);
    if (qs == PARLEY_QS_NONE) {
      parley_tlog_memtree_free(mt);
      return problem(c, "entry %llu of %llu is missing: the restored log is not contiguous",
                     (unsigned long long)i, (unsigned long long)c->size);
    }
    if (qs < 0) {
      parley_tlog_memtree_free(mt);
      return qs;
    }
    parley_tlog_leaf_hash(entry, len, h);
    free(entry);
    parley_err e = parley_store_tlog_hash(tx, 0, i, stored);
    if (e == PARLEY_E_OK && memcmp(h, stored, 32) != 0) {
      parley_tlog_memtree_free(mt);
      return problem(c,
                     "entry %llu: the stored leaf hash is not the hash of the stored entry "
                     "(the store was altered)",
                     (unsigned long long)i);
    }
    if (e == PARLEY_E_TLOG_RANGE) {
      parley_tlog_memtree_free(mt);
      return problem(c, "entry %llu has no stored leaf hash", (unsigned long long)i);
    }
    if (e == PARLEY_E_OK) e = parley_tlog_memtree_append(mt, h, err);
    if (e) {
      parley_tlog_memtree_free(mt);
      return e == PARLEY_E_STORE_RETRY ? PARLEY_QS_RETRY : PARLEY_QS_HARD;
    }
  }
  uint8_t root[32], stored_root[32];
  parley_error sub;
  qs = PARLEY_QS_ONE;
  if (want > 0 &&
      (parley_tlog_root(parley_tlog_memtree_hash, mt, want, root, &sub) != PARLEY_E_OK ||
       memcmp(root, c->cosigned->root, 32) != 0)) {
    problem(c,
            "the first %llu entries of the restored log do not give the root of the "
            "checkpoint the witnesses cosigned: the log was altered or is another log. "
            "Do not serve it",
            (unsigned long long)want);
    goto done;
  }
  /* Proofs are served from the stored interior hashes: they must agree with the leaves. */
  if (c->size > 0) {
    parley_err e = parley_tlog_root(parley_tlog_memtree_hash, mt, c->size, root, &sub);
    parley_err e2 = parley_tlog_root(parley_store_tlog_hash, tx, c->size, stored_root, &sub);
    if (e2 == PARLEY_E_STORE_RETRY) {
      qs = PARLEY_QS_RETRY;
      goto done;
    }
    if (e || e2 || memcmp(root, stored_root, 32) != 0) {
      problem(c,
              "the stored interior hashes of the tree do not match its %llu entries "
              "(the store was altered; proofs would not verify)",
              (unsigned long long)c->size);
      goto done;
    }
  }
  /* The store's own latest checkpoint: signed by the hub, within the log, same root. */
  parley_checkpoint_row row;
  memset(&row, 0, sizeof row);
  qs = parley_store_checkpoint_get(tx, 0, &row);
  if (qs < 0) goto done;
  if (qs == PARLEY_QS_ONE) {
    parley_note *n = calloc(1, sizeof *n);
    parley_checkpoint cp;
    c->latest_size = row.size;
    if (!n || parley_note_parse(row.note, strlen(row.note), n, &sub) != PARLEY_E_OK ||
        parley_note_verify(n, c->log_key, &sub) != PARLEY_E_OK ||
        parley_checkpoint_parse(n->text, n->text_len, &cp, &sub) != PARLEY_E_OK)
      problem(c,
              "the store's latest checkpoint (size %llu) is not a checkpoint signed by the log "
              "key: %s",
              (unsigned long long)row.size, n ? sub.detail : "out of memory");
    else if (cp.size > c->size)
      problem(c,
              "the store's latest checkpoint is of size %llu but its log has only %llu "
              "entries (entries were lost or removed)",
              (unsigned long long)cp.size, (unsigned long long)c->size);
    else if (cp.size > 0 &&
             (parley_tlog_root(parley_tlog_memtree_hash, mt, cp.size, root, &sub) != PARLEY_E_OK ||
              memcmp(root, cp.root, 32) != 0))
      problem(c, "the store's latest checkpoint (size %llu) does not match its entries",
              (unsigned long long)cp.size);
    else
      c->latest_checked = true;
    free(n);
    parley_checkpoint_row_clear(&row);
  }
  qs = PARLEY_QS_ONE;
done:
  parley_tlog_memtree_free(mt);
  return qs;
}

static char *read_small_file(const char *path, size_t max, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  char *buf = malloc(max + 1);
  size_t n = buf ? fread(buf, 1, max + 1, f) : 0;
  bool bad = !buf || ferror(f) || n > max;
  fclose(f);
  if (bad) {
    free(buf);
    errno = buf ? EFBIG : ENOMEM;
    return NULL;
  }
  buf[n] = 0;
  *len = n;
  return buf;
}

static const char check_usage[] =
    "usage: parleyd check-log [-c CONFIG] [--store URL] --checkpoint FILE --log-key VKEY\n"
    "                         [--witness-key VKEY]... [--witnesses-required K]\n"
    "  Checks a (restored) store before a hub serves it: FILE is the last checkpoint the\n"
    "  witnesses cosigned (GET /log/checkpoint as kept off the hub, or the witness's copy);\n"
    "  it must be signed by VKEY (GET /log/key, the key clients pin) and cosigned by K\n"
    "  (default 1) of the witness keys (--witness-key, or witness_key in CONFIG). The store's\n"
    "  log must be contiguous, its first entries must give that checkpoint's root, its\n"
    "  stored hashes and latest checkpoint must match its entries. Exit 0: consistent;\n"
    "  1: refused (the reason is printed); 2: usage.\n";

int parleyd_check_log_main(int argc, char **argv) {
  static const struct option opts[] = {{"store", required_argument, NULL, 's'},
                                       {"config", required_argument, NULL, 'c'},
                                       {"checkpoint", required_argument, NULL, 'f'},
                                       {"log-key", required_argument, NULL, 'k'},
                                       {"witness-key", required_argument, NULL, 'w'},
                                       {"witnesses-required", required_argument, NULL, 'r'},
                                       {"help", no_argument, NULL, 'h'},
                                       {NULL, 0, NULL, 0}};
  static parleyd_config cfg; /* witness keys and store of --config, then of the flags */
  parleyd_config_defaults(&cfg);
  char url[sizeof cfg.store_url] = "";
  const char *config = NULL, *cp_file = NULL, *log_key = NULL;
  uint64_t required = 1;
  parley_error err;
  int ch;
  while ((ch = getopt_long(argc, argv, "s:c:h", opts, NULL)) != -1) {
    switch (ch) {
    case 's':
      if (!parley_strlcpy(url, optarg, sizeof url)) ch = '?';
      break;
    case 'c':
      config = optarg;
      if (parleyd_config_load_file(&cfg, optarg, &err) != PARLEY_E_OK) {
        fprintf(stderr, "parleyd check-log: %s\n", err.detail);
        return 2;
      }
      break;
    case 'f':
      cp_file = optarg;
      break;
    case 'k':
      log_key = optarg;
      break;
    case 'w':
      if (cfg.n_witness_keys >= sizeof cfg.witness_keys / sizeof cfg.witness_keys[0] ||
          parley_cosig_verifier_parse(optarg, &cfg.witness_keys[cfg.n_witness_keys], &err) !=
              PARLEY_E_OK) {
        fprintf(stderr, "parleyd check-log: --witness-key: %s\n",
                cfg.n_witness_keys >= 8 ? "at most 8" : err.detail);
        return 2;
      }
      cfg.n_witness_keys++;
      break;
    case 'r':
      if (!parley_parse_u64(optarg, &required) || required > 8) ch = '?';
      break;
    case 'h':
      fputs(check_usage, stdout);
      return 0;
    default:
      break;
    }
    if (ch == '?') {
      fputs(check_usage, stderr);
      return 2;
    }
  }
  if (!url[0] && config) parley_strlcpy(url, cfg.store_url[0] ? cfg.store_url : "", sizeof url);
  if (!url[0] && config) snprintf(url, sizeof url, "sqlite:%s/hub.db", cfg.data_dir);
  if (optind < argc || !url[0] || !cp_file || !log_key) {
    fputs(check_usage, stderr);
    return 2;
  }
  if (required > cfg.n_witness_keys) {
    fprintf(stderr,
            "parleyd check-log: %llu witness cosignatures required, %zu witness keys given\n",
            (unsigned long long)required, cfg.n_witness_keys);
    return 2;
  }
  parley_note_verifier v;
  if (parley_note_verifier_parse(log_key, &v, &err) != PARLEY_E_OK) {
    fprintf(stderr, "parleyd check-log: --log-key: %s\n", err.detail);
    return 2;
  }

  /* The cosigned checkpoint: the hub's signature, then K witnesses' cosignatures. */
  size_t len = 0;
  char *note = read_small_file(cp_file, PARLEY_NOTE_MAX_LEN, &len);
  if (!note) {
    fprintf(stderr, "parleyd check-log: %s: %s\n", cp_file, strerror(errno));
    return 1;
  }
  parley_note *n = calloc(1, sizeof *n);
  parley_checkpoint cp;
  int rc = 1;
  parley_store *store = NULL;
  if (!n) goto out;
  if (strlen(note) != len || parley_note_parse(note, len, n, &err) != PARLEY_E_OK ||
      parley_checkpoint_parse(n->text, n->text_len, &cp, &err) != PARLEY_E_OK) {
    printf("REFUSED: %s is not a checkpoint note: %s\n", cp_file,
           strlen(note) != len ? "it contains a NUL byte" : err.detail);
    goto out;
  }
  if (parley_note_verify(n, &v, &err) != PARLEY_E_OK || strcmp(cp.origin, v.name) != 0) {
    printf("REFUSED: the checkpoint in %s is not signed by the log key %s (%s)\n", cp_file, v.name,
           strcmp(cp.origin, v.name) != 0 ? "another origin" : err.detail);
    goto out;
  }
  char names[8 * (PARLEY_NOTE_NAME_MAX + 2)] = "";
  size_t used = 0;
  unsigned cosigned = 0;
  for (size_t i = 0; i < cfg.n_witness_keys; i++) {
    parley_error ignored;
    if (parley_cosig_verify(n, &cfg.witness_keys[i], NULL, &ignored) != PARLEY_E_OK) continue;
    /* the names are for the message only: past the buffer they are cut, not counted less */
    int w = snprintf(names + used, sizeof names - used, "%s%s", cosigned++ ? ", " : "",
                     cfg.witness_keys[i].name);
    if (w > 0 && (size_t)w < sizeof names - used)
      used += (size_t)w;
    else
      used = sizeof names - 1; /* full: later names are left out */
  }
  if (cosigned < required) {
    printf("REFUSED: the checkpoint in %s carries valid cosignatures of %u of the %zu witness "
           "keys, %llu required\n",
           cp_file, cosigned, cfg.n_witness_keys, (unsigned long long)required);
    goto out;
  }

  /* parley_store_open creates a missing SQLite file: a typo must not pass as "empty". */
  const char *path = sqlite_path(url);
  struct stat st;
  if (path && stat(path, &st) != 0) {
    fprintf(stderr, "parleyd check-log: %s: %s\n", path, strerror(errno));
    goto out;
  }
  if (path && strncmp(url, "sqlite:", 7) != 0) {
    char tmp[sizeof url];
    snprintf(tmp, sizeof tmp, "sqlite:%s", path);
    parley_strlcpy(url, tmp, sizeof url);
  }
  if (parley_store_open(url, &store, &err) != PARLEY_E_OK) {
    fprintf(stderr, "parleyd check-log: store: %s (%s)\n", err.detail, parley_err_name(err.code));
    goto out;
  }
  check_ctx c;
  memset(&c, 0, sizeof c);
  c.cosigned = &cp;
  c.log_key = &v;
  if (parley_store_run_named(store, "check_log", false, check_tx, &c, &err) != PARLEY_E_OK) {
    fprintf(stderr, "parleyd check-log: store: %s (%s)\n", err.detail, parley_err_name(err.code));
    goto out;
  }
  if (c.problem[0]) {
    printf("REFUSED: %s\n", c.problem);
    goto out;
  }
  printf("LOG CONSISTENT: %llu entries, contiguous, each matching its stored hash; the first "
         "%llu give the root of the checkpoint signed by %s and cosigned by %s",
         (unsigned long long)c.size, (unsigned long long)cp.size, v.name,
         names[0] ? names : "no witness");
  if (c.latest_checked)
    printf("; the store's latest checkpoint (size %llu) matches",
           (unsigned long long)c.latest_size);
  printf("\n");
  rc = 0;
out:
  if (store) parley_store_close(store);
  free(n);
  free(note);
  return rc;
}

/* ---- restore -------------------------------------------------------------------------- */

const char parleyd_restore_usage[] =
    "usage: parleyd restore --from FILE [--force] [-c CONFIG] [parleyd's other flags]\n"
    "  Replaces the SQLite store of that configuration (parleyd stopped) with the backup\n"
    "  FILE, once a copy of it passes the full check of `parleyd check-log` against each\n"
    "  checkpoint kept outside the store (the last the signer signed, the cosigned one in\n"
    "  --cosigned-checkpoint): a contiguous log, every entry its stored hash, the kept\n"
    "  checkpoints' roots. A backup whose log is shorter than the current store's is\n"
    "  refused unless --force. The current store is kept as STORE.pre-restore-TIME; the\n"
    "  evidence files the backup names are added where missing, none replaced. A backup\n"
    "  that fails is not installed (exit 1). For PostgreSQL, recover with pg_basebackup's\n"
    "  copy and the WAL archive (docs/operations.md, section 6.2); parleyd makes the\n"
    "  start-up check when it starts.\n";

static void unlink_with_wal(const char *path) {
  char p[PATH_MAX + 32];
  unlink(path);
  if (snprintf(p, sizeof p, "%s-wal", path) < (int)sizeof p) unlink(p);
  if (snprintf(p, sizeof p, "%s-shm", path) < (int)sizeof p) unlink(p);
}

/* An exclusive connection to the current store, held until the restore ends: no parleyd
 * can open it meanwhile. NULL when another process has it open (a running parleyd keeps
 * a lock on it in WAL mode, so an exclusive lock cannot be had). */
static sqlite3 *store_lock(const char *path) {
  sqlite3 *db = NULL;
  if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK ||
      sqlite3_exec(db, "PRAGMA locking_mode=EXCLUSIVE; BEGIN EXCLUSIVE; COMMIT", NULL, NULL,
                   NULL) != SQLITE_OK) {
    sqlite3_close(db);
    return NULL;
  }
  return db;
}

/* Adds the ciphertext of the packages the checked copy `db` names, from FROM.evidence/
 * (as `parleyd backup` writes it) into cfg.evidence_dir: only ids the copy names, at most
 * the size its row accounts for (an available package's ciphertext_size, an unfinished
 * upload's upload_offset), only regular files (never through a link), and never over an
 * existing ID.ct (link(2) of a flushed temporary: no replace). *kept: ids already there. */
static bool restore_evidence(const char *from, const char *db, unsigned *files, unsigned *kept) {
  char src[PATH_MAX + 16];
  snprintf(src, sizeof src, "%s.evidence", from);
  *files = *kept = 0;
  struct stat st;
  if (lstat(src, &st) != 0) return errno == ENOENT ? true : (perror(src), false);
  if (!S_ISDIR(st.st_mode)) {
    fprintf(stderr, "parleyd restore: %s is not a folder\n", src);
    return false;
  }
  const char *evdir = parleyd->cfg.evidence_dir;
  if (mkdir(evdir, 0700) != 0 && errno != EEXIST) {
    fprintf(stderr, "parleyd restore: %s: %s\n", evdir, strerror(errno));
    return false;
  }
  sqlite3 *h = NULL;
  sqlite3_stmt *s = NULL;
  /* read-write, not read-only: the last close of a WAL database folds and removes its
   * -wal, which must not be left beside the copy */
  if (sqlite3_open_v2(db, &h, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK ||
      sqlite3_prepare_v2(h,
                         "SELECT id, status, ciphertext_size, upload_offset FROM evidence "
                         "WHERE status IN (0, 1) ORDER BY id",
                         -1, &s, NULL) != SQLITE_OK) {
    fprintf(stderr, "parleyd restore: evidence: %s\n", sqlite3_errmsg(h));
    sqlite3_close(h);
    return false;
  }
  bool ok = true;
  int step;
  while (ok && (step = sqlite3_step(s)) == SQLITE_ROW) {
    const char *id = (const char *)sqlite3_column_text(s, 0);
    if (!id || !safe_id(id)) continue;
    sqlite3_int64 len = sqlite3_column_int64(s, sqlite3_column_int(s, 1) == 1 ? 2 : 3);
    char a[PATH_MAX + 96], part[PATH_MAX + 96], b[PATH_MAX + 96];
    if (len < 0 || snprintf(a, sizeof a, "%s/%s.ct", src, id) >= (int)sizeof a ||
        snprintf(part, sizeof part, "%s/%s.ct.restoring", evdir, id) >= (int)sizeof part ||
        snprintf(b, sizeof b, "%s/%s.ct", evdir, id) >= (int)sizeof b)
      continue;
    if (lstat(b, &st) == 0) {
      (*kept)++;
      continue;
    }
    uint64_t got = 0;
    unlink(part);
    if (!copy_file(a, part, (uint64_t)len, &got)) {
      if (errno == ENOENT) continue; /* deleted (retention) before the backup copied it */
      fprintf(stderr, "parleyd restore: %s: %s\n", a,
              errno == EINVAL || errno == ELOOP ? "not a regular file (a link, FIFO or device)"
                                                : strerror(errno));
      ok = false;
    } else if (link(part, b) != 0) {
      fprintf(stderr, "parleyd restore: %s: %s\n", b, strerror(errno));
      ok = false;
    } else {
      (*files)++;
    }
    unlink(part);
  }
  if (ok && step != SQLITE_DONE) {
    fprintf(stderr, "parleyd restore: evidence: %s\n", sqlite3_errmsg(h));
    ok = false;
  }
  sqlite3_finalize(s);
  sqlite3_close(h);
  return ok && fsync_path(evdir, O_RDONLY | O_DIRECTORY);
}

/* The full check of check-log on the copy at url, against each known checkpoint (the
 * hub's key signs them all). false with *why set when it must not be installed. */
static bool restore_check(const char *url, char *why, size_t why_cap, char *summary,
                          size_t summary_cap, uint64_t *log_size) {
  parleyd_known_checkpoint known[2];
  size_t n_known = 0;
  if (!parleyd_log_guard_known(known, &n_known, why, why_cap)) return false;
  parley_error err;
  parley_store *store = NULL;
  if (parley_store_open(url, &store, &err) != PARLEY_E_OK) {
    snprintf(why, why_cap, "%s (%s)", err.detail, parley_err_name(err.code));
    return false;
  }
  /* the start-up check first: cheap, and its message is the one parleyd would give */
  if (!parleyd_log_guard_check(store, why, why_cap, summary, summary_cap)) {
    parley_store_close(store);
    return false;
  }
  parley_note_verifier v;
  parleyd_hub_note_verifier(&v);
  static check_ctx c;
  parley_checkpoint cp;
  bool ok = true;
  int w = snprintf(summary, summary_cap, "log of");
  /* with no known checkpoint, the empty one: the log is still rebuilt and checked */
  for (size_t i = 0; ok && i < (n_known ? n_known : 1); i++) {
    memset(&cp, 0, sizeof cp);
    if (n_known) {
      cp.size = known[i].size;
      memcpy(cp.root, known[i].root, sizeof cp.root);
    }
    memset(&c, 0, sizeof c);
    c.cosigned = &cp;
    c.log_key = &v;
    if (parley_store_run_named(store, "restore_check", false, check_tx, &c, &err) != PARLEY_E_OK) {
      snprintf(why, why_cap, "cannot read its log: %s", err.detail);
      ok = false;
    } else if (c.problem[0]) {
      snprintf(why, why_cap, "against %s: %s",
               n_known ? known[i].source : "its own latest checkpoint", c.problem);
      ok = false;
    } else if (w > 0 && (size_t)w < summary_cap) {
      if (i == 0)
        w += snprintf(summary + w, summary_cap - (size_t)w,
                      " %llu entries, each "
                      "matching its stored hash,",
                      (unsigned long long)c.size);
      if (n_known)
        w += snprintf(summary + w, summary_cap - (size_t)w, "%s extends %s (size %llu)",
                      i ? "," : "", known[i].source, (unsigned long long)known[i].size);
      else
        w += snprintf(summary + w, summary_cap - (size_t)w,
                      " no checkpoint kept outside the store to compare with");
    }
  }
  *log_size = c.size;
  parley_store_close(store);
  return ok;
}

int parleyd_restore(const char *from, bool force) {
  const char *dest = sqlite_path(parleyd->cfg.store_url);
  if (!dest) {
    fprintf(stderr, "parleyd restore: only the SQLite store; for PostgreSQL recover the base "
                    "backup and the WAL archive (docs/operations.md, section 6.2): parleyd "
                    "checks the store when it starts\n");
    return 2;
  }
  struct stat st, dst;
  if (strlen(from) > PATH_MAX - 16 || strlen(dest) > PATH_MAX - 64) {
    fprintf(stderr, "parleyd restore: path too long\n");
    return 2;
  }
  if (stat(from, &st) != 0) {
    fprintf(stderr, "parleyd restore: %s: %s\n", from, strerror(errno));
    return 1;
  }
  bool have_dest = stat(dest, &dst) == 0;
  if (have_dest && st.st_dev == dst.st_dev && st.st_ino == dst.st_ino) {
    fprintf(stderr, "parleyd restore: %s is the store itself\n", from);
    return 2;
  }
  /* Held to the end: the current store cannot be opened by a parleyd started meanwhile. */
  sqlite3 *cur = NULL;
  if (have_dest && !(cur = store_lock(dest))) {
    fprintf(stderr, "parleyd restore: %s is in use: stop parleyd first\n", dest);
    return 1;
  }
  long long cur_size = cur ? query_int(cur, "SELECT count(*) FROM log_leaves") : 0;
  int rc = 1;
  char tmp[PATH_MAX + 16];
  snprintf(tmp, sizeof tmp, "%s.restoring", dest);
  unlink_with_wal(tmp);
  umask(077);

  /* 1. A copy beside the store (same file system, so the final rename is atomic). */
  sqlite3 *src = NULL, *to = NULL;
  int src_rc = sqlite3_open_v2(from, &src, SQLITE_OPEN_READONLY, NULL);
  if (src_rc == SQLITE_OK)
    src_rc = sqlite3_open_v2(tmp, &to, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
  sqlite3_backup *b = src_rc == SQLITE_OK ? sqlite3_backup_init(to, "main", src, "main") : NULL;
  if (b) {
    src_rc = sqlite3_backup_step(b, -1);
    if (sqlite3_backup_finish(b) != SQLITE_OK && src_rc == SQLITE_DONE)
      src_rc = sqlite3_errcode(to);
  } else if (src_rc == SQLITE_OK) {
    src_rc = sqlite3_errcode(to);
  }
  char check[64] = "";
  if (src_rc == SQLITE_DONE) {
    sqlite3_stmt *s = NULL;
    if (sqlite3_prepare_v2(to, "PRAGMA quick_check", -1, &s, NULL) == SQLITE_OK &&
        sqlite3_step(s) == SQLITE_ROW && sqlite3_column_text(s, 0))
      parley_strlcpy(check, (const char *)sqlite3_column_text(s, 0), sizeof check);
    sqlite3_finalize(s);
  }
  sqlite3_close(src);
  int crc = sqlite3_close(to);
  if (src_rc != SQLITE_DONE || crc != SQLITE_OK || strcmp(check, "ok") != 0) {
    fprintf(stderr, "parleyd restore: %s: %s\n", from,
            src_rc != SQLITE_DONE ? sqlite3_errstr(src_rc)
            : check[0]            ? "fails SQLite's quick_check"
                                  : "cannot close the copy");
    goto fail;
  }

  /* 2. The copy opened as parleyd would (migrations included), then the whole log
   * rebuilt from its entries and compared with each checkpoint kept outside the store. */
  char url[PATH_MAX + 32];
  snprintf(url, sizeof url, "sqlite:%s", tmp);
  static char why[2048], summary[2048];
  uint64_t new_size = 0;
  if (!restore_check(url, why, sizeof why, summary, sizeof summary, &new_size)) {
    printf("REFUSED: %s was not installed: %s\n", from, why);
    goto fail;
  }
  if (cur_size > 0 && (uint64_t)cur_size > new_size && !force) {
    printf("REFUSED: %s was not installed: the current store's log has %lld entries, the "
           "backup's only %llu: the entries in between would be lost from this hub (and a "
           "hub that signed them would fork its log). If the current store is damaged and "
           "this backup is the best there is, give --force (the current store is kept as "
           "%s.pre-restore-TIME)\n",
           from, cur_size, (unsigned long long)new_size, dest);
    goto fail;
  }

  /* 3. The evidence, once the store passed (FROM.evidence, as `parleyd backup` writes it),
   * before the store, so that it never names ciphertext that is not there: missing files
   * added, none replaced. */
  unsigned ev_files = 0, ev_kept = 0;
  if (!restore_evidence(from, tmp, &ev_files, &ev_kept)) {
    printf("REFUSED: %s was not installed: its evidence folder cannot be restored safely\n", from);
    goto fail;
  }

  /* 4. Into place. The current store, its WAL folded in through the connection that locks
   * it (so no WAL is left to be replayed onto, or unlinked from under, another file), is
   * kept as STORE.pre-restore-TIME; then the copy is renamed in and the folder flushed. */
  char dir[PATH_MAX], aside[PATH_MAX + 64] = "", wal[PATH_MAX + 32];
  parley_strlcpy(dir, dest, sizeof dir);
  snprintf(wal, sizeof wal, "%s-wal", tmp);
  if (access(wal, F_OK) == 0 || !fsync_path(tmp, O_RDONLY)) {
    fprintf(stderr, "parleyd restore: %s: the copy is not self-contained\n", tmp);
    goto fail;
  }
  if (cur) {
    time_t now = time(NULL);
    struct tm tm;
    char stamp[32];
    strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", gmtime_r(&now, &tm));
    snprintf(aside, sizeof aside, "%s.pre-restore-%s", dest, stamp);
    /* journal_mode=DELETE after the checkpoint: SQLite removes the -wal while the lock is
     * held; the kept store is one file (parleyd puts it back in WAL mode if opened). */
    errno = 0;
    if (sqlite3_exec(cur, "PRAGMA wal_checkpoint(TRUNCATE); PRAGMA journal_mode=DELETE", NULL, NULL,
                     NULL) != SQLITE_OK ||
        lstat(aside, &dst) == 0 || rename(dest, aside) != 0) {
      fprintf(stderr, "parleyd restore: cannot keep the current store as %s: %s\n", aside,
              errno ? strerror(errno) : sqlite3_errmsg(cur));
      goto fail;
    }
    snprintf(wal, sizeof wal, "%s-shm", dest);
    unlink(wal);
  }
  if (rename(tmp, dest) != 0 || !fsync_path(dirname(dir), O_RDONLY)) {
    fprintf(stderr, "parleyd restore: %s: %s\n", dest, strerror(errno));
    if (aside[0]) rename(aside, dest);
    goto fail;
  }
  sqlite3_close(cur);
  cur = NULL;
  printf("restored %s to %s: %s", from, dest, summary);
  if (aside[0]) printf("; the previous store kept as %s", aside);
  if (ev_files) printf("; %u evidence packages into %s", ev_files, parleyd->cfg.evidence_dir);
  if (ev_kept) printf("; %u already there kept", ev_kept);
  printf("\n");
  return 0;
fail:
  unlink_with_wal(tmp);
  sqlite3_close(cur);
  return rc;
}
