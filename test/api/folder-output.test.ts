import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { beforeAll, describe, expect, test } from "vitest";
import { convert, read, write } from "../../src/index.js";
import { WeightbridgeError } from "../../src/errors.js";
import { replaceFolder } from "../../src/api/folder-output.js";
import { formatById } from "../../src/formats/index.js";
import { trackAside, untrackAside } from "../../src/io/temporaries.js";
import { removeTemporaries } from "../../src/cli/cleanup.js";
import { runCli } from "../helpers/cli.js";
import { tf } from "../formats/tf/fixtures.js";
import { refusal } from "../helpers/refusal.js";

const TEMPLATE = tf("savedmodel-tf2-half-plus-two");
const SAVED_MODEL = formatById("tf-savedmodel");
const work = mkdtempSync(join(tmpdir(), "wb-folder-out-"));
const weights = join(work, "w.safetensors");

beforeAll(async () => {
  const template = await read(TEMPLATE);
  await write(template, weights);
  await template.close();
});

/** Every file under `dir` with its bytes: equal snapshots mean nothing was touched. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out[relative(dir, p)] = e.isFile() ? readFileSync(p).toString("base64") : "link";
    }
  };
  walk(dir);
  return out;
}

/** A folder of the user's that is not a SavedModel: a project with its .git. */
function victim(dir: string): string {
  mkdirSync(join(dir, ".git"), { recursive: true });
  writeFileSync(join(dir, ".git", "HEAD"), "ref: refs/heads/main\n");
  writeFileSync(join(dir, "notes.txt"), "mine");
  return dir;
}

const options = { to: "tf-savedmodel" as const, template: TEMPLATE, force: true };
let counter = 0;
const fresh = () => {
  const dir = join(work, `case${++counter}`);
  mkdirSync(dir);
  return dir;
};
const leftovers = (dir: string) => readdirSync(dir).filter((n) => n.includes(".wb-"));

