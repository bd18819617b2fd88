/* The hub's side of the transparency log: appends in the caller's transaction
 * (so no write exists without its leaf, and no leaf without its write), stores the
 * interior nodes each append completes, signs checkpoints. */
#include <string.h>

#include "handlers.h"
#include "parley/json.h"
#include "parley/tlog.h"

/* Entry = kind || "\n" || payload, where payload is SHA-256 of the object for
 * directory records, envelopes and acknowledgements (the log shows that something was
 * written, never what or between whom) and the event itself for operator events. */
static parley_qs append_entry(parley_tx *tx, const char *kind, const uint8_t *entry, size_t len,
                              uint64_t *leaf, parley_error *err) {
  return parley_store_tlog_append(tx, kind, entry, len, parley_now(), leaf, err);
}

parley_qs parleyd_log_entry(parley_tx *tx, const char *kind, const void *entry, size_t len,
                            uint64_t *leaf, parley_error *err) {
  if (len > PARLEY_TILE_ENTRY_MAX) {
    parley_fail(err, PARLEY_E_TOO_LARGE, "log entry of %zu bytes", len);
    return PARLEY_QS_HARD;
  }
  return append_entry(tx, kind, entry, len, leaf, err);
}

parley_qs parleyd_log_append(parley_tx *tx, const char *kind, const void *object, size_t len,
                             uint64_t *leaf, parley_error *err) {
  uint8_t entry[64 + 32];
  size_t k = strlen(kind);
  if (k > 63) return PARLEY_QS_HARD;
  memcpy(entry, kind, k);
  entry[k] = '\n';
  parley_hash h;
  parley_sha256(object, len, &h);
  memcpy(entry + k + 1, h.b, 32);
  return append_entry(tx, kind, entry, k + 1 + 32, leaf, err);
}

parley_qs parleyd_log_event(parley_tx *tx, const char *event, const char *subject, uint64_t *leaf,
                            parley_error *err) {
  char ts[PARLEY_TIME_LEN];
  parley_time_format(parley_now(), ts);
  json_t *o = json_pack("{s:s,s:s,s:s}", "event", event, "subject", subject, "time", ts);
  parley_buf b;
  parley_buf_init(&b, PARLEY_TILE_ENTRY_MAX);
  parley_qs qs = PARLEY_QS_HARD;
  if (o && parley_buf_puts(&b, "event\n") == PARLEY_E_OK && parley_jcs(o, &b, err) == PARLEY_E_OK)
    qs = append_entry(tx, "event", b.data, b.len, leaf, err);
  json_decref(o);
  parley_buf_free(&b);
  return qs;
}
