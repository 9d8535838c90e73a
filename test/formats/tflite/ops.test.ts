import { describe, expect, it } from "vitest";
import { join } from "node:path";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { hasPythonModules, runPython } from "../../helpers/python.js";
import { hasPythonTflite, pythonAccessors } from "../../helpers/flatc.js";
import { runCli } from "../../helpers/cli.js";

// GATHER (an embedding's params), PRELU (alpha) and CONV_3D (DHWIO filter, bias): no
// converter-written fixture has them, so a model holding the three is written here with the
// Python builders flatc generates from the schema (tflite_build.py), mapped with tflite2torch,
// and the torch modules run against the TFLite ops' semantics computed in numpy from that file.

const HERE = import.meta.dirname;

const BUILD = `
import sys, numpy as np
sys.path.insert(0, sys.argv[1]); sys.path.insert(0, sys.argv[2])
import tflite_build
from tflite.TensorType import TensorType as TT
from tflite.BuiltinOperator import BuiltinOperator as OP
from tflite.BuiltinOptions import BuiltinOptions as BO
from tflite.Padding import Padding
import tflite.GatherOptions as GO, tflite.Conv3DOptions as CO
rng = np.random.default_rng(11)
f32 = lambda *shape: rng.uniform(-1, 1, shape).astype(np.float32)
alpha_shape = (1, 1, 4) if sys.argv[4] == "per_channel" else (3, 3, 4)

def gather_options(b):
    GO.GatherOptionsStart(b); GO.GatherOptionsAddAxis(b, 0); return GO.GatherOptionsEnd(b)

def conv3d_options(b):
    CO.Conv3DOptionsStart(b); CO.Conv3DOptionsAddPadding(b, Padding.VALID)
    for add in (CO.Conv3DOptionsAddStrideD, CO.Conv3DOptionsAddStrideH, CO.Conv3DOptionsAddStrideW,
                CO.Conv3DOptionsAddDilationDFactor, CO.Conv3DOptionsAddDilationHFactor, CO.Conv3DOptionsAddDilationWFactor):
        add(b, 1)
    return CO.Conv3DOptionsEnd(b)

tensors = [
    ("ids", TT.INT32, [5], None),
    ("emb/embeddings", TT.FLOAT32, [7, 4], f32(7, 4)),
    ("emb/Gather", TT.FLOAT32, [5, 4], None),
    ("act/x", TT.FLOAT32, [1, 3, 3, 4], None),
    ("act/alpha", TT.FLOAT32, list(alpha_shape), f32(*alpha_shape)),
    ("act/PRelu", TT.FLOAT32, [1, 3, 3, 4], None),
    ("c3/x", TT.FLOAT32, [1, 4, 5, 5, 2], None),
    ("c3/kernel", TT.FLOAT32, [2, 3, 3, 2, 3], f32(2, 3, 3, 2, 3)),
    ("c3/bias", TT.FLOAT32, [3], f32(3)),
    ("c3/Conv3D", TT.FLOAT32, [1, 3, 3, 3, 3], None),
]
operators = [
    (OP.GATHER, [1, 0], [2], (BO.GatherOptions, gather_options)),
    (OP.PRELU, [3, 4], [5], None),
    (OP.CONV_3D, [6, 7, 8], [9], (BO.Conv3DOptions, conv3d_options)),
]
open(sys.argv[3], "wb").write(tflite_build.build(tensors, operators))
`;

