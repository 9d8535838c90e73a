"""Runs one generated module on given inputs. stdin: {"module", "weights", "inputs": [{"dtype", "shape", "values"}]};
stdout: [{"shape", "values"}] per output."""
import importlib.util
import json
import sys

import torch

job = json.load(sys.stdin)
spec = importlib.util.spec_from_file_location("generated", job["module"])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
model = module.Model()
model.load_state_dict(torch.load(job["weights"], weights_only=True), strict=True)
model.eval()
inputs = [torch.tensor(i["values"], dtype=getattr(torch, i["dtype"])).reshape(i["shape"]) for i in job["inputs"]]
with torch.no_grad():
    outputs = model(*inputs)
if not isinstance(outputs, tuple):
    outputs = (outputs,)
print(json.dumps([{"shape": list(o.shape), "values": o.double().flatten().tolist()} for o in outputs]))
