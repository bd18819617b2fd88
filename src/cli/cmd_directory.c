/* parley directory ...: read the directory and verify what the hub serves. */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
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
    json_dumpf(v, stdout, JSON_INDENT(2));
    putchar('\n');
    json_decref(v);
    return 0;
  }
  printf("%-5s %-32s %-30s %-9s %-7s %s\n", "CODE", "NAME", "REGION", "STATUS", "VERSION",
         "REVIEW BY");
  size_t i;
  json_t *s;
  json_array_foreach(json_object_get(v, "states"), i, s) {
    const char *rb = json_string_value(json_object_get(s, "review_by"));
    printf("%-5s %-32.32s %-30s %-9s %-7lld %s%s\n", json_string_value(json_object_get(s, "code")),
           json_string_value(json_object_get(s, "name")),
           json_string_value(json_object_get(s, "region")),
           json_string_value(json_object_get(s, "status")),
           (long long)json_integer_value(json_object_get(s, "version")), rb ? rb : "-",
           json_is_true(json_object_get(s, "stale")) ? "  STALE: past review date" : "");
  }
  json_decref(v);
  return 0;
}

/* Trust on first use: the first root key seen for a state is pinned in
 * <home>/pins.json; later a different key is refused loudly. */
static int check_pin(const char *state, const char *root_b64, bool *first_use) {
  char path[600];
  snprintf(path, sizeof path, "%s/pins.json", cli.home);
  json_error_t jerr;
  json_t *pins = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
  if (!pins) {
    struct stat st;
    if (stat(path, &st) == 0) return cli_fail("%s is corrupt: %s", path, jerr.text);
    pins = json_object();
  }
  const char *pinned = json_string_value(json_object_get(pins, state));
  int rc = 0;
  *first_use = false;
  if (pinned) {
    if (strcmp(pinned, root_b64) != 0)
      rc = cli_fail("REFUSED: the hub now shows a different root key for %s than the one pinned "
                    "in %s.\n  pinned: %s\n  served: %s\nIf %s rotated its key, confirm the new "
                    "fingerprint out of band and remove the old pin.",
                    state, path, pinned, root_b64, state);
  } else {
    *first_use = true;
    json_object_set_new(pins, state, json_string(root_b64));
    mkdir(cli.home, 0700);
    char *s = json_dumps(pins, JSON_INDENT(2) | JSON_SORT_KEYS);
    if (!s || cli_write_file_atomic(path, s, strlen(s), 0600) != PARLEY_E_OK)
      rc = cli_fail("cannot write %s", path);
    free(s);
  }
  json_decref(pins);
  return rc;
}

/* Fetches a state's record (current, or `version`) and trusts it only if: the root
 * key matches the pin (set on first use), the record verifies with it, and it is
 * provably in the hub's transparency log. On success the caller owns *st and *rec. */
