/* Checks seal: a sealed frame opens on the peer's side only (round trip both ways, in place);
 * another token or other nonces, a flipped bit in the payload, tag or header, a replayed, a
 * reordered or a dropped frame, and a truncated one each fail with their code and leave the
 * receiver's counter where it was; the counter's end is refused rather than reused. */
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "check.h"
#include "frame.h"
#include "seal.h"

static uint8_t k1[32], k2[32], nl[32], nw[32], other[32];

/* A plain frame of type t with n payload bytes i*3+seed. */
static size_t plain_frame(uint8_t *buf, uint16_t t, size_t n, int seed) {
  frame_header_encode(buf, t, (uint32_t)n);
  for (size_t i = 0; i < n; i++) buf[FRAME_HEADER_SIZE + i] = (uint8_t)(i * 3 + (size_t)seed);
  return FRAME_HEADER_SIZE + n;
}

/* Decodes the sealed frame's header and opens it with rx: the seal code. */
static int open_copy(seal_dir_t *rx, const uint8_t *sealed, size_t len, uint8_t *out,
                     size_t *plain) {
  frame_header_t h;
  int rc = frame_header_decode(sealed, 0, &h);
  if (rc != FRAME_OK) return 100 + rc; /* magic or version altered: the header check refuses */
  if (h.length > len - FRAME_HEADER_SIZE) return 200; /* longer: the reader waits, then closes */
  memcpy(out, sealed + FRAME_HEADER_SIZE, h.length);
  return seal_open(rx, &h, out, plain);
}

