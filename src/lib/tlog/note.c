/* C2SP signed-note (Ed25519, type 0x01) and tlog-cosignature v1 (type 0x04): key
 * strings, signing, strict parsing and verification. Ed25519 and SHA-256 via libsodium. */
#include "parley/tlog.h"

#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SIG_PREFIX "\xe2\x80\x94 " /* U+2014 em dash, space */
#define SIG_PREFIX_LEN 4
#define ED_SIG_LEN crypto_sign_ed25519_BYTES /* 64 */
#define COSIG_LEN (4 + 8 + ED_SIG_LEN)
#define COSIG_HEADER "cosignature/v1\n"

/* ---- names, text, base64 ----------------------------------------------- */

/* Decodes one UTF-8 sequence of already validated text. */
static uint32_t utf8_next(const unsigned char *s, size_t *i) {
  unsigned c = s[*i];
  if (c < 0x80) {
    (*i)++;
    return c;
  }
  size_t len = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2;
  uint32_t cp = c & (len == 2 ? 0x1f : len == 3 ? 0x0f : 0x07);
  for (size_t k = 1; k < len; k++)
    cp = (cp << 6) | (s[*i + k] & 0x3f);
  *i += len;
  return cp;
}

/* Go's unicode.IsSpace, which the reference implementation applies to key names. */
static bool unicode_space(uint32_t cp) {
  return (cp >= 0x09 && cp <= 0x0d) || cp == 0x20 || cp == 0x85 || cp == 0xa0 || cp == 0x1680 ||
         (cp >= 0x2000 && cp <= 0x200a) || cp == 0x2028 || cp == 0x2029 || cp == 0x202f ||
         cp == 0x205f || cp == 0x3000;
}

/* Valid UTF-8 without ASCII control characters other than newline. */
static bool text_chars_valid(const char *s, size_t len) {
  for (size_t i = 0; i < len; i++)
    if ((unsigned char)s[i] < 0x20 && s[i] != '\n') return false;
  return parley_utf8_valid(s, len);
}

/* Key names: 1..255 bytes of UTF-8, no control character, no Unicode space, no '+'. */
static bool name_valid(const char *name, size_t len) {
  if (len == 0 || len > PARLEY_NOTE_NAME_MAX || !parley_utf8_valid(name, len)) return false;
  const unsigned char *s = (const unsigned char *)name;
  size_t i = 0;
  while (i < len) {
    uint32_t cp = utf8_next(s, &i);
    if (cp < 0x20 || cp == 0x7f || cp == '+' || unicode_space(cp)) return false;
  }
  return true;
}

static int b64_value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

/* Standard padded base64 in its one canonical spelling (unused bits zero), so that a
 * signature line cannot be re-spelled by a third party. */
static bool b64_decode_canonical(const char *s, size_t len, uint8_t *out, size_t cap,
                                 size_t *out_len) {
  if (len == 0 || len % 4 != 0) return false;
  if (parley_b64_decode(s, len, out, cap, out_len) != PARLEY_E_OK) return false;
  if (s[len - 1] == '=') {
    bool two = s[len - 2] == '=';
    int v = b64_value(s[len - (two ? 3 : 2)]);
    if (v < 0 || (v & (two ? 0x0f : 0x03)) != 0) return false;
  }
  return true;
}

static uint32_t key_id(const char *name, size_t name_len, uint8_t type, const uint8_t pk[32]) {
  crypto_hash_sha256_state st;
  uint8_t h[crypto_hash_sha256_BYTES];
  const uint8_t nl = '\n';
  crypto_hash_sha256_init(&st);
  crypto_hash_sha256_update(&st, (const unsigned char *)name, name_len);
  crypto_hash_sha256_update(&st, &nl, 1);
  crypto_hash_sha256_update(&st, &type, 1);
  crypto_hash_sha256_update(&st, pk, 32);
  crypto_hash_sha256_final(&st, h);
  return (uint32_t)h[0] << 24 | (uint32_t)h[1] << 16 | (uint32_t)h[2] << 8 | h[3];
}

static void put_be32(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)(v >> 24);
  p[1] = (uint8_t)(v >> 16);
  p[2] = (uint8_t)(v >> 8);
  p[3] = (uint8_t)v;
}

/* ---- keys ---------------------------------------------------------------- */

