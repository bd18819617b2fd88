/* parleyd configuration: defaults, then a "key = value" file, then flags. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hub.h"

void parleyd_config_defaults(parleyd_config *c) {
  memset(c, 0, sizeof *c);
  parley_strlcpy(c->listen_addr, "127.0.0.1", sizeof c->listen_addr);
  c->port = 8440;
  parley_strlcpy(c->data_dir, "parley-data", sizeof c->data_dir);
  parley_strlcpy(c->origin, "parley.localhost", sizeof c->origin);
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  c->threads = n > 0 && n < 64 ? (unsigned)n : 2;
  c->max_body = 2 << 20; /* an envelope may carry up to 1 MiB of ciphertext */
  c->max_url = 2048;
  c->max_header = 32 * 1024;
  c->max_conn_per_ip = 64;
  c->max_connections = 1024;
  c->timeout_s = 30;
  c->stream_keepalive_s = 15;
  c->max_streams = 512; /* half the connections: streams never take every one */
  c->max_streams_per_key = 4;
  c->sig_window_s = 300;
  c->checkpoint_interval_s = 5;
  c->log_level = PARLEY_LOG_INFO;
  parley_strlcpy(c->smtp_from, "parley-hub@localhost", sizeof c->smtp_from);
  c->ack_deadline_s[0] = 24 * 3600; /* routine */
  c->ack_deadline_s[1] = 4 * 3600;  /* urgent */
  c->ack_deadline_s[2] = 3600;      /* critical */
  c->escalation_step_s = 900;
  /* Treaty clocks (docs/protocol.md §10.1): the treaties' figures where they give one. */
  c->preservation_s = 60 * 86400;         /* UN Art. 42(7), Budapest Art. 29(7): >= 60 days */
  c->preservation_reminder_s = 7 * 86400; /* hub policy */
  c->production_order_s = 45 * 86400;     /* Second Protocol Art. 8(6): 45 days at most */
  c->oral_confirmation_s = 3 * 86400;     /* hub policy: "forthwith" (UN Art. 40(14)) */
  c->emergency_response_s = 86400;        /* hub policy: no figure in Art. 9 or 10 */
  c->respond_by_reminder_s = 2 * 86400;   /* hub policy */
  c->scheduler_tick_ms = 1000;
  c->stale_check_s = 86400;
  /* Alerts and webhooks. */
  c->webhook_timeout_s = 5;
  c->webhook_workers = 4;
  c->webhook_queue = 100;
  c->notify_queue = 10000;
  c->key_rate = 100;
  c->key_burst = 1000;
  c->key_nonces = 50000; /* 2.9 M nonces fill the shared table: it takes 58 keys */
  c->state_bytes_per_day = 256ull << 20;
  c->max_streams_per_state = 32;
  c->sig_future_s = 30;
  c->stream_recheck_s = 30;
  c->evidence_state_bytes = 256ull << 30;
  c->evidence_state_uploads = 8;
  /* web app: the build's output folder unless configured */
#ifdef PARLEYD_WEB_DIR_DEFAULT
  parley_strlcpy(c->web_dir, PARLEYD_WEB_DIR_DEFAULT, sizeof c->web_dir);
#endif
}

static bool parse_uint(const char *v, uint64_t lo, uint64_t hi, uint64_t *out) {
  uint64_t x;
  if (!parley_parse_u64(v, &x) || x < lo || x > hi) return false;
  *out = x;
  return true;
}

/* One setting; the same names serve the file ("max_body = 1048576") and the flags
 * ("--max-body 1048576"). */
