import { describe, expect, it } from "vitest";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { convert, read, writeBytes } from "../../../src/index.js";
import { describeTensors, loadExpected } from "../../helpers/expected.js";
import { hasPythonModules, runPython } from "../../helpers/python.js";
import { memorySource } from "../../../src/io/source.js";
import { openZip } from "../../../src/io/zip.js";
import { fixture } from "../../helpers/fixtures.js";

const FIXTURES = fixture("pytorch");
const NAMES = ["state_dict", "training_checkpoint", "gan", "dtype_zoo", "many_tensors", "gpu_tagged"];
/** safetensors has no complex128: those files go pth → pth directly. */
const viaSafetensors = (name: string) => name !== "dtype_zoo";
const tmp = () => mkdtempSync(join(tmpdir(), "wb-pt-"));

describe("pytorch zip writer", () => {
  for (const name of NAMES) {
    it(`${name}: pth → ${viaSafetensors(name) ? "safetensors → " : ""}pth is bit-exact with the same names, meta and nesting`, async () => {
      const dir = tmp();
      const st = join(dir, `${name}.safetensors`);
      const back = join(dir, `${name}.pt`);
      if (viaSafetensors(name)) {
        await convert(join(FIXTURES, `${name}.pt`), st);
        await convert(st, back);
      } else await convert(join(FIXTURES, `${name}.pt`), back);
      const checkpoint = await read(back);
      const expected = loadExpected(join(FIXTURES, `${name}.pt.expected.json`));
      expect(await describeTensors(checkpoint)).toEqual(expected.tensors);
      expect(checkpoint.meta).toEqual(expected.meta);
      await checkpoint.close();
    });
  }

  it("dtype_zoo without complex128 survives safetensors bit-exact", async () => {
    const source = await read(join(FIXTURES, "dtype_zoo.pt"));
    const kept = { ...source, tensors: source.tensors.filter((t) => t.dtype !== "complex128"), structure: undefined };
    const back = await read(await writeBytes(await read(await writeBytes(kept, "safetensors")), "pytorch"));
    const expected = loadExpected(join(FIXTURES, "dtype_zoo.pt.expected.json")).tensors.filter((t) => t.dtype !== "complex128");
    expect(await describeTensors(back)).toEqual(expected);
    await source.close();
  });

  it("writes torch's layout: STORED records, 64-byte aligned, version 3", async () => {
    const source = await read(join(FIXTURES, "state_dict.pt"));
    const bytes = await writeBytes(source, "pytorch");
    await source.close();
    const zip = await openZip(memorySource(bytes));
    const names = zip.entries.map((e) => e.name);
    expect(names[0]).toBe("archive/data.pkl");
    expect(names.at(-1)).toBe("archive/version");
    expect(new TextDecoder().decode(await zip.read(zip.find("archive/version")!))).toBe("3\n");
    for (const entry of zip.entries) {
      expect(entry.method).toBe(0);
      if (entry.size > 0) expect((await zip.dataOffset(entry)) % 64).toBe(0);
    }
  });
});

