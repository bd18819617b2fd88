/* parley log ... and parley verify ...: the client's side of the transparency log.
 * The client pins the hub's log key on first use, keeps the last checkpoint it
 * accepted, and accepts a new one only with a valid consistency proof from it. Two
 * checkpoints that cannot both be true are saved as evidence and reported loudly. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "parley/directory.h"
#include "parley/json.h"
#include "parley/tlog.h"

/* GET without a signature (the log is public); body returned NUL-terminated. */
char *cli_get_public(const char *path, size_t *len) {
  cli_response r;
  if (cli_http("GET", path, NULL, 0, NULL, &r)) return NULL;
  if (r.status != 200) {
    cli_print_http_error(&r);
    cli_response_free(&r);
    return NULL;
  }
  *len = r.len;
  return r.body;
}

json_t *cli_load_state(const char *name) {
  char path[600];
  snprintf(path, sizeof path, "%s/%s", cli.home, name);
  json_error_t e;
  json_t *v = json_load_file(path, JSON_REJECT_DUPLICATES, &e);
  return v ? v : json_object();
}

int cli_save_state(const char *name, json_t *v) {
  char path[600];
  snprintf(path, sizeof path, "%s/%s", cli.home, name);
  mkdir(cli.home, 0700);
  char *s = json_dumps(v, JSON_INDENT(2) | JSON_SORT_KEYS);
  int rc = s && cli_write_file_atomic(path, s, strlen(s), 0600) == PARLEY_E_OK
               ? 0
               : cli_fail("cannot write %s", path);
  free(s);
  return rc;
}

/* The hub's note verifier, pinned per hub URL on first use. */
static int hub_verifier(parley_note_verifier *v) {
  json_t *hubs = cli_load_state("hubs.json");
  const char *pinned = json_string_value(json_object_get(hubs, cli.hub));
  int rc = 0;
  size_t len;
  char *served = cli_get_public("/log/key", &len);
  if (!served) {
    json_decref(hubs);
    return 1;
  }
  served[strcspn(served, "\n")] = 0;
  parley_error err;
  if (pinned && strcmp(pinned, served) != 0) {
    rc = cli_fail("REFUSED: the hub's log key changed.\n  pinned: %s\n  served: %s",
                  cli_safe(pinned), cli_safe(served));
  } else if (parley_note_verifier_parse(served, v, &err) != PARLEY_E_OK) {
    rc = cli_fail_err("the hub's log key", &err);
  } else if (!pinned) {
    json_object_set_new(hubs, cli.hub, json_string(served));
    rc = cli_save_state("hubs.json", hubs);
    if (!rc)
      fprintf(stderr, "parley: pinned the log key of %s on first use: %s\n", cli.hub,
              cli_safe(served));
  }
  free(served);
  json_decref(hubs);
  return rc;
}

int cli_hub_key(parley_sign_pk *pk) {
  parley_note_verifier v;
  if (hub_verifier(&v)) return 1;
  memcpy(pk->b, v.public_key, 32);
  return 0;
}

void cli_save_evidence(const char *old_note, const char *new_note, const char *why) {
  char dir[700];
  snprintf(dir, sizeof dir, "%s/evidence-%lld", cli.home, (long long)parley_now());
  mkdir(cli.home, 0700);
  mkdir(dir, 0700);
  char p[800];
  snprintf(p, sizeof p, "%s/old-checkpoint", dir);
  cli_write_file_atomic(p, old_note, strlen(old_note), 0600);
  snprintf(p, sizeof p, "%s/new-checkpoint", dir);
  cli_write_file_atomic(p, new_note, strlen(new_note), 0600);
  snprintf(p, sizeof p, "%s/why", dir);
  cli_write_file_atomic(p, why, strlen(why), 0600);
  fprintf(stderr, "parley: EVIDENCE of a misbehaving log saved in %s\n", dir);
}

/* K of N: the note must carry, of at least cli.witnesses_required of the configured
 * witnesses, both a valid cosignature (the log only grew) and a valid directory
 * statement (its directory commitment followed the rules): docs/tlog.md, "Witnesses". */
