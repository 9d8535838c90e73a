"""Runs generated PyTorch modules on the cases' inputs and compares with their expected outputs.

stdin: JSON list of {"name", "module", "weights", "inputs": [pb paths], "inputTypes", "outputs": [pb paths],
"rtol", "atol"}. stdout: one JSON object per case: {"name", "ok", "error"?}. One process for all
cases: importing torch takes seconds.
"""
import importlib.util
import json
import sys

import numpy as np
import onnx
import torch
from onnx import numpy_helper


def load_pb(path):
    tensor = onnx.TensorProto()
    with open(path, "rb") as f:
        tensor.ParseFromString(f.read())
    return numpy_helper.to_array(tensor)


def as_torch(array, dtype):
    if dtype == "bfloat16":
        return torch.from_numpy(np.array(array).view(np.int16)).view(torch.bfloat16)
    return torch.from_numpy(np.array(array))


def run(case):
    spec = importlib.util.spec_from_file_location(case["name"], case["module"])
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    model = module.Model()
    model.load_state_dict(torch.load(case["weights"], weights_only=True) if "weights_only" in torch.load.__code__.co_varnames else torch.load(case["weights"]), strict=True)
    model.eval()
    inputs = [as_torch(load_pb(p), t) for p, t in zip(case["inputs"], case["inputTypes"])]
    with torch.no_grad():
        got = model(*inputs)
    if not isinstance(got, tuple):
        got = (got,)
    expected = [load_pb(p) for p in case["outputs"]]
    if len(got) != len(expected):
        return "%d outputs, expected %d" % (len(got), len(expected))
    for i, (g, e) in enumerate(zip(got, expected)):
        if isinstance(g, torch.Tensor) and g.dtype == torch.bfloat16:
            g = g.view(torch.int16).numpy().view(np.uint16)  # onnx's numpy arrays hold bfloat16 as uint16 bits
        g = g.numpy() if isinstance(g, torch.Tensor) else np.asarray(g)
        if g.shape != e.shape:
            return "output %d has shape %s, expected %s" % (i, g.shape, e.shape)
        if g.dtype != e.dtype:
            return "output %d is %s, expected %s" % (i, g.dtype, e.dtype)
        if e.dtype.kind in "fc":
            if not np.allclose(g, e, rtol=case["rtol"], atol=case["atol"], equal_nan=True):
                return "output %d differs by %g" % (i, float(np.nanmax(np.abs(g.astype(np.float64) - e.astype(np.float64)))))
        elif not np.array_equal(g, e):
            return "output %d differs" % i
    return None


for case in json.load(sys.stdin):
    try:
        error = run(case)
    except Exception as e:  # a crash is a failure like a wrong value
        error = "%s: %s" % (type(e).__name__, str(e).splitlines()[0] if str(e) else "")
    print(json.dumps({"name": case["name"], "ok": error is None, **({"error": error} if error else {})}), flush=True)
