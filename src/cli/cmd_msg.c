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

/* Whether the verified current record of `state` has a POC `poc` whose signing key and
 * encryption key are this key file's. Prints why not. */
static int verify_me(const char *state, const char *poc) {
  parley_identity id;
  if (cli_load_identity(&id)) return 1;
  parley_sign_pk sign = id.sign_pk;
  parley_box_pk box = id.box_pk;
  parley_identity_wipe(&id);
  json_t *st = NULL, *rec = NULL;
  parley_record_info *info = malloc(sizeof *info);
  parley_sign_pk root;
  bool first;
  uint64_t li, ls;
  if (!info || cli_verified_record(state, NULL, &st, &rec, info, &root, &first, &li, &ls)) {
    free(info);
    return 1;
  }
  bool found = false;
  for (size_t i = 0; i < info->n_pocs && !found; i++)
    found = !strcmp(info->pocs[i].id, poc) && !memcmp(info->pocs[i].sign_pk.b, sign.b, 32) &&
            !memcmp(info->pocs[i].box_pk.b, box.b, 32);
  free(info);
  json_decref(st);
  json_decref(rec);
  return found ? 0
               : cli_fail("REFUSED: the hub says this key is %s/%s, but %s's verified record "
                          "gives %s/%s other keys (or no such POC): not acting as %s/%s",
                          state, cli_safe(poc), state, state, cli_safe(poc), state, cli_safe(poc));
}

/* Who am I: the (state, poc) the hub names for the configured key, believed only if
 * that state's verified record gives that POC this key file's signing and encryption
 * keys (the hub's word alone could make us sign as another officer). */
static int whoami(char state[4], char poc[64]) {
  json_t *v = cli_get_json("/v1/whoami");
  if (!v) return 1;
  int rc = 0;
  const char *s = json_string_value(json_object_get(v, "state"));
  const char *p = json_string_value(json_object_get(v, "poc"));
  if (!s || !p || !parley_state_code_valid(s) || strlen(p) > PARLEY_POC_ID_MAX)
    rc = cli_fail("this key is not a POC officer's key (role %s)", cli_safe(cli_jstr(v, "role")));
  else {
    parley_strlcpy(state, s, 4);
    parley_strlcpy(poc, p, 64);
  }
  json_decref(v);
  return rc ? rc : verify_me(state, poc);
}

/* What a state's verified record says of an instrument (its cooperation profile). */
typedef enum { PROFILE_NONE, PROFILE_LISTS, PROFILE_NOT_LISTED } profile_answer;

static profile_answer profile_of(const json_t *rec, const char *instrument) {
  if (!json_object_get(rec, "cooperation")) return PROFILE_NONE;
  return parley_record_instrument(rec, instrument) ? PROFILE_LISTS : PROFILE_NOT_LISTED;
}

/* The instruments of a verified record's profile, as "a, b" ("" when none). */
static void profile_list(const json_t *rec, char *out, size_t cap) {
  size_t i, used = 0;
  json_t *x;
  out[0] = 0;
  json_array_foreach(json_object_get(json_object_get(rec, "cooperation"), "instruments"), i, x) {
    int w = snprintf(out + used, cap - used, "%s%s", used ? ", " : "", cli_safe(cli_jstr(x, "id")));
    if (w < 0 || (size_t)w >= cap - used) break;
    used += (size_t)w;
  }
}

/* cli_resolve_recipients, and with an instrument the state's verified cooperation
 * profile: *profile receives what it says (PROFILE_NONE without one). */
