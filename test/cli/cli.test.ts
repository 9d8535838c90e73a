import { describe, expect, it } from "vitest";
import { copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runCli } from "../helpers/cli.js";
import { loadExpected } from "../helpers/expected.js";
import { fixture } from "../helpers/fixtures.js";

const FIXTURES = fixture("pytorch");
const tmp = () => mkdtempSync(join(tmpdir(), "wb-cli-"));

function expectOneLineError(stderr: string, pattern: RegExp): void {
  const lines = stderr.trim().split("\n");
  expect(lines.length).toBeLessThanOrEqual(2);
  expect(stderr).toMatch(pattern);
  expect(stderr).not.toMatch(/\n\s+at /); // no stack trace
}

describe("weightbridge inspect", () => {
  it("--json gives each tensor's role and layer hint when the file says them (what mapping rules see)", () => {
    const r = runCli(["inspect", join(FIXTURES, "whole_model.pt"), "--json"]);
    expect(r.code).toBe(0);
    const tensors = JSON.parse(r.stdout).tensors as Array<{ name: string; role?: string; layer?: Record<string, unknown> }>;
    expect(tensors.find((t) => t.name === "features.0.weight")).toMatchObject({
      role: "parameter",
      layer: { kind: "conv2d", className: "Conv2d", path: "features.0" },
    });
    expect(tensors.find((t) => t.name === "scale")).toEqual({ name: "scale", dtype: "float32", shape: [2], role: "buffer" });
  });

  it("--json prints format, tensors in source order and meta", () => {
    const r = runCli(["inspect", join(FIXTURES, "training_checkpoint.pt"), "--json"]);
    expect(r.code).toBe(0);
    const json = JSON.parse(r.stdout);
    const expected = loadExpected(join(FIXTURES, "training_checkpoint.pt.expected.json"));
    expect(json.format).toBe("pytorch");
    expect(json.tensors).toEqual(expected.tensors.map(({ name, dtype, shape }) => ({ name, dtype, shape })));
    expect(json.meta).toEqual(expected.meta);
  });

  it("prints a readable table with totals", () => {
    const r = runCli(["inspect", join(FIXTURES, "state_dict.pt")]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/conv\.weight\s+float32\s+\[2, 1, 3, 3\]\s+72 B/);
    expect(r.stdout).toMatch(/10 tensors, 80 elements, 324 B/);
  });

  it("--select narrows to a subtree", () => {
    const r = runCli(["inspect", join(FIXTURES, "gan.pt"), "--json", "--select", "generator"]);
    expect(JSON.parse(r.stdout).tensors.map((t: { name: string }) => t.name)).toEqual(["0.weight", "0.bias"]);
  });
});

describe("weightbridge convert", () => {
  it("converts by output name and refuses to clobber without --force", () => {
    const dir = tmp();
    const out = join(dir, "model.safetensors");
    expect(runCli(["convert", join(FIXTURES, "state_dict.pt"), out]).code).toBe(0);
    const before = readFileSync(out);
    const again = runCli(["convert", join(FIXTURES, "gan.pt"), out]);
    expect(again.code).toBe(1);
    expectOneLineError(again.stderr, /already exists.*--force/);
    expect(readFileSync(out)).toEqualBytes(before);
    expect(runCli(["convert", join(FIXTURES, "gan.pt"), out, "--force"]).code).toBe(0);
    expect(readFileSync(out)).not.toEqualBytes(before);
    expect(readdirSync(dir)).toEqual(["model.safetensors"]);
  });

  it("--select, --dtype and --report", () => {
    const dir = tmp();
    const out = join(dir, "g.pt");
    const report = join(dir, "report.json");
    const r = runCli(["convert", join(FIXTURES, "training_checkpoint.pt"), out, "--select", "model_state_dict", "--dtype", "bfloat16", "--report", report]);
    expect(r.code).toBe(0);
    const json = JSON.parse(runCli(["inspect", out, "--json"]).stdout);
    expect(json.tensors.map((t: { name: string; dtype: string }) => `${t.name}:${t.dtype}`)).toEqual([
      "0.weight:bfloat16",
      "0.bias:bfloat16",
      "2.weight:bfloat16",
      "2.bias:bfloat16",
    ]);
    const rep = JSON.parse(readFileSync(report, "utf8"));
    expect(rep.tensors[0]).toMatchObject({ source: "0.weight", target: "0.weight", dtype: "float32", targetDtype: "bfloat16" });
    expect(rep.tensors[0].transforms).toEqual(["cast(float32→bfloat16)"]);
  });

  it("--to overrides the output name", () => {
    const dir = tmp();
    const out = join(dir, "weights.data");
    expect(runCli(["convert", join(FIXTURES, "state_dict.pt"), out, "--to", "safetensors"]).code).toBe(0);
    expect(JSON.parse(runCli(["inspect", out, "--json"]).stdout).format).toBe("safetensors");
  });

  it("detects the input format from bytes, not the name", () => {
    const dir = tmp();
    const disguised = join(dir, "model.onnx");
    copyFileSync(join(FIXTURES, "state_dict.pt"), disguised);
    expect(JSON.parse(runCli(["inspect", disguised, "--json"]).stdout).format).toBe("pytorch");
  });
});

