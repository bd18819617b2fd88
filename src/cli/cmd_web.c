/* parley web: serves the web app from the officer's own machine, so that the code that
 * holds the key in the browser is the published bundle (checked against its
 * SHA256SUMS here) and not whatever the hub's operator chooses to serve
 * (docs/threat-model.md). The page then talks to the hub across origins; the hub's
 * API allows that because it authenticates signatures, never cookies.
 *
 * Listens on 127.0.0.1 only by default. Serves /app/<file> for the files SHA256SUMS
 * lists (read again and re-hashed at start), and /app/config.json: the hub's URL and
 * the witnesses this officer's config requires, which the page takes as its settings. */
#include <arpa/inet.h>
#include <curl/curl.h>
#include <getopt.h>
#include <jansson.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "webapp.h"

#ifndef PARLEY_WEB_DIR_DEFAULT
#define PARLEY_WEB_DIR_DEFAULT ""
#endif

typedef struct {
  const char *dir;
  char **names; /* what SHA256SUMS lists */
  char csp[768];
  char *config_json;
} web_site;

/* scheme://host[:port] of the hub, for connect-src; only http(s) URLs. */
static bool hub_origin(const char *url, char *out, size_t cap) {
  CURLU *u = curl_url();
  char *scheme = NULL, *host = NULL, *port = NULL;
  bool ok = u && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
            curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
            curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
            (strcmp(scheme, "https") == 0 || strcmp(scheme, "http") == 0);
  if (ok) {
    /* the port only as written in the URL (a default port is not part of the origin) */
    bool has_port = curl_url_get(u, CURLUPART_PORT, &port, 0) == CURLUE_OK;
    int n =
        snprintf(out, cap, "%s://%s%s%s", scheme, host, has_port ? ":" : "", has_port ? port : "");
    ok = n > 0 && (size_t)n < cap && !strpbrk(out, " ;,'\"");
  }
  curl_free(scheme);
  curl_free(host);
  curl_free(port);
  curl_url_cleanup(u);
  return ok;
}

static char *make_config(void) {
  json_t *w = json_array();
  for (size_t i = 0; w && i < cli.n_witnesses; i++) {
    char vkey[512];
    parley_error err;
    if (parley_cosig_verifier_format(&cli.witnesses[i], vkey, sizeof vkey, &err) == PARLEY_E_OK)
      json_array_append_new(w, json_string(vkey));
  }
  json_t *c = json_pack("{s:s, s:o, s:I}", "hub", cli.hub, "witnesses", w, "witnesses_required",
                        (json_int_t)cli.witnesses_required);
  char *s = c ? json_dumps(c, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
  json_decref(c);
  return s;
}

static bool site_lists(const web_site *s, const char *name) {
  for (size_t i = 0; s->names[i]; i++)
    if (strcmp(s->names[i], name) == 0) return true;
  return false;
}

static enum MHD_Result answer(struct MHD_Connection *conn, unsigned status,
                              struct MHD_Response *resp, const web_site *s, const char *type,
                              const char *cache) {
  if (!resp) return MHD_NO;
  webapp_strict_headers(resp, s->csp);
  if (type) MHD_add_response_header(resp, "Content-Type", type);
  MHD_add_response_header(resp, "Cache-Control", cache);
  enum MHD_Result rc = MHD_queue_response(conn, status, resp);
  MHD_destroy_response(resp);
  return rc;
}

static enum MHD_Result text(struct MHD_Connection *conn, unsigned status, const char *body,
                            const web_site *s) {
  struct MHD_Response *r =
      MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_PERSISTENT);
  return answer(conn, status, r, s, "text/plain; charset=utf-8", "no-store");
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_size, void **ctx) {
  (void)version;
  (void)upload_data;
  const web_site *s = cls;
  (void)upload_size;
  /* answered on the first call, from the head alone: no method here takes a body */
  if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
    return text(conn, 405, "only GET and HEAD\n", s);
  (void)ctx;
  if (strcmp(url, "/") == 0 || strcmp(url, "/app") == 0) {
    struct MHD_Response *r = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
    if (r) MHD_add_response_header(r, "Location", "/app/");
    return answer(conn, 302, r, s, NULL, "no-store");
  }
  if (strncmp(url, "/app/", 5) != 0) return text(conn, 404, "not found\n", s);
  const char *name = url[5] ? url + 5 : "index.html";
  if (strcmp(name, "config.json") == 0) {
    struct MHD_Response *r = MHD_create_response_from_buffer(strlen(s->config_json), s->config_json,
                                                             MHD_RESPMEM_PERSISTENT);
    return answer(conn, 200, r, s, "application/json", "no-store");
  }
  const char *type = webapp_content_type(name);
  if (!webapp_name_ok(name) || !type || (strcmp(name, "SHA256SUMS") != 0 && !site_lists(s, name)))
    return text(conn, 404, "not found\n", s);
  uint64_t size = 0;
  int fd = webapp_open(s->dir, name, &size);
  if (fd < 0) return text(conn, 404, "not found\n", s);
  struct MHD_Response *r = MHD_create_response_from_fd(size, fd);
  if (!r) close(fd);
  return answer(conn, 200, r, s, type,
                webapp_is_hashed(name) ? "public, max-age=31536000, immutable" : "no-store");
}

