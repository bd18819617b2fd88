/* Unit tests for message templates: the compiled definition files, validation rules
 * (each refusal names the field), labels and rendering in the six UN languages. */
/* cmocka needs these first, in this order */
// clang-format off
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
// clang-format on

#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parley/template.h"

static const char *const expected_kinds[] = {"notification",
                                             "request-for-information",
                                             "request-for-assistance",
                                             "preservation-request",
                                             "traffic-data-disclosure",
                                             "response",
                                             "ping",
                                             "mutual-legal-assistance",
                                             "stored-data-access",
                                             "emergency-disclosure",
                                             "emergency-assistance",
                                             "production-order",
                                             "status-update",
                                             "status-query",
                                             "oral-request",
                                             NULL};

static json_t *J(const char *text) {
  json_error_t je;
  json_t *v = json_loads(text, JSON_REJECT_DUPLICATES, &je);
  if (!v) fail_msg("bad test JSON: %s: %s", je.text, text);
  return v;
}

/* ---- first use from many threads at once (must run first) ------------------ */

static void *get_from_thread(void *arg) {
  (void)arg;
  const parley_template *t = parley_template_get("preservation-request");
  return (void *)t;
}

static void test_first_use_threads(void **state) {
  (void)state;
  pthread_t th[8];
  for (int i = 0; i < 8; i++)
    assert_int_equal(pthread_create(&th[i], NULL, get_from_thread, NULL), 0);
  void *first = NULL;
  for (int i = 0; i < 8; i++) {
    void *r;
    assert_int_equal(pthread_join(th[i], &r), 0);
    assert_non_null(r);
    if (i == 0) first = r;
    assert_ptr_equal(r, first); /* one parse, one definition */
  }
}

/* ---- the definition files ---------------------------------------------------- */

static void assert_six_labels(const json_t *labels, const char *what) {
  static const char *const langs[] = {"ar", "zh", "en", "fr", "ru", "es"};
  if (!json_is_object(labels)) fail_msg("%s: no labels object", what);
  assert_int_equal(json_object_size(labels), 6);
  for (int i = 0; i < 6; i++) {
    const char *s = json_string_value(json_object_get(labels, langs[i]));
    if (!s || !*s) fail_msg("%s: no %s label", what, langs[i]);
  }
}

static void test_files_parse_with_all_labels(void **state) {
  (void)state;
  assert_int_equal(parley_template_check(NULL), PARLEY_E_OK);
  size_t count = 0;
  for (const struct parley_template_file *tf = parley_template_files; tf->name; tf++, count++) {
    /* parsed here independently of the library */
    json_error_t je;
    json_t *root = json_loadb(tf->json, tf->len, JSON_REJECT_DUPLICATES, &je);
    if (!root) fail_msg("templates/%s.json: %s (line %d)", tf->name, je.text, je.line);
    assert_string_equal(json_string_value(json_object_get(root, "kind")), tf->name);
    assert_six_labels(json_object_get(root, "title"), tf->name);
    const json_t *fields = json_object_get(root, "fields");
    assert_true(json_array_size(fields) > 0);
    size_t i;
    json_t *f;
    json_array_foreach(fields, i, f) {
      const char *name = json_string_value(json_object_get(f, "name"));
      assert_non_null(name);
      assert_six_labels(json_object_get(f, "labels"), name);
      size_t j;
      json_t *c;
      json_array_foreach(json_object_get(f, "choices"), j, c) {
        assert_non_null(json_string_value(json_object_get(c, "value")));
        assert_six_labels(json_object_get(c, "labels"), name);
      }
    }
    /* and the library's view of it agrees */
    const parley_template *t = parley_template_get(tf->name);
    assert_non_null(t);
    assert_string_equal(t->kind, tf->name);
    assert_int_equal(t->n_fields, json_array_size(fields));
    for (size_t k = 0; k < t->n_fields; k++)
      for (int l = 0; l < PARLEY_LANG_COUNT; l++)
        assert_true(t->fields[k].labels[l] && *t->fields[k].labels[l]);
    json_decref(root);
  }
  assert_int_equal(count, 15);
  size_t n = 0;
  const char *const *kinds = parley_template_kinds(&n);
  assert_int_equal(n, 15);
  for (const char *const *k = expected_kinds; *k; k++) {
    bool found = false;
    for (size_t i = 0; i < n; i++)
      found |= strcmp(kinds[i], *k) == 0;
    if (!found) fail_msg("kind %s is missing", *k);
  }
  assert_null(kinds[n]);
  assert_null(parley_template_get("telegram"));
  assert_null(parley_template_get(NULL));
}

