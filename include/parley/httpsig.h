/* libparley httpsig: request authentication with RFC 9421 HTTP Message Signatures
 * (Ed25519 only) and RFC 9530 Content-Digest (sha-256, sha-512).
 *
 * Server flow:
 *   parley_httpsig_params p;
 *   parley_httpsig_parse_request(&req, NULL, &p, &err);       // 401 on failure
 *   parley_httpsig_check_policy(&p, parley_now(), 300, has_body, &err);
 *   ... look up p.keyid, check p.nonce against the replay store ...
 *   parley_httpsig_verify(&req, &p, pk, &err);
 *   if (has_body) parley_content_digest_check(content_digest, body, len, &err);
 *
 * Client flow: parley_content_digest_header() for the body, then
 * parley_httpsig_sign() with components {"@method", "@target-uri", "content-digest"}.
 *
 * Every function needs parley_init() to have been called. */
#ifndef PARLEY_HTTPSIG_H
#define PARLEY_HTTPSIG_H

#include "parley/base.h"

#define PARLEY_HTTPSIG_LABEL "parley"    /* the label our clients sign under */
#define PARLEY_HTTPSIG_MAX_HEADER 8192   /* Signature(-Input), Content-Digest bytes */
#define PARLEY_HTTPSIG_MAX_COMPONENTS 16 /* covered components per signature */
#define PARLEY_HTTPSIG_COMPONENT_MAX 64  /* characters in one component name */
#define PARLEY_HTTPSIG_MAX_VALUE 8192    /* bytes of one component value */
#define PARLEY_HTTPSIG_LABEL_MAX 64      /* characters in a signature label */
#define PARLEY_HTTPSIG_KEYID_MAX 128     /* characters in keyid */
#define PARLEY_HTTPSIG_NONCE_MIN 16      /* characters in nonce */
#define PARLEY_HTTPSIG_NONCE_MAX 128
#define PARLEY_HTTPSIG_TAG_MAX 128
#define PARLEY_HTTPSIG_SIGNATURE_LEN 64 /* Ed25519 */
/* Upper bound of a signature base built from bounded inputs; the size to give a
 * parley_buf passed to parley_httpsig_base(). */
#define PARLEY_HTTPSIG_BASE_MAX                                                                    \
  (PARLEY_HTTPSIG_MAX_COMPONENTS * (PARLEY_HTTPSIG_COMPONENT_MAX + PARLEY_HTTPSIG_MAX_VALUE + 8) + \
   PARLEY_HTTPSIG_MAX_HEADER + 32)

/* A view of one HTTP request, filled by the server from the incoming request and by
 * the client from the request it is about to send. Nothing is owned. */
typedef struct {
  const char *method;     /* "POST" */
  const char *target_uri; /* absolute: scheme://authority/path?query */
  const char *authority;  /* "hub.example.org" or "hub.example.org:8443" */
  const char *path;       /* "/v1/messages"; "" is taken as "/" */
  const char *query;      /* "?a=b" with its leading '?', or NULL when there is none */
  /* Returns the (combined) value of a header field, or NULL if absent. Called with
   * lower-case names only; the lookup must be case-insensitive. May be NULL when the
   * request has no fields to offer. */
  const char *(*header)(void *ctx, const char *lowercase_name);
  void *ctx;
} parley_httpsig_request;

/* One parsed signature: its Signature-Input member and its Signature value. A plain
 * value (no pointers, nothing to free); parse functions fill it completely. */
typedef struct {
  char label[PARLEY_HTTPSIG_LABEL_MAX + 1];
  /* Covered components in signed order: "@method", "@target-uri", "content-digest". */
  size_t n_components;
  char components[PARLEY_HTTPSIG_MAX_COMPONENTS][PARLEY_HTTPSIG_COMPONENT_MAX + 1];
  int64_t created; /* required, >= 0 */
  bool has_expires;
  int64_t expires;
  char keyid[PARLEY_HTTPSIG_KEYID_MAX + 1]; /* required, unescaped */
  bool has_nonce;                           /* optional in RFC 9421; our policy requires it */
  char nonce[PARLEY_HTTPSIG_NONCE_MAX + 1]; /* unescaped */
  bool has_alg;                             /* if present it was "ed25519" */
  bool has_tag;
  char tag[PARLEY_HTTPSIG_TAG_MAX + 1];
  /* The member value (without the "label=") re-serialized as RFC 8941 4.1 says: the value
   * of the "@signature-params" line (RFC 9421 3.2). A sender's optional spaces (inside
   * the list, after ';') and leading zeros are accepted and do not appear here. */
  char params_raw[PARLEY_HTTPSIG_MAX_HEADER + 1];
  size_t params_raw_len;
  uint8_t signature[PARLEY_HTTPSIG_SIGNATURE_LEN];
} parley_httpsig_params;

