/* parley directory ...: read the directory and verify what the hub serves. */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "parley/directory.h"
#include "parley/json.h"
#include "parley/proto.h"

int cmd_directory_list(int argc, char **argv) {
  if (argc > 1) {
    puts("Usage: parley directory list\nLists the states, their status and record version.");
    return strcmp(argv[1], "--help") == 0 ? 0 : 2;
  }
  json_t *v = cli_get_json("/v1/states");
  if (!v) return 1;
  if (cli.json_output) {
    cli_print_json(stdout, v, JSON_INDENT(2));
    json_decref(v);
    return 0;
  }
  /* The listing is the hub's word: every member checked, shown escaped, a missing or
   * mistyped one as "(missing)"; a state's record is verified by `directory show`. */
  json_t *states = json_object_get(v, "states");
  if (!json_is_array(states)) {
    json_decref(v);
    return cli_fail("the hub's answer has no list of states");
  }
  printf("States as the hub lists them (its unsigned word; 'parley directory show CODE' "
         "verifies one):\n");
  printf("%-5s %-32s %-30s %-9s %-7s %s\n", "CODE", "NAME", "REGION", "STATUS", "VERSION",
         "REVIEW BY");
  size_t i;
  json_t *s;
  json_array_foreach(states, i, s) {
    const char *rb = cli_jstr(s, "review_by");
    long long ver;
    char version[24] = "-";
    if (cli_jint(s, "version", &ver)) snprintf(version, sizeof version, "%lld", ver);
    printf("%-5s %-32s %-30s %-9s %-7s %s%s\n", cli_safe(cli_jstr(s, "code")),
           cli_safe(cli_jstr(s, "name")), cli_safe(cli_jstr(s, "region")),
           cli_safe(cli_jstr(s, "status")), version, rb ? cli_safe(rb) : "-",
           json_is_true(json_object_get(s, "stale")) ? "  STALE: past review date" : "");
  }
  json_decref(v);
  return 0;
}

/* ---- pins ---------------------------------------------------------------------
 * <home>/pins.json: per state {"root_key", "confirmed" (checked out of band with
 * `parley directory trust`), "version" (the highest record version seen: never go
 * back), "accepted_replacement" (the log index of an operator replacement of the root
 * key that the user accepted)}. A bare string is a root key pinned on first use. */

static json_t *load_pins(const char *path, int *rc) {
  json_error_t jerr;
  json_t *pins = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
  *rc = 0;
  if (!pins) {
    struct stat st;
    if (stat(path, &st) == 0) *rc = cli_fail("%s is corrupt: %s", path, jerr.text);
    pins = json_object();
  }
  return pins;
}

/* What the directory commitment says of a state, once verified. */
typedef struct {
  uint64_t checkpoint_size;
  uint64_t index, count;
  int64_t replaced_at; /* -1: the root key was never replaced by the operator */
  char reason[320];    /* the operator's logged reason, when replaced_at >= 0 */
  char operator_key[32];
  char replaced_time[PARLEY_TIME_LEN];
} dir_fact;

static void fingerprint_of(const parley_sign_pk *pk, char disp[PARLEY_FINGERPRINT_DISPLAY_LEN]) {
  char fpr[PARLEY_FINGERPRINT_HEX_LEN];
  parley_sign_pk_fingerprint(pk, fpr);
  parley_fingerprint_display(fpr, disp);
}

/* The operator's replacement of the root key, as logged: the entry the hub serves must
 * be in the log at the index the commitment names, and name this state and key. */
