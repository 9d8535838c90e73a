import { afterAll, describe, expect, it } from "vitest";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { inspect, read, scan, WeightbridgeError } from "../../../src/index.js";
import { fixture } from "../../helpers/fixtures.js";

const DIR = fixture("pytorch", "hostile");
interface HostileFile {
  callable: string;
  opcode: "GLOBAL" | "STACK_GLOBAL" | "INST" | "OBJ";
  loader: "torch" | "pickle";
}
const manifest = JSON.parse(readFileSync(join(DIR, "hostile.json"), "utf8")) as { trace: string; files: Record<string, HostileFile> };
const torchFiles = Object.entries(manifest.files).filter(([, f]) => f.loader === "torch");

describe("hostile pickles (payloads that real torch.load runs; generate.py proved each one)", () => {
  it("the trace does not exist before the tests", () => expect(existsSync(manifest.trace)).toBe(false));

  for (const [name, file] of torchFiles) {
    it(`${name}: read (convert's path) refuses it naming ${file.callable}`, async () => {
      const error = await read(join(DIR, name)).then(
        () => undefined,
        (e) => e,
      );
      expect(error).toBeInstanceOf(WeightbridgeError);
      expect((error as WeightbridgeError).code).toBe("unsafe-pickle");
      expect((error as WeightbridgeError).describe()).toContain(file.callable);
      expect((error as WeightbridgeError).describe()).toContain(name);
      expect((error as WeightbridgeError).describe()).not.toContain("\n");
    });

    it(`${name}: inspect shows the weights and warns about ${file.callable}`, async () => {
      const result = await inspect(join(DIR, name));
      expect(result.tensors.map((t) => t.name)).toEqual(["weight"]);
      expect(result.warnings.some((w) => w.includes(file.callable) && w.includes("not executed"))).toBe(true);
    });
  }

  for (const [name, file] of Object.entries(manifest.files)) {
    it(`${name}: scan flags ${file.callable} (${file.opcode})`, async () => {
      const result = await scan(join(DIR, name));
      if (name === "plain.pdparams") {
        // getattr(__import__('os'), 'system')(cmd): every global of the chain is listed.
        expect(result.dangerous.map((f) => f.callable)).toEqual(expect.arrayContaining(["builtins.getattr", "builtins.__import__"]));
        return;
      }
      const hit = result.dangerous.find((f) => f.callable === file.callable);
      expect(hit).toBeDefined();
      // OBJ takes its class from the stack, which a GLOBAL pushed.
      expect(hit!.opcode).toBe(file.opcode === "OBJ" ? "GLOBAL" : file.opcode);
      expect(hit!.offset).toBeGreaterThan(0);
    });
  }

  it("scans every pickle of a legacy file and every pickle record of a TorchScript archive", async () => {
    const legacy = await scan(join(DIR, "../legacy_whole_model.pt"));
    expect(legacy.container).toBe("legacy-torch");
    expect(legacy.pickles).toHaveLength(5);
    expect(legacy.dangerous).toEqual([]);
    expect(legacy.findings.find((f) => f.callable === "__main__.Small")?.status).toBe("unknown");
    const script = await scan(join(DIR, "../torchscript.pt"));
    expect(script.pickles.some((p) => p.endsWith("constants.pkl"))).toBe(true);
    expect(script.pickles.some((p) => p.endsWith(".debug_pkl"))).toBe(true);
    expect(script.dangerous).toEqual([]);
  });

  afterAll(() => {
    expect(existsSync(manifest.trace)).toBe(false);
  });
});
