import { readFile } from "node:fs/promises";
import { WeightbridgeError } from "../errors.js";
import type { Checkpoint, JsonValue } from "../tensor/checkpoint.js";
import { hintWithModelConfig } from "../formats/keras/layer-hints.js";

/**
 * `--keras-config model.json`: the model config (`model.to_json()`) of a Keras weights file that
 * does not hold its own (`save_weights`), so its layers get the kinds and facts (the shape a
 * Flatten feeds a Dense) a model.save file would give.
 */
export async function withKerasConfig<T extends Checkpoint>(checkpoint: T, path: string): Promise<T> {
  if (checkpoint.format !== "keras-h5" && checkpoint.format !== "keras") {
    throw new WeightbridgeError("usage", `--keras-config applies to Keras weight files; the input is ${checkpoint.format ?? "not one"}`, { file: path });
  }
  let config: JsonValue;
  try {
    config = JSON.parse(await readFile(path, "utf8")) as JsonValue;
  } catch (e) {
    throw new WeightbridgeError("usage", `--keras-config: cannot read ${path} as JSON (${(e as Error).message.split("\n")[0]})`, { file: path });
  }
  const hinted = hintWithModelConfig(checkpoint.tensors, config);
  checkpoint.tensors = hinted;
  return checkpoint;
}