int main(void) {
  for (int i = 0; i < 32; i++) {
    k1[i] = (uint8_t)i;
    k2[i] = (uint8_t)(i + 1);
    other[i] = (uint8_t)(200 - i);
  }
  auth_nonce(nl);
  auth_nonce(nw);
  seal_t L, W, bad;
  seal_init(&L, k1, nl, nw, SEAL_AS_LEARNER);
  seal_init(&W, k1, nl, nw, SEAL_AS_WORKER);
  CHECK(memcmp(L.tx.key, W.rx.key, 32) == 0 && memcmp(L.rx.key, W.tx.key, 32) == 0,
        "the two sides derived different keys");
  CHECK(memcmp(L.tx.key, L.rx.key, 32) != 0, "both directions share a key");

  static uint8_t f[5000], s[5000 + SEAL_TAG], o[5000 + SEAL_TAG];
  size_t plain;
  /* Round trip both ways, several frames in order, empty payload included. */
  for (int i = 0; i < 4; i++) {
    size_t n = plain_frame(f, FRAME_TRANSITIONS, (size_t)(i * 1000), i);
    CHECK(seal_frame(&W.tx, f, n, s) == SEAL_OK, "seal %d", i);
    CHECK(
        memcmp(s + FRAME_HEADER_SIZE, f + FRAME_HEADER_SIZE, n - FRAME_HEADER_SIZE) != 0 || n == 12,
        "frame %d travels in the clear", i);
    int rc = open_copy(&L.rx, s, n + SEAL_TAG, o, &plain);
    CHECK(rc == SEAL_OK, "open %d: %d %s", i, rc, seal_strerror(rc));
    CHECK(plain == n - FRAME_HEADER_SIZE && !memcmp(o, f + FRAME_HEADER_SIZE, plain),
          "frame %d: %zu plain bytes differ from the %zu sent", i, plain, n - FRAME_HEADER_SIZE);
    n = plain_frame(f, FRAME_WEIGHTS, 777, i);
    CHECK(seal_frame(&L.tx, f, n, s) == SEAL_OK, "seal back %d", i);
    rc = open_copy(&W.rx, s, n + SEAL_TAG, o, &plain);
    CHECK(rc == SEAL_OK && plain == 777 && !memcmp(o, f + FRAME_HEADER_SIZE, 777),
          "learner -> worker %d: %d", i, rc);
  }
  CHECK(L.rx.counter == 4 && W.rx.counter == 4, "counters %llu %llu, want 4",
        (unsigned long long)L.rx.counter, (unsigned long long)W.rx.counter);

  /* A side's own frames do not open with its own receive key (reflection). */
  size_t n = plain_frame(f, FRAME_STATS, 100, 9);
  seal_t L2 = L;
  seal_frame(&L2.tx, f, n, s);
  CHECK(open_copy(&L2.rx, s, n + SEAL_TAG, o, &plain) == SEAL_EFORGED, "reflected frame opened");

  /* Wrong key: another token, or the same token with other nonces. */
  seal_t Wk = W;
  seal_frame(&Wk.tx, f, n, s);
  seal_init(&bad, k2, nl, nw, SEAL_AS_LEARNER);
  bad.rx.counter = L.rx.counter;
  CHECK(open_copy(&bad.rx, s, n + SEAL_TAG, o, &plain) == SEAL_EFORGED, "another token opened");
  seal_init(&bad, k1, other, nw, SEAL_AS_LEARNER);
  bad.rx.counter = L.rx.counter;
  CHECK(open_copy(&bad.rx, s, n + SEAL_TAG, o, &plain) == SEAL_EFORGED, "other nonce_L opened");
  seal_init(&bad, k1, nl, other, SEAL_AS_LEARNER);
  bad.rx.counter = L.rx.counter;
  CHECK(open_copy(&bad.rx, s, n + SEAL_TAG, o, &plain) == SEAL_EFORGED, "other nonce_W opened");

  /* Flipped bits: every byte of payload, tag and header (the header is associated data). */
  int opened = 0, refused_header = 0;
  for (size_t i = 0; i < n + SEAL_TAG; i++) {
    seal_t Wf = W, Lf = L;
    seal_frame(&Wf.tx, f, n, s);
    s[i] ^= (uint8_t)(1u << (i % 8));
    int rc = open_copy(&Lf.rx, s, n + SEAL_TAG, o, &plain);
    if (rc == SEAL_OK) opened++;
    if (i < FRAME_HEADER_SIZE && rc != SEAL_OK) refused_header++;
    CHECK(Lf.rx.counter == L.rx.counter, "a failed open moved the counter (byte %zu)", i);
  }
  CHECK(opened == 0, "%d altered frames opened", opened);
  CHECK(refused_header == FRAME_HEADER_SIZE, "%d of 12 altered headers refused", refused_header);
  /* The length is authenticated: the frame cut one byte short does not open. */
  {
    seal_t Wt = W, Lt = L;
    seal_frame(&Wt.tx, f, n, s);
    frame_header_encode(s, FRAME_STATS, (uint32_t)(n - FRAME_HEADER_SIZE + SEAL_TAG - 1));
    CHECK(open_copy(&Lt.rx, s, n + SEAL_TAG - 1, o, &plain) == SEAL_EFORGED, "cut frame opened");
  }
  /* The type is authenticated: the same bytes relabelled as another type do not open. */
  {
    seal_t Wt = W, Lt = L;
    seal_frame(&Wt.tx, f, n, s);
    s[8] = FRAME_TRANSITIONS;
    CHECK(open_copy(&Lt.rx, s, n + SEAL_TAG, o, &plain) == SEAL_EFORGED, "retyped frame opened");
  }

  /* Replay: the same sealed frame twice; the second fails and the next real one still opens. */
  {
    seal_t Wr = W, Lr = L;
    static uint8_t a[200], b[200];
    seal_frame(&Wr.tx, f, n, a);
    CHECK(open_copy(&Lr.rx, a, n + SEAL_TAG, o, &plain) == SEAL_OK, "first copy refused");
    CHECK(open_copy(&Lr.rx, a, n + SEAL_TAG, o, &plain) == SEAL_EFORGED, "replayed frame opened");
    seal_frame(&Wr.tx, f, n, b);
    CHECK(open_copy(&Lr.rx, b, n + SEAL_TAG, o, &plain) == SEAL_OK, "next frame refused");
  }
  /* Reordered and dropped: frames 1 then 0; frame 1 alone. */
  {
    seal_t Wo = W, Lo = L;
    static uint8_t a[200], b[200];
    seal_frame(&Wo.tx, f, n, a);
    seal_frame(&Wo.tx, f, n, b);
    CHECK(open_copy(&Lo.rx, b, n + SEAL_TAG, o, &plain) == SEAL_EFORGED,
          "frame 1 opened before frame 0 (reordered or dropped)");
    CHECK(open_copy(&Lo.rx, a, n + SEAL_TAG, o, &plain) == SEAL_OK, "frame 0 refused");
    CHECK(open_copy(&Lo.rx, b, n + SEAL_TAG, o, &plain) == SEAL_OK, "frame 1 refused in order");
  }
  /* Truncated: shorter than the tag; a plain frame passed off as sealed. */
  {
    frame_header_t h = {
        .length = SEAL_TAG - 1, .type = FRAME_HEARTBEAT, .version = FRAME_PROTOCOL_VERSION};
    CHECK(seal_open(&L.rx, &h, o, &plain) == SEAL_ESHORT, "short frame not refused as short");
    seal_t Lp = L;
    CHECK(open_copy(&Lp.rx, f, n, o, &plain) == SEAL_EFORGED, "a plain frame opened");
    CHECK(seal_frame(&L.tx, f, 5, s) == SEAL_EFRAME, "a 5-byte frame sealed");
  }
  /* The counter's end: the last nonce is used once, then the direction refuses. */
  {
    seal_t We = W, Le = L;
    We.tx.counter = Le.rx.counter = UINT64_MAX;
    CHECK(seal_frame(&We.tx, f, n, s) == SEAL_OK, "last counter refused");
    CHECK(open_copy(&Le.rx, s, n + SEAL_TAG, o, &plain) == SEAL_OK, "last counter not opened");
    CHECK(seal_frame(&We.tx, f, n, s) == SEAL_ESPENT, "counter wrapped to 0 and was reused");
    CHECK(open_copy(&Le.rx, s, n + SEAL_TAG, o, &plain) == SEAL_ESPENT, "opened past the end");
  }
  /* The allocating form and the size limit. */
  {
    size_t out_len;
    int rc;
    uint8_t *m = seal_frame_alloc(&W.tx, f, n, &out_len, &rc);
    CHECK(m && rc == SEAL_OK && out_len == n + SEAL_TAG, "seal_frame_alloc rc %d", rc);
    CHECK(open_copy(&L.rx, m, out_len, o, &plain) == SEAL_OK, "allocated frame refused");
    free(m);
    uint8_t hdr[FRAME_HEADER_SIZE];
    frame_header_encode(hdr, FRAME_WEIGHTS, FRAME_MAX_PAYLOAD);
    CHECK(seal_frame(&W.tx, hdr, FRAME_HEADER_SIZE + FRAME_MAX_PAYLOAD, s) == SEAL_ETOOBIG,
          "a frame of FRAME_MAX_PAYLOAD was sealed past the cap");
  }
  for (int e = SEAL_EFRAME; e <= SEAL_OK; e++)
    for (int g = e + 1; g <= SEAL_OK; g++)
      CHECK(strcmp(seal_strerror(e), seal_strerror(g)) != 0, "codes %d and %d same text", e, g);
  seal_wipe(&L);
  CHECK(L.tx.counter == 0 && L.tx.key[0] == 0, "seal_wipe left state");
  CHECK_DONE();
}