static int verify_replacement(const json_t *st, const char *code, const parley_sign_pk *root,
                              dir_fact *f) {
  json_t *rep = json_object_get(st, "root_replacement");
  const char *entry = json_string_value(json_object_get(rep, "entry"));
  json_t *idx = json_object_get(rep, "index");
  if (!entry || !json_is_integer(idx) || json_integer_value(idx) != f->replaced_at)
    return cli_fail("REFUSED: the directory says %s's root key was replaced by the hub's operator "
                    "(log entry %lld), but the hub does not show that entry",
                    code, (long long)f->replaced_at);
  uint8_t lh[32];
  uint64_t li = 0, ls = 0;
  parley_tlog_leaf_hash((const uint8_t *)entry, strlen(entry), lh);
  if (cli_verify_inclusion(lh, &li, &ls) || (int64_t)li != f->replaced_at)
    return cli_fail("REFUSED: the operator's replacement of %s's root key is not provably log "
                    "entry %lld",
                    code, (long long)f->replaced_at);
  json_t *o = NULL;
  parley_error err;
  if (parley_dir_entry_parse((const uint8_t *)entry, strlen(entry), &o, &err) != PARLEY_E_OK)
    return cli_fail_err("REFUSED: the logged replacement does not parse", &err);
  const char *action = json_string_value(json_object_get(o, "action"));
  const char *state = json_string_value(json_object_get(o, "state"));
  const char *key = json_string_value(json_object_get(o, "root_key"));
  const char *reason = json_string_value(json_object_get(o, "reason"));
  const char *op = json_string_value(json_object_get(o, "operator_key_id"));
  const char *t = json_string_value(json_object_get(o, "time"));
  parley_sign_pk k;
  int rc = 0;
  if (!action || strcmp(action, "replace-root") || !state || strcmp(state, code) || !key ||
      parley_sign_pk_from_b64(key, &k) != PARLEY_E_OK || !reason || !op || !t)
    rc = cli_fail("REFUSED: log entry %lld is not an operator replacement of %s's root key",
                  (long long)f->replaced_at, code);
  else {
    parley_strlcpy(f->reason, reason, sizeof f->reason);
    parley_strlcpy(f->operator_key, op, sizeof f->operator_key);
    parley_strlcpy(f->replaced_time, t, sizeof f->replaced_time);
    (void)root; /* a later rotation by the state may have followed the replacement */
  }
  json_decref(o);
  return rc;
}

/* Checks the state's leaf in the directory commitment of a checkpoint this client
 * accepts (signed by the pinned log key, consistent with what it saw, cosigned and
 * vouched for by the required witnesses): the served root key, the current record's
 * version and hash must be what the whole log commits to. So no client can be shown a
 * rolled-back record or a root key that the rest of the world does not see. */