describe.skipIf(!hasPythonModules("torch"))("torch loads what we wrote", () => {
  const check = `
import sys, json, hashlib, torch
names = {torch.float64: "float64", torch.float32: "float32", torch.float16: "float16", torch.bfloat16: "bfloat16",
         torch.int64: "int64", torch.int32: "int32", torch.int16: "int16", torch.int8: "int8", torch.uint8: "uint8",
         torch.bool: "bool", torch.complex64: "complex64", torch.complex128: "complex128"}
def raw(t):
    flat = t.contiguous().reshape(-1)
    if t.dtype == torch.bfloat16: flat = flat.view(torch.int16)
    return flat.numpy().tobytes()
def flatten(obj, prefix, out):
    if isinstance(obj, torch.Tensor):
        out.append({"name": prefix, "dtype": names[obj.dtype], "shape": list(obj.shape), "sha256": hashlib.sha256(raw(obj)).hexdigest()})
    elif isinstance(obj, dict):
        for k, v in obj.items(): flatten(v, f"{prefix}.{k}" if prefix else str(k), out)
    elif isinstance(obj, (list, tuple)):
        for i, v in enumerate(obj): flatten(v, f"{prefix}.{i}" if prefix else str(i), out)
weights_only = sys.argv[2] == "1"
obj = torch.load(sys.argv[1], weights_only=weights_only)
out = []
flatten(obj, "", out)
print(json.dumps({"tensors": out, "type": type(obj).__name__}))
`;

  for (const name of ["state_dict", "dtype_zoo", "many_tensors", "gpu_tagged"]) {
    it(`${name}: torch.load(weights_only=True) gives bit-identical tensors`, async () => {
      const out = join(tmp(), `${name}.pt`);
      const st = `${out}.safetensors`;
      if (viaSafetensors(name)) {
        await convert(join(FIXTURES, `${name}.pt`), st);
        await convert(st, out);
      } else await convert(join(FIXTURES, `${name}.pt`), out);
      const result = JSON.parse(runPython(check, [out, "1"]));
      expect(result.tensors).toEqual(loadExpected(join(FIXTURES, `${name}.pt.expected.json`)).tensors);
      expect(result.type).toBe("OrderedDict");
    });
  }

  it("a nested training checkpoint comes back with its structure and scalar values", async () => {
    const out = join(tmp(), "ckpt.pt");
    await convert(join(FIXTURES, "training_checkpoint.pt"), out);
    const script = `
import sys, torch
ref = torch.load(sys.argv[1])
got = torch.load(sys.argv[2])
def same(a, b, path):
    assert type(a) == type(b) or (isinstance(a, dict) and isinstance(b, dict)), (path, type(a), type(b))
    if isinstance(a, torch.Tensor):
        assert a.dtype == b.dtype and a.shape == b.shape and torch.equal(a, b), path
    elif isinstance(a, dict):
        assert list(a.keys()) == list(b.keys()), (path, list(a.keys()), list(b.keys()))
        for k in a: same(a[k], b[k], f"{path}.{k}")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b)): same(x, y, f"{path}.{i}")
    else:
        assert a == b and type(a) == type(b), (path, a, b)
same(ref, got, "")
m = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.ReLU(), torch.nn.Linear(3, 2))
m.load_state_dict(got["model_state_dict"])
opt = torch.optim.Adam(m.parameters())
opt.load_state_dict(got["optimizer_state_dict"])
print("ok")
`;
    expect(runPython(script, [join(FIXTURES, "training_checkpoint.pt"), out]).trim()).toBe("ok");
  });
});

describe("copying storages from a zip checkpoint", () => {
  it("reuses each record's CRC-32, so corruption in the source stays detectable instead of being blessed", async () => {
    const { readFileSync, writeFileSync } = await import("node:fs");
    const { crc32 } = await import("../../../src/util/crc32.js");
    const dir = mkdtempSync(join(tmpdir(), "wb-crc-"));
    const source = readFileSync(join(FIXTURES, "training_checkpoint.pt"));
    const zip = await openZip(memorySource(source));
    const data = zip.entries.filter((e) => /\/data\/\d+$/.test(e.name) && e.size >= 8);
    // One flipped byte inside a storage, the record's CRC left as it was.
    const bad = Uint8Array.from(source);
    const victim = data[0]!;
    bad[(await zip.dataOffset(victim)) + 3]! ^= 0xff;
    writeFileSync(join(dir, "bad.pt"), bad);

    for (const [input, corrupted] of [
      [join(FIXTURES, "training_checkpoint.pt"), false],
      [join(dir, "bad.pt"), true],
    ] as const) {
      const out = join(dir, corrupted ? "bad-out.pt" : "out.pt");
      await convert(input, out, { select: "model_state_dict" });
      const written = await openZip(memorySource(readFileSync(out)));
      const records = written.entries.filter((e) => /\/data\/\d+$/.test(e.name));
      expect(records.length).toBeGreaterThan(0);
      const mismatched = [];
      for (const e of records) if (crc32(await written.read(e)) !== e.crc32) mismatched.push(e.name);
      expect(mismatched.length).toBe(corrupted ? 1 : 0);
      const sourceCrcs = new Set(data.map((e) => e.crc32));
      expect(records.every((e) => sourceCrcs.has(e.crc32) || e.size < 8)).toBe(true);
    }
  });
});
