/* The route table: every resource parleyd serves, who may call it, and its handler. */
#include <string.h>

#include "clocks.h"
#include "handlers.h"
#include "hub.h"

const parleyd_route parleyd_routes[] = {
    {"GET", "/", h_home, PARLEYD_AUTH_PUBLIC, "home"},
    {"GET", "/app", h_app, PARLEYD_AUTH_PUBLIC, "app_redirect"},
    {"GET", "/app/", h_app, PARLEYD_AUTH_PUBLIC, "app_index"},
    {"GET", "/app/*", h_app, PARLEYD_AUTH_PUBLIC, "app_file"},
    {"GET", "/healthz", h_healthz, PARLEYD_AUTH_PUBLIC, "healthz"},
    {"GET", "/metrics", h_metrics, PARLEYD_AUTH_PUBLIC, "metrics"},
    {"GET", "/v1/whoami", h_whoami, PARLEYD_AUTH_ANY, "whoami"},
    {"POST", "/v1/states", h_state_add, PARLEYD_AUTH_OPERATOR, "state_add"},
    {"GET", "/v1/states", h_state_list, PARLEYD_AUTH_ANY, "state_list"},
    {"GET", "/v1/states/{}", h_state_get, PARLEYD_AUTH_ANY, "state_get"},
    {"POST", "/v1/states/{}/suspend", h_state_suspend, PARLEYD_AUTH_OPERATOR, "state_suspend"},
    {"POST", "/v1/states/{}/activate", h_state_activate, PARLEYD_AUTH_OPERATOR, "state_activate"},
    {"POST", "/v1/states/{}/root-key", h_state_root_key, PARLEYD_AUTH_OPERATOR | PARLEYD_AUTH_ROOT,
     "state_root_key"},
    {"PUT", "/v1/states/{}/record", h_record_put, PARLEYD_AUTH_ROOT, "record_put"},
    {"GET", "/v1/states/{}/record", h_record_get, PARLEYD_AUTH_ANY, "record_get"},
    {"GET", "/v1/states/{}/records/{}", h_record_get_version, PARLEYD_AUTH_ANY, "record_version"},
    {"GET", "/v1/directory/search", h_directory_search, PARLEYD_AUTH_ANY, "directory_search"},
    {"GET", "/v1/directory/export", h_directory_export, PARLEYD_AUTH_ANY, "directory_export"},
    {"GET", "/v1/reports/stale", h_report_stale, PARLEYD_AUTH_OPERATOR, "report_stale"},
    {"POST", "/v1/messages", h_message_submit, PARLEYD_AUTH_OFFICER, "message_submit"},
    {"GET", "/v1/inbox", h_inbox, PARLEYD_AUTH_OFFICER, "inbox"},
    {"GET", "/v1/inbox/stream", h_inbox_stream, PARLEYD_AUTH_OFFICER, "inbox_stream"},
    {"GET", "/v1/outbox", h_outbox, PARLEYD_AUTH_OFFICER, "outbox"},
    {"GET", "/v1/messages/{}", h_message_get, PARLEYD_AUTH_OFFICER, "message_get"},
    {"POST", "/v1/messages/{}/ack", h_message_ack, PARLEYD_AUTH_OFFICER, "message_ack"},
    {"GET", "/v1/cases/{}", h_case_get, PARLEYD_AUTH_OFFICER, "case_get"},
    {"GET", "/v1/cases/{}/clocks", h_case_clocks, PARLEYD_AUTH_OFFICER, "case_clocks"},
    {"GET", "/v1/stats", h_stats, PARLEYD_AUTH_OPERATOR | PARLEYD_AUTH_OFFICER, "stats"},
    {"POST", "/v1/pings", h_ping_start, PARLEYD_AUTH_OPERATOR, "ping_start"},
    {"GET", "/v1/pings", h_ping_list, PARLEYD_AUTH_OPERATOR, "ping_list"},
    {"GET", "/v1/pings/trend", h_ping_trend, PARLEYD_AUTH_OPERATOR, "ping_trend"},
    {"GET", "/v1/pings/{}/report", h_ping_report, PARLEYD_AUTH_OPERATOR, "ping_report"},
    {"GET", "/log/key", h_log_key, PARLEYD_AUTH_PUBLIC, "log_key"},
    {"GET", "/log/checkpoint", h_log_checkpoint, PARLEYD_AUTH_PUBLIC, "log_checkpoint"},
    {"GET", "/log/proof", h_log_proof, PARLEYD_AUTH_PUBLIC, "log_proof"},
    {"GET", "/log/consistency", h_log_consistency, PARLEYD_AUTH_PUBLIC, "log_consistency"},
    {"GET", "/log/tile/*", h_log_tile, PARLEYD_AUTH_PUBLIC, "log_tile"},
    {"POST", "/v1/evidence", h_evidence_create, PARLEYD_AUTH_OFFICER, "evidence_create"},
    {"GET", "/v1/evidence", h_evidence_list, PARLEYD_AUTH_OFFICER, "evidence_list"},
    {"GET", "/v1/evidence/{}", h_evidence_get, PARLEYD_AUTH_OFFICER, "evidence_get"},
    {"GET", "/v1/evidence/{}/upload", h_evidence_offset, PARLEYD_AUTH_OFFICER, "evidence_offset"},
    {"PATCH", "/v1/evidence/{}/upload", h_evidence_patch, PARLEYD_AUTH_OFFICER, "evidence_patch"},
    {"DELETE", "/v1/evidence/{}/upload", h_evidence_terminate, PARLEYD_AUTH_OFFICER,
     "evidence_terminate"},
    {"GET", "/v1/evidence/{}/chunks", h_evidence_chunks, PARLEYD_AUTH_OFFICER, "evidence_chunks"},
    {"GET", "/v1/evidence/{}/content", h_evidence_content, PARLEYD_AUTH_OFFICER,
     "evidence_content"},
    {"POST", "/v1/evidence/{}/custody", h_evidence_custody_add, PARLEYD_AUTH_OFFICER,
     "evidence_custody_add"},
    {"GET", "/v1/evidence/{}/custody", h_evidence_custody, PARLEYD_AUTH_OFFICER,
     "evidence_custody"},
    {"POST", "/log/add-cosignature", h_log_add_cosignature, PARLEYD_AUTH_PUBLIC,
     "log_add_cosignature"},
};
const size_t parleyd_n_routes = sizeof parleyd_routes / sizeof parleyd_routes[0];

