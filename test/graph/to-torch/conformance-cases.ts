import { existsSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { spawnSync } from "node:child_process";
import { fileSource } from "../../../src/io/source.js";
import { readOnnxGraph } from "../../../src/formats/onnx/graph.js";
import { emitTorchModule } from "../../../src/graph/to-torch/emit.js";
import { writeTorchZip } from "../../../src/formats/pytorch/write.js";
import { atomicFileSink } from "../../../src/io/sink.js";
import { isWeightbridgeError } from "../../../src/errors.js";
import type { Graph } from "../../../src/graph/ir.js";
import { PYTHON } from "../../helpers/python.js";

// The ONNX backend node tests run through the emitter and real torch: each case is refused
// (with the emitter's reason), or generated and run in one Python process for all cases.

export interface CaseResult {
  name: string;
  op: string;
  outcome: "passed" | "failed" | "refused";
  detail?: string;
}

const HERE = new URL(".", import.meta.url).pathname;

/** Generates the node tests with python3-onnx's own generator into `dir`; returns the node cases' folder. */
export function generateNodeTests(dir: string): string {
  const script = join(HERE, "../../../fixtures/onnx-node/generate.py");
  const r = spawnSync(PYTHON, [script, dir], { encoding: "utf8", timeout: 600_000 });
  if (r.status !== 0) throw new Error(`generating the ONNX node tests failed: ${r.stderr.slice(-2000)}`);
  return join(dir, "node");
}

/** The op a case tests: its one node's op, or for expanded (function-body) cases the op its name starts with. */
function opOf(name: string, graph: Graph): string {
  const ops = [...new Set(graph.nodes.map((n) => n.op))];
  if (ops.length === 1) return ops[0]!;
  const stem = name
    .replace(/^test_/, "")
    .replace(/_/g, "")
    .toLowerCase();
  const named = ops.filter((o) => stem.startsWith(o.toLowerCase())).sort((a, b) => b.length - a.length)[0];
  return `${named ?? ops.join("+")}${name.includes("_expanded") ? " (expanded)" : ""}`;
}

export async function runCases(nodeDir: string, workDir: string, filter: (name: string) => boolean = () => true): Promise<CaseResult[]> {
  mkdirSync(workDir, { recursive: true });
  const results: CaseResult[] = [];
  const jobs: Array<Record<string, unknown>> = [];
  const opOfCase = new Map<string, string>();
  for (const name of readdirSync(nodeDir).sort()) {
    if (!filter(name)) continue;
    const dir = join(nodeDir, name);
    const data = join(dir, "test_data_set_0");
    if (!existsSync(data)) continue;
    const source = await fileSource(join(dir, "model.onnx"));
    let graph: Graph | undefined;
    try {
      graph = await readOnnxGraph(source);
      const op = opOf(name, graph);
      opOfCase.set(name, op);
      const module = await emitTorchModule(graph);
      const [py, pth] = [join(workDir, `${name}.py`), join(workDir, `${name}.pth`)];
      writeFileSync(py, module.source);
      const sink = await atomicFileSink(pth, { force: true });
      await writeTorchZip({ format: "pytorch", tensors: module.state, meta: {} }, sink, {});
      await sink.commit();
      const files = readdirSync(data);
      const pbs = (prefix: string) =>
        files
          .filter((f) => f.startsWith(prefix))
          .sort((a, b) => Number(a.match(/\d+/)![0]) - Number(b.match(/\d+/)![0]))
          .map((f) => join(data, f));
      jobs.push({
        name,
        module: py,
        weights: pth,
        inputs: pbs("input_"),
        inputTypes: graph.inputs.map((v) => v.dtype),
        outputs: pbs("output_"),
        rtol: 1e-3,
        atol: 1e-7,
      });
    } catch (e) {
      if (!isWeightbridgeError(e)) throw e;
      results.push({ name, op: opOfCase.get(name) ?? name, outcome: "refused", detail: e.message });
    } finally {
      await source.close();
    }
  }
  const run = spawnSync(PYTHON, [join(HERE, "run_modules.py")], { input: JSON.stringify(jobs), encoding: "utf8", timeout: 1_200_000, maxBuffer: 64 << 20 });
  const lines = run.stdout.split("\n").filter((l) => l.startsWith("{"));
  if (lines.length !== jobs.length) throw new Error(`the module runner answered ${lines.length} of ${jobs.length} cases: ${run.stderr.slice(-2000)}`);
  for (const line of lines) {
    const r = JSON.parse(line) as { name: string; ok: boolean; error?: string };
    results.push({ name: r.name, op: opOfCase.get(r.name)!, outcome: r.ok ? "passed" : "failed", ...(r.error ? { detail: r.error } : {}) });
  }
  return results.sort((a, b) => a.name.localeCompare(b.name));
}

/** passed / attempted / refused per op, as a Markdown table. */
export function perOpTable(results: CaseResult[]): string {
  const byOp = new Map<string, { passed: number; attempted: number; refused: number }>();
  for (const r of results) {
    const row = byOp.get(r.op) ?? { passed: 0, attempted: 0, refused: 0 };
    if (r.outcome === "refused") row.refused++;
    else row.attempted++;
    if (r.outcome === "passed") row.passed++;
    byOp.set(r.op, row);
  }
  const lines = ["| op | passed | attempted | refused |", "|---|---:|---:|---:|"];
  for (const [op, r] of [...byOp].sort(([a], [b]) => a.localeCompare(b))) lines.push(`| ${op} | ${r.passed} | ${r.attempted} | ${r.refused} |`);
  return lines.join("\n");
}
