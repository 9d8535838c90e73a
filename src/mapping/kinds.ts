import type { Tensor } from "../tensor/tensor.js";
import { LAYER_KINDS, type LayerKind } from "../tensor/layer-kinds.js";
import { LAYER_VOCABULARY, type LayerSpelling, type Spelling, classKinds } from "../vocabulary/layers.js";
import { compileRegex } from "./rule-patterns.js";
import { inferByHeuristics } from "./heuristics.js";
import type { Convention, KindInfo, KindOverride } from "./types.js";

// The layer kind of each tensor decides which rule applies. It comes from, in order of
// authority: the user's override, the reader's layer hint, a named heuristic on names/shapes.
// Readers already speak the IR's vocabulary (tensor/layer-kinds.ts); the aliases are for what
// users write (`--layer`, a rule file's `kind`: `Dense`, `multihead_attention`, `BatchNorm2d`)
// and for a hint that has only its framework's class or op name.

/** What a user's word reduces to before it is looked up: `BatchNorm2d`, `batch_norm_2d` → `batchnorm2d`. */
function aliasKey(raw: string): string {
  return raw.toLowerCase().replace(/[^a-z0-9]/g, "");
}

/** Every spelling of the layer vocabulary (classes, ops, aliases) → its kind; each kind's own name wins. */
const ALIASES: Readonly<Record<string, LayerKind>> = (() => {
  const table: Record<string, LayerKind> = Object.create(null);
  const spellings: Spelling[] = ["pytorch", "keras", "onnx", "aliases"];
  for (const [kind, spelled] of Object.entries(LAYER_VOCABULARY) as Array<[LayerKind, LayerSpelling]>) {
    for (const name of spellings.flatMap((s) => spelled[s] ?? [])) table[aliasKey(name)] ??= kind;
  }
  // Paddle's layer-class prefixes that only it writes (`fc`); its op names (`mul`, `rnn`) are not kinds users mean.
  for (const [name, kind] of Object.entries(classKinds("paddleNames"))) table[aliasKey(name)] ??= kind;
  for (const kind of LAYER_KINDS) table[aliasKey(kind)] = kind;
  return table;
})();

/** Every canonical kind a rule or `--layer` may name. */
export function knownKinds(): string[] {
  return [...LAYER_KINDS].sort();
}

/** Canonical kind for a framework's kind/class/op name (`Dense`, `BatchNorm2d`, `conv2d_transpose` ...). */
export function normalizeKind(raw: string, rank?: number): string {
  const key = aliasKey(raw);
  if (key === "conv" || key === "convtranspose") {
    const dims = rank !== undefined && rank >= 3 && rank <= 5 ? `${rank - 2}d` : "";
    return dims ? (key === "conv" ? `conv${dims}` : `conv_transpose${dims}`) : key === "conv" ? "conv" : "conv_transpose";
  }
  return ALIASES[key] ?? raw.toLowerCase();
}

/** A PyTorch/Paddle conv hint whose groups equal its input channels is a depthwise conv. */
function refineHint(kind: string, tensor: Tensor, attributes: Record<string, unknown>): string {
  const groups = attributes.groups ?? attributes.group;
  if (kind === "conv2d" && typeof groups === "number" && groups > 1 && tensor.shape.length === 4 && tensor.shape[1] === 1) {
    return "depthwise_conv2d";
  }
  return kind;
}

function fromHint(tensor: Tensor): KindInfo | undefined {
  const raw = tensor.layer?.kind ?? tensor.layer?.className;
  if (!raw) return undefined;
  const attributes = { ...(tensor.layer?.attributes ?? {}) };
  return { kind: refineHint(normalizeKind(raw, tensor.shape.length), tensor, attributes), evidence: "hint", attributes };
}

/** Overrides compiled once per rule set. */
export function compileOverrides(overrides: readonly KindOverride[] | undefined, where: string) {
  return (overrides ?? []).map((o, i) => ({ ...o, regex: compileRegex(o.match, `${where}: kinds[${i}]`), label: `${where}: kinds[${i}]` }));
}

/** The kind of every tensor that has one: override, else hint, else a named heuristic. */
export function inferKinds(
  tensors: readonly Tensor[],
  convention: Convention | undefined,
  overrides: ReturnType<typeof compileOverrides>,
): Map<string, KindInfo> {
  const guessed = inferByHeuristics(tensors, convention);
  const kinds = new Map<string, KindInfo>();
  for (const t of tensors) {
    const forced = overrides.find((o) => o.regex.test(t.name));
    const hint = fromHint(t);
    if (forced) {
      const attributes = { ...(hint?.attributes ?? {}), ...(forced.attributes ?? {}) };
      kinds.set(t.name, { kind: normalizeKind(forced.kind, t.shape.length), evidence: "override", override: forced.label, attributes });
    } else if (hint) kinds.set(t.name, hint);
    else {
      const g = guessed.get(t.name);
      if (g) kinds.set(t.name, g);
    }
  }
  return kinds;
}
