/* parley send, inbox, read, ack, reply, case: end-to-end encrypted messaging.
 * Recipients are resolved from verified directory records (pinned root key, log
 * inclusion); bodies are sealed and opened here, never on the hub; every envelope sent
 * or read and every receipt is checked to be in the transparency log. */
#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "parley/envelope.h"
#include "parley/json.h"
#include "parley/proto.h"
#include "parley/template.h"

/* Who am I: (state, poc) of the configured key, asked of the hub. */
static int whoami(char state[4], char poc[64]) {
  json_t *v = cli_get_json("/v1/whoami");
  if (!v) return 1;
  int rc = 0;
  const char *s = json_string_value(json_object_get(v, "state"));
  const char *p = json_string_value(json_object_get(v, "poc"));
  if (!s || !p)
    rc = cli_fail("this key is not a POC officer's key (role %s)",
                  json_string_value(json_object_get(v, "role")));
  else {
    parley_strlcpy(state, s, 4);
    parley_strlcpy(poc, p, 64);
  }
  json_decref(v);
  return rc;
}

typedef struct {
  char state[4];
  char poc[64];
  parley_box_pk box;
} resolved;

/* "EST:technical" → every POC of EST with that role; "EST:est-cert" → that POC. */
static int resolve(const char *spec, resolved *out, size_t cap, size_t *n) {
  const char *colon = strchr(spec, ':');
  if (!colon || colon - spec != 3)
    return cli_fail("recipient '%s': use STATE:ROLE or STATE:POC-ID, e.g. EST:technical", spec);
  char code[4];
  memcpy(code, spec, 3);
  code[3] = 0;
  const char *what = colon + 1;
  json_t *st = NULL, *rec = NULL;
  parley_record_info *info = malloc(sizeof *info);
  parley_sign_pk root;
  bool first;
  uint64_t li, ls;
  if (!info || cli_verified_record(code, NULL, &st, &rec, info, &root, &first, &li, &ls)) {
    free(info);
    return 1;
  }
  int role = -1;
  for (int i = 0; parley_poc_roles[i]; i++)
    if (!strcmp(parley_poc_roles[i], what)) role = i;
  size_t found = 0;
  for (size_t i = 0; i < info->n_pocs; i++) {
    const parley_poc_info *p = &info->pocs[i];
    if (role >= 0 ? !(p->roles & (1u << role)) : strcmp(p->id, what) != 0) continue;
    bool dup = false;
    for (size_t k = 0; k < *n; k++)
      dup |= !memcmp(out[k].box.b, p->box_pk.b, 32);
    if (dup) continue;
    if (*n >= cap) {
      free(info);
      json_decref(st);
      json_decref(rec);
      return cli_fail("too many recipients (at most %zu)", cap);
    }
    parley_strlcpy(out[*n].state, code, 4);
    parley_strlcpy(out[*n].poc, p->id, 64);
    out[*n].box = p->box_pk;
    (*n)++;
    found++;
  }
  free(info);
  json_decref(st);
  json_decref(rec);
  if (!found)
    return cli_fail("recipient '%s': %s has no POC %s '%s'", spec, code,
                    role >= 0 ? "with role" : "with id", what);
  return 0;
}

/* Reads "name=value" fields; a value that looks like JSON (number, true/false, [..])
 * is taken as JSON, else as a string. */
static int add_field(json_t *content, const char *kv) {
  const char *eq = strchr(kv, '=');
  if (!eq || eq == kv) return cli_fail("--field: use name=value");
  char name[128];
  size_t n = (size_t)(eq - kv);
  if (n >= sizeof name) return cli_fail("--field: name too long");
  memcpy(name, kv, n);
  name[n] = 0;
  const char *v = eq + 1;
  json_t *jv = NULL;
  if (*v == '[' || !strcmp(v, "true") || !strcmp(v, "false") || (*v >= '0' && *v <= '9'))
    parley_json_parse(v, strlen(v), NULL, &jv, NULL);
  json_object_set_new(content, name, jv ? jv : json_string(v));
  return 0;
}