/* What every key kind holds; the public types keep the kinds apart. */
typedef struct {
  char name[PARLEY_NOTE_NAME_MAX + 1];
  uint32_t key_id;
  uint8_t pk[32];
  uint8_t sk[crypto_sign_ed25519_SECRETKEYBYTES];
} keypair;

struct parley_note_signer {
  keypair k;
};
struct parley_cosigner {
  keypair k;
};

static parley_err keypair_init(keypair *k, const char *name, const uint8_t seed[32], uint8_t type,
                               parley_error *err) {
  if (!name || !seed)
    return parley_fail(err, PARLEY_E_INVALID_ARGUMENT, "missing key name or seed");
  size_t len = strnlen(name, PARLEY_NOTE_NAME_MAX + 1);
  if (!name_valid(name, len))
    return parley_fail(err, PARLEY_E_CRYPTO_BAD_KEY,
                       "a key name must be 1-255 bytes without spaces or '+'");
  memcpy(k->name, name, len);
  k->name[len] = 0;
  crypto_sign_ed25519_seed_keypair(k->pk, k->sk, seed);
  k->key_id = key_id(name, len, type, k->pk);
  return PARLEY_E_OK;
}

/* "<name>+<8 lower-case hex>+<base64(type || 32-byte key)>" */
static parley_err vkey_parse(const char *vkey, uint8_t type, char name[PARLEY_NOTE_NAME_MAX + 1],
                             uint32_t *id, uint8_t pk[32], parley_error *err) {
  if (!vkey) return parley_fail(err, PARLEY_E_CRYPTO_BAD_KEY, "missing verifier key");
  size_t len = strnlen(vkey, PARLEY_NOTE_VKEY_MAX);
  if (len >= PARLEY_NOTE_VKEY_MAX)
    return parley_fail(err, PARLEY_E_CRYPTO_BAD_KEY, "verifier key too long");
  const char *p1 = memchr(vkey, '+', len);
  if (!p1) return parley_fail(err, PARLEY_E_CRYPTO_BAD_KEY, "verifier key: expected name+id+key");
  size_t name_len = (size_t)(p1 - vkey);
  const char *hex = p1 + 1;
  size_t rest = len - name_len - 1;
  if (rest < 9 || hex[8] != '+')
    return parley_fail(err, PARLEY_E_CRYPTO_BAD_KEY, "verifier key: the key id must be 8 hex");
  if (!name_valid(vkey, name_len))
    return parley_fail(err, PARLEY_E_CRYPTO_BAD_KEY, "verifier key: invalid name");
  uint32_t want = 0;
  for (size_t i = 0; i < 8; i++) {
    char c = hex[i];
    unsigned d;
    if (c >= '0' && c <= '9')
      d = (unsigned)(c - '0');
    else if (c >= 'a' && c <= 'f')
      d = (unsigned)(c - 'a' + 10);
    else
      return parley_fail(err, PARLEY_E_CRYPTO_BAD_KEY,
                         "verifier key: the key id must be 8 lower-case hex");
    want = want << 4 | d;
  }
  const char *b64 = hex + 9;
  size_t b64_len = len - (size_t)(b64 - vkey);
  uint8_t raw[33];
  size_t raw_len = 0;
  if (!b64_decode_canonical(b64, b64_len, raw, sizeof raw, &raw_len) || raw_len != 33)
    return parley_fail(err, PARLEY_E_CRYPTO_BAD_KEY,
                       "verifier key: expected base64 of a type byte and 32 key bytes");
  if (raw[0] != type)
    return parley_fail(err, PARLEY_E_CRYPTO_BAD_KEY,
                       "verifier key: signature type 0x%02x, expected 0x%02x", raw[0], type);
  if (!crypto_core_ed25519_is_valid_point(raw + 1))
    return parley_fail(err, PARLEY_E_CRYPTO_BAD_KEY, "verifier key: not a usable Ed25519 key");
  if (key_id(vkey, name_len, type, raw + 1) != want)
    return parley_fail(err, PARLEY_E_CRYPTO_BAD_KEY, "verifier key: key id does not match");
  memcpy(name, vkey, name_len);
  name[name_len] = 0;
  *id = want;
  memcpy(pk, raw + 1, 32);
  return PARLEY_E_OK;
}

