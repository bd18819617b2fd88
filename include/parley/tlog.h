/* libparley tlog: the transparency log's data structures and formats.
 *
 *   Merkle tree     RFC 9162 §2.1 hashing, proof generation over any storage, verification
 *   signed notes    C2SP signed-note (Ed25519, signature type 0x01)
 *   checkpoints     C2SP tlog-checkpoint
 *   cosignatures    C2SP tlog-cosignature v1 (timestamped Ed25519, signature type 0x04)
 *   tiles           C2SP tlog-tiles paths, tile contents and entry bundles
 *
 * docs/tlog.md is the contract the daemon serves; this header is the API. Every
 * fallible function returns a parley_err and fills the optional parley_error. */
#ifndef PARLEY_TLOG_H
#define PARLEY_TLOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "parley/base.h"

/* ======================================================================
 * Merkle tree (RFC 9162 §2.1)
 * ====================================================================== */

#define PARLEY_TLOG_HASH_LEN 32
/* Longest inclusion or consistency proof for any tree size below 2^64. */
#define PARLEY_TLOG_MAX_PROOF 65
/* Most nodes one append can complete (the leaf plus one per level). */
#define PARLEY_TLOG_MAX_APPEND_NODES 64

/* SHA-256(0x00 || data) */
void parley_tlog_leaf_hash(const uint8_t *data, size_t len, uint8_t out[PARLEY_TLOG_HASH_LEN]);
/* SHA-256(0x01 || left || right); out may alias left or right. */
void parley_tlog_node_hash(const uint8_t left[PARLEY_TLOG_HASH_LEN],
                           const uint8_t right[PARLEY_TLOG_HASH_LEN],
                           uint8_t out[PARLEY_TLOG_HASH_LEN]);
/* MTH({}) = SHA-256("") */
void parley_tlog_empty_root(uint8_t out[PARLEY_TLOG_HASH_LEN]);
/* MTH of n leaf hashes held in memory (n = 0 gives the empty root). O(n) hashing. */
void parley_tlog_mth(const uint8_t leaf_hashes[][PARLEY_TLOG_HASH_LEN], uint64_t n,
                     uint8_t out[PARLEY_TLOG_HASH_LEN]);

/* ---- storage-independent generation ----------------------------------
 * The log's storage answers one question: the hash of the complete subtree at
 * `level` with index `index`, i.e. MTH(D[index*2^level : (index+1)*2^level]);
 * level 0 is the leaf hashes. It returns PARLEY_E_OK, or an error (e.g.
 * PARLEY_E_STORE_RETRY, PARLEY_E_TLOG_RANGE for a node that does not exist) that the
 * functions below pass through unchanged. Complete subtrees never change, so a store
 * holding them can answer for every past tree size. */
typedef parley_err (*parley_tlog_hash_fn)(void *ctx, unsigned level, uint64_t index,
                                          uint8_t out[PARLEY_TLOG_HASH_LEN]);

/* Root hash of the tree of `size` leaves: at most 64 calls to fn. */
parley_err parley_tlog_root(parley_tlog_hash_fn fn, void *ctx, uint64_t size,
                            uint8_t out[PARLEY_TLOG_HASH_LEN], parley_error *err);
/* Inclusion proof (RFC 9162 §2.1.3.1) for leaf `index` in the tree of `size` leaves,
 * leaf level first. TLOG_RANGE unless index < size. O(log size) calls to fn. */
parley_err parley_tlog_inclusion_proof(parley_tlog_hash_fn fn, void *ctx, uint64_t index,
                                       uint64_t size,
                                       uint8_t out[PARLEY_TLOG_MAX_PROOF][PARLEY_TLOG_HASH_LEN],
                                       size_t *count, parley_error *err);
/* Consistency proof (RFC 9162 §2.1.4.1) from size1 to size2. size1 == size2 gives an
 * empty proof; TLOG_RANGE if size1 == 0 (see the rule below) or size1 > size2. */