static int post_envelope(json_t *env, json_t **answer) {
  char *s = json_dumps(env, JSON_COMPACT);
  parley_identity id;
  if (!s || cli_load_identity(&id)) {
    free(s);
    return 1;
  }
  cli_response r;
  int rc = cli_http("POST", "/v1/messages", s, strlen(s), &id, &r);
  parley_identity_wipe(&id);
  free(s);
  if (rc) return rc;
  if (r.status != 201) {
    rc = cli_print_http_error(&r);
  } else {
    *answer = cli_response_json(&r);
    rc = *answer ? 0 : 1;
  }
  cli_response_free(&r);
  return rc;
}

typedef struct {
  const char *kind, *priority, *tlp, *case_id, *in_reply_to, *lang, *fields_file, *seal_only;
  const char *to[PARLEY_MAX_RECIPIENTS];
  size_t n_to;
  json_t *content;
} send_opts;

static int do_send(send_opts *o) {
  char me_state[4], me_poc[64];
  if (whoami(me_state, me_poc)) return 1;
  if (o->fields_file) {
    size_t len;
    char *text = cli_read_file(o->fields_file, 1u << 20, &len);
    json_t *f = NULL;
    parley_error err;
    if (!text) return 1;
    if (parley_json_parse_object(text, len, NULL, &f, &err) != PARLEY_E_OK) {
      free(text);
      return cli_fail_err(o->fields_file, &err);
    }
    free(text);
    json_object_update_missing(o->content, f);
    json_decref(f);
  }
  resolved rc_list[PARLEY_MAX_RECIPIENTS];
  size_t n = 0;
  for (size_t i = 0; i < o->n_to; i++)
    if (resolve(o->to[i], rc_list, PARLEY_MAX_RECIPIENTS, &n)) return 1;
  parley_envelope_recipient er[PARLEY_MAX_RECIPIENTS];
  for (size_t i = 0; i < n; i++)
    er[i] = (parley_envelope_recipient){rc_list[i].state, rc_list[i].poc, rc_list[i].box};
  int prio = -1, tlp = -1;
  for (int i = 0; parley_priorities[i]; i++)
    if (!strcmp(parley_priorities[i], o->priority)) prio = i;
  char tlp_label[32];
  snprintf(tlp_label, sizeof tlp_label, "%s%s", strncmp(o->tlp, "TLP:", 4) ? "TLP:" : "", o->tlp);
  for (int i = 0; parley_tlp_labels[i]; i++)
    if (!strcmp(parley_tlp_labels[i], tlp_label)) tlp = i;
  if (prio < 0) return cli_fail("--priority: routine, urgent or critical");
  if (tlp < 0) return cli_fail("--tlp: RED, AMBER+STRICT, AMBER, GREEN or CLEAR");
  parley_envelope_params p = {.kind = o->kind,
                              .priority = (parley_priority)prio,
                              .tlp = (parley_tlp)tlp,
                              .case_id = o->case_id,
                              .in_reply_to = o->in_reply_to,
                              .from_state = me_state,
                              .from_poc = me_poc,
                              .language = o->lang,
                              .n_recipients = n,
                              .recipients = er};
  parley_identity id;
  if (cli_load_identity(&id)) return 1;
  json_t *env = NULL;
  parley_error err;
  parley_err e = parley_envelope_seal(&p, o->content, &id, &env, &err);
  parley_identity_wipe(&id);
  if (e) return cli_fail_err("the message was not sent", &err);
  if (o->seal_only) {
    /* For another transport, or for testing the hub's checks. */
    char *text = json_dumps(env, JSON_COMPACT);
    int wrc = text && cli_write_file_atomic(o->seal_only, text, strlen(text), 0600) == PARLEY_E_OK
                  ? 0
                  : cli_fail("%s: cannot write", o->seal_only);
    free(text);
    json_decref(env);
    if (!wrc) printf("sealed, not sent: %s\n", o->seal_only);
    return wrc;
  }
  json_t *answer = NULL;
  int rc = post_envelope(env, &answer);
  uint8_t leaf[32];
  uint64_t li = 0, ls = 0;
  if (!rc && (cli_entry_leaf_hash("envelope", env, leaf) || cli_verify_inclusion(leaf, &li, &ls)))
    rc = cli_fail("the hub accepted the message but did not log it: keep the envelope as "
                  "evidence");
  if (!rc) {
    if (cli.json_output) {
      json_dumpf(answer, stdout, JSON_INDENT(2));
      putchar('\n');
    } else {
      printf("sent %s %s %s to", json_string_value(json_object_get(answer, "priority")), o->kind,
             json_string_value(json_object_get(answer, "id")));
      for (size_t i = 0; i < n; i++)
        printf(" %s/%s", rc_list[i].state, rc_list[i].poc);
      printf("\n  acknowledge by %s; logged as entry %llu (verified)\n",
             json_string_value(json_object_get(answer, "ack_deadline")), (unsigned long long)li);
    }
  }
  json_decref(answer);
  json_decref(env);
  return rc;
}

