/* Bounded JSON parsing (jansson underneath), the signable-JSON check and the RFC 8785
 * canonical form. Parsing, the check and JCS share the JSON-pointer path builder used
 * in error details. */
#include "parley/json.h"

#include <stdlib.h>
#include <string.h>

/* Hard cap on recursion for trees built in memory (jansson's parser stops at 2048
 * too); it also ends the walk on a cyclic tree. */
#define JSON_WALK_MAX_DEPTH 2048

/* ---- error-detail helpers -------------------------------------------- */

/* Length of the UTF-8 sequence starting at s[0..n) if it is valid, else 0. */
static size_t utf8_seq_len(const unsigned char *s, size_t n) {
  size_t len = s[0] < 0x80 ? 1 : s[0] >= 0xf0 ? 4 : s[0] >= 0xe0 ? 3 : 2;
  if (len > n || !parley_utf8_valid((const char *)s, len)) return 0;
  return len;
}

/* Copies src into a detail buffer keeping it valid, printable UTF-8: whole valid
 * sequences are kept, control characters and invalid bytes become '?'. Details end up
 * in JSON error bodies, so they must never hold broken UTF-8. */
static void append_printable(char *dst, size_t cap, size_t *len, const char *src, size_t n) {
  const unsigned char *s = (const unsigned char *)src;
  size_t i = 0;
  while (i < n && *len + 1 < cap) {
    size_t k = utf8_seq_len(s + i, n - i);
    if (k == 0 || (k == 1 && (s[i] < 0x20 || s[i] == 0x7f))) {
      dst[(*len)++] = '?';
      i += k ? k : 1;
      continue;
    }
    if (*len + k >= cap) break;
    memcpy(dst + *len, s + i, k);
    *len += k;
    i += k;
  }
  dst[*len] = 0;
}

/* JSON pointer (RFC 6901) of the value being visited, for error details. */
typedef struct {
  char s[160];
  size_t len;
} jpath;

static size_t path_push_key(jpath *p, const char *key, size_t klen) {
  size_t mark = p->len;
  char seg[160];
  size_t sl = 0;
  seg[sl++] = '/';
  for (size_t i = 0; i < klen && sl + 2 < sizeof seg; i++) {
    if (key[i] == '~' || key[i] == '/') {
      seg[sl++] = '~';
      seg[sl++] = key[i] == '~' ? '0' : '1';
    } else {
      seg[sl++] = key[i];
    }
  }
  append_printable(p->s, sizeof p->s, &p->len, seg, sl);
  return mark;
}

static size_t path_push_index(jpath *p, size_t idx) {
  size_t mark = p->len;
  char seg[32];
  int w = snprintf(seg, sizeof seg, "/%zu", idx);
  if (w > 0 && (size_t)w < sizeof seg) append_printable(p->s, sizeof p->s, &p->len, seg, (size_t)w);
  return mark;
}

static void path_pop(jpath *p, size_t mark) {
  p->len = mark;
  p->s[mark] = 0;
}

static const char *path_str(const jpath *p) {
  return p->len ? p->s : "(top level)";
}

/* ---- parsing ----------------------------------------------------------- */

/* Depth of nested arrays/objects counted over the raw bytes, skipping strings. Exact
 * for well-formed input; for malformed input jansson fails anyway and has its own
 * recursion cap. */
static parley_err prescan_depth(const char *buf, size_t len, size_t max_depth, parley_error *err) {
  size_t depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < len; i++) {
    char c = buf[i];
    if (in_string) {
      if (c == '\\')
        i++;
      else if (c == '"')
        in_string = false;
      continue;
    }
    switch (c) {
    case '"':
      in_string = true;
      break;
    case '[':
    case '{':
      if (++depth > max_depth)
        return parley_fail(err, PARLEY_E_JSON_DEPTH,
                           "nesting deeper than %zu levels at byte offset %zu", max_depth, i);
      break;
    case ']':
    case '}':
      if (depth) depth--;
      break;
    default:
      break;
    }
  }
  return PARLEY_E_OK;
}

