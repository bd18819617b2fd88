/* parley: messages, passphrases and files. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <sodium.h>

#include "cli.h"

int cli_fail(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("parley: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
  return 1;
}

int cli_fail_err(const char *what, const parley_error *err) {
  /* The detail may quote what a hub sent (a member name, a value): escaped. */
  return cli_fail("%s: %s: %s%s%s%s", what, parley_err_name(err->code), parley_err_hint(err->code),
                  err->detail[0] ? " (" : "", cli_safe(err->detail), err->detail[0] ? ")" : "");
}

static bool read_tty_line(const char *prompt, char *out, size_t cap) {
  int fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (fd < 0) return false;
  struct termios old, quiet;
  bool ok = false;
  if (tcgetattr(fd, &old) == 0) {
    quiet = old;
    quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
    quiet.c_lflag |= ICANON;
    if (write(fd, prompt, strlen(prompt)) >= 0 && tcsetattr(fd, TCSAFLUSH, &quiet) == 0) {
      size_t n = 0;
      char c;
      while (n + 1 < cap && read(fd, &c, 1) == 1 && c != '\n')
        out[n++] = c;
      out[n] = 0;
      ok = n > 0;
      tcsetattr(fd, TCSAFLUSH, &old);
      if (write(fd, "\n", 1) < 0) ok = false;
    }
  }
  close(fd);
  return ok;
}

bool cli_read_passphrase(const char *prompt, bool confirm, char *out, size_t cap) {
  const char *env = getenv("PARLEY_PASSPHRASE");
  if (env && *env) return parley_strlcpy(out, env, cap);
  if (!read_tty_line(prompt, out, cap)) return false;
  if (confirm) {
    char again[256];
    bool same =
        read_tty_line("Repeat the passphrase: ", again, sizeof again) && strcmp(again, out) == 0;
    sodium_memzero(again, sizeof again);
    if (!same) {
      sodium_memzero(out, cap);
      fprintf(stderr, "parley: the passphrases differ\n");
      return false;
    }
  }
  return true;
}

int cli_load_identity(parley_identity *id) {
  parley_error err;
  if (!cli.key_file[0])
    return cli_fail("no key file: give --key FILE or set key = FILE in %s", cli.config_file);
  parley_err e = parley_identity_load(cli.key_file, NULL, id, &err);
  if (e == PARLEY_E_KEYFILE_NEEDS_PASSPHRASE) {
    char pass[256];
    if (!cli_read_passphrase("Passphrase for the key file: ", false, pass, sizeof pass))
      return cli_fail("%s is encrypted: set PARLEY_PASSPHRASE or run from a terminal",
                      cli.key_file);
    e = parley_identity_load(cli.key_file, pass, id, &err);
    sodium_memzero(pass, sizeof pass);
  }
  if (e) return cli_fail_err(cli.key_file, &err);
  return 0;
}

/* Serializes the read-modify-write of the client's state files (pins, checkpoints)
 * between parley processes of the same user. Returns the lock's fd, or -1. */
int cli_state_lock(void) {
  char p[600];
  snprintf(p, sizeof p, "%s/.state.lock", cli.home);
  mkdir(cli.home, 0700);
  int fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd >= 0 && flock(fd, LOCK_EX) != 0) {
    close(fd);
    fd = -1;
  }
  return fd;
}

void cli_state_unlock(int fd) {
  if (fd >= 0) close(fd); /* releases the lock */
}

char *cli_read_file(const char *path, size_t max, size_t *len) {
  FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
  if (!f) {
    cli_fail("%s: %s", path, strerror(errno));
    return NULL;
  }
  parley_buf b;
  parley_buf_init(&b, max);
  char chunk[8192];
  size_t n;
  bool ok = true;
  while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
    if (parley_buf_append(&b, chunk, n) != PARLEY_E_OK) {
      ok = false;
      cli_fail("%s: larger than %zu bytes", path, max);
      break;
    }
  if (ferror(f)) {
    ok = false;
    cli_fail("%s: read error", path);
  }
  if (f != stdin) fclose(f);
  if (!ok) {
    parley_buf_free(&b);
    return NULL;
  }
  return parley_buf_steal(&b, len);
}

