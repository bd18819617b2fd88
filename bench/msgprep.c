/* msgprep: seals N distinct envelopes for the messaging benchmark, with libparley as a
 * real client would. The sender is an officer key file; the recipients are POCs of
 * another state, whose encryption keys are taken from that state's signed record after
 * parley_record_verify with its root key. Every envelope has its own id (UUIDv7), a
 * notification whose summary is padded so that the envelope's JSON (JCS, as POSTed) is
 * about --size bytes. Output: a file of bodies, each a 4-byte big-endian length then
 * the bytes, which `loadgen --bodies` reads. Sealing runs on --threads threads before
 * any timed run. Prints one JSON line. */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "parley/base.h"
#include "parley/crypto.h"
#include "parley/envelope.h"
#include "parley/json.h"
#include "parley/proto.h"

#define MAX_COUNT 2000000u
#define MAX_THREADS 16
#define MAX_SUMMARY 4000 /* the notification template's limit */

__attribute__((format(printf, 1, 2), noreturn)) static void die(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("msgprep: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
  exit(2);
}

static unsigned long parse_ulong(const char *s, unsigned long max, const char *what) {
  char *end;
  errno = 0;
  unsigned long v = strtoul(s, &end, 10);
  if (errno || end == s || *end || v == 0 || v > max) die("bad %s: %s", what, s);
  return v;
}

static char *slurp(const char *path, size_t max, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) die("cannot open %s", path);
  char *buf = malloc(max + 1);
  if (!buf) die("out of memory");
  size_t n = fread(buf, 1, max + 1, f);
  fclose(f);
  if (n > max) die("%s is larger than %zu bytes", path, max);
  buf[n] = 0;
  *len = n;
  return buf;
}

static struct {
  const parley_identity *sender;
  const char *from_state, *from_poc;
  parley_envelope_recipient rcpt[PARLEY_MAX_RECIPIENTS];
  size_t n_rcpt;
  size_t summary_len;
} S;

typedef struct {
  size_t from, to;
  char **bodies;
  size_t *lens;
} job;

/* One sealed envelope as JCS; exits on failure (the inputs were checked already). */
static char *seal_one(size_t summary_len, size_t *len) {
  char *summary = malloc(summary_len + 1);
  if (!summary) die("out of memory");
  for (size_t i = 0; i < summary_len; i++)
    summary[i] = (char)('a' + i % 26);
  summary[summary_len] = 0;
  json_t *content = json_pack("{s:s,s:s,s:s,s:s,s:s}", "incident_class", "intrusions", "summary",
                              summary, "affected_sectors", "energy", "indicators", "198.51.100.7",
                              "first_seen", "2026-11-20");
  free(summary);
  if (!content) die("out of memory");
  parley_envelope_params p = {.kind = "notification",
                              .priority = PARLEY_PRIORITY_ROUTINE,
                              .tlp = PARLEY_TLP_AMBER,
                              .from_state = S.from_state,
                              .from_poc = S.from_poc,
                              .language = "en",
                              .n_recipients = S.n_rcpt,
                              .recipients = S.rcpt};
  json_t *env = NULL;
  parley_error err;
  if (parley_envelope_seal(&p, content, S.sender, &env, &err) != PARLEY_E_OK)
    die("sealing failed: %s", err.detail);
  json_decref(content);
  parley_buf b;
  parley_buf_init(&b, PARLEY_ENVELOPE_MAX_BYTES);
  if (parley_jcs(env, &b, &err) != PARLEY_E_OK) die("JCS failed: %s", err.detail);
  json_decref(env);
  return parley_buf_steal(&b, len);
}

static void *worker(void *arg) {
  job *j = arg;
  for (size_t i = j->from; i < j->to; i++) {
    j->bodies[i] = seal_one(S.summary_len, &j->lens[i]);
    if (!j->bodies[i]) die("out of memory");
  }
  return NULL;
}