/* The domain content: the classes and rules the brief fixes. */
static void test_definitions_content(void **state) {
  (void)state;
  const parley_template *t = parley_template_get("preservation-request");
  const char *const offences[] = {
      "illegal-access",         "illegal-interception",        "data-interference",
      "system-interference",    "misuse-of-devices",           "computer-related-forgery",
      "computer-related-fraud", "child-sexual-abuse-material", "copyright-infringement"};
  const parley_template_field *f = NULL;
  for (size_t i = 0; i < t->n_fields; i++)
    if (strcmp(t->fields[i].name, "offences") == 0) f = &t->fields[i];
  assert_non_null(f);
  assert_int_equal(f->type, PARLEY_FT_ENUM_LIST);
  assert_int_equal(f->n_choices, 9);
  for (size_t i = 0; i < 9; i++) {
    assert_string_equal(f->choices[i].value, offences[i]);
    char art[16];
    snprintf(art, sizeof art, "Art. %zu)", i + 2); /* Budapest Arts. 2..10, in order */
    assert_non_null(strstr(f->choices[i].labels[PARLEY_LANG_EN], art));
  }
  for (size_t i = 0; i < t->n_fields; i++)
    if (strcmp(t->fields[i].name, "preservation_days") == 0) {
      assert_int_equal(t->fields[i].type, PARLEY_FT_INTEGER);
      assert_int_equal(t->fields[i].min, 60);
    }

  const char *const rsit[] = {"abusive-content",
                              "malicious-code",
                              "information-gathering",
                              "intrusion-attempts",
                              "intrusions",
                              "availability",
                              "information-content-security",
                              "fraud",
                              "vulnerable",
                              "other",
                              "test"};
  t = parley_template_get("notification");
  assert_string_equal(t->fields[0].name, "incident_class");
  assert_int_equal(t->fields[0].n_choices, 11);
  for (size_t i = 0; i < 11; i++)
    assert_string_equal(t->fields[0].choices[i].value, rsit[i]);
}

/* ---- valid examples, one per kind --------------------------------------------- */

static const struct {
  const char *kind;
  const char *content;
} examples[] = {
    {"notification",
     "{\"incident_class\":\"malicious-code\",\"summary\":\"Wiper malware found on the OT "
     "networks of two electricity distributors.\",\"affected_sectors\":\"energy; "
     "water\",\"indicators\":\"sha256:"
     "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
     "\\nhxxp://198.51.100.7/stage2\",\"first_seen\":\"2026-11-20\",\"requested_action\":\"Block "
     "the listed indicators and report sightings.\"}"},
    {"request-for-information",
     "{\"subject\":\"Infrastructure behind a phishing campaign\",\"details\":\"Please share what "
     "you know about 203.0.113.0/24.\",\"urgency_justification\":\"The campaign is "
     "ongoing.\",\"respond_by\":\"2026-11-25T12:00:00Z\",\"legal_basis\":\"UN GGE norm 13(h)\"}"},
    {"request-for-assistance",
     "{\"subject\":\"DDoS against the tax portal\",\"details\":\"Traffic from networks in your "
     "jurisdiction; please contact the providers.\"}"},
    {"preservation-request",
     "{\"requesting_authority\":\"Prosecutor General's Office, Cybercrime Unit\",\"offences\":["
     "\"illegal-access\",\"computer-related-fraud\"],\"facts\":\"Intrusion into a bank and "
     "fraudulent transfers on 2026-11-18.\",\"data_to_preserve\":\"Subscriber and traffic data "
     "for account x@example.net, 2026-11-01 to 2026-11-20.\",\"relationship_to_offence\":\"The "
     "account controlled the intrusion.\",\"custodian_or_location\":\"Example Mail Ltd, "
     "servers in your territory.\",\"necessity\":\"The provider deletes logs after 30 "
     "days.\",\"mutual_assistance_intended\":true,\"status\":\"new\",\"preservation_days\":90}"},
    {"traffic-data-disclosure",
     "{\"preservation_request\":\"01936f3a-7b2c-7d4e-8f01-23456789abcd\",\"service_providers\":"
     "\"Transit AS64500 (Example Transit Oy)\",\"provider_states\":\"FIN\",\"communication_path\":"
     "\"AS64496 -> AS64500 -> AS64511\",\"traffic_data\":\"2026-11-18T02:14:00Z "
     "192.0.2.10:51514 -> 198.51.100.7:443\",\"remarks\":\"Full logs follow through MLA.\"}"},
    {"response",
     "{\"summary\":\"We cannot act on this request.\",\"status\":\"declined\",\"declined_reason\":"
     "\"The conduct is not an offence under our law.\"}"},
    {"ping", "{\"challenge\":\"7F3K-99QX\"}"},
};

