/* parleyd's side of the hub key: in process, or over the signer's Unix socket (wire
 * format in src/signer/wire.h; one request per connection). */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "../signer/wire.h"
#include "hub.h"
#include "parley/proto.h"
#include "signer_client.h"

static _Atomic uint64_t refused_count, unavailable_count;

void parleyd_signer_failures(uint64_t *refused, uint64_t *unavailable) {
  *refused = atomic_load(&refused_count);
  *unavailable = atomic_load(&unavailable_count);
}

bool parleyd_signer_remote(void) {
  return parleyd->cfg.signer_socket[0] != 0;
}

/* One request, one answer. NULL with *err set when the signer cannot be reached or
 * refuses (its code and detail). */
static json_t *ask(json_t *req /* stolen */, parley_error *err) {
  char *frame = json_dumps(req, JSON_COMPACT);
  json_decref(req);
  if (!frame) {
    parley_fail(err, PARLEY_E_NO_MEMORY, NULL);
    return NULL;
  }
  struct sockaddr_un sa;
  memset(&sa, 0, sizeof sa);
  sa.sun_family = AF_UNIX;
  parley_strlcpy(sa.sun_path, parleyd->cfg.signer_socket, sizeof sa.sun_path);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct timeval tv = {10, 0};
  char *ans = NULL;
  size_t len = 0;
  if (fd >= 0) {
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0 &&
        parley_signer_send(fd, frame, strlen(frame)))
      ans = parley_signer_recv(fd, &len);
  }
  int saved = errno;
  if (fd >= 0) close(fd);
  free(frame);
  if (!ans) {
    parley_fail(err, PARLEY_E_SIGNER_UNAVAILABLE, "%s: %s", parleyd->cfg.signer_socket,
                saved ? strerror(saved) : "no answer");
    parley_log(PARLEY_LOG_ERROR, "signer.unavailable", "detail=\"%s\"", err->detail);
    atomic_fetch_add(&unavailable_count, 1);
    return NULL;
  }
  json_t *j = json_loadb(ans, len, 0, NULL);
  free(ans);
  if (!json_is_object(j)) {
    json_decref(j);
    parley_fail(err, PARLEY_E_SIGNER_UNAVAILABLE, "the signer's answer is not a JSON object");
    return NULL;
  }
  if (!json_is_true(json_object_get(j, "ok"))) {
    const char *code = json_string_value(json_object_get(j, "code"));
    const char *detail = json_string_value(json_object_get(j, "detail"));
    parley_fail(err,
                code && strcmp(code, "SIGNER_UNAVAILABLE") == 0 ? PARLEY_E_SIGNER_UNAVAILABLE
                                                                : PARLEY_E_SIGNER_REFUSED,
                "%s", detail ? detail : "refused");
    parley_log(PARLEY_LOG_ERROR, "signer.refused", "detail=\"%s\"", err->detail);
    atomic_fetch_add(err->code == PARLEY_E_SIGNER_REFUSED ? &refused_count : &unavailable_count, 1);
    json_decref(j);
    return NULL;
  }
  return j;
}

parley_err parleyd_signer_start(parley_error *err) {
  json_t *a = ask(json_pack("{s:s}", "op", "info"), err);
  if (!a) return err->code;
  const char *pk = json_string_value(json_object_get(a, "sign_pk"));
  const char *origin = json_string_value(json_object_get(a, "origin"));
  parley_err e = PARLEY_E_OK;
  if (!pk || parley_sign_pk_from_b64(pk, &parleyd->hub_key.sign_pk) != PARLEY_E_OK)
    e = parley_fail(err, PARLEY_E_SIGNER_UNAVAILABLE, "the signer sent no public key");
  else if (!origin || strcmp(origin, parleyd->cfg.origin) != 0)
    e = parley_fail(err, PARLEY_E_CONFIG, "the signer signs for origin %s, this hub is %s",
                    origin ? origin : "(none)", parleyd->cfg.origin);
  else
    parley_sign_pk_key_id(&parleyd->hub_key.sign_pk, parleyd->hub_key_id);
  json_decref(a);
  return e;
}

