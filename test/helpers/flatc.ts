import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { REQUIRE_INTEROP } from "./python.js";
import { hasPythonModules, runPython } from "./python.js";

// An independent TFLite reader for tests: Debian's python3-flatbuffers runtime with Python
// accessors flatc (flatbuffers-compiler) generates from TensorFlow's schema, and numpy for the
// reference dequantization. Skips locally without them; required in CI.

const SCHEMA = join(import.meta.dirname, "../../schemas/tflite/schema.fbs");

export function hasPythonTflite(): boolean {
  const flatc = spawnSync("flatc", ["--version"], { encoding: "utf8" }).status === 0;
  if (!flatc && REQUIRE_INTEROP) throw new Error("WEIGHTBRIDGE_REQUIRE_INTEROP=1 but flatc (flatbuffers-compiler) is not installed");
  return flatc && hasPythonModules("flatbuffers", "numpy");
}

let generated: string | undefined;

/** Python accessors for the schema, as Debian's flatc 2.0 accepts it (the adjustment scripts/gen-tflite-schema.mjs makes). */
export function pythonAccessors(): string {
  if (!generated) {
    const dir = mkdtempSync(join(tmpdir(), "tflite-py-"));
    writeFileSync(join(dir, "schema.fbs"), readFileSync(SCHEMA, "utf8").replace(/^(\s*\w+(?:\s*=\s*\d+)?)\s*\(deprecated\)\s*,/gm, "$1,"));
    const r = spawnSync("flatc", ["--python", "-o", join(dir, "py"), join(dir, "schema.fbs")], { encoding: "utf8" });
    if (r.status !== 0) throw new Error(`flatc --python failed: ${r.stderr}`);
    generated = join(dir, "py");
  }
  return generated;
}

export interface PyTensor {
  name: string;
  type: number;
  shape: number[];
  buffer: number;
  /** Hex of the buffer's bytes (empty: no data). */
  data: string;
  /** Hex of the float32 scales, the zero points and the axis, when quantized. */
  scale?: string;
  zero_point?: number[];
  axis?: number;
  /** numpy's ((q - zp) * scale).astype(float32), hex, when quantized (per channel along the axis). */
  dequantized?: string;
}

export interface PyModel {
  subgraphs: Array<{ name: string; tensors: PyTensor[]; operators: string[] }>;
  buffers: number;
}

const DUMP = `
import sys, json, numpy as np
sys.path.insert(0, sys.argv[1])
import tflite.Model, tflite.BuiltinOperator
names = {v: k for k, v in vars(tflite.BuiltinOperator.BuiltinOperator).items() if not k.startswith("_")}
buf = open(sys.argv[2], "rb").read()
m = tflite.Model.Model.GetRootAsModel(buf, 0)
types = {0: np.float32, 2: np.int32, 3: np.uint8, 4: np.int64, 7: np.int16, 9: np.int8, 1: np.float16, 6: np.bool_}
codes = [max(m.OperatorCodes(i).BuiltinCode(), m.OperatorCodes(i).DeprecatedBuiltinCode()) for i in range(m.OperatorCodesLength())]
out = {"subgraphs": [], "buffers": m.BuffersLength()}
for s in range(m.SubgraphsLength()):
    g = m.Subgraphs(s)
    tensors = []
    for i in range(g.TensorsLength()):
        t = g.Tensors(i)
        b = m.Buffers(t.Buffer())
        data = b.DataAsNumpy().tobytes() if b.DataLength() > 0 else (buf[b.Offset():b.Offset() + b.Size()] if b.Offset() > 1 else b"")
        shape = [int(d) for d in t.ShapeAsNumpy()] if t.ShapeLength() > 0 else []
        entry = {"name": t.Name().decode(), "type": t.Type(), "shape": shape, "buffer": t.Buffer(), "data": data.hex()}
        q = t.Quantization()
        if q is not None and q.ScaleLength() > 0:
            scale = q.ScaleAsNumpy().astype(np.float32)
            zp = q.ZeroPointAsNumpy().astype(np.int64) if q.ZeroPointLength() > 0 else np.zeros(len(scale), np.int64)
            entry.update(scale=scale.tobytes().hex(), zero_point=[int(z) for z in zp], axis=q.QuantizedDimension())
            if data and t.Type() in types:
                v = np.frombuffer(data, dtype=types[t.Type()]).reshape(shape).astype(np.int64)
                sc, z = scale.astype(np.float64), zp
                if len(scale) > 1:
                    axis = q.QuantizedDimension() if q.QuantizedDimension() < len(shape) else 0
                    bshape = [1] * len(shape); bshape[axis] = len(scale)
                    sc, z = sc.reshape(bshape), z.reshape(bshape)
                entry["dequantized"] = ((v - z) * sc).astype(np.float32).tobytes().hex()
        tensors.append(entry)
    ops = [names.get(codes[g.Operators(o).OpcodeIndex()], "?") for o in range(g.OperatorsLength())]
    out["subgraphs"].append({"name": (g.Name() or b"").decode(), "tensors": tensors, "operators": ops})
print(json.dumps(out))
`;

/** The model as the Python FlatBuffers runtime reads it, with numpy's dequantization. */
export function readWithPython(file: string): PyModel {
  return JSON.parse(runPython(DUMP, [pythonAccessors(), file])) as PyModel;
}
