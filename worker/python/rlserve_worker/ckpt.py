"""rlserve checkpoint files (common/checkpoint.h) read in Python, for evaluating a policy where
its env lives (`python3 -m rlserve_worker.evaluate --checkpoint F`): "RLSVCKPT" | u32 format
(1 plain, 2 keyed with the run's token) | u32 section count | per section name[16] | u64 length
| bytes | BLAKE2b-256 of everything before (keyed in format 2 with BLAKE2b(context, key =
the token's key)). Also the "spaces" section of `env = worker:ID` runs
(server/learner/spaces_ckpt.h). Every error is a CheckpointError naming the file and field."""
import hashlib
import struct

import numpy as np

from . import crypto

MAGIC = b"RLSVCKPT"
HASH = 32
MAX_SECTIONS = 32
KEY_CONTEXT = b"rlserve-checkpoint-1"


class CheckpointError(Exception):
    pass


def key_for_token(token_file):
    """The checkpoint key of a run's token file (common/checkpoint.c checkpoint_key_derive)."""
    return hashlib.blake2b(KEY_CONTEXT, key=crypto.key_from_file(token_file), digest_size=HASH).digest()


def parse(buf, key=None, name="checkpoint"):
    """{section name: bytes} of a checkpoint image, verified as checkpoint_read_keyed does."""
    if len(buf) < 16 + HASH:
        raise CheckpointError("%s: truncated (%d bytes)" % (name, len(buf)))
    if buf[:8] != MAGIC:
        raise CheckpointError("%s: not an rlserve checkpoint (bad magic)" % name)
    ver, n = struct.unpack_from("<II", buf, 8)
    if ver not in (1, 2):
        raise CheckpointError("%s: format version %d, this reader reads 1 and 2" % (name, ver))
    if key is not None and ver != 2:
        raise CheckpointError("%s: not authenticated (a plain checksum, which anyone can recompute), "
                              "but a token was given: refusing it" % name)
    if key is None and ver == 2:
        raise CheckpointError("%s: authenticated with a run token; give that run's token (--token-file)" % name)
    h = hashlib.blake2b(buf[:-HASH], digest_size=HASH, key=key or b"").digest()
    if h != bytes(buf[-HASH:]):
        raise CheckpointError("%s: %s" % (name, "authentication failed: keyed checksum mismatch (another run's "
                                          "token, or the file was altered)" if key else
                                          "checksum mismatch (corrupt or truncated file)"))
    if n > MAX_SECTIONS:
        raise CheckpointError("%s: %d sections (limit %d)" % (name, n, MAX_SECTIONS))
    out, off, end = {}, 16, len(buf) - HASH
    for i in range(n):
        if end - off < 24:
            raise CheckpointError("%s: section %d header runs past the end" % (name, i))
        sname = bytes(buf[off:off + 16]).split(b"\0", 1)[0].decode("ascii", "replace")
        (length,) = struct.unpack_from("<Q", buf, off + 16)
        off += 24
        if length > end - off:
            raise CheckpointError("%s: section '%s' length %d runs past the end" % (name, sname, length))
        out.setdefault(sname, bytes(buf[off:off + length]))
        off += length
    if off != end:
        raise CheckpointError("%s: %d stray bytes after the sections" % (name, end - off))
    return out


def read(path, token_file=None):
    try:
        with open(path, "rb") as f:
            buf = f.read()
    except OSError as e:
        raise CheckpointError("checkpoint: cannot open %s: %s" % (path, e.strerror)) from None
    try:
        key = key_for_token(token_file) if token_file else None
    except crypto.TokenError as e:
        raise CheckpointError(str(e)) from None
    return parse(buf, key, path)


def config(sections, name="checkpoint"):
    """The "config" section (config_to_text: `key = value` lines) as a dict of strings."""
    text = sections.get("config")
    if text is None:
        raise CheckpointError("%s has no config section" % name)
    cfg = {}
    for line in text.decode("utf-8", "replace").splitlines():
        key, sep, value = line.partition(" = ")
        if sep:
            cfg[key.strip()] = value.strip()
    for k in ("algo", "env"):
        if k not in cfg:
            raise CheckpointError("%s: config section has no %s" % (name, k))
    return cfg


def online(sections, name="checkpoint"):
    b = sections.get("online")
    if b is None:
        raise CheckpointError("%s has no online section" % name)
    if len(b) % 4:
        raise CheckpointError("%s: online section of %d bytes is not float32s" % (name, len(b)))
    p = np.frombuffer(b, dtype="<f4")
    if not np.all(np.isfinite(p)):
        raise CheckpointError("%s: online section holds a non-finite parameter" % name)
    return p


def spaces(b, name="checkpoint"):
    """The "spaces" section as a dict: env_id, obs_dim, obs_binary, obs_shape, obs_low/high,
    discrete, n_actions, act_dim, act_low/high (spaces_ckpt.h layout, validated alike)."""
    def bad(what):
        raise CheckpointError("%s: section spaces refused: %s" % (name, what))

    if len(b) < 14 or b[:8] != b"RLSPACES":
        bad("not a spaces section (bad magic)")
    off = 8

    def take(fmt):
        nonlocal off
        size = struct.calcsize(fmt)
        if len(b) - off < size:
            bad("truncated")
        v = struct.unpack_from(fmt, b, off)
        off += size
        return v

    (ver,) = take("<I")
    if ver != 1:
        bad("version %d, this reader reads 1" % ver)
    (idl,) = take("<H")
    if not 1 <= idl <= 256 or len(b) - off < idl:
        bad("env id length %d" % idl)
    env_id = bytes(b[off:off + idl])
    off += idl
    if any(c < 0x21 or c > 0x7e for c in env_id):
        bad("env id is not printable ASCII")
    dim, binary, h, w, c, pairs = take("<IBIIII")
    if not 1 <= dim <= 1000 or binary > 1 or pairs != (dim if dim <= 16 else 1):
        bad("obs_dim %d, obs_binary %d, %d bound pairs" % (dim, binary, pairs))
    lo = np.array(take("<%df" % pairs), dtype=np.float32)
    hi = np.array(take("<%df" % pairs), dtype=np.float32)
    if np.any(np.isnan(lo) | np.isnan(hi) | ~(lo <= hi)):
        bad("observation bounds")
    kind, n, adim = take("<BII")
    out = {"env_id": env_id.decode(), "obs_dim": dim, "obs_binary": bool(binary), "obs_shape": (h, w, c),
           "obs_low": lo, "obs_high": hi, "discrete": kind == 0}
    if kind == 0 and 1 <= n <= 4096 and adim == 1:
        out.update(n_actions=n, act_dim=1)
    elif kind == 1 and n == 0 and 1 <= adim <= 16:
        alo = np.array(take("<%df" % adim), dtype=np.float32)
        ahi = np.array(take("<%df" % adim), dtype=np.float32)
        if not (np.all(np.isfinite(alo)) and np.all(np.isfinite(ahi)) and np.all(alo < ahi)):
            bad("action bounds")
        out.update(n_actions=0, act_dim=adim, act_low=alo, act_high=ahi)
    else:
        bad("act_kind %d, act_n %d, act_dim %d" % (kind, n, adim))
    if off != len(b):
        bad("%d stray bytes" % (len(b) - off))
    return out
