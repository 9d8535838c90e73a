import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { spawnSync } from "node:child_process";
import { onnxRuntime } from "../../../src/verify/whole-model/runtime.js";
import { graphInputs, openGraph, runGraph, seededValues } from "../../../src/verify/whole-model/onnx-run.js";
import { seededRandom } from "../../../src/verify/random.js";
import { closeness, type Closeness } from "../../../src/verify/compare.js";
import { PYTHON } from "../../helpers/python.js";

// One generated module run in real torch against an ONNX graph run in onnxruntime-node, on the
// same seeded inputs (symbolic dimensions 3); values travel as float64 files, not JSON.

const HERE = new URL(".", import.meta.url).pathname;

export interface OutputComparison extends Closeness {
  shapes: [number[], number[]];
}

export async function torchAgainstOnnx(onnx: string, py: string, pth: string, dir: string, name: string): Promise<OutputComparison[]> {
  const ort = await onnxRuntime();
  if (!ort) throw new Error("onnxruntime-node is not installed");
  const session = await openGraph(ort, onnx, "source");
  const inputs = graphInputs(session).map((g) => ({ ...g, shape: g.shape.map((d, k) => (g.symbolic?.[k] ? 3 : d)) }));
  const random = seededRandom(7);
  const values = inputs.map((g) => seededValues(g, random));
  const expected = await runGraph(ort, session, inputs, values, "source");
  const files = values.map((v, i) => {
    const path = join(dir, `${name}.input_${i}.bin`);
    writeFileSync(path, new Uint8Array(Float64Array.from(v).buffer));
    return path;
  });
  const job = { module: py, weights: pth, outputs: dir, inputs: inputs.map((g, i) => ({ dtype: g.type, shape: g.shape, path: files[i] })) };
  const run = spawnSync(PYTHON, [join(HERE, "run_real.py")], { input: JSON.stringify(job), encoding: "utf8", timeout: 300_000 });
  if (run.status !== 0) throw new Error(`torch could not run ${py}: ${run.stderr.slice(-2000)}`);
  const shapes = JSON.parse(run.stdout) as number[][];
  if (shapes.length !== expected.length) throw new Error(`${name}: torch gives ${shapes.length} outputs, onnxruntime ${expected.length}`);
  return shapes.map((shape, i) => {
    const bytes = readFileSync(join(dir, `output_${i}.bin`));
    const got = new Float64Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 8);
    return { ...closeness(expected[i]!.values, got), shapes: [expected[i]!.shape, shape] };
  });
}

/** py_compile and pyflakes output for a generated file ("" when clean). */
export function pythonLint(py: string): string {
  const compiled = spawnSync(PYTHON, ["-m", "py_compile", py], { encoding: "utf8" });
  const flakes = spawnSync(PYTHON, ["-m", "pyflakes", py], { encoding: "utf8" });
  return compiled.stderr + flakes.stdout + flakes.stderr;
}
