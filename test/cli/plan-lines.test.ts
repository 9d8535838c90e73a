import { describe, expect, it } from "vitest";
import type { ConversionReport } from "../../src/api/report.js";
import { planLines } from "../../src/cli/convert-output.js";

describe("convert --dry-run's plan", () => {
  it("lists 200,000 tensors (column widths were Math.max(...rows): a stack overflow past ~120k)", () => {
    const n = 200_000;
    const shape = [2];
    const tensors = Array.from({ length: n }, (_, i) => ({
      source: `experts.${i >> 6}.w${i & 63}`,
      target: `experts.${i >> 6}.w${i & 63}`,
      shape,
      dtype: "float32" as const,
      targetDtype: "float32" as const,
      transforms: [],
    }));
    const report = {
      input: "in",
      output: "out.pt",
      from: "safetensors",
      to: "pytorch",
      tensors,
      unmatched: [],
      missing: [],
      dropped: [],
      added: [],
      mismatched: [],
      warnings: [],
    };
    const lines = planLines(report as unknown as ConversionReport);
    expect(lines).toHaveLength(n + 1);
    // The name column is as wide as the longest name, so shapes line up.
    expect(lines[0]).toBe(`experts.0.w0${" ".repeat("experts.3124.w63".length - "experts.0.w0".length)}  [2]  float32`);
    expect(lines[n]).toContain(`${n} tensors`);
  });
});
