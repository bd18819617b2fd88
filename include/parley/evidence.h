/* libparley evidence packages (docs/protocol.md, "Evidence packages").
 *
 * A package is the plaintext of one or more files, concatenated in manifest order and
 * cut into fixed 1 MiB chunks, encrypted with crypto_secretstream_xchacha20poly1305
 * under one random content key (the last chunk, possibly shorter or empty, carries
 * TAG_FINAL). Chunk i of the ciphertext is at offset i * PARLEY_EVIDENCE_CHUNK_CT.
 * The manifest, signed by the sender (purpose evidence-manifest), names the files
 * (name, size, SHA-256 of the plaintext), the stream header, the content key wrapped
 * for each recipient's encryption key (crypto_box_seal, as envelopes), a key commitment,
 * and the RFC 9162 Merkle root over the ciphertext chunks (leaf = SHA-256(0x00 || chunk)),
 * so that every chunk verifies alone against the signed root.
 *
 * Custody events, each signed by its actor (purpose evidence-custody):
 *   {"format":"parley-custody-v1","evidence":ID,"manifest_sha256":B64(32),"event":E,
 *    "actor":{"state","poc","key_id"} | {"hub":key_id},"time":TIME,"detail":TEXT?,
 *    "signature"}
 * Both are logged as SHA-256 of their JCS under the kinds "evidence-manifest" and
 * "custody". */
#ifndef PARLEY_EVIDENCE_H
#define PARLEY_EVIDENCE_H

#include <jansson.h>
#include <sodium.h>

#include "parley/base.h"
#include "parley/crypto.h"
#include "parley/envelope.h"

#define PARLEY_EVIDENCE_FORMAT "parley-evidence-v1"
#define PARLEY_CUSTODY_FORMAT "parley-custody-v1"
#define PARLEY_PURPOSE_EVIDENCE_MANIFEST "evidence-manifest"
#define PARLEY_PURPOSE_CUSTODY "evidence-custody"
#define PARLEY_CONSENT_FORMAT "parley-consent-v1"
#define PARLEY_PURPOSE_EVIDENCE_CONSENT "evidence-consent"
#define PARLEY_LOG_KIND_MANIFEST "evidence-manifest"
#define PARLEY_LOG_KIND_CUSTODY "custody"

#define PARLEY_EVIDENCE_CHUNK (1u << 20) /* plaintext bytes per chunk */
#define PARLEY_EVIDENCE_CHUNK_OVERHEAD crypto_secretstream_xchacha20poly1305_ABYTES /* 17 */
#define PARLEY_EVIDENCE_CHUNK_CT (PARLEY_EVIDENCE_CHUNK + PARLEY_EVIDENCE_CHUNK_OVERHEAD)
#define PARLEY_EVIDENCE_HEADER_LEN crypto_secretstream_xchacha20poly1305_HEADERBYTES /* 24 */
#define PARLEY_EVIDENCE_MAX_FILES 1000
#define PARLEY_EVIDENCE_MAX_NAME 255
#define PARLEY_EVIDENCE_MAX_NOTES 8192
#define PARLEY_EVIDENCE_MAX_PLAINTEXT (1ull << 40) /* 1 TiB */
#define PARLEY_EVIDENCE_MANIFEST_MAX_BYTES (512u * 1024u)
#define PARLEY_EVIDENCE_JSON_LIMITS                                                                \
  ((parley_json_limits){.max_bytes = PARLEY_EVIDENCE_MANIFEST_MAX_BYTES,                           \
                        .max_depth = 8,                                                            \
                        .max_string = 16384,                                                       \
                        .max_items = 20000})

/* Chunks of a package of that plaintext size (an empty package has one empty chunk). */
uint64_t parley_evidence_chunks(uint64_t plaintext_size);
uint64_t parley_evidence_ciphertext_size(uint64_t plaintext_size);
/* Ciphertext bytes of chunk i (0 if i is past the end). */
uint64_t parley_evidence_chunk_ct_len(uint64_t plaintext_size, uint64_t i);
/* RFC 9162 leaf hash of one ciphertext chunk. */
void parley_evidence_chunk_hash(const uint8_t *ct, size_t len, uint8_t out[32]);

