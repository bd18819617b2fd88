/* tlog Merkle tree: RFC 9162 hashing, proof generation through the storage callback,
 * verification against every transparency-dev vector and the classic 8-leaf vectors. */
/* cmocka needs these first */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "parley/tlog.h"

#define HL PARLEY_TLOG_HASH_LEN

static const char *testdata(void) {
  const char *d = getenv("PARLEY_TESTDATA");
  assert_non_null(d);
  return d;
}

static void hex32(const char *hex, uint8_t out[HL]) {
  size_t n = 0;
  assert_int_equal(parley_hex_decode(hex, strlen(hex), out, HL, &n), PARLEY_E_OK);
  assert_int_equal(n, HL);
}

/* ---- a counting wrapper around the in-memory tree ------------------------- */

typedef struct {
  parley_tlog_memtree *t;
  size_t calls;
} counted;

static parley_err counted_fn(void *ctx, unsigned level, uint64_t index, uint8_t out[HL]) {
  counted *c = ctx;
  c->calls++;
  return parley_tlog_memtree_hash(c->t, level, index, out);
}

static void make_leaf(uint64_t i, uint8_t out[HL]) {
  char buf[32];
  int w = snprintf(buf, sizeof buf, "leaf %llu", (unsigned long long)i);
  assert_true(w > 0);
  parley_tlog_leaf_hash((const uint8_t *)buf, (size_t)w, out);
}

/* ---- vectors.json "merkle" ---------------------------------------------- */

static json_t *load_vectors(void) {
  char path[4096];
  snprintf(path, sizeof path, "%s/vectors.json", testdata());
  json_error_t je;
  json_t *v = json_load_file(path, 0, &je);
  if (!v) fail_msg("%s: %s", path, je.text);
  return v;
}

