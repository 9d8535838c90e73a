import { describe, expect, it } from "vitest";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { hasPythonModules, runPython } from "../helpers/python.js";
import { read } from "../../src/api/open.js";
import { writeBytes } from "../../src/api/write.js";
import { mapCheckpoint } from "../../src/mapping/index.js";
import { byName, floats } from "../mapping/helpers.js";
import type { Checkpoint } from "../../src/tensor/checkpoint.js";
import type { Tensor } from "../../src/tensor/tensor.js";

// Real PyTorch makes the model; torch2keras lays its weights out the Keras way; numpy then
// computes each layer with the Keras conventions (x @ kernel, NHWC conv with HWIO kernels, a
// Keras LSTM cell with i,f,c,o gates and one bias) and must get what torch computes.
const MAKE = String.raw`
import sys, torch
torch.manual_seed(0)
class M(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = torch.nn.Linear(6, 4)
        self.conv = torch.nn.Conv2d(3, 8, 3)
        self.dw = torch.nn.Conv2d(4, 8, 3, groups=4)
        self.bn = torch.nn.BatchNorm2d(8)
        self.emb = torch.nn.Embedding(10, 6)
        self.lstm = torch.nn.LSTM(6, 5)
        self.gru = torch.nn.GRU(6, 3)
        self.ln = torch.nn.LayerNorm(6)
m = M()
with torch.no_grad():
    for p in m.parameters():
        p.copy_(torch.randn_like(p) * 0.5)
m.bn.train(); m.bn(torch.randn(4, 8, 5, 5)); m.bn.train(); m.bn(torch.randn(4, 8, 5, 5))
torch.save(m.state_dict(), sys.argv[1])
`;

const CHECK = String.raw`
import sys, json, struct, torch, numpy as np
torch.manual_seed(1)
sd = torch.load(sys.argv[1])
def safetensors(path):
    raw = open(path, "rb").read()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    out = {}
    for k, v in header.items():
        if k == "__metadata__": continue
        a, b = v["data_offsets"]
        out[k] = np.frombuffer(raw[8 + n + a:8 + n + b], dtype={"F32": "<f4", "I64": "<i8"}[v["dtype"]]).reshape(v["shape"])
    return out
k = safetensors(sys.argv[2])
err = {}
F = torch.nn.functional
# Dense: y = x @ kernel + bias
x = torch.randn(7, 6)
err["dense"] = float(np.abs(x.numpy() @ k["fc/kernel:0"] + k["fc/bias:0"] - F.linear(x, sd["fc.weight"], sd["fc.bias"]).numpy()).max())
# Conv2D, channels_last, HWIO kernel, valid padding
def conv_nhwc(xh, kern, bias):
    kh, kw, cin, cout = kern.shape
    n, h, w, _ = xh.shape
    out = np.zeros((n, h - kh + 1, w - kw + 1, cout), np.float64)
    for i in range(kh):
        for j in range(kw):
            out += np.einsum("nhwc,co->nhwo", xh[:, i:i + h - kh + 1, j:j + w - kw + 1, :], kern[i, j])
    return out + bias
xi = torch.randn(2, 3, 6, 6)
ref = F.conv2d(xi, sd["conv.weight"], sd["conv.bias"]).permute(0, 2, 3, 1).numpy()
err["conv2d"] = float(np.abs(conv_nhwc(xi.permute(0, 2, 3, 1).numpy(), k["conv/kernel:0"], k["conv/bias:0"]) - ref).max())
# DepthwiseConv2D: kernel [kh,kw,in,mult], output channel c*mult+m
xd = torch.randn(2, 4, 6, 6)
ref = F.conv2d(xd, sd["dw.weight"], sd["dw.bias"], groups=4).permute(0, 2, 3, 1).numpy()
dk = k["dw/depthwise_kernel:0"]
kh, kw, cin, mult = dk.shape
xh = xd.permute(0, 2, 3, 1).numpy()
out = np.zeros((2, 4, 4, cin * mult))
for c in range(cin):
    for mm in range(mult):
        for i in range(kh):
            for j in range(kw):
                out[..., c * mult + mm] += xh[:, i:i + 4, j:j + 4, c] * dk[i, j, c, mm]
err["depthwise"] = float(np.abs(out + k["dw/bias:0"] - ref).max())
# BatchNormalization (inference), Keras names
xb = torch.randn(3, 8, 2, 2)
m = torch.nn.BatchNorm2d(8); m.load_state_dict({kk[3:]: v for kk, v in sd.items() if kk.startswith("bn.")}); m.eval()
ref = m(xb).permute(0, 2, 3, 1).detach().numpy()
xh = xb.permute(0, 2, 3, 1).numpy()
ours = k["bn/gamma:0"] * (xh - k["bn/moving_mean:0"]) / np.sqrt(k["bn/moving_variance:0"] + 1e-5) + k["bn/beta:0"]
err["batchnorm"] = float(np.abs(ours - ref).max())
# Embedding: a row lookup, no transpose
ids = torch.tensor([0, 3, 9])
err["embedding"] = float(np.abs(k["emb/embeddings:0"][ids.numpy()] - F.embedding(ids, sd["emb.weight"]).numpy()).max())
# LayerNormalization
xl = torch.randn(4, 6)
ref = F.layer_norm(xl, (6,), sd["ln.weight"], sd["ln.bias"]).numpy()
mu = xl.numpy().mean(-1, keepdims=True); var = xl.numpy().var(-1, keepdims=True)
err["layernorm"] = float(np.abs((xl.numpy() - mu) / np.sqrt(var + 1e-5) * k["ln/gamma:0"] + k["ln/beta:0"] - ref).max())
sig = lambda v: 1 / (1 + np.exp(-v))
# Keras LSTM cell: z = x@kernel + h@recurrent_kernel + bias; gates i,f,c,o
lstm = torch.nn.LSTM(6, 5); lstm.load_state_dict({kk[5:]: v for kk, v in sd.items() if kk.startswith("lstm.")})
xs = torch.randn(4, 1, 6)
ref, _ = lstm(xs)
h = np.zeros((1, 5)); c = np.zeros((1, 5)); outs = []
for t in range(4):
    z = xs[t].numpy() @ k["lstm/kernel:0"] + h @ k["lstm/recurrent_kernel:0"] + k["lstm/bias:0"]
    i, f, g, o = np.split(z, 4, axis=-1)
    c = sig(f) * c + sig(i) * np.tanh(g); h = sig(o) * np.tanh(c); outs.append(h)
err["lstm"] = float(np.abs(np.stack(outs) - ref.detach().numpy()).max())
# Keras GRU (reset_after=True): gates z,r,h; bias row 0 input, row 1 recurrent
gru = torch.nn.GRU(6, 3); gru.load_state_dict({kk[4:]: v for kk, v in sd.items() if kk.startswith("gru.")})
ref, _ = gru(xs)
h = np.zeros((1, 3)); outs = []
bi, br = k["gru/bias:0"]
for t in range(4):
    mx = xs[t].numpy() @ k["gru/kernel:0"] + bi
    mh = h @ k["gru/recurrent_kernel:0"] + br
    xz, xr, xh_ = np.split(mx, 3, axis=-1); hz, hr, hh = np.split(mh, 3, axis=-1)
    z = sig(xz + hz); r = sig(xr + hr); hc = np.tanh(xh_ + r * hh)
    h = z * h + (1 - z) * hc; outs.append(h)
err["gru"] = float(np.abs(np.stack(outs) - ref.detach().numpy()).max())
print(json.dumps(err))
`;

