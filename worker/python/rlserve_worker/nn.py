"""The published network, forward only, batched with numpy (common/nn.h layout).

Parameters are one flat float32 buffer; a network is a list of layers, each a row of the
LAYERS table (its parameter count and its forward). Dense layer l maps in -> out with W
stored out x in (row o holds the weights into unit o) followed by b (out floats), layers
back to back. Adding a layer type (e.g. the 2-D convolution of the Pixels section) is one
forward function and one row here; the network code never asks which kind it holds."""
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


LAYERS = {"dense": (dense_params, dense_forward)}


def mlp(n_in, hidden, n_out, hidden_act, out_act):
    """The layer specs of common/policy.c's MLP: hidden sizes with hidden_act, then n_out."""
    sizes = [n_in] + list(hidden) + [n_out]
    return [{"kind": "dense", "in": sizes[i], "out": sizes[i + 1],
             "act": hidden_act if i + 2 < len(sizes) else out_act} for i in range(len(sizes) - 1)]


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

    def forward(self, x):
        x = np.asarray(x, dtype=np.float32)
        for spec, off in zip(self.layers, self.offsets):
            n = LAYERS[spec["kind"]][0](spec)
            x = LAYERS[spec["kind"]][1](spec, self.params[off:off + n], x)
        return x


def parse_hidden(text):
    if not text:
        return []
    sizes = [int(v) for v in text.split(",")]
    if any(s < 1 for s in sizes):
        raise ValueError("hidden = %r" % text)
    return sizes
