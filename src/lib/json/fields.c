/* Declarative extraction of request fields (parley_json_fields): one table per
 * request, one call, and an error detail that names the offending field. */
#include "parley/json.h"

#include <sodium.h>
#include <string.h>

/* The string value of v if it holds no NUL byte (a C string is needed below). */
static const char *c_string(const json_t *v) {
  const char *s = json_string_value(v);
  return s && strlen(s) == json_string_length(v) ? s : NULL;
}

/* Valid UTF-8 without control characters: C0 except \n and \t (unless single_line),
 * DEL, and the C1 range U+0080..U+009F (encoded C2 80..C2 9F). */
static bool text_ok(const char *s, size_t n, bool single_line) {
  if (!parley_utf8_valid(s, n)) return false;
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c < 0x20 && (single_line || (c != '\n' && c != '\t'))) return false;
    if (c == 0x7f) return false;
    if (c == 0xc2 && i + 1 < n && (unsigned char)s[i + 1] < 0xa0)
      return false; /* valid UTF-8, so s[i+1] >= 0x80 here */
  }
  return true;
}

static const char *kind_noun(parley_json_kind k) {
  switch (k) {
  case PARLEY_JF_INT:
    return "an integer";
  case PARLEY_JF_BOOL:
    return "a boolean";
  case PARLEY_JF_OBJECT:
    return "an object";
  case PARLEY_JF_ARRAY:
    return "an array";
  default:
    return "a string";
  }
}

static parley_err enum_field(const parley_json_field *f, const json_t *v, parley_error *err) {
  const char *s = c_string(v);
  for (int i = 0; s && f->choices[i]; i++) {
    if (strcmp(s, f->choices[i]) == 0) {
      *(int *)f->out = i;
      return PARLEY_E_OK;
    }
  }
  char list[160];
  size_t len = 0;
  list[0] = 0;
  for (int i = 0; f->choices[i]; i++) {
    int w = snprintf(list + len, sizeof list - len, "%s%s", i ? ", " : "", f->choices[i]);
    if (w < 0 || (size_t)w >= sizeof list - len) {
      list[len] = 0;
      break;
    }
    len += (size_t)w;
  }
  return parley_fail(err, PARLEY_E_JSON_FIELD_INVALID, "field '%s' must be one of: %s", f->name,
                     list);
}

static parley_err one_field(const json_t *obj, const parley_json_field *f, size_t idx,
                            parley_error *err) {
  if (!f->name || !f->out || (f->kind == PARLEY_JF_ENUM && !f->choices) ||
      (f->kind == PARLEY_JF_B64URL && f->max_len == 0) || (unsigned)f->kind > PARLEY_JF_ENUM)
    return parley_fail(err, PARLEY_E_INVALID_ARGUMENT, "field table entry %zu is malformed", idx);
  json_t *v = json_object_get(obj, f->name);
  if (!v) {
    if (f->optional) return PARLEY_E_OK;
    return parley_fail(err, PARLEY_E_JSON_FIELD_MISSING, "field '%s' is missing", f->name);
  }

  bool type_ok;
  switch (f->kind) {
  case PARLEY_JF_INT:
    type_ok = json_is_integer(v);
    break;
  case PARLEY_JF_BOOL:
    type_ok = json_is_boolean(v);
    break;
  case PARLEY_JF_OBJECT:
    type_ok = json_is_object(v);
    break;
  case PARLEY_JF_ARRAY:
    type_ok = json_is_array(v);
    break;
  default:
    type_ok = json_is_string(v);
    break;
  }
  if (!type_ok)
    return parley_fail(err, PARLEY_E_JSON_FIELD_TYPE, "field '%s' must be %s", f->name,
                       kind_noun(f->kind));

  switch (f->kind) {
  case PARLEY_JF_STRING: {
    size_t n = json_string_length(v);
    if (f->max_len && n > f->max_len)
      return parley_fail(err, PARLEY_E_JSON_FIELD_INVALID,
                         "field '%s' is too long (%zu bytes, at most %zu)", f->name, n, f->max_len);
    bool single = (f->flags & PARLEY_JF_FLAG_SINGLE_LINE) != 0;
    if (!text_ok(json_string_value(v), n, single))
      return parley_fail(err, PARLEY_E_JSON_FIELD_INVALID, "field '%s' holds control characters%s",
                         f->name, single ? "" : " (only \\n and \\t are allowed)");
    *(const char **)f->out = json_string_value(v);
    return PARLEY_E_OK;
  }
  case PARLEY_JF_INT:
    *(int64_t *)f->out = (int64_t)json_integer_value(v);
    return PARLEY_E_OK;
  case PARLEY_JF_BOOL:
    *(bool *)f->out = json_is_true(v);
    return PARLEY_E_OK;
  case PARLEY_JF_OBJECT:
  case PARLEY_JF_ARRAY:
    *(json_t **)f->out = v;
    return PARLEY_E_OK;
  case PARLEY_JF_TIME: {
    int64_t t;
    const char *s = c_string(v);
    if (!s || parley_time_parse(s, &t) != PARLEY_E_OK)
      return parley_fail(err, PARLEY_E_JSON_FIELD_INVALID,
                         "field '%s' must be an RFC 3339 UTC time, e.g. 2026-01-31T12:00:00Z",
                         f->name);
    *(int64_t *)f->out = t;
    return PARLEY_E_OK;
  }
  case PARLEY_JF_UUID: {
    const char *s = c_string(v);
    if (!s || !parley_uuid_valid(s))
      return parley_fail(err, PARLEY_E_JSON_FIELD_INVALID,
                         "field '%s' must be a UUID in canonical lower-case form", f->name);
    *(const char **)f->out = s;
    return PARLEY_E_OK;
  }
  case PARLEY_JF_B64URL: {
    const char *s = c_string(v);
    if (!s || parley_b64url_decode_exact(s, f->out, f->max_len) != PARLEY_E_OK) {
      sodium_memzero(f->out, f->max_len); /* no half-decoded key material left behind */
      return parley_fail(err, PARLEY_E_JSON_FIELD_INVALID,
                         "field '%s' must be base64url (no padding) of exactly %zu bytes", f->name,
                         f->max_len);
    }
    return PARLEY_E_OK;
  }
  case PARLEY_JF_ENUM:
    return enum_field(f, v, err);
  }
  return parley_fail(err, PARLEY_E_INVALID_ARGUMENT, "field table entry %zu is malformed", idx);
}

parley_err parley_json_fields(const json_t *obj, const parley_json_field *fields, size_t n,
                              parley_error *err) {
  if (!json_is_object(obj))
    return parley_fail(err, PARLEY_E_JSON_NOT_OBJECT, "expected a JSON object");
  if (n && !fields) return parley_fail(err, PARLEY_E_INVALID_ARGUMENT, "no field table");
  for (size_t i = 0; i < n; i++) {
    parley_err e = one_field(obj, &fields[i], i, err);
    if (e) return e;
  }
  return PARLEY_E_OK;
}
