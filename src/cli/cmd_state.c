/* parley state ...: a state administrator prepares, signs (locally, with the root key)
 * and publishes the state's directory record. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "parley/json.h"
#include "parley/proto.h"

#define MAX_RECORD (1u << 20)

static json_t *load_record(const char *path) {
  size_t len;
  char *text = cli_read_file(path, MAX_RECORD, &len);
  if (!text) return NULL;
  json_t *v = NULL;
  parley_error err;
  if (parley_json_parse_object(text, len, NULL, &v, &err) != PARLEY_E_OK) cli_fail_err(path, &err);
  free(text);
  return v;
}

static int save_record(const char *path, const json_t *rec) {
  char *s = json_dumps(rec, JSON_INDENT(2) | JSON_SORT_KEYS);
  if (!s) return cli_fail("out of memory");
  size_t n = strlen(s);
  char *t = realloc(s, n + 2);
  if (!t) {
    free(s);
    return cli_fail("out of memory");
  }
  t[n] = '\n';
  t[n + 1] = 0;
  parley_err e = cli_write_file_atomic(path, t, n + 1, 0644);
  free(t);
  if (e) return cli_fail("%s: cannot write", path);
  return 0;
}

int cmd_state_init(int argc, char **argv) {
  static const struct option opts[] = {{"state", required_argument, 0, 's'},
                                       {"out", required_argument, 0, 'o'},
                                       {"help", no_argument, 0, 'h'},
                                       {0, 0, 0, 0}};
  const char *state = NULL, *out = NULL;
  int ch;
  while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
    if (ch == 's')
      state = optarg;
    else if (ch == 'o')
      out = optarg;
    else {
      fputs("Usage: parley state init --state EST --out FILE\n"
            "Writes a new, unsigned record for the state: version 1, one organisation, no\n"
            "POCs yet. Add POCs with 'parley state poc add', then sign and publish.\n",
            ch == 'h' ? stdout : stderr);
      return ch == 'h' ? 0 : 2;
    }
  }
  if (!state || !out || !parley_state_code_valid(state))
    return cli_fail("state init: --state (ISO 3166-1 alpha-3, e.g. EST) and --out are required");
  char now[PARLEY_TIME_LEN], review[PARLEY_TIME_LEN];
  parley_time_format(parley_now(), now);
  parley_time_format(parley_now() + 180 * 86400, review);
  json_t *rec =
      json_pack("{s:s,s:s,s:i,s:s,s:s,s:[{s:s,s:s,s:s}],s:[],s:{}}", "format",
                "parley-state-record-v1", "state", state, "version", 1, "updated", now, "review_by",
                review, "organisations", "id", "mfa", "name", "Ministry of Foreign Affairs", "kind",
                "foreign-ministry", "pocs", "escalation");
  int rc = rec ? save_record(out, rec) : cli_fail("out of memory");
  json_decref(rec);
  if (!rc) printf("wrote %s; now add POCs with 'parley state poc add %s ...'\n", out, out);
  return rc;
}

/* Adds or replaces one POC. The POC's encryption key is signed with the POC's own
 * signing key, so this runs where that key is (the officer's machine, or the
 * administrator's with the officer's key file). */
