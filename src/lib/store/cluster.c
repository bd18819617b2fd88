/* The store's calls for several processes on one database (store.h, "several
 * processes on one store"): checks here, the work in the engine. */
#include <poll.h>
#include <string.h>

#include "store/backend.h"

bool parley_store_shared(const parley_store *s) {
  return s && s->ops->request_nonce_claim && s->ops->leader && s->ops->wake_send &&
         s->ops->wake_wait;
}

parley_qs parley_store_request_nonce_claim(parley_store *s, const char *key_id, const char *nonce,
                                           int64_t expires) {
  if (!parley_store_shared(s) || !key_id || !nonce) return PARLEY_QS_HARD;
  size_t k = strnlen(key_id, 64), n = strnlen(nonce, PARLEY_STORE_MAX_NONCE + 1);
  if (k == 0 || k >= 64 || n == 0 || n > PARLEY_STORE_MAX_NONCE || !parley_utf8_valid(key_id, k) ||
      !parley_utf8_valid(nonce, n))
    return PARLEY_QS_HARD;
  return s->ops->request_nonce_claim(s->backend, key_id, nonce, expires);
}

bool parley_store_leader(parley_store *s) {
  return !parley_store_shared(s) || s->ops->leader(s->backend);
}

parley_err parley_store_wake_send(parley_store *s, const char *payload) {
  if (!parley_store_shared(s) || !payload) return PARLEY_E_INVALID_ARGUMENT;
  size_t n = strnlen(payload, 8000);
  if (n >= 8000 || !parley_utf8_valid(payload, n)) return PARLEY_E_INVALID_ARGUMENT;
  parley_qs qs = s->ops->wake_send(s->backend, payload);
  return qs < 0 ? (qs == PARLEY_QS_RETRY ? PARLEY_E_STORE_RETRY : PARLEY_E_STORE_HARD)
                : PARLEY_E_OK;
}

int parley_store_wake_wait(parley_store *s, int timeout_ms,
                           void (*cb)(void *cls, const char *payload), void *cls) {
  if (!parley_store_shared(s)) {
    poll(NULL, 0, timeout_ms);
    return -1;
  }
  return s->ops->wake_wait(s->backend, timeout_ms, cb, cls);
}
