/* Checks auth: a proof verifies under the same token, nonces and role only; token files that are
 * missing or too short are refused with a message naming the file. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "auth.h"
#include "check.h"

static void write_file(const char *path, const char *text) {
  FILE *f = fopen(path, "w");
  fputs(text, f);
  fclose(f);
}

int main(void) {
  char dir[] = "/tmp/rlserve-auth-XXXXXX";
  CHECK(mkdtemp(dir) != NULL, "mkdtemp");
  char a[300], b[300], c[300], shortp[300];
  snprintf(a, sizeof a, "%s/a", dir);
  snprintf(b, sizeof b, "%s/b", dir);
  snprintf(c, sizeof c, "%s/c", dir);
  snprintf(shortp, sizeof shortp, "%s/short", dir);
  write_file(a, "correct horse battery staple\n");
  write_file(b, "  correct horse battery staple  \r\n"); /* same token, other whitespace */
  write_file(c, "correct horse battery stapler\n");
  write_file(shortp, "tiny\n");
  uint8_t ka[AUTH_KEY], kb[AUTH_KEY], kc[AUTH_KEY];
  char err[512];
  CHECK(auth_key_from_file(a, ka, err, sizeof err) == 0, "%s", err);
  CHECK(auth_key_from_file(b, kb, err, sizeof err) == 0, "%s", err);
  CHECK(auth_key_from_file(c, kc, err, sizeof err) == 0, "%s", err);
  CHECK(memcmp(ka, kb, AUTH_KEY) == 0, "whitespace changed the key");
  CHECK(memcmp(ka, kc, AUTH_KEY) != 0, "different tokens gave the same key");
  CHECK(auth_key_from_file(shortp, ka, err, sizeof err) < 0 && strstr(err, shortp),
        "short token accepted: %s", err);
  CHECK(auth_key_from_file("/nonexistent/token", ka, err, sizeof err) < 0 &&
            strstr(err, "/nonexistent/token"),
        "missing file: %s", err);
  auth_key_from_file(a, ka, err, sizeof err);

  uint8_t n1[AUTH_NONCE], n2[AUTH_NONCE], mac[AUTH_MAC];
  auth_nonce(n1);
  auth_nonce(n2);
  CHECK(memcmp(n1, n2, AUTH_NONCE) != 0, "two nonces are equal");
  auth_prove(ka, AUTH_WORKER, n1, n2, mac);
  CHECK(auth_verify(kb, AUTH_WORKER, n1, n2, mac, AUTH_MAC) == 1, "right token refused");
  CHECK(auth_verify(kc, AUTH_WORKER, n1, n2, mac, AUTH_MAC) == 0, "wrong token accepted");
  CHECK(auth_verify(ka, AUTH_WORKER, n2, n2, mac, AUTH_MAC) == 0,
        "proof replayed on another nonce_L");
  CHECK(auth_verify(ka, AUTH_WORKER, n1, n1, mac, AUTH_MAC) == 0,
        "proof replayed on another nonce_W");
  CHECK(auth_verify(ka, AUTH_WORKER, n2, n1, mac, AUTH_MAC) == 0, "nonces swapped accepted");
  CHECK(auth_verify(ka, AUTH_LEARNER, n1, n2, mac, AUTH_MAC) == 0,
        "the worker's proof passed as the learner's (reflection)");
  uint8_t lmac[AUTH_MAC];
  auth_prove(ka, AUTH_LEARNER, n1, n2, lmac);
  CHECK(memcmp(lmac, mac, AUTH_MAC) != 0, "learner and worker proofs are equal");
  CHECK(auth_verify(kb, AUTH_LEARNER, n1, n2, lmac, AUTH_MAC) == 1, "learner proof refused");
  CHECK(auth_verify(ka, AUTH_WORKER, n1, n2, mac, AUTH_MAC - 1) == 0, "short proof accepted");
  CHECK(auth_verify(ka, AUTH_WORKER, n1, n2, NULL, 0) == 0, "empty proof accepted");
  /* The key is not the token: nothing of the token text appears in the answer. */
  unlink(a);
  unlink(b);
  unlink(c);
  unlink(shortp);
  rmdir(dir);
  CHECK_DONE();
}
