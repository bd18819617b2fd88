/* GET /app/...: the web app's static files from --web-dir (a flat folder made by the
 * web build: index.html, content-hashed app-*.js and app-*.css, SHA256SUMS).
 *
 * The page is part of the trust model (DESIGN.md): the Content-Security-Policy lets
 * only the bundle's own files run (no inline script, no eval; 'wasm-unsafe-eval'
 * because libsodium runs as WebAssembly), connect only to this hub, and never be
 * framed. index.html pins the hashed files with Subresource Integrity. Only plain
 * file names are served, as sent (no percent-escape): no '/', no leading '.', so no
 * path leaves the folder, and symbolic links are not followed. */
#include <string.h>
#include <unistd.h>

#include "handlers.h"
#include "webapp.h"

#define APP_PREFIX "/app/"

/* Served by the hub itself, the page talks to this hub only. */
static void strict_headers(struct MHD_Response *resp) {
  char csp[512];
  if (webapp_csp(csp, sizeof csp, NULL)) webapp_strict_headers(resp, csp);
}

static void not_found(parleyd_req *r, const char *detail) {
  static const char body[] = "{\"code\":\"NOT_FOUND\",\"hint\":\"no such resource\"}";
  struct MHD_Response *resp =
      MHD_create_response_from_buffer(sizeof body - 1, (void *)body, MHD_RESPMEM_PERSISTENT);
  if (resp) {
    MHD_add_response_header(resp, "Content-Type", "application/json");
    strict_headers(resp);
  }
  parley_log(PARLEY_LOG_DEBUG, "app.not_found", "detail=%s", detail);
  parleyd_reply_response(r, 404, resp);
}

void h_app(parleyd_req *r) {
  if (strcmp(r->url, "/app") == 0) { /* relative URLs in the page need the slash */
    struct MHD_Response *resp = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
    if (resp) {
      MHD_add_response_header(resp, "Location", APP_PREFIX);
      strict_headers(resp);
    }
    parleyd_reply_response(r, 301, resp);
    return;
  }
  /* Served names never need a percent-escape, and "/app%2F.." is how a path would try
   * to smuggle a separator: refuse any in the path as sent. */
  size_t path_len = strcspn(r->raw_uri, "?");
  if (memchr(r->raw_uri, '%', path_len)) {
    not_found(r, "percent-escape in the path");
    return;
  }
  if (strncmp(r->url, APP_PREFIX, sizeof APP_PREFIX - 1) != 0) {
    not_found(r, "outside /app/");
    return;
  }
  const char *name = r->url + sizeof APP_PREFIX - 1;
  if (!*name) name = "index.html";
  const char *type = webapp_content_type(name);
  if (!webapp_name_ok(name) || !type) {
    not_found(r, "not a servable file name");
    return;
  }
  if (!parleyd->cfg.web_dir[0]) {
    not_found(r, "no --web-dir");
    return;
  }
  uint64_t size = 0;
  int fd = webapp_open(parleyd->cfg.web_dir, name, &size);
  if (fd < 0) {
    not_found(r, name);
    return;
  }
  /* MHD owns fd from here and closes it when the answer is sent. */
  struct MHD_Response *resp = MHD_create_response_from_fd(size, fd);
  if (!resp) {
    close(fd);
    parleyd_reply_error(r, PARLEY_E_NO_MEMORY, "web app file");
    return;
  }
  MHD_add_response_header(resp, "Content-Type", type);
  strict_headers(resp);
  /* Hashed names never change content: cache them for good. index.html and the sums
   * name the current release, so they are fetched afresh every time. */
  bool hashed = webapp_is_hashed(name);
  MHD_add_response_header(resp, "Cache-Control",
                          hashed ? "public, max-age=31536000, immutable" : "no-store");
  parleyd_reply_response(r, 200, resp);
}