static parley_err vkey_format(const char *name, uint32_t id, uint8_t type, const uint8_t pk[32],
                              char *out, size_t cap, parley_error *err) {
  uint8_t raw[33];
  char b64[64];
  raw[0] = type;
  memcpy(raw + 1, pk, 32);
  if (parley_b64_encode(raw, sizeof raw, b64, sizeof b64) != PARLEY_E_OK)
    return parley_fail(err, PARLEY_E_INTERNAL, "base64");
  int w = snprintf(out, cap, "%s+%08" PRIx32 "+%s", name, id, b64);
  if (w < 0 || (size_t)w >= cap)
    return parley_fail(err, PARLEY_E_TOO_LARGE, "verifier key does not fit the buffer");
  return PARLEY_E_OK;
}

parley_err parley_note_verifier_parse(const char *vkey, parley_note_verifier *out,
                                      parley_error *err) {
  memset(out, 0, sizeof *out);
  return vkey_parse(vkey, PARLEY_NOTE_TYPE_ED25519, out->name, &out->key_id, out->public_key, err);
}

parley_err parley_note_verifier_format(const parley_note_verifier *v, char *out, size_t out_cap,
                                       parley_error *err) {
  return vkey_format(v->name, v->key_id, PARLEY_NOTE_TYPE_ED25519, v->public_key, out, out_cap,
                     err);
}

parley_err parley_cosig_verifier_parse(const char *vkey, parley_cosig_verifier *out,
                                       parley_error *err) {
  memset(out, 0, sizeof *out);
  return vkey_parse(vkey, PARLEY_NOTE_TYPE_COSIG_V1, out->name, &out->key_id, out->public_key, err);
}

parley_err parley_cosig_verifier_format(const parley_cosig_verifier *v, char *out, size_t out_cap,
                                        parley_error *err) {
  return vkey_format(v->name, v->key_id, PARLEY_NOTE_TYPE_COSIG_V1, v->public_key, out, out_cap,
                     err);
}

parley_err parley_note_signer_new(const char *name, const uint8_t seed[32],
                                  parley_note_signer **out, parley_error *err) {
  *out = NULL;
  parley_note_signer *s = calloc(1, sizeof *s);
  if (!s) return parley_fail(err, PARLEY_E_NO_MEMORY, "out of memory");
  parley_err e = keypair_init(&s->k, name, seed, PARLEY_NOTE_TYPE_ED25519, err);
  if (e != PARLEY_E_OK) {
    parley_note_signer_free(s);
    return e;
  }
  *out = s;
  return PARLEY_E_OK;
}

parley_err parley_note_signer_from_skey(const char *skey, parley_note_signer **out,
                                        parley_error *err) {
  static const char prefix[] = "PRIVATE+KEY+";
  *out = NULL;
  if (!skey) return parley_fail(err, PARLEY_E_KEYFILE_FORMAT, "missing signer key");
  size_t len = strnlen(skey, 512);
  if (len >= 512 || strncmp(skey, prefix, sizeof prefix - 1) != 0)
    return parley_fail(err, PARLEY_E_KEYFILE_FORMAT,
                       "signer key: expected PRIVATE+KEY+name+id+key");
  /* The rest has the verifier key's shape with the seed in place of the public key. */
  const char *rest = skey + sizeof prefix - 1;
  char name[PARLEY_NOTE_NAME_MAX + 1];
  uint8_t raw[33];
  size_t raw_len = 0;
  const char *p1 = memchr(rest, '+', strlen(rest));
  size_t name_len = p1 ? (size_t)(p1 - rest) : 0;
  const char *hex = p1 ? p1 + 1 : NULL;
  parley_err e = PARLEY_E_KEYFILE_FORMAT;
  if (!p1 || !name_valid(rest, name_len) || strnlen(hex, 9) < 9 || hex[8] != '+')
    return parley_fail(err, e, "signer key: expected PRIVATE+KEY+name+id+key");
  uint32_t want = 0;
  for (size_t i = 0; i < 8; i++) {
    char c = hex[i];
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
      return parley_fail(err, e, "signer key: the key id must be 8 lower-case hex");
    want = want << 4 | (unsigned)(c <= '9' ? c - '0' : c - 'a' + 10);
  }
  const char *b64 = hex + 9;
  if (!b64_decode_canonical(b64, strlen(b64), raw, sizeof raw, &raw_len) || raw_len != 33 ||
      raw[0] != PARLEY_NOTE_TYPE_ED25519) {
    sodium_memzero(raw, sizeof raw);
    return parley_fail(err, e, "signer key: expected base64 of 0x01 and a 32-byte seed");
  }
  memcpy(name, rest, name_len);
  name[name_len] = 0;
  parley_note_signer *s = NULL;
  e = parley_note_signer_new(name, raw + 1, &s, err);
  sodium_memzero(raw, sizeof raw);
  if (e != PARLEY_E_OK) return e;
  if (s->k.key_id != want) {
    parley_note_signer_free(s);
    return parley_fail(err, PARLEY_E_KEYFILE_FORMAT, "signer key: key id does not match");
  }
  *out = s;
  return PARLEY_E_OK;
}

