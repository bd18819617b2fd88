/* libparley json: bounded parsing on top of jansson, the signable-JSON check, the
 * RFC 8785 (JCS) canonical form that signatures cover, and declarative field
 * extraction for request bodies.
 *
 * Every function that returns parley_err fills the optional parley_error with a
 * detail naming what failed (line/column, a JSON-pointer path, or a field name). */
#ifndef PARLEY_JSON_H
#define PARLEY_JSON_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "parley/base.h"

/* ---- bounded parsing --------------------------------------------------- */

typedef struct {
  size_t max_bytes;  /* whole input; over it: TOO_LARGE */
  size_t max_depth;  /* nested arrays/objects; "[]" has depth 1; over it: JSON_DEPTH */
  size_t max_string; /* bytes of UTF-8 in any string or key; over it: JSON_STRING_TOO_LONG */
  size_t max_items;  /* values in the whole tree, the root included; over it: TOO_LARGE */
} parley_json_limits;

#define PARLEY_JSON_LIMITS_DEFAULT                                                                 \
  ((parley_json_limits){                                                                           \
      .max_bytes = 1024 * 1024, .max_depth = 32, .max_string = 64 * 1024, .max_items = 100000})

/* Largest integer magnitude allowed in signed JSON: 2^53 - 1. */
#define PARLEY_JSON_MAX_SAFE_INT INT64_C(9007199254740991)

/* Parses buf[0..len) (no NUL needed) into a new reference stored in *out (NULL on
 * failure). limits NULL means PARLEY_JSON_LIMITS_DEFAULT. The depth is checked by a
 * scan over the raw bytes before jansson sees them, so deep input never recurses.
 * Duplicate keys, invalid UTF-8, \u0000 and trailing data are refused.
 * Errors: TOO_LARGE, JSON_DEPTH, JSON_DUPLICATE_KEY, JSON_STRING_TOO_LONG,
 * JSON_INTEGER_RANGE (integer beyond int64), JSON_MALFORMED (with line and column),
 * NO_MEMORY. Any top-level value is accepted. */
parley_err parley_json_parse(const char *buf, size_t len, const parley_json_limits *limits,
                             json_t **out, parley_error *err);

/* As parley_json_parse, but the top-level value must be an object (JSON_NOT_OBJECT). */
parley_err parley_json_parse_object(const char *buf, size_t len, const parley_json_limits *limits,
                                    json_t **out, parley_error *err);

/* Signed JSON holds only objects, arrays, strings, booleans, null and integers within
 * +-(2^53-1). Errors: JSON_REAL_NOT_ALLOWED, JSON_INTEGER_RANGE, JSON_DEPTH (over 2048
 * levels or a cycle); the detail gives the path of the offending value, e.g. "/a/0/b". */
parley_err parley_json_check_signable(const json_t *v, parley_error *err);

/* ---- RFC 8785 canonical form ------------------------------------------- */

/* Appends JCS(v) to out: members sorted by the UTF-16 code units of their keys, no
 * whitespace, strings escaped as ECMAScript JSON.stringify does, integers in plain
 * decimal. Refuses (never mis-serializes) what JCS cannot express exactly here:
 * reals (JSON_REAL_NOT_ALLOWED), integers beyond +-(2^53-1) (JSON_INTEGER_RANGE),
 * strings or keys that are not valid UTF-8 (JSON_MALFORMED), nesting over 2048
 * (JSON_DEPTH). Also TOO_LARGE if out's maximum is reached. On failure out->len is
 * restored to its value at the call. */
parley_err parley_jcs(const json_t *v, parley_buf *out, parley_error *err);

/* Appends a compact serialization of v: JCS when v is signable; otherwise (reals,
 * large integers) jansson's compact output with sorted keys. For logs and responses,
 * never for signatures. On failure out->len is restored. */
parley_err parley_json_dumps_compact(const json_t *v, parley_buf *out);

/* ---- field extraction --------------------------------------------------- */

