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

#endif
