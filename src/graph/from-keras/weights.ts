import type { Tensor } from "../../tensor/tensor.js";
import { legacyKerasNames } from "../../mapping/keras3-names.js";
import { track } from "../../mapping/tracked.js";
import type { Weight } from "./context.js";

// A Keras source's weights by layer name, each with its role inside the layer (`kernel`,
// `moving_mean`, `forward_lstm/lstm_cell/kernel`). Keras 3 files name variables by object path
// and index (`layers/dense/vars/0`): the mapping's Keras 2 names give them their roles.

/** Tensors that are no model weights (optimizer slots, counters, compiled metrics' state). */
function isModelWeight(t: Tensor): boolean {
  return t.role !== "optimizer" && t.role !== "metric" && !/^optimizer[/.]/.test(t.name);
}

export function weightsByLayer(tensors: readonly Tensor[]): Map<string, Weight[]> {
  const model = tensors.filter(isModelWeight);
  const legacy = model.some((t) => /\/vars\/\d+$/.test(t.name)) ? legacyKerasNames(model.map(track), []).map((x) => x.tensor.name) : model.map((t) => t.name);
  const out = new Map<string, Weight[]>();
  model.forEach((tensor, i) => {
    const segments = legacy[i]!.replace(/:\d+$/, "").split("/");
    const layer = tensor.layer?.path ?? segments[0]!;
    // The role is what follows the layer's own segment (a nested model's weights have its name first).
    const at = segments.lastIndexOf(layer.split("/").pop()!);
    const role = at >= 0 && at < segments.length - 1 ? segments.slice(at + 1).join("/") : segments[segments.length - 1]!;
    const list = out.get(layer) ?? [];
    list.push({ role, tensor });
    out.set(layer, list);
  });
  return out;
}
