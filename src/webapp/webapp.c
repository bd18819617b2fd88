/* See webapp.h. The page is part of the trust model (docs/threat-model.md): its CSP lets
 * only the bundle's own files run (no inline script, no eval; 'wasm-unsafe-eval' because
 * libsodium runs as WebAssembly), connect only to its origin and the hub, and never be
 * framed; index.html pins the hashed files with Subresource Integrity. Trusted Types
 * allow one policy, parley-sw, which yields only the URL of the bundle's service worker
 * (sw.js, which streams verified downloads to disk). */
#include "webapp.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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

const char *webapp_content_type(const char *name) {
  if (strcmp(name, "SHA256SUMS") == 0) return "text/plain; charset=utf-8";
  const char *dot = strrchr(name, '.');
  if (!dot) return NULL;
  for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
    if (strcmp(dot, types[i].ext) == 0) return types[i].type;
  return NULL;
}

bool webapp_name_ok(const char *name) {
  size_t n = strlen(name);
  if (n == 0 || n > WEBAPP_NAME_MAX || name[0] == '.') return false;
  for (size_t i = 0; i < n; i++) {
    char c = name[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

bool webapp_is_hashed(const char *name) {
  return strncmp(name, "app-", 4) == 0 || strncmp(name, "asset-", 6) == 0;
}

bool webapp_csp(char *out, size_t cap, const char *hub_origin) {
  int n = snprintf(out, cap,
                   "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; "
                   "worker-src 'self'; frame-src 'self'; style-src 'self'; "
                   "img-src 'self' blob: data:; font-src 'self'; connect-src 'self'%s%s; "
                   "form-action 'none'; frame-ancestors 'none'; base-uri 'none'; "
                   "require-trusted-types-for 'script'; trusted-types parley-sw",
                   hub_origin ? " " : "", hub_origin ? hub_origin : "");
  return n > 0 && (size_t)n < cap;
}

void webapp_strict_headers(struct MHD_Response *resp, const char *csp) {
  MHD_add_response_header(resp, "Content-Security-Policy", csp);
  MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
  MHD_add_response_header(resp, "X-Frame-Options", "DENY");
  MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
  MHD_add_response_header(resp, "Cross-Origin-Opener-Policy", "same-origin");
  MHD_add_response_header(resp, "Cross-Origin-Resource-Policy", "same-origin");
}

int webapp_open(const char *dir, const char *name, uint64_t *size) {
  int d = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (d < 0) return -1;
  int fd = openat(d, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
  close(d);
  struct stat st;
  if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size < 0 ||
      (uint64_t)st.st_size > WEBAPP_FILE_MAX) {
    if (fd >= 0) close(fd);
    return -1;
  }
  *size = (uint64_t)st.st_size;
  return fd;
}

static bool hash_fd(int fd, uint8_t out[32]) {
  crypto_hash_sha256_state st;
  crypto_hash_sha256_init(&st);
  unsigned char buf[65536];
  for (;;) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return false;
    if (n == 0) break;
    crypto_hash_sha256_update(&st, buf, (unsigned long long)n);
  }
  crypto_hash_sha256_final(&st, out);
  return true;
}

void webapp_names_free(char **names) {
  for (size_t i = 0; names && names[i]; i++)
    free(names[i]);
  free(names);
}

static bool listed(char **names, const char *name) {
  for (size_t i = 0; names[i]; i++)
    if (strcmp(names[i], name) == 0) return true;
  return false;
}

#define SUMS_MAX_FILES 256

bool webapp_check_folder(const char *dir, uint8_t sums_sha256[32], char ***names_out, char *err,
                         size_t cap) {
  *names_out = NULL;
  uint64_t size;
  int fd = webapp_open(dir, "SHA256SUMS", &size);
  if (fd < 0) {
    snprintf(err, cap, "%s/SHA256SUMS: missing or unreadable (not a web app build?)", dir);
    return false;
  }
  char *text = malloc(size + 1);
  ssize_t got = text ? read(fd, text, size) : -1;
  close(fd);
  if (got < 0 || (uint64_t)got != size) {
    free(text);
    snprintf(err, cap, "%s/SHA256SUMS: cannot read it", dir);
    return false;
  }
  text[size] = '\0';
  crypto_hash_sha256(sums_sha256, (const unsigned char *)text, size);
  char **names = calloc(SUMS_MAX_FILES + 1, sizeof *names);
  size_t n = 0;
  bool ok = names != NULL;
  char *save = NULL;
  for (char *line = strtok_r(text, "\n", &save); ok && line; line = strtok_r(NULL, "\n", &save)) {
    /* "<64 hex>  <name>" as sha256sum writes it */
    char *name = line + 66;
    uint8_t want[32], have[32];
    size_t bin_len = 0;
    if (strlen(line) < 67 || line[64] != ' ' || line[65] != ' ' || !webapp_name_ok(name) ||
        sodium_hex2bin(want, sizeof want, line, 64, NULL, &bin_len, NULL) != 0 || bin_len != 32 ||
        n == SUMS_MAX_FILES) {
      snprintf(err, cap, "%s/SHA256SUMS: a malformed line (or too many files)", dir);
      ok = false;
      break;
    }
    int f = webapp_open(dir, name, &size);
    bool hashed = f >= 0 && hash_fd(f, have);
    if (f >= 0) close(f);
    if (!hashed || sodium_memcmp(want, have, 32) != 0) {
      snprintf(err, cap, "%s/%s: %s", dir, name,
               hashed ? "its SHA-256 differs from SHA256SUMS (altered?)" : "missing or unreadable");
      ok = false;
      break;
    }
    if (!(names[n++] = strdup(name))) ok = false;
  }
  free(text);
  /* a servable file SHA256SUMS does not list would be served unchecked */
  DIR *d = ok ? opendir(dir) : NULL;
  if (ok && !d) {
    snprintf(err, cap, "%s: cannot list the folder", dir);
    ok = false;
  }
  for (struct dirent *e; d && ok && (e = readdir(d));) {
    if (e->d_name[0] == '.' || strcmp(e->d_name, "SHA256SUMS") == 0) continue;
    if (webapp_name_ok(e->d_name) && webapp_content_type(e->d_name) && !listed(names, e->d_name)) {
      snprintf(err, cap, "%s/%s: not listed in SHA256SUMS", dir, e->d_name);
      ok = false;
    }
  }
  if (d) closedir(d);
  if (!ok) {
    webapp_names_free(names);
    return false;
  }
  *names_out = names;
  return true;
}
