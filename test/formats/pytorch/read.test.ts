import { describe, expect, it } from "vitest";
import { join } from "node:path";
import { read } from "../../../src/index.js";
import { loadExpected } from "../../helpers/expected.js";
import { EXPECTED_SUFFIX, fixture, fixturesWithExpected } from "../../helpers/fixtures.js";

const FIXTURES = fixture("pytorch");
const files = fixturesWithExpected().filter((file) => file.startsWith("pytorch/"));

// Names, dtypes, shapes, bytes and layer hints of every file: ../fixtures.test.ts. Here: meta
// holds exactly the non-tensor values torch kept (not only the ones the JSON lists).
describe("pytorch readers on files torch wrote (zip, legacy, whole models, TorchScript, Lightning)", () => {
  it("has fixtures", () => expect(files.length).toBeGreaterThanOrEqual(13));

  for (const file of files) {
    it(`${file}: meta is exactly what torch sees beside the tensors`, async () => {
      const checkpoint = await read(fixture(file));
      try {
        expect(checkpoint.meta).toEqual(loadExpected(fixture(file + EXPECTED_SUFFIX)).meta);
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
