import type { Checkpoint } from "../../tensor/checkpoint.js";

/**
 * Tensor names for Keras 3 files are the HDF5 object paths, exactly as stored:
 * `layers/dense_3/vars/1`, `layers/lstm/cell/vars/0`, `vars/0` (model-level), `optimizer/vars/5`.
 * Keras 3 loads by these paths (built from attribute names and class-name counters, not layer
 * names), so keeping them is what makes a round trip and template matching exact. The user's
 * layer name (the `name` attribute Keras >= 3.6 puts on each `vars` group) goes to the layer
 * hint's path instead.
 */
/** The weights member of a `.keras` zip. */
export const KERAS_ZIP_WEIGHTS = "model.weights.h5";

export const VARS_PATTERN = /^(?:(.+)\/)?vars\/(\d+)$/;

/** One saveable's `vars` group: its object path (`layers/dense`, "" for the model) and name attribute. */
export interface KerasObject {
  path: string;
  name?: string;
}

/** meta.keras: the objects of the file, in order, empty ones included. */
export interface KerasLayout {
  objects: KerasObject[];
}

export function kerasLayoutOf(checkpoint: Checkpoint | undefined): KerasLayout | undefined {
  const raw = checkpoint?.meta.keras as Partial<KerasLayout> | undefined;
  if (!raw || typeof raw !== "object" || !Array.isArray(raw.objects)) return undefined;
  const ok = raw.objects.every((o) => o && typeof o.path === "string" && (o.name === undefined || typeof o.name === "string"));
  return ok ? { objects: raw.objects } : undefined;
}

export function varsGroupPath(objectPath: string): string {
  return objectPath === "" ? "vars" : `${objectPath}/vars`;
}

/** Orders `dense`, `dense_1`, `dense_2`, `dense_10` as Keras created them (plain sort would not). */
export function naturalCompare(a: string, b: string): number {
  return a.localeCompare(b, "en", { numeric: true });
}
