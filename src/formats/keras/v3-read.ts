import type { Group } from "h5wasm";
import { parseModelJson } from "../../util/json.js";
import type { ByteSource } from "../../io/source.js";
import { memorySource } from "../../io/source.js";
import { looksLikeZip, openZip, type ZipArchive } from "../../io/zip.js";
import type { Checkpoint, JsonObject, JsonValue } from "../../tensor/checkpoint.js";
import { makeTensor, type LayerHint, type Tensor } from "../../tensor/tensor.js";
import { WeightbridgeError } from "../../errors.js";
import { fromUtf8 } from "../../util/bytes.js";
import { h5Call, h5Opener, withH5, type H5Opener } from "../../hdf5/h5.js";
import { readStringAttr } from "../../hdf5/attributes.js";
import { datasetData, describeDataset, storedForm } from "../../hdf5/datasets.js";
import { hintFor, indexLayers, kindFromSnakeName, type LayerIndex } from "./layer-hints.js";
import { KERAS_ZIP_WEIGHTS, naturalCompare, type KerasObject } from "./v3-layout.js";
import { zipMemberSource } from "../../io/zip-member.js";
import { layersByObjectPath, owningLayerPath, type PathLayer } from "./object-paths.js";

/** A Keras 3 file as its sniffer found it: a `.keras` zip (its directory open) or a `.weights.h5` (its HDF5 file open). */
export type Keras3Finding = { variant: "zip"; zip?: ZipArchive } | { variant: "h5"; open?: H5Opener };

/**
 * Reads a Keras 3 `.weights.h5` or a `.keras` zip (config.json, metadata.json, model.weights.h5).
 * Without a finding (the format was named, not sniffed) a zip is a `.keras`, anything else HDF5.
 */
export async function readKeras(source: ByteSource, finding?: Keras3Finding): Promise<Checkpoint> {
  const found = finding ?? (looksLikeZip(await source.read(0, Math.min(4, source.size))) ? { variant: "zip" } : { variant: "h5" });
  return found.variant === "zip" ? readKerasZip(source, found.zip) : readWeightsH5(source, source.name, {}, found.open);
}

async function readKerasZip(source: ByteSource, opened?: ZipArchive): Promise<Checkpoint> {
  const zip = opened ?? (await openZip(source));
  const json = async (name: string): Promise<JsonValue | undefined> => {
    const entry = zip.find(name);
    if (!entry) return undefined;
    if (entry.size > 256 << 20) throw new WeightbridgeError("unsupported", `${name} is ${entry.size} bytes`, { file: source.name, path: name });
    return parseModelJson(fromUtf8(await zip.read(entry)), name, { file: source.name, path: name }) as JsonValue;
  };
  const weights = zip.find(KERAS_ZIP_WEIGHTS);
  if (!weights) {
    const npz = zip.find("model.weights.npz") ? " (it has model.weights.npz, which weightbridge does not read)" : "";
    throw new WeightbridgeError("unsupported", `.keras archive has no ${KERAS_ZIP_WEIGHTS}${npz}`, { file: source.name });
  }
  const meta: JsonObject = {};
  const config = await json("config.json");
  const metadata = await json("metadata.json");
  if (config !== undefined) meta.config = config;
  if (metadata !== undefined) meta.metadata = metadata;
  const version = (metadata as JsonObject | undefined)?.keras_version;
  if (typeof version === "string") meta.keras_version = version;
  const member =
    weights.method === 0
      ? zipMemberSource(source, await zip.dataOffset(weights), weights.size, `${source.name}:${KERAS_ZIP_WEIGHTS}`)
      : memorySource(await zip.read(weights), `${source.name}:${KERAS_ZIP_WEIGHTS}`);
  const checkpoint = await readWeightsH5(member, `${source.name}:${KERAS_ZIP_WEIGHTS}`, meta);
  const others = zip.entries.map((e) => e.name).filter((n) => !["config.json", "metadata.json", KERAS_ZIP_WEIGHTS].includes(n) && !n.endsWith("/"));
  if (others.length > 0) (checkpoint.warnings ??= []).push(`ignored archive members: ${others.slice(0, 5).join(", ")}`);
  return checkpoint;
}

function entityType(e: unknown): string | undefined {
  return (e as { type?: string } | null)?.type;
}