static int verify_commitment(const json_t *st, const char *code, const parley_sign_pk *root,
                             const parley_record_info *cur, const json_t *cur_rec, dir_fact *f) {
  json_t *d = json_object_get(st, "directory");
  const char *note = json_string_value(json_object_get(d, "checkpoint"));
  json_t *jidx = json_object_get(d, "index"), *jcount = json_object_get(d, "count");
  json_t *jproof = json_object_get(d, "proof"), *jrep = json_object_get(d, "root_replaced_at");
  if (!note || !json_is_integer(jidx) || !json_is_integer(jcount) || !json_is_array(jproof) ||
      json_integer_value(jidx) < 0 || json_integer_value(jcount) <= json_integer_value(jidx) ||
      json_array_size(jproof) > PARLEY_TLOG_MAX_PROOF || (jrep && !json_is_integer(jrep)))
    return cli_fail("REFUSED: the hub sent no valid directory proof for %s", code);
  parley_checkpoint cp;
  if (cli_accept_checkpoint(note, strlen(note), &cp)) return 1;
  uint64_t n;
  uint8_t droot[32];
  parley_error err;
  if (parley_dir_ext_parse(&cp, &n, droot, &err) != PARLEY_E_OK)
    return cli_fail_err("REFUSED: the hub's checkpoint commits to no directory", &err);
  f->checkpoint_size = cp.size;
  f->index = (uint64_t)json_integer_value(jidx);
  f->count = (uint64_t)json_integer_value(jcount);
  f->replaced_at = jrep ? json_integer_value(jrep) : -1;
  if (f->count != n)
    return cli_fail(
        "REFUSED: the directory proof is for %llu states, the checkpoint commits to %llu",
        (unsigned long long)f->count, (unsigned long long)n);
  uint8_t proof[PARLEY_TLOG_MAX_PROOF][32];
  size_t plen = json_array_size(jproof);
  for (size_t i = 0; i < plen; i++) {
    const char *h = json_string_value(json_array_get(jproof, i));
    size_t got = 0;
    if (!h || parley_b64_decode(h, strlen(h), proof[i], 32, &got) != PARLEY_E_OK || got != 32)
      return cli_fail("REFUSED: malformed directory proof for %s", code);
  }
  parley_dir_state want;
  memset(&want, 0, sizeof want);
  parley_strlcpy(want.state, code, sizeof want.state);
  want.version = cur->version;
  want.root = *root;
  want.root_replaced_at = f->replaced_at;
  parley_buf b;
  parley_buf_init(&b, 1u << 20);
  if (parley_jcs(cur_rec, &b, &err) != PARLEY_E_OK) {
    parley_buf_free(&b);
    return cli_fail_err("canonical form", &err);
  }
  parley_hash rh;
  parley_sha256(b.data, b.len, &rh);
  parley_buf_free(&b);
  memcpy(want.record_sha256, rh.b, 32);
  uint8_t lh[32];
  if (parley_dir_leaf_hash(&want, lh, &err) != PARLEY_E_OK ||
      parley_tlog_verify_inclusion(f->index, f->count, lh, (const uint8_t(*)[32])proof, plen, droot,
                                   &err) != PARLEY_E_OK)
    return cli_fail("REFUSED: %s's root key and record version %lld are not what the hub's log "
                    "commits to for %s (checkpoint of %llu entries): the hub may be showing you "
                    "an old record, or keys that others do not see",
                    code, (long long)cur->version, code, (unsigned long long)cp.size);
  if (f->replaced_at >= 0) return verify_replacement(st, code, root, f);
  return 0;
}

/* Set by `directory show` and `directory trust`: show a flagged state instead of refusing. */
static bool allow_flagged;
/* Set by `directory trust`: the fingerprint the user checked out of band, to pin. */
static const char *trust_fingerprint;

static void print_replacement(const char *code, const dir_fact *f) {
  fprintf(stderr,
          "parley: WARNING: %s's root key was REPLACED BY THE HUB'S OPERATOR, not by %s's previous "
          "key (log entry %lld, %s, operator key %s).\n  The operator's logged reason: \"%s\"\n"
          "  Confirm the new fingerprint with %s out of band, then accept it with:\n"
          "  parley directory trust %s <fingerprint>\n",
          code, code, (long long)f->replaced_at, cli_safe(f->replaced_time),
          cli_safe(f->operator_key), cli_safe(f->reason), code, code);
}

static void strip_fingerprint(const char *in, char *out, size_t cap) {
  size_t n = 0;
  for (; *in && n + 1 < cap; in++)
    if ((*in >= '0' && *in <= '9') || (*in >= 'a' && *in <= 'f'))
      out[n++] = *in;
    else if (*in >= 'A' && *in <= 'F')
      out[n++] = (char)(*in - 'A' + 'a');
  out[n] = 0;
}