typedef enum {
  PARLEY_JF_STRING, /* out: const char ** (borrowed from the object) */
  PARLEY_JF_INT,    /* out: int64_t * (any jansson integer) */
  PARLEY_JF_BOOL,   /* out: bool * */
  PARLEY_JF_OBJECT, /* out: json_t ** (borrowed) */
  PARLEY_JF_ARRAY,  /* out: json_t ** (borrowed) */
  PARLEY_JF_TIME,   /* RFC 3339 UTC string (parley_time_parse); out: int64_t * seconds */
  PARLEY_JF_UUID,   /* canonical lower-case UUID string; out: const char ** (borrowed) */
  PARLEY_JF_B64URL, /* base64url without padding; out: uint8_t[max_len], exact length */
  PARLEY_JF_ENUM    /* one of `choices` (NULL-terminated); out: int * index */
} parley_json_kind;

/* Field flags. By default a STRING may contain \n and \t but no other control
 * character (C0, DEL, C1); SINGLE_LINE refuses \n and \t too. */
#define PARLEY_JF_FLAG_SINGLE_LINE 0x1u

typedef struct {
  const char *name;
  parley_json_kind kind;
  bool optional;  /* absent: out is left untouched; JSON null is never "absent" */
  size_t max_len; /* STRING: byte limit (0: none beyond the parse limits);
                     B64URL: exact decoded length (required, > 0); others: unused */
  void *out;
  const char *const *choices; /* ENUM only */
  unsigned flags;             /* PARLEY_JF_FLAG_* */
} parley_json_field;

/* Extracts every field of `fields` from obj. Unknown members of obj are ignored.
 * Errors: JSON_NOT_OBJECT (obj is not an object), JSON_FIELD_MISSING (required field
 * absent), JSON_FIELD_TYPE (wrong JSON type, including null), JSON_FIELD_INVALID
 * (too long, control characters, bad time/UUID/base64url/enum value, wrong decoded
 * length), INVALID_ARGUMENT (a malformed table). The detail names the field, e.g.
 * "field 'state' is missing". On failure the outputs of earlier fields may already
 * have been written; treat all of them as unset. */
parley_err parley_json_fields(const json_t *obj, const parley_json_field *fields, size_t n,
                              parley_error *err);

/* Table helpers. Each checks the type of `out` at compile time, e.g.
 *   const char *state; int64_t version; uint8_t key[32]; int prio;
 *   static const char *const prios[] = {"routine", "urgent", "critical", NULL};
 *   parley_json_field f[] = {
 *     PARLEY_FIELD_STRING("state", 3, &state),
 *     PARLEY_FIELD_INT("version", &version),
 *     PARLEY_FIELD_B64URL("key", key, sizeof key),
 *     PARLEY_FIELD_ENUM_OPT("priority", prios, &prio),
 *   };
 *   parley_json_fields(obj, f, PARLEY_JF_COUNT(f), &err); */
#define PARLEY_JF_COUNT(a) (sizeof(a) / sizeof((a)[0]))
/* (1 ? out : (T)0) makes the compiler reject an out pointer of another type. */
#define PARLEY_JF_OUT_(T, o) ((void *)(1 ? (o) : (T)0))
#define PARLEY_JF_(n, k, opt, ml, o, ch, fl)                                                       \
  {                                                                                                \
    .name = (n), .kind = (k), .optional = (opt), .max_len = (ml), .out = (o), .choices = (ch),     \
    .flags = (fl)                                                                                  \
  }

#define PARLEY_FIELD_STRING(n, max, o)                                                             \
  PARLEY_JF_(n, PARLEY_JF_STRING, false, max, PARLEY_JF_OUT_(const char **, o), NULL, 0)
#define PARLEY_FIELD_STRING_OPT(n, max, o)                                                         \
  PARLEY_JF_(n, PARLEY_JF_STRING, true, max, PARLEY_JF_OUT_(const char **, o), NULL, 0)
#define PARLEY_FIELD_LINE(n, max, o)                                                               \
  PARLEY_JF_(n, PARLEY_JF_STRING, false, max, PARLEY_JF_OUT_(const char **, o), NULL,              \
             PARLEY_JF_FLAG_SINGLE_LINE)
