/* RFC 9162 §2.1 Merkle tree: hashing, proof generation over complete-subtree
 * storage, and verification (also of subtree proofs, draft-ietf-plants-merkle-tree-certs). */
#include "parley/tlog.h"

#include <sodium.h>
#include <string.h>

#define HL PARLEY_TLOG_HASH_LEN

void parley_tlog_leaf_hash(const uint8_t *data, size_t len, uint8_t out[HL]) {
  crypto_hash_sha256_state st;
  const uint8_t prefix = 0x00;
  crypto_hash_sha256_init(&st);
  crypto_hash_sha256_update(&st, &prefix, 1);
  if (len) crypto_hash_sha256_update(&st, data, len);
  crypto_hash_sha256_final(&st, out);
}

void parley_tlog_node_hash(const uint8_t left[HL], const uint8_t right[HL], uint8_t out[HL]) {
  crypto_hash_sha256_state st;
  const uint8_t prefix = 0x01;
  crypto_hash_sha256_init(&st);
  crypto_hash_sha256_update(&st, &prefix, 1);
  crypto_hash_sha256_update(&st, left, HL);
  crypto_hash_sha256_update(&st, right, HL);
  crypto_hash_sha256_final(&st, out); /* inputs are consumed before out is written */
}

void parley_tlog_empty_root(uint8_t out[HL]) {
  crypto_hash_sha256(out, (const unsigned char *)"", 0);
}

/* Largest power of two strictly below n (n >= 2). */
static uint64_t split_point(uint64_t n) {
  return UINT64_C(1) << (63 - __builtin_clzll(n - 1));
}

static unsigned log2_exact(uint64_t pow2) {
  return (unsigned)__builtin_ctzll(pow2);
}

void parley_tlog_mth(const uint8_t leaf_hashes[][HL], uint64_t n, uint8_t out[HL]) {
  if (n == 0) {
    parley_tlog_empty_root(out);
    return;
  }
  /* A stack of complete subtrees (one per set bit of the count so far), merged as in
   * a binary counter; the incomplete right edge is folded at the end. */
  uint8_t stack[64][HL];
  unsigned level[64];
  size_t top = 0;
  for (uint64_t i = 0; i < n; i++) {
    memcpy(stack[top], leaf_hashes[i], HL);
    level[top++] = 0;
    while (top >= 2 && level[top - 1] == level[top - 2]) {
      parley_tlog_node_hash(stack[top - 2], stack[top - 1], stack[top - 2]);
      level[top - 2]++;
      top--;
    }
  }
  uint8_t h[HL];
  memcpy(h, stack[top - 1], HL);
  for (size_t k = top - 1; k-- > 0;)
    parley_tlog_node_hash(stack[k], h, h);
  memcpy(out, h, HL);
}

/* MTH(D[lo:hi]) for a range that is a subtree of the tree: lo < hi and lo a multiple
 * of the smallest power of two >= hi - lo. One fn call per set bit of hi - lo. */
static parley_err range_hash(parley_tlog_hash_fn fn, void *ctx, uint64_t lo, uint64_t hi,
                             uint8_t out[HL]) {
  uint8_t parts[64][HL];
  size_t k = 0;
  uint64_t m = hi - lo, pos = lo;
  for (int b = 63; b >= 0; b--) {
    uint64_t bit = UINT64_C(1) << b;
    if (!(m & bit)) continue;
    parley_err e = fn(ctx, (unsigned)b, pos >> b, parts[k]);
    if (e != PARLEY_E_OK) return e;
    k++;
    pos += bit;
  }
  for (size_t i = k - 1; i-- > 0;)
    parley_tlog_node_hash(parts[i], parts[k - 1], parts[k - 1]);
  memcpy(out, parts[k - 1], HL);
  return PARLEY_E_OK;
}

static parley_err fn_fail(parley_error *err, parley_err e, const char *what) {
  return parley_fail(err, e, "storage could not give a node for the %s", what);
}

parley_err parley_tlog_root(parley_tlog_hash_fn fn, void *ctx, uint64_t size, uint8_t out[HL],
                            parley_error *err) {
  if (size == 0) {
    parley_tlog_empty_root(out);
    return PARLEY_E_OK;
  }
  parley_err e = range_hash(fn, ctx, 0, size, out);
  return e ? fn_fail(err, e, "root") : PARLEY_E_OK;
}

static void reverse(uint8_t out[][HL], size_t n) {
  uint8_t t[HL];
  for (size_t i = 0; i < n / 2; i++) {
    memcpy(t, out[i], HL);
    memcpy(out[i], out[n - 1 - i], HL);
    memcpy(out[n - 1 - i], t, HL);
  }
}

