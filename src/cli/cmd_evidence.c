/* parley evidence send|list|fetch|verify|custody|consent|share: evidence packages
 * (docs/protocol.md, "Evidence packages"). Files are read, sealed, hashed, downloaded, checked and
 * decrypted one 1 MiB chunk at a time: nothing holds a whole file in memory. Uploads
 * follow tus 1.0 (resumable at the hub's durable offset), downloads HTTP ranges; every
 * request is signed (RFC 9421) like any other, and covers the tus headers. */
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "parley/directory.h"
#include "parley/evidence.h"
#include "parley/httpsig.h"
#include "parley/json.h"

#define RETRY_WINDOW_S 300 /* give up after this long without progress */

/* ---- progress ------------------------------------------------------------------ */

typedef struct {
  const char *what;
  uint64_t total, done, base;
  uint64_t t0_ns, last_ns;
  bool tty;
} progress;

static void progress_start(progress *p, const char *what, uint64_t total, uint64_t done) {
  memset(p, 0, sizeof *p);
  p->what = what;
  p->total = total;
  p->done = p->base = done;
  p->t0_ns = p->last_ns = parley_mono_ns();
  p->tty = isatty(2);
}

/* On a terminal a bar redrawn 5 times a second; otherwise one machine-readable line
 * every 5 seconds: "progress what=upload bytes=N total=M rate=B/s eta=S". */
static void progress_update(progress *p, uint64_t done, bool final) {
  p->done = done;
  uint64_t now = parley_mono_ns();
  uint64_t every = p->tty ? 200000000ull : 5000000000ull;
  const char *ms = getenv("PARLEY_PROGRESS_MS"); /* scripts and tests: another period */
  if (ms) {
    char *end;
    errno = 0;
    unsigned long v = strtoul(ms, &end, 10);
    if (!errno && end != ms && !*end && v > 0 && v <= 3600000) every = (uint64_t)v * 1000000ull;
  }
  if (!final && now - p->last_ns < every) return;
  p->last_ns = now;
  double s = (double)(now - p->t0_ns) / 1e9;
  double rate = s > 0 ? (double)(done - p->base) / s : 0;
  double eta = rate > 0 ? (double)(p->total - done) / rate : 0;
  if (p->tty) {
    int width = 30, fill = p->total ? (int)((double)done / (double)p->total * width) : width;
    char bar[64];
    for (int i = 0; i < width; i++)
      bar[i] = i < fill ? '#' : '.';
    bar[width] = 0;
    fprintf(stderr, "\r%s [%s] %.1f/%.1f MiB %.1f MiB/s %02d:%02d left ", p->what, bar,
            (double)done / 1048576, (double)p->total / 1048576, rate / 1048576, (int)eta / 60,
            (int)eta % 60);
    if (final) fputc('\n', stderr);
  } else {
    fprintf(stderr, "progress what=%s bytes=%llu total=%llu rate=%.0f eta=%.0f\n", p->what,
            (unsigned long long)done, (unsigned long long)p->total, rate, eta);
  }
}

/* At most limit bytes per second since the start (0: no limit): a thin link shared with
 * other work. Sleeps until the bytes done fit the rate. */
static void progress_limit(const progress *p, uint64_t done, uint64_t limit) {
  if (!limit || done <= p->base) return;
  uint64_t due_ns =
      (done - p->base) / limit * 1000000000ull + (done - p->base) % limit * 1000000000ull / limit;
  uint64_t spent = parley_mono_ns() - p->t0_ns;
  if (due_ns <= spent) return;
  uint64_t wait = due_ns - spent;
  struct timespec ts = {(time_t)(wait / 1000000000ull), (long)(wait % 1000000000ull)};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

/* ---- signed requests with tus headers -------------------------------------------- */

typedef struct {
  const char *content_digest, *upload_offset, *upload_length, *tus, *range;
} ev_headers;

static const char *ev_lookup(void *ctx, const char *name) {
  ev_headers *h = ctx;
  if (!strcmp(name, "content-digest")) return h->content_digest;
  if (!strcmp(name, "upload-offset")) return h->upload_offset;
  if (!strcmp(name, "upload-length")) return h->upload_length;
  if (!strcmp(name, "tus-resumable")) return h->tus;
  if (!strcmp(name, "range")) return h->range;
  return NULL;
}

typedef struct {
  long status;
  char upload_offset[32];
  char retry_after[16];
  parley_buf body; /* error or JSON answers */
  /* streaming sink for 2xx content (downloads); NULL: into body */
  size_t (*sink)(void *cls, const uint8_t *p, size_t n);
  void *sink_cls;
  bool sink_failed;
} ev_response;

static size_t ev_on_header(char *p, size_t size, size_t n, void *ud) {
  ev_response *r = ud;
  size_t len = size * n;
  const char *names[] = {"Upload-Offset:", "Retry-After:"};
  char *dst[] = {r->upload_offset, r->retry_after};
  size_t caps[] = {sizeof r->upload_offset, sizeof r->retry_after};
  for (int i = 0; i < 2; i++) {
    size_t k = strlen(names[i]);
    if (len > k && strncasecmp(p, names[i], k) == 0) {
      const char *v = p + k;
      size_t vl = len - k;
      while (vl && (*v == ' '))
        v++, vl--;
      while (vl && (v[vl - 1] == '\r' || v[vl - 1] == '\n' || v[vl - 1] == ' '))
        vl--;
      if (vl < caps[i]) {
        memcpy(dst[i], v, vl);
        dst[i][vl] = 0;
      }
    }
  }
  return len;
}

static size_t ev_on_body(char *p, size_t size, size_t n, void *ud) {
  ev_response *r = ud;
  size_t len = size * n;
  if (r->sink && r->status == 0) {
    /* the status is known once the body starts */
  }
  if (r->sink && r->status >= 200 && r->status < 300) {
    size_t used = r->sink(r->sink_cls, (const uint8_t *)p, len);
    if (used != len) r->sink_failed = true;
    return used;
  }
  return parley_buf_append(&r->body, p, len) == PARLEY_E_OK ? len : 0;
}

/* The status of a response, as soon as its head is read. */
static size_t ev_on_header_status(char *p, size_t size, size_t n, void *ud);

typedef struct {
  ev_response *resp;
  CURL *curl;
} hdr_ctx;

static size_t ev_on_header_status(char *p, size_t size, size_t n, void *ud) {
  hdr_ctx *h = ud;
  if (size * n > 5 && strncmp(p, "HTTP/", 5) == 0) {
    long code = 0;
    const char *sp = memchr(p, ' ', size * n);
    if (sp) code = strtol(sp + 1, NULL, 10);
    h->resp->status = code;
    h->resp->upload_offset[0] = 0;
  }
  return ev_on_header(p, size, n, h->resp);
}

/* Sends one signed request; 0 when an answer arrived (any status), 1 on a transport
 * failure (said on stderr unless quiet). */
static int ev_request(const parley_identity *id, const char *method, const char *path,
                      const void *body, size_t body_len, const char *content_type,
                      const char *upload_offset, const char *upload_length, const char *range,
                      ev_response *out, bool quiet) {
  out->status = 0;
  out->upload_offset[0] = out->retry_after[0] = 0;
  out->sink_failed = false;
  parley_buf_reset(&out->body);
  char url[2048], authority[256];
  int n = snprintf(url, sizeof url, "%s%s", cli.hub, path);
  const char *sl = strstr(cli.hub, "://");
  if (n < 0 || (size_t)n >= sizeof url || !sl) return cli_fail("bad hub URL");
  parley_strlcpy(authority, sl + 3, sizeof authority);
  authority[strcspn(authority, "/")] = 0;
  const char *q = strchr(path, '?');
  char just_path[1024];
  size_t plen = q ? (size_t)(q - path) : strlen(path);
  if (plen >= sizeof just_path) return cli_fail("path too long");
  memcpy(just_path, path, plen);
  just_path[plen] = 0;
  char digest[PARLEY_CONTENT_DIGEST_LEN];
  ev_headers h = {NULL, upload_offset, upload_length, "1.0.0", range};
  if (body) {
    parley_content_digest_header(body, body_len, digest);
    h.content_digest = digest;
  }
  const char *components[8] = {"@method", "@target-uri", "tus-resumable"};
  size_t nc = 3;
  if (body) components[nc++] = "content-digest";
  if (upload_offset) components[nc++] = "upload-offset";
  if (upload_length) components[nc++] = "upload-length";
  if (range) components[nc++] = "range";
  parley_httpsig_request req = {method, url, authority, just_path, q, ev_lookup, &h};
  char keyid[PARLEY_KEY_ID_LEN];
  parley_sign_pk_key_id(&id->sign_pk, keyid);
  char *sig_input = NULL, *sig = NULL;
  parley_error err;
  if (parley_httpsig_sign(&req, components, nc, keyid, id->sign_sk.b, parley_now(), NULL,
                          &sig_input, &sig, &err) != PARLEY_E_OK)
    return cli_fail_err("signing the request", &err);
  struct curl_slist *hdrs = NULL;
  char line[PARLEY_HTTPSIG_MAX_HEADER + 64];
  snprintf(line, sizeof line, "Signature-Input: %s", sig_input);
  hdrs = curl_slist_append(hdrs, line);
  snprintf(line, sizeof line, "Signature: %s", sig);
  hdrs = curl_slist_append(hdrs, line);
  free(sig_input);
  free(sig);
  hdrs = curl_slist_append(hdrs, "Tus-Resumable: 1.0.0");
  if (body) {
    snprintf(line, sizeof line, "Content-Digest: %s", digest);
    hdrs = curl_slist_append(hdrs, line);
    snprintf(line, sizeof line, "Content-Type: %s", content_type);
    hdrs = curl_slist_append(hdrs, line);
  }
  if (upload_offset) {
    snprintf(line, sizeof line, "Upload-Offset: %s", upload_offset);
    hdrs = curl_slist_append(hdrs, line);
  }
  if (upload_length) {
    snprintf(line, sizeof line, "Upload-Length: %s", upload_length);
    hdrs = curl_slist_append(hdrs, line);
  }
  if (range) {
    snprintf(line, sizeof line, "Range: %s", range);
    hdrs = curl_slist_append(hdrs, line);
  }
  hdrs = curl_slist_append(hdrs, "Expect:");
  CURL *c = curl_easy_init();
  if (!c) {
    curl_slist_free_all(hdrs);
    return cli_fail("cannot initialise libcurl");
  }
  hdr_ctx hc = {out, c};
  curl_easy_setopt(c, CURLOPT_URL, url);
  cli_curl_tls(c);
  curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, ev_on_body);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, ev_on_header_status);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &hc);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 10L);
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L); /* a stalled transfer counts as dropped */
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 30L);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  if (!strcmp(method, "HEAD")) curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
  if (body) {
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
  }
  CURLcode rc = curl_easy_perform(c);
  int ret = 0;
  if (rc != CURLE_OK) {
    if (!quiet && !out->sink_failed)
      fprintf(stderr, "parley: %s %s: %s (will retry)\n", method, path, curl_easy_strerror(rc));
    ret = 1;
  } else {
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out->status);
  }
  curl_easy_cleanup(c);
  curl_slist_free_all(hdrs);
  return ret;
}

