/* frame: header codec and the stream reassembler. See frame.h and proto/README.md. */
#include "frame.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A reader that handed out a big frame drops its buffer once it is empty again, so an
 * idle connection does not keep a 64 MiB buffer alive. */
#define FRAME_READER_KEEP (256u << 10)

static uint32_t rd_u32(const uint8_t *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static uint16_t rd_u16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static void wr_u32(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)v;
  p[1] = (uint8_t)(v >> 8);
  p[2] = (uint8_t)(v >> 16);
  p[3] = (uint8_t)(v >> 24);
}
static void wr_u16(uint8_t *p, uint16_t v) {
  p[0] = (uint8_t)v;
  p[1] = (uint8_t)(v >> 8);
}

/* The effective payload limit: 0 or anything above the hard cap means the hard cap. */
static uint32_t effective_limit(uint32_t max_payload) {
  return (max_payload == 0 || max_payload > FRAME_MAX_PAYLOAD) ? FRAME_MAX_PAYLOAD : max_payload;
}

const char *frame_strerror(int err) {
  switch (err) {
    case FRAME_OK:
      return "ok";
    case FRAME_EMAGIC:
      return "bad magic (not an rlserve frame)";
    case FRAME_EVERSION:
      return "unsupported protocol version";
    case FRAME_ETYPE:
      return "unknown frame type";
    case FRAME_ETOOBIG:
      return "frame length over the limit";
    case FRAME_ENOMEM:
      return "out of memory";
    default:
      return "unknown frame error";
  }
}

const char *frame_type_name(int type) {
  switch (type) {
    case FRAME_HELLO:
      return "HELLO";
    case FRAME_WELCOME:
      return "WELCOME";
    case FRAME_WEIGHTS:
      return "WEIGHTS";
    case FRAME_TRANSITIONS:
      return "TRANSITIONS";
    case FRAME_STATS:
      return "STATS";
    case FRAME_ERROR:
      return "ERROR";
    case FRAME_HEARTBEAT:
      return "HEARTBEAT";
    case FRAME_CHALLENGE:
      return "CHALLENGE";
    case FRAME_CREDIT:
      return "CREDIT";
    case FRAME_PROOF:
      return "PROOF";
    case FRAME_EXPLORE:
      return "EXPLORE";
    case FRAME_EVAL:
      return "EVAL";
    case FRAME_EVAL_RESULT:
      return "EVAL_RESULT";
    default:
      return "UNKNOWN";
  }
}

void frame_header_encode(uint8_t out[FRAME_HEADER_SIZE], uint16_t type, uint32_t length) {
  wr_u32(out, FRAME_MAGIC);
  wr_u32(out + 4, length);
  wr_u16(out + 8, type);
  wr_u16(out + 10, FRAME_PROTOCOL_VERSION);
}

/* Checks in wire order of importance: a foreign stream first, then a peer from another
 * protocol version (whose types and limits may differ), then type and length. */
int frame_header_decode(const uint8_t *buf, uint32_t max_payload, frame_header_t *h) {
  if (rd_u32(buf) != FRAME_MAGIC) return FRAME_EMAGIC;
  h->length = rd_u32(buf + 4);
  h->type = rd_u16(buf + 8);
  h->version = rd_u16(buf + 10);
  if (h->version != FRAME_PROTOCOL_VERSION) return FRAME_EVERSION;
  if (h->type < FRAME_HELLO || h->type >= FRAME_TYPE_END) return FRAME_ETYPE;
  if (h->length > effective_limit(max_payload)) return FRAME_ETOOBIG;
  return FRAME_OK;
}

int frame_header_explain(const uint8_t *buf, uint32_t max_payload, char *out, size_t outlen) {
  frame_header_t h;
  int rc = frame_header_decode(buf, max_payload, &h);
  if (!out || outlen == 0) return rc;
  uint32_t magic = rd_u32(buf);
  switch (rc) {
    case FRAME_OK:
      snprintf(out, outlen, "%s frame, %u payload bytes", frame_type_name(h.type), h.length);
      break;
    case FRAME_EMAGIC: {
      /* Name the usual suspects: a browser or curl on the data port, a TLS client. */
      const char *hint = "";
      if (!memcmp(buf, "GET ", 4) || !memcmp(buf, "POST", 4) || !memcmp(buf, "HEAD", 4) ||
          !memcmp(buf, "PUT ", 4))
        hint = " (looks like HTTP: is this the status port?)";
      else if (buf[0] == 0x16 && buf[1] == 0x03)
        hint = " (looks like a TLS handshake)";
      snprintf(out, outlen, "bad magic 0x%08x, expected 0x%08x \"RLSV\"%s", magic, FRAME_MAGIC,
               hint);
      break;
    }
    case FRAME_EVERSION:
      snprintf(out, outlen, "protocol version %u, this build speaks %u", h.version,
               FRAME_PROTOCOL_VERSION);
      break;
    case FRAME_ETYPE:
      snprintf(out, outlen, "unknown frame type %u (known: %d..%d)", h.type, FRAME_HELLO,
               FRAME_TYPE_END - 1);
      break;
    case FRAME_ETOOBIG:
      snprintf(out, outlen, "%s frame length %u exceeds limit %u", frame_type_name(h.type),
               h.length, effective_limit(max_payload));
      break;
    default:
      snprintf(out, outlen, "%s", frame_strerror(rc));
      break;
  }
  return rc;
}

