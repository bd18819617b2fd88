/* Directory key transparency: clear log entries, the per-checkpoint commitment to every
 * state's (version, root key, record hash), and the rules a monitor checks. */
#include <stdlib.h>
#include <string.h>

#include "parley/directory.h"
#include "parley/json.h"
#include "parley/proto.h"

#define ENTRY_MAX PARLEY_TILE_ENTRY_MAX

parley_err parley_dir_leaf(const parley_dir_state *s, parley_buf *out, parley_error *err) {
  char root[PARLEY_KEY_B64_LEN], hash[64];
  parley_sign_pk_to_b64(&s->root, root);
  json_t *o = json_pack("{s:s,s:I,s:s}", "state", s->state, "version", (json_int_t)s->version,
                        "root_key", root);
  if (!o) return parley_fail(err, PARLEY_E_NO_MEMORY, NULL);
  if (s->version > 0) {
    parley_b64url_encode(s->record_sha256, 32, hash, sizeof hash);
    json_object_set_new(o, "record_sha256", json_string(hash));
  }
  if (s->root_replaced_at >= 0)
    json_object_set_new(o, "root_replaced_at", json_integer(s->root_replaced_at));
  parley_err e = parley_jcs(o, out, err);
  json_decref(o);
  return e;
}

parley_err parley_dir_leaf_hash(const parley_dir_state *s, uint8_t out[32], parley_error *err) {
  parley_buf b;
  parley_buf_init(&b, 4096);
  parley_err e = parley_dir_leaf(s, &b, err);
  if (!e) parley_tlog_leaf_hash(b.data, b.len, out);
  parley_buf_free(&b);
  return e;
}

static parley_err build_tree(const parley_dir_state *s, size_t n, parley_tlog_memtree **out,
                             parley_error *err) {
  if (n > PARLEY_DIR_MAX_STATES) return parley_fail(err, PARLEY_E_TOO_LARGE, "%zu states", n);
  parley_tlog_memtree *t = parley_tlog_memtree_new();
  if (!t) return parley_fail(err, PARLEY_E_NO_MEMORY, NULL);
  parley_err e = PARLEY_E_OK;
  for (size_t i = 0; !e && i < n; i++) {
    if (i > 0 && strcmp(s[i - 1].state, s[i].state) >= 0)
      e = parley_fail(err, PARLEY_E_INVALID_ARGUMENT, "states not in code order at %s", s[i].state);
    uint8_t lh[32];
    if (!e) e = parley_dir_leaf_hash(&s[i], lh, err);
    if (!e) e = parley_tlog_memtree_append(t, lh, err);
  }
  if (e) {
    parley_tlog_memtree_free(t);
    return e;
  }
  *out = t;
  return PARLEY_E_OK;
}

parley_err parley_dir_root(const parley_dir_state *s, size_t n, uint8_t root[32],
                           parley_error *err) {
  parley_tlog_memtree *t = NULL;
  parley_err e = build_tree(s, n, &t, err);
  if (e) return e;
  e = parley_tlog_root(parley_tlog_memtree_hash, t, n, root, err);
  parley_tlog_memtree_free(t);
  return e;
}

parley_err parley_dir_proof(const parley_dir_state *s, size_t n, size_t index,
                            uint8_t proof[PARLEY_TLOG_MAX_PROOF][32], size_t *proof_len,
                            parley_error *err) {
  if (index >= n) return parley_fail(err, PARLEY_E_TLOG_RANGE, "index %zu of %zu", index, n);
  parley_tlog_memtree *t = NULL;
  parley_err e = build_tree(s, n, &t, err);
  if (e) return e;
  e = parley_tlog_inclusion_proof(parley_tlog_memtree_hash, t, index, n, proof, proof_len, err);
  parley_tlog_memtree_free(t);
  return e;
}

parley_err parley_dir_ext_format(uint64_t n, const uint8_t root[32], parley_buf *out,
                                 parley_error *err) {
  char b64[64];
  parley_b64_encode(root, 32, b64, sizeof b64);
  if (parley_buf_printf(out, PARLEY_DIR_EXT_PREFIX "%llu %s\n", (unsigned long long)n, b64))
    return parley_fail(err, PARLEY_E_TOO_LARGE, "checkpoint");
  return PARLEY_E_OK;
}

