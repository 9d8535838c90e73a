import { findTorchTraining, parameterCount, torchOptimizerToPaddle } from "./optimizer.js";
import { findPaddleOptimizer, paddleOptimizerToTorch } from "./optimizer-from-paddle.js";
import { findKerasAdam, kerasAdamToTorch, kerasSlotsToTorch, optimizerScalars } from "./optimizer-from-keras.js";
import { torchPlan, unportableSettings } from "./keras-optimizers.js";
import type { JsonObject } from "../tensor/checkpoint.js";
import type { MappingRun } from "./run.js";
import type { OptimizerPass } from "./types.js";
import { appendAll } from "../util/arrays.js";
import { WeightbridgeError } from "../errors.js";

/** The optimizer class a TF SavedModel says the model was compiled with (meta.tensorflow.optimizer_class), and its config. */
function compiledOptimizer(run: MappingRun): { className?: string; config: JsonObject } {
  const tensorflow = run.source.meta.tensorflow;
  if (!tensorflow || typeof tensorflow !== "object" || Array.isArray(tensorflow)) return { config: {} };
  const name = tensorflow.optimizer_class;
  const config = tensorflow.optimizer_config;
  return {
    ...(typeof name === "string" ? { className: name } : {}),
    config: config && typeof config === "object" && !Array.isArray(config) ? config : {},
  };
}

// A rule set declares the optimizer pass its chain supports (`"optimizer": "torch-to-paddle"`);
// presets and user rule files alike. A pass returns false when the checkpoint holds no optimizer
// state of its kind.

const PASSES: Record<OptimizerPass, (run: MappingRun) => boolean> = {
  "torch-to-paddle": torchToPaddle,
  "paddle-to-torch": paddleToTorch,
  "keras-to-torch": kerasToTorch,
};

/** The first declared pass (in PASSES' order) that finds optimizer state in the checkpoint converts it. */
export function convertOptimizerState(run: MappingRun): void {
  const declared = new Set(run.ruleSets.map((r) => r.set.optimizer));
  for (const [pass, apply] of Object.entries(PASSES) as Array<[OptimizerPass, (run: MappingRun) => boolean]>) {
    if (declared.has(pass) && apply(run)) return;
  }
  refuseUnconvertedTrainingState(run);
}

/**
 * A training checkpoint (.tar) asked of a source whose optimizer state no pass converts (RMSprop's
 * velocity, a Keras .h5's optimizer_weights, a Keras 3 file's optimizer/vars) would come out as the
 * weights alone with exit 0: refused, naming the state, as for an optimizer whose slots torch lacks.
 */
function refuseUnconvertedTrainingState(run: MappingRun): void {
  if (run.options.part !== "training") return;
  const state = run.items.filter((i) => i.tensor.role === "optimizer");
  if (state.length === 0) return;
  const compiledWith = compiledOptimizer(run).className;
  throw new WeightbridgeError(
    "unsupported",
    `the source's optimizer state (${state.length} tensors${compiledWith ? ` of ${compiledWith}` : ""}) is not converted to a torch optimizer_state_dict; ` +
      "write the weights alone (.pt/.pth) instead of a .tar training checkpoint",
    { tensor: state[0]!.tensor.name },
  );
}

/** A torch training checkpoint: the model's parameters, or (part "optimizer") the .pdopt accumulators. */
function torchToPaddle(run: MappingRun): boolean {
  const training = findTorchTraining(run.items, run.source.meta);
  if (!training) return false;
  const isOptimizer = (i: { tensor: { name: string } }) => i.tensor.name.startsWith(`${training.optimizerKey}.`);
  const others = training.rest.filter((i) => !isOptimizer(i));
  const parameters = parameterCount(training);
  if (run.options.part === "optimizer") {
    run.items = torchOptimizerToPaddle(training, run.ruleSets, run.options.template, run.warnings);
    appendAll(run.dropped, training.model, others);
    run.optimizer = { from: training.optimizerKey, parameters, written: true };
    run.optimizerOutput = { meta: {} };
  } else {
    run.items = [...training.model, ...others];
    appendAll(run.dropped, training.rest.filter(isOptimizer));
    run.optimizer = { from: training.optimizerKey, parameters, written: false };
    run.warnings.push(`optimizer state (${training.optimizerKey}) left out of the model; write it to a .pdopt to convert it`);
  }
  return true;
}