int cmd_state_poc_add(int argc, char **argv) {
  static const struct option opts[] = {{"id", required_argument, 0, 'i'},
                                       {"name", required_argument, 0, 'n'},
                                       {"position", required_argument, 0, 'P'},
                                       {"organisation", required_argument, 0, 'o'},
                                       {"role", required_argument, 0, 'r'},
                                       {"email", required_argument, 0, 'e'},
                                       {"phone", required_argument, 0, 'p'},
                                       {"emergency-phone", required_argument, 0, 'E'},
                                       {"language", required_argument, 0, 'l'},
                                       {"timezone", required_argument, 0, 't'},
                                       {"availability", required_argument, 0, 'a'},
                                       {"poc-key", required_argument, 0, 'k'},
                                       {"key-days", required_argument, 0, 'd'},
                                       {"key-expires", required_argument, 0, 'x'},
                                       {"webhook", required_argument, 0, 'W'},
                                       {"help", no_argument, 0, 'h'},
                                       {0, 0, 0, 0}};
  const char *id = NULL, *name = NULL, *position = NULL, *org = "mfa", *email = NULL, *phone = NULL,
             *ephone = NULL, *tz = "UTC", *avail = "24/7", *keyfile = NULL, *webhook = NULL;
  const char *roles[3], *langs[12];
  size_t n_roles = 0, n_langs = 0;
  uint64_t days = 365;
  int64_t expires = 0;
  int ch;
  while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
    switch (ch) {
    case 'i':
      id = optarg;
      break;
    case 'n':
      name = optarg;
      break;
    case 'P':
      position = optarg;
      break;
    case 'o':
      org = optarg;
      break;
    case 'r':
      if (n_roles < 3) roles[n_roles++] = optarg;
      break;
    case 'e':
      email = optarg;
      break;
    case 'p':
      phone = optarg;
      break;
    case 'E':
      ephone = optarg;
      break;
    case 'l':
      if (n_langs < 12) langs[n_langs++] = optarg;
      break;
    case 't':
      tz = optarg;
      break;
    case 'a':
      avail = optarg;
      break;
    case 'k':
      keyfile = optarg;
      break;
    case 'W':
      webhook = optarg;
      break;
    case 'd':
      if (!parley_parse_u64(optarg, &days) || days == 0 || days > 3650)
        return cli_fail("--key-days: 1 to 3650");
      break;
    case 'x':
      if (parley_time_parse(optarg, &expires) != PARLEY_E_OK)
        return cli_fail("--key-expires: RFC 3339 UTC, e.g. 2027-06-30T00:00:00Z");
      break;
    default:
      fputs("Usage: parley state poc add FILE --id ID --name NAME --role ROLE [--role ...]\n"
            "         --email ADDR --phone NUMBER --language xx [--language ...]\n"
            "         --poc-key KEYFILE [--organisation ORG] [--position TEXT]\n"
            "         [--emergency-phone NUMBER] [--timezone Europe/Tallinn]\n"
            "         [--availability 24/7] [--key-days 365 | --key-expires TIME]\n"
            "         [--webhook https://...]  (alerts, metadata only, signed by the hub)\n"
            "ROLE: diplomatic, technical, law-enforcement-24x7. KEYFILE is the POC's own\n"
            "secret key file: its encryption key is signed with its signing key.\n"
            "The POC is put first in the escalation order of each of its roles.\n",
            ch == 'h' ? stdout : stderr);
      return ch == 'h' ? 0 : 2;
    }
  }
  if (argc - optind != 1 || !id || !name || !n_roles || !email || !phone || !n_langs || !keyfile)
    return cli_fail("state poc add: FILE, --id, --name, --role, --email, --phone, --language "
                    "and --poc-key are required (see --help)");
  const char *path = argv[optind];
  json_t *rec = load_record(path);
  if (!rec) return 1;
  const char *state = json_string_value(json_object_get(rec, "state"));
  json_t *pocs = json_object_get(rec, "pocs");
  json_t *esc = json_object_get(rec, "escalation");
  if (!state || !json_is_array(pocs) || !json_is_object(esc)) {
    json_decref(rec);
    return cli_fail("%s: not a state record (no state, pocs or escalation)", path);
  }
  char saved_key[512];
  parley_strlcpy(saved_key, cli.key_file, sizeof saved_key);
  parley_strlcpy(cli.key_file, keyfile, sizeof cli.key_file);
  parley_identity poc;
  int rc = cli_load_identity(&poc);
  parley_strlcpy(cli.key_file, saved_key, sizeof cli.key_file);
  if (rc) {
    json_decref(rec);
    return rc;
  }
  char spk[PARLEY_KEY_B64_LEN];
  parley_sign_pk_to_b64(&poc.sign_pk, spk);
  if (!expires) expires = parley_now() + (int64_t)days * 86400;
  json_t *ek = parley_enc_key_new(state, id, &poc.box_pk, expires, &poc.sign_sk);
  parley_identity_wipe(&poc);
  json_t *jr = json_array(), *jl = json_array();
  for (size_t i = 0; i < n_roles; i++)
    json_array_append_new(jr, json_string(roles[i]));
  for (size_t i = 0; i < n_langs; i++)
    json_array_append_new(jl, json_string(langs[i]));
  json_t *p =
      json_pack("{s:s,s:s,s:s,s:o,s:s,s:s,s:o,s:s,s:s,s:s,s:o}", "id", id, "name", name,
                "organisation", org, "roles", jr, "email", email, "phone", phone, "languages", jl,
                "timezone", tz, "availability", avail, "signing_key", spk, "encryption_key", ek);
  if (!p) {
    json_decref(rec);
    return cli_fail("state poc add: invalid value (text must be UTF-8)");
  }
  if (position) json_object_set_new(p, "position", json_string(position));
  if (ephone) json_object_set_new(p, "emergency_phone", json_string(ephone));
  if (webhook) json_object_set_new(p, "webhook", json_string(webhook));
  /* Replace a POC with the same id, else append. */
  size_t i;
  json_t *old;
  bool replaced = false;
  json_array_foreach(pocs, i, old) {
    const char *oid = json_string_value(json_object_get(old, "id"));
    if (oid && strcmp(oid, id) == 0) {
      json_array_set(pocs, i, p);
      replaced = true;
      break;
    }
  }
  if (!replaced) json_array_append(pocs, p);
  json_decref(p);
  for (size_t k = 0; k < n_roles; k++) {
    json_t *order = json_object_get(esc, roles[k]);
    if (!order) {
      order = json_array();
      json_object_set_new(esc, roles[k], order);
    }
    bool present = false;
    json_t *x;
    json_array_foreach(order, i, x) present |=
        json_is_string(x) && !strcmp(json_string_value(x), id);
    if (!present) json_array_insert_new(order, 0, json_string(id));
  }
  rc = save_record(path, rec);
  json_decref(rec);
  if (!rc) printf("%s POC %s in %s\n", replaced ? "updated" : "added", id, path);
  return rc;
}

