import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { hasPythonModules } from "../../helpers/python.js";
import { generateNodeTests, perOpTable, runCases } from "./conformance-cases.js";

// Conformance: the ONNX project's backend node tests. Every case whose op the emitter covers is
// generated, run in real torch and compared with the expected outputs at the ONNX backend
// runner's tolerances (rtol 1e-3, atol 1e-7); every other case must be refused. No case may end
// in a wrong value (or a crash) without a refusal.

const available = hasPythonModules("onnx", "torch", "numpy");

describe.skipIf(!available)("ONNX backend node tests → PyTorch modules", () => {
  it("passes every case it does not refuse", async () => {
    const dir = mkdtempSync(join(tmpdir(), "onnx-node-"));
    const nodeDir = generateNodeTests(join(dir, "data"));
    const filter = process.env.CONFORMANCE_FILTER ? (n: string) => new RegExp(process.env.CONFORMANCE_FILTER!).test(n) : undefined;
    const results = await runCases(nodeDir, join(dir, "modules"), filter);
    const table = perOpTable(results);
    const count = (o: string) => results.filter((r) => r.outcome === o).length;
    const summary = `${count("passed")} passed, ${count("failed")} failed, ${count("refused")} refused of ${results.length} cases`;
    console.log(`${table}\n${summary}`);
    if (process.env.CONFORMANCE_REPORT) writeFileSync(process.env.CONFORMANCE_REPORT, JSON.stringify(results, null, 1));
    const failed = results.filter((r) => r.outcome === "failed").map((r) => `${r.name}: ${r.detail}`);
    expect(failed).toEqual([]);
    expect(count("passed")).toBeGreaterThanOrEqual(process.env.CONFORMANCE_FILTER ? 1 : 685);
  });
});
