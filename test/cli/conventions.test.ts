import { describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CLI, runCli } from "../helpers/cli.js";
import { fixture } from "../helpers/fixtures.js";

const STATE_DICT = fixture("pytorch", "state_dict.pt");
const tmp = () => mkdtempSync(join(tmpdir(), "wb-conv-"));

describe("help as users of well-kept CLIs expect it", () => {
  it.each([["-h"], ["--help"], ["help"]])("%s prints the commands and exits 0", (flag) => {
    const r = runCli([flag]);
    expect(r.code).toBe(0);
    for (const command of ["inspect", "convert", "diff", "scan", "formats"]) expect(r.stdout).toContain(`weightbridge ${command}`);
    expect(r.stdout).toContain("Examples:");
  });

  it.each([
    ["convert", "-h"],
    ["convert", "--help"],
    ["help", "convert"],
  ])("%s %s shows the command's help with examples", (a, b) => {
    const r = runCli([a, b]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("weightbridge convert <in> <out>");
    expect(r.stdout).toContain("--map");
    expect(r.stdout).toMatch(/Examples:\n\s+weightbridge convert model\.pt model\.safetensors/);
  });

  it.each(["inspect", "diff", "scan", "formats"])("every command's help has examples: %s", (command) => {
    const r = runCli(["help", command]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`Examples:\\n\\s+weightbridge ${command}`));
  });

  it("suggests the command a typo meant", () => {
    const r = runCli(["convrt", "a", "b"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("Did you mean convert?");
  });

  it("prints a shell completion script", () => {
    const r = runCli(["completion"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("weightbridge");
    expect(r.stdout).toMatch(/complete|compdef/);
  });

  it("prints its own version, not that of the folder it runs in", () => {
    const dir = tmp();
    spawnSync("npm", ["init", "-y", "--init-version", "9.9.9"], { cwd: dir });
    const own = (JSON.parse(readFileSync(join(import.meta.dirname, "../../package.json"), "utf8")) as { version: string }).version;
    const r = runCli(["--version"], { cwd: dir });
    expect(r.stdout.trim()).toBe(own);
  });
});

describe("convert conveniences", () => {
  it("accepts fp16 / bf16 / fp32 for --dtype", () => {
    const dir = tmp();
    for (const [alias, dtype] of [
      ["fp16", "float16"],
      ["bf16", "bfloat16"],
      ["fp32", "float32"],
    ] as const) {
      const out = join(dir, `${alias}.safetensors`);
      expect(runCli(["convert", STATE_DICT, out, "--dtype", alias]).code).toBe(0);
      const inspected = JSON.parse(runCli(["inspect", out, "--json"]).stdout) as { tensors: Array<{ name: string; dtype: string }> };
      expect(inspected.tensors.find((t) => t.name === "conv.weight")!.dtype).toBe(dtype);
    }
    const r = runCli(["convert", STATE_DICT, join(dir, "x.safetensors"), "--dtype", "fp8"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("--dtype: 'fp8' is not one of");
  });

  it("--json prints the conversion report on stdout", () => {
    const out = join(tmp(), "m.safetensors");
    const r = runCli(["convert", STATE_DICT, out, "--json", "--dtype", "bf16"]);
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout) as { from: string; to: string; tensors: Array<{ source: string; targetDtype: string }> };
    expect(report).toMatchObject({ from: "pytorch", to: "safetensors" });
    expect(report.tensors.find((t) => t.source === "conv.weight")!.targetDtype).toBe("bfloat16");
  });

  it("--quiet keeps stderr empty (the mapping summary and warnings included)", () => {
    const dir = tmp();
    const loud = runCli(["convert", STATE_DICT, join(dir, "a.pdparams"), "--map", "torch2paddle"]);
    expect(loud.code).toBe(0);
    expect(loud.stderr).not.toBe("");
    const quiet = runCli(["convert", STATE_DICT, join(dir, "b.pdparams"), "--map", "torch2paddle", "--quiet"]);
    expect(quiet.code).toBe(0);
    expect(quiet.stderr).toBe("");
  });
});

/** Runs the CLI under a pseudo-terminal of the given width (util-linux `script`), returns what the terminal got. */
function onTerminal(args: string[], columns: number, extraFlags: string[] = []): string {
  const quoted = [process.execPath, CLI, ...args, ...extraFlags].map((a) => `'${a.replace(/'/g, "'\\''")}'`).join(" ");
  const r = spawnSync("script", ["-qfec", `stty cols ${columns}; ${quoted}`, "/dev/null"], { encoding: "utf8", timeout: 60_000 });
  return r.stdout;
}

const hasScript = spawnSync("script", ["--version"]).status === 0;

describe.skipIf(!hasScript)("progress on a terminal", () => {
  it("fits an 80-column terminal even for a long output path", () => {
    const dir = join(tmp(), "a-rather-long-folder-name-for-the-output-of-this-conversion", "and-one-more-level");
    mkdirSync(dir, { recursive: true });
    const out = join(dir, "state_dict_converted_to_safetensors_with_a_long_name.safetensors");
    const screen = onTerminal(["convert", STATE_DICT, out], 80);
    const progress = screen
      .split("\r")
      .map((s) => s.replace(/\x1b\[K/g, "").replace(/\n$/, ""))
      .filter((s) => s.includes("%"));
    expect(progress.length).toBeGreaterThan(0);
    for (const line of progress) {
      expect(line.length).toBeLessThan(80);
      expect(line).toMatch(/^writing .*….*100%/);
    }
  });

  it("--no-progress and --quiet keep the terminal free of it", () => {
    for (const flag of ["--no-progress", "--quiet"]) {
      const out = join(tmp(), "m.safetensors");
      expect(onTerminal(["convert", STATE_DICT, out], 80, [flag])).not.toContain("%");
    }
  });
});
