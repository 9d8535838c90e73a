import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { convert, modelGraph } from "../../src/index.js";
import type { JsonObject } from "../../src/tensor/checkpoint.js";
import { fixture } from "../helpers/fixtures.js";

// The kerasConfig option is a file's path (the CLI) or the parsed config (the page, scripts):
// every entry point that takes it must give both the same result.

const WEIGHTS = fixture("keras", "real", "KERAS_conv2d_model_weights.h5");
const CONFIG_PATH = fixture("keras", "real", "KERAS_conv2d_model.json");
const CONFIG = JSON.parse(readFileSync(CONFIG_PATH, "utf8")) as JsonObject;
const work = mkdtempSync(join(tmpdir(), "wb-keras-config-"));

describe("kerasConfig given parsed or as a path", () => {
  it("the PyTorch module source is the same", async () => {
    const [fromPath, fromObject] = [join(work, "path.py"), join(work, "object.py")];
    await convert(WEIGHTS, fromPath, { kerasConfig: CONFIG_PATH });
    const report = await convert(WEIGHTS, fromObject, { kerasConfig: CONFIG });
    expect(report.to).toBe("pytorch-module");
    const source = readFileSync(fromObject, "utf8");
    expect(source).toContain("nn.Conv2d");
    expect(source).toBe(readFileSync(fromPath, "utf8"));
  }, 120_000);

  it("modelGraph gives the same nodes", async () => {
    const [a, b] = [await modelGraph(WEIGHTS, { kerasConfig: CONFIG_PATH }), await modelGraph(WEIGHTS, { kerasConfig: CONFIG })];
    try {
      expect(b.graph.nodes.length).toBeGreaterThan(3);
      expect(b.graph.nodes.map((n) => n.op)).toEqual(a.graph.nodes.map((n) => n.op));
    } finally {
      await a.close();
      await b.close();
    }
  });
});