void parleyd_hub_note_verifier(parley_note_verifier *v) {
  memset(v, 0, sizeof *v);
  parley_strlcpy(v->name, parleyd->cfg.origin, sizeof v->name);
  memcpy(v->public_key, parleyd->hub_key.sign_pk.b, 32);
  /* C2SP signed-note: key id = SHA-256(name || "\n" || 0x01 || key)[:4], big-endian */
  parley_sha256_ctx c;
  parley_hash h;
  parley_sha256_init(&c);
  parley_sha256_update(&c, v->name, strlen(v->name));
  parley_sha256_update(&c, "\n\x01", 2);
  parley_sha256_update(&c, v->public_key, 32);
  parley_sha256_final(&c, &h);
  v->key_id = (uint32_t)h.b[0] << 24 | (uint32_t)h.b[1] << 16 | (uint32_t)h.b[2] << 8 | h.b[3];
}

/* The newest checkpoint this process signed, or found kept outside the store when it
 * started: every checkpoint it signs must extend it. The start-up check runs once; a
 * store rolled back under a running hub (PostgreSQL restored or failed over to a stale
 * replica) must not make it sign a fork, with the key in process or through a signer
 * whose state was reset. */
static pthread_mutex_t last_lock = PTHREAD_MUTEX_INITIALIZER;
static bool last_known;
static uint64_t last_size;
static uint8_t last_root[PARLEY_TLOG_HASH_LEN];

void parleyd_checkpoint_signed(uint64_t size, const uint8_t root[32]) {
  pthread_mutex_lock(&last_lock);
  if (!last_known || size > last_size) {
    last_known = true;
    last_size = size;
    memcpy(last_root, root, sizeof last_root);
  }
  pthread_mutex_unlock(&last_lock);
}

/* PARLEY_QS_ONE when the store's log (tx) extends the last known checkpoint and cp is
 * not smaller: the store's first last_size entries give its root (O(log n) reads). */
static parley_qs extends_last(parley_tx *tx, const parley_checkpoint *cp, parley_error *err) {
  pthread_mutex_lock(&last_lock);
  bool known = last_known;
  uint64_t size = last_size;
  uint8_t root[PARLEY_TLOG_HASH_LEN], have[PARLEY_TLOG_HASH_LEN];
  memcpy(root, last_root, sizeof root);
  pthread_mutex_unlock(&last_lock);
  if (!known) return PARLEY_QS_ONE;
  bool fork = cp->size < size;
  if (!fork && size > 0) {
    parley_error sub;
    parley_err e = parley_tlog_root(parley_store_tlog_hash, tx, size, have, &sub);
    if (e == PARLEY_E_STORE_RETRY) return PARLEY_QS_RETRY;
    fork = e != PARLEY_E_OK || memcmp(have, root, sizeof have) != 0;
  }
  if (!fork) return PARLEY_QS_ONE;
  parley_fail(err, PARLEY_E_SIGNER_REFUSED,
              "refusing to sign a checkpoint of size %llu: the store's log does not extend the "
              "checkpoint of size %llu this hub signed or kept (the store was rolled back, "
              "restored or altered under the running hub; docs/operations.md, section 6)",
              (unsigned long long)cp->size, (unsigned long long)size);
  parley_log(PARLEY_LOG_ERROR, "checkpoint.fork_refused", "size=%llu last_size=%llu",
             (unsigned long long)cp->size, (unsigned long long)size);
  atomic_fetch_add(&refused_count, 1);
  return PARLEY_QS_HARD;
}

