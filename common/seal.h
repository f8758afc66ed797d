/* seal: the AEAD over every frame after the token handshake (libsodium ChaCha20-Poly1305-IETF),
 * pure functions over bytes (no sockets), so it is unit-tested and fuzzed alone.
 *
 * Keys: prk = BLAKE2b-256(key = k, "rlserve-seal-2" || nonce_L || nonce_W) (k, nonces: auth.h);
 * the learner->worker and worker->learner keys are crypto_kdf subkeys 1 and 2 of prk
 * (context "rlsvseal"). Each direction has its own key and a 64-bit counter, starting at 0 and
 * used once per frame as the AEAD nonce (8 bytes little-endian, then 4 zero bytes); it is never
 * sent. The 12-byte frame header stays readable (the receiver checks the length against its limit
 * before buffering) and is the associated data, so type and length are authenticated too: a
 * sealed frame's length is the plain payload + SEAL_TAG. A replayed, reordered, dropped, altered
 * or foreign frame fails to open (the receiver's counter expects the next one) and the
 * connection must close. Any thread; a seal_t belongs to one connection. */
#ifndef RLSERVE_SEAL_H
#define RLSERVE_SEAL_H

#include <stddef.h>
#include <stdint.h>

#include "frame.h"

#define SEAL_TAG 16 /* crypto_aead_chacha20poly1305_ietf_ABYTES */
#define SEAL_KEY 32

enum {
  SEAL_OK = 0,
  SEAL_EFORGED = -1, /* does not verify: altered, replayed, reordered or another key */
  SEAL_ESHORT = -2,  /* payload shorter than the tag */
  SEAL_ESPENT = -3,  /* the direction's counter is used up (2^64 frames) */
  SEAL_ETOOBIG = -4, /* the sealed payload would exceed FRAME_MAX_PAYLOAD */
  SEAL_EFRAME = -5,  /* the input to seal_frame is not a whole frame */
};

typedef struct seal_dir {
  uint8_t key[SEAL_KEY];
  uint64_t counter; /* the next frame's nonce */
  int spent;        /* counter wrapped: no more frames this direction */
} seal_dir_t;

typedef struct seal {
  seal_dir_t tx, rx;
} seal_t;

typedef enum { SEAL_AS_WORKER = 0, SEAL_AS_LEARNER = 1 } seal_role_t;

const char *seal_strerror(int err);
/* Derives both directions' keys for one side of the connection (counters at 0). */
void seal_init(seal_t *s, const uint8_t key[32], const uint8_t nonce_l[32],
               const uint8_t nonce_w[32], seal_role_t role);
void seal_wipe(seal_t *s);
/* Seals a whole plain frame (header + payload, len bytes) into out, which holds len + SEAL_TAG
 * bytes (out may not overlap frame). Uses and advances tx's counter. */
int seal_frame(seal_dir_t *tx, const uint8_t *frame, size_t len, uint8_t *out);
/* The same into a new malloc'd buffer (*out_len = len + SEAL_TAG); NULL with *rc set on failure. */
uint8_t *seal_frame_alloc(seal_dir_t *tx, const uint8_t *frame, size_t len, size_t *out_len,
                          int *rc);
/* Opens, in place, the payload p (h->length bytes) of the sealed frame whose decoded header is h:
 * on SEAL_OK *plain_len = h->length - SEAL_TAG plain bytes at p and rx's counter advances; on
 * failure the counter stays and the connection must close. */
int seal_open(seal_dir_t *rx, const frame_header_t *h, uint8_t *p, size_t *plain_len);

#endif
