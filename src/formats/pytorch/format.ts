import { WeightbridgeError } from "../../errors.js";
import { probe } from "../../io/probe.js";
import type { ByteSource } from "../../io/source.js";
import type { ZipArchive } from "../../io/zip.js";
import type { Format, SniffContext } from "../types.js";
import { zipPickles } from "../../pickle/containers.js";
import { isLegacyTar, isLegacyTorch, legacyPickles, readTorchLegacy } from "./legacy.js";
import { readTorchZip } from "./read.js";
import { readTorchScript } from "./torchscript.js";
import { writeTorchZip } from "./write.js";

/** A torch.save file: the zip archive (torch ≥ 1.6, its directory already open), the legacy stream, or a pre-0.2 tar. */
export type TorchFinding = { variant: "zip"; zip: ZipArchive } | { variant: "legacy" } | { variant: "tar" };
export type ScriptFinding = { variant: "zip"; zip: ZipArchive };

const hasRecord = (zip: ZipArchive, record: string) => zip.entries.some((e) => e.name === record || e.name.endsWith(`/${record}`));

async function sniffTorch(ctx: SniffContext): Promise<TorchFinding | false> {
  if (isLegacyTar(ctx.head)) return { variant: "tar" };
  if (isLegacyTorch(ctx.head)) return { variant: "legacy" };
  const zip = await ctx.zip();
  return !!zip && hasRecord(zip, "data.pkl") && !hasRecord(zip, "constants.pkl") && { variant: "zip", zip };
}

async function sniffScript(ctx: SniffContext): Promise<ScriptFinding | false> {
  const zip = await ctx.zip();
  return !!zip && hasRecord(zip, "data.pkl") && hasRecord(zip, "constants.pkl") && { variant: "zip", zip };
}

/** What a named (not sniffed) source is: as sniffed, else a zip archive for the zip reader to judge. */
async function findTorch(source: ByteSource): Promise<TorchFinding | { variant: "zip"; zip?: undefined }> {
  return (await sniffTorch(await probe(source))) || { variant: "zip" };
}

export const pytorchFormat: Format<TorchFinding, "pytorch"> = {
  id: "pytorch",
  framework: "pytorch",
  presetName: "torch",
  name: "PyTorch checkpoint",
  extensions: [".pt", ".pth", ".bin", ".ckpt", ".tar"],
  // PyTorch's own tutorial saves a general (training) checkpoint as .tar: a conversion that has
  // optimizer state writes {model_state_dict, optimizer_state_dict} there.
  outputVariants: { ".tar": { variant: "training", holds: "training" } },
  sniff: sniffTorch,
  async read(source, options, finding) {
    const found = finding ?? (await findTorch(source));
    if (found.variant === "tar") {
      throw new WeightbridgeError(
        "unsupported",
        "ancient PyTorch tar checkpoint (torch ≤ 0.1.9: sys_info/pickle/storages/tensors members) is not supported; re-save it with a newer torch",
        { file: source.name },
      );
    }
    return found.variant === "legacy" ? readTorchLegacy(source, options) : readTorchZip(source, options, found.zip);
  },
  write: (checkpoint, sink, options) => writeTorchZip(checkpoint, sink, options),
  async pickles(source) {
    const head = await source.read(0, Math.min(source.size, 512));
    if (isLegacyTar(head))
      return {
        container: "unsupported",
        streams: [],
        unopened: [{ name: source.name, offset: 0, reason: "an ancient torch tar checkpoint, which weightbridge does not open" }],
      };
    return isLegacyTorch(head) ? legacyPickles(source) : zipPickles(source);
  },
};

/**
 * torch.jit.save archives: a zip like torch.save's plus constants.pkl and code/. Read-only:
 * weightbridge does not write TorchScript (it would need the generated code); write `pytorch`.
 */
export const torchscriptFormat: Format<ScriptFinding, "torchscript"> = {
  id: "torchscript",
  framework: "pytorch",
  presetName: "torch",
  name: "TorchScript archive (read-only)",
  extensions: [".pt", ".pth", ".ptl", ".torchscript"],
  sniff: sniffScript,
  read: (source, options, finding) => readTorchScript(source, options, finding?.zip),
  pickles: zipPickles,
};