/* Adds or replaces one instrument of the record's cooperation profile (§4.2); the hub
 * and every client check the profile when the signed record is published. */
int cmd_state_cooperation(int argc, char **argv) {
  static const struct option opts[] = {{"instrument", required_argument, 0, 'i'},
                                       {"contact-24x7", required_argument, 0, 'c'},
                                       {"authority", required_argument, 0, 'a'},
                                       {"authority-email", required_argument, 0, 'e'},
                                       {"authority-phone", required_argument, 0, 'p'},
                                       {"declarations", required_argument, 0, 'd'},
                                       {"request-language", required_argument, 0, 'l'},
                                       {"help", no_argument, 0, 'h'},
                                       {0, 0, 0, 0}};
  const char *inst = NULL, *contact = NULL, *auth = NULL, *email = NULL, *phone = NULL,
             *decl = NULL, *langs[12];
  size_t n_langs = 0;
  int ch;
  while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
    switch (ch) {
    case 'i':
      inst = optarg;
      break;
    case 'c':
      contact = optarg;
      break;
    case 'a':
      auth = optarg;
      break;
    case 'e':
      email = optarg;
      break;
    case 'p':
      phone = optarg;
      break;
    case 'd':
      decl = optarg;
      break;
    case 'l':
      if (n_langs == 12) return cli_fail("--request-language: at most 12");
      langs[n_langs++] = optarg;
      break;
    default:
      fputs("Usage: parley state cooperation FILE --instrument ID --contact-24x7 POC-ID\n"
            "         --authority NAME [--authority-email ADDR] [--authority-phone NUMBER]\n"
            "         [--declarations TEXT] [--request-language xx ...]\n"
            "Adds (or replaces) an instrument the state is party to in its record's\n"
            "cooperation profile: its 24/7 point of contact (a POC of the record) and its\n"
            "central authority for mutual assistance. ID: un-cybercrime-2024, budapest-2001,\n"
            "budapest-protocol2-2022, bilateral. --request-language sets the languages in\n"
            "which the state accepts requests (default: those already listed, else en).\n",
            ch == 'h' ? stdout : stderr);
      return ch == 'h' ? 0 : 2;
    }
  }
  if (argc - optind != 1 || !inst || !contact || !auth)
    return cli_fail("state cooperation: FILE, --instrument, --contact-24x7 and --authority are "
                    "required (see --help)");
  const char *path = argv[optind];
  json_t *rec = load_record(path);
  if (!rec) return 1;
  json_t *co = json_object_get(rec, "cooperation");
  if (!json_is_object(co)) {
    co = json_pack("{s:[],s:[s]}", "instruments", "request_languages", "en");
    json_object_set_new(rec, "cooperation", co);
  }
  json_t *insts = json_object_get(co, "instruments");
  json_t *a = json_pack("{s:s}", "name", auth);
  json_t *x =
      a ? json_pack("{s:s,s:s,s:o}", "id", inst, "contact_24x7", contact, "central_authority", a)
        : NULL;
  if (!x || !json_is_array(insts)) {
    json_decref(x);
    json_decref(rec);
    return cli_fail("state cooperation: invalid value (text must be UTF-8)");
  }
  if (email) json_object_set_new(a, "email", json_string(email));
  if (phone) json_object_set_new(a, "phone", json_string(phone));
  if (decl) json_object_set_new(x, "declarations", json_string(decl));
  size_t i;
  json_t *old;
  bool replaced = false;
  json_array_foreach(insts, i, old) {
    const char *oid = json_string_value(json_object_get(old, "id"));
    if (oid && !strcmp(oid, inst)) {
      json_array_set(insts, i, x);
      replaced = true;
      break;
    }
  }
  if (!replaced) json_array_append(insts, x);
  json_decref(x);
  if (n_langs) {
    json_t *jl = json_array();
    for (size_t k = 0; k < n_langs; k++)
      json_array_append_new(jl, json_string(langs[k]));
    json_object_set_new(co, "request_languages", jl);
  }
  int rc = save_record(path, rec);
  json_decref(rec);
  if (!rc) printf("%s instrument %s in %s\n", replaced ? "updated" : "added", inst, path);
  return rc;
}