static parley_err check_limits(const json_t *v, const parley_json_limits *lim, size_t *items,
                               jpath *p, size_t depth, parley_error *err) {
  if (depth > JSON_WALK_MAX_DEPTH)
    return parley_fail(err, PARLEY_E_JSON_DEPTH, "nesting too deep at %s", path_str(p));
  if (++*items > lim->max_items)
    return parley_fail(err, PARLEY_E_TOO_LARGE, "more than %zu JSON values", lim->max_items);
  switch (json_typeof(v)) {
  case JSON_STRING:
    if (json_string_length(v) > lim->max_string)
      return parley_fail(err, PARLEY_E_JSON_STRING_TOO_LONG,
                         "string of %zu bytes at %s exceeds the limit of %zu",
                         json_string_length(v), path_str(p), lim->max_string);
    return PARLEY_E_OK;
  case JSON_OBJECT:
    for (void *it = json_object_iter((json_t *)v); it;
         it = json_object_iter_next((json_t *)v, it)) {
      const char *key = json_object_iter_key(it);
      size_t klen = json_object_iter_key_len(it);
      size_t mark = path_push_key(p, key, klen);
      if (klen > lim->max_string)
        return parley_fail(err, PARLEY_E_JSON_STRING_TOO_LONG,
                           "key of %zu bytes at %s exceeds the limit of %zu", klen, path_str(p),
                           lim->max_string);
      parley_err e = check_limits(json_object_iter_value(it), lim, items, p, depth + 1, err);
      if (e) return e;
      path_pop(p, mark);
    }
    return PARLEY_E_OK;
  case JSON_ARRAY:
    for (size_t i = 0; i < json_array_size(v); i++) {
      size_t mark = path_push_index(p, i);
      parley_err e = check_limits(json_array_get(v, i), lim, items, p, depth + 1, err);
      if (e) return e;
      path_pop(p, mark);
    }
    return PARLEY_E_OK;
  default:
    return PARLEY_E_OK;
  }
}

static parley_err map_jansson_error(const json_error_t *je, parley_error *err) {
  char text[200];
  size_t tl = 0;
  text[0] = 0;
  append_printable(text, sizeof text, &tl, je->text, strnlen(je->text, sizeof je->text));
  switch (json_error_code(je)) {
  case json_error_out_of_memory:
    return parley_fail(err, PARLEY_E_NO_MEMORY, "out of memory while parsing JSON");
  case json_error_stack_overflow:
    return parley_fail(err, PARLEY_E_JSON_DEPTH, "%s", text);
  case json_error_duplicate_key:
    return parley_fail(err, PARLEY_E_JSON_DUPLICATE_KEY, "%s at line %d, column %d", text, je->line,
                       je->column);
  case json_error_numeric_overflow:
    /* "too big integer" / "too big negative integer"; a real overflow is malformed. */
    if (strncmp(je->text, "too big", 7) == 0)
      return parley_fail(err, PARLEY_E_JSON_INTEGER_RANGE,
                         "integer does not fit in 64 bits at line %d, column %d", je->line,
                         je->column);
    return parley_fail(err, PARLEY_E_JSON_MALFORMED, "%s at line %d, column %d", text, je->line,
                       je->column);
  default:
    return parley_fail(err, PARLEY_E_JSON_MALFORMED, "%s at line %d, column %d", text, je->line,
                       je->column);
  }
}

parley_err parley_json_parse(const char *buf, size_t len, const parley_json_limits *limits,
                             json_t **out, parley_error *err) {
  parley_json_limits lim = limits ? *limits : PARLEY_JSON_LIMITS_DEFAULT;
  if (!out) return parley_fail(err, PARLEY_E_INVALID_ARGUMENT, "no output for the parsed JSON");
  *out = NULL;
  if (!buf) {
    if (len) return parley_fail(err, PARLEY_E_INVALID_ARGUMENT, "no input buffer");
    buf = "";
  }
  if (len > lim.max_bytes)
    return parley_fail(err, PARLEY_E_TOO_LARGE, "JSON of %zu bytes exceeds the limit of %zu", len,
                       lim.max_bytes);
  parley_err e = prescan_depth(buf, len, lim.max_depth, err);
  if (e) return e;

  json_error_t je;
  json_t *v = json_loadb(buf, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &je);
  if (!v) return map_jansson_error(&je, err);

  size_t items = 0;
  jpath p = {.len = 0};
  p.s[0] = 0;
  e = check_limits(v, &lim, &items, &p, 0, err);
  if (e) {
    json_decref(v);
    return e;
  }
  *out = v;
  return PARLEY_E_OK;
}

