import { namingOf } from "../vocabulary/conventions.js";
import { appendAll } from "../util/arrays.js";
import type { Checkpoint } from "../tensor/checkpoint.js";
import type { Tensor } from "../tensor/tensor.js";
import { WeightbridgeError } from "../errors.js";
import { compileRuleSet, runRuleSets } from "./engine.js";
import { presetRuleSet } from "./presets.js";
import { splitName } from "./name-style.js";
import type { Piece } from "./inverse.js";
import { assembleSummed, combinedShape, splitCombined } from "./template-pieces.js";
import { applyLayerOverrides, parseLayerOverride } from "./layer-overrides.js";
import { legacyKerasNames } from "./keras3-names.js";
import { foldBatchNorm } from "./fold-batchnorm.js";
import type { Tracked } from "./tracked.js";
import type { Combine, Convention, Rule, RuleSet, Transform } from "./types.js";
import type { Lazy, TransformContext } from "./transforms.js";
import type { MappingRun } from "./run.js";

// Weights named by one framework landed on a template of another whose own names say little
// (an ONNX graph from torch.onnx.export: `onnx::LSTM_587`, `onnx::MatMul_9`, `onnx::Conv_25`).
// The preset that reads such a template (onnx2torch) says which torch tensors each template
// tensor holds and how they were laid out; run backwards, it builds every template tensor from
// the torch weights: LSTM/GRU/RNN W, R, B from weight_ih/hh and bias_ih/hh (gate order,
// directions, the bias pair), MatMul weights transposed. Where the preset says a template Conv
// weight is not a parameter but a BatchNorm folded into it by the exporter, the BatchNorm that
// follows that conv in the weights is folded the same way (./fold-batchnorm.ts).

/** The preset that reads templates of each framework into the weights' convention. */
const READERS: Record<string, Partial<Record<Convention, string>>> = {
  onnx: { pytorch: "onnx2torch" },
  tflite: { pytorch: "tflite2torch", keras: "tflite2keras" },
};

/** torch's BatchNorm default, used when the weights do not say their ε. */
const TORCH_BATCHNORM_EPSILON = 1e-5;

export interface InversePlacement {
  /** Tensors built for template entries, named as the template; then the weights' tensors left over. */
  items: Tracked[];
  /** Weights that have no place of their own once folded (num_batches_tracked). */
  dropped: Tracked[];
  /** Template tensors that are no weights (the preset drops them): nothing is expected to land there. */
  notWeights: Set<string>;
}

interface Output {
  /** The weights' tensor name this piece of the template tensor is. */
  name: string;
  transforms: readonly Transform[];
  attributes: Record<string, unknown>;
}

interface TemplateEntry {
  /** The template tensors the preset read into one weight: one, or several a `combine` concatenated (in its order). */
  members: Tensor[];
  combine?: Combine;
  /** The shape the preset's outputs were taken from (the members concatenated). */
  shape: number[];
  rule: string;
  outputs: Output[];
  /** A `fail` rule of the preset matched it: not a parameter as it stands (a folded conv). */
  refusedBy?: string;
}

function frameworkOf(template: Checkpoint): string | undefined {
  return template.tensors.find((t) => t.layer?.framework)?.layer?.framework;
}

/** Each rule with its id, so one rule keeps its id in the filtered copies below. */
function identified(set: RuleSet): Rule[] {
  return set.rules.map((r, i) => ({ ...r, id: r.id ?? String(i) }));
}

/** The preset's reading of every template tensor: which weights it holds, through which transforms. */
interface TemplateReading {
  entries: Map<string, TemplateEntry>;
  /** Tensors the preset adds for the weights' convention that the template has no place for (num_batches_tracked). */
  added: Set<string>;
  /** Template tensors the preset drops as no weights (Constant outputs, shape-op inputs, initial states). */
  notWeights: Set<string>;
  /** Template tensors only a `fail` rule matched, with its reason: the weights cannot be laid out as them. */
  unreadable: Map<string, string>;
}