parley_err parley_tlog_consistency_proof(parley_tlog_hash_fn fn, void *ctx, uint64_t size1,
                                         uint64_t size2,
                                         uint8_t out[PARLEY_TLOG_MAX_PROOF][PARLEY_TLOG_HASH_LEN],
                                         size_t *count, parley_error *err);

/* A complete subtree that an append has just completed. */
typedef struct {
  unsigned level;
  uint64_t index;
  uint8_t hash[PARLEY_TLOG_HASH_LEN];
} parley_tlog_node;

/* For the leaf `leaf_hash` appended at position `index` (the tree had `index` leaves),
 * lists the nodes that become complete: (0, index, leaf_hash) first, then each parent
 * up while the node is a right child. fn is asked only for their left siblings, which
 * the tree already holds. Store all of them in the same transaction as the leaf. */
parley_err parley_tlog_append_nodes(parley_tlog_hash_fn fn, void *ctx, uint64_t index,
                                    const uint8_t leaf_hash[PARLEY_TLOG_HASH_LEN],
                                    parley_tlog_node out[PARLEY_TLOG_MAX_APPEND_NODES],
                                    size_t *count, parley_error *err);

/* ---- in-memory tree (tests, tile builders, clients) ------------------- */

typedef struct parley_tlog_memtree parley_tlog_memtree;

parley_tlog_memtree *parley_tlog_memtree_new(void); /* NULL if out of memory */
void parley_tlog_memtree_free(parley_tlog_memtree *t);
uint64_t parley_tlog_memtree_size(const parley_tlog_memtree *t);
/* Appends one leaf hash and stores the nodes it completes. NO_MEMORY leaves t unchanged. */
parley_err parley_tlog_memtree_append(parley_tlog_memtree *t,
                                      const uint8_t leaf_hash[PARLEY_TLOG_HASH_LEN],
                                      parley_error *err);
/* A parley_tlog_hash_fn: pass the memtree as ctx. TLOG_RANGE for an incomplete node. */
parley_err parley_tlog_memtree_hash(void *memtree, unsigned level, uint64_t index,
                                    uint8_t out[PARLEY_TLOG_HASH_LEN]);

/* ---- verification ------------------------------------------------------
 * All return PARLEY_E_OK, PARLEY_E_TLOG_PROOF (the proof does not lead to the root)
 * or PARLEY_E_TLOG_RANGE (the indices or sizes cannot have a proof). */

/* RFC 9162 §2.1.3.2. TLOG_RANGE unless index < size. */
parley_err parley_tlog_verify_inclusion(uint64_t index, uint64_t size,
                                        const uint8_t leaf_hash[PARLEY_TLOG_HASH_LEN],
                                        const uint8_t proof[][PARLEY_TLOG_HASH_LEN], size_t count,
                                        const uint8_t root[PARLEY_TLOG_HASH_LEN],
                                        parley_error *err);

/* RFC 9162 §2.1.4.2.
 * Size-0 rule: a consistency proof from an empty tree is refused with TLOG_RANGE,
 * whatever the sizes, roots and proof (also for size1 == size2 == 0). Every tree
 * extends the empty tree, so there is nothing to prove: a client whose last seen size
 * was 0 accepts the new checkpoint (after checking its signatures) without a proof, and
 * the daemon answers a request for a proof from size 0 with TLOG_RANGE. This is the
 * rule of transparency-dev/merkle and its test vectors.
 * size1 == size2 > 0: OK iff the proof is empty and root1 == root2.
 * size1 > size2: TLOG_RANGE. */
parley_err parley_tlog_verify_consistency(uint64_t size1, uint64_t size2,
                                          const uint8_t root1[PARLEY_TLOG_HASH_LEN],
                                          const uint8_t root2[PARLEY_TLOG_HASH_LEN],
                                          const uint8_t proof[][PARLEY_TLOG_HASH_LEN], size_t count,
                                          parley_error *err);

