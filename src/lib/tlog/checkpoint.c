/* C2SP tlog-checkpoint note text: strict parsing and formatting. */
#include "parley/tlog.h"

#include <inttypes.h>
#include <string.h>

static parley_err cp_fail(parley_error *err, const char *what) {
  return parley_fail(err, PARLEY_E_TLOG_CHECKPOINT, "%s", what);
}

/* Valid UTF-8 without ASCII control characters other than newline (signed-note rule). */
static bool chars_valid(const char *s, size_t len) {
  for (size_t i = 0; i < len; i++)
    if ((unsigned char)s[i] < 0x20 && s[i] != '\n') return false;
  return parley_utf8_valid(s, len);
}

/* Extension lines: zero or more non-empty lines, each ending in newline. */
static bool ext_valid(const char *s, size_t len) {
  if (len == 0) return true;
  if (s[len - 1] != '\n' || s[0] == '\n') return false;
  for (size_t i = 1; i < len; i++)
    if (s[i] == '\n' && s[i - 1] == '\n') return false;
  return true;
}

parley_err parley_checkpoint_parse(const char *text, size_t len, parley_checkpoint *out,
                                   parley_error *err) {
  memset(out, 0, sizeof *out);
  if (!text) return cp_fail(err, "missing checkpoint");
  if (len > PARLEY_NOTE_MAX_LEN)
    return parley_fail(err, PARLEY_E_TOO_LARGE, "checkpoint exceeds %u bytes", PARLEY_NOTE_MAX_LEN);
  if (!chars_valid(text, len))
    return cp_fail(err, "a checkpoint must be UTF-8 without control characters but newline");
  const char *line[3];
  size_t line_len[3];
  size_t pos = 0;
  for (int i = 0; i < 3; i++) {
    const char *nl = pos < len ? memchr(text + pos, '\n', len - pos) : NULL;
    if (!nl)
      return cp_fail(err, "a checkpoint needs origin, size and root lines ending in newline");
    line[i] = text + pos;
    line_len[i] = (size_t)(nl - line[i]);
    if (line_len[i] == 0) return cp_fail(err, "checkpoint lines must not be empty");
    pos += line_len[i] + 1;
  }
  if (line_len[0] > PARLEY_CHECKPOINT_ORIGIN_MAX)
    return cp_fail(err, "checkpoint origin is longer than 255 bytes");
  char num[21];
  if (line_len[1] > 20 || (line_len[1] > 1 && line[1][0] == '0'))
    return cp_fail(err, "checkpoint size must be decimal without leading zeros");
  memcpy(num, line[1], line_len[1]);
  num[line_len[1]] = 0;
  uint64_t size = 0;
  if (!parley_parse_u64(num, &size))
    return cp_fail(err, "checkpoint size must be decimal without leading zeros");
  size_t n = 0;
  if (line_len[2] != 44 ||
      parley_b64_decode(line[2], line_len[2], out->root, sizeof out->root, &n) != PARLEY_E_OK ||
      n != PARLEY_TLOG_HASH_LEN)
    return cp_fail(err, "checkpoint root must be canonical base64 of 32 bytes");
  if (!ext_valid(text + pos, len - pos))
    return cp_fail(err, "checkpoint extension lines must not be empty");
  memcpy(out->origin, line[0], line_len[0]);
  out->origin[line_len[0]] = 0;
  out->size = size;
  out->ext = len > pos ? text + pos : NULL;
  out->ext_len = len - pos;
  return PARLEY_E_OK;
}

parley_err parley_checkpoint_format(const parley_checkpoint *cp, parley_buf *out,
                                    parley_error *err) {
  size_t olen = strnlen(cp->origin, sizeof cp->origin);
  if (olen == 0 || olen > PARLEY_CHECKPOINT_ORIGIN_MAX || memchr(cp->origin, '\n', olen) ||
      !chars_valid(cp->origin, olen))
    return cp_fail(err, "checkpoint origin must be 1-255 bytes of one line of UTF-8");
  if (cp->ext_len &&
      (!cp->ext || !ext_valid(cp->ext, cp->ext_len) || !chars_valid(cp->ext, cp->ext_len)))
    return cp_fail(err, "checkpoint extension lines must be non-empty lines ending in newline");
  char root[48];
  if (parley_b64_encode(cp->root, sizeof cp->root, root, sizeof root) != PARLEY_E_OK)
    return parley_fail(err, PARLEY_E_INTERNAL, "base64");
  if (parley_buf_append(out, cp->origin, olen) ||
      parley_buf_printf(out, "\n%" PRIu64 "\n%s\n", cp->size, root) ||
      (cp->ext_len && parley_buf_append(out, cp->ext, cp->ext_len)))
    return parley_fail(err, PARLEY_E_TOO_LARGE, "checkpoint does not fit the buffer");
  return PARLEY_E_OK;
}
