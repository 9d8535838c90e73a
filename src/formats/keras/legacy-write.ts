import type { Group } from "h5wasm";
import type { ByteSink } from "../../io/sink.js";
import { checkUniqueNames, type Checkpoint, type JsonObject, type JsonValue } from "../../tensor/checkpoint.js";
import type { Tensor } from "../../tensor/tensor.js";
import type { WriteOptions } from "../types.js";
import { WeightbridgeError } from "../../errors.js";
import { h5Call, writeH5 } from "../../hdf5/h5.js";
import { writeStringAttr } from "../../hdf5/attributes.js";
import { writeStringList } from "./string-lists.js";
import { ensureGroup, widenedNote, writeTensorDataset } from "../../hdf5/datasets.js";
import { pythonJson } from "./python-json.js";
import { layoutFromNames, layoutTensorNames, legacyLayoutOf, legacyTensorName, type LegacyLayout } from "./legacy-layout.js";

/** What Keras writes when nothing says otherwise. */
const DEFAULT_KERAS_VERSION = "2.15.0";
const DEFAULT_BACKEND = "tensorflow";

/**
 * Writes the legacy layout Keras 2, tf.keras and Keras 3 load with `load_weights` (by position or
 * by_name) and, when a model_config is known, `load_model`: fixed-length string attributes
 * (readable by every h5py/Keras pairing), datasets at `<layer>/<weight name>`.
 *
 * Layer grouping and order come from, in this order: options.template (a keras-h5 checkpoint of the
 * target model: its layer order is what positional loading needs), the source's own meta.keras_h5
 * when its tensors are unchanged, or the tensor names (layer = text before the first `/`).
 */
export async function writeKerasH5(checkpoint: Checkpoint, sink: ByteSink, options: WriteOptions): Promise<void> {
  const loc = { file: sink.name };
  checkUniqueNames(checkpoint.tensors, loc);
  const byName = new Map<string, Tensor>(checkpoint.tensors.map((t) => [t.name, t]));
  const warn = (message: string): void => {
    if (options.strict) throw new WeightbridgeError("template-mismatch", message, loc);
    options.warn?.(message);
  };
  const widened = widenedNote(checkpoint.tensors);
  if (widened) options.warn?.(widened);

  let layout: LegacyLayout;
  let metaSource: JsonObject = checkpoint.meta;
  if (options.template) {
    const fromTemplate = legacyLayoutOf(options.template);
    if (!fromTemplate) {
      throw new WeightbridgeError("usage", "a keras-h5 template must be a legacy Keras .h5 file (model.save or save_weights)", loc);
    }
    layout = fromTemplate;
    metaSource = { ...checkpoint.meta, ...options.template.meta };
    checkAgainstTemplate(layout, options.template, byName, loc, warn);
  } else {
    const own = legacyLayoutOf(checkpoint);
    const names = checkpoint.tensors.map((t) => t.name);
    if (own && sameNames(layoutTensorNames(own), names)) layout = own;
    else {
      if (own) options.warn?.("tensor names differ from the source file's Keras layout; layer groups rebuilt from the names");
      layout = layoutFromNames(checkpoint.tensors, checkpoint.meta.model_config !== undefined);
    }
  }
  const model = layout.model || metaSource.model_config !== undefined;
  if (!model) {
    const dropped = checkpoint.tensors.filter((t) => t.role === "optimizer" && !layoutTensorNames(layout).includes(t.name));
    if (dropped.length > 0) options.warn?.(`${dropped.length} optimizer tensors dropped: a weights-only Keras file has no optimizer state`);
    layout.optimizer = undefined;
  }

  const tensorFor = (layer: string, weight: string): Tensor => {
    const name = legacyTensorName(layer, weight);
    const t = byName.get(name);
    if (!t) throw new WeightbridgeError("template-mismatch", `no tensor '${name}' for weight '${weight}' of layer '${layer}'`, loc);
    return t;
  };

  await writeH5(sink, async (file, lib) => {
    const version = stringMeta(metaSource.keras_version) ?? DEFAULT_KERAS_VERSION;
    const backend = stringMeta(metaSource.backend) ?? DEFAULT_BACKEND;
    let weightsRoot: Group = file;
    if (model) {
      writeStringAttr(file, "keras_version", version, loc);
      writeStringAttr(file, "backend", backend, loc);
      if (metaSource.model_config !== undefined) writeStringAttr(file, "model_config", jsonText(metaSource.model_config), loc);
      if (metaSource.training_config !== undefined) writeStringAttr(file, "training_config", jsonText(metaSource.training_config), loc);
      weightsRoot = ensureGroup(file, "model_weights", loc);
    }
    writeStringList(
      weightsRoot,
      "layer_names",
      layout.layers.map((l) => l.name),
      loc,
    );
    writeStringAttr(weightsRoot, "backend", backend, loc);
    writeStringAttr(weightsRoot, "keras_version", version, loc);

    const writeGroup = async (parent: Group, groupName: string, weights: string[]): Promise<void> => {
      const group = ensureGroup(parent, groupName, loc);
      writeStringList(group, "weight_names", weights, loc);
      for (const w of weights) await writeTensorDataset(group, lib, w, tensorFor(groupName, w), loc);
    };
    for (const layer of layout.layers) {
      if (layer.name.includes("/") || layer.name === "") {
        throw new WeightbridgeError("usage", `Keras layer name '${layer.name}' cannot be empty or contain '/'`, loc);
      }
      await writeGroup(weightsRoot, layer.name, layer.weights);
    }
    if (layout.topLevel) await writeGroup(weightsRoot, "top_level_model_weights", layout.topLevel);
    if (layout.optimizer) await writeGroup(file, "optimizer_weights", layout.optimizer);
    h5Call("flush", loc, () => file.flush());
  });
}

function sameNames(a: string[], b: string[]): boolean {
  if (a.length !== b.length) return false;
  const set = new Set(a);
  return set.size === a.length && b.every((n) => set.has(n));
}

function stringMeta(v: JsonValue | undefined): string | undefined {
  return typeof v === "string" ? v : undefined;
}

/** Keras writes json.dumps output (", " and ": " separators); a string is kept as it was. */
function jsonText(v: JsonValue): string {
  return typeof v === "string" ? v : pythonJson(v);
}

function checkAgainstTemplate(
  layout: LegacyLayout,
  template: Checkpoint,
  byName: Map<string, Tensor>,
  loc: { file: string },
  warn: (message: string) => void,
): void {
  const wanted = layoutTensorNames(layout);
  const templateShapes = new Map(template.tensors.map((t) => [t.name, t.shape]));
  const missing = wanted.filter((n) => !byName.has(n));
  if (missing.length > 0) {
    throw new WeightbridgeError(
      "template-mismatch",
      `${missing.length} template weights have no source tensor (Keras loads by position, so none may be missing): ${missing.slice(0, 5).join(", ")}${missing.length > 5 ? " ..." : ""}`,
      loc,
    );
  }
  for (const name of wanted) {
    const want = templateShapes.get(name);
    const got = byName.get(name)!.shape;
    if (want && want.join(",") !== got.join(",")) {
      throw new WeightbridgeError("template-mismatch", `shape [${got.join(", ")}] differs from the template's [${want.join(", ")}]`, { ...loc, tensor: name });
    }
  }
  const wantedSet = new Set(wanted);
  const extra = [...byName.keys()].filter((n) => !wantedSet.has(n));
  if (extra.length > 0)
    warn(`${extra.length} source tensors are not in the template and were left out: ${extra.slice(0, 5).join(", ")}${extra.length > 5 ? " ..." : ""}`);
}