static parley_err set_option(parleyd_config *c, const char *key, const char *v, parley_error *err) {
  uint64_t x;
#define STR(name, field)                                                                           \
  if (strcmp(key, name) == 0) {                                                                    \
    if (!parley_strlcpy(c->field, v, sizeof c->field))                                             \
      return parley_fail(err, PARLEY_E_CONFIG, "%s: value too long", name);                        \
    return PARLEY_E_OK;                                                                            \
  }
#define NUM(name, field, lo, hi)                                                                   \
  if (strcmp(key, name) == 0) {                                                                    \
    if (!parse_uint(v, lo, hi, &x))                                                                \
      return parley_fail(err, PARLEY_E_CONFIG, "%s: expected an integer in %llu..%llu", name,      \
                         (unsigned long long)(lo), (unsigned long long)(hi));                      \
    c->field = x;                                                                                  \
    return PARLEY_E_OK;                                                                            \
  }
  STR("listen", listen_addr)
  NUM("port", port, 0, 65535)
  STR("data_dir", data_dir)
  STR("store", store_url)
  STR("origin", origin)
  STR("public_url", public_url)
  STR("hub_key", hub_key_file)
  NUM("threads", threads, 1, 64)
  NUM("max_body", max_body, 1024, 64 << 20)
  NUM("max_url", max_url, 64, 65536)
  NUM("max_header", max_header, 4096, 1 << 20)
  NUM("max_conn_per_ip", max_conn_per_ip, 1, 100000)
  NUM("max_connections", max_connections, 1, 100000)
  NUM("timeout", timeout_s, 1, 3600)
  NUM("stream_keepalive", stream_keepalive_s, 1, 3600)
  NUM("max_streams", max_streams, 1, 100000)
  NUM("max_streams_per_key", max_streams_per_key, 1, 1000)
  NUM("signature_window", sig_window_s, 5, 86400)
  NUM("checkpoint_interval", checkpoint_interval_s, 1, 86400)
  STR("smtp_url", smtp_url)
  STR("smtp_from", smtp_from)
  NUM("ack_routine", ack_deadline_s[0], 1, 30 * 86400)
  NUM("ack_urgent", ack_deadline_s[1], 1, 30 * 86400)
  NUM("ack_critical", ack_deadline_s[2], 1, 30 * 86400)
  NUM("escalation_step", escalation_step_s, 1, 86400)
  NUM("preservation_period", preservation_s, 1, 3660 * 86400)
  NUM("preservation_reminder", preservation_reminder_s, 0, 366 * 86400)
  NUM("production_order_period", production_order_s, 1, 366 * 86400)
  NUM("oral_confirmation", oral_confirmation_s, 1, 366 * 86400)
  NUM("emergency_response", emergency_response_s, 1, 366 * 86400)
  NUM("respond_by_reminder", respond_by_reminder_s, 0, 366 * 86400)
  NUM("scheduler_tick_ms", scheduler_tick_ms, 10, 60000)
  NUM("stale_check", stale_check_s, 0, 366 * 86400)
  /* Alerts and webhooks. */
  NUM("webhook_timeout", webhook_timeout_s, 1, 60)
  NUM("webhook_workers", webhook_workers, 1, 64)
  NUM("webhook_queue", webhook_queue, 1, 100000)
  NUM("notify_queue", notify_queue, 1, 1000000)
  if (strcmp(key, "webhook_allow_loopback_http") == 0 ||
      strcmp(key, "webhook_allow_private") == 0) {
    bool yes = strcmp(v, "yes") == 0 || strcmp(v, "1") == 0 || strcmp(v, "true") == 0;
    if (!yes && strcmp(v, "no") && strcmp(v, "0") && strcmp(v, "false"))
      return parley_fail(err, PARLEY_E_CONFIG, "%s: yes or no", key);
    if (strcmp(key, "webhook_allow_loopback_http") == 0)
      c->webhook_allow_loopback_http = yes;
    else
      c->webhook_allow_private = yes;
    return PARLEY_E_OK;
  }
  NUM("key_rate", key_rate, 0, 10000000)
  NUM("key_burst", key_burst, 1, 10000000)
  NUM("key_nonces", key_nonces, 0, 100000000)
  NUM("state_bytes_per_day", state_bytes_per_day, 0, 1ull << 50)
  NUM("max_streams_per_state", max_streams_per_state, 1, 100000)
  NUM("signature_future", sig_future_s, 0, 300)
  NUM("stream_recheck", stream_recheck_s, 1, 3600)
  STR("evidence_dir", evidence_dir)
  NUM("evidence_state_bytes", evidence_state_bytes, 0, 1ull << 50)
  NUM("evidence_state_uploads", evidence_state_uploads, 0, 100000)
  STR("web_dir", web_dir)
  STR("signer", signer_socket)
  STR("cosigned_checkpoint", cosigned_checkpoint)
#undef STR
#undef NUM
  if (strcmp(key, "operator_key") == 0) {
    if (c->n_operator_keys >= sizeof c->operator_keys / sizeof c->operator_keys[0])
      return parley_fail(err, PARLEY_E_CONFIG, "operator_key: at most 8");
    if (!parley_strlcpy(c->operator_keys[c->n_operator_keys], v, sizeof c->operator_keys[0]))
      return parley_fail(err, PARLEY_E_CONFIG, "operator_key: value too long");
    c->n_operator_keys++;
    return PARLEY_E_OK;
  }
  if (strcmp(key, "witness_key") == 0) {
    if (c->n_witness_keys >= sizeof c->witness_keys / sizeof c->witness_keys[0])
      return parley_fail(err, PARLEY_E_CONFIG, "witness_key: at most 8");
    parley_error sub;
    if (parley_cosig_verifier_parse(v, &c->witness_keys[c->n_witness_keys], &sub) != PARLEY_E_OK)
      return parley_fail(err, PARLEY_E_CONFIG, "witness_key: %s", sub.detail);
    c->n_witness_keys++;
    return PARLEY_E_OK;
  }
  if (strcmp(key, "insecure_hub_key") == 0) {
    c->insecure_hub_key = strcmp(v, "yes") == 0 || strcmp(v, "1") == 0 || strcmp(v, "true") == 0;
    return PARLEY_E_OK;
  }
  if (strcmp(key, "log_level") == 0) {
    static const char *levels[] = {"debug", "info", "warn", "error"};
    for (int i = 0; i < 4; i++)
      if (strcmp(v, levels[i]) == 0) {
        c->log_level = i;
        return PARLEY_E_OK;
      }
    return parley_fail(err, PARLEY_E_CONFIG, "log_level: debug, info, warn or error");
  }
  return parley_fail(err, PARLEY_E_CONFIG, "unknown setting '%s'", key);
}

