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
// Adam      m, v → exp_avg, exp_avg_sq                       same recurrences
// Adamax    m → exp_avg; v (2.10) / u (2.11) → exp_inf       Keras u = max(β2·u, |g|), w -= lr/(1-β1^t)·m/(u+ε);
//                                                            torch u = max(β2·u, |g|+ε), θ -= lr/(1-β1^t)·m/u: exp_inf = u + ε
// RMSprop   rms → square_avg; mg → grad_avg (centered)       same recurrences, ε after the square root in both (no momentum)
//           momentum → momentum_buffer = momentum / lr       Keras mom = μ·mom + lr·g/√(ms+ε), w -= mom;
//                                                            torch buf = μ·buf + g/(√ms+ε), θ -= lr·buf
// Adagrad   accumulator → sum                                both acc += g², step lr·g/(√acc+ε); the initial value is in it
// SGD       momentum → momentum_buffer = −momentum / lr      Keras m = μ·m − lr·g, w += m; torch buf = μ·buf + g, θ -= lr·buf

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
  const lrNote = lr === undefined ? ["lr=0.001 (the file does not say)"] : [];
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
      const momentum = present.has("momentum") ? (num(s, "momentum") ?? undefined) : 0;
      if (momentum === undefined) return { refused: "its momentum slot is there but the file does not say the momentum factor" };
      const slots = new Map<string, SlotConversion>([["rms", { torch: "square_avg", how: "Keras rms" }]]);
      const notes = [...lrNote, ...epsNote];
      if (present.has("mg")) slots.set("mg", { torch: "grad_avg", how: "Keras mg" });
      if (present.has("momentum")) {
        const why = lrScaled("momentum");
        if (why) return { refused: why };
        slots.set("momentum", { torch: "momentum_buffer", scale: 1 / lrValue, how: `Keras momentum / lr (${lrValue})` });
        notes.push(
          `momentum_buffer is Keras' momentum slot divided by lr=${lrValue}: keep that lr (or scale momentum_buffer with it); ` +
            "Keras' RMSprop with momentum adds epsilon under the square root (√(ms+ε)), torch after it (√ms+ε), so later steps differ where ms is not ≫ ε",
        );
      }
      return {
        torchClass: "RMSprop",
        slots,
        step: true,
        group: [
          ...common,
          ["momentum", float(momentum)],
          ["alpha", float(num(s, "rho") ?? 0.9)],
          ["eps", float(eps)],
          ["centered", plain(present.has("mg"))],
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
        notes: [...lrNote, ...epsNote],
      };
    case "SGD": {
      const momentum = num(s, "momentum");
      if (!present.has("momentum")) return { refused: "SGD without momentum keeps no state: convert the weights alone (.pt)" };
      if (momentum === undefined) return { refused: "its momentum slot is there but the file does not say the momentum factor" };
      const why = lrScaled("momentum");
      if (why) return { refused: why };
      const nesterov = s.config.nesterov === true;
      return {
        torchClass: "SGD",
        slots: new Map([["momentum", { torch: "momentum_buffer", scale: -1 / lrValue, how: `−(Keras momentum) / lr (${lrValue})` }]]),
        step: false,
        group: [...common, ["momentum", float(momentum)], ["dampening", plain(0)], ["nesterov", plain(nesterov)], ...tail],
        notes: [
          ...lrNote,
          `momentum_buffer is −(Keras' momentum slot) / lr=${lrValue} (Keras keeps the step, torch the gradient sum): keep that lr or scale it`,
        ],
      };
    }
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
