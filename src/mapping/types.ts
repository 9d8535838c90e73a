import type { Framework } from "../tensor/layer-kinds.js";
import type { DType } from "../tensor/dtype.js";
import type { JsonValue } from "../tensor/checkpoint.js";

/**
 * A mapping rule file (`--map rules.json`, and every preset). The JSON Schema of this shape is
 * schemas/mapping-rules.schema.json; rule files are validated against it before use.
 */
export interface RuleSet {
  $schema?: string;
  name?: string;
  description?: string;
  /** The naming/layout convention of the input: decides which kind heuristics apply. */
  from?: Convention;
  /** The convention of the output (carried on the tensors for the next rule set in a chain). */
  to?: Convention;
  /**
   * Every tensor is expected to match one of these rules (presets are): those that do not are
   * reported as unmatched. Without any exhaustive set in a chain, unmatched means "no rule at all".
   */
  exhaustive?: boolean;
  /**
   * Convert optimizer state too: "torch-to-paddle" turns a torch training checkpoint's optimizer
   * state into .pdopt accumulators (when the output is a .pdopt; otherwise the state is left out
   * of the model), "paddle-to-torch" turns a .pdopt into a torch optimizer state_dict. Each moment
   * goes through this chain's rules like its parameter. A chain converts with the first declared
   * pass that finds optimizer state.
   */
  optimizer?: OptimizerPass;
  /** Force layer kinds (and facts such as the pre-flatten shape) for tensors whose name matches. */
  kinds?: KindOverride[];
  /** Tried in order for each tensor; the first that matches decides. */
  rules: Rule[];
}

/** The naming/layout convention a rule set reads or writes: one of the IR's frameworks. */
export type Convention = Framework;

export type OptimizerPass = "torch-to-paddle" | "paddle-to-torch" | "keras-to-torch";

export interface KindOverride {
  /** Regular expression on the tensor name (as the rule set sees it). */
  match: string;
  kind: string;
  attributes?: Record<string, JsonValue>;
}

export interface Match {
  /** Regular expression on the tensor name; its groups feed `rename` templates. */
  name: string;
  /** Layer kind(s) the tensor must belong to (hint, override or named heuristic). */
  kind?: string | string[];
  /** The framework's own class/op name on the layer hint (Gemm, MatMul, Conv2d ...). */
  op?: string | string[];
  /** Regular expression on the layer hint's path; named groups feed `rename` templates. */
  path?: string;
  rank?: number | number[];
  dtype?: DType | DType[];
  /** Layer attributes that must equal these values. */
  attributes?: Record<string, JsonValue>;
  /** Templates of names that must exist in the checkpoint. */
  siblings?: string[];
  /** Templates of names that must not exist in the checkpoint. */
  absent?: string[];
}

export interface Rule {
  /** Shown in the report (`torch2keras#linear-weight`). */
  id?: string;
  match: Match;
  /** Leave the tensor out (reported as dropped). */
  drop?: boolean;
  /** Refuse the conversion with this message (layouts no target can represent). */
  fail?: string;
  /** New name: `$1`, `${1}`, `${group}`, `${attr:NAME}`, `${1|dots}` (`/`→`.`), `${1|slashes}` (`.`→`/`). */
  rename?: string;
  /** Consume further tensors together with the matched one (RNN biases, packed projections). */
  combine?: Combine;
  transforms?: Transform[];
  /** Several tensors out of one (split biases, aliases); replaces rename/transforms. */
  outputs?: Output[];
  /** Tensors the target expects beside this one (e.g. `num_batches_tracked`). */
  add?: AddTensor[];
}

export interface Combine {
  /** Templates naming the partner tensors (after the matched one, in this order). */
  with: string[];
  op: "sum" | "concat" | "stack";
  axis?: number;
}

export interface Output {
  rename: string;
  transforms?: Transform[];
}

export interface AddTensor {
  name: string;
  dtype: DType;
  shape: number[];
  value: number | boolean;
}

/** Reshape entries: a size, -1 (inferred), `dN` (current dim N) or `attr:NAME`; `a|b` tries a, then b. */
export type ShapeEntry = number | string;

export type Transform =
  | { op: "transpose"; perm: number[] }
  | { op: "reshape"; shape: ShapeEntry[] }
  /** Reorders `count` equal blocks along `axis`: output block i is input block order[i]. */
  | { op: "gates"; axis: number; count: number; order: number[] }
  /** Keeps block `index` of `chunks` equal blocks along `axis`. */
  | { op: "chunk"; axis: number; chunks: number; index: number }
  /** Same shape, every element `value` (e.g. PyTorch's bias_hh from Keras' single LSTM bias). */
  | { op: "fill"; value: number | boolean }
  | { op: "cast"; dtype: DType }
  /** Adds `value` to every element of a floating tensor, rounded to its dtype (gemma's norms: llama.cpp stores 1 + w). */
  | { op: "add"; value: number }
  /**
   * Reorders the flattened feature axis of the first Dense/Linear after a Flatten between
   * channels-first (C,H,W) and channels-last (H,W,C). Needs the layer attribute
   * `flattenedFrom: {channels, spatial: [H, W]}`; without it the transform does nothing.
   */
  | { op: "flattenOrder"; axis: number; to: "channels_last" | "channels_first" };

/** How a tensor's layer kind was decided. */
export interface KindInfo {
  kind: string;
  evidence: "hint" | "override" | "heuristic";
  /** The heuristic's name when evidence is "heuristic". */
  heuristic?: string;
  /** Which override decided it (`--layer '...'`, `rules.json: kinds[0]`) when evidence is "override". */
  override?: string;
  attributes: Record<string, unknown>;
}
