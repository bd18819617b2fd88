/* parley witness init|show|run: a witness (C2SP tlog-cosignature) of a hub's log, and of
 * the directory it commits to (docs/tlog.md, "Witnesses").
 *
 * A witness keeps, per hub, the hub's log key (pinned on first use or given with
 * --log-key), the last checkpoint it cosigned, and what it rebuilt from the log's
 * entries up to that checkpoint: the log's Merkle frontier and the directory. It signs
 * a new checkpoint only if the hub signed it, it is consistent with that last one, the
 * new entries (from the public entry bundles, authenticated by the frontier against
 * the checkpoint's root) follow the directory rules, and the checkpoint's directory
 * commitment is the directory they build. It then adds two lines: its cosignature
 * (the log only grew) and its directory statement (the commitment followed the rules).
 * It never signs a fork or a directory that broke the rules: it saves the evidence and
 * stops, signing neither line. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "cli.h"
#include "parley/directory.h"
#include "parley/json.h"
#include "parley/tlog.h"

#define KEY_FILE_MAX 1024
#define KEY_FILE_MAGIC "parley-witness-key v1\n"
#define STATE_FILE "witness.json"

/* ---- key file ------------------------------------------------------------
 * "parley-witness-key v1\nname <name>\nseed <base64url of the 32-byte Ed25519 seed>\n",
 * mode 0600. A key name has no spaces or newlines, so the format is unambiguous. */

/* The witness's keys: its cosigner and, when `dir` is not NULL, the signer of its
 * directory statements (same name and seed). */
static int load_cosigner(const char *path, parley_cosigner **out, parley_dir_witness_signer **dir) {
  struct stat st;
  if (stat(path, &st) != 0) return cli_fail("%s: %s", path, strerror(errno));
  if (st.st_mode & 077)
    return cli_fail("%s: a witness key must not be readable by others (chmod 600)", path);
  size_t len = 0;
  char *text = cli_read_file(path, KEY_FILE_MAX, &len);
  if (!text) return 1;
  int rc = 0;
  const size_t magic = sizeof KEY_FILE_MAGIC - 1;
  char *name = NULL, *seed_b64 = NULL, *nl;
  if (strlen(text) != len || len < magic || memcmp(text, KEY_FILE_MAGIC, magic) != 0 ||
      strncmp(text + magic, "name ", 5) != 0 || !(nl = strchr(text + magic, '\n'))) {
    rc = cli_fail("%s: not a parley witness key", path);
  } else {
    name = text + magic + 5;
    *nl = 0;
    char *line = nl + 1;
    if (strncmp(line, "seed ", 5) != 0 || !(nl = strchr(line, '\n')) || nl[1] != 0)
      rc = cli_fail("%s: not a parley witness key", path);
    else {
      *nl = 0;
      seed_b64 = line + 5;
    }
  }
  uint8_t seed[32];
  parley_error err;
  if (!rc && parley_b64url_decode_exact(seed_b64, seed, sizeof seed) != PARLEY_E_OK)
    rc = cli_fail("%s: the seed is not 32 bytes of base64url", path);
  if (!rc && parley_cosigner_new(name, seed, out, &err) != PARLEY_E_OK)
    rc = cli_fail_err(path, &err);
  if (!rc && dir && parley_dir_witness_signer_new(name, seed, dir, &err) != PARLEY_E_OK) {
    parley_cosigner_free(*out);
    *out = NULL;
    rc = cli_fail_err(path, &err);
  }
  sodium_memzero(seed, sizeof seed);
  sodium_memzero(text, len);
  free(text);
  return rc;
}

static int print_vkey(const parley_cosigner *c) {
  parley_cosig_verifier v;
  parley_cosigner_verifier(c, &v);
  char vkey[PARLEY_NOTE_VKEY_MAX + 1];
  parley_error err;
  if (parley_cosig_verifier_format(&v, vkey, sizeof vkey, &err) != PARLEY_E_OK)
    return cli_fail_err("witness key", &err);
  puts(vkey);
  return 0;
}

