/* addr: "HOST:PORT" parsing and resolution (see addr.h). */
#include "addr.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "errmsg.h"

/* The input as quoted in messages: whole, or its start when it is long. */
static void shown(const char *s, char *out, size_t len) {
  if (strlen(s) < len)
    snprintf(out, len, "%s", s);
  else
    snprintf(out, len, "%.*s...", (int)(len - 4), s);
}

/* Strictly decimal digits, 0..65535: no sign, no spaces, no hex. s is the input as shown. */
static int parse_port(const char *s, const char *p, int *port, char *err, size_t errlen) {
  if (!*p) return errmsg(err, errlen, "'%s': no port after the ':'", s);
  long v = 0;
  for (const char *q = p; *q; q++) {
    if (*q < '0' || *q > '9')
      return errmsg(err, errlen, "'%s': port '%.20s' is not a number", s, p);
    if (v <= 65535) v = v * 10 + (*q - '0'); /* stops growing once out of range */
  }
  if (v > 65535) return errmsg(err, errlen, "'%s': port %.20s is outside 0..65535", s, p);
  *port = (int)v;
  return 0;
}

int addr_split(const char *s, addr_t *a, char *err, size_t errlen) {
  memset(a, 0, sizeof *a);
  if (!s) return errmsg(err, errlen, "no address given (expected HOST:PORT)");
  char q[80];
  shown(s, q, sizeof q);
  const char *h = s, *colon;
  size_t hl;
  if (*s == '[') {
    const char *rb = strchr(s, ']');
    if (!rb) return errmsg(err, errlen, "'%s': no ']' closing the IPv6 address", q);
    if (rb[1] != ':') return errmsg(err, errlen, "'%s': expected [IPV6]:PORT", q);
    h = s + 1;
    hl = (size_t)(rb - h);
    colon = rb + 1;
  } else {
    colon = strrchr(s, ':');
    if (!colon) return errmsg(err, errlen, "'%s': expected HOST:PORT", q);
    hl = (size_t)(colon - s);
    if (memchr(s, ':', hl))
      return errmsg(err, errlen, "'%s': an IPv6 address needs brackets, as in [::1]:7878", q);
  }
  /* The port first: "':99999'" is about the port, whatever the host. */
  if (parse_port(q, colon + 1, &a->port, err, errlen) != 0) return -1;
  if (hl == 0) return errmsg(err, errlen, "'%s': the host is empty", q);
  if (hl >= sizeof a->host)
    return errmsg(err, errlen, "'%s': the host is longer than %d characters", q, ADDR_HOST_MAX - 1);
  memcpy(a->host, h, hl);
  a->host[hl] = '\0';
  snprintf(a->service, sizeof a->service, "%d", a->port);
  return 0;
}

int addr_resolve(const char *s, addr_t *a, char *err, size_t errlen) {
  if (addr_split(s, a, err, errlen) != 0) return -1;
  char q[80];
  shown(s, q, sizeof q);
  struct addrinfo hints = {0}, *ai = NULL;
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  int rc = getaddrinfo(a->host, a->service, &hints, &ai);
  if (rc != 0 || !ai) {
    const char *why = rc == EAI_SYSTEM ? strerror(errno) : rc ? gai_strerror(rc) : "no address";
    return errmsg(err, errlen, "'%s': host '%s' does not resolve: %s", q, a->host, why);
  }
  if (ai->ai_addrlen > sizeof a->sa) { /* not expected of AF_INET or AF_INET6 */
    freeaddrinfo(ai);
    return errmsg(err, errlen, "'%s': host '%s' resolves to an address of unknown size", q,
                  a->host);
  }
  memcpy(&a->sa, ai->ai_addr, ai->ai_addrlen);
  a->salen = ai->ai_addrlen;
  freeaddrinfo(ai);
  return 0;
}

int addr_port(const struct sockaddr_storage *sa) {
  if (sa->ss_family == AF_INET) return ntohs(((const struct sockaddr_in *)sa)->sin_port);
  if (sa->ss_family == AF_INET6) return ntohs(((const struct sockaddr_in6 *)sa)->sin6_port);
  return -1;
}

int addr_is_loopback(const struct sockaddr_storage *sa) {
  if (sa->ss_family == AF_INET)
    return (ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr) >> 24) == 127;
  if (sa->ss_family == AF_INET6) {
    const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;
    if (IN6_IS_ADDR_LOOPBACK(a)) return 1;
    return IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127;
  }
  return 0;
}