/* Pins, rollback and operator replacement, with the client's state locked. */
static int check_pin(const char *code, const char *root_b64, const parley_sign_pk *root,
                     int64_t version, const dir_fact *f, bool *first_use) {
  char path[600];
  snprintf(path, sizeof path, "%s/pins.json", cli.home);
  int rc;
  json_t *pins = load_pins(path, &rc);
  if (rc) {
    json_decref(pins);
    return rc;
  }
  json_t *pin = json_object_get(pins, code);
  if (json_is_string(pin)) { /* the older form: a root key pinned on first use */
    json_t *o = json_pack("{s:O,s:b}", "root_key", pin, "confirmed", 0);
    json_object_set_new(pins, code, o);
    pin = o;
  }
  const char *pinned = json_string_value(json_object_get(pin, "root_key"));
  json_int_t seen = json_integer_value(json_object_get(pin, "version"));
  json_t *acc = json_object_get(pin, "accepted_replacement");
  char disp[PARLEY_FINGERPRINT_DISPLAY_LEN], fpr[PARLEY_FINGERPRINT_HEX_LEN];
  fingerprint_of(root, disp);
  parley_sign_pk_fingerprint(root, fpr);
  *first_use = false;
  bool dirty = false;
  if (trust_fingerprint) {
    char want[80];
    strip_fingerprint(trust_fingerprint, want, sizeof want);
    if (strcmp(want, fpr) != 0) {
      rc = cli_fail("REFUSED: the hub shows %s's root key with fingerprint\n  %s\nnot the one you "
                    "checked. Do not use %s's entry until this is resolved with %s.",
                    code, disp, code, code);
    } else {
      json_t *o = json_pack("{s:s,s:b,s:I}", "root_key", root_b64, "confirmed", 1, "version",
                            (json_int_t)(version > seen ? version : seen));
      if (f->replaced_at >= 0)
        json_object_set_new(o, "accepted_replacement", json_integer(f->replaced_at));
      json_object_set_new(pins, code, o);
      dirty = true;
    }
  } else if (!pinned) {
    *first_use = true;
    json_object_set_new(pins, code,
                        json_pack("{s:s,s:b,s:I}", "root_key", root_b64, "confirmed", 0, "version",
                                  (json_int_t)version));
    dirty = true;
    fprintf(stderr,
            "parley: FIRST CONTACT with %s: its root key is now pinned ON TRUST, not checked.\n"
            "  fingerprint: %s\n  Compare it with %s through another channel (phone, note "
            "verbale), then run:\n  parley directory trust %s <fingerprint>\n",
            code, disp, code, code);
  } else if (strcmp(pinned, root_b64) != 0) {
    rc = cli_fail("REFUSED: the hub now shows a different root key for %s than the one pinned in "
                  "%s.\n  pinned: %s\n  served: %s (fingerprint %s)\n%sIf %s changed its key, "
                  "confirm the new fingerprint out of band, then run: parley directory trust %s "
                  "<fingerprint>",
                  code, path, cli_safe(pinned), cli_safe(root_b64), disp,
                  f->replaced_at >= 0 ? "The hub's log says the OPERATOR replaced it.\n" : "", code,
                  code);
  } else if (version < seen) {
    rc = cli_fail("REFUSED: the hub serves version %lld of %s's record, but this client has seen "
                  "version %lld: an old record (with keys %s may have revoked) is being replayed",
                  (long long)version, code, (long long)seen, code);
  } else if (version > seen) {
    json_object_set_new(pin, "version", json_integer(version));
    dirty = true;
  }
  if (!rc && f->replaced_at >= 0 && !trust_fingerprint &&
      (!json_is_integer(acc) || json_integer_value(acc) != f->replaced_at)) {
    print_replacement(code, f);
    if (!allow_flagged)
      rc = cli_fail("REFUSED to use %s's entry until you accept its new root key", code);
  }
  if (dirty && !rc)
    rc = cli_save_state("pins.json", pins);
  else if (dirty && *first_use)
    cli_save_state("pins.json", pins);
  json_decref(pins);
  return rc;
}

static json_t *get_record(const char *code, const char *version) {
  char path[96];
  if (version)
    snprintf(path, sizeof path, "/v1/states/%.3s/records/%.20s", code, version);
  else
    snprintf(path, sizeof path, "/v1/states/%.3s/record", code);
  return cli_get_json(path);
}

