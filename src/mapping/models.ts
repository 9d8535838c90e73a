import type { Checkpoint, Structure } from "../tensor/checkpoint.js";

// A checkpoint can hold several models side by side (a GAN's generator and discriminator, a
// model and its EMA copy). A single-model target would merge them into one set of names.

const NOT_A_MODEL = /^(optimizer|optim|opt|scheduler|lr_scheduler|scaler|amp|grad_scaler)([_.-]|$)|(^|_)(optimizer|optim|scheduler)s?$/i;

function holdsTensors(node: Structure, depth = 0): boolean {
  if (depth > 64) return false;
  if (node.type === "tensor") return true;
  if (node.type === "dict") return node.entries.some((e) => holdsTensors(e.value, depth + 1));
  if (node.type === "list" || node.type === "tuple") return node.items.some((i) => holdsTensors(i, depth + 1));
  return false;
}

/** An optimizer state_dict is `{state, param_groups}`. */
function isOptimizerState(node: Structure): boolean {
  return node.type === "dict" && node.entries.some((e) => e.key === "param_groups");
}

/** The top-level keys that each hold a model's tensors (dicts of tensors, not optimizer state), when there are two or more. */
export function modelSubtrees(checkpoint: Checkpoint): string[] {
  const root = checkpoint.structure;
  if (root?.type !== "dict") return [];
  const models = root.entries
    .filter((e) => e.value.type === "dict" && holdsTensors(e.value) && !isOptimizerState(e.value) && !NOT_A_MODEL.test(String(e.key)))
    .map((e) => String(e.key));
  return models.length >= 2 ? models : [];
}
