import type { Tensor } from "./tensor.js";
import { WeightbridgeError, type ErrorLocation } from "../errors.js";

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

/**
 * The shape of a nested source object, kept so a nested checkpoint can be written back as it
 * was: dicts (with their keys' Python types), lists, tuples, tensors by flattened name, values.
 */
export type Structure =
  | { type: "dict"; ordered?: boolean; entries: Array<{ key: string | number; value: Structure }> }
  | { type: "list" | "tuple"; items: Structure[] }
  | { type: "tensor"; name: string }
  /** `float` marks a Python float whose value happens to be integral (1.0), so it is written back as a float. */
  | { type: "value"; value: JsonValue; float?: boolean };

export interface Checkpoint {
  /** Format id of the source, when read from a file. */
  format?: string;
  /** Tensors in source order. */
  tensors: Tensor[];
  /** JSON-able non-tensor values (epoch, loss, param_groups, model_config ...). */
  meta: JsonObject;
  /** The nesting of the source, when it was more than a flat name → tensor map. */
  structure?: Structure;
  /** Things a reader noticed but could read past (unknown classes, skipped objects). */
  warnings?: string[];
  /** Tensors the file holds that the reader could not represent: a conversion would lose them. */
  skipped?: SkippedTensor[];
}

/**
 * The meta key under which torch BatchNorm counters (`num_batches_tracked`) travel through a
 * framework without such a buffer: `{"bn1.num_batches_tracked": 5, ...}` (mapping/batch-counters.ts
 * fills it, the .pdparams writer keeps it). Spelled as Paddle spells its own reserved keys.
 */
export const BATCH_COUNTERS_KEY = "num_batches_tracked@@";

export interface SkippedTensor {
  name: string;
  /** Why it could not be read (`dtype INT4 ...`). */
  why: string;
  /** Set when it is known not to be a model weight (a non-persistent buffer): listed as dropped, never refused. */
  nonWeight?: string;
}

/** Joins flattened name parts with `.`. */
export function joinName(prefix: string, key: string | number): string {
  return prefix === "" ? String(key) : `${prefix}.${key}`;
}

/** JSON of a structure without its tensors; containers that held only tensors vanish. */
export function metaOf(structure: Structure | undefined): JsonObject {
  const value = structure ? stripTensors(structure) : undefined;
  if (value && typeof value === "object" && !Array.isArray(value)) return value;
  return value === undefined ? {} : { value };
}

function stripTensors(node: Structure): JsonValue | undefined {
  switch (node.type) {
    case "tensor":
      return undefined;
    case "value":
      return node.value;
    case "list":
    case "tuple": {
      if (node.items.length > 0 && node.items.every((i) => stripTensors(i) === undefined)) return undefined;
      return node.items.map((i) => stripTensors(i) ?? null);
    }
    case "dict": {
      const out: JsonObject = {};
      let kept = 0;
      for (const { key, value } of node.entries) {
        const v = stripTensors(value);
        if (v !== undefined) {
          out[String(key)] = v;
          kept++;
        }
      }
      if (kept === 0 && node.entries.length > 0) return undefined;
      return out;
    }
  }
}

/** Does the structure say more than "an ordered map of name → tensor"? */
export function isFlatStateDict(structure: Structure | undefined): boolean {
  if (!structure) return true;
  return structure.type === "dict" && structure.entries.every((e) => e.value.type === "tensor");
}

/**
 * Takes one subtree (e.g. `model_state_dict`) as the new root: tensors under `key.` lose that
 * prefix, and meta and structure narrow to the subtree.
 */
export function selectSubtree(checkpoint: Checkpoint, key: string): Checkpoint {
  const prefix = `${key}.`;
  const tensors = checkpoint.tensors
    .filter((t) => t.name.startsWith(prefix) || t.name === key)
    .map((t) => ({ ...t, name: t.name === key ? t.name : t.name.slice(prefix.length) }));
  const structure = checkpoint.structure ? findNode(checkpoint.structure, key) : undefined;
  if (tensors.length === 0 && !structure) {
    const roots = topLevelKeys(checkpoint);
    throw new WeightbridgeError("usage", `--select '${key}' matches nothing; top-level keys are: ${roots.join(", ") || "(none)"}`);
  }
  const renamed = structure ? renameTensorRefs(structure, prefix) : undefined;
  const selected: Checkpoint = {
    ...checkpoint,
    tensors,
    meta: renamed ? metaOf(renamed) : {},
  };
  // What the reader could not read outside the selected part is not the output's loss.
  const skipped = checkpoint.skipped
    ?.filter((s) => s.name.startsWith(prefix) || s.name === key)
    .map((s) => ({ ...s, name: s.name === key ? s.name : s.name.slice(prefix.length) }));
  if (skipped?.length) selected.skipped = skipped;
  else delete selected.skipped;
  if (renamed && renamed.type === "dict" && !isFlatStateDict(renamed)) selected.structure = renamed;
  else delete selected.structure;
  return selected;
}

export function topLevelKeys(checkpoint: Checkpoint): string[] {
  if (checkpoint.structure?.type === "dict") return checkpoint.structure.entries.map((e) => String(e.key));
  return [...new Set(checkpoint.tensors.map((t) => t.name.split(".")[0]!))];
}

function findNode(root: Structure, dotted: string): Structure | undefined {
  let node: Structure | undefined = root;
  let rest = dotted;
  while (node && rest !== "") {
    if (node.type === "dict") {
      // Keys may themselves contain dots: take the longest key that prefixes the rest.
      const candidates: Array<{ key: string | number; value: Structure }> = node.entries.filter((e) => rest === String(e.key) || rest.startsWith(`${e.key}.`));
      candidates.sort((a, b) => String(b.key).length - String(a.key).length);
      const hit = candidates[0];
      if (!hit) return undefined;
      node = hit.value;
      rest = rest.slice(String(hit.key).length + 1);
    } else if (node.type === "list" || node.type === "tuple") {
      const [head, ...tail] = rest.split(".");
      node = node.items[Number(head)];
      rest = tail.join(".");
    } else return undefined;
  }
  return node;
}

function renameTensorRefs(node: Structure, prefix: string): Structure {
  switch (node.type) {
    case "tensor":
      return { type: "tensor", name: node.name.startsWith(prefix) ? node.name.slice(prefix.length) : node.name };
    case "value":
      return node;
    case "list":
    case "tuple":
      return { type: node.type, items: node.items.map((i) => renameTensorRefs(i, prefix)) };
    case "dict":
      return { ...node, entries: node.entries.map((e) => ({ key: e.key, value: renameTensorRefs(e.value, prefix) })) };
  }
}

/** The one check every writer makes: two tensors under one name would leave one lost (or a file its loader refuses). */
export function checkUniqueNames(tensors: readonly Tensor[], location: ErrorLocation = {}): void {
  const seen = new Set<string>();
  for (const t of tensors) {
    if (seen.has(t.name)) throw new WeightbridgeError("usage", "duplicate tensor name", { ...location, tensor: t.name });
    seen.add(t.name);
  }
}
