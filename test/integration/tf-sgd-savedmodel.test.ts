import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.js";
import { hasPythonModules, runPython } from "../helpers/python.js";
import { tf } from "../formats/tf/fixtures.js";

// A real Keras 2.12 SavedModel compiled with the new SGD(momentum=0.9, nesterov): inspect lists
// its momentums under their variables' names; keras2torch writes weights real torch computes with
// as numpy computes the Keras model from the bundle (read by the independent bundle reader); a
// torch training checkpoint never holds the weights alone.

const MODEL = "savedmodel-dense-dropout-sgd-momentum-k212";
const READER = readFileSync(join(import.meta.dirname, "../formats/tf/bundle_reader.py"), "utf8").replace(/\nmain\(sys\.argv\[1\]\)\s*$/, "\n");

const COMPARE = String.raw`
import sys, json, io, contextlib, numpy as np, torch
from torch import nn
prefix, pth = sys.argv[1:3]
buf = io.StringIO()
with contextlib.redirect_stdout(buf):
    main(prefix)
entries = json.loads(buf.getvalue())["tensors"]
def w(key):
    e = entries[key + "/.ATTRIBUTES/VARIABLE_VALUE"]
    assert e["crc_ok"], key
    return np.array(e["values"], dtype=np.float32).reshape(e["shape"])
layers = [(w("layer_with_weights-%d/kernel" % i), w("layer_with_weights-%d/bias" % i)) for i in range(3)]
x = np.random.default_rng(3).random((5, layers[0][0].shape[0]), dtype=np.float32)
h = x
for i, (k, b) in enumerate(layers):
    h = h @ k + b
    h = np.maximum(h, 0) if i < 2 else np.exp(h - h.max(1, keepdims=True)) / np.exp(h - h.max(1, keepdims=True)).sum(1, keepdims=True)
state = torch.load(pth, weights_only=True)
class Chatbot(nn.Module):
    def __init__(self):
        super().__init__()
        self.dense, self.dense_1, self.dense_2 = (nn.Linear(k.shape[0], k.shape[1]) for k, _ in layers)
    def forward(self, x):
        return torch.softmax(self.dense_2(torch.relu(self.dense_1(torch.relu(self.dense(x))))), dim=-1)
model = Chatbot()
model.load_state_dict(state, strict=True)
out = model(torch.from_numpy(x)).detach().numpy()
print(json.dumps({"keys": list(state.keys()), "max_abs": float(np.abs(out - h).max()), "spread": float(h.max() - h.min())}))
`;

describe("a real Keras 2.12 SGD(momentum) SavedModel through the CLI", () => {
  it("inspect lists 6 weights and 6 momentum slots by variable name, none as optimizer/_variables/N", () => {
    const result = runCli(["inspect", tf(MODEL)]);
    expect(result.code, result.stderr).toBe(0);
    for (const layer of ["dense", "dense_1", "dense_2"]) {
      for (const v of ["kernel", "bias"]) {
        expect(result.stdout).toMatch(new RegExp(`^${layer}/${v} `, "m"));
        expect(result.stdout).toMatch(new RegExp(`^optimizer/${layer}/${v}/m `, "m"));
      }
    }
    expect(result.stdout).toContain("12 tensors (6 optimizers)");
    // (the file's own keys, optimizer/_variables/N, appear only in meta's checkpoint_keys)
    expect(result.stdout.split("\nmeta:")[0]).not.toContain("_variables");
    expect(result.stdout).toContain('tensorflow.optimizer_class: "SGD"');
  });

  it.skipIf(!hasPythonModules("torch", "numpy"))(
    "keras2torch weights-only: the momentums are left out with a reason, torch computes what numpy's Keras does",
    () => {
      const pth = join(mkdtempSync(join(tmpdir(), "wb-tf-sgd-")), "m.pt");
      const result = runCli(["convert", tf(MODEL), pth, "--map", "keras2torch"]);
      expect(result.code, result.stderr).toBe(0);
      expect(result.stderr).toContain("optimizer state (6 SGD slots of 6 variables) left out of the weights");
      const out = JSON.parse(runPython(`${READER}\n${COMPARE}`, [join(tf(MODEL), "variables/variables"), pth])) as {
        keys: string[];
        max_abs: number;
        spread: number;
      };
      expect([...out.keys].sort()).toEqual(["dense", "dense_1", "dense_2"].flatMap((l) => [`${l}.bias`, `${l}.weight`]));
      expect(out.spread).toBeGreaterThan(1e-3);
      expect(out.max_abs).toBeLessThan(1e-5);
    },
    120_000,
  );

  it.skipIf(!hasPythonModules("torch"))(
    "a torch training checkpoint (.tar) never comes out without the momentums: refused naming a slot, or holding their state",
    () => {
      const dir = mkdtempSync(join(tmpdir(), "wb-tf-sgd-"));
      const tar = join(dir, "ckpt.tar");
      const result = runCli(["convert", tf(MODEL), tar, "--map", "keras2torch"]);
      if (result.code !== 0) {
        // Today: refused (which slots torch's SGD can take is the optimizer conversion's decision).
        expect(result.code).toBe(1);
        expect(result.stderr).toMatch(/tensor 'optimizer\/dense(_\d)?\/(kernel|bias)\/m'/);
        expect(
          result.stderr
            .trim()
            .split("\n")
            .filter((l) => l.includes("error")),
        ).toHaveLength(1);
        expect(existsSync(tar)).toBe(false);
        return;
      }
      const state = JSON.parse(
        runPython(
          "import sys, json, torch\nc = torch.load(sys.argv[1])\nprint(json.dumps({'keys': sorted(c.keys()), 'states': len(c['optimizer_state_dict']['state'])}))",
          [tar],
        ),
      ) as { keys: string[]; states: number };
      expect(state).toEqual({ keys: ["model_state_dict", "optimizer_state_dict"], states: 6 });
    },
    120_000,
  );
});
