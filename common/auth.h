/* auth: mutual token authentication of a worker connection, with libsodium. The key k is
 * BLAKE2b-256 of the token text (surrounding whitespace removed). The learner sends a fresh
 * nonce_L (Challenge), the worker answers with its own fresh nonce_W and a proof over both, and
 * the learner proves itself over both with another context string:
 *   worker proof  = HMAC-SHA-256(k, "rlserve-worker-2"  || nonce_L || nonce_W)
 *   learner proof = HMAC-SHA-256(k, "rlserve-learner-2" || nonce_L || nonce_W)
 * The token never crosses the wire, a proof cannot be replayed on another connection (either
 * side's nonce is fresh) and one side's proof is never valid as the other's. Any thread. */
#ifndef RLSERVE_AUTH_H
#define RLSERVE_AUTH_H

#include <stddef.h>
#include <stdint.h>

#define AUTH_KEY 32
#define AUTH_NONCE 32
#define AUTH_MAC 32

typedef enum { AUTH_WORKER = 0, AUTH_LEARNER = 1 } auth_role_t;

/* Reads a token file into a key: 0, or -1 naming the problem (missing, empty, too short). */
int auth_key_from_file(const char *path, uint8_t key[AUTH_KEY], char *err, size_t errlen);
void auth_nonce(uint8_t nonce[AUTH_NONCE]);
/* The proof `role` gives on the connection with these nonces. */
void auth_prove(const uint8_t key[AUTH_KEY], auth_role_t role, const uint8_t nonce_l[AUTH_NONCE],
                const uint8_t nonce_w[AUTH_NONCE], uint8_t mac[AUTH_MAC]);
/* 1 when mac is role's proof for these nonces under key (constant time), else 0. */
int auth_verify(const uint8_t key[AUTH_KEY], auth_role_t role, const uint8_t nonce_l[AUTH_NONCE],
                const uint8_t nonce_w[AUTH_NONCE], const uint8_t *mac, size_t mac_len);

#endif
