/* parley: what a client believes about a message (docs/protocol.md, "What a client must
 * verify"). Only signed objects count: the envelope (or the hub's signed communication
 * check) served for an id must carry that id, verify with a key from a verified
 * directory record (or the pinned hub key) and be in the log; a receipt counts only if
 * it verifies with a signing key of a recipient POC, names this message and envelope
 * hash, and is in the log. Everything else the hub says is its unsigned word. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "parley/envelope.h"

/* ---- verified directory records, cached for one run ------------------------------ */

#define EARLIER_VERSIONS_MAX 32 /* how far back a receipt's key is looked for */
#define CACHE_STATES_MAX 256

typedef struct {
  int64_t version;
  parley_record_info *info; /* NULL: not fetched yet, or failed */
  uint64_t log_index;       /* its state-record entry, proven included */
  bool tried;
} cached_version;

typedef struct {
  char code[4];
  bool tried, ok;
  parley_record_info *current;
  uint64_t current_index; /* the current record's entry, proven included */
  cached_version earlier[EARLIER_VERSIONS_MAX];
} cached_state;

struct cli_record_cache {
  cached_state *states;
  size_t n, cap;
};

cli_record_cache *cli_record_cache_new(void) {
  return calloc(1, sizeof(cli_record_cache));
}

void cli_record_cache_free(cli_record_cache *c) {
  if (!c) return;
  for (size_t i = 0; i < c->n; i++) {
    free(c->states[i].current);
    for (size_t k = 0; k < EARLIER_VERSIONS_MAX; k++)
      free(c->states[i].earlier[k].info);
  }
  free(c->states);
  free(c);
}

/* Fetches and verifies (pinned root key, signature, log inclusion) a record version
 * (version NULL: the current one), and its entry's index in the log. NULL after printing
 * why. */
static parley_record_info *fetch_verified(const char *code, const char *version,
                                          uint64_t *log_index) {
  parley_record_info *info = malloc(sizeof *info);
  json_t *st = NULL, *rec = NULL;
  parley_sign_pk root;
  bool first;
  uint64_t ls;
  if (!info || cli_verified_record(code, version, &st, &rec, info, &root, &first, log_index, &ls)) {
    free(info);
    return NULL;
  }
  json_decref(st);
  json_decref(rec);
  return info;
}

static cached_state *cache_state(cli_record_cache *c, const char *code) {
  if (!parley_state_code_valid(code)) return NULL;
  for (size_t i = 0; i < c->n; i++)
    if (!strcmp(c->states[i].code, code)) return &c->states[i];
  if (c->n == c->cap) {
    if (c->cap >= CACHE_STATES_MAX) return NULL;
    size_t cap = c->cap ? c->cap * 2 : 8;
    cached_state *s = realloc(c->states, cap * sizeof *s);
    if (!s) return NULL;
    c->states = s;
    c->cap = cap;
  }
  cached_state *s = &c->states[c->n++];
  memset(s, 0, sizeof *s);
  memcpy(s->code, code, 4);
  return s;
}

static const parley_record_info *cache_current(cli_record_cache *c, const char *code) {
  cached_state *s = cache_state(c, code);
  if (!s) {
    cli_fail("%s: not a state code, or more than %d states in one run", cli_safe(code),
             CACHE_STATES_MAX);
    return NULL;
  }
  if (!s->tried) {
    s->tried = true;
    s->current = fetch_verified(code, NULL, &s->current_index);
  }
  return s->current;
}

static const parley_poc_info *find_poc_key(const parley_record_info *info, const char *poc,
                                           const char *key_id) {
  for (size_t i = 0; info && i < info->n_pocs; i++) {
    char k[PARLEY_KEY_ID_LEN];
    parley_sign_pk_key_id(&info->pocs[i].sign_pk, k);
    if (!strcmp(info->pocs[i].id, poc) && !strcmp(k, key_id)) return &info->pocs[i];
  }
  return NULL;
}

/* The signing key key_id of state/poc: in the current verified record, or (earlier_ok)
 * in an earlier version v that verifies with the state's current root key. *valid_before
 * (earlier_ok only) is then the log index of version v+1's record, the first without the
 * key: only what was logged before it may be signed with that key (UINT64_MAX for a
 * current key). The search stops at a version that does not verify. */
static bool poc_signing_key(cli_record_cache *c, const char *state, const char *poc,
                            const char *key_id, bool earlier_ok, parley_sign_pk *pk,
                            uint64_t *valid_before) {
  const parley_record_info *cur = cache_current(c, state);
  if (!cur) return false;
  const parley_poc_info *p = find_poc_key(cur, poc, key_id);
  cached_state *s = cache_state(c, state);
  uint64_t later = UINT64_MAX;
  if (!p) later = s->current_index;
  for (int64_t v = cur->version - 1, k = 0; !p && earlier_ok && v >= 1 && k < EARLIER_VERSIONS_MAX;
       v--, k++) {
    cached_version *cv = &s->earlier[k];
    if (!cv->tried) {
      char ver[24];
      snprintf(ver, sizeof ver, "%lld", (long long)v);
      cv->tried = true;
      cv->version = v;
      cv->info = fetch_verified(state, ver, &cv->log_index);
    }
    /* Each earlier version must be the one asked for, logged before the later one: else
     * a hub could answer with a version that still holds a removed key. */
    if (!cv->info || cv->info->version != v || cv->log_index >= later) break;
    p = find_poc_key(cv->info, poc, key_id);
    if (!p) later = cv->log_index;
  }
  if (p) *pk = p->sign_pk;
  if (p && valid_before) *valid_before = later;
  return p != NULL;
}

