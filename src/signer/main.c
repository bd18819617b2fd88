/* parleyd-signer: holds the hub's private key in a process of its own and signs, over a
 * Unix socket, only typed requests each with its purpose: a checkpoint (signed note),
 * a hub statement (purpose "ping", or "evidence-custody" for what only the hub
 * witnesses) or a webhook body (purpose "webhook").
 *
 * A checkpoint is signed only as a proven extension of the last one this signer signed
 * (its size, root and text are kept in a state file, made durable before the signature
 * leaves): a smaller size, the same size with another text, or a larger size whose
 * consistency proof does not lead from the last root to the new one is refused. So a
 * compromised parleyd can get signatures for hub messages but cannot make the signer
 * fork the log or roll it back. The wire format is in wire.h. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "parley/base.h"
#include "parley/crypto.h"
#include "parley/proto.h"
#include "parley/tlog.h"
#include "wire.h"

typedef struct {
  char key_file[512];
  char socket_path[108];
  char state_file[512];
  char origin[PARLEY_CHECKPOINT_ORIGIN_MAX + 1];
  char passphrase_file[512];
  unsigned socket_mode;
  bool insecure_key;
} signer_config;

/* The last checkpoint signed. */
typedef struct {
  bool signed_one; /* false: nothing signed yet, any checkpoint is accepted */
  uint64_t size;
  uint8_t root[PARLEY_TLOG_HASH_LEN];
  uint8_t text_hash[32];
} signer_state;

static parley_identity key;
static signer_config cfg;
static signer_state last;
static volatile sig_atomic_t stopping;

static void on_stop(int sig) {
  (void)sig;
  stopping = 1;
}

/* ---- the state file ------------------------------------------------------------------ */

#define STATE_MAGIC "parley-signer-state v1"

static bool state_load(const char *path, signer_state *out, char *why, size_t why_len) {
  memset(out, 0, sizeof *out);
  FILE *f = fopen(path, "r");
  if (!f) {
    if (errno == ENOENT) return true;
    snprintf(why, why_len, "%s: %s", path, strerror(errno));
    return false;
  }
  char magic[64], root[64], th[80];
  unsigned long long size;
  bool ok = fscanf(f, "%63s %llu %63s %79s", magic, &size, root, th) == 4 &&
            strcmp(magic, STATE_MAGIC) == 0 && strlen(root) == 64 && strlen(th) == 64 &&
            parley_hex_decode(root, strlen(root), out->root, 32, NULL) == PARLEY_E_OK &&
            parley_hex_decode(th, strlen(th), out->text_hash, 32, NULL) == PARLEY_E_OK;
  fclose(f);
  if (!ok) {
    snprintf(why, why_len, "%s: not a signer state file", path);
    return false;
  }
  out->size = size;
  out->signed_one = true;
  return true;
}

/* Written to a temporary file, flushed, renamed over the old one, and the folder
 * flushed: after a crash the file holds the old state or the new one. */
static bool state_save(const char *path, const signer_state *s) {
  char tmp[600], root[65], th[65];
  if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp) return false;
  parley_hex_encode(s->root, 32, root, sizeof root);
  parley_hex_encode(s->text_hash, 32, th, sizeof th);
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return false;
  char line[256];
  int n = snprintf(line, sizeof line, "%s %llu %s %s\n", STATE_MAGIC, (unsigned long long)s->size,
                   root, th);
  bool ok = parley_signer_io(fd, line, (size_t)n, true) && fsync(fd) == 0;
  ok = close(fd) == 0 && ok;
  if (!ok || rename(tmp, path) != 0) return false;
  char dir[600];
  parley_strlcpy(dir, path, sizeof dir);
  char *slash = strrchr(dir, '/');
  if (slash) {
    *slash = 0;
    if (!dir[0]) parley_strlcpy(dir, "/", sizeof dir);
  } else {
    parley_strlcpy(dir, ".", sizeof dir);
  }
  int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) return false;
  ok = fsync(dfd) == 0;
  close(dfd);
  return ok;
}

/* ---- requests ------------------------------------------------------------------------ */