static int resolve(const char *spec, bool exact_poc, cli_recipient *out, size_t cap, size_t *n,
                   const char *instrument, profile_answer *profile) {
  json_t *rec = NULL;
  if (cli_resolve_recipients(spec, exact_poc, out, cap, n, &rec)) return 1;
  *profile = instrument ? profile_of(rec, instrument) : PROFILE_NONE;
  if (*profile == PROFILE_NOT_LISTED) {
    char list[256];
    profile_list(rec, list, sizeof list);
    fprintf(stderr, "parley: %.3s's verified record does not list %s among its instruments (%s)\n",
            spec, instrument, list[0] ? list : "none");
  } else if (instrument && *profile == PROFILE_NONE) {
    fprintf(stderr,
            "parley: warning: %.3s's verified record has no cooperation profile: whether it is "
            "party to %s is not known\n",
            spec, instrument);
  }
  json_decref(rec);
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
  const char *basis; /* INSTRUMENT:ARTICLE or NULL */
  bool force;        /* send under an instrument our own profile does not list */
  const char *to[PARLEY_MAX_RECIPIENTS];
  size_t n_to;
  bool to_exact_poc[PARLEY_MAX_RECIPIENTS]; /* to[i] names a POC id, never a role (reply) */
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
  /* The legal basis: well formed, allowed for the kind, and an instrument our own
   * verified record lists (unless --force); a recipient whose profile does not list it
   * is refused too (unless --force), one without a profile is a warning. */
  char instrument[PARLEY_INSTRUMENT_MAX + 2] = "", article[PARLEY_ARTICLE_MAX + 2] = "";
  if (o->basis) {
    const char *colon = strchr(o->basis, ':');
    size_t il = colon ? (size_t)(colon - o->basis) : 0;
    if (!colon || il >= sizeof instrument || strlen(colon + 1) >= sizeof article)
      return cli_fail("--basis: INSTRUMENT:ARTICLE, e.g. un-cybercrime-2024:42");
    memcpy(instrument, o->basis, il);
    instrument[il] = 0;
    parley_strlcpy(article, colon + 1, sizeof article);
    const char *bad = parley_legal_basis_problem(instrument, article);
    if (bad) return cli_fail("--basis: %s", bad);
    if (!parley_template_basis_allowed(o->kind, instrument, article))
      return cli_fail("--basis: a %s is not sent under %s Art. %s (parley send --help lists the "
                      "bases of each kind)",
                      o->kind, instrument, article);
    json_t *st = NULL, *rec = NULL;
    parley_record_info *info = malloc(sizeof *info);
    parley_sign_pk root;
    bool first;
    uint64_t li, ls;
    if (!info || cli_verified_record(me_state, NULL, &st, &rec, info, &root, &first, &li, &ls)) {
      free(info);
      return 1;
    }
    profile_answer mine = profile_of(rec, instrument);
    char list[256];
    profile_list(rec, list, sizeof list);
    free(info);
    json_decref(st);
    json_decref(rec);
    if (mine != PROFILE_LISTS && !o->force)
      return cli_fail("REFUSED: your state's verified record does not list %s (it lists: %s); "
                      "publish it in the cooperation profile, or send with --force",
                      instrument, list[0] ? list : "none");
  }
  cli_recipient rc_list[PARLEY_MAX_RECIPIENTS];
  size_t n = 0;
  for (size_t i = 0; i < o->n_to; i++) {
    profile_answer theirs = PROFILE_NONE;
    if (resolve(o->to[i], o->to_exact_poc[i], rc_list, PARLEY_MAX_RECIPIENTS, &n,
                o->basis ? instrument : NULL, &theirs))
      return 1;
    if (theirs == PROFILE_NOT_LISTED && !o->force)
      return cli_fail("REFUSED: %.3s is not party to %s by its verified record (send with --force "
                      "to send anyway)",
                      o->to[i], instrument);
  }
  parley_envelope_recipient er[PARLEY_MAX_RECIPIENTS];
  cli_recipients_view(rc_list, n, er);
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
                              .basis_instrument = o->basis ? instrument : NULL,
                              .basis_article = o->basis ? article : NULL,
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
      cli_print_json(stdout, answer, JSON_INDENT(2));
    } else {
      /* What we sealed and signed, not what the hub echoes; the deadline is its word. */
      printf("sent %s %s %s to", parley_priorities[prio], o->kind, cli_safe(cli_jstr(env, "id")));
      for (size_t i = 0; i < n; i++)
        printf(" %s/%s", rc_list[i].state, rc_list[i].poc);
      printf("\n  logged as entry %llu (verified); the hub says: acknowledge by %s\n",
             (unsigned long long)li, cli_safe(cli_jstr(answer, "ack_deadline")));
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
    {"basis", required_argument, 0, 'B'},    {"force", no_argument, 0, 'X'},
    {"help", no_argument, 0, 'h'},           {0, 0, 0, 0}};