/** A .pdopt becomes a torch optimizer state_dict (its own nesting). */
function paddleToTorch(run: MappingRun): boolean {
  const pdopt = findPaddleOptimizer(run.items, run.source.meta);
  if (!pdopt) return false;
  const torch = paddleOptimizerToTorch(pdopt, run.ruleSets, run.options.template, run.options.adamBetas, run.warnings);
  run.items = torch.items;
  run.optimizer = { from: "Paddle accumulators", parameters: torch.parameters, written: true, to: "torch" };
  run.optimizerOutput = { meta: torch.meta, structure: torch.structure };
  return true;
}

/**
 * Keras/TF Adam slots: with part "training" (a .tar output) one torch training checkpoint of the
 * mapped model and its optimizer_state_dict; otherwise the slots are left out, and the report says so.
 */
function kerasToTorch(run: MappingRun): boolean {
  const adam = findKerasAdam(run.items);
  if (!adam) return false;
  const slots = adam.slotItems.length;
  // Other Keras optimizers name their slots m and v too (Adamax's v is an infinity norm, torch's
  // exp_inf): the class the file was compiled with decides; a file that does not say is Adam when
  // its slots are m and v.
  const compiled = compiledOptimizer(run);
  const present = new Set([...adam.slots.values()].flatMap((m) => [...m.keys()]));
  const adamLike = present.size === 2 && present.has("m") && present.has("v");
  const className = compiled.className ?? (adamLike ? "Adam" : undefined);
  const what = `${slots} ${className ?? [...present].join("/")} slots`;
  const plan =
    className && className !== "Adam" ? torchPlan(className, present, { config: compiled.config, scalars: optimizerScalars(run.source.meta) }) : undefined;
  const planned =
    className === "Adam" ? new Set(["m", "v"]) : plan && !("refused" in plan) ? new Set([...plan.slots.keys(), ...(plan.unused?.keys() ?? [])]) : undefined;
  const settingNotes: string[] = [];
  const unportable = className === undefined ? undefined : unportableSettings(compiled.config, settingNotes);
  const unplanned = planned ? [...present].filter((n) => !planned.has(n)) : [];
  const unconvertible =
    className === undefined
      ? `the file does not say which optimizer made its ${[...present].join(", ")} slots, so their torch state is unknown`
      : plan && "refused" in plan
        ? `the model was compiled with ${className}, whose slots weightbridge does not convert to torch: ${plan.refused}`
        : unportable
          ? `the model was compiled with ${className}, whose slots weightbridge does not convert to torch: ${unportable}`
          : unplanned.length > 0
            ? `the model was compiled with ${className}, and its ${unplanned.join(", ")} slots have no torch.optim.${className} state weightbridge writes (AMSGrad's vhat, say)`
            : undefined;
  if (run.options.part !== "training") {
    run.items = adam.rest;
    appendAll(run.dropped, adam.slotItems);
    run.optimizer = { from: what, parameters: adam.slots.size, written: false, to: "torch" };
    if (unconvertible) run.optimizer.unconvertible = unconvertible;
    run.warnings.push(
      `optimizer state (${what} of ${adam.slots.size} variables) left out of the weights; ${unconvertible ?? "write to a .tar to get a torch training checkpoint with its optimizer_state_dict"}`,
    );
    return true;
  }
  if (unconvertible) {
    throw new WeightbridgeError("unsupported", `${unconvertible}; write the weights alone (.pt/.pth) instead of a .tar training checkpoint`, {
      tensor: adam.slotItems[0]!.tensor.name,
    });
  }
  const torch =
    plan && !("refused" in plan)
      ? kerasSlotsToTorch(adam, plan, run.source.meta, run.ruleSets, run.warnings)
      : kerasAdamToTorch(adam, run.source.meta, run.ruleSets, run.warnings);
  run.items = torch.items;
  appendAll(run.dropped, torch.dropped);
  appendAll(
    run.warnings,
    settingNotes.map((n) => `optimizer: ${n}`),
  );
  // Slots torch keeps no state for (SGD at momentum 0) are in dropped, not in what was written.
  const left = torch.dropped.length;
  const written = left ? `${slots - left} of ${slots} ${className ?? [...present].join("/")} slots; ${left} left out` : what;
  run.optimizer = { from: written, parameters: torch.parameters, written: true, to: "torch", training: true };
  run.optimizerOutput = { meta: torch.meta, structure: torch.structure };
  return true;
}