static int check_witnesses(const parley_note *n, uint64_t size) {
  if (cli.witnesses_required == 0) return 0;
  size_t cosigned = 0, vouched = 0;
  char cosig_names[512] = "", dir_names[512] = "";
  for (size_t i = 0; i < cli.n_witnesses; i++) {
    parley_error err;
    if (parley_cosig_verify(n, &cli.witnesses[i], NULL, &err) != PARLEY_E_OK) continue;
    size_t used = strlen(cosig_names);
    snprintf(cosig_names + used, sizeof cosig_names - used, "%s%s", cosigned ? ", " : "",
             cli.witnesses[i].name);
    cosigned++;
    parley_dir_witness_verifier dv;
    parley_dir_witness_verifier_of(&cli.witnesses[i], &dv);
    if (parley_dir_witness_verify(n, &dv, NULL, &err) != PARLEY_E_OK) continue;
    used = strlen(dir_names);
    snprintf(dir_names + used, sizeof dir_names - used, "%s%s", vouched ? ", " : "",
             cli.witnesses[i].name);
    vouched++;
  }
  if (cosigned < cli.witnesses_required)
    return cli_fail("REFUSED: checkpoint %llu carries %zu valid cosignature%s of the %zu "
                    "configured witnesses%s%s%s; %u required",
                    (unsigned long long)size, cosigned, cosigned == 1 ? "" : "s", cli.n_witnesses,
                    cosigned ? " (" : "", cosig_names, cosigned ? ")" : "", cli.witnesses_required);
  if (vouched < cli.witnesses_required)
    return cli_fail("REFUSED: checkpoint %llu carries %zu valid directory statement%s (%s) of "
                    "the %zu configured witnesses%s%s%s; %u required: not enough witnesses "
                    "checked that its directory commitment followed the rules (cosigned by: %s)",
                    (unsigned long long)size, vouched, vouched == 1 ? "" : "s",
                    PARLEY_DIR_WITNESS_ID, cli.n_witnesses, vouched ? " (" : "", dir_names,
                    vouched ? ")" : "", cli.witnesses_required, cosig_names);
  return 0;
}

/* Verifies a signed checkpoint note and its consistency with the last one accepted for
 * this hub, and that enough witnesses cosigned it; on success stores it as the new last
 * one. `note` is NUL-terminated. */
static int accept_checkpoint(const char *note, size_t len, parley_checkpoint *cp_out);

int cli_accept_checkpoint(const char *note, size_t len, parley_checkpoint *cp_out) {
  int lock = cli_state_lock();
  int rc = accept_checkpoint(note, len, cp_out);
  cli_state_unlock(lock);
  return rc;
}

