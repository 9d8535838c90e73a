import { afterAll, describe, expect, it } from "vitest";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { read } from "../../src/index.js";
import { runCli } from "../helpers/cli.js";
import { fixture } from "../helpers/fixtures.js";

const FIXTURES = fixture("pytorch");
const HOSTILE = join(FIXTURES, "hostile");
const manifest = JSON.parse(readFileSync(join(HOSTILE, "hostile.json"), "utf8")) as {
  trace: string;
  files: Record<string, { callable: string; loader: string }>;
};
const tmp = () => mkdtempSync(join(tmpdir(), "wb-scan-"));

describe("weightbridge scan", () => {
  it("exits 0 on a clean file: terse, the verdict line only; --verbose lists every global", () => {
    const r = runCli(["scan", join(FIXTURES, "whole_model.pt")]);
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/1 pickle\(s\), (\d+) global\(s\), 0 dangerous \((\d+) that only rebuild data not listed: --verbose lists every global\)$/);
    const verbose = runCli(["scan", join(FIXTURES, "whole_model.pt"), "--verbose"]);
    const every = verbose.stdout.trim().split("\n");
    expect(every.at(-1)).toMatch(/1 pickle\(s\), \d+ global\(s\), 0 dangerous$/);
    expect(every.some((l) => /data\.pkl: byte \d+: __main__\.Net \(GLOBAL\): class rebuilt as data \(never called\)$/.test(l))).toBe(true);
    expect(every.length - 1).toBe(Number(/(\d+) global/.exec(lines[0]!)![1]));
    expect(every.every((l) => !l.includes("DANGEROUS"))).toBe(true);
  });

  it("--json reports safe files as safe", () => {
    const r = runCli(["scan", join(FIXTURES, "state_dict.pt"), "--json"]);
    expect(r.code).toBe(0);
    const json = JSON.parse(r.stdout);
    expect(json.safe).toBe(true);
    expect(json.container).toBe("zip");
    expect(json.findings.map((f: { callable: string }) => f.callable)).toContain("torch._utils._rebuild_tensor_v2");
  });

  for (const [name, file] of Object.entries(manifest.files)) {
    it(`exits 1 on ${name}, one line naming ${file.callable}`, () => {
      const r = runCli(["scan", join(HOSTILE, name)]);
      expect(r.code).toBe(1);
      const danger = r.stdout.split("\n").filter((l) => /DANGEROUS|UNREADABLE/.test(l));
      expect(danger.some((l) => l.includes(file.callable) && l.includes(name) && /byte \d+/.test(l))).toBe(true);
      const json = JSON.parse(runCli(["scan", join(HOSTILE, name), "--json"]).stdout);
      expect(json.safe).toBe(false);
    });
  }

  it("says a file without pickles has nothing to scan", () => {
    const r = runCli(["scan", join(import.meta.dirname, "../../package.json")]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/no pickles/);
  });

  it("does not take a Keras HDF5 file for a broken pickle (its first byte is a pickle opcode)", () => {
    const r = runCli(["scan", fixture("keras", "real", "KERAS_3layer_weights.h5")]);
    expect(r.code, r.stdout).toBe(0);
    expect(r.stdout).toMatch(/no pickles/);
  });
});

describe("convert and inspect on hostile files", () => {
  for (const [name, file] of Object.entries(manifest.files).filter(([, f]) => f.loader === "torch")) {
    it(`convert refuses ${name} with exit 1 and one line naming ${file.callable}, writing nothing`, () => {
      const out = join(tmp(), "out.safetensors");
      const r = runCli(["convert", join(HOSTILE, name), out]);
      expect(r.code).toBe(1);
      const lines = r.stderr.trim().split("\n");
      expect(lines).toHaveLength(1);
      expect(lines[0]).toContain(file.callable);
      expect(lines[0]).toContain(name);
      expect(existsSync(out)).toBe(false);
    });
  }

  it("inspect shows a hostile file's weights with a warning, exit 0", () => {
    const r = runCli(["inspect", join(HOSTILE, "zip_global.pt")]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^weight\s+float32/m);
    expect(r.stderr).toMatch(/^weightbridge: warning: UNSAFE: .*posix\.system/m);
  });

  afterAll(() => expect(existsSync(manifest.trace)).toBe(false));
});

describe("Lightning checkpoint end to end", () => {
  it("convert --select state_dict writes the weights only", async () => {
    const out = join(tmp(), "weights.pt");
    const r = runCli(["convert", join(FIXTURES, "lightning.ckpt"), out, "--select", "state_dict"]);
    expect(r.code).toBe(0);
    const back = await read(out);
    expect(back.tensors.map((t) => t.name)).toEqual(["model.0.weight", "model.0.bias", "model.2.weight", "model.2.bias"]);
    await back.close();
  });
});
