/* Secret and public key files (JSON through jansson), written atomically and read
 * with limits: a hostile key file can neither crash us nor demand unbounded work. */
#include "parley/crypto.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SECRET_FORMAT "parley-secret-key-v1"
#define PUBLIC_FORMAT "parley-public-key-v1"
#define SECRET_LEN (PARLEY_SIGN_SEED_LEN + PARLEY_BOX_SK_LEN)
#define SALT_LEN crypto_pwhash_argon2id_SALTBYTES
#define BOX_NONCE_LEN crypto_secretbox_NONCEBYTES
#define BOX_CT_LEN (SECRET_LEN + crypto_secretbox_MACBYTES)
#define PATH_CAP 4096

_Static_assert(crypto_secretbox_KEYBYTES == 32, "secretbox key");

/* ---- files ---------------------------------------------------------------- */

static parley_err io_fail(parley_error *err, const char *what, const char *path, int errnum) {
  return parley_fail(err, errnum == ENOENT ? PARLEY_E_NOT_FOUND : PARLEY_E_IO, "%s %s: %s", what,
                     path, strerror(errnum));
}

static parley_err fsync_dir_of(const char *path, parley_error *err) {
  char dir[PATH_CAP];
  if (!parley_strlcpy(dir, path, sizeof dir))
    return parley_fail(err, PARLEY_E_INVALID_ARGUMENT, "path too long");
  char *slash = strrchr(dir, '/');
  if (!slash)
    parley_strlcpy(dir, ".", sizeof dir);
  else if (slash == dir)
    dir[1] = 0;
  else
    *slash = 0;
  int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return io_fail(err, "open directory", dir, errno);
  int rc = fsync(fd);
  int saved = errno;
  close(fd);
  if (rc != 0) return io_fail(err, "fsync directory", dir, saved);
  return PARLEY_E_OK;
}

/* Writes PATH.tmp (created exclusively with `mode`), fsyncs it, renames it to PATH and
 * fsyncs the directory, so a crash leaves either the old file or the new one. */
static parley_err write_atomic(const char *path, const char *data, size_t len, mode_t mode,
                               parley_error *err) {
  char tmp[PATH_CAP];
  int n = snprintf(tmp, sizeof tmp, "%s.tmp", path);
  if (n < 0 || (size_t)n >= sizeof tmp)
    return parley_fail(err, PARLEY_E_INVALID_ARGUMENT, "path too long");
  int fd = open(tmp, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, mode);
  if (fd < 0) return io_fail(err, "create", tmp, errno);
  size_t off = 0;
  while (off < len) {
    ssize_t w = write(fd, data + off, len - off);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) {
      int saved = w < 0 ? errno : EIO;
      close(fd);
      unlink(tmp);
      return io_fail(err, "write", tmp, saved);
    }
    off += (size_t)w;
  }
  if (fsync(fd) != 0) {
    int saved = errno;
    close(fd);
    unlink(tmp);
    return io_fail(err, "fsync", tmp, saved);
  }
  if (close(fd) != 0) {
    int saved = errno;
    unlink(tmp);
    return io_fail(err, "close", tmp, saved);
  }
  if (rename(tmp, path) != 0) {
    int saved = errno;
    unlink(tmp);
    return io_fail(err, "rename to", path, saved);
  }
  return fsync_dir_of(path, err);
}

/* Reads the whole file into a fresh buffer (NUL-terminated, at most
 * PARLEY_KEYFILE_MAX_BYTES). With `secret`, refuses group/other permission bits, checked
 * on the opened descriptor so the file cannot be swapped between check and read.
 * The caller wipes and frees *out. */
