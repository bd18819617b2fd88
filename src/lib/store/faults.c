/* Fault injection for tests: see faults.h for what a spec says.
 *
 * The wrapper is an engine table: a copy of the real engine's, with the calls that take
 * the engine handle (begin, commit, rollback, close) wrapped and every other entry passed
 * through unchanged, so operations added to the engines later are carried without an
 * edit here. Operations are counted where store.c lets each one in (tx_enter), before it
 * reaches the engine. A failed commit rolls back first, as the engine contract says. */
#include "store/faults.h"

#include <stdio.h>
#include <stdlib.h>

#define FAULTS_ENV "PARLEY_STORE_FAULTS"
#define FAULTS_PREFIX "faults:"
#define FAULTS_SPEC_MAX 256

enum fault_kind { FAULT_CALL, FAULT_BEGIN, FAULT_COMMIT, FAULT__COUNT };
static const char *const KIND_NAMES[FAULT__COUNT] = {"call", "begin", "commit"};

struct fault_rule {
  uint64_t every; /* 0: this kind never fails */
  bool once;      /* only the Nth, not every Nth */
  parley_qs qs;   /* what the failure returns: HARD or RETRY */
  _Atomic uint64_t seen;
};

struct parley_store_faults {
  struct parley_store_backend ops; /* first: s->ops points here */
  const struct parley_store_backend *inner;
  void *inner_backend;
  struct fault_rule rules[FAULT__COUNT];
};

static parley_qs tick(struct fault_rule *r, enum fault_kind kind, const char *op) {
  if (r->every == 0) return PARLEY_QS_ONE;
  uint64_t n = atomic_fetch_add_explicit(&r->seen, 1, memory_order_relaxed) + 1;
  if (r->once ? n != r->every : n % r->every != 0) return PARLEY_QS_ONE;
  parley_log(PARLEY_LOG_WARN, "store.fault_injected", "kind=%s op=%s n=%llu result=%s",
             KIND_NAMES[kind], op, (unsigned long long)n,
             r->qs == PARLEY_QS_RETRY ? "retry" : "hard");
  return r->qs;
}

static void faults_close(void *backend) {
  struct parley_store_faults *f = backend;
  f->inner->close(f->inner_backend);
  free(f);
}

static parley_qs faults_begin(void *backend, bool write, void **conn) {
  struct parley_store_faults *f = backend;
  parley_qs qs = tick(&f->rules[FAULT_BEGIN], FAULT_BEGIN, write ? "write" : "read");
  if (qs < 0) return qs; /* no connection taken: nothing to end */
  return f->inner->begin(f->inner_backend, write, conn);
}

static parley_qs faults_commit(void *backend, void *conn) {
  struct parley_store_faults *f = backend;
  parley_qs qs = tick(&f->rules[FAULT_COMMIT], FAULT_COMMIT, "commit");
  if (qs < 0) {
    f->inner->rollback(f->inner_backend, conn);
    return qs;
  }
  return f->inner->commit(f->inner_backend, conn);
}

static void faults_rollback(void *backend, void *conn) {
  struct parley_store_faults *f = backend;
  f->inner->rollback(f->inner_backend, conn);
}

const char *parley_store_faults_url(const char *url, char *spec, size_t cap) {
  if (cap) spec[0] = '\0';
  if (!url || strncmp(url, FAULTS_PREFIX, strlen(FAULTS_PREFIX)) != 0) return url;
  const char *start = url + strlen(FAULTS_PREFIX);
  const char *plus = strchr(start, '+');
  if (!plus || (size_t)(plus - start) >= cap) return NULL;
  memcpy(spec, start, (size_t)(plus - start));
  spec[plus - start] = '\0';
  return plus + 1;
}

/* One rule "KIND:N[:hard|:retry][:once]" of len bytes at s. */
static bool parse_rule(struct parley_store_faults *f, const char *s, size_t len) {
  char buf[64];
  if (len == 0 || len >= sizeof buf) return false;
  memcpy(buf, s, len);
  buf[len] = '\0';
  char *save = NULL;
  char *kind = strtok_r(buf, ":", &save);
  char *count = strtok_r(NULL, ":", &save);
  if (!kind || !count) return false;
  struct fault_rule *r = NULL;
  for (int k = 0; k < FAULT__COUNT; k++)
    if (strcmp(kind, KIND_NAMES[k]) == 0) r = &f->rules[k];
  if (!r || r->every) return false; /* unknown kind, or the same kind twice */
  char *end = NULL;
  unsigned long long n = strtoull(count, &end, 10);
  if (count[0] < '1' || count[0] > '9' || *end || n > UINT32_MAX) return false;
  r->every = n;
  r->qs = PARLEY_QS_HARD;
  for (char *opt; (opt = strtok_r(NULL, ":", &save));) {
    if (strcmp(opt, "hard") == 0)
      r->qs = PARLEY_QS_HARD;
    else if (strcmp(opt, "retry") == 0)
      r->qs = PARLEY_QS_RETRY;
    else if (strcmp(opt, "once") == 0)
      r->once = true;
    else
      return false;
  }
  return true;
}

parley_err parley_store_faults_wrap(parley_store *s, const char *spec, parley_error *err) {
  const char *from = "store URL";
  if (!spec || !spec[0]) {
    spec = getenv(FAULTS_ENV);
    from = FAULTS_ENV;
  }
  if (!spec || !spec[0]) return PARLEY_E_OK;
  if (strlen(spec) >= FAULTS_SPEC_MAX)
    return parley_fail(err, PARLEY_E_STORE_URL, "%s: fault spec too long", from);

  struct parley_store_faults *f = calloc(1, sizeof *f);
  if (!f) return parley_fail(err, PARLEY_E_NO_MEMORY, "fault injector");
  for (const char *p = spec;;) {
    const char *comma = strchr(p, ',');
    size_t len = comma ? (size_t)(comma - p) : strlen(p);
    if (!parse_rule(f, p, len)) {
      free(f);
      return parley_fail(err, PARLEY_E_STORE_URL,
                         "%s: bad fault rule (want KIND:N[:hard|:retry][:once], KIND one of "
                         "call, begin, commit)",
                         from);
    }
    if (!comma) break;
    p = comma + 1;
  }
  f->inner = s->ops;
  f->inner_backend = s->backend;
  f->ops = *s->ops; /* every entry not wrapped below passes straight through */
  f->ops.close = faults_close;
  f->ops.begin = faults_begin;
  f->ops.commit = faults_commit;
  f->ops.rollback = faults_rollback;
  s->ops = &f->ops;
  s->backend = f;
  parley_log(PARLEY_LOG_WARN, "store.faults_enabled", "spec=%s from=%s", spec, from);
  return PARLEY_E_OK;
}

parley_qs parley_store_faults_call(parley_store *s, const char *op) {
  if (!s || s->ops->begin != faults_begin) return PARLEY_QS_ONE;
  struct parley_store_faults *f = s->backend;
  return tick(&f->rules[FAULT_CALL], FAULT_CALL, op);
}
