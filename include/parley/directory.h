/* Directory key transparency (docs/tlog.md, "The directory commitment").
 *
 * Every change to the directory is logged in clear as a `directory` entry:
 *   "directory\n" || JCS(object), object one of
 *     {"format":"parley-directory-v1","action":"onboard","state","root_key","time"}
 *     {... "action":"record","state","version","root_key","record_sha256","time"}
 *     {... "action":"rotate","state","root_key","rotation":<signed statement>,"time"}
 *     {... "action":"replace-root","state","root_key","operator_key_id","reason","time"}
 * and every checkpoint carries the extension line
 *   "parley-directory/v1 <count> <base64 root>"
 * where root is the RFC 9162 Merkle root over one leaf per onboarded state, in state-code
 * byte order, each leaf being JCS({"state","version","root_key"[,"record_sha256"]
 * [,"root_replaced_at"]}). Clients check a state's leaf against that root; witnesses
 * replay the entries, check the rules (parley_dir_apply) and recompute the root. */
#ifndef PARLEY_DIRECTORY_H
#define PARLEY_DIRECTORY_H

#include <jansson.h>

#include "parley/base.h"
#include "parley/crypto.h"
#include "parley/tlog.h"

#define PARLEY_DIR_FORMAT "parley-directory-v1"
#define PARLEY_DIR_EXT_PREFIX "parley-directory/v1 "
#define PARLEY_DIR_ENTRY_KIND "directory"
#define PARLEY_DIR_MAX_STATES 4096

/* One state as the commitment holds it. */
typedef struct {
  char state[4];
  int64_t version; /* 0: no record published yet */
  parley_sign_pk root;
  uint8_t record_sha256[32]; /* SHA-256 of the JCS of the current record; version > 0 */
  int64_t root_replaced_at;  /* log index of the last operator replacement of the root
                                key; -1: never */
} parley_dir_state;

/* The leaf's data: JCS of the state's object (see above). */
parley_err parley_dir_leaf(const parley_dir_state *s, parley_buf *out, parley_error *err);
parley_err parley_dir_leaf_hash(const parley_dir_state *s, uint8_t out[32], parley_error *err);

/* Root over n states, which must be in strictly increasing code order (else
 * INVALID_ARGUMENT). Empty: SHA-256(""). */
parley_err parley_dir_root(const parley_dir_state *s, size_t n, uint8_t root[32],
                           parley_error *err);
/* Inclusion proof of s[index] in the tree of parley_dir_root. */
parley_err parley_dir_proof(const parley_dir_state *s, size_t n, size_t index,
                            uint8_t proof[PARLEY_TLOG_MAX_PROOF][32], size_t *proof_len,
                            parley_error *err);

/* Appends "parley-directory/v1 <n> <base64 root>\n". */
parley_err parley_dir_ext_format(uint64_t n, const uint8_t root[32], parley_buf *out,
                                 parley_error *err);
/* Finds the (single) directory line among a checkpoint's extension lines. NOT_FOUND if
 * there is none, TLOG_CHECKPOINT if it is malformed or repeated. */
parley_err parley_dir_ext_parse(const parley_checkpoint *cp, uint64_t *n, uint8_t root[32],
                                parley_error *err);

/* A directory log entry: "directory\n" || JCS(obj); obj gets "format" and "time". */
parley_err parley_dir_entry(json_t *obj, int64_t time, parley_buf *out, parley_error *err);

/* The directory as a monitor rebuilds it from the log. */
typedef struct {
  parley_dir_state *states; /* sorted by code */
  size_t n, cap;
  /* A state-record entry waiting for its directory record entry, which must come next
   * (the hub logs both in one transaction, so no checkpoint falls between them). */
  bool record_pending;
  uint8_t pending_hash[32];
  uint64_t pending_index;
} parley_dir_view;
void parley_dir_view_free(parley_dir_view *v);
/* Finds a state (NULL if not onboarded). */
parley_dir_state *parley_dir_view_find(parley_dir_view *v, const char *code);

/* Applies one log entry (the exact bytes logged at `index`) to v if it is a directory
 * entry; other entries are ignored (OK). Refuses (DIRECTORY_RULE, naming the rule) an
 * entry that breaks the rules: a state onboarded twice; a record of an unknown state,
 * not newer than the current version or naming another root key; a rotation whose
 * statement is not signed by the current root key or names another state or key; an
 * entry that does not parse; once the directory has a state, a `state-record` entry
 * not followed at once by the directory record entry naming its hash, or a record entry
 * naming the current record's hash again (a record logged twice would let a hub move the
 * log position at which a record removed a key). An operator replacement is allowed (it
 * is logged in clear) and recorded in root_replaced_at. On refusal v is unchanged. */
parley_err parley_dir_apply(parley_dir_view *v, const uint8_t *entry, size_t len, uint64_t index,
                            parley_error *err);

