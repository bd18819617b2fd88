/* Message templates (templates/<kind>.json compiled into the library): parsing of the
 * definitions, validation of message content against them, labels and rendering. */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parley/envelope.h"
#include "parley/json.h"
#include "parley/template.h"

#define MAX_TEMPLATES 32
#define MAX_FIELDS 64
#define MAX_CHOICES 64
#define MAX_BASES 16
#define MAX_NAME 64
#define MAX_KIND 32                /* = PARLEY_KIND_MAX, what an envelope's "kind" may hold */
#define MAX_TEXT_BYTES (64 * 1024) /* the body parser's string limit */

const char *const parley_languages[] = {"ar", "zh", "en", "fr", "ru", "es", NULL};

int parley_lang_index(const char *lang) {
  for (int i = 0; lang && parley_languages[i]; i++)
    if (strcmp(lang, parley_languages[i]) == 0) return i;
  return -1;
}

static int lang_or_en(const char *lang) {
  int i = parley_lang_index(lang);
  return i < 0 ? PARLEY_LANG_EN : i;
}

/* ---- the loaded definitions ------------------------------------------------ */

static pthread_once_t g_once = PTHREAD_ONCE_INIT;
static struct {
  parley_err status;
  char detail[256];
  size_t n;
  json_t *roots[MAX_TEMPLATES]; /* the parsed files: every string points into them */
  parley_template t[MAX_TEMPLATES];
  const char *kinds[MAX_TEMPLATES + 1];
} g;

static const char *const type_names[] = {"line", "text",      "enum",    "enum-list", "date",
                                         "bool", "reference", "integer", NULL};

/* Refuses members not in `allowed` (NULL-terminated). */
static bool only_known(const json_t *obj, const char *const *allowed, const char **bad) {
  const char *key;
  json_t *v;
  json_object_foreach((json_t *)obj, key, v) {
    const char *const *a = allowed;
    while (*a && strcmp(*a, key) != 0)
      a++;
    if (!*a) {
      *bad = key;
      return false;
    }
  }
  return true;
}

/* [a-z0-9] plus `extra`, 1..MAX_NAME bytes. */
static bool name_ok(const char *s, char extra) {
  size_t n = s ? strlen(s) : 0;
  if (n == 0 || n > MAX_NAME) return false;
  for (size_t i = 0; i < n; i++)
    if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == extra))
      return false;
  return true;
}

/* {"ar": ..., ..., "es": ...}: exactly the six languages, each a non-empty line. */
static bool labels_ok(const json_t *o, const char *out[PARLEY_LANG_COUNT]) {
  if (!json_is_object(o) || json_object_size(o) != PARLEY_LANG_COUNT) return false;
  for (int i = 0; i < PARLEY_LANG_COUNT; i++) {
    const json_t *v = json_object_get(o, parley_languages[i]);
    const char *s = json_string_value(v);
    if (!s || !*s || json_string_length(v) > 512 || strchr(s, '\n')) return false;
    out[i] = s;
  }
  return true;
}

static bool safe_int(const json_t *v, int64_t *out) {
  if (!json_is_integer(v)) return false;
  json_int_t x = json_integer_value(v);
  if (x > PARLEY_JSON_MAX_SAFE_INT || x < -PARLEY_JSON_MAX_SAFE_INT) return false;
  *out = (int64_t)x;
  return true;
}

static const parley_template_field *find_field(const parley_template *t, const char *name) {
  for (size_t i = 0; i < t->n_fields; i++)
    if (strcmp(t->fields[i].name, name) == 0) return &t->fields[i];
  return NULL;
}

static bool has_choice(const parley_template_field *f, const char *v) {
  for (size_t i = 0; i < f->n_choices; i++)
    if (strcmp(f->choices[i].value, v) == 0) return true;
  return false;
}

#define LOAD_FAIL(...)                                                                             \
  do {                                                                                             \
    parley_fail(err, PARLEY_E_INTERNAL, __VA_ARGS__);                                              \
    return false;                                                                                  \
  } while (0)

