import { WeightbridgeError } from "../../errors.js";
import type { Format } from "../types.js";
import { zipPickles } from "../../pickle/containers.js";
import { isLegacyTar, isLegacyTorch, legacyPickles, readTorchLegacy } from "./legacy.js";
import { readTorchZip } from "./read.js";
import { readTorchScript } from "./torchscript.js";
import { writeTorchZip } from "./write.js";

const hasRecord = (names: string[], record: string) => names.some((n) => n === record || n.endsWith(`/${record}`));

export const pytorchFormat: Format = {
  id: "pytorch",
  name: "PyTorch checkpoint",
  extensions: [".pt", ".pth", ".bin", ".ckpt", ".tar"],
  async sniff(ctx) {
    if (isLegacyTorch(ctx.head) || isLegacyTar(ctx.head)) return true;
    const names = await ctx.zipEntryNames();
    return !!names && hasRecord(names, "data.pkl") && !hasRecord(names, "constants.pkl");
  },
  async read(source, options) {
    const head = await source.read(0, Math.min(source.size, 512));
    if (isLegacyTar(head)) {
      throw new WeightbridgeError("unsupported", "ancient PyTorch tar checkpoint (torch ≤ 0.1.9: sys_info/pickle/storages/tensors members) is not supported; re-save it with a newer torch", { file: source.name });
    }
    return isLegacyTorch(head) ? readTorchLegacy(source, options) : readTorchZip(source, options);
  },
  write: (checkpoint, sink, options) => writeTorchZip(checkpoint, sink, options),
  async pickles(source) {
    const head = await source.read(0, Math.min(source.size, 512));
    if (isLegacyTar(head)) return { container: "unsupported", streams: [], unopened: [{ name: source.name, offset: 0, reason: "an ancient torch tar checkpoint, which weightbridge does not open" }] };
    return isLegacyTorch(head) ? legacyPickles(source) : zipPickles(source);
  },
};

/**
 * torch.jit.save archives: a zip like torch.save's plus constants.pkl and code/. Read-only:
 * weightbridge does not write TorchScript (it would need the generated code); write `pytorch`.
 */
export const torchscriptFormat: Format = {
  id: "torchscript",
  name: "TorchScript archive (read-only)",
  extensions: [".pt", ".pth", ".ptl", ".torchscript"],
  async sniff(ctx) {
    const names = await ctx.zipEntryNames();
    return !!names && hasRecord(names, "data.pkl") && hasRecord(names, "constants.pkl");
  },
  read: (source, options) => readTorchScript(source, options),
  pickles: zipPickles,
};
