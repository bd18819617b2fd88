/* GET /app/...: the web app's static files from --web-dir (a flat folder made by the
 * web build: index.html, content-hashed app-*.js and app-*.css, SHA256SUMS).
 *
 * The page is part of the trust model (DESIGN.md): the Content-Security-Policy lets
 * only the bundle's own files run (no inline script, no eval; 'wasm-unsafe-eval'
 * because libsodium runs as WebAssembly), connect only to this hub, and never be
 * framed. index.html pins the hashed files with Subresource Integrity. Only plain
 * file names are served, as sent (no percent-escape): no '/', no leading '.', so no
 * path leaves the folder, and symbolic links are not followed. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "handlers.h"

#define APP_PREFIX "/app/"
#define APP_NAME_MAX 128
#define APP_FILE_MAX (32u << 20)

static const char app_csp[] =
    "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; "
    "img-src 'self' blob: data:; font-src 'self'; connect-src 'self'; form-action 'none'; "
    "frame-ancestors 'none'; base-uri 'none'; require-trusted-types-for 'script'; "
    "trusted-types 'none'";

static const struct {
  const char *ext;
  const char *type;
} types[] = {
    {".html", "text/html; charset=utf-8"},
    {".js", "text/javascript; charset=utf-8"},
    {".css", "text/css; charset=utf-8"},
    {".json", "application/json"},
    {".svg", "image/svg+xml"},
    {".png", "image/png"},
    {".woff2", "font/woff2"},
    {".wasm", "application/wasm"},
};

/* The file's content type, or NULL for a name we do not serve. */
static const char *content_type(const char *name) {
  if (strcmp(name, "SHA256SUMS") == 0) return "text/plain; charset=utf-8";
  const char *dot = strrchr(name, '.');
  if (!dot) return NULL;
  for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
    if (strcmp(dot, types[i].ext) == 0) return types[i].type;
  return NULL;
}

/* A plain file name: [A-Za-z0-9._-], not starting with '.', at most APP_NAME_MAX. */
static bool name_ok(const char *name) {
  size_t n = strlen(name);
  if (n == 0 || n > APP_NAME_MAX || name[0] == '.') return false;
  for (size_t i = 0; i < n; i++) {
    char c = name[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

/* Headers every answer under /app/ carries, errors included. */
static void strict_headers(struct MHD_Response *resp) {
  MHD_add_response_header(resp, "Content-Security-Policy", app_csp);
  MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
  MHD_add_response_header(resp, "X-Frame-Options", "DENY");
  MHD_add_response_header(resp, "Cross-Origin-Opener-Policy", "same-origin");
  MHD_add_response_header(resp, "Cross-Origin-Resource-Policy", "same-origin");
  /* X-Content-Type-Options: nosniff is added to every answer by the HTTP layer. */
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
  const char *type = content_type(name);
  if (!name_ok(name) || !type) {
    not_found(r, "not a servable file name");
    return;
  }
  if (!parleyd->cfg.web_dir[0]) {
    not_found(r, "no --web-dir");
    return;
  }
  int dir = open(parleyd->cfg.web_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir < 0) {
    parley_log(PARLEY_LOG_WARN, "app.web_dir", "dir=%s error=%s", parleyd->cfg.web_dir,
               strerror(errno));
    not_found(r, "the web app is not installed");
    return;
  }
  int fd = openat(dir, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
  close(dir);
  struct stat st;
  if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size < 0 ||
      (uint64_t)st.st_size > APP_FILE_MAX) {
    if (fd >= 0) close(fd);
    not_found(r, name);
    return;
  }
  /* MHD owns fd from here and closes it when the answer is sent. */
  struct MHD_Response *resp = MHD_create_response_from_fd((uint64_t)st.st_size, fd);
  if (!resp) {
    close(fd);
    parleyd_reply_error(r, PARLEY_E_NO_MEMORY, "web app file");
    return;
  }
  MHD_add_response_header(resp, "Content-Type", type);
  strict_headers(resp);
  /* Hashed names never change content: cache them for good. index.html and the sums
   * name the current release, so they are fetched afresh every time. */
  bool hashed = strncmp(name, "app-", 4) == 0 || strncmp(name, "asset-", 6) == 0;
  MHD_add_response_header(resp, "Cache-Control",
                          hashed ? "public, max-age=31536000, immutable" : "no-store");
  parleyd_reply_response(r, 200, resp);
}