/* One fetch of the state and its current record, verified against each other, the
 * directory commitment and the log (the record's entry proven included), then the pins:
 * the pin is written only once every other check passed. On success the caller owns
 * *st and *cur. */
static int fetch_current(const char *code, json_t **st_out, json_t **cur_out,
                         parley_record_info *info, parley_sign_pk *root, bool *first, bool *changed,
                         uint64_t *log_index, uint64_t *log_size) {
  char path[96];
  snprintf(path, sizeof path, "/v1/states/%.3s", code);
  *changed = false;
  json_t *st = cli_get_json(path);
  if (!st) return 1;
  const char *root_b64 = json_string_value(json_object_get(st, "root_key"));
  if (!root_b64 || parley_sign_pk_from_b64(root_b64, root) != PARLEY_E_OK) {
    json_decref(st);
    return cli_fail("the hub sent no valid root key for %s", code);
  }
  json_t *rec = get_record(code, NULL);
  if (!rec) {
    json_decref(st);
    return 1;
  }
  parley_error err;
  int rc = 0;
  dir_fact f;
  memset(&f, 0, sizeof f);
  if (parley_record_verify(rec, root, parley_now(), info, &err) != PARLEY_E_OK)
    rc = cli_fail_err("REFUSED: the record does not verify with the root key", &err);
  else if (strcmp(info->state, code) != 0)
    rc = cli_fail("REFUSED: the hub served a record of %s for %s", cli_safe(info->state), code);
  else if (json_integer_value(json_object_get(st, "version")) != info->version) {
    *changed = true; /* a new version was published between the two requests */
    rc = 1;
  } else if (verify_commitment(st, code, root, info, rec, &f))
    rc = 1;
  uint8_t leaf[32];
  if (!rc && (cli_entry_leaf_hash("state-record", rec, leaf) ||
              cli_verify_inclusion(leaf, log_index, log_size)))
    rc = cli_fail("REFUSED: %s's record is not provably in the hub's transparency log", code);
  if (!rc) {
    int lock = cli_state_lock();
    rc = check_pin(code, root_b64, root, info->version, &f, first);
    cli_state_unlock(lock);
  }
  if (rc) {
    json_decref(st);
    json_decref(rec);
    return rc;
  }
  *st_out = st;
  *cur_out = rec;
  return 0;
}

/* Fetches a state's record (current, or `version`) and trusts it only if: the root
 * key matches the pin (set on first use, loudly) and is what the log's directory
 * commitment says, the current record is the latest the log commits to and no older
 * than one this client saw, the record verifies with the root key, and it is provably
 * in the hub's transparency log. On success the caller owns *st and *rec. */
int cli_verified_record(const char *code, const char *version, json_t **st_out, json_t **rec_out,
                        parley_record_info *info, parley_sign_pk *root, bool *first,
                        uint64_t *log_index, uint64_t *log_size) {
  json_t *st = NULL, *rec = NULL;
  bool changed = false;
  int rc = fetch_current(code, &st, &rec, info, root, first, &changed, log_index, log_size);
  if (rc && changed)
    rc = fetch_current(code, &st, &rec, info, root, first, &changed, log_index, log_size);
  if (rc) {
    if (changed) cli_fail("%s's record changed twice while it was read; try again", code);
    return rc;
  }
  parley_error err;
  if (version) {
    json_t *old = get_record(code, version);
    json_decref(rec);
    rec = old;
    if (!rec)
      rc = 1;
    else if (parley_record_verify(rec, root, parley_now(), info, &err) != PARLEY_E_OK)
      rc = cli_fail_err("REFUSED: that version does not verify with the current root key", &err);
    else if (strcmp(info->state, code) != 0)
      rc = cli_fail("REFUSED: the hub served a record of %s for %s", cli_safe(info->state), code);
    else if (strtoll(version, NULL, 10) != info->version)
      rc = cli_fail("REFUSED: asked for version %s of %s's record, the hub served version %lld",
                    version, code, (long long)info->version);
  }
  /* An earlier version must be in the log everyone sees too. */
  uint8_t leaf[32];
  if (!rc && version &&
      (cli_entry_leaf_hash("state-record", rec, leaf) ||
       cli_verify_inclusion(leaf, log_index, log_size)))
    rc = cli_fail("REFUSED: %s's record is not provably in the hub's transparency log", code);
  if (rc) {
    json_decref(rec);
    json_decref(st);
    return rc;
  }
  *st_out = st;
  *rec_out = rec;
  return 0;
}