function readTemplate(template: Checkpoint, set: RuleSet, label: string, layers: readonly string[] | undefined): TemplateReading | undefined {
  const rules = identified(set);
  const byId = new Map(rules.map((r) => [`${label}#${r.id}`, r]));
  const reading = compileRuleSet({ ...set, rules: rules.filter((r) => !r.fail) }, label);
  // The preset's refusals, as drops: which template tensors the preset would refuse.
  const refusals = compileRuleSet(
    { ...set, exhaustive: false, rules: rules.filter((r) => r.fail).map((r) => ({ id: r.id, match: r.match, drop: true })) },
    label,
  );
  // --layer overrides say of the template's layers what they say of the weights' (an LSTM's clip accepted).
  const tracked = applyLayerOverrides(template.tensors.map(trackTemplate), layers, []);
  let read: Tracked[];
  let notWeights: Set<string>;
  try {
    const outcome = runRuleSets(tracked, [reading]);
    read = outcome.items;
    notWeights = new Set(outcome.dropped.flatMap((d) => d.sources));
  } catch {
    return undefined; // the preset cannot name this template (two entries for one name): nothing to invert
  }
  const refused = new Map(runRuleSets(tracked, [refusals]).dropped.map((i) => [i.sources[0]!, i.rules.at(-1)!]));
  const byName = new Map(template.tensors.map((t) => [t.name, t]));
  const entries = new Map<string, TemplateEntry>();
  const added = new Set(read.filter((i) => i.added).map((i) => i.tensor.name));
  for (const item of read) {
    const ruleId = item.rules.at(-1);
    const rule = ruleId ? byId.get(ruleId) : undefined;
    if (item.sources.length === 0 || !rule || rule.drop || !item.matched || item.unmatchedBy) continue;
    const key = item.sources.join("\0");
    let entry = entries.get(key);
    if (!entry) {
      const members = item.sources.map((s) => byName.get(s)!);
      const shape = combinedShape(
        members.map((m) => m.shape),
        rule.combine,
      );
      if (!shape) continue;
      entry = { members, combine: rule.combine, shape, rule: ruleId!, outputs: [], refusedBy: refused.get(item.sources[0]!) };
      entries.set(key, entry);
    }
    const specs = rule.outputs ?? [{ rename: rule.rename ?? "$0", transforms: rule.transforms }];
    const spec = specs[entry.outputs.length];
    if (!spec) continue;
    entry.outputs.push({ name: item.tensor.name, transforms: spec.transforms ?? [], attributes: item.kind?.attributes ?? {} });
  }
  const readNames = new Set([...entries.values()].flatMap((e) => e.members.map((m) => m.name)));
  const unreadable = new Map(
    [...refused]
      .filter(([name]) => !readNames.has(name) && !notWeights.has(name))
      .map(([name, ruleId]) => [name, byId.get(ruleId)?.fail ?? `refused by ${ruleId}`]),
  );
  return { entries, added, notWeights, unreadable };
}

function trackTemplate(t: Tensor): Tracked {
  return { tensor: t, sources: [t.name], sourceDtype: t.dtype, sourceShape: [...t.shape], transforms: [], rules: [], matched: false, heuristics: [] };
}

function epsilonOf(item: Tracked): number | undefined {
  const attrs = item.kind?.attributes ?? item.tensor.layer?.attributes ?? {};
  const eps = attrs.eps ?? attrs.epsilon;
  return typeof eps === "number" && eps >= 0 ? eps : undefined;
}

const BATCHNORM_PARAMS = ["weight", "bias", "running_mean", "running_var"] as const;

/**
 * Places `items` (in the convention the template's reading preset maps to) on the template's
 * own names wherever the preset's reading of the template can be run backwards; returns
 * undefined when the template is not of a framework with such a preset.
 */
