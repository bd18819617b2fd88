#ifndef PARLEYD_NONCE_CACHE_H
#define PARLEYD_NONCE_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum { PARLEYD_NONCE_NEW, PARLEYD_NONCE_SEEN, PARLEYD_NONCE_FULL } parleyd_nonce_result;

bool parleyd_nonce_cache_init(size_t capacity);
void parleyd_nonce_cache_free(void);
/* Records (keyid, nonce) until `expires`; SEEN if it was recorded and has not expired. */
parleyd_nonce_result parleyd_nonce_check(const char *keyid, const char *nonce, int64_t now,
                                         int64_t expires);

/* The durable part: nonces of signatures dated ahead of the hub's clock, which a later
 * process could otherwise accept again (see auth.c). Kept as one line per nonce,
 * "EXPIRES TAG-HEX", in a file appended to and flushed to disk before the request is
 * accepted. Opening loads the unexpired entries into the cache and rewrites the file
 * with only those. */
bool parleyd_nonce_journal_open(const char *path, int64_t now);
void parleyd_nonce_journal_close(void);
/* parleyd_nonce_check, and if NEW, the entry made durable. FULL also when the write
 * fails (logged). */
parleyd_nonce_result parleyd_nonce_check_durable(const char *keyid, const char *nonce, int64_t now,
                                                 int64_t expires);

#endif
