/* tlog_bench: the transparency log straight on libparley's store API, without HTTP.
 *
 *   tlog_bench append URL SECONDS BATCH [CHECKPOINT_S]
 *       Appends leaves the way the hub does (parley_store_tlog_append: the leaf, then
 *       each interior node it completes), BATCH appends per write transaction, for SECONDS; every
 * CHECKPOINT_S seconds (default 1; 0 = never) signs a checkpoint of the current tree in its own
 *       write transaction, as the hub's scheduler does.
 *   tlog_bench build URL N [BATCH]
 *       Grows the log to N leaves (from whatever size it has), BATCH appends per
 *       transaction (default 500000): builds large logs for `prove`.
 *   tlog_bench prove URL COUNT
 *       COUNT inclusion proofs for random indices of the whole log, each in its own read
 *       transaction (parley_store_run), after COUNT/10 unmeasured ones; every proof is
 *       checked against the tree's root outside the timing.
 *
 * Entries are "envelope\n" || SHA-256("parley-bench-leaf" || pid || counter), like a
 * message's leaf (a kind and a 32-byte hash). Prints one JSON line. */
#include <errno.h>
#include <malloc.h>
#include <sodium.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "parley/base.h"
#include "parley/crypto.h"
#include "parley/store.h"
#include "parley/tlog.h"

#define ORIGIN "bench.parley.localhost/tlog-bench"
#define MAX_SAMPLES 10000000u

