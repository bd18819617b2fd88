/* POST /v1/states/{code}/root-key: replace a state's root key.
 *   by the state's current root key: {"rotation": <signed statement, purpose
 *     root-rotation: {"format":"parley-root-rotation-v1","state","new_root_key","time"}>}
 *   by the operator (lost key): {"new_root_key", "reason"}; the action, reason and new
 *     key's fingerprint are logged in clear, so every state can see it was done. */
#include <string.h>

#include "handlers.h"
#include "parley/json.h"
#include "parley/proto.h"

typedef struct {
  parleyd_req *r;
  json_t *rotation; /* state's statement, or NULL for an operator action */
  const char *reason;
  parley_sign_pk new_root;
  parley_state_row st;
  uint64_t leaf;
} rot_ctx;

static parley_qs rotate(parley_tx *tx, void *cls, parley_error *err) {
  rot_ctx *c = cls;
  parley_qs qs = parleyd_tx_nonce(tx, c->r, err);
  if (qs != PARLEY_QS_ONE) return qs;
  qs = parley_store_state_get(tx, c->r->params[0], &c->st);
  if (qs == PARLEY_QS_NONE) {
    parley_fail(err, PARLEY_E_STATE_UNKNOWN, "%s", c->r->params[0]);
    return PARLEY_QS_HARD;
  }
  if (qs < 0) return qs;
  parley_sign_pk old;
  memcpy(old.b, c->st.root_pk, 32);
  char fpr[PARLEY_FINGERPRINT_HEX_LEN], subject[600];
  parley_sign_pk_fingerprint(&c->new_root, fpr);
  if (c->rotation) {
    /* Only the current root key, signing both the request and the statement. */
    if (c->r->who.role != PARLEY_ROLE_STATE_ROOT || strcmp(c->r->who.state, c->st.code) != 0 ||
        !parley_ct_equal(c->r->who.pk, old.b, 32)) {
      parley_fail(err, PARLEY_E_AUTH_FORBIDDEN, "only the current root key of %s", c->st.code);
      return PARLEY_QS_HARD;
    }
    if (parley_signed_json_verify(c->rotation, PARLEY_PURPOSE_ROOT_ROTATION, &old, NULL) !=
        PARLEY_E_OK) {
      parley_fail(err, PARLEY_E_ROTATION_SIGNATURE, "rotation statement");
      return PARLEY_QS_HARD;
    }
    parley_buf canon;
    parley_buf_init(&canon, 1 << 16);
    if (parley_jcs(c->rotation, &canon, err) != PARLEY_E_OK) {
      parley_buf_free(&canon);
      return PARLEY_QS_HARD;
    }
    qs = parleyd_log_append(tx, "root-rotation", canon.data, canon.len, &c->leaf, err);
    parley_buf_free(&canon);
    snprintf(subject, sizeof subject, "%s new_root_fingerprint=%s by=state", c->st.code, fpr);
  } else {
    if (snprintf(subject, sizeof subject, "%s new_root_fingerprint=%s by=operator:%s reason=%s",
                 c->st.code, fpr, c->r->who.key_id, c->reason) < 0)
      subject[0] = 0;
    qs = PARLEY_QS_ONE;
  }
  if (qs != PARLEY_QS_ONE) return qs;
  uint64_t ev;
  if ((qs = parleyd_log_event(tx, "root-key-rotated", subject, &ev, err)) != PARLEY_QS_ONE)
    return qs;
  if (!c->rotation) c->leaf = ev;
  /* In clear for monitors and witnesses: a rotation carries the statement signed by the
   * old key; an operator replacement names the operator's key and its reason, and is
   * flagged to every client until its user accepts it. */
  char newb[PARLEY_KEY_B64_LEN];
  parley_sign_pk_to_b64(&c->new_root, newb);
  json_t *entry = c->rotation ? json_pack("{s:s,s:s,s:s,s:O}", "action", "rotate", "state",
                                          c->st.code, "root_key", newb, "rotation", c->rotation)
                              : json_pack("{s:s,s:s,s:s,s:s,s:s}", "action", "replace-root",
                                          "state", c->st.code, "root_key", newb, "operator_key_id",
                                          c->r->who.key_id, "reason", c->reason);
  uint64_t dir_leaf;
  if ((qs = parleyd_dir_log(tx, entry, &dir_leaf, err)) != PARLEY_QS_ONE) return qs;
  if (!c->rotation) c->st.root_replaced_at = (int64_t)dir_leaf;
  parley_key_row k;
  memset(&k, 0, sizeof k);
  parley_sign_pk_key_id(&c->new_root, k.key_id);
  if ((qs = parley_store_key_get(tx, k.key_id, &k)) != PARLEY_QS_NONE) {
    if (qs == PARLEY_QS_ONE)
      parley_fail(err, PARLEY_E_STORE_CONFLICT, "the new root key is already registered");
    return qs == PARLEY_QS_ONE ? PARLEY_QS_HARD : qs;
  }
  char old_id[PARLEY_KEY_ID_LEN];
  parley_sign_pk_key_id(&old, old_id);
  if ((qs = parley_store_key_delete(tx, old_id)) < 0) return qs;
  memcpy(k.pk, c->new_root.b, 32);
  k.role = PARLEY_ROLE_STATE_ROOT;
  parley_strlcpy(k.state, c->st.code, sizeof k.state);
  snprintf(k.name, sizeof k.name, "root key of %s", c->st.code);
  if ((qs = parley_store_key_put(tx, &k)) < 0) return qs;
  memcpy(c->st.root_pk, c->new_root.b, 32);
  c->st.updated = parley_now();
  if ((qs = parley_store_state_update(tx, &c->st)) != PARLEY_QS_ONE)
    return qs == PARLEY_QS_NONE ? PARLEY_QS_HARD : qs;
  parley_checkpoint_row cp;
  memset(&cp, 0, sizeof cp);
  qs = parleyd_checkpoint_tx(tx, true, &cp, err);
  parley_checkpoint_row_clear(&cp);
  return qs < 0 ? qs : PARLEY_QS_ONE;
}