#define PARLEY_FIELD_LINE_OPT(n, max, o)                                                           \
  PARLEY_JF_(n, PARLEY_JF_STRING, true, max, PARLEY_JF_OUT_(const char **, o), NULL,               \
             PARLEY_JF_FLAG_SINGLE_LINE)
#define PARLEY_FIELD_INT(n, o)                                                                     \
  PARLEY_JF_(n, PARLEY_JF_INT, false, 0, PARLEY_JF_OUT_(int64_t *, o), NULL, 0)
#define PARLEY_FIELD_INT_OPT(n, o)                                                                 \
  PARLEY_JF_(n, PARLEY_JF_INT, true, 0, PARLEY_JF_OUT_(int64_t *, o), NULL, 0)
#define PARLEY_FIELD_BOOL(n, o)                                                                    \
  PARLEY_JF_(n, PARLEY_JF_BOOL, false, 0, PARLEY_JF_OUT_(bool *, o), NULL, 0)
#define PARLEY_FIELD_BOOL_OPT(n, o)                                                                \
  PARLEY_JF_(n, PARLEY_JF_BOOL, true, 0, PARLEY_JF_OUT_(bool *, o), NULL, 0)
#define PARLEY_FIELD_OBJECT(n, o)                                                                  \
  PARLEY_JF_(n, PARLEY_JF_OBJECT, false, 0, PARLEY_JF_OUT_(json_t **, o), NULL, 0)
#define PARLEY_FIELD_OBJECT_OPT(n, o)                                                              \
  PARLEY_JF_(n, PARLEY_JF_OBJECT, true, 0, PARLEY_JF_OUT_(json_t **, o), NULL, 0)
#define PARLEY_FIELD_ARRAY(n, o)                                                                   \
  PARLEY_JF_(n, PARLEY_JF_ARRAY, false, 0, PARLEY_JF_OUT_(json_t **, o), NULL, 0)
#define PARLEY_FIELD_ARRAY_OPT(n, o)                                                               \
  PARLEY_JF_(n, PARLEY_JF_ARRAY, true, 0, PARLEY_JF_OUT_(json_t **, o), NULL, 0)
#define PARLEY_FIELD_TIME(n, o)                                                                    \
  PARLEY_JF_(n, PARLEY_JF_TIME, false, 0, PARLEY_JF_OUT_(int64_t *, o), NULL, 0)
#define PARLEY_FIELD_TIME_OPT(n, o)                                                                \
  PARLEY_JF_(n, PARLEY_JF_TIME, true, 0, PARLEY_JF_OUT_(int64_t *, o), NULL, 0)
#define PARLEY_FIELD_UUID(n, o)                                                                    \
  PARLEY_JF_(n, PARLEY_JF_UUID, false, 0, PARLEY_JF_OUT_(const char **, o), NULL, 0)
#define PARLEY_FIELD_UUID_OPT(n, o)                                                                \
  PARLEY_JF_(n, PARLEY_JF_UUID, true, 0, PARLEY_JF_OUT_(const char **, o), NULL, 0)
#define PARLEY_FIELD_B64URL(n, o, len)                                                             \
  PARLEY_JF_(n, PARLEY_JF_B64URL, false, len, PARLEY_JF_OUT_(uint8_t *, o), NULL, 0)
#define PARLEY_FIELD_B64URL_OPT(n, o, len)                                                         \
  PARLEY_JF_(n, PARLEY_JF_B64URL, true, len, PARLEY_JF_OUT_(uint8_t *, o), NULL, 0)
#define PARLEY_FIELD_ENUM(n, ch, o)                                                                \
  PARLEY_JF_(n, PARLEY_JF_ENUM, false, 0, PARLEY_JF_OUT_(int *, o), ch, 0)
#define PARLEY_FIELD_ENUM_OPT(n, ch, o)                                                            \
  PARLEY_JF_(n, PARLEY_JF_ENUM, true, 0, PARLEY_JF_OUT_(int *, o), ch, 0)

#endif