parley_qs parleyd_sign_checkpoint(parley_tx *tx, const char *text, size_t len, parley_buf *note,
                                  parley_error *err) {
  parley_checkpoint cp;
  if (parley_checkpoint_parse(text, len, &cp, err) != PARLEY_E_OK) return PARLEY_QS_HARD;
  parley_qs qs = extends_last(tx, &cp, err);
  if (qs < 0) return qs;
  if (!parleyd_signer_remote()) {
    parley_note_signer *s = NULL;
    parley_err e = parley_note_signer_new(parleyd->cfg.origin, parleyd->hub_key.sign_sk.b, &s, err);
    if (!e) e = parley_note_sign(s, text, len, note, err);
    parley_note_signer_free(s);
    if (e) return PARLEY_QS_HARD;
    parleyd_checkpoint_signed(cp.size, cp.root);
    return PARLEY_QS_ONE;
  }
  json_t *info = ask(json_pack("{s:s}", "op", "info"), err);
  if (!info) return PARLEY_QS_HARD;
  uint64_t last = (uint64_t)json_integer_value(json_object_get(info, "size"));
  json_decref(info);
  json_t *proof = json_array();
  if (last > 0 && last < cp.size) {
    static _Thread_local uint8_t p[PARLEY_TLOG_MAX_PROOF][PARLEY_TLOG_HASH_LEN];
    size_t n = 0;
    parley_err e =
        parley_tlog_consistency_proof(parley_store_tlog_hash, tx, last, cp.size, p, &n, err);
    if (e) {
      json_decref(proof);
      return e == PARLEY_E_STORE_RETRY ? PARLEY_QS_RETRY : PARLEY_QS_HARD;
    }
    for (size_t i = 0; i < n; i++) {
      char hex[PARLEY_TLOG_HASH_LEN * 2 + 1];
      parley_hex_encode(p[i], PARLEY_TLOG_HASH_LEN, hex, sizeof hex);
      json_array_append_new(proof, json_string(hex));
    }
  }
  json_t *a =
      ask(json_pack("{s:s,s:s%,s:o}", "op", "checkpoint", "text", text, len, "proof", proof), err);
  if (!a) return PARLEY_QS_HARD;
  const char *n = json_string_value(json_object_get(a, "note"));
  qs = PARLEY_QS_ONE;
  if (!n || parley_buf_append(note, n, strlen(n)) != PARLEY_E_OK) {
    parley_fail(err, PARLEY_E_SIGNER_UNAVAILABLE, "the signer's answer holds no note");
    qs = PARLEY_QS_HARD;
  }
  json_decref(a);
  if (qs == PARLEY_QS_ONE) parleyd_checkpoint_signed(cp.size, cp.root);
  return qs;
}

parley_err parleyd_sign_statement(json_t *obj, const char *purpose, parley_error *err) {
  if (!parleyd_signer_remote())
    return parley_signed_json_sign(obj, purpose, &parleyd->hub_key.sign_sk, err);
  json_t *a =
      ask(json_pack("{s:s,s:s,s:O}", "op", "statement", "purpose", purpose, "object", obj), err);
  if (!a) return err->code;
  json_t *sig = json_object_get(a, "signature");
  parley_err e = json_is_string(sig) && json_object_set(obj, "signature", sig) == 0
                     ? PARLEY_E_OK
                     : parley_fail(err, PARLEY_E_SIGNER_UNAVAILABLE, "no signature in the answer");
  json_decref(a);
  return e;
}

parley_err parleyd_sign_webhook(const char *body, size_t len, parley_sig *sig, parley_error *err) {
  if (!parleyd_signer_remote())
    return parley_sign(&parleyd->hub_key.sign_sk, "webhook", body, len, sig);
  json_t *a = ask(json_pack("{s:s,s:s%}", "op", "webhook", "body", body, len), err);
  if (!a) return err->code;
  const char *s = json_string_value(json_object_get(a, "signature"));
  parley_err e = s && parley_sig_from_b64(s, sig) == PARLEY_E_OK
                     ? PARLEY_E_OK
                     : parley_fail(err, PARLEY_E_SIGNER_UNAVAILABLE, "no signature in the answer");
  json_decref(a);
  return e;
}

parley_err parleyd_signer_last_signed(bool *signed_one, uint64_t *size, uint8_t root[32],
                                      parley_error *err) {
  json_t *a = ask(json_pack("{s:s}", "op", "info"), err);
  if (!a) return err->code;
  const char *hex = json_string_value(json_object_get(a, "root"));
  size_t got = 0;
  *signed_one = json_is_true(json_object_get(a, "signed_one"));
  *size = (uint64_t)json_integer_value(json_object_get(a, "size"));
  parley_err e = PARLEY_E_OK;
  if (!hex || parley_hex_decode(hex, strlen(hex), root, 32, &got) != PARLEY_E_OK || got != 32)
    e = parley_fail(err, PARLEY_E_SIGNER_UNAVAILABLE, "the signer's answer holds no root");
  json_decref(a);
  return e;
}
