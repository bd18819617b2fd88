/* The directory: states (onboarded by the operator) and their signed records
 * (published by each state's root key).
 *   POST /v1/states                      operator: onboard a state
 *   POST /v1/states/{code}/suspend       operator
 *   POST /v1/states/{code}/activate      operator
 *   GET  /v1/states                      any registered key: list
 *   GET  /v1/states/{code}               any: the state and its root key
 *   PUT  /v1/states/{code}/record        the state's root key: publish a new version
 *   GET  /v1/states/{code}/record        any: current signed record
 *   GET  /v1/states/{code}/records/{v}   any: a given version */
#include <stdlib.h>
#include <string.h>

#include "handlers.h"
#include "parley/json.h"
#include "parley/proto.h"

static json_t *state_json(const parley_state_row *s) {
  char root[PARLEY_KEY_B64_LEN], fpr[PARLEY_FINGERPRINT_HEX_LEN], created[PARLEY_TIME_LEN],
      updated[PARLEY_TIME_LEN];
  parley_sign_pk pk;
  memcpy(pk.b, s->root_pk, 32);
  parley_sign_pk_to_b64(&pk, root);
  parley_sign_pk_fingerprint(&pk, fpr);
  parley_time_format(s->created, created);
  parley_time_format(s->updated, updated);
  json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:I,s:s,s:s}", "code", s->code, "name", s->name,
                        "region", s->region, "root_key", root, "root_fingerprint", fpr, "status",
                        s->status == PARLEY_STATE_ACTIVE ? "active" : "suspended", "version",
                        (json_int_t)s->current_version, "created", created, "updated", updated);
  if (o && s->review_by) {
    char rb[PARLEY_TIME_LEN];
    parley_time_format(s->review_by, rb);
    json_object_set_new(o, "review_by", json_string(rb));
    json_object_set_new(o, "stale", json_boolean(s->review_by < parley_now()));
  }
  return o;
}

/* After a directory change: the latest checkpoint must commit to the directory as it
 * now stands (directory_log.c), so one is signed in the same transaction. */
static parley_qs directory_changed(parley_tx *tx, parley_error *err) {
  parley_checkpoint_row cp;
  memset(&cp, 0, sizeof cp);
  parley_qs qs = parleyd_checkpoint_tx(tx, true, &cp, err);
  parley_checkpoint_row_clear(&cp);
  return qs < 0 ? qs : PARLEY_QS_ONE;
}

/* ---- POST /v1/states ---------------------------------------------------- */

typedef struct {
  parley_state_row row;
  parleyd_req *r;
  uint64_t leaf;
} add_ctx;

static parley_qs add_state(parley_tx *tx, void *cls, parley_error *err) {
  add_ctx *c = cls;
  parley_qs qs = parleyd_tx_nonce(tx, c->r, err);
  if (qs != PARLEY_QS_ONE) return qs;
  qs = parley_store_state_insert(tx, &c->row);
  if (qs == PARLEY_QS_NONE) {
    parley_fail(err, PARLEY_E_STATE_EXISTS, "%s", c->row.code);
    return PARLEY_QS_HARD;
  }
  if (qs < 0) return qs;
  parley_key_row k;
  memset(&k, 0, sizeof k);
  parley_sign_pk pk;
  memcpy(pk.b, c->row.root_pk, 32);
  parley_sign_pk_key_id(&pk, k.key_id);
  memcpy(k.pk, pk.b, 32);
  k.role = PARLEY_ROLE_STATE_ROOT;
  parley_strlcpy(k.state, c->row.code, sizeof k.state);
  snprintf(k.name, sizeof k.name, "root key of %s", c->row.code);
  parley_key_row existing;
  if ((qs = parley_store_key_get(tx, k.key_id, &existing)) != PARLEY_QS_NONE) {
    if (qs == PARLEY_QS_ONE)
      parley_fail(err, PARLEY_E_STORE_CONFLICT, "this root key is already registered");
    return qs == PARLEY_QS_ONE ? PARLEY_QS_HARD : qs;
  }
  if ((qs = parley_store_key_put(tx, &k)) < 0) return qs;
  if ((qs = parleyd_log_event(tx, "state-onboarded", c->row.code, &c->leaf, err)) != PARLEY_QS_ONE)
    return qs;
  char root[PARLEY_KEY_B64_LEN];
  parley_sign_pk_to_b64(&pk, root);
  uint64_t dir_leaf;
  if ((qs = parleyd_dir_log(
           tx,
           json_pack("{s:s,s:s,s:s}", "action", "onboard", "state", c->row.code, "root_key", root),
           &dir_leaf, err)) != PARLEY_QS_ONE)
    return qs;
  return directory_changed(tx, err);
}