/* Signs FILE with the root key (--key). Re-signing a signed record makes a new version. */
int cmd_state_sign(int argc, char **argv) {
  bool check = true;
  if (argc == 3 && strcmp(argv[1], "--no-check") == 0) {
    check = false;
    argv++;
    argc--;
  }
  if (argc != 2 || argv[1][0] == '-') {
    puts("Usage: parley [--key ROOTKEY] state sign [--no-check] FILE\n"
         "Signs the record in FILE with the state's root key, locally. If FILE was signed\n"
         "before, its version goes up by one. Sets 'updated' to now. The signed record is\n"
         "checked as the hub will check it; --no-check skips that (to test the hub).");
    return argc == 2 ? 0 : 2;
  }
  json_t *rec = load_record(argv[1]);
  if (!rec) return 1;
  if (json_object_get(rec, "signature")) {
    json_int_t v = json_integer_value(json_object_get(rec, "version"));
    json_object_set_new(rec, "version", json_integer(v + 1));
    json_object_del(rec, "signature");
  }
  char now[PARLEY_TIME_LEN];
  parley_time_format(parley_now(), now);
  json_object_set_new(rec, "updated", json_string(now));
  parley_identity root;
  if (cli_load_identity(&root)) {
    json_decref(rec);
    return 1;
  }
  parley_error err;
  int rc = 0;
  if (parley_signed_json_sign(rec, PARLEY_PURPOSE_STATE_RECORD, &root.sign_sk, &err) != PARLEY_E_OK)
    rc = cli_fail_err("state sign", &err);
  /* Check it as the hub will, before anyone sees it. */
  else if (check &&
           parley_record_verify(rec, &root.sign_pk, parley_now(), NULL, &err) != PARLEY_E_OK)
    rc = cli_fail_err("state sign: the record would be refused", &err);
  parley_identity_wipe(&root);
  if (!rc) rc = save_record(argv[1], rec);
  if (!rc)
    printf("signed %s, version %lld\n", argv[1],
           (long long)json_integer_value(json_object_get(rec, "version")));
  json_decref(rec);
  return rc;
}

int cmd_state_publish(int argc, char **argv) {
  if (argc != 2 || argv[1][0] == '-') {
    puts("Usage: parley [--key ROOTKEY] state publish FILE\n"
         "Publishes the signed record in FILE to the hub (request signed by the root key).");
    return argc == 2 ? 0 : 2;
  }
  json_t *rec = load_record(argv[1]);
  if (!rec) return 1;
  const char *state = json_string_value(json_object_get(rec, "state"));
  char path[64];
  snprintf(path, sizeof path, "/v1/states/%.3s/record", state ? state : "");
  int rc = cli_request_print("PUT", path, rec);
  json_decref(rec);
  return rc;
}

/* The state rotates its own root key: a statement signed by the current root key
 * (--key), naming the new one. */
int cmd_state_rotate_root(int argc, char **argv) {
  if (argc != 3 || argv[1][0] == '-') {
    puts("Usage: parley [--key CURRENT-ROOT-KEY] state rotate-root CODE NEW-ROOT-KEY.pub\n"
         "Replaces the state's root key. The statement is signed by the current root key and\n"
         "logged; read the new fingerprint to the operator and to the states that pinned the\n"
         "old key.");
    return argc == 2 ? 0 : 2;
  }
  parley_public_identity pub;
  parley_error err;
  if (parley_public_load(argv[2], &pub, &err) != PARLEY_E_OK) return cli_fail_err(argv[2], &err);
  char nk[PARLEY_KEY_B64_LEN], now[PARLEY_TIME_LEN];
  parley_sign_pk_to_b64(&pub.sign_pk, nk);
  parley_time_format(parley_now(), now);
  json_t *st = json_pack("{s:s,s:s,s:s,s:s}", "format", "parley-root-rotation-v1", "state", argv[1],
                         "new_root_key", nk, "time", now);
  parley_identity root;
  if (!st || cli_load_identity(&root)) {
    json_decref(st);
    return 1;
  }
  parley_err e = parley_signed_json_sign(st, PARLEY_PURPOSE_ROOT_ROTATION, &root.sign_sk, &err);
  parley_identity_wipe(&root);
  if (e) {
    json_decref(st);
    return cli_fail_err("signing the rotation", &err);
  }
  char path[64];
  snprintf(path, sizeof path, "/v1/states/%.3s/root-key", argv[1]);
  json_t *body = json_pack("{s:o}", "rotation", st);
  int rc = cli_request_print("POST", path, body);
  json_decref(body);
  return rc;
}
