import type { Checkpoint, JsonObject, JsonValue } from "../tensor/checkpoint.js";
import { computedData, type Tensor } from "../tensor/tensor.js";
import { elementReader, hasNumericAccess } from "../kernels/elements.js";
import { WeightbridgeError } from "../errors.js";
import type { CompiledRuleSet } from "./engine.js";
import type { Tracked } from "./tracked.js";
import { BUFFER, NAME_TABLE_KEY, PADDLE_ACCUMULATOR, TORCH_TO_PADDLE_ACCUMULATOR, mapLikeParameters } from "./optimizer-common.js";

// Optimizer state of a PyTorch training checkpoint → a Paddle .pdopt (Adam/AdamW/SGD-momentum).
// torch keys state by parameter index (model.parameters() order, i.e. the model state_dict's
// order without buffers); Paddle keys accumulators by the parameter's framework name
// (`linear_0.w_0_moment1_0`). Each moment goes through the same rules as its parameter, so a
// transposed Linear weight gets transposed moments. Facts: shared/reference/paddle.md §3.

const MODEL_KEYS = ["model_state_dict", "model", "state_dict", "net"];
const OPTIMIZER_KEYS = ["optimizer_state_dict", "optimizer", "optim", "optimizer_states.0"];
const FRAMEWORK_NAME = /^[a-z][a-z0-9_]*_\d+\.[wb]_\d+$/;

export interface TorchTraining {
  modelKey: string;
  optimizerKey: string;
  /** The model's tensors, named without `modelKey.`. */
  model: Tracked[];
  /** Everything under `optimizerKey.` and anything else that is neither model nor optimizer. */
  rest: Tracked[];
  /** Parameter index → torch state name (exp_avg, step ...) → tensor. */
  state: Map<number, Map<string, Tensor>>;
  meta: JsonObject;
}

function metaAt(meta: JsonValue | undefined, path: string): JsonValue | undefined {
  let at: JsonValue | undefined = meta;
  for (const part of path.split(".")) {
    if (Array.isArray(at)) at = at[Number(part)];
    else if (at && typeof at === "object") at = (at as JsonObject)[part];
    else return undefined;
  }
  return at;
}

/** A torch training checkpoint's model and optimizer parts, or undefined when it has no optimizer state. */
export function findTorchTraining(items: readonly Tracked[], meta: JsonObject): TorchTraining | undefined {
  for (const optimizerKey of OPTIMIZER_KEYS) {
    const pattern = new RegExp(`^${optimizerKey.replaceAll(".", "\\.")}\\.state\\.(\\d+)\\.([A-Za-z_]+)$`);
    const state = new Map<number, Map<string, Tensor>>();
    for (const i of items) {
      const m = pattern.exec(i.tensor.name);
      if (!m) continue;
      const index = Number(m[1]);
      if (!state.has(index)) state.set(index, new Map());
      state.get(index)!.set(m[2]!, i.tensor);
    }
    if (state.size === 0) continue;
    const modelKey = MODEL_KEYS.find((k) => items.some((i) => i.tensor.name.startsWith(`${k}.`)));
    if (!modelKey) {
      throw new WeightbridgeError(
        "mapping",
        `the checkpoint has optimizer state (${optimizerKey}) but no model parameters (${MODEL_KEYS.join(", ")}) to name it after`,
      );
    }
    const model: Tracked[] = [];
    const rest: Tracked[] = [];
    for (const i of items) {
      if (i.tensor.name.startsWith(`${modelKey}.`)) model.push({ ...i, tensor: { ...i.tensor, name: i.tensor.name.slice(modelKey.length + 1) } });
      else rest.push(i);
    }
    return { modelKey, optimizerKey, model, rest, state, meta };
  }
  return undefined;
}

/** The model's parameters (its state_dict without BatchNorm buffers), which the optimizer state follows. */
export function parameterCount(training: TorchTraining): number {
  return training.model.filter((i) => !BUFFER.test(i.tensor.name)).length;
}

interface ParamSlot {
  param: Tracked;
  index: number;
  betas?: [number, number];
}

