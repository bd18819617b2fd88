/* Request authentication: RFC 9421 signatures over @method, @target-uri and
 * content-digest; keys looked up in the store; nonces refused on replay; budgets
 * charged; the route's roles enforced. Order matters: nothing from the request is
 * trusted, no budget charged and no store write made before the signature verifies;
 * all of it happens on the headers, before the body is read. A write records its
 * request's nonce in its own transaction (parleyd_tx_nonce), so a replay is refused
 * after a restart too. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "budget.h"
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

/* Replay across restarts. Nonces of reads live in memory, so a new process refuses
 * every signature created before it started (not_before; http.c waits for a whole
 * second first, so the previous process accepted none created at or after it). A
 * signature dated ahead of the clock would break that argument: the previous process
 * may have accepted one created up to sig_future_s after this one started. Its nonce
 * is therefore journaled to disk before it is accepted (nonce_cache.c), and the journal
 * is loaded at start. */
static int64_t not_before;

/* Several instances on one store: every nonce is also claimed in the store
 * (parley_store_request_nonce_claim), so a request replayed to another instance, or to
 * this one after a restart, is refused there. The claim
 * outlives the signature window by a margin for clock differences between instances. */
#define SHARED_NONCE_SKEW_S 60

static bool shared_nonces;

parley_err parleyd_auth_start(parley_error *err) {
  shared_nonces = parley_store_shared(parleyd->store);
  not_before = parley_now(); /* kept with shared nonces too: one more line of defence */
  parleyd_budget_limits lim = {
      .key_rate = parleyd->cfg.key_rate,
      .key_burst = parleyd->cfg.key_burst,
      .key_nonces = parleyd->cfg.key_nonces,
      .nonce_horizon_s = parleyd->cfg.sig_window_s + parleyd->cfg.sig_future_s + 1,
      .state_bytes_per_day = parleyd->cfg.state_bytes_per_day,
  };
  parleyd_budget_init(&lim);
  char path[600];
  if (snprintf(path, sizeof path, "%s/nonces-ahead", parleyd->cfg.data_dir) >= (int)sizeof path ||
      !parleyd_nonce_journal_open(path, not_before))
    return parley_fail(err, PARLEY_E_CONFIG, "cannot open the nonce journal %s", path);
  return PARLEY_E_OK;
}

void parleyd_auth_stop(void) {
  parleyd_nonce_journal_close();
  parleyd_budget_free();
}

/* The one route whose bodies are stored: its Content-Length is charged to the state's
 * daily budget before the body is read. */
static bool stores_body(const parleyd_req *r) {
  return strcmp(r->route->method, "POST") == 0 && strcmp(r->route->pattern, "/v1/messages") == 0;
}