int cmd_directory_trust(int argc, char **argv) {
  if (argc != 3 || argv[1][0] == '-') {
    puts("Usage: parley directory trust CODE FINGERPRINT\n"
         "Pins CODE's root key after you compared its fingerprint with CODE out of band\n"
         "(phone, diplomatic note): the fingerprint you were given must be the one the hub\n"
         "serves and the log commits to. Also accepts a root key that the hub's operator\n"
         "replaced, once you have confirmed it.");
    return argc == 2 && !strcmp(argv[1], "--help") ? 0 : 2;
  }
  if (!parley_state_code_valid(argv[1]))
    return cli_fail("directory trust: give a state code, e.g. EST");
  trust_fingerprint = argv[2];
  allow_flagged = true;
  json_t *st = NULL, *rec = NULL;
  parley_record_info *info = malloc(sizeof *info);
  parley_sign_pk root;
  bool first;
  uint64_t li, ls;
  if (!info) return cli_fail("out of memory");
  int rc = cli_verified_record(argv[1], NULL, &st, &rec, info, &root, &first, &li, &ls);
  if (!rc) {
    char disp[PARLEY_FINGERPRINT_DISPLAY_LEN];
    fingerprint_of(&root, disp);
    printf("TRUSTED: %s's root key %s is pinned as confirmed out of band (record version %lld)\n",
           argv[1], disp, (long long)info->version);
  }
  free(info);
  json_decref(st);
  json_decref(rec);
  return rc;
}

