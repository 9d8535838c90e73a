import { metaOf, type Checkpoint, type JsonObject, type JsonValue, type Structure } from "../tensor/checkpoint.js";
import { computedData, type Tensor } from "../tensor/tensor.js";
import { elementReader, hasNumericAccess } from "../kernels/elements.js";
import { WeightbridgeError } from "../errors.js";
import { runRuleSets, type CompiledRuleSet } from "./engine.js";
import { track, type Tracked } from "./tracked.js";
import { BUFFER, NAME_TABLE_KEY, PADDLE_ACCUMULATOR, TORCH_TO_PADDLE_ACCUMULATOR, mapLikeParameters } from "./optimizer-common.js";

// Paddle .pdopt → a PyTorch optimizer state_dict ({state, param_groups}) that
// `optimizer.load_state_dict(torch.load(...))` takes. The reverse of ./optimizer.ts: accumulators
// keyed by framework name (`linear_0.w_0_moment1_0`) become per-index torch state, each moment
// mapped by the same rules as its parameter; the step comes back from beta1_pow_acc = beta1^(step+1).

const PADDLE_TO_TORCH: Record<string, string> = Object.fromEntries(Object.entries(TORCH_TO_PADDLE_ACCUMULATOR).map(([t, p]) => [p, t]));
export const DEFAULT_ADAM_BETAS: [number, number] = [0.9, 0.999];

export interface PaddleOptimizer {
  /** Framework (or structured) parameter name → accumulator kind (moment1, beta1_pow_acc ...) → tensor. */
  accumulators: Map<string, Map<string, Tensor>>;
  /** Tensors that have no torch counterpart (AMP master weights). */
  ignored: Tensor[];
  meta: JsonObject;
}

/** The accumulators of a .pdopt, or undefined when the checkpoint is not one. */
export function findPaddleOptimizer(items: readonly Tracked[], meta: JsonObject): PaddleOptimizer | undefined {
  const accumulators = new Map<string, Map<string, Tensor>>();
  const ignored: Tensor[] = [];
  for (const { tensor } of items) {
    const m = PADDLE_ACCUMULATOR.exec(tensor.name);
    if (m) {
      if (!accumulators.has(m[1]!)) accumulators.set(m[1]!, new Map());
      accumulators.get(m[1]!)!.set(m[2]!, tensor);
    } else if (tensor.name.startsWith("master_weights.")) ignored.push(tensor);
    else return undefined;
  }
  return accumulators.size > 0 ? { accumulators, ignored, meta } : undefined;
}

interface Param {
  /** Paddle structured name (`fc.weight`), the rules' input. */
  structured: string;
  /** The name the accumulators are keyed by. */
  key: string;
  /** The template's tensor: shape and layer hint the rules need. */
  tensor: Tensor;
}

/**
 * The model's parameters in torch's order (its state_dict order without buffers), from the
 * template .pdparams: structured names with its name table, or framework names of a static file.
 */
function parametersOf(template: Checkpoint | undefined, optimizer: PaddleOptimizer, ruleSets: readonly CompiledRuleSet[]): Param[] {
  if (!template) {
    throw new WeightbridgeError(
      "usage",
      "converting a .pdopt needs the model's .pdparams as --template: it gives the parameters' order, shapes and layer kinds, which the accumulators alone do not",
    );
  }
  const table = template.meta[NAME_TABLE_KEY];
  const keyOf = (name: string): string =>
    table && typeof table === "object" && !Array.isArray(table) && typeof table[name] === "string" ? (table[name] as string) : name;
  const { items: mapped, dropped } = runRuleSets(template.tensors.map(track), ruleSets);
  const buffers = new Set(mapped.filter((i) => BUFFER.test(i.tensor.name)).flatMap((i) => i.sources));
  // A Paddle RNN registers each weight twice (`lstm.weight_ih_l0` and its cell's alias
  // `lstm.0.cell.weight_ih`), both naming one framework parameter: the optimizer, like
  // `parameters()`, counts it once, under the first name (the RNN's own, which torch also has).
  // The name table says so when the template has one; the rules that drop the alias say so always.
  const aliases = new Set(dropped.flatMap((i) => i.sources));
  const known = new Set<string>();
  const params: Param[] = [];
  for (const t of template.tensors) {
    const key = keyOf(t.name);
    if (buffers.has(t.name) || aliases.has(t.name) || known.has(key)) continue;
    known.add(key);
    params.push({ structured: t.name, key, tensor: t });
  }
  const stray = [...optimizer.accumulators.keys()].filter((k) => !known.has(k));
  if (stray.length > 0) {
    throw new WeightbridgeError(
      "template-mismatch",
      `${stray.length} accumulator owner(s) are not parameters of the template: ${stray.slice(0, 5).join(", ")}${stray.length > 5 ? " ..." : ""} (is the template the model these accumulators were trained with, saved with its name table?)`,
    );
  }
  return params;
}