static void test_examples_validate_and_render(void **state) {
  (void)state;
  size_t n_examples = sizeof examples / sizeof examples[0];
  assert_int_equal(n_examples, 7);
  for (size_t i = 0; i < n_examples; i++) {
    json_t *c = J(examples[i].content);
    parley_error err;
    if (parley_template_validate(examples[i].kind, c, &err) != PARLEY_E_OK)
      fail_msg("%s: %s", examples[i].kind, err.detail);
    const parley_template *t = parley_template_get(examples[i].kind);
    for (int l = 0; l < PARLEY_LANG_COUNT; l++) {
      parley_buf out;
      parley_buf_init(&out, 1 << 20);
      assert_int_equal(parley_template_render(examples[i].kind, c, parley_languages[l], &out, &err),
                       PARLEY_E_OK);
      const char *text = (const char *)out.data;
      assert_true(parley_utf8_valid(text, out.len));
      /* title first, then every present field's label in that language */
      assert_int_equal(strncmp(text, t->title[l], strlen(t->title[l])), 0);
      for (size_t k = 0; k < t->n_fields; k++) {
        const parley_template_field *f = &t->fields[k];
        json_t *v = json_object_get(c, f->name);
        const char *label = parley_template_label(examples[i].kind, f->name, parley_languages[l]);
        assert_ptr_equal(label, f->labels[l]);
        if (!v) continue;
        if (!strstr(text, label))
          fail_msg("%s/%s: label of %s missing from:\n%s", examples[i].kind, parley_languages[l],
                   f->name, text);
        if (f->type == PARLEY_FT_ENUM) {
          for (size_t ch = 0; ch < f->n_choices; ch++)
            if (strcmp(f->choices[ch].value, json_string_value(v)) == 0)
              assert_non_null(strstr(text, f->choices[ch].labels[l]));
        } else if (json_is_string(v)) {
          assert_non_null(strstr(text, json_string_value(v))); /* free text as written */
        }
      }
      parley_buf_free(&out);
    }
    json_decref(c);
  }
}

