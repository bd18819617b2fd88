/* tlog tiles (C2SP tlog-tiles): index encoding vectors, strict path parsing, which
 * tiles a tree determines, tile contents against the reference MTH, entry bundles. */
/* cmocka needs these first */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parley/tlog.h"

#define HL PARLEY_TLOG_HASH_LEN

static void test_index_vectors(void **state) {
  (void)state;
  char path[4096];
  const char *d = getenv("PARLEY_TESTDATA");
  assert_non_null(d);
  snprintf(path, sizeof path, "%s/vectors.json", d);
  json_t *all = json_load_file(path, 0, NULL);
  assert_non_null(all);
  json_t *enc = json_object_get(json_object_get(all, "tlog_tiles"), "index_encoding");
  const char *key;
  json_t *v;
  size_t count = 0;
  json_object_foreach(enc, key, v) {
    uint64_t n = 0;
    assert_true(parley_parse_u64(key, &n));
    char out[PARLEY_TILE_PATH_MAX];
    assert_int_equal(parley_tile_index_path(n, out, sizeof out, NULL), PARLEY_E_OK);
    assert_string_equal(out, json_string_value(v));
    /* and back, as a level-0 tile path */
    char full[PARLEY_TILE_PATH_MAX + 8];
    snprintf(full, sizeof full, "tile/0/%s", out);
    parley_tile t;
    assert_int_equal(parley_tile_parse_path(full, strlen(full), &t, NULL), PARLEY_E_OK);
    assert_int_equal(t.index, n);
    count++;
  }
  assert_true(count >= 6);
  json_decref(all);
  char small[8];
  assert_int_equal(parley_tile_index_path(1234067, small, sizeof small, NULL), PARLEY_E_TOO_LARGE);
}

static void test_paths(void **state) {
  (void)state;
  static const struct {
    parley_tile t;
    const char *path;
  } ok[] = {
      {{false, 0, 0, 256}, "tile/0/000"},
      {{false, 0, 1234067, 256}, "tile/0/x001/x234/067"},
      {{false, 1, 5, 17}, "tile/1/005.p/17"},
      {{false, 63, 999, 1}, "tile/63/999.p/1"},
      {{false, 2, 1000, 255}, "tile/2/x001/000.p/255"},
      {{true, 0, 0, 256}, "tile/entries/000"},
      {{true, 0, 273, 112}, "tile/entries/273.p/112"},
      {{false, 10, UINT64_MAX, 256}, "tile/10/x018/x446/x744/x073/x709/x551/615"},
      {{true, 0, UINT64_MAX, 9}, "tile/entries/x018/x446/x744/x073/x709/x551/615.p/9"},
  };
  for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
    char out[PARLEY_TILE_PATH_MAX];
    assert_int_equal(parley_tile_path(&ok[i].t, out, sizeof out, NULL), PARLEY_E_OK);
    assert_string_equal(out, ok[i].path);
    parley_tile t;
    parley_error err;
    if (parley_tile_parse_path(ok[i].path, strlen(ok[i].path), &t, &err) != PARLEY_E_OK)
      fail_msg("%s: %s", ok[i].path, err.detail);
    assert_int_equal(t.entries, ok[i].t.entries);
    assert_int_equal(t.level, ok[i].t.level);
    assert_int_equal(t.index, ok[i].t.index);
    assert_int_equal(t.width, ok[i].t.width);
  }
  static const char *bad[] = {
      "",
      "tile",
      "tile/",
      "tile/0",
      "tile/0/",
      "/tile/0/000",
      "tile/0/000/",
      "tile/0/1",
      "tile/0/01",
      "tile/0/0001",
      "tile/0/x001",
      "tile/0/x001/",
      "tile/0/001/000",
      "tile/0/X001/000",
      "tile/0/x000/001", /* not minimal */
      "tile/0/x000/x001/000",
      "tile/00/000",
      "tile/01/000",
      "tile/64/000",
      "tile/100/000",
      "tile/-1/000",
      "tile//000",
      "tile/a/000",
      "tile/data/000",
      "tile/entries/",
      "tile/entries/0",
      "tile/entries",
      "tile/0/000.p/0",
      "tile/0/000.p/256",
      "tile/0/000.p/01",
      "tile/0/000.p/",
      "tile/0/000.p",
      "tile/0/000.p/1/",
      "tile/0/000.p/5x",
      "tile/0/000.q/5",
      "tile/0/000p/5",
      "tile/0/0a0",
      "tile/0/000?x",
      "tile/0/x018/x446/x744/x073/x709/x551/616", /* 2^64 */
      "tile/0/x999/x999/x999/x999/x999/x999/x999/999",
      "TILE/0/000",
      "tile/0/000 ",
      "tile/0/+00",
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    parley_tile t;
    parley_error err = {0};
    if (parley_tile_parse_path(bad[i], strlen(bad[i]), &t, &err) != PARLEY_E_NOT_FOUND)
      fail_msg("accepted bad tile path '%s'", bad[i]);
    assert_int_equal(err.code, PARLEY_E_NOT_FOUND);
  }
  /* the length is authoritative: an embedded NUL is part of the path */
  parley_tile t;
  assert_int_equal(parley_tile_parse_path("tile/0/000\0", 11, &t, NULL), PARLEY_E_NOT_FOUND);
  assert_int_equal(parley_tile_parse_path("tile/0/000xyz", 10, &t, NULL), PARLEY_E_OK);
  /* formatting refuses impossible tiles */
  char out[PARLEY_TILE_PATH_MAX];
  parley_tile bad_t[] = {
      {false, 64, 0, 256}, {false, 0, 0, 0}, {false, 0, 0, 257}, {true, 1, 0, 256}};
  for (size_t i = 0; i < 4; i++)
    assert_int_equal(parley_tile_path(&bad_t[i], out, sizeof out, NULL), PARLEY_E_INVALID_ARGUMENT);
}

