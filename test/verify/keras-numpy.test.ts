import { describe, expect, it } from "vitest";
import { hasPythonModules, runPython } from "../helpers/python.js";
import { computeReference } from "../../src/verify/check.js";
import { sideOf } from "../../src/verify/pairing.js";
import { f32 } from "./helpers.js";

// The Keras layers TensorFlow.js 4.x lacks — GRU with reset_after=True (Keras' default since
// TF 2) and MultiHeadAttention (EinsumDense projections) — against numpy implementations of
// Keras' documented computations, weights named and shaped as Keras saves them.
const MAKE = String.raw`
import json, numpy as np
rng = np.random.default_rng(0)
sig = lambda v: 1 / (1 + np.exp(-v))
out = {}
# GRU(units=3, reset_after=True): kernel [in, 3u] (z, r, h), recurrent_kernel [u, 3u], bias [2, 3u]
I, U, T, N = 4, 3, 3, 2
K = rng.normal(size=(I, 3 * U)) * 0.5; R = rng.normal(size=(U, 3 * U)) * 0.5; B = rng.normal(size=(2, 3 * U)) * 0.5
x = rng.normal(size=(N, T, I))
ys = np.zeros((N, T, U))
for n in range(N):
    h = np.zeros(U)
    for t in range(T):
        xz, xr, xh = np.split(x[n, t] @ K + B[0], 3)
        rz, rr, rh = np.split(h @ R + B[1], 3)
        z = sig(xz + rz); r = sig(xr + rr); hh = np.tanh(xh + r * rh)
        h = z * h + (1 - z) * hh
        ys[n, t] = h
out["gru"] = {"weights": {"kernel": K.tolist(), "recurrent_kernel": R.tolist(), "bias": B.tolist()}, "x": x.flatten().tolist(), "y": ys.flatten().tolist()}
# MultiHeadAttention(num_heads=2, key_dim=3) on [1, L, E]: query/key/value kernel [E, h, k], bias [h, k];
# attention_output kernel [h, k, E], bias [E]; scores scaled by 1/sqrt(key_dim).
E, Hn, Dk, L = 5, 2, 3, 3
w = {}
for p in ("query", "key", "value"):
    w[p + "/kernel"] = rng.normal(size=(E, Hn, Dk)) * 0.5; w[p + "/bias"] = rng.normal(size=(Hn, Dk)) * 0.5
w["attention_output/kernel"] = rng.normal(size=(Hn, Dk, E)) * 0.5; w["attention_output/bias"] = rng.normal(size=(E,)) * 0.5
x = rng.normal(size=(L, E))
q = np.einsum("le,ehk->lhk", x, w["query/kernel"]) + w["query/bias"]
k = np.einsum("le,ehk->lhk", x, w["key/kernel"]) + w["key/bias"]
v = np.einsum("le,ehk->lhk", x, w["value/kernel"]) + w["value/bias"]
s = np.einsum("lhk,mhk->hlm", q, k) / np.sqrt(Dk)
p = np.exp(s - s.max(-1, keepdims=True)); p /= p.sum(-1, keepdims=True)
ctx = np.einsum("hlm,mhk->lhk", p, v)
y = np.einsum("lhk,hke->le", ctx, w["attention_output/kernel"]) + w["attention_output/bias"]
out["mha"] = {"weights": {n: a.tolist() for n, a in w.items()}, "x": x.flatten().tolist(), "y": y.flatten().tolist()}
print(json.dumps(out))
`;

type Nested = number | Nested[];
function flat(v: Nested): { data: number[]; shape: number[] } {
  const shape: number[] = [];
  for (let x: Nested = v; Array.isArray(x); x = x[0]!) shape.push(x.length);
  return { data: (v as number[]).flat(8) as number[], shape };
}

describe.skipIf(!hasPythonModules("numpy"))("Keras reference layers against numpy (GRU reset_after, MultiHeadAttention)", () => {
  const cases = hasPythonModules("numpy") ? (JSON.parse(runPython(MAKE)) as Record<string, { weights: Record<string, Nested>; x: number[]; y: number[] }>) : {};
  for (const [name, kind] of [
    ["gru", "gru"],
    ["mha", "mha"],
  ] as const) {
    it(`${name}`, async () => {
      const c = cases[name]!;
      const tensors = Object.entries(c.weights).map(([role, v]) => {
        const { data, shape } = flat(v);
        return f32(`${name}/${role}:0`, shape, data);
      });
      const { output } = await computeReference(kind, sideOf(tensors, "keras"), Float64Array.from(c.x));
      expect(output.length).toBe(c.y.length);
      expect(Math.max(...c.y.map(Math.abs))).toBeGreaterThan(0.05);
      const err = Math.max(...c.y.map((v, i) => Math.abs(v - output[i]!)));
      expect(err).toBeLessThan(1e-5);
    });
  }
});
