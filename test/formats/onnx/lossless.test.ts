import { beforeAll, describe, expect, it } from "vitest";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { hasPythonModules, runPython } from "../../helpers/python.js";
import { runCli } from "../../helpers/cli.js";
import ort from "onnxruntime-node";
import { convert, read } from "../../../src/index.js";
import { elementReader } from "../../../src/kernels/elements.js";

async function runOnnx(file: string): Promise<number[]> {
  // Unoptimized: onnxruntime's fused DequantizeLinear+MatMul kernel quantizes the activations (-6.992 for -7).
  const session = await ort.InferenceSession.create(file, { graphOptimizationLevel: "disabled" });
  const result = await session.run({ x: new ort.Tensor("float32", Float32Array.from([1, 2, 3, 4, 5, 6]), [1, 6]) });
  return Array.from(result.y!.data as Float32Array);
}

// Issue 27, "nothing lost without a record", ONNX: tensors the reader cannot represent are listed
// in the report's `dropped` and refused without --allow-drop; subgraph initializers that share a
// name are scoped, not skipped; a Constant with a sparse tensor under `value` is read.
// Models built with the onnx package (helper.make_*); INT4/UINT4 (data types 22, 21, onnx ≥ 1.16)
// are written as onnx 1.16 writes them (raw_data, two values per byte) since onnx 1.12 has no enum for them.
const MAKE = readFileSync(join(import.meta.dirname, "lossless-models.py"), "utf8");

const CHECK_SUBGRAPHS = String.raw`
import sys, json, struct, numpy as np
raw = open(sys.argv[1], "rb").read(); n = struct.unpack("<Q", raw[:8])[0]; h = json.loads(raw[8:8 + n])
print(json.dumps({k: np.frombuffer(raw[8 + n + v["data_offsets"][0]:8 + n + v["data_offsets"][1]], "<f4").tolist() for k, v in h.items() if k != "__metadata__"}))
`;

