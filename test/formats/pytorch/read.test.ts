import { describe, expect, it } from "vitest";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { read } from "../../../src/index.js";
import { describeTensors, loadExpected } from "../../helpers/expected.js";

const FIXTURES = join(import.meta.dirname, "../../../fixtures/pytorch");
const files = readdirSync(FIXTURES).filter((f) => f.endsWith(".pt") && readdirSync(FIXTURES).includes(f.replace(/\.pt$/, ".expected.json")));

describe("pytorch zip reader on files torch 1.13 wrote", () => {
  it("has fixtures", () => expect(files.length).toBeGreaterThanOrEqual(6));

  for (const file of files) {
    it(`reads ${file} exactly as torch sees it`, async () => {
      const expected = loadExpected(join(FIXTURES, file.replace(/\.pt$/, ".expected.json")));
      const checkpoint = await read(join(FIXTURES, file));
      try {
        expect(checkpoint.format).toBe("pytorch");
        expect(await describeTensors(checkpoint)).toEqual(expected.tensors);
        expect(checkpoint.meta).toEqual(expected.meta);
      } finally {
        await checkpoint.close();
      }
    });
  }

  it("keeps tied weights tied", async () => {
    const checkpoint = await read(join(FIXTURES, "dtype_zoo.pt"));
    const a = checkpoint.tensors.find((t) => t.name === "tied.a")!;
    const b = checkpoint.tensors.find((t) => t.name === "tied.b")!;
    expect(a.data).toBe(b.data);
    await checkpoint.close();
  });

  it("selects a subtree of a training checkpoint", async () => {
    const checkpoint = await read(join(FIXTURES, "training_checkpoint.pt"), { select: "model_state_dict" });
    expect(checkpoint.tensors.map((t) => t.name)).toEqual(["0.weight", "0.bias", "2.weight", "2.bias"]);
    expect(checkpoint.structure).toBeUndefined();
    await checkpoint.close();
  });
});
