#define _GNU_SOURCE /* strcasestr */
/* Directory-wide reads over the current records of all states.
 *   GET /v1/directory/search?state=&region=&role=&language=&name=
 *   GET /v1/directory/export?format=json|csv|vcard
 *   GET /v1/reports/stale          operator: records past their review date */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "handlers.h"
#include "parley/json.h"

typedef struct {
  parley_state_row state;
  json_t *record; /* NULL if the state has published nothing */
} entry;

typedef struct {
  entry *v;
  size_t n, cap;
  bool oom;
} entries;

static bool collect_state(void *cls, const parley_state_row *row) {
  entries *e = cls;
  if (e->n == e->cap) {
    size_t cap = e->cap ? e->cap * 2 : 64;
    entry *v = realloc(e->v, cap * sizeof *v);
    if (!v) {
      e->oom = true;
      return false;
    }
    e->v = v;
    e->cap = cap;
  }
  e->v[e->n].state = *row;
  e->v[e->n].record = NULL;
  e->n++;
  return true;
}

static void entries_free(entries *e) {
  for (size_t i = 0; i < e->n; i++)
    json_decref(e->v[i].record);
  free(e->v);
  memset(e, 0, sizeof *e);
}

static parley_qs load_all(parley_tx *tx, void *cls, parley_error *err) {
  entries *e = cls;
  entries_free(e); /* a retried transaction starts over */
  parley_qs qs = parley_store_state_list(tx, collect_state, e);
  if (qs < 0) return qs;
  if (e->oom) {
    parley_fail(err, PARLEY_E_NO_MEMORY, NULL);
    return PARLEY_QS_HARD;
  }
  for (size_t i = 0; i < e->n; i++) {
    if (!e->v[i].state.current_version) continue;
    parley_record_row rec;
    qs = parley_store_record_get(tx, e->v[i].state.code, 0, &rec);
    if (qs < 0) return qs;
    if (qs == PARLEY_QS_ONE) {
      /* Stored records were fully verified when published: parse only. */
      parley_json_limits lim = PARLEY_JSON_LIMITS_DEFAULT;
      parley_json_parse(rec.body, rec.body_len, &lim, &e->v[i].record, NULL);
      parley_record_row_clear(&rec);
    }
  }
  return PARLEY_QS_ONE;
}

static bool load(parleyd_req *r, entries *e) {
  memset(e, 0, sizeof *e);
  parley_error err;
  if (parley_store_run_named(parleyd->store, "load_all", false, load_all, e, &err) != PARLEY_E_OK) {
    entries_free(e);
    parleyd_reply_err(r, &err);
    return false;
  }
  return true;
}

static bool array_has(const json_t *arr, const char *s) {
  size_t i;
  json_t *x;
  json_array_foreach(arr, i,
                     x) if (json_is_string(x) && strcmp(json_string_value(x), s) == 0) return true;
  return false;
}

void h_directory_search(parleyd_req *r) {
  const char *state = parleyd_query(r, "state"), *region = parleyd_query(r, "region"),
             *role = parleyd_query(r, "role"), *lang = parleyd_query(r, "language"),
             *name = parleyd_query(r, "name");
  entries e;
  if (!load(r, &e)) return;
  json_t *out = json_array();
  for (size_t i = 0; i < e.n && out; i++) {
    const parley_state_row *s = &e.v[i].state;
    if (!e.v[i].record || (state && strcmp(state, s->code)) ||
        (region && strcmp(region, s->region)))
      continue;
    size_t k;
    json_t *p;
    json_array_foreach(json_object_get(e.v[i].record, "pocs"), k, p) {
      if (role && !array_has(json_object_get(p, "roles"), role)) continue;
      if (lang && !array_has(json_object_get(p, "languages"), lang)) continue;
      const char *pn = json_string_value(json_object_get(p, "name"));
      if (name && (!pn || !strcasestr(pn, name))) continue;
      json_t *hit = json_deep_copy(p);
      json_object_del(hit, "encryption_key");
      json_object_set_new(hit, "state", json_string(s->code));
      json_object_set_new(hit, "region", json_string(s->region));
      json_object_set_new(hit, "record_version", json_integer(s->current_version));
      json_array_append_new(out, hit);
    }
  }
  entries_free(&e);
  parleyd_reply_json(r, 200, json_pack("{s:o}", "pocs", out));
}

