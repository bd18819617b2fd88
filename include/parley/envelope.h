/* libparley messages: envelopes (signed header + end-to-end encrypted body) and
 * acknowledgements, as specified in docs/protocol.md §8.
 *
 * Envelope:
 *   {"format":"parley-envelope-v1","id":UUIDv7,"kind":K,"priority":P,
 *    "from":{"state","poc","key_id"},                       sender's SIGNING key id
 *    "recipients":[{"state","poc","key_id","wrapped_key"}],  recipient ENCRYPTION key ids
 *    "case":UUID?,"in_reply_to":UUID?,"created":TIME,"tlp":TLP,
 *    "legal_basis":{"instrument":[a-z0-9-]{1,64},"article":TEXT(1..32 bytes)}?,
 *    "status":CHOICE?,"respond_by":DATE?      (the kind's template's header fields),
 *    "nonce":B64(24),"ciphertext":B64,"ciphertext_sha256":B64(32),"key_commitment":B64(32),
 *    "signature":B64(64)}
 * The signature (purpose "envelope") covers JCS of the envelope without "signature" and
 * without "ciphertext": the header, which binds the ciphertext through ciphertext_sha256.
 * The plaintext is JCS of the body
 *   {"format":"parley-body-v1","id","kind","from","recipients":[{"state","poc","key_id"}],
 *    "language":ISO 639-1,"content":{template fields},"signature":purpose "inner"}
 * whose id, kind, from and recipients equal the header's, so a recipient cannot pass it
 * off as sent to someone else. */
#ifndef PARLEY_ENVELOPE_H
#define PARLEY_ENVELOPE_H

#include <jansson.h>

#include "parley/base.h"
#include "parley/crypto.h"
#include "parley/json.h"
#include "parley/proto.h"

#define PARLEY_PURPOSE_ENVELOPE "envelope"
#define PARLEY_PURPOSE_INNER "inner"
#define PARLEY_PURPOSE_ACK "ack"

#define PARLEY_MAX_RECIPIENTS 32
#define PARLEY_ENVELOPE_MAX_CIPHERTEXT (1024u * 1024u) /* bytes, the AEAD tag included */
#define PARLEY_KIND_MAX 32
/* The legal basis a request is sent under (docs/protocol.md §8.6): an instrument id such
 * as "un-cybercrime-2024" and an article such as "42" or "29(2)". */
#define PARLEY_INSTRUMENT_MAX 64
#define PARLEY_ARTICLE_MAX 32
/* Header copies of template fields (docs/protocol.md §8.1): a status-update's "status"
 * (a choice value) and a request's "respond_by" (a date or an RFC 3339 UTC time). */
#define PARLEY_STATUS_MAX 64
#define PARLEY_RESPOND_BY_MAX 32
/* Parse limits for an envelope as JSON: the base64url ciphertext (up to 1 398 102
 * characters) is longer than the default string limit. */
#define PARLEY_ENVELOPE_MAX_BYTES (1536u * 1024u)
#define PARLEY_ENVELOPE_JSON_LIMITS                                                                \
  ((parley_json_limits){.max_bytes = PARLEY_ENVELOPE_MAX_BYTES,                                    \
                        .max_depth = 8,                                                            \
                        .max_string = PARLEY_ENVELOPE_MAX_BYTES,                                   \
                        .max_items = 1000})

typedef enum {
  PARLEY_PRIORITY_ROUTINE,
  PARLEY_PRIORITY_URGENT,
  PARLEY_PRIORITY_CRITICAL
} parley_priority;
extern const char *const parley_priorities[]; /* "routine", "urgent", "critical", NULL */

/* TLP 2.0; the labels are never translated. */
typedef enum {
  PARLEY_TLP_RED,
  PARLEY_TLP_AMBER_STRICT,
  PARLEY_TLP_AMBER,
  PARLEY_TLP_GREEN,
  PARLEY_TLP_CLEAR
} parley_tlp;
extern const char *const parley_tlp_labels[]; /* "TLP:RED", ..., "TLP:CLEAR", NULL */

