import { basename, dirname, join } from "node:path";
import { atomicFileSink, MemorySink, type ByteSink } from "../io/sink.js";
import type { ByteSource } from "../io/source.js";
import type { Checkpoint } from "../tensor/checkpoint.js";
import { WeightbridgeError } from "../errors.js";
import { formatById, formatForOutputName } from "../formats/detect.js";
import type { Format, FormatId, WriteOptions as FormatWriteOptions } from "../formats/types.js";

export interface WriteOptions {
  /** Output format; otherwise from the file name (`x.weights.h5` keras, `x.h5` keras-h5 ...). */
  format?: FormatId;
  /** Replace an existing output file. */
  force?: boolean;
  /** A checkpoint of the target framework to follow (names, order, graph). */
  template?: Checkpoint;
  templateSource?: ByteSource;
  strict?: boolean;
  pickleProtocol?: number;
  externalData?: boolean;
  /** Called with bytes written so far and the total tensor bytes. */
  onProgress?(written: number, total: number): void;
}

export function outputFormat(path: string, format?: FormatId): Format {
  const chosen = format ? formatById(format) : formatForOutputName(path);
  if (!chosen) {
    throw new WeightbridgeError("usage", `cannot tell the output format from '${basename(path)}'; pass --to`, { file: path });
  }
  if (!chosen.write) throw new WeightbridgeError("unsupported", `weightbridge cannot write ${chosen.name} files`, { file: path });
  return chosen;
}

function withProgress(sink: ByteSink, total: number, onProgress?: (written: number, total: number) => void): ByteSink {
  if (!onProgress) return sink;
  return {
    get name() {
      return sink.name;
    },
    get position() {
      return sink.position;
    },
    async write(bytes) {
      await sink.write(bytes);
      onProgress(sink.position, total);
    },
    commit: () => sink.commit(),
    abort: () => sink.abort(),
  };
}

/**
 * Writes a checkpoint to `path` atomically (temporary file, then rename). Side files (ONNX
 * external data) are written the same way and appear only together with the main file.
 * Returns the writer's warnings.
 */
export async function write(checkpoint: Checkpoint, path: string, options: WriteOptions = {}): Promise<string[]> {
  const format = outputFormat(path, options.format);
  const warnings: string[] = [];
  const siblings: ByteSink[] = [];
  const total = checkpoint.tensors.reduce((n, t) => n + t.data.byteLength, 0);
  const sink = withProgress(await atomicFileSink(path, { force: options.force }), total, options.onProgress);
  try {
    await format.write!(checkpoint, sink, {
      ...formatOptions(options, warnings),
      async siblingSink(name) {
        if (name.includes("/") || name.includes("\\") || name === "..") throw new WeightbridgeError("usage", `bad side file name '${name}'`);
        const s = await atomicFileSink(join(dirname(path), name), { force: options.force });
        siblings.push(s);
        return s;
      },
    });
    for (const s of siblings) await s.commit();
    await sink.commit();
  } catch (e) {
    for (const s of [sink, ...siblings]) await s.abort().catch(() => {});
    if (e instanceof WeightbridgeError) throw e.at({ file: path });
    throw e;
  }
  return warnings;
}

/** Writes a checkpoint into memory (single-file formats only). */
export async function writeBytes(checkpoint: Checkpoint, format: FormatId, options: Omit<WriteOptions, "format" | "force"> = {}): Promise<Uint8Array> {
  const chosen = formatById(format);
  if (!chosen.write) throw new WeightbridgeError("unsupported", `weightbridge cannot write ${chosen.name} files`);
  const sink = new MemorySink(`<${format}>`);
  await chosen.write(checkpoint, sink, formatOptions(options, []));
  return sink.bytes();
}

function formatOptions(options: Omit<WriteOptions, "format" | "force">, warnings: string[]): FormatWriteOptions {
  const out: FormatWriteOptions = { warn: (m) => warnings.push(m) };
  if (options.template) out.template = options.template;
  if (options.templateSource) out.templateSource = options.templateSource;
  if (options.strict !== undefined) out.strict = options.strict;
  if (options.pickleProtocol !== undefined) out.pickleProtocol = options.pickleProtocol;
  if (options.externalData !== undefined) out.externalData = options.externalData;
  return out;
}
