/* C2SP tlog-tiles: tile paths (formatting and strict parsing), tile contents from
 * complete-subtree storage, entry bundles. */
#include "parley/tlog.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#define HL PARLEY_TLOG_HASH_LEN

parley_err parley_tile_index_path(uint64_t n, char *out, size_t out_cap, parley_error *err) {
  unsigned groups[7]; /* 2^64 has 20 decimal digits */
  size_t k = 0;
  do {
    groups[k++] = (unsigned)(n % 1000);
    n /= 1000;
  } while (n);
  size_t pos = 0;
  for (size_t i = k; i-- > 0;) {
    int w = snprintf(out + pos, out_cap - pos, i ? "x%03u/" : "%03u", groups[i]);
    if (w < 0 || (size_t)w >= out_cap - pos)
      return parley_fail(err, PARLEY_E_TOO_LARGE, "tile path does not fit the buffer");
    pos += (size_t)w;
  }
  return PARLEY_E_OK;
}

static bool tile_shape_valid(const parley_tile *t) {
  return t->width >= 1 && t->width <= PARLEY_TILE_WIDTH &&
         (t->entries ? t->level == 0 : t->level <= PARLEY_TILE_MAX_LEVEL);
}

parley_err parley_tile_path(const parley_tile *t, char *out, size_t out_cap, parley_error *err) {
  if (!tile_shape_valid(t))
    return parley_fail(err, PARLEY_E_INVALID_ARGUMENT, "tile level or width out of range");
  int w = t->entries ? snprintf(out, out_cap, "tile/entries/")
                     : snprintf(out, out_cap, "tile/%u/", t->level);
  if (w < 0 || (size_t)w >= out_cap)
    return parley_fail(err, PARLEY_E_TOO_LARGE, "tile path does not fit the buffer");
  size_t pos = (size_t)w;
  parley_err e = parley_tile_index_path(t->index, out + pos, out_cap - pos, err);
  if (e != PARLEY_E_OK) return e;
  pos += strlen(out + pos);
  if (t->width < PARLEY_TILE_WIDTH) {
    w = snprintf(out + pos, out_cap - pos, ".p/%u", t->width);
    if (w < 0 || (size_t)w >= out_cap - pos)
      return parley_fail(err, PARLEY_E_TOO_LARGE, "tile path does not fit the buffer");
  }
  return PARLEY_E_OK;
}

static bool digits(const char *s, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (s[i] < '0' || s[i] > '9') return false;
  return true;
}

static unsigned small_decimal(const char *s, size_t n) {
  unsigned v = 0;
  for (size_t i = 0; i < n; i++)
    v = v * 10 + (unsigned)(s[i] - '0');
  return v;
}

parley_err parley_tile_parse_path(const char *path, size_t len, parley_tile *out,
                                  parley_error *err) {
  static const char bad[] = "not a tile path";
  memset(out, 0, sizeof *out);
  if (!path || len >= PARLEY_TILE_PATH_MAX || len < 5 || memcmp(path, "tile/", 5) != 0)
    return parley_fail(err, PARLEY_E_NOT_FOUND, "%s", bad);
  const char *p = path + 5, *end = path + len;
  parley_tile t = {.width = PARLEY_TILE_WIDTH};
  if ((size_t)(end - p) >= 8 && memcmp(p, "entries/", 8) == 0) {
    t.entries = true;
    p += 8;
  } else {
    const char *slash = memchr(p, '/', (size_t)(end - p));
    size_t n = slash ? (size_t)(slash - p) : 0;
    if (n < 1 || n > 2 || !digits(p, n)) return parley_fail(err, PARLEY_E_NOT_FOUND, "%s", bad);
    t.level = small_decimal(p, n);
    p = slash + 1;
  }
  /* N: "xDDD/" elements, then "DDD" */
  uint64_t index = 0;
  for (;;) {
    bool more = p < end && *p == 'x';
    size_t need = more ? 5 : 3;
    if ((size_t)(end - p) < need || !digits(p + (more ? 1 : 0), 3) || (more && p[4] != '/'))
      return parley_fail(err, PARLEY_E_NOT_FOUND, "%s", bad);
    unsigned g = small_decimal(p + (more ? 1 : 0), 3);
    if (index > (UINT64_MAX - g) / 1000) return parley_fail(err, PARLEY_E_NOT_FOUND, "%s", bad);
    index = index * 1000 + g;
    p += need;
    if (!more) break;
  }
  t.index = index;
  if (p < end) {
    size_t n = (size_t)(end - p);
    if (n < 4 || n > 6 || memcmp(p, ".p/", 3) != 0 || !digits(p + 3, n - 3))
      return parley_fail(err, PARLEY_E_NOT_FOUND, "%s", bad);
    t.width = small_decimal(p + 3, n - 3);
    if (t.width == 0 || t.width >= PARLEY_TILE_WIDTH)
      return parley_fail(err, PARLEY_E_NOT_FOUND, "%s", bad);
  }
  if (!tile_shape_valid(&t)) return parley_fail(err, PARLEY_E_NOT_FOUND, "%s", bad);
  /* One resource, one spelling: leading zeros, superfluous "x000/" elements and the
   * like are refused by comparing with the canonical form. */
  char canon[PARLEY_TILE_PATH_MAX];
  if (parley_tile_path(&t, canon, sizeof canon, NULL) != PARLEY_E_OK || strlen(canon) != len ||
      memcmp(canon, path, len) != 0)
    return parley_fail(err, PARLEY_E_NOT_FOUND, "%s", bad);
  *out = t;
  return PARLEY_E_OK;
}