static bool load_field(const char *file, size_t idx, const json_t *o, parley_template_field *f,
                       parley_error *err) {
  static const char *const allowed[] = {
      "name",        "type",  "required",      "max",    "min",    "choices", "labels",
      "required_if", "const", "required_with", "source", "header", NULL};
  const char *bad = NULL;
  if (!json_is_object(o)) LOAD_FAIL("templates/%s.json: fields[%zu] is not an object", file, idx);
  if (!only_known(o, allowed, &bad))
    LOAD_FAIL("templates/%s.json: fields[%zu]: unknown member '%.64s'", file, idx, bad);
  f->name = json_string_value(json_object_get(o, "name"));
  if (!name_ok(f->name, '_'))
    LOAD_FAIL("templates/%s.json: fields[%zu].name: [a-z0-9_]{1,64}", file, idx);
  const char *type = json_string_value(json_object_get(o, "type"));
  int ti = -1;
  for (int i = 0; type && type_names[i]; i++)
    if (strcmp(type, type_names[i]) == 0) ti = i;
  if (ti < 0) LOAD_FAIL("templates/%s.json: %s.type: unknown", file, f->name);
  f->type = (parley_field_type)ti;
  const json_t *req = json_object_get(o, "required");
  if (!json_is_boolean(req)) LOAD_FAIL("templates/%s.json: %s.required: a boolean", file, f->name);
  f->required = json_is_true(req);
  if (!labels_ok(json_object_get(o, "labels"), f->labels))
    LOAD_FAIL("templates/%s.json: %s.labels: one non-empty line for each of ar zh en fr ru es",
              file, f->name);

  const json_t *max = json_object_get(o, "max"), *min = json_object_get(o, "min");
  const json_t *choices = json_object_get(o, "choices"), *cst = json_object_get(o, "const");
  bool text = f->type == PARLEY_FT_LINE || f->type == PARLEY_FT_TEXT;
  bool en = f->type == PARLEY_FT_ENUM || f->type == PARLEY_FT_ENUM_LIST;
  bool integer = f->type == PARLEY_FT_INTEGER;
  if ((max && !text && !integer) || (min && !integer) || (choices && !en) ||
      (cst && f->type != PARLEY_FT_BOOL))
    LOAD_FAIL("templates/%s.json: %s: a member that does not apply to type %s", file, f->name,
              type);
  if (text) {
    int64_t m;
    if (!safe_int(max, &m) || m < 1 || m > MAX_TEXT_BYTES)
      LOAD_FAIL("templates/%s.json: %s.max: bytes, 1..%d", file, f->name, MAX_TEXT_BYTES);
    f->max_bytes = (size_t)m;
  }
  if (integer) {
    f->min = -PARLEY_JSON_MAX_SAFE_INT;
    f->max = PARLEY_JSON_MAX_SAFE_INT;
    if ((min && !safe_int(min, &f->min)) || (max && !safe_int(max, &f->max)) || f->min > f->max)
      LOAD_FAIL("templates/%s.json: %s: min and max must be integers, min <= max", file, f->name);
  }
  if (cst) {
    if (!json_is_true(cst))
      LOAD_FAIL("templates/%s.json: %s.const: only true is supported", file, f->name);
    f->must_be_true = true;
  }
  if (en) {
    size_t n = json_array_size(choices);
    if (n == 0 || n > MAX_CHOICES)
      LOAD_FAIL("templates/%s.json: %s.choices: 1..%d choices", file, f->name, MAX_CHOICES);
    parley_template_choice *cs = calloc(n, sizeof *cs);
    if (!cs) LOAD_FAIL("templates/%s.json: out of memory", file);
    f->choices = cs; /* owned from here: freed with the template */
    f->n_choices = n;
    for (size_t i = 0; i < n; i++) {
      static const char *const callowed[] = {"value", "labels", NULL};
      const json_t *c = json_array_get(choices, i);
      if (!json_is_object(c) || !only_known(c, callowed, &bad))
        LOAD_FAIL("templates/%s.json: %s.choices[%zu]: {\"value\", \"labels\"}", file, f->name, i);
      cs[i].value = json_string_value(json_object_get(c, "value"));
      if (!name_ok(cs[i].value, '-'))
        LOAD_FAIL("templates/%s.json: %s.choices[%zu].value: [a-z0-9-]{1,64}", file, f->name, i);
      for (size_t j = 0; j < i; j++)
        if (strcmp(cs[j].value, cs[i].value) == 0)
          LOAD_FAIL("templates/%s.json: %s.choices[%zu]: '%s' twice", file, f->name, i,
                    cs[i].value);
      if (!labels_ok(json_object_get(c, "labels"), cs[i].labels))
        LOAD_FAIL("templates/%s.json: %s.choices[%zu].labels: all six languages", file, f->name, i);
    }
  }
  const json_t *src = json_object_get(o, "source");
  if (src && !json_is_string(src))
    LOAD_FAIL("templates/%s.json: %s.source: a string", file, f->name);
  f->source = json_string_value(src);
  const json_t *hdr = json_object_get(o, "header");
  if (hdr) {
    /* the header members the protocol defines (§8.1), with their types */
    bool status = !strcmp(f->name, "status") && f->type == PARLEY_FT_ENUM;
    bool respond_by = !strcmp(f->name, "respond_by") && f->type == PARLEY_FT_DATE;
    if (!json_is_true(hdr) || !(status || respond_by))
      LOAD_FAIL("templates/%s.json: %s.header: true, only on status (enum) or respond_by (date)",
                file, f->name);
    f->header = true;
  }
  const json_t *rw = json_object_get(o, "required_with");
  if (rw) {
    f->required_with = json_string_value(rw);
    if (!f->required_with || f->required)
      LOAD_FAIL("templates/%s.json: %s.required_with: a field name, on an optional field", file,
                f->name);
  }
  const json_t *ri = json_object_get(o, "required_if");
  if (ri) {
    static const char *const rallowed[] = {"field", "equals", NULL};
    f->required_if_field = json_string_value(json_object_get(ri, "field"));
    f->required_if_value = json_string_value(json_object_get(ri, "equals"));
    if (!json_is_object(ri) || !only_known(ri, rallowed, &bad) || !f->required_if_field ||
        !f->required_if_value || f->required)
      LOAD_FAIL("templates/%s.json: %s.required_if: {\"field\", \"equals\"} on an optional field",
                file, f->name);
  }
  return true;
}