describe.skipIf(!hasPythonModules("onnx", "numpy"))("ONNX tensors are read or their loss recorded (issue 27)", { timeout: 180_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), "wb-onnx-lossless-"));
  beforeAll(() => void runPython(MAKE, [dir]));

  for (const [file, names] of [["strings", ["classes"]]] as const) {
    it(`${file}.onnx: convert refuses to lose ${names.join(", ")}; --allow-drop converts and lists them as dropped`, () => {
      const refused = runCli(["convert", join(dir, `${file}.onnx`), join(dir, `${file}.safetensors`)]);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toContain(`${names.length} tensor(s) of the input cannot be represented and would be lost: '${names[0]}'`);
      expect(refused.stderr).toContain("pass --allow-drop");
      const report = join(dir, `${file}.json`);
      const allowed = runCli(["convert", join(dir, `${file}.onnx`), join(dir, `${file}.safetensors`), "--allow-drop", "--report", report]);
      expect(allowed.code, allowed.stderr).toBe(0);
      expect(JSON.parse(readFileSync(report, "utf8")).dropped).toEqual(names);
    });
  }

  it("INT4/UINT4 initializers are int4/uint4 tensors: raw_data and int32_data read the same packed bytes, values -8..7 and 0..15", async () => {
    const checkpoint = await read(join(dir, "int4.onnx"));
    try {
      const byName = new Map(checkpoint.tensors.map((t) => [t.name, t]));
      expect(["w_int4", "w_uint4", "w_int4_typed"].map((n) => `${byName.get(n)!.dtype}[${byName.get(n)!.shape}]`)).toEqual([
        "int4[2,3]",
        "uint4[5]",
        "int4[2,3]",
      ]);
      expect(Buffer.from(await byName.get("w_int4")!.data.read()).equals(Buffer.from([0x21, 0x43, 0x65]))).toBe(true);
      expect(Buffer.from(await byName.get("w_int4_typed")!.data.read()).equals(Buffer.from([0x21, 0x43, 0x65]))).toBe(true);
      const u4 = elementReader("uint4", await byName.get("w_uint4")!.data.read());
      expect([0, 1, 2, 3, 4].map(u4)).toEqual([0, 1, 2, 3, 4]);
    } finally {
      await checkpoint.close();
    }
    const qdq = await read(join(dir, "qdq.onnx"));
    const w = qdq.tensors.find((t) => t.name === "w_q")!;
    const int4 = elementReader("int4", await w.data.read());
    expect(Array.from({ length: 12 }, (_, i) => int4(i))).toEqual(Array.from({ length: 12 }, (_, i) => i - 8));
    await qdq.close();
    // inspect --stats reads int4 values too
    const stats = runCli(["inspect", join(dir, "qdq.onnx"), "--stats"]);
    expect(stats.code, stats.stderr).toBe(0);
    expect(stats.stdout).toMatch(/w_q\s+int4\s+\[6, 2\]/);
  });

  it("ONNX → ONNX keeps INT4 bit-exact; re-weighting the QDQ graph with it computes what the source does in onnxruntime", async () => {
    const weights = join(dir, "qdq-weights.onnx");
    expect(runCli(["convert", join(dir, "qdq.onnx"), weights]).code).toBe(0);
    const [a, b] = [await read(join(dir, "qdq.onnx")), await read(weights)];
    const wa = a.tensors.find((t) => t.name === "w_q")!;
    const wb = b.tensors.find((t) => t.name === "w_q")!;
    expect(wb.dtype).toBe("int4");
    expect(Buffer.from(await wb.data.read()).equals(Buffer.from(await wa.data.read()))).toBe(true);
    await Promise.all([a.close(), b.close()]);
    const reweighted = join(dir, "qdq-reweighted.onnx");
    const r = runCli(["convert", weights, reweighted, "--template", join(dir, "qdq.onnx")]);
    expect(r.code, r.stderr).toBe(0);
    const outputs = await Promise.all([join(dir, "qdq.onnx"), reweighted].map((f) => runOnnx(f)));
    expect(outputs[1]).toEqual(outputs[0]);
    // y = x @ (w_q * 0.25) with x = 1..6 and row r of w_q = [2r - 8, 2r - 7]: by hand, -7 and -1.75
    expect(outputs[0]).toEqual([-7, -1.75]);
  });

  it("INT4 into safetensors or torch: refused naming the tensor; --allow-drop leaves it out, listed as dropped", async () => {
    const error = await convert(join(dir, "qdq.onnx"), join(dir, "lib.safetensors")).catch((e) => e);
    expect(error.location.tensor).toBe("w_q");
    expect(error.message).toContain("safetensors has no 4-bit type");
    expect((await convert(join(dir, "qdq.onnx"), join(dir, "lib.safetensors"), { allowDrop: true })).dropped).toEqual(["w_q"]);
    for (const out of ["qdq.safetensors", "qdq.pt"]) {
      const refused = runCli(["convert", join(dir, "qdq.onnx"), join(dir, out)]);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toContain("tensor 'w_q'");
      expect(refused.stderr).toMatch(/is int4 \(4-bit, two values per byte\) and (safetensors|pytorch) has no 4-bit type: .*--allow-drop/);
      const report = join(dir, `${out}.json`);
      const allowed = runCli(["convert", join(dir, "qdq.onnx"), join(dir, out), "--allow-drop", "--report", report]);
      expect(allowed.code, allowed.stderr).toBe(0);
      expect(JSON.parse(readFileSync(report, "utf8")).dropped).toEqual(["w_q"]);
    }
  });

  it("two If branches with an initializer named w each: both are read, scoped by where their graph sits", () => {
    const out = join(dir, "subgraphs.safetensors");
    const r = runCli(["convert", join(dir, "subgraphs.onnx"), out]);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(runPython(CHECK_SUBGRAPHS, [out]))).toEqual({ "If_0/else_branch/w": [2, 2, 2, 2, 2, 2], "If_0/then_branch/w": [1, 1, 1, 1, 1, 1] });
  });

  it("a Constant whose value attribute is a sparse tensor is read as its dense values", () => {
    const out = join(dir, "sparse.safetensors");
    expect(runCli(["convert", join(dir, "sparse-constant.onnx"), out]).code).toBe(0);
    expect(JSON.parse(runPython(CHECK_SUBGRAPHS, [out]))).toEqual({ k: [0, 5, 0, 0, 7, 0] });
  });
});
