import type { Checkpoint, JsonObject, JsonValue } from "../tensor/checkpoint.js";
import type { ByteSource } from "../io/source.js";
import type { ByteSink } from "../io/sink.js";
import type { Framework } from "../tensor/layer-kinds.js";
import type { PickleSources } from "../pickle/containers.js";
import type { Probe } from "../io/probe.js";
import type { Graph } from "../graph/ir.js";
import type { LayerHint } from "../tensor/tensor.js";

/** What a format takes from a transformers model's facts: metadata keys for its output (and their types). */
export interface HfModelFacts {
  metadata: JsonObject;
  types: Record<string, string>;
}

/** How a format reads a Hugging Face config.json (or the facts an earlier output left in meta) and hints the tensors from it. */
export interface HfConfigReader<F extends HfModelFacts = HfModelFacts> {
  /** The facts of a config.json, or undefined for a model_type the format has no architecture for. */
  ofConfig(config: JsonObject): F | undefined;
  /** The same facts from a checkpoint's meta (an earlier conversion's). */
  ofMeta(meta: JsonObject): F | undefined;
  layerHint(name: string, facts: F): LayerHint | undefined;
}

/** What a sniffer may look at: the file's first bytes and, when it is a zip, its directory (src/io/probe.ts). */
export type SniffContext = Probe;

/**
 * What a sniffer found, handed to the same format's read so nothing is parsed twice. `variant`
 * names the layout when a format has several (zip or legacy, HDF5 or zip); a format adds fields
 * for what it already opened (the zip directory, the HDF5 file).
 */
export interface Finding {
  variant?: string;
}

/** A kind of output a writer tells apart by the output name's ending (`.keras`: a zip archive). */
export interface OutputVariant {
  /** What the writer is told (its write's fourth argument). */
  variant: string;
  /** What the file holds of a training checkpoint: the model (default), its optimizer state, or both. */
  holds?: "model" | "optimizer" | "training";
}

export interface ReadOptions {
  /** Keeps a further source (a sibling file) open until the checkpoint is closed. */
  keep?(source: ByteSource): void;
  /**
   * Read pickles that reference code-running globals (os.system ...) instead of refusing them.
   * Nothing is executed either way; readers list those globals in the checkpoint's warnings.
   * For `inspect`; conversions keep the default (refuse).
   */
  tolerateUnsafePickles?: boolean;
  /**
   * A model config (Keras `model.to_json()`) for a weights file that holds none (`save_weights`):
   * its layers get the kinds and facts a model.save file gives. Formats without one ignore it.
   */
  modelConfig?: JsonValue;
  /** Quantized tensors (TFLite) become float32 `(q - zero_point) * scale` instead of integers with their parameters. */
  dequantize?: boolean;
}

/** The frameworks whose naming and layout conventions a checkpoint's tensors can follow: the IR's one list. */
export type { Framework } from "../tensor/layer-kinds.js";

/**
 * What a writer is told. `Groups` is the shape of `formatOptions` a writer reads its own group from
 * (`WriteOptions<{ onnx?: OnnxOptions }>`); formats/index.ts' FormatOptions lists every group, so this
 * file need not know any format.
 */
export interface WriteOptions<Groups extends object = object> {
  /** Whose conventions the tensors follow (the source's, or the mapping's target). */
  framework?: Framework;
  /** A checkpoint read from a file of the target framework whose names, order or graph to follow. */
  template?: Checkpoint;
  /** Path of the template file, for formats that need more than its tensors (ONNX graph, .pdmodel). */
  templateSource?: ByteSource;
  /** Opens another output file next to OUT (ONNX external data), written atomically with it. */
  siblingSink?(name: string): Promise<ByteSink>;
  /** Fail instead of warning when template names do not all match. */
  strict?: boolean;
  /** A re-weighted template's weights the input gives no value keep the template's instead of failing. */
  keepTemplateValues?: boolean;
  /** Input tensors the template has no place for are left out (named in a warning) instead of failing. */
  allowDrop?: boolean;
  /**
   * Options of particular formats, grouped by format id (`{ onnx: { externalData: true } }`),
   * handed over as the caller gave them; a writer reads its own group.
   */
  formatOptions?: Groups;
  /** Notes for the conversion report (unmatched template entries, widened dtypes ...). */
  warn?(message: string): void;
}

/**
 * One format, declared as data. THE list of formats is formats/index.ts; nothing else needs to
 * know a format exists. `F` is what this format's sniff finds and its read receives; `Id` its
 * id as a literal, from which FormatId is made.
 */
