import type { Tracked } from "./tracked.js";
import { kerasWeightsOf } from "../vocabulary/layers.js";

// Keras 3 saves weights by object path and index (`layers/dense/vars/0`), where Keras 2 named
// them (`dense/kernel:0`). The keras presets speak the Keras 2 names, so Keras 3 tensors are given
// those names first, from the layer kind and the variable's index in Keras 3's own order (the
// layer vocabulary's kerasWeights).

const VARS = /^(?:(?:layers|_layer_checkpoint_dependencies)\/)?(.+)\/vars\/(\d+)$/;

/** Keras 3 auto-names layers after their class: the kind when the file has no config. */
const KIND_BY_NAME: Array<[RegExp, string]> = [
  [/^(query|key|value|output)_dense$/, "mha"],
  [/^separable_conv2d/, "separable_conv2d"],
  [/^depthwise_conv2d/, "depthwise_conv2d"],
  [/^conv([123])d_transpose/, "conv_transpose$1d"],
  [/^conv([123])d/, "conv$1d"],
  [/^batch_normalization/, "batchnorm"],
  [/^layer_normalization/, "layernorm"],
  [/^(dense|einsum_dense)/, "linear"],
  [/^embedding/, "embedding"],
  [/^p_re_lu/, "prelu"],
  [/^(lstm|gru|simple_rnn)/, "rnn-by-name"],
];

/** MultiHeadAttention's Keras 3 sublayers and their Keras 2 names. */
const ATTENTION_PARTS: Record<string, string> = { query_dense: "query", key_dense: "key", value_dense: "value", output_dense: "attention_output" };

function kindOf(item: Tracked, segments: string[]): string | undefined {
  const hinted = item.kind?.kind ?? item.tensor.layer?.kind;
  if (hinted && kerasWeightsOf(hinted)) return hinted;
  for (const segment of [...segments].reverse()) {
    for (const [pattern, kind] of KIND_BY_NAME) {
      const m = pattern.exec(segment);
      if (!m) continue;
      if (kind === "rnn-by-name") return segment.startsWith("gru") ? "gru" : segment.startsWith("lstm") ? "lstm" : "rnn";
      return kind.replace("$1", m[1] ?? "");
    }
  }
  return undefined;
}

/** The kind's variables; normalization layers skip gamma/beta when their config turns scale/center off. */
function weightsOf(kind: string, item: Tracked): readonly string[] {
  const all = kerasWeightsOf(kind)!;
  if (kind !== "batchnorm" && kind !== "layernorm") return all;
  const config = item.kind?.attributes ?? item.tensor.layer?.attributes ?? {};
  return all.filter((w) => !(w === "gamma" && config.scale === false) && !(w === "beta" && config.center === false));
}

/** Keras 3 `…/vars/N` tensors renamed to their Keras 2 names; everything else as it was. */
export function legacyKerasNames(items: Tracked[], warnings: string[]): Tracked[] {
  const unknown: string[] = [];
  const out = items.map((item) => {
    const m = VARS.exec(item.tensor.name);
    if (!m || m[1]!.startsWith("optimizer")) return item;
    const segments = m[1]!.split("/");
    const kind = kindOf(item, segments);
    const weight = kind ? weightsOf(kind, item)[Number(m[2])] : undefined;
    if (!weight) {
      unknown.push(item.tensor.name);
      return item;
    }
    const last = segments[segments.length - 1]!;
    // The layer's own name (stored by Keras ≥ 3.6, or found by its path in the config) beats its object
    // path, also for a sub-object of it (an LSTM's `cell`); sublayers of nested models keep the path.
    const layer = item.tensor.layer;
    const owner = typeof layer?.attributes?.layerObjectPath === "string" ? VARS.exec(`${layer.attributes.layerObjectPath}/vars/0`)?.[1] : undefined;
    const own =
      layer?.path && segments.length === 1
        ? [layer.path]
        : layer?.path && owner && m[1]!.startsWith(`${owner}/`)
          ? [layer.path, ...m[1]!.slice(owner.length + 1).split("/")]
          : segments;
    const parts = own.map((s) => (s === last && ATTENTION_PARTS[s] ? ATTENTION_PARTS[s]! : s));
    return { ...item, tensor: { ...item.tensor, name: `${parts.join("/")}/${weight}:0` } };
  });
  if (unknown.length) {
    warnings.push(
      `${unknown.length} Keras 3 variable(s) of an unknown layer kind kept their object-path names: ${unknown.slice(0, 5).join(", ")}${unknown.length > 5 ? " ..." : ""}`,
    );
  }
  return out;
}