int cmd_directory_show(int argc, char **argv) {
  static const struct option opts[] = {
      {"version", required_argument, 0, 'v'}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
  const char *version = NULL;
  int ch;
  while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
    if (ch == 'v')
      version = optarg;
    else {
      fputs("Usage: parley directory show CODE [--version N]\n"
            "Fetches the state's record, verifies its signature with the state's root key\n"
            "(pinned on first use, then required to stay the same) and every encryption\n"
            "key, and shows it. Refuses loudly if anything does not verify.\n",
            ch == 'h' ? stdout : stderr);
      return ch == 'h' ? 0 : 2;
    }
  }
  if (argc - optind != 1 || !parley_state_code_valid(argv[optind]))
    return cli_fail("directory show: give a state code, e.g. EST");
  const char *code = argv[optind];
  json_t *st = NULL, *rec = NULL;
  parley_record_info *info = malloc(sizeof *info);
  parley_sign_pk root;
  bool first = false;
  uint64_t log_index = 0, log_size = 0;
  if (!info) return cli_fail("out of memory");
  allow_flagged = true; /* shown with its warning, so the user can decide */
  if (cli_verified_record(code, version, &st, &rec, info, &root, &first, &log_index, &log_size)) {
    free(info);
    return 1;
  }
  char pins_path[600];
  snprintf(pins_path, sizeof pins_path, "%s/pins.json", cli.home);
  int prc;
  json_t *pins = load_pins(pins_path, &prc);
  bool confirmed = json_is_true(json_object_get(json_object_get(pins, code), "confirmed"));
  json_decref(pins);
  char fpr[PARLEY_FINGERPRINT_HEX_LEN], disp[PARLEY_FINGERPRINT_DISPLAY_LEN];
  parley_sign_pk_fingerprint(&root, fpr);
  parley_fingerprint_display(fpr, disp);
  if (cli.json_output) {
    cli_print_json(stdout, rec, JSON_INDENT(2));
  } else {
    /* The name and region come from the hub's state entry, not from the signed record. */
    printf("%s, record version %lld\n  the hub names it (unsigned): %s (%s)\n", code,
           (long long)info->version, cli_safe(cli_jstr(st, "name")),
           cli_safe(cli_jstr(st, "region")));
    printf("VERIFIED: signed by the root key of %s%s\n  root key fingerprint: %s\n", code,
           confirmed ? " (confirmed out of band)"
           : first   ? " (pinned now, on first use: NOT confirmed; compare this fingerprint out "
                       "of band, then: parley directory trust CODE FINGERPRINT)"
                     : " (pinned on first use, NOT confirmed out of band)",
           disp);
    if (!version)
      printf("VERIFIED: the log's directory commitment names this root key and version %lld as "
             "%s's latest record\n",
             (long long)info->version, code);
    printf("VERIFIED: in the hub's transparency log as entry %llu (checkpoint of %llu entries)\n",
           (unsigned long long)log_index, (unsigned long long)log_size);
    char upd[PARLEY_TIME_LEN], rb[PARLEY_TIME_LEN];
    parley_time_format(info->updated, upd);
    parley_time_format(info->review_by, rb);
    printf("  updated %s, review by %s%s\n\n", upd, rb,
           info->review_by < parley_now() ? "  — STALE: past its review date" : "");
    size_t i;
    json_t *p;
    /* The record verified, but its text is still printed escaped, and only as the
     * types it must have. */
    json_array_foreach(json_object_get(rec, "pocs"), i, p) {
      printf("  %s — %s", cli_safe(cli_jstr(p, "id")), cli_safe(cli_jstr(p, "name")));
      const char *pos = cli_jstr(p, "position");
      printf("%s%s\n", pos ? ", " : "", pos ? cli_safe(pos) : "");
      printf("    roles:");
      size_t k;
      json_t *x;
      json_array_foreach(json_object_get(p, "roles"), k, x)
          printf(" %s", cli_safe(json_string_value(x)));
      printf("\n    e-mail: %s  phone: %s", cli_safe(cli_jstr(p, "email")),
             cli_safe(cli_jstr(p, "phone")));
      const char *ep = cli_jstr(p, "emergency_phone");
      if (ep) printf("  emergency: %s", cli_safe(ep));
      printf("\n    languages:");
      json_array_foreach(json_object_get(p, "languages"), k, x)
          printf(" %s", cli_safe(json_string_value(x)));
      printf("  time zone: %s  availability: %s\n", cli_safe(cli_jstr(p, "timezone")),
             cli_safe(cli_jstr(p, "availability")));
      if (i < info->n_pocs) {
        char exp[PARLEY_TIME_LEN];
        parley_time_format(info->pocs[i].box_expires, exp);
        printf("    encryption key valid until %s\n", exp);
      }
    }
    const char *role;
    json_t *order;
    printf("\n  escalation order:\n");
    json_object_foreach(json_object_get(rec, "escalation"), role, order) {
      printf("    %-22s", cli_safe(role));
      size_t k;
      json_t *x;
      json_array_foreach(order, k, x)
          printf("%s%s", k ? " → " : "", cli_safe(json_string_value(x)));
      putchar('\n');
    }
  }
  free(info);
  json_decref(rec);
  json_decref(st);
  return 0;
}

/* URL-encodes a query value (RFC 3986 unreserved kept). */
static void add_param(char *q, size_t cap, const char *name, const char *v) {
  size_t n = strlen(q);
  if (!v || n + strlen(name) + 3 >= cap) return;
  n += (size_t)snprintf(q + n, cap - n, "%c%s=", n ? '&' : '?', name);
  for (const unsigned char *p = (const unsigned char *)v; *p && n + 4 < cap; p++) {
    if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
        strchr("-._~", *p))
      q[n++] = (char)*p;
    else
      n += (size_t)snprintf(q + n, cap - n, "%%%02X", *p);
  }
  q[n] = 0;
}