/* PATH(m, D[n]) of RFC 9162 §2.1.3.1, unrolled. Going left leaves a complete range, so
 * at most one sibling (the first right one) is incomplete: O(log n) calls in all. */
parley_err parley_tlog_inclusion_proof(parley_tlog_hash_fn fn, void *ctx, uint64_t index,
                                       uint64_t size, uint8_t out[PARLEY_TLOG_MAX_PROOF][HL],
                                       size_t *count, parley_error *err) {
  *count = 0;
  if (index >= size)
    return parley_fail(err, PARLEY_E_TLOG_RANGE, "leaf index %llu is not below tree size %llu",
                       (unsigned long long)index, (unsigned long long)size);
  uint64_t lo = 0, n = size, m = index;
  size_t c = 0;
  while (n > 1) {
    uint64_t k = split_point(n);
    parley_err e;
    if (m < k) {
      e = range_hash(fn, ctx, lo + k, lo + n, out[c]);
      n = k;
    } else {
      e = fn(ctx, log2_exact(k), lo >> log2_exact(k), out[c]);
      lo += k;
      m -= k;
      n -= k;
    }
    if (e != PARLEY_E_OK) return fn_fail(err, e, "inclusion proof");
    c++;
  }
  reverse(out, c);
  *count = c;
  return PARLEY_E_OK;
}

/* SUBPROOF(m, D[n], b) of RFC 9162 §2.1.4.1, unrolled. */
parley_err parley_tlog_consistency_proof(parley_tlog_hash_fn fn, void *ctx, uint64_t size1,
                                         uint64_t size2, uint8_t out[PARLEY_TLOG_MAX_PROOF][HL],
                                         size_t *count, parley_error *err) {
  *count = 0;
  if (size1 == 0 || size1 > size2)
    return parley_fail(err, PARLEY_E_TLOG_RANGE,
                       "no consistency proof from size %llu to size %llu (need 0 < size1 <= "
                       "size2)",
                       (unsigned long long)size1, (unsigned long long)size2);
  if (size1 == size2) return PARLEY_E_OK;
  uint64_t lo = 0, n = size2, m = size1;
  bool whole = true; /* b: D[lo:lo+m] is the old tree itself, its root known to the client */
  size_t c = 0;
  for (;;) {
    parley_err e = PARLEY_E_OK;
    if (m == n) {
      if (!whole) {
        e = range_hash(fn, ctx, lo, lo + m, out[c]);
        c++;
      }
      if (e != PARLEY_E_OK) return fn_fail(err, e, "consistency proof");
      break;
    }
    uint64_t k = split_point(n);
    if (m <= k) {
      e = range_hash(fn, ctx, lo + k, lo + n, out[c]);
      n = k;
    } else {
      e = fn(ctx, log2_exact(k), lo >> log2_exact(k), out[c]);
      lo += k;
      m -= k;
      n -= k;
      whole = false;
    }
    if (e != PARLEY_E_OK) return fn_fail(err, e, "consistency proof");
    c++;
  }
  reverse(out, c);
  *count = c;
  return PARLEY_E_OK;
}

parley_err parley_tlog_append_nodes(parley_tlog_hash_fn fn, void *ctx, uint64_t index,
                                    const uint8_t leaf_hash[HL],
                                    parley_tlog_node out[PARLEY_TLOG_MAX_APPEND_NODES],
                                    size_t *count, parley_error *err) {
  *count = 0;
  if (index == UINT64_MAX) return parley_fail(err, PARLEY_E_TLOG_RANGE, "the log is full");
  size_t c = 0;
  out[c].level = 0;
  out[c].index = index;
  memcpy(out[c].hash, leaf_hash, HL);
  c++;
  uint64_t j = index;
  unsigned level = 0;
  while (j & 1) {
    uint8_t left[HL];
    parley_err e = fn(ctx, level, j - 1, left);
    if (e != PARLEY_E_OK) return fn_fail(err, e, "append");
    parley_tlog_node_hash(left, out[c - 1].hash, out[c].hash);
    j >>= 1;
    level++;
    out[c].level = level;
    out[c].index = j;
    c++;
  }
  *count = c;
  return PARLEY_E_OK;
}

/* ---- verification ------------------------------------------------------ */

static bool hash_eq(const uint8_t a[HL], const uint8_t b[HL]) {
  return sodium_memcmp(a, b, HL) == 0;
}

static parley_err proof_fail(parley_error *err, const char *what) {
  return parley_fail(err, PARLEY_E_TLOG_PROOF, "%s", what);
}

