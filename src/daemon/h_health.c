/* GET /healthz and GET /metrics: public, cheap, no secrets. */
#include "handlers.h"

static parley_qs read_log_size(parley_tx *tx, void *cls, parley_error *err) {
  (void)err;
  return parley_store_log_size(tx, cls);
}

void h_healthz(parleyd_req *r) {
  uint64_t size = 0;
  parley_error err;
  if (parley_store_run_named(parleyd->store, "read_log_size", false, read_log_size, &size, &err) !=
      PARLEY_E_OK) {
    parleyd_reply_error(r, PARLEY_E_UNAVAILABLE, "store unavailable");
    return;
  }
  parleyd_reply_json(r, 200,
                     json_pack("{s:s,s:s,s:i,s:I,s:s,s:I}", "status", "ok", "store",
                               parley_store_engine(parleyd->store), "schema",
                               parley_store_schema_version(parleyd->store), "log_size",
                               (json_int_t)size, "origin", parleyd->cfg.origin, "uptime_s",
                               (json_int_t)(parley_now() - parleyd->started)));
}

void h_metrics(parleyd_req *r) {
  parley_buf out;
  parley_buf_init(&out, 4 << 20);
  if (parleyd_metrics_render(&out, parleyd->store) != PARLEY_E_OK) {
    parley_buf_free(&out);
    parleyd_reply_error(r, PARLEY_E_INTERNAL, "metrics");
    return;
  }
  parleyd_reply_raw(r, 200, "text/plain; version=0.0.4", out.data, out.len);
  parley_buf_free(&out);
}

/* GET /v1/whoami: what the hub knows of the signing key (any registered key). */
void h_whoami(parleyd_req *r) {
  static const char *roles[] = {"operator", "state-root", "officer"};
  json_t *o = json_pack("{s:s,s:s,s:s}", "key_id", r->who.key_id, "role", roles[r->who.role % 3],
                        "name", r->who.name);
  if (o && r->who.state[0]) json_object_set_new(o, "state", json_string(r->who.state));
  if (o && r->who.poc_id[0]) json_object_set_new(o, "poc", json_string(r->who.poc_id));
  parleyd_reply_json(r, 200, o);
}