/** Which state index belongs to which model parameter: param_groups' lists in order = the parameters in order. */
function paramSlots(training: TorchTraining): ParamSlot[] {
  const params = training.model.filter((i) => !BUFFER.test(i.tensor.name));
  const groups = metaAt(training.meta, `${training.optimizerKey}.param_groups`);
  const slots: Array<{ index: number; betas?: [number, number] }> = [];
  if (Array.isArray(groups)) {
    for (const g of groups) {
      const list = metaAt(g, "params");
      const betas = metaAt(g, "betas");
      const pair = Array.isArray(betas) && betas.length === 2 && betas.every((b) => typeof b === "number") ? (betas as [number, number]) : undefined;
      if (Array.isArray(list)) for (const index of list) if (typeof index === "number") slots.push({ index, betas: pair });
    }
  } else {
    params.forEach((_, index) => slots.push({ index }));
  }
  if (slots.length !== params.length) {
    throw new WeightbridgeError(
      "mapping",
      `${training.optimizerKey}.param_groups list ${slots.length} parameters but ${training.modelKey} has ${params.length} (buffers aside): cannot tell which optimizer state belongs to which parameter`,
    );
  }
  return slots.map((s, k) => ({ ...s, param: params[k]! }));
}

async function scalarOf(t: Tensor): Promise<number> {
  if (!hasNumericAccess(t.dtype) || t.shape.reduce((n, d) => n * d, 1) !== 1) {
    throw new WeightbridgeError("mapping", `optimizer step must be one number, got ${t.dtype}[${t.shape.join(",")}]`, { tensor: t.name });
  }
  return elementReader(t.dtype, await t.data.read())(0);
}

function powTensor(name: string, beta: number, step: () => Promise<number>): Tensor {
  const data = computedData(4, async () => new Uint8Array(new Float32Array([Math.fround(beta ** ((await step()) + 1))]).buffer));
  return { name, dtype: "float32", shape: [1], data, role: "optimizer-state" };
}

/** Paddle framework names for the mapped parameters, from a template (.pdparams name table, .pdopt or static .pdparams). */
function frameworkNames(
  template: Checkpoint | undefined,
  structured: Array<{ name: string; shape: number[] }>,
  warnings: string[],
): Map<string, string> | undefined {
  const note = "Paddle's set_state_dict looks accumulators up by framework names (linear_0.w_0 ...)";
  if (!template) {
    warnings.push(
      `optimizer state: no --template, so accumulators are named after structured names (fc.weight_moment1_0); ${note}: pass the model's .pdparams (with its name table) or a .pdopt as --template`,
    );
    return undefined;
  }
  const table = template.meta[NAME_TABLE_KEY];
  if (table && typeof table === "object" && !Array.isArray(table)) {
    const out = new Map<string, string>();
    for (const [k, v] of Object.entries(table)) if (typeof v === "string") out.set(k, v);
    const missing = structured.filter((s) => !out.has(s.name)).map((s) => s.name);
    if (missing.length)
      warnings.push(
        `optimizer state: the template's name table has no entry for ${missing.slice(0, 5).join(", ")}${missing.length > 5 ? " …" : ""}; structured names used for them`,
      );
    return out;
  }
  // A .pdopt (accumulators, in parameter order) or a static .pdparams keyed by framework names.
  const ordered: Array<{ name: string; shape?: number[] }> = [];
  const seen = new Set<string>();
  for (const t of template.tensors) {
    const acc = PADDLE_ACCUMULATOR.exec(t.name);
    const fw = acc ? acc[1]! : FRAMEWORK_NAME.test(t.name) ? t.name : undefined;
    if (!fw || fw.startsWith("master_weights.")) continue;
    const paramShaped = !acc || acc[2] === "moment1" || acc[2] === "velocity";
    if (!seen.has(fw)) {
      seen.add(fw);
      ordered.push({ name: fw });
    }
    if (paramShaped) ordered.find((o) => o.name === fw)!.shape ??= t.shape;
  }
  if (ordered.length === 0) {
    warnings.push(
      `optimizer state: the template has neither ${NAME_TABLE_KEY} nor framework-named tensors; accumulators are named after structured names; ${note}`,
    );
    return undefined;
  }
  if (ordered.length !== structured.length) {
    throw new WeightbridgeError("template-mismatch", `the template names ${ordered.length} parameters, the checkpoint's optimizer has ${structured.length}`);
  }
  const out = new Map<string, string>();
  structured.forEach((s, k) => {
    const t = ordered[k]!;
    if (t.shape && (t.shape.length !== s.shape.length || t.shape.some((d, i) => d !== s.shape[i]))) {
      throw new WeightbridgeError(
        "template-mismatch",
        `parameter ${k} (${s.name}) is [${s.shape.join(",")}] but the template's ${t.name} is [${t.shape.join(",")}]`,
      );
    }
    out.set(s.name, t.name);
  });
  return out;
}

