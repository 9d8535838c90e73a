import { describe, expect, it } from "vitest";
import { existsSync } from "node:fs";
import { read } from "../../src/index.js";
import { describeTensors, loadExpected } from "../helpers/expected.js";
import { EXPECTED_SUFFIX, fixture, fixturesWithExpected } from "../helpers/fixtures.js";

// One table, driven by the files: every committed fixture with a <file>.expected.json beside it
// is read through the public API and must give exactly the tensors the JSON lists (made by the
// real framework or an independent Python reading, see fixtures/<format>/generate.py).
const files = fixturesWithExpected();

describe("every fixture reads as its <file>.expected.json says (names, dtypes, shapes, sha256 of the bytes)", () => {
  it("covers real and generated files of every format that has committed files", () => {
    expect(files.length).toBeGreaterThanOrEqual(35);
    const formats = new Set(files.map((file) => loadExpected(fixture(file + EXPECTED_SUFFIX)).format));
    expect([...formats]).toEqual(expect.arrayContaining(["pytorch", "torchscript", "keras-h5", "keras", "onnx", "paddle", "paddle-inference"]));
    for (const folder of ["pytorch", "keras", "onnx", "paddle"]) expect(files.filter((f) => f.startsWith(`${folder}/real/`)).length).toBeGreaterThan(0);
  });

  for (const file of files) {
    it(file, async () => {
      // An expected JSON whose file is gone fails here: it never turns into a skip.
      expect(existsSync(fixture(file)), `fixtures/${file} is missing`).toBe(true);
      const expected = loadExpected(fixture(file + EXPECTED_SUFFIX));
      const checkpoint = await read(fixture(file));
      try {
        expect(checkpoint.format).toBe(expected.format);
        const withRole = expected.tensors.some((t) => t.role !== undefined);
        const wanted = expected.tensors.map(({ name, dtype, shape, sha256, role }) => ({ name, dtype, shape, sha256, ...(withRole ? { role } : {}) }));
        expect(await describeTensors(checkpoint, { withRole })).toEqual(wanted);
        if (expected.meta) expect(checkpoint.meta).toMatchObject(expected.meta);
        if (expected.layers) {
          const owned = checkpoint.tensors.filter((t) => t.layer && t.role);
          expect(Object.fromEntries(owned.map((t) => [t.name, { className: t.layer!.className, path: t.layer!.path }]))).toEqual(expected.layers);
        }
      } finally {
        await checkpoint.close();
      }
    });
  }
});