/* Subtrees [start, end) (draft-ietf-plants-merkle-tree-certs §4): valid when start <
 * end and start is a multiple of the smallest power of two >= end - start.
 * Inclusion of leaf `index` (start <= index < end) in the subtree whose hash is
 * subtree_root; TLOG_RANGE for an invalid subtree or an index outside it. */
parley_err parley_tlog_verify_subtree_inclusion(uint64_t index, uint64_t start, uint64_t end,
                                                const uint8_t leaf_hash[PARLEY_TLOG_HASH_LEN],
                                                const uint8_t proof[][PARLEY_TLOG_HASH_LEN],
                                                size_t count,
                                                const uint8_t subtree_root[PARLEY_TLOG_HASH_LEN],
                                                parley_error *err);
/* That the subtree [start, end) with hash subtree_root is part of the tree of `size`
 * leaves with root `root`. TLOG_RANGE for an invalid subtree or end > size. An empty
 * subtree (start == end) is part of every tree: OK iff the proof is empty and
 * subtree_root is the empty root; `root` is then not examined. */
parley_err parley_tlog_verify_subtree_consistency(uint64_t start, uint64_t end, uint64_t size,
                                                  const uint8_t proof[][PARLEY_TLOG_HASH_LEN],
                                                  size_t count,
                                                  const uint8_t subtree_root[PARLEY_TLOG_HASH_LEN],
                                                  const uint8_t root[PARLEY_TLOG_HASH_LEN],
                                                  parley_error *err);

/* ======================================================================
 * Signed notes (C2SP signed-note), Ed25519 type 0x01
 * ====================================================================== */

#define PARLEY_NOTE_MAX_LEN (1u << 20) /* whole note, text and signatures */
#define PARLEY_NOTE_MAX_SIGS 100       /* signature lines per note */
#define PARLEY_NOTE_NAME_MAX 255       /* bytes in a key name */
#define PARLEY_NOTE_SIG_MAX 5120       /* decoded bytes of one signature (key id included) */
/* "<name>+<8 hex>+<base64 of 33 bytes>" plus NUL */
#define PARLEY_NOTE_VKEY_MAX (PARLEY_NOTE_NAME_MAX + 1 + 8 + 1 + 44 + 1)

#define PARLEY_NOTE_TYPE_ED25519 0x01
#define PARLEY_NOTE_TYPE_COSIG_V1 0x04

/* A verifier key for Ed25519 note signatures (vkey type 0x01). */
typedef struct {
  char name[PARLEY_NOTE_NAME_MAX + 1];
  uint32_t key_id; /* SHA-256(name || 0x0A || 0x01 || public_key)[:4], big-endian */
  uint8_t public_key[32];
} parley_note_verifier;

/* Opaque: holds an Ed25519 secret key; _free wipes it. */
typedef struct parley_note_signer parley_note_signer;

/* Strict: "<name>+<key id, 8 lower-case hex>+<base64(0x01 || 32-byte key)>", a valid
 * name, canonical padded base64, and the key id must match. CRYPTO_BAD_KEY otherwise. */
parley_err parley_note_verifier_parse(const char *vkey, parley_note_verifier *out,
                                      parley_error *err);
/* Writes the vkey string; out_cap >= PARLEY_NOTE_VKEY_MAX always suffices. */
parley_err parley_note_verifier_format(const parley_note_verifier *v, char *out, size_t out_cap,
                                       parley_error *err);

/* name: a valid key name (non-empty, <= 255 bytes of UTF-8, no Unicode space, no '+'). */
parley_err parley_note_signer_new(const char *name, const uint8_t seed[32],
                                  parley_note_signer **out, parley_error *err);
/* Go x/mod's "PRIVATE+KEY+<name>+<key id>+<base64(0x01 || seed)>"; the key id must match. */
parley_err parley_note_signer_from_skey(const char *skey, parley_note_signer **out,
                                        parley_error *err);
void parley_note_signer_free(parley_note_signer *s);
void parley_note_signer_verifier(const parley_note_signer *s, parley_note_verifier *out);