// The ops' semantics (TFLite's reference kernels), on the constants read back from the file:
// GATHER(axis 0) params[ids]; PRELU x >= 0 ? x : alpha·x, alpha broadcast over NHWC; CONV_3D
// VALID, stride 1: out[n,d,h,w,o] = Σ x[n,d+i,h+j,w+k,c]·filter[i,j,k,c,o] + bias[o] (NDHWC).
const RUN = `
import sys, json, numpy as np, torch
sys.path.insert(0, sys.argv[1])
import tflite.Model
buf = open(sys.argv[2], "rb").read()
m = tflite.Model.Model.GetRootAsModel(buf, 0); g = m.Subgraphs(0)
const = {}
for i in range(g.TensorsLength()):
    t = g.Tensors(i); b = m.Buffers(t.Buffer())
    if b.DataLength() > 0:
        const[t.Name().decode()] = np.frombuffer(b.DataAsNumpy().tobytes(), np.float32).reshape(t.ShapeAsNumpy()).astype(np.float64)
state = {k: v.double() for k, v in torch.load(sys.argv[3], weights_only=True).items()}
rng = np.random.default_rng(2)
result = {"names": sorted(state)}
with torch.no_grad():
    ids = np.array([3, 0, 6, 3, 1])
    emb = torch.nn.Embedding(7, 4).double(); emb.load_state_dict({"weight": state["emb.weight"]})
    result["gather"] = float(np.max(np.abs(emb(torch.from_numpy(ids)).numpy() - const["emb/embeddings"][ids])))

    x = rng.uniform(-1, 1, (1, 3, 3, 4))
    want = np.where(x >= 0, x, const["act/alpha"] * x)
    prelu = torch.nn.PReLU(4).double(); prelu.load_state_dict({"weight": state["act.weight"]})
    got = prelu(torch.from_numpy(x).permute(0, 3, 1, 2)).permute(0, 2, 3, 1).numpy()
    result["prelu"] = float(np.max(np.abs(got - want)))

    x = rng.uniform(-1, 1, (1, 4, 5, 5, 2))
    f, bias = const["c3/kernel"], const["c3/bias"]
    KD, KH, KW, _, OUT = f.shape
    want = np.zeros((1, 4 - KD + 1, 5 - KH + 1, 5 - KW + 1, OUT))
    for d in range(want.shape[1]):
        for h in range(want.shape[2]):
            for w in range(want.shape[3]):
                want[0, d, h, w] = np.einsum("ijkc,ijkco->o", x[0, d:d + KD, h:h + KH, w:w + KW], f) + bias
    conv = torch.nn.Conv3d(2, 3, (KD, KH, KW)).double(); conv.load_state_dict({"weight": state["c3.weight"], "bias": state["c3.bias"]})
    got = conv(torch.from_numpy(x).permute(0, 4, 1, 2, 3)).permute(0, 2, 3, 4, 1).numpy()
    result["conv3d"] = float(np.max(np.abs(got - want) / np.max(np.abs(want))))
print(json.dumps(result))
`;

const READY = hasPythonTflite() && hasPythonModules("torch", "numpy");

function buildModel(dir: string, alpha: "per_channel" | "per_position"): string {
  const model = join(dir, `ops-${alpha}.tflite`);
  runPython(BUILD, [pythonAccessors(), HERE, model, alpha]);
  return model;
}

describe.skipIf(!READY)("tflite GATHER, PRELU and CONV_3D → PyTorch (tflite2torch)", () => {
  it("Embedding, PReLU and Conv3d with the mapped weights compute the TFLite ops; torch2tflite gives the file back", () => {
    const dir = mkdtempSync(join(tmpdir(), "tflite-ops-"));
    const model = buildModel(dir, "per_channel");
    const pt = join(dir, "ops.pt");
    const r = runCli(["convert", model, pt, "--map", "tflite2torch"]);
    expect(r.code, r.stderr).toBe(0);
    const result = JSON.parse(runPython(RUN, [pythonAccessors(), model, pt])) as Record<string, number> & { names: string[] };
    expect(result.names).toEqual(["act.weight", "c3.bias", "c3.weight", "emb.weight"]);
    expect(result.gather).toBe(0);
    expect(result.prelu).toBe(0);
    expect(result.conv3d).toBeLessThan(1e-5);

    const back = join(dir, "back.tflite");
    const w = runCli(["convert", pt, back, "--map", "torch2tflite", "--template", model]);
    expect(w.code, w.stderr).toBe(0);
    expect(readFileSync(back).equals(readFileSync(model))).toBe(true);
  });

  it("a PRELU with one alpha per position (torch's PReLU has one per channel) is refused in one line", () => {
    const dir = mkdtempSync(join(tmpdir(), "tflite-ops-"));
    const model = buildModel(dir, "per_position");
    const r = runCli(["convert", model, join(dir, "ops.pt"), "--map", "tflite2torch"]);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toMatch(/tensor 'act\/alpha'.*one slope per position/);
  });
});
