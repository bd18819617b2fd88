/* Webhook destinations: parse with libcurl's URL API, resolve once, check every address,
 * pin what was checked. See webhook_url.h for the contracts. */
#include "webhook_url.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <ctype.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static parleyd_addr_class classify_v4(uint32_t a) {
#define IN_NET(net, bits) ((a >> (32 - (bits))) == ((uint32_t)(net) >> (32 - (bits))))
  if (IN_NET(0x00000000, 8)) return PARLEYD_ADDR_RESERVED; /* "this network"; 0.0.0.0 */
  if (IN_NET(0x7f000000, 8)) return PARLEYD_ADDR_LOOPBACK;
  if (IN_NET(0x0a000000, 8) || IN_NET(0xac100000, 12) || IN_NET(0xc0a80000, 16) ||
      IN_NET(0x64400000, 10))
    return PARLEYD_ADDR_PRIVATE;
  if (IN_NET(0xa9fe0000, 16)) return PARLEYD_ADDR_LINK_LOCAL;
  if (IN_NET(0xe0000000, 4) || IN_NET(0xf0000000, 4)) /* multicast; 240/4 and broadcast */
    return PARLEYD_ADDR_RESERVED;
  if (IN_NET(0xc0000000, 24) || IN_NET(0xc0000200, 24) || IN_NET(0xc6336400, 24) ||
      IN_NET(0xcb007100, 24) || IN_NET(0xc6120000, 15) || IN_NET(0xc0586300, 24))
    return PARLEYD_ADDR_RESERVED; /* IETF, documentation, benchmarking, 6to4 relay */
  return PARLEYD_ADDR_PUBLIC;
#undef IN_NET
}

static uint32_t be32(const uint8_t *b) {
  return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

static parleyd_addr_class classify_v6(const uint8_t *b) {
  static const uint8_t zero[16] = {0};
  if (memcmp(b, zero, 16) == 0) return PARLEYD_ADDR_RESERVED; /* :: */
  if (memcmp(b, zero, 15) == 0 && b[15] == 1) return PARLEYD_ADDR_LOOPBACK;
  if (memcmp(b, zero, 10) == 0 && b[10] == 0xff && b[11] == 0xff) /* IPv4-mapped */
    return classify_v4(be32(b + 12));
  if (memcmp(b, zero, 12) == 0) return classify_v4(be32(b + 12)); /* IPv4-compatible */
  static const uint8_t nat64[12] = {0, 0x64, 0xff, 0x9b};
  if (memcmp(b, nat64, 12) == 0) return classify_v4(be32(b + 12));
  if (b[0] == 0x00 && b[1] == 0x64 && b[2] == 0xff && b[3] == 0x9b && b[4] == 0 && b[5] == 1)
    return PARLEYD_ADDR_PRIVATE; /* 64:ff9b:1::/48, local-use NAT64 */
  if (b[0] == 0x20 && b[1] == 0x02) return classify_v4(be32(b + 2)); /* 6to4 */
  if ((b[0] & 0xfe) == 0xfc) return PARLEYD_ADDR_PRIVATE;            /* fc00::/7 */
  if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80) return PARLEYD_ADDR_LINK_LOCAL;
  if (b[0] == 0xfe && (b[1] & 0xc0) == 0xc0) return PARLEYD_ADDR_PRIVATE; /* site-local */
  if (b[0] == 0xff) return PARLEYD_ADDR_RESERVED;                         /* multicast */
  if (b[0] == 0x20 && b[1] == 0x01 && b[2] == 0x0d && b[3] == 0xb8)
    return PARLEYD_ADDR_RESERVED; /* documentation */
  if (b[0] == 0x20 && b[1] == 0x01 && b[2] == 0 && b[3] == 0)
    return PARLEYD_ADDR_RESERVED;                          /* Teredo: hides an IPv4 address */
  if ((b[0] & 0xe0) != 0x20) return PARLEYD_ADDR_RESERVED; /* outside global unicast 2000::/3 */
  return PARLEYD_ADDR_PUBLIC;
}