const char *parleyd_route_body_type(const parleyd_route *route) {
  /* tus 1.0 PATCH bodies: evidence ciphertext chunks */
  return route->handler == h_evidence_patch ? "application/offset+octet-stream" : NULL;
}

/* Matches path against pattern, capturing {} segments into r->params; a final '*'
 * matches any non-empty rest. */
static bool match(const char *pattern, const char *path, parleyd_req *r) {
  size_t np = 0;
  const char *p = pattern, *s = path;
  while (*p && *s) {
    if (p[0] == '*' && p[1] == 0) {
      r->n_params = np; /* the rest of the path, parsed by the handler */
      return true;
    }
    if (p[0] == '{' && p[1] == '}') {
      const char *end = strchr(s, '/');
      size_t len = end ? (size_t)(end - s) : strlen(s);
      if (len == 0 || len >= sizeof r->params[0] || np >= PARLEYD_MAX_PARAMS) return false;
      memcpy(r->params[np], s, len);
      r->params[np][len] = 0;
      np++;
      s += len;
      p += 2;
      continue;
    }
    if (*p != *s) return false;
    p++;
    s++;
  }
  if (*p || *s) return false;
  r->n_params = np;
  return true;
}

int parleyd_route_match(const char *method, const char *path, parleyd_req *r) {
  bool path_matched = false;
  for (size_t i = 0; i < parleyd_n_routes; i++) {
    if (!match(parleyd_routes[i].pattern, path, r)) continue;
    if (strcmp(parleyd_routes[i].method, method) == 0) return (int)i;
    /* HEAD of a public GET (mirrors of the log check what changed); MHD sends no body */
    /* and the tus offset request, HEAD by the protocol, signed like any other */
    if (!strcmp(method, "HEAD") && !strcmp(parleyd_routes[i].method, "GET") &&
        (parleyd_routes[i].auth == PARLEYD_AUTH_PUBLIC ||
         parleyd_routes[i].handler == h_evidence_offset))
      return (int)i;
    path_matched = true;
  }
  return path_matched ? -2 : -1;
}
