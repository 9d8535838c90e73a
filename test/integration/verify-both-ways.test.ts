import { describe, expect, it } from "vitest";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import ort from "onnxruntime-node";
import { hasPythonModules, runPython } from "../helpers/python.js";
import { runCli } from "../helpers/cli.js";
import { fixture } from "../helpers/fixtures.js";

// Issue 27, "verify must be right in both directions": a right conversion is confirmed, a wrong
// one is not, and a check of nothing is no pass.

// The real OnnxMLTools export of the hls4ml three-layer Keras MLP (MatMul + Add, initializers W, B, W1 ...;
// the same exporter and naming as dense_big_keras.onnx from the same repository).
const MLP = join(fixture("onnx", "real"), "three_layer_keras.onnx");

// torch computes the converted state_dict as the graph does: Linear → ReLU ×3 → Linear → Softmax.
const TORCH_MLP = String.raw`
import sys, json, torch
F = torch.nn.functional
sd = torch.load(sys.argv[1], weights_only=True); x = torch.tensor(json.loads(sys.argv[2])).reshape(1, 16)
for w, b in (("W", "B"), ("W1", "B1"), ("W2", "B2")): x = F.relu(F.linear(x, sd[w], sd[b]))
print(json.dumps(F.softmax(F.linear(x, sd["W3"], sd["B3"]), 1).flatten().tolist()))
`;

const TAMPER = String.raw`
import sys, torch
sd = torch.load(sys.argv[1], weights_only=True); sd["B1"] = sd["B1"] + 0.5; torch.save(sd, sys.argv[2])
`;

describe.skipIf(!hasPythonModules("torch"))("verify both ways (issue 27)", { timeout: 240_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), "wb-verify-both-"));

  it("onnx2torch of an MLP whose initializers keep their names (W, B): torch computes what onnxruntime does, verify confirms it and fails a tampered copy", async () => {
    const out = join(dir, "mlp.pt");
    expect(runCli(["convert", MLP, out, "--map", "onnx2torch"]).code).toBe(0);
    const x = Float32Array.from({ length: 16 }, (_, i) => Math.sin(i + 1));
    const session = await ort.InferenceSession.create(MLP);
    const result = await session.run({ [session.inputNames[0]!]: new ort.Tensor("float32", x, [1, 16]) });
    const expected = Array.from(result[session.outputNames[0]!]!.data as Float32Array);
    const got = JSON.parse(runPython(TORCH_MLP, [out, JSON.stringify(Array.from(x))])) as number[];
    expect(Math.max(...got.map((v, i) => Math.abs(v - expected[i]!)))).toBeLessThan(1e-5);
    const v = runCli(["verify", MLP, out, "--map", "onnx2torch"]);
    expect(v.code, v.stdout + v.stderr).toBe(0);
    expect(v.stdout).toContain("verified 4 layers");
    const tampered = join(dir, "tampered.pt");
    runPython(TAMPER, [out, tampered]);
    const bad = runCli(["verify", MLP, tampered, "--map", "onnx2torch"]);
    expect(bad.code).toBe(1);
    expect(bad.stdout).toMatch(/FAILED: 1 of 4 checked layers disagree/);
  });

  it("zero layers checked is not a pass, and the advice does not repeat the --layer given", () => {
    // A layer the user calls linear that holds a 3-D tensor: nothing can be checked.
    const odd = join(dir, "odd.safetensors");
    const header = JSON.stringify({ "blk.w": { dtype: "F32", shape: [2, 2, 2], data_offsets: [0, 32] } });
    const pad = " ".repeat((8 - ((8 + header.length) % 8)) % 8);
    const head = Buffer.alloc(8);
    head.writeBigUInt64LE(BigInt(header.length + pad.length));
    writeFileSync(odd, Buffer.concat([head, Buffer.from(header + pad), Buffer.alloc(32)]));
    const v = runCli(["verify", odd, odd, "--layer", "^blk\\.=linear"]);
    expect(v.code).toBe(1);
    expect(v.stdout).toContain("FAILED: nothing verified (0 layers checked; 1 layer not checkable");
    expect(v.stdout).toContain("the --layer given for it names another kind than its tensors make");
    expect(v.stdout).not.toContain("set the kind with --layer");
  });
});