/**
 * The .pdopt tensors for a torch training checkpoint: per parameter, in order, moment1/moment2
 * (moment2_max)/beta1_pow_acc/beta2_pow_acc for Adam(W), velocity for SGD momentum.
 */
export function torchOptimizerToPaddle(
  training: TorchTraining,
  ruleSets: readonly CompiledRuleSet[],
  template: Checkpoint | undefined,
  warnings: string[],
): Tracked[] {
  const slots = paramSlots(training);
  const present = new Set([...training.state.values()].flatMap((s) => [...s.keys()]));
  for (const name of present) {
    if (name !== "step" && !(name in TORCH_TO_PADDLE_ACCUMULATOR)) warnings.push(`optimizer state '${name}' has no Paddle accumulator and was left out`);
  }
  // One pass of the model's rules per kind of state: the state stands in for its parameter.
  const mapped = new Map<string, Map<string, Tracked>>();
  for (const acc of Object.keys(TORCH_TO_PADDLE_ACCUMULATOR).filter((a) => present.has(a))) {
    const slotOf = new Map(slots.map((s) => [s.param.tensor.name, s]));
    const stateOf = (p: Tensor): Tensor | undefined => {
      const slot = slotOf.get(p.name);
      const t = slot && training.state.get(slot.index)?.get(acc);
      if (t && (t.shape.length !== p.shape.length || t.shape.some((d, i) => d !== p.shape[i]))) {
        throw new WeightbridgeError(
          "mapping",
          `optimizer state [${t.shape.join(",")}] does not fit parameter ${p.name} [${p.shape.join(",")}]: param_groups order and the model's order disagree`,
          { tensor: t.name },
        );
      }
      return t;
    };
    mapped.set(acc, mapLikeParameters(training.model, stateOf, ruleSets));
  }
  const structuredOf = (s: ParamSlot) => [...mapped.values()].map((m) => m.get(s.param.tensor.name)).find((x) => x)?.tensor;
  const used = slots.filter((s) => structuredOf(s));
  const names = frameworkNames(
    template,
    used.map((s) => ({ name: structuredOf(s)!.name, shape: structuredOf(s)!.shape })),
    warnings,
  );
  const out: Tracked[] = [];
  for (const s of used) {
    const structured = structuredOf(s)!.name;
    const base = names?.get(structured) ?? structured;
    const emit = (acc: string) => {
      const m = mapped.get(acc)?.get(s.param.tensor.name);
      if (m) out.push({ ...m, rules: [...m.rules, `optimizer#${acc}`], tensor: { ...m.tensor, name: `${base}_${TORCH_TO_PADDLE_ACCUMULATOR[acc]}_0` } });
    };
    emit("exp_avg");
    emit("exp_avg_sq");
    emit("max_exp_avg_sq");
    const state = training.state.get(s.index);
    if (state?.has("exp_avg")) {
      const stepName = `${training.optimizerKey}.state.${s.index}.step`;
      const stepTensor = state.get("step");
      const stepMeta = metaAt(training.meta, stepName);
      const step = stepTensor ? () => scalarOf(stepTensor) : typeof stepMeta === "number" ? async () => stepMeta : undefined;
      if (!step) throw new WeightbridgeError("mapping", "Adam state without a step count", { tensor: stepName });
      if (!s.betas)
        warnings.push(`optimizer state: no betas in param_groups for ${s.param.tensor.name}; Adam's defaults (0.9, 0.999) used for the beta pow accumulators`);
      const [b1, b2] = s.betas ?? [0.9, 0.999];
      for (const [which, beta] of [
        ["beta1", b1],
        ["beta2", b2],
      ] as const) {
        out.push({
          tensor: powTensor(`${base}_${which}_pow_acc_0`, beta, step),
          sources: [stepName],
          sourceDtype: stepTensor?.dtype ?? "int64",
          sourceShape: stepTensor ? [...stepTensor.shape] : [],
          transforms: [`${which}^(step+1) with ${which}=${beta}`],
          rules: [`optimizer#${which}_pow_acc`],
          matched: true,
          heuristics: [],
        });
      }
    }
    emit("momentum_buffer");
  }
  return out;
}