static int ev_print_error(const ev_response *r) {
  cli_response cr = {.status = r->status, .body = (char *)r->body.data, .len = r->body.len};
  return cli_print_http_error(&cr);
}

/* Whether to try again: a transport failure, 503 or 429 (waits Retry-After). */
static bool ev_retryable(int transport_rc, const ev_response *r, uint64_t since_progress_ns) {
  if (parley_mono_ns() - since_progress_ns > (uint64_t)RETRY_WINDOW_S * 1000000000ull) return false;
  if (!transport_rc && r->status != 503 && r->status != 429) return false;
  unsigned wait = 1;
  if (!transport_rc && r->retry_after[0]) wait = (unsigned)strtoul(r->retry_after, NULL, 10);
  /* a long wait (a quota of unfinished uploads) is the user's call, not a blind retry */
  if (!transport_rc && wait > 30) return false;
  if (wait < 1) wait = 1;
  sleep(wait);
  return true;
}

static json_t *ev_get_json(const parley_identity *id, const char *path) {
  ev_response r;
  memset(&r, 0, sizeof r);
  parley_buf_init(&r.body, 64u << 20);
  uint64_t t0 = parley_mono_ns();
  int rc;
  while ((rc = ev_request(id, "GET", path, NULL, 0, NULL, NULL, NULL, NULL, &r, false)) ||
         r.status == 503 || r.status == 429)
    if (!ev_retryable(rc, &r, t0)) break;
  json_t *v = NULL;
  if (!rc && r.status == 200) {
    parley_json_limits lim = PARLEY_JSON_LIMITS_DEFAULT;
    lim.max_bytes = 64u << 20;
    lim.max_items = 10000000;
    parley_error err;
    if (parley_json_parse((const char *)r.body.data, r.body.len, &lim, &v, &err))
      cli_fail("the hub's answer is not JSON");
  } else if (!rc) {
    ev_print_error(&r);
  } else {
    cli_fail("GET %s: the hub is unreachable", path);
  }
  parley_buf_free(&r.body);
  return v;
}

/* ---- who and whom ------------------------------------------------------------------ */

static int whoami(const parley_identity *id, char state[4], char poc[64]) {
  json_t *v = ev_get_json(id, "/v1/whoami");
  if (!v) return 1;
  int rc = 0;
  const char *s = cli_jstr(v, "state"), *p = cli_jstr(v, "poc");
  if (!s || !p || !parley_state_code_valid(s) || strlen(p) > PARLEY_POC_ID_MAX)
    rc = cli_fail("this key is not a POC officer's key");
  else {
    parley_strlcpy(state, s, 4);
    parley_strlcpy(poc, p, 64);
  }
  json_decref(v);
  return rc;
}

/* The signing key key_id of POC (state, poc) that its state's verified records held when
 * an object signed with it was logged at entry `logged` (as receipts after a rotation:
 * cli_poc_key_logged); else 1 with the reason in why. */
static int key_when_logged(const char *state, const char *poc, const char *key_id, uint64_t logged,
                           parley_sign_pk *pk, char *why, size_t cap) {
  /* One cache for the whole command: a custody list of many events fetches and verifies
   * each record version once (the hub chooses how many events there are). */
  static cli_record_cache *c;
  if (!c) c = cli_record_cache_new();
  uint64_t before = UINT64_MAX;
  bool ok = c && cli_poc_key_logged(c, state, poc, key_id, logged, pk, &before);
  if (ok) return 0;
  if (!c)
    snprintf(why, cap, "out of memory");
  else if (before == UINT64_MAX)
    snprintf(why, cap,
             "key %.40s is not a signing key of %.3s/%.64s in any verified record of %.3s",
             key_id ? cli_safe(key_id) : "(none)", state, cli_safe(poc), state);
  else
    snprintf(why, cap,
             "key %.40s of %.3s/%.64s was removed from %.3s's record (log entry %llu) before this "
             "was logged (entry %llu)",
             cli_safe(key_id), state, cli_safe(poc), state, (unsigned long long)before,
             (unsigned long long)logged);
  return 1;
}

/* ---- the plaintext stream over several files --------------------------------------- */

typedef struct {
  char **paths;
  size_t n, cur;
  int fd;
  uint64_t left_in_file;
  const uint64_t *sizes;
} file_reader;

/* Fills buf with up to len bytes, crossing file boundaries; returns how many (fewer
 * only at the end) or -1. file_idx/file_off (optional) receive per-byte ownership via
 * the callback on_bytes for hashing. */
static ssize_t reader_read(file_reader *r, uint8_t *buf, size_t len,
                           void (*on_bytes)(void *cls, size_t file, const uint8_t *p, size_t n),
                           void *cls) {
  size_t got = 0;
  while (got < len && r->cur < r->n) {
    if (r->fd < 0) {
      r->fd = open(r->paths[r->cur], O_RDONLY | O_CLOEXEC);
      if (r->fd < 0) return -1;
      r->left_in_file = r->sizes[r->cur];
    }
    size_t want = len - got;
    if (want > r->left_in_file) want = (size_t)r->left_in_file;
    ssize_t k = want ? read(r->fd, buf + got, want) : 0;
    if (k < 0 && errno == EINTR) continue;
    if (k < 0 || (k == 0 && want)) return -1; /* the file shrank */
    if (on_bytes && k) on_bytes(cls, r->cur, buf + got, (size_t)k);
    got += (size_t)k;
    r->left_in_file -= (uint64_t)k;
    if (r->left_in_file == 0) {
      close(r->fd);
      r->fd = -1;
      r->cur++;
    }
  }
  return (ssize_t)got;
}

static void reader_reset(file_reader *r) {
  if (r->fd >= 0) close(r->fd);
  r->fd = -1;
  r->cur = 0;
}

static void hash_bytes(void *cls, size_t file, const uint8_t *p, size_t n) {
  parley_sha256_update(&((parley_sha256_ctx *)cls)[file], p, n);
}

/* ---- send ---------------------------------------------------------------------------- */

static int state_path(const char *id, char *out, size_t cap) {
  mkdir(cli.home, 0700);
  int n = snprintf(out, cap, "%s/evidence-upload-%s.json", cli.home, id);
  return n > 0 && (size_t)n < cap ? 0 : 1;
}

/* Uploads from the hub's offset to the end: the ciphertext is sealed again from the
 * start (sealing is deterministic for a key and header) and the chunks the hub holds
 * are skipped. */