static const struct option send_options[] = {
    {"kind", required_argument, 0, 'k'},     {"to", required_argument, 0, 't'},
    {"priority", required_argument, 0, 'p'}, {"tlp", required_argument, 0, 'l'},
    {"fields", required_argument, 0, 'f'},   {"field", required_argument, 0, 'F'},
    {"case", required_argument, 0, 'c'},     {"in-reply-to", required_argument, 0, 'r'},
    {"language", required_argument, 0, 'L'}, {"seal-only", required_argument, 0, 'S'},
    {"help", no_argument, 0, 'h'},           {0, 0, 0, 0}};

static void send_usage(FILE *f) {
  size_t n;
  const char *const *kinds = parley_template_kinds(&n);
  fputs("Usage: parley send --kind KIND --to STATE:ROLE|STATE:POC [--to ...]\n"
        "         [--priority routine|urgent|critical] [--tlp RED|AMBER+STRICT|AMBER|GREEN|CLEAR]\n"
        "         [--fields FILE.json] [--field name=value ...] [--case ID] [--in-reply-to ID]\n"
        "         [--language en] [--seal-only FILE]\n"
        "Seals the message for the recipients' keys (from their verified directory\n"
        "records), signs it, sends it, and checks that the hub logged it. --seal-only\n"
        "writes the sealed envelope to FILE instead of sending it.\nKinds:",
        f);
  for (size_t i = 0; i < n; i++)
    fprintf(f, " %s", kinds[i]);
  fputs("\n", f);
}

/* Parses the options of send and reply into o. Returns -1 to go on, else the exit
 * status (help printed, or a usage error). A reply takes its recipient and case from
 * the message it answers, so --to, --case, --in-reply-to and --seal-only are refused. */
static int parse_send_options(int argc, char **argv, send_opts *o, bool reply) {
  int ch;
  while ((ch = getopt_long(argc, argv, "h", send_options, NULL)) != -1) {
    bool send_only = ch == 't' || ch == 'c' || ch == 'r' || ch == 'S';
    if (reply && send_only) ch = '?';
    switch (ch) {
    case 'k':
      o->kind = optarg;
      break;
    case 'p':
      o->priority = optarg;
      break;
    case 'l':
      o->tlp = optarg;
      break;
    case 'f':
      o->fields_file = optarg;
      break;
    case 'L':
      o->lang = optarg;
      break;
    case 'c':
      o->case_id = optarg;
      break;
    case 'r':
      o->in_reply_to = optarg;
      break;
    case 'S':
      o->seal_only = optarg;
      break;
    case 't':
      if (o->n_to >= PARLEY_MAX_RECIPIENTS)
        return cli_fail("at most %d --to", PARLEY_MAX_RECIPIENTS);
      o->to[o->n_to++] = optarg;
      break;
    case 'F':
      if (add_field(o->content, optarg)) return 1;
      break;
    default:
      if (reply)
        fputs("Usage: parley reply ID [--kind response] [--fields FILE] [--field name=value ...]\n"
              "         [--priority ...] [--tlp ...] [--language en]\n"
              "Answers message ID to its sender, in the same case.\n",
              ch == 'h' ? stdout : stderr);
      else
        send_usage(ch == 'h' ? stdout : stderr);
      return ch == 'h' ? 0 : 2;
    }
  }
  return -1;
}

int cmd_send(int argc, char **argv) {
  send_opts o = {.priority = "routine", .tlp = "AMBER", .lang = "en", .content = json_object()};
  int rc = parse_send_options(argc, argv, &o, false);
  if (rc < 0 && (!o.kind || !o.n_to))
    rc = cli_fail("send: --kind and --to are required (see parley send --help)");
  if (rc < 0) rc = do_send(&o);
  json_decref(o.content);
  return rc;
}

