"""Checks an exported policy against recorded actions: the C policy's own (py_helper act) or
the Python worker's forward (record_py_actions.py, for env = worker:ID runs).
Usage: check_export.py MODEL.onnx MODEL.npz ACTIONS.bin TOL
ACTIONS.bin (py_helper act): int32 n, obs_dim, act_dim, then n x obs_dim observations and the
n x act_dim actions the C greedy policy chose (float32), and for a discrete policy recorded by
py_helper the n x n_actions Q-values of the C forward (common/nn.c). The ONNX model must pass
onnx.checker and, run with OpenCV's dnn module, choose the same action on every observation
(discrete) or one within TOL (continuous); the npz arrays, run through numpy by the layout
README "Using an exported policy" documents (conv trunks and dueling heads included), must do
the same, except where numpy's two best Q-values are within float32 rounding of each other
(numpy sums the products in another order than nn.c: a near-tie may break the other way; such
observations are counted and printed). With recorded Q-values, the ONNX and the npz Q-values
must be within 1e-4 of the C ones relative to the row's largest |Q| (the max is printed).
rlserve_worker.portable (what `python3 -m rlserve_worker.evaluate --policy` runs) must choose
the same actions from both files as OpenCV / the npz forward do."""
import struct
import sys

import cv2
import numpy as np
import onnx

from rlserve_worker import portable

Q_RTOL = 1e-4


def act(name, x):
    if name == "relu":
        return np.maximum(x, 0)
    if name == "tanh":
        return np.tanh(x)
    return x


def npz_forward(z, obs):
    """The documented numpy rebuild: walk the `layout` line, layer l's arrays by name."""
    items = str(z["layout"]).split()
    assert items[0].startswith("in:"), items
    x = obs.astype(np.float32)
    for l, item in enumerate(items[1:]):
        f = item.split(":")
        p = "layer%d." % l
        if f[0] == "conv":
            if x.ndim == 2:  # [batch, H*W*C] channels last -> NCHW
                x = x.reshape(z[p + "in_shape"]).transpose(0, 3, 1, 2)
            w, b = z[p + "weight"], z[p + "bias"]  # [F, C, kh, kw], [F]
            n, c, h, wd = x.shape
            fo, _, kh, kw = w.shape
            oh, ow = h - kh + 1, wd - kw + 1
            y = np.zeros((n, fo, oh, ow), np.float32) + b[None, :, None, None]
            for dy in range(kh):
                for dx in range(kw):
                    y += np.einsum("nchw,fc->nfhw", x[:, :, dy:dy + oh, dx:dx + ow], w[:, :, dy, dx])
            x = act(f[2], y)
        elif f[0] == "flatten":
            if x.ndim == 4:  # back to channels last, pixel-major: nn.c's flatten order
                x = x.transpose(0, 2, 3, 1).reshape(z[p + "out_shape"])
        elif f[0] == "fc":
            x = act(f[2], x @ z[p + "weight"].T + z[p + "bias"])
        elif f[0] == "dueling":
            v = x @ z[p + "value.weight"].T + z[p + "value.bias"]
            a = x @ z[p + "advantage.weight"].T + z[p + "advantage.bias"]
            x = v + a - a.mean(axis=1, keepdims=True)
        else:
            raise SystemExit("unknown layer %r in the npz layout" % item)
    return x


def q_rel(got, want):
    scale = np.maximum(np.max(np.abs(want), axis=1, keepdims=True), 1e-6)
    return float(np.max(np.abs(got - want) / scale))