static int upload(const parley_identity *id, const char *ev_id, const parley_content_key *key,
                  const uint8_t header[PARLEY_EVIDENCE_HEADER_LEN], file_reader *rd,
                  uint64_t plaintext_size) {
  char path[256];
  snprintf(path, sizeof path, "/v1/evidence/%s/upload", ev_id);
  uint64_t total = parley_evidence_ciphertext_size(plaintext_size);
  uint64_t chunks = parley_evidence_chunks(plaintext_size);
  uint8_t *pt = malloc(PARLEY_EVIDENCE_CHUNK), *ct = malloc(PARLEY_EVIDENCE_CHUNK_CT);
  ev_response r;
  memset(&r, 0, sizeof r);
  parley_buf_init(&r.body, 1u << 20);
  int rc = 0;
  progress pr;
  bool started = false;
  uint64_t last_progress = parley_mono_ns();
restart:
  if (!pt || !ct) {
    rc = cli_fail("out of memory");
    goto done;
  }
  /* the hub's durable offset */
  for (;;) {
    int t = ev_request(id, "HEAD", path, NULL, 0, NULL, NULL, NULL, NULL, &r, false);
    if (!t && r.status == 200 && r.upload_offset[0]) break;
    if (!ev_retryable(t, &r, last_progress)) {
      rc = t ? cli_fail("the hub is unreachable") : ev_print_error(&r);
      goto done;
    }
  }
  uint64_t offset = strtoull(r.upload_offset, NULL, 10);
  if (!started) {
    progress_start(&pr, "upload", total, offset);
    started = true;
  }
  if (offset % PARLEY_EVIDENCE_CHUNK_CT && offset != total) {
    rc = cli_fail("the hub's offset %llu is not a chunk boundary", (unsigned long long)offset);
    goto done;
  }
  parley_evidence_stream st;
  parley_evidence_stream_start(key, header, &st);
  reader_reset(rd);
  uint64_t pos = 0;
  for (uint64_t i = 0; i < chunks && offset < total; i++) {
    uint64_t want = plaintext_size - i * PARLEY_EVIDENCE_CHUNK;
    if (want > PARLEY_EVIDENCE_CHUNK) want = PARLEY_EVIDENCE_CHUNK;
    ssize_t got = reader_read(rd, pt, (size_t)want, NULL, NULL);
    if (got != (ssize_t)want) {
      rc = cli_fail("a file changed while it was sent");
      goto done;
    }
    parley_evidence_seal_chunk(&st, pt, (size_t)want, i + 1 == chunks, ct);
    size_t ctlen = (size_t)want + PARLEY_EVIDENCE_CHUNK_OVERHEAD;
    if (pos + ctlen <= offset) {
      pos += ctlen;
      continue; /* the hub has it */
    }
    for (;;) {
      char off[32];
      snprintf(off, sizeof off, "%llu", (unsigned long long)pos);
      int t = ev_request(id, "PATCH", path, ct, ctlen, "application/offset+octet-stream", off, NULL,
                         NULL, &r, false);
      if (!t && r.status == 204) break;
      if (!t && r.status == 409) {
        /* the hub's offset moved (an earlier PATCH did commit): ask again */
        goto restart;
      }
      if (t) {
        /* the answer was lost: the chunk may or may not be durable; ask the hub */
        if (!ev_retryable(t, &r, last_progress)) {
          rc = cli_fail("the hub is unreachable");
          goto done;
        }
        goto restart;
      }
      if (!ev_retryable(t, &r, last_progress)) {
        rc = ev_print_error(&r);
        goto done;
      }
    }
    pos += ctlen;
    offset = pos;
    last_progress = parley_mono_ns();
    progress_update(&pr, pos, false);
  }
  progress_update(&pr, total, true);
done:
  reader_reset(rd);
  if (pt) sodium_memzero(pt, PARLEY_EVIDENCE_CHUNK);
  free(pt);
  free(ct);
  parley_buf_free(&r.body);
  return rc;
}

static int upload_from_state(const parley_identity *id, json_t *s) {
  const char *ev_id = cli_jstr(s, "id");
  parley_content_key key;
  uint8_t header[PARLEY_EVIDENCE_HEADER_LEN];
  json_t *paths = json_object_get(s, "paths"), *sizes = json_object_get(s, "sizes");
  size_t n = json_array_size(paths);
  if (!ev_id || n == 0 || json_array_size(sizes) != n ||
      parley_b64url_decode_exact(cli_jstr(s, "key"), key.b, sizeof key.b) ||
      parley_b64url_decode_exact(cli_jstr(s, "stream_header"), header, sizeof header))
    return cli_fail("the upload state file is damaged");
  char **pv = calloc(n, sizeof *pv);
  uint64_t *sv = calloc(n, sizeof *sv), total = 0;
  for (size_t i = 0; pv && sv && i < n; i++) {
    pv[i] = (char *)json_string_value(json_array_get(paths, i));
    sv[i] = (uint64_t)json_integer_value(json_array_get(sizes, i));
    total += sv[i];
  }
  file_reader rd = {pv, n, 0, -1, 0, sv};
  int rc = pv && sv ? upload(id, ev_id, &key, header, &rd, total) : cli_fail("out of memory");
  sodium_memzero(&key, sizeof key);
  free(pv);
  free(sv);
  return rc;
}

static void send_usage(FILE *f) {
  fputs("Usage: parley evidence send --to STATE:ROLE|STATE:POC [--to ...] [--case ID]\n"
        "         [--request ID] [--notes TEXT] [--retain-days N | --retain-until TIME] FILE...\n"
        "       parley evidence send --resume ID\n"
        "Seals the files for the recipients' keys (1 MiB chunks), signs the manifest and\n"
        "uploads the ciphertext (tus 1.0); an interrupted upload resumes where the hub\n"
        "stopped, also after this program was killed (--resume ID).\n",
        f);
}

int cmd_evidence_send(int argc, char **argv) {
  static const struct option opts[] = {{"to", required_argument, 0, 't'},
                                       {"case", required_argument, 0, 'c'},
                                       {"request", required_argument, 0, 'r'},
                                       {"notes", required_argument, 0, 'n'},
                                       {"retain-days", required_argument, 0, 'd'},
                                       {"retain-until", required_argument, 0, 'u'},
                                       {"resume", required_argument, 0, 'R'},
                                       {"help", no_argument, 0, 'h'},
                                       {0, 0, 0, 0}};
  const char *to[PARLEY_MAX_RECIPIENTS], *case_id = NULL, *request = NULL, *notes = NULL,
                                         *resume = NULL;
  size_t nto = 0;
  long days = 365;
  int64_t retain_until = 0;
  int ch;
  optind = 1;
  while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
    switch (ch) {
    case 't':
      if (nto == PARLEY_MAX_RECIPIENTS) return cli_fail("too many --to");
      to[nto++] = optarg;
      break;
    case 'c':
      case_id = optarg;
      break;
    case 'r':
      request = optarg;
      break;
    case 'n':
      notes = optarg;
      break;
    case 'd':
      days = strtol(optarg, NULL, 10);
      if (days < 1 || days > 36500) return cli_fail("--retain-days: 1 to 36500");
      break;
    case 'R':
      resume = optarg;
      break;
    case 'u':
      if (parley_time_parse(optarg, &retain_until) || retain_until <= parley_now())
        return cli_fail("--retain-until: a future RFC 3339 UTC time");
      break;
    case 'h':
      send_usage(stdout);
      return 0;
    default:
      send_usage(stderr);
      return 2;
    }
  }
  parley_identity id;
  if (cli_load_identity(&id)) return 1;
  int rc = 0;
  char sp[1024];
  if (resume) {
    if (!parley_uuid_valid(resume) || state_path(resume, sp, sizeof sp)) {
      parley_identity_wipe(&id);
      return cli_fail("--resume: an evidence id");
    }
    json_t *s = cli_load_state(strrchr(sp, '/') + 1);
    rc = upload_from_state(&id, s);
    json_decref(s);
    if (!rc) {
      unlink(sp);
      printf("sent evidence %s\n", resume);
    }
    parley_identity_wipe(&id);
    return rc;
  }
  size_t nfiles = (size_t)(argc - optind);
  if (!nto || !nfiles || nfiles > PARLEY_EVIDENCE_MAX_FILES) {
    parley_identity_wipe(&id);
    send_usage(stderr);
    return 2;
  }
  char me_state[4], me_poc[64];
  parley_envelope_recipient rcpt[PARLEY_MAX_RECIPIENTS];
  cli_recipient resolved[PARLEY_MAX_RECIPIENTS];
  size_t nr = 0;
  if (whoami(&id, me_state, me_poc)) rc = 1;
  for (size_t i = 0; !rc && i < nto; i++)
    rc = cli_resolve_recipients(to[i], false, resolved, PARLEY_MAX_RECIPIENTS, &nr, NULL);
  cli_recipients_view(resolved, nr, rcpt);
  parley_evidence_file *files = calloc(nfiles, sizeof *files);
  uint64_t *sizes = calloc(nfiles, sizeof *sizes), total = 0;
  parley_sha256_ctx *hctx = calloc(nfiles, sizeof *hctx);
  char **paths = argv + optind;
  if (!rc && (!files || !sizes || !hctx)) rc = cli_fail("out of memory");
  for (size_t i = 0; !rc && i < nfiles; i++) {
    struct stat sb;
    if (stat(paths[i], &sb) != 0 || !S_ISREG(sb.st_mode)) {
      rc = cli_fail("%s: not a readable regular file", paths[i]);
      break;
    }
    char tmp[1024];
    parley_strlcpy(tmp, paths[i], sizeof tmp);
    parley_strlcpy(files[i].name, basename(tmp), sizeof files[i].name);
    sizes[i] = files[i].size = (uint64_t)sb.st_size;
    total += sizes[i];
    parley_sha256_init(&hctx[i]);
  }
  /* pass 1: seal, hash every chunk and every file */
  parley_content_key key;
  uint8_t header[PARLEY_EVIDENCE_HEADER_LEN], root[32];
  parley_evidence_stream st;
  parley_evidence_stream_new(&key, header, &st);
  file_reader rd = {paths, nfiles, 0, -1, 0, sizes};
  uint8_t *pt = malloc(PARLEY_EVIDENCE_CHUNK), *ct = malloc(PARLEY_EVIDENCE_CHUNK_CT);
  if (!rc && (!pt || !ct)) rc = cli_fail("out of memory");
  uint64_t chunks = parley_evidence_chunks(total);
  parley_tlog_frontier fr;
  parley_tlog_frontier_init(&fr);
  progress pr;
  progress_start(&pr, "seal", total, 0);
  for (uint64_t i = 0; !rc && i < chunks; i++) {
    uint64_t want = total - i * PARLEY_EVIDENCE_CHUNK;
    if (want > PARLEY_EVIDENCE_CHUNK) want = PARLEY_EVIDENCE_CHUNK;
    if (reader_read(&rd, pt, (size_t)want, hash_bytes, hctx) != (ssize_t)want) {
      rc = cli_fail("reading the files failed");
      break;
    }
    parley_evidence_seal_chunk(&st, pt, (size_t)want, i + 1 == chunks, ct);
    uint8_t leaf[32];
    parley_evidence_chunk_hash(ct, (size_t)want + PARLEY_EVIDENCE_CHUNK_OVERHEAD, leaf);
    parley_tlog_frontier_append(&fr, leaf);
    progress_update(&pr, i * PARLEY_EVIDENCE_CHUNK + want, i + 1 == chunks);
  }
  reader_reset(&rd);
  if (pt) sodium_memzero(pt, PARLEY_EVIDENCE_CHUNK);
  free(pt);
  free(ct);
  parley_tlog_frontier_root(&fr, root);
  for (size_t i = 0; !rc && i < nfiles; i++) {
    parley_hash h;
    parley_sha256_final(&hctx[i], &h);
    memcpy(files[i].sha256, h.b, 32);
  }
  json_t *manifest = NULL;
  char ev_id[PARLEY_UUID_LEN];
  parley_uuid7(ev_id);
  parley_error err;
  if (!rc) {
    int64_t now = parley_now();
    parley_evidence_params p = {.id = ev_id,
                                .from_state = me_state,
                                .from_poc = me_poc,
                                .n_recipients = nr,
                                .recipients = rcpt,
                                .case_id = case_id,
                                .request_id = request,
                                .notes = notes,
                                .created = now,
                                .retain_until = retain_until ? retain_until : now + days * 86400,
                                .n_files = nfiles,
                                .files = files,
                                .plaintext_size = total,
                                .stream_header = header,
                                .merkle_root = root,
                                .key = &key};
    if (parley_evidence_manifest_new(&p, &id, &manifest, &err))
      rc = cli_fail_err("sealing the manifest", &err);
  }
  /* the resume state: what is needed to seal the same ciphertext again (mode 0600) */
  json_t *s = NULL;
  if (!rc) {
    char kb[64], hb[64];
    parley_b64url_encode(key.b, sizeof key.b, kb, sizeof kb);
    parley_b64url_encode(header, sizeof header, hb, sizeof hb);
    json_t *pa = json_array(), *sa = json_array();
    for (size_t i = 0; i < nfiles; i++) {
      char abs[4096];
      json_array_append_new(pa, json_string(realpath(paths[i], abs) ? abs : paths[i]));
      json_array_append_new(sa, json_integer((json_int_t)sizes[i]));
    }
    s = json_pack("{s:s,s:s,s:s,s:o,s:o}", "id", ev_id, "key", kb, "stream_header", hb, "paths", pa,
                  "sizes", sa);
    sodium_memzero(kb, sizeof kb);
    if (!s || state_path(ev_id, sp, sizeof sp)) rc = cli_fail("cannot save the upload state");
    if (!rc) {
      char *text = json_dumps(s, JSON_COMPACT);
      if (!text || cli_write_file_atomic(sp, text, strlen(text), 0600))
        rc = cli_fail("%s: cannot save the upload state", sp);
      if (text) sodium_memzero(text, strlen(text));
      free(text);
    }
  }
  if (!rc) {
    parley_buf b;
    parley_buf_init(&b, PARLEY_EVIDENCE_MANIFEST_MAX_BYTES);
    ev_response r;
    memset(&r, 0, sizeof r);
    parley_buf_init(&r.body, 1u << 20);
    char len[32];
    snprintf(len, sizeof len, "%llu", (unsigned long long)parley_evidence_ciphertext_size(total));
    uint64_t t0 = parley_mono_ns();
    int t = 0;
    if (parley_jcs(manifest, &b, &err))
      rc = cli_fail_err("manifest", &err);
    else
      while ((t = ev_request(&id, "POST", "/v1/evidence", b.data, b.len, "application/json", NULL,
                             len, NULL, &r, false)) ||
             r.status == 503 || r.status == 429)
        if (!ev_retryable(t, &r, t0)) break;
    if (!rc && (t || r.status != 201))
      rc = t ? cli_fail("the hub is unreachable") : ev_print_error(&r);
    parley_buf_free(&b);
    parley_buf_free(&r.body);
  }
  if (!rc) {
    fprintf(stderr, "evidence %s created; uploading %llu bytes\n", ev_id,
            (unsigned long long)parley_evidence_ciphertext_size(total));
    rc = upload_from_state(&id, s);
    if (!rc) unlink(sp);
  }
  if (!rc)
    printf("sent evidence %s to %zu recipient(s): %zu file(s), %llu bytes\n", ev_id, nr, nfiles,
           (unsigned long long)total);
  else if (s)
    fprintf(stderr, "resume with: parley evidence send --resume %s\n", ev_id);
  sodium_memzero(&key, sizeof key);
  json_decref(s);
  json_decref(manifest);
  free(files);
  free(sizes);
  free(hctx);
  parley_identity_wipe(&id);
  return rc;
}

