import type { ByteSource } from "../../io/source.js";
import type { Format, SniffContext } from "../types.js";
import { h5Call, h5Opener, hdf5SignatureOffset, withH5, type H5Opener } from "../../hdf5/h5.js";
import { readKerasH5 } from "./legacy-read.js";
import { writeKerasH5 } from "./legacy-write.js";
import { readKeras, type Keras3Finding } from "./v3-read.js";
import { writeKeras } from "./v3-write.js";
import { KERAS_ZIP_WEIGHTS } from "./v3-layout.js";
import { hintWithModelConfig } from "./layer-hints.js";
import type { Checkpoint, JsonValue } from "../../tensor/checkpoint.js";

type Layout = "keras-h5" | "keras" | undefined;

/** An HDF5 file the sniffer opened (undefined when h5wasm could not: the reader reports why). */
export interface Hdf5Finding {
  variant: "h5";
  open?: H5Opener;
}

/** Which Keras layout an HDF5 file has, from its root: legacy attributes or Keras 3 object groups. */
async function hdf5Layout(source: ByteSource): Promise<{ open?: H5Opener; layout: Layout }> {
  try {
    const open = await h5Opener(source);
    const layout = await withH5(open, ({ file }): Layout => {
      const attrs = Object.keys(file.attrs);
      const children = h5Call("list root", { file: source.name }, () => file.keys());
      if (attrs.some((a) => a === "model_config" || a === "layer_names" || a === "layer_names0") || children.includes("model_weights")) return "keras-h5";
      if (children.some((c) => c === "layers" || c === "vars" || c === "_layer_checkpoint_dependencies")) return "keras";
      return undefined;
    });
    return { open, layout };
  } catch {
    return { layout: undefined };
  }
}

async function sniffHdf5(context: SniffContext, id: "keras-h5" | "keras"): Promise<Hdf5Finding | false> {
  if (hdf5SignatureOffset(context.head) === undefined) return false;
  // Both Keras formats ask; the file is opened once.
  const { open, layout } = await context.shared("keras:hdf5-layout", () => hdf5Layout(context.source));
  // Neither layout recognised: let the name decide (Keras 3 itself dispatches on `.weights.h5`).
  const keras3Name = context.name.toLowerCase().endsWith(".weights.h5");
  const isThis = layout ? layout === id : id === "keras" ? keras3Name : !keras3Name;
  return isThis && { variant: "h5", open };
}

async function sniffKeras3(context: SniffContext): Promise<Keras3Finding | false> {
  const zip = await context.zip();
  if (zip) return !!zip.find("config.json") && !!zip.find(KERAS_ZIP_WEIGHTS) && { variant: "zip", zip };
  return sniffHdf5(context, "keras");
}

/** Layer hints from a model config given beside the file (`--keras-config`), when there is one. */
function withModelConfig(checkpoint: Checkpoint, config: JsonValue | undefined): Checkpoint {
  if (config !== undefined) checkpoint.tensors = hintWithModelConfig(checkpoint.tensors, config);
  return checkpoint;
}

export const kerasH5Format: Format<Hdf5Finding, "keras-h5"> = {
  id: "keras-h5",
  framework: "keras",
  conventionsFixed: true,
  presetName: "keras",
  singleModel: true,
  modelConfig: { metaKey: "model_config", accepted: true, lowersToGraph: true },
  name: "Keras HDF5 (legacy model.save / save_weights)",
  extensions: [".h5", ".hdf5"],
  sniff: (context) => sniffHdf5(context, "keras-h5"),
  read: async (source, options, finding) => withModelConfig(await readKerasH5(source, finding?.open), options.modelConfig),
  write: (checkpoint, sink, options) => writeKerasH5(checkpoint, sink, options),
};

export const kerasFormat: Format<Keras3Finding, "keras"> = {
  id: "keras",
  framework: "keras",
  conventionsFixed: true,
  presetName: "keras",
  singleModel: true,
  modelConfig: { metaKey: "config", accepted: true, kerasMajor: 3, lowersToGraph: true },
  name: "Keras 3 (.weights.h5, .keras)",
  extensions: [".weights.h5", ".keras"],
  sniff: sniffKeras3,
  read: async (source, options, finding) => withModelConfig(await readKeras(source, finding), options.modelConfig),
  outputVariants: { ".keras": { variant: "zip" } },
  write: (checkpoint, sink, options, variant) => writeKeras(checkpoint, sink, options, variant === "zip"),
};
