/* sock: the blocking TCP helpers of the test programs that play a hostile peer
 * (tests/integration/badframes.c, tests/security/hostile.c, tests/security/sechostile.c).
 * 127.0.0.1-style IPv4 literals only; a failed connect ends the program with status 2. */
#ifndef RLSERVE_TEST_SOCK_H
#define RLSERVE_TEST_SOCK_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/types.h>

/* Connects to host:port, first binding to bind_ip (NULL: any) and setting SO_RCVBUF to rcvbuf
 * (0: the default). */
static inline int sock_dial(const char *host, int port, const char *bind_ip, int rcvbuf) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (rcvbuf) setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
  if (bind_ip) {
    struct sockaddr_in b = {.sin_family = AF_INET};
    inet_pton(AF_INET, bind_ip, &b.sin_addr);
    if (bind(fd, (struct sockaddr *)&b, sizeof b) != 0) {
      perror("bind");
      exit(2);
    }
  }
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  inet_pton(AF_INET, host, &a.sin_addr);
  if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
    perror("connect");
    exit(2);
  }
  return fd;
}

/* Sends all n bytes: 0, or -1 when the peer closed (which a hostile test often expects). */
static inline int sock_send_all(int fd, const void *p, size_t n) {
  const uint8_t *b = p;
  while (n) {
    ssize_t w = send(fd, b, n, MSG_NOSIGNAL);
    if (w <= 0) return -1;
    b += w;
    n -= (size_t)w;
  }
  return 0;
}

#endif