/* ---- list ----------------------------------------------------------------------------- */

int cmd_evidence_list(int argc, char **argv) {
  if (argc > 1) {
    puts("Usage: parley evidence list\nLists the packages you sent or that are addressed to you.");
    return strcmp(argv[1], "--help") == 0 ? 0 : 2;
  }
  parley_identity id;
  if (cli_load_identity(&id)) return 1;
  json_t *v = ev_get_json(&id, "/v1/evidence");
  parley_identity_wipe(&id);
  if (!v) return 1;
  if (cli.json_output) {
    cli_print_json(stdout, v, JSON_COMPACT);
  } else {
    size_t i;
    json_t *p;
    json_array_foreach(json_object_get(v, "packages"), i, p) {
      long long size = 0;
      cli_jint(p, "ciphertext_size", &size);
      printf("%s  %-9s  from %s/%s  %lld bytes  created %s  retain until %s\n",
             cli_safe(cli_jstr(p, "id")), cli_safe(cli_jstr(p, "status")),
             cli_safe(cli_jstr(json_object_get(p, "from"), "state")),
             cli_safe(cli_jstr(json_object_get(p, "from"), "poc")), size,
             cli_safe(cli_jstr(p, "created")), cli_safe(cli_jstr(p, "retain_until")));
    }
  }
  json_decref(v);
  return 0;
}

/* ---- the verified manifest -------------------------------------------------------------- */

/* GETs the package and believes its manifest only once it is provably in the hub's log
 * (protocol §13) and verifies with the sender POC's signing key that the sender state's
 * verified records held when it was logged. `no` starts each refusal ("REFUSED", "NOT
 * VERIFIED"). *pkg owns the answer; *logged, *log_size: its log entry and the checkpoint. */
static int verified_manifest(const parley_identity *id, const char *ev_id, const char *no,
                             json_t **pkg, const json_t **manifest, parley_evidence_info *info,
                             uint64_t *logged, uint64_t *log_size) {
  char path[128];
  snprintf(path, sizeof path, "/v1/evidence/%s", ev_id);
  *pkg = ev_get_json(id, path);
  if (!*pkg) return 1;
  *manifest = json_object_get(*pkg, "manifest");
  const json_t *from = json_object_get(*manifest, "from");
  const char *fs = cli_jstr(from, "state"), *fp = cli_jstr(from, "poc");
  if (!json_is_object(*manifest) || !fs || !fp || !parley_state_code_valid(fs))
    return cli_fail("%s: the manifest names no sender", no);
  uint8_t leaf[32];
  uint64_t index, size;
  if (cli_entry_leaf_hash(PARLEY_LOG_KIND_MANIFEST, *manifest, leaf) ||
      cli_verify_inclusion(leaf, &index, &size))
    return cli_fail("%s: the manifest is not provably in the hub's log", no);
  parley_sign_pk pk;
  parley_error err;
  char why[256], what[64];
  if (key_when_logged(fs, fp, cli_jstr(from, "key_id"), index, &pk, why, sizeof why))
    return cli_fail("%s: the manifest's signer: %s", no, why);
  snprintf(what, sizeof what, "%s: the manifest", no);
  if (parley_evidence_manifest_verify(*manifest, &pk, info, &err)) return cli_fail_err(what, &err);
  if (strcmp(info->id, ev_id) != 0) return cli_fail("%s: the hub served another package", no);
  if (logged) *logged = index;
  if (log_size) *log_size = size;
  return 0;
}

/* ---- fetch ------------------------------------------------------------------------------- */

typedef struct {
  const parley_evidence_info *info;
  uint8_t (*hashes)[32];
  parley_evidence_stream st;
  uint8_t *ct, *pt;
  size_t ct_len;      /* bytes of the current chunk received */
  uint64_t chunk;     /* index of the current chunk */
  uint64_t plain_out; /* plaintext bytes written */
  /* output files */
  size_t nfiles, cur_file;
  int fd;
  uint64_t left_in_file;
  const parley_evidence_file *files;
  parley_sha256_ctx *sha;
  char **part_paths;
  char failure[256];
  progress pr;
  uint64_t limit_rate; /* bytes per second, 0: no limit */
} fetch_ctx;

