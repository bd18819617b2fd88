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
} parley_dir_view;
void parley_dir_view_free(parley_dir_view *v);
/* Finds a state (NULL if not onboarded). */
parley_dir_state *parley_dir_view_find(parley_dir_view *v, const char *code);

/* Applies one log entry (the exact bytes logged at `index`) to v if it is a directory
 * entry; other entries are ignored (OK). Refuses (DIRECTORY_RULE, naming the rule) an
 * entry that breaks the rules: a state onboarded twice; a record of an unknown state,
 * not newer than the current version or naming another root key; a rotation whose
 * statement is not signed by the current root key or names another state or key; an
 * entry that does not parse. An operator replacement is allowed (it is logged in
 * clear) and recorded in root_replaced_at. On refusal v is unchanged. */
parley_err parley_dir_apply(parley_dir_view *v, const uint8_t *entry, size_t len, uint64_t index,
                            parley_error *err);

/* Parses a directory entry's object (borrowed JSON, caller decrefs *obj). NOT_FOUND if
 * the entry is not a directory entry. */
parley_err parley_dir_entry_parse(const uint8_t *entry, size_t len, json_t **obj,
                                  parley_error *err);

#endif
