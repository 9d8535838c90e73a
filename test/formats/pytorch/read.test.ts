import { describe, expect, it } from "vitest";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { read } from "../../../src/index.js";
import { describeTensors, loadExpected } from "../../helpers/expected.js";

const FIXTURES = join(import.meta.dirname, "../../../fixtures/pytorch");
const WEIGHTS = /\.(pt|ckpt)$/;
const files = [FIXTURES, join(FIXTURES, "real")].flatMap((dir) =>
  readdirSync(dir)
    .filter((f) => WEIGHTS.test(f) && existsSync(join(dir, f.replace(WEIGHTS, ".expected.json"))))
    .map((f) => join(dir, f)),
);

describe("pytorch readers on files torch wrote (zip, legacy, whole models, TorchScript, Lightning)", () => {
  it("has fixtures", () => expect(files.length).toBeGreaterThanOrEqual(13));

  for (const file of files) {
    it(`reads ${file.slice(FIXTURES.length + 1)} exactly as torch sees it`, async () => {
      const expected = loadExpected(file.replace(WEIGHTS, ".expected.json"));
      const checkpoint = await read(file);
      try {
        expect(checkpoint.format).toBe(expected.format);
        expect(await describeTensors(checkpoint)).toEqual(expected.tensors);
        expect(checkpoint.meta).toEqual(expected.meta);
        // Layer hints: exactly the tensors torch.nn layers own, with their class and module path
        // (hints lent to plain state-dict tensors, which have no role, are tested in breadth.test.ts).
        const layers = (expected as { layers?: Record<string, { className: string; path: string }> }).layers;
        if (layers) {
          const hints = Object.fromEntries(
            checkpoint.tensors.filter((t) => t.layer && t.role).map((t) => [t.name, { className: t.layer!.className, path: t.layer!.path }]),
          );
          expect(hints).toEqual(layers);
        }
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