/* A parsed note. Pointers point into the parsed input, which must outlive it. */
typedef struct {
  const char *name; /* not NUL-terminated */
  size_t name_len;
  uint32_t key_id;
  const char *b64; /* base64(key id || signature), not NUL-terminated */
  size_t b64_len;
} parley_note_sig;

typedef struct {
  const char *text; /* includes its final newline, not the blank separator line */
  size_t text_len;
  size_t nsigs;
  parley_note_sig sigs[PARLEY_NOTE_MAX_SIGS];
} parley_note;

/* Parses a signed note: at most PARLEY_NOTE_MAX_LEN bytes (TOO_LARGE), valid UTF-8, no
 * control character but '\n', text + "\n" + 1..100 lines "— <name> <base64>\n", the text
 * being everything before the last blank line. Signatures are not verified. TLOG_NOTE
 * if malformed. */
parley_err parley_note_parse(const char *msg, size_t len, parley_note *out, parley_error *err);
/* OK if the note carries a valid signature by v. Lines of other keys (another name or
 * another key id) are ignored. CRYPTO_BAD_SIGNATURE if no line is v's, or if one of v's
 * lines does not verify. */
parley_err parley_note_verify(const parley_note *n, const parley_note_verifier *v,
                              parley_error *err);
/* Signs `text` (non-empty, ends with '\n', valid UTF-8, no control characters but '\n')
 * and appends text + "\n" + the signature line to out. */
parley_err parley_note_sign(const parley_note_signer *s, const char *text, size_t len,
                            parley_buf *out, parley_error *err);
/* Appends only the signature line "— <name> <base64>\n" for text (to add to a note). */
parley_err parley_note_signature_line(const parley_note_signer *s, const char *text, size_t len,
                                      parley_buf *out, parley_error *err);

/* ======================================================================
 * Checkpoints (C2SP tlog-checkpoint)
 * ====================================================================== */

#define PARLEY_CHECKPOINT_ORIGIN_MAX 255

typedef struct {
  char origin[PARLEY_CHECKPOINT_ORIGIN_MAX + 1];
  uint64_t size;
  uint8_t root[PARLEY_TLOG_HASH_LEN];
  /* Extension lines verbatim, each non-empty and ending in '\n'; NULL/0 when none.
   * After parsing it points into the parsed text. */
  const char *ext;
  size_t ext_len;
} parley_checkpoint;

/* Strict parse of a checkpoint note text: "<origin>\n<size>\n<base64 root>\n" then
 * optional extension lines. Origin non-empty, <= 255 bytes; size decimal without
 * leading zeros; root canonical padded base64 of 32 bytes; no empty line; valid UTF-8
 * without control characters. TLOG_CHECKPOINT otherwise. */
parley_err parley_checkpoint_parse(const char *text, size_t len, parley_checkpoint *out,
                                   parley_error *err);
/* Appends the checkpoint text to out (checked as strictly as parsing). */
parley_err parley_checkpoint_format(const parley_checkpoint *cp, parley_buf *out,
                                    parley_error *err);

/* ======================================================================
 * Cosignatures (C2SP tlog-cosignature v1, Ed25519, type 0x04)
 * Signed message: "cosignature/v1\ntime <unix>\n" || checkpoint text;
 * signature bytes: key id (4) || timestamp (8, big-endian) || Ed25519 signature (64).
 * ====================================================================== */

/* A witness (cosigner) verifier key: vkey type 0x04. */
typedef struct {
  char name[PARLEY_NOTE_NAME_MAX + 1];
  uint32_t key_id; /* SHA-256(name || 0x0A || 0x04 || public_key)[:4] */
  uint8_t public_key[32];
} parley_cosig_verifier;

typedef struct parley_cosigner parley_cosigner; /* opaque, secret key inside */

parley_err parley_cosig_verifier_parse(const char *vkey, parley_cosig_verifier *out,
                                       parley_error *err);
parley_err parley_cosig_verifier_format(const parley_cosig_verifier *v, char *out, size_t out_cap,
                                        parley_error *err);
