import { readFileSync } from "node:fs";
import { expect } from "vitest";
import { read } from "../../src/api/open.js";
import { computeReference } from "../../src/verify/check.js";
import { sideOf } from "../../src/verify/pairing.js";

/**
 * A layer's reference against what torch computed: `weights` is the layer's state_dict, `casePath`
 * a JSON `{x, y}` of torch's input and output (flattened). The output must be non-trivial (max |y|
 * above 0.5) and agree within `tolerance`.
 */
export async function expectReferenceMatchesTorch(
  kind: string,
  weights: string,
  casePath: string,
  attrs: Record<string, number>,
  tolerance = 1e-5,
): Promise<void> {
  const { x, y } = JSON.parse(readFileSync(casePath, "utf8")) as { x: number[]; y: number[] };
  const checkpoint = await read(weights);
  try {
    const { output } = await computeReference(kind, sideOf(checkpoint.tensors, "pytorch", attrs), Float64Array.from(x));
    expect(output.length).toBe(y.length);
    let err = 0;
    for (let i = 0; i < y.length; i++) err = Math.max(err, Math.abs(output[i]! - y[i]!));
    expect(Math.max(...y.map(Math.abs))).toBeGreaterThan(0.5);
    expect(err).toBeLessThan(tolerance);
  } finally {
    await checkpoint.close();
  }
}
