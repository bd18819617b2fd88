/* libparley base: errors, buffers, time, ids, encodings, logging.
 * Everything else in libparley builds on this header. */
#ifndef PARLEY_BASE_H
#define PARLEY_BASE_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PARLEY_PRINTF(f, a) __attribute__((format(printf, f, a)))
#define PARLEY_NODISCARD __attribute__((warn_unused_result))

/* ---- errors ---------------------------------------------------------- */

typedef enum {
#define X(name, status, hint) PARLEY_E_##name,
#include "parley/errors.def"
#undef X
  PARLEY_E__COUNT
} parley_err;

/* Name as sent on the wire ("JSON_MALFORMED"), HTTP status and hint. */
const char *parley_err_name(parley_err e);
int parley_err_status(parley_err e);
const char *parley_err_hint(parley_err e);

/* A code plus a human detail naming what failed (e.g. the field). Functions take a
 * `parley_error *` that may be NULL and return the code they set. */
typedef struct {
  parley_err code;
  char detail[256];
} parley_error;

parley_err parley_fail(parley_error *e, parley_err code, const char *fmt, ...) PARLEY_PRINTF(3, 4);
void parley_error_clear(parley_error *e);

/* Must be called once before any other libparley call (initialises libsodium).
 * Returns false if the crypto library cannot be initialised. */
bool parley_init(void);

/* ---- growable buffer with a hard maximum ------------------------------ */

typedef struct {
  uint8_t *data; /* always NUL-terminated after a successful append */
  size_t len;
  size_t cap;
  size_t max; /* appends beyond max fail with PARLEY_E_TOO_LARGE */
} parley_buf;

void parley_buf_init(parley_buf *b, size_t max);
PARLEY_NODISCARD parley_err parley_buf_append(parley_buf *b, const void *p, size_t n);
PARLEY_NODISCARD parley_err parley_buf_puts(parley_buf *b, const char *s);
PARLEY_NODISCARD parley_err parley_buf_printf(parley_buf *b, const char *fmt, ...)
    PARLEY_PRINTF(2, 3);
void parley_buf_reset(parley_buf *b); /* len = 0, keeps memory */
/* Zeroes the contents before freeing (buffers may hold secrets). */
void parley_buf_free(parley_buf *b);
/* Hands the memory (NUL-terminated) to the caller, who frees it; b is emptied. */
char *parley_buf_steal(parley_buf *b, size_t *len);

/* ---- time: seconds since the Unix epoch, RFC 3339 UTC ------------------ */

#define PARLEY_TIME_LEN 21     /* "2026-01-31T12:00:00Z" + NUL */
int64_t parley_now(void);      /* wall clock, seconds */
int64_t parley_now_ms(void);   /* wall clock, milliseconds */
uint64_t parley_mono_ns(void); /* monotonic, for durations */
/* Strict: "YYYY-MM-DDTHH:MM:SS[.fraction]Z" only (upper-case T and Z, no offsets);
 * the fraction is accepted and dropped. */
parley_err parley_time_parse(const char *s, int64_t *out);
void parley_time_format(int64_t t, char out[PARLEY_TIME_LEN]);

/* ---- ids --------------------------------------------------------------- */

#define PARLEY_UUID_LEN 37 /* 36 chars + NUL */
void parley_uuid7(char out[PARLEY_UUID_LEN]);
/* Canonical lower-case 8-4-4-4-12 form of any version. */
bool parley_uuid_valid(const char *s);

/* ---- encodings (base64url without padding, standard base64, hex) ------- */

size_t parley_b64url_encoded_len(size_t n); /* without NUL */
size_t parley_b64_encoded_len(size_t n);    /* without NUL, with padding */
/* Encoders write a NUL-terminated string; out_cap must hold len + 1. */
parley_err parley_b64url_encode(const uint8_t *in, size_t n, char *out, size_t out_cap);
parley_err parley_b64_encode(const uint8_t *in, size_t n, char *out, size_t out_cap);
parley_err parley_hex_encode(const uint8_t *in, size_t n, char *out, size_t out_cap);
/* Decoders are strict (no padding for b64url, padding required for b64, no
 * whitespace) and fail if the result would not fit in out_cap. */
parley_err parley_b64url_decode(const char *s, size_t slen, uint8_t *out, size_t out_cap,
                                size_t *out_len);
parley_err parley_b64_decode(const char *s, size_t slen, uint8_t *out, size_t out_cap,
                             size_t *out_len);
parley_err parley_hex_decode(const char *s, size_t slen, uint8_t *out, size_t out_cap,
                             size_t *out_len);
/* Decodes exactly `n` bytes or fails. */
parley_err parley_b64url_decode_exact(const char *s, uint8_t *out, size_t n);

/* ---- strings ----------------------------------------------------------- */

/* Bounded copy; returns false (and writes a truncated string) if src did not fit. */
bool parley_strlcpy(char *dst, const char *src, size_t cap);
/* Constant-time comparison of two byte strings of equal length. */
bool parley_ct_equal(const void *a, const void *b, size_t n);
/* Parses a decimal unsigned integer (whole string, no sign, no spaces). */
bool parley_parse_u64(const char *s, uint64_t *out);
/* Whole string is valid UTF-8 (no overlongs, no surrogates). */
bool parley_utf8_valid(const char *s, size_t n);

/* ---- logging: one line per event to stderr, key=value ------------------ */

typedef enum {
  PARLEY_LOG_DEBUG,
  PARLEY_LOG_INFO,
  PARLEY_LOG_WARN,
  PARLEY_LOG_ERROR
} parley_log_level;
void parley_log_set_level(parley_log_level l);
/* parley_log(PARLEY_LOG_INFO, "http.request", "method=%s status=%d", ...) prints
 * ts=2026-01-31T12:00:00Z level=info event=http.request method=GET status=200
 * Never pass secret material. */
void parley_log(parley_log_level l, const char *event, const char *fmt, ...) PARLEY_PRINTF(3, 4);

#endif
