import type { TensorReport } from "../mapping/index.js";
import type { GraphWeight } from "../graph/from-keras/lower.js";

// The conversion report's tensors for a runnable graph: every initializer made from the file's
// weights, with the layout changes the lowering made (a kernel permuted for a channels-first
// convolution, recurrent gates repacked, a Cast node), in the mapping report's notation.

export function graphTensorReports(weights: readonly GraphWeight[]): TensorReport[] {
  return weights.map(({ initializer: t, sources, transforms }) => {
    const first = sources[0]!;
    const cast = transforms.some((s) => s.startsWith("cast("));
    const r: TensorReport = {
      source: first.name,
      target: t.name,
      shape: [...first.shape],
      dtype: first.dtype,
      targetDtype: cast ? "float32" : t.dtype,
      transforms: [...transforms],
    };
    if (sources.length !== 1) r.sources = sources.map((s) => s.name);
    if (first.shape.length !== t.shape.length || first.shape.some((d, i) => d !== t.shape[i])) r.targetShape = [...t.shape];
    return r;
  });
}
