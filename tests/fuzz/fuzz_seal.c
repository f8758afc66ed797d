/* libFuzzer target: the seal opener on a hostile stream. Input: byte 0 picks how many frames of
 * the stream are genuine (sealed here with the sender's key, in order) before the rest, which
 * is fed as it is; the reader reassembles frames (limit 1 MiB) and each is opened in place with
 * the receiver's key. Checks: a genuine frame opens to its plain bytes; nothing after the first
 * failure is accepted as long as the attacker does not know the key (every open of a fuzzed
 * frame must fail unless it is a byte-exact copy of the next genuine frame, which the input
 * cannot be: the stream's genuine prefix used those counters); a failed open never moves the
 * counter. Also seals the input as one payload and opens it back. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "frame.h"
#include "seal.h"

#define LIMIT (1u << 20)

static const uint8_t key[32] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
static const uint8_t nl[32] = {42}, nw[32] = {7, 7};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  seal_t w, l;
  seal_init(&w, key, nl, nw, SEAL_AS_WORKER);
  seal_init(&l, key, nl, nw, SEAL_AS_LEARNER);
  int genuine = data[0] % 4;
  data++;
  size--;
  frame_reader_t r;
  frame_reader_init(&r, LIMIT);
  /* Genuine frames: heartbeat-sized and a piece of the input, sealed in order. */
  for (int i = 0; i < genuine; i++) {
    size_t n = size < 64 ? size : 64;
    uint8_t *f = malloc(FRAME_HEADER_SIZE + n), *s = malloc(FRAME_HEADER_SIZE + n + SEAL_TAG);
    frame_header_encode(f, FRAME_STATS, (uint32_t)n);
    if (n) memcpy(f + FRAME_HEADER_SIZE, data, n);
    if (seal_frame(&w.tx, f, FRAME_HEADER_SIZE + n, s) != SEAL_OK) abort();
    frame_reader_feed(&r, s, FRAME_HEADER_SIZE + n + SEAL_TAG);
    frame_header_t h;
    const uint8_t *p;
    if (frame_reader_next(&r, &h, &p) != 1) abort();
    size_t plain;
    if (seal_open(&l.rx, &h, (uint8_t *)(uintptr_t)p, &plain) != SEAL_OK || plain != n ||
        (n && memcmp(p, data, n) != 0))
      abort();
    free(f);
    free(s);
  }
  /* The rest: whatever the input holds, fed in one piece. */
  frame_reader_feed(&r, data, size);
  frame_header_t h;
  const uint8_t *p;
  while (frame_reader_next(&r, &h, &p) == 1) {
    uint64_t before = l.rx.counter;
    size_t plain;
    if (seal_open(&l.rx, &h, (uint8_t *)(uintptr_t)p, &plain) == SEAL_OK) abort(); /* forged */
    if (l.rx.counter != before) abort();
  }
  frame_reader_free(&r);
  /* Round trip of the input as one payload. */
  if (size <= LIMIT) {
    uint8_t *f = malloc(FRAME_HEADER_SIZE + size), *s = malloc(FRAME_HEADER_SIZE + size + SEAL_TAG);
    frame_header_encode(f, FRAME_TRANSITIONS, (uint32_t)size);
    if (size) memcpy(f + FRAME_HEADER_SIZE, data, size);
    if (seal_frame(&l.tx, f, FRAME_HEADER_SIZE + size, s) != SEAL_OK) abort();
    frame_header_t sh;
    if (frame_header_decode(s, 0, &sh) != FRAME_OK || sh.length != size + SEAL_TAG) abort();
    size_t plain;
    if (seal_open(&w.rx, &sh, s + FRAME_HEADER_SIZE, &plain) != SEAL_OK || plain != size ||
        (size && memcmp(s + FRAME_HEADER_SIZE, data, size) != 0))
      abort();
    free(f);
    free(s);
  }
  return 0;
}