static json_t *refuse(const char *code, const char *fmt, ...) PARLEY_PRINTF(2, 3);
static json_t *refuse(const char *code, const char *fmt, ...) {
  char detail[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(detail, sizeof detail, fmt, ap);
  va_end(ap);
  parley_log(PARLEY_LOG_WARN, "signer.refused", "code=%s detail=\"%s\"", code, detail);
  return json_pack("{s:b,s:s,s:s}", "ok", 0, "code", code, "detail", detail);
}

static json_t *op_info(void) {
  char pk[PARLEY_KEY_B64_LEN], root[PARLEY_TLOG_HASH_LEN * 2 + 1];
  parley_sign_pk_to_b64(&key.sign_pk, pk);
  parley_hex_encode(last.root, 32, root, sizeof root);
  return json_pack("{s:b,s:s,s:s,s:b,s:I,s:s}", "ok", 1, "sign_pk", pk, "origin", cfg.origin,
                   "signed_one", last.signed_one, "size", (json_int_t)last.size, "root", root);
}

static json_t *op_checkpoint(const json_t *req) {
  const char *text = json_string_value(json_object_get(req, "text"));
  const json_t *proof_j = json_object_get(req, "proof");
  if (!text || (proof_j && !json_is_array(proof_j)))
    return refuse("SIGNER_REFUSED", "a checkpoint request carries text and proof");
  size_t text_len = strlen(text);
  parley_checkpoint cp;
  parley_error err;
  if (parley_checkpoint_parse(text, text_len, &cp, &err) != PARLEY_E_OK)
    return refuse("SIGNER_REFUSED", "not a checkpoint: %s", err.detail);
  if (strcmp(cp.origin, cfg.origin) != 0)
    return refuse("SIGNER_REFUSED", "origin %s is not this signer's (%s)", cp.origin, cfg.origin);
  uint8_t th[32];
  parley_hash h;
  parley_sha256(text, text_len, &h);
  memcpy(th, h.b, 32);
  if (last.signed_one && cp.size < last.size)
    return refuse("SIGNER_REFUSED",
                  "size %llu is below the last checkpoint signed (%llu): a rolled-back log",
                  (unsigned long long)cp.size, (unsigned long long)last.size);
  if (last.signed_one && cp.size == last.size && memcmp(th, last.text_hash, 32) != 0)
    return refuse(
        "SIGNER_REFUSED", "a checkpoint of size %llu with another %s was signed already: a fork",
        (unsigned long long)cp.size, memcmp(cp.root, last.root, 32) != 0 ? "root" : "text");
  if (cp.size > last.size && last.size > 0) {
    size_t n = json_array_size(proof_j);
    if (n > PARLEY_TLOG_MAX_PROOF) return refuse("SIGNER_REFUSED", "proof too long");
    uint8_t proof[PARLEY_TLOG_MAX_PROOF][PARLEY_TLOG_HASH_LEN];
    for (size_t i = 0; i < n; i++) {
      const char *s = json_string_value(json_array_get(proof_j, i));
      size_t got = 0;
      if (!s || parley_hex_decode(s, strlen(s), proof[i], 32, &got) != PARLEY_E_OK || got != 32)
        return refuse("SIGNER_REFUSED", "proof hash %zu is not 64 hex digits", i);
    }
    if (parley_tlog_verify_consistency(last.size, cp.size, last.root, cp.root, proof, n, &err) !=
        PARLEY_E_OK)
      return refuse("SIGNER_REFUSED",
                    "size %llu is not a proven extension of the last checkpoint signed (%llu): %s",
                    (unsigned long long)cp.size, (unsigned long long)last.size, err.detail);
  }
  signer_state next = {.signed_one = true, .size = cp.size};
  memcpy(next.root, cp.root, 32);
  memcpy(next.text_hash, th, 32);
  /* Durable before the signature leaves: a crash cannot let a fork through later. */
  if (!last.signed_one || next.size != last.size || memcmp(next.text_hash, last.text_hash, 32)) {
    if (!state_save(cfg.state_file, &next))
      return refuse("SIGNER_UNAVAILABLE", "cannot write %s: %s", cfg.state_file, strerror(errno));
    last = next;
  }
  parley_note_signer *ns = NULL;
  parley_buf note;
  parley_buf_init(&note, PARLEY_NOTE_MAX_LEN);
  json_t *ans = NULL;
  if (parley_note_signer_new(cfg.origin, key.sign_sk.b, &ns, &err) == PARLEY_E_OK &&
      parley_note_sign(ns, text, text_len, &note, &err) == PARLEY_E_OK)
    ans = json_pack("{s:b,s:s%}", "ok", 1, "note", (const char *)note.data, note.len);
  else
    ans = refuse("SIGNER_REFUSED", "%s", err.detail);
  parley_note_signer_free(ns);
  parley_buf_free(&note);
  parley_log(PARLEY_LOG_INFO, "signer.checkpoint", "size=%llu", (unsigned long long)cp.size);
  return ans;
}

static json_t *op_statement(const json_t *req) {
  const char *purpose = json_string_value(json_object_get(req, "purpose"));
  json_t *obj = json_object_get(req, "object");
  bool custody = purpose && strcmp(purpose, "evidence-custody") == 0;
  if (!purpose || (strcmp(purpose, "ping") != 0 && !custody))
    return refuse("SIGNER_REFUSED",
                  "statements are signed for purposes \"ping\" and \"evidence-custody\" only");
  if (!json_is_object(obj)) return refuse("SIGNER_REFUSED", "a statement is a JSON object");
  /* the hub witnesses custody events in its own name only (actor {"hub": key id}): it
   * never signs one as if a state's officer had acted */
  const json_t *actor = json_object_get(obj, "actor");
  if (custody && (!json_is_object(actor) || json_object_size(actor) != 1 ||
                  !json_is_string(json_object_get(actor, "hub"))))
    return refuse("SIGNER_REFUSED", "a custody event the hub signs names the hub as its actor");
  parley_error err;
  if (parley_signed_json_sign(obj, purpose, &key.sign_sk, &err) != PARLEY_E_OK)
    return refuse("SIGNER_REFUSED", "%s", err.detail);
  return json_pack("{s:b,s:O}", "ok", 1, "signature", json_object_get(obj, "signature"));
}

static json_t *op_webhook(const json_t *req) {
  const char *body = json_string_value(json_object_get(req, "body"));
  if (!body) return refuse("SIGNER_REFUSED", "a webhook request carries its body");
  parley_sig sig;
  char b64[PARLEY_SIG_B64_LEN];
  if (parley_sign(&key.sign_sk, "webhook", body, json_string_length(json_object_get(req, "body")),
                  &sig) != PARLEY_E_OK)
    return refuse("SIGNER_REFUSED", "cannot sign");
  parley_sig_to_b64(&sig, b64);
  return json_pack("{s:b,s:s}", "ok", 1, "signature", b64);
}

static json_t *answer(const char *frame, size_t len) {
  json_error_t je;
  json_t *req = json_loadb(frame, len, JSON_REJECT_DUPLICATES, &je);
  if (!json_is_object(req)) {
    json_decref(req);
    return refuse("SIGNER_REFUSED", "not a JSON object");
  }
  const char *op = json_string_value(json_object_get(req, "op"));
  json_t *ans;
  if (!op)
    ans = refuse("SIGNER_REFUSED", "no op");
  else if (strcmp(op, "info") == 0)
    ans = op_info();
  else if (strcmp(op, "checkpoint") == 0)
    ans = op_checkpoint(req);
  else if (strcmp(op, "statement") == 0)
    ans = op_statement(req);
  else if (strcmp(op, "webhook") == 0)
    ans = op_webhook(req);
  else
    ans = refuse("SIGNER_REFUSED", "unknown op %.40s", op);
  json_decref(req);
  return ans;
}

static void serve_one(int fd) {
  struct timeval tv = {5, 0}; /* a stalled client cannot hold the signer */
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  size_t len = 0;
  char *frame = parley_signer_recv(fd, &len);
  if (!frame) return;
  json_t *ans = answer(frame, len);
  free(frame);
  char *out = ans ? json_dumps(ans, JSON_COMPACT) : NULL;
  if (out) parley_signer_send(fd, out, strlen(out));
  free(out);
  json_decref(ans);
}

/* ---- start ---------------------------------------------------------------------------- */

static const char usage[] =
    "usage: parleyd-signer --origin NAME [options]\n"
    "  -d, --data-dir DIR      key, state and socket folder (default ./parley-data)\n"
    "      --origin NAME       the hub's log origin (as parleyd's --origin)\n"
    "      --hub-key FILE      hub key file (default DATA_DIR/hub.key; created if absent)\n"
    "      --socket PATH       Unix socket to listen on (default DATA_DIR/signer.sock)\n"
    "      --socket-mode MODE  octal permissions of the socket (default 0600)\n"
    "      --state FILE        last checkpoint signed (default DATA_DIR/signer-state)\n"
    "      --passphrase-file F the key's passphrase: F's first line (e.g. a systemd\n"
    "                          credential); else PARLEYD_KEY_PASSPHRASE holds it\n"
    "      --insecure-hub-key  key file without a passphrase (tests and demo only)\n";

static int parse_args(int argc, char **argv) {
  static const struct option opts[] = {{"data-dir", required_argument, 0, 'd'},
                                       {"origin", required_argument, 0, 'o'},
                                       {"hub-key", required_argument, 0, 'k'},
                                       {"socket", required_argument, 0, 's'},
                                       {"socket-mode", required_argument, 0, 'm'},
                                       {"state", required_argument, 0, 't'},
                                       {"insecure-hub-key", no_argument, 0, 'i'},
                                       {"passphrase-file", required_argument, 0, 'p'},
                                       {"help", no_argument, 0, 'h'},
                                       {0, 0, 0, 0}};
  char data_dir[400] = "parley-data";
  cfg.socket_mode = 0600;
  int ch;
  bool ok = true;
  while ((ch = getopt_long(argc, argv, "d:h", opts, NULL)) != -1) {
    switch (ch) {
    case 'd':
      ok = ok && parley_strlcpy(data_dir, optarg, sizeof data_dir);
      break;
    case 'o':
      ok = ok && parley_strlcpy(cfg.origin, optarg, sizeof cfg.origin);
      break;
    case 'k':
      ok = ok && parley_strlcpy(cfg.key_file, optarg, sizeof cfg.key_file);
      break;
    case 's':
      ok = ok && parley_strlcpy(cfg.socket_path, optarg, sizeof cfg.socket_path);
      break;
    case 't':
      ok = ok && parley_strlcpy(cfg.state_file, optarg, sizeof cfg.state_file);
      break;
    case 'm': {
      char *end;
      unsigned long m = strtoul(optarg, &end, 8);
      ok = ok && !*end && m <= 0777;
      cfg.socket_mode = (unsigned)m;
      break;
    }
    case 'p':
      ok = ok && parley_strlcpy(cfg.passphrase_file, optarg, sizeof cfg.passphrase_file);
      break;
    case 'i':
      cfg.insecure_key = true;
      break;
    case 'h':
      fputs(usage, stdout);
      return 1;
    default:
      fputs(usage, stderr);
      return -1;
    }
  }
  if (!ok || optind < argc || !cfg.origin[0]) {
    fputs(usage, stderr);
    return -1;
  }
  if (!cfg.key_file[0]) snprintf(cfg.key_file, sizeof cfg.key_file, "%s/hub.key", data_dir);
  if (!cfg.state_file[0])
    snprintf(cfg.state_file, sizeof cfg.state_file, "%s/signer-state", data_dir);
  if (!cfg.socket_path[0] && snprintf(cfg.socket_path, sizeof cfg.socket_path, "%s/signer.sock",
                                      data_dir) >= (int)sizeof cfg.socket_path) {
    fprintf(stderr, "parleyd-signer: socket path too long\n");
    return -1;
  }
  if (mkdir(data_dir, 0700) != 0 && errno != EEXIST) {
    fprintf(stderr, "parleyd-signer: %s: %s\n", data_dir, strerror(errno));
    return -1;
  }
  return 0;
}

static bool load_key(void) {
  static char from_file[1024];
  const char *pass = getenv("PARLEYD_KEY_PASSPHRASE");
  if (cfg.passphrase_file[0]) {
    FILE *f = fopen(cfg.passphrase_file, "r");
    if (!f || !fgets(from_file, sizeof from_file, f)) {
      fprintf(stderr, "parleyd-signer: %s: cannot read the passphrase\n", cfg.passphrase_file);
      if (f) fclose(f);
      return false;
    }
    fclose(f);
    from_file[strcspn(from_file, "\r\n")] = 0;
    pass = from_file;
  }
  if (pass && !*pass) pass = NULL;
  if (!pass && !cfg.insecure_key) {
    fprintf(stderr, "parleyd-signer: set PARLEYD_KEY_PASSPHRASE, or pass --insecure-hub-key\n");
    return false;
  }
  parley_error err;
  struct stat st;
  if (stat(cfg.key_file, &st) != 0 && errno == ENOENT) {
    parley_identity_generate(&key);
    if (parley_identity_save(cfg.key_file, &key, pass, &err) != PARLEY_E_OK) {
      fprintf(stderr, "parleyd-signer: %s\n", err.detail);
      return false;
    }
    parley_log(PARLEY_LOG_INFO, "signer.key_created", "file=%s", cfg.key_file);
    return true;
  }
  if (parley_identity_load(cfg.key_file, pass, &key, &err) != PARLEY_E_OK) {
    fprintf(stderr, "parleyd-signer: hub key: %s\n", err.detail);
    return false;
  }
  return true;
}

static int listen_on(const char *path) {
  struct sockaddr_un sa;
  memset(&sa, 0, sizeof sa);
  sa.sun_family = AF_UNIX;
  if (!parley_strlcpy(sa.sun_path, path, sizeof sa.sun_path)) return -1;
  struct stat st;
  if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode)) unlink(path);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  mode_t old = umask(0177); /* never reachable by others, even for an instant */
  int rc = bind(fd, (struct sockaddr *)&sa, sizeof sa);
  umask(old);
  if (rc != 0 || chmod(path, cfg.socket_mode) != 0 || listen(fd, 64) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

int main(int argc, char **argv) {
  int rc = parse_args(argc, argv);
  if (rc != 0) return rc > 0 ? 0 : 2;
  if (!parley_init()) return 1;
  umask(077);
  char why[600];
  if (!state_load(cfg.state_file, &last, why, sizeof why)) {
    fprintf(stderr, "parleyd-signer: %s\n", why);
    return 1;
  }
  if (!load_key()) return 1;
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_stop;
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  signal(SIGPIPE, SIG_IGN);
  int lfd = listen_on(cfg.socket_path);
  if (lfd < 0) {
    fprintf(stderr, "parleyd-signer: %s: %s\n", cfg.socket_path, strerror(errno));
    return 1;
  }
  char fpr[PARLEY_FINGERPRINT_HEX_LEN];
  parley_sign_pk_fingerprint(&key.sign_pk, fpr);
  parley_log(PARLEY_LOG_INFO, "signer.started",
             "socket=%s origin=%s last_size=%llu hub_key_fingerprint=%s", cfg.socket_path,
             cfg.origin, (unsigned long long)last.size, fpr);
  printf("parleyd-signer listening on %s\n", cfg.socket_path);
  fflush(stdout);
  while (!stopping) {
    struct pollfd p = {lfd, POLLIN, 0};
    if (poll(&p, 1, 500) <= 0) continue;
    int cfd = accept(lfd, NULL, NULL);
    if (cfd < 0) continue;
    serve_one(cfd);
    close(cfd);
  }
  close(lfd);
  unlink(cfg.socket_path);
  parley_identity_wipe(&key);
  parley_log(PARLEY_LOG_INFO, "signer.stopped", NULL);
  return 0;
}
