/* RFC 8941 Structured Field Values: the parsing algorithms of its section 4.2,
 * without allocation and with hard limits (see sf.h). */
#include "httpsig/sf.h"

#include <string.h>

typedef struct {
  const char *s;
  size_t n;
  size_t i;
  const char *what;
  parley_error *err;
} sfp;

static int peek(const sfp *p) {
  return p->i < p->n ? (unsigned char)p->s[p->i] : -1;
}

static bool is_lcalpha(int c) {
  return c >= 'a' && c <= 'z';
}

static bool is_alpha(int c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_digit(int c) {
  return c >= '0' && c <= '9';
}

/* RFC 9110 tchar */
static bool is_tchar(int c) {
  if (is_alpha(c) || is_digit(c)) return true;
  return c > 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static bool is_b64char(int c) {
  return is_alpha(c) || is_digit(c) || c == '+' || c == '/' || c == '=';
}

static parley_err bad(const sfp *p, const char *msg) {
  return parley_fail(p->err, PARLEY_E_AUTH_MALFORMED, "%s: %s at offset %zu", p->what, msg, p->i);
}

static void skip_sp(sfp *p) {
  while (peek(p) == ' ')
    p->i++;
}

static void skip_ows(sfp *p) {
  while (peek(p) == ' ' || peek(p) == '\t')
    p->i++;
}

static parley_sf_span span(const sfp *p, size_t start) {
  parley_sf_span sp = {p->s + start, p->i - start};
  return sp;
}

bool parley_sf_span_eq(parley_sf_span a, const char *s) {
  size_t n = strlen(s);
  return a.n == n && memcmp(a.p, s, n) == 0;
}

static bool span_same(parley_sf_span a, parley_sf_span b) {
  return a.n == b.n && memcmp(a.p, b.p, a.n) == 0;
}

static parley_err parse_key(sfp *p, parley_sf_span *key) {
  int c = peek(p);
  if (!is_lcalpha(c) && c != '*') return bad(p, "expected a key");
  size_t start = p->i;
  for (;;) {
    c = peek(p);
    if (!(is_lcalpha(c) || is_digit(c) || c == '_' || c == '-' || c == '.' || c == '*')) break;
    p->i++;
    if (p->i - start > PARLEY_SF_KEY_MAX) return bad(p, "key too long");
  }
  *key = span(p, start);
  return PARLEY_E_OK;
}

static parley_err parse_number(sfp *p, parley_sf_item *it) {
  size_t start = p->i;
  bool neg = false;
  if (peek(p) == '-') {
    neg = true;
    p->i++;
  }
  if (!is_digit(peek(p))) return bad(p, "expected a digit");
  int64_t v = 0;
  size_t int_digits = 0, frac_digits = 0;
  bool decimal = false;
  for (;;) {
    int c = peek(p);
    if (is_digit(c)) {
      if (decimal) {
        if (++frac_digits > 3) return bad(p, "decimal has more than 3 fraction digits");
      } else {
        if (++int_digits > 15) return bad(p, "integer has more than 15 digits");
        v = v * 10 + (c - '0'); /* < 10^15: cannot overflow */
      }
      p->i++;
    } else if (c == '.' && !decimal) {
      if (int_digits > 12) return bad(p, "decimal has more than 12 integer digits");
      decimal = true;
      p->i++;
    } else {
      break;
    }
  }
  if (decimal && frac_digits == 0) return bad(p, "decimal ends with '.'");
  it->type = decimal ? PARLEY_SF_DECIMAL : PARLEY_SF_INTEGER;
  it->integer = decimal ? 0 : (neg ? -v : v);
  it->text = span(p, start);
  return PARLEY_E_OK;
}

static parley_err parse_string(sfp *p, parley_sf_item *it) {
  p->i++; /* opening DQUOTE */
  size_t start = p->i;
  for (;;) {
    int c = peek(p);
    if (c < 0) return bad(p, "unterminated string");
    if (c == '\\') {
      p->i++;
      c = peek(p);
      if (c != '"' && c != '\\') return bad(p, "bad escape in string");
      p->i++;
    } else if (c == '"') {
      it->type = PARLEY_SF_STRING;
      it->text = span(p, start);
      p->i++;
      return PARLEY_E_OK;
    } else if (c < 0x20 || c > 0x7e) {
      return bad(p, "invalid character in string");
    } else {
      p->i++;
    }
  }
}

static parley_err parse_token(sfp *p, parley_sf_item *it) {
  size_t start = p->i;
  p->i++; /* first char checked by caller: ALPHA or "*" */
  for (;;) {
    int c = peek(p);
    if (!(is_tchar(c) || c == ':' || c == '/')) break;
    p->i++;
  }
  it->type = PARLEY_SF_TOKEN;
  it->text = span(p, start);
  return PARLEY_E_OK;
}

static parley_err parse_bytes(sfp *p, parley_sf_item *it) {
  p->i++; /* opening ":" */
  size_t start = p->i;
  for (;;) {
    int c = peek(p);
    if (c < 0) return bad(p, "unterminated byte sequence");
    if (c == ':') break;
    if (!is_b64char(c)) return bad(p, "invalid character in byte sequence");
    p->i++;
  }
  it->type = PARLEY_SF_BYTES;
  it->text = span(p, start);
  p->i++;
  return PARLEY_E_OK;
}

static parley_err parse_bare_item(sfp *p, parley_sf_item *it) {
  memset(it, 0, sizeof *it);
  int c = peek(p);
  if (c == '-' || is_digit(c)) return parse_number(p, it);
  if (c == '"') return parse_string(p, it);
  if (is_alpha(c) || c == '*') return parse_token(p, it);
  if (c == ':') return parse_bytes(p, it);
  if (c == '?') {
    size_t start = p->i;
    p->i++;
    c = peek(p);
    if (c != '0' && c != '1') return bad(p, "bad boolean");
    p->i++;
    it->type = PARLEY_SF_BOOLEAN;
    it->integer = c == '1';
    it->text = span(p, start);
    return PARLEY_E_OK;
  }
  return c < 0 ? bad(p, "unexpected end") : bad(p, "unexpected character");
}

static parley_err parse_params(sfp *p, parley_sf_params *out) {
  out->n = 0;
  while (peek(p) == ';') {
    p->i++;
    skip_sp(p);
    parley_sf_param prm;
    parley_err rc = parse_key(p, &prm.key);
    if (rc) return rc;
    memset(&prm.value, 0, sizeof prm.value);
    prm.value.type = PARLEY_SF_BOOLEAN;
    prm.value.integer = 1;
    if (peek(p) == '=') {
      p->i++;
      rc = parse_bare_item(p, &prm.value);
      if (rc) return rc;
    }
    for (size_t k = 0; k < out->n; k++)
      if (span_same(out->v[k].key, prm.key)) return bad(p, "duplicate parameter");
    if (out->n == PARLEY_SF_MAX_PARAMS) return bad(p, "too many parameters");
    out->v[out->n++] = prm;
  }
  return PARLEY_E_OK;
}

/* Called with p at "(". out may be NULL (validate only). */
static parley_err parse_inner_list(sfp *p, parley_sf_inner_list *out) {
  parley_sf_params tmp;
  size_t count = 0;
  p->i++;
  for (;;) {
    skip_sp(p);
    if (peek(p) == ')') {
      p->i++;
      parley_err rc = parse_params(p, out ? &out->params : &tmp);
      if (rc) return rc;
      if (out) out->n = count;
      return PARLEY_E_OK;
    }
    if (count == PARLEY_SF_MAX_INNER) return bad(p, "too many items in inner list");
    parley_sf_item it;
    parley_err rc = parse_bare_item(p, &it);
    if (rc) return rc;
    size_t ps = p->i;
    rc = parse_params(p, &tmp);
    if (rc) return rc;
    if (out) {
      out->items[count].item = it;
      out->items[count].params = span(p, ps);
      out->items[count].n_params = tmp.n;
    }
    count++;
    int c = peek(p);
    if (c != ' ' && c != ')')
      return c < 0 ? bad(p, "unterminated inner list") : bad(p, "expected ' ' or ')'");
  }
}

parley_err parley_sf_parse_dictionary(const char *s, size_t n, const char *what,
                                      parley_sf_member *out, size_t max, size_t *count,
                                      parley_error *err) {
  sfp p = {s, n, 0, what, err};
  parley_sf_params tmp;
  *count = 0;
  skip_sp(&p);
  if (p.i == p.n) return PARLEY_E_OK;
  for (;;) {
    parley_sf_member m;
    memset(&m, 0, sizeof m);
    parley_err rc = parse_key(&p, &m.key);
    if (rc) return rc;
    size_t vs;
    if (peek(&p) == '=') {
      p.i++;
      vs = p.i;
      if (peek(&p) == '(') {
        m.inner_list = true;
        rc = parse_inner_list(&p, NULL);
      } else {
        parley_sf_item it;
        rc = parse_bare_item(&p, &it);
        if (!rc) rc = parse_params(&p, &tmp);
      }
    } else {
      m.bare_key = true;
      vs = p.i;
      rc = parse_params(&p, &tmp);
    }
    if (rc) return rc;
    m.value = span(&p, vs);
    for (size_t k = 0; k < *count; k++)
      if (span_same(out[k].key, m.key)) return bad(&p, "duplicate dictionary key");
    if (*count == max) return bad(&p, "too many dictionary members");
    out[(*count)++] = m;
    skip_ows(&p);
    if (p.i == p.n) return PARLEY_E_OK;
    if (peek(&p) != ',') return bad(&p, "expected ','");
    p.i++;
    skip_ows(&p);
    if (p.i == p.n) return bad(&p, "trailing ','");
  }
}

parley_err parley_sf_parse_inner_list(parley_sf_span v, const char *what, parley_sf_inner_list *out,
                                      parley_error *err) {
  sfp p = {v.p, v.n, 0, what, err};
  if (peek(&p) != '(') return bad(&p, "expected an inner list");
  parley_err rc = parse_inner_list(&p, out);
  if (rc) return rc;
  return p.i == p.n ? PARLEY_E_OK : bad(&p, "unexpected text after inner list");
}

parley_err parley_sf_parse_item(parley_sf_span v, const char *what, parley_sf_item *item,
                                parley_sf_params *params, parley_error *err) {
  sfp p = {v.p, v.n, 0, what, err};
  parley_err rc = parse_bare_item(&p, item);
  if (!rc) rc = parse_params(&p, params);
  if (rc) return rc;
  return p.i == p.n ? PARLEY_E_OK : bad(&p, "unexpected text after item");
}

parley_err parley_sf_parse_params(parley_sf_span v, const char *what, parley_sf_params *out,
                                  parley_error *err) {
  sfp p = {v.p, v.n, 0, what, err};
  parley_err rc = parse_params(&p, out);
  if (rc) return rc;
  return p.i == p.n ? PARLEY_E_OK : bad(&p, "unexpected text after parameters");
}

parley_err parley_sf_unescape(const parley_sf_item *it, const char *what, char *out, size_t cap,
                              size_t *out_len, parley_error *err) {
  if (it->type != PARLEY_SF_STRING || cap == 0)
    return parley_fail(err, PARLEY_E_AUTH_MALFORMED, "%s: expected a string", what);
  size_t o = 0;
  for (size_t i = 0; i < it->text.n; i++) {
    char c = it->text.p[i];
    if (c == '\\') c = it->text.p[++i]; /* the parser guaranteed an escaped '"' or '\' follows */
    if (o + 1 >= cap) {
      out[0] = '\0';
      return parley_fail(err, PARLEY_E_AUTH_MALFORMED, "%s: string longer than %zu characters",
                         what, cap - 1);
    }
    out[o++] = c;
  }
  out[o] = '\0';
  if (out_len) *out_len = o;
  return PARLEY_E_OK;
}
