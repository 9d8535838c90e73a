import { sampleBlock } from "../random.js";
import { Disagreement, type Framework, type LayerSide, type Reference, required } from "../reference.js";
import type { Tensor } from "../../tensor/tensor.js";

// Embedding: output row = table[id]. The table is [vocabulary, dim] in every framework
// (PyTorch / Paddle weight, Keras embeddings, ONNX Gather data): a conversion may only rename it.

export interface EmbeddingPlan {
  vocabulary: number;
  dim: number;
  ids: number[];
}

/** The table's role in each framework. */
const TABLE: Record<Framework, string> = { pytorch: "weight", paddle: "weight", keras: "embeddings", onnx: "Gather:data", tflite: "weight" };

function table<T extends { shape: readonly number[] }>(side: LayerSide<T>): T {
  const t = required(side, "table", TABLE[side.framework]);
  if (t.shape.length !== 2) throw new Disagreement(`${side.framework} embedding table is [${t.shape.join(",")}], not 2-D`);
  return t;
}

export const embedding: Reference<EmbeddingPlan> = {
  kinds: ["embedding"],
  plan(source: LayerSide<Tensor>, target: LayerSide<Tensor>, random) {
    const s = table(source);
    const t = table(target);
    if (s.shape[0] !== t.shape[0] || s.shape[1] !== t.shape[1])
      throw new Disagreement(`source table is [${s.shape.join(",")}], the converted one [${t.shape.join(",")}]`);
    const vocabulary = s.shape[0]!;
    // The first and last ids, and a few in between.
    const ids = [...new Set([0, vocabulary - 1, ...sampleBlock(vocabulary, 3, random), Math.floor(random() * vocabulary)])].filter((i) => i >= 0);
    return { vocabulary, dim: s.shape[1]!, ids };
  },
  input: () => new Float64Array(0),
  forward(side, plan) {
    const t = table(side);
    const y = new Float64Array(plan.ids.length * plan.dim);
    plan.ids.forEach((id, n) => {
      for (let d = 0; d < plan.dim; d++) y[n * plan.dim + d] = t.at(id * plan.dim + d);
    });
    return y;
  },
  notes: (plan) => [`ids ${plan.ids.join(", ")} of ${plan.vocabulary}`],
};
