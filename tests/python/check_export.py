"""Checks an exported policy against recorded actions: the C policy's own (py_helper act) or
the Python worker's forward (record_py_actions.py, for env = worker:ID runs).
Usage: check_export.py MODEL.onnx MODEL.npz ACTIONS.bin TOL
ACTIONS.bin (py_helper act): int32 n, obs_dim, act_dim, then n x obs_dim observations and the
n x act_dim actions the C greedy policy chose (float32). The ONNX model must pass onnx.checker
and, run with OpenCV's dnn module, choose the same action on every observation (discrete) or
one within TOL (continuous); the npz arrays, run through numpy by the documented layout, must
do the same, except where numpy's two best Q-values are within float32 rounding of each other
(numpy sums the products in another order than nn.c: a near-tie may break the other way; such
observations are counted and printed)."""
import struct
import sys

import cv2
import numpy as np
import onnx


def main():
    onnx_path, npz_path, act_path, tol = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
    raw = open(act_path, "rb").read()
    n, od, ad = struct.unpack_from("<iii", raw)
    obs = np.frombuffer(raw, "<f4", n * od, 12).reshape(n, od)
    want = np.frombuffer(raw, "<f4", n * ad, 12 + 4 * n * od).reshape(n, ad)
    model = onnx.load(onnx_path)
    onnx.checker.check_model(model, full_check=True)
    print("onnx.checker: %s passes (ir_version %d, opset %d, %d nodes)"
          % (onnx_path, model.ir_version, model.opset_import[0].version, len(model.graph.node)))
    outs = [o.name for o in model.graph.output]
    discrete = "q" in outs
    net = cv2.dnn.readNetFromONNX(onnx_path)
    net.setInput(np.ascontiguousarray(obs))
    got = net.forward("action").reshape(n, -1)
    z = np.load(npz_path)
    layers = sorted({k.split(".")[0] for k in z.files if k.startswith("layer")}, key=lambda s: int(s[5:]))
    x = obs.astype(np.float32)
    for i, name in enumerate(layers):
        x = x @ z[name + ".weight"].T + z[name + ".bias"]
        if i + 1 < len(layers):
            x = np.maximum(x, 0)  # the presets' hidden activation (relu)
    if discrete:
        npz_act = np.argmax(x, axis=1).reshape(n, 1)
        agree = int(np.sum(got.astype(np.int64) == want.astype(np.int64)))
        same = npz_act == want.astype(np.int64)
        agree_npz = int(np.sum(same))
        top2 = np.sort(x, axis=1)[:, -2:]
        tie = (top2[:, 1] - top2[:, 0]) <= 1e-5 * np.maximum(1.0, np.abs(top2[:, 1]))
        ties_differ = int(np.sum(~same[:, 0] & tie))
        print("OpenCV dnn: %d of %d actions equal to the C greedy policy's; npz + numpy: %d of %d"
              " (%d of the others a near-tie of the two best Q-values)"
              % (agree, n, agree_npz, n, ties_differ))
        ok = agree == n and agree_npz + ties_differ == n
    else:
        npz_act = z["action_bias"] + z["action_scale"] * np.tanh(x)
        err = float(np.max(np.abs(got - want)))
        err_npz = float(np.max(np.abs(npz_act - want)))
        print("OpenCV dnn: max |action - C action| = %.3g over %d observations (tolerance %g); npz + numpy: %.3g"
              % (err, n, tol, err_npz))
        ok = err <= tol and err_npz <= tol
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
