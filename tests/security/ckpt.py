#!/usr/bin/env python3
"""ckpt.py OUT SECTION...: writes an rlserve checkpoint file the way a forger would, with a
plain (unkeyed) BLAKE2b-256 checksum recomputed over it (common/checkpoint.h's format 1).

A SECTION is NAME=text:TEXT (\\n for line breaks), NAME=zeros:N (N float32 zeros) or
NAME=u64:A,B,... (little-endian uint64 values)."""
import hashlib
import struct
import sys


def section(arg):
    name, spec = arg.split("=", 1)
    kind, value = spec.split(":", 1)
    if kind == "text":
        data = value.replace("\\n", "\n").encode()
    elif kind == "zeros":
        data = b"\0" * (4 * int(value))
    elif kind == "u64":
        data = b"".join(struct.pack("<Q", int(v)) for v in value.split(","))
    else:
        sys.exit("unknown section kind " + kind)
    return name.encode().ljust(16, b"\0")[:16] + struct.pack("<Q", len(data)) + data


def main():
    out, secs = sys.argv[1], sys.argv[2:]
    body = b"RLSVCKPT" + struct.pack("<II", 1, len(secs)) + b"".join(section(s) for s in secs)
    with open(out, "wb") as f:
        f.write(body + hashlib.blake2b(body, digest_size=32).digest())


main()