static void usage(void) {
  fprintf(stderr, "usage: msgprep --key SENDER.key --from STATE/POC --record RECORD.json\n"
                  "               --root ROOT.key.pub --to POC[,POC...] --count N --out FILE\n"
                  "               [--size BYTES (2048)] [--threads T (cores)]\n");
  exit(2);
}

int main(int argc, char **argv) {
  const char *key = NULL, *from = NULL, *record = NULL, *root = NULL, *to = NULL, *out = NULL;
  size_t count = 0, size = 2048;
  long nproc = sysconf(_SC_NPROCESSORS_ONLN);
  unsigned threads = nproc > 0 && nproc <= MAX_THREADS ? (unsigned)nproc : 2;
  static const struct option lo[] = {
      {"key", required_argument, 0, 'k'},     {"from", required_argument, 0, 'f'},
      {"record", required_argument, 0, 'r'},  {"root", required_argument, 0, 'R'},
      {"to", required_argument, 0, 't'},      {"count", required_argument, 0, 'n'},
      {"out", required_argument, 0, 'o'},     {"size", required_argument, 0, 's'},
      {"threads", required_argument, 0, 'T'}, {0, 0, 0, 0}};
  int ch;
  while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1) {
    switch (ch) {
    case 'k':
      key = optarg;
      break;
    case 'f':
      from = optarg;
      break;
    case 'r':
      record = optarg;
      break;
    case 'R':
      root = optarg;
      break;
    case 't':
      to = optarg;
      break;
    case 'n':
      count = parse_ulong(optarg, MAX_COUNT, "--count");
      break;
    case 'o':
      out = optarg;
      break;
    case 's':
      size = parse_ulong(optarg, 1u << 20, "--size");
      break;
    case 'T':
      threads = (unsigned)parse_ulong(optarg, MAX_THREADS, "--threads");
      break;
    default:
      usage();
    }
  }
  if (!key || !from || !record || !root || !to || !out || !count || optind != argc) usage();
  if (!parley_init()) die("cannot initialise libsodium");

  parley_identity id;
  parley_error err;
  if (parley_identity_load(key, NULL, &id, &err) != PARLEY_E_OK)
    die("cannot load %s: %s", key, err.detail);
  S.sender = &id;
  static char from_buf[128];
  if (!parley_strlcpy(from_buf, from, sizeof from_buf)) die("--from too long");
  char *slash = strchr(from_buf, '/');
  if (!slash || slash == from_buf || !slash[1]) die("--from must be STATE/POC");
  *slash = 0;
  S.from_state = from_buf;
  S.from_poc = slash + 1;

  /* The recipients' encryption keys, from their state's verified record. */
  parley_public_identity root_pub;
  if (parley_public_load(root, &root_pub, &err) != PARLEY_E_OK)
    die("cannot load %s: %s", root, err.detail);
  size_t rec_len;
  char *rec_text = slurp(record, 1u << 20, &rec_len);
  json_t *rec = NULL;
  if (parley_json_parse_object(rec_text, rec_len, NULL, &rec, &err) != PARLEY_E_OK)
    die("%s: %s", record, err.detail);
  free(rec_text);
  static parley_record_info info;
  if (parley_record_verify(rec, &root_pub.sign_pk, parley_now(), &info, &err) != PARLEY_E_OK)
    die("%s does not verify: %s", record, err.detail);
  json_decref(rec);
  static char to_buf[1024];
  if (!parley_strlcpy(to_buf, to, sizeof to_buf)) die("--to too long");
  for (char *p = to_buf, *next; p && *p; p = next) {
    next = strchr(p, ',');
    if (next) *next++ = 0;
    if (S.n_rcpt == PARLEY_MAX_RECIPIENTS) die("too many recipients");
    size_t k = 0;
    while (k < info.n_pocs && strcmp(info.pocs[k].id, p) != 0)
      k++;
    if (k == info.n_pocs) die("POC %s is not in %s's record", p, info.state);
    S.rcpt[S.n_rcpt].state = info.state;
    S.rcpt[S.n_rcpt].poc = info.pocs[k].id;
    S.rcpt[S.n_rcpt].box_pk = info.pocs[k].box_pk;
    S.n_rcpt++;
  }
  if (!S.n_rcpt) die("--to names no POC");

  /* Pad the summary until the envelope is --size bytes (base64 grows by 4/3). */
  S.summary_len = 1;
  size_t len = 0;
  for (int round = 0; round < 8; round++) {
    char *e = seal_one(S.summary_len, &len);
    free(e);
    if (len == size) break;
    long long want = (long long)S.summary_len + ((long long)size - (long long)len) * 3 / 4;
    if (want < 1) want = 1;
    if (want > MAX_SUMMARY) want = MAX_SUMMARY;
    if ((size_t)want == S.summary_len) break;
    S.summary_len = (size_t)want;
  }

  char **bodies = calloc(count, sizeof *bodies);
  size_t *lens = calloc(count, sizeof *lens);
  if (!bodies || !lens) die("out of memory");
  if (threads > count) threads = (unsigned)count;
  pthread_t th[MAX_THREADS];
  job jobs[MAX_THREADS];
  uint64_t t0 = parley_mono_ns();
  for (unsigned t = 0; t < threads; t++) {
    jobs[t] = (job){count * t / threads, count * (t + 1) / threads, bodies, lens};
    if (pthread_create(&th[t], NULL, worker, &jobs[t]) != 0) die("pthread_create failed");
  }
  for (unsigned t = 0; t < threads; t++)
    pthread_join(th[t], NULL);
  double secs = (double)(parley_mono_ns() - t0) / 1e9;
  parley_identity_wipe(&id);

  /* The first envelope's id, for a recipient to read it back with the real CLI. */
  char first_id[PARLEY_UUID_LEN] = "";
  json_t *first = json_loadb(bodies[0], lens[0], 0, NULL);
  const char *fid = json_string_value(json_object_get(first, "id"));
  if (!fid || !parley_strlcpy(first_id, fid, sizeof first_id)) die("sealed envelope without id");
  /* base64url without padding: 4 characters per 3 bytes */
  size_t ct_bytes = json_string_length(json_object_get(first, "ciphertext")) * 3 / 4;
  json_decref(first);
  FILE *f = fopen(out, "wb");
  if (!f) die("cannot create %s", out);
  size_t total = 0, min = SIZE_MAX, max = 0;
  for (size_t i = 0; i < count; i++) {
    uint8_t hdr[4] = {(uint8_t)(lens[i] >> 24), (uint8_t)(lens[i] >> 16), (uint8_t)(lens[i] >> 8),
                      (uint8_t)lens[i]};
    if (fwrite(hdr, 1, 4, f) != 4 || fwrite(bodies[i], 1, lens[i], f) != lens[i])
      die("cannot write %s", out);
    total += lens[i];
    if (lens[i] < min) min = lens[i];
    if (lens[i] > max) max = lens[i];
    free(bodies[i]);
  }
  if (fclose(f) != 0) die("cannot write %s", out);
  free(bodies);
  free(lens);
  printf("{\"envelopes\":%zu,\"recipients\":%zu,\"envelope_bytes_avg\":%.0f,"
         "\"envelope_bytes_min\":%zu,\"envelope_bytes_max\":%zu,\"summary_bytes\":%zu,"
         "\"ciphertext_bytes\":%zu,\"threads\":%u,\"seal_s\":%.3f,\"seals_per_s\":%.0f,"
         "\"first_id\":\"%s\"}\n",
         count, S.n_rcpt, (double)total / (double)count, min, max, S.summary_len, ct_bytes, threads,
         secs, (double)count / (secs > 0 ? secs : 1e-9), first_id);
  return 0;
}
