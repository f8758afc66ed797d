/* frame: the length-prefixed frame of the wire protocol, over bytes only (no sockets).
 *
 * Header, 12 bytes, little-endian:
 *   u32 magic   "RLSV" (0x56534c52)
 *   u32 length  payload bytes that follow (<= the reader's limit, hard cap FRAME_MAX_PAYLOAD)
 *   u16 type    frame_type_t
 *   u16 version FRAME_PROTOCOL_VERSION
 * Any thread may call these; a frame_reader_t belongs to one connection. */
#ifndef RLSERVE_FRAME_H
#define RLSERVE_FRAME_H

#include <stddef.h>
#include <stdint.h>

#define FRAME_HEADER_SIZE 12
#define FRAME_MAGIC 0x56534c52u
#define FRAME_PROTOCOL_VERSION 2
#define FRAME_MAX_PAYLOAD (64u << 20)
/* What a receiver accepts before the peer is authenticated (Challenge, Hello, Proof, Error). */
#define FRAME_PREAUTH_MAX 4096u

typedef enum {
  FRAME_HELLO = 1,       /* protobuf Hello */
  FRAME_WELCOME = 2,     /* protobuf Welcome */
  FRAME_WEIGHTS = 3,     /* protobuf Weights */
  FRAME_TRANSITIONS = 4, /* msgpack transition batch (tbatch.h) */
  FRAME_STATS = 5,       /* protobuf Stats */
  FRAME_ERROR = 6,       /* protobuf Error */
  FRAME_HEARTBEAT = 7,   /* empty payload */
  FRAME_CHALLENGE = 8,   /* protobuf Challenge (learner -> worker, token auth) */
  FRAME_CREDIT = 9,      /* protobuf Credit (learner -> worker, flow control) */
  FRAME_PROOF = 10,      /* protobuf Proof (learner -> worker, token auth) */
  FRAME_EXPLORE = 11,    /* protobuf Explore (learner -> worker, explore = apex) */

  /* env = worker:ID runs (proto/README.md): evaluations played by the workers */
  FRAME_EVAL = 12,        /* protobuf EvalRequest (learner -> worker) */
  FRAME_EVAL_RESULT = 13, /* protobuf EvalResult (worker -> learner, answers FRAME_EVAL) */
  FRAME_TYPE_END
} frame_type_t;

enum {
  FRAME_OK = 0,
  FRAME_EMAGIC = -1,   /* not an rlserve frame */
  FRAME_EVERSION = -2, /* other protocol version */
  FRAME_ETYPE = -3,    /* unknown frame type */
  FRAME_ETOOBIG = -4,  /* length over the limit */
  FRAME_ENOMEM = -5,
};

typedef struct frame_header {
  uint32_t length;
  uint16_t type;
  uint16_t version;
} frame_header_t;

const char *frame_strerror(int err);
const char *frame_type_name(int type);
void frame_header_encode(uint8_t out[FRAME_HEADER_SIZE], uint16_t type, uint32_t length);
/* Decodes and checks a header (buf holds at least FRAME_HEADER_SIZE bytes). */
int frame_header_decode(const uint8_t *buf, uint32_t max_payload, frame_header_t *h);
/* Same checks as frame_header_decode, and writes a sentence naming the values into out
 * ("TRANSITIONS frame length 2147483648 exceeds limit 67108864"). Returns the same code.
 * A max_payload of 0 means FRAME_MAX_PAYLOAD. */
int frame_header_explain(const uint8_t *buf, uint32_t max_payload, char *out, size_t outlen);

/* Reassembles frames from a byte stream fed in arbitrary pieces. */
typedef struct frame_reader {
  uint32_t max_payload;
  uint8_t *buf; /* header + payload of the frame in progress */
  size_t cap, len;
  size_t consumed; /* bytes of buf already handed out by frame_reader_next */
} frame_reader_t;

/* max_payload 0 (or above FRAME_MAX_PAYLOAD) means FRAME_MAX_PAYLOAD. The reader never
 * holds more than max(bytes fed and not yet handed out, header + checked length of the
 * frame in progress); a buffer over 256 KiB is released once it is empty. */
void frame_reader_init(frame_reader_t *r, uint32_t max_payload);
void frame_reader_free(frame_reader_t *r);
/* Changes the payload limit (same meaning as in init) for the frames not yet handed out: the
 * learner reads with a few KiB before a peer is authenticated, max_frame_bytes afterwards. */
void frame_reader_set_limit(frame_reader_t *r, uint32_t max_payload);
/* Appends bytes; returns FRAME_OK or FRAME_ENOMEM. */
int frame_reader_feed(frame_reader_t *r, const uint8_t *data, size_t len);
/* 1 and a complete frame (payload points into the reader, valid until the next feed/next
 * call), 0 when more bytes are needed, or a negative FRAME_E* error (the stream is bad;
 * close the connection). */
int frame_reader_next(frame_reader_t *r, frame_header_t *h, const uint8_t **payload);
/* After frame_reader_next failed: why, naming the values (see frame_header_explain). */
int frame_reader_explain(const frame_reader_t *r, char *out, size_t outlen);
/* Bytes fed but not yet handed out as frames. */
size_t frame_reader_pending(const frame_reader_t *r);

#endif