void frame_reader_init(frame_reader_t *r, uint32_t max_payload) {
  memset(r, 0, sizeof *r);
  r->max_payload = effective_limit(max_payload);
}

void frame_reader_set_limit(frame_reader_t *r, uint32_t max_payload) {
  r->max_payload = effective_limit(max_payload);
}

void frame_reader_free(frame_reader_t *r) {
  free(r->buf);
  r->buf = NULL;
  r->cap = r->len = r->consumed = 0;
}

/* Moves the unconsumed bytes to the front; frames already handed out become invalid. */
static void compact(frame_reader_t *r) {
  if (r->consumed) {
    size_t rest = r->len - r->consumed;
    if (rest) memmove(r->buf, r->buf + r->consumed, rest);
    r->len = rest;
    r->consumed = 0;
  }
  if (r->len == 0 && r->cap > FRAME_READER_KEEP) frame_reader_free(r);
}

/* End (header + declared length) of the frame at the front of the buffer once data is
 * appended, or 0 when its header is incomplete or invalid. The length is only trusted
 * after frame_header_decode checked it against the limit. */
static size_t current_frame_end(const frame_reader_t *r, const uint8_t *data, size_t len) {
  uint8_t hdr[FRAME_HEADER_SIZE];
  if (r->len >= FRAME_HEADER_SIZE) {
    memcpy(hdr, r->buf, FRAME_HEADER_SIZE);
  } else {
    size_t have = r->len, take = FRAME_HEADER_SIZE - have;
    if (len < take) return 0;
    if (have) memcpy(hdr, r->buf, have);
    memcpy(hdr + have, data, take);
  }
  frame_header_t h;
  if (frame_header_decode(hdr, r->max_payload, &h) != FRAME_OK) return 0;
  return (size_t)FRAME_HEADER_SIZE + h.length;
}

/* Growth is geometric (amortised O(1) per byte when fed in small pieces) but never
 * reserves beyond max(bytes actually held, end of the current checked frame): a header
 * that announces 64 MiB costs nothing until the bytes arrive. */
int frame_reader_feed(frame_reader_t *r, const uint8_t *data, size_t len) {
  compact(r);
  if (len == 0) return FRAME_OK;
  if (len > SIZE_MAX - r->len) return FRAME_ENOMEM;
  size_t need = r->len + len;
  if (need > r->cap) {
    size_t bound = need, end = current_frame_end(r, data, len);
    if (end > bound) bound = end;
    size_t want = r->cap > SIZE_MAX / 2 ? SIZE_MAX : r->cap * 2;
    if (want < need) want = need;
    if (want > bound) want = bound;
    uint8_t *nb = realloc(r->buf, want);
    if (!nb) return FRAME_ENOMEM;
    r->buf = nb;
    r->cap = want;
  }
  memcpy(r->buf + r->len, data, len);
  r->len += len;
  return FRAME_OK;
}

int frame_reader_next(frame_reader_t *r, frame_header_t *h, const uint8_t **payload) {
  if (r->consumed == r->len) r->consumed = r->len = 0; /* free compaction */
  size_t avail = r->len - r->consumed;
  if (avail < FRAME_HEADER_SIZE) return 0;
  const uint8_t *p = r->buf + r->consumed;
  int rc = frame_header_decode(p, r->max_payload, h);
  if (rc != FRAME_OK) return rc; /* consumed stays: the error repeats until the reader is freed */
  if (avail - FRAME_HEADER_SIZE < h->length) return 0;
  *payload = p + FRAME_HEADER_SIZE;
  r->consumed += (size_t)FRAME_HEADER_SIZE + h->length;
  return 1;
}

int frame_reader_explain(const frame_reader_t *r, char *out, size_t outlen) {
  if (r->len - r->consumed < FRAME_HEADER_SIZE) {
    if (out && outlen) snprintf(out, outlen, "incomplete header (%zu bytes)", r->len - r->consumed);
    return 0;
  }
  return frame_header_explain(r->buf + r->consumed, r->max_payload, out, outlen);
}

size_t frame_reader_pending(const frame_reader_t *r) { return r->len - r->consumed; }
