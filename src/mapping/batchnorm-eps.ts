import { WeightbridgeError } from "../errors.js";
import { splitName } from "./name-style.js";
import type { MappingRun } from "./run.js";
import type { Convention } from "./types.js";

// BatchNorm's and LayerNorm's ε is a constructor argument, not a tensor: Keras defaults to 1e-3,
// torch, Paddle and ONNX to 1e-5, and a model built with the wrong one computes something else
// (error 34 on a ResNet-18). When the source says ε and a template can say it too, they must
// agree; when the target file cannot hold it, the summary says which layers need which ε.
// Files store ε as float32 (ONNX attributes, Keras configs written from float32): 1e-5 read back
// is 0.000009999999747378752, the same ε, so values are compared and shown at float32 precision.

const DEFAULT_EPS: Record<Convention, number> = { pytorch: 1e-5, paddle: 1e-5, onnx: 1e-5, keras: 1e-3, tflite: 1e-3 };
const ARGUMENT: Record<Convention, string> = { pytorch: "eps", paddle: "epsilon", onnx: "epsilon", keras: "epsilon", tflite: "epsilon" };
const NAME: Record<Convention, string> = { pytorch: "torch", paddle: "Paddle", onnx: "ONNX", keras: "Keras", tflite: "TFLite" };

function epsOf(attributes: Record<string, unknown> | undefined): number | undefined {
  const v = attributes?.eps ?? attributes?.epsilon;
  return typeof v === "number" && v > 0 ? v : undefined;
}

const possessive = (c: Convention) => (NAME[c].endsWith("s") ? `${NAME[c]}'` : `${NAME[c]}'s`);
const close = (a: number, b: number) => Math.fround(a) === Math.fround(b) || Math.abs(a - b) <= 1e-9 * Math.max(a, b);

/** The shortest decimal that is the same float32 (0.000009999999747378752 → 0.00001). */
export function float32Text(x: number): string {
  for (let digits = 1; digits <= 17; digits++) {
    const shortest = Number(x.toPrecision(digits));
    if (Math.fround(shortest) === Math.fround(x)) return String(shortest);
  }
  return String(x);
}

const NORMS = { batchnorm: "BatchNorm", layernorm: "LayerNorm" } as const;

export function noteBatchNormEpsilon(run: MappingRun): void {
  for (const kind of Object.keys(NORMS) as Array<keyof typeof NORMS>) noteEpsilon(run, kind, NORMS[kind]);
}

function noteEpsilon(run: MappingRun, kind: keyof typeof NORMS, label: string): void {
  const from = run.ruleSets[0]?.set.from;
  const to = run.ruleSets.at(-1)?.set.to;
  const template = run.options.template;
  if (!template && (!from || !to || from === to)) return;
  const templateEps = new Map(template?.tensors.map((t) => [t.name, epsOf(t.layer?.attributes)]) ?? []);
  const layers = new Map<string, { eps?: number; target: string; templateEps?: number }>();
  for (const item of run.items) {
    if ((item.kind?.kind ?? item.tensor.layer?.kind) !== kind || item.added) continue;
    const source = splitName(item.sources[0] ?? item.tensor.name).module;
    const entry = layers.get(source) ?? { target: splitName(item.tensor.name).module };
    entry.eps ??= epsOf(item.kind?.attributes) ?? epsOf(item.tensor.layer?.attributes);
    entry.templateEps ??= templateEps.get(item.tensor.name);
    layers.set(source, entry);
  }
  if (!layers.size) return;
  const disagree = [...layers].filter(([, l]) => l.eps !== undefined && l.templateEps !== undefined && !close(l.eps, l.templateEps));
  if (disagree.length) {
    const [name, l] = disagree[0]!;
    throw new WeightbridgeError(
      "template-mismatch",
      `${label} ε differs: source ${name} has ε=${float32Text(l.eps!)}, the template's ${l.target} ε=${float32Text(l.templateEps!)}` +
        (disagree.length > 1 ? ` (and ${disagree.length - 1} more layers)` : "") +
        `; the result would compute with the template's ε. Rebuild the template's ${label}s with ε=${float32Text(l.eps!)} and export it again`,
    );
  }
  if (template && [...layers.values()].every((l) => l.templateEps !== undefined)) return;
  if (!to) return;
  const targetDefault = DEFAULT_EPS[to];
  const known = [...layers].filter(([, l]) => l.eps !== undefined && !close(l.eps, targetDefault));
  const few = (names: string[]) => (names.length > 6 ? `${names.slice(0, 6).join(", ")} … (${names.length})` : names.join(", "));
  if (known.length) {
    const byEps = new Map<string, string[]>();
    for (const [, l] of known) byEps.set(float32Text(l.eps!), [...(byEps.get(float32Text(l.eps!)) ?? []), l.target]);
    for (const [eps, names] of byEps) {
      run.warnings.push(
        `${label} ε: ${few(names)} use ε=${eps}, ${possessive(to)} default is ${targetDefault}: build ${names.length > 1 ? "them" : "it"} with ${ARGUMENT[to]}=${eps}, or the model computes something else`,
      );
    }
  }
  const unknown = [...layers].filter(([, l]) => l.eps === undefined).map(([, l]) => l.target);
  if (unknown.length && from && from !== to && !close(DEFAULT_EPS[from], targetDefault)) {
    run.warnings.push(
      `${label} ε of ${few(unknown)} is not in the source file: ${possessive(from)} default is ${DEFAULT_EPS[from]}, ${possessive(to)} ${targetDefault}; ` +
        `if the model kept ${possessive(from)} default, build ${unknown.length > 1 ? "them" : "it"} with ${ARGUMENT[to]}=${DEFAULT_EPS[from]}`,
    );
  }
}