static parley_err read_keyfile(const char *path, bool secret, char **out, size_t *out_len,
                               parley_error *err) {
  *out = NULL;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return io_fail(err, "open", path, errno);
  struct stat st;
  if (fstat(fd, &st) != 0) {
    int saved = errno;
    close(fd);
    return io_fail(err, "stat", path, saved);
  }
  if (!S_ISREG(st.st_mode)) {
    close(fd);
    return parley_fail(err, PARLEY_E_KEYFILE_FORMAT, "%s is not a regular file", path);
  }
  if (secret && (st.st_mode & (S_IRWXG | S_IRWXO))) {
    close(fd);
    return parley_fail(err, PARLEY_E_KEYFILE_PERMISSIONS, "%s has mode %04o; run chmod 600", path,
                       (unsigned)(st.st_mode & 07777));
  }
  char *buf = malloc(PARLEY_KEYFILE_MAX_BYTES + 1);
  if (!buf) {
    close(fd);
    return parley_fail(err, PARLEY_E_NO_MEMORY, "reading %s", path);
  }
  size_t len = 0;
  for (;;) {
    ssize_t r = read(fd, buf + len, PARLEY_KEYFILE_MAX_BYTES + 1 - len);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) {
      int saved = errno;
      close(fd);
      sodium_memzero(buf, len);
      free(buf);
      return io_fail(err, "read", path, saved);
    }
    if (r == 0) break;
    len += (size_t)r;
    if (len > PARLEY_KEYFILE_MAX_BYTES) {
      close(fd);
      sodium_memzero(buf, len);
      free(buf);
      return parley_fail(err, PARLEY_E_KEYFILE_FORMAT, "%s is larger than %d bytes", path,
                         PARLEY_KEYFILE_MAX_BYTES);
    }
  }
  close(fd);
  buf[len] = 0;
  *out = buf;
  *out_len = len;
  return PARLEY_E_OK;
}

static void free_secret_text(char *s, size_t len) {
  if (s) {
    sodium_memzero(s, len);
    free(s);
  }
}

/* jansson keeps string values in its own heap blocks; overwrite one holding a secret
 * before the object is freed. (The block is jansson's malloc'd copy, never a literal.) */
static void wipe_json_string(json_t *v) {
  if (json_is_string(v)) sodium_memzero((char *)json_string_value(v), json_string_length(v));
}

/* ---- JSON field helpers ------------------------------------------------------- */

static parley_err check_fields(json_t *obj, const char *const *allowed, const char *path,
                               parley_error *err) {
  const char *k;
  json_t *v;
  json_object_foreach(obj, k, v) {
    bool ok = false;
    for (size_t i = 0; allowed[i]; i++)
      ok = ok || strcmp(k, allowed[i]) == 0;
    if (!ok) return parley_fail(err, PARLEY_E_KEYFILE_FORMAT, "%s: unknown field '%.64s'", path, k);
  }
  return PARLEY_E_OK;
}

static const char *get_str(json_t *obj, const char *key, const char *path, parley_error *err) {
  json_t *v = json_object_get(obj, key);
  if (!json_is_string(v)) {
    parley_fail(err, PARLEY_E_KEYFILE_FORMAT, "%s: field '%s' missing or not a string", path, key);
    return NULL;
  }
  return json_string_value(v);
}

static parley_err get_b64(json_t *obj, const char *key, uint8_t *out, size_t n, const char *path,
                          parley_error *err) {
  const char *s = get_str(obj, key, path, err);
  if (!s) return PARLEY_E_KEYFILE_FORMAT;
  if (parley_b64url_decode_exact(s, out, n) != PARLEY_E_OK) {
    sodium_memzero(out, n);
    return parley_fail(err, PARLEY_E_KEYFILE_FORMAT, "%s: field '%s' is not %zu bytes of base64url",
                       path, key, n);
  }
  return PARLEY_E_OK;
}

static parley_err get_limit(json_t *obj, const char *key, unsigned long long min,
                            unsigned long long max, unsigned long long *out, const char *path,
                            parley_error *err) {
  *out = 0; /* written on every path, so a caller never reads an unset limit */
  json_t *v = json_object_get(obj, key);
  if (!json_is_integer(v) || json_integer_value(v) < 0 ||
      (unsigned long long)json_integer_value(v) < min ||
      (unsigned long long)json_integer_value(v) > max)
    return parley_fail(err, PARLEY_E_KEYFILE_FORMAT,
                       "%s: field '%s' must be an integer in [%llu, %llu]", path, key, min, max);
  *out = (unsigned long long)json_integer_value(v);
  return PARLEY_E_OK;
}

static parley_err get_public(json_t *obj, parley_public_identity *pub, const char *path,
                             parley_error *err) {
  const char *s = get_str(obj, "sign_pk", path, err);
  if (!s) return PARLEY_E_KEYFILE_FORMAT;
  if (parley_sign_pk_from_b64(s, &pub->sign_pk) != PARLEY_E_OK)
    return parley_fail(err, PARLEY_E_KEYFILE_FORMAT, "%s: 'sign_pk' is not an Ed25519 key", path);
  s = get_str(obj, "box_pk", path, err);
  if (!s) return PARLEY_E_KEYFILE_FORMAT;
  if (parley_box_pk_from_b64(s, &pub->box_pk) != PARLEY_E_OK)
    return parley_fail(err, PARLEY_E_KEYFILE_FORMAT, "%s: 'box_pk' is not an X25519 key", path);
  return PARLEY_E_OK;
}

