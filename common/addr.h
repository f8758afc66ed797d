/* addr: "HOST:PORT" text, the one parser of network addresses (learner --listen and --status,
 * worker --connect, rlserve status).
 *
 *   HOST:PORT    a host name ("localhost", "learner-7", resolved with getaddrinfo) or an IPv4
 *                address ("127.0.0.1:7878")
 *   [IPV6]:PORT  an IPv6 address in brackets ("[::1]:7878"); a bare "::1:7878" is refused
 *
 * PORT is decimal digits only, 0..65535 (0: any free port, for a listener). Errors fill err
 * with a sentence that quotes the input and names the problem:
 *   "'abc': expected HOST:PORT", "':99999': port 99999 is outside 0..65535",
 *   "'999.1.1.1:80': host '999.1.1.1' does not resolve: Name or service not known".
 *
 * Threads: any; no shared state. addr_resolve blocks while a name is looked up, so the worker,
 * which must not block its loop and looks the name up again on every reconnect, splits with
 * addr_split and resolves with uv_getaddrinfo itself. */
#ifndef RLSERVE_ADDR_H
#define RLSERVE_ADDR_H

#include <stddef.h>
#include <sys/socket.h>

#define ADDR_HOST_MAX 256

typedef struct addr {
  char host[ADDR_HOST_MAX]; /* brackets removed: "::1", "127.0.0.1", "localhost" */
  int port;                 /* 0..65535 */
  char service[6];          /* the port as getaddrinfo's service text: "7878" */
  /* addr_resolve only: the first address the host resolves to. */
  struct sockaddr_storage sa;
  socklen_t salen;
} addr_t;

/* Splits s into host and port without resolving anything. 0, or -1 with a message in err. */
int addr_split(const char *s, addr_t *a, char *err, size_t errlen);
/* addr_split, then resolves the host (getaddrinfo, blocking) to the first address it gives,
 * the one a listener binds. 0, or -1 with a message in err. */
int addr_resolve(const char *s, addr_t *a, char *err, size_t errlen);
/* The port (host order) of an IPv4 or IPv6 socket address, -1 for any other family. */
int addr_port(const struct sockaddr_storage *sa);
/* 1 for 127.0.0.0/8, ::1 and ::ffff:127.x.y.z (reachable from this machine only), else 0; the
 * wildcard addresses 0.0.0.0 and :: are not loopback. */
int addr_is_loopback(const struct sockaddr_storage *sa);

#endif
