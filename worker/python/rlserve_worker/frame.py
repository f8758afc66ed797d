"""Frames of the wire protocol (proto/README.md, common/frame.h): a 12-byte little-endian
header (magic "RLSV", payload length, type, protocol version) and the payload. Pure functions
over bytes and a reader that reassembles frames from a byte stream fed in pieces."""
import struct

MAGIC = 0x56534C52
VERSION = 2
HEADER = 12
MAX_PAYLOAD = 64 << 20
PREAUTH_MAX = 4096

HELLO, WELCOME, WEIGHTS, TRANSITIONS, STATS, ERROR, HEARTBEAT, CHALLENGE, CREDIT, PROOF = range(1, 11)
EXPLORE = 11  # explore = apex: this actor's epsilon / noise scale over the actors connected
EVAL, EVAL_RESULT = 12, 13  # env = worker:ID runs: greedy evaluations played by the workers
NAMES = {HELLO: "HELLO", WELCOME: "WELCOME", WEIGHTS: "WEIGHTS", TRANSITIONS: "TRANSITIONS",
         STATS: "STATS", ERROR: "ERROR", HEARTBEAT: "HEARTBEAT", CHALLENGE: "CHALLENGE",
         CREDIT: "CREDIT", PROOF: "PROOF", EXPLORE: "EXPLORE", EVAL: "EVAL",
         EVAL_RESULT: "EVAL_RESULT"}

_HDR = struct.Struct("<IIHH")


class FrameError(Exception):
    """A header that makes the stream unusable; the message names the values."""


def type_name(t):
    return NAMES.get(t, "type %d" % t)


def header(ftype, length):
    return _HDR.pack(MAGIC, length, ftype, VERSION)


def encode(ftype, payload=b""):
    return header(ftype, len(payload)) + bytes(payload)


def decode_header(buf, limit=MAX_PAYLOAD):
    """(type, length) of a checked header, in the C order: magic, version, type, length."""
    magic, length, ftype, version = _HDR.unpack_from(buf, 0)
    if magic != MAGIC:
        hint = " (looks like HTTP: is this the status port?)" if bytes(buf[:4]) in (b"HTTP", b"GET ") else ""
        raise FrameError("bad magic 0x%08x, expected 0x%08x%s" % (magic, MAGIC, hint))
    if version != VERSION:
        raise FrameError("protocol version %d, this worker speaks %d" % (version, VERSION))
    if ftype not in NAMES:
        raise FrameError("unknown frame type %d" % ftype)
    if length > min(limit, MAX_PAYLOAD):
        raise FrameError("%s frame length %d exceeds limit %d" % (type_name(ftype), length, min(limit, MAX_PAYLOAD)))
    return ftype, length


class FrameReader:
    """Feed bytes, take whole frames: next() returns (type, length, header bytes, payload) or
    None when more bytes are needed. The length is checked as soon as the header is there,
    before the payload is buffered."""

    def __init__(self, limit=MAX_PAYLOAD):
        self.limit = limit
        self.buf = bytearray()

    def feed(self, data):
        self.buf += data

    def next(self):
        if len(self.buf) < HEADER:
            return None
        ftype, length = decode_header(self.buf, self.limit)
        if len(self.buf) < HEADER + length:
            return None
        hdr = bytes(self.buf[:HEADER])
        payload = bytes(self.buf[HEADER:HEADER + length])
        del self.buf[:HEADER + length]
        return ftype, length, hdr, payload