/* Parses a Signature-Input and a Signature field value (RFC 8941 dictionaries) and
 * picks one signature: the member named `label`, or "parley" if label is NULL. Members
 * under other labels are syntax-checked and otherwise ignored; only the one picked is
 * ever verified. Errors: AUTH_MISSING if both values are NULL; AUTH_LABEL if either
 * value has no member under the label; AUTH_MALFORMED (detail says what) for
 * one value missing, a value over PARLEY_HTTPSIG_MAX_HEADER bytes, any syntax error in
 * either dictionary, duplicate labels, a component that is not a lower-case quoted
 * name, component parameters, unknown or duplicate derived components or signature
 * parameters, created or keyid missing, keyid/nonce/tag out of bounds, alg other than
 * "ed25519", expires before created, or a Signature
 * member that is not a byte sequence of exactly 64 bytes. */
parley_err parley_httpsig_parse(const char *signature_input, const char *signature,
                                const char *label, parley_httpsig_params *out, parley_error *err);

/* The same, reading the "signature-input" and "signature" fields through req->header. */
parley_err parley_httpsig_parse_request(const parley_httpsig_request *req, const char *label,
                                        parley_httpsig_params *out, parley_error *err);

/* Appends the RFC 9421 section 2.5 signature base to `out` (initialise it with at
 * least PARLEY_HTTPSIG_BASE_MAX): one `"name": value` line per covered component,
 * then `"@signature-params": <params_raw>` without a final newline.
 * Derived components: @method, @target-uri, @authority (lower-cased, default port
 * removed), @scheme (lower-cased), @request-target, @path, @query; anything else is
 * an HTTP field whose value is trimmed of leading and trailing SP/HTAB.
 * Errors: AUTH_MALFORMED "component X not in request" for a missing field or request
 * part, or a value holding a control character or over PARLEY_HTTPSIG_MAX_VALUE
 * bytes; TOO_LARGE / NO_MEMORY from the buffer. */
parley_err parley_httpsig_base(const parley_httpsig_request *req, const parley_httpsig_params *p,
                               parley_buf *out, parley_error *err);

/* Client side: signs req over components[0..n) under the label "parley" and returns
 * the two header values, each allocated here and freed by the caller with free():
 *   *signature_input = parley=("@method" "@target-uri" "content-digest");created=...;
 *                      keyid="...";nonce="...";alg="ed25519"
 *   *signature       = parley=:<standard base64 with padding>:
 * sk is a libsodium Ed25519 secret key (seed || public key). nonce NULL means 24
 * random bytes in base64url. The header value of every covered field must already be
 * available through req->header (set Content-Digest first).
 * On error both outputs are NULL. Errors: INVALID_ARGUMENT (bad component name, keyid,
 * nonce, created < 0), AUTH_MALFORMED (a component missing from req), NO_MEMORY. */
parley_err parley_httpsig_sign(const parley_httpsig_request *req, const char *const *components,
                               size_t n, const char *keyid, const uint8_t sk[64], int64_t created,
                               const char *nonce, char **signature_input, char **signature,
                               parley_error *err);

/* Server side: rebuilds the signature base of req for `parsed` and checks
 * parsed->signature with the Ed25519 public key pk. AUTH_BAD_SIGNATURE if it does not
 * verify; the errors of parley_httpsig_base otherwise. Does not apply the policy. */
parley_err parley_httpsig_verify(const parley_httpsig_request *req,
                                 const parley_httpsig_params *parsed, const uint8_t pk[32],
                                 parley_error *err);

/* Parley's policy on a parsed signature: covers @method and @target-uri, and
 * content-digest when has_body (else AUTH_COMPONENTS); created within
 * [now - window, now + window] and expires (if present) after now (else AUTH_STALE);
 * a nonce present (else AUTH_MALFORMED). Checking the nonce for replay, and keyid for
 * a registered key, is the caller's job (parsed->nonce, parsed->keyid). */
parley_err parley_httpsig_check_policy(const parley_httpsig_params *parsed, int64_t now,
                                       int64_t window_seconds, bool has_body, parley_error *err);

/* The same with separate bounds: created within [now - past_seconds, now +
 * future_seconds]. A hub keeps the future bound small (a client clock's skew), since a
 * signature dated ahead stays usable, and must be remembered, for longer. */
parley_err parley_httpsig_check_policy_skew(const parley_httpsig_params *parsed, int64_t now,
                                            int64_t past_seconds, int64_t future_seconds,
                                            bool has_body, parley_error *err);

/* ---- RFC 9530 Content-Digest ------------------------------------------- */

#define PARLEY_CONTENT_DIGEST_LEN 55 /* "sha-256=:" + 44 base64 + ":" + NUL */

/* Writes the Content-Digest field value "sha-256=:<base64 of SHA-256(body)>:".
 * body may be NULL when len is 0. */
void parley_content_digest_header(const uint8_t *body, size_t len,
                                  char out[PARLEY_CONTENT_DIGEST_LEN]);

/* Checks a received Content-Digest field value against body: every sha-256 and
 * sha-512 member must match (other algorithms are ignored) and at least one of the
 * two must be present. AUTH_DIGEST_MISMATCH on a mismatch; AUTH_MALFORMED for a NULL
 * or over-long value, a syntax error, a digest that is not a byte sequence of the
 * algorithm's length, or neither algorithm present. */
parley_err parley_content_digest_check(const char *header_value, const uint8_t *body, size_t len,
                                       parley_error *err);

#endif