/* ---- sealing -------------------------------------------------------------------- */

typedef struct {
  const char *state;    /* ISO 3166-1 alpha-3 */
  const char *poc;      /* POC id in that state's record */
  parley_box_pk box_pk; /* the POC's current encryption key */
} parley_envelope_recipient;

typedef struct {
  const char *kind; /* a template kind */
  parley_priority priority;
  parley_tlp tlp;
  const char *case_id;     /* UUID or NULL */
  const char *in_reply_to; /* UUID or NULL */
  /* Both NULL, or both set: a pair the template of kind allows (LEGAL_BASIS). */
  const char *basis_instrument;
  const char *basis_article;
  const char *from_state;
  const char *from_poc;
  const char *language; /* ISO 639-1 of the writer, lower case */
  size_t n_recipients;  /* 1..PARLEY_MAX_RECIPIENTS, distinct keys */
  const parley_envelope_recipient *recipients;
  int64_t created; /* 0: now */
} parley_envelope_params;

/* Validates the content against the template of p->kind (TEMPLATE_UNKNOWN,
 * TEMPLATE_FIELD) and the parameters; the template's header fields present in the
 * content are copied into the header (ENVELOPE_INVALID naming the parameter) before
 * anything is encrypted; then signs the body (inner), encrypts it under a fresh
 * content key wrapped for each recipient, and signs the header with the sender's
 * signing key. *out receives a new reference (NULL on failure). TOO_LARGE if the
 * ciphertext would exceed PARLEY_ENVELOPE_MAX_CIPHERTEXT. No key or plaintext is left
 * in memory. */
parley_err parley_envelope_seal(const parley_envelope_params *p, const json_t *content,
                                const parley_identity *sender, json_t **out, parley_error *err);

/* ---- verifying (the hub) and opening (a recipient) ------------------------------ */

typedef struct {
  char state[4];
  char poc[PARLEY_POC_ID_MAX + 1];
  char key_id[PARLEY_KEY_ID_LEN];
} parley_envelope_party;

/* ---- recipient entries (recipient.c): {"state","poc","key_id"[,"wrapped_key"]} as
 * envelopes, evidence manifests and shared custody events carry them ---------------- */

/* A POC id: [a-z0-9-]{1,63}. */
bool parley_poc_id_valid(const char *s);
/* {"state","poc","key_id"}, key_id that of box_pk; NULL when out of memory. */
json_t *parley_recipient_entry(const char *state, const char *poc, const parley_box_pk *box_pk);
/* Adds "wrapped_key" to entry: the content key sealed for box_pk (crypto_box_seal).
 * CRYPTO_BAD_KEY if box_pk is unusable, NO_MEMORY. */
parley_err parley_recipient_wrap(json_t *entry, const parley_content_key *key,
                                 const parley_box_pk *box_pk);
/* Parses a party ("from", or a recipient entry) strictly: exactly state, poc, key_id
 * (and "wrapped_key", decoded into wrapped, when wrapped != NULL), each well-formed; any
 * refusal is `code` with a detail naming where and the member. */
parley_err parley_party_parse(const json_t *o, const char *where, parley_err code,
                              parley_envelope_party *out, uint8_t *wrapped, parley_error *err);

