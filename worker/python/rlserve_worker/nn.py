"""The published network, forward only, batched with numpy (common/nn.h layout).

Parameters are one flat float32 buffer; a network is a list of layers, each a row of the
LAYERS table (its parameter count and its forward). Dense layer l maps in -> out with W
stored out x in (row o holds the weights into unit o) followed by b (out floats), layers
back to back. Conv (valid padding, stride 1): the input row is an image (H, W, C) stored
channels last, F filters of kh x kw with W F x (kh*kw*C) (tap (dy, dx, ch) at
(dy*kw + dx)*C + ch) then b F floats; output (H-kh+1, W-kw+1, F) channels last. Flatten: no
parameters (y = x). Dueling (Wang et al. 2016): W (1+A) x in, b 1+A, row 0 the value, rows
1..A the advantages; Q_a = h_0 + h_(1+a) - mean_j h_(1+j). Adding a layer type is one forward
function and one row here; the network code never asks which kind it holds. build() lays out
a config's `net` (conv:16x3x3,fc:128) as common/nn.c's nn_layout_build does."""
import numpy as np


def _relu(x):
    return np.maximum(x, 0, out=x)


def _tanh(x):
    return np.tanh(x, out=x)


def _identity(x):
    return x


ACTIVATIONS = {"relu": _relu, "tanh": _tanh, "identity": _identity}


def dense_params(spec):
    return spec["out"] * spec["in"] + spec["out"]


def dense_forward(spec, p, x):
    """x: batch x in -> batch x out; p: this layer's slice of the flat buffer."""
    n_in, n_out = spec["in"], spec["out"]
    w = p[:n_out * n_in].reshape(n_out, n_in)
    b = p[n_out * n_in:]
    return ACTIVATIONS[spec["act"]](x @ w.T + b)


def conv_params(spec):
    h, w, c = spec["shape"]
    return spec["filters"] * (spec["kh"] * spec["kw"] * c) + spec["filters"]


def conv_forward(spec, p, x):
    """x: batch x (H*W*C) channels last -> batch x (H'*W'*F) channels last."""
    h, w, c = spec["shape"]
    kh, kw, f = spec["kh"], spec["kw"], spec["filters"]
    oh, ow = h - kh + 1, w - kw + 1
    k = kh * kw * c
    wt = p[:f * k].reshape(f, k)
    b = p[f * k:]
    img = x.reshape(-1, h, w, c)
    # patches[n, r, col] = the kh x kw x C window at (r, col), flattened (dy, dx, ch)
    cols = np.empty((img.shape[0], oh, ow, kh, kw, c), dtype=np.float32)
    for dy in range(kh):
        for dx in range(kw):
            cols[:, :, :, dy, dx, :] = img[:, dy:dy + oh, dx:dx + ow, :]
    y = cols.reshape(-1, oh * ow, k) @ wt.T + b
    return ACTIVATIONS[spec["act"]](y.reshape(img.shape[0], oh * ow * f))


def flatten_params(spec):
    return 0


def flatten_forward(spec, p, x):
    return x


def dueling_params(spec):
    return (1 + spec["out"]) * spec["in"] + 1 + spec["out"]


def dueling_forward(spec, p, x):
    n_in, a = spec["in"], spec["out"]
    w = p[:(1 + a) * n_in].reshape(1 + a, n_in)
    h = x @ w.T + p[(1 + a) * n_in:]
    adv = h[:, 1:]
    return h[:, :1] + adv - adv.mean(axis=1, keepdims=True)


LAYERS = {"dense": (dense_params, dense_forward), "conv": (conv_params, conv_forward),
          "flatten": (flatten_params, flatten_forward),
          "dueling": (dueling_params, dueling_forward)}