static parley_err parse_object(const char *text, size_t len, const char *format, json_t **out,
                               const char *path, parley_error *err) {
  json_error_t jerr;
  json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
  if (!root)
    return parley_fail(err, PARLEY_E_KEYFILE_FORMAT, "%s: line %d: %s", path, jerr.line, jerr.text);
  if (!json_is_object(root)) {
    json_decref(root);
    return parley_fail(err, PARLEY_E_KEYFILE_FORMAT, "%s: not a JSON object", path);
  }
  json_t *f = json_object_get(root, "format");
  if (!json_is_string(f) || strcmp(json_string_value(f), format) != 0) {
    json_decref(root);
    return parley_fail(err, PARLEY_E_KEYFILE_FORMAT, "%s: 'format' is not \"%s\"", path, format);
  }
  *out = root;
  return PARLEY_E_OK;
}

/* Sets obj[key] = base64url(bytes); false if out of memory. */
static bool set_b64(json_t *obj, const char *key, const uint8_t *bytes, size_t n) {
  char buf[256];
  if (parley_b64url_encode(bytes, n, buf, sizeof buf) != PARLEY_E_OK) return false;
  bool ok = json_object_set_new(obj, key, json_string(buf)) == 0;
  sodium_memzero(buf, sizeof buf);
  return ok;
}

static bool set_public(json_t *obj, const char *format, const parley_sign_pk *spk,
                       const parley_box_pk *bpk) {
  char b[PARLEY_KEY_B64_LEN];
  bool ok = json_object_set_new(obj, "format", json_string(format)) == 0;
  parley_sign_pk_to_b64(spk, b);
  ok = ok && json_object_set_new(obj, "sign_pk", json_string(b)) == 0;
  parley_box_pk_to_b64(bpk, b);
  ok = ok && json_object_set_new(obj, "box_pk", json_string(b)) == 0;
  return ok;
}

/* Serialises obj (one trailing newline) and writes it atomically; wipes the text. */
static parley_err dump_and_write(json_t *obj, const char *path, mode_t mode, parley_error *err) {
  char *text = json_dumps(obj, JSON_INDENT(2));
  if (!text) return parley_fail(err, PARLEY_E_NO_MEMORY, "serialising %s", path);
  size_t n = strlen(text);
  parley_buf b;
  parley_buf_init(&b, n + 1);
  parley_err e = parley_buf_append(&b, text, n);
  if (!e) e = parley_buf_append(&b, "\n", 1);
  free_secret_text(text, n);
  if (e) {
    parley_buf_free(&b);
    return parley_fail(err, e, "serialising %s", path);
  }
  e = write_atomic(path, (const char *)b.data, b.len, mode, err);
  parley_buf_free(&b);
  return e;
}

/* ---- secret key files --------------------------------------------------------- */

