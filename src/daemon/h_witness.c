/* Witness lines (docs/tlog.md, "Witnesses"), public:
 *   POST /log/add-cosignature  {"note": "<checkpoint text>\n— <witness> <base64>\n"}
 * The line is either the witness's C2SP cosignature (type 0x04) or its directory
 * statement (parley-directory/v1, type 0xFF): it authenticates itself, for it must
 * verify against one of the hub's configured witness keys (witness_key), and its
 * checkpoint must be one the hub signed. The hub then adds the line to that
 * checkpoint's stored note (one line per witness and type), so that GET
 * /log/checkpoint and every tlog-proof carry it. */
#include <stdlib.h>
#include <string.h>

#include "handlers.h"
#include "log_guard.h"
#include "parley/directory.h"
#include "parley/tlog.h"

typedef enum { LINE_COSIGNATURE, LINE_DIRECTORY } line_type;

static const char *const line_type_name[] = {"cosignature/v1", PARLEY_DIR_WITNESS_ID};

typedef struct {
  const parley_note *sub;         /* the submitted note: checkpoint text + one line */
  const parley_cosig_verifier *w; /* the witness who signed it */
  parley_dir_witness_verifier dw; /* the same witness's directory-statement key */
  line_type type;                 /* what the line is */
  uint64_t size;                  /* its checkpoint's tree size */
  uint64_t ts;                    /* its timestamp */
  bool kept_newer;                /* the hub already held a newer line of this witness and type */
  char *note;                     /* the stored note with the new line (malloc'd) */
  size_t note_len;
} cosig_ctx;

static bool same_key(const parley_note_sig *s, const char *name, uint32_t key_id) {
  return s->key_id == key_id && s->name_len == strlen(name) &&
         memcmp(s->name, name, s->name_len) == 0;
}

/* Verifies the witness's line of c->type in n; its timestamp goes to *ts. */
static parley_err verify_line(const cosig_ctx *c, const parley_note *n, uint64_t *ts,
                              parley_error *err) {
  return c->type == LINE_COSIGNATURE ? parley_cosig_verify(n, c->w, ts, err)
                                     : parley_dir_witness_verify(n, &c->dw, ts, err);
}

static parley_err append_line(parley_buf *b, const parley_note_sig *s) {
  parley_err e = parley_buf_puts(b, "\xe2\x80\x94 "); /* em dash, space */
  if (!e) e = parley_buf_append(b, s->name, s->name_len);
  if (!e) e = parley_buf_puts(b, " ");
  if (!e) e = parley_buf_append(b, s->b64, s->b64_len);
  if (!e) e = parley_buf_puts(b, "\n");
  return e;
}

static parley_qs add_cosig_tx(parley_tx *tx, void *cls, parley_error *err) {
  cosig_ctx *c = cls;
  c->kept_newer = false;
  parley_checkpoint_row row;
  /* Size 0 asks the store for the latest checkpoint: check that it is the empty one. */
  parley_qs qs = parley_store_checkpoint_get(tx, c->size, &row);
  if (qs < 0) return qs;
  if (qs == PARLEY_QS_ONE && row.size != c->size) {
    parley_checkpoint_row_clear(&row);
    qs = PARLEY_QS_NONE;
  }
  if (qs == PARLEY_QS_NONE) {
    parley_fail(err, PARLEY_E_NOT_FOUND, "the hub signed no checkpoint of size %llu",
                (unsigned long long)c->size);
    return PARLEY_QS_HARD;
  }
  parley_note *stored = calloc(1, sizeof *stored);
  if (!stored) {
    parley_checkpoint_row_clear(&row);
    parley_fail(err, PARLEY_E_NO_MEMORY, "note");
    return PARLEY_QS_HARD;
  }
  parley_buf out;
  parley_buf_init(&out, PARLEY_NOTE_MAX_LEN);
  qs = PARLEY_QS_HARD;
  if (parley_note_parse(row.note, strlen(row.note), stored, err) != PARLEY_E_OK) {
    parley_fail(err, PARLEY_E_STORE_HARD, "the stored checkpoint of size %llu does not parse",
                (unsigned long long)c->size);
    goto done;
  }
  /* The whole text (origin, size, root and any extension) must be the hub's. */
  if (stored->text_len != c->sub->text_len ||
      memcmp(stored->text, c->sub->text, stored->text_len) != 0) {
    parley_fail(err, PARLEY_E_NOT_FOUND,
                "the hub signed another checkpoint of size %llu (different root)",
                (unsigned long long)c->size);
    goto done;
  }
  /* One line per witness and type: a newer line replaces an older one, never the reverse. */
  uint64_t old_ts = 0;
  parley_error ignored;
  if (verify_line(c, stored, &old_ts, &ignored) == PARLEY_E_OK && old_ts >= c->ts) {
    c->kept_newer = true;
    qs = PARLEY_QS_NONE;
    goto done;
  }
  parley_err e = parley_buf_append(&out, stored->text, stored->text_len);
  if (!e) e = parley_buf_puts(&out, "\n");
  for (size_t i = 0; i < stored->nsigs && !e; i++)
    if (!same_key(&stored->sigs[i], c->w->name, c->sub->sigs[0].key_id))
      e = append_line(&out, &stored->sigs[i]);
  if (!e) e = append_line(&out, &c->sub->sigs[0]);
  if (e) {
    parley_fail(err, e, "cosigned note");
    goto done;
  }
  parley_checkpoint_row upd = {.size = row.size, .created = row.created, .note = (char *)out.data};
  qs = parley_store_checkpoint_put(tx, &upd);
  if (qs >= 0) {
    free(c->note); /* of an earlier try of this transaction */
    c->note = malloc(out.len + 1);
    if (c->note) {
      memcpy(c->note, out.data, out.len);
      c->note[out.len] = 0;
      c->note_len = out.len;
    }
    qs = PARLEY_QS_ONE;
  }
done:
  parley_buf_free(&out);
  free(stored);
  parley_checkpoint_row_clear(&row);
  return qs;
}

