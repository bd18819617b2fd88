/* Checkpoints: the hub signs one when the log has grown (on the scheduler's interval,
 * or at once after a directory change), each committing to the directory as stored
 * (directory_log.c); at start, a store whose latest checkpoint lacks that commitment
 * gets one. */
#include <stdlib.h>
#include <string.h>

#include "handlers.h"
#include "parley/directory.h"
#include "parley/tlog.h"
#include "signer_client.h"

/* Signs a new checkpoint when the log has grown and the last one is older than the
 * configured interval (or when `force`). Runs inside a write transaction. */
parley_qs parleyd_checkpoint_tx(parley_tx *tx, bool force, parley_checkpoint_row *out,
                                parley_error *err) {
  uint64_t size;
  parley_qs qs = parley_store_log_size(tx, &size);
  if (qs < 0) return qs;
  qs = parley_store_checkpoint_get(tx, 0, out);
  if (qs < 0) return qs;
  int64_t now = parley_now();
  if (qs == PARLEY_QS_ONE &&
      (out->size == size || (!force && now - out->created < parleyd->cfg.checkpoint_interval_s)))
    return PARLEY_QS_ONE;
  parley_checkpoint_row_clear(out);
  parley_checkpoint cp;
  memset(&cp, 0, sizeof cp);
  parley_strlcpy(cp.origin, parleyd->cfg.origin, sizeof cp.origin);
  cp.size = size;
  parley_err e = parley_tlog_root(parley_store_tlog_hash, tx, size, cp.root, err);
  if (e) return e == PARLEY_E_STORE_RETRY ? PARLEY_QS_RETRY : PARLEY_QS_HARD;
  parley_buf text, note, ext;
  parley_buf_init(&text, 4096);
  parley_buf_init(&note, 8192);
  parley_buf_init(&ext, 512);
  if ((qs = parleyd_dir_ext(tx, &ext, err)) < 0) {
    parley_buf_free(&text);
    parley_buf_free(&note);
    parley_buf_free(&ext);
    return qs;
  }
  cp.ext = (const char *)ext.data;
  cp.ext_len = ext.len;
  e = parley_checkpoint_format(&cp, &text, err);
  parley_buf_free(&ext);
  qs = e ? PARLEY_QS_HARD
         : parleyd_sign_checkpoint(tx, (const char *)text.data, text.len, &note, err);
  parley_buf_free(&text);
  if (qs < 0) {
    parley_buf_free(&note);
    return qs;
  }
  out->size = size;
  out->created = now;
  out->note = parley_buf_steal(&note, NULL);
  if (!out->note) return PARLEY_QS_HARD;
  qs = parley_store_checkpoint_put(tx, out);
  return qs < 0 ? qs : PARLEY_QS_ONE;
}

typedef struct {
  bool force;
  parley_checkpoint_row cp;
} cp_ctx;

static parley_qs checkpoint_tx(parley_tx *tx, void *cls, parley_error *err) {
  cp_ctx *c = cls;
  parley_checkpoint_row_clear(&c->cp);
  return parleyd_checkpoint_tx(tx, c->force, &c->cp, err);
}

parley_err parleyd_checkpoint(bool force, parley_checkpoint_row *out, parley_error *err) {
  cp_ctx c;
  memset(&c, 0, sizeof c);
  c.force = force;
  parley_err e =
      parley_store_run_named(parleyd->store, "checkpoint_tx", true, checkpoint_tx, &c, err);
  if (e) {
    parley_checkpoint_row_clear(&c.cp);
    return e;
  }
  *out = c.cp;
  return PARLEY_E_OK;
}

/* At start: the latest checkpoint must carry a directory commitment (a store written
 * before the commitment existed has none): if it does not, one is signed; when the log
 * has not grown since the last checkpoint, an event is logged first, as the hub never
 * signs two checkpoints of one size. A commitment that differs from the directory as
 * stored means the store was altered outside parleyd: said loudly, never re-signed. */
static parley_qs startup_tx(parley_tx *tx, void *cls, parley_error *err) {
  (void)cls;
  parley_checkpoint_row cp;
  memset(&cp, 0, sizeof cp);
  parley_qs qs = parley_store_checkpoint_get(tx, 0, &cp);
  if (qs < 0) return qs;
  bool has_line = false, matches = false;
  if (qs == PARLEY_QS_ONE) {
    parley_note *n = calloc(1, sizeof *n);
    parley_checkpoint c;
    uint64_t count;
    uint8_t root[32];
    parley_error e2;
    has_line = n && parley_note_parse(cp.note, strlen(cp.note), n, &e2) == PARLEY_E_OK &&
               parley_checkpoint_parse(n->text, n->text_len, &c, &e2) == PARLEY_E_OK &&
               parley_dir_ext_parse(&c, &count, root, &e2) == PARLEY_E_OK;
    free(n);
    parley_buf ext;
    parley_buf_init(&ext, 512);
    if (has_line && (qs = parleyd_dir_ext(tx, &ext, err)) == PARLEY_QS_ONE)
      matches = strstr(cp.note, (const char *)ext.data) != NULL;
    parley_buf_free(&ext);
    if (qs < 0) {
      parley_checkpoint_row_clear(&cp);
      return qs;
    }
  }
  if (has_line) {
    if (!matches)
      parley_log(PARLEY_LOG_ERROR, "directory.mismatch",
                 "size=%llu the directory as stored is not the one the latest checkpoint commits "
                 "to: the store was altered outside parleyd",
                 (unsigned long long)cp.size);
    parley_checkpoint_row_clear(&cp);
    return PARLEY_QS_ONE;
  }
  uint64_t size = 0;
  if (cp.note && (qs = parley_store_log_size(tx, &size)) >= 0 && size == cp.size) {
    uint64_t leaf;
    qs = parleyd_log_event(tx, "directory-commitment", "checkpoints now commit to the directory",
                           &leaf, err);
  }
  parley_checkpoint_row_clear(&cp);
  if (qs < 0) return qs;
  qs = parleyd_checkpoint_tx(tx, true, &cp, err);
  parley_checkpoint_row_clear(&cp);
  return qs < 0 ? qs : PARLEY_QS_ONE;
}

parley_err parleyd_dir_startup(parley_error *err) {
  return parley_store_run_named(parleyd->store, "startup_tx", true, startup_tx, NULL, err);
}