static int accept_checkpoint(const char *note, size_t len, parley_checkpoint *cp_out) {
  parley_note_verifier v;
  if (hub_verifier(&v)) return 1;
  parley_note n;
  parley_checkpoint cp;
  parley_error err;
  if (parley_note_parse(note, len, &n, &err) != PARLEY_E_OK ||
      parley_note_verify(&n, &v, &err) != PARLEY_E_OK)
    return cli_fail_err("REFUSED: the checkpoint is not signed by the hub's log key", &err);
  if (parley_checkpoint_parse(n.text, n.text_len, &cp, &err) != PARLEY_E_OK)
    return cli_fail_err("REFUSED: checkpoint", &err);
  if (strcmp(cp.origin, v.name) != 0)
    return cli_fail("REFUSED: checkpoint of log '%s', expected '%s'", cli_safe(cp.origin),
                    cli_safe(v.name));
  json_t *seen = cli_load_state("checkpoints.json");
  const char *old = json_string_value(json_object_get(seen, cli.hub));
  uint64_t old_size = 0;
  int rc = 0;
  if (old) {
    parley_note on;
    parley_checkpoint ocp;
    if (parley_note_parse(old, strlen(old), &on, &err) != PARLEY_E_OK ||
        parley_checkpoint_parse(on.text, on.text_len, &ocp, &err) != PARLEY_E_OK) {
      json_decref(seen);
      return cli_fail("the stored checkpoint in %s/checkpoints.json is corrupt", cli.home);
    }
    old_size = ocp.size;
    /* The new checkpoint may be older than the stored one (a proof against an
     * earlier tree): check consistency in whichever direction applies. */
    uint64_t from = cp.size < ocp.size ? cp.size : ocp.size;
    uint64_t to = cp.size < ocp.size ? ocp.size : cp.size;
    const uint8_t *r1 = cp.size < ocp.size ? cp.root : ocp.root;
    const uint8_t *r2 = cp.size < ocp.size ? ocp.root : cp.root;
    if (from > 0 && from == to) {
      if (memcmp(r1, r2, 32) != 0) {
        cli_save_evidence(old, note, "two checkpoints of the same size with different roots\n");
        rc = cli_fail("LOG MISBEHAVIOUR: two signed checkpoints of size %llu with different roots",
                      (unsigned long long)from);
      }
    } else if (from > 0) {
      char q[128];
      snprintf(q, sizeof q, "/log/consistency?from=%llu&to=%llu", (unsigned long long)from,
               (unsigned long long)to);
      size_t plen;
      char *body = cli_get_public(q, &plen);
      json_t *pj = NULL;
      if (!body || parley_json_parse(body, plen, NULL, &pj, &err) != PARLEY_E_OK) {
        rc = body ? cli_fail_err("consistency proof", &err) : 1;
      } else {
        json_t *arr = json_object_get(pj, "proof");
        size_t cnt = json_array_size(arr);
        uint8_t(*proof)[32] = calloc(cnt ? cnt : 1, 32);
        bool ok = proof && cnt <= PARLEY_TLOG_MAX_PROOF;
        for (size_t i = 0; ok && i < cnt; i++) {
          const char *h = json_string_value(json_array_get(arr, i));
          size_t got = 0;
          ok = h && parley_b64_decode(h, strlen(h), proof[i], 32, &got) == PARLEY_E_OK && got == 32;
        }
        if (!ok || parley_tlog_verify_consistency(from, to, r1, r2, (const uint8_t(*)[32])proof,
                                                  cnt, &err) != PARLEY_E_OK) {
          cli_save_evidence(old, note, "no valid consistency proof between the two checkpoints\n");
          rc = cli_fail("LOG MISBEHAVIOUR: checkpoint %llu is not consistent with checkpoint %llu "
                        "seen before (history was rewritten or forked)",
                        (unsigned long long)to, (unsigned long long)from);
        }
        free(proof);
      }
      json_decref(pj);
      free(body);
    }
  }
  if (!rc) rc = check_witnesses(&n, cp.size);
  if (!rc && (!old || cp.size > old_size)) {
    /* Keep the largest checkpoint seen as the reference for the next check. */
    json_object_set_new(seen, cli.hub, json_string(note));
    rc = cli_save_state("checkpoints.json", seen);
  }
  json_decref(seen);
  if (!rc && cp_out) *cp_out = cp;
  return rc;
}

/* Fetches the tlog-proof for a leaf hash and verifies it offline: the checkpoint
 * (signature and consistency with what this client saw) and the inclusion proof. */
int cli_verify_inclusion(const uint8_t leaf_hash[32], uint64_t *index_out, uint64_t *size_out) {
  char b64[64], q[128];
  parley_b64url_encode(leaf_hash, 32, b64, sizeof b64);
  snprintf(q, sizeof q, "/log/proof?leaf=%s", b64);
  size_t len;
  char *proof = cli_get_public(q, &len);
  if (!proof) return 1;
  /* c2sp.org/tlog-proof@v1 \n [extra ...\n] index N \n hashes... \n \n checkpoint note */
  int rc = 0;
  char *p = proof, *end = proof + len;
  uint8_t hashes[PARLEY_TLOG_MAX_PROOF][32];
  size_t n = 0;
  uint64_t index = 0;
  bool have_index = false;
  char *nl = memchr(p, '\n', (size_t)(end - p));
  if (!nl || strncmp(p, "c2sp.org/tlog-proof@v1\n", 23) != 0)
    rc = cli_fail("REFUSED: not a c2sp.org/tlog-proof@v1 document");
  else
    p = nl + 1;
  while (!rc && p < end && *p != '\n') {
    nl = memchr(p, '\n', (size_t)(end - p));
    if (!nl) {
      rc = cli_fail("REFUSED: truncated proof");
      break;
    }
    *nl = 0;
    size_t got = 0;
    if (strncmp(p, "extra ", 6) == 0 && !have_index) {
      /* application data: none defined by Parley yet */
    } else if (strncmp(p, "index ", 6) == 0 && !have_index) {
      have_index = parley_parse_u64(p + 6, &index);
      if (!have_index) rc = cli_fail("REFUSED: bad index line");
    } else if (have_index && n < PARLEY_TLOG_MAX_PROOF &&
               parley_b64_decode(p, strlen(p), hashes[n], 32, &got) == PARLEY_E_OK && got == 32) {
      n++;
    } else {
      rc = cli_fail("REFUSED: malformed proof line");
    }
    p = nl + 1;
  }
  parley_checkpoint cp;
  if (!rc && (!have_index || p >= end)) rc = cli_fail("REFUSED: proof without index or checkpoint");
  if (!rc) rc = cli_accept_checkpoint(p + 1, (size_t)(end - p - 1), &cp);
  parley_error err;
  if (!rc && parley_tlog_verify_inclusion(index, cp.size, leaf_hash, (const uint8_t(*)[32])hashes,
                                          n, cp.root, &err) != PARLEY_E_OK)
    rc = cli_fail_err("REFUSED: the entry is not included in the signed log", &err);
  if (!rc) {
    *index_out = index;
    *size_out = cp.size;
  }
  free(proof);
  return rc;
}