__attribute__((format(printf, 1, 2), noreturn)) static void die(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("tlog_bench: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
  exit(2);
}

static double parse_num(const char *s, double max, const char *what) {
  char *end;
  errno = 0;
  double v = strtod(s, &end);
  if (errno || end == s || *end || v < 0 || v > max) die("bad %s: %s", what, s);
  return v;
}

static double secs_since(uint64_t t0) {
  return (double)(parley_mono_ns() - t0) / 1e9;
}

static parley_qs qs_of(parley_err e) {
  return e == PARLEY_E_STORE_RETRY ? PARLEY_QS_RETRY : PARLEY_QS_HARD;
}

static uint64_t counter;

static size_t make_entry(uint8_t entry[64]) {
  static const char kind[] = "envelope\n";
  uint8_t seed[17 + 8 + 8];
  uint64_t pid = (uint64_t)getpid(), n = counter++;
  memcpy(seed, "parley-bench-leaf", 17);
  memcpy(seed + 17, &pid, 8);
  memcpy(seed + 25, &n, 8);
  parley_hash h;
  parley_sha256(seed, sizeof seed, &h);
  memcpy(entry, kind, sizeof kind - 1);
  memcpy(entry + sizeof kind - 1, h.b, 32);
  return sizeof kind - 1 + 32;
}

/* One append as the hub does it (parley_store_tlog_append). */
static parley_qs append_one(parley_tx *tx, parley_error *err) {
  uint8_t entry[64];
  size_t len = make_entry(entry);
  uint64_t leaf;
  return parley_store_tlog_append(tx, "envelope", entry, len, parley_now(), &leaf, err);
}

typedef struct {
  uint64_t batch;
} batch_ctx;

static parley_qs batch_tx(parley_tx *tx, void *cls, parley_error *err) {
  batch_ctx *c = cls;
  for (uint64_t i = 0; i < c->batch; i++) {
    parley_qs qs = append_one(tx, err);
    if (qs != PARLEY_QS_ONE) return qs;
  }
  return PARLEY_QS_ONE;
}

typedef struct {
  const parley_note_signer *signer;
  uint64_t size;
} ckpt_ctx;

/* Signs a checkpoint of the current tree, as the hub's ensure_checkpoint does. */
static parley_qs checkpoint_tx(parley_tx *tx, void *cls, parley_error *err) {
  ckpt_ctx *c = cls;
  parley_qs qs = parley_store_log_size(tx, &c->size);
  if (qs < 0) return qs;
  parley_checkpoint cp;
  memset(&cp, 0, sizeof cp);
  parley_strlcpy(cp.origin, ORIGIN, sizeof cp.origin);
  cp.size = c->size;
  parley_err e = parley_tlog_root(parley_store_tlog_hash, tx, c->size, cp.root, err);
  if (e) return qs_of(e);
  parley_buf text, note;
  parley_buf_init(&text, 4096);
  parley_buf_init(&note, 8192);
  qs = PARLEY_QS_HARD;
  if (parley_checkpoint_format(&cp, &text, err) == PARLEY_E_OK &&
      parley_note_sign(c->signer, (const char *)text.data, text.len, &note, err) == PARLEY_E_OK) {
    parley_checkpoint_row row = {c->size, (char *)note.data, parley_now()};
    qs = parley_store_checkpoint_put(tx, &row);
  }
  parley_buf_free(&text);
  parley_buf_free(&note);
  return qs;
}

static parley_qs size_tx(parley_tx *tx, void *cls, parley_error *err) {
  (void)err;
  return parley_store_log_size(tx, cls);
}

static uint64_t log_size(parley_store *s) {
  uint64_t size = 0;
  parley_error err;
  if (parley_store_run(s, false, size_tx, &size, &err) != PARLEY_E_OK)
    die("log size: %s", err.detail);
  return size;
}

static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

static double pct_ms(const uint64_t *v, size_t n, double p) {
  return n ? (double)v[(size_t)(p * (double)(n - 1) + 0.5)] / 1e6 : 0;
}

static parley_store *open_store(const char *url) {
  parley_store *s = NULL;
  parley_error err;
  if (parley_store_open(url, &s, &err) != PARLEY_E_OK) die("cannot open %s: %s", url, err.detail);
  return s;
}

static int cmd_append(const char *url, double seconds, uint64_t batch, double ckpt_s) {
  parley_store *s = open_store(url);
  uint8_t seed[32];
  randombytes_buf(seed, sizeof seed);
  parley_note_signer *signer = NULL;
  parley_error err;
  if (parley_note_signer_new(ORIGIN, seed, &signer, &err) != PARLEY_E_OK)
    die("note signer: %s", err.detail);
  sodium_memzero(seed, sizeof seed);
  uint64_t size0 = log_size(s);
  size_t cap = 1u << 16, n = 0;
  uint64_t *lat = malloc(cap * sizeof *lat);
  if (!lat) die("out of memory");
  uint64_t n_ckpt = 0, ckpt_ns = 0;
  batch_ctx bc = {batch};
  const uint64_t t0 = parley_mono_ns(), budget = (uint64_t)(seconds * 1e9);
  uint64_t next_ckpt = ckpt_s > 0 ? t0 + (uint64_t)(ckpt_s * 1e9) : UINT64_MAX;
  uint64_t now = t0;
  while (now - t0 < budget) {
    uint64_t a = parley_mono_ns();
    if (parley_store_run(s, true, batch_tx, &bc, &err) != PARLEY_E_OK)
      die("append: %s", err.detail);
    now = parley_mono_ns();
    if (n == cap) {
      cap *= 2;
      uint64_t *p = realloc(lat, cap * sizeof *p);
      if (!p) die("out of memory");
      lat = p;
    }
    lat[n++] = now - a;
    if (now >= next_ckpt) {
      ckpt_ctx cc = {signer, 0};
      if (parley_store_run(s, true, checkpoint_tx, &cc, &err) != PARLEY_E_OK)
        die("checkpoint: %s", err.detail);
      uint64_t b = parley_mono_ns();
      ckpt_ns += b - now;
      n_ckpt++;
      now = b;
      next_ckpt += (uint64_t)(ckpt_s * 1e9);
    }
  }
  double elapsed = (double)(now - t0) / 1e9;
  uint64_t size1 = log_size(s);
  if (size1 - size0 != n * batch)
    die("appended %llu leaves, the log grew by %llu", (unsigned long long)(n * batch),
        (unsigned long long)(size1 - size0));
  qsort(lat, n, sizeof *lat, cmp_u64);
  printf("{\"mode\":\"append\",\"batch\":%llu,\"seconds\":%.3f,\"appends\":%llu,"
         "\"appends_per_s\":%.0f,\"transactions_per_s\":%.0f,\"tx_p50_ms\":%.3f,"
         "\"tx_p99_ms\":%.3f,\"checkpoints\":%llu,\"checkpoint_ms_avg\":%.3f,"
         "\"size_before\":%llu,\"size_after\":%llu}\n",
         (unsigned long long)batch, elapsed, (unsigned long long)(n * batch),
         (double)(n * batch) / elapsed, (double)n / elapsed, pct_ms(lat, n, 0.5),
         pct_ms(lat, n, 0.99), (unsigned long long)n_ckpt,
         n_ckpt ? (double)ckpt_ns / 1e6 / (double)n_ckpt : 0.0, (unsigned long long)size0,
         (unsigned long long)size1);
  free(lat);
  parley_note_signer_free(signer);
  parley_store_close(s);
  return 0;
}

/* Building only: a 2 GiB page cache on every connection the store opens (SQLite's default
 * is 2 MiB), so that the random inserts into the leaf-hash index stay in memory and each
 * index page is written about once per (large) transaction. What is written, and how, is
 * unchanged; `append` and `prove` keep the store's defaults. */
static int big_cache(sqlite3 *db, char **errmsg, const struct sqlite3_api_routines *api) {
  (void)api;
  return sqlite3_exec(db, "PRAGMA cache_size = -2097152", NULL, NULL, errmsg);
}

static int cmd_build(const char *url, uint64_t target, uint64_t batch) {
  if (sqlite3_auto_extension((void (*)(void))big_cache) != SQLITE_OK)
    die("cannot set the page cache");
  /* glibc would otherwise give the cache's memory back with brk() after each
   * transaction and fault it in again: that took 2/3 of the time. */
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
  mallopt(M_TOP_PAD, 64 << 20);
  parley_store *s = open_store(url);
  uint64_t size0 = log_size(s), size = size0;
  const uint64_t t0 = parley_mono_ns();
  uint64_t next_report = (size / 1000000 + 1) * 1000000;
  parley_error err;
  while (size < target) {
    batch_ctx bc = {target - size < batch ? target - size : batch};
    if (parley_store_run(s, true, batch_tx, &bc, &err) != PARLEY_E_OK)
      die("append: %s", err.detail);
    size += bc.batch;
    if (size >= next_report) {
      fprintf(stderr, "tlog_bench: %llu leaves, %.0f s\n", (unsigned long long)size,
              secs_since(t0));
      next_report += 1000000;
    }
  }
  double elapsed = secs_since(t0);
  if (log_size(s) != size)
    die("the log has %llu leaves, expected %llu", (unsigned long long)log_size(s),
        (unsigned long long)size);
  printf("{\"mode\":\"build\",\"size\":%llu,\"appended\":%llu,\"batch\":%llu,\"seconds\":%.1f,"
         "\"appends_per_s\":%.0f}\n",
         (unsigned long long)size, (unsigned long long)(size - size0), (unsigned long long)batch,
         elapsed, elapsed > 0 ? (double)(size - size0) / elapsed : 0.0);
  parley_store_close(s);
  return 0;
}

typedef struct {
  uint64_t index, size;
  uint8_t proof[PARLEY_TLOG_MAX_PROOF][PARLEY_TLOG_HASH_LEN];
  size_t count;
  uint64_t inner_ns; /* time of parley_tlog_inclusion_proof alone */
  uint8_t leaf[32], root[32];
} proof_ctx;

static parley_qs proof_tx(parley_tx *tx, void *cls, parley_error *err) {
  proof_ctx *c = cls;
  uint64_t a = parley_mono_ns();
  parley_err e = parley_tlog_inclusion_proof(parley_store_tlog_hash, tx, c->index, c->size,
                                             c->proof, &c->count, err);
  c->inner_ns = parley_mono_ns() - a;
  return e ? qs_of(e) : PARLEY_QS_ONE;
}

static parley_qs root_tx(parley_tx *tx, void *cls, parley_error *err) {
  proof_ctx *c = cls;
  parley_err e = parley_tlog_root(parley_store_tlog_hash, tx, c->size, c->root, err);
  return e ? qs_of(e) : PARLEY_QS_ONE;
}

static parley_qs leaf_tx(parley_tx *tx, void *cls, parley_error *err) {
  (void)err;
  proof_ctx *c = cls;
  return parley_store_node_get(tx, 0, c->index, c->leaf);
}

/* Machine-wide busy CPU seconds (user, nice, system, irq, softirq, steal), /proc/stat. */
static double machine_busy(void) {
  FILE *f = fopen("/proc/stat", "r");
  if (!f) return 0;
  unsigned long long v[8] = {0};
  int n = fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3],
                 &v[4], &v[5], &v[6], &v[7]);
  fclose(f);
  if (n < 8) return 0;
  return (double)(v[0] + v[1] + v[2] + v[5] + v[6] + v[7]) / (double)sysconf(_SC_CLK_TCK);
}

