/* State records: the signed directory entry of one state (docs/protocol.md §4). */
#include <stdio.h>
#include <string.h>

#include "parley/json.h"
#include "parley/proto.h"

const char *const parley_regions[] = {"african",
                                      "asia-pacific",
                                      "eastern-european",
                                      "latin-american-and-caribbean",
                                      "western-european-and-others",
                                      NULL};
const char *const parley_poc_roles[] = {"diplomatic", "technical", "law-enforcement-24x7", NULL};
const char *const parley_org_kinds[] = {"foreign-ministry", "national-cert", "law-enforcement",
                                        "other", NULL};

bool parley_state_code_valid(const char *s) {
  return s && strlen(s) == 3 && s[0] >= 'A' && s[0] <= 'Z' && s[1] >= 'A' && s[1] <= 'Z' &&
         s[2] >= 'A' && s[2] <= 'Z';
}

static bool id_valid(const char *s) {
  size_t n = strlen(s);
  if (n == 0 || n > PARLEY_POC_ID_MAX) return false;
  for (size_t i = 0; i < n; i++)
    if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
      return false;
  return true;
}

static bool is_loopback_v4(const char *h, size_t n) {
  if (n < 7 || strncmp(h, "127.", 4) != 0) return false;
  unsigned parts = 0, digits = 0, v = 0;
  for (size_t i = 0; i <= n; i++) {
    if (i == n || h[i] == '.') {
      if (!digits || v > 255) return false;
      parts++, digits = 0, v = 0;
    } else if (h[i] >= '0' && h[i] <= '9' && digits < 3) {
      v = v * 10 + (unsigned)(h[i] - '0');
      digits++;
    } else {
      return false;
    }
  }
  return parts == 4;
}

/* A webhook URL, syntax only (the hub resolves the host and checks every address
 * before each POST): https://HOST[:PORT][/...] in printable ASCII, without user
 * information or backslashes; http:// only to a loopback literal (127.x.y.z, [::1],
 * localhost), which the hub contacts only if its operator allows it (tests). Returns
 * NULL or what is wrong. */
