import { describe, expect, it } from "vitest";
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runCli } from "../helpers/cli.js";
import { write } from "../../src/api/write.js";
import { convert } from "../../src/api/convert.js";
import { checkpoint, f32 } from "./helpers.js";

// convert --verify checks the fresh output (read back from its temporary files) before it is
// renamed into place: a disagreement fails the conversion and leaves no OUT.

async function source(dir: string): Promise<string> {
  const path = join(dir, "m.safetensors");
  await write(checkpoint([f32("fc.weight", [6, 6]), f32("fc.bias", [6]), f32("ln.weight", [6]), f32("ln.bias", [6])]), path);
  return path;
}

/** A rule file that "forgets" Dense's transpose (the kernel is square, so no shape check sees it). */
const UNTRANSPOSED = {
  from: "pytorch",
  to: "keras",
  rules: [
    { id: "bad-dense", match: { name: "^(.+)\\.weight$", kind: "linear", rank: 2 }, rename: "$1/kernel:0" },
    { match: { name: "^(.+)\\.weight$", kind: "layernorm" }, rename: "$1/gamma:0" },
    { match: { name: "^(.+)\\.bias$", kind: "layernorm" }, rename: "$1/beta:0" },
    { match: { name: "^(.+)\\.bias$" }, rename: "$1/bias:0" },
  ],
};

describe("convert --verify", () => {
  it("a right conversion is written, and the report carries every layer's error", () => {
    const dir = mkdtempSync(join(tmpdir(), "wb-cv-"));
    return source(dir).then(async (src) => {
      const r = runCli(["convert", src, join(dir, "m.h5"), "--map", "torch2keras", "--verify", "--report", join(dir, "r.json")]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toContain("weightbridge: verify: verified 2 layers, max rel error 0");
      expect(existsSync(join(dir, "m.h5"))).toBe(true);
      const report = JSON.parse(readFileSync(join(dir, "r.json"), "utf8"));
      expect(report.verification.ok).toBe(true);
      expect(report.verification.rows.map((row: { layer: string; verdict: string; maxRel: number }) => [row.layer, row.verdict, row.maxRel])).toEqual([
        ["fc", "agrees", 0],
        ["ln", "agrees", 0],
      ]);
    });
  });

  it("a wrong conversion fails with exit 1, writes no OUT and reports the layer", async () => {
    const dir = mkdtempSync(join(tmpdir(), "wb-cv-"));
    const src = await source(dir);
    writeFileSync(join(dir, "rules.json"), JSON.stringify(UNTRANSPOSED));
    const r = runCli(["convert", src, join(dir, "m.h5"), "--map", join(dir, "rules.json"), "--verify", "--report", join(dir, "r.json")]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^weightbridge: error: .*m\.h5: FAILED: 1 of 2 checked layers disagree \(fc: max rel error .*\); nothing written$/m);
    expect(readdirSync(dir).sort()).toEqual(["m.safetensors", "r.json", "rules.json"]);
    const report = JSON.parse(readFileSync(join(dir, "r.json"), "utf8"));
    expect(report.verification.ok).toBe(false);
    const fc = report.verification.rows.find((row: { layer: string }) => row.layer === "fc");
    expect(fc.verdict).toBe("disagrees");
    expect(fc.maxRel).toBeGreaterThan(1e-2);
    // Without --verify the same rules write the wrong file: verify is what caught it.
    expect(runCli(["convert", src, join(dir, "m.h5"), "--map", join(dir, "rules.json"), "-q"]).code).toBe(0);
  });

  it("reads side files and shards from their temporaries (ONNX external data, sharded safetensors)", async () => {
    const dir = mkdtempSync(join(tmpdir(), "wb-cv-"));
    const src = await source(dir);
    const onnx = await convert(src, join(dir, "m.onnx"), { externalData: true, verify: true });
    expect(onnx.verification).toMatchObject({ ok: true, verified: 2 });
    const sharded = await convert(src, join(dir, "s.safetensors"), { maxShardSize: 200, verify: true });
    expect(sharded.verification).toMatchObject({ ok: true, verified: 2 });
    expect(readdirSync(dir).filter((n) => n.includes("wb-tmp"))).toEqual([]);
    expect(readdirSync(dir).filter((n) => n.startsWith("s-"))).toHaveLength(2);
  });
});
