/* parley admin ...: the operator's commands. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "parley/proto.h"

/* Sends a signed request with a JSON body and prints the JSON answer (control
 * characters escaped) or the error. */
int cli_request_print(const char *method, const char *path, json_t *body) {
  char *s = body ? json_dumps(body, JSON_COMPACT) : NULL;
  if (body && !s) return cli_fail("out of memory");
  parley_identity id;
  if (cli_load_identity(&id)) {
    free(s);
    return 1;
  }
  cli_response r;
  int rc = cli_http(method, path, s, s ? strlen(s) : 0, &id, &r);
  parley_identity_wipe(&id);
  free(s);
  if (rc) return rc;
  if (r.status < 200 || r.status > 299) {
    rc = cli_print_http_error(&r);
  } else {
    json_t *v = cli_response_json(&r);
    if (v) {
      cli_print_json(stdout, v, JSON_INDENT(2) | JSON_SORT_KEYS);
      json_decref(v);
    } else {
      rc = 1;
    }
  }
  cli_response_free(&r);
  return rc;
}

/* A root key given as a .pub file or as base64url. */
static int read_root_key(const char *arg, char out[PARLEY_KEY_B64_LEN]) {
  parley_sign_pk pk;
  if (parley_sign_pk_from_b64(arg, &pk) == PARLEY_E_OK) {
    parley_sign_pk_to_b64(&pk, out);
    return 0;
  }
  parley_public_identity pub;
  parley_error err;
  if (parley_public_load(arg, &pub, &err) != PARLEY_E_OK) return cli_fail_err(arg, &err);
  parley_sign_pk_to_b64(&pub.sign_pk, out);
  return 0;
}

/* Compares a key with the fingerprint confirmed out of band, ignoring spaces and case. */
static int check_fingerprint(const char *b64, const char *fpr) {
  parley_sign_pk pk;
  parley_sign_pk_from_b64(b64, &pk);
  char have[PARLEY_FINGERPRINT_HEX_LEN], want[PARLEY_FINGERPRINT_HEX_LEN];
  parley_sign_pk_fingerprint(&pk, have);
  size_t n = 0;
  for (const char *p = fpr; *p && n + 1 < sizeof want; p++)
    if (*p != ' ' && *p != ':') want[n++] = (char)(*p >= 'A' && *p <= 'F' ? *p - 'A' + 'a' : *p);
  want[n] = 0;
  if (strcmp(have, want) != 0)
    return cli_fail("the key's fingerprint is %s, not the one given; do not accept this key", have);
  return 0;
}

int cmd_admin_state_add(int argc, char **argv) {
  static const struct option opts[] = {{"code", required_argument, 0, 'c'},
                                       {"name", required_argument, 0, 'n'},
                                       {"region", required_argument, 0, 'r'},
                                       {"root-key", required_argument, 0, 'k'},
                                       {"fingerprint", required_argument, 0, 'f'},
                                       {"help", no_argument, 0, 'h'},
                                       {0, 0, 0, 0}};
  const char *code = NULL, *name = NULL, *region = NULL, *root = NULL, *fpr = NULL;
  int ch;
  while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
    switch (ch) {
    case 'c':
      code = optarg;
      break;
    case 'n':
      name = optarg;
      break;
    case 'r':
      region = optarg;
      break;
    case 'k':
      root = optarg;
      break;
    case 'f':
      fpr = optarg;
      break;
    default:
      fputs("Usage: parley admin state add --code EST --name NAME --region REGION\n"
            "                              --root-key FILE.pub|KEY --fingerprint HEX\n"
            "Onboards a state. REGION: african, asia-pacific, eastern-european,\n"
            "latin-american-and-caribbean, western-european-and-others.\n"
            "--fingerprint is the root key's fingerprint as the state read it to you out\n"
            "of band (spaces allowed); the command refuses a key that does not match.\n",
            ch == 'h' ? stdout : stderr);
      return ch == 'h' ? 0 : 2;
    }
  }
  if (!code || !name || !region || !root || !fpr)
    return cli_fail("admin state add: --code, --name, --region, --root-key and --fingerprint "
                    "are required (see --help)");
  char b64[PARLEY_KEY_B64_LEN];
  if (read_root_key(root, b64)) return 1;
  if (check_fingerprint(b64, fpr)) return 1;
  json_t *body =
      json_pack("{s:s,s:s,s:s,s:s}", "code", code, "name", name, "region", region, "root_key", b64);
  int rc = cli_request_print("POST", "/v1/states", body);
  json_decref(body);
  return rc;
}

static int state_action(int argc, char **argv, const char *action) {
  if (argc != 2 || argv[1][0] == '-') {
    printf("Usage: parley admin state %s CODE\n", action);
    return argc == 2 ? 0 : 2;
  }
  char path[64];
  snprintf(path, sizeof path, "/v1/states/%.3s/%s", argv[1], action);
  json_t *empty = json_object();
  int rc = cli_request_print("POST", path, empty);
  json_decref(empty);
  return rc;
}

int cmd_admin_state_suspend(int argc, char **argv) {
  return state_action(argc, argv, "suspend");
}

int cmd_admin_state_activate(int argc, char **argv) {
  return state_action(argc, argv, "activate");
}