/* ---- the stream cipher, one chunk at a time ------------------------------------- */

typedef crypto_secretstream_xchacha20poly1305_state parley_evidence_stream;
/* A fresh content key and stream header; st ready to seal chunk 0. */
void parley_evidence_stream_new(parley_content_key *key, uint8_t header[PARLEY_EVIDENCE_HEADER_LEN],
                                parley_evidence_stream *st);
/* The state for chunk 0 again from key and header: sealing is deterministic, so a
 * second pass (or a resumed upload) gives the same ciphertext; also the state to open. */
parley_err parley_evidence_stream_start(const parley_content_key *key,
                                        const uint8_t header[PARLEY_EVIDENCE_HEADER_LEN],
                                        parley_evidence_stream *st);
/* Seals pt (at most PARLEY_EVIDENCE_CHUNK bytes) into ct (len + 17); last: TAG_FINAL. */
void parley_evidence_seal_chunk(parley_evidence_stream *st, const uint8_t *pt, size_t len,
                                bool last, uint8_t *ct);
/* Opens chunk ct (len >= 17) into pt (len - 17). CRYPTO_DECRYPT if it does not
 * authenticate, or if its tag is final where last is false or the reverse. */
parley_err parley_evidence_open_chunk(parley_evidence_stream *st, const uint8_t *ct, size_t len,
                                      bool last, uint8_t *pt);

/* ---- manifests ------------------------------------------------------------------ */

typedef struct {
  char name[PARLEY_EVIDENCE_MAX_NAME + 1];
  uint64_t size;
  uint8_t sha256[32];
} parley_evidence_file;

typedef struct {
  char id[PARLEY_UUID_LEN];
  parley_envelope_party from; /* key_id: the sender's signing key */
  size_t n_recipients;
  parley_envelope_party recipients[PARLEY_MAX_RECIPIENTS]; /* key_id: encryption keys */
  char case_id[PARLEY_UUID_LEN];                           /* "" when absent */
  char request_id[PARLEY_UUID_LEN];                        /* "" when absent */
  int64_t created;
  int64_t retain_until;
  uint64_t plaintext_size, ciphertext_size, chunks;
  uint8_t stream_header[PARLEY_EVIDENCE_HEADER_LEN];
  uint8_t merkle_root[32];
  parley_hash key_commitment;
  size_t n_files;
  parley_hash hash; /* SHA-256(JCS(manifest)): what the log records */
} parley_evidence_info;

/* What the sender fills before signing; the files' sizes and hashes and the root come
 * from the first sealing pass. */
typedef struct {
  const char *id; /* UUIDv7 */
  const char *from_state, *from_poc;
  size_t n_recipients;
  const parley_envelope_recipient *recipients;
  const char *case_id, *request_id; /* or NULL */
  const char *notes;                /* acquisition notes, or NULL */
  int64_t created, retain_until;
  size_t n_files;
  const parley_evidence_file *files;
  uint64_t plaintext_size;
  const uint8_t *stream_header;
  const uint8_t *merkle_root;
  const parley_content_key *key;
} parley_evidence_params;

/* Builds and signs the manifest (*out, caller decrefs). */
parley_err parley_evidence_manifest_new(const parley_evidence_params *p,
                                        const parley_identity *sender, json_t **out,
                                        parley_error *err);
/* Checks shape and bounds (EVIDENCE_INVALID naming the field; unknown members refused),
 * sizes that agree (files add up, chunks and ciphertext follow), that from.key_id is
 * sender_pk's and the signature verifies (EVIDENCE_SIGNATURE). Fills *info (optional). */
parley_err parley_evidence_manifest_verify(const json_t *m, const parley_sign_pk *sender_pk,
                                           parley_evidence_info *info, parley_error *err);
/* Checks only the shape (no signature): the hub's view before it looks the sender up. */
parley_err parley_evidence_manifest_parse(const json_t *m, parley_evidence_info *info,
                                          parley_error *err);
