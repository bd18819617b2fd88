/* libparley proto: the signed objects of the protocol (docs/protocol.md).
 *
 * Signed JSON: an object whose "signature" member is base64url(Ed25519(sk,
 * "parley/v1/<purpose>\n" || JCS(object without "signature"))). Each kind of object has
 * its own purpose string, so a signature can never be replayed in another context. */
#ifndef PARLEY_PROTO_H
#define PARLEY_PROTO_H

#include <jansson.h>

#include "parley/base.h"
#include "parley/crypto.h"

/* Purpose strings. */
#define PARLEY_PURPOSE_STATE_RECORD "state-record"
#define PARLEY_PURPOSE_ENCRYPTION_KEY "encryption-key"
#define PARLEY_PURPOSE_ROOT_ROTATION "root-rotation"

/* Sets obj["signature"] to the signature over obj without it. obj must be signable. */
parley_err parley_signed_json_sign(json_t *obj, const char *purpose, const parley_sign_sk *sk,
                                   parley_error *err);
/* Verifies obj["signature"] with pk. CRYPTO_BAD_SIGNATURE names the purpose. */
parley_err parley_signed_json_verify(const json_t *obj, const char *purpose,
                                     const parley_sign_pk *pk, parley_error *err);

/* ---- state records -------------------------------------------------------- */

#define PARLEY_MAX_POCS 64
#define PARLEY_MAX_ORGS 16
#define PARLEY_POC_ID_MAX 63
#define PARLEY_MAX_INSTRUMENTS 16
#define PARLEY_INSTRUMENT_ID_MAX 64

extern const char *const parley_regions[];   /* UN regional groups, NULL-terminated */
extern const char *const parley_poc_roles[]; /* "diplomatic", "technical", ... */
extern const char *const parley_org_kinds[];

/* True for three upper-case ASCII letters (ISO 3166-1 alpha-3 shape). */
bool parley_state_code_valid(const char *s);

typedef struct {
  char id[PARLEY_POC_ID_MAX + 1];
  char name[128];
  unsigned roles; /* bit i = parley_poc_roles[i] */
  parley_sign_pk sign_pk;
  parley_box_pk box_pk;
  int64_t box_expires;
} parley_poc_info;

/* What the hub and clients need from a verified record. */
typedef struct {
  char state[4];
  int64_t version;
  int64_t updated;
  int64_t review_by;
  size_t n_pocs;
  parley_poc_info pocs[PARLEY_MAX_POCS];
} parley_record_info;

/* Checks a state record completely: shape and bounds of every field (the error names
 * the field), the root-key signature (RECORD_SIGNATURE), and each POC's encryption key
 * signature by that POC's signing key and its expiry against `now` (RECORD_ENC_KEY).
 * Fills *out when out is non-NULL. */
parley_err parley_record_verify(const json_t *rec, const parley_sign_pk *root, int64_t now,
                                parley_record_info *out, parley_error *err);

/* The entry of `instrument` in a record's cooperation profile
 * ("cooperation": {"instruments": [{"id", "declarations"?, "contact_24x7",
 * "central_authority": {"name", "email"?, "phone"?}}], "request_languages": [...]}),
 * or NULL when the record does not list it. Read it from a verified record only. */
const json_t *parley_record_instrument(const json_t *rec, const char *instrument);

/* Signs a POC's encryption key: {"state","poc","key","expires"} with the POC's signing
 * key (purpose encryption-key); returns the object to put in the record as
 * "encryption_key". */
json_t *parley_enc_key_new(const char *state, const char *poc, const parley_box_pk *box,
                           int64_t expires, const parley_sign_sk *poc_sk);

#endif
