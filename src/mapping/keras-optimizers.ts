import type { JsonObject, JsonValue, Structure } from "../tensor/checkpoint.js";
import { computedData, type Tensor } from "../tensor/tensor.js";
import { elementReader, elementWriter } from "../kernels/elements.js";
import { numelOf } from "../tensor/dtype.js";
import { DEFAULT_ADAM_BETAS } from "./optimizer-from-paddle.js";

// Which Keras optimizer slots are which torch.optim state, by the documented update rules
// (Keras/TF: tf.keras.optimizers.* docs and the tf.raw_ops.ResourceApply* kernels they call;
// torch: the torch.optim.* algorithm boxes). A slot is converted only when torch, continuing from
// it, takes the step Keras would (up to where each puts epsilon); anything else is refused by name.
//
// Slot names: Keras 2.10 (legacy optimizers) / Keras ≥ 2.11 (the new ones, tf_keras/optimizers/*.py).
// Adam      m, v → exp_avg, exp_avg_sq                       same recurrences
// Adamax    m → exp_avg; v / u → exp_inf                     Keras u = max(β2·u, |g|), w -= lr/(1-β1^t)·m/(u+ε) (2.10 and 2.11);
//                                                            torch u = max(β2·u, |g|+ε), θ -= lr/(1-β1^t)·m/u: exp_inf = u + ε
// RMSprop   rms / velocity → square_avg;                     same recurrences; ε after the square root in both for 2.10 without
//           mg / average_gradient → grad_avg (centered)      momentum, under it (√(ms+ε)) in 2.10 with momentum and in all of 2.11
//           momentum → momentum_buffer = momentum / lr       Keras mom = μ·mom + lr·g/√(ms+ε), w -= mom;
//                                                            torch buf = μ·buf + g/(√ms+ε), θ -= lr·buf
// Adagrad   accumulator → sum                                both acc += g²; 2.10 steps lr·g/(√acc+ε) as torch, 2.11 lr·g/√(acc+ε)
// SGD       momentum / m → momentum_buffer = −slot / lr      Keras m = μ·m − lr·g, w += m (2.10 and 2.11; Nesterov w += μ·m − lr·g);
//                                                            torch buf = μ·buf + g, θ -= lr·buf. 2.11 keeps m at μ = 0 too: the
//                                                            last step, which the next does not use (torch keeps no state then)

/** The state torch keeps per parameter, from one Keras slot: `torch = scale·slot + offset`. */
export interface SlotConversion {
  torch: string;
  scale?: number;
  offset?: number;
  /** How the value is made, for the report. */
  how: string;
}

export interface TorchOptimizerPlan {
  torchClass: string;
  /** Keras slot name → torch state entry. */
  slots: Map<string, SlotConversion>;
  /** torch keeps a step count in the state (Adam, Adamax, RMSprop in 1.13+, Adagrad). */
  step: boolean;
  /** torch's param_groups entry without params, as torch 1.13 writes it. */
  group: Array<[string, Structure]>;
  /** Assumptions and differences the report states. */
  notes: string[];
  /** Keras slots the next step does not read (2.11 SGD's m at momentum 0) → why: left out, listed as dropped. */
  unused?: Map<string, string>;
}

const KERAS_EPSILON = 1e-7;

const float = (v: number): Structure => ({ type: "value", value: v, float: true });
const plain = (v: JsonValue): Structure => ({ type: "value", value: v });

/** The numbers a Keras optimizer was configured with: training_config's optimizer_config, then the checkpoint's scalars. */
export interface KerasOptimizerSettings {
  config: JsonObject;
  scalars: ReadonlyMap<string, number>;
}

function num(s: KerasOptimizerSettings, key: string): number | undefined {
  const c = s.config[key];
  if (typeof c === "number") return c;
  return s.scalars.get(key);
}

/** Keras ≥ 2.11's optimizers (not the legacy ones): their config says so, and they count `iteration`, not `iter`. */
function isNewOptimizer(s: KerasOptimizerSettings): boolean {
  return s.config.is_legacy_optimizer === false || (s.config.is_legacy_optimizer === undefined && s.scalars.has("iteration"));
}

const EPS_UNDER_ROOT =
  "Keras ≥ 2.11 adds epsilon under the square root (√(v+ε)), torch after it (√v+ε), so steps differ by about ε/√v relatively where v is not ≫ ε";

