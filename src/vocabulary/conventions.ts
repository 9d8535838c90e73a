import type { Framework } from "../tensor/layer-kinds.js";

// What following a framework's conventions means for a tensor, written once: the mapping engine,
// its heuristics and flatten evidence, and verify's pairing ask these facts instead of comparing
// framework ids.

/**
 * How a tensor's name says its layer and its role in it:
 * - `module-path`: torch-style module trees (`layer1.0.conv.weight`), whose sub-modules may be
 *   one layer to other frameworks (an attention's out_proj, Paddle's `lstm.0.cell`);
 * - `keras-path`: `/`-joined layer paths with an output index (`dense/kernel:0`; Keras 3
 *   `layers/dense/vars/0` is renamed to that first);
 * - `graph-input`: an ONNX graph's initializers, whose role is the op input they fill;
 * - `dotted`: dotted names with no module tree behind them (TFLite tensors).
 */
export type TensorNaming = "module-path" | "keras-path" | "graph-input" | "dotted";

export interface ConventionFacts {
  naming: TensorNaming;
  /** Feature maps are [N, C, ...] (else [N, ..., C]). */
  channelsFirst: boolean;
  /** A linear layer's 2-D weight: [out, in] (torch) or [in, out] (Keras kernel, Paddle). */
  linearWeight: "out-in" | "in-out";
  /** A layer's `data_format` attribute may turn its feature maps channels-first (Keras' config). */
  dataFormatAttribute: boolean;
  /** Normalization ε when the file does not state it. */
  defaultEpsilon: number;
}

export const CONVENTIONS: Readonly<Record<Framework, ConventionFacts>> = {
  pytorch: { naming: "module-path", channelsFirst: true, linearWeight: "out-in", dataFormatAttribute: false, defaultEpsilon: 1e-5 },
  paddle: { naming: "module-path", channelsFirst: true, linearWeight: "in-out", dataFormatAttribute: false, defaultEpsilon: 1e-5 },
  keras: { naming: "keras-path", channelsFirst: false, linearWeight: "in-out", dataFormatAttribute: true, defaultEpsilon: 1e-3 },
  onnx: { naming: "graph-input", channelsFirst: true, linearWeight: "out-in", dataFormatAttribute: false, defaultEpsilon: 1e-5 },
  tflite: { naming: "dotted", channelsFirst: false, linearWeight: "out-in", dataFormatAttribute: false, defaultEpsilon: 1e-3 },
};

/** The facts of a convention, or undefined when none was given. */
export function conventionOf(framework: Framework | undefined): ConventionFacts | undefined {
  return framework === undefined ? undefined : CONVENTIONS[framework];
}

/** The naming of a convention, or undefined when none was given. */
export function namingOf(framework: Framework | undefined): TensorNaming | undefined {
  return conventionOf(framework)?.naming;
}
