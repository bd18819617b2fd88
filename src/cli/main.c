/* parley: the command-line client of a Parley hub. */
#include <curl/curl.h>
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"

cli_config cli;

static const cli_command commands[] = {
    {"keygen", cmd_keygen, "create a signing + encryption key pair"},
    {"key show", cmd_key_show, "show a key file's public keys, key id and fingerprint"},
    {"api", cmd_api, "send a signed request to the hub and print the answer"},
    {"admin state add", cmd_admin_state_add, "operator: onboard a state and pin its root key"},
    {"admin state suspend", cmd_admin_state_suspend, "operator: suspend a state"},
    {"admin state activate", cmd_admin_state_activate, "operator: re-activate a state"},
    {"admin state set-root", cmd_admin_state_set_root,
     "operator: replace a state's lost root key (logged)"},
    {"admin ping schedule", cmd_admin_ping_schedule, "operator: start a communication check"},
    {"admin ping status", cmd_admin_ping_status, "operator: list checks and response rates"},
    {"admin ping report", cmd_admin_ping_report, "operator: a round's figures, or the trend"},
    {"state init", cmd_state_init, "start a new state record (unsigned)"},
    {"state rotate-root", cmd_state_rotate_root, "replace the root key, signed by the current one"},
    {"state poc add", cmd_state_poc_add, "add or update a point of contact in a record"},
    {"state cooperation", cmd_state_cooperation,
     "add an instrument to a record's cooperation profile"},
    {"state sign", cmd_state_sign, "sign a record with the state's root key (local)"},
    {"state publish", cmd_state_publish, "publish a signed record to the hub"},
    {"directory list", cmd_directory_list, "list the states in the directory"},
    {"directory show", cmd_directory_show, "show and verify a state's record"},
    {"directory search", cmd_directory_search, "find POCs by state, region, role, language, name"},
    {"directory export", cmd_directory_export, "export the directory (json, csv, vcard)"},
    {"directory trust", cmd_directory_trust,
     "pin a state's root key after checking its fingerprint out of band"},
    {"send", cmd_send, "seal, sign and send a message"},
    {"inbox", cmd_inbox,
     "list messages addressed to you (--sent: sent by you; --follow: as they arrive)"},
    {"read", cmd_read, "verify, decrypt and show a message, in your language"},
    {"ack", cmd_ack, "acknowledge a message with a signed receipt"},
    {"reply", cmd_reply, "answer a message, in the same case"},
    {"case", cmd_case, "show the chain of a case: verified messages, statuses, clocks"},
    {"stats", cmd_stats, "request statistics per legal basis, kind and pair of states"},
    {"evidence send", cmd_evidence_send, "seal files for recipients and upload them (resumable)"},
    {"evidence list", cmd_evidence_list, "list evidence packages sent by or addressed to you"},
    {"evidence fetch", cmd_evidence_fetch, "download, verify and decrypt an evidence package"},
    {"evidence verify", cmd_evidence_verify, "check fetched files against the signed manifest"},
    {"evidence custody", cmd_evidence_custody, "verify and list a package's chain of custody"},
    {"evidence consent", cmd_evidence_consent,
     "as its sender, consent to sharing a package onward"},
    {"evidence share", cmd_evidence_share, "share a package onward with the sender's consent"},
    {"log checkpoint", cmd_log_checkpoint, "verify the hub's latest transparency-log checkpoint"},
    {"verify record", cmd_verify_record, "prove a state record is in the transparency log"},
    {"web", cmd_web, "serve the web app from this machine, checked against its SHA256SUMS"},
    {"witness init", cmd_witness_init, "create a witness (cosigner) key"},
    {"witness show", cmd_witness_show, "print a witness key's cosignature verifier key"},
    {"witness run", cmd_witness_run, "check the hub's log grows consistently and co-sign it"},
};
static const size_t n_commands = sizeof commands / sizeof commands[0];