static char *trim(char *s) {
  while (*s == ' ' || *s == '\t')
    s++;
  size_t n = strlen(s);
  while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' || s[n - 1] == '\n'))
    s[--n] = 0;
  return s;
}

parley_err parleyd_config_load_file(parleyd_config *c, const char *path, parley_error *err) {
  FILE *f = fopen(path, "r");
  if (!f) return parley_fail(err, PARLEY_E_CONFIG, "%s: %s", path, strerror(errno));
  char line[1024];
  unsigned lineno = 0;
  parley_err e = PARLEY_E_OK;
  while (fgets(line, sizeof line, f)) {
    lineno++;
    if (!strchr(line, '\n') && !feof(f)) {
      e = parley_fail(err, PARLEY_E_CONFIG, "%s:%u: line too long", path, lineno);
      break;
    }
    char *s = trim(line);
    if (*s == 0 || *s == '#') continue;
    char *eq = strchr(s, '=');
    if (!eq) {
      e = parley_fail(err, PARLEY_E_CONFIG, "%s:%u: expected key = value", path, lineno);
      break;
    }
    *eq = 0;
    parley_error sub;
    if (set_option(c, trim(s), trim(eq + 1), &sub) != PARLEY_E_OK) {
      e = parley_fail(err, PARLEY_E_CONFIG, "%s:%u: %s", path, lineno, sub.detail);
      break;
    }
  }
  fclose(f);
  return e;
}