static void test_render_exact(void **state) {
  (void)state;
  json_t *c = J(examples[3].content); /* preservation-request */
  parley_buf out;
  parley_buf_init(&out, 1 << 20);
  assert_int_equal(parley_template_render("preservation-request", c, "en", &out, NULL),
                   PARLEY_E_OK);
  const char *text = (const char *)out.data;
  assert_non_null(strstr(text, "Request for expedited preservation of stored data (UN "
                               "Convention, Art. 42; Budapest Convention, Art. 29)\n"));
  assert_non_null(strstr(text, "\nRequesting authority: Prosecutor General's Office, Cybercrime "
                               "Unit\n"));
  assert_non_null(strstr(text, ": Illegal access (Art. 2), Computer-related fraud (Art. 8)\n"));
  assert_non_null(strstr(text, "\nThe requesting Party intends to submit a request for mutual "
                               "assistance: Yes\n"));
  assert_non_null(strstr(text, "\nType of request: New request\n"));
  assert_non_null(strstr(text, "\nPreservation period (days): 90\n"));
  /* fields in template order */
  assert_true(strstr(text, "Requesting authority") < strstr(text, "Preservation period"));
  parley_buf_reset(&out);

  assert_int_equal(parley_template_render("preservation-request", c, "fr", &out, NULL),
                   PARLEY_E_OK);
  text = (const char *)out.data;
  assert_non_null(strstr(text, "\nAutorité requérante : Prosecutor General's Office"));
  assert_non_null(strstr(text, "Accès illégal (art. 2), Fraude informatique (art. 8)\n"));
  assert_non_null(strstr(text, "d'entraide : Oui\n"));
  parley_buf_reset(&out);

  assert_int_equal(parley_template_render("preservation-request", c, "zh", &out, NULL),
                   PARLEY_E_OK);
  assert_non_null(strstr((const char *)out.data, "非法访问（第2条）、计算机相关诈骗（第8条）\n"));
  assert_non_null(strstr((const char *)out.data, "保全期限（天）：90\n"));
  parley_buf_reset(&out);

  /* an unknown language falls back to English; a multi-line text starts below its label */
  json_t *n = J(examples[0].content);
  assert_int_equal(parley_template_render("notification", n, "de", &out, NULL), PARLEY_E_OK);
  assert_non_null(
      strstr((const char *)out.data,
             "\nIndicators of compromise:\nsha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b"
             "2b0b822cd15d6c15b0f00a08\nhxxp://198.51.100.7/stage2\n"));
  assert_non_null(strstr((const char *)out.data, "\nIncident class: Malicious code\n"));

  /* invalid content is not rendered, and the buffer is left as it was */
  parley_buf_reset(&out);
  assert_int_equal(parley_buf_puts(&out, "keep"), PARLEY_E_OK);
  json_object_set_new(n, "incident_class", json_string("sabotage"));
  parley_error err;
  assert_int_equal(parley_template_render("notification", n, "en", &out, &err),
                   PARLEY_E_TEMPLATE_FIELD);
  assert_string_equal((const char *)out.data, "keep");
  json_decref(n);

  /* a full output buffer: TOO_LARGE, and the length restored */
  parley_buf small;
  parley_buf_init(&small, 64);
  assert_int_equal(parley_buf_puts(&small, "x"), PARLEY_E_OK);
  assert_int_equal(parley_template_render("preservation-request", c, "en", &small, &err),
                   PARLEY_E_TOO_LARGE);
  assert_int_equal(small.len, 1);
  parley_buf_free(&small);
  parley_buf_free(&out);
  json_decref(c);
}

static void test_labels(void **state) {
  (void)state;
  assert_string_equal(parley_template_label("preservation-request", "preservation_days", "fr"),
                      "Durée de la conservation (jours)");
  assert_string_equal(parley_template_label("preservation-request", "preservation_days", "ru"),
                      "Срок сохранения (дней)");
  assert_string_equal(parley_template_label("notification", "incident_class", "es"),
                      "Clase de incidente");
  assert_string_equal(parley_template_label("notification", "incident_class", "ar"), "فئة الحادث");
  assert_string_equal(parley_template_label("ping", "challenge", "xx"), "Challenge");
  assert_string_equal(parley_template_label("ping", "challenge", NULL), "Challenge");
  assert_null(parley_template_label("ping", "nonce", "en"));
  assert_null(parley_template_label("pong", "challenge", "en"));
  assert_int_equal(parley_lang_index("zh"), 1);
  assert_int_equal(parley_lang_index("EN"), -1);
  assert_int_equal(parley_lang_index(NULL), -1);
}

/* ---- every rule refuses, naming the field -------------------------------------- */

/* Applies `patch` (members set, or removed when null) to example `idx`. */
static json_t *patched(size_t idx, const char *patch) {
  json_t *c = J(examples[idx].content);
  json_t *p = J(patch);
  const char *k;
  json_t *v;
  json_object_foreach(p, k, v) {
    if (json_is_null(v))
      json_object_del(c, k);
    else
      json_object_set(c, k, v);
  }
  json_decref(p);
  return c;
}

