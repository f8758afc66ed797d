"""Transition batches (proto/README.md, common/tbatch.c): one msgpack map whose arrays are
bins of raw little-endian float32 (flags: uint8, bit 0 terminated, bit 1 truncated).
Binary observations (MinAtar) may travel as packed bits: "obs_enc" = "bits", obs and
next_obs then n rows of ceil(obs_dim/8) bytes, element i at bit i % 8 of byte i // 8 (least
significant first), unused high bits of the last byte 0 (common/obsbits.h). encode(...,
bits=True) sends them so; decode() unpacks them into 0/1 float32 rows."""
import msgpack
import numpy as np

TERMINATED = 1
TRUNCATED = 2


def pack_bits(x):
    """n x d floats, each exactly 0 or 1 -> n x ceil(d/8) bytes (ValueError otherwise)."""
    x = np.asarray(x, dtype=np.float32)
    if not np.all((x == 0) | (x == 1)):
        bad = int(np.argmax(~((x == 0) | (x == 1)).reshape(-1)))
        raise ValueError("bits encoding: element %d is %r, not 0 or 1" % (bad, x.reshape(-1)[bad]))
    return np.packbits(x.astype(np.uint8), axis=1, bitorder="little")


def unpack_bits(b, d):
    """n x ceil(d/8) bytes -> n x d float32 (0/1)."""
    return np.unpackbits(b, axis=1, count=d, bitorder="little").astype("<f4")


def encode(obs, act, rew, next_obs, flags, weights_version, worker_id, bits=False, disc=None,
           prio=None):
    """The TRANSITIONS payload for n rows: obs/next_obs n x obs_dim, act n x act_dim; bits:
    obs/next_obs (0/1 only) as packed bits; disc (n-step discounts) and prio (initial
    priorities): n floats each, sent when given."""
    obs = np.ascontiguousarray(obs, dtype="<f4")
    n = obs.shape[0]
    act = np.ascontiguousarray(act, dtype="<f4").reshape(n, -1)
    next_obs = np.ascontiguousarray(next_obs, dtype="<f4").reshape(n, -1)
    m = {
        "v": 1, "n": n, "obs_dim": obs.shape[1], "act_dim": act.shape[1],
        "wv": int(weights_version), "wid": int(worker_id),
        "obs": pack_bits(obs).tobytes() if bits else obs.tobytes(), "act": act.tobytes(),
        "rew": np.ascontiguousarray(rew, dtype="<f4").tobytes(),
        "next_obs": pack_bits(next_obs).tobytes() if bits else next_obs.tobytes(),
        "flags": np.ascontiguousarray(flags, dtype=np.uint8).tobytes(),
    }
    if bits:
        m["obs_enc"] = "bits"
    for k, v in (("disc", disc), ("prio", prio)):
        if v is not None:
            v = np.ascontiguousarray(v, dtype="<f4").reshape(-1)
            if v.shape[0] != n:
                raise ValueError("transitions: %s has %d values for %d rows" % (k, v.shape[0], n))
            m[k] = v.tobytes()
    return msgpack.packb(m, use_bin_type=True)


class BatchError(Exception):
    pass


def decode(payload):
    """A dict with the ints and numpy arrays; raises BatchError naming the field."""
    try:
        m = msgpack.unpackb(payload, raw=False, strict_map_key=True)
    except Exception as e:
        raise BatchError("transitions: not a msgpack map (%s)" % e) from None
    if not isinstance(m, dict):
        raise BatchError("transitions: not a msgpack map")
    for k in ("v", "n", "obs_dim", "act_dim", "wv", "wid"):
        if not isinstance(m.get(k), int) or isinstance(m[k], bool) or m[k] < 0:
            raise BatchError("transitions: %s missing or not an unsigned integer" % k)
    if m["v"] != 1:
        raise BatchError("transitions: v is %d, expected 1" % m["v"])
    n, od, ad = m["n"], m["obs_dim"], m["act_dim"]
    enc = m.get("obs_enc", "f32")
    if enc not in ("f32", "bits"):
        raise BatchError("transitions: obs_enc is %r, expected \"f32\" or \"bits\"" % (enc,))
    bits = enc == "bits"
    row = (od + 7) // 8
    ocount, odt = (n * row, np.uint8) if bits else (n * od, "<f4")
    out = {k: m[k] for k in ("v", "n", "obs_dim", "act_dim", "wv", "wid")}
    for k, count, dt in (("obs", ocount, odt), ("act", n * ad, "<f4"), ("rew", n, "<f4"),
                         ("next_obs", ocount, odt), ("flags", n, np.uint8)):
        b = m.get(k)
        if not isinstance(b, bytes):
            raise BatchError("transitions: %s missing or not a bin" % k)
        size = count * np.dtype(dt).itemsize
        if len(b) != size:
            raise BatchError("transitions: %s has %d bytes, expected %d" % (k, len(b), size))
        out[k] = np.frombuffer(b, dtype=dt)
    if bits:
        for k in ("obs", "next_obs"):
            b = out[k].reshape(n, row)
            if od % 8 and np.any(b[:, -1] >> (od % 8)):
                raise BatchError("transitions: %s (bits) has nonzero padding bits" % k)
            out[k] = unpack_bits(b, od)
    for k, lo, hi in (("disc", 0.0, 1.0), ("prio", 0.0, np.inf)):
        if k not in m:
            continue
        b = m[k]
        if not isinstance(b, bytes) or len(b) != 4 * n:
            raise BatchError("transitions: %s is not a bin of %d bytes" % (k, 4 * n))
        v = np.frombuffer(b, dtype="<f4")
        if not np.all(np.isfinite(v) & (v >= lo) & (v <= hi)):
            raise BatchError("transitions: %s holds a value outside [%g, %g]" % (k, lo, hi))
        out[k] = v
    for k in ("obs", "act", "rew", "next_obs"):
        if out[k].dtype != np.uint8 and not np.all(np.isfinite(out[k])):
            raise BatchError("transitions: %s holds a non-finite value" % k)
    if np.any(out["flags"] & ~np.uint8(TERMINATED | TRUNCATED)):
        raise BatchError("transitions: flags has bits other than terminated/truncated")
    out["obs"] = out["obs"].reshape(n, od)
    out["next_obs"] = out["next_obs"].reshape(n, od)
    out["act"] = out["act"].reshape(n, ad)
    return out
