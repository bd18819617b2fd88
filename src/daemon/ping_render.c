/* Communication checks' figures as CSV (RFC 4180: every cell quoted, quotes doubled)
 * and as a self-contained SVG chart. */
#include <stdio.h>
#include <string.h>

#include "parley/json.h"
#include "pings.h"

static parley_err csv_cell(parley_buf *b, const char *s, bool last) {
  parley_err e = parley_buf_puts(b, "\"");
  for (const char *p = s ? s : ""; *p && !e; p++)
    e = *p == '"' ? parley_buf_puts(b, "\"\"") : parley_buf_append(b, p, 1);
  return e ? e : parley_buf_puts(b, last ? "\"\r\n" : "\",");
}

parley_err parleyd_ping_report_csv(const parleyd_ping_round *d, parley_buf *b) {
  parley_err e = parley_buf_puts(b, "round,state,region,poc,roles,acknowledged,seconds_to_ack\r\n");
  for (size_t i = 0; i < d->n && !e; i++) {
    char roles[128] = "", secs[24] = "";
    size_t q;
    json_t *rv;
    json_array_foreach(d->t[i].roles, q, rv) {
      size_t l = strlen(roles);
      snprintf(roles + l, sizeof roles - l, "%s%s", q ? " " : "", json_string_value(rv));
    }
    if (d->t[i].acked)
      snprintf(secs, sizeof secs, "%lld", (long long)(d->t[i].acked - d->m.created));
    const char *cells[] = {d->m.id,     d->t[i].state, d->t[i].region,
                           d->t[i].poc, roles,         d->t[i].acked ? "yes" : "no",
                           secs};
    for (size_t k = 0; k < 7 && !e; k++)
      e = csv_cell(b, cells[k], k == 6);
  }
  return e;
}

parley_err parleyd_ping_trend_csv(const json_t *rounds, parley_buf *b) {
  parley_err e =
      parley_buf_puts(b, "round,series,issued,targets,acknowledged,rate,median_s,p90_s\r\n");
  size_t i;
  json_t *x;
  json_array_foreach(rounds, i, x) {
    if (e) break;
    e = parley_buf_printf(b, "%s,%s,%s,%lld,%lld,%.4f,%lld,%lld\r\n",
                          json_string_value(json_object_get(x, "id")),
                          json_string_value(json_object_get(x, "series")),
                          json_string_value(json_object_get(x, "issued")),
                          (long long)json_integer_value(json_object_get(x, "targets")),
                          (long long)json_integer_value(json_object_get(x, "acknowledged")),
                          json_real_value(json_object_get(x, "rate")),
                          (long long)json_integer_value(json_object_get(x, "median_s")),
                          (long long)json_integer_value(json_object_get(x, "p90_s")));
  }
  return e;
}

parley_err parleyd_ping_trend_svg(const json_t *rounds, parley_buf *b) {
  size_t n = json_array_size(rounds);
  const int W = 640, H = 320, L = 50, R = 20, T = 30, B = 50;
  parley_err e = parley_buf_printf(
      b,
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
      "font-family=\"sans-serif\" font-size=\"12\">\n"
      "<title>Communication checks: response rate per round</title>\n"
      "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n"
      "<text x=\"%d\" y=\"18\" font-size=\"14\">Response rate per round (%zu rounds)</text>\n",
      W, H, W, H, L, n);
  for (int pctv = 0; pctv <= 100 && !e; pctv += 25) {
    int y = T + (H - T - B) * (100 - pctv) / 100;
    e = parley_buf_printf(b,
                          "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#ddd\"/>"
                          "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">%d%%</text>\n",
                          L, y, W - R, y, L - 6, y + 4, pctv);
  }
  if (!e && n)
    e = parley_buf_puts(b,
                        "<polyline fill=\"none\" stroke=\"#1f5fa8\" stroke-width=\"2\" points=\"");
  for (size_t i = 0; i < n && !e; i++) {
    double rate = json_real_value(json_object_get(json_array_get(rounds, i), "rate"));
    int x =
        L + (n > 1 ? (int)((double)(W - L - R) * (double)i / (double)(n - 1)) : (W - L - R) / 2);
    int y = T + (int)((double)(H - T - B) * (1.0 - rate));
    e = parley_buf_printf(b, "%d,%d ", x, y);
  }
  if (!e && n) e = parley_buf_puts(b, "\"/>\n");
  for (size_t i = 0; i < n && !e; i++) {
    const json_t *rd = json_array_get(rounds, i);
    double rate = json_real_value(json_object_get(rd, "rate"));
    int x =
        L + (n > 1 ? (int)((double)(W - L - R) * (double)i / (double)(n - 1)) : (W - L - R) / 2);
    int y = T + (int)((double)(H - T - B) * (1.0 - rate));
    const char *issued = json_string_value(json_object_get(rd, "issued"));
    e = parley_buf_printf(b,
                          "<circle cx=\"%d\" cy=\"%d\" r=\"4\" fill=\"#1f5fa8\"><title>%s: %.0f%%"
                          "</title></circle><text x=\"%d\" y=\"%d\" text-anchor=\"middle\">%.10s"
                          "</text>\n",
                          x, y, issued ? issued : "", rate * 100, x, H - B + 18,
                          issued ? issued : "");
  }
  return e ? e : parley_buf_puts(b, "</svg>\n");
}