static const struct {
  size_t example;
  const char *patch;
  const char *field; /* NULL: must validate */
} rules[] = {
    /* notification */
    {0, "{\"colour\":\"red\"}", "colour"},
    {0, "{\"summary\":null}", "summary"},
    {0, "{\"requested_action\":null}", NULL},
    {0, "{\"summary\":42}", "summary"},
    {0, "{\"summary\":\"\"}", "summary"},
    {0, "{\"incident_class\":\"sabotage\"}", "incident_class"},
    {0, "{\"incident_class\":\"Malicious code\"}", "incident_class"},
    {0, "{\"incident_class\":[\"fraud\"]}", "incident_class"},
    {0, "{\"first_seen\":\"2026-02-30\"}", "first_seen"},
    {0, "{\"first_seen\":\"2024-02-29\"}", NULL},
    {0, "{\"first_seen\":\"2026/11/20\"}", "first_seen"},
    {0, "{\"first_seen\":\"20-11-2026\"}", "first_seen"},
    {0, "{\"first_seen\":\"2026-11-20T10:00:00+02:00\"}", "first_seen"},
    {0, "{\"first_seen\":\"2026-11-20T10:00:00.5Z\"}", NULL},
    {0, "{\"first_seen\":\"yesterday\"}", "first_seen"},
    {0, "{\"affected_sectors\":\"energy\\nwater\"}", "affected_sectors"},
    {0, "{\"summary\":\"two\\nlines\\tand a tab\"}", NULL},
    {0, "{\"summary\":\"bell \\u0007\"}", "summary"},
    {0, "{\"summary\":\"C1 \\u0085\"}", "summary"},
    /* requests */
    {1, "{\"respond_by\":\"2026-13-01\"}", "respond_by"},
    {1, "{\"respond_by\":null,\"legal_basis\":null,\"urgency_justification\":null}", NULL},
    {1, "{\"subject\":null}", "subject"},
    {2, "{\"details\":null}", "details"},
    {2, "{\"legal_basis\":true}", "legal_basis"},
    /* preservation request */
    {3, "{\"preservation_days\":59}", "preservation_days"},
    {3, "{\"preservation_days\":60}", NULL},
    {3, "{\"preservation_days\":-1}", "preservation_days"},
    {3, "{\"preservation_days\":\"90\"}", "preservation_days"},
    {3, "{\"preservation_days\":90.0}", "preservation_days"},
    {3, "{\"preservation_days\":null}", "preservation_days"},
    {3, "{\"status\":\"extension\"}", "earlier_request"},
    {3, "{\"status\":\"extension\",\"earlier_request\":\"01936f3a-7b2c-7d4e-8f01-23456789abcd\"}",
     NULL},
    {3, "{\"status\":\"extension\",\"earlier_request\":\"REF-2026-114\"}", "earlier_request"},
    {3, "{\"status\":\"renewal\"}", "status"},
    {3, "{\"mutual_assistance_intended\":false}", "mutual_assistance_intended"},
    {3, "{\"mutual_assistance_intended\":\"yes\"}", "mutual_assistance_intended"},
    {3, "{\"offences\":[]}", "offences"},
    {3, "{\"offences\":\"illegal-access\"}", "offences"},
    {3, "{\"offences\":[\"illegal-access\",\"illegal-access\"]}", "offences"},
    {3, "{\"offences\":[\"illegal-access\",\"espionage\"]}", "offences"},
    {3, "{\"offences\":[\"copyright-infringement\",\"child-sexual-abuse-material\"]}", NULL},
    {3, "{\"necessity\":null}", "necessity"},
    {3, "{\"custodian_or_location\":null}", "custodian_or_location"},
    {3, "{\"relationship_to_offence\":null}", "relationship_to_offence"},
    /* traffic data disclosure */
    {4, "{\"preservation_request\":\"01936F3A-7B2C-7D4E-8F01-23456789ABCD\"}",
     "preservation_request"},
    {4, "{\"communication_path\":null}", "communication_path"},
    {4, "{\"provider_states\":null,\"remarks\":null}", NULL},
    /* response */
    {5, "{\"declined_reason\":null}", "declined_reason"},
    {5, "{\"declined_reason\":null,\"status\":\"complete\"}", NULL},
    {5, "{\"status\":\"done\"}", "status"},
    /* ping */
    {6, "{\"challenge\":null}", "challenge"},
    {6, "{\"challenge\":\"x\",\"response\":\"y\"}", "response"},
};

