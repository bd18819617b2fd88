/* The notifier: e-mail alerts over SMTP and webhooks signed by the hub (libcurl), sent
 * by one worker thread from an in-memory queue so that no request waits on a mail or
 * web server. Alerts carry metadata only ("urgent request REF from EST, acknowledge by
 * T"), never message content. */
#include <curl/curl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "handlers.h"

typedef struct alert {
  struct alert *next;
  char to[256];  /* e-mail address, or empty for a webhook */
  char url[512]; /* webhook URL, or empty for an e-mail */
  char subject[256];
  char body[2048];
} alert;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wake = PTHREAD_COND_INITIALIZER;
static alert *head, *tail;
static size_t queued;
static bool stopping;
static pthread_t worker;
static bool running;
static atomic_ullong sent_count, failed_count;

typedef struct {
  const char *data;
  size_t len, off;
} upload;

static size_t read_cb(char *buf, size_t size, size_t n, void *ud) {
  upload *u = ud;
  size_t left = u->len - u->off, want = size * n;
  size_t k = left < want ? left : want;
  memcpy(buf, u->data + u->off, k);
  u->off += k;
  return k;
}

/* Header values must not carry CR/LF (header injection). */
static void clean_line(char *s) {
  for (; *s; s++)
    if (*s == '\r' || *s == '\n') *s = ' ';
}

static bool send_one(const alert *a) {
  const parleyd_config *c = &parleyd->cfg;
  char date[64], msg[4096];
  time_t now = time(NULL);
  struct tm tm;
  gmtime_r(&now, &tm);
  strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S +0000", &tm);
  char id[PARLEY_UUID_LEN];
  parley_uuid7(id);
  int n = snprintf(msg, sizeof msg,
                   "Date: %s\r\nFrom: %s\r\nTo: %s\r\nSubject: %s\r\nMessage-ID: <%s@%s>\r\n"
                   "Content-Type: text/plain; charset=utf-8\r\nAuto-Submitted: auto-generated\r\n"
                   "\r\n%s\r\n",
                   date, c->smtp_from, a->to, a->subject, id, c->origin, a->body);
  if (n < 0 || (size_t)n >= sizeof msg) return false;
  CURL *curl = curl_easy_init();
  if (!curl) return false;
  char from[300];
  snprintf(from, sizeof from, "<%s>", c->smtp_from);
  char to[300];
  snprintf(to, sizeof to, "<%s>", a->to);
  struct curl_slist *rcpt = curl_slist_append(NULL, to);
  upload u = {msg, (size_t)n, 0};
  curl_easy_setopt(curl, CURLOPT_URL, c->smtp_url);
  curl_easy_setopt(curl, CURLOPT_MAIL_FROM, from);
  curl_easy_setopt(curl, CURLOPT_MAIL_RCPT, rcpt);
  curl_easy_setopt(curl, CURLOPT_READFUNCTION, read_cb);
  curl_easy_setopt(curl, CURLOPT_READDATA, &u);
  curl_easy_setopt(curl, CURLOPT_UPLOAD, 1L);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT, 20L);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
  CURLcode rc = curl_easy_perform(curl);
  curl_slist_free_all(rcpt);
  curl_easy_cleanup(curl);
  if (rc != CURLE_OK)
    parley_log(PARLEY_LOG_WARN, "notify.smtp_failed", "to=%s error=\"%s\"", a->to,
               curl_easy_strerror(rc));
  return rc == CURLE_OK;
}

/* POSTs a JSON alert to a POC's webhook, signed by the hub:
 *   Parley-Signature: keyid="<hub key id>", sig="<base64url Ed25519 over
 *                     "parley/v1/webhook\n" || body>" */