async function readWeightsH5(source: ByteSource, label: string, meta: JsonObject, opened?: H5Opener): Promise<Checkpoint> {
  const open = opened ?? (await h5Opener(source));
  return withH5(open, ({ file }) => {
    const loc = { file: label };
    const objects: KerasObject[] = [];
    const tensors: Tensor[] = [];
    const index = indexLayers(meta.config);
    const byPath = layersByObjectPath(meta.config);
    // Hints are given once every vars group's `name` is known: a cell's variables come before their layer's own group.
    const unhinted: Array<{ tensor: Tensor; objectPath: string; name: string | undefined }> = [];
    const walk = (group: Group, prefix: string, depth: number): void => {
      if (depth > 64) throw new WeightbridgeError("unsupported", "object paths nest deeper than 64 levels", { ...loc, path: group.path });
      const keys = h5Call("list group", { ...loc, path: group.path }, () => group.keys()).sort(naturalCompare);
      for (const key of keys) {
        const path = prefix === "" ? key : `${prefix}/${key}`;
        const child = h5Call("open", { ...loc, path }, () => group.get(key));
        if (entityType(child) === "Group" && key === "vars") readVars(child as Group, prefix);
        else if (entityType(child) === "Group") walk(child as Group, path, depth + 1);
        else if (entityType(child) === "Dataset") {
          throw new WeightbridgeError("unsupported", "dataset outside a 'vars' group: not a Keras 3 weights file", { ...loc, path });
        } else throw new WeightbridgeError("unsupported", "links are not allowed in Keras weights files", { ...loc, path });
      }
    };
    const readVars = (vars: Group, objectPath: string): void => {
      const name = readStringAttr(vars, "name", loc);
      objects.push(name === undefined ? { path: objectPath } : { path: objectPath, name });
      const keys = h5Call("list vars", { ...loc, path: vars.path }, () => vars.keys());
      const indices = keys.map(Number);
      if (!indices.every((i) => Number.isInteger(i) && i >= 0) || new Set(indices).size !== keys.length) {
        throw new WeightbridgeError("corrupt", `vars group has non-numeric entries (${keys.slice(0, 3).join(", ")})`, { ...loc, path: vars.path });
      }
      for (const i of [...indices].sort((a, b) => a - b)) {
        const ds = h5Call("open", { ...loc, path: `${vars.path}/${i}` }, () => vars.get(String(i)));
        if (entityType(ds) !== "Dataset") throw new WeightbridgeError("corrupt", `vars/${i} is not a dataset`, { ...loc, path: vars.path });
        const info = describeDataset(ds as never, loc);
        const tensorName = objectPath === "" ? `vars/${i}` : `${objectPath}/vars/${i}`;
        const tensor = makeTensor(tensorName, info.dtype, info.shape, datasetData(open, info, { ...loc, tensor: tensorName }));
        const stored = storedForm(info);
        if (stored) tensor.stored = stored;
        const top = objectPath.split("/")[0];
        // tf.keras >= 2.13 saves compiled metrics' state beside the optimizer's (`metrics/mean/vars/0`).
        if (top === "optimizer" || top === "metrics") tensor.role = top === "metrics" ? "metric" : "optimizer";
        else unhinted.push({ tensor, objectPath, name });
        tensors.push(tensor);
      }
    };
    walk(file, "", 0);
    const names = new Map(objects.flatMap((o) => (o.name === undefined ? [] : [[o.path, o.name] as const])));
    const hints = new Map<string, LayerHint>();
    for (const { tensor, objectPath, name } of unhinted) {
      if (!hints.has(objectPath)) {
        const layerPath = owningLayerPath(objectPath);
        const owner = layerPath === objectPath ? undefined : (names.get(layerPath) ?? byPath.get(layerPath));
        const hint = hintOf(index, objectPath, owner ?? name ?? byPath.get(objectPath));
        if (owner !== undefined) hint.attributes = { ...hint.attributes, layerObjectPath: layerPath };
        hints.set(objectPath, hint);
      }
      tensor.layer = hints.get(objectPath);
    }
    if (objects.length === 0) {
      throw new WeightbridgeError("bad-magic", "HDF5 file has no Keras 3 'vars' groups", loc);
    }
    meta.keras = { objects } as unknown as JsonValue;
    return { format: "keras", tensors, meta };
  });
}

/** The hint for the variables at an object path: of the layer named beside them (Keras >= 3.6) or found by its path in the config. */
function hintOf(index: LayerIndex, objectPath: string, owner: string | PathLayer | undefined): LayerHint {
  const name = typeof owner === "string" ? owner : owner?.name;
  const indexed = name !== undefined ? index.all.get(name) : undefined;
  // A layer found by path is that very entry; the index (first of a name wins) adds its Flatten finding when it is the same one.
  const config = typeof owner === "object" ? (indexed?.config === owner.config ? indexed : owner) : indexed;
  const hint = hintFor(config, name ?? objectPath);
  if (!hint.kind) {
    const last =
      objectPath
        .split("/")
        .filter((p) => p !== "cell")
        .pop() ?? "";
    const kind = kindFromSnakeName(last);
    if (kind) hint.kind = kind;
  }
  if (objectPath !== "") hint.attributes = { ...hint.attributes, objectPath };
  return hint;
}
