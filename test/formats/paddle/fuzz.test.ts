import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { memorySource, type ByteSource } from "../../../src/io/source.js";
import { readPdparams } from "../../../src/formats/paddle/pdparams-read.js";
import { readInference } from "../../../src/formats/paddle/inference-read.js";
import { WeightbridgeError } from "../../../src/errors.js";
import { MUTATION_KINDS, hashString, mutate, rng } from "../../fuzz/mutate.js";
import { survives } from "../../fuzz/survives.js";
import { FIXTURES, REAL } from "./helpers.js";

describe("paddle readers under mutation", () => {
  for (const file of ["real/mnist.pdparams", "dtypes_protocol2.pdparams", "split_protocol2.pdparams", "adam_amp.pdopt", "numpy2_layouts.pdparams"]) {
    const name = file.split("/").pop()!;
    it(name, async () => {
      const original = readFileSync(`${FIXTURES}${file}`);
      const r = rng(hashString(name));
      let refused = 0;
      for (let n = 0; n < 60; n++) {
        const m = mutate(original, MUTATION_KINDS[n % MUTATION_KINDS.length]!, r);
        if ((await survives(() => readPdparams(memorySource(m.bytes, name)), `${name} ${m.detail}`)) === "refused") refused++;
      }
      expect(refused).toBeGreaterThan(0);
    });
  }

  it("inference.pdiparams and .pdmodel", async () => {
    const files: Record<string, Uint8Array> = {
      "m.pdmodel": readFileSync(`${REAL}inference.pdmodel`),
      "m.pdiparams": readFileSync(`${REAL}inference.pdiparams`),
    };
    const r = rng(hashString("inference"));
    let refused = 0;
    for (const target of ["m.pdiparams", "m.pdmodel"]) {
      for (let n = 0; n < 40; n++) {
        const m = mutate(files[target]!, MUTATION_KINDS[n % MUTATION_KINDS.length]!, r);
        const contents = { ...files, [target]: m.bytes };
        const open = (file: string): ByteSource => {
          const bytes = contents[file];
          if (!bytes) throw new WeightbridgeError("io", "no such file", { file });
          return { ...memorySource(bytes, file), sibling: async (s: string) => open(s) };
        };
        if ((await survives(() => readInference(open("m.pdiparams"), {}), `${target} ${m.detail}`)) === "refused") refused++;
      }
    }
    expect(refused).toBeGreaterThan(0);
  });
});
