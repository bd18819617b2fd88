/* GET /: the hub's public status page, for a browser. Shows only what is public: the
 * hub's identity, its log size, and which states are onboarded with their root-key
 * fingerprints (what a state reads aloud to confirm it is the one pinned). */
#include <string.h>

#include "handlers.h"

static parley_err html(parley_buf *b, const char *s) {
  parley_err e = PARLEY_E_OK;
  for (; *s && !e; s++) {
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
  c->e = c->e ? c->e : parley_buf_printf(b, "<tr><td>%s</td><td>", s->code);
  c->e = c->e ? c->e : html(b, s->name);
  c->e = c->e ? c->e
              : parley_buf_printf(
                    b,
                    "</td><td>%s</td><td>%s</td><td>%lld</td><td>%s%s</td>"
                    "<td><code>%s</code></td></tr>\n",
                    s->region, s->status ? "suspended" : "active", (long long)s->current_version,
                    rb, s->review_by && s->review_by < parley_now() ? " (stale)" : "", disp);
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
  h->page->e = parley_buf_puts(
      b, "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
         "<meta name=\"viewport\" content=\"width=device-width\"><title>Parley hub</title>"
         "<style>body{font:16px/1.5 system-ui,sans-serif;max-width:72em;margin:2em auto;"
         "padding:0 1em;color:#111}table{border-collapse:collapse;width:100%}td,th{text-align:"
         "left;padding:.3em .6em;border-bottom:1px solid #ddd}code{font-size:.85em}</style>"
         "</head><body><h1>Parley hub: ");
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
  parleyd_reply_raw(r, 200, "text/html; charset=utf-8", b.data, b.len);
  parley_buf_free(&b);
}
