/* test_addr: "HOST:PORT" parsing (IPv4, [IPv6], names), resolution (localhost, unresolvable
 * names and addresses) and the error messages, which quote the input and name the problem. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "addr.h"
#include "check.h"

static void expect_split(const char *s, const char *host, int port) {
  addr_t a;
  char err[256] = "";
  int rc = addr_split(s, &a, err, sizeof err);
  CHECK(rc == 0, "'%s': addr_split failed: %s", s, err);
  if (rc != 0) return;
  CHECK(strcmp(a.host, host) == 0 && a.port == port, "'%s' -> host '%s' port %d, expected '%s' %d",
        s, a.host, a.port, host, port);
  char service[8];
  snprintf(service, sizeof service, "%d", port);
  CHECK(strcmp(a.service, service) == 0, "'%s': service '%s', expected '%s'", s, a.service,
        service);
}

/* Refused by addr_split (and so by addr_resolve), with a message containing want. */
static void expect_bad(const char *s, const char *want) {
  addr_t a;
  char err[256] = "";
  int rc = addr_split(s, &a, err, sizeof err);
  CHECK(rc == -1 && strstr(err, want), "'%s': addr_split rc %d, err \"%s\", expected \"%s\"",
        s ? s : "(null)", rc, err, want);
  err[0] = '\0';
  rc = addr_resolve(s, &a, err, sizeof err);
  CHECK(rc == -1 && strstr(err, want), "'%s': addr_resolve rc %d, err \"%s\", expected \"%s\"",
        s ? s : "(null)", rc, err, want);
}

static void test_split(void) {
  expect_split("127.0.0.1:7878", "127.0.0.1", 7878);
  expect_split("0.0.0.0:0", "0.0.0.0", 0);
  expect_split("[::1]:0", "::1", 0);
  expect_split("[fe80::1]:65535", "fe80::1", 65535);
  expect_split("localhost:8080", "localhost", 8080);
  expect_split("learner-7.example:00080", "learner-7.example", 80);
}

static void test_errors(void) {
  /* exact messages for the three cases a user meets most */
  expect_bad("abc", "'abc': expected HOST:PORT");
  expect_bad(":99999", "':99999': port 99999 is outside 0..65535");
  expect_bad("h:65536", "'h:65536': port 65536 is outside 0..65535");
  expect_bad("h:123456789012345678901234567890", "is outside 0..65535");
  expect_bad("h:-1", "'h:-1': port '-1' is not a number");
  expect_bad("h:8o", "port '8o' is not a number");
  expect_bad("h: 80", "port ' 80' is not a number");
  expect_bad("h:+80", "port '+80' is not a number");
  expect_bad("h:", "'h:': no port after the ':'");
  expect_bad(":80", "':80': the host is empty");
  expect_bad("[]:80", "'[]:80': the host is empty");
  expect_bad("", "'': expected HOST:PORT");
  expect_bad(NULL, "expected HOST:PORT");
  expect_bad("::1:80", "'::1:80': an IPv6 address needs brackets");
  expect_bad("[::1]80", "'[::1]80': expected [IPV6]:PORT");
  expect_bad("[::1:80", "'[::1:80': no ']'");
  char longhost[400];
  memset(longhost, 'a', 300);
  snprintf(longhost + 300, sizeof longhost - 300, ":80");
  expect_bad(longhost, "the host is longer than 255 characters");
}

/* Resolves s and binds a socket to the result: the address is one a listener can use. */
static void expect_resolve_bind(const char *s, int family) {
  addr_t a;
  char err[256] = "";
  int rc = addr_resolve(s, &a, err, sizeof err);
  if (family == AF_INET6 && rc != 0) {
    printf("SKIP %s: %s\n", s, err); /* no IPv6 in this sandbox */
    return;
  }
  CHECK(rc == 0, "'%s': addr_resolve failed: %s", s, err);
  if (rc != 0) return;
  CHECK(family == 0 || a.sa.ss_family == family, "'%s': family %d, expected %d", s, a.sa.ss_family,
        family);
  CHECK(addr_port(&a.sa) == a.port, "'%s': addr_port %d, expected %d", s, addr_port(&a.sa), a.port);
  char text[INET6_ADDRSTRLEN] = "";
  if (a.sa.ss_family == AF_INET)
    inet_ntop(AF_INET, &((struct sockaddr_in *)&a.sa)->sin_addr, text, sizeof text);
  else
    inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&a.sa)->sin6_addr, text, sizeof text);
  int fd = socket(a.sa.ss_family, SOCK_STREAM, 0);
  CHECK(fd >= 0, "'%s': socket", s);
  if (fd < 0) return;
  rc = bind(fd, (struct sockaddr *)&a.sa, a.salen);
  if (family == AF_INET6 && rc != 0) {
    printf("SKIP bind %s: no IPv6 loopback\n", s);
    close(fd);
    return;
  }
  CHECK(rc == 0, "'%s' (%s): bind failed", s, text);
  struct sockaddr_storage bound;
  socklen_t bl = sizeof bound;
  getsockname(fd, (struct sockaddr *)&bound, &bl);
  CHECK(addr_port(&bound) > 0, "'%s': bound port %d", s, addr_port(&bound));
  close(fd);
  printf("%s -> %s, bound port %d\n", s, text, addr_port(&bound));
}

static void test_resolve(void) {
  expect_resolve_bind("127.0.0.1:0", AF_INET);
  expect_resolve_bind("[::1]:0", AF_INET6);
  expect_resolve_bind("localhost:0", 0); /* 127.0.0.1 or ::1, whichever getaddrinfo gives first */

  addr_t a;
  char err[256] = "";
  int rc = addr_resolve("localhost:7878", &a, err, sizeof err);
  CHECK(rc == 0, "localhost:7878: %s", err);
  if (rc == 0) {
    int loopback =
        a.sa.ss_family == AF_INET
            ? ntohl(((struct sockaddr_in *)&a.sa)->sin_addr.s_addr) == INADDR_LOOPBACK
            : memcmp(&((struct sockaddr_in6 *)&a.sa)->sin6_addr, &in6addr_loopback, 16) == 0;
    CHECK(loopback && addr_port(&a.sa) == 7878, "localhost:7878 is not loopback port 7878 (%d)",
          addr_port(&a.sa));
  }

  /* unresolvable: a name under .invalid (RFC 6761) and an IPv4-looking text that is not one */
  rc = addr_resolve("no.such.host.invalid:80", &a, err, sizeof err);
  CHECK(rc == -1 && strstr(err,
                           "'no.such.host.invalid:80': host 'no.such.host.invalid' does not "
                           "resolve: "),
        "unresolvable name: rc %d, err \"%s\"", rc, err);
  rc = addr_resolve("999.1.1.1:80", &a, err, sizeof err);
  CHECK(rc == -1 && strstr(err, "'999.1.1.1:80': host '999.1.1.1' does not resolve: ") == err,
        "999.1.1.1: rc %d, err \"%s\"", rc, err);
  /* splitting alone never resolves: the worker resolves on every reconnect */
  CHECK(addr_split("no.such.host.invalid:80", &a, err, sizeof err) == 0, "split resolved: %s", err);

  struct sockaddr_storage unix_sa = {.ss_family = AF_UNIX};
  CHECK(addr_port(&unix_sa) == -1, "addr_port of AF_UNIX is %d", addr_port(&unix_sa));
}

int main(void) {
  test_split();
  test_errors();
  test_resolve();
  if (!check_failures) printf("test_addr: ok\n");
  CHECK_DONE();
}