static double self_cpu(struct rusage *ru) {
  getrusage(RUSAGE_SELF, ru);
  return (double)(ru->ru_utime.tv_sec + ru->ru_stime.tv_sec) +
         (double)(ru->ru_utime.tv_usec + ru->ru_stime.tv_usec) / 1e6;
}

/* Bytes this process had read from the disk itself (not from the page cache). */
static unsigned long long disk_read_bytes(void) {
  FILE *f = fopen("/proc/self/io", "r");
  if (!f) return 0;
  char line[128];
  unsigned long long v = 0;
  while (fgets(line, sizeof line, f))
    if (sscanf(line, "read_bytes: %llu", &v) == 1) break;
  fclose(f);
  return v;
}

static int cmd_prove(const char *url, size_t count) {
  parley_store *s = open_store(url);
  static proof_ctx c;
  c.size = log_size(s);
  if (c.size == 0) die("the log is empty");
  parley_error err;
  if (parley_store_run(s, false, root_tx, &c, &err) != PARLEY_E_OK) die("root: %s", err.detail);
  size_t warm = count / 10;
  uint64_t *lat = malloc(count * sizeof *lat), *inner = malloc(count * sizeof *inner);
  if (!lat || !inner) die("out of memory");
  size_t max_len = 0;
  double sum_len = 0, busy0 = 0, cpu0 = 0;
  uint64_t t0 = 0;
  struct rusage ru0, ru1;
  unsigned long long rb0 = 0;
  for (size_t i = 0; i < warm + count; i++) {
    if (i == warm) { /* the measured part starts */
      busy0 = machine_busy();
      cpu0 = self_cpu(&ru0);
      rb0 = disk_read_bytes();
      t0 = parley_mono_ns();
    }
    uint64_t r;
    randombytes_buf(&r, sizeof r);
    c.index = r % c.size;
    uint64_t a = parley_mono_ns();
    if (parley_store_run(s, false, proof_tx, &c, &err) != PARLEY_E_OK)
      die("proof of %llu: %s", (unsigned long long)c.index, err.detail);
    uint64_t t = parley_mono_ns() - a;
    if (i >= warm) {
      lat[i - warm] = t;
      inner[i - warm] = c.inner_ns;
      sum_len += (double)c.count;
      if (c.count > max_len) max_len = c.count;
    }
    /* The proof must lead to the root: a benchmark of wrong answers is worth nothing. */
    if (parley_store_run(s, false, leaf_tx, &c, &err) != PARLEY_E_OK)
      die("leaf %llu: %s", (unsigned long long)c.index, err.detail);
    if (parley_tlog_verify_inclusion(c.index, c.size, c.leaf, (const uint8_t(*)[32])c.proof,
                                     c.count, c.root, &err) != PARLEY_E_OK)
      die("the proof of leaf %llu does not verify: %s", (unsigned long long)c.index, err.detail);
  }
  double wall = secs_since(t0), cpu1 = self_cpu(&ru1), busy1 = machine_busy();
  unsigned long long rb1 = disk_read_bytes();
  /* What other processes used meanwhile (a large value marks a disturbed run), how often
   * this one was preempted, and what it read from the disk rather than the page cache. */
  double other = busy1 - busy0 - (cpu1 - cpu0);
  double mean = 0;
  for (size_t i = 0; i < count; i++)
    mean += (double)lat[i];
  mean /= (double)count * 1e6;
  qsort(lat, count, sizeof *lat, cmp_u64);
  qsort(inner, count, sizeof *inner, cmp_u64);
  printf("{\"mode\":\"prove\",\"size\":%llu,\"proofs\":%zu,\"warmup\":%zu,\"p50_ms\":%.4f,"
         "\"p99_ms\":%.4f,\"max_ms\":%.4f,\"mean_ms\":%.4f,\"inner_p50_ms\":%.4f,"
         "\"inner_p99_ms\":%.4f,\"proof_hashes_avg\":%.1f,\"proof_hashes_max\":%zu,"
         "\"verified\":true,\"wall_s\":%.3f,\"other_cores\":%.2f,"
         "\"involuntary_switches\":%ld,\"disk_read_bytes\":%llu}\n",
         (unsigned long long)c.size, count, warm, pct_ms(lat, count, 0.5), pct_ms(lat, count, 0.99),
         (double)lat[count - 1] / 1e6, mean, pct_ms(inner, count, 0.5), pct_ms(inner, count, 0.99),
         sum_len / (double)count, max_len, wall, wall > 0 && other > 0 ? other / wall : 0.0,
         ru1.ru_nivcsw - ru0.ru_nivcsw, rb1 - rb0);
  free(lat);
  free(inner);
  parley_store_close(s);
  return 0;
}