bool parleyd_authenticate_head(parleyd_req *r, uint64_t content_length) {
  /* The default public URL names the port bound at start: until it is set, a signature's
   * @target-uri cannot be checked (a client reconnecting at once retries). */
  if (!atomic_load(&parleyd->ready)) {
    parleyd_reply_error_retry(r, PARLEY_E_UNAVAILABLE, "the hub is starting", 1);
    return false;
  }
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

  const parleyd_config *cfg = &parleyd->cfg;
  parley_httpsig_params sp;
  parley_error err;
  bool has_body = content_length > 0;
  int64_t now = parley_now();
  if (parley_httpsig_parse_request(&req, PARLEY_HTTPSIG_LABEL, &sp, &err) != PARLEY_E_OK ||
      parley_httpsig_check_policy_skew(&sp, now, cfg->sig_window_s, cfg->sig_future_s, has_body,
                                       &err) != PARLEY_E_OK) {
    parleyd_reply_err(r, &err);
    return false;
  }
  if (sp.created < not_before) {
    char d[128];
    snprintf(d, sizeof d, "created %lld is before this hub process started (%lld)",
             (long long)sp.created, (long long)not_before);
    parleyd_reply_error(r, PARLEY_E_AUTH_STALE, d);
    return false;
  }
  key_lookup k;
  memset(&k, 0, sizeof k);
  k.keyid = sp.keyid;
  if (parley_store_run_named(parleyd->store, "get_key", false, get_key, &k, &err) != PARLEY_E_OK) {
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
  /* From here the key is who it says. Its nonce share first: a key that floods fills
   * only its own share of the nonce table. The share is charged once the nonce proved
   * new, so that replays cannot use it up; a nonce then recorded stays spent even if a
   * later check refuses the request. */
  int64_t expires = sp.created + cfg->sig_window_s + 1; /* refused as stale after that */
  unsigned retry = parleyd_budget_nonce_room(k.key.key_id, now);
  if (retry) {
    char d[128];
    snprintf(d, sizeof d, "this key holds %u unexpired request nonces, its share", cfg->key_nonces);
    parleyd_reply_error_retry(r, PARLEY_E_NONCE_BUDGET, d, retry);
    return false;
  }
  parleyd_nonce_result nr = sp.created > now
                                ? parleyd_nonce_check_durable(sp.keyid, sp.nonce, now, expires)
                                : parleyd_nonce_check(sp.keyid, sp.nonce, now, expires);
  if (nr == PARLEYD_NONCE_NEW && shared_nonces) {
    parley_qs cq = parley_store_request_nonce_claim(
        parleyd->store, k.key.key_id, sp.nonce, expires + cfg->sig_future_s + SHARED_NONCE_SKEW_S);
    if (cq == PARLEY_QS_NONE) nr = PARLEYD_NONCE_SEEN;
    if (cq < 0) {
      parleyd_reply_error_retry(r, PARLEY_E_UNAVAILABLE, "the store cannot record the nonce now",
                                1);
      return false;
    }
  }
  switch (nr) {
  case PARLEYD_NONCE_NEW:
    parleyd_budget_nonce_charge(k.key.key_id, now, expires);
    break;
  case PARLEYD_NONCE_SEEN:
    parleyd_reply_error(r, PARLEY_E_AUTH_REPLAY, sp.nonce);
    return false;
  case PARLEYD_NONCE_FULL:
    parleyd_reply_error_retry(r, PARLEY_E_UNAVAILABLE, "too many signed requests in the window", 1);
    return false;
  }
  retry = parleyd_budget_request(k.key.key_id, parley_mono_ns());
  if (retry) {
    char d[128];
    snprintf(d, sizeof d, "more than %u signed requests per second (burst %u) by this key",
             cfg->key_rate, cfg->key_burst);
    parleyd_reply_error_retry(r, PARLEY_E_RATE_LIMITED, d, retry);
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
  /* Only a party allowed to send this body is charged for it, and only then is it read. */
  if (has_body && stores_body(r) && k.key.state[0]) {
    retry = parleyd_budget_bytes(k.key.state, content_length, now);
    if (retry) {
      char d[160];
      snprintf(d, sizeof d, "state %s: %llu bytes of messages per day (UTC); this body is %llu",
               k.key.state, (unsigned long long)cfg->state_bytes_per_day,
               (unsigned long long)content_length);
      parleyd_reply_error_retry(r, PARLEY_E_STORAGE_BUDGET, d, retry);
      return false;
    }
  }
  r->authenticated = true;
  r->who = k.key;
  parley_strlcpy(r->nonce, sp.nonce, sizeof r->nonce);
  return true;
}

bool parleyd_authenticate_body(parleyd_req *r) {
  if (r->body.len == 0) return true; /* the head step required no digest then */
  parley_error err;
  if (parley_content_digest_check(parleyd_header(r, "content-digest"), r->body.data, r->body.len,
                                  &err) != PARLEY_E_OK) {
    parleyd_reply_err(r, &err);
    return false;
  }
  return true;
}

parley_qs parleyd_tx_nonce_record(parley_tx *tx, const char *key_id, const char *nonce,
                                  parley_error *err) {
  parley_qs qs = parley_store_nonce_insert(tx, key_id, nonce,
                                           parley_now() + 2 * parleyd->cfg.sig_window_s + 1);
  if (qs == PARLEY_QS_NONE) {
    parley_fail(err, PARLEY_E_AUTH_REPLAY, "%s", nonce);
    return PARLEY_QS_HARD;
  }
  return qs;
}

parley_qs parleyd_tx_nonce(parley_tx *tx, parleyd_req *r, parley_error *err) {
  if (!r->authenticated) return PARLEY_QS_ONE;
  return parleyd_tx_nonce_record(tx, r->who.key_id, r->nonce, err);
}