parley_err parley_cosigner_new(const char *name, const uint8_t seed[32], parley_cosigner **out,
                               parley_error *err);
void parley_cosigner_free(parley_cosigner *c);
void parley_cosigner_verifier(const parley_cosigner *c, parley_cosig_verifier *out);

/* Appends the cosignature line "— <name> <base64>\n" for checkpoint text `text` (which
 * must parse as a checkpoint) at `timestamp` (<= 2^63 - 1) to out. */
parley_err parley_cosig_sign(const parley_cosigner *c, const char *text, size_t len,
                             uint64_t timestamp, parley_buf *line, parley_error *err);
/* OK if the note (whose text must be a checkpoint) carries a valid cosignature by v;
 * its timestamp goes to *timestamp (may be NULL). Same rules as parley_note_verify. */
parley_err parley_cosig_verify(const parley_note *n, const parley_cosig_verifier *v,
                               uint64_t *timestamp, parley_error *err);

/* ======================================================================
 * Tiles (C2SP tlog-tiles), height 8
 * ====================================================================== */

#define PARLEY_TILE_HEIGHT 8
#define PARLEY_TILE_WIDTH 256 /* hashes (or entries) in a full tile */
#define PARLEY_TILE_MAX_LEVEL 63
#define PARLEY_TILE_PATH_MAX 64 /* longest tile path + NUL */
#define PARLEY_TILE_ENTRY_MAX 65535

typedef struct {
  bool entries;   /* tile/entries/... (an entry bundle) rather than tile/<level>/... */
  unsigned level; /* 0..63; 0 when entries */
  uint64_t index; /* N */
  unsigned width; /* 1..255 for a partial tile, 256 for a full one */
} parley_tile;

/* N as path elements: 1234067 -> "x001/x234/067". */
parley_err parley_tile_index_path(uint64_t n, char *out, size_t out_cap, parley_error *err);
/* "tile/<L>/<N>[.p/<W>]" or "tile/entries/<N>[.p/<W>]". */
parley_err parley_tile_path(const parley_tile *t, char *out, size_t out_cap, parley_error *err);
/* Strict inverse of parley_tile_path for a path starting at "tile/" (no leading slash,
 * no query): only the canonical spelling is accepted (no leading zeros, 3-digit
 * elements, "x" on all but the last, minimal number of elements, W in 1..255).
 * NOT_FOUND for anything else: a malformed path names no resource. */
parley_err parley_tile_parse_path(const char *path, size_t len, parley_tile *out,
                                  parley_error *err);
/* OK if a tree of tree_size leaves determines the tile's content, i.e. its last hash
 * (or entry) is complete in that tree; NOT_FOUND otherwise. */
parley_err parley_tile_check(const parley_tile *t, uint64_t tree_size, parley_error *err);
/* Content of hash tile t (not entries) in a tree of tree_size leaves: t->width hashes
 * of Merkle level 8 * t->level, indices t->index * 256 + i, concatenated (32 * width
 * bytes, one fn call each). NOT_FOUND if parley_tile_check fails. */
parley_err parley_tile_hashes(parley_tlog_hash_fn fn, void *ctx, const parley_tile *t,
                              uint64_t tree_size,
                              uint8_t out[PARLEY_TILE_WIDTH * PARLEY_TLOG_HASH_LEN],
                              size_t *out_len, parley_error *err);

/* Entry bundles: each entry as big-endian uint16 length || bytes. */
parley_err parley_tile_bundle_append(parley_buf *bundle, const uint8_t *entry, size_t len,
                                     parley_error *err);
/* Iterates: start with *off = 0; each OK call yields the next entry (pointing into
 * bundle) and advances *off. NOT_FOUND at the clean end; INVALID_ARGUMENT if truncated. */
parley_err parley_tile_bundle_next(const uint8_t *bundle, size_t len, size_t *off,
                                   const uint8_t **entry, size_t *entry_len, parley_error *err);

#endif
