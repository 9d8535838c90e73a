import { describe, expect, it } from "vitest";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { hasPythonModules, runPython } from "../../helpers/python.js";
import ort from "onnxruntime-node";
import { read, write, fileSource, makeTensor, bytesData } from "../../../src/index.js";
import { sha256Of } from "./helpers.js";

// Control flow keeps weights inside node attributes: If branches, Loop bodies, and subgraphs of
// subgraphs. The onnx package builds such a model (checked by onnx.checker) and says what each
// initializer holds; we must read every one of them, not only the main graph's.
const MAKE = String.raw`
import sys, json, hashlib
import numpy as np, onnx
from onnx import helper, numpy_helper, TensorProto as T
rng = np.random.default_rng(0)
def init(name, shape):
    return numpy_helper.from_array(rng.standard_normal(shape).astype(np.float32), name)
deep = helper.make_graph([helper.make_node("MatMul", ["x", "deep_w"], ["d"])], "deep", [], [helper.make_tensor_value_info("d", T.FLOAT, [1, 3])], [init("deep_w", [4, 3])])
other = helper.make_graph([helper.make_node("MatMul", ["x", "other_w"], ["o"])], "other", [], [helper.make_tensor_value_info("o", T.FLOAT, [1, 3])], [init("other_w", [4, 3])])
then = helper.make_graph([helper.make_node("If", ["c"], ["t"], then_branch=deep, else_branch=other)], "then", [], [helper.make_tensor_value_info("t", T.FLOAT, [1, 3])], [])
els = helper.make_graph([helper.make_node("Gemm", ["x", "else_w", "else_b"], ["e"], transB=1)], "else", [], [helper.make_tensor_value_info("e", T.FLOAT, [1, 3])], [init("else_w", [3, 4]), init("else_b", [3])])
main = helper.make_graph(
    [helper.make_node("If", ["c"], ["y"], then_branch=then, else_branch=els)], "main",
    [helper.make_tensor_value_info("x", T.FLOAT, [1, 4]), helper.make_tensor_value_info("c", T.BOOL, [])],
    [helper.make_tensor_value_info("y", T.FLOAT, [1, 3])], [init("top_w", [2, 2])])
model = helper.make_model(main, opset_imports=[helper.make_opsetid("", 13)])
model.ir_version = 7
onnx.checker.check_model(model, full_check=True)
onnx.save(model, sys.argv[1])
out = {}
def walk(g):
    for t in g.initializer: out[t.name] = hashlib.sha256(numpy_helper.to_array(t).tobytes()).hexdigest()
    for n in g.node:
        for a in n.attribute:
            if a.type == onnx.AttributeProto.GRAPH: walk(a.g)
walk(model.graph)
print(json.dumps(out))
`;

