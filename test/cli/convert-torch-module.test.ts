import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.js";
import { encodeGraphModel } from "../../src/formats/onnx/graph-encode.js";
import type { Graph } from "../../src/graph/ir.js";
import { hasPythonModules, PYTHON } from "../helpers/python.js";
import { spawnSync } from "node:child_process";

// `weightbridge convert SRC OUT.py`: both files appear or neither; refusals are one line naming
// the node, its op and what is missing; the graph check runs in onnxruntime-node.

const FIXTURE = join(import.meta.dirname, "../../fixtures/onnx/real/three_layer_keras.onnx");

describe("convert SRC OUT.py", () => {
  it("writes OUT.py and OUT.pth after the graph check agrees", () => {
    const dir = mkdtempSync(join(tmpdir(), "wb-py-"));
    const out = join(dir, "three_layer.py");
    const r = runCli(["convert", FIXTURE, out, "--json"], { timeout: 600_000 });
    // Nothing on stderr but convert's success line (no warning).
    expect(r.stderr).toMatch(/^weightbridge: wrote \S*three_layer\.py \(pytorch-module, 8 tensors, [^)]*\) in [\d.]+ s\n$/);
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report.to).toBe("pytorch-module");
    expect(report.graphCheck.verdict).toBe("agrees");
    expect(report.weights).toBe(join(dir, "three_layer.pth"));
    const source = readFileSync(out, "utf8");
    expect(source).toMatch(/^class Model\(nn\.Module\):$/m);
    expect(source).toMatch(/nn\.Linear\(16, 64\)/);
    expect(existsSync(join(dir, "three_layer.pth"))).toBe(true);
    if (hasPythonModules("torch")) {
      const load = spawnSync(
        PYTHON,
        [
          "-c",
          "import sys, torch; sys.path.insert(0, sys.argv[1]); from three_layer import Model; m = Model(); m.load_state_dict(torch.load(sys.argv[2], weights_only=True), strict=True); print('ok')",
          dir,
          join(dir, "three_layer.pth"),
        ],
        { encoding: "utf8" },
      );
      expect(load.stderr).toBe("");
      expect(load.stdout.trim()).toBe("ok");
    }
  });

  it("refuses an op it does not cover, naming node and op, and writes nothing", async () => {
    const dir = mkdtempSync(join(tmpdir(), "wb-py-"));
    const graph: Graph = {
      name: "g",
      opset: 13,
      inputs: [{ name: "x", dtype: "float32", shape: [2, 2] }],
      outputs: [{ name: "y", dtype: "float32", shape: [] }],
      nodes: [
        { name: "relu", op: "Relu", domain: "", inputs: ["x"], outputs: ["r"], attributes: {} },
        { name: "determinant", op: "Det", domain: "", inputs: ["r"], outputs: ["y"], attributes: {} },
      ],
      initializers: [],
    };
    const source = join(dir, "det.onnx");
    writeFileSync(source, await encodeGraphModel(graph));
    const r = runCli(["convert", source, join(dir, "det.py")]);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toContain("node 'determinant' (Det, opset 13): op Det is not covered");
    expect(existsSync(join(dir, "det.py")) || existsSync(join(dir, "det.pth"))).toBe(false);
  });

  it("refuses an attribute its handler does not read", async () => {
    const dir = mkdtempSync(join(tmpdir(), "wb-py-"));
    const graph: Graph = {
      name: "g",
      opset: 13,
      inputs: [{ name: "x", dtype: "float32", shape: [2, 2] }],
      outputs: [{ name: "y", dtype: "float32", shape: [2, 2] }],
      nodes: [{ name: "odd_relu", op: "Relu", domain: "", inputs: ["x"], outputs: ["y"], attributes: { alpha: { type: "float", value: 2 } } }],
      initializers: [],
    };
    const source = join(dir, "odd.onnx");
    writeFileSync(source, await encodeGraphModel(graph));
    const r = runCli(["convert", source, join(dir, "odd.py")]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("node 'odd_relu' (Relu, opset 13): attribute 'alpha' is not covered");
  });

  it("leaves an existing OUT.pth alone without --force", () => {
    const dir = mkdtempSync(join(tmpdir(), "wb-py-"));
    writeFileSync(join(dir, "m.pth"), "keep");
    const r = runCli(["convert", FIXTURE, join(dir, "m.py")]);
    expect(r.code).toBe(1);
    expect(readFileSync(join(dir, "m.pth"), "utf8")).toBe("keep");
    expect(existsSync(join(dir, "m.py"))).toBe(false);
  });
});
