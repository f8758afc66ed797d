/* auth: token authentication of workers, with libsodium. The key is BLAKE2b-256 of the token
 * text (surrounding whitespace removed); the learner sends each connection a fresh random nonce
 * (Challenge frame) and the worker answers HMAC-SHA-256(key, nonce || "rlserve-hello-1") in its
 * Hello. The token never crosses the wire and an answer cannot be replayed on another
 * connection. Any thread. */
#ifndef RLSERVE_AUTH_H
#define RLSERVE_AUTH_H

#include <stddef.h>
#include <stdint.h>

#define AUTH_KEY 32
#define AUTH_NONCE 32
#define AUTH_MAC 32

/* Reads a token file into a key: 0, or -1 naming the problem (missing, empty, too short). */
int auth_key_from_file(const char *path, uint8_t key[AUTH_KEY], char *err, size_t errlen);
void auth_nonce(uint8_t nonce[AUTH_NONCE]);
void auth_answer(const uint8_t key[AUTH_KEY], const uint8_t *nonce, size_t nonce_len,
                 uint8_t mac[AUTH_MAC]);
/* 1 when mac answers nonce under key (constant time), else 0. */
int auth_check(const uint8_t key[AUTH_KEY], const uint8_t *nonce, size_t nonce_len,
               const uint8_t *mac, size_t mac_len);

#endif
