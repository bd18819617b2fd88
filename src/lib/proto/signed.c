/* Signed JSON: signature over "parley/v1/<purpose>\n" || JCS(object without "signature"). */
#include <string.h>

#include "parley/json.h"
#include "parley/proto.h"

#define MAX_SIGNED (1u << 20)

/* JCS of obj minus its "signature" member. */
static parley_err canonical_unsigned(const json_t *obj, parley_buf *out, parley_error *err) {
  if (!json_is_object(obj))
    return parley_fail(err, PARLEY_E_JSON_NOT_OBJECT, "a signed object must be a JSON object");
  json_t *copy = json_copy((json_t *)obj); /* shallow: members are shared, not changed */
  if (!copy) return parley_fail(err, PARLEY_E_NO_MEMORY, NULL);
  json_object_del(copy, "signature");
  parley_err e = parley_jcs(copy, out, err);
  json_decref(copy);
  return e;
}

parley_err parley_signed_json_sign(json_t *obj, const char *purpose, const parley_sign_sk *sk,
                                   parley_error *err) {
  parley_buf b;
  parley_buf_init(&b, MAX_SIGNED);
  parley_err e = canonical_unsigned(obj, &b, err);
  parley_sig sig;
  if (!e) e = parley_sign(sk, purpose, b.data, b.len, &sig);
  parley_buf_free(&b);
  if (e) return err && err->code == e ? e : parley_fail(err, e, "signing %s", purpose);
  char s[PARLEY_SIG_B64_LEN];
  parley_sig_to_b64(&sig, s);
  if (json_object_set_new(obj, "signature", json_string(s)) != 0)
    return parley_fail(err, PARLEY_E_NO_MEMORY, NULL);
  return PARLEY_E_OK;
}

parley_err parley_signed_json_verify(const json_t *obj, const char *purpose,
                                     const parley_sign_pk *pk, parley_error *err) {
  const char *s = json_string_value(json_object_get(obj, "signature"));
  parley_sig sig;
  if (!s || parley_sig_from_b64(s, &sig) != PARLEY_E_OK)
    return parley_fail(err, PARLEY_E_CRYPTO_BAD_SIGNATURE, "%s: missing or malformed 'signature'",
                       purpose);
  parley_buf b;
  parley_buf_init(&b, MAX_SIGNED);
  parley_err e = canonical_unsigned(obj, &b, err);
  if (!e && parley_verify(pk, purpose, b.data, b.len, &sig) != PARLEY_E_OK)
    e = parley_fail(err, PARLEY_E_CRYPTO_BAD_SIGNATURE, "%s: the signature does not verify",
                    purpose);
  parley_buf_free(&b);
  return e;
}