static const char usage[] =
    "Usage: parleyd [OPTIONS]\n"
    "The Parley hub: directory, messages, transparency log, over HTTP.\n"
    "\n"
    "  -c, --config FILE            read settings from FILE (\"key = value\" lines;\n"
    "                               the keys are the long option names with '_')\n"
    "  -l, --listen ADDR            address to listen on (default 127.0.0.1)\n"
    "  -p, --port N                 TCP port (default 8440; 0 = pick a free one and\n"
    "                               print it)\n"
    "  -d, --data-dir DIR           data directory (default ./parley-data); the store\n"
    "                               and the hub key live here unless set otherwise\n"
    "      --store URL              store: sqlite:PATH (default sqlite:DIR/hub.db)\n"
    "      --origin NAME            hub origin name; names the transparency log\n"
    "      --public-url URL         base URL clients use (default http://LISTEN:PORT);\n"
    "                               request signatures cover it\n"
    "      --hub-key FILE           hub signing key (default DIR/hub.key; created if\n"
    "                               missing). Passphrase from PARLEYD_KEY_PASSPHRASE.\n"
    "      --operator-key PK        base64url Ed25519 public key of an operator\n"
    "                               (repeatable, up to 8)\n"
    "      --witness-key VKEY       cosignature verifier key of a witness whose\n"
    "                               cosignatures the hub accepts and serves\n"
    "                               (repeatable, up to 8)\n"
    "      --threads N              worker threads (default: number of cores)\n"
    "      --max-body BYTES         largest request body (default 2097152)\n"
    "      --max-url BYTES          longest request URL (default 2048)\n"
    "      --max-header BYTES       memory for a request's headers (default 32768)\n"
    "      --max-conn-per-ip N      concurrent connections per client IP (default 64)\n"
    "      --max-connections N      concurrent connections in all (default 1024)\n"
    "      --timeout SECONDS        idle connection timeout (default 30)\n"
    "      --stream-keepalive S     keep-alive comment on an idle event stream every S\n"
    "                               seconds (default 15)\n"
    "      --max-streams N          open event streams in all (default 512; keep it\n"
    "                               below --max-connections)\n"
    "      --max-streams-per-key N  open event streams per officer key (default 4)\n"
    "      --signature-window S     accepted age of a request signature (default 300)\n"
    "      --checkpoint-interval S  most frequent checkpoint signing (default 5)\n"
    "      --smtp-url URL           mail server for alerts, e.g. smtp://127.0.0.1:25\n"
    "                               (default: none, no e-mail alerts)\n"
    "      --smtp-from ADDR         sender address of alerts\n"
    "      --ack-routine S          acknowledgement deadline of routine messages\n"
    "                               (default 86400)\n"
    "      --ack-urgent S           ... of urgent messages (default 14400)\n"
    "      --ack-critical S         ... of critical messages (default 3600)\n"
    "      --escalation-step S      time between escalation alerts once a deadline\n"
    "                               has passed (default 900)\n"
    "      --preservation-period S  how long a preservation runs before it lapses\n"
    "                               without the mutual-assistance request that follows\n"
    "                               it (default 5184000: 60 days, UN Art. 42(7),\n"
    "                               Budapest Art. 29(7))\n"
    "      --preservation-reminder S  reminder to the requesting state this long\n"
    "                               before a preservation lapses (default 604800; 0: none)\n"
    "      --production-order-period S  time for the requested state's answer to a\n"
    "                               production order (default 3888000: 45 days, Second\n"
    "                               Protocol Art. 8(6))\n"
    "      --oral-confirmation S    time to confirm an oral request in writing\n"
    "                               (default 259200)\n"
    "      --emergency-response S   time for a first status on an emergency request\n"
    "                               (default 86400)\n"
    "      --respond-by-reminder S  reminder this long before a request's respond-by\n"
    "                               date (default 172800; 0: none)\n"
    "      --scheduler-tick-ms MS   how often deadlines are checked (default 1000)\n"
    "      --stale-check S          how often the POCs of records past their review\n"
    "                               date are e-mailed (default 86400; 0: never)\n"
    "      --insecure-hub-key       keep the hub key without a passphrase (tests and\n"
    "                               demo only)\n"
    "      --log-level LEVEL        debug, info, warn or error (default info)\n"
    "\n"
    "Alerts and webhooks (e-mail never waits behind a webhook; each webhook destination\n"
    "has its own queue; critical alerts go first; a failing destination backs off):\n"
    "      --webhook-timeout S      connect and POST timeout of a webhook (default 5)\n"
    "      --webhook-workers N      threads posting webhooks (default 4)\n"
    "      --webhook-queue N        queued alerts per webhook destination (default 100;\n"
    "                               beyond it the least urgent are dropped and counted)\n"
    "      --notify-queue N         queued alerts per channel, e-mail and webhooks\n"
    "                               (default 10000)\n"
    "      --webhook-allow-private  allow webhooks to private (10/8, 172.16/12,\n"
    "                               192.168/16, 100.64/10, fc00::/7) and loopback\n"
    "                               addresses (default: refused; link-local and\n"
    "                               reserved addresses are always refused)\n"
    "      --webhook-allow-loopback-http\n"
    "                               allow http:// webhooks whose host resolves to\n"
    "                               loopback only (tests; default: https only)\n"
    "  Budgets (429 with Retry-After when used up; 0 = unlimited):\n"
    "      --key-rate N             signed requests per second per key (default 100)\n"
    "      --key-burst N            ... allowed in a burst (default 1000)\n"
    "      --key-nonces N           unexpired request nonces held per key: a key's share\n"
    "                               of the hub's replay table (default 50000)\n"
    "      --state-bytes-per-day B  message body bytes accepted per state per UTC day\n"
    "                               (default 268435456)\n"
    "      --max-streams-per-state N\n"
    "                               open event streams of one state's keys, its\n"
    "                               share of --max-streams (default 32)\n"
    "      --signature-future S     how far ahead of the hub's clock a request\n"
    "                               signature's created may be (default 30)\n"
    "      --stream-recheck S       an open event stream re-checks its key every S\n"
    "                               seconds (default 30)\n"
    "      --web-dir DIR            folder of the built web app, served under /app/\n"
    "                               (default: the build's web output)\n"
    "      --evidence-dir DIR       evidence ciphertext with the SQLite store\n"
    "                               (default DATA_DIR/evidence)\n"
    "      --evidence-state-bytes N evidence ciphertext bytes stored per state\n"
    "                               (default 256 GiB; 0: unlimited)\n"
    "      --evidence-state-uploads N unfinished evidence uploads per state\n"
    "                               (default 8; 0: unlimited)\n"
    "      --signer SOCKET          ask parleyd-signer on this Unix socket for every\n"
    "                               hub-key signature; the key file is not opened\n"
    "      --cosigned-checkpoint FILE  where the newest witness-cosigned checkpoint is\n"
    "                               kept, outside the store (default\n"
    "                               DATA_DIR/cosigned-checkpoint.note): at start the\n"
    "                               store's log must extend it and the last checkpoint\n"
    "                               the signer signed, or parleyd refuses to serve it\n"
    "  -h, --help                   this help\n";

