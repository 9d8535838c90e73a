import { WeightbridgeError } from "../../errors.js";
import type { ByteSource } from "../../io/source.js";
import { openZip, type ZipArchive } from "../../io/zip.js";
import { joinName, type Checkpoint, type JsonObject, type JsonValue } from "../../tensor/checkpoint.js";
import type { Tensor } from "../../tensor/tensor.js";
import { TorchParameter, TorchTensorRef } from "../../pickle/typed.js";
import { PickleObject, sequenceItems, type PickleValue } from "../../pickle/values.js";
import type { ReadOptions } from "../types.js";
import { TorchArchive } from "./archive.js";
import { flattenedLinears, inheritedAttributes, layerHint, simpleAttributes, withInherited, type ChildModule } from "./layers.js";
import { unpickleTorch } from "./read.js";
import { ScriptCode, type ScriptClass } from "./script-code.js";
import type { StorageBlob } from "./storage.js";
import { storageKeys, TensorResolver } from "./tensors.js";
import { jsonOf } from "./walk.js";

/**
 * Reads a torch.jit.save archive into `module.state_dict()`: parameters and buffers as the
 * generated code declares them (`__parameters__` / `__buffers__`), named by module path.
 * Decision: tensor constants (constants.pkl, `CONSTANTS.c<i>` in the code) and tensor attributes
 * that are neither parameters nor buffers are not state and are not returned as tensors; they
 * are listed in meta (`constants`, `tensor_attributes`) with dtype and shape.
 */
export async function readTorchScript(source: ByteSource, options: ReadOptions = {}, zip?: ZipArchive): Promise<Checkpoint> {
  const archive = await TorchArchive.open(zip ?? (await openZip(source)));
  const warnings: string[] = [];
  const root = await unpickleRecord(archive, source, "data.pkl", "data/", options, warnings);
  const code = new ScriptCode(archive);
  const tensors: Tensor[] = [];
  const others: JsonValue[] = [];
  if (!isScriptModule(root.value)) {
    throw new WeightbridgeError(
      "unsupported",
      `TorchScript data.pkl holds ${root.value instanceof PickleObject ? root.value.qualifiedName : "no module"}, not a scripted module`,
      { file: source.name },
    );
  }
  await collect(root.value, "", { code, resolver: root.resolver, tensors, others, warnings }, 0);
  const meta: JsonObject = {};
  if (archive.record("constants.pkl")) {
    const constants = await unpickleRecord(archive, source, "constants.pkl", "constants/", options, warnings);
    const listed = (sequenceItems(constants.value) ?? []).flatMap((v, i) => summary(constants.resolver.tensor(v, `CONSTANTS.c${i}`)));
    if (listed.length) meta.constants = listed;
  }
  if (others.length) meta.tensor_attributes = others;
  const checkpoint: Checkpoint = { format: "torchscript", tensors, meta };
  if (warnings.length) checkpoint.warnings = warnings;
  return checkpoint;
}

interface Walk {
  code: ScriptCode;
  resolver: TensorResolver;
  tensors: Tensor[];
  others: JsonValue[];
  warnings: string[];
}

async function unpickleRecord(archive: TorchArchive, source: ByteSource, record: string, folder: string, options: ReadOptions, warnings: string[]) {
  const value = unpickleTorch(await archive.readRecord(record), `${source.name}:${archive.prefix}${record}`, options, warnings).value;
  const storages = new Map<string, StorageBlob>();
  for (const key of storageKeys(value)) storages.set(key, await archive.storage(folder, key));
  const resolver = new TensorResolver(storages, archive.bigEndian);
  return { value, resolver };
}

/** Every scripted module is an instance of a generated `__torch__.*` class with a `training` slot. */
function isScriptModule(v: PickleValue | undefined): v is PickleObject {
  return v instanceof PickleObject && v.module.startsWith("__torch__") && v.attrs?.has("training") === true;
}

function isTensorValue(v: PickleValue): boolean {
  return v instanceof TorchTensorRef || v instanceof TorchParameter;
}

/** state_dict order: the module's parameters, then its buffers (each in slot order), then its submodules. */
async function collect(module: PickleObject, path: string, walk: Walk, depth: number, inherited?: Record<string, unknown>): Promise<void> {
  if (depth > 200) {
    walk.warnings.push(`${path}: module nesting deeper than 200 levels was not followed`);
    return;
  }
  const attrs = [...module.attrs!].map(([k, v]) => [String(k), v] as const);
  const info: ScriptClass | undefined = await walk.code.classInfo(module.qualifiedName);
  const attributes = { ...simpleAttributes(attrs.map(([k, v]) => [k, jsonOf(v)])), ...(info?.finals ?? {}) };
  const hint = withInherited(layerHint(module.module, module.name, path, attributes), inherited);
  const tensorAttrs = attrs.filter(([, v]) => isTensorValue(v));
  if (!info && tensorAttrs.length) {
    walk.warnings.push(`${module.qualifiedName}: no generated code declares its parameters and buffers; every tensor attribute is read as state`);
  }
  const groups: Array<["parameter" | "buffer", (name: string) => boolean]> = info
    ? [
        ["parameter", (n) => info.parameters.includes(n)],
        ["buffer", (n) => info.buffers.includes(n)],
      ]
    : [["parameter", () => true]];
  for (const [role, belongs] of groups) {
    for (const [name, value] of tensorAttrs) {
      if (!belongs(name)) continue;
      const tensor = walk.resolver.tensor(value, joinName(path, name));
      if (!tensor) continue;
      tensor.role = role;
      if (hint) tensor.layer = { ...hint };
      walk.tensors.push(tensor);
    }
  }
  if (info) {
    for (const [name, value] of tensorAttrs) {
      if (!info.parameters.includes(name) && !info.buffers.includes(name)) walk.others.push(...summary(walk.resolver.tensor(value, joinName(path, name))));
    }
  }
  const children: ChildModule[] = [];
  for (const [name, value] of attrs) {
    if (!isScriptModule(value)) continue;
    const finals = (await walk.code.classInfo(value.qualifiedName))?.finals ?? {};
    const childAttributes = { ...simpleAttributes([...value.attrs!].map(([k, v]) => [String(k), jsonOf(v)])), ...finals };
    children.push({ name, module: value.module, className: value.name, attributes: childAttributes });
  }
  const flattened = flattenedLinears({ name: path, module: module.module, className: module.name, attributes }, children);
  for (const [name, value] of attrs) {
    const extra = flattened.get(name);
    const passed = inheritedAttributes(hint);
    if (isScriptModule(value)) await collect(value, joinName(path, name), walk, depth + 1, extra ? { ...passed, ...extra } : passed);
  }
}

function summary(tensor: Tensor | undefined): JsonValue[] {
  return tensor ? [{ name: tensor.name, dtype: tensor.dtype, shape: tensor.shape }] : [];
}
