import { beforeAll, describe, expect, it } from "vitest";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { hasPythonModules, runPython } from "../../helpers/python.js";
import { runCli } from "../../helpers/cli.js";

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

  for (const [file, names] of [
    ["int4", ["w_int4", "w_uint4"]],
    ["strings", ["classes"]],
  ] as const) {
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
