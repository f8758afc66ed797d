"""Exported policies (`rlserve export`, server/cli/export_cmd.c) as greedy numpy functions, for
`python3 -m rlserve_worker.evaluate --policy FILE`.

npz: layer<l>.weight [out, in] and layer<l>.bias [out] for l = 0.., hidden layers followed by
the activation (relu or tanh: the npz does not record it, --activation says it; the run's
config `activation`), the last layer none; action_scale and action_bias present: a continuous
policy, action = action_bias + action_scale * tanh(last layer); absent: discrete, argmax.
onnx: the exported graph (Gemm with transB, Relu, Tanh, Mul, Add, ArgMax) run node by node in
numpy; needs python3-onnx to read the file. Errors are PolicyError naming the file."""
import zipfile

import numpy as np


class PolicyError(Exception):
    pass


def _act(name):
    if name not in ("relu", "tanh"):
        raise PolicyError("--activation %r: relu or tanh" % name)
    return (lambda x: np.maximum(x, 0)) if name == "relu" else np.tanh


def load_npz(path, activation="relu"):
    """(greedy(obs) -> actions n x act_dim, discrete, obs_dim, n_out)."""
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: np.asarray(z[k], dtype=np.float32) for k in z.files}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as e:
        raise PolicyError("%s: not an npz of float arrays (%s)" % (path, e)) from None
    layers = []
    while "layer%d.weight" % len(layers) in arrays:
        l = len(layers)
        w, b = arrays["layer%d.weight" % l], arrays.get("layer%d.bias" % l)
        if w.ndim != 2 or b is None or b.shape != (w.shape[0],) or (layers and layers[-1][0].shape[0] != w.shape[1]):
            raise PolicyError("%s: layer%d.weight %s / bias %s do not chain" % (path, l, w.shape, None if b is None else b.shape))
        layers.append((w, b))
    if not layers:
        raise PolicyError("%s: no layer0.weight" % path)
    cont = "action_scale" in arrays
    scale, bias = arrays.get("action_scale"), arrays.get("action_bias")
    n_out = layers[-1][0].shape[0]
    if cont and (bias is None or scale.shape != (n_out,) or bias.shape != (n_out,)):
        raise PolicyError("%s: action_scale / action_bias do not match %d outputs" % (path, n_out))
    f = _act(activation)

    def greedy(obs):
        x = np.asarray(obs, dtype=np.float32)
        for i, (w, b) in enumerate(layers):
            x = x @ w.T + b
            if i + 1 < len(layers):
                x = f(x)
        if cont:
            return (bias + scale * np.tanh(x)).astype(np.float32)
        return np.argmax(x, axis=1).astype(np.float32).reshape(-1, 1)

    return greedy, not cont, layers[0][0].shape[1], n_out


def load_onnx(path):
    try:
        import onnx
        from onnx import numpy_helper
    except ImportError:
        raise PolicyError("%s: reading an ONNX file needs python3-onnx; use the npz export or the "
                          "checkpoint instead" % path) from None
    try:
        m = onnx.load(path)
    except Exception as e:
        raise PolicyError("%s: not an ONNX model (%s)" % (path, e)) from None
    g = m.graph
    inits = {t.name: numpy_helper.to_array(t).astype(np.float32) for t in g.initializer}
    ops = {"Gemm", "Relu", "Tanh", "Mul", "Add", "ArgMax"}
    for n in g.node:
        if n.op_type not in ops:
            raise PolicyError("%s: node %s is a %s, not one `rlserve export` writes" % (path, n.name, n.op_type))
    if len(g.input) != 1 or not any(o.name == "action" for o in g.output):
        raise PolicyError("%s: expected input obs and output action" % path)
    in_name = g.input[0].name
    dims = g.input[0].type.tensor_type.shape.dim
    obs_dim = dims[1].dim_value if len(dims) == 2 else 0
    discrete = any(n.op_type == "ArgMax" for n in g.node)

    def attr(n, name, default):
        for a in n.attribute:
            if a.name == name:
                return a.i
        return default

    def greedy(obs):
        v = dict(inits)
        v[in_name] = np.asarray(obs, dtype=np.float32)
        for n in g.node:
            x = [v[i] for i in n.input]
            if n.op_type == "Gemm":
                w = x[1].T if attr(n, "transB", 0) else x[1]
                y = x[0] @ w + (x[2] if len(x) > 2 else 0)
            elif n.op_type == "Relu":
                y = np.maximum(x[0], 0)
            elif n.op_type == "Tanh":
                y = np.tanh(x[0])
            elif n.op_type == "Mul":
                y = x[0] * x[1]
            elif n.op_type == "Add":
                y = x[0] + x[1]
            else:
                y = np.argmax(x[0], axis=attr(n, "axis", 0))
            v[n.output[0]] = y
        a = v["action"]
        return (a.astype(np.float32).reshape(-1, 1) if discrete else a.astype(np.float32))

    return greedy, discrete, obs_dim, None


def load(path, activation="relu"):
    if path.endswith(".npz"):
        return load_npz(path, activation)
    if path.endswith(".onnx"):
        return load_onnx(path)
    raise PolicyError("--policy %s: expected a .npz or .onnx file from rlserve export" % path)