int cmd_witness_init(int argc, char **argv) {
  static const struct option opts[] = {{"name", required_argument, 0, 'n'},
                                       {"out", required_argument, 0, 'o'},
                                       {"help", no_argument, 0, 'h'},
                                       {0, 0, 0, 0}};
  const char *name = NULL, *out = NULL;
  int ch;
  while ((ch = getopt_long(argc, argv, "n:o:h", opts, NULL)) != -1) {
    if (ch == 'n')
      name = optarg;
    else if (ch == 'o')
      out = optarg;
    else {
      fputs("Usage: parley witness init --name NAME --out FILE\n"
            "Creates a witness (cosigner) key: FILE holds its Ed25519 seed (mode 0600,\n"
            "unencrypted: a witness signs unattended). NAME identifies the witness, e.g.\n"
            "witness.example.org/w1. Prints the cosignature verifier key\n"
            "(NAME+KEYID+BASE64) to give to the hub operator (witness_key = ...) and to\n"
            "clients (witness = ...).\n",
            ch == 'h' ? stdout : stderr);
      return ch == 'h' ? 0 : 2;
    }
  }
  if (!name || !out || optind < argc)
    return cli_fail("witness init: give --name NAME and --out FILE");
  uint8_t seed[32];
  randombytes_buf(seed, sizeof seed);
  parley_cosigner *c = NULL;
  parley_error err;
  if (parley_cosigner_new(name, seed, &c, &err) != PARLEY_E_OK) {
    sodium_memzero(seed, sizeof seed);
    return cli_fail_err("witness name", &err);
  }
  char b64[64], text[KEY_FILE_MAX];
  parley_b64url_encode(seed, sizeof seed, b64, sizeof b64);
  sodium_memzero(seed, sizeof seed);
  int n = snprintf(text, sizeof text, KEY_FILE_MAGIC "name %s\nseed %s\n", name, b64);
  sodium_memzero(b64, sizeof b64);
  int rc = 0;
  int fd = n > 0 && (size_t)n < sizeof text
               ? open(out, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)
               : -1;
  if (fd < 0)
    rc = errno == EEXIST ? cli_fail("witness init: %s exists; refusing to overwrite a key", out)
                         : cli_fail("witness init: %s: %s", out, strerror(errno));
  else {
    bool ok = write(fd, text, (size_t)n) == n && fsync(fd) == 0;
    if (close(fd) != 0 || !ok) {
      unlink(out);
      rc = cli_fail("witness init: cannot write %s", out);
    }
  }
  sodium_memzero(text, sizeof text);
  if (!rc) rc = print_vkey(c);
  parley_cosigner_free(c);
  return rc;
}

