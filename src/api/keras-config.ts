import { readGivenJson } from "./given-json.js";
import { WeightbridgeError } from "../errors.js";
import type { Checkpoint, JsonObject, JsonValue } from "../tensor/checkpoint.js";
import { knownFormat } from "../formats/index.js";

/**
 * `--keras-config model.json`: the model config (`model.to_json()`) of a Keras weights file that
 * does not hold its own (`save_weights`), so its layers get the kinds and facts (the shape a
 * Flatten feeds a Dense) a model.save file would give. The Keras readers apply it (read's
 * modelConfig); this reads the file and refuses it for inputs that are no Keras weights.
 */
export async function readKerasConfig(path: string): Promise<JsonValue> {
  return (await readGivenJson(path, (reason) => `--keras-config: cannot read ${path} as JSON (${reason})`)) as JsonValue;
}

/** The --keras-config option of convert() and verify(): a path (the CLI), or the parsed config itself (the page reads the file it was given). */
export type KerasConfigOption = string | JsonObject;

/** The option's config: the file read when it is a path. */
export async function resolveKerasConfig(option: KerasConfigOption | undefined): Promise<JsonValue | undefined> {
  return typeof option === "string" ? readKerasConfig(option) : option;
}

/** Refuses a given config for an input that is no Keras weights file. */
export function checkKerasConfigApplies(checkpoint: Checkpoint, option: KerasConfigOption | undefined): void {
  if (option === undefined || knownFormat(checkpoint.format)?.modelConfig?.accepted) return;
  throw new WeightbridgeError("usage", `--keras-config applies to Keras weight files; the input is ${checkpoint.format ?? "not one"}`, {
    file: typeof option === "string" ? option : "the Keras config",
  });
}