parley_err parley_json_parse_object(const char *buf, size_t len, const parley_json_limits *limits,
                                    json_t **out, parley_error *err) {
  parley_err e = parley_json_parse(buf, len, limits, out, err);
  if (e) return e;
  if (!json_is_object(*out)) {
    json_decref(*out);
    *out = NULL;
    return parley_fail(err, PARLEY_E_JSON_NOT_OBJECT, "the top-level JSON value is not an object");
  }
  return PARLEY_E_OK;
}

/* ---- signable check ---------------------------------------------------- */

static bool int_safe(json_int_t i) {
  return i >= -PARLEY_JSON_MAX_SAFE_INT && i <= PARLEY_JSON_MAX_SAFE_INT;
}

static parley_err signable(const json_t *v, jpath *p, size_t depth, parley_error *err) {
  if (depth > JSON_WALK_MAX_DEPTH)
    return parley_fail(err, PARLEY_E_JSON_DEPTH, "nesting too deep at %s", path_str(p));
  switch (json_typeof(v)) {
  case JSON_REAL:
    return parley_fail(err, PARLEY_E_JSON_REAL_NOT_ALLOWED, "non-integer number at %s",
                       path_str(p));
  case JSON_INTEGER:
    if (!int_safe(json_integer_value(v)))
      return parley_fail(err, PARLEY_E_JSON_INTEGER_RANGE, "integer at %s is outside +-(2^53-1)",
                         path_str(p));
    return PARLEY_E_OK;
  case JSON_OBJECT:
    for (void *it = json_object_iter((json_t *)v); it;
         it = json_object_iter_next((json_t *)v, it)) {
      size_t mark = path_push_key(p, json_object_iter_key(it), json_object_iter_key_len(it));
      parley_err e = signable(json_object_iter_value(it), p, depth + 1, err);
      if (e) return e;
      path_pop(p, mark);
    }
    return PARLEY_E_OK;
  case JSON_ARRAY:
    for (size_t i = 0; i < json_array_size(v); i++) {
      size_t mark = path_push_index(p, i);
      parley_err e = signable(json_array_get(v, i), p, depth + 1, err);
      if (e) return e;
      path_pop(p, mark);
    }
    return PARLEY_E_OK;
  default:
    return PARLEY_E_OK;
  }
}

parley_err parley_json_check_signable(const json_t *v, parley_error *err) {
  if (!v) return parley_fail(err, PARLEY_E_INVALID_ARGUMENT, "no JSON value");
  jpath p = {.len = 0};
  p.s[0] = 0;
  return signable(v, &p, 0, err);
}

/* ---- RFC 8785 ----------------------------------------------------------- */

/* Yields the UTF-16 code units of a valid UTF-8 string, so that keys can be ordered
 * as RFC 8785 3.2.3 requires: a character above U+FFFF sorts by its surrogate pair
 * (0xD800..0xDBFF), hence before U+E000..U+FFFF although its code point is larger. */
typedef struct {
  const unsigned char *s;
  size_t n, i;
  unsigned low; /* pending low surrogate, 0 if none */
} u16_iter;

static long u16_next(u16_iter *it) {
  if (it->low) {
    unsigned u = it->low;
    it->low = 0;
    return (long)u;
  }
  if (it->i >= it->n) return -1; /* end sorts before any unit: a prefix comes first */
  unsigned c = it->s[it->i];
  size_t len = c < 0x80 ? 1 : c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2;
  if (len > it->n - it->i)
    len = it->n - it->i; /* only reachable on invalid input, which JCS refuses first */
  unsigned cp = len == 1 ? c : len == 2 ? (c & 0x1f) : len == 3 ? (c & 0x0f) : (c & 0x07);
  for (size_t k = 1; k < len; k++)
    cp = (cp << 6) | (it->s[it->i + k] & 0x3f);
  it->i += len;
  if (cp >= 0x10000) {
    cp -= 0x10000;
    it->low = 0xdc00 | (cp & 0x3ff);
    return (long)(0xd800 | (cp >> 10));
  }
  return (long)cp;
}

