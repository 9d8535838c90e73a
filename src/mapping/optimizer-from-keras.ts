import { metaOf, type JsonObject, type JsonValue, type Structure } from "../tensor/checkpoint.js";
import { computedData, type Tensor } from "../tensor/tensor.js";
import { runRuleSets, type CompiledRuleSet } from "./engine.js";
import { BUFFER, mapLikeTargets } from "./optimizer-common.js";
import { DEFAULT_ADAM_BETAS, paramGroup } from "./optimizer-from-paddle.js";
import { track, type Tracked } from "./tracked.js";
import { affineSlot, type TorchOptimizerPlan } from "./keras-optimizers.js";

// Keras/TensorFlow optimizer slots → a torch training checkpoint {model_state_dict, optimizer_state_dict}.
// The readers name slots after their variable: `optimizer/<var>/m` and `/v` (Keras), `/Adam` and
// `/Adam_1` (TF1); the optimizer's scalars (iterations, beta_1 ...) are in meta. Keras' m and v
// follow the same recurrences as torch's exp_avg and exp_avg_sq, and Keras' iteration count is
// torch's step, so each moment is mapped by the model's rules as if it were its parameter. Other
// optimizers' slots go as ./keras-optimizers.ts says.

// Keras 2.x slot names of every built-in optimizer, legacy (≤ 2.10) and new (≥ 2.11): Adadelta's, Ftrl's,
// Adafactor's, AMSGrad's and EMA's too (found, then refused).
const SLOT_NAMES = [
  ...["m", "v", "u", "vhat", "Adam", "Adam_1", "rms", "mg", "momentum", "velocity", "average_gradient", "accumulator"],
  ...["accum_grad", "accum_var", "accumulated_grad", "accumulated_delta_var", "linear", "r", "c", "average"],
];
const SLOT = new RegExp(`^optimizer/(.+)/(${SLOT_NAMES.join("|")})$`);
/** TF1's Adam slot names are Keras' m and v. */
const KERAS_SLOT: Record<string, string> = { Adam: "m", Adam_1: "v" };
/** Keras Adam's default epsilon (torch's is 1e-8); TF does not store it. */
const KERAS_EPSILON = 1e-7;

export interface KerasAdam {
  /** Variable name → Keras slot name (m, v, rms ...) → slot tensor. */
  slots: Map<string, Map<string, Tensor>>;
  /** Everything that is not a slot (the model, and optimizer tensors such as TF1's beta1_power). */
  rest: Tracked[];
  slotItems: Tracked[];
}

/** The Adam slots among the tensors, or undefined when there are none. */
export function findKerasAdam(items: readonly Tracked[]): KerasAdam | undefined {
  const slots: KerasAdam["slots"] = new Map();
  const rest: Tracked[] = [];
  const slotItems: Tracked[] = [];
  for (const item of items) {
    const m = SLOT.exec(item.tensor.name);
    if (!m) {
      rest.push(item);
      continue;
    }
    if (!slots.has(m[1]!)) slots.set(m[1]!, new Map());
    slots.get(m[1]!)!.set(KERAS_SLOT[m[2]!] ?? m[2]!, item.tensor);
    slotItems.push(item);
  }
  return slots.size > 0 ? { slots, rest, slotItems } : undefined;
}

/** The Keras slot name of an optimizer tensor (`optimizer/dense/kernel/Adam_1` → v), if it is one. */
export function slotName(tensorName: string): string | undefined {
  const m = SLOT.exec(tensorName);
  return m ? (KERAS_SLOT[m[2]!] ?? m[2]!) : undefined;
}