parleyd_addr_class parleyd_addr_classify(const struct sockaddr *sa) {
  if (sa->sa_family == AF_INET)
    return classify_v4(ntohl(((const struct sockaddr_in *)(const void *)sa)->sin_addr.s_addr));
  if (sa->sa_family == AF_INET6)
    return classify_v6(((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr.s6_addr);
  return PARLEYD_ADDR_RESERVED;
}

const char *parleyd_addr_class_name(parleyd_addr_class c) {
  switch (c) {
  case PARLEYD_ADDR_PUBLIC:
    return "public";
  case PARLEYD_ADDR_LOOPBACK:
    return "loopback";
  case PARLEYD_ADDR_PRIVATE:
    return "private";
  case PARLEYD_ADDR_LINK_LOCAL:
    return "link-local";
  case PARLEYD_ADDR_RESERVED:
    break;
  }
  return "reserved";
}

static bool refuse(char *why, size_t why_len, const char *what) {
  snprintf(why, why_len, "%s", what);
  return false;
}

/* Copies one part of h into dst; false if the part is absent or too long. */
static bool get_part(CURLU *h, CURLUPart part, unsigned flags, char *dst, size_t cap) {
  char *v = NULL;
  if (curl_url_get(h, part, &v, flags) != CURLUE_OK || !v) return false;
  size_t n = strlen(v);
  bool ok = n < cap;
  if (ok) memcpy(dst, v, n + 1);
  curl_free(v);
  return ok;
}

static bool has_part(CURLU *h, CURLUPart part) {
  char *v = NULL;
  CURLUcode rc = curl_url_get(h, part, &v, 0);
  curl_free(v);
  return rc == CURLUE_OK;
}

bool parleyd_webhook_parse(const char *url, const parleyd_webhook_policy *pol,
                           parleyd_webhook_target *t, char *why, size_t why_len) {
  memset(t, 0, sizeof *t);
  size_t n = url ? strlen(url) : 0;
  if (n == 0 || n > 500) return refuse(why, why_len, "empty or longer than 500 bytes");
  for (size_t i = 0; i < n; i++)
    if ((unsigned char)url[i] < 0x21 || (unsigned char)url[i] > 0x7e || url[i] == '\\')
      return refuse(why, why_len, "only printable ASCII without spaces or backslashes");
  /* libcurl is lenient ("https:///host" names host): the authority must follow "//". */
  size_t skip = strncmp(url, "https://", 8) == 0 ? 8 : strncmp(url, "http://", 7) == 0 ? 7 : 0;
  if (!skip) return refuse(why, why_len, "scheme must be https");
  if (url[skip] == '/') return refuse(why, why_len, "no host");
  CURLU *h = curl_url();
  if (!h) return refuse(why, why_len, "out of memory");
  bool ok = false;
  char port[8];
  CURLUcode rc = curl_url_set(h, CURLUPART_URL, url, 0);
  if (rc != CURLUE_OK) {
    snprintf(why, why_len, "not a URL (%s)", curl_url_strerror(rc));
    goto done;
  }
  if (!get_part(h, CURLUPART_SCHEME, 0, t->scheme, sizeof t->scheme)) {
    refuse(why, why_len, "no scheme");
    goto done;
  }
  if (strcmp(t->scheme, "https") != 0 &&
      !(strcmp(t->scheme, "http") == 0 && pol->allow_loopback_http)) {
    refuse(why, why_len, "scheme must be https");
    goto done;
  }
  if (has_part(h, CURLUPART_USER) || has_part(h, CURLUPART_PASSWORD) ||
      has_part(h, CURLUPART_OPTIONS)) {
    refuse(why, why_len, "user information ('user:password@') is not allowed");
    goto done;
  }
  if (has_part(h, CURLUPART_ZONEID)) {
    refuse(why, why_len, "IPv6 zone identifiers are not allowed");
    goto done;
  }
  if (!get_part(h, CURLUPART_HOST, 0, t->host, sizeof t->host) || !t->host[0]) {
    refuse(why, why_len, "no host");
    goto done;
  }
  for (char *p = t->host; *p; p++) {
    if (!isalnum((unsigned char)*p) && !strchr(".-:[]", *p)) {
      refuse(why, why_len, "host: letters, digits, '.', '-' or an IP address");
      goto done;
    }
    *p = (char)tolower((unsigned char)*p);
  }
  uint64_t pv;
  if (!get_part(h, CURLUPART_PORT, CURLU_DEFAULT_PORT, port, sizeof port) || !port[0] ||
      !(pv = strtoull(port, NULL, 10)) || pv > 65535 ||
      strspn(port, "0123456789") != strlen(port)) {
    refuse(why, why_len, "port must be a number in 1..65535");
    goto done;
  }
  t->port = (unsigned)pv;
  if (!get_part(h, CURLUPART_URL, 0, t->url, sizeof t->url)) {
    refuse(why, why_len, "URL too long");
    goto done;
  }
  struct in_addr a4;
  t->host_is_literal = t->host[0] == '[' || inet_pton(AF_INET, t->host, &a4) == 1;
  snprintf(t->dest, sizeof t->dest, "%s://%s:%u", t->scheme, t->host, t->port);
  ok = true;
done:
  curl_url_cleanup(h);
  return ok;
}

static bool allowed(parleyd_addr_class c, const parleyd_webhook_policy *pol) {
  switch (c) {
  case PARLEYD_ADDR_PUBLIC:
    return true;
  case PARLEYD_ADDR_LOOPBACK:
    return pol->allow_private || pol->allow_loopback_http;
  case PARLEYD_ADDR_PRIVATE:
    return pol->allow_private;
  case PARLEYD_ADDR_LINK_LOCAL: /* cloud metadata services live here: never */
  case PARLEYD_ADDR_RESERVED:
    break;
  }
  return false;
}

static void addr_text(const struct sockaddr *sa, char *out, size_t cap) {
  const void *a = sa->sa_family == AF_INET
                      ? (const void *)&((const struct sockaddr_in *)(const void *)sa)->sin_addr
                      : (const void *)&((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;
  if (!inet_ntop(sa->sa_family, a, out, (socklen_t)cap)) snprintf(out, cap, "?");
}

static bool same_addr(const struct sockaddr *x, const struct sockaddr *y, bool port) {
  if (x->sa_family != y->sa_family) return false;
  if (x->sa_family == AF_INET) {
    const struct sockaddr_in *a = (const void *)x, *b = (const void *)y;
    return a->sin_addr.s_addr == b->sin_addr.s_addr && (!port || a->sin_port == b->sin_port);
  }
  if (x->sa_family == AF_INET6) {
    const struct sockaddr_in6 *a = (const void *)x, *b = (const void *)y;
    return memcmp(&a->sin6_addr, &b->sin6_addr, sizeof a->sin6_addr) == 0 &&
           (!port || a->sin6_port == b->sin6_port);
  }
  return false;
}

parleyd_webhook_check parleyd_webhook_resolve(parleyd_webhook_target *t,
                                              const parleyd_webhook_policy *pol, char *why,
                                              size_t why_len) {
  char name[260];
  size_t hl = strlen(t->host);
  if (t->host[0] == '[') {
    if (hl < 3 || t->host[hl - 1] != ']') {
      snprintf(why, why_len, "bad IPv6 literal");
      return PARLEYD_WEBHOOK_REFUSED;
    }
    memcpy(name, t->host + 1, hl - 2);
    name[hl - 2] = 0;
  } else {
    memcpy(name, t->host, hl + 1);
  }
  struct addrinfo hints, *res = NULL;
  memset(&hints, 0, sizeof hints);
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  if (t->host_is_literal) hints.ai_flags = AI_NUMERICHOST;
  int gai = getaddrinfo(name, NULL, &hints, &res);
  if (gai != 0 || !res) {
    snprintf(why, why_len, "%s does not resolve (%s)", name, gai_strerror(gai));
    if (res) freeaddrinfo(res);
    return PARLEYD_WEBHOOK_UNRESOLVED;
  }
  bool http = strcmp(t->scheme, "http") == 0;
  parleyd_webhook_check verdict = PARLEYD_WEBHOOK_OK;
  t->n_addrs = 0;
  for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
    if (ai->ai_family != AF_INET && ai->ai_family != AF_INET6) continue;
    parleyd_addr_class c = parleyd_addr_classify(ai->ai_addr);
    if (!allowed(c, pol) || (http && c != PARLEYD_ADDR_LOOPBACK)) {
      char text[INET6_ADDRSTRLEN];
      addr_text(ai->ai_addr, text, sizeof text);
      snprintf(why, why_len, "%s resolves to %s (%s)%s", name, text, parleyd_addr_class_name(c),
               http && c != PARLEYD_ADDR_LOOPBACK ? ": http is for loopback only" : "");
      verdict = PARLEYD_WEBHOOK_REFUSED; /* one forbidden address refuses the destination */
      break;
    }
    bool dup = false;
    for (size_t i = 0; i < t->n_addrs && !dup; i++)
      dup = same_addr((const struct sockaddr *)&t->addrs[i], ai->ai_addr, false);
    if (dup || t->n_addrs >= PARLEYD_WEBHOOK_MAX_ADDRS) continue;
    struct sockaddr_storage *s = &t->addrs[t->n_addrs++];
    memset(s, 0, sizeof *s);
    memcpy(s, ai->ai_addr, ai->ai_addrlen);
    if (ai->ai_family == AF_INET)
      ((struct sockaddr_in *)(void *)s)->sin_port = htons((uint16_t)t->port);
    else
      ((struct sockaddr_in6 *)(void *)s)->sin6_port = htons((uint16_t)t->port);
  }
  freeaddrinfo(res);
  if (verdict == PARLEYD_WEBHOOK_OK && t->n_addrs == 0) {
    snprintf(why, why_len, "%s has no IPv4 or IPv6 address", name);
    return PARLEYD_WEBHOOK_UNRESOLVED;
  }
  if (verdict != PARLEYD_WEBHOOK_OK) {
    t->n_addrs = 0;
    return verdict;
  }
  t->resolve[0] = 0;
  if (!t->host_is_literal) { /* libcurl connects to a literal itself: nothing to resolve */
    size_t off = (size_t)snprintf(t->resolve, sizeof t->resolve, "%s:%u:", t->host, t->port);
    for (size_t i = 0; i < t->n_addrs && off < sizeof t->resolve; i++) {
      char text[INET6_ADDRSTRLEN];
      const struct sockaddr *sa = (const struct sockaddr *)&t->addrs[i];
      addr_text(sa, text, sizeof text);
      off += (size_t)snprintf(t->resolve + off, sizeof t->resolve - off,
                              sa->sa_family == AF_INET6 ? "%s[%s]" : "%s%s", i ? "," : "", text);
    }
    if (off >= sizeof t->resolve) {
      snprintf(why, why_len, "%s: too many addresses to pin", name);
      t->n_addrs = 0;
      return PARLEYD_WEBHOOK_REFUSED;
    }
  }
  return PARLEYD_WEBHOOK_OK;
}

bool parleyd_webhook_pinned(const parleyd_webhook_target *t, const struct sockaddr *sa) {
  for (size_t i = 0; i < t->n_addrs; i++)
    if (same_addr((const struct sockaddr *)&t->addrs[i], sa, true)) return true;
  return false;
}
