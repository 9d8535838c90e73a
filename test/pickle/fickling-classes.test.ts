/**
 * Issue 27, pickles: "convert must refuse every file scan flags, in every container", and the
 * classes fickling's advisories name must be flagged: an allow-listed ML import shadowed by an
 * unsafe one, private stdlib modules, a dotted name reached through a harmless stdlib module,
 * duplicate-expansion tricks (DUP and memo "billion laughs"), FRAMEs that straddle opcodes.
 * Each sample is assembled here, opcode by opcode (nothing hostile is committed), and placed as
 * data.pkl of a torch.save-shaped zip.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { convert, scan, WeightbridgeError } from "../../src/index.js";
import { b, torchZip } from "../fuzz/hostile-pickles.js";
import { runCli } from "../helpers/cli.js";

const work = mkdtempSync(join(tmpdir(), "wb-fickling-classes-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** SHORT_BINUNICODE of a text. */
const text = (s: string) => [0x8c, s.length, ...Array.from(s, (c) => c.charCodeAt(0))];
/** STACK_GLOBAL of module and name. */
const stackGlobal = (module: string, name: string) => [...text(module), ...text(name), 0x93];
const le8 = (n: number) => Array.from({ length: 8 }, (_, i) => (i < 4 ? (n >>> (8 * i)) & 0xff : 0));

/** Protocol 4: the global called with one string argument, under "weight" of a dict. */
const called = (module: string, name: string, arg = "x") => b(0x80, 4, "}", text("weight"), stackGlobal(module, name), text(arg), 0x85, "R", "s.");

const SAMPLES: Array<[string, Uint8Array, RegExp]> = [
  // torch's own rebuild function is memoised at slot 0, then exec is memoised over it: the call through the memo is exec.
  [
    "an allow-listed torch global shadowed in the memo by builtins.exec",
    b(0x80, 2, "ctorch._utils\n_rebuild_tensor_v2\nq", 0, "cbuiltins\nexec\nq", 0, "}X", 1, 0, 0, 0, "wh", 0, "X", 1, 0, 0, 0, "1", 0x85, "Rs."),
    /builtins\.exec/,
  ],
  ["ast.parse, outside every ML allow-list", called("ast", "parse", "1"), /ast\.parse/],
  ["_interpreters.create (a private stdlib module)", called("_interpreters", "create"), /_interpreters\.create/],
  ["_xxsubinterpreters.create", called("_xxsubinterpreters", "create"), /_xxsubinterpreters\.create/],
  ["_posixsubprocess.fork_exec", called("_posixsubprocess", "fork_exec"), /_posixsubprocess\.fork_exec/],
  ["os.system reached as pathlib's attribute (STACK_GLOBAL 'pathlib' 'os.system')", called("pathlib", "os.system", "id"), /pathlib\.os\.system/],
  ["builtins.__import__ through STACK_GLOBAL", called("builtins", "__import__", "os"), /builtins\.__import__/],
  ["operator.methodcaller", called("operator", "methodcaller", "system"), /operator\.methodcaller/],
  // A FRAME declaring 2 bytes before an 8-byte BININT: CPython reads past the frame, others see other opcodes.
  ["a FRAME that ends inside an opcode", b(0x80, 4, 0x95, le8(2), "J", 1, 0, 0, 0, "."), /frame|FRAME/],
];

/** DUP and memo expansion: 2^40 references from a few hundred bytes. */
const dupLaughs = () => {
  const parts: Array<number | string | number[]> = [0x80, 2, "]"];
  for (let i = 0; i < 40; i++) parts.push("2", 0x86);
  return b(...parts, ".");
};
const memoLaughs = () => {
  const parts: Array<number | string | number[]> = [0x80, 2, "]q", 0];
  for (let i = 0; i < 40; i++) parts.push("(h", i, "h", i, "lq", i + 1);
  return b(...parts, ".");
};

async function zipped(bytes: Uint8Array, name: string): Promise<string> {
  const path = join(work, `${name.replace(/\W+/g, "-").slice(0, 40)}.pt`);
  writeFileSync(path, await torchZip(bytes));
  return path;
}

describe.each(SAMPLES)("%s, as data.pkl of a torch zip", (name, bytes, named) => {
  test("scan calls it dangerous, naming it; convert refuses it (library and CLI)", async () => {
    const path = await zipped(bytes, name);
    const result = await scan(path);
    expect(result.verdict, JSON.stringify(result.findings)).toBe("dangerous");
    expect(result.dangerous.map((f) => `${f.callable} ${f.status}`).join("\n")).toMatch(named);
    const error = await convert(path, join(work, "out.safetensors")).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WeightbridgeError);
    expect((error as WeightbridgeError).code).toBe("unsafe-pickle");
    const cli = runCli(["convert", path, join(work, "cli.safetensors")]);
    expect(cli.code).toBe(1);
    expect(cli.stderr.trim().split("\n")).toHaveLength(1);
  });
});

describe.each([
  ["DUP expansion (40 levels of a pair of the level below)", dupLaughs()],
  ["memo expansion (40 levels of a list holding a memoised list twice)", memoLaughs()],
])("%s, as data.pkl of a torch zip", (name, bytes) => {
  // Before: scan said "0 dangerous" while convert refused the file as corrupt.
  test("scan flags the expansion (what readers refuse); convert refuses it in one line", async () => {
    const path = await zipped(bytes, name);
    const result = await scan(path);
    expect(result.verdict).toBe("dangerous");
    expect(result.dangerous.map((f) => `${f.status} ${f.callable}`)).toEqual([
      expect.stringMatching(/^structure expansion: shared containers expand into more than \d+ values/),
    ]);
    const cli = runCli(["convert", path, join(work, "laughs.safetensors")], { timeout: 120_000 });
    expect(cli.code).toBe(1);
    expect(cli.stderr.trim().split("\n")).toHaveLength(1);
    expect(cli.stderr).toContain("expand into far more than they hold");
  });
});
