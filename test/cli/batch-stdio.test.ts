import { describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CLI, runCli } from "../helpers/cli.js";
import { fixture } from "../helpers/fixtures.js";

const PYTORCH = fixture("pytorch");
const tmp = () => mkdtempSync(join(tmpdir(), "wb-batch-"));

/** Runs the CLI with a file as standard input (a pipe, not a seekable file). */
function withStdin(args: string[], input: Buffer) {
  const r = spawnSync(process.execPath, [CLI, ...args], { input, timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr.toString("utf8") };
}

describe("batch conversion", () => {
  it("converts files and a folder's files into OUTDIR, goes on after a failure and says which failed", () => {
    const dir = tmp();
    const folder = join(dir, "more");
    mkdirSync(folder);
    copyFileSync(join(PYTORCH, "many_tensors.pt"), join(folder, "many.pt"));
    writeFileSync(join(folder, "notes.txt"), "not a model\n");
    const out = join(dir, "out");
    const r = runCli(["convert", join(PYTORCH, "state_dict.pt"), join(PYTORCH, "gpu_tagged.pt"), folder, out, "--to", "safetensors"]);
    expect(r.code).toBe(1);
    expect(readdirSync(out).sort()).toEqual(["gpu_tagged.safetensors", "many.safetensors", "state_dict.safetensors"]);
    expect(r.stderr).toMatch(/notes\.txt: not a model file weightbridge can read/);
    expect(r.stderr).toMatch(/converted 3 of 4 file\(s\); failed: .*notes\.txt/);
    const inspected = JSON.parse(runCli(["inspect", join(out, "many.safetensors"), "--json"]).stdout) as { tensors: unknown[] };
    const original = JSON.parse(runCli(["inspect", join(PYTORCH, "many_tensors.pt"), "--json"]).stdout) as { tensors: unknown[] };
    expect(inspected.tensors).toEqual(original.tensors);
  });

  it("a model folder (SavedModel) among the inputs is one model, not its files", () => {
    const dir = tmp();
    const savedModel = join(import.meta.dirname, "../../fixtures/tensorflow/savedmodel-tf2-half-plus-two");
    const r = runCli(["convert", join(PYTORCH, "state_dict.pt"), savedModel, join(dir, "out"), "--to", "safetensors"]);
    expect(r.code, r.stderr).toBe(0);
    expect(readdirSync(join(dir, "out")).sort()).toEqual(["savedmodel-tf2-half-plus-two.safetensors", "state_dict.safetensors"]);
  });

  it("exits 0 when every file converted, and needs --to", () => {
    const dir = tmp();
    const ok = runCli(["convert", join(PYTORCH, "state_dict.pt"), join(PYTORCH, "gpu_tagged.pt"), join(dir, "o"), "--to", "paddle"]);
    expect(ok.code).toBe(0);
    expect(readdirSync(join(dir, "o")).sort()).toEqual(["gpu_tagged.pdparams", "state_dict.pdparams"]);
    const noTo = runCli(["convert", join(PYTORCH, "state_dict.pt"), join(PYTORCH, "gpu_tagged.pt"), join(dir, "p")]);
    expect(noTo.code).toBe(2);
    expect(noTo.stderr).toContain("needs --to FORMAT");
  });
});

describe("- for standard input and output", () => {
  it("inspect - reads a piped model", () => {
    const r = withStdin(["inspect", "-", "--json"], readFileSync(join(PYTORCH, "state_dict.pt")));
    expect(r.code).toBe(0);
    const json = JSON.parse(r.stdout.toString("utf8")) as { format: string; tensors: unknown[] };
    expect(json.format).toBe("pytorch");
    expect(json.tensors.length).toBe(10);
  });

  it("convert IN - --to FORMAT writes the model to standard output, byte for byte what a file would get", () => {
    const dir = tmp();
    const piped = withStdin(["convert", "-", "-", "--to", "safetensors"], readFileSync(join(PYTORCH, "state_dict.pt")));
    expect(piped.code).toBe(0);
    const file = join(dir, "m.safetensors");
    expect(runCli(["convert", join(PYTORCH, "state_dict.pt"), file]).code).toBe(0);
    expect(Buffer.compare(piped.stdout, readFileSync(file))).toBe(0);
  });

  it("errors name <stdin>, and OUT - needs --to", () => {
    const r = withStdin(["inspect", "-"], Buffer.from("hello\n"));
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^weightbridge: error: <stdin>: not a model file/);
    const noTo = runCli(["convert", join(PYTORCH, "state_dict.pt"), "-"]);
    expect(noTo.code).toBe(2);
    expect(noTo.stderr).toContain("needs --to FORMAT");
  });
});