/* Leaf hash of the log entry for a signed JSON object of `kind` (docs/protocol.md §7). */
int cli_entry_leaf_hash(const char *kind, const json_t *obj, uint8_t out[32]) {
  parley_buf b;
  parley_buf_init(&b, 16u << 20);
  parley_error err;
  if (parley_jcs(obj, &b, &err) != PARLEY_E_OK) {
    parley_buf_free(&b);
    return cli_fail_err("canonical form", &err);
  }
  parley_hash h;
  parley_sha256(b.data, b.len, &h);
  parley_buf_free(&b);
  uint8_t entry[96];
  size_t k = strlen(kind);
  memcpy(entry, kind, k);
  entry[k] = '\n';
  memcpy(entry + k + 1, h.b, 32);
  parley_tlog_leaf_hash(entry, k + 33, out);
  return 0;
}

int cmd_log_checkpoint(int argc, char **argv) {
  if (argc > 1) {
    puts("Usage: parley log checkpoint\nFetches the hub's latest signed checkpoint, verifies "
         "it with the pinned log key\nand its consistency with the last one this client saw.");
    return strcmp(argv[1], "--help") == 0 ? 0 : 2;
  }
  size_t len;
  char *note = cli_get_public("/log/checkpoint", &len);
  if (!note) return 1;
  parley_checkpoint cp;
  int rc = cli_accept_checkpoint(note, len, &cp);
  if (!rc) {
    char root[64];
    parley_b64_encode(cp.root, 32, root, sizeof root);
    printf("VERIFIED checkpoint of %s: %llu entries, root %s\n", cli_safe(cp.origin),
           (unsigned long long)cp.size, root);
  }
  free(note);
  return rc;
}

int cmd_verify_record(int argc, char **argv) {
  if (argc < 2 || argc > 3 || argv[1][0] == '-') {
    puts("Usage: parley verify record CODE [VERSION]\n"
         "Checks that the state's record (current, or VERSION) is in the hub's\n"
         "transparency log: inclusion proof, checkpoint signed by the pinned log key,\n"
         "consistent with every checkpoint this client saw before.");
    return argc == 2 ? 0 : 2;
  }
  char path[96];
  if (argc == 3)
    snprintf(path, sizeof path, "/v1/states/%.3s/records/%.20s", argv[1], argv[2]);
  else
    snprintf(path, sizeof path, "/v1/states/%.3s/record", argv[1]);
  json_t *rec = cli_get_json(path);
  if (!rec) return 1;
  uint8_t leaf[32];
  uint64_t index, size;
  int rc = cli_entry_leaf_hash("state-record", rec, leaf);
  if (!rc && cli_verify_inclusion(leaf, &index, &size))
    rc = cli_fail("REFUSED: record %s is not provably in the hub's transparency log", argv[1]);
  if (!rc)
    printf("VERIFIED: record %s version %lld is entry %llu of the hub's log (checkpoint of %llu "
           "entries)\n",
           argv[1], (long long)json_integer_value(json_object_get(rec, "version")),
           (unsigned long long)index, (unsigned long long)size);
  json_decref(rec);
  return rc;
}