void parley_note_signer_free(parley_note_signer *s) {
  if (!s) return;
  sodium_memzero(s, sizeof *s);
  free(s);
}

void parley_note_signer_verifier(const parley_note_signer *s, parley_note_verifier *out) {
  memcpy(out->name, s->k.name, sizeof out->name);
  out->key_id = s->k.key_id;
  memcpy(out->public_key, s->k.pk, 32);
}

parley_err parley_cosigner_new(const char *name, const uint8_t seed[32], parley_cosigner **out,
                               parley_error *err) {
  *out = NULL;
  parley_cosigner *c = calloc(1, sizeof *c);
  if (!c) return parley_fail(err, PARLEY_E_NO_MEMORY, "out of memory");
  parley_err e = keypair_init(&c->k, name, seed, PARLEY_NOTE_TYPE_COSIG_V1, err);
  if (e != PARLEY_E_OK) {
    parley_cosigner_free(c);
    return e;
  }
  *out = c;
  return PARLEY_E_OK;
}

void parley_cosigner_free(parley_cosigner *c) {
  if (!c) return;
  sodium_memzero(c, sizeof *c);
  free(c);
}

void parley_cosigner_verifier(const parley_cosigner *c, parley_cosig_verifier *out) {
  memcpy(out->name, c->k.name, sizeof out->name);
  out->key_id = c->k.key_id;
  memcpy(out->public_key, c->k.pk, 32);
}

/* ---- signing --------------------------------------------------------------- */

static parley_err check_text(const char *text, size_t len, parley_error *err) {
  if (!text || len == 0 || text[len - 1] != '\n')
    return parley_fail(err, PARLEY_E_TLOG_NOTE, "note text must be non-empty and end in newline");
  if (len > PARLEY_NOTE_MAX_LEN)
    return parley_fail(err, PARLEY_E_TOO_LARGE, "note text exceeds %u bytes", PARLEY_NOTE_MAX_LEN);
  if (!text_chars_valid(text, len))
    return parley_fail(err, PARLEY_E_TLOG_NOTE,
                       "note text must be UTF-8 without control characters but newline");
  return PARLEY_E_OK;
}

/* Appends "— <name> <base64(payload)>\n". */
static parley_err append_sig_line(parley_buf *out, const char *name, const uint8_t *payload,
                                  size_t n, parley_error *err) {
  char b64[128];
  if (parley_b64_encode(payload, n, b64, sizeof b64) != PARLEY_E_OK)
    return parley_fail(err, PARLEY_E_INTERNAL, "base64");
  if (parley_buf_puts(out, SIG_PREFIX) || parley_buf_puts(out, name) || parley_buf_puts(out, " ") ||
      parley_buf_puts(out, b64) || parley_buf_puts(out, "\n"))
    return parley_fail(err, PARLEY_E_TOO_LARGE, "signature line does not fit the buffer");
  return PARLEY_E_OK;
}

parley_err parley_note_signature_line(const parley_note_signer *s, const char *text, size_t len,
                                      parley_buf *out, parley_error *err) {
  parley_err e = check_text(text, len, err);
  if (e != PARLEY_E_OK) return e;
  uint8_t payload[4 + ED_SIG_LEN];
  put_be32(payload, s->k.key_id);
  crypto_sign_ed25519_detached(payload + 4, NULL, (const unsigned char *)text, len, s->k.sk);
  return append_sig_line(out, s->k.name, payload, sizeof payload, err);
}

