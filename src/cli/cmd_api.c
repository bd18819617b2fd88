/* parley api METHOD PATH [--data FILE]: a signed request, for operators and scripts. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

int cmd_api(int argc, char **argv) {
  static const struct option opts[] = {{"data", required_argument, 0, 'd'},
                                       {"unsigned", no_argument, 0, 'u'},
                                       {"headers-only", no_argument, 0, 'H'},
                                       {"help", no_argument, 0, 'h'},
                                       {0, 0, 0, 0}};
  const char *data = NULL;
  bool sign = true;
  int ch;
  while ((ch = getopt_long(argc, argv, "d:uh", opts, NULL)) != -1) {
    if (ch == 'd')
      data = optarg;
    else if (ch == 'u')
      sign = false;
    else if (ch == 'H')
      cli.headers_only = true;
    else {
      fputs("Usage: parley api METHOD PATH [--data FILE|-] [--unsigned] [--headers-only]\n"
            "Sends METHOD PATH to the hub, signed with your key, with FILE as the JSON\n"
            "body, and prints the answer. Exit status 0 for 2xx, 1 otherwise.\n"
            "--headers-only prints the Signature-Input, Signature and Content-Digest\n"
            "headers instead of sending, for use with another HTTP client.\n",
            ch == 'h' ? stdout : stderr);
      return ch == 'h' ? 0 : 2;
    }
  }
  if (argc - optind != 2) return cli_fail("api: give METHOD and PATH (see parley api --help)");
  const char *method = argv[optind], *path = argv[optind + 1];
  if (path[0] != '/') return cli_fail("api: PATH must start with '/'");
  char *body = NULL;
  size_t len = 0;
  if (data && !(body = cli_read_file(data, 16u << 20, &len))) return 1;
  parley_identity id;
  if (sign && cli_load_identity(&id)) {
    free(body);
    return 1;
  }
  cli_response r;
  int rc = cli_http(method, path, body, len, sign ? &id : NULL, &r);
  if (sign) parley_identity_wipe(&id);
  free(body);
  if (rc || cli.headers_only) return rc;
  /* The hub's answer as it came, but for control characters (escaped: a JSON text
   * stays the same value), so that nothing in it reaches the terminal as a command. */
  cli_write_safe_text(stdout, r.body, r.len);
  if (r.len && r.body[r.len - 1] != '\n') putchar('\n');
  if (r.status < 200 || r.status > 299) rc = cli_print_http_error(&r);
  cli_response_free(&r);
  return rc;
}