const char *parley_legal_basis_problem(const char *instrument, const char *article) {
  size_t n = instrument ? strlen(instrument) : 0;
  if (n == 0 || n > PARLEY_INSTRUMENT_MAX) return "instrument: [a-z0-9-]{1,64}";
  for (size_t i = 0; i < n; i++)
    if (!((instrument[i] >= 'a' && instrument[i] <= 'z') ||
          (instrument[i] >= '0' && instrument[i] <= '9') || instrument[i] == '-'))
      return "instrument: [a-z0-9-]{1,64}";
  n = article ? strlen(article) : 0;
  if (n == 0 || n > PARLEY_ARTICLE_MAX) return "article: 1 to 32 characters of [A-Za-z0-9()./-]";
  for (size_t i = 0; i < n; i++)
    if (!((article[i] >= 'a' && article[i] <= 'z') || (article[i] >= 'A' && article[i] <= 'Z') ||
          (article[i] >= '0' && article[i] <= '9') || strchr("()./-", article[i])))
      return "article: 1 to 32 characters of [A-Za-z0-9()./-]";
  return NULL;
}

static bool load_one(const struct parley_template_file *tf, json_t **root_out, parley_template *t,
                     parley_error *err) {
  static const char *const allowed[] = {"kind", "title", "source", "bases", "fields", NULL};
  const char *file = tf->name, *bad = NULL;
  json_t *root = NULL;
  parley_error perr;
  if (parley_json_parse_object(tf->json, tf->len, NULL, &root, &perr) != PARLEY_E_OK)
    LOAD_FAIL("templates/%s.json: %s", file, perr.detail);
  *root_out = root; /* freed by the caller on failure */
  if (!only_known(root, allowed, &bad))
    LOAD_FAIL("templates/%s.json: unknown member '%.64s'", file, bad);
  t->kind = json_string_value(json_object_get(root, "kind"));
  if (!t->kind || !name_ok(t->kind, '-') || strlen(t->kind) > MAX_KIND ||
      strcmp(t->kind, file) != 0)
    LOAD_FAIL("templates/%s.json: kind must equal the file name ([a-z0-9-]{1,%d})", file, MAX_KIND);
  if (!labels_ok(json_object_get(root, "title"), t->title))
    LOAD_FAIL("templates/%s.json: title: all six languages", file);
  const json_t *src = json_object_get(root, "source");
  if (src && !json_is_string(src)) LOAD_FAIL("templates/%s.json: source: a string", file);
  t->source = json_string_value(src);
  const json_t *bases = json_object_get(root, "bases");
  if (bases) {
    size_t nb = json_array_size(bases);
    if (nb == 0 || nb > MAX_BASES)
      LOAD_FAIL("templates/%s.json: bases: 1..%d {\"instrument\", \"article\"}", file, MAX_BASES);
    parley_template_basis *bs = calloc(nb, sizeof *bs);
    if (!bs) LOAD_FAIL("templates/%s.json: out of memory", file);
    t->bases = bs; /* owned from here: freed with the template */
    t->n_bases = nb;
    for (size_t i = 0; i < nb; i++) {
      static const char *const ballowed[] = {"instrument", "article", NULL};
      const json_t *b = json_array_get(bases, i);
      if (!json_is_object(b) || !only_known(b, ballowed, &bad))
        LOAD_FAIL("templates/%s.json: bases[%zu]: {\"instrument\", \"article\"}", file, i);
      bs[i].instrument = json_string_value(json_object_get(b, "instrument"));
      bs[i].article = json_string_value(json_object_get(b, "article"));
      if (!bs[i].instrument || !bs[i].article ||
          (strcmp(bs[i].article, "*") != 0 &&
           parley_legal_basis_problem(bs[i].instrument, bs[i].article)) ||
          parley_legal_basis_problem(bs[i].instrument, "1"))
        LOAD_FAIL("templates/%s.json: bases[%zu]: a well-formed instrument and article", file, i);
    }
  }
  const json_t *fields = json_object_get(root, "fields");
  size_t n = json_array_size(fields);
  if (n == 0 || n > MAX_FIELDS)
    LOAD_FAIL("templates/%s.json: fields: 1..%d fields", file, MAX_FIELDS);
  parley_template_field *fs = calloc(n, sizeof *fs);
  if (!fs) LOAD_FAIL("templates/%s.json: out of memory", file);
  t->fields = fs;
  t->n_fields = n; /* fields not loaded yet are zeroed, so freeing is uniform */
  for (size_t i = 0; i < n; i++) {
    if (!load_field(file, i, json_array_get(fields, i), &fs[i], err)) return false;
    for (size_t j = 0; j < i; j++)
      if (strcmp(fs[j].name, fs[i].name) == 0)
        LOAD_FAIL("templates/%s.json: field '%s' twice", file, fs[i].name);
  }
  for (size_t i = 0; i < n; i++) {
    const parley_template_field *w =
        fs[i].required_with ? find_field(t, fs[i].required_with) : NULL;
    if (fs[i].required_with && (!w || w == &fs[i]))
      LOAD_FAIL("templates/%s.json: %s.required_with: must name another field", file, fs[i].name);
  }
  /* A condition must name an enum field of this template and one of its choices. */
  for (size_t i = 0; i < n; i++) {
    if (!fs[i].required_if_field) continue;
    const parley_template_field *c = find_field(t, fs[i].required_if_field);
    if (!c || c->type != PARLEY_FT_ENUM || c == &fs[i] || !has_choice(c, fs[i].required_if_value))
      LOAD_FAIL("templates/%s.json: %s.required_if: must name an enum field and one of its "
                "choices",
                file, fs[i].name);
  }
  return true;
}

