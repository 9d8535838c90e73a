import type { Finding, Format } from "../types.js";
import { basename } from "node:path";
import { hasTableMagic, FOOTER_BYTES } from "./table-read.js";
import { readCheckpoint, readSavedModel } from "./read.js";
import { resolveTensorflowPath } from "./paths.js";
import { writeCheckpoint } from "./write.js";
import { writeSavedModel } from "./savedmodel-write.js";

/**
 * TensorFlow checkpoints (`PREFIX.index` + `PREFIX.data-SSSSS-of-NNNNN`): `save_weights`,
 * ModelCheckpoint, tf.train.Saver, Estimators. Recognised by the LevelDB table magic at the end
 * of the index.
 */
export const tfCheckpointFormat: Format<Finding, "tf-checkpoint"> = {
  id: "tf-checkpoint",
  framework: "keras",
  singleModel: true,
  writesSeveralFiles: "a TensorFlow checkpoint is PREFIX.index plus PREFIX.data-00000-of-00001",
  name: "TensorFlow checkpoint",
  extensions: [".index"],
  resolvePath: resolveTensorflowPath,
  async sniff({ source, size, head, name }) {
    // A damaged PREFIX.index (no magic) still starts like one, with the header entry's empty key:
    // claimed by its name so the reader says what is wrong with it.
    if (name.endsWith(".index") && head[0] === 0 && head[1] === 0) return {};
    if (size < FOOTER_BYTES) return false;
    return hasTableMagic(await source.read(size - 8, 8)) ? {} : false;
  },
  read: (source, options) => readCheckpoint(source, options),
  write: (checkpoint, sink, options) => writeCheckpoint(checkpoint, sink, options),
};

/**
 * TensorFlow SavedModel folders (`saved_model.pb` + `variables/` + `keras_metadata.pb`). Opened
 * through saved_model.pb: a SavedModel protobuf (field 1 schema version, field 2 meta graphs).
 */
export const tfSavedModelFormat: Format<Finding, "tf-savedmodel"> = {
  id: "tf-savedmodel",
  framework: "keras",
  singleModel: true,
  // keras_metadata.pb's model config, when the SavedModel was written by Keras.
  modelConfig: { metaKey: "model_config", accepted: false, lowersToGraph: true },
  writesSeveralFiles: "a SavedModel is a folder",
  name: "TensorFlow SavedModel",
  extensions: ["/"],
  resolvePath: resolveTensorflowPath,
  writesFolder: { mainFile: "saved_model.pb", nameSuffix: "_savedmodel", folders: ["variables"] },
  sniff({ head, name }) {
    if (basename(name) !== "saved_model.pb") return false;
    // Schema version 0 is proto3's default, left out: the file then starts with its meta graphs.
    const withVersion = head[0] === 0x08 && head.length > 2 && head.indexOf(0x12, 1) > 0 && head.indexOf(0x12, 1) <= 11;
    return withVersion || startsWithMetaGraph(head) ? {} : false;
  },
  read: (source, options) => readSavedModel(source, options),
  write: (checkpoint, sink, options) => writeSavedModel(checkpoint, sink, options),
};

/** Field 2 (a MetaGraphDef: its length, then one of its message fields 1–7) at the very start. */
function startsWithMetaGraph(head: Uint8Array): boolean {
  if (head[0] !== 0x12) return false;
  let at = 1;
  while (at < head.length && at <= 10 && (head[at]! & 0x80) !== 0) at++;
  const next = head[at + 1];
  return at < head.length && at <= 10 && next !== undefined && (next & 7) === 2 && next >> 3 >= 1 && next >> 3 <= 7;
}
