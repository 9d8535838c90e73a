import type { Checkpoint, JsonObject, Structure } from "../tensor/checkpoint.js";
import type { DType } from "../tensor/dtype.js";
import type { CompiledRuleSet } from "./engine.js";
import type { PrefixOptions, PrefixReport } from "./prefix.js";
import type { OptimizerReport } from "./report.js";
import type { ShapeMismatch } from "./template.js";
import type { Tracked } from "./tracked.js";

export interface MapOptions extends PrefixOptions {
  /** Preset names or rule-file paths, applied in order; each may be comma-separated. */
  map?: string | string[];
  /** A checkpoint of the target framework whose names and order to land on. */
  template?: Checkpoint;
  /** Fail on anything unmatched, missing or shape-mismatched. */
  strict?: boolean;
  /** `REGEX=KIND` overrides of the layer kind of the tensors whose (source) name matches. */
  layers?: string[];
  /**
   * For a training checkpoint with optimizer state under a `torch-to-paddle` rule set: "model"
   * keeps the model's parameters (the default), "optimizer" makes the .pdopt accumulators instead;
   * "training" (a `keras-to-torch` rule set) writes the model and its optimizer state together.
   */
  part?: "model" | "optimizer" | "training";
  /** Adam's betas, for turning a .pdopt's beta pow accumulators back into torch's step (default 0.9, 0.999). */
  adamBetas?: [number, number];
  /** Write tensors no rule of a preset chain places under their own names instead of refusing the conversion. */
  keepUnmapped?: boolean;
  /** `--template`: leave out (listed as dropped) a tensor whose shape differs from the template's instead of refusing. */
  allowDrop?: boolean;
  /** Cast every floating tensor to this dtype (the last step; recorded in each tensor's transforms). */
  dtype?: DType;
}

/** One mapping on its way: what each step of mapCheckpoint reads and leaves for the next. */
export interface MappingRun {
  readonly source: Checkpoint;
  readonly options: MapOptions;
  readonly ruleSets: readonly CompiledRuleSet[];
  /** The tensors as they stand after the steps so far (output order at the end). */
  items: Tracked[];
  dropped: Tracked[];
  warnings: string[];
  unmatched: string[];
  missing: string[];
  mismatched: ShapeMismatch[];
  /** Template tensors that are no weights (Constant outputs ...): nothing is missing when none lands there. */
  templateNotWeights?: ReadonlySet<string>;
  prefixes?: PrefixReport;
  optimizer?: OptimizerReport;
  /**
   * Set by an optimizer pass that made the optimizer state the output: its own meta and nesting
   * replace the source's (a .pdopt holds no epochs or param_groups; a torch optimizer state_dict
   * has state/param_groups).
   */
  optimizerOutput?: { meta: JsonObject; structure?: Structure };
}

/** A named step of mapCheckpoint. */
export type MappingStep = (run: MappingRun) => void;