async function scalar(t: Tensor): Promise<number> {
  if (!hasNumericAccess(t.dtype) || t.shape.reduce((n, d) => n * d, 1) !== 1) {
    throw new WeightbridgeError("mapping", `a beta pow accumulator must be one number, got ${t.dtype}[${t.shape.join(",")}]`, { tensor: t.name });
  }
  return elementReader(t.dtype, await t.data.read())(0);
}

/** step from beta^(step+1), checked to be a whole number: other betas than assumed give fractions. */
function stepFrom(pow: number, beta: number, name: string): number {
  if (!(pow > 0 && pow < 1)) {
    throw new WeightbridgeError(
      "mapping",
      `beta pow accumulator ${pow} is not in (0, 1): cannot recover the step (past ~${Math.round(Math.log(1.4e-45) / Math.log(beta))} steps it underflows)`,
      { tensor: name },
    );
  }
  const exact = Math.log(pow) / Math.log(beta) - 1;
  const step = Math.round(exact);
  // float32 pows, multiplied once per step by Paddle: allow their rounding, not a wrong beta.
  if (step < 0 || Math.abs(exact - step) > 0.02 + step * 1e-6) {
    throw new WeightbridgeError(
      "mapping",
      `beta pow accumulator ${pow} is not ${beta}^(step+1) for a whole step (${exact.toFixed(3)}): the optimizer used other betas; pass them with --adam-betas B1,B2`,
      { tensor: name },
    );
  }
  return step;
}

function stepTensor(name: string, pow: Tensor, beta: number): Tensor {
  const data = computedData(4, async () => new Uint8Array(new Float32Array([stepFrom(await scalar(pow), beta, pow.name)]).buffer));
  return { name, dtype: "float32", shape: [], data, role: "optimizer-state" };
}

const value = (v: JsonValue, float = false): Structure => (float ? { type: "value", value: v, float: true } : { type: "value", value: v });

/** torch's param_groups entry with the hyperparameters a .pdopt does not hold, as torch 1.13+ writes them. */
export function paramGroup(adam: boolean, lr: number, betas: [number, number], count: number, eps = 1e-8): Structure {
  const common: Array<[string, Structure]> = [["lr", value(lr, true)]];
  const entries: Array<[string, Structure]> = adam
    ? [
        ...common,
        ["betas", { type: "tuple", items: betas.map((b) => value(b, true)) }],
        ["eps", value(eps, true)],
        ["weight_decay", value(0)],
        ["amsgrad", value(false)],
        ["maximize", value(false)],
        ["foreach", value(null)],
        ["capturable", value(false)],
      ]
    : [
        ...common,
        ["momentum", value(0.9, true)],
        ["dampening", value(0)],
        ["weight_decay", value(0)],
        ["nesterov", value(false)],
        ["maximize", value(false)],
        ["foreach", value(null)],
      ];
  entries.push(["params", { type: "list", items: Array.from({ length: count }, (_, i) => value(i)) }]);
  return { type: "dict", entries: entries.map(([key, v]) => ({ key, value: v })) };
}

function learningRate(meta: JsonObject): number | undefined {
  const scheduler = meta.LR_Scheduler;
  if (scheduler && typeof scheduler === "object" && !Array.isArray(scheduler)) {
    const lr = (scheduler as JsonObject).last_lr;
    if (typeof lr === "number") return lr;
  }
  return undefined;
}

export interface TorchOptimizerState {
  items: Tracked[];
  structure: Structure;
  meta: JsonObject;
  parameters: number;
}