static void test_classic_vectors(void **state) {
  (void)state;
  json_t *all = load_vectors();
  json_t *m = json_object_get(all, "merkle");
  assert_non_null(m);
  json_t *leaves = json_object_get(m, "leaves_hex"), *lh = json_object_get(m, "leaf_hashes_hex");
  size_t n = json_array_size(leaves);
  assert_int_equal(n, 8);
  uint8_t hashes[8][HL];
  parley_tlog_memtree *t = parley_tlog_memtree_new();
  assert_non_null(t);
  for (size_t i = 0; i < n; i++) {
    const char *hex = json_string_value(json_array_get(leaves, i));
    uint8_t data[64];
    size_t dl = 0;
    assert_int_equal(parley_hex_decode(hex, strlen(hex), data, sizeof data, &dl), PARLEY_E_OK);
    uint8_t want[HL];
    hex32(json_string_value(json_array_get(lh, i)), want);
    parley_tlog_leaf_hash(data, dl, hashes[i]);
    assert_memory_equal(hashes[i], want, HL);
    assert_int_equal(parley_tlog_memtree_append(t, hashes[i], NULL), PARLEY_E_OK);
  }
  /* roots n = 0..8, two ways */
  json_t *roots = json_object_get(m, "roots_hex");
  assert_int_equal(json_object_size(roots), 9);
  for (uint64_t size = 0; size <= 8; size++) {
    char key[4];
    snprintf(key, sizeof key, "%llu", (unsigned long long)size);
    uint8_t want[HL], got[HL];
    hex32(json_string_value(json_object_get(roots, key)), want);
    parley_tlog_mth((const uint8_t(*)[HL])hashes, size, got);
    assert_memory_equal(got, want, HL);
    memset(got, 0, HL);
    assert_int_equal(parley_tlog_root(parley_tlog_memtree_hash, t, size, got, NULL), PARLEY_E_OK);
    assert_memory_equal(got, want, HL);
  }
  /* audit paths: generated equal to the vector, and verified */
  json_t *incl = json_object_get(m, "inclusion"), *it;
  size_t i_count = 0;
  json_array_foreach(incl, i_count, it) {
    uint64_t index = (uint64_t)json_integer_value(json_object_get(it, "index"));
    uint64_t size = (uint64_t)json_integer_value(json_object_get(it, "size"));
    json_t *path = json_object_get(it, "path_hex");
    uint8_t want[PARLEY_TLOG_MAX_PROOF][HL], got[PARLEY_TLOG_MAX_PROOF][HL], root[HL];
    size_t wn = json_array_size(path), gn = 99;
    for (size_t k = 0; k < wn; k++)
      hex32(json_string_value(json_array_get(path, k)), want[k]);
    assert_int_equal(
        parley_tlog_inclusion_proof(parley_tlog_memtree_hash, t, index, size, got, &gn, NULL),
        PARLEY_E_OK);
    assert_int_equal(gn, wn);
    if (wn) assert_memory_equal(got, want, wn * HL);
    parley_tlog_mth((const uint8_t(*)[HL])hashes, size, root);
    assert_int_equal(parley_tlog_verify_inclusion(index, size, hashes[index],
                                                  (const uint8_t(*)[HL])want, wn, root, NULL),
                     PARLEY_E_OK);
  }
  assert_int_equal(i_count, 36);
  json_t *cons = json_object_get(m, "consistency");
  size_t c_count = 0;
  json_array_foreach(cons, c_count, it) {
    uint64_t s1 = (uint64_t)json_integer_value(json_object_get(it, "size1"));
    uint64_t s2 = (uint64_t)json_integer_value(json_object_get(it, "size2"));
    json_t *proof = json_object_get(it, "proof_hex");
    uint8_t want[PARLEY_TLOG_MAX_PROOF][HL], got[PARLEY_TLOG_MAX_PROOF][HL], r1[HL], r2[HL];
    size_t wn = json_array_size(proof), gn = 99;
    for (size_t k = 0; k < wn; k++)
      hex32(json_string_value(json_array_get(proof, k)), want[k]);
    assert_int_equal(
        parley_tlog_consistency_proof(parley_tlog_memtree_hash, t, s1, s2, got, &gn, NULL),
        PARLEY_E_OK);
    assert_int_equal(gn, wn);
    if (wn) assert_memory_equal(got, want, wn * HL);
    parley_tlog_mth((const uint8_t(*)[HL])hashes, s1, r1);
    parley_tlog_mth((const uint8_t(*)[HL])hashes, s2, r2);
    assert_int_equal(
        parley_tlog_verify_consistency(s1, s2, r1, r2, (const uint8_t(*)[HL])want, wn, NULL),
        PARLEY_E_OK);
  }
  assert_int_equal(c_count, 36);
  /* HashLeaf("L123456") */
  uint8_t want[HL], got[HL];
  json_t *extra = json_object_get(m, "extra");
  hex32(json_string_value(json_object_get(extra, "HashLeaf('L123456')")), want);
  parley_tlog_leaf_hash((const uint8_t *)"L123456", 7, got);
  assert_memory_equal(got, want, HL);
  parley_tlog_memtree_free(t);
  json_decref(all);
}

/* ---- transparency-dev vectors (every file) ------------------------------ */

/* jansson cannot hold integers above INT64_MAX (one vector has end = 2^63 + 2), so
 * number literals outside strings are quoted before parsing and read back exactly. */
static char *quote_numbers(const char *in) {
  size_t n = strlen(in);
  char *out = malloc(3 * n + 1);
  assert_non_null(out);
  size_t o = 0;
  bool str = false;
  for (size_t i = 0; i < n; i++) {
    char c = in[i];
    if (str) {
      out[o++] = c;
      if (c == '\\' && i + 1 < n)
        out[o++] = in[++i];
      else if (c == '"')
        str = false;
    } else if (c == '"') {
      str = true;
      out[o++] = c;
    } else if (c >= '0' && c <= '9') {
      out[o++] = '"';
      while (i < n && in[i] >= '0' && in[i] <= '9')
        out[o++] = in[i++];
      out[o++] = '"';
      i--;
    } else {
      out[o++] = c;
    }
  }
  out[o] = 0;
  return out;
}

