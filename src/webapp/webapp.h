/* The web app's static files, as parleyd serves them under /app/ and as `parley web`
 * serves them from the officer's own machine: which names are served and with which
 * type, the headers every answer carries, and the check of a folder against its
 * SHA256SUMS (the list a release publishes). */
#ifndef PARLEY_WEBAPP_H
#define PARLEY_WEBAPP_H

#include <microhttpd.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define WEBAPP_NAME_MAX 128
#define WEBAPP_FILE_MAX (32u << 20)

/* A plain file name: [A-Za-z0-9._-], not starting with '.', at most WEBAPP_NAME_MAX. */
bool webapp_name_ok(const char *name);

/* The file's content type, or NULL for a name that is never served. */
const char *webapp_content_type(const char *name);

/* True for content-hashed names (app-*, asset-*), which never change content. */
bool webapp_is_hashed(const char *name);

/* The Content-Security-Policy of a page whose requests go to its own origin and, when
 * hub_origin is not NULL (scheme://host[:port], checked by the caller), to that hub.
 * Returns false if it does not fit. */
bool webapp_csp(char *out, size_t cap, const char *hub_origin);

/* Adds the headers every answer under /app/ carries, errors included. */
void webapp_strict_headers(struct MHD_Response *resp, const char *csp);

/* Opens dir/name for reading (no symbolic link, a regular file of at most
 * WEBAPP_FILE_MAX bytes). Returns the descriptor and its size, or -1. */
int webapp_open(const char *dir, const char *name, uint64_t *size);

/* Checks every file that dir/SHA256SUMS lists against its SHA-256 and that the folder
 * holds no servable file it does not list. On success *sums_sha256 is the SHA-256 of
 * the SHA256SUMS file itself (what a release publishes) and *names (NULL-terminated,
 * free with webapp_names_free) the listed names. On failure, why in err (cap bytes). */
bool webapp_check_folder(const char *dir, uint8_t sums_sha256[32], char ***names, char *err,
                         size_t cap);
void webapp_names_free(char **names);

#endif