def mlp(n_in, hidden, n_out, hidden_act, out_act):
    """The layer specs of common/policy.c's MLP: hidden sizes with hidden_act, then n_out."""
    sizes = [n_in] + list(hidden) + [n_out]
    return [{"kind": "dense", "in": sizes[i], "out": sizes[i + 1],
             "act": hidden_act if i + 2 < len(sizes) else out_act} for i in range(len(sizes) - 1)]


def parse_net(text):
    """A config's `net` ("conv:16x3x3,fc:128", "fc:256,fc:256", "flatten") as a list of
    ("conv", F, kh, kw) / ("fc", N) / ("flatten",); ValueError naming the layer."""
    out = []
    for pos, item in enumerate(t.strip() for t in text.split(",")):
        try:
            kind, _, arg = item.partition(":")
            if kind == "fc":
                out.append(("fc", int(arg)))
            elif kind == "conv":
                f, kh, kw = (int(v) for v in arg.split("x"))
                out.append(("conv", f, kh, kw))
            elif kind == "flatten" and not arg:
                out.append(("flatten",))
            else:
                raise ValueError
        except ValueError:
            raise ValueError("net: layer %d %r is not fc:N, conv:FxKHxKW or flatten" %
                             (pos + 1, item)) from None
        if any(v < 1 for v in out[-1][1:]):
            raise ValueError("net: layer %d %r has a size below 1" % (pos + 1, item))
    return out


def build(n_in, in_shape, net, n_out, hidden_act, out_act, dueling=False):
    """The layer specs common/nn.c's nn_layout_build makes: the trunk of `net` (hidden_act
    after each conv and fc; a flatten before the first fc after convs and before the head),
    then a dense head of n_out with out_act or a dueling head of n_out."""
    layers, shape, size = [], (tuple(in_shape) if in_shape else None), n_in
    if shape and shape[0] * shape[1] * shape[2] != n_in:
        raise ValueError("net: input shape %r does not hold %d floats" % (shape, n_in))

    def flatten():
        nonlocal shape
        if shape:
            layers.append({"kind": "flatten", "in": size, "out": size})
            shape = None

    for item in parse_net(net):
        if item[0] == "conv":
            _, f, kh, kw = item
            if not shape:
                raise ValueError("net: conv needs an image input")
            if kh > shape[0] or kw > shape[1]:
                raise ValueError("net: conv kernel %dx%d larger than its input" % (kh, kw))
            layers.append({"kind": "conv", "shape": shape, "filters": f, "kh": kh, "kw": kw,
                           "act": hidden_act})
            shape = (shape[0] - kh + 1, shape[1] - kw + 1, f)
            size = shape[0] * shape[1] * f
        elif item[0] == "flatten":
            flatten()
        else:
            flatten()
            layers.append({"kind": "dense", "in": size, "out": item[1], "act": hidden_act})
            size = item[1]
    flatten()
    if dueling:
        layers.append({"kind": "dueling", "in": size, "out": n_out})
    else:
        layers.append({"kind": "dense", "in": size, "out": n_out, "act": out_act})
    return layers


class Network:
    def __init__(self, layers):
        self.layers = layers
        self.offsets = []
        off = 0
        for spec in layers:
            self.offsets.append(off)
            off += LAYERS[spec["kind"]][0](spec)
        self.n_params = off
        self.params = None

    def load(self, flat):
        """flat: at least n_params float32 (an actor followed by critics keeps the first)."""
        self.params = np.array(flat[:self.n_params], dtype=np.float32)

    def forward(self, x, params=None):
        """params: another buffer of this layout (e.g. the target network); default: loaded."""
        p = self.params if params is None else params
        x = np.asarray(x, dtype=np.float32)
        for spec, off in zip(self.layers, self.offsets):
            n = LAYERS[spec["kind"]][0](spec)
            x = LAYERS[spec["kind"]][1](spec, p[off:off + n], x)
        return x


def parse_hidden(text):
    if not text:
        return []
    sizes = [int(v) for v in text.split(",")]
    if any(s < 1 for s in sizes):
        raise ValueError("hidden = %r" % text)
    return sizes
