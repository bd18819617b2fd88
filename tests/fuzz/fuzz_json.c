/* Fuzz target for the json module: bounded parsing must never crash, and JCS must be
 * a fixed point: JCS(parse(JCS(v))) == JCS(v) for every signable value v. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "parley/json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static bool inited;
  if (!inited) {
    if (!parley_init()) abort();
    inited = true;
  }
  json_t *v = NULL;
  parley_error err;
  if (parley_json_parse((const char *)data, size, NULL, &v, &err) != PARLEY_E_OK) {
    if (v) abort(); /* failure must not hand out a value */
    return 0;
  }
  if (parley_json_check_signable(v, &err) != PARLEY_E_OK) {
    parley_buf b;
    parley_buf_init(&b, 4u << 20);
    /* JCS must refuse exactly what the signable check refuses. */
    if (parley_jcs(v, &b, NULL) == PARLEY_E_OK || b.len != 0) abort();
    parley_buf_free(&b);
    json_decref(v);
    return 0;
  }

  parley_buf a, b;
  parley_buf_init(&a, 4u << 20);
  parley_buf_init(&b, 4u << 20);
  if (parley_jcs(v, &a, &err) != PARLEY_E_OK) abort();
  /* The canonical form is never longer than its input and keeps depth, strings and item
   * count, so it must parse under the same limits. */
  json_t *w = NULL;
  if (parley_json_parse((const char *)a.data, a.len, NULL, &w, &err) != PARLEY_E_OK) abort();
  if (!json_equal(v, w)) abort();
  if (parley_jcs(w, &b, &err) != PARLEY_E_OK) abort();
  if (a.len != b.len || memcmp(a.data, b.data, a.len) != 0) abort();
  parley_buf_free(&a);
  parley_buf_free(&b);
  json_decref(w);
  json_decref(v);
  return 0;
}
