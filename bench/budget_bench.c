/* What the per-key and per-state budgets cost a request, beside one Ed25519 verify (the
 * signature check every signed request already pays), measured in the same run.
 *
 *   budget_bench [SECONDS_PER_CASE] [KEYS]
 *
 * Cases, each run for SECONDS_PER_CASE (default 1) on 1 and on 2 threads, over KEYS
 * distinct keys (default 2000, spread over 190 states) taken round-robin:
 *   budgets    the checks auth.c adds per request: the key's nonce share and its token
 *              bucket (every signed request), plus the state's byte budget (submissions)
 *   nonce      the replay check that existed before (SHA-256 + the shared table), for scale
 *   verify     one Ed25519 signature verification of a 300-byte signature base
 * Prints one JSON object: microseconds per operation per thread for each case, and the
 * ratio of the budgets to one verify. */
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "budget.h"
#include "nonce_cache.h"

static uint64_t mono_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

typedef enum { CASE_BUDGETS, CASE_NONCE, CASE_VERIFY } bench_case;

static char (*key_ids)[32];
static char (*states)[8];
static size_t n_keys;
static uint8_t pk[32], sig[64], base[300];

typedef struct {
  bench_case what;
  unsigned thread; /* distinct across every run, so that nonces never repeat */
  double seconds;
  uint64_t ops, ns;
  unsigned refused;
} job;

static void *run(void *arg) {
  job *j = arg;
  uint64_t t0 = mono_ns(), deadline = t0 + (uint64_t)(j->seconds * 1e9), ops = 0;
  size_t k = j->thread * 7919;
  char nonce[40];
  while (mono_ns() < deadline) {
    for (int i = 0; i < 256; i++, ops++, k++) {
      const char *key = key_ids[k % n_keys];
      int64_t now = (int64_t)time(NULL);
      switch (j->what) {
      case CASE_BUDGETS:
        j->refused += parleyd_budget_nonce_room(key, now) != 0;
        parleyd_budget_nonce_charge(key, now, now + 301);
        j->refused += parleyd_budget_request(key, mono_ns()) != 0;
        j->refused += parleyd_budget_bytes(states[k % n_keys], 4096, now) != 0;
        break;
      case CASE_NONCE:
        snprintf(nonce, sizeof nonce, "n-%u-%llu-%d", j->thread, (unsigned long long)ops, i);
        j->refused += parleyd_nonce_check(key, nonce, now, now + 301) != PARLEYD_NONCE_NEW;
        break;
      case CASE_VERIFY:
        j->refused += crypto_sign_verify_detached(sig, base, sizeof base, pk) != 0;
        break;
      }
    }
  }
  j->ops = ops;
  j->ns = mono_ns() - t0;
  return NULL;
}

/* Microseconds per operation per thread with `threads` threads. */
static double measure(bench_case what, unsigned threads, double seconds, unsigned *refused) {
  static unsigned next_thread;
  pthread_t t[2];
  job jobs[2];
  for (unsigned i = 0; i < threads; i++) {
    jobs[i] = (job){what, next_thread++, seconds, 0, 0, 0};
    pthread_create(&t[i], NULL, run, &jobs[i]);
  }
  double us = 0;
  for (unsigned i = 0; i < threads; i++) {
    pthread_join(t[i], NULL);
    us += (double)jobs[i].ns / 1e3 / (double)jobs[i].ops;
    *refused += jobs[i].refused;
  }
  return us / threads;
}

int main(int argc, char **argv) {
  double seconds = argc > 1 ? atof(argv[1]) : 1.0;
  n_keys = argc > 2 ? strtoul(argv[2], NULL, 10) : 2000;
  if (seconds <= 0 || n_keys == 0 || sodium_init() < 0) {
    fprintf(stderr, "usage: budget_bench [SECONDS_PER_CASE] [KEYS]\n");
    return 2;
  }
  key_ids = calloc(n_keys, sizeof *key_ids);
  states = calloc(n_keys, sizeof *states);
  if (!key_ids || !states) return 1;
  for (size_t i = 0; i < n_keys; i++) {
    uint8_t r[16];
    randombytes_buf(r, sizeof r);
    sodium_bin2base64(key_ids[i], sizeof key_ids[i], r, sizeof r,
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    snprintf(states[i], sizeof states[i], "S%02zu", i % 190);
  }
  /* Limits high enough that every check admits: the common path is measured. */
  parleyd_budget_limits lim = {1000000000u, 1000000000u, 1000000000u, 331, 1ull << 60};
  if (!parleyd_budget_init(&lim) || !parleyd_nonce_cache_init(1u << 22)) return 1;
  uint8_t sk[64];
  crypto_sign_keypair(pk, sk);
  randombytes_buf(base, sizeof base);
  crypto_sign_detached(sig, NULL, base, sizeof base, sk);

  unsigned refused = 0;
  double v1 = measure(CASE_VERIFY, 1, seconds, &refused);
  double b1 = measure(CASE_BUDGETS, 1, seconds, &refused);
  double n1 = measure(CASE_NONCE, 1, seconds, &refused);
  double v2 = measure(CASE_VERIFY, 2, seconds, &refused);
  double b2 = measure(CASE_BUDGETS, 2, seconds, &refused);
  double n2 = measure(CASE_NONCE, 2, seconds, &refused);
  printf("{\"keys\":%zu,\"seconds_per_case\":%.2f,"
         "\"us_per_op\":{\"budgets_1t\":%.4f,\"budgets_2t\":%.4f,\"nonce_cache_1t\":%.4f,"
         "\"nonce_cache_2t\":%.4f,\"ed25519_verify_1t\":%.3f,\"ed25519_verify_2t\":%.3f},"
         "\"budgets_per_verify_1t\":%.5f,\"budgets_per_verify_2t\":%.5f,\"refused\":%u}\n",
         n_keys, seconds, b1, b2, n1, n2, v1, v2, b1 / v1, b2 / v2, refused);
  parleyd_budget_free();
  parleyd_nonce_cache_free();
  free(key_ids);
  free(states);
  return refused ? 1 : 0;
}