parley_err parley_dir_ext_parse(const parley_checkpoint *cp, uint64_t *n, uint8_t root[32],
                                parley_error *err) {
  const char *p = cp->ext, *end = cp->ext ? cp->ext + cp->ext_len : NULL;
  bool found = false;
  const size_t pre = sizeof PARLEY_DIR_EXT_PREFIX - 1;
  while (p && p < end) {
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    if (!nl) break;
    size_t len = (size_t)(nl - p);
    if (len > pre && memcmp(p, PARLEY_DIR_EXT_PREFIX, pre) == 0) {
      char line[128];
      if (found || len - pre >= sizeof line)
        return parley_fail(err, PARLEY_E_TLOG_CHECKPOINT, "directory line repeated or too long");
      memcpy(line, p + pre, len - pre);
      line[len - pre] = 0;
      char *sp = strchr(line, ' ');
      size_t got = 0;
      if (!sp) return parley_fail(err, PARLEY_E_TLOG_CHECKPOINT, "directory line");
      *sp = 0;
      if (!parley_parse_u64(line, n) || *n > PARLEY_DIR_MAX_STATES ||
          parley_b64_decode(sp + 1, strlen(sp + 1), root, 32, &got) != PARLEY_E_OK || got != 32)
        return parley_fail(err, PARLEY_E_TLOG_CHECKPOINT, "directory line");
      found = true;
    }
    p = nl + 1;
  }
  if (!found) return parley_fail(err, PARLEY_E_NOT_FOUND, "the checkpoint has no directory line");
  return PARLEY_E_OK;
}

parley_err parley_dir_entry(json_t *obj, int64_t time, parley_buf *out, parley_error *err) {
  char ts[PARLEY_TIME_LEN];
  parley_time_format(time, ts);
  if (json_object_set_new(obj, "format", json_string(PARLEY_DIR_FORMAT)) ||
      json_object_set_new(obj, "time", json_string(ts)))
    return parley_fail(err, PARLEY_E_NO_MEMORY, NULL);
  if (parley_buf_puts(out, PARLEY_DIR_ENTRY_KIND "\n"))
    return parley_fail(err, PARLEY_E_TOO_LARGE, NULL);
  parley_err e = parley_jcs(obj, out, err);
  if (!e && out->len > ENTRY_MAX)
    e = parley_fail(err, PARLEY_E_TOO_LARGE, "directory entry of %zu bytes", out->len);
  return e;
}

parley_err parley_dir_entry_parse(const uint8_t *entry, size_t len, json_t **obj,
                                  parley_error *err) {
  const size_t k = sizeof PARLEY_DIR_ENTRY_KIND;
  if (len < k || memcmp(entry, PARLEY_DIR_ENTRY_KIND "\n", k) != 0)
    return parley_fail(err, PARLEY_E_NOT_FOUND, "not a directory entry");
  return parley_json_parse_object((const char *)entry + k, len - k, NULL, obj, err);
}

void parley_dir_view_free(parley_dir_view *v) {
  free(v->states);
  memset(v, 0, sizeof *v);
}

