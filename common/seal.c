/* seal: per-direction AEAD of frames after the handshake. See seal.h and proto/README.md. */
#include "seal.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#define SEAL_CONTEXT "rlserve-seal-2"
#define SEAL_KDF_CONTEXT "rlsvseal" /* crypto_kdf_CONTEXTBYTES = 8 */
#define SEAL_SUBKEY_L2W 1
#define SEAL_SUBKEY_W2L 2

_Static_assert(SEAL_TAG == crypto_aead_chacha20poly1305_ietf_ABYTES, "tag size");
_Static_assert(SEAL_KEY == crypto_aead_chacha20poly1305_ietf_KEYBYTES, "key size");

const char *seal_strerror(int err) {
  switch (err) {
    case SEAL_OK:
      return "ok";
    case SEAL_EFORGED:
      return "sealed frame does not verify (altered, replayed, reordered or another key)";
    case SEAL_ESHORT:
      return "sealed frame shorter than its tag";
    case SEAL_ESPENT:
      return "frame counter used up";
    case SEAL_ETOOBIG:
      return "sealed frame over the size limit";
    case SEAL_EFRAME:
      return "not a whole frame";
    default:
      return "unknown seal error";
  }
}

void seal_init(seal_t *s, const uint8_t key[32], const uint8_t nonce_l[32],
               const uint8_t nonce_w[32], seal_role_t role) {
  memset(s, 0, sizeof *s);
  if (sodium_init() < 0) abort(); /* cannot happen after auth_key_from_file succeeded */
  uint8_t prk[crypto_kdf_KEYBYTES];
  crypto_generichash_state st;
  crypto_generichash_init(&st, key, 32, sizeof prk);
  crypto_generichash_update(&st, (const uint8_t *)SEAL_CONTEXT, sizeof SEAL_CONTEXT - 1);
  crypto_generichash_update(&st, nonce_l, 32);
  crypto_generichash_update(&st, nonce_w, 32);
  crypto_generichash_final(&st, prk, sizeof prk);
  uint8_t *l2w = role == SEAL_AS_LEARNER ? s->tx.key : s->rx.key;
  uint8_t *w2l = role == SEAL_AS_LEARNER ? s->rx.key : s->tx.key;
  crypto_kdf_derive_from_key(l2w, SEAL_KEY, SEAL_SUBKEY_L2W, SEAL_KDF_CONTEXT, prk);
  crypto_kdf_derive_from_key(w2l, SEAL_KEY, SEAL_SUBKEY_W2L, SEAL_KDF_CONTEXT, prk);
  sodium_memzero(prk, sizeof prk);
  sodium_memzero(&st, sizeof st);
}

void seal_wipe(seal_t *s) { sodium_memzero(s, sizeof *s); }

static void nonce_of(uint64_t counter, uint8_t n[crypto_aead_chacha20poly1305_ietf_NPUBBYTES]) {
  memset(n, 0, crypto_aead_chacha20poly1305_ietf_NPUBBYTES);
  for (int i = 0; i < 8; i++) n[i] = (uint8_t)(counter >> (8 * i));
}

int seal_frame(seal_dir_t *tx, const uint8_t *frame, size_t len, uint8_t *out) {
  if (len < FRAME_HEADER_SIZE) return SEAL_EFRAME;
  size_t plain = len - FRAME_HEADER_SIZE;
  if (plain > FRAME_MAX_PAYLOAD - SEAL_TAG) return SEAL_ETOOBIG;
  if (tx->spent) return SEAL_ESPENT;
  uint16_t type = (uint16_t)(frame[8] | frame[9] << 8);
  frame_header_encode(out, type, (uint32_t)(plain + SEAL_TAG));
  uint8_t n[crypto_aead_chacha20poly1305_ietf_NPUBBYTES];
  nonce_of(tx->counter, n);
  crypto_aead_chacha20poly1305_ietf_encrypt(out + FRAME_HEADER_SIZE, NULL,
                                            frame + FRAME_HEADER_SIZE, plain, out,
                                            FRAME_HEADER_SIZE, NULL, n, tx->key);
  if (++tx->counter == 0) tx->spent = 1;
  return SEAL_OK;
}

uint8_t *seal_frame_alloc(seal_dir_t *tx, const uint8_t *frame, size_t len, size_t *out_len,
                          int *rc) {
  uint8_t *out = len <= SIZE_MAX - SEAL_TAG ? malloc(len + SEAL_TAG) : NULL;
  if (!out) {
    *rc = SEAL_ETOOBIG;
    return NULL;
  }
  *rc = seal_frame(tx, frame, len, out);
  if (*rc != SEAL_OK) {
    free(out);
    return NULL;
  }
  *out_len = len + SEAL_TAG;
  return out;
}

int seal_open(seal_dir_t *rx, const frame_header_t *h, uint8_t *p, size_t *plain_len) {
  if (h->length < SEAL_TAG) return SEAL_ESHORT;
  if (rx->spent) return SEAL_ESPENT;
  uint8_t ad[FRAME_HEADER_SIZE];
  frame_header_encode(ad, h->type, h->length); /* the bytes frame_header_decode accepted */
  ad[10] = (uint8_t)h->version;
  ad[11] = (uint8_t)(h->version >> 8);
  uint8_t n[crypto_aead_chacha20poly1305_ietf_NPUBBYTES];
  nonce_of(rx->counter, n);
  unsigned long long mlen;
  if (crypto_aead_chacha20poly1305_ietf_decrypt(p, &mlen, NULL, p, h->length, ad, sizeof ad, n,
                                                rx->key) != 0)
    return SEAL_EFORGED;
  if (++rx->counter == 0) rx->spent = 1;
  *plain_len = (size_t)mlen;
  return SEAL_OK;
}