export function placeByInversePreset(
  items: readonly Tracked[],
  template: Checkpoint,
  options: { strict?: boolean; warnings: string[]; convention?: Convention; layers?: readonly string[] },
): InversePlacement | undefined {
  const framework = frameworkOf(template);
  const label = framework ? READERS[framework]?.[options.convention ?? "pytorch"] : undefined;
  const set = label ? presetRuleSet(label) : undefined;
  if (!label || !set) return undefined;
  const reading = readTemplate(template, set, label, options.layers);
  if (!reading) return undefined;
  const { entries } = reading;
  const viewNames = new Set([...entries.values()].flatMap((e) => e.outputs.map((o) => o.name)));

  const available = new Map(items.map((i) => [i.tensor.name, i]));
  if (namingOf(options.convention) === "keras-path") addLayerNames(available, items);
  const consumed = new Set<Tracked>();
  const dropped: Tracked[] = [];
  const folds = foldConvs(items, entries, viewNames, available, consumed, dropped, options);

  const placed: Tracked[] = [];
  for (const entry of entries.values()) {
    const parts = entry.outputs.map((o) => folds.get(o.name) ?? available.get(o.name));
    if (parts.some((p) => !p || consumed.has(p))) continue;
    const group = parts as Tracked[];
    const ctx: TransformContext = { tensor: entry.members[0]!.name, attributes: entry.outputs[0]!.attributes, heuristic: () => {} };
    const pieces: Piece[] = entry.outputs.map((o, k) => ({ transforms: o.transforms, tensor: group[k]!.tensor }));
    const built = assembleSummed(entry.shape, pieces, ctx);
    if (!built) continue;
    for (const g of group) consumed.add(g);
    const blocks = splitCombined(built, entry.members.length, entry.combine, ctx);
    entry.members.forEach((m, k) => placed.push(placedItem(entry, m.name, group, blocks[k]!)));
  }
  // What the preset would add reading the template (num_batches_tracked) has no place in it.
  for (const i of items) {
    if (!consumed.has(i) && reading.added.has(i.tensor.name)) {
      consumed.add(i);
      dropped.push(i);
    }
  }
  const rest = items.filter((i) => !consumed.has(i));
  refuseUnreadable(reading.unreadable, rest, label);
  return { items: [...placed, ...rest], dropped, notWeights: reading.notWeights };
}

/**
 * Keras presets name a weight by its layer alone (`dense/kernel:0`), where a Keras 3 file's object
 * path puts what holds the layer before it (`layers/dense/kernel:0`): such weights are found by
 * their last two parts too, when no other weight has the same.
 */
function addLayerNames(available: Map<string, Tracked>, items: readonly Tracked[]): void {
  const short = (name: string) => name.split("/").slice(-2).join("/");
  const counts = new Map<string, number>();
  for (const i of items) counts.set(short(i.tensor.name), (counts.get(short(i.tensor.name)) ?? 0) + 1);
  for (const i of items) if (counts.get(short(i.tensor.name)) === 1 && !available.has(short(i.tensor.name))) available.set(short(i.tensor.name), i);
}

/**
 * Weights left without a place while the template has tensors its reading preset refuses: those
 * keep the template's values, computing something the weights' model did not. Refused, naming them.
 */
function refuseUnreadable(unreadable: Map<string, string>, rest: readonly Tracked[], label: string): void {
  const [name, reason] = unreadable.entries().next().value ?? [];
  if (name === undefined || rest.length === 0) return;
  const others = unreadable.size > 1 ? ` (and ${unreadable.size - 1} more template tensors)` : "";
  throw new WeightbridgeError(
    "template-mismatch",
    `this template tensor${others} cannot be built from weights such as ${rest[0]!.tensor.name}, which ${label} run backwards would need: ${reason}`,
    { tensor: name },
  );
}

function placedItem(entry: TemplateEntry, name: string, group: Tracked[], built: Lazy): Tracked {
  const first = group[0]!;
  const changed = group.length > 1 || entry.members.length > 1 || entry.outputs.some((o) => o.transforms.length > 0);
  const inverse = changed ? [`inverse of ${entry.rule}(${group.map((g) => g.tensor.name).join(", ")})`] : [];
  return {
    ...first,
    sources: group.flatMap((g) => g.sources),
    transforms: [...new Set(group.flatMap((g) => g.transforms)), ...inverse],
    rules: [...new Set(group.flatMap((g) => g.rules)), ...(changed ? [`${entry.rule}⁻¹`] : [])],
    heuristics: [...new Set(group.flatMap((g) => g.heuristics))],
    matched: true,
    tensor: { ...first.tensor, name, dtype: built.dtype, shape: built.shape, data: built.data },
  };
}