void h_state_add(parleyd_req *r) {
  json_t *body = parleyd_parse_body(r);
  if (!body) return;
  add_ctx c;
  memset(&c, 0, sizeof c);
  c.r = r;
  const char *code, *name;
  int region;
  parley_json_field f[] = {
      PARLEY_FIELD_LINE("code", 3, &code),
      PARLEY_FIELD_LINE("name", 255, &name),
      PARLEY_FIELD_ENUM("region", parley_regions, &region),
      PARLEY_FIELD_B64URL("root_key", c.row.root_pk, 32),
  };
  parley_error err;
  if (parley_json_fields(body, f, PARLEY_JF_COUNT(f), &err) != PARLEY_E_OK) {
    parleyd_reply_err(r, &err);
    json_decref(body);
    return;
  }
  if (!parley_state_code_valid(code)) {
    parleyd_reply_error(r, PARLEY_E_STATE_CODE, code);
    json_decref(body);
    return;
  }
  parley_strlcpy(c.row.code, code, sizeof c.row.code);
  parley_strlcpy(c.row.name, name, sizeof c.row.name);
  parley_strlcpy(c.row.region, parley_regions[region], sizeof c.row.region);
  json_decref(body);
  c.row.status = PARLEY_STATE_ACTIVE;
  c.row.created = c.row.updated = parley_now();
  c.row.root_replaced_at = -1;
  if (parley_store_run_named(parleyd->store, "add_state", true, add_state, &c, &err) !=
      PARLEY_E_OK) {
    parleyd_reply_err(r, &err);
    return;
  }
  parley_log(PARLEY_LOG_INFO, "directory.state_added", "state=%s operator=%s", c.row.code,
             r->who.key_id);
  json_t *o = state_json(&c.row);
  json_object_set_new(o, "leaf_index", json_integer((json_int_t)c.leaf));
  parleyd_reply_json(r, 201, o);
}

/* ---- suspend / activate -------------------------------------------------- */

typedef struct {
  parleyd_req *r;
  parley_state_status to;
  parley_state_row row;
  uint64_t leaf;
} status_ctx;

static parley_qs set_status(parley_tx *tx, void *cls, parley_error *err) {
  status_ctx *c = cls;
  parley_qs qs = parleyd_tx_nonce(tx, c->r, err);
  if (qs != PARLEY_QS_ONE) return qs;
  qs = parley_store_state_get(tx, c->r->params[0], &c->row);
  if (qs == PARLEY_QS_NONE) {
    parley_fail(err, PARLEY_E_STATE_UNKNOWN, "%s", c->r->params[0]);
    return PARLEY_QS_HARD;
  }
  if (qs < 0) return qs;
  c->row.status = c->to;
  c->row.updated = parley_now();
  if ((qs = parley_store_state_update(tx, &c->row)) < 0) return qs;
  return parleyd_log_event(tx, c->to == PARLEY_STATE_ACTIVE ? "state-activated" : "state-suspended",
                           c->row.code, &c->leaf, err);
}

static void change_status(parleyd_req *r, parley_state_status to) {
  if (r->body.len) { /* no parameters: an empty object or no body at all */
    json_t *b = parleyd_parse_body(r);
    if (!b) return;
    size_t n = json_object_size(b);
    json_decref(b);
    if (n) {
      parleyd_reply_error(r, PARLEY_E_INVALID_ARGUMENT, "this action takes no parameters");
      return;
    }
  }
  status_ctx c;
  memset(&c, 0, sizeof c);
  c.r = r;
  c.to = to;
  parley_error err;
  if (parley_store_run_named(parleyd->store, "set_status", true, set_status, &c, &err) !=
      PARLEY_E_OK) {
    parleyd_reply_err(r, &err);
    return;
  }
  parley_log(PARLEY_LOG_INFO, "directory.state_status", "state=%s status=%s operator=%s",
             c.row.code, to == PARLEY_STATE_ACTIVE ? "active" : "suspended", r->who.key_id);
  json_t *o = state_json(&c.row);
  json_object_set_new(o, "leaf_index", json_integer((json_int_t)c.leaf));
  parleyd_reply_json(r, 200, o);
}