parley_err parley_identity_save(const char *path, const parley_identity *id, const char *passphrase,
                                parley_error *err) {
  if (!path || !id) return parley_fail(err, PARLEY_E_INVALID_ARGUMENT, "no path or identity");
  if (passphrase && !*passphrase)
    return parley_fail(err, PARLEY_E_INVALID_ARGUMENT,
                       "empty passphrase; pass none to store the key unprotected");

  /* Refuse an inconsistent identity rather than write a file that will not load. */
  uint8_t secret[SECRET_LEN];
  memcpy(secret, id->sign_sk.b, PARLEY_SIGN_SEED_LEN);
  memcpy(secret + PARLEY_SIGN_SEED_LEN, id->box_sk.b, PARLEY_BOX_SK_LEN);
  parley_identity check;
  parley_err e = parley_identity_from_seeds(secret, secret + PARLEY_SIGN_SEED_LEN, &check);
  bool consistent = e == PARLEY_E_OK && sodium_memcmp(&check, id, sizeof check) == 0;
  parley_identity_wipe(&check);
  if (!consistent) {
    sodium_memzero(secret, sizeof secret);
    return parley_fail(err, PARLEY_E_INVALID_ARGUMENT,
                       "the identity's public keys do not match its secret keys");
  }

  json_t *obj = json_object();
  bool ok = obj && set_public(obj, SECRET_FORMAT, &id->sign_pk, &id->box_pk);
  if (!passphrase) {
    ok = ok && json_object_set_new(obj, "protection", json_string("none")) == 0;
    ok = ok && set_b64(obj, "secret", secret, sizeof secret);
  } else {
    uint8_t salt[SALT_LEN], nonce[BOX_NONCE_LEN], key[crypto_secretbox_KEYBYTES];
    uint8_t ct[BOX_CT_LEN];
    randombytes_buf(salt, sizeof salt);
    randombytes_buf(nonce, sizeof nonce);
    if (crypto_pwhash(key, sizeof key, passphrase, strlen(passphrase), salt,
                      crypto_pwhash_argon2id_OPSLIMIT_INTERACTIVE,
                      crypto_pwhash_argon2id_MEMLIMIT_INTERACTIVE,
                      crypto_pwhash_ALG_ARGON2ID13) != 0) {
      sodium_memzero(secret, sizeof secret);
      json_decref(obj);
      return parley_fail(err, PARLEY_E_NO_MEMORY, "Argon2id key derivation failed");
    }
    crypto_secretbox_easy(ct, secret, sizeof secret, nonce, key);
    sodium_memzero(key, sizeof key);
    ok = ok && json_object_set_new(obj, "protection", json_string("argon2id")) == 0;
    ok = ok && set_b64(obj, "salt", salt, sizeof salt);
    ok = ok && json_object_set_new(
                   obj, "opslimit",
                   json_integer((json_int_t)crypto_pwhash_argon2id_OPSLIMIT_INTERACTIVE)) == 0;
    ok = ok && json_object_set_new(
                   obj, "memlimit",
                   json_integer((json_int_t)crypto_pwhash_argon2id_MEMLIMIT_INTERACTIVE)) == 0;
    ok = ok && set_b64(obj, "nonce", nonce, sizeof nonce);
    ok = ok && set_b64(obj, "ciphertext", ct, sizeof ct);
  }
  sodium_memzero(secret, sizeof secret);
  if (!ok)
    e = parley_fail(err, PARLEY_E_NO_MEMORY, "building %s", path);
  else
    e = dump_and_write(obj, path, 0600, err);
  wipe_json_string(json_object_get(obj, "secret"));
  json_decref(obj);
  return e;
}

static const char *const FIELDS_NONE[] = {"format",     "sign_pk", "box_pk",
                                          "protection", "secret",  NULL};
static const char *const FIELDS_ARGON[] = {"format",   "sign_pk",  "box_pk", "protection", "salt",
                                           "opslimit", "memlimit", "nonce",  "ciphertext", NULL};

/* Recovers seed || box sk from a parsed secret key file. */
static parley_err secret_from_json(json_t *root, const char *passphrase, uint8_t secret[SECRET_LEN],
                                   const char *path, parley_error *err) {
  const char *prot = get_str(root, "protection", path, err);
  if (!prot) return PARLEY_E_KEYFILE_FORMAT;
  if (strcmp(prot, "none") == 0) {
    parley_err e = check_fields(root, FIELDS_NONE, path, err);
    if (!e) e = get_b64(root, "secret", secret, SECRET_LEN, path, err);
    return e;
  }
  if (strcmp(prot, "argon2id") != 0)
    return parley_fail(err, PARLEY_E_KEYFILE_FORMAT, "%s: unknown 'protection'", path);

  uint8_t salt[SALT_LEN], nonce[BOX_NONCE_LEN], ct[BOX_CT_LEN];
  unsigned long long ops, mem;
  parley_err e = check_fields(root, FIELDS_ARGON, path, err);
  if (!e) e = get_b64(root, "salt", salt, sizeof salt, path, err);
  if (!e) e = get_b64(root, "nonce", nonce, sizeof nonce, path, err);
  if (!e) e = get_b64(root, "ciphertext", ct, sizeof ct, path, err);
  /* Bounded so a hostile file cannot make us spend unbounded time or memory. */
  if (!e)
    e = get_limit(root, "opslimit", crypto_pwhash_argon2id_OPSLIMIT_MIN,
                  PARLEY_KEYFILE_OPSLIMIT_MAX, &ops, path, err);
  if (!e)
    e = get_limit(root, "memlimit", crypto_pwhash_argon2id_MEMLIMIT_MIN,
                  PARLEY_KEYFILE_MEMLIMIT_MAX, &mem, path, err);
  if (e) return e;
  if (!passphrase)
    return parley_fail(err, PARLEY_E_KEYFILE_NEEDS_PASSPHRASE, "%s is encrypted", path);

  uint8_t key[crypto_secretbox_KEYBYTES];
  if (crypto_pwhash(key, sizeof key, passphrase, strlen(passphrase), salt, ops, (size_t)mem,
                    crypto_pwhash_ALG_ARGON2ID13) != 0) {
    sodium_memzero(key, sizeof key);
    return parley_fail(err, PARLEY_E_NO_MEMORY, "Argon2id key derivation failed");
  }
  int rc = crypto_secretbox_open_easy(secret, ct, sizeof ct, nonce, key);
  sodium_memzero(key, sizeof key);
  if (rc != 0) {
    sodium_memzero(secret, SECRET_LEN);
    return parley_fail(err, PARLEY_E_KEYFILE_PASSPHRASE, "%s: wrong passphrase", path);
  }
  return PARLEY_E_OK;
}