/**
 * For each template conv whose weight the preset refuses as a folded one, the conv's weights with
 * the BatchNorm that follows it in `items` folded in, keyed by the conv's weight and bias names.
 */
function foldConvs(
  items: readonly Tracked[],
  entries: Map<string, TemplateEntry>,
  viewNames: ReadonlySet<string>,
  available: Map<string, Tracked>,
  consumed: Set<Tracked>,
  dropped: Tracked[],
  options: { strict?: boolean; warnings: string[] },
): Map<string, Tracked> {
  const folds = new Map<string, Tracked>();
  const modules: string[] = [];
  for (const i of items) {
    const { module } = splitName(i.tensor.name);
    if (modules.at(-1) !== module) modules.push(module);
  }
  const assumed: string[] = [];
  const unfolded: string[] = [];
  for (const entry of entries.values()) {
    const hint = entry.members[0]!.layer;
    if (!entry.refusedBy || entry.members.length !== 1 || hint?.className !== "Conv" || hint.attributes?.input !== "W" || entry.outputs.length !== 1) continue;
    const weightName = entry.outputs[0]!.name;
    const { module: conv, param } = splitName(weightName);
    const weight = available.get(weightName);
    if (param !== "weight" || !weight) continue;
    const next = modules[modules.indexOf(conv) + 1];
    const bn = next !== undefined ? BATCHNORM_PARAMS.map((p) => available.get(`${next}.${p}`)) : [];
    const channels = weight.tensor.shape[0];
    if (
      next === undefined ||
      bn.length === 0 ||
      bn.some((t) => !t || t.tensor.shape.length !== 1 || t.tensor.shape[0] !== channels) ||
      BATCHNORM_PARAMS.some((p) => viewNames.has(`${next}.${p}`))
    ) {
      // Weights already folded (a conv weight and bias, no BatchNorm) fit as they are; anything
      // else would leave the template's own folded bias in place.
      if (!available.has(`${conv}.bias`)) {
        throw new WeightbridgeError(
          "template-mismatch",
          `the template's Conv weight '${entry.members[0]!.name}' (${conv}) has a BatchNorm folded into it by torch.onnx.export, but no BatchNorm follows ${conv} in the weights to fold the same way; re-export the template with training=torch.onnx.TrainingMode.PRESERVE`,
          { tensor: weightName },
        );
      }
      unfolded.push(conv);
      continue;
    }
    const [gamma, beta, mean, variance] = bn as Tracked[];
    const bias = available.get(`${conv}.bias`);
    const eps = epsilonOf(variance!) ?? epsilonOf(gamma!);
    if (eps === undefined) assumed.push(next!);
    const folded = foldBatchNorm(
      { weight: weight.tensor, bias: bias?.tensor },
      { weight: gamma!.tensor, bias: beta!.tensor, mean: mean!.tensor, variance: variance!.tensor },
      eps ?? TORCH_BATCHNORM_EPSILON,
      weightName,
    );
    const note = `fold BatchNorm ${next} (ε=${eps ?? TORCH_BATCHNORM_EPSILON})`;
    const sources = [weight, ...(bias ? [bias] : []), ...(bn as Tracked[])];
    for (const s of sources) consumed.add(s);
    const tracked = available.get(`${next}.num_batches_tracked`);
    if (tracked) {
      consumed.add(tracked);
      dropped.push(tracked);
    }
    const make = (name: string, t: Lazy, from: Tracked[]): Tracked => ({
      ...weight,
      sources: from.flatMap((s) => s.sources),
      transforms: [...weight.transforms, note],
      rules: [...weight.rules],
      tensor: { ...weight.tensor, name, dtype: t.dtype, shape: t.shape, data: t.data },
    });
    folds.set(weightName, make(weightName, folded.weight, [weight, gamma!, variance!]));
    folds.set(
      `${conv}.bias`,
      make(
        `${conv}.bias`,
        folded.bias,
        sources.filter((s) => s !== weight),
      ),
    );
  }
  // A BatchNorm the template has no place for, left over while others were folded: it was
  // paired with no conv, so some pairing by order cannot be right (modules declared in another
  // order than they run).
  const folded = new Set([...consumed].map((i) => i.tensor.name));
  const leftover = modules.filter(
    (m) => folds.size > 0 && available.has(`${m}.running_var`) && !folded.has(`${m}.running_var`) && !viewNames.has(`${m}.running_var`),
  );
  if (leftover.length) {
    throw new WeightbridgeError(
      "template-mismatch",
      `BatchNorm ${leftover.slice(0, 5).join(", ")} has no place in the template, whose BatchNorms torch.onnx.export folded into the convs, and follows no folded conv in the weights (are the modules declared in another order than they run?); re-export the template with training=torch.onnx.TrainingMode.PRESERVE`,
      { tensor: `${leftover[0]}.running_var` },
    );
  }
  if (unfolded.length) {
    options.warnings.push(
      `${unfolded.length} template conv(s) have a BatchNorm folded into them by the exporter but no BatchNorm follows them in the weights: ${unfolded.slice(0, 5).join(", ")}${unfolded.length > 5 ? " ..." : ""} (their weight and bias are placed as they are, as weights folded already)`,
    );
  }
  if (assumed.length) {
    const message = `BatchNorm ${assumed.slice(0, 5).join(", ")}${assumed.length > 5 ? ` and ${assumed.length - 5} more` : ""} folded into the template's convs with ε=${TORCH_BATCHNORM_EPSILON} (torch's default): the weights do not say ε; if a layer used another, give it with --layer '${assumed[0]!.replaceAll(".", "\\.")}\\.=batchnorm(eps=0.001)'`;
    if (options.strict) throw new WeightbridgeError("template-mismatch", `--strict: ${message}`);
    options.warnings.push(message);
  }
  return folds;
}

