/* Private to the httpsig module: a strict, allocation-free parser for the parts of
 * RFC 8941 Structured Field Values that RFC 9421 and RFC 9530 use (dictionaries,
 * inner lists, parameters, and every bare item type of RFC 8941).
 *
 * Spans point into the caller's input; nothing is copied and nothing allocated.
 * Every syntax error fails with PARLEY_E_AUTH_MALFORMED and a detail that starts
 * with the name of the header being parsed. Stricter than RFC 8941 on purpose:
 * duplicate dictionary keys and duplicate parameter keys are errors (RFC 8941 would
 * let the last one win), and every container has a hard size limit. */
#ifndef PARLEY_HTTPSIG_SF_H
#define PARLEY_HTTPSIG_SF_H

#include "parley/base.h"

#define PARLEY_SF_KEY_MAX 64     /* characters in a dictionary or parameter key */
#define PARLEY_SF_MAX_PARAMS 16  /* parameters on one item or inner list */
#define PARLEY_SF_MAX_INNER 32   /* items in one inner list */
#define PARLEY_SF_MAX_MEMBERS 16 /* members in one dictionary */

typedef struct {
  const char *p;
  size_t n;
} parley_sf_span;

typedef enum {
  PARLEY_SF_INTEGER,
  PARLEY_SF_DECIMAL,
  PARLEY_SF_STRING,
  PARLEY_SF_TOKEN,
  PARLEY_SF_BYTES,
  PARLEY_SF_BOOLEAN,
} parley_sf_type;

typedef struct {
  parley_sf_type type;
  int64_t integer; /* INTEGER: the value; BOOLEAN: 0 or 1 */
  /* STRING: the text between the quotes, still escaped (see parley_sf_unescape);
   * TOKEN: the token; BYTES: the base64 text between the colons; DECIMAL: the
   * literal; INTEGER: the literal. */
  parley_sf_span text;
} parley_sf_item;

typedef struct {
  parley_sf_span key;
  parley_sf_item value; /* a parameter without "=" is BOOLEAN 1 */
} parley_sf_param;

typedef struct {
  parley_sf_param v[PARLEY_SF_MAX_PARAMS];
  size_t n;
} parley_sf_params;

typedef struct {
  parley_sf_item item;
  parley_sf_span params; /* the serialized parameters (";a=1;b"), possibly empty */
  size_t n_params;
} parley_sf_list_item;

typedef struct {
  parley_sf_list_item items[PARLEY_SF_MAX_INNER];
  size_t n;
  parley_sf_params params; /* the inner list's own parameters */
} parley_sf_inner_list;

typedef struct {
  parley_sf_span key;
  bool inner_list; /* the value starts with "(" */
  bool bare_key;   /* "key;params" without "=": the value is BOOLEAN 1 */
  /* The serialized member value after "=" (item or inner list, with its parameters),
   * or the parameters of a bare key; exactly as received, without surrounding OWS. */
  parley_sf_span value;
} parley_sf_member;

/* Parses a whole dictionary field value of n bytes. Validates every member fully
 * (an error anywhere fails the whole field) and records up to `max` members in
 * input order. An empty (or all-space) value gives *count = 0. `what` names the
 * header in error details. */
parley_err parley_sf_parse_dictionary(const char *s, size_t n, const char *what,
                                      parley_sf_member *out, size_t max, size_t *count,
                                      parley_error *err);

/* Parses a member value span that must be exactly one inner list with parameters. */
parley_err parley_sf_parse_inner_list(parley_sf_span v, const char *what, parley_sf_inner_list *out,
                                      parley_error *err);

/* Parses a member value span that must be exactly one bare item with parameters. */
parley_err parley_sf_parse_item(parley_sf_span v, const char *what, parley_sf_item *item,
                                parley_sf_params *params, parley_error *err);

/* Parses a span that must be exactly a run of parameters (";a=1;b"). */
parley_err parley_sf_parse_params(parley_sf_span v, const char *what, parley_sf_params *out,
                                  parley_error *err);

/* Copies the unescaped contents of a STRING item into out (NUL-terminated). Fails
 * with AUTH_MALFORMED if it does not fit in cap - 1 characters. */
parley_err parley_sf_unescape(const parley_sf_item *it, const char *what, char *out, size_t cap,
                              size_t *out_len, parley_error *err);

/* True if the span equals the NUL-terminated string s. */
bool parley_sf_span_eq(parley_sf_span a, const char *s);

#endif
