import { describe, expect, it } from "vitest";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CLI, runCli } from "../helpers/cli.js";
import { fixture } from "../helpers/fixtures.js";

// Issue 29: OUT read the way `cp` reads it, and a sharded output replaced as one set.

const PYTORCH = fixture("pytorch");
const tmp = () => mkdtempSync(join(tmpdir(), "wb-paths-"));
const tensorsOf = (file: string) => (JSON.parse(runCli(["inspect", file, "--json"]).stdout) as { tensors: unknown[] }).tensors;

describe.runIf(existsSync(CLI))("output paths", () => {
  it("an existing folder OUT receives the file under its own name (its extension from --to)", () => {
    const dir = tmp();
    const input = join(PYTORCH, "state_dict.pt");
    const r = runCli(["convert", input, dir, "--to", "safetensors"]);
    expect(r.code, r.stderr).toBe(0);
    expect(readdirSync(dir)).toEqual(["state_dict.safetensors"]);
    expect(tensorsOf(join(dir, "state_dict.safetensors"))).toEqual(tensorsOf(input));
    // Without --to the name is kept as it is, and so is the format; an existing file needs --force.
    expect(runCli(["convert", input, `${dir}/`]).code).toBe(0);
    expect(readdirSync(dir).sort()).toEqual(["state_dict.pt", "state_dict.safetensors"]);
    const again = runCli(["convert", input, dir]);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/state_dict\.pt: output file already exists \(use --force/);
  });

  it("a folder IN holding one model and a file OUT converts that model, never making a folder named OUT", () => {
    const dir = tmp();
    const one = join(dir, "one");
    mkdirSync(one);
    copyFileSync(join(PYTORCH, "state_dict.pt"), join(one, "model.pt"));
    const out = join(dir, "out.safetensors");
    const r = runCli(["convert", one, out, "--to", "safetensors"]);
    expect(r.code, r.stderr).toBe(0);
    expect(statSync(out).isFile()).toBe(true);
    expect(tensorsOf(out)).toEqual(tensorsOf(join(PYTORCH, "state_dict.pt")));

    copyFileSync(join(PYTORCH, "many_tensors.pt"), join(one, "other.pt"));
    const two = runCli(["convert", one, join(dir, "two.safetensors")]);
    expect(two.code).toBe(2);
    expect(two.stderr).toMatch(/one is a folder of 2 files and .*two\.safetensors one output: give one file, or an output folder/);
    expect(existsSync(join(dir, "two.safetensors"))).toBe(false);
  });

  it("--force replaces a sharded output as a whole: no stale shards, no stale whole file", () => {
    const dir = tmp();
    const input = join(PYTORCH, "many_tensors.pt");
    const out = join(dir, "o.safetensors");
    const convert = (...flags: string[]) => runCli(["convert", input, out, ...flags]);
    expect(convert().code).toBe(0);
    const unforced = convert("--max-shard-size", "1KB");
    expect(unforced.code).toBe(1);
    expect(unforced.stderr).toMatch(/o\.safetensors: output file already exists \(use --force/);

    expect(convert("--max-shard-size", "1KB", "--force").code).toBe(0);
    expect(readdirSync(dir).sort()).toEqual([1, 2, 3, 4, 5].map((i) => `o-0000${i}-of-00005.safetensors`).concat("o.safetensors.index.json"));
    expect(convert("--max-shard-size", "1KB").code).toBe(1); // the index is the output now

    expect(convert("--max-shard-size", "4KB", "--force").code).toBe(0);
    expect(readdirSync(dir).sort()).toEqual(["o-00001-of-00002.safetensors", "o-00002-of-00002.safetensors", "o.safetensors.index.json"]);
    const index = JSON.parse(readFileSync(join(dir, "o.safetensors.index.json"), "utf8")) as { weight_map: Record<string, string> };
    expect(new Set(Object.values(index.weight_map))).toEqual(new Set(["o-00001-of-00002.safetensors", "o-00002-of-00002.safetensors"]));
    expect(tensorsOf(join(dir, "o.safetensors.index.json"))).toEqual(tensorsOf(input));

    expect(convert("--force").code).toBe(0);
    expect(readdirSync(dir)).toEqual(["o.safetensors"]);
    expect(tensorsOf(out)).toEqual(tensorsOf(input));
  });
});