/* RFC 9162 §2.1.3.2 steps 2-5: the root that the path leads to, or false if the path
 * has the wrong length for (index, size). Requires index < size. */
static bool root_from_inclusion(uint64_t index, uint64_t size, const uint8_t leaf_hash[HL],
                                const uint8_t proof[][HL], size_t count, uint8_t r[HL]) {
  uint64_t fn = index, sn = size - 1;
  memcpy(r, leaf_hash, HL);
  for (size_t i = 0; i < count; i++) {
    if (sn == 0) return false;
    if ((fn & 1) || fn == sn) {
      parley_tlog_node_hash(proof[i], r, r);
      while (!(fn & 1) && fn != 0) {
        fn >>= 1;
        sn >>= 1;
      }
    } else {
      parley_tlog_node_hash(r, proof[i], r);
    }
    fn >>= 1;
    sn >>= 1;
  }
  return sn == 0;
}

parley_err parley_tlog_verify_inclusion(uint64_t index, uint64_t size, const uint8_t leaf_hash[HL],
                                        const uint8_t proof[][HL], size_t count,
                                        const uint8_t root[HL], parley_error *err) {
  if (index >= size)
    return parley_fail(err, PARLEY_E_TLOG_RANGE, "leaf index %llu is not below tree size %llu",
                       (unsigned long long)index, (unsigned long long)size);
  if (count > PARLEY_TLOG_MAX_PROOF || (count && !proof))
    return proof_fail(err, "inclusion proof has the wrong length");
  uint8_t r[HL];
  if (!root_from_inclusion(index, size, leaf_hash, proof, count, r))
    return proof_fail(err, "inclusion proof has the wrong length");
  if (!hash_eq(r, root)) return proof_fail(err, "inclusion proof does not lead to the root");
  return PARLEY_E_OK;
}

parley_err parley_tlog_verify_consistency(uint64_t size1, uint64_t size2, const uint8_t root1[HL],
                                          const uint8_t root2[HL], const uint8_t proof[][HL],
                                          size_t count, parley_error *err) {
  if (size1 > size2)
    return parley_fail(err, PARLEY_E_TLOG_RANGE, "size1 %llu is larger than size2 %llu",
                       (unsigned long long)size1, (unsigned long long)size2);
  if (size1 == 0)
    return parley_fail(err, PARLEY_E_TLOG_RANGE,
                       "no consistency proof from the empty tree: any tree extends it");
  if (count > PARLEY_TLOG_MAX_PROOF || (count && !proof))
    return proof_fail(err, "consistency proof has the wrong length");
  if (size1 == size2) {
    if (count != 0) return proof_fail(err, "equal sizes need an empty consistency proof");
    if (!hash_eq(root1, root2)) return proof_fail(err, "equal sizes but different roots");
    return PARLEY_E_OK;
  }
  if (count == 0) return proof_fail(err, "empty consistency proof");
  /* RFC 9162 §2.1.4.2; step 2 (prepend root1 when size1 is a power of two) is done by
   * reading the path through `at`. */
  bool prepend = (size1 & (size1 - 1)) == 0;
  size_t total = count + (prepend ? 1 : 0);
#define AT(i) (prepend ? ((i) == 0 ? root1 : proof[(i)-1]) : proof[(i)])
  uint64_t fn = size1 - 1, sn = size2 - 1;
  while (fn & 1) {
    fn >>= 1;
    sn >>= 1;
  }
  uint8_t fr[HL], sr[HL];
  memcpy(fr, AT(0), HL);
  memcpy(sr, AT(0), HL);
  for (size_t i = 1; i < total; i++) {
    const uint8_t *c = AT(i);
    if (sn == 0) return proof_fail(err, "consistency proof is too long");
    if ((fn & 1) || fn == sn) {
      parley_tlog_node_hash(c, fr, fr);
      parley_tlog_node_hash(c, sr, sr);
      while (!(fn & 1) && fn != 0) {
        fn >>= 1;
        sn >>= 1;
      }
    } else {
      parley_tlog_node_hash(sr, c, sr);
    }
    fn >>= 1;
    sn >>= 1;
  }
#undef AT
  if (sn != 0) return proof_fail(err, "consistency proof is too short");
  if (!hash_eq(fr, root1))
    return proof_fail(err, "consistency proof does not lead to the old root");
  if (!hash_eq(sr, root2))
    return proof_fail(err, "consistency proof does not lead to the new root");
  return PARLEY_E_OK;
}