def main():
    onnx_path, npz_path, act_path, tol = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
    raw = open(act_path, "rb").read()
    n, od, ad = struct.unpack_from("<iii", raw)
    obs = np.frombuffer(raw, "<f4", n * od, 12).reshape(n, od)
    want = np.frombuffer(raw, "<f4", n * ad, 12 + 4 * n * od).reshape(n, ad)
    q_off = 12 + 4 * n * (od + ad)
    model = onnx.load(onnx_path)
    onnx.checker.check_model(model, full_check=True)
    print("onnx.checker: %s passes (ir_version %d, opset %d, %d nodes: %s)"
          % (onnx_path, model.ir_version, model.opset_import[0].version, len(model.graph.node),
             " ".join(sorted({nd.op_type for nd in model.graph.node}))))
    outs = [o.name for o in model.graph.output]
    discrete = "q" in outs
    net = cv2.dnn.readNetFromONNX(onnx_path)
    net.setInput(np.ascontiguousarray(obs))
    if discrete:
        got, got_q = net.forward(["action", "q"])
    else:
        got = net.forward("action")
    got = got.reshape(n, -1)
    z = np.load(npz_path, allow_pickle=False)
    print("npz layout: %s" % str(z["layout"]))
    x = npz_forward(z, obs)
    ok = True
    if discrete:
        npz_act = np.argmax(x, axis=1).reshape(n, 1)
        agree = int(np.sum(got.astype(np.int64) == want.astype(np.int64)))
        same = npz_act == want.astype(np.int64)
        agree_npz = int(np.sum(same))
        top2 = np.sort(x, axis=1)[:, -2:]
        tie = (top2[:, 1] - top2[:, 0]) <= 1e-5 * np.maximum(1.0, np.abs(top2[:, 1]))
        ties_differ = int(np.sum(~same[:, 0] & tie))
        print("OpenCV dnn: %d of %d actions equal to the recorded policy's; npz + numpy: %d of %d"
              " (%d of the others a near-tie of the two best Q-values)"
              % (agree, n, agree_npz, n, ties_differ))
        ok = agree == n and agree_npz + ties_differ == n
        nq = x.shape[1]
        if len(raw) == q_off + 4 * n * nq:
            want_q = np.frombuffer(raw, "<f4", n * nq, q_off).reshape(n, nq)
            e_cv, e_np = q_rel(got_q.reshape(n, nq), want_q), q_rel(x, want_q)
            print("Q-values vs the C forward, max |dQ| / max|Q| of the row: OpenCV dnn %.3g, npz +"
                  " numpy %.3g (tolerance %g; |Q| up to %.3g)" % (e_cv, e_np, Q_RTOL, float(np.max(np.abs(want_q)))))
            ok = ok and e_cv <= Q_RTOL and e_np <= Q_RTOL
        elif len(raw) != q_off:
            raise SystemExit("%s: %d bytes after the actions, not n x %d Q-values" % (act_path, len(raw) - q_off, nq))
    else:
        npz_act = z["action_bias"] + z["action_scale"] * x  # the layout's last fc ends in tanh
        err = float(np.max(np.abs(got - want)))
        err_npz = float(np.max(np.abs(npz_act - want)))
        print("OpenCV dnn: max |action - C action| = %.3g over %d observations (tolerance %g); npz + numpy: %.3g"
              % (err, n, tol, err_npz))
        ok = err <= tol and err_npz <= tol
    # rlserve_worker.evaluate --policy: the recorded actions from both files (discrete: but for
    # the same float32 near-ties as the npz forward's)
    for path in (onnx_path, npz_path):
        a = portable.load(path)[0](obs).reshape(n, -1)
        kind = path.rsplit(".", 1)[1]
        if discrete:
            diff = a[:, 0].astype(np.int64) != want[:, 0].astype(np.int64)
            bad = int(np.sum(diff & ~tie))
            print("rlserve_worker.portable %s: %d of %d actions equal to the recorded ones (%d of"
                  " the others a near-tie)" % (kind, n - int(np.sum(diff)), n, int(np.sum(diff)) - bad))
            ok = ok and bad == 0
        else:
            e = float(np.max(np.abs(a - want)))
            print("rlserve_worker.portable %s: max |action - recorded action| = %.3g" % (kind, e))
            ok = ok and e <= tol
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
