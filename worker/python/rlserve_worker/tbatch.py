"""Transition batches (proto/README.md, common/tbatch.c): one msgpack map whose arrays are
bins of raw little-endian float32 (flags: uint8, bit 0 terminated, bit 1 truncated)."""
import msgpack
import numpy as np

TERMINATED = 1
TRUNCATED = 2


def encode(obs, act, rew, next_obs, flags, weights_version, worker_id):
    """The TRANSITIONS payload for n rows: obs/next_obs n x obs_dim, act n x act_dim."""
    obs = np.ascontiguousarray(obs, dtype="<f4")
    n = obs.shape[0]
    act = np.ascontiguousarray(act, dtype="<f4").reshape(n, -1)
    return msgpack.packb({
        "v": 1, "n": n, "obs_dim": obs.shape[1], "act_dim": act.shape[1],
        "wv": int(weights_version), "wid": int(worker_id),
        "obs": obs.tobytes(), "act": act.tobytes(),
        "rew": np.ascontiguousarray(rew, dtype="<f4").tobytes(),
        "next_obs": np.ascontiguousarray(next_obs, dtype="<f4").reshape(n, -1).tobytes(),
        "flags": np.ascontiguousarray(flags, dtype=np.uint8).tobytes(),
    }, use_bin_type=True)


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
        if not isinstance(m.get(k), int) or m[k] < 0:
            raise BatchError("transitions: %s missing or not an unsigned integer" % k)
    if m["v"] != 1:
        raise BatchError("transitions: v is %d, expected 1" % m["v"])
    n, od, ad = m["n"], m["obs_dim"], m["act_dim"]
    out = {k: m[k] for k in ("v", "n", "obs_dim", "act_dim", "wv", "wid")}
    for k, count, dt in (("obs", n * od, "<f4"), ("act", n * ad, "<f4"), ("rew", n, "<f4"),
                         ("next_obs", n * od, "<f4"), ("flags", n, np.uint8)):
        b = m.get(k)
        if not isinstance(b, bytes):
            raise BatchError("transitions: %s missing or not a bin" % k)
        size = count * np.dtype(dt).itemsize
        if len(b) != size:
            raise BatchError("transitions: %s has %d bytes, expected %d" % (k, len(b), size))
        out[k] = np.frombuffer(b, dtype=dt)
    out["obs"] = out["obs"].reshape(n, od)
    out["next_obs"] = out["next_obs"].reshape(n, od)
    out["act"] = out["act"].reshape(n, ad)
    return out