static json_t *load_quoted(const char *path) {
  FILE *f = fopen(path, "rb");
  assert_non_null(f);
  char *buf = calloc(1, 1 << 20);
  assert_non_null(buf);
  size_t n = fread(buf, 1, (1 << 20) - 1, f);
  fclose(f);
  buf[n] = 0;
  char *q = quote_numbers(buf);
  json_error_t je;
  json_t *v = json_loads(q, 0, &je);
  if (!v) fail_msg("%s: %s", path, je.text);
  free(q);
  free(buf);
  return v;
}

static uint64_t get_u64(json_t *o, const char *key) {
  const char *s = json_string_value(json_object_get(o, key));
  if (!s) fail_msg("missing number %s", key);
  uint64_t v = 0;
  assert_true(parley_parse_u64(s, &v));
  return v;
}

typedef struct {
  size_t files, happy, refused, widened, leaf_len;
} tally;

/* Hashes in the vectors are base64; the API takes 32-byte hashes.
 * - A leaf hash is an input to hashing: one that is not 32 bytes is refused when it is
 *   decoded, before the API (as the reference implementation refuses it). get_hash
 *   returns false for it.
 * - Roots and proof elements are only compared or hashed: one of another length (empty
 *   or a 12-byte "don't care" value) is widened to SHA-256(0xff || bytes). Equal fields
 *   stay equal, different ones stay different, and none can equal a real node hash by
 *   accident, so these vectors still go through the API. */
static bool get_hash_leaf(json_t *v, uint8_t out[HL], tally *t, bool leaf) {
  uint8_t raw[256];
  size_t n = 0;
  const char *s = json_is_null(v) ? "" : json_string_value(v);
  assert_non_null(s);
  assert_int_equal(sodium_base642bin(raw, sizeof raw, s, strlen(s), NULL, &n, NULL,
                                     sodium_base64_VARIANT_ORIGINAL),
                   0);
  if (n == HL) {
    memcpy(out, raw, HL);
    return true;
  }
  if (leaf) return false;
  crypto_hash_sha256_state st;
  const uint8_t ff = 0xff;
  crypto_hash_sha256_init(&st);
  crypto_hash_sha256_update(&st, &ff, 1);
  crypto_hash_sha256_update(&st, raw, n);
  crypto_hash_sha256_final(&st, out);
  t->widened++;
  return true;
}

static void get_hash(json_t *v, uint8_t out[HL], tally *t) {
  assert_true(get_hash_leaf(v, out, t, false));
}

static size_t get_proof(json_t *o, uint8_t proof[][HL], size_t cap, tally *t) {
  json_t *a = json_object_get(o, "proof");
  if (json_is_null(a)) return 0;
  assert_true(json_is_array(a));
  size_t n = json_array_size(a);
  assert_true(n <= cap);
  for (size_t i = 0; i < n; i++)
    get_hash(json_array_get(a, i), proof[i], t);
  return n;
}

typedef enum { K_INCL, K_CONS, K_SUB_INCL, K_SUB_CONS } kind;

