/* Checks frame: header round trip and every header error, the reader fed byte by byte, in
 * random chunks and whole, its allocation bound, truncation, and bad streams. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "frame.h"
#include "rng.h"

typedef struct {
  uint16_t type;
  uint32_t len;
  uint8_t *payload;
} tframe_t;

/* Appends one frame to a growing stream. */
static void put_frame(uint8_t **s, size_t *n, const tframe_t *f) {
  *s = realloc(*s, *n + FRAME_HEADER_SIZE + f->len);
  frame_header_encode(*s + *n, f->type, f->len);
  if (f->len) memcpy(*s + *n + FRAME_HEADER_SIZE, f->payload, f->len);
  *n += FRAME_HEADER_SIZE + f->len;
}

static void test_header(void) {
  uint8_t h[FRAME_HEADER_SIZE];
  for (int t = FRAME_HELLO; t < FRAME_TYPE_END; t++) {
    frame_header_encode(h, (uint16_t)t, 1234u * (uint32_t)t);
    frame_header_t d;
    int rc = frame_header_decode(h, 0, &d);
    CHECK(rc == FRAME_OK, "type %d: rc %d (%s)", t, rc, frame_strerror(rc));
    CHECK(d.type == t && d.length == 1234u * (uint32_t)t && d.version == FRAME_PROTOCOL_VERSION,
          "type %d decoded as type %u length %u version %u", t, d.type, d.length, d.version);
    CHECK(strcmp(frame_type_name(t), "UNKNOWN") != 0, "type %d has no name", t);
  }
  CHECK(!memcmp(h, "RLSV", 4), "magic bytes on the wire are not \"RLSV\"");
  CHECK(!strcmp(frame_type_name(FRAME_TRANSITIONS), "TRANSITIONS"), "name %s",
        frame_type_name(FRAME_TRANSITIONS));
  CHECK(!strcmp(frame_type_name(0), "UNKNOWN") && !strcmp(frame_type_name(99), "UNKNOWN"),
        "unknown types must be named UNKNOWN");
  for (int e = FRAME_ENOMEM; e <= FRAME_OK; e++)
    for (int f = e + 1; f <= FRAME_OK; f++)
      CHECK(strcmp(frame_strerror(e), frame_strerror(f)) != 0, "errors %d and %d same text", e, f);

  frame_header_t d;
  char msg[256], want[64];
  /* Bad magic; an HTTP request on the data port is named as such. */
  memcpy(h, "GET / HTTP/1.1", FRAME_HEADER_SIZE);
  CHECK(frame_header_decode(h, 0, &d) == FRAME_EMAGIC, "HTTP accepted");
  CHECK(frame_header_explain(h, 0, msg, sizeof msg) == FRAME_EMAGIC, "explain rc");
  CHECK(strstr(msg, "bad magic") && strstr(msg, "HTTP"), "message: %s", msg);
  /* Other version. */
  frame_header_encode(h, FRAME_HELLO, 10);
  h[10] = FRAME_PROTOCOL_VERSION + 1;
  CHECK(frame_header_decode(h, 0, &d) == FRAME_EVERSION, "version %d accepted",
        FRAME_PROTOCOL_VERSION + 1);
  frame_header_explain(h, 0, msg, sizeof msg);
  snprintf(want, sizeof want, "protocol version %d", FRAME_PROTOCOL_VERSION + 1);
  CHECK(strstr(msg, want), "message: %s", msg);
  h[10] = 1; /* the version before mutual authentication */
  CHECK(frame_header_decode(h, 0, &d) == FRAME_EVERSION, "version 1 accepted");
  /* Unknown types, both ends of the range. */
  frame_header_encode(h, 0, 10);
  CHECK(frame_header_decode(h, 0, &d) == FRAME_ETYPE, "type 0 accepted");
  frame_header_encode(h, FRAME_TYPE_END, 10);
  CHECK(frame_header_decode(h, 0, &d) == FRAME_ETYPE, "type %d accepted", FRAME_TYPE_END);
  frame_header_explain(h, 0, msg, sizeof msg);
  snprintf(want, sizeof want, "unknown frame type %d", FRAME_TYPE_END);
  CHECK(strstr(msg, want), "message: %s", msg);
  /* Length: the reader's limit, then the hard cap whatever the limit says. */
  frame_header_encode(h, FRAME_WEIGHTS, 1001);
  CHECK(frame_header_decode(h, 1000, &d) == FRAME_ETOOBIG, "1001 > 1000 accepted");
  CHECK(frame_header_decode(h, 1001, &d) == FRAME_OK, "1001 <= 1001 rejected");
  frame_header_encode(h, FRAME_WEIGHTS, FRAME_MAX_PAYLOAD + 1);
  CHECK(frame_header_decode(h, UINT32_MAX, &d) == FRAME_ETOOBIG, "over the hard cap accepted");
  frame_header_encode(h, FRAME_TRANSITIONS, 2147483648u);
  frame_header_explain(h, 0, msg, sizeof msg);
  CHECK(strstr(msg, "length 2147483648 exceeds limit 67108864"), "message: %s", msg);
}

