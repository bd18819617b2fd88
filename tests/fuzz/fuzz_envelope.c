/* Fuzz target for the message layer. The input is parsed as JSON (envelope limits) and
 * given to everything that reads messages from the network or from a decrypted body:
 *   - parley_envelope_verify with a fixed sender key (what the hub does),
 *   - parley_envelope_open with a fixed recipient identity (what a client does),
 *   - parley_ack_verify with the fixed sender key,
 *   - parley_template_validate of the input, and of its "content" member, against every
 *     kind; whatever validates is rendered in the six languages.
 * Nothing may crash, and the results must agree: open fails with verify's error when
 * verify fails; an opened body's content validates against the envelope's kind; valid
 * content always renders. The seed corpus (tests/fuzz/corpus/envelope) holds envelopes
 * sealed with the fixed keys below, so the decrypting paths are reached. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "parley/envelope.h"
#include "parley/json.h"
#include "parley/template.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Fixed keys: identity i has sign seed (i*50 + k) and box secret (i*50 + 7 + 2k), k =
 * 0..31; the sender is identity 0 and the recipient identity 1. */
static parley_identity g_sender, g_me;

static void fixed_identity(int i, parley_identity *id) {
  uint8_t seed[32], box[32];
  for (int k = 0; k < 32; k++) {
    seed[k] = (uint8_t)(i * 50 + k);
    box[k] = (uint8_t)(i * 50 + 7 + 2 * k);
  }
  if (parley_identity_from_seeds(seed, box, id) != PARLEY_E_OK) abort();
}

static void init_once(void) {
  static int done;
  if (done) return;
  if (!parley_init() || parley_template_check(NULL) != PARLEY_E_OK) abort();
  fixed_identity(0, &g_sender);
  fixed_identity(1, &g_me);
  done = 1;
}

static void validate_and_render(const char *kind, const json_t *content) {
  parley_error err;
  parley_err e = parley_template_validate(kind, content, &err);
  if (e != PARLEY_E_OK && e != PARLEY_E_TEMPLATE_FIELD) abort();
  if (e) return;
  for (int l = 0; l < PARLEY_LANG_COUNT; l++) {
    parley_buf out;
    parley_buf_init(&out, 1u << 21);
    if (parley_template_render(kind, content, parley_languages[l], &out, &err) != PARLEY_E_OK)
      abort();
    if (!parley_utf8_valid((const char *)out.data, out.len)) abort();
    parley_buf_free(&out);
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  init_once();
  json_t *v = NULL;
  parley_json_limits lim = PARLEY_ENVELOPE_JSON_LIMITS;
  if (parley_json_parse((const char *)data, size, &lim, &v, NULL) != PARLEY_E_OK) return 0;

  parley_envelope_info info;
  parley_error err;
  parley_err ve = parley_envelope_verify(v, &g_sender.sign_pk, &info, &err);
  json_t *body = (json_t *)v; /* must be overwritten */
  parley_err oe = parley_envelope_open(v, &g_me, &g_sender.sign_pk, &body, &err);
  if (ve != PARLEY_E_OK && oe != ve) abort();
  if (oe != PARLEY_E_OK) {
    if (body) abort();
  } else {
    if (!body || parley_template_validate(info.kind, json_object_get(body, "content"), NULL))
      abort();
    validate_and_render(info.kind, json_object_get(body, "content"));
    json_decref(body);
  }
  if (ve == PARLEY_E_OK) {
    parley_hash h;
    if (parley_envelope_hash(v, &h, NULL) != PARLEY_E_OK ||
        memcmp(h.b, info.hash.b, sizeof h.b) != 0)
      abort();
  }

  parley_ack_info ai;
  (void)parley_ack_verify(v, &g_sender.sign_pk, &ai, &err);

  const char *const *kinds = parley_template_kinds(NULL);
  const json_t *content = json_object_get(v, "content");
  for (size_t i = 0; kinds[i]; i++) {
    validate_and_render(kinds[i], v);
    if (content) validate_and_render(kinds[i], content);
  }
  (void)parley_template_validate(json_string_value(json_object_get(v, "kind")), content, NULL);
  json_decref(v);
  return 0;
}