static bool write_plain(fetch_ctx *f, const uint8_t *p, size_t n) {
  while (n) {
    while (f->cur_file < f->nfiles && f->left_in_file == 0) {
      if (f->fd >= 0) {
        if (fsync(f->fd) != 0) return false;
        close(f->fd);
        f->fd = -1;
        f->cur_file++;
        if (f->cur_file >= f->nfiles) break;
      }
      f->fd = open(f->part_paths[f->cur_file], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
      if (f->fd < 0) return false;
      f->left_in_file = f->files[f->cur_file].size;
    }
    if (f->cur_file >= f->nfiles) return false;
    size_t k = n < f->left_in_file ? n : (size_t)f->left_in_file;
    if (write(f->fd, p, k) != (ssize_t)k) return false;
    parley_sha256_update(&f->sha[f->cur_file], p, k);
    f->left_in_file -= k;
    p += k;
    n -= k;
  }
  return true;
}

/* Consumes ciphertext; each complete chunk is checked against its signed leaf hash
 * before it is decrypted. */
static size_t fetch_sink(void *cls, const uint8_t *p, size_t n) {
  fetch_ctx *f = cls;
  size_t used = 0;
  while (used < n) {
    uint64_t want = parley_evidence_chunk_ct_len(f->info->plaintext_size, f->chunk);
    if (want == 0) {
      snprintf(f->failure, sizeof f->failure, "the hub sent more than the ciphertext");
      return 0;
    }
    size_t k = (size_t)(want - f->ct_len);
    if (k > n - used) k = n - used;
    memcpy(f->ct + f->ct_len, p + used, k);
    f->ct_len += k;
    used += k;
    if (f->ct_len < want) break;
    uint8_t leaf[32];
    parley_evidence_chunk_hash(f->ct, f->ct_len, leaf);
    if (sodium_memcmp(leaf, f->hashes[f->chunk], 32) != 0) {
      snprintf(f->failure, sizeof f->failure,
               "EVIDENCE_CHUNK_HASH: chunk %llu (bytes %llu-%llu) does not match the signed Merkle "
               "root",
               (unsigned long long)f->chunk,
               (unsigned long long)(f->chunk * PARLEY_EVIDENCE_CHUNK_CT),
               (unsigned long long)(f->chunk * PARLEY_EVIDENCE_CHUNK_CT + want - 1));
      return 0;
    }
    bool last = f->chunk + 1 == f->info->chunks;
    if (parley_evidence_open_chunk(&f->st, f->ct, f->ct_len, last, f->pt)) {
      snprintf(f->failure, sizeof f->failure, "chunk %llu does not decrypt",
               (unsigned long long)f->chunk);
      return 0;
    }
    size_t ptn = f->ct_len - PARLEY_EVIDENCE_CHUNK_OVERHEAD;
    if (!write_plain(f, f->pt, ptn)) {
      snprintf(f->failure, sizeof f->failure, "writing the files failed: %s", strerror(errno));
      return 0;
    }
    f->plain_out += ptn;
    f->chunk++;
    f->ct_len = 0;
    progress_limit(&f->pr, f->chunk * PARLEY_EVIDENCE_CHUNK_CT, f->limit_rate);
    progress_update(&f->pr, f->chunk * PARLEY_EVIDENCE_CHUNK_CT, false);
  }
  return used;
}

/* After a killed fetch: the .part files hold the plaintext of the chunks decrypted so
 * far. Sealing it again with the same key and header gives the same ciphertext (and the
 * stream state that follows it), each chunk checked against its signed leaf hash; the
 * download goes on after the last chunk that matched. Returns that count; f is left
 * ready to write at the next byte. */
static uint64_t resume_local(fetch_ctx *f, const parley_content_key *key) {
  uint64_t have = 0; /* plaintext bytes present, files in order */
  for (size_t k = 0; k < f->nfiles; k++) {
    struct stat sb;
    if (stat(f->part_paths[k], &sb) != 0) break;
    have += (uint64_t)sb.st_size < f->files[k].size ? (uint64_t)sb.st_size : f->files[k].size;
    if ((uint64_t)sb.st_size < f->files[k].size) break;
  }
  uint64_t chunks = have / PARLEY_EVIDENCE_CHUNK;
  if (chunks >= f->info->chunks) chunks = f->info->chunks - 1; /* the last is fetched again */
  if (chunks == 0) return 0;
  uint64_t *sizes = calloc(f->nfiles, sizeof *sizes);
  uint8_t *ct = malloc(PARLEY_EVIDENCE_CHUNK_CT);
  if (!sizes || !ct) {
    free(sizes);
    free(ct);
    return 0;
  }
  for (size_t k = 0; k < f->nfiles; k++)
    sizes[k] = f->files[k].size;
  file_reader rd = {f->part_paths, f->nfiles, 0, -1, 0, sizes};
  parley_evidence_stream st;
  parley_evidence_stream_start(key, f->info->stream_header, &st);
  uint64_t good = 0;
  for (; good < chunks; good++) {
    parley_evidence_stream before = st;
    if (reader_read(&rd, f->pt, PARLEY_EVIDENCE_CHUNK, hash_bytes, f->sha) !=
        (ssize_t)PARLEY_EVIDENCE_CHUNK)
      break;
    parley_evidence_seal_chunk(&st, f->pt, PARLEY_EVIDENCE_CHUNK, false, ct);
    uint8_t leaf[32];
    parley_evidence_chunk_hash(ct, PARLEY_EVIDENCE_CHUNK_CT, leaf);
    if (sodium_memcmp(leaf, f->hashes[good], 32) != 0) {
      st = before;
      break;
    }
  }
  reader_reset(&rd);
  sodium_memzero(f->pt, PARLEY_EVIDENCE_CHUNK);
  free(ct);
  free(sizes);
  if (good < chunks) {
    /* a chunk did not match: start again from nothing, with fresh file hashes */
    for (size_t k = 0; k < f->nfiles; k++)
      parley_sha256_init(&f->sha[k]);
    return 0;
  }
  /* the hashes of bytes past the good chunks were not taken: reader_read stopped there */
  f->st = st;
  f->chunk = good;
  f->plain_out = good * PARLEY_EVIDENCE_CHUNK;
  uint64_t pos = f->plain_out;
  size_t k = 0;
  while (k + 1 < f->nfiles && pos >= f->files[k].size) {
    int done = open(f->part_paths[k], O_WRONLY | O_CREAT | O_CLOEXEC, 0600); /* empty ones */
    if (done >= 0) close(done);
    pos -= f->files[k].size;
    k++;
  }
  f->cur_file = k;
  f->fd = open(f->part_paths[k], O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
  if (f->fd < 0 || ftruncate(f->fd, (off_t)pos) != 0 || lseek(f->fd, (off_t)pos, SEEK_SET) < 0) {
    if (f->fd >= 0) close(f->fd);
    f->fd = -1;
    f->cur_file = 0;
    f->chunk = 0;
    f->plain_out = 0;
    for (size_t j = 0; j < f->nfiles; j++)
      parley_sha256_init(&f->sha[j]);
    parley_evidence_stream_start(key, f->info->stream_header, &f->st);
    return 0;
  }
  f->left_in_file = f->files[k].size - pos;
  return good;
}

typedef struct {
  uint8_t (*hashes)[32];
  uint64_t n;
} hash_list;

static int fetch_hashes(const parley_identity *id, const char *ev_id,
                        const parley_evidence_info *info, hash_list *out) {
  out->n = info->chunks;
  out->hashes = calloc(info->chunks, 32);
  if (!out->hashes) return cli_fail("out of memory");
  parley_tlog_frontier fr;
  parley_tlog_frontier_init(&fr);
  uint64_t have = 0;
  while (have < info->chunks) {
    char path[160];
    snprintf(path, sizeof path, "/v1/evidence/%s/chunks?from=%llu", ev_id,
             (unsigned long long)have);
    json_t *v = ev_get_json(id, path);
    if (!v) return 1;
    json_t *a = json_object_get(v, "hashes");
    size_t n = json_array_size(a);
    if (n == 0) {
      json_decref(v);
      return cli_fail("REFUSED: the hub lists %llu of %llu chunk hashes", (unsigned long long)have,
                      (unsigned long long)info->chunks);
    }
    for (size_t i = 0; i < n && have < info->chunks; i++, have++) {
      if (parley_b64url_decode_exact(json_string_value(json_array_get(a, i)), out->hashes[have],
                                     32)) {
        json_decref(v);
        return cli_fail("REFUSED: a malformed chunk hash");
      }
      parley_tlog_frontier_append(&fr, out->hashes[have]);
    }
    json_decref(v);
  }
  uint8_t root[32];
  parley_tlog_frontier_root(&fr, root);
  if (sodium_memcmp(root, info->merkle_root, 32) != 0)
    return cli_fail("REFUSED: the chunk hashes the hub lists do not give the signed Merkle root");
  return 0;
}

static int post_custody(const parley_identity *id, const char *ev_id,
                        const parley_evidence_info *info, const char *me_state, const char *me_poc,
                        const char *event, const char *detail) {
  json_t *ev = NULL;
  parley_error err;
  if (parley_custody_new(ev_id, &info->hash, event, me_state, me_poc, &id->sign_sk, &id->sign_pk,
                         parley_now(), detail, &ev, &err))
    return cli_fail_err("custody event", &err);
  parley_buf b;
  parley_buf_init(&b, 16384);
  int rc = parley_jcs(ev, &b, &err) ? cli_fail_err("custody event", &err) : 0;
  json_decref(ev);
  char path[160];
  snprintf(path, sizeof path, "/v1/evidence/%s/custody", ev_id);
  ev_response r;
  memset(&r, 0, sizeof r);
  parley_buf_init(&r.body, 1u << 20);
  uint64_t t0 = parley_mono_ns();
  int t = 0;
  while (!rc && ((t = ev_request(id, "POST", path, b.data, b.len, "application/json", NULL, NULL,
                                 NULL, &r, false)) ||
                 r.status == 503 || r.status == 429))
    if (!ev_retryable(t, &r, t0)) break;
  if (!rc && (t || r.status != 201))
    rc = t ? cli_fail("the hub is unreachable") : ev_print_error(&r);
  parley_buf_free(&b);
  parley_buf_free(&r.body);
  return rc;
}

/* A "shared" custody event the hub lists, logged at entry `logged`, checked as a POC that
 * was not an original recipient must check it before using its key: signed by its actor,
 * naming this package and manifest, carrying the sender's consent for this POC. Both
 * signatures are checked with the keys the signers' verified records held when the event
 * (and so the consent in it) was logged: a consent stays valid after the sender rotates
 * its key, and one by a key removed before it was logged is refused. */
static int check_shared(const json_t *rec, const char *ev_id, const parley_evidence_info *info,
                        uint64_t logged, parley_envelope_party *to, char *why, size_t cap) {
  const json_t *actor = json_object_get(rec, "actor");
  const char *as = cli_jstr(actor, "state"), *ap = cli_jstr(actor, "poc");
  const json_t *consent = json_object_get(rec, "consent");
  char mh[64], kw[256];
  parley_b64url_encode(info->hash.b, 32, mh, sizeof mh);
  parley_sign_pk apk, spk;
  parley_error err;
  if (!as || !ap || !parley_state_code_valid(as))
    snprintf(why, cap, "the sharer is not a POC");
  else if (key_when_logged(as, ap, cli_jstr(actor, "key_id"), logged, &apk, kw, sizeof kw))
    snprintf(why, cap, "the sharer's key: %.200s", kw);
  else if (parley_custody_verify(rec, &apk, &err))
    snprintf(why, cap, "signature: %.200s", err.detail);
  else if (strcmp(cli_jstr(rec, "evidence") ? cli_jstr(rec, "evidence") : "", ev_id) ||
           strcmp(cli_jstr(rec, "manifest_sha256") ? cli_jstr(rec, "manifest_sha256") : "", mh))
    snprintf(why, cap, "names another package or manifest");
  else if (parley_custody_shared_recipient(rec, to, &err))
    snprintf(why, cap, "recipient: %.200s", err.detail);
  else if (key_when_logged(info->from.state, info->from.poc,
                           cli_jstr(json_object_get(consent, "by"), "key_id"), logged, &spk, kw,
                           sizeof kw))
    snprintf(why, cap, "consent: %.200s", kw);
  else if (parley_consent_verify(consent, ev_id, &info->hash, to->state, to->poc, info->from.state,
                                 info->from.poc, &spk, &err))
    snprintf(why, cap, "consent: %.200s", err.detail);
  else
    return 0;
  return 1;
}

/* The content key: from the manifest's wrapped keys, or, for a POC the package was
 * shared with, from a checked "shared" custody event naming this POC's key. */
static int open_content_key(const parley_identity *id, const char *ev_id, const json_t *manifest,
                            const parley_evidence_info *info, parley_content_key *key) {
  parley_error err;
  parley_err e = parley_evidence_unwrap(manifest, id, key, &err);
  if (e != PARLEY_E_EVIDENCE_NOT_RECIPIENT)
    return e ? cli_fail_err("REFUSED: cannot open the package", &err) : 0;
  char path[160], mine[PARLEY_KEY_ID_LEN];
  parley_box_pk_key_id(&id->box_pk, mine);
  snprintf(path, sizeof path, "/v1/evidence/%s/custody", ev_id);
  json_t *v = ev_get_json(id, path);
  if (!v) return 1;
  size_t i;
  json_t *item;
  int rc = -1;
  json_array_foreach(json_object_get(v, "custody"), i, item) {
    const json_t *rec = json_object_get(item, "record");
    if (strcmp(cli_jstr(item, "event") ? cli_jstr(item, "event") : "", "shared") ||
        strcmp(cli_jstr(json_object_get(rec, "recipient"), "key_id")
                   ? cli_jstr(json_object_get(rec, "recipient"), "key_id")
                   : "",
               mine))
      continue;
    parley_envelope_party to;
    char why[256];
    uint8_t leaf[32];
    uint64_t logged, size;
    if (cli_entry_leaf_hash(PARLEY_LOG_KIND_CUSTODY, rec, leaf) ||
        cli_verify_inclusion(leaf, &logged, &size)) {
      rc = cli_fail("REFUSED: the shared key for %s: not provably in the hub's log", mine);
      break;
    }
    if (check_shared(rec, ev_id, info, logged, &to, why, sizeof why)) {
      rc = cli_fail("REFUSED: the shared key for %s: %s", mine, why);
      break;
    }
    if (parley_evidence_unwrap_shared(manifest, rec, id, key, &err)) {
      rc = cli_fail_err("REFUSED: cannot open the shared key", &err);
      break;
    }
    fprintf(stderr, "parley: shared with %s/%s by %s/%s with %s/%s's consent\n", to.state, to.poc,
            cli_safe(cli_jstr(json_object_get(rec, "actor"), "state")),
            cli_safe(cli_jstr(json_object_get(rec, "actor"), "poc")), info->from.state,
            info->from.poc);
    rc = 0;
    break;
  }
  json_decref(v);
  if (rc < 0) rc = cli_fail_err("REFUSED: cannot open the package", &err);
  return rc;
}

int cmd_evidence_fetch(int argc, char **argv) {
  const char *out_dir = ".";
  int i = 1;
  const char *ev_id = NULL;
  uint64_t limit_rate = 0;
  for (; i < argc; i++) {
    if (!strcmp(argv[i], "--out") && i + 1 < argc)
      out_dir = argv[++i];
    else if (!strcmp(argv[i], "--limit-rate") && i + 1 < argc) {
      char *end;
      errno = 0;
      unsigned long long r = strtoull(argv[++i], &end, 10);
      if (errno || end == argv[i] || *end || r < 65536 || r > (1ull << 40))
        return cli_fail("--limit-rate: bytes per second, 65536 to 2^40");
      limit_rate = r;
    } else if (!strcmp(argv[i], "--help")) {
      puts("Usage: parley evidence fetch ID [--out DIR] [--limit-rate BYTES_PER_S]\n"
           "Downloads the package's ciphertext (HTTP ranges; resumes after a dropped\n"
           "connection), checks every chunk against the signed Merkle root as it arrives,\n"
           "decrypts it, and writes DIR/ID/<file> once every file's SHA-256 matches the\n"
           "manifest. Then records signed custody events: downloaded, verified.\n"
           "--limit-rate keeps the download under that many bytes per second.");
      return 0;
    } else if (!ev_id)
      ev_id = argv[i];
    else
      return cli_fail("unexpected argument %s", argv[i]);
  }
  if (!ev_id || !parley_uuid_valid(ev_id)) return cli_fail("give the package id");
  parley_identity id;
  if (cli_load_identity(&id)) return 1;
  json_t *pkg = NULL;
  const json_t *manifest = NULL;
  parley_evidence_info *info = calloc(1, sizeof *info);
  fetch_ctx f;
  memset(&f, 0, sizeof f);
  f.fd = -1;
  f.limit_rate = limit_rate;
  hash_list hl = {NULL, 0};
  parley_content_key key;
  char me_state[4], me_poc[64];
  parley_error err;
  int rc = !info ? cli_fail("out of memory")
                 : verified_manifest(&id, ev_id, "REFUSED", &pkg, &manifest, info, NULL, NULL);
  if (!rc && whoami(&id, me_state, me_poc)) rc = 1;
  if (!rc) rc = open_content_key(&id, ev_id, manifest, info, &key);
  if (!rc && strcmp(cli_jstr(pkg, "status") ? cli_jstr(pkg, "status") : "", "available"))
    rc = cli_fail("the package is %s", cli_safe(cli_jstr(pkg, "status")));
  if (!rc) rc = fetch_hashes(&id, ev_id, info, &hl);
  char dir[1024];
  if (!rc) {
    snprintf(dir, sizeof dir, "%s/%s", out_dir, ev_id);
    mkdir(out_dir, 0700);
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) rc = cli_fail("%s: %s", dir, strerror(errno));
  }
  parley_evidence_file *files = NULL;
  if (!rc) {
    files = calloc(info->n_files, sizeof *files);
    f.sha = calloc(info->n_files, sizeof *f.sha);
    f.part_paths = calloc(info->n_files, sizeof *f.part_paths);
    f.ct = malloc(PARLEY_EVIDENCE_CHUNK_CT);
    f.pt = malloc(PARLEY_EVIDENCE_CHUNK);
    if (!files || !f.sha || !f.part_paths || !f.ct || !f.pt) rc = cli_fail("out of memory");
  }
  for (size_t k = 0; !rc && k < info->n_files; k++) {
    if (parley_evidence_manifest_file(manifest, k, &files[k], &err))
      rc = cli_fail_err("manifest", &err);
    else {
      size_t cap = strlen(dir) + strlen(files[k].name) + 8;
      if (!(f.part_paths[k] = malloc(cap)))
        rc = cli_fail("out of memory");
      else
        snprintf(f.part_paths[k], cap, "%s/%s.part", dir, files[k].name);
    }
    parley_sha256_init(&f.sha[k]);
  }
  if (!rc) {
    f.info = info;
    f.hashes = hl.hashes;
    f.files = files;
    f.nfiles = info->n_files;
    f.left_in_file = 0;
    f.cur_file = 0;
    parley_evidence_stream_start(&key, info->stream_header, &f.st);
    uint64_t resumed = resume_local(&f, &key);
    if (resumed)
      fprintf(stderr, "parley: %llu chunk(s) already here and verified; resuming at chunk %llu\n",
              (unsigned long long)resumed, (unsigned long long)resumed);
    progress_start(&f.pr, "download", info->ciphertext_size, resumed * PARLEY_EVIDENCE_CHUNK_CT);
    char path[160];
    snprintf(path, sizeof path, "/v1/evidence/%s/content", ev_id);
    ev_response r;
    memset(&r, 0, sizeof r);
    parley_buf_init(&r.body, 1u << 20);
    r.sink = fetch_sink;
    r.sink_cls = &f;
    uint64_t last_progress = parley_mono_ns();
    while (f.chunk < info->chunks) {
      f.ct_len = 0; /* a partial chunk is fetched again */
      uint64_t before = f.chunk;
      char range[64];
      snprintf(range, sizeof range, "bytes=%llu-",
               (unsigned long long)(f.chunk * PARLEY_EVIDENCE_CHUNK_CT));
      int t = ev_request(&id, "GET", path, NULL, 0, NULL, NULL, NULL, range, &r, true);
      if (f.failure[0]) {
        rc = cli_fail("REFUSED: %s", f.failure);
        break;
      }
      if (f.chunk > before) last_progress = parley_mono_ns();
      if (f.chunk == info->chunks) break;
      if (!t && r.status != 206 && r.status != 200 && r.status != 503 && r.status != 429) {
        rc = ev_print_error(&r);
        break;
      }
      if (t)
        fprintf(stderr, "parley: the download broke at chunk %llu; resuming\n",
                (unsigned long long)f.chunk);
      if (!ev_retryable(t || r.status == 200 || r.status == 206, &r, last_progress)) {
        rc = cli_fail("the hub is unreachable");
        break;
      }
    }
    parley_buf_free(&r.body);
    if (!rc) {
      progress_update(&f.pr, info->ciphertext_size, true);
      /* files past the last written byte (empty ones) */
      if (!write_plain(&f, NULL, 0)) rc = cli_fail("writing the files failed");
      while (!rc && f.cur_file < f.nfiles) {
        if (f.fd >= 0) {
          fsync(f.fd);
          close(f.fd);
          f.fd = -1;
          f.cur_file++;
          continue;
        }
        f.fd = open(f.part_paths[f.cur_file], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (f.fd < 0) rc = cli_fail("writing the files failed");
      }
    }
  }
  if (f.fd >= 0) close(f.fd);
  if (!rc)
    rc = post_custody(&id, ev_id, info, me_state, me_poc, "downloaded",
                      "every ciphertext chunk received");
  size_t bad = 0;
  for (size_t k = 0; !rc && k < info->n_files; k++) {
    parley_hash h;
    parley_sha256_final(&f.sha[k], &h);
    if (sodium_memcmp(h.b, files[k].sha256, 32) != 0) {
      cli_fail("REFUSED: %s does not match its SHA-256 in the manifest", cli_safe(files[k].name));
      bad++;
      continue;
    }
    char final_path[1400];
    int n = snprintf(final_path, sizeof final_path, "%s/%s", dir, files[k].name);
    if (n < 0 || (size_t)n >= sizeof final_path)
      rc = cli_fail("%s/%s: path too long", dir, cli_safe(files[k].name));
    else if (rename(f.part_paths[k], final_path) != 0)
      rc = cli_fail("%s: %s", final_path, strerror(errno));
  }
  if (!rc && bad) rc = 1;
  if (!rc)
    rc = post_custody(&id, ev_id, info, me_state, me_poc, "verified",
                      "every chunk hash and every file's SHA-256 matched the manifest");
  if (!rc)
    printf("VERIFIED: evidence %s from %s/%s: %zu file(s), %llu bytes in %s (every chunk and "
           "file hash matched the signed manifest)\n",
           ev_id, info->from.state, info->from.poc, info->n_files,
           (unsigned long long)info->plaintext_size, dir);
  sodium_memzero(&key, sizeof key);
  if (f.pt) sodium_memzero(f.pt, PARLEY_EVIDENCE_CHUNK);
  for (size_t k = 0; f.part_paths && k < info->n_files; k++)
    free(f.part_paths[k]);
  free(f.part_paths);
  free(f.sha);
  free(f.ct);
  free(f.pt);
  free(files);
  free(hl.hashes);
  free(info);
  json_decref(pkg);
  parley_identity_wipe(&id);
  return rc;
}

/* ---- verify: local files against the verified, logged manifest ------------------------- */

int cmd_evidence_verify(int argc, char **argv) {
  if (argc < 2 || !strcmp(argv[1], "--help")) {
    puts("Usage: parley evidence verify ID [DIR]\n"
         "Checks the package's manifest (sender's signature, log inclusion) and, given the\n"
         "folder fetch wrote (default ./ID), every file's size and SHA-256.");
    return argc < 2 ? 2 : 0;
  }
  const char *ev_id = argv[1];
  if (!parley_uuid_valid(ev_id)) return cli_fail("give the package id");
  parley_identity id;
  if (cli_load_identity(&id)) return 1;
  json_t *pkg = NULL;
  const json_t *manifest = NULL;
  parley_evidence_info info;
  uint64_t index = 0, size = 0;
  int rc = verified_manifest(&id, ev_id, "NOT VERIFIED", &pkg, &manifest, &info, &index, &size);
  parley_identity_wipe(&id);
  if (!rc) {
    printf("VERIFIED: manifest signed by %s/%s (key %s, held by %s's record when it was "
           "logged)\n",
           info.from.state, info.from.poc, info.from.key_id, info.from.state);
    printf("VERIFIED: manifest is entry %llu of the log (checkpoint of %llu)\n",
           (unsigned long long)index, (unsigned long long)size);
  }
  char dir[1024];
  snprintf(dir, sizeof dir, "%s", argc > 2 ? argv[2] : ev_id);
  for (size_t k = 0; !rc && k < info.n_files; k++) {
    parley_evidence_file fl;
    parley_error err;
    if (parley_evidence_manifest_file(manifest, k, &fl, &err)) {
      rc = cli_fail_err("manifest", &err);
      break;
    }
    char path[1400];
    snprintf(path, sizeof path, "%s/%s", dir, fl.name);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      rc = cli_fail("NOT VERIFIED: %s: %s", path, strerror(errno));
      break;
    }
    parley_sha256_ctx c;
    parley_sha256_init(&c);
    uint8_t buf[65536];
    ssize_t n;
    uint64_t total = 0;
    while ((n = read(fd, buf, sizeof buf)) > 0) {
      parley_sha256_update(&c, buf, (size_t)n);
      total += (uint64_t)n;
    }
    close(fd);
    parley_hash h;
    parley_sha256_final(&c, &h);
    if (n < 0 || total != fl.size || sodium_memcmp(h.b, fl.sha256, 32) != 0)
      rc = cli_fail("NOT VERIFIED: %s differs from the manifest", cli_safe(path));
    else
      printf("VERIFIED: %s (%llu bytes, SHA-256 as in the manifest)\n", path,
             (unsigned long long)total);
  }
  json_decref(pkg);
  return rc;
}

/* ---- custody ------------------------------------------------------------------------------ */

int cmd_evidence_custody(int argc, char **argv) {
  if (argc != 2 || !strcmp(argv[1], "--help")) {
    puts("Usage: parley evidence custody ID\n"
         "Lists the package's chain of custody and checks each event: that it is in the\n"
         "transparency log, its signature by its actor (the sender's and POCs' keys that\n"
         "their states' verified records held when it was logged, the hub's pinned key),\n"
         "that it names this package and manifest, and for a \"shared\" event the sender's\n"
         "consent (with the key its record held when the event was logged).");
    return argc == 2 ? 0 : 2;
  }
  const char *ev_id = argv[1];
  if (!parley_uuid_valid(ev_id)) return cli_fail("give the package id");
  parley_identity id;
  if (cli_load_identity(&id)) return 1;
  json_t *pkg = NULL;
  const json_t *manifest = NULL;
  parley_evidence_info info;
  int rc = verified_manifest(&id, ev_id, "REFUSED", &pkg, &manifest, &info, NULL, NULL);
  char path[160];
  snprintf(path, sizeof path, "/v1/evidence/%s/custody", ev_id);
  json_t *v = rc ? NULL : ev_get_json(&id, path);
  parley_identity_wipe(&id);
  if (!v) {
    json_decref(pkg);
    return 1;
  }
  parley_sign_pk hub_pk;
  bool have_hub = cli_hub_key(&hub_pk) == 0;
  char mh[64];
  parley_b64url_encode(info.hash.b, 32, mh, sizeof mh);
  size_t i, failed = 0;
  json_t *item;
  json_array_foreach(json_object_get(v, "custody"), i, item) {
    const char *event = cli_jstr(item, "event");
    const json_t *rec = json_object_get(item, "record");
    long long li = -1;
    cli_jint(item, "leaf_index", &li);
    char why[256] = "", who[400] = "?";
    bool sealed = i == 0 || (event && !strcmp(event, "sealed"));
    const char *kind = sealed ? PARLEY_LOG_KIND_MANIFEST : PARLEY_LOG_KIND_CUSTODY;
    uint8_t leaf[32];
    uint64_t index = 0, size = 0;
    parley_error err;
    const json_t *actor = json_object_get(rec, "actor");
    bool by_poc = cli_jstr(actor, "state") && cli_jstr(actor, "poc") &&
                  parley_state_code_valid(cli_jstr(actor, "state"));
    if (sealed)
      snprintf(who, sizeof who, "%s/%s (sender)", info.from.state, info.from.poc);
    else if (cli_jstr(actor, "hub"))
      snprintf(who, sizeof who, "the hub");
    else if (by_poc)
      snprintf(who, sizeof who, "%s/%s", cli_jstr(actor, "state"),
               cli_safe(cli_jstr(actor, "poc")));
    /* its place in the log first: an actor's key counts as it was when the event was logged */
    if (!event || !json_is_object(rec))
      snprintf(why, sizeof why, "malformed entry");
    else if (cli_entry_leaf_hash(kind, rec, leaf) || cli_verify_inclusion(leaf, &index, &size))
      snprintf(why, sizeof why, "not provably in the hub's transparency log");
    else if ((long long)index != li)
      snprintf(why, sizeof why, "logged at %llu, the hub says %lld", (unsigned long long)index, li);
    if (why[0]) {
      /* said below */
    } else if (sealed) {
      if (i != 0 || strcmp(event, "sealed") || !json_equal((json_t *)rec, (json_t *)manifest))
        snprintf(why, sizeof why, "the first event must be the sealed manifest itself");
    } else {
      parley_sign_pk pk;
      char kw[256] = "the actor's key is unknown";
      bool have = false;
      if (cli_jstr(actor, "hub")) {
        have = have_hub;
        pk = hub_pk;
      } else if (by_poc) {
        have = key_when_logged(cli_jstr(actor, "state"), cli_jstr(actor, "poc"),
                               cli_jstr(actor, "key_id"), index, &pk, kw, sizeof kw) == 0;
      }
      if (!have)
        snprintf(why, sizeof why, "%s", kw);
      else if (parley_custody_verify(rec, &pk, &err))
        snprintf(why, sizeof why, "signature: %.200s", err.detail);
      else if (strcmp(cli_jstr(rec, "evidence") ? cli_jstr(rec, "evidence") : "", ev_id) ||
               strcmp(cli_jstr(rec, "manifest_sha256") ? cli_jstr(rec, "manifest_sha256") : "", mh))
        snprintf(why, sizeof why, "names another package or manifest");
      else if (strcmp(cli_jstr(rec, "event") ? cli_jstr(rec, "event") : "", event))
        snprintf(why, sizeof why, "the hub lists it as %s, it says %s", cli_safe(event),
                 cli_safe(cli_jstr(rec, "event")));
      else if (!strcmp(event, "shared")) {
        /* and the original sender's consent for exactly that POC */
        parley_envelope_party to;
        if (!check_shared(rec, ev_id, &info, index, &to, why, sizeof why)) {
          size_t k = strlen(who);
          snprintf(who + k, sizeof who - k, ", to %s/%s with %s/%s's signed consent", to.state,
                   to.poc, info.from.state, info.from.poc);
        }
      }
    }
    if (why[0]) {
      failed++;
      printf("NOT VERIFIED  %-10s by %s: %s\n", cli_safe(event), who, why);
    } else {
      printf("VERIFIED      %-10s by %s at %s (signature, package and manifest hash, log entry "
             "%llu)\n",
             event, who, cli_safe(cli_jstr(rec, i == 0 ? "created" : "time")),
             (unsigned long long)index);
    }
  }
  printf("%s: %zu custody event(s), %zu not verified; status %s\n",
         failed ? "NOT VERIFIED" : "VERIFIED", json_array_size(json_object_get(v, "custody")),
         failed, cli_safe(cli_jstr(v, "status")));
  json_decref(v);
  json_decref(pkg);
  return failed ? 1 : 0;
}

/* ---- onward sharing: consent (by the sender) and share (by a recipient) ----------------- */

/* "STATE:POC-ID" (one POC) from the state's verified record. */
static int resolve_one(const char *spec, parley_envelope_recipient *out, char state[4],
                       char poc[64]) {
  cli_recipient r[PARLEY_MAX_RECIPIENTS];
  size_t n = 0;
  const char *colon = strchr(spec, ':');
  for (int i = 0; colon && parley_poc_roles[i]; i++)
    if (!strcmp(parley_poc_roles[i], colon + 1))
      return cli_fail("--to %s: name one POC (STATE:POC-ID), not a role", spec);
  if (cli_resolve_recipients(spec, false, r, PARLEY_MAX_RECIPIENTS, &n, NULL)) return 1;
  if (n != 1) return cli_fail("--to %s: name one POC", spec);
  parley_strlcpy(state, r[0].state, 4);
  parley_strlcpy(poc, r[0].poc, 64);
  *out = (parley_envelope_recipient){state, poc, r[0].box};
  return 0;
}

int cmd_evidence_consent(int argc, char **argv) {
  const char *ev_id = NULL, *to = NULL, *out = NULL;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--to") && i + 1 < argc)
      to = argv[++i];
    else if (!strcmp(argv[i], "--out") && i + 1 < argc)
      out = argv[++i];
    else if (!strcmp(argv[i], "--help")) {
      puts("Usage: parley evidence consent ID --to STATE:POC [--out FILE]\n"
           "As the package's original sender, signs your consent that a recipient share it\n"
           "onward with that one POC (the consent names the package's manifest hash and the\n"
           "POC). Give the file to the recipient, who runs parley evidence share.");
      return 0;
    } else if (!ev_id)
      ev_id = argv[i];
    else
      return cli_fail("unexpected argument %s", argv[i]);
  }
  if (!ev_id || !parley_uuid_valid(ev_id) || !to)
    return cli_fail("usage: parley evidence consent ID --to STATE:POC [--out FILE]");
  parley_identity id;
  if (cli_load_identity(&id)) return 1;
  json_t *pkg = NULL, *c = NULL;
  const json_t *manifest = NULL;
  parley_evidence_info info;
  parley_envelope_recipient r;
  char me_state[4], me_poc[64], ts[4], tp[64];
  parley_error err;
  int rc = verified_manifest(&id, ev_id, "REFUSED", &pkg, &manifest, &info, NULL, NULL);
  if (!rc) rc = whoami(&id, me_state, me_poc);
  if (!rc) rc = resolve_one(to, &r, ts, tp);
  if (!rc && (strcmp(me_state, info.from.state) || strcmp(me_poc, info.from.poc)))
    fprintf(stderr,
            "parley: note: you are not this package's sender (%s/%s); the hub accepts only the "
            "sender's consent\n",
            info.from.state, info.from.poc);
  if (!rc && parley_consent_new(ev_id, &info.hash, ts, tp, me_state, me_poc, &id.sign_sk,
                                &id.sign_pk, parley_now(), &c, &err))
    rc = cli_fail_err("consent", &err);
  if (!rc) {
    char *text = json_dumps(c, JSON_COMPACT | JSON_SORT_KEYS);
    if (!text)
      rc = cli_fail("out of memory");
    else if (out && cli_write_file_atomic(out, text, strlen(text), 0644))
      rc = cli_fail("%s: cannot write", out);
    else if (!out)
      puts(text);
    else
      fprintf(stderr, "consent to share %s with %s/%s written to %s\n", ev_id, ts, tp, out);
    free(text);
  }
  json_decref(c);
  json_decref(pkg);
  parley_identity_wipe(&id);
  return rc;
}