parley_err parley_identity_load(const char *path, const char *passphrase, parley_identity *id,
                                parley_error *err) {
  parley_identity_wipe(id);
  if (!path) return parley_fail(err, PARLEY_E_INVALID_ARGUMENT, "no path");
  char *text;
  size_t len;
  parley_err e = read_keyfile(path, true, &text, &len, err);
  if (e) return e;
  json_t *root = NULL;
  e = parse_object(text, len, SECRET_FORMAT, &root, path, err);
  free_secret_text(text, len);
  if (e) return e;

  parley_public_identity stored;
  uint8_t secret[SECRET_LEN];
  e = get_public(root, &stored, path, err);
  if (!e) e = secret_from_json(root, passphrase, secret, path, err);
  wipe_json_string(json_object_get(root, "secret"));
  json_decref(root);
  if (!e) {
    e = parley_identity_from_seeds(secret, secret + PARLEY_SIGN_SEED_LEN, id);
    if (e) e = parley_fail(err, PARLEY_E_KEYFILE_FORMAT, "%s: unusable secret key", path);
  }
  sodium_memzero(secret, sizeof secret);
  if (!e && (sodium_memcmp(stored.sign_pk.b, id->sign_pk.b, sizeof stored.sign_pk.b) != 0 ||
             sodium_memcmp(stored.box_pk.b, id->box_pk.b, sizeof stored.box_pk.b) != 0))
    e = parley_fail(err, PARLEY_E_KEYFILE_FORMAT,
                    "%s: the public keys do not match the secret keys", path);
  if (e) parley_identity_wipe(id);
  return e;
}

/* ---- public key files ----------------------------------------------------------- */

parley_err parley_public_save(const char *path, const parley_public_identity *pub,
                              parley_error *err) {
  if (!path || !pub) return parley_fail(err, PARLEY_E_INVALID_ARGUMENT, "no path or key");
  json_t *obj = json_object();
  parley_err e;
  if (!obj || !set_public(obj, PUBLIC_FORMAT, &pub->sign_pk, &pub->box_pk))
    e = parley_fail(err, PARLEY_E_NO_MEMORY, "building %s", path);
  else
    e = dump_and_write(obj, path, 0644, err);
  json_decref(obj);
  return e;
}

static const char *const FIELDS_PUBLIC[] = {"format", "sign_pk", "box_pk", NULL};

parley_err parley_public_load(const char *path, parley_public_identity *pub, parley_error *err) {
  memset(pub, 0, sizeof *pub);
  if (!path) return parley_fail(err, PARLEY_E_INVALID_ARGUMENT, "no path");
  char *text;
  size_t len;
  parley_err e = read_keyfile(path, false, &text, &len, err);
  if (e) return e;
  json_t *root = NULL;
  e = parse_object(text, len, PUBLIC_FORMAT, &root, path, err);
  free(text);
  if (e) return e;
  e = check_fields(root, FIELDS_PUBLIC, path, err);
  if (!e) e = get_public(root, pub, path, err);
  json_decref(root);
  if (e) memset(pub, 0, sizeof *pub);
  return e;
}
