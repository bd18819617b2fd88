/* Webhook destinations: URL parsing with libcurl's URL API, resolution, and the check
 * of every resolved address against the operator's policy (no server-side request
 * forgery towards the hub's own network). Pure functions of their inputs and the
 * system resolver: no hub state, so they are unit-tested in-process. */
#ifndef PARLEYD_WEBHOOK_URL_H
#define PARLEYD_WEBHOOK_URL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

/* What an address reaches. */
typedef enum {
  PARLEYD_ADDR_PUBLIC = 0,
  PARLEYD_ADDR_LOOPBACK,   /* 127/8, ::1 */
  PARLEYD_ADDR_PRIVATE,    /* 10/8, 172.16/12, 192.168/16, 100.64/10, fc00::/7, fec0::/10 */
  PARLEYD_ADDR_LINK_LOCAL, /* 169.254/16 (cloud metadata), fe80::/10 */
  PARLEYD_ADDR_RESERVED,   /* unspecified, this-network 0/8, multicast, broadcast, 240/4,
                              documentation, benchmarking, IETF, discard-only */
} parleyd_addr_class;

/* Classifies an AF_INET or AF_INET6 address; IPv6 forms that embed an IPv4 address
 * (IPv4-mapped ::ffff:0:0/96, IPv4-compatible ::/96, NAT64 64:ff9b::/96, 6to4 2002::/16)
 * are classified by the embedded address. Other families: RESERVED. */
parleyd_addr_class parleyd_addr_classify(const struct sockaddr *sa);
const char *parleyd_addr_class_name(parleyd_addr_class c);

typedef struct {
  bool allow_loopback_http; /* http:// (and loopback addresses) for a destination that
                               resolves to loopback only: tests */
  bool allow_private;       /* private and loopback addresses (never link-local/reserved) */
} parleyd_webhook_policy;

#define PARLEYD_WEBHOOK_MAX_ADDRS 8

typedef struct {
  char url[640];  /* as libcurl re-serializes it: what is fetched */
  char scheme[8]; /* "https" or "http" */
  char host[260]; /* as libcurl names it (an IPv6 literal in brackets) */
  unsigned port;  /* explicit or the scheme's default */
  char dest[300]; /* "scheme://host:port": the notifier's queue key */
  bool host_is_literal;
  size_t n_addrs;
  struct sockaddr_storage addrs[PARLEYD_WEBHOOK_MAX_ADDRS]; /* checked; the only ones used */
  char resolve[600]; /* "host:port:addr,addr" for CURLOPT_RESOLVE (empty for a literal) */
} parleyd_webhook_target;

/* Parses url with libcurl's URL API: https (http only with allow_loopback_http), no
 * user, password or login options, a host, no IPv6 zone id, a port in 1..65535, at
 * most 500 bytes of printable ASCII. No resolution. On refusal writes why. */
bool parleyd_webhook_parse(const char *url, const parleyd_webhook_policy *pol,
                           parleyd_webhook_target *t, char *why, size_t why_len);

typedef enum {
  PARLEYD_WEBHOOK_OK = 0,
  PARLEYD_WEBHOOK_REFUSED,    /* a resolved address is not allowed: never send */
  PARLEYD_WEBHOOK_UNRESOLVED, /* the name did not resolve (may be transient) */
} parleyd_webhook_check;

/* Resolves t's host once, checks every address against pol (one forbidden address
 * refuses the destination; http needs every address to be loopback) and fills
 * t->addrs and t->resolve so that the connection uses exactly the checked addresses. */
parleyd_webhook_check parleyd_webhook_resolve(parleyd_webhook_target *t,
                                              const parleyd_webhook_policy *pol, char *why,
                                              size_t why_len);

/* Whether sa (address and port) is one of t's checked addresses: the connection's last
 * line of defence (CURLOPT_OPENSOCKETFUNCTION). */
bool parleyd_webhook_pinned(const parleyd_webhook_target *t, const struct sockaddr *sa);

#endif