/* Parses a directory entry's object (borrowed JSON, caller decrefs *obj). NOT_FOUND if
 * the entry is not a directory entry. */
parley_err parley_dir_entry_parse(const uint8_t *entry, size_t len, json_t **obj,
                                  parley_error *err);

/* ======================================================================
 * The witness's directory statement (docs/tlog.md, "Directory statements")
 *
 * A witness that replayed the log's entries up to a checkpoint, found that they follow
 * the rules (parley_dir_apply) and that the checkpoint's directory line is the
 * directory they build, says so in a signed-note signature line of its own, distinct
 * from its C2SP cosignature (which asserts only the log's append-only growth):
 *   key id  = SHA-256(name || 0x0A || 0xFF || "parley-directory/v1" || 0x0A ||
 *                     public key)[:4]      (0xFF: signed-note's "other" type)
 *   message = "parley/v1/directory-witness\n" || "time <unix>\n" || checkpoint text
 *   payload = key id (4) || timestamp (8, big-endian) || Ed25519 signature (64)
 * with the same name and Ed25519 key as the witness's cosignatures. A C2SP verifier
 * ignores the line (unknown key id); a cosignature never verifies as a statement nor
 * the reverse (other key id, other message).
 * ====================================================================== */

#define PARLEY_DIR_WITNESS_TYPE 0xFF
#define PARLEY_DIR_WITNESS_ID "parley-directory/v1"
#define PARLEY_DIR_WITNESS_HEADER "parley/v1/directory-witness\n"

typedef struct {
  char name[PARLEY_NOTE_NAME_MAX + 1];
  uint32_t key_id; /* see above */
  uint8_t public_key[32];
} parley_dir_witness_verifier;

typedef struct parley_dir_witness_signer parley_dir_witness_signer; /* opaque, secret inside */

/* The statement verifier of the witness whose cosignature key is w. */
void parley_dir_witness_verifier_of(const parley_cosig_verifier *w,
                                    parley_dir_witness_verifier *out);
/* The same name and seed as the witness's parley_cosigner. */
parley_err parley_dir_witness_signer_new(const char *name, const uint8_t seed[32],
                                         parley_dir_witness_signer **out, parley_error *err);
void parley_dir_witness_signer_free(parley_dir_witness_signer *s);
void parley_dir_witness_signer_verifier(const parley_dir_witness_signer *s,
                                        parley_dir_witness_verifier *out);
/* Appends the line "— <name> <base64>\n" for checkpoint text `text`, which must parse as
 * a checkpoint with a directory line (TLOG_CHECKPOINT otherwise), at `timestamp`
 * (< 2^63). */
parley_err parley_dir_witness_sign(const parley_dir_witness_signer *s, const char *text, size_t len,
                                   uint64_t timestamp, parley_buf *line, parley_error *err);
/* OK if the note (a checkpoint with a directory line) carries a valid statement by v;
 * its newest timestamp goes to *timestamp (may be NULL). Lines of other keys are
 * ignored; CRYPTO_BAD_SIGNATURE if none is v's or one of v's does not verify. */
parley_err parley_dir_witness_verify(const parley_note *n, const parley_dir_witness_verifier *v,
                                     uint64_t *timestamp, parley_error *err);

/* ---- the replaying witness's state ----------------------------------------
 * The log's Merkle frontier: the roots of the complete subtrees that make up the tree of
 * `size` leaves, largest (leftmost) first, one per bit set in size. Appending leaf hashes
 * to it and folding it gives the RFC 9162 root, so entries fetched from the public
 * bundles are authenticated against a signed checkpoint without any proof. */
typedef struct {
  uint64_t size;
  size_t n;
  uint8_t hashes[64][PARLEY_TLOG_HASH_LEN];
} parley_tlog_frontier;

void parley_tlog_frontier_init(parley_tlog_frontier *f); /* the empty tree */
void parley_tlog_frontier_append(parley_tlog_frontier *f, const uint8_t leaf_hash[32]);
void parley_tlog_frontier_root(const parley_tlog_frontier *f, uint8_t root[32]);
/* {"size": n, "hashes": [base64, ...]}; from_json is strict (n hashes = popcount(size)). */
json_t *parley_tlog_frontier_to_json(const parley_tlog_frontier *f);
parley_err parley_tlog_frontier_from_json(const json_t *o, parley_tlog_frontier *f,
                                          parley_error *err);

/* [{"state","version","root_key","record_sha256"?,"root_replaced_at"?}, ...] in code
 * order; from_json is strict (valid codes in increasing order, 32-byte keys and hashes). */
json_t *parley_dir_view_to_json(const parley_dir_view *v);
parley_err parley_dir_view_from_json(const json_t *a, parley_dir_view *v, parley_error *err);

#endif