parley_err parley_note_sign(const parley_note_signer *s, const char *text, size_t len,
                            parley_buf *out, parley_error *err) {
  parley_err e = check_text(text, len, err);
  if (e != PARLEY_E_OK) return e;
  /* text + blank line + one line of at most ~360 bytes */
  if (len > PARLEY_NOTE_MAX_LEN - 1 - (SIG_PREFIX_LEN + PARLEY_NOTE_NAME_MAX + 1 + 92 + 1))
    return parley_fail(err, PARLEY_E_TOO_LARGE, "the signed note would exceed %u bytes",
                       PARLEY_NOTE_MAX_LEN);
  if (parley_buf_append(out, text, len) || parley_buf_puts(out, "\n"))
    return parley_fail(err, PARLEY_E_TOO_LARGE, "note does not fit the buffer");
  return parley_note_signature_line(s, text, len, out, err);
}

/* ---- parsing and verification -------------------------------------------- */

static parley_err note_fail(parley_error *err, const char *what) {
  return parley_fail(err, PARLEY_E_TLOG_NOTE, "%s", what);
}

parley_err parley_note_parse(const char *msg, size_t len, parley_note *out, parley_error *err) {
  out->text = NULL;
  out->text_len = 0;
  out->nsigs = 0;
  if (!msg) return note_fail(err, "missing note");
  if (len > PARLEY_NOTE_MAX_LEN)
    return parley_fail(err, PARLEY_E_TOO_LARGE, "a note may have at most %u bytes",
                       PARLEY_NOTE_MAX_LEN);
  if (!text_chars_valid(msg, len))
    return note_fail(err, "a note must be UTF-8 without control characters but newline");
  /* The text ends before the last blank line. */
  size_t split = SIZE_MAX;
  for (size_t i = len; i >= 2; i--)
    if (msg[i - 2] == '\n' && msg[i - 1] == '\n') {
      split = i - 2;
      break;
    }
  if (split == SIZE_MAX) return note_fail(err, "a note needs a blank line before its signatures");
  size_t pos = split + 2;
  if (pos >= len || msg[len - 1] != '\n')
    return note_fail(err, "a note needs signature lines ending in newline");
  uint8_t buf[PARLEY_NOTE_SIG_MAX];
  size_t nsigs = 0;
  while (pos < len) {
    const char *line = msg + pos;
    const char *nl = memchr(line, '\n', len - pos);
    size_t line_len = (size_t)(nl - line);
    pos += line_len + 1;
    if (line_len < SIG_PREFIX_LEN || memcmp(line, SIG_PREFIX, SIG_PREFIX_LEN) != 0)
      return note_fail(err, "a signature line must start with an em dash and a space");
    const char *name = line + SIG_PREFIX_LEN;
    size_t rest = line_len - SIG_PREFIX_LEN;
    const char *sp = memchr(name, ' ', rest);
    if (!sp) return note_fail(err, "a signature line must be '— <name> <base64>'");
    size_t name_len = (size_t)(sp - name);
    const char *b64 = sp + 1;
    size_t b64_len = rest - name_len - 1;
    size_t n = 0;
    if (!name_valid(name, name_len)) return note_fail(err, "invalid key name in a signature line");
    if (!b64_decode_canonical(b64, b64_len, buf, PARLEY_NOTE_SIG_MAX, &n) || n < 5)
      return note_fail(err, "a signature must be canonical base64 of a key id and signature");
    if (nsigs == PARLEY_NOTE_MAX_SIGS) return note_fail(err, "too many signature lines");
    parley_note_sig *s = &out->sigs[nsigs++];
    s->name = name;
    s->name_len = name_len;
    s->key_id = (uint32_t)buf[0] << 24 | (uint32_t)buf[1] << 16 | (uint32_t)buf[2] << 8 | buf[3];
    s->b64 = b64;
    s->b64_len = b64_len;
  }
  out->text = msg;
  out->text_len = split + 1;
  out->nsigs = nsigs;
  return PARLEY_E_OK;
}

/* Checks every line of (name, id) with check(); OK if there is one and all pass. */
typedef bool (*sig_check_fn)(const void *key, const parley_note *n, const uint8_t *sig,
                             size_t sig_len, uint64_t *ts);