static void free_template(parley_template *t) {
  for (size_t i = 0; t->fields && i < t->n_fields; i++)
    free((void *)t->fields[i].choices);
  free((void *)t->fields);
  free((void *)t->bases);
  memset(t, 0, sizeof *t);
}

static void load_all(void) {
  parley_error err;
  parley_error_clear(&err);
  size_t n = 0;
  bool ok = true;
  for (const struct parley_template_file *tf = parley_template_files; ok && tf->name; tf++) {
    if (n == MAX_TEMPLATES) {
      parley_fail(&err, PARLEY_E_INTERNAL, "more than %d templates", MAX_TEMPLATES);
      ok = false;
      break;
    }
    ok = load_one(tf, &g.roots[n], &g.t[n], &err);
    n++; /* also a failed one, so that it is freed below */
  }
  if (ok && n == 0) {
    parley_fail(&err, PARLEY_E_INTERNAL, "no message templates were compiled in");
    ok = false;
  }
  if (!ok) {
    for (size_t i = 0; i < n; i++) {
      free_template(&g.t[i]);
      json_decref(g.roots[i]);
      g.roots[i] = NULL;
    }
    g.n = 0;
    g.kinds[0] = NULL;
    g.status = err.code;
    parley_strlcpy(g.detail, err.detail, sizeof g.detail);
    parley_log(PARLEY_LOG_ERROR, "template.load", "detail=\"%s\"", g.detail);
    return;
  }
  for (size_t i = 0; i < n; i++)
    g.kinds[i] = g.t[i].kind;
  g.kinds[n] = NULL;
  g.n = n;
  g.status = PARLEY_E_OK;
}