bool cli_poc_key_logged(cli_record_cache *c, const char *state, const char *poc, const char *key_id,
                        uint64_t logged, parley_sign_pk *pk, uint64_t *valid_before) {
  uint64_t before = UINT64_MAX;
  if (!key_id || !poc_signing_key(c, state, poc, key_id, true, pk, &before)) return false;
  if (valid_before) *valid_before = before;
  return logged < before;
}

/* ---- the message ---------------------------------------------------------------- */

/* The hub's signed communication check (docs/protocol.md §11) as a header: id, kind
 * ping, from HUB/operator, the targets as recipients, issued as created. */
static int verify_ping(const json_t *st, const char *id, cli_message *m) {
  parley_sign_pk hub;
  parley_error err;
  if (cli_hub_key(&hub)) return 1;
  if (parley_signed_json_verify(st, "ping", &hub, &err) != PARLEY_E_OK)
    return cli_fail("REFUSED: the communication check %s is not signed by the hub's key", id);
  const char *sid = cli_jstr(st, "id"), *issued = cli_jstr(st, "issued");
  if (!sid || strcmp(sid, id) != 0)
    return cli_fail("REFUSED: the hub served communication check %s under id %s", cli_safe(sid),
                    id);
  parley_envelope_info *in = &m->info;
  parley_strlcpy(in->id, sid, sizeof in->id);
  parley_strlcpy(in->kind, "ping", sizeof in->kind);
  parley_strlcpy(in->from.state, "HUB", sizeof in->from.state);
  parley_strlcpy(in->from.poc, "operator", sizeof in->from.poc);
  if (!issued || parley_time_parse(issued, &in->created) != PARLEY_E_OK)
    return cli_fail("REFUSED: the communication check %s has no valid issued time", id);
  const json_t *targets = json_object_get(st, "targets");
  if (!json_is_array(targets) || json_array_size(targets) > PARLEY_MAX_RECIPIENTS * 64)
    return cli_fail("REFUSED: the communication check %s has no valid targets", id);
  size_t i;
  json_t *t;
  json_array_foreach(targets, i, t) {
    const char *s = cli_jstr(t, "state"), *p = cli_jstr(t, "poc");
    if (!s || !p || !parley_state_code_valid(s) || strlen(p) > PARLEY_POC_ID_MAX)
      return cli_fail("REFUSED: the communication check %s has a malformed target", id);
    if (in->n_recipients < PARLEY_MAX_RECIPIENTS) {
      parley_strlcpy(in->recipients[in->n_recipients].state, s, 4);
      parley_strlcpy(in->recipients[in->n_recipients].poc, p, PARLEY_POC_ID_MAX + 1);
      in->n_recipients++;
    } else if (m->extra_targets) {
      json_array_append(m->extra_targets, t);
    }
  }
  return parley_envelope_hash(st, &m->hash, &err) ? cli_fail_err("hash", &err) : 0;
}

int cli_message_get(const char *id, cli_record_cache *cache, cli_message *m) {
  memset(m, 0, sizeof *m);
  if (!parley_uuid_valid(id)) return cli_fail("'%s' is not a message id", cli_safe(id));
  char path[96];
  snprintf(path, sizeof path, "/v1/messages/%s", id);
  m->msg = cli_get_json(path);
  if (!m->msg) return 1;
  if (!json_is_object(m->msg))
    return cli_fail("REFUSED: the hub's answer for %s is not an object", id);
  m->env = json_object_get(m->msg, "envelope");
  if (!json_is_object(m->env))
    return cli_fail("REFUSED: the hub served no signed envelope for %s", id);
  const char *format = cli_jstr(m->env, "format");
  int rc;
  if (format && !strcmp(format, "parley-ping-v1")) {
    m->is_ping = true;
    m->extra_targets = json_array();
    rc = verify_ping(m->env, id, m);
  } else {
    /* The sender's key comes from the sender state's verified record: the key the
     * envelope names must be that POC's current signing key. */
    const json_t *from = json_object_get(m->env, "from");
    const char *st = cli_jstr(from, "state"), *poc = cli_jstr(from, "poc"),
               *kid = cli_jstr(from, "key_id");
    parley_error err;
    if (!st || !poc || !kid || !parley_state_code_valid(st))
      return cli_fail("REFUSED: the envelope served for %s names no valid sender", id);
    if (!cache_current(cache, st)) return 1;
    if (!poc_signing_key(cache, st, poc, kid, false, &m->sender_pk, NULL))
      return cli_fail("REFUSED: %s/%s is not a current POC of %s with signing key %s", cli_safe(st),
                      cli_safe(poc), cli_safe(st), cli_safe(kid));
    if (parley_envelope_verify(m->env, &m->sender_pk, &m->info, &err) != PARLEY_E_OK)
      return cli_fail_err("REFUSED: the envelope does not verify", &err);
    if (strcmp(m->info.id, id) != 0)
      return cli_fail("REFUSED: the hub served envelope %s under id %s", m->info.id, id);
    m->hash = m->info.hash;
    rc = 0;
  }
  if (rc) return rc;
  uint8_t leaf[32];
  if (cli_entry_leaf_hash(m->is_ping ? "ping" : "envelope", m->env, leaf) ||
      cli_verify_inclusion(leaf, &m->leaf_index, &m->log_size))
    return cli_fail("REFUSED: message %s is not provably in the hub's transparency log", id);
  m->verified = true;
  return 0;
}

