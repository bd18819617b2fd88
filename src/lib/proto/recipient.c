/* A recipient entry, as envelopes' and evidence manifests' "recipients" (and a shared
 * custody event's "recipient") carry one: {"state","poc","key_id"[,"wrapped_key"]}, the
 * key id that of the POC's encryption key, the wrapped key the content key sealed for it
 * (docs/protocol.md §8.2, §13). One place for building, wrapping and parsing it. */
#include <string.h>

#include "parley/envelope.h"
#include "parley/json.h"

bool parley_poc_id_valid(const char *s) {
  size_t n = s ? strlen(s) : 0;
  if (n == 0 || n > PARLEY_POC_ID_MAX) return false;
  for (size_t i = 0; i < n; i++)
    if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
      return false;
  return true;
}

/* 22 base64url characters encoding 16 bytes. */
static bool key_id_ok(const char *s) {
  uint8_t b[16];
  return s && strlen(s) == PARLEY_KEY_ID_LEN - 1 && parley_b64url_decode_exact(s, b, sizeof b) == 0;
}

json_t *parley_recipient_entry(const char *state, const char *poc, const parley_box_pk *box_pk) {
  char kid[PARLEY_KEY_ID_LEN];
  parley_box_pk_key_id(box_pk, kid);
  return json_pack("{s:s,s:s,s:s}", "state", state, "poc", poc, "key_id", kid);
}

parley_err parley_recipient_wrap(json_t *entry, const parley_content_key *key,
                                 const parley_box_pk *box_pk) {
  uint8_t w[PARLEY_WRAPPED_KEY_LEN];
  char s[128];
  if (parley_wrap_key(key, box_pk, w) != PARLEY_E_OK) return PARLEY_E_CRYPTO_BAD_KEY;
  if (!json_is_object(entry) || parley_b64url_encode(w, sizeof w, s, sizeof s) != PARLEY_E_OK ||
      json_object_set_new(entry, "wrapped_key", json_string(s)) != 0)
    return PARLEY_E_NO_MEMORY;
  return PARLEY_E_OK;
}

parley_err parley_party_parse(const json_t *o, const char *where, parley_err code,
                              parley_envelope_party *out, uint8_t *wrapped, parley_error *err) {
  static const char *const plain[] = {"state", "poc", "key_id", NULL};
  static const char *const with_key[] = {"state", "poc", "key_id", "wrapped_key", NULL};
  if (!json_is_object(o)) return parley_fail(err, code, "%s: must be an object", where);
  const char *key;
  json_t *v;
  json_object_foreach((json_t *)o, key, v) {
    const char *const *a = wrapped ? with_key : plain;
    while (*a && strcmp(*a, key) != 0)
      a++;
    if (!*a) return parley_fail(err, code, "%s: unknown member '%.64s'", where, key);
  }
  const char *state, *poc, *key_id;
  parley_json_field f[] = {
      PARLEY_FIELD_LINE("state", 3, &state),
      PARLEY_FIELD_LINE("poc", PARLEY_POC_ID_MAX, &poc),
      PARLEY_FIELD_LINE("key_id", PARLEY_KEY_ID_LEN - 1, &key_id),
      PARLEY_FIELD_B64URL("wrapped_key", wrapped, PARLEY_WRAPPED_KEY_LEN),
  };
  parley_error local;
  if (parley_json_fields(o, f, PARLEY_JF_COUNT(f) - (wrapped ? 0 : 1), &local))
    return parley_fail(err, code, "%s: %s", where, local.detail);
  if (!parley_state_code_valid(state))
    return parley_fail(err, code, "%s.state: ISO 3166-1 alpha-3", where);
  if (!parley_poc_id_valid(poc)) return parley_fail(err, code, "%s.poc: [a-z0-9-]{1,63}", where);
  if (!key_id_ok(key_id))
    return parley_fail(err, code, "%s.key_id: a key id (22 characters)", where);
  parley_strlcpy(out->state, state, sizeof out->state);
  parley_strlcpy(out->poc, poc, sizeof out->poc);
  parley_strlcpy(out->key_id, key_id, sizeof out->key_id);
  return PARLEY_E_OK;
}
