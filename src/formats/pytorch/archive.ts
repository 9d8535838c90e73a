import { WeightbridgeError } from "../../errors.js";
import type { ZipArchive, ZipEntry } from "../../io/zip.js";
import { fromUtf8 } from "../../util/bytes.js";
import { computedData, sourceData } from "../../tensor/tensor.js";
import type { StorageBlob } from "./storage.js";

/**
 * A torch.save / torch.jit.save zip: one top folder (any name) holding data.pkl, data/<key>,
 * version, byteorder ... Records are looked up by name under that folder.
 */
export class TorchArchive {
  readonly prefix: string;
  readonly bigEndian: boolean;

  private constructor(
    readonly zip: ZipArchive,
    prefix: string,
    byteorder: string | undefined,
  ) {
    this.prefix = prefix;
    this.bigEndian = byteorder === "big";
  }

  static async open(zip: ZipArchive, pickleName = "data.pkl"): Promise<TorchArchive> {
    const prefix = findPrefix(zip, pickleName);
    if (prefix === undefined) {
      throw new WeightbridgeError("bad-magic", `zip archive has no ${pickleName}: not a PyTorch checkpoint`, { file: zip.source.name });
    }
    const order = zip.find(`${prefix}byteorder`);
    const byteorder = order ? fromUtf8(await zip.read(order)).trim() : undefined;
    if (byteorder !== undefined && byteorder !== "little" && byteorder !== "big") {
      throw new WeightbridgeError("corrupt", `byteorder record says '${byteorder.slice(0, 20)}'`, { file: zip.source.name });
    }
    return new TorchArchive(zip, prefix, byteorder);
  }

  record(name: string): ZipEntry | undefined {
    return this.zip.find(this.prefix + name);
  }

  async readRecord(name: string): Promise<Uint8Array> {
    const entry = this.record(name);
    if (!entry) throw new WeightbridgeError("corrupt", `archive has no record ${this.prefix}${name}`, { file: this.zip.source.name });
    return this.zip.read(entry);
  }

  /** Names of records under a folder of the archive (`code/`, `constants/` ...), without the prefix. */
  recordsUnder(folder: string): string[] {
    const start = this.prefix + folder;
    return this.zip.entries.filter((e) => e.name.startsWith(start)).map((e) => e.name.slice(this.prefix.length));
  }

  /** A storage record as a blob whose ranges are positioned reads (or inflated when compressed). */
  async storage(folder: string, key: string): Promise<StorageBlob> {
    const label = `${this.prefix}${folder}${key}`;
    const entry = this.zip.find(label);
    if (!entry) throw new WeightbridgeError("corrupt", `storage record ${label} is missing`, { file: this.zip.source.name });
    const zip = this.zip;
    if (entry.method === 0) {
      const base = await zip.dataOffset(entry);
      return {
        label,
        byteLength: entry.size,
        range: (offset, length) => sourceData(zip.source, base + offset, length, offset === 0 && length === entry.size ? entry.crc32 : undefined),
        read: (offset, length) => zip.source.read(base + offset, length),
      };
    }
    let inflated: Promise<Uint8Array> | undefined;
    const whole = () => (inflated ??= zip.read(entry));
    return {
      label,
      byteLength: entry.size,
      range: (offset, length) => computedData(length, async () => (await whole()).subarray(offset, offset + length)),
      read: async (offset, length) => (await whole()).subarray(offset, offset + length),
    };
  }
}

/** The folder holding `pickleName`: the shallowest entry with that base name (torch uses one top folder of any name). */
function findPrefix(zip: ZipArchive, pickleName: string): string | undefined {
  let best: string | undefined;
  for (const entry of zip.entries) {
    const name = entry.name;
    if (name === pickleName || name.endsWith(`/${pickleName}`)) {
      const prefix = name.slice(0, name.length - pickleName.length);
      if (best === undefined || prefix.split("/").length < best.split("/").length) best = prefix;
    }
  }
  return best;
}