int cmd_web(int argc, char **argv) {
  static const struct option opts[] = {{"port", required_argument, 0, 'p'},
                                       {"listen", required_argument, 0, 'l'},
                                       {"dir", required_argument, 0, 'd'},
                                       {"help", no_argument, 0, 'h'},
                                       {0, 0, 0, 0}};
  long port = 8450;
  const char *listen_addr = "127.0.0.1", *dir = PARLEY_WEB_DIR_DEFAULT;
  int ch;
  while ((ch = getopt_long(argc, argv, "p:l:d:h", opts, NULL)) != -1) {
    if (ch == 'p') {
      char *end;
      port = strtol(optarg, &end, 10);
      if (*end || port < 0 || port > 65535) return cli_fail("web: --port: 0 to 65535");
    } else if (ch == 'l')
      listen_addr = optarg;
    else if (ch == 'd')
      dir = optarg;
    else {
      fputs("Usage: parley web [--port N] [--listen ADDR] [--dir DIR]\n"
            "Serves the web app from this machine (default http://127.0.0.1:8450/app/),\n"
            "checked against its SHA256SUMS, talking to the hub of your config with its\n"
            "witnesses. Open the address it prints; Ctrl-C stops it.\n",
            ch == 'h' ? stdout : stderr);
      return ch == 'h' ? 0 : 2;
    }
  }
  if (optind != argc) return cli_fail("web: no arguments expected (see parley web --help)");
  if (!cli.hub[0]) return cli_fail("web: no hub configured (--hub URL or 'hub =' in the config)");
  if (!dir[0]) return cli_fail("web: give --dir, the web app's build folder");
  char origin[512];
  if (!hub_origin(cli.hub, origin, sizeof origin))
    return cli_fail("web: the hub URL %s is not an http(s) URL", cli.hub);

  web_site site = {.dir = dir};
  uint8_t sums[32];
  char why[768];
  if (!webapp_check_folder(dir, sums, &site.names, why, sizeof why))
    return cli_fail("web: REFUSED: %s", why);
  if (!webapp_csp(site.csp, sizeof site.csp, origin) || !(site.config_json = make_config())) {
    webapp_names_free(site.names);
    return cli_fail("web: out of memory");
  }

  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  if (inet_pton(AF_INET, listen_addr, &sa.sin_addr) != 1) {
    webapp_names_free(site.names);
    free(site.config_json);
    return cli_fail("web: --listen: an IPv4 address, e.g. 127.0.0.1");
  }
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGINT);
  sigaddset(&stop, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop, NULL); /* before MHD's threads start: they inherit it */
  struct MHD_Daemon *d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG, 0,
                                          NULL, NULL, on_request, &site, MHD_OPTION_SOCK_ADDR,
                                          (struct sockaddr *)&sa, MHD_OPTION_CONNECTION_LIMIT, 64u,
                                          MHD_OPTION_CONNECTION_TIMEOUT, 30u, MHD_OPTION_END);
  if (!d) {
    webapp_names_free(site.names);
    free(site.config_json);
    return cli_fail("web: cannot listen on %s:%ld (in use?)", listen_addr, port);
  }
  const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
  char hex[65];
  sodium_bin2hex(hex, sizeof hex, sums, sizeof sums);
  printf("Parley web app: http://%s:%u/app/\n"
         "  hub: %s (witnesses required: %u)\n"
         "  bundle: %s, SHA-256 of its SHA256SUMS %s\n"
         "  (compare it with the hash your release publishes). Ctrl-C stops it.\n",
         listen_addr, info ? info->port : (unsigned)port, cli.hub, cli.witnesses_required, dir,
         hex);
  fflush(stdout);
  int sig = 0;
  sigwait(&stop, &sig);
  MHD_stop_daemon(d);
  webapp_names_free(site.names);
  free(site.config_json);
  return 0;
}