int cli_verified_record(const char *code, const char *version, json_t **st_out, json_t **rec_out,
                        parley_record_info *info, parley_sign_pk *root, bool *first,
                        uint64_t *log_index, uint64_t *log_size) {
  char path[96];
  snprintf(path, sizeof path, "/v1/states/%.3s", code);
  json_t *st = cli_get_json(path);
  if (!st) return 1;
  const char *root_b64 = json_string_value(json_object_get(st, "root_key"));
  if (!root_b64 || parley_sign_pk_from_b64(root_b64, root) != PARLEY_E_OK) {
    json_decref(st);
    return cli_fail("the hub sent no valid root key for %s", code);
  }
  int lock = cli_state_lock();
  int pin_rc = check_pin(code, root_b64, first);
  cli_state_unlock(lock);
  if (pin_rc) {
    json_decref(st);
    return 1;
  }
  if (version)
    snprintf(path, sizeof path, "/v1/states/%.3s/records/%.20s", code, version);
  else
    snprintf(path, sizeof path, "/v1/states/%.3s/record", code);
  json_t *rec = cli_get_json(path);
  if (!rec) {
    json_decref(st);
    return 1;
  }
  parley_error err;
  int rc = 0;
  if (parley_record_verify(rec, root, parley_now(), info, &err) != PARLEY_E_OK)
    rc = cli_fail_err("REFUSED: the record does not verify", &err);
  else if (strcmp(info->state, code) != 0)
    rc = cli_fail("REFUSED: the hub served a record of %s for %s", info->state, code);
  /* Key transparency: the record must be in the log everyone sees, or the hub could be
   * showing this client a record (and keys) that others never see. */
  uint8_t leaf[32];
  if (!rc && (cli_entry_leaf_hash("state-record", rec, leaf) ||
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
  if (cli_verified_record(code, version, &st, &rec, info, &root, &first, &log_index, &log_size)) {
    free(info);
    return 1;
  }
  char fpr[PARLEY_FINGERPRINT_HEX_LEN], disp[PARLEY_FINGERPRINT_DISPLAY_LEN];
  parley_sign_pk_fingerprint(&root, fpr);
  parley_fingerprint_display(fpr, disp);
  if (cli.json_output) {
    json_dumpf(rec, stdout, JSON_INDENT(2));
    putchar('\n');
  } else {
    printf("%s — %s (%s), record version %lld\n", code,
           json_string_value(json_object_get(st, "name")),
           json_string_value(json_object_get(st, "region")), (long long)info->version);
    printf("VERIFIED: signed by the root key of %s%s\n  root key fingerprint: %s\n", code,
           first ? " (pinned now, on first use: compare this fingerprint out of band)"
                 : " (matches the pinned key)",
           disp);
    printf("VERIFIED: in the hub's transparency log as entry %llu (checkpoint of %llu entries)\n",
           (unsigned long long)log_index, (unsigned long long)log_size);
    char upd[PARLEY_TIME_LEN], rb[PARLEY_TIME_LEN];
    parley_time_format(info->updated, upd);
    parley_time_format(info->review_by, rb);
    printf("  updated %s, review by %s%s\n\n", upd, rb,
           info->review_by < parley_now() ? "  — STALE: past its review date" : "");
    size_t i;
    json_t *p;
    json_array_foreach(json_object_get(rec, "pocs"), i, p) {
      printf("  %s — %s", json_string_value(json_object_get(p, "id")),
             json_string_value(json_object_get(p, "name")));
      const char *pos = json_string_value(json_object_get(p, "position"));
      printf("%s%s\n", pos ? ", " : "", pos ? pos : "");
      printf("    roles:");
      size_t k;
      json_t *x;
      json_array_foreach(json_object_get(p, "roles"), k, x) printf(" %s", json_string_value(x));
      printf("\n    e-mail: %s  phone: %s", json_string_value(json_object_get(p, "email")),
             json_string_value(json_object_get(p, "phone")));
      const char *ep = json_string_value(json_object_get(p, "emergency_phone"));
      if (ep) printf("  emergency: %s", ep);
      printf("\n    languages:");
      json_array_foreach(json_object_get(p, "languages"), k, x) printf(" %s", json_string_value(x));
      printf("  time zone: %s  availability: %s\n",
             json_string_value(json_object_get(p, "timezone")),
             json_string_value(json_object_get(p, "availability")));
      char exp[PARLEY_TIME_LEN];
      parley_time_format(info->pocs[i].box_expires, exp);
      printf("    encryption key valid until %s\n", exp);
    }
    const char *role;
    json_t *order;
    printf("\n  escalation order:\n");
    json_object_foreach(json_object_get(rec, "escalation"), role, order) {
      printf("    %-22s", role);
      size_t k;
      json_t *x;
      json_array_foreach(order, k, x) printf("%s%s", k ? " → " : "", json_string_value(x));
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
    json_dumpf(v, stdout, JSON_INDENT(2));
    putchar('\n');
  } else {
    size_t i;
    json_t *p;
    json_t *res = json_object_get(v, "pocs");
    json_array_foreach(res, i, p) {
      printf("%-4s %-24s %-28s %-32s %s\n", json_string_value(json_object_get(p, "state")),
             json_string_value(json_object_get(p, "id")),
             json_string_value(json_object_get(p, "name")),
             json_string_value(json_object_get(p, "email")),
             json_string_value(json_object_get(p, "phone")));
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