static void print_inbox_header(void) {
  printf("%-5s %-36s %-24s %-8s %-9s %-13s %-20s %s\n", "SEQ", "ID", "KIND", "PRIORITY", "FROM",
         "STATUS", "ACK BY", "");
}

static void print_inbox_line(const json_t *m) {
  json_t *from = json_object_get(m, "from");
  char fr[80];
  snprintf(fr, sizeof fr, "%s/%s", json_string_value(json_object_get(from, "state")),
           json_string_value(json_object_get(from, "poc")));
  printf("%-5lld %-36s %-24s %-8s %-9.9s %-13s %-20s %s\n",
         (long long)json_integer_value(json_object_get(m, "seq")),
         json_string_value(json_object_get(m, "id")), json_string_value(json_object_get(m, "kind")),
         json_string_value(json_object_get(m, "priority")), fr,
         json_string_value(json_object_get(m, "status")),
         json_string_value(json_object_get(m, "ack_deadline")),
         json_is_true(json_object_get(m, "overdue")) ? "OVERDUE" : "");
}

/* ---- parley inbox --follow: the inbox's event stream ---------------------- */

static volatile sig_atomic_t follow_stop;

static void on_stop_signal(int sig) {
  (void)sig;
  follow_stop = 1;
}

typedef struct {
  cli_sse sse;
  bool ready; /* this connection delivered its first event */
} follow_ctx;

static bool on_follow_event(void *cls, const char *event, const char *data) {
  follow_ctx *f = cls;
  json_t *v = NULL;
  parley_json_parse(data, strlen(data), NULL, &v, NULL);
  if (!v) {
    fprintf(stderr, "parley: ignored an event whose data is not JSON\n");
    return true;
  }
  if (strcmp(event, "ready") == 0) {
    f->ready = true;
    json_int_t ka = json_integer_value(json_object_get(v, "keepalive_s"));
    if (ka > 0 && ka < 3600) f->sse.idle_s = (unsigned)ka * 3 + 5; /* three missed, and then some */
  } else if (strcmp(event, "message") == 0) {
    if (cli.json_output) {
      json_dumpf(v, stdout, JSON_COMPACT);
      putchar('\n');
    } else {
      print_inbox_line(v);
    }
    fflush(stdout);
  }
  json_decref(v);
  return true;
}

/* Prints the inbox after `after`, then each message as it arrives, until SIGINT or
 * SIGTERM. A dropped connection is opened again, resuming after the last event seen. */
static int follow_inbox(const char *after) {
  uint64_t a;
  if (!parley_parse_u64(after, &a)) return cli_fail("--after: a sequence number");
  parley_identity id;
  if (cli_load_identity(&id)) return 1;
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_stop_signal; /* no SA_RESTART: a wait between attempts ends at once */
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
  char path[64];
  snprintf(path, sizeof path, "/v1/inbox/stream?after=%llu", (unsigned long long)a);
  follow_ctx f;
  memset(&f, 0, sizeof f);
  f.sse.path = path;
  f.sse.idle_s = 60; /* until the hub says how often it sends keep-alives */
  f.sse.on_event = on_follow_event;
  f.sse.cls = &f;
  f.sse.stop = &follow_stop;
  if (!cli.json_output) {
    print_inbox_header();
    fflush(stdout);
  }
  unsigned backoff = 1;
  int rc = 0;
  while (!follow_stop) {
    f.ready = false;
    cli_sse_end end = cli_sse_run(&f.sse, &id);
    if (end == CLI_SSE_STOPPED || end == CLI_SSE_FAILED) {
      rc = end == CLI_SSE_FAILED;
      break;
    }
    if (end == CLI_SSE_REFUSED && f.sse.status != 429 && f.sse.status != 503) {
      rc = 1; /* retrying would be refused again */
      break;
    }
    if (f.ready) backoff = 1;
    fprintf(stderr, "parley: reconnecting in %u s%s%s\n", backoff,
            f.sse.last_event_id[0] ? " after event " : "", f.sse.last_event_id);
    for (unsigned i = 0; i < backoff * 10 && !follow_stop; i++) {
      struct timespec ts = {0, 100 * 1000 * 1000};
      nanosleep(&ts, NULL);
    }
    backoff = backoff < 30 ? backoff * 2 : 30;
  }
  parley_identity_wipe(&id);
  return rc;
}

