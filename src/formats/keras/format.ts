import type { ByteSource } from "../../io/source.js";
import type { Format, SniffContext } from "../types.js";
import { h5Call, h5Opener, hdf5SignatureOffset, withH5 } from "../../hdf5/h5.js";
import { readKerasH5 } from "./legacy-read.js";
import { writeKerasH5 } from "./legacy-write.js";
import { readKeras } from "./v3-read.js";
import { writeKeras } from "./v3-write.js";
import { KERAS_ZIP_WEIGHTS } from "./v3-names.js";

type Layout = "keras-h5" | "keras" | undefined;
const layouts = new WeakMap<ByteSource, Promise<Layout>>();

/** Which Keras layout an HDF5 file has, from its root: legacy attributes or Keras 3 object groups. */
function hdf5Layout(source: ByteSource): Promise<Layout> {
  let layout = layouts.get(source);
  if (!layout) {
    layout = h5Opener(source).then((open) =>
      withH5(open, ({ file }): Layout => {
        const attrs = Object.keys(file.attrs);
        const children = h5Call("list root", { file: source.name }, () => file.keys());
        if (attrs.some((a) => a === "model_config" || a === "layer_names" || a === "layer_names0") || children.includes("model_weights")) return "keras-h5";
        if (children.some((c) => c === "layers" || c === "vars" || c === "_layer_checkpoint_dependencies")) return "keras";
        return undefined;
      }),
    );
    layouts.set(source, layout);
  }
  return layout;
}

async function sniffHdf5(context: SniffContext, id: "keras-h5" | "keras"): Promise<boolean> {
  if (hdf5SignatureOffset(context.head) === undefined) return false;
  const layout = await hdf5Layout(context.source).catch((): Layout => undefined);
  if (layout) return layout === id;
  // Neither layout recognised: let the name decide (Keras 3 itself dispatches on `.weights.h5`).
  const keras3Name = context.name.toLowerCase().endsWith(".weights.h5");
  return id === "keras" ? keras3Name : !keras3Name;
}

export const kerasH5Format: Format = {
  id: "keras-h5",
  name: "Keras HDF5 (legacy model.save / save_weights)",
  extensions: [".h5", ".hdf5"],
  sniff: (context) => sniffHdf5(context, "keras-h5"),
  read: (source) => readKerasH5(source),
  write: (checkpoint, sink, options) => writeKerasH5(checkpoint, sink, options),
};

export const kerasFormat: Format = {
  id: "keras",
  name: "Keras 3 (.weights.h5, .keras)",
  extensions: [".weights.h5", ".keras"],
  async sniff(context) {
    const names = await context.zipEntryNames();
    if (names) return names.includes("config.json") && names.includes(KERAS_ZIP_WEIGHTS);
    return sniffHdf5(context, "keras");
  },
  read: (source) => readKeras(source),
  write: (checkpoint, sink, options) => writeKeras(checkpoint, sink, options),
};