static parley_err check(bool entries, unsigned level, uint64_t index, unsigned width,
                        uint64_t size) {
  parley_tile t = {entries, level, index, width};
  return parley_tile_check(&t, size, NULL);
}

static void test_check(void **state) {
  (void)state;
  /* the spec's example: a tree of 70,000 leaves */
  const uint64_t s = 70000;
  assert_int_equal(check(false, 0, 0, 256, s), PARLEY_E_OK);
  assert_int_equal(check(false, 0, 272, 256, s), PARLEY_E_OK);
  assert_int_equal(check(false, 0, 273, 256, s), PARLEY_E_NOT_FOUND);
  assert_int_equal(check(false, 0, 273, 112, s), PARLEY_E_OK);
  assert_int_equal(check(false, 0, 273, 113, s), PARLEY_E_NOT_FOUND);
  assert_int_equal(check(false, 0, 274, 1, s), PARLEY_E_NOT_FOUND);
  assert_int_equal(check(true, 0, 273, 112, s), PARLEY_E_OK);
  assert_int_equal(check(true, 0, 273, 113, s), PARLEY_E_NOT_FOUND);
  assert_int_equal(check(false, 1, 0, 256, s), PARLEY_E_OK);
  assert_int_equal(check(false, 1, 1, 17, s), PARLEY_E_OK);
  assert_int_equal(check(false, 1, 1, 18, s), PARLEY_E_NOT_FOUND);
  assert_int_equal(check(false, 1, 1, 256, s), PARLEY_E_NOT_FOUND);
  assert_int_equal(check(false, 2, 0, 1, s), PARLEY_E_OK);
  assert_int_equal(check(false, 2, 0, 2, s), PARLEY_E_NOT_FOUND);
  assert_int_equal(check(false, 3, 0, 1, s), PARLEY_E_NOT_FOUND);
  /* size 256: one full level-0 tile and a level-1 tile of width 1 */
  assert_int_equal(check(false, 0, 0, 256, 256), PARLEY_E_OK);
  assert_int_equal(check(false, 1, 0, 1, 256), PARLEY_E_OK);
  assert_int_equal(check(false, 0, 1, 1, 256), PARLEY_E_NOT_FOUND);
  /* no overflow at the top */
  assert_int_equal(check(false, 7, 0, 255, UINT64_MAX), PARLEY_E_OK);
  assert_int_equal(check(false, 7, 0, 256, UINT64_MAX), PARLEY_E_NOT_FOUND);
  assert_int_equal(check(false, 63, 0, 1, UINT64_MAX), PARLEY_E_NOT_FOUND);
  assert_int_equal(check(false, 0, UINT64_MAX, 256, UINT64_MAX), PARLEY_E_NOT_FOUND);
  assert_int_equal(check(true, 0, UINT64_MAX / 256, 255, UINT64_MAX), PARLEY_E_OK);
  assert_int_equal(check(false, 0, 0, 0, UINT64_MAX), PARLEY_E_NOT_FOUND);
}

