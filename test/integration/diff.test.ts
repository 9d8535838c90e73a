import { describe, expect, it } from "vitest";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { existsSync } from "node:fs";
import { CLI, runCli } from "../helpers/cli.js";
import { diff } from "../../src/api/diff.js";
import { mapCheckpoint } from "../../src/mapping/index.js";
import { writeBytes } from "../../src/api/write.js";
import { bytesData, makeTensor } from "../../src/tensor/tensor.js";
import { ckpt, t } from "../mapping/helpers.js";

const f32 = (name: string, shape: number[], values: number[]) => makeTensor(name, "float32", shape, bytesData(new Uint8Array(new Float32Array(values).buffer)));
const f16 = (name: string, shape: number[], bits: number[]) => makeTensor(name, "float16", shape, bytesData(new Uint8Array(new Uint16Array(bits).buffer)));

describe("diff", () => {
  it("is equal for identical files and names each kind of difference", async () => {
    const a = await writeBytes(ckpt([f32("w", [2], [1, 2]), f32("s", [2], [1, 2]), f32("only_a", [1], [0])]), "safetensors");
    const b = await writeBytes(ckpt([f32("w", [2], [1, 2.5]), f32("s", [1, 2], [1, 2]), f32("only_b", [1], [0])]), "safetensors");
    expect((await diff(a, a)).equal).toBe(true);
    const r = await diff(a, b);
    expect(r.equal).toBe(false);
    expect(r.onlyInA).toEqual(["only_a"]);
    expect(r.onlyInB).toEqual(["only_b"]);
    expect(r.tensors.map((x) => [x.name, x.status])).toEqual([
      ["w", "values"],
      ["s", "shape"],
    ]);
    expect(r.tensors[0]).toMatchObject({ differing: 1, firstIndex: 1, maxAbs: 0.5, maxRel: 0.2 });
  });

  it("bit-exact by default (−0 ≠ +0, NaN payloads count), numeric with atol/rtol incl. float16", async () => {
    const a = await writeBytes(ckpt([f16("h", [3], [0x0000, 0x3c00, 0x7e00])]), "safetensors");
    const b = await writeBytes(ckpt([f16("h", [3], [0x8000, 0x3c01, 0x7e01])]), "safetensors");
    const exact = await diff(a, b);
    expect(exact.tensors[0]!.differing).toBe(3);
    const loose = await diff(a, b, { atol: 1e-3 });
    expect(loose.equal).toBe(true);
    expect(loose.mode).toBe("tolerance");
    expect((await diff(a, b, { rtol: 1e-4 })).equal).toBe(false);
  });

  it("compares float32 with bfloat16 by value under a tolerance, and reports a dtype difference otherwise", async () => {
    const a = await writeBytes(ckpt([f32("x", [2], [1, -2])]), "safetensors");
    const b = await writeBytes(ckpt([makeTensor("x", "bfloat16", [2], bytesData(new Uint8Array(new Uint16Array([0x3f80, 0xc000]).buffer)))]), "safetensors");
    expect((await diff(a, b)).tensors[0]!.status).toBe("dtype");
    expect((await diff(a, b, { atol: 0 })).equal).toBe(true);
  });

  it("maps A first: a torch file equals its torch2keras conversion", async () => {
    const source = ckpt([t("fc.weight", [3, 4]), t("fc.bias", [3]), t("conv.weight", [2, 3, 3, 3]), t("conv.bias", [2])]);
    const keras = (await mapCheckpoint(source, { map: "torch2keras" })).checkpoint;
    const a = await writeBytes(source, "safetensors");
    const b = await writeBytes(keras, "safetensors");
    expect((await diff(a, b)).equal).toBe(false);
    const r = await diff(a, b, { map: "torch2keras" });
    expect(r.equal).toBe(true);
    expect(r.tensors[0]).toMatchObject({ name: "fc/kernel:0", sourceA: "fc.weight", status: "equal" });
  });

  it("rejects negative tolerances as usage errors", async () => {
    const a = await writeBytes(ckpt([f32("x", [1], [1])]), "safetensors");
    await expect(diff(a, a, { atol: -1 })).rejects.toThrow(/--atol must be a number ≥ 0/);
  });
});

describe("weightbridge diff / convert --map (CLI)", () => {
  // The built CLI (npm test builds first).
  const run = (...args: string[]) => {
    const r = runCli(args);
    return { status: r.code, stdout: r.stdout, stderr: r.stderr };
  };
  const canRun = existsSync(CLI);

  it.skipIf(!canRun)("exits 0 when equal, 1 when different, prints JSON on request", async () => {
    const dir = mkdtempSync(join(tmpdir(), "wb-diff-"));
    const a = join(dir, "a.safetensors");
    const b = join(dir, "b.safetensors");
    writeFileSync(a, await writeBytes(ckpt([f32("x", [2], [1, 2])]), "safetensors"));
    writeFileSync(b, await writeBytes(ckpt([f32("x", [2], [1, 2.001])]), "safetensors"));
    expect(run("diff", a, a).status).toBe(0);
    const different = run("diff", a, b);
    expect(different.status).toBe(1);
    expect(different.stdout).toMatch(/values +x: 1 element\(s\) differ/);
    const json = run("diff", a, b, "--atol", "0.01", "--json");
    expect(json.status).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({ equal: true, mode: "tolerance", atol: 0.01 });
  });

  it.skipIf(!canRun)("convert --map (repeatable, comma-separated) renames and transposes; --strict fails on unmatched", async () => {
    const dir = mkdtempSync(join(tmpdir(), "wb-conv-"));
    const src = join(dir, "m.safetensors");
    writeFileSync(src, await writeBytes(ckpt([t("module.fc.weight", [3, 4]), t("module.fc.bias", [3]), t("module.odd", [5])]), "safetensors"));
    const rules = join(dir, "strip.json");
    writeFileSync(rules, JSON.stringify({ name: "strip", rules: [{ match: { name: "^module\\.(.*)$" }, rename: "$1" }] }));
    const out = join(dir, "k.safetensors");
    const report = join(dir, "report.json");
    // A tensor no rule places is refused (issue 15), unless kept on purpose.
    const refused = run("convert", src, out, "--map", rules, "--map", "torch2keras");
    expect(refused.status).toBe(1);
    expect(refused.stderr).toMatch(/1 tensor\(s\) no rule of strip,torch2keras places: odd; .*--keep-unmapped/);
    const r = run("convert", src, out, "--map", rules, "--map", "torch2keras", "--keep-unmapped", "--report", report);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/unmatched: odd/);
    const inspected = JSON.parse(run("inspect", out, "--json").stdout);
    expect(inspected.tensors.map((x: { name: string; shape: number[] }) => `${x.name}[${x.shape}]`)).toEqual(["fc/kernel:0[4,3]", "fc/bias:0[3]", "odd[5]"]);
    const strict = run("convert", src, join(dir, "s.safetensors"), "--map", `${rules},torch2keras`, "--strict", "--keep-unmapped");
    expect(strict.status).toBe(1);
    expect(strict.stderr).toMatch(/--strict: unexpected \(unmatched\) keys: odd/);
  });
});