export interface Format<F extends Finding = Finding, Id extends string = string> {
  id: Id;
  name: string;
  /** Lower-case, with the dot; longer ones (".weights.h5") beat shorter ones (".h5"). */
  extensions: string[];
  /** The framework whose conventions this format's files follow (none for neutral ones: safetensors). */
  framework?: Framework;
  /**
   * Its files always follow `framework`'s names and layouts. Unset where a file may keep another
   * framework's (a torch file written from Keras weights without --map; TF1 or TF2 names).
   */
  conventionsFixed?: boolean;
  /** What mapping presets call this format's conventions (`torch` in torch2keras); unset where no one preset fits its files. */
  presetName?: string;
  /** Its files are graphs onnxruntime runs (verify's whole-model check). */
  runsInOnnxruntime?: boolean;
  /** A file holds one model's weights (a torch or safetensors file may hold several side by side: a GAN's). */
  singleModel?: boolean;
  /**
   * A `--template` of this format gives the writer metadata to copy (GGUF's tokenizer and
   * architecture keys), not names and shapes to map the tensors onto.
   */
  templateIsMetadata?: boolean;
  /** It stores int4/uint4 tensors as they are (two values per byte); other formats refuse them. */
  packed4Bit?: boolean;
  /**
   * What of this format's file meta goes into a file of another format, with a note for each
   * thing left out (GGUF: a vocabulary too big for a safetensors header).
   */
  metaForOtherFormats?(meta: JsonObject, output: string): { meta: JsonObject; notes: string[] };
  /** A conversion to this format takes a transformers model's facts from its Hugging Face config.json (GGUF: architecture keys, head counts). */
  usesHfConfig?: HfConfigReader;
  /**
   * The model config (Keras `model.to_json()`): the meta key read puts a file's own under, and
   * whether read takes one for a file that holds none (ReadOptions.modelConfig, `--keras-config`).
   */
  modelConfig?: {
    metaKey: string;
    accepted: boolean;
    /** The Keras major version every file of this format comes from (`.keras`: 3); unset where the file says (`keras_version`). */
    kerasMajor?: number;
    /** The config is a Keras model's architecture, which the graph lowering (graph/from-keras) turns into a runnable graph. */
    lowersToGraph?: boolean;
  };
  /** Its files are a model graph (nodes, inputs, outputs): read as the neutral graph (graph/ir.ts), not only as tensors. */
  readGraph?(source: ByteSource, options?: { lazyWeights?: boolean }): Promise<Graph>;
  /** A conversion to this format of a source whose model config lowers to a graph writes that runnable graph, not only the weights. */
  writesModelGraph?: boolean;
  /** Writes the neutral model graph (graph/ir.ts) as a file of this format: nodes, inputs, outputs and initializers. */
  writeGraph?(graph: Graph, sink: ByteSink, options: Pick<WriteOptions, "formatOptions" | "siblingSink" | "warn">): Promise<void>;
  /** The neutral model graph as this format's bytes in memory (what a check hands onnxruntime). */
  encodeGraph?(graph: Graph): Promise<Uint8Array>;
  /**
   * Who folded every BatchNorm of its files into the layer before ("the TFLite converter"): a
   * template's BatchNorm layers get no values from them. Unset where files keep their BatchNorms.
   */
  batchNormsFoldedBy?: string;
  /**
   * Its files hold quantized weights while the mapping presets from them (names starting with
   * this: `tflite2`) map float ones: a conversion with such a preset reads the file dequantized.
   */
  floatPresetPrefix?: string;
  /**
   * Its model files keep, in their metadata, torch BatchNorm's batch counters (`num_batches_tracked`)
   * that its framework has no buffer for (mapping/batch-counters.ts).
   */
  keepsBatchCounters?: boolean;
  /**
   * For a path that is a folder or names no file (a SavedModel folder, a bare checkpoint prefix):
   * the file inside it to read, or undefined when the path is not this format's.
   */
  resolvePath?(path: string): Promise<string | undefined>;
  /**
   * The output is a folder: the writer's sink is a file inside a temporary folder beside OUT and
   * its side files may be nested paths; the folder is renamed to OUT when complete. An existing
   * OUT is replaced (--force) only when it holds `mainFile` and `folders`: an earlier output.
   */
  writesFolder?: {
    mainFile: string;
    /** What an output folder is called after its input's stem (`model_savedmodel`). */
    nameSuffix: string;
    folders?: string[];
  };
  /** An output is several files side by side (the page has a folder picked for it): what they are, for messages. */
  writesSeveralFiles?: string;
  /** False, or what the bytes are. Checked in list order; magic bytes beat extensions. */
  sniff(context: SniffContext): false | F | Promise<false | F>;
  /** Reads what sniff found; without a finding (the format was named, not sniffed) it finds out itself. */
  read?(source: ByteSource, options: ReadOptions, finding?: F): Promise<Checkpoint>;
  /** Output variants by name ending (longest match wins); a name matching none gets the default. */
  outputVariants?: Readonly<Record<string, OutputVariant>>;
  write?(checkpoint: Checkpoint, sink: ByteSink, options: WriteOptions, variant?: string): Promise<void>;
  /** Pickle-based formats: where the file's pickles are, for `scan` (found, never interpreted here). */
  pickles?(source: ByteSource): Promise<PickleSources>;
}
