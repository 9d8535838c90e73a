import { describe, expect, it } from "vitest";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CLI, runCli } from "../helpers/cli.js";
import { writeBytes } from "../../src/api/write.js";
import { ckpt, t } from "../mapping/helpers.js";

// --strip-prefix / --add-prefix / --layer and the mapping summary, through the built CLI.
describe.skipIf(!existsSync(CLI))("convert and diff: prefix and layer options", () => {
  const dir = mkdtempSync(join(tmpdir(), "wb-map-cli-"));
  const src = join(dir, "dp.safetensors");
  const plain = join(dir, "plain.safetensors");

  it("convert --strip-prefix module. --layer: names, kinds and the summary on stderr; the report says what decided each kind", async () => {
    const tensors = [t("module.table.weight", [10, 4]), t("module.fc.weight", [3, 4]), t("module.fc.bias", [3])];
    writeFileSync(src, await writeBytes(ckpt(tensors), "safetensors"));
    writeFileSync(plain, await writeBytes(ckpt(tensors.map((x) => ({ ...x, name: x.name.slice("module.".length) }))), "safetensors"));
    const out = join(dir, "k.safetensors");
    const report = join(dir, "r.json");
    const r = runCli(["convert", src, out, "--map", "torch2keras", "--strip-prefix", "module.", "--layer", "^table\\.=Embedding", "--report", report]);
    expect(r.code, r.stderr).toBe(0);
    const inspected = JSON.parse(runCli(["inspect", out, "--json"]).stdout);
    expect(inspected.tensors.map((x: { name: string; shape: number[] }) => `${x.name}[${x.shape}]`)).toEqual([
      "table/embeddings:0[10,4]",
      "fc/kernel:0[4,3]",
      "fc/bias:0[3]",
    ]);
    const lines = r.stderr.trim().split("\n");
    expect(lines).toEqual([
      "weightbridge: mapping: 3 tensors out: 3 mapped (3 renamed, 1 transposed, 0 otherwise transformed), 0 dropped, 0 added, 0 unmatched",
      "weightbridge: mapping: stripped 'module.' from 3 names",
      "weightbridge: mapping: layer kinds: 0 from the file's hints, 2 guessed by heuristics, 1 set by overrides",
      `weightbridge: mapping: full report in ${report}`,
      expect.stringMatching(/^weightbridge: wrote .*k\.safetensors \(safetensors, 3 tensors, [\d.]+ \w*B\) in [\d.]+ s$/),
    ]);
    const json = JSON.parse(readFileSync(report, "utf8"));
    expect(json.prefixes).toEqual({ strip: ["module."], stripped: 3, added: 0 });
    expect(json.tensors.map((x: { source: string; kindEvidence: string }) => `${x.source}:${x.kindEvidence}`)).toEqual([
      "module.table.weight:override",
      "module.fc.weight:heuristic",
      "module.fc.bias:heuristic",
    ]);
    expect(json.tensors[0].kindOverride).toBe("--layer '^table\\.=Embedding'");
    expect(json.tensors[1].kindHeuristic).toBe("2-D weight + bias of its first dim ⇒ linear");
  });

  it("--add-prefix puts a wrapper prefix back; a bad --layer is a usage error naming the known kinds", () => {
    const out = join(dir, "wrapped.safetensors");
    const r = runCli(["convert", plain, out, "--add-prefix", "module."]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/mapping: added 'module\.' to 3 names/);
    expect(runCli(["diff", src, out]).code).toBe(0);
    const bad = runCli(["convert", plain, join(dir, "x.safetensors"), "--layer", "fc=blorp"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/unknown layer kind 'blorp' \(known: .*linear/);
    expect(existsSync(join(dir, "x.safetensors"))).toBe(false);
  });

  it("diff --strip-prefix compares a DataParallel checkpoint with a plain one; --layer reaches diff's mapping", () => {
    expect(runCli(["diff", src, plain]).code).toBe(1);
    const d = runCli(["diff", src, plain, "--strip-prefix", "module.", "--json"]);
    expect(d.code, d.stdout + d.stderr).toBe(0);
    expect(JSON.parse(d.stdout)).toMatchObject({ equal: true, compared: 3, onlyInA: [], onlyInB: [] });
    const keras = join(dir, "k.safetensors");
    // Without the override the table would map to a transposed Dense kernel and differ in shape.
    expect(runCli(["diff", src, keras, "--map", "torch2keras", "--strip-prefix", "module."]).code).toBe(1);
    const withLayer = runCli(["diff", src, keras, "--map", "torch2keras", "--strip-prefix", "module.", "--layer", "^table\\.=embedding"]);
    expect(withLayer.code, withLayer.stdout).toBe(0);
  });
});