int cmd_evidence_share(int argc, char **argv) {
  const char *ev_id = NULL, *to = NULL, *consent_path = NULL;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--to") && i + 1 < argc)
      to = argv[++i];
    else if (!strcmp(argv[i], "--consent") && i + 1 < argc)
      consent_path = argv[++i];
    else if (!strcmp(argv[i], "--help")) {
      puts("Usage: parley evidence share ID --to STATE:POC --consent FILE\n"
           "As a recipient, shares the package onward with one further POC: wraps the\n"
           "content key for that POC's encryption key (from its state's verified record)\n"
           "and records a signed, logged custody event \"shared\" carrying the original\n"
           "sender's consent (parley evidence consent). The hub refuses it without a\n"
           "valid consent naming this package and that POC (EVIDENCE_CONSENT).");
      return 0;
    } else if (!ev_id)
      ev_id = argv[i];
    else
      return cli_fail("unexpected argument %s", argv[i]);
  }
  if (!ev_id || !parley_uuid_valid(ev_id) || !to)
    return cli_fail("usage: parley evidence share ID --to STATE:POC --consent FILE");
  json_t *consent = NULL;
  if (consent_path) {
    size_t len = 0;
    char *text = cli_read_file(consent_path, 64 * 1024, &len);
    parley_json_limits lim = PARLEY_JSON_LIMITS_DEFAULT;
    parley_error err;
    if (!text) return cli_fail("%s: cannot read", consent_path);
    if (parley_json_parse_object(text, len, &lim, &consent, &err)) {
      free(text);
      return cli_fail_err(consent_path, &err);
    }
    free(text);
  }
  /* the consent is checked by the hub, which refuses the share without a valid one, and
   * by everyone who verifies the custody chain */
  parley_identity id;
  if (cli_load_identity(&id)) {
    json_decref(consent);
    return 1;
  }
  json_t *pkg = NULL, *ev = NULL;
  const json_t *manifest = NULL;
  parley_evidence_info info;
  parley_envelope_recipient r;
  parley_content_key key;
  char me_state[4], me_poc[64], ts[4], tp[64];
  parley_error err;
  int rc = verified_manifest(&id, ev_id, "REFUSED", &pkg, &manifest, &info, NULL, NULL);
  if (!rc) rc = whoami(&id, me_state, me_poc);
  if (!rc) rc = resolve_one(to, &r, ts, tp);
  if (!rc) rc = open_content_key(&id, ev_id, manifest, &info, &key);
  if (!rc && parley_custody_shared_new(ev_id, &info.hash, me_state, me_poc, &id.sign_sk,
                                       &id.sign_pk, parley_now(), &r, &key, consent, &ev, &err))
    rc = cli_fail_err("shared event", &err);
  sodium_memzero(&key, sizeof key);
  parley_buf b;
  parley_buf_init(&b, 128 * 1024);
  ev_response resp;
  memset(&resp, 0, sizeof resp);
  parley_buf_init(&resp.body, 1u << 20);
  if (!rc && parley_jcs(ev, &b, &err)) rc = cli_fail_err("shared event", &err);
  if (!rc) {
    char path[160];
    snprintf(path, sizeof path, "/v1/evidence/%s/custody", ev_id);
    uint64_t t0 = parley_mono_ns();
    int t;
    while ((t = ev_request(&id, "POST", path, b.data, b.len, "application/json", NULL, NULL, NULL,
                           &resp, false)) ||
           resp.status == 503 || resp.status == 429)
      if (!ev_retryable(t, &resp, t0)) break;
    if (t)
      rc = cli_fail("the hub is unreachable");
    else if (resp.status != 201)
      rc = ev_print_error(&resp);
  }
  if (!rc) {
    json_t *a = NULL;
    parley_json_limits lim = PARLEY_JSON_LIMITS_DEFAULT;
    long long leaf = -1;
    if (!parley_json_parse((const char *)resp.body.data, resp.body.len, &lim, &a, &err))
      cli_jint(a, "leaf_index", &leaf);
    json_decref(a);
    printf("shared evidence %s with %s/%s (custody event \"shared\", log entry %lld)\n", ev_id, ts,
           tp, leaf);
  }
  parley_buf_free(&b);
  parley_buf_free(&resp.body);
  json_decref(ev);
  json_decref(consent);
  json_decref(pkg);
  parley_identity_wipe(&id);
  return rc;
}