void h_state_suspend(parleyd_req *r) {
  change_status(r, PARLEY_STATE_SUSPENDED);
}

void h_state_activate(parleyd_req *r) {
  change_status(r, PARLEY_STATE_ACTIVE);
}

/* ---- GET /v1/states, GET /v1/states/{code} ------------------------------- */

static bool list_one(void *cls, const parley_state_row *row) {
  return json_array_append_new(cls, state_json(row)) == 0;
}

static parley_qs list_states(parley_tx *tx, void *cls, parley_error *err) {
  (void)err;
  return parley_store_state_list(tx, list_one, cls);
}

void h_state_list(parleyd_req *r) {
  json_t *arr = json_array();
  parley_error err;
  if (!arr || parley_store_run_named(parleyd->store, "list_states", false, list_states, arr,
                                     &err) != PARLEY_E_OK) {
    json_decref(arr);
    parleyd_reply_err(r, &err);
    return;
  }
  parleyd_reply_json(r, 200, json_pack("{s:o}", "states", arr));
}

typedef struct {
  parley_state_row row;
  json_t *dir;       /* the state's leaf in the latest checkpoint's directory commitment */
  char *replacement; /* the log entry of the last operator replacement of the root key */
} get_state_ctx;

static parley_qs get_state(parley_tx *tx, void *cls, parley_error *err) {
  get_state_ctx *c = cls;
  json_decref(c->dir);
  c->dir = NULL;
  free(c->replacement);
  c->replacement = NULL;
  parley_qs qs = parley_store_state_get(tx, c->row.code, &c->row);
  if (qs == PARLEY_QS_NONE) {
    parley_fail(err, PARLEY_E_STATE_UNKNOWN, "%s", c->row.code);
    return PARLEY_QS_HARD;
  }
  if (qs < 0) return qs;
  if (!(c->dir = parleyd_dir_proof_json(tx, c->row.code, &qs, err))) return qs;
  if (c->row.root_replaced_at >= 0) {
    uint8_t *entry = NULL;
    size_t len = 0;
    qs = parley_store_leaf_entry(tx, (uint64_t)c->row.root_replaced_at, &entry, &len);
    if (qs != PARLEY_QS_ONE) return qs < 0 ? qs : PARLEY_QS_HARD;
    c->replacement = malloc(len + 1);
    if (c->replacement) {
      memcpy(c->replacement, entry, len);
      c->replacement[len] = 0;
    }
    free(entry);
    if (!c->replacement) return PARLEY_QS_HARD;
  }
  return PARLEY_QS_ONE;
}

/* The state, its root key, and what a client needs to check them against the log: the
 * state's leaf in the latest checkpoint's directory commitment ("directory") and, when
 * the operator replaced the root key, that logged action ("root_replacement"). */
void h_state_get(parleyd_req *r) {
  get_state_ctx c;
  memset(&c, 0, sizeof c);
  parley_strlcpy(c.row.code, r->params[0], sizeof c.row.code);
  parley_error err;
  if (parley_store_run_named(parleyd->store, "get_state", false, get_state, &c, &err) !=
      PARLEY_E_OK) {
    json_decref(c.dir);
    free(c.replacement);
    parleyd_reply_err(r, &err);
    return;
  }
  json_t *o = state_json(&c.row);
  json_object_set_new(o, "directory", c.dir);
  if (c.replacement)
    json_object_set_new(o, "root_replacement",
                        json_pack("{s:I,s:s}", "index", (json_int_t)c.row.root_replaced_at, "entry",
                                  c.replacement));
  free(c.replacement);
  parleyd_reply_json(r, 200, o);
}

/* ---- PUT /v1/states/{code}/record ---------------------------------------- */

typedef struct {
  parleyd_req *r;
  json_t *record;
  const char *canonical;
  size_t canonical_len;
  parley_record_info *info;
  uint64_t leaf;
} publish_ctx;