/* CSV field quoting per RFC 4180; cells starting with = + - @ are prefixed with ' so
 * that a spreadsheet never runs a formula from the directory. */
static parley_err csv_cell(parley_buf *b, const char *s, bool last) {
  parley_err e = parley_buf_puts(b, "\"");
  if (s && strchr("=+-@", s[0]) && s[0]) e = e ? e : parley_buf_puts(b, "'");
  for (const char *p = s ? s : ""; *p && !e; p++)
    e = *p == '"' ? parley_buf_puts(b, "\"\"") : parley_buf_append(b, p, 1);
  return e ? e : parley_buf_puts(b, last ? "\"\r\n" : "\",");
}

static parley_err join(const json_t *arr, char *out, size_t cap, const char *sep) {
  out[0] = 0;
  size_t i;
  json_t *x;
  json_array_foreach(arr, i, x) {
    size_t n = strlen(out);
    int w = snprintf(out + n, cap - n, "%s%s", i ? sep : "", json_string_value(x));
    if (w < 0 || (size_t)w >= cap - n) return PARLEY_E_TOO_LARGE;
  }
  return PARLEY_E_OK;
}

/* vCard 4.0 text value escaping (RFC 6350 §3.4). */
static parley_err vc_text(parley_buf *b, const char *s) {
  parley_err e = PARLEY_E_OK;
  for (const char *p = s ? s : ""; *p && !e; p++) {
    if (*p == '\\' || *p == ',' || *p == ';')
      e = parley_buf_printf(b, "\\%c", *p);
    else if (*p == '\n')
      e = parley_buf_puts(b, "\\n");
    else if (*p != '\r')
      e = parley_buf_append(b, p, 1);
  }
  return e;
}

