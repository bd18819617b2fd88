/* Recipients named on the command line ("EST:technical", "EST:est-cert"), resolved from
 * the state's verified record: one place for parley send and parley evidence send|share. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

int cli_resolve_recipients(const char *spec, bool exact_poc, cli_recipient *out, size_t cap,
                           size_t *n, json_t **record) {
  if (record) *record = NULL;
  const char *colon = strchr(spec, ':');
  if (!colon || colon - spec != 3)
    return cli_fail("recipient '%s': use STATE:ROLE or STATE:POC-ID, e.g. EST:technical", spec);
  char code[4];
  memcpy(code, spec, 3);
  code[3] = 0;
  const char *what = colon + 1;
  json_t *st = NULL, *rec = NULL;
  parley_record_info *info = malloc(sizeof *info);
  parley_sign_pk root;
  bool first;
  uint64_t li, ls;
  if (!info || cli_verified_record(code, NULL, &st, &rec, info, &root, &first, &li, &ls)) {
    free(info);
    return 1;
  }
  int role = -1;
  for (int i = 0; !exact_poc && parley_poc_roles[i]; i++)
    if (!strcmp(parley_poc_roles[i], what)) role = i;
  size_t found = 0;
  int rc = 0;
  for (size_t i = 0; i < info->n_pocs && !rc; i++) {
    const parley_poc_info *p = &info->pocs[i];
    if (role >= 0 ? !(p->roles & (1u << role)) : strcmp(p->id, what) != 0) continue;
    bool dup = false;
    for (size_t k = 0; k < *n; k++)
      dup |= !memcmp(out[k].box.b, p->box_pk.b, 32);
    if (dup) continue;
    if (*n >= cap) {
      rc = cli_fail("too many recipients (at most %zu)", cap);
      break;
    }
    parley_strlcpy(out[*n].state, code, sizeof out[*n].state);
    parley_strlcpy(out[*n].poc, p->id, sizeof out[*n].poc);
    out[*n].box = p->box_pk;
    (*n)++;
    found++;
  }
  free(info);
  json_decref(st);
  if (!rc && !found)
    rc = cli_fail("recipient '%s': %s has no POC %s '%s'", spec, code,
                  role >= 0 ? "with role" : "with id", what);
  if (!rc && record)
    *record = rec;
  else
    json_decref(rec);
  return rc;
}

void cli_recipients_view(const cli_recipient *r, size_t n, parley_envelope_recipient *out) {
  for (size_t i = 0; i < n; i++)
    out[i] = (parley_envelope_recipient){r[i].state, r[i].poc, r[i].box};
}