/* File i of a verified manifest. */
parley_err parley_evidence_manifest_file(const json_t *m, size_t i, parley_evidence_file *out,
                                         parley_error *err);
/* The content key, unwrapped with the recipient's keys and checked against the
 * commitment: EVIDENCE_NOT_RECIPIENT if no wrapped key is for me, CRYPTO_DECRYPT or
 * CRYPTO_COMMITMENT otherwise. */
parley_err parley_evidence_unwrap(const json_t *m, const parley_identity *me,
                                  parley_content_key *key, parley_error *err);

/* ---- custody events ------------------------------------------------------------- */

/* Signed event by a POC (state, poc non-NULL) or by the hub (state NULL); *out owned. */
/* sk NULL: the event is returned unsigned, for the caller to sign with pk's key
 * elsewhere (the hub's key may live in parleyd-signer). */
parley_err parley_custody_new(const char *evidence_id, const parley_hash *manifest_sha256,
                              const char *event, const char *state, const char *poc,
                              const parley_sign_sk *sk, const parley_sign_pk *pk, int64_t time,
                              const char *detail, json_t **out, parley_error *err);
/* Checks shape and that pk signed it (its key id is the actor's). EVIDENCE_INVALID or
 * EVIDENCE_SIGNATURE. */
parley_err parley_custody_verify(const json_t *ev, const parley_sign_pk *pk, parley_error *err);

/* ---- onward sharing ----------------------------------------------------------------
 *
 * The original sender's consent to share the package with one further POC:
 *   {"format":"parley-consent-v1","evidence":ID,"manifest_sha256":B64(32),
 *    "to":{"state","poc"},"by":{"state","poc","key_id"},"time":TIME,"signature"}
 * signed by the sender (purpose evidence-consent). A recipient that shares the package
 * signs a custody event "shared" that carries the consent and the content key wrapped
 * for the new POC's encryption key:
 *   {..., "event":"shared", "recipient":{"state","poc","key_id","wrapped_key"},
 *    "consent":{...}}
 * The key commitment of the manifest binds the wrapped key to the package. */

/* Signed consent by (by_state, by_poc) with sk/pk; *out owned. */
parley_err parley_consent_new(const char *evidence_id, const parley_hash *manifest_sha256,
                              const char *to_state, const char *to_poc, const char *by_state,
                              const char *by_poc, const parley_sign_sk *sk,
                              const parley_sign_pk *pk, int64_t time, json_t **out,
                              parley_error *err);
/* EVIDENCE_CONSENT unless c is a well-formed consent naming evidence_id and
 * manifest_sha256, to (to_state, to_poc), by (by_state, by_poc) with pk's key id, and
 * signed by pk. The detail says which. */
parley_err parley_consent_verify(const json_t *c, const char *evidence_id,
                                 const parley_hash *manifest_sha256, const char *to_state,
                                 const char *to_poc, const char *by_state, const char *by_poc,
                                 const parley_sign_pk *pk, parley_error *err);
/* The "shared" custody event by the sharer (state, poc, sk, pk): key wrapped for `to`,
 * the consent copied in. *out owned. */
parley_err parley_custody_shared_new(const char *evidence_id, const parley_hash *manifest_sha256,
                                     const char *state, const char *poc, const parley_sign_sk *sk,
                                     const parley_sign_pk *pk, int64_t time,
                                     const parley_envelope_recipient *to,
                                     const parley_content_key *key, const json_t *consent,
                                     json_t **out, parley_error *err);
/* The new POC named by a (shape-checked) "shared" event; key_id is its encryption key. */
parley_err parley_custody_shared_recipient(const json_t *ev, parley_envelope_party *out,
                                           parley_error *err);
/* The content key from a "shared" event's wrapped key, checked against the manifest's
 * commitment: as parley_evidence_unwrap. */
parley_err parley_evidence_unwrap_shared(const json_t *manifest, const json_t *shared_event,
                                         const parley_identity *me, parley_content_key *key,
                                         parley_error *err);

#endif