static void send_usage(FILE *f) {
  size_t n;
  const char *const *kinds = parley_template_kinds(&n);
  fputs("Usage: parley send --kind KIND --to STATE:ROLE|STATE:POC [--to ...]\n"
        "         [--priority routine|urgent|critical] [--tlp RED|AMBER+STRICT|AMBER|GREEN|CLEAR]\n"
        "         [--fields FILE.json] [--field name=value ...] [--case ID] [--in-reply-to ID]\n"
        "         [--language en] [--seal-only FILE] [--basis INSTRUMENT:ARTICLE [--force]]\n"
        "Seals the message for the recipients' keys (from their verified directory\n"
        "records), signs it, sends it, and checks that the hub logged it. --seal-only\n"
        "writes the sealed envelope to FILE instead of sending it. --basis puts the legal\n"
        "basis in the signed header; it must be one the kind allows, an instrument your\n"
        "state's verified record lists, and one each recipient state's profile lists\n"
        "(--force sends anyway).\nKinds (and their legal bases):\n",
        f);
  for (size_t i = 0; i < n; i++) {
    const parley_template *t = parley_template_get(kinds[i]);
    fprintf(f, "  %s", kinds[i]);
    for (size_t b = 0; t && b < t->n_bases; b++)
      fprintf(f, "%s%s:%s", b ? ", " : "  ", t->bases[b].instrument, t->bases[b].article);
    fputs("\n", f);
  }
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
    case 'B':
      o->basis = optarg;
      break;
    case 'X':
      o->force = true;
      break;
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

/* The inbox listing is the hub's metadata: nothing in it is signed (reading a message
 * verifies it), so every field is checked for type and printed escaped. */
static void print_inbox_header(void) {
  printf("Messages as the hub lists them (its unsigned word; 'parley read ID' verifies one):\n");
  printf("%-5s %-36s %-24s %-8s %-9s %-13s %-20s %s\n", "SEQ", "ID", "KIND", "PRIORITY", "FROM",
         "STATUS", "ACK BY", "");
}

static void print_inbox_line(const json_t *m) {
  json_t *from = json_object_get(m, "from");
  char fr[160];
  snprintf(fr, sizeof fr, "%s/%s", cli_safe(cli_jstr(from, "state")),
           cli_safe(cli_jstr(from, "poc")));
  json_t *seq = json_object_get(m, "seq");
  printf("%-5lld %-36s %-24s %-8s %-9.9s %-13s %-20s %s\n",
         json_is_integer(seq) ? (long long)json_integer_value(seq) : -1LL,
         cli_safe(cli_jstr(m, "id")), cli_safe(cli_jstr(m, "kind")),
         cli_safe(cli_jstr(m, "priority")), fr, cli_safe(cli_jstr(m, "status")),
         cli_safe(cli_jstr(m, "ack_deadline")),
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
      cli_print_json(stdout, v, JSON_COMPACT);
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

/* ---- one message: verified header, body, receipts, and the hub's word apart ---- */

#define RECEIPTS_MAX 256

/* Opens a verified envelope with my key: decrypt, check the inner signature and the
 * template. Returns the body, or NULL after printing why (quiet: no message for
 * ENVELOPE_NOT_RECIPIENT, which *not_mine reports). */
static json_t *open_verified(const cli_message *m, bool *not_mine) {
  parley_identity id;
  if (not_mine) *not_mine = false;
  if (cli_load_identity(&id)) return NULL;
  json_t *body = NULL;
  parley_error err;
  parley_err e = parley_envelope_open(m->env, &id, &m->sender_pk, &body, &err);
  parley_identity_wipe(&id);
  if (e == PARLEY_E_ENVELOPE_NOT_RECIPIENT && not_mine) {
    *not_mine = true;
    return NULL;
  }
  if (e) cli_fail_err("REFUSED: the message does not open", &err);
  return body;
}

static const char *verified_priority(const cli_message *m) {
  return m->is_ping ? "-" : parley_priorities[m->info.priority];
}

static const char *verified_tlp(const cli_message *m) {
  return m->is_ping ? "no TLP" : parley_tlp_labels[m->info.tlp];
}

/* The verified header and the receipts as JSON (for --json). */
static json_t *verified_json(const cli_message *m, const cli_receipt *r, size_t n) {
  char created[PARLEY_TIME_LEN];
  parley_time_format(m->info.created, created);
  json_t *rc = json_array(), *rv = json_array();
  for (size_t i = 0; i < m->info.n_recipients; i++) {
    int64_t t = 0;
    const parley_envelope_party *x = &m->info.recipients[i];
    bool ack = cli_state_acknowledged(r, n, x->state, &t);
    char at[PARLEY_TIME_LEN];
    parley_time_format(t, at);
    json_array_append_new(rc, json_pack("{s:s,s:s,s:s?}", "state", x->state, "poc", x->poc,
                                        "state_acknowledged", ack ? at : NULL));
  }
  for (size_t i = 0; i < n; i++) {
    char at[PARLEY_TIME_LEN];
    parley_time_format(r[i].time, at);
    json_array_append_new(rv, r[i].verified
                                  ? json_pack("{s:s,s:s,s:b,s:s,s:I}", "state", r[i].state, "poc",
                                              r[i].poc, "verified", 1, "time", at, "leaf_index",
                                              (json_int_t)r[i].leaf_index)
                                  : json_pack("{s:s,s:s,s:b,s:s}", "state", r[i].state, "poc",
                                              r[i].poc, "verified", 0, "reason", r[i].why));
  }
  json_t *o =
      json_pack("{s:s,s:s,s:s,s:s,s:{s:s,s:s},s:o,s:s,s:I,s:o}", "id", m->info.id, "kind",
                m->info.kind, "priority", verified_priority(m), "tlp", verified_tlp(m), "from",
                "state", m->info.from.state, "poc", m->info.from.poc, "recipients", rc, "created",
                created, "leaf_index", (json_int_t)m->leaf_index, "receipts", rv);
  if (m->info.case_id[0]) json_object_set_new(o, "case", json_string(m->info.case_id));
  if (m->info.in_reply_to[0])
    json_object_set_new(o, "in_reply_to", json_string(m->info.in_reply_to));
  if (m->info.basis_instrument[0])
    json_object_set_new(o, "legal_basis",
                        json_pack("{s:s,s:s}", "instrument", m->info.basis_instrument, "article",
                                  m->info.basis_article));
  if (m->info.status[0]) json_object_set_new(o, "status", json_string(m->info.status));
  if (m->info.respond_by[0]) json_object_set_new(o, "respond_by", json_string(m->info.respond_by));
  return o;
}

static void print_receipts(const cli_message *m, const cli_receipt *r, size_t n) {
  printf("Acknowledgement, per recipient state (from verified receipts only):\n");
  for (size_t i = 0; i < m->info.n_recipients; i++) {
    const parley_envelope_party *x = &m->info.recipients[i];
    bool seen = false;
    for (size_t k = 0; k < i; k++)
      seen |= !strcmp(m->info.recipients[k].state, x->state);
    if (seen) continue;
    int64_t t = 0;
    if (cli_state_acknowledged(r, n, x->state, &t)) {
      char at[PARLEY_TIME_LEN];
      parley_time_format(t, at);
      printf("  %s: acknowledged %s by", x->state, at);
      for (size_t k = 0; k < n; k++)
        if (r[k].verified && !strcmp(r[k].state, x->state))
          printf(" %s (receipt VERIFIED, log entry %llu)", r[k].poc,
                 (unsigned long long)r[k].leaf_index);
      printf("\n");
    } else {
      printf("  %s: NOT acknowledged\n", x->state);
    }
  }
  for (size_t k = 0; k < n; k++)
    if (!r[k].verified)
      printf("  receipt claimed for %s/%s: NOT VERIFIED, not counted: %s\n", cli_safe(r[k].state),
             cli_safe(r[k].poc), cli_safe(r[k].why));
}

/* A time the hub leaves out or null when it has none yet, escaped. */
static const char *hub_time(const json_t *o, const char *key) {
  json_t *v = json_object_get(o, key);
  if (!v || json_is_null(v)) return "no";
  return json_is_string(v) ? cli_safe(json_string_value(v)) : "(invalid)";
}

/* What only the hub asserts, printed apart and escaped. */
static void print_hub_word(const json_t *msg) {
  printf("\nThe hub's word (unsigned, not verified by this client):\n");
  printf("  received %s, status %s, acknowledge by %s%s, escalation level %lld\n",
         cli_safe(cli_jstr(msg, "received")), cli_safe(cli_jstr(msg, "status")),
         cli_safe(cli_jstr(msg, "ack_deadline")),
         json_is_true(json_object_get(msg, "overdue")) ? " (OVERDUE)" : "",
         (long long)json_integer_value(json_object_get(msg, "escalation_level")));
  size_t i;
  json_t *x;
  json_array_foreach(json_object_get(msg, "recipients"), i, x) {
    printf("  %s/%s: delivered %s, acknowledged %s\n", cli_safe(cli_jstr(x, "state")),
           cli_safe(cli_jstr(x, "poc")), hub_time(x, "delivered"), hub_time(x, "acknowledged"));
  }
  printf("  History:\n");
  json_array_foreach(json_object_get(msg, "history"), i, x) {
    printf("    %s  %-14s %s\n", cli_safe(cli_jstr(x, "time")), cli_safe(cli_jstr(x, "event")),
           cli_safe(cli_jstr(x, "detail")));
  }
}

/* parley inbox --sent: each message fetched and verified, its acknowledgement derived
 * from verified receipts per recipient state; the hub's status in a column of its own. */
static int print_sent(const json_t *list) {
  cli_record_cache *cache = cli_record_cache_new();
  cli_receipt *rcpt = calloc(RECEIPTS_MAX, sizeof *rcpt);
  json_t *out = json_array();
  if (!cache || !rcpt || !out) {
    cli_record_cache_free(cache);
    free(rcpt);
    json_decref(out);
    return cli_fail("out of memory");
  }
  if (!cli.json_output)
    printf("%-5s %-36s %-24s %-8s %-14s %-22s | %-13s %-20s %s\n", "SEQ", "ID", "KIND", "PRIORITY",
           "TO", "ACKNOWLEDGED (verified)", "HUB'S STATUS", "HUB'S ACK BY", "");
  size_t i, refused = 0;
  json_t *h;
  json_array_foreach(json_object_get(list, "messages"), i, h) {
    const char *id = cli_jstr(h, "id");
    json_t *seq = json_object_get(h, "seq");
    cli_message m;
    memset(&m, 0, sizeof m);
    bool ok = id && parley_uuid_valid(id) && cli_message_get(id, cache, &m) == 0;
    size_t nr = ok ? cli_message_receipts(&m, cache, rcpt, RECEIPTS_MAX) : 0;
    if (!ok) refused++;
    char to[64] = "?", acked[64] = "NOT VERIFIED";
    if (ok) {
      size_t states = 0, done = 0, bad = 0;
      for (size_t k = 0; k < m.info.n_recipients; k++) {
        bool seen = false;
        for (size_t j = 0; j < k; j++)
          seen |= !strcmp(m.info.recipients[j].state, m.info.recipients[k].state);
        int64_t t;
        if (seen) continue;
        states++;
        done += cli_state_acknowledged(rcpt, nr, m.info.recipients[k].state, &t);
      }
      for (size_t k = 0; k < nr; k++)
        bad += !rcpt[k].verified;
      if (states > 1)
        snprintf(to, sizeof to, "%s+%zu", m.info.recipients[0].state, states - 1);
      else
        snprintf(to, sizeof to, "%s", m.info.recipients[0].state);
      snprintf(acked, sizeof acked, "%s %zu/%zu states%s",
               done == states ? "yes"
               : done         ? "part"
                              : "no",
               done, states, bad ? ", BAD RECEIPT" : "");
    }
    if (cli.json_output) {
      json_t *hub = json_deep_copy(h);
      json_array_append_new(out, ok ? json_pack("{s:o,s:o}", "verified",
                                                verified_json(&m, rcpt, nr), "hub_unsigned", hub)
                                    : json_pack("{s:n,s:o}", "verified", "hub_unsigned", hub));
    } else {
      printf("%-5lld %-36s %-24s %-8s %-14s %-22s | %-13s %-20s %s\n",
             json_is_integer(seq) ? (long long)json_integer_value(seq) : -1LL,
             ok ? m.info.id : cli_safe(id), ok ? m.info.kind : "?",
             ok ? verified_priority(&m) : "?", to, acked, cli_safe(cli_jstr(h, "status")),
             cli_safe(cli_jstr(h, "ack_deadline")),
             json_is_true(json_object_get(h, "overdue")) ? "OVERDUE" : "");
    }
    cli_message_clear(&m);
  }
  if (cli.json_output) {
    json_t *o = json_pack("{s:o,s:O?}", "messages", out, "next", json_object_get(list, "next"));
    cli_print_json(stdout, o, JSON_INDENT(2));
    json_decref(o);
  } else {
    json_decref(out);
  }
  free(rcpt);
  cli_record_cache_free(cache);
  if (refused)
    return cli_fail("%zu message(s) did not verify: see the REFUSED lines above", refused);
  return 0;
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
  if (sent) {
    rc = print_sent(v);
  } else if (cli.json_output) {
    cli_print_json(stdout, v, JSON_INDENT(2));
  } else {
    print_inbox_header();
    size_t i;
    json_t *m;
    json_array_foreach(json_object_get(v, "messages"), i, m) print_inbox_line(m);
  }
  json_decref(v);
  return rc;
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
           "the chosen language (free text stays as written), then which recipient states\n"
           "acknowledged it by a verified receipt, then apart what only the hub asserts.");
      return strcmp(argv[i], "--help") == 0 ? 0 : 2;
    }
  }
  if (!msg_id) return cli_fail("read: give a message ID");
  cli_record_cache *cache = cli_record_cache_new();
  cli_message m;
  memset(&m, 0, sizeof m);
  if (!cache || cli_message_get(msg_id, cache, &m)) {
    cli_message_clear(&m);
    cli_record_cache_free(cache);
    return 1;
  }
  int rc = 0;
  json_t *body = NULL;
  bool not_mine = false;
  if (m.is_ping)
    body = json_pack("{s:{s:O}}", "content", "challenge", json_object_get(m.env, "challenge"));
  else
    body = open_verified(&m, &not_mine);
  if (!body && !not_mine)
    rc = m.is_ping ? cli_fail("REFUSED: the communication check has no challenge") : 1;
  /* The sender of a message not sealed to itself sees the verified header only. */
  if (not_mine) {
    parley_identity id;
    char kid[PARLEY_KEY_ID_LEN];
    if (cli_load_identity(&id))
      rc = 1;
    else {
      parley_sign_pk_key_id(&id.sign_pk, kid);
      parley_identity_wipe(&id);
      if (strcmp(kid, m.info.from.key_id) != 0)
        rc = cli_fail("REFUSED: the message is neither from nor to this key");
    }
  }
  cli_receipt *rcpt = rc ? NULL : calloc(RECEIPTS_MAX, sizeof *rcpt);
  size_t nr = rcpt ? cli_message_receipts(&m, cache, rcpt, RECEIPTS_MAX) : 0;
  if (!rc && !rcpt) rc = cli_fail("out of memory");
  if (!rc && cli.json_output) {
    json_t *hub = json_deep_copy(m.msg);
    json_object_del(hub, "envelope");
    json_t *out = json_pack("{s:o,s:O?,s:o}", "verified", verified_json(&m, rcpt, nr), "body", body,
                            "hub_unsigned", hub);
    cli_print_json(stdout, out, JSON_INDENT(2));
    json_decref(out);
  } else if (!rc) {
    char created[PARLEY_TIME_LEN];
    parley_time_format(m.info.created, created);
    printf("Message %s — %s %s, %s\n", m.info.id, verified_priority(&m), m.info.kind,
           verified_tlp(&m));
    printf("From: %s/%s (signature VERIFIED, logged as entry %llu)\n", m.info.from.state,
           m.info.from.poc, (unsigned long long)m.leaf_index);
    printf("To:");
    for (size_t i = 0; i < m.info.n_recipients; i++)
      printf(" %s/%s", m.info.recipients[i].state, m.info.recipients[i].poc);
    printf("\nCreated %s (signed by the sender)\n", created);
    if (m.info.case_id[0]) printf("Case %s\n", m.info.case_id);
    if (m.info.in_reply_to[0]) printf("In reply to %s\n", m.info.in_reply_to);
    if (m.info.basis_instrument[0])
      printf("Legal basis: %s, Art. %s (signed by the sender)\n", m.info.basis_instrument,
             m.info.basis_article);
    printf("\n");
    if (body) {
      parley_buf out;
      parley_buf_init(&out, 4u << 20);
      parley_error err;
      if (parley_template_render(m.info.kind, json_object_get(body, "content"), lang, &out, &err) !=
          PARLEY_E_OK)
        rc = cli_fail_err("render", &err);
      else
        fwrite(out.data, 1, out.len, stdout);
      parley_buf_free(&out);
    } else {
      printf("(the body is sealed for the recipients only)\n");
    }
    printf("\n");
    print_receipts(&m, rcpt, nr);
    print_hub_word(m.msg);
  }
  free(rcpt);
  json_decref(body);
  cli_message_clear(&m);
  cli_record_cache_free(cache);
  return rc;
}