void h_state_root_key(parleyd_req *r) {
  json_t *body = parleyd_parse_body(r);
  if (!body) return;
  rot_ctx c;
  memset(&c, 0, sizeof c);
  c.r = r;
  parley_error err;
  c.rotation = json_object_get(body, "rotation");
  if (c.rotation) {
    const char *format, *state;
    int64_t t;
    parley_json_field f[] = {
        PARLEY_FIELD_LINE("format", 64, &format),
        PARLEY_FIELD_LINE("state", 3, &state),
        PARLEY_FIELD_B64URL("new_root_key", c.new_root.b, 32),
        PARLEY_FIELD_TIME("time", &t),
        PARLEY_FIELD_LINE("signature", 128, &format),
    };
    if (parley_json_fields(c.rotation, f, PARLEY_JF_COUNT(f), &err) != PARLEY_E_OK) {
      json_decref(body);
      parleyd_reply_err(r, &err);
      return;
    }
    if (strcmp(state, r->params[0]) != 0) {
      json_decref(body);
      parleyd_reply_error(r, PARLEY_E_RECORD_STATE_MISMATCH, "rotation.state");
      return;
    }
  } else {
    if (r->who.role != PARLEY_ROLE_OPERATOR) {
      json_decref(body);
      parleyd_reply_error(r, PARLEY_E_JSON_FIELD_MISSING,
                          "field 'rotation' is missing: a state rotates its root key with a "
                          "statement signed by the current one");
      return;
    }
    parley_json_field f[] = {
        PARLEY_FIELD_B64URL("new_root_key", c.new_root.b, 32),
        PARLEY_FIELD_LINE("reason", 300, &c.reason),
    };
    if (parley_json_fields(body, f, PARLEY_JF_COUNT(f), &err) != PARLEY_E_OK) {
      json_decref(body);
      parleyd_reply_err(r, &err);
      return;
    }
  }
  parley_err e = parley_store_run_named(parleyd->store, "rotate", true, rotate, &c, &err);
  json_decref(body);
  if (e) {
    parleyd_reply_err(r, &err);
    return;
  }
  char fpr[PARLEY_FINGERPRINT_HEX_LEN];
  parley_sign_pk_fingerprint(&c.new_root, fpr);
  parley_log(PARLEY_LOG_INFO, "directory.root_rotated", "state=%s by=%s fingerprint=%s", c.st.code,
             c.rotation ? "state" : "operator", fpr);
  parleyd_reply_json(r, 200,
                     json_pack("{s:s,s:s,s:I}", "state", c.st.code, "root_fingerprint", fpr,
                               "leaf_index", (json_int_t)c.leaf));
}
