import type { MappingRun } from "./run.js";
import { conventionOf } from "../vocabulary/conventions.js";

// A Keras Bidirectional joins its two directions by merge_mode; torch's bidirectional RNNs (and
// Paddle's) always concatenate them. The weights convert either way, but a module that uses the
// RNN's output as it comes computes concat where Keras computed sum/mul/ave: the report says so,
// per layer, with what the module must do instead.

const MERGES: Record<string, string> = {
  sum: "out[..., :H] + out[..., H:]",
  mul: "out[..., :H] * out[..., H:]",
  ave: "(out[..., :H] + out[..., H:]) / 2",
};

export function noteBidirectionalMerge(run: MappingRun): void {
  const from = conventionOf(run.ruleSets[0]?.set.from)?.bidirectionalOutput;
  const to = conventionOf(run.ruleSets.at(-1)?.set.to)?.bidirectionalOutput;
  if (from?.merge !== "merge-mode" || to?.merge !== "concatenated") return;
  const whose = to.module;
  const layers = new Map<string, string>();
  for (const item of run.items) {
    const attributes = item.tensor.layer?.attributes;
    const mode = attributes?.merge_mode;
    const path = item.tensor.layer?.path ?? item.tensor.name;
    if (typeof mode === "string" && mode !== "concat" && !layers.has(path)) layers.set(path, mode);
  }
  for (const [path, mode] of layers) {
    const merge = MERGES[mode];
    run.warnings.push(
      `Keras Bidirectional '${path}' merges its two directions by ${mode}; ${whose} bidirectional RNN concatenates them ` +
        `(weights converted as they are): ${merge ? `with H the units, use ${merge} in your module where Keras used the layer's output` : "your module must keep the two directions' outputs apart, as Keras returns them"}`,
    );
  }
}