static parley_err verify_lines(const parley_note *n, const char *name, uint32_t id, const void *key,
                               sig_check_fn check, uint64_t *ts, parley_error *err) {
  if (!n->text) return parley_fail(err, PARLEY_E_TLOG_NOTE, "note was not parsed");
  size_t name_len = strlen(name);
  size_t found = 0;
  uint8_t sig[PARLEY_NOTE_SIG_MAX];
  uint64_t best = 0;
  for (size_t i = 0; i < n->nsigs; i++) {
    const parley_note_sig *s = &n->sigs[i];
    if (s->key_id != id || s->name_len != name_len || memcmp(s->name, name, name_len) != 0)
      continue;
    size_t sig_len = 0;
    uint64_t t = 0;
    if (!b64_decode_canonical(s->b64, s->b64_len, sig, sizeof sig, &sig_len) ||
        !check(key, n, sig, sig_len, &t))
      return parley_fail(err, PARLEY_E_CRYPTO_BAD_SIGNATURE, "the signature by %s does not verify",
                         name);
    if (t > best) best = t;
    found++;
  }
  if (!found)
    return parley_fail(err, PARLEY_E_CRYPTO_BAD_SIGNATURE, "the note is not signed by %s", name);
  if (ts) *ts = best;
  return PARLEY_E_OK;
}

static bool ed25519_check(const void *key, const parley_note *n, const uint8_t *sig, size_t sig_len,
                          uint64_t *ts) {
  (void)ts;
  const parley_note_verifier *v = key;
  return sig_len == 4 + ED_SIG_LEN &&
         crypto_sign_ed25519_verify_detached(sig + 4, (const unsigned char *)n->text, n->text_len,
                                             v->public_key) == 0;
}

parley_err parley_note_verify(const parley_note *n, const parley_note_verifier *v,
                              parley_error *err) {
  return verify_lines(n, v->name, v->key_id, v, ed25519_check, NULL, err);
}

/* ---- cosignatures ---------------------------------------------------------- */

/* "cosignature/v1\ntime <ts>\n" || text */
static bool cosig_message(parley_buf *m, uint64_t ts, const char *text, size_t len) {
  return parley_buf_puts(m, COSIG_HEADER) == PARLEY_E_OK &&
         parley_buf_printf(m, "time %" PRIu64 "\n", ts) == PARLEY_E_OK &&
         parley_buf_append(m, text, len) == PARLEY_E_OK;
}

parley_err parley_cosig_sign(const parley_cosigner *c, const char *text, size_t len,
                             uint64_t timestamp, parley_buf *line, parley_error *err) {
  parley_checkpoint cp;
  parley_err e = parley_checkpoint_parse(text, len, &cp, err);
  if (e != PARLEY_E_OK) return e;
  if (timestamp > (uint64_t)INT64_MAX)
    return parley_fail(err, PARLEY_E_INVALID_ARGUMENT, "a cosignature time must be < 2^63");
  parley_buf m;
  parley_buf_init(&m, PARLEY_NOTE_MAX_LEN + 64);
  if (!cosig_message(&m, timestamp, text, len)) {
    parley_buf_free(&m);
    return parley_fail(err, PARLEY_E_TOO_LARGE, "checkpoint too large to cosign");
  }
  uint8_t payload[COSIG_LEN];
  put_be32(payload, c->k.key_id);
  for (int i = 0; i < 8; i++)
    payload[4 + i] = (uint8_t)(timestamp >> (56 - 8 * i));
  crypto_sign_ed25519_detached(payload + 12, NULL, m.data, m.len, c->k.sk);
  parley_buf_free(&m);
  return append_sig_line(line, c->k.name, payload, sizeof payload, err);
}

static bool cosig_check(const void *key, const parley_note *n, const uint8_t *sig, size_t sig_len,
                        uint64_t *ts) {
  const parley_cosig_verifier *v = key;
  if (sig_len != COSIG_LEN) return false;
  uint64_t t = 0;
  for (int i = 0; i < 8; i++)
    t = t << 8 | sig[4 + i];
  if (t > (uint64_t)INT64_MAX) return false;
  parley_buf m;
  parley_buf_init(&m, PARLEY_NOTE_MAX_LEN + 64);
  bool ok = cosig_message(&m, t, n->text, n->text_len) &&
            crypto_sign_ed25519_verify_detached(sig + 12, m.data, m.len, v->public_key) == 0;
  parley_buf_free(&m);
  *ts = t;
  return ok;
}

parley_err parley_cosig_verify(const parley_note *n, const parley_cosig_verifier *v,
                               uint64_t *timestamp, parley_error *err) {
  parley_checkpoint cp;
  if (!n->text) return parley_fail(err, PARLEY_E_TLOG_NOTE, "note was not parsed");
  parley_err e = parley_checkpoint_parse(n->text, n->text_len, &cp, err);
  if (e != PARLEY_E_OK) return e;
  return verify_lines(n, v->name, v->key_id, v, cosig_check, timestamp, err);
}