int cmd_inbox(int argc, char **argv) {
  const char *after = "0";
  bool sent = false, follow = false;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--after") && i + 1 < argc)
      after = argv[++i];
    else if (!strcmp(argv[i], "--sent"))
      sent = true;
    else if (!strcmp(argv[i], "--follow") || !strcmp(argv[i], "-f"))
      follow = true;
    else {
      puts("Usage: parley inbox [--after SEQ] [--sent] [--follow]\n"
           "Lists messages addressed to you (or sent by you), oldest first, with their\n"
           "status and acknowledgement deadline. Bodies are read with 'parley read ID'.\n"
           "--follow (-f) lists every message after SEQ, then waits and prints each new\n"
           "one as it arrives (one JSON object a line with --json), reconnecting after a\n"
           "dropped connection without missing or repeating one; Ctrl-C stops it.");
      return strcmp(argv[i], "--help") == 0 ? 0 : 2;
    }
  }
  if (follow && sent)
    return cli_fail("--follow shows the inbox only; receipts: parley inbox --sent");
  if (follow) return follow_inbox(after);
  parley_identity id;
  if (cli_load_identity(&id)) return 1;
  char path[96];
  snprintf(path, sizeof path, "/v1/%s?after=%.20s", sent ? "outbox" : "inbox", after);
  cli_response r;
  int rc = cli_http("GET", path, NULL, 0, &id, &r);
  parley_identity_wipe(&id);
  if (rc) return rc;
  json_t *v = r.status == 200 ? cli_response_json(&r) : NULL;
  if (!v) {
    rc = r.status == 200 ? 1 : cli_print_http_error(&r);
    cli_response_free(&r);
    return rc;
  }
  cli_response_free(&r);
  if (cli.json_output) {
    json_dumpf(v, stdout, JSON_INDENT(2));
    putchar('\n');
  } else {
    print_inbox_header();
    size_t i;
    json_t *m;
    json_array_foreach(json_object_get(v, "messages"), i, m) print_inbox_line(m);
  }
  json_decref(v);
  return 0;
}

/* GETs a message (marks it delivered when I am a recipient). */
static json_t *get_message(const char *msg_id) {
  if (!parley_uuid_valid(msg_id)) {
    cli_fail("'%s' is not a message id", msg_id);
    return NULL;
  }
  char path[96];
  snprintf(path, sizeof path, "/v1/messages/%s", msg_id);
  return cli_get_json(path);
}

/* The sender's signing key, from the sender state's verified record: the key the
 * envelope names must be that POC's current signing key. */
static int sender_key(const json_t *env, parley_sign_pk *pk) {
  json_t *from = json_object_get(env, "from");
  const char *state = json_string_value(json_object_get(from, "state"));
  const char *poc = json_string_value(json_object_get(from, "poc"));
  const char *kid = json_string_value(json_object_get(from, "key_id"));
  if (!state || !poc || !kid || !parley_state_code_valid(state))
    return cli_fail("REFUSED: the envelope names no valid sender");
  json_t *st = NULL, *rec = NULL;
  parley_record_info *info = malloc(sizeof *info);
  parley_sign_pk root;
  bool first;
  uint64_t li, ls;
  if (!info || cli_verified_record(state, NULL, &st, &rec, info, &root, &first, &li, &ls)) {
    free(info);
    return 1;
  }
  int rc = 1;
  for (size_t i = 0; i < info->n_pocs; i++) {
    char k[PARLEY_KEY_ID_LEN];
    parley_sign_pk_key_id(&info->pocs[i].sign_pk, k);
    if (!strcmp(info->pocs[i].id, poc) && !strcmp(k, kid)) {
      *pk = info->pocs[i].sign_pk;
      rc = 0;
    }
  }
  if (rc) cli_fail("REFUSED: %s/%s is not a current POC of %s with key %s", state, poc, state, kid);
  free(info);
  json_decref(st);
  json_decref(rec);
  return rc;
}

