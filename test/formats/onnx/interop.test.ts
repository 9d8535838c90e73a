import { describe, expect, it } from "vitest";
import { join } from "node:path";
import { hasPythonModules, runPython } from "../../helpers/python.js";
import { FIXTURES, FIXTURE_FILES, readFixture, reweightCase, summary, tempDir, writeToDir, openFile } from "./helpers.js";

// Truth from the onnx package itself: names, dtypes, shapes and sha256 of the contiguous
// little-endian bytes numpy_helper.to_array gives (external data resolved by onnx.load).
const DESCRIBE = `
import hashlib, json, sys
import numpy as np, onnx
from onnx import TensorProto, numpy_helper
NAMES = {1: "float32", 2: "uint8", 3: "int8", 4: "uint16", 5: "int16", 6: "int32", 7: "int64", 9: "bool",
         10: "float16", 11: "float64", 12: "uint32", 13: "uint64", 14: "complex64", 15: "complex128", 16: "bfloat16"}
path = sys.argv[1]
if sys.argv[2] == "check":
    onnx.checker.check_model(path, full_check=True)
model = onnx.load(path)
out = []
for t in model.graph.initializer:
    if t.data_type == TensorProto.COMPLEX64 and not t.HasField("raw_data"):
        data = np.asarray(t.float_data, dtype="<f4").tobytes()
    else:
        a = numpy_helper.to_array(t, base_dir=path.rsplit("/", 1)[0])
        if t.data_type == TensorProto.BFLOAT16:
            a = (np.ascontiguousarray(a, dtype="<f4").view("<u4") >> 16).astype("<u2")
        data = np.ascontiguousarray(a).tobytes()
    out.append({"name": t.name, "dtype": NAMES[t.data_type], "shape": list(t.dims), "sha256": hashlib.sha256(data).hexdigest()})
print(json.dumps({"ir": model.ir_version, "nodes": len(model.graph.node), "outputs": [o.name for o in model.graph.output], "tensors": out}))
`;

interface PyView {
  ir: number;
  nodes: number;
  outputs: string[];
  tensors: Array<{ name: string; dtype: string; shape: number[]; sha256: string }>;
}

function pythonView(path: string, check: boolean): PyView {
  return JSON.parse(runPython(DESCRIBE, [path, check ? "check" : "load"]));
}

const initializersOnly = async (path: string) =>
  (await summary(await readFixture(path))).filter((t) => t.role === "initializer").map(({ role: _r, ...rest }) => rest);

describe.skipIf(!hasPythonModules("onnx", "numpy"))("onnx interop with the onnx Python package", () => {
  for (const file of FIXTURE_FILES) {
    it(`reader matches numpy_helper on ${file}`, async () => {
      expect(await initializersOnly(file)).toEqual(pythonView(join(FIXTURES, file), false).tensors);
    });
  }

  it("weights-only output passes check_model(full_check=True) and loads bit-exact, inline and external", async () => {
    const source = await readFixture("typed_tensors.onnx");
    const dir = await tempDir();
    for (const externalData of [false, true]) {
      const path = await writeToDir(source, dir, `w${externalData ? "_ext" : ""}.onnx`, { formatOptions: { onnx: { externalData } } });
      const view = pythonView(path, true);
      expect(view.ir).toBe(8);
      expect(view.nodes).toBe(0);
      expect(view.outputs).toEqual(source.tensors.map((t) => t.name));
      const ours = (await summary(source)).map(({ role: _r, ...rest }) => rest);
      expect(view.tensors).toEqual(ours);
    }
  });

  it("a re-weighted torch graph passes the checker and holds the new weights", async () => {
    const { checkpoint } = reweightCase();
    const dir = await tempDir();
    const path = await writeToDir(checkpoint, dir, "rw.onnx", { templateSource: await openFile(join(FIXTURES, "torch_conv_lstm.onnx")) });
    const view = pythonView(path, true);
    const ours = (await summary(checkpoint)).map(({ role: _r, ...rest }) => rest);
    expect(view.tensors).toEqual(ours);
  });
});