static void ensure_loaded(void) {
  pthread_once(&g_once, load_all);
}

parley_err parley_template_check(parley_error *err) {
  ensure_loaded();
  if (g.status) return parley_fail(err, g.status, "%s", g.detail);
  return PARLEY_E_OK;
}

const parley_template *parley_template_get(const char *kind) {
  ensure_loaded();
  for (size_t i = 0; kind && i < g.n; i++)
    if (strcmp(g.t[i].kind, kind) == 0) return &g.t[i];
  return NULL;
}

const char *const *parley_template_kinds(size_t *n) {
  ensure_loaded();
  if (n) *n = g.n;
  return g.kinds;
}

bool parley_template_basis_allowed(const char *kind, const char *instrument, const char *article) {
  const parley_template *t = parley_template_get(kind);
  for (size_t i = 0; t && instrument && article && i < t->n_bases; i++)
    if (!strcmp(t->bases[i].instrument, instrument) &&
        (!strcmp(t->bases[i].article, "*") || !strcmp(t->bases[i].article, article)))
      return true;
  return false;
}

const char *parley_template_label(const char *kind, const char *field, const char *lang) {
  const parley_template *t = parley_template_get(kind);
  const parley_template_field *f = t && field ? find_field(t, field) : NULL;
  return f ? f->labels[lang_or_en(lang)] : NULL;
}

/* ---- validation ------------------------------------------------------------ */

static parley_err field_fail(parley_error *err, const char *name, const char *fmt, ...)
    PARLEY_PRINTF(3, 4);
static parley_err field_fail(parley_error *err, const char *name, const char *fmt, ...) {
  char what[200];
  va_list ap;
  va_start(ap, fmt);
  int w = vsnprintf(what, sizeof what, fmt, ap);
  va_end(ap);
  if (w < 0) what[0] = 0;
  return parley_fail(err, PARLEY_E_TEMPLATE_FIELD, "content.%.64s: %s", name, what);
}

/* A string without NUL bytes, or NULL. */
static const char *c_string(const json_t *v) {
  const char *s = json_string_value(v);
  return s && strlen(s) == json_string_length(v) ? s : NULL;
}

static bool date_ok(const char *s) {
  int64_t t;
  if (strlen(s) == 10) { /* YYYY-MM-DD: the calendar check of the time parser */
    char full[32];
    int w = snprintf(full, sizeof full, "%sT00:00:00Z", s);
    return w > 0 && (size_t)w < sizeof full && parley_time_parse(full, &t) == PARLEY_E_OK;
  }
  return parley_time_parse(s, &t) == PARLEY_E_OK;
}