describe.skipIf(!hasPythonModules("onnx", "numpy"))("ONNX subgraphs", () => {
  it("initializers of If branches and nested subgraphs are read, bit-exact, with hints from their nodes", async () => {
    const dir = mkdtempSync(join(tmpdir(), "wb-onnx-sub-"));
    const path = join(dir, "control.onnx");
    const want = JSON.parse(runPython(MAKE, [path])) as Record<string, string>;
    const checkpoint = await read(path);
    const got: Record<string, string> = {};
    for (const t of checkpoint.tensors) got[t.name] = await sha256Of(t);
    expect(got).toEqual(want);
    expect(Object.keys(got)).toEqual(["top_w", "else_w", "else_b", "other_w", "deep_w"]); // file order: attributes are stored sorted (else_branch, then_branch)
    expect(checkpoint.tensors.find((t) => t.name === "else_w")!.layer).toMatchObject({ kind: "linear", className: "Gemm" });
    expect(checkpoint.warnings?.join("\n")).toMatch(/4 initializer\(s\) come from subgraphs/);
    await checkpoint.close();
  });

  it("re-weighting replaces subgraph initializers too: onnxruntime computes with the new weights on both branches", async () => {
    const dir = mkdtempSync(join(tmpdir(), "wb-onnx-sub-rw-"));
    const path = join(dir, "control.onnx");
    runPython(MAKE, [path]);
    const original = await read(path);
    // New weights: every value v becomes 2v - 1.
    const tensors = await Promise.all(
      original.tensors.map(async (t) => {
        const f = new Float32Array((await t.data.read()).slice().buffer).map((v) => 2 * v - 1);
        return makeTensor(t.name, "float32", t.shape, bytesData(new Uint8Array(f.buffer)));
      }),
    );
    const out = join(dir, "reweighted.onnx");
    const templateSource = await fileSource(path);
    const warnings = await write({ tensors, meta: {} }, out, { template: original, templateSource, strict: true });
    await templateSource.close();
    expect(warnings.join("\n")).not.toMatch(/kept their template values|not written/);
    runPython("import onnx, sys; onnx.checker.check_model(sys.argv[1], full_check=True)", [out]);
    const w = new Map(await Promise.all(tensors.map(async (t) => [t.name, new Float32Array((await t.data.read()).slice().buffer)] as const)));
    const x = Float32Array.from([0.5, -1, 2, 0.25]);
    const session = await ort.InferenceSession.create(out);
    for (const c of [true, false]) {
      const result = await session.run({ x: new ort.Tensor("float32", x, [1, 4]), c: new ort.Tensor("bool", Uint8Array.from([c ? 1 : 0]), []) });
      const y = result.y!.data as Float32Array;
      // then → inner If(c) → x @ deep_w [4, 3]; else → Gemm(x, else_w [3, 4], transB) + else_b
      const want = [0, 1, 2].map((j) =>
        c
          ? x.reduce((acc, xi, i) => acc + xi * w.get("deep_w")![i * 3 + j]!, 0)
          : x.reduce((acc, xi, i) => acc + xi * w.get("else_w")![j * 4 + i]!, 0) + w.get("else_b")![j]!,
      );
      want.forEach((v, j) => expect(y[j]).toBeCloseTo(v, 4));
    }
    await original.close();
  });
});

const CONSTANT_MODEL = String.raw`
import sys, numpy as np, onnx
from onnx import helper, numpy_helper, TensorProto as T
w = numpy_helper.from_array(np.arange(12, dtype=np.float32).reshape(4, 3) / 10, "")
g = helper.make_graph(
    [helper.make_node("Constant", [], ["cw"], value=w), helper.make_node("MatMul", ["x", "cw"], ["y"])], "const",
    [helper.make_tensor_value_info("x", T.FLOAT, [1, 4])], [helper.make_tensor_value_info("y", T.FLOAT, [1, 3])])
m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]); m.ir_version = 7
onnx.checker.check_model(m, full_check=True)
onnx.save(m, sys.argv[1])
`;

describe.skipIf(!hasPythonModules("onnx", "numpy"))("ONNX Constant nodes", () => {
  it("are listed as constants and re-weighted by their output name; a wrong shape is refused", async () => {
    const dir = mkdtempSync(join(tmpdir(), "wb-onnx-const-"));
    const path = join(dir, "const.onnx");
    runPython(CONSTANT_MODEL, [path]);
    const original = await read(path);
    expect(original.tensors.map((t) => `${t.name} ${t.role} [${t.shape}]`)).toEqual(["cw constant [4,3]"]);
    const w = Float32Array.from({ length: 12 }, (_, i) => (i % 5) - 2);
    const out = join(dir, "out.onnx");
    const templateSource = await fileSource(path);
    await write({ tensors: [makeTensor("cw", "float32", [4, 3], bytesData(new Uint8Array(w.buffer)))], meta: {} }, out, {
      template: original,
      templateSource,
      strict: true,
    });
    await expect(
      write({ tensors: [makeTensor("cw", "float32", [3, 4], bytesData(new Uint8Array(48)))], meta: {} }, join(dir, "bad.onnx"), {
        template: original,
        templateSource,
      }),
    ).rejects.toThrow(/template initializer is float32\[4, 3\] but the weights give float32\[3, 4\]/);
    await templateSource.close();
    runPython("import onnx, sys; onnx.checker.check_model(sys.argv[1], full_check=True)", [out]);
    const x = Float32Array.from([1, 2, 3, 4]);
    const session = await ort.InferenceSession.create(out);
    const y = (await session.run({ x: new ort.Tensor("float32", x, [1, 4]) })).y!.data as Float32Array;
    [0, 1, 2].forEach((j) =>
      expect(y[j]).toBeCloseTo(
        x.reduce((acc, xi, i) => acc + xi * w[i * 3 + j]!, 0),
        5,
      ),
    );
    await original.close();
  });
});