void cli_message_clear(cli_message *m) {
  json_decref(m->msg);
  json_decref(m->extra_targets);
  memset(m, 0, sizeof *m);
}

bool cli_message_is_recipient(const cli_message *m, const char *state, const char *poc) {
  for (size_t i = 0; i < m->info.n_recipients; i++)
    if (!strcmp(m->info.recipients[i].state, state) && !strcmp(m->info.recipients[i].poc, poc))
      return true;
  size_t i;
  json_t *t;
  json_array_foreach(m->extra_targets, i, t) {
    if (!strcmp(cli_jstr(t, "state"), state) && !strcmp(cli_jstr(t, "poc"), poc)) return true;
  }
  return false;
}

/* ---- receipts ------------------------------------------------------------------- */

static void why(cli_receipt *r, const char *fmt, const char *a, const char *b) {
  snprintf(r->why, sizeof r->why, fmt, a, b);
}

static void check_receipt(const cli_message *m, cli_record_cache *cache, const json_t *item,
                          cli_receipt *r) {
  memset(r, 0, sizeof *r);
  const json_t *rc = json_object_get(item, "receipt");
  const char *st = cli_jstr(rc, "state"), *poc = cli_jstr(rc, "poc"), *kid = cli_jstr(rc, "key_id");
  parley_strlcpy(r->state, st ? st : "?", sizeof r->state);
  parley_strlcpy(r->poc, poc ? poc : "?", sizeof r->poc);
  if (!json_is_object(rc) || !st || !poc || !kid || !parley_state_code_valid(st)) {
    why(r, "malformed receipt%s%s", "", "");
    return;
  }
  if (!cli_message_is_recipient(m, st, poc)) {
    why(r, "%.3s/%.64s is not a recipient of this message", st, poc);
    return;
  }
  parley_sign_pk pk;
  uint64_t valid_before = UINT64_MAX;
  if (!poc_signing_key(cache, st, poc, kid, true, &pk, &valid_before)) {
    why(r, "key %.40s is not a signing key of %.64s in any verified record of its state", kid, poc);
    return;
  }
  parley_ack_info ai;
  parley_error err;
  if (parley_ack_verify(rc, &pk, &ai, &err) != PARLEY_E_OK) {
    why(r, "%s (%.180s)", parley_err_name(err.code), err.detail);
    return;
  }
  if (strcmp(ai.message, m->info.id) != 0) {
    why(r, "it acknowledges message %s, not %s", ai.message, m->info.id);
    return;
  }
  if (memcmp(ai.envelope_sha256.b, m->hash.b, 32) != 0) {
    why(r, "it acknowledges another envelope than the one served for %s%s", m->info.id, "");
    return;
  }
  uint8_t leaf[32];
  uint64_t size;
  if (cli_entry_leaf_hash("ack", rc, leaf) || cli_verify_inclusion(leaf, &r->leaf_index, &size)) {
    why(r, "it is not provably in the hub's transparency log%s%s", "", "");
    return;
  }
  /* A key removed from the record signs nothing logged after its removal. */
  if (r->leaf_index >= valid_before) {
    snprintf(r->why, sizeof r->why,
             "key %.40s of %.64s was removed from its state's record (log entry %llu) before "
             "this receipt was logged (entry %llu)",
             kid, poc, (unsigned long long)valid_before, (unsigned long long)r->leaf_index);
    return;
  }
  r->time = ai.time;
  r->verified = true;
}

size_t cli_message_receipts(const cli_message *m, cli_record_cache *cache, cli_receipt *out,
                            size_t cap) {
  const json_t *list = json_object_get(m->msg, "receipts");
  size_t n = 0, i;
  json_t *item;
  json_array_foreach(list, i, item) {
    if (n >= cap) break;
    check_receipt(m, cache, item, &out[n++]);
  }
  return n;
}

bool cli_state_acknowledged(const cli_receipt *r, size_t n, const char *state, int64_t *first) {
  bool any = false;
  for (size_t i = 0; i < n; i++)
    if (r[i].verified && !strcmp(r[i].state, state)) {
      if (!any || r[i].time < *first) *first = r[i].time;
      any = true;
    }
  return any;
}
