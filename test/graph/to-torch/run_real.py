"""Runs one generated module on given inputs.

stdin: {"module", "weights", "inputs": [{"dtype", "shape", "path"}], "outputs": DIR}: each input is float64
little-endian values in a file; each output i is written to DIR/output_i.bin (float64); stdout: the shapes.
"""
import importlib.util
import json
import sys

import numpy as np
import torch

job = json.load(sys.stdin)
spec = importlib.util.spec_from_file_location("generated", job["module"])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
model = module.Model()
model.load_state_dict(torch.load(job["weights"], weights_only=True), strict=True)
model.eval()
inputs = [torch.from_numpy(np.fromfile(i["path"], dtype="<f8").reshape(i["shape"])).to(getattr(torch, i["dtype"])) for i in job["inputs"]]
with torch.no_grad():
    outputs = model(*inputs)
if not isinstance(outputs, tuple):
    outputs = (outputs,)
for i, o in enumerate(outputs):
    o.double().numpy().astype("<f8").tofile("%s/output_%d.bin" % (job["outputs"], i))
print(json.dumps([list(o.shape) for o in outputs]))