function withoutHints(c: Checkpoint): Checkpoint {
  return { ...c, tensors: c.tensors.map(({ layer: _l, ...rest }) => rest as Tensor) };
}

describe.skipIf(!hasPythonModules("torch", "numpy"))("torch ⇄ keras conventions against real PyTorch", () => {
  it("Keras-layout weights compute what torch computes, and come back bit-exact", async () => {
    const dir = mkdtempSync(join(tmpdir(), "wb-interop-"));
    const pt = join(dir, "model.pt");
    runPython(MAKE, [pt]);
    const source = await read(pt);
    try {
      // A bare state_dict says nothing of groups: tell the mapping which conv is depthwise.
      const overrides = join(dir, "kinds.json");
      writeFileSync(overrides, JSON.stringify({ name: "kinds", kinds: [{ match: "^dw\\.", kind: "depthwise_conv2d", attributes: { groups: 4 } }], rules: [] }));
      const { checkpoint: keras, report } = await mapCheckpoint(source, { map: [overrides, "torch2keras"] });
      expect(report.unmatched).toEqual([]);
      const st = join(dir, "keras.safetensors");
      writeFileSync(st, await writeBytes(keras, "safetensors"));
      const err = JSON.parse(runPython(CHECK, [pt, st])) as Record<string, number>;
      if (process.env.WB_DEBUG) console.log(err);
      expect(Object.keys(err).sort()).toEqual(["batchnorm", "conv2d", "dense", "depthwise", "embedding", "gru", "layernorm", "lstm"]);
      for (const [layer, e] of Object.entries(err)) expect(e, layer).toBeLessThan(1e-5);
      expect(err.embedding).toBe(0);

      const { checkpoint: back } = await mapCheckpoint(withoutHints(keras), { map: [overrides, "keras2torch"] });
      const a = await byName(source);
      const b = await byName(back);
      expect([...b.keys()].sort()).toEqual([...a.keys()].sort());
      for (const [name, x] of a) {
        const y = b.get(name)!;
        expect(y.shape, name).toEqual(x.shape);
        if (name.startsWith("lstm.bias")) continue;
        if (name.endsWith("num_batches_tracked")) continue; // Keras has no counter: it comes back as 0
        expect(y.bytes, name).toEqualBytes(x.bytes);
      }
      const [ih, hh] = [floats(a.get("lstm.bias_ih_l0")!.bytes), floats(a.get("lstm.bias_hh_l0")!.bytes)];
      expect(floats(b.get("lstm.bias_ih_l0")!.bytes)).toEqual(ih.map((v, i) => Math.fround(v + hh[i]!)));
    } finally {
      await source.close();
    }
  }, 120_000);
});
