/* The error registry (include/parley/errors.def) and error helpers. */
#include "parley/base.h"

#include <stdio.h>
#include <string.h>

static const struct {
  const char *name;
  int status;
  const char *hint;
} registry[] = {
#define X(name, status, hint) {#name, status, hint},
#include "parley/errors.def"
#undef X
};

const char *parley_err_name(parley_err e) {
  return (unsigned)e < PARLEY_E__COUNT ? registry[e].name : "INTERNAL";
}

int parley_err_status(parley_err e) {
  return (unsigned)e < PARLEY_E__COUNT ? registry[e].status : 500;
}

const char *parley_err_hint(parley_err e) {
  return (unsigned)e < PARLEY_E__COUNT ? registry[e].hint : registry[PARLEY_E_INTERNAL].hint;
}

parley_err parley_fail(parley_error *e, parley_err code, const char *fmt, ...) {
  if (e) {
    e->code = code;
    e->detail[0] = '\0';
    if (fmt) {
      va_list ap;
      va_start(ap, fmt);
      vsnprintf(e->detail, sizeof e->detail, fmt, ap);
      va_end(ap);
    }
  }
  return code;
}

void parley_error_clear(parley_error *e) {
  if (e) {
    e->code = PARLEY_E_OK;
    e->detail[0] = '\0';
  }
}