int parleyd_config_parse_args(parleyd_config *c, int argc, char **argv) {
  static const struct option opts[] = {
      {"config", required_argument, 0, 'c'},
      {"listen", required_argument, 0, 'l'},
      {"port", required_argument, 0, 'p'},
      {"data-dir", required_argument, 0, 'd'},
      {"store", required_argument, 0, 1},
      {"origin", required_argument, 0, 1},
      {"public-url", required_argument, 0, 1},
      {"hub-key", required_argument, 0, 1},
      {"operator-key", required_argument, 0, 1},
      {"witness-key", required_argument, 0, 1},
      {"threads", required_argument, 0, 1},
      {"max-body", required_argument, 0, 1},
      {"max-url", required_argument, 0, 1},
      {"max-header", required_argument, 0, 1},
      {"max-conn-per-ip", required_argument, 0, 1},
      {"max-connections", required_argument, 0, 1},
      {"timeout", required_argument, 0, 1},
      {"stream-keepalive", required_argument, 0, 1},
      {"max-streams", required_argument, 0, 1},
      {"max-streams-per-key", required_argument, 0, 1},
      {"signature-window", required_argument, 0, 1},
      {"checkpoint-interval", required_argument, 0, 1},
      {"log-level", required_argument, 0, 1},
      {"smtp-url", required_argument, 0, 1},
      {"smtp-from", required_argument, 0, 1},
      {"ack-routine", required_argument, 0, 1},
      {"ack-urgent", required_argument, 0, 1},
      {"ack-critical", required_argument, 0, 1},
      {"escalation-step", required_argument, 0, 1},
      {"preservation-period", required_argument, 0, 1},
      {"preservation-reminder", required_argument, 0, 1},
      {"production-order-period", required_argument, 0, 1},
      {"oral-confirmation", required_argument, 0, 1},
      {"emergency-response", required_argument, 0, 1},
      {"respond-by-reminder", required_argument, 0, 1},
      {"scheduler-tick-ms", required_argument, 0, 1},
      {"stale-check", required_argument, 0, 1},
      {"key-rate", required_argument, 0, 1},
      {"key-burst", required_argument, 0, 1},
      {"key-nonces", required_argument, 0, 1},
      {"state-bytes-per-day", required_argument, 0, 1},
      {"max-streams-per-state", required_argument, 0, 1},
      {"signature-future", required_argument, 0, 1},
      {"stream-recheck", required_argument, 0, 1},
      {"insecure-hub-key", no_argument, 0, 2},
      /* Alerts and webhooks. */
      {"webhook-allow-loopback-http", no_argument, 0, 3},
      {"webhook-allow-private", no_argument, 0, 3},
      {"webhook-timeout", required_argument, 0, 1},
      {"webhook-workers", required_argument, 0, 1},
      {"webhook-queue", required_argument, 0, 1},
      {"notify-queue", required_argument, 0, 1},
      {"web-dir", required_argument, 0, 1},
      {"evidence-dir", required_argument, 0, 1},
      {"evidence-state-bytes", required_argument, 0, 1},
      {"evidence-state-uploads", required_argument, 0, 1},
      {"signer", required_argument, 0, 1},
      {"cosigned-checkpoint", required_argument, 0, 1},
      {"help", no_argument, 0, 'h'},
      {0, 0, 0, 0},
  };
  /* A config file is read first, wherever -c appears, so that flags override it. */
  for (int i = 1; i < argc - 1; i++) {
    if (strcmp(argv[i], "-c") == 0 || strcmp(argv[i], "--config") == 0) {
      parley_error err;
      if (parleyd_config_load_file(c, argv[i + 1], &err) != PARLEY_E_OK) {
        fprintf(stderr, "parleyd: %s\n", err.detail);
        return -1;
      }
    }
  }
  int ch, idx = 0;
  optind = 1;
  while ((ch = getopt_long(argc, argv, "c:l:p:d:h", opts, &idx)) != -1) {
    const char *key = NULL;
    char name[64];
    switch (ch) {
    case 'c':
      continue;
    case 'l':
      key = "listen";
      break;
    case 'p':
      key = "port";
      break;
    case 'd':
      key = "data_dir";
      break;
    case 1:
    case 3: {
      parley_strlcpy(name, opts[idx].name, sizeof name);
      for (char *q = name; *q; q++)
        if (*q == '-') *q = '_';
      key = name;
      break;
    }
    case 2:
      c->insecure_hub_key = true;
      continue;
    case 'h':
      fputs(usage, stdout);
      return 1;
    default:
      fputs(usage, stderr);
      return -1;
    }
    parley_error err;
    if (set_option(c, key, ch == 3 ? "yes" : optarg, &err) != PARLEY_E_OK) {
      fprintf(stderr, "parleyd: %s\n", err.detail);
      return -1;
    }
  }
  if (optind < argc) {
    fprintf(stderr, "parleyd: unexpected argument '%s'\n%s", argv[optind], usage);
    return -1;
  }
  return 0;
}

