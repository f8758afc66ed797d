"""Exported policies (`rlserve export`, server/cli/export_cmd.c) as greedy numpy functions, for
`python3 -m rlserve_worker.evaluate --policy FILE`.

npz: the ONNX graph's initializers by name and "layout", the network as one line ("in:10x10x4
conv:16x3x3:relu flatten fc:128:relu dueling:6", common/nn.c's nn_layout_describe): layer l is
conv (layer<l>.weight [F, C, kh, kw], .bias [F]; a flat input first reshaped by
layer<l>.in_shape [-1, H, W, C] and transposed to NCHW), flatten (after a conv: back to channels
last, reshaped by layer<l>.out_shape [-1, H*W*C]; of the input image: nothing), fc (layer<l>.weight [out, in], .bias [out]) or dueling
(layer<l>.value.weight [1, in] / .bias, layer<l>.advantage.weight [A, in] / .bias; q = v + a -
mean(a)), each with the activation the line names (a DDPG/TD3 actor's last fc: tanh). An npz
without "layout" (exports before it existed) is dense layers with --activation on the hidden
ones and none on the last. action_scale and action_bias present: a continuous policy, action =
action_bias + action_scale * (the tanh output: of the layout's last fc, or tanh of an older
npz's last layer); absent: discrete, argmax.
onnx: the exported graph (Gemm with transB, Relu, Tanh, Mul, Add, Sub, ArgMax, Reshape,
Transpose, Conv, ReduceMean, Expand) run node by node in numpy; needs python3-onnx to read the
file. Errors are PolicyError naming the file."""
import zipfile

import numpy as np


class PolicyError(Exception):
    pass


def _act(name):
    if name not in ("relu", "tanh"):
        raise PolicyError("--activation %r: relu or tanh" % name)
    return (lambda x: np.maximum(x, 0)) if name == "relu" else np.tanh


def _conv_nchw(x, w, b):
    """Valid, stride-1 convolution of x [N, C, H, W] with w [F, C, kh, kw] and b [F]."""
    n, c, h, wd = x.shape
    f, c2, kh, kw = w.shape
    if c2 != c or kh > h or kw > wd:
        raise ValueError("conv weight %s on input %s" % (w.shape, x.shape))
    oh, ow = h - kh + 1, wd - kw + 1
    y = np.zeros((n, f, oh, ow), np.float32) + b.reshape(1, f, 1, 1)
    for dy in range(kh):
        for dx in range(kw):
            y += np.einsum("nchw,fc->nfhw", x[:, :, dy:dy + oh, dx:dx + ow], w[:, :, dy, dx])
    return y


def _layout_layers(path, arrays, text):
    """[(kind, activation, arrays...)] from the npz's layout line; PolicyError if it does not
    match the arrays."""
    items = text.split()
    if not items or not items[0].startswith("in:"):
        raise PolicyError("%s: layout %r does not start with in:" % (path, text[:80]))
    acts = {"relu": "relu", "tanh": "tanh", "identity": "identity"}
    out = []

    def get(name, ndim):
        a = arrays.get(name)
        if a is None or a.ndim != ndim:
            raise PolicyError("%s: layout %r needs %s with %d dims" % (path, text[:80], name, ndim))
        return a

    for l, item in enumerate(items[1:]):
        f, p = item.split(":"), "layer%d." % l
        if f[0] == "conv" and len(f) == 3 and f[2] in acts:
            shp = arrays.get(p + "in_shape")
            out.append(("conv", f[2], get(p + "weight", 4), get(p + "bias", 1),
                        None if shp is None else tuple(int(v) for v in shp)))
        elif f[0] == "flatten":  # after a conv; of the flat input image: nothing to do
            shp = arrays.get(p + "out_shape")
            out.append(("flatten", "identity", None if shp is None else tuple(int(v) for v in shp)))
        elif f[0] == "fc" and len(f) == 3 and f[2] in acts:
            out.append(("fc", f[2], get(p + "weight", 2), get(p + "bias", 1)))
        elif f[0] == "dueling":
            out.append(("dueling", "identity", get(p + "value.weight", 2), get(p + "value.bias", 1),
                        get(p + "advantage.weight", 2), get(p + "advantage.bias", 1)))
        else:
            raise PolicyError("%s: layout item %r is not one rlserve export writes" % (path, item))
    if not out:
        raise PolicyError("%s: layout %r has no layers" % (path, text[:80]))
    return out


