/* Acknowledgements: a recipient's signed receipt for an envelope (docs/protocol.md §8). */
#include <stdio.h>
#include <string.h>

#include "parley/envelope.h"
#include "parley/json.h"

#define FORMAT_ACK "parley-ack-v1"
#define MAX_ACK_JCS 4096

parley_err parley_ack_new(const char *message_id, const parley_hash *envelope_sha256,
                          const char *state, const char *poc, int64_t time,
                          const parley_identity *signer, json_t **out, parley_error *err) {
  if (!out || !envelope_sha256 || !signer)
    return parley_fail(err, PARLEY_E_INVALID_ARGUMENT, "ack: missing argument");
  *out = NULL;
  if (!message_id || !parley_uuid_valid(message_id))
    return parley_fail(err, PARLEY_E_INVALID_ARGUMENT, "message: a UUID in lower case");
  if (!state || !parley_state_code_valid(state))
    return parley_fail(err, PARLEY_E_INVALID_ARGUMENT, "state: ISO 3166-1 alpha-3");
  if (!parley_poc_id_valid(poc))
    return parley_fail(err, PARLEY_E_INVALID_ARGUMENT, "poc: [a-z0-9-]{1,63}");
  char hash[PARLEY_KEY_B64_LEN], kid[PARLEY_KEY_ID_LEN], t[PARLEY_TIME_LEN];
  if (parley_b64url_encode(envelope_sha256->b, sizeof envelope_sha256->b, hash, sizeof hash))
    return parley_fail(err, PARLEY_E_INTERNAL, "ack: encoding");
  parley_sign_pk_key_id(&signer->sign_pk, kid);
  parley_time_format(time ? time : parley_now(), t);
  json_t *a =
      json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "format", FORMAT_ACK, "message", message_id,
                "envelope_sha256", hash, "state", state, "poc", poc, "key_id", kid, "time", t);
  if (!a) return parley_fail(err, PARLEY_E_NO_MEMORY, NULL);
  parley_err e = parley_signed_json_sign(a, PARLEY_PURPOSE_ACK, &signer->sign_sk, err);
  if (e) {
    json_decref(a);
    return e;
  }
  *out = a;
  return PARLEY_E_OK;
}

static parley_err ack_invalid(parley_error *err) {
  if (err) {
    char d[sizeof err->detail];
    if (snprintf(d, sizeof d, "ack: %s", err->detail) < 0) d[0] = 0;
    parley_fail(err, PARLEY_E_ACK_INVALID, "%s", d);
  }
  return PARLEY_E_ACK_INVALID;
}

parley_err parley_ack_verify(const json_t *ack, const parley_sign_pk *pk, parley_ack_info *info,
                             parley_error *err) {
  static const char *const allowed[] = {"format", "message", "envelope_sha256", "state", "poc",
                                        "key_id", "time",    "signature",       NULL};
  parley_ack_info local;
  if (!info) info = &local;
  memset(info, 0, sizeof *info);
  if (!pk) return parley_fail(err, PARLEY_E_INVALID_ARGUMENT, "no acknowledger key");
  if (!json_is_object(ack))
    return parley_fail(err, PARLEY_E_ACK_INVALID, "an acknowledgement is a JSON object");
  if (parley_json_check_signable(ack, err)) return ack_invalid(err);
  const char *key;
  json_t *v;
  json_object_foreach((json_t *)ack, key, v) {
    const char *const *a = allowed;
    while (*a && strcmp(*a, key) != 0)
      a++;
    if (!*a) return parley_fail(err, PARLEY_E_ACK_INVALID, "ack: unknown member '%.64s'", key);
  }
  const char *format, *message, *state, *poc, *kid, *sig;
  parley_json_field f[] = {
      PARLEY_FIELD_LINE("format", 32, &format),
      PARLEY_FIELD_UUID("message", &message),
      PARLEY_FIELD_B64URL("envelope_sha256", info->envelope_sha256.b, PARLEY_HASH_LEN),
      PARLEY_FIELD_LINE("state", 3, &state),
      PARLEY_FIELD_LINE("poc", PARLEY_POC_ID_MAX, &poc),
      PARLEY_FIELD_LINE("key_id", PARLEY_KEY_ID_LEN - 1, &kid),
      PARLEY_FIELD_TIME("time", &info->time),
      PARLEY_FIELD_LINE("signature", PARLEY_SIG_B64_LEN - 1, &sig),
  };
  if (parley_json_fields(ack, f, PARLEY_JF_COUNT(f), err)) return ack_invalid(err);
  if (strcmp(format, FORMAT_ACK) != 0)
    return parley_fail(err, PARLEY_E_ACK_INVALID, "format: must be " FORMAT_ACK);
  if (!parley_state_code_valid(state))
    return parley_fail(err, PARLEY_E_ACK_INVALID, "state: ISO 3166-1 alpha-3");
  if (!parley_poc_id_valid(poc))
    return parley_fail(err, PARLEY_E_ACK_INVALID, "poc: [a-z0-9-]{1,63}");
  char want[PARLEY_KEY_ID_LEN];
  parley_sign_pk_key_id(pk, want);
  if (strcmp(kid, want) != 0)
    return parley_fail(err, PARLEY_E_ACK_SIGNATURE,
                       "key_id: %.24s is not the key id of the given key", kid);
  if (parley_signed_json_verify(ack, PARLEY_PURPOSE_ACK, pk, NULL) != PARLEY_E_OK)
    return parley_fail(err, PARLEY_E_ACK_SIGNATURE, "signature: does not verify");

  parley_strlcpy(info->message, message, sizeof info->message);
  parley_strlcpy(info->state, state, sizeof info->state);
  parley_strlcpy(info->poc, poc, sizeof info->poc);
  parley_strlcpy(info->key_id, kid, sizeof info->key_id);
  parley_buf b;
  parley_buf_init(&b, MAX_ACK_JCS);
  parley_err e = parley_jcs(ack, &b, err);
  if (!e) parley_sha256(b.data, b.len, &info->hash);
  parley_buf_free(&b);
  return e;
}