describe("--force with a folder output replaces only an earlier output of that format", () => {
  test("an unrelated folder (with its .git) is refused and untouched", async () => {
    const dir = victim(join(fresh(), "victim"));
    const before = snapshot(dir);
    const error = await refusal(convert(weights, dir, options));
    expect(error.message).toMatch(/is not a TensorFlow SavedModel \(saved_model\.pb \+ variables\/\)/);
    expect(snapshot(dir)).toEqual(before);
  });

  test("OUT `..` (the parent, holding the output) and `.` are refused by name", async () => {
    const dir = fresh();
    mkdirSync(join(dir, "sub"));
    writeFileSync(join(dir, "keep.txt"), "x");
    const before = snapshot(dir);
    for (const out of [`${dir}/sub/..`, `${dir}/sub/.`, `${dir}/sub/../`, "/"]) {
      expect((await refusal(convert(weights, out, options))).code).toBe("usage");
    }
    expect(snapshot(dir)).toEqual(before);
  });

  test("an earlier output that holds the input, the template or the working folder is refused", async () => {
    const dir = fresh();
    const old = join(dir, "old");
    await convert(weights, old, { to: "tf-savedmodel", template: TEMPLATE });
    const input = join(old, "in.safetensors");
    cpSync(weights, input);
    const before = snapshot(old);
    expect((await refusal(convert(input, old, options))).message).toMatch(/holds the input/);
    expect((await refusal(convert(weights, old, { ...options, template: old }))).message).toMatch(/holds the input/);
    const cli = runCli(["convert", weights, old, "--to", "tf-savedmodel", "--template", TEMPLATE, "--force"], { cwd: join(old, "variables") });
    expect(cli.code).toBe(2);
    expect(cli.stderr).toMatch(/^weightbridge: error: .*is the working folder or holds it/);
    expect(snapshot(old)).toEqual(before);
  });

  test("OUT `.` from the CLI is a one-line refusal, not an internal error", () => {
    const dir = fresh();
    writeFileSync(join(dir, "keep.txt"), "x");
    const cli = runCli(["convert", weights, ".", "--to", "tf-savedmodel", "--template", TEMPLATE, "--force"], { cwd: dir });
    expect(cli.code).toBe(2);
    expect(cli.stderr.trim().split("\n")).toHaveLength(1);
    expect(cli.stderr).not.toMatch(/internal error/);
    expect(readdirSync(dir)).toEqual(["keep.txt"]);
  });

  test("a symlink OUT (dangling or not) is refused with a clear error", async () => {
    const dir = fresh();
    symlinkSync(join(dir, "nowhere"), join(dir, "dangling"));
    const error = await refusal(convert(weights, join(dir, "dangling"), options));
    expect(error.message).toMatch(/symbolic link/);
    expect(readdirSync(dir)).toEqual(["dangling"]);
  });

  test("a batch input named `...safetensors` is refused instead of writing OUTDIR/..", () => {
    const dir = fresh();
    cpSync(weights, join(dir, "...safetensors"));
    cpSync(weights, join(dir, "a.safetensors"));
    const before = snapshot(dir);
    const cli = runCli(["convert", "...safetensors", "a.safetensors", "outdir", "--to", "tf-savedmodel", "--template", TEMPLATE, "--force"], { cwd: dir });
    expect(cli.code).toBe(2);
    expect(cli.stderr).toMatch(/cannot name an output/);
    expect(snapshot(dir)).toEqual(before);
  });

  test("an earlier output is replaced whole with --force, needs --force, and leaves nothing aside", async () => {
    const dir = fresh();
    const out = join(dir, "sm");
    await convert(weights, out, { to: "tf-savedmodel", template: TEMPLATE });
    writeFileSync(join(out, "stale.txt"), "old");
    expect((await refusal(convert(weights, out, { ...options, force: false }))).code).toBe("exists");
    await convert(weights, out, options);
    expect(existsSync(join(out, "stale.txt"))).toBe(false);
    expect(statSync(join(out, "variables")).isDirectory()).toBe(true);
    expect(leftovers(dir)).toEqual([]);
  });

  test("a failed swap puts the old output back", async () => {
    const dir = fresh();
    const out = join(dir, "sm");
    await convert(weights, out, { to: "tf-savedmodel", template: TEMPLATE });
    const before = snapshot(out);
    // The new folder vanished before the swap: the rename in fails after the old one moved aside.
    await expect(replaceFolder(join(dir, "missing"), out, SAVED_MODEL, true)).rejects.toThrow(/ENOENT/);
    expect(snapshot(out)).toEqual(before);
    expect(leftovers(dir)).toEqual([]);
  });

  test("a signal between the two renames puts the old output back; after them it removes the old one", () => {
    const dir = fresh();
    const aside = join(dir, ".sm.wb-old-1");
    const out = join(dir, "sm");
    mkdirSync(aside);
    writeFileSync(join(aside, "saved_model.pb"), "old");
    trackAside(aside, out);
    removeTemporaries();
    untrackAside(aside);
    expect(readFileSync(join(out, "saved_model.pb"), "utf8")).toBe("old");
    renameSync(out, aside);
    mkdirSync(out);
    trackAside(aside, out);
    removeTemporaries();
    untrackAside(aside);
    expect(readdirSync(dir)).toEqual(["sm"]);
  });

  test("concurrent converts into one new OUT: one wins whole, the others say so (no ENOTEMPTY)", async () => {
    const dir = fresh();
    const out = join(dir, "sm");
    for (const force of [false, true]) {
      const results = await Promise.allSettled([1, 2, 3].map(() => convert(weights, out, { to: "tf-savedmodel", template: TEMPLATE, force })));
      expect(results.some((r) => r.status === "fulfilled")).toBe(true);
      for (const r of results) {
        if (r.status === "rejected") {
          expect(r.reason).toBeInstanceOf(WeightbridgeError);
          expect((r.reason as WeightbridgeError).code).toBe("exists");
        }
      }
      const back = await read(out);
      expect(back.tensors.length).toBeGreaterThan(0);
      await back.close();
      expect(leftovers(dir)).toEqual([]);
    }
  });
});