static void test_rules(void **state) {
  (void)state;
  for (size_t i = 0; i < sizeof rules / sizeof rules[0]; i++) {
    json_t *c = patched(rules[i].example, rules[i].patch);
    parley_error err;
    parley_error_clear(&err);
    parley_err e = parley_template_validate(examples[rules[i].example].kind, c, &err);
    if (!rules[i].field) {
      if (e != PARLEY_E_OK)
        fail_msg("rule %zu (%s) should pass: %s", i, rules[i].patch, err.detail);
    } else {
      if (e != PARLEY_E_TEMPLATE_FIELD)
        fail_msg("rule %zu (%s): got %s", i, rules[i].patch, parley_err_name(e));
      char want[96];
      snprintf(want, sizeof want, "content.%s:", rules[i].field);
      if (!strstr(err.detail, want))
        fail_msg("rule %zu: detail '%s' does not name %s", i, err.detail, rules[i].field);
    }
    json_decref(c);
  }
}

static void test_lengths(void **state) {
  (void)state;
  const parley_template *t = parley_template_get("ping");
  size_t max = t->fields[0].max_bytes;
  assert_int_equal(max, 128);
  char *s = malloc(max + 2);
  memset(s, 'a', max + 1);
  s[max + 1] = 0;
  json_t *c = json_pack("{s:s}", "challenge", s);
  parley_error err;
  assert_int_equal(parley_template_validate("ping", c, &err), PARLEY_E_TEMPLATE_FIELD);
  assert_non_null(strstr(err.detail, "content.challenge:"));
  assert_non_null(strstr(err.detail, "too long"));
  s[max] = 0; /* exactly max bytes */
  json_object_set_new(c, "challenge", json_string(s));
  assert_int_equal(parley_template_validate("ping", c, &err), PARLEY_E_OK);
  /* bytes, not characters: 64 two-byte characters fill 128 bytes, one more is too many */
  char cyr[2 * 65 + 1];
  for (int i = 0; i < 65; i++)
    memcpy(cyr + 2 * i, "ж", 2);
  cyr[2 * 65] = 0;
  json_object_set_new(c, "challenge", json_string(cyr));
  assert_int_equal(parley_template_validate("ping", c, &err), PARLEY_E_TEMPLATE_FIELD);
  cyr[2 * 64] = 0;
  json_object_set_new(c, "challenge", json_string(cyr));
  assert_int_equal(parley_template_validate("ping", c, &err), PARLEY_E_OK);
  /* an embedded NUL (possible through the jansson API) */
  json_object_set_new(c, "challenge", json_stringn("a\0b", 3));
  assert_int_equal(parley_template_validate("ping", c, &err), PARLEY_E_TEMPLATE_FIELD);
  json_decref(c);
  free(s);
}

static void test_not_object_and_unknown_kind(void **state) {
  (void)state;
  parley_error err;
  json_t *arr = J("[1]");
  assert_int_equal(parley_template_validate("ping", arr, &err), PARLEY_E_TEMPLATE_FIELD);
  assert_non_null(strstr(err.detail, "content"));
  assert_int_equal(parley_template_validate("ping", NULL, &err), PARLEY_E_TEMPLATE_FIELD);
  json_t *c = J("{\"challenge\":\"x\"}");
  assert_int_equal(parley_template_validate("telegram", c, &err), PARLEY_E_TEMPLATE_UNKNOWN);
  assert_non_null(strstr(err.detail, "telegram"));
  assert_int_equal(parley_template_validate(NULL, c, NULL), PARLEY_E_TEMPLATE_UNKNOWN);
  parley_buf out;
  parley_buf_init(&out, 4096);
  assert_int_equal(parley_template_render("telegram", c, "en", &out, NULL),
                   PARLEY_E_TEMPLATE_UNKNOWN);
  assert_int_equal(out.len, 0);
  parley_buf_free(&out);
  json_decref(c);
  json_decref(arr);
}