/**
 * Settings of a Keras ≥ 2.11 optimizer that torch.optim does not do the same way, as a reason to
 * refuse; gradient clipping becomes a note (torch clips in the training loop, not the optimizer).
 */
export function unportableSettings(config: JsonObject, notes: string[]): string | undefined {
  const decay = config.weight_decay;
  if (typeof decay === "number" && decay !== 0)
    return `it was configured with weight_decay=${decay}, which Keras ≥ 2.11 applies decoupled (w -= lr·wd·w) while torch.optim adds it to the gradient`;
  if (config.use_ema === true) return "it keeps an exponential moving average of the weights (use_ema), which torch.optim has no state for";
  const clips = ["clipnorm", "clipvalue", "global_clipnorm"].filter((k) => typeof config[k] === "number");
  if (clips.length > 0)
    notes.push(
      `Keras clipped gradients inside the optimizer (${clips.map((k) => `${k}=${config[k]}`).join(", ")}); torch.optim does not: ` +
        "clip in your training loop (global_clipnorm: clip_grad_norm_ over all parameters; clipnorm: per parameter; clipvalue: clip_grad_value_)",
    );
  return undefined;
}

/** A learning rate the next step uses, when the file says it (a schedule's value at this step is not in it). */
function constantLr(s: KerasOptimizerSettings): number | undefined | "schedule" {
  const c = s.config.learning_rate ?? s.config.lr;
  if (c !== undefined && c !== null && typeof c === "object") return "schedule";
  if ((num(s, "decay") ?? 0) !== 0) return "schedule";
  return s.scalars.get("learning_rate") ?? s.scalars.get("lr") ?? (typeof c === "number" ? c : undefined);
}

/**
 * The torch form of a Keras optimizer's slots, or the reason it has none. `present` are the slot
 * names the checkpoint holds (RMSprop has momentum only with momentum > 0, mg only when centered).
 */
