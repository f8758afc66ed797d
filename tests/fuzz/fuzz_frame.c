/* libFuzzer target: the frame reader fed the input in pieces, then each complete frame
 * handed to its payload decoder. Input: byte 0 picks the piece sizes, the rest is the
 * byte stream. Checks the reader's invariants on every step. */
#include <stdint.h>
#include <stdlib.h>

#include "frame.h"
#include "tbatch.h"
#include "wire.h"

#define LIMIT (1u << 20)

static void decode(const frame_header_t *h, const uint8_t *p) {
  char err[256];
  switch (h->type) {
    case FRAME_HELLO: {
      Rlserve__Hello *m;
      if (!wire_decode_hello(p, h->length, &m, err, sizeof err))
        rlserve__hello__free_unpacked(m, NULL);
      break;
    }
    case FRAME_WELCOME: {
      Rlserve__Welcome *m;
      if (!wire_decode_welcome(p, h->length, &m, err, sizeof err))
        rlserve__welcome__free_unpacked(m, NULL);
      break;
    }
    case FRAME_WEIGHTS: {
      Rlserve__Weights *m;
      if (!wire_decode_weights(p, h->length, 0, &m, err, sizeof err))
        rlserve__weights__free_unpacked(m, NULL);
      break;
    }
    case FRAME_STATS: {
      Rlserve__Stats *m;
      if (!wire_decode_stats(p, h->length, &m, err, sizeof err))
        rlserve__stats__free_unpacked(m, NULL);
      break;
    }
    case FRAME_ERROR: {
      Rlserve__Error *m;
      if (!wire_decode_error(p, h->length, &m, err, sizeof err))
        rlserve__error__free_unpacked(m, NULL);
      break;
    }
    case FRAME_TRANSITIONS: {
      tbatch_limits_t lim = {4, 1, 2, 1024, 1};
      tbatch_t b;
      tbatch_decode(p, h->length, &lim, &b, err, sizeof err);
      break;
    }
    default:
      break;
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  uint32_t state = data[0] * 2654435761u + 1;
  uint32_t maxpiece = (data[0] & 3) == 0   ? 1
                      : (data[0] & 3) == 1 ? 7
                      : (data[0] & 3) == 2 ? 300
                                           : 1u << 16;
  data++;
  size--;
  frame_reader_t r;
  frame_reader_init(&r, LIMIT);
  size_t off = 0;
  int dead = 0;
  while (off < size && !dead) {
    state = state * 1103515245u + 12345u;
    size_t n = 1 + (state >> 8) % maxpiece;
    if (n > size - off) n = size - off;
    if (frame_reader_feed(&r, data + off, n) != FRAME_OK) abort();
    off += n;
    frame_header_t h;
    const uint8_t *p;
    int rc;
    while ((rc = frame_reader_next(&r, &h, &p)) == 1) {
      if (h.length > LIMIT || h.type < FRAME_HELLO || h.type >= FRAME_TYPE_END) abort();
      decode(&h, p);
    }
    if (rc < 0) {
      char msg[256];
      if (frame_reader_explain(&r, msg, sizeof msg) != rc || !msg[0]) abort();
      dead = 1; /* the connection would be closed */
    }
    /* Declared lengths are never allocated up front: the buffer stays within the largest
     * acceptable frame plus one piece, whatever the headers announce. */
    if (r.cap > FRAME_HEADER_SIZE + LIMIT + maxpiece) abort();
  }
  frame_reader_free(&r);
  return 0;
}
