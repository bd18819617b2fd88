/* Route matching (src/daemon/routes.c), in-process: every route of parleyd_routes
 * matches its own pattern, unknown paths are 404 (-1) and known paths with another
 * method 405 (-2), {} segments are captured and bounded, a public GET answers HEAD.
 * Linked with the whole daemon but main.c (the table names every handler); no handler
 * runs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "handlers.h"
#include "hub.h"

/* main.c's global: the table and the matcher never read it */
parleyd_hub *parleyd;

/* A concrete path for pattern: each {} becomes "seg<N>", a final * becomes "a/b". */
static void path_for(const char *pattern, char *out, size_t cap) {
  size_t n = 0;
  unsigned seg = 0;
  for (const char *p = pattern; *p && n + 16 < cap; p++) {
    if (p[0] == '{' && p[1] == '}') {
      n += (size_t)snprintf(out + n, cap - n, "seg%u", seg++);
      p++;
    } else if (p[0] == '*' && p[1] == 0) {
      n += (size_t)snprintf(out + n, cap - n, "a/b");
    } else {
      out[n++] = *p;
    }
  }
  assert_true(n + 16 < cap);
  out[n] = 0;
}

static int match(const char *method, const char *path, parleyd_req *r) {
  memset(r, 0, sizeof *r);
  return parleyd_route_match(method, path, r);
}

static int route_index(const char *method, const char *pattern) {
  for (size_t i = 0; i < parleyd_n_routes; i++)
    if (!strcmp(parleyd_routes[i].method, method) && !strcmp(parleyd_routes[i].pattern, pattern))
      return (int)i;
  fail_msg("no route %s %s", method, pattern);
  return -1;
}

static void test_every_route_matches_itself(void **state) {
  (void)state;
  assert_true(parleyd_n_routes > 20);
  parleyd_req r;
  char path[256];
  for (size_t i = 0; i < parleyd_n_routes; i++) {
    const parleyd_route *rt = &parleyd_routes[i];
    assert_non_null(rt->handler);
    assert_non_null(rt->name);
    path_for(rt->pattern, path, sizeof path);
    int got = match(rt->method, path, &r);
    if (got != (int)i)
      fail_msg("%s %s (%s) matched route %d, not %zu", rt->method, path, rt->pattern, got, i);
    size_t want_params = 0;
    for (const char *p = rt->pattern; (p = strstr(p, "{}")); p += 2)
      want_params++;
    assert_int_equal(r.n_params, want_params);
    for (size_t k = 0; k < want_params; k++) {
      char want[32];
      snprintf(want, sizeof want, "seg%zu", k);
      assert_string_equal(r.params[k], want);
    }
  }
}

/* No two routes share a method and a pattern, and every name is unique (metrics labels). */
static void test_routes_unique(void **state) {
  (void)state;
  for (size_t i = 0; i < parleyd_n_routes; i++)
    for (size_t j = i + 1; j < parleyd_n_routes; j++) {
      assert_false(!strcmp(parleyd_routes[i].method, parleyd_routes[j].method) &&
                   !strcmp(parleyd_routes[i].pattern, parleyd_routes[j].pattern));
      assert_string_not_equal(parleyd_routes[i].name, parleyd_routes[j].name);
    }
}

static void test_not_found_and_wrong_method(void **state) {
  (void)state;
  parleyd_req r;
  assert_int_equal(match("GET", "/nope", &r), -1);
  assert_int_equal(match("GET", "", &r), -1);
  assert_int_equal(match("GET", "/v1/states/", &r), -1);        /* {} needs a segment */
  assert_int_equal(match("GET", "/v1/states//record", &r), -1); /* empty segment */
  assert_int_equal(match("GET", "/v1/states/EST/record/", &r), -1);
  assert_int_equal(match("GET", "/log/tile/", &r), -1); /* * needs a non-empty rest */
  assert_int_equal(match("GET", "/V1/STATES", &r), -1); /* case matters */
  assert_int_equal(match("DELETE", "/v1/states", &r), -2);
  assert_int_equal(match("POST", "/healthz", &r), -2);
  assert_int_equal(match("GET", "/v1/messages", &r), -2); /* POST only */
  assert_int_equal(match("PUT", "/v1/states/EST", &r), -2);
  assert_int_equal(match("get", "/healthz", &r), -2); /* methods are case-sensitive */
}

static void test_params(void **state) {
  (void)state;
  parleyd_req r;
  int i = match("GET", "/v1/states/EST/records/7", &r);
  assert_int_equal(i, route_index("GET", "/v1/states/{}/records/{}"));
  assert_int_equal(r.n_params, 2);
  assert_string_equal(r.params[0], "EST");
  assert_string_equal(r.params[1], "7");
  i = match("POST", "/v1/messages/01900000-0000-7000-8000-000000000001/ack", &r);
  assert_int_equal(i, route_index("POST", "/v1/messages/{}/ack"));
  assert_string_equal(r.params[0], "01900000-0000-7000-8000-000000000001");
  /* a segment that does not fit a parameter slot matches nothing */
  char path[512], seg[200];
  memset(seg, 'a', sizeof seg - 1);
  seg[sizeof seg - 1] = 0;
  snprintf(path, sizeof path, "/v1/states/%s", seg);
  assert_int_equal(match("GET", path, &r), -1);
  seg[127] = 0; /* 127 bytes and the NUL fill the slot */
  snprintf(path, sizeof path, "/v1/states/%s", seg);
  assert_int_equal(match("GET", path, &r), route_index("GET", "/v1/states/{}"));
  assert_int_equal(strlen(r.params[0]), 127);
  seg[127] = 'a';
  seg[128] = 0;
  snprintf(path, sizeof path, "/v1/states/%s", seg);
  assert_int_equal(match("GET", path, &r), -1);
  /* the tile route hands its whole rest to the handler */
  i = match("GET", "/log/tile/0/x001/234.p/5", &r);
  assert_int_equal(i, route_index("GET", "/log/tile/*"));
  assert_int_equal(r.n_params, 0);
}

static void test_head(void **state) {
  (void)state;
  parleyd_req r;
  for (size_t i = 0; i < parleyd_n_routes; i++) {
    const parleyd_route *rt = &parleyd_routes[i];
    if (strcmp(rt->method, "GET") != 0) continue;
    char path[256];
    path_for(rt->pattern, path, sizeof path);
    int got = match("HEAD", path, &r);
    if (rt->auth == PARLEYD_AUTH_PUBLIC || rt->handler == h_evidence_offset)
      assert_int_equal(got, (int)i); /* HEAD of a public GET, and the tus offset (signed) */
    else
      assert_int_equal(got, -2); /* signed GETs answer no HEAD */
  }
  assert_int_equal(match("HEAD", "/log/checkpoint", &r), route_index("GET", "/log/checkpoint"));
  assert_int_equal(match("HEAD", "/v1/inbox", &r), -2);
  assert_int_equal(match("HEAD", "/log/add-cosignature", &r), -2); /* a public POST */
  assert_int_equal(match("HEAD", "/nope", &r), -1);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_every_route_matches_itself),
      cmocka_unit_test(test_routes_unique),
      cmocka_unit_test(test_not_found_and_wrong_method),
      cmocka_unit_test(test_params),
      cmocka_unit_test(test_head),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
