/* Cross-origin reads and writes of the API, so that the web app can run from a place
 * the operator does not control (`parley web` on the officer's machine, or a state's
 * own server: docs/threat-model.md) and still talk to the hub.
 *
 * Every API request is authenticated by its RFC 9421 signature, never by a cookie or
 * other ambient credential, so allowing any origin gives a foreign page nothing it
 * could not do with curl: it cannot sign without the key. Credentials are never
 * allowed (no Access-Control-Allow-Credentials). /app/ and the status page stay
 * same-origin. */
#include <string.h>

#include "hub.h"

#define CORS_MAX_AGE "600"

bool parleyd_cors_applies(const char *path) {
  return path && (strncmp(path, "/v1/", 4) == 0 || strncmp(path, "/log/", 5) == 0 ||
                  strcmp(path, "/healthz") == 0);
}

void parleyd_cors_headers(struct MHD_Response *resp) {
  MHD_add_response_header(resp, "Access-Control-Allow-Origin", "*");
  MHD_add_response_header(resp, "Access-Control-Expose-Headers",
                          "Retry-After, Location, Content-Digest, Content-Range, Upload-Offset, "
                          "Upload-Length, Tus-Resumable, Tus-Version, Tus-Extension, Tus-Max-Size");
}

struct MHD_Response *parleyd_cors_preflight(void) {
  struct MHD_Response *resp = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
  if (resp) {
    MHD_add_response_header(resp, "Access-Control-Allow-Methods",
                            "GET, HEAD, POST, PUT, PATCH, DELETE");
    MHD_add_response_header(resp, "Access-Control-Allow-Headers",
                            "Accept, Content-Type, Content-Digest, Signature, Signature-Input, "
                            "Last-Event-ID, Range, Upload-Offset, Upload-Length, Upload-Metadata, "
                            "Tus-Resumable");
    MHD_add_response_header(resp, "Access-Control-Max-Age", CORS_MAX_AGE);
  }
  return resp;
}