void h_directory_export(parleyd_req *r) {
  const char *format = parleyd_query(r, "format");
  if (!format) format = "json";
  bool csv = strcmp(format, "csv") == 0, vcard = strcmp(format, "vcard") == 0;
  if (!csv && !vcard && strcmp(format, "json") != 0) {
    parleyd_reply_error(r, PARLEY_E_INVALID_ARGUMENT, "format: json, csv or vcard");
    return;
  }
  entries e;
  if (!load(r, &e)) return;
  char now[PARLEY_TIME_LEN];
  parley_time_format(parley_now(), now);
  if (!csv && !vcard) {
    /* Everything needed to verify offline: each state's root key and signed record. */
    json_t *states = json_array();
    for (size_t i = 0; i < e.n; i++) {
      char root[PARLEY_KEY_B64_LEN];
      parley_sign_pk pk;
      memcpy(pk.b, e.v[i].state.root_pk, 32);
      parley_sign_pk_to_b64(&pk, root);
      json_array_append_new(
          states, json_pack("{s:s,s:s,s:s,s:s,s:s,s:O?}", "code", e.v[i].state.code, "name",
                            e.v[i].state.name, "region", e.v[i].state.region, "status",
                            e.v[i].state.status == PARLEY_STATE_ACTIVE ? "active" : "suspended",
                            "root_key", root, "record", e.v[i].record));
    }
    entries_free(&e);
    parleyd_reply_json(r, 200,
                       json_pack("{s:s,s:s,s:s,s:o}", "format", "parley-directory-bundle-v1", "hub",
                                 parleyd->cfg.origin, "exported", now, "states", states));
    return;
  }
  parley_buf b;
  parley_buf_init(&b, 64u << 20);
  parley_err err = csv ? parley_buf_puts(&b, "state,region,poc_id,name,position,organisation,"
                                             "roles,email,phone,emergency_phone,languages,"
                                             "timezone,availability,record_version\r\n")
                       : PARLEY_E_OK;
  for (size_t i = 0; i < e.n && !err; i++) {
    size_t k;
    json_t *p;
    json_array_foreach(json_object_get(e.v[i].record, "pocs"), k, p) {
      char roles[128], langs[64], ver[24];
      if (join(json_object_get(p, "roles"), roles, sizeof roles, " ") ||
          join(json_object_get(p, "languages"), langs, sizeof langs, csv ? " " : ","))
        continue;
      snprintf(ver, sizeof ver, "%lld", (long long)e.v[i].state.current_version);
#define S(k) json_string_value(json_object_get(p, k))
      if (csv) {
        const char *cells[] = {e.v[i].state.code,
                               e.v[i].state.region,
                               S("id"),
                               S("name"),
                               S("position"),
                               S("organisation"),
                               roles,
                               S("email"),
                               S("phone"),
                               S("emergency_phone"),
                               langs,
                               S("timezone"),
                               S("availability"),
                               ver};
        for (size_t c = 0; c < sizeof cells / sizeof *cells && !err; c++)
          err = csv_cell(&b, cells[c], c + 1 == sizeof cells / sizeof *cells);
      } else {
        err = parley_buf_puts(&b, "BEGIN:VCARD\r\nVERSION:4.0\r\nFN:");
        err = err ? err : vc_text(&b, S("name"));
        err = err ? err : parley_buf_puts(&b, "\r\nORG:");
        err = err ? err : vc_text(&b, e.v[i].state.name);
        err = err ? err : parley_buf_puts(&b, ";");
        err = err ? err : vc_text(&b, S("organisation"));
        if (S("position")) {
          err = err ? err : parley_buf_puts(&b, "\r\nTITLE:");
          err = err ? err : vc_text(&b, S("position"));
        }
        err = err ? err : parley_buf_puts(&b, "\r\nEMAIL;TYPE=work:");
        err = err ? err : vc_text(&b, S("email"));
        err = err ? err : parley_buf_puts(&b, "\r\nTEL;VALUE=uri;TYPE=work:tel:");
        err = err ? err : vc_text(&b, S("phone"));
        if (S("emergency_phone")) {
          err =
              err ? err : parley_buf_puts(&b, "\r\nTEL;VALUE=uri;TYPE=\"voice,cell\";PREF=1:tel:");
          err = err ? err : vc_text(&b, S("emergency_phone"));
        }
        err = err ? err : parley_buf_printf(&b, "\r\nLANG:%s\r\nTZ:", langs);
        err = err ? err : vc_text(&b, S("timezone"));
        err = err ? err
                  : parley_buf_printf(&b, "\r\nNOTE:Parley POC %s of %s\\, roles: ", S("id"),
                                      e.v[i].state.code);
        err = err ? err : vc_text(&b, roles);
        err = err ? err
                  : parley_buf_printf(&b, "\r\nUID:urn:parley:%s:%s\r\nREV:%s\r\nEND:VCARD\r\n",
                                      e.v[i].state.code, S("id"), now);
      }
#undef S
    }
  }
  entries_free(&e);
  if (err) {
    parley_buf_free(&b);
    parleyd_reply_error(r, err, "export");
    return;
  }
  parleyd_reply_raw(r, 200, csv ? "text/csv; charset=utf-8" : "text/vcard; charset=utf-8", b.data,
                    b.len);
  parley_buf_free(&b);
}

void h_report_stale(parleyd_req *r) {
  entries e;
  if (!load(r, &e)) return;
  int64_t now = parley_now();
  json_t *out = json_array();
  for (size_t i = 0; i < e.n; i++) {
    const parley_state_row *s = &e.v[i].state;
    if (s->current_version && s->review_by >= now) continue;
    char rb[PARLEY_TIME_LEN] = "";
    if (s->review_by) parley_time_format(s->review_by, rb);
    json_t *emails = json_array();
    size_t k;
    json_t *p;
    json_array_foreach(json_object_get(e.v[i].record, "pocs"), k, p)
        json_array_append(emails, json_object_get(p, "email"));
    json_array_append_new(out,
                          json_pack("{s:s,s:s,s:I,s:s,s:s,s:o}", "code", s->code, "name", s->name,
                                    "version", (json_int_t)s->current_version, "review_by", rb,
                                    "reason", s->current_version ? "past review date" : "no record",
                                    "poc_emails", emails));
  }
  entries_free(&e);
  parleyd_reply_json(r, 200, json_pack("{s:o}", "stale", out));
}
