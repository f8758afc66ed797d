/* auth: the mutual token proofs of the worker handshake (libsodium). See auth.h. */
#include "auth.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

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

static const char *const auth_context[] = {"rlserve-worker-2", "rlserve-learner-2"};

void auth_prove(const uint8_t key[AUTH_KEY], auth_role_t role, const uint8_t nonce_l[AUTH_NONCE],
                const uint8_t nonce_w[AUTH_NONCE], uint8_t mac[AUTH_MAC]) {
  const char *ctx = auth_context[role == AUTH_LEARNER];
  crypto_auth_hmacsha256_state st;
  crypto_auth_hmacsha256_init(&st, key, AUTH_KEY);
  crypto_auth_hmacsha256_update(&st, (const uint8_t *)ctx, strlen(ctx));
  crypto_auth_hmacsha256_update(&st, nonce_l, AUTH_NONCE);
  crypto_auth_hmacsha256_update(&st, nonce_w, AUTH_NONCE);
  crypto_auth_hmacsha256_final(&st, mac);
  sodium_memzero(&st, sizeof st);
}

int auth_verify(const uint8_t key[AUTH_KEY], auth_role_t role, const uint8_t nonce_l[AUTH_NONCE],
                const uint8_t nonce_w[AUTH_NONCE], const uint8_t *mac, size_t mac_len) {
  if (!mac || mac_len != AUTH_MAC) return 0;
  uint8_t want[AUTH_MAC];
  auth_prove(key, role, nonce_l, nonce_w, want);
  return sodium_memcmp(want, mac, AUTH_MAC) == 0;
}
