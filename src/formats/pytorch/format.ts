import type { Format } from "../types.js";
import { readTorchZip } from "./read.js";
import { writeTorchZip } from "./write.js";

export const pytorchFormat: Format = {
  id: "pytorch",
  name: "PyTorch checkpoint",
  extensions: [".pt", ".pth", ".bin", ".ckpt", ".tar"],
  async sniff(ctx) {
    const names = await ctx.zipEntryNames();
    if (!names) return false;
    const hasPickle = names.some((n) => n === "data.pkl" || n.endsWith("/data.pkl"));
    const isTorchScript = names.some((n) => n === "constants.pkl" || n.endsWith("/constants.pkl"));
    return hasPickle && !isTorchScript;
  },
  read: (source) => readTorchZip(source),
  write: (checkpoint, sink, options) => writeTorchZip(checkpoint, sink, options),
};
