import { fileSource, memorySource, blobSource, type ByteSource } from "../io/source.js";
import type { Checkpoint, JsonValue } from "../tensor/checkpoint.js";
import { selectSubtree } from "../tensor/checkpoint.js";
import { WeightbridgeError } from "../errors.js";
import { isShardIndexPath, readSharded, readShardedSource } from "./sharded-read.js";
import { detectFormat, formatById, resolveInputPath } from "../formats/index.js";
import type { FormatId } from "../formats/index.js";

export type Input = string | Uint8Array | Blob | ByteSource;

export interface ReadOptions {
  /** Skip detection and read as this format. */
  format?: FormatId;
  /** Take one subtree (e.g. `model_state_dict`) as the root. */
  select?: string;
  /**
   * Read pickles that reference code-running globals instead of refusing them ('unsafe-pickle').
   * Nothing is executed either way; the globals are listed in the checkpoint's warnings.
   */
  tolerateUnsafePickles?: boolean;
  /** A Keras model config (`model.to_json()`) for a weights file that holds none; see api/keras-config.ts. */
  modelConfig?: JsonValue;
  /** Quantized tensors (TFLite) become float32 `(q - zero_point) * scale` instead of integers with their parameters. */
  dequantize?: boolean;
}

/** A checkpoint whose tensor bytes are still readable from its file; close it when done. */
export type OpenCheckpoint = Checkpoint & { close(): Promise<void> };

function isByteSource(input: unknown): input is ByteSource {
  return typeof input === "object" && input !== null && "read" in input && "size" in input && "close" in input;
}

/** Whether a format reads `path` itself as a model (a SavedModel folder, a checkpoint prefix). */
export async function isModelPath(path: string): Promise<boolean> {
  return (await resolveInputPath(path)) !== path;
}

export async function openSource(input: Input): Promise<ByteSource> {
  // A folder or bare prefix (SavedModel, TF checkpoint) opens as the file its format names.
  if (typeof input === "string") return fileSource(await resolveInputPath(input));
  if (input instanceof Uint8Array) return memorySource(input);
  if (isByteSource(input)) return input;
  if (typeof Blob !== "undefined" && input instanceof Blob) return blobSource(input, (input as File).name ?? "<blob>");
  throw new WeightbridgeError("usage", "read() takes a path, a Uint8Array, a Blob or a ByteSource");
}

/**
 * Reads a model file into the intermediate representation. Tensor bytes stay on disk until
 * asked for; call `close()` when done with them.
 */
export async function read(input: Input, options: ReadOptions = {}): Promise<OpenCheckpoint> {
  if (typeof input === "string" && isShardIndexPath(input)) {
    const joined = await readSharded(input, (shard) => read(shard, { format: options.format }));
    return options.select ? Object.assign(selectSubtree(joined, options.select), { close: joined.close }) : joined;
  }
  if (isByteSource(input) && isShardIndexPath(input.name) && input.sibling) {
    const joined = await readShardedSource(input, (shard) => read(shard, { format: options.format }));
    return options.select ? Object.assign(selectSubtree(joined, options.select), { close: joined.close }) : joined;
  }
  const source = await openSource(input);
  const extra: ByteSource[] = [];
  const close = async () => {
    for (const s of [source, ...extra]) await s.close().catch(() => {});
  };
  try {
    // A named format's reader finds out its variant itself; a detected one gets what its sniffer found.
    const { format, finding } = options.format ? { format: formatById(options.format), finding: undefined } : await detectFormat(source);
    if (!format.read) throw new WeightbridgeError("unsupported", `weightbridge cannot read ${format.name} files`, { file: source.name });
    let checkpoint = await format.read(
      source,
      {
        keep: (s) => extra.push(s),
        tolerateUnsafePickles: options.tolerateUnsafePickles === true,
        modelConfig: options.modelConfig,
        dequantize: options.dequantize === true,
      },
      finding,
    );
    checkpoint.format ??= format.id;
    if (options.select) checkpoint = selectSubtree(checkpoint, options.select);
    return Object.assign(checkpoint, { close });
  } catch (e) {
    await close();
    if (e instanceof WeightbridgeError) throw e.at({ file: source.name });
    throw e;
  }
}
