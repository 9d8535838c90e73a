import type { ByteSource } from "../../io/source.js";
import type { Finding, Format } from "../types.js";
import { readOnnx } from "./read.js";
import { writeOnnx } from "./write.js";
import { reweightOnnx } from "./reweight.js";
import { looksLikeOnnx } from "./sniff.js";
import { readOnnxGraph } from "./graph.js";
import { writeOnnxGraph } from "./graph-write.js";
import { encodeGraphModel } from "./graph-encode.js";

export const onnxFormat: Format<Finding, "onnx"> = {
  id: "onnx",
  framework: "onnx",
  conventionsFixed: true,
  presetName: "onnx",
  runsInOnnxruntime: true,
  singleModel: true,
  packed4Bit: true,
  writesModelGraph: true,
  readGraph: readOnnxGraph,
  writeGraph: writeOnnxGraph,
  encodeGraph: encodeGraphModel,
  name: "ONNX model (initializers, Constant nodes, external data)",
  extensions: [".onnx"],
  sniff: ({ head, size }) => (looksLikeOnnx(head, size) ? {} : false),
  read: readOnnx,
  async write(checkpoint, sink, options) {
    // An ONNX template keeps its graph and only gets new weights; otherwise a weights-only model.
    if (options.templateSource && (await isOnnxSource(options.templateSource, options.template?.format))) {
      return reweightOnnx(checkpoint, options.templateSource, sink, options);
    }
    return writeOnnx(checkpoint, sink, options);
  },
};

/** The template is ONNX when its checkpoint says so, or (without one) when its bytes sniff as ONNX. */
async function isOnnxSource(source: ByteSource, format?: string): Promise<boolean> {
  if (format !== undefined) return format === "onnx";
  const head = await source.read(0, Math.min(source.size, 64 << 10));
  return looksLikeOnnx(head, source.size);
}