static parley_err check_value(const parley_template_field *f, const json_t *content,
                              const json_t *v, parley_error *err) {
  switch (f->type) {
  case PARLEY_FT_LINE:
  case PARLEY_FT_TEXT: {
    if (!json_is_string(v)) return field_fail(err, f->name, "must be a string");
    size_t n = json_string_length(v);
    if (n == 0)
      return field_fail(err, f->name, "must not be empty (omit an optional field instead)");
    if (n > f->max_bytes)
      return field_fail(err, f->name, "too long (%zu bytes, at most %zu)", n, f->max_bytes);
    /* the shared string rules: valid UTF-8, no control characters */
    const char *out;
    parley_json_field jf = PARLEY_FIELD_STRING(f->name, 0, &out);
    if (f->type == PARLEY_FT_LINE) jf.flags = PARLEY_JF_FLAG_SINGLE_LINE;
    if (parley_json_fields(content, &jf, 1, NULL) != PARLEY_E_OK)
      return field_fail(err, f->name, "control characters are not allowed%s",
                        f->type == PARLEY_FT_LINE ? " (one line)" : " (except \\n and \\t)");
    return PARLEY_E_OK;
  }
  case PARLEY_FT_ENUM: {
    const char *s = c_string(v);
    if (!s || !has_choice(f, s))
      return field_fail(err, f->name, "must be one of the template's choices");
    return PARLEY_E_OK;
  }
  case PARLEY_FT_ENUM_LIST: {
    if (!json_is_array(v) || json_array_size(v) == 0)
      return field_fail(err, f->name, "must be a non-empty array of choices");
    if (json_array_size(v) > f->n_choices)
      return field_fail(err, f->name, "more values than choices");
    size_t i;
    json_t *x;
    json_array_foreach(v, i, x) {
      const char *s = c_string(x);
      if (!s || !has_choice(f, s))
        return field_fail(err, f->name, "[%zu] is not one of the template's choices", i);
      for (size_t j = 0; j < i; j++)
        if (strcmp(s, json_string_value(json_array_get(v, j))) == 0)
          return field_fail(err, f->name, "[%zu] repeats '%s'", i, s);
    }
    return PARLEY_E_OK;
  }
  case PARLEY_FT_DATE: {
    const char *s = c_string(v);
    if (!s || !date_ok(s))
      return field_fail(err, f->name,
                        "must be a date YYYY-MM-DD or an RFC 3339 UTC time "
                        "(2026-01-31T12:00:00Z)");
    return PARLEY_E_OK;
  }
  case PARLEY_FT_BOOL:
    if (!json_is_boolean(v)) return field_fail(err, f->name, "must be true or false");
    if (f->must_be_true && !json_is_true(v)) return field_fail(err, f->name, "must be true");
    return PARLEY_E_OK;
  case PARLEY_FT_REFERENCE: {
    const char *s = c_string(v);
    if (!s || !parley_uuid_valid(s))
      return field_fail(err, f->name, "must be a message id (UUID, lower case)");
    return PARLEY_E_OK;
  }
  case PARLEY_FT_INTEGER: {
    if (!json_is_integer(v)) return field_fail(err, f->name, "must be an integer");
    json_int_t x = json_integer_value(v);
    if (x < f->min || x > f->max) {
      if (f->max == PARLEY_JSON_MAX_SAFE_INT)
        return field_fail(err, f->name, "must be at least %" PRId64, f->min);
      if (f->min == -PARLEY_JSON_MAX_SAFE_INT)
        return field_fail(err, f->name, "must be at most %" PRId64, f->max);
      return field_fail(err, f->name, "must be between %" PRId64 " and %" PRId64, f->min, f->max);
    }
    return PARLEY_E_OK;
  }
  }
  return parley_fail(err, PARLEY_E_INTERNAL, "content.%s: unknown field type", f->name);
}

static bool condition_holds(const parley_template_field *f, const json_t *content) {
  const char *v = c_string(json_object_get(content, f->required_if_field));
  return v && strcmp(v, f->required_if_value) == 0;
}

static parley_err validate(const parley_template *t, const json_t *content, parley_error *err) {
  if (!json_is_object(content))
    return parley_fail(err, PARLEY_E_TEMPLATE_FIELD, "content: must be a JSON object");
  const char *key;
  json_t *v;
  json_object_foreach((json_t *)content, key, v) {
    if (!find_field(t, key))
      return parley_fail(err, PARLEY_E_TEMPLATE_FIELD, "content.%.64s: unknown field for %s", key,
                         t->kind);
  }
  for (size_t i = 0; i < t->n_fields; i++) {
    const parley_template_field *f = &t->fields[i];
    v = json_object_get(content, f->name);
    if (v) {
      parley_err e = check_value(f, content, v, err);
      if (e) return e;
    } else if (f->required) {
      return field_fail(err, f->name, "required");
    } else if (f->required_if_field && condition_holds(f, content)) {
      return field_fail(err, f->name, "required when %s is %s", f->required_if_field,
                        f->required_if_value);
    } else if (f->required_with && json_object_get(content, f->required_with)) {
      return field_fail(err, f->name, "required with %s", f->required_with);
    }
  }
  return PARLEY_E_OK;
}

static parley_err lookup(const char *kind, const parley_template **t, parley_error *err) {
  *t = parley_template_get(kind);
  if (*t) return PARLEY_E_OK;
  if (g.status) return parley_fail(err, g.status, "%s", g.detail);
  return parley_fail(err, PARLEY_E_TEMPLATE_UNKNOWN, "kind: unknown message kind '%.64s'",
                     kind ? kind : "(none)");
}