typedef struct {
  const char *key;
  size_t klen;
  json_t *value;
} member;

static int member_cmp(const void *pa, const void *pb) {
  const member *a = pa, *b = pb;
  u16_iter ia = {(const unsigned char *)a->key, a->klen, 0, 0};
  u16_iter ib = {(const unsigned char *)b->key, b->klen, 0, 0};
  for (;;) {
    long ua = u16_next(&ia), ub = u16_next(&ib);
    if (ua != ub) return ua < ub ? -1 : 1;
    if (ua < 0) return 0;
  }
}

/* ECMAScript JSON.stringify escaping (ES2019 well-formed form; valid UTF-8 has no lone
 * surrogates, so only the short escapes and \u00xx for other controls remain). */
static parley_err jcs_string(const char *s, size_t n, parley_buf *out, const jpath *p,
                             parley_error *err) {
  static const char hex[] = "0123456789abcdef";
  if (!parley_utf8_valid(s, n))
    return parley_fail(err, PARLEY_E_JSON_MALFORMED, "string at %s is not valid UTF-8",
                       path_str(p));
  parley_err e = parley_buf_append(out, "\"", 1);
  size_t run = 0; /* start of the pending run of bytes copied verbatim */
  for (size_t i = 0; i < n && !e; i++) {
    unsigned char c = (unsigned char)s[i];
    const char *short_esc = NULL;
    switch (c) {
    case '"':
      short_esc = "\\\"";
      break;
    case '\\':
      short_esc = "\\\\";
      break;
    case '\b':
      short_esc = "\\b";
      break;
    case '\f':
      short_esc = "\\f";
      break;
    case '\n':
      short_esc = "\\n";
      break;
    case '\r':
      short_esc = "\\r";
      break;
    case '\t':
      short_esc = "\\t";
      break;
    default:
      if (c >= 0x20) continue;
      break;
    }
    e = parley_buf_append(out, s + run, i - run);
    if (!e && short_esc) {
      e = parley_buf_append(out, short_esc, 2);
    } else if (!e) {
      char esc[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 0xf]};
      e = parley_buf_append(out, esc, sizeof esc);
    }
    run = i + 1;
  }
  if (!e) e = parley_buf_append(out, s + run, n - run);
  if (!e) e = parley_buf_append(out, "\"", 1);
  if (e) return parley_fail(err, e, "canonical JSON exceeds the output limit");
  return PARLEY_E_OK;
}

static parley_err put(parley_buf *out, const char *s, size_t n, parley_error *err) {
  parley_err e = parley_buf_append(out, s, n);
  if (e) return parley_fail(err, e, "canonical JSON exceeds the output limit");
  return PARLEY_E_OK;
}

static parley_err jcs_value(const json_t *v, parley_buf *out, jpath *p, size_t depth,
                            parley_error *err);

static parley_err jcs_object(const json_t *v, parley_buf *out, jpath *p, size_t depth,
                             parley_error *err) {
  size_t n = json_object_size(v);
  if (n == 0) return put(out, "{}", 2, err);
  member *m = calloc(n, sizeof *m);
  if (!m) return parley_fail(err, PARLEY_E_NO_MEMORY, "out of memory");
  size_t k = 0;
  parley_err e = PARLEY_E_OK;
  for (void *it = json_object_iter((json_t *)v); it && k < n;
       it = json_object_iter_next((json_t *)v, it), k++) {
    m[k].key = json_object_iter_key(it);
    m[k].klen = json_object_iter_key_len(it);
    m[k].value = json_object_iter_value(it);
    if (!parley_utf8_valid(m[k].key, m[k].klen)) {
      size_t mark = path_push_key(p, m[k].key, m[k].klen);
      e = parley_fail(err, PARLEY_E_JSON_MALFORMED, "key at %s is not valid UTF-8", path_str(p));
      path_pop(p, mark);
      goto done;
    }
  }
  qsort(m, k, sizeof *m, member_cmp);
  e = put(out, "{", 1, err);
  for (size_t i = 0; i < k && !e; i++) {
    if (i) e = put(out, ",", 1, err);
    size_t mark = path_push_key(p, m[i].key, m[i].klen);
    if (!e) e = jcs_string(m[i].key, m[i].klen, out, p, err);
    if (!e) e = put(out, ":", 1, err);
    if (!e) e = jcs_value(m[i].value, out, p, depth + 1, err);
    if (!e) path_pop(p, mark);
  }
  if (!e) e = put(out, "}", 1, err);
done:
  free(m);
  return e;
}