parley_err parleyd_config_finish(parleyd_config *c, parley_error *err) {
  if (!c->store_url[0]) {
    int n = snprintf(c->store_url, sizeof c->store_url, "sqlite:%s/hub.db", c->data_dir);
    if (n < 0 || (size_t)n >= sizeof c->store_url)
      return parley_fail(err, PARLEY_E_CONFIG, "data_dir too long");
  }
  if (!c->evidence_dir[0]) {
    int n = snprintf(c->evidence_dir, sizeof c->evidence_dir, "%s/evidence", c->data_dir);
    if (n < 0 || (size_t)n >= sizeof c->evidence_dir)
      return parley_fail(err, PARLEY_E_CONFIG, "data_dir too long");
  }
  if (!c->hub_key_file[0]) {
    int n = snprintf(c->hub_key_file, sizeof c->hub_key_file, "%s/hub.key", c->data_dir);
    if (n < 0 || (size_t)n >= sizeof c->hub_key_file)
      return parley_fail(err, PARLEY_E_CONFIG, "data_dir too long");
  }
  if (!c->cosigned_checkpoint[0]) {
    int n = snprintf(c->cosigned_checkpoint, sizeof c->cosigned_checkpoint,
                     "%s/cosigned-checkpoint.note", c->data_dir);
    if (n < 0 || (size_t)n >= sizeof c->cosigned_checkpoint)
      return parley_fail(err, PARLEY_E_CONFIG, "data_dir too long");
  }
  size_t n = strlen(c->public_url);
  while (n && c->public_url[n - 1] == '/')
    c->public_url[--n] = 0;
  return PARLEY_E_OK;
}
