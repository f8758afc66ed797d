#!/usr/bin/env python3
"""resign.py IN OUT [--zero-online]: what a forger without the token can do to a checkpoint:
rewrite it as format 1 with a recomputed plain BLAKE2b-256 checksum, optionally after zeroing
the float section 'online'."""
import hashlib
import struct
import sys

src, dst = sys.argv[1], sys.argv[2]
b = bytearray(open(src, "rb").read()[:-32])
b[8:12] = struct.pack("<I", 1)
if "--zero-online" in sys.argv:
    n = struct.unpack("<I", b[12:16])[0]
    off = 16
    for _ in range(n):
        name = bytes(b[off:off + 16]).rstrip(b"\0").decode()
        ln = struct.unpack("<Q", b[off + 16:off + 24])[0]
        if name == "online":
            b[off + 24:off + 24 + ln] = b"\0" * ln
        off += 24 + ln
open(dst, "wb").write(bytes(b) + hashlib.blake2b(bytes(b), digest_size=32).digest())