int cmd_ack(int argc, char **argv) {
  if (argc != 2 || argv[1][0] == '-') {
    puts("Usage: parley ack ID\nSends a signed receipt for message ID (after verifying and "
         "opening it)\nand checks that the hub logged the receipt.");
    return argc == 2 ? 0 : 2;
  }
  cli_record_cache *cache = cli_record_cache_new();
  cli_message m;
  memset(&m, 0, sizeof m);
  char st[4], poc[64];
  int rc = !cache || cli_message_get(argv[1], cache, &m) || whoami(st, poc);
  /* Acknowledge only what verified and (an envelope) opened, addressed to me. */
  if (!rc && !m.is_ping) {
    json_t *body = open_verified(&m, NULL);
    rc = body == NULL;
    json_decref(body);
  }
  if (!rc && !cli_message_is_recipient(&m, st, poc))
    rc = cli_fail("REFUSED: %s/%s is not among the recipients that message %s names", st, poc,
                  argv[1]);
  parley_error err;
  parley_identity id;
  json_t *ack = NULL;
  if (!rc && cli_load_identity(&id))
    rc = 1;
  else if (!rc) {
    if (parley_ack_new(m.info.id, &m.hash, st, poc, 0, &id, &ack, &err) != PARLEY_E_OK)
      rc = cli_fail_err("ack", &err);
    parley_identity_wipe(&id);
  }
  cli_message_clear(&m);
  cli_record_cache_free(cache);
  if (rc) return rc;
  char path[96];
  snprintf(path, sizeof path, "/v1/messages/%s/ack", argv[1]);
  char *s = json_dumps(ack, JSON_COMPACT);
  cli_response r;
  if (!s || cli_load_identity(&id)) {
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
  /* The answer goes to the verified sender, in the verified case: never to whom the hub
   * says sent it. */
  cli_record_cache *cache = cli_record_cache_new();
  cli_message m;
  memset(&m, 0, sizeof m);
  rc = !cache || cli_message_get(argv[optind], cache, &m);
  if (!rc && m.is_ping) rc = cli_fail("a communication check is answered with parley ack");
  if (!rc) {
    json_t *body = open_verified(&m, NULL);
    rc = body == NULL;
    json_decref(body);
  }
  char to[80], case_id[PARLEY_UUID_LEN], reply_to[PARLEY_UUID_LEN];
  if (!rc) {
    snprintf(to, sizeof to, "%s:%s", m.info.from.state, m.info.from.poc);
    parley_strlcpy(case_id, m.info.case_id[0] ? m.info.case_id : m.info.id, sizeof case_id);
    parley_strlcpy(reply_to, m.info.id, sizeof reply_to);
    if (o.n_to >= PARLEY_MAX_RECIPIENTS)
      rc = cli_fail("at most %d recipients", PARLEY_MAX_RECIPIENTS);
    else {
      o.to_exact_poc[o.n_to] = true;
      o.to[o.n_to++] = to;
    }
    o.case_id = case_id;
    o.in_reply_to = reply_to;
  }
  cli_message_clear(&m);
  cli_record_cache_free(cache);
  if (!rc) rc = do_send(&o);
  json_decref(o.content);
  return rc;
}

/* parley case ID: the chain of a case. Each message the hub lists is fetched and
 * verified; where it is ours to open, its links (follows, request) and reasons come from
 * the verified, decrypted body. A request's status is what the requested state says in
 * signed status updates: the status in the verified header of a status-update in reply
 * to a request of the chain, sent by a state that request was addressed to (the body, when
 * ours to open, must say the same); never the hub. The clocks are the hub's word. */

#define CASE_MAX_REQUESTS 256

typedef struct {
  char id[PARLEY_UUID_LEN];
  char from[4];
  char to[PARLEY_MAX_RECIPIENTS][4];
  size_t n_to;
} case_request;

typedef struct {
  case_request *r;
  size_t n;
} case_chain;

static void chain_add(case_chain *c, const cli_message *m) {
  if (c->n == CASE_MAX_REQUESTS) return;
  case_request *q = &c->r[c->n++];
  parley_strlcpy(q->id, m->info.id, sizeof q->id);
  parley_strlcpy(q->from, m->info.from.state, sizeof q->from);
  q->n_to = m->info.n_recipients;
  for (size_t i = 0; i < q->n_to; i++)
    parley_strlcpy(q->to[i], m->info.recipients[i].state, sizeof q->to[i]);
}

/* Whether a verified status update is the word of the requested state: in reply to a
 * request of the chain, from a state that request was addressed to, not its sender. */
static bool status_counts(const case_chain *c, const cli_message *m) {
  for (size_t i = 0; i < c->n; i++) {
    const case_request *q = &c->r[i];
    if (strcmp(q->id, m->info.in_reply_to) || !strcmp(q->from, m->info.from.state)) continue;
    for (size_t k = 0; k < q->n_to; k++)
      if (!strcmp(q->to[k], m->info.from.state)) return true;
  }
  return false;
}

static void case_line(const cli_message *m, const json_t *content, const case_chain *chain) {
  char created[PARLEY_TIME_LEN];
  parley_time_format(m->info.created, created);
  printf("  %s  %-24s %s  %s/%s ->", created, m->info.kind, m->info.id, m->info.from.state,
         m->info.from.poc);
  for (size_t i = 0; i < m->info.n_recipients; i++)
    printf(" %s/%s", m->info.recipients[i].state, m->info.recipients[i].poc);
  printf("\n");
  if (m->info.basis_instrument[0])
    printf("      legal basis %s Art. %s\n", m->info.basis_instrument, m->info.basis_article);
  if (m->info.in_reply_to[0]) printf("      in reply to %s\n", m->info.in_reply_to);
  if (m->info.status[0]) {
    if (status_counts(chain, m)) {
      printf("      STATUS %s (signed by %s, verified)", m->info.status, m->info.from.state);
      if (cli_jstr(content, "refusal_ground"))
        printf(": %s", cli_safe(cli_jstr(content, "refusal_ground")));
      if (cli_jstr(content, "postponement_reason"))
        printf(": %s", cli_safe(cli_jstr(content, "postponement_reason")));
      printf("\n");
    } else {
      printf("      status '%s' claimed by %s: not a state the request was addressed to (or the "
             "request is not in this case); not counted\n",
             m->info.status, m->info.from.state);
    }
  }
  if (m->info.respond_by[0])
    printf("      respond by %s (signed header)%s%s\n", m->info.respond_by,
           cli_jstr(content, "respond_by_reasons") ? ": " : "",
           cli_jstr(content, "respond_by_reasons")
               ? cli_safe(cli_jstr(content, "respond_by_reasons"))
               : "");
  if (!content) {
    printf("      (body sealed for its recipients only)\n");
    return;
  }
  static const char *const links[] = {"follows", "earlier_request", "preservation_request",
                                      "request", NULL};
  for (const char *const *l = links; *l; l++)
    if (cli_jstr(content, *l))
      printf("      %s %s\n", !strcmp(*l, "request") ? "concerns" : *l,
             cli_safe(cli_jstr(content, *l)));
  if (cli_jstr(content, "respond_by") && !m->info.respond_by[0])
    printf("      respond by %s\n", cli_safe(cli_jstr(content, "respond_by")));
  if (json_is_true(json_object_get(content, "oral"))) printf("      made orally first\n");
}

/* Under a verified line of the case: what only the hub asserts of the message (its
 * listing entry), labelled as its unsigned word and escaped. */
static void case_hub_word(const json_t *h) {
  printf("      the hub's word (unsigned): %s, received %s, acknowledge by %s%s\n",
         cli_safe(cli_jstr(h, "status")), cli_safe(cli_jstr(h, "received")),
         cli_safe(cli_jstr(h, "ack_deadline")),
         json_is_true(json_object_get(h, "overdue")) ? " (OVERDUE)" : "");
}

int cmd_case(int argc, char **argv) {
  if (argc != 2 || argv[1][0] == '-') {
    puts("Usage: parley case ID\nThe chain of a case (the messages you sent or received that the\n"
         "hub lists under it), each message fetched and verified: its signed header, legal\n"
         "basis, the requests it follows and, from verified status updates, each request's\n"
         "status; under each, what only the hub says of it (delivery status, acknowledgement\n"
         "deadline), labelled as its unsigned word; then the case's treaty clocks as the hub\n"
         "keeps them (its unsigned word). With --json: {hub_unsigned, verified,\n"
         "clocks_unsigned}.");
    return argc == 2 ? 0 : 2;
  }
  char path[112];
  snprintf(path, sizeof path, "/v1/cases/%.36s", argv[1]);
  json_t *v = cli_get_json(path);
  if (!v) return 1;
  snprintf(path, sizeof path, "/v1/cases/%.36s/clocks", argv[1]);
  json_t *clocks = cli_get_json(path);
  /* Nothing of the listing is signed: only its message ids are used, each message is
   * fetched and verified; what only the hub says is printed apart, as its word. */
  if (!cli.json_output) printf("Case %s: the chain, each message verified:\n", cli_safe(argv[1]));
  cli_record_cache *cache = cli_record_cache_new();
  json_t *out = json_array();
  case_chain chain = {calloc(CASE_MAX_REQUESTS, sizeof(case_request)), 0};
  int rc = cache && out && chain.r ? 0 : cli_fail("out of memory");
  size_t i;
  json_t *h;
  json_array_foreach(json_object_get(v, "messages"), i, h) {
    if (rc && (!cache || !chain.r)) break;
    const char *id = cli_jstr(h, "id");
    cli_message m;
    memset(&m, 0, sizeof m);
    if (!id || !parley_uuid_valid(id) || cli_message_get(id, cache, &m)) {
      cli_message_clear(&m);
      if (!cli.json_output) printf("  %s: REFUSED: does not verify\n", cli_safe(id));
      rc = 1;
      continue;
    }
    /* The hub chooses what it lists: a message belongs to this case only when its signed
     * header says so (or it is the request that opened the case). */
    if (strcmp(m.info.case_id, argv[1]) != 0 && strcmp(m.info.id, argv[1]) != 0) {
      if (!cli.json_output)
        printf("  %s: REFUSED: listed under this case by the hub, but its signed header "
               "names case %s\n",
               cli_safe(id), m.info.case_id[0] ? cli_safe(m.info.case_id) : "(none)");
      cli_message_clear(&m);
      rc = 1;
      continue;
    }
    bool not_mine = false;
    json_t *body = m.is_ping ? NULL : open_verified(&m, &not_mine);
    const json_t *content = body ? json_object_get(body, "content") : NULL;
    if (!m.info.status[0]) chain_add(&chain, &m);
    if (cli.json_output) {
      json_t *vj = verified_json(&m, NULL, 0);
      if (m.info.status[0])
        json_object_set_new(vj, "status_counts", json_boolean(status_counts(&chain, &m)));
      json_array_append_new(out,
                            json_pack("{s:o,s:O?}", "verified", vj, "content", (json_t *)content));
    } else {
      case_line(&m, content, &chain);
      case_hub_word(h);
    }
    if (!body && !not_mine && !m.is_ping) rc = 1;
    json_decref(body);
    cli_message_clear(&m);
  }
  if (!cli.json_output)
    printf("  (only what the hub chose to list: a message it leaves out is not shown, so the\n"
           "   latest status above may not be the latest one sent)\n");
  json_t *cl = json_object_get(clocks, "clocks");
  if (cli.json_output) {
    json_t *o = json_pack("{s:O,s:o,s:O?}", "hub_unsigned", v, "verified", out, "clocks_unsigned",
                          json_is_array(cl) ? cl : NULL);
    out = NULL;
    cli_print_json(stdout, o, JSON_INDENT(2));
    json_decref(o);
  } else {
    printf("Clocks (the hub's word, unsigned; now %s):\n", cli_safe(cli_jstr(clocks, "now")));
    json_t *c;
    json_array_foreach(cl, i, c) {
      printf("  %-22s on %s (%s): %s, due %s", cli_safe(cli_jstr(c, "name")),
             cli_safe(cli_jstr(c, "message")), cli_safe(cli_jstr(c, "state")),
             cli_safe(cli_jstr(c, "status")), cli_safe(cli_jstr(c, "due")));
      if (cli_jstr(c, "remind_at")) printf(", reminder %s", cli_safe(cli_jstr(c, "remind_at")));
      if (cli_jstr(c, "settled")) printf(", settled %s", cli_safe(cli_jstr(c, "settled")));
      printf("\n");
    }
  }
  json_decref(out);
  json_decref(clocks);
  json_decref(v);
  free(chain.r);
  cli_record_cache_free(cache);
  return rc;
}

/* parley stats: the hub's statistics from metadata (its word, unsigned). */
int cmd_stats(int argc, char **argv) {
  const char *group = "instrument,kind", *format = "json";
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--group") && i + 1 < argc)
      group = argv[++i];
    else if (!strcmp(argv[i], "--format") && i + 1 < argc)
      format = argv[++i];
    else {
      puts("Usage: parley stats [--group instrument,kind,pair] [--format json|csv|svg]\n"
           "Requests per legal basis, kind and pair of states, from the hub's metadata:\n"
           "how many, acknowledged and how fast, with a status and how fast, overdue,\n"
           "treaty clocks met or lapsed, and outcomes (each request under the status of its\n"
           "latest status update, from signed headers). An operator sees the whole hub, an officer "
           "its\n"
           "state's own traffic. csv and svg (a bar chart) are printed as the hub sends them.");
      return strcmp(argv[i], "--help") == 0 ? 0 : 2;
    }
  }
  char path[256];
  if (strlen(group) > 64 || strspn(group, "abcdefghijklmnopqrstuvwxyz,") != strlen(group) ||
      strspn(format, "abcdefghijklmnopqrstuvwxyz") != strlen(format) || strlen(format) > 8)
    return cli_fail("stats: --group instrument,kind,pair and --format json, csv or svg");
  snprintf(path, sizeof path, "/v1/stats?group=%s&format=%s", group, format);
  parley_identity id;
  if (cli_load_identity(&id)) return 1;
  cli_response r;
  int rc = cli_http("GET", path, NULL, 0, &id, &r);
  parley_identity_wipe(&id);
  if (rc) return rc;
  if (r.status != 200) {
    rc = cli_print_http_error(&r);
  } else if (!strcmp(format, "json")) {
    json_t *v = cli_response_json(&r);
    if (v) cli_print_json(stdout, v, JSON_INDENT(2));
    rc = v ? 0 : 1;
    json_decref(v);
  } else {
    fwrite(r.body, 1, r.len, stdout);
  }
  cli_response_free(&r);
  return rc;
}