int cmd_directory_search(int argc, char **argv) {
  static const struct option opts[] = {{"state", required_argument, 0, 's'},
                                       {"region", required_argument, 0, 'r'},
                                       {"role", required_argument, 0, 'o'},
                                       {"language", required_argument, 0, 'l'},
                                       {"name", required_argument, 0, 'n'},
                                       {"help", no_argument, 0, 'h'},
                                       {0, 0, 0, 0}};
  const char *state = NULL, *region = NULL, *role = NULL, *lang = NULL, *name = NULL;
  int ch;
  while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
    switch (ch) {
    case 's':
      state = optarg;
      break;
    case 'r':
      region = optarg;
      break;
    case 'o':
      role = optarg;
      break;
    case 'l':
      lang = optarg;
      break;
    case 'n':
      name = optarg;
      break;
    default:
      fputs("Usage: parley directory search [--state EST] [--region REGION] [--role ROLE]\n"
            "                               [--language xx] [--name TEXT]\n"
            "Lists matching points of contact (name matches any part, any case).\n",
            ch == 'h' ? stdout : stderr);
      return ch == 'h' ? 0 : 2;
    }
  }
  char path[1024] = "";
  add_param(path, sizeof path, "state", state);
  add_param(path, sizeof path, "region", region);
  add_param(path, sizeof path, "role", role);
  add_param(path, sizeof path, "language", lang);
  add_param(path, sizeof path, "name", name);
  char full[1100];
  snprintf(full, sizeof full, "/v1/directory/search%s", path);
  json_t *v = cli_get_json(full);
  if (!v) return 1;
  if (cli.json_output) {
    cli_print_json(stdout, v, JSON_INDENT(2));
  } else {
    size_t i;
    json_t *p;
    json_t *res = json_object_get(v, "pocs");
    if (!json_is_array(res)) {
      json_decref(v);
      return cli_fail("the hub's answer has no list of points of contact");
    }
    /* The hub's word: each member checked and escaped; `directory show` verifies. */
    printf("Points of contact as the hub lists them (its unsigned word; 'parley directory show "
           "CODE' verifies a state's record):\n");
    json_array_foreach(res, i, p) {
      printf("%-4s %-24s %-28s %-32s %s\n", cli_safe(cli_jstr(p, "state")),
             cli_safe(cli_jstr(p, "id")), cli_safe(cli_jstr(p, "name")),
             cli_safe(cli_jstr(p, "email")), cli_safe(cli_jstr(p, "phone")));
    }
    printf("%zu point(s) of contact\n", json_array_size(res));
  }
  json_decref(v);
  return 0;
}

int cmd_directory_export(int argc, char **argv) {
  static const struct option opts[] = {{"format", required_argument, 0, 'f'},
                                       {"out", required_argument, 0, 'o'},
                                       {"help", no_argument, 0, 'h'},
                                       {0, 0, 0, 0}};
  const char *format = "json", *out = "-";
  int ch;
  while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
    if (ch == 'f')
      format = optarg;
    else if (ch == 'o')
      out = optarg;
    else {
      fputs("Usage: parley directory export [--format json|csv|vcard] [--out FILE]\n"
            "json: every state's signed record in one bundle that verifies offline;\n"
            "csv: one row per POC, for spreadsheets; vcard: vCard 4.0 for address books.\n",
            ch == 'h' ? stdout : stderr);
      return ch == 'h' ? 0 : 2;
    }
  }
  if (strcmp(format, "json") && strcmp(format, "csv") && strcmp(format, "vcard"))
    return cli_fail("directory export: --format json, csv or vcard");
  char path[96];
  snprintf(path, sizeof path, "/v1/directory/export?format=%s", format);
  return cli_get_to_output(path, out);
}