static parley_qs publish(parley_tx *tx, void *cls, parley_error *err) {
  publish_ctx *c = cls;
  parley_qs qs = parleyd_tx_nonce(tx, c->r, err);
  if (qs != PARLEY_QS_ONE) return qs;
  parley_state_row st;
  qs = parley_store_state_get(tx, c->r->params[0], &st);
  if (qs == PARLEY_QS_NONE) {
    parley_fail(err, PARLEY_E_STATE_UNKNOWN, "%s", c->r->params[0]);
    return PARLEY_QS_HARD;
  }
  if (qs < 0) return qs;
  /* Only this state's current root key may publish; checked against the stored row,
   * inside the transaction, so a concurrent root rotation cannot race it. */
  if (c->r->who.role != PARLEY_ROLE_STATE_ROOT || strcmp(c->r->who.state, st.code) != 0 ||
      !parley_ct_equal(c->r->who.pk, st.root_pk, 32)) {
    parley_fail(err, PARLEY_E_AUTH_FORBIDDEN, "only the root key of %s may publish its record",
                st.code);
    return PARLEY_QS_HARD;
  }
  parley_sign_pk root;
  memcpy(root.b, st.root_pk, 32);
  if (parley_record_verify(c->record, &root, parley_now(), c->info, err) != PARLEY_E_OK)
    return PARLEY_QS_HARD;
  if (strcmp(c->info->state, st.code) != 0) {
    parley_fail(err, PARLEY_E_RECORD_STATE_MISMATCH, "record is for %s, URL names %s",
                c->info->state, st.code);
    return PARLEY_QS_HARD;
  }
  if (c->info->version <= st.current_version) {
    parley_fail(err, PARLEY_E_RECORD_VERSION, "version %lld is not newer than %lld",
                (long long)c->info->version, (long long)st.current_version);
    return PARLEY_QS_HARD;
  }
  if ((qs = parleyd_log_append(tx, "state-record", c->canonical, c->canonical_len, &c->leaf,
                               err)) != PARLEY_QS_ONE)
    return qs;
  parley_record_row rec = {.version = c->info->version,
                           .body = (char *)c->canonical,
                           .body_len = c->canonical_len,
                           .received = parley_now(),
                           .leaf_index = (int64_t)c->leaf};
  parley_strlcpy(rec.state, st.code, sizeof rec.state);
  qs = parley_store_record_insert(tx, &rec);
  if (qs == PARLEY_QS_NONE) {
    parley_fail(err, PARLEY_E_RECORD_VERSION, "version %lld exists", (long long)rec.version);
    return PARLEY_QS_HARD;
  }
  if (qs < 0) return qs;
  parley_key_row keys[PARLEY_MAX_POCS];
  memset(keys, 0, sizeof keys);
  for (size_t i = 0; i < c->info->n_pocs; i++) {
    parley_sign_pk_key_id(&c->info->pocs[i].sign_pk, keys[i].key_id);
    memcpy(keys[i].pk, c->info->pocs[i].sign_pk.b, 32);
    keys[i].role = PARLEY_ROLE_OFFICER;
    parley_strlcpy(keys[i].state, st.code, sizeof keys[i].state);
    parley_strlcpy(keys[i].poc_id, c->info->pocs[i].id, sizeof keys[i].poc_id);
    parley_strlcpy(keys[i].name, c->info->pocs[i].name, sizeof keys[i].name);
  }
  /* Every POC's key becomes an officer key, or the record is refused whole: a key
   * already registered elsewhere (another state's officer, a root or operator key) must
   * not leave the POCs after it silently without access. */
  if ((qs = parley_store_officers_replace(tx, st.code, keys, c->info->n_pocs)) < 0) return qs;
  if (qs == PARLEY_QS_NONE) {
    parley_key_row other;
    size_t bad = c->info->n_pocs;
    for (size_t i = 0; i < c->info->n_pocs && bad == c->info->n_pocs; i++) {
      parley_qs kq = parley_store_key_get(tx, keys[i].key_id, &other);
      if (kq < 0) return kq;
      if (kq == PARLEY_QS_ONE &&
          (other.role != PARLEY_ROLE_OFFICER || strcmp(other.state, st.code) ||
           strcmp(other.poc_id, keys[i].poc_id)))
        bad = i;
    }
    parley_fail(err, PARLEY_E_RECORD_INVALID,
                "pocs[%zu].signing_key: this key is already registered to another role or state",
                bad < c->info->n_pocs ? bad : 0);
    return PARLEY_QS_HARD;
  }
  st.current_version = c->info->version;
  st.review_by = c->info->review_by;
  st.updated = parley_now();
  if ((qs = parley_store_state_update(tx, &st)) != PARLEY_QS_ONE)
    return qs == PARLEY_QS_NONE ? PARLEY_QS_HARD : qs;
  parley_hash rh;
  parley_sha256(c->canonical, c->canonical_len, &rh);
  char rhash[64];
  parley_b64url_encode(rh.b, 32, rhash, sizeof rhash);
  char rootb[PARLEY_KEY_B64_LEN];
  parley_sign_pk_to_b64(&root, rootb);
  uint64_t dir_leaf;
  if ((qs = parleyd_dir_log(tx,
                            json_pack("{s:s,s:s,s:I,s:s,s:s}", "action", "record", "state", st.code,
                                      "version", (json_int_t)st.current_version, "root_key", rootb,
                                      "record_sha256", rhash),
                            &dir_leaf, err)) != PARLEY_QS_ONE)
    return qs;
  return directory_changed(tx, err);
}

