/* The client's CPU cost of an evidence package per GiB, without disk or network:
 *   evidence_crypto MIB
 * seals MIB MiB of random plaintext in 1 MiB chunks (as parley evidence send, pass 1:
 * encrypt and hash each ciphertext chunk into the Merkle frontier), then verifies and
 * decrypts it (as parley evidence fetch: each chunk's leaf hash checked, then opened),
 * one chunk in memory at a time. Prints one JSON line with seconds per GiB of each, and
 * of the leaf hashing (SHA-256) and the decryption (XChaCha20-Poly1305) apart. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "parley/directory.h"
#include "parley/evidence.h"
#include "parley/tlog.h"

static double now_s(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
  long mib = argc > 1 ? strtol(argv[1], NULL, 10) : 256;
  if (mib < 1 || mib > 65536 || sodium_init() < 0) {
    fprintf(stderr, "usage: evidence_crypto MIB (1 to 65536)\n");
    return 2;
  }
  uint64_t chunks = (uint64_t)mib;
  uint8_t *pt = malloc(PARLEY_EVIDENCE_CHUNK), *out = malloc(PARLEY_EVIDENCE_CHUNK);
  uint8_t *ct = malloc(PARLEY_EVIDENCE_CHUNK_CT);
  uint8_t(*leaves)[32] = calloc(chunks, 32);
  if (!pt || !out || !ct || !leaves) return 1;
  randombytes_buf(pt, PARLEY_EVIDENCE_CHUNK);
  parley_content_key key;
  uint8_t header[PARLEY_EVIDENCE_HEADER_LEN], root[32];
  parley_evidence_stream st;
  parley_evidence_stream_new(&key, header, &st);
  /* seal: the plaintext chunk is the same buffer each time (its content does not change
   * the cost); every ciphertext chunk differs (the stream state advances) */
  parley_tlog_frontier fr;
  parley_tlog_frontier_init(&fr);
  double t0 = now_s();
  for (uint64_t i = 0; i < chunks; i++) {
    parley_evidence_seal_chunk(&st, pt, PARLEY_EVIDENCE_CHUNK, i + 1 == chunks, ct);
    parley_evidence_chunk_hash(ct, PARLEY_EVIDENCE_CHUNK_CT, leaves[i]);
    parley_tlog_frontier_append(&fr, leaves[i]);
  }
  parley_tlog_frontier_root(&fr, root);
  double seal_s = now_s() - t0;
  /* verify and decrypt: the ciphertext is sealed again outside the timed part */
  parley_evidence_stream seal, open;
  parley_evidence_stream_start(&key, header, &seal);
  parley_evidence_stream_start(&key, header, &open);
  double hash_s = 0, open_s = 0, t1, t2;
  for (uint64_t i = 0; i < chunks; i++) {
    parley_evidence_seal_chunk(&seal, pt, PARLEY_EVIDENCE_CHUNK, i + 1 == chunks, ct);
    t1 = now_s();
    uint8_t leaf[32];
    parley_evidence_chunk_hash(ct, PARLEY_EVIDENCE_CHUNK_CT, leaf);
    t2 = now_s();
    if (sodium_memcmp(leaf, leaves[i], 32) != 0 ||
        parley_evidence_open_chunk(&open, ct, PARLEY_EVIDENCE_CHUNK_CT, i + 1 == chunks, out)) {
      fprintf(stderr, "chunk %llu does not verify\n", (unsigned long long)i);
      return 1;
    }
    hash_s += t2 - t1;
    open_s += now_s() - t2;
  }
  if (memcmp(out, pt, PARLEY_EVIDENCE_CHUNK) != 0) return 1;
  double gib = (double)mib / 1024.0;
  printf("{\"mib\":%ld,\"seal_s_per_gib\":%.3f,\"verify_decrypt_s_per_gib\":%.3f,"
         "\"hash_s_per_gib\":%.3f,\"decrypt_s_per_gib\":%.3f}\n",
         mib, seal_s / gib, (hash_s + open_s) / gib, hash_s / gib, open_s / gib);
  free(pt);
  free(out);
  free(ct);
  free(leaves);
  return 0;
}