static const char *webhook_problem(const char *u) {
  for (const char *p = u; *p; p++)
    if ((unsigned char)*p < 0x21 || (unsigned char)*p > 0x7e || *p == '\\')
      return "printable ASCII without spaces or backslashes";
  bool http = false;
  if (strncmp(u, "https://", 8) == 0) {
    u += 8;
  } else if (strncmp(u, "http://", 7) == 0) {
    u += 7;
    http = true;
  } else {
    return "must be https://";
  }
  size_t alen = strcspn(u, "/?#");
  if (memchr(u, '@', alen)) return "no user information ('user@') allowed";
  const char *host = u, *rest;
  size_t hlen;
  if (*u == '[') {
    const char *close = memchr(u, ']', alen);
    if (!close || close == u + 1) return "bad IPv6 address";
    host = u + 1;
    hlen = (size_t)(close - host);
    if (strspn(host, "0123456789abcdefABCDEF:.") < hlen) return "bad IPv6 address";
    rest = close + 1;
  } else {
    hlen = strcspn(u, ":/?#");
    if (strspn(host, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-") < hlen)
      return "host: letters, digits, '.', '-' or an IP address";
    rest = host + hlen;
  }
  if (hlen == 0) return "no host";
  if (rest < u + alen) {
    if (*rest != ':') return "bad authority";
    size_t plen = (size_t)(u + alen - rest - 1);
    unsigned port = 0;
    if (plen == 0 || plen > 5 || strspn(rest + 1, "0123456789") < plen) return "bad port";
    for (size_t i = 1; i <= plen; i++)
      port = port * 10 + (unsigned)(rest[i] - '0');
    if (port == 0 || port > 65535) return "bad port";
  }
  if (http && !(*u == '[' && hlen == 3 && strncmp(host, "::1", 3) == 0) &&
      !(hlen == 9 && strncmp(host, "localhost", 9) == 0) && !is_loopback_v4(host, hlen))
    return "must be https:// (http:// only to a loopback address, for tests)";
  return NULL;
}

/* Refuses members not in `allowed` (NULL-terminated): a signed record means exactly
 * what it says, with nothing a reader might interpret differently. */
static parley_err only_known(const json_t *obj, const char *const *allowed, const char *where,
                             parley_error *err) {
  const char *key;
  json_t *v;
  json_object_foreach((json_t *)obj, key, v) {
    bool ok = false;
    for (const char *const *a = allowed; *a; a++)
      if (strcmp(*a, key) == 0) {
        ok = true;
        break;
      }
    if (!ok)
      return parley_fail(err, PARLEY_E_RECORD_INVALID, "%s: unknown field '%.64s'", where, key);
  }
  return PARLEY_E_OK;
}

/* Re-labels a field error as a record error, keeping the detail (which names the field). */
static parley_err record_err(parley_err e, parley_error *err, const char *where) {
  if (!e) return e;
  if (err) {
    char d[sizeof err->detail];
    if (snprintf(d, sizeof d, "%s: %s", where, err->detail) < 0) /* truncation is fine */
      d[0] = 0;
    parley_fail(err, PARLEY_E_RECORD_INVALID, "%s", d);
  }
  return PARLEY_E_RECORD_INVALID;
}

static int find_role(const char *s) {
  for (int i = 0; parley_poc_roles[i]; i++)
    if (strcmp(parley_poc_roles[i], s) == 0) return i;
  return -1;
}

static parley_err check_enc_key(const json_t *ek, const char *state, const char *poc,
                                const parley_sign_pk *poc_pk, int64_t now, parley_poc_info *pi,
                                const char *where, parley_error *err) {
  static const char *const allowed[] = {"state", "poc", "key", "expires", "signature", NULL};
  if (!json_is_object(ek))
    return parley_fail(err, PARLEY_E_RECORD_ENC_KEY, "%s.encryption_key: missing", where);
  parley_err e = only_known(ek, allowed, where, err);
  if (e) return e;
  const char *ek_state, *ek_poc, *sig;
  int64_t expires;
  parley_json_field f[] = {
      PARLEY_FIELD_STRING("state", 3, &ek_state),
      PARLEY_FIELD_STRING("poc", PARLEY_POC_ID_MAX, &ek_poc),
      PARLEY_FIELD_B64URL("key", pi->box_pk.b, sizeof pi->box_pk.b),
      PARLEY_FIELD_TIME("expires", &expires),
      PARLEY_FIELD_STRING("signature", 128, &sig),
  };
  if (parley_json_fields(ek, f, PARLEY_JF_COUNT(f), err) != PARLEY_E_OK) {
    char d[sizeof err->detail];
    if (snprintf(d, sizeof d, "%s.encryption_key: %s", where, err ? err->detail : "") < 0) d[0] = 0;
    return parley_fail(err, PARLEY_E_RECORD_ENC_KEY, "%s", d);
  }
  if (strcmp(ek_state, state) != 0 || strcmp(ek_poc, poc) != 0)
    return parley_fail(err, PARLEY_E_RECORD_ENC_KEY,
                       "%s.encryption_key: signed for another state or POC", where);
  if (parley_signed_json_verify(ek, PARLEY_PURPOSE_ENCRYPTION_KEY, poc_pk, NULL) != PARLEY_E_OK)
    return parley_fail(err, PARLEY_E_RECORD_ENC_KEY,
                       "%s.encryption_key: not signed by the POC's signing key", where);
  if (expires <= now)
    return parley_fail(err, PARLEY_E_RECORD_ENC_KEY, "%s.encryption_key: expired", where);
  pi->box_expires = expires;
  return PARLEY_E_OK;
}

static parley_err check_poc(const json_t *p, size_t idx, const char *state, const json_t *orgs,
                            int64_t now, parley_poc_info *pi, parley_error *err) {
  static const char *const allowed[] = {
      "id",           "name",        "position",        "organisation", "roles",
      "email",        "phone",       "emergency_phone", "languages",    "timezone",
      "availability", "signing_key", "encryption_key",  "webhook",      NULL};
  char where[96];
  snprintf(where, sizeof where, "pocs[%zu]", idx);
  if (!json_is_object(p))
    return parley_fail(err, PARLEY_E_RECORD_INVALID, "%s: must be an object", where);
  parley_err e = only_known(p, allowed, where, err);
  if (e) return e;
  const char *id, *name, *position = "", *org, *email, *phone, *ephone = "", *tz, *avail,
                         *webhook = NULL;
  json_t *roles, *langs, *ek;
  parley_json_field f[] = {
      PARLEY_FIELD_LINE("id", PARLEY_POC_ID_MAX, &id),
      PARLEY_FIELD_LINE("name", 127, &name),
      PARLEY_FIELD_LINE_OPT("position", 128, &position),
      PARLEY_FIELD_LINE("organisation", PARLEY_POC_ID_MAX, &org),
      PARLEY_FIELD_ARRAY("roles", &roles),
      PARLEY_FIELD_LINE("email", 254, &email),
      PARLEY_FIELD_LINE("phone", 32, &phone),
      PARLEY_FIELD_LINE_OPT("emergency_phone", 32, &ephone),
      PARLEY_FIELD_ARRAY("languages", &langs),
      PARLEY_FIELD_LINE("timezone", 64, &tz),
      PARLEY_FIELD_LINE("availability", 64, &avail),
      PARLEY_FIELD_B64URL("signing_key", pi->sign_pk.b, sizeof pi->sign_pk.b),
      PARLEY_FIELD_OBJECT("encryption_key", &ek),
      PARLEY_FIELD_LINE_OPT("webhook", 500, &webhook),
  };
  if ((e = parley_json_fields(p, f, PARLEY_JF_COUNT(f), err))) return record_err(e, err, where);
  if (!id_valid(id))
    return parley_fail(err, PARLEY_E_RECORD_INVALID, "%s.id: lower-case letters, digits, '-'",
                       where);
  parley_strlcpy(pi->id, id, sizeof pi->id);
  parley_strlcpy(pi->name, name, sizeof pi->name);
  bool org_found = false;
  size_t i;
  json_t *o;
  json_array_foreach(orgs, i, o) {
    const char *oid = json_string_value(json_object_get(o, "id"));
    if (oid && strcmp(oid, org) == 0) org_found = true;
  }
  if (!org_found)
    return parley_fail(err, PARLEY_E_RECORD_INVALID, "%s.organisation: no organisation '%.64s'",
                       where, org);
  size_t nr = json_array_size(roles);
  if (nr == 0 || nr > 3)
    return parley_fail(err, PARLEY_E_RECORD_INVALID, "%s.roles: one to three roles", where);
  pi->roles = 0;
  json_t *rv;
  json_array_foreach(roles, i, rv) {
    int r = json_is_string(rv) ? find_role(json_string_value(rv)) : -1;
    if (r < 0 || (pi->roles & (1u << r)))
      return parley_fail(err, PARLEY_E_RECORD_INVALID,
                         "%s.roles[%zu]: diplomatic, technical or law-enforcement-24x7, once each",
                         where, i);
    pi->roles |= 1u << r;
  }
  if (!strchr(email, '@') || strchr(email, ' '))
    return parley_fail(err, PARLEY_E_RECORD_INVALID, "%s.email: not an e-mail address", where);
  for (const char *ph = phone; *ph; ph++)
    if (!strchr("+0123456789 -()", *ph))
      return parley_fail(err, PARLEY_E_RECORD_INVALID, "%s.phone: digits, spaces, + - ( )", where);
  /* Alerts carry metadata only, but still go over TLS, except to this machine (tests). */
  const char *bad_hook = webhook ? webhook_problem(webhook) : NULL;
  if (bad_hook) return parley_fail(err, PARLEY_E_RECORD_INVALID, "%s.webhook: %s", where, bad_hook);
  (void)ephone;
  (void)position;
  (void)avail;
  size_t nl = json_array_size(langs);
  if (nl == 0 || nl > 12)
    return parley_fail(err, PARLEY_E_RECORD_INVALID, "%s.languages: one to twelve", where);
  json_t *lv;
  json_array_foreach(langs, i, lv) {
    const char *l = json_string_value(lv);
    if (!l || strlen(l) != 2 || l[0] < 'a' || l[0] > 'z' || l[1] < 'a' || l[1] > 'z')
      return parley_fail(err, PARLEY_E_RECORD_INVALID,
                         "%s.languages[%zu]: ISO 639-1 code in lower case", where, i);
  }
  for (const char *t = tz; *t; t++)
    if (!((*t >= 'A' && *t <= 'Z') || (*t >= 'a' && *t <= 'z') || (*t >= '0' && *t <= '9') ||
          strchr("/_+-", *t)))
      return parley_fail(err, PARLEY_E_RECORD_INVALID, "%s.timezone: an IANA zone name", where);
  return check_enc_key(ek, state, id, &pi->sign_pk, now, pi, where, err);
}

static bool lang_code_ok(const char *l) {
  return l && strlen(l) == 2 && l[0] >= 'a' && l[0] <= 'z' && l[1] >= 'a' && l[1] <= 'z';
}

static bool instrument_id_ok(const char *s) {
  size_t n = s ? strlen(s) : 0;
  if (n == 0 || n > PARLEY_INSTRUMENT_ID_MAX) return false;
  for (size_t i = 0; i < n; i++)
    if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
      return false;
  return true;
}

/* The cooperation profile (docs/protocol.md §4.2): instruments the state is party to,
 * each with its 24/7 contact (a POC of this record) and central authority, and the
 * languages in which it accepts requests. */
static parley_err check_cooperation(const json_t *co, const parley_record_info *info,
                                    parley_error *err) {
  static const char *const allowed[] = {"instruments", "request_languages", NULL};
  parley_err e = only_known(co, allowed, "cooperation", err);
  if (e) return e;
  json_t *insts, *langs;
  parley_json_field f[] = {
      PARLEY_FIELD_ARRAY("instruments", &insts),
      PARLEY_FIELD_ARRAY("request_languages", &langs),
  };
  if ((e = parley_json_fields(co, f, PARLEY_JF_COUNT(f), err)))
    return record_err(e, err, "cooperation");
  size_t n = json_array_size(insts);
  if (n == 0 || n > PARLEY_MAX_INSTRUMENTS)
    return parley_fail(err, PARLEY_E_RECORD_INVALID, "cooperation.instruments: one to %d",
                       PARLEY_MAX_INSTRUMENTS);
  size_t i;
  json_t *x;
  json_array_foreach(insts, i, x) {
    static const char *const iallowed[] = {"id", "declarations", "contact_24x7",
                                           "central_authority", NULL};
    static const char *const aallowed[] = {"name", "email", "phone", NULL};
    char where[64];
    snprintf(where, sizeof where, "cooperation.instruments[%zu]", i);
    if (!json_is_object(x))
      return parley_fail(err, PARLEY_E_RECORD_INVALID, "%s: must be an object", where);
    if ((e = only_known(x, iallowed, where, err))) return e;
    const char *id, *decl = NULL, *contact, *name, *email = NULL, *phone = NULL;
    json_t *auth;
    parley_json_field xf[] = {
        PARLEY_FIELD_LINE("id", PARLEY_INSTRUMENT_ID_MAX, &id),
        PARLEY_FIELD_STRING_OPT("declarations", 4000, &decl),
        PARLEY_FIELD_LINE("contact_24x7", PARLEY_POC_ID_MAX, &contact),
        PARLEY_FIELD_OBJECT("central_authority", &auth),
    };
    if ((e = parley_json_fields(x, xf, PARLEY_JF_COUNT(xf), err))) return record_err(e, err, where);
    if (!instrument_id_ok(id))
      return parley_fail(err, PARLEY_E_RECORD_INVALID, "%s.id: [a-z0-9-]{1,64}", where);
    for (size_t j = 0; j < i; j++)
      if (!strcmp(json_string_value(json_object_get(json_array_get(insts, j), "id")), id))
        return parley_fail(err, PARLEY_E_RECORD_INVALID, "%s.id: '%s' appears twice", where, id);
    bool found = false;
    for (size_t k = 0; k < info->n_pocs; k++)
      found |= !strcmp(info->pocs[k].id, contact);
    if (!found)
      return parley_fail(err, PARLEY_E_RECORD_INVALID,
                         "%s.contact_24x7: no POC '%.64s' in this record", where, contact);
    char aw[96];
    snprintf(aw, sizeof aw, "%s.central_authority", where);
    if ((e = only_known(auth, aallowed, aw, err))) return e;
    parley_json_field af[] = {
        PARLEY_FIELD_LINE("name", 200, &name),
        PARLEY_FIELD_LINE_OPT("email", 254, &email),
        PARLEY_FIELD_LINE_OPT("phone", 32, &phone),
    };
    if ((e = parley_json_fields(auth, af, PARLEY_JF_COUNT(af), err))) return record_err(e, err, aw);
    if (email && (!strchr(email, '@') || strchr(email, ' ')))
      return parley_fail(err, PARLEY_E_RECORD_INVALID, "%s.email: not an e-mail address", aw);
    for (const char *ph = phone; ph && *ph; ph++)
      if (!strchr("+0123456789 -()", *ph))
        return parley_fail(err, PARLEY_E_RECORD_INVALID, "%s.phone: digits, spaces, + - ( )", aw);
  }
  size_t nl = json_array_size(langs);
  if (nl == 0 || nl > 12)
    return parley_fail(err, PARLEY_E_RECORD_INVALID,
                       "cooperation.request_languages: one to twelve");
  json_array_foreach(langs, i, x) {
    const char *l = json_string_value(x);
    if (!lang_code_ok(l))
      return parley_fail(err, PARLEY_E_RECORD_INVALID,
                         "cooperation.request_languages[%zu]: ISO 639-1 code in lower case", i);
    for (size_t j = 0; j < i; j++)
      if (!strcmp(json_string_value(json_array_get(langs, j)), l))
        return parley_fail(err, PARLEY_E_RECORD_INVALID,
                           "cooperation.request_languages[%zu]: '%s' twice", i, l);
  }
  return PARLEY_E_OK;
}

const json_t *parley_record_instrument(const json_t *rec, const char *instrument) {
  size_t i;
  json_t *x;
  json_array_foreach(json_object_get(json_object_get(rec, "cooperation"), "instruments"), i, x) {
    const char *id = json_string_value(json_object_get(x, "id"));
    if (id && instrument && !strcmp(id, instrument)) return x;
  }
  return NULL;
}

parley_err parley_record_verify(const json_t *rec, const parley_sign_pk *root, int64_t now,
                                parley_record_info *out, parley_error *err) {
  static const char *const allowed[] = {"format",    "state",         "version",   "updated",
                                        "review_by", "organisations", "pocs",      "escalation",
                                        "cert",      "cooperation",   "signature", NULL};
  parley_record_info local;
  parley_record_info *info = out ? out : &local;
  memset(info, 0, sizeof *info);
  if (!json_is_object(rec))
    return parley_fail(err, PARLEY_E_RECORD_INVALID, "a state record is a JSON object");
  parley_err e = parley_json_check_signable(rec, err);
  if (e) return record_err(e, err, "record");
  if ((e = only_known(rec, allowed, "record", err))) return e;
  const char *format, *state;
  json_t *orgs, *pocs, *esc, *cert = NULL, *coop = NULL;
  parley_json_field f[] = {
      PARLEY_FIELD_LINE("format", 64, &format),
      PARLEY_FIELD_LINE("state", 3, &state),
      PARLEY_FIELD_INT("version", &info->version),
      PARLEY_FIELD_TIME("updated", &info->updated),
      PARLEY_FIELD_TIME("review_by", &info->review_by),
      PARLEY_FIELD_ARRAY("organisations", &orgs),
      PARLEY_FIELD_ARRAY("pocs", &pocs),
      PARLEY_FIELD_OBJECT("escalation", &esc),
      PARLEY_FIELD_OBJECT_OPT("cert", &cert),
      PARLEY_FIELD_OBJECT_OPT("cooperation", &coop),
  };
  if ((e = parley_json_fields(rec, f, PARLEY_JF_COUNT(f), err)))
    return record_err(e, err, "record");
  if (strcmp(format, "parley-state-record-v1") != 0)
    return parley_fail(err, PARLEY_E_RECORD_INVALID, "format: must be parley-state-record-v1");
  if (!parley_state_code_valid(state))
    return parley_fail(err, PARLEY_E_STATE_CODE, "state: '%.8s'", state);
  parley_strlcpy(info->state, state, sizeof info->state);
  if (info->version < 1)
    return parley_fail(err, PARLEY_E_RECORD_INVALID, "version: must be 1 or more");
  if (info->review_by <= info->updated)
    return parley_fail(err, PARLEY_E_RECORD_INVALID, "review_by: must be after updated");
  /* The signature first: nothing else in the record matters if the root did not sign it. */
  if (parley_signed_json_verify(rec, PARLEY_PURPOSE_STATE_RECORD, root, NULL) != PARLEY_E_OK)
    return parley_fail(err, PARLEY_E_RECORD_SIGNATURE,
                       "signature: not a valid signature of %s's root key", state);

  size_t n_orgs = json_array_size(orgs);
  if (n_orgs == 0 || n_orgs > PARLEY_MAX_ORGS)
    return parley_fail(err, PARLEY_E_RECORD_INVALID, "organisations: one to %d", PARLEY_MAX_ORGS);
  size_t i;
  json_t *o;
  json_array_foreach(orgs, i, o) {
    static const char *const org_allowed[] = {"id", "name", "kind", NULL};
    char where[48];
    snprintf(where, sizeof where, "organisations[%zu]", i);
    const char *oid, *oname;
    int kind;
    parley_json_field of[] = {
        PARLEY_FIELD_LINE("id", PARLEY_POC_ID_MAX, &oid),
        PARLEY_FIELD_LINE("name", 200, &oname),
        PARLEY_FIELD_ENUM("kind", parley_org_kinds, &kind),
    };
    if (!json_is_object(o))
      return parley_fail(err, PARLEY_E_RECORD_INVALID, "%s: must be an object", where);
    if ((e = only_known(o, org_allowed, where, err))) return e;
    if ((e = parley_json_fields(o, of, PARLEY_JF_COUNT(of), err))) return record_err(e, err, where);
    if (!id_valid(oid))
      return parley_fail(err, PARLEY_E_RECORD_INVALID, "%s.id: lower-case letters, digits, '-'",
                         where);
  }
  size_t n_pocs = json_array_size(pocs);
  if (n_pocs == 0 || n_pocs > PARLEY_MAX_POCS)
    return parley_fail(err, PARLEY_E_RECORD_INVALID, "pocs: one to %d", PARLEY_MAX_POCS);
  json_t *p;
  json_array_foreach(pocs, i, p) {
    if ((e = check_poc(p, i, state, orgs, now, &info->pocs[i], err))) return e;
    for (size_t j = 0; j < i; j++)
      if (strcmp(info->pocs[j].id, info->pocs[i].id) == 0)
        return parley_fail(err, PARLEY_E_RECORD_INVALID, "pocs[%zu].id: '%s' appears twice", i,
                           info->pocs[i].id);
      else if (memcmp(info->pocs[j].sign_pk.b, info->pocs[i].sign_pk.b, 32) == 0)
        return parley_fail(err, PARLEY_E_RECORD_INVALID,
                           "pocs[%zu].signing_key: shared with pocs[%zu]", i, j);
    info->n_pocs = i + 1;
  }
  /* Escalation: for each role, the order in which the hub alerts POCs. */
  const char *role;
  json_t *order;
  json_object_foreach(esc, role, order) {
    int r = find_role(role);
    if (r < 0)
      return parley_fail(err, PARLEY_E_RECORD_INVALID, "escalation: unknown role '%.64s'", role);
    if (!json_is_array(order) || json_array_size(order) == 0 ||
        json_array_size(order) > PARLEY_MAX_POCS)
      return parley_fail(err, PARLEY_E_RECORD_INVALID, "escalation.%s: a list of POC ids", role);
    json_t *pid;
    json_array_foreach(order, i, pid) {
      const char *s = json_string_value(pid);
      bool found = false;
      for (size_t k = 0; s && k < info->n_pocs; k++)
        if (strcmp(info->pocs[k].id, s) == 0) {
          found = (info->pocs[k].roles & (1u << r)) != 0;
          break;
        }
      if (!found)
        return parley_fail(err, PARLEY_E_RECORD_INVALID,
                           "escalation.%s[%zu]: not a POC of this record with that role", role, i);
    }
  }
  if (cert) {
    static const char *const cert_allowed[] = {"constituency", "rfc2350_url", NULL};
    const char *constituency, *url = NULL;
    parley_json_field cf[] = {
        PARLEY_FIELD_STRING("constituency", 1000, &constituency),
        PARLEY_FIELD_LINE_OPT("rfc2350_url", 500, &url),
    };
    if ((e = only_known(cert, cert_allowed, "cert", err))) return e;
    if ((e = parley_json_fields(cert, cf, PARLEY_JF_COUNT(cf), err)))
      return record_err(e, err, "cert");
    if (url && strncmp(url, "https://", 8) != 0)
      return parley_fail(err, PARLEY_E_RECORD_INVALID, "cert.rfc2350_url: must be https://");
  }
  if (coop && (e = check_cooperation(coop, info, err))) return e;
  return PARLEY_E_OK;
}

json_t *parley_enc_key_new(const char *state, const char *poc, const parley_box_pk *box,
                           int64_t expires, const parley_sign_sk *poc_sk) {
  char key[PARLEY_KEY_B64_LEN], exp[PARLEY_TIME_LEN];
  parley_box_pk_to_b64(box, key);
  parley_time_format(expires, exp);
  json_t *o =
      json_pack("{s:s,s:s,s:s,s:s}", "state", state, "poc", poc, "key", key, "expires", exp);
  if (o && parley_signed_json_sign(o, PARLEY_PURPOSE_ENCRYPTION_KEY, poc_sk, NULL) != PARLEY_E_OK) {
    json_decref(o);
    o = NULL;
  }
  return o;
}