static void usage(FILE *f) {
  fputs("Usage: parley [--hub URL] [--key FILE] [--config FILE] COMMAND [ARGS]\n"
        "The command-line client of a Parley hub.\n\n"
        "Options:\n"
        "  --hub URL       the hub, e.g. http://127.0.0.1:8440 (config: hub = URL)\n"
        "  --key FILE      your secret key file (config: key = FILE)\n"
        "  --config FILE   settings file (default $PARLEY_CONFIG or\n"
        "                  ~/.config/parley/config)\n"
        "  --ca-file FILE  CA certificates (PEM) to check the hub's TLS certificate with,\n"
        "                  instead of the system's (config: ca_file = FILE)\n"
        "  --json          machine-readable output where a command supports it\n\n"
        "Commands (each has --help):\n",
        f);
  for (size_t i = 0; i < n_commands; i++)
    fprintf(f, "  %-22s %s\n", commands[i].name, commands[i].summary);
  fputs("\nA key file's passphrase is read from PARLEY_PASSPHRASE or the terminal.\n", f);
}

static char *trim(char *s) {
  while (*s == ' ' || *s == '\t')
    s++;
  size_t n = strlen(s);
  while (n && strchr(" \t\r\n", s[n - 1]))
    s[--n] = 0;
  return s;
}

/* "hub = URL", "key = FILE", "home = DIR", "ca_file = FILE", "witness = VKEY" (repeatable) and
 * "witnesses_required = K" lines; a missing default file is fine. */
static int load_config(bool explicit) {
  FILE *f = fopen(cli.config_file, "r");
  if (!f) {
    if (!explicit && errno == ENOENT) return 0;
    return cli_fail("%s: %s", cli.config_file, strerror(errno));
  }
  char line[1024];
  int lineno = 0, rc = 0;
  while (fgets(line, sizeof line, f)) {
    lineno++;
    char *s = trim(line);
    if (!*s || *s == '#') continue;
    char *eq = strchr(s, '=');
    if (!eq) {
      rc = cli_fail("%s:%d: expected key = value", cli.config_file, lineno);
      break;
    }
    *eq = 0;
    char *k = trim(s), *v = trim(eq + 1);
    bool ok = true;
    if (strcmp(k, "hub") == 0) {
      if (!cli.hub[0]) ok = parley_strlcpy(cli.hub, v, sizeof cli.hub);
    } else if (strcmp(k, "key") == 0) {
      if (!cli.key_file[0]) ok = parley_strlcpy(cli.key_file, v, sizeof cli.key_file);
    } else if (strcmp(k, "home") == 0) {
      ok = parley_strlcpy(cli.home, v, sizeof cli.home);
    } else if (strcmp(k, "ca_file") == 0) {
      if (!cli.ca_file[0]) ok = parley_strlcpy(cli.ca_file, v, sizeof cli.ca_file);
    } else if (strcmp(k, "witness") == 0) {
      parley_cosig_verifier w;
      parley_error err;
      if (parley_cosig_verifier_parse(v, &w, &err) != PARLEY_E_OK) {
        rc = cli_fail("%s:%d: witness: %s", cli.config_file, lineno, err.detail);
        break;
      }
      bool dup = false;
      for (size_t i = 0; i < cli.n_witnesses; i++)
        dup = dup ||
              (cli.witnesses[i].key_id == w.key_id && strcmp(cli.witnesses[i].name, w.name) == 0);
      if (!dup && cli.n_witnesses == sizeof cli.witnesses / sizeof cli.witnesses[0]) {
        rc = cli_fail("%s:%d: witness: at most 8", cli.config_file, lineno);
        break;
      }
      if (!dup) cli.witnesses[cli.n_witnesses++] = w;
    } else if (strcmp(k, "witnesses_required") == 0) {
      uint64_t x;
      if (!parley_parse_u64(v, &x) || x > 8) {
        rc = cli_fail("%s:%d: witnesses_required: expected 0..8", cli.config_file, lineno);
        break;
      }
      cli.witnesses_required = (unsigned)x;
    } else {
      rc = cli_fail("%s:%d: unknown setting '%s'", cli.config_file, lineno, k);
      break;
    }
    if (!ok) {
      rc = cli_fail("%s:%d: value too long", cli.config_file, lineno);
      break;
    }
  }
  fclose(f);
  if (!rc && cli.witnesses_required > cli.n_witnesses)
    rc = cli_fail("%s: witnesses_required = %u but only %zu witness keys are configured",
                  cli.config_file, cli.witnesses_required, cli.n_witnesses);
  return rc;
}

