import { cpSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { fileSource } from "../../src/io/source.js";
import { MemorySink } from "../../src/io/sink.js";
import { openZip } from "../../src/io/zip-read.js";
import { ZipWriter } from "../../src/io/zip-write.js";
import { sliceKey, type Extent } from "../../src/formats/tensorflow/slices.js";
import { utf8 } from "../../src/util/bytes.js";
import { bundle, floats, shape, type Raw } from "../formats/tf/bundle-builder.js";
import { fixture } from "../helpers/fixtures.js";
import { tf } from "../formats/tf/fixtures.js";
import { sharedStringPickle, torchZip } from "./hostile-pickles.js";
import { hashString, rng } from "./mutate.js";
import { runCase } from "./run-case.js";

// Structure-aware mutation families for issue 28's attacks: each case is built here from a seed,
// must end in a result or a WeightbridgeError and leave nothing behind (runCase), and the family
// says which outcome its case must have.

const CASES = Number(process.env.FUZZ_FAMILY_CASES ?? 12);
const work = mkdtempSync(join(tmpdir(), "wb-families-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));
let counter = 0;
const fresh = () => {
  const dir = join(work, `c${++counter}`);
  mkdirSync(join(dir, "out"), { recursive: true });
  return dir;
};
const cases = (family: string) => Array.from({ length: CASES }, (_, n) => ({ n, r: rng(hashString(`${family}#${n}`)) }));

describe("partition slices: random extents over a [6, 4] variable", () => {
  test.each(cases("slices"))("case $n", async ({ r }) => {
    const dims = [6, 4];
    // Random cuts along axis 0, sometimes with a slice dropped, shifted or duplicated.
    const cuts = [0, ...[1, 2, 3, 4, 5].filter(() => r() < 0.4), 6];
    let extents: Extent[][] = cuts.slice(1).map((end, i) => [
      { start: cuts[i]!, length: end - cuts[i]! },
      { start: 0, length: -1 },
    ]);
    const kind = Math.floor(r() * 4);
    if (kind === 1 && extents.length > 1) extents.splice(Math.floor(r() * extents.length), 1);
    if (kind === 2) extents[0]![0] = { start: extents[0]![0]!.start, length: extents[0]![0]!.length + 1 };
    if (kind === 3) extents.push(extents[0]!);
    extents = extents.filter((e, i) => extents.findIndex((x) => x === e) === i || kind === 3);
    const name = utf8("v");
    const entries: Raw[] = extents.map((ex) => {
      const rows = Math.min(ex[0]!.length, Math.max(0, 6 - ex[0]!.start));
      return { key: sliceKey(name, ex), entry: { dtype: 1, shape: shape(rows, 4) }, bytes: floats(...Array.from({ length: rows * 4 }, (_, i) => i)) };
    });
    entries.push({ key: name, entry: { dtype: 1, shape: shape(...dims), slices: extents.map((ex) => ({ extent: ex.map((e) => (e.length < 0 ? {} : e)) })) } });
    entries.push({ key: utf8("pad"), entry: { dtype: 1, shape: shape(32) }, bytes: floats(...new Array<number>(32).fill(0)) });
    const path = bundle(entries);
    const dir = fresh();
    const outcome = await runCase(path, join(dir, "out"));
    expect(outcome.violation).toBeUndefined();
    const exact = kind === 0 || (kind === 1 && extents.length === cuts.length - 1);
    expect(outcome.result).toBe(exact ? "ok" : "corrupt");
  });
});

describe("shared-reference pickles: random reference counts, sizes and shapes", () => {
  test.each(cases("shared"))("case $n", async ({ r }) => {
    const refs = 1 + Math.floor(r() ** 2 * 20_000);
    const size = 1 + Math.floor(r() ** 2 * (1 << 20));
    const shapes = ["list", "dict", "nested", "keys"] as const;
    const pickle = sharedStringPickle(refs, size, shapes[Math.floor(r() * shapes.length)]!);
    const dir = fresh();
    const path = join(dir, r() < 0.5 ? "m.pdparams" : "m.pt");
    writeFileSync(path, path.endsWith(".pt") ? await torchZip(pickle) : pickle);
    const outcome = await runCase(path, join(dir, "out"));
    expect(outcome.violation).toBeUndefined();
    // Far past the text budget (64 MiB + 4x the distinct text) it must be refused.
    if (refs * size > 256 * 2 ** 20) expect(outcome.result).toBe("corrupt");
  });
});

describe("symlinks: ONNX external data linked to random places", () => {
  const onnx = fixture("onnx", "torch_conv_lstm_external.onnx");
  test.each(cases("symlinks"))("case $n", async ({ r }) => {
    const dir = fresh();
    const model = join(dir, "model");
    mkdirSync(join(model, "sub"), { recursive: true });
    cpSync(onnx, join(model, "m.onnx"));
    cpSync(`${onnx}.data`, join(dir, "outside.data"));
    cpSync(`${onnx}.data`, join(model, "sub", "inside.data"));
    const targets = [
      { to: join(dir, "outside.data"), inside: false },
      { to: "../outside.data", inside: false },
      { to: join(model, "sub", "inside.data"), inside: true },
      { to: "sub/inside.data", inside: true },
      { to: "/etc/hostname", inside: false },
      { to: join(dir, "missing.data"), inside: true },
    ];
    const target = targets[Math.floor(r() * targets.length)]!;
    symlinkSync(target.to, join(model, "torch_conv_lstm_external.onnx.data"));
    const outcome = await runCase(join(model, "m.onnx"), join(dir, "out"));
    expect(outcome.violation).toBeUndefined();
    if (!target.inside) expect(outcome.result).toBe("corrupt");
    else if (target.to.includes("inside")) expect(outcome.result).toBe("ok");
  });
});

describe("FIFOs where a model's files should be", () => {
  const files = [
    { main: "m.onnx", from: fixture("onnx", "torch_conv_lstm_external.onnx"), side: "torch_conv_lstm_external.onnx.data" },
    { main: "model.ckpt-20000.index", from: join(tf("ckpt-tf1-layers-cnn-adam"), "model.ckpt-20000.index"), side: "model.ckpt-20000.data-00000-of-00001" },
    { main: "inference.pdmodel", from: fixture("paddle", "real", "inference.pdmodel"), side: "inference.pdiparams" },
  ];
  test.each(cases("fifo"))("case $n", async ({ r }) => {
    const dir = fresh();
    const pick = files[Math.floor(r() * files.length)]!;
    const pipeIsMain = r() < 0.3;
    if (!pipeIsMain) cpSync(pick.from, join(dir, pick.main));
    expect(spawnSync("mkfifo", [join(dir, pipeIsMain ? pick.main : pick.side)]).status).toBe(0);
    const outcome = await runCase(join(dir, pick.main), join(dir, "out"));
    expect(outcome.violation).toBeUndefined();
    expect(outcome.result).toBe("io");
  });
});

describe("duplicate zip members: a random member of a real archive written twice", () => {
  const archives = [fixture("keras", "tfkeras213.keras"), fixture("pytorch", "dtype_zoo.pt")];
  test.each(cases("zipdup"))("case $n", async ({ r }) => {
    const from = archives[Math.floor(r() * archives.length)]!;
    const source = await fileSource(from);
    const zip = await openZip(source);
    const twice = zip.entries[Math.floor(r() * zip.entries.length)]!.name;
    const sink = new MemorySink();
    const out = new ZipWriter(sink);
    for (const entry of zip.entries) {
      const bytes = await zip.read(entry);
      await out.add(entry.name, bytes.byteLength, [bytes]);
      if (entry.name === twice) await out.add(entry.name, bytes.byteLength, [bytes.map((b) => b ^ (r() < 0.01 ? 1 : 0))]);
    }
    await out.finish();
    await source.close();
    const dir = fresh();
    const path = join(dir, from.endsWith(".keras") ? "m.keras" : "m.pt");
    writeFileSync(path, sink.bytes());
    const outcome = await runCase(path, join(dir, "out"));
    expect(outcome.violation).toBeUndefined();
    expect(outcome.result).toBe("corrupt");
    expect(readdirSync(join(dir, "out"))).toEqual([]);
  });
});