/** The torch optimizer state_dict for a .pdopt, its parameters given by the template .pdparams. */
export function paddleOptimizerToTorch(
  optimizer: PaddleOptimizer,
  ruleSets: readonly CompiledRuleSet[],
  template: Checkpoint | undefined,
  betas: [number, number] | undefined,
  warnings: string[],
): TorchOptimizerState {
  const params = parametersOf(template, optimizer, ruleSets);
  if (optimizer.ignored.length > 0) warnings.push(`${optimizer.ignored.length} AMP master weights left out: torch keeps no master copy in the optimizer`);
  const kinds = new Set([...optimizer.accumulators.values()].flatMap((m) => [...m.keys()]));
  const adam = kinds.has("moment1");

  // One pass of the model's rules per kind of moment: each moment stands in for its parameter.
  const mapped = new Map<string, Map<string, Tracked>>();
  for (const kind of [...kinds].filter((k) => k in PADDLE_TO_TORCH)) {
    const keyOf = new Map(params.map((p) => [p.structured, p.key]));
    const stateOf = (p: Tensor): Tensor | undefined => {
      const moment = optimizer.accumulators.get(keyOf.get(p.name)!)?.get(kind);
      if (moment && moment.shape.join(",") !== p.shape.join(",")) {
        throw new WeightbridgeError("template-mismatch", `accumulator [${moment.shape.join(",")}] does not fit parameter ${p.name} [${p.shape.join(",")}]`, {
          tensor: moment.name,
        });
      }
      return moment;
    };
    mapped.set(
      kind,
      mapLikeParameters(
        params.map((p) => track(p.tensor)),
        stateOf,
        ruleSets,
      ),
    );
  }

  const [b1] = betas ?? DEFAULT_ADAM_BETAS;
  const out: Tracked[] = [];
  const state: Array<{ key: number; value: Structure }> = [];
  params.forEach((p, index) => {
    const accs = optimizer.accumulators.get(p.key);
    if (!accs) return; // no state yet (frozen or never stepped), as in torch
    const entries: Array<{ key: string; value: Structure }> = [];
    const emit = (torchName: string, tracked: Tracked): void => {
      const name = `state.${index}.${torchName}`;
      out.push({ ...tracked, rules: [...tracked.rules, `optimizer#${torchName}`], tensor: { ...tracked.tensor, name, role: "optimizer-state" } });
      entries.push({ key: torchName, value: { type: "tensor", name } });
    };
    const pow = accs.get("beta1_pow_acc");
    if (adam && pow) {
      emit("step", {
        ...track(stepTensor("step", pow, b1)),
        sources: [pow.name],
        sourceDtype: pow.dtype,
        sourceShape: [...pow.shape],
        transforms: [`step = log(beta1_pow_acc)/log(${b1}) - 1`],
        matched: true,
      });
    }
    // torch's own key order: step, exp_avg, exp_avg_sq, max_exp_avg_sq, momentum_buffer.
    for (const [kind, torchName] of Object.entries(PADDLE_TO_TORCH)) {
      const m = mapped.get(kind)?.get(p.structured);
      if (m && accs.has(kind)) emit(torchName, m);
    }
    state.push({ key: index, value: { type: "dict", entries } });
  });

  const lr = learningRate(optimizer.meta);
  const assumed = [
    lr === undefined ? "lr=0.001" : undefined,
    adam
      ? `betas=(${(betas ?? DEFAULT_ADAM_BETAS).join(", ")})${betas ? "" : " (Adam's defaults; --adam-betas if yours differ)"}, eps=1e-08, weight_decay=0`
      : "momentum=0.9, weight_decay=0",
  ].filter(Boolean);
  warnings.push(
    `optimizer param_groups: a .pdopt does not hold the hyperparameters, so ${assumed.join(", ")} were written; torch's load_state_dict takes them over, so set your own on the optimizer after loading`,
  );
  const structure: Structure = {
    type: "dict",
    entries: [
      { key: "state", value: { type: "dict", entries: state } },
      { key: "param_groups", value: { type: "list", items: [paramGroup(adam, lr ?? 0.001, betas ?? DEFAULT_ADAM_BETAS, params.length)] } },
    ],
  };
  return { items: out, structure, meta: metaOf(structure), parameters: params.length };
}