/** Mapping step: before the template is followed, its tensors that the weights can build are built. */
export function buildTemplateTensors(run: MappingRun): void {
  const template = run.options.template;
  const last = run.ruleSets.at(-1);
  if (!template && last?.set.to && READERS[last.set.to]) {
    throw new WeightbridgeError("usage", `--map ${last.label} lays weights out as the tensors of a template: give the model to re-weight with --template`);
  }
  if (!template || run.optimizer?.written) return;
  const convention = weightsConvention(run, frameworkOf(template));
  // Keras 3 object paths get Keras 2 names, as a keras rule set would have given them (keras2tflite does).
  if (namingOf(convention) === "keras-path" && run.ruleSets.length === 0 && READERS[frameworkOf(template) ?? ""]?.keras) {
    run.items = legacyKerasNames(run.items, run.warnings);
  }
  const placed = placeByInversePreset(run.items, template, { strict: run.options.strict, warnings: run.warnings, convention, layers: run.options.layers });
  // A --layer override meant for the template's tensors matched none of the weights': no warning for that.
  const templateNames = template.tensors.map((t) => t.name);
  run.warnings = run.warnings.filter(
    (w) => !(run.options.layers ?? []).some((spec) => w === `--layer '${spec}' matches no tensor` && matchesAny(spec, templateNames)),
  );
  if (!placed) return;
  run.items = placed.items;
  appendAll(run.dropped, placed.dropped);
  run.templateNotWeights = placed.notWeights;
}

function matchesAny(spec: string, names: readonly string[]): boolean {
  const regex = new RegExp(parseLayerOverride(spec).match);
  return names.some((n) => regex.test(n));
}

/**
 * The convention the weights are in when the template is read: what the last rule set maps to, or
 * its source for a set that maps onto the template's framework (keras2tflite), or the source file's.
 */
function weightsConvention(run: MappingRun, templateFramework: string | undefined): Convention {
  const last = run.ruleSets.at(-1)?.set;
  if (last?.to && last.to !== templateFramework) return last.to;
  if (last?.from) return last.from;
  return /^keras/.test(run.source.format ?? "") ? "keras" : "pytorch";
}
