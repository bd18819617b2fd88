/* ed25519_rate: this machine's Ed25519 sign and verify rates with libsodium on one
 * core, over a 300-byte message (about the size of an RFC 9421 signature base). Each
 * loop runs for a fixed time; prints one JSON line. */
#include <errno.h>
#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static uint64_t mono_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int main(int argc, char **argv) {
  double seconds = 2;
  if (argc == 2) {
    char *end;
    errno = 0;
    seconds = strtod(argv[1], &end);
    if (errno || end == argv[1] || *end || seconds <= 0 || seconds > 60) {
      fprintf(stderr, "usage: ed25519_rate [SECONDS per loop, default 2]\n");
      return 2;
    }
  } else if (argc > 2) {
    fprintf(stderr, "usage: ed25519_rate [SECONDS per loop, default 2]\n");
    return 2;
  }
  if (sodium_init() < 0) return 1;
  unsigned char pk[crypto_sign_PUBLICKEYBYTES], sk[crypto_sign_SECRETKEYBYTES];
  unsigned char msg[300], sig[crypto_sign_BYTES];
  crypto_sign_keypair(pk, sk);
  randombytes_buf(msg, sizeof msg);
  const uint64_t budget = (uint64_t)(seconds * 1e9);

  uint64_t n_sign = 0, t0 = mono_ns(), t;
  do {
    for (int i = 0; i < 256; i++) {
      msg[0] = (unsigned char)i;
      crypto_sign_detached(sig, NULL, msg, sizeof msg, sk);
    }
    n_sign += 256;
  } while ((t = mono_ns()) - t0 < budget);
  double sign_rate = (double)n_sign / ((double)(t - t0) / 1e9);

  crypto_sign_detached(sig, NULL, msg, sizeof msg, sk);
  uint64_t n_verify = 0, bad = 0;
  t0 = mono_ns();
  do {
    for (int i = 0; i < 256; i++)
      bad += crypto_sign_verify_detached(sig, msg, sizeof msg, pk) != 0;
    n_verify += 256;
  } while ((t = mono_ns()) - t0 < budget);
  double verify_rate = (double)n_verify / ((double)(t - t0) / 1e9);
  sodium_memzero(sk, sizeof sk);
  if (bad) {
    fprintf(stderr, "ed25519_rate: %llu verifications failed\n", (unsigned long long)bad);
    return 1;
  }
  printf("{\"ed25519_sign_per_s\":%.0f,\"ed25519_verify_per_s\":%.0f,\"message_bytes\":%zu,"
         "\"libsodium\":\"%s\"}\n",
         sign_rate, verify_rate, sizeof msg, sodium_version_string());
  return 0;
}
