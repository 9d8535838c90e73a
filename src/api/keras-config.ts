import { readFile } from "node:fs/promises";
import { WeightbridgeError } from "../errors.js";
import type { Checkpoint, JsonValue } from "../tensor/checkpoint.js";
import { knownFormat } from "../formats/index.js";

/**
 * `--keras-config model.json`: the model config (`model.to_json()`) of a Keras weights file that
 * does not hold its own (`save_weights`), so its layers get the kinds and facts (the shape a
 * Flatten feeds a Dense) a model.save file would give. The Keras readers apply it (read's
 * modelConfig); this reads the file and refuses it for inputs that are no Keras weights.
 */
export async function readKerasConfig(path: string): Promise<JsonValue> {
  try {
    return JSON.parse(await readFile(path, "utf8")) as JsonValue;
  } catch (e) {
    throw new WeightbridgeError("usage", `--keras-config: cannot read ${path} as JSON (${(e as Error).message.split("\n")[0]})`, { file: path });
  }
}

export function checkKerasConfigApplies(checkpoint: Checkpoint, path: string): void {
  if (!knownFormat(checkpoint.format)?.modelConfig?.accepted) {
    throw new WeightbridgeError("usage", `--keras-config applies to Keras weight files; the input is ${checkpoint.format ?? "not one"}`, { file: path });
  }
}