/* Reads every complete frame out of r into got[], advancing *ngot. */
static int drain(frame_reader_t *r, tframe_t *want, int nwant, int *ngot) {
  frame_header_t h;
  const uint8_t *p;
  int rc;
  while ((rc = frame_reader_next(r, &h, &p)) == 1) {
    if (*ngot >= nwant) {
      CHECK(0, "more frames than were sent");
      return -1;
    }
    const tframe_t *w = &want[*ngot];
    CHECK(h.type == w->type && h.length == w->len, "frame %d: type %u len %u, want %u %u", *ngot,
          h.type, h.length, w->type, w->len);
    CHECK(h.length != w->len || !w->len || !memcmp(p, w->payload, w->len),
          "frame %d: payload differs", *ngot);
    (*ngot)++;
  }
  return rc;
}

static void test_reader_streams(void) {
  rng_t rng;
  rng_seed(&rng, 7);
  enum { NF = 40 };
  tframe_t fr[NF];
  uint8_t *stream = NULL;
  size_t slen = 0;
  for (int i = 0; i < NF; i++) {
    fr[i].type = (uint16_t)(FRAME_HELLO + rng_below(&rng, FRAME_TYPE_END - FRAME_HELLO));
    fr[i].len = (i % 7 == 0) ? 0 : i == 13 ? 300000 : (uint32_t)rng_below(&rng, 3000);
    fr[i].payload = malloc(fr[i].len + 1);
    for (uint32_t j = 0; j < fr[i].len; j++) fr[i].payload[j] = (uint8_t)rng_u64(&rng);
    put_frame(&stream, &slen, &fr[i]);
  }

  /* Byte by byte; the buffer never holds more than the frame in progress needs. */
  frame_reader_t r;
  frame_reader_init(&r, 1 << 20);
  int got = 0, bound_ok = 1;
  size_t prev_cap = 0;
  for (size_t i = 0; i < slen; i++) {
    CHECK(frame_reader_feed(&r, stream + i, 1) == FRAME_OK, "feed failed");
    int rc = drain(&r, fr, NF, &got);
    CHECK(rc == 0, "byte %zu: next returned %d", i, rc);
    /* When the buffer grows, it grows to at most header + length of the frame in progress
     * (fr[got]) or the bytes it holds. */
    size_t limit = got < NF ? FRAME_HEADER_SIZE + fr[got].len : FRAME_HEADER_SIZE;
    if (r.cap > prev_cap && r.cap > limit && r.cap > frame_reader_pending(&r)) bound_ok = 0;
    prev_cap = r.cap;
  }
  CHECK(got == NF, "byte by byte: %d of %d frames", got, NF);
  CHECK(bound_ok, "reader allocated beyond header + declared length");
  CHECK(frame_reader_pending(&r) == 0, "%zu bytes left", frame_reader_pending(&r));
  frame_reader_free(&r);

  /* Random chunks, several frames per chunk, for a few seeds. */
  for (int seed = 0; seed < 20; seed++) {
    frame_reader_init(&r, 1 << 20);
    got = 0;
    size_t off = 0;
    while (off < slen) {
      size_t c = 1 + rng_below(&rng, seed % 2 ? 50 : 20000);
      if (c > slen - off) c = slen - off;
      CHECK(frame_reader_feed(&r, stream + off, c) == FRAME_OK, "feed failed");
      off += c;
      int rc = drain(&r, fr, NF, &got);
      CHECK(rc == 0, "chunked: next returned %d", rc);
    }
    CHECK(got == NF, "chunked seed %d: %d of %d frames", seed, got, NF);
    frame_reader_free(&r);
  }

  /* Everything at once. */
  frame_reader_init(&r, 0);
  got = 0;
  frame_reader_feed(&r, stream, slen);
  CHECK(drain(&r, fr, NF, &got) == 0 && got == NF, "whole stream: %d of %d", got, NF);
  frame_reader_free(&r);

  /* The reader releases a big buffer once it is drained. */
  frame_reader_init(&r, 0);
  got = 0;
  size_t big_end = 0;
  for (int i = 0; i <= 13; i++) big_end += FRAME_HEADER_SIZE + fr[i].len;
  frame_reader_feed(&r, stream, big_end);
  drain(&r, fr, NF, &got);
  CHECK(got == 14, "got %d", got);
  frame_reader_feed(&r, stream + big_end, 1);
  CHECK(r.cap < 4096, "reader kept %zu bytes after draining a 300 kB frame", r.cap);
  frame_reader_free(&r);

  for (int i = 0; i < NF; i++) free(fr[i].payload);
  free(stream);
}