void h_record_put(parleyd_req *r) {
  if (!parley_state_code_valid(r->params[0])) {
    parleyd_reply_error(r, PARLEY_E_STATE_CODE, r->params[0]);
    return;
  }
  json_t *rec = parleyd_parse_body(r);
  if (!rec) return;
  parley_buf canon;
  parley_buf_init(&canon, parleyd->cfg.max_body);
  parley_error err;
  if (parley_jcs(rec, &canon, &err) != PARLEY_E_OK) {
    json_decref(rec);
    parley_buf_free(&canon);
    parleyd_reply_err(r, &err);
    return;
  }
  parley_record_info *info = malloc(sizeof *info);
  publish_ctx c = {r, rec, (const char *)canon.data, canon.len, info, 0};
  parley_err e = info ? parley_store_run_named(parleyd->store, "publish", true, publish, &c, &err)
                      : parley_fail(&err, PARLEY_E_NO_MEMORY, NULL);
  json_decref(rec);
  parley_buf_free(&canon);
  if (e) {
    free(info);
    parleyd_reply_err(r, &err);
    return;
  }
  parley_log(PARLEY_LOG_INFO, "directory.record_published", "state=%s version=%lld leaf=%llu",
             info->state, (long long)info->version, (unsigned long long)c.leaf);
  parleyd_reply_json(r, 201,
                     json_pack("{s:s,s:I,s:I,s:i}", "state", info->state, "version",
                               (json_int_t)info->version, "leaf_index", (json_int_t)c.leaf, "pocs",
                               (int)info->n_pocs));
  free(info);
}

/* ---- GET record ----------------------------------------------------------- */

typedef struct {
  const char *state;
  int64_t version;
  parley_record_row row;
} get_rec_ctx;

static parley_qs get_record(parley_tx *tx, void *cls, parley_error *err) {
  get_rec_ctx *c = cls;
  parley_record_row_clear(&c->row); /* a rerun (retried commit) reads it again */
  parley_qs qs = parley_store_record_get(tx, c->state, c->version, &c->row);
  if (qs == PARLEY_QS_NONE) {
    parley_fail(err, PARLEY_E_NOT_FOUND, "%s has no record%s", c->state,
                c->version ? " of that version" : " yet");
    return PARLEY_QS_HARD;
  }
  return qs;
}

static void reply_record(parleyd_req *r, int64_t version) {
  get_rec_ctx c;
  memset(&c, 0, sizeof c);
  c.state = r->params[0];
  c.version = version;
  parley_error err;
  if (parley_store_run_named(parleyd->store, "get_record", false, get_record, &c, &err) !=
      PARLEY_E_OK) {
    parley_record_row_clear(&c.row); /* read, then the commit failed */
    parleyd_reply_err(r, &err);
    return;
  }
  parleyd_reply_raw(r, 200, "application/json", c.row.body, c.row.body_len);
  parley_record_row_clear(&c.row);
}

void h_record_get(parleyd_req *r) {
  reply_record(r, 0);
}

void h_record_get_version(parleyd_req *r) {
  uint64_t v;
  if (!parley_parse_u64(r->params[1], &v) || v == 0 || v > INT64_MAX) {
    parleyd_reply_error(r, PARLEY_E_INVALID_ARGUMENT, "version: a positive integer");
    return;
  }
  reply_record(r, (int64_t)v);
}