int main(int argc, char **argv) {
  static const struct option opts[] = {
      {"hub", required_argument, 0, 'H'},
      {"key", required_argument, 0, 'k'},
      {"config", required_argument, 0, 'c'},
      {"json", no_argument, 0, 'j'},
      {"help", no_argument, 0, 'h'},
      {"ca-file", required_argument, 0, 'A'},
      {0, 0, 0, 0},
  };
  bool explicit_config = false;
  int ch;
  /* '+': stop at the first non-option, which is the command. */
  while ((ch = getopt_long(argc, argv, "+H:k:c:jh", opts, NULL)) != -1) {
    bool ok = true;
    switch (ch) {
    case 'H':
      ok = parley_strlcpy(cli.hub, optarg, sizeof cli.hub);
      break;
    case 'k':
      ok = parley_strlcpy(cli.key_file, optarg, sizeof cli.key_file);
      break;
    case 'c':
      ok = parley_strlcpy(cli.config_file, optarg, sizeof cli.config_file);
      explicit_config = true;
      break;
    case 'j':
      cli.json_output = true;
      break;
    case 'A':
      ok = parley_strlcpy(cli.ca_file, optarg, sizeof cli.ca_file);
      break;
    case 'h':
      usage(stdout);
      return 0;
    default:
      usage(stderr);
      return 2;
    }
    if (!ok) return cli_fail("option value too long");
  }
  const char *home = getenv("HOME");
  if (!cli.config_file[0]) {
    const char *env = getenv("PARLEY_CONFIG");
    if (env && *env) {
      parley_strlcpy(cli.config_file, env, sizeof cli.config_file);
      explicit_config = true;
    } else {
      snprintf(cli.config_file, sizeof cli.config_file, "%s/.config/parley/config",
               home ? home : ".");
    }
  }
  if (load_config(explicit_config)) return 1;
  if (!cli.home[0]) {
    /* State (pinned root keys, last checkpoint) lives beside the config file. */
    parley_strlcpy(cli.home, cli.config_file, sizeof cli.home);
    char *slash = strrchr(cli.home, '/');
    if (slash)
      *slash = 0;
    else
      parley_strlcpy(cli.home, ".", sizeof cli.home);
  }
  if (optind >= argc) {
    usage(stderr);
    return 2;
  }
  if (!parley_init()) return cli_fail("cannot initialise libsodium");
  umask(077);
  curl_global_init(CURL_GLOBAL_DEFAULT);
  /* Longest match of the command words ("key show", "admin state add"). */
  const cli_command *best = NULL;
  int best_words = 0;
  for (size_t i = 0; i < n_commands; i++) {
    char name[64];
    parley_strlcpy(name, commands[i].name, sizeof name);
    int words = 0;
    bool match = true;
    for (char *save = NULL, *w = strtok_r(name, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
      if (optind + words >= argc || strcmp(argv[optind + words], w) != 0) {
        match = false;
        break;
      }
      words++;
    }
    if (match && words > best_words) {
      best = &commands[i];
      best_words = words;
    }
  }
  int rc;
  if (!best) {
    cli_fail("unknown command '%s'", argv[optind]);
    usage(stderr);
    rc = 2;
  } else {
    /* The command sees argv starting at its last word, as getopt expects. */
    int first = optind + best_words - 1;
    optind = 0; /* 0, not 1: makes glibc's getopt reset its state (and permute again) */
    rc = best->run(argc - first, argv + first);
  }
  curl_global_cleanup();
  return rc;
}
