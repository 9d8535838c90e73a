import type { Finding, Format } from "../types.js";
import { pickleSources } from "../../pickle/containers.js";
import { readPdparams } from "./pdparams-read.js";
import { writePdparams } from "./pdparams-write.js";

const PADDLE_EXTENSIONS = [".pdparams", ".pdopt", ".pdtensor", ".pdema"];

/** A pickle (PROTO 2–4) whose first kilobytes reference numpy arrays and no torch class. */
function looksLikeNumpyPickle(head: Uint8Array): boolean {
  if (head.length < 3 || head[0] !== 0x80 || head[1]! < 2 || head[1]! > 4) return false;
  const text = new TextDecoder("latin1").decode(head.subarray(0, Math.min(head.length, 4096)));
  return text.includes("_reconstruct") && text.includes("numpy") && !text.includes("torch");
}

/**
 * paddle.save pickles (.pdparams, .pdopt, .pdtensor). Sniffed as a numpy-array pickle; a pickle
 * without arrays near its start counts only under a Paddle extension.
 */
export const paddleFormat: Format<Finding, "paddle"> = {
  id: "paddle",
  framework: "paddle",
  conventionsFixed: true,
  presetName: "paddle",
  singleModel: true,
  keepsBatchCounters: true,
  name: "PaddlePaddle state dict (paddle.save)",
  extensions: [".pdparams", ".pdopt"],
  sniff({ head, name }) {
    if (looksLikeNumpyPickle(head)) return {};
    const lower = name.toLowerCase();
    return head[0] === 0x80 && head[1]! >= 2 && head[1]! <= 4 && PADDLE_EXTENSIONS.some((e) => lower.endsWith(e)) ? {} : false;
  },
  read: (source) => readPdparams(source),
  // A .pdopt beside a .pdparams holds the optimizer's state: the conversion maps that part.
  outputVariants: { ".pdopt": { variant: "optimizer", holds: "optimizer" } },
  write: (checkpoint, sink, options) => writePdparams(checkpoint, sink, options),
  // One pickle (or more, back to back) from byte 0.
  pickles: pickleSources,
};