export function torchPlan(className: string, present: ReadonlySet<string>, s: KerasOptimizerSettings): TorchOptimizerPlan | { refused: string } {
  const eps = num(s, "epsilon") ?? KERAS_EPSILON;
  const epsNote = num(s, "epsilon") === undefined ? [`eps=${KERAS_EPSILON} (Keras' default; the file does not say)`] : [];
  const lr = constantLr(s);
  const lrValue = typeof lr === "number" ? lr : 0.001;
  const lrNote =
    lr === undefined
      ? ["lr=0.001 (the file does not say)"]
      : lr === "schedule"
        ? ["lr=0.001 written: the file's learning rate follows a schedule (or decay), so set the rate your scheduler gives for the next step"]
        : [];
  const common: Array<[string, Structure]> = [["lr", float(lrValue)]];
  const tail: Array<[string, Structure]> = [
    ["weight_decay", plain(0)],
    ["foreach", plain(null)],
    ["maximize", plain(false)],
  ];
  const lrScaled = (slot: string): string | undefined => {
    if (lr === "schedule")
      return `its ${slot} slot holds learning-rate-scaled steps and the learning rate follows a schedule (or decay), so the rate of the next step is not in the file`;
    if (lr === undefined || lr === 0) return `its ${slot} slot holds learning-rate-scaled steps and the file holds no non-zero learning rate to divide by`;
    return undefined;
  };
  switch (className) {
    case "Adamax": {
      const betas: [number, number] = [num(s, "beta_1") ?? DEFAULT_ADAM_BETAS[0], num(s, "beta_2") ?? DEFAULT_ADAM_BETAS[1]];
      const u = present.has("u") ? "u" : "v";
      return {
        torchClass: "Adamax",
        slots: new Map([
          ["m", { torch: "exp_avg", how: "Keras m" }],
          [u, { torch: "exp_inf", offset: eps, how: `Keras ${u} + eps (torch adds eps inside the running max, Keras to the denominator)` }],
        ]),
        step: true,
        group: [...common, ["betas", { type: "tuple", items: betas.map(float) }], ["eps", float(eps)], ...tail],
        notes: [...lrNote, ...epsNote],
      };
    }
    case "RMSprop": {
      const [rms, mg] = present.has("velocity") ? ["velocity", "average_gradient"] : ["rms", "mg"];
      const momentum = present.has("momentum") ? (num(s, "momentum") ?? undefined) : 0;
      if (momentum === undefined) return { refused: "its momentum slot is there but the file does not say the momentum factor" };
      const slots = new Map<string, SlotConversion>([[rms, { torch: "square_avg", how: `Keras ${rms}` }]]);
      const notes = [...lrNote, ...epsNote];
      if (present.has(mg)) slots.set(mg, { torch: "grad_avg", how: `Keras ${mg}` });
      if (present.has("momentum")) {
        const why = lrScaled("momentum");
        if (why) return { refused: why };
        slots.set("momentum", { torch: "momentum_buffer", scale: 1 / lrValue, how: `Keras momentum / lr (${lrValue})` });
        notes.push(`momentum_buffer is Keras' momentum slot divided by lr=${lrValue}: keep that lr (or scale momentum_buffer with it)`);
        if (!isNewOptimizer(s))
          notes.push(
            "Keras' RMSprop with momentum adds epsilon under the square root (√(ms+ε)), torch after it (√ms+ε), so later steps differ where ms is not ≫ ε",
          );
      }
      if (isNewOptimizer(s)) notes.push(EPS_UNDER_ROOT);
      return {
        torchClass: "RMSprop",
        slots,
        step: true,
        group: [
          ...common,
          ["momentum", float(momentum)],
          ["alpha", float(num(s, "rho") ?? 0.9)],
          ["eps", float(eps)],
          ["centered", plain(present.has(mg))],
          ...tail,
        ],
        notes,
      };
    }
    case "Adagrad":
      return {
        torchClass: "Adagrad",
        slots: new Map([["accumulator", { torch: "sum", how: "Keras accumulator (its initial value included)" }]]),
        step: true,
        group: [
          ...common,
          ["lr_decay", plain(0)],
          ["initial_accumulator_value", float(num(s, "initial_accumulator_value") ?? 0.1)],
          ["eps", float(eps)],
          ...tail,
        ],
        notes: [...lrNote, ...epsNote, ...(isNewOptimizer(s) ? [EPS_UNDER_ROOT] : [])],
      };
    case "SGD": {
      // 2.10 names the slot momentum and has it only when momentum > 0; 2.11 names it m and always has it.
      const slot = present.has("m") ? "m" : "momentum";
      const momentum = num(s, "momentum");
      if (!present.has(slot)) return { refused: "its slots are not SGD's momentum slots" };
      if (momentum === undefined) return { refused: `its ${slot} slot is there but the file does not say the momentum factor` };
      const nesterov = s.config.nesterov === true;
      const group: Array<[string, Structure]> = [...common, ["momentum", float(momentum)], ["dampening", plain(0)], ["nesterov", plain(nesterov)], ...tail];
      if (momentum === 0)
        return {
          torchClass: "SGD",
          slots: new Map(),
          step: false,
          group,
          notes: lrNote,
          unused: new Map([[slot, "SGD at momentum 0: Keras' m is the last step taken, which the next step does not read (torch keeps no state)"]]),
        };
      const why = lrScaled(slot);
      if (why) return { refused: why };
      return {
        torchClass: "SGD",
        slots: new Map([[slot, { torch: "momentum_buffer", scale: -1 / lrValue, how: `−(Keras ${slot}) / lr (${lrValue})` }]]),
        step: false,
        group,
        notes: [
          ...lrNote,
          `momentum_buffer is −(Keras' ${slot} slot) / lr=${lrValue} (Keras keeps the step, torch the gradient sum): keep that lr or scale it`,
        ],
      };
    }
    case "AdamW":
      return { refused: "weightbridge does not carry AdamW's slots over yet (torch.optim.AdamW would hold m and v as exp_avg and exp_avg_sq)" };
    default:
      return { refused: `torch.optim has no ${className} with the same update rule and state, so its slots cannot be carried over` };
  }
}

/** `scale·x + offset` of a floating slot, computed when read. */
export function affineSlot(t: Tensor, scale = 1, offset = 0): Tensor {
  if (scale === 1 && offset === 0) return t;
  const count = numelOf(t.shape);
  return {
    ...t,
    data: computedData(t.data.byteLength, async () => {
      const bytes = await t.data.read();
      const read = elementReader(t.dtype, bytes);
      const out = new Uint8Array(bytes.byteLength);
      const write = elementWriter(t.dtype, out);
      for (let i = 0; i < count; i++) write(i, read(i) * scale + offset);
      return out;
    }),
  };
}