int cmd_witness_show(int argc, char **argv) {
  static const struct option opts[] = {
      {"key", required_argument, 0, 'k'}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
  const char *key = NULL;
  int ch;
  while ((ch = getopt_long(argc, argv, "k:h", opts, NULL)) != -1) {
    if (ch == 'k')
      key = optarg;
    else {
      fputs("Usage: parley witness show --key FILE\n"
            "Prints the witness key's cosignature verifier key.\n",
            ch == 'h' ? stdout : stderr);
      return ch == 'h' ? 0 : 2;
    }
  }
  if (!key || optind < argc) return cli_fail("witness show: give --key FILE");
  parley_cosigner *c = NULL;
  if (load_cosigner(key, &c, NULL)) return 1;
  int rc = print_vkey(c);
  parley_cosigner_free(c);
  return rc;
}

/* ---- one round -------------------------------------------------------------- */

enum { ROUND_OK = 0, ROUND_ERROR = 1, ROUND_MISBEHAVIOUR = 3 };

/* The hub's log key: the pinned one, else --log-key, else GET /log/key (pinned on
 * first use). A served key that differs from the pinned one is not used. */
static int log_verifier(json_t *entry, const char *log_key, parley_note_verifier *v) {
  const char *pinned = json_string_value(json_object_get(entry, "log_key"));
  if (pinned && log_key && strcmp(pinned, log_key) != 0)
    return cli_fail("REFUSED: --log-key differs from the log key pinned for %s:\n  pinned: %s",
                    cli.hub, cli_safe(pinned));
  char *served = NULL;
  const char *use = pinned ? pinned : log_key;
  if (!use) {
    size_t len;
    if (!(served = cli_get_public("/log/key", &len))) return 1;
    served[strcspn(served, "\n")] = 0;
    use = served;
  }
  parley_error err;
  int rc = 0;
  if (parley_note_verifier_parse(use, v, &err) != PARLEY_E_OK)
    rc = cli_fail_err("the hub's log key", &err);
  else if (!pinned) {
    json_object_set_new(entry, "log_key", json_string(use));
    fprintf(stderr, "parley: witness: pinned the log key of %s%s: %s\n", cli.hub,
            served ? " on first use" : "", cli_safe(use));
  }
  free(served);
  return rc;
}

/* Consistency of the stored checkpoint `old` with the served one `cp`: ROUND_OK when
 * cp may be cosigned, ROUND_MISBEHAVIOUR (evidence saved) when they cannot both be
 * true, ROUND_ERROR otherwise (including a rollback to a smaller tree). */
static int check_consistency(const char *old, const parley_checkpoint *cp, const char *note) {
  parley_note *on = calloc(1, sizeof *on);
  parley_checkpoint ocp;
  parley_error err;
  if (!on) return cli_fail("out of memory");
  if (parley_note_parse(old, strlen(old), on, &err) != PARLEY_E_OK ||
      parley_checkpoint_parse(on->text, on->text_len, &ocp, &err) != PARLEY_E_OK) {
    free(on);
    return cli_fail("the witness state in %s/%s is corrupt", cli.home, STATE_FILE);
  }
  free(on);
  if (strcmp(ocp.origin, cp->origin) != 0)
    return cli_fail("REFUSED: checkpoint of log '%s', cosigned before: '%s'", cli_safe(cp->origin),
                    cli_safe(ocp.origin));
  uint64_t from = cp->size < ocp.size ? cp->size : ocp.size;
  uint64_t to = cp->size < ocp.size ? ocp.size : cp->size;
  const uint8_t *r1 = cp->size < ocp.size ? cp->root : ocp.root;
  const uint8_t *r2 = cp->size < ocp.size ? ocp.root : cp->root;
  int rc = ROUND_OK;
  if (from == to) {
    if (memcmp(r1, r2, 32) != 0) {
      cli_save_evidence(old, note, "two checkpoints of the same size with different roots\n");
      cli_fail("REFUSED to cosign: LOG MISBEHAVIOUR: two signed checkpoints of size %llu with "
               "different roots (a fork)",
               (unsigned long long)from);
      rc = ROUND_MISBEHAVIOUR;
    }
  } else if (from > 0) { /* from 0 nothing is to be proven (docs/tlog.md, size-0 rule) */
    char q[128];
    snprintf(q, sizeof q, "/log/consistency?from=%llu&to=%llu", (unsigned long long)from,
             (unsigned long long)to);
    size_t plen;
    char *body = cli_get_public(q, &plen);
    json_t *pj = NULL;
    if (!body) return ROUND_ERROR;
    if (parley_json_parse(body, plen, NULL, &pj, &err) != PARLEY_E_OK) {
      free(body);
      return cli_fail_err("consistency proof", &err);
    }
    free(body);
    json_t *arr = json_object_get(pj, "proof");
    size_t cnt = json_array_size(arr);
    uint8_t proof[PARLEY_TLOG_MAX_PROOF][32];
    bool ok = cnt <= PARLEY_TLOG_MAX_PROOF;
    for (size_t i = 0; ok && i < cnt; i++) {
      const char *h = json_string_value(json_array_get(arr, i));
      size_t got = 0;
      ok = h && parley_b64_decode(h, strlen(h), proof[i], 32, &got) == PARLEY_E_OK && got == 32;
    }
    json_decref(pj);
    if (!ok || parley_tlog_verify_consistency(from, to, r1, r2, (const uint8_t(*)[32])proof, cnt,
                                              &err) != PARLEY_E_OK) {
      cli_save_evidence(old, note, "no valid consistency proof between the two checkpoints\n");
      cli_fail("REFUSED to cosign: LOG MISBEHAVIOUR: checkpoint %llu is not consistent with "
               "checkpoint %llu cosigned before (history was rewritten or forked)",
               (unsigned long long)to, (unsigned long long)from);
      rc = ROUND_MISBEHAVIOUR;
    }
  }
  if (rc == ROUND_OK && cp->size < ocp.size)
    rc = cli_fail("REFUSED to cosign: the hub serves a checkpoint of size %llu, smaller than "
                  "size %llu cosigned before (the log was rolled back)",
                  (unsigned long long)cp->size, (unsigned long long)ocp.size);
  return rc;
}

/* Stores in entry.checkpoint the note with only the hub's signature lines (evidence
 * that the hub signed it, without other witnesses' lines). */
static int remember(json_t *entry, const parley_note *n, const parley_note_verifier *v) {
  parley_buf b;
  parley_buf_init(&b, PARLEY_NOTE_MAX_LEN);
  bool ok = parley_buf_append(&b, n->text, n->text_len) == PARLEY_E_OK &&
            parley_buf_puts(&b, "\n") == PARLEY_E_OK;
  size_t name_len = strlen(v->name);
  for (size_t i = 0; ok && i < n->nsigs; i++) {
    const parley_note_sig *s = &n->sigs[i];
    if (s->key_id != v->key_id || s->name_len != name_len ||
        memcmp(s->name, v->name, name_len) != 0)
      continue;
    ok = parley_buf_puts(&b, "\xe2\x80\x94 ") == PARLEY_E_OK &&
         parley_buf_append(&b, s->name, s->name_len) == PARLEY_E_OK &&
         parley_buf_puts(&b, " ") == PARLEY_E_OK &&
         parley_buf_append(&b, s->b64, s->b64_len) == PARLEY_E_OK &&
         parley_buf_puts(&b, "\n") == PARLEY_E_OK;
  }
  ok = ok && json_object_set_new(entry, "checkpoint", json_string((const char *)b.data)) == 0;
  parley_buf_free(&b);
  return ok ? 0 : 1;
}

/* ---- the directory ------------------------------------------------------------
 * entry.directory = {"log": frontier of the log at the cosigned size, "states": the
 * directory those entries build}. Replaying the entries up to a new checkpoint: each
 * entry's leaf hash extends the frontier and the entry goes through parley_dir_apply.
 * The frontier must then fold to the checkpoint's root (so every entry is the one the
 * hub signed), and only then is a broken rule the hub's misbehaviour rather than a
 * corrupted download. */

typedef struct {
  parley_tlog_frontier log;
  parley_dir_view dir;
  bool broken;        /* an entry broke a rule (the first one is kept below) */
  parley_error rule;  /* which rule */
  uint64_t bad_index; /* the entry that broke it */
  char *bad_entry;    /* its bytes, NUL-terminated */
} replay;

static void replay_free(replay *r) {
  parley_dir_view_free(&r->dir);
  free(r->bad_entry);
}

static int replay_load(json_t *entry, replay *r) {
  memset(r, 0, sizeof *r);
  parley_tlog_frontier_init(&r->log);
  json_t *d = json_object_get(entry, "directory");
  parley_error err;
  if (!d) return 0; /* nothing replayed yet: from entry 0 */
  if (parley_tlog_frontier_from_json(json_object_get(d, "log"), &r->log, &err) != PARLEY_E_OK ||
      parley_dir_view_from_json(json_object_get(d, "states"), &r->dir, &err) != PARLEY_E_OK)
    return cli_fail("the witness state in %s/%s is corrupt: %s", cli.home, STATE_FILE, err.detail);
  return 0;
}

/* Entries [from, to) of bundle `tile`, which holds `width` entries. */
static int replay_bundle(replay *r, uint64_t tile, unsigned width, uint64_t from, uint64_t to) {
  parley_tile t = {.entries = true, .index = tile, .width = width};
  char path[PARLEY_TILE_PATH_MAX + 8] = "/log/";
  parley_error err;
  if (parley_tile_path(&t, path + 5, sizeof path - 5, &err) != PARLEY_E_OK)
    return cli_fail_err("entry bundle", &err);
  size_t len = 0;
  char *body = cli_get_public(path, &len);
  if (!body) return 1;
  size_t off = 0;
  int rc = 0;
  for (uint64_t i = tile * PARLEY_TILE_WIDTH;; i++) {
    const uint8_t *e = NULL;
    size_t elen = 0;
    parley_err pe = parley_tile_bundle_next((const uint8_t *)body, len, &off, &e, &elen, &err);
    if (pe == PARLEY_E_NOT_FOUND && i == tile * PARLEY_TILE_WIDTH + width) break;
    if (pe != PARLEY_E_OK || i >= tile * PARLEY_TILE_WIDTH + width) {
      rc = cli_fail("REFUSED to cosign: the hub served a malformed entry bundle (%s): not %u "
                    "entries",
                    path, width);
      break;
    }
    if (i < from || i >= to) continue;
    uint8_t leaf[32];
    parley_tlog_leaf_hash(e, elen, leaf);
    parley_tlog_frontier_append(&r->log, leaf);
    if (r->broken) continue;
    parley_err ae = parley_dir_apply(&r->dir, e, elen, i, &r->rule); /* dir kept on refusal */
    if (ae == PARLEY_E_OK) continue;
    if (ae != PARLEY_E_DIRECTORY_RULE) { /* this witness's own trouble, e.g. memory */
      rc = cli_fail_err("replaying the directory", &r->rule);
      break;
    }
    r->broken = true;
    r->bad_index = i;
    if ((r->bad_entry = malloc(elen + 1))) {
      memcpy(r->bad_entry, e, elen);
      r->bad_entry[elen] = 0;
    }
  }
  free(body);
  return rc;
}

/* Saves the evidence of a directory that broke the rules and says so. */
static int directory_misbehaviour(const char *old, const char *note, const char *why,
                                  const char *rule) {
  cli_save_evidence(old ? old : "", note, why);
  cli_fail("REFUSED to cosign: DIRECTORY MISBEHAVIOUR: %s", cli_safe(rule));
  return ROUND_MISBEHAVIOUR;
}

/* Replays the entries up to cp, checks the rules and the checkpoint's directory
 * commitment; on success *out is the new entry.directory. */
static int check_directory(json_t *entry, const parley_checkpoint *cp, const char *note,
                           json_t **out) {
  const char *old = json_string_value(json_object_get(entry, "checkpoint"));
  replay r;
  if (replay_load(entry, &r)) return ROUND_ERROR;
  int rc = ROUND_ERROR;
  parley_error err;
  uint64_t count = 0;
  uint8_t committed[32], root[32];
  parley_buf why;
  parley_buf_init(&why, 4u << 20);
  parley_err pe = parley_dir_ext_parse(cp, &count, committed, &err);
  if (pe == PARLEY_E_NOT_FOUND) {
    cli_fail("REFUSED to cosign: checkpoint %llu carries no directory commitment (no %sline): "
             "not a Parley hub's log",
             (unsigned long long)cp->size, PARLEY_DIR_EXT_PREFIX);
    goto done;
  }
  if (pe != PARLEY_E_OK) {
    rc = directory_misbehaviour(old, note, "the checkpoint's directory line is malformed\n",
                                "the checkpoint's directory commitment is malformed");
    goto done;
  }
  if (r.log.size > cp->size) {
    cli_fail("REFUSED to cosign: the hub serves a checkpoint of size %llu, smaller than size "
             "%llu witnessed before",
             (unsigned long long)cp->size, (unsigned long long)r.log.size);
    goto done;
  }
  for (uint64_t i = r.log.size; i < cp->size;) {
    uint64_t tile = i / PARLEY_TILE_WIDTH, first = tile * PARLEY_TILE_WIDTH;
    unsigned width =
        cp->size - first >= PARLEY_TILE_WIDTH ? PARLEY_TILE_WIDTH : (unsigned)(cp->size - first);
    if (replay_bundle(&r, tile, width, i, cp->size)) goto done;
    i = first + width;
  }
  parley_tlog_frontier_root(&r.log, root);
  if (memcmp(root, cp->root, 32) != 0) {
    cli_fail("REFUSED to cosign: the log's entries (tile/entries) do not lead to the root of "
             "checkpoint %llu",
             (unsigned long long)cp->size);
    goto done;
  }
  if (!r.broken && r.dir.record_pending) { /* the hub logs both in one transaction */
    r.broken = true;
    r.bad_index = r.dir.pending_index;
    parley_fail(&r.rule, PARLEY_E_DIRECTORY_RULE,
                "log entry %llu: a state-record entry that checkpoint %llu ends after, without "
                "its directory entry",
                (unsigned long long)r.dir.pending_index, (unsigned long long)cp->size);
  }
  if (r.broken) {
    char q[64];
    snprintf(q, sizeof q, "/log/proof?index=%llu", (unsigned long long)r.bad_index);
    size_t plen = 0;
    char *proof = cli_get_public(q, &plen);
    bool ok = parley_buf_printf(
                  &why, "directory rule broken: %s\n\nentry %llu:\n%s\n\n%s%s", r.rule.detail,
                  (unsigned long long)r.bad_index, r.bad_entry ? r.bad_entry : "",
                  proof ? "its inclusion proof:\n" : "", proof ? proof : "") == PARLEY_E_OK;
    free(proof);
    rc = directory_misbehaviour(old, note, ok ? (const char *)why.data : "directory rule broken\n",
                                r.rule.detail);
    goto done;
  }
  if (parley_dir_root(r.dir.states, r.dir.n, root, &err) != PARLEY_E_OK) {
    cli_fail_err("directory", &err);
    goto done;
  }
  if (count != r.dir.n || memcmp(root, committed, 32) != 0) {
    char c64[64], r64[64], rule[512];
    parley_b64_encode(committed, 32, c64, sizeof c64);
    parley_b64_encode(root, 32, r64, sizeof r64);
    snprintf(rule, sizeof rule,
             "checkpoint %llu commits to a directory (%llu states, root %s) that is not the one "
             "its log entries build (%zu states, root %s): a state's record version, root key "
             "or record was changed without a logged, valid directory entry",
             (unsigned long long)cp->size, (unsigned long long)count, c64, r.dir.n, r64);
    json_t *mine = parley_dir_view_to_json(&r.dir);
    char *built = mine ? json_dumps(mine, JSON_COMPACT) : NULL;
    bool ok =
        parley_buf_printf(&why, "%s\n\nthe directory the log's entries [0, %llu) build:\n%s\n",
                          rule, (unsigned long long)cp->size, built ? built : "") == PARLEY_E_OK;
    free(built);
    json_decref(mine);
    rc = directory_misbehaviour(old, note, ok ? (const char *)why.data : rule, rule);
    goto done;
  }
  *out = json_pack("{s:o,s:o}", "log", parley_tlog_frontier_to_json(&r.log), "states",
                   parley_dir_view_to_json(&r.dir));
  rc = *out ? ROUND_OK : cli_fail("out of memory");
done:
  parley_buf_free(&why);
  replay_free(&r);
  return rc;
}

/* POST /log/add-cosignature with the checkpoint text and one line of this witness. */
static int submit_line(const parley_note *n, const parley_buf *line) {
  parley_buf sub;
  parley_buf_init(&sub, PARLEY_NOTE_MAX_LEN);
  int rc = 1;
  json_t *req = NULL;
  char *body = NULL;
  if (parley_buf_append(&sub, n->text, n->text_len) != PARLEY_E_OK ||
      parley_buf_puts(&sub, "\n") != PARLEY_E_OK ||
      parley_buf_append(&sub, line->data, line->len) != PARLEY_E_OK ||
      !(req = json_pack("{s:s%}", "note", (const char *)sub.data, sub.len)) ||
      !(body = json_dumps(req, JSON_COMPACT))) {
    cli_fail("out of memory");
    goto done;
  }
  cli_response r;
  if (cli_http("POST", "/log/add-cosignature", body, strlen(body), NULL, &r)) goto done;
  if (r.status != 200)
    cli_print_http_error(&r);
  else
    rc = 0;
  cli_response_free(&r);
done:
  free(body);
  json_decref(req);
  parley_buf_free(&sub);
  return rc;
}

/* Fetches and checks the hub's latest checkpoint (signature, consistency, directory),
 * then signs and submits its cosignature and its directory statement. */
static int witness_round(const parley_cosigner *c, const parley_dir_witness_signer *d,
                         const char *log_key) {
  parley_cosig_verifier me;
  parley_cosigner_verifier(c, &me);
  json_t *state = cli_load_state(STATE_FILE);
  json_t *mine = json_object_get(state, me.name);
  if (!json_is_object(mine)) {
    mine = json_object();
    json_object_set_new(state, me.name, mine);
  }
  json_t *entry = json_object_get(mine, cli.hub);
  if (!json_is_object(entry)) {
    entry = json_object();
    json_object_set_new(mine, cli.hub, entry);
  }
  parley_note_verifier v;
  parley_note *n = calloc(1, sizeof *n);
  parley_checkpoint cp;
  parley_error err;
  parley_buf cosig, statement;
  parley_buf_init(&cosig, 4096);
  parley_buf_init(&statement, 4096);
  char *note = NULL;
  json_t *dir = NULL;
  size_t len = 0;
  int rc = ROUND_ERROR;
  if (!n || log_verifier(entry, log_key, &v) || !(note = cli_get_public("/log/checkpoint", &len)))
    goto done;
  if (parley_note_parse(note, len, n, &err) != PARLEY_E_OK ||
      parley_note_verify(n, &v, &err) != PARLEY_E_OK) {
    cli_fail_err("REFUSED to cosign: the checkpoint is not signed by the hub's log key", &err);
    goto done;
  }
  if (parley_checkpoint_parse(n->text, n->text_len, &cp, &err) != PARLEY_E_OK) {
    cli_fail_err("REFUSED to cosign: checkpoint", &err);
    goto done;
  }
  if (strcmp(cp.origin, v.name) != 0) {
    cli_fail("REFUSED to cosign: checkpoint of log '%s', expected '%s'", cli_safe(cp.origin),
             cli_safe(v.name));
    goto done;
  }
  const char *old = json_string_value(json_object_get(entry, "checkpoint"));
  if (old && (rc = check_consistency(old, &cp, note)) != ROUND_OK) goto done;
  /* Both statements or neither: a log that only grew but whose directory broke the
   * rules is not cosigned either (docs/tlog.md, "Witnesses"). */
  if ((rc = check_directory(entry, &cp, note, &dir)) != ROUND_OK) goto done;
  rc = ROUND_ERROR;
  /* Remember the checkpoint and the directory before the lines leave: whatever happens
   * next, this witness will not sign a checkpoint inconsistent with them. */
  json_object_set_new(entry, "directory", dir);
  if (remember(entry, n, &v) || cli_save_state(STATE_FILE, state)) {
    cli_fail("witness: cannot record the checkpoint; not cosigning");
    goto done;
  }
  int64_t now = parley_now();
  uint64_t ts = now > 0 ? (uint64_t)now : 0;
  if (parley_cosig_sign(c, n->text, n->text_len, ts, &cosig, &err) != PARLEY_E_OK ||
      parley_dir_witness_sign(d, n->text, n->text_len, ts, &statement, &err) != PARLEY_E_OK) {
    cli_fail_err("cosigning", &err);
    goto done;
  }
  if (submit_line(n, &cosig) || submit_line(n, &statement)) goto done;
  char root[64], droot[64];
  uint64_t count = 0;
  uint8_t dr[32];
  parley_b64_encode(cp.root, 32, root, sizeof root);
  if (parley_dir_ext_parse(&cp, &count, dr, &err) == PARLEY_E_OK)
    parley_b64_encode(dr, 32, droot, sizeof droot);
  printf("COSIGNED checkpoint of %s: %llu entries, root %s (as %s)\n", cli_safe(cp.origin),
         (unsigned long long)cp.size, root, me.name);
  printf("DIRECTORY VERIFIED: %llu states, root %s: every entry followed the rules "
         "(statement %s as %s)\n",
         (unsigned long long)count, droot, PARLEY_DIR_WITNESS_ID, me.name);
  fflush(stdout);
  rc = ROUND_OK;
done:
  parley_buf_free(&cosig);
  parley_buf_free(&statement);
  free(note);
  free(n);
  json_decref(state);
  return rc;
}

int cmd_witness_run(int argc, char **argv) {
  static const struct option opts[] = {
      {"key", required_argument, 0, 'k'},      {"once", no_argument, 0, '1'},
      {"interval", required_argument, 0, 'i'}, {"log-key", required_argument, 0, 'l'},
      {"help", no_argument, 0, 'h'},           {0, 0, 0, 0}};
  const char *key = NULL, *log_key = NULL;
  bool once = false;
  uint64_t interval = 60;
  int ch;
  while ((ch = getopt_long(argc, argv, "k:h", opts, NULL)) != -1) {
    if (ch == 'k')
      key = optarg;
    else if (ch == '1')
      once = true;
    else if (ch == 'l')
      log_key = optarg;
    else if (ch == 'i' && parley_parse_u64(optarg, &interval) && interval >= 1 && interval <= 86400)
      continue;
    else {
      fputs("Usage: parley [--hub URL] witness run --key FILE [--once] [--interval S]\n"
            "                            [--log-key VKEY]\n"
            "Witnesses the hub's transparency log: fetches its latest checkpoint, checks\n"
            "the hub's signature (log key pinned on first use, or --log-key) and a\n"
            "consistency proof from the last checkpoint this witness signed; replays the\n"
            "new log entries (public entry bundles, authenticated against the checkpoint's\n"
            "root), checks the directory rules and the checkpoint's directory commitment;\n"
            "then adds its cosignature (C2SP tlog-cosignature) and its directory statement\n"
            "(parley-directory/v1) and submits both to the hub. It never signs a fork or a\n"
            "directory that broke the rules: it signs neither line, saves the evidence in\n"
            "the state directory, and stops with status 3.\n"
            "  --once        one round, then exit (default: a round every S seconds)\n"
            "  --interval S  seconds between rounds (1..86400, default 60)\n",
            ch == 'h' ? stdout : stderr);
      return ch == 'h' ? 0 : 2;
    }
  }
  if (!key || optind < argc) return cli_fail("witness run: give --key FILE");
  if (!cli.hub[0]) return cli_fail("no hub: give --hub URL or set hub = URL in the config file");
  parley_cosigner *c = NULL;
  parley_dir_witness_signer *d = NULL;
  if (load_cosigner(key, &c, &d)) return 1;
  int rc;
  for (;;) {
    rc = witness_round(c, d, log_key);
    if (once || rc == ROUND_MISBEHAVIOUR) break;
    sleep((unsigned)interval);
  }
  parley_dir_witness_signer_free(d);
  parley_cosigner_free(c);
  return rc;
}
