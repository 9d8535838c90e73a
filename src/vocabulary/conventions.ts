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
  /**
   * Where a recurrent layer keeps its gate weights: Keras' `kernel`/`recurrent_kernel`/`bias`
   * ([in, G·H]), ONNX's op inputs W/R/B (per direction, gates stacked), or torch's per-layer
   * `weight_ih_lK`/`weight_hh_lK`/`bias_*`.
   */
  recurrentWeights: "keras-kernels" | "onnx-wrb" | "torch-ih-hh";
  /** An attention layer's q/k/v kernels are [embed, heads, headDim] per head (Keras), else [embed, embed] fused over heads. */
  attentionKernelsPerHead: boolean;
  /** A model file may carry a layer config that verify's whole-model check composes into a graph to run (Keras' model_config). */
  composableConfig: boolean;
  /** Prefixes a training wrapper may put on every tensor name: [prefix, what wrapped it]. */
  wrapperPrefixes: ReadonlyArray<readonly [string, string]>;
  /**
   * How a bidirectional RNN gives its two directions: joined as its config's merge_mode says
   * (Keras' Bidirectional), always concatenated (torch's and Paddle's modules: whose they are
   * named for the report), or apart (an ONNX RNN's [T, 2, N, H]).
   */
  bidirectionalOutput: { merge: "merge-mode" } | { merge: "concatenated"; module: string } | { merge: "apart" };
}

/** Prefixes torch wrappers put on every state_dict name. */
const TORCH_WRAPPERS = [
  ["module.", "a DataParallel / DistributedDataParallel wrapper"],
  ["_orig_mod.", "a torch.compile wrapper"],
] as const;

export const CONVENTIONS: Readonly<Record<Framework, ConventionFacts>> = {
  pytorch: {
    naming: "module-path",
    channelsFirst: true,
    linearWeight: "out-in",
    dataFormatAttribute: false,
    defaultEpsilon: 1e-5,
    recurrentWeights: "torch-ih-hh",
    attentionKernelsPerHead: false,
    composableConfig: false,
    wrapperPrefixes: TORCH_WRAPPERS,
    bidirectionalOutput: { merge: "concatenated", module: "torch's" },
  },
  paddle: {
    naming: "module-path",
    channelsFirst: true,
    linearWeight: "in-out",
    dataFormatAttribute: false,
    defaultEpsilon: 1e-5,
    recurrentWeights: "torch-ih-hh",
    attentionKernelsPerHead: false,
    composableConfig: false,
    wrapperPrefixes: [],
    bidirectionalOutput: { merge: "concatenated", module: "Paddle's" },
  },
  keras: {
    naming: "keras-path",
    channelsFirst: false,
    linearWeight: "in-out",
    dataFormatAttribute: true,
    defaultEpsilon: 1e-3,
    recurrentWeights: "keras-kernels",
    attentionKernelsPerHead: true,
    composableConfig: true,
    wrapperPrefixes: [],
    bidirectionalOutput: { merge: "merge-mode" },
  },
  onnx: {
    naming: "graph-input",
    channelsFirst: true,
    linearWeight: "out-in",
    dataFormatAttribute: false,
    defaultEpsilon: 1e-5,
    recurrentWeights: "onnx-wrb",
    attentionKernelsPerHead: false,
    composableConfig: false,
    wrapperPrefixes: [],
    bidirectionalOutput: { merge: "apart" },
  },
  tflite: {
    naming: "dotted",
    channelsFirst: false,
    linearWeight: "out-in",
    dataFormatAttribute: false,
    defaultEpsilon: 1e-3,
    recurrentWeights: "torch-ih-hh",
    attentionKernelsPerHead: false,
    composableConfig: false,
    wrapperPrefixes: [],
    bidirectionalOutput: { merge: "apart" },
  },
};

/** The facts of a convention, or undefined when none was given. */
export function conventionOf(framework: Framework | undefined): ConventionFacts | undefined {
  return framework === undefined ? undefined : CONVENTIONS[framework];
}

/** The naming of a convention, or undefined when none was given. */
export function namingOf(framework: Framework | undefined): TensorNaming | undefined {
  return conventionOf(framework)?.naming;
}