static void usage(void) {
  fprintf(stderr, "usage: tlog_bench append URL SECONDS BATCH [CHECKPOINT_S]\n"
                  "       tlog_bench build URL N [BATCH]\n"
                  "       tlog_bench prove URL COUNT\n"
                  "URL: sqlite:PATH\n");
  exit(2);
}

int main(int argc, char **argv) {
  if (argc < 4) usage();
  if (!parley_init()) die("cannot initialise libsodium");
  const char *cmd = argv[1], *url = argv[2];
  if (strcmp(cmd, "append") == 0 && (argc == 5 || argc == 6)) {
    double secs = parse_num(argv[3], 3600, "SECONDS");
    uint64_t batch = (uint64_t)parse_num(argv[4], 1e6, "BATCH");
    double ckpt = argc == 6 ? parse_num(argv[5], 3600, "CHECKPOINT_S") : 1;
    if (secs <= 0 || batch == 0) usage();
    return cmd_append(url, secs, batch, ckpt);
  }
  if (strcmp(cmd, "build") == 0 && (argc == 4 || argc == 5)) {
    uint64_t n = (uint64_t)parse_num(argv[3], 1e10, "N");
    uint64_t batch = argc == 5 ? (uint64_t)parse_num(argv[4], 1e7, "BATCH") : 500000;
    if (batch == 0) usage();
    return cmd_build(url, n, batch);
  }
  if (strcmp(cmd, "prove") == 0 && argc == 4) {
    size_t count = (size_t)parse_num(argv[3], MAX_SAMPLES, "COUNT");
    if (count == 0) usage();
    return cmd_prove(url, count);
  }
  usage();
}