parley_dir_state *parley_dir_view_find(parley_dir_view *v, const char *code) {
  size_t lo = 0, hi = v->n;
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    int c = strcmp(v->states[mid].state, code);
    if (c == 0) return &v->states[mid];
    if (c < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  return NULL;
}

static parley_err rule(parley_error *err, uint64_t index, const char *fmt, const char *state) {
  return parley_fail(err, PARLEY_E_DIRECTORY_RULE, "log entry %llu (%s): %s",
                     (unsigned long long)index, state, fmt);
}

static parley_err insert_state(parley_dir_view *v, const parley_dir_state *s, parley_error *err) {
  if (v->n == v->cap) {
    size_t cap = v->cap ? v->cap * 2 : 64;
    if (cap > PARLEY_DIR_MAX_STATES) cap = PARLEY_DIR_MAX_STATES;
    if (v->n >= cap) return parley_fail(err, PARLEY_E_TOO_LARGE, "too many states");
    parley_dir_state *ns = realloc(v->states, cap * sizeof *ns);
    if (!ns) return parley_fail(err, PARLEY_E_NO_MEMORY, NULL);
    v->states = ns;
    v->cap = cap;
  }
  size_t i = v->n;
  while (i > 0 && strcmp(v->states[i - 1].state, s->state) > 0) {
    v->states[i] = v->states[i - 1];
    i--;
  }
  v->states[i] = *s;
  v->n++;
  return PARLEY_E_OK;
}

#define STATE_RECORD_KIND "state-record\n"

/* A state-record entry: its kind line, then the record's SHA-256 (32 bytes). */
static bool state_record_entry(const uint8_t *entry, size_t len) {
  const size_t k = sizeof STATE_RECORD_KIND - 1;
  return len == k + 32 && memcmp(entry, STATE_RECORD_KIND, k) == 0;
}

parley_err parley_dir_apply(parley_dir_view *v, const uint8_t *entry, size_t len, uint64_t index,
                            parley_error *err) {
  /* Before the first onboarding (a log from before the directory commitment) records
   * were logged without directory entries; from then on each comes with one. */
  if (v->n > 0 && state_record_entry(entry, len)) {
    if (v->record_pending)
      return rule(err, index, "a state-record entry follows one without its directory entry", "?");
    memcpy(v->pending_hash, entry + len - 32, 32);
    v->pending_index = index;
    v->record_pending = true;
    return PARLEY_E_OK;
  }
  json_t *o = NULL;
  parley_err e = parley_dir_entry_parse(entry, len, &o, err);
  if (e == PARLEY_E_NOT_FOUND && v->record_pending)
    return rule(err, index, "the state-record entry before this one has no directory entry", "?");
  if (e == PARLEY_E_NOT_FOUND) return PARLEY_E_OK;
  if (e) return rule(err, index, "does not parse", "?");
  const char *format = NULL, *action = NULL, *state = NULL;
  parley_sign_pk root;
  parley_json_field f[] = {
      PARLEY_FIELD_LINE("format", 64, &format), PARLEY_FIELD_LINE("action", 32, &action),
      PARLEY_FIELD_LINE("state", 3, &state), PARLEY_FIELD_B64URL("root_key", root.b, 32)};
  parley_error ferr;
  if (parley_json_fields(o, f, PARLEY_JF_COUNT(f), &ferr) != PARLEY_E_OK ||
      strcmp(format, PARLEY_DIR_FORMAT) != 0 || !parley_state_code_valid(state)) {
    json_decref(o);
    return rule(err, index, "malformed directory entry", state ? state : "?");
  }
  char code[4];
  parley_strlcpy(code, state, sizeof code);
  parley_dir_state *cur = parley_dir_view_find(v, code);
  e = PARLEY_E_OK;
  if (v->record_pending && strcmp(action, "record") != 0) {
    json_decref(o);
    return rule(err, index, "the state-record entry before this one has no directory entry", code);
  }
  if (!strcmp(action, "onboard")) {
    if (cur)
      e = rule(err, index, "onboarded a second time", code);
    else {
      parley_dir_state s = {.version = 0, .root = root, .root_replaced_at = -1};
      parley_strlcpy(s.state, code, sizeof s.state);
      e = insert_state(v, &s, err);
    }
  } else if (!cur) {
    e = rule(err, index, "names a state that was never onboarded", code);
  } else if (!strcmp(action, "record")) {
    json_int_t version = json_integer_value(json_object_get(o, "version"));
    const char *h = json_string_value(json_object_get(o, "record_sha256"));
    uint8_t hash[32];
    if (!json_is_integer(json_object_get(o, "version")) || !h ||
        parley_b64url_decode_exact(h, hash, 32) != PARLEY_E_OK)
      e = rule(err, index, "record entry without version or record_sha256", code);
    else if (version <= cur->version)
      e = rule(err, index, "record version does not grow (a rollback)", code);
    else if (memcmp(root.b, cur->root.b, 32) != 0)
      e = rule(err, index, "record signed by a key that is not the current root key", code);
    else if (v->record_pending && memcmp(hash, v->pending_hash, 32) != 0)
      e = rule(err, index,
               "record entry names another record than the state-record entry before it", code);
    else if (cur->version > 0 && memcmp(hash, cur->record_sha256, 32) == 0)
      e = rule(err, index, "the current record logged again", code);
    else {
      cur->version = version;
      memcpy(cur->record_sha256, hash, 32);
      v->record_pending = false;
    }
  } else if (!strcmp(action, "rotate")) {
    json_t *st = json_object_get(o, "rotation");
    const char *sstate = json_string_value(json_object_get(st, "state"));
    const char *snew = json_string_value(json_object_get(st, "new_root_key"));
    parley_sign_pk newk;
    if (!json_is_object(st) || parley_signed_json_verify(st, PARLEY_PURPOSE_ROOT_ROTATION,
                                                         &cur->root, NULL) != PARLEY_E_OK)
      e = rule(err, index, "root key changed without a statement signed by the current root key",
               code);
    else if (!sstate || strcmp(sstate, code) != 0 || !snew ||
             parley_sign_pk_from_b64(snew, &newk) != PARLEY_E_OK || memcmp(newk.b, root.b, 32) != 0)
      e = rule(err, index, "rotation statement names another state or key", code);
    else
      cur->root = root;
  } else if (!strcmp(action, "replace-root")) {
    const char *reason = json_string_value(json_object_get(o, "reason"));
    if (!reason || !json_is_string(json_object_get(o, "operator_key_id")))
      e = rule(err, index, "operator replacement without its reason and operator key", code);
    else {
      cur->root = root;
      cur->root_replaced_at = (int64_t)index;
    }
  } else {
    e = rule(err, index, "unknown action", code);
  }
  json_decref(o);
  return e;
}