static void run_vector(const char *path, kind k, tally *t) {
  json_t *v = load_quoted(path);
  json_t *want_err = json_object_get(v, "wantErr");
  assert_true(json_is_boolean(want_err));
  uint8_t proof[2 * PARLEY_TLOG_MAX_PROOF + 8][HL], a[HL], b[HL];
  size_t n = get_proof(v, proof, 2 * PARLEY_TLOG_MAX_PROOF + 8, t);
  parley_error err = {0};
  parley_err rc;
  if ((k == K_INCL || k == K_SUB_INCL) &&
      !get_hash_leaf(json_object_get(v, "leafHash"), a, t, true)) {
    if (!json_is_true(want_err))
      fail_msg("%s: leaf hash is not 32 bytes in a happy-path vector", path);
    t->refused++;
    t->leaf_len++;
    t->files++;
    json_decref(v);
    return;
  }
  switch (k) {
  case K_INCL:
    get_hash(json_object_get(v, "root"), b, t);
    rc = parley_tlog_verify_inclusion(get_u64(v, "leafIdx"), get_u64(v, "treeSize"), a,
                                      (const uint8_t(*)[HL])proof, n, b, &err);
    break;
  case K_CONS:
    get_hash(json_object_get(v, "root1"), a, t);
    get_hash(json_object_get(v, "root2"), b, t);
    rc = parley_tlog_verify_consistency(get_u64(v, "size1"), get_u64(v, "size2"), a, b,
                                        (const uint8_t(*)[HL])proof, n, &err);
    break;
  case K_SUB_INCL:
    get_hash(json_object_get(v, "root"), b, t);
    rc = parley_tlog_verify_subtree_inclusion(get_u64(v, "leafIdx"), get_u64(v, "start"),
                                              get_u64(v, "end"), a, (const uint8_t(*)[HL])proof, n,
                                              b, &err);
    break;
  default:
    get_hash(json_object_get(v, "root1"), a, t);
    get_hash(json_object_get(v, "root2"), b, t);
    rc = parley_tlog_verify_subtree_consistency(get_u64(v, "start"), get_u64(v, "end"),
                                                get_u64(v, "size"), (const uint8_t(*)[HL])proof, n,
                                                a, b, &err);
    break;
  }
  if (json_is_true(want_err)) {
    if (rc == PARLEY_E_OK) fail_msg("%s: accepted, but the vector wants an error", path);
    assert_true(rc == PARLEY_E_TLOG_PROOF || rc == PARLEY_E_TLOG_RANGE);
    assert_int_equal(err.code, rc);
    t->refused++;
  } else {
    if (rc != PARLEY_E_OK) fail_msg("%s: refused (%s: %s)", path, parley_err_name(rc), err.detail);
    t->happy++;
  }
  t->files++;
  json_decref(v);
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static void walk(const char *dir, kind k, tally *t) {
  DIR *d = opendir(dir);
  if (!d) fail_msg("cannot open %s", dir);
  char *names[1024];
  size_t n = 0;
  struct dirent *e;
  while ((e = readdir(d))) {
    if (e->d_name[0] == '.') continue;
    assert_true(n < 1024);
    names[n] = strdup(e->d_name);
    assert_non_null(names[n]);
    n++;
  }
  closedir(d);
  qsort(names, n, sizeof names[0], cmp_str);
  for (size_t i = 0; i < n; i++) {
    char p[4096];
    int w = snprintf(p, sizeof p, "%s/%s", dir, names[i]);
    assert_true(w > 0 && (size_t)w < sizeof p);
    struct stat st;
    assert_int_equal(stat(p, &st), 0);
    if (S_ISDIR(st.st_mode))
      walk(p, k, t);
    else if (strlen(names[i]) > 5 && strcmp(names[i] + strlen(names[i]) - 5, ".json") == 0)
      run_vector(p, k, t);
    free(names[i]);
  }
}

static tally run_dir(const char *sub, kind k) {
  char dir[4096];
  snprintf(dir, sizeof dir, "%s/merkle/testdata/%s", testdata(), sub);
  tally t = {0};
  walk(dir, k, &t);
  print_message("%s: %zu vectors, %zu verified, %zu refused as wanted (%zu of them at decoding: "
                "leaf hash not 32 bytes); %zu root/proof fields not 32 bytes widened\n",
                sub, t.files, t.happy, t.refused, t.leaf_len, t.widened);
  assert_true(t.files > 0);
  assert_true(t.happy > 0);
  assert_true(t.refused > 0);
  assert_int_equal(t.files, t.happy + t.refused);
  return t;
}

static void test_transparency_dev_inclusion(void **state) {
  (void)state;
  tally t = run_dir("inclusion", K_INCL);
  assert_int_equal(t.files, 98);
}

static void test_transparency_dev_consistency(void **state) {
  (void)state;
  tally t = run_dir("consistency", K_CONS);
  assert_int_equal(t.files, 98);
}

static void test_transparency_dev_subtree_inclusion(void **state) {
  (void)state;
  tally t = run_dir("subtreeinclusion", K_SUB_INCL);
  assert_int_equal(t.files, 204);
}

static void test_transparency_dev_subtree_consistency(void **state) {
  (void)state;
  tally t = run_dir("subtreeconsistency", K_SUB_CONS);
  assert_int_equal(t.files, 118);
}

/* ---- generation against the reference MTH, exhaustively for small trees ---- */

#define NSMALL 70

static void test_generate_and_verify_small(void **state) {
  (void)state;
  uint8_t leaves[NSMALL][HL];
  parley_tlog_memtree *t = parley_tlog_memtree_new();
  counted c = {.t = t};
  for (uint64_t i = 0; i < NSMALL; i++) {
    make_leaf(i, leaves[i]);
    assert_int_equal(parley_tlog_memtree_append(t, leaves[i], NULL), PARLEY_E_OK);
  }
  assert_int_equal(parley_tlog_memtree_size(t), NSMALL);
  uint8_t roots[NSMALL + 1][HL];
  for (uint64_t size = 0; size <= NSMALL; size++) {
    uint8_t r[HL];
    parley_tlog_mth((const uint8_t(*)[HL])leaves, size, roots[size]);
    assert_int_equal(parley_tlog_root(counted_fn, &c, size, r, NULL), PARLEY_E_OK);
    assert_memory_equal(r, roots[size], HL);
  }
  uint8_t p[PARLEY_TLOG_MAX_PROOF][HL];
  size_t n;
  for (uint64_t size = 1; size <= NSMALL; size++) {
    for (uint64_t i = 0; i < size; i++) {
      c.calls = 0;
      assert_int_equal(parley_tlog_inclusion_proof(counted_fn, &c, i, size, p, &n, NULL),
                       PARLEY_E_OK);
      assert_true(c.calls <= 2 * 7 + 1);
      assert_int_equal(parley_tlog_verify_inclusion(i, size, leaves[i], (const uint8_t(*)[HL])p, n,
                                                    roots[size], NULL),
                       PARLEY_E_OK);
      /* the same proof must fail for another leaf, index, size or a flipped bit */
      assert_int_equal(parley_tlog_verify_inclusion(i, size, leaves[(i + 1) % NSMALL],
                                                    (const uint8_t(*)[HL])p, n, roots[size], NULL),
                       PARLEY_E_TLOG_PROOF);
      if (size > 1)
        assert_int_not_equal(parley_tlog_verify_inclusion((i + 1) % size, size, leaves[i],
                                                          (const uint8_t(*)[HL])p, n, roots[size],
                                                          NULL),
                             PARLEY_E_OK);
      if (n) {
        p[n - 1][HL - 1] ^= 1;
        assert_int_equal(parley_tlog_verify_inclusion(i, size, leaves[i], (const uint8_t(*)[HL])p,
                                                      n, roots[size], NULL),
                         PARLEY_E_TLOG_PROOF);
      }
    }
    assert_int_equal(parley_tlog_inclusion_proof(counted_fn, &c, size, size, p, &n, NULL),
                     PARLEY_E_TLOG_RANGE);
    assert_int_equal(parley_tlog_verify_inclusion(size, size, leaves[0], (const uint8_t(*)[HL])p, 0,
                                                  roots[size], NULL),
                     PARLEY_E_TLOG_RANGE);
  }
  for (uint64_t s2 = 1; s2 <= NSMALL; s2++) {
    for (uint64_t s1 = 1; s1 <= s2; s1++) {
      c.calls = 0;
      assert_int_equal(parley_tlog_consistency_proof(counted_fn, &c, s1, s2, p, &n, NULL),
                       PARLEY_E_OK);
      assert_true(c.calls <= 2 * 7 + 2);
      assert_int_equal(parley_tlog_verify_consistency(s1, s2, roots[s1], roots[s2],
                                                      (const uint8_t(*)[HL])p, n, NULL),
                       PARLEY_E_OK);
      /* a consistency proof is a subtree consistency proof of [0, size1) */
      assert_int_equal(parley_tlog_verify_subtree_consistency(0, s1, s2, (const uint8_t(*)[HL])p, n,
                                                              roots[s1], roots[s2], NULL),
                       PARLEY_E_OK);
      if (s1 < s2) {
        assert_int_equal(parley_tlog_verify_consistency(s1, s2, roots[s1], roots[s2 - 1],
                                                        (const uint8_t(*)[HL])p, n, NULL),
                         PARLEY_E_TLOG_PROOF);
        assert_int_equal(parley_tlog_verify_consistency(s1, s2, roots[s1 - 1], roots[s2],
                                                        (const uint8_t(*)[HL])p, n, NULL),
                         PARLEY_E_TLOG_PROOF);
        p[0][0] ^= 0x80;
        assert_int_equal(parley_tlog_verify_consistency(s1, s2, roots[s1], roots[s2],
                                                        (const uint8_t(*)[HL])p, n, NULL),
                         PARLEY_E_TLOG_PROOF);
        assert_int_equal(parley_tlog_verify_consistency(s1, s2, roots[s1], roots[s2],
                                                        (const uint8_t(*)[HL])p, n - 1, NULL),
                         PARLEY_E_TLOG_PROOF);
      }
    }
    /* the size-0 rule, in both directions */
    assert_int_equal(parley_tlog_consistency_proof(counted_fn, &c, 0, s2, p, &n, NULL),
                     PARLEY_E_TLOG_RANGE);
    assert_int_equal(parley_tlog_verify_consistency(0, s2, roots[0], roots[s2],
                                                    (const uint8_t(*)[HL])p, 0, NULL),
                     PARLEY_E_TLOG_RANGE);
    assert_int_equal(parley_tlog_consistency_proof(counted_fn, &c, s2, s2 - 1, p, &n, NULL),
                     PARLEY_E_TLOG_RANGE);
  }
  assert_int_equal(
      parley_tlog_verify_consistency(0, 0, roots[0], roots[0], (const uint8_t(*)[HL])p, 0, NULL),
      PARLEY_E_TLOG_RANGE);
  /* subtrees of the tree: hash and inclusion against the reference MTH */
  for (uint64_t start = 0; start < NSMALL; start++) {
    for (uint64_t end = start + 1; end <= NSMALL; end++) {
      uint8_t sub[HL];
      parley_tlog_mth((const uint8_t(*)[HL])(leaves + start), end - start, sub);
      parley_tlog_memtree *st = parley_tlog_memtree_new();
      for (uint64_t i = start; i < end; i++)
        assert_int_equal(parley_tlog_memtree_append(st, leaves[i], NULL), PARLEY_E_OK);
      uint64_t idx = start + (end - start) / 2;
      assert_int_equal(parley_tlog_inclusion_proof(parley_tlog_memtree_hash, st, idx - start,
                                                   end - start, p, &n, NULL),
                       PARLEY_E_OK);
      parley_err want = PARLEY_E_OK;
      uint64_t m = end - start, ceil = 1;
      while (ceil < m)
        ceil <<= 1;
      if (start % ceil) want = PARLEY_E_TLOG_RANGE;
      assert_int_equal(parley_tlog_verify_subtree_inclusion(idx, start, end, leaves[idx],
                                                            (const uint8_t(*)[HL])p, n, sub, NULL),
                       want);
      parley_tlog_memtree_free(st);
    }
  }
  parley_tlog_memtree_free(t);
}

/* ---- append_nodes and the memtree --------------------------------------- */

static void test_append_nodes(void **state) {
  (void)state;
  parley_tlog_memtree *t = parley_tlog_memtree_new();
  uint8_t leaves[64][HL];
  for (uint64_t i = 0; i < 64; i++) {
    make_leaf(i, leaves[i]);
    parley_tlog_node nodes[PARLEY_TLOG_MAX_APPEND_NODES];
    size_t n = 0;
    assert_int_equal(
        parley_tlog_append_nodes(parley_tlog_memtree_hash, t, i, leaves[i], nodes, &n, NULL),
        PARLEY_E_OK);
    assert_int_equal(n, 1 + (size_t)__builtin_ctzll(~i));
    for (size_t k = 0; k < n; k++) {
      assert_int_equal(nodes[k].level, k);
      assert_int_equal(nodes[k].index, i >> k);
      uint8_t want[HL];
      uint64_t lo = (i >> k) << k;
      parley_tlog_mth((const uint8_t(*)[HL])(leaves + lo), UINT64_C(1) << k, want);
      assert_memory_equal(nodes[k].hash, want, HL);
    }
    assert_int_equal(parley_tlog_memtree_append(t, leaves[i], NULL), PARLEY_E_OK);
  }
  /* incomplete or absent nodes are errors that the generators pass through */
  uint8_t h[HL], p[PARLEY_TLOG_MAX_PROOF][HL];
  size_t n;
  assert_int_equal(parley_tlog_memtree_hash(t, 7, 0, h), PARLEY_E_TLOG_RANGE);
  assert_int_equal(parley_tlog_memtree_hash(t, 6, 0, h), PARLEY_E_OK);
  assert_int_equal(parley_tlog_memtree_hash(t, 0, 64, h), PARLEY_E_TLOG_RANGE);
  assert_int_equal(parley_tlog_memtree_hash(t, 200, 0, h), PARLEY_E_TLOG_RANGE);
  parley_error err;
  assert_int_equal(parley_tlog_root(parley_tlog_memtree_hash, t, 65, h, &err), PARLEY_E_TLOG_RANGE);
  assert_int_equal(err.code, PARLEY_E_TLOG_RANGE);
  assert_int_equal(parley_tlog_inclusion_proof(parley_tlog_memtree_hash, t, 3, 100, p, &n, NULL),
                   PARLEY_E_TLOG_RANGE);
  parley_tlog_node nodes[PARLEY_TLOG_MAX_APPEND_NODES];
  assert_int_equal(
      parley_tlog_append_nodes(parley_tlog_memtree_hash, t, UINT64_MAX, h, nodes, &n, NULL),
      PARLEY_E_TLOG_RANGE);
  parley_tlog_memtree_free(t);
}

/* ---- 2^64-scale trees: every leaf equal, so level l nodes are all h[l] ---- */

static uint8_t uniform[64][HL];

static parley_err uniform_fn(void *ctx, unsigned level, uint64_t index, uint8_t out[HL]) {
  counted *c = ctx;
  c->calls++;
  if (level >= 64 || index >= (UINT64_MAX >> level)) /* complete in a tree of 2^64 - 1 */
    return PARLEY_E_TLOG_RANGE;
  memcpy(out, uniform[level], HL);
  return PARLEY_E_OK;
}

static void test_huge_sizes(void **state) {
  (void)state;
  parley_tlog_leaf_hash((const uint8_t *)"x", 1, uniform[0]);
  for (int l = 1; l < 64; l++)
    parley_tlog_node_hash(uniform[l - 1], uniform[l - 1], uniform[l]);
  counted c = {0};
  const uint64_t sizes[] = {UINT64_MAX,
                            UINT64_MAX - 1,
                            UINT64_C(1) << 63,
                            (UINT64_C(1) << 63) + 1,
                            (UINT64_C(1) << 63) - 1,
                            UINT64_C(0xAAAAAAAAAAAAAAAA),
                            UINT64_C(0x5555555555555555),
                            3,
                            1};
  const size_t ns = sizeof sizes / sizeof sizes[0];
  uint8_t p[PARLEY_TLOG_MAX_PROOF][HL], r1[HL], r2[HL];
  size_t n, maxn = 0;
  for (size_t a = 0; a < ns; a++) {
    c.calls = 0;
    assert_int_equal(parley_tlog_root(uniform_fn, &c, sizes[a], r2, NULL), PARLEY_E_OK);
    assert_true(c.calls <= 64);
    const uint64_t idx[] = {0, sizes[a] - 1, sizes[a] / 2, sizes[a] / 3};
    for (size_t k = 0; k < 4; k++) {
      c.calls = 0;
      assert_int_equal(parley_tlog_inclusion_proof(uniform_fn, &c, idx[k], sizes[a], p, &n, NULL),
                       PARLEY_E_OK);
      assert_true(c.calls <= 2 * 64);
      assert_int_equal(parley_tlog_verify_inclusion(idx[k], sizes[a], uniform[0],
                                                    (const uint8_t(*)[HL])p, n, r2, NULL),
                       PARLEY_E_OK);
    }
    for (size_t b = 0; b < ns; b++) {
      if (sizes[b] > sizes[a]) continue;
      c.calls = 0;
      assert_int_equal(
          parley_tlog_consistency_proof(uniform_fn, &c, sizes[b], sizes[a], p, &n, NULL),
          PARLEY_E_OK);
      assert_true(c.calls <= 2 * 64 + 1);
      if (n > maxn) maxn = n;
      assert_int_equal(parley_tlog_root(uniform_fn, &c, sizes[b], r1, NULL), PARLEY_E_OK);
      assert_int_equal(parley_tlog_verify_consistency(sizes[b], sizes[a], r1, r2,
                                                      (const uint8_t(*)[HL])p, n, NULL),
                       PARLEY_E_OK);
    }
  }
  assert_true(maxn <= PARLEY_TLOG_MAX_PROOF);
  /* over-long proofs are refused before any work */
  uint8_t big[PARLEY_TLOG_MAX_PROOF + 1][HL] = {{0}};
  assert_int_equal(parley_tlog_verify_inclusion(0, UINT64_MAX, uniform[0],
                                                (const uint8_t(*)[HL])big,
                                                PARLEY_TLOG_MAX_PROOF + 1, r2, NULL),
                   PARLEY_E_TLOG_PROOF);
}

/* ---- O(log n) storage calls on a real tree ---------------------------------- */

static void test_call_counts(void **state) {
  (void)state;
  const uint64_t size = 100003; /* 17 bits */
  parley_tlog_memtree *t = parley_tlog_memtree_new();
  for (uint64_t i = 0; i < size; i++) {
    uint8_t h[HL];
    make_leaf(i, h);
    assert_int_equal(parley_tlog_memtree_append(t, h, NULL), PARLEY_E_OK);
  }
  counted c = {.t = t};
  uint8_t p[PARLEY_TLOG_MAX_PROOF][HL], root[HL], r1[HL], leaf[HL];
  size_t n;
  assert_int_equal(parley_tlog_root(counted_fn, &c, size, root, NULL), PARLEY_E_OK);
  assert_int_equal(c.calls, (size_t)__builtin_popcountll(size));
  const uint64_t idx[] = {0, 1, 77777, 99999, size - 1};
  for (size_t k = 0; k < 5; k++) {
    c.calls = 0;
    assert_int_equal(parley_tlog_inclusion_proof(counted_fn, &c, idx[k], size, p, &n, NULL),
                     PARLEY_E_OK);
    assert_true(c.calls <= 2 * 17);
    make_leaf(idx[k], leaf);
    assert_int_equal(
        parley_tlog_verify_inclusion(idx[k], size, leaf, (const uint8_t(*)[HL])p, n, root, NULL),
        PARLEY_E_OK);
    c.calls = 0;
    uint64_t s1 = idx[k] + 1;
    assert_int_equal(parley_tlog_consistency_proof(counted_fn, &c, s1, size, p, &n, NULL),
                     PARLEY_E_OK);
    assert_true(c.calls <= 2 * 17 + 1);
    assert_int_equal(parley_tlog_root(counted_fn, &c, s1, r1, NULL), PARLEY_E_OK);
    assert_int_equal(
        parley_tlog_verify_consistency(s1, size, r1, root, (const uint8_t(*)[HL])p, n, NULL),
        PARLEY_E_OK);
  }
  parley_tlog_memtree_free(t);
}

int main(void) {
  if (!parley_init()) return 1;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_classic_vectors),
      cmocka_unit_test(test_transparency_dev_inclusion),
      cmocka_unit_test(test_transparency_dev_consistency),
      cmocka_unit_test(test_transparency_dev_subtree_inclusion),
      cmocka_unit_test(test_transparency_dev_subtree_consistency),
      cmocka_unit_test(test_generate_and_verify_small),
      cmocka_unit_test(test_append_nodes),
      cmocka_unit_test(test_huge_sizes),
      cmocka_unit_test(test_call_counts),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
