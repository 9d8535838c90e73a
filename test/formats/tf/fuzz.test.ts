import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { memorySource, type ByteSource } from "../../../src/io/source.js";
import { WeightbridgeError } from "../../../src/errors.js";
import { tfCheckpointFormat, tfSavedModelFormat } from "../../../src/formats/tensorflow/format.js";
import { MUTATION_KINDS, hashString, mutate, rng } from "../../fuzz/mutate.js";
import { survives } from "../../fuzz/survives.js";
import { tf } from "./fixtures.js";

/** A folder held in memory: `sibling()` opens the other files by relative path. */
function folderSource(files: Map<string, Uint8Array>, name: string): ByteSource {
  const at = name.includes("/") ? name.slice(0, name.lastIndexOf("/") + 1) : "";
  const bytes = files.get(name);
  if (!bytes) throw new WeightbridgeError("io", "no such file", { file: name });
  return { ...memorySource(bytes, name), sibling: async (rel: string) => folderSource(files, at + rel) };
}

function load(folder: string): Map<string, Uint8Array> {
  const files = new Map<string, Uint8Array>();
  for (const rel of readdirSync(folder, { recursive: true }) as string[]) {
    try {
      files.set(rel.split("\\").join("/"), readFileSync(join(folder, rel)));
    } catch {
      // a folder
    }
  }
  return files;
}

const TARGETS: Array<{ folder: string; open: string; mutateFile: string; format: typeof tfCheckpointFormat }> = [
  { folder: "ckpt-tf1-layers-cnn-adam", open: "model.ckpt-20000.index", mutateFile: "model.ckpt-20000.index", format: tfCheckpointFormat },
  { folder: "ckpt-tf1-estimator-dnn-adagrad-sharded", open: "model.ckpt-3000.index", mutateFile: "model.ckpt-3000.index", format: tfCheckpointFormat },
  { folder: "savedmodel-tf2-half-plus-two", open: "saved_model.pb", mutateFile: "variables/variables.index", format: tfSavedModelFormat },
  { folder: "savedmodel-2input-shared-submodel-concat-adam", open: "saved_model.pb", mutateFile: "variables/variables.index", format: tfSavedModelFormat },
  {
    folder: "savedmodel-2input-shared-submodel-concat-adam",
    open: "saved_model.pb",
    mutateFile: "variables/variables.data-00000-of-00001",
    format: tfSavedModelFormat,
  },
  { folder: "savedmodel-lstm-dense-adam-k26", open: "saved_model.pb", mutateFile: "keras_metadata.pb", format: tfSavedModelFormat },
  { folder: "savedmodel-tf1-half-plus-two-conv2d", open: "saved_model.pb", mutateFile: "saved_model.pb", format: tfSavedModelFormat },
];

describe("TensorFlow readers under mutation of real files", () => {
  for (const target of TARGETS) {
    it(`${target.folder}: ${target.mutateFile}`, async () => {
      const files = load(tf(target.folder));
      const original = files.get(target.mutateFile)!;
      const r = rng(hashString(target.folder + target.mutateFile));
      let refused = 0;
      for (let n = 0; n < 80; n++) {
        const m = mutate(original, MUTATION_KINDS[n % MUTATION_KINDS.length]!, r);
        const mutated = new Map(files).set(target.mutateFile, m.bytes);
        const outcome = await survives(() => target.format.read!(folderSource(mutated, target.open), {}), `${target.mutateFile} ${m.detail}`);
        if (outcome === "refused") refused++;
      }
      expect(refused).toBeGreaterThan(0);
    }, 60_000);
  }
});