/* Opens a message: verify, decrypt, check it is logged. Returns the body. */
static json_t *open_message(const json_t *msg) {
  json_t *env = json_object_get(msg, "envelope");
  parley_sign_pk spk;
  if (!json_is_object(env) || sender_key(env, &spk)) return NULL;
  parley_identity id;
  if (cli_load_identity(&id)) return NULL;
  json_t *body = NULL;
  parley_error err;
  parley_err e = parley_envelope_open(env, &id, &spk, &body, &err);
  parley_identity_wipe(&id);
  if (e) {
    cli_fail_err("REFUSED: the message does not open", &err);
    return NULL;
  }
  uint8_t leaf[32];
  uint64_t li, ls;
  if (cli_entry_leaf_hash("envelope", env, leaf) || cli_verify_inclusion(leaf, &li, &ls)) {
    json_decref(body);
    cli_fail("REFUSED: the message is not provably in the hub's transparency log");
    return NULL;
  }
  return body;
}

int cmd_read(int argc, char **argv) {
  const char *lang = "en", *msg_id = NULL;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--lang") && i + 1 < argc)
      lang = argv[++i];
    else if (argv[i][0] != '-' && !msg_id)
      msg_id = argv[i];
    else {
      puts("Usage: parley read ID [--lang ar|zh|en|fr|ru|es]\n"
           "Fetches, verifies and decrypts a message and shows it with the field labels in\n"
           "the chosen language (free text stays as written).");
      return strcmp(argv[i], "--help") == 0 ? 0 : 2;
    }
  }
  if (!msg_id) return cli_fail("read: give a message ID");
  json_t *msg = get_message(msg_id);
  if (!msg) return 1;
  json_t *body = open_message(msg);
  if (!body) {
    json_decref(msg);
    return 1;
  }
  int rc = 0;
  if (cli.json_output) {
    json_t *out = json_pack("{s:O,s:O}", "message", msg, "body", body);
    json_object_del(json_object_get(out, "message"), "envelope");
    json_dumpf(out, stdout, JSON_INDENT(2));
    putchar('\n');
    json_decref(out);
  } else {
    json_t *from = json_object_get(msg, "from");
    printf("Message %s — %s %s, %s\nFrom: %s/%s (signature VERIFIED, logged as entry %lld)\n",
           json_string_value(json_object_get(msg, "id")),
           json_string_value(json_object_get(msg, "priority")),
           json_string_value(json_object_get(msg, "kind")),
           json_string_value(json_object_get(msg, "tlp")),
           json_string_value(json_object_get(from, "state")),
           json_string_value(json_object_get(from, "poc")),
           (long long)json_integer_value(json_object_get(msg, "leaf_index")));
    printf("Sent %s, status %s, acknowledge by %s%s\n",
           json_string_value(json_object_get(msg, "created")),
           json_string_value(json_object_get(msg, "status")),
           json_string_value(json_object_get(msg, "ack_deadline")),
           json_is_true(json_object_get(msg, "overdue")) ? " (OVERDUE)" : "");
    const char *cs = json_string_value(json_object_get(msg, "case"));
    if (cs) printf("Case %s\n", cs);
    printf("\n");
    parley_buf out;
    parley_buf_init(&out, 4u << 20);
    parley_error err;
    if (parley_template_render(json_string_value(json_object_get(msg, "kind")),
                               json_object_get(body, "content"), lang, &out, &err) != PARLEY_E_OK)
      rc = cli_fail_err("render", &err);
    else
      fwrite(out.data, 1, out.len, stdout);
    parley_buf_free(&out);
    printf("\nHistory:\n");
    size_t i;
    json_t *ev;
    json_array_foreach(json_object_get(msg, "history"), i, ev)
        printf("  %s  %-14s %s\n", json_string_value(json_object_get(ev, "time")),
               json_string_value(json_object_get(ev, "event")),
               json_string_value(json_object_get(ev, "detail")));
  }
  json_decref(body);
  json_decref(msg);
  return rc;
}