/* The operator replaces a state's root key (the state lost it): recorded in the log
 * with the reason, for every state to see. */
int cmd_admin_state_set_root(int argc, char **argv) {
  static const struct option opts[] = {{"root-key", required_argument, 0, 'k'},
                                       {"fingerprint", required_argument, 0, 'f'},
                                       {"reason", required_argument, 0, 'r'},
                                       {"help", no_argument, 0, 'h'},
                                       {0, 0, 0, 0}};
  const char *root = NULL, *fpr = NULL, *reason = NULL;
  int ch;
  while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
    if (ch == 'k')
      root = optarg;
    else if (ch == 'f')
      fpr = optarg;
    else if (ch == 'r')
      reason = optarg;
    else {
      fputs("Usage: parley admin state set-root CODE --root-key FILE.pub|KEY --fingerprint HEX\n"
            "                                    --reason TEXT\n"
            "Replaces a state's root key by operator action (when the state lost its key).\n"
            "The action, the reason and the new fingerprint go into the transparency log.\n",
            ch == 'h' ? stdout : stderr);
      return ch == 'h' ? 0 : 2;
    }
  }
  if (argc - optind != 1 || !root || !fpr || !reason)
    return cli_fail("admin state set-root: CODE, --root-key, --fingerprint and --reason are "
                    "required");
  char b64[PARLEY_KEY_B64_LEN];
  if (read_root_key(root, b64) || check_fingerprint(b64, fpr)) return 1;
  char path[64];
  snprintf(path, sizeof path, "/v1/states/%.3s/root-key", argv[optind]);
  json_t *body = json_pack("{s:s,s:s}", "new_root_key", b64, "reason", reason);
  int rc = cli_request_print("POST", path, body);
  json_decref(body);
  return rc;
}

/* parley admin ping schedule|status|report: communication checks. */
int cmd_admin_ping_schedule(int argc, char **argv) {
  static const struct option opts[] = {{"state", required_argument, 0, 's'},
                                       {"region", required_argument, 0, 'r'},
                                       {"role", required_argument, 0, 'o'},
                                       {"window", required_argument, 0, 'w'},
                                       {"every", required_argument, 0, 'e'},
                                       {"help", no_argument, 0, 'h'},
                                       {0, 0, 0, 0}};
  json_t *body = json_object(), *states = NULL;
  int ch;
  while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
    uint64_t v;
    switch (ch) {
    case 's':
      if (!states) states = json_array();
      json_array_append_new(states, json_string(optarg));
      break;
    case 'r':
      json_object_set_new(body, "region", json_string(optarg));
      break;
    case 'o':
      json_object_set_new(body, "role", json_string(optarg));
      break;
    case 'w':
    case 'e':
      if (!parley_parse_u64(optarg, &v) || v > 366 * 86400) {
        json_decref(body);
        json_decref(states);
        return cli_fail("--window and --every take seconds");
      }
      json_object_set_new(body, ch == 'w' ? "window_s" : "recurrence_s",
                          json_integer((json_int_t)v));
      break;
    default:
      fputs("Usage: parley admin ping schedule [--state EST ...|--region REGION]\n"
            "         [--role diplomatic|technical|law-enforcement-24x7|all]\n"
            "         [--window SECONDS (default 86400)] [--every SECONDS (recurring)]\n"
            "Sends a communication check to every POC in scope; each must acknowledge it with\n"
            "a signed receipt within the window (a reminder goes out half-way).\n",
            ch == 'h' ? stdout : stderr);
      json_decref(body);
      json_decref(states);
      return ch == 'h' ? 0 : 2;
    }
  }
  if (states) json_object_set_new(body, "states", states);
  int rc = cli_request_print("POST", "/v1/pings", body);
  json_decref(body);
  return rc;
}

int cmd_admin_ping_status(int argc, char **argv) {
  if (argc > 1) {
    puts("Usage: parley admin ping status\nLists the communication checks with their response "
         "rates.");
    return strcmp(argv[1], "--help") == 0 ? 0 : 2;
  }
  return cli_request_print("GET", "/v1/pings", NULL);
}

int cmd_admin_ping_report(int argc, char **argv) {
  const char *format = "json", *round = NULL, *out = "-";
  bool trend = false;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--format") && i + 1 < argc)
      format = argv[++i];
    else if (!strcmp(argv[i], "--out") && i + 1 < argc)
      out = argv[++i];
    else if (!strcmp(argv[i], "--trend"))
      trend = true;
    else if (argv[i][0] != '-' && !round)
      round = argv[i];
    else {
      puts("Usage: parley admin ping report ROUND [--format json|csv] [--out FILE]\n"
           "       parley admin ping report --trend [--format json|csv|svg] [--out FILE]\n"
           "One round: per POC, per state, by regional group and role, median and 90th\n"
           "percentile time to acknowledge. --trend: every round, as a table or an SVG chart.");
      return strcmp(argv[i], "--help") == 0 ? 0 : 2;
    }
  }
  if (!trend && !round) return cli_fail("ping report: give a ROUND id or --trend");
  char path[160];
  if (trend)
    snprintf(path, sizeof path, "/v1/pings/trend?format=%.8s", format);
  else
    snprintf(path, sizeof path, "/v1/pings/%.36s/report?format=%.8s", round, format);
  return cli_get_to_output(path, out);
}