/* A value that a field of this type accepts (for the completeness test below). */
static json_t *sample(const parley_template_field *f) {
  switch (f->type) {
  case PARLEY_FT_LINE:
  case PARLEY_FT_TEXT:
    return json_string("x");
  case PARLEY_FT_ENUM:
    return json_string(f->choices[0].value);
  case PARLEY_FT_ENUM_LIST:
    return json_pack("[s]", f->choices[0].value);
  case PARLEY_FT_DATE:
    return json_string("2026-12-01");
  case PARLEY_FT_BOOL:
    return json_true();
  case PARLEY_FT_REFERENCE:
    return json_string("01936f3a-7b2c-7d4e-8f01-23456789abcd");
  case PARLEY_FT_INTEGER:
    return json_integer(f->min > 0 ? f->min : 0);
  }
  return json_null();
}

/* Every kind: the required fields filled is valid; each one left out is refused naming
 * it; every treaty kind lists its legal bases and cites its source; a conditional field
 * (required_if, required_with) is refused naming it when its condition holds. */
static void test_every_kind_names_the_missing_field(void **state) {
  (void)state;
  size_t n;
  const char *const *kinds = parley_template_kinds(&n);
  for (size_t k = 0; k < n; k++) {
    const parley_template *t = parley_template_get(kinds[k]);
    json_t *c = json_object();
    for (size_t i = 0; i < t->n_fields; i++)
      if (t->fields[i].required) json_object_set_new(c, t->fields[i].name, sample(&t->fields[i]));
    parley_error err;
    if (parley_template_validate(t->kind, c, &err) != PARLEY_E_OK)
      fail_msg("%s: %s", t->kind, err.detail);
    for (size_t i = 0; i < t->n_fields; i++) {
      const parley_template_field *f = &t->fields[i];
      if (!f->required) continue;
      json_t *d = json_deep_copy(c);
      json_object_del(d, f->name);
      char want[128];
      snprintf(want, sizeof want, "content.%s: required", f->name);
      if (parley_template_validate(t->kind, d, &err) != PARLEY_E_TEMPLATE_FIELD ||
          !strstr(err.detail, want))
        fail_msg("%s without %s: %s", t->kind, f->name, err.detail);
      json_decref(d);
    }
    for (size_t i = 0; i < t->n_fields; i++) {
      const parley_template_field *f = &t->fields[i];
      if (!f->required_with) continue;
      json_t *d = json_deep_copy(c);
      json_object_set_new(d, f->required_with, json_string("2026-12-24"));
      assert_int_equal(parley_template_validate(t->kind, d, &err), PARLEY_E_TEMPLATE_FIELD);
      assert_non_null(strstr(err.detail, f->name));
      json_decref(d);
    }
    json_decref(c);
    bool treaty = strcmp(t->kind, "notification") && strcmp(t->kind, "ping") &&
                  strcmp(t->kind, "response") && strncmp(t->kind, "request-for-", 12);
    if (treaty && (!t->n_bases || !t->source)) fail_msg("%s: no bases or no source", t->kind);
  }
  json_t *c = J("{\"request\":\"01936f3a-7b2c-7d4e-8f01-23456789abcd\",\"status\":\"refused\"}");
  parley_error err;
  assert_int_equal(parley_template_validate("status-update", c, &err), PARLEY_E_TEMPLATE_FIELD);
  assert_non_null(strstr(err.detail, "content.refusal_ground: required when status is refused"));
  json_object_set_new(c, "refusal_ground", json_string("Art. 40(21)(b): sovereignty"));
  assert_int_equal(parley_template_validate("status-update", c, &err), PARLEY_E_OK);
  json_decref(c);
  assert_true(parley_template_basis_allowed("production-order", "budapest-protocol2-2022", "8"));
  assert_false(parley_template_basis_allowed("production-order", "un-cybercrime-2024", "8"));
  assert_true(parley_template_basis_allowed("status-update", "budapest-2001", "29"));
  assert_false(parley_template_basis_allowed("notification", "bilateral", "1"));
}

int main(void) {
  if (!parley_init()) return 1;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_first_use_threads),
      cmocka_unit_test(test_files_parse_with_all_labels),
      cmocka_unit_test(test_definitions_content),
      cmocka_unit_test(test_examples_validate_and_render),
      cmocka_unit_test(test_render_exact),
      cmocka_unit_test(test_labels),
      cmocka_unit_test(test_rules),
      cmocka_unit_test(test_lengths),
      cmocka_unit_test(test_not_object_and_unknown_kind),
      cmocka_unit_test(test_every_kind_names_the_missing_field),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