int cmd_ack(int argc, char **argv) {
  if (argc != 2 || argv[1][0] == '-') {
    puts("Usage: parley ack ID\nSends a signed receipt for message ID (after verifying and "
         "opening it)\nand checks that the hub logged the receipt.");
    return argc == 2 ? 0 : 2;
  }
  json_t *msg = get_message(argv[1]);
  if (!msg) return 1;
  json_t *from = json_object_get(msg, "from");
  bool ping = !strcmp(json_string_value(json_object_get(msg, "kind")), "ping") &&
              !strcmp(json_string_value(json_object_get(from, "state")), "HUB");
  json_t *body = NULL;
  if (ping) {
    /* A communication check: a statement signed by the hub's key, not encrypted. */
    parley_sign_pk hub;
    parley_error e2;
    if (!cli_hub_key(&hub) && parley_signed_json_verify(json_object_get(msg, "envelope"), "ping",
                                                        &hub, &e2) == PARLEY_E_OK)
      body = json_incref(json_object_get(msg, "envelope"));
    else
      cli_fail("REFUSED: the communication check is not signed by the hub's key");
  } else {
    body = open_message(msg); /* acknowledge only what verifies */
  }
  char st[4], poc[64];
  if (!body || whoami(st, poc)) {
    json_decref(body);
    json_decref(msg);
    return 1;
  }
  json_decref(body);
  parley_hash h;
  parley_error err;
  parley_identity id;
  json_t *ack = NULL;
  int rc = 0;
  if (parley_envelope_hash(json_object_get(msg, "envelope"), &h, &err) != PARLEY_E_OK)
    rc = cli_fail_err("envelope hash", &err);
  else if (cli_load_identity(&id))
    rc = 1;
  else {
    if (parley_ack_new(argv[1], &h, st, poc, 0, &id, &ack, &err) != PARLEY_E_OK)
      rc = cli_fail_err("ack", &err);
    parley_identity_wipe(&id);
  }
  json_decref(msg);
  if (rc) return rc;
  char path[96];
  snprintf(path, sizeof path, "/v1/messages/%s/ack", argv[1]);
  char *s = json_dumps(ack, JSON_COMPACT);
  cli_response r;
  if (cli_load_identity(&id)) {
    free(s);
    json_decref(ack);
    return 1;
  }
  rc = cli_http("POST", path, s, strlen(s), &id, &r);
  parley_identity_wipe(&id);
  free(s);
  if (!rc) {
    if (r.status != 201 && r.status != 200)
      rc = cli_print_http_error(&r);
    else if (r.status == 200)
      printf("already acknowledged\n");
    cli_response_free(&r);
  }
  uint8_t leaf[32];
  uint64_t li, ls;
  if (!rc && (cli_entry_leaf_hash("ack", ack, leaf) || cli_verify_inclusion(leaf, &li, &ls)))
    rc = cli_fail("the hub accepted the receipt but did not log it");
  if (!rc)
    printf("acknowledged %s; receipt logged as entry %llu (verified)\n", argv[1],
           (unsigned long long)li);
  json_decref(ack);
  return rc;
}

int cmd_reply(int argc, char **argv) {
  send_opts o = {.kind = "response",
                 .priority = "routine",
                 .tlp = "AMBER",
                 .lang = "en",
                 .content = json_object()};
  int rc = parse_send_options(argc, argv, &o, true);
  if (rc < 0 && argc - optind != 1) rc = cli_fail("reply: give the ID of the message to answer");
  if (rc >= 0) {
    json_decref(o.content);
    return rc;
  }
  json_t *msg = get_message(argv[optind]);
  if (!msg) {
    json_decref(o.content);
    return 1;
  }
  json_t *from = json_object_get(msg, "from");
  char to[80];
  snprintf(to, sizeof to, "%s:%s", json_string_value(json_object_get(from, "state")),
           json_string_value(json_object_get(from, "poc")));
  const char *cs = json_string_value(json_object_get(msg, "case"));
  char case_id[PARLEY_UUID_LEN], reply_to[PARLEY_UUID_LEN];
  parley_strlcpy(case_id, cs ? cs : argv[optind], sizeof case_id);
  parley_strlcpy(reply_to, argv[optind], sizeof reply_to);
  json_decref(msg);
  o.to[o.n_to++] = to;
  o.case_id = case_id;
  o.in_reply_to = reply_to;
  rc = do_send(&o);
  json_decref(o.content);
  return rc;
}

int cmd_case(int argc, char **argv) {
  if (argc != 2 || argv[1][0] == '-') {
    puts("Usage: parley case ID\nLists the messages of a case that you sent or received.");
    return argc == 2 ? 0 : 2;
  }
  char path[96];
  snprintf(path, sizeof path, "/v1/cases/%.36s", argv[1]);
  return cli_request_print("GET", path, NULL);
}