void h_log_add_cosignature(parleyd_req *r) {
  json_t *body = parleyd_parse_body(r);
  if (!body) return;
  json_t *jn = json_object_get(body, "note");
  if (!json_is_string(jn) || json_object_size(body) != 1) {
    json_decref(body);
    parleyd_reply_error(r, PARLEY_E_INVALID_ARGUMENT,
                        "give {\"note\": checkpoint text, blank line, one cosignature line}");
    return;
  }
  const char *text = json_string_value(jn);
  size_t len = json_string_length(jn);
  parley_note *n = calloc(1, sizeof *n);
  parley_error err;
  parley_checkpoint cp;
  if (!n) {
    json_decref(body);
    parleyd_reply_error(r, PARLEY_E_NO_MEMORY, NULL);
    return;
  }
  if (strlen(text) != len) {
    parley_fail(&err, PARLEY_E_TLOG_NOTE, "the note contains a NUL byte");
    goto fail;
  }
  if (parley_note_parse(text, len, n, &err) != PARLEY_E_OK ||
      parley_checkpoint_parse(n->text, n->text_len, &cp, &err) != PARLEY_E_OK)
    goto fail;
  if (n->nsigs != 1) {
    parley_fail(&err, PARLEY_E_TLOG_NOTE, "one cosignature line per request, not %zu", n->nsigs);
    goto fail;
  }
  if (strcmp(cp.origin, parleyd->cfg.origin) != 0) {
    parley_fail(&err, PARLEY_E_NOT_FOUND, "this hub's log is '%s', not '%s'", parleyd->cfg.origin,
                cp.origin);
    goto fail;
  }
  if (cp.size > (uint64_t)INT64_MAX) {
    parley_fail(&err, PARLEY_E_NOT_FOUND, "the hub signed no checkpoint of that size");
    goto fail;
  }
  cosig_ctx c = {.sub = n, .size = cp.size};
  for (size_t i = 0; i < parleyd->cfg.n_witness_keys && !c.w; i++) {
    const parley_cosig_verifier *k = &parleyd->cfg.witness_keys[i];
    parley_dir_witness_verifier_of(k, &c.dw);
    if (same_key(&n->sigs[0], k->name, k->key_id)) {
      c.w = k;
      c.type = LINE_COSIGNATURE;
    } else if (same_key(&n->sigs[0], c.dw.name, c.dw.key_id)) {
      c.w = k;
      c.type = LINE_DIRECTORY;
    }
  }
  if (!c.w) {
    parley_fail(&err, PARLEY_E_AUTH_FORBIDDEN, "'%.*s' (key id %08x) is not a witness of this hub",
                (int)(n->sigs[0].name_len > 255 ? 255 : n->sigs[0].name_len), n->sigs[0].name,
                (unsigned)n->sigs[0].key_id);
    goto fail;
  }
  if (verify_line(&c, n, &c.ts, &err) != PARLEY_E_OK) goto fail;
  /* A line from the future would stay "newest" (see add_cosig_tx): a witness's clock
   * may be off by no more than the request-signature window. */
  if (c.ts > (uint64_t)(parley_now() + parleyd->cfg.sig_window_s)) {
    parley_fail(&err, PARLEY_E_INVALID_ARGUMENT, "the %s line's time %llu is in the future",
                line_type_name[c.type], (unsigned long long)c.ts);
    goto fail;
  }
  if (parley_store_run_named(parleyd->store, "add_cosig_tx", true, add_cosig_tx, &c, &err) !=
      PARLEY_E_OK) {
    free(c.note);
    goto fail;
  }
  /* Kept outside the store for the start-up check after a restore (log_guard.h). */
  if (c.note && !c.kept_newer) parleyd_log_guard_keep_cosigned(c.note, c.note_len, cp.size);
  free(c.note);
  parley_log(PARLEY_LOG_INFO, "log.cosignature", "witness=%s type=%s size=%llu time=%llu%s",
             c.w->name, line_type_name[c.type], (unsigned long long)cp.size,
             (unsigned long long)c.ts, c.kept_newer ? " (a newer one is kept)" : "");
  free(n);
  json_decref(body);
  parleyd_reply_json(r, 200,
                     json_pack("{s:s,s:I,s:s,s:s,s:I,s:b}", "origin", cp.origin, "size",
                               (json_int_t)cp.size, "witness", c.w->name, "type",
                               line_type_name[c.type], "time", (json_int_t)c.ts, "stored",
                               !c.kept_newer));
  return;
fail:
  free(n);
  json_decref(body);
  parleyd_reply_err(r, &err);
}