describe("bad input", () => {
  const cases: Array<[string, (dir: string) => string, RegExp]> = [
    ["no model at all", (d) => (writeFileSync(join(d, "x.pt"), "hello, I am text\n"), join(d, "x.pt")), /not a model file/],
    ["empty file", (d) => (writeFileSync(join(d, "x.pt"), ""), join(d, "x.pt")), /empty/],
    ["missing file", (d) => join(d, "nope.pt"), /no such file/],
    [
      "truncated checkpoint",
      (d) => {
        const bytes = readFileSync(join(FIXTURES, "state_dict.pt"));
        writeFileSync(join(d, "t.pt"), bytes.subarray(0, bytes.length - 100));
        return join(d, "t.pt");
      },
      /t\.pt/,
    ],
    [
      "checkpoint with a damaged storage",
      (d) => {
        const bytes = Buffer.from(readFileSync(join(FIXTURES, "state_dict.pt")));
        // Cut the file in the middle of the storages: central directory gone.
        writeFileSync(join(d, "c.pt"), bytes.subarray(0, 1500));
        return join(d, "c.pt");
      },
      /c\.pt/,
    ],
  ];
  for (const [label, make, pattern] of cases) {
    it(`${label}: exit 1, one line naming the file, no output`, () => {
      const dir = tmp();
      const input = make(dir);
      const out = join(dir, "out.safetensors");
      const r = runCli(["convert", input, out]);
      expect(r.code).toBe(1);
      expectOneLineError(r.stderr, pattern);
      expect(existsSync(out)).toBe(false);
      expect(readdirSync(dir).filter((f) => f.includes("wb-tmp"))).toEqual([]);
    });
  }

  it("usage errors exit 2", () => {
    expect(runCli(["convert"]).code).toBe(2);
    expect(runCli(["frobnicate"]).code).toBe(2);
    const r = runCli(["convert", join(FIXTURES, "state_dict.pt"), join(tmp(), "x.unknownext")]);
    expect(r.code).toBe(2);
    expectOneLineError(r.stderr, /--to/);
  });

  it("a failure while writing leaves no partial file and keeps an existing one", () => {
    const dir = tmp();
    const out = join(dir, "out.safetensors");
    writeFileSync(out, "precious");
    // complex128 cannot go into safetensors: the writer fails after starting.
    const r = runCli(["convert", join(FIXTURES, "dtype_zoo.pt"), out, "--force"]);
    expect(r.code).toBe(1);
    expectOneLineError(r.stderr, /complex128/);
    expect(readFileSync(out, "utf8")).toBe("precious");
    expect(readdirSync(dir)).toEqual(["out.safetensors"]);
    expect(statSync(out).size).toBe(8);
  });
});

describe("weightbridge formats", () => {
  it("lists the formats with read/write abilities", () => {
    const r = runCli(["formats"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^pytorch\s+read\+write/m);
    expect(r.stdout).toMatch(/^safetensors\s+read\+write/m);
  });
});

describe("README", () => {
  it("the migration example runs as written", async () => {
    const { spawnSync } = await import("node:child_process");
    const root = join(import.meta.dirname, "../..");
    const r = spawnSync(process.execPath, ["examples/migrate.mjs"], { cwd: root, encoding: "utf8" });
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/epoch 3, loss 0.25/);
    expect(r.stdout).toMatch(/encoder\.0\.weight {2}bfloat16 {2}\[3, 4\]/);
    const json = JSON.parse(runCli(["inspect", join(root, "migrated.safetensors"), "--json"]).stdout);
    expect(json.tensors).toHaveLength(4);
    const { rmSync } = await import("node:fs");
    rmSync(join(root, "migrated.safetensors"));
  });
});