static void test_reader_errors(void) {
  frame_reader_t r;
  frame_header_t h;
  const uint8_t *p;
  uint8_t buf[64];
  char msg[256];

  /* Truncated: header alone, then header + part of the payload: waits, does not fail. */
  frame_reader_init(&r, 1000);
  frame_header_encode(buf, FRAME_STATS, 40);
  memset(buf + FRAME_HEADER_SIZE, 0xab, 40);
  frame_reader_feed(&r, buf, 5);
  CHECK(frame_reader_next(&r, &h, &p) == 0, "5 bytes of header gave a frame");
  frame_reader_feed(&r, buf + 5, FRAME_HEADER_SIZE - 5 + 39);
  CHECK(frame_reader_next(&r, &h, &p) == 0, "39 of 40 payload bytes gave a frame");
  CHECK(frame_reader_pending(&r) == FRAME_HEADER_SIZE + 39, "pending %zu",
        frame_reader_pending(&r));
  frame_reader_feed(&r, buf + FRAME_HEADER_SIZE + 39, 1);
  CHECK(frame_reader_next(&r, &h, &p) == 1 && h.length == 40, "complete frame not returned");
  frame_reader_free(&r);

  /* Oversized: rejected from the header alone, and nothing of that size is allocated. */
  frame_reader_init(&r, 1000);
  frame_header_encode(buf, FRAME_WEIGHTS, 50u << 20);
  frame_reader_feed(&r, buf, FRAME_HEADER_SIZE);
  int rc = frame_reader_next(&r, &h, &p);
  CHECK(rc == FRAME_ETOOBIG, "oversized: rc %d", rc);
  CHECK(r.cap <= FRAME_HEADER_SIZE, "oversized header made the reader allocate %zu", r.cap);
  frame_reader_explain(&r, msg, sizeof msg);
  CHECK(strstr(msg, "length 52428800 exceeds limit 1000"), "message: %s", msg);
  CHECK(frame_reader_next(&r, &h, &p) == FRAME_ETOOBIG, "error not sticky");
  frame_reader_free(&r);

  /* A valid header of a big frame allocates only as the bytes arrive. */
  frame_reader_init(&r, 0);
  frame_header_encode(buf, FRAME_WEIGHTS, 32u << 20);
  frame_reader_feed(&r, buf, FRAME_HEADER_SIZE);
  frame_reader_feed(&r, buf, 4);
  CHECK(r.cap <= 2 * (FRAME_HEADER_SIZE + 4), "cap %zu after 16 bytes of a 32 MiB frame", r.cap);
  frame_reader_free(&r);

  /* Bad magic, other version, unknown type, after a good frame and in garbage. */
  struct {
    const char *what;
    int err;
  } cases[] = {{"bad magic", FRAME_EMAGIC}, {"version", FRAME_EVERSION}, {"type", FRAME_ETYPE}};
  for (int c = 0; c < 3; c++) {
    frame_reader_init(&r, 0);
    frame_header_encode(buf, FRAME_HEARTBEAT, 0);
    frame_header_encode(buf + FRAME_HEADER_SIZE, FRAME_HELLO, 3);
    if (c == 0) buf[FRAME_HEADER_SIZE] ^= 0xff;
    if (c == 1) buf[FRAME_HEADER_SIZE + 10] = 9;
    if (c == 2) buf[FRAME_HEADER_SIZE + 8] = 77;
    frame_reader_feed(&r, buf, 2 * FRAME_HEADER_SIZE + 3);
    CHECK(frame_reader_next(&r, &h, &p) == 1 && h.type == FRAME_HEARTBEAT && h.length == 0,
          "%s: the good frame before it was lost", cases[c].what);
    rc = frame_reader_next(&r, &h, &p);
    CHECK(rc == cases[c].err, "%s: rc %d, want %d", cases[c].what, rc, cases[c].err);
    frame_reader_explain(&r, msg, sizeof msg);
    CHECK(msg[0] != 0, "%s: no message", cases[c].what);
    frame_reader_free(&r);
  }

  /* Random garbage: an error or waiting for more, never a frame with a bad header. */
  rng_t rng;
  rng_seed(&rng, 3);
  for (int t = 0; t < 1000; t++) {
    uint8_t g[40];
    for (size_t i = 0; i < sizeof g; i++) g[i] = (uint8_t)rng_u64(&rng);
    frame_reader_init(&r, 1 << 16);
    frame_reader_feed(&r, g, sizeof g);
    rc = frame_reader_next(&r, &h, &p);
    CHECK(rc == FRAME_EMAGIC, "garbage %d: rc %d", t, rc);
    frame_reader_free(&r);
  }
}

int main(void) {
  test_header();
  test_reader_streams();
  test_reader_errors();
  CHECK_DONE();
}
