/* Fuzz target: a state record from an attacker (a hub serving a client, or a client
 * publishing to the hub) must be refused cleanly or verified, never crash. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "parley/json.h"
#include "parley/proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static int ready;
  static parley_sign_pk root;
  if (!ready) {
    if (!parley_init()) abort();
    /* The key the corpus records are signed with (seed 0x11 * 32). */
    uint8_t seed[32], sbox[32];
    memset(seed, 0x11, sizeof seed);
    memset(sbox, 0x22, sizeof sbox);
    parley_identity id;
    if (parley_identity_from_seeds(seed, sbox, &id) != PARLEY_E_OK) abort();
    root = id.sign_pk;
    parley_identity_wipe(&id);
    ready = 1;
  }
  json_t *v = NULL;
  if (parley_json_parse((const char *)data, size, NULL, &v, NULL) != PARLEY_E_OK) return 0;
  parley_record_info *info = malloc(sizeof *info);
  if (info) {
    parley_error err;
    /* A fixed "now" keeps runs reproducible. */
    parley_err e = parley_record_verify(v, &root, 1790000000, info, &err);
    if (e == PARLEY_E_OK && (info->n_pocs == 0 || info->n_pocs > PARLEY_MAX_POCS)) abort();
    free(info);
  }
  json_decref(v);
  return 0;
}