parley_err parley_template_validate(const char *kind, const json_t *content, parley_error *err) {
  const parley_template *t;
  parley_err e = lookup(kind, &t, err);
  return e ? e : validate(t, content, err);
}

parley_err parley_template_check_field(const char *kind, const char *name, const json_t *container,
                                       parley_error *err) {
  const parley_template *t;
  parley_err e = lookup(kind, &t, err);
  if (e) return e;
  const parley_template_field *f = name ? find_field(t, name) : NULL;
  const json_t *v = f ? json_object_get(container, f->name) : NULL;
  if (!v) return field_fail(err, name ? name : "(none)", "no such field or value");
  return check_value(f, container, v, err);
}

/* ---- rendering ---------------------------------------------------------------- */

static const char *const yes_no[PARLEY_LANG_COUNT][2] = {
    {"نعم", "لا"}, {"是", "否"}, {"Yes", "No"}, {"Oui", "Non"}, {"Да", "Нет"}, {"Sí", "No"}};
/* Colon after a label and separator between listed values, by language (French puts
 * a space before the colon; Chinese uses full-width punctuation, Arabic its comma). */
static const char *const colon[PARLEY_LANG_COUNT] = {": ", "：", ": ", " : ", ": ", ": "};
static const char *const colon_eol[PARLEY_LANG_COUNT] = {":\n",  "：\n", ":\n",
                                                         " :\n", ":\n",  ":\n"};
static const char *const list_sep[PARLEY_LANG_COUNT] = {"، ", "、", ", ", ", ", ", ", ", "};

static const char *choice_label(const parley_template_field *f, const char *v, int li) {
  for (size_t i = 0; i < f->n_choices; i++)
    if (strcmp(f->choices[i].value, v) == 0) return f->choices[i].labels[li];
  return v;
}

static parley_err render_value(const parley_template_field *f, const json_t *v, int li,
                               parley_buf *out) {
  parley_err e = PARLEY_E_OK;
  switch (f->type) {
  case PARLEY_FT_ENUM:
    return parley_buf_puts(out, choice_label(f, json_string_value(v), li));
  case PARLEY_FT_ENUM_LIST: {
    size_t i;
    json_t *x;
    json_array_foreach(v, i, x) {
      if ((i && (e = parley_buf_puts(out, list_sep[li]))) ||
          (e = parley_buf_puts(out, choice_label(f, json_string_value(x), li))))
        return e;
    }
    return e;
  }
  case PARLEY_FT_BOOL:
    return parley_buf_puts(out, yes_no[li][json_is_true(v) ? 0 : 1]);
  case PARLEY_FT_INTEGER:
    return parley_buf_printf(out, "%" PRId64, (int64_t)json_integer_value(v));
  default: /* text, dates and references as written */
    return parley_buf_append(out, json_string_value(v), json_string_length(v));
  }
}

parley_err parley_template_render(const char *kind, const json_t *content, const char *lang,
                                  parley_buf *out, parley_error *err) {
  const parley_template *t;
  parley_err e = lookup(kind, &t, err);
  if (e || (e = validate(t, content, err))) return e;
  int li = lang_or_en(lang);
  size_t start = out->len;
  if ((e = parley_buf_puts(out, t->title[li])) || (e = parley_buf_puts(out, "\n"))) goto fail;
  for (size_t i = 0; i < t->n_fields; i++) {
    const parley_template_field *f = &t->fields[i];
    const json_t *v = json_object_get(content, f->name);
    if (!v) continue;
    bool multi = json_is_string(v) && memchr(json_string_value(v), '\n', json_string_length(v));
    if ((e = parley_buf_puts(out, f->labels[li]))) goto fail;
    if (multi) /* free text keeps its own lines, starting below the label */
      e = parley_buf_puts(out, colon_eol[li]);
    else
      e = parley_buf_puts(out, colon[li]);
    if (e || (e = render_value(f, v, li, out)) || (e = parley_buf_puts(out, "\n"))) goto fail;
  }
  return PARLEY_E_OK;
fail:
  out->len = start;
  if (out->data) out->data[start] = 0;
  return parley_fail(err, e, "rendering %s", t->kind);
}
