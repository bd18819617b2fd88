/* Request authentication: RFC 9421 signatures over @method, @target-uri and
 * content-digest; keys looked up in the store; nonces refused on replay; the route's
 * roles enforced. Order matters: nothing from the request is trusted, and no store
 * write happens, before the signature verifies. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "hub.h"
#include "nonce_cache.h"
#include "parley/httpsig.h"

static const char *lookup(void *ctx, const char *name) {
  return parleyd_header(ctx, name);
}

typedef struct {
  const char *keyid;
  parley_key_row key;
  parley_state_row state;
  bool has_state;
} key_lookup;

static parley_qs get_key(parley_tx *tx, void *cls, parley_error *err) {
  (void)err;
  key_lookup *k = cls;
  parley_qs qs = parley_store_key_get(tx, k->keyid, &k->key);
  if (qs != PARLEY_QS_ONE || !k->key.state[0]) return qs;
  qs = parley_store_state_get(tx, k->key.state, &k->state);
  k->has_state = qs == PARLEY_QS_ONE;
  return qs < 0 ? qs : PARLEY_QS_ONE;
}

/* MHD's lookup finds only the first of repeated fields, where HTTP would join them into
 * one list (RFC 9110 5.3), whose last member wins in a structured dictionary: the two
 * readings differ, so a repeated authentication field is refused. */
static const char *repeated_auth_header(parleyd_req *r) {
  static const char *names[] = {"Signature", "Signature-Input", "Content-Digest"};
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
    if (parleyd_header_count(r, names[i]) > 1) return names[i];
  }
  return NULL;
}

bool parleyd_authenticate(parleyd_req *r) {
  const char *rep = repeated_auth_header(r);
  if (rep) {
    char d[64];
    snprintf(d, sizeof d, "%s sent more than once", rep);
    parleyd_reply_error(r, PARLEY_E_AUTH_MALFORMED, d);
    return false;
  }
  char target[4096], authority[256];
  int n = snprintf(target, sizeof target, "%s%s", parleyd->cfg.public_url, r->raw_uri);
  const char *p = strstr(parleyd->cfg.public_url, "://");
  if (n < 0 || (size_t)n >= sizeof target || !p) {
    parleyd_reply_error(r, PARLEY_E_URI_TOO_LONG, NULL);
    return false;
  }
  parley_strlcpy(authority, p + 3, sizeof authority);
  authority[strcspn(authority, "/")] = 0;
  const char *q = strchr(r->raw_uri, '?');
  parley_httpsig_request req = {r->method, target, authority, r->url, q, lookup, r};

  parley_httpsig_params sp;
  parley_error err;
  bool has_body = r->body.len > 0;
  if (parley_httpsig_parse_request(&req, NULL, &sp, &err) != PARLEY_E_OK ||
      parley_httpsig_check_policy(&sp, parley_now(), parleyd->cfg.sig_window_s, has_body, &err) !=
          PARLEY_E_OK) {
    parleyd_reply_err(r, &err);
    return false;
  }
  key_lookup k;
  memset(&k, 0, sizeof k);
  k.keyid = sp.keyid;
  if (parley_store_run(parleyd->store, false, get_key, &k, &err) != PARLEY_E_OK) {
    parleyd_reply_err(r, &err);
    return false;
  }
  if (!k.key.key_id[0]) {
    parleyd_reply_error(r, PARLEY_E_AUTH_UNKNOWN_KEY, sp.keyid);
    return false;
  }
  if (parley_httpsig_verify(&req, &sp, k.key.pk, &err) != PARLEY_E_OK) {
    parleyd_reply_err(r, &err);
    return false;
  }
  if (has_body && parley_content_digest_check(parleyd_header(r, "content-digest"), r->body.data,
                                              r->body.len, &err) != PARLEY_E_OK) {
    parleyd_reply_err(r, &err);
    return false;
  }
  int64_t now = parley_now();
  /* After created + window the signature is refused as stale: no need to remember it. */
  switch (
      parleyd_nonce_check(sp.keyid, sp.nonce, now, sp.created + parleyd->cfg.sig_window_s + 1)) {
  case PARLEYD_NONCE_NEW:
    break;
  case PARLEYD_NONCE_SEEN:
    parleyd_reply_error(r, PARLEY_E_AUTH_REPLAY, sp.nonce);
    return false;
  case PARLEYD_NONCE_FULL:
    parleyd_reply_error(r, PARLEY_E_UNAVAILABLE, "too many signed requests in the window");
    return false;
  }
  if (!(r->route->auth & (1u << k.key.role))) {
    static const char *roles[] = {"operator", "state root key", "officer"};
    char d[128];
    snprintf(d, sizeof d, "a %s key may not call %s %s", roles[k.key.role], r->method,
             r->route->pattern);
    parleyd_reply_error(r, PARLEY_E_AUTH_FORBIDDEN, d);
    return false;
  }
  if (k.has_state && k.state.status == PARLEY_STATE_SUSPENDED &&
      k.key.role != PARLEY_ROLE_OPERATOR) {
    parleyd_reply_error(r, PARLEY_E_STATE_SUSPENDED, k.state.code);
    return false;
  }
  r->authenticated = true;
  r->who = k.key;
  parley_strlcpy(r->nonce, sp.nonce, sizeof r->nonce);
  return true;
}
