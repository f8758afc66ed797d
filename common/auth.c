/* auth: the token challenge-response of the worker handshake (libsodium). */
#include "auth.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#define AUTH_CONTEXT "rlserve-hello-1"

int auth_key_from_file(const char *path, uint8_t key[AUTH_KEY], char *err, size_t errlen) {
  if (sodium_init() < 0) {
    snprintf(err, errlen, "token: libsodium failed to initialize");
    return -1;
  }
  FILE *f = fopen(path, "rb");
  if (!f) {
    snprintf(err, errlen, "token file %s: %s", path, strerror(errno));
    return -1;
  }
  char buf[4097];
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = 0;
  char *b = buf, *e = buf + n;
  while (b < e && (*b == ' ' || *b == '\t' || *b == '\n' || *b == '\r')) b++;
  while (e > b && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\n' || e[-1] == '\r')) e--;
  if (e - b < 16) {
    snprintf(err, errlen,
             "token file %s: the token has %d characters; use at least 16 (e.g. "
             "head -c 32 /dev/urandom | base64)",
             path, (int)(e - b));
    sodium_memzero(buf, sizeof buf);
    return -1;
  }
  crypto_generichash(key, AUTH_KEY, (const uint8_t *)b, (size_t)(e - b), NULL, 0);
  sodium_memzero(buf, sizeof buf);
  return 0;
}

void auth_nonce(uint8_t nonce[AUTH_NONCE]) {
  if (sodium_init() >= 0) randombytes_buf(nonce, AUTH_NONCE);
}

void auth_answer(const uint8_t key[AUTH_KEY], const uint8_t *nonce, size_t nonce_len,
                 uint8_t mac[AUTH_MAC]) {
  crypto_auth_hmacsha256_state st;
  crypto_auth_hmacsha256_init(&st, key, AUTH_KEY);
  crypto_auth_hmacsha256_update(&st, nonce, nonce_len);
  crypto_auth_hmacsha256_update(&st, (const uint8_t *)AUTH_CONTEXT, sizeof AUTH_CONTEXT - 1);
  crypto_auth_hmacsha256_final(&st, mac);
}

int auth_check(const uint8_t key[AUTH_KEY], const uint8_t *nonce, size_t nonce_len,
               const uint8_t *mac, size_t mac_len) {
  if (mac_len != AUTH_MAC) return 0;
  uint8_t want[AUTH_MAC];
  auth_answer(key, nonce, nonce_len, want);
  return sodium_memcmp(want, mac, AUTH_MAC) == 0;
}