static void test_tile_hashes(void **state) {
  (void)state;
  const uint64_t size = 70000;
  uint8_t(*leaves)[HL] = malloc(size * HL);
  assert_non_null(leaves);
  parley_tlog_memtree *t = parley_tlog_memtree_new();
  for (uint64_t i = 0; i < size; i++) {
    uint8_t b[8];
    for (int k = 0; k < 8; k++)
      b[k] = (uint8_t)(i >> (8 * k));
    parley_tlog_leaf_hash(b, sizeof b, leaves[i]);
    assert_int_equal(parley_tlog_memtree_append(t, leaves[i], NULL), PARLEY_E_OK);
  }
  static uint8_t out[PARLEY_TILE_WIDTH * HL];
  size_t len = 0;
  /* level 0: leaf hashes; partial tile 273 of width 112 */
  parley_tile t0 = {false, 0, 3, 256};
  assert_int_equal(parley_tile_hashes(parley_tlog_memtree_hash, t, &t0, size, out, &len, NULL),
                   PARLEY_E_OK);
  assert_int_equal(len, 256 * HL);
  assert_memory_equal(out, leaves[3 * 256], 256 * HL);
  parley_tile tp = {false, 0, 273, 112};
  assert_int_equal(parley_tile_hashes(parley_tlog_memtree_hash, t, &tp, size, out, &len, NULL),
                   PARLEY_E_OK);
  assert_int_equal(len, 112 * HL);
  assert_memory_equal(out, leaves[273 * 256], 112 * HL);
  /* level 1: hash i is MTH of the i-th group of 256 leaves */
  parley_tile t1 = {false, 1, 1, 17};
  assert_int_equal(parley_tile_hashes(parley_tlog_memtree_hash, t, &t1, size, out, &len, NULL),
                   PARLEY_E_OK);
  assert_int_equal(len, 17 * HL);
  for (uint64_t i = 0; i < 17; i++) {
    uint8_t want[HL];
    parley_tlog_mth((const uint8_t(*)[HL])leaves[(256 + i) * 256], 256, want);
    assert_memory_equal(out + i * HL, want, HL);
  }
  /* level 2 width 1: MTH of the first 65,536 leaves */
  parley_tile t2 = {false, 2, 0, 1};
  assert_int_equal(parley_tile_hashes(parley_tlog_memtree_hash, t, &t2, size, out, &len, NULL),
                   PARLEY_E_OK);
  uint8_t want[HL];
  parley_tlog_mth((const uint8_t(*)[HL])leaves, 65536, want);
  assert_memory_equal(out, want, HL);
  /* tiles a tree of this size does not determine; entry bundles are not hash tiles */
  parley_tile no = {false, 1, 1, 18};
  parley_error err;
  assert_int_equal(parley_tile_hashes(parley_tlog_memtree_hash, t, &no, size, out, &len, &err),
                   PARLEY_E_NOT_FOUND);
  assert_int_equal(len, 0);
  parley_tile ent = {true, 0, 0, 256};
  assert_int_equal(parley_tile_hashes(parley_tlog_memtree_hash, t, &ent, size, out, &len, NULL),
                   PARLEY_E_INVALID_ARGUMENT);
  /* a storage error passes through */
  assert_int_equal(
      parley_tile_hashes(parley_tlog_memtree_hash, t, &tp, size + 1000, out, &len, &err),
      PARLEY_E_OK);
  parley_tile beyond = {false, 0, 274, 1};
  assert_int_equal(
      parley_tile_hashes(parley_tlog_memtree_hash, t, &beyond, size + 1000, out, &len, &err),
      PARLEY_E_TLOG_RANGE);
  parley_tlog_memtree_free(t);
  free(leaves);
}

static void test_bundles(void **state) {
  (void)state;
  parley_buf b;
  parley_buf_init(&b, 1 << 20);
  static uint8_t big[65536];
  memset(big, 0xab, sizeof big);
  assert_int_equal(parley_tile_bundle_append(&b, NULL, 0, NULL), PARLEY_E_OK);
  assert_int_equal(parley_tile_bundle_append(&b, (const uint8_t *)"x", 1, NULL), PARLEY_E_OK);
  assert_int_equal(parley_tile_bundle_append(&b, big, 65535, NULL), PARLEY_E_OK);
  assert_int_equal(parley_tile_bundle_append(&b, big, 65536, NULL), PARLEY_E_TOO_LARGE);
  assert_int_equal(b.len, 2 + 3 + 2 + 65535);
  assert_memory_equal(b.data, "\x00\x00\x00\x01x\xff\xff", 7);
  size_t off = 0, n;
  const uint8_t *e;
  assert_int_equal(parley_tile_bundle_next(b.data, b.len, &off, &e, &n, NULL), PARLEY_E_OK);
  assert_int_equal(n, 0);
  assert_int_equal(parley_tile_bundle_next(b.data, b.len, &off, &e, &n, NULL), PARLEY_E_OK);
  assert_int_equal(n, 1);
  assert_int_equal(e[0], 'x');
  assert_int_equal(parley_tile_bundle_next(b.data, b.len, &off, &e, &n, NULL), PARLEY_E_OK);
  assert_int_equal(n, 65535);
  assert_memory_equal(e, big, 65535);
  assert_int_equal(parley_tile_bundle_next(b.data, b.len, &off, &e, &n, NULL), PARLEY_E_NOT_FOUND);
  /* truncated in the length or in the entry */
  off = 0;
  assert_int_equal(parley_tile_bundle_next(b.data, 1, &off, &e, &n, NULL),
                   PARLEY_E_INVALID_ARGUMENT);
  off = 2;
  assert_int_equal(parley_tile_bundle_next(b.data, 4, &off, &e, &n, NULL),
                   PARLEY_E_INVALID_ARGUMENT);
  off = 5;
  assert_int_equal(parley_tile_bundle_next(b.data, b.len - 1, &off, &e, &n, NULL),
                   PARLEY_E_INVALID_ARGUMENT);
  off = b.len + 1;
  assert_int_equal(parley_tile_bundle_next(b.data, b.len, &off, &e, &n, NULL),
                   PARLEY_E_INVALID_ARGUMENT);
  parley_buf_free(&b);
}

int main(void) {
  if (!parley_init()) return 1;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_index_vectors), cmocka_unit_test(test_paths),
      cmocka_unit_test(test_check),         cmocka_unit_test(test_tile_hashes),
      cmocka_unit_test(test_bundles),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