describe("errors that say what to do next", () => {
  it("a missing output folder is named, before any work", () => {
    const r = runCli(["convert", join(PYTORCH, "state_dict.pt"), join(tmp(), "nodir", "x.safetensors")]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/the output folder .*nodir does not exist/);
  });

  it("a truncated zip says the download may be incomplete", () => {
    const cut = join(tmp(), "cut.pt");
    writeFileSync(cut, readFileSync(join(PYTORCH, "state_dict.pt")).subarray(0, 3000));
    const r = runCli(["inspect", cut]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("the download may be incomplete");
  });

  it("a file of no known format lists what weightbridge reads", () => {
    const junk = join(tmp(), "junk.bin");
    writeFileSync(junk, "hello\n");
    const r = runCli(["inspect", junk]);
    expect(r.stderr).toMatch(/it reads safetensors, .*pytorch.*onnx[a-z0-9, -]* \(weightbridge formats\)/);
  });

  it("a folder of shards points at its index", () => {
    const dir = tmp();
    writeFileSync(join(dir, "model.safetensors.index.json"), "{}");
    const r = runCli(["inspect", dir]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("model.safetensors.index.json: read that file");
  });

  it("TorchScript as output says it is read-only and what to write instead", () => {
    for (const args of [["x.ptl"], ["x.pt", "--to", "torchscript"]]) {
      const r = runCli(["convert", join(PYTORCH, "state_dict.pt"), join(tmp(), args[0]!), ...args.slice(1)]);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/reads TorchScript .* but cannot write them; write one of .*pytorch \(\.pt\)/);
    }
  });

  it("an unsafe-pickle refusal says the file may be hostile and what scan shows", () => {
    const hostile = join(PYTORCH, "hostile", "zip_global.pt");
    const r = runCli(["convert", hostile, join(tmp(), "h.safetensors")]);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toContain("posix.system");
    expect(r.stderr).toContain(`The file may be hostile; nothing in it was run. 'weightbridge scan ${hostile}' lists every global`);
  });

  it("an output that is not a regular file is never replaced", () => {
    const r = runCli(["convert", join(PYTORCH, "state_dict.pt"), "/dev/null", "--to", "safetensors", "--force"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("is not a regular file");
    expect(existsSync("/dev/null")).toBe(true);
  });
});

describe("a richer inspect", () => {
  it("totals split parameters and buffers and list bytes per dtype", () => {
    const r = runCli(["inspect", join(PYTORCH, "whole_model.pt")]);
    expect(r.stdout).toMatch(/48 tensors \(7 buffers, 41 parameters\), 870 elements, 3\.4 KiB/);
    expect(r.stdout).toMatch(/dtypes: float32 46 \(3\.4 KiB\), int64 2 \(16 B\)/);
  });

  it("--filter keeps full names; --tree shows the module tree", () => {
    const r = runCli(["inspect", join(PYTORCH, "training_checkpoint.pt"), "--filter", "^model_state_dict\\..*weight$"]);
    expect(r.stdout).toContain("model_state_dict.0.weight");
    expect(r.stdout).not.toContain("optimizer_state_dict.state");
    expect(r.stdout).toMatch(/\(filtered: 2 of 16 tensors shown\)/);
    const tree = runCli(["inspect", join(PYTORCH, "whole_model.pt"), "--tree"]);
    expect(tree.stdout).toMatch(/├─ features {2}\(10 tensors, 800 B\)\n│ {2}├─ 0 {2}\(2 tensors, 448 B\)\n│ {2}│ {2}├─ weight {2}float32 \[4, 3, 3, 3\]/);
    expect(runCli(["inspect", join(PYTORCH, "state_dict.pt"), "--filter", "("]).code).toBe(2);
  });

  it("prints meta whole, a line per key", () => {
    const r = runCli(["inspect", join(PYTORCH, "training_checkpoint.pt")]);
    expect(r.stdout).toMatch(/meta:\n {2}epoch: 3\n {2}optimizer_state_dict: \{"param_groups":\[\{"lr":0\.001/);
    expect(r.stdout).toContain("  shape: [2,3]");
  });
});

describe("--report is as safe as OUT", () => {
  const STATE = join(PYTORCH, "state_dict.pt");

  it("checks the report's folder before converting, so nothing is half done", () => {
    const dir = tmp();
    const r = runCli(["convert", STATE, join(dir, "m.safetensors"), "--report", join(dir, "nodir", "r.json")]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("does not exist");
    expect(readdirSync(dir)).toEqual([]);
  });

  it("refuses an existing report without --force, and replaces it with --force", () => {
    const dir = tmp();
    const report = join(dir, "r.json");
    writeFileSync(report, "keep me");
    const refused = runCli(["convert", STATE, join(dir, "m.safetensors"), "--report", report]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain("already exists");
    expect(readFileSync(report, "utf8")).toBe("keep me");
    expect(existsSync(join(dir, "m.safetensors"))).toBe(false);
    expect(runCli(["convert", STATE, join(dir, "m.safetensors"), "--report", report, "--force"]).code).toBe(0);
    expect(JSON.parse(readFileSync(report, "utf8"))).toMatchObject({ from: "pytorch", to: "safetensors" });
  });

  it("never replaces a symlink or a device", () => {
    const dir = tmp();
    const link = join(dir, "link.json");
    spawnSync("ln", ["-s", "/dev/null", link]);
    const r = runCli(["convert", STATE, join(dir, "m.safetensors"), "--report", link, "--force"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/is a symbolic link|not a regular file/);
    expect(existsSync(join(dir, "m.safetensors"))).toBe(false);
  });

  it("--report - prints the report on standard output", () => {
    const r = runCli(["convert", STATE, join(tmp(), "m.safetensors"), "--report", "-"]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ from: "pytorch", to: "safetensors" });
  });

  it("--pickle-protocol takes only what it documents", () => {
    const r = runCli(["convert", STATE, join(tmp(), "m.pdparams"), "--pickle-protocol", "3"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("Choices: 2, 4");
  });
});

describe("safetensors metadata says whose tensors they are", () => {
  const metadataOf = (file: string) => {
    const bytes = readFileSync(file);
    const n = Number(bytes.readBigUInt64LE(0));
    return (JSON.parse(bytes.subarray(8, 8 + n).toString("utf8")) as { __metadata__?: Record<string, string> }).__metadata__ ?? {};
  };

  it("format: pt from PyTorch (what transformers' from_pretrained requires), np from Paddle", () => {
    const dir = tmp();
    expect(runCli(["convert", join(PYTORCH, "state_dict.pt"), join(dir, "a.safetensors")]).code).toBe(0);
    expect(metadataOf(join(dir, "a.safetensors")).format).toBe("pt");
    const paddle = fixture("paddle", "real", "mnist.pdparams");
    expect(runCli(["convert", paddle, join(dir, "b.safetensors")]).code).toBe(0);
    expect(metadataOf(join(dir, "b.safetensors")).format).toBe("np");
    expect(runCli(["convert", paddle, join(dir, "c.safetensors"), "--map", "paddle2torch"]).code).toBe(0);
    expect(metadataOf(join(dir, "c.safetensors")).format).toBe("pt");
  });
});

describe("a file with no tensors", () => {
  it("inspects with a note and converts only with a warning", () => {
    const dir = tmp();
    const empty = join(dir, "empty.safetensors");
    const header = Buffer.from('{"__metadata__":{"note":"x"}}  ');
    const size = Buffer.alloc(8);
    size.writeBigUInt64LE(BigInt(header.length));
    writeFileSync(empty, Buffer.concat([size, header]));
    const shown = runCli(["inspect", empty]);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toContain("no tensors: this file holds no weights");
    const converted = runCli(["convert", empty, join(dir, "e.pt")]);
    expect(converted.code).toBe(0);
    expect(converted.stderr).toContain("holds no tensors: the output has only its metadata");
  });
});
