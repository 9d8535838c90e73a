import type { ByteSink } from "../../io/sink.js";
import { ZipWriter } from "../../io/zip.js";
import { checkUniqueNames, type Checkpoint, type JsonObject, type JsonValue } from "../../tensor/checkpoint.js";
import type { Tensor } from "../../tensor/tensor.js";
import type { WriteOptions } from "../types.js";
import { WeightbridgeError } from "../../errors.js";
import { utf8 } from "../../util/bytes.js";
import { buildH5, h5Call, writeH5, type H5File, type H5Lib } from "../../hdf5/h5.js";
import { ensureGroup, widenedNote, writeTensorDataset } from "../../hdf5/datasets.js";
import { pythonJson } from "./python-json.js";
import { KERAS_ZIP_WEIGHTS, VARS_PATTERN, kerasLayoutOf, naturalCompare, varsGroupPath, type KerasObject } from "./v3-layout.js";

const WHY_PATHS =
  "Keras 3 loads .weights.h5/.keras by object path (layers/<class>_<n>/vars/<i>, from the model's attributes), which these tensor names do not give";

/**
 * Writes a Keras 3 `.weights.h5`, or with `archive` a `.keras` zip (config.json, metadata.json, model.weights.h5).
 * Needs object-path tensor names: from a Keras 3 source (round trip) or options.template (a Keras 3
 * file of the target model, whose objects, order and `name` attributes are followed exactly).
 */
export async function writeKeras(checkpoint: Checkpoint, sink: ByteSink, options: WriteOptions, archive: boolean): Promise<void> {
  const widened = widenedNote(checkpoint.tensors);
  if (widened) options.warn?.(widened);
  const loc = { file: sink.name };
  checkUniqueNames(checkpoint.tensors, loc);
  const byName = new Map<string, Tensor>(checkpoint.tensors.map((t) => [t.name, t]));
  let objects: KerasObject[];
  let metaSource: JsonObject = checkpoint.meta;
  if (options.template) {
    const layout = kerasLayoutOf(options.template);
    if (!layout) throw new WeightbridgeError("usage", "a keras template must be a Keras 3 .weights.h5 or .keras file", loc);
    objects = layout.objects;
    metaSource = { ...checkpoint.meta, ...options.template.meta };
    checkTemplate(options.template, byName, loc, options);
  } else {
    const bad = checkpoint.tensors.find((t) => !VARS_PATTERN.test(t.name));
    if (bad) {
      throw new WeightbridgeError(
        "usage",
        `${WHY_PATHS} (e.g. '${bad.name}'); pass --template with a Keras 3 file of the target model, or write keras-h5 (.h5), which Keras 3 also loads`,
        { ...loc, tensor: bad.name },
      );
    }
    objects = objectsFor(checkpoint.tensors, kerasLayoutOf(checkpoint)?.objects ?? []);
  }
  const tensorsOf = varsByObject(checkpoint.tensors, objects, loc);
  const build = async (file: H5File, lib: H5Lib): Promise<void> => {
    for (const object of objects) {
      const vars = ensureGroup(file, varsGroupPath(object.path), loc);
      // Keras writes the name as a Python str: variable-length UTF-8.
      if (object.name !== undefined) h5Call("write name attribute", { ...loc, path: vars.path }, () => vars.create_attribute("name", object.name!));
      for (const [i, t] of (tensorsOf.get(object.path) ?? []).entries()) await writeTensorDataset(vars, lib, String(i), t, loc);
    }
  };

  if (!archive) {
    await writeH5(sink, build);
    return;
  }
  const config = metaSource.config;
  if (config === undefined) {
    throw new WeightbridgeError(
      "usage",
      "a .keras file needs the model's config.json, which the source does not have; write .weights.h5 or pass a .keras template",
      loc,
    );
  }
  const metadata: JsonValue = metaSource.metadata ?? { keras_version: metaSource.keras_version ?? "3.0.0", date_saved: kerasDate(new Date()) };
  await buildH5(sink, build, async (size, pieces) => {
    // Keras' own archives: STORED members, metadata.json, config.json, model.weights.h5.
    const zip = new ZipWriter(sink, { alignment: 0, alwaysZip64End: false });
    const add = (name: string, bytes: Uint8Array): Promise<void> => zip.add(name, bytes.byteLength, [bytes]);
    await add("metadata.json", utf8(pythonJson(metadata)));
    await add("config.json", utf8(pythonJson(config)));
    await zip.add(KERAS_ZIP_WEIGHTS, size, pieces);
    await zip.finish();
  });
}

function kerasDate(d: Date): string {
  const p = (n: number): string => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}@${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

function objectPathOf(name: string): { path: string; index: number } {
  const m = VARS_PATTERN.exec(name)!;
  return { path: m[1] ?? "", index: Number(m[2]) };
}

/** Known objects (keeping their order and names) plus any the tensor names add. */
function objectsFor(tensors: Tensor[], known: KerasObject[]): KerasObject[] {
  const out = [...known];
  const have = new Set(known.map((o) => o.path));
  const added = [...new Set(tensors.map((t) => objectPathOf(t.name).path))].filter((p) => !have.has(p)).sort(naturalCompare);
  for (const path of added) out.push({ path });
  return out;
}

/** Each object's tensors in vars index order; indices must run 0..n-1 as Keras loads them. */
function varsByObject(tensors: Tensor[], objects: KerasObject[], loc: { file: string }): Map<string, Tensor[]> {
  const known = new Set(objects.map((o) => o.path));
  const out = new Map<string, Tensor[]>();
  for (const t of tensors) {
    if (!VARS_PATTERN.test(t.name)) continue; // left out of a template write (warned about already)
    const { path, index } = objectPathOf(t.name);
    if (!known.has(path)) continue;
    const list = out.get(path) ?? [];
    list[index] = t;
    out.set(path, list);
  }
  for (const [path, list] of out) {
    const hole = Array.from(list.keys()).find((i) => list[i] === undefined);
    if (hole !== undefined) {
      throw new WeightbridgeError("template-mismatch", `${varsGroupPath(path)}/${hole} is missing: Keras needs indices 0..${list.length - 1}`, loc);
    }
  }
  return out;
}

function checkTemplate(template: Checkpoint, byName: Map<string, Tensor>, loc: { file: string }, options: WriteOptions): void {
  const missing: string[] = [];
  for (const want of template.tensors) {
    const got = byName.get(want.name);
    if (!got) missing.push(want.name);
    else if (got.shape.join(",") !== want.shape.join(",")) {
      throw new WeightbridgeError("template-mismatch", `shape [${got.shape.join(", ")}] differs from the template's [${want.shape.join(", ")}]`, {
        ...loc,
        tensor: want.name,
      });
    }
  }
  if (missing.length > 0) {
    throw new WeightbridgeError(
      "template-mismatch",
      `${missing.length} template weights have no source tensor: ${missing.slice(0, 5).join(", ")}${missing.length > 5 ? " ..." : ""}`,
      loc,
    );
  }
  const wanted = new Set(template.tensors.map((t) => t.name));
  const extra = [...byName.keys()].filter((n) => !wanted.has(n));
  if (extra.length > 0) {
    const message = `${extra.length} source tensors are not in the template and were left out: ${extra.slice(0, 5).join(", ")}`;
    if (options.strict) throw new WeightbridgeError("template-mismatch", message, loc);
    options.warn?.(message);
  }
}