parley_err parley_tile_check(const parley_tile *t, uint64_t tree_size, parley_error *err) {
  if (!tile_shape_valid(t))
    return parley_fail(err, PARLEY_E_NOT_FOUND, "tile level or width out of range");
  /* Leaves covered through the tile's last hash: (N * 256 + W) * 256^L. */
  uint64_t last;
  bool overflow = __builtin_mul_overflow(t->index, (uint64_t)PARLEY_TILE_WIDTH, &last) ||
                  __builtin_add_overflow(last, (uint64_t)t->width, &last);
  for (unsigned l = 0; !overflow && !t->entries && l < t->level; l++)
    overflow = __builtin_mul_overflow(last, (uint64_t)PARLEY_TILE_WIDTH, &last);
  if (overflow || last > tree_size)
    return parley_fail(err, PARLEY_E_NOT_FOUND,
                       "the tile is not complete in a tree of size %" PRIu64, tree_size);
  return PARLEY_E_OK;
}

parley_err parley_tile_hashes(parley_tlog_hash_fn fn, void *ctx, const parley_tile *t,
                              uint64_t tree_size, uint8_t out[PARLEY_TILE_WIDTH * HL],
                              size_t *out_len, parley_error *err) {
  *out_len = 0;
  if (t->entries)
    return parley_fail(err, PARLEY_E_INVALID_ARGUMENT, "entry bundles are not hash tiles");
  parley_err e = parley_tile_check(t, tree_size, err);
  if (e != PARLEY_E_OK) return e;
  unsigned level = t->level * PARLEY_TILE_HEIGHT;
  uint64_t first = t->index * PARLEY_TILE_WIDTH; /* no overflow: checked above */
  for (unsigned i = 0; i < t->width; i++) {
    e = fn(ctx, level, first + i, out + (size_t)i * HL);
    if (e != PARLEY_E_OK) return parley_fail(err, e, "storage could not give the hashes of a tile");
  }
  *out_len = (size_t)t->width * HL;
  return PARLEY_E_OK;
}

parley_err parley_tile_bundle_append(parley_buf *bundle, const uint8_t *entry, size_t len,
                                     parley_error *err) {
  if (len > PARLEY_TILE_ENTRY_MAX || (len && !entry))
    return parley_fail(err, PARLEY_E_TOO_LARGE, "a log entry may have at most %u bytes",
                       PARLEY_TILE_ENTRY_MAX);
  uint8_t be[2] = {(uint8_t)(len >> 8), (uint8_t)len};
  if (parley_buf_append(bundle, be, 2) || (len && parley_buf_append(bundle, entry, len)))
    return parley_fail(err, PARLEY_E_TOO_LARGE, "entry bundle does not fit the buffer");
  return PARLEY_E_OK;
}

parley_err parley_tile_bundle_next(const uint8_t *bundle, size_t len, size_t *off,
                                   const uint8_t **entry, size_t *entry_len, parley_error *err) {
  *entry = NULL;
  *entry_len = 0;
  if (*off == len) return PARLEY_E_NOT_FOUND; /* clean end, not an error worth a detail */
  if (*off > len || len - *off < 2)
    return parley_fail(err, PARLEY_E_INVALID_ARGUMENT, "entry bundle is truncated");
  size_t n = (size_t)bundle[*off] << 8 | bundle[*off + 1];
  if (len - *off - 2 < n)
    return parley_fail(err, PARLEY_E_INVALID_ARGUMENT, "entry bundle is truncated");
  *entry = bundle + *off + 2;
  *entry_len = n;
  *off += 2 + n;
  return PARLEY_E_OK;
}