/* [start, end) with start < end is a subtree if start is a multiple of the smallest
 * power of two >= end - start. */
static bool subtree_valid(uint64_t start, uint64_t end) {
  if (start >= end) return false;
  if (start == 0) return true;
  uint64_t m = end - start;
  if (m > (UINT64_C(1) << 63)) return false;
  uint64_t ceil = m <= 1 ? 1 : UINT64_C(1) << (64 - __builtin_clzll(m - 1));
  return (start & (ceil - 1)) == 0;
}

parley_err parley_tlog_verify_subtree_inclusion(uint64_t index, uint64_t start, uint64_t end,
                                                const uint8_t leaf_hash[HL],
                                                const uint8_t proof[][HL], size_t count,
                                                const uint8_t subtree_root[HL], parley_error *err) {
  if (!subtree_valid(start, end))
    return parley_fail(err, PARLEY_E_TLOG_RANGE, "[%llu, %llu) is not a subtree",
                       (unsigned long long)start, (unsigned long long)end);
  if (index < start || index >= end)
    return parley_fail(err, PARLEY_E_TLOG_RANGE, "leaf %llu is outside [%llu, %llu)",
                       (unsigned long long)index, (unsigned long long)start,
                       (unsigned long long)end);
  /* A subtree is the Merkle tree of its own leaves. */
  return parley_tlog_verify_inclusion(index - start, end - start, leaf_hash, proof, count,
                                      subtree_root, err);
}

/* draft-ietf-plants-merkle-tree-certs, "Verifying a Subtree Consistency Proof": fn, sn
 * and tn follow the subtree's first and last leaf and the tree's last leaf up the
 * levels; fr rebuilds the subtree hash, sr the tree root. */
parley_err parley_tlog_verify_subtree_consistency(uint64_t start, uint64_t end, uint64_t size,
                                                  const uint8_t proof[][HL], size_t count,
                                                  const uint8_t subtree_root[HL],
                                                  const uint8_t root[HL], parley_error *err) {
  if (start > end || end > size)
    return parley_fail(err, PARLEY_E_TLOG_RANGE, "[%llu, %llu) is not within size %llu",
                       (unsigned long long)start, (unsigned long long)end,
                       (unsigned long long)size);
  if (count > 2 * PARLEY_TLOG_MAX_PROOF || (count && !proof))
    return proof_fail(err, "subtree consistency proof has the wrong length");
  if (start == end) {
    uint8_t empty[HL];
    parley_tlog_empty_root(empty);
    if (count != 0) return proof_fail(err, "an empty subtree needs an empty proof");
    if (!hash_eq(subtree_root, empty))
      return proof_fail(err, "an empty subtree's hash must be the empty root");
    return PARLEY_E_OK;
  }
  if (!subtree_valid(start, end))
    return parley_fail(err, PARLEY_E_TLOG_RANGE, "[%llu, %llu) is not a subtree",
                       (unsigned long long)start, (unsigned long long)end);
  uint64_t fn = start, sn = end - 1, tn = size - 1;
  if (sn == tn) {
    while (fn != sn) {
      fn >>= 1;
      sn >>= 1;
      tn >>= 1;
    }
  } else {
    while (fn != sn && (sn & 1)) {
      fn >>= 1;
      sn >>= 1;
      tn >>= 1;
    }
  }
  uint8_t fr[HL], sr[HL];
  size_t i = 0;
  if (fn == sn) {
    memcpy(fr, subtree_root, HL);
  } else {
    if (count == 0) return proof_fail(err, "empty subtree consistency proof");
    memcpy(fr, proof[0], HL);
    i = 1;
  }
  memcpy(sr, fr, HL);
  for (; i < count; i++) {
    if (tn == 0) return proof_fail(err, "subtree consistency proof is too long");
    if ((sn & 1) || sn == tn) {
      if (fn < sn) parley_tlog_node_hash(proof[i], fr, fr);
      parley_tlog_node_hash(proof[i], sr, sr);
      while (!(sn & 1)) {
        fn >>= 1;
        sn >>= 1;
        tn >>= 1;
      }
    } else {
      parley_tlog_node_hash(sr, proof[i], sr);
    }
    fn >>= 1;
    sn >>= 1;
    tn >>= 1;
  }
  if (tn != 0) return proof_fail(err, "subtree consistency proof is too short");
  if (!hash_eq(fr, subtree_root))
    return proof_fail(err, "subtree consistency proof does not lead to the subtree hash");
  if (!hash_eq(sr, root))
    return proof_fail(err, "subtree consistency proof does not lead to the root");
  return PARLEY_E_OK;
}
