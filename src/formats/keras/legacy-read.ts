import type { Group } from "h5wasm";
import { parseModelJson } from "../../util/json.js";
import type { ByteSource } from "../../io/source.js";
import type { Checkpoint, JsonObject, JsonValue } from "../../tensor/checkpoint.js";
import { makeTensor, type Tensor } from "../../tensor/tensor.js";
import { WeightbridgeError } from "../../errors.js";
import { h5Call, h5Opener, withH5, type H5Opener } from "../../hdf5/h5.js";
import { hasAttr, readStringAttr } from "../../hdf5/attributes.js";
import { readStringList } from "./string-lists.js";
import { datasetData, describeDataset, storedForm } from "../../hdf5/datasets.js";
import { hintFor, indexLayers, type LayerIndex } from "./layer-hints.js";
import { legacyTensorName, type LegacyLayout } from "./legacy-layout.js";

/**
 * Reads Keras 1/2, tf.keras and Keras 3 legacy HDF5 files: `model.save("x.h5")` (root
 * model_config + group model_weights) and `save_weights("x.h5")` (root layer_names).
 * Tensors come in layer_names order, each layer's in weight_names order (the order Keras loads
 * them by position). See legacy-layout.ts for tensor naming.
 */
export async function readKerasH5(source: ByteSource, opened?: H5Opener): Promise<Checkpoint> {
  const open = opened ?? (await h5Opener(source));
  return withH5(open, ({ file }) => readStructure(file, open, source.name));
}

function parseJson(text: string | undefined, what: string, warnings: string[]): JsonValue | undefined {
  if (text === undefined) return undefined;
  try {
    return parseModelJson(text, what) as JsonValue;
  } catch (e) {
    warnings.push(`${(e as Error).message}; kept as text`);
    return text;
  }
}

function isGroup(entity: unknown): entity is Group {
  return (entity as { type?: string } | null)?.type === "Group";
}

function readStructure(file: Group, open: H5Opener, fileName: string): Checkpoint {
  const loc = { file: fileName };
  const warnings: string[] = [];
  const meta: JsonObject = {};
  const modelConfigText = readStringAttr(file, "model_config", loc);
  const weightsEntity = h5Call("open model_weights", loc, () => file.get("model_weights"));
  const weightsRoot = isGroup(weightsEntity) ? weightsEntity : file;
  const layerNames = readStringList(weightsRoot, "layer_names", loc);
  if (!layerNames) {
    throw new WeightbridgeError("bad-magic", "HDF5 file is not a Keras legacy weights file (no layer_names attribute)", { ...loc, path: weightsRoot.path });
  }
  const kerasVersion = readStringAttr(file, "keras_version", loc) ?? readStringAttr(weightsRoot, "keras_version", loc);
  const backend = readStringAttr(file, "backend", loc) ?? readStringAttr(weightsRoot, "backend", loc);
  if (kerasVersion !== undefined) meta.keras_version = kerasVersion;
  if (backend !== undefined) meta.backend = backend;
  const modelConfig = parseJson(modelConfigText, "model_config", warnings);
  if (modelConfig !== undefined) meta.model_config = modelConfig;
  const trainingConfig = parseJson(readStringAttr(file, "training_config", loc), "training_config", warnings);
  if (trainingConfig !== undefined) meta.training_config = trainingConfig;
  if (kerasVersion?.startsWith("1")) warnings.push(`written by Keras ${kerasVersion}: Keras 1 weight names and layouts differ from Keras 2`);
  if (backend === "theano") warnings.push("theano backend: convolution kernels are flipped relative to TensorFlow/PyTorch");

  const index = indexLayers(modelConfig);
  const layout: LegacyLayout = { model: weightsRoot !== file, layers: [] };
  const tensors: Tensor[] = [];
  const seen = new Set<string>();

  const addGroup = (group: Group, layerName: string, weightNames: string[], role?: string): void => {
    for (const weightName of weightNames) {
      const entity = h5Call("open weight", { ...loc, path: `${group.path}/${weightName}` }, () => group.get(weightName));
      if ((entity as { type?: string } | null)?.type !== "Dataset") {
        throw new WeightbridgeError("corrupt", `weight '${weightName}' listed in weight_names is missing`, { ...loc, path: `${group.path}/${weightName}` });
      }
      const info = describeDataset(entity as never, loc);
      const name = legacyTensorName(layerName, weightName, role);
      if (seen.has(name)) throw new WeightbridgeError("corrupt", `two weights are both named '${name}'`, { ...loc, path: info.path });
      seen.add(name);
      const tensor = makeTensor(name, info.dtype, info.shape, datasetData(open, info, { ...loc, tensor: name }));
      const stored = storedForm(info);
      if (stored) tensor.stored = stored;
      if (role) tensor.role = role;
      else tensor.layer = hintFor(layerConfigFor(index, layerName, weightName), sublayerPath(index, layerName, weightName));
      tensors.push(tensor);
    }
  };

  for (const layerName of layerNames) {
    const group = h5Call("open layer", { ...loc, path: layerName }, () => weightsRoot.get(layerName));
    if (!isGroup(group))
      throw new WeightbridgeError("corrupt", `layer '${layerName}' listed in layer_names has no group`, { ...loc, path: `${weightsRoot.path}/${layerName}` });
    const listed = readStringList(group, "weight_names", loc);
    // Keras raises for a layer with weights but no weight_names ("expects N weights, but the saved weights have 0").
    if (listed === undefined && h5Call("list layer", { ...loc, path: group.path }, () => group.keys()).length > 0) {
      throw new WeightbridgeError("corrupt", `layer '${layerName}' holds weights but no weight_names attribute: Keras refuses to load it`, {
        ...loc,
        path: group.path,
      });
    }
    const weightNames = listed ?? [];
    layout.layers.push({ name: layerName, weights: weightNames });
    addGroup(group, layerName, weightNames);
  }

  const topLevel = h5Call("open top_level_model_weights", loc, () => weightsRoot.get("top_level_model_weights"));
  if (isGroup(topLevel) && !layerNames.includes("top_level_model_weights")) {
    const names = readStringList(topLevel, "weight_names", loc) ?? [];
    layout.topLevel = names;
    addGroup(topLevel, "top_level_model_weights", names);
  }

  const optimizer = h5Call("open optimizer_weights", loc, () => file.get("optimizer_weights"));
  if (weightsRoot !== file && isGroup(optimizer) && hasAttr(optimizer, "weight_names")) {
    const names = readStringList(optimizer, "weight_names", loc) ?? [];
    layout.optimizer = names;
    addGroup(optimizer, "optimizer_weights", names, "optimizer");
  }

  meta.keras_h5 = layout as unknown as JsonValue;
  const checkpoint: Checkpoint = { format: "keras-h5", tensors, meta };
  if (warnings.length > 0) checkpoint.warnings = warnings;
  return checkpoint;
}

/** The config of the layer that owns a weight: the layer itself, or for a nested model its sub-layer. */
function layerConfigFor(index: LayerIndex, layerName: string, weightName: string) {
  const inner = index.nested.get(layerName);
  if (inner) {
    const sub = inner.get(weightName.split("/")[0]!);
    if (sub) return sub;
  }
  return index.top.get(layerName) ?? index.all.get(layerName);
}

function sublayerPath(index: LayerIndex, layerName: string, weightName: string): string {
  const inner = index.nested.get(layerName);
  const first = weightName.split("/")[0]!;
  return inner?.has(first) ? `${layerName}/${first}` : layerName;
}