static bool post_webhook(const alert *a) {
  parley_sig sig;
  char sig_b64[PARLEY_SIG_B64_LEN], hdr[256];
  if (parley_sign(&parleyd->hub_key.sign_sk, "webhook", a->body, strlen(a->body), &sig) !=
      PARLEY_E_OK)
    return false;
  parley_sig_to_b64(&sig, sig_b64);
  snprintf(hdr, sizeof hdr, "Parley-Signature: keyid=\"%s\", sig=\"%s\"", parleyd->hub_key_id,
           sig_b64);
  CURL *curl = curl_easy_init();
  if (!curl) return false;
  struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
  h = curl_slist_append(h, hdr);
  h = curl_slist_append(h, "Expect:");
  curl_easy_setopt(curl, CURLOPT_URL, a->url);
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, h);
  curl_easy_setopt(curl, CURLOPT_POSTFIELDS, a->body);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT, 10L);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "https,http");
  CURLcode rc = curl_easy_perform(curl);
  long status = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  curl_slist_free_all(h);
  curl_easy_cleanup(curl);
  if (rc != CURLE_OK || status < 200 || status > 299)
    parley_log(PARLEY_LOG_WARN, "notify.webhook_failed", "status=%ld error=\"%s\"", status,
               curl_easy_strerror(rc));
  return rc == CURLE_OK && status >= 200 && status <= 299;
}

static void *run(void *arg) {
  (void)arg;
  pthread_mutex_lock(&lock);
  for (;;) {
    while (!head && !stopping)
      pthread_cond_wait(&wake, &lock);
    if (!head && stopping) break;
    alert *a = head;
    head = a->next;
    if (!head) tail = NULL;
    queued--;
    pthread_mutex_unlock(&lock);
    bool ok = false;
    for (int attempt = 0; attempt < 3 && !ok; attempt++)
      ok = a->url[0] ? post_webhook(a) : send_one(a);
    atomic_fetch_add(ok ? &sent_count : &failed_count, 1);
    parley_log(ok ? PARLEY_LOG_INFO : PARLEY_LOG_ERROR,
               a->url[0] ? "notify.webhook" : "notify.email", "to=%s sent=%d",
               a->url[0] ? "webhook" : a->to, ok);
    free(a);
    pthread_mutex_lock(&lock);
  }
  pthread_mutex_unlock(&lock);
  return NULL;
}

void parleyd_notify_start(void) {
  running = pthread_create(&worker, NULL, run, NULL) == 0;
}

void parleyd_notify_stop(void) {
  pthread_mutex_lock(&lock);
  stopping = true;
  pthread_cond_signal(&wake);
  pthread_mutex_unlock(&lock);
  if (running) pthread_join(worker, NULL);
  running = false;
}

static void enqueue(alert *a);

void parleyd_notify_email(const char *to, const char *subject, const char *body) {
  if (!parleyd->cfg.smtp_url[0] || !to || !*to) return;
  alert *a = calloc(1, sizeof *a);
  if (!a) return;
  parley_strlcpy(a->to, to, sizeof a->to);
  parley_strlcpy(a->subject, subject, sizeof a->subject);
  parley_strlcpy(a->body, body, sizeof a->body);
  clean_line(a->to);
  clean_line(a->subject);
  enqueue(a);
}

void parleyd_notify_webhook(const char *url, const char *json_body) {
  if (!url || !*url || strlen(json_body) >= sizeof((alert *)0)->body) return;
  alert *a = calloc(1, sizeof *a);
  if (!a) return;
  parley_strlcpy(a->url, url, sizeof a->url);
  parley_strlcpy(a->body, json_body, sizeof a->body);
  enqueue(a);
}

static void enqueue(alert *a) {
  pthread_mutex_lock(&lock);
  if (queued >= 10000) { /* bounded: a dead mail server must not eat the hub's memory */
    pthread_mutex_unlock(&lock);
    free(a);
    atomic_fetch_add(&failed_count, 1);
    return;
  }
  if (tail)
    tail->next = a;
  else
    head = a;
  tail = a;
  queued++;
  pthread_cond_signal(&wake);
  pthread_mutex_unlock(&lock);
}

void parleyd_notify_stats(uint64_t *sent, uint64_t *failed) {
  *sent = atomic_load(&sent_count);
  *failed = atomic_load(&failed_count);
}