/** The optimizer's scalars the reader put in meta (`optimizer` of the format's meta, and counters beside it). */
export function optimizerScalars(meta: JsonObject): Map<string, number> {
  const found = new Map<string, number>();
  for (const group of Object.values(meta)) {
    if (!group || typeof group !== "object" || Array.isArray(group)) continue;
    const add = (key: string, v: JsonValue | undefined) => {
      if (typeof v === "number") found.set(key.replace(/^.*\//, ""), v);
    };
    const opt = (group as JsonObject).optimizer;
    if (opt && typeof opt === "object" && !Array.isArray(opt)) for (const [k, v] of Object.entries(opt)) add(k, v);
    if (!found.has("iter") && !found.has("iterations") && !found.has("iteration")) add("global_step", (group as JsonObject).global_step);
  }
  return found;
}

/**
 * torch orders a module's parameters as it registers them: weight before bias, an RNN's per
 * layer (and direction). Modules follow their layers' position in the source model (the hint's
 * `position`) when every one has it, else the order they come in.
 */
function torchOrder(items: Tracked[]): Tracked[] {
  const modules = new Map<string, Tracked[]>();
  for (const i of items) {
    const name = i.tensor.name;
    const module = name.includes(".") ? name.slice(0, name.lastIndexOf(".")) : "";
    if (!modules.has(module)) modules.set(module, []);
    modules.get(module)!.push(i);
  }
  const rank = (name: string): number => {
    const leaf = name.slice(name.lastIndexOf(".") + 1);
    const layer = /_l(\d+)(_reverse)?$/.exec(leaf);
    const within = BUFFER.test(name) ? 2 : leaf.includes("bias") ? 1 : leaf.includes("weight") ? 0 : 2;
    return (layer ? Number(layer[1]) * 2 + (layer[2] ? 1 : 0) : 0) * 3 + within;
  };
  const position = (group: Tracked[]): number | undefined => {
    const p = group.map((i) => i.tensor.layer?.attributes?.position).find((x) => typeof x === "number");
    return p as number | undefined;
  };
  const groups = [...modules.values()];
  if (groups.every((g) => position(g) !== undefined)) groups.sort((a, b) => position(a)! - position(b)!);
  return groups.flatMap((group) =>
    group
      .map((item, at) => ({ item, at }))
      .sort((a, b) => rank(a.item.tensor.name) - rank(b.item.tensor.name) || a.at - b.at)
      .map((x) => x.item),
  );
}

export interface TorchTrainingCheckpoint {
  items: Tracked[];
  /** What the rules dropped (non-slot optimizer tensors such as TF1's beta1_power). */
  dropped: Tracked[];
  structure: Structure;
  meta: JsonObject;
  parameters: number;
  /** Mapped parameters that got no optimizer state (their variable had no slots). */
  stateless: string[];
}

/** Keras Adam as a plan: m and v are torch Adam's moments as they are. */
function adamPlan(scalars: ReadonlyMap<string, number>): TorchOptimizerPlan {
  const betas: [number, number] = [scalars.get("beta_1") ?? DEFAULT_ADAM_BETAS[0], scalars.get("beta_2") ?? DEFAULT_ADAM_BETAS[1]];
  const group = paramGroup(true, scalars.get("learning_rate") ?? scalars.get("lr") ?? 0.001, betas, 0, KERAS_EPSILON);
  const entries = group.type === "dict" ? group.entries.filter((e) => e.key !== "params").map((e): [string, Structure] => [String(e.key), e.value]) : [];
  return {
    torchClass: "Adam",
    slots: new Map([
      ["m", { torch: "exp_avg", how: "Keras m" }],
      ["v", { torch: "exp_avg_sq", how: "Keras v" }],
    ]),
    step: true,
    group: entries,
    notes: [],
  };
}

/** The model mapped by the rules, and each Adam slot mapped like its variable, as one torch training checkpoint. */
export function kerasAdamToTorch(adam: KerasAdam, meta: JsonObject, ruleSets: readonly CompiledRuleSet[], warnings: string[]): TorchTrainingCheckpoint {
  const scalars = optimizerScalars(meta);
  const lr = scalars.get("learning_rate") ?? scalars.get("lr");
  const out = kerasSlotsToTorch(adam, adamPlan(scalars), meta, ruleSets, warnings);
  const assumed = [
    lr === undefined ? "lr=0.001" : undefined,
    scalars.has("beta_1") ? undefined : `betas=(${DEFAULT_ADAM_BETAS.join(", ")}) (Adam's defaults)`,
    `eps=${KERAS_EPSILON} (Keras' default)`,
    "weight_decay=0",
  ].filter(Boolean);
  warnings.push(
    `optimizer param_groups: ${assumed.join(", ")} written by assumption (the checkpoint does not hold them); torch's load_state_dict takes them over, so set your own on the optimizer after loading if they differ`,
  );
  return out;
}

/** The model mapped by the rules, and each slot mapped like its variable as the plan says, as one torch training checkpoint. */
export function kerasSlotsToTorch(
  found: KerasAdam,
  plan: TorchOptimizerPlan,
  meta: JsonObject,
  ruleSets: readonly CompiledRuleSet[],
  warnings: string[],
): TorchTrainingCheckpoint {
  const outcome = runRuleSets(found.rest, ruleSets);
  const unused = found.slotItems.filter((i) => plan.unused?.has(slotName(i.tensor.name) ?? ""));
  const model = torchOrder(outcome.items.filter((i) => i.tensor.role !== "optimizer"));
  const states = new Map<string, Map<string, Tracked>>();
  for (const [kerasSlot, c] of plan.slots) {
    const stateOf = (p: Tensor) => {
      const slot = found.slots.get(p.name)?.get(kerasSlot);
      return slot && affineSlot(slot, c.scale, c.offset);
    };
    states.set(c.torch, mapLikeTargets(found.rest, stateOf, ruleSets));
  }
  const scalars = optimizerScalars(meta);
  const iterations = scalars.get("iter") ?? scalars.get("iterations") ?? scalars.get("iteration") ?? scalars.get("global_step");

  const items: Tracked[] = [];
  const modelEntries: Array<{ key: string; value: Structure }> = [];
  for (const m of model) {
    const name = `model_state_dict.${m.tensor.name}`;
    items.push({ ...m, tensor: { ...m.tensor, name } });
    modelEntries.push({ key: m.tensor.name, value: { type: "tensor", name } });
  }
  const params = model.filter((m) => !BUFFER.test(m.tensor.name));
  const state: Array<{ key: number; value: Structure }> = [];
  const stateless: string[] = [];
  params.forEach((p, index) => {
    const mapped = [...states].map(([key, byTarget]) => [key, byTarget.get(p.tensor.name)] as const);
    if (mapped.some(([, m]) => !m)) return void stateless.push(p.tensor.name); // never stepped: no state, as in torch
    const entries: Array<{ key: string; value: Structure }> = [];
    const emit = (key: string, tracked: Tracked) => {
      const name = `optimizer_state_dict.state.${index}.${key}`;
      items.push({ ...tracked, rules: [...tracked.rules, `optimizer#${key}`], tensor: { ...tracked.tensor, name, role: "optimizer-state" } });
      entries.push({ key, value: { type: "tensor", name } });
    };
    const step = iterations ?? 0;
    const stepTensor: Tensor = {
      name: "step",
      dtype: "float32",
      shape: [],
      data: computedData(4, async () => new Uint8Array(new Float32Array([step]).buffer)),
      role: "optimizer-state",
    };
    if (plan.step) emit("step", { ...track(stepTensor), sources: [], transforms: [`step = Keras optimizer iterations (${step})`], matched: true });
    for (const [key, m] of mapped) emit(key, m!);
    if (entries.length > 0) state.push({ key: index, value: { type: "dict", entries } });
  });

  for (const [slot, why] of plan.unused ?? []) warnings.push(`optimizer: Keras' ${slot} slots left out: ${why}`);
  if (iterations === undefined && plan.step) warnings.push("optimizer: no iteration count in the checkpoint, so step=0 was written (bias corrections restart)");
  if (plan.torchClass !== "Adam" && plan.slots.size > 0) {
    const how = [...plan.slots.values()].map((c) => `${c.torch} = ${c.how}`).join("; ");
    warnings.push(
      `optimizer: Keras ${plan.torchClass} slots as torch.optim.${plan.torchClass} state: ${how}${plan.notes.length ? `; ${plan.notes.join("; ")}` : ""}`,
    );
  }
  warnings.push(
    `optimizer state indices follow model_state_dict's order (${[...new Set(params.map((p) => p.tensor.name.replace(/\.[^.]*$/, "")))].slice(0, 6).join(", ")} …): torch matches them to model.parameters() by position, so register the torch module's layers in that order`,
  );
  if (stateless.length > 0)
    warnings.push(`${stateless.length} parameter(s) have no optimizer state (no slots in the checkpoint): ${stateless.slice(0, 5).join(", ")}`);
  // A zero companion (torch's bias_hh beside Keras' one LSTM bias in bias_ih) gets its partner's
  // gradient: torch would step it too, where Keras steps the one bias once.
  const companions = params.filter((p) => p.transforms.includes("fill(0)")).map((p) => p.tensor.name);
  if (companions.length > 0)
    warnings.push(
      `optimizer: ${companions.slice(0, 5).join(", ")}${companions.length > 5 ? " …" : ""} are zeros beside the one Keras parameter they ` +
        "split from (Keras has one LSTM/GRU bias, torch two): torch steps them too, so freeze them " +
        `(\`model.${companions[0]}.requires_grad_(False)\`) to continue as Keras`,
    );

  const structure: Structure = {
    type: "dict",
    entries: [
      { key: "model_state_dict", value: { type: "dict", entries: modelEntries } },
      {
        key: "optimizer_state_dict",
        value: {
          type: "dict",
          entries: [
            { key: "state", value: { type: "dict", entries: state } },
            { key: "param_groups", value: { type: "list", items: [groupStructure(plan, params.length)] } },
          ],
        },
      },
    ],
  };
  return { items, dropped: [...outcome.dropped, ...unused], structure, meta: metaOf(structure), parameters: params.length, stateless };
}

function groupStructure(plan: TorchOptimizerPlan, count: number): Structure {
  const entries = [
    ...plan.group,
    ["params", { type: "list", items: Array.from({ length: count }, (_, i) => ({ type: "value", value: i })) }] as [string, Structure],
  ];
  return { type: "dict", entries: entries.map(([key, value]) => ({ key, value })) };
}