typedef struct {
  char id[PARLEY_UUID_LEN];
  char kind[PARLEY_KIND_MAX + 1];
  parley_priority priority;
  parley_tlp tlp;
  parley_envelope_party from; /* key_id: the sender's signing key */
  size_t n_recipients;
  parley_envelope_party recipients[PARLEY_MAX_RECIPIENTS]; /* key_id: encryption keys */
  char case_id[PARLEY_UUID_LEN];                           /* "" when absent */
  char in_reply_to[PARLEY_UUID_LEN];                       /* "" when absent */
  char basis_instrument[PARLEY_INSTRUMENT_MAX + 1];        /* "" when absent */
  char basis_article[PARLEY_ARTICLE_MAX + 1];              /* "" when absent */
  char status[PARLEY_STATUS_MAX + 1];                      /* "" when absent */
  char respond_by[PARLEY_RESPOND_BY_MAX + 1];              /* "" when absent */
  int64_t created;
  size_t ciphertext_len;
  parley_hash hash; /* parley_envelope_hash: what the transparency log records */
} parley_envelope_info;

/* What the hub checks, on metadata only: the exact shape (unknown members refused;
 * ENVELOPE_INVALID naming the field), a known kind (TEMPLATE_UNKNOWN), the header
 * fields its template declares ("status", "respond_by": present when required, each
 * valid as that template field; ENVELOPE_INVALID naming it), the bounds
 * (1..32 recipients, no key id twice, ciphertext of 17 bytes to 1 MiB), a legal_basis
 * that is well formed and one the kind's template allows (LEGAL_BASIS), that from.key_id
 * is sender_pk's key id and the signature verifies (ENVELOPE_SIGNATURE), and that the
 * ciphertext matches ciphertext_sha256 (ENVELOPE_CIPHERTEXT). Fills *info (optional). */
parley_err parley_envelope_verify(const json_t *env, const parley_sign_pk *sender_pk,
                                  parley_envelope_info *info, parley_error *err);

/* What a recipient does: parley_envelope_verify; find the recipient entry of my
 * encryption key (ENVELOPE_NOT_RECIPIENT); unwrap the content key (CRYPTO_DECRYPT);
 * check the key commitment (CRYPTO_COMMITMENT) and decrypt (ENVELOPE_CIPHERTEXT);
 * parse the body (ENVELOPE_INVALID); check that its id, kind, from and recipients equal
 * the header's (ENVELOPE_FORWARDED), that each header field of the template equals the
 * content's (ENVELOPE_INVALID, "body.content.status: ...") and its inner signature by sender_pk
 * (ENVELOPE_INNER_SIGNATURE); validate its content against the template
 * (TEMPLATE_FIELD). *body_out receives the whole body object (a new reference; its
 * "content" member holds the fields), NULL on failure. */
parley_err parley_envelope_open(const json_t *env, const parley_identity *me,
                                const parley_sign_pk *sender_pk, json_t **body_out,
                                parley_error *err);

/* SHA-256 of JCS(envelope), signature and ciphertext included. */
parley_err parley_envelope_hash(const json_t *env, parley_hash *out, parley_error *err);

/* ---- acknowledgements ------------------------------------------------------------
 * {"format":"parley-ack-v1","message":UUID,"envelope_sha256":B64(32),"state","poc",
 *  "key_id" (the acknowledger's signing key id),"time","signature": purpose "ack"} */

/* time 0: now. *out receives a new reference (NULL on failure). INVALID_ARGUMENT for
 * a malformed message id, state or POC id. */
parley_err parley_ack_new(const char *message_id, const parley_hash *envelope_sha256,
                          const char *state, const char *poc, int64_t time,
                          const parley_identity *signer, json_t **out, parley_error *err);

typedef struct {
  char message[PARLEY_UUID_LEN];
  parley_hash envelope_sha256;
  char state[4];
  char poc[PARLEY_POC_ID_MAX + 1];
  char key_id[PARLEY_KEY_ID_LEN];
  int64_t time;
  parley_hash hash; /* SHA-256(JCS(ack)): what the transparency log records */
} parley_ack_info;

/* ACK_INVALID (shape, unknown members; the detail names the field); ACK_SIGNATURE if
 * key_id is not pk's key id or the signature does not verify. Fills *info (optional). */
parley_err parley_ack_verify(const json_t *ack, const parley_sign_pk *pk, parley_ack_info *info,
                             parley_error *err);

#endif
