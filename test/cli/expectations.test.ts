import { describe, expect, it } from "vitest";
import { existsSync, mkdtempSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CLI, runCli } from "../helpers/cli.js";
import { fixture } from "../helpers/fixtures.js";
import { hasPythonModules, runPython } from "../helpers/python.js";

// Issue 29: what users of git, ripgrep and huggingface-cli expect of a CLI, through the real binary.

const STATE_DICT = fixture("pytorch", "state_dict.pt");
const tmp = () => mkdtempSync(join(tmpdir(), "wb-expect-"));
const namesOf = (file: string) => (JSON.parse(runCli(["inspect", file, "--json"]).stdout) as { tensors: Array<{ name: string }> }).tensors.map((t) => t.name);

/** A float32 safetensors file of the given values (NaN and ±Infinity allowed). */
function floats(dir: string, values: number[]): string {
  const bytes = Buffer.from(new Float32Array(values).buffer);
  const header = Buffer.from(JSON.stringify({ x: { dtype: "F32", shape: [values.length], data_offsets: [0, bytes.length] } }));
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(header.length));
  const path = join(dir, "x.safetensors");
  writeFileSync(path, Buffer.concat([length, header, bytes]));
  return path;
}

describe.runIf(existsSync(CLI))("CLI conventions", () => {
  it("short flags: -t/--to, -m/--map, -f/--force, -n/--dry-run, -v/--verbose", () => {
    const dir = tmp();
    const out = join(dir, "o.pdparams");
    expect(runCli(["convert", STATE_DICT, out, "-m", "torch2paddle", "-t", "paddle"]).code).toBe(0);
    expect(runCli(["convert", STATE_DICT, out, "-m", "torch2paddle"]).code).toBe(1); // exists
    const forced = runCli(["convert", STATE_DICT, out, "-m", "torch2paddle", "-f"]);
    expect(forced.code, forced.stderr).toBe(0);
    expect(namesOf(out)).toContain("bn._mean");
    expect(runCli(["scan", STATE_DICT, "-v"]).stdout).toMatch(/collections\.OrderedDict/);
  });

  it("convert ends with one success line: what was written, tensors, bytes, time; none with --quiet", () => {
    const dir = tmp();
    const r = runCli(["convert", STATE_DICT, join(dir, "o.safetensors")]);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/^weightbridge: wrote .*o\.safetensors \(safetensors, 10 tensors, 1\.0 KiB\) in \d+(\.\d)? s\n$/);
    expect(runCli(["convert", STATE_DICT, join(dir, "q.safetensors"), "-q"]).stderr).toBe("");
  });

  it("convert --dry-run prints the mapping plan and writes nothing, not even the report", () => {
    const dir = tmp();
    const out = join(dir, "o.pdparams");
    const r = runCli(["convert", STATE_DICT, out, "--map", "torch2paddle", "--dry-run", "--report", join(dir, "r.json")]);
    expect(r.code, r.stderr).toBe(0);
    expect(readdirSync(dir)).toEqual([]);
    const lines = r.stdout.trim().split("\n");
    expect(lines).toContain("bn.running_mean → bn._mean     [2]           float32");
    expect(lines.find((l) => l.startsWith("fc.weight "))).toMatch(/^fc\.weight\s+\[8, 4\]\s+float32\s+transpose\(1,0\)$/);
    expect(lines.at(-1)).toMatch(/^dry run: pytorch → paddle, 9 tensors(, 1 dropped)? would be written to .*o\.pdparams; nothing was written$/);
    expect(r.stderr).toMatch(/^weightbridge: mapping: 9 tensors out/m);
    expect(r.stderr).not.toMatch(/wrote/);
    const json = JSON.parse(runCli(["convert", STATE_DICT, out, "-m", "torch2paddle", "-n", "--json"]).stdout) as { tensors: Array<{ target: string }> };
    expect(json.tensors.map((t) => t.target)).toContain("bn._mean");
    expect(json.tensors).toHaveLength(lines.length - 1);
    expect(readdirSync(dir)).toEqual([]);
  });

  it("presets lists each preset with what it maps and an example that works", () => {
    const r = runCli(["presets"]);
    expect(r.code).toBe(0);
    for (const name of ["torch2keras", "keras2torch", "torch2paddle", "paddle2torch", "keras2paddle", "paddle2keras", "onnx2torch"]) {
      expect(r.stdout).toMatch(new RegExp(`^${name} {2}\\w+ → \\w+, \\d+ rules$`, "m"));
    }
    expect(r.stdout).toContain("e.g. weightbridge convert model.pt converted.pdparams --map torch2paddle");
    expect(r.stdout).toMatch(/^torch2keras .*\n {2}PyTorch state_dict names and layouts → Keras .*\n {2}layer kinds its rules name: .*\blinear\b/m);
    const json = JSON.parse(runCli(["presets", "--json"]).stdout) as Array<{ name: string; chain?: string[] }>;
    expect(json.find((p) => p.name === "keras2paddle")!.chain).toEqual(["keras2torch", "torch2paddle"]);
  });

  it("inspect --stats: min, max, mean, std and NaN/Inf counts per tensor", () => {
    const file = floats(tmp(), [1, 2, Number.NaN, 3, Infinity, -Infinity, 6]);
    const r = runCli(["inspect", file, "--stats"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^name\s+dtype\s+shape\s+min\s+max\s+mean\s+std\s+nan\s+inf$/m);
    // Finite values 1, 2, 3, 6: mean 3, population std sqrt(3.5); min/max over all but NaN.
    expect(r.stdout).toMatch(/^x\s+float32\s+\[7\]\s+-Infinity\s+Infinity\s+3\s+1\.871\s+1\s+2$/m);
    const json = JSON.parse(runCli(["inspect", file, "--stats", "--json"]).stdout) as { tensors: Array<{ stats: Record<string, number> }> };
    const { std, ...rest } = json.tensors[0]!.stats;
    expect(rest).toEqual({ count: 7, nan: 1, inf: 2, min: "-Infinity", max: "Infinity", mean: 3 });
    expect(std).toBeCloseTo(Math.sqrt(3.5), 12);
  });

  it.runIf(hasPythonModules("torch"))("inspect --stats agrees with torch on a real checkpoint", () => {
    const json = JSON.parse(runCli(["inspect", STATE_DICT, "--stats", "--json"]).stdout) as { tensors: Array<{ name: string; stats: Record<string, number> }> };
    const script = `
import json, sys, torch
sd = torch.load(sys.argv[1])
print(json.dumps({k: [v.double().min().item(), v.double().max().item(), v.double().mean().item(), v.double().std(unbiased=False).item()] for k, v in sd.items()}))`;
    const torchStats = JSON.parse(runPython(script, [STATE_DICT])) as Record<string, number[]>;
    for (const t of json.tensors) {
      const [min, max, mean, std] = torchStats[t.name]!;
      expect([t.stats.min, t.stats.max], t.name).toEqual([min, max]);
      expect(Math.abs(t.stats.mean! - mean!), t.name).toBeLessThan(1e-12);
      expect(Math.abs(t.stats.std! - std!), t.name).toBeLessThan(1e-12);
    }
  });
});