static parley_err jcs_value(const json_t *v, parley_buf *out, jpath *p, size_t depth,
                            parley_error *err) {
  if (depth > JSON_WALK_MAX_DEPTH)
    return parley_fail(err, PARLEY_E_JSON_DEPTH, "nesting too deep at %s", path_str(p));
  switch (json_typeof(v)) {
  case JSON_OBJECT:
    return jcs_object(v, out, p, depth, err);
  case JSON_ARRAY: {
    parley_err e = put(out, "[", 1, err);
    for (size_t i = 0; i < json_array_size(v) && !e; i++) {
      if (i) e = put(out, ",", 1, err);
      size_t mark = path_push_index(p, i);
      if (!e) e = jcs_value(json_array_get(v, i), out, p, depth + 1, err);
      if (!e) path_pop(p, mark);
    }
    return e ? e : put(out, "]", 1, err);
  }
  case JSON_STRING:
    return jcs_string(json_string_value(v), json_string_length(v), out, p, err);
  case JSON_INTEGER: {
    json_int_t i = json_integer_value(v);
    if (!int_safe(i))
      return parley_fail(err, PARLEY_E_JSON_INTEGER_RANGE, "integer at %s is outside +-(2^53-1)",
                         path_str(p));
    char num[24];
    int w = snprintf(num, sizeof num, "%" JSON_INTEGER_FORMAT, i);
    if (w <= 0 || (size_t)w >= sizeof num)
      return parley_fail(err, PARLEY_E_INTERNAL, "integer formatting failed");
    return put(out, num, (size_t)w, err);
  }
  case JSON_REAL:
    /* ECMAScript number formatting is not reproduced here; signed JSON has no reals. */
    return parley_fail(err, PARLEY_E_JSON_REAL_NOT_ALLOWED, "non-integer number at %s",
                       path_str(p));
  case JSON_TRUE:
    return put(out, "true", 4, err);
  case JSON_FALSE:
    return put(out, "false", 5, err);
  case JSON_NULL:
    return put(out, "null", 4, err);
  }
  return parley_fail(err, PARLEY_E_INTERNAL, "unknown JSON type");
}

static void buf_truncate(parley_buf *b, size_t len) {
  b->len = len;
  if (b->data) b->data[len] = 0;
}

parley_err parley_jcs(const json_t *v, parley_buf *out, parley_error *err) {
  if (!v || !out)
    return parley_fail(err, PARLEY_E_INVALID_ARGUMENT, "no JSON value or no output buffer");
  size_t start = out->len;
  jpath p = {.len = 0};
  p.s[0] = 0;
  parley_err e = jcs_value(v, out, &p, 0, err);
  if (e) buf_truncate(out, start);
  return e;
}

typedef struct {
  parley_buf *out;
  parley_err e;
} dump_ctx;

static int dump_cb(const char *buffer, size_t size, void *data) {
  dump_ctx *c = data;
  c->e = parley_buf_append(c->out, buffer, size);
  return c->e == PARLEY_E_OK ? 0 : -1;
}

parley_err parley_json_dumps_compact(const json_t *v, parley_buf *out) {
  parley_err e = parley_jcs(v, out, NULL);
  if (e != PARLEY_E_JSON_REAL_NOT_ALLOWED && e != PARLEY_E_JSON_INTEGER_RANGE) return e;
  size_t start = out->len;
  dump_ctx c = {out, PARLEY_E_OK};
  if (json_dump_callback(v, dump_cb, &c,
                         JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY |
                             JSON_REAL_PRECISION(17)) != 0) {
    buf_truncate(out, start);
    /* jansson fails on its own only for invalid UTF-8 or excessive depth. */
    return c.e ? c.e : PARLEY_E_JSON_MALFORMED;
  }
  return PARLEY_E_OK;
}
