/* GET /: the hub's public status page, for a browser. Shows only what is public: the
 * hub's identity, its log size, and which states are onboarded with their root-key
 * fingerprints (what a state reads aloud to confirm it is the one pinned). Every value
 * printed is HTML-escaped; the page runs no script (its CSP allows only its own style,
 * by hash). */
#include <stdio.h>
#include <string.h>

#include "handlers.h"

/* The page's one style sheet; the CSP names its hash. */
static const char STYLE[] =
    "body{font:16px/1.5 system-ui,sans-serif;max-width:72em;margin:2em auto;padding:0 1em;"
    "color:#111}table{border-collapse:collapse;width:100%}td,th{text-align:left;padding:.3em "
    ".6em;border-bottom:1px solid #ddd}code{font-size:.85em}";

static parley_err html(parley_buf *b, const char *s) {
  parley_err e = PARLEY_E_OK;
  for (; s && *s && !e; s++) {
    switch (*s) {
    case '<':
      e = parley_buf_puts(b, "&lt;");
      break;
    case '>':
      e = parley_buf_puts(b, "&gt;");
      break;
    case '&':
      e = parley_buf_puts(b, "&amp;");
      break;
    case '"':
      e = parley_buf_puts(b, "&quot;");
      break;
    case '\'':
      e = parley_buf_puts(b, "&#39;");
      break;
    default:
      e = parley_buf_append(b, s, 1);
    }
  }
  return e;
}

/* No script, no connection, no form, no frame; the style above only, by its hash. */
static void home_csp(char *csp, size_t cap) {
  parley_hash h;
  char b64[48];
  parley_sha256(STYLE, sizeof STYLE - 1, &h);
  if (parley_b64_encode(h.b, sizeof h.b, b64, sizeof b64) != PARLEY_E_OK) b64[0] = 0;
  snprintf(csp, cap,
           "default-src 'none'; style-src 'sha256-%s'; base-uri 'none'; form-action 'none'; "
           "frame-ancestors 'none'",
           b64);
}

typedef struct {
  parley_buf *b;
  parley_err e;
  size_t n;
} page_ctx;

static bool row(void *cls, const parley_state_row *s) {
  page_ctx *c = cls;
  parley_sign_pk pk;
  memcpy(pk.b, s->root_pk, 32);
  char fpr[PARLEY_FINGERPRINT_HEX_LEN], disp[PARLEY_FINGERPRINT_DISPLAY_LEN], rb[PARLEY_TIME_LEN];
  parley_sign_pk_fingerprint(&pk, fpr);
  parley_fingerprint_display(fpr, disp);
  if (s->review_by)
    parley_time_format(s->review_by, rb);
  else
    parley_strlcpy(rb, "-", sizeof rb);
  parley_buf *b = c->b;
  char version[24];
  snprintf(version, sizeof version, "%lld", (long long)s->current_version);
  const char *cells[] = {s->code,
                         s->name,
                         s->region,
                         s->status ? "suspended" : "active",
                         version,
                         rb,
                         s->review_by && s->review_by < parley_now() ? " (stale)" : "",
                         disp};
  /* one cell each, but "review by" and its "(stale)" share one */
  static const char *const open[] = {"<tr><td>",  "</td><td>", "</td><td>", "</td><td>",
                                     "</td><td>", "</td><td>", "",          "</td><td><code>"};
  for (size_t i = 0; i < sizeof cells / sizeof cells[0] && !c->e; i++) {
    c->e = parley_buf_puts(b, open[i]);
    c->e = c->e ? c->e : html(b, cells[i]);
  }
  c->e = c->e ? c->e : parley_buf_puts(b, "</code></td></tr>\n");
  c->n++;
  return !c->e;
}

typedef struct {
  page_ctx *page;
  uint64_t size;
} home_tx;

static parley_qs build(parley_tx *tx, void *cls, parley_error *err) {
  (void)err;
  home_tx *h = cls;
  parley_buf_reset(h->page->b);
  h->page->e = PARLEY_E_OK;
  h->page->n = 0;
  parley_qs qs = parley_store_log_size(tx, &h->size);
  if (qs < 0) return qs;
  parley_buf *b = h->page->b;
  char fpr[PARLEY_FINGERPRINT_HEX_LEN], disp[PARLEY_FINGERPRINT_DISPLAY_LEN];
  parley_sign_pk_fingerprint(&parleyd->hub_key.sign_pk, fpr);
  parley_fingerprint_display(fpr, disp);
  h->page->e = parley_buf_printf(
      b,
      "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
      "<meta name=\"viewport\" content=\"width=device-width\"><title>Parley hub</title>"
      "<style>%s</style></head><body><h1>Parley hub: ",
      STYLE);
  h->page->e = h->page->e ? h->page->e : html(b, parleyd->cfg.origin);
  h->page->e = h->page->e ? h->page->e
                          : parley_buf_printf(b,
                                              "</h1><p>The single window for states' points of "
                                              "contact. Hub key fingerprint: <code>%s</code>. "
                                              "Transparency log: %llu entries.</p>"
                                              "<h2>States in the directory</h2><table><tr><th>"
                                              "Code</th><th>Name</th><th>Regional group</th><th>"
                                              "Status</th><th>Record version</th><th>Review by"
                                              "</th><th>Root key fingerprint</th></tr>\n",
                                              disp, (unsigned long long)h->size);
  qs = parley_store_state_list(tx, row, h->page);
  if (qs < 0) return qs;
  if (!h->page->e)
    h->page->e = parley_buf_puts(
        b, "</table><p>Points of contact, messages and records are shown to signed-in "
           "parties only: use <code>parley directory list</code>.</p></body></html>\n");
  return PARLEY_QS_ONE;
}

void h_home(parleyd_req *r) {
  parley_buf b;
  parley_buf_init(&b, 8u << 20);
  page_ctx page = {&b, PARLEY_E_OK, 0};
  home_tx h = {&page, 0};
  parley_error err;
  if (parley_store_run_named(parleyd->store, "build", false, build, &h, &err) != PARLEY_E_OK) {
    parley_buf_free(&b);
    parleyd_reply_err(r, &err);
    return;
  }
  if (page.e) {
    parley_buf_free(&b);
    parleyd_reply_error(r, page.e, "status page");
    return;
  }
  struct MHD_Response *resp = MHD_create_response_from_buffer(b.len, b.data, MHD_RESPMEM_MUST_COPY);
  parley_buf_free(&b);
  if (resp) {
    char csp[256];
    home_csp(csp, sizeof csp);
    MHD_add_response_header(resp, "Content-Type", "text/html; charset=utf-8");
    MHD_add_response_header(resp, "Content-Security-Policy", csp);
    MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
  }
  parleyd_reply_response(r, 200, resp);
}