parley_err cli_write_file_atomic(const char *path, const void *data, size_t len, int mode) {
  char tmp[1024];
  /* A name of this process's own: several parley processes may save the same file. */
  int n = snprintf(tmp, sizeof tmp, "%s.%ld.tmp", path, (long)getpid());
  if (n < 0 || (size_t)n >= sizeof tmp) return PARLEY_E_INVALID_ARGUMENT;
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) return PARLEY_E_IO;
  const char *p = data;
  size_t left = len;
  while (left) {
    ssize_t w = write(fd, p, left);
    if (w < 0) {
      if (errno == EINTR) continue;
      close(fd);
      unlink(tmp);
      return PARLEY_E_IO;
    }
    p += w;
    left -= (size_t)w;
  }
  bool synced = fsync(fd) == 0;
  if (close(fd) != 0 || !synced || rename(tmp, path) != 0) {
    unlink(tmp);
    return PARLEY_E_IO;
  }
  return PARLEY_E_OK;
}

/* ---- what the hub says, printed safely ------------------------------------------ */

/* Copies s into out (cap ≥ 1) with every control character (C0, DEL, and C1 as UTF-8
 * U+0080..U+009F) replaced by a visible escape (\n, \t, \xNN, \u00NN), stopping before
 * a piece that would not fit. Returns the number of bytes of s consumed. */
static size_t escape_into(const char *s, char *out, size_t cap) {
  size_t n = 0;
  const unsigned char *p = (const unsigned char *)s;
  while (*p) {
    char esc[8];
    const char *piece = esc;
    size_t len, used = 1;
    if (*p == '\n')
      piece = "\\n", len = 2;
    else if (*p == '\t')
      piece = "\\t", len = 2;
    else if (*p < 0x20 || *p == 0x7f)
      len = (size_t)snprintf(esc, sizeof esc, "\\x%02x", *p);
    else if (*p == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f) {
      len = (size_t)snprintf(esc, sizeof esc, "\\u%04x", p[1]);
      used = 2;
    } else
      piece = (const char *)p, len = 1;
    if (n + len >= cap) break;
    memcpy(out + n, piece, len);
    n += len;
    p += used;
  }
  out[n] = 0;
  return (size_t)((const char *)p - s);
}

const char *cli_safe(const char *s) {
  static char ring[8][CLI_SAFE_MAX];
  static unsigned next;
  if (!s) return "(missing)";
  char *out = ring[next++ % 8];
  size_t used = escape_into(s, out, CLI_SAFE_MAX - 3);
  if (s[used]) { /* cut at the bound: escape_into left room for the mark */
    size_t len = strlen(out);
    memcpy(out + len, "...", 4);
  }
  return out;
}

void cli_print_safe(FILE *f, const char *s) {
  if (!s) {
    fputs("(missing)", f);
    return;
  }
  char chunk[256];
  while (*s) {
    size_t used = escape_into(s, chunk, sizeof chunk);
    fputs(chunk, f);
    s += used;
  }
}

const char *cli_jstr(const json_t *obj, const char *key) {
  return json_string_value(json_object_get(obj, key));
}

/* One control character as a JSON escape, which is also readable on a terminal. */
static void put_u_escape(FILE *f, unsigned c) {
  fprintf(f, "\\u%04x", c);
}

void cli_write_safe_text(FILE *f, const char *s, size_t len) {
  const unsigned char *p = (const unsigned char *)s, *end = p + len;
  while (p < end) {
    const unsigned char *run = p;
    while (p < end && *p != 0x7f && !(*p < 0x20 && *p != '\n') &&
           !(*p == 0xc2 && p + 1 < end && p[1] >= 0x80 && p[1] <= 0x9f))
      p++;
    if (p > run) fwrite(run, 1, (size_t)(p - run), f);
    if (p >= end) break;
    if (*p == '\r' && p + 1 < end && p[1] == '\n') { /* CRLF of CSV and vCard */
      fputc('\r', f);
      p++;
    } else if (*p == 0xc2) {
      put_u_escape(f, p[1]);
      p += 2;
    } else {
      put_u_escape(f, *p);
      p++;
    }
  }
}

void cli_print_json(FILE *f, const json_t *v, size_t flags) {
  char *s = json_dumps(v, flags);
  if (!s) {
    fputs("null\n", f);
    return;
  }
  cli_write_safe_text(f, s, strlen(s));
  fputc('\n', f);
  free(s);
}

bool cli_jint(const json_t *obj, const char *key, long long *out) {
  json_t *v = json_object_get(obj, key);
  if (!json_is_integer(v)) return false;
  *out = (long long)json_integer_value(v);
  return true;
}