def load_npz(path, activation="relu"):
    """(greedy(obs) -> actions n x act_dim, discrete, obs_dim, n_out)."""
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: np.asarray(z[k]) for k in z.files}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as e:
        raise PolicyError("%s: not an npz of float arrays (%s)" % (path, e)) from None
    layout = arrays.pop("layout", None)
    for k, v in arrays.items():
        if k.endswith("_shape"):
            if v.dtype.kind != "i":
                raise PolicyError("%s: %s is not an integer vector" % (path, k))
        elif v.dtype.kind != "f":
            raise PolicyError("%s: %s is not a float array" % (path, k))
        else:
            arrays[k] = v.astype(np.float32)
    cont = "action_scale" in arrays
    scale, bias = arrays.get("action_scale"), arrays.get("action_bias")
    if layout is not None:
        if layout.dtype.kind != "U" or layout.ndim != 0:
            raise PolicyError("%s: layout is not a text line" % path)
        text = str(layout)
        layers = _layout_layers(path, arrays, text)
        head = layers[-1]
        n_out = head[4].shape[0] if head[0] == "dueling" else head[2].shape[0] if head[0] == "fc" else 0
        try:
            obs_dim = int(np.prod([int(v) for v in text.split()[0][3:].split("x")]))
        except ValueError:
            raise PolicyError("%s: layout %r: bad input size" % (path, text[:80])) from None
    else:
        _act(activation)  # checks the name
        dense = []
        while "layer%d.weight" % len(dense) in arrays:
            l = len(dense)
            w, b = arrays["layer%d.weight" % l], arrays.get("layer%d.bias" % l)
            if w.ndim != 2 or b is None or b.shape != (w.shape[0],) or (dense and dense[-1][2].shape[0] != w.shape[1]):
                raise PolicyError("%s: layer%d.weight %s / bias %s do not chain" % (path, l, w.shape, None if b is None else b.shape))
            dense.append(("fc", activation, w, b))
        if not dense:
            raise PolicyError("%s: no layer0.weight and no layout" % path)
        layers = [(k, a if i + 1 < len(dense) else "identity", w, b)
                  for i, (k, a, w, b) in enumerate(dense)]
        n_out, obs_dim = dense[-1][2].shape[0], dense[0][2].shape[1]
    if cont and (bias is None or scale.shape != (n_out,) or bias.shape != (n_out,)):
        raise PolicyError("%s: action_scale / action_bias do not match %d outputs" % (path, n_out))
    fns = {"relu": lambda x: np.maximum(x, 0), "tanh": np.tanh, "identity": lambda x: x}

    def forward(obs):
        x = np.asarray(obs, dtype=np.float32)
        for layer in layers:
            kind, a = layer[0], fns[layer[1]]
            if kind == "conv":
                if x.ndim == 2:
                    if layer[4] is None:
                        raise ValueError("the first conv needs its in_shape")
                    x = x.reshape(layer[4]).transpose(0, 3, 1, 2)
                x = a(_conv_nchw(x, layer[2], layer[3]))
            elif kind == "flatten":
                if x.ndim == 4:
                    if layer[2] is None:
                        raise ValueError("a flatten after a conv needs its out_shape")
                    x = x.transpose(0, 2, 3, 1).reshape(layer[2])
            elif kind == "fc":
                x = a(x @ layer[2].T + layer[3])
            else:
                v = x @ layer[2].T + layer[3]
                adv = x @ layer[4].T + layer[5]
                x = v + adv - adv.mean(axis=1, keepdims=True)
        return x

    def greedy(obs):
        try:
            x = forward(obs)
        except ValueError as e:
            raise PolicyError("%s: the arrays do not chain on observations %s (%s)"
                              % (path, np.shape(obs), e)) from None
        if cont:  # the layout's last fc ends in tanh already; an older npz's does not
            return (bias + scale * (x if layout is not None else np.tanh(x))).astype(np.float32)
        return np.argmax(x, axis=1).astype(np.float32).reshape(-1, 1)

    return greedy, not cont, obs_dim, n_out


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
    inits = {}
    for t in g.initializer:
        a = numpy_helper.to_array(t)
        inits[t.name] = a.astype(np.int64) if a.dtype.kind == "i" else a.astype(np.float32)
    ops = {"Gemm", "Relu", "Tanh", "Mul", "Add", "Sub", "ArgMax", "Reshape", "Transpose", "Conv",
           "ReduceMean", "Expand"}
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
                return list(a.ints) if a.type == onnx.AttributeProto.INTS else a.i
        return default

    for n in g.node:  # the Conv attributes export writes: valid padding, stride 1, no groups
        if n.op_type == "Conv" and (any(attr(n, "pads", [0])) or set(attr(n, "strides", [1])) != {1}
                                    or attr(n, "group", 1) != 1 or set(attr(n, "dilations", [1])) != {1}):
            raise PolicyError("%s: node %s: a Conv with padding, stride, groups or dilation" % (path, n.name))

    def run(obs):
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
            elif n.op_type == "Sub":
                y = x[0] - x[1]
            elif n.op_type == "Reshape":
                y = x[0].reshape([int(d) for d in x[1]])
            elif n.op_type == "Transpose":
                y = x[0].transpose(attr(n, "perm", None))
            elif n.op_type == "Conv":
                y = _conv_nchw(x[0], x[1], x[2] if len(x) > 2 else np.zeros(x[1].shape[0], np.float32))
            elif n.op_type == "ReduceMean":
                y = x[0].mean(axis=tuple(attr(n, "axes", [])) or None, keepdims=bool(attr(n, "keepdims", 1)))
            elif n.op_type == "Expand":
                shape = np.broadcast_shapes(x[0].shape, tuple(int(d) for d in x[1]))
                y = np.broadcast_to(x[0], shape).copy()
            else:
                y = np.argmax(x[0], axis=attr(n, "axis", 0))
            v[n.output[0]] = y
        a = v["action"]
        return (a.astype(np.float32).reshape(-1, 1) if discrete else a.astype(np.float32))

    def greedy(obs):
        try:
            return run(obs)
        except (ValueError, KeyError, IndexError, TypeError) as e:
            raise PolicyError("%s: the graph does not run on observations %s (%s)"
                              % (path, np.shape(obs), e)) from None

    return greedy, discrete, obs_dim, None


def load(path, activation="relu"):
    if path.endswith(".npz"):
        return load_npz(path, activation)
    if path.endswith(".onnx"):
        return load_onnx(path)
    raise PolicyError("--policy %s: expected a .npz or .onnx file from rlserve export" % path)
